#!/bin/sh
# `notify parse` from the outside: exit codes, one error line per bad
# post naming it, good posts still printed, the human and JSON views.
# usage: parse.sh NOTIFY SOURCE_ROOT
set -u
notify=$1 root=$2
site=$root/examples/site/_posts
data=$root/tests/data/posts
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
. "$root/tests/cli/lib.sh"

"$notify" parse --json "$site"/*.md >"$tmp/out" 2>"$tmp/err"
check "example site parses" $?
test "$(wc -l <"$tmp/out")" -eq "$(ls "$site"/*.md | wc -l)"
check "one JSON line per post" $?
test ! -s "$tmp/err"
check "nothing on stderr for good posts" $?
python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' \
	"$tmp/out"
check "every line is JSON" $?
grep -q '"url":"https://veille.example.org/blog/alertes/cve/2026/11/09/' \
	"$tmp/out"
check "url from _config.yml permalink style and categories" $?

"$notify" parse --json "$site"/*.md "$data/bad-yaml.md" \
	"$data/ok-minimal.md" "$data/bad-nul.md" >"$tmp/out" 2>"$tmp/err"
check "bad post gives exit 65" $(($? != 65))
test "$(wc -l <"$tmp/out")" -eq 6
check "good posts around bad ones are still printed" $?
test "$(wc -l <"$tmp/err")" -eq 2
check "one stderr line per bad post" $?
grep -q 'bad-yaml.md:3: invalid YAML' "$tmp/err"
check "YAML error names file and line" $?

"$notify" parse "$tmp/missing.md" >"$tmp/out" 2>"$tmp/err"
check "missing file gives exit 66" $(($? != 66))
grep -q 'missing.md: no such file' "$tmp/err"
check "missing file is named" $?

"$notify" parse "$site"/2026-11-09-*.md >"$tmp/out" 2>&1
check "human view" $?
grep -q 'CVE-2026-0999' "$tmp/out" && grep -q '^2026-11-09  ' "$tmp/out"
check "human view shows date, title and CVEs" $?

# A title, a tag and a key point that would drive the terminal: ESC
# sequences (title, clear screen, colour), BEL, CR/LF, a C1 CSI (U+009B).
mkdir -p "$tmp/site/_posts"
printf -- '---\ntitle: "Alerte \\e]0;pwned\\a \\e[2J\\r\\nFaux: \\u009b1m ok"\ndate: 2026-11-20 08:00:00 +0000\ntags: ["a\\eb"]\n---\n**Points clés :**\n\n- point \033[31m rouge\n' \
	>"$tmp/site/_posts/2026-11-20-t.md"
"$notify" parse "$tmp/site/_posts/2026-11-20-t.md" >"$tmp/out" 2>&1
check "a post with control characters parses" $?
! LC_ALL=C grep -q "$(printf '[\001-\010\013-\037\177]')" "$tmp/out" &&
	! grep -q "$(printf '\302\233')" "$tmp/out"
check "parse prints no control character but line ends" $?
grep -qx '2026-11-20  Alerte ?\]0;pwned? ?\[2J  Faux: ?1m ok' "$tmp/out"
check "the title stays one line, its controls shown as '?'" $?
grep -q '^  tags: a?b$' "$tmp/out" && grep -q '^    - point ?\[31m rouge$' "$tmp/out"
check "tags and key points are shown the same way" $?
"$notify" parse --json "$tmp/site/_posts/2026-11-20-t.md" >"$tmp/out"
python3 - "$tmp/out" <<'PY'
import json, sys
m = json.loads(open(sys.argv[1], "rb").read().decode("utf-8"))
assert m["title"] == "Alerte \x1b]0;pwned\x07 \x1b[2J\r\nFaux: \x9b1m ok", m
PY
check "--json keeps the title exact (JSON escapes it)" $?

"$notify" parse >/dev/null 2>&1
check "no path is a usage error (64)" $(($? != 64))
"$notify" frobnicate >/dev/null 2>&1
check "unknown command is a usage error (64)" $(($? != 64))
"$notify" --help | grep -q 'parse'
check "--help lists parse" $?

# the shipped configuration: site.repo gives paths relative to the site
"$notify" -c "$root/conf/notify.conf" parse --json "$site"/*.md >"$tmp/out"
check "parse with the shipped config" $?
grep -q '"path":"_posts/2026-11-03-' "$tmp/out"
check "site.repo roots the paths" $?
printf 'parser: { key_points = [ "recommandation" ]; };\n' >"$tmp/kp.conf"
"$notify" -c "$tmp/kp.conf" parse --json "$site"/2026-11-03-*.md >"$tmp/out"
grep -q '"key_points":\["Imposer' "$tmp/out"
check "configured aliases are used" $?
printf 'parser: { max_post_bytes = 1024; };\n' >"$tmp/cap.conf"
"$notify" -c "$tmp/cap.conf" parse "$site"/2026-11-09-*.md 2>"$tmp/err" \
	>/dev/null
check "configured size cap refuses a bigger post (65)" $(($? != 65))
grep -q 'over the 1024 byte cap' "$tmp/err"
check "size cap error names the cap" $?
printf 'site: { colour = "red"; };\n' >"$tmp/bad.conf"
"$notify" -c "$tmp/bad.conf" parse "$site"/*.md >/dev/null 2>"$tmp/err"
check "bad config gives exit 78" $(($? != 78))
grep -q 'bad.conf:1: unknown key' "$tmp/err"
check "bad config error names file and line" $?

finish
