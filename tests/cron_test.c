/*  =========================================================================
    cron_test - cron triggers end to end: a node embedded in this process
    with cron/test_clock, so that time is moved (CLOCK) instead of waited
    for; every firing is checked in the real log. Firings at their times
    in a zone across a DST change; a firing stored once when published
    twice; each catch-up policy across a restart after downtime; refusals;
    zebd killed (SIGKILL) in the middle of its firings, three times, and
    every scheduled minute in the log exactly once.
    Usage: cron_test zebd [case]
    =========================================================================
*/

#include "testutil.h"

static int64_t
s_ms (const char *text)
{
    int64_t time_ms;
    int rc = zeb_time_parse (text, strlen (text), &time_ms);
    assert (rc == 0);
    return time_ms;
}

typedef struct {
    zeb_node_t *node;
    zsock_t *cron;
    zeb_client_t *client;
    char dir [256];
} s_node_t;

static void
s_start (s_node_t *self, const char *now)
{
    zconfig_t *settings = zconfig_new ("root", NULL);
    zconfig_put (settings, "cron/test_clock", "true");
    zconfig_putf (settings, "cron/test_now", "%" PRId64, s_ms (now));
    zconfig_put (settings, "node/actors", "registry,ingest,log,cron");
    zconfig_put (settings, "cron/catchup_window", "7d");
    zeb_fault_t fault;
    self->node = zeb_node_new_embedded_with (self->dir, settings, &fault);
    if (!self->node)
        fprintf (stderr, "node: %s\n", fault.text);
    assert (self->node);
    zconfig_destroy (&settings);
    self->cron = zsock_new_dealer (zeb_node_endpoint (self->node, "cron"));
    self->client = zeb_client_new (zeb_node_endpoint (self->node, "ingest"));
    assert (self->cron && self->client);
}

static void
s_stop (s_node_t *self)
{
    zeb_client_destroy (&self->client);
    zsock_destroy (&self->cron);
    zeb_node_destroy (&self->node);
}

static json_t *
s_call (s_node_t *self, const char *command, const char *body, const char *expected)
{
    return test_call_json (self->cron, command, body, expected, NULL, 20000);
}

static void
s_clock (s_node_t *self, const char *now)
{
    char body [64];
    snprintf (body, sizeof (body), "{\"now\":%" PRId64 "}", s_ms (now));
    json_decref (s_call (self, "CLOCK", body, "CLOCK"));
}

//  The scheduled times of the firings of type in the log, as text, space-separated
static char *
s_firings (s_node_t *self, const char *type)
{
    zeb_fetch_t fetch;
    int rc = zeb_client_fetch (self->client, 0, 1000, 0, type, &fetch);
    assert (rc == 0);
    char *text = strdup ("");
    for (zeb_event_t *event = (zeb_event_t *) zlistx_first (fetch.events); event;
         event = (zeb_event_t *) zlistx_next (fetch.events)) {
        char *scheduled = zeb_event_ext (event, "scheduledtime");
        char *more = zsys_sprintf ("%s%s%s", text, *text? " ": "", scheduled? scheduled: "?");
        free (scheduled);
        free (text);
        text = more;
    }
    zeb_fetch_reset (&fetch);
    return text;
}

static void
s_expect_firings (s_node_t *self, const char *type, const char *expected)
{
    char *got = s_firings (self, type);
    if (!streq (got, expected)) {
        fprintf (stderr, "%s fired at [%s], expected [%s]\n", type, got, expected);
        assert (false);
    }
    free (got);
}

//  At their times in a zone, across the spring DST change; the event as published
static void
s_test_times (void)
{
    s_node_t node;
    test_tempdir (node.dir, sizeof (node.dir));
    s_start (&node, "2026-03-28T12:00:00Z");
    json_t *reply = s_call (&node, "PUT", "{\"trigger\":{\"name\":\"nightly\",\"schedule\":\"30 2 * * *\","
                            "\"timezone\":\"Europe/Berlin\",\"payload\":{\"report\":\"daily\"}}}", "PUT");
    assert (streq (json_string_value (json_object_get (reply, "nextRun")), "2026-03-29T01:00:00.000Z"));
    json_decref (reply);
    s_clock (&node, "2026-03-29T00:59:00Z");
    s_expect_firings (&node, "custom.cron.nightly", "");
    //  02:30 does not exist that night: it fires at the change, 03:00 CEST
    s_clock (&node, "2026-03-29T01:00:00Z");
    s_expect_firings (&node, "custom.cron.nightly", "2026-03-29T01:00:00.000Z");
    s_clock (&node, "2026-03-31T12:00:00Z");
    s_expect_firings (&node, "custom.cron.nightly",
                      "2026-03-29T01:00:00.000Z 2026-03-30T00:30:00.000Z 2026-03-31T00:30:00.000Z");
    zeb_fetch_t fetch;
    assert (zeb_client_fetch (node.client, 0, 1, 0, "custom.cron.nightly", &fetch) == 0);
    zeb_event_t *event = (zeb_event_t *) zlistx_first (fetch.events);
    assert (streq (zeb_event_source (event), "cron/nightly"));
    char *name = zeb_event_ext (event, "cronname");
    assert (streq (name, "nightly"));
    free (name);
    assert (streq (zeb_event_attr (event, ZEB_ATTR_IDEMPOTENCYKEY), "cron/nightly/1774746000000"));
    char *data = zeb_event_data_json (event);
    assert (strstr (data, "\"report\"") && strstr (data, "daily"));
    zstr_free (&data);
    zeb_fetch_reset (&fetch);
    //  Disabled, nothing; enabled again, what was missed meanwhile does not fire
    json_decref (s_call (&node, "DISABLE", "{\"name\":\"nightly\"}", "DISABLE"));
    s_clock (&node, "2026-04-02T12:00:00Z");
    json_decref (s_call (&node, "ENABLE", "{\"name\":\"nightly\"}", "ENABLE"));
    s_clock (&node, "2026-04-03T00:30:00Z");
    s_expect_firings (&node, "custom.cron.nightly", "2026-03-29T01:00:00.000Z 2026-03-30T00:30:00.000Z "
                      "2026-03-31T00:30:00.000Z 2026-04-03T00:30:00.000Z");
    reply = s_call (&node, "LIST", "{}", "LIST");
    assert (json_array_size (json_object_get (reply, "items")) == 1);
    json_decref (reply);
    s_stop (&node);
    test_rmtree (node.dir);
}

//  RUN twice at one time: one firing stored (its idempotency key)
static void
s_test_once (void)
{
    s_node_t node;
    test_tempdir (node.dir, sizeof (node.dir));
    s_start (&node, "2026-06-01T10:00:00Z");
    json_decref (s_call (&node, "PUT", "{\"trigger\":{\"name\":\"manual\",\"schedule\":\"@yearly\","
                         "\"eventType\":\"report.requested\"}}", "PUT"));
    json_decref (s_call (&node, "RUN", "{\"name\":\"manual\"}", "RUN"));
    json_decref (s_call (&node, "RUN", "{\"name\":\"manual\"}", "RUN"));
    s_expect_firings (&node, "report.requested", "2026-06-01T10:00:00.000Z");
    s_stop (&node);
    test_rmtree (node.dir);
}

//  Downtime: each catch-up policy, after a restart 5 days later
static void
s_test_catch_up (void)
{
    s_node_t node;
    test_tempdir (node.dir, sizeof (node.dir));
    s_start (&node, "2026-05-01T12:00:00Z");
    const char *policies [] = { "skip", "once", "all" };
    for (size_t index = 0; index < 3; index++) {
        char body [256];
        snprintf (body, sizeof (body), "{\"trigger\":{\"name\":\"%s\",\"schedule\":\"0 6 * * *\",\"catchUp\":\"%s\"}}",
                  policies [index], policies [index]);
        json_decref (s_call (&node, "PUT", body, "PUT"));
    }
    s_clock (&node, "2026-05-02T06:00:00Z");
    s_expect_firings (&node, "custom.cron.once", "2026-05-02T06:00:00.000Z");
    s_stop (&node);
    //  Down from 2026-05-02T07:00 to 2026-05-06T12:00: missed 3, 4, 5 and 6 May
    //  (within cron/catchup_window, 7 days here)
    s_start (&node, "2026-05-06T12:00:00Z");
    s_clock (&node, "2026-05-06T12:00:01Z");        //  after the first tick
    s_expect_firings (&node, "custom.cron.skip", "2026-05-02T06:00:00.000Z");
    s_expect_firings (&node, "custom.cron.once", "2026-05-02T06:00:00.000Z 2026-05-06T06:00:00.000Z");
    s_expect_firings (&node, "custom.cron.all", "2026-05-02T06:00:00.000Z 2026-05-03T06:00:00.000Z "
                      "2026-05-04T06:00:00.000Z 2026-05-05T06:00:00.000Z 2026-05-06T06:00:00.000Z");
    //  And on schedule from there
    s_clock (&node, "2026-05-07T06:00:00Z");
    s_expect_firings (&node, "custom.cron.skip", "2026-05-02T06:00:00.000Z 2026-05-07T06:00:00.000Z");

    {
        json_t *reply = s_call (&node, "GET", "{\"name\":\"all\"}", "GET");
        assert (streq (json_string_value (json_object_get (reply, "lastRun")), "2026-05-07T06:00:00.000Z"));
        assert (streq (json_string_value (json_object_get (reply, "nextRun")), "2026-05-08T06:00:00.000Z"));
        json_decref (reply);
    }
    s_stop (&node);
    test_rmtree (node.dir);
}

static void
s_test_refusals (void)
{
    s_node_t node;
    test_tempdir (node.dir, sizeof (node.dir));
    s_start (&node, "2026-05-01T12:00:00Z");
    const char *bad [][2] = {
        { "{\"trigger\":{\"name\":\"x\",\"schedule\":\"61 * * * *\"}}", "minute" },
        { "{\"trigger\":{\"name\":\"x\",\"schedule\":\"* * * * *\",\"timezone\":\"Mars/Olympus\"}}", "zone" },
        { "{\"trigger\":{\"name\":\"x\",\"schedule\":\"* * * * *\",\"colour\":1}}", "colour" },
        { "{\"trigger\":{\"name\":\"bad name\",\"schedule\":\"* * * * *\"}}", "name" },
        { "{\"trigger\":{\"name\":\"x\",\"schedule\":\"* * * * *\",\"catchUp\":\"sometimes\"}}", "catchUp" },
        { "{\"trigger\":{\"name\":\"x\",\"schedule\":\"* * * * *\",\"eventType\":\"nodot\"}}", "eventType" },
        { "{}", "trigger" } };
    for (size_t index = 0; index < sizeof (bad) / sizeof (bad [0]); index++) {
        json_t *reply = s_call (&node, "PUT", bad [index][0], "NACK");
        const char *error = json_string_value (json_object_get (reply, "error"));
        if (!error || !strstr (error, bad [index][1]))
            fprintf (stderr, "%s: %s\n", bad [index][0], error? error: "(no error)");
        assert (error && strstr (error, bad [index][1]));
        json_decref (reply);
    }
    json_decref (s_call (&node, "GET", "{\"name\":\"nobody\"}", "NACK"));
    json_decref (s_call (&node, "RUN", "{\"name\":\"nobody\"}", "NACK"));
    json_decref (s_call (&node, "CLOCK", "{\"now\":1}", "NACK"));      //  backwards
    s_stop (&node);
    test_rmtree (node.dir);
}

//  ---------------------------------------------------------------------
//  SIGKILL while it fires: zebd as a real process, killed in the middle of
//  a burst of firings three times. After each restart the missed minutes
//  fire again (catchUp all), and every scheduled minute is in the log
//  exactly once: a firing published before the kill, whose lastRun was
//  not stored, is published again with the same idempotency key.

static const char *s_zebd;

#define S_MINUTE    60000
#define S_BURST     300             //  minutes fired per round

//  Events of type in the log, each one's scheduled minute counted in seen
static size_t
s_scheduled (zeb_client_t *client, const char *type, int64_t start, int *seen, size_t seen_size)
{
    size_t total = 0;
    uint64_t from = 1;
    memset (seen, 0, seen_size * sizeof (int));
    while (true) {
        zeb_fetch_t fetch;
        if (zeb_client_fetch (client, from, 1000, 0, type, &fetch))
            return total;
        size_t count = zlistx_size (fetch.events);
        for (zeb_event_t *event = (zeb_event_t *) zlistx_first (fetch.events); event;
             event = (zeb_event_t *) zlistx_next (fetch.events)) {
            const char *key = zeb_event_attr (event, ZEB_ATTR_IDEMPOTENCYKEY);
            const char *slash = key? strrchr (key, '/'): NULL;
            int64_t at = slash? strtoll (slash + 1, NULL, 10): 0;
            int64_t minute = (at - start) / S_MINUTE;
            if (minute >= 0 && (size_t) minute < seen_size && (at - start) % S_MINUTE == 0)
                seen [minute]++;
            total++;
        }
        from = fetch.next;
        bool more = count > 0 && fetch.next <= fetch.last;
        zeb_fetch_reset (&fetch);
        if (!more)
            return total;
    }
}

typedef struct {
    zeb_client_t *client;
    int64_t start;
    size_t at_least;
    size_t total;                       //  what the last look found
    int seen [3 * S_BURST + 2];
} s_kill_wait_t;

static bool
s_fired_enough (void *arg)
{
    s_kill_wait_t *wait = (s_kill_wait_t *) arg;
    wait->total = s_scheduled (wait->client, "custom.cron.minutely", wait->start, wait->seen,
                               sizeof (wait->seen) / sizeof (wait->seen [0]));
    return wait->total >= wait->at_least;
}

static zsock_t *
s_cron_dealer (test_zebd_t *node, zeb_client_t **client)
{
    *client = zeb_client_new (node->ingest);
    assert (*client && zeb_client_connect (*client) == 0);
    const char *endpoint = zeb_client_cron_endpoint (*client);
    assert (endpoint);
    zsock_t *dealer = zsock_new_dealer (endpoint);
    assert (dealer);
    return dealer;
}

static void
s_test_kill (void)
{
    int64_t start = s_ms ("2026-07-01T00:00:00Z");
    test_zebd_t node;
    test_zebd_init (&node, s_zebd);
    test_zebd_set (&node, "node/actors=registry,ingest,log,cron");
    test_zebd_set (&node, "cron/endpoint=tcp://127.0.0.1:*");
    test_zebd_set (&node, "cron/test_clock=true");
    test_zebd_set (&node, "cron/catchup_window=7d");
    char now [64];
    snprintf (now, sizeof (now), "cron/test_now=%" PRId64, start);
    test_zebd_set (&node, now);
    assert (test_zebd_start (&node, 15000) == 0);
    zeb_client_t *client;
    zsock_t *cron = s_cron_dealer (&node, &client);
    json_decref (test_call_json (cron, "PUT", "{\"trigger\":{\"name\":\"minutely\",\"schedule\":\"* * * * *\","
                                 "\"catchUp\":\"all\"}}", "PUT", NULL, 20000));
    s_kill_wait_t *wait = (s_kill_wait_t *) zmalloc (sizeof (s_kill_wait_t));
    wait->start = start;
    for (int round = 1; round <= 3; round++) {
        //  Move the clock S_BURST minutes on, and kill zebd once a tenth of
        //  them are in the log, without waiting for CLOCK's reply
        int64_t until = start + (int64_t) round * S_BURST * S_MINUTE;
        char body [64];
        snprintf (body, sizeof (body), "{\"now\":%" PRId64 "}", until);
        zsock_set_sndtimeo (cron, 1000);
        zstr_sendm (cron, "CLOCK");
        msgpack_sbuffer buffer;
        msgpack_sbuffer_init (&buffer);
        assert (zeb_json_pack_text (body, strlen (body), &buffer, NULL) == 0);
        zmq_send (zsock_resolve (cron), buffer.data, buffer.size, 0);
        msgpack_sbuffer_destroy (&buffer);
        wait->client = client;
        wait->at_least = (size_t) (round - 1) * S_BURST + S_BURST / 10;
        assert (test_wait_until (s_fired_enough, wait, 30000));
        test_zebd_kill (&node);
        size_t stored = wait->total;
        zsock_destroy (&cron);
        zeb_client_destroy (&client);
        //  Restart at the clock it had reached: the rest fire as missed
        snprintf (node.extra [node.extra_count - 1], 128, "cron/test_now=%" PRId64, until);
        assert (test_zebd_start (&node, 15000) == 0);
        cron = s_cron_dealer (&node, &client);
        wait->client = client;
        wait->at_least = (size_t) round * S_BURST;
        assert (test_wait_until (s_fired_enough, wait, 60000));
        //  Each minute 1..round*S_BURST once; the start minute never
        assert (wait->seen [0] == 0);
        for (size_t minute = 1; minute <= (size_t) round * S_BURST; minute++)
            if (wait->seen [minute] != 1) {
                fprintf (stderr, "round %d: minute %zu stored %d times\n", round, minute, wait->seen [minute]);
                assert (false);
            }
        size_t total = s_scheduled (client, "custom.cron.minutely", start, wait->seen,
                                    sizeof (wait->seen) / sizeof (wait->seen [0]));
        assert (total == (size_t) round * S_BURST);
        if (getenv ("ZEB_TEST_VERBOSE"))
            printf ("   round %d: %zu of %d stored at the kill\n", round, stored - (size_t) (round - 1) * S_BURST,
                    S_BURST);
    }
    free (wait);
    zsock_destroy (&cron);
    zeb_client_destroy (&client);
    assert (test_zebd_stop (&node) == 0);
    test_zebd_destroy (&node);
}

static const test_case_t s_cases [] = {
    { "times", s_test_times },
    { "once", s_test_once },
    { "catch_up", s_test_catch_up },
    { "refusals", s_test_refusals },
    { "kill", s_test_kill },
};

int
main (int argc, char *argv [])
{
    zsys_init ();
    zeb_set_quiet (true);
    s_zebd = argc > 1? argv [1]: "zebd";
    test_run_cases (s_cases, sizeof (s_cases) / sizeof (s_cases [0]), argc > 2? argv [2]: NULL);
    return 0;
}
