/*  =========================================================================
    zeb_broker - executors that hand an action's event to a broker: zeb's
    own ingest (emit_event), a Redis stream (redis_stream) and NATS (nats)

    Each is a zeb_executor_def_t (zeb_executor.h) in the executor table. The
    action's stable id (zeb_job_t.key) travels with every message so that
    the receiver can deduplicate a retried attempt: as the new event's
    idempotencykey, as the stream entry's "id" field, as Nats-Msg-Id.
    Error texts (RESULT's error, a START fault) never quote a user or
    password from a redis or nats URL.

    emit_event   publishes a new event through ingest with zeb_client,
                 many in flight at once (acks arrive on the host's loop).
        keys     emit_event/ingest           the ingest endpoint (filled in
                                             by the node when ingest runs in
                                             the same node; empty: init fails)
                 emit_event/connect_timeout  HELLO wait (default 2s)
                 emit_event/credit           jobs in flight (default 1000)
        config   {eventType (required), payload? (any JSON: the data),
                  source? (default "zeb/outbox"), subject?}
        event    idempotencykey = key; causationid = the trigger's id;
                 correlationid = the trigger's correlationid, else its id
        result   OK {sequence, duplicate}. RETRY for OVERLOADED,
                 STORAGE_FULL, STORAGE_ERROR, a timeout or an unreachable
                 ingest; FAIL with the node's reason for anything else
                 (SCHEMA_VIOLATION, INVALID_ATTRIBUTE: a bad eventType...).
                 An ack that does not come within the job's timeout is a
                 RETRY (the event may be stored: the retry is deduplicated).
        holds    credit jobs in flight, and as many publishes whose job
                 timed out (orphans) awaiting their late acks: one encoded
                 event each; orphans past that reset the connection
                 (STATS: awaiting, orphans, timeouts, resets).

    redis_stream XADD, synchronous, one connection (hiredis), made again
                 after any connection error.
        keys     redis_stream/url   redis://[[user]:password@]host[:port][/db]
                                    (overrides host and port when set)
                 redis_stream/host, redis_stream/port  (127.0.0.1:6379)
                 redis_stream/connect_timeout (1s), redis_stream/timeout (5s,
                 and never past the job's timeout)
        config   {stream (required), fields? (an object: strings as they
                  are, other values as JSON text; default one field "event",
                  the trigger's CloudEvents JSON), maxlen? (XADD MAXLEN ~ N)}
                 The field "id" = key is always added; fields may not name
                 it themselves. At most 256 fields.
        result   OK {stream, id}. RETRY when Redis cannot be reached or the
                 connection breaks, and for error replies that say "later"
                 (LOADING, BUSY, TRYAGAIN, MASTERDOWN, CLUSTERDOWN, OOM);
                 FAIL for other error replies (WRONGTYPE...).

    nats         core publish (then a flush: the server has it) or
                 JetStream publish (waits for the stream's ack), synchronous,
                 one connection (libnats, its own reconnection off: a closed
                 connection is made again by the next job).
        keys     nats/url (nats://127.0.0.1:4222), nats/jetstream (false),
                 nats/connect_timeout (2s)
        config   {subject (required: dot-separated tokens, no wildcards or
                  spaces), payload? (a string is sent as it is,
                  any other value as JSON text; default the trigger's
                  CloudEvents JSON), jetstream? (overrides nats/jetstream)}
                 Every message carries the header Nats-Msg-Id = key, so a
                 stream deduplicates core publishes too.
        result   OK {subject} (core) or {stream, seq, duplicate} (JetStream).
                 RETRY for no server, a closed connection, a timeout, and
                 JetStream's transient errors (insufficient resources,
                 cluster not available, store failed); FAIL when no stream
                 takes the subject, and for other refusals (an invalid
                 subject, a payload over the server's limit, permissions).
    =========================================================================
*/

#ifndef ZEB_BROKER_H_INCLUDED
#define ZEB_BROKER_H_INCLUDED

//  The plugins are declared in zeb_executor.h, beside the other built-ins:
//  zeb_executor_emit_event, zeb_executor_redis_stream, zeb_executor_nats.

//  Self test: what runs without servers (URL parsing, field building,
//  which errors are retried). tests/broker_test.c runs the plugins against
//  real Redis, NATS and zeb nodes.
void
    zeb_broker_test (bool verbose);

#endif
