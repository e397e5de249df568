#!/usr/bin/env python3
"""A digest of a big batch: 2,000 posts in one scan (digest threshold 6).

usage: digest.py NOTIFY SOURCE_ROOT

Builds a site of 2,000 posts in a temporary folder (directory mode, the
rendering test configuration: Slack Block Kit and compat, Matrix,
hookshot, email), runs `notify scan --backfill 2000 --dry-run` and checks
each channel's one digest:

- every receiver limit holds (payloads.py's checks);
- every URL in it is whole: a post's URL or the site's home page;
- it lists whole items only and, when it cannot list them all, ends with
  "… and N more: LINK" (English) or "… et N de plus : LINK" (French), N
  in the locale's digits, listed + N = 2,000, LINK the site's home page;
- Matrix keeps formatted_body and hookshot html, listing the same posts
  as the plain text;
- email lists all 2,000 and says nothing of more.
Prints one line per problem and "N passed, N failed".
"""
import json
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import payloads  # noqa: E402

N = 2000
SITE = "https://veille.example.org/blog/"
URL = re.compile(r"https?://[^\s|<>\"\\)]+")
# the "more" line of each locale: "1,848" / "1\u202f848"
MORE = {
    "en": re.compile(r"… and (\d{1,3}(?:,\d{3})*) more: (.*)$"),
    "fr": re.compile(r"… et (\d{1,3}(?:\u202f\d{3})*) de plus : (.*)$"),
}
LOCALE = {"soc": "fr", "mm": "en", "veille": "fr", "hook": "fr"}
# posts each listed in this test's run (~170 Block Kit, 11 within
# Discord's 2,000 characters, 150 Matrix and hookshot): a bound far
# below, so that a channel listing next to nothing is noticed
AT_LEAST = {"soc": 100, "mm": 5, "veille": 100, "hook": 100}


def make_site(root, tmpl_root):
    """The site, its secrets and configuration; returns the post URLs."""
    posts = os.path.join(root, "site", "_posts")
    os.makedirs(posts)
    with open(os.path.join(tmpl_root, "examples/site/_config.yml")) as f:
        cfg = f.read()
    with open(os.path.join(root, "site", "_config.yml"), "w") as f:
        f.write(cfg)
    urls = set()
    for i in range(N):
        day = 1 + i % 28
        slug = f"alerte-{i:04d}-correctif-urgent-pour-le-produit-{i % 97}"
        with open(os.path.join(posts, f"2026-10-{day:02d}-{slug}.md"),
                  "w") as f:
            f.write(f'---\ntitle: "Alerte {i} : correctif & mise à jour '
                    f'<produit {i % 97}>"\ndate: 2026-10-{day:02d}\n'
                    f"tags: [veille-cyber]\n---\n**Points clés :**\n\n"
                    f"* point {i}\n\nCVE-2026-{10000 + i}\n")
        urls.add(f"{SITE}2026/10/{day:02d}/{slug}/")
    with open(os.path.join(tmpl_root, "tests/data/render/notify.conf")) as f:
        conf = f.read()
    conf = conf.replace('"../../../examples/site"',
                        json.dumps(os.path.join(root, "site")))
    conf = conf.replace('"../../../conf/templates"',
                        json.dumps(os.path.join(tmpl_root, "conf/templates")))
    conf += 'state = %s;\n' % json.dumps(os.path.join(root, "state.db"))
    with open(os.path.join(root, "notify.conf"), "w") as f:
        f.write(conf)
    for name in ("slack.url", "mm.url", "hookshot.url", "matrix.token"):
        path = os.path.join(root, name)
        with open(path, "w") as f:
            f.write("https://hooks.example.org/unused\n")
        os.chmod(path, 0o600)
    return urls


def check_list(name, text, urls, problems):
    """Items of a plain or mrkdwn digest: how many it lists; checks its
    URLs and its "more" line."""
    lines = text.rstrip("\n").split("\n")
    listed = sum(1 for l in lines if l.startswith("• "))
    for u in URL.findall(text):
        if u not in urls and u != SITE:
            problems.append(f"{name}: URL not whole: {u[:80]!r}")
    m = MORE[LOCALE[name]].match(lines[-1])
    if listed == N:
        if m:
            problems.append(f"{name}: lists all, yet says there are more")
        return listed
    if m is None:
        problems.append(f"{name}: {listed} listed, last line is not the "
                        f"'more' line: {lines[-1][-80:]!r}")
        return listed
    more = int(re.sub(r"\D", "", m.group(1)))
    if listed + more != N:
        problems.append(f"{name}: {listed} listed + {more} more != {N}")
    if SITE not in m.group(2):
        problems.append(f"{name}: the 'more' line has no link to {SITE}")
    if listed < AT_LEAST[name]:
        problems.append(f"{name}: only {listed} listed")
    return listed


def check_chat(name, kind, body, urls, problems):
    msg = json.loads(body)
    if kind == "slack" and "blocks" in msg:
        payloads.check_slack(body, problems, False)
        text = "".join(b["text"]["text"] for b in msg["blocks"]
                       if b["type"] == "section")
        return check_list(name, text, urls, problems)
    if kind == "slack":
        payloads.check_slack(body, problems, False)
        if len(msg["text"]) > 2000:  # Discord, the smallest compat limit
            problems.append(f"{name}: text over 2000 characters")
        return check_list(name, msg["text"], urls, problems)
    if kind == "matrix":
        payloads.check_matrix(body, problems, False)
        text, html = msg["body"], msg.get("formatted_body")
    else:
        payloads.check_hookshot(body, problems, False)
        if len(body) > 60000:
            problems.append(f"{name}: body over 60000 bytes")
        text, html = msg["text"], msg.get("html")
    listed = check_list(name, text, urls, problems)
    if not html:
        problems.append(f"{name}: no HTML part")
    elif html.count("<li>") != listed:
        problems.append(f"{name}: HTML lists {html.count('<li>')}, "
                        f"text {listed}")
    elif listed < N and f'<a href="{SITE}">' not in html.split("</ul>")[-1]:
        problems.append(f"{name}: HTML has no 'more' link")
    return listed


def check_email(body, urls, problems):
    msg = payloads.email.message_from_bytes(
        body, policy=payloads.email.policy.default)
    text = msg.get_body(("plain",)).get_content()
    found = set(URL.findall(text))
    if found != urls:
        problems.append(f"mail: lists {len(found)} of {N} posts")
    if "de plus" in text:
        problems.append("mail: says there are more")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    notify, root = (os.path.abspath(a) for a in sys.argv[1:3])
    problems, counts = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        urls = make_site(tmp, root)
        run = subprocess.run(
            [notify, "-c", os.path.join(tmp, "notify.conf"), "scan",
             "--backfill", str(N), "--dry-run"],
            capture_output=True,
            env={"SOURCE_DATE_EPOCH": "1764000000", "PATH": "/usr/bin:/bin",
                 "TZ": "UTC"})
    if run.returncode != 0:
        print(f"FAIL: exit {run.returncode}: {run.stderr[:300]!r}")
        return 1
    items, _ = payloads.split_payloads(run.stdout)
    kinds = sorted({(n, k) for n, k, _, _, _ in items})
    if [n for n, _ in kinds] != ["hook", "mail", "mm", "soc", "veille"]:
        problems.append(f"channels rendered: {kinds}")
    for name, kind, _, _, body in items:
        if kind == "smtp":
            check_email(body, urls, problems)
        else:
            counts[name] = check_chat(name, kind, body, urls, problems)
    print("listed: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    for p in problems:
        print(f"FAIL: {p}")
    print(f"{0 if problems else 1} passed, {1 if problems else 0} failed")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
