#!/bin/sh
# `notify --post` from the outside: the README's main job on the shipped
# configuration, --channel, usage errors, a bad post, no secret needed
# for --dry-run, nothing written anywhere.
# usage: post.sh NOTIFY SOURCE_ROOT
set -u
notify=$1 root=$2
case $notify in /*) ;; *) notify=$PWD/$notify ;; esac
conf=$root/conf/notify.conf
posts=$root/examples/site/_posts
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
. "$root/tests/cli/lib.sh"

post=$(ls "$posts"/*.md | head -1)
(cd "$tmp" && "$notify" -c "$conf" --post "$post" --dry-run) \
	>"$tmp/out" 2>"$tmp/err"
check "main job on the shipped config" $?
test ! -s "$tmp/err"
check "nothing on stderr" $?
test "$(grep -c '^--- ' "$tmp/out")" -eq 3
check "one payload per enabled channel (hookshot is disabled)" $?
grep -q '^--- soc (slack) application/json, [0-9]* bytes$' "$tmp/out"
check "header line names channel, type and size" $?
test -z "$(ls -A "$tmp" | grep -v -e '^out$' -e '^err$')"
check "a dry run writes nothing" $?

"$notify" -c "$conf" --post "$post" --dry-run --channel veille >"$tmp/out"
test "$(grep -c '^--- ' "$tmp/out")" -eq 1 && grep -q '^--- veille ' "$tmp/out"
check "--channel selects one channel" $?
"$notify" -c "$conf" --post "$post" --dry-run --channel hook >"$tmp/out"
grep -q '^--- hook (hookshot)' "$tmp/out"
check "a disabled channel named by --channel renders" $?
"$notify" -c "$conf" --post "$post" --dry-run --channel nope 2>"$tmp/err"
check "unknown channel is a usage error (64)" $(($? != 64))
grep -q "no channel named 'nope'" "$tmp/err"
check "unknown channel is named" $?
sed -e "s|/var/lib/notify/state.db|$tmp/state.db|" \
	-e "s|\"../examples/site\"|\"$root/examples/site\"|" \
	-e "s|\"templates\"|\"$root/conf/templates\"|" "$conf" >"$tmp/send.conf"
"$notify" -c "$tmp/send.conf" --post "$post" --channel soc >"$tmp/out" \
	2>"$tmp/err"
check "sending without its secret file fails: 69" $(($? != 69))
grep -q 'soc: failed (secret file .*slack.url' "$tmp/out"
check "the missing secret file is named" $?
"$notify" -c "$conf" --post 2>/dev/null
check "--post without PATH: 64" $(($? != 64))
"$notify" -c "$conf" --dry-run --post "$post" >/dev/null
check "options in any order" $?
"$notify" -c "$conf" --post "$root/tests/data/posts/bad-yaml.md" \
	--dry-run >/dev/null 2>"$tmp/err"
check "bad post: 65" $(($? != 65))
grep -q 'bad-yaml.md:3:' "$tmp/err"
check "bad post named with its line" $?
NOTIFY_CONFIG=$conf "$notify" --post "$post" --dry-run >/dev/null
check "NOTIFY_CONFIG names the configuration" $?
NOTIFY_CONFIG=$tmp/none.conf "$notify" --post "$post" --dry-run \
	>/dev/null 2>&1
check "missing configuration: 78" $(($? != 78))

# A digest of 30 posts with long titles: Slack's 3,000 characters a text
# object cut it off; it is spread over several sections instead, each
# within the limit, and names every post.
mkdir -p "$tmp/big/_posts"
cp "$root/examples/site/_config.yml" "$tmp/big/"
set --
i=10
while [ $i -lt 40 ]; do
	day=$(printf %02d $((i - 9)))
	f=$tmp/big/_posts/2026-11-$day-alerte-$i.md
	printf -- '---\ntitle: "Alerte %s sur une passerelle VPN dont le nom est volontairement long pour remplir"\ndate: 2026-11-%s 08:00:00 +0000\ntags: [veille-cyber]\n---\n**Points clés :**\n\n- point\n' \
		"D$i" "$day" >"$f"
	set -- "$@" --post "$f"
	i=$((i + 1))
done
"$notify" -c "$conf" "$@" --dry-run --channel soc >"$tmp/out"
python3 - "$tmp/out" <<'PY'
import json, sys
raw = open(sys.argv[1], encoding="utf-8").read()
body = json.loads(raw.split("\n", 1)[1])
secs = [b["text"]["text"] for b in body["blocks"] if b["type"] == "section"]
assert len(secs) > 1, f"{len(secs)} section(s)"
assert all(len(t) <= 3000 for t in secs), [len(t) for t in secs]
text = "".join(secs)
missing = [f"D{i}" for i in range(10, 40) if f"Alerte D{i} " not in text]
assert not missing, missing
PY
check "a 30-post Slack digest: every post, in sections of <= 3000 chars" $?
set --

finish
