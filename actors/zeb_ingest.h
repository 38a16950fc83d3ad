/*  =========================================================================
    zeb_ingest - the ingest actor: producers' front door and the event bus

    Receives PUBLISH from producers on a ROUTER, validates, deduplicates,
    appends whole batches to the log in one LMDB transaction, syncs, then
    acknowledges each PUBLISH and announces the committed events on the bus
    (XPUB, topic = event type) and on the notify socket (PUB, for log
    readers). See docs/PROTOCOL.md for the wire protocol, docs/DESIGN.md for
    the batch cycle.

    Requests on its ROUTER (ingest/endpoint): PUBLISH (its own receive
    loop: the hot path), HELLO -> WELCOME and STATS through the actor
    kit's request engine (zeb_router). Built with the kit (zeb_actor.h):
    START reports the endpoints "ingest", "bus" and "notify"; PEER "log"
    and "registry" give the endpoints WELCOME advertises; producers are
    read only after the end of the peer list. $TERM finishes and
    acknowledges the batch in hand first.
    =========================================================================
*/

#ifndef ZEB_INGEST_H_INCLUDED
#define ZEB_INGEST_H_INCLUDED

#ifdef __cplusplus
extern "C" {
#endif

//  The actor, for the node's table, and its configuration keys (which
//  ingest's store writer reads too).
extern const zeb_actor_def_t zeb_ingest_def;
extern const zeb_config_key_t zeb_ingest_config [];

//  Self test
void
    zeb_ingest_test (bool verbose);

#ifdef __cplusplus
}
#endif

#endif
