#!/usr/bin/python3
"""ZEB/1 protocol test: a Python client written from docs/PROTOCOL.md alone.

Usage: /usr/bin/python3 tests/protocol_test.py /path/to/zebd

Starts its own zebd nodes (temporary data directories, free TCP ports on
127.0.0.1), talks to them with pyzmq + msgpack only, and checks what the
protocol document promises. Prints one line per test and exits non-zero on
any failure. No fixed sleeps: every wait is a poll with a deadline.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import uuid

import msgpack
import zmq

REPLY_TIMEOUT = 5.0        # seconds to wait for an ordinary reply
STARTUP_TIMEOUT = 15.0     # seconds for a node to answer HELLO
STOP_TIMEOUT = 10.0        # seconds for a node to exit after SIGTERM

EMPTY = b"\x80"            # the empty map body (section 2)

# Canonical key order (section 5): id, type, source, subject, time, sequence,
# channel, the other attributes in the table's order, extensions, data.
CANONICAL_ORDER = [
    "id", "type", "source", "subject", "time", "sequence", "channel",
    "specversion", "idempotencykey", "traceparent", "tracestate",
    "correlationid", "causationid", "actorid", "tenantid",
    "datacontenttype", "dataschema",
]


class TestFailure(AssertionError):
    pass


def check(cond, msg):
    if not cond:
        raise TestFailure(msg)


def check_eq(actual, expected, what):
    if actual != expected:
        raise TestFailure("%s: expected %r, got %r" % (what, expected, actual))


def is_uint(v):
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def pack(value):
    return msgpack.packb(value, use_bin_type=True)


def unpack(data):
    return msgpack.unpackb(data, raw=False, strict_map_key=False)


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def unique(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:12])


# --------------------------------------------------------------------------
# Client helpers


class Reply:
    def __init__(self, frames):
        self.frames = frames
        self.command = frames[0].decode("ascii", "replace")
        self.raw_body = frames[1] if len(frames) > 1 else None
        self.body = unpack(frames[1]) if len(frames) > 1 else None
        self.tag = frames[2] if len(frames) > 2 else None

    def __repr__(self):
        return "Reply(%s, %r, tag=%r, frames=%d)" % (
            self.command, self.body, self.tag, len(self.frames))


class Conn:
    """A DEALER connected to one node endpoint."""

    def __init__(self, ctx, endpoint):
        self.sock = ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(endpoint)

    def send(self, command, body=EMPTY, tag=None):
        """body: bytes are sent as is, anything else is msgpack-encoded."""
        if not isinstance(body, bytes):
            body = pack(body)
        frames = [command.encode() if isinstance(command, str) else command, body]
        if tag is not None:
            frames.append(tag)
        self.sock.send_multipart(frames)

    def send_frames(self, frames):
        self.sock.send_multipart(frames)

    def recv(self, timeout=REPLY_TIMEOUT):
        if not self.sock.poll(int(timeout * 1000)):
            raise TestFailure("no reply within %.1f s" % timeout)
        return Reply(self.sock.recv_multipart())

    def nothing_within(self, timeout):
        """True if no message arrives within timeout seconds."""
        return not self.sock.poll(int(timeout * 1000))

    def call(self, command, body=EMPTY, tag=None, timeout=REPLY_TIMEOUT):
        self.send(command, body, tag)
        reply = self.recv(timeout)
        if tag is not None:
            check_eq(reply.tag, tag, "%s reply tag" % command)
            check_eq(len(reply.frames), 3, "%s reply frame count (tagged)" % command)
        return reply

    def close(self):
        self.sock.close(0)


class Node:
    """One zebd process with its own data dir and ports."""

    def __init__(self, zebd, ctx, settings=()):
        self.zebd = zebd
        self.ctx = ctx
        self.dir = tempfile.mkdtemp(prefix="zeb-protocol-")
        self.ports = [free_port() for _ in range(4)]
        while len(set(self.ports)) < 4:
            self.ports = [free_port() for _ in range(4)]
        self.cfg_ingest = "tcp://127.0.0.1:%d" % self.ports[0]
        self.cfg_log = "tcp://127.0.0.1:%d" % self.ports[1]
        self.cfg_bus = "tcp://127.0.0.1:%d" % self.ports[2]
        self.cfg_registry = "tcp://127.0.0.1:%d" % self.ports[3]
        self.settings = list(settings)
        self.proc = None
        self.welcome = None
        self.ingest = self.cfg_ingest   # the only endpoint we configure-and-use
        self.log = None                 # learnt from WELCOME
        self.bus = None                 # learnt from WELCOME
        self.conns = []

    def start(self):
        data = os.path.join(self.dir, "data")
        os.mkdir(data)
        cmd = [self.zebd, "--quiet", "--data", data,
               "--set", "ingest/endpoint=" + self.cfg_ingest,
               "--set", "log/endpoint=" + self.cfg_log,
               "--set", "bus/endpoint=" + self.cfg_bus,
               "--set", "registry/endpoint=" + self.cfg_registry,
               "--set", "outbox/endpoint=tcp://127.0.0.1:*", "--set", "outbox/workers=tcp://127.0.0.1:*",
               "--set", "automation/endpoint=tcp://127.0.0.1:*", "--set", "cron/endpoint=tcp://127.0.0.1:*",
               "--set", "http/endpoint=127.0.0.1:0"]
        for s in self.settings:
            cmd += ["--set", s]
        self.errlog = open(os.path.join(self.dir, "zebd.log"), "wb")
        self.proc = subprocess.Popen(cmd, stdout=self.errlog, stderr=subprocess.STDOUT)
        # Readiness: HELLO repeatedly with a short timeout until WELCOME.
        probe = Conn(self.ctx, self.cfg_ingest)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        attempt = 0
        try:
            while True:
                check(self.proc.poll() is None,
                      "zebd exited early with status %s: %s" % (self.proc.returncode, self.output()))
                check(time.monotonic() < deadline, "zebd did not answer HELLO within %.0f s" % STARTUP_TIMEOUT)
                attempt += 1
                tag = b"ready-%d" % attempt
                probe.send("HELLO", {"version": 1, "client": "protocol_test"}, tag)
                if probe.sock.poll(200):
                    reply = Reply(probe.sock.recv_multipart())
                    if reply.command == "WELCOME":
                        self.welcome = reply.body
                        break
        finally:
            probe.close()
        self.log = self.welcome.get("log")
        self.bus = self.welcome.get("bus")

    def output(self):
        try:
            with open(os.path.join(self.dir, "zebd.log"), "rb") as f:
                return f.read().decode("utf-8", "replace")[-2000:]
        except OSError:
            return ""

    def conn(self, endpoint=None):
        c = Conn(self.ctx, endpoint or self.ingest)
        self.conns.append(c)
        return c

    def stop(self):
        """SIGTERM, expect exit status 0. Returns an error string or None."""
        for c in self.conns:
            c.close()
        self.conns = []
        err = None
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout=STOP_TIMEOUT)
                if rc != 0:
                    err = "zebd exited with status %d after SIGTERM" % rc
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                err = "zebd did not exit within %.0f s of SIGTERM" % STOP_TIMEOUT
        elif self.proc is not None:
            err = "zebd had already exited with status %s" % self.proc.returncode
        if err:
            err += "; output: " + self.output()
        return err

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def cleanup(self):
        try:
            self.errlog.close()
        except Exception:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


# --------------------------------------------------------------------------
# Protocol helpers built on the document


def event(type_, **attrs):
    e = {"type": type_, "source": "protocol-test"}
    e.update(attrs)
    return e


# The range of `time` (section 5): years 0000..9999, in ms
TIME_MIN = -62167219200000          # 0000-01-01T00:00:00.000Z
TIME_MAX = 253402300799999          # 9999-12-31T23:59:59.999Z


def raw_event(raw, type_="bad.t"):
    """An event whose attributes in raw are str values of the given bytes
    (not necessarily UTF-8, which msgpack-python will not pack as str)."""
    attrs = {"type": type_.encode(), "source": b"s"}
    attrs.update(raw)
    out = bytes([0x80 | len(attrs)])
    for k, v in attrs.items():
        check(len(v) < 32, "raw_event values are fixstr")
        out += pack(k) + bytes([0xa0 | len(v)]) + v
    return out


def publish_ok(conn, body, tag=None):
    reply = conn.call("PUBLISH", body, tag)
    check_eq(reply.command, "ACK", "PUBLISH reply command (body %r)" % (reply.body,))
    return reply.body


def expect_nack(conn, body, reason, code, command="PUBLISH", tag=b"nack-tag", index=None):
    conn.send(command, body, tag)
    reply = conn.recv()
    check_eq(reply.command, "NACK", "reply command for %s case" % reason)
    body = reply.body
    check(isinstance(body, dict), "NACK body is a map: %r" % (body,))
    check_eq(body.get("reason"), reason, "NACK reason (error %r)" % body.get("error"))
    check_eq(body.get("code"), code, "NACK code for %s" % reason)
    check(isinstance(body.get("error"), str) and body["error"],
          "NACK error is a non-empty string: %r" % (body,))
    if index is None:
        check("index" not in body, "NACK without index expected, got %r" % (body,))
    else:
        check_eq(body.get("index"), index, "NACK index")
    if tag is not None:
        check_eq(reply.tag, tag, "NACK tag")
    return reply


def fetch(conn, tag=None, **req):
    reply = conn.call("FETCH", req, tag)
    check_eq(reply.command, "EVENTS", "FETCH reply command (request %r, body %r)" % (req, reply.body))
    body = reply.body
    for k in ("first", "last", "next", "count"):
        check(is_uint(body.get(k)), "EVENTS %s is a uint: %r" % (k, body))
    check(isinstance(body.get("events"), list), "EVENTS events is an array")
    check_eq(body["count"], len(body["events"]), "EVENTS count vs len(events)")
    seqs = [e["sequence"] for e in body["events"]]
    check(seqs == sorted(seqs) and len(set(seqs)) == len(seqs),
          "events in strictly increasing sequence order: %r" % seqs)
    return body


def last_sequence(node):
    """Last committed sequence, as WELCOME reports it."""
    c = node.conn()
    r = c.call("HELLO", {"version": 1})
    check_eq(r.command, "WELCOME", "HELLO reply")
    c.close()
    node.conns.remove(c)
    return r.body["last"]


def ingest_stats(conn):
    r = conn.call("STATS", {}, b"st")
    check_eq(r.command, "STATS", "ingest STATS reply command")
    return r.body


def fresh_client_served(node, label):
    """A new DEALER publishes and gets an ACK (the node still serves everyone)."""
    c = node.conn()
    ack = publish_ok(c, event("fresh.client", subject=label), b"fresh")
    check(is_uint(ack.get("sequence")) and ack["sequence"] >= 1, "fresh client ACK sequence")
    check_eq(ack.get("duplicate"), False, "fresh client ACK duplicate")
    c.close()
    node.conns.remove(c)
    return ack["sequence"]


def check_canonical_order(ev, what):
    keys = list(ev.keys())
    known = [k for k in keys if k in CANONICAL_ORDER]
    check_eq(known, sorted(known, key=CANONICAL_ORDER.index), "%s: attribute key order" % what)
    # extensions after the known attributes, data last
    positions = {k: i for i, k in enumerate(keys)}
    if known:
        last_known = max(positions[k] for k in known)
        exts = [k for k in keys if k not in CANONICAL_ORDER and k != "data"]
        for x in exts:
            check(positions[x] > last_known, "%s: extension %r after attributes: %r" % (what, x, keys))
    if "data" in keys:
        check_eq(keys[-1], "data", "%s: data is the last key" % what)


# --------------------------------------------------------------------------
# Tests on the main node (run in this order: sequence numbers are global)


def test_hello(node):
    c = node.conn()
    r = c.call("HELLO", {"version": 1, "client": "protocol_test"}, b"h1")
    check_eq(r.command, "WELCOME", "HELLO reply command")
    w = r.body
    check_eq(w.get("version"), 1, "WELCOME version")
    check(isinstance(w.get("node"), str) and w["node"], "WELCOME node is a non-empty str: %r" % w)
    for k in ("ingest", "log", "bus"):
        check(isinstance(w.get(k), str), "WELCOME %s is a str: %r" % (k, w))
    check_eq(w["ingest"], node.cfg_ingest, "WELCOME ingest")
    check_eq(w["log"], node.cfg_log, "WELCOME log")
    check_eq(w["bus"], node.cfg_bus, "WELCOME bus")
    check(isinstance(w.get("http"), str) and w["http"].startswith("http://127.0.0.1:"),
          "WELCOME http names the gateway: %r" % w.get("http"))
    check(is_uint(w.get("max_event_size")), "WELCOME max_event_size is a uint")
    check_eq(w["max_event_size"], 1024 * 1024, "WELCOME max_event_size (default 1 MiB)")
    check(is_uint(w.get("max_publish")) and w["max_publish"] >= 1, "WELCOME max_publish uint >= 1: %r" % w)
    check(is_uint(w.get("last")), "WELCOME last is a uint")
    check_eq(w["last"], 0, "WELCOME last on a fresh node")
    # without a tag: two frames
    r = c.call("HELLO", {"version": 1})
    check_eq(r.command, "WELCOME", "untagged HELLO reply")
    check_eq(len(r.frames), 2, "untagged reply frame count")
    # no version, or nil, means 1; other keys are ignored
    for body in ({}, {"version": None}, {"client": 7, "other": [1]}):
        check_eq(c.call("HELLO", body, b"hv").command, "WELCOME", "HELLO %r" % (body,))
    # version 2 is refused
    expect_nack(c, {"version": 2}, "UNSUPPORTED_VERSION", 400, command="HELLO", tag=b"h2")


def test_publish_sequences(node):
    c = node.conn()
    e1 = event("seq.first", subject="Order:1", data={"n": 1})
    c.send("PUBLISH", e1, b"t1")
    r = c.recv()
    check_eq(r.command, "ACK", "first PUBLISH reply")
    check_eq(r.tag, b"t1", "ACK echoes the tag")
    check_eq(len(r.frames), 3, "tagged ACK frame count")
    check_eq(r.body, {"sequence": 1, "duplicate": False}, "first ACK body")
    # Section 10 gives the exact bytes of this reply.
    check_eq(r.raw_body.hex(), "82a873657175656e636501a96475706c6963617465c2", "ACK body bytes (section 10)")
    r = c.call("PUBLISH", event("seq.second"), b"t2")
    check_eq(r.command, "ACK", "second PUBLISH reply")
    check_eq(r.body, {"sequence": 2, "duplicate": False}, "second ACK body")
    # no tag: two frames
    c.send("PUBLISH", event("seq.third"))
    r = c.recv()
    check_eq(r.command, "ACK", "untagged PUBLISH reply")
    check_eq(len(r.frames), 2, "untagged ACK frame count")
    check_eq(r.body, {"sequence": 3, "duplicate": False}, "third ACK body")
    # Several PUBLISH in flight on one connection: replies in send order,
    # sequences consecutive, no gaps.
    n = 20
    for i in range(n):
        c.send("PUBLISH", event("seq.pipe", data=i), b"p%d" % i)
    got = [c.recv() for _ in range(n)]
    check_eq([r.tag for r in got], [b"p%d" % i for i in range(n)], "pipelined reply order")
    check_eq([r.body.get("sequence") for r in got], list(range(4, 4 + n)), "pipelined sequences")
    check_eq(last_sequence(node), 3 + n, "WELCOME last after publishing")


def test_duplicate(node):
    c = node.conn()
    key = unique("dup")
    first = publish_ok(c, event("dup.t", idempotencykey=key, data="one"), b"d1")
    check_eq(first.get("duplicate"), False, "first publish duplicate flag")
    seq = first["sequence"]
    again = publish_ok(c, event("dup.t", idempotencykey=key, data="two"), b"d2")
    check_eq(again, {"sequence": seq, "duplicate": True}, "second ACK for the same key")
    # producer-given id is the dedup key when there is no idempotencykey
    pid = unique("pid")
    a = publish_ok(c, event("dup.t", id=pid))
    b = publish_ok(c, event("dup.t", id=pid))
    check_eq(b, {"sequence": a["sequence"], "duplicate": True}, "duplicate by producer id")
    check_eq(a["sequence"], seq + 1, "no sequence consumed by the duplicate")
    # the log holds each once
    log = node.conn(node.log)
    got = fetch(log, **{"from": seq, "types": ["dup.t"]})
    keyed = [e for e in got["events"] if e.get("idempotencykey") == key]
    check_eq(len(keyed), 1, "events stored with the idempotency key")
    check_eq(keyed[0]["sequence"], seq, "stored sequence")
    check_eq(keyed[0].get("data"), "one", "the first version is the one stored")
    by_id = [e for e in got["events"] if e.get("id") == pid]
    check_eq(len(by_id), 1, "events stored with the producer id")
    check_eq(got["last"], a["sequence"], "log last after duplicates")


def test_publish_array(node):
    c = node.conn()
    old_key = unique("arr-old")
    old = publish_ok(c, event("arr.t", idempotencykey=old_key))
    base = old["sequence"]
    batch = [
        event("arr.t", data=0, idempotencykey=unique("a0")),
        event("arr.t", data=1, idempotencykey=old_key),        # duplicate of the earlier one
        event("arr.t", data=2),
        event("arr.u", data=3, subject="S"),
    ]
    r = c.call("PUBLISH", batch, b"arr")
    check_eq(r.command, "ACK", "array PUBLISH reply (%r)" % (r.body,))
    check_eq(r.body.get("count"), 4, "array ACK count")
    check_eq(r.body.get("sequences"), [base + 1, base, base + 2, base + 3], "array ACK sequences")
    check_eq(r.body.get("duplicates"), [1], "array ACK duplicates")
    log = node.conn(node.log)
    got = fetch(log, **{"from": base + 1})
    check_eq([e["sequence"] for e in got["events"]], [base + 1, base + 2, base + 3], "stored array sequences")
    check_eq([e.get("data") for e in got["events"]], [0, 2, 3], "stored array data in order")
    check_eq(got["events"][2]["type"], "arr.u", "stored type")
    # an array without tag: two frames
    c.send("PUBLISH", [event("arr.t")])
    r = c.recv()
    check_eq((r.command, len(r.frames)), ("ACK", 2), "untagged array ACK")
    check_eq(r.body, {"count": 1, "sequences": [base + 4], "duplicates": []}, "one-element array ACK")


def test_bad_input(node):
    c = node.conn()
    before = ingest_stats(c)["ingest"]["nacks_by_reason"]
    expected = {}

    def case(label, reason, code, body=None, frames=None, command="PUBLISH",
             index=None, tag=b"bad", tag_echoed=True):
        if frames is not None:
            c.send_frames(frames)
            reply = c.recv()
            check_eq(reply.command, "NACK", "%s: reply command" % label)
            check_eq(reply.body.get("reason"), reason, "%s: reason" % label)
            check_eq(reply.body.get("code"), code, "%s: code" % label)
            check(isinstance(reply.body.get("error"), str) and reply.body["error"], "%s: error text" % label)
            if not tag_echoed:
                check_eq(len(reply.frames), 2, "%s: reply without tag frame" % label)
        else:
            try:
                reply = expect_nack(c, body, reason, code, command=command, tag=tag, index=index)
            except TestFailure as e:
                raise TestFailure("%s: %s" % (label, e))
        expected[reason] = expected.get(reason, 0) + 1
        fresh_client_served(node, label)
        return reply.body["error"]

    def names(error, *words):
        for w in words:
            check(w in error, "NACK error %r names %r" % (error, w))

    good = event("bad.t")
    packed = pack(event("bad.t", subject="Order:1", data={"a": [1, 2, 3]}))
    case("truncated msgpack", "MALFORMED", 400, body=packed[:-3])
    case("bytes after the body", "MALFORMED", 400, body=pack(good) + b"\x01")
    case("body an integer", "MALFORMED", 400, body=pack(42))
    case("body a string", "MALFORMED", 400, body=pack("not a map"))
    case("empty array", "MALFORMED", 400, body=pack([]))
    case("type an integer", "INVALID_ATTRIBUTE", 400, body={"type": 7, "source": "s"})
    case("type with a space", "INVALID_ATTRIBUTE", 400, body=event("bad type"))
    case("type of one part", "INVALID_ATTRIBUTE", 400, body=event("order"))
    case("type with an empty part", "INVALID_ATTRIBUTE", 400, body=event("order..placed"))
    case("type with two modules", "INVALID_ATTRIBUTE", 400, body=event("a:b:c.d"))
    case("subject not UTF-8 (overlong)", "INVALID_ATTRIBUTE", 400,
         body=b"\x83\xa4type\xa5bad.t\xa6source\xa1s\xa7subject\xa2\xc0\xaf")
    case("extension not UTF-8 (surrogate)", "INVALID_ATTRIBUTE", 400,
         body=b"\x83\xa4type\xa5bad.t\xa6source\xa1s\xa6region\xa3\xed\xa0\x80")
    case("data nested 65 levels", "INVALID_ATTRIBUTE", 400,
         body=b"\x83\xa4type\xa5bad.t\xa6source\xa1s\xa4data" + b"\x91" * 65 + b"\xc0")
    case("data nested 100,000 levels", "INVALID_ATTRIBUTE", 400,
         body=b"\x83\xa4type\xa5bad.t\xa6source\xa1s\xa4data" + b"\x91" * 100000 + b"\xc0")
    names(case("tenantid not UTF-8 (0xff)", "INVALID_ATTRIBUTE", 400,
               body=raw_event({"tenantid": b"acme\xff"})), "tenantid")
    names(case("source above U+10FFFF", "INVALID_ATTRIBUTE", 400,
               body=raw_event({"source": b"\xf4\x90\x80\x80"})), "source")
    names(case("correlationid a lone continuation byte", "INVALID_ATTRIBUTE", 400,
               body=raw_event({"correlationid": b"\x80"})), "correlationid")
    case("repeated attribute", "INVALID_ATTRIBUTE", 400,
         body=b"\x83\xa4type\xa1a\xa6source\xa1s\xa4type\xa1b")
    # Keys are strings: any other key makes the event MALFORMED
    case("integer key", "MALFORMED", 400, body=b"\x83\xa4type\xa5bad.t\xa6source\xa1s\x01\x02")
    case("binary key", "MALFORMED", 400, body=b"\x83\xc4\x04type\xa5bad.t\xa6source\xa1s\xa1x\x01")
    case("nil key first", "MALFORMED", 400, body=b"\x83\xc0\x01\xa4type\xa5bad.t\xa6source\xa1s")
    # Strings are never empty, extension strings included
    names(case("empty subject", "INVALID_ATTRIBUTE", 400, body=event("bad.t", subject="")), "subject")
    names(case("empty extension string", "INVALID_ATTRIBUTE", 400, body=event("bad.t", region="")), "region")
    # A producer's sequence is replaced, but must be a uint
    names(case("sequence a string", "INVALID_ATTRIBUTE", 400, body=event("bad.t", sequence="5")), "sequence")
    case("sequence negative", "INVALID_ATTRIBUTE", 400, body=event("bad.t", sequence=-1))
    case("sequence a float", "INVALID_ATTRIBUTE", 400, body=event("bad.t", sequence=1.0))
    # time: ms in years 0000..9999, or RFC 3339 text with a zone
    names(case("time before year 0000", "INVALID_ATTRIBUTE", 400,
               body=event("bad.t", time=TIME_MIN - 1)), "time")
    case("time after year 9999", "INVALID_ATTRIBUTE", 400, body=event("bad.t", time=TIME_MAX + 1))
    case("time over int64", "INVALID_ATTRIBUTE", 400, body=event("bad.t", time=2 ** 63))
    case("time a float", "INVALID_ATTRIBUTE", 400, body=event("bad.t", time=1.5))
    names(case("time text without a zone", "INVALID_ATTRIBUTE", 400,
               body=event("bad.t", time="2020-01-01T00:00:00")), "time")
    case("time text, a date only", "INVALID_ATTRIBUTE", 400, body=event("bad.t", time="2020-01-01"))
    case("time text, offset without ':'", "INVALID_ATTRIBUTE", 400,
         body=event("bad.t", time="2020-01-01T00:00:00+0100"))
    case("time text, offset before year 0000", "INVALID_ATTRIBUTE", 400,
         body=event("bad.t", time="0000-01-01T00:00:00+00:01"))
    case("time text, offset after year 9999", "INVALID_ATTRIBUTE", 400,
         body=event("bad.t", time="9999-12-31T23:59:59.999-00:01"))
    case("missing source", "MISSING_ATTRIBUTE", 400, body={"type": "bad.t"})
    case("missing type", "MISSING_ATTRIBUTE", 400, body={"source": "s"})
    case("empty type", "MISSING_ATTRIBUTE", 400, body={"type": "", "source": "s"})
    case("type too long", "ATTRIBUTE_TOO_LONG", 400, body=event("t" * 256))
    case("invalid extension name", "INVALID_EXTENSION", 400, body=event("bad.t", Bad_Name=1))
    case("extension name too long", "INVALID_EXTENSION", 400, body=event("bad.t", **{"x" * 21: 1}))
    case("extension bad value type", "INVALID_EXTENSION", 400, body=event("bad.t", ext=1.5))
    # A name quoted in the error is escaped: the error stays UTF-8
    names(case("extension name of invalid UTF-8", "INVALID_EXTENSION", 400,
               body=b"\x83\xa4type\xa5bad.t\xa6source\xa1s\xa4x\xff\n\xfe\x01"), "x\\xff\\x0a\\xfe")
    names(case("extension string over 1024 bytes", "ATTRIBUTE_TOO_LONG", 400,
               body=event("bad.t", region="x" * 1025)), "region")
    names(case("extension binary over 1024 bytes", "ATTRIBUTE_TOO_LONG", 400,
               body=event("bad.t", blob=b"x" * 1025)), "blob")
    case("17 extensions", "INVALID_EXTENSION", 400,
         body=event("bad.t", **{"e%d" % i: i for i in range(17)}))
    case("oversize event (default 1 MiB)", "TOO_LARGE", 413,
         body=event("bad.t", data=b"x" * (1024 * 1024)))
    case("unknown command", "UNKNOWN_COMMAND", 400, body={}, command="FROBNICATE", tag=b"uc")
    # A command of another endpoint: UNKNOWN_COMMAND, the error naming the endpoint
    names(case("FETCH sent to ingest", "UNKNOWN_COMMAND", 400, body={}, command="FETCH"),
          "FETCH", "ingest")
    names(case("REGISTER sent to ingest", "UNKNOWN_COMMAND", 400, body={}, command="REGISTER"),
          "REGISTER", "ingest")
    # The error is UTF-8 whatever the command's bytes: they are escaped
    # (the reply body decoding at all, with raw=False, is the check)
    names(case("command of invalid UTF-8", "UNKNOWN_COMMAND", 400, body={}, command=b"\xff\xfeWHAT"),
          "\\xff\\xfeWHAT")
    case("HELLO version 2", "UNSUPPORTED_VERSION", 400, body={"version": 2}, command="HELLO")
    case("HELLO version a string", "UNSUPPORTED_VERSION", 400, body={"version": "1"}, command="HELLO")
    # Every request body is exactly one msgpack map, HELLO's too
    case("HELLO bytes after the body", "MALFORMED", 400, body=pack({"version": 1}) + b"\x01",
         command="HELLO")
    case("HELLO body an integer", "MALFORMED", 400, body=pack(1), command="HELLO")
    case("HELLO body an array", "MALFORMED", 400, body=pack([1]), command="HELLO")
    case("HELLO integer key", "MALFORMED", 400, body=b"\x81\x01\x01", command="HELLO")
    case("one frame only", "MALFORMED", 400, frames=[b"PUBLISH"], tag_echoed=False)
    case("four frames", "MALFORMED", 400, frames=[b"PUBLISH", pack(good), b"tag", b"extra"])
    case("tag over 255 bytes", "MALFORMED", 400, frames=[b"PUBLISH", pack(good), b"t" * 256])

    # An array with one bad event: NACK names it, nothing is stored.
    last = last_sequence(node)
    bad_array = [event("bad.arr", data=0), event("bad.arr", data=1),
                 {"type": "bad.arr"}, event("bad.arr", data=3)]
    case("array with one bad event", "MISSING_ATTRIBUTE", 400, body=bad_array, index=2)
    case("array with an oversize event", "TOO_LARGE", 413, index=1,
         body=[event("bad.arr"), event("bad.arr", data=b"x" * (1024 * 1024))])
    # (each case published one event from a fresh client; two cases since `last`)
    log = node.conn(node.log)
    got = fetch(log, **{"from": last + 1})
    check_eq([e["type"] for e in got["events"]], ["fresh.client", "fresh.client"],
             "only the fresh clients' events were stored after the bad arrays")
    check_eq([e["sequence"] for e in got["events"]], [last + 1, last + 2],
             "sequence numbering did not advance for the refused arrays")

    # The client that got all those NACKs is still served.
    ack = publish_ok(c, event("bad.after"), b"after")
    check_eq(ack, {"sequence": last + 3, "duplicate": False}, "ACK after NACKs")
    # At the limits, accepted: data 64 levels deep, multi-byte UTF-8
    deep = 0
    for _ in range(64):
        deep = [deep]
    ack = publish_ok(c, event("bad.limits", subject="Gr\u00f6\u00dfe \u20ac \U0001d11e", data=deep))
    check_eq(ack, {"sequence": last + 4, "duplicate": False}, "64 levels of data, multi-byte UTF-8")
    # Extensions of 1024 bytes; an empty binary is a value (only strings are never empty)
    ack = publish_ok(c, event("bad.limits", region="r" * 1024, blob=b"b" * 1024, nothing=b""))
    check_eq(ack["sequence"], last + 5, "extensions of 1024 bytes and an empty binary")
    # time at the ends of its range, and RFC 3339 forms that are accepted
    times = [
        (TIME_MIN, TIME_MIN),
        (TIME_MAX, TIME_MAX),
        ("0000-01-01T00:00:00Z", TIME_MIN),
        ("9999-12-31T23:59:59.999Z", TIME_MAX),
        ("2020-01-01 01:00:00+01:00", 1577836800000),       # space for T, an offset
        ("2020-01-01t00:00:00.123456z", 1577836800123),     # lowercase; digits past ms dropped
        ("2016-12-31T23:59:60Z", 1483228799000),             # a leap second counts as :59
    ]
    seqs = [publish_ok(c, event("bad.time", time=t))["sequence"] for t, _ in times]
    got = fetch(log, **{"from": seqs[0], "types": ["bad.time"]})["events"]
    check_eq([(e["sequence"], e["time"]) for e in got], list(zip(seqs, [ms for _, ms in times])),
             "times accepted, stored as ms")

    after = ingest_stats(c)["ingest"]["nacks_by_reason"]
    for reason, n in expected.items():
        check_eq(after.get(reason, 0) - before.get(reason, 0), n, "nacks_by_reason[%s] increase" % reason)


def test_fetch(node):
    c = node.conn()
    log = node.conn(node.log)
    pid = unique("fid")
    payloads = [
        {"total": 99.5, "items": [1, "two", None, True], "nested": {"k": b"\x00\x01\xff"}},
        b"\x00binary\xff",
        "plain text",
        -12345678901,
        None,
    ]
    sent = [
        event("fetch.a", id=pid, subject="Order:42", sequence=999999, data=payloads[0],
              idempotencykey=unique("fk"), correlationid="corr-1", tenantid="t1",
              datacontenttype="application/msgpack", region="eu", flag=True, count7=7,
              blob=b"\x01\x02", time="2020-01-01T00:00:00Z"),
        event("fetch.b", data=payloads[1]),
        event("fetch.a", data=payloads[2], time=1700000000123),
        event("fetch.c", data=payloads[3], channel="chan-c"),
        event("fetch.b", data=payloads[4]),
    ]
    seqs = [publish_ok(c, e)["sequence"] for e in sent]
    s1 = seqs[0]
    check_eq(seqs, list(range(s1, s1 + 5)), "consecutive sequences")

    page1 = fetch(log, tag=b"f1", **{"from": s1, "max": 3})
    check_eq(page1["count"], 3, "FETCH max 3 count")
    check_eq([e["sequence"] for e in page1["events"]], seqs[:3], "FETCH page 1 sequences")
    check_eq(page1["next"], s1 + 3, "FETCH page 1 next")
    check_eq(page1["first"], 1, "EVENTS first")
    check(page1["last"] >= seqs[-1], "EVENTS last >= our last sequence")
    page2 = fetch(log, **{"from": page1["next"], "max": 100})
    check_eq([e["sequence"] for e in page2["events"]][:2], seqs[3:], "FETCH page 2 continues at next")
    events = page1["events"] + page2["events"][:2]
    for ev, orig, payload, seq in zip(events, sent, payloads, seqs):
        check(isinstance(ev.get("id"), str) and ev["id"], "event id set: %r" % ev)
        check(isinstance(ev.get("time"), int), "event time is an int: %r" % ev)
        check_eq(ev.get("sequence"), seq, "event sequence")
        check_eq(ev.get("type"), orig["type"], "event type")
        check_eq(ev.get("source"), "protocol-test", "event source")
        check_eq(ev.get("data"), payload, "event data intact")
        check("specversion" not in ev, "specversion 1.0 omitted in canonical form")
        check_eq(ev.get("channel"), orig.get("channel", orig["type"]),
                 "event channel (as given, else its default, the type)")
        check_canonical_order(ev, "FETCH event %d" % seq)
    e0 = events[0]
    check_eq(e0["id"], pid, "producer id kept")
    check_eq(e0["time"], 1577836800000, "RFC 3339 time converted to ms")
    for k in ("subject", "idempotencykey", "correlationid", "tenantid", "datacontenttype",
              "region", "flag", "count7", "blob"):
        check_eq(e0.get(k), sent[0][k], "attribute %s kept" % k)
    check_eq(events[2]["time"], 1700000000123, "producer int time kept")
    # an assigned id: present, and differs from the others
    check(len({e["id"] for e in events}) == 5, "ids distinct")
    # sequence is written as a 64-bit uint (0xcf + 8 bytes)
    raw = log.call("FETCH", {"from": s1, "max": 1}).raw_body
    check(b"\xa8sequence\xcf" + s1.to_bytes(8, "big") in raw, "sequence encoded as 0xcf + 8 bytes")
    # max_bytes: one event is always returned
    small = fetch(log, **{"from": s1, "max_bytes": 1})
    check_eq(small["count"], 1, "FETCH max_bytes 1 returns one event")
    check_eq(small["next"], s1 + 1, "FETCH max_bytes 1 next")

    # types: prefix filtering
    only_a = fetch(log, **{"from": s1, "types": ["fetch.a"]})
    check_eq([e["sequence"] for e in only_a["events"]], [seqs[0], seqs[2]], "types fetch.a")
    check_eq(only_a["next"], only_a["last"] + 1, "next moves past skipped types")
    bc = fetch(log, **{"from": s1, "types": ["fetch.b", "fetch.c"]})
    check_eq([e["sequence"] for e in bc["events"]], [seqs[1], seqs[3], seqs[4]], "types fetch.b + fetch.c")
    star = fetch(log, **{"from": s1, "types": ["fetch.*"]})
    check_eq([e["sequence"] for e in star["events"]], seqs, "types fetch.* (trailing * ignored)")
    pfx = fetch(log, **{"from": s1, "types": ["fet"]})
    check_eq([e["sequence"] for e in pfx["events"]], seqs, "types plain prefix 'fet'")
    for every in ([""], ["*"], [], ["fetch.a", ""], None):
        allx = fetch(log, **{"from": s1, "max": 5, "types": every})
        check_eq([e["sequence"] for e in allx["events"]], seqs, "types %r means every type" % every)
    none = fetch(log, **{"from": s1, "types": ["no.such."]})
    check_eq(none["count"], 0, "types with no match")
    check_eq(none["next"], none["last"] + 1, "next past the end when nothing matches")

    # wait_ms above the node's cap (log/max_wait) is lowered to it, not
    # refused: with events to return, the reply comes at once
    t0 = time.monotonic()
    huge = fetch(log, **{"from": s1, "max": 1, "wait_ms": 2 ** 62})
    check_eq([e["sequence"] for e in huge["events"]], [s1], "FETCH with wait_ms 2^62")
    check(time.monotonic() - t0 < 2.0, "FETCH with events and a huge wait_ms returned at once")

    # from defaults to 1
    dflt = fetch(log, max=2)
    check_eq([e["sequence"] for e in dflt["events"]], [1, 2], "FETCH without from starts at 1")

    # errors on the log endpoint
    expect_nack(log, [1, 2], "MALFORMED", 400, command="FETCH", tag=b"fe1")
    expect_nack(log, {"from": "one"}, "INVALID_ATTRIBUTE", 400, command="FETCH", tag=b"fe2")
    expect_nack(log, {"types": "fetch."}, "INVALID_ATTRIBUTE", 400, command="FETCH", tag=b"fe3")
    expect_nack(log, {"types": ["x"] * 33}, "INVALID_ATTRIBUTE", 400, command="FETCH", tag=b"fe4")
    expect_nack(log, {"wait_ms": -1}, "INVALID_ATTRIBUTE", 400, command="FETCH", tag=b"fe6")
    expect_nack(log, {"wait_ms": 2 ** 63}, "INVALID_ATTRIBUTE", 400, command="FETCH", tag=b"fe7")
    expect_nack(log, {"max": 0}, "INVALID_ATTRIBUTE", 400, command="FETCH", tag=b"fe8")
    expect_nack(log, {"types": ["x", 1]}, "INVALID_ATTRIBUTE", 400, command="FETCH", tag=b"fe9")
    expect_nack(log, {"types": ["x" * 256]}, "INVALID_ATTRIBUTE", 400, command="FETCH", tag=b"fe10")
    expect_nack(log, pack({}) + b"\x01", "MALFORMED", 400, command="FETCH", tag=b"fe11")
    expect_nack(log, b"\x81\x01\x01", "MALFORMED", 400, command="FETCH", tag=b"fe12")
    # a command of another endpoint: UNKNOWN_COMMAND naming this one
    for command in ("PUBLISH", "HELLO", "REGISTER"):
        r = expect_nack(log, {}, "UNKNOWN_COMMAND", 400, command=command, tag=b"fe5")
        check(command in r.body["error"] and "log" in r.body["error"],
              "UNKNOWN_COMMAND error names the command and the log: %r" % r.body["error"])


def test_fetch_by_time(node):
    c = node.conn()
    log = node.conn(node.log)
    # A: one event; then publish until an event gets a later (assigned) time.
    a_seq = publish_ok(c, event("time.a"))["sequence"]
    a = fetch(log, **{"from": a_seq, "max": 1})["events"][0]
    check_eq(a["sequence"], a_seq, "fetched A")
    deadline = time.monotonic() + 5
    b = None
    while b is None:
        check(time.monotonic() < deadline, "no event with a later time within 5 s")
        seq = publish_ok(c, event("time.b"))["sequence"]
        ev = fetch(log, **{"from": seq, "max": 1})["events"][0]
        if ev["time"] > a["time"]:
            b = ev
    c_seq = publish_ok(c, event("time.c"))["sequence"]
    got = fetch(log, time=b["time"])
    check(got["count"] >= 2, "FETCH by time returns events: %r" % got)
    check_eq(got["events"][0]["sequence"], b["sequence"], "FETCH by time starts at the first event at that time")
    check(c_seq in [e["sequence"] for e in got["events"]], "FETCH by time continues in sequence order")
    check(all(e["time"] >= b["time"] for e in got["events"]), "events at or after the time")
    got = fetch(log, time=a["time"])
    check(got["events"][0]["sequence"] <= a_seq, "FETCH at A's time starts at or before A")
    check(a_seq in [e["sequence"] for e in got["events"]], "A is returned when fetching from its time")
    got = fetch(log, time=0, max=1)
    check_eq(got["events"][0]["sequence"], 1, "FETCH time 0 starts at the first event")
    got = fetch(log, **{"time": -5, "from": b["sequence"], "max": 1})
    check_eq(got["events"][0]["sequence"], b["sequence"], "FETCH: a negative time is no time")
    future = fetch(log, time=b["time"] + 10 * 365 * 24 * 3600 * 1000)
    check_eq(future["count"], 0, "FETCH by a future time returns nothing")


def test_fetch_long_poll(node):
    other = node.conn()
    log = node.conn(node.log)
    start = last_sequence(node) + 1
    # short wait, nothing to read: count 0 after roughly wait_ms
    wait = 0.4
    t0 = time.monotonic()
    empty = fetch(log, tag=b"lp0", **{"from": start, "wait_ms": int(wait * 1000)})
    elapsed = time.monotonic() - t0
    check_eq(empty["count"], 0, "empty long-poll count")
    check_eq(empty["next"], start, "empty long-poll next")
    check(wait * 0.8 <= elapsed <= wait + 2.0, "empty long-poll took %.3f s for wait_ms %d" % (elapsed, wait * 1000))
    # without wait_ms: immediate
    t0 = time.monotonic()
    now = fetch(log, **{"from": start})
    check_eq(now["count"], 0, "FETCH at the end without wait")
    check(time.monotonic() - t0 < wait, "FETCH without wait_ms returned at once")

    # the long-poll is answered when a matching event is committed
    log.send("FETCH", {"from": start, "wait_ms": 20000, "types": ["lp."]}, b"lp1")
    check(log.nothing_within(0.2), "long-poll answered before anything was published")
    publish_ok(other, event("lpx.other"))        # not matching: still waiting
    check(log.nothing_within(0.2), "long-poll answered by a non-matching event")
    t0 = time.monotonic()
    hit = publish_ok(other, event("lp.hit", data={"x": 1}), b"hit")
    reply = log.recv(timeout=5.0)
    check(time.monotonic() - t0 < 5.0, "long-poll answered promptly")
    check_eq(reply.command, "EVENTS", "long-poll reply command")
    check_eq(reply.tag, b"lp1", "long-poll reply tag")
    body = reply.body
    check_eq(body["count"], 1, "long-poll reply count")
    check_eq(body["events"][0]["sequence"], hit["sequence"], "long-poll reply event sequence")
    check_eq(body["events"][0]["type"], "lp.hit", "long-poll reply event type")
    check_eq(body["events"][0]["data"], {"x": 1}, "long-poll reply event data")
    check_eq(body["next"], hit["sequence"] + 1, "long-poll reply next")


def test_bus(node):
    c = node.conn()
    prefix = "bus%s." % uuid.uuid4().hex[:6]
    sub = node.ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.SUBSCRIBE, prefix.encode())
    sub.connect(node.bus)
    try:
        # wait for the subscription to propagate: probe until one is seen
        deadline = time.monotonic() + 10
        seen_probe = None
        while seen_probe is None:
            check(time.monotonic() < deadline, "SUB never received a probe event")
            probe_seq = publish_ok(c, event(prefix + "probe"))["sequence"]
            if sub.poll(100):
                seen_probe = sub.recv_multipart()
        # drain any further probes
        probes_until = probe_seq
        while sub.poll(300):
            fr = sub.recv_multipart()
            check_eq(fr[0], (prefix + "probe").encode(), "only probes before the real check")
            probes_until = max(probes_until, unpack(fr[1])["sequence"])
        check_eq(len(seen_probe), 2, "bus message has two frames")

        key = unique("bk")
        expect = []
        a = publish_ok(c, event(prefix + "a", idempotencykey=key, subject="S1", data=[1, 2],
                                 traceparent="00-" + "1" * 32 + "-" + "2" * 16 + "-01", zz=5))
        expect.append((prefix + "a", a["sequence"]))
        publish_ok(c, event("other.nomatch"))
        b = publish_ok(c, event(prefix + "b"))
        expect.append((prefix + "b", b["sequence"]))
        dup = publish_ok(c, event(prefix + "a", idempotencykey=key))
        check_eq(dup, {"sequence": a["sequence"], "duplicate": True}, "bus test duplicate ACK")
        arr = c.call("PUBLISH", [event(prefix + "c"), event("nomatch." + prefix + "x"), event(prefix + "d")]).body
        sq = arr["sequences"]
        expect += [(prefix + "c", sq[0]), (prefix + "d", sq[2])]

        got = []
        deadline = time.monotonic() + 5
        while len(got) < len(expect) and time.monotonic() < deadline:
            if sub.poll(100):
                fr = sub.recv_multipart()
                check_eq(len(fr), 2, "bus message frames")
                ev = unpack(fr[1])
                check_eq(fr[0], ev["type"].encode(), "bus topic is the event type")
                check_canonical_order(ev, "bus event")
                check(isinstance(ev.get("id"), str) and isinstance(ev.get("time"), int), "bus event id/time")
                got.append((fr[0].decode(), ev["sequence"], ev))
        # anything else (a duplicate, a non-matching type) would come now
        while sub.poll(300):
            fr = sub.recv_multipart()
            got.append((fr[0].decode(), unpack(fr[1])["sequence"], unpack(fr[1])))
        check_eq([(t, s) for t, s, _ in got], expect, "bus messages (topic, sequence)")
        ev_a = got[0][2]
        check_eq((ev_a["subject"], ev_a["data"], ev_a["zz"], ev_a["idempotencykey"], ev_a.get("channel")),
                 ("S1", [1, 2], 5, key, prefix + "a"), "bus event content (channel: the type)")
    finally:
        sub.close(0)


def test_stats(node):
    c = node.conn()
    s = ingest_stats(c)
    check_eq(s.get("actor"), "ingest", "ingest STATS actor")
    check(isinstance(s.get("node"), str) and s["node"] == node.welcome["node"], "ingest STATS node")
    check(isinstance(s.get("ingest"), dict) and s["ingest"], "ingest STATS ingest counters")
    check(isinstance(s.get("store"), dict), "ingest STATS store map")
    for k, v in s["ingest"].items():
        if k == "nacks_by_reason":
            check(isinstance(v, dict), "nacks_by_reason is a map")
            for r, n in v.items():
                check(isinstance(r, str) and is_uint(n) and n > 0, "nacks_by_reason entry %r: %r" % (r, n))
        else:
            check(is_uint(v), "ingest counter %s is a uint: %r" % (k, v))
    nbr = s["ingest"].get("nacks_by_reason")
    check(isinstance(nbr, dict), "ingest STATS has nacks_by_reason: %r" % s)
    for reason in ("MALFORMED", "MISSING_ATTRIBUTE", "INVALID_ATTRIBUTE", "INVALID_EXTENSION",
                   "TOO_LARGE", "UNKNOWN_COMMAND", "UNSUPPORTED_VERSION", "ATTRIBUTE_TOO_LONG"):
        check(nbr.get(reason, 0) >= 1, "nacks_by_reason counts %s: %r" % (reason, nbr))
    # untagged STATS: two frames
    c.send("STATS", {})
    r = c.recv()
    check_eq((r.command, len(r.frames)), ("STATS", 2), "untagged STATS")
    # the body of STATS is not read: not even checked to be a map
    for body in (EMPTY + b"\x01", b"", b"\xc1"):
        r = c.call("STATS", body, b"sb")
        check_eq(r.command, "STATS", "STATS with body %r" % body)

    log = node.conn(node.log)
    r = log.call("STATS", b"\xc1not msgpack", b"ls")
    check_eq(r.command, "STATS", "log STATS reply command (its body is not read)")
    ls = r.body
    check_eq(ls.get("actor"), "log", "log STATS actor")
    check_eq(ls.get("node"), node.welcome["node"], "log STATS node")
    counters = {k: v for k, v in ls.items() if k not in ("node", "actor")}
    check(counters, "log STATS has counters: %r" % ls)

    def uints(m, path):
        for k, v in m.items():
            if isinstance(v, dict):
                uints(v, path + k + ".")
            else:
                check(is_uint(v), "log counter %s%s is a uint: %r" % (path, k, v))
    uints(counters, "")


def registry_conn(node):
    check_eq(node.welcome.get("registry"), node.cfg_registry, "WELCOME registry")
    return node.conn(node.welcome["registry"])


def reg_ok(reg, command, body):
    r = reg.call(command, body, b"rg")
    check_eq(r.command, command, "%s reply (body %r)" % (command, r.body))
    return r.body


def register(reg, type_, schema, **extra):
    body = {"type": type_, "schema": json.dumps(schema)}
    body.update(extra)
    return reg_ok(reg, "REGISTER", body)


def until(what, attempt, timeout=REPLY_TIMEOUT):
    """Call attempt() until it returns something true; fail after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        result = attempt()
        if result:
            return result
        check(time.monotonic() < deadline, "not within %.1f s: %s" % (timeout, what))


# A schema with every keyword zeb supports (section 4a)
EVERY_KEYWORD = {
    "$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "urn:zeb:test",
    "$comment": "c", "title": "t", "description": "d", "default": {}, "examples": [{"s": "a"}],
    "deprecated": False, "readOnly": False, "writeOnly": False,
    "type": "object",
    "properties": {
        "s": {"type": "string", "minLength": 1, "maxLength": 10, "pattern": "^[a-z]+$"},
        "when": {"type": "string", "format": "date-time"},
        "mail": {"format": "email"}, "link": {"format": "uri"}, "uid": {"format": "uuid"},
        "n": {"type": ["number", "null"], "minimum": 0, "maximum": 100, "exclusiveMinimum": -1,
              "exclusiveMaximum": 101, "multipleOf": 0.5},
        "a": {"type": "array", "prefixItems": [{"const": 1}], "items": {"type": "integer"},
              "minItems": 1, "maxItems": 5, "uniqueItems": True},
        "e": {"enum": ["x", "y", 3]},
        "c": {"allOf": [{"type": "string"}], "anyOf": [{"const": "x"}, {"const": "y"}],
              "oneOf": [{"const": "x"}, {"const": "y"}], "not": {"const": "z"}},
        "r": {"$ref": "#/$defs/count"},
        "self": {"$ref": "#"},
        "any": True,
        "never": False,
    },
    "required": ["s"], "additionalProperties": {"type": "integer"},
    "minProperties": 1, "maxProperties": 20,
    "$defs": {"count": {"type": "integer", "minimum": 0}},
}


def test_registry(node):
    reg = registry_conn(node)
    r = register(reg, "reg.every", EVERY_KEYWORD)
    check_eq((r["type"], r["version"], r["duplicate"]), ("reg.every", 1, False), "every supported keyword")
    again = register(reg, "reg.every", EVERY_KEYWORD)
    check_eq((again["version"], again["duplicate"]), (1, True), "the same schema again")
    # Draft 2020-12's keywords are all taken; formats are annotations
    for n, (keyword, value) in enumerate([
            ("if", {}), ("then", {}), ("else", {}), ("patternProperties", {}),
            ("propertyNames", {}), ("dependentRequired", {}), ("dependentSchemas", {}),
            ("contains", {}), ("minContains", 1), ("unevaluatedProperties", False),
            ("unevaluatedItems", False), ("$anchor", "a"), ("contentEncoding", "base64"),
            ("format", "ipv4"), ("format", "uri-reference")]):
        r = register(reg, "reg.more%d" % n, {keyword: value})
        check_eq(r["version"], 1, "keyword %r is supported" % keyword)
    # What is not a keyword of draft 2020-12 is refused, naming it
    for keyword, value in [("additionalItems", False), ("definitions", {}), ("nonsense", 1)]:
        r = expect_nack(reg, {"type": "reg.bad", "schema": json.dumps({keyword: value})},
                        "INVALID_SCHEMA", 400, command="REGISTER", tag=b"rk")
        check(keyword in r.body["error"], "INVALID_SCHEMA names %r: %r" % (keyword, r.body["error"]))
    for schema in ({"$ref": "other.json"}, {"$ref": "#/$defs/missing"}, {"$ref": "#/properties/a"},
                   {"$schema": "http://json-schema.org/draft-07/schema#"}, [1], "text"):
        expect_nack(reg, {"type": "reg.bad", "schema": json.dumps(schema)},
                    "INVALID_SCHEMA", 400, command="REGISTER", tag=b"rs")
    expect_nack(reg, {"type": "reg.bad", "schema": "{not json"}, "INVALID_SCHEMA", 400,
                command="REGISTER", tag=b"rj")

    # DELETE with a version deletes that version; without, every version
    for n in range(3):
        r = register(reg, "reg.del", {"type": "object", "maxProperties": 10 + n}, compatibility="NONE")
        check_eq(r["version"], n + 1, "reg.del version")
    check_eq(reg_ok(reg, "DELETE", {"type": "reg.del", "version": 2}), {"type": "reg.del", "versions": [2]},
             "DELETE one version")
    check_eq(reg_ok(reg, "VERSIONS", {"type": "reg.del"})["versions"], [1, 3], "versions after DELETE 2")
    expect_nack(reg, {"type": "reg.del", "version": 2}, "NOT_FOUND", 404, command="DELETE", tag=b"rd")
    check_eq(reg_ok(reg, "DELETE", {"type": "reg.del"}), {"type": "reg.del", "versions": [1, 3]},
             "DELETE without a version: every version")
    for command in ("VERSIONS", "GET", "DELETE"):
        expect_nack(reg, {"type": "reg.del"}, "NOT_FOUND", 404, command=command, tag=b"rd")
    expect_nack(reg, {"type": "reg.del", "validation": "warn"}, "NOT_FOUND", 404,
                command="SET_VALIDATION", tag=b"rd")
    check("reg.del" not in [t["type"] for t in reg_ok(reg, "LIST", {"prefix": "reg."})["types"]],
          "a deleted type is not listed")
    register(reg, "reg.del0", {"type": "object"})
    check_eq(reg_ok(reg, "DELETE", {"type": "reg.del0", "version": 0})["versions"], [1],
             "DELETE with version 0: every version")
    # registered anew, it goes on from the last number: versions are not reused
    r = register(reg, "reg.del", {"type": "object"})
    check_eq((r["version"], r["duplicate"]), (4, False), "version after the type was deleted")

    # SET_VALIDATION is stored, but with ingest/validation off (this node)
    # no event is checked, whatever the type's mode
    register(reg, "reg.val", {"type": "object", "required": ["n"], "properties": {"n": {"type": "integer"}}})
    check_eq(reg_ok(reg, "SET_VALIDATION", {"type": "reg.val", "validation": "enforce"}),
             {"type": "reg.val", "validation": "enforce"}, "SET_VALIDATION reply")
    check_eq(reg_ok(reg, "GET", {"type": "reg.val"})["validation"], "enforce", "GET validation")
    c = node.conn()
    before = ingest_stats(c)["ingest"]
    publish_ok(c, event("reg.val", data={"n": "not an integer"}))
    publish_ok(c, event("reg.val"))
    after = ingest_stats(c)["ingest"]
    check_eq((after["validated"], after["schema_lookups"]), (before["validated"], before["schema_lookups"]),
             "ingest/validation off: nothing validated, nothing looked up")
    check_eq(reg_ok(reg, "SET_VALIDATION", {"type": "reg.val", "validation": "default"})["validation"],
             "default", "SET_VALIDATION default")
    expect_nack(reg, {"type": "reg.val", "validation": "sometimes"}, "INVALID_ATTRIBUTE", 400,
                command="SET_VALIDATION", tag=b"rv")
    expect_nack(reg, {"type": "reg.none", "validation": "warn"}, "NOT_FOUND", 404,
                command="SET_VALIDATION", tag=b"rv")
    r = expect_nack(reg, {"type": "reg.val", "version": 1}, "UNKNOWN_COMMAND", 400,
                    command="FETCH", tag=b"rv")
    check("registry" in r.body["error"], "UNKNOWN_COMMAND names the registry: %r" % r.body["error"])


VAL_SCHEMA = {"type": "object", "required": ["n"], "properties": {"n": {"type": "integer"}}}
BAD_DATA = {"n": "not an integer"}


def publish_reply(conn, body):
    r = conn.call("PUBLISH", body, b"v")
    check(r.command in ("ACK", "NACK"), "PUBLISH reply %r" % r)
    return r


def schema_violation(r):
    return r.command == "NACK" and r.body["reason"] == "SCHEMA_VIOLATION" and r.body["code"] == 422


def test_validation_enforce(node):
    """ingest/validation=enforce: a type's own mode overrides it; default returns to it."""
    reg = registry_conn(node)
    c = node.conn()
    register(reg, "val.t", VAL_SCHEMA)
    r = publish_reply(c, event("val.t", data=BAD_DATA))
    check(schema_violation(r), "enforce: invalid data refused with SCHEMA_VIOLATION: %r" % r)
    check("/n" in r.body["error"] and "type" in r.body["error"],
          "error gives the path and keyword: %r" % r.body)
    publish_ok(c, event("val.t", data={"n": 1}))
    r = publish_reply(c, event("val.t"))
    check(schema_violation(r), "an event without data is checked as null: %r" % r)
    publish_ok(c, event("val.unregistered", data=BAD_DATA))      # no schema: accepted

    reg_ok(reg, "SET_VALIDATION", {"type": "val.t", "validation": "off"})
    until("type mode off accepts invalid data",
          lambda: publish_reply(c, event("val.t", data=BAD_DATA)).command == "ACK")

    reg_ok(reg, "SET_VALIDATION", {"type": "val.t", "validation": "warn"})
    warned = ingest_stats(c)["ingest"]["validation_warned"]

    def warned_more():
        publish_ok(c, event("val.t", data=BAD_DATA))
        return ingest_stats(c)["ingest"]["validation_warned"] > warned
    until("type mode warn accepts and counts invalid data", warned_more)

    reg_ok(reg, "SET_VALIDATION", {"type": "val.t", "validation": "default"})
    until("default: the node's enforce again",
          lambda: schema_violation(publish_reply(c, event("val.t", data=BAD_DATA))))


def test_validation_warn(node):
    """ingest/validation=warn: accepted and counted; a type's enforce refuses."""
    reg = registry_conn(node)
    c = node.conn()
    register(reg, "val.w", VAL_SCHEMA)
    before = ingest_stats(c)["ingest"]["validation_warned"]
    publish_ok(c, event("val.w", data=BAD_DATA))
    check_eq(ingest_stats(c)["ingest"]["validation_warned"], before + 1, "warn: counted")
    reg_ok(reg, "SET_VALIDATION", {"type": "val.w", "validation": "enforce"})
    until("type mode enforce refuses on a warn node",
          lambda: schema_violation(publish_reply(c, event("val.w", data=BAD_DATA))))
    publish_ok(c, event("val.w", data={"n": 2}))


# --------------------------------------------------------------------------
# Tests on a second node with small limits


def test_small_limits(node):
    w = node.welcome
    check_eq(w["max_event_size"], 4096, "WELCOME max_event_size as configured")
    check_eq(w["max_publish"], 3, "WELCOME max_publish as configured")
    check_eq(w["last"], 0, "WELCOME last on a fresh node")
    c = node.conn()

    def sized(n, type_="small.t"):
        e = event(type_, data=b"")
        base = len(pack(e))
        for extra in range(0, 6):
            e["data"] = b"x" * (n - base - extra)
            if len(pack(e)) == n:
                return e
        raise TestFailure("cannot build an event of %d bytes" % n)

    ok = publish_ok(c, sized(4096), b"s1")
    check_eq(ok, {"sequence": 1, "duplicate": False}, "event of exactly max_event_size")
    expect_nack(c, sized(4097), "TOO_LARGE", 413, tag=b"s2")
    fresh_client_served(node, "after 4097")                        # sequence 2
    r = publish_ok(c, [sized(4000), sized(4000)])
    check_eq(r, {"count": 2, "sequences": [3, 4], "duplicates": []}, "max_event_size is per event")
    expect_nack(c, [sized(4000), sized(5000)], "TOO_LARGE", 413, tag=b"s3", index=1)
    expect_nack(c, [event("small.t")] * 4, "TOO_LARGE", 413, tag=b"s4")
    fresh_client_served(node, "after arrays")                      # sequence 5
    r = publish_ok(c, [event("small.t", data=i) for i in range(3)])
    check_eq(r, {"count": 3, "sequences": [6, 7, 8], "duplicates": []}, "array of max_publish events")
    log = node.conn(node.log)
    got = fetch(log, **{"from": 1})
    check_eq([e["sequence"] for e in got["events"]], list(range(1, 9)), "stored sequences on the small node")
    s = ingest_stats(c)["ingest"]["nacks_by_reason"]
    check_eq(s.get("TOO_LARGE"), 3, "nacks_by_reason TOO_LARGE on the small node")


def test_small_max_wait(node):
    """log/max_wait=300ms: a longer wait_ms is lowered to it, not refused."""
    log = node.conn(node.log)
    end = fetch(log)["last"] + 1
    t0 = time.monotonic()
    r = fetch(log, **{"from": end, "wait_ms": 60000})
    elapsed = time.monotonic() - t0
    check_eq((r["count"], r["next"]), (0, end), "long-poll past the end")
    check(0.2 <= elapsed < 5.0, "wait_ms 60000 waited %.2f s, the cap being 0.3 s" % elapsed)


# --------------------------------------------------------------------------


MAIN_TESTS = [
    test_hello,
    test_publish_sequences,
    test_duplicate,
    test_publish_array,
    test_bad_input,
    test_fetch,
    test_fetch_by_time,
    test_fetch_long_poll,
    test_bus,
    test_registry,
    test_stats,
]

SMALL_TESTS = [test_small_limits, test_small_max_wait]


def run_suite(zebd, ctx, settings, tests, label, results):
    node = Node(zebd, ctx, settings)
    try:
        try:
            node.start()
            check_eq(node.log, node.cfg_log, "log endpoint from WELCOME")
            check_eq(node.bus, node.cfg_bus, "bus endpoint from WELCOME")
        except Exception as e:
            print("FAIL %s: start: %s" % (label, e))
            results.append(False)
            node.kill()
            return
        print("ok   %s: started (ingest %s, log %s, bus %s)" % (label, node.ingest, node.log, node.bus))
        for t in tests:
            t0 = time.monotonic()
            try:
                t(node)
                print("ok   %s (%.2f s)" % (t.__name__, time.monotonic() - t0))
                results.append(True)
            except Exception as e:
                detail = str(e) if isinstance(e, TestFailure) else traceback.format_exc()
                print("FAIL %s: %s" % (t.__name__, detail))
                results.append(False)
            finally:
                for cn in node.conns:
                    cn.close()
                node.conns = []
        err = node.stop()
        if err:
            print("FAIL %s: stop: %s" % (label, err))
            results.append(False)
        else:
            print("ok   %s: stopped with status 0" % label)
            results.append(True)
    finally:
        node.kill()
        node.cleanup()


def main():
    if len(sys.argv) != 2:
        print("usage: %s /path/to/zebd" % sys.argv[0], file=sys.stderr)
        return 2
    zebd = os.path.abspath(sys.argv[1])
    if not os.access(zebd, os.X_OK):
        print("not executable: %s" % zebd, file=sys.stderr)
        return 2
    ctx = zmq.Context()
    results = []
    t0 = time.monotonic()
    try:
        run_suite(zebd, ctx, [], MAIN_TESTS, "node", results)
        run_suite(zebd, ctx, ["ingest/max_event_size=4096", "ingest/max_publish=3", "log/max_wait=300ms"],
                  SMALL_TESTS, "small-node", results)
        run_suite(zebd, ctx, ["ingest/validation=enforce"], [test_validation_enforce],
                  "enforce-node", results)
        run_suite(zebd, ctx, ["ingest/validation=warn"], [test_validation_warn], "warn-node", results)
    finally:
        ctx.destroy(linger=0)
    failed = results.count(False)
    print("%s: %d passed, %d failed (%.1f s)" % (
        "FAILED" if failed else "PASSED", results.count(True), failed, time.monotonic() - t0))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
