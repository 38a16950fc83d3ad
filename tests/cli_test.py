"""The zeb command line against a running zebd.

usage: /usr/bin/python3 cli_test.py /path/to/zebd /path/to/zeb

Starts zebd on free ports with a fresh data directory and runs `zeb pub`,
`zeb fetch`, `zeb sub` and `zeb stats` as a user would, checking what they
print and their exit status; then a zebd with every actor for `zeb types`
and the outbox's commands (`zeb dlq`, `zeb runs`, `zeb logs`, `zeb
targets`), with this test enqueueing runs and playing the worker over the
protocol of docs/PROTOCOL.md 4b (python3-zmq, python3-msgpack); then stops
zebd and checks that each command says the node cannot be reached and
exits with status 3.
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
    """zebd on ports of its own: with every actor, its outbox and workers
    endpoints on ports picked here (every=True), or only ingest and log"""

    def __init__(self, every=False):
        self.data = tempfile.mkdtemp(prefix="zeb-cli-")
        ingest, log, bus, registry_port, outbox, workers = free_ports(6)
        self.endpoint = "tcp://127.0.0.1:%d" % ingest
        self.outbox = "tcp://127.0.0.1:%d" % outbox
        self.workers = "tcp://127.0.0.1:%d" % workers
        extra = ["--set", "registry/endpoint=tcp://127.0.0.1:%d" % registry_port,
                 "--set", "outbox/endpoint=" + self.outbox, "--set", "outbox/workers=" + self.workers,
                 "--set", "automation/endpoint=tcp://127.0.0.1:*", "--set", "cron/endpoint=tcp://127.0.0.1:*",
                 "--set", "http/endpoint=127.0.0.1:0",
                 "--set", "outbox/worker_expiry=60s",    # the test's worker may be slow to ping
                 "--set", "outbox/circuit_threshold=100"]  # its retries open no circuit
        if not every:
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


# ---------------------------------------------------------------------------
# The outbox, from docs/PROTOCOL.md 4b: runs are enqueued by a DEALER of
# this test on the outbox endpoint, and a DEALER of this test on the
# workers endpoint plays the worker (READY, JOB, RESULT)

WORK = "cli.work"               # the action type the test's worker performs
FAST = {"maxAttempts": 3, "backoffMs": 1, "exponentialBackoff": False, "jitter": False}


class Outbox:
    """ENQUEUE over the outbox endpoint, and a worker on the workers one"""

    def __init__(self, node):
        import msgpack
        import zmq
        self.msgpack, self.zmq = msgpack, zmq
        context = zmq.Context.instance()
        self.client = context.socket(zmq.DEALER)
        self.worker = context.socket(zmq.DEALER)
        for s, endpoint in ((self.client, node.outbox), (self.worker, node.workers)):
            s.setsockopt(zmq.LINGER, 0)
            s.connect(endpoint)
        self.tag = 0
        self.events = 0
        self.send(self.worker, "READY", {"actions": [WORK], "credit": 8, "name": "cli-test"})

    def close(self):
        self.send(self.worker, "BYE", {})
        self.client.close()
        self.worker.close()

    def send(self, s, command, body, tag=None):
        frames = [command.encode(), self.msgpack.packb(body)]
        s.send_multipart(frames + ([tag] if tag is not None else []))

    def enqueue(self, origin, target, policy=None):
        """One run of one cli.work action for a new trigger event; its id"""
        self.events += 1
        event = {"id": "cli-event-%d" % self.events, "type": "order.placed", "source": "cli-test",
                 "time": int(time.time() * 1000), "sequence": self.events, "data": {"n": self.events}}
        run = {"origin": origin, "event": event,
               "actions": [{"type": WORK, "target": target, "config": {"n": self.events}}]}
        if policy:
            run["retryPolicy"] = policy
        self.tag += 1
        tag = b"cli-%d" % self.tag
        self.send(self.client, "ENQUEUE", {"runs": [run]}, tag)
        if not self.client.poll(10000):
            raise RuntimeError("no reply to ENQUEUE")
        command, body, got = self.client.recv_multipart()
        reply = self.msgpack.unpackb(body)
        check(command == b"ENQUEUED" and got == tag and reply["new"] == [True], "ENQUEUED: %r" % reply)
        return reply["ids"][0]

    def job(self):
        """The next JOB (a PING first keeps the worker known)"""
        self.send(self.worker, "PING", {})
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if not self.worker.poll(100):
                continue
            command, body = self.worker.recv_multipart()[:2]
            message = self.msgpack.unpackb(body)
            if command == b"JOB":
                return message
            check(command == b"PONG" and message["known"], "the worker is known: %r %r" % (command, message))
        raise RuntimeError("no JOB within 10 s")

    def work(self, run, attempt, status, **extra):
        """Answer the next job, which must be run's at attempt, with status"""
        job = self.job()
        check(job["run"] == run and job["attempt"] == attempt and job["action"] == WORK,
              "job of run %s attempt %d: %r" % (run, attempt, {k: job.get(k) for k in ("run", "attempt")}))
        self.send(self.worker, "RESULT", dict(id=job["id"], status=status, **extra))
        return job


def zeb_json(*args, endpoint=None):
    """A zeb command with --json that must succeed; its reply"""
    r = zeb(*(args + ("--json",)), endpoint=endpoint)
    check(r.returncode == 0, "%s exits 0 (%d: %s)" % (" ".join(args), r.returncode, r.stderr))
    try:
        return json.loads(r.stdout)
    except ValueError:
        check(False, "%s --json prints JSON: %r" % (" ".join(args), r.stdout))
        return {}


def wait_state(node, run, state):
    deadline = time.monotonic() + 10
    while True:
        reply = zeb_json("runs", "show", run, endpoint=node.endpoint)
        if reply.get("state") == state or time.monotonic() > deadline:
            check(reply.get("state") == state, "run %s is %s: %r" % (run, state, reply))
            return reply
        time.sleep(0.02)        # a poll interval, under a deadline


def test_outbox(node):
    ep = node.endpoint
    outbox = Outbox(node)
    try:
        # A run that succeeds: zeb runs show, zeb logs --origin
        ok = outbox.enqueue("cli-ok", "cli-target")
        outbox.work(ok, 1, "ok", result={"status": 200})
        run = wait_state(node, ok, "done")
        action = run["actions"][0]
        check(run["origin"] == "cli-ok" and action["state"] == "ok"
              and action["attempts"][0]["result"] == {"status": 200}, "runs show --json: %r" % run)
        r = zeb("runs", "show", ok, endpoint=ep)
        check(r.returncode == 0 and ok in r.stdout and "done" in r.stdout and "cli.work" in r.stdout,
              "runs show prints the run: %r" % r.stdout)
        logs = zeb_json("logs", "--origin", "cli-ok", endpoint=ep)
        check(len(logs["items"]) == 1 and logs["items"][0]["run"] == ok
              and logs["items"][0]["status"] == "success" and "next" not in logs, "logs --json: %r" % logs)
        r = zeb("logs", "--origin", "cli-ok", endpoint=ep)
        check(r.returncode == 0 and "success" in r.stdout and ok in r.stdout and "cli.work:success" in r.stdout,
              "logs prints a table: %r" % r.stdout)
        by_type = zeb_json("logs", "--type", "order.placed", "--limit", "5", endpoint=ep)
        check([e["run"] for e in by_type["items"]] == [ok], "logs --type: %r" % by_type)

        # retry until maxAttempts: RETRIES_EXHAUSTED in zeb dlq list
        tired = outbox.enqueue("cli-retry", "cli-flaky", FAST)
        for attempt in (1, 2, 3):
            outbox.work(tired, attempt, "retry", error="HTTP 503", code=503)
        wait_state(node, tired, "dead")
        dead = zeb_json("dlq", "list", "--origin", "cli-retry", endpoint=ep)
        items = dead["items"]
        check(len(items) == 1 and items[0]["id"] == tired and items[0]["reason"] == "RETRIES_EXHAUSTED"
              and items[0]["attempts"] == 3 and items[0]["error"] == "HTTP 503", "dlq list --json: %r" % dead)
        r = zeb("dlq", "list", endpoint=ep)
        check(r.returncode == 0 and tired in r.stdout and "RETRIES_EXHAUSTED" in r.stdout
              and "HTTP 503" in r.stdout, "dlq list prints a table: %r" % r.stdout)
        shown = zeb_json("dlq", "show", tired, endpoint=ep)
        check(shown["reason"] == "RETRIES_EXHAUSTED" and len(shown["run"]["actions"][0]["attempts"]) == 3,
              "dlq show --json: %r" % shown)
        r = zeb("dlq", "show", tired, endpoint=ep)
        check(r.returncode == 0 and "RETRIES_EXHAUSTED" in r.stdout and "attempt 3" in r.stdout,
              "dlq show prints the dead letter and its attempts: %r" % r.stdout)
        # --outbox names the endpoint without asking the node
        direct = zeb_json("dlq", "list", "--outbox", node.outbox, endpoint="tcp://127.0.0.1:1")
        check([i["id"] for i in direct["items"]] == [tired], "--outbox: %r" % direct)

        # zeb dlq replay ID: the worker sees the job again, at attempt 1
        r = zeb("dlq", "replay", tired, endpoint=ep)
        check(r.returncode == 0 and r.stdout.startswith("replayed 1 dead letter (replay "),
              "dlq replay: %r %r" % (r.stdout, r.stderr))
        for attempt in (1, 2, 3):
            outbox.work(tired, attempt, "retry", error="HTTP 503 again")
        wait_state(node, tired, "dead")

        # Another dead letter, of another origin; one gone; paging
        other = outbox.enqueue("cli-other", "cli-strict", FAST)
        outbox.work(other, 1, "fail", error="HTTP 400", code=400)
        wait_state(node, other, "dead")
        gone = outbox.enqueue("cli-gone", "cli-vanished")
        outbox.work(gone, 1, "fail", error="HTTP 410", code=410, gone=True)
        wait_state(node, gone, "dead")
        check(zeb_json("dlq", "show", gone, endpoint=ep)["reason"] == "GONE", "a gone target: GONE")
        enabled = zeb_json("targets", "enable", "cli-vanished", endpoint=ep)
        check(enabled == {"wasGone": True}, "targets enable --json: %r" % enabled)
        r = zeb("targets", "enable", "cli-vanished", endpoint=ep)
        check(r.returncode == 0 and "takes runs again (it was not gone)" in r.stdout, "targets enable: %r" % r.stdout)
        first = zeb_json("dlq", "list", "--limit", "2", endpoint=ep)
        rest = zeb_json("dlq", "list", "--limit", "2", "--after", first.get("next", "?"), endpoint=ep)
        check(len(first["items"]) == 2 and len(rest["items"]) == 1 and "next" not in rest
              and {i["id"] for i in first["items"] + rest["items"]} == {tired, other, gone},
              "dlq list pages with --after: %r %r" % (first, rest))
        r = zeb("dlq", "list", "--limit", "2", endpoint=ep)
        check("more: --after " + first.get("next", "?") in r.stdout, "the table names the next page: %r" % r.stdout)
        newest = zeb_json("logs", "--type", "order.placed", "--limit", "1", endpoint=ep)
        older = zeb_json("logs", "--type", "order.placed", "--limit", "1", "--before", newest.get("next", "?"),
                         endpoint=ep)
        check(len(newest["items"]) == 1 and len(older["items"]) == 1
              and older["items"][0]["createdAt"] <= newest["items"][0]["createdAt"]
              and older["items"][0]["id"] != newest["items"][0]["id"], "logs pages with --before: %r %r"
              % (newest, older))

        # zeb dlq purge --all --origin O empties that origin's, no other
        r = zeb("dlq", "purge", "--all", "--origin", "cli-retry", endpoint=ep)
        check(r.returncode == 0 and r.stdout == "purged 1 dead letter\n", "dlq purge --all --origin: %r" % r.stdout)
        check(zeb_json("dlq", "list", "--origin", "cli-retry", endpoint=ep)["items"] == [],
              "nothing left of the origin")
        check({i["id"] for i in zeb_json("dlq", "list", endpoint=ep)["items"]} == {other, gone},
              "the other origins' dead letters stay")
        purged = zeb_json("dlq", "purge", other, endpoint=ep)
        check(purged == {"count": 1}, "dlq purge ID --json: %r" % purged)
        replayed = zeb_json("dlq", "replay", "--all", "--origin", "nobody", endpoint=ep)
        check(replayed == {"count": 0}, "replay of nothing: %r" % replayed)

        # Refusals: the NACK's reason on stderr, non-zero exit
        r = zeb("runs", "show", "nothex", endpoint=ep)
        check(r.returncode == 1 and "INVALID_ATTRIBUTE" in r.stderr and "32 hex digits" in r.stderr,
              "bad id: exit 1, the reason on stderr (%d %r)" % (r.returncode, r.stderr))
        r = zeb("dlq", "show", "0123456789abcdef0123456789abcdeX", "--json", endpoint=ep)
        check(r.returncode == 1 and "INVALID_ATTRIBUTE" in r.stderr
              and json.loads(r.stdout)["reason"] == "INVALID_ATTRIBUTE", "bad id, --json: the NACK (%r)" % r.stdout)
        r = zeb("dlq", "show", ok, endpoint=ep)
        check(r.returncode == 1 and "NOT_FOUND" in r.stderr and ok in r.stderr,
              "a run that is not dead: NOT_FOUND (%d %r)" % (r.returncode, r.stderr))
        r = zeb("dlq", "list", "--after", "nonsense", endpoint=ep)
        check(r.returncode == 1 and "INVALID_ATTRIBUTE" in r.stderr and "after" in r.stderr, "bad --after: %r" % r.stderr)
        for args in (("dlq", "replay"), ("dlq", "purge", ok, "--all"), ("dlq", "purge", ok, "--origin", "x"),
                     ("logs",), ("logs", "--origin", "a", "--type", "b.c"), ("runs", "show"),
                     ("dlq", "list", "--limit", "0"), ("dlq", "list", "--since", "yesterday"),
                     ("targets", "enable"), ("dlq", "frobnicate")):
            r = zeb(*args, endpoint=ep)
            check(r.returncode == 2 and ("usage:" in r.stderr or r.stderr.startswith("zeb:")),
                  "%s: exit 2 and why (%d %r)" % (" ".join(args), r.returncode, r.stderr))
        r = zeb("--help")
        check(all(word in r.stdout for word in ("dlq list", "dlq replay", "runs show", "logs --origin",
                                                "targets enable", "--json", "--outbox")),
              "the help names the outbox commands")
    finally:
        outbox.close()


def test_automations(node, directory):
    """zeb automations: put, list, get, disable/enable, history, test,
    backtest and delete, tables and --json, refusals with their path"""
    ep = node.endpoint
    rule_file = os.path.join(directory, "rule.json")
    rule = {"id": "cli-vip", "name": "VIP", "triggerEventType": "cli.message",
            "triggerConditions": [{"field": "payload.tags", "operator": "contains", "value": "vip"}],
            "actions": [{"type": "log", "config": {"message": "vip {{data.name}}"}}]}
    with open(rule_file, "w") as f:
        json.dump(rule, f)
    put = zeb_json("automations", "put", rule_file, "--by", "cli", endpoint=ep)
    check(put.get("id") == "cli-vip" and put.get("version") == 1 and put.get("created") is True,
          "automations put --json: %r" % put)
    r = zeb("automations", "put", rule_file, endpoint=ep)
    check(r.returncode == 0 and "updated cli-vip, version 2" in r.stdout, "automations put: %r" % r.stdout)
    r = zeb("automations", "list", endpoint=ep)
    check(r.returncode == 0 and "cli-vip" in r.stdout and "cli.message" in r.stdout and "VIP" in r.stdout,
          "automations list prints a table: %r" % r.stdout)
    listed = zeb_json("automations", "list", "--matching", "cli.message", endpoint=ep)
    check([i["id"] for i in listed.get("items", [])] == ["cli-vip"], "list --matching: %r" % listed)
    shown = zeb_json("automations", "get", "cli-vip", endpoint=ep)
    check(shown.get("rule", {}).get("createdBy") == "cli" and shown.get("version") == 2, "get: %r" % shown)
    r = zeb("automations", "disable", "cli-vip", "--by", "ops", endpoint=ep)
    check(r.returncode == 0, "automations disable: %r" % r.stderr)
    listed = zeb_json("automations", "list", "--disabled", endpoint=ep)
    check([i["id"] for i in listed.get("items", [])] == ["cli-vip"], "list --disabled: %r" % listed)
    zeb_json("automations", "enable", "cli-vip", endpoint=ep)
    r = zeb("automations", "history", "cli-vip", endpoint=ep)
    check(r.returncode == 0 and "enable" in r.stdout and "disable" in r.stdout and "ops" in r.stdout,
          "automations history: %r" % r.stdout)
    # A dry run: the condition, what it saw, the rendered action
    event_file = os.path.join(directory, "event.json")
    with open(event_file, "w") as f:
        json.dump({"type": "cli.message", "source": "cli", "data": {"name": "Ada", "tags": ["vip"]}}, f)
    tried = zeb_json("automations", "test", "cli-vip", event_file, endpoint=ep)
    check(tried.get("matched") is True and tried["actions"][0]["config"]["message"] == "vip Ada",
          "automations test --json: %r" % tried)
    r = zeb("automations", "test", "cli-vip", event_file, endpoint=ep)
    check(r.returncode == 0 and "would fire" in r.stdout and "payload.tags contains" in r.stdout,
          "automations test prints each condition: %r" % r.stdout)
    # A backtest over what the log holds: two VIP messages of three
    for tags in (["vip"], ["new"], ["vip", "gold"]):
        zeb("pub", "cli.message", json.dumps({"name": "x", "tags": tags}), endpoint=ep)
    back = zeb_json("automations", "backtest", "cli-vip", endpoint=ep)
    check(back.get("scanned") == 3 and back.get("matched") == 2 and back.get("complete") is True,
          "automations backtest --json: %r" % back)
    changed = dict(rule, triggerConditions=[{"field": "data.tags", "operator": "contains", "value": "gold"}])
    changed_file = os.path.join(directory, "changed.json")
    with open(changed_file, "w") as f:
        json.dump(changed, f)
    diff = zeb_json("automations", "backtest", "--rule", changed_file, endpoint=ep)
    check(diff.get("changes") == {"fired": 1, "wouldFire": 0, "wouldStop": 1}, "backtest of a change: %r" % diff)
    r = zeb("automations", "backtest", changed_file, "--from", "1", endpoint=ep)
    check(r.returncode == 0 and "scanned 3 events" in r.stdout, "automations backtest FILE: %r" % r.stdout)
    shown = zeb_json("automations", "show", "cli-vip", endpoint=ep)
    check(shown.get("rule", {}).get("id") == "cli-vip", "automations show: %r" % shown)
    # Refusals: the path of the mistake, exit 1; usage, exit 2
    bad_file = os.path.join(directory, "bad.json")
    with open(bad_file, "w") as f:
        json.dump(dict(rule, triggerConditions=[{"field": "data.x", "operator": "eqq", "value": 1}]), f)
    r = zeb("automations", "put", bad_file, endpoint=ep)
    check(r.returncode == 1 and "triggerConditions[0]" in r.stderr, "a bad rule: exit 1 (%d %r)"
          % (r.returncode, r.stderr))
    r = zeb("automations", "get", "nobody", endpoint=ep)
    check(r.returncode == 1 and "NOT_FOUND" in r.stderr, "get of nothing: %r" % r.stderr)
    r = zeb("automations", "frobnicate", endpoint=ep)
    check(r.returncode == 2, "an unknown verb: exit 2 (%d)" % r.returncode)
    r = zeb("automations", "put", os.path.join(directory, "missing.json"), endpoint=ep)
    check(r.returncode == 2 and "cannot read" in r.stderr, "an unreadable file: %r" % r.stderr)
    deleted = zeb_json("automations", "delete", "cli-vip", endpoint=ep)
    check(deleted.get("id") == "cli-vip", "delete: %r" % deleted)
    listed = zeb_json("automations", "list", endpoint=ep)
    check(listed.get("items") == [], "nothing left: %r" % listed)


def test_cron(node, directory):
    """zeb cron: put, list, get, run (the event is in the log), disable,
    enable, delete; tables and --json; refusals naming the field"""
    ep = node.endpoint
    trigger_file = os.path.join(directory, "nightly.json")
    with open(trigger_file, "w") as f:
        json.dump({"name": "cli-nightly", "schedule": "30 2 * * *", "timezone": "Europe/Paris",
                   "payload": {"report": "daily"}, "catchUp": "once"}, f)
    put = zeb_json("cron", "put", trigger_file, endpoint=ep)
    check(put.get("name") == "cli-nightly" and put.get("eventType") == "custom.cron.cli-nightly"
          and isinstance(put.get("nextRun"), str), "cron put --json: %r" % put)
    r = zeb("cron", "put", trigger_file, endpoint=ep)
    check(r.returncode == 0 and "stored cli-nightly: 30 2 * * *" in r.stdout, "cron put: %r" % r.stdout)
    r = zeb("cron", endpoint=ep)
    check(r.returncode == 0 and "cli-nightly" in r.stdout and "Europe/Paris" in r.stdout
          and "once" in r.stdout, "cron list prints a table: %r" % r.stdout)
    shown = zeb_json("cron", "show", "cli-nightly", endpoint=ep)
    check(shown.get("schedule") == "30 2 * * *" and shown.get("enabled") is True, "cron get: %r" % shown)
    r = zeb("cron", "run", "cli-nightly", endpoint=ep)
    check(r.returncode == 0 and "fired cli-nightly: custom.cron.cli-nightly" in r.stdout,
          "cron run: %r" % r.stdout)
    r = zeb("fetch", "--types", "custom.cron.cli-nightly", "--count", "10", endpoint=ep)
    fired = json_lines(r.stdout)
    check(len(fired) == 1 and fired[0].get("data") == {"report": "daily"}
          and fired[0].get("cronname") == "cli-nightly", "the fired event is in the log: %r" % r.stdout)
    disabled = zeb_json("cron", "disable", "cli-nightly", endpoint=ep)
    check(disabled.get("enabled") is False, "cron disable: %r" % disabled)
    r = zeb("cron", "list", endpoint=ep)
    check(" no " in r.stdout, "a disabled trigger shows so: %r" % r.stdout)
    enabled = zeb_json("cron", "enable", "cli-nightly", endpoint=ep)
    check(enabled.get("enabled") is True, "cron enable: %r" % enabled)
    # Refusals: the field at fault, exit 1; usage, exit 2
    bad_file = os.path.join(directory, "bad-cron.json")
    with open(bad_file, "w") as f:
        json.dump({"name": "cli-bad", "schedule": "61 * * * *"}, f)
    r = zeb("cron", "put", bad_file, endpoint=ep)
    check(r.returncode == 1 and "INVALID_ATTRIBUTE" in r.stderr and "minute" in r.stderr,
          "a bad schedule: exit 1 naming the field (%d %r)" % (r.returncode, r.stderr))
    r = zeb("cron", "get", "nobody", endpoint=ep)
    check(r.returncode == 1 and "NOT_FOUND" in r.stderr, "get of nothing: %r" % r.stderr)
    r = zeb("cron", "run", endpoint=ep)
    check(r.returncode == 2, "run without a name: exit 2 (%d)" % r.returncode)
    r = zeb("cron", "frobnicate", "x", endpoint=ep)
    check(r.returncode == 2, "an unknown verb: exit 2 (%d)" % r.returncode)
    deleted = zeb_json("cron", "delete", "cli-nightly", endpoint=ep)
    check(deleted.get("name") == "cli-nightly", "cron delete: %r" % deleted)
    check(zeb_json("cron", "list", endpoint=ep).get("items") == [], "no trigger left")


def test_example_worker(node):
    """tools/zeb-worker.py, a worker process over tcp, serves send_message
    and trigger_agent: a run of both is done, and each action printed once
    with its stable key"""
    import msgpack
    import zmq
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools", "zeb-worker.py")
    worker = subprocess.Popen(["/usr/bin/python3", script, node.workers], stdout=subprocess.PIPE, text=True)
    client = zmq.Context.instance().socket(zmq.DEALER)
    client.setsockopt(zmq.LINGER, 0)
    client.connect(node.outbox)
    try:
        event = {"id": "worker-event-1", "type": "message.received", "source": "cli-test", "sequence": 1}
        run = {"origin": "example-worker", "event": event,
               "actions": [{"type": "send_message", "config": {"to": "+15550100", "content": "hello"}},
                           {"type": "trigger_agent", "config": {"agent": "triage", "priority": "high"}}]}
        client.send_multipart([b"ENQUEUE", msgpack.packb({"runs": [run]}), b"w-1"])
        check(client.poll(10000), "ENQUEUE answered")
        command, body, _ = client.recv_multipart()
        reply = msgpack.unpackb(body)
        check(command == b"ENQUEUED", "ENQUEUED: %r" % reply)
        run_id = reply["ids"][0]
        wait_state(node, run_id, "done")
        lines = [json.loads(worker.stdout.readline()) for _ in range(2)]
        check([line["action"] for line in lines] == ["send_message", "trigger_agent"],
              "the worker performed both, in order: %r" % lines)
        check([line["key"] for line in lines] == [run_id + "-0", run_id + "-1"],
              "with the actions' stable keys: %r" % lines)
        check(lines[0]["to"] == "+15550100" and lines[1]["agent"] == "triage", "with their configs: %r" % lines)
    finally:
        client.close()
        worker.terminate()
        worker.wait(10)


def test_no_outbox(node):
    """A node without an outbox: exit 2 and says so; an outbox that is not there: exit 3"""
    r = zeb("dlq", "list", endpoint=node.endpoint)
    check(r.returncode == 2 and "runs no outbox" in r.stderr and "--outbox" in r.stderr,
          "dlq list without an outbox: exit 2 (%d %r)" % (r.returncode, r.stderr))
    r = zeb("cron", "list", endpoint=node.endpoint)
    check(r.returncode == 2 and "runs no cron triggers" in r.stderr and "--cron" in r.stderr,
          "cron list without cron: exit 2 (%d %r)" % (r.returncode, r.stderr))
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))
    try:
        endpoint = "tcp://127.0.0.1:%d" % dead.getsockname()[1]
        r = zeb("runs", "show", "0" * 32, "--outbox", endpoint, endpoint=node.endpoint, timeout_ms=300)
        check(r.returncode == 3 and endpoint in r.stderr, "an outbox that does not answer: exit 3 (%d %r)"
              % (r.returncode, r.stderr))
    finally:
        dead.close()


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
             "--set", "outbox/endpoint=tcp://127.0.0.1:*", "--set", "outbox/workers=tcp://127.0.0.1:*",
             "--set", "automation/endpoint=tcp://127.0.0.1:*", "--set", "cron/endpoint=tcp://127.0.0.1:*"]
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
        test_no_outbox(node)
        print(" * test_no_outbox: %s" % ("FAIL" if FAILURES else "OK"))
        check(node.stop() == 0, "zebd exits 0 on SIGTERM")
        full = Node(every=True)
        schema_dir = tempfile.mkdtemp(prefix="zeb-cli-schemas-")
        try:
            for name, test in (("test_types", lambda: test_types(full, schema_dir)),
                               ("test_outbox", lambda: test_outbox(full)),
                               ("test_automations", lambda: test_automations(full, schema_dir)),
                               ("test_cron", lambda: test_cron(full, schema_dir)),
                               ("test_example_worker", lambda: test_example_worker(full))):
                started = time.monotonic()
                test()
                print(" * %s: %s (%.0f ms)" % (name, "FAIL" if FAILURES else "OK",
                                               (time.monotonic() - started) * 1000))
            check(full.stop() == 0, "zebd with every actor exits 0 on SIGTERM")
        finally:
            full.destroy()
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
