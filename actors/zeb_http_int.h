/*  =========================================================================
    zeb_http_int - what the gateway's files share (zeb_http.c: the actor,
    the server, routing, replies and tokens; zeb_http_hook.c: webhook
    sources and signatures; zeb_http_api.c: the REST routes;
    zeb_http_ws.c: WebSockets, GET /ws, the console and GET /api/stats)

    Internal to the gateway. The actor's state (zeb_http_t) is written by
    the actor's thread before the server starts and after it stopped;
    while it runs, worker threads only read it, except the counters, which
    they add to atomically.
    =========================================================================
*/

#ifndef ZEB_HTTP_INT_H_INCLUDED
#define ZEB_HTTP_INT_H_INCLUDED

#include "zeb_actors.h"
#include <civetweb.h>

#define ZEB_HTTP_MAX_SECRETS    2       //  per webhook source: rotation
#define ZEB_HTTP_MAX_HEADERS    8       //  required, or kept, per source
#define ZEB_HTTP_MAX_PARAMS     2       //  {params} in one route
#define ZEB_HTTP_MAX_SOURCE     64      //  bytes of a webhook source name

typedef enum {
    ZEB_HTTP_SCHEME_NONE,               //  no signature
    ZEB_HTTP_SCHEME_GITHUB,             //  X-Hub-Signature-256: sha256=HEX over the body
    ZEB_HTTP_SCHEME_STRIPE,             //  Stripe-Signature: t=T,v1=HEX over "T.body"
    ZEB_HTTP_SCHEME_STANDARD,           //  Standard Webhooks: v1,B64 over "id.ts.body"
    ZEB_HTTP_SCHEME_HMAC                //  HMAC-SHA256 of the body in a named header
} zeb_http_scheme_t;

//  One webhook source (http/webhooks/NAME/...), immutable once loaded
typedef struct {
    char name [ZEB_HTTP_MAX_SOURCE + 1];
    zeb_http_scheme_t scheme;
    uint8_t *secrets [ZEB_HTTP_MAX_SECRETS];
    size_t secret_sizes [ZEB_HTTP_MAX_SECRETS];
    size_t secret_count;
    char header [64];                   //  HMAC: the header carrying it
    bool base64;                        //  HMAC: base64, not hex
    char prefix [32];                   //  HMAC: stripped before decoding ("sha256=")
    int64_t tolerance_ms;               //  Stripe, Standard: timestamp skew allowed
    uint64_t max_body;                  //  bytes
    char required [ZEB_HTTP_MAX_HEADERS][64];
    size_t required_count;
    char keep [ZEB_HTTP_MAX_HEADERS][64];   //  headers kept as extensions
    size_t keep_count;
} zeb_http_source_t;

//  A token's rate limit: a bucket of burst requests, refilled at rate/s
typedef struct {
    pthread_mutex_t mutex;
    double rate, burst;                 //  rate 0: no limit
    double level;                       //  requests it may make now
    int64_t refilled;                   //  ms, monotonic
} zeb_http_bucket_t;

//  One bearer token
#define ZEB_HTTP_SCOPE_READ     1
#define ZEB_HTTP_SCOPE_PUBLISH  2
#define ZEB_HTTP_SCOPE_ADMIN    4
typedef struct {
    char name [65];
    uint8_t digest [32];                //  SHA-256 of the token
    int scopes;
    zeb_http_bucket_t bucket;
} zeb_http_token_t;

//  Counters, added to by worker threads (relaxed atomics); the list
//  makes the struct, STATS and /metrics
#define ZEB_HTTP_COUNTERS(X) \
    X (requests) X (status_2xx) X (status_4xx) X (status_5xx) \
    X (webhooks) X (webhooks_stored) X (webhooks_duplicate) \
    X (signature_failures) X (unknown_sources) X (unavailable) \
    X (published) X (unauthorized) X (forbidden) X (too_large) X (bad_requests) \
    X (rate_limited)

typedef struct {
#define ZEB_HTTP_FIELD(name) uint64_t name;
    ZEB_HTTP_COUNTERS (ZEB_HTTP_FIELD)
#undef ZEB_HTTP_FIELD
} zeb_http_counters_t;

//  The actors the gateway talks to, by index (zeb_http_node.c names them)
#define ZEB_HTTP_PEERS          6       //  ingest, log, registry, outbox, automation, cron

typedef struct _zeb_http_ws_t zeb_http_ws_t;

typedef struct {
    zeb_actor_t *actor;
    struct mg_context *server;
    char *url;                          //  "http://HOST:PORT", as bound
    char *ingest, *registry, *outbox, *automation, *log, *cron;  //  endpoints, or NULL
    uint64_t max_body;
    int64_t publish_timeout, call_timeout, backtest_timeout;
    bool accept_unknown;
    bool keep_alive;                    //  http/keep_alive above 0
    zeb_http_source_t *sources;         //  from configuration
    size_t source_count;
    zeb_http_source_t *added;           //  by the admin routes, found first
    size_t added_count;
    zconfig_t *added_root;              //  those, as saved
    char *sources_path;                 //  where: DATA/http-sources.zpl, or NULL
    pthread_rwlock_t sources_lock;      //  read: a delivery; write: a change
    bool sources_locked;                //  the lock was made
    zeb_http_token_t *tokens;
    size_t token_count;
    zeb_http_bucket_t anonymous;        //  requests without a token (http/rate)
    bool started;                       //  the node said every actor started (atomic)
    zeb_http_counters_t counters;
    zeb_http_ws_t *ws;                  //  WebSockets (zeb_http_ws.c)
} zeb_http_t;

#define ZEB_HTTP_COUNT(http, name) \
    __atomic_fetch_add (&(http)->counters.name, 1, __ATOMIC_RELAXED)

//  A worker thread's clients, created on first use
typedef struct {
    zeb_client_t *client;
    zeb_registry_client_t *registry;
    zeb_outbox_client_t *outbox;
    zeb_automation_client_t *automation;
    zeb_actor_client_t *peers [ZEB_HTTP_PEERS];     //  cron's verbs, STATS of each
} zeb_http_worker_t;

//  One request being served
typedef struct {
    zeb_http_t *http;
    zeb_http_worker_t *worker;
    struct mg_connection *conn;
    const struct mg_request_info *info;
    char params [ZEB_HTTP_MAX_PARAMS][256]; //  {params} of the route, decoded
    char *body;                         //  read by zeb_http_read_body, NUL-ended
    size_t body_size;
    const char *who;                    //  the token's name, or "http"
    zeb_http_token_t *token;            //  the token presented, or NULL
    int status;                         //  of the reply sent
} zeb_http_req_t;

//  A route's handler: serves the request (always replies); returns the status
typedef int (zeb_http_handler_fn) (zeb_http_req_t *req);

//  ---------------------------------------------------------------------
//  Replies (zeb_http.c). Each sends one complete response, with
//  Content-Length, and returns its status.

//  body of len bytes; headers (may be NULL) are "Name: value\r\n" lines
int
    zeb_http_reply (zeb_http_req_t *req, int status, const char *content_type, const char *body,
                    size_t len, const char *headers);

//  json (taken; NULL is 500) as compact JSON
int
    zeb_http_reply_json (zeb_http_req_t *req, int status, json_t *json, const char *headers);

//  {code: status, reason, error}
int
    zeb_http_reply_error (zeb_http_req_t *req, int status, const char *reason, const char *format,
                          ...) CHECK_PRINTF (4);

//  A zeb error from a client call: status zeb_error_status (rc) (503 with
//  Retry-After for ZEB_EUNREACHABLE, ZEB_EFULL, ZEB_EOVERLOADED; 504 for
//  ZEB_ETIMEOUT), body the NACK's (taken, may be NULL: then fault's text)
int
    zeb_http_reply_fault (zeb_http_req_t *req, int rc, json_t *nack, const zeb_fault_t *fault);

//  ---------------------------------------------------------------------
//  Request helpers (zeb_http.c)

//  Read the whole body, at most limit bytes. Returns 0, or -1 having
//  replied (413 over the limit, 400 if the connection broke).
int
    zeb_http_read_body (zeb_http_req_t *req, uint64_t limit);

//  The body as JSON (read first with the gateway's limit): a new
//  reference, or NULL having replied 400 (not JSON, or not an object when
//  object is true) or 413.
json_t *
    zeb_http_body_json (zeb_http_req_t *req, bool object);

//  The body as a JSON object named by the path (PUT /api/X/{key}): its
//  field key set to the path's first parameter; NULL having replied 400
//  when the body names another, or as zeb_http_body_json.
json_t *
    zeb_http_body_keyed (zeb_http_req_t *req, const char *key);

//  A query parameter into value (size bytes): true if present
bool
    zeb_http_query (zeb_http_req_t *req, const char *name, char *value, size_t size);

//  A header (case-insensitive), or NULL
const char *
    zeb_http_header (zeb_http_req_t *req, const char *name);

//  The next item of a comma-separated list ("a, b,c"; spaces and commas
//  separate): its first byte, *len its length; NULL at the end. *cursor
//  (start it at the text) moves past the item.
const char *
    zeb_http_list_next (const char **cursor, size_t *len);

//  This thread's client of ingest, the registry, the outbox, the
//  automations; NULL having replied 503 when the node has none.
zeb_client_t *
    zeb_http_client (zeb_http_req_t *req);
zeb_registry_client_t *
    zeb_http_registry (zeb_http_req_t *req);
zeb_outbox_client_t *
    zeb_http_outbox (zeb_http_req_t *req);
zeb_automation_client_t *
    zeb_http_automation (zeb_http_req_t *req);

//  ---------------------------------------------------------------------
//  Webhooks (zeb_http_hook.c)

//  Sources (zeb_http_sources.c). Load http/webhooks/* from config and
//  the admin routes' sources from the data directory. Returns 0 or
//  ZEB_ECONFIG with fault naming the key.
int
    zeb_http_sources_load (zeb_http_t *http, zconfig_t *config, zeb_fault_t *fault);
void
    zeb_http_sources_free (zeb_http_t *http);

//  Add a secret to source (decoded as its scheme wants: whsec_BASE64 for
//  standard); key names it in fault
int
    zeb_http_source_secret_add (zeb_http_source_t *source, const char *secret, const char *key,
                                zeb_fault_t *fault);

//  Hold the sources while a delivery uses one
void
    zeb_http_sources_lock (zeb_http_t *http);
void
    zeb_http_sources_unlock (zeb_http_t *http);

//  The source named so (the lock held), or NULL; *added (may be NULL):
//  made by the admin routes
const zeb_http_source_t *
    zeb_http_source_find (zeb_http_t *http, const char *name, bool *added);

//  How many sources there are
size_t
    zeb_http_sources_count (zeb_http_t *http);

//  GET /api/webhooks, GET|PUT|DELETE /api/webhooks/{source}
int zeb_http_sources_list (zeb_http_req_t *req);
int zeb_http_source_get (zeb_http_req_t *req);
int zeb_http_source_put (zeb_http_req_t *req);
int zeb_http_source_delete (zeb_http_req_t *req);

//  A header lookup for the signature check
typedef const char *(zeb_http_header_fn) (void *arg, const char *name);

//  Check a delivery's signature by its source's scheme, at now_ms. Returns
//  0 if it holds (or the scheme is none), else -1 with why (a sentence).
int
    zeb_http_verify (const zeb_http_source_t *source, zeb_http_header_fn *header, void *arg,
                     const char *body, size_t size, int64_t now_ms, char *why, size_t why_size);

//  POST /webhooks/{source}
int
    zeb_http_webhook (zeb_http_req_t *req);

//  Self test of the schemes (zeb_http_test calls it)
void
    zeb_http_hook_test (bool verbose);

//  ---------------------------------------------------------------------
//  The REST routes (zeb_http_api.c)

int zeb_http_trigger (zeb_http_req_t *req);
int zeb_http_events_post (zeb_http_req_t *req);
int zeb_http_events_get (zeb_http_req_t *req);
int zeb_http_event_get (zeb_http_req_t *req);
int zeb_http_types_list (zeb_http_req_t *req);
int zeb_http_types_post (zeb_http_req_t *req);
int zeb_http_type_get (zeb_http_req_t *req);
int zeb_http_type_versions (zeb_http_req_t *req);
int zeb_http_type_check (zeb_http_req_t *req);
int zeb_http_type_compatibility (zeb_http_req_t *req);
int zeb_http_type_validation (zeb_http_req_t *req);
int zeb_http_type_delete (zeb_http_req_t *req);
int zeb_http_automations_list (zeb_http_req_t *req);
int zeb_http_automations_post (zeb_http_req_t *req);
int zeb_http_automations_logs (zeb_http_req_t *req);
int zeb_http_automation_get (zeb_http_req_t *req);
int zeb_http_automation_put (zeb_http_req_t *req);
int zeb_http_automation_delete (zeb_http_req_t *req);
int zeb_http_automation_enable (zeb_http_req_t *req);
int zeb_http_automation_disable (zeb_http_req_t *req);
int zeb_http_automation_logs (zeb_http_req_t *req);
int zeb_http_automation_test (zeb_http_req_t *req);
int zeb_http_automation_backtest (zeb_http_req_t *req);
int zeb_http_deadletters_list (zeb_http_req_t *req);
int zeb_http_deadletters_replay (zeb_http_req_t *req);
int zeb_http_deadletter_get (zeb_http_req_t *req);
int zeb_http_deadletter_replay (zeb_http_req_t *req);
int zeb_http_deadletter_delete (zeb_http_req_t *req);

//  ---------------------------------------------------------------------
//  The node's routes (zeb_http_node.c)

int zeb_http_cron_list (zeb_http_req_t *req);
int zeb_http_cron_post (zeb_http_req_t *req);
int zeb_http_cron_get (zeb_http_req_t *req);
int zeb_http_cron_put (zeb_http_req_t *req);
int zeb_http_cron_delete (zeb_http_req_t *req);
int zeb_http_cron_enable (zeb_http_req_t *req);
int zeb_http_cron_disable (zeb_http_req_t *req);
int zeb_http_cron_run (zeb_http_req_t *req);
int zeb_http_metrics (zeb_http_req_t *req);
int zeb_http_readyz (zeb_http_req_t *req);

//  The gateway's counters as a JSON object (its STATS' numbers)
json_t *
    zeb_http_counters_json (zeb_http_t *http);

//  WebSockets, the console, GET /api/stats (zeb_http_ws.c)

//  Its configuration keys, inside zeb_http_config
#define ZEB_HTTP_WS_CONFIG \
    { "http/ws/idle_timeout", "60s", ZEB_KEY_DURATION, 100, 86400000, NULL, \
      "a WebSocket silent this long (no message, no answer to the gateway's pings) is closed" }, \
    { "http/ws/queue", "1024", ZEB_KEY_INT, 4, 1000000, NULL, \
      "messages queued for one WebSocket; past it the client gets `lagged` and is disconnected" }, \
    { "http/ws/lag_grace", "5s", ZEB_KEY_DURATION, 100, 600000, NULL, \
      "a lagged WebSocket still open this long after its notice is cut (its client does not read)" }, \
    { "http/ws/max_subscriptions", "64", ZEB_KEY_INT, 1, 10000, NULL, \
      "channels one WebSocket may subscribe to" }, \
    { "http/ws/senders", "4", ZEB_KEY_INT, 1, 256, NULL, \
      "threads writing queued messages to WebSockets (a stuck client holds one)" }, \
    { "http/tokens/*/channels", "*", ZEB_KEY_STR, 0, 0, NULL, \
      "channels its WebSockets may subscribe to, comma-separated (\"order.*,audit.log\")" },

//  Before mg_start: read http/ws/* (after the tokens). Returns 0 or
//  ZEB_ECONFIG with fault set. zeb_http_ws_stop frees what it made.
int
    zeb_http_ws_configure (zeb_http_t *http, zconfig_t *config, zeb_fault_t *fault);

//  CivetWeb's websocket_timeout_ms for http/ws/idle_timeout (borrowed)
const char *
    zeb_http_ws_ping_interval (zeb_http_t *http);

//  After mg_start: the feed and sender threads, the /ws handler. Returns
//  0 or ZEB_ECONFIG with fault set. Without http/ingest, /ws is not served.
int
    zeb_http_ws_start (zeb_http_t *http, zeb_fault_t *fault);

//  After mg_stop (every connection closed): threads joined, state freed.
//  Safe when not configured, and twice.
void
    zeb_http_ws_stop (zeb_http_t *http);

//  The "ws" map of the gateway's STATS
void
    zeb_http_ws_stats (zeb_http_t *http, zeb_pack_t *pack);

int zeb_http_console (zeb_http_req_t *req);       //  GET /
int zeb_http_stats_get (zeb_http_req_t *req);     //  GET /api/stats

//  Self test of channels and messages (zeb_http_test calls it)
void
    zeb_http_ws_test (bool verbose);

#endif
