#!/bin/sh
# The programs are built hardened (issue 11): each is a PIE, has full
# RELRO (GNU_RELRO and BIND_NOW), calls the stack protector, and uses
# glibc's fortified functions (_FORTIFY_SOURCE).  Read from their ELF
# headers with readelf.  Registered only for hardened builds.
# usage: build_hardening.sh PROGRAM...
set -u
. "$(dirname "$0")/cli/lib.sh"
command -v readelf >/dev/null || {
	echo "readelf missing"
	exit 1
}
for p in "$@"; do
	n=$(basename "$p")
	readelf -h "$p" | grep -q 'Type:[[:space:]]*DYN'
	check "$n is position-independent (PIE)" $?
	readelf -lW "$p" | grep -q GNU_RELRO
	check "$n has a RELRO segment" $?
	readelf -dW "$p" | grep -q -E 'BIND_NOW|FLAGS.*NOW'
	check "$n binds at load (full RELRO)" $?
	readelf -sW --dyn-syms "$p" | grep -q '__stack_chk_fail'
	check "$n calls the stack protector" $?
	readelf -sW --dyn-syms "$p" | grep -q -E '__[a-z_]+_chk(@|$| )'
	check "$n uses fortified functions" $?
done
finish
