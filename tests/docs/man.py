#!/usr/bin/env python3
"""The man pages against what the program accepts.

- both pages were built by scdoc (roff with the right .TH);
- every configuration key of src/config/config.c (tests/docs/config_keys.py)
  is a bold term of notify.conf.5, every enumerated value is quoted there;
- every command, option, exit status and environment variable that
  `notify --help` names is in notify.1, and so are those of the issue's
  contract (watch, scan) even before --help has them;
- the EXAMPLE of notify.conf.5 is a valid configuration.

usage: man.py NOTIFY SOURCE_ROOT MAN1 MAN5 CONF5_SCD
"""
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import config_keys  # noqa: E402

# the contract of the issue "Watcher and service", whatever --help says
CONTRACT_1 = ['watch', 'scan', '--baseline', '--backfill', '--dry-run',
              'SIGTERM', 'SIGINT', 'SIGHUP', 'JOURNAL_STREAM',
              'NOTIFY_SOCKET', 'WATCHDOG_USEC', 'notify.service',
              'notify-scan.timer']

fails = 0
passes = 0


def check(name, ok, detail=''):
    global fails, passes
    if ok:
        passes += 1
    else:
        fails += 1
        print(f'FAIL: {name}' + (f': {detail}' if detail else ''))


def read(path):
    with open(path, encoding='utf-8') as f:
        return f.read()


def bold(roff, word):
    return f'\\fB{word}\\fR' in roff


def help_words(text):
    """Commands, options, exit codes and variables of `notify --help`."""
    usage = [ln for ln in text.splitlines()
             if re.match(r'\s*(usage: )?notify ', ln)]
    commands = set()
    for ln in usage:
        rest = re.sub(r'^\s*(usage: )?notify (\[-c FILE\] )?', '', ln)
        commands.add(rest.split()[0])
    options = set(re.findall(r'(?<![\w-])(--[a-z][a-z-]*|-[a-zA-Z])\b',
                             text))
    status = text[text.find('Exit status:'):]
    codes = set(re.findall(r'\b(\d+) ', status))
    env = text[text.find('Environment:'):text.find('Exit status:')]
    variables = set(re.findall(r'\b([A-Z][A-Z_]{3,})\b', env))
    return commands, options, codes, variables


def main():
    notify, root, man1_path, man5_path, scd5 = sys.argv[1:6]
    # scdoc writes "\&" after a dot (notify.\&service): not text
    man1 = read(man1_path).replace('\\&', '')
    man5 = read(man5_path).replace('\\&', '')

    check('notify.1 is roff from scdoc',
          re.search(r'^\.TH "notify" "1"', man1, re.M) is not None)
    check('notify.conf.5 is roff from scdoc',
          re.search(r'^\.TH "notify.conf" "5"', man5, re.M) is not None)

    keys, values = config_keys.scan(read(os.path.join(root, 'src', 'config',
                                                      'config.c')))
    check('config.c keys were found', len(keys) >= 40 and
          'settle_ms' in keys and 'password_file' in keys, str(keys))
    missing = [k for k in keys if not bold(man5, k)]
    check('every key of config.c is in notify.conf.5', not missing,
          ' '.join(missing))
    missing = [v for v in values if f'"{v}"' not in man5]
    check('every value of config.c is in notify.conf.5', not missing,
          ' '.join(missing))

    out = subprocess.run([notify, '--help'], capture_output=True,
                         text=True, check=False)
    check('notify --help exits 0', out.returncode == 0, out.stderr)
    commands, options, codes, variables = help_words(out.stdout)
    check('--help names commands', {'--post', 'parse', 'status'} <= commands,
          str(commands))
    missing = sorted(c for c in commands | options | set(CONTRACT_1)
                     if not bold(man1, c))
    check('every command and option is in notify.1', not missing,
          ' '.join(missing))
    check('--help names exit codes', {'0', '64', '78'} <= codes, str(codes))
    missing = sorted(c for c in codes if not bold(man1, c))
    check('every exit code is in notify.1', not missing, ' '.join(missing))
    check('--help names variables', 'NOTIFY_CONFIG' in variables,
          str(variables))
    missing = sorted(v for v in variables if not bold(man1, v))
    check('every environment variable is in notify.1', not missing,
          ' '.join(missing))

    example = re.search(r'^# EXAMPLE\n.*?^```\n(.*?)^```', read(scd5),
                        re.S | re.M)
    check('notify.conf.5 has an EXAMPLE', example is not None)
    if example:
        with tempfile.TemporaryDirectory() as tmp:
            conf = os.path.join(tmp, 'notify.conf')
            with open(conf, 'w', encoding='utf-8') as f:
                f.write(example.group(1))
            out = subprocess.run([notify, '-c', conf, 'check-config',
                                  '--no-secrets'], capture_output=True,
                                 text=True, check=False)
        check('the EXAMPLE of notify.conf.5 is valid', out.returncode == 0,
              out.stderr.strip())

    print(f'{passes} passed, {fails} failed')
    sys.exit(1 if fails else 0)


if __name__ == '__main__':
    main()
