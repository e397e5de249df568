#!/usr/bin/env python3
"""Delivery end to end: `notify --post` against loopback peers.

usage: deliver.py NOTIFY SOURCE_ROOT

Starts tests/peers/http_peer.py (Slack webhook, Matrix homeserver,
hookshot) and tests/peers/smtp_peer.py (aiosmtpd, under /usr/bin/python3)
on 127.0.0.1, then checks that:
- every channel delivers each example post, and each receiver got exactly
  the payload `--dry-run` prints;
- a post already delivered is not sent again without --force;
- 429 with Retry-After and Matrix M_LIMIT_EXCEEDED are waited for inline;
- 5xx is queued for retry (exit 75, `notify status` shows it), a revoked
  webhook fails at once (exit 69), SMTP 451/550 per recipient;
- kill -9 while a send hangs, then a new run: every delivery completes,
  Matrix without a duplicate event (txnId);
- no secret (webhook path, token) in any output or in the state file.
Every peer is stopped at the end; every wait is bounded.
Exit 77 when aiosmtpd is missing (1 under CI=true).
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import harness
from harness import EPOCH, control, get, records, wait_file

NOTIFY, ROOT = sys.argv[1], sys.argv[2]
PEERS = harness.PEERS
sys.path.insert(0, os.path.join(ROOT, "tests", "render"))
from payloads import split_payloads  # noqa: E402

SLACK_SECRET = "T0TEST/B0TEST/s3cr3tWebhookPath"
TOKEN = "syt_dGVzdA_s3cr3tTokenValue"
results = {"passed": 0, "failed": 0}
PROCS = harness.Procs()
start = PROCS.start


def check(name, ok, detail=""):
    if ok:
        results["passed"] += 1
    else:
        results["failed"] += 1
        print(f"FAIL: {name} {detail}".rstrip())


def run(args, tmp, conf, env_extra=None, timeout=60):
    return harness.run(NOTIFY, args, tmp, conf, env_extra, timeout)


def write_conf(tmp, hport, sport, extra=""):
    with open(os.path.join(tmp, "slack.url"), "w") as f:
        f.write(f"http://127.0.0.1:{hport}/slack/{SLACK_SECRET}\n")
    with open(os.path.join(tmp, "gone.url"), "w") as f:
        f.write(f"http://127.0.0.1:{hport}/slack-gone/{SLACK_SECRET}\n")
    with open(os.path.join(tmp, "hook.url"), "w") as f:
        f.write(f"http://127.0.0.1:{hport}/hookshot/s3cr3tHookId\n")
    with open(os.path.join(tmp, "matrix.token"), "w") as f:
        f.write(TOKEN + "\n")
    for n in ("slack.url", "gone.url", "hook.url", "matrix.token"):
        os.chmod(os.path.join(tmp, n), 0o600)
    conf = os.path.join(tmp, "notify.conf")
    with open(conf, "w") as f:
        f.write(f'''
site: {{ repo = "{ROOT}/examples/site"; }};
state = "{tmp}/state.db";
alerts: {{ templates = "{ROOT}/conf/templates"; }};
filters: {{ skip_without_key_points = false; }};
delivery: {{ inline_retry = "5s"; lease = "2s"; max_age = "1h"; }};
channels = (
  {{ name = "soc"; type = "slack"; webhook_url_file = "slack.url"; }},
  {{ name = "veille"; type = "matrix"; homeserver = "http://127.0.0.1:{hport}";
     room = "#veille:example.org"; access_token_file = "matrix.token";
     autojoin = true; }},
  {{ name = "hook"; type = "hookshot"; webhook_url_file = "hook.url"; }},
  {{ name = "mail"; type = "smtp"; host = "127.0.0.1"; port = {sport};
     starttls = "none"; from = "Veille <veille@example.org>";
     to = [ "a@example.org", "b@example.net" ];
     list_id = "veille.example.org"; }},
  {{ name = "mail2"; type = "smtp"; host = "127.0.0.1"; port = {sport};
     starttls = "none"; from = "Veille <veille@example.org>";
     to = [ "ok@example.org", "gone@example.org", "temp@example.org" ];
     enabled = false; }},
  {{ name = "gone"; type = "slack"; webhook_url_file = "gone.url";
     enabled = false; }}
);
''')
    return conf


def exact_payloads(tmp, conf, post, hrec, srec):
    dry = run(["--post", post, "--dry-run"], tmp, conf)
    items, _ = split_payloads(dry.stdout)
    h0, s0 = len(records(hrec)), len(records(srec))
    sent = run(["--post", post], tmp, conf)
    check(f"{os.path.basename(post)}: sent, exit 0", sent.returncode == 0,
          sent.stdout.decode()[-300:] + sent.stderr.decode()[-300:])
    check("every row reported sent",
          sent.stdout.count(b": sent\n") == len(items),
          sent.stdout.decode()[-400:])
    hnew = [r for r in records(hrec)[h0:] if r.get("status", 200) < 300]
    snew = records(srec)[s0:]
    for name, kind, ctype, rcpt, body in items:
        if kind in ("slack", "hookshot"):
            got = [r["body"].encode() for r in hnew
                   if r["path"].startswith("/" + kind)]
            check(f"{name}: receiver got the dry-run payload",
                  body in got, f"{len(got)} requests")
        elif kind == "matrix":
            got = [r["body"].encode() for r in hnew
                   if "/send/m.room.message/" in r["path"]]
            check("matrix: receiver got the dry-run content", body in got)
        elif kind == "smtp":
            got = [m["data"].encode() for m in snew if rcpt in m["rcpt_tos"]]
            norm = body.replace(b"\r\n", b"\n").rstrip(b"\n")
            check(f"smtp to {rcpt}: receiver got the dry-run message",
                  any(g.replace(b"\r\n", b"\n").rstrip(b"\n") == norm
                      for g in got), f"{len(got)} messages")
    return len(items)


def main():
    if not harness.have_aiosmtpd():
        return harness.missing_peer_exit("python3-aiosmtpd")
    tmp = tempfile.mkdtemp(prefix="notify-deliver-")
    try:
        return scenario(tmp)
    finally:
        PROCS.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def scenario(tmp):
    hrec, srec = os.path.join(tmp, "http.jsonl"), os.path.join(tmp, "smtp.jsonl")
    start([sys.executable, os.path.join(PEERS, "http_peer.py"), "--record",
           hrec, "--port-file", os.path.join(tmp, "http.port"), "--token",
           TOKEN, "--joined", "false", "--max-lifetime", "300"], tmp, "http")
    start(["/usr/bin/python3", os.path.join(PEERS, "smtp_peer.py"),
           "--record", srec, "--port-file", os.path.join(tmp, "smtp.port"),
           "--fail", "gone@example.org=550", "--fail", "temp@example.org=451",
           "--max-lifetime", "300"], tmp, "smtp")
    hport = wait_file(os.path.join(tmp, "http.port"))
    sport = wait_file(os.path.join(tmp, "smtp.port"))
    conf = write_conf(tmp, hport, sport)
    posts = sorted(os.path.join(ROOT, "examples/site/_posts", p)
                   for p in os.listdir(os.path.join(ROOT, "examples/site/_posts")))

    for post in posts:
        exact_payloads(tmp, conf, post, hrec, srec)

    n0 = len(records(hrec))
    again = run(["--post", posts[0]], tmp, conf)
    check("a delivered post is not resent", again.returncode == 0 and
          b"already delivered" in again.stdout and len(records(hrec)) == n0,
          again.stdout.decode())

    control(hport, {"next": 1, "fault": "status", "status": 429,
                    "retry_after": 1, "match": "/slack"})
    t0 = time.monotonic()
    r = run(["--post", posts[1], "--force", "--channel", "soc"], tmp, conf)
    check("429 Retry-After: 1 ends in sent", r.returncode == 0 and
          b"soc: sent" in r.stdout and time.monotonic() - t0 >= 1,
          r.stdout.decode() + r.stderr.decode())

    control(hport, {"next": 1, "fault": "matrix_limit",
                    "retry_after_ms": 500})
    r = run(["--post", posts[1], "--force", "--channel", "veille"], tmp, conf)
    check("M_LIMIT_EXCEEDED retry_after_ms is waited for",
          r.returncode == 0 and b"veille: sent" in r.stdout,
          r.stdout.decode() + r.stderr.decode())

    control(hport, {"next": 50, "fault": "status", "status": 503,
                    "match": "/slack"})
    r = run(["--post", posts[2], "--force", "--channel", "soc"], tmp, conf)
    check("5xx is queued for retry, exit 75", r.returncode == 75 and
          b"queued for retry at" in r.stdout,
          f"{r.returncode} {r.stdout.decode()}")
    st = run(["status", "--json"], tmp, conf)
    rows = json.loads(st.stdout or b"[]")
    check("status --json shows the pending row",
          any(x["state"] == "pending" and x["channel"] == "soc"
              and "503" in x.get("last_error", "") for x in rows),
          st.stdout.decode()[:300])
    control(hport, {}, "/_control/reset")

    r = run(["--post", posts[3], "--channel", "gone"], tmp, conf)
    check("a revoked webhook fails at once, exit 69", r.returncode == 69 and
          b"failed (http 404 no_service)" in r.stdout,
          f"{r.returncode} {r.stdout.decode()}")
    ids = [str(x["id"]) for x in json.loads(
        run(["status", "--json"], tmp, conf).stdout) if x["state"] == "failed"]
    r = run(["retry"] + ids[:1], tmp, conf)
    check("retry queues a failed delivery again",
          r.returncode == 0 and b"1 deliveries queued again" in r.stdout,
          r.stdout.decode())

    r = run(["--post", posts[3], "--channel", "mail2"], tmp, conf)
    out = r.stdout.decode()
    check("smtp: per-recipient fates in one session", r.returncode == 69
          and "to ok@example.org: sent" in out
          and "to gone@example.org: failed (smtp 550" in out
          and "to temp@example.org: queued for retry" in out, out)

    crash(tmp, conf, hport, hrec, posts[4])

    leaks = open(os.path.join(tmp, "all-output"), "rb").read()
    db = b"".join(open(os.path.join(tmp, f), "rb").read()
                  for f in os.listdir(tmp) if f.startswith("state.db"))
    for secret in (SLACK_SECRET, TOKEN, "s3cr3t"):
        check(f"secret {secret[:6]}… not in any output",
              secret.encode() not in leaks)
        check(f"secret {secret[:6]}… not in the state file",
              secret.encode() not in db)
    print(f"{results['passed']} passed, {results['failed']} failed")
    return 1 if results["failed"] else 0


def crash(tmp, conf, hport, hrec, post):
    """kill -9 while the Matrix send hangs; a later run completes it."""
    # joined, so that the hung send is the one that posts the event
    control(hport, {"joined": True}, "/_control/state")
    control(hport, {"next": 1, "fault": "hang", "seconds": 20,
                    "match": "/_matrix/client/v3/rooms"})
    env = dict(os.environ, SOURCE_DATE_EPOCH=EPOCH)
    p = subprocess.Popen([NOTIFY, "-c", conf, "--post", post, "--force",
                          "--channel", "veille", "--channel", "soc"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         env=env)
    end = time.monotonic() + 10
    while time.monotonic() < end and not any(
            "/send/m.room.message/" in r["path"] for r in records(hrec)[-3:]):
        time.sleep(0.05)
    time.sleep(0.3)
    os.kill(p.pid, signal.SIGKILL)
    p.wait(timeout=5)
    time.sleep(2.5)  # the lease of the row in flight runs out
    r = run(["--post", post, "--channel", "veille", "--channel", "soc"],
            tmp, conf)
    rows = json.loads(run(["status", "--json"], tmp, conf).stdout)
    mine = [x for x in rows if x["post"] == os.path.basename(post)[:-3]
            and x["channel"] in ("veille", "soc")]
    check("after kill -9 every delivery completes",
          mine and all(x["state"] == "sent" for x in mine),
          r.stdout.decode() + json.dumps(mine)[:400])
    sends = [x for x in records(hrec) if "/send/m.room.message/" in x["path"]]
    txns = {}
    for s in sends:
        txns.setdefault(s.get("txn_id"), []).append(s)
    events = get(hport, "/_control/events")
    per_txn = {}
    for e in events:
        per_txn[e.get("txn_id")] = per_txn.get(e.get("txn_id"), 0) + 1
    check("Matrix: no txnId posted twice",
          all(v == 1 for v in per_txn.values()), json.dumps(per_txn)[:300])
    check("Matrix: the retried txnId was a retransmission",
          any(len(v) > 1 and any(x.get("duplicate_txn") for x in v)
              for v in txns.values()), json.dumps(
                  {k: [(x.get("status"), x.get("duplicate_txn"),
                        x.get("fault")) for x in v]
                   for k, v in txns.items() if len(v) > 1})[:600])


if __name__ == "__main__":
    sys.exit(main())
