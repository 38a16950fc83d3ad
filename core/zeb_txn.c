/*  =========================================================================
    zeb_txn - the application's own keys and its events, committed together
    =========================================================================
*/

#include "zeb_classes.h"

#define S_KIND  'T'

struct _zeb_txn_t {
    zsock_t *socket;
    char db [65];
    int timeout;
    uint64_t tags;
    msgpack_sbuffer writes;         //  [key, value|nil] pairs, one after another
    uint32_t write_count;
    msgpack_sbuffer events;         //  encoded events, one after another
    uint32_t event_count;
};

zeb_txn_t *
zeb_txn_new (const char *endpoint, const char *db)
{
    if (!endpoint || !db || !*db || strlen (db) > 64 || zeb_config_parse_endpoint (endpoint))
        return NULL;
    zeb_txn_t *self = (zeb_txn_t *) zmalloc (sizeof (zeb_txn_t));
    assert (self);
    self->socket = zeb_proto_dealer_new (endpoint, 0, 0);
    if (!self->socket) {
        free (self);
        return NULL;
    }
    snprintf (self->db, sizeof (self->db), "%s", db);
    self->timeout = ZEB_CLIENT_TIMEOUT;
    msgpack_sbuffer_init (&self->writes);
    msgpack_sbuffer_init (&self->events);
    return self;
}

void
zeb_txn_destroy (zeb_txn_t **self_p)
{
    assert (self_p);
    zeb_txn_t *self = *self_p;
    if (self) {
        zsock_destroy (&self->socket);
        msgpack_sbuffer_destroy (&self->writes);
        msgpack_sbuffer_destroy (&self->events);
        free (self);
        *self_p = NULL;
    }
}

void
zeb_txn_set_timeout (zeb_txn_t *self, int timeout_ms)
{
    assert (self);
    self->timeout = timeout_ms > 0? timeout_ms: 1;
}

static int
s_write (zeb_txn_t *self, const void *key, size_t key_size, const void *value, size_t value_size,
         bool remove)
{
    assert (self);
    if (!key || key_size == 0 || key_size > 511)
        return ZEB_EINVALID;
    if (self->write_count == ZEB_TXN_MAX_WRITES || value_size > UINT32_MAX)
        return ZEB_ETOOBIG;
    msgpack_packer pk;
    msgpack_packer_init (&pk, &self->writes, msgpack_sbuffer_write);
    msgpack_pack_array (&pk, 2);
    msgpack_pack_bin (&pk, key_size);
    msgpack_pack_bin_body (&pk, key, key_size);
    if (remove)
        msgpack_pack_nil (&pk);
    else {
        msgpack_pack_bin (&pk, value_size);
        msgpack_pack_bin_body (&pk, value, value_size);
    }
    self->write_count++;
    return 0;
}

int
zeb_txn_put (zeb_txn_t *self, const void *key, size_t key_size, const void *value, size_t value_size)
{
    return s_write (self, key, key_size, value? value: "", value? value_size: 0, false);
}

int
zeb_txn_delete (zeb_txn_t *self, const void *key, size_t key_size)
{
    return s_write (self, key, key_size, NULL, 0, true);
}

int
zeb_txn_publish (zeb_txn_t *self, zeb_event_t *event)
{
    assert (self);
    assert (event);
    zeb_fault_t fault;
    int rc = zeb_event_validate (event, &fault);
    if (rc)
        return rc;
    if (zeb_event_encode (event, &self->events))
        return ZEB_ERROR;
    self->event_count++;
    return 0;
}

void
zeb_txn_discard (zeb_txn_t *self)
{
    assert (self);
    msgpack_sbuffer_clear (&self->writes);
    msgpack_sbuffer_clear (&self->events);
    self->write_count = self->event_count = 0;
}

size_t
zeb_txn_size (zeb_txn_t *self)
{
    assert (self);
    return self->write_count + self->event_count;
}

//  The ACK or NACK of a TXN into ack
static void
s_outcome (zeb_proto_reply_t *reply, zeb_ack_t *ack)
{
    size_t size;
    const void *body = zeb_proto_reply_body (reply, &size);
    if (zeb_proto_reply_is (reply, ZEB_CMD_NACK)) {
        zeb_fault_t fault = { 0 };
        if (zeb_proto_parse_nack (body, size, &fault, &ack->index))
            fault.code = ZEB_EPROTOCOL;
        ack->status = fault.code? fault.code: ZEB_ERROR;
        snprintf (ack->error, sizeof (ack->error), "%s", fault.text);
    }
    else
    if (zeb_proto_reply_is (reply, ZEB_CMD_ACK) && body) {
        zeb_mpk_t sequences;
        uint32_t count;
        uint64_t first = 0;
        if (zeb_mpk_find (body, size, "sequences", &sequences) == 0
        &&  zeb_mpk_read_array (&sequences, &count) == 0 && count > 0)
            zeb_mpk_read_uint (&sequences, &first);
        ack->sequence = first;
    }
    else {
        ack->status = ZEB_EPROTOCOL;
        snprintf (ack->error, sizeof (ack->error), "the node answered TXN with another command");
    }
}

int
zeb_txn_commit (zeb_txn_t *self, zeb_ack_t *ack)
{
    assert (self);
    zeb_ack_t local;
    if (!ack)
        ack = &local;
    memset (ack, 0, sizeof (*ack));
    ack->index = -1;
    //  {db, writes: [...], events: [...]}
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &body, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 3);
    msgpack_pack_str (&pk, 2);
    msgpack_pack_str_body (&pk, "db", 2);
    msgpack_pack_str (&pk, strlen (self->db));
    msgpack_pack_str_body (&pk, self->db, strlen (self->db));
    msgpack_pack_str (&pk, 6);
    msgpack_pack_str_body (&pk, "writes", 6);
    msgpack_pack_array (&pk, self->write_count);
    msgpack_sbuffer_write (&body, self->writes.data, self->writes.size);
    msgpack_pack_str (&pk, 6);
    msgpack_pack_str_body (&pk, "events", 6);
    msgpack_pack_array (&pk, self->event_count);
    msgpack_sbuffer_write (&body, self->events.data, self->events.size);
    zeb_txn_discard (self);
    int64_t start = zeb_time_mono_us ();
    int64_t deadline = start / 1000 + self->timeout;
    uint8_t tag [ZEB_PROTO_TAG_SIZE];
    uint64_t want = zeb_proto_tag_next (&self->tags, S_KIND, tag);
    int rc = zeb_proto_send_until (zsock_resolve (self->socket), ZEB_CMD_TXN, body.data, body.size,
                                   tag, deadline);
    msgpack_sbuffer_destroy (&body);
    if (rc) {
        ack->status = rc;
        snprintf (ack->error, sizeof (ack->error), "the node cannot be reached");
        return rc;
    }
    zeb_proto_reply_t reply;
    if (zeb_proto_reply_await (zsock_resolve (self->socket), S_KIND, want, deadline, &reply, NULL, NULL)) {
        ack->status = ZEB_ETIMEOUT;
        snprintf (ack->error, sizeof (ack->error), "no answer within %d ms: the transaction may or may not "
                  "have been stored", self->timeout);
        return ack->status;
    }
    s_outcome (&reply, ack);
    zeb_proto_reply_close (&reply);
    ack->latency_us = zeb_time_mono_us () - start;
    return ack->status;
}

//  ---------------------------------------------------------------------
//  Self test: what the class checks itself (tests/txn_test.c: a node)

void
zeb_txn_test (bool verbose)
{
    printf (" * zeb_txn: ");
    assert (zeb_txn_new ("nowhere", "db") == NULL);
    assert (zeb_txn_new ("inproc://zeb-txn-test", "") == NULL);
    zeb_txn_t *txn = zeb_txn_new ("inproc://zeb-txn-test", "orders");
    assert (txn);
    assert (zeb_txn_put (txn, "", 0, "v", 1) == ZEB_EINVALID);
    char key [600];
    memset (key, 'k', sizeof (key));
    assert (zeb_txn_put (txn, key, 512, "v", 1) == ZEB_EINVALID);
    assert (zeb_txn_put (txn, key, 511, "v", 1) == 0);
    assert (zeb_txn_delete (txn, "gone", 4) == 0);
    zeb_event_t *event = zeb_event_new ("order.placed");
    assert (zeb_txn_publish (txn, event) == ZEB_EMISSING);     //  no source
    zeb_event_set (event, "source", "shop");
    assert (zeb_txn_publish (txn, event) == 0);
    assert (zeb_txn_size (txn) == 3);
    zeb_txn_discard (txn);
    assert (zeb_txn_size (txn) == 0);
    //  Nobody at the endpoint: a timeout, and the transaction is empty
    zeb_txn_set_timeout (txn, 50);
    zeb_txn_put (txn, "a", 1, "b", 1);
    zeb_ack_t ack;
    int rc = zeb_txn_commit (txn, &ack);
    assert (rc == ZEB_ETIMEOUT || rc == ZEB_EUNREACHABLE);
    assert (ack.status == rc && zeb_txn_size (txn) == 0);
    zeb_event_destroy (&event);
    zeb_txn_destroy (&txn);
    zeb_txn_destroy (&txn);
    printf ("OK\n");
}
