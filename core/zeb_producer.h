/*  =========================================================================
    zeb_producer - publish and wait for each ack, over a direct connection

    For the application that publishes one event per request and waits
    for it to be stored: the common case, where a round trip is the whole
    cost. zeb_producer speaks ZMTP itself over one TCP connection to a
    node's ingest endpoint (zeb_zmtp), so an ack costs one write and one
    read on the caller's thread; zeb_client hands every message to
    libzmq's I/O thread and back, which costs two thread wake-ups each way
    and is what pipelining, subscriptions and the log need. Same protocol
    (HELLO, PUBLISH, ACK/NACK; docs/PROTOCOL.md), same acks, same node.

    One producer is one connection, for one thread at a time. It connects
    on first use and again after the connection broke; a publish whose
    connection broke while it waited fails with ZEB_EUNREACHABLE and one
    with no ack in time with ZEB_ETIMEOUT: in both cases the event may or
    may not be stored, so publish it again with an idempotency key to
    have it stored once. Endpoints are tcp://host:port only.
    =========================================================================
*/

#ifndef ZEB_PRODUCER_H_INCLUDED
#define ZEB_PRODUCER_H_INCLUDED

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _zeb_producer_t zeb_producer_t;

//  A producer for the node at endpoint (its ingest endpoint,
//  "tcp://127.0.0.1:7700"). Does not connect yet. NULL if endpoint is not
//  tcp://host:port.
zeb_producer_t *
    zeb_producer_new (const char *endpoint);

//  Close and free; safe with NULL, nulls the caller's pointer.
void
    zeb_producer_destroy (zeb_producer_t **self_p);

//  How long connecting, and each publish, may take (default
//  ZEB_CLIENT_TIMEOUT, 5 s).
void
    zeb_producer_set_timeout (zeb_producer_t *self, int timeout_ms);

//  Connect and greet the node (HELLO, WELCOME), unless connected. 0,
//  ZEB_EUNREACHABLE, ZEB_EVERSION or ZEB_EPROTOCOL; zeb_producer_error
//  says why.
int
    zeb_producer_connect (zeb_producer_t *self);

//  Publish one event and wait for its ack: 0 with ack->sequence, or the
//  error, also in ack->status (ack may be NULL). The event is checked
//  (zeb_event_validate) before it is sent.
int
    zeb_producer_publish (zeb_producer_t *self, zeb_event_t *event, zeb_ack_t *ack);

//  The same for an encoded event, or an array of events (ack->sequence
//  is then the first one's).
int
    zeb_producer_publish_raw (zeb_producer_t *self, const void *data, size_t size, zeb_ack_t *ack);

//  Why the last call failed, for people
const char *
    zeb_producer_error (zeb_producer_t *self);

#ifdef __cplusplus
}
#endif

#endif
