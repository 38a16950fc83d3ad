/*  =========================================================================
    bench.h - zeb-bench's baselines (bench_baselines.c)
    =========================================================================
*/

#ifndef ZEB_BENCH_H_INCLUDED
#define ZEB_BENCH_H_INCLUDED

#include <stdio.h>

//  Messages per second of raw libzmq PUSH/PULL of size bytes over
//  transport ("tcp", "ipc" or "inproc"), count messages.
double
    bench_zmq_pushpull (const char *transport, size_t count, size_t size);

//  Request/reply round trips per second: clients threads, each with a
//  DEALER sending size-byte messages one at a time to a ROUTER that
//  answers each at once; count round trips in all. With direct, each
//  client speaks ZMTP itself (zeb_zmtp, as zeb_producer does; tcp only)
//  instead of through a libzmq DEALER.
double
    bench_zmq_roundtrip (const char *transport, size_t clients, size_t count, size_t size,
                         bool direct);

//  Durable LMDB puts per second: count values of size bytes appended in
//  fsync'd transactions of batch puts, in a fresh environment under dir.
double
    bench_lmdb_puts (const char *dir, size_t count, size_t size, size_t batch);

//  Envelope decode + validate + canonical encode per second, one core.
double
    bench_codec (const void *event, size_t size, size_t count);

//  A 10-property order payload and its schema (JSON text), for the
//  validation benches.
extern const char *bench_order_schema;
extern const char *bench_order_payload;

//  zeb-bench schema: payload validation on one core (bench_schema.c).
int
    bench_schema_main (int argc, char *argv []);

//  An event of type with source "zeb-bench", id (NULL: none, the node
//  assigns one) and data {"pad": "..."} padded so that its encoding is
//  about size bytes. Caller owns it (bench_deliver.c).
zeb_event_t *
    bench_event_padded (const char *type, const char *id, size_t size);

//  qsort's comparison of doubles; the median of count values (sorts
//  them); the median of the double at offset in count structs of stride
//  bytes (zeb_bench.c)
int
    bench_compare_double (const void *a, const void *b);
double
    bench_median (double *values, size_t count);
double
    bench_field_median (const void *results, size_t count, size_t stride, size_t offset);

//  A counter of an actor's STATS (zeb_node_stats), -1 if absent; key is a
//  member of the top map, or a path into nested maps ("ingest/stored":
//  member stored of map ingest, where ingest's STATS keep it); wait
//  (polling every 5 ms, at most timeout_ms) until it is at least value
//  (exact: exactly value), true if it got there (zeb_bench.c)
int64_t
    bench_stat (zeb_node_t *node, const char *actor, const char *key);
bool
    bench_stat_reaches (zeb_node_t *node, const char *actor, const char *key, int64_t value,
                        bool exact, int timeout_ms);

//  The option at argv [*index] of a subcommand: BENCH_OPTION_HELP (-h,
//  --help: usage printed on stdout), BENCH_OPTION_JSON (--json),
//  BENCH_OPTION_VALUE (any other, *value its value: *index moves past
//  it), or -1 (said on stderr, as command) for an option without the
//  value it needs.
#define BENCH_OPTION_VALUE  0
#define BENCH_OPTION_HELP   1
#define BENCH_OPTION_JSON   2
int
    bench_option (int argc, char *argv [], int *index, const char **value, const char *command,
                  void (*usage) (FILE *stream));

//  zeb-bench rules: the rule engine's matching (and rendering) on one
//  core (bench_rules.c).
int
    bench_rules_main (int argc, char *argv []);

//  zeb-bench deliver: webhook deliveries through the outbox beside
//  libcurl's ceiling, latency, emit_event chains (bench_deliver.c).
int
    bench_deliver_main (int argc, char *argv []);

//  zeb-bench automation: publish -> rule -> webhook received, beside a
//  subscription without rules (bench_automation.c).
int
    bench_automation_main (int argc, char *argv []);

//  zeb-bench http: inbound webhooks/s with durable acks through the HTTP
//  gateway, beside its raw throughput on a trivial route (bench_http.c).
int
    bench_http_main (int argc, char *argv []);

//  zeb-bench ws: WebSocket fan-out, events/s delivered to C connections
//  (bench_ws.c).
int
    bench_ws_main (int argc, char *argv []);

//  zeb-bench peers: zeb beside redis-server (appendfsync always) and
//  nats-server (JetStream, file storage) started as children, in
//  alternating rounds (bench_peers.c).
int
    bench_peers_main (int argc, char *argv []);

#endif
