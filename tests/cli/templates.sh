#!/bin/sh
# The templates are built into the program: from a build tree, never
# installed, a configuration without alerts.templates renders what the
# shipped files render (the golden outputs), and a configured folder
# overrides them file by file.
# usage: templates.sh NOTIFY SOURCE_ROOT
set -u
notify=$1 root=$2
case $notify in /*) ;; *) notify=$PWD/$notify ;; esac
case $root in /*) ;; *) root=$PWD/$root ;; esac
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
. "$root/tests/cli/lib.sh"
export SOURCE_DATE_EPOCH=1764000000
golden=$root/tests/data/golden
posts=$root/examples/site/_posts

# the rendering tests' configuration, without alerts.templates
sed -e "s|\"../../../examples/site\"|\"$root/examples/site\"|" \
	-e 's|^alerts: { templates = "[^"]*"; |alerts: { |' \
	"$root/tests/data/render/notify.conf" >"$tmp/builtin.conf"
grep -q "templates =" "$tmp/builtin.conf"
check "the test configuration names no templates folder" $((! $?))

"$notify" -c "$tmp/builtin.conf" check-config --no-secrets >"$tmp/out" 2>&1
grep -q '^templates: (built in)$' "$tmp/out"
check "check-config says the templates are built in" $?

for post in "$posts"/*.md; do
	name=$(basename "$post" .md)
	"$notify" -c "$tmp/builtin.conf" --post "$post" --dry-run \
		>"$tmp/$name.out" 2>"$tmp/err"
	check "$name: renders with no templates folder" $?
	if [ -s "$tmp/err" ]; then
		head -3 "$tmp/err"
	fi
	cmp -s "$tmp/$name.out" "$golden/$name.out"
	check "$name: the built-in templates render the golden output" $?
done

# payload N of a dry run ("--- NAME ..." header, then the bytes)
payload() { # file, channel name
	awk -v ch="$2" '/^--- / { on = ($2 == ch) } on' "$1"
}

# a folder with fr/subject.mustache alone: that file changes, the others
# are the built-in ones
mkdir -p "$tmp/over/fr"
printf '[Surcharge] {{title}}\n' >"$tmp/over/fr/subject.mustache"
sed "s|^alerts: { |alerts: { templates = \"$tmp/over\"; |" \
	"$tmp/builtin.conf" >"$tmp/over.conf"
post=$posts/2026-11-20-why-passwords-refuse-to-die.md
gold=$golden/2026-11-20-why-passwords-refuse-to-die.out
"$notify" -c "$tmp/over.conf" --post "$post" --dry-run >"$tmp/out" 2>"$tmp/err"
check "a folder holding only fr/subject.mustache renders" $?
grep -q '^Subject: \[Surcharge\] Why passwords refuse to die' "$tmp/out"
check "its subject is the email's" $?
grep -q '"text":"\[Surcharge\] Why passwords' "$tmp/out"
check "and Slack's notification text" $?
for ch in veille hook mm; do
	payload "$tmp/out" $ch >"$tmp/got"
	payload "$gold" $ch >"$tmp/want"
	test -s "$tmp/want" && cmp -s "$tmp/got" "$tmp/want"
	check "$ch: the other templates are the built-in ones" $?
done

# a partial of the folder's template may be a built-in template
printf '{{> subject}}\n{{url}}\n' >"$tmp/over/fr/text.mustache"
"$notify" -c "$tmp/over.conf" --post "$post" --dry-run --channel veille \
	>"$tmp/out" 2>"$tmp/err"
grep -q '"body":"\[Surcharge\] Why passwords refuse to die\\nhttps://' \
	"$tmp/out"
check "a partial comes from the folder, else from the program" $?

# an error in the folder's file names that file
printf '{{#title}}\n' >"$tmp/over/fr/subject.mustache"
"$notify" -c "$tmp/over.conf" --post "$post" --dry-run >"$tmp/out" \
	2>"$tmp/err"
check "a broken template in the folder is an error" $(($? == 0))
grep -q "$tmp/over/fr/subject.mustache" "$tmp/err"
check "the broken file is named" $?

# a file of the folder that cannot be read: an error naming it, not a
# crash
rm "$tmp/over/fr/subject.mustache"
mkdir "$tmp/over/fr/subject.mustache"
"$notify" -c "$tmp/over.conf" --post "$post" --dry-run >"$tmp/out" \
	2>"$tmp/err"
rc=$?
check "an unreadable template is an error, not a crash (exit $rc)" \
	$((rc == 0 || rc > 125))
grep -q "$tmp/over/fr/subject.mustache" "$tmp/err"
check "the unreadable template is named" $?

# a configured folder that is missing is a mistake, not the defaults
sed "s|^alerts: { |alerts: { templates = \"$tmp/none\"; |" \
	"$tmp/builtin.conf" >"$tmp/none.conf"
"$notify" -c "$tmp/none.conf" --post "$post" --dry-run >"$tmp/out" \
	2>"$tmp/err"
check "a missing templates folder: 66" $(($? != 66))
grep -q "templates folder $tmp/none" "$tmp/err"
check "the missing folder is named" $?

finish
