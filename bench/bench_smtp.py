#!/usr/bin/env python3
"""bench_smtp.py - email fan-out: notify against smtp-source, into smtp-sink.

usage: bench_smtp.py [NOTIFY [SOURCE_ROOT]] [--peak-rss PATH]
                     [--sizes 1000,10000] [--sessions 1,4] [--timeout S]
                     [--post FILE] [--no-apprise] [--strict]

One post to an smtp channel whose `to` list holds N addresses (N = each of
--sizes), into Postfix's `smtp-sink` on 127.0.0.1 (a free port; started
and stopped here).  In the same run, beside it, `smtp-source -d` (Postfix's
own load generator: no pipelining, one message after the other on each
session) sends the SAME message bytes the same number of times, over 1
session, then 4 (--sessions).  The message is notify's own: the bytes of
`notify --post POST --dry-run` for the first recipient.  Before timing, one
message from each side goes through a dumping smtp-sink, and the two are
compared byte for byte (anything else is a failure: the comparison would
mean nothing).

notify runs as `notify -c CONF --post POST` with a fresh state file (created
first by `notify status`, so that the growth counted is the delivery's),
`sessions = S` in the channel only when S > 1 (a build without that key
gets MISS for those runs, found by `check-config` beforehand), plain SMTP,
no AUTH.  Every run is a fresh process started through bench/peak_rss, which
gives its peak RSS and CPU (user + sys, from wait4) and kills it after
--timeout seconds (default 120): a run that takes longer is cut and
reported as such, with what the sink had counted until then.  The sink's
own counter (`smtp-sink -c`) says how many messages really arrived.

Apprise (Debian package, /usr/bin/apprise) sends to the same addresses
through its mailto:// plugin into the same sink (one message per
recipient over one session), at N = 1,000 (or the smallest size given).

Prints, per size and sender: messages/s, CPU seconds and CPU ms per
message, peak RSS, state-file growth (state db + -wal), then the ratios
notify/smtp-source and one PASS/MISS line per target of issue 9:
  1 session  >= 80 % of smtp-source's 1-session rate (every size);
  4 sessions >= 80 % of smtp-source's 4-session rate (every size);
  CPU per message flat from the smallest size to the largest (<= +20 %);
  peak RSS < 32 MB (every notify run);
  state growth < 5 MB for 10,000 recipients (524 bytes a recipient, at
  the largest size);
  Apprise on the same addresses at least 5x slower than notify (1 session).
MB = 1024 KiB, as in bench_deliver.

Exit status: 0 done (even with MISS lines, unless --strict), 1 a failure
of the harness (sink, smtp-source, message mismatch) or, with --strict, a
MISS; 2 usage; 77 skip (smtp-sink, smtp-source, notify or peak_rss
missing; a failure instead under CI=true).  BENCH_SMTP_KEEP=1 keeps the
temporary folder (configurations, outputs, the dumped messages).
"""
import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench_deliver as bd  # noqa: E402  (child_env, read_post, apprise)

EXIT_SKIP = 77
DEFAULT_POST = "2026-11-03-ransomware-gang-s-leak-site-lists-" \
    "valmont-regional-hospital.md"  # its mail is over 2 KB, as most are
FROM_ADDR = "veille@example.org"
WAIT = 10           # bound on waiting for the sink (seconds)
MB = 1024.0 * 1024.0

TARGET_RATE = 0.80          # of smtp-source's rate, same sessions
TARGET_CPU_GROWTH = 0.20    # CPU per message, smallest to largest size
TARGET_RSS_MB = 32.0
TARGET_STATE_BYTES = 5 * MB / 10000  # 5 MB for 10,000 recipients
TARGET_APPRISE = 5.0


class Failure(Exception):
    pass


def addresses(n, width):
    # same width for every address: every message has the same size
    return [f"s{i:0{width}d}@example.org" for i in range(1, n + 1)]


# ------------------------------------------------------------------ sink

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sink:
    """smtp-sink on 127.0.0.1; -c counters into a file, read as deltas."""

    def __init__(self, tmp, name, dump_dir=None):
        self.out = os.path.join(tmp, name + ".out")
        self.dump_dir = dump_dir
        self.proc = None
        self.port = None

    def start(self):
        self.port = free_port()
        cmd = ["smtp-sink", "-c"]
        if os.geteuid() == 0:
            cmd += ["-u", "nobody"]  # smtp-sink refuses to run as root
        if self.dump_dir:
            cmd += ["-d", os.path.join(self.dump_dir, "%H%M%S.")]
        cmd += [f"127.0.0.1:{self.port}", "1000"]
        with open(self.out, "wb") as out:
            self.proc = subprocess.Popen(cmd, stdout=out,
                                         stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)
        self._wait_banner()

    def _wait_banner(self):
        end = time.monotonic() + WAIT
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise Failure("smtp-sink exited: " + bd.tail(self.out))
            try:
                with socket.create_connection(("127.0.0.1", self.port),
                                              timeout=WAIT) as s:
                    banner = s.recv(512)
                    s.sendall(b"QUIT\r\n")
                if banner.startswith(b"220 smtp-sink"):
                    return
                raise Failure(f"port {self.port}: not smtp-sink: {banner!r}")
            except ConnectionRefusedError:
                time.sleep(0.02)
        raise Failure(f"smtp-sink not listening after {WAIT}s")

    def count(self):
        """Messages received so far (the last `mesg=` of the counters)."""
        with open(self.out, "rb") as f:
            found = re.findall(rb"mesg=(\d+)", f.read())
        return int(found[-1]) if found else 0

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


# ------------------------------------------------------------------ runs

class Run:
    def __init__(self, who, n, sessions):
        self.who, self.n, self.sessions = who, n, sessions
        self.rc = None
        self.wall = self.cpu = 0.0
        self.kib = -1
        self.got = 0
        self.state = None   # bytes of state growth (notify only)
        self.note = ""

    @property
    def rate(self):
        return self.got / self.wall if self.wall > 0 else 0.0

    @property
    def cpu_per_msg(self):
        return self.cpu / self.got if self.got else float("inf")

    @property
    def whole(self):
        return self.rc == 0 and self.got == self.n


def measured(argv, tmp, name, timeout, env, sink):
    """Runs argv through peak_rss -t; returns (status, wall s, CPU s, peak
    KiB, messages the sink got meanwhile, path of the run's output)."""
    stats = os.path.join(tmp, name + ".rss")
    log = os.path.join(tmp, name + ".log")
    before = sink.count()
    with open(log, "wb") as out:
        t0 = time.monotonic()
        p = subprocess.run([PEAK_RSS, "-t", str(timeout), stats] + argv,
                           stdout=out, stderr=subprocess.STDOUT,
                           stdin=subprocess.DEVNULL, env=env,
                           timeout=timeout + 30)
        wall = time.monotonic() - t0
    try:
        with open(stats) as f:
            kib = int(f.readline())
            cpu = sum(float(x) for x in f.readline().split())
    except (OSError, ValueError):
        raise Failure(f"{name}: no figures from peak_rss: " + bd.tail(log))
    if not sink.alive():
        raise Failure("smtp-sink died during " + name)
    return p.returncode, wall, cpu, kib, sink.count() - before, log


def run_source(ctx, n, sessions):
    r = Run("smtp-source -d", n, sessions)
    argv = ["smtp-source", "-d", "-m", str(n), "-s", str(sessions),
            "-f", FROM_ADDR, "-t", ctx.rcpts[0], "-F", ctx.msg_file,
            f"127.0.0.1:{ctx.sink.port}"]
    r.rc, r.wall, r.cpu, r.kib, r.got, log = measured(
        argv, ctx.tmp, f"source-{n}-{sessions}", ctx.timeout, ctx.env,
        ctx.sink)
    if not r.whole:  # the yardstick itself must be sound
        raise Failure(f"smtp-source -m {n} -s {sessions}: exit {r.rc}, "
                      f"{r.got} messages: " + bd.tail(log))
    return r


def state_bytes(state):
    return sum(os.path.getsize(p) for p in (state, state + "-wal")
               if os.path.exists(p))


def run_notify(ctx, n, sessions):
    r = Run("notify", n, sessions)
    if sessions > 1 and not ctx.has_sessions:
        r.note = "no 'sessions' key in this build"
        return r
    d = tempfile.mkdtemp(prefix=f"notify-{n}-{sessions}-", dir=ctx.tmp)
    state = os.path.join(d, "state.db")
    conf = write_conf(ctx, d, state, ctx.rcpts[:n], sessions,
                      ctx.sink.port)
    p = subprocess.run([ctx.notify, "-c", conf, "status"], env=ctx.env,
                       capture_output=True)
    if p.returncode != 0:
        raise Failure(f"notify status: exit {p.returncode}: "
                      + p.stderr.decode(errors="replace"))
    size0 = state_bytes(state)
    r.rc, r.wall, r.cpu, r.kib, r.got, log = measured(
        [ctx.notify, "-c", conf, "--post", ctx.post], d, "notify",
        ctx.timeout, ctx.env, ctx.sink)
    r.state = state_bytes(state) - size0
    if r.rc == 128 + 9 and r.wall >= ctx.timeout:
        r.note = f"cut at {ctx.timeout} s"
    elif r.rc != 0:
        r.note = f"exit {r.rc}: " + " ".join(bd.tail(log, 200).split())
    elif r.got != n:
        r.note = f"the sink got {r.got} of {n}"
    shutil.rmtree(d, ignore_errors=True)  # 10,000 rows weigh tens of MB
    return r


def run_apprise(ctx, n):
    r = Run("apprise", n, 1)
    qs = f"from={FROM_ADDR}&to=" + ",".join(ctx.rcpts[:n])
    argv = [ctx.apprise, "-t", ctx.title, "-b", ctx.body,
            f"mailto://127.0.0.1:{ctx.sink.port}?{qs}"]
    r.rc, r.wall, r.cpu, r.kib, r.got, log = measured(
        argv, ctx.tmp, f"apprise-{n}", ctx.timeout, ctx.env, ctx.sink)
    if not r.whole:
        r.note = (f"exit {r.rc}, {r.got} of {n}: "
                  + " ".join(bd.tail(log, 200).split()))
    return r


# ------------------------------------------------------------------ setup

def write_conf(ctx, folder, state, rcpts, sessions, port=25):
    conf = os.path.join(folder, "notify.conf")
    to = ",\n    ".join(f'"{a}"' for a in rcpts)
    extra = f"\n    sessions = {sessions};" if sessions > 1 else ""
    with open(conf, "w") as f:
        f.write(f'''
site: {{ repo = "{ctx.root}/examples/site"; }};
state = "{state}";
alerts: {{ templates = "{ctx.root}/conf/templates"; }};
filters: {{ skip_without_key_points = false; }};
delivery: {{ max_age = "1h"; }};
channels = (
  {{ name = "mail"; type = "smtp"; host = "127.0.0.1";
    port = {port}; starttls = "none";
    from = "Veille <{FROM_ADDR}>"; list_id = "veille.example.org";{extra}
    to = [ {to} ]; }}
);
''')
    return conf


def dry_run_message(ctx):
    """notify's message for the first recipient: the N bytes after the
    `--- mail (smtp) message/rfc822 to ADDR, N bytes` line."""
    d = tempfile.mkdtemp(prefix="dry-", dir=ctx.tmp)
    conf = write_conf(ctx, d, os.path.join(d, "state.db"), ctx.rcpts[:1], 1)
    p = subprocess.run([ctx.notify, "-c", conf, "--post", ctx.post,
                        "--dry-run"], env=ctx.env, capture_output=True)
    m = re.match(rb"--- mail \(smtp\) message/rfc822 to ([^,]+), "
                 rb"(\d+) bytes\n", p.stdout)
    if p.returncode != 0 or not m:
        raise Failure(f"notify --dry-run: exit {p.returncode}: "
                      + p.stderr.decode(errors="replace")[-400:])
    msg = p.stdout[m.end():m.end() + int(m.group(2))]
    if m.group(1).decode() != ctx.rcpts[0] or len(msg) != int(m.group(2)):
        raise Failure("notify --dry-run: unexpected output")
    return msg


def source_file(ctx, msg):
    """smtp-source -F reads lines and ends each with CRLF (dot-stuffing
    them): the file holds the message with LF line ends."""
    if not msg.endswith(b"\r\n") or \
            msg.count(b"\n") != msg.count(b"\r\n") or \
            msg.count(b"\r") != msg.count(b"\r\n"):
        raise Failure("notify's message has bare CR or LF: smtp-source "
                      "cannot send the same bytes")
    path = os.path.join(ctx.tmp, "message.lf")
    with open(path, "wb") as f:
        f.write(msg.replace(b"\r\n", b"\n"))
    return path


def dumped_message(path):
    """A transaction dumped by smtp-sink -d, less what the sink adds in
    front: its X-* lines and its Received: header."""
    lines = open(path, "rb").read().split(b"\n")
    i = 0
    while i < len(lines) and lines[i].startswith(b"X-"):
        i += 1
    if i < len(lines) and lines[i].startswith(b"Received:"):
        i += 1
        while i < len(lines) and lines[i][:1] in (b"\t", b" "):
            i += 1
    return b"\n".join(lines[i:])


def check_same_bytes(ctx):
    """One message from notify and one from smtp-source through a dumping
    sink: the same bytes, or the comparison means nothing."""
    dump = os.path.join(ctx.tmp, "dump")
    os.mkdir(dump)
    os.chmod(dump, 0o777)  # the sink writes as nobody
    sink = Sink(ctx.tmp, "check-sink", dump)
    sink.start()
    try:
        d = tempfile.mkdtemp(prefix="check-", dir=ctx.tmp)
        conf = write_conf(ctx, d, os.path.join(d, "state.db"),
                          ctx.rcpts[:1], 1, sink.port)
        got = []
        for argv in ([ctx.notify, "-c", conf, "--post", ctx.post],
                     ["smtp-source", "-m", "1", "-f", FROM_ADDR, "-t",
                      ctx.rcpts[0], "-F", ctx.msg_file,
                      f"127.0.0.1:{sink.port}"]):
            before = set(os.listdir(dump))
            p = subprocess.run(argv, env=ctx.env, capture_output=True,
                               timeout=60)
            new = sorted(set(os.listdir(dump)) - before)
            if p.returncode != 0 or len(new) != 1:
                raise Failure(f"{argv[0]}: exit {p.returncode}, {len(new)} "
                              "messages dumped: "
                              + p.stdout.decode(errors="replace")[-300:]
                              + p.stderr.decode(errors="replace")[-300:])
            got.append(dumped_message(os.path.join(dump, new[0])))
    finally:
        sink.stop()
    # smtp-source ends every message with one more CRLF than the file
    # gives it (its source: "smtp_fputs() will append another \r\n but we
    # don't care"): the same message and an empty line, 2 bytes more.
    if got[0] + b"\n" != got[1]:
        raise Failure("notify and smtp-source sent different messages "
                      f"({len(got[0])} and {len(got[1])} bytes, as dumped)")


def has_sessions_key(ctx):
    """True when this build takes `sessions = N` in an smtp channel."""
    d = tempfile.mkdtemp(prefix="sessions-", dir=ctx.tmp)
    conf = write_conf(ctx, d, os.path.join(d, "state.db"), ctx.rcpts[:1], 4)
    p = subprocess.run([ctx.notify, "-c", conf, "check-config"],
                       env=ctx.env, capture_output=True, text=True)
    if p.returncode == 0:
        return True
    if "sessions" in p.stderr + p.stdout:
        return False
    raise Failure(f"notify check-config: exit {p.returncode}: {p.stderr}")


# ------------------------------------------------------------------ report

def row(r):
    mb = f"{r.kib / 1024.0:8.1f}" if r.kib >= 0 else f"{'-':>8}"
    st = f"{r.state / MB:9.2f}" if r.state is not None else f"{'-':>9}"
    if r.rc is None:
        return (f"{r.n:>6} {r.who:<15}{r.sessions:>3}  {'not run':>8}"
                f"  {r.note}")
    cpm = r.cpu_per_msg * 1000.0 if r.got else float("inf")
    return (f"{r.n:>6} {r.who:<15}{r.sessions:>3} {r.wall:9.2f}"
            f"{r.rate:10.1f}{r.cpu:8.2f}{cpm:9.3f}{mb}{st}"
            f"{r.got:>7}  {r.note}").rstrip()


def verdict(ok, text):
    print(f"{'PASS' if ok else 'MISS'} {text}")
    return ok


def ratio(a, b):
    return a.rate / b.rate if b.rate > 0 else 0.0


def targets(ctx, runs, apprise):
    """One PASS/MISS line per target; returns True when all pass."""
    ok = True
    for s in ctx.sessions:
        parts, good = [], True
        for n in ctx.sizes:
            mine, src = runs[("notify", n, s)], runs[("source", n, s)]
            q = ratio(mine, src) if mine.rc is not None else 0.0
            good = good and q >= TARGET_RATE and mine.whole
            parts.append(f"N={n}: {q * 100:.1f} %"
                         + ("" if mine.whole else f" ({mine.note})"))
        ok &= verdict(good, f"{s} session{'s' if s > 1 else ''} >= "
                      f"{TARGET_RATE * 100:.0f} % of smtp-source's rate: "
                      + "; ".join(parts))
    s1 = ctx.sessions[0]
    lo = runs[("notify", ctx.sizes[0], s1)]
    hi = runs[("notify", ctx.sizes[-1], s1)]
    if len(ctx.sizes) > 1 and lo.got and hi.got:
        g = hi.cpu_per_msg / lo.cpu_per_msg - 1.0
        ok &= verdict(g <= TARGET_CPU_GROWTH,
                      f"CPU per message flat (<= +{TARGET_CPU_GROWTH:.0%}): "
                      f"{lo.cpu_per_msg * 1000:.3f} ms at N={lo.n}, "
                      f"{hi.cpu_per_msg * 1000:.3f} ms at N={hi.n}: "
                      f"{g * 100:+.0f} %"
                      + ("" if hi.whole else f" ({hi.note})"))
    else:
        ok &= verdict(False, "CPU per message flat: not measured "
                      "(needs two sizes that delivered)")
    ran = [r for k, r in runs.items() if k[0] == "notify" and r.kib >= 0]
    big = max(r.kib for r in ran) / 1024.0 if ran else float("inf")
    ok &= verdict(big < TARGET_RSS_MB, f"peak RSS < {TARGET_RSS_MB:.0f} MB:"
                  f" largest {big:.1f} MB")
    per = hi.state / hi.n if hi.state is not None else float("inf")
    ok &= verdict(per <= TARGET_STATE_BYTES,
                  f"state growth < 5 MB for 10,000 recipients: "
                  f"{hi.state / MB if hi.state is not None else 0:.2f} MB "
                  f"for {hi.n} ({per:.0f} B a recipient, "
                  f"{per * 10000 / MB:.1f} MB for 10,000)"
                  + ("" if hi.whole else f" ({hi.note}: WAL not "
                     "checkpointed)"))
    if apprise is None:
        ok &= verdict(False, "Apprise >= 5x slower: not run (" +
                      ctx.apprise_why + ")")
    else:
        mine = runs[("notify", apprise.n, s1)]
        q = ratio(mine, apprise)
        ok &= verdict(q >= TARGET_APPRISE and apprise.whole,
                      f"Apprise >= {TARGET_APPRISE:.0f}x slower on N="
                      f"{apprise.n}: apprise {apprise.rate:.1f} msg/s, "
                      f"notify {mine.rate:.1f} msg/s: {q:.2f}x"
                      + ("" if apprise.whole else f" ({apprise.note})"))
    return ok


def report(ctx, runs, apprise):
    print(f"post: {os.path.relpath(ctx.post, ctx.root)}; message "
          f"{ctx.msg_len} bytes, the same from notify and smtp-source "
          "(compared through smtp-sink -d; smtp-source adds an empty "
          "last line)")
    print(f"smtp-sink on 127.0.0.1:{ctx.sink.port}; each run a fresh "
          f"process, cut after {ctx.timeout} s; MB = 1024 KiB")
    print()
    print(f"{'N':>6} {'sender':<15}{'ses':>3} {'wall s':>9}{'msg/s':>10}"
          f"{'CPU s':>8}{'CPU ms/m':>9}{'RSS MB':>8}{'state MB':>9}"
          f"{'recvd':>7}")
    for n in ctx.sizes:
        for s in ctx.sessions:
            print(row(runs[("source", n, s)]))
            print(row(runs[("notify", n, s)]))
    if apprise is not None:
        print(row(apprise))
    print()
    for n in ctx.sizes:
        for s in ctx.sessions:
            mine, src = runs[("notify", n, s)], runs[("source", n, s)]
            if mine.rc is None:
                continue
            cpu = (mine.cpu_per_msg / src.cpu_per_msg
                   if mine.got and src.cpu > 0 else float("inf"))
            print(f"notify/smtp-source N={n} sessions={s}: rate "
                  f"{ratio(mine, src) * 100:.1f} %, CPU per message "
                  f"{cpu:.1f}x")
    print()
    return targets(ctx, runs, apprise)


# ------------------------------------------------------------------ main

def int_list(text):
    try:
        v = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of integers: {text}")
    if not v or min(v) < 1:
        raise argparse.ArgumentTypeError(f"want positive integers: {text}")
    return v


def parse_args(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("notify", nargs="?", default=None)
    ap.add_argument("root", nargs="?", default=os.path.dirname(HERE))
    ap.add_argument("--peak-rss", default=None)
    ap.add_argument("--sizes", type=int_list, default=[1000, 10000],
                    help="recipients per run (default 1000,10000)")
    ap.add_argument("--sessions", type=int_list, default=[1, 4],
                    help="SMTP sessions (default 1,4)")
    ap.add_argument("--timeout", type=int, default=120,
                    help="seconds a run may take before it is cut")
    ap.add_argument("--post", default=None)
    ap.add_argument("--no-apprise", action="store_true")
    ap.add_argument("--strict", action="store_true",
                    help="exit 1 when a target is missed")
    a = ap.parse_args(argv)
    if a.timeout < 1:
        ap.error("--timeout must be >= 1")
    a.sizes = sorted(set(a.sizes))
    a.sessions = sorted(set(a.sessions))
    return a


def skip(why):
    if os.environ.get("CI") == "true":
        print(f"bench_smtp: FAIL: {why} (CI=true: no skipping)")
        return 1
    print(f"bench_smtp: SKIP: {why}")
    return EXIT_SKIP


class Ctx:
    pass


def prepare(a):
    """A Ctx, or an exit status (skip)."""
    ctx = Ctx()
    ctx.root = os.path.abspath(a.root)
    ctx.notify = os.path.abspath(a.notify or os.path.join(
        ctx.root, "build", "notify"))
    global PEAK_RSS
    PEAK_RSS = a.peak_rss or os.path.join(os.path.dirname(ctx.notify),
                                          "bench", "peak_rss")
    for prog in ("smtp-sink", "smtp-source"):
        if shutil.which(prog) is None:
            return skip(f"{prog} is missing (apt-get install postfix)")
    if not os.access(ctx.notify, os.X_OK):
        return skip(f"no notify binary at {ctx.notify}")
    if not os.access(PEAK_RSS, os.X_OK):
        return skip(f"no peak_rss program at {PEAK_RSS}")
    ctx.post = os.path.abspath(a.post or os.path.join(
        ctx.root, "examples", "site", "_posts", DEFAULT_POST))
    if not os.path.exists(ctx.post):
        return skip(f"no post at {ctx.post}")
    ctx.title, ctx.body = bd.read_post(ctx.post)
    ctx.sizes, ctx.sessions, ctx.timeout = a.sizes, a.sessions, a.timeout
    ctx.rcpts = addresses(max(a.sizes), len(str(max(a.sizes))))
    ctx.env = bd.child_env()
    ctx.apprise = None if a.no_apprise else bd.find_apprise()
    ctx.apprise_why = ("--no-apprise" if a.no_apprise else
                       "apprise is missing: apt-get install apprise")
    ctx.sink = None
    return ctx


def bench(ctx):
    msg = dry_run_message(ctx)
    ctx.msg_len = len(msg)
    ctx.msg_file = source_file(ctx, msg)
    check_same_bytes(ctx)
    ctx.has_sessions = has_sessions_key(ctx)
    ctx.sink = Sink(ctx.tmp, "sink")
    ctx.sink.start()
    runs = {}
    for n in ctx.sizes:  # side by side: drift hits both alike
        for s in ctx.sessions:
            runs[("source", n, s)] = run_source(ctx, n, s)
            runs[("notify", n, s)] = run_notify(ctx, n, s)
    apprise = None
    if ctx.apprise is not None:
        n = 1000 if 1000 in ctx.sizes else ctx.sizes[0]
        apprise = run_apprise(ctx, n)
        apprise.who = "apprise"
    return report(ctx, runs, apprise)


PEAK_RSS = None


def main(argv):
    a = parse_args(argv)
    ctx = prepare(a)
    if not isinstance(ctx, Ctx):
        return ctx
    ctx.tmp = tempfile.mkdtemp(prefix="bench-smtp-")
    os.chmod(ctx.tmp, 0o755)  # the sink (nobody) reaches its dump folder
    try:
        met = bench(ctx)
    except (Failure, subprocess.TimeoutExpired) as e:
        print(f"bench_smtp: FAIL: {e}")
        return 1
    finally:
        if ctx.sink is not None:
            ctx.sink.stop()
        if not os.environ.get("BENCH_SMTP_KEEP"):
            shutil.rmtree(ctx.tmp, ignore_errors=True)
    return 1 if a.strict and not met else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
