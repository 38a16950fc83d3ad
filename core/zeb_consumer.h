/*  =========================================================================
    zeb_consumer - a durable reader of the event log that never blocks

    A consumer reads a node's log (its log endpoint, FETCH in
    docs/PROTOCOL.md) in sequence order, from a position the owner keeps,
    without ever waiting inside a call: it is meant to live in an actor's
    loop beside the actor's own sockets. It keeps exactly one FETCH in
    flight whenever its buffer runs low (fewer than half a batch), long-
    polls at the end of the log (the log answers as soon as a matching
    event is committed), and hands out buffered events one by one.

    The owner's loop, with a zpoller:

        zpoller_add (poller, zeb_consumer_socket (consumer));
        while (!terminated) {
            int timeout = zeb_consumer_next_timeout (consumer);    //  or less
            void *which = zpoller_wait (poller, timeout);
            if (which == zeb_consumer_socket (consumer))
                zeb_consumer_handle (consumer);
            else
            if (which == my_socket)
                ...
            zeb_event_t *event;
            while ((event = zeb_consumer_next (consumer))) {
                process (event);
                store (zeb_consumer_position (consumer));       //  durably
                zeb_event_destroy (&event);
            }
        }

    The loop needs no polling interval of its own: next_timeout says when
    the consumer must be called again (to send a FETCH again, or after a
    backoff), and the socket turns readable when a reply arrives.

    Delivery is at least once when the owner stores the position durably
    and only after it has processed the event: a crash between the two
    delivers the event again after a restart from the stored position.
    Storing the position before processing gives at most once instead.

    Requests carry a tag; a reply to a request the consumer gave up on
    (re-sent after its timeout, or dropped by seek or set_types) is read
    and dropped. A log that is down or unreachable sends no replies: the
    FETCH is sent again every wait + timeout, and reading resumes where
    it was once the log answers. A FETCH the log refuses (NACK, e.g.
    type prefixes it does not accept) or a reply that cannot be read is
    kept as the last error and counted; the consumer then waits
    ZEB_CONSUMER_BACKOFF_MIN ms before asking again, doubling the delay
    after each further failure up to ZEB_CONSUMER_BACKOFF_MAX, until a
    reply is good.

    Events deleted by retention before the consumer reached them (the log's
    oldest retained sequence, `first`, is past the position asked for) are
    skipped: they are counted in zeb_consumer_missed and in the stats, for
    the owner to report; reading goes on from `first`.

    Bounds: at most half a batch plus one batch of events are buffered
    (and never more than the log's reply limit, log/max_bytes, per reply);
    one FETCH is in flight, and at most ZEB_CONSUMER_SNDHWM requests wait
    in the socket while the log is unreachable. A consumer is used by one
    thread at a time.
    =========================================================================
*/

#ifndef ZEB_CONSUMER_H_INCLUDED
#define ZEB_CONSUMER_H_INCLUDED

#ifdef __cplusplus
extern "C" {
#endif

#define ZEB_CONSUMER_BATCH          500     //  default events per FETCH
#define ZEB_CONSUMER_WAIT           10000   //  default long-poll per FETCH, ms
#define ZEB_CONSUMER_MAX_WAIT       60000   //  longest long-poll (the log's cap)
#define ZEB_CONSUMER_TIMEOUT        5000    //  default: a reply is overdue after wait + this, ms
#define ZEB_CONSUMER_BACKOFF_MIN    100     //  first delay after a refused FETCH, ms
#define ZEB_CONSUMER_BACKOFF_MAX    5000    //  the delay doubles up to this, ms
#define ZEB_CONSUMER_SNDHWM         8       //  requests queued while the log is unreachable

typedef struct _zeb_consumer_t zeb_consumer_t;

//  What a consumer did so far; counters only grow (seek keeps them)
typedef struct {
    uint64_t fetches;           //  FETCH requests sent, re-sends included
    uint64_t resends;           //  FETCHes given up on (no reply in wait + timeout)
    uint64_t replies;           //  good EVENTS replies taken
    uint64_t empty;             //  of those, replies with no events
    uint64_t stale;             //  replies dropped: to a request given up on
    uint64_t events;            //  events handed out by zeb_consumer_next
    uint64_t errors;            //  NACKs and unreadable replies
    uint64_t missed;            //  events deleted by retention before reading
    uint64_t gaps;              //  times such a deletion was found
    uint64_t first;             //  the log's oldest retained sequence, newest reply
    uint64_t last;              //  the log's newest committed sequence, newest reply
} zeb_consumer_stats_t;

//  Create a consumer of the log at log_endpoint (a node's log endpoint,
//  e.g. from zeb_client_log_endpoint or zeb_node_endpoint (node, "log")),
//  delivering from sequence from on (0: the oldest event retained). Sends
//  nothing until the first call of next or handle. Returns NULL if the
//  endpoint is not one ZeroMQ can connect to, or on lack of memory.
zeb_consumer_t *
    zeb_consumer_new (const char *log_endpoint, uint64_t from);

//  Destroy; buffered events are freed, a FETCH in flight is abandoned.
//  Safe with NULL; nulls the caller's pointer.
void
    zeb_consumer_destroy (zeb_consumer_t **self_p);

//  Only events whose type starts with one of these prefixes (comma-
//  separated; borrowed; NULL or "" for every type; "order.*" is the same
//  as "order."). The log judges them: more than 32 prefixes, or one over
//  255 bytes, gets a NACK (see zeb_consumer_error). Changing the types
//  drops buffered events and the FETCH in flight, ends any backoff, and
//  reads on from zeb_consumer_position with the new filter.
void
    zeb_consumer_set_types (zeb_consumer_t *self, const char *types);

//  Events asked for per FETCH (default ZEB_CONSUMER_BATCH; 0 counts as 1;
//  the log caps it, 1000 by default). From the next FETCH on.
void
    zeb_consumer_set_batch (zeb_consumer_t *self, size_t batch);

//  How long the log may hold a FETCH that finds nothing, ms (default
//  ZEB_CONSUMER_WAIT, at most ZEB_CONSUMER_MAX_WAIT; negative counts as
//  0). From the next FETCH on. With 0 the log answers at once, and every
//  empty answer makes the consumer ask again at its next call: that reads
//  to the end quickly (zeb_cursor does it) but busy-loops an owner that
//  keeps calling; owners want a wait.
void
    zeb_consumer_set_wait (zeb_consumer_t *self, int wait_ms);

//  A FETCH without a reply within its wait + timeout_ms is sent again
//  (default ZEB_CONSUMER_TIMEOUT; at least 1). From the next FETCH on.
void
    zeb_consumer_set_timeout (zeb_consumer_t *self, int timeout_ms);

//  The DEALER connected to the log, for the owner's zpoller or zloop
//  (borrowed; the consumer owns it; never NULL). When it is readable, call
//  zeb_consumer_handle. Do not read from it or send on it yourself.
zsock_t *
    zeb_consumer_socket (zeb_consumer_t *self);

//  Read the replies waiting on the socket, without waiting for any (safe
//  to call when nothing is there), at most 16 per call; then send a FETCH
//  if one is due. Returns the number of replies read, 0 if none was
//  waiting. A zpoller (level-triggered) calls it once per wake-up; an
//  owner polling the socket's ZMQ_FD (edge-triggered) must call it until
//  it returns 0, and also after zeb_consumer_next (which may send): or
//  simply use zeb_consumer_next_timeout, which is 0 while replies wait.
int
    zeb_consumer_handle (zeb_consumer_t *self);

//  The next event in sequence order, or NULL if none is buffered; never
//  waits. Caller owns the event. When the buffer is empty, it first reads
//  replies waiting on the socket (as zeb_consumer_handle does), so an
//  owner may just poll the socket and call next until NULL. Sends a FETCH
//  when the buffer runs low and none is in flight (and no backoff runs).
zeb_event_t *
    zeb_consumer_next (zeb_consumer_t *self);

//  Milliseconds until the consumer must be called again (next or handle)
//  even if its socket stays quiet: 0 when events are buffered, a reply is
//  waiting or a FETCH is due now; else the time until the FETCH in flight
//  is overdue, or until a backoff ends. Use it (or less) as the poll
//  timeout. Never negative.
int
    zeb_consumer_next_timeout (zeb_consumer_t *self);

//  The sequence the consumer delivers from next: after an event came
//  from zeb_consumer_next, its sequence + 1, or further when the log
//  reported that the events after it are of other types. Restarting a
//  consumer from this position skips nothing it has not delivered. 0
//  until the first reply when created with from 0.
uint64_t
    zeb_consumer_position (zeb_consumer_t *self);

//  Go on from sequence (0: the oldest retained): buffered events and the
//  FETCH in flight are dropped (its reply will be dropped when it comes).
//  A backoff running goes on. Counters are kept.
void
    zeb_consumer_seek (zeb_consumer_t *self, uint64_t sequence);

//  Events deleted by retention before this consumer could read them, in
//  all (zeb_consumer_stats has the number of gaps).
uint64_t
    zeb_consumer_missed (zeb_consumer_t *self);

//  True when nothing is buffered and the newest reply said the log holds
//  nothing further for us: the position is past the newest committed
//  event. False until the first reply after new, seek or set_types; the
//  log holds a FETCH from beyond its end until an event comes or the
//  wait ends, so after a seek past the end this can take the wait.
bool
    zeb_consumer_caught_up (zeb_consumer_t *self);

//  The error of the newest failed reply (a zeb_error_t: the NACK's code,
//  or ZEB_EPROTOCOL for a reply that cannot be read), or 0 if the newest
//  reply was good or none failed yet. No reply (log down) is not an
//  error: see stats.resends.
int
    zeb_consumer_error (zeb_consumer_t *self);

//  The text of that error (the log's reason); "" when there is none.
//  Borrowed, valid until the next call on the consumer.
const char *
    zeb_consumer_error_text (zeb_consumer_t *self);

//  Copy the counters into stats.
void
    zeb_consumer_stats (zeb_consumer_t *self, zeb_consumer_stats_t *stats);

//  Self test, against a log played by the test (tests/consumer_test.c
//  runs a consumer against a real node)
void
    zeb_consumer_test (bool verbose);

#ifdef __cplusplus
}
#endif

#endif
