#!/bin/sh
# Golden outputs: `notify --post POST --dry-run` for each example post (and
# one digest of all of them) on every channel kind must equal the files in
# tests/data/golden/.  With --update, rewrites them instead (review the
# diff before committing it).
# usage: golden.sh NOTIFY SOURCE_ROOT [--update]
set -u
notify=$1 root=$2 update=${3:-}
golden=$root/tests/data/golden
conf=$root/tests/data/render/notify.conf
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
export SOURCE_DATE_EPOCH=1764000000
passes=0 fails=0

compare() { # name, output file
	if [ "$update" = --update ]; then
		cp "$2" "$golden/$1"
	elif cmp -s "$2" "$golden/$1"; then
		passes=$((passes + 1))
	else
		fails=$((fails + 1))
		echo "FAIL: $1 differs from the golden file:"
		diff -u "$golden/$1" "$2" | head -40
	fi
}

mkdir -p "$golden"
for post in "$root"/examples/site/_posts/*.md; do
	name=$(basename "$post" .md).out
	"$notify" -c "$conf" --post "$post" --dry-run >"$tmp/out" 2>&1
	compare "$name" "$tmp/out"
done
sed 's/digest_threshold = 6/digest_threshold = 2/' "$conf" >"$tmp/digest.conf"
# the copy's relative paths must still resolve from the original folder
sed -i "s|\"\\.\\./\\.\\./\\.\\./|\"$root/|g" "$tmp/digest.conf"
set --
for post in "$root"/examples/site/_posts/*.md; do
	set -- "$@" --post "$post"
done
"$notify" -c "$tmp/digest.conf" "$@" --dry-run >"$tmp/out" 2>&1
compare digest.out "$tmp/out"
echo "$passes passed, $fails failed"
test "$fails" -eq 0
