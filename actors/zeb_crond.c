/*  =========================================================================
    zeb_crond - cron triggers (see zeb_crond.h)

    One thread: the triggers by name, each with its compiled schedule and
    next firing; the loop's tick fires what is due, publishing through a
    zeb_client (synchronously: firings are rare, and a firing is acked
    before its lastRun is stored). A trigger's record is written after
    each firing, so after a crash a firing may be published again: its
    idempotency key makes ingest store it once.
    =========================================================================
*/

#include "zeb_actors.h"

const zeb_config_key_t zeb_crond_config [] = {
    { "cron/endpoint", "tcp://127.0.0.1:7707", ZEB_KEY_ENDPOINT, 0, 0, NULL,
      "ROUTER for PUT, GET, LIST, DELETE, ENABLE, DISABLE, RUN (docs/PROTOCOL.md 4d)" },
    { "cron/ingest", "", ZEB_KEY_ENDPOINT, 0, 0, NULL, "where firings are published (set in a node with ingest)" },
    { "cron/catchup_window", "1d", ZEB_KEY_DURATION, 60000, 31622400000LL, NULL,
      "catchUp all: missed firings this far back fire after downtime" },
    { "cron/catchup_max", "1000", ZEB_KEY_INT, 1, 100000, NULL, "catchUp all: at most this many per trigger" },
    { "cron/max_triggers", "10000", ZEB_KEY_INT, 1, 1000000, NULL, "triggers stored at most" },
    { "cron/test_clock", "false", ZEB_KEY_BOOL, 0, 0, NULL,
      "the actor's clock starts at cron/test_now and moves only by CLOCK (tests)" },
    { "cron/test_now", "0", ZEB_KEY_INT, 0, 0, NULL, "with cron/test_clock: the clock at start, ms" },
    { NULL }
};

#define S_MAX_NAME      64
#define S_RETRY         1000        //  after a failed publish, ms

typedef struct {
    char name [S_MAX_NAME + 1];
    json_t *json;               //  the trigger as stored
    zeb_cron_t *cron;
    int64_t next;               //  ms, 0: never
    int64_t retry_at;           //  after a failed publish
} s_trigger_t;

typedef struct {
    zeb_actor_t *actor;
    zeb_router_t *router;
    zeb_lmdb_t *lmdb;
    MDB_dbi db;
    zhashx_t *triggers;         //  name -> s_trigger_t
    zeb_client_t *client;
    bool test_clock;
    int64_t now;                //  the test clock, ms
    int64_t catchup_window, catchup_max, max_triggers;
    bool ready;                 //  every actor of the node started: ingest serves
    bool caught_up;             //  the stored triggers' downtime handled
    uint64_t fired, missed, failures, puts;
} self_t;

static int64_t
s_now (self_t *self)
{
    return self->test_clock? self->now: zeb_time_now ();
}

static void
s_trigger_destroy (void **item_p)
{
    s_trigger_t *trigger = (s_trigger_t *) *item_p;
    if (trigger) {
        json_decref (trigger->json);
        zeb_cron_destroy (&trigger->cron);
        free (trigger);
        *item_p = NULL;
    }
}

static bool
s_name_valid (const char *name)
{
    size_t len = strlen (name);
    if (len == 0 || len > S_MAX_NAME)
        return false;
    for (const char *p = name; *p; p++)
        if (!(isalnum ((unsigned char) *p) || *p == '-' || *p == '_'))
            return false;
    return true;
}

static void
s_set_time (json_t *json, const char *key, int64_t time_ms)
{
    if (time_ms > 0) {
        char text [ZEB_TIME_STRLEN];
        zeb_time_format (time_ms, text);
        json_object_set_new (json, key, json_string (text));
    }
    else
        json_object_set_new (json, key, json_null ());
}

static int64_t
s_get_time (json_t *json, const char *key)
{
    const char *text = json_string_value (json_object_get (json, key));
    int64_t time_ms = 0;
    if (text)
        zeb_time_parse (text, strlen (text), &time_ms);
    return time_ms;
}

//  ---------------------------------------------------------------------
//  The store

typedef struct {
    self_t *self;
    const char *name;
    const char *text;           //  NULL: delete
} s_write_t;

static int
s_write_fn (MDB_txn *txn, void *arg)
{
    s_write_t *write = (s_write_t *) arg;
    MDB_val key = { strlen (write->name), (void *) write->name };
    if (!write->text) {
        int rc = mdb_del (txn, write->self->db, &key, NULL);
        return rc == MDB_NOTFOUND? 0: rc;
    }
    MDB_val value = { strlen (write->text), (void *) write->text };
    return mdb_put (txn, write->self->db, &key, &value, 0);
}

static int
s_store (self_t *self, s_trigger_t *trigger)
{
    s_set_time (trigger->json, "nextRun", trigger->next);
    char *text = json_dumps (trigger->json, JSON_COMPACT);
    s_write_t write = { self, trigger->name, text };
    int rc = zeb_lmdb_write (self->lmdb, s_write_fn, &write);
    free (text);
    return rc;
}

//  A trigger from its JSON (checked); NULL with fault
static s_trigger_t *
s_trigger_new (json_t *json, zeb_fault_t *fault)
{
    static const char *known [] = { "name", "schedule", "timezone", "eventType", "payload", "enabled",
                                    "catchUp", "lastRun", "nextRun", "createdAt", "updatedAt",
                                    "description", NULL };
    const char *key;
    json_t *value;
    json_object_foreach (json, key, value) {
        size_t index = 0;
        while (known [index] && !streq (known [index], key))
            index++;
        if (!known [index]) {
            zeb_fault_set (fault, ZEB_EINVALID, "%s: not a field of a cron trigger", key);
            return NULL;
        }
    }
    const char *name = json_string_value (json_object_get (json, "name"));
    if (!name || !s_name_valid (name)) {
        zeb_fault_set (fault, ZEB_EINVALID, "name: 1..%d letters, digits, '-' or '_'", S_MAX_NAME);
        return NULL;
    }
    const char *schedule = json_string_value (json_object_get (json, "schedule"));
    json_t *zone = json_object_get (json, "timezone");
    json_t *type = json_object_get (json, "eventType");
    json_t *catchup = json_object_get (json, "catchUp");
    json_t *enabled = json_object_get (json, "enabled");
    if ((zone && !json_is_string (zone)) || (type && !json_is_string (type))
    ||  (enabled && !json_is_boolean (enabled))) {
        zeb_fault_set (fault, ZEB_EINVALID, "timezone and eventType are strings, enabled a boolean");
        return NULL;
    }
    if (catchup && !(json_is_string (catchup)
                     && (streq (json_string_value (catchup), "skip") || streq (json_string_value (catchup), "once")
                         || streq (json_string_value (catchup), "all")))) {
        zeb_fault_set (fault, ZEB_EINVALID, "catchUp: skip, once or all");
        return NULL;
    }
    if (type && !zeb_event_type_valid (json_string_value (type), strlen (json_string_value (type)))) {
        zeb_fault_set (fault, ZEB_EINVALID, "eventType: '%s' is not an event type", json_string_value (type));
        return NULL;
    }
    zeb_cron_t *cron = zeb_cron_new (schedule, zone? json_string_value (zone): NULL, fault);
    if (!cron)
        return NULL;
    //  The defaults, written out: what a reader sees is what runs
    if (!type) {
        char fallback [ZEB_EVENT_MAX_TYPE + 1];
        snprintf (fallback, sizeof (fallback), "custom.cron.%s", name);
        json_object_set_new (json, "eventType", json_string (fallback));
    }
    if (!zone)
        json_object_set_new (json, "timezone", json_string ("UTC"));
    if (!catchup)
        json_object_set_new (json, "catchUp", json_string ("skip"));
    if (!enabled)
        json_object_set_new (json, "enabled", json_true ());
    s_trigger_t *trigger = (s_trigger_t *) zmalloc (sizeof (s_trigger_t));
    assert (trigger);
    snprintf (trigger->name, sizeof (trigger->name), "%s", name);
    trigger->json = json_incref (json);
    trigger->cron = cron;
    return trigger;
}

static bool
s_enabled (s_trigger_t *trigger)
{
    return !json_is_false (json_object_get (trigger->json, "enabled"));
}

//  ---------------------------------------------------------------------
//  Firing

//  Publish one firing of trigger for scheduled; 0 once acked
static int
s_fire (self_t *self, s_trigger_t *trigger, int64_t scheduled)
{
    if (!self->client)
        return -1;
    const char *type = json_string_value (json_object_get (trigger->json, "eventType"));
    char fallback [ZEB_EVENT_MAX_TYPE + 1];
    snprintf (fallback, sizeof (fallback), "custom.cron.%s", trigger->name);
    zeb_event_t *event = zeb_event_new (type? type: fallback);
    char text [160], time_text [ZEB_TIME_STRLEN];
    snprintf (text, sizeof (text), "cron/%s", trigger->name);
    zeb_event_set (event, "source", text);
    snprintf (text, sizeof (text), "cron/%s/%" PRId64, trigger->name, scheduled);
    zeb_event_set (event, "idempotencykey", text);
    zeb_event_set (event, "cronname", trigger->name);
    zeb_event_set (event, "scheduledtime", zeb_time_format (scheduled, time_text));
    zeb_event_set (event, "firedat", zeb_time_format (s_now (self), time_text));
    json_t *payload = json_object_get (trigger->json, "payload");
    int rc = 0;
    if (payload) {
        char *data = json_dumps (payload, JSON_COMPACT | JSON_ENCODE_ANY);
        zeb_fault_t fault;
        rc = zeb_event_set_data_json (event, data, &fault);
        free (data);
    }
    zeb_ack_t ack;
    if (rc == 0)
        rc = zeb_client_publish (self->client, event, &ack);
    zeb_event_destroy (&event);
    if (rc) {
        self->failures++;
        return -1;
    }
    self->fired++;
    s_set_time (trigger->json, "lastRun", scheduled);
    return 0;
}

//  After downtime: what catchUp says about the firings missed between
//  the trigger's lastRun (or nextRun) and now; then its next firing
static void
s_catch_up (self_t *self, s_trigger_t *trigger, int64_t now)
{
    const char *policy = json_string_value (json_object_get (trigger->json, "catchUp"));
    int64_t last = s_get_time (trigger->json, "lastRun");
    int64_t planned = s_get_time (trigger->json, "nextRun");
    int64_t since = last? last: planned? planned - 1: 0;
    trigger->next = zeb_cron_next (trigger->cron, now);
    if (!since || !s_enabled (trigger) || !policy || streq (policy, "skip")) {
        if (since && s_enabled (trigger) && zeb_cron_next (trigger->cron, since) <= now)
            self->missed++;
        return;
    }
    if (streq (policy, "once")) {
        int64_t latest = 0;
        for (int64_t at = zeb_cron_next (trigger->cron, since); at && at <= now;
             at = zeb_cron_next (trigger->cron, at))
            latest = at;
        if (latest)
            s_fire (self, trigger, latest);
    }
    else {
        int64_t from = since > now - self->catchup_window? since: now - self->catchup_window - 1;
        int64_t count = 0;
        for (int64_t at = zeb_cron_next (trigger->cron, from); at && at <= now && count < self->catchup_max;
             at = zeb_cron_next (trigger->cron, at), count++)
            if (s_fire (self, trigger, at))
                break;
    }
    s_store (self, trigger);
}

static int
s_tick (void *arg)
{
    self_t *self = (self_t *) arg;
    if (!self->ready)
        return 50;
    int64_t now = s_now (self), wait = 60000;
    if (!self->caught_up) {
        //  Each stored trigger's downtime, once ingest serves
        for (s_trigger_t *trigger = (s_trigger_t *) zhashx_first (self->triggers); trigger;
             trigger = (s_trigger_t *) zhashx_next (self->triggers))
            if (!trigger->next)
                s_catch_up (self, trigger, now);
        self->caught_up = true;
    }
    for (s_trigger_t *trigger = (s_trigger_t *) zhashx_first (self->triggers); trigger;
         trigger = (s_trigger_t *) zhashx_next (self->triggers)) {
        if (!trigger->next || !s_enabled (trigger))
            continue;
        //  What is due, in order (a test clock may move by days)
        size_t fired = 0;
        while (trigger->next && trigger->next <= now && trigger->retry_at <= now
        &&     fired < (size_t) self->catchup_max) {
            if (s_fire (self, trigger, trigger->next)) {
                trigger->retry_at = now + S_RETRY;
                break;
            }
            trigger->next = zeb_cron_next (trigger->cron, trigger->next);
            fired++;
        }
        if (fired)
            s_store (self, trigger);
        int64_t due = trigger->retry_at > now? trigger->retry_at: trigger->next;
        if (due && due - now < wait)
            wait = due - now;
    }
    if (self->test_clock)
        wait = 20;                  //  the clock moves by CLOCK only: look often
    return wait < 0? 0: (int) wait;
}

//  ---------------------------------------------------------------------
//  Verbs

static json_t *
s_body (zeb_request_t *request)
{
    return zeb_json_from_msgpack (request->body, request->body_size, NULL);
}

static void
s_reply_json (self_t *self, zeb_request_t *request, const char *command, json_t *json)
{
    msgpack_sbuffer *buffer = zeb_router_buffer (self->router);
    msgpack_packer packer;
    msgpack_packer_init (&packer, buffer, msgpack_sbuffer_write);
    zeb_json_to_msgpack (json, &packer);
    zeb_router_reply_buffer (request, command, buffer);
}

//  The trigger the request names, or NULL (NACKed)
static s_trigger_t *
s_named (self_t *self, zeb_request_t *request, json_t *body)
{
    const char *name = json_string_value (json_object_get (body, "name"));
    s_trigger_t *trigger = name? (s_trigger_t *) zhashx_lookup (self->triggers, name): NULL;
    if (!name)
        zeb_router_nack (request, ZEB_EINVALID, "needs name");
    else
    if (!trigger)
        zeb_router_nack (request, ZEB_ENOTFOUND, "no cron trigger %s", name);
    return trigger;
}

static void
s_handle_put (void *owner, zeb_request_t *request)
{
    self_t *self = (self_t *) owner;
    json_t *body = s_body (request);
    json_t *given = json_object_get (body, "trigger");
    if (!json_is_object (given)) {
        json_decref (body);
        zeb_router_nack (request, ZEB_EINVALID, "PUT needs trigger (an object)");
        return;
    }
    json_t *json = json_deep_copy (given);
    json_object_del (json, "lastRun");
    json_object_del (json, "nextRun");
    const char *name = json_string_value (json_object_get (json, "name"));
    s_trigger_t *existing = name? (s_trigger_t *) zhashx_lookup (self->triggers, name): NULL;
    bool create = json_is_true (json_object_get (body, "create"));
    json_decref (body);
    if (existing && create) {
        zeb_router_nack (request, ZEB_EEXISTS, "a cron trigger %s exists", existing->name);
        json_decref (json);
        return;
    }
    if (!existing && zhashx_size (self->triggers) >= (size_t) self->max_triggers) {
        json_decref (json);
        zeb_router_nack (request, ZEB_EFULL, "%zu triggers (cron/max_triggers)", zhashx_size (self->triggers));
        return;
    }
    zeb_fault_t fault = { 0 };
    s_trigger_t *trigger = s_trigger_new (json, &fault);
    json_decref (json);
    if (!trigger) {
        zeb_router_nack (request, fault.code? fault.code: ZEB_EINVALID, "%s", fault.text);
        return;
    }
    int64_t now = s_now (self);
    if (existing) {
        json_t *last = json_object_get (existing->json, "lastRun");
        if (last)
            json_object_set (trigger->json, "lastRun", last);
        json_object_set (trigger->json, "createdAt", json_object_get (existing->json, "createdAt"));
    }
    else
        s_set_time (trigger->json, "createdAt", now);
    s_set_time (trigger->json, "updatedAt", now);
    trigger->next = zeb_cron_next (trigger->cron, now);
    int rc = s_store (self, trigger);
    if (rc) {
        s_trigger_destroy ((void **) &trigger);
        zeb_router_nack (request, rc, "the trigger could not be stored");
        return;
    }
    zhashx_update (self->triggers, trigger->name, trigger);
    self->puts++;
    s_reply_json (self, request, "PUT", trigger->json);
}

static void
s_handle_get (void *owner, zeb_request_t *request)
{
    self_t *self = (self_t *) owner;
    json_t *body = s_body (request);
    s_trigger_t *trigger = s_named (self, request, body);
    json_decref (body);
    if (trigger)
        s_reply_json (self, request, "GET", trigger->json);
}

static void
s_handle_list (void *owner, zeb_request_t *request)
{
    self_t *self = (self_t *) owner;
    json_t *reply = json_pack ("{s:[]}", "items");
    zlistx_t *names = zhashx_keys (self->triggers);
    zlistx_set_comparator (names, (zlistx_comparator_fn *) strcmp);
    zlistx_sort (names);
    for (const char *name = (const char *) zlistx_first (names); name; name = (const char *) zlistx_next (names)) {
        s_trigger_t *trigger = (s_trigger_t *) zhashx_lookup (self->triggers, name);
        json_array_append (json_object_get (reply, "items"), trigger->json);
    }
    zlistx_destroy (&names);
    s_reply_json (self, request, "LIST", reply);
    json_decref (reply);
}

static void
s_handle_delete (void *owner, zeb_request_t *request)
{
    self_t *self = (self_t *) owner;
    json_t *body = s_body (request);
    s_trigger_t *trigger = s_named (self, request, body);
    json_decref (body);
    if (!trigger)
        return;
    s_write_t write = { self, trigger->name, NULL };
    int rc = zeb_lmdb_write (self->lmdb, s_write_fn, &write);
    if (rc) {
        zeb_router_nack (request, rc, "the deletion could not be stored");
        return;
    }
    json_t *reply = json_pack ("{s:s}", "name", trigger->name);
    zhashx_delete (self->triggers, trigger->name);
    s_reply_json (self, request, "DELETE", reply);
    json_decref (reply);
}

static void
s_handle_enable_as (self_t *self, zeb_request_t *request, bool enabled, const char *command)
{
    json_t *body = s_body (request);
    s_trigger_t *trigger = s_named (self, request, body);
    json_decref (body);
    if (!trigger)
        return;
    int64_t now = s_now (self);
    json_object_set_new (trigger->json, "enabled", json_boolean (enabled));
    s_set_time (trigger->json, "updatedAt", now);
    //  Enabled again: from now on, nothing missed meanwhile fires
    trigger->next = zeb_cron_next (trigger->cron, now);
    int rc = s_store (self, trigger);
    if (rc)
        zeb_router_nack (request, rc, "the change could not be stored");
    else
        s_reply_json (self, request, command, trigger->json);
}

static void
s_handle_enable (void *owner, zeb_request_t *request)
{
    s_handle_enable_as ((self_t *) owner, request, true, "ENABLE");
}

static void
s_handle_disable (void *owner, zeb_request_t *request)
{
    s_handle_enable_as ((self_t *) owner, request, false, "DISABLE");
}

//  RUN: fire now (scheduled = now), whatever the schedule says
static void
s_handle_run (void *owner, zeb_request_t *request)
{
    self_t *self = (self_t *) owner;
    json_t *body = s_body (request);
    s_trigger_t *trigger = s_named (self, request, body);
    json_decref (body);
    if (!trigger)
        return;
    int64_t now = s_now (self);
    if (s_fire (self, trigger, now)) {
        zeb_router_nack (request, ZEB_EUNREACHABLE, "ingest did not store the firing");
        return;
    }
    s_store (self, trigger);
    s_reply_json (self, request, "RUN", trigger->json);
}

//  CLOCK {now}: the test clock (cron/test_clock only)
static void
s_handle_clock (void *owner, zeb_request_t *request)
{
    self_t *self = (self_t *) owner;
    int64_t now;
    if (!self->test_clock) {
        zeb_router_nack (request, ZEB_EFORBIDDEN, "CLOCK needs cron/test_clock");
        return;
    }
    if (zeb_proto_get_int (request->body, request->body_size, "now", &now) != 0 || now < self->now) {
        zeb_router_nack (request, ZEB_EINVALID, "CLOCK needs now (ms), not before the clock's time");
        return;
    }
    self->now = now;
    s_tick (self);                  //  what is due fires before the reply
    json_t *reply = json_pack ("{s:I}", "now", (json_int_t) now);
    s_reply_json (self, request, "CLOCK", reply);
    json_decref (reply);
}

static const zeb_router_command_t s_commands [] = {
    { "PUT", s_handle_put, 0 },
    { "GET", s_handle_get, 0 },
    { "LIST", s_handle_list, 0 },
    { "DELETE", s_handle_delete, 0 },
    { "ENABLE", s_handle_enable, 0 },
    { "DISABLE", s_handle_disable, 0 },
    { "RUN", s_handle_run, 0 },
    { "CLOCK", s_handle_clock, 0 },
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
    zeb_router_destroy (&self->router);
    zeb_client_destroy (&self->client);
    zhashx_destroy (&self->triggers);
    zeb_lmdb_close (&self->lmdb);
}

static int
s_start (void *state, zeb_actor_t *actor, zconfig_t *config, zeb_fault_t *fault)
{
    self_t *self = (self_t *) state;
    self->actor = actor;
    zeb_config_bool (config, "cron/test_clock", &self->test_clock);
    zeb_config_int (config, "cron/test_now", &self->now);
    zeb_config_duration (config, "cron/catchup_window", &self->catchup_window);
    zeb_config_int (config, "cron/catchup_max", &self->catchup_max);
    zeb_config_int (config, "cron/max_triggers", &self->max_triggers);
    self->triggers = zhashx_new ();
    zhashx_set_destructor (self->triggers, s_trigger_destroy);
    zeb_lmdb_options_t options = { 1 << 20, 0, { "triggers", NULL } };
    char *path = zsys_sprintf ("%s/cron", zeb_config_str (config, "node/data"));
    self->lmdb = zeb_lmdb_open (path, &options, fault);
    zstr_free (&path);
    if (!self->lmdb)
        return fault->code;
    self->db = zeb_lmdb_dbi (self->lmdb, 0);
    const char *ingest = zeb_config_str (config, "cron/ingest");
    if (*ingest) {
        self->client = zeb_client_new (ingest);
        if (self->client)
            zeb_client_set_timeout (self->client, 2000);
    }
    //  The stored triggers, each caught up
    MDB_txn *txn;
    if (zeb_lmdb_read_begin (self->lmdb, &txn))
        return zeb_fault_set (fault, ZEB_ESTORAGE, "cron: cannot read the triggers");
    MDB_cursor *cursor;
    mdb_cursor_open (txn, self->db, &cursor);
    MDB_val key, value;
    zlistx_t *loaded = zlistx_new ();      //  (caught up at the first tick)
    for (int rc = mdb_cursor_get (cursor, &key, &value, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get (cursor, &key, &value, MDB_NEXT)) {
        json_t *json = zeb_json_parse ((const char *) value.mv_data, value.mv_size, NULL);
        zeb_fault_t why = { 0 };
        s_trigger_t *trigger = json? s_trigger_new (json, &why): NULL;
        json_decref (json);
        if (trigger) {
            zhashx_update (self->triggers, trigger->name, trigger);
            zlistx_add_end (loaded, trigger);
        }
        else
            zsys_warning ("cron: stored trigger %.*s is not valid: %s", (int) key.mv_size,
                          (char *) key.mv_data, why.text);
    }
    mdb_cursor_close (cursor);
    zeb_lmdb_read_end (self->lmdb, txn);
    zlistx_destroy (&loaded);
    self->router = zeb_actor_router (actor, s_commands, self);
    if (!self->router || zeb_router_bind (self->router, zeb_config_str (config, "cron/endpoint"), fault))
        return fault->code? fault->code: ZEB_ERROR;
    zeb_loop_t *loop = zeb_actor_loop (actor);
    zeb_loop_add_socket (loop, zeb_router_socket (self->router), s_handle_front, self);
    zeb_loop_set_tick (loop, s_tick, self);
    zeb_actor_bound (actor, "cron", zeb_router_endpoint (self->router));
    return 0;
}

static void
s_stats (void *state, zeb_pack_t *pack)
{
    self_t *self = (self_t *) state;
    zeb_pack_uint (pack, "triggers", self->triggers? zhashx_size (self->triggers): 0);
    zeb_pack_uint (pack, "fired", self->fired);
    zeb_pack_uint (pack, "missed", self->missed);
    zeb_pack_uint (pack, "failures", self->failures);
    zeb_pack_uint (pack, "puts", self->puts);
    if (self->router)
        zeb_router_pack_stats (self->router, pack);
}

static void
s_peer (void *state, const char *name, const char *endpoint)
{
    self_t *self = (self_t *) state;
    if (streq (name, ""))
        self->ready = true;
}

static const zeb_actor_link_t s_links [] = {
    { "cron/ingest", "ingest" },
    { NULL }
};

const zeb_actor_def_t zeb_crond_def = {
    "cron", "triggers that publish events on a schedule, once per scheduled time", true,
    zeb_crond_config, s_links, sizeof (self_t), s_start, s_stop, s_stats, s_peer
};
