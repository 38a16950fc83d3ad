/*  =========================================================================
    zeb_store - the event log in LMDB: append, dedup keys, reads, retention
    =========================================================================
*/

#include "zeb_classes.h"
#include "zeb_store_int.h"
#include <lmdb.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <signal.h>

#define S_CHECKPOINT_MS     1000
#define S_WRITE_OUT_MS      20          //  between asking the kernel to write pages out
#define S_WRITE_OUT_BYTES   (1 << 20)   //  ...and once this much was journaled since


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

//  A commit of one meta key and nothing else, outside any transaction:
//  LMDB reuses the pages a commit freed only once another commit follows
//  it (it keeps the previous snapshot whole), and this is that commit.
//  Returns an LMDB code.
static int
s_tiny_commit (zeb_store_t *self, const char *name, int64_t now)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin (self->env, NULL, 0, &txn);
    if (rc == 0) {
        rc = s_meta_put (txn, self->meta, name, (uint64_t) now);
        if (rc == 0)
            rc = mdb_txn_commit (txn);
        else
            mdb_txn_abort (txn);
    }
    return rc;
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
    msgpack_sbuffer_init (&self->carry);
    self->checkpoint_interval = options->checkpoint_interval > 0? options->checkpoint_interval: S_CHECKPOINT_MS;
    //  A journal file holds a checkpoint (two pages) and groups after it
    zeb_store_options_t sized = *options;
    uint64_t least = 16 * (uint64_t) sysconf (_SC_PAGESIZE);
    if (!sized.journal_size)
        sized.journal_size = ZEB_JOURNAL_MAX_SIZE;
    if (sized.journal_size < least)
        sized.journal_size = least;
    options = &sized;
    self->journal_size = options->journal_size;
    self->journal_limit = options->journal_size / 4 * 3;
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
        if ((self->keep_journal || zeb_store_journal_exists (path))
        &&  zeb_store_journal_open (self, path, options, fault)) {
            zeb_store_destroy (&self);
            return NULL;
        }
    }
    zeb_lmdb_options_t lmdb = { options->map_size, options->max_size,
                                { "events", "dedup", "dedupexp", "times", "meta", NULL } };
    self->lmdb = zeb_lmdb_open (path, &lmdb, fault);
    if (!self->lmdb && self->fresh_journal && zeb_store_never_committed (path)) {
        //  Journal files and no checkpoint, and a data.mdb LMDB refuses
        //  that never held a commit: the store's creation did not complete
        //  (the journal comes first), nothing was acknowledged. Set aside,
        //  not removed, and made again.
        char *name = zsys_sprintf ("%s/data.mdb", path);
        char *aside = zsys_sprintf ("%s/data.mdb.unfinished", path);
        if (name && aside && rename (name, aside) == 0) {
            zsys_warning ("store: %s did not open and never completed its first checkpoint: "
                          "moved to %s, made again", name, aside);
            self->lmdb = zeb_lmdb_open (path, &lmdb, fault);
        }
        zstr_free (&name);
        zstr_free (&aside);
    }
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
        if (self->journal && zeb_store_journal_recover (self, path, fault)) {
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
        if (self->journal && self->recovered) {
            //  Nothing to apply again at the next open. Never before
            //  recovery completed: a checkpoint would void the journal's
            //  records not yet applied
            MDB_envinfo info;
            mdb_env_info (self->env, &info);
            if (self->pin_txnid != (uint64_t) info.me_last_txnid || self->need_checkpoint
            ||  self->flushing)
                zeb_store_checkpoint (self);
        }
        zeb_store_flusher_destroy (self);       //  none under way: the checkpoint finished it
        if (self->pin)
            mdb_txn_abort (self->pin);
        if (self->lmdb && self->writer_fd >= 0 && self->sync != ZEB_SYNC_ALWAYS)
            mdb_env_sync (self->env, 1);
        zeb_lmdb_close (&self->lmdb);
        zeb_journal_destroy (&self->journal);
        if (self->writer_fd >= 0)
            close (self->writer_fd);            //  releases the flock
        msgpack_sbuffer_destroy (&self->record);
        msgpack_sbuffer_destroy (&self->carry);
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
    if (self->journal && !self->replaying) {
        //  A checkpoint whose flush is done is recorded; one is started
        //  when the journal fills (its flush runs beside the commits), and
        //  taken here, the commits waiting, when it must be
        zeb_store_checkpoint_finish (self, false);
        if (!self->need_checkpoint && !self->flushing
        &&  zeb_journal_used (self->journal) >= self->journal_limit
        &&  zeb_store_checkpoint_start (self))
            self->need_checkpoint = true;
        if (self->need_checkpoint) {
            int rc = zeb_store_checkpoint (self);
            if (rc)
                return rc;
        }
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
    zeb_store_record_start (self);
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
//  since the last checkpoint are held for it. While the map may grow it
//  grows, and a checkpoint starts beside the commits to free them; at its
//  limit a checkpoint in this thread frees them (for the transaction after
//  next); else grow (in recovery, past max_size if need be: those groups
//  were accepted). ZEB_ERETRY to run the transaction again.
int
zeb_store_map_full (zeb_store_t *self)
{
    MDB_envinfo info;
    mdb_env_info (self->env, &info);
    if (zeb_store_recording (self) && self->pin && self->pin_txnid != (uint64_t) info.me_last_txnid) {
        //  A checkpoint here would hold the commits for its whole flush,
        //  every time the pages of a checkpoint interval fill the map
        if (!self->need_checkpoint && zeb_lmdb_grow (self->lmdb, false) == 0) {
            zeb_store_checkpoint_start (self);      //  failing, maintain takes one when due
            return ZEB_ERETRY;
        }
        int rc = zeb_store_checkpoint (self);
        return rc? rc: ZEB_ERETRY;
    }
    if (zeb_store_recording (self) && self->pin && !self->full_refreshed && !self->need_checkpoint) {
        //  Pages the last commit freed are reusable once another commit
        //  follows it (LMDB keeps the previous snapshot whole): a tiny one,
        //  and a checkpoint past it, so that "full" means full at once
        //  rather than after the next commits trickle in
        self->full_refreshed = true;
        if (s_tiny_commit (self, "full", zeb_time_now ()) == 0 && zeb_store_checkpoint (self) == 0)
            return ZEB_ERETRY;
    }
    int grown = zeb_lmdb_grow (self->lmdb, self->replaying);
    return grown == 0? ZEB_ERETRY: grown;
}

//  A write failed: abort, and when the map is full try to grow it so the
//  caller can run the transaction again.
static int
s_write_failed (zeb_store_t *self, int rc, const char *what)
{
    zeb_store_abort (self);
    if (rc == MDB_MAP_FULL)
        return zeb_store_map_full (self);
    return s_error (rc, what);
}

int
zeb_store_append (zeb_store_t *self, const void *data, size_t size)
{
    assert (self);
    assert (self->txn);
    if (self->over_limit && !self->replaying) {
        zeb_store_abort (self);
        return ZEB_EFULL;
    }
    uint8_t keybytes [8];
    s_put_be64 (keybytes, self->next);
    MDB_val key = { 8, keybytes }, value = { size, (void *) data };
    int rc = mdb_put (self->txn, self->events, &key, &value, MDB_APPEND);
    if (rc)
        return s_write_failed (self, rc, "append");
    if (zeb_store_recording (self))
        zeb_store_record_event (self, data, size);
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
    if (rc == 0 && zeb_store_recording (self))
        zeb_store_record_key (self, key, len, sequence, now);
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
    if (zeb_store_recording (self) && self->need_checkpoint) {
        //  Creating a database commits: not while pages are unpinned
        int rc = zeb_store_checkpoint (self);
        if (rc)
            return rc;
    }
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
    if (self->over_limit && !remove && !self->replaying) {
        zeb_store_abort (self);
        return ZEB_EFULL;
    }
    MDB_val k = { key_size, (void *) key }, v = { value_size, (void *) value };
    int rc = remove? mdb_del (self->txn, dbi, &k, NULL): mdb_put (self->txn, dbi, &k, &v, 0);
    if (rc == MDB_NOTFOUND && remove)
        rc = 0;
    if (rc == 0 && zeb_store_recording (self))
        zeb_store_record_write (self, dbi, key, key_size, value, value_size, remove);
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
    bool journaled = false;
    if (zeb_store_recording (self) && self->record_entries) {
        //  The group is durable once its record is flushed; LMDB's commit
        //  after it is not flushed (and readers see nothing before it)
        rc = zeb_store_record_commit (self, now);
        if (rc == ZEB_ERETRY) {
            //  The file is full: the other one (a checkpoint), then again;
            //  a group larger than a file is its generation's first record
            self->need_checkpoint = true;
            zeb_store_abort (self);
            return ZEB_ERETRY;
        }
        if (rc) {
            self->need_checkpoint = true;       //  the record may be there: void it
            zeb_store_abort (self);
            return rc;
        }
        journaled = true;
    }
    rc = mdb_txn_commit (self->txn);
    self->txn = NULL;
    if (rc == 0 && journaled) {
        self->full_refreshed = false;           //  stored again: may fill again
        zeb_store_record_carry (self);          //  into the checkpoint under way, if one is
    }
    if (rc && journaled)
        zeb_store_checkpoint (self);            //  voids the record of a group not stored
    if (rc == MDB_MAP_FULL)
        return zeb_store_map_full (self);
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
    if (self->flushing && zeb_store_checkpoint_finish (self, false) == 0 && self->flushing)
        return -1;                  //  zeb_store_flush_fd turns readable when it ends
    MDB_envinfo info;
    mdb_env_info (self->env, &info);
    if (self->pin_txnid == (uint64_t) info.me_last_txnid && !self->need_checkpoint)
        return -1;                  //  nothing committed since the last one
    int64_t now = zeb_time_mono_us () / 1000;
    int64_t wait = self->checkpoint_due - now;
    if (wait > 0 && !self->need_checkpoint) {
        //  Under load, have the kernel write LMDB's pages out as they
        //  come, without waiting, so that the checkpoint's flush finds
        //  little left to write and holds the commits behind it for less.
        //  Not the meta pages (every commit rewrites one, and a write to a
        //  page under writeback waits for the disk), and not for a trickle
        //  (a page just sent out and written again soon costs that wait).
        int fd;
        uint64_t used = zeb_journal_used (self->journal);
        if (now - self->written_out >= S_WRITE_OUT_MS
        &&  used - self->written_used >= S_WRITE_OUT_BYTES && mdb_env_get_fd (self->env, &fd) == 0) {
            MDB_stat stat;
            mdb_env_stat (self->env, &stat);
            sync_file_range (fd, 2 * (off_t) stat.ms_psize, 0, SYNC_FILE_RANGE_WRITE);
            self->written_out = now;
            self->written_used = used;
        }
        return wait < S_WRITE_OUT_MS? wait: S_WRITE_OUT_MS;
    }
    if (!self->need_checkpoint && zeb_store_checkpoint_start (self) == 0)
        return -1;                  //  its flush runs; the commits go on
    if (zeb_store_checkpoint (self))
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
            mrc = s_tiny_commit (self, "retained", now);
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
        MDB_envinfo info;
        mdb_env_info (self->env, &info);
        if (zeb_store_recording (self) && self->pin && self->pin_txnid != (uint64_t) info.me_last_txnid
        &&  zeb_store_checkpoint (self) == 0)
            continue;               //  pages held for the last checkpoint are free again
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

int
zeb_store_test_append (zeb_store_t *store, const char *text)
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
    assert (zeb_store_test_append (store, "after-empty") == 0);
    memset (&collect, 0, sizeof (collect));
    assert (zeb_store_read (reader, 0, s_collect, &collect, NULL) == 0);
    assert (collect.count == 1 && collect.first == 1001);

    //  The map grows on demand
    uint64_t map_before = stats.map_size;
    char big [64 * 1024];
    memset (big, 'x', sizeof (big) - 1);
    big [sizeof (big) - 1] = 0;
    for (int index = 0; index < 40; index++)
        assert (zeb_store_test_append (store, big) == 0);
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
    while ((rc = zeb_store_test_append (store, big)) == 0)
        stored++;
    assert (rc == ZEB_EFULL);
    assert (stored > 5 && stored < 17);
    assert (zeb_store_stats (store, &stats) == 0 && stats.count == (uint64_t) stored);
    policy = (zeb_retention_t) { 0, 2, 0 };
    assert (zeb_store_retain (store, &policy, zeb_time_now (), 1000, &removed) == 0);
    assert (removed == (size_t) stored - 2);
    assert (zeb_store_test_append (store, big) == 0);
    assert (zeb_store_stats (store, &stats) == 0);
    assert (stats.map_size <= small.max_size + (1 << 20));
    zeb_store_destroy (&store);

    //  Reopened with a max_size below what it holds: appends are refused
    //  (the file cannot shrink) until retention frees enough
    zeb_store_options_t grown = { .map_size = 256 * 1024, .max_size = 0, .sync = ZEB_SYNC_NONE, .writer = true };
    store = zeb_store_new (dir2, &grown, &fault);
    assert (store);
    for (int index = 0; index < 30; index++)
        assert (zeb_store_test_append (store, big) == 0);
    zeb_store_destroy (&store);
    store = zeb_store_new (dir2, &small, &fault);
    assert (store);
    assert (zeb_store_test_append (store, big) == ZEB_EFULL);
    assert (zeb_store_test_append (store, "small too") == ZEB_EFULL);
    policy = (zeb_retention_t) { 0, 1, 0 };
    rc = zeb_store_retain (store, &policy, zeb_time_now (), 1000, &removed);
    if (rc || removed <= 20)
        fprintf (stderr, "retention in a full map: rc %d (%s), %zu removed\n", rc, zeb_strerror (rc), removed);
    assert (rc == 0 && removed > 20);
    assert (zeb_store_retain (store, &policy, zeb_time_now (), 1000, &removed) == 0);
    assert (zeb_store_test_append (store, big) == 0);
    zeb_store_destroy (&store);

    zeb_store_journal_test ();

    zdir_t *tree = zdir_new (dir, NULL);
    zdir_remove (tree, true);
    zdir_destroy (&tree);
    tree = zdir_new (dir2, NULL);
    zdir_remove (tree, true);
    zdir_destroy (&tree);
    printf ("OK\n");
}
