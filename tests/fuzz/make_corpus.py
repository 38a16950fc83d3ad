#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets: tests/fuzz/corpus/<target>/.

Seeds are small, real inputs: events as producers send them, JSON data,
schemas with instances, node configurations. libFuzzer mutates them; it
never writes into these directories (tools/fuzz.sh runs on a copy).
Run again after editing a seed here; the output is deterministic.

No dependency beyond Python 3: a minimal msgpack encoder is below.
"""

import json
import os
import struct
import sys


def pack(value):
    """msgpack encoding of value (None, bool, int, float, str, bytes,
    list, dict, or Ext for extension types), smallest forms first."""
    if value is None:
        return b"\xc0"
    if value is True:
        return b"\xc3"
    if value is False:
        return b"\xc2"
    if isinstance(value, int):
        if 0 <= value < 0x80:
            return bytes([value])
        if -32 <= value < 0:
            return struct.pack("b", value)
        if value >= 0:
            for code, fmt, limit in ((0xcc, ">B", 1 << 8), (0xcd, ">H", 1 << 16),
                                     (0xce, ">I", 1 << 32), (0xcf, ">Q", 1 << 64)):
                if value < limit:
                    return bytes([code]) + struct.pack(fmt, value)
        for code, fmt, limit in ((0xd0, ">b", 1 << 7), (0xd1, ">h", 1 << 15),
                                 (0xd2, ">i", 1 << 31), (0xd3, ">q", 1 << 63)):
            if -limit <= value:
                return bytes([code]) + struct.pack(fmt, value)
        raise ValueError(value)
    if isinstance(value, float):
        return b"\xcb" + struct.pack(">d", value)
    if isinstance(value, str):
        data = value.encode("utf-8")
        return _head(len(data), 0xa0, 32, (0xd9, 0xda, 0xdb)) + data
    if isinstance(value, bytes):
        return _head(len(value), None, 0, (0xc4, 0xc5, 0xc6)) + value
    if isinstance(value, Ext):
        return value.encode()
    if isinstance(value, list):
        return _head(len(value), 0x90, 16, (None, 0xdc, 0xdd)) + b"".join(pack(v) for v in value)
    if isinstance(value, dict):
        return _head(len(value), 0x80, 16, (None, 0xde, 0xdf)) + b"".join(
            pack(k) + pack(v) for k, v in value.items())
    raise TypeError(value)


def _head(length, fix, fix_limit, codes):
    if fix is not None and length < fix_limit:
        return bytes([fix | length])
    for code, fmt, limit in zip(codes, (">B", ">H", ">I"), (1 << 8, 1 << 16, 1 << 32)):
        if code is not None and length < limit:
            return bytes([code]) + struct.pack(fmt, length)
    raise ValueError(length)


class Ext:
    def __init__(self, code, data):
        self.code, self.data = code, data

    def encode(self):
        fixed = {1: 0xd4, 2: 0xd5, 4: 0xd6, 8: 0xd7, 16: 0xd8}
        if len(self.data) in fixed:
            head = bytes([fixed[len(self.data)]])
        else:
            head = b"\xc7" + bytes([len(self.data)])
        return head + struct.pack("b", self.code) + self.data


def events():
    minimal = {"type": "order.created", "source": "/shop"}
    full = {
        "id": "0190a7e2-7c1e-7000-8000-000000000001",
        "type": "order.created",
        "source": "/shop/eu",
        "specversion": "1.0",
        "subject": "order/42",
        "time": "2024-06-01T12:30:00.250Z",
        "channel": "orders",
        "idempotencykey": "order-42-created",
        "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "tracestate": "vendor=value",
        "correlationid": "c-1",
        "causationid": "c-0",
        "actorid": "user-7",
        "tenantid": "acme",
        "datacontenttype": "application/json",
        "dataschema": "https://example.com/schemas/order.json",
        "region": "eu",
        "priority": 3,
        "urgent": True,
        "blob": b"\x00\x01\x02",
        "data": {"sku": "W-1", "count": 2, "price": 9.5, "tags": ["a", "b"], "gift": None},
    }
    timed = {"type": "tick", "source": "/clock", "time": 1717245000250, "sequence": 7,
             "data": [1, -1, 2 ** 40, -2 ** 40, 1.5, "x", b"y", None, True, {}]}
    with_ts = {"type": "sensor.read", "source": "/s/1",
               "data": {"at": Ext(-1, struct.pack(">I", 1717245000)), "v": 21.5}}
    nil_attrs = {"type": "a.b", "source": "/x", "subject": None, "data": None}
    return {
        "minimal.mpk": pack(minimal),
        "full.mpk": pack(full),
        "timed.mpk": pack(timed),
        "timestamp_data.mpk": pack(with_ts),
        "nil_attributes.mpk": pack(nil_attrs),
        "array_one.mpk": pack([minimal]),
        "array_three.mpk": pack([minimal, timed, nil_attrs]),
        "array_empty.mpk": pack([]),
        "missing_source.mpk": pack({"type": "a"}),
        "bad_ext_name.mpk": pack({"type": "a", "source": "/b", "Bad-Name": 1}),
        "duplicate_type.mpk": b"\x83" + pack("type") + pack("a") + pack("type") + pack("b")
                              + pack("source") + pack("/c"),
        "truncated.mpk": pack(full)[:40],
    }


def json_docs():
    docs = {
        "object.json": '{"name":"Widget \\u00e9","count":3,"price":9.5,"tags":["a","b"],'
                       '"ok":true,"no":false,"none":null,"nested":{"deep":[1,[2,[3]]]},"neg":-42}',
        "scalars.json": '[0,-1,9223372036854775807,-9223372036854775808,1e300,-0.0,2.5e-308,"",null]',
        "unicode.json": '{"k\\u0000ey":"\\ud83d\\ude00 \\u00ff","\\u2028":"line"}',
        "duplicate_keys.json": '{"a":1,"a":2,"b":{"a":[]}}',
        "string.json": '"just a string"',
        "number.json": "42",
        "deep.json": "[" * 40 + "]" * 40,
        "event.json": json.dumps({"specversion": "1.0", "type": "order.created", "source": "/shop",
                                  "id": "1", "time": "2024-06-01T12:30:00Z",
                                  "data": {"sku": "W-1", "count": 2}}),
    }
    out = {name: text.encode("utf-8") for name, text in docs.items()}
    #  msgpack values too: the target also reads its input as msgpack
    out["map_int_keys.mpk"] = pack({1: "one", -2: "minus two", "s": b"\xff\xfe"})
    out["bin_float_ts.mpk"] = pack([b"\x00\x01", 1.5, float("nan"), 2 ** 64 - 1,
                                    Ext(-1, struct.pack(">Q", (5 << 34) | 1717245000)),
                                    Ext(-1, struct.pack(">IQ", 1, 1717245000))])
    out["bad_utf8.mpk"] = b"\x81\xa1k\xa2\xc3\x28"
    return out


def schemas():
    order = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "required": ["sku", "count"],
        "properties": {
            "sku": {"type": "string", "pattern": "^[A-Z]-[0-9]+$", "maxLength": 16},
            "count": {"type": "integer", "minimum": 1, "maximum": 100},
            "price": {"type": "number", "exclusiveMinimum": 0, "multipleOf": 0.5},
            "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": True, "maxItems": 8},
            "when": {"type": "string", "format": "date-time"},
            "who": {"type": "string", "format": "email"},
        },
        "additionalProperties": False,
    }
    refs = {
        "$defs": {"node": {"type": "object", "properties": {
            "value": {"type": ["integer", "null"]},
            "next": {"$ref": "#/$defs/node"}}}},
        "$ref": "#/$defs/node",
    }
    combos = {
        "anyOf": [{"type": "string", "minLength": 2}, {"type": "number"}],
        "not": {"const": "no"},
        "oneOf": [{"enum": ["ab", "cd", 1, 2.5]}, {"type": "number", "minimum": 10}],
    }
    tuple_ = {"type": "array", "prefixItems": [{"type": "boolean"}, {"format": "uuid"}],
              "items": False, "minItems": 1}
    cases = {
        "order_valid": (order, {"sku": "W-1", "count": 2, "price": 9.5, "tags": ["a"],
                                "when": "2024-06-01T12:30:00Z", "who": "a@b.c"}),
        "order_invalid": (order, {"sku": "w1", "count": 0, "extra": 1}),
        "refs": (refs, {"value": 1, "next": {"value": None, "next": {"value": "x"}}}),
        "combos": (combos, "ab"),
        "tuple": (tuple_, [True, "0190a7e2-7c1e-7000-8000-000000000001"]),
        "bool_schema": (True, {"anything": [1, 2]}),
        "props_count": ({"minProperties": 1, "maxProperties": 2,
                         "additionalProperties": {"type": "integer"}}, {"a": 1, "b": "c"}),
    }
    out = {}
    for name, (schema, instance) in cases.items():
        out[name + ".bin"] = (json.dumps(schema, separators=(",", ":")) + "\0"
                              + json.dumps(instance, separators=(",", ":"))).encode("utf-8")
    out["unknown_keyword.bin"] = b'{"type":"string","frobnicate":1}\0"x"'
    out["schema_only.bin"] = b'{"type":"null"}'
    return out


def configs():
    return {
        "node.cfg": b"""#   A node with every actor
node
    name = "edge-1"
    data = "/var/lib/zeb"
    actors = "registry,ingest,log"
ingest
    endpoint = "tcp://*:7700"
    sync = batch
    sync_interval = 250ms
    max_event_size = 64KiB
    max_publish = 500
    dedup_window = 7d
    validation = enforce
bus
    endpoint = "tcp://127.0.0.1:7702"
log
    endpoint = "ipc:///tmp/zeb-log"
    max_bytes = 1MiB
    max_wait = 30s
store
    map_size = 1GiB
retention
    max_age = 24h
""",
        "embedded.cfg": b"""node
    name = test
    data = ./data
ingest
    endpoint = "inproc://ingest"
    notify = "inproc://notify"
bus
    endpoint = "inproc://bus"
log
    endpoint = "inproc://log"
registry
    endpoint = "inproc://registry"
""",
        "out_of_range.cfg": b"ingest\n    batch = 0\n",
        "unknown_key.cfg": b"ingest\n    colour = blue\n",
        "bad_endpoint.cfg": b"ingest\n    endpoint = \"tcp://host:99999\"\n",
        "override.cfg": b"ingest/max_event_size=2MiB\n",
        "duration_line.cfg": b"1.5h\n",
        "empty.cfg": b"",
    }


def rules():
    """fuzz_rule: a rule's JSON, \\0, an event's JSON (or the rule alone)"""
    event = b'{"id":"e-1","type":"order.placed","source":"fuzz","sequence":7,' \
            b'"data":{"total":120.5,"tags":["vip","new"],"items":[{"sku":"A","price":3}],' \
            b'"customer":{"tier":"gold","odd.key":1}}}'
    return {
        "vip.bin": b'{"triggerEventType":"message.received","triggerConditions":[{"field":"payload.from.tags",'
                   b'"operator":"contains","value":"vip"}],"actions":[{"type":"webhook","config":'
                   b'{"url":"http://x/{{data.from.id}}"}}]}',
        "all_ops.bin": b'{"id":"r","triggerEventType":"order.*","triggerConditions":['
                       b'{"field":"data.total","operator":"gt","value":100},'
                       b'{"field":"data.total","operator":"lte","value":1e3},'
                       b'{"field":"data.customer.tier","operator":"in","value":["gold","x"]},'
                       b'{"field":"source","operator":"startsWith","value":"fu","ignoreCase":true},'
                       b'{"field":"type","operator":"endsWith","value":".placed"},'
                       b'{"field":"data.tags","operator":"contains","value":"vip"},'
                       b'{"field":"data[\\"customer\\"][\\"odd.key\\"]","operator":"eq","value":1},'
                       b'{"field":"data.none","operator":"exists","value":false},'
                       b'{"field":"id","operator":"matches","value":"^e-[0-9]+$"},'
                       b'{"field":"time","operator":"gte","value":"2020-01-01T00:00:00Z"}],'
                       b'"actions":[{"type":"log","config":{"m":"{{event.id}} {{data.total}}","t":"{{data.tags}}"}}]}'
                       + b"\0" + event,
        "quantifier.bin": b'{"triggerEventType":"*","triggerConditions":[{"field":"data.items","any":'
                          b'[{"field":"sku","operator":"eq","value":"A"},{"field":"price","operator":"lt","value":5}]}],'
                          b'"any":[[{"field":"data.total","operator":"neq","value":0}],'
                          b'{"field":"data.items","all":{"field":".","operator":"exists"}}],'
                          b'"actions":[{"type":"emit_event","config":{"eventType":"a.b","payload":"{{data}}"},'
                          b'"retryPolicy":{"maxAttempts":2}}]}' + b"\0" + event,
        "regex.bin": b'{"triggerEventType":"a.b","triggerConditions":[{"field":"data.s","operator":"matches",'
                     b'"value":"(a+)+$"}],"actions":[{"type":"log"}]}'
                     + b'\0{"type":"a.b","source":"s","data":{"s":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab"}}',
        "bad_op.bin": b'{"triggerEventType":"a.b","triggerConditions":[{"field":"data.x","operator":"eqq"}],'
                      b'"actions":[{"type":"log"}]}',
        "bad_template.bin": b'{"triggerEventType":"a.b","actions":[{"type":"log","config":{"m":"{{ data.x"}}]}',
        "empty.bin": b"",
    }


def zmtp():
    """fuzz_zmtp: what a node sends a zeb_producer: greeting, READY, frames"""
    greeting = bytes([0xFF] + [0] * 7 + [1, 0x7F, 3, 1]) + b"NULL" + bytes(16) + bytes(32)
    ready = b"\x05READY\x0bSocket-Type\x00\x00\x00\x06ROUTER\x08Identity\x00\x00\x00\x00"
    command = bytes([4, len(ready)]) + ready
    ack = bytes([1, 3]) + b"ACK" + bytes([1, 2]) + b"\x80\x01" + bytes([0, 9]) + b"P" + bytes(8)
    ping = b"\x04PING\x00\x0actx"
    error = b"\x05ERROR\x07go away"
    return {
        "handshake.bin": greeting + command + ack,
        "ping.bin": greeting + command + bytes([4, len(ping)]) + ping + ack,
        "long.bin": greeting + command + bytes([2, 0, 0, 0, 0, 0, 0, 1, 0]) + bytes(256),
        "error.bin": greeting + bytes([4, len(error)]) + error,
    }


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    sets = {"fuzz_publish": events(), "fuzz_json": json_docs(),
            "fuzz_schema": schemas(), "fuzz_config": configs(), "fuzz_rule": rules(),
            "fuzz_zmtp": zmtp()}
    for target, files in sets.items():
        directory = os.path.join(here, "corpus", target)
        os.makedirs(directory, exist_ok=True)
        for name, data in files.items():
            with open(os.path.join(directory, name), "wb") as f:
                f.write(data)
        print("%s: %d seeds, %d bytes" % (target, len(files), sum(len(d) for d in files.values())),
              file=sys.stderr)


if __name__ == "__main__":
    main()
