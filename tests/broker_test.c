/*  =========================================================================
    broker_test - the broker executors against real servers

    Each case runs the real executor host (zeb_executor_host) for one
    plugin, playing its outbox on an inproc ROUTER (test_worker), against
    real servers: redis-server and nats-server (with JetStream) as child
    processes of this test on free ports, with their data in temporary
    directories, and an embedded zeb node for emit_event. Nothing sleeps:
    the test waits on RESULTs and on the servers' answers, with deadlines.
    Servers are found on PATH; one that is missing fails the test (install
    them with tools/setup.sh).

    usage: broker_test [CASE]
    =========================================================================
*/

#include "testutil.h"
#include <hiredis/hiredis.h>
#include <nats/nats.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#define S_WAIT 10000                //  ms: the longest any one wait may take

//  ---------------------------------------------------------------------
//  Servers

typedef enum { S_REDIS, S_NATS } s_kind_t;

typedef struct {
    s_kind_t kind;
    pid_t pid;
    int port;
    char dir [256];                 //  its data and log
    char log [300];
    char name [64];                 //  NATS: the server name its INFO must carry
} s_server_t;

static const char *
s_program (s_kind_t kind)
{
    return kind == S_REDIS? "redis-server": "nats-server";
}

//  The program on PATH, or a loud failure: the test must not pass unrun
static void
s_require (const char *program)
{
    const char *path = getenv ("PATH");
    char *copy = strdup (path? path: "/usr/bin:/bin");
    bool found = false;
    for (char *dir = strtok (copy, ":"); dir && !found; dir = strtok (NULL, ":")) {
        char candidate [512];
        snprintf (candidate, sizeof (candidate), "%s/%s", dir, program);
        found = access (candidate, X_OK) == 0;
    }
    free (copy);
    if (!found) {
        fprintf (stderr, "\nbroker_test: %s is not on PATH: install it (tools/setup.sh)\n", program);
        exit (1);
    }
}

//  A raw TCP connection to 127.0.0.1:port, receive timeout 200 ms; -1 if refused
static int
s_tcp_connect (int port)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    assert (fd >= 0);
    struct timeval tv = { 0, 200000 };
    setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof (tv));
    struct sockaddr_in address;
    memset (&address, 0, sizeof (address));
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    address.sin_port = htons ((uint16_t) port);
    if (connect (fd, (struct sockaddr *) &address, sizeof (address))) {
        close (fd);
        return -1;
    }
    return fd;
}

//  True once our server answers on its port (it is ours: Redis's INFO
//  names our child's pid, NATS's INFO our server name), or once the child
//  has exited (then pid is 0)
static bool
s_server_settled (void *arg)
{
    s_server_t *self = (s_server_t *) arg;
    if (test_child_exited (&self->pid))
        return true;
    if (self->kind == S_REDIS) {
        struct timeval tv = { 0, 200000 };
        redisContext *redis = redisConnectWithTimeout ("127.0.0.1", self->port, tv);
        bool ours = false;
        if (redis && !redis->err) {
            redisReply *reply = (redisReply *) redisCommand (redis, "INFO server");
            char pid [32];
            snprintf (pid, sizeof (pid), "process_id:%d\r", (int) self->pid);
            ours = reply && reply->type == REDIS_REPLY_STRING && strstr (reply->str, pid);
            if (reply)
                freeReplyObject (reply);
        }
        if (redis)
            redisFree (redis);
        return ours;
    }
    int fd = s_tcp_connect (self->port);
    if (fd < 0)
        return false;
    char info [4096];
    ssize_t size = recv (fd, info, sizeof (info) - 1, 0);
    close (fd);
    char name [96];
    snprintf (name, sizeof (name), "\"server_name\":\"%s\"", self->name);
    info [size > 0? size: 0] = 0;
    return strstr (info, name) != NULL;
}

//  Start the server on port (0: a free one), waiting until it answers.
//  Returns 0, or -1 if it exited (its port was taken meanwhile).
static int
s_server_try (s_server_t *self, int port)
{
    self->port = port? port: test_free_port ();
    char port_text [16];
    snprintf (port_text, sizeof (port_text), "%d", self->port);
    snprintf (self->log, sizeof (self->log), "%s/server.log", self->dir);
    snprintf (self->name, sizeof (self->name), "zeb-test-%d-%d", (int) getpid (), self->port);
    const char *redis [] = {
        "redis-server", "--port", port_text, "--bind", "127.0.0.1", "--save", "",
        "--appendonly", "no", "--dir", self->dir, "--daemonize", "no", NULL
    };
    const char *nats [] = {
        "nats-server", "-a", "127.0.0.1", "-p", port_text, "-js", "-sd", self->dir,
        "-n", self->name, NULL
    };
    self->pid = test_spawn (self->kind == S_REDIS? redis: nats, self->log);
    if (!test_wait_until (s_server_settled, self, S_WAIT)) {
        fprintf (stderr, "\n%s on port %d did not answer; see %s\n", s_program (self->kind),
                 self->port, self->log);
        assert (false);
    }
    return self->pid? 0: -1;
}

static void
s_server_start (s_server_t *self, s_kind_t kind)
{
    memset (self, 0, sizeof (*self));
    self->kind = kind;
    s_require (s_program (kind));
    test_tempdir (self->dir, sizeof (self->dir));
    for (int attempt = 0; attempt < 5; attempt++)
        if (s_server_try (self, 0) == 0)
            return;
    fprintf (stderr, "\n%s would not start; see %s\n", s_program (kind), self->log);
    assert (false);
}

//  Start again on the same port, after a kill
static void
s_server_restart (s_server_t *self)
{
    assert (self->pid == 0);
    int rc = s_server_try (self, self->port);
    if (rc)
        fprintf (stderr, "\nport %d was taken while %s was down\n", self->port, s_program (self->kind));
    assert (rc == 0);
}

static void
s_server_stop (s_server_t *self)
{
    test_child_kill (&self->pid);
    test_rmtree (self->dir);
}

//  "key=value" settings for a worker, from printf-style text
static char *
s_setting (char *buffer, size_t size, const char *format, ...) CHECK_PRINTF (3);
static char *
s_setting (char *buffer, size_t size, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    vsnprintf (buffer, size, format, args);
    va_end (args);
    return buffer;
}

static zeb_event_t *
s_trigger (const char *id, const char *correlation)
{
    zeb_event_t *event = test_event_new ("order.placed", "broker-test", 7, NULL);
    zeb_event_set (event, "id", id);
    if (correlation)
        zeb_event_set (event, "correlationid", correlation);
    return event;
}

static const char *
s_str (json_t *body, const char *key)
{
    const char *value = json_string_value (json_object_get (body, key));
    return value? value: "";
}

static json_t *
s_result (json_t *body)
{
    return json_object_get (body, "result");
}

//  Run one job and check its status; returns the RESULT body (caller owns)
static json_t *
s_run (test_worker_t *worker, const char *key, const char *config, zeb_event_t *event,
       const char *status)
{
    char id [TEST_JOB_ID];
    test_worker_job (worker, key, config, event, 5000, id);
    return test_worker_result (worker, id, status, S_WAIT);
}

static void
s_run_status (test_worker_t *worker, const char *key, const char *config, zeb_event_t *event,
              const char *status, const char *error_part)
{
    json_t *body = s_run (worker, key, config, event, status);
    if (error_part && !strstr (s_str (body, "error"), error_part))
        fprintf (stderr, "\nerror '%s' lacks '%s'\n", s_str (body, "error"), error_part);
    assert (!error_part || strstr (s_str (body, "error"), error_part));
    json_decref (body);
}

//  A host for def with settings, which must start
static test_worker_t *
s_worker (const zeb_executor_def_t *def, const char **settings)
{
    zeb_fault_t fault;
    test_worker_t *worker = test_worker_new (def, settings, &fault);
    if (!worker)
        fprintf (stderr, "\n%s: %s\n", def->name, fault.text);
    assert (worker);
    return worker;
}

//  ---------------------------------------------------------------------
//  redis_stream

static test_worker_t *
s_redis_worker (int port)
{
    char setting [64];
    const char *settings [] = {
        s_setting (setting, sizeof (setting), "redis_stream/port=%d", port),
        "redis_stream/connect_timeout=500ms", NULL
    };
    return s_worker (&zeb_executor_redis_stream, settings);
}

//  The test's own connection, to read what the plugin wrote
static redisContext *
s_redis_client (int port)
{
    struct timeval tv = { 5, 0 };
    redisContext *redis = redisConnectWithTimeout ("127.0.0.1", port, tv);
    assert (redis && !redis->err);
    return redis;
}

//  The value of field name in a stream entry's field list, or NULL
static const char *
s_entry_field (redisReply *entry, const char *name)
{
    assert (entry->type == REDIS_REPLY_ARRAY && entry->elements == 2);
    redisReply *fields = entry->element [1];
    for (size_t index = 0; index + 1 < fields->elements; index += 2)
        if (streq (fields->element [index]->str, name))
            return fields->element [index + 1]->str;
    return NULL;
}

static void
s_test_redis_stream (void)
{
    s_server_t server;
    s_server_start (&server, S_REDIS);
    test_worker_t *worker = s_redis_worker (server.port);
    redisContext *redis = s_redis_client (server.port);
    zeb_event_t *trigger = s_trigger ("trigger-1", NULL);

    //  Default fields: the event as CloudEvents JSON, and id = key
    json_t *body = s_run (worker, "stream-key-1", "{\"stream\": \"orders\"}", trigger, "ok");
    assert (streq (s_str (s_result (body), "stream"), "orders"));
    char entry_id [64];
    snprintf (entry_id, sizeof (entry_id), "%s", s_str (s_result (body), "id"));
    assert (strchr (entry_id, '-'));
    json_decref (body);

    //  Fields of the action's own, and MAXLEN
    body = s_run (worker, "stream-key-2", "{\"stream\": \"orders\", \"maxlen\": 1000, "
                  "\"fields\": {\"order\": 42, \"note\": \"hi\", \"flag\": true, \"tags\": [\"a\"]}}",
                  trigger, "ok");
    json_decref (body);

    redisReply *reply = (redisReply *) redisCommand (redis, "XRANGE orders - +");
    assert (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 2);
    redisReply *first = reply->element [0];
    assert (streq (first->element [0]->str, entry_id));
    assert (streq (s_entry_field (first, "id"), "stream-key-1"));
    json_t *event = json_loads (s_entry_field (first, "event"), 0, NULL);
    assert (event);
    assert (streq (s_str (event, "id"), "trigger-1"));
    assert (streq (s_str (event, "type"), "order.placed"));
    assert (json_integer_value (json_object_get (json_object_get (event, "data"), "n")) == 7);
    json_decref (event);
    redisReply *second = reply->element [1];
    assert (streq (s_entry_field (second, "id"), "stream-key-2"));
    assert (streq (s_entry_field (second, "order"), "42"));
    assert (streq (s_entry_field (second, "note"), "hi"));
    assert (streq (s_entry_field (second, "flag"), "true"));
    assert (streq (s_entry_field (second, "tags"), "[\"a\"]"));
    assert (!s_entry_field (second, "event"));
    freeReplyObject (reply);

    //  Refusals: the key's field, no stream, a key of another type
    s_run_status (worker, "k", "{\"stream\": \"orders\", \"fields\": {\"id\": 1}}", trigger,
                  "fail", "'id'");
    s_run_status (worker, "k", "{\"fields\": {}}", trigger, "fail", "'stream'");
    s_run_status (worker, "k", "{\"stream\": \"orders\", \"maxlen\": \"many\"}", trigger,
                  "fail", "maxlen");
    reply = (redisReply *) redisCommand (redis, "SET plain text");
    assert (reply && reply->type == REDIS_REPLY_STATUS);
    freeReplyObject (reply);
    s_run_status (worker, "k", "{\"stream\": \"plain\"}", trigger, "fail", "WRONGTYPE");
    //  and the connection still serves
    s_run_status (worker, "stream-key-3", "{\"stream\": \"orders\"}", trigger, "ok", NULL);
    reply = (redisReply *) redisCommand (redis, "XLEN orders");
    assert (reply && reply->type == REDIS_REPLY_INTEGER && reply->integer == 3);
    freeReplyObject (reply);
    assert (test_worker_stat (worker, "added") == 3);
    assert (test_worker_stat (worker, "connects") == 1);

    redisFree (redis);
    zeb_event_destroy (&trigger);
    test_worker_destroy (&worker);
    s_server_stop (&server);
}

//  Redis goes away: RETRY, with the connection made again once it is back
static void
s_test_redis_down (void)
{
    s_server_t server;
    s_server_start (&server, S_REDIS);
    test_worker_t *worker = s_redis_worker (server.port);
    zeb_event_t *trigger = s_trigger ("trigger-1", NULL);
    s_run_status (worker, "down-key-1", "{\"stream\": \"orders\"}", trigger, "ok", NULL);

    test_child_kill (&server.pid);
    //  The connection it had breaks; then connecting is refused
    s_run_status (worker, "down-key-2", "{\"stream\": \"orders\"}", trigger, "retry", "redis at");
    s_run_status (worker, "down-key-2", "{\"stream\": \"orders\"}", trigger, "retry", "redis at");
    assert (test_worker_stat (worker, "broken") == 1);

    s_server_restart (&server);
    s_run_status (worker, "down-key-2", "{\"stream\": \"orders\"}", trigger, "ok", NULL);
    assert (test_worker_stat (worker, "connects") == 2);
    redisContext *redis = s_redis_client (server.port);
    redisReply *reply = (redisReply *) redisCommand (redis, "XRANGE orders - +");
    assert (reply && reply->elements == 1);         //  --save '': the first is gone
    assert (streq (s_entry_field (reply->element [0], "id"), "down-key-2"));
    freeReplyObject (reply);
    redisFree (redis);

    //  A port nothing listens on, and a URL
    int fd;
    int dead = test_dead_port (&fd);
    char setting [96];
    const char *settings [] = {
        s_setting (setting, sizeof (setting), "redis_stream/url=redis://127.0.0.1:%d/0", dead), NULL
    };
    test_worker_t *nowhere = s_worker (&zeb_executor_redis_stream, settings);
    s_run_status (nowhere, "k", "{\"stream\": \"orders\"}", trigger, "retry", "redis at 127.0.0.1:");
    test_worker_destroy (&nowhere);
    close (fd);

    //  A URL that is not one: START fails
    const char *bad [] = { "redis_stream/url=http://127.0.0.1", NULL };
    zeb_fault_t fault;
    assert (!test_worker_new (&zeb_executor_redis_stream, bad, &fault));
    assert (fault.code == ZEB_ECONFIG);

    zeb_event_destroy (&trigger);
    test_worker_destroy (&worker);
    s_server_stop (&server);
}

//  ---------------------------------------------------------------------
//  nats

static test_worker_t *
s_nats_worker (int port, bool jetstream)
{
    char url [64];
    const char *settings [] = {
        s_setting (url, sizeof (url), "nats/url=nats://127.0.0.1:%d", port),
        jetstream? "nats/jetstream=true": "nats/jetstream=false",
        "nats/connect_timeout=500ms", NULL
    };
    return s_worker (&zeb_executor_nats, settings);
}

static natsConnection *
s_nats_client (int port)
{
    char url [64];
    snprintf (url, sizeof (url), "nats://127.0.0.1:%d", port);
    natsConnection *conn = NULL;
    natsStatus status = natsConnection_ConnectTo (&conn, url);
    assert (status == NATS_OK);
    return conn;
}

//  The next message on sub (caller destroys it)
static natsMsg *
s_nats_next (natsSubscription *sub)
{
    natsMsg *msg = NULL;
    natsStatus status = natsSubscription_NextMsg (&msg, sub, S_WAIT);
    assert (status == NATS_OK && msg);
    return msg;
}

static const char *
s_nats_header (natsMsg *msg, const char *name)
{
    const char *value = NULL;
    if (natsMsgHeader_Get (msg, name, &value) != NATS_OK)
        return NULL;
    return value;
}

static void
s_test_nats_core (void)
{
    s_server_t server;
    s_server_start (&server, S_NATS);
    natsConnection *conn = s_nats_client (server.port);
    natsSubscription *sub = NULL;
    assert (natsConnection_SubscribeSync (&sub, conn, "orders.>") == NATS_OK);
    assert (natsConnection_FlushTimeout (conn, S_WAIT) == NATS_OK);
    test_worker_t *worker = s_nats_worker (server.port, false);
    zeb_event_t *trigger = s_trigger ("trigger-1", NULL);

    //  Default payload: the event as CloudEvents JSON
    json_t *body = s_run (worker, "nats-key-1", "{\"subject\": \"orders.placed\"}", trigger, "ok");
    assert (streq (s_str (s_result (body), "subject"), "orders.placed"));
    json_decref (body);
    natsMsg *msg = s_nats_next (sub);
    assert (streq (natsMsg_GetSubject (msg), "orders.placed"));
    json_t *event = json_loadb (natsMsg_GetData (msg), (size_t) natsMsg_GetDataLength (msg), 0, NULL);
    assert (event && streq (s_str (event, "id"), "trigger-1"));
    json_decref (event);
    assert (streq (s_nats_header (msg, "Nats-Msg-Id"), "nats-key-1"));
    assert (streq (s_nats_header (msg, "Content-Type"), "application/cloudevents+json"));
    natsMsg_Destroy (msg);

    //  A payload of the action's own: a string as it is, else JSON
    s_run_status (worker, "nats-key-2", "{\"subject\": \"orders.text\", \"payload\": \"hello\"}",
                  trigger, "ok", NULL);
    msg = s_nats_next (sub);
    assert (natsMsg_GetDataLength (msg) == 5 && memcmp (natsMsg_GetData (msg), "hello", 5) == 0);
    assert (!s_nats_header (msg, "Content-Type"));
    natsMsg_Destroy (msg);
    s_run_status (worker, "nats-key-3", "{\"subject\": \"orders.json\", \"payload\": {\"a\": [1]}}",
                  trigger, "ok", NULL);
    msg = s_nats_next (sub);
    assert (streq (natsMsg_GetData (msg), "{\"a\":[1]}"));
    natsMsg_Destroy (msg);

    //  Refusals
    s_run_status (worker, "k", "{\"subject\": \"bad subject\"}", trigger, "fail", "subject");
    s_run_status (worker, "k", "{\"payload\": 1}", trigger, "fail", "'subject'");
    s_run_status (worker, "k", "{\"subject\": \"orders.x\", \"jetstream\": 1}", trigger,
                  "fail", "jetstream");
    assert (test_worker_stat (worker, "published") == 3);

    //  The server goes: RETRY; back on its port: the next job connects again
    test_child_kill (&server.pid);
    s_run_status (worker, "nats-key-4", "{\"subject\": \"orders.placed\"}", trigger, "retry", "nats");
    s_run_status (worker, "nats-key-4", "{\"subject\": \"orders.placed\"}", trigger, "retry", "nats");
    s_server_restart (&server);
    s_run_status (worker, "nats-key-4", "{\"subject\": \"orders.placed\"}", trigger, "ok", NULL);
    assert (test_worker_stat (worker, "connects") == 2);

    zeb_event_destroy (&trigger);
    test_worker_destroy (&worker);
    natsSubscription_Destroy (sub);
    natsConnection_Destroy (conn);
    s_server_stop (&server);
}

static uint64_t
s_stream_messages (jsCtx *js, const char *stream)
{
    jsStreamInfo *info = NULL;
    jsErrCode code = 0;
    natsStatus status = js_GetStreamInfo (&info, js, stream, NULL, &code);
    assert (status == NATS_OK);
    uint64_t messages = info->State.Msgs;
    jsStreamInfo_Destroy (info);
    return messages;
}

static bool
s_stream_has_three (void *arg)
{
    return s_stream_messages ((jsCtx *) arg, "ORDERS") >= 3;
}

static void
s_test_nats_jetstream (void)
{
    s_server_t server;
    s_server_start (&server, S_NATS);
    natsConnection *conn = s_nats_client (server.port);
    jsCtx *js = NULL;
    assert (natsConnection_JetStream (&js, conn, NULL) == NATS_OK);
    jsStreamConfig config;
    jsStreamConfig_Init (&config);
    config.Name = "ORDERS";
    const char *subjects [] = { "orders.>" };
    config.Subjects = subjects;
    config.SubjectsLen = 1;
    config.Storage = js_MemoryStorage;
    jsStreamInfo *info = NULL;
    jsErrCode code = 0;
    natsStatus status = js_AddStream (&info, js, &config, NULL, &code);
    assert (status == NATS_OK);
    jsStreamInfo_Destroy (info);
    test_worker_t *worker = s_nats_worker (server.port, true);
    zeb_event_t *trigger = s_trigger ("trigger-1", NULL);

    //  The same action twice: the stream keeps one message
    const char *action = "{\"subject\": \"orders.placed\"}";
    json_t *body = s_run (worker, "js-key-1", action, trigger, "ok");
    json_t *result = s_result (body);
    assert (streq (s_str (result, "stream"), "ORDERS"));
    assert (json_integer_value (json_object_get (result, "seq")) == 1);
    assert (json_is_false (json_object_get (result, "duplicate")));
    json_decref (body);
    body = s_run (worker, "js-key-1", action, trigger, "ok");
    result = s_result (body);
    assert (json_is_true (json_object_get (result, "duplicate")));
    assert (json_integer_value (json_object_get (result, "seq")) == 1);
    json_decref (body);
    assert (s_stream_messages (js, "ORDERS") == 1);
    assert (test_worker_stat (worker, "duplicates") == 1);

    //  Another action is another message
    body = s_run (worker, "js-key-2", action, trigger, "ok");
    assert (json_integer_value (json_object_get (s_result (body), "seq")) == 2);
    json_decref (body);

    //  No stream takes the subject: FAIL
    s_run_status (worker, "js-key-3", "{\"subject\": \"invoices.paid\"}", trigger,
                  "fail", "no JetStream stream");

    //  An action's jetstream: false publishes on core NATS; the stream
    //  still deduplicates it by its Nats-Msg-Id
    body = s_run (worker, "js-key-2", "{\"subject\": \"orders.placed\", \"jetstream\": false}",
                  trigger, "ok");
    assert (streq (s_str (s_result (body), "subject"), "orders.placed"));
    assert (!json_object_get (s_result (body), "seq"));
    json_decref (body);
    s_run_status (worker, "js-key-4", "{\"subject\": \"orders.placed\", \"jetstream\": false}",
                  trigger, "ok", NULL);
    //  The core publishes were flushed; the stream stores them as it gets them
    bool stored = test_wait_until (s_stream_has_three, js, S_WAIT);
    assert (stored && s_stream_messages (js, "ORDERS") == 3);

    zeb_event_destroy (&trigger);
    test_worker_destroy (&worker);
    jsCtx_Destroy (js);
    natsConnection_Destroy (conn);
    s_server_stop (&server);
}

//  No server at all: RETRY, and a URL that is empty fails START
static void
s_test_nats_nowhere (void)
{
    int fd;
    int dead = test_dead_port (&fd);
    test_worker_t *worker = s_nats_worker (dead, true);
    zeb_event_t *trigger = s_trigger ("trigger-1", NULL);
    s_run_status (worker, "k", "{\"subject\": \"orders.placed\"}", trigger, "retry", "nats at");
    zeb_event_destroy (&trigger);
    test_worker_destroy (&worker);
    close (fd);
    const char *bad [] = { "nats/url=", NULL };
    zeb_fault_t fault;
    assert (!test_worker_new (&zeb_executor_nats, bad, &fault));
    assert (fault.code == ZEB_ECONFIG);
}

//  ---------------------------------------------------------------------
//  emit_event

static test_worker_t *
s_emit_worker (const char *ingest, const char *extra)
{
    char setting [128];
    const char *settings [] = {
        s_setting (setting, sizeof (setting), "emit_event/ingest=%s", ingest),
        extra, NULL
    };
    return s_worker (&zeb_executor_emit_event, settings);
}

//  Every event of type in the node's log (caller resets the fetch)
static void
s_fetch_type (zeb_client_t *client, const char *type, zeb_fetch_t *fetch)
{
    memset (fetch, 0, sizeof (*fetch));
    int rc = zeb_client_fetch (client, 0, 10000, 0, type, fetch);
    assert (rc == 0);
}

static void
s_test_emit_event (void)
{
    char dir [256];
    zeb_node_t *node = test_node_embedded (dir, sizeof (dir));
    const char *ingest = zeb_node_endpoint (node, "ingest");
    test_worker_t *worker = s_emit_worker (ingest, NULL);
    zeb_client_t *client = zeb_client_new (ingest);
    zeb_event_t *trigger = s_trigger ("trigger-1", "conversation-9");

    const char *action = "{\"eventType\": \"order.confirmed\", \"subject\": \"Order:7\", "
                         "\"payload\": {\"order\": 7, \"lines\": [1, 2]}}";
    json_t *body = s_run (worker, "emit-key-1", action, trigger, "ok");
    json_t *result = s_result (body);
    uint64_t sequence = (uint64_t) json_integer_value (json_object_get (result, "sequence"));
    assert (sequence > 0);
    assert (json_is_false (json_object_get (result, "duplicate")));
    json_decref (body);

    //  The same action again (a retry): stored once
    body = s_run (worker, "emit-key-1", action, trigger, "ok");
    result = s_result (body);
    assert ((uint64_t) json_integer_value (json_object_get (result, "sequence")) == sequence);
    assert (json_is_true (json_object_get (result, "duplicate")));
    json_decref (body);

    zeb_fetch_t fetch;
    s_fetch_type (client, "order.confirmed", &fetch);
    assert (zlistx_size (fetch.events) == 1);
    zeb_event_t *event = (zeb_event_t *) zlistx_first (fetch.events);
    assert (zeb_event_sequence (event) == sequence);
    assert (streq (zeb_event_attr (event, ZEB_ATTR_IDEMPOTENCYKEY), "emit-key-1"));
    assert (streq (zeb_event_attr (event, ZEB_ATTR_CAUSATIONID), "trigger-1"));
    assert (streq (zeb_event_attr (event, ZEB_ATTR_CORRELATIONID), "conversation-9"));
    assert (streq (zeb_event_source (event), "zeb/outbox"));
    assert (streq (zeb_event_subject (event), "Order:7"));
    char *data = zeb_event_data_json (event);
    assert (streq (data, "{\"order\":7,\"lines\":[1,2]}"));
    free (data);
    zeb_fetch_reset (&fetch);

    //  A trigger without a correlationid starts one with its own id
    zeb_event_t *plain = s_trigger ("trigger-2", NULL);
    s_run_status (worker, "emit-key-2", "{\"eventType\": \"order.noted\", \"source\": \"billing\"}",
                  plain, "ok", NULL);
    s_fetch_type (client, "order.noted", &fetch);
    assert (zlistx_size (fetch.events) == 1);
    event = (zeb_event_t *) zlistx_first (fetch.events);
    assert (streq (zeb_event_attr (event, ZEB_ATTR_CORRELATIONID), "trigger-2"));
    assert (streq (zeb_event_attr (event, ZEB_ATTR_CAUSATIONID), "trigger-2"));
    assert (streq (zeb_event_source (event), "billing"));
    assert (zeb_event_data (event, NULL) == NULL);
    zeb_fetch_reset (&fetch);
    zeb_event_destroy (&plain);

    //  Refusals: FAIL, nothing stored
    s_run_status (worker, "k", "{\"eventType\": \"order\"}", trigger, "fail", "eventType");
    s_run_status (worker, "k", "{\"eventType\": 7}", trigger, "fail", "eventType");
    s_run_status (worker, "k", "{\"payload\": 1}", trigger, "fail", "eventType");
    char config [1200];
    snprintf (config, sizeof (config), "{\"eventType\": \"order.long\", \"subject\": \"%01100d\"}", 0);
    s_run_status (worker, "k", config, trigger, "fail", "subject");
    s_fetch_type (client, "order.long", &fetch);
    assert (zlistx_size (fetch.events) == 0);
    zeb_fetch_reset (&fetch);
    assert (test_worker_stat (worker, "published") == 3);
    assert (test_worker_stat (worker, "duplicates") == 1);

    zeb_event_destroy (&trigger);
    zeb_client_destroy (&client);
    test_worker_destroy (&worker);
    zeb_node_destroy (&node);
    test_rmtree (dir);
}

//  Many jobs in flight at once, as many as the host's credit: every one
//  stored once, each with its own sequence
static void
s_test_emit_pipeline (void)
{
    char dir [256];
    zeb_node_t *node = test_node_embedded (dir, sizeof (dir));
    const char *ingest = zeb_node_endpoint (node, "ingest");
    test_worker_t *worker = s_emit_worker (ingest, "emit_event/credit=2000");
    assert (worker->credit == 2000);
    zeb_event_t *trigger = s_trigger ("trigger-1", NULL);
    const char *action = "{\"eventType\": \"order.mirrored\", \"payload\": {\"copy\": true}}";
    enum { JOBS = 10000 };
    zhashx_t *sequences = zhashx_new ();
    size_t sent = 0, done = 0;
    int64_t started = test_now_ms ();
    while (done < JOBS) {
        while (sent < JOBS && sent - done < (size_t) worker->credit) {
            char key [32], id [TEST_JOB_ID];
            snprintf (key, sizeof (key), "mirror-%zu", sent++);
            test_worker_job (worker, key, action, trigger, 5000, id);
        }
        char command [16];
        json_t *body = test_worker_recv (worker, S_WAIT, command);
        assert (body && streq (command, "RESULT"));
        assert (streq (s_str (body, "status"), "ok"));
        char sequence [32];
        snprintf (sequence, sizeof (sequence), "%lld",
                  (long long) json_integer_value (json_object_get (s_result (body), "sequence")));
        assert (zhashx_insert (sequences, sequence, (void *) 1) == 0);
        json_decref (body);
        done++;
    }
    int64_t elapsed = test_now_ms () - started;
    zhashx_destroy (&sequences);
    printf ("(%d jobs, %lld ms) ", JOBS, (long long) elapsed);

    //  The log, read to its end in batches
    zeb_client_t *client = zeb_client_new (ingest);
    size_t stored = 0;
    uint64_t from = 0;
    while (true) {
        zeb_fetch_t fetch;
        memset (&fetch, 0, sizeof (fetch));
        int rc = zeb_client_fetch (client, from, 1000, 0, "order.mirrored", &fetch);
        assert (rc == 0);
        stored += zlistx_size (fetch.events);
        bool end = fetch.next > fetch.last;
        from = fetch.next;
        zeb_fetch_reset (&fetch);
        if (end)
            break;
    }
    assert (stored == JOBS);
    zeb_client_destroy (&client);
    assert (test_worker_stat (worker, "stored") == JOBS);
    zeb_event_destroy (&trigger);
    test_worker_destroy (&worker);
    zeb_node_destroy (&node);
    test_rmtree (dir);
}

static bool
s_no_orphans (void *arg)
{
    return test_worker_stat ((test_worker_t *) arg, "orphans") == 0;
}

//  An ingest that answers HELLO, then not PUBLISH in time: the job is a
//  RETRY at its timeout; the late ack is taken and dropped. One that
//  cannot be reached: RETRY. No ingest configured: START fails.
static void
s_test_emit_silent (void)
{
    char *endpoint = zeb_actor_inproc ("silent-ingest");
    zsock_t *ingest = zsock_new_router (endpoint);
    assert (ingest);
    test_worker_t *worker = s_emit_worker (endpoint, NULL);
    zeb_event_t *trigger = s_trigger ("trigger-1", NULL);
    char id [TEST_JOB_ID];
    test_worker_job (worker, "late-key", "{\"eventType\": \"order.late\"}", trigger, 300, id);

    //  HELLO [body] [tag] → WELCOME with the tag
    zsock_set_rcvtimeo (ingest, S_WAIT);
    zmsg_t *hello = zmsg_recv (ingest);
    assert (hello && zmsg_size (hello) == 4);
    zframe_t *peer = zmsg_pop (hello);
    char *command = zmsg_popstr (hello);
    assert (streq (command, "HELLO"));
    zstr_free (&command);
    zframe_t *body = zmsg_pop (hello);
    zframe_t *tag = zmsg_pop (hello);
    zmsg_t *welcome = zmsg_new ();
    zmsg_append (welcome, &peer);
    zmsg_addstr (welcome, "WELCOME");
    zmsg_addmem (welcome, "\x81\xa4node\xa4test", 11);
    zmsg_append (welcome, &tag);
    zmsg_send (&welcome, ingest);
    zframe_destroy (&body);
    zmsg_destroy (&hello);

    zmsg_t *publish = zmsg_recv (ingest);
    assert (publish && zmsg_size (publish) == 4);
    json_t *result = test_worker_result (worker, id, "retry", S_WAIT);
    assert (strstr (s_str (result, "error"), "no acknowledgement"));
    json_decref (result);
    assert (test_worker_stat (worker, "timeouts") == 1);
    assert (test_worker_stat (worker, "orphans") == 1);

    //  The ack comes after all: it finds an orphan, not a job
    msgpack_sbuffer ack;
    msgpack_sbuffer_init (&ack);
    zeb_proto_pack_ack (&ack, 1, false);
    zframe_t *frame = zmsg_pop (publish);   //  the peer
    zframe_send (&frame, ingest, ZFRAME_MORE);
    zstr_sendm (ingest, "ACK");
    frame = zframe_new (ack.data, ack.size);
    zframe_send (&frame, ingest, ZFRAME_MORE);
    frame = zmsg_last (publish);            //  the tag
    zframe_send (&frame, ingest, ZFRAME_REUSE);
    msgpack_sbuffer_destroy (&ack);
    zmsg_destroy (&publish);
    bool freed = test_wait_until (s_no_orphans, worker, S_WAIT);
    assert (freed);
    char command_text [16];
    json_t *nothing = test_worker_recv (worker, 100, command_text);
    assert (!nothing);                      //  no second RESULT for that job
    test_worker_destroy (&worker);
    zsock_destroy (&ingest);
    zstr_free (&endpoint);

    //  Nothing listens
    int fd;
    int dead = test_dead_port (&fd);
    char unreachable [64];
    snprintf (unreachable, sizeof (unreachable), "tcp://127.0.0.1:%d", dead);
    worker = s_emit_worker (unreachable, "emit_event/connect_timeout=200ms");
    s_run_status (worker, "k", "{\"eventType\": \"order.lost\"}", trigger, "retry", "ingest");
    test_worker_destroy (&worker);
    close (fd);

    zeb_fault_t fault;
    assert (!test_worker_new (&zeb_executor_emit_event, NULL, &fault));
    assert (fault.code == ZEB_ECONFIG && strstr (fault.text, "emit_event/ingest"));
    zeb_event_destroy (&trigger);
}

int
main (int argc, char *argv [])
{
    zsys_init ();
    zeb_set_quiet (true);
    const test_case_t cases [] = {
        { "redis_stream", s_test_redis_stream },
        { "redis_down", s_test_redis_down },
        { "nats_core", s_test_nats_core },
        { "nats_jetstream", s_test_nats_jetstream },
        { "nats_nowhere", s_test_nats_nowhere },
        { "emit_event", s_test_emit_event },
        { "emit_pipeline", s_test_emit_pipeline },
        { "emit_silent", s_test_emit_silent },
    };
    printf ("Running broker tests...\n");
    test_run_cases (cases, sizeof (cases) / sizeof (cases [0]), argc > 1? argv [1]: NULL);
    nats_CloseAndWait (5000);
    printf ("broker tests: OK\n");
    return 0;
}
