/*  =========================================================================
    zeb_txn - the application's own keys and its events, committed together

    The outbox pattern without a second database (seed S0's Pattern 6): an
    application writes keys of its own (a database "app/NAME" in the
    node's event store) and publishes events in one transaction. Ingest
    takes both in one TXN request (docs/PROTOCOL.md) and its writer stores
    them in the same LMDB transaction as the events of the group commit:
    after the ACK both are durable, and if the TXN is refused (a bad
    event, storage full) neither is. Handlers and automations see the
    events once they are in the log, that is, after the commit.

        zeb_txn_t *txn = zeb_txn_new (ingest_endpoint, "orders");
        zeb_txn_put (txn, "order/42", 8, "{\"state\":\"placed\"}", 18);
        zeb_txn_publish (txn, event);           //  order.placed
        if (zeb_txn_commit (txn, &ack) == 0)    //  both stored
            ...

    A TXN whose reply was lost (timeout) may or may not have been applied;
    sending it again is safe when its events carry idempotency keys (they
    are stored once) and its writes are puts and deletes (they leave the
    same state). Reads: zeb_node_get, in the node's process.

    Limits: ZEB_TXN_MAX_WRITES (10,000) writes and the node's
    max_publish events per TXN; keys 1..511 bytes; values at most the
    node's max_event_size; at most 32 application databases per node.
    =========================================================================
*/

#ifndef ZEB_TXN_H_INCLUDED
#define ZEB_TXN_H_INCLUDED

#ifdef __cplusplus
extern "C" {
#endif

#define ZEB_TXN_MAX_WRITES  10000       //  writes of one TXN

typedef struct _zeb_txn_t zeb_txn_t;

//  A transaction on the application database db (1..64 bytes) of the
//  node whose ingest endpoint this is. Returns NULL on a bad endpoint or
//  name. Reusable: after commit or discard it is empty again.
zeb_txn_t *
    zeb_txn_new (const char *endpoint, const char *db);

//  Destroy; what was not committed is dropped. Safe with NULL.
void
    zeb_txn_destroy (zeb_txn_t **self_p);

//  Timeout of commit, ms (default ZEB_CLIENT_TIMEOUT).
void
    zeb_txn_set_timeout (zeb_txn_t *self, int timeout_ms);

//  Write a key (copied), or delete one, when the transaction commits.
//  Returns 0, or ZEB_EINVALID (key not 1..511 bytes) / ZEB_ETOOBIG.
int
    zeb_txn_put (zeb_txn_t *self, const void *key, size_t key_size, const void *value,
                 size_t value_size);
int
    zeb_txn_delete (zeb_txn_t *self, const void *key, size_t key_size);

//  Publish this event (encoded now: later changes to it do not count)
//  when the transaction commits. Returns 0 or an error code.
int
    zeb_txn_publish (zeb_txn_t *self, zeb_event_t *event);

//  Send the transaction and wait for its outcome; it is empty afterwards
//  either way. ack (may be NULL) gets the status, the first event's
//  sequence, and the node's reason for a NACK (its index: the offending
//  event). Returns ack->status: 0 when the writes and events are stored.
int
    zeb_txn_commit (zeb_txn_t *self, zeb_ack_t *ack);

//  Drop the writes and events not yet committed.
void
    zeb_txn_discard (zeb_txn_t *self);

//  Writes and events waiting for commit.
size_t
    zeb_txn_size (zeb_txn_t *self);

//  Self test (tests/txn_test.c runs it against a real node)
void
    zeb_txn_test (bool verbose);

#ifdef __cplusplus
}
#endif

#endif
