/*  =========================================================================
    cron_test - cron triggers end to end: a node embedded in this process
    with cron/test_clock, so that time is moved (CLOCK) instead of waited
    for; every firing is checked in the real log. Firings at their times
    in a zone across a DST change; a firing stored once when published
    twice; each catch-up policy across a restart after downtime; refusals.
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
            fprintf (stderr, "%s: %s\n", bad [index][0], error);
        assert (error && strstr (error, bad [index][1]));
        json_decref (reply);
    }
    json_decref (s_call (&node, "GET", "{\"name\":\"nobody\"}", "NACK"));
    json_decref (s_call (&node, "RUN", "{\"name\":\"nobody\"}", "NACK"));
    json_decref (s_call (&node, "CLOCK", "{\"now\":1}", "NACK"));      //  backwards
    s_stop (&node);
    test_rmtree (node.dir);
}

static const test_case_t s_cases [] = {
    { "times", s_test_times },
    { "once", s_test_once },
    { "catch_up", s_test_catch_up },
    { "refusals", s_test_refusals },
};

int
main (int argc, char *argv [])
{
    zsys_init ();
    zeb_set_quiet (true);
    test_run_cases (s_cases, sizeof (s_cases) / sizeof (s_cases [0]), argc > 2? argv [2]: NULL);
    return 0;
}
