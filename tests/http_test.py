"""The HTTP gateway over real HTTP, from outside the process.

usage: /usr/bin/python3 http_test.py /path/to/zebd

Starts zebd on ports of its own (the gateway on any free port, learnt from
WELCOME) with webhook sources of every signature scheme, and checks each
route's success and refusals with http.client over keep-alive connections:
signatures computed here, independently of zeb (hmac, hashlib), stored
events read back through GET /api/events, duplicates stored once. Then a
zebd with bearer tokens (401, 403, scopes), one whose ingest cannot be
reached (503 with Retry-After), and one that must refuse to start (an
open API on a non-loopback address).
"""

import base64
import hashlib
import hmac
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import msgpack
import zmq
from prometheus_client.parser import text_string_to_metric_families

ZEBD = sys.argv[1]
FAILURES = []
GITHUB_SECRET = "It's a Secret to Everybody"
STRIPE_SECRET = "whsec_stripe_test_secret"
STANDARD_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
HMAC_SECRET = "plain-hmac-secret"


def check(condition, what):
    if not condition:
        FAILURES.append(what)
        print("   FAIL:", what, file=sys.stderr)
    return condition


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


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            check(False, "timed out waiting for " + what)
            return value
        time.sleep(0.02)


class Node:
    """zebd with every actor on ports of its own"""

    def __init__(self, settings=(), actors=None, http_port=0, data=None):
        self.data = data or tempfile.mkdtemp(prefix="zeb-http-")
        ingest, log, bus, registry = free_ports(4)
        self.ingest = "tcp://127.0.0.1:%d" % ingest
        command = [ZEBD, "--quiet", "--data", self.data,
                   "--set", "ingest/endpoint=" + self.ingest,
                   "--set", "log/endpoint=tcp://127.0.0.1:%d" % log,
                   "--set", "bus/endpoint=tcp://127.0.0.1:%d" % bus,
                   "--set", "registry/endpoint=tcp://127.0.0.1:%d" % registry,
                   "--set", "outbox/endpoint=tcp://127.0.0.1:*",
                   "--set", "outbox/workers=tcp://127.0.0.1:*",
                   "--set", "automation/endpoint=tcp://127.0.0.1:*", "--set", "cron/endpoint=tcp://127.0.0.1:*",
                   "--set", "http/endpoint=127.0.0.1:%d" % http_port]
        if actors:
            command += ["--set", "node/actors=" + actors]
        for setting in settings:
            command += ["--set", setting]
        self.log = open(os.path.join(self.data, "zebd.log"), "wb")
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT)
        self.url = "http://127.0.0.1:%d" % http_port if http_port else None
        self.conn = None

    def welcome(self, timeout=15):
        """HELLO until WELCOME; the gateway's URL from it"""
        context = zmq.Context.instance()
        sock = context.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.connect(self.ingest)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline and self.process.poll() is None:
                sock.send_multipart([b"HELLO", msgpack.packb({"version": 1})])
                if sock.poll(200):
                    frames = sock.recv_multipart()
                    if frames[0] == b"WELCOME":
                        body = msgpack.unpackb(frames[1], raw=False)
                        self.url = body.get("http")
                        return body
        finally:
            sock.close()
        raise RuntimeError("zebd did not answer HELLO: %s" % self.output())

    def connect(self):
        host, port = self.url[len("http://"):].rsplit(":", 1)
        self.conn = http.client.HTTPConnection(host, int(port), timeout=30)

    def request(self, method, path, body=None, headers=None, raw=False):
        """(status, headers, parsed JSON or bytes) over the kept-alive connection"""
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            headers = dict(headers or {})
            headers.setdefault("Content-Type", "application/json")
        elif isinstance(body, str):
            body = body.encode()
        for attempt in range(2):
            try:
                self.conn.request(method, path, body=body, headers=headers or {})
                response = self.conn.getresponse()
                data = response.read()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # the gateway closed an idle keep-alive connection: once more
                self.conn.close()
                self.connect()
        else:
            raise RuntimeError("no answer to %s %s" % (method, path))
        if raw:
            return response.status, response, data
        try:
            parsed = json.loads(data) if data else None
        except ValueError:
            parsed = data
        return response.status, response, parsed

    def output(self):
        try:
            with open(os.path.join(self.data, "zebd.log"), "rb") as f:
                return f.read().decode(errors="replace")[-12000:]
        except OSError:
            return ""

    def stop(self, keep=False):
        if self.conn:
            self.conn.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.returncode != 0:
            print("zebd exited %s; its output:\n%s" % (self.process.returncode, self.output()))
        if not keep:
            shutil.rmtree(self.data, ignore_errors=True)
        return self.process.returncode


def run_each(tests, *args):
    """Each test with args, its outcome and time printed"""
    for test in tests:
        t0 = time.monotonic()
        test(*args)
        print(" * %s: %s (%d ms)" % (test.__name__, "FAILED" if FAILURES else "OK",
                                     (time.monotonic() - t0) * 1000))


def finish(started):
    """The verdict: exits 1 if a check failed"""
    if FAILURES:
        print("FAILED: %d checks (%.1f s)" % (len(FAILURES), time.monotonic() - started))
        sys.exit(1)
    print("OK (%.1f s)" % (time.monotonic() - started))


def is_error(body, status, reason=None):
    return (isinstance(body, dict) and body.get("code") == status
            and isinstance(body.get("reason"), str) and isinstance(body.get("error"), str)
            and (reason is None or body["reason"] == reason))


def last_sequence(node):
    status, _, body = node.request("GET", "/api/events?from=1&limit=1")
    return body["last"] if status == 200 else -1


def event_at(node, sequence):
    status, _, body = node.request("GET", "/api/events/%d" % sequence)
    check(status == 200, "GET /api/events/%d: %s %r" % (sequence, status, body))
    return body


def github_sign(body, secret=GITHUB_SECRET):
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# ---------------------------------------------------------------------
#  Webhooks

def test_github(node):
    body = json.dumps({"action": "opened", "number": 7}).encode()
    headers = {"Content-Type": "application/json", "X-GitHub-Event": "pull_request",
               "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
               "X-Hub-Signature-256": github_sign(body)}
    status, _, reply = node.request("POST", "/webhooks/github", body, headers)
    check(status == 200 and reply.get("ok") is True and reply.get("duplicate") is False,
          "github: 200 after the ACK: %s %r" % (status, reply))
    sequence = reply["sequence"]
    event = event_at(node, sequence)
    check(event.get("type") == "custom.webhook.github", "github: type %r" % event.get("type"))
    check(event.get("source") == "webhook/github", "github: source %r" % event.get("source"))
    check(event.get("data") == {"action": "opened", "number": 7}, "github: data %r" % event.get("data"))
    check(event.get("githubevent") == "pull_request", "github: X-GitHub-Event kept: %r" % event)
    check(event.get("idempotencykey") == "webhook/github/72d3162e-cc78-11e3-81ab-4c9367dc0958",
          "github: the delivery id is the key: %r" % event.get("idempotencykey"))
    # GitHub redelivers: stored once, answered 200
    status, _, again = node.request("POST", "/webhooks/github", body, headers)
    check(status == 200 and again.get("duplicate") is True and again.get("sequence") == sequence,
          "github: a redelivery is a duplicate of %d: %s %r" % (sequence, status, again))
    # Rotation: the second secret holds too
    headers2 = dict(headers, **{"X-GitHub-Delivery": "second-secret",
                                "X-Hub-Signature-256": github_sign(body, "the-old-github-secret")})
    status, _, reply = node.request("POST", "/webhooks/github", body, headers2)
    check(status == 200, "github: the second secret: %s %r" % (status, reply))
    # Refusals store nothing
    before = last_sequence(node)
    for what, bad in (("wrong", dict(headers, **{"X-Hub-Signature-256": github_sign(b"other")})),
                      ("missing", {k: v for k, v in headers.items() if k != "X-Hub-Signature-256"}),
                      ("malformed", dict(headers, **{"X-Hub-Signature-256": "sha1=abc"}))):
        bad["X-GitHub-Delivery"] = "bad-" + what
        status, response, reply = node.request("POST", "/webhooks/github", body, bad)
        check(status == 401 and is_error(reply, 401, "UNAUTHORIZED"),
              "github: %s signature is 401: %s %r" % (what, status, reply))
    # The docs' own example, over HTTP
    status, _, reply = node.request("POST", "/webhooks/github", b"Hello, World!",
                                    {"Content-Type": "text/plain", "X-GitHub-Delivery": "hello",
                                     "X-Hub-Signature-256": "sha256=757107ea0eb2509fc211221cce984b8a"
                                                            "37570b6d7586c22c46f4379c8b043e17"})
    check(status == 200, "github: the documented example: %s %r" % (status, reply))
    event = event_at(node, reply["sequence"])
    check(event.get("data") == {"body": base64.b64encode(b"Hello, World!").decode(),
                                "contentType": "text/plain"},
          "a body that is not JSON is kept as base64: %r" % event.get("data"))
    check(event.get("datacontenttype") == "text/plain", "datacontenttype: %r" % event)
    check(last_sequence(node) == before + 1, "refused deliveries stored nothing")


def stripe_header(body, timestamp, secret=STRIPE_SECRET):
    signed = ("%d." % timestamp).encode() + body
    return "t=%d,v1=%s,v0=deadbeef" % (timestamp, hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest())


def test_stripe(node):
    body = json.dumps({"id": "evt_1NG8Du2eZvKYlo2CUI79vXWy", "object": "event",
                       "type": "payment_intent.succeeded"}).encode()
    now = int(time.time())
    headers = {"Content-Type": "application/json", "Stripe-Signature": stripe_header(body, now)}
    status, _, reply = node.request("POST", "/webhooks/stripe", body, headers)
    check(status == 200 and reply.get("duplicate") is False, "stripe: 200: %s %r" % (status, reply))
    event = event_at(node, reply["sequence"])
    check(event.get("idempotencykey") == "webhook/stripe/evt_1NG8Du2eZvKYlo2CUI79vXWy",
          "stripe: the event id is the key: %r" % event)
    headers = {"Content-Type": "application/json", "Stripe-Signature": stripe_header(body, now + 1)}
    status, _, again = node.request("POST", "/webhooks/stripe", body, headers)
    check(status == 200 and again.get("duplicate") is True, "stripe: a retry is stored once: %r" % again)
    old = {"Content-Type": "application/json", "Stripe-Signature": stripe_header(body, now - 400)}
    status, _, reply = node.request("POST", "/webhooks/stripe", body, old)
    check(status == 401 and "tolerance" in reply.get("error", ""),
          "stripe: a timestamp past the tolerance is 401: %s %r" % (status, reply))
    status, _, reply = node.request("POST", "/webhooks/stripe", body + b" ",
                                    {"Content-Type": "application/json",
                                     "Stripe-Signature": stripe_header(body, now)})
    check(status == 401, "stripe: a changed body is 401: %s" % status)


def standard_headers(msg_id, body, timestamp, secret=STANDARD_SECRET):
    key = base64.b64decode(secret[len("whsec_"):])
    signed = ("%s.%d." % (msg_id, timestamp)).encode() + body
    signature = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return {"Content-Type": "application/json", "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp), "webhook-signature": "v1,bm90IGl0 v1," + signature}


def test_standard(node):
    # The specification's example body and secret, signed now
    body = b'{"test": 2432232314}'
    now = int(time.time())
    headers = standard_headers("msg_p5jXN8AQM9LWM0D4loKWxJek", body, now)
    status, _, reply = node.request("POST", "/webhooks/svix", body, headers)
    check(status == 200, "standard: 200: %s %r" % (status, reply))
    event = event_at(node, reply["sequence"])
    check(event.get("idempotencykey") == "webhook/svix/msg_p5jXN8AQM9LWM0D4loKWxJek"
          and event.get("data") == {"test": 2432232314}, "standard: key and data: %r" % event)
    status, _, again = node.request("POST", "/webhooks/svix", body, headers)
    check(status == 200 and again.get("duplicate") is True, "standard: a retry is stored once")
    # The published example itself is from 2021: outside any tolerance now
    status, _, reply = node.request("POST", "/webhooks/svix", body, {
        "Content-Type": "application/json", "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="})
    check(status == 401 and "tolerance" in reply.get("error", ""),
          "standard: a 2021 timestamp is 401: %s %r" % (status, reply))
    bad = standard_headers("msg_other", body, now)
    bad["webhook-signature"] = "v1," + base64.b64encode(b"x" * 32).decode()
    status, _, reply = node.request("POST", "/webhooks/svix", body, bad)
    check(status == 401 and is_error(reply, 401), "standard: a wrong signature is 401: %s" % status)


def test_hmac(node):
    body = b'{"order": 42}'
    digest = hmac.new(HMAC_SECRET.encode(), body, hashlib.sha256).digest()
    headers = {"Content-Type": "application/json", "X-Shop-Hmac-Sha256": base64.b64encode(digest).decode(),
               "Idempotency-Key": "shop-delivery-1"}
    status, _, reply = node.request("POST", "/webhooks/shop", body, headers)
    check(status == 200, "hmac base64: 200: %s %r" % (status, reply))
    event = event_at(node, reply["sequence"])
    check(event.get("idempotencykey") == "webhook/shop/shop-delivery-1",
          "hmac: Idempotency-Key is the key: %r" % event)
    headers["X-Shop-Hmac-Sha256"] = base64.b64encode(hashlib.sha256(body).digest()).decode()
    status, _, reply = node.request("POST", "/webhooks/shop", body, headers)
    check(status == 401, "hmac base64: a plain hash is 401: %s" % status)
    hex_headers = {"Content-Type": "application/json",
                   "X-Signature": "sha256=" + hmac.new(HMAC_SECRET.encode(), body, hashlib.sha256).hexdigest()}
    status, _, reply = node.request("POST", "/webhooks/hexshop", body, hex_headers)
    check(status == 200, "hmac hex with a prefix: 200: %s %r" % (status, reply))


def hmac_headers(body, secret):
    return {"Content-Type": "application/json",
            "X-Signature": hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()}


def test_sources():
    """Webhook sources made by the admin routes: signatures checked, a
    secret rotated with two valid at once, kept across a restart, deleted"""
    node = Node(["http/webhooks/fixed/scheme=none"], actors="ingest,log,http")
    try:
        node.welcome()
        node.connect()
        body = b'{"order": 7}'
        status, _, reply = node.request("POST", "/webhooks/live", body, hmac_headers(body, "old-secret"))
        check(status == 404, "before it is made: 404: %s" % status)
        source = {"scheme": "hmac", "secret": "old-secret", "header": "X-Signature",
                  "required_headers": ["X-Signature"], "tolerance": "60s"}
        status, _, reply = node.request("PUT", "/api/webhooks/live", source)
        check(status == 201 and reply.get("scheme") == "hmac" and reply.get("secrets") == 1
              and reply.get("origin") == "api" and "old-secret" not in json.dumps(reply),
              "PUT /api/webhooks/{source}: 201, secrets counted not shown: %s %r" % (status, reply))
        status, _, reply = node.request("POST", "/webhooks/live", body, hmac_headers(body, "old-secret"))
        check(status == 200, "a delivery signed with its secret: 200: %s %r" % (status, reply))
        status, _, reply = node.request("POST", "/webhooks/live", body, hmac_headers(body, "wrong"))
        check(status == 401 and is_error(reply, 401, "UNAUTHORIZED"), "a wrong signature: 401: %s" % status)
        # Rotation: the new secret and the old one, both valid
        status, _, reply = node.request("PUT", "/api/webhooks/live", dict(source, secret="new-secret",
                                                                           secret2="old-secret"))
        check(status == 200 and reply.get("secrets") == 2, "rotation: 200 with two secrets: %s %r" % (status, reply))
        for secret in ("new-secret", "old-secret"):
            status, _, _ = node.request("POST", "/webhooks/live", body, hmac_headers(body, secret))
            check(status == 200, "during rotation %s is valid: %s" % (secret, status))
        status, _, reply = node.request("GET", "/api/webhooks")
        names = {(i["name"], i["origin"]) for i in reply.get("items", [])}
        check(status == 200 and names == {("live", "api"), ("fixed", "config")} and "secret\"" not in json.dumps(reply),
              "GET /api/webhooks: both origins, no secrets: %s %r" % (status, reply))
        status, _, reply = node.request("GET", "/api/webhooks/live")
        check(status == 200 and reply.get("hmac", {}).get("header") == "X-Signature"
              and reply.get("toleranceMs") == 60000, "GET /api/webhooks/{source}: %s %r" % (status, reply))
        # Refusals: each names its field; nothing changes
        for bad, word in (({"scheme": "sha1"}, "scheme"), ({"scheme": "github"}, "secret"),
                          ({"scheme": "none", "color": "red"}, "color"), ({"scheme": "none", "tolerance": "soon"}, "tolerance"),
                          ({"scheme": "hmac", "secret": "x", "encoding": "base32"}, "encoding"),
                          ({"scheme": "standard", "secret": "not base64!"}, "whsec_")):
            status, _, reply = node.request("PUT", "/api/webhooks/live", bad)
            check(status == 400 and is_error(reply, 400, "INVALID_ATTRIBUTE") and word in reply["error"],
                  "PUT %r: 400 naming %s: %s %r" % (bad, word, status, reply))
        status, _, reply = node.request("PUT", "/api/webhooks/bad%20name", {"scheme": "none"})
        check(status == 400, "a bad source name: 400: %s" % status)
        status, _, _ = node.request("POST", "/webhooks/live", body, hmac_headers(body, "new-secret"))
        check(status == 200, "a refused PUT changed nothing: %s" % status)
        status, _, reply = node.request("DELETE", "/api/webhooks/fixed")
        check(status == 409 and is_error(reply, 409, "CONFIGURED"), "DELETE of a configured source: 409: %s" % status)
        status, _, reply = node.request("DELETE", "/api/webhooks/nobody")
        check(status == 404, "DELETE of nothing: 404: %s" % status)
    finally:
        check(node.stop(keep=True) == 0, "zebd exits 0")
    # Kept across a restart, in the data directory, not readable by others
    path = os.path.join(node.data, "http-sources.zpl")
    check(os.path.exists(path) and (os.stat(path).st_mode & 0o077) == 0, "http-sources.zpl is mode 0600")
    again = Node(["http/webhooks/fixed/scheme=none"], actors="ingest,log,http", data=node.data)
    try:
        again.welcome()
        again.connect()
        status, _, _ = again.request("POST", "/webhooks/live", body, hmac_headers(body, "old-secret"))
        check(status == 200, "after a restart the source is there, both secrets valid: %s" % status)
        status, _, reply = again.request("DELETE", "/api/webhooks/live")
        check(status == 200 and reply.get("name") == "live", "DELETE: %s %r" % (status, reply))
        status, _, _ = again.request("POST", "/webhooks/live", body, hmac_headers(body, "new-secret"))
        check(status == 404, "a deleted source: 404: %s" % status)
    finally:
        check(again.stop() == 0, "zebd exits 0")


def test_webhook_refusals(node):
    before = last_sequence(node)
    status, _, reply = node.request("POST", "/webhooks/nobody", b"{}", {"Content-Type": "application/json"})
    check(status == 404 and is_error(reply, 404, "NOT_FOUND"), "an unknown source is 404: %s %r" % (status, reply))
    status, _, reply = node.request("POST", "/webhooks/plain", b"{}", {"Content-Type": "application/json"})
    check(status == 400 and is_error(reply, 400, "MISSING_ATTRIBUTE") and "X-Plain-Token" in reply["error"],
          "a required header missing is 400: %s %r" % (status, reply))
    status, _, reply = node.request("POST", "/webhooks/plain", b"x" * 2048,
                                    {"Content-Type": "text/plain", "X-Plain-Token": "t"})
    check(status == 413 and is_error(reply, 413, "TOO_LARGE"), "over the source's max_body is 413: %s" % status)
    status, _, reply = node.request("POST", "/webhooks/plain", b"{not json",
                                    {"Content-Type": "application/json", "X-Plain-Token": "t"})
    check(status == 400 and is_error(reply, 400, "MALFORMED"), "bad JSON is 400: %s %r" % (status, reply))
    status, response, reply = node.request("GET", "/webhooks/plain")
    check(status == 405 and "POST" in (response.getheader("Allow") or ""), "GET on a webhook is 405: %s" % status)
    check(last_sequence(node) == before, "refused webhooks stored nothing")
    status, _, reply = node.request("POST", "/webhooks/plain", b"raw bytes \x00\xff",
                                    {"Content-Type": "application/octet-stream", "X-Plain-Token": "t"})
    check(status == 200, "an unsigned source: 200: %s %r" % (status, reply))
    event = event_at(node, reply["sequence"])
    check(base64.b64decode(event["data"]["body"]) == b"raw bytes \x00\xff", "binary body kept: %r" % event)


# ---------------------------------------------------------------------
#  Trigger, events, types

ORDER_SCHEMA = {"type": "object", "required": ["orderId"],
                "properties": {"orderId": {"type": "integer"}, "note": {"type": "string"}}}


def test_types(node):
    status, _, reply = node.request("POST", "/api/events/types",
                                    {"eventType": "custom.trigger.order", "schema": ORDER_SCHEMA,
                                     "description": "An order"})
    check(status == 201 and reply.get("version") == 1, "POST types: 201 version 1: %s %r" % (status, reply))
    status, _, reply = node.request("POST", "/api/events/types",
                                    {"eventType": "custom.trigger.order", "schema": ORDER_SCHEMA,
                                     "description": "An order"})
    check(status == 200 and reply.get("duplicate") is True, "POST types again: 200 duplicate: %s %r" % (status, reply))
    breaking = {"type": "object", "required": ["orderId", "customer"],
                "properties": {"orderId": {"type": "integer"}, "customer": {"type": "string"}}}
    status, _, reply = node.request("POST", "/api/events/types",
                                    {"eventType": "custom.trigger.order", "schema": breaking})
    check(status == 409 and is_error(reply, 409, "INCOMPATIBLE_SCHEMA") and reply.get("reasons"),
          "an incompatible schema is 409 with reasons: %s %r" % (status, reply))
    status, _, reply = node.request("POST", "/api/events/types", {"eventType": "custom.x.y", "schema": {"type": "nonsense"}})
    check(status == 400 and is_error(reply, 400, "INVALID_SCHEMA"), "an invalid schema is 400: %s %r" % (status, reply))
    status, _, reply = node.request("POST", "/api/events/types", {"eventType": "custom.x.y", "schema": {"definitions": {}}})
    check(status == 400 and is_error(reply, 400, "INVALID_SCHEMA"), "an unsupported schema is 400: %s %r" % (status, reply))
    status, _, reply = node.request("POST", "/api/events/types", {"schema": {}})
    check(status == 400 and is_error(reply, 400, "MISSING_ATTRIBUTE"), "no eventType is 400: %s" % status)
    status, _, reply = node.request("GET", "/api/events/types")
    types = {t["eventType"]: t for t in reply.get("types", [])} if status == 200 else {}
    check("custom.trigger.order" in types and types["custom.trigger.order"]["version"] == 1,
          "GET types lists it: %s %r" % (status, reply))
    status, _, reply = node.request("GET", "/api/events/types/custom.trigger.order")
    check(status == 200 and reply.get("schema") == ORDER_SCHEMA and reply.get("description") == "An order",
          "GET a type: its schema: %s %r" % (status, reply))
    status, _, reply = node.request("GET", "/api/events/types/custom.trigger.order?version=1")
    check(status == 200 and reply.get("version") == 1, "GET ?version=1: %s" % status)
    status, _, reply = node.request("GET", "/api/events/types/custom.trigger.order?version=9")
    check(status == 404 and is_error(reply, 404, "NOT_FOUND"), "GET ?version=9: 404: %s" % status)
    status, _, reply = node.request("GET", "/api/events/types/custom.trigger.order?version=x")
    check(status == 400, "GET ?version=x: 400: %s" % status)
    status, _, reply = node.request("GET", "/api/events/types/custom.trigger.order/versions")
    check(status == 200 and reply.get("versions") == [1], "versions: %s %r" % (status, reply))
    status, _, reply = node.request("GET", "/api/events/types/no.such")
    check(status == 404 and is_error(reply, 404), "an unknown type is 404: %s" % status)
    # Check, compatibility and validation modes, delete
    path = "/api/events/types/custom.trigger.order"
    status, _, reply = node.request("POST", path + "/check", {"schema": breaking})
    check(status == 200 and reply.get("compatible") is False and reply.get("reasons")
          and reply.get("eventType") == "custom.trigger.order", "check of a breaking schema: %s %r" % (status, reply))
    status, _, reply = node.request("POST", path + "/check", {"schema": ORDER_SCHEMA})
    check(status == 200 and reply.get("compatible") is True, "check of the same schema: %s %r" % (status, reply))
    status, _, reply = node.request("POST", path + "/check", {})
    check(status == 400 and is_error(reply, 400, "MISSING_ATTRIBUTE"), "check without a schema: 400: %s" % status)
    status, _, reply = node.request("PUT", path + "/compatibility", {"compatibility": "NONE"})
    check(status == 200 and reply.get("compatibility") == "NONE", "set compatibility: %s %r" % (status, reply))
    status, _, reply = node.request("POST", path + "/check", {"schema": breaking})
    check(status == 200 and reply.get("compatible") is True, "with NONE the change is allowed: %r" % reply)
    status, _, reply = node.request("PUT", path + "/compatibility", {"compatibility": "SIDEWAYS"})
    check(status == 400 and is_error(reply, 400), "an unknown mode: 400: %s %r" % (status, reply))
    status, _, reply = node.request("PUT", path + "/compatibility", {"compatibility": "BACKWARD"})
    check(status == 200, "back to BACKWARD: %s" % status)
    status, _, reply = node.request("PUT", path + "/validation", {"validation": "warn"})
    check(status == 200 and reply.get("validation") == "warn", "set validation: %s %r" % (status, reply))
    status, _, reply = node.request("GET", path)
    check(reply.get("validation") == "warn", "the type shows its validation mode: %r" % reply)
    status, _, reply = node.request("PUT", path + "/validation", {"validation": "enforce"})
    check(status == 200, "validation enforce: %s" % status)
    status, _, reply = node.request("PUT", path + "/validation", {})
    check(status == 400 and is_error(reply, 400, "MISSING_ATTRIBUTE"), "no mode: 400: %s" % status)
    status, _, reply = node.request("POST", "/api/events/types", {"eventType": "custom.gone.soon", "schema": {}})
    status, _, reply = node.request("DELETE", "/api/events/types/custom.gone.soon")
    check(status == 200 and reply.get("versions") == [1], "DELETE a type: %s %r" % (status, reply))
    status, _, reply = node.request("GET", "/api/events/types/custom.gone.soon")
    check(status == 404, "a deleted type is 404: %s" % status)
    status, _, reply = node.request("DELETE", "/api/events/types/no.such")
    check(status == 404, "DELETE of an unknown type: 404: %s" % status)


def test_trigger(node):
    status, response, reply = node.request(
        "POST", "/api/events/trigger",
        {"eventType": "custom.trigger.vip-alert",
         "payload": {"personId": "xyz", "reason": "manual escalation"},
         "metadata": {"triggeredBy": "admin-user-123"}},
        {"X-Correlation-Id": "corr-42"})
    check(status == 201 and isinstance(reply.get("eventId"), str) and isinstance(reply.get("sequence"), int),
          "trigger: 201 {eventId, sequence}: %s %r" % (status, reply))
    check(reply.get("correlationId") == "corr-42" and response.getheader("X-Correlation-Id") == "corr-42",
          "trigger: the correlation id is returned: %r" % reply)
    event = event_at(node, reply["sequence"])
    check(event.get("id") == reply["eventId"] and event.get("type") == "custom.trigger.vip-alert"
          and event.get("actorid") == "admin-user-123" and event.get("correlationid") == "corr-42"
          and event.get("data") == {"personId": "xyz", "reason": "manual escalation"},
          "trigger: the stored event: %r" % event)
    trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    status, _, reply = node.request("POST", "/api/events/trigger", {"eventType": "custom.trigger.traced"},
                                    {"traceparent": trace})
    check(status == 201 and reply.get("correlationId") == "4bf92f3577b34da6a3ce929d0e0e4736",
          "trigger: traceparent's trace id: %r" % reply)
    check(event_at(node, reply["sequence"]).get("traceparent") == trace, "trigger: traceparent kept")
    status, _, reply = node.request("POST", "/api/events/trigger", {"eventType": "custom.trigger.plain"})
    check(status == 201 and len(reply.get("correlationId", "")) == 36, "trigger: a generated correlation id: %r" % reply)
    # Validated against the registered schema (ingest/validation=enforce)
    status, _, reply = node.request("POST", "/api/events/trigger",
                                    {"eventType": "custom.trigger.order", "payload": {"orderId": "x"}})
    check(status == 422 and is_error(reply, 422, "SCHEMA_VIOLATION") and "orderId" in reply["error"]
          and "type" in reply["error"], "trigger: a schema violation is 422 with path and keyword: %s %r" % (status, reply))
    status, _, reply = node.request("POST", "/api/events/trigger",
                                    {"eventType": "custom.trigger.order", "payload": {"orderId": 7}},
                                    {"Idempotency-Key": "order-7"})
    check(status == 201, "trigger: a valid order: %s %r" % (status, reply))
    first = reply
    status, _, reply = node.request("POST", "/api/events/trigger",
                                    {"eventType": "custom.trigger.order", "payload": {"orderId": 7}},
                                    {"Idempotency-Key": "order-7"})
    check(status == 200 and reply.get("duplicate") is True and reply.get("eventId") == first.get("eventId")
          and reply.get("sequence") == first.get("sequence"),
          "trigger: the same key is the stored event: %s %r" % (status, reply))
    for body, what in (({"payload": {}}, "no eventType"), ({"eventType": "nodots"}, "a bad type"),
                       ({"eventType": "a.b", "metadata": 3}, "metadata not an object")):
        status, _, reply = node.request("POST", "/api/events/trigger", body)
        check(status == 400 and is_error(reply, 400), "trigger: %s is 400: %s %r" % (what, status, reply))
    status, _, reply = node.request("POST", "/api/events/trigger", "{oops", {"Content-Type": "application/json"})
    check(status == 400 and is_error(reply, 400, "MALFORMED"), "trigger: bad JSON is 400: %s" % status)
    status, _, reply = node.request("POST", "/api/events/trigger", "[1]", {"Content-Type": "application/json"})
    check(status == 400, "trigger: not an object is 400: %s" % status)
    status, _, reply = node.request("POST", "/api/events/trigger",
                                    {"eventType": "a.b", "payload": "x" * (70 * 1024)})
    check(status == 413 and is_error(reply, 413, "TOO_LARGE"), "trigger: over http/max_body is 413: %s" % status)


def test_events(node):
    status, _, reply = node.request("POST", "/api/events",
                                    {"specversion": "1.0", "type": "shop.order.placed", "source": "shop",
                                     "id": "order-event-1", "data": {"total": 9.5}},
                                    {"Content-Type": "application/cloudevents+json"})
    check(status == 201 and reply.get("eventId") == "order-event-1", "POST /api/events structured: %s %r" % (status, reply))
    structured = reply["sequence"]
    status, _, reply = node.request("POST", "/api/events",
                                    [{"type": "shop.order.shipped", "source": "shop", "data": {"n": n}}
                                     for n in range(3)],
                                    {"Content-Type": "application/cloudevents-batch+json"})
    check(status == 201 and reply.get("count") == 3 and reply.get("sequence") == structured + 1,
          "POST /api/events batch: %s %r" % (status, reply))
    status, _, reply = node.request("POST", "/api/events", b'{"total": 1}', {
        "ce-specversion": "1.0", "ce-type": "shop.order.paid", "ce-source": "billing",
        "ce-id": "paid-1", "ce-subject": "Order:1", "ce-tenantid": "acme",
        "Content-Type": "application/json"})
    check(status == 201, "POST /api/events binary: %s %r" % (status, reply))
    event = event_at(node, reply["sequence"])
    check(event.get("type") == "shop.order.paid" and event.get("source") == "billing"
          and event.get("subject") == "Order:1" and event.get("tenantid") == "acme"
          and event.get("data") == {"total": 1}, "binary mode: the stored event: %r" % event)
    status, _, reply = node.request("POST", "/api/events", {"type": "shop.order.placed"})
    check(status == 400 and is_error(reply, 400, "MISSING_ATTRIBUTE"), "no source is 400: %s %r" % (status, reply))
    status, _, reply = node.request("POST", "/api/events", [{"type": "a.b", "source": "s"}, {"type": "bad"}])
    check(status == 400 and reply.get("index") == 1, "a bad event of a batch is named: %s %r" % (status, reply))
    status, _, reply = node.request("POST", "/api/events", "[]", {"Content-Type": "application/json"})
    check(status == 400, "an empty batch is 400: %s" % status)
    # Reading
    status, _, reply = node.request("GET", "/api/events?type=shop.order.&from=1&limit=2")
    check(status == 200 and [e["type"] for e in reply["events"]] == ["shop.order.placed", "shop.order.shipped"],
          "GET /api/events?type=&limit=: %s %r" % (status, reply))
    status, _, page = node.request("GET", "/api/events?type=shop.order.&from=%d" % reply["next"])
    check(status == 200 and [e["data"]["n"] for e in page["events"][:2]] == [1, 2],
          "paging on with next: %r" % page)
    status, _, reply = node.request("GET", "/api/events?since=2000-01-01T00:00:00Z&limit=1")
    check(status == 200 and reply["events"][0]["sequence"] == 1, "?since= RFC 3339: %s %r" % (status, reply))
    for query in ("limit=0", "limit=abc", "from=-1", "since=yesterday"):
        status, _, reply = node.request("GET", "/api/events?" + query)
        check(status == 400 and is_error(reply, 400), "GET /api/events?%s is 400: %s" % (query, status))
    status, _, reply = node.request("GET", "/api/events/999999")
    check(status == 404 and is_error(reply, 404, "NOT_FOUND"), "an event not stored is 404: %s" % status)


# ---------------------------------------------------------------------
#  Automations and dead letters

RULE = {"id": "vip-fast", "name": "VIP Fast Response", "triggerEventType": "custom.trigger.vip",
        "triggerConditions": [{"field": "payload.from.tags", "operator": "contains", "value": "vip"}],
        "actions": [{"type": "emit_event", "config": {"eventType": "custom.alert.vip-message",
                                                      "payload": {"source": "automation"}}}],
        "priority": 100}


def test_automations(node):
    status, _, reply = node.request("POST", "/api/automations", RULE)
    check(status == 201 and reply.get("id") == "vip-fast" and reply.get("created") is True,
          "POST /api/automations: 201: %s %r" % (status, reply))
    status, _, reply = node.request("GET", "/api/automations")
    check(status == 200 and [r["id"] for r in reply.get("items", [])] == ["vip-fast"],
          "GET /api/automations: %s %r" % (status, reply))
    status, _, reply = node.request("GET", "/api/automations?type=custom.trigger.vip&enabled=true&limit=5")
    check(status == 200 and len(reply.get("items", [])) == 1, "GET /api/automations?type=: %s" % status)
    status, _, reply = node.request("GET", "/api/automations/vip-fast")
    check(status == 200 and reply.get("name") == "VIP Fast Response" and reply.get("version") == 1,
          "GET /api/automations/{id}: %s %r" % (status, reply))
    changed = dict(RULE, priority=5)
    status, _, reply = node.request("PUT", "/api/automations/vip-fast", changed)
    check(status == 200 and reply.get("version") == 2, "PUT /api/automations/{id}: %s %r" % (status, reply))
    status, _, reply = node.request("PUT", "/api/automations/vip-fast", dict(RULE, id="other"))
    check(status == 400, "PUT with another id in the body: 400: %s" % status)
    status, _, reply = node.request("POST", "/api/automations/vip-fast/disable")
    check(status == 200 and reply.get("enabled") is False and reply.get("changed") is True, "disable: %r" % reply)
    status, _, reply = node.request("POST", "/api/automations/vip-fast/enable")
    check(status == 200 and reply.get("enabled") is True, "enable: %r" % reply)
    status, _, reply = node.request("GET", "/api/automations/vip-fast?version=1")
    check(status == 200 and reply.get("priority") == 100, "GET ?version=1: %r" % reply)
    event = {"type": "custom.trigger.vip", "source": "test", "data": {"from": {"tags": ["vip"]}}}
    status, _, reply = node.request("POST", "/api/automations/vip-fast/test", {"event": event})
    check(status == 200 and reply.get("matched") is True and reply.get("actions"),
          "POST test: matched with actions: %s %r" % (status, reply))
    status, _, reply = node.request("POST", "/api/automations/vip-fast/test",
                                    dict(event, data={"from": {"tags": []}}))
    check(status == 200 and reply.get("matched") is False, "POST test: not matched: %r" % reply)
    # An event it fires on, then the backtest and the logs
    status, _, fired = node.request("POST", "/api/events/trigger",
                                    {"eventType": "custom.trigger.vip", "payload": {"from": {"tags": ["vip"]}}})
    check(status == 201, "trigger a VIP event: %s" % status)
    status, _, reply = node.request("POST", "/api/automations/vip-fast/backtest", {"from": 1})
    check(status == 200 and reply.get("matched", 0) >= 1, "POST backtest: %s %r" % (status, reply))
    status, _, reply = node.request("POST", "/api/automations/vip-fast/backtest")
    check(status == 200, "POST backtest without a body: %s %r" % (status, reply))
    logs = wait_until(lambda: node.request("GET", "/api/automations/vip-fast/logs")[2].get("items"),
                      20, "the rule's log")
    check(bool(logs) and logs[0].get("origin") == "vip-fast" and logs[0].get("status") == "success",
          "GET /api/automations/{id}/logs: %r" % logs)
    status, _, reply = node.request("GET", "/api/automations/logs?eventType=custom.trigger.vip&limit=10")
    check(status == 200 and reply.get("items"), "GET /api/automations/logs?eventType=: %s %r" % (status, reply))
    status, _, reply = node.request("GET", "/api/automations/logs")
    check(status == 400 and is_error(reply, 400, "MISSING_ATTRIBUTE"), "logs without eventType: 400: %s" % status)
    status, _, reply = node.request("POST", "/api/automations", {"triggerEventType": "a.b", "actions": [
        {"type": "webhook"}], "triggerConditions": [{"field": "data.x", "operator": "eqq", "value": 1}]})
    check(status == 400 and is_error(reply, 400, "INVALID_ATTRIBUTE") and "operator" in reply["error"],
          "a malformed rule is 400 naming the mistake: %s %r" % (status, reply))
    status, _, reply = node.request("DELETE", "/api/automations/vip-fast")
    check(status == 200 and reply.get("id") == "vip-fast", "DELETE: %s %r" % (status, reply))
    status, _, reply = node.request("GET", "/api/automations/vip-fast")
    check(status == 404 and is_error(reply, 404, "NOT_FOUND"), "GET after DELETE: 404: %s" % status)
    status, _, reply = node.request("POST", "/api/automations/vip-fast/enable")
    check(status == 404, "enable a deleted rule: 404: %s" % status)
    status, _, reply = node.request("GET", "/api/automations/bad%20id")
    check(status == 400 and is_error(reply, 400), "a malformed id is 400: %s %r" % (status, reply))


def test_deadletters(node):
    status, _, reply = node.request("GET", "/api/deadletters")
    check(status == 200 and reply.get("items") == [], "GET /api/deadletters, none: %s %r" % (status, reply))
    # A rule whose webhook may not reach loopback: dead at its first attempt
    rule = {"id": "doomed", "triggerEventType": "custom.trigger.doomed",
            "actions": [{"type": "webhook", "config": {"url": "http://127.0.0.1:9/hook"},
                         "retryPolicy": {"maxAttempts": 1}}]}
    status, _, reply = node.request("POST", "/api/automations", rule)
    check(status == 201, "the doomed rule: %s %r" % (status, reply))
    node.request("POST", "/api/events/trigger", {"eventType": "custom.trigger.doomed", "payload": {}})
    items = wait_until(lambda: node.request("GET", "/api/deadletters?origin=doomed")[2].get("items"),
                       30, "a dead letter")
    if not check(bool(items), "the run died"):
        return
    dead = items[0]["id"]
    status, _, reply = node.request("GET", "/api/deadletters/" + dead)
    check(status == 200 and reply.get("origin") == "doomed" and isinstance(reply.get("run"), dict),
          "GET /api/deadletters/{id}: %s %r" % (status, reply))
    status, _, reply = node.request("GET", "/api/deadletters?type=custom.trigger.&limit=1&since=0")
    check(status == 200 and len(reply.get("items", [])) == 1, "the filter: %s %r" % (status, reply))
    status, _, reply = node.request("POST", "/api/deadletters/%s/replay" % dead)
    check(status == 200 and reply.get("count") == 1 and reply.get("replayId"), "replay one: %s %r" % (status, reply))
    wait_until(lambda: node.request("GET", "/api/deadletters?origin=doomed")[2].get("items"), 30, "dead again")
    status, _, reply = node.request("POST", "/api/deadletters/replay", {"origin": "nobody"})
    check(status == 200 and reply.get("count") == 0, "replay by a filter matching nothing: %s %r" % (status, reply))
    status, _, reply = node.request("POST", "/api/deadletters/replay", {"limit": 0})
    check(status == 400 and is_error(reply, 400, "INVALID_ATTRIBUTE"), "a bad filter: 400: %s %r" % (status, reply))
    wait_until(lambda: node.request("GET", "/api/deadletters?origin=doomed")[2].get("items"), 30, "dead again")
    status, _, reply = node.request("DELETE", "/api/deadletters/" + dead)
    check(status == 200 and reply.get("count") == 1, "DELETE /api/deadletters/{id}: %s %r" % (status, reply))
    status, _, reply = node.request("GET", "/api/deadletters/" + dead)
    check(status == 404 and is_error(reply, 404, "NOT_FOUND"), "after DELETE: 404: %s" % status)
    status, _, reply = node.request("POST", "/api/deadletters/%s/replay" % ("0" * 32))
    check(status == 404, "replay no such dead letter: 404: %s" % status)
    status, _, reply = node.request("DELETE", "/api/deadletters/not-hex")
    check(status == 400 and is_error(reply, 400, "INVALID_ATTRIBUTE"), "a malformed id: 400: %s %r" % (status, reply))
    status, _, reply = node.request("GET", "/api/deadletters?limit=x")
    check(status == 400, "?limit=x: 400: %s" % status)


# ---------------------------------------------------------------------
#  Routes, errors, the OpenAPI document

EXPECTED_ROUTES = {
    ("post", "/webhooks/{source}"), ("post", "/api/events/trigger"), ("post", "/api/events"),
    ("get", "/api/events"), ("get", "/api/events/{sequence}"), ("get", "/api/events/types"),
    ("post", "/api/events/types"), ("get", "/api/events/types/{type}"),
    ("get", "/api/events/types/{type}/versions"), ("delete", "/api/events/types/{type}"),
    ("post", "/api/events/types/{type}/check"), ("put", "/api/events/types/{type}/compatibility"),
    ("put", "/api/events/types/{type}/validation"),
    ("get", "/api/automations"), ("post", "/api/automations"), ("get", "/api/automations/{id}"),
    ("put", "/api/automations/{id}"), ("delete", "/api/automations/{id}"),
    ("post", "/api/automations/{id}/enable"), ("post", "/api/automations/{id}/disable"),
    ("get", "/api/automations/{id}/logs"), ("get", "/api/automations/logs"),
    ("post", "/api/automations/{id}/test"), ("post", "/api/automations/{id}/backtest"),
    ("get", "/api/deadletters"), ("get", "/api/deadletters/{id}"), ("post", "/api/deadletters/{id}/replay"),
    ("post", "/api/deadletters/replay"), ("delete", "/api/deadletters/{id}"),
    ("get", "/api/webhooks"), ("get", "/api/webhooks/{source}"), ("put", "/api/webhooks/{source}"),
    ("delete", "/api/webhooks/{source}"),
    ("get", "/api/cron"), ("post", "/api/cron"), ("get", "/api/cron/{name}"), ("put", "/api/cron/{name}"),
    ("delete", "/api/cron/{name}"), ("post", "/api/cron/{name}/enable"),
    ("post", "/api/cron/{name}/disable"), ("post", "/api/cron/{name}/run"),
    ("get", "/api/openapi.json"), ("get", "/metrics"), ("get", "/healthz"), ("get", "/readyz"), ("get", "/"), ("get", "/api/stats"), ("get", "/ws")}


def test_routes(node):
    status, _, reply = node.request("GET", "/api/nothing")
    check(status == 404 and is_error(reply, 404, "UNKNOWN_ROUTE"), "an unknown route is 404: %s %r" % (status, reply))
    status, response, reply = node.request("DELETE", "/api/events")
    check(status == 405 and is_error(reply, 405, "METHOD_NOT_ALLOWED")
          and set(response.getheader("Allow", "").split(", ")) == {"POST", "GET"},
          "a wrong method is 405 with Allow: %s %r" % (status, response.getheader("Allow")))
    status, _, reply = node.request("GET", "/healthz")
    check(status == 200 and reply == {"ok": True}, "healthz: %s %r" % (status, reply))
    status, response, reply = node.request("GET", "/ws")
    check(status == 426 and is_error(reply, 426, "UPGRADE_REQUIRED") and response.getheader("Upgrade") == "websocket",
          "GET /ws without an Upgrade: 426: %s %r" % (status, reply))
    status, _, document = node.request("GET", "/api/openapi.json")
    check(status == 200 and document.get("openapi", "").startswith("3.1"), "openapi.json: %s" % status)
    operations = {(method, path) for path, item in document.get("paths", {}).items() for method in item}
    check(operations == EXPECTED_ROUTES, "the document lists exactly the routes: missing %r, extra %r"
          % (EXPECTED_ROUTES - operations, operations - EXPECTED_ROUTES))
    # Every operation the document names is served: never UNKNOWN_ROUTE or 405
    values = {"source": "plain", "sequence": "1", "type": "custom.trigger.order", "id": "nothing-here",
              "name": "nothing-here"}
    for method, path in sorted(operations):
        concrete = path
        for name, value in values.items():
            concrete = concrete.replace("{%s}" % name, value)
        if concrete == "/api/deadletters/nothing-here" or concrete.startswith("/api/deadletters/nothing-here/"):
            concrete = concrete.replace("nothing-here", "0" * 32)
        body = {} if method in ("post", "put") else None
        headers = {"X-Plain-Token": "t"} if path.startswith("/webhooks") else None
        status, _, reply = node.request(method.upper(), concrete, body, headers)
        check(status != 405 and not (status == 404 and isinstance(reply, dict) and reply.get("reason") == "UNKNOWN_ROUTE"),
              "%s %s is served: %s %r" % (method.upper(), concrete, status, reply))
        if path == "/":             # the console: HTML
            check(isinstance(reply, bytes) and reply.startswith(b"<!DOCTYPE html>"), "GET / is the console")
            continue
        check(isinstance(reply, (dict, list)) or concrete == "/metrics",
              "%s %s answers JSON: %r" % (method.upper(), concrete, reply))


# ---------------------------------------------------------------------
#  Cron, metrics, readiness

TRIGGER = {"name": "nightly-report", "schedule": "30 2 * * *", "timezone": "Europe/Paris",
           "payload": {"report": "daily"}, "catchUp": "once"}


def test_cron(node):
    status, _, reply = node.request("POST", "/api/cron", TRIGGER)
    check(status == 201 and reply.get("name") == "nightly-report" and reply.get("enabled") is True
          and reply.get("eventType") == "custom.cron.nightly-report" and reply.get("nextRun", "").endswith("Z"),
          "POST /api/cron: 201 with the defaults and nextRun: %s %r" % (status, reply))
    status, _, reply = node.request("POST", "/api/cron", TRIGGER)
    check(status == 409 and is_error(reply, 409, "ALREADY_EXISTS"), "POST of an existing name: 409: %s %r"
          % (status, reply))
    status, _, reply = node.request("GET", "/api/cron")
    check(status == 200 and [t["name"] for t in reply.get("items", [])] == ["nightly-report"],
          "GET /api/cron: %s %r" % (status, reply))
    status, _, reply = node.request("GET", "/api/cron/nightly-report")
    check(status == 200 and reply.get("timezone") == "Europe/Paris" and reply.get("catchUp") == "once",
          "GET /api/cron/{name}: %s %r" % (status, reply))
    changed = dict(TRIGGER, schedule="@hourly")
    del changed["name"]
    status, _, reply = node.request("PUT", "/api/cron/nightly-report", changed)
    check(status == 200 and reply.get("schedule") == "@hourly", "PUT replaces: 200: %s %r" % (status, reply))
    status, _, reply = node.request("PUT", "/api/cron/weekly", {"schedule": "@weekly"})
    check(status == 201 and reply.get("name") == "weekly", "PUT of a new name: 201: %s %r" % (status, reply))
    status, _, reply = node.request("PUT", "/api/cron/weekly", {"name": "other", "schedule": "@weekly"})
    check(status == 400 and is_error(reply, 400, "INVALID_ATTRIBUTE"), "PUT with another name: 400: %s" % status)
    status, _, reply = node.request("PUT", "/api/cron/bad", {"schedule": "61 * * * *"})
    check(status == 400 and is_error(reply, 400, "INVALID_ATTRIBUTE") and "minute" in reply["error"],
          "a bad schedule names its field: %s %r" % (status, reply))
    status, _, reply = node.request("PUT", "/api/cron/bad", {"schedule": "@daily", "timezone": "Mars/Olympus"})
    check(status == 400 and "Mars/Olympus" in reply.get("error", ""), "an unknown zone: 400: %s %r" % (status, reply))
    status, _, reply = node.request("POST", "/api/cron/nightly-report/run")
    check(status == 200 and isinstance(reply.get("lastRun"), str), "run now: %s %r" % (status, reply))
    events = wait_until(lambda: node.request("GET", "/api/events?type=custom.cron.nightly-report")[2].get("events"),
                        15, "the fired event in the log")
    check(len(events or []) == 1 and events[0].get("data") == {"report": "daily"}
          and events[0].get("source") == "cron/nightly-report"
          and events[0].get("idempotencykey", "").startswith("cron/nightly-report/"),
          "the firing is an event with its key: %r" % events)
    status, _, reply = node.request("POST", "/api/cron/nightly-report/disable")
    check(status == 200 and reply.get("enabled") is False, "disable: %s %r" % (status, reply))
    status, _, reply = node.request("POST", "/api/cron/nightly-report/enable")
    check(status == 200 and reply.get("enabled") is True, "enable: %s %r" % (status, reply))
    for method, path in (("GET", "/api/cron/nobody"), ("POST", "/api/cron/nobody/run"),
                         ("DELETE", "/api/cron/nobody"), ("POST", "/api/cron/nobody/enable")):
        status, _, reply = node.request(method, path)
        check(status == 404 and is_error(reply, 404, "NOT_FOUND"), "%s %s: 404: %s %r" % (method, path, status, reply))
    status, _, reply = node.request("POST", "/api/cron", b"not json", {"Content-Type": "application/json"})
    check(status == 400 and is_error(reply, 400), "a body not JSON: 400: %s" % status)
    for name in ("nightly-report", "weekly"):
        status, _, reply = node.request("DELETE", "/api/cron/" + name)
        check(status == 200 and reply.get("name") == name, "DELETE: %s %r" % (status, reply))
    check(node.request("GET", "/api/cron")[2].get("items") == [], "no trigger left")


def metrics(node):
    status, response, body = node.request("GET", "/metrics", raw=True)
    check(status == 200 and response.getheader("Content-Type", "").startswith("text/plain; version=0.0.4"),
          "/metrics: 200 in the text format: %s %r" % (status, response.getheader("Content-Type")))
    families = {f.name: f for f in text_string_to_metric_families(body.decode())}
    return body.decode(), families


def sample(families, name, **labels):
    family = families.get(name)
    for s in (family.samples if family else []):
        if all(s.labels.get(k) == v for k, v in labels.items()):
            return s.value
    return None


def test_metrics(node):
    text, families = metrics(node)
    # Every actor's counters, each family with # HELP and # TYPE
    for actor in ("ingest", "log", "registry", "outbox", "automation", "cron", "http"):
        check(any(name.startswith("zeb_%s_" % actor) for name in families), "/metrics has %s's counters" % actor)
    for actor in ("ingest", "log", "registry", "outbox", "automation", "cron"):
        check(sample(families, "zeb_%s_up" % actor) == 1, "zeb_%s_up is 1" % actor)
    names = set(re.findall(r"^(zeb_\w+)[{ ]", text, re.M))
    helped = set(re.findall(r"^# HELP (\w+) ", text, re.M))
    typed = dict(re.findall(r"^# TYPE (\w+) (\w+)$", text, re.M))
    check(names and names <= helped and names <= set(typed), "every sample's family has HELP and TYPE: %r"
          % sorted(names - helped - set(typed))[:5])
    check(all(t == "counter" for n, t in typed.items() if n.endswith("_total"))
          and all(t == "gauge" for n, t in typed.items() if not n.endswith("_total")),
          "counters end in _total, the rest are gauges")
    check(typed.get("zeb_ingest_stored_total") == "counter" and typed.get("zeb_ingest_store_count") == "gauge",
          "ingest's stored is a counter, the store's count a gauge")
    check(sample(families, "zeb_outbox_action_workers", action="webhook") is not None,
          "maps of entities are labels: %r" % families.get("zeb_outbox_action_workers"))
    # The counters move: one more event stored, one more request served
    before = sample(families, "zeb_ingest_stored")
    requests = sample(families, "zeb_http_requests")
    status, _, reply = node.request("POST", "/api/events/trigger", {"eventType": "custom.metrics.tick"})
    check(status == 201, "a trigger for the metrics: %s %r" % (status, reply))
    _, families = metrics(node)
    check(sample(families, "zeb_ingest_stored") == before + 1, "zeb_ingest_stored_total grew by one: %r -> %r"
          % (before, sample(families, "zeb_ingest_stored")))
    check(sample(families, "zeb_http_requests") >= requests + 2, "zeb_http_requests_total counts requests")
    # A refusal is counted by reason
    node.request("POST", "/api/events/trigger", {"eventType": "not a type"})
    _, families = metrics(node)
    reasons = {s.labels.get("reason") for s in families["zeb_ingest_nacks_by_reason"].samples} \
        if "zeb_ingest_nacks_by_reason" in families else set()
    check(bool(reasons), "NACKs by reason are labelled: %r" % reasons)


def test_readyz(node):
    status, response, reply = node.request("GET", "/readyz")
    check(status == 200 and reply.get("ready") is True and reply.get("started") is True
          and set(reply.get("actors", {})) == {"ingest", "log", "registry", "outbox", "automation", "cron"}
          and set(reply["actors"].values()) == {"up"}, "readyz: 200 with every actor up: %s %r" % (status, reply))


# ---------------------------------------------------------------------
#  Other nodes: tokens, no ingest, an open API that must not start

def test_tokens():
    node = Node(["http/tokens/reader/token=reader-token-0123456789",
                 "http/tokens/reader/scopes=read",
                 "http/tokens/writer/token=writer-token-0123456789",
                 "http/tokens/writer/scopes=publish,read",
                 "http/tokens/root/token=root-token-0123456789abc",
                 "http/tokens/root/scopes=admin",
                 "http/tokens/slow/token=slow-token-0123456789abcd",
                 "http/tokens/slow/rate=2", "http/tokens/slow/burst=3",
                 "http/webhooks/open/scheme=none"], actors="registry,ingest,log,http")
    try:
        node.welcome()
        node.connect()
        def auth(token):
            return {"Authorization": "Bearer " + token}
        status, response, reply = node.request("GET", "/api/events")
        check(status == 401 and is_error(reply, 401, "UNAUTHORIZED")
              and response.getheader("WWW-Authenticate") == "Bearer", "no token: 401: %s %r" % (status, reply))
        status, _, reply = node.request("GET", "/api/events", headers=auth("not-a-token-at-all"))
        check(status == 401, "an unknown token: 401: %s" % status)
        status, _, reply = node.request("GET", "/api/events", headers=auth("reader-token-0123456789"))
        check(status == 200, "read scope reads: %s %r" % (status, reply))
        status, _, reply = node.request("POST", "/api/events/trigger", {"eventType": "a.b"},
                                        auth("reader-token-0123456789"))
        check(status == 403 and is_error(reply, 403, "FORBIDDEN") and "publish" in reply["error"],
              "read scope may not publish: %s %r" % (status, reply))
        status, _, reply = node.request("POST", "/api/events/trigger", {"eventType": "a.b"},
                                        auth("writer-token-0123456789"))
        check(status == 201, "publish scope publishes: %s %r" % (status, reply))
        status, _, reply = node.request("POST", "/api/events/types", {"eventType": "a.b", "schema": {}},
                                        auth("writer-token-0123456789"))
        check(status == 403, "publish scope may not register: %s" % status)
        status, _, reply = node.request("POST", "/api/events/types", {"eventType": "a.b", "schema": {}},
                                        auth("root-token-0123456789abc"))
        check(status == 201, "admin registers: %s %r" % (status, reply))
        status, _, reply = node.request("POST", "/webhooks/open", b"{}", {"Content-Type": "application/json"})
        check(status == 200, "webhooks need no token: %s %r" % (status, reply))
        status, _, reply = node.request("GET", "/api/openapi.json")
        check(status == 200, "the document needs no token: %s" % status)
        # No automations or outbox in this node: 503, not a crash
        status, response, reply = node.request("GET", "/api/automations", headers=auth("root-token-0123456789abc"))
        check(status == 503 and is_error(reply, 503) and response.getheader("Retry-After"),
              "no automations in the node: 503: %s %r" % (status, reply))
        # A token over its rate: its burst passes, then 429 with Retry-After;
        # other tokens are not limited; the bucket refills
        statuses = []
        for _ in range(6):
            status, response, reply = node.request("GET", "/api/events/types", headers=auth("slow-token-0123456789abcd"))
            statuses.append(status)
            if status == 429:
                limited = (response, reply)
        check(statuses[:3] == [200, 200, 200] and 429 in statuses[3:], "burst 3, then 429: %r" % statuses)
        if 429 in statuses:
            response, reply = limited
            check(is_error(reply, 429, "RATE_LIMITED") and "slow" in reply["error"]
                  and int(response.getheader("Retry-After", "0")) >= 1, "429 names the token, with Retry-After: %r" % reply)
        status, _, _ = node.request("GET", "/api/events/types", headers=auth("reader-token-0123456789"))
        check(status == 200, "another token is not limited: %s" % status)
        wait_until(lambda: node.request("GET", "/api/events/types", headers=auth("slow-token-0123456789abcd"))[0] == 200,
                   10, "the slow token's bucket to refill")
        # readyz: this node runs no outbox, automations or cron: not asked
        status, _, reply = node.request("GET", "/readyz")
        check(status == 200 and set(reply.get("actors", {})) == {"ingest", "log", "registry"},
              "readyz asks the actors the node runs: %s %r" % (status, reply))
    finally:
        node.stop()


def healthy(node):
    try:
        return node.request("GET", "/healthz")[0] == 200
    except OSError:
        node.conn.close()
        return False


def test_unreachable():
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))         # bound, never listening: nothing answers
    # Only the gateway, its ingest a port where nothing answers; its own
    # port picked here, as no WELCOME can name it
    node = Node(["http/ingest=tcp://127.0.0.1:%d" % dead.getsockname()[1], "http/publish_timeout=300ms",
                 "http/webhooks/open/scheme=none"], actors="http", http_port=free_ports(1)[0])
    try:
        node.connect()
        wait_until(lambda: healthy(node), 15, "the gateway")
        status, response, reply = node.request("POST", "/webhooks/open", b'{"a": 1}',
                                               {"Content-Type": "application/json"})
        check(status == 503 and is_error(reply, 503) and response.getheader("Retry-After") == "1",
              "ingest unreachable: 503 with Retry-After: %s %r" % (status, reply))
        status, _, reply = node.request("POST", "/api/events/trigger", {"eventType": "a.b"})
        check(status == 503, "trigger, ingest unreachable: 503: %s" % status)
        status, _, reply = node.request("GET", "/healthz")
        check(status == 200, "the gateway still serves: %s" % status)
        status, response, reply = node.request("GET", "/readyz")
        check(status == 503 and reply.get("ready") is False and reply.get("actors", {}).get("ingest") != "up"
              and response.getheader("Retry-After"), "readyz, ingest unreachable: 503: %s %r" % (status, reply))
        status, _, body = node.request("GET", "/metrics", raw=True)
        families = {f.name: f for f in text_string_to_metric_families(body.decode())}
        check(status == 200 and sample(families, "zeb_ingest_up") == 0,
              "metrics, ingest unreachable: zeb_ingest_up 0: %s" % status)
    finally:
        node.stop()
        dead.close()


def test_open_refused():
    data = tempfile.mkdtemp(prefix="zeb-http-open-")
    try:
        r = subprocess.run([ZEBD, "--data", data, "--set", "node/actors=http",
                            "--set", "http/endpoint=0.0.0.0:0"], capture_output=True, text=True, timeout=30)
        check(r.returncode != 0 and "http/tokens" in r.stdout + r.stderr,
              "an open API on 0.0.0.0 does not start: %d %s" % (r.returncode, r.stderr))
        r = subprocess.run([ZEBD, "--data", data, "--set", "node/actors=http",
                            "--set", "http/endpoint=127.0.0.1:99999"], capture_output=True, text=True, timeout=30)
        check(r.returncode != 0 and "http/endpoint" in r.stdout + r.stderr, "a bad endpoint: %s" % r.stderr)
        r = subprocess.run([ZEBD, "--data", data, "--set", "node/actors=http",
                            "--set", "http/webhooks/gh/scheme=github"], capture_output=True, text=True, timeout=30)
        check(r.returncode != 0 and "secret" in r.stdout + r.stderr, "a scheme without a secret: %s" % r.stderr)
    finally:
        shutil.rmtree(data, ignore_errors=True)


def main():
    settings = [
        "ingest/validation=enforce",
        "http/max_body=64KiB",
        "http/webhooks/github/scheme=github",
        "http/webhooks/github/secret=" + GITHUB_SECRET,
        "http/webhooks/github/secret2=the-old-github-secret",
        "http/webhooks/stripe/scheme=stripe",
        "http/webhooks/stripe/secret=" + STRIPE_SECRET,
        "http/webhooks/svix/scheme=standard",
        "http/webhooks/svix/secret=" + STANDARD_SECRET,
        "http/webhooks/shop/scheme=hmac",
        "http/webhooks/shop/secret=" + HMAC_SECRET,
        "http/webhooks/shop/header=X-Shop-Hmac-Sha256",
        "http/webhooks/shop/encoding=base64",
        "http/webhooks/hexshop/scheme=hmac",
        "http/webhooks/hexshop/secret=" + HMAC_SECRET,
        "http/webhooks/hexshop/prefix=sha256=",
        "http/webhooks/plain/scheme=none",
        "http/webhooks/plain/required_headers=X-Plain-Token",
        "http/webhooks/plain/max_body=1KiB",
        "outbox/worker_expiry=60s",
    ]
    started = time.monotonic()
    node = Node(settings)
    try:
        welcome = node.welcome()
        check(isinstance(node.url, str) and node.url.startswith("http://127.0.0.1:"),
              "WELCOME names the gateway: %r" % welcome)
        node.connect()
        run_each((test_github, test_stripe, test_standard, test_hmac, test_webhook_refusals,
                  test_types, test_trigger, test_events, test_automations, test_deadletters,
                  test_cron, test_metrics, test_readyz, test_routes), node)
    finally:
        status = node.stop()
        check(status == 0, "zebd exits 0 on SIGTERM: %s" % status)
    run_each((test_sources, test_tokens, test_unreachable, test_open_refused))
    finish(started)


if __name__ == "__main__":
    main()
