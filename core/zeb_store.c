/*  =========================================================================
    zeb_store - the event log in LMDB: append, dedup keys, reads, retention
    =========================================================================
*/

#include "zeb_classes.h"
#include "zeb_journal.h"
#include <lmdb.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <signal.h>

//  Where LMDB 0.9 keeps a meta page's magic and txnid (MDB_meta after the
//  16-byte page header): checked against LMDB's own figures before the
//  journal relies on them, else the store runs without the journal
#define S_META_MAGIC_AT     16
#define S_META_TXNID_AT     144
#define S_META_MAGIC        0xBEEFC0DEU
#define S_CHECKPOINT_MS     1000

//  A journal group record: first sequence, commit time, then entries
enum { R_EVENT = 'E', R_KEY = 'K', R_WRITE = 'W' };

typedef struct {
    MDB_dbi dbi;
    uint8_t len;
    char name [64];
} s_app_t;

//  Databases, in the order zeb_lmdb opens them
enum { S_EVENTS, S_DEDUP, S_DEDUPEXP, S_TIMES, S_META };

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
    bool keep_journal;          //  this run journals (else: applied, then removed)
    bool need_checkpoint;       //  before the next transaction
    int64_t checkpoint_interval;
    int64_t checkpoint_due;     //  monotonic ms
    uint64_t journal_limit;     //  checkpoint early past this many bytes
    uint64_t flushes;           //  of LMDB by checkpoints (the journal counts its own)
    uint64_t checkpoints;
    s_app_t apps [ZEB_LMDB_MAX_NAMED];
    int app_count;
};


static inline void
s_put_be64 (uint8_t *p, uint64_t value)
{
    for (int index = 7; index >= 0; index--) {
        p [index] = (uint8_t) value;
        value >>= 8;
    }
}

static inline uint64_t
s_get_be64 (const void *data)
{
    const uint8_t *p = (const uint8_t *) data;
    uint64_t value = 0;
    for (int index = 0; index < 8; index++)
        value = (value << 8) | p [index];
    return value;
}

//  Turn an LMDB return code into a zeb code, logging what is unexpected
static int
s_error (int rc, const char *what)
{
    return zeb_lmdb_error (rc, what);
}

static uint64_t
s_meta_get (MDB_txn *txn, MDB_dbi meta, const char *name, uint64_t fallback)
{
    MDB_val key = { strlen (name), (void *) name }, value;
    if (mdb_get (txn, meta, &key, &value) == 0 && value.mv_size == 8)
        return s_get_be64 (value.mv_data);
    return fallback;
}

static int
s_meta_put (MDB_txn *txn, MDB_dbi meta, const char *name, uint64_t number)
{
    uint8_t bytes [8];
    s_put_be64 (bytes, number);
    MDB_val key = { strlen (name), (void *) name }, value = { 8, bytes };
    return mdb_put (txn, meta, &key, &value, 0);
}

//  ---------------------------------------------------------------------
//  The journal: group records, checkpoints, recovery

static void
s_record_bytes (zeb_store_t *self, const void *data, size_t size)
{
    msgpack_sbuffer_write (&self->record, (const char *) data, size);
}

static void
s_record_u64 (zeb_store_t *self, uint64_t value)
{
    s_record_bytes (self, &value, sizeof (value));
}

static void
s_record_u32 (zeb_store_t *self, uint32_t value)
{
    s_record_bytes (self, &value, sizeof (value));
}

//  Start this transaction's record: first sequence, commit time filled
//  in by zeb_store_commit
static void
s_record_start (zeb_store_t *self)
{
    msgpack_sbuffer_clear (&self->record);
    self->record_entries = 0;
    if (self->journal && !self->replaying) {
        s_record_u64 (self, self->next);
        s_record_u64 (self, 0);
    }
}

static bool
s_recording (zeb_store_t *self)
{
    return self->journal && !self->replaying;
}

//  Read the two meta pages of data.mdb as they are on file now, and check
//  that the newer is LMDB's last transaction. Returns 0 or -1.
static int
s_read_meta (zeb_store_t *self, uint8_t *pages, size_t psize, uint64_t *txnid)
{
    int fd;
    if (mdb_env_get_fd (self->env, &fd))
        return -1;
    size_t done = 0;
    while (done < 2 * psize) {
        ssize_t got = pread (fd, pages + done, 2 * psize - done, (off_t) done);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return -1;
        done += (size_t) got;
    }
    MDB_envinfo info;
    mdb_env_info (self->env, &info);
    uint64_t newest = 0;
    for (int index = 0; index < 2; index++) {
        uint32_t magic;
        uint64_t id;
        memcpy (&magic, pages + index * psize + S_META_MAGIC_AT, sizeof (magic));
        memcpy (&id, pages + index * psize + S_META_TXNID_AT, sizeof (id));
        if (magic != S_META_MAGIC)
            return -1;
        if (id > newest)
            newest = id;
    }
    if (newest != (uint64_t) info.me_last_txnid)
        return -1;
    *txnid = newest;
    return 0;
}

static uint64_t
s_last_txnid (zeb_store_t *self)
{
    MDB_envinfo info;
    mdb_env_info (self->env, &info);
    return (uint64_t) info.me_last_txnid;
}

//  Flush LMDB, record its state as the journal's next checkpoint, and move
//  the pin to it. Needs no write transaction open. On failure the store
//  takes no write transaction until a checkpoint succeeds.
static int
s_checkpoint (zeb_store_t *self)
{
    assert (!self->txn);
    self->need_checkpoint = true;
    MDB_stat stat;
    mdb_env_stat (self->env, &stat);
    size_t psize = stat.ms_psize;
    size_t size = 24 + 2 * psize;
    uint8_t *body = (uint8_t *) malloc (size);
    if (!body)
        return ZEB_ERROR;
    int rc = mdb_env_sync (self->env, 1);
    if (rc) {
        free (body);
        return s_error (rc, "checkpoint sync");
    }
    self->flushes++;
    uint64_t txnid, next = 1;
    if (s_read_meta (self, body + 24, psize, &txnid)) {
        free (body);
        zsys_error ("store: cannot read LMDB's meta pages for a checkpoint");
        return ZEB_ESTORAGE;
    }
    MDB_txn *txn;
    if (mdb_txn_begin (self->env, NULL, MDB_RDONLY, &txn) == 0) {
        next = s_meta_get (txn, self->meta, "next", 1);
        mdb_txn_abort (txn);
    }
    uint32_t psize32 = (uint32_t) psize, pad = 0;
    memcpy (body, &txnid, 8);
    memcpy (body + 8, &next, 8);
    memcpy (body + 16, &psize32, 4);
    memcpy (body + 20, &pad, 4);
    rc = zeb_journal_write_checkpoint (self->journal, body, size);
    free (body);
    if (rc)
        return rc;
    //  Only now may LMDB reuse the pages of the checkpoint before
    if (self->pin) {
        mdb_txn_reset (self->pin);
        rc = mdb_txn_renew (self->pin);
    }
    else
        rc = mdb_txn_begin (self->env, NULL, MDB_RDONLY, &self->pin);
    if (rc) {
        self->pin = NULL;
        return s_error (rc, "checkpoint pin");
    }
    self->pin_txnid = txnid;
    self->need_checkpoint = false;
    self->checkpoints++;
    self->checkpoint_due = zeb_time_mono_us () / 1000 + self->checkpoint_interval;
    return 0;
}

//  Put data.mdb's meta pages back as the checkpoint recorded them, before
//  LMDB opens it: the commits after it were not flushed and are applied
//  again from the journal. Returns 0 or ZEB_ESTORAGE.
static int
s_restore_meta (const char *path, const uint8_t *checkpoint, size_t size)
{
    uint32_t psize;
    memcpy (&psize, checkpoint + 16, 4);
    if (size != 24 + 2 * (size_t) psize || psize < 512) {
        zsys_error ("store: the journal's checkpoint in %s is not one this version wrote", path);
        return ZEB_ESTORAGE;
    }
    char *name = zsys_sprintf ("%s/data.mdb", path);
    int fd = name? open (name, O_RDWR | O_CLOEXEC): -1;
    int rc = 0;
    if (fd < 0) {
        zsys_error ("store: %s: %s, yet the journal has a checkpoint", name, strerror (errno));
        rc = ZEB_ESTORAGE;
    }
    else {
        uint8_t *pages = (uint8_t *) malloc (2 * (size_t) psize);
        bool same = pages && pread (fd, pages, 2 * (size_t) psize, 0) == (ssize_t) (2 * (size_t) psize)
                 && memcmp (pages, checkpoint + 24, 2 * (size_t) psize) == 0;
        free (pages);
        if (!same
        && (pwrite (fd, checkpoint + 24, 2 * (size_t) psize, 0) != (ssize_t) (2 * (size_t) psize)
        ||  fdatasync (fd))) {
            zsys_error ("store: cannot restore %s: %s", name, strerror (errno));
            rc = ZEB_ESTORAGE;
        }
        close (fd);
    }
    zstr_free (&name);
    return rc;
}

//  One journal group applied again
typedef struct {
    zeb_store_t *store;
    uint64_t groups, events;
} s_replay_t;

typedef struct {
    const uint8_t *at, *end;
} s_cursor_t;

static bool
s_take (s_cursor_t *cursor, void *into, size_t size)
{
    if ((size_t) (cursor->end - cursor->at) < size)
        return false;
    if (into)
        memcpy (into, cursor->at, size);
    cursor->at += size;
    return true;
}

static bool
s_take_span (s_cursor_t *cursor, const uint8_t **span, size_t size)
{
    *span = cursor->at;
    return s_take (cursor, NULL, size);
}

//  The application databases a record writes to, opened before its
//  transaction. Returns 0 or an error.
static int
s_replay_dbis (zeb_store_t *self, s_cursor_t cursor, MDB_dbi *dbis, size_t *count);

static int
s_replay_group (const uint8_t *body, size_t size, void *arg)
{
    s_replay_t *replay = (s_replay_t *) arg;
    zeb_store_t *self = replay->store;
    s_cursor_t cursor = { body, body + size };
    uint64_t first;
    int64_t now;
    if (!s_take (&cursor, &first, 8) || !s_take (&cursor, &now, 8))
        return ZEB_ESTORAGE;
    MDB_dbi dbis [1024];
    size_t dbi_count = 0;
    int rc = s_replay_dbis (self, cursor, dbis, &dbi_count);
    if (rc)
        return rc;
    do {
        rc = zeb_store_begin (self);
        if (rc)
            return rc;
        if (first > self->next) {
            zsys_error ("store: the journal goes on at sequence %llu, the store at %llu",
                        (unsigned long long) first, (unsigned long long) self->next);
            zeb_store_abort (self);
            return ZEB_ESTORAGE;
        }
        s_cursor_t entries = cursor;
        uint64_t sequence = first;
        size_t write = 0;
        while (rc == 0 && entries.at < entries.end) {
            uint8_t kind;
            uint32_t len, value_len;
            const uint8_t *span, *value;
            s_take (&entries, &kind, 1);
            if (kind == R_EVENT && s_take (&entries, &len, 4) && s_take_span (&entries, &span, len)) {
                if (sequence++ >= self->next)
                    rc = zeb_store_append (self, span, len);
            }
            else
            if (kind == R_KEY) {
                uint64_t key_sequence;
                int64_t stored;
                if (!s_take (&entries, &key_sequence, 8) || !s_take (&entries, &stored, 8)
                ||  !s_take (&entries, &len, 4) || !s_take_span (&entries, &span, len))
                    rc = ZEB_ESTORAGE;
                else
                    rc = zeb_store_dedup_put (self, (const char *) span, len, key_sequence, stored);
            }
            else
            if (kind == R_WRITE) {
                uint8_t name_len, remove;
                if (!s_take (&entries, &name_len, 1) || !s_take (&entries, NULL, name_len)
                ||  !s_take (&entries, &remove, 1) || !s_take (&entries, &len, 4)
                ||  !s_take_span (&entries, &span, len) || !s_take (&entries, &value_len, 4)
                ||  !s_take_span (&entries, &value, value_len) || write >= dbi_count)
                    rc = ZEB_ESTORAGE;
                else
                    rc = zeb_store_app_put (self, dbis [write++], span, len, value, value_len, remove);
            }
            else
                rc = ZEB_ESTORAGE;
        }
        if (rc == 0)
            rc = zeb_store_commit (self, now);
        else
        if (rc != ZEB_ERETRY)
            zeb_store_abort (self);
    } while (rc == ZEB_ERETRY);
    if (rc == 0) {
        replay->groups++;
        replay->events += self->next > first? self->next - first: 0;
    }
    return rc;
}

static int
s_replay_dbis (zeb_store_t *self, s_cursor_t cursor, MDB_dbi *dbis, size_t *count)
{
    while (cursor.at < cursor.end) {
        uint8_t kind, name_len, remove;
        uint32_t len;
        const uint8_t *name;
        if (!s_take (&cursor, &kind, 1))
            return ZEB_ESTORAGE;
        if (kind == R_EVENT) {
            if (!s_take (&cursor, &len, 4) || !s_take (&cursor, NULL, len))
                return ZEB_ESTORAGE;
        }
        else
        if (kind == R_KEY) {
            if (!s_take (&cursor, NULL, 16) || !s_take (&cursor, &len, 4) || !s_take (&cursor, NULL, len))
                return ZEB_ESTORAGE;
        }
        else
        if (kind == R_WRITE) {
            if (!s_take (&cursor, &name_len, 1) || !s_take_span (&cursor, &name, name_len)
            ||  !s_take (&cursor, &remove, 1)
            ||  !s_take (&cursor, &len, 4) || !s_take (&cursor, NULL, len)
            ||  !s_take (&cursor, &len, 4) || !s_take (&cursor, NULL, len))
                return ZEB_ESTORAGE;
            if (*count == 1024)
                return ZEB_ESTORAGE;
            int rc = zeb_store_app_dbi (self, (const char *) name, name_len, &dbis [(*count)++]);
            if (rc)
                return rc;
        }
        else
            return ZEB_ESTORAGE;
    }
    return 0;
}

//  Open the journal of a writer in sync mode always, and put LMDB back to
//  its newest checkpoint before the environment opens. Returns 0, or an
//  error with fault set.
static int
s_journal_open (zeb_store_t *self, const char *path, const zeb_store_options_t *options,
                zeb_fault_t *fault)
{
    if (zsys_dir_create ("%s", path))
        return zeb_fault_set (fault, ZEB_ESTORAGE, "cannot create directory %s: %s", path, strerror (errno));
    self->journal = zeb_journal_new (path, options->journal_size, fault);
    if (!self->journal)
        return fault? fault->code: ZEB_ESTORAGE;
    size_t size;
    const uint8_t *checkpoint = zeb_journal_checkpoint (self->journal, &size);
    if (checkpoint && zeb_lmdb_is_open (path)) {
        //  A reader of this process opened the environment first: LMDB's
        //  own state stands, and the journal adds what it lacks
        zsys_warning ("store: %s was opened before its writer; recovery applies the journal "
                      "to LMDB's state as it is", path);
        return 0;
    }
    if (checkpoint)
        return s_restore_meta (path, checkpoint, size)
             ? zeb_fault_set (fault, ZEB_ESTORAGE, "cannot restore %s to its checkpoint", path): 0;
    if (zeb_journal_existed (self->journal)) {
        //  The journal came first and no checkpoint followed: the store's
        //  creation did not complete, nothing was ever acknowledged, and
        //  LMDB may have left a data.mdb it cannot open
        char *name = zsys_sprintf ("%s/data.mdb", path);
        struct stat info;
        if (name && stat (name, &info) == 0) {
            zsys_info ("store: %s never completed its first checkpoint; created again", path);
            unlink (name);
        }
        zstr_free (&name);
    }
    return 0;
}

static bool
s_journal_exists (const char *path)
{
    bool exists = false;
    for (int index = 0; index < 2 && !exists; index++) {
        char *name = zsys_sprintf ("%s/journal-%d", path, index);
        exists = name && access (name, F_OK) == 0;
        zstr_free (&name);
    }
    return exists;
}

//  Recovered, and this run does without the journal: LMDB holds it all,
//  flushed by the checkpoint; the journal goes, so that a later run with
//  one does not put LMDB back to a checkpoint older than this run's work
static int
s_journal_remove (zeb_store_t *self, const char *path, zeb_fault_t *fault)
{
    if (self->pin)
        mdb_txn_abort (self->pin);
    self->pin = NULL;
    zeb_journal_destroy (&self->journal);
    for (int index = 0; index < 2; index++) {
        char *name = zsys_sprintf ("%s/journal-%d", path, index);
        if (name && unlink (name) && errno != ENOENT) {
            zstr_free (&name);
            return zeb_fault_set (fault, ZEB_ESTORAGE, "cannot remove the journal in %s: %s",
                                  path, strerror (errno));
        }
        zstr_free (&name);
    }
    int dirfd = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd >= 0) {
        fsync (dirfd);
        close (dirfd);
    }
    mdb_env_set_flags (self->env, MDB_NOSYNC, self->sync != ZEB_SYNC_ALWAYS);
    return 0;
}

//  After LMDB is open: apply the journal again, then checkpoint
static int
s_journal_recover (zeb_store_t *self, zeb_fault_t *fault)
{
    MDB_stat stat;
    uint8_t *pages = NULL;
    uint64_t txnid;
    mdb_env_stat (self->env, &stat);
    pages = (uint8_t *) malloc (2 * stat.ms_psize);
    bool layout = pages && s_read_meta (self, pages, stat.ms_psize, &txnid) == 0;
    free (pages);
    if (!layout) {
        //  Not the LMDB this was written for: two flushes per commit
        zsys_warning ("store: LMDB's meta pages are not as expected; running without the journal");
        self->keep_journal = false;
        return s_journal_remove (self, zeb_lmdb_path (self->lmdb), fault);
    }
    //  Pin the state recovery starts from, as a checkpoint would
    int rc = mdb_txn_begin (self->env, NULL, MDB_RDONLY, &self->pin);
    if (rc) {
        self->pin = NULL;
        return zeb_fault_set (fault, ZEB_ESTORAGE, "store: cannot pin: %s", mdb_strerror (rc));
    }
    mdb_env_set_flags (self->env, MDB_NOSYNC, 1);
    s_replay_t replay = { self, 0, 0 };
    self->replaying = true;
    rc = zeb_journal_replay (self->journal, s_replay_group, &replay);
    self->replaying = false;
    if (rc)
        return zeb_fault_set (fault, rc, "store: cannot apply the journal again: %s", zeb_strerror (rc));
    if (replay.groups)
        zsys_info ("store: %llu events of %llu groups recovered from the journal",
                   (unsigned long long) replay.events, (unsigned long long) replay.groups);
    rc = s_checkpoint (self);
    if (rc)
        return zeb_fault_set (fault, rc, "store: cannot checkpoint: %s", zeb_strerror (rc));
    return 0;
}

//  ---------------------------------------------------------------------
//  Public methods

zeb_store_t *
zeb_store_new (const char *path, const zeb_store_options_t *options, zeb_fault_t *fault)
{
    assert (path);
    zeb_store_options_t defaults = { .map_size = 0, .max_size = 0, .sync = ZEB_SYNC_ALWAYS, .writer = false };
    if (!options)
        options = &defaults;
    zeb_store_t *self = (zeb_store_t *) zmalloc (sizeof (zeb_store_t));
    if (!self) {
        zeb_fault_set (fault, ZEB_ERROR, "out of memory");
        return NULL;
    }
    self->writer_fd = -1;
    self->sync = options->sync;
    msgpack_sbuffer_init (&self->record);
    self->checkpoint_interval = options->checkpoint_interval > 0? options->checkpoint_interval: S_CHECKPOINT_MS;
    self->journal_limit = (options->journal_size? options->journal_size: ZEB_JOURNAL_MAX_SIZE) / 4 * 3;
    if (options->writer) {
        //  One writer per directory across processes: a second zebd on the
        //  same data would interleave sequences with the first. Taken
        //  before anything is read or repaired.
        if (zsys_dir_create ("%s", path)) {
            zeb_fault_set (fault, ZEB_ESTORAGE, "cannot create directory %s: %s", path, strerror (errno));
            free (self);
            return NULL;
        }
        char *lockname = zsys_sprintf ("%s/writer.lock", path);
        self->writer_fd = lockname? open (lockname, O_CREAT | O_RDWR | O_CLOEXEC, 0644): -1;
        zstr_free (&lockname);
        if (self->writer_fd < 0 || flock (self->writer_fd, LOCK_EX | LOCK_NB)) {
            zeb_fault_set (fault, ZEB_ESTORAGE, "%s is in use by another writer (writer.lock)", path);
            zeb_store_destroy (&self);
            return NULL;
        }
        //  A journal left by an earlier run is applied whatever this run's
        //  settings, and removed after if this run does not want one
        self->keep_journal = options->sync == ZEB_SYNC_ALWAYS && !options->no_journal;
        if ((self->keep_journal || s_journal_exists (path))
        &&  s_journal_open (self, path, options, fault)) {
            zeb_store_destroy (&self);
            return NULL;
        }
    }
    zeb_lmdb_options_t lmdb = { options->map_size, options->max_size,
                                { "events", "dedup", "dedupexp", "times", "meta", NULL } };
    self->lmdb = zeb_lmdb_open (path, &lmdb, fault);
    if (!self->lmdb) {
        zeb_store_destroy (&self);
        return NULL;
    }
    self->env = zeb_lmdb_env (self->lmdb);
    self->events = zeb_lmdb_dbi (self->lmdb, S_EVENTS);
    self->dedup = zeb_lmdb_dbi (self->lmdb, S_DEDUP);
    self->dedupexp = zeb_lmdb_dbi (self->lmdb, S_DEDUPEXP);
    self->times = zeb_lmdb_dbi (self->lmdb, S_TIMES);
    self->meta = zeb_lmdb_dbi (self->lmdb, S_META);
    if (options->writer) {
        //  Reader slots of processes that died (a writer's pin among them,
        //  after a crash) would keep LMDB from reusing pages for good
        int dead = 0;
        mdb_reader_check (self->env, &dead);
        if (dead)
            zsys_info ("store: %d reader slots of dead processes cleared in %s", dead, path);
        mdb_env_set_flags (self->env, MDB_NOSYNC, options->sync != ZEB_SYNC_ALWAYS);
        if (self->journal && s_journal_recover (self, fault)) {
            zeb_store_destroy (&self);
            return NULL;
        }
        if (self->journal && !self->keep_journal && s_journal_remove (self, path, fault)) {
            zeb_store_destroy (&self);
            return NULL;
        }
    }
    return self;
}

void
zeb_store_destroy (zeb_store_t **self_p)
{
    assert (self_p);
    zeb_store_t *self = *self_p;
    if (self) {
        zeb_store_abort (self);
        if (self->journal && self->pin) {
            //  Nothing to apply again at the next open
            if (self->pin_txnid != s_last_txnid (self) || self->need_checkpoint)
                s_checkpoint (self);
        }
        if (self->pin)
            mdb_txn_abort (self->pin);
        if (self->lmdb && self->writer_fd >= 0 && self->sync != ZEB_SYNC_ALWAYS)
            mdb_env_sync (self->env, 1);
        zeb_lmdb_close (&self->lmdb);
        zeb_journal_destroy (&self->journal);
        if (self->writer_fd >= 0)
            close (self->writer_fd);            //  releases the flock
        msgpack_sbuffer_destroy (&self->record);
        free (self);
        *self_p = NULL;
    }
}

//  A store reopened with a max_size below what it holds keeps its larger
//  map (LMDB never shrinks a file): it must refuse appends until retention
//  has freed enough. In use = pages up to the last one, less free pages.
static bool
s_over_limit (zeb_store_t *self)
{
    uint64_t max_size = zeb_lmdb_max_size (self->lmdb);
    if (!max_size || zeb_lmdb_map_size (self->lmdb) <= max_size)
        return false;               //  growth stops at max_size by itself
    MDB_envinfo info;
    MDB_stat stat;
    mdb_env_info (self->env, &info);
    mdb_env_stat (self->env, &stat);
    //  The free list can be read in a read-only transaction only
    uint64_t free_pages = 0;
    MDB_txn *txn;
    MDB_cursor *cursor;
    if (mdb_txn_begin (self->env, NULL, MDB_RDONLY, &txn) == 0) {
        if (mdb_cursor_open (txn, 0, &cursor) == 0) {
            MDB_val key, value;
            int rc = mdb_cursor_get (cursor, &key, &value, MDB_FIRST);
            while (rc == 0) {
                if (value.mv_size >= sizeof (size_t)) {
                    size_t count;
                    memcpy (&count, value.mv_data, sizeof (count));
                    free_pages += count;
                }
                rc = mdb_cursor_get (cursor, &key, &value, MDB_NEXT);
            }
            mdb_cursor_close (cursor);
        }
        mdb_txn_abort (txn);
    }
    uint64_t pages = (uint64_t) info.me_last_pgno + 1;
    uint64_t used = (pages > free_pages? pages - free_pages: 0) * stat.ms_psize;
    return used >= max_size;
}

int
zeb_store_begin (zeb_store_t *self)
{
    assert (self);
    assert (!self->txn);
    if (self->journal && !self->replaying
    && (self->need_checkpoint || zeb_journal_used (self->journal) >= self->journal_limit)) {
        int rc = s_checkpoint (self);
        if (rc)
            return rc;
    }
    int rc = mdb_txn_begin (self->env, NULL, 0, &self->txn);
    if (rc) {
        self->txn = NULL;
        return s_error (rc, "mdb_txn_begin");
    }
    self->next = s_meta_get (self->txn, self->meta, "next", 1);
    self->bytes = s_meta_get (self->txn, self->meta, "bytes", 0);
    self->first_appended = self->next;
    self->last_time = INT64_MIN;
    s_record_start (self);
    //  Worked out at most every 500 ms: it reads the whole free list
    int64_t now_ms = zeb_time_mono_us () / 1000;
    if (!self->over_checked || now_ms - self->over_checked >= 500) {
        self->over_limit = s_over_limit (self);
        self->over_checked = now_ms;
    }
    MDB_cursor *cursor;
    MDB_val key, value;
    if (mdb_cursor_open (self->txn, self->times, &cursor) == 0) {
        if (mdb_cursor_get (cursor, &key, &value, MDB_LAST) == 0 && key.mv_size == 8)
            self->last_time = (int64_t) s_get_be64 (key.mv_data);
        mdb_cursor_close (cursor);
    }
    return 0;
}

uint64_t
zeb_store_next_sequence (zeb_store_t *self)
{
    assert (self);
    assert (self->txn);
    return self->next;
}

//  The map is full, no transaction open: with the journal, pages freed
//  since the last checkpoint are held for it, and a checkpoint frees them
//  (for the transaction after next); else grow. ZEB_ERETRY to run the
//  transaction again.
static int
s_map_full (zeb_store_t *self)
{
    if (self->journal && !self->replaying && self->pin && self->pin_txnid != s_last_txnid (self)) {
        int rc = s_checkpoint (self);
        return rc? rc: ZEB_ERETRY;
    }
    int grown = zeb_lmdb_grow (self->lmdb, false);
    return grown == 0? ZEB_ERETRY: grown;
}

//  A write failed: abort, and when the map is full try to grow it so the
//  caller can run the transaction again.
static int
s_write_failed (zeb_store_t *self, int rc, const char *what)
{
    zeb_store_abort (self);
    if (rc == MDB_MAP_FULL)
        return s_map_full (self);
    return s_error (rc, what);
}

int
zeb_store_append (zeb_store_t *self, const void *data, size_t size)
{
    assert (self);
    assert (self->txn);
    if (self->over_limit) {
        zeb_store_abort (self);
        return ZEB_EFULL;
    }
    uint8_t keybytes [8];
    s_put_be64 (keybytes, self->next);
    MDB_val key = { 8, keybytes }, value = { size, (void *) data };
    int rc = mdb_put (self->txn, self->events, &key, &value, MDB_APPEND);
    if (rc)
        return s_write_failed (self, rc, "append");
    if (s_recording (self)) {
        uint8_t kind = R_EVENT;
        s_record_bytes (self, &kind, 1);
        s_record_u32 (self, (uint32_t) size);
        s_record_bytes (self, data, size);
        self->record_entries++;
    }
    self->next++;
    self->bytes += size;
    return 0;
}

int
zeb_store_dedup_find (zeb_store_t *self, const char *key, size_t len,
                      int64_t not_before, uint64_t *sequence)
{
    assert (self);
    assert (self->txn);
    MDB_val k = { len, (void *) key }, value;
    int rc = mdb_get (self->txn, self->dedup, &k, &value);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc)
        return s_write_failed (self, rc, "dedup lookup");
    if (value.mv_size != 16)
        return 0;
    int64_t stored = (int64_t) s_get_be64 ((uint8_t *) value.mv_data + 8);
    if (stored < not_before)
        return 0;               //  expired, not yet purged
    *sequence = s_get_be64 (value.mv_data);
    return 1;
}

int
zeb_store_dedup_put (zeb_store_t *self, const char *key, size_t len, uint64_t sequence, int64_t now)
{
    assert (self);
    assert (self->txn);
    uint8_t bytes [16];
    s_put_be64 (bytes, sequence);
    s_put_be64 (bytes + 8, (uint64_t) now);
    MDB_val k = { len, (void *) key }, value = { 16, bytes };
    int rc = mdb_put (self->txn, self->dedup, &k, &value, 0);
    if (rc == 0) {
        //  Expiry index: time then sequence, so it sorts by age
        uint8_t expkey [16];
        s_put_be64 (expkey, (uint64_t) now);
        s_put_be64 (expkey + 8, sequence);
        MDB_val ek = { 16, expkey }, ev = { len, (void *) key };
        rc = mdb_put (self->txn, self->dedupexp, &ek, &ev, 0);
    }
    if (rc == 0 && s_recording (self)) {
        uint8_t kind = R_KEY;
        s_record_bytes (self, &kind, 1);
        s_record_u64 (self, sequence);
        s_record_u64 (self, (uint64_t) now);
        s_record_u32 (self, (uint32_t) len);
        s_record_bytes (self, key, len);
        self->record_entries++;
    }
    return rc? s_write_failed (self, rc, "dedup put"): 0;
}

int
zeb_store_app_dbi (zeb_store_t *self, const char *name, size_t len, MDB_dbi *dbi)
{
    assert (self);
    assert (!self->txn);
    char full [80];
    if (len == 0 || len > 64)
        return ZEB_EINVALID;
    snprintf (full, sizeof (full), "app/%.*s", (int) len, name);
    int rc = zeb_lmdb_dbi_open (self->lmdb, full, true, dbi);
    if (rc == 0) {
        //  Its name, for the journal's records of writes to it
        int index;
        for (index = 0; index < self->app_count && self->apps [index].dbi != *dbi; index++)
            ;
        if (index == self->app_count && index < ZEB_LMDB_MAX_NAMED) {
            self->apps [index].dbi = *dbi;
            self->apps [index].len = (uint8_t) len;
            memcpy (self->apps [index].name, name, len);
            self->app_count++;
        }
    }
    return rc;
}

int
zeb_store_app_put (zeb_store_t *self, MDB_dbi dbi, const void *key, size_t key_size,
                   const void *value, size_t value_size, bool remove)
{
    assert (self);
    assert (self->txn);
    if (self->over_limit && !remove) {
        zeb_store_abort (self);
        return ZEB_EFULL;
    }
    MDB_val k = { key_size, (void *) key }, v = { value_size, (void *) value };
    int rc = remove? mdb_del (self->txn, dbi, &k, NULL): mdb_put (self->txn, dbi, &k, &v, 0);
    if (rc == MDB_NOTFOUND && remove)
        rc = 0;
    if (rc == 0 && s_recording (self)) {
        int index;
        for (index = 0; index < self->app_count && self->apps [index].dbi != dbi; index++)
            ;
        assert (index < self->app_count);       //  a handle zeb_store_app_dbi gave
        uint8_t kind = R_WRITE, flag = remove;
        s_record_bytes (self, &kind, 1);
        s_record_bytes (self, &self->apps [index].len, 1);
        s_record_bytes (self, self->apps [index].name, self->apps [index].len);
        s_record_bytes (self, &flag, 1);
        s_record_u32 (self, (uint32_t) key_size);
        s_record_bytes (self, key, key_size);
        s_record_u32 (self, remove? 0: (uint32_t) value_size);
        if (!remove)
            s_record_bytes (self, value, value_size);
        self->record_entries++;
    }
    return rc? s_write_failed (self, rc, "application write"): 0;
}

int
zeb_store_commit (zeb_store_t *self, int64_t now)
{
    assert (self);
    assert (self->txn);
    int rc = 0;
    if (self->next > self->first_appended) {
        rc = s_meta_put (self->txn, self->meta, "next", self->next);
        if (rc == 0)
            rc = s_meta_put (self->txn, self->meta, "bytes", self->bytes);
        if (rc == 0 && now > self->last_time) {
            uint8_t keybytes [8], valuebytes [8];
            s_put_be64 (keybytes, (uint64_t) now);
            s_put_be64 (valuebytes, self->first_appended);
            MDB_val key = { 8, keybytes }, value = { 8, valuebytes };
            rc = mdb_put (self->txn, self->times, &key, &value, MDB_APPEND);
        }
    }
    if (rc)
        return s_write_failed (self, rc, "commit");
    bool journaled = false, checkpoint_after = false;
    if (s_recording (self) && self->record_entries) {
        //  The group is durable once its record is flushed; LMDB's commit
        //  after it is not flushed (and not visible to readers before)
        memcpy (self->record.data + 8, &now, 8);
        rc = zeb_journal_append (self->journal, self->record.data, self->record.size);
        if (rc == ZEB_EFULL) {
            self->need_checkpoint = true;       //  the other file, then again
            zeb_store_abort (self);
            return ZEB_ERETRY;
        }
        if (rc == ZEB_ETOOBIG)
            checkpoint_after = true;            //  durable by LMDB's own flush
        else
        if (rc == 0)
            rc = zeb_journal_sync (self->journal);
        if (rc && rc != ZEB_ETOOBIG) {
            self->need_checkpoint = true;       //  the record may be there: void it
            zeb_store_abort (self);
            return rc;
        }
        journaled = rc == 0;
    }
    rc = mdb_txn_commit (self->txn);
    self->txn = NULL;
    if (rc && journaled)
        self->need_checkpoint = true;           //  a record of a group not stored
    if (rc == MDB_MAP_FULL)
        return s_map_full (self);
    if (rc == 0 && checkpoint_after)
        return s_checkpoint (self);
    return s_error (rc, "mdb_txn_commit");
}

void
zeb_store_abort (zeb_store_t *self)
{
    assert (self);
    if (self->txn) {
        mdb_txn_abort (self->txn);
        self->txn = NULL;
    }
}

int
zeb_store_sync (zeb_store_t *self)
{
    assert (self);
    return s_error (mdb_env_sync (self->env, 1), "mdb_env_sync");
}

int64_t
zeb_store_maintain (zeb_store_t *self)
{
    assert (self);
    assert (!self->txn);
    if (!self->journal || !self->pin)
        return -1;
    if (self->pin_txnid == s_last_txnid (self) && !self->need_checkpoint)
        return -1;                  //  nothing committed since the last one
    int64_t wait = self->checkpoint_due - zeb_time_mono_us () / 1000;
    if (wait > 0 && !self->need_checkpoint)
        return wait;
    if (s_checkpoint (self))
        return 1000;                //  failed (logged): try again later
    return -1;
}

void
zeb_store_flushes (zeb_store_t *self, uint64_t *flushes, uint64_t *checkpoints)
{
    assert (self);
    *flushes = self->flushes + (self->journal? zeb_journal_flushes (self->journal): 0);
    *checkpoints = self->checkpoints;
}

//  Delete time-index entries that no longer lead to a retained event
static int
s_trim_times (zeb_store_t *self, uint64_t first, size_t budget)
{
    MDB_cursor *cursor;
    int rc = mdb_cursor_open (self->txn, self->times, &cursor);
    if (rc)
        return rc;
    MDB_val key, value;
    for (size_t done = 0; done < budget; done++) {
        rc = mdb_cursor_get (cursor, &key, &value, MDB_FIRST);
        if (rc)
            break;
        MDB_val next_key, next_value;
        int more = mdb_cursor_get (cursor, &next_key, &next_value, MDB_NEXT);
        //  Obsolete if the next commit starts at or before the first
        //  retained event, or if nothing from this commit on is retained
        bool obsolete = more == 0? s_get_be64 (next_value.mv_data) <= first
                                 : s_get_be64 (value.mv_data) < first && first >= self->next;
        if (!obsolete)
            break;
        mdb_cursor_get (cursor, &key, &value, MDB_FIRST);
        rc = mdb_cursor_del (cursor, 0);
        if (rc)
            break;
    }
    mdb_cursor_close (cursor);
    return rc == MDB_NOTFOUND? 0: rc;
}

//  One retention pass inside an open write transaction
static int
s_retain (zeb_store_t *self, const zeb_retention_t *policy, int64_t now, size_t budget, size_t *removed)
{
    uint64_t age_limit = 0;             //  events below this are too old
    MDB_val key, value;
    MDB_cursor *cursor;
    int rc;
    if (policy->max_age > 0) {
        uint8_t cutoff [8];
        s_put_be64 (cutoff, (uint64_t) (now - policy->max_age));
        key.mv_size = 8;
        key.mv_data = cutoff;
        if ((rc = mdb_cursor_open (self->txn, self->times, &cursor)))
            return rc;
        rc = mdb_cursor_get (cursor, &key, &value, MDB_SET_RANGE);
        age_limit = rc == 0? s_get_be64 (value.mv_data): self->next;
        mdb_cursor_close (cursor);
    }
    if ((rc = mdb_cursor_open (self->txn, self->events, &cursor)))
        return rc;
    uint64_t first = self->next;
    while (*removed < budget) {
        rc = mdb_cursor_get (cursor, &key, &value, MDB_FIRST);
        if (rc == MDB_NOTFOUND) {
            rc = 0;
            break;
        }
        if (rc)
            break;
        uint64_t sequence = s_get_be64 (key.mv_data);
        uint64_t count = self->next - sequence;
        first = sequence;
        bool drop = sequence < age_limit
                 || (policy->max_events && count > policy->max_events)
                 || (policy->max_bytes && self->bytes > policy->max_bytes);
        if (!drop)
            break;
        size_t size = value.mv_size;
        if ((rc = mdb_cursor_del (cursor, 0)))
            break;
        self->bytes -= size < self->bytes? size: self->bytes;
        (*removed)++;
        first = sequence + 1;
    }
    mdb_cursor_close (cursor);
    if (rc == 0 && *removed)
        rc = s_meta_put (self->txn, self->meta, "bytes", self->bytes);
    if (rc == 0)
        rc = s_trim_times (self, first, budget);
    return rc;
}

int
zeb_store_retain (zeb_store_t *self, const zeb_retention_t *policy, int64_t now,
                  size_t budget, size_t *removed)
{
    assert (self);
    assert (policy);
    *removed = 0;
    if (!policy->max_age && !policy->max_events && !policy->max_bytes)
        return 0;
    //  Two steps, each retried once in a map grown past max_size when the
    //  map is full: the deletion, then a tiny commit after it (LMDB reuses
    //  pages freed by a transaction only once another has committed after
    //  it; the previous snapshot stays intact for crash safety), so that
    //  appends can use the space at once, even in a full map.
    bool deleted = false, refreshed = false, grown = false;
    for (int attempt = 0; attempt < 3; attempt++) {
        int mrc = 0;
        if (!deleted) {
            int rc = zeb_store_begin (self);
            if (rc)
                return rc;
            size_t count = 0;
            mrc = s_retain (self, policy, now, budget, &count);
            if (mrc == 0) {
                mrc = mdb_txn_commit (self->txn);
                self->txn = NULL;
            }
            else
                zeb_store_abort (self);
            if (mrc == 0) {
                deleted = true;
                *removed = count;
                refreshed = count == 0;     //  nothing freed, nothing to reuse
            }
        }
        if (mrc == 0 && !refreshed) {
            mrc = mdb_txn_begin (self->env, NULL, 0, &self->txn);
            if (mrc == 0)
                mrc = s_meta_put (self->txn, self->meta, "retained", (uint64_t) now);
            if (mrc == 0)
                mrc = mdb_txn_commit (self->txn);
            else
            if (self->txn)
                mdb_txn_abort (self->txn);
            self->txn = NULL;
            refreshed = mrc == 0;
        }
        if (mrc == 0) {
            if (grown)
                zeb_lmdb_shrink (self->lmdb);
            if (*removed)
                self->over_checked = 0;     //  what it freed counts at once
            return 0;
        }
        if (mrc != MDB_MAP_FULL)
            return s_error (mrc, "retention");
        //  Deleting needs a few free pages even in a full map: borrow them
        //  past max_size, then give back what is not in use
        int rc = zeb_lmdb_grow (self->lmdb, true);
        if (rc)
            return rc;
        grown = true;
    }
    zeb_lmdb_shrink (self->lmdb);
    return deleted? 0: ZEB_EFULL;
}

int
zeb_store_expire_dedup (zeb_store_t *self, int64_t before, size_t budget, size_t *removed)
{
    assert (self);
    *removed = 0;
    int rc = zeb_store_begin (self);
    if (rc)
        return rc;
    MDB_cursor *cursor;
    if ((rc = mdb_cursor_open (self->txn, self->dedupexp, &cursor)) == 0) {
        MDB_val key, value;
        while (*removed < budget
           && (rc = mdb_cursor_get (cursor, &key, &value, MDB_FIRST)) == 0) {
            if ((int64_t) s_get_be64 (key.mv_data) >= before)
                break;
            uint64_t sequence = s_get_be64 ((uint8_t *) key.mv_data + 8);
            //  Forget the key unless it was stored again since
            MDB_val current;
            if (mdb_get (self->txn, self->dedup, &value, &current) == 0
            &&  current.mv_size == 16 && s_get_be64 (current.mv_data) == sequence)
                mdb_del (self->txn, self->dedup, &value, NULL);
            if ((rc = mdb_cursor_del (cursor, 0)))
                break;
            (*removed)++;
        }
        mdb_cursor_close (cursor);
    }
    if (rc == MDB_NOTFOUND)
        rc = 0;
    if (rc) {
        zeb_store_abort (self);
        return s_error (rc, "dedup expiry");
    }
    rc = mdb_txn_commit (self->txn);
    self->txn = NULL;
    return s_error (rc, "dedup expiry commit");
}

//  Bounds and sizes of the store as one read transaction sees them
static void
s_stats (zeb_store_t *self, MDB_txn *txn, zeb_store_stats_t *stats)
{
    memset (stats, 0, sizeof (*stats));
    uint64_t next = s_meta_get (txn, self->meta, "next", 1);
    stats->last = next - 1;
    stats->bytes = s_meta_get (txn, self->meta, "bytes", 0);
    MDB_cursor *cursor;
    if (mdb_cursor_open (txn, self->events, &cursor) == 0) {
        MDB_val key, value;
        if (mdb_cursor_get (cursor, &key, &value, MDB_FIRST) == 0) {
            stats->first = s_get_be64 (key.mv_data);
            stats->count = next - stats->first;
        }
        mdb_cursor_close (cursor);
    }
    MDB_stat dbstat;
    if (mdb_stat (txn, self->dedup, &dbstat) == 0)
        stats->dedup_keys = dbstat.ms_entries;
    MDB_envinfo info;
    MDB_stat envstat;
    mdb_env_info (self->env, &info);
    mdb_env_stat (self->env, &envstat);
    stats->map_size = info.me_mapsize;
    stats->map_used = (uint64_t) (info.me_last_pgno + 1) * envstat.ms_psize;
}

int
zeb_store_read (zeb_store_t *self, uint64_t from, zeb_store_visit_fn *visit, void *arg,
                zeb_store_stats_t *stats)
{
    assert (self);
    assert (visit);
    MDB_txn *txn;
    int rc = zeb_lmdb_read_begin (self->lmdb, &txn);
    if (rc)
        return rc;
    MDB_cursor *cursor;
    rc = mdb_cursor_open (txn, self->events, &cursor);
    if (rc) {
        zeb_lmdb_read_end (self->lmdb, txn);
        return s_error (rc, "mdb_cursor_open");
    }
    uint8_t keybytes [8];
    s_put_be64 (keybytes, from);
    MDB_val key = { 8, keybytes }, value;
    int result = 0;
    rc = mdb_cursor_get (cursor, &key, &value, MDB_SET_RANGE);
    while (rc == 0) {
        result = visit (s_get_be64 (key.mv_data), (const uint8_t *) value.mv_data, value.mv_size, arg);
        if (result)
            break;
        rc = mdb_cursor_get (cursor, &key, &value, MDB_NEXT);
    }
    mdb_cursor_close (cursor);
    if (stats)
        s_stats (self, txn, stats);
    zeb_lmdb_read_end (self->lmdb, txn);
    if (rc && rc != MDB_NOTFOUND)
        return s_error (rc, "read");
    return result < 0? result: 0;
}

int
zeb_store_seek_time (zeb_store_t *self, int64_t time_ms, uint64_t *sequence)
{
    assert (self);
    MDB_txn *txn;
    int rc = zeb_lmdb_read_begin (self->lmdb, &txn);
    if (rc)
        return rc;
    MDB_cursor *cursor;
    rc = mdb_cursor_open (txn, self->times, &cursor);
    if (rc == 0) {
        uint8_t keybytes [8];
        s_put_be64 (keybytes, (uint64_t) (time_ms < 0? 0: time_ms));
        MDB_val key = { 8, keybytes }, value;
        rc = mdb_cursor_get (cursor, &key, &value, MDB_SET_RANGE);
        if (rc == 0)
            *sequence = s_get_be64 (value.mv_data);
        else
        if (rc == MDB_NOTFOUND) {
            *sequence = s_meta_get (txn, self->meta, "next", 1);
            rc = 0;
        }
        mdb_cursor_close (cursor);
    }
    zeb_lmdb_read_end (self->lmdb, txn);
    return s_error (rc, "seek time");
}

int
zeb_store_stats (zeb_store_t *self, zeb_store_stats_t *stats)
{
    assert (self);
    assert (stats);
    MDB_txn *txn;
    int rc = zeb_lmdb_read_begin (self->lmdb, &txn);
    if (rc) {
        memset (stats, 0, sizeof (*stats));
        return rc;
    }
    s_stats (self, txn, stats);
    zeb_lmdb_read_end (self->lmdb, txn);
    return 0;
}

//  ---------------------------------------------------------------------
//  Self test

typedef struct {
    uint64_t first, last, count;
    char last_data [64];
} s_collect_t;

static int
s_collect (uint64_t sequence, const uint8_t *data, size_t size, void *arg)
{
    s_collect_t *collect = (s_collect_t *) arg;
    if (collect->count == 0)
        collect->first = sequence;
    else
        assert (sequence == collect->last + 1);
    collect->last = sequence;
    collect->count++;
    size_t copy = size < sizeof (collect->last_data) - 1? size: sizeof (collect->last_data) - 1;
    memcpy (collect->last_data, data, copy);
    collect->last_data [copy] = 0;
    return 0;
}

static int
s_append_text (zeb_store_t *store, const char *text)
{
    int rc;
    do {
        rc = zeb_store_begin (store);
        if (rc == 0)
            rc = zeb_store_append (store, text, strlen (text));
        if (rc == 0)
            rc = zeb_store_commit (store, zeb_time_now ());
    } while (rc == ZEB_ERETRY);
    return rc;
}

//  Copy a file whole
static void
s_test_copy (const char *from, const char *to)
{
    zfile_t *source = zfile_new (NULL, from);
    assert (source && zfile_input (source) == 0);
    FILE *out = fopen (to, "wb");
    assert (out);
    zchunk_t *chunk;
    off_t offset = 0;
    while ((chunk = zfile_read (source, 1 << 20, offset)) && zchunk_size (chunk)) {
        assert (fwrite (zchunk_data (chunk), 1, zchunk_size (chunk), out) == zchunk_size (chunk));
        offset += (off_t) zchunk_size (chunk);
        zchunk_destroy (&chunk);
    }
    zchunk_destroy (&chunk);
    fclose (out);
    zfile_destroy (&source);
}

//  In a child: open the store, keep a copy of data.mdb as it is after the
//  open's checkpoint, store groups of events with keys and an application
//  write, then die without closing anything (no final checkpoint)
static void
s_test_journal_child (const char *dir, const zeb_store_options_t *options, int first_group)
{
    fflush (stdout);
    pid_t pid = fork ();
    assert (pid >= 0);
    if (pid == 0) {
        zeb_store_t *store = zeb_store_new (dir, options, NULL);
        if (!store)
            _exit (2);
        char *from = zsys_sprintf ("%s/data.mdb", dir);
        char *to = zsys_sprintf ("%s/data.checkpoint", dir);
        s_test_copy (from, to);
        MDB_dbi dbi;
        if (zeb_store_app_dbi (store, "app", 3, &dbi))
            _exit (3);
        for (int group = first_group; group < first_group + 20; group++) {
            if (zeb_store_begin (store))
                _exit (4);
            for (int index = 0; index < 10; index++) {
                char text [32];
                snprintf (text, sizeof (text), "journal-%d-%d", group, index);
                uint64_t sequence = zeb_store_next_sequence (store);
                if (zeb_store_append (store, text, strlen (text))
                ||  zeb_store_dedup_put (store, text, strlen (text), sequence, 5000 + group))
                    _exit (5);
            }
            char value [16];
            snprintf (value, sizeof (value), "%d", group);
            if (zeb_store_app_put (store, dbi, "last", 4, value, strlen (value), false)
            ||  zeb_store_commit (store, 5000 + group))
                _exit (6);
        }
        kill (getpid (), SIGKILL);          //  a crash: nothing closed, nothing freed
    }
    int status;
    while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
        ;
    assert (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL);
}

//  The store in dir holds groups 0..groups-1 whole, keys and the last write
static void
s_test_journal_check (const char *dir, const zeb_store_options_t *options, int groups)
{
    zeb_store_t *store = zeb_store_new (dir, options, NULL);
    assert (store);
    zeb_store_stats_t stats;
    assert (zeb_store_stats (store, &stats) == 0);
    assert (stats.first == 1 && stats.last == (uint64_t) groups * 10 && stats.count == stats.last);
    s_collect_t collect = { 0 };
    assert (zeb_store_read (store, 0, s_collect, &collect, NULL) == 0);
    char expected [32];
    snprintf (expected, sizeof (expected), "journal-%d-9", groups - 1);
    assert (collect.count == stats.last && streq (collect.last_data, expected));
    assert (zeb_store_begin (store) == 0);
    uint64_t sequence = 0;
    assert (zeb_store_dedup_find (store, expected, strlen (expected), 0, &sequence) == 1);
    assert (sequence == (uint64_t) groups * 10);
    zeb_store_abort (store);
    uint64_t time_sequence;
    assert (zeb_store_seek_time (store, 5000 + groups - 1, &time_sequence) == 0);
    assert (time_sequence == (uint64_t) (groups - 1) * 10 + 1);
    MDB_dbi dbi;
    assert (zeb_store_app_dbi (store, "app", 3, &dbi) == 0);
    MDB_txn *txn;
    assert (mdb_txn_begin (store->env, NULL, MDB_RDONLY, &txn) == 0);
    MDB_val key = { 4, (void *) "last" }, value;
    assert (mdb_get (txn, dbi, &key, &value) == 0);
    char last [16];
    snprintf (last, sizeof (last), "%d", groups - 1);
    assert (value.mv_size == strlen (last) && memcmp (value.mv_data, last, value.mv_size) == 0);
    mdb_txn_abort (txn);
    uint64_t flushes, checkpoints;
    zeb_store_flushes (store, &flushes, &checkpoints);
    assert (checkpoints == 1 && flushes >= 2);       //  the open's
    zeb_store_destroy (&store);
}

static void
s_test_journal (void)
{
    char dir [] = "/tmp/zeb-store-XXXXXX";
    assert (mkdtemp (dir));
    zeb_store_options_t options = { .map_size = 1 << 20, .sync = ZEB_SYNC_ALWAYS, .writer = true,
                                    .checkpoint_interval = 3600000 };
    //  A crash of the process: every commit that returned is there
    s_test_journal_child (dir, &options, 0);
    s_test_journal_check (dir, &options, 20);
    //  A power loss: LMDB's file as its last flush left it (the open's
    //  checkpoint), the journal as its flushes left it
    s_test_journal_child (dir, &options, 20);
    char *current = zsys_sprintf ("%s/data.mdb", dir);
    char *checkpoint = zsys_sprintf ("%s/data.checkpoint", dir);
    assert (rename (checkpoint, current) == 0);
    s_test_journal_check (dir, &options, 40);
    //  One flush per commit: each group above was one record
    zeb_store_t *store = zeb_store_new (dir, &options, NULL);
    uint64_t flushes, checkpoints, before;
    zeb_store_flushes (store, &before, &checkpoints);
    assert (s_append_text (store, "one") == 0);
    assert (s_append_text (store, "two") == 0);
    zeb_store_flushes (store, &flushes, &checkpoints);
    assert (flushes == before + 2);
    //  A checkpoint when one is due; then nothing to do until a commit
    assert (zeb_store_maintain (store) > 0);
    zeb_store_options_t soon = options;
    soon.checkpoint_interval = 1;
    zeb_store_destroy (&store);
    store = zeb_store_new (dir, &soon, NULL);
    assert (s_append_text (store, "three") == 0);
    int64_t deadline = zeb_time_mono_us () + 5000000;
    while (zeb_store_maintain (store) != -1)
        assert (zeb_time_mono_us () < deadline);
    zeb_store_flushes (store, &flushes, &checkpoints);
    assert (checkpoints == 2);
    zeb_store_destroy (&store);
    //  Without the journal the same store opens, and the journal after
    zeb_store_options_t plain = options;
    plain.no_journal = true;
    store = zeb_store_new (dir, &plain, NULL);
    assert (store && s_append_text (store, "four") == 0);
    zeb_store_destroy (&store);
    store = zeb_store_new (dir, &options, NULL);
    zeb_store_stats_t stats;
    assert (store && zeb_store_stats (store, &stats) == 0 && stats.last == 404);
    zeb_store_destroy (&store);
    zstr_free (&current);
    zstr_free (&checkpoint);
    zdir_t *tree = zdir_new (dir, NULL);
    zdir_remove (tree, true);
    zdir_destroy (&tree);
}

void
zeb_store_test (bool verbose)
{
    printf (" * zeb_store: ");
    char dir [] = "/tmp/zeb-store-XXXXXX";
    assert (mkdtemp (dir));
    zeb_fault_t fault;
    zeb_store_options_t options = { .map_size = 1024 * 1024, .max_size = 0, .sync = ZEB_SYNC_ALWAYS, .writer = true };
    zeb_store_t *store = zeb_store_new (dir, &options, &fault);
    assert (store);

    //  A second writer on the same directory is refused
    zeb_store_t *other = zeb_store_new (dir, &options, &fault);
    assert (other == NULL && strstr (fault.text, "writer"));
    //  ...but a reader shares the environment
    zeb_store_options_t reader_options = { .map_size = 0, .max_size = 0, .sync = ZEB_SYNC_ALWAYS, .writer = false };
    zeb_store_t *reader = zeb_store_new (dir, &reader_options, &fault);
    assert (reader);

    //  Batches of appends with dedup keys, committed in one transaction each
    int64_t now = 1000000;
    for (int batch = 0; batch < 10; batch++) {
        assert (zeb_store_begin (store) == 0);
        for (int index = 0; index < 100; index++) {
            char text [32];
            snprintf (text, sizeof (text), "event-%d-%d", batch, index);
            uint64_t sequence = zeb_store_next_sequence (store);
            assert (sequence == (uint64_t) (batch * 100 + index + 1));
            assert (zeb_store_append (store, text, strlen (text)) == 0);
            assert (zeb_store_dedup_put (store, text, strlen (text), sequence, now) == 0);
        }
        assert (zeb_store_commit (store, now) == 0);
        now += 1000;
    }
    s_collect_t collect = { 0 };
    assert (zeb_store_read (reader, 0, s_collect, &collect, NULL) == 0);
    assert (collect.count == 1000 && collect.first == 1 && collect.last == 1000);
    assert (streq (collect.last_data, "event-9-99"));
    memset (&collect, 0, sizeof (collect));
    assert (zeb_store_read (reader, 990, s_collect, &collect, NULL) == 0);
    assert (collect.count == 11 && collect.first == 990);

    //  Dedup: found within the window, not before it
    assert (zeb_store_begin (store) == 0);
    uint64_t sequence = 0;
    assert (zeb_store_dedup_find (store, "event-3-7", 9, 0, &sequence) == 1 && sequence == 308);
    assert (zeb_store_dedup_find (store, "event-3-7", 9, 1003001, &sequence) == 0);
    assert (zeb_store_dedup_find (store, "never", 5, 0, &sequence) == 0);
    zeb_store_abort (store);

    //  An aborted transaction consumes no sequence
    assert (zeb_store_begin (store) == 0);
    assert (zeb_store_append (store, "lost", 4) == 0);
    zeb_store_abort (store);
    assert (zeb_store_begin (store) == 0);
    assert (zeb_store_next_sequence (store) == 1001);
    zeb_store_abort (store);

    //  Time index: the first sequence committed at or after a time
    assert (zeb_store_seek_time (reader, 1003000, &sequence) == 0 && sequence == 301);
    assert (zeb_store_seek_time (reader, 1003001, &sequence) == 0 && sequence == 401);
    assert (zeb_store_seek_time (reader, 0, &sequence) == 0 && sequence == 1);
    assert (zeb_store_seek_time (reader, 99999999, &sequence) == 0 && sequence == 1001);

    //  Dedup expiry forgets old keys, in budgeted steps
    size_t removed = 0, total = 0;
    do {
        assert (zeb_store_expire_dedup (store, 1005000, 64, &removed) == 0);
        total += removed;
    } while (removed == 64);
    assert (total == 500);
    zeb_store_stats_t stats;
    assert (zeb_store_stats (store, &stats) == 0);
    assert (stats.dedup_keys == 500);
    assert (stats.first == 1 && stats.last == 1000 && stats.count == 1000);

    //  Retention by count, then by age, then by bytes
    zeb_retention_t policy = { 0, 900, 0 };
    assert (zeb_store_retain (store, &policy, now, 10000, &removed) == 0 && removed == 100);
    assert (zeb_store_stats (store, &stats) == 0 && stats.first == 101 && stats.count == 900);
    policy = (zeb_retention_t) { 5500, 0, 0 };          //  keep commits >= now - 5500
    do
        assert (zeb_store_retain (store, &policy, now, 50, &removed) == 0);
    while (removed == 50);
    assert (zeb_store_stats (store, &stats) == 0 && stats.first == 501);
    assert (zeb_store_seek_time (reader, 0, &sequence) == 0 && sequence == 501);
    policy = (zeb_retention_t) { 0, 0, stats.bytes / 2 };
    assert (zeb_store_retain (store, &policy, now, 10000, &removed) == 0 && removed > 0);
    zeb_store_stats_t after;
    assert (zeb_store_stats (store, &after) == 0 && after.bytes <= stats.bytes / 2);
    //  Emptying the log does not reset the numbering
    policy = (zeb_retention_t) { 0, 0, 1 };
    assert (zeb_store_retain (store, &policy, now, 10000, &removed) == 0);
    assert (zeb_store_stats (store, &stats) == 0 && stats.count == 0 && stats.last == 1000);
    assert (s_append_text (store, "after-empty") == 0);
    memset (&collect, 0, sizeof (collect));
    assert (zeb_store_read (reader, 0, s_collect, &collect, NULL) == 0);
    assert (collect.count == 1 && collect.first == 1001);

    //  The map grows on demand
    uint64_t map_before = stats.map_size;
    char big [64 * 1024];
    memset (big, 'x', sizeof (big) - 1);
    big [sizeof (big) - 1] = 0;
    for (int index = 0; index < 40; index++)
        assert (s_append_text (store, big) == 0);
    assert (zeb_store_stats (store, &stats) == 0 && stats.map_size > map_before);
    zeb_store_destroy (&reader);
    zeb_store_destroy (&store);
    assert (store == NULL);

    //  Reopen: everything is still there, numbering continues
    store = zeb_store_new (dir, &options, &fault);
    assert (store);
    assert (zeb_store_stats (store, &stats) == 0 && stats.last == 1041 && stats.count == 41);
    zeb_store_destroy (&store);

    //  A bounded store fills up with ZEB_EFULL and recovers once
    //  retention frees space
    char dir2 [] = "/tmp/zeb-store-XXXXXX";
    assert (mkdtemp (dir2));
    zeb_store_options_t small = { .map_size = 256 * 1024, .max_size = 1024 * 1024, .sync = ZEB_SYNC_NONE, .writer = true };
    store = zeb_store_new (dir2, &small, &fault);
    assert (store);
    int rc = 0;
    int stored = 0;
    while ((rc = s_append_text (store, big)) == 0)
        stored++;
    assert (rc == ZEB_EFULL);
    assert (stored > 5 && stored < 17);
    assert (zeb_store_stats (store, &stats) == 0 && stats.count == (uint64_t) stored);
    policy = (zeb_retention_t) { 0, 2, 0 };
    assert (zeb_store_retain (store, &policy, zeb_time_now (), 1000, &removed) == 0);
    assert (removed == (size_t) stored - 2);
    assert (s_append_text (store, big) == 0);
    assert (zeb_store_stats (store, &stats) == 0);
    assert (stats.map_size <= small.max_size + (1 << 20));
    zeb_store_destroy (&store);

    //  Reopened with a max_size below what it holds: appends are refused
    //  (the file cannot shrink) until retention frees enough
    zeb_store_options_t grown = { .map_size = 256 * 1024, .max_size = 0, .sync = ZEB_SYNC_NONE, .writer = true };
    store = zeb_store_new (dir2, &grown, &fault);
    assert (store);
    for (int index = 0; index < 30; index++)
        assert (s_append_text (store, big) == 0);
    zeb_store_destroy (&store);
    store = zeb_store_new (dir2, &small, &fault);
    assert (store);
    assert (s_append_text (store, big) == ZEB_EFULL);
    assert (s_append_text (store, "small too") == ZEB_EFULL);
    policy = (zeb_retention_t) { 0, 1, 0 };
    rc = zeb_store_retain (store, &policy, zeb_time_now (), 1000, &removed);
    if (rc || removed <= 20)
        printf ("retention in a full map: rc %d (%s), %zu removed\n", rc, zeb_strerror (rc), removed);
    assert (rc == 0 && removed > 20);
    assert (zeb_store_retain (store, &policy, zeb_time_now (), 1000, &removed) == 0);
    assert (s_append_text (store, big) == 0);
    zeb_store_destroy (&store);

    s_test_journal ();

    zdir_t *tree = zdir_new (dir, NULL);
    zdir_remove (tree, true);
    zdir_destroy (&tree);
    tree = zdir_new (dir2, NULL);
    zdir_remove (tree, true);
    zdir_destroy (&tree);
    printf ("OK\n");
}
