/*  =========================================================================
    zeb_client - the C client: publish, subscribe live, read the log

    Tags: nine bytes, a kind ('P' publish, 'R' request) and a big-endian
    counter. Publishes in flight sit in a FIFO ring in tag order; the node
    acknowledges one connection's PUBLISHes in the order it received them,
    so an ack for tag t also tells us that any older tag still in the ring
    was lost on the way (a reconnect): those complete with ZEB_ETIMEOUT,
    outcome unknown. Replies with a tag we no longer wait for are dropped.
    =========================================================================
*/

#include "zeb.h"

#define S_TAG_SIZE 9

typedef struct {
    uint64_t tag;
    zeb_ack_fn *fn;
    void *arg;
    int64_t sent_us;
    zeb_ack_t *result;          //  a synchronous publish waits on this
    bool *done;
} s_flight_t;

struct _zeb_client_t {
    char *endpoint;
    zsock_t *ingest;            //  DEALER
    zsock_t *log;               //  DEALER, once needed
    zsock_t *bus;               //  SUB, once needed
    bool connected;
    char *node;
    char *log_endpoint;
    char *bus_endpoint;
    int timeout;
    size_t window;
    s_flight_t *ring;
    size_t ring_size;
    size_t head;                //  oldest in flight
    size_t count;               //  in flight
    uint64_t next_tag;
    msgpack_sbuffer buffer;
};

struct _zeb_cursor_t {
    zeb_client_t *client;
    uint64_t position;          //  next sequence to hand out
    uint64_t fetch_from;        //  where the next fetch starts
    char *types;
    size_t batch;
    zeb_fetch_t buffered;
    uint64_t missed;
};

static void
s_tag_make (uint8_t *tag, char kind, uint64_t counter)
{
    tag [0] = (uint8_t) kind;
    zeb_event_patch_sequence (tag, 1, counter);
}

static uint64_t
s_tag_counter (const uint8_t *tag)
{
    uint64_t counter = 0;
    for (int index = 1; index < S_TAG_SIZE; index++)
        counter = (counter << 8) | tag [index];
    return counter;
}

static zsock_t *
s_dealer (const char *endpoint)
{
    zsock_t *socket = zsock_new (ZMQ_DEALER);
    if (!socket)
        return NULL;
    zsock_set_linger (socket, 0);
    zsock_set_immediate (socket, 1);        //  no queueing for absent peers
    zsock_set_sndhwm (socket, 100000);
    zsock_set_rcvhwm (socket, 100000);
    zsock_set_reconnect_ivl (socket, 100);
    zsock_set_reconnect_ivl_max (socket, 1000);
    if (zsock_connect (socket, "%s", endpoint)) {
        zsock_destroy (&socket);
        return NULL;
    }
    return socket;
}

zeb_client_t *
zeb_client_new (const char *endpoint)
{
    assert (endpoint);
    zeb_client_t *self = (zeb_client_t *) zmalloc (sizeof (zeb_client_t));
    if (!self)
        return NULL;
    self->endpoint = strdup (endpoint);
    self->ingest = s_dealer (endpoint);
    self->timeout = ZEB_CLIENT_TIMEOUT;
    self->window = ZEB_CLIENT_WINDOW;
    self->next_tag = 1;
    msgpack_sbuffer_init (&self->buffer);
    if (!self->ingest)
        zeb_client_destroy (&self);
    return self;
}

void
zeb_client_destroy (zeb_client_t **self_p)
{
    assert (self_p);
    zeb_client_t *self = *self_p;
    if (self) {
        zsock_destroy (&self->ingest);
        zsock_destroy (&self->log);
        zsock_destroy (&self->bus);
        free (self->ring);
        msgpack_sbuffer_destroy (&self->buffer);
        zstr_free (&self->endpoint);
        zstr_free (&self->node);
        zstr_free (&self->log_endpoint);
        zstr_free (&self->bus_endpoint);
        free (self);
        *self_p = NULL;
    }
}

void
zeb_client_set_timeout (zeb_client_t *self, int timeout_ms)
{
    assert (self);
    self->timeout = timeout_ms > 0? timeout_ms: 1;
}

void
zeb_client_set_window (zeb_client_t *self, size_t window)
{
    assert (self);
    if (self->count == 0 && window > 0) {
        self->window = window;
        free (self->ring);
        self->ring = NULL;
        self->ring_size = 0;
    }
}

//  ---------------------------------------------------------------------
//  Replies

typedef struct {
    zmq_msg_t parts [3];        //  command, body, tag
    int count;
} s_reply_t;

static void
s_reply_close (s_reply_t *reply)
{
    for (int index = 0; index < reply->count; index++)
        zmq_msg_close (&reply->parts [index]);
    reply->count = 0;
}

//  Receive one reply from socket within timeout_ms. Returns 0, or -1 on
//  timeout. Extra frames are dropped.
static int
s_reply_recv (zsock_t *socket, s_reply_t *reply, int timeout_ms)
{
    void *handle = zsock_resolve (socket);
    reply->count = 0;
    //  Try first: a poll is a system call, a failed receive is not
    zmq_msg_init (&reply->parts [0]);
    if (zmq_msg_recv (&reply->parts [0], handle, ZMQ_DONTWAIT) < 0) {
        zmq_pollitem_t item = { handle, 0, ZMQ_POLLIN, 0 };
        if (timeout_ms == 0 || zmq_poll (&item, 1, timeout_ms) <= 0
        ||  zmq_msg_recv (&reply->parts [0], handle, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close (&reply->parts [0]);
            return -1;
        }
    }
    reply->count = 1;
    bool more = zmq_msg_more (&reply->parts [0]);
    while (more) {
        zmq_msg_t extra;
        zmq_msg_t *part = reply->count < 3? &reply->parts [reply->count]: &extra;
        zmq_msg_init (part);
        if (zmq_msg_recv (part, handle, 0) < 0) {
            zmq_msg_close (part);
            break;
        }
        more = zmq_msg_more (part);
        if (part == &extra)
            zmq_msg_close (&extra);
        else
            reply->count++;
    }
    return reply->count? 0: -1;
}

static bool
s_reply_is (s_reply_t *reply, const char *command)
{
    size_t len = strlen (command);
    return reply->count >= 1 && zmq_msg_size (&reply->parts [0]) == len
        && memcmp (zmq_msg_data (&reply->parts [0]), command, len) == 0;
}

static bool
s_reply_tag (s_reply_t *reply, char kind, uint64_t *counter)
{
    if (reply->count < 3 || zmq_msg_size (&reply->parts [2]) != S_TAG_SIZE)
        return false;
    const uint8_t *tag = (const uint8_t *) zmq_msg_data (&reply->parts [2]);
    if (tag [0] != (uint8_t) kind)
        return false;
    *counter = s_tag_counter (tag);
    return true;
}

//  Fill an ack from an ACK or NACK reply
static void
s_ack_parse (s_reply_t *reply, zeb_ack_t *ack)
{
    memset (ack, 0, sizeof (*ack));
    ack->index = -1;
    const void *body = reply->count >= 2? zmq_msg_data (&reply->parts [1]): NULL;
    size_t size = reply->count >= 2? zmq_msg_size (&reply->parts [1]): 0;
    if (s_reply_is (reply, ZEB_CMD_ACK)) {
        if (zeb_proto_get_uint (body, size, "sequence", &ack->sequence) == 0)
            zeb_proto_get_bool (body, size, "duplicate", &ack->duplicate);
        else {
            //  An array: the first event's sequence; duplicate if any was
            zeb_mpk_t reader;
            uint32_t count;
            if (zeb_mpk_find (body, size, "sequences", &reader) == 0
            &&  zeb_mpk_read_array (&reader, &count) == 0 && count > 0)
                zeb_mpk_read_uint (&reader, &ack->sequence);
            if (zeb_mpk_find (body, size, "duplicates", &reader) == 0
            &&  zeb_mpk_read_array (&reader, &count) == 0)
                ack->duplicate = count > 0;
        }
        if (ack->sequence == 0) {
            ack->status = ZEB_EPROTOCOL;
            snprintf (ack->error, sizeof (ack->error), "ACK without a sequence");
        }
    }
    else
    if (s_reply_is (reply, ZEB_CMD_NACK)) {
        zeb_fault_t fault = { 0 };
        if (zeb_proto_parse_nack (body, size, &fault, &ack->index)) {
            fault.code = ZEB_EPROTOCOL;
            snprintf (fault.text, sizeof (fault.text), "unreadable NACK");
        }
        ack->status = fault.code? fault.code: ZEB_ERROR;
        snprintf (ack->error, sizeof (ack->error), "%s", fault.text);
    }
    else {
        ack->status = ZEB_EPROTOCOL;
        snprintf (ack->error, sizeof (ack->error), "unexpected reply to PUBLISH");
    }
}

static void
s_flight_complete (zeb_client_t *self, s_flight_t *flight, zeb_ack_t *ack)
{
    ack->latency_us = zeb_time_mono_us () - flight->sent_us;
    if (flight->result) {
        *flight->result = *ack;
        *flight->done = true;
    }
    if (flight->fn)
        flight->fn (ack, flight->arg);
}

//  Complete the oldest flight in the ring with ack
static void
s_pop_flight (zeb_client_t *self, zeb_ack_t *ack)
{
    s_flight_t flight = self->ring [self->head];
    self->head = (self->head + 1) % self->ring_size;
    self->count--;
    s_flight_complete (self, &flight, ack);
}

static void
s_expire (zeb_client_t *self, size_t how_many, const char *why)
{
    zeb_ack_t lost;
    memset (&lost, 0, sizeof (lost));
    lost.status = ZEB_ETIMEOUT;
    lost.index = -1;
    snprintf (lost.error, sizeof (lost.error), "%s", why);
    while (how_many-- && self->count)
        s_pop_flight (self, &lost);
}

//  A reply arrived on the ingest socket for a publish: settle the ring
static void
s_settle (zeb_client_t *self, s_reply_t *reply)
{
    uint64_t tag;
    if (!s_reply_tag (reply, 'P', &tag))
        return;                         //  not ours, or stale
    //  Older tags still in flight were lost on the way
    while (self->count && self->ring [self->head].tag < tag)
        s_expire (self, 1, "no acknowledgement (connection lost): outcome unknown, "
                           "publish again with the same idempotencykey");
    if (self->count && self->ring [self->head].tag == tag) {
        zeb_ack_t ack;
        s_ack_parse (reply, &ack);
        s_pop_flight (self, &ack);
    }
}

//  Wait on the ingest socket for one reply; publish replies settle the
//  ring, a reply for request tag `want` is handed back. Returns 1 if that
//  reply arrived (caller closes it), 0 if something else did, -1 on timeout.
static int
s_ingest_wait (zeb_client_t *self, int timeout_ms, uint64_t want, s_reply_t *wanted)
{
    s_reply_t reply;
    if (s_reply_recv (self->ingest, &reply, timeout_ms))
        return -1;
    uint64_t tag;
    if (want && s_reply_tag (&reply, 'R', &tag) && tag == want) {
        *wanted = reply;
        return 1;
    }
    s_settle (self, &reply);
    s_reply_close (&reply);
    return 0;
}

//  Send a request and wait for its reply (any command). Returns 0 and the
//  reply, or ZEB_ETIMEOUT / ZEB_EUNREACHABLE.
static int
s_request (zeb_client_t *self, zsock_t *socket, const char *command, const void *body,
           size_t size, int timeout_ms, s_reply_t *reply)
{
    uint8_t tag [S_TAG_SIZE];
    uint64_t counter = self->next_tag++;
    s_tag_make (tag, 'R', counter);
    void *handle = zsock_resolve (socket);
    int64_t deadline = zeb_time_mono_us () / 1000 + timeout_ms;
    zmq_pollitem_t item = { handle, 0, ZMQ_POLLOUT, 0 };
    while (zeb_proto_send (handle, NULL, command, body, size, tag, S_TAG_SIZE, ZMQ_DONTWAIT)) {
        int64_t left = deadline - zeb_time_mono_us () / 1000;
        if (zmq_errno () != EAGAIN || left <= 0 || zmq_poll (&item, 1, (long) left) <= 0)
            return ZEB_EUNREACHABLE;
    }
    while (true) {
        int64_t left = deadline - zeb_time_mono_us () / 1000;
        if (left < 0)
            return ZEB_ETIMEOUT;
        if (socket == self->ingest) {
            int rc = s_ingest_wait (self, (int) left, counter, reply);
            if (rc == 1)
                return 0;
            if (rc < 0)
                return ZEB_ETIMEOUT;
        }
        else {
            if (s_reply_recv (socket, reply, (int) left))
                return ZEB_ETIMEOUT;
            uint64_t got;
            if (s_reply_tag (reply, 'R', &got) && got == counter)
                return 0;
            s_reply_close (reply);      //  stale
        }
    }
}

//  Replace a wildcard host in an advertised endpoint with the host we
//  reach the ingest at. Caller owns the result.
static char *
s_resolve_endpoint (const char *advertised, const char *ingest)
{
    const char *hosts [] = { "tcp://*:", "tcp://0.0.0.0:", "tcp://[::]:" };
    for (size_t index = 0; index < 3; index++) {
        size_t len = strlen (hosts [index]);
        if (strncmp (advertised, hosts [index], len) == 0 && strncmp (ingest, "tcp://", 6) == 0) {
            const char *colon = strrchr (ingest, ':');
            if (colon && colon > ingest + 6)
                return zsys_sprintf ("%.*s:%s", (int) (colon - ingest), ingest, advertised + len);
        }
    }
    return strdup (advertised);
}

int
zeb_client_connect (zeb_client_t *self)
{
    assert (self);
    if (self->connected)
        return 0;
    msgpack_sbuffer_clear (&self->buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &self->buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 1);
    msgpack_pack_str_with_body (&pk, "version", 7);
    msgpack_pack_uint64 (&pk, ZEB_PROTO_VERSION);
    s_reply_t reply;
    int rc = s_request (self, self->ingest, ZEB_CMD_HELLO, self->buffer.data, self->buffer.size,
                        self->timeout, &reply);
    if (rc)
        return rc == ZEB_ETIMEOUT? ZEB_EUNREACHABLE: rc;
    if (s_reply_is (&reply, ZEB_CMD_NACK)) {
        s_reply_close (&reply);
        return ZEB_EVERSION;
    }
    const void *body = zmq_msg_data (&reply.parts [1]);
    size_t size = zmq_msg_size (&reply.parts [1]);
    const char *text;
    size_t len;
    if (!s_reply_is (&reply, ZEB_CMD_WELCOME)) {
        s_reply_close (&reply);
        return ZEB_EPROTOCOL;
    }
    zstr_free (&self->log_endpoint);
    zstr_free (&self->bus_endpoint);
    zstr_free (&self->node);
    if (zeb_proto_get_str (body, size, "log", &text, &len) == 0 && len) {
        char *advertised = strndup (text, len);
        self->log_endpoint = s_resolve_endpoint (advertised, self->endpoint);
        free (advertised);
    }
    if (zeb_proto_get_str (body, size, "bus", &text, &len) == 0 && len) {
        char *advertised = strndup (text, len);
        self->bus_endpoint = s_resolve_endpoint (advertised, self->endpoint);
        free (advertised);
    }
    if (zeb_proto_get_str (body, size, "node", &text, &len) == 0)
        self->node = strndup (text, len);
    s_reply_close (&reply);
    self->connected = true;
    return 0;
}

const char *
zeb_client_log_endpoint (zeb_client_t *self)
{
    assert (self);
    return self->log_endpoint;
}

const char *
zeb_client_bus_endpoint (zeb_client_t *self)
{
    assert (self);
    return self->bus_endpoint;
}

//  ---------------------------------------------------------------------
//  Publishing

int
zeb_client_poll (zeb_client_t *self, int timeout_ms)
{
    assert (self);
    int handled = 0;
    size_t before = self->count;
    if (s_ingest_wait (self, timeout_ms, 0, NULL) < 0)
        return 0;
    handled += (int) (before - self->count);
    //  Then whatever else is already waiting
    while (true) {
        before = self->count;
        if (s_ingest_wait (self, 0, 0, NULL) < 0)
            break;
        handled += (int) (before - self->count);
    }
    return handled;
}

//  Make room in the window, waiting at most the timeout; expire what is
//  older than the timeout. Returns 0 when there is room.
static int
s_make_room (zeb_client_t *self)
{
    if (!self->ring) {
        self->ring_size = self->window;
        self->ring = (s_flight_t *) calloc (self->ring_size, sizeof (s_flight_t));
        if (!self->ring)
            return ZEB_ERROR;
    }
    while (self->count == self->ring_size) {
        int64_t oldest = self->ring [self->head].sent_us;
        int64_t left_ms = (oldest + (int64_t) self->timeout * 1000 - zeb_time_mono_us ()) / 1000;
        if (left_ms <= 0)
            s_expire (self, 1, "no acknowledgement within the timeout: outcome unknown, "
                               "publish again with the same idempotencykey");
        else
            s_ingest_wait (self, (int) left_ms, 0, NULL);
    }
    return 0;
}

//  Send one PUBLISH and put it in flight. result/done, if set, receive
//  the outcome (a synchronous publish waits on them).
static int
s_publish (zeb_client_t *self, const void *data, size_t size, zeb_ack_fn *fn, void *arg,
           zeb_ack_t *result, bool *done)
{
    int rc = s_make_room (self);
    if (rc)
        return rc;
    uint8_t tag [S_TAG_SIZE];
    uint64_t counter = self->next_tag++;
    s_tag_make (tag, 'P', counter);
    void *handle = zsock_resolve (self->ingest);
    int64_t deadline = zeb_time_mono_us () + (int64_t) self->timeout * 1000;
    while (zeb_proto_send (handle, NULL, ZEB_CMD_PUBLISH, data, size, tag, S_TAG_SIZE, ZMQ_DONTWAIT)) {
        //  Queue full or no connection: take acks while waiting for room
        int64_t left = (deadline - zeb_time_mono_us ()) / 1000;
        if (zmq_errno () != EAGAIN || left <= 0)
            return ZEB_EUNREACHABLE;
        zmq_pollitem_t item = { handle, 0, ZMQ_POLLIN | ZMQ_POLLOUT, 0 };
        if (zmq_poll (&item, 1, (long) (left < 10? left: 10)) > 0 && (item.revents & ZMQ_POLLIN))
            zeb_client_poll (self, 0);
    }
    size_t slot = (self->head + self->count) % self->ring_size;
    s_flight_t *flight = &self->ring [slot];
    flight->tag = counter;
    flight->fn = fn;
    flight->arg = arg;
    flight->sent_us = zeb_time_mono_us ();
    flight->result = result;
    flight->done = done;
    self->count++;
    return 0;
}

int
zeb_client_publish_raw_async (zeb_client_t *self, const void *data, size_t size,
                              zeb_ack_fn *fn, void *arg)
{
    assert (self);
    int rc = zeb_client_connect (self);
    if (rc == 0)
        rc = s_publish (self, data, size, fn, arg, NULL, NULL);
    if (rc == 0)
        zeb_client_poll (self, 0);      //  acks already here: cheap, no syscall
    return rc;
}

int
zeb_client_publish_async (zeb_client_t *self, zeb_event_t *event, zeb_ack_fn *fn, void *arg)
{
    assert (self);
    assert (event);
    int rc = zeb_client_connect (self);     //  before encoding: HELLO uses the buffer
    if (rc)
        return rc;
    msgpack_sbuffer_clear (&self->buffer);
    if (zeb_event_encode (event, &self->buffer))
        return ZEB_ERROR;
    return zeb_client_publish_raw_async (self, self->buffer.data, self->buffer.size, fn, arg);
}

int
zeb_client_publish_raw (zeb_client_t *self, const void *data, size_t size, zeb_ack_t *ack)
{
    assert (self);
    zeb_ack_t local;
    if (!ack)
        ack = &local;
    memset (ack, 0, sizeof (*ack));
    ack->index = -1;
    bool done = false;
    int rc = zeb_client_connect (self);
    if (rc == 0)
        rc = s_publish (self, data, size, NULL, NULL, ack, &done);
    if (rc) {
        ack->status = rc;
        snprintf (ack->error, sizeof (ack->error), "%s", zeb_strerror (rc));
        return rc;
    }
    int64_t deadline = zeb_time_mono_us () + (int64_t) self->timeout * 1000;
    while (!done) {
        int64_t left = (deadline - zeb_time_mono_us ()) / 1000;
        if (left <= 0) {
            //  This and everything older: no answer in time
            s_expire (self, self->count, "no acknowledgement within the timeout: outcome "
                                         "unknown, publish again with the same idempotencykey");
            break;
        }
        s_ingest_wait (self, (int) left, 0, NULL);
    }
    return ack->status;
}

int
zeb_client_publish (zeb_client_t *self, zeb_event_t *event, zeb_ack_t *ack)
{
    assert (self);
    assert (event);
    int rc = zeb_client_connect (self);     //  before encoding: HELLO uses the buffer
    if (rc) {
        if (ack) {
            memset (ack, 0, sizeof (*ack));
            ack->status = rc;
            ack->index = -1;
            snprintf (ack->error, sizeof (ack->error), "%s", zeb_strerror (rc));
        }
        return rc;
    }
    msgpack_sbuffer_clear (&self->buffer);
    if (zeb_event_encode (event, &self->buffer))
        return ZEB_ERROR;
    return zeb_client_publish_raw (self, self->buffer.data, self->buffer.size, ack);
}

int
zeb_client_flush (zeb_client_t *self, int timeout_ms)
{
    assert (self);
    int64_t deadline = zeb_time_mono_us () / 1000 + timeout_ms;
    while (self->count) {
        int64_t left = deadline - zeb_time_mono_us () / 1000;
        if (left <= 0) {
            s_expire (self, self->count, "no acknowledgement within the flush timeout: "
                                         "outcome unknown");
            return ZEB_ETIMEOUT;
        }
        s_ingest_wait (self, (int) left, 0, NULL);
    }
    return 0;
}

size_t
zeb_client_pending (zeb_client_t *self)
{
    assert (self);
    return self->count;
}

//  ---------------------------------------------------------------------
//  Reading the log

static int
s_log_socket (zeb_client_t *self)
{
    if (self->log)
        return 0;
    int rc = zeb_client_connect (self);
    if (rc)
        return rc;
    if (!self->log_endpoint)
        return ZEB_ENOTFOUND;
    self->log = s_dealer (self->log_endpoint);
    return self->log? 0: ZEB_EUNREACHABLE;
}

static void
s_event_destroy (void **item_p)
{
    zeb_event_destroy ((zeb_event_t **) item_p);
}

void
zeb_fetch_reset (zeb_fetch_t *result)
{
    assert (result);
    zlistx_destroy (&result->events);
    result->first = result->last = result->next = 0;
}

static int
s_fetch (zeb_client_t *self, uint64_t from, int64_t time_ms, size_t max, int wait_ms,
         const char *types, zeb_fetch_t *result)
{
    assert (self);
    assert (result);
    memset (result, 0, sizeof (*result));
    int rc = s_log_socket (self);
    if (rc)
        return rc;
    //  Type prefixes: comma-separated, empty items ignored
    const char *prefixes [32];
    size_t lengths [32];
    size_t type_count = 0;
    for (const char *p = types; p && *p && type_count < 32;) {
        const char *comma = strchr (p, ',');
        size_t len = comma? (size_t) (comma - p): strlen (p);
        if (len) {
            prefixes [type_count] = p;
            lengths [type_count++] = len;
        }
        p = comma? comma + 1: p + len;
    }
    msgpack_sbuffer_clear (&self->buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &self->buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 3 + (type_count > 0));
    if (time_ms >= 0) {
        msgpack_pack_str_with_body (&pk, "time", 4);
        msgpack_pack_int64 (&pk, time_ms);
    }
    else {
        msgpack_pack_str_with_body (&pk, "from", 4);
        msgpack_pack_uint64 (&pk, from);
    }
    msgpack_pack_str_with_body (&pk, "max", 3);
    msgpack_pack_uint64 (&pk, max);
    msgpack_pack_str_with_body (&pk, "wait_ms", 7);
    msgpack_pack_int (&pk, wait_ms);
    if (type_count) {
        msgpack_pack_str_with_body (&pk, "types", 5);
        msgpack_pack_array (&pk, type_count);
        for (size_t index = 0; index < type_count; index++)
            msgpack_pack_str_with_body (&pk, prefixes [index], lengths [index]);
    }
    s_reply_t reply;
    rc = s_request (self, self->log, ZEB_CMD_FETCH, self->buffer.data, self->buffer.size,
                    wait_ms + self->timeout, &reply);
    if (rc)
        return rc;
    const uint8_t *body = (const uint8_t *) zmq_msg_data (&reply.parts [1]);
    size_t size = zmq_msg_size (&reply.parts [1]);
    if (s_reply_is (&reply, ZEB_CMD_NACK)) {
        zeb_fault_t fault = { 0 };
        int64_t index;
        zeb_proto_parse_nack (body, size, &fault, &index);
        s_reply_close (&reply);
        return fault.code? fault.code: ZEB_ERROR;
    }
    rc = ZEB_EPROTOCOL;
    zeb_mpk_t reader;
    uint32_t count;
    if (s_reply_is (&reply, ZEB_CMD_EVENTS)
    &&  zeb_proto_get_uint (body, size, "first", &result->first) == 0
    &&  zeb_proto_get_uint (body, size, "last", &result->last) == 0
    &&  zeb_proto_get_uint (body, size, "next", &result->next) == 0
    &&  zeb_mpk_find (body, size, "events", &reader) == 0
    &&  zeb_mpk_read_array (&reader, &count) == 0) {
        result->events = zlistx_new ();
        zlistx_set_destructor (result->events, s_event_destroy);
        rc = 0;
        for (uint32_t index = 0; index < count && rc == 0; index++) {
            const uint8_t *span;
            size_t span_size;
            zeb_event_t *event = NULL;
            if (zeb_mpk_skip (&reader, &span, &span_size) == 0)
                event = zeb_event_decode (span, span_size, NULL);
            if (event)
                zlistx_add_end (result->events, event);
            else
                rc = ZEB_EPROTOCOL;
        }
        if (rc)
            zeb_fetch_reset (result);
    }
    s_reply_close (&reply);
    return rc;
}

int
zeb_client_fetch (zeb_client_t *self, uint64_t from, size_t max, int wait_ms,
                  const char *types, zeb_fetch_t *result)
{
    return s_fetch (self, from, -1, max, wait_ms, types, result);
}

int
zeb_client_fetch_time (zeb_client_t *self, int64_t time_ms, size_t max, int wait_ms,
                       const char *types, zeb_fetch_t *result)
{
    return s_fetch (self, 0, time_ms < 0? 0: time_ms, max, wait_ms, types, result);
}

//  ---------------------------------------------------------------------
//  Live subscriptions

static int
s_bus_socket (zeb_client_t *self)
{
    if (self->bus)
        return 0;
    int rc = zeb_client_connect (self);
    if (rc)
        return rc;
    if (!self->bus_endpoint)
        return ZEB_ENOTFOUND;
    self->bus = zsock_new (ZMQ_SUB);
    if (!self->bus)
        return ZEB_ERROR;
    zsock_set_linger (self->bus, 0);
    zsock_set_rcvhwm (self->bus, 100000);
    if (zsock_connect (self->bus, "%s", self->bus_endpoint)) {
        zsock_destroy (&self->bus);
        return ZEB_EUNREACHABLE;
    }
    return 0;
}

int
zeb_client_subscribe (zeb_client_t *self, const char *prefix)
{
    assert (self);
    int rc = s_bus_socket (self);
    if (rc == 0)
        zsock_set_subscribe (self->bus, prefix? prefix: "");
    return rc;
}

int
zeb_client_unsubscribe (zeb_client_t *self, const char *prefix)
{
    assert (self);
    if (self->bus)
        zsock_set_unsubscribe (self->bus, prefix? prefix: "");
    return 0;
}

zeb_event_t *
zeb_client_recv (zeb_client_t *self, int timeout_ms)
{
    assert (self);
    if (!self->bus)
        return NULL;
    s_reply_t reply;
    if (s_reply_recv (self->bus, &reply, timeout_ms))
        return NULL;
    zeb_event_t *event = NULL;
    if (reply.count >= 2)
        event = zeb_event_decode (zmq_msg_data (&reply.parts [1]), zmq_msg_size (&reply.parts [1]), NULL);
    s_reply_close (&reply);
    return event;
}

//  ---------------------------------------------------------------------
//  Statistics

static json_t *
s_stats_of (zeb_client_t *self, zsock_t *socket, int *error)
{
    s_reply_t reply;
    int rc = s_request (self, socket, ZEB_CMD_STATS, "\x80", 1, self->timeout, &reply);
    if (rc) {
        *error = rc;
        return NULL;
    }
    json_t *json = NULL;
    if (s_reply_is (&reply, ZEB_CMD_STATS))
        json = zeb_json_from_msgpack (zmq_msg_data (&reply.parts [1]), zmq_msg_size (&reply.parts [1]), NULL);
    s_reply_close (&reply);
    if (!json)
        *error = ZEB_EPROTOCOL;
    return json;
}

char *
zeb_client_stats (zeb_client_t *self, int *error)
{
    assert (self);
    int dummy;
    if (!error)
        error = &dummy;
    *error = zeb_client_connect (self);
    if (*error)
        return NULL;
    json_t *ingest = s_stats_of (self, self->ingest, error);
    if (!ingest)
        return NULL;
    json_t *all = json_object ();
    json_object_set_new (all, "ingest", ingest);
    int log_error = 0;
    if (s_log_socket (self) == 0) {
        json_t *log = s_stats_of (self, self->log, &log_error);
        json_object_set_new (all, "log", log? log: json_null ());
    }
    char *text = json_dumps (all, JSON_COMPACT);
    json_decref (all);
    return text;
}

//  ---------------------------------------------------------------------
//  Cursor

zeb_cursor_t *
zeb_cursor_new (zeb_client_t *client, uint64_t from)
{
    assert (client);
    zeb_cursor_t *self = (zeb_cursor_t *) zmalloc (sizeof (zeb_cursor_t));
    if (!self)
        return NULL;
    self->client = client;
    self->position = from;
    self->fetch_from = from;
    self->batch = 500;
    return self;
}

void
zeb_cursor_destroy (zeb_cursor_t **self_p)
{
    assert (self_p);
    zeb_cursor_t *self = *self_p;
    if (self) {
        zeb_fetch_reset (&self->buffered);
        zstr_free (&self->types);
        free (self);
        *self_p = NULL;
    }
}

void
zeb_cursor_set_types (zeb_cursor_t *self, const char *types)
{
    assert (self);
    zstr_free (&self->types);
    self->types = types? strdup (types): NULL;
}

void
zeb_cursor_set_batch (zeb_cursor_t *self, size_t batch)
{
    assert (self);
    self->batch = batch? batch: 1;
}

zeb_event_t *
zeb_cursor_next (zeb_cursor_t *self, int timeout_ms, int *error)
{
    assert (self);
    int dummy;
    if (!error)
        error = &dummy;
    *error = 0;
    if (!self->buffered.events || zlistx_size (self->buffered.events) == 0) {
        zeb_fetch_reset (&self->buffered);
        int rc = zeb_client_fetch (self->client, self->fetch_from, self->batch, timeout_ms,
                                   self->types, &self->buffered);
        if (rc) {
            *error = rc;
            return NULL;
        }
        //  Events deleted by retention before we read them
        if (self->fetch_from && self->buffered.first > self->fetch_from)
            self->missed += self->buffered.first - self->fetch_from;
        self->fetch_from = self->buffered.next;
        if (zlistx_size (self->buffered.events) == 0) {
            self->position = self->fetch_from;
            return NULL;
        }
    }
    zeb_event_t *event = (zeb_event_t *) zlistx_detach (self->buffered.events, NULL);
    self->position = zeb_event_sequence (event) + 1;
    return event;
}

uint64_t
zeb_cursor_position (zeb_cursor_t *self)
{
    assert (self);
    return self->position;
}

uint64_t
zeb_cursor_missed (zeb_cursor_t *self)
{
    assert (self);
    return self->missed;
}

void
zeb_client_test (bool verbose)
{
    printf (" * zeb_client: (pending)\n");
}
