/*  =========================================================================
    zeb_ingest - the ingest actor: producers' front door and the event bus

    Receives PUBLISH from producers on a ROUTER, validates, deduplicates,
    appends whole batches to the log in one LMDB transaction, syncs, then
    acknowledges each PUBLISH and announces the committed events on the bus
    (XPUB, topic = event type) and on the notify socket (PUB, for log
    readers). See docs/PROTOCOL.md for the wire protocol, docs/DESIGN.md for
    the batch cycle.

    Pipe commands (the node, or a test, drives these with zsock_send):

      START config      config is a zconfig_t * (borrowed until the reply).
                        Replies "isss": 0, ingest endpoint, bus endpoint,
                        notify endpoint as bound (a '*' port resolved), or
                        "is": -1, error text.
      ADVERTISE log ep  The log endpoint to give clients in WELCOME. No reply.
      STATS             Replies one frame: the msgpack STATS map.
      $TERM             Finish the batch in hand and stop.
    =========================================================================
*/

#ifndef ZEB_INGEST_H_INCLUDED
#define ZEB_INGEST_H_INCLUDED

#ifdef __cplusplus
extern "C" {
#endif

//  The actor; create with zactor_new (zeb_ingest_actor, NULL).
void
    zeb_ingest_actor (zsock_t *pipe, void *args);

//  Self test
void
    zeb_ingest_test (bool verbose);

#ifdef __cplusplus
}
#endif

#endif
