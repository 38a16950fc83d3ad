/*  =========================================================================
    zeb_log - the log actor: durable reads of the event log by sequence

    A FETCH is answered from one LMDB read transaction: events are copied
    out of the map into the reply as they are stored (canonical msgpack),
    so a read never decodes more than an event's type, and only when the
    request filters by type. A FETCH that finds nothing and asked to wait
    is parked; parked FETCHes are retried when ingest announces a commit
    (and, as a fallback for a lost notice, every S_POLL_MS while any wait),
    and answered empty at their deadline.

    What a client can make the log hold: parked FETCHes, at most
    log/max_waits in all (default 10,000) and log/max_waits_per_peer per
    connection (routing id; default 100). A FETCH past either is refused
    with OVERLOADED (429), the text naming the limit, and counted in
    waits_refused. A wait holds its query (the type prefixes, each a
    strdup'd string: at most 32 x 256 bytes) and the kept request without
    its body (zeb_router_keep_reply: identity <= 255 bytes, tag <= 255,
    the frames copied to blocks of their own size, never libzmq's 8 KiB
    receive buffer): in all at most about 10 KiB per wait in the worst case
    (32 prefixes of 255 bytes, a 255-byte identity and tag), about 1 KiB
    for one without prefixes (5-byte identity, short tag), so at most about
    100 MiB at the default caps, 10 MiB without prefixes. Measured with
    zeb-bench waiters (malloc'd bytes in use): 1.0 KiB per wait without
    prefixes, 2.5 KiB with 32 prefixes of 28 bytes (4.6 KiB when the whole
    request was kept, body and receive buffer).
    A peer's waits are dropped, unanswered, when it disconnects
    (zeb_router_set_notify: tcp:// and ipc:// peers) or sends a single
    empty frame, and counted in waits_dropped. An inproc:// peer (or any
    peer, if the disconnect monitor could not be set up) holds its waits
    until their deadline (log/max_wait), within the same caps.
    =========================================================================
*/

#include "zeb_actors.h"

#define S_MAX_TYPES     32          //  type prefixes in one FETCH
#define S_DEFAULT_MAX   100         //  events per reply when not asked
#define S_SCAN_FACTOR   20          //  filtered fetch scans up to max * this
#define S_POLL_MS       200
#define S_LINGER_MS     10000       //  commit notices kept this long after the last wait

const zeb_config_key_t zeb_log_config [] = {
    { "log/endpoint",   "tcp://127.0.0.1:7701", ZEB_KEY_ENDPOINT, 0, 0, NULL,
      "ROUTER for durable reads (FETCH, STATS)" },
    { "log/notify",     "",      ZEB_KEY_ENDPOINT, 0, 0, NULL,
      "where the log hears of commits (default: ingest's, when it runs in this node)" },
    { "log/max_events", "1000",  ZEB_KEY_INT, 1, 100000, NULL, "most events in one EVENTS reply" },
    { "log/max_bytes",  "4MiB",  ZEB_KEY_SIZE, 1024, 1LL << 30, NULL, "most bytes of events in one EVENTS reply" },
    { "log/max_wait",   "60s",   ZEB_KEY_DURATION, 0, 3600000, NULL, "longest wait_ms a FETCH may ask for" },
    { "log/max_waits",  "10000", ZEB_KEY_INT, 1, 1000000, NULL,
      "most FETCHes parked (waiting for events) at once; more are refused OVERLOADED" },
    { "log/max_waits_per_peer", "100", ZEB_KEY_INT, 1, 1000000, NULL,
      "most FETCHes parked at once for one connection; more are refused OVERLOADED" },
    { NULL }
};

typedef struct {
    uint64_t from;
    size_t max;
    size_t max_bytes;
    char *types [S_MAX_TYPES];      //  prefixes; none = every type
    size_t type_count;
} s_query_t;

//  A connection with parked FETCHes, by its routing id in hex
typedef struct {
    size_t waits;
    char key [];                    //  the key it is stored under
} s_peer_t;

//  A FETCH waiting for events
typedef struct {
    zeb_request_t *request;         //  kept without its body: answered later
    s_query_t query;
    int64_t deadline;               //  ms, monotonic
    s_peer_t *peer;                 //  its connection (owned by self->peers)
} s_wait_t;

typedef struct {
    uint64_t fetches;
    uint64_t events_sent;
    uint64_t bytes_sent;
    uint64_t waits;
    uint64_t wait_timeouts;
    uint64_t waits_refused;         //  over log/max_waits or max_waits_per_peer
    uint64_t waits_dropped;         //  their peer was gone
    uint64_t notices;
} s_counters_t;

typedef struct {
    zeb_actor_t *actor;
    zeb_loop_t *loop;
    zeb_router_t *router;           //  ROUTER: readers
    zsock_t *notify;                //  SUB: ingest's commit notices
    zeb_store_t *store;
    size_t max_events;
    size_t max_bytes;
    int64_t max_wait;
    size_t max_waits;
    size_t max_waits_per_peer;
    zlistx_t *waits;                //  parked FETCHes, s_wait_t
    zhashx_t *peers;                //  routing id (hex) -> s_peer_t, peers with waits
    int64_t poll_due;
    bool subscribed;                //  to commit notices: only while waits
    int64_t unsubscribe_due;        //  stay subscribed a while after the last
    int64_t subscribed_at;          //  the subscription takes a moment to work
    uint64_t last_notified;         //  last sequence ingest announced
    msgpack_sbuffer events;         //  scratch: raw events of a reply
    msgpack_sbuffer head;           //  scratch: reply header
    s_counters_t counters;
} self_t;

static int64_t
s_clock_ms (void)
{
    return zeb_time_mono_us () / 1000;
}

static void
s_query_reset (s_query_t *query)
{
    for (size_t index = 0; index < query->type_count; index++)
        zstr_free (&query->types [index]);
    query->type_count = 0;
}

static void
s_wait_destroy (void **item_p)
{
    s_wait_t *wait = (s_wait_t *) *item_p;
    if (wait) {
        s_query_reset (&wait->query);
        zeb_request_destroy (&wait->request);
        free (wait);
        *item_p = NULL;
    }
}

//  The key of a routing id: its bytes in hex (at most 510 characters)
static void
s_peer_key (const void *identity, size_t size, char *key)
{
    static const char digits [] = "0123456789abcdef";
    const uint8_t *bytes = (const uint8_t *) identity;
    for (size_t index = 0; index < size && index < 255; index++) {
        *key++ = digits [bytes [index] >> 4];
        *key++ = digits [bytes [index] & 15];
    }
    *key = 0;
}

static void
s_peer_destroy (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

//  Take a wait off the list (handle from zlistx) and its peer's count
static void
s_wait_delete (self_t *self, void *handle)
{
    s_wait_t *wait = (s_wait_t *) zlistx_handle_item (handle);
    s_peer_t *peer = wait->peer;
    zlistx_delete (self->waits, handle);
    if (peer && --peer->waits == 0)
        zhashx_delete (self->peers, peer->key);
}

//  A peer is gone (zeb_router_set_notify): its waits go, unanswered
static void
s_peer_gone (void *arg, const void *identity, size_t size)
{
    self_t *self = (self_t *) arg;
    char key [512];
    s_peer_key (identity, size, key);
    s_peer_t *peer = (s_peer_t *) zhashx_lookup (self->peers, key);
    if (!peer)
        return;
    size_t left = peer->waits;
    s_wait_t *wait = (s_wait_t *) zlistx_first (self->waits);
    while (wait && left) {
        if (wait->peer == peer) {
            left--;                 //  the last one frees peer: not read after
            s_wait_delete (self, zlistx_cursor (self->waits));
            self->counters.waits_dropped++;
        }
        wait = (s_wait_t *) zlistx_next (self->waits);
    }
}

static int
s_handle_gone (void *arg)
{
    self_t *self = (self_t *) arg;
    return zeb_router_handle_notify (self->router);
}

//  Park a FETCH that found nothing, within the caps. Takes the query's
//  strings in either case.
static void
s_park (self_t *self, zeb_request_t *request, s_query_t *query, uint64_t from, int64_t wait_ms)
{
    char key [512];
    s_peer_key (zmq_msg_data (&request->identity), zmq_msg_size (&request->identity), key);
    s_peer_t *peer = (s_peer_t *) zhashx_lookup (self->peers, key);
    if (peer && peer->waits >= self->max_waits_per_peer) {
        zeb_router_nack (request, ZEB_EOVERLOADED, "%zu FETCHes of this connection are waiting already "
                         "(log/max_waits_per_peer)", peer->waits);
        goto refused;
    }
    if (zlistx_size (self->waits) >= self->max_waits) {
        zeb_router_nack (request, ZEB_EOVERLOADED, "%zu FETCHes are waiting already (log/max_waits)",
                         zlistx_size (self->waits));
        goto refused;
    }
    if (!peer) {
        size_t len = strlen (key);
        peer = (s_peer_t *) zmalloc (sizeof (s_peer_t) + len + 1);
        memcpy (peer->key, key, len + 1);
        zhashx_insert (self->peers, peer->key, peer);
    }
    s_wait_t *wait = (s_wait_t *) zmalloc (sizeof (s_wait_t));
    wait->request = zeb_router_keep_reply (request);
    wait->query = *query;
    wait->query.from = from;
    wait->deadline = s_clock_ms () + wait_ms;
    wait->peer = peer;
    peer->waits++;
    zlistx_add_end (self->waits, wait);
    self->counters.waits++;
    if (self->poll_due == 0)
        self->poll_due = s_clock_ms () + S_POLL_MS;
    return;
refused:
    self->counters.waits_refused++;
    s_query_reset (query);
}

//  ---------------------------------------------------------------------
//  Reading

typedef struct {
    self_t *self;
    s_query_t *query;
    size_t count;
    size_t scanned;
    size_t scan_limit;
    uint64_t next;
    bool visited;
} s_fetch_t;

static bool
s_type_matches (s_query_t *query, const uint8_t *data, size_t size)
{
    if (query->type_count == 0)
        return true;
    zeb_str_t type;
    if (zeb_event_peek_type (data, size, &type))
        return false;
    for (size_t index = 0; index < query->type_count; index++) {
        size_t len = strlen (query->types [index]);
        if (len <= type.len && memcmp (type.ptr, query->types [index], len) == 0)
            return true;
    }
    return false;
}

static int
s_visit (uint64_t sequence, const uint8_t *data, size_t size, void *arg)
{
    s_fetch_t *fetch = (s_fetch_t *) arg;
    self_t *self = fetch->self;
    fetch->visited = true;
    if (s_type_matches (fetch->query, data, size)) {
        //  Always room for one event, however large
        if (fetch->count > 0 && self->events.size + size > fetch->query->max_bytes)
            return 1;
        if (msgpack_sbuffer_write (&self->events, (const char *) data, size))
            return 1;
        fetch->count++;
    }
    fetch->next = sequence + 1;
    fetch->scanned++;
    if (fetch->count >= fetch->query->max || fetch->scanned >= fetch->scan_limit)
        return 1;
    return 0;
}

//  Run a query into self->events. Returns 0 or an error code.
static int
s_run (self_t *self, s_query_t *query, s_fetch_t *fetch, zeb_store_stats_t *stats)
{
    msgpack_sbuffer_clear (&self->events);
    memset (fetch, 0, sizeof (*fetch));
    fetch->self = self;
    fetch->query = query;
    fetch->scan_limit = query->type_count? query->max * S_SCAN_FACTOR: query->max;
    if (fetch->scan_limit < 1000 && query->type_count)
        fetch->scan_limit = 1000;
    uint64_t from = query->from? query->from: 1;
    fetch->next = from;
    //  Bounds from the same snapshot as the events: first and last agree
    //  with what is returned
    int rc = zeb_store_read (self->store, from, s_visit, fetch, stats);
    if (rc == 0 && !fetch->visited && stats->last + 1 > fetch->next)
        fetch->next = stats->last + 1;
    return rc;
}

//  EVENTS {first, last, next, count, events}: the header is packed here
//  and the events copied after it as stored, with no re-encoding
static void
s_send_events (self_t *self, zeb_request_t *request, s_fetch_t *fetch, zeb_store_stats_t *stats)
{
    msgpack_sbuffer_clear (&self->head);
    zeb_pack_t pack;
    zeb_pack_init (&pack, &self->head);
    zeb_pack_map (&pack, NULL);
    zeb_pack_uint (&pack, "first", stats->first);
    zeb_pack_uint (&pack, "last", stats->last);
    zeb_pack_uint (&pack, "next", fetch->next);
    zeb_pack_uint (&pack, "count", fetch->count);
    zeb_pack_array_of (&pack, "events", (uint32_t) fetch->count);
    zeb_pack_end (&pack);
    if (self->events.size)
        msgpack_sbuffer_write (&self->head, self->events.data, self->events.size);
    zeb_router_reply (request, ZEB_CMD_EVENTS, self->head.data, self->head.size);
    self->counters.events_sent += fetch->count;
    self->counters.bytes_sent += self->events.size;
}

//  Parse a FETCH body into a query. Returns 0, or an error with fault.
static int
s_parse_fetch (self_t *self, const uint8_t *body, size_t size, s_query_t *query,
               int64_t *wait_ms, zeb_fault_t *fault)
{
    uint64_t from = 1, max = S_DEFAULT_MAX, max_bytes = self->max_bytes;
    int64_t time_ms = -1;
    *wait_ms = 0;
    if (zeb_proto_get_uint (body, size, "from", &from) < 0)
        return zeb_fault_set (fault, ZEB_EINVALID, "'from' must be an unsigned integer");
    if (zeb_proto_get_int (body, size, "time", &time_ms) < 0)
        return zeb_fault_set (fault, ZEB_EINVALID, "'time' must be integer milliseconds");
    if (zeb_proto_get_uint (body, size, "max", &max) < 0 || max == 0)
        return zeb_fault_set (fault, ZEB_EINVALID, "'max' must be a positive integer");
    if (zeb_proto_get_int (body, size, "wait_ms", wait_ms) < 0 || *wait_ms < 0)
        return zeb_fault_set (fault, ZEB_EINVALID, "'wait_ms' must be a non-negative integer");
    if (zeb_proto_get_uint (body, size, "max_bytes", &max_bytes) < 0)
        return zeb_fault_set (fault, ZEB_EINVALID, "'max_bytes' must be an unsigned integer");
    if (time_ms >= 0) {
        int rc = zeb_store_seek_time (self->store, time_ms, &from);
        if (rc)
            return zeb_fault_set (fault, rc, "cannot seek to time %lld", (long long) time_ms);
    }
    query->from = from;
    query->max = max > self->max_events? self->max_events: (size_t) max;
    query->max_bytes = max_bytes > self->max_bytes? self->max_bytes: (size_t) max_bytes;
    if (*wait_ms > self->max_wait)
        *wait_ms = self->max_wait;
    query->type_count = 0;
    zeb_mpk_t types;
    if (zeb_mpk_find (body, size, "types", &types) == 0 && zeb_mpk_peek (&types) != ZEB_MPK_NIL) {
        uint32_t count;
        if (zeb_mpk_read_array (&types, &count) || count > S_MAX_TYPES)
            return zeb_fault_set (fault, ZEB_EINVALID, "'types' must be an array of at most %d strings",
                                  S_MAX_TYPES);
        for (uint32_t index = 0; index < count; index++) {
            const char *prefix;
            uint32_t len;
            if (zeb_mpk_read_str (&types, &prefix, &len) || len > ZEB_EVENT_MAX_TYPE) {
                s_query_reset (query);
                return zeb_fault_set (fault, ZEB_EINVALID, "'types' must be an array of strings");
            }
            //  "" and "*" mean every type
            if (len == 0 || (len == 1 && prefix [0] == '*')) {
                s_query_reset (query);
                break;
            }
            //  A trailing '*' is the same as the prefix itself
            if (prefix [len - 1] == '*')
                len--;
            query->types [query->type_count++] = strndup (prefix, len);
        }
    }
    return 0;
}

static void
s_handle_fetch (void *owner, zeb_request_t *request)
{
    self_t *self = (self_t *) owner;
    self->counters.fetches++;
    s_query_t query = { 0 };
    int64_t wait_ms;
    zeb_fault_t fault = { 0 };
    if (s_parse_fetch (self, request->body, request->body_size, &query, &wait_ms, &fault)) {
        zeb_router_nack (request, fault.code, "%s", fault.text);
        return;
    }
    s_fetch_t fetch;
    zeb_store_stats_t stats;
    int rc = s_run (self, &query, &fetch, &stats);
    if (rc)
        zeb_router_nack (request, rc, "cannot read the log");
    else
    //  A filtered scan that stopped at its limit short of the end answers
    //  at once (count 0, next where to go on): only a FETCH at the end of
    //  the log waits, so a parked FETCH never scans again and again
    if (fetch.count > 0 || wait_ms == 0 || fetch.next <= stats.last)
        s_send_events (self, request, &fetch, &stats);
    else {
        //  Nothing yet: park it until a commit or the deadline
        s_park (self, request, &query, fetch.next, wait_ms);
        return;                     //  the wait owns the query's strings
    }
    s_query_reset (&query);
}

static const zeb_router_command_t s_commands [] = {
    { ZEB_CMD_FETCH, s_handle_fetch, 0 },
    { NULL }
};

//  Retry parked FETCHes that may now have events; expire those past due
static void
s_serve_waits (self_t *self, uint64_t last)
{
    int64_t now = s_clock_ms ();
    bool sent = false;
    s_wait_t *wait = (s_wait_t *) zlistx_first (self->waits);
    while (wait) {
        bool expired = now >= wait->deadline;
        if (wait->query.from <= last || expired) {
            s_fetch_t fetch;
            zeb_store_stats_t stats;
            int rc = s_run (self, &wait->query, &fetch, &stats);
            bool done = rc || fetch.count > 0 || expired || fetch.next <= stats.last;
            if (rc)
                zeb_router_nack (wait->request, rc, "cannot read the log");
            else
            if (done) {
                s_send_events (self, wait->request, &fetch, &stats);
                if (fetch.count == 0)
                    self->counters.wait_timeouts++;
            }
            else
                wait->query.from = fetch.next;   //  filtered out: keep waiting
            if (done) {     //  moves the cursor back: zlistx_next goes on
                s_wait_delete (self, zlistx_cursor (self->waits));
                sent = true;
            }
        }
        wait = (s_wait_t *) zlistx_next (self->waits);
    }
    //  Replies sent on the front outside its reader may have consumed
    //  its signal: read it again before waiting
    if (sent)
        zeb_loop_ready (self->loop, zeb_router_socket (self->router));
}

static int
s_handle_front (void *arg)
{
    self_t *self = (self_t *) arg;
    return zeb_router_handle (self->router, 64);
}

static int
s_handle_notify (void *arg)
{
    self_t *self = (self_t *) arg;
    zmsg_t *msg;
    bool heard = false;
    while ((msg = zmsg_recv (self->notify))) {
        zframe_t *command = zmsg_first (msg);
        zframe_t *body = zmsg_next (msg);
        if (command && body && zframe_streq (command, ZEB_CMD_COMMIT)) {
            zeb_mpk_t reader;
            zeb_mpk_init (&reader, zframe_data (body), zframe_size (body));
            uint64_t last;
            if (zeb_mpk_read_uint (&reader, &last) == 0 && last > self->last_notified)
                self->last_notified = last;
            self->counters.notices++;
            heard = true;
        }
        zmsg_destroy (&msg);
    }
    if (heard && zlistx_size (self->waits))
        s_serve_waits (self, self->last_notified);
    return 0;
}

//  Commit notices cost the log a wake-up per commit: hear them only while
//  a FETCH is waiting, and for a while after, so that a consumer that
//  long-polls again and again does not make us churn. A notice sent before
//  the subscription reached ingest is lost; the S_POLL_MS look at the
//  store covers that.
static void
s_update_subscription (self_t *self)
{
    if (!self->notify)
        return;
    int64_t now = s_clock_ms ();
    if (zlistx_size (self->waits)) {
        self->unsubscribe_due = now + S_LINGER_MS;
        if (!self->subscribed) {
            zsock_set_subscribe (self->notify, ZEB_CMD_COMMIT);
            self->subscribed = true;
            self->subscribed_at = now;
            self->poll_due = now;   //  and look at the store now: a commit
                                    //  may have come before the subscription
        }
    }
    else
    if (self->subscribed && now >= self->unsubscribe_due) {
        zsock_set_unsubscribe (self->notify, ZEB_CMD_COMMIT);
        self->subscribed = false;
    }
}

//  Every turn of the loop: subscription, fallback look at the store,
//  deadlines; returns how long the loop may wait
static int
s_tick (void *arg)
{
    self_t *self = (self_t *) arg;
    s_update_subscription (self);
    int64_t now = s_clock_ms ();
    if (zlistx_size (self->waits)) {
        if (now >= self->poll_due) {
            //  Fallback for a lost notice: look at the store itself
            zeb_store_stats_t stats;
            uint64_t last = zeb_store_stats (self->store, &stats) == 0? stats.last: 0;
            if (last > self->last_notified)
                self->last_notified = last;
            //  Look often while the subscription may not work yet
            self->poll_due = now + (now - self->subscribed_at < 100? 5: S_POLL_MS);
        }
        s_serve_waits (self, self->last_notified);
    }
    else
        self->poll_due = 0;
    now = s_clock_ms ();
    if (zlistx_size (self->waits) == 0) {
        if (!self->subscribed)
            return -1;
        return self->unsubscribe_due <= now? 0: (int) (self->unsubscribe_due - now);
    }
    int64_t due = self->poll_due;
    for (s_wait_t *wait = (s_wait_t *) zlistx_first (self->waits); wait;
         wait = (s_wait_t *) zlistx_next (self->waits))
        if (wait->deadline < due)
            due = wait->deadline;
    return due <= now? 0: (int) (due - now);
}

//  ---------------------------------------------------------------------
//  The actor

static void
s_stop (void *state)
{
    self_t *self = (self_t *) state;
    zlistx_destroy (&self->waits);
    zhashx_destroy (&self->peers);
    zeb_store_destroy (&self->store);
    zeb_router_destroy (&self->router);
    zsock_destroy (&self->notify);
    msgpack_sbuffer_destroy (&self->events);
    msgpack_sbuffer_destroy (&self->head);
}

static int
s_start (void *state, zeb_actor_t *actor, zconfig_t *config, zeb_fault_t *fault)
{
    self_t *self = (self_t *) state;
    self->actor = actor;
    self->loop = zeb_actor_loop (actor);
    self->waits = zlistx_new ();
    zlistx_set_destructor (self->waits, s_wait_destroy);
    self->peers = zhashx_new ();
    zhashx_set_destructor (self->peers, s_peer_destroy);
    msgpack_sbuffer_init (&self->events);
    msgpack_sbuffer_init (&self->head);
    int64_t max_events;
    uint64_t max_bytes;
    zeb_config_int (config, "log/max_events", &max_events);
    zeb_config_size (config, "log/max_bytes", &max_bytes);
    zeb_config_duration (config, "log/max_wait", &self->max_wait);
    int64_t max_waits, max_waits_per_peer;
    zeb_config_int (config, "log/max_waits", &max_waits);
    zeb_config_int (config, "log/max_waits_per_peer", &max_waits_per_peer);
    self->max_events = (size_t) max_events;
    self->max_bytes = (size_t) max_bytes;
    self->max_waits = (size_t) max_waits;
    self->max_waits_per_peer = (size_t) max_waits_per_peer;
    char *path = zsys_sprintf ("%s/events", zeb_config_str (config, "node/data"));
    self->store = zeb_store_new (path, NULL, fault);
    zstr_free (&path);
    self->router = self->store? zeb_actor_router (actor, s_commands, self): NULL;
    //  Without it waits of peers that left stay until their deadline:
    //  bounded by the caps still, so not a reason to refuse to start
    if (self->router && zeb_router_set_notify (self->router, s_peer_gone, self))
        zsys_warning ("log: waits of clients that disconnect are kept until their deadline");
    if (!self->router || zeb_router_bind (self->router, zeb_config_str (config, "log/endpoint"), fault))
        goto failed;
    const char *notify = zeb_config_str (config, "log/notify");
    if (*notify) {
        self->notify = zsock_new (ZMQ_SUB);
        if (!self->notify || zsock_connect (self->notify, "%s", notify) == -1) {
            zeb_fault_set (fault, ZEB_ECONFIG, "log: cannot connect to notify %s", notify);
            goto failed;
        }
        zsock_set_rcvtimeo (self->notify, 0);
        zeb_loop_add_socket (self->loop, self->notify, s_handle_notify, self);
    }
    zeb_loop_add_socket (self->loop, zeb_router_socket (self->router), s_handle_front, self);
    if (zeb_router_notify_socket (self->router))
        zeb_loop_add_socket (self->loop, zeb_router_notify_socket (self->router), s_handle_gone, self);
    zeb_loop_set_tick (self->loop, s_tick, self);
    zeb_actor_bound (actor, "log", zeb_router_endpoint (self->router));
    zeb_info ("log: %s, notified by %s", zeb_router_endpoint (self->router),
              *notify? notify: "(polling only)");
    return 0;
failed:
    if (fault && !fault->code)
        zeb_fault_set (fault, ZEB_ERROR, "log: cannot start");
    return fault->code? fault->code: ZEB_ERROR;
}

static void
s_stats (void *state, zeb_pack_t *pack)
{
    self_t *self = (self_t *) state;
    zeb_pack_uint (pack, "fetches", self->counters.fetches);
    zeb_pack_uint (pack, "events_sent", self->counters.events_sent);
    zeb_pack_uint (pack, "bytes_sent", self->counters.bytes_sent);
    zeb_pack_uint (pack, "waits", self->counters.waits);
    zeb_pack_uint (pack, "wait_timeouts", self->counters.wait_timeouts);
    zeb_pack_uint (pack, "waits_refused", self->counters.waits_refused);
    zeb_pack_uint (pack, "waits_dropped", self->counters.waits_dropped);
    zeb_pack_uint (pack, "notices", self->counters.notices);
    zeb_pack_uint (pack, "waiting", zlistx_size (self->waits));
    zeb_router_pack_stats (self->router, pack);
}

static const zeb_actor_link_t s_links [] = {
    { "log/notify", "notify" },
    { NULL }
};

const zeb_actor_def_t zeb_log_def = {
    "log", "durable reads of the event log by sequence (FETCH, long-poll)", true,
    zeb_log_config, s_links, sizeof (self_t), s_start, s_stop, s_stats, NULL
};

//  ---------------------------------------------------------------------
//  Self test: FETCH in raw ZEB/1 against a node

typedef struct {
    uint64_t first, last, next, count;
    uint64_t sequences [64];
    char types [64][32];
    char command [16];
    char reason [32];
} s_test_events_t;

static void
s_test_fetch_send (zsock_t *dealer, const char *body_json, const char *tag)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    int rc = zeb_json_pack_text (body_json, strlen (body_json), &buffer, NULL);
    assert (rc == 0);
    rc = zeb_proto_send (zsock_resolve (dealer), NULL, "FETCH", buffer.data, buffer.size,
                             tag, tag? strlen (tag): 0, 0);
    assert (rc == 0);
    msgpack_sbuffer_destroy (&buffer);
}

//  Receive an EVENTS or NACK reply within timeout_ms; false on timeout
static bool
s_test_fetch_recv (zsock_t *dealer, s_test_events_t *result, int timeout_ms)
{
    memset (result, 0, sizeof (*result));
    zsock_set_rcvtimeo (dealer, timeout_ms);
    zmsg_t *msg = zmsg_recv (dealer);
    if (!msg)
        return false;
    char *command = zmsg_popstr (msg);
    snprintf (result->command, sizeof (result->command), "%s", command);
    zstr_free (&command);
    zframe_t *body = zmsg_pop (msg);
    const void *data = zframe_data (body);
    size_t size = zframe_size (body);
    if (streq (result->command, "NACK")) {
        const char *reason;
        size_t len;
        assert (zeb_proto_get_str (data, size, "reason", &reason, &len) == 0);
        snprintf (result->reason, sizeof (result->reason), "%.*s", (int) len, reason);
    }
    else {
        assert (streq (result->command, "EVENTS"));
        assert (zeb_proto_get_uint (data, size, "first", &result->first) == 0);
        assert (zeb_proto_get_uint (data, size, "last", &result->last) == 0);
        assert (zeb_proto_get_uint (data, size, "next", &result->next) == 0);
        assert (zeb_proto_get_uint (data, size, "count", &result->count) == 0);
        zeb_mpk_t reader;
        uint32_t count;
        assert (zeb_mpk_find (data, size, "events", &reader) == 0);
        assert (zeb_mpk_read_array (&reader, &count) == 0 && count == result->count);
        for (uint32_t index = 0; index < count; index++) {
            const uint8_t *span;
            size_t span_size;
            assert (zeb_mpk_skip (&reader, &span, &span_size) == 0);
            zeb_event_t *event = zeb_event_decode (span, span_size, NULL);
            assert (event);
            if (index < 64) {
                result->sequences [index] = zeb_event_sequence (event);
                snprintf (result->types [index], 32, "%s", zeb_event_type (event));
            }
            zeb_event_destroy (&event);
        }
    }
    zframe_destroy (&body);
    zmsg_destroy (&msg);
    return true;
}

static void
s_test_publish (zeb_client_t *client, const char *type, int count)
{
    for (int index = 0; index < count; index++) {
        zeb_event_t *event = zeb_event_new (type);
        zeb_event_set (event, "source", "log-test");
        zeb_ack_t ack;
        int rc = zeb_client_publish (client, event, &ack);
        assert (rc == 0);
        zeb_event_destroy (&event);
    }
}

//  A filtered long-poll whose scan stops at its limit short of the end
//  is answered at once with where to go on, not parked to scan again
static void
s_test_scan_limit (void)
{
    char dir [] = "/tmp/zeb-log-scan-XXXXXX";
    assert (mkdtemp (dir));
    zeb_fault_t fault;
    zeb_node_t *node = zeb_node_new_embedded (dir, &fault);
    assert (node);
    zeb_client_t *client = zeb_client_new (zeb_node_endpoint (node, "ingest"));
    zsock_t *reader = zsock_new_dealer (zeb_node_endpoint (node, "log"));
    for (int index = 0; index < 1100; index++) {
        zeb_event_t *noise = zeb_event_new ("noise.event");
        zeb_event_set (noise, "source", "log-test");
        assert (zeb_client_publish_async (client, noise, NULL, NULL) == 0);
        zeb_event_destroy (&noise);
    }
    assert (zeb_client_flush (client, 10000) == 0);
    s_test_events_t result;
    int64_t started = zclock_mono ();
    s_test_fetch_send (reader, "{\"from\": 1, \"max\": 10, \"wait_ms\": 20000, \"types\": [\"rare.\"]}", NULL);
    assert (s_test_fetch_recv (reader, &result, 5000));
    assert (zclock_mono () - started < 5000);
    assert (result.count == 0 && result.next == 1001 && result.last == 1100);
    //  From there on the scan reaches the end: that one waits
    s_test_fetch_send (reader, "{\"from\": 1001, \"max\": 10, \"wait_ms\": 300, \"types\": [\"rare.\"]}", NULL);
    started = zclock_mono ();
    assert (s_test_fetch_recv (reader, &result, 5000));
    assert (zclock_mono () - started >= 290 && result.count == 0 && result.next == 1101);
    zsock_destroy (&reader);
    zeb_client_destroy (&client);
    zeb_node_destroy (&node);
    zdir_t *tree = zdir_new (dir, NULL);
    zdir_remove (tree, true);
    zdir_destroy (&tree);
}

void
zeb_log_test (bool verbose)
{
    printf (" * zeb_log: ");
    char dir [] = "/tmp/zeb-log-XXXXXX";
    assert (mkdtemp (dir));
    zeb_fault_t fault;
    //  No other reader of the log: its counters are this test's
    zconfig_t *settings = zconfig_new ("root", NULL);
    zconfig_put (settings, "node/actors", "registry,ingest,log");
    zeb_node_t *node = zeb_node_new_embedded_with (dir, settings, &fault);
    zconfig_destroy (&settings);
    assert (node);
    zeb_client_t *client = zeb_client_new (zeb_node_endpoint (node, "ingest"));
    zsock_t *reader = zsock_new_dealer (zeb_node_endpoint (node, "log"));
    assert (client && reader);
    s_test_events_t result;

    //  An empty log
    s_test_fetch_send (reader, "{\"from\": 1}", NULL);
    assert (s_test_fetch_recv (reader, &result, 5000));
    assert (result.count == 0 && result.first == 0 && result.last == 0 && result.next == 1);

    //  Ten events of two types; read them in pages
    s_test_publish (client, "order.placed", 6);
    s_test_publish (client, "user.created", 2);
    s_test_publish (client, "order.shipped", 2);
    s_test_fetch_send (reader, "{\"from\": 1, \"max\": 4}", "p1");
    assert (s_test_fetch_recv (reader, &result, 5000));
    assert (result.count == 4 && result.next == 5 && result.first == 1 && result.last == 10);
    for (int index = 0; index < 4; index++)
        assert (result.sequences [index] == (uint64_t) index + 1);
    s_test_fetch_send (reader, "{\"from\": 5}", NULL);
    assert (s_test_fetch_recv (reader, &result, 5000));
    assert (result.count == 6 && result.sequences [0] == 5 && result.next == 11);

    //  Type prefixes: "order." and a trailing '*', skipping past the others
    s_test_fetch_send (reader, "{\"from\": 6, \"types\": [\"order.*\"]}", NULL);
    assert (s_test_fetch_recv (reader, &result, 5000));
    assert (result.count == 3 && result.sequences [0] == 6 && result.sequences [1] == 9);
    assert (streq (result.types [2], "order.shipped") && result.next == 11);
    s_test_fetch_send (reader, "{\"from\": 1, \"types\": [\"user.\", \"nothing.\"], \"max\": 1}", NULL);
    assert (s_test_fetch_recv (reader, &result, 5000));
    assert (result.count == 1 && result.sequences [0] == 7 && result.next == 8);
    s_test_fetch_send (reader, "{\"from\": 1, \"types\": [\"*\"], \"max\": 2}", NULL);
    assert (s_test_fetch_recv (reader, &result, 5000));
    assert (result.count == 2);

    //  max_bytes: at least one event, however small the budget
    s_test_fetch_send (reader, "{\"from\": 1, \"max_bytes\": 1}", NULL);
    assert (s_test_fetch_recv (reader, &result, 5000));
    assert (result.count == 1 && result.next == 2);

    //  By time: everything was stored after the start of this test
    s_test_fetch_send (reader, "{\"time\": 0, \"max\": 1}", NULL);
    assert (s_test_fetch_recv (reader, &result, 5000));
    assert (result.count == 1 && result.sequences [0] == 1);
    char body [96];
    snprintf (body, sizeof (body), "{\"time\": %lld}", (long long) zeb_time_now () + 60000);
    s_test_fetch_send (reader, body, NULL);
    assert (s_test_fetch_recv (reader, &result, 5000));
    assert (result.count == 0 && result.next == 11);

    //  Long-poll: the reply comes when a matching event is committed, not
    //  at the deadline
    s_test_fetch_send (reader, "{\"from\": 11, \"wait_ms\": 20000, \"types\": [\"payment.\"]}", "w1");
    assert (!s_test_fetch_recv (reader, &result, 200));        //  still waiting
    s_test_publish (client, "order.placed", 1);                //  not a match: keeps waiting
    assert (!s_test_fetch_recv (reader, &result, 200));
    int64_t started = zclock_mono ();
    s_test_publish (client, "payment.received", 1);
    assert (s_test_fetch_recv (reader, &result, 5000));
    assert (zclock_mono () - started < 5000);
    assert (result.count == 1 && result.sequences [0] == 12 && result.next == 13);
    //  ...and an empty answer at the deadline, without spinning meanwhile
    //  (the process, every thread, uses far less than the wait in CPU)
    started = zclock_mono ();
    struct timespec cpu_before, cpu_after;
    clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &cpu_before);
    s_test_fetch_send (reader, "{\"from\": 13, \"wait_ms\": 600}", NULL);
    assert (s_test_fetch_recv (reader, &result, 5000));
    clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &cpu_after);
    assert (result.count == 0 && result.next == 13);
    assert (zclock_mono () - started >= 590);
    double cpu = (double) (cpu_after.tv_sec - cpu_before.tv_sec)
               + (double) (cpu_after.tv_nsec - cpu_before.tv_nsec) / 1e9;
    if (verbose)
        printf ("(%.3f s of CPU during a 600 ms long-poll) ", cpu);
    assert (cpu < 0.3);

    //  Bad requests get NACKs, and the log goes on serving
    const char *bad [][2] = {
        { "{\"from\": \"one\"}", "INVALID_ATTRIBUTE" },
        { "{\"max\": 0}", "INVALID_ATTRIBUTE" },
        { "{\"types\": \"order.\"}", "INVALID_ATTRIBUTE" },
        { "{\"types\": [1, 2]}", "INVALID_ATTRIBUTE" },
        { "{\"wait_ms\": -5}", "INVALID_ATTRIBUTE" },
        { "[1, 2]", "MALFORMED" }
    };
    for (size_t index = 0; index < sizeof (bad) / sizeof (bad [0]); index++) {
        s_test_fetch_send (reader, bad [index][0], NULL);
        assert (s_test_fetch_recv (reader, &result, 5000));
        assert (streq (result.command, "NACK") && streq (result.reason, bad [index][1]));
    }
    zstr_sendx (reader, "FETCH", NULL);
    assert (s_test_fetch_recv (reader, &result, 5000));
    assert (streq (result.reason, "MALFORMED"));
    zstr_sendx (reader, "PUBLISH", "\x80", NULL);
    assert (s_test_fetch_recv (reader, &result, 5000));
    assert (streq (result.reason, "UNKNOWN_COMMAND"));
    //  A map with trailing bytes, or cut short, is not a FETCH body
    zframe_t *bad_frame = zframe_new ("\x81\xa4" "from\x01\xc0", 8);
    zsock_send (reader, "sf", "FETCH", bad_frame);
    assert (s_test_fetch_recv (reader, &result, 5000));
    assert (streq (result.reason, "MALFORMED"));
    zframe_reset (bad_frame, "\x82\xa4" "from\x01", 7);
    zsock_send (reader, "sf", "FETCH", bad_frame);
    assert (s_test_fetch_recv (reader, &result, 5000));
    assert (streq (result.reason, "MALFORMED"));
    zframe_destroy (&bad_frame);
    s_test_fetch_send (reader, "{\"from\": 12}", NULL);
    assert (s_test_fetch_recv (reader, &result, 5000));
    assert (result.count == 1);

    //  STATS
    zeb_proto_send (zsock_resolve (reader), NULL, "STATS", "\x80", 1, NULL, 0, 0);
    zmsg_t *msg = zmsg_recv (reader);
    assert (msg && zmsg_size (msg) == 2);
    char *command = zmsg_popstr (msg);
    assert (streq (command, "STATS"));
    zstr_free (&command);
    zframe_t *frame = zmsg_pop (msg);
    json_t *stats = zeb_json_from_msgpack (zframe_data (frame), zframe_size (frame), NULL);
    assert (json_integer_value (json_object_get (stats, "waits")) == 2);
    assert (json_integer_value (json_object_get (stats, "nacks")) == 10);
    json_decref (stats);
    zframe_destroy (&frame);
    zmsg_destroy (&msg);

    //  A single empty frame is "forget me": the sender's waits go,
    //  unanswered, and it is served as before
    s_test_fetch_send (reader, "{\"from\": 13, \"wait_ms\": 20000}", "w2");
    s_test_fetch_send (reader, "{\"from\": 13, \"wait_ms\": 20000}", "w3");
    zstr_send (reader, "");
    s_test_fetch_send (reader, "{\"from\": 12}", NULL);
    assert (s_test_fetch_recv (reader, &result, 5000));
    assert (result.count == 1 && result.sequences [0] == 12);
    zeb_proto_send (zsock_resolve (reader), NULL, "STATS", "\x80", 1, NULL, 0, 0);
    msg = zmsg_recv (reader);
    assert (msg && zmsg_size (msg) == 2);
    frame = zmsg_last (msg);
    stats = zeb_json_from_msgpack (zframe_data (frame), zframe_size (frame), NULL);
    assert (json_integer_value (json_object_get (stats, "waiting")) == 0);
    assert (json_integer_value (json_object_get (stats, "waits_dropped")) == 2);
    assert (json_integer_value (json_object_get (stats, "peers_gone")) == 1);
    json_decref (stats);
    zmsg_destroy (&msg);

    //  Retention deletes from the front: a reader from 1 sees the gap
    zsock_destroy (&reader);
    zeb_client_destroy (&client);
    zeb_node_destroy (&node);
    zconfig_t *config = zconfig_new ("root", NULL);
    zconfig_put (config, "node/data", dir);
    zconfig_put (config, "node/actors", "ingest,log");
    zconfig_put (config, "ingest/endpoint", "inproc://zeb-log-test-retained");
    zconfig_put (config, "log/endpoint", "inproc://zeb-log-test-retained-log");
    zconfig_put (config, "bus/endpoint", "inproc://zeb-log-test-retained-bus");
    zconfig_put (config, "retention/max_events", "5");
    zconfig_put (config, "retention/interval", "20ms");
    node = zeb_node_new (config, &fault);
    assert (node);
    reader = zsock_new_dealer (zeb_node_endpoint (node, "log"));
    int64_t deadline = zclock_mono () + 5000;
    do {
        assert (zclock_mono () < deadline);
        s_test_fetch_send (reader, "{\"from\": 1, \"max\": 1}", NULL);
        assert (s_test_fetch_recv (reader, &result, 5000));
    } while (result.first != 8);
    assert (result.sequences [0] == 8 && result.last == 12);

    zsock_destroy (&reader);
    zeb_node_destroy (&node);
    zconfig_destroy (&config);
    zdir_t *tree = zdir_new (dir, NULL);
    zdir_remove (tree, true);
    zdir_destroy (&tree);
    s_test_scan_limit ();
    printf ("OK\n");
}
