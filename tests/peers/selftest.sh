#!/bin/sh
# Self-test of the loopback test peers: http_peer.py (Slack, Matrix,
# hookshot, fault injection) under python3 and /usr/bin/python3, and
# smtp_peer.py (plain, STARTTLS+AUTH, 451/550/421 recipients).
# usage: selftest.sh        exit 0 all passed, 1 a failure,
#                           77 a peer's dependency is missing (1 if CI=true)
# Needs: curl, openssl, /usr/bin/python3 with python3-aiosmtpd
# (apt-get install -y python3-aiosmtpd openssl curl).
# The single-quoted Python expressions below are meant literally.
# shellcheck disable=SC2016
set -u
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d) || exit 1
pids=""
passes=0 fails=0 skips=0
PYH=/usr/bin/python3                # runs the JSON helpers
[ -x "$PYH" ] || PYH=python3

# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	for p in $pids; do kill -TERM "$p" 2>/dev/null; done
	for p in $pids; do
		i=0
		while kill -0 "$p" 2>/dev/null && [ "$i" -lt 30 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -KILL "$p" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

check() { # name, 0 when it holds
	if [ "$2" -eq 0 ]; then
		passes=$((passes + 1))
	else
		fails=$((fails + 1))
		echo "FAIL: $1"
	fi
}

skip() { # name: a missing dependency; a failure under CI=true
	if [ "${CI:-}" = true ]; then
		check "$1 (missing dependency under CI)" 1
	else
		skips=$((skips + 1))
		echo "SKIP: $1"
	fi
}

# start_peer NAME PORTFILE CMD...: start in the background, wait <= 10 s
# for the port file; sets $port and $pid.
start_peer() {
	name=$1 pf=$2
	shift 2
	"$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
	pid=$!
	pids="$pids $pid"
	port=""
	i=0
	while [ $i -lt 100 ]; do
		if [ -s "$pf" ]; then
			port=$(cat "$pf")
			break
		fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
		i=$((i + 1))
	done
	[ -n "$port" ]
}

# wait_exit PID: 0 when PID exits with status 0 within 5 s
wait_exit() {
	i=0
	while kill -0 "$1" 2>/dev/null && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -0 "$1" 2>/dev/null && return 1
	wait "$1"
}

# jq_py FILE EXPR: evaluate EXPR with j = the JSON in FILE (r = the list
# of JSON lines when FILE is a recording); exit 0 when true.
jq_py() {
	"$PYH" - "$1" "$2" <<'EOF'
import json, sys
text = open(sys.argv[1], encoding="utf-8").read()
try:
    j = json.loads(text)
except ValueError:
    j = None
r = [json.loads(l) for l in text.splitlines() if l.strip()]
sys.exit(0 if eval(sys.argv[2]) else 1)
EOF
}

# req METHOD PATH [curl args]: sets $code; body in $tmp/body,
# headers in $tmp/hdr; $crc is curl's exit code.
req() {
	m=$1 p=$2
	shift 2
	code=$(curl -s -m 10 -X "$m" -o "$tmp/body" -D "$tmp/hdr" \
		-w '%{http_code}' "$@" "$base$p")
	crc=$?
}
J='Content-Type: application/json'
AUTH='Authorization: Bearer s3cret-token'
ROOM=%21room%3Aexample.org
SEND=/_matrix/client/v3/rooms/$ROOM/send/m.room.message
MSG='{"msgtype":"m.notice","body":"Nouvel article","m.mentions":{}}'

body_is() { [ "$(cat "$tmp/body")" = "$1" ]; }

if ! command -v curl >/dev/null 2>&1; then
	skip "curl missing (apt-get install -y curl)"
	echo "$passes passed, $fails failed, $skips skipped"
	[ $fails -eq 0 ] && exit 77
	exit 1
fi

# ------------------------------------------------------------ payloads
"$PYH" - "$tmp" <<'EOF'
import json, sys
d = sys.argv[1]
def w(name, obj):
    with open(d + "/" + name, "w", encoding="utf-8") as fh:
        json.dump(obj, fh, ensure_ascii=False)
hdr = lambda t: {"type": "header", "text": {"type": "plain_text", "text": t}}
sec = lambda t: {"type": "section", "text": {"type": "mrkdwn", "text": t}}
btn = lambda t, u: {"type": "actions", "elements": [{"type": "button",
    "action_id": "open", "text": {"type": "plain_text", "text": t},
    "url": u}]}
w("ok.json", {"text": "Nouvel article : l’hyperviseur", "blocks": [
    hdr("Faille critique"), sec("Un correctif &amp; deux"),
    {"type": "context", "elements": [{"type": "mrkdwn", "text": "Publié"}]},
    {"type": "divider"}, btn("Lire l’article", "https://blog.example.fr/p")]})
w("b51.json", {"text": "x", "blocks": [sec("s")] * 51})
w("b50.json", {"text": "x", "blocks": [sec("s")] * 50})
w("h151.json", {"text": "x", "blocks": [hdr("h" * 151)]})
w("h150.json", {"text": "x", "blocks": [hdr("é" * 150)]})
w("empty.json", {"text": "x", "blocks": [sec("")]})
w("t3001.json", {"text": "x", "blocks": [sec("t" * 3001)]})
w("btn76.json", {"text": "x", "blocks": [btn("b" * 76, "https://e.x/")]})
w("url3001.json", {"text": "x",
                   "blocks": [btn("b", "https://e.x/" + "u" * 2989)]})
w("notext.json", {"username": "bot"})
w("big.json", {"msgtype": "m.notice", "body": "x" * 70000})
EOF

# ------------------------------------------------------------ http peer
http_suite() { # PYTHON TAG
	py=$1 tag=$2
	d=$tmp/http-$tag
	mkdir -p "$d"
	if ! start_peer "http-$tag" "$d/port" "$py" "$here/http_peer.py" \
		--record "$d/rec" --port-file "$d/port" --token s3cret-token \
		--room-alias '#veille:example.org' --room-id '!room:example.org' \
		--joined false; then
		check "[$tag] http peer starts and writes its port" 1
		cat "$tmp/http-$tag.err"
		return
	fi
	check "[$tag] http peer starts and writes its port" 0
	hpid=$pid
	base=http://127.0.0.1:$port
	test "$(cat "$tmp/http-$tag.out")" = "$port"
	check "[$tag] port printed on stdout" $?

	# Slack
	req POST /slack/T0/B0/xyz -H "$J; charset=utf-8" --data-binary @"$tmp/ok.json"
	[ "$code" = 200 ] && body_is ok
	check "[$tag] slack: valid Block Kit -> 200 ok" $?
	req POST /slack/T0/B0/xyz --data-binary @"$tmp/ok.json"
	[ "$code" = 400 ] && body_is invalid_payload
	check "[$tag] slack: form content type -> invalid_payload" $?
	req POST /slack/T0/B0/xyz -H "$J" --data-binary '{"text": "x"'
	[ "$code" = 400 ] && body_is invalid_payload
	check "[$tag] slack: bad JSON -> invalid_payload" $?
	req POST /slack/T0/B0/xyz -H "$J" --data-binary '["x"]'
	[ "$code" = 400 ] && body_is invalid_payload
	check "[$tag] slack: JSON array -> invalid_payload" $?
	for f in b51 h151 empty t3001 btn76 url3001; do
		req POST /slack/T0/B0/xyz -H "$J" --data-binary @"$tmp/$f.json"
		[ "$code" = 400 ] && body_is invalid_blocks
		check "[$tag] slack: $f -> invalid_blocks" $?
	done
	for f in b50 h150; do
		req POST /slack/T0/B0/xyz -H "$J" --data-binary @"$tmp/$f.json"
		[ "$code" = 200 ]
		check "[$tag] slack: $f (at the limit) -> 200" $?
	done
	req POST /slack/T0/B0/xyz -H "$J" --data-binary @"$tmp/notext.json"
	[ "$code" = 400 ] && body_is no_text
	check "[$tag] slack: no text, no blocks -> no_text" $?
	req POST /slack-gone/T0/B0/xyz -H "$J" --data-binary '{"text":"x"}'
	[ "$code" = 404 ] && body_is no_service
	check "[$tag] slack-gone -> 404 no_service" $?

	# fault: 429 + Retry-After on the next request only
	req POST /_control -d '{"next":1,"fault":"status","status":429,"retry_after":1}'
	[ "$code" = 200 ]
	check "[$tag] control: queue a 429" $?
	req POST /slack/T0/B0/xyz -H "$J" --data-binary '{"text":"x"}'
	[ "$code" = 429 ] && grep -qi '^retry-after: 1' "$tmp/hdr"
	check "[$tag] fault: 429 with Retry-After: 1" $?
	req POST /slack/T0/B0/xyz -H "$J" --data-binary '{"text":"x"}'
	[ "$code" = 200 ]
	check "[$tag] fault: only the next request" $?
	req POST /_control -d '{"next":2,"fault":"status","status":500,"body":"rollup_error"}'
	req POST /slack/a -H "$J" --data-binary '{"text":"x"}'
	c1=$code
	req POST /slack/a -H "$J" --data-binary '{"text":"x"}'
	[ "$c1" = 500 ] && [ "$code" = 500 ] && body_is rollup_error
	check "[$tag] fault: 500 twice (next=2)" $?
	req POST /_control -d '{"fault":"bogus"}'
	[ "$code" = 400 ]
	check "[$tag] control: unknown fault refused" $?

	# hookshot
	req POST /hookshot/abc123 -H "$J" --data-binary '{"text":"**Nouvel** article"}'
	[ "$code" = 200 ] && jq_py "$tmp/body" 'j == {"ok": True}'
	check "[$tag] hookshot: text -> 200 {ok:true}" $?
	req POST /hookshot/abc123 -H "$J" --data-binary '{"html":"<b>x</b>"}'
	[ "$code" = 400 ]
	check "[$tag] hookshot: no text -> 400" $?
	req POST /hookshot-gone/abc123 -H "$J" --data-binary '{"text":"x"}'
	[ "$code" = 404 ] && jq_py "$tmp/body" \
		'j == {"ok": False, "error": "Webhook not found"}'
	check "[$tag] hookshot-gone -> 404 Webhook not found" $?

	# Matrix: auth
	req GET /_matrix/client/v3/account/whoami
	[ "$code" = 401 ] && jq_py "$tmp/body" 'j["errcode"] == "M_MISSING_TOKEN"'
	check "[$tag] matrix: no token -> 401 M_MISSING_TOKEN" $?
	req GET /_matrix/client/v3/account/whoami -H 'Authorization: Bearer nope'
	[ "$code" = 401 ] && jq_py "$tmp/body" 'j["errcode"] == "M_UNKNOWN_TOKEN"'
	check "[$tag] matrix: bad token -> 401 M_UNKNOWN_TOKEN" $?
	req POST /_control -d '{"fault":"status","status":500}'
	req GET /_matrix/client/v3/account/whoami -H "$AUTH"
	[ "$code" = 200 ] && jq_py "$tmp/body" \
		'j["user_id"] == "@bot:example.org" and j["device_id"] == "TESTDEV"'
	check "[$tag] matrix: whoami (faults skip whoami)" $?
	req POST /slack/a -H "$J" --data-binary '{"text":"x"}'
	[ "$code" = 500 ]
	check "[$tag] fault: still pending after whoami" $?

	# Matrix: alias, join, send
	req GET /_matrix/client/v3/directory/room/%23veille%3Aexample.org -H "$AUTH"
	[ "$code" = 200 ] && jq_py "$tmp/body" 'j["room_id"] == "!room:example.org"'
	check "[$tag] matrix: alias resolves" $?
	req GET /_matrix/client/v3/directory/room/%23other%3Aexample.org -H "$AUTH"
	[ "$code" = 404 ] && jq_py "$tmp/body" 'j["errcode"] == "M_NOT_FOUND"'
	check "[$tag] matrix: unknown alias -> 404 M_NOT_FOUND" $?
	req PUT "$SEND/t0" -H "$AUTH" --data-binary "$MSG"
	[ "$code" = 403 ] && jq_py "$tmp/body" \
		'j == {"errcode": "M_FORBIDDEN", "error": "not in room"}'
	check "[$tag] matrix: send before join -> 403 M_FORBIDDEN" $?
	req POST "/_matrix/client/v3/join/%23veille%3Aexample.org?via=example.org" -H "$AUTH"
	[ "$code" = 400 ]
	check "[$tag] matrix: join without a body -> 400" $?
	req POST "/_matrix/client/v3/join/%23veille%3Aexample.org?via=example.org" \
		-H "$AUTH" -H "$J" --data-binary '{}'
	[ "$code" = 200 ] && jq_py "$tmp/body" 'j == {"room_id": "!room:example.org"}'
	check "[$tag] matrix: join {} -> room_id" $?
	req PUT "$SEND/txn-1" -H "$AUTH" -H "$J" --data-binary "$MSG"
	[ "$code" = 200 ] && jq_py "$tmp/body" 'j == {"event_id": "$1"}'
	check "[$tag] matrix: send -> event \$1" $?
	req PUT "$SEND/txn-1" -H "$AUTH" -H "$J" --data-binary "$MSG"
	[ "$code" = 200 ] && jq_py "$tmp/body" 'j == {"event_id": "$1"}'
	check "[$tag] matrix: same txnId -> same event" $?
	req POST /_control -d '{"fault":"matrix_limit","retry_after_ms":250}'
	req PUT "$SEND/txn-2" -H "$AUTH" -H "$J" --data-binary "$MSG"
	[ "$code" = 429 ] && ! grep -qi '^retry-after' "$tmp/hdr" && jq_py \
		"$tmp/body" 'j["errcode"] == "M_LIMIT_EXCEEDED" and j["retry_after_ms"] == 250'
	check "[$tag] fault: M_LIMIT_EXCEEDED, retry_after_ms, no header" $?
	req PUT "$SEND/txn-2" -H "$AUTH" -H "$J" --data-binary "$MSG"
	[ "$code" = 200 ] && jq_py "$tmp/body" 'j == {"event_id": "$2"}'
	check "[$tag] matrix: retry after limit posts once" $?
	req PUT "$SEND/txn-3" -H "$AUTH" -H "$J" --data-binary @"$tmp/big.json"
	[ "$code" = 413 ] && jq_py "$tmp/body" 'j["errcode"] == "M_TOO_LARGE"'
	check "[$tag] matrix: > 65536 bytes -> 413 M_TOO_LARGE" $?
	# drop_after: event created, answer lost; the retry is a duplicate
	req POST /_control -d '{"fault":"drop_after"}'
	req PUT "$SEND/txn-4" -H "$AUTH" -H "$J" --data-binary "$MSG"
	[ "$crc" = 52 ]
	check "[$tag] fault: drop_after -> empty reply (curl 52)" $?
	req PUT "$SEND/txn-4" -H "$AUTH" -H "$J" --data-binary "$MSG"
	[ "$code" = 200 ] && jq_py "$tmp/body" 'j == {"event_id": "$3"}'
	check "[$tag] matrix: retry after drop_after -> original event" $?
	req GET /_control/events
	jq_py "$tmp/body" '[e["txn_id"] for e in j] == ["txn-1", "txn-2", "txn-4"]'
	check "[$tag] control: events lists 3 new events" $?

	# state, match, reset
	req POST /_control/state -d '{"token":"other-token"}'
	req PUT "$SEND/txn-1" -H 'Authorization: Bearer other-token' -H "$J" \
		--data-binary "$MSG"
	[ "$code" = 200 ] && jq_py "$tmp/body" 'j == {"event_id": "$4"}'
	check "[$tag] control: new token = new txnId scope" $?
	req POST /_control/state -d '{"token":"s3cret-token","join_forbidden":true,"joined":false}'
	jq_py "$tmp/body" 'j["joined"] == [] and j["join_forbidden"] is True'
	check "[$tag] control: state changes" $?
	req POST "/_matrix/client/v3/join/$ROOM" -H "$AUTH" -H "$J" --data-binary '{}'
	[ "$code" = 403 ] && jq_py "$tmp/body" 'j["errcode"] == "M_FORBIDDEN"'
	check "[$tag] matrix: forbidden join -> 403 M_FORBIDDEN" $?
	req POST /_control -d '{"fault":"status","status":503,"match":"/hookshot/"}'
	req POST /slack/a -H "$J" --data-binary '{"text":"x"}'
	c1=$code
	req POST /hookshot/h -H "$J" --data-binary '{"text":"x"}'
	[ "$c1" = 200 ] && [ "$code" = 503 ]
	check "[$tag] fault: match limits it to a path prefix" $?
	req POST /_control -d '{"fault":"drop","next":5}'
	req POST /_control/reset
	req GET /_control/state
	jq_py "$tmp/body" 'j["faults"] == [] and j["events"] == 0 and j["joined"] == [] and not j["join_forbidden"]'
	check "[$tag] control: reset" $?
	req POST /_control/state -d '{"joined":true}'

	# drop and hang
	req POST /_control -d '{"fault":"drop"}'
	req POST /slack/a -H "$J" --data-binary '{"text":"x"}'
	[ "$crc" = 52 ]
	check "[$tag] fault: drop -> empty reply (curl 52)" $?
	req POST /_control -d '{"fault":"hang","seconds":3}'
	t0=$(date +%s)
	code=$(curl -s -m 1 -o /dev/null -w '%{http_code}' -H "$J" \
		--data-binary '{"text":"x"}' "$base/slack/a")
	crc=$?
	[ "$crc" = 28 ] && [ $(($(date +%s) - t0)) -le 3 ]
	check "[$tag] fault: hang -> client timeout (curl 28)" $?
	req POST /slack/a -H "$J" --data-binary '{"text":"x"}'
	[ "$code" = 200 ]
	check "[$tag] peer still answers during a hang" $?

	# recording
	jq_py "$d/rec" 'all(set(e) >= {"path","method","headers","body","json","t","auth_ok"} for e in r)'
	check "[$tag] record: every line has the fields" $?
	! grep -q s3cret-token "$d/rec" && ! grep -qi '"authorization"' "$d/rec"
	check "[$tag] record: no token, no Authorization header" $?
	jq_py "$d/rec" '[e["auth_ok"] for e in r if e["path"].endswith("whoami")] == [False, False, True]'
	check "[$tag] record: auth_ok per request" $?
	jq_py "$d/rec" '[(e["txn_id"], e["duplicate_txn"]) for e in r if "duplicate_txn" in e] == [("txn-1", False), ("txn-1", True), ("txn-2", False), ("txn-4", False), ("txn-4", True), ("txn-1", False)]'
	check "[$tag] record: duplicate_txn marks retransmissions" $?
	jq_py "$d/rec" 'r[0]["json"]["text"].startswith("Nouvel article") and r[0]["headers"]["content-type"].startswith("application/json")'
	check "[$tag] record: body, json and headers" $?
	jq_py "$d/rec" 'not any(e["path"].startswith("/_control") for e in r) and all(a["t"] <= b["t"] for a, b in zip(r, r[1:]))'
	check "[$tag] record: no control requests, monotonic t" $?

	# Synapse-like rate limit: burst 2, then one send per 10 s
	req POST /_control/state -d '{"matrix_limit":{"burst":2,"per_second":0.1}}'
	jq_py "$tmp/body" 'j["matrix_limit"] == {"burst": 2.0, "per_second": 0.1} and j["limited"] == 0'
	check "[$tag] control: matrix_limit set" $?
	req PUT "$SEND/rl-1" -H "$AUTH" -H "$J" --data-binary "$MSG"
	c1=$code
	req PUT "$SEND/rl-2" -H "$AUTH" -H "$J" --data-binary "$MSG"
	c2=$code
	req PUT "$SEND/rl-3" -H "$AUTH" -H "$J" --data-binary "$MSG"
	[ "$c1" = 200 ] && [ "$c2" = 200 ] && [ "$code" = 429 ] &&
		! grep -qi '^retry-after' "$tmp/hdr" && jq_py "$tmp/body" \
		'j["errcode"] == "M_LIMIT_EXCEEDED" and 9000 < j["retry_after_ms"] <= 10000'
	check "[$tag] matrix limit: burst 2, then 429 retry_after_ms = the next token" $?
	req PUT "$SEND/rl-1" -H "$AUTH" -H "$J" --data-binary "$MSG"
	[ "$code" = 200 ]
	check "[$tag] matrix limit: a retransmission is not limited" $?
	req GET /_control/state
	jq_py "$tmp/body" 'j["limited"] == 1 and j["arrivals"]["matrix"] == 4'
	check "[$tag] control: state counts the 429s and the arrivals" $?
	req GET /_control/arrivals
	jq_py "$tmp/body" '[a["status"] for a in j["matrix"]] == [200, 200, 429, 200] and [a["status"] for a in j["slack"]][-1] == 200 and all(a["t"] <= b["t"] for a, b in zip(j["slack"], j["slack"][1:]))'
	check "[$tag] control: arrivals: time and status per request" $?
	req POST /_control/state -d '{"matrix_limit":null}'
	req PUT "$SEND/rl-4" -H "$AUTH" -H "$J" --data-binary "$MSG"
	[ "$code" = 200 ]
	check "[$tag] matrix limit: off again" $?

	# stop over HTTP, then SIGTERM on a second instance
	req POST /_control/stop
	[ "$code" = 200 ] && wait_exit "$hpid"
	check "[$tag] POST /_control/stop ends the peer (exit 0)" $?
	if start_peer "http2-$tag" "$d/port2" "$py" "$here/http_peer.py" \
		--record "$d/rec2" --port-file "$d/port2" --host ::1; then
		code=$(curl -s -g -m 5 -o /dev/null -w '%{http_code}' \
			-H "$J" -d '{"text":"x"}' "http://[::1]:$port/slack/a")
		[ "$code" = 200 ]
		check "[$tag] --host ::1 serves" $?
		kill -TERM "$pid"
		wait_exit "$pid"
		check "[$tag] SIGTERM ends the peer (exit 0)" $?
	else
		skip "[$tag] no IPv6 loopback: ::1 and SIGTERM checks"
	fi
}

if command -v python3 >/dev/null 2>&1; then
	http_suite "$(command -v python3)" path-python3
else
	skip "python3 on PATH"
fi
if [ -x /usr/bin/python3 ]; then
	http_suite /usr/bin/python3 usr-bin-python3
else
	skip "/usr/bin/python3"
fi

# ------------------------------------------------------------ smtp peer
smtp_client() { # PORT CERT|"" MODE: prints PASS/FAIL lines
	/usr/bin/python3 - "$@" <<'EOF'
import smtplib, ssl, sys
port, cert, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]
def ok(name, cond, detail=""):
    print(("PASS " if cond else "FAIL ") + name + ("" if cond else ": %s" % (detail,)))
def connect():
    s = smtplib.SMTP("127.0.0.1", port, timeout=5)
    s.ehlo("client.example.org")
    return s
msg = ("From: bot@example.org\r\nTo: ok@example.org\r\n"
       "Subject: =?UTF-8?Q?Nouvel_article?=\r\n\r\nBonjour.\r\n")
if mode == "plain":
    s = connect()
    ok("plain: no STARTTLS, no AUTH offered",
       not s.has_extn("starttls") and not s.has_extn("auth"), s.esmtp_features)
    r = s.sendmail("bounce@example.org", ["ok@example.org", "b@example.org"], msg)
    ok("plain: both recipients accepted", r == {}, r)
    r = s.sendmail("bounce@example.org", ["c@example.org"], b"Subject: x\r\n\r\nh\xe9\r\n")
    ok("plain: second message on the same connection", r == {}, r)
    try:
        s.sendmail("bounce@example.org", ["d@example.org", "reject@example.org"], msg)
        ok("plain: --fail-data 554 at end of DATA", False, "accepted")
    except smtplib.SMTPDataError as e:
        ok("plain: --fail-data 554 at end of DATA", e.smtp_code == 554, e.smtp_code)
    s.quit()
elif mode == "tls":
    s = connect()
    ok("tls: STARTTLS offered, AUTH hidden before it",
       s.has_extn("starttls") and not s.has_extn("auth"), s.esmtp_features)
    code, _ = s.mail("bounce@example.org")
    ok("tls: MAIL before STARTTLS -> 530", code == 530, code)
    ctx = ssl.create_default_context(cafile=cert)
    s.starttls(context=ctx)
    s.ehlo("client.example.org")
    ok("tls: AUTH PLAIN LOGIN after STARTTLS (cert verified)",
       "PLAIN" in s.esmtp_features.get("auth", "") and
       "LOGIN" in s.esmtp_features.get("auth", ""), s.esmtp_features)
    code, _ = s.mail("bounce@example.org")
    ok("tls: MAIL before AUTH -> 530", code == 530, code)
    s.rset()
    try:
        s.login("alice", "wrong")
        ok("tls: bad password refused", False, "accepted")
    except smtplib.SMTPAuthenticationError as e:
        ok("tls: bad password -> 535", e.smtp_code == 535, e.smtp_code)
    code, _ = s.login("alice", "s3cret")
    ok("tls: AUTH -> 235", code == 235, code)
    r = s.sendmail("bounce@example.org",
                   ["ok@example.org", "temp@example.org", "gone@example.org"], msg)
    ok("tls: 451 and 550 recipients refused, one accepted",
       {k: v[0] for k, v in r.items()} ==
       {"temp@example.org": 451, "gone@example.org": 550}, r)
    ok("tls: enhanced codes 4.3.0 / 5.1.1",
       r["temp@example.org"][1].startswith(b"4.3.0") and
       r["gone@example.org"][1].startswith(b"5.1.1"), r)
    try:
        s.sendmail("bounce@example.org", ["temp@example.org"], msg)
        ok("tls: all recipients refused raises", False, "no error")
    except smtplib.SMTPRecipientsRefused as e:
        ok("tls: all recipients refused raises", True)
    s.rset()
    s.mail("bounce@example.org")
    code, _ = s.rcpt("busy@example.org")
    ok("tls: 421 recipient", code == 421, code)
    try:
        s.noop()
        ok("tls: 421 closes the connection", False, "still open")
    except smtplib.SMTPServerDisconnected:
        ok("tls: 421 closes the connection", True)
elif mode == "authplain":
    s = connect()
    ok("auth without TLS: AUTH offered in clear",
       "PLAIN" in s.esmtp_features.get("auth", ""), s.esmtp_features)
    code, _ = s.mail("bounce@example.org")
    ok("auth without TLS: MAIL before AUTH -> 530", code == 530, code)
    s.rset()
    code, _ = s.login("bob", "pw")
    ok("auth without TLS: AUTH LOGIN/PLAIN -> 235", code == 235, code)
    r = s.sendmail("bounce@example.org", ["ok@example.org"], msg)
    ok("auth without TLS: accepted", r == {}, r)
    s.quit()
EOF
}

run_client() { # PORT CERT MODE: count the client's PASS/FAIL lines
	smtp_client "$@" >"$tmp/client.out" 2>"$tmp/client.err"
	rc=$?
	while read -r verdict rest; do
		case $verdict in
		PASS) check "smtp $rest" 0 ;;
		FAIL) check "smtp $rest" 1 ;;
		esac
	done <"$tmp/client.out"
	[ $rc -eq 0 ] || { check "smtp client ($3) ran" 1; cat "$tmp/client.err"; }
}

smtp_suite() {
	d=$tmp/smtp
	mkdir -p "$d"
	# plain
	if start_peer smtp-plain "$d/p1" /usr/bin/python3 "$here/smtp_peer.py" \
		--record "$d/rec1" --events "$d/ev1" --port-file "$d/p1" \
		--fail-data reject@example.org=554; then
		check "smtp plain peer starts" 0
		p1=$pid
		run_client "$port" "" plain
		jq_py "$d/rec1" 'len(r) == 2 and r[0]["mail_from"] == "bounce@example.org" and r[0]["rcpt_tos"] == ["ok@example.org", "b@example.org"] and r[0]["tls"] is False and r[0]["auth_user"] is None and "Subject: =?UTF-8?Q?Nouvel_article?=" in r[0]["data"]'
		check "smtp plain: recorded message" $?
		jq_py "$d/rec1" 'r[1]["data_encoding"] == "latin-1" and "h\u00e9" in r[1]["data"] and r[0]["conn"] == r[1]["conn"]'
		check "smtp plain: latin-1 data, one connection for two messages" $?
		kill -TERM "$p1"
		wait_exit "$p1"
		check "smtp plain: SIGTERM ends the peer (exit 0)" $?
	else
		check "smtp plain peer starts" 1
		cat "$tmp/smtp-plain.err"
	fi

	# STARTTLS + AUTH + failing recipients
	sh "$here/make_cert.sh" "$d/cert" >/dev/null
	mc=$?
	if [ $mc -eq 77 ]; then
		skip "openssl missing: STARTTLS checks"
	elif [ $mc -ne 0 ]; then
		check "make_cert.sh" 1
	elif start_peer smtp-tls "$d/p2" /usr/bin/python3 "$here/smtp_peer.py" \
		--record "$d/rec2" --events "$d/ev2" --port-file "$d/p2" \
		--tls-cert "$d/cert/cert.pem" --tls-key "$d/cert/key.pem" \
		--require-starttls --auth alice:s3cret \
		--fail temp@example.org=451 --fail gone@example.org=550 \
		--fail busy@example.org=421; then
		check "smtp tls peer starts" 0
		p2=$pid
		run_client "$port" "$d/cert/cert.pem" tls
		jq_py "$d/rec2" 'len(r) == 1 and r[0]["rcpt_tos"] == ["ok@example.org"] and r[0]["tls"] is True and r[0]["auth_user"] == "alice"'
		check "smtp tls: only the accepted recipient recorded, tls, auth_user" $?
		jq_py "$d/ev2" '[e["code"] for e in r if e["event"] == "rcpt"] == [250, 451, 550, 451, 421] and r[-1]["event"] == "disconnect"'
		check "smtp tls: events log rcpt codes and the 421 disconnect" $?
		! grep -q s3cret "$d/rec2" "$d/ev2"
		check "smtp tls: password not recorded" $?
		kill -TERM "$p2"
		wait_exit "$p2"
		check "smtp tls: SIGTERM ends the peer (exit 0)" $?
	else
		check "smtp tls peer starts" 1
		cat "$tmp/smtp-tls.err"
	fi

	# a slow server: every reply (the greeting too) comes 0.5 s late
	if start_peer smtp-slow "$d/p4" /usr/bin/python3 "$here/smtp_peer.py" \
		--record "$d/rec4" --port-file "$d/p4" --reply-delay 0.5; then
		p4=$pid
		/usr/bin/python3 - "$port" >"$tmp/slow.out" 2>&1 <<'EOF'
import smtplib, sys, time
t0 = time.monotonic()
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=5)
t1 = time.monotonic()
s.ehlo("client.example.org")
t2 = time.monotonic()
s.noop()
t3 = time.monotonic()
print("%.2f %.2f %.2f" % (t1 - t0, t2 - t1, t3 - t2))
sys.exit(0 if all(0.45 <= x < 1.4 for x in (t1 - t0, t2 - t1, t3 - t2)) else 1)
EOF
		check "smtp --reply-delay 0.5: greeting, EHLO, NOOP each 0.5 s late ($(cat "$tmp/slow.out"))" $?
		kill -TERM "$p4"
		wait_exit "$p4"
		check "smtp slow: SIGTERM ends the peer" $?
	else
		check "smtp slow peer starts" 1
		cat "$tmp/smtp-slow.err"
	fi

	# AUTH without TLS (auth_require_tls off)
	if start_peer smtp-auth "$d/p3" /usr/bin/python3 "$here/smtp_peer.py" \
		--record "$d/rec3" --port-file "$d/p3" --auth bob:pw; then
		p3=$pid
		run_client "$port" "" authplain
		jq_py "$d/rec3" 'len(r) == 1 and r[0]["auth_user"] == "bob" and r[0]["tls"] is False'
		check "smtp auth without TLS: recorded auth_user" $?
		kill -TERM "$p3"
		wait_exit "$p3"
		check "smtp auth: SIGTERM ends the peer" $?
	else
		check "smtp auth peer starts" 1
		cat "$tmp/smtp-auth.err"
	fi
}

aiosmtpd_missing=0
if [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null; then
	smtp_suite
else
	aiosmtpd_missing=1
	echo "aiosmtpd missing: apt-get install -y python3-aiosmtpd" >&2
	[ "${CI:-}" = true ] && check "aiosmtpd installed (CI=true)" 1
fi

for f in "$tmp"/*.err; do
	[ -e "$f" ] || continue
	! grep -q Traceback "$f"
	check "no traceback from $(basename "$f" .err)" $?
done

if [ $skips -gt 0 ]; then
	echo "$passes passed, $fails failed, $skips skipped"
else
	echo "$passes passed, $fails failed"
fi
[ $fails -eq 0 ] || exit 1
[ $aiosmtpd_missing -eq 0 ] || exit 77
exit 0
