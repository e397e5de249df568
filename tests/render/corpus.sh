#!/bin/sh
# Every post of ../shared/corpus rendered for every channel kind and
# checked against the receivers' rules (payloads.py).  Exits 77 (skipped)
# when the shared folder is absent, and fails instead under CI=true.
# usage: corpus.sh NOTIFY SOURCE_ROOT
set -u
notify=$1 root=$2
corpus=$root/../shared/corpus
if [ ! -d "$corpus/_posts" ]; then
	if [ "${CI:-}" = true ]; then
		echo "FAIL: no corpus at $corpus (CI=true: no skipping)"
		exit 1
	fi
	echo "SKIP: no corpus at $corpus"
	exit 77
fi
exec python3 "$root/tests/render/payloads.py" "$notify" \
	"$root/tests/data/render/corpus.conf" "$corpus"/_posts/*.md
