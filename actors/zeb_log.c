/*  =========================================================================
    zeb_log - the log actor: durable reads of the event log by sequence

    A FETCH is answered from one LMDB read transaction: events are copied
    out of the map into the reply as they are stored (canonical msgpack),
    so a read never decodes more than an event's type, and only when the
    request filters by type. A FETCH that finds nothing and asked to wait
    is parked; parked FETCHes are retried when ingest announces a commit
    (and, as a fallback for a lost notice, every S_POLL_MS while any wait),
    and answered empty at their deadline.
    =========================================================================
*/

#include "zeb.h"

#define S_MAX_TYPES     32          //  type prefixes in one FETCH
#define S_DEFAULT_MAX   100         //  events per reply when not asked
#define S_SCAN_FACTOR   20          //  filtered fetch scans up to max * this
#define S_POLL_MS       200
#define S_LINGER_MS     10000       //  commit notices kept this long after the last wait

typedef struct {
    uint64_t from;
    size_t max;
    size_t max_bytes;
    char *types [S_MAX_TYPES];      //  prefixes; none = every type
    size_t type_count;
} s_query_t;

//  A FETCH waiting for events
typedef struct {
    uint8_t identity [256];
    size_t identity_size;
    uint8_t tag [ZEB_PROTO_MAX_TAG];
    size_t tag_size;
    bool has_tag;
    s_query_t query;
    int64_t deadline;               //  ms, monotonic
} s_wait_t;

typedef struct {
    uint64_t fetches;
    uint64_t events_sent;
    uint64_t bytes_sent;
    uint64_t waits;
    uint64_t wait_timeouts;
    uint64_t nacks;
    uint64_t notices;
} s_counters_t;

typedef struct {
    zsock_t *pipe;
    zpoller_t *poller;
    bool started;
    zsock_t *front;                 //  ROUTER: readers
    zsock_t *notify;                //  SUB: ingest's commit notices
    void *front_handle;
    zeb_store_t *store;
    char *endpoint;
    char *node_name;
    size_t max_events;
    size_t max_bytes;
    int64_t max_wait;
    zlistx_t *waits;                //  parked FETCHes, s_wait_t
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
        free (wait);
        *item_p = NULL;
    }
}

static self_t *
s_self_new (zsock_t *pipe)
{
    self_t *self = (self_t *) zmalloc (sizeof (self_t));
    assert (self);
    self->pipe = pipe;
    self->poller = zpoller_new (pipe, NULL);
    assert (self->poller);
    zpoller_set_nonstop (self->poller, true);
    self->waits = zlistx_new ();
    assert (self->waits);
    zlistx_set_destructor (self->waits, s_wait_destroy);
    msgpack_sbuffer_init (&self->events);
    msgpack_sbuffer_init (&self->head);
    return self;
}

static void
s_self_destroy (self_t **self_p)
{
    self_t *self = *self_p;
    if (!self)
        return;
    zlistx_destroy (&self->waits);
    zeb_store_destroy (&self->store);
    zpoller_destroy (&self->poller);
    zsock_destroy (&self->front);
    zsock_destroy (&self->notify);
    msgpack_sbuffer_destroy (&self->events);
    msgpack_sbuffer_destroy (&self->head);
    zstr_free (&self->endpoint);
    zstr_free (&self->node_name);
    free (self);
    *self_p = NULL;
}

static int
s_start (self_t *self, zconfig_t *config, zeb_fault_t *fault)
{
    if (self->started)
        return zeb_fault_set (fault, ZEB_ECONFIG, "log already started");
    int64_t max_events;
    uint64_t max_bytes;
    if (zeb_config_int (config, "log/max_events", &max_events) || max_events < 1
    ||  zeb_config_size (config, "log/max_bytes", &max_bytes) || max_bytes < 1024
    ||  zeb_config_duration (config, "log/max_wait", &self->max_wait))
        return zeb_fault_set (fault, ZEB_ECONFIG, "invalid log settings");
    self->max_events = (size_t) max_events;
    self->max_bytes = (size_t) max_bytes;
    self->node_name = strdup (zeb_config_str (config, "node/name"));
    char *path = zsys_sprintf ("%s/events", zeb_config_str (config, "node/data"));
    zeb_store_options_t options = { 0, 0, ZEB_SYNC_ALWAYS, false };
    uint64_t map_size;
    if (zeb_config_size (config, "store/map_size", &map_size) == 0)
        options.map_size = map_size;
    self->store = zeb_store_new (path, &options, fault);
    zstr_free (&path);
    if (!self->store)
        return fault? fault->code: ZEB_ESTORAGE;

    const char *endpoint = zeb_config_str (config, "log/endpoint");
    self->front = zsock_new (ZMQ_ROUTER);
    if (!self->front || zsock_bind (self->front, "%s", endpoint) == -1)
        return zeb_fault_set (fault, ZEB_ECONFIG, "cannot bind %s: %s", endpoint,
                              zmq_strerror (zmq_errno ()));
    self->endpoint = strdup (zsock_endpoint (self->front)? zsock_endpoint (self->front): endpoint);
    self->front_handle = zsock_resolve (self->front);
    const char *notify = zeb_config_str (config, "log/notify");
    if (!*notify)
        notify = zeb_config_str (config, "ingest/notify");
    if (*notify) {
        self->notify = zsock_new (ZMQ_SUB);
        if (!self->notify || zsock_connect (self->notify, "%s", notify) == -1)
            return zeb_fault_set (fault, ZEB_ECONFIG, "cannot connect to notify %s", notify);
        zpoller_add (self->poller, self->notify);
    }
    zpoller_add (self->poller, self->front);
    self->started = true;
    zeb_info ("log: %s, notified by %s", self->endpoint, *notify? notify: "(polling only)");
    return 0;
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

static void
s_send_events (self_t *self, const void *identity, size_t identity_size,
               s_fetch_t *fetch, zeb_store_stats_t *stats, const void *tag, size_t tag_size)
{
    msgpack_sbuffer_clear (&self->head);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &self->head, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 5);
    msgpack_pack_str_with_body (&pk, "first", 5);
    msgpack_pack_uint64 (&pk, stats->first);
    msgpack_pack_str_with_body (&pk, "last", 4);
    msgpack_pack_uint64 (&pk, stats->last);
    msgpack_pack_str_with_body (&pk, "next", 4);
    msgpack_pack_uint64 (&pk, fetch->next);
    msgpack_pack_str_with_body (&pk, "count", 5);
    msgpack_pack_uint64 (&pk, fetch->count);
    msgpack_pack_str_with_body (&pk, "events", 6);
    msgpack_pack_array (&pk, fetch->count);
    zmq_msg_t body;
    zmq_msg_init_size (&body, self->head.size + self->events.size);
    memcpy (zmq_msg_data (&body), self->head.data, self->head.size);
    if (self->events.size)
        memcpy ((char *) zmq_msg_data (&body) + self->head.size, self->events.data, self->events.size);
    zmq_send (self->front_handle, identity, identity_size, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send (self->front_handle, ZEB_CMD_EVENTS, strlen (ZEB_CMD_EVENTS), ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_msg_send (&body, self->front_handle, (tag? ZMQ_SNDMORE: 0) | ZMQ_DONTWAIT);
    zmq_msg_close (&body);
    if (tag)
        zmq_send (self->front_handle, tag, tag_size, ZMQ_DONTWAIT);
    self->counters.events_sent += fetch->count;
    self->counters.bytes_sent += self->events.size;
}

static void
s_send_nack (self_t *self, const void *identity, size_t identity_size, int code,
             const char *text, const void *tag, size_t tag_size)
{
    msgpack_sbuffer_clear (&self->head);
    zeb_proto_pack_nack (&self->head, code, text, -1);
    zmq_send (self->front_handle, identity, identity_size, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zeb_proto_send (self->front_handle, NULL, ZEB_CMD_NACK, self->head.data, self->head.size,
                    tag, tag_size, ZMQ_DONTWAIT);
    self->counters.nacks++;
}

//  Parse a FETCH body into a query. Returns 0, or an error with fault.
static int
s_parse_fetch (self_t *self, const uint8_t *body, size_t size, s_query_t *query,
               int64_t *wait_ms, zeb_fault_t *fault)
{
    if (!zeb_proto_is_map (body, size))
        return zeb_fault_set (fault, ZEB_EMALFORMED,
                              "FETCH body must be one msgpack map with string keys");
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
s_handle_fetch (self_t *self, zmq_msg_t *identity, const uint8_t *body, size_t size,
                const void *tag, size_t tag_size)
{
    self->counters.fetches++;
    s_query_t query = { 0 };
    int64_t wait_ms;
    zeb_fault_t fault = { 0 };
    const void *id = zmq_msg_data (identity);
    size_t id_size = zmq_msg_size (identity);
    int rc = s_parse_fetch (self, body, size, &query, &wait_ms, &fault);
    if (rc) {
        s_send_nack (self, id, id_size, rc, fault.text, tag, tag_size);
        return;
    }
    s_fetch_t fetch;
    zeb_store_stats_t stats;
    rc = s_run (self, &query, &fetch, &stats);
    if (rc)
        s_send_nack (self, id, id_size, rc, "cannot read the log", tag, tag_size);
    else
    if (fetch.count > 0 || wait_ms == 0 || id_size > sizeof (((s_wait_t *) 0)->identity))
        s_send_events (self, id, id_size, &fetch, &stats, tag, tag_size);
    else {
        //  Nothing yet: park until a commit or the deadline
        s_wait_t *wait = (s_wait_t *) zmalloc (sizeof (s_wait_t));
        memcpy (wait->identity, id, id_size);
        wait->identity_size = id_size;
        wait->has_tag = tag != NULL;
        wait->tag_size = tag_size;
        if (tag_size)
            memcpy (wait->tag, tag, tag_size);
        wait->query = query;
        wait->query.from = fetch.next;
        wait->deadline = s_clock_ms () + wait_ms;
        zlistx_add_end (self->waits, wait);
        self->counters.waits++;
        if (!self->poll_due)
            self->poll_due = s_clock_ms () + S_POLL_MS;
        return;                     //  the wait owns the query's strings
    }
    s_query_reset (&query);
}

//  Retry parked FETCHes that may now have events; expire those past due
static void
s_serve_waits (self_t *self, uint64_t last)
{
    int64_t now = s_clock_ms ();
    s_wait_t *wait = (s_wait_t *) zlistx_first (self->waits);
    while (wait) {
        bool expired = now >= wait->deadline;
        if (wait->query.from <= last || expired) {
            s_fetch_t fetch;
            zeb_store_stats_t stats;
            int rc = s_run (self, &wait->query, &fetch, &stats);
            const void *tag = wait->has_tag? wait->tag: NULL;
            bool done = rc || fetch.count > 0 || expired;
            if (rc)
                s_send_nack (self, wait->identity, wait->identity_size, rc,
                             "cannot read the log", tag, wait->tag_size);
            else
            if (done) {
                s_send_events (self, wait->identity, wait->identity_size, &fetch, &stats,
                               tag, wait->tag_size);
                if (fetch.count == 0)
                    self->counters.wait_timeouts++;
            }
            else
                wait->query.from = fetch.next;   //  filtered out: keep waiting
            if (done)       //  moves the cursor back: zlistx_next goes on
                zlistx_delete (self->waits, zlistx_cursor (self->waits));
        }
        wait = (s_wait_t *) zlistx_next (self->waits);
    }
}

static void
s_handle_front (self_t *self)
{
    zmq_msg_t parts [4];
    int count = 0;
    bool more = true;
    while (more) {
        zmq_msg_t extra;
        zmq_msg_t *part = count < 4? &parts [count]: &extra;
        zmq_msg_init (part);
        if (zmq_msg_recv (part, self->front_handle, count? 0: ZMQ_DONTWAIT) < 0) {
            zmq_msg_close (part);
            return;
        }
        more = zmq_msg_more (part);
        if (part == &extra) {
            zmq_msg_close (&extra);
            count++;
        }
        else
            count++;
    }
    const void *id = zmq_msg_data (&parts [0]);
    size_t id_size = zmq_msg_size (&parts [0]);
    int kept = count < 4? count: 4;
    if (count < 3 || count > 4)
        s_send_nack (self, id, id_size, ZEB_EMALFORMED, "a request is [command][body][tag]?", NULL, 0);
    else {
        const void *tag = count == 4? zmq_msg_data (&parts [3]): NULL;
        size_t tag_size = count == 4? zmq_msg_size (&parts [3]): 0;
        const char *command = (const char *) zmq_msg_data (&parts [1]);
        size_t command_len = zmq_msg_size (&parts [1]);
        const uint8_t *body = (const uint8_t *) zmq_msg_data (&parts [2]);
        size_t body_size = zmq_msg_size (&parts [2]);
        if (tag_size > ZEB_PROTO_MAX_TAG)
            s_send_nack (self, id, id_size, ZEB_EMALFORMED, "tag longer than 255 bytes", NULL, 0);
        else
        if (command_len == 5 && memcmp (command, ZEB_CMD_FETCH, 5) == 0)
            s_handle_fetch (self, &parts [0], body, body_size, tag, tag_size);
        else
        if (command_len == 5 && memcmp (command, ZEB_CMD_STATS, 5) == 0) {
            msgpack_sbuffer_clear (&self->head);
            msgpack_packer pk;
            msgpack_packer_init (&pk, &self->head, msgpack_sbuffer_write);
            msgpack_pack_map (&pk, 10);
            msgpack_pack_str_with_body (&pk, "node", 4);
            msgpack_pack_str_with_body (&pk, self->node_name, strlen (self->node_name));
            msgpack_pack_str_with_body (&pk, "actor", 5);
            msgpack_pack_str_with_body (&pk, "log", 3);
            const char *keys [] = { "fetches", "events_sent", "bytes_sent", "waits",
                                    "wait_timeouts", "nacks", "notices", "waiting" };
            uint64_t values [] = { self->counters.fetches, self->counters.events_sent,
                                   self->counters.bytes_sent, self->counters.waits,
                                   self->counters.wait_timeouts, self->counters.nacks,
                                   self->counters.notices, zlistx_size (self->waits) };
            for (size_t index = 0; index < 8; index++) {
                msgpack_pack_str_with_body (&pk, keys [index], strlen (keys [index]));
                msgpack_pack_uint64 (&pk, values [index]);
            }
            zmq_send (self->front_handle, id, id_size, ZMQ_SNDMORE | ZMQ_DONTWAIT);
            zeb_proto_send (self->front_handle, NULL, ZEB_CMD_STATS, self->head.data,
                            self->head.size, tag, tag_size, ZMQ_DONTWAIT);
        }
        else {
            char text [80];
            snprintf (text, sizeof (text), "unknown command '%.*s'",
                      (int) (command_len > 32? 32: command_len), command);
            s_send_nack (self, id, id_size, ZEB_ECOMMAND, text, tag, tag_size);
        }
    }
    for (int index = 0; index < kept; index++)
        zmq_msg_close (&parts [index]);
}

static void
s_handle_notify (self_t *self)
{
    zmsg_t *msg = zmsg_recv (self->notify);
    if (!msg)
        return;
    zframe_t *command = zmsg_first (msg);
    zframe_t *body = zmsg_next (msg);
    if (command && body && zframe_streq (command, ZEB_CMD_COMMIT)) {
        zeb_mpk_t reader;
        zeb_mpk_init (&reader, zframe_data (body), zframe_size (body));
        uint64_t last;
        if (zeb_mpk_read_uint (&reader, &last) == 0 && last > self->last_notified)
            self->last_notified = last;
        self->counters.notices++;
    }
    zmsg_destroy (&msg);
    if (zlistx_size (self->waits))
        s_serve_waits (self, self->last_notified);
}

static int
s_handle_pipe (self_t *self)
{
    zmsg_t *msg = zmsg_recv (self->pipe);
    if (!msg)
        return -1;
    char *command = zmsg_popstr (msg);
    assert (command);
    int rc = 0;
    if (streq (command, "$TERM"))
        rc = -1;
    else
    if (streq (command, "START")) {
        zconfig_t *config = zeb_config_pop (msg);
        zeb_fault_t fault = { 0 };
        if (s_start (self, config, &fault) == 0)
            zsock_send (self->pipe, "is", 0, self->endpoint);
        else {
            zsys_error ("log: %s", fault.text);
            zsock_send (self->pipe, "is", -1, fault.text);
        }
    }
    else
        assert (false);
    zstr_free (&command);
    zmsg_destroy (&msg);
    return rc;
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

static int
s_next_timeout (self_t *self)
{
    int64_t now = s_clock_ms ();
    if (zlistx_size (self->waits) == 0) {
        if (!self->subscribed)
            return -1;
        return self->unsubscribe_due <= now? 0: (int) (self->unsubscribe_due - now);
    }
    int64_t due = self->poll_due;
    s_wait_t *wait = (s_wait_t *) zlistx_first (self->waits);
    while (wait) {
        if (wait->deadline < due)
            due = wait->deadline;
        wait = (s_wait_t *) zlistx_next (self->waits);
    }
    return due <= now? 0: (int) (due - now);
}

void
zeb_log_actor (zsock_t *pipe, void *args)
{
    self_t *self = s_self_new (pipe);
    zsock_signal (pipe, 0);
    while (true) {
        void *which = zpoller_wait (self->poller, s_next_timeout (self));
        if (which == self->pipe) {
            if (s_handle_pipe (self))
                break;
        }
        else
        if (which == self->front)
            s_handle_front (self);
        else
        if (which == self->notify)
            s_handle_notify (self);
        else
        if (zpoller_terminated (self->poller))
            break;
        s_update_subscription (self);
        if (zlistx_size (self->waits)) {
            int64_t now = s_clock_ms ();
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
    }
    s_self_destroy (&self);
}

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

void
zeb_log_test (bool verbose)
{
    printf (" * zeb_log: ");
    char dir [] = "/tmp/zeb-log-XXXXXX";
    assert (mkdtemp (dir));
    zeb_fault_t fault;
    zeb_node_t *node = zeb_node_new_embedded (dir, &fault);
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
    //  ...and an empty answer at the deadline
    started = zclock_mono ();
    s_test_fetch_send (reader, "{\"from\": 13, \"wait_ms\": 300}", NULL);
    assert (s_test_fetch_recv (reader, &result, 5000));
    assert (result.count == 0 && result.next == 13);
    assert (zclock_mono () - started >= 290);

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

    //  Retention deletes from the front: a reader from 1 sees the gap
    zsock_destroy (&reader);
    zeb_client_destroy (&client);
    zeb_node_destroy (&node);
    zconfig_t *config = zconfig_new ("root", NULL);
    zconfig_put (config, "node/data", dir);
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
    printf ("OK\n");
}
