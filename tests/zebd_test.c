/*  =========================================================================
    zebd_test - zebd as a separate process, spoken to over tcp

    usage: zebd_test /path/to/zebd [case]

    What it proves, each case against its own zebd on fresh ports and a
    fresh data directory:

    publish     events published synchronously, pipelined and as a raw
                PUBLISH array are acked with sequences 1..N, no gaps, and
                FETCH returns them exactly as published.
    duplicate   an idempotencykey published again is acked with the
                original sequence and duplicate = true, and stored once;
                also across a restart of zebd and inside one array.
    live        a bus subscriber sees the committed events of its prefix,
                in sequence order, with no gaps, and nothing else.
    badinput    truncated msgpack, wrong attribute types, missing
                attributes, oversize events, garbage frames, unknown
                commands and an array with one bad event each get a NACK
                with the right reason; nothing of them is stored; the
                sender and another client are served after each; STATS
                counts every NACK by reason.
    full        a store at its size limit refuses with STORAGE_FULL, keeps
                serving, loses nothing; after a restart with a higher limit
                publishing goes on with the next sequence; retention frees
                space in a full store without a restart.
    shutdown    SIGTERM while pipelined publishes are acked: exit status 0,
                and every acked event is in the log after a restart.
    slowbus     with bus/hwm = 100, a bus subscriber that never reads and
                one that reads while 5,000 events of 4 KiB are published:
                every event is acked, the reader gets at least half, STATS
                counts an overflow, zebd's peak RSS stays within 12 MiB of
                its size before (the stuck subscriber's 20 MiB would not
                fit), and zebd sees both subscribers go.
    validation  with the registry and ingest/validation=enforce: events are
                checked against the latest schema (or the version their
                dataschema names), a new version takes effect when the
                registry announces it, invalid events get SCHEMA_VIOLATION
                and are not stored; warn accepts and counts; with no
                registry to ask, events are accepted and counted.
    waiters     long-polling FETCHes past log/max_waits_per_peer on one
                connection, or past log/max_waits in all, get OVERLOADED
                naming the limit; when their clients disconnect the parked
                waits are dropped (STATS waiting 0, waits_dropped), and a
                new client's long-poll is served.
    complexity  a schema that recurses on the same value is refused at
                REGISTER with 400 INVALID_SCHEMA; an event whose check
                would take exponential work is refused once the work budget
                runs out, and meanwhile other clients' PUBLISH and HELLO
                are answered within 2 s.
    =========================================================================
*/

#include "testutil.h"
#include <jansson.h>
#include <stdarg.h>
#include <pthread.h>

static const char *s_zebd;

//  ---------------------------------------------------------------------
//  Helpers

static void
s_start (test_zebd_t *zebd)
{
    int rc = test_zebd_start (zebd, 15000);
    assert (rc == 0);
}

//  A new zebd with the given settings (NULL-terminated), started
static void
s_new_zebd (test_zebd_t *zebd, ...)
{
    test_zebd_init (zebd, s_zebd);
    va_list args;
    va_start (args, zebd);
    const char *setting;
    while ((setting = va_arg (args, const char *)))
        test_zebd_set (zebd, setting);
    va_end (args);
    s_start (zebd);
}

static zeb_client_t *
s_client (test_zebd_t *zebd)
{
    zeb_client_t *client = zeb_client_new (zebd->ingest);
    assert (client);
    zeb_client_set_timeout (client, 5000);
    int rc = zeb_client_connect (client);
    assert (rc == 0);
    return client;
}

static zeb_event_t *
s_event (const char *type, const char *key, int number)
{
    zeb_event_t *event = zeb_event_new (type);
    zeb_event_set (event, "source", "zebd-test");
    char text [64];
    snprintf (text, sizeof (text), "Order:%d", number);
    zeb_event_set (event, "subject", text);
    if (key)
        zeb_event_set (event, "idempotencykey", key);
    snprintf (text, sizeof (text), "{\"n\":%d,\"name\":\"order %d\"}", number, number);
    int rc = zeb_event_set_data_json (event, text, NULL);
    assert (rc == 0);
    return event;
}

//  Publish one event and return its ack; asserts it was stored
static zeb_ack_t
s_publish (zeb_client_t *client, const char *type, const char *key, int number)
{
    zeb_event_t *event = s_event (type, key, number);
    zeb_ack_t ack;
    int rc = zeb_client_publish (client, event, &ack);
    if (rc)
        fprintf (stderr, "publish: %s (%s)\n", zeb_strerror (rc), ack.error);
    assert (rc == 0);
    zeb_event_destroy (&event);
    return ack;
}

//  Read the whole log from sequence 1; the events in a list
static zlistx_t *
s_read_all (zeb_client_t *client, uint64_t *last)
{
    zlistx_t *events = zlistx_new ();
    zlistx_set_destructor (events, (zlistx_destructor_fn *) zeb_event_destroy);
    uint64_t from = 1;
    while (true) {
        zeb_fetch_t result;
        int rc = zeb_client_fetch (client, from, 1000, 0, NULL, &result);
        assert (rc == 0);
        size_t count = zlistx_size (result.events);
        zeb_event_t *event = (zeb_event_t *) zlistx_first (result.events);
        while (event) {
            zlistx_add_end (events, zeb_event_dup (event));
            event = (zeb_event_t *) zlistx_next (result.events);
        }
        from = result.next;
        if (last)
            *last = result.last;
        zeb_fetch_reset (&result);
        if (count == 0)
            break;
    }
    return events;
}

//  The log holds sequences 1..count with no gap
static void
s_assert_contiguous (zlistx_t *events, size_t count)
{
    assert (zlistx_size (events) == count);
    uint64_t expected = 1;
    zeb_event_t *event = (zeb_event_t *) zlistx_first (events);
    while (event) {
        assert (zeb_event_sequence (event) == expected++);
        event = (zeb_event_t *) zlistx_next (events);
    }
}

//  A value from the ingest STATS, by path ("ingest.nacks"...); -1 if absent
static int64_t
s_stat (zeb_client_t *client, const char *section, const char *key, const char *subkey)
{
    int error = 0;
    char *text = zeb_client_stats (client, &error);
    assert (text);
    json_t *json = json_loads (text, 0, NULL);
    assert (json);
    json_t *value = json_object_get (json_object_get (json_object_get (json, "ingest"), section), key);
    if (subkey)
        value = json_object_get (value, subkey);
    int64_t number = json_is_integer (value)? (int64_t) json_integer_value (value): -1;
    json_decref (json);
    free (text);
    return number;
}

//  Raw ZEB/1 over a DEALER, as any ZeroMQ client would
typedef struct {
    char command [32];
    uint8_t body [4096];
    size_t body_size;
    int frames;
} s_raw_reply_t;

static zsock_t *
s_raw_dealer (test_zebd_t *zebd)
{
    zsock_t *dealer = zsock_new_dealer (zebd->ingest);
    assert (dealer);
    zsock_set_rcvtimeo (dealer, 5000);
    return dealer;
}

static void
s_raw_send (zsock_t *dealer, const char *command, const void *body, size_t size)
{
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, command);
    zmsg_addmem (msg, body, size);
    int rc = zmsg_send (&msg, dealer);
    assert (rc == 0);
}

static void
s_raw_recv (zsock_t *dealer, s_raw_reply_t *reply)
{
    zmsg_t *msg = zmsg_recv (dealer);
    assert (msg);                       //  no reply within 5 s: a failure
    memset (reply, 0, sizeof (*reply));
    reply->frames = (int) zmsg_size (msg);
    zframe_t *frame = zmsg_first (msg);
    size_t len = zframe_size (frame) < sizeof (reply->command) - 1? zframe_size (frame): 0;
    memcpy (reply->command, zframe_data (frame), len);
    frame = zmsg_next (msg);
    if (frame && zframe_size (frame) <= sizeof (reply->body)) {
        memcpy (reply->body, zframe_data (frame), zframe_size (frame));
        reply->body_size = zframe_size (frame);
    }
    zmsg_destroy (&msg);
}

//  The reply is a NACK with this reason
static bool
s_is_nack (s_raw_reply_t *reply, const char *reason)
{
    const char *text;
    size_t len;
    return streq (reply->command, "NACK")
        && zeb_proto_get_str (reply->body, reply->body_size, "reason", &text, &len) == 0
        && len == strlen (reason) && memcmp (text, reason, len) == 0;
}

//  Encode an event into buffer
static void
s_encode (zeb_event_t *event, msgpack_sbuffer *buffer)
{
    msgpack_sbuffer_clear (buffer);
    int rc = zeb_event_encode (event, buffer);
    assert (rc == 0);
}

//  A PUBLISH array of count events numbered from first, all with key
//  (or none), into array
static void
s_encode_array (msgpack_sbuffer *array, const char *type, const char *key, int first, int count)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_sbuffer_clear (array);
    msgpack_packer pk;
    msgpack_packer_init (&pk, array, msgpack_sbuffer_write);
    msgpack_pack_array (&pk, count);
    for (int n = first; n < first + count; n++) {
        zeb_event_t *event = s_event (type, key, n);
        s_encode (event, &buffer);
        msgpack_sbuffer_write (array, buffer.data, buffer.size);
        zeb_event_destroy (&event);
    }
    msgpack_sbuffer_destroy (&buffer);
}

//  ---------------------------------------------------------------------
//  publish -> ack -> fetch

static void
s_test_publish (void)
{
    test_zebd_t zebd;
    s_new_zebd (&zebd, NULL);
    zeb_client_t *client = s_client (&zebd);

    //  Synchronous: sequences 1..10
    for (int n = 1; n <= 10; n++) {
        zeb_ack_t ack = s_publish (client, "order.placed", NULL, n);
        assert (ack.sequence == (uint64_t) n && !ack.duplicate);
    }
    //  One flush per group commit: ten synchronous publishes are ten
    //  groups and ten journal flushes, beside the checkpoint of the start
    int64_t batches = s_stat (client, "ingest", "batches", NULL);
    int64_t flushes = s_stat (client, "ingest", "flushes", NULL);
    int64_t checkpoints = s_stat (client, "ingest", "checkpoints", NULL);
    assert (batches == 10 && checkpoints >= 1);
    assert (flushes >= batches && flushes <= batches + 3 * checkpoints + 3);
    //  Small groups that find the writer idle are committed in ingest's
    //  thread (the writer's housekeeping may hold the store for some)
    int64_t inline_commits = s_stat (client, "ingest", "inline_commits", NULL);
    assert (inline_commits >= 1 && inline_commits <= batches);
    //  Pipelined: 11..2010, acked in order
    zeb_client_set_window (client, 256);
    for (int n = 11; n <= 2010; n++) {
        zeb_event_t *event = s_event ("order.placed", NULL, n);
        int rc = zeb_client_publish_async (client, event, NULL, NULL);
        assert (rc == 0);
        zeb_event_destroy (&event);
    }
    int rc = zeb_client_flush (client, 10000);
    assert (rc == 0);

    //  A raw PUBLISH array of three: one ACK with three sequences
    zsock_t *dealer = s_raw_dealer (&zebd);
    msgpack_sbuffer array;
    msgpack_sbuffer_init (&array);
    s_encode_array (&array, "order.shipped", NULL, 2011, 3);
    s_raw_send (dealer, "PUBLISH", array.data, array.size);
    s_raw_reply_t reply;
    s_raw_recv (dealer, &reply);
    assert (streq (reply.command, "ACK") && reply.frames == 2);
    zeb_mpk_t sequence_list;
    rc = zeb_mpk_find (reply.body, reply.body_size, "sequences", &sequence_list);
    assert (rc == 0);
    uint32_t count;
    rc = zeb_mpk_read_array (&sequence_list, &count);
    assert (rc == 0 && count == 3);
    for (uint64_t expected = 2011; expected <= 2013; expected++) {
        uint64_t sequence;
        rc = zeb_mpk_read_uint (&sequence_list, &sequence);
        assert (rc == 0 && sequence == expected);
    }

    //  WELCOME names the log and bus endpoints
    s_raw_send (dealer, "HELLO", "\x81\xa7version\x01", 10);
    s_raw_recv (dealer, &reply);
    assert (streq (reply.command, "WELCOME"));
    const char *text;
    size_t len;
    assert (zeb_proto_get_str (reply.body, reply.body_size, "log", &text, &len) == 0);
    assert (len == strlen (zebd.log) && memcmp (text, zebd.log, len) == 0);
    assert (zeb_proto_get_str (reply.body, reply.body_size, "bus", &text, &len) == 0);
    assert (len == strlen (zebd.bus) && memcmp (text, zebd.bus, len) == 0);

    //  The log: 1..2013, each event as published
    uint64_t last;
    zlistx_t *events = s_read_all (client, &last);
    assert (last == 2013);
    s_assert_contiguous (events, 2013);
    int n = 1;
    zeb_event_t *event = (zeb_event_t *) zlistx_first (events);
    while (event) {
        zeb_event_t *expected = s_event (n <= 2010? "order.placed": "order.shipped", NULL, n);
        assert (streq (zeb_event_type (event), zeb_event_type (expected)));
        assert (streq (zeb_event_source (event), "zebd-test"));
        assert (streq (zeb_event_subject (event), zeb_event_subject (expected)));
        size_t size, expected_size;
        const uint8_t *data = zeb_event_data (event, &size);
        const uint8_t *expected_data = zeb_event_data (expected, &expected_size);
        assert (data && size == expected_size && memcmp (data, expected_data, size) == 0);
        assert (zeb_event_id (event) && strlen (zeb_event_id (event)) == 36);      //  UUIDv7
        assert (zeb_event_time (event) > 0);
        zeb_event_destroy (&expected);
        event = (zeb_event_t *) zlistx_next (events);
        n++;
    }
    zlistx_destroy (&events);
    msgpack_sbuffer_destroy (&array);
    zsock_destroy (&dealer);
    zeb_client_destroy (&client);
    test_zebd_destroy (&zebd);
}

//  ---------------------------------------------------------------------
//  duplicate idempotencykey -> original sequence

static void
s_test_duplicate (void)
{
    test_zebd_t zebd;
    s_new_zebd (&zebd, NULL);
    zeb_client_t *client = s_client (&zebd);

    zeb_ack_t first = s_publish (client, "order.placed", "order-1", 1);
    assert (first.sequence == 1 && !first.duplicate);
    s_publish (client, "order.placed", NULL, 2);
    zeb_ack_t again = s_publish (client, "order.placed", "order-1", 1);
    assert (again.sequence == 1 && again.duplicate);
    //  A producer-given id is the key when there is no idempotencykey
    zeb_event_t *event = s_event ("order.placed", NULL, 3);
    zeb_event_set (event, "id", "producer-id-3");
    zeb_ack_t by_id;
    int rc = zeb_client_publish (client, event, &by_id);
    assert (rc == 0 && by_id.sequence == 3 && !by_id.duplicate);
    rc = zeb_client_publish (client, event, &by_id);
    assert (rc == 0 && by_id.sequence == 3 && by_id.duplicate);
    zeb_event_destroy (&event);

    //  Two events with one key in one array: the second is a duplicate
    zsock_t *dealer = s_raw_dealer (&zebd);
    msgpack_sbuffer array;
    msgpack_sbuffer_init (&array);
    s_encode_array (&array, "order.placed", "order-in-array", 4, 2);
    s_raw_send (dealer, "PUBLISH", array.data, array.size);
    s_raw_reply_t reply;
    s_raw_recv (dealer, &reply);
    assert (streq (reply.command, "ACK"));
    zeb_mpk_t list;
    uint32_t count;
    uint64_t first_sequence, second_sequence, duplicate_index;
    rc = zeb_mpk_find (reply.body, reply.body_size, "sequences", &list);
    assert (rc == 0 && zeb_mpk_read_array (&list, &count) == 0 && count == 2);
    rc = zeb_mpk_read_uint (&list, &first_sequence) | zeb_mpk_read_uint (&list, &second_sequence);
    assert (rc == 0 && first_sequence == 4 && second_sequence == 4);
    rc = zeb_mpk_find (reply.body, reply.body_size, "duplicates", &list);
    assert (rc == 0 && zeb_mpk_read_array (&list, &count) == 0 && count == 1);
    rc = zeb_mpk_read_uint (&list, &duplicate_index);
    assert (rc == 0 && duplicate_index == 1);
    zsock_destroy (&dealer);
    msgpack_sbuffer_destroy (&array);

    //  Stored once each: the log holds 1..4
    uint64_t last;
    zlistx_t *events = s_read_all (client, &last);
    assert (last == 4);
    s_assert_contiguous (events, 4);
    zlistx_destroy (&events);
    assert (s_stat (client, "ingest", "duplicates", NULL) == 3);

    //  After a restart, the keys are remembered
    zeb_client_destroy (&client);
    int status = test_zebd_stop (&zebd);
    assert (status == 0);
    s_start (&zebd);
    client = s_client (&zebd);
    again = s_publish (client, "order.placed", "order-1", 1);
    assert (again.sequence == 1 && again.duplicate);
    zeb_ack_t fresh = s_publish (client, "order.placed", "order-5", 5);
    assert (fresh.sequence == 5 && !fresh.duplicate);
    zeb_client_destroy (&client);
    test_zebd_destroy (&zebd);
}

//  ---------------------------------------------------------------------
//  A live subscriber sees its events in sequence order

typedef struct {
    zeb_client_t *subscriber;
    zlistx_t *events;           //  the log's events, to see live
    zeb_event_t *logged;        //  the next of them, NULL when all seen
} s_follow_t;

//  Receive what has come, each the next logged event (same sequence,
//  same type); true once every logged event was received
static bool
s_follow_log (void *arg)
{
    s_follow_t *self = (s_follow_t *) arg;
    while (self->logged) {
        zeb_event_t *received = zeb_client_recv (self->subscriber, 100);
        if (!received)
            return false;
        assert (zeb_event_sequence (received) == zeb_event_sequence (self->logged));
        assert (streq (zeb_event_type (received), zeb_event_type (self->logged)));
        zeb_event_destroy (&received);
        self->logged = (zeb_event_t *) zlistx_next (self->events);
    }
    return true;
}

static void
s_test_live (void)
{
    test_zebd_t zebd;
    s_new_zebd (&zebd, NULL);
    zeb_client_t *publisher = s_client (&zebd);
    zeb_client_t *subscriber = s_client (&zebd);
    int rc = zeb_client_subscribe (subscriber, "order.");
    assert (rc == 0);

    //  The subscription reaches the bus asynchronously: probe until one
    //  probe arrives, then drain the rest of the probes
    test_probe_t probe = { publisher, subscriber, "order.probe", NULL };
    bool held = test_wait_until (test_probe_arrived, &probe, 10000);
    assert (held);
    uint64_t last_probe = zeb_event_sequence (probe.received);
    zeb_event_destroy (&probe.received);

    //  1,000 events, interleaved with types the subscriber did not ask for
    zeb_client_set_window (publisher, 500);
    for (int n = 1; n <= 1000; n++) {
        zeb_event_t *event = s_event (n % 3? "order.placed": "user.created", NULL, n);
        rc = zeb_client_publish_async (publisher, event, NULL, NULL);
        assert (rc == 0);
        zeb_event_destroy (&event);
    }
    rc = zeb_client_flush (publisher, 10000);
    assert (rc == 0);

    //  What the subscriber receives is exactly the log's order.* events
    //  after the probe it saw first: same sequences, same order
    zeb_fetch_t result;
    rc = zeb_client_fetch (publisher, last_probe + 1, 1000, 0, "order.", &result);
    assert (rc == 0);
    size_t expected = zlistx_size (result.events);
    assert (expected >= 667);                   //  the order.placed among 1..1000
    s_follow_t follow = { subscriber, result.events, (zeb_event_t *) zlistx_first (result.events) };
    held = test_wait_until (s_follow_log, &follow, 10000);
    assert (held);
    zeb_fetch_reset (&result);
    //  Nothing more arrives
    zeb_event_t *received = zeb_client_recv (subscriber, 200);
    assert (received == NULL);
    zeb_client_destroy (&subscriber);
    zeb_client_destroy (&publisher);
    test_zebd_destroy (&zebd);
}

//  ---------------------------------------------------------------------
//  Bad input: NACKs, and everyone keeps being served

typedef struct {
    const char *name;
    const char *command;
    const void *body;
    size_t size;
    const char *reason;
} s_bad_t;

static void
s_test_badinput (void)
{
    test_zebd_t zebd;
    //  Spinning before each wait (ingest/spin_us) must change nothing here
    s_new_zebd (&zebd, "ingest/max_event_size=4KiB", "ingest/inline_commit=0",
                "ingest/spin_us=50", NULL);
    zeb_client_t *good = s_client (&zebd);
    zsock_t *bad = s_raw_dealer (&zebd);
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    s_raw_reply_t reply;
    uint64_t stored = 0;

    //  A valid event, encoded, to cut and bend
    zeb_event_t *event = s_event ("order.placed", NULL, 1);
    msgpack_sbuffer valid;
    msgpack_sbuffer_init (&valid);
    s_encode (event, &valid);
    zeb_event_destroy (&event);

    s_bad_t cases [16];
    size_t count = 0;
    //  Truncated msgpack
    cases [count++] = (s_bad_t) { "truncated", "PUBLISH", valid.data, valid.size - 7, "MALFORMED" };
    //  Not msgpack at all
    static const char garbage [] = "\xc1\xc1\xc1 this is not msgpack";
    cases [count++] = (s_bad_t) { "garbage body", "PUBLISH", garbage, sizeof (garbage) - 1, "MALFORMED" };
    //  An empty body and an empty array
    cases [count++] = (s_bad_t) { "empty body", "PUBLISH", "", 0, "MALFORMED" };
    cases [count++] = (s_bad_t) { "empty array", "PUBLISH", "\x90", 1, "MALFORMED" };
    //  Wrong attribute types
    static const char type_int [] = "\x82\xa4type\x07\xa6source\xa1s";
    cases [count++] = (s_bad_t) { "type is an int", "PUBLISH", type_int, sizeof (type_int) - 1, "INVALID_ATTRIBUTE" };
    static const char subject_map [] = "\x83\xa4type\xa3t.t\xa6source\xa1s\xa7subject\x80";
    cases [count++] = (s_bad_t) { "subject is a map", "PUBLISH", subject_map, sizeof (subject_map) - 1, "INVALID_ATTRIBUTE" };
    //  Missing source
    static const char no_source [] = "\x81\xa4type\xa3t.t";
    cases [count++] = (s_bad_t) { "no source", "PUBLISH", no_source, sizeof (no_source) - 1, "MISSING_ATTRIBUTE" };
    //  Bad extension name
    static const char bad_ext [] = "\x83\xa4type\xa3t.t\xa6source\xa1s\xa6" "Bad-Ex\x01";
    cases [count++] = (s_bad_t) { "bad extension", "PUBLISH", bad_ext, sizeof (bad_ext) - 1, "INVALID_EXTENSION" };
    //  A type of one part: the registry could never give it a schema
    static const char one_part [] = "\x82\xa4type\xa5order\xa6source\xa1s";
    cases [count++] = (s_bad_t) { "one-part type", "PUBLISH", one_part, sizeof (one_part) - 1, "INVALID_ATTRIBUTE" };
    //  A subject that is not UTF-8 (an overlong '/')
    static const char not_utf8 [] = "\x83\xa4type\xa3t.t\xa6source\xa1s\xa7subject\xa2\xc0\xaf";
    cases [count++] = (s_bad_t) { "subject not UTF-8", "PUBLISH", not_utf8, sizeof (not_utf8) - 1, "INVALID_ATTRIBUTE" };
    //  Data nested 65 levels deep, one more than allowed
    static const char deep_head [] = "\x83\xa4type\xa3t.t\xa6source\xa1s\xa4" "data";
    char deep [sizeof (deep_head) - 1 + 65 + 1];
    memcpy (deep, deep_head, sizeof (deep_head) - 1);
    memset (deep + sizeof (deep_head) - 1, 0x91, 65);
    deep [sizeof (deep) - 1] = (char) 0xc0;
    cases [count++] = (s_bad_t) { "data too deep", "PUBLISH", deep, sizeof (deep), "INVALID_ATTRIBUTE" };
    //  Unknown command
    cases [count++] = (s_bad_t) { "unknown command", "SUBSCRIBE", "\x80", 1, "UNKNOWN_COMMAND" };

    //  Oversize: data of 5 KiB against a 4 KiB limit
    event = s_event ("order.placed", NULL, 2);
    char *big = (char *) malloc (5200);
    memset (big, 'x', 5200);
    snprintf (big, 5200, "{\"blob\":\"");
    memset (big + 9, 'x', 5100);
    snprintf (big + 5109, 10, "\"}");
    int rc = zeb_event_set_data_json (event, big, NULL);
    assert (rc == 0);
    msgpack_sbuffer oversize;
    msgpack_sbuffer_init (&oversize);
    s_encode (event, &oversize);
    zeb_event_destroy (&event);
    free (big);
    cases [count++] = (s_bad_t) { "oversize", "PUBLISH", oversize.data, oversize.size, "TOO_LARGE" };

    size_t expected_nacks = 0;
    for (size_t index = 0; index < count; index++) {
        s_raw_send (bad, cases [index].command, cases [index].body, cases [index].size);
        s_raw_recv (bad, &reply);
        if (!s_is_nack (&reply, cases [index].reason)) {
            fprintf (stderr, "case '%s': got %s\n", cases [index].name, reply.command);
            assert (false);
        }
        expected_nacks++;
        //  Another client is served, and so is the bad one
        zeb_ack_t ack = s_publish (good, "order.placed", NULL, (int) index);
        assert (ack.sequence == ++stored);
        s_raw_send (bad, "PUBLISH", valid.data, valid.size);
        s_raw_recv (bad, &reply);
        assert (streq (reply.command, "ACK"));
        stored++;
    }

    //  Garbage frames: one frame, and five frames
    zstr_send (bad, "PUBLISH");
    s_raw_recv (bad, &reply);
    assert (s_is_nack (&reply, "MALFORMED"));
    expected_nacks++;
    zstr_sendx (bad, "PUBLISH", "a", "b", "c", "d", NULL);
    s_raw_recv (bad, &reply);
    assert (s_is_nack (&reply, "MALFORMED"));
    expected_nacks++;
    assert (s_publish (good, "order.placed", NULL, 99).sequence == ++stored);

    //  An array with one bad event: NACK naming it; nothing stored
    msgpack_sbuffer_clear (&buffer);
    msgpack_pack_array (&pk, 3);
    msgpack_sbuffer_write (&buffer, valid.data, valid.size);
    msgpack_sbuffer_write (&buffer, no_source, sizeof (no_source) - 1);
    msgpack_sbuffer_write (&buffer, valid.data, valid.size);
    s_raw_send (bad, "PUBLISH", buffer.data, buffer.size);
    s_raw_recv (bad, &reply);
    assert (s_is_nack (&reply, "MISSING_ATTRIBUTE"));
    uint64_t index;
    rc = zeb_proto_get_uint (reply.body, reply.body_size, "index", &index);
    assert (rc == 0 && index == 1);
    expected_nacks++;

    //  Nothing refused was stored: the log holds exactly what was acked
    uint64_t last;
    zlistx_t *events = s_read_all (good, &last);
    assert (last == stored);
    s_assert_contiguous (events, stored);
    zlistx_destroy (&events);

    //  Every NACK counted, by reason
    assert (s_stat (good, "ingest", "nacks", NULL) == (int64_t) expected_nacks);
    assert (s_stat (good, "ingest", "nacks_by_reason", "MALFORMED") == 6);
    assert (s_stat (good, "ingest", "nacks_by_reason", "INVALID_ATTRIBUTE") == 5);
    assert (s_stat (good, "ingest", "nacks_by_reason", "MISSING_ATTRIBUTE") == 2);
    assert (s_stat (good, "ingest", "nacks_by_reason", "INVALID_EXTENSION") == 1);
    assert (s_stat (good, "ingest", "nacks_by_reason", "UNKNOWN_COMMAND") == 1);
    assert (s_stat (good, "ingest", "nacks_by_reason", "TOO_LARGE") == 1);
    //  Every group went to the writer, as configured
    assert (s_stat (good, "ingest", "batches", NULL) > 0);
    assert (s_stat (good, "ingest", "inline_commits", NULL) == 0);

    msgpack_sbuffer_destroy (&buffer);
    msgpack_sbuffer_destroy (&valid);
    msgpack_sbuffer_destroy (&oversize);
    zsock_destroy (&bad);
    zeb_client_destroy (&good);
    test_zebd_destroy (&zebd);
}

//  ---------------------------------------------------------------------
//  Storage full: a NACK to act on, nothing lost, recovery

//  Publish 4 KiB events until the store refuses; returns how many were
//  stored, with the refusal in *refusal
static uint64_t
s_fill (zeb_client_t *client, uint64_t first, int *refusal)
{
    char *data = (char *) malloc (4200);
    snprintf (data, 4200, "{\"fill\":\"%04000d\"}", 0);
    uint64_t stored = 0;
    *refusal = 0;
    for (int attempt = 0; attempt < 100000 && *refusal == 0; attempt++) {
        zeb_event_t *event = zeb_event_new ("store.fill");
        zeb_event_set (event, "source", "zebd-test");
        int rc = zeb_event_set_data_json (event, data, NULL);
        assert (rc == 0);
        zeb_ack_t ack;
        rc = zeb_client_publish (client, event, &ack);
        if (rc == 0)
            assert (ack.sequence == first + stored++);
        else
            *refusal = rc;
        zeb_event_destroy (&event);
    }
    free (data);
    return stored;
}

typedef struct {
    zeb_client_t *client;
    uint64_t total;             //  stored so far
    uint64_t after_refusal;     //  of which since the store was full
    int refusal;
} s_refill_t;

//  Fill again from where we are; true once 50 more events were stored
static bool
s_refilled (void *arg)
{
    s_refill_t *self = (s_refill_t *) arg;
    uint64_t more = s_fill (self->client, self->total + 1, &self->refusal);
    self->total += more;
    self->after_refusal += more;
    return self->after_refusal >= 50;
}

static void
s_test_full (void)
{
    test_zebd_t zebd;
    s_new_zebd (&zebd, "store/map_size=1MiB", "store/max_size=2MiB", NULL);
    zeb_client_t *client = s_client (&zebd);

    int refusal;
    uint64_t stored = s_fill (client, 1, &refusal);
    assert (refusal == ZEB_EFULL);
    assert (stored > 100);                  //  2 MiB of 4 KiB events, less overhead
    //  Refused again, and the node answers everything else
    uint64_t again = s_fill (client, stored + 1, &refusal);
    assert (again == 0 && refusal == ZEB_EFULL);
    uint64_t last;
    zlistx_t *events = s_read_all (client, &last);
    assert (last == stored);
    s_assert_contiguous (events, stored);
    zlistx_destroy (&events);
    assert (s_stat (client, "ingest", "nacks_by_reason", "STORAGE_FULL") == 2);

    //  A higher limit after a restart: publishing goes on, no gap
    zeb_client_destroy (&client);
    int status = test_zebd_stop (&zebd);
    assert (status == 0);
    test_zebd_set (&zebd, "store/max_size=8MiB");       //  the later --set wins
    s_start (&zebd);
    client = s_client (&zebd);
    zeb_ack_t ack = s_publish (client, "order.placed", NULL, 1);
    assert (ack.sequence == stored + 1);
    events = s_read_all (client, &last);
    s_assert_contiguous (events, stored + 1);
    zlistx_destroy (&events);
    zeb_client_destroy (&client);
    test_zebd_destroy (&zebd);

    //  Retention frees space in a full store, without a restart
    s_new_zebd (&zebd, "store/map_size=1MiB", "store/max_size=2MiB",
                "retention/max_events=100", "retention/interval=2s", NULL);
    client = s_client (&zebd);
    //  The producer fills the store before retention's next run, gets
    //  STORAGE_FULL until that run frees space, then publishes again
    uint64_t total = s_fill (client, 1, &refusal);
    assert (refusal == ZEB_EFULL && total > 100);
    //  Retention runs every 2 s: until then each try is refused at once
    s_refill_t refill = { client, total, 0, 0 };
    bool held = test_wait_until (s_refilled, &refill, 30000);
    assert (held);
    total = refill.total;
    zeb_fetch_t result;
    int rc = zeb_client_fetch (client, 1, 1000, 0, NULL, &result);
    assert (rc == 0 && result.last == total);
    assert (result.first > 1);                  //  retention removed the oldest
    zeb_fetch_reset (&result);
    zeb_client_destroy (&client);
    test_zebd_destroy (&zebd);
}

//  ---------------------------------------------------------------------
//  SIGTERM: clean exit, every acked event durable

typedef struct {
    uint64_t acked;
    uint64_t highest;
} s_tally_t;

static void
s_tally (const zeb_ack_t *ack, void *arg)
{
    s_tally_t *tally = (s_tally_t *) arg;
    if (ack->status == 0) {
        tally->acked++;
        if (ack->sequence > tally->highest)
            tally->highest = ack->sequence;
    }
}

static void
s_test_shutdown (void)
{
    test_zebd_t zebd;
    s_new_zebd (&zebd, NULL);
    zeb_client_t *client = s_client (&zebd);
    s_tally_t tally = { 0, 0 };
    for (int n = 1; n <= 20000; n++) {
        zeb_event_t *event = s_event ("order.placed", NULL, n);
        int rc = zeb_client_publish_async (client, event, s_tally, &tally);
        assert (rc == 0);
        zeb_event_destroy (&event);
    }
    //  Terminate while acks are still coming in
    zeb_client_poll (client, 10);
    int status = test_zebd_stop (&zebd);
    assert (status == 0);
    zeb_client_set_timeout (client, 500);
    zeb_client_flush (client, 1000);     //  acks sent before the exit
    zeb_client_destroy (&client);
    assert (tally.acked > 0);

    s_start (&zebd);
    client = s_client (&zebd);
    uint64_t last;
    zlistx_t *events = s_read_all (client, &last);
    assert (last >= tally.highest && last >= tally.acked);
    s_assert_contiguous (events, last);
    zlistx_destroy (&events);
    zeb_client_destroy (&client);
    test_zebd_destroy (&zebd);
}

//  ---------------------------------------------------------------------
//  A bus subscriber that never reads costs zebd a bounded queue, and the
//  others are served

//  zebd's memory, kB, from /proc/PID/status ("VmRSS:", "VmHWM:"); -1 if absent
static int64_t
s_proc_kb (pid_t pid, const char *field)
{
    char path [64];
    snprintf (path, sizeof (path), "/proc/%d/status", (int) pid);
    FILE *file = fopen (path, "r");
    assert (file);
    char line [256];
    int64_t value = -1;
    while (fgets (line, sizeof (line), file))
        if (strncmp (line, field, strlen (field)) == 0)
            value = strtoll (line + strlen (field), NULL, 10);
    fclose (file);
    return value;
}

typedef struct {
    zeb_client_t *publisher;
    zeb_client_t *reader;
    zsock_t *stuck;
    bool reader_heard, stuck_heard;
} s_bus_probe_t;

//  Publish a probe; true once both subscribers have received one (the
//  stuck one reads that one message, and nothing more)
static bool
s_both_subscribed (void *arg)
{
    s_bus_probe_t *self = (s_bus_probe_t *) arg;
    s_publish (self->publisher, "probe.bus", NULL, 0);
    zeb_event_t *event = self->reader_heard? NULL: zeb_client_recv (self->reader, 20);
    if (event) {
        self->reader_heard = true;
        zeb_event_destroy (&event);
    }
    zmsg_t *msg = self->stuck_heard? NULL: zmsg_recv (self->stuck);
    if (msg) {
        self->stuck_heard = true;
        zmsg_destroy (&msg);
    }
    return self->reader_heard && self->stuck_heard;
}

typedef struct {
    zeb_client_t *reader;
    size_t wanted;
    volatile bool stop;
    volatile size_t received;   //  events of type bulk.event
} s_bus_reader_t;

static void *
s_bus_reader_thread (void *arg)
{
    s_bus_reader_t *self = (s_bus_reader_t *) arg;
    while (!self->stop && self->received < self->wanted) {
        zeb_event_t *event = zeb_client_recv (self->reader, 50);
        if (event && streq (zeb_event_type (event), "bulk.event"))
            self->received++;
        zeb_event_destroy (&event);
    }
    return NULL;
}

static bool
s_bus_read_all (void *arg)
{
    s_bus_reader_t *self = (s_bus_reader_t *) arg;
    return self->received >= self->wanted;
}

static bool
s_bus_empty (void *arg)
{
    return s_stat ((zeb_client_t *) arg, "ingest", "bus_subscriptions", NULL) == 0;
}

static void
s_test_slowbus (void)
{
    //  bus/sndbuf and the stuck SUB's small buffers keep the kernel from
    //  hiding the queue: what the stuck subscriber is sent beyond them
    //  waits in zebd, at most bus/hwm events
    test_zebd_t zebd;
    //  No reader of the log: the automations would map its pages (file
    //  pages in VmRSS), and this measures the bus's queue
    s_new_zebd (&zebd, "bus/hwm=100", "bus/sndbuf=64KiB", "node/actors=registry,ingest,log,outbox", NULL);
    zeb_client_t *publisher = s_client (&zebd);
    zeb_client_t *reader = s_client (&zebd);
    int rc = zeb_client_subscribe (reader, "");
    assert (rc == 0);
    zsock_t *stuck = zsock_new (ZMQ_SUB);
    assert (stuck);
    zsock_set_rcvhwm (stuck, 10);
    zsock_set_rcvbuf (stuck, 65536);
    zsock_set_rcvtimeo (stuck, 0);
    rc = zsock_connect (stuck, "%s", zebd.bus);
    assert (rc == 0);
    zsock_set_subscribe (stuck, "");
    s_bus_probe_t probe = { publisher, reader, stuck, false, false };
    bool subscribed = test_wait_until (s_both_subscribed, &probe, 10000);
    assert (subscribed);
    assert (s_stat (publisher, "ingest", "bus_hwm", NULL) == 100);
    //  zebd's own memory: RssAnon. The clean pages of LMDB's map that
    //  reads fault in (and the kernel's fault-around maps beside them)
    //  count in VmRSS too, but they are the page cache, not what zebd holds
    int64_t before_kb = s_proc_kb (zebd.pid, "RssAnon:");
    int64_t peak_kb = before_kb;

    //  5,000 events of 4 KiB (20 MiB) while the stuck one reads nothing:
    //  with the bus's queue as deep as ingest/hwm (100,000), as before,
    //  zebd held all of them for it
    s_bus_reader_t follower = { reader, 5000, false, 0 };
    pthread_t thread;
    pthread_create (&thread, NULL, s_bus_reader_thread, &follower);
    char *data = (char *) malloc (4096 + 64);
    memset (data, 'x', 4096 + 64);
    memcpy (data, "{\"pad\":\"", 8);
    memcpy (data + 4096 - 2, "\"}", 3);
    zeb_client_set_window (publisher, 50);          //  bursts within bus/hwm
    s_tally_t tally = { 0, 0 };
    for (int n = 1; n <= 5000; n++) {
        zeb_event_t *event = zeb_event_new ("bulk.event");
        zeb_event_set (event, "source", "zebd-test");
        rc = zeb_event_set_data_json (event, data, NULL);
        assert (rc == 0);
        rc = zeb_client_publish_async (publisher, event, s_tally, &tally);
        assert (rc == 0);
        zeb_event_destroy (&event);
        if (n % 100 == 0) {
            int64_t now_kb = s_proc_kb (zebd.pid, "RssAnon:");
            peak_kb = now_kb > peak_kb? now_kb: peak_kb;
        }
    }
    rc = zeb_client_flush (publisher, 30000);
    assert (rc == 0 && tally.acked == 5000);
    //  It may have missed some: then it waits the whole 2 s for them
    test_wait_until (s_bus_read_all, &follower, 2000);
    follower.stop = true;
    pthread_join (thread, NULL);
    free (data);
    int64_t after_kb = s_proc_kb (zebd.pid, "RssAnon:");
    peak_kb = after_kb > peak_kb? after_kb: peak_kb;
    int64_t overflows = s_stat (publisher, "ingest", "bus_overflows", NULL);
    printf ("(reader got %zu of 5000, RssAnon %lld kB before, peak %lld kB, %lld overflows) ",
            (size_t) follower.received, (long long) before_kb, (long long) peak_kb, (long long) overflows);
    //  The reader got a good share; the stuck one cost zebd at most 100
    //  events of 4 KiB: the peak stays within 12 MiB of the start, which
    //  covers the batches in flight, LMDB's dirty pages and the queues
    //  (the stuck subscriber's 20 MiB would not fit)
    fflush (stdout);
#if defined (__SANITIZE_ADDRESS__)
    //  AddressSanitizer's quarantine and shadow memory grow zebd's RSS with
    //  every allocation: the bound is checked in the plain build only
    (void) peak_kb;
#else
    assert (peak_kb - before_kb < 12 * 1024);
#endif
    assert (follower.received >= 2500);
    assert (overflows >= 1);

    //  When the subscribers go, zebd sees them go and keeps serving
    zsock_destroy (&stuck);
    zeb_client_destroy (&reader);
    bool empty = test_wait_until (s_bus_empty, publisher, 10000);
    assert (empty);
    s_publish (publisher, "bulk.event", NULL, 5001);
    zeb_client_destroy (&publisher);
    test_zebd_destroy (&zebd);
}

//  ---------------------------------------------------------------------
//  Validation on publish, against schemas in the registry

//  A request to the registry, raw; returns the reply command (caller frees)
static char *
s_registry_call (const char *endpoint, const char *command, const char *body_json)
{
    zsock_t *dealer = zsock_new_dealer (endpoint);
    assert (dealer);
    zsock_set_rcvtimeo (dealer, 5000);
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    int rc = zeb_json_pack_text (body_json, strlen (body_json), &body, NULL);
    assert (rc == 0);
    s_raw_send (dealer, command, body.data, body.size);
    s_raw_reply_t reply;
    s_raw_recv (dealer, &reply);
    msgpack_sbuffer_destroy (&body);
    zsock_destroy (&dealer);
    return strdup (reply.command);
}

static char *
s_register_body (const char *type, const char *schema)
{
    json_t *body = json_pack ("{s:s, s:s}", "type", type, "schema", schema);
    char *text = json_dumps (body, JSON_COMPACT);
    json_decref (body);
    return text;
}

//  Publish an order with this quantity (and dataschema, if any)
static int
s_publish_order (zeb_client_t *client, int quantity, const char *dataschema, zeb_ack_t *ack)
{
    zeb_event_t *event = zeb_event_new ("order.placed");
    zeb_event_set (event, "source", "zebd-test");
    if (dataschema)
        zeb_event_set (event, "dataschema", dataschema);
    char data [64];
    snprintf (data, sizeof (data), "{\"orderId\":\"O-1\",\"quantity\":%d}", quantity);
    int rc = zeb_event_set_data_json (event, data, NULL);
    assert (rc == 0);
    rc = zeb_client_publish (client, event, ack);
    zeb_event_destroy (&event);
    return rc;
}

#define S_ORDER_V1 "{\"type\":\"object\",\"required\":[\"orderId\",\"quantity\"]," \
    "\"properties\":{\"orderId\":{\"type\":\"string\"},\"quantity\":{\"type\":\"integer\"," \
    "\"minimum\":1,\"maximum\":10}}}"
#define S_ORDER_V2 "{\"type\":\"object\",\"required\":[\"orderId\",\"quantity\"]," \
    "\"properties\":{\"orderId\":{\"type\":\"string\"},\"quantity\":{\"type\":\"integer\"," \
    "\"minimum\":1,\"maximum\":100}}}"

//  A zebd with the registry, validation set as given, and order.placed
//  registered at version 1; returns a connected client
static zeb_client_t *
s_zebd_with_orders (test_zebd_t *zebd, const char *validation)
{
    s_new_zebd (zebd, "node/actors=ingest,log,registry", validation, NULL);
    zeb_client_t *client = s_client (zebd);
    char *body = s_register_body ("order.placed", S_ORDER_V1);
    char *reply = s_registry_call (zeb_client_registry_endpoint (client), "REGISTER", body);
    assert (streq (reply, "REGISTER"));
    free (reply);
    free (body);
    return client;
}

typedef struct {
    zeb_client_t *client;
    int quantity;
    bool refused;               //  wait for a refusal, else for an ack
    int rc;                     //  the last outcome
    zeb_ack_t ack;
} s_order_wait_t;

static bool
s_order_settled (void *arg)
{
    s_order_wait_t *self = (s_order_wait_t *) arg;
    self->rc = s_publish_order (self->client, self->quantity, NULL, &self->ack);
    return self->refused? self->rc != 0: self->rc == 0;
}

//  Publish orders of quantity until one is refused (refused) or stored
//  (!refused), at most 10 s: a notice from the registry is on its way.
//  Returns the last outcome, its ack in *ack.
static int
s_await_order (zeb_client_t *client, int quantity, bool refused, zeb_ack_t *ack)
{
    s_order_wait_t wait = { .client = client, .quantity = quantity, .refused = refused };
    bool held = test_wait_until (s_order_settled, &wait, 10000);
    assert (held);
    *ack = wait.ack;
    return wait.rc;
}

static void
s_test_validation (void)
{

    test_zebd_t zebd;
    s_new_zebd (&zebd, "node/actors=ingest,log,registry", "ingest/validation=enforce", NULL);
    zeb_client_t *client = s_client (&zebd);
    const char *endpoint = zeb_client_registry_endpoint (client);
    assert (endpoint);

    //  No schema yet: accepted
    zeb_ack_t ack;
    assert (s_publish_order (client, 50, NULL, &ack) == 0);
    char *body = s_register_body ("order.placed", S_ORDER_V1);
    char *reply = s_registry_call (endpoint, "REGISTER", body);
    assert (streq (reply, "REGISTER"));
    free (reply);
    free (body);

    //  The registration reaches ingest: an invalid event is refused once
    //  the schema is known (the cached "no schema" is dropped on notice)
    int rc = s_await_order (client, 50, true, &ack);
    assert (rc == ZEB_ESCHEMA);
    assert (strstr (ack.error, "/quantity") && strstr (ack.error, "maximum") && strstr (ack.error, "version 1"));
    assert (s_publish_order (client, 5, NULL, &ack) == 0);
    //  Missing data is checked too
    zeb_event_t *event = zeb_event_new ("order.placed");
    zeb_event_set (event, "source", "zebd-test");
    assert (zeb_client_publish (client, event, &ack) == ZEB_ESCHEMA);
    zeb_event_destroy (&event);

    //  An array of events of five types not seen yet: their lookups go out
    //  together, so the message is held once, not once per type
    uint64_t held_before = (uint64_t) s_stat (client, "ingest", "held_for_lookup", NULL);
    msgpack_sbuffer array;
    msgpack_sbuffer_init (&array);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &array, msgpack_sbuffer_write);
    msgpack_pack_array (&pk, 5);
    for (int index = 0; index < 5; index++) {
        char type [32];
        snprintf (type, sizeof (type), "array.type%d", index);
        zeb_event_t *item = s_event (type, NULL, index);
        zeb_event_encode (item, &array);
        zeb_event_destroy (&item);
    }
    assert (zeb_client_publish_raw (client, array.data, array.size, &ack) == 0);
    msgpack_sbuffer_destroy (&array);
    assert ((uint64_t) s_stat (client, "ingest", "held_for_lookup", NULL) == held_before + 1);

    //  A looser version 2: 50 passes now, unless the event says version 1
    body = s_register_body ("order.placed", S_ORDER_V2);
    reply = s_registry_call (endpoint, "REGISTER", body);
    assert (streq (reply, "REGISTER"));
    free (reply);
    free (body);
    rc = s_await_order (client, 50, false, &ack);
    assert (rc == 0);
    assert (s_publish_order (client, 50, "1", &ack) == ZEB_ESCHEMA);
    assert (s_publish_order (client, 50, "https://schemas.example.com/order.placed/2", &ack) == 0);
    assert (s_publish_order (client, 500, "order.placed:2", &ack) == ZEB_ESCHEMA);

    //  Refused events were not stored; counters say what happened
    uint64_t last;
    zlistx_t *events = s_read_all (client, &last);
    s_assert_contiguous (events, last);
    zeb_event_t *stored = (zeb_event_t *) zlistx_first (events);
    while (stored) {
        char *data = zeb_event_data_json (stored);
        bool order = streq (zeb_event_type (stored), "order.placed");
        if (order && zeb_event_sequence (stored) > 1 && !strstr (data, "\"quantity\":5,")
        &&  !strstr (data, "\"quantity\":5}"))
            assert (strstr (data, "\"quantity\":50"));
        free (data);
        stored = (zeb_event_t *) zlistx_next (events);
    }
    zlistx_destroy (&events);
    assert (s_stat (client, "ingest", "validation_refused", NULL) >= 4);
    assert (s_stat (client, "ingest", "nacks_by_reason", "SCHEMA_VIOLATION")
            == s_stat (client, "ingest", "validation_refused", NULL));
    assert (s_stat (client, "ingest", "validated", NULL) >= 6);
    zeb_client_destroy (&client);
    test_zebd_destroy (&zebd);

    //  warn: accepted and counted
    client = s_zebd_with_orders (&zebd, "ingest/validation=warn");
    assert (s_publish_order (client, 500, NULL, &ack) == 0);
    assert (s_stat (client, "ingest", "validation_warned", NULL) == 1);
    assert (s_stat (client, "ingest", "validation_refused", NULL) == 0);
    //  The type's own mode overrides the node's: enforce, then off
    reply = s_registry_call (zeb_client_registry_endpoint (client), "SET_VALIDATION",
                             "{\"type\":\"order.placed\",\"validation\":\"enforce\"}");
    assert (streq (reply, "SET_VALIDATION"));
    free (reply);
    rc = s_await_order (client, 500, true, &ack);
    assert (rc == ZEB_ESCHEMA);
    reply = s_registry_call (zeb_client_registry_endpoint (client), "SET_VALIDATION",
                             "{\"type\":\"order.placed\",\"validation\":\"off\"}");
    assert (streq (reply, "SET_VALIDATION"));
    free (reply);
    rc = s_await_order (client, 500, false, &ack);
    assert (rc == 0);
    zeb_client_destroy (&client);
    test_zebd_destroy (&zebd);

    //  off: nothing is looked up, anything goes
    client = s_zebd_with_orders (&zebd, "ingest/validation=off");
    assert (s_publish_order (client, 500, NULL, &ack) == 0);
    assert (s_stat (client, "ingest", "validated", NULL) == 0);
    assert (s_stat (client, "ingest", "schema_lookups", NULL) == 0);
    zeb_client_destroy (&client);
    test_zebd_destroy (&zebd);

    //  No registry to ask: events are accepted, and counted as unchecked
    int dead;
    char registry [64];
    snprintf (registry, sizeof (registry), "ingest/registry=tcp://127.0.0.1:%d", test_dead_port (&dead));
    s_new_zebd (&zebd, "node/actors=ingest,log", registry, "ingest/validation=enforce",
                "ingest/registry_timeout=200ms", NULL);
    client = s_client (&zebd);
    assert (zeb_client_registry_endpoint (client) == NULL);
    assert (s_publish_order (client, 500, NULL, &ack) == 0);
    assert (s_stat (client, "ingest", "validation_unavailable", NULL) == 1);
    //  ...and the outage is remembered: twenty events of twenty types the
    //  validator has never seen do not each wait for the registry (before,
    //  each cost ingest/registry_timeout of ingest's only thread: 4 s here)
    int64_t started = test_now_ms ();
    for (int index = 0; index < 20; index++) {
        char type [32];
        snprintf (type, sizeof (type), "unseen.type%d", index);
        s_publish (client, type, NULL, index);
    }
    assert (test_now_ms () - started < 2000);
    assert (s_stat (client, "ingest", "validation_unavailable", NULL) == 21);
    assert (s_stat (client, "ingest", "held_for_lookup", NULL) == 1);     //  the first only
    zeb_client_destroy (&client);
    test_zebd_destroy (&zebd);
    close (dead);
}

//  ---------------------------------------------------------------------
//  waiters: parked FETCHes are capped per connection and in all, and go
//  with their connection

//  A FETCH of the empty end of the log that waits 60 s, with 32 type
//  prefixes, tagged; raw, so that many can be in flight on one DEALER
static void
s_fetch_waiting (zsock_t *dealer, uint64_t from, int tag)
{
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    zeb_pack_t pack;
    zeb_pack_init (&pack, &body);
    zeb_pack_map (&pack, NULL);
    zeb_pack_uint (&pack, "from", from);
    zeb_pack_uint (&pack, "wait_ms", 60000);
    zeb_pack_array (&pack, "types");
    for (int index = 0; index < 32; index++) {
        char prefix [32];
        snprintf (prefix, sizeof (prefix), "nothing%02d.", index);
        zeb_pack_str (&pack, NULL, prefix);
    }
    zeb_pack_end (&pack);
    zeb_pack_end (&pack);
    char text [16];
    snprintf (text, sizeof (text), "w%d", tag);
    int rc = zeb_proto_send (zsock_resolve (dealer), NULL, "FETCH", body.data, body.size,
                             text, strlen (text), 0);
    assert (rc == 0);
    msgpack_sbuffer_destroy (&body);
}

//  A counter of the log's STATS, asked on the log endpoint
static int64_t
s_log_stat (zsock_t *dealer, const char *key)
{
    s_raw_send (dealer, "STATS", "\x80", 1);
    s_raw_reply_t reply;
    s_raw_recv (dealer, &reply);
    assert (streq (reply.command, "STATS"));
    json_t *stats = zeb_json_from_msgpack (reply.body, reply.body_size, NULL);
    assert (stats);
    json_t *value = json_object_get (stats, key);
    int64_t number = json_is_integer (value)? (int64_t) json_integer_value (value): -1;
    json_decref (stats);
    return number;
}

//  The reply is OVERLOADED naming the limit
static void
s_assert_overloaded (zsock_t *dealer, const char *limit)
{
    s_raw_reply_t reply;
    s_raw_recv (dealer, &reply);
    assert (s_is_nack (&reply, "OVERLOADED"));
    const char *error;
    size_t len;
    assert (zeb_proto_get_str (reply.body, reply.body_size, "error", &error, &len) == 0);
    char text [256];
    snprintf (text, sizeof (text), "%.*s", (int) len, error);
    assert (strstr (text, limit));
    if (strstr (limit, "per_peer") == NULL)
        assert (strstr (text, "per_peer") == NULL);
}

typedef struct {
    zsock_t *stats;
    int64_t waiting;
    int64_t dropped;
} s_waiting_t;

static bool
s_waiting_is (void *arg)
{
    s_waiting_t *self = (s_waiting_t *) arg;
    return s_log_stat (self->stats, "waiting") == self->waiting
        && (self->dropped < 0 || s_log_stat (self->stats, "waits_dropped") == self->dropped);
}

static void
s_test_waiters (void)
{
    test_zebd_t zebd;
    //  Without the automations, whose reader would be one more waiter
    s_new_zebd (&zebd, "log/max_waits=50", "log/max_waits_per_peer=10",
                "node/actors=registry,ingest,log,outbox", NULL);
    zsock_t *stats = zsock_new_dealer (zebd.log);
    assert (stats);
    zsock_set_rcvtimeo (stats, 5000);

    //  One connection: ten wait, the eleventh is refused at once
    zsock_t *dealers [6];
    for (int index = 0; index < 6; index++) {
        dealers [index] = zsock_new_dealer (zebd.log);
        assert (dealers [index]);
        zsock_set_rcvtimeo (dealers [index], 5000);
    }
    for (int tag = 1; tag <= 11; tag++)
        s_fetch_waiting (dealers [0], 1, tag);
    s_assert_overloaded (dealers [0], "log/max_waits_per_peer");
    assert (s_log_stat (stats, "waiting") == 10);

    //  Four more connections fill the node; the next one is refused
    for (int index = 1; index < 5; index++)
        for (int tag = 1; tag <= 10; tag++)
            s_fetch_waiting (dealers [index], 1, tag);
    s_waiting_t until = { stats, 50, -1 };
    assert (test_wait_until (s_waiting_is, &until, 5000));
    s_fetch_waiting (dealers [5], 1, 1);
    s_assert_overloaded (dealers [5], "log/max_waits");
    assert (s_log_stat (stats, "waits_refused") == 2);
    assert (s_log_stat (stats, "waits") == 50);

    //  They all leave: their waits go with them, unanswered
    for (int index = 0; index < 6; index++)
        zsock_destroy (&dealers [index]);
    until.waiting = 0;
    until.dropped = 50;
    assert (test_wait_until (s_waiting_is, &until, 5000));
    assert (s_log_stat (stats, "wait_timeouts") == 0);

    //  A new client's long-poll is served as soon as its event is stored
    zsock_t *reader = zsock_new_dealer (zebd.log);
    assert (reader);
    zsock_set_rcvtimeo (reader, 10000);
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    const char *poll = "{\"from\": 1, \"wait_ms\": 20000, \"types\": [\"order.\"]}";
    int rc = zeb_json_pack_text (poll, strlen (poll), &body, NULL);
    assert (rc == 0);
    s_raw_send (reader, "FETCH", body.data, body.size);
    msgpack_sbuffer_destroy (&body);
    until.waiting = 1;
    until.dropped = -1;
    assert (test_wait_until (s_waiting_is, &until, 5000));
    zeb_client_t *client = s_client (&zebd);
    zeb_ack_t ack = s_publish (client, "order.placed", NULL, 1);
    s_raw_reply_t reply;
    s_raw_recv (reader, &reply);
    assert (streq (reply.command, "EVENTS"));
    uint64_t count = 0;
    assert (zeb_proto_get_uint (reply.body, reply.body_size, "count", &count) == 0 && count == 1);
    assert (ack.sequence == 1);
    assert (s_log_stat (stats, "waiting") == 0);
    zeb_client_destroy (&client);
    zsock_destroy (&reader);
    zsock_destroy (&stats);
    test_zebd_destroy (&zebd);
}

//  ---------------------------------------------------------------------
//  Schemas that cost too much to check: refused, or cut short

static void
s_test_complexity (void)
{
    test_zebd_t zebd;
    s_new_zebd (&zebd, "node/actors=ingest,log,registry", "ingest/validation=enforce", NULL);
    zeb_client_t *client = s_client (&zebd);
    const char *endpoint = zeb_client_registry_endpoint (client);
    assert (endpoint);

    //  A schema that applies itself to the same value forever: 400
    zsock_t *registry = zsock_new_dealer (endpoint);
    assert (registry);
    zsock_set_rcvtimeo (registry, 5000);
    char *body = s_register_body ("tree.grown", "{\"allOf\":[{\"$ref\":\"#\"}]}");
    msgpack_sbuffer packed;
    msgpack_sbuffer_init (&packed);
    int rc = zeb_json_pack_text (body, strlen (body), &packed, NULL);
    assert (rc == 0);
    free (body);
    s_raw_send (registry, "REGISTER", packed.data, packed.size);
    s_raw_reply_t reply;
    s_raw_recv (registry, &reply);
    uint64_t code = 0;
    const char *text;
    size_t len;
    assert (s_is_nack (&reply, "INVALID_SCHEMA"));
    assert (zeb_proto_get_uint (reply.body, reply.body_size, "code", &code) == 0 && code == 400);
    assert (zeb_proto_get_str (reply.body, reply.body_size, "error", &text, &len) == 0);
    assert (memmem (text, len, "# -> #/allOf/0 -> #", 19));
    msgpack_sbuffer_destroy (&packed);
    zsock_destroy (&registry);

    //  Legal but exponential: 30 definitions, each applying the next twice
    //  to the same value; checking the number 1 would take 2^30 tries
    char schema [4096];
    len = (size_t) snprintf (schema, sizeof (schema), "{\"$ref\":\"#/$defs/d0\",\"$defs\":{");
    for (int level = 0; level < 30; level++)
        len += (size_t) snprintf (schema + len, sizeof (schema) - len,
                                  "\"d%d\":{\"anyOf\":[{\"$ref\":\"#/$defs/d%d\"},{\"$ref\":\"#/$defs/d%d\"}]},",
                                  level, level + 1, level + 1);
    snprintf (schema + len, sizeof (schema) - len, "\"d30\":{\"type\":\"string\"}}}");
    body = s_register_body ("tree.grown", schema);
    char *command = s_registry_call (endpoint, "REGISTER", body);
    assert (streq (command, "REGISTER"));
    free (command);
    free (body);

    //  Publish until the schema is known to ingest; each answered in time,
    //  the last refused as too costly to check
    zeb_event_t *tree = zeb_event_new ("tree.grown");
    zeb_event_set (tree, "source", "zebd-test");
    rc = zeb_event_set_data_json (tree, "1", NULL);
    assert (rc == 0);
    zeb_ack_t ack;
    int64_t deadline = test_now_ms () + 10000;
    do {
        int64_t sent = test_now_ms ();
        rc = zeb_client_publish (client, tree, &ack);
        assert (test_now_ms () - sent < 2000);
    } while (rc == 0 && test_now_ms () < deadline);
    assert (rc == ZEB_ESCHEMACOMPLEX);

    //  Another such event in flight, raw; meanwhile another client's
    //  PUBLISH and a HELLO are answered promptly
    zsock_t *attacker = s_raw_dealer (&zebd);
    msgpack_sbuffer encoded;
    msgpack_sbuffer_init (&encoded);
    s_encode (tree, &encoded);
    s_raw_send (attacker, "PUBLISH", encoded.data, encoded.size);
    zeb_client_t *other = s_client (&zebd);
    zeb_client_set_timeout (other, 2000);
    int64_t started = test_now_ms ();
    s_publish (other, "order.placed", NULL, 1);
    assert (test_now_ms () - started < 2000);
    zsock_t *greeter = s_raw_dealer (&zebd);
    zsock_set_rcvtimeo (greeter, 2000);
    started = test_now_ms ();
    s_raw_send (greeter, "HELLO", "\x81\xa7version\x01", 10);
    s_raw_recv (greeter, &reply);
    assert (streq (reply.command, "WELCOME") && test_now_ms () - started < 2000);
    s_raw_recv (attacker, &reply);
    assert (s_is_nack (&reply, "SCHEMA_TOO_COMPLEX"));
    assert (s_stat (other, "ingest", "validation_refused", NULL) >= 2);
    assert (s_stat (other, "ingest", "validation_too_complex", NULL) >= 2);
    assert (s_stat (other, "ingest", "nacks_by_reason", "SCHEMA_TOO_COMPLEX") >= 2);
    msgpack_sbuffer_destroy (&encoded);
    zeb_event_destroy (&tree);
    zsock_destroy (&greeter);
    zsock_destroy (&attacker);
    zeb_client_destroy (&other);
    zeb_client_destroy (&client);
    test_zebd_destroy (&zebd);
}

//  ---------------------------------------------------------------------

int
main (int argc, char *argv [])
{
    if (argc < 2) {
        fprintf (stderr, "usage: zebd_test /path/to/zebd [case]\n");
        return 2;
    }
    s_zebd = argv [1];
    const char *only = argc > 2? argv [2]: NULL;
    zsys_init ();
    zsys_set_logstream (NULL);
    test_case_t cases [] = {
        { "publish", s_test_publish },
        { "duplicate", s_test_duplicate },
        { "live", s_test_live },
        { "badinput", s_test_badinput },
        { "full", s_test_full },
        { "shutdown", s_test_shutdown },
        { "slowbus", s_test_slowbus },
        { "validation", s_test_validation },
        { "waiters", s_test_waiters },
        { "complexity", s_test_complexity }
    };
    test_run_cases (cases, sizeof (cases) / sizeof (cases [0]), only);
    return 0;
}
