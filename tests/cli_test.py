"""The zeb command line against a running zebd.

usage: /usr/bin/python3 cli_test.py /path/to/zebd /path/to/zeb

Starts zebd on free ports with a fresh data directory and runs `zeb pub`,
`zeb fetch`, `zeb sub` and `zeb stats` as a user would, checking what they
print and their exit status; then stops zebd and checks that each command
says the node cannot be reached and exits with status 3. Standard library
only.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ZEBD, ZEB = sys.argv[1], sys.argv[2]
FAILURES = []


def check(condition, what):
    if not condition:
        FAILURES.append(what)
        print("   FAIL:", what, file=sys.stderr)


def free_ports(count):
    sockets, ports = [], []
    for _ in range(count):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        sockets.append(s)
        ports.append(s.getsockname()[1])
    for s in sockets:
        s.close()
    return ports


class Node:
    def __init__(self, registry=False):
        self.data = tempfile.mkdtemp(prefix="zeb-cli-")
        ingest, log, bus, registry_port = free_ports(4)
        self.endpoint = "tcp://127.0.0.1:%d" % ingest
        extra = ["--set", "registry/endpoint=tcp://127.0.0.1:%d" % registry_port,
                 "--set", "outbox/endpoint=tcp://127.0.0.1:*", "--set", "outbox/workers=tcp://127.0.0.1:*"]
        if not registry:
            extra += ["--set", "node/actors=ingest,log"]    # the default runs every actor
        self.process = subprocess.Popen(
            [ZEBD, "--quiet", "--data", self.data,
             "--set", "ingest/endpoint=" + self.endpoint,
             "--set", "log/endpoint=tcp://127.0.0.1:%d" % log,
             "--set", "bus/endpoint=tcp://127.0.0.1:%d" % bus] + extra)
        deadline = time.monotonic() + 15
        while True:
            if zeb("stats", timeout_ms=300, endpoint=self.endpoint).returncode == 0:
                break
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("zebd did not start")

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        return self.process.returncode

    def destroy(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.data, ignore_errors=True)


def zeb(*args, endpoint=None, timeout_ms=5000, stdin=None):
    command = [ZEB] + list(args) + ["--timeout", str(timeout_ms)]
    if endpoint:
        command += ["--endpoint", endpoint]
    return subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=60)


def json_lines(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_pub_and_fetch(node):
    ep = node.endpoint
    r = zeb("pub", "order.placed", '{"orderId": 42, "total": 99.5}',
            "--subject", "Order:42", "--key", "order-42", endpoint=ep)
    check(r.returncode == 0, "pub exits 0 (%d: %s)" % (r.returncode, r.stderr))
    ack = json.loads(r.stdout)
    check(ack == {"ok": True, "sequence": 1, "duplicate": False}, "pub prints the ack: %r" % ack)

    r = zeb("pub", "order.placed", '{"orderId": 42, "total": 99.5}', "--key", "order-42", endpoint=ep)
    check(json.loads(r.stdout) == {"ok": True, "sequence": 1, "duplicate": True},
          "the same key again: original sequence, duplicate: %s" % r.stdout)

    r = zeb("pub", "user.signedUp", "-", endpoint=ep, stdin='{"user": "ada"}')
    check(r.returncode == 0 and json.loads(r.stdout)["sequence"] == 2, "pub reads JSON from stdin")

    r = zeb("pub", "order.shipped", endpoint=ep)
    check(r.returncode == 0 and json.loads(r.stdout)["sequence"] == 3, "pub without data")

    r = zeb("fetch", "--from", "1", "--count", "10", endpoint=ep)
    check(r.returncode == 0, "fetch exits 0")
    events = json_lines(r.stdout)
    check([e["sequence"] for e in events] == [1, 2, 3], "fetch prints 1..3: %r" % r.stdout)
    first = events[0]
    check(first["type"] == "order.placed" and first["source"] == "zeb-cli"
          and first["subject"] == "Order:42" and first["idempotencykey"] == "order-42"
          and first["data"] == {"orderId": 42, "total": 99.5}
          and first["specversion"] == "1.0" and first["time"].endswith("Z") and len(first["id"]) == 36,
          "fetched event is CloudEvents JSON as published: %r" % first)
    check(events[1]["data"] == {"user": "ada"}, "stdin data stored")

    r = zeb("fetch", "--from", "2", "--count", "1", endpoint=ep)
    check([e["sequence"] for e in json_lines(r.stdout)] == [2], "fetch --from 2 --count 1")

    r = zeb("fetch", "--types", "order.", endpoint=ep)
    check([e["sequence"] for e in json_lines(r.stdout)] == [1, 3], "fetch --types order.: %r" % r.stdout)

    r = zeb("pub", "--event", "ignored", '{"type": "custom.webhook.github", "source": "github", '
            '"id": "delivery-7", "data": {"action": "opened"}}', endpoint=ep)
    check(r.returncode == 0 and json.loads(r.stdout)["sequence"] == 4, "pub --event: a whole CloudEvent")
    r = zeb("fetch", "--from", "4", endpoint=ep)
    whole = json_lines(r.stdout)
    check(len(whole) == 1 and whole[0]["type"] == "custom.webhook.github" and whole[0]["id"] == "delivery-7"
          and whole[0]["source"] == "github", "whole CloudEvent stored: %r" % r.stdout)


def test_bad_input(node):
    ep = node.endpoint
    r = zeb("pub", "order.placed", "{not json", endpoint=ep)
    check(r.returncode == 2 and r.stderr.startswith("zeb:") and r.stdout == "",
          "bad JSON: exit 2, error on stderr (%d %r)" % (r.returncode, r.stderr))
    r = zeb("pub", "Bad Type!", "{}", endpoint=ep)
    check(r.returncode == 1, "invalid type refused: exit 1 (%d)" % r.returncode)
    refusal = json.loads(r.stdout)
    check(refusal["ok"] is False and refusal["code"] == 400 and refusal["reason"] == "INVALID_ATTRIBUTE"
          and "'type'" in refusal["error"], "refusal printed as JSON, naming the attribute: %r" % refusal)
    r = zeb("frobnicate", endpoint=ep)
    check(r.returncode == 2 and "unknown command" in r.stderr, "unknown command: exit 2")
    r = zeb("fetch", "--bogus", endpoint=ep)
    check(r.returncode == 2 and "--bogus" in r.stderr, "unknown option: exit 2")


def test_unprintable(node):
    """An event JSON cannot carry (data with a boolean map key, valid
    msgpack): zeb fetch fails loudly, never prints a wrong value"""
    import msgpack
    import zmq
    context = zmq.Context.instance()
    dealer = context.socket(zmq.DEALER)
    dealer.setsockopt(zmq.LINGER, 0)
    dealer.setsockopt(zmq.RCVTIMEO, 5000)
    dealer.connect(node.endpoint)
    body = msgpack.packb({"type": "odd.data", "source": "cli-test", "data": {True: 1}})
    dealer.send_multipart([b"PUBLISH", body])
    command, reply = dealer.recv_multipart()[:2]
    dealer.close()
    check(command == b"ACK", "an event with a boolean map key is stored: %r" % command)
    sequence = msgpack.unpackb(reply)["sequence"]
    r = zeb("fetch", "--from", str(sequence), "--count", "1", endpoint=node.endpoint)
    check(r.returncode != 0, "fetch of an unprintable event: non-zero exit (%d)" % r.returncode)
    check("no JSON form" in r.stderr, "fetch says why: %r" % r.stderr)
    check('"data":null' not in r.stdout, "no wrong value printed: %r" % r.stdout)


def test_sub(node):
    ep = node.endpoint
    sub = subprocess.Popen([ZEB, "sub", "order.", "--count", "3", "--endpoint", ep],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # The subscription takes a moment to reach the bus: publish until the
    # subscriber has seen three, with a deadline
    deadline = time.monotonic() + 15
    published = 0
    while sub.poll() is None and time.monotonic() < deadline:
        zeb("pub", "user.ignored", "{}", endpoint=ep)
        r = zeb("pub", "order.live", '{"n": %d}' % published, endpoint=ep)
        check(r.returncode == 0, "pub while subscribed")
        published += 1
    if sub.poll() is None:
        sub.kill()
    out, err = sub.communicate(timeout=10)
    check(sub.returncode == 0, "sub --count 3 exits 0 (%r, %r)" % (sub.returncode, err))
    events = json_lines(out)
    check(len(events) == 3 and all(e["type"] == "order.live" for e in events),
          "sub prints only its prefix: %r" % out)
    sequences = [e["sequence"] for e in events]
    numbers = [e["data"]["n"] for e in events]
    check(sequences == sorted(sequences) and numbers == list(range(numbers[0], numbers[0] + 3)),
          "sub prints events in order, none missed once joined: %r" % events)


def test_stats(node):
    r = zeb("stats", endpoint=node.endpoint)
    check(r.returncode == 0, "stats exits 0")
    stats = json.loads(r.stdout)
    ingest = stats["ingest"]["ingest"]
    check(ingest["stored"] >= 4 and ingest["duplicates"] == 1, "stats counts: %r" % ingest)
    # The client checks events before sending: the node saw nothing bad
    check(ingest["nacks"] == 0 and ingest["nacks_by_reason"] == {}, "no NACKs at the node: %r" % ingest)
    check(stats["ingest"]["store"]["last"] == ingest["stored"], "store last = stored")
    check(stats["log"]["actor"] == "log" and stats["log"]["fetches"] >= 1, "log stats: %r" % stats["log"])


def test_types(node, schema_dir):
    ep = node.endpoint
    v1 = os.path.join(schema_dir, "v1.json")
    v2 = os.path.join(schema_dir, "v2.json")
    v3 = os.path.join(schema_dir, "v3.json")
    with open(v1, "w") as f:
        json.dump({"type": "object", "required": ["orderId"],
                   "properties": {"orderId": {"type": "string", "maxLength": 20}}}, f)
    with open(v2, "w") as f:
        json.dump({"type": "object", "required": ["orderId"],
                   "properties": {"orderId": {"type": "string", "maxLength": 40}}}, f)
    with open(v3, "w") as f:
        json.dump({"type": "object", "required": ["orderId", "currency"],
                   "properties": {"orderId": {"type": "string"}, "currency": {"type": "string"}}}, f)
    r = zeb("types", endpoint=ep)
    check(r.returncode == 0, "types lists (%d %s)" % (r.returncode, r.stderr))
    names = [t["type"] for t in json.loads(r.stdout)["types"]]
    check(names == ["zeb.dead_letter", "zeb.health.degraded", "zeb.replay.completed", "zeb.replay.started"],
          "the node's own types: %r" % names)
    r = zeb("types", "register", "order.placed", v1, "--description", "An order", endpoint=ep)
    check(r.returncode == 0 and json.loads(r.stdout) == {"type": "order.placed", "version": 1, "duplicate": False},
          "types register: %r" % r.stdout)
    r = zeb("types", "register", "order.placed", v2, endpoint=ep)
    check(r.returncode == 0 and json.loads(r.stdout)["version"] == 2, "compatible v2 registers")
    r = zeb("types", "check", "order.placed", v3, endpoint=ep)
    answer = json.loads(r.stdout)
    check(r.returncode == 0 and answer["compatible"] is False
          and {x["reason"] for x in answer["reasons"]} == {"REQUIRED_ADDED", "PROPERTY_ADDED_TO_OPEN_MODEL"},
          "types check names the reasons: %r" % answer)
    r = zeb("types", "register", "order.placed", v3, endpoint=ep)
    refusal = json.loads(r.stdout)
    check(r.returncode == 1 and refusal["code"] == 409 and refusal["reason"] == "INCOMPATIBLE_SCHEMA",
          "breaking change refused: exit 1, 409 (%d %r)" % (r.returncode, refusal))
    r = zeb("types", "show", "order.placed", "--version", "1", endpoint=ep)
    shown = json.loads(r.stdout)
    check(r.returncode == 0 and shown["version"] == 1 and shown["description"] == "An order"
          and json.loads(shown["schema"])["properties"]["orderId"]["maxLength"] == 20, "types show --version")
    r = zeb("types", "compat", "order.placed", "NONE", endpoint=ep)
    check(r.returncode == 0 and json.loads(r.stdout)["compatibility"] == "NONE", "types compat")
    r = zeb("types", "register", "order.placed", v3, endpoint=ep)
    check(r.returncode == 0 and json.loads(r.stdout)["version"] == 3, "registers under NONE")
    r = zeb("types", "validation", "order.placed", "enforce", endpoint=ep)
    check(r.returncode == 0 and json.loads(r.stdout)["validation"] == "enforce", "types validation")
    r = zeb("types", "validation", "order.placed", "sometimes", endpoint=ep)
    check(r.returncode == 1 and json.loads(r.stdout)["reason"] == "INVALID_ATTRIBUTE", "bad validation mode")
    r = zeb("types", "versions", "order.placed", endpoint=ep)
    check(json.loads(r.stdout)["versions"] == [1, 2, 3], "types versions")
    r = zeb("types", "show", "order.unknown", endpoint=ep)
    check(r.returncode == 1 and json.loads(r.stdout)["reason"] == "NOT_FOUND", "unknown type: exit 1, NOT_FOUND")
    r = zeb("types", "register", "order.placed", os.path.join(schema_dir, "missing.json"), endpoint=ep)
    check(r.returncode == 2 and "missing.json" in r.stderr, "missing schema file: exit 2")


def test_unreachable(endpoint):
    for args in (("pub", "order.placed", "{}"), ("fetch", "--from", "1"), ("stats",), ("sub", "--count", "1")):
        started = time.monotonic()
        r = zeb(*args, endpoint=endpoint, timeout_ms=500)
        took = time.monotonic() - started
        check(r.returncode == 3, "%s with no node: exit 3 (%d)" % (args[0], r.returncode))
        check("zeb:" in r.stderr and endpoint in r.stderr, "%s with no node: says so: %r" % (args[0], r.stderr))
        check(took < 5, "%s with no node: gives up in time (%.1f s)" % (args[0], took))


def test_bad_config():
    """Values that are not values: each is a clear error and a non-zero
    exit, before anything binds or writes"""
    data = tempfile.mkdtemp(prefix="zeb-cli-bad-")
    directory = tempfile.mkdtemp(prefix="zeb-cli-dir-")
    ports = ["--set", "ingest/endpoint=tcp://127.0.0.1:*", "--set", "log/endpoint=tcp://127.0.0.1:*",
             "--set", "bus/endpoint=tcp://127.0.0.1:*", "--set", "registry/endpoint=tcp://127.0.0.1:*",
             "--set", "outbox/endpoint=tcp://127.0.0.1:*", "--set", "outbox/workers=tcp://127.0.0.1:*"]
    cases = [
        (["--set", "ingest/sync_interval=nan"], "ingest/sync_interval"),
        (["--set", "ingest/dedup_window=inf"], "ingest/dedup_window"),
        (["--set", "ingest/max_event_size=nanMiB"], "ingest/max_event_size"),
        (["-d", ""], "node/data"),
        (["--set", "store/max_size=1"], "store/max_size"),
        (["--set", "store/map_size=1"], "store/map_size"),
        (["-c", directory], directory),
        (["--set", "ingest/endpoint=tcp://127.0.0.1:99999"], "ingest/endpoint"),
        (["--set", "ingest/max_publish=4294967296"], "ingest/max_publish"),
        (["--set", "ingest/batch=0"], "ingest/batch"),
        (["--set", "node/actors=ingest,nothing"], "nothing"),
        (["--set", "ingest/nonsense=1"], "ingest/nonsense"),
    ]
    try:
        for args, named in cases:
            command = [ZEBD, "--quiet", "--data", data] + ports + args
            if args[0] == "-d":
                command = [ZEBD, "--quiet"] + ports + args
            r = subprocess.run(command, capture_output=True, text=True, timeout=10)
            check(r.returncode != 0, "%s: non-zero exit (%d)" % (" ".join(args), r.returncode))
            check(named in r.stderr, "%s: the error names %s: %r" % (" ".join(args), named, r.stderr))
        check(not os.path.exists("/events"), "-d '' created nothing at the root")
    finally:
        shutil.rmtree(data, ignore_errors=True)
        shutil.rmtree(directory, ignore_errors=True)


def main():
    started = time.monotonic()
    test_bad_config()
    print(" * test_bad_config: %s (%.0f ms)" % ("FAIL" if FAILURES else "OK",
                                               (time.monotonic() - started) * 1000))
    node = Node()
    try:
        for test in (test_pub_and_fetch, test_bad_input, test_sub, test_stats, test_unprintable):
            started = time.monotonic()
            test(node)
            print(" * %s: %s (%.0f ms)" % (test.__name__, "FAIL" if FAILURES else "OK",
                                           (time.monotonic() - started) * 1000))
        r = zeb("types", endpoint=node.endpoint)
        check(r.returncode == 1 and "no schema registry" in r.stderr, "types without a registry: %r" % r.stderr)
        check(node.stop() == 0, "zebd exits 0 on SIGTERM")
        with_registry = Node(registry=True)
        schema_dir = tempfile.mkdtemp(prefix="zeb-cli-schemas-")
        try:
            started = time.monotonic()
            test_types(with_registry, schema_dir)
            print(" * test_types: %s (%.0f ms)" % ("FAIL" if FAILURES else "OK",
                                                   (time.monotonic() - started) * 1000))
            check(with_registry.stop() == 0, "zebd with a registry exits 0 on SIGTERM")
        finally:
            with_registry.destroy()
            shutil.rmtree(schema_dir, ignore_errors=True)
        # A port bound but not listening: connections are refused, and no
        # test running meanwhile can start a node on it
        dead = socket.socket()
        dead.bind(("127.0.0.1", 0))
        try:
            test_unreachable("tcp://127.0.0.1:%d" % dead.getsockname()[1])
        finally:
            dead.close()
        print(" * test_unreachable: %s" % ("FAIL" if FAILURES else "OK"))
    finally:
        node.destroy()
    if FAILURES:
        print("%d check(s) failed" % len(FAILURES), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
