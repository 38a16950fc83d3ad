/*  =========================================================================
    zeb_journal - the event store's write-ahead journal: one flush per group
    =========================================================================
*/

#include "zeb_classes.h"
#include "zeb_journal.h"
#include <zlib.h>
#include <sys/uio.h>

#define S_MAGIC         "ZJ01"
#define S_GROW_MIN      (64ULL << 10)       //  first growth of a file
#define S_GROW_MAX      (16ULL << 20)       //  largest single growth
#define S_ZEROS         (256U << 10)        //  zeroes written per call

struct _zeb_journal_t {
    char *paths [2];
    int fds [2];
    uint64_t sizes [2];         //  bytes allocated (written) in each file
    uint64_t max_size;
    uint64_t generation;        //  of the newest checkpoint; 0 = none yet
    uint64_t offset;            //  where the next record goes, in file generation % 2
    uint64_t used;              //  bytes of group records in this generation
    uint64_t flushes;
    bool existed;
    uint8_t *checkpoint;        //  body of the newest checkpoint
    size_t checkpoint_size;
    uint8_t *replay;            //  the newest generation's file as read at open
    size_t replay_size;
    size_t replay_at;           //  its first group record
};

static inline void
s_put_le32 (uint8_t *p, uint32_t value)
{
    for (int index = 0; index < 4; index++, value >>= 8)
        p [index] = (uint8_t) value;
}

static inline uint32_t
s_get_le32 (const uint8_t *p)
{
    return (uint32_t) p [0] | (uint32_t) p [1] << 8 | (uint32_t) p [2] << 16 | (uint32_t) p [3] << 24;
}

static inline void
s_put_le64 (uint8_t *p, uint64_t value)
{
    for (int index = 0; index < 8; index++, value >>= 8)
        p [index] = (uint8_t) value;
}

static inline uint64_t
s_get_le64 (const uint8_t *p)
{
    return (uint64_t) s_get_le32 (p) | (uint64_t) s_get_le32 (p + 4) << 32;
}

static int
s_io_error (zeb_journal_t *self, int index, const char *what)
{
    int error = errno;
    zsys_error ("journal: %s %s: %s", what, self->paths [index], strerror (error));
    return error == ENOSPC || error == EDQUOT || error == EFBIG? ZEB_EFULL: ZEB_ESTORAGE;
}

static int
s_flush (zeb_journal_t *self, int index)
{
    int rc;
    while ((rc = fdatasync (self->fds [index])) < 0 && errno == EINTR)
        ;
    if (rc)
        return s_io_error (self, index, "fdatasync");
    self->flushes++;
    return 0;
}

static int
s_pwrite_all (int fd, const uint8_t *data, size_t size, uint64_t offset)
{
    while (size) {
        ssize_t done = pwrite (fd, data, size, (off_t) offset);
        if (done < 0 && errno == EINTR)
            continue;
        if (done <= 0)
            return -1;
        data += done;
        size -= (size_t) done;
        offset += (uint64_t) done;
    }
    return 0;
}

//  The header of a record of this body, checksum filled in
static void
s_header (uint8_t *header, zeb_journal_type_t type, uint64_t generation,
          const void *body, size_t size)
{
    memcpy (header, S_MAGIC, 4);
    s_put_le32 (header + 8, (uint32_t) size);
    header [12] = (uint8_t) type;
    header [13] = header [14] = header [15] = 0;
    s_put_le64 (header + 16, generation);
    uLong crc = crc32_z (0L, header + 8, ZEB_JOURNAL_HEADER - 8);
    crc = crc32_z (crc, (const Bytef *) body, size);
    s_put_le32 (header + 4, (uint32_t) crc);
}

//  A whole, valid record at data [at], of at most size - at bytes: its
//  type, generation and body. Returns false if there is none.
static bool
s_record (const uint8_t *data, size_t size, size_t at, uint8_t *type, uint64_t *generation,
          const uint8_t **body, size_t *body_size)
{
    if (size < at || size - at < ZEB_JOURNAL_HEADER || memcmp (data + at, S_MAGIC, 4))
        return false;
    const uint8_t *header = data + at;
    size_t length = s_get_le32 (header + 8);
    if (length > size - at - ZEB_JOURNAL_HEADER)
        return false;
    uLong crc = crc32_z (0L, header + 8, ZEB_JOURNAL_HEADER - 8);
    crc = crc32_z (crc, header + ZEB_JOURNAL_HEADER, length);
    if ((uint32_t) crc != s_get_le32 (header + 4))
        return false;
    *type = header [12];
    *generation = s_get_le64 (header + 16);
    *body = header + ZEB_JOURNAL_HEADER;
    *body_size = length;
    return true;
}

//  Read all of file index into a new buffer. Returns NULL on failure.
static uint8_t *
s_read_file (zeb_journal_t *self, int index, size_t *size)
{
    size_t total = (size_t) self->sizes [index];
    uint8_t *data = (uint8_t *) malloc (total? total: 1);
    if (!data)
        return NULL;
    size_t done = 0;
    while (done < total) {
        ssize_t got = pread (self->fds [index], data + done, total - done, (off_t) done);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            //  A read error is not "no journal": the caller must not go on
            s_io_error (self, index, "read");
            free (data);
            return NULL;
        }
        done += (size_t) got;
    }
    *size = done;
    return data;
}

//  Find the newest checkpoint and keep its file for replay
static int
s_read (zeb_journal_t *self)
{
    for (int index = 0; index < 2; index++) {
        uint8_t header [ZEB_JOURNAL_HEADER];
        if (self->sizes [index] < ZEB_JOURNAL_HEADER)
            continue;
        if (pread (self->fds [index], header, sizeof (header), 0) != (ssize_t) sizeof (header)) {
            s_io_error (self, index, "read");
            return ZEB_ESTORAGE;
        }
        if (memcmp (header, S_MAGIC, 4) || header [12] != ZEB_JOURNAL_CHECKPOINT)
            continue;
        uint64_t generation = s_get_le64 (header + 16);
        if (generation <= self->generation || generation % 2 != (uint64_t) index)
            continue;
        size_t size;
        uint8_t *data = s_read_file (self, index, &size);
        if (!data)
            return ZEB_ESTORAGE;
        uint8_t type;
        uint64_t record_generation;
        const uint8_t *body;
        size_t body_size;
        if (s_record (data, size, 0, &type, &record_generation, &body, &body_size)
        &&  type == ZEB_JOURNAL_CHECKPOINT && record_generation == generation) {
            free (self->checkpoint);
            free (self->replay);
            self->checkpoint = (uint8_t *) malloc (body_size? body_size: 1);
            if (!self->checkpoint) {
                free (data);
                return ZEB_ESTORAGE;
            }
            memcpy (self->checkpoint, body, body_size);
            self->checkpoint_size = body_size;
            self->generation = generation;
            self->replay = data;
            self->replay_size = size;
            self->replay_at = ZEB_JOURNAL_HEADER + body_size;
        }
        else
            free (data);
    }
    return 0;
}

//  Grow file index to at least need bytes, with zeroes, flushed
static int
s_grow (zeb_journal_t *self, int index, uint64_t need)
{
    uint64_t size = self->sizes [index];
    uint64_t target = size < S_GROW_MIN? S_GROW_MIN: size * 2 > size + S_GROW_MAX? size + S_GROW_MAX: size * 2;
    if (target > self->max_size)
        target = self->max_size;
    if (target < need)
        target = need;              //  one record larger than max_size
    static const uint8_t zeros [S_ZEROS];
    for (uint64_t at = size; at < target; ) {
        size_t chunk = target - at < S_ZEROS? (size_t) (target - at): S_ZEROS;
        if (s_pwrite_all (self->fds [index], zeros, chunk, at))
            return s_io_error (self, index, "grow");
        at += chunk;
    }
    int rc = s_flush (self, index);
    if (rc == 0)
        self->sizes [index] = target;
    return rc;
}

//  Write a record at offset of file index, growing the file first
static int
s_write (zeb_journal_t *self, int index, uint64_t offset, zeb_journal_type_t type,
         uint64_t generation, const void *body, size_t size)
{
    uint64_t end = offset + ZEB_JOURNAL_HEADER + size;
    if (end > self->sizes [index]) {
        int rc = s_grow (self, index, end);
        if (rc)
            return rc;
    }
    uint8_t header [ZEB_JOURNAL_HEADER];
    s_header (header, type, generation, body, size);
    struct iovec parts [2] = { { header, sizeof (header) }, { (void *) body, size } };
    size_t left = sizeof (header) + size;
    int part = 0;
    while (left) {
        ssize_t done = pwritev (self->fds [index], parts + part, 2 - part, (off_t) offset);
        if (done < 0 && errno == EINTR)
            continue;
        if (done <= 0)
            return s_io_error (self, index, "write");
        left -= (size_t) done;
        offset += (uint64_t) done;
        while (part < 2 && (size_t) done >= parts [part].iov_len) {
            done -= (ssize_t) parts [part].iov_len;
            part++;
        }
        if (part < 2) {
            parts [part].iov_base = (uint8_t *) parts [part].iov_base + done;
            parts [part].iov_len -= (size_t) done;
        }
    }
    return 0;
}

//  ---------------------------------------------------------------------
//  Public methods

zeb_journal_t *
zeb_journal_new (const char *dir, uint64_t max_size, zeb_fault_t *fault)
{
    assert (dir);
    zeb_journal_t *self = (zeb_journal_t *) zmalloc (sizeof (zeb_journal_t));
    if (!self) {
        zeb_fault_set (fault, ZEB_ERROR, "out of memory");
        return NULL;
    }
    self->max_size = max_size? max_size: ZEB_JOURNAL_MAX_SIZE;
    self->fds [0] = self->fds [1] = -1;
    bool created = false;
    for (int index = 0; index < 2; index++) {
        self->paths [index] = zsys_sprintf ("%s/journal-%d", dir, index);
        if (!self->paths [index])
            goto failed;
        self->existed = self->existed || access (self->paths [index], F_OK) == 0;
        self->fds [index] = open (self->paths [index], O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (self->fds [index] < 0) {
            zeb_fault_set (fault, ZEB_ESTORAGE, "cannot open %s: %s", self->paths [index], strerror (errno));
            goto failed;
        }
        struct stat info;
        if (fstat (self->fds [index], &info)) {
            zeb_fault_set (fault, ZEB_ESTORAGE, "cannot stat %s: %s", self->paths [index], strerror (errno));
            goto failed;
        }
        self->sizes [index] = (uint64_t) info.st_size;
        created = created || info.st_size == 0;
    }
    if (created) {
        //  The files' names are durable before anything relies on them
        int dirfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int rc = dirfd < 0? -1: fsync (dirfd);
        if (dirfd >= 0)
            close (dirfd);
        if (rc) {
            zeb_fault_set (fault, ZEB_ESTORAGE, "cannot flush %s: %s", dir, strerror (errno));
            goto failed;
        }
    }
    if (s_read (self)) {
        zeb_fault_set (fault, ZEB_ESTORAGE, "cannot read the journal in %s", dir);
        goto failed;
    }
    return self;
failed:
    zeb_journal_destroy (&self);
    return NULL;
}

void
zeb_journal_destroy (zeb_journal_t **self_p)
{
    assert (self_p);
    zeb_journal_t *self = *self_p;
    if (self) {
        for (int index = 0; index < 2; index++) {
            if (self->fds [index] >= 0)
                close (self->fds [index]);
            zstr_free (&self->paths [index]);
        }
        free (self->checkpoint);
        free (self->replay);
        free (self);
        *self_p = NULL;
    }
}

bool
zeb_journal_existed (zeb_journal_t *self)
{
    assert (self);
    return self->existed;
}

const uint8_t *
zeb_journal_checkpoint (zeb_journal_t *self, size_t *size)
{
    assert (self);
    if (size)
        *size = self->checkpoint_size;
    return self->generation? self->checkpoint: NULL;
}

int
zeb_journal_replay (zeb_journal_t *self, zeb_journal_visit_fn *visit, void *arg)
{
    assert (self);
    assert (visit);
    size_t at = self->replay_at;
    uint8_t type;
    uint64_t generation;
    const uint8_t *body;
    size_t size;
    while (self->replay
       &&  s_record (self->replay, self->replay_size, at, &type, &generation, &body, &size)
       &&  generation == self->generation && type == ZEB_JOURNAL_GROUP) {
        int rc = visit (body, size, arg);
        if (rc)
            return rc;
        at += ZEB_JOURNAL_HEADER + size;
    }
    return 0;
}

int
zeb_journal_write_checkpoint (zeb_journal_t *self, const void *body, size_t size)
{
    assert (self);
    uint64_t generation = self->generation + 1;
    int index = (int) (generation % 2);
    if (ZEB_JOURNAL_HEADER + size > self->max_size)
        return ZEB_ETOOBIG;
    int rc = s_write (self, index, 0, ZEB_JOURNAL_CHECKPOINT, generation, body, size);
    if (rc == 0)
        rc = s_flush (self, index);
    if (rc)
        return rc;
    uint8_t *copy = (uint8_t *) malloc (size? size: 1);
    if (!copy)
        return ZEB_ERROR;
    memcpy (copy, body, size);
    free (self->checkpoint);
    self->checkpoint = copy;
    self->checkpoint_size = size;
    free (self->replay);
    self->replay = NULL;
    self->generation = generation;
    self->offset = ZEB_JOURNAL_HEADER + size;
    self->used = 0;
    return 0;
}

int
zeb_journal_append (zeb_journal_t *self, const void *body, size_t size)
{
    assert (self);
    assert (self->generation);
    uint64_t need = ZEB_JOURNAL_HEADER + size;
    //  Past max_size: the other file, unless this is the generation's
    //  first record (then the file grows for it, past max_size)
    if (self->offset + need > self->max_size && self->used)
        return ZEB_ERETRY;
    int rc = s_write (self, (int) (self->generation % 2), self->offset, ZEB_JOURNAL_GROUP,
                      self->generation, body, size);
    if (rc == 0) {
        self->offset += need;
        self->used += need;
    }
    return rc;
}

int
zeb_journal_sync (zeb_journal_t *self)
{
    assert (self);
    return s_flush (self, (int) (self->generation % 2));
}

uint64_t
zeb_journal_used (zeb_journal_t *self)
{
    assert (self);
    return self->used;
}

uint64_t
zeb_journal_flushes (zeb_journal_t *self)
{
    assert (self);
    return self->flushes;
}

//  ---------------------------------------------------------------------
//  Self test

static int
s_test_collect (const uint8_t *body, size_t size, void *arg)
{
    zlist_t *bodies = (zlist_t *) arg;
    char copy [64];
    snprintf (copy, sizeof (copy), "%.*s", (int) size, (const char *) body);
    zlist_append (bodies, copy);        //  autofree: the list copies it
    return 0;
}

//  The group records of the journal in dir, joined by commas
static char *
s_test_replay (const char *dir, char *checkpoint, size_t limit)
{
    zeb_journal_t *journal = zeb_journal_new (dir, 0, NULL);
    assert (journal);
    size_t size;
    const uint8_t *body = zeb_journal_checkpoint (journal, &size);
    snprintf (checkpoint, limit, "%.*s", body? (int) size: 0, body? (const char *) body: "");
    zlist_t *bodies = zlist_new ();
    zlist_autofree (bodies);
    assert (zeb_journal_replay (journal, s_test_collect, bodies) == 0);
    char joined [256] = "";
    for (char *item = (char *) zlist_first (bodies); item; item = (char *) zlist_next (bodies)) {
        if (*joined)
            strcat (joined, ",");
        strcat (joined, item);
    }
    zlist_destroy (&bodies);
    zeb_journal_destroy (&journal);
    return strdup (joined);
}

void
zeb_journal_test (bool verbose)
{
    printf (" * zeb_journal: ");
    char dir [] = "/tmp/zeb-journal-test-XXXXXX";
    assert (mkdtemp (dir));
    char checkpoint [64];

    //  A new journal has no checkpoint; records need one first
    zeb_journal_t *journal = zeb_journal_new (dir, 0, NULL);
    assert (journal);
    assert (!zeb_journal_existed (journal));
    assert (zeb_journal_checkpoint (journal, NULL) == NULL);
    assert (zeb_journal_write_checkpoint (journal, "base-1", 6) == 0);
    assert (zeb_journal_append (journal, "a", 1) == 0);
    assert (zeb_journal_append (journal, "bb", 2) == 0);
    assert (zeb_journal_append (journal, "ccc", 3) == 0);
    assert (zeb_journal_sync (journal) == 0);
    assert (zeb_journal_used (journal) == 3 * ZEB_JOURNAL_HEADER + 6);
    zeb_journal_destroy (&journal);
    char *records = s_test_replay (dir, checkpoint, sizeof (checkpoint));
    assert (streq (checkpoint, "base-1"));
    assert (streq (records, "a,bb,ccc"));
    zstr_free (&records);

    //  A torn or corrupted last record ends the journal before it
    char *path = zsys_sprintf ("%s/journal-1", dir);
    int fd = open (path, O_RDWR);
    assert (fd >= 0);
    uint64_t last = ZEB_JOURNAL_HEADER + 6 + 2 * ZEB_JOURNAL_HEADER + 3 + ZEB_JOURNAL_HEADER;
    assert (pwrite (fd, "X", 1, (off_t) (last + 1)) == 1);
    records = s_test_replay (dir, checkpoint, sizeof (checkpoint));
    assert (streq (records, "a,bb"));
    zstr_free (&records);
    assert (pwrite (fd, "cc", 2, (off_t) (last + 1)) == 2);
    records = s_test_replay (dir, checkpoint, sizeof (checkpoint));
    assert (streq (records, "a,bb,ccc"));
    zstr_free (&records);

    //  A checkpoint starts the other file; the next one reuses the first,
    //  and the records left there from two generations ago do not count
    journal = zeb_journal_new (dir, 0, NULL);
    assert (zeb_journal_existed (journal));
    assert (zeb_journal_write_checkpoint (journal, "base-2", 6) == 0);
    assert (zeb_journal_append (journal, "d", 1) == 0);
    assert (zeb_journal_sync (journal) == 0);
    zeb_journal_destroy (&journal);
    records = s_test_replay (dir, checkpoint, sizeof (checkpoint));
    assert (streq (checkpoint, "base-2"));
    assert (streq (records, "d"));
    zstr_free (&records);
    journal = zeb_journal_new (dir, 0, NULL);
    assert (zeb_journal_write_checkpoint (journal, "base-3", 6) == 0);
    zeb_journal_destroy (&journal);
    records = s_test_replay (dir, checkpoint, sizeof (checkpoint));
    assert (streq (checkpoint, "base-3"));
    assert (streq (records, ""));
    zstr_free (&records);

    //  A checkpoint whose write did not land leaves the one before it
    assert (pwrite (fd, "Y", 1, ZEB_JOURNAL_HEADER) == 1);
    records = s_test_replay (dir, checkpoint, sizeof (checkpoint));
    assert (streq (checkpoint, "base-2"));
    assert (streq (records, "d"));
    zstr_free (&records);
    close (fd);
    zstr_free (&path);

    //  A file never grows past max_size: full, then too big
    journal = zeb_journal_new (dir, 4096, NULL);
    assert (zeb_journal_write_checkpoint (journal, "base-4", 6) == 0);
    char block [1000];
    memset (block, 'x', sizeof (block));
    int rc = 0, appended = 0;
    while ((rc = zeb_journal_append (journal, block, sizeof (block))) == 0)
        appended++;
    assert (rc == ZEB_ERETRY && appended == 3);
    char big [5000];
    memset (big, 'y', sizeof (big));
    assert (zeb_journal_write_checkpoint (journal, "base-5", 6) == 0);
    assert (zeb_journal_append (journal, big, sizeof (big)) == 0);     //  first: grows
    assert (zeb_journal_append (journal, block, sizeof (block)) == ZEB_ERETRY);
    assert (zeb_journal_flushes (journal) >= 2);
    zeb_journal_destroy (&journal);
    zeb_journal_destroy (&journal);

    char *command = zsys_sprintf ("rm -rf %s", dir);
    assert (system (command) == 0);
    zstr_free (&command);
    if (verbose)
        printf ("(journal files in a temporary directory) ");
    printf ("OK\n");
}
