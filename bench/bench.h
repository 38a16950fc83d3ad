/*  =========================================================================
    bench.h - zeb-bench's baselines (bench_baselines.c)
    =========================================================================
*/

#ifndef ZEB_BENCH_H_INCLUDED
#define ZEB_BENCH_H_INCLUDED

//  Messages per second of raw libzmq PUSH/PULL of size bytes over
//  transport ("tcp", "ipc" or "inproc"), count messages.
double
    bench_zmq_pushpull (const char *transport, size_t count, size_t size);

//  Request/reply round trips per second: clients threads, each with a
//  DEALER sending size-byte messages one at a time to a ROUTER that
//  answers each at once; count round trips in all.
double
    bench_zmq_roundtrip (const char *transport, size_t clients, size_t count, size_t size);

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

#endif
