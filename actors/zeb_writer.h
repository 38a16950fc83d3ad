/*  =========================================================================
    zeb_writer - the write side of the event store, ingest's helper actor

    Owns the store's writer handle: appends batches (dedup, sequences, one
    transaction, commit with fsync), and does the store's housekeeping
    (batch-mode sync, retention, idempotency-key expiry) between batches.
    Running it in its own thread lets ingest receive and encode the next
    batch while this one is being committed and synced.

    Pipe commands (from ingest):

      START config      zconfig_t * (borrowed until the reply). Replies
                        "is": 0 and "", or -1 and the error text.
      BATCH batch       zeb_batch_t * to store. Replies "BATCH" + the same
                        pointer + a zeb_writer_counters_t frame, once done.
      $TERM             Stop (after a final sync in batch mode).

    It also sends "COUNTERS" + a zeb_writer_counters_t frame when
    housekeeping changed them.
    =========================================================================
*/

#ifndef ZEB_WRITER_H_INCLUDED
#define ZEB_WRITER_H_INCLUDED

void
    zeb_writer_actor (zsock_t *pipe, void *args);

#endif
