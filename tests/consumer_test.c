/*  =========================================================================
    consumer_test - zeb_consumer against real nodes, driven as an actor would

    Every consumer here is polled with a zpoller beside another socket of
    the test, never waited on: order with no gaps across many FETCHes, a
    long-poll answered as soon as an event is committed while the other
    socket is served, type filters and a refused filter (backoff, no busy
    loop), seek and position, a retention gap counted as missed, and a log
    that is down (re-sent at the timeout, no busy loop) and comes up later
    on the same port.

    usage: consumer_test [embedded | retention | down]
    =========================================================================
*/

#include "testutil.h"

//  The owner's side of the test: a consumer and another socket in one
//  poller, and what arrived on each
typedef struct {
    zeb_consumer_t *consumer;
    zsock_t *other;             //  a PAIR the test sends to from `peer`
    zsock_t *peer;
    zpoller_t *poller;
    uint64_t *sequences;        //  delivered, in order
    size_t count;
    size_t limit;
    size_t wakeups;             //  zpoller_wait returns
    size_t handles;             //  zeb_consumer_handle calls
    size_t messages;            //  messages read from `other`
    char last_type [64];
} s_owner_t;

static void
s_owner_init (s_owner_t *self, zeb_consumer_t *consumer, const char *name)
{
    memset (self, 0, sizeof (*self));
    self->consumer = consumer;
    char endpoint [64];
    snprintf (endpoint, sizeof (endpoint), "@inproc://consumer-test-owner-%s", name);
    self->other = zsock_new_pair (endpoint);
    snprintf (endpoint, sizeof (endpoint), ">inproc://consumer-test-owner-%s", name);
    self->peer = zsock_new_pair (endpoint);
    assert (self->other && self->peer);
    self->poller = zpoller_new (zeb_consumer_socket (consumer), self->other, NULL);
    assert (self->poller);
    self->limit = 1024;
    self->sequences = (uint64_t *) calloc (self->limit, sizeof (uint64_t));
    assert (self->sequences);
}

static void
s_owner_destroy (s_owner_t *self)
{
    zpoller_destroy (&self->poller);
    zsock_destroy (&self->other);
    zsock_destroy (&self->peer);
    free (self->sequences);
    zeb_consumer_destroy (&self->consumer);
}

//  One turn of the owner's loop, waiting at most max_ms: what an actor
//  does. Returns the message read from `other`, if one came (caller frees).
static char *
s_owner_turn (s_owner_t *self, int max_ms)
{
    int timeout = zeb_consumer_next_timeout (self->consumer);
    void *which = zpoller_wait (self->poller, timeout < max_ms? timeout: max_ms);
    self->wakeups++;
    char *message = NULL;
    if (which == zeb_consumer_socket (self->consumer)) {
        zeb_consumer_handle (self->consumer);
        self->handles++;
    }
    else
    if (which == self->other) {
        message = zstr_recv (self->other);
        self->messages++;
    }
    zeb_event_t *event;
    while ((event = zeb_consumer_next (self->consumer))) {
        if (self->count == self->limit) {
            self->limit *= 2;
            self->sequences = (uint64_t *) realloc (self->sequences, self->limit * sizeof (uint64_t));
            assert (self->sequences);
        }
        self->sequences [self->count++] = zeb_event_sequence (event);
        snprintf (self->last_type, sizeof (self->last_type), "%s", zeb_event_type (event));
        zeb_event_destroy (&event);
    }
    return message;
}

//  What the owner's loop runs until: true once it holds
typedef bool (s_owner_done_fn) (s_owner_t *self, size_t count);

static bool
s_owner_has_count (s_owner_t *self, size_t count)
{
    return self->count >= count;
}

static bool
s_owner_caught_up (s_owner_t *self, size_t count)
{
    (void) count;
    return zeb_consumer_caught_up (self->consumer);
}

//  Run the loop until done holds or timeout_ms passed
static bool
s_owner_until (s_owner_t *self, s_owner_done_fn *done, size_t count, int timeout_ms)
{
    int64_t deadline = test_now_ms () + timeout_ms;
    while (!done (self, count)) {
        int64_t left = deadline - test_now_ms ();
        if (left <= 0)
            return false;
        free (s_owner_turn (self, (int) left));
    }
    return true;
}

//  Run the loop until count events arrived or timeout_ms passed
static bool
s_owner_until_count (s_owner_t *self, size_t count, int timeout_ms)
{
    return s_owner_until (self, s_owner_has_count, count, timeout_ms);
}

//  Run the loop until the consumer is caught up, at most timeout_ms
static bool
s_owner_until_caught_up (s_owner_t *self, int timeout_ms)
{
    return s_owner_until (self, s_owner_caught_up, 0, timeout_ms);
}

//  Run the loop for period_ms, whatever happens (to count what it does)
static void
s_owner_for (s_owner_t *self, int period_ms)
{
    int64_t deadline = test_now_ms () + period_ms;
    int64_t left;
    while ((left = deadline - test_now_ms ()) > 0)
        free (s_owner_turn (self, (int) left));
}

static void
s_publish (zeb_client_t *client, const char *type, int count)
{
    for (int index = 0; index < count; index++) {
        zeb_event_t *event = zeb_event_new (type);
        zeb_event_set (event, "source", "consumer-test");
        int rc = zeb_client_publish_async (client, event, NULL, NULL);
        assert (rc == 0);
        zeb_event_destroy (&event);
    }
    int rc = zeb_client_flush (client, 20000);
    assert (rc == 0);
}

static void
s_assert_in_order (s_owner_t *owner, uint64_t first)
{
    for (size_t index = 0; index < owner->count; index++)
        assert (owner->sequences [index] == first + index);
}

//  Many batches in order; long-poll beside another socket; types; seek
static void
s_test_embedded (void)
{
    char dir [256];
    zeb_node_t *node = test_node_embedded (dir, sizeof (dir));
    zeb_client_t *client = zeb_client_new (zeb_node_endpoint (node, "ingest"));
    assert (client);
    s_publish (client, "order.placed", 5000);
    const char *log = zeb_node_endpoint (node, "log");

    //  5,000 events in batches of 100: in order, no gaps
    zeb_consumer_t *consumer = zeb_consumer_new (log, 0);
    assert (consumer);
    zeb_consumer_set_batch (consumer, 100);
    assert (zeb_consumer_next_timeout (consumer) == 0);     //  the first FETCH is due
    s_owner_t owner;
    s_owner_init (&owner, consumer, "embedded");
    assert (s_owner_until_count (&owner, 5000, 30000));
    assert (owner.count == 5000);
    s_assert_in_order (&owner, 1);
    assert (s_owner_until_caught_up (&owner, 10000));
    assert (zeb_consumer_position (consumer) == 5001);
    assert (zeb_consumer_missed (consumer) == 0 && zeb_consumer_error (consumer) == 0);
    zeb_consumer_stats_t stats;
    zeb_consumer_stats (consumer, &stats);
    assert (stats.fetches >= 50 && stats.events == 5000 && stats.last == 5000);
    assert (stats.errors == 0 && stats.resends == 0);
    printf ("5000 events in %llu fetches; ", (unsigned long long) stats.fetches);

    //  At the end the consumer long-polls: one FETCH parked at the log,
    //  the owner asleep in its poller. The other socket is served
    //  meanwhile, and an event committed later arrives at once
    uint64_t fetches = stats.fetches;
    size_t wakeups = owner.wakeups;
    zstr_send (owner.peer, "ping");
    char *message = NULL;
    int64_t deadline = test_now_ms () + 5000;
    while (!message && test_now_ms () < deadline)
        message = s_owner_turn (&owner, 1000);
    assert (message && streq (message, "ping"));
    zstr_free (&message);
    s_owner_for (&owner, 300);                  //  quiet: nothing happens
    zeb_consumer_stats (consumer, &stats);
    assert (stats.fetches <= fetches + 1);
    assert (owner.wakeups - wakeups <= 4);
    assert (zeb_consumer_next_timeout (consumer) > 1000);   //  no reason to wake
    zstr_send (owner.peer, "publish");
    deadline = test_now_ms () + 5000;
    while (!message && test_now_ms () < deadline)
        message = s_owner_turn (&owner, 1000);
    assert (message && streq (message, "publish"));
    zstr_free (&message);
    int64_t started = test_now_ms ();
    s_publish (client, "order.late", 1);
    assert (s_owner_until_count (&owner, 5001, 5000));
    int64_t latency = test_now_ms () - started;
    assert (latency < 2000);                    //  far less than the 10 s wait
    assert (owner.sequences [5000] == 5001 && streq (owner.last_type, "order.late"));
    assert (owner.messages == 2);
    printf ("long-poll answered in %lld ms; ", (long long) latency);
    s_owner_destroy (&owner);

    //  Types: only user.* and payment.*, in order, the others skipped
    s_publish (client, "user.created", 3);          //  5002..5004
    s_publish (client, "order.placed", 2);          //  5005, 5006
    s_publish (client, "payment.received", 1);      //  5007
    consumer = zeb_consumer_new (log, 4990);
    zeb_consumer_set_types (consumer, "user.,payment.");
    s_owner_init (&owner, consumer, "types");
    assert (s_owner_until_count (&owner, 4, 10000));
    assert (owner.sequences [0] == 5002 && owner.sequences [2] == 5004);
    assert (owner.sequences [3] == 5007 && streq (owner.last_type, "payment.received"));
    assert (s_owner_until_caught_up (&owner, 10000));
    assert (zeb_consumer_position (consumer) == 5008 && owner.count == 4);

    //  A filter the log refuses: the error is kept and counted, and the
    //  consumer backs off instead of asking again and again
    char bad [300];
    memset (bad, 'x', sizeof (bad) - 1);
    bad [sizeof (bad) - 1] = 0;
    zeb_consumer_set_types (consumer, bad);
    zeb_consumer_stats (consumer, &stats);
    fetches = stats.fetches;
    uint64_t errors = stats.errors;
    deadline = test_now_ms () + 5000;
    while (zeb_consumer_error (consumer) == 0 && test_now_ms () < deadline)
        free (s_owner_turn (&owner, 1000));
    assert (zeb_consumer_error (consumer) == ZEB_EINVALID);
    assert (strlen (zeb_consumer_error_text (consumer)) > 0);
    wakeups = owner.wakeups;
    s_owner_for (&owner, 1000);
    zeb_consumer_stats (consumer, &stats);
    //  Delays of 100, 200, 400 ms... : a handful of FETCHes in a second
    assert (stats.errors > errors && stats.fetches - fetches <= 6);
    assert (owner.wakeups - wakeups <= 20);
    printf ("refused filter: %llu fetches in 1 s (%s); ",
            (unsigned long long) (stats.fetches - fetches), zeb_consumer_error_text (consumer));
    //  Good types again: reading goes on from where it was
    zeb_consumer_set_types (consumer, "order.");
    zeb_consumer_seek (consumer, 5000);
    assert (zeb_consumer_position (consumer) == 5000);
    assert (s_owner_until_count (&owner, 8, 10000));
    assert (owner.sequences [4] == 5000 && owner.sequences [5] == 5001);
    assert (owner.sequences [6] == 5005 && owner.sequences [7] == 5006);
    assert (zeb_consumer_error (consumer) == 0);
    s_owner_destroy (&owner);

    //  Seek: while events are buffered and a FETCH is in flight
    consumer = zeb_consumer_new (log, 0);
    zeb_consumer_set_batch (consumer, 100);
    s_owner_init (&owner, consumer, "seek");
    assert (s_owner_until_count (&owner, 5, 10000));
    assert (zeb_consumer_position (consumer) == owner.sequences [owner.count - 1] + 1);
    zeb_consumer_seek (consumer, 3000);
    assert (zeb_consumer_position (consumer) == 3000);
    size_t before = owner.count;
    assert (s_owner_until_count (&owner, before + 10, 10000));
    for (size_t index = 0; index < 10; index++)
        assert (owner.sequences [before + index] == 3000 + index);
    //  Seek back, and past the end: it waits there
    zeb_consumer_seek (consumer, 2);
    before = owner.count;
    assert (s_owner_until_count (&owner, before + 1, 10000));
    assert (owner.sequences [before] == 2);
    zeb_consumer_seek (consumer, 9000);
    before = owner.count;
    s_owner_for (&owner, 200);                  //  parked at the log
    assert (owner.count == before && zeb_consumer_position (consumer) == 9000);
    assert (zeb_consumer_missed (consumer) == 0);
    s_owner_destroy (&owner);

    zeb_client_destroy (&client);
    zeb_node_destroy (&node);
    test_rmtree (dir);
}

//  Retention deleted events before the consumer read them: counted
static void
s_test_retention (void)
{
    char dir [256];
    test_tempdir (dir, sizeof (dir));
    zconfig_t *config = zconfig_new ("root", NULL);
    zconfig_put (config, "node/data", dir);
    zconfig_put (config, "ingest/endpoint", "inproc://consumer-test-retained-ingest");
    zconfig_put (config, "log/endpoint", "inproc://consumer-test-retained-log");
    zconfig_put (config, "bus/endpoint", "inproc://consumer-test-retained-bus");
    zconfig_put (config, "node/actors", "ingest,log");      //  no registry on its default port
    zconfig_put (config, "retention/max_events", "5");
    zconfig_put (config, "retention/interval", "20ms");
    zeb_fault_t fault;
    zeb_node_t *node = zeb_node_new (config, &fault);
    assert (node);
    zeb_client_t *client = zeb_client_new (zeb_node_endpoint (node, "ingest"));
    s_publish (client, "order.placed", 20);
    //  Wait until retention has run: the oldest retained is 16
    int64_t deadline = test_now_ms () + 10000;
    uint64_t first = 0;
    while (first != 16) {
        assert (test_now_ms () < deadline);
        zeb_fetch_t result;
        int rc = zeb_client_fetch (client, 1, 1, 0, NULL, &result);
        assert (rc == 0);
        first = result.first;
        zeb_fetch_reset (&result);
    }
    const char *log = zeb_node_endpoint (node, "log");
    zeb_consumer_t *consumer = zeb_consumer_new (log, 3);
    s_owner_t owner;
    s_owner_init (&owner, consumer, "retention");
    assert (s_owner_until_count (&owner, 5, 10000));
    s_assert_in_order (&owner, 16);
    assert (zeb_consumer_missed (consumer) == 13);
    zeb_consumer_stats_t stats;
    zeb_consumer_stats (consumer, &stats);
    assert (stats.gaps == 1 && stats.first == 16);
    s_owner_destroy (&owner);
    //  From 0, the oldest retained: nothing is missed
    consumer = zeb_consumer_new (log, 0);
    s_owner_init (&owner, consumer, "retention-0");
    assert (s_owner_until_count (&owner, 5, 10000));
    s_assert_in_order (&owner, 16);
    assert (zeb_consumer_missed (consumer) == 0);
    s_owner_destroy (&owner);
    printf ("retention gap of 13 counted; ");

    zeb_client_destroy (&client);
    zeb_node_destroy (&node);
    zconfig_destroy (&config);
    test_rmtree (dir);
}

//  A log that is down: re-sent after the timeout, no busy loop; then a
//  node comes up on that port and reading starts
static void
s_test_down (void)
{
    //  A port bound but not listening: connections are refused, and no
    //  one else can take it until we let it go for the node
    int fd;
    int port = test_dead_port (&fd);
    char endpoint [64];
    snprintf (endpoint, sizeof (endpoint), "tcp://127.0.0.1:%d", port);
    zeb_consumer_t *consumer = zeb_consumer_new (endpoint, 0);
    assert (consumer);
    zeb_consumer_set_wait (consumer, 200);
    zeb_consumer_set_timeout (consumer, 200);
    s_owner_t owner;
    s_owner_init (&owner, consumer, "down");
    s_owner_for (&owner, 1500);
    zeb_consumer_stats_t stats;
    zeb_consumer_stats (consumer, &stats);
    //  Once every 400 ms: 4 FETCHes in 1.5 s (3 re-sends), not thousands
    assert (stats.fetches >= 3 && stats.fetches <= 6);
    assert (stats.resends >= 2 && stats.resends == stats.fetches - 1);
    assert (owner.wakeups <= 15 && owner.handles == 0 && owner.count == 0);
    assert (zeb_consumer_error (consumer) == 0);    //  no reply is not an error
    printf ("log down: %llu fetches, %zu wake-ups in 1.5 s; ",
            (unsigned long long) stats.fetches, owner.wakeups);

    //  The log comes up on that port
    char dir [256];
    test_tempdir (dir, sizeof (dir));
    zconfig_t *config = zconfig_new ("root", NULL);
    zconfig_put (config, "node/data", dir);
    zconfig_put (config, "ingest/endpoint", "inproc://consumer-test-down-ingest");
    zconfig_put (config, "log/endpoint", endpoint);
    zconfig_put (config, "bus/endpoint", "inproc://consumer-test-down-bus");
    zconfig_put (config, "node/actors", "ingest,log");      //  no registry on its default port
    close (fd);
    zeb_fault_t fault;
    zeb_node_t *node = zeb_node_new (config, &fault);
    if (!node)
        fprintf (stderr, "node on %s: %s\n", endpoint, fault.text);
    assert (node);
    zeb_client_t *client = zeb_client_new (zeb_node_endpoint (node, "ingest"));
    s_publish (client, "order.placed", 3);
    assert (s_owner_until_count (&owner, 3, 10000));
    s_assert_in_order (&owner, 1);
    zeb_consumer_stats (consumer, &stats);
    printf ("up again: %llu stale replies dropped; ", (unsigned long long) stats.stale);
    s_owner_destroy (&owner);

    zeb_client_destroy (&client);
    zeb_node_destroy (&node);
    zconfig_destroy (&config);
    test_rmtree (dir);
}

int
main (int argc, char *argv [])
{
    setvbuf (stdout, NULL, _IONBF, 0);
    zsys_set_logsystem (false);
    zsys_set_logstream (NULL);
    test_case_t cases [] = {
        { "embedded", s_test_embedded },
        { "retention", s_test_retention },
        { "down", s_test_down }
    };
    test_run_cases (cases, sizeof (cases) / sizeof (cases [0]), argc > 1? argv [1]: NULL);
    return 0;
}
