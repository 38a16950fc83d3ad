/*  =========================================================================
    zeb_client - the C client: publish, subscribe live, read the log

    Connects to a node's ingest endpoint; HELLO tells it where the log and
    the bus are (wildcard hosts are replaced by the host used to reach the
    ingest). One client is used by one thread at a time.

    Publishing: every PUBLISH carries a tag that the node echoes, so acks
    are matched to their events even after timeouts. zeb_client_publish
    waits for the ack. zeb_client_publish_async keeps up to `window`
    events in flight and calls the ack callback as acks arrive (from
    inside zeb_client calls: publish_async, poll, flush); it blocks only
    when the window is full. Nothing is ever acked that is not durably
    stored (see the node's sync mode).

    Coalescing: with nothing in flight, an event is sent at once. While
    earlier publishes await their acks, publish_async queues new events and
    sends them together as one PUBLISH array when an ack comes back, when
    `coalesce` events wait, or on poll, flush or a synchronous publish: the
    batch size adapts to the round trip, as TCP's does. Each event still
    gets its own outcome. Events are checked here before queueing (size,
    envelope); should the node refuse one event of such an array, the
    others are sent again (they were not stored: arrays are atomic) and
    only that event gets the NACK. Queued events go out only from inside
    zeb_client calls: call zeb_client_flush before destroying the client,
    and zeb_client_poll now and then when publishing pauses. (Looking for
    acks costs libzmq system calls, so publish_async looks at most every
    100 microseconds.) To drive several clients from one thread, poll their
    zeb_client_socket together.

    Outcomes: an ack with status 0 (stored; `duplicate` when the dedup key
    was seen before, with the original sequence), a NACK (status is the
    error code, `error` the node's reason; the event was not stored), or
    ZEB_ETIMEOUT (no answer within the timeout: the event may or may not
    be stored; publish it again with the same idempotencykey, and the node
    stores it once).

    Reading: zeb_client_fetch reads a batch of the log; zeb_cursor reads
    it event by event, fetching ahead and long-polling at the end.
    Subscribing: zeb_client_subscribe and zeb_client_recv give live events
    from the bus (PUB/SUB: a slow subscriber may miss events; a cursor
    never does).
    =========================================================================
*/

#ifndef ZEB_CLIENT_H_INCLUDED
#define ZEB_CLIENT_H_INCLUDED

#ifdef __cplusplus
extern "C" {
#endif

#define ZEB_CLIENT_TIMEOUT  5000        //  default timeout, ms
#define ZEB_CLIENT_WINDOW   4000        //  default publishes in flight

typedef struct _zeb_client_t zeb_client_t;
typedef struct _zeb_cursor_t zeb_cursor_t;

//  What became of one publish
typedef struct {
    int status;                 //  0 stored, else a zeb_error_t
    uint64_t sequence;          //  sequence in the log (status 0)
    bool duplicate;             //  already stored under this dedup key
    int64_t index;              //  offending event of an array, or -1
    int64_t latency_us;         //  from send to ack
    char error [200];           //  the node's reason, for a NACK
} zeb_ack_t;

//  Read a reply to PUBLISH (its command and body frames) into ack: ACK,
//  NACK, or ZEB_EPROTOCOL for anything else. latency_us is left 0.
void
    zeb_ack_parse (const void *command, size_t command_size, const void *body, size_t size,
                   zeb_ack_t *ack);

//  Ack callback for pipelined publishing
typedef void (zeb_ack_fn) (const zeb_ack_t *ack, void *arg);

//  A batch read from the log
typedef struct {
    uint64_t first;             //  oldest sequence retained by the node
    uint64_t last;              //  newest sequence committed
    uint64_t next;              //  where the next read continues
    zlistx_t *events;           //  zeb_event_t items, owned by the batch
} zeb_fetch_t;

//  Create a client for the node at endpoint (its ingest endpoint, e.g.
//  "tcp://127.0.0.1:7700"). Does not connect yet. NULL on bad endpoint.
zeb_client_t *
    zeb_client_new (const char *endpoint);

//  Destroy; in-flight publishes are abandoned (their callbacks not run).
void
    zeb_client_destroy (zeb_client_t **self_p);

//  Timeout for any one wait, ms (default ZEB_CLIENT_TIMEOUT).
void
    zeb_client_set_timeout (zeb_client_t *self, int timeout_ms);

//  Publishes in flight for publish_async (default ZEB_CLIENT_WINDOW).
//  Takes effect while nothing is in flight.
void
    zeb_client_set_window (zeb_client_t *self, size_t window);

//  Most events coalesced into one PUBLISH while others are in flight
//  (default 256; 1 sends every event alone). See "Coalescing" above.
void
    zeb_client_set_coalesce (zeb_client_t *self, size_t max_events);

//  HELLO the node. Returns 0, or ZEB_EUNREACHABLE / ZEB_ETIMEOUT when no
//  node answers, ZEB_EVERSION if it speaks another protocol. Called by the
//  other methods when needed.
int
    zeb_client_connect (zeb_client_t *self);

//  Endpoints the node told us about (after connect), or NULL.
const char *
    zeb_client_log_endpoint (zeb_client_t *self);
const char *
    zeb_client_bus_endpoint (zeb_client_t *self);
//  The schema registry's endpoint, or NULL if the node runs none.
const char *
    zeb_client_registry_endpoint (zeb_client_t *self);
//  The outbox's endpoint (runs, dead letters, logs), or NULL if the node runs none.
const char *
    zeb_client_outbox_endpoint (zeb_client_t *self);
//  The automations' endpoint (rules: docs/PROTOCOL.md 4c), or NULL if none.
const char *
    zeb_client_automation_endpoint (zeb_client_t *self);
//  The cron triggers' endpoint (docs/PROTOCOL.md 4d), or NULL if none.
const char *
    zeb_client_cron_endpoint (zeb_client_t *self);

//  Publish and wait for the outcome. Returns ack->status (0 = stored).
//  ack may be NULL.
int
    zeb_client_publish (zeb_client_t *self, zeb_event_t *event, zeb_ack_t *ack);

//  Publish one event already encoded as msgpack (see docs/PROTOCOL.md),
//  or an array of events (then ack->sequence is the first one's). Waits.
int
    zeb_client_publish_raw (zeb_client_t *self, const void *data, size_t size, zeb_ack_t *ack);

//  Publish without waiting; fn (may be NULL) gets the outcome later.
//  Returns 0 when sent, or ZEB_ETIMEOUT / ZEB_EUNREACHABLE when the
//  window stayed full or the message could not be queued in time.
int
    zeb_client_publish_async (zeb_client_t *self, zeb_event_t *event, zeb_ack_fn *fn, void *arg);

//  Same, for an encoded event.
int
    zeb_client_publish_raw_async (zeb_client_t *self, const void *data, size_t size,
                                  zeb_ack_fn *fn, void *arg);

//  Handle acks that have arrived, waiting at most timeout_ms for the first.
//  Returns the number handled.
int
    zeb_client_poll (zeb_client_t *self, int timeout_ms);

//  Wait until every publish in flight has its outcome, at most
//  timeout_ms; those still unanswered then get ZEB_ETIMEOUT. Returns 0 or
//  ZEB_ETIMEOUT.
int
    zeb_client_flush (zeb_client_t *self, int timeout_ms);

//  Publishes in flight.
size_t
    zeb_client_pending (zeb_client_t *self);

//  Why the last publish was refused by the client itself, before it was
//  sent (a missing attribute, an event over max_event_size...): the
//  validation message, or zeb_strerror (code) if there is none. Borrowed.
const char *
    zeb_client_error (zeb_client_t *self, int code);

//  The ingest socket, so that one thread can drive several clients with
//  a zpoller or zloop: when it is readable, call zeb_client_poll (self, 0).
//  NULL until the client is connected.
zsock_t *
    zeb_client_socket (zeb_client_t *self);

//  Read up to max events from sequence from (0 = oldest retained), of
//  the given type prefixes (comma-separated; NULL or "" for all),
//  waiting up to wait_ms for the first. Fills result (events owned by
//  it; free with zeb_fetch_reset). Returns 0 or an error code.
int
    zeb_client_fetch (zeb_client_t *self, uint64_t from, size_t max, int wait_ms,
                      const char *types, zeb_fetch_t *result);

//  Same, starting at the first event stored at or after time_ms.
int
    zeb_client_fetch_time (zeb_client_t *self, int64_t time_ms, size_t max, int wait_ms,
                           const char *types, zeb_fetch_t *result);

//  Free the events of a fetch result.
void
    zeb_fetch_reset (zeb_fetch_t *result);

//  Live events whose type starts with prefix ("" for all).
int
    zeb_client_subscribe (zeb_client_t *self, const char *prefix);
int
    zeb_client_unsubscribe (zeb_client_t *self, const char *prefix);

//  Next live event, or NULL after timeout_ms. Caller owns the event.
zeb_event_t *
    zeb_client_recv (zeb_client_t *self, int timeout_ms);

//  The node's statistics (ingest and log) as JSON text; caller owns it.
//  NULL with *error set if the node does not answer.
char *
    zeb_client_stats (zeb_client_t *self, int *error);

//  ---------------------------------------------------------------------
//  Cursors: durable, in-order reading of the log
//
//  A cursor is a zeb_consumer (core/zeb_consumer.h) driven by blocking
//  calls: it fetches ahead and long-polls at the end the same way. To read
//  the log inside a poll loop, beside other sockets, use zeb_consumer.

//  A cursor over the client's log from sequence from (0 = oldest retained).
//  The client must outlive it. Nothing is sent before the first next.
zeb_cursor_t *
    zeb_cursor_new (zeb_client_t *client, uint64_t from);

void
    zeb_cursor_destroy (zeb_cursor_t **self_p);

//  Only events of these type prefixes (comma-separated). Once reading has
//  started, events fetched ahead under the old types are dropped and
//  reading goes on from zeb_cursor_position with the new ones.
void
    zeb_cursor_set_types (zeb_cursor_t *self, const char *types);

//  Events fetched per round trip (default 500).
void
    zeb_cursor_set_batch (zeb_cursor_t *self, size_t batch);

//  Next event in sequence order, waiting up to timeout_ms for one to be
//  committed (0: only what is committed now; the call still takes a round
//  trip to the log). Caller owns it. NULL with *error 0 when the log has
//  nothing more by then; NULL with *error set on failure: ZEB_EUNREACHABLE
//  (no node), ZEB_ETIMEOUT (the log did not answer within the client's
//  timeout after the wait), or the code of the log's NACK.
zeb_event_t *
    zeb_cursor_next (zeb_cursor_t *self, int timeout_ms, int *error);

//  Sequence the cursor reads next.
uint64_t
    zeb_cursor_position (zeb_cursor_t *self);

//  Events the cursor found gone (deleted by retention before it read them).
uint64_t
    zeb_cursor_missed (zeb_cursor_t *self);

//  Self test
void
    zeb_client_test (bool verbose);

#ifdef __cplusplus
}
#endif

#endif
