/*  =========================================================================
    outbox_client_test - zeb_outbox_client against a real outbox

    usage: outbox_client_test [case]

    A node embedded in the test (zeb_node_new_embedded: every actor, its
    endpoints inproc, its data in a fresh temporary directory). The test
    plays the worker over the worker protocol of docs/PROTOCOL.md 4b: a
    DEALER to the outbox's workers endpoint that says READY for the
    action type "test.work" and answers each JOB with a RESULT, so that
    runs succeed, are retried, die, and are replayed.

    verbs       ENQUEUE (new, then a duplicate), RUN, LOGS by origin and
                by type, STATS; a run whose worker answers "retry" until
                maxAttempts is dead with RETRIES_EXHAUSTED, DLQ_SHOW gives
                the item and the run; "fail" is FAILED; "gone" is GONE and
                TARGET_ENABLE says it was; DLQ_REPLAY by filter resets the
                attempts and the replayed run succeeds; DLQ_PURGE by id and
                by filter removes the runs.
    refusals    a bad id is ZEB_EINVALID (INVALID_ATTRIBUTE in the NACK),
                an unknown id ZEB_ENOTFOUND, a bad filter or LOGS request
                ZEB_EINVALID, a bad run in ENQUEUE names its index;
                arguments that are not JSON arrays or objects are refused
                before anything is sent.
    paging      DLQ_LIST with limit and next/after, and LOGS with limit
                and next/before, see every item exactly once, also when
                several runs finish in the same millisecond.
    timeout     against a ROUTER that does not answer: ZEB_ETIMEOUT in
                time, no reply body; a late reply is never taken for the
                answer to the next call.
    =========================================================================
*/

#include "testutil.h"

#define S_WAIT_MS   10000           //  deadline of every wait for a condition

//  ---------------------------------------------------------------------
//  An embedded node, a client of its outbox, and the test's worker

typedef struct {
    char dir [256];
    zeb_node_t *node;
    zeb_outbox_client_t *client;
    zsock_t *worker;                //  DEALER to the outbox's workers endpoint
    int events;                     //  trigger events made so far
} s_fixture_t;

//  Send command with the JSON text body to a DEALER
static void
s_send (zsock_t *socket, const char *command, const char *json)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    int rc = zeb_json_pack_text (json, strlen (json), &buffer, NULL);
    assert (rc == 0);
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, command);
    zmsg_addmem (msg, buffer.data, buffer.size);
    rc = zmsg_send (&msg, socket);
    assert (rc == 0);
    msgpack_sbuffer_destroy (&buffer);
}

static void
s_fixture_start (s_fixture_t *self)
{
    memset (self, 0, sizeof (*self));
    self->node = test_node_embedded (self->dir, sizeof (self->dir));
    const char *outbox = zeb_node_endpoint (self->node, "outbox");
    const char *workers = zeb_node_endpoint (self->node, "workers");
    assert (outbox && workers);
    self->client = zeb_outbox_client_new (outbox);
    assert (self->client);
    zeb_outbox_client_set_timeout (self->client, S_WAIT_MS);
    self->worker = zsock_new_dealer (workers);
    assert (self->worker);
    zsock_set_linger (self->worker, 0);
    s_send (self->worker, "READY", "{\"actions\":[\"test.work\"],\"credit\":16,\"name\":\"outbox-client-test\"}");
}

static void
s_fixture_stop (s_fixture_t *self)
{
    s_send (self->worker, "BYE", "{}");
    zsock_destroy (&self->worker);
    zeb_outbox_client_destroy (&self->client);
    zeb_outbox_client_destroy (&self->client);      //  safe twice
    zeb_node_destroy (&self->node);
    test_rmtree (self->dir);
}

//  A run of origin with one test.work action on target, its own trigger
//  event; policy is the retryPolicy's JSON text, or NULL. Caller owns it.
static json_t *
s_run (s_fixture_t *self, const char *origin, const char *target, const char *policy)
{
    self->events++;
    char text [1024];
    snprintf (text, sizeof (text),
              "{\"origin\":\"%s\",\"event\":{\"id\":\"event-%d\",\"type\":\"order.placed\","
              "\"source\":\"outbox-client-test\",\"specversion\":\"1.0\",\"sequence\":%d},"
              "\"actions\":[{\"type\":\"test.work\",\"target\":\"%s\",\"config\":{\"n\":%d}}]%s%s}",
              origin, self->events, self->events, target, self->events,
              policy? ",\"retryPolicy\":": "", policy? policy: "");
    json_error_t error;
    json_t *run = json_loads (text, 0, &error);
    if (!run)
        fprintf (stderr, "s_run: %s in %s\n", error.text, text);
    assert (run);
    return run;
}

//  Enqueue runs (taken); returns the reply, asserting every run was new
static json_t *
s_enqueue (s_fixture_t *self, json_t *runs)
{
    json_t *reply;
    zeb_fault_t fault;
    int rc = zeb_outbox_client_enqueue (self->client, runs, &reply, &fault);
    if (rc)
        fprintf (stderr, "enqueue: %s\n", fault.text);
    assert (rc == 0);
    json_t *fresh = json_object_get (reply, "new");
    assert (json_array_size (fresh) == json_array_size (runs));
    for (size_t index = 0; index < json_array_size (fresh); index++)
        assert (json_is_true (json_array_get (fresh, index)));
    json_decref (runs);
    return reply;
}

//  Enqueue one run; its id goes into id (33 bytes)
static void
s_enqueue_one (s_fixture_t *self, json_t *run, char *id)
{
    json_t *runs = json_array ();
    json_array_append_new (runs, run);
    json_t *reply = s_enqueue (self, runs);
    snprintf (id, 33, "%s", json_string_value (json_array_get (json_object_get (reply, "ids"), 0)));
    assert (strlen (id) == 32);
    json_decref (reply);
}

//  The worker's next JOB within S_WAIT_MS (PONGs skipped); asserts one came.
//  A PING first keeps the worker known however long the test took.
static json_t *
s_job (s_fixture_t *self)
{
    s_send (self->worker, "PING", "{}");
    zsock_set_rcvtimeo (self->worker, S_WAIT_MS);
    while (true) {
        zmsg_t *msg = zmsg_recv (self->worker);
        assert (msg);
        char *command = zmsg_popstr (msg);
        zframe_t *body = zmsg_pop (msg);
        assert (command && body);
        json_t *json = zeb_json_from_msgpack (zframe_data (body), zframe_size (body), NULL);
        assert (json);
        bool job = streq (command, "JOB");
        if (!job)
            assert (streq (command, "PONG") && json_is_true (json_object_get (json, "known")));
        zstr_free (&command);
        zframe_destroy (&body);
        zmsg_destroy (&msg);
        if (job)
            return json;
        json_decref (json);
    }
}

//  Answer job (taken) with status and the extra members (JSON text, or NULL)
static void
s_result (s_fixture_t *self, json_t *job, const char *status, const char *extra)
{
    char text [512];
    snprintf (text, sizeof (text), "{\"id\":\"%s\",\"status\":\"%s\"%s%s}",
              json_string_value (json_object_get (job, "id")), status,
              extra? ",": "", extra? extra: "");
    s_send (self->worker, "RESULT", text);
    json_decref (job);
}

//  The next job, which must be for run id at attempt; answered with status
static void
s_work (s_fixture_t *self, const char *id, int attempt, const char *status, const char *extra)
{
    json_t *job = s_job (self);
    if (id)
        assert (streq (json_string_value (json_object_get (job, "run")), id));
    assert (json_integer_value (json_object_get (job, "attempt")) == attempt);
    s_result (self, job, status, extra);
}

//  Waiting for a run's state
typedef struct {
    s_fixture_t *fixture;
    const char *id;
    const char *state;
} s_state_wait_t;

static bool
s_state_is (void *arg)
{
    s_state_wait_t *wait = (s_state_wait_t *) arg;
    json_t *reply;
    int rc = zeb_outbox_client_run (wait->fixture->client, wait->id, &reply, NULL);
    assert (rc == 0);
    bool same = streq (json_string_value (json_object_get (reply, "state")), wait->state);
    json_decref (reply);
    return same;
}

static void
s_wait_state (s_fixture_t *self, const char *id, const char *state)
{
    s_state_wait_t wait = { self, id, state };
    bool reached = test_wait_until (s_state_is, &wait, S_WAIT_MS);
    if (!reached)
        fprintf (stderr, "run %s never became %s\n", id, state);
    assert (reached);
}

static const char *
s_str (json_t *object, const char *key)
{
    const char *value = json_string_value (json_object_get (object, key));
    return value? value: "";
}

static json_int_t
s_int (json_t *object, const char *key)
{
    return json_integer_value (json_object_get (object, key));
}

//  A filter from JSON text; caller owns it
static json_t *
s_filter (const char *text)
{
    json_t *filter = json_loads (text, 0, NULL);
    assert (filter);
    return filter;
}

//  DLQ_LIST with the filter's JSON text; the reply (caller owns)
static json_t *
s_dlq_list (s_fixture_t *self, const char *text)
{
    json_t *filter = s_filter (text);
    json_t *reply;
    int rc = zeb_outbox_client_dlq_list (self->client, filter, &reply, NULL);
    assert (rc == 0);
    json_decref (filter);
    return reply;
}

//  A retry policy that spends no time between attempts
#define S_FAST_RETRIES(n) \
    "{\"maxAttempts\":" #n ",\"backoffMs\":1,\"exponentialBackoff\":false,\"jitter\":false}"

//  ---------------------------------------------------------------------
//  verbs

static void
s_test_verbs (void)
{
    assert (zeb_outbox_client_new (NULL) == NULL);
    assert (zeb_outbox_client_new ("") == NULL);
    assert (zeb_outbox_client_new ("nonsense") == NULL);
    s_fixture_t fixture, *self = &fixture;
    s_fixture_start (self);
    json_t *reply;
    zeb_fault_t fault;

    //  A run that succeeds: RUN shows the attempt and its result; LOGS has it
    char done [33];
    s_enqueue_one (self, s_run (self, "rule-ok", "ok-target", NULL), done);
    json_t *again = json_array ();
    json_array_append_new (again, s_run (self, "rule-ok", "ok-target", NULL));
    json_object_set_new (json_array_get (again, 0), "id", json_string (done));
    assert (zeb_outbox_client_enqueue (self->client, again, &reply, &fault) == 0);
    assert (json_is_false (json_array_get (json_object_get (reply, "new"), 0)));
    assert (streq (json_string_value (json_array_get (json_object_get (reply, "ids"), 0)), done));
    json_decref (reply);
    json_decref (again);
    s_work (self, done, 1, "ok", "\"result\":{\"status\":200}");
    s_wait_state (self, done, "done");
    assert (zeb_outbox_client_run (self->client, done, &reply, &fault) == 0);
    assert (streq (s_str (reply, "id"), done) && streq (s_str (reply, "origin"), "rule-ok"));
    assert (streq (s_str (reply, "kind"), "automation"));
    assert (streq (s_str (json_object_get (reply, "event"), "type"), "order.placed"));
    json_t *action = json_array_get (json_object_get (reply, "actions"), 0);
    assert (streq (s_str (action, "type"), "test.work") && streq (s_str (action, "state"), "ok"));
    assert (streq (s_str (action, "target"), "ok-target"));
    json_t *attempt = json_array_get (json_object_get (action, "attempts"), 0);
    assert (s_int (attempt, "attempt") == 1 && streq (s_str (attempt, "status"), "ok"));
    assert (s_int (json_object_get (attempt, "result"), "status") == 200);
    json_decref (reply);
    assert (zeb_outbox_client_logs (self->client, "rule-ok", NULL, 0, NULL, &reply, &fault) == 0);
    json_t *items = json_object_get (reply, "items");
    assert (json_array_size (items) == 1 && json_object_get (reply, "next") == NULL);
    json_t *entry = json_array_get (items, 0);
    assert (streq (s_str (entry, "status"), "success") && streq (s_str (entry, "run"), done));
    assert (streq (s_str (entry, "origin"), "rule-ok") && streq (s_str (entry, "eventType"), "order.placed"));
    assert (streq (s_str (json_array_get (json_object_get (entry, "actionsExecuted"), 0), "status"), "success"));
    json_decref (reply);
    assert (zeb_outbox_client_logs (self->client, NULL, "order.placed", 10, NULL, &reply, &fault) == 0);
    assert (json_array_size (json_object_get (reply, "items")) == 1);
    json_decref (reply);
    //  A dead letter it is not
    assert (zeb_outbox_client_dlq_show (self->client, done, &reply, &fault) == ZEB_ENOTFOUND);
    assert (streq (s_str (reply, "reason"), "NOT_FOUND") && s_int (reply, "code") == 404);
    json_decref (reply);

    //  Retried until maxAttempts, then dead: RETRIES_EXHAUSTED
    char tired [33];
    s_enqueue_one (self, s_run (self, "rule-retry", "flaky", S_FAST_RETRIES (3)), tired);
    for (int attempt_number = 1; attempt_number <= 3; attempt_number++)
        s_work (self, tired, attempt_number, "retry", "\"error\":\"HTTP 503\",\"code\":503");
    s_wait_state (self, tired, "dead");
    reply = s_dlq_list (self, "{\"origin\":\"rule-retry\"}");
    items = json_object_get (reply, "items");
    assert (json_array_size (items) == 1 && json_object_get (reply, "next") == NULL);
    entry = json_array_get (items, 0);
    assert (streq (s_str (entry, "id"), tired) && streq (s_str (entry, "reason"), "RETRIES_EXHAUSTED"));
    assert (streq (s_str (entry, "error"), "HTTP 503") && s_int (entry, "attempts") == 3);
    assert (streq (s_str (entry, "target"), "flaky") && streq (s_str (entry, "action"), "test.work"));
    assert (s_int (entry, "at") > 0);
    json_decref (reply);
    assert (zeb_outbox_client_dlq_show (self->client, tired, &reply, &fault) == 0);
    assert (streq (s_str (reply, "reason"), "RETRIES_EXHAUSTED"));
    json_t *run = json_object_get (reply, "run");
    assert (streq (s_str (run, "state"), "dead") && streq (s_str (run, "id"), tired));
    action = json_array_get (json_object_get (run, "actions"), 0);
    assert (json_array_size (json_object_get (action, "attempts")) == 3 && s_int (action, "attemptsSpent") == 3);
    json_decref (reply);

    //  "fail": FAILED at once
    char failed [33];
    s_enqueue_one (self, s_run (self, "rule-fail", "strict", S_FAST_RETRIES (5)), failed);
    s_work (self, failed, 1, "fail", "\"error\":\"HTTP 400\",\"code\":400");
    s_wait_state (self, failed, "dead");
    assert (zeb_outbox_client_dlq_show (self->client, failed, &reply, &fault) == 0);
    assert (streq (s_str (reply, "reason"), "FAILED") && s_int (reply, "attempts") == 1);
    json_decref (reply);
    assert (zeb_outbox_client_logs (self->client, "rule-fail", NULL, 0, NULL, &reply, &fault) == 0);
    assert (streq (s_str (json_array_get (json_object_get (reply, "items"), 0), "status"), "failed"));
    json_decref (reply);

    //  "gone": GONE, and the target is enabled again
    char gone [33];
    s_enqueue_one (self, s_run (self, "rule-gone", "vanished", NULL), gone);
    s_work (self, gone, 1, "fail", "\"error\":\"HTTP 410\",\"code\":410,\"gone\":true");
    s_wait_state (self, gone, "dead");
    assert (zeb_outbox_client_dlq_show (self->client, gone, &reply, &fault) == 0);
    assert (streq (s_str (reply, "reason"), "GONE"));
    json_decref (reply);
    assert (zeb_outbox_client_target_enable (self->client, "vanished", &reply, &fault) == 0);
    assert (json_is_true (json_object_get (reply, "wasGone")));
    json_decref (reply);
    assert (zeb_outbox_client_target_enable (self->client, "vanished", &reply, &fault) == 0);
    assert (json_is_false (json_object_get (reply, "wasGone")));
    json_decref (reply);

    //  Replay by filter: the attempts start over, and this time it works
    json_t *filter = s_filter ("{\"origin\":\"rule-retry\"}");
    assert (zeb_outbox_client_dlq_replay (self->client, NULL, filter, &reply, &fault) == 0);
    json_decref (filter);
    assert (s_int (reply, "count") == 1 && strlen (s_str (reply, "replayId")) == 36);
    json_decref (reply);
    s_work (self, tired, 1, "ok", NULL);
    s_wait_state (self, tired, "done");
    assert (zeb_outbox_client_run (self->client, tired, &reply, &fault) == 0);
    action = json_array_get (json_object_get (reply, "actions"), 0);
    assert (s_int (action, "attemptsSpent") == 1 && strlen (s_str (reply, "replay")) == 36);
    assert (json_object_get (reply, "deadAt") == NULL);
    json_decref (reply);
    reply = s_dlq_list (self, "{\"origin\":\"rule-retry\"}");
    assert (json_array_size (json_object_get (reply, "items")) == 0);
    json_decref (reply);
    //  A filter that matches nothing replays nothing, and names no replay
    filter = s_filter ("{\"origin\":\"nobody\"}");
    assert (zeb_outbox_client_dlq_replay (self->client, NULL, filter, &reply, &fault) == 0);
    assert (s_int (reply, "count") == 0 && json_object_get (reply, "replayId") == NULL);
    json_decref (reply);
    json_decref (filter);

    //  Replay by id: attempt 1 again
    assert (zeb_outbox_client_dlq_replay (self->client, failed, NULL, &reply, &fault) == 0);
    assert (s_int (reply, "count") == 1);
    json_decref (reply);
    s_work (self, failed, 1, "fail", "\"error\":\"HTTP 400 again\"");
    s_wait_state (self, failed, "dead");

    //  Purge by id, then by filter (everything): the runs are gone
    assert (zeb_outbox_client_dlq_purge (self->client, failed, NULL, &reply, &fault) == 0);
    assert (s_int (reply, "count") == 1);
    json_decref (reply);
    assert (zeb_outbox_client_run (self->client, failed, &reply, &fault) == ZEB_ENOTFOUND);
    json_decref (reply);
    assert (zeb_outbox_client_dlq_purge (self->client, NULL, NULL, &reply, &fault) == 0);
    assert (s_int (reply, "count") == 1);      //  the GONE one
    json_decref (reply);
    reply = s_dlq_list (self, "{}");
    assert (json_array_size (json_object_get (reply, "items")) == 0);
    json_decref (reply);
    assert (zeb_outbox_client_run (self->client, gone, NULL, &fault) == ZEB_ENOTFOUND);

    //  STATS counts what happened
    assert (zeb_outbox_client_stats (self->client, &reply, &fault) == 0);
    assert (streq (s_str (reply, "actor"), "outbox"));
    assert (s_int (reply, "enqueued") == 4 && s_int (reply, "duplicates") == 1);
    assert (s_int (reply, "dead") == 4 && s_int (reply, "replayed") == 2 && s_int (reply, "purged") == 2);
    assert (s_int (reply, "runs") == 0);
    json_decref (reply);
    s_fixture_stop (self);
}

//  ---------------------------------------------------------------------
//  refusals

//  The call's outcome was a NACK with reason, naming what in its error
static void
s_refused (int rc, json_t *reply, zeb_fault_t *fault, int code, const char *reason, const char *what)
{
    if (rc != code || !reply || !streq (s_str (reply, "reason"), reason) || !strstr (fault->text, what))
        fprintf (stderr, "expected %s (%s), got %s: %s\n", reason, what, zeb_strerror (rc), fault->text);
    assert (rc == code);
    assert (reply && streq (s_str (reply, "reason"), reason));
    assert (streq (s_str (reply, "error"), fault->text) && strstr (fault->text, what));
    json_decref (reply);
}

static void
s_test_refusals (void)
{
    s_fixture_t fixture, *self = &fixture;
    s_fixture_start (self);
    json_t *reply;
    zeb_fault_t fault;
    const char *unknown = "0123456789abcdef0123456789abcdef";

    //  Ids: not 32 hex digits is INVALID_ATTRIBUTE; unknown is NOT_FOUND
    int rc = zeb_outbox_client_run (self->client, "nothex", &reply, &fault);
    s_refused (rc, reply, &fault, ZEB_EINVALID, "INVALID_ATTRIBUTE", "32 hex digits");
    rc = zeb_outbox_client_run (self->client, unknown, &reply, &fault);
    s_refused (rc, reply, &fault, ZEB_ENOTFOUND, "NOT_FOUND", unknown);
    rc = zeb_outbox_client_dlq_show (self->client, "0123", &reply, &fault);
    s_refused (rc, reply, &fault, ZEB_EINVALID, "INVALID_ATTRIBUTE", "32 hex digits");
    rc = zeb_outbox_client_dlq_show (self->client, unknown, &reply, &fault);
    s_refused (rc, reply, &fault, ZEB_ENOTFOUND, "NOT_FOUND", unknown);
    rc = zeb_outbox_client_dlq_replay (self->client, "zz", NULL, &reply, &fault);
    s_refused (rc, reply, &fault, ZEB_EINVALID, "INVALID_ATTRIBUTE", "32 hex digits");
    rc = zeb_outbox_client_dlq_replay (self->client, unknown, NULL, &reply, &fault);
    s_refused (rc, reply, &fault, ZEB_ENOTFOUND, "NOT_FOUND", unknown);
    rc = zeb_outbox_client_dlq_purge (self->client, "0123456789ABCDEF0123456789ABCDEG", NULL, &reply, &fault);
    s_refused (rc, reply, &fault, ZEB_EINVALID, "INVALID_ATTRIBUTE", "32 hex digits");
    rc = zeb_outbox_client_dlq_purge (self->client, unknown, NULL, &reply, &fault);
    s_refused (rc, reply, &fault, ZEB_ENOTFOUND, "NOT_FOUND", unknown);

    //  Bad filters, for listing and for purging (which takes up to
    //  100,000 at once, a list page 1,000)
    const char *filters [][2] = {
        { "{\"limit\":0}", "limit" }, { "{\"since\":\"yesterday\"}", "since" },
        { "{\"origin\":5}", "origin" }, { "{\"type\":[]}", "type" }, { "{\"after\":\"abc\"}", "after" },
        { "{\"after\":7}", "after" }, { "{\"limit\":1001}", "limit" }
    };
    size_t filter_count = sizeof (filters) / sizeof (filters [0]);
    for (size_t index = 0; index < filter_count; index++) {
        json_t *filter = s_filter (filters [index][0]);
        rc = zeb_outbox_client_dlq_list (self->client, filter, &reply, &fault);
        s_refused (rc, reply, &fault, ZEB_EINVALID, "INVALID_ATTRIBUTE", filters [index][1]);
        rc = zeb_outbox_client_dlq_purge (self->client, NULL, filter, &reply, &fault);
        if (index + 1 < filter_count)
            s_refused (rc, reply, &fault, ZEB_EINVALID, "INVALID_ATTRIBUTE", filters [index][1]);
        else {
            assert (rc == 0 && s_int (reply, "count") == 0);
            json_decref (reply);
        }
        json_decref (filter);
    }
    //  Not JSON objects or arrays: refused here, nothing sent
    json_t *number = json_integer (5);
    reply = json_object ();
    json_t *placeholder = reply;
    assert (zeb_outbox_client_dlq_list (self->client, number, &reply, &fault) == ZEB_EINVALID);
    assert (reply == NULL && strstr (fault.text, "not a JSON object"));
    json_decref (placeholder);
    assert (zeb_outbox_client_dlq_replay (self->client, NULL, number, NULL, &fault) == ZEB_EINVALID);
    assert (zeb_outbox_client_enqueue (self->client, number, &reply, &fault) == ZEB_EINVALID);
    assert (reply == NULL && strstr (fault.text, "not a JSON array"));
    json_decref (number);

    //  LOGS: one of origin and type, limit 1..1000
    rc = zeb_outbox_client_logs (self->client, NULL, NULL, 0, NULL, &reply, &fault);
    s_refused (rc, reply, &fault, ZEB_EINVALID, "INVALID_ATTRIBUTE", "origin or type");
    rc = zeb_outbox_client_logs (self->client, "o", "order.placed", 0, NULL, &reply, &fault);
    s_refused (rc, reply, &fault, ZEB_EINVALID, "INVALID_ATTRIBUTE", "origin or type");
    rc = zeb_outbox_client_logs (self->client, "o", NULL, 1001, NULL, &reply, &fault);
    s_refused (rc, reply, &fault, ZEB_EINVALID, "INVALID_ATTRIBUTE", "limit");
    rc = zeb_outbox_client_logs (self->client, "o", NULL, 0, "yesterday", &reply, &fault);
    s_refused (rc, reply, &fault, ZEB_EINVALID, "INVALID_ATTRIBUTE", "before");
    //  TARGET_ENABLE needs a target
    rc = zeb_outbox_client_target_enable (self->client, "", &reply, &fault);
    s_refused (rc, reply, &fault, ZEB_EINVALID, "INVALID_ATTRIBUTE", "target");

    //  ENQUEUE: none, a bad run (its index named), a missing field
    json_t *runs = json_array ();
    rc = zeb_outbox_client_enqueue (self->client, runs, &reply, &fault);
    s_refused (rc, reply, &fault, ZEB_EINVALID, "INVALID_ATTRIBUTE", "runs");
    json_array_append_new (runs, s_run (self, "fine", "t", NULL));
    json_t *bad = s_run (self, "bad", "t", NULL);
    json_object_set_new (bad, "kind", json_string ("sometimes"));
    json_array_append_new (runs, bad);
    rc = zeb_outbox_client_enqueue (self->client, runs, &reply, &fault);
    assert (s_int (reply, "index") == 1);
    s_refused (rc, reply, &fault, ZEB_EINVALID, "INVALID_ATTRIBUTE", "kind");
    json_object_del (bad, "kind");
    json_object_del (bad, "origin");
    rc = zeb_outbox_client_enqueue (self->client, runs, &reply, &fault);
    assert (s_int (reply, "index") == 1);
    s_refused (rc, reply, &fault, ZEB_EMISSING, "MISSING_ATTRIBUTE", "origin");
    json_decref (runs);
    //  Nothing of a refused ENQUEUE was stored
    assert (zeb_outbox_client_stats (self->client, &reply, &fault) == 0);
    assert (s_int (reply, "enqueued") == 0 && s_int (reply, "refused") == 3);
    json_decref (reply);
    s_fixture_stop (self);
}

//  ---------------------------------------------------------------------
//  paging

#define S_PAGED 7

//  One page of the origin "pager" from cursor ("": the first); the reply
typedef json_t *(s_page_fn) (s_fixture_t *self, int limit, const char *cursor);

static json_t *
s_dlq_page (s_fixture_t *self, int limit, const char *cursor)
{
    json_t *filter = json_pack ("{s:s, s:i}", "origin", "pager", "limit", limit);
    if (*cursor)
        json_object_set_new (filter, "after", json_string (cursor));
    json_t *reply;
    int rc = zeb_outbox_client_dlq_list (self->client, filter, &reply, NULL);
    assert (rc == 0);
    json_decref (filter);
    return reply;
}

static json_t *
s_logs_page (s_fixture_t *self, int limit, const char *cursor)
{
    json_t *reply;
    int rc = zeb_outbox_client_logs (self->client, "pager", NULL, (uint32_t) limit, cursor, &reply, NULL);
    assert (rc == 0);
    return reply;
}

//  Every run id of the pages, page by page of limit, following next;
//  asserts each comes once and, if time_key is not NULL, that the pages
//  are newest first by it. (DLQ_LIST goes oldest first by the time its
//  key holds, which may be a millisecond past an item's "at".)
static size_t
s_page_all (s_fixture_t *self, s_page_fn *page, int limit, const char *id_key,
            const char *time_key, char ids [][33])
{
    size_t count = 0, pages = 0;
    char cursor [80] = "";
    int64_t last = INT64_MAX;
    while (true) {
        json_t *reply = page (self, limit, cursor);
        json_t *items = json_object_get (reply, "items");
        assert (json_array_size (items) <= (size_t) limit);
        for (size_t index = 0; index < json_array_size (items); index++) {
            json_t *item = json_array_get (items, index);
            assert (count < S_PAGED);
            if (time_key) {
                assert (s_int (item, time_key) <= last);
                last = s_int (item, time_key);
            }
            snprintf (ids [count], 33, "%s", s_str (item, id_key));
            for (size_t other = 0; other < count; other++)
                assert (!streq (ids [other], ids [count]));
            count++;
        }
        assert (++pages <= S_PAGED + 1);
        const char *next = json_string_value (json_object_get (reply, "next"));
        if (next)
            snprintf (cursor, sizeof (cursor), "%s", next);
        json_decref (reply);
        if (!next)
            return count;
    }
}

static size_t
s_page_dlq (s_fixture_t *self, int limit, char ids [][33])
{
    return s_page_all (self, s_dlq_page, limit, "id", NULL, ids);
}

static size_t
s_page_logs (s_fixture_t *self, int limit, char ids [][33])
{
    return s_page_all (self, s_logs_page, limit, "run", "createdAt", ids);
}

static void
s_test_paging (void)
{
    s_fixture_t fixture, *self = &fixture;
    s_fixture_start (self);
    //  S_PAGED runs in one ENQUEUE, each with one attempt: the worker
    //  answers them all at once, so several die (and log) in the same ms
    json_t *runs = json_array ();
    for (int index = 0; index < S_PAGED; index++)
        json_array_append_new (runs, s_run (self, "pager", "paged", S_FAST_RETRIES (1)));
    json_t *reply = s_enqueue (self, runs);
    json_t *ids = json_object_get (reply, "ids");
    json_t *jobs [S_PAGED];
    for (int index = 0; index < S_PAGED; index++)
        jobs [index] = s_job (self);
    for (int index = 0; index < S_PAGED; index++)
        s_result (self, jobs [index], "retry", "\"error\":\"later\"");
    for (int index = 0; index < S_PAGED; index++)
        s_wait_state (self, json_string_value (json_array_get (ids, index)), "dead");

    char seen [S_PAGED][33];
    int limits [] = { 1, 2, 3, S_PAGED, 100 };
    for (size_t index = 0; index < sizeof (limits) / sizeof (limits [0]); index++) {
        size_t count = s_page_dlq (self, limits [index], seen);
        if (count != S_PAGED)
            fprintf (stderr, "DLQ_LIST by %d: %zu of %d dead letters\n", limits [index], count, S_PAGED);
        assert (count == S_PAGED);
        count = s_page_logs (self, limits [index], seen);
        if (count != S_PAGED)
            fprintf (stderr, "LOGS by %d: %zu of %d logs\n", limits [index], count, S_PAGED);
        assert (count == S_PAGED);
    }
    //  before as a time: the logs written before it
    json_t *logs;
    assert (zeb_outbox_client_logs (self->client, "pager", NULL, 100, "1", &logs, NULL) == 0);
    assert (json_array_size (json_object_get (logs, "items")) == 0);
    json_decref (logs);
    char future [32];
    snprintf (future, sizeof (future), "%" PRId64, zeb_time_now () + 60000);
    assert (zeb_outbox_client_logs (self->client, "pager", NULL, 100, future, &logs, NULL) == 0);
    assert (json_array_size (json_object_get (logs, "items")) == S_PAGED);
    json_decref (logs);
    //  The last page of exactly limit items says so: no next
    json_t *list = s_dlq_list (self, "{\"origin\":\"pager\",\"limit\":7}");
    assert (json_array_size (json_object_get (list, "items")) == S_PAGED);
    assert (json_object_get (list, "next") == NULL);
    json_decref (list);

    //  Purge them by filter, the oldest two first, then the rest
    json_t *filter = s_filter ("{\"origin\":\"pager\",\"limit\":2}");
    json_t *purged;
    assert (zeb_outbox_client_dlq_purge (self->client, NULL, filter, &purged, NULL) == 0);
    assert (s_int (purged, "count") == 2);
    json_decref (purged);
    json_decref (filter);
    assert (s_page_dlq (self, 100, seen) == S_PAGED - 2);
    filter = s_filter ("{\"origin\":\"pager\"}");
    assert (zeb_outbox_client_dlq_purge (self->client, NULL, filter, &purged, NULL) == 0);
    assert (s_int (purged, "count") == S_PAGED - 2);
    json_decref (purged);
    json_decref (filter);
    assert (s_page_dlq (self, 3, seen) == 0);
    for (int index = 0; index < S_PAGED; index++)
        assert (zeb_outbox_client_run (self->client, json_string_value (json_array_get (ids, index)),
                                       NULL, NULL) == ZEB_ENOTFOUND);
    json_decref (reply);
    s_fixture_stop (self);
}

//  ---------------------------------------------------------------------
//  timeout

static void
s_test_timeout (void)
{
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    assert (router);
    zsock_set_linger (router, 0);
    int port = zsock_bind (router, "tcp://127.0.0.1:*");
    assert (port > 0);
    char endpoint [64];
    snprintf (endpoint, sizeof (endpoint), "tcp://127.0.0.1:%d", port);
    zeb_outbox_client_t *client = zeb_outbox_client_new (endpoint);
    assert (client);
    zeb_outbox_client_set_timeout (client, 200);
    json_t *reply = json_object ();         //  must come back NULL
    json_t *placeholder = reply;
    zeb_fault_t fault;
    int64_t started = test_now_ms ();
    assert (zeb_outbox_client_stats (client, &reply, &fault) == ZEB_ETIMEOUT);
    int64_t took = test_now_ms () - started;
    assert (took >= 190 && took < 5000);
    assert (reply == NULL && strstr (fault.text, "outbox") && strstr (fault.text, "200 ms"));
    json_decref (placeholder);
    //  Answer it now, late: the next call drops that reply and times out
    zsock_set_rcvtimeo (router, S_WAIT_MS);
    zmsg_t *request = zmsg_recv (router);
    assert (request && zmsg_size (request) == 4);
    zframe_t *identity = zmsg_pop (request);
    zframe_t *command = zmsg_pop (request);
    assert (zframe_streq (command, "STATS"));
    zframe_t *body = zmsg_pop (request);
    zframe_t *tag = zmsg_pop (request);
    zmsg_t *late = zmsg_new ();
    zmsg_append (late, &identity);
    zmsg_append (late, &command);
    zmsg_append (late, &body);              //  {} back: a map
    zmsg_append (late, &tag);
    assert (zmsg_send (&late, router) == 0);
    zmsg_destroy (&request);
    assert (zeb_outbox_client_stats (client, &reply, &fault) == ZEB_ETIMEOUT && reply == NULL);
    zeb_outbox_client_destroy (&client);
    zsock_destroy (&router);
}

//  ---------------------------------------------------------------------

int
main (int argc, char *argv [])
{
    const char *only = argc > 1? argv [1]: NULL;
    zsys_init ();
    zsys_set_logstream (NULL);
    test_case_t cases [] = {
        { "verbs", s_test_verbs },
        { "refusals", s_test_refusals },
        { "paging", s_test_paging },
        { "timeout", s_test_timeout }
    };
    test_run_cases (cases, sizeof (cases) / sizeof (cases [0]), only);
    return 0;
}
