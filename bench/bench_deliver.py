#!/usr/bin/env python3
"""bench_deliver.py - one post to Slack, Matrix and SMTP: notify vs Apprise.

usage: bench_deliver.py [NOTIFY [SOURCE_ROOT]] [--runs N] [--post FILE]
                        [--reuse-state] [--peer-nagle] [--strict]

NOTIFY defaults to /work/wt4/build/notify, SOURCE_ROOT to the parent of
this directory.  On 127.0.0.1 only, starts tests/peers/http_peer.py (Slack
webhook, Matrix homeserver, hookshot) and tests/peers/smtp_peer.py
(aiosmtpd, under /usr/bin/python3), then times ONE post delivered to three
receivers, each run a fresh process, as both tools are run from cron or a
hook:

- notify: `notify -c CONF --post POST --force`, channels slack, matrix
  (token, room alias, autojoin) and smtp (two recipients, no TLS).  Every
  run gets a state file of its own (so each run really delivers, and pays
  for creating its database and resolving the room alias; --reuse-state
  keeps one, as a cron job would), and the peer's Matrix txnIds are reset
  between runs (outside the timing) so that each send is a new event.
- Apprise (Debian package `apprise`, /usr/bin/python3): `apprise -t TITLE
  -b BODY URL...` with the post's title and Markdown body, three URLs:
    Slack  -> json://127.0.0.1:PORT/slack/<secret>?:text=TITLE
              (slack:// only posts to hooks.slack.com; the peer's Slack
              endpoint wants a `text` field, which `:text=` adds to
              Apprise's {"title","message",...} payload)
    Matrix -> json://127.0.0.1:PORT/hookshot/<id>?:text=TITLE
              (Apprise 1.2's matrix:// logs in with user/password through
              /_matrix/client/r0/login or /register and sends with POST,
              without a txnId; its ?mode=matrix webhook posts to
              /api/v1/matrix/hook/TOKEN.  The peer serves the v3 API with a
              preset token only, so both get 404: the Matrix side of Apprise
              goes to matrix-hookshot's generic webhook instead: one request
              where notify, with a fresh state, makes two, the alias
              lookup and the send)
    SMTP   -> mailto://127.0.0.1:PORT?from=...&to=a,b  (plain SMTP, no
              AUTH, as notify's starttls = "none"; Apprise sends one
              message per recipient over one session)

One warm-up run of each, then N (default 10) runs of each, interleaved.
Each run is timed with time.monotonic() around fork/exec and wait, and
started through bench/peak_rss (--peak-rss), which reports the child's
peak RSS (ru_maxrss, KiB on Linux): os.wait4() from Python would count the
interpreter's own ~14 MB, which Linux keeps as the child's peak across
exec.  Every
run must deliver: its exit status is 0 and the peers recorded the Slack
post, the Matrix event (or hookshot post) and a mail to each recipient;
anything else is a failure.

Prints median and minimum wall time and the largest peak RSS of each side,
the ratio Apprise/notify, then `target 10x faster: met|NOT met` (medians)
and `target < 10 MB RSS: met|NOT met` (notify's largest peak RSS, MB =
1024 KiB as in bench_parse).

Exit status: 0 done (even when a target is missed, unless --strict), 1 a
run failed to deliver (or, with --strict, a missed target), 2 usage, 77
skip (apprise, aiosmtpd or the notify binary missing).
"""
import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

EXIT_SKIP = 77
SYS_PY = "/usr/bin/python3"  # where python3-aiosmtpd and apprise live
HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_NOTIFY = "/work/wt4/build/notify"
DEFAULT_POST = "2026-11-20-why-passwords-refuse-to-die.md"

SLACK_SECRET = "T0BENCH/B0BENCH/benchWebhookPath"
HOOK_ID = "benchHookId"
TOKEN = "syt_YmVuY2g_benchTokenValue"
FROM = "veille@example.org"
RCPTS = ["a@example.org", "b@example.net"]
EPOCH = "1764000000"  # as tests/integration/deliver.py
RUN_TIMEOUT = 60      # seconds a single run may take before it is killed
WAIT = 10             # bound on every wait for a peer

TARGET_SPEEDUP = 10.0
TARGET_RSS_MB = 10.0


class Failure(Exception):
    pass


# ------------------------------------------------------------------ peers

def wait_file(path, secs=WAIT):
    end = time.monotonic() + secs
    while time.monotonic() < end:
        if os.path.exists(path) and os.path.getsize(path) > 0:
            return open(path).read().strip()
        time.sleep(0.05)
    raise Failure(f"no {path} after {secs}s (peer did not start?)")


def control(port, path, body=None):
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=json.dumps(body or {}).encode(), method="POST")
    # never through a proxy: loopback only
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(req, timeout=WAIT) as r:
        return r.read()


def records(path):
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


# http_peer.py answers with two writes (headers, then body) on a socket
# that keeps Nagle's algorithm (http.server's default).  On a kept-alive
# connection the body then waits for the client's delayed ACK, about 40 ms
# on Linux: notify's Matrix channel, which sends directory lookup and event
# over one connection, paid that on every run.  Real servers (Synapse,
# Slack's front ends) set TCP_NODELAY, so by default the peer is started
# with it set; --peer-nagle starts http_peer.py as it is.
NODELAY_LAUNCHER = (
    "import sys; sys.path.insert(0, sys.argv.pop(1)); import http_peer; "
    "http_peer.Handler.disable_nagle_algorithm = True; "
    "sys.exit(http_peer.main(sys.argv[1:]))")


class Peers:
    def __init__(self, root, tmp):
        self.peers_dir = os.path.join(root, "tests", "peers")
        self.tmp = tmp
        self.procs = []
        self.hrec = os.path.join(tmp, "http.jsonl")
        self.srec = os.path.join(tmp, "smtp.jsonl")

    def _start(self, cmd, name):
        log = open(os.path.join(self.tmp, name + ".log"), "w")
        p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL)
        self.procs.append(p)

    def start(self, nodelay=True):
        if nodelay:
            http = [sys.executable, "-c", NODELAY_LAUNCHER, self.peers_dir]
        else:
            http = [sys.executable, os.path.join(self.peers_dir,
                                                 "http_peer.py")]
        self._start(http + ["--record", self.hrec,
                     "--port-file", os.path.join(self.tmp, "http.port"),
                     "--token", TOKEN, "--max-lifetime", "600"], "http")
        self._start([SYS_PY, os.path.join(self.peers_dir, "smtp_peer.py"),
                     "--record", self.srec,
                     "--port-file", os.path.join(self.tmp, "smtp.port"),
                     "--max-lifetime", "600"], "smtp")
        self.hport = int(wait_file(os.path.join(self.tmp, "http.port")))
        self.sport = int(wait_file(os.path.join(self.tmp, "smtp.port")))

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)

    def mark(self):
        return len(records(self.hrec)), len(records(self.srec))

    def since(self, mark):
        return records(self.hrec)[mark[0]:], records(self.srec)[mark[1]:]


# ------------------------------------------------------------------ runs

def child_env():
    env = dict(os.environ, SOURCE_DATE_EPOCH=EPOCH, NO_PROXY="*",
               no_proxy="*")
    for k in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY",
              "HTTPS_PROXY", "ALL_PROXY"):
        env.pop(k, None)
    # meson sets MALLOC_PERTURB_ to a random byte; glibc then fills every
    # allocation, which slows both sides and inflates the RSS.
    env.pop("MALLOC_PERTURB_", None)
    return env


PEAK_RSS = None  # bench/peak_rss, set by main()


def timed_run(argv, out_path, env):
    """Runs argv as a fresh process (through peak_rss); returns (status,
    wall_ms, maxrss_kib)."""
    rss_path = out_path + ".rss"
    with open(out_path, "wb") as out:
        t0 = time.monotonic()
        p = subprocess.Popen([PEAK_RSS, rss_path] + argv, stdout=out,
                             stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, env=env)
        killer = threading.Timer(RUN_TIMEOUT, os.kill, (p.pid, signal.SIGKILL))
        killer.start()
        try:
            p.wait()
            t1 = time.monotonic()
        finally:
            killer.cancel()
    try:  # peak_rss writes the KiB, then a line of CPU seconds
        kib = int(open(rss_path).readline())
    except (OSError, ValueError):
        kib = -1
    return p.returncode, (t1 - t0) * 1000.0, kib


def tail(path, n=600):
    try:
        return open(path, "rb").read()[-n:].decode("utf-8", "replace")
    except OSError:
        return ""


def ok_status(r):
    return isinstance(r.get("status"), int) and 200 <= r["status"] < 300


def mailed_to(smtp_new):
    got = set()
    for m in smtp_new:
        got.update(a.lower() for a in m.get("rcpt_tos", []))
    return got


def check_notify(rc, out, http_new, smtp_new):
    why = []
    if rc != 0:
        why.append(f"exit {rc}")
    if not any(r["path"].startswith("/slack/") and r["method"] == "POST"
               and ok_status(r) for r in http_new):
        why.append("no Slack post accepted")
    if not any("/send/m.room.message/" in r["path"] and ok_status(r)
               and r.get("new_event") for r in http_new):
        why.append("no new Matrix event")
    missing = set(RCPTS) - mailed_to(smtp_new)
    if missing:
        why.append("no mail to " + ", ".join(sorted(missing)))
    if why:
        raise Failure("notify did not deliver: " + "; ".join(why) +
                      "\n" + tail(out))


def check_apprise(rc, out, http_new, smtp_new, title, body):
    why = []
    if rc != 0:
        why.append(f"exit {rc}")
    for prefix in ("/slack/", "/hookshot/"):
        if not any(r["path"].startswith(prefix) and ok_status(r)
                   and isinstance(r.get("json"), dict)
                   and r["json"].get("title") == title
                   and str(r["json"].get("message")).strip() == body.strip()
                   for r in http_new):
            why.append(f"no {prefix} post accepted with the title and body")
    missing = set(RCPTS) - mailed_to(smtp_new)
    if missing:
        why.append("no mail to " + ", ".join(sorted(missing)))
    if why:
        raise Failure("apprise did not deliver: " + "; ".join(why) +
                      "\n" + tail(out))


# ------------------------------------------------------------------ setup

def read_post(path):
    """(title, body) of a Jekyll post: front-matter title, Markdown body."""
    text = open(path, encoding="utf-8").read()
    lines = text.split("\n")
    title = None
    end = 0
    if lines and lines[0].strip() == "---":
        for i in range(1, len(lines)):
            if lines[i].strip() == "---":
                end = i + 1
                break
            if lines[i].startswith("title:"):
                v = lines[i][len("title:"):].strip()
                if len(v) >= 2 and v[0] == v[-1] == "'":
                    v = v[1:-1].replace("''", "'")
                elif len(v) >= 2 and v[0] == v[-1] == '"':
                    v = json.loads(v)
                title = v
    body = "\n".join(lines[end:]).strip() + "\n"
    return title or os.path.basename(path), body


def write_notify_conf(root, tmp, hport, sport, state):
    conf = os.path.join(tmp, os.path.basename(state) + ".conf")
    to = ", ".join(f'"{r}"' for r in RCPTS)
    with open(conf, "w") as f:
        f.write(f'''
site: {{ repo = "{root}/examples/site"; }};
state = "{state}";
alerts: {{ templates = "{root}/conf/templates"; }};
filters: {{ skip_without_key_points = false; }};
delivery: {{ inline_retry = "5s"; lease = "2s"; max_age = "1h"; }};
channels = (
  {{ name = "soc"; type = "slack"; webhook_url_file = "slack.url"; }},
  {{ name = "veille"; type = "matrix"; homeserver = "http://127.0.0.1:{hport}";
     room = "#veille:example.org"; access_token_file = "matrix.token";
     autojoin = true; }},
  {{ name = "mail"; type = "smtp"; host = "127.0.0.1"; port = {sport};
     starttls = "none"; from = "Veille <{FROM}>";
     to = [ {to} ]; list_id = "veille.example.org"; }}
);
''')
    return conf


def write_secrets(tmp, hport):
    for name, value in (
            ("slack.url", f"http://127.0.0.1:{hport}/slack/{SLACK_SECRET}"),
            ("matrix.token", TOKEN)):
        path = os.path.join(tmp, name)
        with open(path, "w") as f:
            f.write(value + "\n")
        os.chmod(path, 0o600)


def apprise_urls(hport, sport, title):
    text = urllib.parse.quote(title, safe="")
    qs = urllib.parse.urlencode({"from": FROM, "to": ",".join(RCPTS)},
                                safe="@,")
    return [f"json://127.0.0.1:{hport}/slack/{SLACK_SECRET}?:text={text}",
            f"json://127.0.0.1:{hport}/hookshot/{HOOK_ID}?:text={text}",
            f"mailto://127.0.0.1:{sport}?{qs}"]


def find_apprise():
    path = "/usr/bin/apprise" if os.access("/usr/bin/apprise", os.X_OK) \
        else shutil.which("apprise")
    if not path:
        return None
    if subprocess.run([SYS_PY, "-c", "import apprise"],
                      capture_output=True).returncode != 0:
        return None
    return path


def apprise_version(path):
    p = subprocess.run([path, "--version"], capture_output=True, text=True,
                       env=child_env())
    return (p.stdout.splitlines() or ["?"])[0]


# ------------------------------------------------------------------ main

def parse_args(argv):
    ap = argparse.ArgumentParser(add_help=True)
    ap.add_argument("notify", nargs="?", default=DEFAULT_NOTIFY)
    ap.add_argument("root", nargs="?",
                    default=os.path.dirname(HERE))
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--peak-rss", default=None,
                    help="the peak_rss program (default: next to notify, "
                    "in bench/)")
    ap.add_argument("--post", default=None,
                    help="post file (default: examples/site/_posts/"
                    + DEFAULT_POST + ")")
    ap.add_argument("--reuse-state", action="store_true",
                    help="one state file for every notify run (--force "
                    "resends), as a cron job with its database; default: "
                    "a fresh state file per run")
    ap.add_argument("--peer-nagle", action="store_true",
                    help="leave Nagle's algorithm on in http_peer.py")
    ap.add_argument("--strict", action="store_true",
                    help="exit 1 when a target is missed")
    a = ap.parse_args(argv)
    if a.runs < 1:
        ap.error("--runs must be >= 1")
    return a


def summary(rows):
    ms = [w for w, _ in rows]
    return statistics.median(ms), min(ms), max(k for _, k in rows) / 1024.0


def main(argv):
    a = parse_args(argv)
    root = os.path.abspath(a.root)
    apprise = find_apprise()
    if apprise is None:
        print("bench_deliver: SKIP: apprise is missing "
              "(apt-get install -y apprise)")
        return EXIT_SKIP
    if subprocess.run([SYS_PY, "-c", "import aiosmtpd"],
                      capture_output=True).returncode != 0:
        print("bench_deliver: SKIP: python3-aiosmtpd is missing")
        return EXIT_SKIP
    notify = os.path.abspath(a.notify)
    if not os.access(notify, os.X_OK):
        print(f"bench_deliver: SKIP: no notify binary at {notify}")
        return EXIT_SKIP
    global PEAK_RSS
    PEAK_RSS = a.peak_rss or os.path.join(os.path.dirname(notify), "bench",
                                          "peak_rss")
    if not os.access(PEAK_RSS, os.X_OK):
        print(f"bench_deliver: SKIP: no peak_rss program at {PEAK_RSS}")
        return EXIT_SKIP
    post = a.post or os.path.join(root, "examples", "site", "_posts",
                                  DEFAULT_POST)
    if not os.path.exists(post):
        print(f"bench_deliver: SKIP: no post at {post}")
        return EXIT_SKIP
    post = os.path.abspath(post)
    title, body = read_post(post)

    tmp = tempfile.mkdtemp(prefix="bench-deliver-")
    peers = Peers(root, tmp)
    try:
        peers.start(nodelay=not a.peer_nagle)
        return bench(a, notify, apprise, root, tmp, peers, post, title, body)
    except Failure as e:
        print(f"bench_deliver: FAIL: {e}")
        return 1
    finally:
        peers.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def bench(a, notify, apprise, root, tmp, peers, post, title, body):
    env = child_env()
    write_secrets(tmp, peers.hport)
    urls = apprise_urls(peers.hport, peers.sport, title)
    n = a.runs
    # one config (hence one state file) per notify run, written beforehand,
    # unless --reuse-state
    confs = [write_notify_conf(root, tmp, peers.hport, peers.sport,
                               os.path.join(tmp, "state.db" if a.reuse_state
                                            else f"state-{i}.db"))
             for i in range(n + 1)]

    def run_notify(i):
        control(peers.hport, "/_control/reset")  # forget txnIds
        mark = peers.mark()
        out = os.path.join(tmp, f"notify-{i}.out")
        rc, ms, kib = timed_run([notify, "-c", confs[i], "--post", post,
                                 "--force"], out, env)
        check_notify(rc, out, *peers.since(mark))
        return ms, kib

    def run_apprise(i):
        mark = peers.mark()
        out = os.path.join(tmp, f"apprise-{i}.out")
        rc, ms, kib = timed_run([apprise, "-t", title, "-b", body] + urls,
                                out, env)
        check_apprise(rc, out, *peers.since(mark), title, body)
        return ms, kib

    run_notify(n)   # warm-up: page cache, the peers' first connections
    run_apprise(n)
    rn, ra = [], []
    for i in range(n):  # interleaved, so that drift hits both alike
        rn.append(run_notify(i))
        ra.append(run_apprise(i))

    nmed, nmin, nrss = summary(rn)
    amed, amin, arss = summary(ra)
    print(f"post: {os.path.relpath(post, root)} ({len(body.encode())} bytes"
          f" of Markdown), title: {title!r}")
    print(f"receivers: Slack webhook, Matrix, SMTP ({len(RCPTS)} recipients)"
          f" on 127.0.0.1; {n} runs each after 1 warm-up, fresh processes")
    print("notify: " + ("one state file, --force" if a.reuse_state else
                        "a fresh state file per run") +
          "; http_peer " + ("as it is (Nagle on)" if a.peer_nagle else
                            "with TCP_NODELAY"))
    print(f"apprise: {apprise_version(apprise)} ({apprise}): Slack and "
          "Matrix through json:// (Matrix to the hookshot webhook), "
          "mail through mailto://")
    print(f"notify ms:  {' '.join(f'{w:.1f}' for w, _ in rn)}")
    print(f"apprise ms: {' '.join(f'{w:.1f}' for w, _ in ra)}")
    print()
    print(f"{'':16}{'median ms':>11}{'min ms':>10}{'max RSS MB':>12}")
    print(f"{'notify':16}{nmed:11.1f}{nmin:10.1f}{nrss:12.1f}")
    print(f"{'apprise':16}{amed:11.1f}{amin:10.1f}{arss:12.1f}")
    print(f"{'apprise/notify':16}{amed / nmed:10.1f}x{amin / nmin:9.1f}x"
          f"{arss / nrss:11.1f}x")
    print()
    fast = amed / nmed >= TARGET_SPEEDUP
    small = nrss < TARGET_RSS_MB
    print(f"target {TARGET_SPEEDUP:.0f}x faster: "
          f"{'met' if fast else 'NOT met'}")
    print(f"target < {TARGET_RSS_MB:.0f} MB RSS: "
          f"{'met' if small else 'NOT met'}")
    return 1 if a.strict and not (fast and small) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
