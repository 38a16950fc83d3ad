/*  =========================================================================
    webhook_test - the webhook executor against a real HTTP receiver

    Each case runs a real executor host (zeb_executor_host with the
    webhook plugin) whose outbox the test plays on a ROUTER, and a real
    HTTP/1.1 receiver (tests/receiver.c) on 127.0.0.1. Nothing sleeps: the
    test waits for RESULTs and for the receiver's counts, with deadlines.

    usage: webhook_test VERIFIER [CASE]
    VERIFIER is tests/webhook_verify.py, the independent Standard Webhooks
    verifier the signature case runs on the requests the receiver saw.
    =========================================================================
*/

#include "testutil.h"
#include "receiver.h"
#include "zeb_actors.h"

static const char *s_verifier;

//  A host, its outbox (the test) and a receiver
typedef struct {
    receiver_t *receiver;
    zsock_t *router;
    zframe_t *identity;             //  the host's, from its READY
    zactor_t *host;
    char *endpoint;
    char base [64];                 //  "http://127.0.0.1:PORT"
    int jobs;
} s_rig_t;

//  settings: "key=value" pairs, NULL-ended (may be NULL)
static s_rig_t *
s_rig_new (const char **settings, int credit)
{
    s_rig_t *self = (s_rig_t *) zmalloc (sizeof (s_rig_t));
    self->receiver = receiver_new ();
    assert (self->receiver);
    snprintf (self->base, sizeof (self->base), "http://127.0.0.1:%d", receiver_port (self->receiver));
    self->endpoint = zeb_actor_inproc ("webhook-test");
    self->router = zsock_new_router (self->endpoint);
    assert (self->router);
    zconfig_t *config = zconfig_new ("root", NULL);
    zconfig_put (config, "node/name", "webhook-test");
    for (size_t index = 0; settings && settings [index]; index++) {
        char *copy = strdup (settings [index]);
        char *equals = strchr (copy, '=');
        assert (equals);
        *equals = 0;
        zconfig_put (config, copy, equals + 1);
        free (copy);
    }
    zeb_executor_args_t args = { &zeb_executor_webhook, self->endpoint, NULL, NULL, NULL };
    zeb_fault_t fault;
    self->host = zeb_executor_start (&args, config, &fault);
    zconfig_destroy (&config);
    assert (self->host);
    zsock_set_rcvtimeo (self->router, 5000);
    zmsg_t *ready = zmsg_recv (self->router);
    assert (ready && zmsg_size (ready) == 3);
    self->identity = zmsg_pop (ready);
    zframe_t *command = zmsg_first (ready);
    assert (zframe_streq (command, ZEB_CMD_READY));
    zframe_t *body = zmsg_last (ready);
    json_t *json = zeb_json_from_msgpack (zframe_data (body), zframe_size (body), NULL);
    assert (json_integer_value (json_object_get (json, "credit")) == credit);
    json_decref (json);
    zmsg_destroy (&ready);
    return self;
}

//  The next message from the host other than a PING: command and body
static json_t *
s_rig_recv (s_rig_t *self, int timeout_ms, char *command)
{
    int64_t deadline = test_now_ms () + timeout_ms;
    while (true) {
        int64_t left = deadline - test_now_ms ();
        if (left <= 0)
            return NULL;
        zsock_set_rcvtimeo (self->router, (int) left);
        zmsg_t *msg = zmsg_recv (self->router);
        if (!msg)
            return NULL;
        assert (zmsg_size (msg) == 3);
        zmsg_first (msg);
        zframe_t *frame = zmsg_next (msg);
        snprintf (command, 16, "%.*s", (int) zframe_size (frame), (char *) zframe_data (frame));
        frame = zmsg_last (msg);
        json_t *body = zeb_json_from_msgpack (zframe_data (frame), zframe_size (frame), NULL);
        assert (body);
        zmsg_destroy (&msg);
        if (!streq (command, ZEB_CMD_PING))
            return body;
        json_decref (body);
    }
}

//  Stop the host (its BYE comes last) and the receiver
static void
s_rig_destroy (s_rig_t **self_p)
{
    s_rig_t *self = *self_p;
    zactor_destroy (&self->host);
    char command [16];
    json_t *body = s_rig_recv (self, 5000, command);
    assert (body && streq (command, ZEB_CMD_BYE));
    json_decref (body);
    receiver_destroy (&self->receiver);
    zframe_destroy (&self->identity);
    zsock_destroy (&self->router);
    zstr_free (&self->endpoint);
    free (self);
    *self_p = NULL;
}

static zeb_event_t *
s_event (void)
{
    zeb_event_t *event = test_event_new ("order.placed", "webhook-test", 7, NULL);
    zeb_event_set (event, "id", "event-1");
    return event;
}

//  Send a JOB with config (JSON text) under the action key key; returns
//  the JOB's id in id (16 bytes)
static void
s_rig_job_with (s_rig_t *self, const char *key, uint32_t attempt, int timeout_ms,
                const char *config, char *id)
{
    snprintf (id, 16, "job-%d", ++self->jobs);
    zeb_fault_t fault;
    json_t *json = zeb_json_parse (config, strlen (config), &fault);
    if (!json)
        printf ("%s: %s\n", config, fault.text);
    assert (json);
    zeb_event_t *event = s_event ();
    zeb_job_t job = { id, key, "run-1", "webhook", "automation-1", json, event,
                      attempt, 0, timeout_ms, NULL, NULL };
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    assert (zeb_job_pack (&job, &buffer) == 0);
    zframe_t *to = zframe_dup (self->identity);
    zframe_send (&to, self->router, ZFRAME_MORE);
    zstr_sendm (self->router, ZEB_CMD_JOB);
    zframe_t *frame = zframe_new (buffer.data, buffer.size);
    zframe_send (&frame, self->router, 0);
    msgpack_sbuffer_destroy (&buffer);
    zeb_event_destroy (&event);
    json_decref (json);
}

static void
s_rig_job (s_rig_t *self, const char *config, char *id)
{
    s_rig_job_with (self, "action-key-1", 1, 10000, config, id);
}

//  The config of a plain job to path on the receiver (size 256)
static char *
s_rig_config (s_rig_t *self, const char *path, char *config)
{
    snprintf (config, 256, "{\"url\": \"%s%s\"}", self->base, path);
    return config;
}

//  The next RESULT (any job's), or NULL by the deadline
static json_t *
s_rig_any_result (s_rig_t *self, int timeout_ms)
{
    char command [16];
    json_t *body = s_rig_recv (self, timeout_ms, command);
    assert (!body || streq (command, ZEB_CMD_RESULT));
    return body;
}

//  The RESULT of job id, with this status (caller owns)
static json_t *
s_rig_result (s_rig_t *self, const char *id, const char *status)
{
    json_t *body = s_rig_any_result (self, 15000);
    assert (body);
    const char *got = json_string_value (json_object_get (body, "status"));
    if (!streq (got, status))
        printf ("\n%s: %s (%s)\n", id, got, json_string_value (json_object_get (body, "error")));
    assert (streq (json_string_value (json_object_get (body, "id")), id));
    assert (streq (got, status));
    return body;
}

static const char *
s_str (json_t *body, const char *key)
{
    const char *value = json_string_value (json_object_get (body, key));
    return value? value: "";
}

static int64_t
s_int (json_t *body, const char *key)
{
    return json_integer_value (json_object_get (body, key));
}

//  One job to path with extra config entries (JSON members, may be ""),
//  its result (caller owns)
static json_t *
s_rig_post (s_rig_t *self, const char *path, const char *extra, const char *status)
{
    char config [1024], id [16];
    snprintf (config, sizeof (config), "{\"url\": \"%s%s\"%s%s}", self->base, path,
              *extra? ", ": "", extra);
    s_rig_job (self, config, id);
    return s_rig_result (self, id, status);
}

static int64_t
s_stat (s_rig_t *self, const char *key)
{
    json_t *stats = zeb_actor_stats (self->host);
    assert (stats);
    int64_t value = s_int (stats, key);
    json_decref (stats);
    return value;
}

//  How many times a request carries header name
static int
s_header_count (const receiver_request_t *request, const char *name)
{
    int count = 0;
    size_t len = strlen (name);
    for (const char *line = request->headers; line && *line; line = strstr (line, "\r\n")) {
        line += line == request->headers? 0: 2;
        if (strncasecmp (line, name, len) == 0 && line [len] == ':')
            count++;
        if (!*line)
            break;
    }
    return count;
}

static const char *s_loopback [] = { "webhook/allow=127.0.0.1/32", NULL };

//  ---------------------------------------------------------------------

//  2xx: OK; the default body is the event as CloudEvents JSON
static void
s_test_ok (void)
{
    s_rig_t *rig = s_rig_new (s_loopback, 256);
    json_t *body = s_rig_post (rig, "/hook", "", "ok");
    assert (s_int (body, "code") == 200);
    json_t *result = json_object_get (body, "result");
    assert (s_int (result, "status") == 200 && streq (s_str (result, "body"), "{\"ok\":true}"));
    json_decref (body);
    receiver_request_t request;
    assert (receiver_request (rig->receiver, 0, &request));
    char value [256];
    assert (streq (request.method, "POST") && streq (request.path, "/hook"));
    assert (receiver_request_header (&request, "Content-Type", value, sizeof (value)));
    assert (streq (value, "application/cloudevents+json"));
    assert (receiver_request_header (&request, "webhook-id", value, sizeof (value)));
    assert (streq (value, "action-key-1"));
    assert (receiver_request_header (&request, "webhook-timestamp", value, sizeof (value)));
    assert (llabs (atoll (value) - zeb_time_now () / 1000) <= 5);
    assert (!receiver_request_header (&request, "webhook-signature", value, sizeof (value)));
    assert (!receiver_request_header (&request, "Expect", value, sizeof (value)));
    assert (receiver_request_header (&request, "User-Agent", value, sizeof (value)));
    assert (strncmp (value, "zeb/", 4) == 0);
    json_t *event = zeb_json_parse (request.body, request.body_size, NULL);
    assert (streq (s_str (event, "type"), "order.placed") && streq (s_str (event, "id"), "event-1"));
    assert (streq (s_str (event, "specversion"), "1.0"));
    assert (s_int (json_object_get (event, "data"), "n") == 7);
    json_decref (event);
    receiver_request_reset (&request);
    assert (s_stat (rig, "requests") == 1 && s_stat (rig, "responses_2xx") == 1);
    assert (s_stat (rig, "ok") == 1 && s_stat (rig, "connections") == 1);
    s_rig_destroy (&rig);
}

//  method, headers and a body of the action's own
static void
s_test_custom (void)
{
    s_rig_t *rig = s_rig_new (s_loopback, 256);
    json_decref (s_rig_post (rig, "/put", "\"method\": \"PUT\", \"headers\": {\"X-Test\": \"yes\"},"
                             " \"body\": {\"hello\": \"world\"}", "ok"));
    json_decref (s_rig_post (rig, "/typed", "\"headers\": {\"content-type\": \"text/plain\"},"
                             " \"body\": \"just text\"", "ok"));
    receiver_request_t request;
    char value [256];
    assert (receiver_request (rig->receiver, 0, &request));
    assert (streq (request.method, "PUT") && streq (request.body, "{\"hello\":\"world\"}"));
    assert (receiver_request_header (&request, "X-Test", value, sizeof (value)) && streq (value, "yes"));
    assert (receiver_request_header (&request, "Content-Type", value, sizeof (value)));
    assert (streq (value, "application/json"));
    receiver_request_reset (&request);
    assert (receiver_request (rig->receiver, 1, &request));
    assert (streq (request.body, "\"just text\""));
    assert (receiver_request_header (&request, "Content-Type", value, sizeof (value)));
    assert (streq (value, "text/plain"));
    assert (s_header_count (&request, "content-type") == 1);
    receiver_request_reset (&request);
    s_rig_destroy (&rig);
}

//  What each answer becomes: RETRY for 408, 429 and 5xx (Retry-After as
//  seconds or an HTTP date), FAIL for other 4xx, gone for 410, FAIL for
//  3xx, whose Location is not followed
static void
s_test_statuses (void)
{
    struct {
        const char *path;
        receiver_mode_t mode;
        int arg;
        const char *status;
        int code;
        int64_t after_min;              //  retryAfterMs range; 0: none
        int64_t after_max;
        bool gone;
        const char *error;              //  the error's start
    } rows [] = {
        { "/500", RECEIVER_FAIL, 0, "retry", 500, 0, 0, false, "HTTP 500: {\"error\"" },
        { "/503", RECEIVER_STATUS, 503, "retry", 503, 0, 0, false, "HTTP 503" },
        { "/408", RECEIVER_STATUS, 408, "retry", 408, 0, 0, false, "HTTP 408" },
        { "/429", RECEIVER_RETRY_AFTER, 7, "retry", 429, 7000, 7000, false, "HTTP 429" },
        { "/429-date", RECEIVER_RETRY_AFTER_DATE, 30, "retry", 429, 25001, 30000, false, "HTTP 429" },
        { "/gone", RECEIVER_GONE, 0, "fail", 410, 0, 0, true, "HTTP 410 (gone)" },
        { "/missing", RECEIVER_STATUS, 404, "fail", 404, 0, 0, false, "HTTP 404" },
        { "/old", RECEIVER_REDIRECT, 302, "fail", 302, 0, 0, false, "HTTP 302 (redirect not followed)" },
        { "/older", RECEIVER_REDIRECT, 308, "fail", 308, 0, 0, false, "HTTP 308 (redirect not followed)" },
    };
    size_t count = sizeof (rows) / sizeof (rows [0]);
    s_rig_t *rig = s_rig_new (s_loopback, 256);
    for (size_t row = 0; row < count; row++) {
        receiver_set_path_mode (rig->receiver, rows [row].path, rows [row].mode, rows [row].arg);
        json_t *body = s_rig_post (rig, rows [row].path, "", rows [row].status);
        int64_t after = s_int (body, "retryAfterMs");
        if (strncmp (s_str (body, "error"), rows [row].error, strlen (rows [row].error)))
            printf ("\n%s: %s\n", rows [row].path, s_str (body, "error"));
        assert (strncmp (s_str (body, "error"), rows [row].error, strlen (rows [row].error)) == 0);
        assert (s_int (body, "code") == rows [row].code);
        assert (after >= rows [row].after_min && after <= rows [row].after_max);
        assert (json_is_true (json_object_get (body, "gone")) == rows [row].gone);
        json_decref (body);
    }
    assert (s_stat (rig, "responses_3xx") == 2 && s_stat (rig, "responses_4xx") == 5);
    assert (s_stat (rig, "responses_5xx") == 2);
    //  Nothing went to a redirect's Location
    assert (receiver_count (rig->receiver) == count);
    for (size_t index = 0; index < count; index++) {
        receiver_request_t request;
        assert (receiver_request (rig->receiver, index, &request));
        assert (!streq (request.path, "/moved"));
        receiver_request_reset (&request);
    }
    s_rig_destroy (&rig);
}

//  No answer: RETRY when the job's budget is spent, not long after
static void
s_test_stall (void)
{
    s_rig_t *rig = s_rig_new (s_loopback, 256);
    receiver_set_mode (rig->receiver, RECEIVER_STALL, 0);
    char config [256], id [16];
    s_rig_config (rig, "/slow", config);
    int64_t started = test_now_ms ();
    s_rig_job_with (rig, "stalled", 1, 300, config, id);
    json_t *body = s_rig_result (rig, id, "retry");
    int64_t took = test_now_ms () - started;
    assert (took >= 295 && took < 300 + 3000);
    assert (strstr (s_str (body, "error"), "timed out after 300 ms"));
    assert (!json_object_get (body, "code"));
    json_decref (body);
    assert (s_stat (rig, "timeouts") == 1 && receiver_count (rig->receiver) == 1);
    s_rig_destroy (&rig);
}

//  A closed port, a closed connection: RETRY
static void
s_test_refused (void)
{
    s_rig_t *rig = s_rig_new (s_loopback, 256);
    int fd;
    int port = test_dead_port (&fd);
    char config [256], id [16];
    snprintf (config, sizeof (config), "{\"url\": \"http://127.0.0.1:%d/\"}", port);
    s_rig_job (rig, config, id);
    json_t *body = s_rig_result (rig, id, "retry");
    assert (!json_object_get (body, "code") && *s_str (body, "error"));
    json_decref (body);
    close (fd);
    receiver_set_mode (rig->receiver, RECEIVER_CLOSE, 0);
    json_decref (s_rig_post (rig, "/closed", "", "retry"));
    assert (s_stat (rig, "transport_errors") == 2);
    s_rig_destroy (&rig);
}

//  What cannot be sent FAILs before anything is sent
static void
s_test_refusals (void)
{
    s_rig_t *rig = s_rig_new (s_loopback, 256);
    const char *configs [][2] = {
        { "{\"url\": \"ftp://127.0.0.1/file\"}", "not an http or https URL" },
        { "{\"url\": \"file:///etc/passwd\"}", "not an http or https URL" },
        { "{\"url\": \"gopher://127.0.0.1:70/\"}", "not an http or https URL" },
        { "{\"url\": \"no url at all\"}", "not a URL" },
        { "{\"url\": 5}", "'url'" },
        { "{}", "'url'" },
        { "{\"url\": \"@/\", \"method\": \"GET\"}", "'method'" },
        { "{\"url\": \"@/\", \"headers\": {\"Host\": \"elsewhere\"}}", "set by the executor" },
        { "{\"url\": \"@/\", \"headers\": {\"webhook-id\": \"mine\"}}", "set by the executor" },
        { "{\"url\": \"@/\", \"headers\": {\"X-A\": \"a\\r\\nInjected: 1\"}}", "one-line" },
        { "{\"url\": \"@/\", \"headers\": {\"Bad Name\": \"a\"}}", "token" },
        { "{\"url\": \"@/\", \"headers\": [\"X-A: a\"]}", "'headers'" },
        { "{\"url\": \"@/\", \"secret\": \"whsec_c2hvcnQ=\"}", "secret 1" },
        { "{\"url\": \"@/\", \"secret\": []}", "'secret'" },
    };
    for (size_t index = 0; index < sizeof (configs) / sizeof (configs [0]); index++) {
        char config [512], id [16];
        //  "@" stands for the receiver's base URL
        const char *at = strchr (configs [index][0], '@');
        if (at)
            snprintf (config, sizeof (config), "%.*s%s%s", (int) (at - configs [index][0]),
                      configs [index][0], rig->base, at + 1);
        else
            snprintf (config, sizeof (config), "%s", configs [index][0]);
        s_rig_job (rig, config, id);
        json_t *body = s_rig_result (rig, id, "fail");
        if (!strstr (s_str (body, "error"), configs [index][1]))
            printf ("\n%s: %s\n", config, s_str (body, "error"));
        assert (strstr (s_str (body, "error"), configs [index][1]));
        json_decref (body);
    }
    //  The key becomes a header: no control characters in it
    char config [256], id [16];
    s_rig_job_with (rig, "key\r\nInjected: 1", 1, 10000, s_rig_config (rig, "/", config), id);
    json_t *body = s_rig_result (rig, id, "fail");
    assert (strstr (s_str (body, "error"), "control character"));
    json_decref (body);
    assert (receiver_count (rig->receiver) == 0);
    s_rig_destroy (&rig);
}

//  Loopback is denied unless allowed, by the address connected to
static void
s_test_ssrf (void)
{
    s_rig_t *rig = s_rig_new (NULL, 256);
    json_t *body = s_rig_post (rig, "/hook", "", "fail");
    assert (streq (s_str (body, "error"), "destination denied: 127.0.0.1"));
    json_decref (body);
    char config [256], id [16];
    //  A name that resolves to loopback, and IPv6 loopback
    snprintf (config, sizeof (config), "{\"url\": \"http://localhost:%d/\"}", receiver_port (rig->receiver));
    s_rig_job (rig, config, id);
    body = s_rig_result (rig, id, "fail");
    assert (strncmp (s_str (body, "error"), "destination denied: ", 20) == 0);
    json_decref (body);
    snprintf (config, sizeof (config), "{\"url\": \"http://[::1]:%d/\"}", receiver_port (rig->receiver));
    s_rig_job (rig, config, id);
    body = s_rig_result (rig, id, "fail");
    assert (streq (s_str (body, "error"), "destination denied: ::1"));
    json_decref (body);
    assert (receiver_count (rig->receiver) == 0 && s_stat (rig, "denied") >= 3);
    s_rig_destroy (&rig);

    //  An allow CIDR wins over the built-in and the configured denies
    const char *settings [] = { "webhook/allow=127.0.0.0/8", "webhook/deny=127.0.0.1", NULL };
    rig = s_rig_new (settings, 256);
    json_decref (s_rig_post (rig, "/hook", "", "ok"));
    s_rig_destroy (&rig);
    //  A bad CIDR is refused at START
    zconfig_t *config_tree = zconfig_new ("root", NULL);
    zconfig_put (config_tree, "webhook/deny", "10.0.0.0/8, nonsense");
    zeb_executor_args_t args = { &zeb_executor_webhook, "inproc://webhook-test-unused", NULL, NULL, NULL };
    zeb_fault_t fault;
    assert (!zeb_executor_start (&args, config_tree, &fault));
    assert (fault.code == ZEB_ECONFIG && strstr (fault.text, "nonsense"));
    zconfig_destroy (&config_tree);
}

//  Requests in flight at once, up to the credit
static void
s_test_concurrency (void)
{
    const char *settings [] = { "webhook/allow=127.0.0.1/32", "webhook/max_in_flight=64", NULL };
    s_rig_t *rig = s_rig_new (settings, 64);
    //  Held until released: all 64 reach the receiver before any answer
    receiver_set_mode (rig->receiver, RECEIVER_HOLD, 0);
    char config [256], id [16];
    s_rig_config (rig, "/held", config);
    for (int index = 0; index < 64; index++)
        s_rig_job (rig, config, id);
    assert (receiver_wait_count (rig->receiver, 64, 15000));
    assert (receiver_max_pending (rig->receiver) == 64);
    assert (s_stat (rig, "in_flight") == 64);
    receiver_release (rig->receiver);
    for (int index = 0; index < 64; index++) {
        json_t *body = s_rig_any_result (rig, 15000);
        assert (body && streq (s_str (body, "status"), "ok"));
        json_decref (body);
    }
    //  Each answered 200 ms after it came: they overlapped, so (almost)
    //  all of them came before the first was answered. (Three quarters:
    //  on a machine busy enough, sending 64 requests can take 200 ms.)
    receiver_clear (rig->receiver);
    receiver_set_mode (rig->receiver, RECEIVER_STALL, 200);
    for (int index = 0; index < 64; index++)
        s_rig_job (rig, config, id);
    for (int index = 0; index < 64; index++) {
        json_t *body = s_rig_any_result (rig, 15000);
        assert (body && streq (s_str (body, "status"), "ok"));
        json_decref (body);
    }
    int64_t arrived [64], first_answer = INT64_MAX;
    for (size_t index = 0; index < 64; index++) {
        receiver_request_t request;
        assert (receiver_request (rig->receiver, index, &request));
        assert (request.answered_us - request.arrived_us >= 200000);
        arrived [index] = request.arrived_us;
        if (request.answered_us < first_answer)
            first_answer = request.answered_us;
        receiver_request_reset (&request);
    }
    size_t overlapping = 0;
    for (size_t index = 0; index < 64; index++)
        overlapping += arrived [index] < first_answer;
    assert (overlapping >= 48 && receiver_max_pending (rig->receiver) >= 48);
    //  ...on the connections opened for the first round
    assert (receiver_connections (rig->receiver) == 0);
    s_rig_destroy (&rig);
}

//  One connection for requests one after the other
static void
s_test_keepalive (void)
{
    s_rig_t *rig = s_rig_new (s_loopback, 256);
    for (int index = 0; index < 10; index++)
        json_decref (s_rig_post (rig, "/again", "", "ok"));
    assert (receiver_count (rig->receiver) == 10);
    assert (receiver_connections (rig->receiver) == 1);
    assert (s_stat (rig, "connections") == 1);
    s_rig_destroy (&rig);
}

//  Standard Webhooks signatures, checked by an independent verifier
static void
s_test_signature (void)
{
    s_rig_t *rig = s_rig_new (s_loopback, 256);
    const char *one = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const char *two = "whsec_dGhpcyBpcyBhbm90aGVyIHNlY3JldCBrZXkgMzI=";
    char config [512], id [16];
    //  Two attempts of one action: one webhook-id
    snprintf (config, sizeof (config), "{\"url\": \"%s/signed\", \"secret\": \"%s\"}", rig->base, one);
    s_rig_job_with (rig, "msg_stable", 1, 10000, config, id);
    json_decref (s_rig_result (rig, id, "ok"));
    s_rig_job_with (rig, "msg_stable", 2, 10000, config, id);
    json_decref (s_rig_result (rig, id, "ok"));
    //  A custom body, and two secrets (rotation)
    snprintf (config, sizeof (config), "{\"url\": \"%s/rotated\", \"secret\": [\"%s\", \"%s\"],"
              " \"body\": {\"text\": \"caf\\u00e9\", \"n\": [1, 2.5, null]}}", rig->base, one, two);
    s_rig_job_with (rig, "msg_rotated", 1, 10000, config, id);
    json_decref (s_rig_result (rig, id, "ok"));

    char path [] = "/tmp/zeb-webhook-XXXXXX";
    int fd = mkstemp (path);
    assert (fd >= 0);
    FILE *file = fdopen (fd, "w");
    for (size_t index = 0; index < 3; index++) {
        receiver_request_t request;
        assert (receiver_request (rig->receiver, index, &request));
        char webhook_id [256], stamp [32], signature [256];
        assert (receiver_request_header (&request, "webhook-id", webhook_id, sizeof (webhook_id)));
        assert (receiver_request_header (&request, "webhook-timestamp", stamp, sizeof (stamp)));
        assert (receiver_request_header (&request, "webhook-signature", signature, sizeof (signature)));
        assert (streq (webhook_id, index < 2? "msg_stable": "msg_rotated"));
        char *body = zeb_json_base64 ((const uint8_t *) request.body, request.body_size);
        json_t *line = json_pack ("{ss ss ss ss s[s]}", "id", webhook_id, "timestamp", stamp,
                                  "signature", signature, "body", body, "secrets", one);
        if (index == 2)
            json_array_append_new (json_object_get (line, "secrets"), json_string (two));
        char *text = json_dumps (line, JSON_COMPACT);
        fprintf (file, "%s\n", text);
        free (text);
        json_decref (line);
        free (body);
        receiver_request_reset (&request);
    }
    fclose (file);
    char command [1024];
    snprintf (command, sizeof (command), "/usr/bin/python3 %s %s", s_verifier, path);
    int status = system (command);
    unlink (path);
    assert (WIFEXITED (status) && WEXITSTATUS (status) == 0);
    s_rig_destroy (&rig);
}

//  Stopping with requests in flight: each is answered RETRY, then BYE
static void
s_test_stop (void)
{
    s_rig_t *rig = s_rig_new (s_loopback, 256);
    receiver_set_mode (rig->receiver, RECEIVER_HOLD, 0);
    char config [256], id [16];
    s_rig_config (rig, "/held", config);
    for (int index = 0; index < 3; index++)
        s_rig_job (rig, config, id);
    assert (receiver_wait_count (rig->receiver, 3, 15000));
    zactor_destroy (&rig->host);
    for (int index = 0; index < 3; index++) {
        json_t *body = s_rig_any_result (rig, 5000);
        assert (body && streq (s_str (body, "status"), "retry"));
        assert (streq (s_str (body, "error"), "executor stopping"));
        json_decref (body);
    }
    s_rig_destroy (&rig);
}

int
main (int argc, char *argv [])
{
    setvbuf (stdout, NULL, _IONBF, 0);
    zsys_set_logsystem (false);
    zsys_set_logstream (NULL);
    if (argc < 2) {
        fprintf (stderr, "usage: webhook_test VERIFIER [CASE]\n");
        return 2;
    }
    s_verifier = argv [1];
    test_case_t cases [] = {
        { "ok", s_test_ok },
        { "custom", s_test_custom },
        { "statuses", s_test_statuses },
        { "stall", s_test_stall },
        { "refused", s_test_refused },
        { "refusals", s_test_refusals },
        { "ssrf", s_test_ssrf },
        { "concurrency", s_test_concurrency },
        { "keepalive", s_test_keepalive },
        { "signature", s_test_signature },
        { "stop", s_test_stop }
    };
    test_run_cases (cases, sizeof (cases) / sizeof (cases [0]), argc > 2? argv [2]: NULL);
    zsys_shutdown ();
    return 0;
}
