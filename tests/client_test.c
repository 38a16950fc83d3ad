/*  =========================================================================
    client_test - zeb_client against a real node, embedded in this process

    usage: client_test [-v]

    The client's own self test (zeb_client_test) covers what needs no node:
    a fake node played by the test, a node that never answers, none at all.
    This program is the rest, through the public API only: a node from
    zeb_node_new_embedded on a fresh data directory, and zeb_client:

    - HELLO tells the log's and the bus's endpoints;
    - a synchronous publish is acked, again as a duplicate; an event the
      client refuses itself (no source) is never sent;
    - 5,000 pipelined events are acked in order and coalesced into fewer
      messages; a smaller window afterwards starts the ring over;
    - a live subscriber gets its prefix, and only that, with the sequence
      the publisher was acked;
    - fetch (plain, filtered, by time) and a cursor read the whole log in
      order, then wait for, and get, an event committed meanwhile.
    =========================================================================
*/

#include "testutil.h"

static bool s_verbose = false;

static zeb_event_t *
s_test_event (const char *type, int number, const char *key)
{
    return test_event_new (type, "client-test", number, key);
}

static void
s_test_collect (const zeb_ack_t *ack, void *arg)
{
    uint64_t *sequences = (uint64_t *) arg;
    //  sequences [0] counts, then one sequence per ack, in callback order
    sequences [++sequences [0]] = ack->status? 0: ack->sequence;
}

static void
s_test_embedded (void)
{
    char dir [256];
    zeb_node_t *node = test_node_embedded (dir, sizeof (dir));
    zeb_client_t *client = zeb_client_new (zeb_node_endpoint (node, "ingest"));
    assert (zeb_client_connect (client) == 0);
    assert (streq (zeb_client_log_endpoint (client), zeb_node_endpoint (node, "log")));
    assert (streq (zeb_client_bus_endpoint (client), zeb_node_endpoint (node, "bus")));

    //  Synchronous publish
    zeb_event_t *event = s_test_event ("order.placed", 1, "order-1");
    zeb_ack_t ack;
    assert (zeb_client_publish (client, event, &ack) == 0);
    assert (ack.sequence == 1 && !ack.duplicate && ack.latency_us > 0);
    assert (zeb_client_publish (client, event, &ack) == 0);
    assert (ack.sequence == 1 && ack.duplicate);
    zeb_event_destroy (&event);
    //  Refused before sending: no source
    event = zeb_event_new ("order.placed");
    assert (zeb_client_publish (client, event, &ack) == ZEB_EMISSING);
    assert (ack.status == ZEB_EMISSING && strstr (ack.error, "'source'"));
    assert (zeb_client_publish_async (client, event, NULL, NULL) == ZEB_EMISSING);
    assert (strstr (zeb_client_error (client, ZEB_EMISSING), "'source'"));
    zeb_event_destroy (&event);

    //  Pipelined: 5,000 events, every one acked, in order, coalesced
    uint64_t *sequences = (uint64_t *) calloc (5001, sizeof (uint64_t));
    zeb_client_set_window (client, 500);
    for (int n = 0; n < 5000; n++) {
        event = s_test_event ("order.placed", n, NULL);
        assert (zeb_client_publish_async (client, event, s_test_collect, sequences) == 0);
        zeb_event_destroy (&event);
    }
    assert (zeb_client_flush (client, 10000) == 0);
    assert (sequences [0] == 5000);
    for (int n = 1; n <= 5000; n++)
        assert (sequences [n] == (uint64_t) n + 1);
    free (sequences);
    char *stats = zeb_client_stats (client, NULL);
    assert (stats && strstr (stats, "\"stored\":5001"));
    json_t *json = json_loads (stats, 0, NULL);
    json_int_t messages = json_integer_value (json_object_get (
        json_object_get (json_object_get (json, "ingest"), "ingest"), "messages"));
    if (s_verbose)
        printf ("5000 events in %lld messages; ", (long long) messages);
    assert (messages < 4000);                   //  coalesced
    assert (json_object_get (json, "log"));
    json_decref (json);
    free (stats);

    //  A smaller window once everything is settled: the ring starts over
    zeb_client_set_window (client, 8);
    sequences = (uint64_t *) calloc (21, sizeof (uint64_t));
    for (int n = 0; n < 20; n++) {
        event = s_test_event ("window.check", n, NULL);
        assert (zeb_client_publish_async (client, event, s_test_collect, sequences) == 0);
        zeb_event_destroy (&event);
    }
    assert (zeb_client_flush (client, 10000) == 0);
    assert (sequences [0] == 20);
    for (int n = 1; n <= 20; n++)
        assert (sequences [n] == (uint64_t) n + 5001);
    free (sequences);

    //  Live subscription: probe until the subscription is in place
    assert (zeb_client_subscribe (client, "user.") == 0);
    test_probe_t probe = { client, client, "user.probe", NULL };
    bool held = test_wait_until (test_probe_arrived, &probe, 5000);
    assert (held);
    zeb_event_destroy (&probe.received);
    zeb_event_t *live;
    while ((live = zeb_client_recv (client, 100)))
        zeb_event_destroy (&live);              //  later probes
    event = s_test_event ("order.other", 0, NULL);
    assert (zeb_client_publish (client, event, &ack) == 0);
    zeb_event_destroy (&event);
    event = s_test_event ("user.created", 7, NULL);
    assert (zeb_client_publish (client, event, &ack) == 0);
    zeb_event_destroy (&event);
    live = zeb_client_recv (client, 5000);
    assert (live && streq (zeb_event_type (live), "user.created"));
    assert (zeb_event_sequence (live) == ack.sequence);
    zeb_event_destroy (&live);
    uint64_t last = ack.sequence;

    //  Fetch and cursor
    zeb_fetch_t result;
    assert (zeb_client_fetch (client, 1, 10, 0, NULL, &result) == 0);
    assert (zlistx_size (result.events) == 10 && result.next == 11 && result.last == last);
    zeb_event_t *first = (zeb_event_t *) zlistx_first (result.events);
    assert (streq (zeb_event_attr (first, ZEB_ATTR_IDEMPOTENCYKEY), "order-1"));
    zeb_fetch_reset (&result);
    //  A filtered read scans a bounded stretch per request: from 1, the
    //  5,001 order.placed come first, so it takes a few rounds
    uint64_t from = 1;
    size_t matched = 0;
    for (int round = 0; round < 10 && matched < 3; round++) {
        assert (zeb_client_fetch (client, from, 100, 0, "user.,order.o", &result) == 0);
        matched += zlistx_size (result.events);
        from = result.next;
        zeb_fetch_reset (&result);
    }
    assert (matched >= 3);
    assert (zeb_client_fetch_time (client, 0, 1, 0, NULL, &result) == 0);
    assert (zeb_event_sequence ((zeb_event_t *) zlistx_first (result.events)) == 1);
    zeb_fetch_reset (&result);

    zeb_cursor_t *cursor = zeb_cursor_new (client, 0);
    zeb_cursor_set_batch (cursor, 64);
    uint64_t expected = 1;
    int error;
    while ((event = zeb_cursor_next (cursor, 0, &error))) {
        assert (zeb_event_sequence (event) == expected++);
        zeb_event_destroy (&event);
    }
    assert (error == 0 && expected == last + 1 && zeb_cursor_position (cursor) == last + 1);
    //  At the end, the cursor waits; an event committed meanwhile arrives
    assert (zeb_cursor_next (cursor, 100, &error) == NULL && error == 0);
    event = s_test_event ("order.late", 0, NULL);
    assert (zeb_client_publish_async (client, event, NULL, NULL) == 0);
    assert (zeb_client_flush (client, 5000) == 0);
    zeb_event_destroy (&event);
    event = zeb_cursor_next (cursor, 5000, &error);
    assert (event && zeb_event_sequence (event) == last + 1);
    zeb_event_destroy (&event);
    assert (zeb_cursor_missed (cursor) == 0);
    zeb_cursor_destroy (&cursor);

    zeb_client_destroy (&client);
    zeb_node_destroy (&node);

    test_rmtree (dir);
}

int
main (int argc, char *argv [])
{
    for (int index = 1; index < argc; index++)
        if (streq (argv [index], "-v"))
            s_verbose = true;
    if (!s_verbose)
        zsys_set_logsystem (false), zsys_set_logstream (NULL);
    test_case_t cases [] = {
        { "client against an embedded node", s_test_embedded }
    };
    test_run_cases (cases, sizeof (cases) / sizeof (cases [0]), NULL);
    zsys_shutdown ();
    return 0;
}
