/*  =========================================================================
    zeb_client - the C client: publish, subscribe live, read the log

    Tags are zeb_proto's: a kind ('P' publish, 'R' request) and a
    big-endian counter, one per message. Publishes sit in a FIFO ring, one
    entry per event, in tag order; events not sent yet (coalescing) are at
    its tail with tag 0. The node acknowledges one connection's PUBLISHes in the
    order it received them, so a reply for tag t also tells us that any
    older tag still in the ring was lost on the way (a reconnect): those
    complete with ZEB_ETIMEOUT, outcome unknown. Replies with a tag we no
    longer wait for are dropped.

    Coalescing: while earlier messages are in flight, publish_async queues
    events and sends them as one PUBLISH array when an ack arrives, when
    `coalesce` events are queued, or on flush/poll/a synchronous publish.
    With nothing in flight an event goes out at once, alone. Arrays are
    atomic at the node, so one refused event would sink its neighbours:
    events are validated here before queueing, and if the node still
    refuses one event of a coalesced array (its NACK names the index), the
    others are queued again and re-sent; only the culprit gets the NACK.
    =========================================================================
*/

#include "zeb_classes.h"
#include <netinet/in.h>
#include <arpa/inet.h>

#define S_HEADER            5           //  array32 header reserved in pending
#define S_COALESCE          256         //  default events per message
#define S_COALESCE_BYTES    (1 << 20)   //  most bytes per coalesced message
#define S_LOOK_US           100         //  fast producers look for acks this often
#define S_HWM               100000      //  messages queued per socket, each way

//  A coalesced message, kept until all its events are settled so that
//  events can be re-sent alone if the node refuses a neighbour
typedef struct {
    size_t refs;
    size_t size;
    uint8_t data [];
} s_message_t;

typedef struct {
    uint64_t tag;               //  its message's tag; 0 while queued
    uint32_t index;             //  position in a coalesced message
    bool coalesced;             //  sent as part of a coalesced array
    s_message_t *message;       //  bytes of that array
    size_t offset;              //  the event: in pending while queued,
    size_t size;                //  in message->data once sent
    zeb_ack_fn *fn;
    void *arg;
    int64_t queued_us;          //  when publish was called
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
    char *registry_endpoint;
    char *outbox_endpoint;
    char *automation_endpoint;
    char *cron_endpoint;
    uint64_t max_event_size;    //  from WELCOME
    uint64_t max_publish;
    int timeout;
    size_t window;
    size_t coalesce;            //  most events per coalesced message
    s_flight_t *ring;
    size_t ring_size;
    size_t head;                //  oldest entry
    size_t count;               //  entries, queued ones included
    size_t queued;              //  entries at the tail not sent yet
    msgpack_sbuffer pending;    //  header room + queued events
    uint64_t next_tag;
    msgpack_sbuffer buffer;     //  scratch for encoding
    zeb_event_view_t view;      //  scratch for checking
    uint64_t *sequences;        //  scratch: an array ACK's sequences
    bool *duplicates;           //  and which of them were duplicates
    size_t outcomes_limit;
    int64_t looked_us;          //  last look for acks while publishing
    zeb_fault_t fault;          //  why this client refused an event itself
};

static void
s_pending_reset (zeb_client_t *self)
{
    msgpack_sbuffer_clear (&self->pending);
    msgpack_sbuffer_write (&self->pending, "\xdd\0\0\0\0", S_HEADER);
}

zeb_client_t *
zeb_client_new (const char *endpoint)
{
    assert (endpoint);
    zeb_client_t *self = (zeb_client_t *) zmalloc (sizeof (zeb_client_t));
    if (!self)
        return NULL;
    self->endpoint = strdup (endpoint);
    self->ingest = zeb_proto_dealer_new (endpoint, S_HWM, S_HWM);
    self->timeout = ZEB_CLIENT_TIMEOUT;
    self->window = ZEB_CLIENT_WINDOW;
    self->coalesce = S_COALESCE;
    self->max_event_size = ZEB_EVENT_DEFAULT_MAX_SIZE;
    self->max_publish = 1000;
    self->next_tag = 1;
    msgpack_sbuffer_init (&self->buffer);
    msgpack_sbuffer_init (&self->pending);
    s_pending_reset (self);
    if (!self->ingest)
        zeb_client_destroy (&self);
    return self;
}

static void
s_message_release (s_message_t *message)
{
    if (message && --message->refs == 0)
        free (message);
}

void
zeb_client_destroy (zeb_client_t **self_p)
{
    assert (self_p);
    zeb_client_t *self = *self_p;
    if (self) {
        //  Abandoned: callbacks are not run, kept messages are freed
        for (size_t index = 0; index < self->count; index++)
            s_message_release (self->ring [(self->head + index) % self->ring_size].message);
        zsock_destroy (&self->ingest);
        zsock_destroy (&self->log);
        zsock_destroy (&self->bus);
        free (self->ring);
        free (self->sequences);
        free (self->duplicates);
        msgpack_sbuffer_destroy (&self->buffer);
        msgpack_sbuffer_destroy (&self->pending);
        zstr_free (&self->endpoint);
        zstr_free (&self->node);
        zstr_free (&self->log_endpoint);
        zstr_free (&self->bus_endpoint);
        zstr_free (&self->outbox_endpoint);
        zstr_free (&self->automation_endpoint);
        zstr_free (&self->cron_endpoint);
        zstr_free (&self->registry_endpoint);
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
    //  The ring is only resized while nothing is in flight; it is
    //  allocated again, at the new size, by the next publish
    if (self->count == 0 && window > 0) {
        self->window = window;
        free (self->ring);
        self->ring = NULL;
        self->ring_size = 0;
        self->head = 0;
        self->queued = 0;
    }
}

void
zeb_client_set_coalesce (zeb_client_t *self, size_t max_events)
{
    assert (self);
    self->coalesce = max_events? max_events: 1;
}

//  ---------------------------------------------------------------------
//  Replies

//  The outcome of a reply to a message of one event, or the NACK of any
//  message. For an array the application sent, the first event's sequence.
void
zeb_ack_parse (const void *command, size_t command_size, const void *body, size_t size,
               zeb_ack_t *ack)
{
    memset (ack, 0, sizeof (*ack));
    ack->index = -1;
    if (command_size == 3 && memcmp (command, ZEB_CMD_ACK, 3) == 0) {
        if (zeb_proto_get_uint (body, size, "sequence", &ack->sequence) == 0)
            zeb_proto_get_bool (body, size, "duplicate", &ack->duplicate);
        else {
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
    if (command_size == 4 && memcmp (command, ZEB_CMD_NACK, 4) == 0) {
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
s_ack_parse (zeb_proto_reply_t *reply, zeb_ack_t *ack)
{
    size_t size;
    const void *body = zeb_proto_reply_body (reply, &size);
    const void *command = reply->count >= 1? zmq_msg_data (&reply->parts [0]): "";
    size_t command_size = reply->count >= 1? zmq_msg_size (&reply->parts [0]): 0;
    zeb_ack_parse (command, command_size, body, size, ack);
}

//  Read an array ACK's sequences and duplicates into the client's scratch
//  arrays, once per reply. Returns the count, or 0 if there are none.
static size_t
s_outcomes_parse (zeb_client_t *self, zeb_proto_reply_t *reply)
{
    size_t size;
    const void *body = zeb_proto_reply_body (reply, &size);
    zeb_mpk_t reader;
    uint32_t count;
    if (!zeb_proto_reply_is (reply, ZEB_CMD_ACK)
    ||  zeb_mpk_find (body, size, "sequences", &reader) || zeb_mpk_read_array (&reader, &count))
        return 0;
    if (count > self->outcomes_limit) {
        free (self->sequences);
        free (self->duplicates);
        self->sequences = (uint64_t *) malloc (count * sizeof (uint64_t));
        self->duplicates = (bool *) malloc (count * sizeof (bool));
        self->outcomes_limit = self->sequences && self->duplicates? count: 0;
        if (!self->outcomes_limit)
            return 0;
    }
    for (uint32_t index = 0; index < count; index++)
        if (zeb_mpk_read_uint (&reader, &self->sequences [index]))
            return 0;
    memset (self->duplicates, 0, count * sizeof (bool));
    uint32_t listed;
    if (zeb_mpk_find (body, size, "duplicates", &reader) == 0
    &&  zeb_mpk_read_array (&reader, &listed) == 0)
        for (uint32_t item = 0; item < listed; item++) {
            uint64_t position;
            if (zeb_mpk_read_uint (&reader, &position) == 0 && position < count)
                self->duplicates [position] = true;
        }
    return count;
}

//  Take the oldest entry off the ring (it must be sent)
static s_flight_t
s_pop (zeb_client_t *self)
{
    assert (self->count > self->queued);
    s_flight_t flight = self->ring [self->head];
    self->head = (self->head + 1) % self->ring_size;
    self->count--;
    return flight;
}

//  Report an outcome. The entry is off the ring already, so a callback
//  may publish again.
static void
s_complete (zeb_client_t *self, s_flight_t *flight, zeb_ack_t *ack)
{
    ack->latency_us = zeb_time_mono_us () - flight->queued_us;
    s_message_release (flight->message);
    if (flight->result) {
        *flight->result = *ack;
        *flight->done = true;
    }
    if (flight->fn)
        flight->fn (ack, flight->arg);
}

static void
s_fail (zeb_client_t *self, s_flight_t *flight, int code, const char *why)
{
    zeb_ack_t ack;
    memset (&ack, 0, sizeof (ack));
    ack.status = code;
    ack.index = -1;
    snprintf (ack.error, sizeof (ack.error), "%s", why);
    s_complete (self, flight, &ack);
}

#define S_UNKNOWN "no acknowledgement: outcome unknown, publish again with the same idempotencykey"

//  Expire sent entries older than tag (lost on the way)
static void
s_expire_before (zeb_client_t *self, uint64_t tag)
{
    while (self->count > self->queued && self->ring [self->head].tag < tag) {
        s_flight_t flight = s_pop (self);
        s_fail (self, &flight, ZEB_ETIMEOUT, S_UNKNOWN);
    }
}

//  Queue an event at the tail of the ring (room must have been made)
static s_flight_t *
s_queue (zeb_client_t *self, const void *data, size_t size)
{
    assert (self->count < self->ring_size);
    s_flight_t *flight = &self->ring [(self->head + self->count) % self->ring_size];
    memset (flight, 0, sizeof (*flight));
    flight->offset = self->pending.size;
    flight->size = size;
    msgpack_sbuffer_write (&self->pending, (const char *) data, size);
    self->count++;
    self->queued++;
    return flight;
}

//  A reply arrived on the ingest socket for a publish: settle the ring
static void
s_settle (zeb_client_t *self, zeb_proto_reply_t *reply)
{
    uint64_t tag;
    if (!zeb_proto_reply_tag (reply, 'P', &tag))
        return;                         //  not ours, or stale
    s_expire_before (self, tag);
    zeb_ack_t ack;
    s_ack_parse (reply, &ack);
    size_t outcomes = ack.status == 0? s_outcomes_parse (self, reply): 0;
    //  A coalesced array refused because of one event: re-queue the rest
    int64_t culprit = ack.status? ack.index: -1;
    //  Settle the ring first, run callbacks after: a callback may publish
    typedef struct {
        s_flight_t flight;
        zeb_ack_t ack;
    } s_done_t;
    s_done_t *done = NULL;
    size_t settled = 0, limit = 0;
    while (self->count > self->queued && self->ring [self->head].tag == tag) {
        s_flight_t flight = s_pop (self);
        if (flight.coalesced && ack.status && culprit >= 0 && (int64_t) flight.index != culprit) {
            s_flight_t *again = s_queue (self, flight.message->data + flight.offset, flight.size);
            size_t offset = again->offset;
            *again = flight;
            again->tag = 0;
            again->coalesced = false;
            again->message = NULL;
            again->offset = offset;
            s_message_release (flight.message);
            continue;
        }
        if (settled == limit) {
            s_done_t *bigger = (s_done_t *) realloc (done, (limit? limit * 2: 64) * sizeof (s_done_t));
            if (!bigger) {
                s_fail (self, &flight, ZEB_ERROR, "out of memory");
                continue;
            }
            done = bigger;
            limit = limit? limit * 2: 64;
        }
        //  Each outcome now, while the scratch arrays are this reply's
        s_done_t *entry = &done [settled++];
        entry->flight = flight;
        entry->ack = ack;
        if (flight.coalesced) {
            entry->ack.index = -1;      //  an index within our own array
            if (ack.status == 0 && flight.index < outcomes) {
                entry->ack.sequence = self->sequences [flight.index];
                entry->ack.duplicate = self->duplicates [flight.index];
            }
            else
            if (ack.status == 0) {
                entry->ack.status = ZEB_EPROTOCOL;
                snprintf (entry->ack.error, sizeof (entry->ack.error), "ACK lacks this event's sequence");
            }
        }
    }
    for (size_t index = 0; index < settled; index++)
        s_complete (self, &done [index].flight, &done [index].ack);
    free (done);
}

//  A message on the ingest socket that is not the reply a request waits
//  for: publish replies settle the ring, anything else is dropped
static void
s_settle_other (zeb_proto_reply_t *reply, void *arg)
{
    s_settle ((zeb_client_t *) arg, reply);
}

//  Wait on the ingest socket for one reply and settle the ring with it.
//  Returns 0 if one arrived, -1 on timeout.
static int
s_ingest_wait (zeb_client_t *self, int timeout_ms)
{
    zeb_proto_reply_t reply;
    if (zeb_proto_reply_recv (zsock_resolve (self->ingest), &reply, timeout_ms))
        return -1;
    s_settle (self, &reply);
    zeb_proto_reply_close (&reply);
    return 0;
}

//  Send a request and wait for its reply (any command); publish replies
//  met meanwhile on the ingest socket settle the ring, other late replies
//  are dropped. Returns 0 and the reply, or ZEB_ETIMEOUT / ZEB_EUNREACHABLE.
static int
s_request (zeb_client_t *self, zsock_t *socket, const char *command, const void *body,
           size_t size, int timeout_ms, zeb_proto_reply_t *reply)
{
    uint8_t tag [ZEB_PROTO_TAG_SIZE];
    uint64_t counter = zeb_proto_tag_next (&self->next_tag, 'R', tag);
    void *handle = zsock_resolve (socket);
    int64_t deadline = zeb_time_mono_us () / 1000 + timeout_ms;
    if (zeb_proto_send_until (handle, command, body, size, tag, deadline))
        return ZEB_EUNREACHABLE;
    if (zeb_proto_reply_await (handle, 'R', counter, deadline, reply,
                               socket == self->ingest? s_settle_other: NULL, self))
        return ZEB_ETIMEOUT;
    return 0;
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

static char *
s_welcome_endpoint (zeb_client_t *self, const void *body, size_t size, const char *key)
{
    const char *text;
    size_t len;
    if (zeb_proto_get_str (body, size, key, &text, &len) || len == 0)
        return NULL;
    char *advertised = strndup (text, len);
    char *endpoint = s_resolve_endpoint (advertised, self->endpoint);
    free (advertised);
    return endpoint;
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
    zeb_proto_reply_t reply;
    int rc = s_request (self, self->ingest, ZEB_CMD_HELLO, self->buffer.data, self->buffer.size,
                        self->timeout, &reply);
    if (rc)
        return rc == ZEB_ETIMEOUT? ZEB_EUNREACHABLE: rc;
    if (!zeb_proto_reply_is (&reply, ZEB_CMD_WELCOME)) {
        rc = zeb_proto_reply_is (&reply, ZEB_CMD_NACK)? ZEB_EVERSION: ZEB_EPROTOCOL;
        zeb_proto_reply_close (&reply);
        return rc;
    }
    size_t size;
    const void *body = zeb_proto_reply_body (&reply, &size);
    zstr_free (&self->log_endpoint);
    zstr_free (&self->bus_endpoint);
    zstr_free (&self->registry_endpoint);
    zstr_free (&self->outbox_endpoint);
    zstr_free (&self->automation_endpoint);
    zstr_free (&self->cron_endpoint);
    zstr_free (&self->node);
    self->log_endpoint = s_welcome_endpoint (self, body, size, "log");
    self->bus_endpoint = s_welcome_endpoint (self, body, size, "bus");
    self->registry_endpoint = s_welcome_endpoint (self, body, size, "registry");
    self->outbox_endpoint = s_welcome_endpoint (self, body, size, "outbox");
    self->automation_endpoint = s_welcome_endpoint (self, body, size, "automation");
    self->cron_endpoint = s_welcome_endpoint (self, body, size, "cron");
    const char *text;
    size_t len;
    if (zeb_proto_get_str (body, size, "node", &text, &len) == 0)
        self->node = strndup (text, len);
    zeb_proto_get_uint (body, size, "max_event_size", &self->max_event_size);
    zeb_proto_get_uint (body, size, "max_publish", &self->max_publish);
    zeb_proto_reply_close (&reply);
    self->connected = true;
    return 0;
}

const char *
zeb_client_registry_endpoint (zeb_client_t *self)
{
    assert (self);
    return self->registry_endpoint;
}

const char *
zeb_client_outbox_endpoint (zeb_client_t *self)
{
    assert (self);
    return self->outbox_endpoint;
}

const char *
zeb_client_automation_endpoint (zeb_client_t *self)
{
    assert (self);
    return self->automation_endpoint;
}

const char *
zeb_client_cron_endpoint (zeb_client_t *self)
{
    assert (self);
    return self->cron_endpoint;
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

//  Send the queued events as one message: alone if there is one, else as
//  an array. Blocks at most the timeout for room in the socket; if the
//  node cannot be reached, every queued event fails. Returns 0 or an error.
static int
s_send_queued (zeb_client_t *self)
{
    if (self->queued == 0)
        return 0;
    uint8_t tag [ZEB_PROTO_TAG_SIZE];
    uint64_t counter = zeb_proto_tag_next (&self->next_tag, 'P', tag);
    size_t first = (self->head + self->count - self->queued) % self->ring_size;
    bool alone = self->queued == 1;
    const char *body = alone? self->pending.data + S_HEADER: self->pending.data;
    size_t size = alone? self->pending.size - S_HEADER: self->pending.size;
    if (!alone) {
        uint8_t *header = (uint8_t *) self->pending.data;
        header [0] = 0xdd;              //  array32: room was kept for it
        header [1] = (uint8_t) (self->queued >> 24);
        header [2] = (uint8_t) (self->queued >> 16);
        header [3] = (uint8_t) (self->queued >> 8);
        header [4] = (uint8_t) self->queued;
    }
    //  Queue full or no connection: wait for room, up to the timeout
    int64_t deadline = zeb_time_mono_us () / 1000 + self->timeout;
    int rc = zeb_proto_send_until (zsock_resolve (self->ingest), ZEB_CMD_PUBLISH, body, size,
                                   tag, deadline)? ZEB_EUNREACHABLE: 0;
    s_message_t *message = NULL;
    if (rc == 0 && !alone) {
        message = (s_message_t *) malloc (sizeof (s_message_t) + size);
        if (message) {
            message->refs = self->queued;
            message->size = size;
            memcpy (message->data, body, size);
        }
    }
    size_t queued = self->queued;
    self->queued = 0;
    s_pending_reset (self);
    if (rc == 0) {
        for (size_t index = 0; index < queued; index++) {
            s_flight_t *flight = &self->ring [(first + index) % self->ring_size];
            flight->tag = counter;
            flight->coalesced = !alone && message;
            flight->index = (uint32_t) index;
            flight->message = flight->coalesced? message: NULL;
        }
        if (!alone && !message)
            rc = ZEB_ERROR;             //  out of memory: outcomes still arrive
        return rc;
    }
    //  Not sent: the events fail now, newest last, off the ring's tail
    s_flight_t *failed = (s_flight_t *) malloc (queued * sizeof (s_flight_t));
    for (size_t index = 0; index < queued; index++)
        failed [index] = self->ring [(first + index) % self->ring_size];
    self->count -= queued;
    for (size_t index = 0; failed && index < queued; index++)
        s_fail (self, &failed [index], rc, "node unreachable: not sent");
    free (failed);
    return rc;
}

int
zeb_client_poll (zeb_client_t *self, int timeout_ms)
{
    assert (self);
    size_t before = self->count;
    if (s_ingest_wait (self, timeout_ms) == 0)
        while (s_ingest_wait (self, 0) == 0)
            ;                           //  and whatever else is here already
    int handled = before > self->count? (int) (before - self->count): 0;
    //  Acks came back: what was queued meanwhile goes out as one message
    if (self->queued && (handled || self->count == self->queued))
        s_send_queued (self);
    return handled;
}

//  Make room in the window, waiting at most the timeout for acks; what is
//  older than the timeout then expires. Returns 0 when there is room.
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
        if (self->queued)
            s_send_queued (self);       //  the window is full of queued events
        if (self->count < self->ring_size)
            break;
        int64_t oldest = self->ring [self->head].queued_us;
        int64_t left_ms = (oldest + (int64_t) self->timeout * 1000 - zeb_time_mono_us ()) / 1000;
        if (left_ms <= 0) {
            s_flight_t flight = s_pop (self);
            s_fail (self, &flight, ZEB_ETIMEOUT, S_UNKNOWN);
        }
        else
            s_ingest_wait (self, (int) left_ms);
    }
    return 0;
}

//  Check one encoded event before queueing it: the node would refuse it,
//  and in a coalesced array it would take its neighbours down with it
static int
s_check (zeb_client_t *self, const void *data, size_t size, bool *array)
{
    zeb_mpk_t reader;
    zeb_mpk_init (&reader, data, size);
    *array = zeb_mpk_peek (&reader) == ZEB_MPK_ARRAY;
    if (*array)
        return 0;                       //  the application's own batch
    if (size > self->max_event_size)
        return zeb_fault_set (&self->fault, ZEB_ETOOBIG, "event of %zu bytes, over the node's "
                              "max_event_size of %llu", size,
                              (unsigned long long) self->max_event_size);
    int rc = zeb_event_view_decode (&self->view, data, size, &self->fault);
    if (rc == 0)
        rc = zeb_event_view_validate (&self->view, &self->fault);
    return rc;
}

//  Queue one event (or send an application's array alone) and decide
//  whether to send now
static int
s_publish (zeb_client_t *self, const void *data, size_t size, zeb_ack_fn *fn, void *arg,
           zeb_ack_t *result, bool *done)
{
    self->fault.text [0] = 0;
    int rc = zeb_client_connect (self);
    bool array = false;
    if (rc == 0)
        rc = s_check (self, data, size, &array);
    if (rc == 0)
        rc = s_make_room (self);
    if (rc)
        return rc;
    //  Alone: arrays, synchronous publishes, and when coalescing is off
    bool alone = array || result || self->coalesce <= 1;
    //  Keep several messages in flight so that the node's batches overlap
    size_t target = self->ring_size / 8 < self->coalesce? self->ring_size / 8: self->coalesce;
    if (alone || self->queued >= target || self->queued >= self->max_publish
    ||  self->pending.size + size > S_COALESCE_BYTES) {
        rc = s_send_queued (self);      //  keep the order of what came first
        if (rc)
            return rc;
    }
    s_flight_t *flight = s_queue (self, data, size);
    flight->fn = fn;
    flight->arg = arg;
    flight->queued_us = zeb_time_mono_us ();
    flight->result = result;
    flight->done = done;
    if (alone || self->count == self->queued)
        return s_send_queued (self);     //  nothing in flight: no reason to wait
    return 0;
}

int
zeb_client_publish_raw_async (zeb_client_t *self, const void *data, size_t size,
                              zeb_ack_fn *fn, void *arg)
{
    assert (self);
    int rc = s_publish (self, data, size, fn, arg, NULL, NULL);
    if (rc == 0) {
        //  Acks that came back let queued events go out. Looking costs
        //  libzmq a system call or two even when nothing is there, so a
        //  fast producer looks every S_LOOK_US, a slow one every time
        int64_t now = zeb_time_mono_us ();
        if (now - self->looked_us >= S_LOOK_US) {
            self->looked_us = now;
            zeb_client_poll (self, 0);
        }
    }
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
    int rc = s_publish (self, data, size, NULL, NULL, ack, &done);
    if (rc) {
        if (!done) {
            ack->status = rc;
            snprintf (ack->error, sizeof (ack->error), "%s", zeb_client_error (self, rc));
        }
        return ack->status;
    }
    int64_t deadline = zeb_time_mono_us () + (int64_t) self->timeout * 1000;
    while (!done) {
        int64_t left = (deadline - zeb_time_mono_us ()) / 1000;
        if (left <= 0) {
            //  This and everything sent before it: no answer in time
            while (!done && self->count > self->queued) {
                s_flight_t flight = s_pop (self);
                s_fail (self, &flight, ZEB_ETIMEOUT, S_UNKNOWN);
            }
            break;
        }
        s_ingest_wait (self, (int) left);
    }
    return ack->status;
}

int
zeb_client_publish (zeb_client_t *self, zeb_event_t *event, zeb_ack_t *ack)
{
    assert (self);
    assert (event);
    int rc = zeb_client_connect (self);     //  before encoding: HELLO uses the buffer
    msgpack_sbuffer_clear (&self->buffer);
    if (rc == 0 && zeb_event_encode (event, &self->buffer))
        rc = ZEB_ERROR;
    if (rc) {
        if (ack) {
            memset (ack, 0, sizeof (*ack));
            ack->status = rc;
            ack->index = -1;
            snprintf (ack->error, sizeof (ack->error), "%s", zeb_strerror (rc));
        }
        return rc;
    }
    return zeb_client_publish_raw (self, self->buffer.data, self->buffer.size, ack);
}

const char *
zeb_client_error (zeb_client_t *self, int code)
{
    assert (self);
    return self->fault.text [0]? self->fault.text: zeb_strerror (code);
}

zsock_t *
zeb_client_socket (zeb_client_t *self)
{
    assert (self);
    return self->connected? self->ingest: NULL;
}

int
zeb_client_flush (zeb_client_t *self, int timeout_ms)
{
    assert (self);
    s_send_queued (self);
    int64_t deadline = zeb_time_mono_us () / 1000 + timeout_ms;
    while (self->count) {
        int64_t left = deadline - zeb_time_mono_us () / 1000;
        if (left <= 0) {
            while (self->count > self->queued) {
                s_flight_t flight = s_pop (self);
                s_fail (self, &flight, ZEB_ETIMEOUT, S_UNKNOWN);
            }
            return ZEB_ETIMEOUT;
        }
        s_ingest_wait (self, (int) left);
        if (self->queued)
            s_send_queued (self);       //  events re-queued after a NACK
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

//  A cursor is a zeb_consumer driven by blocking calls: created once the
//  client knows the log's endpoint
struct _zeb_cursor_t {
    zeb_client_t *client;
    zeb_consumer_t *consumer;   //  NULL until the first next
    uint64_t from;
    char *types;
    size_t batch;
    int64_t parked_until;       //  no FETCH of ours waits at the log past this, ms
};

//  Learn the log's endpoint. Returns 0 or an error code.
static int
s_log_endpoint (zeb_client_t *self)
{
    int rc = zeb_client_connect (self);
    if (rc == 0 && !self->log_endpoint) {
        //  The node may have been starting its log when we said HELLO
        self->connected = false;
        rc = zeb_client_connect (self);
    }
    if (rc == 0 && !self->log_endpoint)
        rc = ZEB_ENOTFOUND;
    return rc;
}

static int
s_log_socket (zeb_client_t *self)
{
    if (self->log)
        return 0;
    int rc = s_log_endpoint (self);
    if (rc)
        return rc;
    self->log = zeb_proto_dealer_new (self->log_endpoint, S_HWM, S_HWM);
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
    msgpack_sbuffer_clear (&self->buffer);
    if (zeb_proto_pack_fetch (&self->buffer, from, time_ms, max, wait_ms, types))
        return ZEB_ERROR;
    zeb_proto_reply_t reply;
    rc = s_request (self, self->log, ZEB_CMD_FETCH, self->buffer.data, self->buffer.size,
                    wait_ms + self->timeout, &reply);
    if (rc)
        return rc;
    size_t size;
    const void *body = zeb_proto_reply_body (&reply, &size);
    if (zeb_proto_reply_is (&reply, ZEB_CMD_NACK)) {
        zeb_fault_t fault = { 0 };
        int64_t index;
        zeb_proto_parse_nack (body, size, &fault, &index);
        zeb_proto_reply_close (&reply);
        return fault.code? fault.code: ZEB_ERROR;
    }
    rc = ZEB_EPROTOCOL;
    if (zeb_proto_reply_is (&reply, ZEB_CMD_EVENTS)) {
        result->events = zlistx_new ();
        if (result->events)
            zlistx_set_destructor (result->events, s_event_destroy);
        if (result->events
        &&  zeb_proto_parse_events (body, size, time_ms >= 0? 0: from, &result->first,
                                    &result->last, &result->next, result->events) == 0)
            rc = 0;
        else
            zeb_fetch_reset (result);
    }
    zeb_proto_reply_close (&reply);
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
    zeb_proto_reply_t reply;
    if (zeb_proto_reply_recv (zsock_resolve (self->bus), &reply, timeout_ms))
        return NULL;
    zeb_event_t *event = NULL;
    if (reply.count >= 2)
        event = zeb_event_decode (zmq_msg_data (&reply.parts [1]), zmq_msg_size (&reply.parts [1]), NULL);
    zeb_proto_reply_close (&reply);
    return event;
}

//  ---------------------------------------------------------------------
//  Statistics

static json_t *
s_stats_of (zeb_client_t *self, zsock_t *socket, int *error)
{
    zeb_proto_reply_t reply;
    int rc = s_request (self, socket, ZEB_CMD_STATS, "\x80", 1, self->timeout, &reply);
    if (rc) {
        *error = rc;
        return NULL;
    }
    json_t *json = NULL;
    if (zeb_proto_reply_is (&reply, ZEB_CMD_STATS))
        json = zeb_json_from_msgpack (zmq_msg_data (&reply.parts [1]), zmq_msg_size (&reply.parts [1]), NULL);
    zeb_proto_reply_close (&reply);
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
    self->from = from;
    self->batch = ZEB_CONSUMER_BATCH;
    return self;
}

void
zeb_cursor_destroy (zeb_cursor_t **self_p)
{
    assert (self_p);
    zeb_cursor_t *self = *self_p;
    if (self) {
        zeb_consumer_destroy (&self->consumer);
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
    if (self->consumer)
        zeb_consumer_set_types (self->consumer, self->types);
}

void
zeb_cursor_set_batch (zeb_cursor_t *self, size_t batch)
{
    assert (self);
    self->batch = batch? batch: 1;
    if (self->consumer)
        zeb_consumer_set_batch (self->consumer, self->batch);
}

//  Tell the consumer how long its next FETCH may wait: until the deadline
static void
s_cursor_set_wait (zeb_cursor_t *self, int64_t now, int64_t deadline)
{
    int64_t wait = deadline - now;
    wait = wait < 0? 0: wait > ZEB_CONSUMER_MAX_WAIT? ZEB_CONSUMER_MAX_WAIT: wait;
    zeb_consumer_set_wait (self->consumer, (int) wait);
    if (now + wait > self->parked_until)
        self->parked_until = now + wait;
}

//  The consumer, driven until it has an event, the log said it has none
//  by the deadline, or the log failed to answer. A FETCH never waits at
//  the log past the deadline; once the deadline has passed, the cursor
//  still reads on (FETCHes that do not wait) as long as the log reports
//  events of other types to skip, so that every event committed before
//  the deadline is found.
zeb_event_t *
zeb_cursor_next (zeb_cursor_t *self, int timeout_ms, int *error)
{
    assert (self);
    int dummy;
    if (!error)
        error = &dummy;
    *error = 0;
    if (!self->consumer) {
        int rc = s_log_endpoint (self->client);
        if (rc == 0) {
            self->consumer = zeb_consumer_new (self->client->log_endpoint, self->from);
            rc = self->consumer? 0: ZEB_EUNREACHABLE;
        }
        if (rc) {
            *error = rc;
            return NULL;
        }
        zeb_consumer_set_types (self->consumer, self->types);
        zeb_consumer_set_batch (self->consumer, self->batch);
        zeb_consumer_set_timeout (self->consumer, self->client->timeout);
    }
    zeb_consumer_t *consumer = self->consumer;
    int64_t now = zeb_time_mono_us () / 1000;
    int64_t deadline = now + (timeout_ms > 0? timeout_ms: 0);
    int64_t parked_until = self->parked_until;
    s_cursor_set_wait (self, now, deadline);
    zeb_event_t *event = zeb_consumer_next (consumer);
    if (event)
        return event;
    //  A FETCH of an earlier call may wait at the log longer than this
    //  call may: ask again instead
    if (parked_until > deadline) {
        zeb_consumer_seek (consumer, zeb_consumer_position (consumer));
        self->parked_until = now;
        s_cursor_set_wait (self, now, deadline);
    }
    zeb_consumer_stats_t stats;
    zeb_consumer_stats (consumer, &stats);
    uint64_t replies = stats.replies, errors = stats.errors;
    bool answered = false;
    int64_t heard = now;            //  when the log last answered
    zmq_pollitem_t item = { zsock_resolve (zeb_consumer_socket (consumer)), 0, ZMQ_POLLIN, 0 };
    while (true) {
        now = zeb_time_mono_us () / 1000;
        s_cursor_set_wait (self, now, deadline);
        event = zeb_consumer_next (consumer);
        if (event)
            return event;
        zeb_consumer_stats (consumer, &stats);
        if (stats.errors != errors) {
            *error = zeb_consumer_error (consumer);
            return NULL;
        }
        if (stats.replies != replies) {
            replies = stats.replies;
            answered = true;
            heard = now;
        }
        bool caught_up = answered && zeb_consumer_caught_up (consumer);
        if (caught_up && now >= deadline)
            return NULL;            //  nothing committed by the deadline
        int64_t give_up = (heard > deadline? heard: deadline) + self->client->timeout;
        if (now >= give_up) {
            *error = ZEB_ETIMEOUT;
            return NULL;
        }
        int64_t until = caught_up && deadline < give_up? deadline: give_up;
        int64_t wait = zeb_consumer_next_timeout (consumer);
        if (wait > until - now)
            wait = until - now;
        if (zmq_poll (&item, 1, (long) wait) > 0)
            zeb_consumer_handle (consumer);
    }
}

uint64_t
zeb_cursor_position (zeb_cursor_t *self)
{
    assert (self);
    return self->consumer? zeb_consumer_position (self->consumer): self->from;
}

uint64_t
zeb_cursor_missed (zeb_cursor_t *self)
{
    assert (self);
    return self->consumer? zeb_consumer_missed (self->consumer): 0;
}

//  ---------------------------------------------------------------------
//  Self test

static zeb_event_t *
s_test_event (const char *type, int number, const char *key)
{
    zeb_event_t *event = zeb_event_new (type);
    zeb_event_set (event, "source", "client-test");
    if (key)
        zeb_event_set (event, "idempotencykey", key);
    char data [32];
    snprintf (data, sizeof (data), "{\"n\":%d}", number);
    zeb_event_set_data_json (event, data, NULL);
    return event;
}

//  A node played by the test: answers HELLO itself, passes every other
//  request to the test through the pipe, sends back what the test sends
static void
s_test_fake_node_actor (zsock_t *pipe, void *args)
{
    zsock_t *router = zsock_new_router ((const char *) args);
    assert (router);
    zpoller_t *poller = zpoller_new (pipe, router, NULL);
    zsock_signal (pipe, 0);
    while (true) {
        void *which = zpoller_wait (poller, -1);
        if (which == router) {
            zmsg_t *msg = zmsg_recv (router);
            zmsg_first (msg);                   //  the routing id
            zframe_t *command = zmsg_next (msg);
            if (command && zframe_streq (command, "HELLO")) {
                zframe_t *identity = zmsg_pop (msg);
                zframe_t *hello = zmsg_pop (msg);
                zframe_destroy (&hello);
                zframe_t *body = zmsg_pop (msg);
                zframe_destroy (&body);
                zframe_t *tag = zmsg_pop (msg);
                zmsg_t *welcome = zmsg_new ();
                zmsg_append (welcome, &identity);
                zmsg_addstr (welcome, "WELCOME");
                //  {version: 1, max_event_size: 65536, max_publish: 1000}
                static const char welcome_body [] = "\x83\xa7version\x01\xaemax_event_size"
                                            "\xce\x00\x01\x00\x00\xabmax_publish\xcd\x03\xe8";
                zmsg_addmem (welcome, welcome_body, sizeof (welcome_body) - 1);
                zmsg_append (welcome, &tag);
                zmsg_send (&welcome, router);
                zmsg_destroy (&msg);
            }
            else
                zmsg_send (&msg, pipe);
        }
        else
        if (which == pipe) {
            zmsg_t *msg = zmsg_recv (pipe);
            if (!msg || zframe_streq (zmsg_first (msg), "$TERM")) {
                zmsg_destroy (&msg);
                break;
            }
            zmsg_send (&msg, router);
        }
        else
            break;
    }
    zpoller_destroy (&poller);
    zsock_destroy (&router);
}

//  The next request the fake node passed on: [identity][command][body][tag]
static zmsg_t *
s_test_request (zactor_t *node, const char *command, uint32_t events)
{
    zsock_set_rcvtimeo (node, 5000);
    zmsg_t *msg = zmsg_recv (node);
    assert (msg && zmsg_size (msg) == 4);
    zframe_t *frame = zmsg_first (msg);
    frame = zmsg_next (msg);
    assert (zframe_streq (frame, command));
    frame = zmsg_next (msg);
    zeb_mpk_t reader;
    zeb_mpk_init (&reader, zframe_data (frame), zframe_size (frame));
    uint32_t count = 1;
    if (zeb_mpk_peek (&reader) == ZEB_MPK_ARRAY)
        zeb_mpk_read_array (&reader, &count);
    assert (count == events);
    return msg;
}

//  The "n" in the data of event index of a PUBLISH request
static int64_t
s_test_request_number (zmsg_t *request, uint32_t index)
{
    zframe_t *frame = zmsg_first (request);
    frame = zmsg_next (request);
    frame = zmsg_next (request);
    zeb_mpk_t reader;
    zeb_mpk_init (&reader, zframe_data (frame), zframe_size (frame));
    uint32_t count;
    const uint8_t *span = zframe_data (frame);
    size_t size = zframe_size (frame);
    if (zeb_mpk_read_array (&reader, &count) == 0)
        for (uint32_t item = 0; item <= index; item++)
            zeb_mpk_skip (&reader, &span, &size);
    zeb_event_t *event = zeb_event_decode (span, size, NULL);
    assert (event);
    char *json = zeb_event_data_json (event);
    int64_t number = atoi (json + 5);           //  {"n":N}
    free (json);
    zeb_event_destroy (&event);
    return number;
}

//  Answer a request with [command][body as JSON, in msgpack] and its tag
static void
s_test_reply (zactor_t *node, zmsg_t **request_p, const char *command, const char *body_json)
{
    zmsg_t *request = *request_p;
    zframe_t *identity = zmsg_pop (request);
    zframe_t *frame = zmsg_pop (request);
    zframe_destroy (&frame);
    frame = zmsg_pop (request);
    zframe_destroy (&frame);
    zframe_t *tag = zmsg_pop (request);
    zmsg_destroy (request_p);
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    int rc = zeb_json_pack_text (body_json, strlen (body_json), &body, NULL);
    assert (rc == 0);
    zmsg_t *reply = zmsg_new ();
    zmsg_append (reply, &identity);
    zmsg_addstr (reply, command);
    zmsg_addmem (reply, body.data, body.size);
    zmsg_append (reply, &tag);
    zmsg_send (&reply, node);
    msgpack_sbuffer_destroy (&body);
}

typedef struct {
    int status;
    uint64_t sequence;
    bool duplicate;
    int order;                  //  1-based position among callbacks
} s_test_slot_t;

static int s_test_order = 0;

static void
s_test_on_slot (const zeb_ack_t *ack, void *arg)
{
    s_test_slot_t *slot = (s_test_slot_t *) arg;
    slot->status = ack->status;
    slot->sequence = ack->sequence;
    slot->duplicate = ack->duplicate;
    slot->order = ++s_test_order;
}

//  Coalescing, splitting a refused array, lost and late replies
static void
s_test_fake_node (bool verbose)
{
    zactor_t *node = zactor_new (s_test_fake_node_actor, (void *) "inproc://zeb-client-fake");
    zeb_client_t *client = zeb_client_new ("inproc://zeb-client-fake");
    zeb_client_set_window (client, 16);         //  coalesce two at a time
    s_test_slot_t slots [8];
    memset (slots, 0, sizeof (slots));
    s_test_order = 0;
    zeb_event_t *events [8];
    for (int n = 1; n < 8; n++)
        events [n] = s_test_event ("fake.event", n, NULL);

    //  E1 goes alone: nothing was in flight
    assert (zeb_client_publish_async (client, events [1], s_test_on_slot, &slots [1]) == 0);
    zmsg_t *first = s_test_request (node, "PUBLISH", 1);
    assert (s_test_request_number (first, 0) == 1);
    //  E2, E3 wait; E4 pushes them out as one array, and waits itself
    for (int n = 2; n <= 4; n++)
        assert (zeb_client_publish_async (client, events [n], s_test_on_slot, &slots [n]) == 0);
    zmsg_t *second = s_test_request (node, "PUBLISH", 2);
    assert (s_test_request_number (second, 0) == 2 && s_test_request_number (second, 1) == 3);
    assert (zeb_client_pending (client) == 4);
    //  The node refuses E3 (index 1) and never answers E1: E1's outcome
    //  is unknown, E3 is refused, E2 is sent again, after E4
    s_test_reply (node, &second, "NACK",
                  "{\"code\":413,\"reason\":\"TOO_LARGE\",\"error\":\"too big\",\"index\":1}");
    int64_t deadline = zclock_mono () + 5000;
    while (slots [3].order == 0 && zclock_mono () < deadline)
        zeb_client_poll (client, 100);
    assert (slots [1].status == ZEB_ETIMEOUT && slots [1].order == 1);
    assert (slots [3].status == ZEB_ETOOBIG && slots [3].order == 2);
    assert (slots [2].order == 0 && slots [4].order == 0);
    zmsg_t *third = s_test_request (node, "PUBLISH", 2);
    assert (s_test_request_number (third, 0) == 4 && s_test_request_number (third, 1) == 2);
    s_test_reply (node, &third, "ACK", "{\"count\":2,\"sequences\":[10,11],\"duplicates\":[1]}");
    assert (zeb_client_flush (client, 5000) == 0);
    assert (slots [4].status == 0 && slots [4].sequence == 10 && !slots [4].duplicate);
    assert (slots [2].status == 0 && slots [2].sequence == 11 && slots [2].duplicate);
    assert (slots [4].order == 3 && slots [2].order == 4);
    //  A late reply to E1 changes nothing
    s_test_reply (node, &first, "ACK", "{\"sequence\":9,\"duplicate\":false}");
    assert (zeb_client_poll (client, 100) == 0);
    assert (slots [1].status == ZEB_ETIMEOUT);

    //  A synchronous publish waits for its own reply: serve it from here
    //  after a publish_async that the sync one must not overtake
    assert (zeb_client_publish_async (client, events [5], s_test_on_slot, &slots [5]) == 0);
    zmsg_t *fifth = s_test_request (node, "PUBLISH", 1);
    s_test_reply (node, &fifth, "ACK", "{\"sequence\":12,\"duplicate\":false}");
    assert (zeb_client_flush (client, 5000) == 0);
    assert (slots [5].sequence == 12);

    //  The node goes silent: a flush gives up after its timeout
    assert (zeb_client_publish_async (client, events [6], s_test_on_slot, &slots [6]) == 0);
    zmsg_t *sixth = s_test_request (node, "PUBLISH", 1);
    int64_t started = zclock_mono ();
    assert (zeb_client_flush (client, 300) == ZEB_ETIMEOUT);
    assert (zclock_mono () - started >= 290);
    assert (slots [6].status == ZEB_ETIMEOUT && zeb_client_pending (client) == 0);
    zmsg_destroy (&sixth);

    for (int n = 1; n < 8; n++)
        zeb_event_destroy (&events [n]);
    zeb_client_destroy (&client);
    zactor_destroy (&node);
    if (verbose)
        printf ("fake node done; ");
}

//  A ROUTER that takes requests and never answers
static void
s_test_silent_node (bool verbose)
{
    zsock_t *router = zsock_new_router ("inproc://zeb-client-silent");
    assert (router);
    zeb_client_t *client = zeb_client_new ("inproc://zeb-client-silent");
    assert (client);
    zeb_client_set_timeout (client, 200);
    int64_t started = zclock_mono ();
    assert (zeb_client_connect (client) == ZEB_EUNREACHABLE);
    int64_t waited = zclock_mono () - started;
    assert (waited >= 190 && waited < 3000);
    //  The HELLO did arrive: it was the answer that never came
    zmsg_t *hello = zmsg_recv (router);
    assert (hello && zmsg_size (hello) >= 3);
    zmsg_first (hello);
    assert (zframe_streq (zmsg_next (hello), "HELLO"));
    zmsg_destroy (&hello);
    assert (zeb_client_log_endpoint (client) == NULL);
    assert (zeb_client_bus_endpoint (client) == NULL);
    assert (zeb_client_socket (client) == NULL);
    zeb_event_t *event = s_test_event ("order.placed", 1, NULL);
    zeb_ack_t ack;
    assert (zeb_client_publish (client, event, &ack) == ZEB_EUNREACHABLE);
    zeb_event_destroy (&event);
    int error = 0;
    assert (zeb_client_stats (client, &error) == NULL && error != 0);
    zeb_client_destroy (&client);
    zeb_client_destroy (&client);               //  safe twice
    zsock_destroy (&router);
    if (verbose)
        printf ("silent node done; ");
}

void
zeb_client_test (bool verbose)
{
    printf (" * zeb_client: ");
    //  A client against a real node is tests/client_test.c: core links
    //  without the actors. Here: what needs no node.
    assert (zeb_client_new ("bogus://nowhere") == NULL);
    assert (zeb_client_new ("tcp://") == NULL);
    s_test_fake_node (verbose);
    s_test_silent_node (verbose);

    zeb_ack_t ack;
    zeb_fetch_t result;
    zeb_event_t *event;
    zeb_client_t *client;
    //  No node: clear errors within the timeout, never a hang. The port
    //  is bound but not listening: connections are refused, and no other
    //  test running meanwhile can start listening on it
    int dead = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = { .sin_family = AF_INET };
    address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    socklen_t length = sizeof (address);
    assert (bind (dead, (struct sockaddr *) &address, sizeof (address)) == 0);
    assert (getsockname (dead, (struct sockaddr *) &address, &length) == 0);
    char endpoint [64];
    snprintf (endpoint, sizeof (endpoint), "tcp://127.0.0.1:%d", ntohs (address.sin_port));
    client = zeb_client_new (endpoint);
    zeb_client_set_timeout (client, 300);
    int64_t started = zclock_mono ();
    assert (zeb_client_connect (client) == ZEB_EUNREACHABLE);
    assert (zclock_mono () - started < 3000);
    event = s_test_event ("order.placed", 1, NULL);
    assert (zeb_client_publish (client, event, &ack) == ZEB_EUNREACHABLE);
    assert (zeb_client_fetch (client, 1, 1, 0, NULL, &result) == ZEB_EUNREACHABLE);
    zeb_event_destroy (&event);
    zeb_client_destroy (&client);
    close (dead);
    printf ("OK\n");
}
