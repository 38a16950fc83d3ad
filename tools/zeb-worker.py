#!/usr/bin/python3
"""zeb-worker: an example worker process for the outbox (docs/PROTOCOL.md,
section 4b, "Workers"), serving the seed's custom actions send_message and
trigger_agent.

    tools/zeb-worker.py tcp://127.0.0.1:7705 [--credit N] [--fail-to NUMBER]

It connects a DEALER to the outbox's workers endpoint, says READY with
its actions and credit, pings every second (and says READY again when the
outbox does not know it: it restarted), performs each JOB and answers
RESULT. send_message needs config {to, content} and "sends" by printing one
JSON line to stdout; trigger_agent needs config {agent?, priority?} and
prints likewise. A job whose config is wrong fails for good; a message to
the number given with --fail-to fails with "retry" (a destination that is
down), so the outbox's retries can be watched. Every line carries the
job's stable key: a receiver deduplicates on it.
"""

import argparse
import json
import sys
import time

import msgpack
import zmq

ACTIONS = ["send_message", "trigger_agent"]


def perform(job, fail_to):
    """(status, result or None, error or None) for one JOB"""
    config = job.get("config") or {}
    event = job.get("event") or {}
    line = {"key": job.get("key"), "attempt": job.get("attempt"), "action": job.get("action"),
            "event": event.get("id"), "type": event.get("type")}
    if job.get("action") == "send_message":
        to, content = config.get("to"), config.get("content")
        if not isinstance(to, str) or not isinstance(content, str):
            return "fail", None, "send_message needs config {to, content} as strings"
        if fail_to is not None and to == fail_to:
            return "retry", None, "destination %s unreachable" % to
        line.update(to=to, content=content)
    elif job.get("action") == "trigger_agent":
        agent = config.get("agent", "default")
        if not isinstance(agent, str):
            return "fail", None, "trigger_agent: agent must be a string"
        line.update(agent=agent, priority=config.get("priority", "normal"))
    else:
        return "fail", None, "this worker does not perform %r" % job.get("action")
    print(json.dumps(line), flush=True)
    return "ok", {"delivered": True}, None


def main():
    parser = argparse.ArgumentParser(description="an example zeb outbox worker")
    parser.add_argument("endpoint", help="the outbox's workers endpoint (outbox/workers)")
    parser.add_argument("--credit", type=int, default=8, help="jobs in hand at once")
    parser.add_argument("--fail-to", default=None, help="answer retry for messages to this number")
    args = parser.parse_args()
    socket = zmq.Context.instance().socket(zmq.DEALER)
    socket.setsockopt(zmq.LINGER, 500)
    socket.connect(args.endpoint)

    def send(command, body):
        socket.send_multipart([command.encode(), msgpack.packb(body)])

    send("READY", {"actions": ACTIONS, "credit": args.credit, "name": "zeb-worker.py"})
    pinged = time.monotonic()
    try:
        while True:
            if socket.poll(250):
                frames = socket.recv_multipart()
                if len(frames) < 2:
                    continue
                command = frames[0]
                try:
                    body = msgpack.unpackb(frames[1])
                except Exception:
                    continue
                if command == b"JOB" and isinstance(body, dict):
                    status, result, error = perform(body, args.fail_to)
                    reply = {"id": body.get("id", ""), "status": status}
                    if result is not None:
                        reply["result"] = result
                    if error is not None:
                        reply["error"] = error
                    send("RESULT", reply)
                elif command == b"PONG" and isinstance(body, dict) and not body.get("known", True):
                    send("READY", {"actions": ACTIONS, "credit": args.credit, "name": "zeb-worker.py"})
                elif command == b"NACK":
                    print("zeb-worker: NACK %r" % body, file=sys.stderr, flush=True)
            if time.monotonic() - pinged >= 1.0:
                send("PING", {})
                pinged = time.monotonic()
    except KeyboardInterrupt:
        pass
    finally:
        send("BYE", {})
        socket.close()


if __name__ == "__main__":
    main()
