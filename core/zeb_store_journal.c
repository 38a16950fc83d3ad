/*  =========================================================================
    zeb_store_journal - the store's durability: one flush per group

    Journal records of group commits, checkpoints of LMDB's state, and
    recovery when the writer opens the store. The design and its limits
    are in docs/DESIGN.md, "One flush per group: the journal"; the journal
    files are zeb_journal's.
    =========================================================================
*/

#include "zeb_classes.h"
#include "zeb_store_int.h"
#include <lmdb.h>
#include <stdatomic.h>
#include <sys/eventfd.h>
#include <poll.h>
#include <sys/stat.h>

//  Where LMDB 0.9 keeps a meta page's magic and txnid (MDB_meta after the
//  16-byte page header): checked against LMDB's own figures at every
//  checkpoint and in the checkpoint's own pages before a restore
#define S_META_MAGIC_AT     16
#define S_META_TXNID_AT     144
#define S_META_MAGIC        0xBEEFC0DEU
#define S_CHECKPOINT_HEADER 64          //  txnid, carried bytes, page size, 4 zero, boot id
#define S_CARRIED_AT        8
#define S_FLUSH_SLICE       (256 << 10)     //  data.mdb written out this much at a time
#define S_FLUSH_SLICES      4096            //  ...in at most this many slices
#define S_BOOT_AT           24
#define S_BOOT_SIZE         40

//  This boot of the machine (the kernel's random boot_id), for telling a
//  crash of a process (the page cache whole) from a restart of the
//  machine (only what was flushed). Empty if unknown.
static void
s_boot_id (char *id)
{
    memset (id, 0, S_BOOT_SIZE);
    FILE *file = fopen ("/proc/sys/kernel/random/boot_id", "r");
    if (file) {
        if (!fgets (id, S_BOOT_SIZE, file))
            id [0] = 0;
        fclose (file);
    }
}

//  ---------------------------------------------------------------------
//  Records

static void
s_put (zeb_store_t *self, const void *data, size_t size)
{
    msgpack_sbuffer_write (&self->record, (const char *) data, size);
}

static void
s_put_u32 (zeb_store_t *self, uint32_t value)
{
    s_put (self, &value, sizeof (value));
}

static void
s_put_u64 (zeb_store_t *self, uint64_t value)
{
    s_put (self, &value, sizeof (value));
}

void
zeb_store_record_start (zeb_store_t *self)
{
    msgpack_sbuffer_clear (&self->record);
    self->record_entries = 0;
    if (zeb_store_recording (self)) {
        s_put_u64 (self, self->next);
        s_put_u64 (self, 0);                //  commit time, at commit
        s_put_u64 (self, 0);                //  LMDB txnid, at commit
    }
}

void
zeb_store_record_event (zeb_store_t *self, const void *data, size_t size)
{
    uint8_t kind = ZEB_STORE_R_EVENT;
    s_put (self, &kind, 1);
    s_put_u32 (self, (uint32_t) size);
    s_put (self, data, size);
    self->record_entries++;
}

void
zeb_store_record_key (zeb_store_t *self, const char *key, size_t len, uint64_t sequence, int64_t now)
{
    uint8_t kind = ZEB_STORE_R_KEY;
    s_put (self, &kind, 1);
    s_put_u64 (self, sequence);
    s_put_u64 (self, (uint64_t) now);
    s_put_u32 (self, (uint32_t) len);
    s_put (self, key, len);
    self->record_entries++;
}

void
zeb_store_record_write (zeb_store_t *self, MDB_dbi dbi, const void *key, size_t key_size,
                        const void *value, size_t value_size, bool remove)
{
    int index;
    for (index = 0; index < self->app_count && self->apps [index].dbi != dbi; index++)
        ;
    assert (index < self->app_count);       //  a handle zeb_store_app_dbi gave
    uint8_t kind = ZEB_STORE_R_WRITE, flag = remove;
    s_put (self, &kind, 1);
    s_put (self, &self->apps [index].len, 1);
    s_put (self, self->apps [index].name, self->apps [index].len);
    s_put (self, &flag, 1);
    s_put_u32 (self, (uint32_t) key_size);
    s_put (self, key, key_size);
    s_put_u32 (self, remove? 0: (uint32_t) value_size);
    if (!remove)
        s_put (self, value, value_size);
    self->record_entries++;
}

int
zeb_store_record_commit (zeb_store_t *self, int64_t now)
{
    //  While a checkpoint's flush runs, commits are carried into it: at
    //  most what its record can hold; past that, the commit waits for it
    if (self->flushing && self->pending_size + self->carry.size + 4 + self->record.size
                          + ZEB_JOURNAL_HEADER > self->journal_size)
        return ZEB_ERETRY;
    uint64_t txnid = (uint64_t) mdb_txn_id (self->txn);
    memcpy (self->record.data + 8, &now, 8);
    memcpy (self->record.data + 16, &txnid, 8);
    int rc = zeb_journal_append (self->journal, self->record.data, self->record.size);
    return rc? rc: zeb_journal_sync (self->journal);
}

//  ---------------------------------------------------------------------
//  Checkpoints

static uint64_t
s_last_txnid (zeb_store_t *self)
{
    MDB_envinfo info;
    mdb_env_info (self->env, &info);
    return (uint64_t) info.me_last_txnid;
}

//  The newest txnid of two meta pages, or 0 if neither is LMDB's
static uint64_t
s_pages_txnid (const uint8_t *pages, size_t psize)
{
    uint64_t newest = 0;
    for (int index = 0; index < 2; index++) {
        uint32_t magic;
        uint64_t id;
        memcpy (&magic, pages + index * psize + S_META_MAGIC_AT, sizeof (magic));
        memcpy (&id, pages + index * psize + S_META_TXNID_AT, sizeof (id));
        if (magic == S_META_MAGIC && id > newest)
            newest = id;
    }
    return newest;
}

static int
s_pread_all (int fd, uint8_t *data, size_t size, off_t offset)
{
    size_t done = 0;
    while (done < size) {
        ssize_t got = pread (fd, data + done, size - done, offset + (off_t) done);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return -1;
        done += (size_t) got;
    }
    return 0;
}

//  Read data.mdb's two meta pages as they are on file, and check that the
//  newer is LMDB's last transaction. Returns 0 or -1.
static int
s_read_meta (zeb_store_t *self, uint8_t *pages, size_t psize, uint64_t *txnid)
{
    int fd;
    if (mdb_env_get_fd (self->env, &fd) || s_pread_all (fd, pages, 2 * psize, 0))
        return -1;
    *txnid = s_pages_txnid (pages, psize);
    return *txnid && *txnid == s_last_txnid (self)? 0: -1;
}

static int s_checkpoint_begin (zeb_store_t *self);
static int s_checkpoint_record (zeb_store_t *self, int error);

int
zeb_store_checkpoint (zeb_store_t *self)
{
    assert (!self->txn);
    assert (self->journal);
    if (self->flushing
    &&  zeb_store_checkpoint_finish (self, true) == 0
    &&  !self->need_checkpoint && self->pin_txnid == s_last_txnid (self))
        return 0;                           //  the one under way covered it all
    self->need_checkpoint = true;           //  until this one is done
    int rc = s_checkpoint_begin (self);
    if (rc)
        return rc;
    //  The commits wait: one flush, in this thread
    int error = mdb_env_sync (self->env, 1);
    return s_checkpoint_record (self, error);
}

//  ---------------------------------------------------------------------
//  Checkpoints whose flush runs beside the commits
//
//  A checkpoint records a state of LMDB (transaction T) once its pages
//  are flushed. The flush (tens of ms after a second of commits) need not
//  hold the commits: the flusher's thread flushes data.mdb while the
//  writer goes on. Everything T needs was written before the flush began;
//  a second pin, on T, keeps the commits after it from reusing T's pages
//  (the pin on the last checkpoint still keeps that one's). The commits
//  during the flush are journaled in the current generation as usual, and
//  carried into the checkpoint's record (one checksum over it all), which
//  goes to the other file once the flush is done: the new generation holds
//  T's meta pages, then every group after T. Until that record is
//  durable, the last checkpoint and its generation stand, whole.

struct _zeb_flusher_t {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int fd;                     //  data.mdb, LMDB's descriptor
    int done_fd;                //  eventfd: a flush ended
    bool requested;
    bool stopping;
    bool done;                  //  the last flush requested has ended
    int error;                  //  its errno, 0 if it worked
    bool hold;                  //  self test: each flush waits for a waiter
    bool waited;                //  someone waits for the flush requested
};

//  Flush data.mdb: its dirty pages written out a slice at a time, each
//  waited for, then one fdatasync for what is left and the disk's cache.
//  A flush of everything at once queues the whole second's pages ahead of
//  every journal flush that comes meanwhile; slices let those through
//  between them. Returns 0 or errno.
static int
s_flush_spread (int fd)
{
    struct stat info;
    if (fstat (fd, &info) == 0) {
        off_t start = 2 * (off_t) sysconf (_SC_PAGESIZE);      //  not the meta pages
        off_t slice = S_FLUSH_SLICE;
        if (info.st_size / slice > S_FLUSH_SLICES)
            slice = info.st_size / S_FLUSH_SLICES;              //  a large file: fewer calls
        for (off_t at = start; at < info.st_size; at += slice)
            if (sync_file_range (fd, at, slice, SYNC_FILE_RANGE_WAIT_BEFORE
                                 | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER))
                break;                      //  the fdatasync says what failed
    }
    return fdatasync (fd)? errno: 0;
}

static void *
s_flusher_run (void *arg)
{
    zeb_flusher_t *self = (zeb_flusher_t *) arg;
    pthread_mutex_lock (&self->lock);
    while (true) {
        while (!self->requested && !self->stopping)
            pthread_cond_wait (&self->wake, &self->lock);
        if (!self->requested)
            break;
        self->requested = false;
        while (self->hold && !self->waited && !self->stopping)
            pthread_cond_wait (&self->wake, &self->lock);
        pthread_mutex_unlock (&self->lock);
        int error = s_flush_spread (self->fd);
        pthread_mutex_lock (&self->lock);
        self->error = error;
        self->done = true;
        pthread_cond_broadcast (&self->wake);
        uint64_t one = 1;
        while (write (self->done_fd, &one, sizeof (one)) < 0 && errno == EINTR)
            ;
    }
    pthread_mutex_unlock (&self->lock);
    return NULL;
}

static int
s_flusher_new (zeb_store_t *self)
{
    zeb_flusher_t *flusher = (zeb_flusher_t *) zmalloc (sizeof (zeb_flusher_t));
    if (!flusher || mdb_env_get_fd (self->env, &flusher->fd)) {
        free (flusher);
        return ZEB_ERROR;
    }
    flusher->done_fd = eventfd (0, EFD_NONBLOCK | EFD_CLOEXEC);
    pthread_mutex_init (&flusher->lock, NULL);
    pthread_cond_init (&flusher->wake, NULL);
    if (flusher->done_fd < 0 || pthread_create (&flusher->thread, NULL, s_flusher_run, flusher)) {
        if (flusher->done_fd >= 0)
            close (flusher->done_fd);
        pthread_cond_destroy (&flusher->wake);
        pthread_mutex_destroy (&flusher->lock);
        free (flusher);
        return ZEB_ERROR;
    }
    self->flusher = flusher;
    return 0;
}

void
zeb_store_flusher_destroy (zeb_store_t *self)
{
    zeb_flusher_t *flusher = self->flusher;
    if (!flusher)
        return;
    pthread_mutex_lock (&flusher->lock);
    flusher->stopping = true;
    pthread_cond_broadcast (&flusher->wake);
    pthread_mutex_unlock (&flusher->lock);
    pthread_join (flusher->thread, NULL);
    close (flusher->done_fd);
    pthread_cond_destroy (&flusher->wake);
    pthread_mutex_destroy (&flusher->lock);
    free (flusher);
    self->flusher = NULL;
}

int
zeb_store_flush_fd (zeb_store_t *self)
{
    assert (self);
    return self->flusher? self->flusher->done_fd: -1;
}

//  The checkpoint of LMDB's last commit, T: its header and meta pages
//  read now (they describe T), and a pin on T, which keeps T's pages from
//  reuse until the checkpoint is recorded. No write transaction open.
static int
s_checkpoint_begin (zeb_store_t *self)
{
    MDB_stat stat;
    mdb_env_stat (self->env, &stat);
    size_t psize = stat.ms_psize;
    size_t size = S_CHECKPOINT_HEADER + 2 * psize;
    uint8_t *body = (uint8_t *) zmalloc (size);
    if (!body)
        return ZEB_ERROR;
    uint64_t txnid;
    if (s_read_meta (self, body + S_CHECKPOINT_HEADER, psize, &txnid)) {
        free (body);
        zsys_error ("store: cannot read LMDB's meta pages for a checkpoint");
        return ZEB_ESTORAGE;
    }
    MDB_txn *pin;
    int rc = mdb_txn_begin (self->env, NULL, MDB_RDONLY, &pin);
    if (rc == 0 && (uint64_t) mdb_txn_id (pin) != txnid) {
        mdb_txn_abort (pin);
        rc = MDB_BAD_TXN;
    }
    if (rc) {
        free (body);
        return zeb_lmdb_error (rc, "checkpoint pin");
    }
    uint32_t psize32 = (uint32_t) psize;
    memcpy (body, &txnid, 8);
    memcpy (body + 16, &psize32, 4);
    s_boot_id ((char *) body + S_BOOT_AT);
    self->pending = body;
    self->pending_size = size;
    self->pending_txnid = txnid;
    self->pending_pin = pin;
    msgpack_sbuffer_clear (&self->carry);
    return 0;
}

//  The flush of the checkpoint begun has ended (error: its errno, or 0):
//  write its record, with the groups carried, and move the pin to it; or
//  drop it, and have the next transaction take one first
static int
s_checkpoint_record (zeb_store_t *self, int error)
{
    int rc = 0;
    uint8_t *body = self->pending;
    size_t size = self->pending_size + self->carry.size;
    if (error) {
        zsys_error ("store: cannot flush LMDB for a checkpoint: %s", mdb_strerror (error));
        rc = error == ENOSPC || error == EDQUOT? ZEB_EFULL: ZEB_ESTORAGE;
    }
    else
    if (self->carry.size && !(body = (uint8_t *) realloc (self->pending, size)))
        rc = ZEB_ERROR;
    else {
        self->pending = body;
        self->flushes++;
        uint64_t carried = self->carry.size;
        memcpy (body + S_CARRIED_AT, &carried, 8);
        if (carried)
            memcpy (body + self->pending_size, self->carry.data, carried);
        rc = zeb_journal_write_checkpoint (self->journal, body, size);
    }
    if (rc == 0) {
        //  Only now may LMDB reuse the pages of the checkpoint before
        if (self->pin)
            mdb_txn_abort (self->pin);
        self->pin = self->pending_pin;
        self->pin_txnid = self->pending_txnid;
        self->written_used = 0;             //  the journal starts over
        self->need_checkpoint = false;      //  a record voided or a file full: the new one did it
        self->checkpoints++;
        self->checkpoint_due = zeb_time_mono_us () / 1000 + self->checkpoint_interval;
    }
    else {
        mdb_txn_abort (self->pending_pin);
        self->need_checkpoint = true;       //  again, before the next transaction
    }
    self->pending_pin = NULL;
    free (self->pending);
    self->pending = NULL;
    msgpack_sbuffer_clear (&self->carry);
    return rc;
}

int
zeb_store_checkpoint_start (zeb_store_t *self)
{
    assert (!self->txn);
    if (self->flushing)
        return 0;
    if (!self->flusher || !self->pin || self->need_checkpoint)
        return ZEB_ERROR;
    if (self->pin_txnid == s_last_txnid (self))
        return 0;
    int rc = s_checkpoint_begin (self);
    if (rc)
        return rc;
    self->flushing = true;
    zeb_flusher_t *flusher = self->flusher;
    pthread_mutex_lock (&flusher->lock);
    flusher->done = false;
    flusher->waited = false;
    flusher->requested = true;
    pthread_cond_broadcast (&flusher->wake);
    pthread_mutex_unlock (&flusher->lock);
    return 0;
}

void
zeb_store_record_carry (zeb_store_t *self)
{
    if (!self->flushing)
        return;
    uint32_t size = (uint32_t) self->record.size;
    msgpack_sbuffer_write (&self->carry, (const char *) &size, sizeof (size));
    msgpack_sbuffer_write (&self->carry, self->record.data, self->record.size);
}

int
zeb_store_checkpoint_finish (zeb_store_t *self, bool wait)
{
    assert (!self->txn);
    if (!self->flushing)
        return 0;
    zeb_flusher_t *flusher = self->flusher;
    pthread_mutex_lock (&flusher->lock);
    if (wait) {
        flusher->waited = true;
        pthread_cond_broadcast (&flusher->wake);
    }
    while (wait && !flusher->done)
        pthread_cond_wait (&flusher->wake, &flusher->lock);
    bool done = flusher->done;
    int error = flusher->error;
    pthread_mutex_unlock (&flusher->lock);
    if (!done)
        return 0;
    uint64_t count;
    if (read (flusher->done_fd, &count, sizeof (count)) < 0 && errno != EAGAIN)
        zsys_error ("store: flusher eventfd: %s", strerror (errno));
    self->flushing = false;
    return s_checkpoint_record (self, error);
}

//  ---------------------------------------------------------------------
//  Recovery

//  Put data.mdb's meta pages back as the checkpoint recorded them, before
//  LMDB opens it: the commits after it were not flushed and are applied
//  again from the journal. Returns 0 or an error with fault set.
static int
s_restore_meta (const char *path, const uint8_t *checkpoint, size_t size, zeb_fault_t *fault)
{
    uint64_t txnid;
    uint32_t psize;
    memcpy (&txnid, checkpoint, 8);
    memcpy (&psize, checkpoint + 16, 4);
    const uint8_t *saved = checkpoint + S_CHECKPOINT_HEADER;
    uint64_t carried;
    memcpy (&carried, checkpoint + S_CARRIED_AT, 8);
    if (psize < 512 || size < S_CHECKPOINT_HEADER + 2 * (size_t) psize
    ||  carried != size - S_CHECKPOINT_HEADER - 2 * (size_t) psize
    ||  s_pages_txnid (saved, psize) != txnid)
        return zeb_fault_set (fault, ZEB_ESTORAGE, "the journal's checkpoint in %s is not one this "
                              "version of LMDB wrote: refusing to restore from it", path);
    char *name = zsys_sprintf ("%s/data.mdb", path);
    int fd = name? open (name, O_RDWR | O_CLOEXEC): -1;
    int rc = 0;
    uint8_t *pages = (uint8_t *) malloc (2 * (size_t) psize);
    if (fd < 0 || !pages) {
        rc = zeb_fault_set (fault, ZEB_ESTORAGE, "cannot open %s, which the journal's checkpoint "
                            "describes: %s", name? name: path, strerror (errno));
        goto done;
    }
    if (s_pread_all (fd, pages, 2 * (size_t) psize, 0) == 0) {
        if (memcmp (pages, saved, 2 * (size_t) psize) == 0)
            goto done;                      //  closed cleanly: nothing to do
        //  Every meta page LMDB wrote since is newer than the checkpoint
        //  (a page torn at 512 bytes keeps its magic and txnid together):
        //  an older one is a data.mdb from before it (a backup put back)
        uint64_t current = s_pages_txnid (pages, psize);
        if (current && current + 1 < txnid) {
            rc = zeb_fault_set (fault, ZEB_ESTORAGE, "%s is older (txn %llu) than its journal's "
                                "checkpoint (txn %llu): move the journal files aside to use it",
                                name, (unsigned long long) current, (unsigned long long) txnid);
            goto done;
        }
    }
    if (pwrite (fd, saved, 2 * (size_t) psize, 0) != (ssize_t) (2 * (size_t) psize) || fdatasync (fd))
        rc = zeb_fault_set (fault, ZEB_ESTORAGE, "cannot restore %s: %s", name, strerror (errno));
done:
    free (pages);
    if (fd >= 0)
        close (fd);
    zstr_free (&name);
    return rc;
}

//  True if another process has LMDB's environment in path open: it holds
//  a lock on byte 0 of lock.mdb for as long as it does. Call only while
//  this process has the environment closed (closing a descriptor drops
//  the process's POSIX locks on the file).
static bool
s_open_elsewhere (const char *path)
{
    char *name = zsys_sprintf ("%s/lock.mdb", path);
    int fd = name? open (name, O_RDWR | O_CLOEXEC): -1;
    zstr_free (&name);
    if (fd < 0)
        return false;
    struct flock lock = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1 };
    bool held = fcntl (fd, F_OFD_GETLK, &lock) == 0 && lock.l_type != F_UNLCK;
    close (fd);
    return held;
}

static int
s_sync_dir (const char *path)
{
    int fd = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = fd < 0? -1: fsync (fd);
    if (fd >= 0)
        close (fd);
    return rc;
}

bool
zeb_store_never_committed (const char *path)
{
    char *name = zsys_sprintf ("%s/data.mdb", path);
    int fd = name? open (name, O_RDONLY | O_CLOEXEC): -1;
    zstr_free (&name);
    if (fd < 0)
        return true;
    size_t psize = (size_t) sysconf (_SC_PAGESIZE);
    uint8_t *pages = (uint8_t *) calloc (2, psize);
    ssize_t got = pages? pread (fd, pages, 2 * psize, 0): -1;
    close (fd);
    //  LMDB writes its first meta pages with txnid 0 and commits the
    //  databases' creation as txnid 1: past that, something was stored
    //  A read that fails says nothing: keep the file
    bool never = pages && got >= 0 && (got < (ssize_t) (2 * psize) || s_pages_txnid (pages, psize) <= 1);
    free (pages);
    return never;
}

bool
zeb_store_journal_exists (const char *path)
{
    bool exists = false;
    for (int index = 0; index < 2 && !exists; index++) {
        char *name = zsys_sprintf ("%s/journal-%d", path, index);
        exists = name && access (name, F_OK) == 0;
        zstr_free (&name);
    }
    return exists;
}

int
zeb_store_journal_open (zeb_store_t *self, const char *path, const zeb_store_options_t *options,
                        zeb_fault_t *fault)
{
    self->journal = zeb_journal_new (path, options->journal_size, fault);
    if (!self->journal)
        return fault? fault->code: ZEB_ESTORAGE;
    size_t size;
    const uint8_t *checkpoint = zeb_journal_checkpoint (self->journal, &size);
    self->fresh_journal = !checkpoint && zeb_journal_existed (self->journal);
    if (!checkpoint)
        return 0;
    memcpy (&self->checkpoint_txnid, checkpoint, 8);
    self->skip_txnid = self->checkpoint_txnid;
    //  A restore that began and did not reach its checkpoint has put
    //  LMDB back behind commits that were acknowledged: only another
    //  restore and its replay bring them back
    char *marker = zsys_sprintf ("%s/recovering", path);
    bool interrupted = marker && access (marker, F_OK) == 0;
    if (zeb_lmdb_is_open (path) || s_open_elsewhere (path)) {
        //  Open already (a reader of this process, or another process):
        //  its meta pages cannot be put back under it. Safe only if the
        //  machine has not restarted since the checkpoint and no restore
        //  was under way: then LMDB's state is the page cache's, whole,
        //  as the journal's writer left it, and it stands
        char boot [S_BOOT_SIZE];
        s_boot_id (boot);
        zstr_free (&marker);
        if (interrupted)
            return zeb_fault_set (fault, ZEB_ESTORAGE, "store: the recovery of %s was interrupted "
                                  "and a reader has it open: stop the readers, start the writer first",
                                  path);
        if (size < S_CHECKPOINT_HEADER || !boot [0]
        ||  memcmp (boot, checkpoint + S_BOOT_AT, S_BOOT_SIZE))
            return zeb_fault_set (fault, ZEB_ESTORAGE, "store: %s was opened by a reader before its "
                                  "writer after the machine restarted: stop the readers, start the "
                                  "writer first", path);
        self->restore = false;
        return 0;
    }
    self->restore = true;
    self->skip_txnid = 0;
    //  The marker is durable before the meta pages change
    int fd = marker? open (marker, O_CREAT | O_WRONLY | O_CLOEXEC, 0644): -1;
    int rc = fd < 0 || fsync (fd) || s_sync_dir (path);
    if (fd >= 0)
        close (fd);
    zstr_free (&marker);
    if (rc)
        return zeb_fault_set (fault, ZEB_ESTORAGE, "cannot mark %s as recovering: %s", path,
                              strerror (errno));
    return s_restore_meta (path, checkpoint, size, fault);
}

//  One journal group applied again
typedef struct {
    zeb_store_t *store;
    uint64_t groups, events, skipped;
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

//  One entry of a record, parsed
typedef struct {
    uint8_t kind;
    const uint8_t *data, *value, *name;
    uint32_t size, value_size;
    uint8_t name_len, remove;
    uint64_t sequence;
    int64_t stored;
} s_entry_t;

static bool
s_take_entry (s_cursor_t *cursor, s_entry_t *entry)
{
    if (!s_take (cursor, &entry->kind, 1))
        return false;
    if (entry->kind == ZEB_STORE_R_EVENT)
        return s_take (cursor, &entry->size, 4) && s_take_span (cursor, &entry->data, entry->size);
    if (entry->kind == ZEB_STORE_R_KEY)
        return s_take (cursor, &entry->sequence, 8) && s_take (cursor, &entry->stored, 8)
            && s_take (cursor, &entry->size, 4) && s_take_span (cursor, &entry->data, entry->size);
    if (entry->kind == ZEB_STORE_R_WRITE)
        return s_take (cursor, &entry->name_len, 1) && s_take_span (cursor, &entry->name, entry->name_len)
            && s_take (cursor, &entry->remove, 1)
            && s_take (cursor, &entry->size, 4) && s_take_span (cursor, &entry->data, entry->size)
            && s_take (cursor, &entry->value_size, 4)
            && s_take_span (cursor, &entry->value, entry->value_size);
    return false;
}

//  The application database of a write entry, opened (outside any
//  transaction) before the record's transaction
static int
s_replay_dbis (zeb_store_t *self, s_cursor_t cursor)
{
    s_entry_t entry;
    while (cursor.at < cursor.end) {
        if (!s_take_entry (&cursor, &entry))
            return ZEB_ESTORAGE;
        MDB_dbi dbi;
        int rc = entry.kind == ZEB_STORE_R_WRITE
               ? zeb_store_app_dbi (self, (const char *) entry.name, entry.name_len, &dbi): 0;
        if (rc)
            return rc;
    }
    return 0;
}

static MDB_dbi
s_app_dbi (zeb_store_t *self, const uint8_t *name, uint8_t len)
{
    for (int index = 0; index < self->app_count; index++)
        if (self->apps [index].len == len && memcmp (self->apps [index].name, name, len) == 0)
            return self->apps [index].dbi;
    assert (false);                         //  opened by s_replay_dbis
    return 0;
}

static int
s_replay_group (const uint8_t *body, size_t size, void *arg)
{
    s_replay_t *replay = (s_replay_t *) arg;
    zeb_store_t *self = replay->store;
    s_cursor_t cursor = { body, body + size };
    uint64_t first, txnid;
    int64_t now;
    if (!s_take (&cursor, &first, 8) || !s_take (&cursor, &now, 8) || !s_take (&cursor, &txnid, 8))
        return ZEB_ESTORAGE;
    if (txnid <= self->skip_txnid) {
        //  LMDB has it already, or (the same boot) never committed it
        replay->skipped += txnid > self->lmdb_txnid;
        return 0;
    }
    int rc = s_replay_dbis (self, cursor);
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
        s_entry_t entry;
        while (rc == 0 && entries.at < entries.end) {
            if (!s_take_entry (&entries, &entry))
                rc = ZEB_ESTORAGE;
            else
            if (entry.kind == ZEB_STORE_R_EVENT) {
                if (sequence++ >= self->next)
                    rc = zeb_store_append (self, entry.data, entry.size);
            }
            else
            if (entry.kind == ZEB_STORE_R_KEY)
                rc = zeb_store_dedup_put (self, (const char *) entry.data, entry.size,
                                          entry.sequence, entry.stored);
            else
                rc = zeb_store_app_put (self, s_app_dbi (self, entry.name, entry.name_len),
                                        entry.data, entry.size, entry.value, entry.value_size,
                                        entry.remove);
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

//  The groups a checkpoint carries (committed while its flush ran), in
//  order, before those that follow it in its generation
static int
s_replay_carried (zeb_store_t *self, s_replay_t *replay)
{
    size_t size;
    const uint8_t *checkpoint = zeb_journal_checkpoint (self->journal, &size);
    if (!checkpoint)
        return 0;
    uint64_t carried;
    uint32_t psize;
    if (size < S_CHECKPOINT_HEADER)
        return ZEB_ESTORAGE;
    memcpy (&carried, checkpoint + S_CARRIED_AT, 8);
    memcpy (&psize, checkpoint + 16, 4);
    if (carried == 0)
        return 0;
    if (carried != size - S_CHECKPOINT_HEADER - 2 * (uint64_t) psize)
        return ZEB_ESTORAGE;
    s_cursor_t cursor = { checkpoint + size - carried, checkpoint + size };
    while (cursor.at < cursor.end) {
        uint32_t length;
        const uint8_t *body;
        if (!s_take (&cursor, &length, 4) || !s_take_span (&cursor, &body, length))
            return ZEB_ESTORAGE;
        int rc = s_replay_group (body, length, replay);
        if (rc)
            return rc;
    }
    return 0;
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
        int rc = name? unlink (name): -1;
        zstr_free (&name);
        if (rc && errno != ENOENT)
            return zeb_fault_set (fault, ZEB_ESTORAGE, "cannot remove the journal in %s: %s",
                                  path, strerror (errno));
    }
    if (s_sync_dir (path))
        return zeb_fault_set (fault, ZEB_ESTORAGE, "cannot flush %s: %s", path, strerror (errno));
    mdb_env_set_flags (self->env, MDB_NOSYNC, self->sync != ZEB_SYNC_ALWAYS);
    return 0;
}

int
zeb_store_journal_recover (zeb_store_t *self, const char *path, zeb_fault_t *fault)
{
    MDB_stat stat;
    mdb_env_stat (self->env, &stat);
    uint8_t *pages = (uint8_t *) malloc (2 * stat.ms_psize);
    uint64_t txnid;
    bool layout = pages && s_read_meta (self, pages, stat.ms_psize, &txnid) == 0;
    free (pages);
    if (!layout)
        return zeb_fault_set (fault, ZEB_ESTORAGE, "store: LMDB's meta pages in %s are not as "
                              "this version expects, or the store changed under its recovery", path);
    if (!self->restore && self->skip_txnid) {
        //  Not restored (the same boot, the page cache whole): LMDB holds
        //  every commit that returned, so a record past its last txnid
        //  belongs to a commit that never happened and was never
        //  acknowledged. None is applied (a commit now could reuse pages
        //  the dead writer's pin held); a checkpoint of LMDB as it is
        //  comes first
        self->skip_txnid = UINT64_MAX;
        self->lmdb_txnid = s_last_txnid (self);
    }
    else
    if (self->restore) {
        //  LMDB must be at the checkpoint: a process that opened it
        //  between the probe and the restore would have LMDB's lock table
        //  follow the meta pages as they were before
        MDB_txn *txn;
        int began = mdb_txn_begin (self->env, NULL, 0, &txn);
        uint64_t next = began == 0? (uint64_t) mdb_txn_id (txn): 0;
        if (began == 0)
            mdb_txn_abort (txn);
        if (began)
            return zeb_fault_set (fault, ZEB_ESTORAGE, "store: %s: %s", path, mdb_strerror (began));
        if (next != self->checkpoint_txnid + 1)
            return zeb_fault_set (fault, ZEB_ESTORAGE, "store: %s was opened by another process "
                                  "during its recovery: stop it, start the writer first", path);
    }
    //  Pin the state recovery starts from, as a checkpoint would
    int rc = mdb_txn_begin (self->env, NULL, MDB_RDONLY, &self->pin);
    if (rc) {
        self->pin = NULL;
        return zeb_fault_set (fault, ZEB_ESTORAGE, "store: cannot pin: %s", mdb_strerror (rc));
    }
    mdb_env_set_flags (self->env, MDB_NOSYNC, 1);
    s_replay_t replay = { self, 0, 0, 0 };
    self->replaying = true;
    rc = s_replay_carried (self, &replay);
    if (rc == 0)
        rc = zeb_journal_replay (self->journal, s_replay_group, &replay);
    self->replaying = false;
    if (rc)
        return zeb_fault_set (fault, rc, "store: cannot apply the journal in %s again: %s "
                              "(nothing is lost: it stays for the next attempt)", path,
                              zeb_strerror (rc));
    if (replay.groups)
        zsys_info ("store: %llu events of %llu groups recovered from the journal in %s",
                   (unsigned long long) replay.events, (unsigned long long) replay.groups, path);
    if (replay.skipped && self->skip_txnid == UINT64_MAX)
        zsys_info ("store: %llu groups of the journal in %s were never committed (never "
                   "acknowledged): not applied", (unsigned long long) replay.skipped, path);
    rc = zeb_store_checkpoint (self);
    if (rc)
        return zeb_fault_set (fault, rc, "store: cannot checkpoint: %s", zeb_strerror (rc));
    self->recovered = true;
    if (self->keep_journal && s_flusher_new (self))
        zsys_warning ("store: no flusher thread for %s: checkpoints hold the commits behind them", path);
    if (self->restore) {
        char *marker = zsys_sprintf ("%s/recovering", path);
        int gone = marker? unlink (marker): -1;
        zstr_free (&marker);
        if (gone || s_sync_dir (path))
            return zeb_fault_set (fault, ZEB_ESTORAGE, "cannot unmark %s as recovering: %s", path,
                                  strerror (errno));
    }
    if (!self->keep_journal)
        return s_journal_remove (self, path, fault);
    return 0;
}

//  ---------------------------------------------------------------------
//  Self test, called by zeb_store_test

#include <sys/wait.h>
#include <signal.h>
#include <sys/resource.h>

typedef struct {
    uint64_t count;
    char last [64];
} s_test_read_t;

static int
s_test_visit (uint64_t sequence, const uint8_t *data, size_t size, void *arg)
{
    s_test_read_t *read = (s_test_read_t *) arg;
    read->count++;
    snprintf (read->last, sizeof (read->last), "%.*s", (int) size, (const char *) data);
    return 0;
}

//  How many keys the application database "app" holds, read with LMDB alone
static size_t
s_test_app_keys (const char *dir)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_stat stat = { 0 };
    assert (mdb_env_create (&env) == 0);
    mdb_env_set_maxdbs (env, 64);
    assert (mdb_env_open (env, dir, MDB_RDONLY, 0644) == 0);
    assert (mdb_txn_begin (env, NULL, MDB_RDONLY, &txn) == 0);
    if (mdb_dbi_open (txn, "app/app", 0, &dbi) == 0)
        mdb_stat (txn, dbi, &stat);
    mdb_txn_abort (txn);
    mdb_env_close (env);
    return stat.ms_entries;
}

//  The work of a child that then crashes: returns 0, or an exit status
typedef int (s_test_work_fn) (zeb_store_t *store, const char *dir, int arg);

//  In a child: open the store in dir, do work, then die by SIGKILL, with
//  nothing closed (no final checkpoint). The parent waits for that death.
static void
s_test_crash (const char *dir, const zeb_store_options_t *options, s_test_work_fn *work, int arg)
{
    fflush (stdout);
    pid_t pid = fork ();
    assert (pid >= 0);
    if (pid == 0) {
        zeb_store_t *store = zeb_store_new (dir, options, NULL);
        int status = store? work (store, dir, arg): 2;
        if (status)
            _exit (status);
        kill (getpid (), SIGKILL);
    }
    int status;
    while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED (status))
        fprintf (stderr, "store test: the child's work failed with %d\n", WEXITSTATUS (status));
    assert (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL);
}

//  A reader of the store in another process, holding LMDB's lock file
//  until stopped
typedef struct {
    pid_t pid;
    int ready [2], done [2];
} s_test_reader_t;

static void
s_test_reader_start (s_test_reader_t *self, const char *dir)
{
    assert (pipe (self->ready) == 0 && pipe (self->done) == 0);
    fflush (stdout);
    self->pid = fork ();
    assert (self->pid >= 0);
    char byte;
    if (self->pid == 0) {
        zeb_store_options_t reading = { .sync = ZEB_SYNC_ALWAYS, .writer = false };
        zeb_store_t *opened = zeb_store_new (dir, &reading, NULL);
        if (!opened || write (self->ready [1], "r", 1) != 1)
            _exit (2);
        if (read (self->done [0], &byte, 1) < 0) {}    //  until the parent says
        kill (getpid (), SIGKILL);
    }
    assert (read (self->ready [0], &byte, 1) == 1);
}

static void
s_test_reader_stop (s_test_reader_t *self)
{
    assert (write (self->done [1], "x", 1) == 1);
    int status;
    waitpid (self->pid, &status, 0);
    for (int index = 0; index < 2; index++) {
        close (self->ready [index]);
        close (self->done [index]);
    }
}

//  One group of count application writes and one event
static int
s_test_many_writes (zeb_store_t *store, const char *dir, int count)
{
    (void) dir;
    MDB_dbi dbi;
    if (zeb_store_app_dbi (store, "app", 3, &dbi) || zeb_store_begin (store))
        return 3;
    for (int index = 0; index < count; index++) {
        char key [16];
        snprintf (key, sizeof (key), "k%05d", index);
        if (zeb_store_app_put (store, dbi, key, strlen (key), "v", 1, false))
            return 4;
    }
    if (zeb_store_append (store, "with-writes", 11) || zeb_store_commit (store, 1000))
        return 5;
    return 0;
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

//  Keep a copy of data.mdb as it is after the open's checkpoint, then
//  store 20 groups of events with keys and an application write
static int s_test_write_groups (zeb_store_t *store, int first_group, int count);

static int
s_test_groups (zeb_store_t *store, const char *dir, int first_group)
{
    char *from = zsys_sprintf ("%s/data.mdb", dir);
    char *to = zsys_sprintf ("%s/data.checkpoint", dir);
    s_test_copy (from, to);
    zstr_free (&from);
    zstr_free (&to);
    return s_test_write_groups (store, first_group, 20);
}

//  Groups first_group.. (count of them) of ten events, keys and a write
static int
s_test_write_groups (zeb_store_t *store, int first_group, int count)
{
    MDB_dbi dbi;
    if (zeb_store_app_dbi (store, "app", 3, &dbi))
        return 3;
    for (int group = first_group; group < first_group + count; group++) {
        //  Again while the store says so (the journal full: a checkpoint)
        int rc;
        do {
            if (zeb_store_begin (store))
                return 4;
            rc = 0;
            for (int index = 0; index < 10 && rc == 0; index++) {
                char text [32];
                snprintf (text, sizeof (text), "journal-%d-%d", group, index);
                uint64_t sequence = zeb_store_next_sequence (store);
                rc = zeb_store_append (store, text, strlen (text));
                if (rc == 0)
                    rc = zeb_store_dedup_put (store, text, strlen (text), sequence, 5000 + group);
            }
            char value [16];
            snprintf (value, sizeof (value), "%d", group);
            if (rc == 0)
                rc = zeb_store_app_put (store, dbi, "last", 4, value, strlen (value), false);
            if (rc == 0)
                rc = zeb_store_commit (store, 5000 + group);
            else
                zeb_store_abort (store);
        } while (rc == ZEB_ERETRY);
        if (rc)
            return 5;
    }
    return 0;
}

//  Groups 0..19, then a checkpoint whose flush is held while groups
//  20..39 commit (carried into it); with finish, the checkpoint recorded
//  after that and groups 40..59 after it. The caller crashes then.
static int
s_test_carried (zeb_store_t *store, const char *dir, int finish)
{
    store->flusher->hold = true;
    int rc = s_test_write_groups (store, 0, 20);
    if (rc == 0 && (zeb_store_checkpoint_start (store) || !store->flushing))
        rc = 7;
    if (rc == 0)
        rc = s_test_write_groups (store, 20, 20);
    if (rc == 0 && (!store->flushing || store->carry.size == 0))
        rc = 8;
    if (rc == 0 && finish) {
        uint64_t flushes, checkpoints, before;
        zeb_store_flushes (store, &flushes, &before);
        if (zeb_store_checkpoint_finish (store, true) || store->flushing)
            rc = 9;
        zeb_store_flushes (store, &flushes, &checkpoints);
        if (rc == 0 && checkpoints != before + 1)
            rc = 10;
        //  data.mdb as that flush left it, for a power loss (pages after
        //  it may be there too: the restore puts LMDB back to it anyway)
        char *from = zsys_sprintf ("%s/data.mdb", dir);
        char *to = zsys_sprintf ("%s/data.checkpoint", dir);
        s_test_copy (from, to);
        zstr_free (&from);
        zstr_free (&to);
        if (rc == 0)
            rc = s_test_write_groups (store, 40, 20);
    }
    return rc;
}

//  Every flush held until a commit must wait for it (the journal full,
//  or the carry past what a checkpoint holds): groups 0..arg-1
static int
s_test_held (zeb_store_t *store, const char *dir, int groups)
{
    (void) dir;
    store->flusher->hold = true;
    uint64_t flushes, checkpoints;
    int rc = 0;
    for (int group = 0; group < groups && rc == 0; group++) {
        rc = s_test_write_groups (store, group, 1);
        //  One under way all the time: each generation carries most of
        //  the one before
        if (rc == 0 && zeb_store_checkpoint_start (store))
            rc = 12;
    }
    zeb_store_flushes (store, &flushes, &checkpoints);
    return rc? rc: checkpoints < 5? 11: 0;
}

//  Put back data.checkpoint (data.mdb as a flush left it) as data.mdb,
//  with the meta pages data.mdb has now: as if those reached the disk
//  and named pages that did not, so that only the restore from the
//  journal makes it open
static void
s_test_power_loss (const char *dir)
{
    char *current = zsys_sprintf ("%s/data.mdb", dir);
    char *checkpoint = zsys_sprintf ("%s/data.checkpoint", dir);
    size_t psize = (size_t) sysconf (_SC_PAGESIZE);
    uint8_t *metas = (uint8_t *) malloc (2 * psize);
    int fd = open (current, O_RDONLY);
    assert (fd >= 0 && pread (fd, metas, 2 * psize, 0) == (ssize_t) (2 * psize));
    close (fd);
    fd = open (checkpoint, O_WRONLY);
    assert (fd >= 0 && pwrite (fd, metas, 2 * psize, 0) == (ssize_t) (2 * psize));
    close (fd);
    free (metas);
    assert (rename (checkpoint, current) == 0);
    zstr_free (&current);
    zstr_free (&checkpoint);
}

static void
s_test_remove (const char *dir)
{
    zdir_t *tree = zdir_new (dir, NULL);
    zdir_remove (tree, true);
    zdir_destroy (&tree);
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
    s_test_read_t read = { 0, "" };
    assert (zeb_store_read (store, 0, s_test_visit, &read, NULL) == 0);
    char expected [32];
    snprintf (expected, sizeof (expected), "journal-%d-9", groups - 1);
    assert (read.count == stats.last && streq (read.last, expected));
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

void
zeb_store_journal_test (void)
{
    char dir [] = "/tmp/zeb-store-XXXXXX";
    assert (mkdtemp (dir));
    zeb_store_options_t options = { .map_size = 1 << 20, .sync = ZEB_SYNC_ALWAYS, .writer = true,
                                    .checkpoint_interval = 3600000 };
    //  A crash of the process: every commit that returned is there
    s_test_crash (dir, &options, s_test_groups, 0);
    s_test_journal_check (dir, &options, 20);
    //  A power loss: LMDB's file as its last flush left it (the open's
    //  checkpoint), the journal as its flushes left it
    s_test_crash (dir, &options, s_test_groups, 20);
    s_test_power_loss (dir);
    s_test_journal_check (dir, &options, 40);
    //  One flush per commit: each group above was one record
    zeb_store_t *store = zeb_store_new (dir, &options, NULL);
    uint64_t flushes, checkpoints, before;
    zeb_store_flushes (store, &before, &checkpoints);
    assert (zeb_store_test_append (store, "one") == 0);
    assert (zeb_store_test_append (store, "two") == 0);
    zeb_store_flushes (store, &flushes, &checkpoints);
    assert (flushes == before + 2);
    //  A checkpoint when one is due; then nothing to do until a commit
    assert (zeb_store_maintain (store) > 0);
    zeb_store_options_t soon = options;
    soon.checkpoint_interval = 1;
    zeb_store_destroy (&store);
    store = zeb_store_new (dir, &soon, NULL);
    assert (zeb_store_test_append (store, "three") == 0);
    //  Its flush runs in the flusher's thread; the descriptor says when
    //  it ended, and maintain then records it
    assert (zeb_store_flush_fd (store) >= 0);
    int64_t deadline = zeb_time_mono_us () + 5000000;
    zeb_store_flushes (store, &flushes, &checkpoints);
    while (checkpoints < 2) {
        int64_t wait = zeb_store_maintain (store);
        zeb_store_flushes (store, &flushes, &checkpoints);
        if (checkpoints < 2) {
            struct pollfd ended = { zeb_store_flush_fd (store), POLLIN, 0 };
            poll (&ended, 1, wait < 0? 100: (int) wait);
        }
        assert (zeb_time_mono_us () < deadline);
    }
    assert (checkpoints == 2);
    assert (zeb_store_maintain (store) == -1);         //  nothing committed since
    zeb_store_destroy (&store);
    //  Without the journal the same store opens, and the journal after
    zeb_store_options_t plain = options;
    plain.no_journal = true;
    store = zeb_store_new (dir, &plain, NULL);
    assert (store && zeb_store_test_append (store, "four") == 0);
    zeb_store_destroy (&store);
    store = zeb_store_new (dir, &options, NULL);
    zeb_store_stats_t stats;
    assert (store && zeb_store_stats (store, &stats) == 0 && stats.last == 404);
    zeb_store_destroy (&store);
    zdir_t *tree = zdir_new (dir, NULL);
    zdir_remove (tree, true);
    zdir_destroy (&tree);

    //  A checkpoint's flush beside the commits: a crash before it is
    //  recorded leaves the last checkpoint and every group after it; after
    //  it, the groups carried into it, then those after it; also when
    //  power was lost (LMDB's file as that flush left it)
    //  (a map that holds them all without reuse: no checkpoint in between)
    zeb_store_options_t roomy = options;
    roomy.map_size = 16 << 20;
    char dir3 [] = "/tmp/zeb-store-XXXXXX";
    assert (mkdtemp (dir3));
    s_test_crash (dir3, &roomy, s_test_carried, 0);
    s_test_journal_check (dir3, &roomy, 40);
    s_test_remove (dir3);
    assert (mkdtemp (strcpy (dir3, "/tmp/zeb-store-XXXXXX")));
    s_test_crash (dir3, &roomy, s_test_carried, 1);
    s_test_journal_check (dir3, &roomy, 60);
    s_test_remove (dir3);
    assert (mkdtemp (strcpy (dir3, "/tmp/zeb-store-XXXXXX")));
    s_test_crash (dir3, &roomy, s_test_carried, 1);
    s_test_power_loss (dir3);
    s_test_journal_check (dir3, &roomy, 60);
    s_test_remove (dir3);
    //  Flushes that take long: commits fill the journal (or the carry)
    //  and wait for them; small files, so that it happens often
    size_t psize = (size_t) sysconf (_SC_PAGESIZE);
    zeb_store_options_t small = roomy;
    small.journal_size = 16 * psize;
    assert (mkdtemp (strcpy (dir3, "/tmp/zeb-store-XXXXXX")));
    s_test_crash (dir3, &small, s_test_held, 400);
    s_test_journal_check (dir3, &small, 400);
    s_test_remove (dir3);

    //  A group of more application writes than any small table holds,
    //  acknowledged, then a crash: all of them after recovery
    char dir2 [] = "/tmp/zeb-store-XXXXXX";
    assert (mkdtemp (dir2));
    s_test_crash (dir2, &options, s_test_many_writes, 3000);
    store = zeb_store_new (dir2, &options, NULL);
    assert (store && zeb_store_stats (store, &stats) == 0 && stats.last == 1);
    zeb_store_destroy (&store);
    assert (s_test_app_keys (dir2) == 3000);

    //  A reader in another process keeps LMDB's lock file alive across the
    //  writer's crash: LMDB's state stands, the journal adds what it lacks
    s_test_reader_t reader;
    s_test_reader_start (&reader, dir2);
    s_test_crash (dir2, &options, s_test_many_writes, 10);
    store = zeb_store_new (dir2, &options, NULL);
    assert (store && zeb_store_stats (store, &stats) == 0 && stats.last == 2);
    zeb_store_destroy (&store);
    s_test_reader_stop (&reader);
    assert (s_test_app_keys (dir2) == 3000);

    //  A store without a journal whose first run with one stopped before
    //  its first checkpoint (journal files, none in them) keeps its events
    zeb_store_options_t bare = options;
    bare.no_journal = true;
    store = zeb_store_new (dir2, &bare, NULL);
    assert (store && zeb_store_test_append (store, "kept") == 0);
    zeb_store_destroy (&store);
    for (int index = 0; index < 2; index++) {
        char *name = zsys_sprintf ("%s/journal-%d", dir2, index);
        FILE *file = fopen (name, "w");
        assert (file);
        fclose (file);
        zstr_free (&name);
    }
    //  ...also when LMDB cannot open it then (a map too large to map):
    //  the store held commits, so it is not set aside
    zeb_store_options_t huge = options;
    huge.map_size = 1ULL << 62;
    assert (zeb_store_new (dir2, &huge, NULL) == NULL);
    store = zeb_store_new (dir2, &options, NULL);
    assert (store && zeb_store_stats (store, &stats) == 0 && stats.last == 3);
    zeb_store_destroy (&store);

    //  A restore that was under way (its mark left) while a reader has
    //  the store open: refused, since LMDB's state may be the restore's;
    //  once the reader is gone the restore runs again, and the mark goes
    s_test_crash (dir2, &options, s_test_many_writes, 10);
    char *mark = zsys_sprintf ("%s/recovering", dir2);
    FILE *marked = fopen (mark, "w");
    assert (marked);
    fclose (marked);
    s_test_reader_start (&reader, dir2);
    zeb_fault_t fault = { 0 };
    assert (zeb_store_new (dir2, &options, &fault) == NULL && strstr (fault.text, "interrupted"));
    s_test_reader_stop (&reader);
    store = zeb_store_new (dir2, &options, NULL);
    assert (store && zeb_store_stats (store, &stats) == 0 && stats.last == 4);
    assert (access (mark, F_OK) != 0);
    zeb_store_destroy (&store);
    zstr_free (&mark);
    tree = zdir_new (dir2, NULL);
    zdir_remove (tree, true);
    zdir_destroy (&tree);
}
