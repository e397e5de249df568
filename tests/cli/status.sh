#!/bin/sh
# `notify status` from the outside, on an outbox written by a failed
# send: nothing a post's file name holds reaches the terminal raw, the
# JSON view is valid UTF-8 whatever the stored texts hold, and a failure
# time is labelled as such.
# usage: status.sh NOTIFY SOURCE_ROOT
set -u
notify=$1 root=$2
case $notify in /*) ;; *) notify=$PWD/$notify ;; esac
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
. "$root/tests/cli/lib.sh"

# A post whose file name sets the terminal's title (ESC ] 0 ; ... BEL)
# and holds a CSI in its C1 form (U+009B).
mkdir -p "$tmp/site/_posts"
cp "$root/examples/site/_config.yml" "$tmp/site/"
esc=$(printf '\033')
post="$tmp/site/_posts/2026-11-20-a${esc}]0;pwned$(printf '\007')-b$(printf '\302\233')2J.md"
printf -- '---\ntitle: "T"\ndate: 2026-11-20 08:00:00 +0000\n---\n- point\n' \
	>"$post"

# The secret file's path runs past the 150 bytes kept of an error text,
# and a 2-byte character straddles byte 150 (its first byte is the 150th).
prefix="secret file $tmp/"
pad=""
if [ $(((150 - ${#prefix}) % 2)) -eq 0 ]; then
	pad=a
fi
dir=$tmp/${pad}$(printf 'é%.0s' $(seq 80))
cat >"$tmp/n.conf" <<CONF
site: { repo = "$tmp/site"; };
state = "$tmp/state.db";
alerts: { templates = "$root/conf/templates"; };
channels = ( { name = "soc"; type = "slack";
  webhook_url_file = "$dir/slack.url"; } );
CONF
"$notify" -c "$tmp/n.conf" --post "$post" >"$tmp/out" 2>"$tmp/err"
check "the send fails for want of its secret: 69" $(($? != 69))

"$notify" -c "$tmp/n.conf" status >"$tmp/out" 2>"$tmp/err"
check "status" $?
grep -q 'a?]0;pwned?-b?2J' "$tmp/out"
check "status shows the post id, its controls as '?'" $?
! grep -q "$esc" "$tmp/out" && ! grep -q "$(printf '\302\233')" "$tmp/out"
check "no ESC nor C1 CSI from a file name reaches the terminal" $?
grep -q ' failed 20[0-9-]* [0-9:]*$' "$tmp/out"
check "a failed delivery's time is labelled 'failed', not 'next'" $?

"$notify" -c "$tmp/n.conf" status --json >"$tmp/json" 2>"$tmp/err"
check "status --json" $?
python3 - "$tmp/json" <<'PY'
import json, sys
rows = json.loads(open(sys.argv[1], "rb").read().decode("utf-8"))
assert rows[0]["last_error"].startswith("secret file "), rows
PY
check "status --json is valid UTF-8 JSON: the error cut on a boundary" $?

python3 - "$tmp/state.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.text_factory = bytes
(err,), = db.execute("SELECT last_error FROM deliveries").fetchall()
assert len(err) >= 140, err
err.decode("utf-8")
PY
check "the stored error text is cut on a character boundary" $?

# Whatever a stored text holds (another version's cut, a peer's Latin-1
# body), the JSON view stays valid UTF-8.
python3 - "$tmp/state.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("UPDATE deliveries SET last_error = CAST(? AS TEXT)",
           (b"http 500 caf\xe9 \xc3",))
db.commit()
PY
"$notify" -c "$tmp/n.conf" status --json >"$tmp/json" 2>"$tmp/err"
python3 - "$tmp/json" <<'PY'
import json, sys
rows = json.loads(open(sys.argv[1], "rb").read().decode("utf-8"))
assert rows[0]["last_error"] == "http 500 caf? ?", rows
PY
check "invalid UTF-8 in the outbox becomes '?' in status --json" $?
"$notify" -c "$tmp/n.conf" status >"$tmp/out" 2>"$tmp/err"
grep -q 'last error: http 500 caf? ?$' "$tmp/out"
check "and in the human view" $?

# A 0-byte state file (a bad restore, a full disk) is no new install.
: >"$tmp/empty.db"
sed "s|$tmp/state.db|$tmp/empty.db|" "$tmp/n.conf" >"$tmp/e.conf"
"$notify" -c "$tmp/e.conf" status >"$tmp/out" 2>"$tmp/err"
check "an empty state file is an error: 74" $(($? != 74))
test "$(wc -l <"$tmp/err")" -eq 1 &&
	grep -q "empty.db: not an outbox (an empty file)" "$tmp/err"
check "one line naming the file" $?
test ! -s "$tmp/empty.db"
check "the empty file is left as it was" $?

# Any other error of the outbox is said and is not "nothing due" (11.7):
# exit 74, never 66 (a post that cannot be read) or 0.
cp "$tmp/state.db" "$tmp/broken.db"
python3 -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("DROP TABLE deliveries")
c.commit()' "$tmp/broken.db"
sed "s|$tmp/state.db|$tmp/broken.db|" "$tmp/n.conf" >"$tmp/b.conf"
"$notify" -c "$tmp/b.conf" status >"$tmp/out" 2>"$tmp/err"
check "a broken outbox: status exits 74" $(($? != 74))
grep -q "broken.db: .*no such table: deliveries" "$tmp/err"
check "the file and the error are named" $?
"$notify" -c "$tmp/b.conf" retry >"$tmp/out" 2>"$tmp/err"
check "a broken outbox: retry exits 74" $(($? != 74))

finish
