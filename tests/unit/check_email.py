#!/usr/bin/env python3
"""Checks messages written by test_mime with Python's own e-mail parser.

usage: check_email.py DIR EXPECTED.json

EXPECTED.json maps a file name in DIR to the Subject it must decode to.
Each message is parsed with email.policy.strict and must have no defects
(message, parts or headers), exactly one of each core header and no Bcc,
a Subject that decodes back to the expected text, and a
multipart/alternative body with a text/plain then a text/html part, both
charset=utf-8 in quoted-printable or base64.  The raw bytes must use CRLF
only, be 7-bit, and keep every line within 78 bytes.  Prints one line per
failure and "N passed, N failed"; exits 1 when anything failed.
Standard library only.
"""

import json
import sys
from email import policy
from email.parser import BytesParser

SINGLE = ("From", "To", "Subject", "Date", "Message-ID", "MIME-Version",
          "Auto-Submitted", "Precedence")
ENCODINGS = ("quoted-printable", "base64")


def check_wire(raw):
    if b"\0" in raw or any(b >= 0x80 for b in raw):
        return "not 7-bit"
    if raw.replace(b"\r\n", b"").count(b"\n"):
        return "bare LF"
    if raw.replace(b"\r\n", b"").count(b"\r"):
        return "bare CR"
    for i, line in enumerate(raw.split(b"\r\n")):
        if len(line) > 78:
            return "line %d is %d bytes" % (i + 1, len(line))
    return None


def check_headers(msg, subject):
    for name in SINGLE:
        if len(msg.get_all(name, [])) != 1:
            return "%d %s headers" % (len(msg.get_all(name, [])), name)
    if msg.get_all("Bcc"):
        return "has a Bcc header"
    for name, value in msg.items():
        if value.defects:
            return "%s: %r" % (name, value.defects)
    if str(msg["Subject"]) != subject:
        return "Subject %r, expected %r" % (str(msg["Subject"]), subject)
    return None


def check_body(msg):
    if msg.get_content_type() != "multipart/alternative":
        return "top is %s" % msg.get_content_type()
    parts = list(msg.iter_parts())
    types = [p.get_content_type() for p in parts]
    if types != ["text/plain", "text/html"]:
        return "parts are %s" % types
    for p in parts:
        if p.defects:
            return "%s: %r" % (p.get_content_type(), p.defects)
        if p.get_content_charset() != "utf-8":
            return "%s charset %s" % (p.get_content_type(),
                                      p.get_content_charset())
        if p["Content-Transfer-Encoding"] not in ENCODINGS:
            return "%s is %s" % (p.get_content_type(),
                                 p["Content-Transfer-Encoding"])
        p.get_content()  # decodes, or raises
    return None


def check_one(path, subject):
    with open(path, "rb") as f:
        raw = f.read()
    why = check_wire(raw)
    if why:
        return why
    msg = BytesParser(policy=policy.strict).parsebytes(raw)
    if msg.defects:
        return "message: %r" % msg.defects
    return check_headers(msg, subject) or check_body(msg)


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: check_email.py DIR EXPECTED.json\n")
        return 2
    with open(argv[2], encoding="utf-8") as f:
        expected = json.load(f)
    passed = failed = 0
    for name, subject in sorted(expected.items()):
        try:
            why = check_one("%s/%s" % (argv[1], name), subject)
        except Exception as e:  # strict policy raises on defects
            why = "%s: %s" % (type(e).__name__, e)
        if why:
            print("FAIL %s: %s" % (name, why))
            failed += 1
        else:
            passed += 1
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
