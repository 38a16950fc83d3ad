/*  =========================================================================
    zeb_executor - the plugins that perform actions, and the host that runs them

    The host is one thread per plugin, an actor of the kit (zeb_actor_run)
    on a zeb_loop with two readers of its own (the kit's pipe and the
    DEALER to the outbox) and a tick (the PING heartbeat and the plugin's
    tick). Its pipe commands and its side of the worker protocol are
    listed in zeb_executor.h.

    Jobs in hand are on a zlistx (an s_job_t per JOB: the zeb_job_t a
    plugin sees, its list handle, then its strings in the same block), so
    that zeb_job_finish is O(1) and a stopping host knows what is left. The
    host holds at most credit jobs (zeb_executor_set_credit, at most
    ZEB_EXECUTOR_MAX_CREDIT), each at most one JOB message's worth: the
    event and config as decoded (the outbox bounds events at
    ingest/max_event_size).
    =========================================================================
*/

#include "zeb_actors.h"

#define S_MAX_FIELD         255             //  bytes of a JOB string field
#define S_MAX_TIMEOUT_MS    (24 * 3600 * 1000)
#define S_BATCH             64              //  messages read per turn
#define S_HWM_ROOM          1000            //  queue room past the credit (PINGs, PONGs)

typedef struct {
    zeb_job_t job;                  //  first: a zeb_job_t * is its s_job_t *
    void *handle;                   //  in the host's jobs
    char strings [];                //  id, key, run, action, origin
} s_job_t;

typedef struct {
    uint64_t jobs;                  //  given to the plugin
    uint64_t ok;
    uint64_t retry;
    uint64_t fail;
    uint64_t malformed;             //  JOBs (and other messages) refused unread
    uint64_t over_credit;           //  JOBs past the credit, answered RETRY unexecuted
    uint64_t unsent;                //  messages the DEALER could not queue
    uint64_t readies;
    uint64_t pings;
} s_counters_t;

struct _zeb_executor_t {
    zeb_loop_t *loop;               //  the actor kit's
    const zeb_executor_def_t *def;
    char *endpoint;
    char *name;                     //  the action type served
    char *worker;                   //  READY's name: "node:action"
    zeb_action_fn *callback;
    void *callback_arg;
    zsock_t *dealer;                //  to the outbox
    void *state;                    //  the plugin's, once its init succeeded
    bool started;
    bool stopping;
    bool ready_owed;                //  a READY waits for free credit
    size_t credit;
    zlistx_t *jobs;                 //  in hand, s_job_t
    int64_t ping_due;               //  ms, monotonic
    msgpack_sbuffer buffer;         //  scratch for bodies sent
    s_counters_t counters;
};

static int64_t
s_now_ms (void)
{
    return zeb_time_mono_us () / 1000;
}

//  ---------------------------------------------------------------------
//  Sending to the outbox: never blocks (see the header)

static void
s_send (zeb_executor_t *self, const char *command, msgpack_sbuffer *buffer)
{
    if (!self->dealer
    ||  zeb_proto_send (zsock_resolve (self->dealer), NULL, command, buffer->data, buffer->size,
                        NULL, 0, ZMQ_DONTWAIT))
        self->counters.unsent++;
    msgpack_sbuffer_clear (buffer);
}

static void
s_send_empty (zeb_executor_t *self, const char *command)
{
    msgpack_sbuffer_clear (&self->buffer);
    msgpack_sbuffer_write (&self->buffer, "\x80", 1);
    s_send (self, command, &self->buffer);
}

static void
s_send_ready (zeb_executor_t *self)
{
    size_t free_credit = self->credit - zlistx_size (self->jobs);
    self->ready_owed = free_credit == 0;
    if (self->ready_owed)
        return;
    msgpack_sbuffer_clear (&self->buffer);
    zeb_pack_t pack;
    zeb_pack_init (&pack, &self->buffer);
    zeb_pack_map (&pack, NULL);
    zeb_pack_array (&pack, "actions");
    zeb_pack_str (&pack, NULL, self->name);
    zeb_pack_end (&pack);
    zeb_pack_uint (&pack, "credit", free_credit);
    zeb_pack_str (&pack, "name", self->worker);
    if (zeb_pack_end (&pack) == 0) {
        s_send (self, ZEB_CMD_READY, &self->buffer);
        self->counters.readies++;
    }
}

static const char *
s_status_name (zeb_job_status_t status)
{
    assert (status == ZEB_JOB_OK || status == ZEB_JOB_RETRY || status == ZEB_JOB_FAIL);
    return status == ZEB_JOB_OK? "ok": status == ZEB_JOB_RETRY? "retry": "fail";
}

//  The result value, or its stand-in when its JSON is over the limit
static void
s_pack_result (zeb_pack_t *pack, json_t *result)
{
    size_t flags = JSON_COMPACT | JSON_ENCODE_ANY;
    size_t bytes = json_dumpb (result, NULL, 0, flags);
    if (bytes == 0) {
        zsys_warning ("executor: a result that JSON cannot encode was left out");
        return;
    }
    if (bytes <= ZEB_EXECUTOR_MAX_RESULT) {
        msgpack_sbuffer value;
        msgpack_sbuffer_init (&value);
        msgpack_packer pk;
        msgpack_packer_init (&pk, &value, msgpack_sbuffer_write);
        if (zeb_json_to_msgpack (result, &pk) == 0)
            zeb_pack_raw (pack, "result", value.data, value.size);
        msgpack_sbuffer_destroy (&value);
        return;
    }
    char *text = json_dumps (result, flags);
    size_t head = text? strlen (text): 0;
    if (head > ZEB_EXECUTOR_RESULT_HEAD)
        head = ZEB_EXECUTOR_RESULT_HEAD;
    //  A cut through a character: back off to its start
    for (int cut = 0; cut < 3 && head && !zeb_mpk_utf8_valid (text, head); cut++)
        head--;
    zeb_pack_map (pack, "result");
    zeb_pack_bool (pack, "truncated", true);
    zeb_pack_uint (pack, "bytes", bytes);
    zeb_pack_strn (pack, "head", text? text: "", zeb_mpk_utf8_valid (text, head)? head: 0);
    zeb_pack_end (pack);
    free (text);
}

static void
s_send_result (zeb_executor_t *self, const char *id, const zeb_job_result_t *result)
{
    msgpack_sbuffer_clear (&self->buffer);
    zeb_pack_t pack;
    zeb_pack_init (&pack, &self->buffer);
    zeb_pack_map (&pack, NULL);
    zeb_pack_str (&pack, "id", id);
    zeb_pack_str (&pack, "status", s_status_name (result->status));
    if (result->result)
        s_pack_result (&pack, result->result);
    if (result->error && result->status != ZEB_JOB_OK) {
        char error [ZEB_EXECUTOR_MAX_ERROR + 1];
        zeb_router_escape (result->error, strlen (result->error), error, sizeof (error));
        zeb_pack_str (&pack, "error", error);
    }
    if (result->status == ZEB_JOB_RETRY && result->retry_after_ms > 0)
        zeb_pack_uint (&pack, "retryAfterMs", (uint64_t) result->retry_after_ms);
    if (result->code)
        zeb_pack_int (&pack, "code", result->code);
    if (result->status == ZEB_JOB_FAIL && result->gone)
        zeb_pack_bool (&pack, "gone", true);
    if (zeb_pack_end (&pack) == 0)
        s_send (self, ZEB_CMD_RESULT, &self->buffer);
    else
        self->counters.unsent++;
}

//  ---------------------------------------------------------------------
//  Jobs

static void
s_job_destroy (s_job_t **job_p)
{
    s_job_t *job = *job_p;
    if (job) {
        json_decref (job->job.config);
        zeb_event_destroy (&job->job.event);
        free (job);
        *job_p = NULL;
    }
}

//  A JOB body's fields, found in one walk of its map: zeb_proto_get_*
//  would walk it again for each of them, over the event every time
enum { S_ID, S_KEY, S_RUN, S_ACTION, S_ORIGIN, S_CONFIG, S_EVENT, S_ATTEMPT, S_INDEX, S_TIMEOUT, S_FIELDS };
static const char *s_field_names [S_FIELDS] = {
    "id", "key", "run", "action", "origin", "config", "event", "attempt", "index", "timeout" };

typedef struct {
    zeb_mpk_t value [S_FIELDS];     //  at the field's value (the first of its name)
    bool found [S_FIELDS];
} s_fields_t;

//  Where each field's value is; a field past a malformed entry is not
//  found, as zeb_mpk_find would not find it
static void
s_fields_find (const void *body, size_t size, s_fields_t *fields)
{
    memset (fields, 0, sizeof (*fields));
    zeb_mpk_t reader;
    zeb_mpk_init (&reader, body, size);
    uint32_t count;
    if (zeb_mpk_read_map (&reader, &count))
        return;
    for (uint32_t entry = 0; entry < count; entry++) {
        const char *name;
        uint32_t len;
        if (zeb_mpk_read_str (&reader, &name, &len))
            return;
        for (int field = 0; field < S_FIELDS; field++)
            if (!fields->found [field] && strlen (s_field_names [field]) == len
            &&  memcmp (s_field_names [field], name, len) == 0) {
                fields->value [field] = reader;
                fields->found [field] = zeb_mpk_peek (&reader) != ZEB_MPK_NONE;
                break;
            }
        if (zeb_mpk_skip (&reader, NULL, NULL))
            return;
    }
}

//  The field's reader, if it is there and not nil (zeb_proto_get_*'s "absent")
static zeb_mpk_t *
s_field (s_fields_t *fields, int field)
{
    zeb_mpk_t *value = &fields->value [field];
    return fields->found [field] && zeb_mpk_peek (value) != ZEB_MPK_NIL? value: NULL;
}

//  A string field of a JOB body: 1..S_MAX_FIELD bytes of UTF-8, no NUL
static int
s_job_str (s_fields_t *fields, int field, zeb_str_t *str, zeb_fault_t *fault)
{
    const char *key = s_field_names [field];
    zeb_mpk_t *value = s_field (fields, field);
    if (!value)
        return zeb_fault_set (fault, ZEB_EMISSING, "JOB has no '%s'", key);
    zeb_mpk_t reader = *value;
    uint32_t len = 0;
    if (zeb_mpk_read_str (&reader, &str->ptr, &len) || len == 0 || len > S_MAX_FIELD
    ||  memchr (str->ptr, 0, len) || !zeb_mpk_utf8_valid (str->ptr, len))
        return zeb_fault_set (fault, ZEB_EINVALID, "JOB '%s' is not 1..%d bytes of UTF-8",
                              key, S_MAX_FIELD);
    str->len = len;
    return 0;
}

//  A uint field within [min, max]
static int
s_job_uint (s_fields_t *fields, int field, uint64_t min, uint64_t max, uint64_t *value,
            zeb_fault_t *fault)
{
    const char *key = s_field_names [field];
    zeb_mpk_t *found = s_field (fields, field);
    if (!found)
        return zeb_fault_set (fault, ZEB_EMISSING, "JOB has no '%s'", key);
    zeb_mpk_t reader = *found;
    if (zeb_mpk_read_uint (&reader, value) || *value < min || *value > max)
        return zeb_fault_set (fault, ZEB_EINVALID, "JOB '%s' is not an integer in %llu..%llu",
                              key, (unsigned long long) min, (unsigned long long) max);
    return 0;
}

//  The config (a map, nil or absent: {}) and the event of a JOB body
static int
s_job_values (s_job_t *job, s_fields_t *fields, zeb_fault_t *fault)
{
    const uint8_t *span;
    size_t span_size;
    zeb_mpk_t reader = fields->value [S_CONFIG];
    if (!fields->found [S_CONFIG] || zeb_mpk_peek (&reader) == ZEB_MPK_NIL)
        job->job.config = json_object ();
    else
    if (zeb_mpk_peek (&reader) != ZEB_MPK_MAP)
        return zeb_fault_set (fault, ZEB_EINVALID, "JOB 'config' is not a map");
    else {
        zeb_fault_t inner;
        zeb_mpk_skip (&reader, &span, &span_size);
        job->job.config = zeb_json_from_msgpack (span, span_size, &inner);
        if (!job->job.config)
            return zeb_fault_set (fault, ZEB_EINVALID, "JOB 'config': %s", inner.text);
    }
    if (!fields->found [S_EVENT])
        return zeb_fault_set (fault, ZEB_EMISSING, "JOB has no 'event'");
    reader = fields->value [S_EVENT];
    if (zeb_mpk_peek (&reader) != ZEB_MPK_MAP)
        return zeb_fault_set (fault, ZEB_EINVALID, "JOB 'event' is not a map");
    zeb_fault_t inner;
    zeb_mpk_skip (&reader, &span, &span_size);
    job->job.event = zeb_event_decode (span, span_size, &inner);
    if (!job->job.event)
        return zeb_fault_set (fault, ZEB_EINVALID, "JOB 'event': %s", inner.text);
    return 0;
}

//  A job from a JOB body, or NULL with fault set; id gets the JOB's id
//  whenever it could be read ("" if not)
static s_job_t *
s_job_parse (zeb_executor_t *self, const void *body, size_t size, char *id, zeb_fault_t *fault)
{
    zeb_str_t strings [5];          //  id, key, run, action, origin: the fields' order
    uint64_t attempt = 0, index = 0, timeout = 0;
    *id = 0;
    if (!zeb_proto_is_map (body, size)) {
        zeb_fault_set (fault, ZEB_EMALFORMED, "JOB body is not a msgpack map");
        return NULL;
    }
    s_fields_t fields;
    s_fields_find (body, size, &fields);
    size_t total = 0;
    for (int field = S_ID; field <= S_ORIGIN; field++) {
        if (s_job_str (&fields, field, &strings [field], fault))
            return NULL;
        if (field == S_ID)
            snprintf (id, S_MAX_FIELD + 1, "%.*s", (int) strings [S_ID].len, strings [S_ID].ptr);
        total += strings [field].len + 1;
    }
    zeb_str_t *action = &strings [S_ACTION];
    if (action->len != strlen (self->name) || memcmp (action->ptr, self->name, action->len)) {
        zeb_fault_set (fault, ZEB_EINVALID, "JOB for action '%.*s'; this worker serves '%s'",
                       (int) action->len, action->ptr, self->name);
        return NULL;
    }
    if (s_job_uint (&fields, S_ATTEMPT, 1, UINT32_MAX, &attempt, fault)
    ||  s_job_uint (&fields, S_INDEX, 0, UINT32_MAX, &index, fault)
    ||  s_job_uint (&fields, S_TIMEOUT, 1, S_MAX_TIMEOUT_MS, &timeout, fault))
        return NULL;

    s_job_t *job = (s_job_t *) zmalloc (sizeof (s_job_t) + total);
    assert (job);
    const char **targets [] = { &job->job.id, &job->job.key, &job->job.run,
                                &job->job.action, &job->job.origin };
    char *next = job->strings;
    for (int field = S_ID; field <= S_ORIGIN; field++) {
        memcpy (next, strings [field].ptr, strings [field].len);
        next [strings [field].len] = 0;
        *targets [field] = next;
        next += strings [field].len + 1;
    }
    job->job.attempt = (uint32_t) attempt;
    job->job.index = (uint32_t) index;
    job->job.timeout_ms = (int) timeout;
    job->job.host = self;
    if (s_job_values (job, &fields, fault))
        s_job_destroy (&job);
    return job;
}

void
zeb_job_finish (zeb_job_t *job, const zeb_job_result_t *result)
{
    assert (job);
    assert (result);
    zeb_executor_t *self = job->host;
    s_job_t *entry = (s_job_t *) job;
    s_send_result (self, job->id, result);
    if (result->status == ZEB_JOB_OK)
        self->counters.ok++;
    else
    if (result->status == ZEB_JOB_RETRY)
        self->counters.retry++;
    else
        self->counters.fail++;
    zlistx_delete (self->jobs, entry->handle);
    s_job_destroy (&entry);
    if (self->ready_owed && !self->stopping)
        s_send_ready (self);
}

void
zeb_job_ok (zeb_job_t *job, json_t *result)
{
    zeb_job_result_t outcome = { ZEB_JOB_OK, NULL, result, 0, 0, false };
    zeb_job_finish (job, &outcome);
}

void
zeb_job_retry (zeb_job_t *job, int64_t retry_after_ms, const char *format, ...)
{
    char error [ZEB_EXECUTOR_MAX_ERROR + 1];
    va_list args;
    va_start (args, format);
    vsnprintf (error, sizeof (error), format, args);
    va_end (args);
    zeb_job_result_t outcome = { ZEB_JOB_RETRY, error, NULL, retry_after_ms, 0, false };
    zeb_job_finish (job, &outcome);
}

void
zeb_job_fail (zeb_job_t *job, const char *format, ...)
{
    char error [ZEB_EXECUTOR_MAX_ERROR + 1];
    va_list args;
    va_start (args, format);
    vsnprintf (error, sizeof (error), format, args);
    va_end (args);
    zeb_job_result_t outcome = { ZEB_JOB_FAIL, error, NULL, 0, 0, false };
    zeb_job_finish (job, &outcome);
}

int
zeb_job_pack (const zeb_job_t *job, msgpack_sbuffer *buffer)
{
    assert (job && job->id && job->key && job->run && job->action && job->origin && job->event);
    assert (buffer);
    msgpack_sbuffer event, config;
    msgpack_sbuffer_init (&event);
    msgpack_sbuffer_init (&config);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &config, msgpack_sbuffer_write);
    json_t *empty = job->config? NULL: json_object ();
    int rc = zeb_event_encode (job->event, &event);
    if (rc == 0)
        rc = zeb_json_to_msgpack (job->config? job->config: empty, &pk);
    if (rc == 0) {
        zeb_pack_t pack;
        zeb_pack_init (&pack, buffer);
        zeb_pack_map (&pack, NULL);
        zeb_pack_str (&pack, "id", job->id);
        zeb_pack_str (&pack, "key", job->key);
        zeb_pack_str (&pack, "run", job->run);
        zeb_pack_str (&pack, "action", job->action);
        zeb_pack_str (&pack, "origin", job->origin);
        zeb_pack_raw (&pack, "config", config.data, config.size);
        zeb_pack_raw (&pack, "event", event.data, event.size);
        zeb_pack_uint (&pack, "attempt", job->attempt);
        zeb_pack_uint (&pack, "index", job->index);
        zeb_pack_uint (&pack, "timeout", job->timeout_ms > 0? (uint64_t) job->timeout_ms: 0);
        rc = zeb_pack_end (&pack);
    }
    json_decref (empty);
    msgpack_sbuffer_destroy (&event);
    msgpack_sbuffer_destroy (&config);
    return rc? -1: 0;
}

//  ---------------------------------------------------------------------
//  The outbox's messages

static void
s_handle_job (zeb_executor_t *self, const void *body, size_t size)
{
    char id [S_MAX_FIELD + 1];
    zeb_fault_t fault;
    s_job_t *job = s_job_parse (self, body, size, id, &fault);
    if (!job) {
        self->counters.malformed++;
        zsys_warning ("executor %s: malformed JOB%s%s: %s", self->name,
                      *id? " ": "", id, fault.text);
        if (*id) {
            char error [ZEB_EXECUTOR_MAX_ERROR + 1];
            snprintf (error, sizeof (error), "malformed JOB: %s", fault.text);
            zeb_job_result_t refusal = { ZEB_JOB_FAIL, error, NULL, 0, 0, false };
            s_send_result (self, id, &refusal);
        }
        return;
    }
    if (zlistx_size (self->jobs) >= self->credit) {
        //  The outbox broke its side: refuse, unexecuted, so it tries again
        self->counters.over_credit++;
        char error [96];
        snprintf (error, sizeof (error), "worker over its credit (%zu jobs in hand)",
                  zlistx_size (self->jobs));
        zeb_job_result_t refusal = { ZEB_JOB_RETRY, error, NULL, 0, 0, false };
        s_send_result (self, job->job.id, &refusal);
        s_job_destroy (&job);
        return;
    }
    job->handle = zlistx_add_start (self->jobs, job);
    self->counters.jobs++;
    self->def->execute (self->state, &job->job);
}

static void
s_handle_pong (zeb_executor_t *self, const void *body, size_t size)
{
    bool known = true;
    if (!zeb_proto_is_map (body, size) || zeb_proto_get_bool (body, size, "known", &known) < 0) {
        self->counters.malformed++;
        zsys_warning ("executor %s: malformed PONG", self->name);
        return;
    }
    if (!known)
        s_send_ready (self);
}

//  Every message the outbox sent, up to S_BATCH (then 1: more may wait)
static int
s_handle_outbox (void *arg)
{
    zeb_executor_t *self = (zeb_executor_t *) arg;
    for (int count = 0; count < S_BATCH; count++) {
        zeb_proto_reply_t message;
        if (zeb_proto_reply_recv (zsock_resolve (self->dealer), &message, 0))
            return 0;
        size_t size = 0;
        const void *body = zeb_proto_reply_body (&message, &size);
        if (message.frames == 2 && zeb_proto_reply_is (&message, ZEB_CMD_JOB))
            s_handle_job (self, body, size);
        else
        if (message.frames == 2 && zeb_proto_reply_is (&message, ZEB_CMD_PONG))
            s_handle_pong (self, body, size);
        else {
            self->counters.malformed++;
            char command [40];
            zeb_router_escape ((const char *) zmq_msg_data (&message.parts [0]),
                               zmq_msg_size (&message.parts [0]), command, sizeof (command));
            zsys_warning ("executor %s: dropped '%s' (%d frames): not a JOB or PONG",
                          self->name, command, message.frames);
        }
        zeb_proto_reply_close (&message);
    }
    return 1;
}

static int
s_tick (void *arg)
{
    zeb_executor_t *self = (zeb_executor_t *) arg;
    int wait = -1;
    if (self->dealer) {
        int64_t now = s_now_ms ();
        if (now >= self->ping_due) {
            s_send_empty (self, ZEB_CMD_PING);
            self->counters.pings++;
            self->ping_due = now + ZEB_EXECUTOR_PING_MS;
        }
        wait = (int) (self->ping_due - now);
    }
    if (self->started && self->def->tick) {
        int plugin = self->def->tick (self->state);
        if (plugin >= 0 && (wait < 0 || plugin < wait))
            wait = plugin;
    }
    return wait;
}

//  ---------------------------------------------------------------------
//  The host: an actor of the kit (zeb_actor.h), one per plugin

//  The instance's arguments, copied
static int
s_host_args (zeb_executor_t *self, const zeb_executor_args_t *args, zeb_fault_t *fault)
{
    if (!args || !args->endpoint)
        return zeb_fault_set (fault, ZEB_ECONFIG, "no endpoint to the outbox");
    self->def = args->def? args->def: &zeb_executor_callback;
    assert (self->def->name && self->def->init && self->def->execute && self->def->destroy);
    if (self->def == &zeb_executor_callback
    &&  (!args->callback || !args->name || !*args->name))
        return zeb_fault_set (fault, ZEB_ECONFIG, "an application's action needs a name and a callback");
    self->endpoint = strdup (args->endpoint);
    self->name = strdup (args->name? args->name: self->def->name);
    assert (self->endpoint && self->name);
    self->callback = args->callback;
    self->callback_arg = args->callback_arg;
    self->credit = args->credit? args->credit: self->def->credit? self->def->credit: 1;
    if (self->credit > ZEB_EXECUTOR_MAX_CREDIT)
        self->credit = ZEB_EXECUTOR_MAX_CREDIT;
    return 0;
}

static int
s_host_start (void *state, zeb_actor_t *actor, zconfig_t *config, zeb_fault_t *fault)
{
    zeb_executor_t *self = (zeb_executor_t *) state;
    msgpack_sbuffer_init (&self->buffer);
    self->jobs = zlistx_new ();
    assert (self->jobs);
    self->loop = zeb_actor_loop (actor);
    if (s_host_args (self, (const zeb_executor_args_t *) zeb_actor_arg (actor), fault))
        return fault->code;
    if (zeb_config_apply (config, self->def->config, fault))
        return ZEB_ECONFIG;
    if (zeb_config_parse_endpoint (self->endpoint))
        return zeb_fault_set (fault, ZEB_ECONFIG, "%s: '%s' is not an endpoint", self->name, self->endpoint);
    self->worker = zsys_sprintf ("%s:%s", zeb_actor_node_name (actor), self->name);
    //  On failure the kit drops the readers init added, and stops the host
    int rc = self->def->init (&self->state, self, config, fault);
    if (rc)
        return fault->code? fault->code: zeb_fault_set (fault, rc, "%s: cannot start", self->name);
    self->started = true;
    //  The credit, which init may have set, bounds what is queued both
    //  ways, not libzmq's high-water marks
    int hwm = (int) self->credit + S_HWM_ROOM;
    self->dealer = zeb_proto_dealer_new (self->endpoint, hwm, hwm);
    if (!self->dealer)
        return zeb_fault_set (fault, ZEB_ECONFIG, "%s: cannot connect to '%s'", self->name, self->endpoint);
    zsock_set_linger (self->dealer, ZEB_EXECUTOR_LINGER_MS);
    zeb_loop_add_socket (self->loop, self->dealer, s_handle_outbox, self);
    zeb_loop_set_tick (self->loop, s_tick, self);
    s_send_ready (self);
    self->ping_due = s_now_ms () + ZEB_EXECUTOR_PING_MS;
    return 0;
}

static void
s_host_stop (void *state)
{
    zeb_executor_t *self = (zeb_executor_t *) state;
    if (self->started) {
        self->stopping = true;
        self->def->destroy (&self->state);
        //  What the plugin left in hand (a plugin bug) still gets an answer
        s_job_t *job;
        while ((job = (s_job_t *) zlistx_first (self->jobs))) {
            zsys_warning ("executor %s: job %s left in hand at stop", self->name, job->job.id);
            zeb_job_retry (&job->job, 0, "executor stopping");
        }
        s_send_empty (self, ZEB_CMD_BYE);
    }
    zsock_destroy (&self->dealer);
    zlistx_destroy (&self->jobs);
    msgpack_sbuffer_destroy (&self->buffer);
    free (self->endpoint);
    free (self->name);
    free (self->worker);
}

static void
s_host_stats (void *state, zeb_pack_t *pack)
{
    zeb_executor_t *self = (zeb_executor_t *) state;
    zeb_pack_str (pack, "action", self->name);
    zeb_pack_uint (pack, "jobs", self->counters.jobs);
    zeb_pack_uint (pack, "ok", self->counters.ok);
    zeb_pack_uint (pack, "retry", self->counters.retry);
    zeb_pack_uint (pack, "fail", self->counters.fail);
    zeb_pack_uint (pack, "in_flight", zlistx_size (self->jobs));
    zeb_pack_uint (pack, "credit", self->credit);
    zeb_pack_uint (pack, "malformed", self->counters.malformed);
    zeb_pack_uint (pack, "over_credit", self->counters.over_credit);
    zeb_pack_uint (pack, "unsent", self->counters.unsent);
    zeb_pack_uint (pack, "readies", self->counters.readies);
    zeb_pack_uint (pack, "pings", self->counters.pings);
    if (self->started && self->def->stats)
        self->def->stats (self->state, pack);
}

static const zeb_actor_def_t s_host_def = {
    "executor", "performs one kind of action for the outbox", false, NULL, NULL,
    sizeof (zeb_executor_t), s_host_start, s_host_stop, s_host_stats, NULL
};

void
zeb_executor_host (zsock_t *pipe, void *args)
{
    zeb_actor_run (pipe, &s_host_def, args);
}

zactor_t *
zeb_executor_start (const zeb_executor_args_t *args, zconfig_t *config, zeb_fault_t *fault)
{
    assert (args);
    assert (config);
    zactor_t *actor = zactor_new (zeb_executor_host, (void *) args);
    if (actor && zeb_actor_start (actor, config, NULL, fault))
        zactor_destroy (&actor);
    return actor;
}

zeb_loop_t *
zeb_executor_loop (zeb_executor_t *host)
{
    assert (host);
    return host->loop;
}

const char *
zeb_executor_name (zeb_executor_t *host)
{
    assert (host);
    return host->name;
}

void
zeb_executor_set_credit (zeb_executor_t *host, size_t credit)
{
    assert (host);
    host->credit = credit < 1? 1: credit > ZEB_EXECUTOR_MAX_CREDIT? ZEB_EXECUTOR_MAX_CREDIT: credit;
}

//  ---------------------------------------------------------------------
//  log: one structured line per job (config: level, message)

static int
s_log_init (void **state_p, zeb_executor_t *host, zconfig_t *config, zeb_fault_t *fault)
{
    *state_p = NULL;
    return 0;
}

static void
s_log_execute (void *state, zeb_job_t *job)
{
    json_t *level = json_object_get (job->config, "level");
    json_t *message = json_object_get (job->config, "message");
    const char *name = level? json_string_value (level): "info";
    if (!name || !(streq (name, "debug") || streq (name, "info")
                || streq (name, "warning") || streq (name, "error"))) {
        zeb_job_fail (job, "log: 'level' must be debug, info, warning or error");
        return;
    }
    if (message && !json_is_string (message)) {
        zeb_job_fail (job, "log: 'message' must be a string");
        return;
    }
    const char *text = message? json_string_value (message): "";
    const char *id = zeb_event_id (job->event);
    const char *type = zeb_event_type (job->event);
    char line [2048], escaped [2048];
    snprintf (line, sizeof (line), "action log: %s%sevent=%s type=%s run=%s origin=%s attempt=%u",
              text, *text? " ": "", id? id: "-", type? type: "-", job->run, job->origin, job->attempt);
    //  One line, whatever the message holds
    zeb_router_escape (line, strlen (line), escaped, sizeof (escaped));
    if (streq (name, "debug"))
        zsys_debug ("%s", escaped);
    else
    if (streq (name, "info"))
        zsys_info ("%s", escaped);
    else
    if (streq (name, "warning"))
        zsys_warning ("%s", escaped);
    else
        zsys_error ("%s", escaped);
    zeb_job_ok (job, NULL);
}

static void
s_nothing_destroy (void **state_p)
{
    *state_p = NULL;
}

const zeb_executor_def_t zeb_executor_log = {
    "log", "writes one line to the node's log per action (config: level, message)", NULL, 64,
    s_log_init, s_log_execute, NULL, s_nothing_destroy, NULL
};

//  ---------------------------------------------------------------------
//  callback: an application's own action, a C function in the host thread

static int
s_callback_init (void **state_p, zeb_executor_t *host, zconfig_t *config, zeb_fault_t *fault)
{
    *state_p = host;
    return 0;
}

static void
s_callback_execute (void *state, zeb_job_t *job)
{
    zeb_executor_t *host = (zeb_executor_t *) state;
    const char *error = NULL;
    int status = host->callback (job->event, job->config, &error, host->callback_arg);
    if (status == ZEB_JOB_OK)
        zeb_job_ok (job, NULL);
    else
    if (status == ZEB_JOB_RETRY || status == ZEB_JOB_FAIL) {
        zeb_job_result_t result = { (zeb_job_status_t) status, error? error: "action failed",
                                    NULL, 0, 0, false };
        zeb_job_finish (job, &result);
    }
    else
        zeb_job_fail (job, "%s: callback returned %d, not a zeb_job_status_t", host->name, status);
}

const zeb_executor_def_t zeb_executor_callback = {
    "callback", "an application's own action (zeb_node_register_action)", NULL, 64,
    s_callback_init, s_callback_execute, NULL, s_nothing_destroy, NULL
};

//  ---------------------------------------------------------------------
//  The table of built-in plugins. One row per plugin; the plugin's own
//  file holds its definition (declared in zeb_executor.h).

const zeb_executor_def_t *zeb_executor_table [] = {
    &zeb_executor_webhook,
    &zeb_executor_log,
    &zeb_executor_emit_event,          //  actors/zeb_broker.c
    &zeb_executor_redis_stream,
    &zeb_executor_nats,
    NULL
};

const zeb_executor_def_t *
zeb_executor_lookup (const char *name)
{
    for (size_t row = 0; name && zeb_executor_table [row]; row++)
        if (streq (zeb_executor_table [row]->name, name))
            return zeb_executor_table [row];
    return NULL;
}

//  ---------------------------------------------------------------------
//  Self test: the test plays the outbox on a ROUTER

typedef struct {
    char *endpoint;
    zsock_t *router;
    zframe_t *identity;             //  the host's, from its messages
    zactor_t *host;
} s_test_rig_t;

//  A message from the host: its command and body as JSON (caller owns).
//  False if none came in time.
static bool
s_test_recv (s_test_rig_t *rig, int timeout_ms, char *command, json_t **body)
{
    zsock_set_rcvtimeo (rig->router, timeout_ms);
    zmsg_t *msg = zmsg_recv (rig->router);
    if (!msg)
        return false;
    assert (zmsg_size (msg) == 3);
    zframe_destroy (&rig->identity);
    rig->identity = zmsg_pop (msg);
    char *name = zmsg_popstr (msg);
    snprintf (command, 16, "%s", name);
    zstr_free (&name);
    zframe_t *frame = zmsg_pop (msg);
    *body = zeb_json_from_msgpack (zframe_data (frame), zframe_size (frame), NULL);
    assert (*body);
    zframe_destroy (&frame);
    zmsg_destroy (&msg);
    return true;
}

//  The next message, which must be command (PINGs before it are skipped,
//  unless PING is what is expected); its body (caller owns)
static json_t *
s_test_expect (s_test_rig_t *rig, const char *command)
{
    char got [16];
    json_t *body = NULL;
    while (true) {
        bool received = s_test_recv (rig, 5000, got, &body);
        assert (received);
        if (!streq (got, ZEB_CMD_PING) || streq (command, ZEB_CMD_PING))
            break;
        json_decref (body);
    }
    assert (streq (got, command));
    return body;
}

//  Start a host for args (its endpoint the rig's) and read its READY:
//  returns READY's body (caller owns)
static json_t *
s_test_rig_start (s_test_rig_t *rig, zeb_executor_args_t *args, zconfig_t *config)
{
    memset (rig, 0, sizeof (*rig));
    rig->endpoint = zeb_actor_inproc ("executor-test");
    rig->router = zsock_new_router (rig->endpoint);
    assert (rig->router);
    args->endpoint = rig->endpoint;
    zeb_fault_t fault;
    rig->host = zeb_executor_start (args, config, &fault);
    assert (rig->host);
    return s_test_expect (rig, ZEB_CMD_READY);
}

//  Stop the host: BYE comes last
static void
s_test_rig_stop (s_test_rig_t *rig)
{
    zactor_destroy (&rig->host);
    json_decref (s_test_expect (rig, ZEB_CMD_BYE));
    zframe_destroy (&rig->identity);
    zsock_destroy (&rig->router);
    zstr_free (&rig->endpoint);
}

static void
s_test_send (s_test_rig_t *rig, const char *command, const void *body, size_t size)
{
    zframe_t *to = zframe_dup (rig->identity);
    zframe_send (&to, rig->router, ZFRAME_MORE);
    zstr_sendm (rig->router, command);
    zframe_t *frame = zframe_new (body, size);
    zframe_send (&frame, rig->router, 0);
}

//  Send a JOB (config: JSON text, or NULL)
static void
s_test_job (s_test_rig_t *rig, const char *id, const char *action, const char *config)
{
    zeb_event_t *event = zeb_event_new ("order.placed");
    zeb_event_set (event, "source", "executor-test");
    zeb_event_set (event, "id", "event-1");
    json_t *json = config? zeb_json_parse (config, strlen (config), NULL): NULL;
    zeb_job_t job = { id, "action-key", "run-1", action, "automation-1", json, event, 1, 0, 5000,
                      NULL, NULL };
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    assert (zeb_job_pack (&job, &buffer) == 0);
    s_test_send (rig, ZEB_CMD_JOB, buffer.data, buffer.size);
    msgpack_sbuffer_destroy (&buffer);
    json_decref (json);
    zeb_event_destroy (&event);
}

//  Send a message whose body is JSON text
static void
s_test_send_json (s_test_rig_t *rig, const char *command, const char *text)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    assert (zeb_json_pack_text (text, strlen (text), &buffer, NULL) == 0);
    s_test_send (rig, command, buffer.data, buffer.size);
    msgpack_sbuffer_destroy (&buffer);
}

static const char *
s_test_str (json_t *body, const char *key)
{
    const char *value = json_string_value (json_object_get (body, key));
    return value? value: "";
}

//  The next RESULT: checks its id and status; returns its body (caller owns)
static json_t *
s_test_result (s_test_rig_t *rig, const char *id, const char *status)
{
    json_t *body = s_test_expect (rig, ZEB_CMD_RESULT);
    assert (streq (s_test_str (body, "id"), id));
    assert (streq (s_test_str (body, "status"), status));
    return body;
}

static int64_t
s_test_stat (s_test_rig_t *rig, const char *key)
{
    json_t *stats = zeb_actor_stats (rig->host);
    assert (stats);
    int64_t value = json_integer_value (json_object_get (stats, key));
    json_decref (stats);
    return value;
}

//  The application's action: does what config "answer" says
static int
s_test_callback (zeb_event_t *event, json_t *config, const char **error, void *arg)
{
    int *calls = (int *) arg;
    (*calls)++;
    assert (streq (zeb_event_type (event), "order.placed"));
    const char *answer = json_string_value (json_object_get (config, "answer"));
    static char long_error [2000];
    if (streq (answer, "ok"))
        return ZEB_JOB_OK;
    if (streq (answer, "retry")) {
        *error = "asked to retry";
        return ZEB_JOB_RETRY;
    }
    if (streq (answer, "long")) {
        memset (long_error, 'x', sizeof (long_error) - 1);
        *error = long_error;
        return ZEB_JOB_FAIL;
    }
    if (streq (answer, "fail")) {
        *error = "asked to fail";
        return ZEB_JOB_FAIL;
    }
    return 7;
}

//  hold: an asynchronous plugin that holds its jobs until the test
//  writes to its eventfd; each count written finishes the oldest with a
//  result too large to keep whole
static int s_test_hold_fd = -1;
typedef struct {
    zeb_job_t *held [8];
    size_t count;
} s_test_hold_t;

static int
s_test_hold_release (void *arg)
{
    s_test_hold_t *self = (s_test_hold_t *) arg;
    uint64_t value;
    if (read (s_test_hold_fd, &value, sizeof (value)) != sizeof (value))
        return 0;
    while (value-- && self->count) {
        zeb_job_t *job = self->held [0];
        memmove (self->held, self->held + 1, --self->count * sizeof (zeb_job_t *));
        char text [ZEB_EXECUTOR_MAX_RESULT];
        for (size_t index = 0; index + 2 < sizeof (text); index += 2)
            memcpy (text + index, "\xc3\xa9", 2);            //  é, two bytes each
        text [sizeof (text) - 2] = 0;
        json_t *result = json_pack ("{ss}", "text", text);
        zeb_job_ok (job, result);
        json_decref (result);
    }
    return 0;
}

static int
s_test_hold_init (void **state_p, zeb_executor_t *host, zconfig_t *config, zeb_fault_t *fault)
{
    if (streq (zconfig_get (config, "hold/fail", "no"), "yes"))
        return zeb_fault_set (fault, ZEB_ESTORAGE, "hold: asked to fail");
    s_test_hold_t *self = (s_test_hold_t *) zmalloc (sizeof (s_test_hold_t));
    zeb_executor_set_credit (host, 2);
    zeb_loop_add_fd (zeb_executor_loop (host), s_test_hold_fd, s_test_hold_release, self);
    *state_p = self;
    return 0;
}

static void
s_test_hold_execute (void *state, zeb_job_t *job)
{
    s_test_hold_t *self = (s_test_hold_t *) state;
    assert (self->count < 8);
    self->held [self->count++] = job;
}

static void
s_test_hold_destroy (void **state_p)
{
    s_test_hold_t *self = (s_test_hold_t *) *state_p;
    for (size_t index = 0; index < self->count; index++)
        zeb_job_retry (self->held [index], 0, "executor stopping");
    free (self);
    *state_p = NULL;
}

static void
s_test_hold_stats (void *state, zeb_pack_t *pack)
{
    s_test_hold_t *self = (s_test_hold_t *) state;
    zeb_pack_uint (pack, "held", self->count);
}

static const zeb_executor_def_t s_test_hold_def = {
    "hold", "holds jobs until told", NULL, 1,
    s_test_hold_init, s_test_hold_execute, NULL, s_test_hold_destroy, s_test_hold_stats
};

//  Malformed JOBs are never executed; with an id they are answered FAIL,
//  without one dropped; the host goes on serving
static void
s_test_malformed (s_test_rig_t *rig, bool verbose)
{
    const char *bad [] = {
        "{\"id\": \"m1\", \"key\": \"k\", \"run\": \"r\", \"action\": \"notify\", \"origin\": \"o\","
        " \"attempt\": 1, \"index\": 0, \"timeout\": 1000}",                           //  no event
        "{\"id\": \"m2\", \"key\": \"k\", \"run\": \"r\", \"action\": \"notify\", \"origin\": \"o\","
        " \"attempt\": 1, \"index\": 0, \"timeout\": 1000, \"event\": {\"type\": 5}}", //  not an event
        "{\"id\": \"m3\", \"key\": \"k\", \"run\": \"r\", \"action\": \"notify\", \"origin\": \"o\","
        " \"attempt\": 1, \"index\": 0, \"timeout\": 1000, \"config\": [1],"
        " \"event\": {\"type\": \"a.b\", \"source\": \"s\"}}",                         //  config a list
        "{\"id\": \"m4\", \"key\": \"k\", \"run\": \"r\", \"action\": \"other\", \"origin\": \"o\","
        " \"attempt\": 1, \"index\": 0, \"timeout\": 1000, \"event\": {\"type\": \"a.b\"}}",
        "{\"id\": \"m5\", \"key\": \"\", \"run\": \"r\", \"action\": \"notify\", \"origin\": \"o\"}",
        "{\"id\": \"m6\", \"key\": \"k\", \"run\": \"r\", \"action\": \"notify\", \"origin\": \"o\","
        " \"attempt\": 0, \"index\": 0, \"timeout\": 1000, \"event\": {\"type\": \"a.b\"}}",
        "{\"id\": \"m7\", \"key\": \"k\", \"run\": \"r\", \"action\": \"notify\", \"origin\": \"o\","
        " \"attempt\": 1, \"index\": 0, \"timeout\": -1, \"event\": {\"type\": \"a.b\"}}",
    };
    int64_t before = s_test_stat (rig, "malformed");
    size_t answered = sizeof (bad) / sizeof (bad [0]);
    for (size_t index = 0; index < answered; index++) {
        s_test_send_json (rig, ZEB_CMD_JOB, bad [index]);
        char id [8];
        snprintf (id, sizeof (id), "m%zu", index + 1);
        json_t *body = s_test_result (rig, id, "fail");
        assert (strncmp (s_test_str (body, "error"), "malformed JOB: ", 15) == 0);
        if (verbose)
            printf ("\n   %s: %s", id, s_test_str (body, "error"));
        json_decref (body);
    }
    //  Without an id: not a map, no id, not msgpack, other commands, one
    //  frame, a PONG that is not one
    s_test_send_json (rig, ZEB_CMD_JOB, "[1, 2]");
    s_test_send_json (rig, ZEB_CMD_JOB, "{\"key\": \"k\"}");
    s_test_send (rig, ZEB_CMD_JOB, "\xc1", 1);
    s_test_send_json (rig, "HELLO", "{}");
    zframe_t *to = zframe_dup (rig->identity);
    zframe_send (&to, rig->router, ZFRAME_MORE);
    zstr_send (rig->router, ZEB_CMD_JOB);
    s_test_send_json (rig, ZEB_CMD_PONG, "{\"known\": 3}");
    s_test_job (rig, "j-after", "notify", "{\"answer\": \"ok\"}");
    json_decref (s_test_result (rig, "j-after", "ok"));
    assert (s_test_stat (rig, "malformed") == before + (int64_t) answered + 6);
}

//  An application's action: results, malformed JOBs, READY again
static void
s_test_callback_host (zconfig_t *config, bool verbose)
{
    s_test_rig_t rig;
    int calls = 0;
    zeb_executor_args_t args = { NULL, NULL, "notify", s_test_callback, &calls, 0 };
    json_t *body = s_test_rig_start (&rig, &args, config);
    assert (json_integer_value (json_object_get (body, "credit")) == 64);
    assert (streq (json_string_value (json_array_get (json_object_get (body, "actions"), 0)), "notify"));
    assert (streq (s_test_str (body, "name"), "test:notify"));
    json_decref (body);

    s_test_job (&rig, "j1", "notify", "{\"answer\": \"ok\"}");
    body = s_test_result (&rig, "j1", "ok");
    assert (!json_object_get (body, "error") && !json_object_get (body, "result"));
    json_decref (body);
    s_test_job (&rig, "j2", "notify", "{\"answer\": \"retry\"}");
    body = s_test_result (&rig, "j2", "retry");
    assert (streq (s_test_str (body, "error"), "asked to retry"));
    assert (!json_object_get (body, "retryAfterMs"));
    json_decref (body);
    s_test_job (&rig, "j3", "notify", "{\"answer\": \"fail\"}");
    json_decref (s_test_result (&rig, "j3", "fail"));
    s_test_job (&rig, "j4", "notify", "{\"answer\": \"bogus\"}");
    body = s_test_result (&rig, "j4", "fail");
    assert (strstr (s_test_str (body, "error"), "callback returned 7"));
    json_decref (body);
    //  Errors are kept to ZEB_EXECUTOR_MAX_ERROR bytes
    s_test_job (&rig, "j5", "notify", "{\"answer\": \"long\"}");
    body = s_test_result (&rig, "j5", "fail");
    assert (strlen (s_test_str (body, "error")) == ZEB_EXECUTOR_MAX_ERROR);
    json_decref (body);
    assert (calls == 5);
    s_test_malformed (&rig, verbose);
    assert (calls == 6);
    assert (s_test_stat (&rig, "jobs") == 6);
    assert (s_test_stat (&rig, "ok") == 2 && s_test_stat (&rig, "fail") == 3);
    assert (s_test_stat (&rig, "retry") == 1 && s_test_stat (&rig, "in_flight") == 0);

    //  The outbox restarted: READY again, with the credit free
    s_test_send_json (&rig, ZEB_CMD_PONG, "{\"known\": true}");
    s_test_send_json (&rig, ZEB_CMD_PONG, "{\"known\": false}");
    body = s_test_expect (&rig, ZEB_CMD_READY);
    assert (json_integer_value (json_object_get (body, "credit")) == 64);
    json_decref (body);
    //  The heartbeat
    json_decref (s_test_expect (&rig, ZEB_CMD_PING));
    assert (s_test_stat (&rig, "pings") >= 1 && s_test_stat (&rig, "readies") == 2);
    s_test_rig_stop (&rig);
}

//  log: a line at the level asked for
static void
s_test_log_host (zconfig_t *config)
{
    s_test_rig_t rig;
    zeb_executor_args_t args = { zeb_executor_lookup ("log"), NULL, NULL, NULL, NULL, 0 };
    json_decref (s_test_rig_start (&rig, &args, config));
    s_test_job (&rig, "l1", "log", "{\"level\": \"warning\", \"message\": \"hello\\nthere\"}");
    json_decref (s_test_result (&rig, "l1", "ok"));
    s_test_job (&rig, "l2", "log", NULL);
    json_decref (s_test_result (&rig, "l2", "ok"));
    s_test_job (&rig, "l3", "log", "{\"level\": \"loud\"}");
    json_decref (s_test_result (&rig, "l3", "fail"));
    s_test_job (&rig, "l4", "log", "{\"message\": 5}");
    json_decref (s_test_result (&rig, "l4", "fail"));
    s_test_rig_stop (&rig);
}

//  An asynchronous plugin: the credit holds, a READY owed waits for free
//  credit, large results are cut, jobs in hand are answered at stop
static void
s_test_credit (zconfig_t *config)
{
    s_test_hold_fd = eventfd (0, EFD_NONBLOCK | EFD_CLOEXEC);
    assert (s_test_hold_fd >= 0);
    s_test_rig_t rig;
    zeb_executor_args_t args = { &s_test_hold_def, NULL, NULL, NULL, NULL, 0 };
    json_t *body = s_test_rig_start (&rig, &args, config);
    assert (json_integer_value (json_object_get (body, "credit")) == 2);
    json_decref (body);
    s_test_job (&rig, "h1", "hold", NULL);
    s_test_job (&rig, "h2", "hold", NULL);
    s_test_job (&rig, "h3", "hold", NULL);              //  over the credit
    body = s_test_result (&rig, "h3", "retry");
    assert (strstr (s_test_str (body, "error"), "over its credit"));
    json_decref (body);
    assert (s_test_stat (&rig, "in_flight") == 2 && s_test_stat (&rig, "held") == 2);
    assert (s_test_stat (&rig, "over_credit") == 1 && s_test_stat (&rig, "jobs") == 2);
    //  The outbox restarted while no credit is free: READY when some is.
    //  (The host reads its DEALER before the plugin's eventfd in a turn.)
    s_test_send_json (&rig, ZEB_CMD_PONG, "{\"known\": false}");
    assert (s_test_stat (&rig, "readies") == 1);
    uint64_t one = 1;
    assert (write (s_test_hold_fd, &one, sizeof (one)) == sizeof (one));
    body = s_test_result (&rig, "h1", "ok");
    json_t *result = json_object_get (body, "result");
    assert (json_is_true (json_object_get (result, "truncated")));
    assert (json_integer_value (json_object_get (result, "bytes")) > ZEB_EXECUTOR_MAX_RESULT);
    size_t head = strlen (s_test_str (result, "head"));
    assert (head > ZEB_EXECUTOR_RESULT_HEAD - 4 && head <= ZEB_EXECUTOR_RESULT_HEAD);
    json_decref (body);
    body = s_test_expect (&rig, ZEB_CMD_READY);
    assert (json_integer_value (json_object_get (body, "credit")) == 1);
    json_decref (body);
    //  Stop: h2 comes back RETRY, then BYE
    zactor_destroy (&rig.host);
    body = s_test_result (&rig, "h2", "retry");
    assert (streq (s_test_str (body, "error"), "executor stopping"));
    json_decref (body);
    s_test_rig_stop (&rig);

    //  START errors come back with their code, from the plugin's init,
    //  a bad endpoint, incomplete arguments
    zeb_fault_t fault;
    zconfig_put (config, "hold/fail", "yes");
    args.endpoint = "inproc://executor-test-nobody";
    assert (!zeb_executor_start (&args, config, &fault));
    assert (fault.code == ZEB_ESTORAGE && strstr (fault.text, "asked to fail"));
    zconfig_put (config, "hold/fail", "no");
    args.endpoint = "tcp://no-port";
    assert (!zeb_executor_start (&args, config, &fault));
    assert (fault.code == ZEB_ECONFIG && strstr (fault.text, "tcp://no-port"));
    zeb_executor_args_t unnamed = { NULL, "inproc://executor-test-nobody", NULL, s_test_callback, NULL, 0 };
    assert (!zeb_executor_start (&unnamed, config, &fault) && fault.code == ZEB_ECONFIG);
    zeb_executor_args_t nowhere = { &s_test_hold_def, NULL, NULL, NULL, NULL, 0 };
    assert (!zeb_executor_start (&nowhere, config, &fault) && fault.code == ZEB_ECONFIG);
    close (s_test_hold_fd);
    s_test_hold_fd = -1;
}

void
zeb_executor_test (bool verbose)
{
    printf (" * zeb_executor: ");
    //  The table
    assert (zeb_executor_lookup ("log") == &zeb_executor_log);
    assert (zeb_executor_lookup ("webhook") == &zeb_executor_webhook);
    assert (!zeb_executor_lookup ("callback") && !zeb_executor_lookup (NULL));
    for (size_t row = 0; zeb_executor_table [row]; row++)
        assert (zeb_executor_table [row]->name && zeb_executor_table [row]->help);

    zconfig_t *config = zconfig_new ("root", NULL);
    zconfig_put (config, "node/name", "test");
    s_test_callback_host (config, verbose);
    s_test_log_host (config);
    s_test_credit (config);
    zconfig_destroy (&config);
    printf ("OK\n");
}
