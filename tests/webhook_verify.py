#!/usr/bin/python3
"""Standard Webhooks 1.0 verifier, written from the specification alone.

usage: webhook_verify.py FILE

FILE holds one JSON object per line, a request as a receiver saw it:
{"id": webhook-id, "timestamp": webhook-timestamp, "signature":
webhook-signature, "body": the raw body in base64, "secrets": [secret...]}.
Every secret listed must have signed the request (one "v1,..." entry of
the space-separated header each), the timestamp must be within five
minutes of now, and a wrong secret or a changed body must not verify.
The published example of the specification is checked first. Only the
standard library: hmac, hashlib, base64. Exits 0 if everything verifies.
"""

import base64
import hashlib
import hmac
import json
import sys
import time

TOLERANCE = 5 * 60


def key_of(secret):
    if secret.startswith("whsec_"):
        secret = secret[len("whsec_"):]
    return base64.b64decode(secret, validate=True)


def sign(secret, msg_id, timestamp, body):
    content = b"%s.%s.%s" % (msg_id.encode(), str(timestamp).encode(), body)
    digest = hmac.new(key_of(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify(secret, msg_id, timestamp, header, body, now):
    if abs(now - int(timestamp)) > TOLERANCE:
        return False
    expected = sign(secret, msg_id, timestamp, body)
    return any(hmac.compare_digest(candidate, expected)
               for candidate in header.split(" ") if candidate.startswith("v1,"))


def check_published_example():
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    msg_id, timestamp = "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330
    body = b'{"test": 2432232314}'
    expected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    assert sign(secret, msg_id, timestamp, body) == expected, "the published example"
    assert verify(secret, msg_id, timestamp, expected, body, timestamp)
    assert not verify(secret, msg_id, timestamp, expected, body + b" ", timestamp)
    assert not verify(secret, msg_id, timestamp, expected, body, timestamp + TOLERANCE + 1)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    check_published_example()
    now = int(time.time())
    wrong = "whsec_" + base64.b64encode(b"w" * 32).decode()
    count = 0
    with open(sys.argv[1]) as lines:
        for number, line in enumerate(lines, 1):
            request = json.loads(line)
            body = base64.b64decode(request["body"])
            header = request["signature"]
            secrets = request["secrets"]
            if len(header.split(" ")) != len(secrets):
                sys.exit("line %d: %d signatures for %d secrets" % (number, len(header.split(" ")), len(secrets)))
            for secret in secrets:
                if not verify(secret, request["id"], request["timestamp"], header, body, now):
                    sys.exit("line %d: does not verify with %s" % (number, secret))
                if verify(secret, request["id"], request["timestamp"], header, body + b"x", now):
                    sys.exit("line %d: verifies with a changed body" % number)
            if verify(wrong, request["id"], request["timestamp"], header, body, now):
                sys.exit("line %d: verifies with a wrong secret" % number)
            count += 1
    if count == 0:
        sys.exit("no requests to verify")
    print("webhook_verify: the published example and %d requests verify" % count)


if __name__ == "__main__":
    main()
