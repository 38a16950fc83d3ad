/*  =========================================================================
    zeb_outbox_test - the outbox's self-test (zeb_outbox_test in
    zeb_outbox.h): the actor alone, spoken to over its endpoints
    =========================================================================
*/

#include "zeb_outbox_int.h"

//  ---------------------------------------------------------------------
//  Self test: the actor alone, with a worker played by the test over the
//  worker protocol (tests/outbox_test.c runs it with real executors)

static void
s_test_send (zsock_t *socket, const char *command, const char *json)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    int rc = zeb_json_pack_text (json, strlen (json), &buffer, NULL);
    assert (rc == 0);
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, command);
    zmsg_addmem (msg, buffer.data, buffer.size);
    zmsg_send (&msg, socket);
    msgpack_sbuffer_destroy (&buffer);
}

//  The next message (command into command), its body as JSON; NULL on timeout
static json_t *
s_test_recv (zsock_t *socket, char *command, int timeout_ms)
{
    zsock_set_rcvtimeo (socket, timeout_ms);
    zmsg_t *msg = zmsg_recv (socket);
    if (!msg)
        return NULL;
    char *name = zmsg_popstr (msg);
    snprintf (command, 32, "%s", name);
    zstr_free (&name);
    zframe_t *frame = zmsg_pop (msg);
    json_t *json = zeb_json_from_msgpack (zframe_data (frame), zframe_size (frame), NULL);
    assert (json);
    zframe_destroy (&frame);
    zmsg_destroy (&msg);
    return json;
}

static json_t *
s_test_call (zsock_t *client, const char *command, const char *json, const char *expected)
{
    s_test_send (client, command, json);
    char got [32];
    json_t *reply = s_test_recv (client, got, 5000);
    assert (reply);
    if (!streq (got, expected)) {
        char *text = json_dumps (reply, JSON_COMPACT);
        fprintf (stderr, "%s %s: expected %s, got %s %s\n", command, json, expected, got, text);
        free (text);
    }
    assert (streq (got, expected));
    return reply;
}

//  The worker's next JOB, or NULL within timeout_ms
static json_t *
s_test_job (zsock_t *worker, int timeout_ms)
{
    char command [32];
    json_t *job = s_test_recv (worker, command, timeout_ms);
    while (job && !streq (command, "JOB")) {
        json_decref (job);
        job = s_test_recv (worker, command, timeout_ms);
    }
    return job;
}

static void
s_test_result (zsock_t *worker, json_t *job, const char *status, const char *extra)
{
    char json [512];
    snprintf (json, sizeof (json), "{\"id\":\"%s\",\"status\":\"%s\"%s%s}",
              json_string_value (json_object_get (job, "id")), status, extra? ",": "", extra? extra: "");
    s_test_send (worker, "RESULT", json);
}

static zactor_t *
s_test_start (const char *dir, const char *extra [], char *endpoint, char *workers)
{
    zconfig_t *config = zconfig_new ("root", NULL);
    zconfig_put (config, "node/data", dir);
    zconfig_put (config, "outbox/executors", "");
    char *name = zeb_actor_inproc ("outbox-test");
    zconfig_put (config, "outbox/endpoint", name);
    zstr_free (&name);
    name = zeb_actor_inproc ("outbox-test-workers");
    zconfig_put (config, "outbox/workers", name);
    zstr_free (&name);
    zconfig_put (config, "outbox/backoff", "10ms");
    zconfig_put (config, "outbox/backoff_jitter", "false");
    for (size_t index = 0; extra && extra [index]; index += 2)
        zconfig_put (config, extra [index], extra [index + 1]);
    zactor_t *outbox = zactor_new (zeb_actor_main, (void *) &zeb_outbox_def);
    zhashx_t *endpoints = zhashx_new ();
    zhashx_set_destructor (endpoints, (zhashx_destructor_fn *) zstr_free);
    zhashx_set_duplicator (endpoints, (zhashx_duplicator_fn *) strdup);
    zeb_fault_t fault;
    int rc = zeb_actor_start (outbox, config, endpoints, &fault);
    if (rc)
        fprintf (stderr, "outbox: %s\n", fault.text);
    assert (rc == 0);
    snprintf (endpoint, 128, "%s", (char *) zhashx_lookup (endpoints, "outbox"));
    snprintf (workers, 128, "%s", (char *) zhashx_lookup (endpoints, "workers"));
    zhashx_destroy (&endpoints);
    zconfig_destroy (&config);
    return outbox;
}

static const char *
s_test_state (zsock_t *client, const char *id)
{
    static char state [32];
    char json [128];
    snprintf (json, sizeof (json), "{\"id\":\"%s\"}", id);
    json_t *run = s_test_call (client, "RUN", json, "RUN");
    snprintf (state, sizeof (state), "%s", json_string_value (json_object_get (run, "state")));
    json_decref (run);
    return state;
}

//  ---------------------------------------------------------------------
//  Log retention: outbox/log_max per origin, outbox/log_retention by age

//  The entries LOGS returns for origin (or type), newest first, at most 1000
static json_t *
s_test_logs (zsock_t *client, const char *field, const char *value)
{
    char json [256];
    snprintf (json, sizeof (json), "{\"%s\":\"%s\",\"limit\":1000}", field, value);
    json_t *reply = s_test_call (client, "LOGS", json, "LOGS");
    json_t *items = json_incref (json_object_get (reply, "items"));
    json_decref (reply);
    return items;
}

//  Enqueue a run that only writes its log (status skipped), wait until
//  LOGS shows it, then until the clock is past its createdAt, so that
//  every entry of the test has a time of its own. Returns its createdAt.
static int64_t
s_test_logged (zsock_t *client, const char *origin, const char *event)
{
    char json [512];
    snprintf (json, sizeof (json), "{\"runs\":[{\"origin\":\"%s\",\"conditionsMatched\":false,\"actions\":[],"
              "\"event\":{\"id\":\"%s\",\"type\":\"order.placed\",\"source\":\"shop\",\"sequence\":1}}]}",
              origin, event);
    json_decref (s_test_call (client, "ENQUEUE", json, "ENQUEUED"));
    int64_t deadline = zeb_time_mono_us () / 1000 + 5000, created = 0;
    while (!created) {
        json_t *items = s_test_logs (client, "origin", origin);
        json_t *newest = json_array_get (items, 0);
        if (newest && streq (json_string_value (json_object_get (newest, "eventId")), event))
            created = json_integer_value (json_object_get (newest, "createdAt"));
        json_decref (items);
        assert (created || zeb_time_mono_us () / 1000 < deadline);
    }
    while (zeb_time_now () <= created)
        ;
    return created;
}

//  True if LOGS for origin holds exactly the events listed, newest first
static bool
s_test_logs_are (zsock_t *client, const char *origin, const char *events [])
{
    json_t *items = s_test_logs (client, "origin", origin);
    size_t count = 0;
    while (events [count])
        count++;
    bool same = json_array_size (items) == count;
    for (size_t index = 0; same && index < count; index++)
        same = streq (json_string_value (json_object_get (json_array_get (items, index), "eventId")),
                      events [index]);
    json_decref (items);
    return same;
}

//  Wait (deadline 5 s) until LOGS for origin holds exactly those events
static void
s_test_wait_logs (zsock_t *client, const char *origin, const char *events [])
{
    int64_t deadline = zeb_time_mono_us () / 1000 + 5000;
    while (!s_test_logs_are (client, origin, events)) {
        if (zeb_time_mono_us () / 1000 >= deadline) {
            json_t *items = s_test_logs (client, "origin", origin);
            char *text = json_dumps (items, JSON_COMPACT);
            fprintf (stderr, "outbox: LOGS %s after 5 s: %s\n", origin, text);
            free (text);
            json_decref (items);
        }
        assert (zeb_time_mono_us () / 1000 < deadline);
    }
}

//  Entries of each log database (logs, logs_type, logs_time), read
//  through the store's environment, shared with the running actor
static void
s_test_log_entries (const char *dir, size_t *logs, size_t *by_type, size_t *by_time)
{
    zeb_lmdb_options_t options = { 0, 0, { ZEB_OUTBOX_DBS, NULL } };
    char *path = zsys_sprintf ("%s/outbox", dir);
    zeb_fault_t fault;
    zeb_lmdb_t *lmdb = zeb_lmdb_open (path, &options, &fault);
    zstr_free (&path);
    assert (lmdb);
    MDB_txn *txn;
    int rc = zeb_lmdb_read_begin (lmdb, &txn);
    assert (rc == 0);
    MDB_stat stat;
    mdb_stat (txn, zeb_lmdb_dbi (lmdb, S_LOGS), &stat);
    *logs = stat.ms_entries;
    mdb_stat (txn, zeb_lmdb_dbi (lmdb, S_LOGS_TYPE), &stat);
    *by_type = stat.ms_entries;
    mdb_stat (txn, zeb_lmdb_dbi (lmdb, S_LOGS_TIME), &stat);
    *by_time = stat.ms_entries;
    zeb_lmdb_read_end (lmdb, txn);
    zeb_lmdb_close (&lmdb);
}

static void
s_test_log_retention (void)
{
    char dir [] = "/tmp/zeb-outbox-logs-XXXXXX";
    assert (mkdtemp (dir));
    char endpoint [128], workers [128];
    size_t logs, by_type, by_time;

    //  At most log_max per origin, the newest: the others go from LOGS
    //  and from both indexes
    const char *at_most_3 [] = { "outbox/log_max", "3", "outbox/upkeep_interval", "20ms", NULL };
    zactor_t *outbox = s_test_start (dir, at_most_3, endpoint, workers);
    zsock_t *client = zsock_new_dealer (endpoint);
    assert (client);
    s_test_logged (client, "mixed", "m-1");
    s_test_logged (client, "lm-b", "b-1");
    s_test_logged (client, "lm-b", "b-2");
    const char *a [] = { "a-1", "a-2", "a-3", "a-4", "a-5" };
    int64_t newest = 0;                 //  of the entries so far
    for (size_t index = 0; index < 5; index++)
        newest = s_test_logged (client, "lm-a", a [index]);
    const char *lm_a [] = { "a-5", "a-4", "a-3", NULL }, *lm_b [] = { "b-2", "b-1", NULL };
    s_test_wait_logs (client, "lm-a", lm_a);
    assert (s_test_logs_are (client, "lm-b", lm_b));
    json_t *items = s_test_logs (client, "type", "order.placed");
    assert (json_array_size (items) == 6);      //  m-1, b-1, b-2, a-3, a-4, a-5
    json_decref (items);
    s_test_log_entries (dir, &logs, &by_type, &by_time);
    assert (logs == 6 && by_type == 6 && by_time == 6);
    zsock_destroy (&client);
    zactor_destroy (&outbox);

    //  Four more for "mixed", once every entry so far is more than a
    //  second old; no log_max here
    const char *no_max [] = { "outbox/upkeep_interval", "20ms", NULL };
    outbox = s_test_start (dir, no_max, endpoint, workers);
    client = zsock_new_dealer (endpoint);
    int64_t deadline = zeb_time_mono_us () / 1000 + 5000;
    while (zeb_time_now () <= newest + 1000)
        assert (zeb_time_mono_us () / 1000 < deadline);
    const char *m [] = { "m-2", "m-3", "m-4", "m-5" };
    for (size_t index = 0; index < 4; index++)
        s_test_logged (client, "mixed", m [index]);
    zsock_destroy (&client);
    zactor_destroy (&outbox);

    //  Retention 1 s and log_max 3 in one sweep, the first after the
    //  restart: m-1 (and every lm-*) goes by age, m-2 by count; m-3..m-5
    //  stay, exactly 3. Then, past their second, they go too.
    const char *both [] = { "outbox/log_max", "3", "outbox/log_retention", "1s",
                            "outbox/upkeep_interval", "20ms", NULL };
    outbox = s_test_start (dir, both, endpoint, workers);
    client = zsock_new_dealer (endpoint);
    const char *mixed [] = { "m-5", "m-4", "m-3", NULL }, *none [] = { NULL };
    s_test_wait_logs (client, "mixed", mixed);
    assert (s_test_logs_are (client, "lm-a", none));
    assert (s_test_logs_are (client, "lm-b", none));
    s_test_wait_logs (client, "mixed", none);
    items = s_test_logs (client, "type", "order.placed");
    assert (json_array_size (items) == 0);
    json_decref (items);
    s_test_log_entries (dir, &logs, &by_type, &by_time);
    assert (logs == 0 && by_type == 0 && by_time == 0);
    zsock_destroy (&client);
    zactor_destroy (&outbox);
    char *command_line = zsys_sprintf ("rm -rf %s", dir);
    int rc = system (command_line);
    assert (rc == 0);
    zstr_free (&command_line);
}

#define S_TEST_EVENT(id) "{\"id\":\"" id "\",\"type\":\"order.placed\",\"source\":\"shop\",\"sequence\":1}"

//  ---------------------------------------------------------------------
//  A store that cannot take a turn's writes: ENQUEUE gets STORAGE_FULL,
//  its runs are not kept, and what was stored before stays

static void
s_test_storage_full (void)
{
    char dir [] = "/tmp/zeb-outbox-full-XXXXXX";
    assert (mkdtemp (dir));
    char endpoint [128], workers [128];
    const char *small [] = { "outbox/max_size", "256K", NULL };
    zactor_t *outbox = s_test_start (dir, small, endpoint, workers);
    zsock_t *client = zsock_new_dealer (endpoint);
    assert (client);
    json_t *reply = s_test_call (client, "ENQUEUE", "{\"runs\":[{\"origin\":\"full\",\"event\":"
                                 S_TEST_EVENT ("f-0") ",\"actions\":[{\"type\":\"t.f\"}]}]}", "ENQUEUED");
    char first [33];
    snprintf (first, sizeof (first), "%s", json_string_value (json_array_get (json_object_get (reply, "ids"), 0)));
    json_decref (reply);
    //  Runs of 20 events of ~4 KiB each, until the store is full
    char *pad = (char *) malloc (4001);
    assert (pad);
    memset (pad, 'x', 4000);
    pad [4000] = 0;
    bool full = false;
    for (int batch = 0; batch < 100 && !full; batch++) {
        char *json = strdup ("{\"runs\":[");
        for (int index = 0; index < 20; index++) {
            char *next = zsys_sprintf ("%s%s{\"origin\":\"full\",\"event\":{\"id\":\"f-%d-%d\",\"type\":\"t\","
                                       "\"source\":\"s\",\"sequence\":1,\"data\":\"%s\"},"
                                       "\"actions\":[{\"type\":\"t.f\"}]}", json, index? ",": "", batch, index, pad);
            free (json);
            json = next;
        }
        char *body = zsys_sprintf ("%s]}", json);
        free (json);
        s_test_send (client, "ENQUEUE", body);
        free (body);
        char command [32];
        reply = s_test_recv (client, command, 5000);
        assert (reply);
        if (streq (command, "NACK")) {
            assert (streq (json_string_value (json_object_get (reply, "reason")), "STORAGE_FULL"));
            full = true;
        }
        else
            assert (streq (command, "ENQUEUED"));
        json_decref (reply);
        if (full) {
            //  The refused runs are not kept: RUN does not know them
            char id [33], key [32];
            snprintf (key, sizeof (key), "f-%d-0", batch);
            zeb_outbox_run_id ("full", key, 1, id);     //  the event's sequence
            char json_id [64];
            snprintf (json_id, sizeof (json_id), "{\"id\":\"%s\"}", id);
            json_decref (s_test_call (client, "RUN", json_id, "NACK"));
        }
    }
    free (pad);
    assert (full);
    //  What was acknowledged before is still there
    assert (streq (s_test_state (client, first), "pending"));
    zsock_destroy (&client);
    zactor_destroy (&outbox);
    char *command_line = zsys_sprintf ("rm -rf %s", dir);
    int rc = system (command_line);
    assert (rc == 0);
    zstr_free (&command_line);
}

void
zeb_outbox_test (bool verbose)
{
    printf (" * zeb_outbox: ");
    char dir [] = "/tmp/zeb-outbox-test-XXXXXX";
    assert (mkdtemp (dir));
    const char *extra [] = { "outbox/circuit_threshold", "3", "outbox/circuit_recovery", "300ms",
                             "outbox/lease_grace", "0", NULL };
    char endpoint [128], workers [128];
    zactor_t *outbox = s_test_start (dir, extra, endpoint, workers);
    zsock_t *client = zsock_new_dealer (endpoint);
    zsock_t *worker = zsock_new_dealer (workers);
    assert (client && worker);

    //  Stored once: the same run enqueued twice
    const char *run = "{\"runs\":[{\"origin\":\"rule-1\",\"event\":" S_TEST_EVENT ("e-1") ","
                      "\"actions\":[{\"type\":\"t.a\",\"config\":{\"n\":1}},{\"type\":\"t.a\",\"config\":{\"n\":2}}]}]}";
    json_t *reply = s_test_call (client, "ENQUEUE", run, "ENQUEUED");
    char id [33];
    snprintf (id, sizeof (id), "%s", json_string_value (json_array_get (json_object_get (reply, "ids"), 0)));
    char expected [33];
    zeb_outbox_run_id ("rule-1", "e-1", 1, expected);
    assert (streq (id, expected));
    assert (json_is_true (json_array_get (json_object_get (reply, "new"), 0)));
    json_decref (reply);
    reply = s_test_call (client, "ENQUEUE", run, "ENQUEUED");
    assert (json_is_false (json_array_get (json_object_get (reply, "new"), 0)));
    json_decref (reply);
    assert (streq (s_test_state (client, id), "pending"));

    //  A worker comes: the actions go in order, each with its stable key
    s_test_send (worker, "READY", "{\"actions\":[\"t.a\"],\"credit\":4,\"name\":\"test\"}");
    json_t *job = s_test_job (worker, 5000);
    assert (job);
    char key [64];
    snprintf (key, sizeof (key), "%s-0", id);
    assert (streq (json_string_value (json_object_get (job, "key")), key));
    assert (json_integer_value (json_object_get (json_object_get (job, "config"), "n")) == 1);
    assert (json_integer_value (json_object_get (job, "attempt")) == 1);
    assert (streq (json_string_value (json_object_get (json_object_get (job, "event"), "id")), "e-1"));
    //  The second waits for the first
    assert (s_test_job (worker, 50) == NULL);
    s_test_result (worker, job, "ok", "\"result\":{\"status\":200}");
    json_decref (job);
    job = s_test_job (worker, 5000);
    assert (job && json_integer_value (json_object_get (json_object_get (job, "config"), "n")) == 2);
    s_test_result (worker, job, "ok", NULL);
    json_decref (job);
    int64_t deadline = zeb_time_mono_us () / 1000 + 5000;
    while (!streq (s_test_state (client, id), "done"))
        assert (zeb_time_mono_us () / 1000 < deadline);
    reply = s_test_call (client, "LOGS", "{\"origin\":\"rule-1\"}", "LOGS");
    json_t *entry = json_array_get (json_object_get (reply, "items"), 0);
    assert (json_array_size (json_object_get (reply, "items")) == 1);
    assert (streq (json_string_value (json_object_get (entry, "status")), "success"));
    assert (json_array_size (json_object_get (entry, "actionsExecuted")) == 2);
    json_decref (reply);
    reply = s_test_call (client, "LOGS", "{\"type\":\"order.placed\"}", "LOGS");
    assert (json_array_size (json_object_get (reply, "items")) == 1);
    json_decref (reply);

    //  A producer's cursor goes with its runs
    run = "{\"cursor\":{\"name\":\"feed-1\",\"position\":42},\"runs\":[{\"origin\":\"rule-1\",\"event\":"
          S_TEST_EVENT ("e-1") ",\"actions\":[{\"type\":\"t.a\"}]}]}";
    reply = s_test_call (client, "ENQUEUE", run, "ENQUEUED");
    assert (json_is_false (json_array_get (json_object_get (reply, "new"), 0)));
    json_decref (reply);
    reply = s_test_call (client, "CURSOR", "{\"name\":\"feed-1\"}", "CURSOR");
    assert (json_integer_value (json_object_get (reply, "position")) == 42);
    json_decref (reply);
    reply = s_test_call (client, "CURSOR", "{\"name\":\"feed-2\"}", "CURSOR");
    assert (json_integer_value (json_object_get (reply, "position")) == 0);
    json_decref (reply);
    json_decref (s_test_call (client, "ENQUEUE", "{\"cursor\":{\"name\":\"x\"},\"runs\":[]}", "NACK"));

    //  Retries with the same key, then the DLQ; a replay starts over
    run = "{\"runs\":[{\"origin\":\"rule-2\",\"event\":" S_TEST_EVENT ("e-2") ","
          "\"actions\":[{\"type\":\"t.a\",\"target\":\"other\",\"retryPolicy\":{\"maxAttempts\":3}}]}]}";
    reply = s_test_call (client, "ENQUEUE", run, "ENQUEUED");
    snprintf (id, sizeof (id), "%s", json_string_value (json_array_get (json_object_get (reply, "ids"), 0)));
    json_decref (reply);
    for (int attempt = 1; attempt <= 3; attempt++) {
        job = s_test_job (worker, 5000);
        assert (job && json_integer_value (json_object_get (job, "attempt")) == attempt);
        snprintf (key, sizeof (key), "%s-0", id);
        assert (streq (json_string_value (json_object_get (job, "key")), key));
        s_test_result (worker, job, "retry", "\"error\":\"HTTP 503\",\"code\":503");
        json_decref (job);
    }
    deadline = zeb_time_mono_us () / 1000 + 5000;
    while (!streq (s_test_state (client, id), "dead"))
        assert (zeb_time_mono_us () / 1000 < deadline);
    reply = s_test_call (client, "DLQ_LIST", "{\"origin\":\"rule-2\"}", "DLQ");
    entry = json_array_get (json_object_get (reply, "items"), 0);
    assert (json_array_size (json_object_get (reply, "items")) == 1);
    assert (streq (json_string_value (json_object_get (entry, "reason")), "RETRIES_EXHAUSTED"));
    assert (streq (json_string_value (json_object_get (entry, "error")), "HTTP 503"));
    assert (json_integer_value (json_object_get (entry, "attempts")) == 3);
    json_decref (reply);
    char body [128];
    snprintf (body, sizeof (body), "{\"id\":\"%s\"}", id);
    reply = s_test_call (client, "DLQ_SHOW", body, "DEAD");
    assert (json_array_size (json_object_get (json_array_get (json_object_get (json_object_get (reply, "run"),
            "actions"), 0), "attempts")) == 3);
    json_decref (reply);
    reply = s_test_call (client, "DLQ_REPLAY", body, "REPLAYED");
    assert (json_integer_value (json_object_get (reply, "count")) == 1);
    json_decref (reply);
    job = s_test_job (worker, 5000);
    assert (job && json_integer_value (json_object_get (job, "attempt")) == 1);
    s_test_result (worker, job, "ok", NULL);
    json_decref (job);
    deadline = zeb_time_mono_us () / 1000 + 5000;
    while (!streq (s_test_state (client, id), "done"))
        assert (zeb_time_mono_us () / 1000 < deadline);
    reply = s_test_call (client, "DLQ_LIST", "{}", "DLQ");
    assert (json_array_size (json_object_get (reply, "items")) == 0);
    json_decref (reply);

    //  continueOnError false: a failure skips the rest; purge
    run = "{\"runs\":[{\"origin\":\"rule-3\",\"event\":" S_TEST_EVENT ("e-3") ",\"continueOnError\":false,"
          "\"actions\":[{\"type\":\"t.a\",\"target\":\"third\"},{\"type\":\"t.a\",\"target\":\"third\"}]}]}";
    reply = s_test_call (client, "ENQUEUE", run, "ENQUEUED");
    snprintf (id, sizeof (id), "%s", json_string_value (json_array_get (json_object_get (reply, "ids"), 0)));
    json_decref (reply);
    job = s_test_job (worker, 5000);
    s_test_result (worker, job, "fail", "\"error\":\"HTTP 400\",\"code\":400");
    json_decref (job);
    assert (s_test_job (worker, 100) == NULL);
    deadline = zeb_time_mono_us () / 1000 + 5000;
    while (!streq (s_test_state (client, id), "dead"))
        assert (zeb_time_mono_us () / 1000 < deadline);
    snprintf (body, sizeof (body), "{\"id\":\"%s\"}", id);
    reply = s_test_call (client, "DLQ_SHOW", body, "DEAD");
    assert (streq (json_string_value (json_object_get (reply, "reason")), "FAILED"));
    json_t *actions = json_object_get (json_object_get (reply, "run"), "actions");
    assert (streq (json_string_value (json_object_get (json_array_get (actions, 1), "state")), "skipped"));
    json_decref (reply);
    reply = s_test_call (client, "LOGS", "{\"origin\":\"rule-3\"}", "LOGS");
    entry = json_array_get (json_object_get (reply, "items"), 0);
    assert (streq (json_string_value (json_object_get (entry, "status")), "failed"));
    json_decref (reply);
    reply = s_test_call (client, "DLQ_PURGE", body, "PURGED");
    assert (json_integer_value (json_object_get (reply, "count")) == 1);
    json_decref (reply);
    reply = s_test_call (client, "RUN", body, "NACK");
    assert (streq (json_string_value (json_object_get (reply, "reason")), "NOT_FOUND"));
    json_decref (reply);

    //  A lease that runs out is a lost attempt: the job comes again
    run = "{\"runs\":[{\"origin\":\"rule-4\",\"event\":" S_TEST_EVENT ("e-4") ","
          "\"actions\":[{\"type\":\"t.a\",\"target\":\"fourth\",\"retryPolicy\":{\"timeout\":50}}]}]}";
    json_decref (s_test_call (client, "ENQUEUE", run, "ENQUEUED"));
    job = s_test_job (worker, 5000);
    assert (job && json_integer_value (json_object_get (job, "attempt")) == 1);
    json_t *again = s_test_job (worker, 5000);
    assert (again && json_integer_value (json_object_get (again, "attempt")) == 2);
    //  The late result of the first attempt is ignored
    s_test_result (worker, job, "ok", NULL);
    s_test_result (worker, again, "ok", NULL);
    json_decref (job);
    json_decref (again);

    //  Circuit: three failures open it; the next run waits without spending
    //  attempts; after the recovery one probe goes, and success closes it
    //  and redrives the run that died of it
    run = "{\"runs\":[{\"origin\":\"c\",\"event\":" S_TEST_EVENT ("c-1") ","
          "\"actions\":[{\"type\":\"t.a\",\"target\":\"flaky\",\"retryPolicy\":{\"maxAttempts\":1}}]},"
          "{\"origin\":\"c\",\"event\":" S_TEST_EVENT ("c-2") ","
          "\"actions\":[{\"type\":\"t.a\",\"target\":\"flaky\",\"retryPolicy\":{\"maxAttempts\":1}}]},"
          "{\"origin\":\"c\",\"event\":" S_TEST_EVENT ("c-3") ","
          "\"actions\":[{\"type\":\"t.a\",\"target\":\"flaky\",\"retryPolicy\":{\"maxAttempts\":1}}]}]}";
    json_decref (s_test_call (client, "ENQUEUE", run, "ENQUEUED"));
    //  The circuit opens after the third failure is sent: a lower bound of
    //  its opening that does not depend on how long commits take
    int64_t open_at = 0;
    for (int count = 0; count < 3; count++) {
        job = s_test_job (worker, 5000);
        assert (job);
        open_at = zeb_time_mono_us ();
        s_test_result (worker, job, "retry", "\"error\":\"down\"");
        json_decref (job);
    }
    run = "{\"runs\":[{\"origin\":\"c\",\"event\":" S_TEST_EVENT ("c-4") ","
          "\"actions\":[{\"type\":\"t.a\",\"target\":\"flaky\"}]}]}";
    json_decref (s_test_call (client, "ENQUEUE", run, "ENQUEUED"));
    job = s_test_job (worker, 5000);
    assert (job);
    //  It came only after the recovery time, as attempt 1
    assert (zeb_time_mono_us () - open_at >= 250000);
    assert (json_integer_value (json_object_get (job, "attempt")) == 1);
    s_test_result (worker, job, "ok", NULL);
    json_decref (job);
    //  The three dead runs are redriven
    for (int count = 0; count < 3; count++) {
        job = s_test_job (worker, 5000);
        assert (job);
        s_test_result (worker, job, "ok", NULL);
        json_decref (job);
    }
    deadline = zeb_time_mono_us () / 1000 + 5000;
    while (true) {
        reply = s_test_call (client, "DLQ_LIST", "{\"origin\":\"c\"}", "DLQ");
        size_t left = json_array_size (json_object_get (reply, "items"));
        json_decref (reply);
        if (left == 0)
            break;
        assert (zeb_time_mono_us () / 1000 < deadline);
    }

    //  Flow control: at most 2 in flight for key k, and another key is
    //  not held up by it
    s_test_send (worker, "READY", "{\"actions\":[\"t.a\",\"t.c\"],\"credit\":10}");
    run = "{\"runs\":["
          "{\"origin\":\"f\",\"event\":" S_TEST_EVENT ("k-1") ",\"actions\":[{\"type\":\"t.c\",\"key\":\"k\",\"concurrency\":2}]},"
          "{\"origin\":\"f\",\"event\":" S_TEST_EVENT ("k-2") ",\"actions\":[{\"type\":\"t.c\",\"key\":\"k\",\"concurrency\":2}]},"
          "{\"origin\":\"f\",\"event\":" S_TEST_EVENT ("k-3") ",\"actions\":[{\"type\":\"t.c\",\"key\":\"k\",\"concurrency\":2}]}]}";
    json_decref (s_test_call (client, "ENQUEUE", run, "ENQUEUED"));
    json_t *first = s_test_job (worker, 5000);
    json_t *second = s_test_job (worker, 5000);
    assert (first && second);
    assert (s_test_job (worker, 100) == NULL);
    run = "{\"runs\":[{\"origin\":\"f\",\"event\":" S_TEST_EVENT ("o-1") ",\"actions\":[{\"type\":\"t.c\",\"key\":\"other\"}]}]}";
    json_decref (s_test_call (client, "ENQUEUE", run, "ENQUEUED"));
    job = s_test_job (worker, 5000);
    assert (job && streq (json_string_value (json_object_get (json_object_get (job, "event"), "id")), "o-1"));
    s_test_result (worker, job, "ok", NULL);
    json_decref (job);
    s_test_result (worker, first, "ok", NULL);
    job = s_test_job (worker, 5000);
    assert (job && streq (json_string_value (json_object_get (json_object_get (job, "event"), "id")), "k-3"));
    s_test_result (worker, job, "ok", NULL);
    s_test_result (worker, second, "ok", NULL);
    json_decref (job);
    json_decref (first);
    json_decref (second);

    //  Rate: 10 per second with a burst of 1: four runs take 300 ms at least
    run = "{\"runs\":["
          "{\"origin\":\"r\",\"event\":" S_TEST_EVENT ("r-1") ",\"actions\":[{\"type\":\"t.c\",\"key\":\"r\",\"rate\":10,\"burst\":1}]},"
          "{\"origin\":\"r\",\"event\":" S_TEST_EVENT ("r-2") ",\"actions\":[{\"type\":\"t.c\",\"key\":\"r\",\"rate\":10,\"burst\":1}]},"
          "{\"origin\":\"r\",\"event\":" S_TEST_EVENT ("r-3") ",\"actions\":[{\"type\":\"t.c\",\"key\":\"r\",\"rate\":10,\"burst\":1}]},"
          "{\"origin\":\"r\",\"event\":" S_TEST_EVENT ("r-4") ",\"actions\":[{\"type\":\"t.c\",\"key\":\"r\",\"rate\":10,\"burst\":1}]}]}";
    json_decref (s_test_call (client, "ENQUEUE", run, "ENQUEUED"));
    int64_t times [4];
    for (int count = 0; count < 4; count++) {
        job = s_test_job (worker, 5000);
        assert (job);
        times [count] = zeb_time_mono_us ();
        s_test_result (worker, job, "ok", NULL);
        json_decref (job);
    }
    for (int count = 1; count < 4; count++)
        assert (times [count] - times [count - 1] >= 80000);

    //  FIFO: the second run of key q waits until the first, retried, is done
    run = "{\"runs\":["
          "{\"origin\":\"q\",\"event\":" S_TEST_EVENT ("q-1") ",\"actions\":[{\"type\":\"t.c\",\"key\":\"q\",\"fifo\":true}]},"
          "{\"origin\":\"q\",\"event\":" S_TEST_EVENT ("q-2") ",\"actions\":[{\"type\":\"t.c\",\"key\":\"q\",\"fifo\":true}]}]}";
    json_decref (s_test_call (client, "ENQUEUE", run, "ENQUEUED"));
    const char *order [][2] = { { "q-1", "retry" }, { "q-1", "ok" }, { "q-2", "ok" } };
    for (int count = 0; count < 3; count++) {
        job = s_test_job (worker, 5000);
        assert (job);
        const char *event_id = json_string_value (json_object_get (json_object_get (job, "event"), "id"));
        if (!streq (event_id, order [count][0]))
            fprintf (stderr, "FIFO: job %d is %s, expected %s\n", count, event_id, order [count][0]);
        assert (streq (event_id, order [count][0]));
        s_test_result (worker, job, order [count][1], NULL);
        json_decref (job);
    }

    //  Refusals name the run and the field; the outbox goes on serving
    reply = s_test_call (client, "ENQUEUE", "{\"runs\":[{\"origin\":\"o\",\"event\":" S_TEST_EVENT ("x")
                         ",\"actions\":[{\"type\":\"t.a\"}]},{\"origin\":\"o\"}]}", "NACK");
    assert (json_integer_value (json_object_get (reply, "index")) == 1);
    json_decref (reply);
    json_decref (s_test_call (client, "ENQUEUE", "{\"runs\":5}", "NACK"));
    json_decref (s_test_call (client, "RUN", "{\"id\":\"nothex\"}", "NACK"));
    json_decref (s_test_call (client, "LOGS", "{}", "NACK"));
    s_test_send (worker, "RESULT", "{\"id\":\"no-such-job\",\"status\":\"ok\"}");
    s_test_send (worker, "RESULT", "{\"status\":\"maybe\"}");
    char command [32];
    json_t *nack = s_test_recv (worker, command, 5000);
    assert (nack && streq (command, "NACK"));
    json_decref (nack);
    s_test_send (worker, "PING", "{}");
    json_t *pong = s_test_recv (worker, command, 5000);
    assert (pong && streq (command, "PONG") && json_is_true (json_object_get (pong, "known")));
    json_decref (pong);

    //  A run with no executor waits, and is still there after a restart
    run = "{\"runs\":[{\"origin\":\"later\",\"event\":" S_TEST_EVENT ("l-1") ",\"actions\":[{\"type\":\"t.b\"}]}]}";
    reply = s_test_call (client, "ENQUEUE", run, "ENQUEUED");
    snprintf (id, sizeof (id), "%s", json_string_value (json_array_get (json_object_get (reply, "ids"), 0)));
    json_decref (reply);
    zsock_destroy (&worker);
    zsock_destroy (&client);
    zactor_destroy (&outbox);
    outbox = s_test_start (dir, extra, endpoint, workers);
    client = zsock_new_dealer (endpoint);
    worker = zsock_new_dealer (workers);
    assert (streq (s_test_state (client, id), "pending"));
    s_test_send (worker, "READY", "{\"actions\":[\"t.b\"],\"credit\":1}");
    job = s_test_job (worker, 5000);
    assert (job && streq (json_string_value (json_object_get (job, "run")), id));
    s_test_result (worker, job, "ok", NULL);
    json_decref (job);
    deadline = zeb_time_mono_us () / 1000 + 5000;
    while (!streq (s_test_state (client, id), "done"))
        assert (zeb_time_mono_us () / 1000 < deadline);

    zsock_destroy (&worker);
    zsock_destroy (&client);
    zactor_destroy (&outbox);
    zsys_dir_delete (dir);      //  the directory's files go with it below
    char *command_line = zsys_sprintf ("rm -rf %s", dir);
    int rc = system (command_line);
    assert (rc == 0);
    zstr_free (&command_line);

    s_test_log_retention ();
    s_test_storage_full ();
    printf ("OK\n");
}
