/*  =========================================================================
    zeb_consumer - a durable reader of the event log that never blocks

    State: at most one FETCH in flight (`in_flight`, its tag `tag`, when it
    is overdue `overdue`); `fetch_from` is the `next` of the newest good
    reply (or where a seek or the start put us): the next FETCH asks from
    there, so a prefetch continues behind the buffered events. `position`
    is what zeb_consumer_position reports while events are buffered; with
    an empty buffer the position is `fetch_from`.

    Tags are zeb_proto's: 'C' and a big-endian counter, a new one per
    FETCH. A reply is taken only if it carries the tag of the FETCH in
    flight; giving up on a FETCH (overdue, seek, set_types) just clears
    in_flight, so its reply, should it still come, is stale.

    FETCH bodies and EVENTS replies are built and read by zeb_proto
    (zeb_proto_pack_fetch, zeb_proto_parse_events), as zeb_client does.
    =========================================================================
*/

#include "zeb_classes.h"
#include <limits.h>

#define S_TAG_KIND      'C'
#define S_HANDLE_MAX    16          //  replies read by one handle call

struct _zeb_consumer_t {
    zsock_t *socket;                //  DEALER to the log
    void *handle;                   //  its libzmq socket
    char *types;                    //  comma-separated prefixes, or NULL
    size_t batch;
    int wait;                       //  ms, per FETCH
    int timeout;                    //  ms, on top of the wait
    uint64_t position;              //  next to deliver, while events are buffered
    uint64_t fetch_from;            //  where the next FETCH starts
    zlistx_t *buffer;               //  zeb_event_t, in sequence order
    zlistx_t *incoming;             //  scratch: a reply's events
    bool in_flight;
    uint64_t tag;                   //  counter of the FETCH in flight
    uint64_t next_tag;
    int64_t overdue;                //  ms, monotonic: give up on the FETCH in flight
    int64_t retry_at;               //  ms, monotonic: no FETCH before (backoff)
    int backoff;                    //  ms, the next delay after a failure
    bool answered;                  //  a good reply came since start, seek or set_types
    int error;                      //  of the newest failed reply, or 0
    char error_text [200];
    zeb_consumer_stats_t stats;
    msgpack_sbuffer body;           //  scratch: FETCH body
};

static int64_t
s_now (void)
{
    return zeb_time_mono_us () / 1000;
}

static void
s_event_destroy (void **item_p)
{
    zeb_event_destroy ((zeb_event_t **) item_p);
}

zeb_consumer_t *
zeb_consumer_new (const char *log_endpoint, uint64_t from)
{
    assert (log_endpoint);
    zeb_consumer_t *self = (zeb_consumer_t *) zmalloc (sizeof (zeb_consumer_t));
    if (!self)
        return NULL;
    self->batch = ZEB_CONSUMER_BATCH;
    self->wait = ZEB_CONSUMER_WAIT;
    self->timeout = ZEB_CONSUMER_TIMEOUT;
    self->backoff = ZEB_CONSUMER_BACKOFF_MIN;
    self->position = self->fetch_from = from;
    self->next_tag = 1;
    msgpack_sbuffer_init (&self->body);
    self->buffer = zlistx_new ();
    self->incoming = zlistx_new ();
    //  Requests to a log that is down wait in the queue, a few at most
    self->socket = zeb_proto_dealer_new (log_endpoint, ZEB_CONSUMER_SNDHWM, 0);
    if (!self->buffer || !self->incoming || !self->socket)
        goto failed;
    zlistx_set_destructor (self->buffer, s_event_destroy);
    zlistx_set_destructor (self->incoming, s_event_destroy);
    self->handle = zsock_resolve (self->socket);
    return self;

failed:
    zeb_consumer_destroy (&self);
    return NULL;
}

void
zeb_consumer_destroy (zeb_consumer_t **self_p)
{
    assert (self_p);
    zeb_consumer_t *self = *self_p;
    if (self) {
        zsock_destroy (&self->socket);
        zlistx_destroy (&self->buffer);
        zlistx_destroy (&self->incoming);
        zstr_free (&self->types);
        msgpack_sbuffer_destroy (&self->body);
        free (self);
        *self_p = NULL;
    }
}

//  Drop what is buffered and in flight; read on from sequence
static void
s_restart (zeb_consumer_t *self, uint64_t sequence)
{
    zlistx_purge (self->buffer);
    self->in_flight = false;
    self->answered = false;
    self->position = self->fetch_from = sequence;
}

void
zeb_consumer_set_types (zeb_consumer_t *self, const char *types)
{
    assert (self);
    zstr_free (&self->types);
    self->types = types && *types? strdup (types): NULL;
    s_restart (self, zeb_consumer_position (self));
    //  The filter may have been what the log refused
    self->retry_at = 0;
    self->backoff = ZEB_CONSUMER_BACKOFF_MIN;
}

void
zeb_consumer_set_batch (zeb_consumer_t *self, size_t batch)
{
    assert (self);
    self->batch = batch? batch: 1;
}

void
zeb_consumer_set_wait (zeb_consumer_t *self, int wait_ms)
{
    assert (self);
    self->wait = wait_ms < 0? 0: wait_ms > ZEB_CONSUMER_MAX_WAIT? ZEB_CONSUMER_MAX_WAIT: wait_ms;
}

void
zeb_consumer_set_timeout (zeb_consumer_t *self, int timeout_ms)
{
    assert (self);
    self->timeout = timeout_ms > 0? timeout_ms: 1;
}

zsock_t *
zeb_consumer_socket (zeb_consumer_t *self)
{
    assert (self);
    return self->socket;
}

//  ---------------------------------------------------------------------
//  Requests

static void
s_send_fetch (zeb_consumer_t *self)
{
    msgpack_sbuffer_clear (&self->body);
    if (zeb_proto_pack_fetch (&self->body, self->fetch_from, -1, self->batch, self->wait,
                              self->types))
        return;                     //  out of memory: tried again at the next call
    uint8_t tag [ZEB_PROTO_TAG_SIZE];
    uint64_t counter = zeb_proto_tag_next (&self->next_tag, S_TAG_KIND, tag);
    //  A full queue (the log unreachable for long) refuses the request:
    //  it counts as sent and lost, and goes again when it is overdue
    zeb_proto_send (self->handle, NULL, ZEB_CMD_FETCH, self->body.data, self->body.size,
                    tag, ZEB_PROTO_TAG_SIZE, ZMQ_DONTWAIT);
    self->in_flight = true;
    self->tag = counter;
    self->overdue = s_now () + self->wait + self->timeout;
    self->stats.fetches++;
}

//  Give up on an overdue FETCH; send one if the buffer is low and no
//  backoff runs
static void
s_pump (zeb_consumer_t *self)
{
    int64_t now = s_now ();
    if (self->in_flight && now >= self->overdue) {
        self->in_flight = false;    //  its reply, if it comes, is stale
        self->stats.resends++;
    }
    size_t low_water = (self->batch + 1) / 2;
    if (!self->in_flight && zlistx_size (self->buffer) < low_water && now >= self->retry_at)
        s_send_fetch (self);
}

//  ---------------------------------------------------------------------
//  Replies

static void
s_failed (zeb_consumer_t *self, int code, const char *text)
{
    self->error = code? code: ZEB_ERROR;
    snprintf (self->error_text, sizeof (self->error_text), "%s", text);
    self->stats.errors++;
    self->retry_at = s_now () + self->backoff;
    self->backoff = self->backoff * 2 > ZEB_CONSUMER_BACKOFF_MAX?
                    ZEB_CONSUMER_BACKOFF_MAX: self->backoff * 2;
}

//  A good EVENTS reply: count a retention gap, buffer the events
static void
s_accept (zeb_consumer_t *self, uint64_t first, uint64_t last, uint64_t next)
{
    //  Deleted before we read them: the log starts at first, past where
    //  we asked; or it is empty although it went beyond where we asked
    uint64_t gap = 0;
    if (self->fetch_from && first > self->fetch_from)
        gap = first - self->fetch_from;
    else
    if (self->fetch_from && first == 0 && next > self->fetch_from)
        gap = next - self->fetch_from;
    if (gap) {
        self->stats.missed += gap;
        self->stats.gaps++;
    }
    if (zlistx_size (self->buffer) == 0)
        self->position = self->fetch_from;
    size_t count = zlistx_size (self->incoming);
    zeb_event_t *event;
    while ((event = (zeb_event_t *) zlistx_detach (self->incoming, NULL)))
        zlistx_add_end (self->buffer, event);
    self->fetch_from = next;
    self->answered = true;
    self->error = 0;
    self->error_text [0] = 0;
    self->backoff = ZEB_CONSUMER_BACKOFF_MIN;
    self->stats.replies++;
    if (count == 0)
        self->stats.empty++;
    self->stats.first = first;
    self->stats.last = last;
}

//  Act on one reply: [command] [body] [tag]
static void
s_reply (zeb_consumer_t *self, zeb_proto_reply_t *reply)
{
    uint64_t counter;
    if (!zeb_proto_reply_tag (reply, S_TAG_KIND, &counter)
    ||  !self->in_flight || counter != self->tag) {
        self->stats.stale++;        //  late, or not ours
        return;
    }
    self->in_flight = false;
    size_t size;
    const void *body = zeb_proto_reply_body (reply, &size);
    uint64_t first, last, next;
    if (zeb_proto_reply_is (reply, ZEB_CMD_EVENTS)) {
        if (zeb_proto_parse_events (body, size, self->fetch_from, &first, &last, &next,
                                    self->incoming) == 0)
            s_accept (self, first, last, next);
        else
            s_failed (self, ZEB_EPROTOCOL, "unreadable EVENTS reply");
    }
    else
    if (zeb_proto_reply_is (reply, ZEB_CMD_NACK)) {
        zeb_fault_t fault = { 0 };
        int64_t index;
        if (zeb_proto_parse_nack (body, size, &fault, &index))
            s_failed (self, ZEB_EPROTOCOL, "unreadable NACK");
        else
            s_failed (self, fault.code, fault.text);
    }
    else
        s_failed (self, ZEB_EPROTOCOL, "unexpected reply to FETCH");
}

//  Read one message if one is waiting. Returns 1 if one was read, else 0.
static int
s_receive (zeb_consumer_t *self)
{
    zeb_proto_reply_t reply;
    if (zeb_proto_reply_recv (self->handle, &reply, 0))
        return 0;
    if (reply.frames >= 2 && reply.frames <= 3)
        s_reply (self, &reply);
    else
        self->stats.stale++;        //  not a ZEB/1 reply: cannot be ours
    zeb_proto_reply_close (&reply);
    return 1;
}

int
zeb_consumer_handle (zeb_consumer_t *self)
{
    assert (self);
    int read = 0;
    while (read < S_HANDLE_MAX && s_receive (self))
        read++;
    s_pump (self);
    return read;
}

zeb_event_t *
zeb_consumer_next (zeb_consumer_t *self)
{
    assert (self);
    if (zlistx_size (self->buffer) == 0)
        for (int read = 0; read < S_HANDLE_MAX && s_receive (self); read++)
            ;
    zeb_event_t *event = (zeb_event_t *) zlistx_detach (self->buffer, NULL);
    if (event) {
        self->position = zeb_event_sequence (event) + 1;
        self->stats.events++;
    }
    s_pump (self);
    return event;
}

int
zeb_consumer_next_timeout (zeb_consumer_t *self)
{
    assert (self);
    if (zlistx_size (self->buffer) || (zsock_events (self->socket) & ZMQ_POLLIN))
        return 0;
    int64_t due = self->in_flight? self->overdue: self->retry_at;
    int64_t left = due - s_now ();
    return left <= 0? 0: left > INT_MAX? INT_MAX: (int) left;
}

uint64_t
zeb_consumer_position (zeb_consumer_t *self)
{
    assert (self);
    return zlistx_size (self->buffer)? self->position: self->fetch_from;
}

void
zeb_consumer_seek (zeb_consumer_t *self, uint64_t sequence)
{
    assert (self);
    s_restart (self, sequence);
}

uint64_t
zeb_consumer_missed (zeb_consumer_t *self)
{
    assert (self);
    return self->stats.missed;
}

bool
zeb_consumer_caught_up (zeb_consumer_t *self)
{
    assert (self);
    return self->answered && zlistx_size (self->buffer) == 0
        && self->fetch_from > self->stats.last;
}

int
zeb_consumer_error (zeb_consumer_t *self)
{
    assert (self);
    return self->error;
}

const char *
zeb_consumer_error_text (zeb_consumer_t *self)
{
    assert (self);
    return self->error_text;
}

void
zeb_consumer_stats (zeb_consumer_t *self, zeb_consumer_stats_t *stats)
{
    assert (self);
    assert (stats);
    *stats = self->stats;
}

//  ---------------------------------------------------------------------
//  Self test: the log is played by the test on a ROUTER, in this thread

typedef struct {
    zmsg_t *request;            //  [identity] [FETCH] [body] [tag]
    uint64_t from;
    uint64_t max;
    int64_t wait_ms;
    size_t types;               //  prefixes asked for
} s_test_fetch_t;

//  The next FETCH the fake log got, within timeout_ms; false if none
static bool
s_test_fetch (zsock_t *log, int timeout_ms, s_test_fetch_t *fetch)
{
    memset (fetch, 0, sizeof (*fetch));
    zsock_set_rcvtimeo (log, timeout_ms);
    fetch->request = zmsg_recv (log);
    if (!fetch->request)
        return false;
    assert (zmsg_size (fetch->request) == 4);
    zframe_t *frame = zmsg_next (fetch->request);
    frame = zmsg_next (fetch->request);
    assert (zframe_streq (frame, ZEB_CMD_FETCH));
    frame = zmsg_next (fetch->request);
    const void *body = zframe_data (frame);
    size_t size = zframe_size (frame);
    assert (zeb_proto_is_map (body, size));
    assert (zeb_proto_get_uint (body, size, "from", &fetch->from) == 0);
    assert (zeb_proto_get_uint (body, size, "max", &fetch->max) == 0);
    assert (zeb_proto_get_int (body, size, "wait_ms", &fetch->wait_ms) == 0);
    zeb_mpk_t reader;
    uint32_t count = 0;
    if (zeb_mpk_find (body, size, "types", &reader) == 0)
        assert (zeb_mpk_read_array (&reader, &count) == 0);
    fetch->types = count;
    return true;
}

//  Answer a FETCH with [command] [body given as JSON] and its tag
static void
s_test_answer (zsock_t *log, s_test_fetch_t *fetch, const char *command, const char *json)
{
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    int rc = zeb_json_pack_text (json, strlen (json), &body, NULL);
    assert (rc == 0);
    zframe_t *identity = zmsg_pop (fetch->request);
    zframe_t *tag = zmsg_last (fetch->request);
    zmsg_t *reply = zmsg_new ();
    zmsg_append (reply, &identity);
    zmsg_addstr (reply, command);
    zmsg_addmem (reply, body.data, body.size);
    zmsg_addmem (reply, zframe_data (tag), zframe_size (tag));
    zmsg_send (&reply, log);
    zmsg_destroy (&fetch->request);
    msgpack_sbuffer_destroy (&body);
}

//  Poll the consumer as an owner would until it delivers an event or
//  timeout_ms pass
static zeb_event_t *
s_test_next (zeb_consumer_t *consumer, int timeout_ms)
{
    int64_t deadline = s_now () + timeout_ms;
    zpoller_t *poller = zpoller_new (zeb_consumer_socket (consumer), NULL);
    zeb_event_t *event = NULL;
    while (!(event = zeb_consumer_next (consumer))) {
        int64_t left = deadline - s_now ();
        if (left <= 0)
            break;
        int wait = zeb_consumer_next_timeout (consumer);
        if (zpoller_wait (poller, wait < left? wait: (int) left))
            zeb_consumer_handle (consumer);
    }
    zpoller_destroy (&poller);
    return event;
}

#define S_TEST_EVENT(n) "{\"type\":\"t.x\",\"source\":\"test\",\"id\":\"e" #n "\",\"sequence\":" #n "}"

void
zeb_consumer_test (bool verbose)
{
    printf (" * zeb_consumer: ");
    zsock_t *log = zsock_new_router ("inproc://zeb-consumer-fake-log");
    assert (log);
    assert (zeb_consumer_new ("nonsense://", 0) == NULL);
    zeb_consumer_t *consumer = zeb_consumer_new ("inproc://zeb-consumer-fake-log", 5);
    assert (consumer);
    zeb_consumer_set_batch (consumer, 4);
    zeb_consumer_set_wait (consumer, 100);
    zeb_consumer_set_timeout (consumer, 100);
    zeb_consumer_stats_t stats;

    //  Nothing is sent before the first call; then one FETCH from 5
    s_test_fetch_t fetch, held;
    assert (!s_test_fetch (log, 50, &fetch));
    assert (zeb_consumer_position (consumer) == 5 && !zeb_consumer_caught_up (consumer));
    assert (zeb_consumer_next (consumer) == NULL);
    assert (zeb_consumer_next (consumer) == NULL);          //  still one in flight
    assert (s_test_fetch (log, 1000, &fetch));
    assert (fetch.from == 5 && fetch.max == 4 && fetch.wait_ms == 100 && fetch.types == 0);
    assert (zeb_consumer_next_timeout (consumer) > 0);
    s_test_answer (log, &fetch, "EVENTS", "{\"first\":1,\"last\":7,\"next\":8,\"count\":3,\"events\":["
                   S_TEST_EVENT (5) "," S_TEST_EVENT (6) "," S_TEST_EVENT (7) "]}");
    zeb_event_t *event = s_test_next (consumer, 1000);
    assert (event && zeb_event_sequence (event) == 5);
    assert (zeb_consumer_position (consumer) == 6);
    zeb_event_destroy (&event);
    //  One left of a batch of 4: the next FETCH goes out behind it
    event = zeb_consumer_next (consumer);
    assert (event && zeb_event_sequence (event) == 6);
    zeb_event_destroy (&event);
    assert (s_test_fetch (log, 1000, &held));
    assert (held.from == 8);
    event = zeb_consumer_next (consumer);
    assert (event && zeb_event_sequence (event) == 7);
    zeb_event_destroy (&event);
    assert (zeb_consumer_position (consumer) == 8 && zeb_consumer_caught_up (consumer));

    //  No reply within wait + timeout: the FETCH goes again, with a new tag
    int64_t started = s_now ();
    assert (s_test_next (consumer, 300) == NULL);
    assert (s_test_fetch (log, 1000, &fetch));
    assert (fetch.from == 8 && s_now () - started >= 150);
    zeb_consumer_stats (consumer, &stats);
    assert (stats.resends == 1 && stats.fetches == 3);
    //  The late reply to the first is dropped
    s_test_answer (log, &held, "EVENTS", "{\"first\":1,\"last\":8,\"next\":9,\"count\":1,\"events\":["
                   S_TEST_EVENT (8) "]}");
    assert (s_test_next (consumer, 50) == NULL);
    zeb_consumer_stats (consumer, &stats);
    assert (stats.stale == 1 && stats.replies == 1 && zeb_consumer_position (consumer) == 8);

    //  A NACK: kept, counted, and the next FETCH waits for the backoff
    s_test_answer (log, &fetch, "NACK",
                   "{\"code\":400,\"reason\":\"INVALID_ATTRIBUTE\",\"error\":\"bad types\"}");
    assert (s_test_next (consumer, 50) == NULL);
    assert (zeb_consumer_error (consumer) == ZEB_EINVALID);
    assert (streq (zeb_consumer_error_text (consumer), "bad types"));
    zeb_consumer_stats (consumer, &stats);
    assert (stats.errors == 1 && stats.fetches == 3);
    assert (s_test_next (consumer, 150) == NULL);           //  the backoff ends
    assert (s_test_fetch (log, 1000, &fetch));
    assert (fetch.from == 8);
    //  A reply going back is unreadable: an error too, and twice the delay
    s_test_answer (log, &fetch, "EVENTS", "{\"first\":1,\"last\":8,\"next\":9,\"count\":1,\"events\":["
                   S_TEST_EVENT (3) "]}");
    assert (s_test_next (consumer, 50) == NULL);
    assert (zeb_consumer_error (consumer) == ZEB_EPROTOCOL);
    int delay = zeb_consumer_next_timeout (consumer);
    assert (delay > 50 && delay <= 2 * ZEB_CONSUMER_BACKOFF_MIN);
    //  New types end the backoff: a FETCH at once, with the prefixes
    zeb_consumer_set_types (consumer, "a., b.");
    assert (zeb_consumer_next_timeout (consumer) == 0);
    assert (zeb_consumer_next (consumer) == NULL);
    assert (s_test_fetch (log, 1000, &fetch));
    assert (fetch.from == 8 && fetch.types == 2);
    s_test_answer (log, &fetch, "EVENTS", "{\"first\":1,\"last\":8,\"next\":9,\"count\":0,\"events\":[]}");
    assert (s_test_next (consumer, 50) == NULL);
    assert (zeb_consumer_caught_up (consumer) && zeb_consumer_error (consumer) == 0);
    assert (zeb_consumer_position (consumer) == 9);

    //  Seek back before the log's first event: the gap is counted
    assert (s_test_fetch (log, 1000, &held));               //  the long-poll in flight
    zeb_consumer_seek (consumer, 2);
    assert (zeb_consumer_position (consumer) == 2 && !zeb_consumer_caught_up (consumer));
    assert (zeb_consumer_next (consumer) == NULL);
    assert (s_test_fetch (log, 1000, &fetch));
    assert (fetch.from == 2);
    s_test_answer (log, &held, "EVENTS", "{\"first\":1,\"last\":8,\"next\":9,\"count\":0,\"events\":[]}");
    s_test_answer (log, &fetch, "EVENTS", "{\"first\":5,\"last\":8,\"next\":6,\"count\":1,\"events\":["
                   S_TEST_EVENT (5) "]}");
    event = s_test_next (consumer, 1000);
    assert (event && zeb_event_sequence (event) == 5);
    zeb_event_destroy (&event);
    assert (zeb_consumer_missed (consumer) == 3);
    zeb_consumer_stats (consumer, &stats);
    assert (stats.gaps == 1 && stats.stale == 2 && stats.events == 4 && stats.first == 5);
    if (verbose)
        printf ("%llu fetches; ", (unsigned long long) stats.fetches);

    zeb_consumer_destroy (&consumer);
    zeb_consumer_destroy (&consumer);
    zsock_destroy (&log);
    printf ("OK\n");
}
