#!/usr/bin/python3
"""ZEB/1 protocol test: a Python client written from docs/PROTOCOL.md alone.

Usage: /usr/bin/python3 tests/protocol_test.py /path/to/zebd

Starts its own zebd nodes (temporary data directories, free TCP ports on
127.0.0.1), talks to them with pyzmq + msgpack only, and checks what the
protocol document promises. Prints one line per test and exits non-zero on
any failure. No fixed sleeps: every wait is a poll with a deadline.
"""

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
               "--set", "registry/endpoint=" + self.cfg_registry]
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
    check(is_uint(w.get("max_event_size")), "WELCOME max_event_size is a uint")
    check_eq(w["max_event_size"], 1024 * 1024, "WELCOME max_event_size (default 1 MiB)")
    check(is_uint(w.get("max_publish")) and w["max_publish"] >= 1, "WELCOME max_publish uint >= 1: %r" % w)
    check(is_uint(w.get("last")), "WELCOME last is a uint")
    check_eq(w["last"], 0, "WELCOME last on a fresh node")
    # without a tag: two frames
    r = c.call("HELLO", {"version": 1})
    check_eq(r.command, "WELCOME", "untagged HELLO reply")
    check_eq(len(r.frames), 2, "untagged reply frame count")
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
                expect_nack(c, body, reason, code, command=command, tag=tag, index=index)
            except TestFailure as e:
                raise TestFailure("%s: %s" % (label, e))
        expected[reason] = expected.get(reason, 0) + 1
        fresh_client_served(node, label)

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
    case("repeated attribute", "INVALID_ATTRIBUTE", 400,
         body=b"\x83\xa4type\xa1a\xa6source\xa1s\xa4type\xa1b")
    case("missing source", "MISSING_ATTRIBUTE", 400, body={"type": "bad.t"})
    case("missing type", "MISSING_ATTRIBUTE", 400, body={"source": "s"})
    case("empty type", "MISSING_ATTRIBUTE", 400, body={"type": "", "source": "s"})
    case("type too long", "ATTRIBUTE_TOO_LONG", 400, body=event("t" * 256))
    case("invalid extension name", "INVALID_EXTENSION", 400, body=event("bad.t", Bad_Name=1))
    case("extension name too long", "INVALID_EXTENSION", 400, body=event("bad.t", **{"x" * 21: 1}))
    case("extension bad value type", "INVALID_EXTENSION", 400, body=event("bad.t", ext=1.5))
    case("17 extensions", "INVALID_EXTENSION", 400,
         body=event("bad.t", **{"e%d" % i: i for i in range(17)}))
    case("oversize event (default 1 MiB)", "TOO_LARGE", 413,
         body=event("bad.t", data=b"x" * (1024 * 1024)))
    case("unknown command", "UNKNOWN_COMMAND", 400, body={}, command="FROBNICATE", tag=b"uc")
    case("HELLO version 2", "UNSUPPORTED_VERSION", 400, body={"version": 2}, command="HELLO")
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
        event("fetch.c", data=payloads[3]),
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
    for every in ([""], ["*"]):
        allx = fetch(log, **{"from": s1, "max": 5, "types": every})
        check_eq([e["sequence"] for e in allx["events"]], seqs, "types %r means every type" % every)
    none = fetch(log, **{"from": s1, "types": ["no.such."]})
    check_eq(none["count"], 0, "types with no match")
    check_eq(none["next"], none["last"] + 1, "next past the end when nothing matches")

    # from defaults to 1
    dflt = fetch(log, max=2)
    check_eq([e["sequence"] for e in dflt["events"]], [1, 2], "FETCH without from starts at 1")

    # errors on the log endpoint
    expect_nack(log, [1, 2], "MALFORMED", 400, command="FETCH", tag=b"fe1")
    expect_nack(log, {"from": "one"}, "INVALID_ATTRIBUTE", 400, command="FETCH", tag=b"fe2")
    expect_nack(log, {"types": "fetch."}, "INVALID_ATTRIBUTE", 400, command="FETCH", tag=b"fe3")
    expect_nack(log, {"types": ["x"] * 33}, "INVALID_ATTRIBUTE", 400, command="FETCH", tag=b"fe4")
    expect_nack(log, {}, "UNKNOWN_COMMAND", 400, command="PUBLISH", tag=b"fe5")


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
        check_eq((ev_a["subject"], ev_a["data"], ev_a["zz"], ev_a["idempotencykey"]),
                 ("S1", [1, 2], 5, key), "bus event content")
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

    log = node.conn(node.log)
    r = log.call("STATS", {}, b"ls")
    check_eq(r.command, "STATS", "log STATS reply command")
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
    test_stats,
]

SMALL_TESTS = [test_small_limits]


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
        run_suite(zebd, ctx, ["ingest/max_event_size=4096", "ingest/max_publish=3"],
                  SMALL_TESTS, "small-node", results)
    finally:
        ctx.destroy(linger=0)
    failed = results.count(False)
    print("%s: %d passed, %d failed (%.1f s)" % (
        "FAILED" if failed else "PASSED", results.count(True), failed, time.monotonic() - t0))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
