/*  =========================================================================
    zeb_writer - the write side of the event store, ingest's helper actor

    Owns the store's writer handle: appends batches (dedup, sequences, one
    transaction, commit with fsync), and does the store's housekeeping
    (batch-mode sync, retention, idempotency-key expiry) between batches.
    Running it in its own thread lets ingest receive and encode the next
    batch while this one is being committed and synced.

    A small batch that finds the writer idle is committed by ingest itself
    (zeb_writer_link_commit), through the same code, under the link's
    store lock: on this kind of machine, waking a thread that sleeps
    costs tens of microseconds, and a synchronous producer's ack waits on
    two such wake-ups when the writer commits for it.

    Batches travel over a zeb_writer_link_t, not the actor pipe: ingest
    puts a batch in link->request and writes 1 to the eventfd
    link->request_fd; the writer stores it, puts the same pointer in
    link->result and writes link->result_fd. One batch is with the writer
    at a time. A hand-off costs one write and one read, where a ZeroMQ
    message costs frames, allocations and a few polls on either side; under
    load ingest hands over a batch every few hundred microseconds.

    Pipe commands (from ingest), with zactor_new (zeb_writer_actor, link):

      START config      zconfig_t * (borrowed until the reply). Replies
                        "is": 0 and "", or -1 and the error text.
      $TERM             Stop (after a final sync in batch mode).
    =========================================================================
*/

#ifndef ZEB_WRITER_H_INCLUDED
#define ZEB_WRITER_H_INCLUDED

#include <stdatomic.h>

typedef struct {
    int request_fd;                         //  eventfd: a batch in request
    int result_fd;                          //  eventfd: a batch in result
    _Atomic (zeb_batch_t *) request;        //  set by ingest, taken by the writer
    _Atomic (zeb_batch_t *) result;         //  set by the writer, taken by ingest
    pthread_mutex_t lock;                   //  guards counters
    zeb_writer_counters_t counters;         //  the writer's, as of its last change
    pthread_mutex_t store_lock;             //  held by whoever uses the store
    void *writer;                           //  the writer's state, once its store is open
} zeb_writer_link_t;

//  Create a link (two eventfds). Returns NULL on failure.
zeb_writer_link_t *
    zeb_writer_link_new (void);

//  Destroy a link; safe with NULL, nulls the caller's pointer. The writer
//  using it must have stopped.
void
    zeb_writer_link_destroy (zeb_writer_link_t **self_p);

//  Ingest's side: hand a batch to the writer.
void
    zeb_writer_link_submit (zeb_writer_link_t *self, zeb_batch_t *batch);

//  Ingest's side: commit a batch in the caller's thread, as the writer
//  would, if the writer is idle (no batch with it, no housekeeping under
//  way: its store is free). Returns true if it did (batch->result holds
//  the outcome), false if the batch must be submitted instead. Saves the
//  two thread hand-offs of a small batch that nothing else waits behind.
bool
    zeb_writer_link_commit (zeb_writer_link_t *self, zeb_batch_t *batch);

//  Ingest's side: the batch the writer handed back, or NULL. Clears the
//  result eventfd first, so a batch returned meanwhile wakes the next poll.
zeb_batch_t *
    zeb_writer_link_take (zeb_writer_link_t *self);

//  A copy of the writer's counters.
zeb_writer_counters_t
    zeb_writer_link_counters (zeb_writer_link_t *self);

void
    zeb_writer_actor (zsock_t *pipe, void *args);

//  Self test: drives a writer over a link, as ingest does
void
    zeb_writer_test (bool verbose);

#endif
