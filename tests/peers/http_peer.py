#!/usr/bin/env python3
"""Loopback test peer for notify's HTTP channels: Slack incoming webhooks,
a Matrix homeserver (client-server API subset) and matrix-hookshot generic
webhooks, with fault injection over HTTP (/_control).

Standard library only; runs under python3 >= 3.7 (tested with 3.11).
Listens on 127.0.0.1 (or ::1) only, on a port picked by the kernel, and
prints that port on stdout.  See tests/peers/README.md for the API.
"""

import argparse
import json
import math
import os
import signal
import socket
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 4 * 1024 * 1024      # read at most this much of a request body
MAX_CHUNKS = 10000              # bound on chunked transfer decoding
MATRIX_EVENT_MAX = 65536        # spec: a whole event stays <= 64 KiB
MAX_HANG = 120.0                # seconds, cap for the "hang" fault
MAX_FAULT_COUNT = 1000
CONN_TIMEOUT = 30               # idle keep-alive connections close after it
MX = "/_matrix/client/v3/"

SLACK_GONE = {  # path prefix -> (status, body): revoked/blocked webhooks
    "/slack-gone/": (404, "no_service"),
    "/slack-archived/": (410, "channel_is_archived"),
    "/slack-forbidden/": (403, "action_prohibited"),
}
BLOCK_TYPES = {"header", "section", "context", "divider", "actions",
               "image", "rich_text", "input", "file", "video"}


class PeerError(Exception):
    """A request the peer refuses: status, body (str or dict)."""

    def __init__(self, status, body):
        super().__init__(status)
        self.status = status
        self.body = body


def mx_error(status, errcode, error, **extra):
    body = {"errcode": errcode, "error": error}
    body.update(extra)
    return PeerError(status, body)


# --------------------------------------------------------------- state


class State:
    """Everything shared between request threads, behind one lock."""

    def __init__(self, args):
        self.lock = threading.Lock()
        self.record_path = args.record
        self.token = args.token
        self.user_id = args.user_id
        self.device_id = args.device_id
        aliases = args.room_alias or ["#veille:example.org"]
        ids = args.room_id or ["!room:example.org"]
        if len(aliases) != len(ids):
            raise SystemExit("--room-alias and --room-id must pair up")
        self.aliases = dict(zip(aliases, ids))
        self.rooms = set(ids)
        self.initially_joined = args.joined
        self.joined = set(ids) if args.joined else set()
        self.join_forbidden = args.join_forbidden
        self.hookshot_status = args.hookshot_status
        self.faults = []            # [{"spec":..., "left": n}]
        self.txns = {}              # (token, type, room, txn) -> event_id
        self.events = []            # created (non-duplicate) events
        self.counter = 0
        self.limit = None           # Synapse-like rate limit on sends
        self.set_limit(args.matrix_burst, args.matrix_rate)
        self.arrivals = {}          # kind -> [{"t", "status"}]
        self.stop = threading.Event()

    def set_limit(self, burst, rate):
        """A token bucket of 'burst' sends refilled at 'rate' per second,
        full now; None/0 turns it off.  Caller holds the lock (or is
        __init__)."""
        if not burst or not rate:
            self.limit = None
            return
        self.limit = {"burst": float(burst), "rate": float(rate),
                      "tokens": float(burst), "at": time.monotonic(),
                      "limited": 0}

    def take_token(self):
        """Under the lock: 0 when a send may go now, else the
        milliseconds until the next token (and the 429 is counted)."""
        lim = self.limit
        if lim is None:
            return 0
        t = time.monotonic()
        lim["tokens"] = min(lim["burst"],
                            lim["tokens"] + (t - lim["at"]) * lim["rate"])
        lim["at"] = t
        if lim["tokens"] >= 1.0:
            lim["tokens"] -= 1.0
            return 0
        lim["limited"] += 1
        return max(1, int(math.ceil((1.0 - lim["tokens"]) / lim["rate"]
                                    * 1000)))

    def arrived(self, kind, t, status):
        with self.lock:
            self.arrivals.setdefault(kind, []).append(
                {"t": t, "status": status})

    def take_fault(self, path):
        with self.lock:
            for f in self.faults:
                match = f["spec"].get("match")
                if match and not path.startswith(match):
                    continue
                f["left"] -= 1
                if f["left"] <= 0:
                    self.faults.remove(f)
                return f["spec"]
        return None

    def record(self, entry):
        line = json.dumps(entry, ensure_ascii=False, sort_keys=True)
        with self.lock:
            with open(self.record_path, "a", encoding="utf-8") as fh:
                fh.write(line + "\n")

    def reset(self):
        with self.lock:
            self.faults.clear()
            self.txns.clear()
            self.events.clear()
            self.counter = 0
            self.arrivals.clear()
            if self.limit is not None:
                self.set_limit(self.limit["burst"], self.limit["rate"])
            self.joined = set(self.rooms) if self.initially_joined else set()
            self.join_forbidden = False


# ------------------------------------------------------ slack checks


def is_text_object(obj):
    return isinstance(obj, dict) and obj.get("type") in ("plain_text",
                                                         "mrkdwn")


def walk_text_objects(node, depth=0):
    """Yield every text object under node (bounded depth)."""
    if depth > 20:
        return
    if is_text_object(node):
        yield node
    if isinstance(node, dict):
        children = node.values()
    elif isinstance(node, list):
        children = node
    else:
        return
    for child in children:
        yield from walk_text_objects(child, depth + 1)


def text_len_ok(obj, limit, plain_only=False):
    if not is_text_object(obj):
        return False
    if plain_only and obj.get("type") != "plain_text":
        return False
    text = obj.get("text")
    return isinstance(text, str) and 0 < len(text) <= limit


def check_button(el):
    if not text_len_ok(el.get("text"), 75, plain_only=True):
        return False
    url = el.get("url")
    if url is not None and (not isinstance(url, str) or len(url) > 3000):
        return False
    value = el.get("value")
    if value is not None and (not isinstance(value, str)
                              or len(value) > 2000):
        return False
    aid = el.get("action_id")
    if aid is not None and (not isinstance(aid, str) or len(aid) > 255):
        return False
    style = el.get("style")
    return style is None or style in ("primary", "danger")


def check_block(block):
    btype = block.get("type")
    if btype not in BLOCK_TYPES:
        return False
    if btype == "header":
        return text_len_ok(block.get("text"), 150, plain_only=True)
    if btype == "section":
        text, fields = block.get("text"), block.get("fields")
        if text is None and fields is None:
            return False
        if text is not None and not text_len_ok(text, 3000):
            return False
        if fields is not None:
            if not isinstance(fields, list) or not 0 < len(fields) <= 10:
                return False
            if not all(text_len_ok(f, 2000) for f in fields):
                return False
        return True
    if btype in ("context", "actions"):
        els = block.get("elements")
        limit = 10 if btype == "context" else 25
        if not isinstance(els, list) or not 0 < len(els) <= limit:
            return False
        if btype == "actions":
            for el in els:
                if not isinstance(el, dict):
                    return False
                if el.get("type") == "button" and not check_button(el):
                    return False
        return True
    return True


def check_blocks(blocks):
    if not isinstance(blocks, list) or len(blocks) > 50:
        return False
    ids = set()
    for block in blocks:
        if not isinstance(block, dict) or not check_block(block):
            return False
        bid = block.get("block_id")
        if bid is not None:
            if not isinstance(bid, str) or len(bid) > 255 or bid in ids:
                return False
            ids.add(bid)
    for obj in walk_text_objects(blocks):
        text = obj.get("text")
        if not isinstance(text, str) or not 0 < len(text) <= 3000:
            return False
    return True


def slack_verdict(ctype, data):
    """Return None when Slack would accept the payload, else the error."""
    if not ctype.lower().startswith("application/json"):
        return "invalid_payload"
    if not isinstance(data, dict):
        return "invalid_payload"
    text = data.get("text")
    if text is not None and not isinstance(text, str):
        return "invalid_payload"
    blocks = data.get("blocks")
    if blocks is not None and not check_blocks(blocks):
        return "invalid_blocks"
    if not text and not blocks and not data.get("attachments"):
        return "no_text"
    return None


# -------------------------------------------------------------- handler


def _reject_constant(name):
    raise ValueError("non-standard JSON constant " + name)


def parse_json(raw):
    try:
        return json.loads(raw.decode("utf-8"),
                          parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError):
        return None


class Handler(BaseHTTPRequestHandler):
    # as real servers do: without it a kept-alive client waits ~40 ms
    # for the delayed ACK before each answer's body
    disable_nagle_algorithm = True
    protocol_version = "HTTP/1.1"
    server_version = "notify-test-peer/1"
    timeout = CONN_TIMEOUT

    # quiet unless --verbose
    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("http_peer: " + (fmt % args) + "\n")

    @property
    def st(self):
        return self.server.state

    def do_GET(self):
        self.dispatch()

    def do_POST(self):
        self.dispatch()

    def do_PUT(self):
        self.dispatch()

    def do_DELETE(self):
        self.dispatch()

    # ---- request reading

    def read_body(self):
        te = self.headers.get("Transfer-Encoding", "").lower()
        if "chunked" in te:
            return self.read_chunked()
        length = self.headers.get("Content-Length")
        if not length:
            return b""
        try:
            n = int(length)
        except ValueError:
            raise PeerError(400, "bad content-length")
        if n < 0 or n > MAX_BODY:
            self.close_connection = True
            raise PeerError(413, "request too large for the test peer")
        return self.rfile.read(n)

    def read_chunked(self):
        out = bytearray()
        for _ in range(MAX_CHUNKS):
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";")[0].strip(), 16)
            except ValueError:
                self.close_connection = True
                raise PeerError(400, "bad chunk")
            if size == 0:
                for _ in range(100):   # trailers, up to the blank line
                    if self.rfile.readline(8192) in (b"\r\n", b"\n", b""):
                        break
                return bytes(out)
            if len(out) + size > MAX_BODY:
                self.close_connection = True
                raise PeerError(413, "request too large for the test peer")
            out += self.rfile.read(size)
            self.rfile.readline(16)
        self.close_connection = True
        raise PeerError(400, "too many chunks")

    # ---- responses

    def reply(self, status, body, ctype=None, headers=None):
        if isinstance(body, (dict, list)):
            data = json.dumps(body).encode("utf-8")
            ctype = ctype or "application/json"
        else:
            data = (body or "").encode("utf-8")
            ctype = ctype or "text/plain; charset=utf-8"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    # ---- main entry

    def dispatch(self):
        t = time.monotonic()
        url = urllib.parse.urlsplit(self.path)
        path, query = url.path, url.query
        try:
            raw = self.read_body()
        except PeerError as e:
            self.reply(e.status, e.body)
            return
        if path == "/_control" or path.startswith("/_control/"):
            self.control(path, raw)
            return
        req = Request(self, path, query, raw, t)
        fault = None
        if not (path == MX + "account/whoami"):
            fault = self.st.take_fault(path)
        req.run(fault)

    # ---- control API

    def control(self, path, raw):
        data = parse_json(raw) if raw else {}
        if path == "/_control" and self.command == "POST":
            err = self.add_fault(data)
            if err:
                self.reply(400, {"ok": False, "error": err})
            else:
                self.reply(200, {"ok": True})
        elif path == "/_control/events" and self.command == "GET":
            with self.st.lock:
                events = list(self.st.events)
            self.reply(200, events)
        elif path == "/_control/state":
            self.control_state(data)
        elif path == "/_control/arrivals" and self.command == "GET":
            with self.st.lock:
                arrivals = {k: list(v) for k, v in self.st.arrivals.items()}
            self.reply(200, arrivals)
        elif path == "/_control/reset" and self.command == "POST":
            self.st.reset()
            self.reply(200, {"ok": True})
        elif path == "/_control/stop" and self.command == "POST":
            self.close_connection = True
            self.reply(200, {"ok": True})
            self.st.stop.set()
        else:
            self.reply(404, {"ok": False, "error": "unknown control"})

    def add_fault(self, data):
        if not isinstance(data, dict):
            return "body must be a JSON object"
        kind = data.get("fault")
        if kind not in ("status", "matrix_limit", "hang", "drop",
                        "drop_after"):
            return "unknown fault %r" % (kind,)
        n = data.get("next", 1)
        if not isinstance(n, int) or not 0 < n <= MAX_FAULT_COUNT:
            return "next must be 1..%d" % MAX_FAULT_COUNT
        if kind == "status":
            status = data.get("status")
            if not isinstance(status, int) or not 100 <= status <= 599:
                return "status must be an HTTP status code"
        if kind == "hang":
            secs = data.get("seconds", 5)
            if not isinstance(secs, (int, float)) or secs < 0:
                return "seconds must be >= 0"
        with self.st.lock:
            self.st.faults.append({"spec": dict(data), "left": n})
        return None

    def control_state(self, data):
        st = self.st
        if self.command == "POST":
            if not isinstance(data, dict):
                self.reply(400, {"ok": False, "error": "JSON object"})
                return
            with st.lock:
                if "joined" in data:
                    st.joined = set(st.rooms) if data["joined"] else set()
                if "join_forbidden" in data:
                    st.join_forbidden = bool(data["join_forbidden"])
                if isinstance(data.get("token"), str):
                    st.token = data["token"]
                if "matrix_limit" in data:
                    lim = data["matrix_limit"] or {}
                    st.set_limit(lim.get("burst"), lim.get("per_second"))
        with st.lock:
            lim = st.limit
            snap = {"joined": sorted(st.joined),
                    "join_forbidden": st.join_forbidden,
                    "faults": [dict(f["spec"], left=f["left"])
                               for f in st.faults],
                    "events": len(st.events),
                    "matrix_limit": None if lim is None else
                    {"burst": lim["burst"], "per_second": lim["rate"]},
                    "limited": 0 if lim is None else lim["limited"],
                    "arrivals": {k: len(v)
                                 for k, v in st.arrivals.items()}}
        self.reply(200, snap)


# -------------------------------------------------------------- request


class Request:
    """One non-control request: route, apply a fault, record, answer."""

    def __init__(self, handler, path, query, raw, t):
        self.h = handler
        self.st = handler.server.state
        self.path = path
        self.query = query
        self.raw = raw
        self.t = t
        self.json = parse_json(raw) if raw else None
        self.info = {}          # extra fields for the record

    # ---- auth

    def auth(self):
        """Return (present, ok) for the Matrix bearer token."""
        header = self.h.headers.get("Authorization")
        with self.st.lock:
            token = self.st.token
        if header is not None:
            return True, header == "Bearer " + token
        qs = urllib.parse.parse_qs(self.query)
        if "access_token" in qs:
            self.info["token_in_query"] = True
            return True, qs["access_token"][-1] == token
        return False, False

    def redacted_query(self):
        pairs = urllib.parse.parse_qsl(self.query, keep_blank_values=True)
        if not any(k == "access_token" for k, _ in pairs):
            return self.query
        return urllib.parse.urlencode(
            [(k, "<redacted>" if k == "access_token" else v)
             for k, v in pairs])

    # ---- record

    def write_record(self, status, fault):
        headers = {}
        for name, value in self.h.headers.items():
            name = name.lower()
            if name == "authorization":
                continue
            headers[name] = (headers[name] + ", " + value
                             if name in headers else value)
        present, ok = self.auth()
        try:
            body = self.raw.decode("utf-8")
            utf8 = True
        except UnicodeDecodeError:
            body = self.raw.decode("utf-8", errors="replace")
            utf8 = False
        entry = {"path": self.path, "query": self.redacted_query(),
                 "method": self.h.command, "headers": headers,
                 "auth_present": present, "auth_ok": ok,
                 "body": body, "body_utf8": utf8, "json": self.json,
                 "t": self.t, "wall": time.time(), "status": status}
        if fault is not None:
            entry["fault"] = fault.get("fault")
        entry.update(self.info)
        self.st.record(entry)
        kind = self.kind()
        if kind:
            self.st.arrived(kind, self.t, status)

    def kind(self):
        """The receiver a request was for, as /_control/arrivals names
        it, or None (Matrix calls other than sends are not counted)."""
        if self.path.startswith("/slack/"):
            return "slack"
        if self.path.startswith("/hookshot/"):
            return "hookshot"
        if self.path.startswith(MX + "rooms/") and "/send/" in self.path:
            return "matrix"
        return None

    # ---- fault handling

    def run(self, fault):
        kind = fault.get("fault") if fault else None
        if kind == "drop":
            self.write_record(None, fault)
            self.h.close_connection = True
            return
        if kind in ("status", "matrix_limit"):
            status, body, headers = self.fault_reply(fault)
            self.write_record(status, fault)
            self.h.reply(status, body, headers=headers)
            return
        status, body, headers = self.route()
        self.write_record(None if kind == "drop_after" else status, fault)
        if kind == "drop_after":
            self.h.close_connection = True
            return
        if kind == "hang":
            secs = min(float(fault.get("seconds", 5)), MAX_HANG)
            if self.st.stop.wait(secs):
                self.h.close_connection = True
                return
        try:
            self.h.reply(status, body, headers=headers)
        except OSError:
            self.h.close_connection = True

    def fault_reply(self, fault):
        headers = {}
        if fault["fault"] == "matrix_limit":
            ms = fault.get("retry_after_ms", 500)
            return 429, {"errcode": "M_LIMIT_EXCEEDED",
                         "error": "Too Many Requests",
                         "retry_after_ms": ms}, headers
        status = fault["status"]
        if fault.get("retry_after") is not None:
            headers["Retry-After"] = str(fault["retry_after"])
        body = fault.get("body")
        if body is None:
            body = self.default_fault_body(status)
        return status, body, headers

    def default_fault_body(self, status):
        if self.path.startswith("/_matrix/"):
            if status == 429:
                return {"errcode": "M_LIMIT_EXCEEDED",
                        "error": "Too Many Requests"}
            return {"errcode": "M_UNKNOWN", "error": "injected fault"}
        if self.path.startswith("/hookshot"):
            return {"ok": False, "error": "Failed to handle webhook"}
        return {429: "rate_limited", 500: "rollup_error"}.get(status,
                                                              "injected")

    # ---- routing

    def route(self):
        try:
            if self.path.startswith(MX):
                return self.matrix()
            if self.path.startswith("/_matrix/"):
                raise mx_error(404, "M_UNRECOGNIZED", "Unrecognized request")
            for prefix, (status, body) in SLACK_GONE.items():
                if self.path.startswith(prefix):
                    return status, body, {}
            if self.path.startswith("/slack/"):
                return self.slack()
            if self.path.startswith("/hookshot-gone/"):
                return 404, {"ok": False, "error": "Webhook not found"}, {}
            if self.path.startswith("/hookshot/"):
                return self.hookshot()
            return 404, "not found", {}
        except PeerError as e:
            return e.status, e.body, {}

    def slack(self):
        if self.h.command != "POST":
            return 405, "invalid_method", {}
        ctype = self.h.headers.get("Content-Type", "")
        verdict = slack_verdict(ctype, self.json)
        if verdict:
            return 400, verdict, {}
        return 200, "ok", {}

    def hookshot(self):
        if self.h.command not in ("POST", "PUT"):
            return 405, {"ok": False, "error": "Method not allowed"}, {}
        hook = self.path[len("/hookshot/"):]
        if not hook or "/" in hook:
            return 404, {"ok": False, "error": "Webhook not found"}, {}
        ctype = self.h.headers.get("Content-Type", "").lower()
        data = self.json
        if ctype.startswith("text/"):
            data = {"text": self.raw.decode("utf-8", errors="replace")}
        text = data.get("text") if isinstance(data, dict) else None
        if not isinstance(text, str) or not text.strip():
            return 400, {"ok": False, "error": "missing text"}, {}
        return self.st.hookshot_status, {"ok": True}, {}

    # ---- matrix

    def matrix(self):
        present, ok = self.auth()
        if not present:
            raise mx_error(401, "M_MISSING_TOKEN", "Missing access token")
        if not ok:
            raise mx_error(401, "M_UNKNOWN_TOKEN",
                           "Unrecognised access token", soft_logout=False)
        parts = self.path[len(MX):].split("/")
        segs = [urllib.parse.unquote(p) for p in parts]
        cmd = self.h.command
        if segs == ["account", "whoami"]:
            self.expect(cmd, "GET")
            return 200, {"user_id": self.st.user_id,
                         "device_id": self.st.device_id,
                         "is_guest": False}, {}
        if len(segs) == 3 and segs[:2] == ["directory", "room"]:
            self.expect(cmd, "GET")
            return self.directory(segs[2])
        if len(segs) == 2 and segs[0] == "join":
            self.expect(cmd, "POST")
            return self.join(segs[1])
        if len(segs) == 5 and segs[0] == "rooms" and segs[2] == "send":
            self.expect(cmd, "PUT")
            return self.send(segs[1], segs[3], segs[4])
        raise mx_error(404, "M_UNRECOGNIZED", "Unrecognized request")

    @staticmethod
    def expect(cmd, want):
        if cmd != want:
            raise mx_error(405, "M_UNRECOGNIZED", "Unrecognized request")

    def directory(self, alias):
        if not alias.startswith("#") or ":" not in alias:
            raise mx_error(400, "M_INVALID_PARAM", "Invalid room alias")
        room = self.st.aliases.get(alias)
        if room is None:
            raise mx_error(404, "M_NOT_FOUND", "Room alias not found")
        return 200, {"room_id": room,
                     "servers": [alias.split(":", 1)[1]]}, {}

    def join(self, target):
        if not isinstance(self.json, dict):
            raise mx_error(400, "M_NOT_JSON", "Content not JSON.")
        room = self.st.aliases.get(target, target)
        self.info["room_id"] = room
        with self.st.lock:
            if room not in self.st.rooms:
                raise mx_error(404, "M_NOT_FOUND", "No known servers")
            if self.st.join_forbidden:
                raise mx_error(403, "M_FORBIDDEN",
                               "You are not invited to this room.")
            self.st.joined.add(room)
        return 200, {"room_id": room}, {}

    def send(self, room, etype, txn):
        self.info.update(room_id=room, txn_id=txn, event_type=etype)
        if len(self.raw) > MATRIX_EVENT_MAX:
            raise mx_error(413, "M_TOO_LARGE", "event too large")
        if self.json is None:
            raise mx_error(400, "M_NOT_JSON", "Content not JSON.")
        if not isinstance(self.json, dict):
            raise mx_error(400, "M_BAD_JSON", "Content must be an object")
        if etype == "m.room.message" and not (
                isinstance(self.json.get("msgtype"), str)
                and isinstance(self.json.get("body"), str)):
            raise mx_error(400, "M_BAD_JSON", "msgtype and body required")
        st = self.st
        with st.lock:
            if room not in st.joined:
                raise mx_error(403, "M_FORBIDDEN", "not in room")
            key = (st.token, etype, room, txn)
            event_id = st.txns.get(key)
            duplicate = event_id is not None
            # as Synapse: a retransmission is answered from the txn
            # cache, only a new event spends the sender's allowance
            wait_ms = 0 if duplicate else st.take_token()
            if wait_ms:
                self.info["rate_limited"] = True
                raise mx_error(429, "M_LIMIT_EXCEEDED", "Too Many Requests",
                               retry_after_ms=wait_ms)
            if not duplicate:
                st.counter += 1
                event_id = "$%d" % st.counter
                st.txns[key] = event_id
                st.events.append({"event_id": event_id, "room_id": room,
                                  "type": etype, "txn_id": txn,
                                  "content": self.json, "t": self.t})
        self.info.update(event_id=event_id, duplicate_txn=duplicate,
                         new_event=not duplicate)
        return 200, {"event_id": event_id}, {}


# --------------------------------------------------------------- server


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


class Server6(Server):
    address_family = socket.AF_INET6


def write_port_file(path, port):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as fh:
        fh.write("%d\n" % port)
    os.replace(tmp, path)


def parse_bool(text):
    low = text.lower()
    if low in ("true", "yes", "1", "on"):
        return True
    if low in ("false", "no", "0", "off"):
        return False
    raise argparse.ArgumentTypeError("expected true or false")


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--record", required=True,
                   help="append one JSON line per request to this file")
    p.add_argument("--port-file", help="write the port here once listening")
    p.add_argument("--host", default="127.0.0.1",
                   choices=["127.0.0.1", "::1"])
    p.add_argument("--token", default="test-token",
                   help="the Matrix access token accepted (Bearer)")
    p.add_argument("--user-id", default="@bot:example.org")
    p.add_argument("--device-id", default="TESTDEV")
    p.add_argument("--room-alias", action="append",
                   help="known alias (repeatable, pairs with --room-id)")
    p.add_argument("--room-id", action="append",
                   help="known room id (repeatable)")
    p.add_argument("--joined", type=parse_bool, default=True,
                   help="whether the bot starts joined (default true)")
    p.add_argument("--join-forbidden", action="store_true",
                   help="joins get 403 M_FORBIDDEN")
    p.add_argument("--hookshot-status", type=int, default=200,
                   choices=[200, 202])
    p.add_argument("--matrix-burst", type=int, default=0,
                   help="rate-limit Matrix sends: this many at once...")
    p.add_argument("--matrix-rate", type=float, default=0.0,
                   help="...then this many a second (429 "
                   "M_LIMIT_EXCEEDED with retry_after_ms beyond)")
    p.add_argument("--max-lifetime", type=float, default=900.0,
                   help="exit after this many seconds (default 900)")
    p.add_argument("--verbose", action="store_true")
    return p.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    state = State(args)
    open(args.record, "a").close()
    cls = Server6 if args.host == "::1" else Server
    server = cls((args.host, 0), Handler)
    server.state = state
    server.verbose = args.verbose
    port = server.server_address[1]

    def on_signal(signum, frame):
        state.stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    thread = threading.Thread(target=server.serve_forever,
                              kwargs={"poll_interval": 0.2}, daemon=True)
    thread.start()
    if args.port_file:
        write_port_file(args.port_file, port)
    print(port, flush=True)
    state.stop.wait(args.max_lifetime if args.max_lifetime > 0 else None)
    server.shutdown()
    server.server_close()
    thread.join(5)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
