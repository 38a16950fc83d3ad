/*  =========================================================================
    zeb_automation - automations over the log (see zeb_automation.h)

    One thread owns the rules (a zeb_ruleset), their store, the log
    consumer and the ENQUEUE in flight. Evaluation: events come from the
    consumer; each one's matches are rendered into runs of one ENQUEUE
    (with the cursor after them) until the batch is full or no event is
    buffered; while the ENQUEUE is in flight no event is taken, so the
    cursor the outbox stores is always after every run it acknowledged.

    Store (LMDB, node/data/automation):
      rules     id -> the rule's JSON text (the current version)
      versions  id NUL be64 version -> {version, op, by, at, rule?} msgpack
      meta      "cursor" -> be64 position (batches that enqueued nothing)
    =========================================================================
*/

#include "zeb_actors.h"

const zeb_config_key_t zeb_automation_config [] = {
    { "automation/endpoint", "tcp://127.0.0.1:7706", ZEB_KEY_ENDPOINT, 0, 0, NULL,
      "ROUTER for PUT, GET, LIST, TEST, BACKTEST... (docs/PROTOCOL.md 4c)" },
    { "automation/log", "", ZEB_KEY_ENDPOINT, 0, 0, NULL,
      "the log to read (set in a node with a log)" },
    { "automation/outbox", "", ZEB_KEY_ENDPOINT, 0, 0, NULL,
      "the outbox runs go to (set in a node with an outbox)" },
    { "automation/registry", "", ZEB_KEY_ENDPOINT, 0, 0, NULL,
      "the registry rules are checked against (set in a node with a registry)" },
    { "automation/strict_paths", "false", ZEB_KEY_BOOL, 0, 0, NULL,
      "refuse (422) a rule whose paths its trigger type's schema says cannot exist" },
    { "automation/log_skipped", "false", ZEB_KEY_BOOL, 0, 0, NULL,
      "log each rule whose trigger matched an event and conditions did not (status skipped, "
      "conditionsMatched false): one outbox run and log entry each" },
    { "automation/batch", "500", ZEB_KEY_INT, 1, 100000, NULL,
      "runs per ENQUEUE at most (not above outbox/max_enqueue)" },
    { "automation/max_rules", "100000", ZEB_KEY_INT, 1, 10000000, NULL, "rules stored at most" },
    { "automation/timeout", "5s", ZEB_KEY_DURATION, 10, 600000, NULL,
      "an ENQUEUE not answered in this time is sent again (same run ids)" },
    { "automation/backtest_max", "1000000", ZEB_KEY_INT, 1, 100000000, NULL,
      "events one BACKTEST may scan at most" },
    { "automation/backtest_slice", "500ms", ZEB_KEY_DURATION, 10, 60000, NULL,
      "one BACKTEST scans at most this long (evaluation waits meanwhile); next goes on" },
    { "automation/max_size", "0", ZEB_KEY_SIZE, 0, 0, NULL,
      "largest the rules' store may grow (0 = disk size)" },
    { NULL }
};

#define S_TAG_KIND      'A'
#define S_MAX_EVENTS    1000        //  events evaluated per batch
#define S_FETCH         100         //  events per FETCH: what the consumer buffers
#define S_BACKOFF       200         //  after a refused ENQUEUE, ms (doubling)
#define S_BACKOFF_MAX   5000
#define S_CURSOR_EVERY  1000        //  the own cursor is written at most this often, ms
#define S_MAX_ID        128         //  bytes of a rule id (an outbox origin)
#define S_MAX_WARNINGS  32

typedef struct {
    zeb_actor_t *actor;
    zeb_router_t *router;
    zeb_lmdb_t *lmdb;
    MDB_dbi rules_db, versions_db, meta_db;
    zeb_ruleset_t *rules;
    char *log_endpoint;
    zsock_t *outbox;                //  DEALER: ENQUEUE and CURSOR
    zeb_outbox_client_t *logs;      //  for LOGS (synchronous)
    zeb_registry_client_t *registry;
    zeb_consumer_t *consumer;       //  NULL until the cursor is known
    uint64_t tags;
    //  Settings
    bool strict_paths;
    bool log_skipped;
    int64_t batch_max;
    int64_t max_rules;
    int64_t timeout;
    int64_t backtest_max;
    int64_t backtest_slice;
    //  The cursor
    uint64_t cursor_tag;            //  CURSOR in flight (0: answered)
    int64_t cursor_deadline;
    uint64_t local_position;        //  of the own cursor, as stored
    uint64_t position;              //  everything before is done
    int64_t local_written;          //  when the own cursor was last written (mono ms)
    //  The ENQUEUE in hand
    msgpack_sbuffer batch;
    size_t batch_runs;
    uint64_t batch_position;
    uint64_t batch_tag;             //  0: none in flight
    int64_t batch_deadline;         //  resend then (mono ms)
    int64_t retry_at;               //  after a NACK: send again then (0: no)
    int64_t backoff;                //  the next delay after a NACK, ms
    msgpack_sbuffer scratch;        //  an event's encoding
    //  Counters
    uint64_t events;                //  evaluated
    uint64_t runs;                  //  enqueued and acknowledged
    uint64_t skipped;               //  logged as conditionsMatched false
    uint64_t enqueues, resends, refused_enqueues;
    uint64_t puts, deletes, refused, tests, backtests;
    uint64_t warnings;
} self_t;

static void s_evaluate (self_t *self);

//  ---------------------------------------------------------------------
//  Helpers

static int64_t
s_now_ms (void)
{
    return zeb_time_mono_us () / 1000;
}

static void
s_be64 (uint8_t *out, uint64_t value)
{
    for (int index = 7; index >= 0; index--) {
        out [index] = (uint8_t) value;
        value >>= 8;
    }
}

static uint64_t
s_read_be64 (const uint8_t *in)
{
    uint64_t value = 0;
    for (int index = 0; index < 8; index++)
        value = (value << 8) | in [index];
    return value;
}

//  A string field of the request into out (size bytes); 0, 1 if absent,
//  -1 if not a string or too long
static int
s_get_str (zeb_request_t *request, const char *key, char *out, size_t size)
{
    const char *text;
    size_t len;
    int rc = zeb_proto_get_str (request->body, request->body_size, key, &text, &len);
    if (rc == 1)
        return 1;
    if (rc != 0 || len >= size)
        return -1;
    memcpy (out, text, len);
    out [len] = 0;
    return 0;
}

//  The request's value of key as JSON (caller decrefs), or NULL if absent
//  or not convertible
static json_t *
s_get_json (zeb_request_t *request, const char *key)
{
    zeb_mpk_t found;
    if (zeb_mpk_find (request->body, request->body_size, key, &found))
        return NULL;
    const uint8_t *span;
    size_t span_size;
    if (zeb_mpk_skip (&found, &span, &span_size))
        return NULL;
    return zeb_json_from_msgpack (span, span_size, NULL);
}

//  A rule id: 1..128 bytes of letters, digits and . _ : -
static bool
s_id_valid (const char *id)
{
    size_t len = strlen (id);
    if (len == 0 || len > S_MAX_ID)
        return false;
    for (const char *p = id; *p; p++)
        if (!(isalnum ((unsigned char) *p) || *p == '.' || *p == '_' || *p == ':' || *p == '-'))
            return false;
    return true;
}

//  The request's id (a rule's), NACKed when missing or malformed
static bool
s_request_id (zeb_request_t *request, char *id)
{
    if (s_get_str (request, "id", id, S_MAX_ID + 1) != 0 || !s_id_valid (id)) {
        zeb_router_nack (request, ZEB_EINVALID, "needs id: 1..%d letters, digits, '.', '_', ':' or '-'",
                         S_MAX_ID);
        return false;
    }
    return true;
}

static void
s_pack_json (zeb_pack_t *pack, const char *key, json_t *json)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer packer;
    msgpack_packer_init (&packer, &buffer, msgpack_sbuffer_write);
    if (zeb_json_to_msgpack (json, &packer) == 0)
        zeb_pack_raw (pack, key, buffer.data, buffer.size);
    else
        zeb_pack_nil (pack, key);
    msgpack_sbuffer_destroy (&buffer);
}

//  ---------------------------------------------------------------------
//  The store

static void
s_version_key (const char *id, uint64_t version, uint8_t *key, size_t *key_size)
{
    size_t len = strlen (id);
    memcpy (key, id, len);
    key [len] = 0;
    s_be64 (key + len + 1, version);
    *key_size = len + 9;
}

//  The newest version stored for id (0: none)
static uint64_t
s_latest_version (self_t *self, MDB_txn *txn, const char *id)
{
    uint8_t key [S_MAX_ID + 9];
    size_t key_size;
    s_version_key (id, UINT64_MAX, key, &key_size);
    MDB_cursor *cursor;
    if (mdb_cursor_open (txn, self->versions_db, &cursor))
        return 0;
    uint64_t version = 0;
    size_t len = strlen (id);
    MDB_val lookup = { key_size, key }, value;
    int rc = mdb_cursor_get (cursor, &lookup, &value, MDB_SET_RANGE);
    rc = rc == 0? mdb_cursor_get (cursor, &lookup, &value, MDB_PREV)
                : mdb_cursor_get (cursor, &lookup, &value, MDB_LAST);
    if (rc == 0 && lookup.mv_size == len + 9 && memcmp (lookup.mv_data, id, len + 1) == 0)
        version = s_read_be64 ((uint8_t *) lookup.mv_data + len + 1);
    mdb_cursor_close (cursor);
    return version;
}

//  One change of a rule, written by zeb_lmdb_write
typedef struct {
    self_t *self;
    const char *id;
    const char *op;                 //  "put", "delete", "enable", "disable"
    const char *by;
    const char *text;               //  the rule's JSON, NULL for delete
    uint64_t version;               //  out
} s_change_t;

static int
s_change_write (MDB_txn *txn, void *arg)
{
    s_change_t *change = (s_change_t *) arg;
    self_t *self = change->self;
    MDB_val key = { strlen (change->id), (void *) change->id };
    int rc;
    if (change->text) {
        MDB_val value = { strlen (change->text), (void *) change->text };
        rc = mdb_put (txn, self->rules_db, &key, &value, 0);
    }
    else {
        rc = mdb_del (txn, self->rules_db, &key, NULL);
        if (rc == MDB_NOTFOUND)
            rc = 0;
    }
    if (rc)
        return rc;
    change->version = s_latest_version (self, txn, change->id) + 1;
    msgpack_sbuffer record;
    msgpack_sbuffer_init (&record);
    zeb_pack_t pack;
    zeb_pack_init (&pack, &record);
    zeb_pack_map (&pack, NULL);
    zeb_pack_uint (&pack, "version", change->version);
    zeb_pack_str (&pack, "op", change->op);
    zeb_pack_str (&pack, "by", change->by);
    char at [40];
    zeb_time_format (zeb_time_now (), at);
    zeb_pack_str (&pack, "at", at);
    if (change->text)
        zeb_pack_str (&pack, "rule", change->text);
    zeb_pack_end (&pack);
    uint8_t version_key [S_MAX_ID + 9];
    size_t version_key_size;
    s_version_key (change->id, change->version, version_key, &version_key_size);
    MDB_val vkey = { version_key_size, version_key }, value = { record.size, record.data };
    rc = mdb_put (txn, self->versions_db, &vkey, &value, 0);
    msgpack_sbuffer_destroy (&record);
    return rc;
}

static int
s_change (self_t *self, const char *id, const char *op, const char *by, const char *text,
          uint64_t *version)
{
    s_change_t change = { self, id, op, by, text, 0 };
    int rc = zeb_lmdb_write (self->lmdb, s_change_write, &change);
    if (version)
        *version = change.version;
    return rc;
}

typedef struct {
    self_t *self;
    uint64_t position;
} s_cursor_t;

static int
s_cursor_write (MDB_txn *txn, void *arg)
{
    s_cursor_t *cursor = (s_cursor_t *) arg;
    uint8_t bytes [8];
    s_be64 (bytes, cursor->position);
    MDB_val key = { 6, (void *) "cursor" }, value = { 8, bytes };
    return mdb_put (txn, cursor->self->meta_db, &key, &value, 0);
}

//  Store the own cursor if it moved (and, unless force, not too often)
static void
s_cursor_flush (self_t *self, bool force)
{
    if (self->position <= self->local_position)
        return;
    if (!force && s_now_ms () - self->local_written < S_CURSOR_EVERY)
        return;
    s_cursor_t cursor = { self, self->position };
    if (zeb_lmdb_write (self->lmdb, s_cursor_write, &cursor) == 0)
        self->local_position = self->position;
    self->local_written = s_now_ms ();
}

//  Every stored rule into the ruleset; -1 on a storage failure
static int
s_load (self_t *self)
{
    MDB_txn *txn;
    if (zeb_lmdb_read_begin (self->lmdb, &txn))
        return -1;
    MDB_cursor *cursor;
    mdb_cursor_open (txn, self->rules_db, &cursor);
    MDB_val key, value;
    int rc = mdb_cursor_get (cursor, &key, &value, MDB_FIRST);
    while (rc == 0) {
        zeb_fault_t fault = { 0 };
        zeb_rule_t *rule = zeb_rule_new ((const char *) value.mv_data, value.mv_size, &fault);
        if (rule)
            zeb_ruleset_put (self->rules, &rule);
        else
            zsys_warning ("automation: stored rule %.*s no longer compiles: %s",
                          (int) key.mv_size, (char *) key.mv_data, fault.text);
        rc = mdb_cursor_get (cursor, &key, &value, MDB_NEXT);
    }
    mdb_cursor_close (cursor);
    MDB_val lookup = { 6, (void *) "cursor" };
    if (mdb_get (txn, self->meta_db, &lookup, &value) == 0 && value.mv_size == 8)
        self->local_position = s_read_be64 (value.mv_data);
    zeb_lmdb_read_end (self->lmdb, txn);
    return 0;
}

//  ---------------------------------------------------------------------
//  Evaluation

//  Send the ENQUEUE in hand (again) with a new tag
static void
s_batch_send (self_t *self)
{
    uint8_t tag [ZEB_PROTO_TAG_SIZE];
    self->batch_tag = zeb_proto_tag_next (&self->tags, S_TAG_KIND, tag);
    self->batch_deadline = s_now_ms () + self->timeout;
    self->retry_at = 0;
    if (zeb_proto_send_until (zsock_resolve (self->outbox), "ENQUEUE", self->batch.data,
                              self->batch.size, tag, 0))
        self->retry_at = s_now_ms () + S_BACKOFF;     //  queue full: the outbox is away
}

//  One run of rule for the event into the open runs array
static void
s_add_run (self_t *self, zeb_pack_t *runs, zeb_rule_t *rule, const zeb_event_view_t *view,
           bool matched)
{
    if (self->scratch.size == 0) {
        //  The event as the log keeps it, with its sequence
        zeb_event_view_t copy = *view;
        size_t offset;
        if (zeb_event_view_encode (&copy, &self->scratch, &offset))
            return;
    }
    char sequence [24], hex [33];
    snprintf (sequence, sizeof (sequence), "%" PRIu64, view->sequence);
    zeb_outbox_run_id (zeb_rule_id (rule), sequence, zeb_outbox_run_order (view), hex);
    zeb_pack_map (runs, NULL);
    zeb_pack_str (runs, "id", hex);
    zeb_pack_str (runs, "origin", zeb_rule_id (rule));
    zeb_pack_str (runs, "kind", "automation");
    zeb_pack_raw (runs, "event", self->scratch.data, self->scratch.size);
    if (matched)
        zeb_rule_render (rule, view, runs, "actions");
    else {
        zeb_pack_array (runs, "actions");
        zeb_pack_end (runs);
    }
    zeb_pack_bool (runs, "continueOnError", zeb_rule_continue_on_error (rule));
    zeb_pack_bool (runs, "conditionsMatched", matched);
    zeb_pack_end (runs);
    self->batch_runs++;
}

//  Take events while no ENQUEUE is in flight, up to a batch
static void
s_evaluate (self_t *self)
{
    if (!self->consumer || self->batch_tag || self->retry_at)
        return;
    msgpack_sbuffer_clear (&self->batch);
    self->batch_runs = 0;
    zeb_pack_t pack;
    zeb_pack_init (&pack, &self->batch);
    zeb_pack_map (&pack, NULL);
    zeb_pack_array (&pack, "runs");
    size_t events = 0;
    zeb_rule_t *matches [ZEB_AUTOMATION_MAX_MATCH];
    zeb_rule_t *candidates [ZEB_AUTOMATION_MAX_MATCH];
    //  One event adds at most ZEB_AUTOMATION_MAX_MATCH runs: a batch holds
    //  fewer than batch + that (the defaults stay under outbox/max_enqueue)
    while (events < S_MAX_EVENTS && (int64_t) self->batch_runs < self->batch_max) {
        zeb_event_t *event = zeb_consumer_next (self->consumer);
        if (!event)
            break;
        events++;
        zeb_event_view_t *view = zeb_event_view (event);
        msgpack_sbuffer_clear (&self->scratch);
        size_t count = zeb_ruleset_match (self->rules, view, matches, ZEB_AUTOMATION_MAX_MATCH);
        if (count > ZEB_AUTOMATION_MAX_MATCH) {
            zsys_warning ("automation: event %" PRIu64 " matches %zu rules; the first %d run",
                          view->sequence, count, ZEB_AUTOMATION_MAX_MATCH);
            count = ZEB_AUTOMATION_MAX_MATCH;
        }
        for (size_t index = 0; index < count; index++)
            s_add_run (self, &pack, matches [index], view, true);
        if (self->log_skipped) {
            zeb_str_t type = view->attr [ZEB_ATTR_TYPE];
            size_t total = zeb_ruleset_candidates (self->rules, type.ptr, type.len, candidates,
                                                   ZEB_AUTOMATION_MAX_MATCH);
            if (total > ZEB_AUTOMATION_MAX_MATCH)
                total = ZEB_AUTOMATION_MAX_MATCH;
            for (size_t index = 0; index < total; index++) {
                bool matched = false;
                for (size_t other = 0; other < count && !matched; other++)
                    matched = matches [other] == candidates [index];
                if (!matched) {
                    s_add_run (self, &pack, candidates [index], view, false);
                    self->skipped++;
                }
            }
        }
        zeb_event_destroy (&event);
    }
    zeb_pack_end (&pack);
    if (events == 0)
        return;
    self->events += events;
    uint64_t position = zeb_consumer_position (self->consumer);
    if (self->batch_runs == 0) {
        self->position = position;
        s_cursor_flush (self, false);
        return;
    }
    zeb_pack_map (&pack, "cursor");
    zeb_pack_str (&pack, "name", ZEB_AUTOMATION_CURSOR);
    zeb_pack_uint (&pack, "position", position);
    zeb_pack_end (&pack);
    zeb_pack_end (&pack);
    self->batch_position = position;
    self->enqueues++;
    s_batch_send (self);
}

static void
s_cursor_send (self_t *self)
{
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    zeb_pack_t pack;
    zeb_pack_init (&pack, &body);
    zeb_pack_map (&pack, NULL);
    zeb_pack_str (&pack, "name", ZEB_AUTOMATION_CURSOR);
    zeb_pack_end (&pack);
    uint8_t tag [ZEB_PROTO_TAG_SIZE];
    self->cursor_tag = zeb_proto_tag_next (&self->tags, S_TAG_KIND, tag);
    self->cursor_deadline = s_now_ms () + self->timeout;
    zeb_proto_send_until (zsock_resolve (self->outbox), "CURSOR", body.data, body.size, tag, 0);
    msgpack_sbuffer_destroy (&body);
}

static int
s_handle_consumer (void *arg)
{
    self_t *self = (self_t *) arg;
    zeb_consumer_handle (self->consumer);
    s_evaluate (self);
    return 0;
}

//  The cursor is known: read the log from there
static void
s_consume_from (self_t *self, uint64_t position)
{
    self->position = position > self->local_position? position: self->local_position;
    self->consumer = zeb_consumer_new (self->log_endpoint, self->position);
    if (!self->consumer) {
        zsys_error ("automation: cannot read the log at %s", self->log_endpoint);
        return;
    }
    zeb_consumer_set_wait (self->consumer, 1000);
    zeb_consumer_set_batch (self->consumer, S_FETCH);
    zeb_loop_add_socket (zeb_actor_loop (self->actor), zeb_consumer_socket (self->consumer),
                         s_handle_consumer, self);
    zeb_info ("automation: %zu rules (%zu enabled), reading the log from %" PRIu64,
              zeb_ruleset_size (self->rules), zeb_ruleset_enabled (self->rules), self->position);
    s_evaluate (self);
}

//  Replies from the outbox
static int
s_handle_outbox (void *arg)
{
    self_t *self = (self_t *) arg;
    for (int count = 0; count < 64; count++) {
        zeb_proto_reply_t reply;
        if (zeb_proto_reply_recv (zsock_resolve (self->outbox), &reply, 0))
            return 0;
        uint64_t counter = 0;
        size_t size;
        const void *body = zeb_proto_reply_body (&reply, &size);
        if (!zeb_proto_reply_tag (&reply, S_TAG_KIND, &counter) || counter == 0) {
            //  Not ours, or late: dropped
        }
        else
        if (counter == self->cursor_tag) {
            uint64_t position = 0;
            if (zeb_proto_reply_is (&reply, "CURSOR")
            &&  zeb_proto_get_uint (body, size, "position", &position) == 0) {
                self->cursor_tag = 0;
                s_consume_from (self, position);
            }
        }
        else
        if (counter == self->batch_tag) {
            self->batch_tag = 0;
            if (zeb_proto_reply_is (&reply, "ENQUEUED")) {
                self->backoff = S_BACKOFF;
                self->runs += self->batch_runs;
                self->position = self->batch_position;
                zeb_proto_reply_close (&reply);
                s_evaluate (self);
                continue;
            }
            zeb_fault_t fault = { 0 };
            int64_t index = -1;
            if (body && zeb_proto_parse_nack (body, size, &fault, &index) == 0)
                zsys_warning ("automation: ENQUEUE refused (run %" PRId64 "): %s", index, fault.text);
            //  Again later, the same runs (OVERLOADED, STORAGE_FULL pass)
            self->refused_enqueues++;
            self->retry_at = s_now_ms () + self->backoff;
            self->backoff = self->backoff * 2 < S_BACKOFF_MAX? self->backoff * 2: S_BACKOFF_MAX;
        }
        zeb_proto_reply_close (&reply);
    }
    return 1;
}

static int
s_tick (void *arg)
{
    self_t *self = (self_t *) arg;
    int64_t now = s_now_ms ();
    if (self->cursor_tag && now >= self->cursor_deadline)
        s_cursor_send (self);
    if (self->batch_tag && now >= self->batch_deadline) {
        self->resends++;
        s_batch_send (self);
    }
    if (self->retry_at && now >= self->retry_at) {
        self->resends++;
        s_batch_send (self);
    }
    if (self->consumer && !self->batch_tag && !self->retry_at) {
        if (zeb_consumer_next_timeout (self->consumer) == 0) {
            zeb_consumer_handle (self->consumer);
            s_evaluate (self);
        }
        s_cursor_flush (self, false);
    }
    int64_t wait = 1000;
    if (self->cursor_tag)
        wait = self->cursor_deadline - now;
    if (self->batch_tag && self->batch_deadline - now < wait)
        wait = self->batch_deadline - now;
    if (self->retry_at && self->retry_at - now < wait)
        wait = self->retry_at - now;
    if (self->consumer && !self->batch_tag && !self->retry_at) {
        int64_t consumer = zeb_consumer_next_timeout (self->consumer);
        if (consumer < wait)
            wait = consumer;
        if (self->position > self->local_position && S_CURSOR_EVERY < wait)
            wait = S_CURSOR_EVERY;
    }
    return wait < 0? 0: (int) wait;
}

//  ---------------------------------------------------------------------
//  Admin verbs

//  Warnings into the open pack as an array under key
static void
s_pack_warnings (zeb_pack_t *pack, const char *key, zeb_rule_warning_t *warnings, size_t count)
{
    zeb_pack_array (pack, key);
    for (size_t index = 0; index < count; index++) {
        zeb_pack_map (pack, NULL);
        zeb_pack_str (pack, "path", warnings [index].path);
        zeb_pack_str (pack, "field", warnings [index].field);
        zeb_pack_str (pack, "reason", warnings [index].reason);
        zeb_pack_end (pack);
    }
    zeb_pack_end (pack);
}

//  Check a rule against its trigger type's schema; the number of warnings
static size_t
s_check (self_t *self, zeb_rule_t *rule, zeb_rule_warning_t *warnings, size_t max)
{
    const char *trigger = zeb_rule_trigger (rule);
    if (!self->registry || strchr (trigger, '*'))
        return 0;
    json_t *reply = NULL;
    zeb_fault_t fault = { 0 };
    if (zeb_registry_client_get (self->registry, trigger, 0, &reply, &fault)) {
        json_decref (reply);
        return 0;               //  no schema (or no registry): nothing to check against
    }
    size_t count = 0;
    const char *text = json_string_value (json_object_get (reply, "schema"));
    zeb_schema_t *schema = text? zeb_schema_new (text, strlen (text), &fault): NULL;
    if (schema)
        count = zeb_rule_check (rule, schema, warnings, max);
    zeb_schema_destroy (&schema);
    json_decref (reply);
    return count;
}

static void
s_handle_put (void *owner, zeb_request_t *request)
{
    self_t *self = (self_t *) owner;
    char by [129] = "";
    json_t *json = s_get_json (request, "rule");
    if (!json_is_object (json) || s_get_str (request, "by", by, sizeof (by)) < 0) {
        json_decref (json);
        self->refused++;
        zeb_router_nack (request, ZEB_EINVALID, "PUT needs rule (an object) and optionally by (a name)");
        return;
    }
    //  The id: given, or a new UUIDv7
    char id [S_MAX_ID + 1];
    json_t *given = json_object_get (json, "id");
    if (given) {
        if (!json_is_string (given) || !s_id_valid (json_string_value (given))) {
            json_decref (json);
            self->refused++;
            zeb_router_nack (request, ZEB_EINVALID, "id: 1..%d letters, digits, '.', '_', ':' or '-'",
                             S_MAX_ID);
            return;
        }
        snprintf (id, sizeof (id), "%s", json_string_value (given));
    }
    else {
        zeb_uuid_v7_str (id);
        json_object_set_new (json, "id", json_string (id));
    }
    zeb_rule_t *existing = zeb_ruleset_lookup (self->rules, id);
    if (!existing && (int64_t) zeb_ruleset_size (self->rules) >= self->max_rules) {
        json_decref (json);
        self->refused++;
        zeb_router_nack (request, ZEB_EFULL, "%zu rules stored (automation/max_rules)",
                         zeb_ruleset_size (self->rules));
        return;
    }
    //  Who and when: createdAt and createdBy stay those of the first version
    char now [40];
    zeb_time_format (zeb_time_now (), now);
    json_t *previous = existing? zeb_rule_json (existing): NULL;
    json_t *created = previous? json_object_get (previous, "createdAt"): NULL;
    json_object_set_new (json, "createdAt", created? json_incref (created): json_string (now));
    json_t *creator = previous? json_object_get (previous, "createdBy"): NULL;
    if (creator)
        json_object_set (json, "createdBy", creator);
    else
    if (*by && !json_object_get (json, "createdBy"))
        json_object_set_new (json, "createdBy", json_string (by));
    json_object_set_new (json, "updatedAt", json_string (now));
    zeb_fault_t fault = { 0 };
    zeb_rule_t *rule = zeb_rule_new_json (json, &fault);
    json_decref (json);
    if (!rule) {
        self->refused++;
        zeb_router_nack (request, fault.code? fault.code: ZEB_EINVALID, "%s", fault.text);
        return;
    }
    zeb_rule_warning_t warnings [S_MAX_WARNINGS];
    size_t count = s_check (self, rule, warnings, S_MAX_WARNINGS);
    size_t shown = count < S_MAX_WARNINGS? count: S_MAX_WARNINGS;
    self->warnings += count;
    if (count && self->strict_paths) {
        self->refused++;
        msgpack_sbuffer extra;
        msgpack_sbuffer_init (&extra);
        //  One entry of the NACK's map: "warnings" and its array
        msgpack_packer packer;
        msgpack_packer_init (&packer, &extra, msgpack_sbuffer_write);
        msgpack_pack_str_with_body (&packer, "warnings", 8);
        zeb_pack_t pack;
        zeb_pack_init (&pack, &extra);
        s_pack_warnings (&pack, NULL, warnings, shown);
        char text [400];
        snprintf (text, sizeof (text), "%s: %s (and %zu more; automation/strict_paths is on)",
                  warnings [0].path, warnings [0].reason, count - 1);
        zeb_router_nack_with (request, ZEB_ESCHEMA, -1, extra.data, extra.size, 1, text);
        msgpack_sbuffer_destroy (&extra);
        zeb_rule_destroy (&rule);
        return;
    }
    uint64_t version;
    int rc = s_change (self, id, "put", *by? by: "", zeb_rule_text (rule), &version);
    if (rc) {
        zeb_rule_destroy (&rule);
        zeb_router_nack (request, rc, "the rule could not be stored");
        return;
    }
    zeb_ruleset_put (self->rules, &rule);
    self->puts++;
    msgpack_sbuffer *buffer = zeb_router_buffer (self->router);
    zeb_pack_t pack;
    zeb_pack_init (&pack, buffer);
    zeb_pack_map (&pack, NULL);
    zeb_pack_str (&pack, "id", id);
    zeb_pack_uint (&pack, "version", version);
    zeb_pack_bool (&pack, "created", existing == NULL);
    s_pack_warnings (&pack, "warnings", warnings, shown);
    zeb_pack_end (&pack);
    zeb_router_reply_buffer (request, "PUT", buffer);
}

//  A stored version of a rule: its record (caller frees) or NULL
static uint8_t *
s_version_get (self_t *self, const char *id, uint64_t version, size_t *size)
{
    MDB_txn *txn;
    if (zeb_lmdb_read_begin (self->lmdb, &txn))
        return NULL;
    uint8_t key [S_MAX_ID + 9];
    size_t key_size;
    s_version_key (id, version, key, &key_size);
    MDB_val lookup = { key_size, key }, value;
    uint8_t *record = NULL;
    if (mdb_get (txn, self->versions_db, &lookup, &value) == 0) {
        record = (uint8_t *) malloc (value.mv_size);
        assert (record);
        memcpy (record, value.mv_data, value.mv_size);
        *size = value.mv_size;
    }
    zeb_lmdb_read_end (self->lmdb, txn);
    return record;
}

static void
s_pack_rule (zeb_pack_t *pack, const char *key, zeb_rule_t *rule)
{
    s_pack_json (pack, key, zeb_rule_json (rule));
}

static void
s_handle_get (void *owner, zeb_request_t *request)
{
    self_t *self = (self_t *) owner;
    char id [S_MAX_ID + 1];
    if (!s_request_id (request, id))
        return;
    uint64_t version = 0;
    zeb_proto_get_uint (request->body, request->body_size, "version", &version);
    msgpack_sbuffer *buffer = zeb_router_buffer (self->router);
    zeb_pack_t pack;
    zeb_pack_init (&pack, buffer);
    zeb_pack_map (&pack, NULL);
    if (version) {
        size_t size;
        uint8_t *record = s_version_get (self, id, version, &size);
        const char *text;
        size_t len;
        if (!record || zeb_proto_get_str (record, size, "rule", &text, &len) != 0) {
            free (record);
            zeb_router_nack (request, ZEB_ENOTFOUND, "no version %" PRIu64 " of rule %s", version, id);
            return;
        }
        json_t *json = zeb_json_parse (text, len, NULL);
        s_pack_json (&pack, "rule", json);
        json_decref (json);
        free (record);
    }
    else {
        zeb_rule_t *rule = zeb_ruleset_lookup (self->rules, id);
        if (!rule) {
            zeb_router_nack (request, ZEB_ENOTFOUND, "no rule %s", id);
            return;
        }
        s_pack_rule (&pack, "rule", rule);
        MDB_txn *txn;
        if (zeb_lmdb_read_begin (self->lmdb, &txn) == 0) {
            version = s_latest_version (self, txn, id);
            zeb_lmdb_read_end (self->lmdb, txn);
        }
    }
    zeb_pack_uint (&pack, "version", version);
    zeb_pack_end (&pack);
    zeb_router_reply_buffer (request, "GET", buffer);
}

typedef struct {
    zeb_pack_t *pack;
    const char *type;               //  trigger exactly, or NULL
    const char *event;              //  rules an event of this type triggers, or NULL
    int enabled;                    //  -1 any, 0 disabled, 1 enabled
    const char *after;              //  ids after this one only
    size_t limit;
    size_t count;
    const char *last;
    bool more;
} s_list_t;

static int
s_list_one (zeb_rule_t *rule, void *arg)
{
    s_list_t *list = (s_list_t *) arg;
    if (*list->after && strcmp (zeb_rule_id (rule), list->after) <= 0)
        return 0;
    if (list->type && !streq (zeb_rule_trigger (rule), list->type))
        return 0;
    if (list->event && !zeb_rule_triggered_by (rule, list->event, strlen (list->event)))
        return 0;
    if (list->enabled >= 0 && zeb_rule_enabled (rule) != (list->enabled == 1))
        return 0;
    if (list->count == list->limit) {
        list->more = true;
        return 1;
    }
    s_pack_rule (list->pack, NULL, rule);
    list->count++;
    list->last = zeb_rule_id (rule);
    return 0;
}

static void
s_handle_list (void *owner, zeb_request_t *request)
{
    self_t *self = (self_t *) owner;
    char type [ZEB_EVENT_MAX_TYPE + 1], event [ZEB_EVENT_MAX_TYPE + 1], after [S_MAX_ID + 1] = "";
    int has_type = s_get_str (request, "type", type, sizeof (type));
    int has_event = s_get_str (request, "event", event, sizeof (event));
    uint64_t limit = 100;
    bool enabled = false;
    int has_enabled = zeb_proto_get_bool (request->body, request->body_size, "enabled", &enabled);
    int has_limit = zeb_proto_get_uint (request->body, request->body_size, "limit", &limit);
    if (has_type < 0 || has_event < 0 || s_get_str (request, "after", after, sizeof (after)) < 0
    ||  has_limit < 0 || limit == 0 || limit > 1000 || has_enabled < 0) {
        zeb_router_nack (request, ZEB_EINVALID, "LIST takes type (a trigger), event (a type its rules "
                         "trigger on), enabled (bool), limit (1..1000), after (an id)");
        return;
    }
    msgpack_sbuffer *buffer = zeb_router_buffer (self->router);
    zeb_pack_t pack;
    zeb_pack_init (&pack, buffer);
    zeb_pack_map (&pack, NULL);
    zeb_pack_array (&pack, "items");
    s_list_t list = { &pack, has_type == 0? type: NULL, has_event == 0? event: NULL,
                      has_enabled == 0? (int) enabled: -1, after, (size_t) limit, 0, NULL, false };
    zeb_ruleset_each (self->rules, s_list_one, &list);
    zeb_pack_end (&pack);
    zeb_pack_uint (&pack, "total", zeb_ruleset_size (self->rules));
    if (list.more && list.last)
        zeb_pack_str (&pack, "next", list.last);
    zeb_pack_end (&pack);
    zeb_router_reply_buffer (request, "LIST", buffer);
}

static void
s_handle_delete (void *owner, zeb_request_t *request)
{
    self_t *self = (self_t *) owner;
    char id [S_MAX_ID + 1], by [129] = "";
    if (!s_request_id (request, id))
        return;
    s_get_str (request, "by", by, sizeof (by));
    if (!zeb_ruleset_lookup (self->rules, id)) {
        zeb_router_nack (request, ZEB_ENOTFOUND, "no rule %s", id);
        return;
    }
    uint64_t version;
    int rc = s_change (self, id, "delete", by, NULL, &version);
    if (rc) {
        zeb_router_nack (request, rc, "the deletion could not be stored");
        return;
    }
    zeb_ruleset_remove (self->rules, id);
    self->deletes++;
    msgpack_sbuffer *buffer = zeb_router_buffer (self->router);
    zeb_pack_t pack;
    zeb_pack_init (&pack, buffer);
    zeb_pack_map (&pack, NULL);
    zeb_pack_str (&pack, "id", id);
    zeb_pack_uint (&pack, "version", version);
    zeb_pack_end (&pack);
    zeb_router_reply_buffer (request, "DELETE", buffer);
}

static void
s_handle_enable_as (self_t *self, zeb_request_t *request, bool enabled)
{
    char id [S_MAX_ID + 1], by [129] = "";
    if (!s_request_id (request, id))
        return;
    s_get_str (request, "by", by, sizeof (by));
    zeb_rule_t *rule = zeb_ruleset_lookup (self->rules, id);
    if (!rule) {
        zeb_router_nack (request, ZEB_ENOTFOUND, "no rule %s", id);
        return;
    }
    bool was = zeb_rule_enabled (rule);
    uint64_t version = 0;
    if (was != enabled) {
        char now [40];
        zeb_time_format (zeb_time_now (), now);
        //  Through the set, which reindexes
        zeb_ruleset_enable (self->rules, id, enabled);
        zeb_rule_set_field (rule, "updatedAt", now);
        int rc = s_change (self, id, enabled? "enable": "disable", by, zeb_rule_text (rule), &version);
        if (rc) {
            zeb_ruleset_enable (self->rules, id, was);
            zeb_router_nack (request, rc, "the change could not be stored");
            return;
        }
    }
    msgpack_sbuffer *buffer = zeb_router_buffer (self->router);
    zeb_pack_t pack;
    zeb_pack_init (&pack, buffer);
    zeb_pack_map (&pack, NULL);
    zeb_pack_str (&pack, "id", id);
    zeb_pack_bool (&pack, "enabled", enabled);
    zeb_pack_bool (&pack, "changed", was != enabled);
    if (version)
        zeb_pack_uint (&pack, "version", version);
    zeb_pack_end (&pack);
    zeb_router_reply_buffer (request, enabled? "ENABLE": "DISABLE", buffer);
}

static void
s_handle_enable (void *owner, zeb_request_t *request)
{
    s_handle_enable_as ((self_t *) owner, request, true);
}

static void
s_handle_disable (void *owner, zeb_request_t *request)
{
    s_handle_enable_as ((self_t *) owner, request, false);
}

static void
s_handle_history (void *owner, zeb_request_t *request)
{
    self_t *self = (self_t *) owner;
    char id [S_MAX_ID + 1];
    if (!s_request_id (request, id))
        return;
    uint64_t limit = 100;
    zeb_proto_get_uint (request->body, request->body_size, "limit", &limit);
    if (limit == 0 || limit > 1000)
        limit = 100;
    MDB_txn *txn;
    if (zeb_lmdb_read_begin (self->lmdb, &txn)) {
        zeb_router_nack (request, ZEB_ESTORAGE, "the store cannot be read");
        return;
    }
    msgpack_sbuffer *buffer = zeb_router_buffer (self->router);
    zeb_pack_t pack;
    zeb_pack_init (&pack, buffer);
    zeb_pack_map (&pack, NULL);
    zeb_pack_str (&pack, "id", id);
    zeb_pack_array (&pack, "items");
    size_t count = 0;
    uint64_t version = s_latest_version (self, txn, id);
    //  Newest first
    for (; version > 0 && count < limit; version--) {
        uint8_t key [S_MAX_ID + 9];
        size_t key_size;
        s_version_key (id, version, key, &key_size);
        MDB_val lookup = { key_size, key }, value;
        if (mdb_get (txn, self->versions_db, &lookup, &value))
            continue;
        const char *text;
        size_t text_len;
        zeb_pack_map (&pack, NULL);
        zeb_mpk_t reader;
        zeb_mpk_init (&reader, value.mv_data, value.mv_size);
        uint32_t entries;
        if (zeb_mpk_read_map (&reader, &entries) == 0)
            for (uint32_t entry = 0; entry < entries; entry++) {
                const char *name;
                uint32_t name_len;
                const uint8_t *span;
                size_t span_size;
                if (zeb_mpk_read_str (&reader, &name, &name_len) || zeb_mpk_skip (&reader, &span, &span_size))
                    break;
                char field [16];
                snprintf (field, sizeof (field), "%.*s", (int) name_len, name);
                if (streq (field, "rule")
                &&  zeb_proto_get_str (value.mv_data, value.mv_size, "rule", &text, &text_len) == 0) {
                    json_t *json = zeb_json_parse (text, text_len, NULL);
                    s_pack_json (&pack, "rule", json);
                    json_decref (json);
                }
                else
                    zeb_pack_raw (&pack, field, span, span_size);
            }
        zeb_pack_end (&pack);
        count++;
    }
    zeb_lmdb_read_end (self->lmdb, txn);
    zeb_pack_end (&pack);
    zeb_pack_end (&pack);
    if (count == 0) {
        msgpack_sbuffer_clear (buffer);
        zeb_router_nack (request, ZEB_ENOTFOUND, "no rule %s was ever stored", id);
        return;
    }
    zeb_router_reply_buffer (request, "HISTORY", buffer);
}

static void
s_handle_logs (void *owner, zeb_request_t *request)
{
    self_t *self = (self_t *) owner;
    char id [S_MAX_ID + 1], type [ZEB_EVENT_MAX_TYPE + 1], before [64] = "";
    int has_id = s_get_str (request, "id", id, sizeof (id));
    int has_type = s_get_str (request, "type", type, sizeof (type));
    uint64_t limit = 0;
    zeb_proto_get_uint (request->body, request->body_size, "limit", &limit);
    if (s_get_str (request, "before", before, sizeof (before)) < 0
    ||  has_id < 0 || has_type < 0 || (has_id == 0) == (has_type == 0) || limit > 1000) {
        zeb_router_nack (request, ZEB_EINVALID, "LOGS needs id (a rule) or type (an event type), "
                         "limit 0..1000, before (optional)");
        return;
    }
    if (!self->logs) {
        zeb_router_nack (request, ZEB_EUNREACHABLE, "this node has no outbox");
        return;
    }
    json_t *reply = NULL;
    zeb_fault_t fault = { 0 };
    int rc = zeb_outbox_client_logs (self->logs, has_id == 0? id: NULL, has_type == 0? type: NULL,
                                     (uint32_t) limit, before, &reply, &fault);
    if (rc) {
        json_decref (reply);
        zeb_router_nack (request, rc, "outbox: %s", fault.text);
        return;
    }
    //  Only automations' logs when asked by type (handlers log there too)
    msgpack_sbuffer *buffer = zeb_router_buffer (self->router);
    zeb_pack_t pack;
    zeb_pack_init (&pack, buffer);
    zeb_pack_map (&pack, NULL);
    zeb_pack_array (&pack, "items");
    size_t index;
    json_t *item;
    json_array_foreach (json_object_get (reply, "items"), index, item) {
        const char *origin = json_string_value (json_object_get (item, "origin"));
        if (has_type == 0 && (!origin || !zeb_ruleset_lookup (self->rules, origin)))
            continue;
        s_pack_json (&pack, NULL, item);
    }
    zeb_pack_end (&pack);
    json_t *next = json_object_get (reply, "next");
    if (json_is_string (next))
        zeb_pack_str (&pack, "next", json_string_value (next));
    zeb_pack_end (&pack);
    json_decref (reply);
    zeb_router_reply_buffer (request, "LOGS", buffer);
}

//  The rule a TEST or BACKTEST names: given (compiled, *owned true) or
//  stored by id; NULL when NACKed
static zeb_rule_t *
s_request_rule (self_t *self, zeb_request_t *request, bool *owned)
{
    *owned = false;
    json_t *json = s_get_json (request, "rule");
    if (json) {
        if (!json_object_get (json, "id"))
            json_object_set_new (json, "id", json_string ("test"));
        zeb_fault_t fault = { 0 };
        zeb_rule_t *rule = zeb_rule_new_json (json, &fault);
        json_decref (json);
        if (!rule)
            zeb_router_nack (request, fault.code? fault.code: ZEB_EINVALID, "%s", fault.text);
        *owned = rule != NULL;
        return rule;
    }
    char id [S_MAX_ID + 1];
    if (s_get_str (request, "id", id, sizeof (id)) != 0) {
        zeb_router_nack (request, ZEB_EINVALID, "needs rule (an object) or id (a stored rule)");
        return NULL;
    }
    zeb_rule_t *rule = zeb_ruleset_lookup (self->rules, id);
    if (!rule)
        zeb_router_nack (request, ZEB_ENOTFOUND, "no rule %s", id);
    return rule;
}

static void
s_handle_test (void *owner, zeb_request_t *request)
{
    self_t *self = (self_t *) owner;
    zeb_mpk_t found;
    const uint8_t *span = NULL;
    size_t span_size = 0;
    if (zeb_mpk_find (request->body, request->body_size, "event", &found) == 0)
        zeb_mpk_skip (&found, &span, &span_size);
    if (!span) {
        zeb_router_nack (request, ZEB_EINVALID, "TEST needs event (an event as published) and rule or id");
        return;
    }
    zeb_fault_t fault = { 0 };
    zeb_event_t *event = zeb_event_decode (span, span_size, &fault);
    if (!event) {
        zeb_router_nack (request, fault.code? fault.code: ZEB_EINVALID, "event: %s", fault.text);
        return;
    }
    bool owned;
    zeb_rule_t *rule = s_request_rule (self, request, &owned);
    if (!rule) {
        zeb_event_destroy (&event);
        return;
    }
    self->tests++;
    zeb_event_view_t *view = zeb_event_view (event);
    zeb_str_t type = view->attr [ZEB_ATTR_TYPE];
    bool triggered = type.ptr && zeb_rule_triggered_by (rule, type.ptr, type.len);
    msgpack_sbuffer *buffer = zeb_router_buffer (self->router);
    zeb_pack_t pack;
    zeb_pack_init (&pack, buffer);
    zeb_pack_map (&pack, NULL);
    zeb_pack_str (&pack, "id", zeb_rule_id (rule));
    zeb_pack_bool (&pack, "triggered", triggered);
    bool matched = zeb_rule_explain (rule, view, &pack, "explain");
    zeb_pack_bool (&pack, "conditionsMatched", matched);
    zeb_pack_bool (&pack, "matched", triggered && matched && zeb_rule_enabled (rule));
    zeb_pack_bool (&pack, "enabled", zeb_rule_enabled (rule));
    zeb_rule_render (rule, view, &pack, "actions");
    zeb_pack_end (&pack);
    zeb_router_reply_buffer (request, "TEST", buffer);
    if (owned)
        zeb_rule_destroy (&rule);
    zeb_event_destroy (&event);
}

//  BACKTEST: read a range of the log through a consumer of its own,
//  evaluating one rule; nothing is executed. A rule given with the id of
//  a stored one is compared with it: each event the stored version
//  fires on and the new one does too is "fired", one only the new one
//  fires on is "wouldFire", one only the stored one fires on is
//  "wouldStop". One request scans at most automation/backtest_slice of
//  time (and maxEvents events), so live evaluation waits at most that
//  long; the reply's next, with complete false, is where to go on.
typedef struct {
    uint64_t scanned, matched, fired, would_fire, would_stop;
    uint64_t first, last;
} s_backtest_t;

static void
s_handle_backtest (void *owner, zeb_request_t *request)
{
    self_t *self = (self_t *) owner;
    uint64_t from = 0, to = UINT64_MAX, limit = 100, max_events = (uint64_t) self->backtest_max;
    int64_t since = INT64_MIN, until = INT64_MAX;
    if (zeb_proto_get_uint (request->body, request->body_size, "from", &from) < 0
    ||  zeb_proto_get_uint (request->body, request->body_size, "to", &to) < 0
    ||  zeb_proto_get_int (request->body, request->body_size, "since", &since) < 0
    ||  zeb_proto_get_int (request->body, request->body_size, "until", &until) < 0
    ||  zeb_proto_get_uint (request->body, request->body_size, "limit", &limit) < 0
    ||  zeb_proto_get_uint (request->body, request->body_size, "maxEvents", &max_events) < 0
    ||  limit > 1000 || from > to || since > until || max_events == 0) {
        zeb_router_nack (request, ZEB_EINVALID, "BACKTEST takes from <= to (sequences), since <= until "
                         "(ms), limit 0..1000 (events listed), maxEvents >= 1");
        return;
    }
    if (max_events > (uint64_t) self->backtest_max)
        max_events = (uint64_t) self->backtest_max;
    if (!self->log_endpoint) {
        zeb_router_nack (request, ZEB_EUNREACHABLE, "this node has no log");
        return;
    }
    bool owned;
    zeb_rule_t *rule = s_request_rule (self, request, &owned);
    if (!rule)
        return;
    //  The stored version, when a new one of a stored rule is tried
    zeb_rule_t *stored = owned? zeb_ruleset_lookup (self->rules, zeb_rule_id (rule)): NULL;
    self->backtests++;
    zeb_consumer_t *consumer = zeb_consumer_new (self->log_endpoint, from);
    zeb_consumer_set_wait (consumer, 0);
    zeb_consumer_set_batch (consumer, 1000);
    //  Only the types the rules can see: the log filters them
    char types [2 * ZEB_EVENT_MAX_TYPE + 2] = "";
    const char *triggers [2] = { zeb_rule_trigger (rule), stored? zeb_rule_trigger (stored): NULL };
    bool every = false;
    for (size_t index = 0; index < 2 && triggers [index]; index++) {
        size_t len = strcspn (triggers [index], "*");
        every |= len == 0;
        size_t used = strlen (types);
        snprintf (types + used, sizeof (types) - used, "%s%.*s", used? ",": "", (int) len, triggers [index]);
    }
    if (!every)
        zeb_consumer_set_types (consumer, types);
    msgpack_sbuffer *buffer = zeb_router_buffer (self->router);
    zeb_pack_t pack;
    zeb_pack_init (&pack, buffer);
    zeb_pack_map (&pack, NULL);
    zeb_pack_array (&pack, "items");
    s_backtest_t tally = { 0 };
    uint64_t listed = 0;
    bool complete = false, stalled = false;
    int64_t started = s_now_ms (), deadline = started + self->backtest_slice;
    zpoller_t *poller = zpoller_new (zeb_consumer_socket (consumer), NULL);
    while (tally.scanned < max_events && s_now_ms () < deadline) {
        zeb_event_t *event = zeb_consumer_next (consumer);
        if (!event) {
            if (zeb_consumer_caught_up (consumer) || zeb_consumer_position (consumer) > to) {
                complete = true;
                break;
            }
            if (zeb_consumer_error (consumer)) {
                stalled = true;
                break;
            }
            int64_t left = deadline - s_now_ms ();
            int wait = zeb_consumer_next_timeout (consumer);
            zpoller_wait (poller, left < wait? (int) (left > 0? left: 0): wait);
            zeb_consumer_handle (consumer);
            continue;
        }
        zeb_event_view_t *view = zeb_event_view (event);
        if (view->sequence > to) {
            zeb_event_destroy (&event);
            complete = true;
            break;
        }
        tally.scanned++;
        tally.last = view->sequence;
        zeb_str_t type = view->attr [ZEB_ATTR_TYPE];
        bool in_time = !view->has_time || (view->time >= since && view->time <= until);
        bool now = in_time && type.ptr && zeb_rule_triggered_by (rule, type.ptr, type.len)
                && zeb_rule_match (rule, view);
        bool before = stored && in_time && zeb_rule_enabled (stored) && type.ptr
                   && zeb_rule_triggered_by (stored, type.ptr, type.len) && zeb_rule_match (stored, view);
        const char *change = NULL;
        if (now) {
            if (tally.matched == 0)
                tally.first = view->sequence;
            tally.matched++;
            if (stored) {
                change = before? "fired": "wouldFire";
                if (before)
                    tally.fired++;
                else
                    tally.would_fire++;
            }
        }
        else
        if (before) {
            change = "wouldStop";
            tally.would_stop++;
        }
        if ((now || before) && listed < limit) {
            listed++;
            zeb_pack_map (&pack, NULL);
            zeb_pack_uint (&pack, "sequence", view->sequence);
            zeb_str_t event_id = view->attr [ZEB_ATTR_ID];
            zeb_pack_strn (&pack, "eventId", event_id.ptr? event_id.ptr: "", event_id.len);
            zeb_pack_strn (&pack, "eventType", type.ptr, type.len);
            if (view->has_time)
                zeb_pack_int (&pack, "time", view->time);
            if (change)
                zeb_pack_str (&pack, "change", change);
            zeb_rule_render (now? rule: stored, view, &pack, "actions");
            zeb_pack_end (&pack);
        }
        zeb_event_destroy (&event);
    }
    zpoller_destroy (&poller);
    zeb_pack_end (&pack);
    zeb_pack_str (&pack, "id", zeb_rule_id (rule));
    zeb_pack_uint (&pack, "scanned", tally.scanned);
    zeb_pack_uint (&pack, "matched", tally.matched);
    if (stored) {
        zeb_pack_map (&pack, "changes");
        zeb_pack_uint (&pack, "fired", tally.fired);
        zeb_pack_uint (&pack, "wouldFire", tally.would_fire);
        zeb_pack_uint (&pack, "wouldStop", tally.would_stop);
        zeb_pack_end (&pack);
    }
    if (tally.matched) {
        zeb_pack_uint (&pack, "firstMatch", tally.first);
    }
    zeb_pack_uint (&pack, "from", from);
    if (tally.scanned)
        zeb_pack_uint (&pack, "last", tally.last);
    uint64_t next = zeb_consumer_position (consumer);
    zeb_pack_uint (&pack, "next", next > from? next: from);
    zeb_pack_uint (&pack, "missed", zeb_consumer_missed (consumer));
    zeb_pack_bool (&pack, "complete", complete);
    zeb_pack_bool (&pack, "truncated", (tally.matched + tally.would_stop) > listed);
    if (stalled)
        zeb_pack_str (&pack, "error", zeb_consumer_error_text (consumer));
    zeb_pack_uint (&pack, "durationMs", (uint64_t) (s_now_ms () - started));
    zeb_pack_end (&pack);
    zeb_consumer_destroy (&consumer);
    if (owned)
        zeb_rule_destroy (&rule);
    zeb_router_reply_buffer (request, "BACKTEST", buffer);
}

static const zeb_router_command_t s_commands [] = {
    { "PUT",        s_handle_put, 0 },
    { "GET",        s_handle_get, 0 },
    { "LIST",       s_handle_list, 0 },
    { "DELETE",     s_handle_delete, 0 },
    { "ENABLE",     s_handle_enable, 0 },
    { "DISABLE",    s_handle_disable, 0 },
    { "HISTORY",    s_handle_history, 0 },
    { "LOGS",       s_handle_logs, 0 },
    { "TEST",       s_handle_test, 0 },
    { "BACKTEST",   s_handle_backtest, 0 },
    { NULL }
};

//  ---------------------------------------------------------------------
//  The actor

static int
s_handle_front (void *arg)
{
    self_t *self = (self_t *) arg;
    return zeb_router_handle (self->router, 64);
}

static void
s_stop (void *state)
{
    self_t *self = (self_t *) state;
    if (self->lmdb)
        s_cursor_flush (self, true);
    zeb_consumer_destroy (&self->consumer);
    zeb_router_destroy (&self->router);
    zsock_destroy (&self->outbox);
    zeb_outbox_client_destroy (&self->logs);
    zeb_registry_client_destroy (&self->registry);
    zeb_ruleset_destroy (&self->rules);
    zeb_lmdb_close (&self->lmdb);
    msgpack_sbuffer_destroy (&self->batch);
    msgpack_sbuffer_destroy (&self->scratch);
    free (self->log_endpoint);
}

static int
s_start (void *state, zeb_actor_t *actor, zconfig_t *config, zeb_fault_t *fault)
{
    self_t *self = (self_t *) state;
    self->actor = actor;
    self->tags = 1;                 //  tag 0 means none in flight
    self->backoff = S_BACKOFF;
    msgpack_sbuffer_init (&self->batch);
    msgpack_sbuffer_init (&self->scratch);
    zeb_config_bool (config, "automation/strict_paths", &self->strict_paths);
    zeb_config_bool (config, "automation/log_skipped", &self->log_skipped);
    zeb_config_int (config, "automation/batch", &self->batch_max);
    zeb_config_int (config, "automation/max_rules", &self->max_rules);
    zeb_config_duration (config, "automation/timeout", &self->timeout);
    zeb_config_int (config, "automation/backtest_max", &self->backtest_max);
    zeb_config_duration (config, "automation/backtest_slice", &self->backtest_slice);
    uint64_t max_size = 0;
    zeb_config_size (config, "automation/max_size", &max_size);
    zeb_lmdb_options_t options = { 1 << 20, max_size, { "rules", "versions", "meta", NULL } };
    char *path = zsys_sprintf ("%s/automation", zeb_config_str (config, "node/data"));
    self->lmdb = zeb_lmdb_open (path, &options, fault);
    zstr_free (&path);
    if (!self->lmdb)
        goto failed;
    self->rules_db = zeb_lmdb_dbi (self->lmdb, 0);
    self->versions_db = zeb_lmdb_dbi (self->lmdb, 1);
    self->meta_db = zeb_lmdb_dbi (self->lmdb, 2);
    self->rules = zeb_ruleset_new ();
    if (s_load (self)) {
        zeb_fault_set (fault, ZEB_ESTORAGE, "automation: cannot read the rules");
        goto failed;
    }
    self->router = zeb_actor_router (actor, s_commands, self);
    if (!self->router
    ||  zeb_router_bind (self->router, zeb_config_str (config, "automation/endpoint"), fault))
        goto failed;
    const char *registry = zeb_config_str (config, "automation/registry");
    if (*registry) {
        self->registry = zeb_registry_client_new (registry);
        if (self->registry)
            zeb_registry_client_set_timeout (self->registry, 2000);
    }
    zeb_loop_t *loop = zeb_actor_loop (actor);
    zeb_loop_add_socket (loop, zeb_router_socket (self->router), s_handle_front, self);
    const char *log = zeb_config_str (config, "automation/log");
    const char *outbox = zeb_config_str (config, "automation/outbox");
    if (*log && *outbox) {
        self->log_endpoint = strdup (log);
        self->outbox = zeb_proto_dealer_new (outbox, 0, 0);
        self->logs = zeb_outbox_client_new (outbox);
        if (!self->outbox || !self->logs) {
            zeb_fault_set (fault, ZEB_ECONFIG, "automation: cannot connect to the outbox at %s", outbox);
            goto failed;
        }
        zeb_outbox_client_set_timeout (self->logs, 5000);
        zeb_loop_add_socket (loop, self->outbox, s_handle_outbox, self);
        zeb_loop_set_tick (loop, s_tick, self);
        s_cursor_send (self);
    }
    else
        zeb_info ("automation: no log or no outbox: rules are stored and tested, not run");
    zeb_actor_bound (actor, "automation", zeb_router_endpoint (self->router));
    return 0;
failed:
    return fault->code? fault->code: ZEB_ERROR;
}

static void
s_stats (void *state, zeb_pack_t *pack)
{
    self_t *self = (self_t *) state;
    zeb_pack_uint (pack, "rules", self->rules? zeb_ruleset_size (self->rules): 0);
    zeb_pack_uint (pack, "enabled", self->rules? zeb_ruleset_enabled (self->rules): 0);
    zeb_pack_uint (pack, "events", self->events);
    zeb_pack_uint (pack, "runs", self->runs);
    zeb_pack_uint (pack, "skipped", self->skipped);
    zeb_pack_uint (pack, "enqueues", self->enqueues);
    zeb_pack_uint (pack, "resends", self->resends);
    zeb_pack_uint (pack, "refused_enqueues", self->refused_enqueues);
    zeb_pack_uint (pack, "position", self->position);
    zeb_pack_bool (pack, "reading", self->consumer != NULL);
    zeb_pack_uint (pack, "puts", self->puts);
    zeb_pack_uint (pack, "deletes", self->deletes);
    zeb_pack_uint (pack, "refused", self->refused);
    zeb_pack_uint (pack, "warnings", self->warnings);
    zeb_pack_uint (pack, "tests", self->tests);
    zeb_pack_uint (pack, "backtests", self->backtests);
    if (self->rules) {
        zeb_ruleset_stats_t stats;
        zeb_ruleset_stats (self->rules, &stats);
        zeb_pack_uint (pack, "candidates", stats.candidates);
        zeb_pack_uint (pack, "matches", stats.matches);
    }
    if (self->router)
        zeb_router_pack_stats (self->router, pack);
}

static const zeb_actor_link_t s_links [] = {
    { "automation/log", "log" },
    { "automation/outbox", "outbox" },
    { "automation/registry", "registry" },
    { NULL }
};

const zeb_actor_def_t zeb_automation_def = {
    "automation", "rules over the log: when an event matches, runs through the outbox", true,
    zeb_automation_config, s_links, sizeof (self_t), s_start, s_stop, s_stats, NULL
};

//  ---------------------------------------------------------------------
//  Self test: the actor alone (no log, no outbox: rules are stored and
//  tested, not run), spoken to in raw ZEB/1; tests/automation_test.c
//  runs it in a node

static zactor_t *
s_test_start (const char *dir, int round, char *endpoint)
{
    zconfig_t *config = zconfig_new ("root", NULL);
    zconfig_put (config, "node/data", dir);
    zconfig_putf (config, "automation/endpoint", "inproc://zeb-automation-test-%d", round);
    zactor_t *actor = zactor_new (zeb_actor_main, (void *) &zeb_automation_def);
    zhashx_t *endpoints = zhashx_new ();
    zhashx_set_destructor (endpoints, (zhashx_destructor_fn *) zstr_free);
    zhashx_set_duplicator (endpoints, (zhashx_duplicator_fn *) strdup);
    zeb_fault_t fault;
    int rc = zeb_actor_start (actor, config, endpoints, &fault);
    assert (rc == 0);
    snprintf (endpoint, 128, "%s", (char *) zhashx_lookup (endpoints, "automation"));
    zhashx_destroy (&endpoints);
    zconfig_destroy (&config);
    return actor;
}

//  The call is answered with expected; returns the body (caller decrefs)
static json_t *
s_test_expect (zsock_t *dealer, const char *command, const char *body, const char *expected)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    int rc = zeb_json_pack_text (body, strlen (body), &buffer, NULL);
    assert (rc == 0);
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, command);
    zmsg_addmem (msg, buffer.data, buffer.size);
    zmsg_addstr (msg, "tag-1");
    zmsg_send (&msg, dealer);
    msgpack_sbuffer_destroy (&buffer);
    msg = zmsg_recv (dealer);
    assert (msg && zmsg_size (msg) == 3);
    char *name = zmsg_popstr (msg);
    zframe_t *frame = zmsg_pop (msg);
    json_t *json = zeb_json_from_msgpack (zframe_data (frame), zframe_size (frame), NULL);
    assert (json);
    if (!streq (name, expected)) {
        char *text = json_dumps (json, JSON_COMPACT);
        fprintf (stderr, "%s %s: expected %s, got %s %s\n", command, body, expected, name, text);
        free (text);
        assert (false);
    }
    zstr_free (&name);
    zframe_destroy (&frame);
    zmsg_destroy (&msg);
    return json;
}

void
zeb_automation_test (bool verbose)
{
    printf (" * zeb_automation: ");
    char dir [] = "/tmp/zeb-automation-XXXXXX";
    assert (mkdtemp (dir));
    char endpoint [128];
    zactor_t *actor = s_test_start (dir, 1, endpoint);
    zsock_t *dealer = zsock_new_dealer (endpoint);
    assert (dealer);
    zsock_set_rcvtimeo (dealer, 5000);

    //  A rule without id gets a UUIDv7; one with an id keeps it
    json_t *reply = s_test_expect (dealer, "PUT", "{\"rule\":{\"triggerEventType\":\"order.placed\","
        "\"actions\":[{\"type\":\"log\"}]},\"by\":\"ann\"}", "PUT");
    const char *id = json_string_value (json_object_get (reply, "id"));
    assert (id && strlen (id) == 36 && id [14] == '7');
    assert (json_is_true (json_object_get (reply, "created")));
    json_decref (reply);
    reply = s_test_expect (dealer, "PUT", "{\"rule\":{\"id\":\"big-orders\",\"name\":\"Big orders\","
        "\"triggerEventType\":\"order.*\",\"priority\":5,"
        "\"triggerConditions\":[{\"field\":\"data.total\",\"operator\":\"gt\",\"value\":100}],"
        "\"actions\":[{\"type\":\"log\",\"config\":{\"message\":\"{{data.total}}\"}}]},\"by\":\"ann\"}", "PUT");
    assert (streq (json_string_value (json_object_get (reply, "id")), "big-orders"));
    assert (json_integer_value (json_object_get (reply, "version")) == 1);
    json_decref (reply);
    reply = s_test_expect (dealer, "DISABLE", "{\"id\":\"big-orders\",\"by\":\"bo\"}", "DISABLE");
    assert (json_integer_value (json_object_get (reply, "version")) == 2);
    json_decref (reply);
    reply = s_test_expect (dealer, "LIST", "{\"enabled\":true}", "LIST");
    assert (json_array_size (json_object_get (reply, "items")) == 1);
    assert (json_integer_value (json_object_get (reply, "total")) == 2);
    json_decref (reply);
    //  The NACKs: a malformed rule names the path of its mistake
    reply = s_test_expect (dealer, "PUT", "{\"rule\":{\"triggerEventType\":\"a.b\","
        "\"triggerConditions\":[{\"field\":\"data.x\",\"operator\":\"gt\"}],"
        "\"actions\":[{\"type\":\"log\"}]}}", "NACK");
    assert (strstr (json_string_value (json_object_get (reply, "error")), "triggerConditions[0]"));
    json_decref (reply);
    json_decref (s_test_expect (dealer, "PUT", "{\"rule\":{\"id\":\"\",\"triggerEventType\":\"a.b\","
        "\"actions\":[{\"type\":\"log\"}]}}", "NACK"));
    json_decref (s_test_expect (dealer, "GET", "{\"id\":\"nope\"}", "NACK"));
    json_decref (s_test_expect (dealer, "BACKTEST", "{\"id\":\"big-orders\"}", "NACK"));
    json_decref (s_test_expect (dealer, "LOGS", "{\"id\":\"big-orders\"}", "NACK"));
    //  A dry run works without a log
    reply = s_test_expect (dealer, "TEST", "{\"id\":\"big-orders\",\"event\":{\"type\":\"order.placed\","
        "\"source\":\"t\",\"data\":{\"total\":150}}}", "TEST");
    assert (json_is_true (json_object_get (reply, "conditionsMatched")));
    assert (json_is_false (json_object_get (reply, "matched")));        //  disabled
    json_decref (reply);
    zsock_destroy (&dealer);
    zactor_destroy (&actor);

    //  The rules, their state and their history survive a restart
    actor = s_test_start (dir, 2, endpoint);
    dealer = zsock_new_dealer (endpoint);
    zsock_set_rcvtimeo (dealer, 5000);
    reply = s_test_expect (dealer, "GET", "{\"id\":\"big-orders\"}", "GET");
    json_t *rule = json_object_get (reply, "rule");
    assert (json_is_false (json_object_get (rule, "enabled")));
    assert (streq (json_string_value (json_object_get (rule, "createdBy")), "ann"));
    assert (json_integer_value (json_object_get (reply, "version")) == 2);
    json_decref (reply);
    reply = s_test_expect (dealer, "HISTORY", "{\"id\":\"big-orders\"}", "HISTORY");
    json_t *items = json_object_get (reply, "items");
    assert (json_array_size (items) == 2);
    assert (streq (json_string_value (json_object_get (json_array_get (items, 0), "by")), "bo"));
    assert (streq (json_string_value (json_object_get (json_array_get (items, 1), "op")), "put"));
    json_decref (reply);
    json_decref (s_test_expect (dealer, "DELETE", "{\"id\":\"big-orders\"}", "DELETE"));
    reply = s_test_expect (dealer, "LIST", "{}", "LIST");
    assert (json_integer_value (json_object_get (reply, "total")) == 1);
    json_decref (reply);
    zsock_destroy (&dealer);
    zactor_destroy (&actor);
    char *command = zsys_sprintf ("rm -rf '%s'", dir);
    assert (system (command) == 0);
    zstr_free (&command);
    if (verbose)
        printf ("(verbose) ");
    printf ("OK\n");
}
