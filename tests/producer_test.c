/*  =========================================================================
    producer_test - zeb_producer against a real zebd, and a node played
    by the test

    usage: producer_test /path/to/zebd [case]

    - publish: acked with sequences, a duplicate by idempotency key, an
      array, a zeb_client publishing to the same node in between; bad
      bytes get the node's NACK and the connection goes on; an event
      without a source is refused before it is sent; the log (read with
      zeb_client) holds exactly what was acked, in order;
    - threads: 16 producers on threads of their own, every ack distinct;
    - restart: zebd SIGKILLed under a connected producer: the publish in
      between fails (unreachable or timeout, the outcome unknown), the
      next one after the restart reconnects and is acked, and nothing
      acked before the kill is lost;
    - late: a ROUTER played by the test leaves one request unanswered
      (ZEB_ETIMEOUT), then answers it late just before the next one: the
      late reply is dropped and the next publish gets its own;
    - unreachable: no one listening, and a malformed endpoint.
    =========================================================================
*/

#include "testutil.h"

static const char *s_zebd;

static zeb_event_t *
s_event (int number, const char *key)
{
    return test_event_new ("order.placed", "producer-test", number, key);
}

static void
s_test_publish (void)
{
    test_zebd_t zebd;
    test_zebd_init (&zebd, s_zebd);
    assert (test_zebd_start (&zebd, 10000) == 0);
    zeb_producer_t *producer = zeb_producer_new (zebd.ingest);
    assert (producer);
    zeb_ack_t ack;
    zeb_event_t *event = s_event (1, "order-1");
    assert (zeb_producer_publish (producer, event, &ack) == 0);
    assert (ack.status == 0 && ack.sequence == 1 && !ack.duplicate && ack.latency_us > 0);
    assert (zeb_producer_publish (producer, event, &ack) == 0);
    assert (ack.sequence == 1 && ack.duplicate);
    zeb_event_destroy (&event);
    //  A zeb_client beside it, on the same node
    zeb_client_t *client = zeb_client_new (zebd.ingest);
    event = s_event (2, NULL);
    assert (zeb_client_publish (client, event, &ack) == 0 && ack.sequence == 2);
    zeb_event_destroy (&event);
    for (int n = 3; n <= 100; n++) {
        event = s_event (n, NULL);
        assert (zeb_producer_publish (producer, event, NULL) == 0);
        zeb_event_destroy (&event);
    }
    //  Raw: an array of two, then bytes that are not an event
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    msgpack_pack_array (&pk, 2);
    for (int n = 101; n <= 102; n++) {
        event = s_event (n, NULL);
        assert (zeb_event_encode (event, &buffer) == 0);
        zeb_event_destroy (&event);
    }
    assert (zeb_producer_publish_raw (producer, buffer.data, buffer.size, &ack) == 0);
    assert (ack.sequence == 101);
    assert (zeb_producer_publish_raw (producer, "\xc1", 1, &ack) == ZEB_EMALFORMED);
    assert (ack.status == ZEB_EMALFORMED && ack.error [0]);
    assert (strstr (zeb_producer_error (producer), ack.error));
    //  Refused here: no source; nothing is sent
    event = zeb_event_new ("order.placed");
    assert (zeb_producer_publish (producer, event, &ack) == ZEB_EMISSING);
    assert (strstr (ack.error, "'source'"));
    zeb_event_destroy (&event);
    //  The connection went on through all that
    event = s_event (103, NULL);
    assert (zeb_producer_publish (producer, event, &ack) == 0 && ack.sequence == 103);
    zeb_event_destroy (&event);
    //  The log holds 103 events, data {"n": sequence}
    zeb_fetch_t fetch;
    uint64_t next = 1;
    while (next <= 103) {
        assert (zeb_client_fetch (client, next, 100, 0, NULL, &fetch) == 0);
        for (zeb_event_t *stored = (zeb_event_t *) zlistx_first (fetch.events); stored;
             stored = (zeb_event_t *) zlistx_next (fetch.events)) {
            char *json = zeb_event_data_json (stored);
            char expected [32];
            snprintf (expected, sizeof (expected), "{\"n\":%d}", (int) zeb_event_sequence (stored));
            assert (json && streq (json, expected));
            free (json);
            assert (zeb_event_sequence (stored) == next);
            next++;
        }
        assert (fetch.last == 103);
        zeb_fetch_reset (&fetch);
    }
    msgpack_sbuffer_destroy (&buffer);
    zeb_client_destroy (&client);
    zeb_producer_destroy (&producer);
    zeb_producer_destroy (&producer);       //  safe twice
    test_zebd_destroy (&zebd);
}

#define S_THREADS   16
#define S_EACH      200

typedef struct {
    const char *endpoint;
    int first;
    uint64_t sequences [S_EACH];
} s_thread_t;

static void *
s_producer_thread (void *arg)
{
    s_thread_t *self = (s_thread_t *) arg;
    zeb_producer_t *producer = zeb_producer_new (self->endpoint);
    for (int index = 0; index < S_EACH; index++) {
        zeb_event_t *event = s_event (self->first + index, NULL);
        zeb_ack_t ack;
        int rc = zeb_producer_publish (producer, event, &ack);
        if (rc)
            fprintf (stderr, "producer_test: %s\n", ack.error);
        assert (rc == 0);
        self->sequences [index] = ack.sequence;
        zeb_event_destroy (&event);
    }
    zeb_producer_destroy (&producer);
    return NULL;
}

static int
s_compare (const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return (x > y) - (x < y);
}

static void
s_test_threads (void)
{
    test_zebd_t zebd;
    test_zebd_init (&zebd, s_zebd);
    assert (test_zebd_start (&zebd, 10000) == 0);
    s_thread_t *threads = (s_thread_t *) calloc (S_THREADS, sizeof (s_thread_t));
    pthread_t ids [S_THREADS];
    for (int index = 0; index < S_THREADS; index++) {
        threads [index].endpoint = zebd.ingest;
        threads [index].first = index * S_EACH;
        assert (pthread_create (&ids [index], NULL, s_producer_thread, &threads [index]) == 0);
    }
    uint64_t *all = (uint64_t *) calloc (S_THREADS * S_EACH, sizeof (uint64_t));
    for (int index = 0; index < S_THREADS; index++) {
        pthread_join (ids [index], NULL);
        //  Each producer's acks in the order it published
        for (int at = 1; at < S_EACH; at++)
            assert (threads [index].sequences [at] > threads [index].sequences [at - 1]);
        memcpy (all + index * S_EACH, threads [index].sequences, sizeof (threads [index].sequences));
    }
    //  Together: 1..N, each once
    qsort (all, S_THREADS * S_EACH, sizeof (uint64_t), s_compare);
    for (int at = 0; at < S_THREADS * S_EACH; at++)
        assert (all [at] == (uint64_t) at + 1);
    free (all);
    free (threads);
    test_zebd_destroy (&zebd);
}

static void
s_test_restart (void)
{
    test_zebd_t zebd;
    test_zebd_init (&zebd, s_zebd);
    assert (test_zebd_start (&zebd, 10000) == 0);
    zeb_producer_t *producer = zeb_producer_new (zebd.ingest);
    zeb_producer_set_timeout (producer, 2000);
    zeb_ack_t ack;
    for (int n = 1; n <= 50; n++) {
        zeb_event_t *event = s_event (n, NULL);
        assert (zeb_producer_publish (producer, event, &ack) == 0 && ack.sequence == (uint64_t) n);
        zeb_event_destroy (&event);
    }
    test_zebd_kill (&zebd);
    //  Nobody there: the connection is gone, the outcome unknown
    zeb_event_t *event = s_event (51, "after-kill");
    int rc = zeb_producer_publish (producer, event, &ack);
    assert (rc == ZEB_EUNREACHABLE || rc == ZEB_ETIMEOUT);
    assert (ack.status == rc && ack.error [0]);
    assert (test_zebd_start (&zebd, 10000) == 0);
    //  Published again with its key: stored once, after the 50
    assert (zeb_producer_publish (producer, event, &ack) == 0);
    assert (ack.sequence == 51 && !ack.duplicate);
    assert (zeb_producer_publish (producer, event, &ack) == 0);
    assert (ack.sequence == 51 && ack.duplicate);
    zeb_event_destroy (&event);
    zeb_client_t *client = zeb_client_new (zebd.ingest);
    zeb_fetch_t fetch;
    assert (zeb_client_fetch (client, 1, 100, 0, NULL, &fetch) == 0);
    assert (zlistx_size (fetch.events) == 51 && fetch.last == 51);
    zeb_fetch_reset (&fetch);
    zeb_client_destroy (&client);
    zeb_producer_destroy (&producer);
    test_zebd_destroy (&zebd);
}

//  The tag frame of a request the test's ROUTER took
static zframe_t *
s_take (zsock_t *router, zframe_t **identity)
{
    zmsg_t *request = zmsg_recv (router);
    assert (request && zmsg_size (request) == 4);
    *identity = zmsg_pop (request);
    zframe_t *command = zmsg_pop (request);
    if (zframe_streq (command, "HELLO")) {
        //  Answered at once
        zframe_t *body = zmsg_pop (request);
        zframe_t *tag = zmsg_pop (request);
        zmsg_t *reply = zmsg_new ();
        zmsg_append (reply, identity);
        zmsg_addstr (reply, "WELCOME");
        zmsg_addmem (reply, "\x80", 1);
        zmsg_append (reply, &tag);
        assert (zmsg_send (&reply, router) == 0);
        zframe_destroy (&body);
        zframe_destroy (&command);
        zmsg_destroy (&request);
        return s_take (router, identity);
    }
    assert (zframe_streq (command, "PUBLISH"));
    zframe_destroy (&command);
    zframe_t *body = zmsg_pop (request);
    zframe_destroy (&body);
    zframe_t *tag = zmsg_pop (request);
    zmsg_destroy (&request);
    return tag;
}

static void
s_ack (zsock_t *router, zframe_t *identity, zframe_t **tag, uint64_t sequence)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    assert (zeb_proto_pack_ack (&buffer, sequence, false) == 0);
    zmsg_t *reply = zmsg_new ();
    zframe_t *copy = zframe_dup (identity);
    zmsg_append (reply, &copy);
    zmsg_addstr (reply, "ACK");
    zmsg_addmem (reply, buffer.data, buffer.size);
    zmsg_append (reply, tag);
    assert (zmsg_send (&reply, router) == 0);
    msgpack_sbuffer_destroy (&buffer);
}

typedef struct {
    zsock_t *router;
    int64_t late_us;            //  when the late reply went out
} s_node_t;

static void
s_play_node (zsock_t *pipe, void *arg)
{
    s_node_t *node = (s_node_t *) arg;
    zsock_signal (pipe, 0);
    zframe_t *identity, *first_identity;
    zframe_t *first = s_take (node->router, &first_identity);
    //  Not answered: the producer times out. Then the next request...
    zframe_t *second = s_take (node->router, &identity);
    //  ...finds the first one's reply just before its own
    s_ack (node->router, first_identity, &first, 7);
    node->late_us = zeb_time_mono_us ();
    s_ack (node->router, identity, &second, 8);
    zframe_destroy (&identity);
    zframe_destroy (&first_identity);
    zsock_wait (pipe);
}

static void
s_test_late (void)
{
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    int port = zsock_bind (router, "tcp://127.0.0.1:*[50000-]");
    assert (port > 0);
    char endpoint [64];
    snprintf (endpoint, sizeof (endpoint), "tcp://127.0.0.1:%d", port);
    s_node_t node = { router, 0 };
    zactor_t *actor = zactor_new (s_play_node, &node);
    zeb_producer_t *producer = zeb_producer_new (endpoint);
    zeb_producer_set_timeout (producer, 300);
    zeb_event_t *event = s_event (1, NULL);
    zeb_ack_t ack;
    int64_t start = zeb_time_mono_us ();
    assert (zeb_producer_publish (producer, event, &ack) == ZEB_ETIMEOUT);
    assert (zeb_time_mono_us () - start >= 250000);
    assert (strstr (ack.error, "unknown"));
    assert (zeb_producer_publish (producer, event, &ack) == 0);
    assert (ack.sequence == 8);
    zeb_event_destroy (&event);
    zsock_signal (actor, 0);
    zactor_destroy (&actor);
    zeb_producer_destroy (&producer);
    zsock_destroy (&router);
}

static void
s_test_unreachable (void)
{
    int fd;
    int port = test_dead_port (&fd);
    char endpoint [64];
    snprintf (endpoint, sizeof (endpoint), "tcp://127.0.0.1:%d", port);
    zeb_producer_t *producer = zeb_producer_new (endpoint);
    zeb_event_t *event = s_event (1, NULL);
    zeb_ack_t ack;
    assert (zeb_producer_publish (producer, event, &ack) == ZEB_EUNREACHABLE);
    assert (strstr (ack.error, endpoint));
    zeb_event_destroy (&event);
    zeb_producer_destroy (&producer);
    close (fd);
    assert (!zeb_producer_new ("inproc://ingest"));
    assert (!zeb_producer_new ("tcp://nowhere"));
}

int
main (int argc, char *argv [])
{
    if (argc < 2) {
        fprintf (stderr, "usage: producer_test /path/to/zebd [case]\n");
        return 2;
    }
    s_zebd = argv [1];
    zsys_init ();
    zsys_set_logstream (NULL);
    test_case_t cases [] = {
        { "publish", s_test_publish },
        { "threads", s_test_threads },
        { "restart", s_test_restart },
        { "late", s_test_late },
        { "unreachable", s_test_unreachable }
    };
    test_run_cases (cases, sizeof (cases) / sizeof (cases [0]), argc > 2? argv [2]: NULL);
    return 0;
}
