#!/usr/bin/env python3
"""A blog's history replayed against `notify watch`, on loopback peers.

usage: replay.py NOTIFY SOURCE_ROOT git|dir|restart

Builds a small Jekyll site (a git repository for `git` and `restart`, a
plain folder for `dir`), starts tests/peers/http_peer.py (Slack webhook,
Matrix homeserver) and tests/peers/smtp_peer.py (STARTTLS + AUTH, two
recipients), records a baseline with the first run of `notify watch`
(waiting for READY=1 on a NOTIFY_SOCKET the test binds), then replays:

  a post; 7 posts (one message each); 30 posts (one digest each, the
  threshold being 10); modifications, a deletion and a rename of posts
  already seen; a draft; a post with `published: false`; files under
  _posts that are not posts; a post dated a few seconds ahead (held, then
  sent once due); in git mode a merge (--no-ff) of a branch adding a post.

Within a batch, files are written (and named) out of date order, with
distinct times, so that "in date order" means something.  Each post has a
token ("RX001") in its title; payloads are cut into the tokens they name.

Checks, per channel (Slack, Matrix, each SMTP recipient): every new post
announced exactly once, in date order, the 30 as one digest naming all
30 in date order, nothing for the other commits/files; the skip and hold
log lines and, once, the per-delivery line ("notify: POST-ID CHANNEL[ to
RCPT]: sent"); SIGTERM ends with status 0, STOPPING=1 and no worker left;
`status --json` shows nothing pending or failed; no secret in any output
or in the state.

`restart` replays the git history with SIGKILL at four points (right
after a commit, in the middle of the 7 sends, while the Matrix digest
send hangs, while idle), with commits made while the daemon is down:
nothing lost, no post announced twice, still in date order; Matrix never
duplicates (the hung send comes back as a known txnId), Slack and each
SMTP recipient at most one message per kill (counted and reported).  The
kills hit the daemon's process group (`notify watch` becomes
notify-watchd, which runs `notify scan --worker` passes), as systemd
would; the one in the middle of the 7 hits the main process alone, whose
worker must then end by itself.

Prints "N passed, N failed"; exit 1 on a failure, 77 when aiosmtpd or
openssl is missing (1 under CI=true).  Every wait is bounded; every
process started is stopped.
"""
import datetime as dt
import email
import email.policy
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unicodedata
import urllib.request

NOTIFY, ROOT = os.path.abspath(sys.argv[1]), sys.argv[2]
PART = sys.argv[3] if len(sys.argv) > 3 else "git"
PEERS = os.path.join(ROOT, "tests", "peers")

# secrets: fresh each run, never printed (see say())
SLACK_SECRET = "T0RPL/B0RPL/" + secrets.token_hex(12)
MATRIX_TOKEN = "syt_cmVwbGF5_" + secrets.token_hex(12)
SMTP_USER, SMTP_PASSWORD = "veille-bot", "pw-" + secrets.token_hex(10)
SECRETS = (SLACK_SECRET, MATRIX_TOKEN, SMTP_PASSWORD)

RCPTS = ("veille@lists.example.org", "soc@example.net")
TOKEN_RE = re.compile(r"\bRX\d{3}\b")
THRESHOLD = 10  # delivery.digest_threshold
LEASE = 1       # s, delivery.lease: the minimum src/config/config.c accepts
FUTURE_S = 6    # a post dated this far ahead is held that long

results = {"passed": 0, "failed": 0}
procs = []   # every process started, stopped at the end
groups = []  # process groups of the daemons (supervisor + its workers)
T0 = time.monotonic()


def redact(s):
    s = s if isinstance(s, str) else s.decode("utf-8", "replace")
    for sec in SECRETS:
        s = s.replace(sec, "<secret>")
    return s


def say(*a):
    print(redact(" ".join(str(x) for x in a)), flush=True)


def check(name, ok, detail=""):
    if ok:
        results["passed"] += 1
    else:
        results["failed"] += 1
        say(f"FAIL: {name} {detail}".rstrip())
    return ok


def step(msg):
    say(f"[{time.monotonic() - T0:6.1f}s] {msg}")


def wait_until(pred, secs, every=0.1):
    """pred() until true or secs have passed; its last value."""
    end = time.monotonic() + secs
    while True:
        v = pred()
        if v or time.monotonic() >= end:
            return v
        time.sleep(every)


# ---- the site -------------------------------------------------------------

VENDORS = [
    ("Orvane", "pare-feu OrvaneGate"), ("Helixor", "messagerie Helixor Mail"),
    ("Tessaly", "hyperviseur Tessaly VX"), ("Brimstack", "CI Brimstack"),
    ("Quillon", "VPN Quillon Edge"), ("Marvane", "NAS Marvane DS"),
    ("Corvex", "sauvegarde Corvex Vault"), ("Lumisoft", "CMS Lumisoft"),
    ("NordGate", "passerelles NordGate"), ("Peregrin", "routeurs Peregrin"),
    ("Sablon", "coffre Sablon Pass"), ("Ilvar", "ERP Ilvar"),
    ("Kestrel", "annuaire Kestrel ID"), ("Velia", "caméras Velia"),
]
ORGS = ["la mairie de Castelbrune", "l'hôpital de Valmont",
        "le groupe Lerandel", "l'université de Montrieux",
        "la clinique Saint-Aubert", "le transporteur Gavrel",
        "la métropole de Bressac", "l'éditeur Fontal"]
MALWARE = ["Moustik", "Korvid", "BlackSorrel", "Ferrule", "Nimbrel",
           "Grisou", "Latch"]
SOURCES = [("certfr", "https://www.cert.example.fr/avis/"),
           ("bleepingcomp", "https://www.bleeping.example.com/news/"),
           ("lemagit", "https://www.lemag.example.fr/actualites/"),
           ("zataz", "https://www.zataz.example.com/")]


def slugify(s):
    s = unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", s.lower()).strip("-")


class Post:
    """One generated post: token, date (aware UTC), file name, text."""
    n = 0

    def __init__(self, rng, date, extra_front=""):
        Post.n += 1
        self.token = f"RX{Post.n:03d}"
        self.date = date
        vendor, product = rng.choice(VENDORS)
        org, mal = rng.choice(ORGS), rng.choice(MALWARE)
        cve = f"CVE-2026-{41000 + Post.n * 7 + rng.randrange(7)}"
        n_acc = rng.randrange(12, 900) * 1000
        kind = rng.randrange(5)
        if kind == 0:
            title = f"{vendor} corrige une faille critique ({product})"
            lead = (f"{vendor} publie un correctif pour {product} : une "
                    f"faille permet l'exécution de code à distance sans "
                    f"authentification.")
        elif kind == 1:
            title = f"{product} : une faille activement exploitée"
            lead = (f"Des attaquants exploitent depuis plusieurs jours une "
                    f"vulnérabilité touchant {product} pour déposer "
                    f"des portes dérobées.")
        elif kind == 2:
            who = org.split(" ", 1)[1] if org.startswith("la ") or \
                org.startswith("le ") else org[2:]
            title = f"Rançongiciel : {who} en mode dégradé"
            lead = (f"{org[0].upper() + org[1:]} fonctionne en mode dégradé "
                    f"après le chiffrement d'une partie de ses serveurs ; "
                    f"le groupe {mal} revendique l'attaque.")
        elif kind == 3:
            title = f"{mal} : un chargeur caché dans de fausses mises à jour"
            lead = (f"Le chargeur {mal} se cache dans de fausses mises à "
                    f"jour de navigateur et vise les postes de {org}.")
        else:
            title = f"Fuite chez {vendor} : {n_acc // 1000} 000 comptes"
            lead = (f"Les données de {n_acc} comptes clients de {vendor} "
                    f"circulent sur un forum ; mots de passe hachés et "
                    f"adresses postales sont concernés.")
        self.title = f"{title} (réf. {self.token})"
        stem = slugify(title).split("-")[:4]
        self.name = (f"{date:%Y-%m-%d}-{self.token.lower()}-"
                     f"{'-'.join(stem)}.md")
        tag, src = rng.choice(SOURCES)
        ytitle = self.title.replace("'", "''")
        points = rng.sample([
            f"Exploitation confirmée de {cve} dans au moins deux incidents.",
            "Accès initial via un compte de prestataire sans MFA.",
            "Les journaux montrent des connexions depuis des VPS loués.",
            f"Correctif disponible pour toutes les versions prises en "
            f"charge ({product}).",
            "Aucune donnée de santé n'est confirmée comme exfiltrée.",
            "Les sauvegardes hors ligne ont permis une reprise partielle.",
            "Indicateurs de compromission publiés par l'éditeur.",
        ], 3)
        self.text = (
            f"---\ntitle: '{ytitle}'\n"
            f"date: {date:%Y-%m-%d %H:%M:%S} +0000\n"
            f"tags:\n- veille-cyber\n- {tag}\n{extra_front}---\n"
            f"**{title}**\n\n{lead}\n\n"
            "L'éditeur recommande d'appliquer les mises à jour sans "
            "attendre et de surveiller les comptes à privilèges.\n\n"
            "**Points clés :**\n\n"
            + "".join(f"*   {p}\n" for p in points) +
            f"\n**Vulnérabilités :**\n{cve} (score CVSS "
            f"{rng.choice(['8.1', '9.1', '9.8', '7.5'])}) touche {product}."
            "\n\n**Recommandations :**\n\n"
            "*   Appliquer le correctif ou isoler les équipements exposés.\n"
            "*   Rechercher les indicateurs de compromission publiés.\n\n"
            f"---\n[Source]({src}{self.token.lower()}/)"
            "{:target=\"_blank\"}\n")


def batch(rng, n, start, spread_s=3600):
    """n posts dated start + distinct offsets; returns (the order they
    are to be written in, the date order).  Neither their names (which
    start with the token, numbered in creation order) nor the order they
    are written in follow the date order."""
    offs = sorted(rng.sample(range(60, spread_s), n))
    dates = [start + dt.timedelta(seconds=o) for o in offs]
    if n > 1:
        while True:
            shuffled = list(dates)
            rng.shuffle(shuffled)
            names = [f"{d:%Y-%m-%d}-{i:03d}" for i, d in enumerate(shuffled)]
            if sorted(range(n), key=lambda i: names[i]) != \
                    sorted(range(n), key=lambda i: shuffled[i]):
                break
        dates = shuffled
    posts = [Post(rng, d) for d in dates]
    by_date = sorted(posts, key=lambda p: p.date)
    written = list(posts)
    while n > 1 and (written == by_date or [p.name for p in written] ==
                     sorted(p.name for p in written)):
        rng.shuffle(written)
    return written, by_date


class Site:
    def __init__(self, root, git):
        self.root, self.git_mode = root, git
        os.makedirs(os.path.join(root, "_posts"))
        self.write("_config.yml", (
            "title: \"Veille cyber (rejeu)\"\n"
            "url: \"https://veille.example.org\"\nbaseurl: \"/blog\"\n"
            "timezone: Europe/Paris\nfuture: false\n"
            "permalink: /:year/:month/:day/:title/\n"
            "markdown: kramdown\nexclude:\n  - README.md\n"))
        self.write("index.md", "---\nlayout: home\n---\n")
        self.write("about.md", "---\ntitle: À propos\n---\nLa veille.\n")
        if git:
            self.git("init", "-q", "-b", "main")

    def path(self, rel):
        return os.path.join(self.root, rel)

    def write(self, rel, text):
        p = self.path(rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w", encoding="utf-8") as f:
            f.write(text)

    def git(self, *args, cwd=None):
        env = dict(os.environ, GIT_AUTHOR_NAME="Équipe Veille",
                   GIT_AUTHOR_EMAIL="veille@example.org",
                   GIT_COMMITTER_NAME="Équipe Veille",
                   GIT_COMMITTER_EMAIL="veille@example.org",
                   GIT_CONFIG_NOSYSTEM="1", HOME=os.path.dirname(self.root))
        p = subprocess.run(["git"] + list(args), cwd=cwd or self.root,
                           env=env, capture_output=True, timeout=30)
        if p.returncode != 0:
            raise RuntimeError(f"git {' '.join(args)}: {p.stderr.decode()}")
        return p.stdout.decode()

    def add_posts(self, posts, msg=None, sub="_posts"):
        for p in posts:
            self.write(f"{sub}/{p.name}", p.text)
            if self.git_mode:
                self.git("add", f"{sub}/{p.name}")
        if self.git_mode and msg:
            self.git("commit", "-q", "-m", msg)

    def commit(self, msg):
        self.git("add", "-A")
        self.git("commit", "-q", "-m", msg)


# ---- peers, configuration, daemon ---------------------------------------

def wait_file(path, secs=15):
    if not wait_until(lambda: os.path.exists(path) and
                      os.path.getsize(path) > 0, secs, 0.05):
        raise RuntimeError(f"no {os.path.basename(path)} after {secs}s")
    return open(path).read().strip()


def start(cmd, log, env=None, session=False):
    p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env,
                         start_new_session=session)
    procs.append(p)
    if session:
        groups.append(p.pid)
    return p


def group_alive(pgid):
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def records(path):
    try:
        with open(path, encoding="utf-8") as f:
            return [json.loads(x) for x in f if x.strip()]
    except FileNotFoundError:
        return []


def tokens_of(text):
    out = []
    for t in TOKEN_RE.findall(text):
        if t not in out:
            out.append(t)
    return tuple(out)


def mail_text(data):
    """Subject + the text/plain part, decoded."""
    m = email.message_from_string(data, policy=email.policy.default)
    parts = [str(m.get("subject", ""))]
    for part in m.walk():
        if part.get_content_type() == "text/plain":
            parts.append(part.get_content())
    return "\n".join(parts)


class Peers:
    def __init__(self, tmp):
        self.tmp = tmp
        self.hrec = os.path.join(tmp, "http.jsonl")
        self.srec = os.path.join(tmp, "smtp.jsonl")
        cert = os.path.join(tmp, "cert")
        r = subprocess.run(["sh", os.path.join(PEERS, "make_cert.sh"), cert],
                           capture_output=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError("make_cert.sh failed: " + r.stderr.decode())
        self.ca = os.path.join(cert, "cert.pem")
        log = open(os.path.join(tmp, "peers.log"), "w")
        start([sys.executable, os.path.join(PEERS, "http_peer.py"),
               "--record", self.hrec, "--port-file",
               os.path.join(tmp, "http.port"), "--token", MATRIX_TOKEN,
               "--max-lifetime", "400"], log)
        start(["/usr/bin/python3", os.path.join(PEERS, "smtp_peer.py"),
               "--record", self.srec, "--port-file",
               os.path.join(tmp, "smtp.port"), "--tls-cert", self.ca,
               "--tls-key", os.path.join(cert, "key.pem"),
               "--require-starttls", "--auth",
               f"{SMTP_USER}:{SMTP_PASSWORD}", "--max-lifetime", "400"], log)
        self.hport = wait_file(os.path.join(tmp, "http.port"))
        self.sport = wait_file(os.path.join(tmp, "smtp.port"))

    def control(self, body, path="/_control"):
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.hport}{path}",
            data=json.dumps(body).encode(), method="POST")
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.read()

    def events(self):
        with urllib.request.urlopen(
                f"http://127.0.0.1:{self.hport}/_control/events",
                timeout=5) as r:
            return json.loads(r.read())

    def http(self):
        return records(self.hrec)

    def size(self):
        return sum(os.path.getsize(p) for p in (self.hrec, self.srec)
                   if os.path.exists(p))

    def channels(self):
        """{channel: [(t, tokens)]} in arrival order: the Slack requests
        answered 200, the Matrix events created, the accepted mails per
        recipient."""
        ch = {"slack": [], "matrix": []}
        for r in self.http():
            if r["path"].startswith("/slack/") and r.get("status") == 200:
                ch["slack"].append((r["t"], tokens_of(r["body"])))
        for e in self.events():
            ch["matrix"].append(
                (e["t"], tokens_of((e.get("content") or {}).get("body", ""))))
        for rc in RCPTS:
            ch["mail " + rc] = []
        for m in records(self.srec):
            toks = tokens_of(mail_text(m["data"]))
            for rc in m["rcpt_tos"]:
                ch.setdefault("mail " + rc, []).append((m["t"], toks))
        return ch

    def seen(self):
        """{channel: set of tokens received}."""
        return {c: {t for _, ts in msgs for t in ts}
                for c, msgs in self.channels().items()}


def write_conf(tmp, peers, site, mode):
    def secret(name, value):
        p = os.path.join(tmp, name)
        with open(p, "w") as f:
            f.write(value + "\n")
        os.chmod(p, 0o600)
    secret("slack.url", f"http://127.0.0.1:{peers.hport}/slack/{SLACK_SECRET}")
    secret("matrix.token", MATRIX_TOKEN)
    secret("smtp.password", SMTP_PASSWORD)
    conf = os.path.join(tmp, "notify.conf")
    to = ", ".join(f'"{r}"' for r in RCPTS)
    with open(conf, "w") as f:
        f.write(f'''
site: {{ repo = "{site.root}"; posts_dir = "_posts"; locale = "fr"; }};
state = "{tmp}/state.db";
watch: {{ mode = "{mode}"; settle_ms = 200; fetch_interval = 0; }};
alerts: {{ templates = "{ROOT}/conf/templates"; }};
delivery: {{ digest_threshold = {THRESHOLD}; lease = "{LEASE}s";
            max_age = "24h"; inline_retry = "5s"; }};
channels = (
  {{ name = "soc"; type = "slack"; webhook_url_file = "slack.url"; }},
  {{ name = "veille"; type = "matrix";
     homeserver = "http://127.0.0.1:{peers.hport}";
     room = "#veille:example.org"; access_token_file = "matrix.token";
     autojoin = true; }},
  {{ name = "mail"; type = "smtp"; host = "127.0.0.1"; port = {peers.sport};
     starttls = "required"; ca_file = "{peers.ca}";
     username = "{SMTP_USER}"; password_file = "smtp.password";
     from = "Veille cyber <veille@example.org>"; to = [ {to} ];
     list_id = "veille.example.org"; }}
);
''')
    return conf


class Daemon:
    """`notify -c CONF watch`, its stderr in daemon-N.log, sd_notify
    messages on a datagram socket this test binds and keeps reading (as
    systemd does: a full socket would block the daemon's send)."""

    def __init__(self, tmp, conf):
        self.tmp, self.conf, self.n, self.p = tmp, conf, 0, None
        self.sock_path = os.path.join(tmp, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.sock_path)
        self.sock.settimeout(0.1)
        self.msgs, self.lock = [], threading.Lock()
        self.ready_at = []  # time.monotonic() of each READY=1
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        while True:
            try:
                data = self.sock.recv(65536).decode("utf-8", "replace")
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.msgs += data.splitlines()
                if "READY=1" in data.splitlines():
                    self.ready_at.append(time.monotonic())

    def since(self, i):
        with self.lock:
            return self.msgs[i:]

    def start(self):
        self.n += 1
        with self.lock:
            self.mark = len(self.msgs)
        self.logf = open(os.path.join(self.tmp, f"daemon-{self.n}.log"), "wb")
        env = dict(os.environ, NOTIFY_SOCKET=self.sock_path)
        env.pop("SOURCE_DATE_EPOCH", None)
        env.pop("WATCHDOG_USEC", None)
        # its own process group: `notify watch` becomes notify-watchd,
        # which runs workers (`notify scan --worker`); a kill -9 of the
        # service kills the group, as systemd does (KillMode=control-group)
        self.p = start([NOTIFY, "-c", self.conf, "watch"], self.logf, env,
                       session=True)
        return self.p

    def wait_ready(self, secs=30):
        """READY=1 from this start (the daemon may exit first)."""
        return wait_until(lambda: "READY=1" in self.since(self.mark) or
                          self.p.poll() is not None, secs, 0.05) and \
            "READY=1" in self.since(self.mark)

    def kill9(self, group=True):
        """SIGKILL to the service (the supervisor and its worker), or to
        the main process alone; True once none of them is left."""
        if group:
            os.killpg(self.p.pid, signal.SIGKILL)
        else:
            os.kill(self.p.pid, signal.SIGKILL)
        self.p.wait(timeout=10)
        return wait_until(lambda: not group_alive(self.p.pid), 10, 0.02)

    def term(self, secs=15):
        """SIGTERM to the main process, as `kill PID`; its exit status
        (None: still running after secs)."""
        self.p.send_signal(signal.SIGTERM)
        try:
            return self.p.wait(timeout=secs)
        except subprocess.TimeoutExpired:
            return None

    def log(self):
        out = ""
        for i in range(1, self.n + 1):
            with open(os.path.join(self.tmp, f"daemon-{i}.log"), "rb") as f:
                out += f.read().decode("utf-8", "replace")
        return out

    def tail(self, n=12):
        return "\n    " + "\n    ".join(self.log().splitlines()[-n:])


def start_daemon(d, label):
    t = time.monotonic()
    d.start()
    ok = d.wait_ready(30)
    check(f"{label}: READY=1 within 30 s", ok,
          f"(exit {d.p.poll()}){d.tail()}")
    if ok:
        step(f"{label}: READY=1 {d.ready_at[-1] - t:.1f}s after the start")
    return ok


def run_cli(tmp, conf, args):
    p = subprocess.run([NOTIFY, "-c", conf] + args, capture_output=True,
                       timeout=30)
    with open(os.path.join(tmp, "cli-output"), "ab") as f:
        f.write(p.stdout + p.stderr)
    return p


# ---- waits and checks ---------------------------------------------------

class Expect:
    """What every channel must have received: batches (singles or one
    digest), each in date order, and tokens that must never appear."""

    def __init__(self):
        self.batches, self.never = [], []

    def add(self, by_date, digest=None):
        if digest is None:
            digest = len(by_date) > THRESHOLD
        self.batches.append(([p.token for p in by_date], digest))

    def tokens(self):
        return [t for ts, _ in self.batches for t in ts]


def wait_delivered(peers, posts, secs=None, d=None):
    """Until every channel has every post; for a digest (a batch over the
    threshold), until every channel has a message naming one of them
    (verify() says whether it names them all)."""
    toks = {p.token for p in posts}
    digest = len(posts) > THRESHOLD
    if secs is None:
        secs = 15 + 1.5 * (1 if digest else len(posts))
    t0 = time.monotonic()
    ok = wait_until(lambda: all((toks & s) if digest else (toks <= s)
                                for s in peers.seen().values()), secs, 0.2)
    if not ok:
        seen = peers.seen()
        check(f"delivered within {secs:.0f} s", False, "missing " +
              json.dumps({c: sorted(toks - s) for c, s in seen.items()
                          if toks - s}) + (d.tail() if d else ""))
        return -1.0
    return time.monotonic() - t0


def wait_quiet(peers, quiet=0.8, secs=6):
    """Until nothing reached a peer for `quiet` seconds (bounded)."""
    last, since = peers.size(), time.monotonic()
    end = time.monotonic() + secs
    while time.monotonic() < end:
        time.sleep(0.1)
        now = peers.size()
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return True
    return False


def wait_log(d, needle, secs=5):
    return wait_until(lambda: needle in d.log(), secs, 0.1)


def verify(label, peers, exp, max_dups=0):
    """Every channel: each expected token exactly once (modulo at most
    max_dups repeated messages for Slack/SMTP), singles alone, each
    digest one message naming its posts in date order, nothing else."""
    chans = peers.channels()
    expected = exp.tokens()
    never = set(exp.never)
    for ch, msgs in sorted(chans.items()):
        sigs = [ts for _, ts in msgs]
        uniq = []
        for s in sigs:
            if s not in uniq:
                uniq.append(s)
        dups = len(sigs) - len(uniq)
        if max_dups:
            say(f"  {label} {ch}: {len(sigs)} messages, {dups} repeated")
        if ch == "matrix" or max_dups == 0:
            check(f"{label} {ch}: no message sent twice", dups == 0,
                  f"{dups} repeated")
        else:
            check(f"{label} {ch}: at most {max_dups} repeated messages "
                  f"(one per kill)", dups <= max_dups, f"{dups} repeated")
            if dups:
                say(f"  note: {label} {ch}: {dups} message(s) sent twice "
                    f"(in flight at a kill): " +
                    ", ".join(",".join(s[:3]) + ("…" if len(s) > 3 else "")
                              for s in uniq if sigs.count(s) > 1))
        count = {}
        for s in uniq:
            for t in s:
                count[t] = count.get(t, 0) + 1
        lost = [t for t in expected if t not in count]
        twice = sorted(t for t in expected if count.get(t, 0) > 1)
        check(f"{label} {ch}: every new post announced", not lost,
              f"missing {lost}")
        check(f"{label} {ch}: no post announced in two messages", not twice,
              f"{twice}")
        bad = sorted(t for t in count if t in never)
        check(f"{label} {ch}: nothing for drafts, unpublished, non-posts, "
              f"modified/deleted/renamed posts", not bad, f"got {bad}")
        other = sorted(t for t in count if t not in never and
                       t not in expected)
        check(f"{label} {ch}: no unexpected post", not other, f"{other}")
        check(f"{label} {ch}: no message without a post token",
              all(uniq), f"{sum(1 for s in uniq if not s)} such")
        for toks, digest in exp.batches:
            if digest:
                ds = [s for s in uniq if set(s) & set(toks)]
                check(f"{label} {ch}: the {len(toks)} posts of a batch make "
                      f"ONE digest naming all of them", len(ds) == 1 and
                      set(ds[0]) == set(toks),
                      f"{len(ds)} messages: " +
                      "; ".join(f"{len(s)} posts" for s in ds))
                if len(ds) == 1 and set(ds[0]) == set(toks):
                    check(f"{label} {ch}: the digest lists them in date "
                          f"order", list(ds[0]) == toks,
                          f"{ds[0]} != {toks}")
            else:
                alone = all((t,) in uniq for t in toks)
                mine = [s for s in uniq if set(s) & set(toks)]
                check(f"{label} {ch}: batch of {len(toks)} sent one message "
                      f"a post", alone, f"{mine}")
        # the order of what came (what is missing is reported above)
        flat = [t for s in uniq for t in s]
        order_ok = flat == [t for t in expected if t in count]
        check(f"{label} {ch}: in date order, batch after batch", order_ok,
              f"got {flat} want {expected}")


def final_checks(label, tmp, conf, d, exp):
    t0 = time.monotonic()
    rc = d.term(15)
    check(f"{label}: SIGTERM: exit status 0 within 15 s", rc == 0,
          f"(status {rc}){d.tail()}")
    if rc is not None:
        check(f"{label}: SIGTERM: no worker left running",
              wait_until(lambda: not group_alive(d.p.pid), 5, 0.05))
    if group_alive(d.p.pid):
        os.killpg(d.p.pid, signal.SIGKILL)
        d.p.wait(timeout=10)
    else:
        step(f"{label}: SIGTERM -> exit {rc} in "
             f"{time.monotonic() - t0:.1f}s")
    wait_until(lambda: "STOPPING=1" in d.since(d.mark), 1)
    got = d.since(d.mark)
    check(f"{label}: STOPPING=1 sent on exit", "STOPPING=1" in got,
          f"{[m for m in got if not m.startswith('STATUS')][:8]}")
    st = run_cli(tmp, conf, ["status", "--json"])
    try:
        rows = json.loads(st.stdout or b"[]")
    except ValueError:
        rows = None
    check(f"{label}: status --json: readable", st.returncode == 0 and
          isinstance(rows, list), redact(st.stdout + st.stderr)[:300])
    if isinstance(rows, list):
        waiting = [(r.get("post"), r.get("channel"), r.get("state"))
                   for r in rows if r.get("state") != "sent"]
        check(f"{label}: status --json: no pending, sending or failed row",
              not waiting, f"{waiting[:6]}")
        # one row a message and channel (and recipient)
        n = 4 * sum(1 if digest else len(t) for t, digest in exp.batches)
        check(f"{label}: status --json: the {n} deliveries are there",
              len(rows) == n, f"{len(rows)} rows")
    out = d.log().encode() + open(os.path.join(tmp, "cli-output"),
                                  "rb").read()
    db = b"".join(open(os.path.join(tmp, f), "rb").read()
                  for f in os.listdir(tmp) if f.startswith("state.db"))
    for name, sec in (("webhook path", SLACK_SECRET),
                      ("Matrix token", MATRIX_TOKEN),
                      ("SMTP password", SMTP_PASSWORD)):
        check(f"{label}: the {name} is in no output", sec.encode() not in out)
        check(f"{label}: the {name} is not in the state", sec.encode()
              not in db)


# ---- the replays --------------------------------------------------------

def now_utc():
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def setup(tmp, mode):
    rng = random.Random(20261128 + {"git": 0, "dir": 1, "restart": 2}[PART])
    peers = Peers(tmp)
    site = Site(os.path.join(tmp, "site"), git=(mode == "git"))
    # timeline: the baseline two days ago, the batches over the last hours
    base = now_utc() - dt.timedelta(hours=7)
    baseline, _ = batch(rng, 3, base - dt.timedelta(days=2))
    site.add_posts(baseline, "Premiers articles")
    if mode == "git":
        site.commit("Pages du site")
    conf = write_conf(tmp, peers, site, mode)
    return rng, peers, site, conf, baseline, base


def baseline_run(d, peers, label):
    if not start_daemon(d, label):
        return False
    wait_quiet(peers, 1.0, 3)
    check(f"{label}: the first run records a baseline and sends nothing",
          peers.size() == 0, f"{len(peers.http())} requests")
    return True


def future_post(rng, site, exp, d, peers, label):
    """A post dated FUTURE_S ahead: held (log line, nothing sent before
    its date), then sent once due."""
    due = now_utc() + dt.timedelta(seconds=FUTURE_S)
    post = Post(rng, due)
    mono_due = time.monotonic() + (due.timestamp() - time.time())
    site.add_posts([post], "Article programmé")
    exp.add([post])
    pid = post.name[:-3]
    if d.p.poll() is None:
        check(f"{label}: a future post is held with a log line",
              wait_log(d, f"holds {pid}", 4), d.tail())
        wait_until(lambda: time.monotonic() >= mono_due - 0.7, FUTURE_S)
        sent = {c for c, s in peers.seen().items() if post.token in s}
        check(f"{label}: the future post is not sent before its date",
              not sent, f"sent early to {sorted(sent)}")
    return post, mono_due


def check_future_time(label, peers, post, mono_due):
    at = [(c, round(t - mono_due, 2))
          for c, msgs in peers.channels().items() for t, ts in msgs
          if post.token in ts]
    early = [(c, -d) for c, d in at if d < -0.05]
    check(f"{label}: the future post is sent once its date has come",
          not early, f"early by (s): {early}")
    if at:
        step(f"{label}: future post received {min(d for _, d in at):.1f}"
             f"-{max(d for _, d in at):.1f}s after its date")


def check_log_lines(label, d, post):
    """One dispatcher line per delivery, naming the channel, the email
    recipient and the post: "notify: delivery id=N chan=NAME[ rcpt=ADDR]
    post=POST-ID attempt=N result=sent ..." (DESIGN.md's key=value
    delivery lines)."""
    pid = post.name[:-3]
    want = ["chan=soc", "chan=veille"] + \
        [f"chan=mail rcpt={r}" for r in RCPTS]
    log = d.log().splitlines()
    sent = [x for x in log if x.startswith("notify: delivery id=")
            and f" post={pid} " in x and " result=sent " in x]
    missing = [w for w in want
               if sum(1 for x in sent if f" {w} post=" in x) != 1]
    check(f"{label}: one delivery line per channel and recipient, "
          f"result=sent", not missing,
          f"missing {missing}; the log has {sent[:4]}")


def negative_steps(rng, site, exp, d, peers, label, delivered, baseline,
                   quiet=True):
    """modify, delete, rename, draft, unpublished, non-post; returns the
    names the daemon must log a skip for."""
    git = site.git_mode

    def settle():
        if quiet:
            wait_quiet(peers, 0.8, 4)

    # modify posts already seen (a baseline one, a delivered one)
    for p in (baseline[0], delivered[0]):
        site.write(f"_posts/{p.name}", p.text.replace(
            "**Points clés :**", "Mise à jour : l'éditeur a complété son "
            "avis.\n\n**Points clés :**").replace("- veille-cyber",
                                                  "- veille-cyber\n- maj"))
    if git:
        site.commit("Mise à jour de deux articles")
    else:  # an editor's save: a temporary file renamed over the post
        p = delivered[1]
        tmpname = site.path(f"_posts/.{p.name}.swp")
        with open(tmpname, "w", encoding="utf-8") as f:
            f.write(p.text + "\nCorrectif : lien source mis à jour.\n")
        os.rename(tmpname, site.path(f"_posts/{p.name}"))
    settle()
    # delete
    gone = [delivered[2], baseline[1]]
    for p in gone:
        if git:
            site.git("rm", "-q", f"_posts/{p.name}")
        else:
            os.remove(site.path(f"_posts/{p.name}"))
    if git:
        site.git("commit", "-q", "-m", "Retire deux articles")
    settle()
    # rename: one as is, one with a typo fixed in the same commit (dir:
    # just after), as when a title is corrected with its file name
    for p, fix in ((delivered[3], False), (baseline[2], True)):
        new = p.name.replace(".md", "-maj.md")
        if git:
            site.git("mv", f"_posts/{p.name}", f"_posts/{new}")
        else:
            os.rename(site.path(f"_posts/{p.name}"),
                      site.path(f"_posts/{new}"))
        p.name = new
        if fix:
            site.write(f"_posts/{new}", p.text.replace(
                "sans attendre", "sans tarder"))
    if git:
        site.git("add", "-A")
        site.git("commit", "-q", "-m", "Renomme deux articles")
    settle()
    # a draft
    draft = Post(rng, now_utc() - dt.timedelta(minutes=30))
    draft.name = draft.name[11:]  # drafts carry no date in their name
    site.add_posts([draft], "Brouillon" if git else None, sub="_drafts")
    exp.never.append(draft.token)
    settle()
    # published: false
    unpub = Post(rng, now_utc() - dt.timedelta(minutes=20),
                 extra_front="published: false\n")
    site.add_posts([unpub], "Article non publié" if git else None)
    exp.never.append(unpub.token)
    settle()
    # files under _posts that are not posts
    site.write("_posts/README.txt", "Les articles du blog, un par fichier.\n")
    notes = Post(rng, now_utc() - dt.timedelta(minutes=10))
    notes.name = "idees-de-sujets.md"
    site.write("_posts/idees-de-sujets.md", notes.text)
    exp.never.append(notes.token)
    if git:
        site.commit("Notes sous _posts")
    settle()
    return [unpub.name, "README.txt", "idees-de-sujets.md"]


def check_skips(label, d, names, secs=5):
    for n in names:
        ok = wait_until(lambda: any("skips" in l and n in l
                                    for l in d.log().splitlines()), secs)
        check(f"{label}: a skip line for {n}", ok, d.tail(6))


def merge_branch(rng, site):
    """A post added on a branch (another worktree, so HEAD never moves to
    it), a commit on main, then git merge --no-ff."""
    side = os.path.join(os.path.dirname(site.root), "side")
    site.git("worktree", "add", "-q", "-b", "invite", side)
    post = Post(rng, now_utc() - dt.timedelta(minutes=5))
    with open(os.path.join(side, "_posts", post.name), "w",
              encoding="utf-8") as f:
        f.write(post.text)
    site.git("add", "-A", cwd=side)
    site.git("commit", "-q", "-m", "Article invité", cwd=side)
    site.write("about.md", "---\ntitle: À propos\n---\nLa veille, chaque "
               "jour.\n")
    site.commit("À propos")
    site.git("merge", "-q", "--no-ff", "-m", "Fusionne l'article invité",
             "invite")
    return post


def part_git(tmp):
    label = "git"
    rng, peers, site, conf, baseline, base = setup(tmp, "git")
    exp = Expect()
    exp.never += [p.token for p in baseline]
    d = Daemon(tmp, conf)
    if not baseline_run(d, peers, label):
        return d, peers
    step("git: baseline recorded")
    b1, b1d = batch(rng, 1, base)
    site.add_posts(b1, "Un article")
    exp.add(b1d)
    took = wait_delivered(peers, b1, d=d)
    step(f"git: batch of 1 delivered in {took:.1f}s")
    check_log_lines(label, d, b1[0])
    b7, b7d = batch(rng, 7, base + dt.timedelta(hours=1))
    site.add_posts(b7, "Sept articles")
    exp.add(b7d)
    took = wait_delivered(peers, b7, d=d)
    step(f"git: batch of 7 delivered in {took:.1f}s")
    b30, b30d = batch(rng, 30, base + dt.timedelta(hours=2), 3 * 3600)
    site.add_posts(b30, "Trente articles")
    exp.add(b30d)
    took = wait_delivered(peers, b30, d=d)
    step(f"git: batch of 30 delivered in {took:.1f}s")
    # the Slack button points into the site (url + baseurl of _config.yml)
    sl = [r for r in peers.http() if r["path"].startswith("/slack/")
          and b1[0].token in r["body"]]
    check("git: the alert links to url + baseurl of _config.yml",
          sl and "https://veille.example.org/blog/" in sl[0]["body"])
    skipped = negative_steps(rng, site, exp, d, peers, label,
                             b1 + b7d, baseline)
    check_skips(label, d, skipped)
    step("git: modify/delete/rename/draft/unpublished/non-post done")
    post, due = future_post(rng, site, exp, d, peers, label)
    wait_delivered(peers, [post], FUTURE_S + 15, d=d)
    check_future_time(label, peers, post, due)
    m = merge_branch(rng, site)
    exp.add([m])
    took = wait_delivered(peers, [m], d=d)
    step(f"git: merged post delivered in {took:.1f}s")
    wait_quiet(peers, 1.0, 4)
    verify(label, peers, exp)
    final_checks(label, tmp, conf, d, exp)
    return d, peers


def part_dir(tmp):
    label = "dir"
    rng, peers, site, conf, baseline, base = setup(tmp, "dir")
    exp = Expect()
    exp.never += [p.token for p in baseline]
    d = Daemon(tmp, conf)
    if not baseline_run(d, peers, label):
        return d, peers
    step("dir: baseline recorded")
    b1, b1d = batch(rng, 1, base)
    site.add_posts(b1)
    exp.add(b1d)
    took = wait_delivered(peers, b1, d=d)
    step(f"dir: batch of 1 delivered in {took:.1f}s")
    # 7: four written in place, three moved in from a staging folder
    b7, b7d = batch(rng, 7, base + dt.timedelta(hours=1))
    stage = os.path.join(tmp, "staging")
    os.makedirs(stage)
    for i, p in enumerate(b7):
        if i % 2:
            with open(os.path.join(stage, p.name), "w",
                      encoding="utf-8") as f:
                f.write(p.text)
            os.rename(os.path.join(stage, p.name),
                      site.path(f"_posts/{p.name}"))
        else:
            site.write(f"_posts/{p.name}", p.text)
    exp.add(b7d)
    # SIGTERM in the middle of the 7: the send in flight ends, exit 0;
    # the next start sends the rest, nothing twice
    toks = {p.token for p in b7}
    check("dir: 3 of the 7 reached Slack",
          wait_until(lambda: len(toks & peers.seen()["slack"]) >= 3, 20,
                     0.05))
    t = time.monotonic()
    rc = d.term(10)
    check("dir: SIGTERM during the sends: exit 0 within 10 s", rc == 0,
          f"(status {rc}){d.tail()}")
    if rc is None:
        d.kill9()
    step(f"dir: SIGTERM during the 7 sends -> exit {rc} in "
         f"{time.monotonic() - t:.1f}s")
    n = peers.size()
    check("dir: nothing sent after the exit", wait_quiet(peers, 0.5, 2) and
          peers.size() == n)
    if not restart(d, label, "a SIGTERM during the 7 sends"):
        return d, peers
    took = wait_delivered(peers, b7, d=d)
    step(f"dir: batch of 7 delivered ({took:.1f}s after the restart)")
    b30, b30d = batch(rng, 30, base + dt.timedelta(hours=2), 3 * 3600)
    t = time.monotonic()
    site.add_posts(b30)
    step(f"dir: 30 posts written in {1000 * (time.monotonic() - t):.0f} ms")
    exp.add(b30d)
    took = wait_delivered(peers, b30, d=d)
    step(f"dir: batch of 30 delivered in {took:.1f}s")
    skipped = negative_steps(rng, site, exp, d, peers, label,
                             b1 + b7d, baseline)
    check_skips(label, d, skipped)
    step("dir: modify/delete/rename/draft/unpublished/non-post done")
    post, due = future_post(rng, site, exp, d, peers, label)
    wait_delivered(peers, [post], FUTURE_S + 15, d=d)
    check_future_time(label, peers, post, due)
    wait_quiet(peers, 1.0, 4)
    verify(label, peers, exp)
    final_checks(label, tmp, conf, d, exp)
    return d, peers


def restart(d, label, why):
    return start_daemon(d, f"{label}: restart after {why}")


def part_restart(tmp):
    label = "restart"
    rng, peers, site, conf, baseline, base = setup(tmp, "git")
    exp = Expect()
    exp.never += [p.token for p in baseline]
    d = Daemon(tmp, conf)
    if not baseline_run(d, peers, label):
        return d, peers
    kills = 0
    # 1. SIGKILL right after a commit; another post committed while down
    a, _ = batch(rng, 1, base)
    b, _ = batch(rng, 1, base + dt.timedelta(minutes=30))
    site.add_posts(a, "Un article")
    d.kill9()
    kills += 1
    step("restart: killed right after a commit")
    site.add_posts(b, "Un autre article, daemon arrêté")
    exp.add(a + b, digest=False)
    if not restart(d, label, "a kill right after a commit"):
        return d, peers
    took = wait_delivered(peers, a + b, d=d)
    step(f"restart: both posts delivered in {took:.1f}s")
    # 2. SIGKILL in the middle of the 7 sends; commits while down
    b7, b7d = batch(rng, 7, base + dt.timedelta(hours=1))
    site.add_posts(b7, "Sept articles")
    exp.add(b7d)
    toks = {p.token for p in b7}
    mid = wait_until(lambda: len(toks & peers.seen()["slack"]) >= 3, 20, 0.05)
    check("restart: 3 of the 7 reached Slack before the kill", mid)
    # this time the main process alone: its worker must end by itself
    # (after the send in flight), not go on beside the next daemon
    check("restart: SIGKILL of the main process alone: its worker ends "
          "within 10 s", d.kill9(group=False))
    if group_alive(d.p.pid):
        os.killpg(d.p.pid, signal.SIGKILL)
    kills += 1
    got = {c: len(toks & s) for c, s in peers.seen().items()}
    step(f"restart: killed during the 7 sends ({got})")
    # modify/delete/rename while down: posts every channel already has
    seen = peers.seen()
    done = [p for p in b7d if all(p.token in s for s in seen.values())]
    done += [p for p in b7d if p not in done]
    negative_steps(rng, site, exp, d, peers, label, a + b + done[:2],
                   baseline, quiet=False)
    if not restart(d, label, "a kill during the 7 sends"):
        return d, peers
    took = wait_delivered(peers, b7, d=d)
    # 4 or so Slack sends were left, paced 1 s apart: READY=1 (the
    # initial scan done) must not wait for them
    last = max(t for t, ts in peers.channels()["slack"] if set(ts) & toks)
    check("restart: READY=1 once the initial scan is done, before the "
          "backlog is sent", d.ready_at and last > d.ready_at[-1],
          f"READY=1 came {d.ready_at[-1] - last:.1f}s after the last "
          f"Slack send of the backlog" if d.ready_at else "")
    step(f"restart: the 7 delivered {took:.1f}s after the restart")
    # 3. SIGKILL while the Matrix digest send hangs
    wait_quiet(peers, 0.8, 5)
    peers.control({"next": 1, "fault": "hang", "seconds": 10,
                   "match": "/_matrix/client/v3/rooms"})
    b30, b30d = batch(rng, 30, base + dt.timedelta(hours=2), 3 * 3600)
    site.add_posts(b30, "Trente articles")
    exp.add(b30d)
    hung = wait_until(lambda: any(r.get("fault") == "hang"
                                  for r in peers.http()), 20, 0.05)
    check("restart: the Matrix digest send reached the peer (hangs)", hung,
          d.tail())
    time.sleep(0.2)
    d.kill9()
    kills += 1
    step("restart: killed during the digest")
    ev = [e["txn_id"] for e in peers.events()]
    time.sleep(LEASE + 0.5)  # the lease of the row in flight runs out
    if not restart(d, label, "a kill during the digest"):
        return d, peers
    took = wait_delivered(peers, b30, d=d)
    step(f"restart: digest delivered {took:.1f}s after the restart")

    def retransmitted():
        return [r for r in peers.http() if "/send/m.room.message/" in
                r["path"] and r.get("duplicate_txn")]
    retx = wait_until(retransmitted, 15, 0.2) or []
    check("restart: Matrix: the digest was sent again with the same txnId "
          "(the peer created no new event)",
          len(retx) >= 1 and retx[-1]["txn_id"] in ev,
          f"{len(retx)} retransmissions")
    # 4. SIGKILL while idle; a future post and a merge while down
    wait_quiet(peers, 0.8, 5)
    d.kill9()
    kills += 1
    step("restart: killed while idle")
    post, due = future_post(rng, site, exp, d, peers, label)
    m = merge_branch(rng, site)
    # the merged post goes at once, the future one when due: before it
    exp.batches.insert(len(exp.batches) - 1, ([m.token], False))
    if not restart(d, label, "a kill while idle"):
        return d, peers
    if time.monotonic() < due - 1:
        check("restart: the future post is held after the restart",
              wait_log(d, f"holds {post.name[:-3]}", 2), d.tail())
    took = wait_delivered(peers, [post, m], FUTURE_S + 20, d=d)
    check_future_time(label, peers, post, due)
    step(f"restart: the future and merged posts delivered ({took:.1f}s)")
    wait_quiet(peers, 1.5, 6)
    verify(label, peers, exp, max_dups=kills)
    final_checks(label, tmp, conf, d, exp)
    return d, peers


def main():
    if PART not in ("git", "dir", "restart"):
        print("usage: replay.py NOTIFY SOURCE_ROOT git|dir|restart")
        return 2
    skip = 1 if os.environ.get("CI") == "true" else 77
    if subprocess.run(["/usr/bin/python3", "-c", "import aiosmtpd"],
                      capture_output=True).returncode != 0:
        print("SKIP: python3-aiosmtpd is missing")
        return skip
    if shutil.which("openssl") is None:
        print("SKIP: openssl is missing")
        return skip
    if shutil.which("git") is None:
        print("SKIP: git is missing")
        return skip
    # meson's timeout sends SIGTERM: stop the peers and daemons then too
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    tmp = tempfile.mkdtemp(prefix=f"notify-replay-{PART}-")
    keep = os.environ.get("REPLAY_KEEP") == "1"
    try:
        {"git": part_git, "dir": part_dir, "restart": part_restart}[PART](tmp)
    except Exception as e:  # a harness error is a failure, not a crash
        check(f"{PART}: the replay ran to its end", False,
              f"{type(e).__name__}: {e}")
    finally:
        for g in groups:  # the daemons and whatever they started
            if group_alive(g):
                os.killpg(g, signal.SIGKILL)
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)
        if keep:
            say(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    say(f"{PART}: {results['passed']} passed, {results['failed']} failed "
        f"in {time.monotonic() - T0:.0f}s")
    say(f"{results['passed']} passed, {results['failed']} failed")
    return 1 if results["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
