#!/usr/bin/env python3
"""Checks what `notify --post PATH --dry-run` prints, channel by channel.

usage: payloads.py [--hostile] NOTIFY CONF POST...

For each post it runs `notify parse --json` (for the title) and
`notify -c CONF --post POST --dry-run`, cuts the output into payloads by
their header lines ("--- NAME (TYPE) CONTENT-TYPE[ to RCPT], N bytes"), and
checks every payload against the receiver's documented rules:

- slack: Block Kit limits (50 blocks, header plain_text 1-150 chars, text
  objects 1-3000, button label <= 75, url <= 3000), mrkdwn without any
  '<' that is not a link we built (no <!channel>, <@U..>, <#C..>);
- matrix: m.notice, empty m.mentions, formatted_body made only of the
  allowed tags, links only http(s)/mailto, content < 64 KiB;
- hookshot: text and html, the same HTML rules;
- smtp: parses under email.policy.strict, one Subject that decodes to
  "[Veille] " + the title, To is the recipient, no Bcc/Cc, CRLF only, no
  line over 998 bytes, multipart/alternative text/plain + text/html UTF-8.

--hostile adds: no "@room"/"@channel"/"@here" left able to ping, no
"javascript:" anywhere in a link, no "<script" in any HTML.
Prints one line per problem and "N passed, N failed".
"""
import email
import email.policy
import html.parser
import json
import re
import subprocess
import sys

ALLOWED_TAGS = {"p", "a", "ul", "ol", "li", "strong", "em", "code", "br",
                "b", "i", "pre", "blockquote"}
HEADER = re.compile(
    rb"^--- (\S+) \((\w+)\) (\S+)(?: to (\S+))?, (\d+) bytes(?:: [^\n]*)?\n")


def split_payloads(out):
    """[(name, type, content_type, rcpt, body bytes)], and lines skipped."""
    items, skipped, i = [], [], 0
    while i < len(out):
        end = out.index(b"\n", i) + 1
        m = HEADER.match(out[i:end])
        if m is None:
            line = out[i:end]
            if b" skips " in line:
                skipped.append(line)
                i = end
                continue
            raise ValueError(f"unexpected line {line[:80]!r}")
        n = int(m.group(5))
        body = out[end:end + n]
        items.append((m.group(1).decode(), m.group(2).decode(),
                      m.group(3).decode(),
                      m.group(4).decode() if m.group(4) else None, body))
        i = end + n
        if out[i:i + 1] == b"\n" and not body.endswith(b"\n"):
            i += 1
    return items, skipped


class TagCheck(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.bad = []

    def handle_starttag(self, tag, attrs):
        if tag not in ALLOWED_TAGS:
            self.bad.append(f"tag <{tag}>")
        for k, v in attrs:
            if tag == "a" and k == "href":
                if not re.match(r"^(https?://|mailto:)", v or ""):
                    self.bad.append(f"href {v!r}")
            elif not (tag == "a" and k == "target"):
                self.bad.append(f"attribute {k} on <{tag}>")


def check_html(s, problems, where):
    p = TagCheck()
    p.feed(s)
    p.close()
    problems += [f"{where}: {b}" for b in p.bad]


PING = re.compile(r"@(room|channel|here|everyone|all)\b")


def check_mrkdwn(s, problems, where, hostile):
    if not s:
        problems.append(f"{where}: empty text")
    for m in re.finditer(r"<", s):
        if not re.match(r"<(https?://|mailto:)[^|<>\s]*\|[^<>]*>",
                        s[m.start():]):
            problems.append(f"{where}: raw '<' at {s[m.start():m.start()+20]!r}")
    if hostile and PING.search(s):
        problems.append(f"{where}: a mention can ping: {PING.search(s)[0]}")


def check_slack(body, problems, hostile):
    msg = json.loads(body)
    if not msg.get("text"):
        problems.append("slack: no text fallback")
    if "blocks" not in msg:  # compat flavour: all in text
        if len(msg["text"]) > 3000:
            problems.append("slack compat: text over 3000 chars")
        check_mrkdwn(msg["text"], problems, "slack compat text", hostile)
        return
    check_mrkdwn(msg["text"], problems, "slack text", hostile)
    blocks = msg["blocks"]
    if not 1 <= len(blocks) <= 50:
        problems.append(f"slack: {len(blocks)} blocks")
    for b in blocks:
        t = b["type"]
        if t == "header":
            tx = b["text"]
            if tx["type"] != "plain_text" or not 1 <= len(tx["text"]) <= 150:
                problems.append(f"slack header: {len(tx['text'])} chars")
            if any(ord(c) < 32 for c in tx["text"]):
                problems.append("slack header: control character")
        elif t == "section":
            tx = b["text"]
            if not 1 <= len(tx["text"]) <= 3000 or not tx.get("verbatim"):
                problems.append(f"slack section: {len(tx['text'])} chars")
            check_mrkdwn(tx["text"], problems, "slack section", hostile)
        elif t == "context":
            if not 1 <= len(b["elements"]) <= 10:
                problems.append("slack context: element count")
            for e in b["elements"]:
                if not 1 <= len(e["text"]) <= 3000:
                    problems.append("slack context: text length")
                check_mrkdwn(e["text"], problems, "slack context", hostile)
        elif t == "actions":
            for e in b["elements"]:
                if not 1 <= len(e["text"]["text"]) <= 75:
                    problems.append("slack button: label length")
                if len(e["url"]) > 3000 or not e["url"].startswith("http"):
                    problems.append(f"slack button: url {e['url'][:60]!r}")
        else:
            problems.append(f"slack: unexpected block {t}")


def check_matrix(body, problems, hostile):
    if len(body) >= 65536:
        problems.append("matrix: content too large")
    c = json.loads(body)
    if c.get("msgtype") != "m.notice" or c.get("m.mentions") != {}:
        problems.append("matrix: not an m.notice with empty m.mentions")
    if not c.get("body"):
        problems.append("matrix: empty body")
    if "formatted_body" in c:
        if c.get("format") != "org.matrix.custom.html":
            problems.append("matrix: formatted_body without format")
        check_html(c["formatted_body"], problems, "matrix html")
    if hostile and PING.search(c["body"]):
        problems.append("matrix: a mention can ping in body")


def check_hookshot(body, problems, hostile):
    c = json.loads(body)
    if not c.get("text"):
        problems.append("hookshot: empty text")
    check_html(c.get("html", ""), problems, "hookshot html")
    if hostile and PING.search(c["text"]):
        problems.append("hookshot: a mention can ping in text")


def check_smtp(body, rcpt, title, problems):
    if re.search(rb"(?<!\r)\n", body) or re.search(rb"\r(?!\n)", body):
        problems.append("smtp: a line ending that is not CRLF")
    if any(len(l) > 998 for l in body.split(b"\r\n")):
        problems.append("smtp: a line over 998 bytes")
    try:
        msg = email.message_from_bytes(body, policy=email.policy.strict)
    except Exception as e:  # strict raises on any defect
        problems.append(f"smtp: does not parse strictly: {e}")
        return
    for h in ("Bcc", "Cc"):
        if msg[h] is not None:
            problems.append(f"smtp: {h} header present")
    if len(msg.get_all("Subject", [])) != 1:
        problems.append("smtp: not exactly one Subject")
    # controls dropped, ASCII white space collapsed (not U+202F & co)
    clean = re.sub(r"[\x00-\x1f\x7f]", " ", title)
    want = "[Veille] " + re.sub(r"[ \t]+", " ", clean).strip(" ")
    if title is not None and str(msg["Subject"]) != want:
        problems.append(f"smtp: Subject {str(msg['Subject'])!r} != {want!r}")
    if str(msg["To"]) != rcpt:
        problems.append(f"smtp: To {msg['To']} != {rcpt}")
    for h in ("From", "Date", "Message-ID", "List-Id", "Auto-Submitted"):
        if msg[h] is None:
            problems.append(f"smtp: no {h}")
    if msg.get_content_type() != "multipart/alternative":
        problems.append("smtp: not multipart/alternative")
        return
    kinds = [(p.get_content_type(), p.get_content_charset())
             for p in msg.iter_parts()]
    if kinds != [("text/plain", "utf-8"), ("text/html", "utf-8")]:
        problems.append(f"smtp: parts {kinds}")
    check_html(msg.get_body(("html",)).get_content(), problems, "smtp html")


def check_post(notify, conf, post, hostile):
    model = subprocess.run([notify, "parse", "--json", post],
                           capture_output=True, check=True).stdout
    title = json.loads(model)["title"]
    run = subprocess.run([notify, "-c", conf, "--post", post, "--dry-run"],
                         capture_output=True,
                         env={"SOURCE_DATE_EPOCH": "1764000000",
                              "PATH": "/usr/bin:/bin"})
    problems = []
    if run.returncode != 0:
        return [f"exit {run.returncode}: {run.stderr[:200]!r}"]
    items, _ = split_payloads(run.stdout)
    kinds = {t for _, t, _, _, _ in items}
    if kinds != {"slack", "matrix", "hookshot", "smtp"}:
        problems.append(f"channels rendered: {sorted(kinds)}")
    for name, kind, ctype, rcpt, body in items:
        if kind == "slack":
            check_slack(body, problems, hostile)
        elif kind == "matrix":
            check_matrix(body, problems, hostile)
        elif kind == "hookshot":
            check_hookshot(body, problems, hostile)
        elif kind == "smtp":
            check_smtp(body, rcpt, title, problems)
        # (a <script> tag is refused by the HTML and mrkdwn checks; as
        # plain text, in a Subject or a body, it is only words)
        if hostile and kind != "smtp" and b"javascript:" in body.lower():
            problems.append(f"{name}: javascript: present")
    return problems


def main():
    args = sys.argv[1:]
    hostile = args[:1] == ["--hostile"]
    if hostile:
        args = args[1:]
    if len(args) < 3:
        sys.exit(__doc__)
    notify, conf, posts = args[0], args[1], args[2:]
    passed = failed = 0
    for post in posts:
        problems = check_post(notify, conf, post, hostile)
        if problems:
            failed += 1
            for p in problems[:10]:
                print(f"FAIL {post}: {p}")
        else:
            passed += 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
