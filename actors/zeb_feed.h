/*  =========================================================================
    zeb_feed - a durable reader of the log that turns events into outbox runs

    An embedded handler (zeb_node_on) is two threads: a feed, which reads
    the log from the handler's cursor and enqueues one run per event of
    its types, and an executor host that calls the handler for the runs'
    actions. The feed's cursor lives in the outbox and is stored in the
    same transaction as the runs it enqueues (ENQUEUE's cursor), so a feed
    that crashes at any point starts again where the stored runs end: no
    event is enqueued twice, none is skipped.

    A feed reads events of its prefix ("inventory.product."; "*" or ""
    for every type). Every-type feeds skip the node's own zeb.* events (a
    handler that failed on zeb.dead_letter would otherwise feed itself);
    a prefix that starts with "zeb." reads them.

    The run's id is derived from the handler id and the event's
    idempotency key (the key function's, if the handler has one; else the
    event's idempotencykey, else its id): two events with one key make
    one run.
    =========================================================================
*/

#ifndef ZEB_FEED_H_INCLUDED
#define ZEB_FEED_H_INCLUDED

#define ZEB_FEED_BATCH  256             //  runs per ENQUEUE

typedef struct {
    char handler_id [129];
    char prefix [256];
    char action [160];                  //  the action type its runs carry
    char outbox [256];                  //  endpoints
    char log [256];
    uint8_t policy [256];               //  retryPolicy, msgpack map (or empty)
    size_t policy_size;
    uint8_t *config;                    //  the action's config, msgpack map (or NULL);
    size_t config_size;                 //  the feed takes a copy
    zeb_key_fn *key_fn;                 //  may be NULL
    void *key_arg;
} zeb_feed_args_t;

//  Thread body for zactor_new; args is a zeb_feed_args_t (copied before
//  the thread signals). Stops on $TERM.
void
    zeb_feed_actor (zsock_t *pipe, void *args);

#endif
