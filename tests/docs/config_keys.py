#!/usr/bin/env python3
"""Lists what src/config/config.c accepts, from its string arrays, so that the
man-page test needs no list of its own: a key added to config.c without
documentation fails it.

Keys are the strings of the arrays named `keys` or `*_keys`, and of every
array declared inside a function whose name ends in `_keys` (the keys of
each channel type); the strings of the other arrays are the values of
enumerated keys ("auto", "required", ...).

usage: config_keys.py CONFIG_C   prints "key NAME" and "value NAME" lines
"""
import re
import sys

ARRAY = re.compile(r'static\s+const\s+char\s*\*\s*const\s+\*?\s*(\w+)\s*'
                   r'\[[^\]]*\]\s*=\s*\{(.*?)\};', re.S)
FUNC = re.compile(r'^[a-z][^\n;]*\b(\w+)\([^;{]*\)\s*\{\n(.*?)^\}', re.S | re.M)


def scan(src):
    """(keys, values) of config.c's source text, each sorted."""
    key_spans = [m.span(2) for m in FUNC.finditer(src)
                 if m.group(1).endswith('_keys')]
    keys, values = set(), set()
    for m in ARRAY.finditer(src):
        name, body = m.group(1), m.group(2)
        strings = re.findall(r'"([^"\\]*)"', body)
        inside = any(a <= m.start() < b for a, b in key_spans)
        if name == 'keys' or name.endswith('_keys') or inside:
            keys.update(strings)
        else:
            values.update(strings)
    return sorted(keys), sorted(values - keys)


def main():
    with open(sys.argv[1], encoding='utf-8') as f:
        keys, values = scan(f.read())
    for k in keys:
        print('key', k)
    for v in values:
        print('value', v)


if __name__ == '__main__':
    main()
