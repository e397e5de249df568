#!/bin/sh
# The systemd units as built: `systemd-analyze verify` says nothing about
# any of them (unknown keys only warn, so any output fails), and the
# services' exposure stays at most 2.0.  The installed ExecStart= binary
# does not exist yet: the copies checked run the built one, and the
# Documentation= pages are looked up in the built man pages.
# usage: units.sh NOTIFY SOURCE_ROOT UNIT_DIR MAN1 MAN5
set -u
notify=$1 root=$2 units=$3 man1=$4 man5=$5
case $notify in /*) ;; *) notify=$PWD/$notify ;; esac
if ! command -v systemd-analyze >/dev/null 2>&1; then
	echo "systemd-analyze not found (apt-get install systemd)"
	[ "${CI:-}" = true ] && exit 1
	exit 77
fi
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
. "$root/tests/cli/lib.sh"

mkdir -p "$tmp/man/man1" "$tmp/man/man5"
cp "$man1" "$tmp/man/man1/" && cp "$man5" "$tmp/man/man5/" || exit 1
for u in notify.service notify-scan.service notify-scan.timer; do
	sed "s|^ExecStart=[^ ]*|ExecStart=$notify|" "$units/$u" >"$tmp/$u" ||
		exit 1
done

for u in notify.service notify-scan.service notify-scan.timer; do
	(cd "$tmp" && MANPATH=$tmp/man systemd-analyze verify "$u") \
		>"$tmp/out" 2>&1
	rc=$?
	test "$rc" -eq 0 && test ! -s "$tmp/out"
	check "verify $u: exit 0, no output" $?
	[ "$rc" -eq 0 ] && [ ! -s "$tmp/out" ] || sed 's/^/  /' "$tmp/out"
done

for u in notify.service notify-scan.service; do
	(cd "$tmp" && systemd-analyze security --offline=yes --threshold=20 \
		"$u") >"$tmp/out" 2>&1
	check "security $u: exposure at most 2.0" $?
	grep 'Overall exposure level' "$tmp/out" || sed 's/^/  /' "$tmp/out"
done

# what the issue asks of the units themselves
s=$tmp/notify.service
grep -q '^Type=notify$' "$s" && grep -q '^WatchdogSec=60s$' "$s" &&
	grep -q '^ExecReload=/bin/kill -HUP \$MAINPID$' "$s"
check "notify.service: Type=notify, watchdog, reload by SIGHUP" $?
grep -q '^ExecStart=.* --config [^ ]*/notify/notify.conf watch$' "$s"
check "notify.service runs notify --config FILE watch" $?
grep -q '^ExecStart=.* --config [^ ]*/notify/notify.conf scan$' \
	"$tmp/notify-scan.service"
check "notify-scan.service runs notify --config FILE scan" $?
missing=0
for u in notify.service notify-scan.service; do
	for id in slack_webhook matrix_token smtp_password; do
		grep -q "^LoadCredential=$id:" "$tmp/$u" && continue
		echo "$u: no LoadCredential=$id"
		missing=1
	done
done
check "both services load the three credentials" $missing
grep -q '^# ReadWritePaths=/srv/blog$' "$s"
check "ReadWritePaths= for watch.remote is there, commented" $?
grep -q '^Persistent=true$' "$tmp/notify-scan.timer"
check "the timer catches up missed runs" $?

finish
