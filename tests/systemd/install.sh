#!/bin/sh
# `meson install --destdir` installs exactly: the binary and its helper
# programs (notify-watchd, notify-scan, in LIBEXECDIR/notify), the three
# units,
# the example configuration (adapted to an installed system), the
# templates and the two man pages; and the installed configuration is
# valid for the installed binary.
# usage: install.sh SOURCE_ROOT BUILD_ROOT BINDIR SYSCONFDIR TEMPLATESDIR
#                   MANDIR UNITDIR LIBEXECDIR
set -u
root=$1 build=$2 bindir=$3 sysconfdir=$4 templatesdir=$5 mandir=$6 unitdir=$7
libexecdir=$8
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
. "$root/tests/cli/lib.sh"
dest=$tmp/dest

meson install -C "$build" --destdir "$dest" --no-rebuild --quiet \
	>"$tmp/log" 2>&1
rc=$?
check "meson install --destdir" $rc
[ "$rc" -eq 0 ] || sed 's/^/  /' "$tmp/log"

{
	echo "$bindir/notify"
	echo "$libexecdir/notify/notify-watchd"
	echo "$libexecdir/notify/notify-scan"
	for u in notify.service notify-scan.service notify-scan.timer; do
		echo "$unitdir/$u"
	done
	echo "$sysconfdir/notify/notify.conf"
	(cd "$root/conf/templates" && find . -type f) |
		sed "s|^\.|$templatesdir|"
	echo "$mandir/man1/notify.1"
	echo "$mandir/man5/notify.conf.5"
} | sort >"$tmp/want"
(cd "$dest" && find . ! -type d) | sed 's|^\.||' | sort >"$tmp/got"
diff "$tmp/want" "$tmp/got" >"$tmp/diff"
check "installed files: exactly the expected list" $?
sed 's/^/  /' "$tmp/diff"
test "$(grep -c '/templates/' "$tmp/want")" -ge 16
check "both locales' templates are in the list" $?

conf=$dest$sysconfdir/notify/notify.conf
"$dest$bindir/notify" -c "$conf" check-config --no-secrets >"$tmp/out" 2>&1
check "the installed binary accepts the installed notify.conf" $?
grep -q "^templates: $templatesdir\$" "$tmp/out"
check "the installed notify.conf uses the installed templates" $?
! grep -q 'examples/site' "$conf"
check "the installed notify.conf does not point into the source tree" $?
missing=0
for id in slack_webhook matrix_token smtp_password; do
	grep -q "\"$id\"" "$conf" && continue
	echo "  no \"$id\" in notify.conf"
	missing=1
done
check "its secret files are the units' credential IDs" $missing
test -x "$dest$bindir/notify" && test -s "$dest$mandir/man1/notify.1"
check "binary executable, man page not empty" $?
"$dest$libexecdir/notify/notify-watchd" >/dev/null 2>&1
test $? -eq 64
check "the supervisor of notify watch runs (usage: exit 64)" $?
"$dest$bindir/notify" -c "$tmp/none.conf" scan >/dev/null 2>"$tmp/err"
test $? -eq 78 && grep -q "none.conf" "$tmp/err"
check "notify scan runs notify-scan below its prefix (it reads the config)" $?

finish
