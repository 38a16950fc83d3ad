/*  =========================================================================
    zeb_log - the log actor: durable reads of the event log by sequence

    Answers FETCH on a ROUTER from the LMDB log that ingest writes: events
    from any retained sequence (or from a time), filtered by type prefixes,
    in order, batched. A FETCH that finds nothing may wait (long-poll) up
    to wait_ms for new commits, which the log hears of on ingest's notify
    socket. This is how every consumer that must not miss an event reads:
    the consumer keeps its cursor (the `next` of each reply) and nothing
    is lost however slow it is, as long as retention keeps the events.

    Pipe commands:

      START config      config is a zconfig_t * (borrowed until the reply).
                        Replies "is": 0, endpoint as bound; or -1, error.
      STATS             Replies one frame: the msgpack STATS map.
      $TERM             Stop.
    =========================================================================
*/

#ifndef ZEB_LOG_H_INCLUDED
#define ZEB_LOG_H_INCLUDED

#ifdef __cplusplus
extern "C" {
#endif

//  The actor; create with zactor_new (zeb_log_actor, NULL).
void
    zeb_log_actor (zsock_t *pipe, void *args);

//  Self test
void
    zeb_log_test (bool verbose);

#ifdef __cplusplus
}
#endif

#endif
