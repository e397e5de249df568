#!/bin/sh
# `notify --post` with more posts than the 256 it took (issue 11.9): a
# morning's backfill can be larger.  300 posts in one dry run give one
# digest, not a usage line and exit 64.
# usage: post_many.sh NOTIFY SOURCE_ROOT
set -u
notify=$1 root=$2
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
. "$root/tests/cli/lib.sh"

mkdir -p "$tmp/site/_posts"
cp "$root/examples/site/_config.yml" "$tmp/site/"
set --
i=1
while [ $i -le 300 ]; do
	f=$tmp/site/_posts/2026-11-20-alerte-$i.md
	printf -- '---\ntitle: "Alerte %s"\ndate: 2026-11-20 08:00:00 +0000\ntags: [veille-cyber]\n---\n- point\n' \
		"$i" >"$f"
	set -- "$@" --post "$f"
	i=$((i + 1))
done
"$notify" -c "$root/conf/notify.conf" "$@" --dry-run --channel soc \
	>"$tmp/out" 2>"$tmp/err"
check "300 --post arguments are taken: exit 0" $?
! grep -q -i usage "$tmp/err"
check "no usage line" $?
test "$(grep -c '^--- soc (slack) application/json' "$tmp/out")" -eq 1
check "one digest for the batch" $?

finish
