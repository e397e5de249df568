#!/usr/bin/env python3
"""Compares `notify parse --json` output with the corpus expectations.

usage: compare.py EXPECTED.jsonl ACTUAL.jsonl

List fields are compared after the normalisation of shared/corpus/README.md
(drop '*', '_' and backticks, collapse white space, lower case); every other
field must be equal.  Prints one line per difference and a closing
"N passed, N failed" line; exits 1 when anything differs.
"""
import json
import re
import sys

LIST_FIELDS = ("tags", "key_points", "vulnerabilities", "recommendations", "cves")
FIELDS = ("id", "path", "title", "date", "url", "tags", "headline", "summary",
          "key_points", "vulnerabilities", "recommendations", "cves", "source")


def norm(s):
    s = re.sub(r"[*_`]", "", s)
    return " ".join(s.split()).lower()


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    with open(sys.argv[1], encoding="utf-8") as f:
        expected = [json.loads(line) for line in f if line.strip()]
    with open(sys.argv[2], encoding="utf-8") as f:
        actual = {o["id"]: o for o in (json.loads(l) for l in f if l.strip())}
    passed = failed = 0
    for exp in expected:
        act = actual.get(exp["id"])
        bad = []
        if act is None:
            bad.append("missing from output")
        else:
            if list(act.keys()) != list(FIELDS):
                bad.append(f"keys {list(act.keys())}")
            for k in FIELDS:
                e, a = exp.get(k), act.get(k)
                if k in LIST_FIELDS and isinstance(e, list) and isinstance(a, list):
                    e, a = [norm(x) for x in e], [norm(x) for x in a]
                if e != a:
                    bad.append(f"{k}: expected {e!r}, got {a!r}")
        if bad:
            failed += 1
            for b in bad:
                print(f"FAIL {exp['id']}: {b}")
        else:
            passed += 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or not expected else 0


if __name__ == "__main__":
    sys.exit(main())
