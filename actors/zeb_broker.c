/*  =========================================================================
    zeb_broker - executors that hand an action's event to a broker: zeb's
    own ingest (emit_event), a Redis stream (redis_stream) and NATS (nats)

    See zeb_broker.h for what each takes and reports. The outbox owns every
    retry: a plugin here only says OK, RETRY or FAIL for one attempt, and
    never sleeps or loops. Connections are made on the first job that
    needs one (a broker that is down at start costs nothing until then)
    and dropped after any error that leaves them in doubt; the next job
    makes them again.

    emit_event is asynchronous: each job's event goes out through one
    zeb_client with many publishes in flight (the client coalesces them
    into PUBLISH arrays), and acks are read on the host's loop. A publish
    in flight is a "flight"; it keeps its job until the ack comes or the
    job's timeout passes (then the job is a RETRY and the flight an
    orphan, still in the client's window, until its late ack comes). Should
    orphans fill the window (ingest does not answer at all), the client is
    destroyed and made again. redis_stream and nats are synchronous: the
    job is finished before execute returns.
    =========================================================================
*/

#include "zeb_actors.h"
#include <hiredis/hiredis.h>
#include <nats/nats.h>

//  ---------------------------------------------------------------------
//  What the three share

//  A member of the action's config that must be a non-empty string when
//  present. Returns 0 with *value (NULL if absent and not required), or
//  -1 with the job failed.
static int
s_config_string (zeb_job_t *job, const char *name, bool required, const char **value)
{
    json_t *member = job->config? json_object_get (job->config, name): NULL;
    *value = NULL;
    if (!member && !required)
        return 0;
    if (!json_is_string (member) || json_string_length (member) == 0) {
        zeb_job_fail (job, "%s: config '%s' %s", job->action, name,
                      member? "must be a non-empty string": "is required");
        return -1;
    }
    *value = json_string_value (member);
    return 0;
}

//  The bytes an action sends for a JSON value: a string as it is, any
//  other value as compact JSON. Caller owns the result; NULL if out of
//  memory or the value cannot be written (a NaN).
static char *
s_value_text (json_t *value, size_t *len)
{
    char *text;
    if (json_is_string (value)) {
        *len = json_string_length (value);
        text = (char *) malloc (*len + 1);
        if (text) {
            memcpy (text, json_string_value (value), *len);
            text [*len] = 0;
        }
    }
    else {
        text = json_dumps (value, JSON_COMPACT | JSON_ENCODE_ANY);
        *len = text? strlen (text): 0;
    }
    return text;
}

//  The trigger event as CloudEvents JSON. Caller owns the result; NULL
//  with the job failed if the event has no JSON form.
static char *
s_event_json (zeb_job_t *job, size_t *len)
{
    char *text = job->event? zeb_event_to_json (job->event): NULL;
    if (!text) {
        zeb_job_fail (job, "%s: the trigger event has no JSON form", job->action);
        return NULL;
    }
    *len = strlen (text);
    return text;
}

static int64_t
s_now_ms (void)
{
    return zeb_time_mono_us () / 1000;
}

//  ---------------------------------------------------------------------
//  emit_event: a new event through ingest

#define S_EMIT_SOURCE   "zeb/outbox"

static const zeb_config_key_t s_emit_config [] = {
    { "emit_event/ingest",          "",     ZEB_KEY_ENDPOINT, 0, 0, NULL,
      "ingest endpoint emit_event publishes to (the node fills it in when ingest runs here)" },
    { "emit_event/connect_timeout", "2s",   ZEB_KEY_DURATION, 1, 60000, NULL,
      "longest wait for ingest's WELCOME, and for room to send" },
    { "emit_event/credit",          "1000", ZEB_KEY_INT, 1, ZEB_EXECUTOR_MAX_CREDIT, NULL,
      "emit_event jobs in flight at once" },
    { NULL }
};

typedef struct _s_emit_t s_emit_t;

//  One publish in flight, in one of two lists: live (it has its job,
//  ordered by deadline) or orphans (its job was finished without its ack)
typedef struct _s_flight_t {
    struct _s_flight_t *prev, *next;
    s_emit_t *self;
    zeb_job_t *job;             //  NULL for an orphan
    int64_t deadline;           //  ms, monotonic
    bool publishing;            //  inside publish_async: the caller frees it
    bool settled;               //  its ack came while publishing
} s_flight_t;

typedef struct {
    s_flight_t *head, *tail;
    size_t count;
} s_flights_t;

struct _s_emit_t {
    zeb_executor_t *host;
    char *endpoint;
    int connect_timeout;
    size_t window;              //  the client's window: credit and room for orphans
    zeb_client_t *client;       //  NULL until a job needs it
    int depth;                  //  inside a zeb_client call (callbacks run there)
    s_flights_t live;
    s_flights_t orphans;
    msgpack_sbuffer event;      //  scratch: the event being published
    msgpack_sbuffer data;       //  scratch: its data
    uint64_t published;         //  sent to ingest
    uint64_t stored;            //  acked (duplicates included)
    uint64_t duplicates;
    uint64_t refused;           //  NACKs and events the client refused itself
    uint64_t timeouts;          //  no ack within the job's timeout
    uint64_t resets;            //  clients destroyed for want of answers
};

static void
s_flights_unlink (s_flights_t *list, s_flight_t *flight)
{
    if (flight->prev)
        flight->prev->next = flight->next;
    else
        list->head = flight->next;
    if (flight->next)
        flight->next->prev = flight->prev;
    else
        list->tail = flight->prev;
    flight->prev = flight->next = NULL;
    list->count--;
}

//  Insert by deadline, from the tail: deadlines mostly grow, so this is
//  one step (an orphan's deadline is 0: orphans keep their order of arrival)
static void
s_flights_insert (s_flights_t *list, s_flight_t *flight)
{
    s_flight_t *after = list->tail;
    while (after && after->deadline > flight->deadline)
        after = after->prev;
    flight->prev = after;
    flight->next = after? after->next: list->head;
    if (flight->next)
        flight->next->prev = flight;
    else
        list->tail = flight;
    if (after)
        after->next = flight;
    else
        list->head = flight;
    list->count++;
}

//  Which of ingest's refusals may go another way later
static zeb_job_status_t
s_emit_verdict (int code)
{
    switch (code) {
        case ZEB_EOVERLOADED:
        case ZEB_EFULL:
        case ZEB_ESTORAGE:
        case ZEB_ETIMEOUT:
        case ZEB_EUNREACHABLE:
        case ZEB_EPROTOCOL:
        case ZEB_ERETRY:
        case ZEB_ERROR:
            return ZEB_JOB_RETRY;
        default:
            return ZEB_JOB_FAIL;
    }
}

static void
s_emit_refused (s_emit_t *self, zeb_job_t *job, int code, const char *why)
{
    self->refused++;
    if (s_emit_verdict (code) == ZEB_JOB_RETRY)
        zeb_job_retry (job, 0, "ingest: %s (%s)", why, zeb_error_reason (code));
    else
        zeb_job_fail (job, "ingest refused the event: %s (%s)", why, zeb_error_reason (code));
}

//  An ack (or the client's own verdict) for a flight
static void
s_emit_on_ack (const zeb_ack_t *ack, void *arg)
{
    s_flight_t *flight = (s_flight_t *) arg;
    s_emit_t *self = flight->self;
    zeb_job_t *job = flight->job;
    //  Off the lists before the job is finished: finishing may start others
    if (flight->publishing)
        flight->settled = true;
    else {
        s_flights_unlink (job? &self->live: &self->orphans, flight);
        free (flight);
    }
    if (!job)
        return;                         //  an orphan: its job was a RETRY already
    if (ack->status == 0) {
        self->stored++;
        if (ack->duplicate)
            self->duplicates++;
        json_t *result = json_pack ("{s:I, s:b}", "sequence", (json_int_t) ack->sequence,
                                    "duplicate", ack->duplicate);
        zeb_job_ok (job, result);
        json_decref (result);
    }
    else
        s_emit_refused (self, job, ack->status, ack->error);
}

//  Acks have arrived (a reader on the host's loop)
static int
s_emit_readable (void *arg)
{
    s_emit_t *self = (s_emit_t *) arg;
    self->depth++;
    zeb_client_poll (self->client, 0);
    self->depth--;
    return 0;
}

//  Destroy the client (its callbacks are not run) and RETRY every job in
//  flight with why. Not from inside a zeb_client call.
static void
s_emit_reset (s_emit_t *self, const char *why)
{
    assert (self->depth == 0);
    if (self->client) {
        if (zeb_client_socket (self->client))
            zeb_loop_remove (zeb_executor_loop (self->host), zeb_client_socket (self->client), -1);
        zeb_client_destroy (&self->client);
    }
    //  Take the lists first: a finished job may start another
    s_flights_t live = self->live, orphans = self->orphans;
    memset (&self->live, 0, sizeof (self->live));
    memset (&self->orphans, 0, sizeof (self->orphans));
    while (orphans.head) {
        s_flight_t *flight = orphans.head;
        s_flights_unlink (&orphans, flight);
        free (flight);
    }
    while (live.head) {
        s_flight_t *flight = live.head;
        zeb_job_t *job = flight->job;
        s_flights_unlink (&live, flight);
        free (flight);
        zeb_job_retry (job, 0, "%s", why);
    }
}

//  A connected client, its socket on the host's loop. Returns 0, or -1
//  with the job a RETRY.
static int
s_emit_connect (s_emit_t *self, zeb_job_t *job)
{
    if (self->client)
        return 0;
    self->client = zeb_client_new (self->endpoint);
    if (!self->client) {
        zeb_job_retry (job, 0, "emit_event: cannot make a client for %s", self->endpoint);
        return -1;
    }
    zeb_client_set_timeout (self->client, self->connect_timeout);
    zeb_client_set_window (self->client, self->window);
    self->depth++;
    int rc = zeb_client_connect (self->client);
    self->depth--;
    if (rc == 0
    &&  zeb_loop_add_socket (zeb_executor_loop (self->host), zeb_client_socket (self->client),
                             s_emit_readable, self)) {
        zsys_error ("emit_event: the host's loop has no room for the ingest socket");
        rc = ZEB_ERROR;
    }
    if (rc) {
        zeb_client_destroy (&self->client);
        zeb_job_retry (job, 0, "emit_event: ingest at %s: %s", self->endpoint, zeb_strerror (rc));
        return -1;
    }
    return 0;
}

//  The new event into self->event. Returns 0, or -1 with the job finished.
static int
s_emit_encode (s_emit_t *self, zeb_job_t *job)
{
    const char *type, *source, *subject;
    if (s_config_string (job, "eventType", true, &type)
    ||  s_config_string (job, "source", false, &source)
    ||  s_config_string (job, "subject", false, &subject))
        return -1;
    if (!zeb_event_type_valid (type, strlen (type))) {
        zeb_job_fail (job, "emit_event: eventType '%.*s' is not a valid event type "
                      "(resource.action or module:resource.action)", ZEB_EVENT_MAX_TYPE, type);
        return -1;
    }
    json_t *payload = json_object_get (job->config, "payload");
    msgpack_sbuffer_clear (&self->data);
    if (payload) {
        msgpack_packer pk;
        msgpack_packer_init (&pk, &self->data, msgpack_sbuffer_write);
        if (zeb_json_to_msgpack (payload, &pk)) {
            zeb_job_fail (job, "emit_event: the payload cannot be encoded");
            return -1;
        }
    }
    const char *cause = job->event? zeb_event_id (job->event): NULL;
    const char *correlation = job->event? zeb_event_attr (job->event, ZEB_ATTR_CORRELATIONID): NULL;
    msgpack_sbuffer_clear (&self->event);
    zeb_pack_t pack;
    zeb_pack_init (&pack, &self->event);
    zeb_pack_map (&pack, NULL);
    zeb_pack_str (&pack, "type", type);
    zeb_pack_str (&pack, "source", source? source: S_EMIT_SOURCE);
    if (subject)
        zeb_pack_str (&pack, "subject", subject);
    zeb_pack_str (&pack, "idempotencykey", job->key);
    if (correlation || cause)
        zeb_pack_str (&pack, "correlationid", correlation? correlation: cause);
    if (cause)
        zeb_pack_str (&pack, "causationid", cause);
    if (payload)
        zeb_pack_raw (&pack, "data", self->data.data, self->data.size);
    if (zeb_pack_end (&pack)) {
        zeb_job_retry (job, 0, "emit_event: out of memory");
        return -1;
    }
    return 0;
}

static void
s_emit_execute (void *state, zeb_job_t *job)
{
    s_emit_t *self = (s_emit_t *) state;
    if (s_emit_encode (self, job) || s_emit_connect (self, job))
        return;
    if (zeb_client_pending (self->client) >= self->window) {
        //  Orphans fill the window: ingest has stopped answering
        if (self->depth) {
            zeb_job_retry (job, 0, "emit_event: ingest's window is full");
            return;
        }
        self->resets++;
        s_emit_reset (self, "emit_event: ingest does not answer; connection made again");
        if (s_emit_connect (self, job))
            return;
    }
    s_flight_t *flight = (s_flight_t *) calloc (1, sizeof (s_flight_t));
    if (!flight) {
        zeb_job_retry (job, 0, "emit_event: out of memory");
        return;
    }
    flight->self = self;
    flight->job = job;
    flight->publishing = true;
    //  Acks of other flights may come in here; this flight's own only if
    //  it could not be sent (then rc says so too)
    self->depth++;
    int rc = zeb_client_publish_raw_async (self->client, self->event.data, self->event.size,
                                           s_emit_on_ack, flight);
    self->depth--;
    flight->publishing = false;
    if (rc == 0)
        self->published++;              //  sent (its ack may have come already)
    if (flight->settled)
        free (flight);
    else
    if (rc) {
        free (flight);
        s_emit_refused (self, job, rc, zeb_client_error (self->client, rc));
    }
    else {
        flight->deadline = s_now_ms () + job->timeout_ms;
        s_flights_insert (&self->live, flight);
    }
}

//  Jobs whose ack is overdue become RETRYs; their flights orphans
static int
s_emit_tick (void *state)
{
    s_emit_t *self = (s_emit_t *) state;
    int64_t now = s_now_ms ();
    while (self->live.head && self->live.head->deadline <= now) {
        s_flight_t *flight = self->live.head;
        zeb_job_t *job = flight->job;
        s_flights_unlink (&self->live, flight);
        flight->job = NULL;
        flight->deadline = 0;
        s_flights_insert (&self->orphans, flight);
        self->timeouts++;
        zeb_job_retry (job, 0, "emit_event: no acknowledgement from ingest within %d ms "
                       "(the event may be stored: the retry is deduplicated)", job->timeout_ms);
    }
    if (!self->live.head)
        return -1;
    int64_t wait = self->live.head->deadline - now;
    return wait < INT_MAX? (int) wait: INT_MAX;
}

static void
s_emit_destroy (void **state_p)
{
    assert (state_p);
    s_emit_t *self = (s_emit_t *) *state_p;
    if (self) {
        s_emit_reset (self, "executor stopping");
        msgpack_sbuffer_destroy (&self->event);
        msgpack_sbuffer_destroy (&self->data);
        free (self->endpoint);
        free (self);
        *state_p = NULL;
    }
}

static int
s_emit_init (void **state_p, zeb_executor_t *host, zconfig_t *config, zeb_fault_t *fault)
{
    const char *endpoint = zeb_config_str (config, "emit_event/ingest");
    int64_t connect_timeout, credit;
    if (zeb_config_duration (config, "emit_event/connect_timeout", &connect_timeout)
    ||  zeb_config_int (config, "emit_event/credit", &credit))
        return zeb_fault_set (fault, ZEB_ECONFIG, "emit_event: unreadable configuration");
    if (*endpoint == 0)
        return zeb_fault_set (fault, ZEB_ECONFIG, "emit_event/ingest is not set: "
                              "no ingest to publish to");
    s_emit_t *self = (s_emit_t *) zmalloc (sizeof (s_emit_t));
    if (!self)
        return zeb_fault_set (fault, ZEB_ERROR, "emit_event: out of memory");
    self->host = host;
    self->endpoint = strdup (endpoint);
    self->connect_timeout = (int) connect_timeout;
    self->window = 2 * (size_t) credit;
    zeb_executor_set_credit (host, (size_t) credit);
    msgpack_sbuffer_init (&self->event);
    msgpack_sbuffer_init (&self->data);
    *state_p = self;
    return 0;
}

static void
s_emit_stats (void *state, zeb_pack_t *pack)
{
    s_emit_t *self = (s_emit_t *) state;
    zeb_pack_uint (pack, "published", self->published);
    zeb_pack_uint (pack, "stored", self->stored);
    zeb_pack_uint (pack, "duplicates", self->duplicates);
    zeb_pack_uint (pack, "refused", self->refused);
    zeb_pack_uint (pack, "timeouts", self->timeouts);
    zeb_pack_uint (pack, "resets", self->resets);
    zeb_pack_uint (pack, "awaiting", self->live.count);
    zeb_pack_uint (pack, "orphans", self->orphans.count);
}

const zeb_executor_def_t zeb_executor_emit_event = {
    .name = "emit_event",
    .help = "publish a new event through ingest, caused by the trigger",
    .config = s_emit_config,
    .credit = 1000,
    .init = s_emit_init,
    .execute = s_emit_execute,
    .tick = s_emit_tick,
    .destroy = s_emit_destroy,
    .stats = s_emit_stats
};

//  ---------------------------------------------------------------------
//  redis_stream: XADD

#define S_REDIS_MAX_FIELDS  256

static const zeb_config_key_t s_redis_config [] = {
    { "redis_stream/url",             "",          ZEB_KEY_STR, 0, 0, NULL,
      "redis://[[user]:password@]host[:port][/db]; when set, host and port are not read" },
    { "redis_stream/host",            "127.0.0.1", ZEB_KEY_STR, 0, 0, NULL, "Redis host" },
    { "redis_stream/port",            "6379",      ZEB_KEY_INT, 1, 65535, NULL, "Redis port" },
    { "redis_stream/connect_timeout", "1s",        ZEB_KEY_DURATION, 1, 60000, NULL,
      "longest wait to connect to Redis" },
    { "redis_stream/timeout",         "5s",        ZEB_KEY_DURATION, 1, 3600000, NULL,
      "longest wait for a reply (never past the job's timeout)" },
    { NULL }
};

typedef struct {
    char *host;
    int port;
    char *user;                 //  NULL: none (AUTH with the password alone)
    char *password;             //  NULL: no AUTH
    int64_t db;                 //  0: no SELECT
} s_redis_url_t;

typedef struct {
    s_redis_url_t url;
    char *where;                //  "host:port", for messages
    int64_t connect_timeout;
    int64_t timeout;
    redisContext *redis;        //  NULL until a job needs it, and after an error
    uint64_t added;
    uint64_t connects;
    uint64_t broken;            //  connections dropped after an error
} s_redis_t;

static void
s_redis_url_reset (s_redis_url_t *url)
{
    zstr_free (&url->host);
    zstr_free (&url->user);
    zstr_free (&url->password);
    memset (url, 0, sizeof (*url));
}

//  len bytes of text, %XX decoded. Caller owns the result; NULL if a %
//  is not followed by two hex digits, or decodes to a NUL.
static char *
s_percent_decode (const char *text, size_t len)
{
    char *result = (char *) malloc (len + 1);
    if (!result)
        return NULL;
    size_t size = 0;
    for (size_t index = 0; index < len; index++) {
        if (text [index] != '%') {
            result [size++] = text [index];
            continue;
        }
        if (index + 2 >= len) {
            free (result);
            return NULL;
        }
        char hex [3] = { text [index + 1], text [index + 2], 0 };
        if (!isxdigit ((unsigned char) hex [0]) || !isxdigit ((unsigned char) hex [1])
        ||  (hex [0] == '0' && hex [1] == '0')) {
            free (result);
            return NULL;
        }
        result [size++] = (char) strtol (hex, NULL, 16);
        index += 2;
    }
    result [size] = 0;
    return result;
}

//  Parse redis://[[user]:password@]host[:port][/db] into url (reset first).
//  host may be [IPv6]; user and password are %-decoded. Returns 0, or -1
//  with fault set (its text never quotes the URL, which may hold a password).
static int
s_redis_url_parse (const char *text, s_redis_url_t *url, zeb_fault_t *fault)
{
    s_redis_url_reset (url);
    url->port = 6379;
    if (strncmp (text, "redis://", 8) != 0)
        return zeb_fault_set (fault, ZEB_ECONFIG, "redis_stream/url does not start with redis://");
    const char *rest = text + 8;
    const char *slash = strchr (rest, '/');
    const char *end = slash? slash: rest + strlen (rest);
    const char *at = memrchr (rest, '@', (size_t) (end - rest));
    if (at) {
        const char *colon = memchr (rest, ':', (size_t) (at - rest));
        const char *user_end = colon? colon: at;
        if (user_end > rest)
            url->user = s_percent_decode (rest, (size_t) (user_end - rest));
        if (colon)
            url->password = s_percent_decode (colon + 1, (size_t) (at - colon - 1));
        if ((user_end > rest && !url->user) || (colon && !url->password))
            goto malformed;
        rest = at + 1;
    }
    const char *port = NULL;
    if (*rest == '[') {
        const char *close = memchr (rest, ']', (size_t) (end - rest));
        if (!close || close == rest + 1)
            goto malformed;
        url->host = strndup (rest + 1, (size_t) (close - rest - 1));
        if (close + 1 < end && close [1] != ':')
            goto malformed;
        port = close + 1 < end? close + 2: NULL;
    }
    else {
        const char *colon = memchr (rest, ':', (size_t) (end - rest));
        const char *host_end = colon? colon: end;
        if (host_end == rest)
            goto malformed;
        url->host = strndup (rest, (size_t) (host_end - rest));
        port = colon? colon + 1: NULL;
    }
    if (port) {
        char digits [8];
        int64_t value;
        if (end - port < 1 || end - port > 5)
            goto malformed;
        snprintf (digits, sizeof (digits), "%.*s", (int) (end - port), port);
        if (zeb_config_parse_int (digits, &value) || value < 1 || value > 65535)
            goto malformed;
        url->port = (int) value;
    }
    if (slash && slash [1]) {
        if (zeb_config_parse_int (slash + 1, &url->db) || url->db < 0)
            goto malformed;
    }
    return 0;
malformed:
    s_redis_url_reset (url);
    //  The text is not repeated: it may hold a password
    return zeb_fault_set (fault, ZEB_ECONFIG, "redis_stream/url is not "
                          "redis://[[user]:password@]host[:port][/db]");
}

//  Error replies that may go another way later; the rest (WRONGTYPE,
//  ERR syntax...) will not
static zeb_job_status_t
s_redis_verdict (const char *error)
{
    const char *later [] = { "LOADING", "BUSY", "TRYAGAIN", "MASTERDOWN", "CLUSTERDOWN",
                             "OOM", "NOREPLICAS", "READONLY" };
    for (size_t index = 0; index < sizeof (later) / sizeof (later [0]); index++) {
        size_t len = strlen (later [index]);
        if (strncmp (error, later [index], len) == 0 && (error [len] == ' ' || error [len] == 0))
            return ZEB_JOB_RETRY;
    }
    return ZEB_JOB_FAIL;
}

static struct timeval
s_timeval (int64_t ms)
{
    struct timeval tv = { (time_t) (ms / 1000), (suseconds_t) ((ms % 1000) * 1000) };
    return tv;
}

static void
s_redis_drop (s_redis_t *self)
{
    if (self->redis) {
        redisFree (self->redis);
        self->redis = NULL;
        self->broken++;
    }
}

//  One command on the connection. Returns the reply (caller frees), or
//  NULL with the connection dropped and the job a RETRY.
static redisReply *
s_redis_call (s_redis_t *self, zeb_job_t *job, int argc, const char **argv, const size_t *lens)
{
    redisReply *reply = (redisReply *) redisCommandArgv (self->redis, argc, argv, lens);
    if (!reply) {
        zeb_job_retry (job, 0, "redis at %s: %s", self->where,
                       self->redis->errstr [0]? self->redis->errstr: "no reply");
        s_redis_drop (self);
    }
    return reply;
}

//  A command that sets the connection up (AUTH, SELECT). Returns 0, or -1
//  with the connection dropped and the job a RETRY: a server that will not
//  have us is a setting to fix, after which the action should go through.
static int
s_redis_setup (s_redis_t *self, zeb_job_t *job, int argc, const char **argv)
{
    redisReply *reply = s_redis_call (self, job, argc, argv, NULL);
    if (!reply)
        return -1;
    int rc = 0;
    if (reply->type == REDIS_REPLY_ERROR) {
        zeb_job_retry (job, 0, "redis at %s refused %s: %s", self->where, argv [0], reply->str);
        s_redis_drop (self);
        rc = -1;
    }
    freeReplyObject (reply);
    return rc;
}

//  A connection, authenticated and on its database. Returns 0, or -1
//  with the job a RETRY.
static int
s_redis_connect (s_redis_t *self, zeb_job_t *job)
{
    if (self->redis)
        return 0;
    self->redis = redisConnectWithTimeout (self->url.host, self->url.port,
                                           s_timeval (self->connect_timeout));
    if (!self->redis || self->redis->err) {
        zeb_job_retry (job, 0, "redis at %s: %s", self->where,
                       self->redis? self->redis->errstr: "out of memory");
        if (self->redis)
            redisFree (self->redis);
        self->redis = NULL;
        return -1;
    }
    self->connects++;
    redisSetTimeout (self->redis, s_timeval (self->timeout));
    //  AUTH [user] password, SELECT db
    const char *auth [] = { "AUTH", self->url.user, self->url.password };
    if (self->url.password
    &&  s_redis_setup (self, job, self->url.user? 3: 2,
                       self->url.user? auth: (const char *[]) { "AUTH", self->url.password }))
        return -1;
    char db [24];
    snprintf (db, sizeof (db), "%lld", (long long) self->url.db);
    if (self->url.db && s_redis_setup (self, job, 2, (const char *[]) { "SELECT", db }))
        return -1;
    return 0;
}

//  The XADD command of a job, its texts owned by it
typedef struct {
    int argc;
    const char *argv [6 + 2 * S_REDIS_MAX_FIELDS + 2];
    size_t lens [6 + 2 * S_REDIS_MAX_FIELDS + 2];
    char *owned [S_REDIS_MAX_FIELDS + 1];
    size_t owned_count;
    char maxlen [24];
} s_xadd_t;

static void
s_xadd_arg (s_xadd_t *self, const char *text, size_t len)
{
    self->argv [self->argc] = text;
    self->lens [self->argc++] = len;
}

static void
s_xadd_reset (s_xadd_t *self)
{
    while (self->owned_count)
        free (self->owned [--self->owned_count]);
}

//  Build XADD stream [MAXLEN ~ N] * field value ... id key. Returns 0, or
//  -1 with the job finished.
static int
s_xadd_build (s_xadd_t *self, zeb_job_t *job, const char **stream)
{
    memset (self, 0, offsetof (s_xadd_t, owned));
    self->owned_count = 0;
    if (s_config_string (job, "stream", true, stream))
        return -1;
    json_t *maxlen = json_object_get (job->config, "maxlen");
    json_t *fields = json_object_get (job->config, "fields");
    if (maxlen && (!json_is_integer (maxlen) || json_integer_value (maxlen) < 0)) {
        zeb_job_fail (job, "redis_stream: config 'maxlen' must be an integer of at least 0");
        return -1;
    }
    if (fields && (!json_is_object (fields) || json_object_size (fields) > S_REDIS_MAX_FIELDS)) {
        zeb_job_fail (job, "redis_stream: config 'fields' must be an object of at most %d members",
                      S_REDIS_MAX_FIELDS);
        return -1;
    }
    if (fields && json_object_get (fields, "id")) {
        zeb_job_fail (job, "redis_stream: the field 'id' is the action's key; fields may not set it");
        return -1;
    }
    s_xadd_arg (self, "XADD", 4);
    s_xadd_arg (self, *stream, strlen (*stream));
    if (maxlen) {
        snprintf (self->maxlen, sizeof (self->maxlen), "%lld", (long long) json_integer_value (maxlen));
        s_xadd_arg (self, "MAXLEN", 6);
        s_xadd_arg (self, "~", 1);
        s_xadd_arg (self, self->maxlen, strlen (self->maxlen));
    }
    s_xadd_arg (self, "*", 1);
    size_t len;
    char *text;
    if (!fields) {
        if (!(text = s_event_json (job, &len)))
            return -1;
        self->owned [self->owned_count++] = text;
        s_xadd_arg (self, "event", 5);
        s_xadd_arg (self, text, len);
    }
    const char *name;
    json_t *value;
    json_object_foreach (fields, name, value) {
        if (!(text = s_value_text (value, &len))) {
            zeb_job_fail (job, "redis_stream: field '%s' cannot be written as text", name);
            return -1;
        }
        self->owned [self->owned_count++] = text;
        s_xadd_arg (self, name, strlen (name));
        s_xadd_arg (self, text, len);
    }
    s_xadd_arg (self, "id", 2);
    s_xadd_arg (self, job->key, strlen (job->key));
    return 0;
}

static void
s_redis_execute (void *state, zeb_job_t *job)
{
    s_redis_t *self = (s_redis_t *) state;
    s_xadd_t *xadd = (s_xadd_t *) malloc (sizeof (s_xadd_t));
    const char *stream;
    if (!xadd) {
        zeb_job_retry (job, 0, "redis_stream: out of memory");
        return;
    }
    if (s_xadd_build (xadd, job, &stream) || s_redis_connect (self, job))
        goto cleanup;
    int64_t timeout = job->timeout_ms < self->timeout? job->timeout_ms: self->timeout;
    redisSetTimeout (self->redis, s_timeval (timeout));
    redisReply *reply = s_redis_call (self, job, xadd->argc, xadd->argv, xadd->lens);
    if (!reply)
        goto cleanup;
    if (reply->type == REDIS_REPLY_STRING || reply->type == REDIS_REPLY_STATUS) {
        self->added++;
        json_t *result = json_pack ("{s:s, s:s%}", "stream", stream, "id", reply->str, reply->len);
        zeb_job_ok (job, result);
        json_decref (result);
    }
    else
    if (reply->type == REDIS_REPLY_ERROR) {
        if (s_redis_verdict (reply->str) == ZEB_JOB_RETRY)
            zeb_job_retry (job, 0, "redis at %s: %s", self->where, reply->str);
        else
            zeb_job_fail (job, "redis at %s: %s", self->where, reply->str);
    }
    else
        zeb_job_fail (job, "redis at %s: XADD answered a reply of type %d", self->where, reply->type);
    freeReplyObject (reply);
cleanup:
    s_xadd_reset (xadd);
    free (xadd);
}

static void
s_redis_destroy (void **state_p)
{
    assert (state_p);
    s_redis_t *self = (s_redis_t *) *state_p;
    if (self) {
        if (self->redis)
            redisFree (self->redis);
        s_redis_url_reset (&self->url);
        free (self->where);
        free (self);
        *state_p = NULL;
    }
}

static int
s_redis_init (void **state_p, zeb_executor_t *host, zconfig_t *config, zeb_fault_t *fault)
{
    //  hiredis 0.14 writes with write(2): a server that closed the
    //  connection would raise SIGPIPE and end the whole application. This
    //  runs in the host's thread, which is this plugin's alone: SIGPIPE is
    //  blocked there for good, and a broken write is an EPIPE (a RETRY).
    sigset_t pipe;
    sigemptyset (&pipe);
    sigaddset (&pipe, SIGPIPE);
    pthread_sigmask (SIG_BLOCK, &pipe, NULL);
    s_redis_t *self = (s_redis_t *) zmalloc (sizeof (s_redis_t));
    if (!self)
        return zeb_fault_set (fault, ZEB_ERROR, "redis_stream: out of memory");
    const char *url = zeb_config_str (config, "redis_stream/url");
    int64_t port = 0;
    int rc = 0;
    if (zeb_config_duration (config, "redis_stream/connect_timeout", &self->connect_timeout)
    ||  zeb_config_duration (config, "redis_stream/timeout", &self->timeout)
    ||  zeb_config_int (config, "redis_stream/port", &port))
        rc = zeb_fault_set (fault, ZEB_ECONFIG, "redis_stream: unreadable configuration");
    else
    if (*url)
        rc = s_redis_url_parse (url, &self->url, fault)? ZEB_ECONFIG: 0;
    else {
        self->url.host = strdup (zeb_config_str (config, "redis_stream/host"));
        self->url.port = (int) port;
        if (!*self->url.host)
            rc = zeb_fault_set (fault, ZEB_ECONFIG, "redis_stream/host is empty");
    }
    if (rc) {
        s_redis_destroy ((void **) &self);
        return rc;
    }
    self->where = zsys_sprintf (strchr (self->url.host, ':')? "[%s]:%d": "%s:%d",
                                self->url.host, self->url.port);
    *state_p = self;
    return 0;
}

static void
s_redis_stats (void *state, zeb_pack_t *pack)
{
    s_redis_t *self = (s_redis_t *) state;
    zeb_pack_uint (pack, "added", self->added);
    zeb_pack_uint (pack, "connects", self->connects);
    zeb_pack_uint (pack, "broken", self->broken);
}

const zeb_executor_def_t zeb_executor_redis_stream = {
    .name = "redis_stream",
    .help = "add the event to a Redis stream (XADD), with the action's key as field 'id'",
    .config = s_redis_config,
    .credit = 16,
    .init = s_redis_init,
    .execute = s_redis_execute,
    .destroy = s_redis_destroy,
    .stats = s_redis_stats
};

//  ---------------------------------------------------------------------
//  nats: core or JetStream publish

static const zeb_config_key_t s_nats_config [] = {
    { "nats/url",             "nats://127.0.0.1:4222", ZEB_KEY_STR, 0, 0, NULL,
      "NATS server URL (a comma-separated list for a cluster)" },
    { "nats/jetstream",       "false", ZEB_KEY_BOOL, 0, 0, NULL,
      "publish to JetStream and wait for the stream's ack (an action's jetstream overrides)" },
    { "nats/connect_timeout", "2s",    ZEB_KEY_DURATION, 1, 60000, NULL,
      "longest wait to connect to NATS" },
    { NULL }
};

typedef struct {
    char *url;
    char *where;                //  the URL without credentials, for messages
    bool jetstream;
    int64_t connect_timeout;
    natsConnection *conn;       //  NULL until a job needs it, and after an error
    jsCtx *js;
    uint64_t published;
    uint64_t duplicates;
    uint64_t connects;
    uint64_t broken;
} s_nats_t;

//  A URL (or a comma-separated list of them) without the user and
//  password any of them holds: "nats://app:pw@host:4222" is
//  "nats://host:4222". Caller owns the result.
static char *
s_url_public (const char *url)
{
    char *result = strdup (url);
    char *write = result;
    for (const char *read = url; *read; ) {
        const char *scheme = strstr (read, "://");
        const char *comma = strchr (read, ',');
        const char *end = comma? comma: read + strlen (read);
        const char *host = scheme && scheme < end? scheme + 3: read;
        const char *at = NULL;
        for (const char *next = host; next < end && *next != '/'; next++)
            if (*next == '@')
                at = next;
        memmove (write, read, (size_t) (host - read));
        write += host - read;
        const char *rest = at? at + 1: host;
        memmove (write, rest, (size_t) (end - rest));
        write += end - rest;
        if (!comma)
            break;
        *write++ = ',';
        read = comma + 1;
    }
    *write = 0;
    return result;
}

//  What a publish's status means: RETRY or FAIL, and whether the
//  connection is in doubt (*drop)
static zeb_job_status_t
s_nats_verdict (natsStatus status, jsErrCode code, bool *drop)
{
    *drop = false;
    if (code == JSInsufficientResourcesErr || code == JSClusterNotAvailErr
    ||  code == JSStreamStoreFailedErr)
        return ZEB_JOB_RETRY;
    if (code)
        return ZEB_JOB_FAIL;            //  the stream refused it (JSStreamNotFoundErr...)
    switch (status) {
        case NATS_CONNECTION_CLOSED:
        case NATS_CONNECTION_DISCONNECTED:
        case NATS_NO_SERVER:
        case NATS_IO_ERROR:
        case NATS_STALE_CONNECTION:
        case NATS_PROTOCOL_ERROR:
        case NATS_NOT_YET_CONNECTED:
        case NATS_DRAINING:
        case NATS_CONNECTION_AUTH_FAILED:
            *drop = true;
            return ZEB_JOB_RETRY;
        case NATS_TIMEOUT:
        case NATS_NO_MEMORY:
        case NATS_INSUFFICIENT_BUFFER:
        case NATS_SLOW_CONSUMER:
            return ZEB_JOB_RETRY;
        default:
            return ZEB_JOB_FAIL;        //  NO_RESPONDERS (no stream), INVALID_SUBJECT,
                                        //  MAX_PAYLOAD, NOT_PERMITTED...
    }
}

//  True if subject can be published on: dot-separated tokens, none empty
//  and none a wildcard ("*", ">"), no spaces or control characters.
//  libnats checks none of this, and "a b" would go out as subject "a" with
//  reply subject "b".
static bool
s_nats_subject_valid (const char *subject)
{
    size_t token = 0;                   //  bytes of the current token
    bool wildcard = false;              //  the current token is "*" or ">" so far
    for (const unsigned char *next = (const unsigned char *) subject; ; next++) {
        if (*next == '.' || *next == 0) {
            if (token == 0 || (token == 1 && wildcard))
                return false;
            if (*next == 0)
                return true;
            token = 0;
            continue;
        }
        if (*next <= ' ' || *next == 0x7f)
            return false;
        wildcard = token == 0 && (*next == '*' || *next == '>');
        token++;
    }
}

static void
s_nats_drop (s_nats_t *self)
{
    if (self->js) {
        jsCtx_Destroy (self->js);
        self->js = NULL;
    }
    if (self->conn) {
        natsConnection_Destroy (self->conn);
        self->conn = NULL;
        self->broken++;
    }
}

//  A connection and its JetStream context. Returns 0, or -1 with the job
//  a RETRY.
static int
s_nats_connect (s_nats_t *self, zeb_job_t *job)
{
    if (self->conn && natsConnection_Status (self->conn) == NATS_CONN_STATUS_CONNECTED)
        return 0;
    s_nats_drop (self);
    natsOptions *options = NULL;
    natsStatus status = natsOptions_Create (&options);
    if (status == NATS_OK)
        status = natsOptions_SetURL (options, self->url);
    if (status == NATS_OK)
        status = natsOptions_SetTimeout (options, self->connect_timeout);
    //  The outbox retries, not libnats: a broken connection closes, and
    //  the next job makes a new one
    if (status == NATS_OK)
        status = natsOptions_SetAllowReconnect (options, false);
    if (status == NATS_OK)
        status = natsOptions_SetName (options, "zeb");
    if (status == NATS_OK)
        status = natsConnection_Connect (&self->conn, options);
    if (status == NATS_OK)
        status = natsConnection_JetStream (&self->js, self->conn, NULL);
    natsOptions_Destroy (options);
    if (status != NATS_OK) {
        zeb_job_retry (job, 0, "nats at %s: %s", self->where, natsStatus_GetText (status));
        s_nats_drop (self);
        return -1;
    }
    self->connects++;
    return 0;
}

//  The payload of a job: config's payload, or the trigger's CloudEvents
//  JSON. Caller owns it. NULL with the job failed.
static char *
s_nats_payload (zeb_job_t *job, size_t *len, bool *cloudevent)
{
    json_t *payload = json_object_get (job->config, "payload");
    *cloudevent = payload == NULL;
    if (!payload)
        return s_event_json (job, len);
    char *text = s_value_text (payload, len);
    if (!text)
        zeb_job_fail (job, "nats: the payload cannot be written as text");
    else
    if (*len > INT_MAX) {
        zeb_job_fail (job, "nats: a payload of %zu bytes is too large", *len);
        zstr_free (&text);
    }
    return text;
}

//  Publish msg to JetStream and finish the job with the stream's ack
static void
s_nats_publish_js (s_nats_t *self, zeb_job_t *job, natsMsg *msg)
{
    jsPubOptions options;
    jsPubOptions_Init (&options);
    options.MsgId = job->key;           //  Nats-Msg-Id: the stream deduplicates
    options.MaxWait = job->timeout_ms;
    jsPubAck *ack = NULL;
    jsErrCode code = 0;
    natsStatus status = js_PublishMsg (&ack, self->js, msg, &options, &code);
    if (status == NATS_OK) {
        self->published++;
        if (ack->Duplicate)
            self->duplicates++;
        json_t *result = json_pack ("{s:s, s:I, s:b}", "stream", ack->Stream? ack->Stream: "",
                                    "seq", (json_int_t) ack->Sequence, "duplicate", ack->Duplicate);
        zeb_job_ok (job, result);
        json_decref (result);
        jsPubAck_Destroy (ack);
        return;
    }
    bool drop;
    zeb_job_status_t verdict = s_nats_verdict (status, code, &drop);
    const char *detail = nats_GetLastError (NULL);
    const char *subject = natsMsg_GetSubject (msg);
    if (status == NATS_NO_RESPONDERS || code == JSStreamNotFoundErr)
        zeb_job_fail (job, "nats: no JetStream stream takes subject '%s'", subject);
    else
    if (verdict == ZEB_JOB_RETRY)
        zeb_job_retry (job, 0, "nats at %s: %s (%s)", self->where, natsStatus_GetText (status),
                       detail? detail: "");
    else
        zeb_job_fail (job, "nats: JetStream refused the message on '%s': %s (%s, code %d)", subject,
                      natsStatus_GetText (status), detail? detail: "", (int) code);
    if (drop)
        s_nats_drop (self);
}

//  Core publish, then a flush: when it returns, the server has the message
static void
s_nats_publish_core (s_nats_t *self, zeb_job_t *job, natsMsg *msg)
{
    natsStatus status = natsMsgHeader_Set (msg, "Nats-Msg-Id", job->key);
    if (status == NATS_OK)
        status = natsConnection_PublishMsg (self->conn, msg);
    if (status == NATS_OK)
        status = natsConnection_FlushTimeout (self->conn, job->timeout_ms);
    if (status == NATS_OK) {
        self->published++;
        json_t *result = json_pack ("{s:s}", "subject", natsMsg_GetSubject (msg));
        zeb_job_ok (job, result);
        json_decref (result);
        return;
    }
    bool drop;
    if (s_nats_verdict (status, 0, &drop) == ZEB_JOB_RETRY)
        zeb_job_retry (job, 0, "nats at %s: %s", self->where, natsStatus_GetText (status));
    else
        zeb_job_fail (job, "nats: cannot publish on '%s': %s", natsMsg_GetSubject (msg),
                      natsStatus_GetText (status));
    if (drop)
        s_nats_drop (self);
}

static void
s_nats_execute (void *state, zeb_job_t *job)
{
    s_nats_t *self = (s_nats_t *) state;
    const char *subject;
    if (s_config_string (job, "subject", true, &subject))
        return;
    if (!s_nats_subject_valid (subject)) {
        zeb_job_fail (job, "nats: '%.*s' is not a subject to publish on", 255, subject);
        return;
    }
    json_t *jetstream = json_object_get (job->config, "jetstream");
    if (jetstream && !json_is_boolean (jetstream)) {
        zeb_job_fail (job, "nats: config 'jetstream' must be true or false");
        return;
    }
    size_t len;
    bool cloudevent;
    char *payload = s_nats_payload (job, &len, &cloudevent);
    if (!payload)
        return;
    natsMsg *msg = NULL;
    natsStatus status = natsMsg_Create (&msg, subject, NULL, payload, (int) len);
    if (status == NATS_OK && cloudevent)
        status = natsMsgHeader_Set (msg, "Content-Type", "application/cloudevents+json");
    if (status != NATS_OK)
        zeb_job_fail (job, "nats: cannot make a message on '%s': %s", subject,
                      natsStatus_GetText (status));
    else
    if (s_nats_connect (self, job) == 0) {
        if (jetstream? json_is_true (jetstream): self->jetstream)
            s_nats_publish_js (self, job, msg);
        else
            s_nats_publish_core (self, job, msg);
    }
    natsMsg_Destroy (msg);
    free (payload);
}

static void
s_nats_destroy (void **state_p)
{
    assert (state_p);
    s_nats_t *self = (s_nats_t *) *state_p;
    if (self) {
        s_nats_drop (self);
        free (self->url);
        free (self->where);
        free (self);
        *state_p = NULL;
    }
}

static int
s_nats_init (void **state_p, zeb_executor_t *host, zconfig_t *config, zeb_fault_t *fault)
{
    const char *url = zeb_config_str (config, "nats/url");
    bool jetstream;
    int64_t connect_timeout;
    if (zeb_config_bool (config, "nats/jetstream", &jetstream)
    ||  zeb_config_duration (config, "nats/connect_timeout", &connect_timeout))
        return zeb_fault_set (fault, ZEB_ECONFIG, "nats: unreadable configuration");
    if (*url == 0)
        return zeb_fault_set (fault, ZEB_ECONFIG, "nats/url is empty");
    s_nats_t *self = (s_nats_t *) zmalloc (sizeof (s_nats_t));
    if (!self)
        return zeb_fault_set (fault, ZEB_ERROR, "nats: out of memory");
    self->url = strdup (url);
    self->where = s_url_public (url);
    self->jetstream = jetstream;
    self->connect_timeout = connect_timeout;
    *state_p = self;
    return 0;
}

static void
s_nats_stats (void *state, zeb_pack_t *pack)
{
    s_nats_t *self = (s_nats_t *) state;
    zeb_pack_uint (pack, "published", self->published);
    zeb_pack_uint (pack, "duplicates", self->duplicates);
    zeb_pack_uint (pack, "connects", self->connects);
    zeb_pack_uint (pack, "broken", self->broken);
}

const zeb_executor_def_t zeb_executor_nats = {
    .name = "nats",
    .help = "publish the event on a NATS subject, or to JetStream with Nats-Msg-Id = the action's key",
    .config = s_nats_config,
    .credit = 16,
    .init = s_nats_init,
    .execute = s_nats_execute,
    .destroy = s_nats_destroy,
    .stats = s_nats_stats
};

//  ---------------------------------------------------------------------
//  Self test: what needs no server (tests/broker_test.c runs the plugins
//  against real ones through the real host)

static void
s_test_url (void)
{
    s_redis_url_t url = { 0 };
    assert (s_redis_url_parse ("redis://localhost", &url, NULL) == 0);
    assert (streq (url.host, "localhost") && url.port == 6379);
    assert (!url.user && !url.password && url.db == 0);
    assert (s_redis_url_parse ("redis://:s%40cret@10.0.0.1:6380/2", &url, NULL) == 0);
    assert (streq (url.host, "10.0.0.1") && url.port == 6380 && url.db == 2);
    assert (!url.user && streq (url.password, "s@cret"));
    assert (s_redis_url_parse ("redis://app:p:w@[::1]:7000/", &url, NULL) == 0);
    assert (streq (url.host, "::1") && url.port == 7000 && url.db == 0);
    assert (streq (url.user, "app") && streq (url.password, "p:w"));
    assert (s_redis_url_parse ("redis://a@b@host", &url, NULL) == 0);
    assert (streq (url.user, "a@b") && !url.password && streq (url.host, "host"));
    const char *bad [] = {
        "http://host", "redis://", "redis://:6379", "redis://host:0", "redis://host:65536",
        "redis://host:", "redis://host:12a", "redis://host:123456", "redis://:%zz@host",
        "redis://:%4@host", "redis://:%00@host", "redis://host/x", "redis://host/-1",
        "redis://[::1", "redis://[]:1", "redis://[::1]x", "redis://@", "redis://:secret@host:0"
    };
    for (size_t index = 0; index < sizeof (bad) / sizeof (bad [0]); index++) {
        zeb_fault_t fault = { 0 };
        if (s_redis_url_parse (bad [index], &url, &fault) == 0)
            printf ("\nredis URL '%s' was taken\n", bad [index]);
        assert (fault.code == ZEB_ECONFIG && !url.host);
        assert (!strstr (fault.text, "secret"));    //  the URL is not quoted
    }
    s_redis_url_reset (&url);
}

static void
s_test_verdicts (void)
{
    assert (s_redis_verdict ("WRONGTYPE Operation against a key holding the wrong kind of value")
            == ZEB_JOB_FAIL);
    assert (s_redis_verdict ("ERR syntax error") == ZEB_JOB_FAIL);
    assert (s_redis_verdict ("BUSYGROUP Consumer Group name already exists") == ZEB_JOB_FAIL);
    assert (s_redis_verdict ("LOADING Redis is loading the dataset in memory") == ZEB_JOB_RETRY);
    assert (s_redis_verdict ("OOM command not allowed") == ZEB_JOB_RETRY);
    assert (s_redis_verdict ("TRYAGAIN") == ZEB_JOB_RETRY);

    assert (s_emit_verdict (ZEB_EOVERLOADED) == ZEB_JOB_RETRY);
    assert (s_emit_verdict (ZEB_EFULL) == ZEB_JOB_RETRY);
    assert (s_emit_verdict (ZEB_ETIMEOUT) == ZEB_JOB_RETRY);
    assert (s_emit_verdict (ZEB_EUNREACHABLE) == ZEB_JOB_RETRY);
    assert (s_emit_verdict (ZEB_ESCHEMA) == ZEB_JOB_FAIL);
    assert (s_emit_verdict (ZEB_EINVALID) == ZEB_JOB_FAIL);
    assert (s_emit_verdict (ZEB_ETOOBIG) == ZEB_JOB_FAIL);
    assert (s_emit_verdict (ZEB_EFORBIDDEN) == ZEB_JOB_FAIL);

    bool drop;
    assert (s_nats_verdict (NATS_TIMEOUT, 0, &drop) == ZEB_JOB_RETRY && !drop);
    assert (s_nats_verdict (NATS_CONNECTION_CLOSED, 0, &drop) == ZEB_JOB_RETRY && drop);
    assert (s_nats_verdict (NATS_NO_SERVER, 0, &drop) == ZEB_JOB_RETRY && drop);
    assert (s_nats_verdict (NATS_NO_RESPONDERS, 0, &drop) == ZEB_JOB_FAIL && !drop);
    assert (s_nats_verdict (NATS_INVALID_SUBJECT, 0, &drop) == ZEB_JOB_FAIL);
    assert (s_nats_verdict (NATS_MAX_PAYLOAD, 0, &drop) == ZEB_JOB_FAIL);
    assert (s_nats_verdict (NATS_ERR, JSStreamNotFoundErr, &drop) == ZEB_JOB_FAIL);
    assert (s_nats_verdict (NATS_ERR, JSInsufficientResourcesErr, &drop) == ZEB_JOB_RETRY);
    assert (s_nats_verdict (NATS_ERR, JSStreamWrongLastSequenceErr, &drop) == ZEB_JOB_FAIL);

    const char *urls [][2] = {
        { "nats://127.0.0.1:4222", "nats://127.0.0.1:4222" },
        { "nats://app:s3cret@host:4222", "nats://host:4222" },
        { "tls://token@a:1,nats://b:2,u:p@c", "tls://a:1,nats://b:2,c" },
        { "nats://host/x@y", "nats://host/x@y" }
    };
    for (size_t index = 0; index < sizeof (urls) / sizeof (urls [0]); index++) {
        char *where = s_url_public (urls [index][0]);
        assert (streq (where, urls [index][1]));
        free (where);
    }
    assert (s_nats_subject_valid ("orders"));
    assert (s_nats_subject_valid ("orders.placed.eu-1"));
    assert (s_nats_subject_valid ("a*.b>"));
    const char *subjects [] = { "", ".", "a.", ".a", "a..b", "a b", "a\tb", "a.*", "*", ">",
                                "a.>", "a.*.b", "a\x7f" };
    for (size_t index = 0; index < sizeof (subjects) / sizeof (subjects [0]); index++)
        assert (!s_nats_subject_valid (subjects [index]));
}

static void
s_test_texts (void)
{
    json_t *value = json_stringn ("a\0b", 3);
    size_t len;
    char *text = s_value_text (value, &len);
    assert (len == 3 && memcmp (text, "a\0b", 4) == 0);
    free (text);
    json_decref (value);
    value = json_pack ("{s:i, s:[b, n]}", "n", 1, "list", true);
    text = s_value_text (value, &len);
    assert (streq (text, "{\"n\":1,\"list\":[true,null]}") && len == strlen (text));
    free (text);
    json_decref (value);
    value = json_integer (42);
    text = s_value_text (value, &len);
    assert (streq (text, "42"));
    free (text);
    json_decref (value);
}

//  The event emit_event publishes, built from a hand-made job
static void
s_test_emit_encode (void)
{
    s_emit_t emit;
    memset (&emit, 0, sizeof (emit));
    msgpack_sbuffer_init (&emit.event);
    msgpack_sbuffer_init (&emit.data);
    zeb_event_t *trigger = zeb_event_new ("order.placed");
    zeb_event_set (trigger, "source", "shop");
    zeb_event_set (trigger, "id", "trigger-1");
    json_t *config = json_pack ("{s:s, s:{s:i}}", "eventType", "order.confirmed",
                                "payload", "order", 42);
    zeb_job_t job = { "attempt-1", "action-key-1", "run-1", "emit_event", "automation-1",
                      config, trigger, 1, 0, 5000, NULL, NULL };
    for (int round = 0; round < 2; round++) {
        assert (s_emit_encode (&emit, &job) == 0);
        zeb_fault_t fault;
        zeb_event_t *event = zeb_event_decode (emit.event.data, emit.event.size, &fault);
        assert (event);
        assert (zeb_event_validate (event, &fault) == 0);
        assert (streq (zeb_event_type (event), "order.confirmed"));
        assert (streq (zeb_event_attr (event, ZEB_ATTR_IDEMPOTENCYKEY), "action-key-1"));
        assert (streq (zeb_event_attr (event, ZEB_ATTR_CAUSATIONID), "trigger-1"));
        char *data = zeb_event_data_json (event);
        assert (streq (data, "{\"order\":42}"));
        free (data);
        if (round == 0) {
            //  No correlationid on the trigger: the trigger's id starts one
            assert (streq (zeb_event_source (event), S_EMIT_SOURCE));
            assert (!zeb_event_subject (event));
            assert (streq (zeb_event_attr (event, ZEB_ATTR_CORRELATIONID), "trigger-1"));
            zeb_event_set (trigger, "correlationid", "conversation-7");
            json_object_set_new (config, "source", json_string ("billing"));
            json_object_set_new (config, "subject", json_string ("Order:42"));
        }
        else {
            assert (streq (zeb_event_source (event), "billing"));
            assert (streq (zeb_event_subject (event), "Order:42"));
            assert (streq (zeb_event_attr (event, ZEB_ATTR_CORRELATIONID), "conversation-7"));
        }
        zeb_event_destroy (&event);
    }
    json_decref (config);
    zeb_event_destroy (&trigger);
    msgpack_sbuffer_destroy (&emit.event);
    msgpack_sbuffer_destroy (&emit.data);
}

static void
s_test_flights (void)
{
    s_flights_t list = { NULL, NULL, 0 };
    s_flight_t flights [5];
    int64_t deadlines [5] = { 10, 30, 20, 30, 5 };
    for (int index = 0; index < 5; index++) {
        memset (&flights [index], 0, sizeof (s_flight_t));
        flights [index].deadline = deadlines [index];
        s_flights_insert (&list, &flights [index]);
    }
    //  By deadline; equal deadlines in their order of insertion
    s_flight_t *order [5] = { &flights [4], &flights [0], &flights [2], &flights [1], &flights [3] };
    s_flight_t *flight = list.head;
    for (int index = 0; index < 5; index++, flight = flight->next)
        assert (flight == order [index]);
    assert (!flight && list.tail == &flights [3] && list.count == 5);
    s_flights_unlink (&list, &flights [2]);
    s_flights_unlink (&list, &flights [4]);
    s_flights_unlink (&list, &flights [3]);
    assert (list.head == &flights [0] && list.tail == &flights [1] && list.count == 2);
    assert (flights [0].next == &flights [1] && flights [1].prev == &flights [0]);
    s_flights_unlink (&list, &flights [0]);
    s_flights_unlink (&list, &flights [1]);
    assert (!list.head && !list.tail && list.count == 0);
}

//  Each map's defaults pass its own checks, and the keys are the plugin's
static void
s_test_maps (void)
{
    const zeb_executor_def_t *defs [] = {
        &zeb_executor_emit_event, &zeb_executor_redis_stream, &zeb_executor_nats
    };
    for (size_t index = 0; index < 3; index++) {
        zconfig_t *config = zconfig_new ("root", NULL);
        zeb_fault_t fault;
        assert (zeb_config_apply (config, defs [index]->config, &fault) == 0);
        for (const zeb_config_key_t *key = defs [index]->config; key->path; key++) {
            size_t len = strlen (defs [index]->name);
            assert (strncmp (key->path, defs [index]->name, len) == 0 && key->path [len] == '/');
        }
        assert (zeb_executor_lookup (defs [index]->name) == defs [index]);
        zconfig_destroy (&config);
    }
}

void
zeb_broker_test (bool verbose)
{
    printf (" * zeb_broker: ");
    s_test_url ();
    s_test_verdicts ();
    s_test_texts ();
    s_test_emit_encode ();
    s_test_flights ();
    s_test_maps ();
    printf ("OK\n");
}
