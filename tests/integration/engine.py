#!/usr/bin/env python3
"""The delivery engine against loopback peers: one check per defect of
issue 9 ("What was observed" 1-4, 6 and 8) and its lane test.

usage: engine.py NOTIFY SOURCE_ROOT [CHECK...]   (CHECK: obs1 obs2 obs3
                                                  obs4 obs4m obs6a obs6b obs8
                                                  stop)

Each check runs in a folder of its own, with its own state file and its
own peers (tests/peers/http_peer.py, tests/peers/smtp_peer.py), which it
stops before the next one starts. It prints one line, `ok NAME: figures`
or `not ok NAME: figures`, with what it measured:
- obs1: a state file recreated, then a new alert to the same Matrix room
  with the same token: it must be a new event (no txnId reused).
- obs2: a rerun of `--post` for rows waiting (503, SMTP 450), failed (401,
  SMTP 550) or held by a `kill -9`ed run prints one line per row not sent
  (waiting: when and why; failed: why) and exits 75 / 69; `retry --now`
  takes waiting rows.
- obs3: `--post B` sends and reports only B's rows, `--channel X` sends
  only on X, while another post's rows are due (a 429 with Retry-After:
  1 makes them wait, then due a second later).
- obs4: 30 posts to Slack (paced 1/s), Matrix (the peer rate-limits:
  burst 10, then 5/s), hookshot and email: hookshot and email done within
  2 s of the start, Slack and Matrix within their receiver's limit + 10 %
  from their first message (29 s; 20 / 5 = 4 s), each post
  once per channel, fewer than 12 answers 429. Then the Matrix lane
  alone, the same 30 posts under the same limit: within the limit + 10 %,
  fewer than 12 answers 429 (a lane paused by retry_after_ms, not every
  limited row retried each round).
- obs6a: `--post` of 40 posts to Slack with a 2 s lease; once it has
  sent for 4 s, other runs of the same posts, one after the other until
  it ends: each post arrives once.
- obs6b: an SMTP session that outlasts the lease (every reply 1 s late):
  a second `--post` meanwhile sends nothing again.
- obs8: the EHLO name is a dotted one (the domain of `from` on a host
  whose name has no dot; `helo_name` sets it), and the queue id of the
  server's 250 is kept as the delivery's remote id.
- stop: SIGTERM while an SMTP session sends to 6 slow recipients ends
  the pass after the message in flight; the next pass sends the rest,
  each recipient once.
Exit 0 when every check holds, 1 otherwise; 77 when aiosmtpd is missing
(1 under CI=true). Every wait is bounded.
"""
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import time

import harness
from harness import control, get, records

NOTIFY, ROOT = sys.argv[1], sys.argv[2]
ONLY = sys.argv[3:]
TOKEN = "syt_ZW5naW5l_s3cr3tTokenValue"
POST_RE = re.compile(r"Engine post (\d\d)")
N_POSTS = 40
results = {"passed": 0, "failed": 0}


def report(name, ok, figures):
    results["passed" if ok else "failed"] += 1
    print(f"{'ok' if ok else 'not ok'} {name}: {figures}", flush=True)


# ------------------------------------------------------------ the site

POST = """---
title: 'Engine post {n:02d}: a test alert'
date: 2026-10-01
tags:
- veille-cyber
---
**Alerte de test {n:02d}**

Résumé du post engine-{n:02d}, pour le test des voies de livraison.

**Points clés** :

1. Premier point du post engine-{n:02d}.
2. Second point.

[Source](https://example.net/engine-{n:02d}.html)
"""


def make_site(tmp):
    """A Jekyll site of N_POSTS posts; returns their paths, 1-based."""
    site = os.path.join(tmp, "site")
    os.makedirs(os.path.join(site, "_posts"))
    with open(os.path.join(site, "_config.yml"), "w") as f:
        f.write('url: "https://veille.example.org"\nbaseurl: ""\n'
                'timezone: UTC\nfuture: true\npermalink: pretty\n')
    paths = [None]
    for n in range(1, N_POSTS + 1):
        p = os.path.join(site, "_posts", f"2026-10-01-engine-{n:02d}.md")
        with open(p, "w") as f:
            f.write(POST.format(n=n))
        paths.append(p)
    return site, paths


def post_id(n):
    return f"2026-10-01-engine-{n:02d}"


def ids_in(text):
    """The post numbers a message names (one, for a non-digest)."""
    return sorted({int(m) for m in POST_RE.findall(text or "")})


# ------------------------------------------------------------ one check


class Env:
    """One check's folder, peers, secrets and configuration."""

    def __init__(self, name, site, http_args=(), smtp_args=None):
        self.dir = os.path.join(TMP, name)
        os.makedirs(self.dir)
        self.site = site
        self.procs = harness.Procs()
        self.sport = None
        try:
            self.hport = self.procs.http_peer(self.dir, "http", "--token",
                                              TOKEN, *http_args)
            if smtp_args is not None:
                self.sport = self.procs.smtp_peer(self.dir, "smtp",
                                                  *smtp_args)
        except BaseException:
            self.procs.stop()
            raise
        self.hrec = os.path.join(self.dir, "http.jsonl")
        self.srec = os.path.join(self.dir, "smtp.jsonl")
        self.sev = os.path.join(self.dir, "smtp.events.jsonl")
        base = f"http://127.0.0.1:{self.hport}"
        harness.write_secret(os.path.join(self.dir, "slack.url"),
                             base + "/slack/T0ENG/B0ENG/s3cr3tWebhookPath")
        harness.write_secret(os.path.join(self.dir, "hook.url"),
                             base + "/hookshot/s3cr3tHookId")
        harness.write_secret(os.path.join(self.dir, "matrix.token"), TOKEN)
        self.conf = None

    def close(self):
        self.procs.stop()

    def write_conf(self, channels, delivery, name="notify"):
        """Writes NAME.conf, whose state file is NAME.db, and makes it
        the configuration of the runs that follow."""
        self.conf = os.path.join(self.dir, name + ".conf")
        with open(self.conf, "w") as f:
            f.write(f'''
site: {{ repo = "{self.site}"; }};
state = "{self.dir}/{name}.db";
alerts: {{ templates = "{ROOT}/conf/templates"; }};
filters: {{ skip_without_key_points = false; }};
delivery: {{ {delivery} }};
channels = (
{",".join(channels)}
);
''')

    def slack(self, name="soc"):
        return (f'{{ name = "{name}"; type = "slack"; '
                f'webhook_url_file = "slack.url"; }}')

    def hook(self, name="hook"):
        return (f'{{ name = "{name}"; type = "hookshot"; '
                f'webhook_url_file = "hook.url"; }}')

    def matrix(self, name="veille"):
        return (f'{{ name = "{name}"; type = "matrix"; '
                f'homeserver = "http://127.0.0.1:{self.hport}"; '
                f'room = "#veille:example.org"; '
                f'access_token_file = "matrix.token"; autojoin = true; }}')

    def mail(self, to, name="mail"):
        rcpts = ", ".join(f'"{a}"' for a in to)
        return (f'{{ name = "{name}"; type = "smtp"; host = "127.0.0.1"; '
                f'port = {self.sport}; starttls = "none"; '
                f'from = "Veille <veille@example.org>"; to = [ {rcpts} ]; }}')

    def run(self, args, timeout=60):
        return harness.run(NOTIFY, args, self.dir, self.conf,
                           timeout=timeout)

    def popen(self, args, name):
        env = dict(os.environ, SOURCE_DATE_EPOCH=harness.EPOCH)
        return self.procs.start([NOTIFY, "-c", self.conf] + args, self.dir,
                                name, env=env)

    def http(self, prefix, ok_only=True):
        """Recorded requests to paths under 'prefix' (answered 2xx)."""
        return [r for r in records(self.hrec)
                if r["path"].startswith(prefix)
                and (not ok_only or (r["status"] or 0) // 100 == 2)]

    def status(self):
        p = self.run(["status", "--json"])
        return json.loads(p.stdout or b"[]")

    def wait_due(self, n, secs=10):
        """Until every waiting row of post n is due (its next_at has
        come), as the store sees it (whole seconds)."""
        end = time.monotonic() + secs
        while time.monotonic() < end:
            rows = [x for x in self.status() if x["post"] == post_id(n)
                    and x["state"] == "pending"]
            if rows and all(x["next_at"] < int(time.time()) for x in rows):
                return True
            time.sleep(0.2)
        return False


def text(p):
    return (p.stdout + p.stderr).decode(errors="replace")


def lines_for(p, n, what):
    """The lines of a run's standard output (stderr has the log) naming
    post n and 'what' (a channel name or a recipient)."""
    return [line for line in p.stdout.decode(errors="replace").splitlines()
            if post_id(n) in line and what in line]


def one_line(p, n, what, needles, when):
    """(ok, figure): exactly one line for this row, holding every needle
    (the reason) and, for a waiting row, a time."""
    got = lines_for(p, n, what)
    ok = (len(got) == 1 and all(s in got[0] for s in needles)
          and (not when or re.search(r"\d{1,2}:\d\d", got[0]) is not None))
    shown = got[0] if len(got) == 1 else f"{len(got)} lines"
    return ok, f"exit {p.returncode}, {shown!r}"


def counts(ids_lists):
    """post number -> how many messages named it."""
    c = {}
    for ids in ids_lists:
        for i in ids:
            c[i] = c.get(i, 0) + 1
    return c


# ------------------------------------------------------------ obs 1


def obs1(site, posts):
    """A new state file must not reuse a txnId the homeserver knows."""
    env = Env("obs1", site)
    try:
        env.write_conf([env.matrix()], 'lease = "10s";')
        first = env.run(["--post", posts[1]])
        for f in os.listdir(env.dir):
            if f.startswith("notify.db"):
                os.remove(os.path.join(env.dir, f))
        second = env.run(["--post", posts[2]])
        sends = env.http("/_matrix/client/v3/rooms/")
        events = get(env.hport, "/_control/events")
        named = [ids_in(e["content"].get("body")) for e in events]
        ok = (first.returncode == 0 and second.returncode == 0
              and len(events) == 2 and [1] in named and [2] in named)
        txns = [(s.get("txn_id"), "old event" if s.get("duplicate_txn")
                 else "new event") for s in sends]
        report("obs1 matrix: a new state file, same room and token",
               ok, f"{len(events)} events for 2 posts; sends {txns}; "
               f"exits {first.returncode}, {second.returncode}; "
               f"second run said {text(second).strip()[:120]!r}")
        control(env.hport, {}, "/_control/reset")
        obs1_shared_token(env, posts)
    finally:
        env.close()


def obs1_shared_token(env, posts):
    """Two configurations, two state files, one bot token and room."""
    runs = []
    for name, n in (("one", 3), ("two", 4)):
        env.write_conf([env.matrix()], 'lease = "10s";', name)
        runs.append(env.run(["--post", posts[n]]))
    events = get(env.hport, "/_control/events")
    named = [ids_in(e["content"].get("body")) for e in events]
    report("obs1 matrix: two state files sharing a token",
           len(events) == 2 and [3] in named and [4] in named
           and all(r.returncode == 0 for r in runs),
           f"{len(events)} events for 2 posts, txnIds "
           f"{[e['txn_id'] for e in events]}; exits "
           f"{[r.returncode for r in runs]}")


# ------------------------------------------------------------ obs 2


def obs2(site, posts):
    env = Env("obs2", site, smtp_args=["--fail", "temp@example.org=450",
                                       "--fail", "gone@example.org=550"])
    try:
        env.write_conf([env.slack(), env.matrix(), env.hook(),
                        env.mail(["ok@example.org", "temp@example.org"],
                                 "mail450"),
                        env.mail(["gone@example.org"], "mail550")],
                       'inline_retry = "0s"; lease = "60s"; '
                       'max_age = "1h";')
        obs2_waiting(env, posts)
        obs2_failed(env, posts)
        obs2_retry_now(env, posts)
        obs2_killed(env, posts)
    finally:
        env.close()


def obs2_waiting(env, posts):
    control(env.hport, {"next": 1000, "fault": "status", "status": 503,
                        "match": "/slack"})
    first = env.run(["--post", posts[1], "--channel", "soc"])
    again = env.run(["--post", posts[1], "--channel", "soc"])
    ok, fig = one_line(again, 1, "soc", ["503"], True)
    report("obs2 rerun, a row waiting after 503", ok and first.returncode
           == 75 and again.returncode == 75,
           f"first run exit {first.returncode}; rerun {fig}")
    first = env.run(["--post", posts[2], "--channel", "mail450"])
    again = env.run(["--post", posts[2], "--channel", "mail450"])
    ok, fig = one_line(again, 2, "temp@example.org", ["450"], True)
    report("obs2 rerun, a recipient waiting after 450", ok
           and first.returncode == 75 and again.returncode == 75,
           f"first run exit {first.returncode}; rerun {fig}")


def obs2_failed(env, posts):
    control(env.hport, {"token": "another-token"}, "/_control/state")
    first = env.run(["--post", posts[3], "--channel", "veille"])
    again = env.run(["--post", posts[3], "--channel", "veille"])
    control(env.hport, {"token": TOKEN}, "/_control/state")
    ok, fig = one_line(again, 3, "veille", ["401"], False)
    report("obs2 rerun, a row failed for good after 401", ok
           and first.returncode == 69 and again.returncode == 69,
           f"first run exit {first.returncode}; rerun {fig}")
    first = env.run(["--post", posts[4], "--channel", "mail550"])
    again = env.run(["--post", posts[4], "--channel", "mail550"])
    ok, fig = one_line(again, 4, "gone@example.org", ["550"], False)
    report("obs2 rerun, a recipient failed for good after 550", ok
           and first.returncode == 69 and again.returncode == 69,
           f"first run exit {first.returncode}; rerun {fig}")


def obs2_retry_now(env, posts):
    """The 503 row of obs2_waiting waits ~30 s: `retry --now` takes it."""
    control(env.hport, {}, "/_control/reset")
    before = len(env.http("/slack/"))
    retry = env.run(["retry", "--now"])
    again = env.run(["--post", posts[1], "--channel", "soc"])
    got = [ids_in(r["body"]) for r in env.http("/slack/")[before:]]
    report("obs2 retry --now takes a waiting row", retry.returncode == 0
           and got == [[1]] and again.returncode == 0,
           f"retry --now exit {retry.returncode} "
           f"{text(retry).strip()[:80]!r}; then --post exit "
           f"{again.returncode}, Slack got {len(got)} message(s) for it")


def obs2_killed(env, posts):
    """kill -9 while the receiver hangs: the row stays claimed (lease
    60 s); a rerun must say so and exit 75."""
    control(env.hport, {"next": 1, "fault": "hang", "seconds": 30,
                        "match": "/hookshot"})
    p = env.popen(["--post", posts[5], "--channel", "hook"], "killed")
    end = time.monotonic() + 10
    while time.monotonic() < end and not env.http("/hookshot", False):
        time.sleep(0.05)
    seen = bool(env.http("/hookshot", False))
    os.kill(p.pid, signal.SIGKILL)
    p.wait(timeout=5)
    again = env.run(["--post", posts[5], "--channel", "hook"])
    ok, fig = one_line(again, 5, "hook", [], True)
    report("obs2 rerun, a row left claimed by kill -9", ok and seen
           and again.returncode == 75,
           f"killed mid-send: {seen}; rerun {fig}")


# ------------------------------------------------------------ obs 3


def obs3(site, posts):
    env = Env("obs3", site)
    try:
        env.write_conf([env.slack(), env.hook()],
                       'inline_retry = "0s"; lease = "60s";')
        obs3_own_posts(env, posts)
        obs3_own_channels(env, posts)
    finally:
        env.close()


def obs3_own_posts(env, posts):
    control(env.hport, {"next": 1, "fault": "status", "status": 429,
                        "retry_after": 1, "match": "/slack"})
    first = env.run(["--post", posts[1], "--channel", "soc"])
    due = env.wait_due(1)
    s0, h0 = len(env.http("/slack/")), len(env.http("/hookshot/"))
    b = env.run(["--post", posts[2]])
    slack = counts(ids_in(r["body"]) for r in env.http("/slack/")[s0:])
    hook = counts(ids_in(r["body"]) for r in env.http("/hookshot/")[h0:])
    a_lines = lines_for(b, 1, "")
    ok = (first.returncode == 75 and due and slack == {2: 1}
          and hook == {2: 1} and not a_lines and b.returncode == 0)
    report("obs3 --post B with A's row due sends only B", ok,
           f"A waiting and due: {due}; B's run sent Slack {slack}, "
           f"hookshot {hook} (post: count); lines about A: {len(a_lines)}; "
           f"exit {b.returncode}")


def obs3_own_channels(env, posts):
    for path in ("/slack", "/hookshot"):
        control(env.hport, {"next": 1, "fault": "status", "status": 429,
                            "retry_after": 1, "match": path})
    first = env.run(["--post", posts[3]])
    due = env.wait_due(3)
    s0, h0 = len(env.http("/slack/")), len(env.http("/hookshot/"))
    r = env.run(["--post", posts[3], "--channel", "hook"])
    slack = counts(ids_in(x["body"]) for x in env.http("/slack/")[s0:])
    hook = counts(ids_in(x["body"]) for x in env.http("/hookshot/")[h0:])
    ok = first.returncode == 75 and due and slack == {} and hook == {3: 1}
    report("obs3 --post C --channel hook sends only on hook", ok,
           f"C's rows waiting and due: {due}; the run sent Slack {slack}, "
           f"hookshot {hook}; exit {r.returncode}")


# ------------------------------------------------------------ obs 4

BURST, RATE = 10, 5.0   # the Matrix peer's limit in the lane test
LANE_POSTS = 30


def obs4(site, posts):
    env = Env("obs4", site, http_args=["--matrix-burst", str(BURST),
                                       "--matrix-rate", str(RATE)],
              smtp_args=[])
    try:
        env.write_conf([env.slack(), env.matrix(), env.hook(),
                        env.mail(["reader@example.org"])],
                       'digest_threshold = 100; inline_retry = "60s"; '
                       'lease = "120s"; max_age = "1h";')
        args = []
        for n in range(1, LANE_POSTS + 1):
            args += ["--post", posts[n]]
        t0 = time.monotonic()
        p = env.run(args, timeout=150)
        wall = time.monotonic() - t0
        obs4_report(env, p, t0, wall)
    finally:
        env.close()


def lane_end(arrivals, kind, t0):
    """(when the last message a receiver took arrived, since t0; the
    arrival times of those it took)."""
    ts = [a["t"] - t0 for a in arrivals.get(kind, [])
          if (a["status"] or 0) // 100 == 2]
    return (max(ts) if ts else float("inf")), ts


def lane_span(arrivals, kind):
    """Seconds from a receiver's first request to the last message it
    took: what its own limit allows is measured from its first one."""
    first = min((a["t"] for a in arrivals.get(kind, [])), default=0.0)
    end, _ = lane_end(arrivals, kind, first)
    return end, first


def obs4_report(env, p, t0, wall):
    arr = get(env.hport, "/_control/arrivals")
    state = get(env.hport, "/_control/state")
    mails = records(env.srec)
    n = LANE_POSTS
    hook_end, _ = lane_end(arr, "hookshot", t0)
    mail_ts = [m["t"] - t0 for m in mails]
    mail_end = max(mail_ts) if mail_ts else float("inf")
    slack_end, slack_ts = lane_end(arr, "slack", t0)
    slack_span, _ = lane_span(arr, "slack")
    mx_end, _ = lane_end(arr, "matrix", t0)
    mx_span, mx_first = lane_span(arr, "matrix")
    gaps = [b - a for a, b in zip(slack_ts, slack_ts[1:])]
    slack_limit = (n - 1) * 1.0 * 1.1
    mx_limit = (n - BURST) / RATE * 1.1
    report("obs4 hookshot lane done within 2 s", hook_end <= 2.0,
           f"last of {len(env.http('/hookshot/'))} at {hook_end:.2f} s")
    report("obs4 email lane done within 2 s", mail_end <= 2.0,
           f"last of {len(mails)} at {mail_end:.2f} s")
    report(f"obs4 Slack lane within {slack_limit:.1f} s, paced 1/s",
           slack_span <= slack_limit and gaps and min(gaps) >= 0.9,
           f"{len(slack_ts)} in {slack_span:.2f} s from the first (last at "
           f"{slack_end:.2f} s from the start), smallest gap "
           f"{min(gaps) if gaps else 0:.2f} s")
    report(f"obs4 Matrix lane within {mx_limit:.1f} s "
           f"(burst {BURST}, then {RATE:g}/s)", mx_span <= mx_limit,
           f"{len(env.http('/_matrix/client/v3/rooms/'))} in "
           f"{mx_span:.2f} s from the first (first at {mx_first - t0:.2f}"
           f" s, last at {mx_end:.2f} s from the start)")
    per = {
        "slack": counts(ids_in(r["body"]) for r in env.http("/slack/")),
        "matrix": counts(ids_in(e["content"].get("body"))
                         for e in get(env.hport, "/_control/events")),
        "hookshot": counts(ids_in(r["body"])
                           for r in env.http("/hookshot/")),
        "email": counts(ids_in(m["data"]) for m in mails),
    }
    want = {i: 1 for i in range(1, n + 1)}
    bad = {k: f"{len(v)} posts, {sum(v.values())} messages"
           for k, v in per.items() if v != want}
    report("obs4 each post once per channel", not bad and p.returncode == 0,
           f"exit {p.returncode} after {wall:.1f} s; "
           + (f"off: {bad}" if bad else f"{n} x 4 messages"))
    other_429 = sum(1 for r in records(env.hrec) if r["status"] == 429
                    and not r.get("rate_limited"))
    total = state["limited"] + other_429
    report("obs4 fewer than 12 answers 429", total < 12,
           f"{total} (Matrix rate limit {state['limited']}, "
           f"other {other_429})")


# ------------------------------------------------------------ obs 6


def obs6a(site, posts):
    """Other runs of the same posts while one sends 40 to Slack."""
    env = Env("obs6a", site)
    try:
        env.write_conf([env.slack()], 'digest_threshold = 100; '
                       'inline_retry = "5s"; lease = "2s";')
        args = []
        for n in range(1, N_POSTS + 1):
            args += ["--post", posts[n]]
        a = env.popen(args, "run-a")
        # five messages at 1/s: the first run has sent for 4 s, so the
        # 2 s lease of a row it claims now has run out (whole seconds)
        end = time.monotonic() + 20
        while (a.poll() is None and time.monotonic() < end
               and len(env.http("/slack/")) < 5):
            time.sleep(0.05)
        end = time.monotonic() + 80
        others = 0
        while a.poll() is None and time.monotonic() < end:
            env.run(args, timeout=90)
            others += 1
            time.sleep(1)
        a.wait(timeout=90)
        env.run(args, timeout=90)   # whatever is left, sent now
        got = counts(ids_in(r["body"]) for r in env.http("/slack/"))
        twice = sorted(i for i, c in got.items() if c > 1)
        missing = N_POSTS - len(got)
        report("obs6 concurrent runs, short lease: each post once",
               not twice and missing == 0,
               f"{sum(got.values())} Slack messages for {N_POSTS} posts, "
               f"{len(twice)} posts sent more than once, {missing} missing,"
               f" {others} other runs meanwhile")
    finally:
        env.close()


def obs6b(site, posts):
    """An SMTP session outlasting the lease (every reply 1 s late, 2
    recipients: ~11 s against a 3 s lease)."""
    env = Env("obs6b", site, smtp_args=["--reply-delay", "1"])
    try:
        env.write_conf([env.mail(["a@example.org", "b@example.org"])],
                       'inline_retry = "0s"; lease = "3s";')
        a = env.popen(["--post", posts[1]], "run-a")
        end = time.monotonic() + 10
        conn = []
        while time.monotonic() < end and not conn:
            conn = [e for e in records(env.sev) if e["event"] == "connect"]
            time.sleep(0.05)
        if conn:   # the lease (3 s, whole seconds) has surely run out
            time.sleep(max(0.0, conn[0]["t"] + 4.5 - time.monotonic()))
        open_still = conn and not any(e["event"] == "disconnect"
                                      for e in records(env.sev))
        b = env.run(["--post", posts[1]], timeout=60)
        a.wait(timeout=60)
        got = {}
        for m in records(env.srec):
            for r in m["rcpt_tos"]:
                got[r] = got.get(r, 0) + 1
        total = sum(got.values())
        report("obs6 a slow SMTP session outlasting the lease",
               bool(open_still) and total == 2
               and got == {"a@example.org": 1, "b@example.org": 1},
               f"{total} messages for 2 recipients {got}; first session "
               f"still open when the second run started: {bool(open_still)};"
               f" exits {a.returncode}, {b.returncode}")
    finally:
        env.close()


def obs4_matrix(site, posts):
    """The rate-limited Matrix lane alone: paused by retry_after_ms, not
    every limited row retried at once each round."""
    env = Env("obs4m", site, http_args=["--matrix-burst", str(BURST),
                                        "--matrix-rate", str(RATE)])
    try:
        env.write_conf([env.matrix()], 'digest_threshold = 100; '
                       'inline_retry = "60s"; lease = "120s";')
        args = []
        for n in range(1, LANE_POSTS + 1):
            args += ["--post", posts[n]]
        t0 = time.monotonic()
        p = env.run(args, timeout=150)
        mx_end, first = lane_span(get(env.hport, "/_control/arrivals"),
                                  "matrix")
        limited = get(env.hport, "/_control/state")["limited"]
        got = counts(ids_in(e["content"].get("body"))
                     for e in get(env.hport, "/_control/events"))
        mx_limit = (LANE_POSTS - BURST) / RATE * 1.1
        ok = (mx_end <= mx_limit and limited < 12 and p.returncode == 0
              and got == {i: 1 for i in range(1, LANE_POSTS + 1)})
        report(f"obs4 Matrix lane alone within {mx_limit:.1f} s, fewer "
               "than 12 answers 429", ok,
               f"{mx_end:.2f} s from the first (at {first - t0:.2f} s), "
               f"{limited} answers 429, "
               f"{sum(got.values())} events for {len(got)} posts, "
               f"exit {p.returncode}")
    finally:
        env.close()


def obs8(site, posts):
    """The EHLO name a relay with reject_non_fqdn_helo_hostname takes (a
    dotted name: the host's, else the domain of 'from'; helo_name sets
    it), and the server's queue id kept as the delivery's remote id."""
    env = Env("obs8", site, smtp_args=[])
    try:
        mail = env.mail(["a@example.org"])
        named = env.mail(["b@example.org"], name="named").replace(
            "to = [", 'helo_name = "alertes.example.net"; to = [')
        env.write_conf([mail, named], 'inline_retry = "0s";')
        p = env.run(["--post", posts[1]])
        msgs = records(env.srec)
        helo = {m["rcpt_tos"][0]: m.get("helo") for m in msgs}
        qid = {m["rcpt_tos"][0]: m.get("queue_id") for m in msgs}
        rows = {r.get("recipient"): r for r in env.status()
                if r.get("recipient")}
        kept = {a: rows.get(a, {}).get("remote_id") for a in qid}
        ok = (p.returncode == 0 and "." in (helo.get("a@example.org") or "")
              and helo.get("b@example.org") == "alertes.example.net"
              and kept == qid and len(qid) == 2)
        report("obs8 EHLO is a dotted name, helo_name sets it, the reply's "
               "queue id is kept", ok,
               f"EHLO {helo}; queue ids {qid}, kept {kept}; exit "
               f"{p.returncode}")
    finally:
        env.close()


def stop(site, posts):
    """SIGTERM while an SMTP session sends a post to 6 recipients (every
    reply 0.3 s late): the pass ends after the message in flight, not
    after the session; the next pass sends the rest at once, each
    recipient once."""
    rcpts = [f"r{i}@example.org" for i in range(1, 7)]
    env = Env("stop", site, smtp_args=["--reply-delay", "0.3"])
    try:
        env.write_conf([env.mail(rcpts)], 'lease = "60s";')
        a = env.popen(["scan", "--backfill", "1"], "scan-a")
        end = time.monotonic() + 30
        while time.monotonic() < end and not records(env.srec):
            time.sleep(0.05)
        first = len(records(env.srec))
        a.send_signal(signal.SIGTERM)
        t0 = time.monotonic()
        a.wait(timeout=60)
        took = time.monotonic() - t0
        after_stop = len(records(env.srec))
        b = env.run(["scan"], timeout=120)
        got = counts([r] for m in records(env.srec) for r in m["rcpt_tos"])
        ok = (first >= 1 and after_stop < len(rcpts) and took < 5
              and b.returncode == 0 and got == {r: 1 for r in rcpts})
        report("stop SIGTERM ends an SMTP session after the message in "
               "flight; the next pass sends the rest", ok,
               f"{after_stop} of {len(rcpts)} sent when the pass ended "
               f"{took:.2f} s after SIGTERM (exit {a.returncode}); then "
               f"{sum(got.values())} messages for {len(got)} recipients, "
               f"exit {b.returncode}")
    finally:
        env.close()


CHECKS = {"obs1": obs1, "obs2": obs2, "obs3": obs3, "obs4": obs4,
          "obs4m": obs4_matrix,
          "obs6a": obs6a, "obs6b": obs6b, "obs8": obs8, "stop": stop}


def main():
    global TMP
    if not harness.have_aiosmtpd():
        return harness.missing_peer_exit("python3-aiosmtpd")
    # meson's timeout sends SIGTERM: unwind, so that every peer stops
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    TMP = tempfile.mkdtemp(prefix="notify-engine-")
    try:
        site, posts = make_site(TMP)
        for name, fn in CHECKS.items():
            if ONLY and name not in ONLY:
                continue
            t = time.monotonic()
            try:
                fn(site, posts)
            except Exception as e:  # one check's error is its failure
                report(name, False, f"error: {type(e).__name__}: {e}")
            print(f"# {name}: {time.monotonic() - t:.1f} s", flush=True)
        leaks = b""   # every run's output, and the peers' logs
        for d, _, files in os.walk(TMP):
            for f in files:
                if f == "all-output" or f.endswith(".log"):
                    leaks += open(os.path.join(d, f), "rb").read()
        report("no secret in any output", b"s3cr3t" not in leaks,
               f"{len(leaks)} bytes of output read")
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
    print(f"{results['passed']} passed, {results['failed']} failed")
    return 1 if results["failed"] else 0


TMP = None
if __name__ == "__main__":
    sys.exit(main())
