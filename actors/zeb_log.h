/*  =========================================================================
    zeb_log - the log actor: durable reads of the event log by sequence

    Answers FETCH on a ROUTER from the LMDB log that ingest writes: events
    from any retained sequence (or from a time), filtered by type prefixes,
    in order, batched. A FETCH that finds nothing may wait (long-poll) up
    to wait_ms for new commits, which the log hears of on ingest's notify
    socket. This is how every consumer that must not miss an event reads:
    the consumer keeps its cursor (the `next` of each reply) and nothing
    is lost however slow it is, as long as retention keeps the events.

    Requests on its ROUTER (log/endpoint): FETCH {from?, time?, max?,
    max_bytes?, types?, wait_ms?} -> EVENTS {first, last, next, count,
    events}, or NACK OVERLOADED when it would wait past log/max_waits or
    log/max_waits_per_peer; a single empty frame [""] -> no reply, the
    sender's waiting FETCHes dropped (as when it disconnects); STATS ->
    STATS. Built with the actor kit (zeb_actor.h): the
    pipe speaks the kit's START, PEER, STATS and $TERM.
    =========================================================================
*/

#ifndef ZEB_LOG_H_INCLUDED
#define ZEB_LOG_H_INCLUDED

#ifdef __cplusplus
extern "C" {
#endif

//  The actor, for the node's table: zactor_new (zeb_actor_main, &zeb_log_def).
extern const zeb_actor_def_t zeb_log_def;

//  Self test
void
    zeb_log_test (bool verbose);

#ifdef __cplusplus
}
#endif

#endif
