/*  =========================================================================
    txn_test - the application's keys and its events, committed together

    Against an embedded node: a TXN's writes and events are both there
    after the ACK, a TXN with a bad event stores neither, deletes, an
    application database per name, and refusals. Against a zebd killed
    with SIGKILL right after its ACKs: every acknowledged TXN's keys and
    events are in the store when it is opened again.
    Usage: txn_test ZEBD
    =========================================================================
*/

#include "testutil.h"

static const char *s_zebd;

static zeb_event_t *
s_event (const char *type, int number, const char *key)
{
    return test_event_new (type, "txn-test", number, key);
}

//  The value of key in db, as a string (caller frees), or NULL
static char *
s_get (zeb_node_t *node, const char *db, const char *key)
{
    void *value;
    size_t size;
    if (zeb_node_get (node, db, key, strlen (key), &value, &size))
        return NULL;
    char *text = strndup ((char *) value, size);
    free (value);
    return text;
}

static void
s_test_embedded (void)
{
    char dir [256];
    zeb_node_t *node = test_node_embedded (dir, sizeof (dir));
    const char *ingest = zeb_node_endpoint (node, "ingest");
    zeb_txn_t *txn = zeb_txn_new (ingest, "orders");
    assert (txn);

    //  Keys and events together
    assert (zeb_txn_put (txn, "order/1", 7, "placed", 6) == 0);
    assert (zeb_txn_put (txn, "order/2", 7, "placed", 6) == 0);
    zeb_event_t *event = s_event ("order.placed", 1, NULL);
    assert (zeb_txn_publish (txn, event) == 0);
    zeb_event_destroy (&event);
    event = s_event ("order.placed", 2, NULL);
    assert (zeb_txn_publish (txn, event) == 0);
    zeb_event_destroy (&event);
    zeb_ack_t ack;
    int rc = zeb_txn_commit (txn, &ack);
    if (rc)
        fprintf (stderr, "commit: %s\n", ack.error);
    assert (rc == 0 && ack.sequence == 1);
    char *value = s_get (node, "orders", "order/1");
    assert (value && streq (value, "placed"));
    free (value);
    zeb_client_t *client = zeb_client_new (ingest);
    zeb_fetch_t fetch;
    assert (zeb_client_fetch (client, 1, 10, 0, NULL, &fetch) == 0);
    assert (zlistx_size (fetch.events) == 2);
    zeb_fetch_reset (&fetch);

    //  A bad event: neither the writes nor the good event are stored
    assert (zeb_txn_put (txn, "order/3", 7, "placed", 6) == 0);
    event = s_event ("order.placed", 3, NULL);
    assert (zeb_txn_publish (txn, event) == 0);
    zeb_event_destroy (&event);
    //  An event the node refuses (an extension name it does not take),
    //  raw: the client would refuse it itself
    msgpack_sbuffer raw;
    msgpack_sbuffer_init (&raw);
    const char *bad = "{\"type\":\"order.placed\",\"source\":\"s\",\"Bad-Name\":\"x\"}";
    assert (zeb_json_pack_text (bad, strlen (bad), &raw, NULL) == 0);
    zsock_t *dealer = zsock_new_dealer (ingest);
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &body, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 3);
    msgpack_pack_str_with_body (&pk, "db", 2);
    msgpack_pack_str_with_body (&pk, "orders", 6);
    msgpack_pack_str_with_body (&pk, "writes", 6);
    msgpack_pack_array (&pk, 1);
    msgpack_pack_array (&pk, 2);
    msgpack_pack_str_with_body (&pk, "order/4", 7);
    msgpack_pack_str_with_body (&pk, "placed", 6);
    msgpack_pack_str_with_body (&pk, "events", 6);
    msgpack_pack_array (&pk, 1);
    msgpack_sbuffer_write (&body, raw.data, raw.size);
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, "TXN");
    zmsg_addmem (msg, body.data, body.size);
    zmsg_send (&msg, dealer);
    msg = zmsg_recv (dealer);
    char *command = zmsg_popstr (msg);
    assert (streq (command, "NACK"));
    zstr_free (&command);
    zmsg_destroy (&msg);
    value = s_get (node, "orders", "order/4");
    assert (value == NULL);
    //  The good one in hand still commits
    assert (zeb_txn_commit (txn, &ack) == 0);
    value = s_get (node, "orders", "order/3");
    assert (value && streq (value, "placed"));
    free (value);

    //  Refusals name what is wrong; the node goes on serving
    const char *refusals [][2] = {
        { "{\"writes\":[]}", "db" },
        { "{\"db\":\"orders\"}", "writes" },
        { "{\"db\":\"orders\",\"writes\":[[\"\",\"v\"]]}", "key" },
        { "{\"db\":\"orders\",\"writes\":[[\"k\",5]]}", "value" },
        { "{\"db\":\"orders\",\"writes\":[\"k\"]}", "[key, value]" },
        { "{\"db\":\"orders\",\"writes\":[],\"events\":5}", "events" },
    };
    for (size_t index = 0; index < sizeof (refusals) / sizeof (refusals [0]); index++) {
        msgpack_sbuffer_clear (&body);
        assert (zeb_json_pack_text (refusals [index][0], strlen (refusals [index][0]), &body, NULL) == 0);
        msg = zmsg_new ();
        zmsg_addstr (msg, "TXN");
        zmsg_addmem (msg, body.data, body.size);
        zmsg_send (&msg, dealer);
        msg = zmsg_recv (dealer);
        command = zmsg_popstr (msg);
        zframe_t *frame = zmsg_pop (msg);
        json_t *nack = zeb_json_from_msgpack (zframe_data (frame), zframe_size (frame), NULL);
        const char *error = json_string_value (json_object_get (nack, "error"));
        if (!streq (command, "NACK") || !error || !strstr (error, refusals [index][1]))
            fprintf (stderr, "%s: %s %s\n", refusals [index][0], command, error? error: "");
        assert (streq (command, "NACK") && strstr (error, refusals [index][1]));
        json_decref (nack);
        zframe_destroy (&frame);
        zstr_free (&command);
        zmsg_destroy (&msg);
    }
    msgpack_sbuffer_destroy (&body);
    msgpack_sbuffer_destroy (&raw);
    zsock_destroy (&dealer);

    //  Deletes, write-only transactions, and one database per name
    assert (zeb_txn_delete (txn, "order/1", 7) == 0);
    assert (zeb_txn_commit (txn, &ack) == 0);
    assert (s_get (node, "orders", "order/1") == NULL);
    zeb_txn_t *other = zeb_txn_new (ingest, "customers");
    assert (zeb_txn_put (other, "order/2", 7, "a customer", 10) == 0);
    assert (zeb_txn_commit (other, &ack) == 0);
    value = s_get (node, "orders", "order/2");
    assert (value && streq (value, "placed"));
    free (value);
    value = s_get (node, "customers", "order/2");
    assert (value && streq (value, "a customer"));
    free (value);
    assert (s_get (node, "nothing", "order/2") == NULL);
    zeb_txn_destroy (&other);

    //  The events of a TXN are deduplicated like any others
    event = s_event ("order.placed", 9, "key-9");
    zeb_txn_publish (txn, event);
    assert (zeb_txn_commit (txn, &ack) == 0);
    uint64_t first = ack.sequence;
    zeb_txn_publish (txn, event);
    zeb_txn_put (txn, "after", 5, "dup", 3);
    assert (zeb_txn_commit (txn, &ack) == 0);
    assert (ack.sequence == first);
    zeb_event_destroy (&event);

    zeb_client_destroy (&client);
    zeb_txn_destroy (&txn);
    zeb_node_destroy (&node);
    test_rmtree (dir);
    printf ("txn: embedded OK\n");
}

//  Acknowledged TXNs survive SIGKILL: read the store back directly
static void
s_test_kill (void)
{
    test_zebd_t zebd;
    test_zebd_init (&zebd, s_zebd);
    test_zebd_set (&zebd, "ingest/sync=always");
    assert (test_zebd_start (&zebd, 15000) == 0);
    zeb_txn_t *txn = zeb_txn_new (zebd.ingest, "state");
    assert (txn);
    int acked = 0;
    for (int index = 0; index < 200; index++) {
        char key [32], value [32];
        snprintf (key, sizeof (key), "k/%d", index);
        snprintf (value, sizeof (value), "v%d", index);
        zeb_txn_put (txn, key, strlen (key), value, strlen (value));
        zeb_event_t *event = s_event ("state.changed", index, NULL);
        zeb_txn_publish (txn, event);
        zeb_event_destroy (&event);
        if (zeb_txn_commit (txn, NULL) == 0)
            acked = index + 1;
    }
    assert (acked == 200);
    test_zebd_kill (&zebd);
    //  Open the store as the next zebd would, and check every ack
    char path [300];
    snprintf (path, sizeof (path), "%s/events", zebd.data);
    zeb_lmdb_options_t options = { 0, 0, { "events", "dedup", "dedupexp", "times", "meta", NULL } };
    zeb_lmdb_t *lmdb = zeb_lmdb_open (path, &options, NULL);
    assert (lmdb);
    MDB_dbi dbi;
    assert (zeb_lmdb_dbi_open (lmdb, "app/state", false, &dbi) == 0);
    MDB_txn *read;
    assert (zeb_lmdb_read_begin (lmdb, &read) == 0);
    for (int index = 0; index < acked; index++) {
        char key [32], value [32];
        snprintf (key, sizeof (key), "k/%d", index);
        snprintf (value, sizeof (value), "v%d", index);
        MDB_val k = { strlen (key), key }, v;
        assert (mdb_get (read, dbi, &k, &v) == 0);
        assert (v.mv_size == strlen (value) && memcmp (v.mv_data, value, v.mv_size) == 0);
    }
    MDB_stat stat;
    mdb_stat (read, zeb_lmdb_dbi (lmdb, 0), &stat);
    assert (stat.ms_entries == (size_t) acked);
    zeb_lmdb_read_end (lmdb, read);
    zeb_lmdb_close (&lmdb);
    zeb_txn_destroy (&txn);
    test_zebd_destroy (&zebd);
    printf ("txn: SIGKILL OK\n");
}

int
main (int argc, char *argv [])
{
    assert (argc >= 2);
    s_zebd = argv [1];
    zsys_init ();
    zeb_set_quiet (true);
    s_test_embedded ();
    s_test_kill ();
    return 0;
}
