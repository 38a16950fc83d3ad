"""The gateway's WebSockets (GET /ws) from outside the process.

usage: /usr/bin/python3 ws_test.py /path/to/zebd

Starts zebd on ports of its own (tests/http_test.py's Node) and talks to
/ws with python3-websocket: seed 001's messages exactly (connected,
subscribe, subscribed, message, unsubscribe, ping, pong, disconnect),
errors for bad messages, prefix channels and explicit channels, tokens
(401, 403, a token's channels), the idle timeout, a slow client sent
`lagged` and disconnected, resume with fromSequence without gap or
duplicate while events keep coming, across a SIGKILL of zebd and a
restart on the same data, and two gateways (the second zebd runs only
the http actor against the first one's ingest) delivering the same
events. No fixed sleeps: every wait is a condition with a deadline.
"""

import contextlib
import json
import os
import select
import socket
import subprocess
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import http_test                                        # noqa: E402
from http_test import Node, check, free_ports, wait_until, run_each, finish  # noqa: E402
import websocket                                        # noqa: E402

READER = "reader-token-0123456789"
PUBLISHER = "publisher-token-0123456789"


@contextlib.contextmanager
def own_node(settings=()):
    """A zebd of its own for one test: welcomed, connected, stopped after
    (and checked to exit 0)"""
    node = Node(list(settings))
    try:
        node.welcome()
        node.connect()
        yield node
    finally:
        check(node.stop() == 0, "zebd exits 0 on SIGTERM")


def ws_url(node, query=""):
    return "ws" + node.url[len("http"):] + "/ws" + query


def connect(node, query="", header=None, **options):
    """A WebSocket to node, and its `connected` message; while the
    gateway's feed has not reached the log (503), again, for 15 s"""
    deadline = time.monotonic() + 15
    while True:
        try:
            ws = websocket.create_connection(ws_url(node, query), timeout=10, header=header or [], **options)
            break
        except websocket.WebSocketBadStatusException as error:
            if error.status_code != 503 or time.monotonic() > deadline:
                raise
            time.sleep(0.02)            # polling a condition, as wait_until does
    hello = json.loads(ws.recv())
    return ws, hello


def send(ws, message):
    ws.send(json.dumps(message) if isinstance(message, dict) else message)


def recv(ws, timeout=10):
    """The next message as JSON; None when the connection closed or on timeout"""
    ws.settimeout(timeout)
    try:
        opcode, data = ws.recv_data()
    except (websocket.WebSocketTimeoutException, websocket.WebSocketConnectionClosedException,
            ConnectionError, OSError):
        return None
    if opcode == websocket.ABNF.OPCODE_CLOSE:
        return None
    return json.loads(data)


def publish(node, events):
    """POST /api/events (a batch); the sequences stored"""
    body = [dict({"specversion": "1.0", "source": "ws-test"}, **event) for event in events]
    status, _, reply = node.request("POST", "/api/events", body, {"Content-Type": "application/json"})
    check(status in (200, 201), "publish: %s %r" % (status, reply))
    return reply


def stats(node):
    status, _, body = node.request("GET", "/api/stats")
    return body.get("ws", {}) if status == 200 and isinstance(body, dict) else {}


def last_sequence(node):
    return http_test.last_sequence(node)


def collect(ws, until, timeout=30):
    """Event messages' sequences until one is >= until (or timeout)"""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = recv(ws, max(0.1, deadline - time.monotonic()))
        if message is None:
            break
        if message.get("type") == "message":
            seen.append(message["data"]["sequence"])
            if seen[-1] >= until:
                break
    return seen


# ---------------------------------------------------------------------

def test_protocol(node):
    ws, hello = connect(node)
    check(hello.get("type") == "connected" and isinstance(hello.get("connectionId"), str)
          and len(hello["connectionId"]) == 36 and "userId" in hello, "connected: %r" % hello)
    send(ws, {"action": "subscribe", "channel": "proto.event"})
    reply = recv(ws)
    check(reply == {"type": "subscribed", "channel": "proto.event"}, "subscribed: %r" % reply)
    send(ws, {"action": "ping"})
    reply = recv(ws)
    check(reply and reply.get("type") == "pong" and isinstance(reply.get("timestamp"), int)
          and abs(reply["timestamp"] - time.time() * 1000) < 60000, "pong: %r" % reply)
    stored = publish(node, [{"type": "proto.event", "id": "p1", "data": {"n": 1}}])
    reply = recv(ws)
    check(reply and reply.get("type") == "message" and reply.get("channel") == "proto.event"
          and reply["data"].get("id") == "p1" and reply["data"].get("data") == {"n": 1}
          and reply["data"].get("sequence") == stored.get("sequence")
          and reply["data"].get("specversion") == "1.0", "message: %r" % reply)
    # Bad messages: an error each, and the connection goes on
    for bad, reason in (("not json", "MALFORMED"), ("[1,2]", "MALFORMED"), ({"no": "action"}, "MALFORMED"),
                        ({"action": "dance"}, "UNKNOWN_ACTION"),
                        ({"action": "subscribe"}, "INVALID_ATTRIBUTE"),
                        ({"action": "subscribe", "channel": "a*b"}, "INVALID_ATTRIBUTE"),
                        ({"action": "subscribe", "channel": "x.y", "fromSequence": -1}, "INVALID_ATTRIBUTE"),
                        ({"action": "subscribe", "channel": "x.y", "fromSequence": "1"}, "INVALID_ATTRIBUTE")):
        send(ws, bad)
        reply = recv(ws)
        check(reply and reply.get("type") == "error" and reply.get("code") == 400
              and reply.get("reason") == reason and isinstance(reply.get("error"), str),
              "error for %r: %r" % (bad, reply))
    ws.send_binary(b"\x00\x01")
    reply = recv(ws)
    check(reply and reply.get("type") == "error", "binary: an error: %r" % reply)
    send(ws, {"action": "unsubscribe", "channel": "proto.event"})
    reply = recv(ws)
    check(reply == {"type": "unsubscribed", "channel": "proto.event"}, "unsubscribed: %r" % reply)
    # After unsubscribe, nothing of that channel: a ping's pong comes first
    publish(node, [{"type": "proto.event", "id": "p2"}])
    wait_until(lambda: stats(node).get("events_in", 0) >= 2, 10, "the feed saw the second event")
    send(ws, {"action": "ping"})
    reply = recv(ws)
    check(reply and reply.get("type") == "pong", "nothing after unsubscribe: %r" % reply)
    send(ws, {"action": "disconnect"})
    check(recv(ws) is None, "disconnect closes the connection")
    ws.close()
    check(stats(node).get("bad_messages", 0) >= 9, "bad messages counted: %r" % stats(node))
    status, _, _ = node.request("GET", "/healthz")
    check(status == 200, "the node serves on after bad messages")


def test_channels(node):
    ws, _ = connect(node)
    send(ws, {"action": "subscribe", "channel": "shop.*"})
    recv(ws)
    other, _ = connect(node)
    send(other, {"action": "subscribe", "channel": "org:abc123"})
    recv(other)
    every, _ = connect(node)
    send(every, {"action": "subscribe", "channel": "*"})
    recv(every)
    # Both patterns of one connection match: sent once
    send(ws, {"action": "subscribe", "channel": "shop.order.placed"})
    recv(ws)
    first = publish(node, [
        {"type": "shop.order.placed", "id": "c1"},
        {"type": "user.signed.up", "id": "c2"},
        {"type": "resource.updated", "id": "c3", "channel": "org:abc123"},
        {"type": "shop.order.shipped", "id": "c4"},
        {"type": "shopping.cart", "id": "c5"}])["sequence"]
    got = collect(ws, first + 3)
    check(got == [first, first + 3], "shop.* gets shop.order.placed once and shop.order.shipped: %r" % got)
    message = recv(other)
    check(message and message.get("channel") == "org:abc123" and message["data"]["id"] == "c3"
          and message["data"]["channel"] == "org:abc123", "an explicit channel: %r" % message)
    got = collect(every, first + 4)
    check(got == list(range(first, first + 5)), "* gets every event: %r" % got)
    for connection in (ws, other, every):
        connection.close()


def test_resume_live(node):
    """fromSequence while events keep coming: no gap, no duplicate"""
    base = publish(node, [{"type": "resume.event", "id": "r%d" % i} for i in range(300)])["sequence"]
    stop = threading.Event()

    def producer():
        n = 0
        while not stop.is_set() and n < 40:
            client = Node.__new__(Node)
            client.url, client.conn = node.url, None
            client.connect()
            publish(client, [{"type": "resume.event", "id": "live%d-%d" % (n, i)} for i in range(50)])
            client.conn.close()
            n += 1

    thread = threading.Thread(target=producer)
    thread.start()
    ws, _ = connect(node)
    send(ws, {"action": "subscribe", "channel": "resume.*", "fromSequence": base + 10})
    reply = recv(ws)
    check(reply == {"type": "subscribed", "channel": "resume.*", "fromSequence": base + 10},
          "subscribed with fromSequence: %r" % reply)
    thread.join()
    stop.set()
    end = last_sequence(node)
    got = collect(ws, end, 60)
    check(got == list(range(base + 10, end + 1)),
          "replay then live, in order, once each: %d events, first %r last %r (wanted %d..%d)"
          % (len(got), got[:1], got[-1:], base + 10, end))
    check(stats(node).get("replayed", 0) > 0, "some came from the log")
    ws.close()


def test_tokens():
    node = Node(["http/tokens/reader/token=" + READER, "http/tokens/reader/scopes=read",
                 "http/tokens/reader/channels=order.*,audit.log",
                 "http/tokens/publisher/token=" + PUBLISHER, "http/tokens/publisher/scopes=publish"])
    try:
        node.welcome()
        for query, header, status in (("", None, 401), ("?token=wrong-token-0123456789", None, 401),
                                      ("?token=" + PUBLISHER, None, 403),
                                      ("", ["Authorization: Bearer " + PUBLISHER], 403)):
            try:
                connect(node, query, header)
                check(False, "a WebSocket without a read token is refused (%s)" % status)
            except websocket.WebSocketBadStatusException as error:
                check(error.status_code == status, "refused %s: %s" % (status, error.status_code))
        ws, hello = connect(node, header=["Authorization: Bearer " + READER])
        check(hello.get("userId") == "reader", "userId is the token's name: %r" % hello)
        ws.close()
        ws, _ = connect(node, "?token=" + READER)
        for channel, allowed in (("order.placed", True), ("order.eu.*", True), ("audit.log", True),
                                 ("*", False), ("user.created", False), ("order*", False)):
            send(ws, {"action": "subscribe", "channel": channel})
            reply = recv(ws)
            if allowed:
                check(reply == {"type": "subscribed", "channel": channel}, "%s allowed: %r" % (channel, reply))
            else:
                check(reply and reply.get("type") == "error" and reply.get("code") == 403
                      and reply.get("reason") == "FORBIDDEN", "%s forbidden: %r" % (channel, reply))
        ws.close()
    finally:
        check(node.stop() == 0, "zebd exits 0 on SIGTERM")


def test_idle_timeout():
    with own_node(["http/ws/idle_timeout=1s"]) as node:
        # A client that pings keeps its connection past the timeout
        talker, _ = connect(node)
        started = time.monotonic()
        alive = True
        while alive and time.monotonic() - started < 2.5:
            send(talker, {"action": "ping"})
            reply = recv(talker, 5)
            alive = reply is not None and reply.get("type") == "pong"
        check(alive, "a client that pings is not closed as idle")
        # A silent one (it does not even answer the gateway's pings) is
        # closed; the talker goes on pinging meanwhile
        silent, _ = connect(node)
        started = time.monotonic()
        raw = silent.sock
        closed = False
        while time.monotonic() - started < 15 and not closed and alive:
            send(talker, {"action": "ping"})
            reply = recv(talker, 5)
            alive = reply is not None and reply.get("type") == "pong"
            readable, _, _ = select.select([raw], [], [], 0.2)
            if readable:
                try:
                    data = raw.recv(65536)
                except OSError:
                    data = b""
                closed = data == b""
        elapsed = time.monotonic() - started
        check(closed and 0.8 < elapsed < 10, "a silent client is closed after the idle timeout: %s in %.1f s"
              % (closed, elapsed))
        check(alive, "the talker, pinging, was kept open meanwhile")
        talker.close()
        wait_until(lambda: stats(node).get("open") == 0, 10, "both connections gone")


def test_lagged():
    with own_node(["http/ws/queue=256", "http/ws/lag_grace=60s"]) as node:
        slow, _ = connect(node, sockopt=((socket.SOL_SOCKET, socket.SO_RCVBUF, 4096),))
        send(slow, {"action": "subscribe", "channel": "*"})
        check(recv(slow) == {"type": "subscribed", "channel": "*"}, "the slow client subscribed")
        fast, _ = connect(node)
        send(fast, {"action": "subscribe", "channel": "*"})
        recv(fast)
        padding = "x" * 4000
        deadline = time.monotonic() + 60
        published = 0
        while stats(node).get("lagged", 0) == 0 and time.monotonic() < deadline:
            publish(node, [{"type": "lag.event", "data": {"pad": padding}} for _ in range(100)])
            published += 100
            got = 0
            while got < 100:                # the fast client keeps up
                message = recv(fast)
                if message is None:
                    break
                got += message.get("type") == "message"
        check(stats(node).get("lagged", 0) == 1, "the slow client lagged (after %d events)" % published)
        # It reads now: events, then lagged, then the close
        notice, events, last = None, 0, 0
        while True:
            message = recv(slow, 20)
            if message is None:
                break
            if message.get("type") == "message":
                events += 1
                check(message["data"]["sequence"] > last, "in order")
                last = message["data"]["sequence"]
            elif message.get("type") == "lagged":
                notice = message
        check(notice is not None and isinstance(notice.get("lastSequence"), int)
              and notice["lastSequence"] <= last and notice.get("queue") == 256,
              "lagged notice: %r (last event %d, %d events)" % (notice, last, events))
        check(events < published, "the slow client did not get everything: %d of %d" % (events, published))
        wait_until(lambda: stats(node).get("open") == 1, 20, "the slow connection closed")
        # The fast one was not held up
        publish(node, [{"type": "lag.after", "id": "after"}])
        message = None
        while message is None or message.get("type") != "message" or message["data"]["type"] != "lag.after":
            message = recv(fast)
            if message is None:
                break
        check(message is not None, "the fast client goes on after the slow one lagged")
        fast.close()


def test_stuck():
    """A client that never reads: lagged, and cut http/ws/lag_grace after
    (not CivetWeb's 30 s write timeout); the others are served meanwhile"""
    with own_node(["http/ws/queue=64", "http/ws/lag_grace=500ms"]) as node:
        stuck, _ = connect(node, sockopt=((socket.SOL_SOCKET, socket.SO_RCVBUF, 4096),))
        send(stuck, {"action": "subscribe", "channel": "*"})
        recv(stuck)
        fast, _ = connect(node)
        send(fast, {"action": "subscribe", "channel": "*"})
        recv(fast)
        deadline = time.monotonic() + 60
        while stats(node).get("lagged", 0) == 0 and time.monotonic() < deadline:
            last = publish(node, [{"type": "stuck.event", "data": {"pad": "z" * 4000}} for _ in range(50)])
            collect(fast, last["sequence"] + 49)
        lagged = time.monotonic()
        check(wait_until(lambda: stats(node).get("cut") == 1 and stats(node).get("open") == 1, 10,
                         "the stuck connection cut"), "the stuck client was cut: %r" % stats(node))
        check(time.monotonic() - lagged < 10, "cut well before CivetWeb's write timeout")
        last = publish(node, [{"type": "stuck.after"}])["sequence"]
        check(collect(fast, last)[-1:] == [last], "the other client is served on")
        stuck.close()
        fast.close()


def test_bus_gaps():
    """The bus drops events for the gateway (bus/hwm 10): the feed fetches
    them from the log, in the middle of a burst and at its end"""
    with own_node(["bus/hwm=10", "http/ws/queue=100000"]) as node:
        ws, _ = connect(node)
        send(ws, {"action": "subscribe", "channel": "*"})
        recv(ws)
        first = None
        for _ in range(10):
            reply = publish(node, [{"type": "gap.event", "data": {"pad": "y" * 200}} for _ in range(500)])
            first = first or reply["sequence"]
        last = last_sequence(node)
        got = collect(ws, last, 60)
        check(got == list(range(first, last + 1)), "every event once, in order, though the bus dropped some: "
              "%d of %d" % (len(got), last - first + 1))
        counters = stats(node)
        check(counters.get("gaps_repaired", 0) > 0 and counters.get("events_missed") == 0,
              "the gaps were fetched from the log: %r" % counters)
        ws.close()


def test_resume_restart():
    """fromSequence across a SIGKILL of zebd and a restart on the same data"""
    node = Node()
    try:
        node.welcome()
        node.connect()
        ws, _ = connect(node)
        send(ws, {"action": "subscribe", "channel": "*"})
        recv(ws)
        first = publish(node, [{"type": "crash.event", "id": "k%d" % i} for i in range(50)])["sequence"]
        got = collect(ws, first + 49)
        check(got == list(range(first, first + 50)), "before the crash: %r" % got[-3:])
        node.process.kill()
        node.process.wait()
        ws.close()
        node.conn.close()
        node.process = subprocess.Popen(node.process.args, stdout=node.log, stderr=subprocess.STDOUT)
        node.welcome()
        node.connect()
        more = publish(node, [{"type": "crash.event", "id": "m%d" % i} for i in range(50)])["sequence"]
        check(more == first + 50, "the log went on after the restart: %s" % more)
        ws, _ = connect(node)
        send(ws, {"action": "subscribe", "channel": "crash.*", "fromSequence": got[-1] + 1})
        recv(ws)
        later = publish(node, [{"type": "crash.event", "id": "l%d" % i} for i in range(10)])["sequence"]
        resumed = collect(ws, later + 9)
        check(resumed == list(range(got[-1] + 1, later + 10)),
              "resumed after the restart, no gap or duplicate: %r..%r" % (resumed[:2], resumed[-2:]))
        ws.close()
    finally:
        check(node.stop() == 0, "zebd exits 0 on SIGTERM")


def test_two_gateways(node):
    port = free_ports(1)[0]
    second = Node(["http/ingest=" + node.ingest], actors="http", http_port=port)
    try:
        wait_until(lambda: second.process.poll() is not None or healthy(second), 15, "the second gateway")
        second.connect()
        clients = []
        for gateway in (node, second):
            ws, _ = connect(gateway)
            send(ws, {"action": "subscribe", "channel": "two.*"})
            check((recv(ws) or {}).get("type") == "subscribed", "subscribed on both gateways")
            clients.append(ws)
        first = publish(node, [{"type": "two.event", "id": "g1-%d" % i} for i in range(20)])["sequence"]
        last = publish(second, [{"type": "two.event", "id": "g2-%d" % i} for i in range(20)])["sequence"] + 19
        seen = [collect(ws, last) for ws in clients]
        check(seen[0] == seen[1] == list(range(first, last + 1)),
              "both gateways deliver the same events: %d and %d" % (len(seen[0]), len(seen[1])))
        for ws in clients:
            ws.close()
    finally:
        check(second.stop() == 0, "the second zebd exits 0 on SIGTERM")


def test_gateway_outlives_node():
    """The second gateway's clients stay connected while the first zebd is
    SIGKILLed and restarted; the events published after the restart reach
    them, none lost (the feed reconnects and fetches what the bus missed)"""
    with own_node() as node:
        port = free_ports(1)[0]
        second = Node(["http/ingest=" + node.ingest], actors="http", http_port=port)
        try:
            wait_until(lambda: second.process.poll() is not None or healthy(second), 15, "the second gateway")
            ws, _ = connect(second)
            send(ws, {"action": "subscribe", "channel": "outlive.*"})
            recv(ws)
            first = publish(node, [{"type": "outlive.event", "id": "o%d" % i} for i in range(10)])["sequence"]
            got = collect(ws, first + 9)
            node.process.kill()
            node.process.wait()
            node.conn.close()
            node.process = subprocess.Popen(node.process.args, stdout=node.log, stderr=subprocess.STDOUT)
            node.welcome()
            node.connect()
            last = publish(node, [{"type": "outlive.event", "id": "p%d" % i} for i in range(10)])["sequence"] + 9
            got += collect(ws, last, 60)
            check(got == list(range(first, last + 1)), "across the first zebd's restart, every event once: "
                  "%d of %d" % (len(got), last - first + 1))
            ws.close()
        finally:
            check(second.stop() == 0, "the second zebd exits 0 on SIGTERM")


def healthy(node):
    """The gateway serves (GET /healthz answers 200)"""
    try:
        with urllib.request.urlopen(node.url + "/healthz", timeout=2) as reply:
            return reply.status == 200
    except OSError:
        return False


def main():
    started = time.monotonic()
    node = Node()
    try:
        node.welcome()
        node.connect()
        run_each((test_protocol, test_channels, test_resume_live, test_two_gateways), node)
    finally:
        status = node.stop()
        check(status == 0, "zebd exits 0 on SIGTERM: %s" % status)
    run_each((test_tokens, test_idle_timeout, test_lagged, test_stuck, test_bus_gaps, test_resume_restart,
              test_gateway_outlives_node))
    finish(started)

if __name__ == "__main__":
    main()
