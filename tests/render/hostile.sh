#!/bin/sh
# A hostile post rendered for every channel: CR/LF and <script> in the
# title, mentions (<!channel>, <!here>, @room, @channel) and a javascript:
# link in key points, a 10,000-character key point and 300 key points.
# Every payload must stay within its receiver's limits with no header
# injection, no mention, no script and no javascript: link.
# usage: hostile.sh NOTIFY SOURCE_ROOT PAYLOADS_PY
set -u
notify=$1 root=$2 payloads=$3
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/site/_posts"
cp "$root/examples/site/_config.yml" "$tmp/site/"
post=$tmp/site/_posts/2026-11-20-hostile.md
{
	printf -- '---\n'
	printf 'title: "Alerte\\r\\nBcc: victim@evil.example <script>alert(1)</script> @room <!channel>"\n'
	printf 'date: 2026-11-20\ntags: [veille-cyber, "<!here>"]\n---\n'
	printf '**Points clés :**\n\n'
	printf '* <!channel> réveillez-vous <!here|ici> @room @channel @here\n'
	printf '* [clic](javascript:alert(1)) et <script>alert(2)</script>\n'
	printf '* <img src=x onerror=alert(3)> ![x](javascript:alert(4))\n'
	printf '* '
	i=0
	while [ $i -lt 1000 ]; do printf 'AAAAAAAAA '; i=$((i + 1)); done
	printf '\n'
	i=0
	while [ $i -lt 300 ]; do printf '* point %d <@U123> <#C42>\n' $i; i=$((i + 1)); done
	printf '\n---\n[Source](javascript:alert(5))\n'
} >"$post"
sed -e "s|\"../../../examples/site\"|\"$tmp/site\"|" \
	-e "s|\"../../../conf/templates\"|\"$root/conf/templates\"|" \
	"$root/tests/data/render/notify.conf" >"$tmp/notify.conf"
# every key point, not just five: the limits must hold for all of them
sed -i 's/max_key_points = 5/max_key_points = 50/' "$tmp/notify.conf"
python3 "$payloads" --hostile "$notify" "$tmp/notify.conf" "$post" || exit 1
out=$tmp/out
SOURCE_DATE_EPOCH=1764000000 "$notify" -c "$tmp/notify.conf" --post "$post" \
	--dry-run >"$out" || exit 1
fails=0
# (raw mentions in Slack mrkdwn, pings in Matrix bodies and HTML tags are
# payloads.py's checks; a plain_text header shows text and never pings)
if grep -a -q -i '^bcc:' "$out"; then
	echo "FAIL: header injection"
	fails=$((fails + 1))
fi
if ! grep -a -q '&lt;!channel&gt;' "$out"; then
	echo "FAIL: <!channel> should be shown escaped"
	fails=$((fails + 1))
fi
echo "hostile checks: $((2 - fails)) passed, $fails failed"
test "$fails" -eq 0
