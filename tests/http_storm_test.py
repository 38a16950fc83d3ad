"""A webhook storm: 10,000 signed GitHub deliveries over 50 keep-alive
connections at once, a tenth of them sent twice (the sender retrying).

usage: /usr/bin/python3 http_storm_test.py /path/to/zebd

Every delivery answered 200 must be in the log exactly once, under its
X-GitHub-Delivery (idempotencykey webhook/github/DELIVERY); the retries are answered 200 too and
stored no second time; nothing else is in the log. The log is read back
through GET /api/events, page by page.
"""

import http.client
import json
import sys
import threading
import time
import uuid

import http_test as h

DELIVERIES = 10000
CONNECTIONS = 50


def sender(url, deliveries, results, failures):
    host, port = url[len("http://"):].rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    for delivery, body in deliveries:
        headers = {"Content-Type": "application/json", "X-GitHub-Event": "push",
                   "X-GitHub-Delivery": delivery, "X-Hub-Signature-256": h.github_sign(body)}
        for attempt in range(3):
            try:
                conn.request("POST", "/webhooks/github", body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                results.append((delivery, response.status))
                break
            except (http.client.HTTPException, OSError) as error:
                conn.close()
                conn = http.client.HTTPConnection(host, int(port), timeout=30)
                if attempt == 2:
                    failures.append("%s: %r" % (delivery, error))
    conn.close()


def read_log(node, kind):
    """Every event of type kind, by GET /api/events pages"""
    events, start = [], 1
    while True:
        status, _, reply = node.request("GET", "/api/events?type=%s&from=%d&limit=1000" % (kind, start))
        if not h.check(status == 200, "GET /api/events: %s %r" % (status, reply)):
            return events
        events += reply["events"]
        if not reply["events"] or reply["next"] > reply["last"]:
            return events
        start = reply["next"]


def main():
    node = h.Node(["http/webhooks/github/scheme=github", "http/webhooks/github/secret=" + h.GITHUB_SECRET,
                   "http/threads=64", "http/keep_alive=30s"],
                  actors="ingest,log,http")
    started = time.monotonic()
    try:
        node.welcome()
        node.connect()
        deliveries = []
        for index in range(DELIVERIES):
            body = json.dumps({"ref": "refs/heads/main", "index": index,
                               "after": uuid.uuid4().hex}).encode()
            deliveries.append((str(uuid.uuid4()), body))
        retried = deliveries[::10]
        plan = [[] for _ in range(CONNECTIONS)]
        for index, item in enumerate(deliveries + retried):
            plan[index % CONNECTIONS].append(item)
        results, failures = [], []
        threads = [threading.Thread(target=sender, args=(node.url, part, results, failures)) for part in plan]
        t0 = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - t0
        statuses = {}
        for _, status in results:
            statuses[status] = statuses.get(status, 0) + 1
        print(" * %d requests on %d connections in %.1f s (%.0f/s): %r"
              % (len(results), CONNECTIONS, elapsed, len(results) / elapsed, statuses))
        h.check(not failures, "every request answered: %r" % failures[:3])
        acked = {delivery for delivery, status in results if status == 200}
        h.check(len(results) == DELIVERIES + len(retried) and statuses.get(200) == len(results),
                "every delivery and retry answered 200: %r" % statuses)
        events = read_log(node, "custom.webhook.github")
        prefix = "webhook/github/"
        keys = [e.get("idempotencykey", "")[len(prefix):] for e in events
                if e.get("idempotencykey", "").startswith(prefix)]
        h.check(len(keys) == len(events), "each event's key is webhook/github/DELIVERY")
        h.check(len(keys) == len(set(keys)), "no delivery stored twice: %d events, %d keys"
                % (len(keys), len(set(keys))))
        h.check(acked <= set(keys), "every acknowledged delivery is in the log: %d missing"
                % len(acked - set(keys)))
        h.check(set(keys) <= {d for d, _ in deliveries}, "nothing else is in the log")
        sequences = [e.get("sequence") for e in events]
        h.check(sequences == list(range(1, len(events) + 1)), "sequences 1..N without a gap")
        payloads = {e["idempotencykey"][len(prefix):]: e["data"]["index"] for e in events}
        h.check(all(payloads.get(d) == json.loads(b)["index"] for d, b in deliveries),
                "each event holds its delivery's body")
        status, _, reply = node.request("GET", "/metrics", raw=True)
        text = reply.decode() if isinstance(reply, bytes) else ""
        h.check("zeb_http_webhooks_duplicate_total{node=" in text, "the duplicates are counted")
    finally:
        status = node.stop()
        h.check(status == 0, "zebd exits 0 on SIGTERM: %s" % status)
    if h.FAILURES:
        print("FAILED: %d checks (%.1f s)" % (len(h.FAILURES), time.monotonic() - started))
        sys.exit(1)
    print("OK (%.1f s)" % (time.monotonic() - started))


if __name__ == "__main__":
    main()
