/*  =========================================================================
    outbox_test - the outbox with real executors against a real HTTP receiver

    A node embedded in this process runs the outbox with its webhook,
    emit_event and log executors; tests/receiver is the HTTP server the
    webhooks go to (each case has its own, so that the circuits of one
    case's target are its own). Every case asserts what the receiver saw:
    order, the webhook-id on every retry, the spacing of retries, the
    concurrency and rate per key, what a slow or gone target does to the
    others; then the dead-letter queue, embedded handlers, application
    actions and a worker that vanishes mid-job.
    Usage: outbox_test [case]
    =========================================================================
*/

#include "testutil.h"
#include "receiver.h"

static zeb_node_t *s_node;
static zsock_t *s_outbox;           //  DEALER to the outbox
static char s_dir [256];

//  ---------------------------------------------------------------------
//  Helpers

static json_t *
s_call (const char *command, const char *json, const char *expected)
{
    return test_call_json (s_outbox, command, json, expected, NULL, 10000);
}

//  Enqueue one run (JSON of the run); its id into id
static void
s_enqueue (const char *run, char *id)
{
    char *body = zsys_sprintf ("{\"runs\":[%s]}", run);
    json_t *reply = s_call ("ENQUEUE", body, "ENQUEUED");
    snprintf (id, 33, "%s", json_string_value (json_array_get (json_object_get (reply, "ids"), 0)));
    json_decref (reply);
    zstr_free (&body);
}

//  A run of origin for event id with these actions (JSON array text)
static char *
s_run (const char *origin, const char *event, const char *extra, const char *actions)
{
    return zsys_sprintf ("{\"origin\":\"%s\",\"event\":{\"id\":\"%s\",\"type\":\"order.placed\","
                         "\"source\":\"outbox-test\",\"sequence\":1,\"data\":{\"n\":1}}%s%s,\"actions\":%s}",
                         origin, event, extra? ",": "", extra? extra: "", actions);
}

static char *
s_url (receiver_t *receiver, const char *path)
{
    return zsys_sprintf ("http://127.0.0.1:%d%s", receiver_port (receiver), path);
}

typedef struct {
    const char *id;
    const char *state;
} s_state_t;

static bool
s_state_is (void *arg)
{
    s_state_t *want = (s_state_t *) arg;
    char body [64];
    snprintf (body, sizeof (body), "{\"id\":\"%.32s\"}", want->id);
    json_t *run = s_call ("RUN", body, "RUN");
    bool is = streq (json_string_value (json_object_get (run, "state")), want->state);
    json_decref (run);
    return is;
}

static void
s_wait_state (const char *id, const char *state, int timeout_ms)
{
    s_state_t want = { id, state };
    if (!test_wait_until (s_state_is, &want, timeout_ms)) {
        char body [64];
        snprintf (body, sizeof (body), "{\"id\":\"%.32s\"}", id);
        json_t *run = s_call ("RUN", body, "RUN");
        char *text = json_dumps (run, JSON_COMPACT);
        fprintf (stderr, "run %s is not %s: %s\n", id, state, text);
        free (text);
        assert (false);
    }
}

static json_t *
s_show (const char *id)
{
    char body [64];
    snprintf (body, sizeof (body), "{\"id\":\"%.32s\"}", id);
    return s_call ("RUN", body, "RUN");
}

//  The index'th request's path and webhook-id
static void
s_request (receiver_t *receiver, size_t index, char *path, char *webhook_id)
{
    receiver_request_t request;
    assert (receiver_request (receiver, index, &request));
    snprintf (path, 512, "%s", request.path);
    if (webhook_id && !receiver_request_header (&request, "webhook-id", webhook_id, 80))
        *webhook_id = 0;
    receiver_request_reset (&request);
}

static int64_t
s_arrived (receiver_t *receiver, size_t index)
{
    receiver_request_t request;
    assert (receiver_request (receiver, index, &request));
    int64_t arrived = request.arrived_us;
    receiver_request_reset (&request);
    return arrived;
}

//  ---------------------------------------------------------------------
//  Cases

//  Actions run in order, each with its stable webhook-id
static void
s_test_ordered (void)
{
    receiver_t *receiver = receiver_new ();
    char *a = s_url (receiver, "/a"), *b = s_url (receiver, "/b"), *c = s_url (receiver, "/c");
    char *actions = zsys_sprintf ("[{\"type\":\"webhook\",\"config\":{\"url\":\"%s\"}},"
                                  "{\"type\":\"webhook\",\"config\":{\"url\":\"%s\"}},"
                                  "{\"type\":\"webhook\",\"config\":{\"url\":\"%s\",\"method\":\"PUT\"}}]", a, b, c);
    char *run = s_run ("ordered", "o-1", NULL, actions);
    char id [33];
    s_enqueue (run, id);
    s_wait_state (id, "done", 10000);
    assert (receiver_count (receiver) == 3);
    const char *paths [] = { "/a", "/b", "/c" };
    for (size_t index = 0; index < 3; index++) {
        char path [512], webhook_id [80], expected [64];
        s_request (receiver, index, path, webhook_id);
        snprintf (expected, sizeof (expected), "%s-%zu", id, index);
        assert (streq (path, paths [index]));
        assert (streq (webhook_id, expected));
    }
    receiver_request_t request;
    assert (receiver_request (receiver, 2, &request));
    assert (streq (request.method, "PUT"));
    //  The body is the event as CloudEvents structured JSON
    json_t *body = json_loads (request.body, 0, NULL);
    assert (body && streq (json_string_value (json_object_get (body, "id")), "o-1"));
    json_decref (body);
    receiver_request_reset (&request);
    //  Its log entry
    json_t *logs = s_call ("LOGS", "{\"origin\":\"ordered\"}", "LOGS");
    json_t *entry = json_array_get (json_object_get (logs, "items"), 0);
    assert (streq (json_string_value (json_object_get (entry, "status")), "success"));
    assert (json_array_size (json_object_get (entry, "actionsExecuted")) == 3);
    json_decref (logs);
    zstr_free (&run);
    zstr_free (&actions);
    zstr_free (&a);
    zstr_free (&b);
    zstr_free (&c);
    receiver_destroy (&receiver);
}

//  A failed action: the later ones run (continueOnError) or are skipped
static void
s_test_continue_on_error (void)
{
    receiver_t *receiver = receiver_new ();
    receiver_set_path_mode (receiver, "/bad", RECEIVER_STATUS, 404);
    char *bad = s_url (receiver, "/bad"), *after = s_url (receiver, "/after");
    char *actions = zsys_sprintf ("[{\"type\":\"webhook\",\"config\":{\"url\":\"%s\"}},"
                                  "{\"type\":\"webhook\",\"config\":{\"url\":\"%s\"}}]", bad, after);
    char *run = s_run ("coe", "c-1", NULL, actions);
    char id [33];
    s_enqueue (run, id);
    s_wait_state (id, "dead", 10000);
    assert (receiver_count (receiver) == 2);
    char path [512];
    s_request (receiver, 1, path, NULL);
    assert (streq (path, "/after"));
    json_t *shown = s_show (id);
    json_t *list = json_object_get (shown, "actions");
    assert (streq (json_string_value (json_object_get (json_array_get (list, 0), "state")), "failed"));
    assert (streq (json_string_value (json_object_get (json_array_get (list, 1), "state")), "ok"));
    assert (streq (json_string_value (json_object_get (shown, "reason")), "FAILED"));
    json_decref (shown);
    zstr_free (&run);
    run = s_run ("coe", "c-2", "\"continueOnError\":false", actions);
    s_enqueue (run, id);
    s_wait_state (id, "dead", 10000);
    shown = s_show (id);
    list = json_object_get (shown, "actions");
    assert (streq (json_string_value (json_object_get (json_array_get (list, 1), "state")), "skipped"));
    json_decref (shown);
    assert (receiver_count (receiver) == 3);        //  only /bad again
    zstr_free (&run);
    zstr_free (&actions);
    zstr_free (&bad);
    zstr_free (&after);
    receiver_destroy (&receiver);
}

//  Retries wait per policy (exponential, with jitter) and keep their id
static void
s_test_retries (void)
{
    receiver_t *receiver = receiver_new ();
    receiver_set_mode (receiver, RECEIVER_FAIL, 0);
    char *url = s_url (receiver, "/flaky");
    char *actions = zsys_sprintf ("[{\"type\":\"webhook\",\"config\":{\"url\":\"%s\"},\"retryPolicy\":"
                                  "{\"maxAttempts\":5,\"backoffMs\":200,\"exponentialBackoff\":true,"
                                  "\"jitter\":true}}]", url);
    char *run = s_run ("retries", "r-1", NULL, actions);
    char id [33];
    s_enqueue (run, id);
    assert (receiver_wait_count (receiver, 3, 10000));
    receiver_set_mode (receiver, RECEIVER_OK, 0);
    s_wait_state (id, "done", 10000);
    size_t count = receiver_count (receiver);
    assert (count >= 4);
    char first_id [80];
    s_request (receiver, 0, (char [512]) { 0 }, first_id);
    for (size_t index = 1; index < count; index++) {
        char webhook_id [80];
        s_request (receiver, index, (char [512]) { 0 }, webhook_id);
        assert (streq (webhook_id, first_id));
    }
    //  Delays of 200 ms then 400 ms, each drawn in [d/2, d]
    int64_t first = s_arrived (receiver, 1) - s_arrived (receiver, 0);
    int64_t second = s_arrived (receiver, 2) - s_arrived (receiver, 1);
    assert (first >= 100000 && first < 1500000);
    assert (second >= 200000 && second < 2000000);
    json_t *shown = s_show (id);
    json_t *attempts = json_object_get (json_array_get (json_object_get (shown, "actions"), 0), "attempts");
    assert (json_array_size (attempts) == count);
    assert (json_integer_value (json_object_get (json_array_get (attempts, 0), "code")) == 500);
    json_decref (shown);
    zstr_free (&run);
    zstr_free (&actions);
    zstr_free (&url);
    receiver_destroy (&receiver);
}

//  Retry-After (seconds) is a floor under the delay
static void
s_test_retry_after (void)
{
    receiver_t *receiver = receiver_new ();
    receiver_set_mode (receiver, RECEIVER_RETRY_AFTER, 1);
    char *url = s_url (receiver, "/limited");
    char *actions = zsys_sprintf ("[{\"type\":\"webhook\",\"config\":{\"url\":\"%s\"},\"retryPolicy\":"
                                  "{\"backoffMs\":10,\"jitter\":false}}]", url);
    char *run = s_run ("retry-after", "ra-1", NULL, actions);
    char id [33];
    s_enqueue (run, id);
    assert (receiver_wait_count (receiver, 1, 10000));
    receiver_set_mode (receiver, RECEIVER_OK, 0);
    s_wait_state (id, "done", 10000);
    assert (receiver_count (receiver) == 2);
    assert (s_arrived (receiver, 1) - s_arrived (receiver, 0) >= 950000);
    zstr_free (&run);
    zstr_free (&actions);
    zstr_free (&url);
    receiver_destroy (&receiver);
}

//  A target that does not answer in time: the attempt times out, is retried
static void
s_test_timeout (void)
{
    receiver_t *receiver = receiver_new ();
    receiver_set_mode (receiver, RECEIVER_STALL, 0);
    char *url = s_url (receiver, "/slow");
    char *actions = zsys_sprintf ("[{\"type\":\"webhook\",\"config\":{\"url\":\"%s\"},\"retryPolicy\":"
                                  "{\"timeout\":300,\"backoffMs\":10,\"maxAttempts\":10}}]", url);
    char *run = s_run ("timeout", "t-1", NULL, actions);
    char id [33];
    s_enqueue (run, id);
    assert (receiver_wait_count (receiver, 2, 10000));
    int64_t gap = s_arrived (receiver, 1) - s_arrived (receiver, 0);
    assert (gap >= 280000);         //  the first attempt had its 300 ms
    receiver_set_mode (receiver, RECEIVER_OK, 0);
    s_wait_state (id, "done", 10000);
    json_t *shown = s_show (id);
    json_t *attempts = json_object_get (json_array_get (json_object_get (shown, "actions"), 0), "attempts");
    const char *error = json_string_value (json_object_get (json_array_get (attempts, 0), "error"));
    assert (error && (strstr (error, "timed out") || strstr (error, "Timeout") || strstr (error, "timeout")));
    json_decref (shown);
    zstr_free (&run);
    zstr_free (&actions);
    zstr_free (&url);
    receiver_destroy (&receiver);
}

//  Circuit: opens after 3 failures, defers without spending attempts,
//  probes after its recovery, closes, and redrives what died of it
static void
s_test_circuit (void)
{
    receiver_t *receiver = receiver_new ();
    receiver_set_mode (receiver, RECEIVER_FAIL, 0);
    char *url = s_url (receiver, "/down");
    char *actions = zsys_sprintf ("[{\"type\":\"webhook\",\"config\":{\"url\":\"%s\"},\"retryPolicy\":"
                                  "{\"maxAttempts\":1}}]", url);
    char ids [3][33];
    for (int index = 0; index < 3; index++) {
        char event [16];
        snprintf (event, sizeof (event), "cb-%d", index);
        char *run = s_run ("circuit", event, NULL, actions);
        s_enqueue (run, ids [index]);
        zstr_free (&run);
        s_wait_state (ids [index], "dead", 10000);
    }
    assert (receiver_count (receiver) == 3);
    //  Open: the next run waits, and no request goes out meanwhile
    receiver_set_mode (receiver, RECEIVER_OK, 0);
    int64_t opened = zeb_time_mono_us ();
    char *run = s_run ("circuit", "cb-next", NULL, actions);
    char id [33];
    s_enqueue (run, id);
    zstr_free (&run);
    assert (receiver_wait_count (receiver, 4, 10000));
    assert (s_arrived (receiver, 3) - opened >= 400000);    //  recovery 500 ms
    s_wait_state (id, "done", 10000);
    json_t *shown = s_show (id);
    assert (json_integer_value (json_object_get (json_array_get (json_object_get (shown, "actions"), 0),
                                                 "attemptsSpent")) == 1);
    json_decref (shown);
    //  Closed by the probe: the three dead runs are redriven
    for (int index = 0; index < 3; index++)
        s_wait_state (ids [index], "done", 10000);
    assert (receiver_count (receiver) == 7);
    char *text = zeb_node_stats (s_node, "outbox");
    json_t *stats = json_loads (text, 0, NULL);
    free (text);
    assert (json_integer_value (json_object_get (stats, "redriven")) >= 3);
    json_decref (stats);
    zstr_free (&actions);
    zstr_free (&url);
    receiver_destroy (&receiver);
}

//  At most 2 in flight for key k, while another key flows
static void
s_test_concurrency (void)
{
    receiver_t *receiver = receiver_new ();
    receiver_set_path_mode (receiver, "/hold", RECEIVER_HOLD, 0);
    char *hold = s_url (receiver, "/hold"), *other = s_url (receiver, "/other");
    char *actions = zsys_sprintf ("[{\"type\":\"webhook\",\"config\":{\"url\":\"%s\"},\"key\":\"customer-7\","
                                  "\"concurrency\":2}]", hold);
    char ids [6][33];
    for (int index = 0; index < 6; index++) {
        char event [16];
        snprintf (event, sizeof (event), "cc-%d", index);
        char *run = s_run ("concurrency", event, NULL, actions);
        s_enqueue (run, ids [index]);
        zstr_free (&run);
    }
    assert (receiver_wait_count (receiver, 2, 10000));
    //  Another key is served while customer-7 is at its limit
    char *other_actions = zsys_sprintf ("[{\"type\":\"webhook\",\"config\":{\"url\":\"%s\"},\"key\":\"other\"}]",
                                        other);
    char *run = s_run ("concurrency", "cc-other", NULL, other_actions);
    char id [33];
    s_enqueue (run, id);
    zstr_free (&run);
    s_wait_state (id, "done", 10000);
    assert (receiver_count (receiver) == 3);        //  still two of customer-7
    for (int round = 0; round < 6; round++) {
        receiver_release (receiver);
        bool done = true;
        for (int index = 0; index < 6; index++) {
            s_state_t want = { ids [index], "done" };
            done &= s_state_is (&want);
        }
        if (done)
            break;
        receiver_wait_count (receiver, 3 + 2 * (size_t) (round + 1), 2000);
    }
    for (int index = 0; index < 6; index++) {
        receiver_release (receiver);
        s_wait_state (ids [index], "done", 10000);
    }
    //  At no moment were more than 2 requests of customer-7 unanswered
    size_t count = receiver_count (receiver), most = 0;
    for (size_t index = 0; index < count; index++) {
        receiver_request_t one;
        assert (receiver_request (receiver, index, &one));
        if (streq (one.path, "/hold")) {
            size_t open = 0;
            for (size_t other_index = 0; other_index < count; other_index++) {
                receiver_request_t two;
                assert (receiver_request (receiver, other_index, &two));
                if (streq (two.path, "/hold") && two.arrived_us <= one.arrived_us
                &&  (two.answered_us == 0 || two.answered_us > one.arrived_us))
                    open++;
                receiver_request_reset (&two);
            }
            most = open > most? open: most;
        }
        receiver_request_reset (&one);
    }
    assert (most == 2);
    zstr_free (&actions);
    zstr_free (&other_actions);
    zstr_free (&hold);
    zstr_free (&other);
    receiver_destroy (&receiver);
}

//  A token bucket of 10 per second with a burst of 1
static void
s_test_rate (void)
{
    receiver_t *receiver = receiver_new ();
    char *url = s_url (receiver, "/rated");
    char *actions = zsys_sprintf ("[{\"type\":\"webhook\",\"config\":{\"url\":\"%s\"},\"key\":\"rated\","
                                  "\"rate\":10,\"burst\":1}]", url);
    char ids [6][33];
    for (int index = 0; index < 6; index++) {
        char event [16];
        snprintf (event, sizeof (event), "rt-%d", index);
        char *run = s_run ("rate", event, NULL, actions);
        s_enqueue (run, ids [index]);
        zstr_free (&run);
    }
    assert (receiver_wait_count (receiver, 6, 10000));
    int64_t span = s_arrived (receiver, 5) - s_arrived (receiver, 0);
    assert (span >= 450000);        //  5 intervals of 100 ms, less a tenth
    for (size_t index = 1; index < 6; index++)
        assert (s_arrived (receiver, index) - s_arrived (receiver, index - 1) >= 80000);
    zstr_free (&actions);
    zstr_free (&url);
    receiver_destroy (&receiver);
}

//  FIFO per key: the second run waits for the first, retried, to finish
static void
s_test_fifo (void)
{
    receiver_t *receiver = receiver_new ();
    receiver_set_path_mode (receiver, "/first", RECEIVER_FAIL, 0);
    char *first = s_url (receiver, "/first"), *second = s_url (receiver, "/second");
    char *run = zsys_sprintf ("{\"origin\":\"fifo\",\"event\":{\"id\":\"f-1\",\"type\":\"order.placed\","
                              "\"source\":\"s\"},\"actions\":[{\"type\":\"webhook\",\"config\":{\"url\":\"%s\"},"
                              "\"key\":\"order-1\",\"fifo\":true,\"retryPolicy\":{\"backoffMs\":100,"
                              "\"jitter\":false}}]}", first);
    char id1 [33], id2 [33];
    s_enqueue (run, id1);
    zstr_free (&run);
    run = zsys_sprintf ("{\"origin\":\"fifo\",\"event\":{\"id\":\"f-2\",\"type\":\"order.placed\","
                        "\"source\":\"s\"},\"actions\":[{\"type\":\"webhook\",\"config\":{\"url\":\"%s\"},"
                        "\"key\":\"order-1\",\"fifo\":true}]}", second);
    s_enqueue (run, id2);
    zstr_free (&run);
    assert (receiver_wait_count (receiver, 2, 10000));
    receiver_set_path_mode (receiver, "/first", RECEIVER_OK, 0);
    s_wait_state (id2, "done", 10000);
    size_t count = receiver_count (receiver);
    char path [512];
    for (size_t index = 0; index + 1 < count; index++) {
        s_request (receiver, index, path, NULL);
        assert (streq (path, "/first"));
    }
    s_request (receiver, count - 1, path, NULL);
    assert (streq (path, "/second"));
    zstr_free (&first);
    zstr_free (&second);
    receiver_destroy (&receiver);
}

//  A target that stalls does not delay another target
static void
s_test_slow_target (void)
{
    receiver_t *slow = receiver_new ();
    receiver_t *fast = receiver_new ();
    receiver_set_mode (slow, RECEIVER_STALL, 0);
    char *slow_url = s_url (slow, "/stuck"), *fast_url = s_url (fast, "/quick");
    char *actions = zsys_sprintf ("[{\"type\":\"webhook\",\"config\":{\"url\":\"%s\"},\"retryPolicy\":"
                                  "{\"timeout\":20000,\"maxAttempts\":1}}]", slow_url);
    char ids [20][33];
    for (int index = 0; index < 20; index++) {
        char event [16];
        snprintf (event, sizeof (event), "st-%d", index);
        char *run = s_run ("slow", event, NULL, actions);
        s_enqueue (run, ids [index]);
        zstr_free (&run);
    }
    assert (receiver_wait_count (slow, 20, 10000));
    int64_t started = zeb_time_mono_us ();
    char *fast_actions = zsys_sprintf ("[{\"type\":\"webhook\",\"config\":{\"url\":\"%s\"}}]", fast_url);
    char *run = s_run ("slow", "fast-1", NULL, fast_actions);
    char id [33];
    s_enqueue (run, id);
    zstr_free (&run);
    assert (receiver_wait_count (fast, 1, 5000));
    //  Delivered while 20 requests to the other target hang
    assert (zeb_time_mono_us () - started < 2000000);
    s_wait_state (id, "done", 10000);
    receiver_destroy (&slow);       //  the stuck ones fail now
    for (int index = 0; index < 20; index++)
        s_wait_state (ids [index], "dead", 20000);
    zstr_free (&actions);
    zstr_free (&fast_actions);
    zstr_free (&slow_url);
    zstr_free (&fast_url);
    receiver_destroy (&fast);
}

//  Dead letters: listed, shown, replayed with attempts reset, purged, and
//  announced as zeb.dead_letter events
static void
s_test_dlq (void)
{
    receiver_t *receiver = receiver_new ();
    receiver_set_mode (receiver, RECEIVER_STATUS, 503);
    char *url = s_url (receiver, "/dlq");
    char *actions = zsys_sprintf ("[{\"type\":\"webhook\",\"config\":{\"url\":\"%s\"},\"retryPolicy\":"
                                  "{\"maxAttempts\":2,\"backoffMs\":10}}]", url);
    char *run = s_run ("dlq", "d-1", NULL, actions);
    char id [33];
    s_enqueue (run, id);
    zstr_free (&run);
    s_wait_state (id, "dead", 10000);
    json_t *list = s_call ("DLQ_LIST", "{\"origin\":\"dlq\"}", "DLQ");
    json_t *item = json_array_get (json_object_get (list, "items"), 0);
    assert (json_array_size (json_object_get (list, "items")) == 1);
    assert (streq (json_string_value (json_object_get (item, "reason")), "RETRIES_EXHAUSTED"));
    assert (json_integer_value (json_object_get (item, "attempts")) == 2);
    json_decref (list);
    //  The zeb.dead_letter event is in the log
    zeb_client_t *client = zeb_client_new (zeb_node_endpoint (s_node, "ingest"));
    bool found = false;
    int64_t deadline = test_now_ms () + 10000;
    while (!found && test_now_ms () < deadline) {
        zeb_fetch_t fetch;
        assert (zeb_client_fetch (client, 0, 1000, 200, "zeb.dead_letter", &fetch) == 0);
        for (zeb_event_t *event = (zeb_event_t *) zlistx_first (fetch.events); event;
             event = (zeb_event_t *) zlistx_next (fetch.events)) {
            char *text = zeb_event_data_json (event);
            json_t *data = text? json_loads (text, 0, NULL): NULL;
            free (text);
            if (data && json_string_value (json_object_get (data, "run"))
            &&  streq (json_string_value (json_object_get (data, "run")), id)) {
                found = true;
                assert (streq (json_string_value (json_object_get (data, "origin")), "dlq"));
                assert (json_integer_value (json_object_get (data, "attempts")) == 2);
            }
            json_decref (data);
        }
        zeb_fetch_reset (&fetch);
    }
    assert (found);
    zeb_client_destroy (&client);
    //  Replay: two attempts again, then success
    receiver_set_mode (receiver, RECEIVER_OK, 0);
    char body [64];
    snprintf (body, sizeof (body), "{\"id\":\"%.32s\"}", id);
    json_t *reply = s_call ("DLQ_REPLAY", body, "REPLAYED");
    assert (json_integer_value (json_object_get (reply, "count")) == 1);
    json_decref (reply);
    s_wait_state (id, "done", 10000);
    assert (receiver_count (receiver) == 3);
    //  The replay was announced, and its end with it
    client = zeb_client_new (zeb_node_endpoint (s_node, "ingest"));
    size_t started = 0, completed = 0;
    deadline = test_now_ms () + 10000;
    while ((started == 0 || completed == 0) && test_now_ms () < deadline) {
        zeb_fetch_t fetch;
        assert (zeb_client_fetch (client, 0, 1000, 200, "zeb.replay.", &fetch) == 0);
        started = completed = 0;
        for (zeb_event_t *event = (zeb_event_t *) zlistx_first (fetch.events); event;
             event = (zeb_event_t *) zlistx_next (fetch.events)) {
            started += streq (zeb_event_type (event), "zeb.replay.started");
            if (streq (zeb_event_type (event), "zeb.replay.completed")) {
                char *text = zeb_event_data_json (event);
                json_t *data = json_loads (text, 0, NULL);
                free (text);
                assert (json_integer_value (json_object_get (data, "count")) == 1);
                assert (json_integer_value (json_object_get (data, "done")) == 1);
                json_decref (data);
                completed++;
            }
        }
        zeb_fetch_reset (&fetch);
    }
    assert (started == 1 && completed == 1);
    zeb_client_destroy (&client);
    //  Purge by filter
    receiver_set_mode (receiver, RECEIVER_STATUS, 400);
    run = s_run ("dlq-purge", "d-2", NULL, actions);
    s_enqueue (run, id);
    zstr_free (&run);
    s_wait_state (id, "dead", 10000);
    reply = s_call ("DLQ_PURGE", "{\"origin\":\"dlq-purge\"}", "PURGED");
    assert (json_integer_value (json_object_get (reply, "count")) == 1);
    json_decref (reply);
    list = s_call ("DLQ_LIST", "{\"origin\":\"dlq-purge\"}", "DLQ");
    assert (json_array_size (json_object_get (list, "items")) == 0);
    json_decref (list);
    zstr_free (&actions);
    zstr_free (&url);
    receiver_destroy (&receiver);
}

//  410: the run fails for good, and the target's later runs are
//  dead-lettered GONE without a request until it is enabled again
static void
s_test_gone (void)
{
    receiver_t *receiver = receiver_new ();
    receiver_set_mode (receiver, RECEIVER_GONE, 0);
    char *url = s_url (receiver, "/gone");
    char *actions = zsys_sprintf ("[{\"type\":\"webhook\",\"config\":{\"url\":\"%s\"}}]", url);
    char *run = s_run ("gone", "g-1", NULL, actions);
    char id [33];
    s_enqueue (run, id);
    zstr_free (&run);
    s_wait_state (id, "dead", 10000);
    run = s_run ("gone", "g-2", NULL, actions);
    s_enqueue (run, id);
    zstr_free (&run);
    s_wait_state (id, "dead", 10000);
    json_t *shown = s_show (id);
    assert (streq (json_string_value (json_object_get (shown, "reason")), "GONE"));
    json_decref (shown);
    assert (receiver_count (receiver) == 1);
    receiver_set_mode (receiver, RECEIVER_OK, 0);
    char *target = zsys_sprintf ("{\"target\":\"http://127.0.0.1:%d\"}", receiver_port (receiver));
    json_t *reply = s_call ("TARGET_ENABLE", target, "ENABLED");
    assert (json_is_true (json_object_get (reply, "wasGone")));
    json_decref (reply);
    run = s_run ("gone", "g-3", NULL, actions);
    s_enqueue (run, id);
    zstr_free (&run);
    s_wait_state (id, "done", 10000);
    assert (receiver_count (receiver) == 2);
    zstr_free (&target);
    zstr_free (&actions);
    zstr_free (&url);
    receiver_destroy (&receiver);
}

//  emit_event: the new event carries the action's key and its cause
static void
s_test_emit (void)
{
    char *run = s_run ("emitter", "em-1", NULL,
                       "[{\"type\":\"emit_event\",\"config\":{\"eventType\":\"order.confirmed\","
                       "\"payload\":{\"ok\":true}}}]");
    char id [33];
    s_enqueue (run, id);
    zstr_free (&run);
    s_wait_state (id, "done", 10000);
    zeb_client_t *client = zeb_client_new (zeb_node_endpoint (s_node, "ingest"));
    zeb_fetch_t fetch;
    assert (zeb_client_fetch (client, 0, 1000, 0, "order.confirmed", &fetch) == 0);
    char key [64];
    snprintf (key, sizeof (key), "%s-0", id);
    size_t matching = 0;
    for (zeb_event_t *event = (zeb_event_t *) zlistx_first (fetch.events); event;
         event = (zeb_event_t *) zlistx_next (fetch.events))
        if (zeb_event_attr (event, ZEB_ATTR_IDEMPOTENCYKEY)
        &&  streq (zeb_event_attr (event, ZEB_ATTR_IDEMPOTENCYKEY), key)) {
            matching++;
            assert (streq (zeb_event_attr (event, ZEB_ATTR_CAUSATIONID), "em-1"));
        }
    assert (matching == 1);
    zeb_fetch_reset (&fetch);
    zeb_client_destroy (&client);
}

//  Embedded handlers: retried with backoff until they succeed; one that
//  keeps failing is dead-lettered under its handler id
typedef struct {
    int calls;
    int fail_first;
    bool always_fail;
} s_handler_state_t;

static int
s_handler (zeb_event_t *event, const char **error, void *arg)
{
    s_handler_state_t *state = (s_handler_state_t *) arg;
    state->calls++;
    if (state->always_fail || state->calls <= state->fail_first) {
        *error = "not yet";
        return state->always_fail? ZEB_HANDLER_FAIL: ZEB_HANDLER_RETRY;
    }
    return ZEB_HANDLED;
}

typedef struct {
    s_handler_state_t *state;
    int calls;
} s_calls_t;

static bool
s_called (void *arg)
{
    s_calls_t *calls = (s_calls_t *) arg;
    return calls->state->calls >= calls->calls;
}

static void
s_test_handlers (void)
{
    s_handler_state_t retrying = { 0, 2, false }, failing = { 0, 0, true };
    zeb_handler_options_t options = { "inventory-handler", "inventory", 5, 50, 0, 0, 0, 1, NULL, NULL };
    zeb_fault_t fault;
    assert (zeb_node_on (s_node, "inventory.", s_handler, &retrying, &options, &fault) == 0);
    zeb_handler_options_t failing_options = { "failing-handler", NULL, 2, 10, 0, 0, 0, 1, NULL, NULL };
    assert (zeb_node_on (s_node, "inventory.", s_handler, &failing, &failing_options, &fault) == 0);
    //  A handler id in use is refused
    assert (zeb_node_on (s_node, "x.", s_handler, &failing, &failing_options, &fault) == ZEB_ECONFIG);
    zeb_client_t *client = zeb_client_new (zeb_node_endpoint (s_node, "ingest"));
    zeb_event_t *event = test_event_new ("inventory.product.created", "outbox-test", 1, NULL);
    assert (zeb_client_publish (client, event, NULL) == 0);
    zeb_event_destroy (&event);
    s_calls_t calls = { &retrying, 3 };
    if (!test_wait_until (s_called, &calls, 10000)) {
        char *stats = zeb_node_stats (s_node, "outbox");
        fprintf (stderr, "handler called %d times; outbox: %s\n", retrying.calls, stats);
        free (stats);
        assert (false);
    }
    s_calls_t failed = { &failing, 1 };
    assert (test_wait_until (s_called, &failed, 10000));
    int64_t deadline = test_now_ms () + 10000;
    size_t dead = 0;
    while (dead == 0 && test_now_ms () < deadline) {
        json_t *list = s_call ("DLQ_LIST", "{\"origin\":\"failing-handler\"}", "DLQ");
        dead = json_array_size (json_object_get (list, "items"));
        json_decref (list);
    }
    assert (dead == 1);
    assert (zeb_node_off (s_node, "inventory-handler") == 0);
    assert (zeb_node_off (s_node, "failing-handler") == 0);
    assert (zeb_node_off (s_node, "failing-handler") == ZEB_ENOTFOUND);
    //  Back on: its cursor says the event was handled; a new one is
    retrying.fail_first = 0;
    int before = retrying.calls;
    assert (zeb_node_on (s_node, "inventory.", s_handler, &retrying, &options, &fault) == 0);
    event = test_event_new ("inventory.product.created", "outbox-test", 2, NULL);
    assert (zeb_client_publish (client, event, NULL) == 0);
    zeb_event_destroy (&event);
    calls.calls = before + 1;
    assert (test_wait_until (s_called, &calls, 10000));
    assert (zeb_node_off (s_node, "inventory-handler") == 0);
    assert (retrying.calls == before + 1);
    zeb_client_destroy (&client);
}

//  A subscription: events of a prefix become webhook runs
static void
s_test_subscribe (void)
{
    receiver_t *receiver = receiver_new ();
    char *url = s_url (receiver, "/orders");
    json_t *config = json_pack ("{s:s}", "url", url);
    zeb_fault_t fault;
    assert (zeb_node_subscribe (s_node, "orders-endpoint", "shipment.", "webhook", config, &fault) == 0);
    json_decref (config);
    zeb_client_t *client = zeb_client_new (zeb_node_endpoint (s_node, "ingest"));
    for (int index = 0; index < 5; index++) {
        zeb_event_t *event = test_event_new ("shipment.sent", "outbox-test", index, NULL);
        assert (zeb_client_publish (client, event, NULL) == 0);
        zeb_event_destroy (&event);
    }
    zeb_event_t *other = test_event_new ("invoice.sent", "outbox-test", 9, NULL);
    assert (zeb_client_publish (client, other, NULL) == 0);
    zeb_event_destroy (&other);
    assert (receiver_wait_count (receiver, 5, 10000));
    for (size_t index = 0; index < 5; index++) {
        receiver_request_t request;
        assert (receiver_request (receiver, index, &request));
        json_t *body = json_loads (request.body, 0, NULL);
        assert (body && streq (json_string_value (json_object_get (body, "type")), "shipment.sent"));
        json_decref (body);
        char webhook_id [80];
        assert (receiver_request_header (&request, "webhook-id", webhook_id, sizeof (webhook_id)));
        receiver_request_reset (&request);
    }
    json_t *logs = s_call ("LOGS", "{\"origin\":\"orders-endpoint\"}", "LOGS");
    int64_t deadline = test_now_ms () + 5000;
    while (json_array_size (json_object_get (logs, "items")) < 5 && test_now_ms () < deadline) {
        json_decref (logs);
        logs = s_call ("LOGS", "{\"origin\":\"orders-endpoint\"}", "LOGS");
    }
    assert (json_array_size (json_object_get (logs, "items")) == 5);
    json_decref (logs);
    assert (zeb_node_off (s_node, "orders-endpoint") == 0);
    assert (receiver_count (receiver) == 5);
    zeb_client_destroy (&client);
    zstr_free (&url);
    receiver_destroy (&receiver);
}

//  An application's own action type, by C callback
static int
s_send_message (zeb_event_t *event, json_t *config, const char **error, void *arg)
{
    int *calls = (int *) arg;
    const char *to = json_string_value (json_object_get (config, "to"));
    if (!to) {
        *error = "no to";
        return ZEB_HANDLER_FAIL;
    }
    (*calls)++;
    return ZEB_HANDLED;
}

static void
s_test_action (void)
{
    static int calls = 0;
    zeb_fault_t fault;
    assert (zeb_node_register_action (s_node, "send_message", s_send_message, &calls, 4, &fault) == 0);
    char *run = s_run ("messages", "m-1", NULL,
                       "[{\"type\":\"send_message\",\"config\":{\"to\":\"+1555\",\"content\":\"hi\"}}]");
    char id [33];
    s_enqueue (run, id);
    zstr_free (&run);
    s_wait_state (id, "done", 10000);
    assert (calls == 1);
    run = s_run ("messages", "m-2", NULL, "[{\"type\":\"send_message\",\"config\":{}}]");
    s_enqueue (run, id);
    zstr_free (&run);
    s_wait_state (id, "dead", 10000);
    json_t *shown = s_show (id);
    assert (streq (json_string_value (json_object_get (shown, "error")), "no to"));
    json_decref (shown);
}

//  An action type no executor serves: the run waits, visible in STATS, and
//  is dead-lettered NO_EXECUTOR after outbox/no_executor_timeout (2 s here)
static void
s_test_no_executor (void)
{
    char *run = s_run ("nobody", "n-1", NULL, "[{\"type\":\"nobody_serves\",\"config\":{}}]");
    char id [33];
    s_enqueue (run, id);
    zstr_free (&run);
    char *text = zeb_node_stats (s_node, "outbox");
    json_t *stats = json_loads (text, 0, NULL);
    free (text);
    json_t *kind = json_object_get (json_object_get (stats, "actions"), "nobody_serves");
    assert (json_integer_value (json_object_get (kind, "waiting")) == 1);
    assert (json_integer_value (json_object_get (kind, "workers")) == 0);
    json_decref (stats);
    s_wait_state (id, "dead", 10000);
    json_t *shown = s_show (id);
    assert (streq (json_string_value (json_object_get (shown, "reason")), "NO_EXECUTOR"));
    json_decref (shown);
}

//  A worker over tcp that vanishes mid-job: its job goes to another at once
static void
s_test_worker_killed (void)
{
    const char *workers = zeb_node_endpoint (s_node, "workers");
    assert (strncmp (workers, "tcp://", 6) == 0);
    zsock_t *first = zsock_new_dealer (workers);
    zmsg_t *msg = zmsg_new ();
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    const char *ready = "{\"actions\":[\"trigger_agent\"],\"credit\":1}";
    zeb_json_pack_text (ready, strlen (ready), &body, NULL);
    zmsg_addstr (msg, "READY");
    zmsg_addmem (msg, body.data, body.size);
    zmsg_send (&msg, first);
    char *run = s_run ("agents", "ag-1", NULL,
                       "[{\"type\":\"trigger_agent\",\"config\":{},\"retryPolicy\":{\"timeout\":60000}}]");
    char id [33];
    s_enqueue (run, id);
    zstr_free (&run);
    zsock_set_rcvtimeo (first, 10000);
    msg = zmsg_recv (first);
    assert (msg);
    char *command = zmsg_popstr (msg);
    assert (streq (command, "JOB"));
    zstr_free (&command);
    zmsg_destroy (&msg);
    int64_t killed = zeb_time_mono_us ();
    zsock_destroy (&first);
    zsock_t *second = zsock_new_dealer (workers);
    msg = zmsg_new ();
    zmsg_addstr (msg, "READY");
    zmsg_addmem (msg, body.data, body.size);
    zmsg_send (&msg, second);
    zsock_set_rcvtimeo (second, 10000);
    msg = zmsg_recv (second);
    assert (msg);
    command = zmsg_popstr (msg);
    assert (streq (command, "JOB"));
    //  Long before its 60 s timeout
    assert (zeb_time_mono_us () - killed < 10000000);
    zframe_t *frame = zmsg_pop (msg);
    json_t *job = zeb_json_from_msgpack (zframe_data (frame), zframe_size (frame), NULL);
    assert (json_integer_value (json_object_get (job, "attempt")) == 2);
    char result [256];
    snprintf (result, sizeof (result), "{\"id\":\"%s\",\"status\":\"ok\"}",
              json_string_value (json_object_get (job, "id")));
    msgpack_sbuffer_clear (&body);
    zeb_json_pack_text (result, strlen (result), &body, NULL);
    zmsg_t *reply = zmsg_new ();
    zmsg_addstr (reply, "RESULT");
    zmsg_addmem (reply, body.data, body.size);
    zmsg_send (&reply, second);
    s_wait_state (id, "done", 10000);
    json_decref (job);
    zframe_destroy (&frame);
    zstr_free (&command);
    zmsg_destroy (&msg);
    msgpack_sbuffer_destroy (&body);
    zsock_destroy (&second);
}

//  The default denies loopback and private networks: a node of its own
static void
s_test_ssrf (void)
{
    char dir [256];
    test_tempdir (dir, sizeof (dir));
    zeb_fault_t fault;
    zconfig_t *settings = zconfig_new ("root", NULL);
    zconfig_put (settings, "outbox/executors", "webhook");
    zeb_node_t *node = zeb_node_new_embedded_with (dir, settings, &fault);
    assert (node);
    zconfig_destroy (&settings);
    receiver_t *receiver = receiver_new ();
    char *url = s_url (receiver, "/private");
    zsock_t *saved = s_outbox;
    s_outbox = zsock_new_dealer (zeb_node_endpoint (node, "outbox"));
    char *actions = zsys_sprintf ("[{\"type\":\"webhook\",\"config\":{\"url\":\"%s\"}}]", url);
    char *run = s_run ("ssrf", "s-1", NULL, actions);
    char id [33];
    s_enqueue (run, id);
    s_wait_state (id, "dead", 10000);
    json_t *shown = s_show (id);
    const char *error = json_string_value (json_object_get (shown, "error"));
    assert (error && strstr (error, "denied"));
    json_decref (shown);
    assert (receiver_count (receiver) == 0);
    zsock_destroy (&s_outbox);
    s_outbox = saved;
    zstr_free (&run);
    zstr_free (&actions);
    zstr_free (&url);
    receiver_destroy (&receiver);
    zeb_node_destroy (&node);
    test_rmtree (dir);
}

static const test_case_t s_cases [] = {
    { "ordered", s_test_ordered },
    { "continue_on_error", s_test_continue_on_error },
    { "retries", s_test_retries },
    { "retry_after", s_test_retry_after },
    { "timeout", s_test_timeout },
    { "circuit", s_test_circuit },
    { "concurrency", s_test_concurrency },
    { "rate", s_test_rate },
    { "fifo", s_test_fifo },
    { "slow_target", s_test_slow_target },
    { "dlq", s_test_dlq },
    { "gone", s_test_gone },
    { "emit", s_test_emit },
    { "handlers", s_test_handlers },
    { "subscribe", s_test_subscribe },
    { "action", s_test_action },
    { "no_executor", s_test_no_executor },
    { "worker_killed", s_test_worker_killed },
    { "ssrf", s_test_ssrf },
};

int
main (int argc, char *argv [])
{
    zsys_init ();
    zeb_set_quiet (true);
    test_tempdir (s_dir, sizeof (s_dir));
    zconfig_t *settings = zconfig_new ("root", NULL);
    zconfig_put (settings, "outbox/executors", "webhook,emit_event,log");
    zconfig_put (settings, "outbox/workers", "tcp://127.0.0.1:*");
    zconfig_put (settings, "webhook/allow", "127.0.0.1/32");
    zconfig_put (settings, "outbox/backoff", "50ms");
    zconfig_put (settings, "outbox/circuit_threshold", "3");
    zconfig_put (settings, "outbox/circuit_recovery", "500ms");
    zconfig_put (settings, "outbox/lease_grace", "200ms");
    zconfig_put (settings, "outbox/no_executor_timeout", "2s");
    zeb_fault_t fault;
    s_node = zeb_node_new_embedded_with (s_dir, settings, &fault);
    if (!s_node)
        fprintf (stderr, "node: %s\n", fault.text);
    assert (s_node);
    zconfig_destroy (&settings);
    s_outbox = zsock_new_dealer (zeb_node_endpoint (s_node, "outbox"));
    assert (s_outbox);
    test_run_cases (s_cases, sizeof (s_cases) / sizeof (s_cases [0]), argc > 1? argv [1]: NULL);
    zsock_destroy (&s_outbox);
    zeb_node_destroy (&s_node);
    test_rmtree (s_dir);
    return 0;
}
