/*  =========================================================================
    outbox_crash_test - SIGKILL zebd while runs are in flight

    usage: outbox_crash_test /path/to/zebd [seed]

    What it proves. A run acknowledged by ENQUEUE is durable, and every
    action of it happens at least once with one stable id, however often
    the node dies: after the kills every run is done, the receiver saw
    every run's webhook at least once and with the same webhook-id on
    every delivery, and every emitted event is in the log exactly once
    (its idempotencykey is the action's stable id). Enqueueing every run
    again at the end stores nothing new for the ones acknowledged.

    How. One zebd child (own ports, own data directory). N runs of two
    actions each: a webhook to a real HTTP receiver in this process
    (/w/<n>), then emit_event (crash.emitted). The test enqueues them in
    batches between kills; the receiver answers 500 in some rounds (so
    that kills land amid retries) and 200 in others. Each round the node
    is killed with SIGKILL a random 20..400 ms after the round's batches
    were acknowledged (the moment is random on purpose: it is where the
    kill lands, not a wait for anything). Finally the node runs until its
    outbox holds no run, and the outcome is checked against the record.
    =========================================================================
*/

#include "testutil.h"
#include "receiver.h"

#define S_RUNS      600
#define S_BATCH     20
#define S_ROUNDS    15

static uint64_t s_seed = 0x5eed0bb0c5ULL;

static uint64_t
s_random (void)
{
    uint64_t z = (s_seed += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static int
s_between (int low, int high)
{
    return low + (int) (s_random () % (uint64_t) (high - low + 1));
}

//  The runs of batch number batch, as ENQUEUE's runs array
static json_t *
s_batch (int batch, int port)
{
    json_t *runs = json_array ();
    for (int index = batch * S_BATCH; index < (batch + 1) * S_BATCH && index < S_RUNS; index++) {
        char url [128], event [32];
        snprintf (url, sizeof (url), "http://127.0.0.1:%d/w/%d", port, index);
        snprintf (event, sizeof (event), "ev-%d", index);
        json_t *policy = json_pack ("{s:i, s:i, s:b, s:i}", "maxAttempts", 1000, "backoffMs", 20,
                                    "exponentialBackoff", 0, "timeout", 2000);
        json_t *run = json_pack ("{s:s, s:{s:s, s:s, s:s, s:i}, s:[{s:s, s:{s:s}, s:O}, {s:s, s:{s:s, s:{s:i}}, s:O}]}",
                                 "origin", "crash",
                                 "event", "id", event, "type", "order.placed", "source", "crash-test",
                                 "sequence", index + 1,
                                 "actions",
                                 "type", "webhook", "config", "url", url, "retryPolicy", policy,
                                 "type", "emit_event", "config", "eventType", "crash.emitted",
                                 "payload", "n", index, "retryPolicy", policy);
        assert (run);
        json_decref (policy);
        json_array_append_new (runs, run);
    }
    return runs;
}

//  The outbox of the running zebd, from its WELCOME; NULL if none answers
static zeb_outbox_client_t *
s_connect (test_zebd_t *zebd)
{
    zeb_client_t *client = zeb_client_new (zebd->ingest);
    zeb_client_set_timeout (client, 2000);
    zeb_outbox_client_t *outbox = NULL;
    if (zeb_client_connect (client) == 0 && zeb_client_outbox_endpoint (client)) {
        outbox = zeb_outbox_client_new (zeb_client_outbox_endpoint (client));
        zeb_outbox_client_set_timeout (outbox, 3000);
    }
    zeb_client_destroy (&client);
    return outbox;
}

//  Enqueue a batch; the number of runs the reply said were new, or -1
static int
s_enqueue (zeb_outbox_client_t *outbox, int batch, int port)
{
    json_t *runs = s_batch (batch, port);
    json_t *reply = NULL;
    zeb_fault_t fault;
    int rc = zeb_outbox_client_enqueue (outbox, runs, &reply, &fault);
    json_decref (runs);
    if (rc) {
        json_decref (reply);
        return -1;
    }
    int fresh = 0;
    json_t *news = json_object_get (reply, "new");
    for (size_t index = 0; index < json_array_size (news); index++)
        fresh += json_is_true (json_array_get (news, index));
    json_decref (reply);
    return fresh;
}

typedef struct {
    test_zebd_t *zebd;
} s_idle_t;

//  The outbox holds no unfinished run
static bool
s_idle (void *arg)
{
    zeb_outbox_client_t *outbox = s_connect (((s_idle_t *) arg)->zebd);
    if (!outbox)
        return false;
    json_t *stats = NULL;
    bool idle = zeb_outbox_client_stats (outbox, &stats, NULL) == 0
             && json_integer_value (json_object_get (stats, "runs")) == 0;
    json_decref (stats);
    zeb_outbox_client_destroy (&outbox);
    return idle;
}

int
main (int argc, char *argv [])
{
    assert (argc >= 2);
    if (argc > 2)
        s_seed = strtoull (argv [2], NULL, 0);
    printf ("outbox_crash_test: seed 0x%llx\n", (unsigned long long) s_seed);
    zsys_init ();
    zeb_set_quiet (true);
    receiver_t *receiver = receiver_new ();
    assert (receiver);
    int port = receiver_port (receiver);
    test_zebd_t zebd;
    test_zebd_init (&zebd, argv [1]);
    test_zebd_set (&zebd, "webhook/allow=127.0.0.1/32");
    test_zebd_set (&zebd, "outbox/executors=webhook,emit_event");
    test_zebd_set (&zebd, "outbox/circuit_recovery=200ms");
    test_zebd_set (&zebd, "outbox/lease_grace=500ms");
    test_zebd_set (&zebd, "ingest/sync=always");

    //  Kill rounds: enqueue some batches, let the node work, kill it
    int batches = (S_RUNS + S_BATCH - 1) / S_BATCH, next = 0, acked_new = 0, kills = 0;
    for (int round = 0; round < S_ROUNDS; round++) {
        receiver_set_mode (receiver, round % 3 == 1? RECEIVER_FAIL: RECEIVER_OK, 0);
        assert (test_zebd_start (&zebd, 15000) == 0);
        zeb_outbox_client_t *outbox = s_connect (&zebd);
        assert (outbox);
        int count = s_between (1, 4);
        for (int step = 0; step < count && next < batches; step++) {
            int fresh = s_enqueue (outbox, next, port);
            assert (fresh >= 0);
            acked_new += fresh;
            next++;
        }
        zeb_outbox_client_destroy (&outbox);
        zclock_sleep (s_between (20, 400));     //  where the kill lands, not a wait
        test_zebd_kill (&zebd);
        kills++;
    }
    printf ("outbox_crash_test: %d kills, %d of %d batches enqueued under fire\n", kills, next, batches);

    //  The rest, then every run again: the acknowledged ones are not new
    receiver_set_mode (receiver, RECEIVER_OK, 0);
    assert (test_zebd_start (&zebd, 15000) == 0);
    zeb_outbox_client_t *outbox = s_connect (&zebd);
    assert (outbox);
    for (; next < batches; next++) {
        int fresh = s_enqueue (outbox, next, port);
        assert (fresh >= 0);
        acked_new += fresh;
    }
    assert (acked_new == S_RUNS);
    for (int batch = 0; batch < batches; batch++)
        assert (s_enqueue (outbox, batch, port) == 0);
    s_idle_t idle = { &zebd };
    assert (test_wait_until (s_idle, &idle, 120000));

    //  Every run is done
    for (int index = 0; index < S_RUNS; index++) {
        char event [32], id [33];
        snprintf (event, sizeof (event), "ev-%d", index);
        zeb_outbox_run_id ("crash", event, index + 1, id);
        json_t *reply = NULL;
        assert (zeb_outbox_client_run (outbox, id, &reply, NULL) == 0);
        const char *state = json_string_value (json_object_get (reply, "state"));
        if (!streq (state, "done"))
            fprintf (stderr, "run %d (%s) is %s\n", index, id, state);
        assert (streq (state, "done"));
        json_decref (reply);
    }
    zeb_outbox_client_destroy (&outbox);

    //  The receiver saw every webhook, each with one webhook-id
    size_t requests = receiver_count (receiver);
    char (*seen) [80] = calloc (S_RUNS, 80);
    assert (seen);
    size_t deliveries [S_RUNS] = { 0 };
    for (size_t index = 0; index < requests; index++) {
        receiver_request_t request;
        assert (receiver_request (receiver, index, &request));
        int number = -1;
        if (sscanf (request.path, "/w/%d", &number) == 1 && number >= 0 && number < S_RUNS
        &&  request.status == 200)
            deliveries [number]++;
        char webhook_id [80];
        assert (receiver_request_header (&request, "webhook-id", webhook_id, sizeof (webhook_id)));
        assert (number >= 0 && number < S_RUNS);
        if (!*seen [number])
            snprintf (seen [number], 80, "%s", webhook_id);
        assert (streq (seen [number], webhook_id));
        receiver_request_reset (&request);
    }
    size_t redelivered = 0;
    for (int index = 0; index < S_RUNS; index++) {
        char event [32], id [33], expected [48];
        snprintf (event, sizeof (event), "ev-%d", index);
        zeb_outbox_run_id ("crash", event, index + 1, id);
        snprintf (expected, sizeof (expected), "%s-0", id);
        if (deliveries [index] == 0)
            fprintf (stderr, "webhook %d never delivered\n", index);
        assert (deliveries [index] >= 1);
        assert (streq (seen [index], expected));
        redelivered += deliveries [index] - 1;
    }
    free (seen);

    //  Every emitted event is in the log exactly once
    zeb_client_t *client = zeb_client_new (zebd.ingest);
    uint8_t *emitted = calloc (S_RUNS, 1);
    assert (emitted);
    uint64_t from = 0;
    size_t total = 0;
    while (true) {
        zeb_fetch_t fetch;
        assert (zeb_client_fetch (client, from, 1000, 0, "crash.emitted", &fetch) == 0);
        size_t got = zlistx_size (fetch.events);
        for (zeb_event_t *event = (zeb_event_t *) zlistx_first (fetch.events); event;
             event = (zeb_event_t *) zlistx_next (fetch.events)) {
            const char *key = zeb_event_attr (event, ZEB_ATTR_IDEMPOTENCYKEY);
            assert (key);
            int found = -1;
            for (int index = 0; index < S_RUNS && found < 0; index++) {
                char event_id [32], id [33], expected [48];
                snprintf (event_id, sizeof (event_id), "ev-%d", index);
                zeb_outbox_run_id ("crash", event_id, index + 1, id);
                snprintf (expected, sizeof (expected), "%s-1", id);
                if (streq (key, expected))
                    found = index;
            }
            assert (found >= 0);
            char cause [32];
            snprintf (cause, sizeof (cause), "ev-%d", found);
            assert (streq (zeb_event_attr (event, ZEB_ATTR_CAUSATIONID), cause));
            emitted [found]++;
            total++;
        }
        from = fetch.next;
        zeb_fetch_reset (&fetch);
        if (got == 0)
            break;
    }
    for (int index = 0; index < S_RUNS; index++) {
        if (emitted [index] != 1)
            fprintf (stderr, "emitted event of run %d is in the log %d times\n", index, emitted [index]);
        assert (emitted [index] == 1);
    }
    assert (total == S_RUNS);
    free (emitted);
    zeb_client_destroy (&client);
    printf ("outbox_crash_test: %d runs done, %zu webhook requests (%zu redelivered after kills or "
            "failures), %zu events emitted once each\n", S_RUNS, requests, redelivered, total);
    assert (test_zebd_stop (&zebd) == 0);
    test_zebd_destroy (&zebd);
    receiver_destroy (&receiver);
    return 0;
}
