"""What the delivery tests share: starting the loopback peers of
tests/peers/ and stopping them, their control API, their records, and
running notify with its output kept for the secret checks.

Every wait here is bounded; a process started through Procs is stopped
by Procs.stop() (the caller's `finally`).
"""
import json
import os
import subprocess
import sys
import time
import urllib.request

PEERS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                     "peers")
EPOCH = "1764000000"    # SOURCE_DATE_EPOCH: the Date of rendered emails
SMTP_PYTHON = "/usr/bin/python3"  # Debian's, where python3-aiosmtpd is


def have_aiosmtpd():
    return subprocess.run([SMTP_PYTHON, "-c", "import aiosmtpd"],
                          capture_output=True).returncode == 0


def missing_peer_exit(what):
    """The exit status of a test whose peer is missing: 77 (skip), but a
    failure under CI=true, where scripts/setup installs every peer."""
    print(f"SKIP: {what} is missing")
    return 1 if os.environ.get("CI") == "true" else 77


def wait_file(path, secs=10):
    """The stripped contents of 'path' once it is not empty."""
    end = time.monotonic() + secs
    while time.monotonic() < end:
        if os.path.exists(path) and os.path.getsize(path) > 0:
            return open(path).read().strip()
        time.sleep(0.05)
    raise RuntimeError(f"no {path} after {secs}s")


class Procs:
    """The processes a test started, each with its log in the test's
    folder; stop() ends those still running (TERM, then KILL)."""

    def __init__(self):
        self.procs = []

    def start(self, cmd, tmp, name, env=None):
        log = open(os.path.join(tmp, name + ".log"), "w")
        p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                             env=env)
        log.close()
        self.procs.append(p)
        return p

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

    def http_peer(self, tmp, name="http", *extra):
        """Starts tests/peers/http_peer.py; returns its port."""
        pf = os.path.join(tmp, name + ".port")
        self.start([sys.executable, os.path.join(PEERS, "http_peer.py"),
                    "--record", os.path.join(tmp, name + ".jsonl"),
                    "--port-file", pf] + list(extra), tmp, name)
        return wait_file(pf)

    def smtp_peer(self, tmp, name="smtp", *extra):
        """Starts tests/peers/smtp_peer.py (aiosmtpd); returns its port.
        Session events go to NAME.events.jsonl."""
        pf = os.path.join(tmp, name + ".port")
        self.start([SMTP_PYTHON, os.path.join(PEERS, "smtp_peer.py"),
                    "--record", os.path.join(tmp, name + ".jsonl"),
                    "--events", os.path.join(tmp, name + ".events.jsonl"),
                    "--port-file", pf] + list(extra), tmp, name)
        return wait_file(pf)


def control(port, body, path="/_control"):
    """POSTs 'body' to the HTTP peer's control API."""
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}",
                                 data=json.dumps(body).encode(),
                                 method="POST")
    with urllib.request.urlopen(req, timeout=5) as r:
        return r.read()


def get(port, path):
    """GETs a control path of the HTTP peer, parsed."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}",
                                timeout=5) as r:
        return json.loads(r.read())


def records(path):
    """The JSON lines a peer recorded so far."""
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def run(notify, args, tmp, conf, env_extra=None, timeout=60):
    """Runs `notify -c CONF ARGS...`; its output is also appended to
    TMP/all-output, where a test looks for secrets."""
    env = dict(os.environ, SOURCE_DATE_EPOCH=EPOCH)
    env.update(env_extra or {})
    p = subprocess.run([notify, "-c", conf] + args, capture_output=True,
                       env=env, timeout=timeout)
    with open(os.path.join(tmp, "all-output"), "ab") as f:
        f.write(p.stdout + p.stderr)
    return p


def write_secret(path, text):
    """A secret file as notify wants it: readable by its owner only."""
    with open(path, "w") as f:
        f.write(text + "\n")
    os.chmod(path, 0o600)
