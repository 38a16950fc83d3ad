/*  =========================================================================
    zeb_ingest - the ingest actor: producers' front door and the event bus

    The batch cycle, each time the front socket is readable:

    1. Receive: drain up to `batch` messages waiting on the ROUTER without
       blocking. Each PUBLISH is decoded, validated, given an id and a time
       if it lacks them, and re-encoded in canonical form into one arena,
       with room for its sequence. A bad PUBLISH (of one event or an array)
       is marked for a NACK and contributes nothing: arrays are atomic.
       HELLO and STATS are answered at once.
    2. Store, in the writer actor (zeb_writer): one write transaction: for
       each event, look up its dedup key (a hit within the window makes it
       a duplicate of the stored sequence), else assign the next sequence,
       patch it into the arena and append; then commit, which fsyncs in
       `always` mode. Meanwhile ingest goes on with step 1 for the next
       batch: receiving and encoding overlap the fsync.
    3. Reply, when the writer hands the batch back: ACK or NACK every
       PUBLISH of the batch, in the order received (batches complete in
       order); publish the stored events on the bus if anyone subscribes;
       tell log readers the new last sequence.

    Nothing is acknowledged before its transaction has committed; if the
    commit fails, every PUBLISH of the batch gets a NACK and nothing of it
    is stored. Messages are read with raw libzmq calls into stack zmq_msg_t
    and the arena is reused, so the per-event path does not allocate.
    =========================================================================
*/

#include "zeb_actors.h"
#include "zeb_batch.h"
#include "zeb_writer.h"
#include "zeb_validator.h"
#include <poll.h>
#if defined (__GLIBC__)
#   include <malloc.h>
#endif

#define S_MAX_PARTS     4       //  identity, command, body, tag
#define S_TRIM_DELAY    1000    //  ms after the last subscription went

const zeb_config_key_t zeb_ingest_config [] = {
    { "ingest/endpoint",        "tcp://127.0.0.1:7700", ZEB_KEY_ENDPOINT, 0, 0, NULL,
      "ROUTER for producers (PUBLISH, HELLO, STATS)" },
    { "bus/endpoint",           "tcp://127.0.0.1:7702", ZEB_KEY_ENDPOINT, 0, 0, NULL,
      "XPUB carrying committed events, topic = type" },
    { "ingest/notify",          "",      ZEB_KEY_ENDPOINT, 0, 0, NULL,
      "PUB that tells log readers about commits (default: an inproc endpoint)" },
    { "ingest/sync",            "always", ZEB_KEY_ENUM, 0, 0, "always|batch|none",
      "always = fsync before ack; batch = ack, fsync every sync_interval; none" },
    { "ingest/sync_interval",   "100ms", ZEB_KEY_DURATION, 1, 3600000, NULL, "fsync period in batch mode" },
    { "ingest/batch",           "1024",  ZEB_KEY_INT, 1, 65536, NULL,
      "most PUBLISH messages taken into one transaction; a message may be an array of up to "
      "ingest/max_publish events (zeb_client coalesces up to 256), so a transaction may hold "
      "more events than this" },
    { "ingest/inline_commit",   "64",    ZEB_KEY_INT, 0, 65536, NULL,
      "a batch of at most this many events that finds the store's writer idle is committed "
      "in ingest's thread, saving two thread wake-ups per ack (0 = always hand over)" },
    { "ingest/spin_us",         "0",     ZEB_KEY_INT, 0, 10000, NULL,
      "microseconds ingest's thread polls without sleeping before each wait: a message "
      "that comes meanwhile does not have to wake it (costs up to this much CPU per wake-up)" },
    { "ingest/max_event_size",  "1MiB",  ZEB_KEY_SIZE, 64, 1LL << 30, NULL, "largest encoded event accepted" },
    { "ingest/max_publish",     "1000",  ZEB_KEY_INT, 1, 100000, NULL, "most events in one PUBLISH array" },
    { "ingest/max_depth",       "64",    ZEB_KEY_INT, 1, 1024, NULL, "deepest nesting of arrays and maps in data" },
    { "ingest/dedup_window",    "24h",   ZEB_KEY_DURATION, 0, 0, NULL, "how long an idempotency key is remembered" },
    { "ingest/validation",      "off",   ZEB_KEY_ENUM, 0, 0, "off|warn|enforce",
      "check event data against registered schemas" },
    { "ingest/formats",         "annotate", ZEB_KEY_ENUM, 0, 0, "annotate|assert",
      "\"format\" in those schemas: an annotation (draft 2020-12's default), or asserted "
      "for the formats zeb knows (email, date-time, uuid, ...)" },
    { "ingest/registry",        "tcp://127.0.0.1:7703", ZEB_KEY_ENDPOINT, 0, 0, NULL,
      "the schema registry validation asks (default: the registry of this node)" },
    { "ingest/registry_changes", "",     ZEB_KEY_ENDPOINT, 0, 0, NULL,
      "where the registry announces schemas (default: the registry of this node)" },
    { "ingest/registry_timeout", "1s",   ZEB_KEY_DURATION, 1, 60000, NULL,
      "longest a schema lookup holds ingest's input" },
    { "ingest/registry_retry",  "5s",    ZEB_KEY_DURATION, 1, 3600000, NULL,
      "after a lookup timed out, accept unchecked this long before asking again" },
    { "ingest/hwm",             "100000", ZEB_KEY_INT, 1, 10000000, NULL,
      "ZeroMQ high-water mark of the ingest ROUTER (not of the bus: bus/hwm)" },
    { "bus/hwm",                "10000", ZEB_KEY_INT, 1, 10000000, NULL,
      "most events queued in zebd for one bus subscriber; beyond, it misses events" },
    { "bus/max_bytes",          "0",     ZEB_KEY_SIZE, 0, 0, NULL,
      "bytes of events one subscriber's queue may hold at worst: the queue is cut to "
      "max_bytes / ingest/max_event_size events if that is less than bus/hwm (0 = no cut)" },
    { "bus/sndbuf",             "0",     ZEB_KEY_SIZE, 0, 1LL << 30, NULL,
      "kernel send buffer of each bus connection, SO_SNDBUF (0 = the OS's, autotuned)" },
    { "store/map_size",         "64MiB", ZEB_KEY_SIZE, 64LL << 10, 0, NULL, "initial LMDB map size; grows on demand" },
    { "store/max_size",         "0",     ZEB_KEY_SIZE, 0, 0, NULL, "largest the store may grow (0 = disk size)" },
    { "store/journal",          "on",    ZEB_KEY_ENUM, 0, 0, "on|off",
      "sync always: on = one flush per group commit (a journal record; LMDB is flushed at "
      "checkpoints); off = LMDB flushes every commit itself (two flushes)" },
    { "store/journal_size",     "8MiB", ZEB_KEY_SIZE, 64LL << 10, 1LL << 32, NULL,
      "largest journal file (two of them); a checkpoint comes at 3/4 of it" },
    { "store/checkpoint_interval", "1s", ZEB_KEY_DURATION, 1, 3600000, NULL,
      "longest between checkpoints while commits come (bounds the journal to apply after a crash)" },
    { "retention/max_age",      "0",     ZEB_KEY_DURATION, 0, 0, NULL, "drop events older than this (0 = keep)" },
    { "retention/max_events",   "0",     ZEB_KEY_INT, 0, 0, NULL, "keep at most this many events (0 = all)" },
    { "retention/max_bytes",    "0",     ZEB_KEY_SIZE, 0, 0, NULL, "keep at most these bytes of events (0 = all)" },
    { "retention/interval",     "1s",    ZEB_KEY_DURATION, 1, 3600000, NULL, "how often retention runs" },
    { NULL }
};

typedef struct {
    uint64_t messages;          //  messages received on the front socket
    uint64_t events;            //  events received in PUBLISH
    uint64_t txns;              //  TXN requests taken in
    uint64_t stored;            //  events appended to the log
    uint64_t duplicates;        //  events acked as duplicates
    uint64_t acks;
    uint64_t batch_max;         //  largest batch, in messages
    uint64_t bus_sent;          //  events handed to the bus (someone subscribed)
    uint64_t bus_overflows;     //  of them, sends that found a subscriber's queue full
    uint64_t held;              //  waits of a message for a schema lookup
    uint64_t inline_commits;    //  batches committed here, the writer idle
} s_counters_t;

typedef struct {
    zeb_actor_t *actor;
    zeb_loop_t *loop;
    bool ready;                 //  the node said READY: read the front
    zactor_t *writer;           //  the write side of the store
    zeb_writer_link_t *link;    //  batches to and from the writer
    zeb_router_t *router;       //  the front ROUTER: producers
    zsock_t *front;             //  its socket
    zsock_t *bus;               //  XPUB: committed events
    zsock_t *notify;            //  PUB: commit notices for log readers
    void *front_handle;         //  raw libzmq handles of the above
    void *bus_handle;
    void *notify_handle;
    zeb_store_t *store;         //  a reader handle, for statistics
    char *endpoint;
    char *bus_endpoint;
    char *log_endpoint;         //  advertised in WELCOME ("" until known)
    char *registry_endpoint;    //  advertised in WELCOME ("" if none)
    char *outbox_endpoint;      //  advertised in WELCOME when the node runs an outbox
    char *automation_endpoint;  //  and when it runs automations
    char *http_endpoint;        //  and its HTTP gateway, when it runs one
    char *cron_endpoint;        //  and its cron triggers
    zeb_validator_t *validator; //  event data against registered schemas
    zmq_msg_t held [S_MAX_PARTS];   //  a message waiting for a schema lookup
    int held_count;
    size_t batch_limit;
    size_t inline_items;        //  batches up to this many events may commit here
    size_t max_event_size;
    size_t max_publish;
    size_t max_depth;
    zeb_batch_t batches [3];    //  filling, committing, being answered
    zeb_batch_t *filling;       //  taking PUBLISHes in
    zeb_batch_t *committing;    //  with the writer, or NULL
    msgpack_sbuffer reply;      //  scratch for reply bodies
    zeb_event_view_t view;      //  scratch for decoding
    uint64_t last_sequence;     //  last committed sequence
    int64_t bus_topics;         //  distinct subscriptions on the bus
    int bus_hwm;                //  events per subscriber queue, as applied
    int64_t trim_at;            //  when to give freed bus memory back (0: not due)
    s_counters_t counters;
} self_t;

static void
s_batch_init (zeb_batch_t *batch, size_t limit)
{
    memset (batch, 0, sizeof (*batch));
    batch->request_limit = limit;
    batch->requests = (zeb_batch_request_t *) calloc (limit, sizeof (zeb_batch_request_t));
    batch->item_limit = limit;
    batch->items = (zeb_batch_item_t *) calloc (limit, sizeof (zeb_batch_item_t));
    batch->txns = (zeb_batch_txn_t *) calloc (limit, sizeof (zeb_batch_txn_t));
    msgpack_sbuffer_init (&batch->arena);
    msgpack_sbuffer_init (&batch->keys);
    msgpack_sbuffer_init (&batch->txn);
}

static void
s_batch_reset (zeb_batch_t *batch)
{
    batch->request_count = 0;
    batch->item_count = 0;
    msgpack_sbuffer_clear (&batch->arena);
    msgpack_sbuffer_clear (&batch->keys);
    msgpack_sbuffer_clear (&batch->txn);
    batch->txn_count = 0;
    batch->result = 0;
}

static void
s_batch_free (zeb_batch_t *batch)
{
    //  Requests never replied to (shutdown) still hold their identity
    for (size_t index = 0; index < batch->request_count; index++)
        zmq_msg_close (&batch->requests [index].identity);
    free (batch->requests);
    free (batch->items);
    free (batch->txns);
    msgpack_sbuffer_destroy (&batch->arena);
    msgpack_sbuffer_destroy (&batch->keys);
    msgpack_sbuffer_destroy (&batch->txn);
}

static void
s_stop (void *state);

static int
s_bind (zsock_t *socket, const char *endpoint, char **bound, zeb_fault_t *fault)
{
    if (!socket)
        return zeb_fault_set (fault, ZEB_ERROR, "ingest: cannot create socket for %s", endpoint);
    if (zsock_bind (socket, "%s", endpoint) == -1)
        return zeb_fault_set (fault, ZEB_ECONFIG, "ingest: cannot bind %s: %s", endpoint,
                              zmq_strerror (zmq_errno ()));
    const char *last = zsock_endpoint (socket);
    *bound = strdup (last? last: endpoint);
    return 0;
}

//  ---------------------------------------------------------------------
//  Statistics

static void
s_stats (void *state, zeb_pack_t *pack)
{
    self_t *self = (self_t *) state;
    zeb_store_stats_t store;
    if (zeb_store_stats (self->store, &store))
        memset (&store, 0, sizeof (store));
    s_counters_t *c = &self->counters;
    zeb_writer_counters_t w = zeb_writer_link_counters (self->link);
    zeb_validator_counters_t v = zeb_validator_counters (self->validator);
    zeb_pack_map (pack, "ingest");
    zeb_pack_uint (pack, "messages", c->messages);
    zeb_pack_uint (pack, "events", c->events);
    zeb_pack_uint (pack, "txns", c->txns);
    zeb_pack_uint (pack, "stored", c->stored);
    zeb_pack_uint (pack, "duplicates", c->duplicates);
    zeb_pack_uint (pack, "acks", c->acks);
    zeb_router_pack_stats (self->router, pack);
    zeb_pack_uint (pack, "batches", w.batches);
    zeb_pack_uint (pack, "inline_commits", c->inline_commits);
    zeb_pack_uint (pack, "commit_failures", w.commit_failures);
    zeb_pack_uint (pack, "commit_us_total", w.commit_us);
    zeb_pack_uint (pack, "commit_us_max", w.commit_us_max);
    zeb_pack_uint (pack, "batch_max", c->batch_max);
    zeb_pack_uint (pack, "bus_sent", c->bus_sent);
    zeb_pack_uint (pack, "bus_overflows", c->bus_overflows);
    zeb_pack_uint (pack, "bus_hwm", (uint64_t) self->bus_hwm);
    zeb_pack_uint (pack, "bus_subscriptions", (uint64_t) (self->bus_topics > 0? self->bus_topics: 0));
    zeb_pack_uint (pack, "retention_removed", w.retention_removed);
    zeb_pack_uint (pack, "dedup_expired", w.dedup_expired);
    zeb_pack_uint (pack, "syncs", w.syncs);
    zeb_pack_uint (pack, "flushes", w.flushes);
    zeb_pack_uint (pack, "checkpoints", w.checkpoints);
    zeb_pack_uint (pack, "validated", v.validated);
    zeb_pack_uint (pack, "validation_refused", v.refused);
    zeb_pack_uint (pack, "validation_too_complex", v.too_complex);
    zeb_pack_uint (pack, "validation_warned", v.warned);
    zeb_pack_uint (pack, "validation_unavailable", v.unavailable);
    zeb_pack_uint (pack, "schema_lookups", v.lookups);
    zeb_pack_uint (pack, "registry_timeouts", v.timeouts);
    zeb_pack_uint (pack, "held_for_lookup", c->held);
    zeb_pack_end (pack);
    zeb_pack_map (pack, "store");
    zeb_pack_uint (pack, "first", store.first);
    zeb_pack_uint (pack, "last", store.last);
    zeb_pack_uint (pack, "count", store.count);
    zeb_pack_uint (pack, "bytes", store.bytes);
    zeb_pack_uint (pack, "dedup_keys", store.dedup_keys);
    zeb_pack_uint (pack, "map_size", store.map_size);
    zeb_pack_uint (pack, "map_used", store.map_used);
    zeb_pack_end (pack);
}

//  ---------------------------------------------------------------------
//  Phase 1: receive and accept

//  Receive one whole message without blocking. Returns the number of parts
//  kept (0: nothing waiting); parts beyond max are read and dropped, and
//  *overflow is set. Caller closes the parts it got.
static int
s_recv_message (void *socket, zmq_msg_t *parts, int max, bool *overflow)
{
    *overflow = false;
    zmq_msg_init (&parts [0]);
    if (zmq_msg_recv (&parts [0], socket, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close (&parts [0]);
        return 0;
    }
    //  The rest of a multipart message is always there already
    int count = 1;
    bool more = zmq_msg_more (&parts [0]);
    while (more) {
        zmq_msg_t extra;
        zmq_msg_t *part = count < max? &parts [count]: &extra;
        zmq_msg_init (part);
        zmq_msg_recv (part, socket, 0);
        more = zmq_msg_more (part);
        if (part == &extra) {
            zmq_msg_close (&extra);
            *overflow = true;
        }
        else
            count++;
    }
    return count;
}

static zeb_batch_item_t *
s_item_new (zeb_batch_t *batch)
{
    if (batch->item_count == batch->item_limit) {
        size_t limit = batch->item_limit * 2;
        zeb_batch_item_t *items = (zeb_batch_item_t *) realloc (batch->items, limit * sizeof (zeb_batch_item_t));
        if (!items)
            return NULL;
        batch->items = items;
        batch->item_limit = limit;
    }
    return &batch->items [batch->item_count++];
}

//  Decode, check and encode one event into the batch's arena.
static int
s_accept_event (self_t *self, zeb_batch_t *batch, const uint8_t *data, size_t size,
                zeb_fault_t *fault)
{
    if (size > self->max_event_size)
        return zeb_fault_set (fault, ZEB_ETOOBIG, "event of %zu bytes is over the limit of %zu bytes",
                              size, self->max_event_size);
    zeb_event_view_t *view = &self->view;
    int rc = zeb_event_view_decode_limited (view, data, size, self->max_depth, fault);
    if (rc == 0)
        rc = zeb_event_view_validate (view, fault);
    if (rc == 0)
        rc = zeb_validator_check (self->validator, view, fault);
    if (rc)
        return rc;              //  an error, or 1: a schema lookup is under way
    //  The dedup key is the producer's: take it before assigning an id
    zeb_str_t key = zeb_event_view_dedup_key (view);
    char id [ZEB_UUID_STRLEN + 1];
    if (!view->attr [ZEB_ATTR_ID].ptr) {
        view->attr [ZEB_ATTR_ID].ptr = zeb_uuid_v7_str (id);
        view->attr [ZEB_ATTR_ID].len = ZEB_UUID_STRLEN;
    }
    if (!view->has_time) {
        view->time = batch->now;
        view->has_time = true;
    }
    view->sequence = 0;
    zeb_batch_item_t *item = s_item_new (batch);
    if (!item)
        return zeb_fault_set (fault, ZEB_EOVERLOADED, "out of memory for the batch");
    item->offset = batch->arena.size;
    if (zeb_event_view_encode (view, &batch->arena, &item->sequence_at)) {
        batch->item_count--;
        return zeb_fault_set (fault, ZEB_EOVERLOADED, "out of memory for the batch");
    }
    item->size = batch->arena.size - item->offset;
    item->type_at = batch->keys.size;
    item->type_len = view->attr [ZEB_ATTR_TYPE].len;
    msgpack_sbuffer_write (&batch->keys, view->attr [ZEB_ATTR_TYPE].ptr, item->type_len);
    item->key_at = batch->keys.size;
    item->key_len = key.ptr? key.len: 0;
    if (item->key_len)
        msgpack_sbuffer_write (&batch->keys, key.ptr, key.len);
    item->duplicate = false;
    item->sequence = 0;
    return 0;
}

//  An array waits for a schema lookup: ask now for every other event of it
//  whose schema is not cached, so that the lookups run side by side, not
//  one round trip after another (each would hold ingest's input again)
static void
s_prefetch_schemas (self_t *self, zeb_mpk_t *reader)
{
    const uint8_t *event;
    size_t event_size;
    zeb_mpk_t rest = *reader;
    while (zeb_mpk_skip (&rest, &event, &event_size) == 0) {
        zeb_event_view_t *view = &self->view;
        if (zeb_event_view_decode_limited (view, event, event_size, self->max_depth, NULL) == 0
        &&  zeb_event_view_validate (view, NULL) == 0)
            zeb_validator_prefetch (self->validator, view);
    }
}

//  Accept a PUBLISH body: one event, or an array of them, all or nothing.
//  Returns 1 if an event's schema is being looked up (nothing of the
//  message was taken: the caller holds it and offers it again), else 0.
static int
s_accept_publish (self_t *self, zeb_batch_t *batch, zeb_batch_request_t *request,
                  const uint8_t *body, size_t size)
{
    zeb_fault_t fault = { 0 };
    size_t arena_mark = batch->arena.size;
    size_t keys_mark = batch->keys.size;
    request->first_item = batch->item_count;
    request->index = -1;
    request->error = 0;
    zeb_mpk_t reader;
    zeb_mpk_init (&reader, body, size);
    uint32_t count;
    int rc;
    if (zeb_mpk_peek (&reader) == ZEB_MPK_ARRAY) {
        request->array = true;
        if (zeb_mpk_read_array (&reader, &count)) {
            count = 0;
            rc = zeb_fault_set (&fault, ZEB_EMALFORMED, "PUBLISH array header is truncated");
        }
        else
        if (count == 0)
            rc = zeb_fault_set (&fault, ZEB_EMALFORMED, "PUBLISH of an empty array");
        else
        if (count > self->max_publish)
            rc = zeb_fault_set (&fault, ZEB_ETOOBIG, "PUBLISH of %u events: at most %zu per message",
                                count, self->max_publish);
        else
            rc = 0;
        for (uint32_t index = 0; rc == 0 && index < count; index++) {
            const uint8_t *event;
            size_t event_size;
            if (zeb_mpk_skip (&reader, &event, &event_size))
                rc = zeb_fault_set (&fault, ZEB_EMALFORMED, "event %u is truncated or malformed", index);
            else
                rc = s_accept_event (self, batch, event, event_size, &fault);
            if (rc < 0)
                request->index = index;
        }
        if (rc == 1)
            s_prefetch_schemas (self, &reader);
        if (rc == 0 && !zeb_mpk_done (&reader))
            rc = zeb_fault_set (&fault, ZEB_EMALFORMED, "bytes left over after the array");
        if (rc != 1)
            self->counters.events += count;
    }
    else {
        request->array = false;
        rc = s_accept_event (self, batch, body, size, &fault);
        if (rc != 1)
            self->counters.events++;
    }
    if (rc == 1) {
        batch->arena.size = arena_mark;
        batch->keys.size = keys_mark;
        batch->item_count = request->first_item;
        return 1;
    }
    if (rc) {
        //  Atomic: forget whatever events of this message were accepted
        batch->arena.size = arena_mark;
        batch->keys.size = keys_mark;
        batch->item_count = request->first_item;
        request->error = rc;
        snprintf (request->text, sizeof (request->text), "%s", fault.text);
    }
    request->item_count = batch->item_count - request->first_item;
    return 0;
}

//  A NACK to a PUBLISH, sent here (PUBLISH replies do not go through the
//  router's request path) but counted with the router's
static void
s_reply_nack (self_t *self, zmq_msg_t *identity, int code, const char *text, int64_t index,
              const void *tag, size_t tag_size)
{
    char clean [400];
    zeb_router_escape (text, strlen (text), clean, sizeof (clean));
    msgpack_sbuffer_clear (&self->reply);
    zeb_proto_pack_nack (&self->reply, code, clean, index);
    zeb_proto_send (self->front_handle, identity, ZEB_CMD_NACK, self->reply.data, self->reply.size,
                    tag, tag_size, ZMQ_DONTWAIT);
    zeb_router_count_nack (self->router, code);
}

static void
s_handle_hello (void *owner, zeb_request_t *request)
{
    self_t *self = (self_t *) owner;
    uint64_t version = ZEB_PROTO_VERSION;
    if (zeb_proto_get_uint (request->body, request->body_size, "version", &version) < 0
    ||  version != ZEB_PROTO_VERSION) {
        zeb_router_nack (request, ZEB_EVERSION, "this node speaks ZEB/1 only");
        return;
    }
    msgpack_sbuffer_clear (&self->reply);
    zeb_pack_t pack;
    zeb_pack_init (&pack, &self->reply);
    zeb_pack_map (&pack, NULL);
    zeb_pack_uint (&pack, "version", ZEB_PROTO_VERSION);
    zeb_pack_str (&pack, "node", zeb_actor_node_name (self->actor));
    zeb_pack_str (&pack, "ingest", self->endpoint);
    zeb_pack_str (&pack, "log", self->log_endpoint);
    zeb_pack_str (&pack, "registry", self->registry_endpoint);
    if (self->outbox_endpoint)
        zeb_pack_str (&pack, "outbox", self->outbox_endpoint);
    if (self->automation_endpoint)
        zeb_pack_str (&pack, "automation", self->automation_endpoint);
    if (self->http_endpoint)
        zeb_pack_str (&pack, "http", self->http_endpoint);
    if (self->cron_endpoint)
        zeb_pack_str (&pack, "cron", self->cron_endpoint);
    zeb_pack_str (&pack, "bus", self->bus_endpoint);
    zeb_pack_uint (&pack, "max_event_size", self->max_event_size);
    zeb_pack_uint (&pack, "max_publish", self->max_publish);
    zeb_pack_uint (&pack, "last", self->last_sequence);
    zeb_pack_end (&pack);
    zeb_router_reply (request, ZEB_CMD_WELCOME, self->reply.data, self->reply.size);
}

//  PUBLISH has its own path (s_accept_message); the router's table serves
//  the rest, and answers anything else with UNKNOWN_COMMAND
static const zeb_router_command_t s_commands [] = {
    { ZEB_CMD_HELLO, s_handle_hello, 0 },
    { NULL }
};

//  Take one message into the filling batch, or answer it at once. Returns
//  1 if it is a PUBLISH waiting for a schema lookup: the parts are then
//  left untouched, for the caller to hold.
//  A TXN: {db, writes: [[key, value|nil]...], events?: [...]}. The events
//  are taken as a PUBLISH array; the writes go with them into the same
//  commit. Returns as s_accept_publish.
static int
s_accept_txn (self_t *self, zeb_batch_t *batch, zeb_batch_request_t *request,
              const uint8_t *body, size_t size)
{
    request->first_item = batch->item_count;
    request->item_count = 0;
    request->index = -1;
    request->error = 0;
    request->array = true;
    const char *db;
    size_t db_len;
    zeb_mpk_t writes, events;
    const uint8_t *writes_span = NULL;
    size_t writes_size = 0;
    zeb_fault_t fault = { 0 };
    int rc = 0;
    uint32_t count = 0;
    if (!zeb_proto_is_map (body, size))
        rc = zeb_fault_set (&fault, ZEB_EMALFORMED, "TXN body is not a map with string keys");
    else
    if (zeb_proto_get_str (body, size, "db", &db, &db_len) || db_len == 0 || db_len > 64
    ||  !zeb_mpk_utf8_valid (db, db_len) || memchr (db, 0, db_len))
        rc = zeb_fault_set (&fault, ZEB_EINVALID, "TXN needs db: the application database's name, 1..64 bytes");
    else
    if (zeb_mpk_find (body, size, "writes", &writes) || zeb_mpk_read_array (&writes, &count)
    ||  count > ZEB_TXN_MAX_WRITES)
        rc = zeb_fault_set (&fault, ZEB_EINVALID, "TXN needs writes: an array of at most %d [key, value] pairs",
                            ZEB_TXN_MAX_WRITES);
    //  Every write is [key: bin or str of 1..511 bytes, value: bin, str or nil]
    for (uint32_t index = 0; rc == 0 && index < count; index++) {
        uint32_t pair;
        const uint8_t *bytes;
        uint32_t len;
        zeb_mpk_kind_t kind;
        if (zeb_mpk_read_array (&writes, &pair) || pair != 2)
            rc = zeb_fault_set (&fault, ZEB_EINVALID, "TXN writes[%u] is not [key, value]", index);
        else
        if (!((kind = zeb_mpk_peek (&writes)) == ZEB_MPK_BIN? zeb_mpk_read_bin (&writes, &bytes, &len) == 0:
              kind == ZEB_MPK_STR? zeb_mpk_read_str (&writes, (const char **) &bytes, &len) == 0: false)
        ||  len == 0 || len > 511)
            rc = zeb_fault_set (&fault, ZEB_EINVALID, "TXN writes[%u] key must be 1..511 bytes (bin or str)", index);
        else
        if ((kind = zeb_mpk_peek (&writes)) == ZEB_MPK_NIL)
            zeb_mpk_read_nil (&writes);
        else
        if (!(kind == ZEB_MPK_BIN? zeb_mpk_read_bin (&writes, &bytes, &len) == 0:
              kind == ZEB_MPK_STR? zeb_mpk_read_str (&writes, (const char **) &bytes, &len) == 0: false))
            rc = zeb_fault_set (&fault, ZEB_EINVALID, "TXN writes[%u] value must be bin, str or nil", index);
        else
        if (len > self->max_event_size)
            rc = zeb_fault_set (&fault, ZEB_ETOOBIG, "TXN writes[%u] value of %u bytes: at most %zu", index,
                                len, self->max_event_size);
    }
    if (rc == 0) {
        zeb_mpk_t again;
        zeb_mpk_find (body, size, "writes", &again);
        zeb_mpk_skip (&again, &writes_span, &writes_size);
    }
    if (rc) {
        request->error = rc;
        snprintf (request->text, sizeof (request->text), "%s", fault.text);
        return 0;
    }
    if (zeb_mpk_find (body, size, "events", &events) == 0) {
        const uint8_t *span;
        size_t span_size;
        if (zeb_mpk_peek (&events) != ZEB_MPK_ARRAY || zeb_mpk_skip (&events, &span, &span_size)) {
            request->error = ZEB_EINVALID;
            snprintf (request->text, sizeof (request->text), "TXN events must be an array of events");
            return 0;
        }
        uint32_t events_count = 0;
        zeb_mpk_t header;
        zeb_mpk_init (&header, span, span_size);
        zeb_mpk_read_array (&header, &events_count);
        if (events_count) {
            rc = s_accept_publish (self, batch, request, span, span_size);
            if (rc == 1 || request->error)
                return rc;
        }
    }
    //  The writes join the batch with the events
    zeb_batch_txn_t *txn = &batch->txns [batch->txn_count++];
    txn->request = batch->request_count;
    txn->db_at = batch->txn.size;
    txn->db_len = db_len;
    msgpack_sbuffer_write (&batch->txn, db, db_len);
    txn->writes_at = batch->txn.size;
    txn->writes_size = writes_size;
    msgpack_sbuffer_write (&batch->txn, (const char *) writes_span, writes_size);
    self->counters.txns++;
    return 0;
}

static int
s_accept_message (self_t *self, zmq_msg_t *parts, int count, bool overflow)
{
    bool txn = !overflow && count >= 3 && count <= 4
            && zmq_msg_size (&parts [1]) == 3
            && memcmp (zmq_msg_data (&parts [1]), ZEB_CMD_TXN, 3) == 0;
    bool publish = txn || (!overflow && count >= 3 && count <= 4
                && zmq_msg_size (&parts [1]) == 7
                && memcmp (zmq_msg_data (&parts [1]), ZEB_CMD_PUBLISH, 7) == 0);
    const void *tag = count == 4? zmq_msg_data (&parts [3]): NULL;
    size_t tag_size = count == 4? zmq_msg_size (&parts [3]): 0;
    if (!publish || tag_size > ZEB_PROTO_MAX_TAG) {
        self->counters.messages++;
        zeb_router_dispatch (self->router, parts, count, overflow);
        return 0;
    }
    zeb_batch_t *batch = self->filling;
    zeb_batch_request_t *request = &batch->requests [batch->request_count];
    if (txn? s_accept_txn (self, batch, request, (const uint8_t *) zmq_msg_data (&parts [2]),
                           zmq_msg_size (&parts [2])):
             s_accept_publish (self, batch, request, (const uint8_t *) zmq_msg_data (&parts [2]),
                               zmq_msg_size (&parts [2])))
        return 1;
    self->counters.messages++;
    batch->request_count++;
    zmq_msg_init (&request->identity);
    zmq_msg_move (&request->identity, &parts [0]);
    request->has_tag = tag != NULL;
    request->tag_size = tag_size;
    if (tag_size)
        memcpy (request->tag, tag, tag_size);
    return 0;
}

//  ---------------------------------------------------------------------
//  Phase 3: reply, announce

static void
s_reply_publish (self_t *self, zeb_batch_t *batch, zeb_batch_request_t *request)
{
    const void *tag = request->has_tag? request->tag: NULL;
    if (request->error == 0 && batch->result) {
        request->error = batch->result;
        snprintf (request->text, sizeof (request->text), "%s",
                  batch->result == ZEB_EFULL? "storage full: nothing was stored, retry later":
                  "storage failure: nothing was stored");
    }
    if (request->error) {
        s_reply_nack (self, &request->identity, request->error, request->text, request->index,
                      tag, request->tag_size);
        return;
    }
    msgpack_sbuffer_clear (&self->reply);
    zeb_batch_item_t *items = &batch->items [request->first_item];
    if (!request->array)
        zeb_proto_pack_ack (&self->reply, items [0].sequence, items [0].duplicate);
    else {
        zeb_pack_t pack;
        zeb_pack_init (&pack, &self->reply);
        zeb_pack_map (&pack, NULL);
        zeb_pack_uint (&pack, "count", request->item_count);
        zeb_pack_array (&pack, "sequences");
        for (size_t index = 0; index < request->item_count; index++)
            zeb_pack_uint (&pack, NULL, items [index].sequence);
        zeb_pack_end (&pack);
        zeb_pack_array (&pack, "duplicates");
        for (size_t index = 0; index < request->item_count; index++)
            if (items [index].duplicate)
                zeb_pack_uint (&pack, NULL, index);
        zeb_pack_end (&pack);
        zeb_pack_end (&pack);
    }
    zeb_proto_send (self->front_handle, &request->identity, ZEB_CMD_ACK,
                    self->reply.data, self->reply.size, tag, request->tag_size, ZMQ_DONTWAIT);
    self->counters.acks++;
}

//  Whether the bus drops (lossy) or refuses (EAGAIN) at a full queue
static void
s_bus_set_lossy (self_t *self, bool lossy)
{
    int nodrop = lossy? 0: 1;
    zmq_setsockopt (self->bus_handle, ZMQ_XPUB_NODROP, &nodrop, sizeof (nodrop));
}

//  Publish one event on the bus: [type][event]. The bus refuses a send
//  (ZMQ_XPUB_NODROP, EAGAIN) when a subscriber it matches has a full queue,
//  the one moment libzmq lets ingest see a drop; the event then goes again
//  in lossy mode, which gives it to every subscriber with room and takes
//  the full ones out of the send set until they have read their queue down
//  to libzmq's low-water mark. So one overflow is counted per subscriber
//  (or several at once) starting to miss events, not per event missed: a
//  subscriber that never reads counts once.
static void
s_bus_publish (self_t *self, const void *topic, size_t topic_size, const void *event,
               size_t event_size)
{
    bool lossy = false;
    int rc = zmq_send (self->bus_handle, topic, topic_size, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    if (rc == -1 && zmq_errno () == EAGAIN) {
        lossy = true;
        s_bus_set_lossy (self, true);
        rc = zmq_send (self->bus_handle, topic, topic_size, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    }
    if (rc == -1)
        return;                 //  ETERM: the node is stopping
    rc = zmq_send (self->bus_handle, event, event_size, ZMQ_DONTWAIT);
    if (rc == -1 && zmq_errno () == EAGAIN && !lossy) {
        lossy = true;           //  a queue filled between the frames
        s_bus_set_lossy (self, true);
        zmq_send (self->bus_handle, event, event_size, ZMQ_DONTWAIT);
    }
    if (lossy) {
        s_bus_set_lossy (self, false);
        self->counters.bus_overflows++;
    }
    self->counters.bus_sent++;
}

static void
s_announce (self_t *self, zeb_batch_t *batch)
{
    uint64_t last = 0;
    for (size_t index = 0; index < batch->item_count; index++) {
        zeb_batch_item_t *item = &batch->items [index];
        if (item->duplicate) {
            self->counters.duplicates++;
            continue;
        }
        self->counters.stored++;
        last = item->sequence;
        if (self->bus_topics > 0)
            s_bus_publish (self, batch->keys.data + item->type_at, item->type_len,
                           batch->arena.data + item->offset, item->size);
    }
    if (last) {
        self->last_sequence = last;
        uint8_t body [9];
        body [0] = 0xcf;                //  msgpack uint64
        zeb_event_patch_sequence (body, 1, last);
        zeb_proto_send (self->notify_handle, NULL, ZEB_CMD_COMMIT, body, sizeof (body),
                        NULL, 0, ZMQ_DONTWAIT);
    }
}

//  A batch is done (stored, or failed): reply to all of it, in order.
//  Replies and announcements are sends on the front and the bus, which may
//  process those sockets' commands and so consume their ZMQ_FD signals:
//  both are read again before the loop waits.
static void
s_complete (self_t *self, zeb_batch_t *batch)
{
    zeb_loop_ready (self->loop, self->front);
    zeb_loop_ready (self->loop, self->bus);
    for (size_t index = 0; index < batch->request_count; index++)
        s_reply_publish (self, batch, &batch->requests [index]);
    if (batch->result == 0 && batch->item_count)
        s_announce (self, batch);
    s_batch_reset (batch);
}

//  Whether the filling batch can take another message
static bool
s_room (self_t *self)
{
    return self->filling->request_count < self->filling->request_limit;
}

//  Hand the filling batch to the writer if it is free; a batch of NACKs
//  only is answered at once. answering is a batch being answered (or
//  NULL), not to be reused yet. Batches complete in the order they filled.
static void
s_dispatch (self_t *self, zeb_batch_t *answering)
{
    if (self->committing || self->filling->request_count == 0)
        return;
    zeb_batch_t *batch = self->filling;
    for (int index = 0; index < 3; index++) {
        zeb_batch_t *spare = &self->batches [index];
        if (spare != batch && spare != answering)
            self->filling = spare;
    }
    if (batch->item_count == 0 && batch->txn_count == 0)
        s_complete (self, batch);
    else
    if (!answering && self->inline_items && batch->item_count <= self->inline_items
    &&  zeb_writer_link_commit (self->link, batch)) {
        //  Small, nothing before it to answer, the writer idle: committed
        //  here, without waking the writer and being woken by it
        self->counters.inline_commits++;
        s_complete (self, batch);
    }
    else {
        self->committing = batch;
        zeb_writer_link_submit (self->link, batch);
    }
}

//  Take in what waits on the front socket, up to the batch limit. Returns
//  true if it stopped at the limit, with messages perhaps still waiting;
//  false once a receive found none (ZMQ_FD then fires for the next one).
//  Read the front only when the node is ready, no message is held for a
//  lookup, and the filling batch has room: otherwise producers' messages
//  stay in the socket (back-pressure)
static void
s_update_front (self_t *self)
{
    zeb_loop_pause (self->loop, self->front, !self->ready || self->held_count > 0 || !s_room (self));
}

//  Offer the held message again, now that its lookup has an answer
static void
s_retry_held (self_t *self)
{
    if (self->held_count == 0 || zeb_validator_waiting (self->validator))
        return;
    if (self->filling->request_count == 0)
        self->filling->now = zeb_time_now ();
    if (s_accept_message (self, self->held, self->held_count, false) == 0) {
        for (int index = 0; index < self->held_count; index++)
            zmq_msg_close (&self->held [index]);
        self->held_count = 0;
        zeb_loop_ready (self->loop, self->front);
    }
    else
        self->counters.held++;          //  it waits again, for another type
    s_dispatch (self, NULL);
}

//  Take in what waits on the front socket, up to the batch limit. Returns
//  1 if it stopped at the limit, with messages perhaps still waiting; 0
//  once a receive found none (ZMQ_FD then fires for the next one), or a
//  message is held for a schema lookup.
static int
s_handle_front (void *arg)
{
    self_t *self = (self_t *) arg;
    zeb_batch_t *batch = self->filling;
    if (batch->request_count == 0)
        batch->now = zeb_time_now ();
    zmq_msg_t parts [S_MAX_PARTS];
    size_t received = 0;
    int more = 1;
    while (batch->request_count < batch->request_limit && received < self->batch_limit) {
        bool overflow;
        int count = s_recv_message (self->front_handle, parts, S_MAX_PARTS, &overflow);
        if (count == 0) {
            more = 0;
            break;
        }
        if (s_accept_message (self, parts, count, overflow)) {
            //  Hold it, and read nothing more until its schema is known:
            //  events are stored in the order they came
            for (int index = 0; index < count; index++) {
                zmq_msg_init (&self->held [index]);
                zmq_msg_move (&self->held [index], &parts [index]);
            }
            self->held_count = count;
            self->counters.held++;
            more = 0;
            break;
        }
        for (int index = 0; index < count; index++)
            zmq_msg_close (&parts [index]);
        received++;
    }
    if (batch->request_count > self->counters.batch_max)
        self->counters.batch_max = batch->request_count;
    s_dispatch (self, NULL);
    s_update_front (self);
    return more;
}

//  The writer handed a batch back: start the next commit first, then
//  answer this batch meanwhile
static int
s_handle_writer (void *arg)
{
    self_t *self = (self_t *) arg;
    zeb_batch_t *done = zeb_writer_link_take (self->link);
    if (!done)
        return 0;
    assert (done == self->committing);
    self->committing = NULL;
    s_dispatch (self, done);
    s_complete (self, done);
    s_update_front (self);
    return 0;
}

//  Subscriptions arriving on the bus: count distinct topics so that the
//  bus costs nothing when nobody listens. When the last one goes, the
//  subscribers' queues are being freed (by libzmq's I/O thread, after the
//  pipes' termination handshake); a second later ingest asks malloc to
//  give the freed memory back to the system (see s_tick).
static int
s_handle_bus (void *arg)
{
    self_t *self = (self_t *) arg;
    zmq_msg_t msg;
    zmq_msg_init (&msg);
    while (zmq_msg_recv (&msg, self->bus_handle, ZMQ_DONTWAIT) >= 0) {
        if (zmq_msg_size (&msg) > 0) {
            uint8_t kind = *(uint8_t *) zmq_msg_data (&msg);
            if (kind == 1)
                self->bus_topics++;
            else
            if (kind == 0 && --self->bus_topics == 0)
                self->trim_at = zclock_mono () + S_TRIM_DELAY;
        }
        zmq_msg_close (&msg);
        zmq_msg_init (&msg);
    }
    zmq_msg_close (&msg);
    return 0;
}

//  Give memory freed by the bus back to the system. glibc keeps freed
//  heap memory for reuse, and the queues of many subscribers leave it too
//  fragmented to shrink the heap by itself: without this, zebd kept its
//  peak size after every subscriber had gone (bench/README.md, bus).
static void
s_trim (self_t *self)
{
    self->trim_at = 0;
#if defined (__GLIBC__)
    if (self->bus_topics <= 0)
        malloc_trim (0);
#endif
}

//  Schemas announced by the registry
static int
s_handle_changes (void *arg)
{
    self_t *self = (self_t *) arg;
    zeb_validator_handle_changes (self->validator);
    return 0;
}

//  Answers from the registry to lookups
static int
s_handle_lookups (void *arg)
{
    self_t *self = (self_t *) arg;
    zeb_validator_handle_replies (self->validator);
    s_retry_held (self);
    s_update_front (self);
    return 0;
}

//  Every turn: lookups past their deadline; how long the loop may wait
static int
s_tick (void *arg)
{
    self_t *self = (self_t *) arg;
    int timeout = zeb_validator_expire (self->validator);
    if (self->trim_at) {
        int64_t wait = self->trim_at - zclock_mono ();
        if (wait <= 0)
            s_trim (self);
        else
        if (timeout < 0 || wait < timeout)
            timeout = (int) wait;
    }
    if (self->held_count && !zeb_validator_waiting (self->validator)) {
        s_retry_held (self);
        s_update_front (self);
    }
    return timeout;
}

//  Clean stop: commit and acknowledge what was taken in
static void
s_drain (self_t *self)
{
    while (self->committing || self->filling->request_count) {
        if (self->committing) {
            struct pollfd result = { self->link->result_fd, POLLIN, 0 };
            if (poll (&result, 1, 30000) <= 0)
                break;                  //  the writer is stuck: give up
            s_handle_writer (self);
        }
        s_dispatch (self, NULL);
    }
}

//  ---------------------------------------------------------------------
//  The actor

static void
s_peer (void *state, const char *name, const char *endpoint)
{
    self_t *self = (self_t *) state;
    if (streq (name, "log")) {
        zstr_free (&self->log_endpoint);
        self->log_endpoint = strdup (endpoint);
    }
    else
    if (streq (name, "registry")) {
        zstr_free (&self->registry_endpoint);
        self->registry_endpoint = strdup (endpoint);
    }
    else
    if (streq (name, "outbox")) {
        zstr_free (&self->outbox_endpoint);
        self->outbox_endpoint = strdup (endpoint);
    }
    else
    if (streq (name, "automation")) {
        zstr_free (&self->automation_endpoint);
        self->automation_endpoint = strdup (endpoint);
    }
    else
    if (streq (name, "http")) {
        zstr_free (&self->http_endpoint);
        self->http_endpoint = strdup (endpoint);
    }
    else
    if (streq (name, "cron")) {
        zstr_free (&self->cron_endpoint);
        self->cron_endpoint = strdup (endpoint);
    }
    else
    if (streq (name, "")) {
        //  Every peer is known: clients may now HELLO and be told the truth
        self->ready = true;
        s_update_front (self);
    }
}

static void
s_stop (void *state)
{
    self_t *self = (self_t *) state;
    if (self->committing || (self->filling && self->filling->request_count))
        s_drain (self);
    for (int index = 0; index < self->held_count; index++)
        zmq_msg_close (&self->held [index]);
    zactor_destroy (&self->writer);             //  syncs in batch mode
    zeb_writer_link_destroy (&self->link);
    zeb_store_destroy (&self->store);
    zeb_validator_destroy (&self->validator);
    zeb_router_destroy (&self->router);
    zsock_destroy (&self->bus);
    zsock_destroy (&self->notify);
    if (self->filling)
        for (int index = 0; index < 3; index++)
            s_batch_free (&self->batches [index]);
    msgpack_sbuffer_destroy (&self->reply);
    zstr_free (&self->endpoint);
    zstr_free (&self->bus_endpoint);
    zstr_free (&self->log_endpoint);
    zstr_free (&self->registry_endpoint);
    zstr_free (&self->outbox_endpoint);
    zstr_free (&self->automation_endpoint);
    zstr_free (&self->http_endpoint);
    zstr_free (&self->cron_endpoint);
}

//  The bus's bounds, before it binds (libzmq applies a high-water mark to
//  the pipes made after it is set). What they bound is in docs/PROTOCOL.md
//  (the bus): per subscriber, at most bus_hwm events in zebd's queue.
static int
s_bus_setup (self_t *self, zconfig_t *config, zeb_fault_t *fault)
{
    int64_t hwm;
    uint64_t max_bytes, sndbuf;
    zeb_config_int (config, "bus/hwm", &hwm);
    zeb_config_size (config, "bus/max_bytes", &max_bytes);
    zeb_config_size (config, "bus/sndbuf", &sndbuf);
    if (max_bytes && max_bytes / self->max_event_size < (uint64_t) hwm) {
        hwm = (int64_t) (max_bytes / self->max_event_size);
        if (hwm == 0)
            return zeb_fault_set (fault, ZEB_ECONFIG, "ingest: bus/max_bytes (%llu) is below "
                                  "ingest/max_event_size (%zu): not one event would fit",
                                  (unsigned long long) max_bytes, self->max_event_size);
    }
    self->bus_hwm = (int) hwm;
    self->bus_handle = zsock_resolve (self->bus);
    //  With two libzmq I/O threads or more, the bus's connections get the
    //  last one and the front the others: fan-out to many subscribers then
    //  cannot starve producers' PUBLISHes and ACKs (bench/README.md, bus)
    int threads = zmq_ctx_get (zsys_init (), ZMQ_IO_THREADS);
    if (threads >= 2 && threads <= 63) {
        uint64_t bus_affinity = 1ULL << (threads - 1);
        uint64_t front_affinity = bus_affinity - 1;
        if (zmq_setsockopt (self->bus_handle, ZMQ_AFFINITY, &bus_affinity, sizeof (bus_affinity))
        ||  zmq_setsockopt (zsock_resolve (self->front), ZMQ_AFFINITY, &front_affinity,
                            sizeof (front_affinity)))
            return zeb_fault_set (fault, ZEB_ERROR, "ingest: cannot set I/O thread affinity: %s",
                                  zmq_strerror (zmq_errno ()));
    }
    int nodrop = 1;             //  see s_bus_publish
    int kernel = (int) sndbuf;
    if (zmq_setsockopt (self->bus_handle, ZMQ_SNDHWM, &self->bus_hwm, sizeof (int))
    ||  zmq_setsockopt (self->bus_handle, ZMQ_XPUB_NODROP, &nodrop, sizeof (nodrop))
    ||  (kernel && zmq_setsockopt (self->bus_handle, ZMQ_SNDBUF, &kernel, sizeof (kernel))))
        return zeb_fault_set (fault, ZEB_ERROR, "ingest: cannot set the bus's options: %s",
                              zmq_strerror (zmq_errno ()));
    return 0;
}

static int
s_start (void *state, zeb_actor_t *actor, zconfig_t *config, zeb_fault_t *fault)
{
    self_t *self = (self_t *) state;
    self->actor = actor;
    self->loop = zeb_actor_loop (actor);
    msgpack_sbuffer_init (&self->reply);
    char *notify_endpoint = NULL;
    int64_t batch, max_publish, hwm, max_depth, inline_items;
    uint64_t max_event_size;
    zeb_config_int (config, "ingest/batch", &batch);
    zeb_config_int (config, "ingest/inline_commit", &inline_items);
    self->inline_items = (size_t) inline_items;
    int64_t spin_us;
    zeb_config_int (config, "ingest/spin_us", &spin_us);
    zeb_loop_set_spin (self->loop, spin_us);
    zeb_config_int (config, "ingest/max_publish", &max_publish);
    zeb_config_int (config, "ingest/hwm", &hwm);
    zeb_config_int (config, "ingest/max_depth", &max_depth);
    self->max_depth = (size_t) max_depth;
    zeb_config_size (config, "ingest/max_event_size", &max_event_size);
    self->batch_limit = (size_t) batch;
    self->max_publish = (size_t) max_publish;
    self->max_event_size = (size_t) max_event_size;
    self->log_endpoint = strdup ("");
    self->registry_endpoint = strdup ("");
    self->validator = zeb_validator_new (config, fault);
    if (!self->validator)
        goto failed;

    //  The writer opens the store first, as its writer
    self->link = zeb_writer_link_new ();
    self->writer = self->link? zactor_new (zeb_writer_actor, self->link): NULL;
    if (!self->writer) {
        zeb_fault_set (fault, ZEB_ERROR, "ingest: cannot start the store writer");
        goto failed;
    }
    if (zeb_actor_start (self->writer, config, NULL, fault))
        goto failed;
    char *path = zsys_sprintf ("%s/events", zeb_config_str (config, "node/data"));
    self->store = zeb_store_new (path, NULL, fault);
    zstr_free (&path);
    zeb_store_stats_t stats;
    if (!self->store || zeb_store_stats (self->store, &stats)) {
        zeb_fault_set (fault, ZEB_ESTORAGE, "ingest: cannot read the store's state");
        goto failed;
    }
    self->last_sequence = stats.last;

    self->router = zeb_actor_router (actor, s_commands, self);
    self->front = self->router? zeb_router_socket (self->router): NULL;
    self->bus = zsock_new (ZMQ_XPUB);
    self->notify = zsock_new (ZMQ_PUB);
    if (!self->front || !self->bus || !self->notify) {
        zeb_fault_set (fault, ZEB_ERROR, "ingest: cannot create sockets");
        goto failed;
    }
    zsock_set_sndhwm (self->front, (int) hwm);
    zsock_set_rcvhwm (self->front, (int) hwm);
    //  Far above max_event_size, so oversize events get a NACK; beyond
    //  this libzmq drops the connection without reading the message
    int64_t limit = (int64_t) self->max_event_size * 4;
    if (limit < 64 << 20)
        limit = 64 << 20;
    zmq_setsockopt (zsock_resolve (self->front), ZMQ_MAXMSGSIZE, &limit, sizeof (limit));
    if (s_bus_setup (self, config, fault))
        goto failed;
    const char *notify = zeb_config_str (config, "ingest/notify");
    char *generated = *notify? NULL: zeb_actor_inproc ("notify");
    int rc = zeb_router_bind (self->router, zeb_config_str (config, "ingest/endpoint"), fault);
    if (rc == 0)
        rc = s_bind (self->bus, zeb_config_str (config, "bus/endpoint"), &self->bus_endpoint, fault);
    if (rc == 0)
        rc = s_bind (self->notify, generated? generated: notify, &notify_endpoint, fault);
    zstr_free (&generated);
    if (rc)
        goto failed;
    self->endpoint = strdup (zeb_router_endpoint (self->router));
    self->front_handle = zsock_resolve (self->front);
    self->bus_handle = zsock_resolve (self->bus);
    self->notify_handle = zsock_resolve (self->notify);
    for (int index = 0; index < 3; index++)
        s_batch_init (&self->batches [index], self->batch_limit);
    self->filling = &self->batches [0];

    //  The hot sockets are trusted: every send on them is followed by
    //  zeb_loop_ready, so the loop asks them nothing before waiting
    zeb_loop_add_socket (self->loop, self->front, s_handle_front, self);
    zeb_loop_trust (self->loop, self->front);
    zeb_loop_add_fd (self->loop, self->link->result_fd, s_handle_writer, self);
    zeb_loop_add_socket (self->loop, self->bus, s_handle_bus, self);
    zeb_loop_trust (self->loop, self->bus);
    if (zeb_validator_changes (self->validator))
        zeb_loop_add_socket (self->loop, zeb_validator_changes (self->validator), s_handle_changes, self);
    if (zeb_validator_socket (self->validator))
        zeb_loop_add_socket (self->loop, zeb_validator_socket (self->validator), s_handle_lookups, self);
    zeb_loop_set_tick (self->loop, s_tick, self);
    s_update_front (self);          //  paused until the node says READY
    zeb_actor_bound (actor, "ingest", self->endpoint);
    zeb_actor_bound (actor, "bus", self->bus_endpoint);
    zeb_actor_bound (actor, "notify", notify_endpoint);
    zeb_info ("ingest: %s, bus %s (%d events per subscriber), sync %s, last sequence %llu",
              self->endpoint, self->bus_endpoint, self->bus_hwm, zeb_config_str (config, "ingest/sync"),
              (unsigned long long) self->last_sequence);
    zstr_free (&notify_endpoint);
    return 0;
failed:
    zstr_free (&notify_endpoint);
    return fault->code? fault->code: ZEB_ERROR;
}

static const zeb_actor_link_t s_links [] = {
    { "ingest/registry", "registry" },
    { "ingest/registry_changes", "changes" },
    { NULL }
};

const zeb_actor_def_t zeb_ingest_def = {
    "ingest", "producers' front door: validate, deduplicate, store, acknowledge, announce", true,
    zeb_ingest_config, s_links, sizeof (self_t), s_start, s_stop, s_stats, s_peer
};

//  ---------------------------------------------------------------------
//  Self test: the actor alone, spoken to in raw ZEB/1 over inproc and tcp

typedef struct {
    zsock_t *dealer;
    char command [32];
    uint8_t body [4096];
    size_t body_size;
    char tag [64];
    size_t tag_size;
    int frames;
} s_test_reply_t;

static void
s_test_send (zsock_t *dealer, const char *command, const void *body, size_t size, const char *tag)
{
    int rc = zeb_proto_send (zsock_resolve (dealer), NULL, command, body, size,
                             tag, tag? strlen (tag): 0, 0);
    assert (rc == 0);
}

//  Receive one reply within 5 s; asserts if none comes
static void
s_test_recv (s_test_reply_t *reply)
{
    zsock_set_rcvtimeo (reply->dealer, 5000);
    zmsg_t *msg = zmsg_recv (reply->dealer);
    assert (msg);
    reply->frames = (int) zmsg_size (msg);
    char *command = zmsg_popstr (msg);
    snprintf (reply->command, sizeof (reply->command), "%s", command);
    zstr_free (&command);
    zframe_t *body = zmsg_pop (msg);
    reply->body_size = body? zframe_size (body): 0;
    assert (reply->body_size <= sizeof (reply->body));
    if (body)
        memcpy (reply->body, zframe_data (body), reply->body_size);
    zframe_destroy (&body);
    zframe_t *tag = zmsg_pop (msg);
    reply->tag_size = tag? zframe_size (tag): 0;
    if (tag)
        memcpy (reply->tag, zframe_data (tag), reply->tag_size);
    reply->tag [reply->tag_size] = 0;
    zframe_destroy (&tag);
    zmsg_destroy (&msg);
}

static size_t
s_test_event (msgpack_sbuffer *buffer, const char *type, const char *key, int number)
{
    msgpack_sbuffer_clear (buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, key? 4: 3);
    msgpack_pack_str_with_body (&pk, "type", 4);
    msgpack_pack_str_with_body (&pk, type, strlen (type));
    msgpack_pack_str_with_body (&pk, "source", 6);
    msgpack_pack_str_with_body (&pk, "test", 4);
    if (key) {
        msgpack_pack_str_with_body (&pk, "idempotencykey", 14);
        msgpack_pack_str_with_body (&pk, key, strlen (key));
    }
    msgpack_pack_str_with_body (&pk, "data", 4);
    msgpack_pack_int (&pk, number);
    return buffer->size;
}

//  The reason of a NACK in reply
static bool
s_test_reason_is (s_test_reply_t *reply, const char *reason)
{
    const char *text;
    size_t len;
    return streq (reply->command, "NACK")
        && zeb_proto_get_str (reply->body, reply->body_size, "reason", &text, &len) == 0
        && len == strlen (reason) && memcmp (text, reason, len) == 0;
}

static uint64_t
s_test_sequence (s_test_reply_t *reply, bool *duplicate)
{
    uint64_t sequence = 0;
    assert (streq (reply->command, "ACK"));
    assert (zeb_proto_get_uint (reply->body, reply->body_size, "sequence", &sequence) == 0);
    assert (zeb_proto_get_bool (reply->body, reply->body_size, "duplicate", duplicate) == 0);
    return sequence;
}

//  Start ingest alone through the kit, as the node would: START, then the
//  end of the peer list. Returns the actor, or NULL with fault set; the
//  endpoints as bound go into endpoint, bus, notify (caller frees).
static zactor_t *
s_test_start (zconfig_t *config, char **endpoint, char **bus, char **notify, zeb_fault_t *fault)
{
    zactor_t *ingest = zactor_new (zeb_actor_main, (void *) &zeb_ingest_def);
    zhashx_t *endpoints = zhashx_new ();
    zhashx_set_destructor (endpoints, (zhashx_destructor_fn *) zstr_free);
    zhashx_set_duplicator (endpoints, (zhashx_duplicator_fn *) strdup);
    if (zeb_actor_start (ingest, config, endpoints, fault)) {
        zactor_destroy (&ingest);
        zhashx_destroy (&endpoints);
        return NULL;
    }
    zsock_send (ingest, "sss", "PEER", "", "");
    *endpoint = strdup ((char *) zhashx_lookup (endpoints, "ingest"));
    *bus = strdup ((char *) zhashx_lookup (endpoints, "bus"));
    *notify = strdup ((char *) zhashx_lookup (endpoints, "notify"));
    zhashx_destroy (&endpoints);
    return ingest;
}

static void
s_test_transport (bool verbose, const char *transport)
{
    char dir [] = "/tmp/zeb-ingest-XXXXXX";
    assert (mkdtemp (dir));
    static int counter = 0;
    counter++;
    zconfig_t *config = zconfig_new ("root", NULL);
    zconfig_put (config, "node/data", dir);
    zconfig_put (config, "ingest/max_event_size", "2KiB");
    zconfig_put (config, "ingest/max_publish", "10");
    if (streq (transport, "tcp")) {
        zconfig_put (config, "ingest/endpoint", "tcp://127.0.0.1:*");
        zconfig_put (config, "bus/endpoint", "tcp://127.0.0.1:*");
        zconfig_put (config, "ingest/notify", "tcp://127.0.0.1:*");
    }
    else {
        zconfig_putf (config, "ingest/endpoint", "inproc://ingest-test-%d", counter);
        zconfig_putf (config, "bus/endpoint", "inproc://ingest-test-bus-%d", counter);
        zconfig_putf (config, "ingest/notify", "inproc://ingest-test-notify-%d", counter);
    }
    char *endpoint = NULL, *bus = NULL, *notify = NULL;
    zeb_fault_t fault;
    zactor_t *ingest = s_test_start (config, &endpoint, &bus, &notify, &fault);
    assert (ingest);
    assert (strncmp (endpoint, transport, strlen (transport)) == 0);
    if (streq (transport, "tcp"))
        assert (!strstr (endpoint, ":*"));       //  the port as bound

    s_test_reply_t reply = { 0 };
    reply.dealer = zsock_new_dealer (endpoint);
    zsock_t *other = zsock_new_dealer (endpoint);
    zsock_t *sub = zsock_new_sub (bus, "order.");
    assert (reply.dealer && other && sub);
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);

    //  HELLO
    s_test_send (reply.dealer, "HELLO", "\x81\xa7version\x01", 10, "h1");
    s_test_recv (&reply);
    assert (streq (reply.command, "WELCOME") && streq (reply.tag, "h1"));
    uint64_t value;
    assert (zeb_proto_get_uint (reply.body, reply.body_size, "max_event_size", &value) == 0 && value == 2048);
    assert (zeb_proto_get_uint (reply.body, reply.body_size, "last", &value) == 0 && value == 0);
    s_test_send (reply.dealer, "HELLO", "\x81\xa7version\x02", 10, NULL);
    s_test_recv (&reply);
    assert (s_test_reason_is (&reply, "UNSUPPORTED_VERSION") && reply.frames == 2);

    //  Wait until the bus subscription has arrived: publish probes (which
    //  also take sequences) until the subscriber sees one
    bool duplicate;
    uint64_t expected = 1;
    zsock_set_rcvtimeo (sub, 20);
    int64_t deadline = zclock_mono () + 5000;
    while (true) {
        assert (zclock_mono () < deadline);
        s_test_event (&buffer, "order.probe", NULL, 0);
        s_test_send (reply.dealer, "PUBLISH", buffer.data, buffer.size, NULL);
        s_test_recv (&reply);
        assert (s_test_sequence (&reply, &duplicate) == expected++);
        zmsg_t *probe = zmsg_recv (sub);
        if (probe) {
            zmsg_destroy (&probe);
            break;
        }
    }
    //  Drain probes still on their way
    zmsg_t *late;
    while ((late = zmsg_recv (sub)))
        zmsg_destroy (&late);
    zsock_set_rcvtimeo (sub, 5000);

    //  PUBLISH with a tag, then a duplicate key
    s_test_event (&buffer, "order.placed", "key-1", 1);
    s_test_send (reply.dealer, "PUBLISH", buffer.data, buffer.size, "t1");
    s_test_recv (&reply);
    assert (streq (reply.tag, "t1") && reply.frames == 3);
    uint64_t first = s_test_sequence (&reply, &duplicate);
    assert (first == expected++ && !duplicate);
    s_test_event (&buffer, "order.placed", "key-1", 2);
    s_test_send (reply.dealer, "PUBLISH", buffer.data, buffer.size, "t2");
    s_test_recv (&reply);
    assert (s_test_sequence (&reply, &duplicate) == first && duplicate);

    //  The bus carried the first, not its duplicate: [type][event]
    zmsg_t *live = zmsg_recv (sub);
    assert (live && zmsg_size (live) == 2);
    char *topic = zmsg_popstr (live);
    assert (streq (topic, "order.placed"));
    zstr_free (&topic);
    zframe_t *body = zmsg_pop (live);
    zeb_event_t *event = zeb_event_decode (zframe_data (body), zframe_size (body), NULL);
    assert (event && zeb_event_sequence (event) == first);
    assert (zeb_event_id (event) && strlen (zeb_event_id (event)) == ZEB_UUID_STRLEN);
    assert (zeb_event_time (event) > 0);
    zeb_event_destroy (&event);
    zframe_destroy (&body);
    zmsg_destroy (&live);

    //  An array: atomic, with a duplicate inside
    msgpack_sbuffer array;
    msgpack_sbuffer_init (&array);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &array, msgpack_sbuffer_write);
    msgpack_pack_array (&pk, 3);
    s_test_event (&buffer, "user.created", "key-2", 3);
    msgpack_sbuffer_write (&array, buffer.data, buffer.size);
    s_test_event (&buffer, "user.created", "key-1", 4);       //  duplicate
    msgpack_sbuffer_write (&array, buffer.data, buffer.size);
    s_test_event (&buffer, "user.created", "key-2", 5);       //  duplicate within
    msgpack_sbuffer_write (&array, buffer.data, buffer.size);
    s_test_send (reply.dealer, "PUBLISH", array.data, array.size, "a1");
    s_test_recv (&reply);
    assert (streq (reply.command, "ACK"));
    assert (zeb_proto_get_uint (reply.body, reply.body_size, "count", &value) == 0 && value == 3);
    zeb_mpk_t reader;
    uint32_t count;
    uint64_t sequences [3];
    assert (zeb_mpk_find (reply.body, reply.body_size, "sequences", &reader) == 0);
    assert (zeb_mpk_read_array (&reader, &count) == 0 && count == 3);
    for (int index = 0; index < 3; index++)
        zeb_mpk_read_uint (&reader, &sequences [index]);
    assert (sequences [0] == expected && sequences [1] == first && sequences [2] == expected);
    expected++;
    assert (zeb_mpk_find (reply.body, reply.body_size, "duplicates", &reader) == 0);
    assert (zeb_mpk_read_array (&reader, &count) == 0 && count == 2);

    //  Bad input: each gets its NACK, and the other client is served
    struct {
        const char *what;
        const char *reason;
    } bad [] = {
        { "truncated", "MALFORMED" }, { "not a map", "MALFORMED" }, { "type integer", "INVALID_ATTRIBUTE" },
        { "no source", "MISSING_ATTRIBUTE" }, { "bad extension", "INVALID_EXTENSION" },
        { "oversize", "TOO_LARGE" }, { "array bad", "MISSING_ATTRIBUTE" }, { "too many", "TOO_LARGE" },
        { "empty array", "MALFORMED" }, { "array header cut", "MALFORMED" },
        { "unknown", "UNKNOWN_COMMAND" }
    };
    for (size_t index = 0; index < sizeof (bad) / sizeof (bad [0]); index++) {
        const char *what = bad [index].what;
        const char *command = "PUBLISH";
        msgpack_sbuffer_clear (&array);
        if (streq (what, "truncated")) {
            s_test_event (&buffer, "a.b", NULL, 1);
            msgpack_sbuffer_write (&array, buffer.data, buffer.size - 3);
        }
        else
        if (streq (what, "not a map"))
            msgpack_pack_str_with_body (&pk, "hello", 5);
        else
        if (streq (what, "type integer")) {
            msgpack_pack_map (&pk, 2);
            msgpack_pack_str_with_body (&pk, "type", 4);
            msgpack_pack_int (&pk, 7);
            msgpack_pack_str_with_body (&pk, "source", 6);
            msgpack_pack_str_with_body (&pk, "s", 1);
        }
        else
        if (streq (what, "no source")) {
            msgpack_pack_map (&pk, 1);
            msgpack_pack_str_with_body (&pk, "type", 4);
            msgpack_pack_str_with_body (&pk, "a.b", 3);
        }
        else
        if (streq (what, "bad extension")) {
            msgpack_pack_map (&pk, 3);
            msgpack_pack_str_with_body (&pk, "type", 4);
            msgpack_pack_str_with_body (&pk, "a.b", 3);
            msgpack_pack_str_with_body (&pk, "source", 6);
            msgpack_pack_str_with_body (&pk, "s", 1);
            msgpack_pack_str_with_body (&pk, "Bad-Name", 8);
            msgpack_pack_int (&pk, 1);
        }
        else
        if (streq (what, "oversize")) {
            char big [3000];
            memset (big, 'x', sizeof (big));
            msgpack_pack_map (&pk, 3);
            msgpack_pack_str_with_body (&pk, "type", 4);
            msgpack_pack_str_with_body (&pk, "a.b", 3);
            msgpack_pack_str_with_body (&pk, "source", 6);
            msgpack_pack_str_with_body (&pk, "s", 1);
            msgpack_pack_str_with_body (&pk, "data", 4);
            msgpack_pack_str_with_body (&pk, big, sizeof (big));
        }
        else
        if (streq (what, "array bad")) {
            msgpack_pack_array (&pk, 2);
            s_test_event (&buffer, "a.b", "would-be-stored", 1);
            msgpack_sbuffer_write (&array, buffer.data, buffer.size);
            msgpack_pack_map (&pk, 1);
            msgpack_pack_str_with_body (&pk, "type", 4);
            msgpack_pack_str_with_body (&pk, "a.b", 3);
        }
        else
        if (streq (what, "too many")) {
            msgpack_pack_array (&pk, 11);
            for (int item = 0; item < 11; item++) {
                s_test_event (&buffer, "a.b", NULL, item);
                msgpack_sbuffer_write (&array, buffer.data, buffer.size);
            }
        }
        else
        if (streq (what, "empty array"))
            msgpack_pack_array (&pk, 0);
        else
        if (streq (what, "array header cut"))
            msgpack_sbuffer_write (&array, "\xdd\xff\xff", 3);     //  array32, count cut short
        else {
            command = "FROBNICATE";
            msgpack_pack_map (&pk, 0);
        }
        s_test_send (reply.dealer, command, array.data, array.size, "bad");
        s_test_recv (&reply);
        if (verbose)
            printf ("\n   %s -> %.*s", what, (int) reply.body_size, reply.body);
        assert (s_test_reason_is (&reply, bad [index].reason));
        assert (streq (reply.tag, "bad"));
        if (streq (what, "array bad")) {
            int64_t offending;
            assert (zeb_proto_get_int (reply.body, reply.body_size, "index", &offending) == 0 && offending == 1);
        }
        //  The other client is served, and nothing bad took a sequence
        s_test_reply_t served = { 0 };
        served.dealer = other;
        s_test_event (&buffer, "a.b", NULL, (int) index);
        s_test_send (other, "PUBLISH", buffer.data, buffer.size, NULL);
        s_test_recv (&served);
        assert (s_test_sequence (&served, &duplicate) == expected++);
    }
    //  Frames: one frame, four frames
    zstr_send (reply.dealer, "PUBLISH");
    s_test_recv (&reply);
    assert (s_test_reason_is (&reply, "MALFORMED"));
    zstr_sendx (reply.dealer, "PUBLISH", "a", "b", "c", NULL);
    s_test_recv (&reply);
    assert (s_test_reason_is (&reply, "MALFORMED"));

    //  The "would-be-stored" key of the refused array was not stored
    s_test_event (&buffer, "a.b", "would-be-stored", 9);
    s_test_send (reply.dealer, "PUBLISH", buffer.data, buffer.size, NULL);
    s_test_recv (&reply);
    assert (s_test_sequence (&reply, &duplicate) == expected++ && !duplicate);

    //  STATS counts what happened
    s_test_send (reply.dealer, "STATS", "\x80", 1, NULL);
    s_test_recv (&reply);
    assert (streq (reply.command, "STATS"));
    json_t *stats = zeb_json_from_msgpack (reply.body, reply.body_size, NULL);
    assert (stats);
    json_t *counters = json_object_get (stats, "ingest");
    json_t *by_reason = json_object_get (counters, "nacks_by_reason");
    assert (json_integer_value (json_object_get (by_reason, "MALFORMED")) == 6);
    assert (json_integer_value (json_object_get (by_reason, "TOO_LARGE")) == 2);
    assert (json_integer_value (json_object_get (by_reason, "UNKNOWN_COMMAND")) == 1);
    assert (json_integer_value (json_object_get (counters, "duplicates")) == 3);
    assert ((uint64_t) json_integer_value (json_object_get (json_object_get (stats, "store"), "last"))
            == expected - 1);
    json_decref (stats);

    //  A clean stop keeps everything; a restart numbers on
    zsock_destroy (&sub);
    zsock_destroy (&other);
    zsock_destroy (&reply.dealer);
    zactor_destroy (&ingest);
    if (streq (transport, "inproc")) {
        //  libzmq releases an inproc name when its reaper has closed the
        //  socket, some time after: the restart binds names of its own
        zconfig_putf (config, "ingest/endpoint", "inproc://ingest-test-%d-again", counter);
        zconfig_putf (config, "bus/endpoint", "inproc://ingest-test-bus-%d-again", counter);
        zconfig_putf (config, "ingest/notify", "inproc://ingest-test-notify-%d-again", counter);
    }
    zstr_free (&endpoint);
    zstr_free (&bus);
    zstr_free (&notify);
    ingest = s_test_start (config, &endpoint, &bus, &notify, &fault);
    assert (ingest);
    reply.dealer = zsock_new_dealer (endpoint);
    s_test_event (&buffer, "a.b", "key-1", 1);                //  still a duplicate
    s_test_send (reply.dealer, "PUBLISH", buffer.data, buffer.size, NULL);
    s_test_recv (&reply);
    assert (s_test_sequence (&reply, &duplicate) == first && duplicate);
    s_test_event (&buffer, "a.b", NULL, 1);
    s_test_send (reply.dealer, "PUBLISH", buffer.data, buffer.size, NULL);
    s_test_recv (&reply);
    assert (s_test_sequence (&reply, &duplicate) == expected++);

    //  A second ingest on the same data directory is refused, clearly
    zconfig_put (config, "ingest/endpoint", "inproc://ingest-test-second");
    zconfig_put (config, "bus/endpoint", "inproc://ingest-test-second-bus");
    zconfig_put (config, "ingest/notify", "inproc://ingest-test-second-notify");
    char *ignored [3];
    assert (!s_test_start (config, &ignored [0], &ignored [1], &ignored [2], &fault));
    assert (fault.code == ZEB_ESTORAGE && strstr (fault.text, "writer"));

    zsock_destroy (&reply.dealer);
    zactor_destroy (&ingest);
    zstr_free (&endpoint);
    zstr_free (&bus);
    zstr_free (&notify);
    msgpack_sbuffer_destroy (&buffer);
    msgpack_sbuffer_destroy (&array);
    zconfig_destroy (&config);
    zdir_t *tree = zdir_new (dir, NULL);
    zdir_remove (tree, true);
    zdir_destroy (&tree);
}

void
zeb_ingest_test (bool verbose)
{
    printf (" * zeb_ingest: ");
    s_test_transport (verbose, "inproc");
    s_test_transport (verbose, "tcp");
    //  A bad endpoint is an error returned, not an abort
    char dir [] = "/tmp/zeb-ingest-bad-XXXXXX";
    assert (mkdtemp (dir));
    zconfig_t *config = zconfig_new ("root", NULL);
    zconfig_put (config, "node/data", dir);
    zconfig_put (config, "ingest/endpoint", "tcp://256.0.0.1:5");
    zeb_fault_t fault;
    char *ignored [3];
    assert (!s_test_start (config, &ignored [0], &ignored [1], &ignored [2], &fault));
    assert (fault.code == ZEB_ECONFIG && strstr (fault.text, "256.0.0.1"));
    zconfig_put (config, "ingest/endpoint", "bogus://nowhere");
    assert (!s_test_start (config, &ignored [0], &ignored [1], &ignored [2], &fault));
    assert (fault.code == ZEB_ECONFIG && strstr (fault.text, "ingest/endpoint"));
    zconfig_destroy (&config);
    zdir_t *tree = zdir_new (dir, NULL);
    zdir_remove (tree, true);
    zdir_destroy (&tree);
    printf ("OK\n");
}

