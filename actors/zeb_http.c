/*  =========================================================================
    zeb_http - the HTTP gateway (see zeb_http.h)

    Threads: the actor's thread runs the kit's loop (START, STATS, $TERM)
    and owns the CivetWeb context; CivetWeb's listener and http/threads
    workers serve requests. s_worker_init gives each worker its
    zeb_http_worker_t (mg_get_thread_pointer), whose clients are created
    on first use and destroyed in s_worker_exit, in that same thread.
    mg_stop, in the actor's stop, waits for every worker to finish its
    request and exit before the state is freed.

    One request: s_serve authenticates (bearer token) when the route asks
    for a scope, matches the route table (404 for no route, 405 with Allow
    for a route without the method), and calls its handler, which reads
    the body if it needs it and sends exactly one reply.
    =========================================================================
*/

#include "zeb_http_int.h"
#include <openssl/sha.h>
#include <openssl/crypto.h>
#include <signal.h>

const zeb_config_key_t zeb_http_config [] = {
    { "http/endpoint", "127.0.0.1:7780", ZEB_KEY_STR, 0, 0, NULL,
      "HOST:PORT the gateway listens on (PORT 0: any free port; \"\": no gateway)" },
    { "http/threads", "64", ZEB_KEY_INT, 2, 1024, NULL,
      "requests (and keep-alive connections) served at once" },
    { "http/max_body", "1MiB", ZEB_KEY_SIZE, 1, 1 << 30, NULL, "largest request body read" },
    { "http/keep_alive", "2s", ZEB_KEY_DURATION, 0, 600000, NULL,
      "an idle keep-alive connection is closed after this (0: no keep-alive)" },
    { "http/request_timeout", "30s", ZEB_KEY_DURATION, 100, 3600000, NULL,
      "a request not read or written within this is dropped" },
    { "http/publish_timeout", "5s", ZEB_KEY_DURATION, 10, 600000, NULL,
      "an event not acknowledged by ingest within this is answered 503" },
    { "http/call_timeout", "5s", ZEB_KEY_DURATION, 10, 600000, NULL,
      "the registry, outbox or automations not answering within this is 504" },
    { "http/backtest_timeout", "60s", ZEB_KEY_DURATION, 10, 3600000, NULL,
      "a backtest's wait for the automations" },
    { "http/ingest", "", ZEB_KEY_ENDPOINT, 0, 0, NULL, "ingest (set in a node with one)" },
    { "http/registry", "", ZEB_KEY_ENDPOINT, 0, 0, NULL, "the registry (set in a node with one)" },
    { "http/outbox", "", ZEB_KEY_ENDPOINT, 0, 0, NULL, "the outbox (set in a node with one)" },
    { "http/automation", "", ZEB_KEY_ENDPOINT, 0, 0, NULL,
      "the automations (set in a node with them)" },
    { "http/log", "", ZEB_KEY_ENDPOINT, 0, 0, NULL, "the log, for /metrics (set in a node with one)" },
    { "http/cron", "", ZEB_KEY_ENDPOINT, 0, 0, NULL, "the cron triggers (set in a node with them)" },
    { "http/rate", "0", ZEB_KEY_INT, 0, 10000000, NULL,
      "requests/s allowed without a token, all such clients together (0: no limit; else 429)" },
    { "http/burst", "0", ZEB_KEY_INT, 0, 10000000, NULL,
      "requests allowed at once above http/rate (0: one second's worth)" },
    { "http/webhooks/accept_unknown", "false", ZEB_KEY_BOOL, 0, 0, NULL,
      "store webhooks of sources not configured (unsigned), instead of 404" },
    { "http/webhooks/*/scheme", "none", ZEB_KEY_ENUM, 0, 0, "none|github|stripe|standard|hmac",
      "a webhook source's signature scheme" },
    { "http/webhooks/*/secret", "", ZEB_KEY_STR, 0, 0, NULL,
      "its secret (standard: whsec_BASE64)" },
    { "http/webhooks/*/secret2", "", ZEB_KEY_STR, 0, 0, NULL,
      "a second secret valid at the same time (rotation)" },
    { "http/webhooks/*/header", "X-Signature", ZEB_KEY_STR, 0, 0, NULL,
      "hmac: the header holding the signature" },
    { "http/webhooks/*/encoding", "hex", ZEB_KEY_ENUM, 0, 0, "hex|base64",
      "hmac: how the signature is written" },
    { "http/webhooks/*/prefix", "", ZEB_KEY_STR, 0, 0, NULL,
      "hmac: text before the signature (\"sha256=\")" },
    { "http/webhooks/*/tolerance", "300s", ZEB_KEY_DURATION, 1000, 86400000, NULL,
      "stripe, standard: how far the signed timestamp may be from now" },
    { "http/webhooks/*/max_body", "0", ZEB_KEY_SIZE, 0, 1 << 30, NULL,
      "largest body of this source (0: http/max_body)" },
    { "http/webhooks/*/required_headers", "", ZEB_KEY_STR, 0, 0, NULL,
      "headers a delivery must carry, comma-separated (else 400)" },
    { "http/webhooks/*/headers", "", ZEB_KEY_STR, 0, 0, NULL,
      "headers kept as extension attributes, comma-separated (X-GitHub-Event: githubevent)" },
    { "http/tokens/*/token", "", ZEB_KEY_STR, 0, 0, NULL, "a bearer token" },
    { "http/tokens/*/scopes", "read", ZEB_KEY_STR, 0, 0, NULL,
      "its scopes, comma-separated: read, publish, admin" },
    { "http/tokens/*/rate", "0", ZEB_KEY_INT, 0, 10000000, NULL,
      "requests/s allowed to this token (0: no limit; else 429 with Retry-After)" },
    { "http/tokens/*/burst", "0", ZEB_KEY_INT, 0, 10000000, NULL,
      "requests allowed at once above its rate (0: one second's worth)" },

    ZEB_HTTP_WS_CONFIG
    { NULL }
};

//  ---------------------------------------------------------------------
//  Routes. A pattern's "{name}" matches one segment; "{#}" one of digits.
//  The first route whose pattern and method match serves; a path that
//  only matches with other methods is 405.

typedef struct {
    const char *method;
    const char *pattern;
    int scope;                          //  0: none (webhooks, health, the document)
    zeb_http_handler_fn *handler;
    const char *summary;
} s_route_t;

static int s_openapi (zeb_http_req_t *req);
static int s_healthz (zeb_http_req_t *req);
static int s_ws_plain (zeb_http_req_t *req);

#define S_READ      ZEB_HTTP_SCOPE_READ
#define S_PUBLISH   ZEB_HTTP_SCOPE_PUBLISH
#define S_ADMIN     ZEB_HTTP_SCOPE_ADMIN

static const s_route_t s_routes [] = {
    { "POST",   "/webhooks/{source}", 0, zeb_http_webhook,
      "An inbound webhook, stored as custom.webhook.{source} after its signature is checked" },
    { "POST",   "/api/events/trigger", S_PUBLISH, zeb_http_trigger,
      "Trigger an event: {eventType, payload, metadata} -> 201 {eventId, sequence}" },
    { "GET",    "/api/events/types", S_READ, zeb_http_types_list, "The registered event types" },
    { "POST",   "/api/events/types", S_ADMIN, zeb_http_types_post,
      "Register a schema: {eventType, schema, description?, compatibility?}" },
    { "GET",    "/api/events/types/{type}", S_READ, zeb_http_type_get,
      "A type's schema (?version=N, default the latest)" },
    { "GET",    "/api/events/types/{type}/versions", S_READ, zeb_http_type_versions,
      "A type's versions" },
    { "DELETE", "/api/events/types/{type}", S_ADMIN, zeb_http_type_delete,
      "Delete a version (?version=N) or the type (soft: numbers are never reused)" },
    { "POST",   "/api/events/types/{type}/check", S_READ, zeb_http_type_check,
      "Would this schema register? {compatible, compatibility, reasons}" },
    { "PUT",    "/api/events/types/{type}/compatibility", S_ADMIN, zeb_http_type_compatibility,
      "Set the compatibility mode (NONE, BACKWARD, ... FULL_TRANSITIVE)" },
    { "PUT",    "/api/events/types/{type}/validation", S_ADMIN, zeb_http_type_validation,
      "Set the validation mode on publish (off, warn, enforce, default)" },
    { "POST",   "/api/events", S_PUBLISH, zeb_http_events_post,
      "Publish CloudEvents: structured JSON, a JSON array (a batch), or binary mode (ce-* headers)" },
    { "GET",    "/api/events", S_READ, zeb_http_events_get,
      "Read the log: ?type=PREFIX&from=SEQUENCE&since=TIME&limit=N" },
    { "GET",    "/api/events/{#}", S_READ, zeb_http_event_get, "One event by sequence" },
    { "GET",    "/api/automations", S_READ, zeb_http_automations_list,
      "Automations (?type=&enabled=&limit=&after=)" },
    { "POST",   "/api/automations", S_ADMIN, zeb_http_automations_post, "Create an automation" },
    { "GET",    "/api/automations/logs", S_READ, zeb_http_automations_logs,
      "Execution logs of the automations for events of a type (?eventType=)" },
    { "GET",    "/api/automations/{id}", S_READ, zeb_http_automation_get,
      "One automation (?version=N)" },
    { "PUT",    "/api/automations/{id}", S_ADMIN, zeb_http_automation_put, "Replace an automation" },
    { "DELETE", "/api/automations/{id}", S_ADMIN, zeb_http_automation_delete, "Delete an automation" },
    { "POST",   "/api/automations/{id}/enable", S_ADMIN, zeb_http_automation_enable, "Enable it" },
    { "POST",   "/api/automations/{id}/disable", S_ADMIN, zeb_http_automation_disable, "Disable it" },
    { "GET",    "/api/automations/{id}/logs", S_READ, zeb_http_automation_logs,
      "Its execution logs (?limit=&before=)" },
    { "POST",   "/api/automations/{id}/test", S_READ, zeb_http_automation_test,
      "A dry run on an event: each condition, the value it saw, the actions" },
    { "POST",   "/api/automations/{id}/backtest", S_READ, zeb_http_automation_backtest,
      "The automation over the stored log: which events it would have fired on" },
    { "GET",    "/api/deadletters", S_READ, zeb_http_deadletters_list,
      "Dead letters (?origin=&type=&since=&until=&limit=&after=)" },
    { "POST",   "/api/deadletters/replay", S_ADMIN, zeb_http_deadletters_replay,
      "Replay every dead letter a filter matches" },
    { "GET",    "/api/deadletters/{id}", S_READ, zeb_http_deadletter_get, "One dead letter, with its run" },
    { "POST",   "/api/deadletters/{id}/replay", S_ADMIN, zeb_http_deadletter_replay, "Replay one" },
    { "DELETE", "/api/deadletters/{id}", S_ADMIN, zeb_http_deadletter_delete, "Delete one for good" },
    { "GET",    "/api/webhooks", S_ADMIN, zeb_http_sources_list, "The webhook sources (secrets counted)" },
    { "GET",    "/api/webhooks/{source}", S_ADMIN, zeb_http_source_get, "One webhook source" },
    { "PUT",    "/api/webhooks/{source}", S_ADMIN, zeb_http_source_put,
      "Create or replace a webhook source (kept in the data directory)" },
    { "DELETE", "/api/webhooks/{source}", S_ADMIN, zeb_http_source_delete,
      "Delete a source made here (409 for a configured one)" },
    { "GET",    "/api/cron", S_READ, zeb_http_cron_list, "The cron triggers" },
    { "POST",   "/api/cron", S_ADMIN, zeb_http_cron_post, "Create a cron trigger (409 if it exists)" },
    { "GET",    "/api/cron/{name}", S_READ, zeb_http_cron_get, "One cron trigger" },
    { "PUT",    "/api/cron/{name}", S_ADMIN, zeb_http_cron_put, "Create or replace a cron trigger" },
    { "DELETE", "/api/cron/{name}", S_ADMIN, zeb_http_cron_delete, "Delete a cron trigger" },
    { "POST",   "/api/cron/{name}/enable", S_ADMIN, zeb_http_cron_enable, "Enable it" },
    { "POST",   "/api/cron/{name}/disable", S_ADMIN, zeb_http_cron_disable, "Disable it" },
    { "POST",   "/api/cron/{name}/run", S_ADMIN, zeb_http_cron_run, "Fire it now" },
    { "GET",    "/api/openapi.json", 0, s_openapi, "This document (OpenAPI 3.1)" },
    { "GET",    "/metrics", S_READ, zeb_http_metrics,
      "Every actor's counters (Prometheus text exposition)" },
    { "GET",    "/healthz", 0, s_healthz, "The gateway answers" },
    { "GET",    "/readyz", 0, zeb_http_readyz, "Every actor started and answers (else 503)" },

    { "GET",    "/", 0, zeb_http_console, "The console (live events over /ws, automations, dead letters)" },
    { "GET",    "/api/stats", S_READ, zeb_http_stats_get, "The gateway's counters (its STATS) as JSON" },
    { "GET",    "/ws", 0, s_ws_plain,
      "WebSocket of live events (docs/HTTP.md); without an Upgrade, 426 (or 503 with no ingest)" },
    { NULL }
};

//  Does path match pattern? Fills params in order
static bool
s_match (const char *pattern, const char *path, char params [][256])
{
    size_t count = 0;
    while (*pattern && *path) {
        if (*pattern != '/' || *path != '/')
            return false;
        pattern++;
        path++;
        size_t plen = strcspn (pattern, "/");
        size_t len = strcspn (path, "/");
        if (*pattern == '{') {
            if (len == 0 || len >= 256 || count == ZEB_HTTP_MAX_PARAMS)
                return false;
            if (pattern [1] == '#')
                for (size_t index = 0; index < len; index++)
                    if (!isdigit ((unsigned char) path [index]))
                        return false;
            if (params) {
                memcpy (params [count], path, len);
                params [count][len] = 0;
            }
            count++;
        }
        else
        if (plen != len || memcmp (pattern, path, len) != 0)
            return false;
        pattern += plen;
        path += len;
    }
    return *pattern == 0 && *path == 0;
}

//  ---------------------------------------------------------------------
//  Replies

//  One write per response: status line, headers and body together (a
//  write each would be a TCP segment each, with tcp_nodelay). CivetWeb
//  learns the status from the handler's return; keep-alive is what the
//  request asked for and the gateway allows (CivetWeb closes after a 401).
int
zeb_http_reply (zeb_http_req_t *req, int status, const char *content_type, const char *body,
                size_t len, const char *headers)
{
    const char *connection = zeb_http_header (req, "Connection");
    bool keep = req->http->keep_alive && status != 401
             && streq (req->info->http_version? req->info->http_version: "", "1.1")
             && !(connection && strcasecmp (connection, "close") == 0);
    char date [64];
    time_t now = time (NULL);
    struct tm tm;
    strftime (date, sizeof (date), "%a, %d %b %Y %H:%M:%S GMT", gmtime_r (&now, &tm));
    if (strcmp (req->info->request_method, "HEAD") == 0)
        body = NULL;
    char stack [2048];
    size_t capacity = 512 + (headers? strlen (headers): 0) + (body? len: 0);
    char *buffer = capacity <= sizeof (stack)? stack: (char *) malloc (capacity);
    int size = buffer? snprintf (buffer, capacity,
                         "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                         "Date: %s\r\nConnection: %s\r\n%s\r\n",
                         status, mg_get_response_code_text (req->conn, status), content_type, len,
                         date, keep? "keep-alive": "close", headers? headers: ""): -1;
    if (size > 0 && (size_t) size < capacity && (!body || (size_t) size + len <= capacity)) {
        if (body)
            memcpy (buffer + size, body, len);
        mg_write (req->conn, buffer, (size_t) size + (body? len: 0));
    }
    if (buffer != stack)
        free (buffer);
    req->status = status;
    if (status < 300)
        ZEB_HTTP_COUNT (req->http, status_2xx);
    else
    if (status < 500)
        ZEB_HTTP_COUNT (req->http, status_4xx);
    else
        ZEB_HTTP_COUNT (req->http, status_5xx);
    return status;
}

int
zeb_http_reply_json (zeb_http_req_t *req, int status, json_t *json, const char *headers)
{
    char *text = json? zeb_json_dumps (json): NULL;
    json_decref (json);
    if (!text)
        return zeb_http_reply_error (req, 500, "INTERNAL", "the reply has no JSON form");
    int rc = zeb_http_reply (req, status, "application/json", text, strlen (text), headers);
    free (text);
    return rc;
}

int
zeb_http_reply_error (zeb_http_req_t *req, int status, const char *reason, const char *format, ...)
{
    char text [512];
    va_list args;
    va_start (args, format);
    vsnprintf (text, sizeof (text), format, args);
    va_end (args);
    json_t *body = json_pack ("{s:i, s:s, s:s}", "code", status, "reason", reason, "error", text);
    char *dumped = body? zeb_json_dumps (body): NULL;
    json_decref (body);
    if (!dumped)                //  text quoted from a request that is not UTF-8
        dumped = strdup ("{\"code\":400,\"reason\":\"MALFORMED\",\"error\":\"not UTF-8\"}");
    const char *headers = NULL;
    if (status == 401)
        headers = "WWW-Authenticate: Bearer\r\n";
    else
    if (status == 503)
        headers = "Retry-After: 1\r\n";
    int rc = zeb_http_reply (req, status, "application/json", dumped, strlen (dumped), headers);
    free (dumped);
    return rc;
}

int
zeb_http_reply_fault (zeb_http_req_t *req, int rc, json_t *nack, const zeb_fault_t *fault)
{
    int status = zeb_error_status (rc);
    if (rc == ZEB_EUNREACHABLE || rc == ZEB_EFULL || rc == ZEB_EOVERLOADED)
        status = 503;
    if (rc == ZEB_ETIMEOUT)
        status = 504;
    if (status < 400)
        status = 500;
    if (status == 503)
        ZEB_HTTP_COUNT (req->http, unavailable);
    if (!json_is_object (nack) || !json_is_string (json_object_get (nack, "error"))) {
        json_decref (nack);
        return zeb_http_reply_error (req, status, zeb_error_reason (rc), "%s",
                                     fault && *fault->text? fault->text: zeb_strerror (rc));
    }
    json_object_set_new (nack, "code", json_integer (status));
    if (!json_is_string (json_object_get (nack, "reason")))
        json_object_set_new (nack, "reason", json_string (zeb_error_reason (rc)));
    return zeb_http_reply_json (req, status, nack, status == 503? "Retry-After: 1\r\n": NULL);
}

//  ---------------------------------------------------------------------
//  Request helpers

int
zeb_http_read_body (zeb_http_req_t *req, uint64_t limit)
{
    if (req->body)
        return 0;
    long long length = req->info->content_length;
    if (length > 0 && (uint64_t) length > limit) {
        ZEB_HTTP_COUNT (req->http, too_large);
        zeb_http_reply_error (req, 413, "TOO_LARGE", "the body is over %llu bytes",
                              (unsigned long long) limit);
        return -1;
    }
    size_t capacity = length > 0? (size_t) length + 1: 4096;
    char *body = (char *) malloc (capacity);
    size_t size = 0;
    while (body) {
        if (size + 1 >= capacity) {
            if (size >= limit) {
                //  One byte more than allowed: refused without reading the rest
                free (body);
                ZEB_HTTP_COUNT (req->http, too_large);
                zeb_http_reply_error (req, 413, "TOO_LARGE", "the body is over %llu bytes",
                                      (unsigned long long) limit);
                return -1;
            }
            capacity = capacity * 2 > limit + 2? (size_t) limit + 2: capacity * 2;
            char *grown = (char *) realloc (body, capacity);
            if (!grown) {
                free (body);
                body = NULL;
                break;
            }
            body = grown;
        }
        int got = mg_read (req->conn, body + size, capacity - size - 1);
        if (got < 0) {
            free (body);
            zeb_http_reply_error (req, 400, "MALFORMED", "the body could not be read");
            return -1;
        }
        if (got == 0)
            break;
        size += (size_t) got;
        if (size > limit) {
            free (body);
            ZEB_HTTP_COUNT (req->http, too_large);
            zeb_http_reply_error (req, 413, "TOO_LARGE", "the body is over %llu bytes",
                                  (unsigned long long) limit);
            return -1;
        }
    }
    if (!body) {
        zeb_http_reply_error (req, 500, "INTERNAL", "out of memory");
        return -1;
    }
    body [size] = 0;
    req->body = body;
    req->body_size = size;
    return 0;
}

json_t *
zeb_http_body_json (zeb_http_req_t *req, bool object)
{
    if (zeb_http_read_body (req, req->http->max_body))
        return NULL;
    zeb_fault_t fault;
    json_t *json = zeb_json_parse (req->body, req->body_size, &fault);
    if (!json) {
        ZEB_HTTP_COUNT (req->http, bad_requests);
        zeb_http_reply_error (req, 400, "MALFORMED", "the body is not JSON: %s", fault.text);
        return NULL;
    }
    if (object && !json_is_object (json)) {
        json_decref (json);
        ZEB_HTTP_COUNT (req->http, bad_requests);
        zeb_http_reply_error (req, 400, "MALFORMED", "the body must be a JSON object");
        return NULL;
    }
    return json;
}

json_t *
zeb_http_body_keyed (zeb_http_req_t *req, const char *key)
{
    json_t *body = zeb_http_body_json (req, true);
    if (!body)
        return NULL;
    const char *given = json_string_value (json_object_get (body, key));
    if (given && !streq (given, req->params [0])) {
        zeb_http_reply_error (req, 400, "INVALID_ATTRIBUTE", "the body's %s '%s' is not the path's '%s'",
                              key, given, req->params [0]);
        json_decref (body);             //  after the reply: given is the body's
        return NULL;
    }
    json_object_set_new (body, key, json_string (req->params [0]));
    return body;
}

bool
zeb_http_query (zeb_http_req_t *req, const char *name, char *value, size_t size)
{
    const char *query = req->info->query_string;
    if (!query)
        return false;
    return mg_get_var (query, strlen (query), name, value, size) >= 0;
}

const char *
zeb_http_header (zeb_http_req_t *req, const char *name)
{
    return mg_get_header (req->conn, name);
}

zeb_client_t *
zeb_http_client (zeb_http_req_t *req)
{
    if (!req->worker->client && req->http->ingest) {
        req->worker->client = zeb_client_new (req->http->ingest);
        if (req->worker->client) {
            zeb_client_set_timeout (req->worker->client, (int) req->http->publish_timeout);
            zeb_client_set_coalesce (req->worker->client, 1);
        }
    }
    if (!req->worker->client)
        zeb_http_reply_error (req, 503, "UNREACHABLE", "this node has no ingest");
    return req->worker->client;
}

zeb_registry_client_t *
zeb_http_registry (zeb_http_req_t *req)
{
    if (!req->worker->registry && req->http->registry) {
        req->worker->registry = zeb_registry_client_new (req->http->registry);
        if (req->worker->registry)
            zeb_registry_client_set_timeout (req->worker->registry, (int) req->http->call_timeout);
    }
    if (!req->worker->registry)
        zeb_http_reply_error (req, 503, "UNREACHABLE", "this node runs no registry");
    return req->worker->registry;
}

zeb_outbox_client_t *
zeb_http_outbox (zeb_http_req_t *req)
{
    if (!req->worker->outbox && req->http->outbox) {
        req->worker->outbox = zeb_outbox_client_new (req->http->outbox);
        if (req->worker->outbox)
            zeb_outbox_client_set_timeout (req->worker->outbox, (int) req->http->call_timeout);
    }
    if (!req->worker->outbox)
        zeb_http_reply_error (req, 503, "UNREACHABLE", "this node runs no outbox");
    return req->worker->outbox;
}

zeb_automation_client_t *
zeb_http_automation (zeb_http_req_t *req)
{
    if (!req->worker->automation && req->http->automation) {
        req->worker->automation = zeb_automation_client_new (req->http->automation);
        if (req->worker->automation)
            zeb_automation_client_set_timeout (req->worker->automation,
                                               (int) req->http->call_timeout);
    }
    if (!req->worker->automation)
        zeb_http_reply_error (req, 503, "UNREACHABLE", "this node runs no automations");
    return req->worker->automation;
}

//  ---------------------------------------------------------------------
//  Rate limits: a bucket per token, one for requests without

static void
s_bucket_init (zeb_http_bucket_t *bucket, int64_t rate, int64_t burst)
{
    pthread_mutex_init (&bucket->mutex, NULL);
    bucket->rate = (double) rate;
    bucket->burst = (double) (burst > 0? burst: rate > 0? rate: 1);
    bucket->level = bucket->burst;
    bucket->refilled = zclock_mono ();
}

//  0 if the bucket lets one more request through now, else the ms until
//  it would
static int64_t
s_bucket_take (zeb_http_bucket_t *bucket)
{
    if (bucket->rate <= 0)
        return 0;
    pthread_mutex_lock (&bucket->mutex);
    int64_t now = zclock_mono ();
    bucket->level += (double) (now - bucket->refilled) * bucket->rate / 1000.0;
    if (bucket->level > bucket->burst)
        bucket->level = bucket->burst;
    bucket->refilled = now;
    int64_t wait = 0;
    if (bucket->level >= 1.0)
        bucket->level -= 1.0;
    else
        wait = (int64_t) ((1.0 - bucket->level) * 1000.0 / bucket->rate) + 1;
    pthread_mutex_unlock (&bucket->mutex);
    return wait;
}

//  0 if the request is within its rate, else 429 (replied)
static int
s_rate_check (zeb_http_req_t *req)
{
    zeb_http_bucket_t *bucket = req->token? &req->token->bucket: &req->http->anonymous;
    int64_t wait = s_bucket_take (bucket);
    if (wait == 0)
        return 0;
    ZEB_HTTP_COUNT (req->http, rate_limited);
    char headers [48];
    snprintf (headers, sizeof (headers), "Retry-After: %lld\r\n", (long long) ((wait + 999) / 1000));
    char error [512];
    if (req->token)
        snprintf (error, sizeof (error), "token '%s' is over its rate of %.0f requests/s (http/tokens/%s/rate)",
                  req->token->name, bucket->rate, req->token->name);
    else
        snprintf (error, sizeof (error), "over the rate of %.0f requests/s without a token (http/rate)",
                  bucket->rate);
    json_t *body = json_pack ("{s:i, s:s, s:s}", "code", 429, "reason", "RATE_LIMITED", "error", error);
    return zeb_http_reply_json (req, 429, body, headers);
}

//  ---------------------------------------------------------------------
//  Tokens

const char *
zeb_http_list_next (const char **cursor, size_t *len)
{
    const char *item = *cursor + strspn (*cursor, ", ");
    *len = strcspn (item, ", ");
    *cursor = item + *len;
    return *len? item: NULL;
}

static int
s_scopes_parse (const char *text, int *scopes)
{
    *scopes = 0;
    const char *cursor = text, *p;
    size_t len;
    while ((p = zeb_http_list_next (&cursor, &len))) {
        if (len == 4 && memcmp (p, "read", 4) == 0)
            *scopes |= ZEB_HTTP_SCOPE_READ;
        else
        if (len == 7 && memcmp (p, "publish", 7) == 0)
            *scopes |= ZEB_HTTP_SCOPE_PUBLISH;
        else
        if (len == 5 && memcmp (p, "admin", 5) == 0)
            *scopes |= ZEB_HTTP_SCOPE_ADMIN | ZEB_HTTP_SCOPE_PUBLISH | ZEB_HTTP_SCOPE_READ;
        else
            return -1;
    }
    return 0;
}

static int
s_tokens_load (zeb_http_t *self, zconfig_t *config, zeb_fault_t *fault)
{
    zconfig_t *tokens = zconfig_locate (config, "http/tokens");
    size_t count = 0;
    for (zconfig_t *item = tokens? zconfig_child (tokens): NULL; item; item = zconfig_next (item))
        count++;
    if (count == 0)
        return 0;
    self->tokens = (zeb_http_token_t *) zmalloc (count * sizeof (zeb_http_token_t));
    for (zconfig_t *item = zconfig_child (tokens); item; item = zconfig_next (item)) {
        zeb_http_token_t *token = &self->tokens [self->token_count];
        snprintf (token->name, sizeof (token->name), "%s", zconfig_name (item));
        const char *secret = zconfig_get (item, "token", "");
        if (strlen (secret) < 16)
            return zeb_fault_set (fault, ZEB_ECONFIG,
                                  "http/tokens/%s/token: a token of at least 16 characters", token->name);
        SHA256 ((const unsigned char *) secret, strlen (secret), token->digest);
        if (s_scopes_parse (zconfig_get (item, "scopes", "read"), &token->scopes))
            return zeb_fault_set (fault, ZEB_ECONFIG,
                                  "http/tokens/%s/scopes: read, publish or admin, comma-separated",
                                  token->name);
        s_bucket_init (&token->bucket, atoll (zconfig_get (item, "rate", "0")),
                       atoll (zconfig_get (item, "burst", "0")));
        self->token_count++;
    }
    return 0;
}

//  0 if the request may use a route of scope, else the reply's status
static int
s_authorize (zeb_http_req_t *req, int scope)
{
    zeb_http_t *self = req->http;
    if (scope == 0 || self->token_count == 0)
        return 0;
    const char *header = zeb_http_header (req, "Authorization");
    if (!header || strncasecmp (header, "Bearer ", 7) != 0) {
        ZEB_HTTP_COUNT (self, unauthorized);
        return zeb_http_reply_error (req, 401, "UNAUTHORIZED", "needs Authorization: Bearer TOKEN");
    }
    const char *presented = header + 7;
    while (*presented == ' ')
        presented++;
    uint8_t digest [32];
    SHA256 ((const unsigned char *) presented, strlen (presented), digest);
    zeb_http_token_t *found = NULL;
    for (size_t index = 0; index < self->token_count; index++)
        if (CRYPTO_memcmp (digest, self->tokens [index].digest, sizeof (digest)) == 0)
            found = &self->tokens [index];
    if (!found) {
        ZEB_HTTP_COUNT (self, unauthorized);
        return zeb_http_reply_error (req, 401, "UNAUTHORIZED", "no such token");
    }
    if ((found->scopes & scope) == 0) {
        ZEB_HTTP_COUNT (self, forbidden);
        return zeb_http_reply_error (req, 403, "FORBIDDEN", "token '%s' lacks the scope %s",
                                     found->name, scope == S_ADMIN? "admin":
                                     scope == S_PUBLISH? "publish": "read");
    }
    req->who = found->name;
    req->token = found;
    return 0;
}

//  ---------------------------------------------------------------------
//  Serving

static int
s_serve (struct mg_connection *conn, void *cbdata)
{
    zeb_http_t *self = (zeb_http_t *) cbdata;
    zeb_http_worker_t *worker = (zeb_http_worker_t *) mg_get_thread_pointer (conn);
    zeb_http_req_t req;
    memset (&req, 0, sizeof (req));
    req.http = self;
    req.worker = worker;
    req.conn = conn;
    req.info = mg_get_request_info (conn);
    req.who = "http";
    ZEB_HTTP_COUNT (self, requests);
    if (!worker) {
        zeb_http_reply_error (&req, 500, "INTERNAL", "no worker state");
        return 500;
    }
    const char *method = req.info->request_method;
    const char *path = req.info->local_uri;
    const s_route_t *route = NULL;
    char allow [128] = "";
    for (const s_route_t *candidate = s_routes; candidate->method && !route; candidate++) {
        if (!s_match (candidate->pattern, path? path: "", req.params))
            continue;
        if (streq (candidate->method, method)
        ||  (streq (method, "HEAD") && streq (candidate->method, "GET")))
            route = candidate;
        else
        if (!strstr (allow, candidate->method))
            snprintf (allow + strlen (allow), sizeof (allow) - strlen (allow), "%s%s",
                      *allow? ", ": "", candidate->method);
    }
    int status;
    if (route) {
        status = s_authorize (&req, route->scope);
        if (status == 0)
            status = s_rate_check (&req);
        if (status == 0)
            status = route->handler (&req);
    }
    else
    if (*allow) {
        char headers [160];
        snprintf (headers, sizeof (headers), "Allow: %s\r\n", allow);
        json_t *body = json_pack ("{s:i, s:s, s:s}", "code", 405, "reason", "METHOD_NOT_ALLOWED",
                                  "error", "this route does not take that method");
        status = zeb_http_reply_json (&req, 405, body, headers);
    }
    else
        status = zeb_http_reply_error (&req, 404, "UNKNOWN_ROUTE", "no route %s", path? path: "");
    free (req.body);
    return status;
}

static void *
s_worker_init (const struct mg_context *ctx, int thread_type)
{
    if (thread_type != 1)
        return NULL;
    return zmalloc (sizeof (zeb_http_worker_t));
}

static void
s_worker_exit (const struct mg_context *ctx, int thread_type, void *pointer)
{
    zeb_http_worker_t *worker = (zeb_http_worker_t *) pointer;
    if (!worker)
        return;
    zeb_client_destroy (&worker->client);
    zeb_registry_client_destroy (&worker->registry);
    zeb_outbox_client_destroy (&worker->outbox);
    zeb_automation_client_destroy (&worker->automation);
    for (int peer = 0; peer < ZEB_HTTP_PEERS; peer++)
        zeb_actor_client_destroy (&worker->peers [peer]);
    free (worker);
}

static int
s_log_message (const struct mg_connection *conn, const char *message)
{
    zsys_warning ("http: %s", message);
    return 1;
}

//  GET /ws that is not a WebSocket handshake (those go to zeb_http_ws.c)
static int
s_ws_plain (zeb_http_req_t *req)
{
    if (!req->http->ingest)
        return zeb_http_reply_error (req, 503, "UNREACHABLE", "this gateway has no ingest: no /ws");
    return zeb_http_reply_json (req, 426, json_pack ("{s:i, s:s, s:s}", "code", 426, "reason",
                                "UPGRADE_REQUIRED", "error", "GET /ws is a WebSocket: send Upgrade: websocket"),
                                "Upgrade: websocket\r\nConnection: Upgrade\r\n");
}

static int
s_healthz (zeb_http_req_t *req)
{
    return zeb_http_reply (req, 200, "application/json", "{\"ok\":true}", 11, NULL);
}

//  ---------------------------------------------------------------------
//  The OpenAPI document, from the route table

static json_t *
s_openapi_document (zeb_http_t *self)
{
    json_t *paths = json_object ();
    for (const s_route_t *route = s_routes; route->method; route++) {
        char path [128];
        snprintf (path, sizeof (path), "%s", route->pattern);
        char *hash = strstr (path, "{#}");
        if (hash)
            memmove (hash + 10, hash + 3, strlen (hash + 3) + 1), memcpy (hash, "{sequence}", 10);
        json_t *item = json_object_get (paths, path);
        if (!item) {
            item = json_object ();
            json_object_set_new (paths, path, item);
        }
        json_t *parameters = json_array ();
        for (const char *brace = strchr (path, '{'); brace; brace = strchr (brace + 1, '{')) {
            size_t len = strcspn (brace + 1, "}");
            json_array_append_new (parameters, json_pack ("{s:s%, s:s, s:b, s:{s:s}}",
                                   "name", brace + 1, len, "in", "path", "required", 1,
                                   "schema", "type", strncmp (brace, "{sequence}", 10) == 0
                                   ? "integer": "string"));
        }
        char lower [8];
        size_t index;
        for (index = 0; route->method [index] && index < sizeof (lower) - 1; index++)
            lower [index] = (char) tolower ((unsigned char) route->method [index]);
        lower [index] = 0;
        json_t *operation = json_pack ("{s:s, s:o, s:{s:{s:s}, s:{s:s}}}",
            "summary", route->summary, "parameters", parameters,
            "responses", "default", "description", "the result, or {code, reason, error}",
            "4XX", "description", "refused: {code, reason, error}");
        if (route->scope)
            json_object_set_new (operation, "security",
                                 json_pack ("[{s:[s]}]", "bearer", route->scope == S_ADMIN? "admin":
                                            route->scope == S_PUBLISH? "publish": "read"));
        json_object_set_new (item, lower, operation);
    }
    return json_pack ("{s:s, s:{s:s, s:s, s:s}, s:[{s:s}], s:o, s:{s:{s:{s:s, s:s}}}}",
        "openapi", "3.1.0",
        "info", "title", "zeb HTTP gateway", "version", "1",
        "description", "Webhooks in, and the REST API over a zeb node (docs/HTTP.md)",
        "servers", "url", self->url? self->url: "/",
        "paths", paths,
        "components", "securitySchemes", "bearer", "type", "http", "scheme", "bearer");
}

static int
s_openapi (zeb_http_req_t *req)
{
    return zeb_http_reply_json (req, 200, s_openapi_document (req->http), NULL);
}

//  ---------------------------------------------------------------------
//  The actor

static pthread_once_t s_library_once = PTHREAD_ONCE_INIT;

static void
s_library_init (void)
{
    mg_init_library (0);
}

static bool
s_loopback (const char *host)
{
    return streq (host, "127.0.0.1") || streq (host, "localhost") || streq (host, "[::1]")
        || strncmp (host, "127.", 4) == 0;
}

static char *
s_endpoint_or_null (zconfig_t *config, const char *key)
{
    const char *value = zeb_config_str (config, key);
    return *value? strdup (value): NULL;
}

static void
s_stop (void *state)
{
    zeb_http_t *self = (zeb_http_t *) state;
    if (self->server)
        mg_stop (self->server);         //  waits for every worker
    self->server = NULL;
    zeb_http_ws_stop (self);
    zeb_http_sources_free (self);
    free (self->tokens);
    free (self->url);
    free (self->ingest);
    free (self->registry);
    free (self->outbox);
    free (self->automation);
    free (self->log);
    free (self->cron);
    for (size_t index = 0; index < self->token_count; index++)
        pthread_mutex_destroy (&self->tokens [index].bucket.mutex);
    pthread_mutex_destroy (&self->anonymous.mutex);
}

static int
s_start (void *state, zeb_actor_t *actor, zconfig_t *config, zeb_fault_t *fault)
{
    zeb_http_t *self = (zeb_http_t *) state;
    self->actor = actor;
    const char *endpoint = zeb_config_str (config, "http/endpoint");
    if (!*endpoint) {
        zeb_info ("http: no http/endpoint: the gateway does not listen");
        return 0;
    }
    int64_t threads, keep_alive, request_timeout;
    zeb_config_int (config, "http/threads", &threads);
    zeb_config_duration (config, "http/keep_alive", &keep_alive);
    self->keep_alive = keep_alive > 0;
    zeb_config_duration (config, "http/request_timeout", &request_timeout);
    zeb_config_duration (config, "http/publish_timeout", &self->publish_timeout);
    zeb_config_duration (config, "http/call_timeout", &self->call_timeout);
    zeb_config_duration (config, "http/backtest_timeout", &self->backtest_timeout);
    zeb_config_size (config, "http/max_body", &self->max_body);
    zeb_config_bool (config, "http/webhooks/accept_unknown", &self->accept_unknown);
    self->ingest = s_endpoint_or_null (config, "http/ingest");
    self->registry = s_endpoint_or_null (config, "http/registry");
    self->outbox = s_endpoint_or_null (config, "http/outbox");
    self->automation = s_endpoint_or_null (config, "http/automation");
    self->log = s_endpoint_or_null (config, "http/log");
    self->cron = s_endpoint_or_null (config, "http/cron");
    int64_t rate, burst;
    zeb_config_int (config, "http/rate", &rate);
    zeb_config_int (config, "http/burst", &burst);
    s_bucket_init (&self->anonymous, rate, burst);
    if (zeb_http_sources_load (self, config, fault) || s_tokens_load (self, config, fault)
    ||  zeb_http_ws_configure (self, config, fault))
        return fault->code;

    //  HOST:PORT, or [V6]:PORT
    const char *colon = strrchr (endpoint, ':');
    char host [128];
    if (!colon || colon == endpoint || (size_t) (colon - endpoint) >= sizeof (host)
    ||  !colon [1] || strspn (colon + 1, "0123456789") != strlen (colon + 1) || atoi (colon + 1) > 65535)
        return zeb_fault_set (fault, ZEB_ECONFIG, "http/endpoint: '%s' is not HOST:PORT", endpoint);
    memcpy (host, endpoint, (size_t) (colon - endpoint));
    host [colon - endpoint] = 0;
    if (self->token_count == 0 && !s_loopback (host))
        return zeb_fault_set (fault, ZEB_ECONFIG,
                              "http/endpoint: %s is not a loopback address, and no http/tokens are "
                              "configured: the API would be open to anyone", host);
    char threads_text [16], keep_alive_text [24], timeout_text [24];
    snprintf (threads_text, sizeof (threads_text), "%lld", (long long) threads);
    snprintf (keep_alive_text, sizeof (keep_alive_text), "%lld", (long long) keep_alive);
    snprintf (timeout_text, sizeof (timeout_text), "%lld", (long long) request_timeout);
    const char *options [] = {
        "listening_ports", endpoint,
        "num_threads", threads_text,
        "enable_keep_alive", keep_alive? "yes": "no",
        "keep_alive_timeout_ms", keep_alive_text,
        "request_timeout_ms", timeout_text,
        "tcp_nodelay", "1",
        "enable_directory_listing", "no",
        "decode_url", "yes",
        "websocket_timeout_ms", zeb_http_ws_ping_interval (self),
        "enable_websocket_ping_pong", "yes",
        NULL
    };
    struct mg_callbacks callbacks;
    memset (&callbacks, 0, sizeof (callbacks));
    callbacks.init_thread = s_worker_init;
    callbacks.exit_thread = s_worker_exit;
    callbacks.log_message = s_log_message;
    pthread_once (&s_library_once, s_library_init);
    char error_text [256] = "";
    unsigned error_code = 0;
    struct mg_error_data error = { &error_code, error_text, sizeof (error_text) };
    struct mg_init_data init = { &callbacks, self, options };
    //  mg_start ignores SIGCHLD for the whole process; an application that
    //  waits for its children must keep its own disposition
    struct sigaction chld;
    sigaction (SIGCHLD, NULL, &chld);
    self->server = mg_start2 (&init, &error);
    sigaction (SIGCHLD, &chld, NULL);
    if (!self->server)
        return zeb_fault_set (fault, ZEB_ECONFIG, "http: cannot listen on %s: %s", endpoint,
                              *error_text? error_text: "CivetWeb refused");
    //  /ws first: a request that sees the gateway serve (healthz) must
    //  find /ws served too, not routed to the REST handler as unknown
    if (zeb_http_ws_start (self, fault))
        return fault->code;
    mg_set_request_handler (self->server, "/", s_serve, self);
    struct mg_server_port ports [4];
    int count = mg_get_server_ports (self->server, 4, ports);
    if (count < 1)
        return zeb_fault_set (fault, ZEB_ECONFIG, "http: no port bound for %s", endpoint);
    self->url = zsys_sprintf ("http://%s:%d", streq (host, "0.0.0.0")? "127.0.0.1": host,
                              ports [0].port);
    zeb_actor_bound (actor, "http", self->url);
    zeb_info ("http: gateway on %s (%lld threads)%s", self->url, (long long) threads,
              self->token_count? "": "; no http/tokens: the API is open to local clients");
    return 0;
}

static void
s_stats (void *state, zeb_pack_t *pack)
{
    zeb_http_t *self = (zeb_http_t *) state;
    zeb_http_counters_t *c = &self->counters;
#define S_STAT(name) zeb_pack_uint (pack, #name, __atomic_load_n (&c->name, __ATOMIC_RELAXED));
    ZEB_HTTP_COUNTERS (S_STAT)
#undef S_STAT
    zeb_pack_uint (pack, "sources", self->server? zeb_http_sources_count (self): 0);
    zeb_pack_uint (pack, "tokens", self->token_count);
    zeb_pack_str (pack, "url", self->url? self->url: "");
    zeb_http_ws_stats (self, pack);
}

//  "": every actor of the node started (/readyz)
static void
s_peer (void *state, const char *name, const char *endpoint)
{
    zeb_http_t *self = (zeb_http_t *) state;
    if (streq (name, ""))
        __atomic_store_n (&self->started, true, __ATOMIC_RELEASE);
}

static const zeb_actor_link_t s_links [] = {
    { "http/ingest", "ingest" },
    { "http/registry", "registry" },
    { "http/outbox", "outbox" },
    { "http/automation", "automation" },
    { "http/log", "log" },
    { "http/cron", "cron" },
    { NULL }
};

const zeb_actor_def_t zeb_http_def = {
    "http", "the HTTP gateway: webhooks in, the REST API (CivetWeb)", true,
    zeb_http_config, s_links, sizeof (zeb_http_t), s_start, s_stop, s_stats, s_peer
};

//  ---------------------------------------------------------------------
//  Self test

void
zeb_http_test (bool verbose)
{
    printf (" * zeb_http: ");
    char params [ZEB_HTTP_MAX_PARAMS][256];
    assert (s_match ("/webhooks/{source}", "/webhooks/github", params) && streq (params [0], "github"));
    assert (!s_match ("/webhooks/{source}", "/webhooks/", params));
    assert (!s_match ("/webhooks/{source}", "/webhooks/a/b", params));
    assert (s_match ("/api/events/{#}", "/api/events/42", params) && streq (params [0], "42"));
    assert (!s_match ("/api/events/{#}", "/api/events/trigger", params));
    assert (s_match ("/api/automations/{id}/logs", "/api/automations/r-1/logs", params)
            && streq (params [0], "r-1"));
    assert (!s_match ("/api/automations", "/api/automations/", params));
    int scopes;
    assert (s_scopes_parse ("read, publish", &scopes) == 0
            && scopes == (ZEB_HTTP_SCOPE_READ | ZEB_HTTP_SCOPE_PUBLISH));
    assert (s_scopes_parse ("admin", &scopes) == 0 && (scopes & ZEB_HTTP_SCOPE_READ));
    assert (s_scopes_parse ("root", &scopes) == -1);
    //  Every route's summary is there, and no two routes are the same
    for (const s_route_t *route = s_routes; route->method; route++) {
        assert (route->summary && *route->summary);
        for (const s_route_t *other = route + 1; other->method; other++)
            assert (!(streq (route->method, other->method) && streq (route->pattern, other->pattern)));
    }
    zeb_http_t http;
    memset (&http, 0, sizeof (http));
    json_t *document = s_openapi_document (&http);
    assert (document);
    assert (json_object_get (json_object_get (json_object_get (document, "paths"),
                                              "/api/events/{sequence}"), "get"));
    json_decref (document);
    zeb_http_hook_test (verbose);
    zeb_http_ws_test (verbose);
    printf ("OK\n");
}
