/*  =========================================================================
    zeb_http_node - the node's routes: cron triggers (/api/cron), the
    counters of every actor (/metrics) and readiness (/readyz)

    /api/cron is the cron actor's verbs (PROTOCOL 4d) one for one.
    /metrics asks each actor the gateway knows for its STATS and writes
    the numbers in Prometheus' text exposition format: zeb_ACTOR_PATH,
    counters with _total, a node label; maps of counters by something
    (nacks_by_reason) become one family with that label. /readyz is 200
    once the node said every actor started and each of them answers.
    =========================================================================
*/

#include "zeb_http_int.h"

//  ---------------------------------------------------------------------
//  The actors the gateway knows

static const char *s_peer_names [ZEB_HTTP_PEERS] = {
    "ingest", "log", "registry", "outbox", "automation", "cron"
};

static const char *
s_peer_endpoint (zeb_http_t *http, int peer)
{
    switch (peer) {
        case 0: return http->ingest;
        case 1: return http->log;
        case 2: return http->registry;
        case 3: return http->outbox;
        case 4: return http->automation;
        default: return http->cron;
    }
}

//  This worker's client of peer, or NULL when the node has none
static zeb_actor_client_t *
s_peer_client (zeb_http_req_t *req, int peer, int timeout)
{
    zeb_http_worker_t *worker = req->worker;
    if (!worker->peers [peer])
        worker->peers [peer] = zeb_actor_client_new (s_peer_endpoint (req->http, peer),
                                                     s_peer_names [peer]);
    if (worker->peers [peer])
        zeb_actor_client_set_timeout (worker->peers [peer], timeout);
    return worker->peers [peer];
}

//  ---------------------------------------------------------------------
//  Cron

#define S_CRON 5

static int
s_cron_call (zeb_http_req_t *req, const char *verb, json_t *body, int status)
{
    zeb_actor_client_t *cron = s_peer_client (req, S_CRON, (int) req->http->call_timeout);
    if (!cron) {
        json_decref (body);
        return zeb_http_reply_error (req, 503, "UNREACHABLE", "this node runs no cron triggers");
    }
    json_t *reply = NULL;
    zeb_fault_t fault;
    int rc = zeb_actor_client_call (cron, verb, body, &reply, &fault);
    json_decref (body);
    if (rc)
        return zeb_http_reply_fault (req, rc, reply, &fault);
    //  PUT: 201 for a new trigger (created when updated)
    if (status == 201) {
        json_t *created = json_object_get (reply, "createdAt");
        json_t *updated = json_object_get (reply, "updatedAt");
        if (!(created && updated && json_equal (created, updated)))
            status = 200;
    }
    return zeb_http_reply_json (req, status, reply? reply: json_object (), NULL);
}

static json_t *
s_name_body (zeb_http_req_t *req)
{
    return json_pack ("{s:s}", "name", req->params [0]);
}

int
zeb_http_cron_list (zeb_http_req_t *req)
{
    return s_cron_call (req, "LIST", json_object (), 200);
}

int
zeb_http_cron_post (zeb_http_req_t *req)
{
    json_t *trigger = zeb_http_body_json (req, true);
    if (!trigger)
        return req->status;
    return s_cron_call (req, "PUT", json_pack ("{s:o, s:b}", "trigger", trigger, "create", 1), 201);
}

int
zeb_http_cron_put (zeb_http_req_t *req)
{
    json_t *trigger = zeb_http_body_keyed (req, "name");
    if (!trigger)
        return req->status;
    return s_cron_call (req, "PUT", json_pack ("{s:o}", "trigger", trigger), 201);
}

int
zeb_http_cron_get (zeb_http_req_t *req)
{
    return s_cron_call (req, "GET", s_name_body (req), 200);
}

int
zeb_http_cron_delete (zeb_http_req_t *req)
{
    return s_cron_call (req, "DELETE", s_name_body (req), 200);
}

int
zeb_http_cron_enable (zeb_http_req_t *req)
{
    return s_cron_call (req, "ENABLE", s_name_body (req), 200);
}

int
zeb_http_cron_disable (zeb_http_req_t *req)
{
    return s_cron_call (req, "DISABLE", s_name_body (req), 200);
}

int
zeb_http_cron_run (zeb_http_req_t *req)
{
    return s_cron_call (req, "RUN", s_name_body (req), 200);
}

//  ---------------------------------------------------------------------
//  /metrics

//  Values that are levels, not counts: they may fall
static bool
s_is_gauge (const char *path)
{
    static const char *gauges [] = {
        "runs", "in_flight", "map_size", "waiting", "rules", "enabled", "position", "reading",
        "triggers", "bus_hwm", "bus_subscriptions", "batch_max", "commit_us_max",
        "held_for_lookup", "action_workers", "action_waiting", "circuit_redrive_pending", NULL
    };
    for (size_t index = 0; gauges [index]; index++)
        if (streq (path, gauges [index]))
            return true;
    return strncmp (path, "store_", 6) == 0;
}

//  name with what is not [a-zA-Z0-9_] as '_'
static void
s_metric_name (char *name, size_t size, const char *actor, const char *path)
{
    snprintf (name, size, "zeb_%s_%s", actor, path);
    for (char *c = name; *c; c++)
        if (!isalnum ((unsigned char) *c) && *c != '_')
            *c = '_';
}

static void
s_metric_value (FILE *out, json_t *value)
{
    if (json_is_integer (value))
        fprintf (out, " %lld\n", (long long) json_integer_value (value));
    else
    if (json_is_real (value))
        fprintf (out, " %.17g\n", json_real_value (value));
    else
        fprintf (out, " %d\n", json_is_true (value)? 1: 0);
}

static void
s_metric_label (FILE *out, const char *text)
{
    for (const char *c = text; *c; c++)
        if (*c == '"' || *c == '\\')
            fprintf (out, "\\%c", *c);
        else
        if (*c == '\n')
            fputs ("\\n", out);
        else
            fputc (*c, out);
}

static bool
s_is_number (json_t *value)
{
    return json_is_number (value) || json_is_boolean (value);
}

static void
s_metric_sample (FILE *out, const char *name, const char *suffix, const char *node,
                 const char *label, const char *member, json_t *value)
{
    fprintf (out, "%s%s{node=\"", name, suffix);
    s_metric_label (out, node);
    if (label) {
        fprintf (out, "\",%s=\"", label);
        s_metric_label (out, member);
    }
    fputs ("\"}", out);
    s_metric_value (out, value);
}

//  One family: # HELP, # TYPE, and its samples: value; or with label,
//  each number of the map value (member: its label); or with label and
//  inner, each entity of the map value (member: {inner: number})
static void
s_metric_family (FILE *out, const char *actor, const char *path, const char *node,
                 json_t *value, const char *label, const char *inner)
{
    json_t *sample = value;
    if (inner) {
        const char *member;
        json_t *entity;
        json_object_foreach (value, member, entity)
            if (s_is_number (json_object_get (entity, inner))) {
                sample = json_object_get (entity, inner);
                break;
            }
    }
    bool counter = !s_is_gauge (path) && !json_is_boolean (sample);
    char name [192];
    s_metric_name (name, sizeof (name), actor, path);
    size_t len = strlen (name);
    const char *suffix = counter && !(len > 6 && streq (name + len - 6, "_total"))? "_total": "";
    fprintf (out, "# HELP %s%s %s: %s (zeb STATS)\n", name, suffix, actor, path);
    fprintf (out, "# TYPE %s%s %s\n", name, suffix, counter? "counter": "gauge");
    if (!label) {
        s_metric_sample (out, name, suffix, node, NULL, NULL, value);
        return;
    }
    const char *member;
    json_t *item;
    json_object_foreach (value, member, item) {
        json_t *number = inner? json_object_get (item, inner): item;
        if (s_is_number (number))
            s_metric_sample (out, name, suffix, node, label, member, number);
    }
}

//  True if every member of object is an object: a map of entities
//  (actions: {webhook: {workers, waiting}}, circuits: {TARGET: {...}})
static bool
s_is_entities (json_t *object)
{
    const char *key;
    json_t *value;
    json_object_foreach (object, key, value)
        if (!json_is_object (value))
            return false;
    return json_object_size (object) > 0;
}

//  A map of entities: one family per number they hold, the entity as a
//  label named by the map's key without its plural s
static void
s_metric_entities (FILE *out, const char *actor, const char *prefix, const char *key,
                   json_t *object, const char *node)
{
    char label [64];
    snprintf (label, sizeof (label), "%s", key);
    size_t len = strlen (label);
    if (len > 1 && label [len - 1] == 's')
        label [len - 1] = 0;
    for (char *c = label; *c; c++)
        if (!isalnum ((unsigned char) *c) && *c != '_')
            *c = '_';
    zhashx_t *seen = zhashx_new ();
    const char *member;
    json_t *entity;
    json_object_foreach (object, member, entity) {
        const char *inner;
        json_t *number;
        json_object_foreach (entity, inner, number) {
            if (!s_is_number (number) || zhashx_lookup (seen, inner))
                continue;
            zhashx_insert (seen, inner, (void *) 1);
            char path [160];
            snprintf (path, sizeof (path), "%s%s%s_%s", prefix, *prefix? "_": "", label, inner);
            s_metric_family (out, actor, path, node, object, label, inner);
        }
    }
    zhashx_destroy (&seen);
}

//  Every number in object, its path joined by '_'; a member named as
//  the actor is its own counters (ingest: {ingest: {...}, store: {...}})
static void
s_metrics_of (FILE *out, const char *actor, const char *prefix, json_t *object, const char *node,
              int depth)
{
    const char *key;
    json_t *value;
    json_object_foreach (object, key, value) {
        if (!*prefix && (streq (key, "node") || streq (key, "actor")))
            continue;
        char path [160];
        if (!*prefix && streq (key, actor))
            snprintf (path, sizeof (path), "%s", "");
        else
            snprintf (path, sizeof (path), "%s%s%s", prefix, *prefix? "_": "", key);
        if (s_is_number (value))
            s_metric_family (out, actor, path, node, value, NULL, NULL);
        else
        if (json_is_object (value) && depth < 4) {
            const char *by = strstr (key, "_by_");
            if (by && by [4])
                s_metric_family (out, actor, path, node, value, by + 4, NULL);
            else
            if (s_is_entities (value))
                s_metric_entities (out, actor, prefix, key, value, node);
            else
                s_metrics_of (out, actor, path, value, node, depth + 1);
        }
    }
}

json_t *
zeb_http_counters_json (zeb_http_t *http)
{
    json_t *counters = json_object ();
#define S_COUNTER(name) json_object_set_new (counters, #name, json_integer ((json_int_t) \
        __atomic_load_n (&http->counters.name, __ATOMIC_RELAXED)));
    ZEB_HTTP_COUNTERS (S_COUNTER)
#undef S_COUNTER
    return counters;
}

int
zeb_http_metrics (zeb_http_req_t *req)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&text, &size);
    if (!out)
        return zeb_http_reply_error (req, 500, "INTERNAL", "out of memory");
    char node [128] = "";
    int timeout = (int) (req->http->call_timeout < 2000? req->http->call_timeout: 2000);
    for (int peer = 0; peer < ZEB_HTTP_PEERS; peer++) {
        zeb_actor_client_t *client = s_peer_client (req, peer, timeout);
        if (!client)
            continue;
        json_t *stats = NULL;
        int rc = zeb_actor_client_call (client, "STATS", NULL, &stats, NULL);
        char up [64];
        snprintf (up, sizeof (up), "zeb_%s_up", s_peer_names [peer]);
        fprintf (out, "# HELP %s 1 if %s answered STATS\n# TYPE %s gauge\n", up, s_peer_names [peer], up);
        if (rc == 0 && json_is_object (stats)) {
            const char *name = json_string_value (json_object_get (stats, "node"));
            if (name && !*node)
                snprintf (node, sizeof (node), "%s", name);
        }
        fprintf (out, "%s{node=\"", up);
        s_metric_label (out, node);
        fprintf (out, "\"} %d\n", rc == 0 && json_is_object (stats));
        if (rc == 0 && json_is_object (stats))
            s_metrics_of (out, s_peer_names [peer], "", stats, node, 0);
        json_decref (stats);
    }
    json_t *own = zeb_http_counters_json (req->http);
    s_metrics_of (out, "http", "", own, node, 0);
    json_decref (own);
    fclose (out);
    int status = zeb_http_reply (req, 200, "text/plain; version=0.0.4; charset=utf-8", text, size, NULL);
    free (text);
    return status;
}

//  ---------------------------------------------------------------------
//  /readyz

int
zeb_http_readyz (zeb_http_req_t *req)
{
    bool started = __atomic_load_n (&req->http->started, __ATOMIC_ACQUIRE);
    bool ready = started;
    json_t *actors = json_object ();
    int timeout = (int) (req->http->call_timeout < 1000? req->http->call_timeout: 1000);
    for (int peer = 0; peer < ZEB_HTTP_PEERS; peer++) {
        zeb_actor_client_t *client = s_peer_client (req, peer, timeout);
        if (!client)
            continue;
        json_t *stats = NULL;
        zeb_fault_t fault;
        int rc = zeb_actor_client_call (client, "STATS", NULL, &stats, &fault);
        json_decref (stats);
        json_object_set_new (actors, s_peer_names [peer], json_string (rc == 0? "up": zeb_error_reason (rc)));
        if (rc)
            ready = false;
    }
    json_t *body = json_pack ("{s:b, s:b, s:o}", "ready", ready, "started", started, "actors", actors);
    return zeb_http_reply_json (req, ready? 200: 503, body, ready? NULL: "Retry-After: 1\r\n");
}
