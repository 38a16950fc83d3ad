/*  =========================================================================
    zeb_store_int - the store's state, shared by its two files

    Private to core/zeb_store.c (the log: appends, keys, reads, retention)
    and core/zeb_store_journal.c (its durability: journal records,
    checkpoints, recovery; docs/DESIGN.md "One flush per group").
    =========================================================================
*/

#ifndef ZEB_STORE_INT_H_INCLUDED
#define ZEB_STORE_INT_H_INCLUDED

#include "zeb_journal.h"

//  Databases, in the order zeb_lmdb opens them
enum { S_EVENTS, S_DEDUP, S_DEDUPEXP, S_TIMES, S_META };

//  A journal group record: first sequence, commit time, LMDB txnid (each
//  8 bytes), then its entries, each a kind byte and its fields
#define ZEB_STORE_RECORD_HEADER 24
enum { ZEB_STORE_R_EVENT = 'E', ZEB_STORE_R_KEY = 'K', ZEB_STORE_R_WRITE = 'W' };

typedef struct _zeb_flusher_t zeb_flusher_t;

typedef struct {
    MDB_dbi dbi;
    uint8_t len;
    char name [64];
} zeb_store_app_t;

struct _zeb_store_t {
    zeb_lmdb_t *lmdb;
    MDB_env *env;
    MDB_dbi events, dedup, dedupexp, times, meta;
    zeb_sync_t sync;
    int writer_fd;              //  writer lock file, or -1
    MDB_txn *txn;               //  the open write transaction, or NULL
    uint64_t next;              //  next sequence in this transaction
    uint64_t first_appended;    //  first sequence appended in it
    uint64_t bytes;             //  bytes of events, as of this transaction
    int64_t last_time;          //  last key of the time index
    bool over_limit;            //  this transaction may not append: past max_size
    int64_t over_checked;       //  when over_limit was last worked out (ms)
    //  The journal (a writer in sync mode always), NULL without
    zeb_journal_t *journal;
    MDB_txn *pin;               //  read transaction on the last checkpoint
    uint64_t pin_txnid;         //  its transaction id
    msgpack_sbuffer record;     //  the group record of this transaction
    size_t record_entries;
    bool replaying;             //  recovery: commits are not journaled again
    bool recovered;             //  recovery done: checkpoints may follow
    bool restore;               //  recovery puts LMDB back to the checkpoint
    uint64_t checkpoint_txnid;  //  of the journal's checkpoint at open
    uint64_t skip_txnid;        //  not restored: records LMDB already holds
    uint64_t lmdb_txnid;        //  LMDB's last txnid when recovery began
    bool keep_journal;          //  this run journals (else: applied, then removed)
    bool fresh_journal;         //  journal files, no checkpoint: creation unfinished
    bool need_checkpoint;       //  before the next transaction
    bool full_refreshed;        //  map full: the tiny commit that frees pages is done
    int64_t checkpoint_interval;
    int64_t checkpoint_due;     //  monotonic ms
    int64_t written_out;        //  when LMDB's pages were last sent to the disk (ms)
    uint64_t written_used;      //  the journal's bytes in use then
    uint64_t journal_limit;     //  checkpoint early past this many bytes
    uint64_t journal_size;      //  largest journal file
    uint64_t flushes;           //  of LMDB by checkpoints (the journal counts its own)
    uint64_t checkpoints;
    //  The checkpoint under way: LMDB's flush runs in the flusher's
    //  thread while commits go on; their records are carried into it
    zeb_flusher_t *flusher;     //  NULL until the journal is kept
    bool flushing;              //  a flush started and not yet finished
    uint8_t *pending;           //  the checkpoint's header and meta pages
    size_t pending_size;
    uint64_t pending_txnid;     //  the state it flushes
    MDB_txn *pending_pin;       //  keeps that state's pages from reuse
    msgpack_sbuffer carry;      //  records of the commits since, each size + body
    zeb_store_app_t apps [ZEB_LMDB_MAX_NAMED];
    int app_count;
};

//  zeb_store.c
int
    zeb_store_map_full (zeb_store_t *self);

//  zeb_store_journal.c: before LMDB opens (takes the journal, decides and
//  does the meta restore), and after (applies the journal, checkpoints)
int
    zeb_store_journal_open (zeb_store_t *self, const char *path,
                            const zeb_store_options_t *options, zeb_fault_t *fault);
int
    zeb_store_journal_recover (zeb_store_t *self, const char *path, zeb_fault_t *fault);
//  data.mdb in path holds no commit beyond LMDB's creation (or is not
//  there, or not LMDB's)
bool
    zeb_store_never_committed (const char *path);
//  A journal left by an earlier run is in path
bool
    zeb_store_journal_exists (const char *path);
//  Flush LMDB and record its state; no write transaction open. A
//  checkpoint under way is finished first (waiting for its flush).
int
    zeb_store_checkpoint (zeb_store_t *self);
//  Start a checkpoint whose flush runs while commits go on; 0 if started
//  (or one is under way, or nothing was committed since the last), else
//  an error (then zeb_store_checkpoint, which does it all in this thread)
int
    zeb_store_checkpoint_start (zeb_store_t *self);
//  Finish the checkpoint under way if its flush is done (or, with wait,
//  once it is): write its record, move the pin. Returns 0 (also when
//  none is under way or its flush is not done) or an error.
int
    zeb_store_checkpoint_finish (zeb_store_t *self, bool wait);
//  A commit journaled while a checkpoint's flush runs: its record goes
//  into that checkpoint
void
    zeb_store_record_carry (zeb_store_t *self);
//  Stop the flusher (after zeb_store_checkpoint_finish with wait)
void
    zeb_store_flusher_destroy (zeb_store_t *self);
//  Start this transaction's record; record an entry of it
void
    zeb_store_record_start (zeb_store_t *self);
void
    zeb_store_record_event (zeb_store_t *self, const void *data, size_t size);
void
    zeb_store_record_key (zeb_store_t *self, const char *key, size_t len,
                          uint64_t sequence, int64_t now);
void
    zeb_store_record_write (zeb_store_t *self, MDB_dbi dbi, const void *key, size_t key_size,
                            const void *value, size_t value_size, bool remove);
//  Write and flush the record of the open transaction (now, its txnid
//  filled in). Returns 0, ZEB_ERETRY (the file is full: checkpoint, then
//  again), ZEB_EFULL (the disk) or ZEB_ESTORAGE.
int
    zeb_store_record_commit (zeb_store_t *self, int64_t now);
//  For the self tests: append text as one event in a transaction of its
//  own, again while the map grows. Returns 0 or an error.
int
    zeb_store_test_append (zeb_store_t *store, const char *text);
//  Self test of the journal's part, run by zeb_store_test
void
    zeb_store_journal_test (void);
//  The transaction's writes go to the journal
static inline bool
zeb_store_recording (zeb_store_t *self)
{
    return self->journal && !self->replaying;
}

#endif
