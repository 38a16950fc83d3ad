/*  =========================================================================
    zeb_store - the event log in LMDB: append, dedup keys, reads, retention

    One LMDB environment in one directory, with these databases:

      events    sequence (8 bytes big-endian) -> canonical msgpack event
      dedup     idempotency key -> sequence, time stored (ms)
      dedupexp  time stored, sequence (16 bytes BE) -> idempotency key
      times     commit time ms (8 bytes BE) -> first sequence of that commit
      meta      "next" -> next sequence to assign, "bytes" -> bytes of events

    Sequences start at 1 and increase by one with no gaps: a sequence is
    only consumed by an event in a committed transaction, and "next" lives
    in meta, written in the same transaction, so retention may empty the
    log without the numbering going back.

    Writers: one thread at a time (the ingest actor) runs begin, append and
    dedup calls, then commit or abort; a write transaction never outlives
    one call of the actor's handler. Readers: any thread, concurrently.

    Within one process an environment is opened once and shared by every
    zeb_store_t on the same directory (LMDB forbids opening it twice). The
    map grows on demand (doubling, up to max_size), which needs no reader
    active in this process: readers hold a shared lock for the length of
    one read, growth takes it exclusively. Readers in other processes adopt
    a grown map when LMDB tells them (MDB_MAP_RESIZED).

    Durability (docs/DESIGN.md, "One flush per group"). A writer in sync
    mode always keeps a journal (zeb_journal) beside LMDB: each commit that
    stores something writes the group as one journal record, flushes it
    once (fdatasync), then commits LMDB without a flush; readers see the
    group at that commit, when it is durable. A checkpoint (every
    checkpoint_interval under load, when the journal file is full, and on
    close) flushes LMDB and records its durable state in the journal; a
    read transaction held on that state keeps LMDB from reusing its pages
    until the next checkpoint. Opening the writer recovers: LMDB is put
    back to the newest checkpoint (its meta pages, kept in the journal)
    and the journal's groups after it are applied again, so that every
    commit that returned is there after a crash of the process or of the
    machine, and none twice. Retention and key expiry are not journaled:
    after a crash they are done again.

    Errors: ZEB_EFULL when the map is at max_size or the disk is full (the
    transaction is aborted, nothing is half-written, the store keeps working
    once space is freed); ZEB_ESTORAGE for anything else LMDB reports (also
    logged with LMDB's own text).
    =========================================================================
*/

#ifndef ZEB_STORE_H_INCLUDED
#define ZEB_STORE_H_INCLUDED

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    ZEB_SYNC_ALWAYS = 0,        //  fsync in every commit: acked = on disk
    ZEB_SYNC_BATCH,             //  commit without fsync; zeb_store_sync later
    ZEB_SYNC_NONE               //  never fsync; the OS writes when it likes
} zeb_sync_t;

typedef struct {
    uint64_t map_size;          //  initial map size, bytes (0 = 64 MiB)
    uint64_t max_size;          //  growth limit, bytes (0 = unlimited)
    zeb_sync_t sync;
    bool writer;                //  take the directory's writer lock
    bool no_journal;            //  sync always without the journal: two flushes per commit
    uint64_t journal_size;      //  largest journal file, bytes (0 = 8 MiB)
    int64_t checkpoint_interval;    //  ms between checkpoints under load (0 = 1000)
} zeb_store_options_t;

typedef struct {
    int64_t max_age;            //  ms; 0 = no limit
    uint64_t max_events;        //  0 = no limit
    uint64_t max_bytes;         //  0 = no limit
} zeb_retention_t;

typedef struct {
    uint64_t first;             //  oldest retained sequence (0 if empty)
    uint64_t last;              //  newest committed sequence (0 if none yet)
    uint64_t count;             //  events retained
    uint64_t bytes;             //  bytes of retained events
    uint64_t dedup_keys;        //  idempotency keys remembered
    uint64_t map_size;          //  current map size
    uint64_t map_used;          //  bytes of the map in use (high-water mark)
} zeb_store_stats_t;

typedef struct _zeb_store_t zeb_store_t;

//  Open (creating if needed) the store in directory path. With options
//  writer set, fails if another process holds the writer lock. Returns
//  NULL with fault set on failure.
zeb_store_t *
    zeb_store_new (const char *path, const zeb_store_options_t *options, zeb_fault_t *fault);

//  Close; safe with NULL, nulls the caller's pointer. Aborts an open
//  write transaction.
void
    zeb_store_destroy (zeb_store_t **self_p);

//  Begin a write transaction. Returns 0 or an error.
int
    zeb_store_begin (zeb_store_t *self);

//  Sequence the next append in this transaction will get.
uint64_t
    zeb_store_next_sequence (zeb_store_t *self);

//  Append an event under the next sequence. Returns 0 or an error; on error
//  the caller must abort the transaction.
int
    zeb_store_append (zeb_store_t *self, const void *data, size_t size);

//  Look up an idempotency key stored at or after not_before (ms). Returns
//  1 and *sequence if found, 0 if not, or an error.
int
    zeb_store_dedup_find (zeb_store_t *self, const char *key, size_t len,
                          int64_t not_before, uint64_t *sequence);

//  Remember an idempotency key for sequence, stored at time now (ms).
int
    zeb_store_dedup_put (zeb_store_t *self, const char *key, size_t len,
                         uint64_t sequence, int64_t now);

//  Commit the transaction (syncing per the sync mode). now is the commit
//  time (ms) recorded in the time index. Returns 0 or an error; on error
//  the transaction is gone and nothing of it is stored.
int
    zeb_store_commit (zeb_store_t *self, int64_t now);

//  An application's own database ("app/NAME", NAME 1..64 bytes), for
//  zeb_txn: its handle, created if needed. Call outside a transaction.
//  Returns 0, ZEB_EINVALID, ZEB_EFULL or ZEB_ESTORAGE.
int
    zeb_store_app_dbi (zeb_store_t *self, const char *name, size_t len, MDB_dbi *dbi);

//  Put (or with remove, delete: absent is fine) a key of that database in
//  the transaction begun, so that it commits with the events. Returns 0,
//  or an error as zeb_store_append does (the transaction is then over).
int
    zeb_store_app_put (zeb_store_t *self, MDB_dbi dbi, const void *key, size_t key_size,
                       const void *value, size_t value_size, bool remove);

//  Abandon the transaction.
void
    zeb_store_abort (zeb_store_t *self);

//  Flush everything committed to disk (fsync). Returns 0 or an error.
int
    zeb_store_sync (zeb_store_t *self);

//  The journal's housekeeping, for the writer between commits: takes a
//  checkpoint when one is due. Returns the ms until the next is due, or
//  -1 if none will be (no journal, or nothing committed since).
int64_t
    zeb_store_maintain (zeb_store_t *self);

//  A descriptor that turns readable when a checkpoint's flush, which runs
//  in a thread of its own while commits go on, has ended: call
//  zeb_store_maintain then (it records the checkpoint). -1 without one.
int
    zeb_store_flush_fd (zeb_store_t *self);

//  Flushes made for commits (journal and LMDB), and checkpoints, so far.
void
    zeb_store_flushes (zeb_store_t *self, uint64_t *flushes, uint64_t *checkpoints);

//  Apply a retention policy: delete at most budget of the oldest events
//  that break it, in one transaction. *removed gets the count. Returns 0
//  or an error. Call again while *removed == budget.
int
    zeb_store_retain (zeb_store_t *self, const zeb_retention_t *policy, int64_t now,
                      size_t budget, size_t *removed);

//  Forget at most budget idempotency keys stored before time before (ms).
int
    zeb_store_expire_dedup (zeb_store_t *self, int64_t before, size_t budget, size_t *removed);

//  Called by zeb_store_read for each event; return 0 to go on, 1 to stop,
//  or a negative code to stop with that error. data is valid only during
//  the call.
typedef int (zeb_store_visit_fn) (uint64_t sequence, const uint8_t *data, size_t size, void *arg);

//  Visit events from sequence from (or the oldest retained one, if older)
//  in order, in one read transaction. If stats is not NULL, it receives the
//  store's bounds as that same transaction saw them. Returns 0 or an error.
int
    zeb_store_read (zeb_store_t *self, uint64_t from, zeb_store_visit_fn *visit, void *arg,
                    zeb_store_stats_t *stats);

//  First sequence committed at or after time_ms (ms), or next sequence to
//  be assigned if none. Returns 0 or an error.
int
    zeb_store_seek_time (zeb_store_t *self, int64_t time_ms, uint64_t *sequence);

//  Current figures. Returns 0 or an error.
int
    zeb_store_stats (zeb_store_t *self, zeb_store_stats_t *stats);

//  Self test
void
    zeb_store_test (bool verbose);

#ifdef __cplusplus
}
#endif

#endif
