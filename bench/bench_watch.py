#!/usr/bin/env python3
"""bench_watch.py - `notify watch`: idle cost, and commit-to-Slack latency.

usage: bench_watch.py [NOTIFY [SOURCE_ROOT]] [--posts N] [--idle SECS]
                      [--commits N] [--no-dir] [--keep] [--strict]

NOTIFY defaults to /work/wt5/build/notify, SOURCE_ROOT (for
tests/peers/http_peer.py and conf/templates) to the parent of this
directory.  Everything runs on 127.0.0.1, in a temporary folder.

The site: a Jekyll site generated here (_config.yml, index.md, about.md, a
draft, and N = 3000 posts _posts/YYYY-MM-DD-slug.md in French, 2-4 KiB
each: front matter, an introduction, a **Points clés** list, CVEs,
recommendations, a source link), committed to a git repository in four
commits (one per stretch of dates), then `git gc` as a cloned, lived-in
repository would be.

1. Idle.  `notify -c CONF watch` (watch.mode = "git"; one Slack channel to
   http_peer.py) is started on that repository with an empty state, so the
   first run records the baseline and sends nothing.  NOTIFY_SOCKET names
   a datagram socket bound here; the daemon's READY=1 ends the startup
   (reported: time from exec to READY=1, VmRSS at READY=1).  Then 60 s of
   idle: CPU seconds of the daemon (utime + stime of /proc/PID/stat, in
   clock ticks, the value at READY=1 subtracted) and its peak RSS (VmHWM
   of /proc/PID/status at the end of the window; also its RssAnon and
   RssFile, the latter mostly the shared libraries).  VmHWM belongs to
   the process image, so unlike ru_maxrss (which, for a child of this
   Python process, starts at the parent's RSS) it is the daemon's own.
   Also shown: voluntary context switches in the window (wakeups) and
   the log lines written.  The same for watch.mode = "dir" (another
   daemon, another state, same repository; its window overlaps the git
   one, each daemon measured on its own), unless --no-dir.  Nothing may reach the Slack receiver meanwhile.
2. Latency.  With the git daemon still watching, COMMITS (20) commits, one
   at a time, each adding one post (`git add` first, then the timed
   `git commit`).  For each: the time from the end of `git commit` (and
   from its start) until the Slack receiver's record line is seen (the
   record file polled every millisecond, bounded by 10 s), and until the
   request reached the receiver (its `t`, CLOCK_MONOTONIC as ours).  The
   daemon paces Slack at one message a second, so each commit waits 1.3 s
   after the previous alert arrived: pacing is not measured.  (A daemon
   that sends before `git commit` has returned, which is allowed, shows a
   negative time from the end of the commit.)  Each alert must be the
   post committed, answered 200, and come once.

Checks made along the way, printed as "daemon problem: ..." without
changing the exit status: exit 0 and STOPPING=1 on SIGTERM, one log line
"notify: delivery id=N chan=soc post=POST-ID ... result=sent" per alert
(the dispatcher's line), one
request per post.

Targets: idle peak RSS < 8 MB (MB = 1024 KiB, as bench_parse), idle CPU
< 0.05 s over the window, latency median < 200 ms (from the end of the
commit).  One line per figure, then one line per target, "met" or "NOT
met".

Exit status: 0 done (even when a target is missed, unless --strict), 1 the
benchmark could not run (the daemon did not start, did not say READY=1,
sent during the baseline, or an alert did not arrive), 2 usage, 77 skip
(no notify binary, no `watch` command in it, no git).
"""
import argparse
import datetime
import json
import math
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import unicodedata

EXIT_SKIP = 77
HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_NOTIFY = "/work/wt5/build/notify"
SLACK_SECRET = "T0WATCH/B0WATCH/benchWatchWebhook"

READY_TIMEOUT = 60    # seconds from exec to READY=1
ALERT_TIMEOUT = 10    # seconds from a commit to its alert
STOP_TIMEOUT = 10     # seconds from SIGTERM to exit
PACE_GAP = 1.3        # seconds after an alert before the next commit
POLL = 0.001          # record file polled every millisecond

TARGET_RSS_MB = 8.0
TARGET_CPU_S = 0.05
TARGET_LATENCY_MS = 200.0


class Failure(Exception):
    pass


# ------------------------------------------------------------------ the site

SOURCES = [
    ("certfr", "https://www.cert.ssi.gouv.fr/avis/CERTFR-{y}-AVI-{n:04d}/"),
    ("bleepingcomp", "https://www.bleepingcomputer.com/news/security/{slug}/"),
    ("zataz", "https://www.zataz.com/{slug}/"),
    ("lemagit", "https://www.lemagit.fr/actualites/{n}/{slug}"),
    ("isc", "https://isc.sans.edu/diary/{n}"),
    ("thehackernews", "https://thehackernews.com/{y}/{m:02d}/{slug}.html"),
]
VENDORS = ["NordGate", "Valmont Systems", "Arkane Networks", "Helios SCADA",
           "Pictet Cloud", "Brennus VPN", "Orvault ERP", "Castelnau Mail",
           "Tramontane Wi-Fi", "Lutèce Storage", "Vercors Firewall",
           "Rhône Telecom", "Kerguelen Backup", "Mistral CMS"]
PRODUCTS = ["boîtier VPN", "pare-feu", "serveur de messagerie",
            "contrôleur Wi-Fi", "système de stockage",
            "portail d'administration", "logiciel de sauvegarde", "CMS",
            "routeur de bordure", "serveur de virtualisation",
            "logiciel EDR", "client lourd"]
THREATS = [("rançongiciel", "m"), ("campagne d'hameçonnage", "f"),
           ("fuite de données", "f"), ("cheval de Troie bancaire", "m"),
           ("botnet", "m"), ("groupe APT", "m"), ("vol d'identifiants", "m"),
           ("attaque par déni de service", "f"), ("infostealer", "m"),
           ("compromission de la chaîne d'approvisionnement", "f")]
TARGETS = ["hôpitaux", "collectivités territoriales", "banques régionales",
           "opérateurs télécoms", "PME industrielles", "universités",
           "mutuelles", "cabinets d'avocats", "ministères",
           "plateformes de covoiturage", "éditeurs de jeux vidéo"]
ACTIONS = [("une", "exécution de code à distance sans authentification"),
           ("une", "élévation de privilèges locale"),
           ("un", "contournement de l'authentification"),
           ("une", "lecture de fichiers arbitraires"),
           ("une", "injection SQL dans l'interface web"),
           ("un", "déni de service à distance"),
           ("une", "falsification de requêtes côté serveur (SSRF)"),
           ("une", "injection de commandes")]
TITLES = [
    "{vendor} corrige {k} failles critiques dans son {product}",
    "{un_threat_cap} vise les {target} en France",
    "{threat_cap} : les {target} de nouveau dans le viseur",
    "Correctifs hors cycle pour le {product} {vendor}",
    "Alerte du CERT-FR sur le {product} {vendor}",
    "Les {target} touchés par {un_threat}",
    "{vendor} : exploitation active d'une faille du {product}",
    "Bilan hebdomadaire : {threat}, {product} {vendor} et {target}",
]
SENTENCES = [
    "Selon l'éditeur, la faille la plus grave permet {une_action}.",
    "Les chercheurs ont observé les premières tentatives d'exploitation "
    "quelques heures après la publication du bulletin.",
    "Plusieurs centaines d'équipements restent exposés sur Internet en "
    "France, d'après les relevés des moteurs de recherche spécialisés.",
    "{le_threat_cap} s'appuie sur des identifiants volés lors de campagnes "
    "antérieures visant les {target}.",
    "L'ANSSI recommande d'appliquer les correctifs sans attendre la "
    "prochaine fenêtre de maintenance.",
    "Les indicateurs de compromission publiés comprennent des adresses IP, "
    "des noms de domaine et des empreintes de fichiers.",
    "L'attaquant dépose ensuite une porte dérobée qui survit aux mises à "
    "jour du {product}.",
    "Les données dérobées ont été mises en vente sur un forum cybercriminel "
    "pour quelques milliers d'euros.",
    "Le groupe revendique l'attaque sur son site vitrine et menace de "
    "publier les documents sous dix jours.",
    "La version corrigée est disponible depuis le portail client de "
    "{vendor}, accompagnée d'un outil de vérification.",
    "Les journaux d'accès du {product} permettent de repérer les requêtes "
    "malveillantes, reconnaissables à leurs paramètres anormalement longs.",
    "Aucune solution de contournement n'est proposée : seule la mise à "
    "jour corrige la vulnérabilité.",
]
KEYPOINTS = [
    "{k_cap} vulnérabilités corrigées dans le {product} {vendor}.",
    "Exploitation active observée depuis le {day} {month}.",
    "Les {target} sont les premières victimes identifiées.",
    "Les opérateurs du {threat_kind} chiffrent les sauvegardes avant de "
    "réclamer une rançon.",
    "Une preuve de concept circule publiquement.",
    "Les équipements exposés sur Internet sont les plus à risque.",
    "Le CERT-FR a publié un avis de sécurité dédié.",
    "Les identifiants dérobés sont revendus sur des forums spécialisés.",
]
RECOS = [
    "Appliquer sans délai la dernière version du {product}.",
    "Restreindre l'accès à l'interface d'administration au réseau interne.",
    "Rechercher des traces de compromission dans les journaux.",
    "Renouveler les secrets et certificats stockés sur l'équipement.",
    "Activer l'authentification multifacteur sur les accès distants.",
    "Sensibiliser les équipes à ce type de menace ({threat}).",
    "Vérifier l'intégrité des sauvegardes hors ligne.",
]
MONTHS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet",
          "août", "septembre", "octobre", "novembre", "décembre"]

CONFIG_YML = """\
# Configuration Jekyll du site de veille (généré par bench_watch.py).
title                    : "Veille cyber"
description              : &description "Résumés quotidiens de l'actualité sécurité."
name                     : &name "Équipe Veille"
locale                   : "fr-FR"
url                      : "https://veille.example.org"
baseurl                  : ""
timezone                 : Europe/Paris
future                   : false
permalink                : /:year/:month/:day/:title/
paginate                 : 20

author:
  name                   : *name
  bio                    : *description
  email                  : "veille@example.org"

markdown                 : kramdown
kramdown:
  input                  : GFM
  hard_wrap              : false

defaults:
  - scope:
      path               : ""
      type               : posts
    values:
      layout             : single
      comments           : false
      share              : true

plugins:
  - jekyll-feed
  - jekyll-paginate
  - jekyll-sitemap

exclude:
  - Gemfile
  - Gemfile.lock
  - README.md
"""

OTHER_FILES = {
    "index.md": "---\nlayout: home\ntitle: Accueil\n---\n"
                "Les derniers résumés de la veille cyber.\n",
    "about.md": "---\nlayout: single\ntitle: À propos\npermalink: /a-propos/\n"
                "---\nCe site résume chaque jour l'actualité de la sécurité "
                "informatique pour l'équipe SOC.\n",
    "Gemfile": 'source "https://rubygems.org"\ngem "jekyll", "~> 4.3"\n'
               'group :jekyll_plugins do\n  gem "jekyll-feed"\n'
               '  gem "jekyll-paginate"\n  gem "jekyll-sitemap"\nend\n',
    ".gitignore": "_site/\n.jekyll-cache/\n.sass-cache/\nGemfile.lock\n",
    "README.md": "# Veille cyber\n\nSite Jekyll : `bundle exec jekyll "
                 "serve`.\n",
    "_drafts/brouillon-sur-les-passkeys.md":
        "---\ntitle: 'Brouillon : les passkeys en entreprise'\n"
        "tags: [veille-cyber]\n---\n#### Points clés\n*   À écrire.\n",
}


def slugify(text, limit=70):
    t = unicodedata.normalize("NFKD", text)
    t = "".join(c for c in t if not unicodedata.combining(c)).lower()
    out, dash = [], False
    for c in t:
        if c.isascii() and c.isalnum():
            out.append(c)
            dash = False
        elif not dash and out:
            out.append("-")
            dash = True
    return "".join(out).strip("-")[:limit].strip("-")


def yaml_quote(s):
    return "'" + s.replace("'", "''") + "'"


class Words:
    """Fills the templates of one post, from one random generator."""

    def __init__(self, rng, when):
        self.rng = rng
        threat, g = rng.choice(THREATS)
        k = rng.choice(["deux", "trois", "quatre", "cinq"])
        un = ("un " if g == "m" else "une ") + threat
        le = ("l'" if threat[0] in "aeiouéh" else
              "le " if g == "m" else "la ") + threat
        self.v = dict(vendor=rng.choice(VENDORS), product=rng.choice(PRODUCTS),
                      threat=threat, threat_cap=threat[0].upper() + threat[1:],
                      un_threat=un, un_threat_cap=un[0].upper() + un[1:],
                      le_threat_cap=le[0].upper() + le[1:],
                      threat_kind=rng.choice(["rançongiciel", "botnet",
                                              "groupe"]),
                      target=rng.choice(TARGETS),
                      k=k, k_cap=k.capitalize(),
                      day=max(1, when.day - rng.randint(0, 5)),
                      month=MONTHS[when.month - 1])

    def fill(self, template):
        art, act = self.rng.choice(ACTIONS)
        self.v.update(action=act, une_action=f"{art} {act}")
        return template.format(**self.v)

    def pick(self, pool, n):
        return [self.fill(t) for t in self.rng.sample(pool, n)]


def make_post(rng, when, serial, date_line):
    """(file name, text) of a post of 2-4 KiB dated `when`."""
    w = Words(rng, when)
    base = w.fill(rng.choice(TITLES))
    title = f"{base} (n° {serial})"
    slug = slugify(base, 60) + f"-{serial}"
    tag, src = rng.choice(SOURCES)
    url = src.format(y=when.year, m=when.month, n=rng.randint(100, 99999),
                     slug=slug)
    cves = [f"CVE-{when.year}-{rng.randint(1000, 59999)}"
            for _ in range(rng.randint(1, 3))]
    target_size = rng.randint(2100, 3500)
    fm = ["---", f"title: {yaml_quote(title)}", f"date: {date_line}",
          "categories: [" + ", ".join(rng.sample(
              ["alertes", "cve", "menaces", "fuites", "correctifs"], 2)) + "]",
          "tags:", "- veille-cyber", f"- {tag}", "---"]
    head = [f"### {base}", "",
            " ".join(w.pick(SENTENCES, 3)), "",
            "#### Points clés"]
    head += ["*   " + s for s in w.pick(KEYPOINTS, rng.randint(3, 5))]
    head += ["", "#### Vulnérabilités"]
    head += [f"*   **{c}** : {w.fill('{action}')} dans le {w.v['product']} "
             f"{w.v['vendor']}." for c in cves]
    tail = ["", "#### Recommandations"]
    tail += ["*   " + s for s in w.pick(RECOS, rng.randint(2, 4))]
    tail += ["", "---", f"[Source]({url}){{:target=\"_blank\"}}", ""]
    analysis = ["", "#### Analyse"]
    text = "\n".join(fm + head + analysis + tail)
    while len(text.encode()) < target_size:
        analysis.append("")
        analysis.append(" ".join(w.pick(SENTENCES, 3)))
        text = "\n".join(fm + head + analysis + tail)
    return f"{when:%Y-%m-%d}-{slug}.md", text


def date_line(rng, when):
    """Front-matter dates as real sites have them: a day, or a time and a
    zone."""
    if rng.random() < 0.5:
        return f"{when:%Y-%m-%d}"
    off = "+0200" if 4 <= when.month <= 10 else "+0100"
    hh, mm = rng.randint(6, 20), rng.randint(0, 59)
    return f"{when:%Y-%m-%d} {hh:02d}:{mm:02d}:00 {off}"


def git_env(tmp):
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL="/dev/null",
               GIT_AUTHOR_NAME="Équipe Veille",
               GIT_AUTHOR_EMAIL="veille@example.org",
               GIT_COMMITTER_NAME="Équipe Veille",
               GIT_COMMITTER_EMAIL="veille@example.org", HOME=tmp, LC_ALL="C")
    return env


def git(repo, env, *args):
    p = subprocess.run(["git", "-C", repo] + list(args), env=env,
                       stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=120)
    if p.returncode != 0:
        raise Failure(f"git {' '.join(args)}: exit {p.returncode}: "
                      f"{p.stderr.decode(errors='replace')[-400:]}")
    return p.stdout.decode()


def make_site(repo, n_posts, env, commits=4):
    """The site, its n_posts posts over the days before today, committed in
    `commits` commits; returns (total bytes of posts, sizes)."""
    rng = random.Random(20261128)
    os.makedirs(os.path.join(repo, "_posts"))
    git(repo, env, "init", "-q", "-b", "main")
    with open(os.path.join(repo, "_config.yml"), "w") as f:
        f.write(CONFIG_YML)
    for name, text in OTHER_FILES.items():
        path = os.path.join(repo, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
    today = datetime.date.today()
    per_day = 3  # a busy veille site: two to four posts a day
    days = math.ceil(n_posts / per_day)
    first = today - datetime.timedelta(days=days + 1)
    sizes, names = [], set()
    per_commit = math.ceil(n_posts / commits)
    for i in range(n_posts):
        when = first + datetime.timedelta(days=i // per_day)
        name, text = make_post(rng, when, i + 1, date_line(rng, when))
        assert name not in names, name
        names.add(name)
        with open(os.path.join(repo, "_posts", name), "w") as f:
            f.write(text)
        sizes.append(len(text.encode()))
        if (i + 1) % per_commit == 0 or i + 1 == n_posts:
            git(repo, env, "add", "-A")
            git(repo, env, "commit", "-q", "-m",
                f"Articles jusqu'au {when:%d/%m/%Y}")
    git(repo, env, "gc", "-q")
    return sizes


# ------------------------------------------------------------------ the daemon

def proc_cpu(pid):
    """(utime + stime, cutime + cstime) of pid, in clock ticks."""
    with open(f"/proc/{pid}/stat") as f:
        s = f.read()
    rest = s[s.rindex(")") + 2:].split()  # rest[0] is field 3, state
    return int(rest[11]) + int(rest[12]), int(rest[13]) + int(rest[14])


def proc_status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def kib(status, key):
    return int(status[key].split()[0])


def daemon_env():
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    for k in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY",
              "HTTPS_PROXY", "ALL_PROXY", "NOTIFY_SOCKET", "WATCHDOG_USEC",
              "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES",
              "SOURCE_DATE_EPOCH", "CREDENTIALS_DIRECTORY",
              # meson sets MALLOC_PERTURB_ to a random byte; glibc then
              # fills every allocation, which inflates the RSS.
              "MALLOC_PERTURB_"):
        env.pop(k, None)
    env.update(NO_PROXY="*", no_proxy="*")
    return env


class Daemon:
    """`notify -c CONF watch` with a NOTIFY_SOCKET of our own."""

    def __init__(self, name, notify, conf, tmp):
        self.name, self.notify, self.conf, self.tmp = name, notify, conf, tmp
        self.log = os.path.join(tmp, f"{name}.log")
        self.sock_path = os.path.join(tmp, f"{name}.sock")
        self.messages = []          # (monotonic, text)
        self.ready = threading.Event()
        self.stopping = False
        self.proc = None
        self.sock = None
        self.reader = None

    def _read(self):
        while not self.stopping:
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            t = time.monotonic()
            text = data.decode("utf-8", "replace")
            self.messages.append((t, text))
            if "READY=1" in text.split("\n"):
                self.ready_t = t
                self.ready_rss = kib(proc_status(self.proc.pid), "VmRSS")
                self.ready_cpu = proc_cpu(self.proc.pid)
                self.ready.set()

    def start(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.sock_path)
        self.sock.settimeout(0.1)
        env = daemon_env()
        env["NOTIFY_SOCKET"] = self.sock_path
        log = open(self.log, "wb")
        self.t_exec = time.monotonic()
        self.proc = subprocess.Popen([self.notify, "-c", self.conf, "watch"],
                                     stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env)
        log.close()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        end = self.t_exec + READY_TIMEOUT
        while not self.ready.wait(0.05):
            if self.proc.poll() is not None:
                raise Failure(f"{self.name}: notify watch exited "
                              f"{self.proc.returncode} before READY=1\n"
                              + self.tail())
            if time.monotonic() > end:
                raise Failure(f"{self.name}: no READY=1 within "
                              f"{READY_TIMEOUT}s\n" + self.tail())
        return self.ready_t - self.t_exec

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def sample(self):
        if not self.alive():
            raise Failure(f"{self.name}: notify watch exited "
                          f"{self.proc.returncode}\n" + self.tail())
        cpu = proc_cpu(self.proc.pid)
        st = proc_status(self.proc.pid)
        return dict(cpu=cpu, hwm=kib(st, "VmHWM"), rss=kib(st, "VmRSS"),
                    anon=kib(st, "RssAnon"), file=kib(st, "RssFile"),
                    vctx=int(st["voluntary_ctxt_switches"]),
                    nvctx=int(st["nonvoluntary_ctxt_switches"]),
                    threads=int(st["Threads"]), t=time.monotonic())

    def stop(self):
        """SIGTERM, bounded wait, SIGKILL if need be; returns the exit
        status (None if it had to be killed)."""
        rc = None
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    rc = self.proc.wait(timeout=STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout=5)
            else:
                rc = self.proc.returncode
        time.sleep(0.1)  # the last datagrams
        self.stopping = True
        if self.reader is not None:
            self.reader.join(timeout=2)
        if self.sock is not None:
            self.sock.close()
        return rc

    def said(self, what):
        return any(what in m.split("\n") for _, m in self.messages)

    def lines(self):
        try:
            with open(self.log, encoding="utf-8", errors="replace") as f:
                return f.read().splitlines()
        except OSError:
            return []

    def tail(self, n=15):
        return "\n".join(f"  | {l}" for l in self.lines()[-n:])


def write_conf(tmp, name, repo, root, mode, hport):
    path = os.path.join(tmp, f"{name}.url")
    with open(path, "w") as f:
        f.write(f"http://127.0.0.1:{hport}/slack/{name}/{SLACK_SECRET}\n")
    os.chmod(path, 0o600)
    conf = os.path.join(tmp, f"{name}.conf")
    with open(conf, "w") as f:
        f.write(f'''
site: {{ repo = "{repo}"; posts_dir = "_posts";
        url = "https://veille.example.org"; locale = "fr"; }};
state = "{tmp}/{name}-state.db";
alerts: {{ templates = "{root}/conf/templates"; }};
watch: {{ mode = "{mode}"; settle_ms = 300; fetch_interval = 0; }};
delivery: {{ lease = "2m"; max_age = "1h"; }};
channels = (
  {{ name = "soc"; type = "slack"; webhook_url_file = "{name}.url"; }}
);
''')
    return conf


# ------------------------------------------------------------------ the peer

def wait_file(path, secs=10):
    end = time.monotonic() + secs
    while time.monotonic() < end:
        if os.path.exists(path) and os.path.getsize(path) > 0:
            with open(path) as f:
                return f.read().strip()
        time.sleep(0.05)
    raise Failure(f"no {path} after {secs}s (peer did not start?)")


class Peer:
    def __init__(self, root, tmp):
        self.root, self.tmp = root, tmp
        self.rec = os.path.join(tmp, "http.jsonl")
        self.proc = None

    def start(self):
        log = open(os.path.join(self.tmp, "http.log"), "w")
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(self.root, "tests", "peers",
                                          "http_peer.py"),
             "--record", self.rec, "--port-file",
             os.path.join(self.tmp, "http.port"), "--max-lifetime", "600"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        self.port = int(wait_file(os.path.join(self.tmp, "http.port")))

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)

    def records(self):
        with open(self.rec, encoding="utf-8") as f:
            return [json.loads(l) for l in f if l.strip()]


class Tail:
    """Complete lines appended to a file, read as they come."""

    def __init__(self, path):
        self.f = open(path, "rb")
        self.f.seek(0, os.SEEK_END)
        self.buf = b""

    def lines(self):
        data = self.f.read()
        if data:
            self.buf += data
        if b"\n" not in self.buf:
            return []
        done, _, self.buf = self.buf.rpartition(b"\n")
        return [json.loads(l) for l in done.split(b"\n") if l.strip()]

    def wait(self, secs):
        """(monotonic time the first new lines were seen, lines), or
        (None, []) after secs."""
        end = time.monotonic() + secs
        while True:
            got = self.lines()
            if got:
                return time.monotonic(), got
            if time.monotonic() > end:
                return None, []
            time.sleep(POLL)

    def close(self):
        self.f.close()


# ------------------------------------------------------------------ phases

def mb(k):
    return k / 1024.0


def idle_figures(d, start, end, clk):
    cpu_ticks = end["cpu"][0] - start["cpu"][0]
    return dict(
        startup_ms=(d.ready_t - d.t_exec) * 1000.0,
        ready_rss=mb(d.ready_rss),
        hwm=mb(end["hwm"]), rss=mb(end["rss"]),
        anon=mb(end["anon"]), file=mb(end["file"]),
        cpu_s=cpu_ticks / clk, cpu_ticks=cpu_ticks,
        child_s=(end["cpu"][1] - start["cpu"][1]) / clk,
        boot_cpu_s=d.ready_cpu[0] / clk,
        window=end["t"] - start["t"],
        vctx=end["vctx"] - start["vctx"],
        nvctx=end["nvctx"] - start["nvctx"], threads=end["threads"])


def latency_phase(a, repo, genv, daemon, peer, problems):
    """Returns [(from_end_ms, from_start_ms, arrival_ms), ...]."""
    rng = random.Random(4242)
    tail = Tail(peer.rec)
    rows = []
    last = time.monotonic() - PACE_GAP
    try:
        for i in range(a.commits):
            now = datetime.datetime.now(datetime.timezone.utc) \
                - datetime.timedelta(minutes=1)
            serial = 900000 + i
            name, text = make_post(rng, now, serial,
                                   f"{now:%Y-%m-%d %H:%M:%S} +0000")
            with open(os.path.join(repo, "_posts", name), "w") as f:
                f.write(text)
            git(repo, genv, "add", "--", os.path.join("_posts", name))
            pause = last + PACE_GAP - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            if not daemon.alive():
                raise Failure(f"git daemon exited {daemon.proc.returncode}"
                              " during the latency phase\n" + daemon.tail())
            t0 = time.monotonic()
            p = subprocess.run(["git", "-C", repo, "commit", "-q", "-m",
                                f"Nouvel article : {name}"], env=genv,
                               stdin=subprocess.DEVNULL, capture_output=True,
                               timeout=60)
            t1 = time.monotonic()
            if p.returncode != 0:
                raise Failure(f"git commit: exit {p.returncode}: "
                              + p.stderr.decode(errors="replace")[-300:])
            t2, recs = tail.wait(ALERT_TIMEOUT)
            if t2 is None:
                raise Failure(
                    f"commit {i + 1}/{a.commits} ({name}): no alert at the "
                    f"Slack receiver within {ALERT_TIMEOUT}s\n"
                    + daemon.tail())
            r = recs[0]
            body = json.dumps(r.get("json"), ensure_ascii=False)
            if f"n° {serial}" not in body:
                problems.append(f"commit {i + 1}: the alert received is not "
                                f"the post committed ({name}): "
                                + r.get("body", "")[:200])
            if r.get("status") != 200:
                problems.append(f"commit {i + 1}: the Slack receiver "
                                f"answered {r.get('status')}: "
                                + r.get("body", "")[:200])
            if len(recs) > 1:
                problems.append(f"commit {i + 1}: {len(recs)} requests "
                                "for one post")
            rows.append(((t2 - t1) * 1000.0, (t2 - t0) * 1000.0,
                         (r["t"] - t1) * 1000.0))
            print(f"  commit {i + 1:2d}: git commit {(t1 - t0) * 1000:6.1f}"
                  f" ms, then alert received {(r['t'] - t1) * 1000:6.1f} ms,"
                  f" record seen {(t2 - t1) * 1000:6.1f} ms", flush=True)
            last = t2
        # nothing more may come: one alert per post
        t, extra = tail.wait(PACE_GAP + 0.5)
        if extra:
            problems.append(f"{len(extra)} more request(s) after the last "
                            "alert: " + ", ".join(r.get("path", "?")
                                                  for r in extra))
    finally:
        tail.close()
    return rows


def p90(xs):
    """Nearest rank: the value at or below which 90 % of them lie."""
    s = sorted(xs)
    return s[max(0, math.ceil(0.9 * len(s)) - 1)]


def target_line(name, value, target, met):
    print(f"target {name} {target}: {value} -> {'met' if met else 'NOT met'}")
    return met


# ------------------------------------------------------------------ main

def parse_args(argv):
    ap = argparse.ArgumentParser(add_help=True)
    ap.add_argument("notify", nargs="?", default=DEFAULT_NOTIFY)
    ap.add_argument("root", nargs="?", default=os.path.dirname(HERE))
    ap.add_argument("--posts", type=int, default=3000)
    ap.add_argument("--idle", type=float, default=60.0,
                    help="seconds of the idle window (default 60)")
    ap.add_argument("--commits", type=int, default=20)
    ap.add_argument("--no-dir", action="store_true",
                    help="leave out the idle figures of watch.mode = dir")
    ap.add_argument("--keep", action="store_true",
                    help="keep the temporary folder (site, logs, records)")
    ap.add_argument("--strict", action="store_true",
                    help="exit 1 when a target is missed")
    a = ap.parse_args(argv)
    if a.posts < 1 or a.commits < 1 or a.idle <= 0:
        ap.error("--posts, --commits and --idle must be positive")
    return a


def main(argv):
    a = parse_args(argv)
    root = os.path.abspath(a.root)
    notify = os.path.abspath(a.notify)
    if not os.access(notify, os.X_OK):
        print(f"bench_watch: SKIP: no notify binary at {notify}")
        return EXIT_SKIP
    h = subprocess.run([notify, "--help"], capture_output=True, text=True,
                       env=daemon_env(), timeout=30)
    if " watch" not in h.stdout + h.stderr:
        print(f"bench_watch: SKIP: {notify} has no `watch` command")
        return EXIT_SKIP
    if shutil.which("git") is None:
        print("bench_watch: SKIP: git is missing")
        return EXIT_SKIP
    tmp = tempfile.mkdtemp(prefix="bench-watch-")
    peer = Peer(root, tmp)
    daemons = []
    try:
        return bench(a, notify, root, tmp, peer, daemons)
    except (Failure, subprocess.TimeoutExpired) as e:
        print(f"bench_watch: FAIL: {e}")
        return 1
    finally:
        for d in daemons:
            d.stop()
        peer.stop()
        if a.keep:
            print(f"kept: {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def bench(a, notify, root, tmp, peer, daemons):
    clk = os.sysconf("SC_CLK_TCK")
    repo = os.path.join(tmp, "site")
    genv = git_env(tmp)
    problems = []

    t = time.monotonic()
    sizes = make_site(repo, a.posts, genv)
    head = git(repo, genv, "rev-list", "--count", "HEAD").strip()
    print(f"site: {len(sizes)} posts, {min(sizes)}-{max(sizes)} bytes "
          f"(median {statistics.median(sizes):.0f}), {head} commits, "
          f"packed; made in {time.monotonic() - t:.1f} s")
    peer.start()

    # --- idle: the git daemon, then the dir one; each measured from its
    # own READY=1 over its own window
    modes = ["git"] + ([] if a.no_dir else ["dir"])
    starts = {}
    for mode in modes:
        d = Daemon(mode, notify, write_conf(tmp, mode, repo, root, mode,
                                            peer.port), tmp)
        daemons.append(d)
        d.start()
        starts[mode] = d.sample()
    ends = {}
    for d in daemons:
        pause = starts[d.name]["t"] + a.idle - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        ends[d.name] = d.sample()
    sent = peer.records()
    if sent:
        raise Failure(f"{len(sent)} request(s) reached the Slack receiver "
                      "during the baseline and the idle window (first run: "
                      "nothing is sent): "
                      + ", ".join(r.get("path", "?").rsplit("/", 4)[0]
                                  for r in sent[:5]))
    figs = {d.name: idle_figures(d, starts[d.name], ends[d.name], clk)
            for d in daemons}
    idle_lines = {d.name: len(d.lines()) for d in daemons}
    if not a.no_dir:
        dird = daemons.pop()
        rc = dird.stop()
        if rc != 0:
            problems.append(f"dir daemon: exit {rc} on SIGTERM (expected 0)")
        if not dird.said("STOPPING=1"):
            problems.append("dir daemon: no STOPPING=1 on SIGTERM")

    # --- latency, with the git daemon
    gitd = daemons[0]
    print(f"latency: {a.commits} commits of one post each, Slack receiver on "
          f"127.0.0.1, {PACE_GAP} s after each alert")
    rows = latency_phase(a, repo, genv, gitd, peer, problems)
    lat_cpu = gitd.sample()
    rc = gitd.stop()
    daemons.pop()
    if rc != 0:
        problems.append(f"git daemon: exit {rc} on SIGTERM (expected 0)")
    if not gitd.said("STOPPING=1"):
        problems.append("git daemon: no STOPPING=1 on SIGTERM")
    # one dispatcher line per delivery: "delivery id=N chan=soc post=ID
    # attempt=N result=sent ..."
    log = gitd.lines()
    sent_lines = [l for l in log
                  if " chan=soc " in l and " result=sent " in l]
    if len(sent_lines) != a.commits:
        problems.append(f"git daemon: {len(sent_lines)} log lines "
                        f"'delivery ... chan=soc ... result=sent' for "
                        f"{a.commits} posts")

    # --- figures
    print()
    for mode in modes:
        f = figs[mode]
        print(f"{mode} mode, {len(sizes)} posts: READY=1 after "
              f"{f['startup_ms']:.0f} ms ({f['boot_cpu_s']:.2f} s CPU), "
              f"RSS at READY=1 {f['ready_rss']:.1f} MB")
        print(f"{mode} mode, idle {f['window']:.1f} s: CPU {f['cpu_s']:.3f} s "
              f"({f['cpu_ticks']} ticks of 1/{clk} s"
              + (f", children {f['child_s']:.3f} s" if f["child_s"] else "")
              + f"), peak RSS (VmHWM) {f['hwm']:.1f} MB, RSS "
              f"{f['rss']:.1f} MB (anonymous {f['anon']:.1f} MB, files "
              f"{f['file']:.1f} MB), {f['vctx']} wakeups (voluntary context "
              f"switches), {f['threads']} thread(s), "
              f"{idle_lines[mode]} log line(s) so far")
    end_ms = [r[0] for r in rows]
    start_ms = [r[1] for r in rows]
    arr_ms = [r[2] for r in rows]
    for label, xs in (("commit end -> record seen", end_ms),
                      ("commit start -> record seen", start_ms),
                      ("commit end -> request at receiver", arr_ms)):
        print(f"latency {label}: median {statistics.median(xs):.1f} ms, "
              f"p90 {p90(xs):.1f} ms, max {max(xs):.1f} ms, "
              f"min {min(xs):.1f} ms ({len(xs)} commits)")
    print(f"git mode after the latency phase: peak RSS (VmHWM) "
          f"{mb(lat_cpu['hwm']):.1f} MB")
    print()
    met = []
    for mode in modes:
        f = figs[mode]
        met.append(target_line(f"{mode} idle peak RSS <", f"{f['hwm']:.1f} MB",
                               f"{TARGET_RSS_MB:.0f} MB",
                               f["hwm"] < TARGET_RSS_MB))
        met.append(target_line(f"{mode} idle CPU over {a.idle:.0f} s <",
                               f"{f['cpu_s']:.3f} s", f"{TARGET_CPU_S} s",
                               f["cpu_s"] < TARGET_CPU_S))
    med = statistics.median(end_ms)
    met.append(target_line("latency median <", f"{med:.1f} ms",
                           f"{TARGET_LATENCY_MS:.0f} ms",
                           med < TARGET_LATENCY_MS))
    for p in problems:
        print(f"daemon problem: {p}")
    return 1 if a.strict and not all(met) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
