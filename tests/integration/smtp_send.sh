#!/bin/sh
# smtp_send() against a real SMTP server on loopback (tests/peers/
# smtp_peer.py, on aiosmtpd): plain, STARTTLS verified against a throw-away
# self-signed certificate (by name and by IP), bad certificates, AUTH over
# STARTTLS, wrong password, AUTH refused in clear, 451/550 recipients, 421,
# server down, STARTTLS required but not offered, a silent server, bad data.
# usage: smtp_send.sh DRIVER SOURCE_ROOT     (DRIVER: smtp_send_main)
# Exit 0 all passed, 1 a failure, 77 python3-aiosmtpd or openssl missing
# (1 under CI=true).  Every wait is bounded; every server is stopped.
# SMTP_TEST_PYTHON overrides /usr/bin/python3 (the one with aiosmtpd).
# The single-quoted Python expressions below are meant literally.
# shellcheck disable=SC2016
set -u
drv=$1 root=$2
case $drv in /*) ;; *) drv=$PWD/$drv ;; esac
peer=$root/tests/peers/smtp_peer.py
PY=${SMTP_TEST_PYTHON:-/usr/bin/python3} # Debian: where python3-aiosmtpd is
passes=0 fails=0
pids=""

missing() {
	if [ "${CI:-}" = true ]; then
		echo "FAIL: $1 missing (CI=true)"
		echo "0 passed, 1 failed"
		exit 1
	fi
	echo "SKIP: $1 missing"
	exit 77
}
{ [ -x "$PY" ] && "$PY" -c 'import aiosmtpd' 2>/dev/null; } ||
	missing python3-aiosmtpd
command -v openssl >/dev/null 2>&1 || missing openssl
[ -f "$peer" ] || missing "$peer"
peer_cmd=$peer

tmp=$(mktemp -d) || exit 1
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	for p in $pids; do kill -TERM "$p" 2>/dev/null; done
	for p in $pids; do
		i=0
		while kill -0 "$p" 2>/dev/null && [ $i -lt 30 ]; do
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
		for f in "$tmp/$cname.out" "$tmp/$cname.err"; do
			[ -s "$f" ] && sed 's/^/    /' "$f"
		done
	fi
}

# wait_port FILE: wait <= 10 s for a port file; sets $port
wait_port() {
	port=""
	i=0
	while [ $i -lt 100 ]; do
		if [ -s "$1" ]; then
			port=$(cat "$1")
			return 0
		fi
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# start_peer NAME ARGS...: smtp_peer.py recording to $tmp/NAME.rec and
# NAME.ev; sets $port
start_peer() {
	name=$1
	shift
	# shellcheck disable=SC2086 # peer_cmd: a script and its arguments
	"$PY" $peer_cmd --record "$tmp/$name.rec" --events "$tmp/$name.ev" \
		--port-file "$tmp/$name.port" --max-lifetime 300 "$@" \
		>"$tmp/$name.peer.out" 2>"$tmp/$name.peer.err" &
	pids="$pids $!"
	wait_port "$tmp/$name.port" || {
		echo "FAIL: peer $name did not start"
		sed 's/^/    /' "$tmp/$name.peer.err"
		fails=$((fails + 1))
		return 1
	}
}

# run CASE ARGS...: the driver, at most 10 s; output in $tmp/CASE.out
run() {
	cname=$1
	shift
	timeout 10 "$drv" "$@" >"$tmp/$cname.out" 2>"$tmp/$cname.err"
	rc=$?
	# 0 sent, 1 a failure result; anything else is a crash, a sanitizer
	# report or the 10 s bound
	if [ $rc -gt 1 ]; then
		echo "FAIL: $cname: driver exited $rc"
		sed 's/^/    /' "$tmp/$cname.err"
		fails=$((fails + 1))
	fi
	return $rc
}

has() { # CASE REGEX: the driver's stdout has a matching line
	grep -qE "$2" "$tmp/$1.out"
}

rec() { # NAME PYEXPR: 0 when PYEXPR holds; r = NAME's records, e = events
	"$PY" - "$tmp/$1.rec" "$tmp/$1.ev" "$2" "$tmp" <<'PY'
import json, os, sys
def load(p):
    if not os.path.exists(p):
        return []
    return [json.loads(l) for l in open(p, encoding="utf-8") if l.strip()]
def rd(name):
    return open(os.path.join(sys.argv[4], name), "rb").read().decode()
r, e = load(sys.argv[1]), load(sys.argv[2])
sys.exit(0 if eval("(%s)" % sys.argv[3], {"r": r, "e": e, "rd": rd}) else 1)
PY
}

# certificates: good (127.0.0.1 + localhost), another CA, DNS name only,
# another name
sh "$root/tests/peers/make_cert.sh" "$tmp/cert" >/dev/null || exit 1
sh "$root/tests/peers/make_cert.sh" "$tmp/other" >/dev/null || exit 1
mkcert() { # DIR SAN
	mkdir -p "$1"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=test \
		-addext "subjectAltName=$2" -keyout "$1/key.pem" \
		-out "$1/cert.pem" >/dev/null 2>&1
}
mkcert "$tmp/dnsonly" DNS:localhost || exit 1
mkcert "$tmp/elsewhere" DNS:mail.example.org || exit 1
cert=$tmp/cert/cert.pem
tls() { echo "--tls-cert $tmp/$1/cert.pem --tls-key $tmp/$1/key.pem"; }
printf 's3cret-Pa55\n' >"$tmp/pw"
printf 'wrong-Pa55word\n' >"$tmp/badpw"
from=bounce+v1@example.org

# -- plain: two messages over one session, bytes exact ---------------------
start_peer plain && p_plain=$port
run plain --host 127.0.0.1 --port "$p_plain" --from "$from" \
	--dump "$tmp/plain.msg" \
	a@example.org b@example.org
check "plain: result OK" $?
has plain '^item=0 rcpt=a@example.org status=250 fate=sent text=2\.0\.0 '
check "plain: item 0 sent, 250 with its enhanced code" $?
has plain '^item=1 rcpt=b@example.org status=250 fate=sent'
check "plain: item 1 sent" $?
rec plain 'len(r) == 2 and r[0]["conn"] == r[1]["conn"]'
check "plain: two messages over one connection" $?
rec plain '[x["rcpt_tos"] for x in r] == [["a@example.org"], ["b@example.org"]]'
check "plain: one recipient per message" $?
rec plain 'all(x["mail_from"] == "bounce+v1@example.org" for x in r)'
check "plain: envelope sender is mail_from" $?
rec plain 'r[0]["data"] == rd("plain.msg")'
check "plain: data arrives byte for byte (dot lines intact)" $?
rec plain 'not any("return-path" in x["data"].lower() for x in r)'
check "plain: no Return-Path" $?
rec plain 'not r[0]["tls"] and r[0]["auth_user"] is None'
check "plain: no TLS, no AUTH" $?

# -- STARTTLS not offered ---------------------------------------------------
run opp-plain --host 127.0.0.1 --port "$p_plain" --starttls opportunistic \
	--from "$from" c@example.org
has opp-plain '^result=OK' && has opp-plain 'item=0 .*status=250'
check "opportunistic, not offered: sent in clear" $?
run req-plain --host 127.0.0.1 --port "$p_plain" --starttls required \
	--from "$from" d@example.org
has req-plain '^result=EPERM err=.*STARTTLS required but not offered'
check "required, not offered: EPERM" $?
has req-plain 'item=0 .*status=0 fate=temp'
check "required, not offered: item not reached" $?
rec plain 'not any(x["rcpt_tos"] == ["d@example.org"] for x in r)'
check "required, not offered: nothing sent" $?

# -- STARTTLS, verified -----------------------------------------------------
# shellcheck disable=SC2046
start_peer tls $(tls cert) --require-starttls && p_tls=$port
run tls-name --host localhost --port "$p_tls" --starttls required \
	--ca "$cert" --from "$from" e@example.org
has tls-name '^result=OK' && has tls-name 'item=0 .*status=250 fate=sent'
check "STARTTLS required, host name verified: sent" $?
run tls-ip --host 127.0.0.1 --port "$p_tls" --starttls required \
	--ca "$cert" --from "$from" f@example.org
has tls-ip '^result=OK' && has tls-ip 'item=0 .*status=250 fate=sent'
check "STARTTLS required, IP address verified: sent" $?
run tls-opp --host localhost --port "$p_tls" --starttls opportunistic \
	--ca "$cert" --from "$from" g@example.org
has tls-opp '^result=OK'
check "STARTTLS opportunistic, offered: sent" $?
rec tls 'len(r) == 3 and all(x["tls"] for x in r)'
check "STARTTLS: all three went over TLS" $?
# TLS 1.3 session tickets landing before EHLO is flushed used to stall
# libESMTP for a whole timeout, a few times in a hundred on loopback
stalls=0
for i in 1 2 3 4 5 6 7 8 9 10; do
	run tickets --host localhost --port "$p_tls" --starttls required \
		--ca "$cert" --timeout 3 --from "$from" t$i@example.org ||
		stalls=$((stalls + 1))
done
check "STARTTLS: ten sessions in a row, none stalls" $stalls
rec tls 'len(r) == 13'
check "STARTTLS: ten more messages" $?
run tls-ca --host localhost --port "$p_tls" --starttls required \
	--ca "$tmp/other/cert.pem" --from "$from" h@example.org
has tls-ca '^result=ETEMP err=.*TLS handshake failed.*self-signed'
check "STARTTLS, certificate from another CA: ETEMP" $?
run tls-sys --host localhost --port "$p_tls" --starttls opportunistic \
	--from "$from" i@example.org
has tls-sys '^result=ETEMP err=.*TLS'
check "STARTTLS, system CAs do not know the test CA: ETEMP" $?
run tls-noca --host localhost --port "$p_tls" --starttls required \
	--ca "$tmp/nonexistent.pem" --from "$from" i@example.org
has tls-noca '^result=ECONFIG err=.*nonexistent.pem'
check "STARTTLS, unreadable CA file: ECONFIG" $?
rec tls 'len(r) == 13'
check "STARTTLS: nothing sent after a failed check" $?

# shellcheck disable=SC2046
start_peer dnsonly $(tls dnsonly) --require-starttls && p_dns=$port
run tls-noip --host 127.0.0.1 --port "$p_dns" --starttls required \
	--ca "$tmp/dnsonly/cert.pem" --from "$from" j@example.org
has tls-noip '^result=ETEMP err=.*(IP address mismatch|handshake)'
check "STARTTLS, IP not in the certificate: ETEMP" $?
# shellcheck disable=SC2046
start_peer elsewhere $(tls elsewhere) --require-starttls && p_else=$port
run tls-wrongname --host localhost --port "$p_else" --starttls required \
	--ca "$tmp/elsewhere/cert.pem" --from "$from" k@example.org
has tls-wrongname '^result=ETEMP err=.*(hostname mismatch|handshake)'
check "STARTTLS, certificate for another name: ETEMP" $?
rec dnsonly 'r == []' && rec elsewhere 'r == []'
check "STARTTLS, bad names: nothing sent" $?

# -- AUTH ---------------------------------------------------------------------
# aiosmtpd offers "AUTH LOGIN PLAIN" and libESMTP takes the first it can
# do; this peer offers PLAIN only, as Postfix and Dovecot list it first
cat >"$tmp/plain_only_peer.py" <<'PY'
import sys
sys.path.insert(0, sys.argv.pop(1))
import smtp_peer
base = smtp_peer.smtp_kwargs
def smtp_kwargs(args, recorder):
    kw = base(args, recorder)
    kw["auth_exclude_mechanism"] = ["LOGIN"]
    return kw
smtp_peer.smtp_kwargs = smtp_kwargs
sys.exit(smtp_peer.main(sys.argv[1:]))
PY
peer_cmd="$tmp/plain_only_peer.py $(dirname "$peer")"
# shellcheck disable=SC2046
start_peer auth $(tls cert) --require-starttls --auth alice:s3cret-Pa55 &&
	p_auth=$port
peer_cmd=$peer
run auth --host localhost --port "$p_auth" --starttls required \
	--ca "$cert" --user alice --password-file "$tmp/pw" --from "$from" \
	l@example.org
has auth '^result=OK' && has auth 'item=0 .*status=250 fate=sent'
check "AUTH PLAIN over STARTTLS: sent" $?
rec auth 'len(r) == 1 and r[0]["auth_user"] == "alice" and r[0]["tls"]'
check "AUTH PLAIN over STARTTLS: server saw alice, over TLS" $?
rec auth '[(x["mechanism"], x["ok"]) for x in e if x["event"] == "auth"]
	== [("PLAIN", True)]'
check "AUTH PLAIN over STARTTLS: one AUTH PLAIN, accepted" $?
run badpw --host localhost --port "$p_auth" --starttls required \
	--ca "$cert" --user alice --password-file "$tmp/badpw" --from "$from" \
	m@example.org
has badpw '^result=EPERM err=.*AUTH as alice rejected: 535'
check "wrong password: EPERM, 535" $?
has badpw 'item=0 .*status=0 fate=temp'
check "wrong password: item not sent, temp (fix the config, retry)" $?
! grep -q -e 'wrong-Pa55word' -e 's3cret-Pa55' "$tmp/badpw.out" \
	"$tmp/badpw.err" "$tmp/auth.out" "$tmp/auth.err"
check "wrong password: no password on stdout or stderr" $?
rec auth 'len(r) == 1'
check "wrong password: nothing sent" $?
# shellcheck disable=SC2046
start_peer authopt $(tls cert) --require-starttls --auth alice:s3cret-Pa55 \
	--auth-optional && p_opt=$port
run badpw-opt --host localhost --port "$p_opt" --starttls required \
	--ca "$cert" --user alice --password-file "$tmp/badpw" --from "$from" \
	n@example.org
has badpw-opt '^result=EPERM err=.*rejected'
check "wrong password, AUTH optional: EPERM" $?
rec authopt 'r == []'
check "wrong password, AUTH optional: nothing sent unauthenticated" $?
rec authopt '[x["ok"] for x in e if x["event"] == "auth"] == [False]'
check "wrong password: one attempt, not again with the next mechanism" $?
run login --host localhost --port "$p_opt" --starttls required \
	--ca "$cert" --user alice --password-file "$tmp/pw" --from "$from" \
	o@example.org
has login '^result=OK' && rec authopt '[x["rcpt_tos"] for x in r] ==
	[["o@example.org"]] and r[0]["auth_user"] == "alice"'
check "AUTH LOGIN (first offered by aiosmtpd) over STARTTLS: sent" $?
run clear --host 192.0.2.1 --port 587 --starttls opportunistic \
	--user alice --password-file "$tmp/pw" --from "$from" p@example.org
has clear '^result=EPERM err=.*AUTH only goes over TLS'
check "AUTH to a remote host without required TLS: EPERM, no connect" $?
# the peer offers AUTH only after STARTTLS; in clear to loopback is allowed
run noauth --host 127.0.0.1 --port "$p_plain" --starttls none \
	--user alice --password-file "$tmp/pw" --from "$from" q@example.org
has noauth '^result=EPERM err=.*AUTH not offered'
check "credentials but no AUTH offered: EPERM" $?
rec plain 'len(r) == 3'
check "credentials but no AUTH offered: nothing sent unauthenticated" $?

# -- recipients failing ---------------------------------------------------
start_peer fail --fail temp@example.org=451 --fail gone@example.org=550 &&
	p_fail=$port
run fail --host 127.0.0.1 --port "$p_fail" --from "$from" ok@example.org \
	temp@example.org gone@example.org ok2@example.org
check "451/550 recipients: the session is OK" $?
has fail '^item=0 rcpt=ok@example.org status=250 fate=sent'
check "451/550: first recipient sent" $?
has fail '^item=1 rcpt=temp@example.org status=451 fate=temp text=4\.3\.0 '
check "451/550: 451 is temp, enhanced code kept" $?
has fail '^item=2 rcpt=gone@example.org status=550 fate=perm text=5\.1\.1 No '
check "451/550: 550 is perm, with its text" $?
has fail '^item=3 rcpt=ok2@example.org status=250 fate=sent'
check "451/550: recipients after the failures are sent" $?
rec fail '[x["rcpt_tos"] for x in r] ==
	[["ok@example.org"], ["ok2@example.org"]]
	and r[0]["conn"] == r[1]["conn"]'
check "451/550: two messages delivered, one session" $?

# -- 421 closes the session ---------------------------------------------
start_peer busy --fail busy@example.org=421 && p_busy=$port
run busy --host 127.0.0.1 --port "$p_busy" --from "$from" first@example.org \
	busy@example.org after@example.org
has busy '^result=ETEMP err=.*421'
check "421: ETEMP" $?
has busy '^item=0 rcpt=first@example.org status=250 fate=sent'
check "421: the message accepted before stays sent" $?
has busy '^item=1 .*status=0 fate=temp' &&
	has busy '^item=2 .*status=0 fate=temp'
check "421: the others are temp" $?
rec busy '[x["rcpt_tos"] for x in r] == [["first@example.org"]]'
check "421: only the first was delivered" $?

# -- no server, silent server, bad data ---------------------------------
free_port=$("$PY" -c 'import socket; s = socket.socket()
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
run down --host 127.0.0.1 --port "$free_port" --from "$from" r@example.org
has down '^result=ETEMP err=.*cannot connect: Connection refused'
check "server down: ETEMP" $?
has down '^item=0 .*status=0 fate=temp'
check "server down: item temp" $?

"$PY" -c 'import os, socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
open(sys.argv[1] + ".tmp", "w").write("%d\n" % s.getsockname()[1])
os.replace(sys.argv[1] + ".tmp", sys.argv[1]); time.sleep(120)' \
	"$tmp/silent.port" &
pids="$pids $!"
if wait_port "$tmp/silent.port"; then
	t0=$(date +%s)
	run silent --host 127.0.0.1 --port "$port" --timeout 1 --from "$from" \
		s@example.org
	t1=$(date +%s)
	has silent '^result=ETEMP err=.*(timed out|lost)'
	check "silent server: ETEMP" $?
	[ $((t1 - t0)) -le 5 ]
	check "silent server: given up after the 1 s timeout" $?
else
	check "silent server started" 1
fi

printf 'Subject: x\r\n\r\nline\n.\r\nsmuggled\r\n' >"$tmp/barelf"
run barelf --host 127.0.0.1 --port "$p_plain" --from "$from" \
	--data "$tmp/barelf" \
	t@example.org
has barelf '^result=EINVAL err=.*bare LF at byte 18'
check "bare LF in data: EINVAL" $?
printf 'Subject: x\r\n\r\nno final CRLF' >"$tmp/nocrlf"
run nocrlf --host 127.0.0.1 --port "$p_plain" --from "$from" \
	--data "$tmp/nocrlf" \
	t@example.org
has nocrlf '^result=EINVAL err=.*no CRLF at the end'
check "data without a final CRLF: EINVAL" $?
run badrcpt --host 127.0.0.1 --port "$p_plain" --from "$from" 'x@example.org>
RSET'
has badrcpt '^result=EINVAL err=.*bad recipient'
check "recipient with a line break: EINVAL" $?
rec plain 'len(r) == 3'
check "invalid input: nothing sent" $?

# the driver prints nothing on stderr: no log line, no sanitizer report
quiet=0
for f in "$tmp"/*.err; do
	case $f in *.peer.err) continue ;; esac
	if [ -s "$f" ]; then
		echo "stderr of $(basename "$f" .err):"
		sed 's/^/    /' "$f"
		quiet=1
	fi
done
check "nothing on the driver's stderr" $quiet

echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
