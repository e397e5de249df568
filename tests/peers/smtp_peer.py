#!/usr/bin/python3
"""Loopback SMTP test peer for notify's email channel, built on aiosmtpd
(Debian: python3-aiosmtpd).  Optional STARTTLS, AUTH PLAIN/LOGIN and
per-recipient failures (4xx/5xx, 421 closes the connection).

Listens on 127.0.0.1 (or ::1) only, on a port picked by the kernel; prints
the port and writes it to --port-file.  Stops on SIGTERM/SIGINT or after
--max-lifetime seconds.  See tests/peers/README.md.
"""

import argparse
import asyncio
import itertools
import json
import logging
import os
import signal
import ssl
import sys
import threading
import time
import warnings

from aiosmtpd.smtp import SMTP, AuthResult

ENHANCED = {  # reply code -> RFC 3463 enhanced code and text
    421: ("4.7.0", "Service busy, closing connection"),
    450: ("4.2.1", "Mailbox busy, try again later"),
    451: ("4.3.0", "Local error in processing, try again later"),
    452: ("4.5.3", "Too many recipients"),
    550: ("5.1.1", "No such user"),
    552: ("5.2.2", "Mailbox full"),
    553: ("5.1.3", "Mailbox name not allowed"),
    554: ("5.7.1", "Transaction failed"),
}
CONN_IDS = itertools.count(1)


def reply_for(code):
    enh, text = ENHANCED.get(code, ("%d.0.0" % (code // 100),
                                    "Injected failure"))
    return "%d %s %s (test peer)" % (code, enh, text)


class Recorder:
    def __init__(self, path, events_path):
        self.path = path
        self.events_path = events_path
        self.lock = threading.Lock()
        open(path, "a").close()

    def _append(self, path, entry):
        line = json.dumps(entry, ensure_ascii=False, sort_keys=True)
        with self.lock:
            with open(path, "a", encoding="utf-8") as fh:
                fh.write(line + "\n")

    def message(self, entry):
        self._append(self.path, entry)

    def event(self, conn, name, **fields):
        if self.events_path:
            entry = {"conn": conn, "event": name, "t": time.monotonic()}
            entry.update(fields)
            self._append(self.events_path, entry)


def decode_data(raw):
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return raw.decode("latin-1"), "latin-1"


class Handler:
    def __init__(self, recorder, fail_rcpt, fail_data):
        self.queued = 0
        self.rec = recorder
        self.fail_rcpt = fail_rcpt
        self.fail_data = fail_data

    async def handle_RCPT(self, server, session, envelope, address,
                          rcpt_options):
        code = self.fail_rcpt.get(address.lower())
        self.rec.event(server.conn_id, "rcpt", address=address,
                       code=code or 250)
        if code is None:
            envelope.rcpt_tos.append(address)
            envelope.rcpt_options.extend(rcpt_options)
            return "250 2.1.5 OK"
        if code == 421:
            server.close_after_reply = True
        return reply_for(code)

    async def handle_DATA(self, server, session, envelope):
        for rcpt in envelope.rcpt_tos:
            code = self.fail_data.get(rcpt.lower())
            if code is not None:
                self.rec.event(server.conn_id, "data", code=code)
                if code == 421:
                    server.close_after_reply = True
                return reply_for(code)
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", errors="surrogateescape")
        text, encoding = decode_data(raw)
        auth_user = None
        if session.authenticated:
            auth_user = session.auth_data
        entry = {"mail_from": envelope.mail_from,
                 "mail_options": envelope.mail_options,
                 "rcpt_tos": list(envelope.rcpt_tos),
                 "rcpt_options": envelope.rcpt_options,
                 "data": text, "data_encoding": encoding,
                 "tls": server.tls_active(), "auth_user": auth_user,
                 "helo": session.host_name,
                 "conn": server.conn_id, "t": time.monotonic()}
        # a queue id in Postfix's words, for the sender to keep
        self.queued += 1
        entry["queue_id"] = f"Q{self.queued:05d}"
        self.rec.message(entry)
        self.rec.event(server.conn_id, "data", code=250)
        return f"250 2.0.0 OK: queued as {entry['queue_id']}"


class PeerSMTP(SMTP):
    """aiosmtpd's SMTP with a connection id and close-after-421."""

    recorder = None
    reply_delay = 0.0

    def connection_made(self, transport):
        if not hasattr(self, "conn_id"):
            self.conn_id = next(CONN_IDS)
            self.close_after_reply = False
            self.recorder.event(self.conn_id, "connect")
        else:
            self.recorder.event(self.conn_id, "starttls")
        super().connection_made(transport)

    def connection_lost(self, error):
        self.recorder.event(self.conn_id, "disconnect")
        super().connection_lost(error)

    def tls_active(self):
        return self._tls_protocol is not None

    async def push(self, status):
        # --reply-delay: a slow server.  Only the last line of a reply
        # waits (a "250-" line is followed by more), so that each reply,
        # the greeting included, comes the delay late.
        line = status.encode() if isinstance(status, str) else status
        if self.reply_delay > 0 and line[3:4] != b"-":
            await asyncio.sleep(self.reply_delay)
        await super().push(status)

    async def smtp_RCPT(self, arg):
        await super().smtp_RCPT(arg)
        self.close_if_asked()

    async def smtp_DATA(self, arg):
        await super().smtp_DATA(arg)
        self.close_if_asked()

    def close_if_asked(self):
        if self.close_after_reply and self.transport is not None:
            self.close_after_reply = False
            self.transport.close()


def make_authenticator(user, password, recorder):
    want = (user.encode("utf-8"), password.encode("utf-8"))

    def authenticator(server, session, envelope, mechanism, auth_data):
        got = (getattr(auth_data, "login", None),
               getattr(auth_data, "password", None))
        ok = got == want
        recorder.event(server.conn_id, "auth", mechanism=mechanism, ok=ok)
        if ok:
            return AuthResult(success=True, auth_data=user)
        return AuthResult(success=False, handled=False)

    return authenticator


def parse_fail(values, flag):
    out = {}
    for item in values or []:
        addr, sep, code = item.rpartition("=")
        if not sep or not addr or not code.isdigit():
            raise SystemExit("%s wants ADDRESS=CODE, got %r" % (flag, item))
        code = int(code)
        if not 400 <= code <= 599:
            raise SystemExit("%s: code must be 4xx or 5xx" % flag)
        out[addr.lower()] = code
    return out


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--record", required=True,
                   help="append one JSON line per accepted message")
    p.add_argument("--port-file", required=True)
    p.add_argument("--events", help="append SMTP session events here")
    p.add_argument("--host", default="127.0.0.1",
                   choices=["127.0.0.1", "::1"])
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--require-starttls", action="store_true")
    p.add_argument("--auth", metavar="USER:PASS")
    p.add_argument("--auth-optional", action="store_true",
                   help="advertise AUTH but do not require it")
    p.add_argument("--fail", action="append", metavar="RCPT=CODE",
                   help="answer RCPT TO for this address with CODE")
    p.add_argument("--fail-data", action="append", metavar="RCPT=CODE",
                   help="answer the end of DATA with CODE when RCPT is in")
    p.add_argument("--reply-delay", type=float, default=0.0,
                   metavar="SECONDS",
                   help="answer every command (and greet) this late")
    p.add_argument("--max-lifetime", type=float, default=900.0)
    p.add_argument("--verbose", action="store_true")
    args = p.parse_args(argv)
    if bool(args.tls_cert) != bool(args.tls_key):
        p.error("--tls-cert and --tls-key go together")
    if args.require_starttls and not args.tls_cert:
        p.error("--require-starttls needs --tls-cert/--tls-key")
    if args.auth and ":" not in args.auth:
        p.error("--auth wants USER:PASS")
    if not 0 <= args.reply_delay <= 50:
        p.error("--reply-delay wants 0..50 seconds (the timeout is 60)")
    return args


def smtp_kwargs(args, recorder):
    kw = {"hostname": "localhost", "ident": "notify-test-peer",
          "timeout": 60, "enable_SMTPUTF8": False}
    if args.tls_cert:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        kw["tls_context"] = ctx
        kw["require_starttls"] = args.require_starttls
    if args.auth:
        user, _, password = args.auth.partition(":")
        kw["authenticator"] = make_authenticator(user, password, recorder)
        kw["auth_required"] = not args.auth_optional
        kw["auth_require_tls"] = bool(args.tls_cert)
    return kw


def write_port_file(path, port):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as fh:
        fh.write("%d\n" % port)
    os.replace(tmp, path)


async def serve(args):
    loop = asyncio.get_running_loop()
    recorder = Recorder(args.record, args.events)
    PeerSMTP.recorder = recorder
    PeerSMTP.reply_delay = args.reply_delay
    handler = Handler(recorder, parse_fail(args.fail, "--fail"),
                      parse_fail(args.fail_data, "--fail-data"))
    kw = smtp_kwargs(args, recorder)

    def factory():
        return PeerSMTP(handler, loop=loop, **kw)

    server = await loop.create_server(factory, host=args.host, port=0)
    port = server.sockets[0].getsockname()[1]
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    write_port_file(args.port_file, port)
    print(port, flush=True)
    timeout = args.max_lifetime if args.max_lifetime > 0 else None
    try:
        await asyncio.wait_for(stop.wait(), timeout)
    except asyncio.TimeoutError:
        pass
    server.close()
    try:
        await asyncio.wait_for(server.wait_closed(), 2)
    except asyncio.TimeoutError:
        pass


def main(argv):
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose
                        else logging.CRITICAL)
    warnings.simplefilter("ignore")
    asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
