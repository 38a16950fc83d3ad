/*  =========================================================================
    crashfs_test - power loss, simulated: the store as a crash would leave it

    usage: crashfs_test /path/to/zebd /path/to/libzeb_trace.so [seed]

    What it proves. SIGKILL (crash_test) keeps the page cache: what zebd
    wrote reaches the disk anyway. A power loss keeps only what was flushed.
    This test checks that every event zebd ACKed (ingest/sync=always) before
    a power loss is in the store afterwards, at the sequence its ACK named,
    whatever subset of the writes not yet flushed reached the disk; and that
    the store opens at all.

    How (the ALICE / CrashMonkey approach, docs/DESIGN.md "Power loss,
    simulated"). zebd runs with node/actors=ingest,log under LD_PRELOAD of
    tests/crashfs/zeb_trace.c, which records every open, write, truncate
    and flush of the files of its store (data/events), with the bytes
    written and the time each call returned. The test publishes S_EVENTS
    events synchronously (every S_TXN_EVERY-th in a TXN with an
    application write, which must be there exactly when its event is), noting each ACK's sequence and the time it came
    (CLOCK_MONOTONIC, the clock of the trace), then kills zebd.

    A crash point is a place in the trace: just after a flush (an fsync or
    fdatasync, or a write on an O_DSYNC descriptor, durable when it
    returned), or just before one (the writes that flush was to make
    durable are then still in flight), and every S_STRIDE-th operation
    besides, and the end of the trace (where zebd was killed); under ASan
    only a sample of them (forks cost more there). For each crash point the store is rebuilt in a
    fresh directory, once per subset: for each file every write before its
    last flush up to the crash point is applied, and every O_DSYNC write;
    of the other writes ("pending") none, all, or a seeded random subset
    (each with probability 1/2; in one of the random subsets a kept write is
    torn to a 512-byte multiple with probability 1/4, and the write that
    was under way, the next in the trace, may have landed torn), in trace
    order. The
    rebuilt store is opened with zeb_store (real LMDB, mdb_env_open) and
    read whole: it must open; its sequences must run 1..last with no gap;
    each must hold the event published under it (its idempotency key), none
    twice; and every event whose ACK came before the crash point's time
    must be there, also when power was lost while the store was being
    created (docs/DESIGN.md "Power loss, simulated"). The store's
    journal (one flush per group, checkpoints every 20 ms here, files of
    64 KiB so that they switch) is part of what is rebuilt. One rebuilt store (the last crash point) is also opened
    by a real zebd, which must start and serve it.

    The seed (default fixed, or the third argument) drives the subsets; it
    is printed so that a failure can be replayed. Under ASan the shim is
    preloaded after the ASan runtime; if that cannot be found the test
    skips (exit 77).
    =========================================================================
*/

#include "testutil.h"
#include "zeb_trace.h"
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#if defined (__SANITIZE_ADDRESS__)
#   define S_ASAN 1
#elif defined (__has_feature)
#   if __has_feature (address_sanitizer)
#       define S_ASAN 1
#   endif
#endif

#define S_DEFAULT_SEED  20261203ULL
#define S_EVENTS        300         //  events published, synchronously
//  Every flush is a crash point, and every S_STRIDE-th operation. Under
//  ASan a fork (each check runs in a child) costs ~25 ms of page tables
//  for the shadow memory, so there only every S_FLUSH_SAMPLE-th flush is
//  taken, and every S_STRIDE-th operation of the rest.
#ifdef S_ASAN
#   define S_STRIDE         64
#   define S_FLUSH_SAMPLE   8
#else
#   define S_STRIDE         8
#   define S_FLUSH_SAMPLE   1
#endif
#define S_SUBSETS       4           //  none, all, random, random torn
#define S_TXN_EVERY     10          //  every 10th event is a TXN with an application write
#define S_START_MS      15000
#define S_SHOWN         3           //  failures printed per store read
#define S_TEAR          512         //  torn writes keep a multiple of this

//  Nanoseconds on the clock of the trace
static uint64_t
s_now_ns (void)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return (uint64_t) now.tv_sec * 1000000000ULL + (uint64_t) now.tv_nsec;
}

//  ---------------------------------------------------------------------
//  The trace, read whole

typedef struct {
    zeb_trace_rec_t rec;        //  a copy: records in the trace are not aligned
    const uint8_t *data;        //  rec.size bytes
} s_op_t;

typedef struct {
    uint8_t *bytes;             //  the whole trace
    s_op_t *ops;
    size_t count;
    char *paths [256];          //  path of each file id (into bytes)
    uint32_t files;
} s_trace_t;

static void
s_trace_load (s_trace_t *self, const char *path)
{
    memset (self, 0, sizeof (*self));
    FILE *file = fopen (path, "rb");
    assert (file);
    fseek (file, 0, SEEK_END);
    long size = ftell (file);
    assert (size > 0);
    fseek (file, 0, SEEK_SET);
    self->bytes = (uint8_t *) malloc ((size_t) size);
    assert (self->bytes);
    size_t got = fread (self->bytes, 1, (size_t) size, file);
    assert (got == (size_t) size);
    fclose (file);

    size_t limit = 1024;
    self->ops = (s_op_t *) malloc (limit * sizeof (s_op_t));
    assert (self->ops);
    size_t at = 0;
    while (at < (size_t) size) {
        assert (at + sizeof (zeb_trace_rec_t) <= (size_t) size);
        zeb_trace_rec_t copy;
        memcpy (&copy, self->bytes + at, sizeof (copy));
        const zeb_trace_rec_t *rec = &copy;
        at += sizeof (zeb_trace_rec_t);
        assert (at + rec->size <= (size_t) size);
        if (self->count == limit) {
            limit *= 2;
            self->ops = (s_op_t *) realloc (self->ops, limit * sizeof (s_op_t));
            assert (self->ops);
        }
        self->ops [self->count++] = (s_op_t) { copy, self->bytes + at };
        if (rec->op == ZEB_TRACE_OPEN) {
            assert (rec->file < 256 && rec->size > 0 && self->bytes [at + rec->size - 1] == 0);
            self->paths [rec->file] = (char *) self->bytes + at;
            if (rec->file >= self->files)
                self->files = rec->file + 1;
        }
        //  The store renames nothing: a rename would need modelling here
        assert (rec->op != ZEB_TRACE_RENAME);
        at += rec->size;
    }
}

static void
s_trace_destroy (s_trace_t *self)
{
    free (self->ops);
    free (self->bytes);
}

//  A flush: durable when it returned
static bool
s_is_flush (const s_op_t *op)
{
    return op->rec.op == ZEB_TRACE_SYNC
        || (op->rec.op == ZEB_TRACE_WRITE && (op->rec.flags & ZEB_TRACE_DSYNC));
}

//  ---------------------------------------------------------------------
//  A file being rebuilt, in memory

typedef struct {
    uint8_t *bytes;
    size_t size, capacity;
    bool exists;
} s_file_t;

static void
s_file_resize (s_file_t *self, size_t size)
{
    if (size > self->capacity) {
        size_t capacity = self->capacity? self->capacity: 65536;
        while (capacity < size)
            capacity *= 2;
        self->bytes = (uint8_t *) realloc (self->bytes, capacity);
        assert (self->bytes);
        self->capacity = capacity;
    }
    if (size > self->size)
        memset (self->bytes + self->size, 0, size - self->size);
    self->size = size;
}

//  LMDB's lock file: the reader table, a shared mapping that LMDB
//  initialises again when the first process opens the environment; it is
//  left out of the rebuilt store (and of the writes counted pending)
static bool
s_is_lock (const s_trace_t *trace, uint32_t id)
{
    const char *path = trace->paths [id];
    const char *slash = path? strrchr (path, '/'): NULL;
    return slash && streq (slash + 1, "lock.mdb");
}

typedef enum { M_NONE = 0, M_ALL, M_RANDOM, M_TORN } s_mode_t;
static const char *s_mode_name [S_SUBSETS] = { "none", "all", "random", "random+torn" };

//  Rebuild the store under dir as a power loss just after op point would
//  leave it, keeping pending writes by mode. Returns the count of pending
//  writes (whatever the mode kept).
static size_t
s_rebuild (const s_trace_t *trace, size_t point, s_mode_t mode, uint64_t *rng, const char *dir)
{
    //  Each file's last flush up to the point: what came before it is durable
    int64_t last_sync [256];
    for (uint32_t id = 0; id < 256; id++)
        last_sync [id] = -1;
    for (size_t index = 0; index <= point; index++)
        if (trace->ops [index].rec.op == ZEB_TRACE_SYNC)
            last_sync [trace->ops [index].rec.file] = (int64_t) index;

    s_file_t files [256];
    memset (files, 0, sizeof (files));
    size_t pending = 0;
    for (size_t index = 0; index <= point; index++) {
        const zeb_trace_rec_t *rec = &trace->ops [index].rec;
        s_file_t *file = &files [rec->file];
        if (s_is_lock (trace, rec->file))
            continue;
        bool durable = (int64_t) index < last_sync [rec->file]
                    || (rec->op == ZEB_TRACE_WRITE && (rec->flags & ZEB_TRACE_DSYNC));
        bool keep = durable;
        size_t torn = 0;            //  bytes kept of a torn write, 0 if whole
        bool changes = rec->op == ZEB_TRACE_WRITE || rec->op == ZEB_TRACE_TRUNCATE
                    || (rec->op == ZEB_TRACE_OPEN && (rec->flags & ZEB_TRACE_TRUNC));
        if (changes && !durable) {
            pending++;
            keep = mode == M_ALL
                || ((mode == M_RANDOM || mode == M_TORN) && (test_random (rng) & 1));
            if (keep && mode == M_TORN && rec->op == ZEB_TRACE_WRITE && rec->size > S_TEAR
            &&  test_random (rng) % 4 == 0)
                torn = S_TEAR * (size_t) (test_random (rng) % ((rec->size - 1) / S_TEAR + 1));
        }
        //  A file once opened exists (directory entries are taken as durable)
        if (rec->op == ZEB_TRACE_OPEN)
            file->exists = true;
        if (!keep || !changes)
            continue;
        if (rec->op == ZEB_TRACE_OPEN)
            s_file_resize (file, 0), file->size = 0;
        else
        if (rec->op == ZEB_TRACE_TRUNCATE) {
            if (rec->offset < file->size)
                file->size = (size_t) rec->offset;
            else
                s_file_resize (file, (size_t) rec->offset);
        }
        else {
            size_t length = torn? torn: rec->size;
            if (rec->offset + length > file->size)
                s_file_resize (file, (size_t) rec->offset + length);
            memcpy (file->bytes + rec->offset, trace->ops [index].data, length);
        }
    }
    //  The write under way when the power went (the next one, an O_DSYNC
    //  meta page write as well), torn: some 512-byte sectors of it landed
    if (mode == M_TORN && point + 1 < trace->count && (test_random (rng) & 1)) {
        const zeb_trace_rec_t *rec = &trace->ops [point + 1].rec;
        s_file_t *file = &files [rec->file];
        if (rec->op == ZEB_TRACE_WRITE && !s_is_lock (trace, rec->file) && file->exists) {
            size_t length = S_TEAR * (size_t) (test_random (rng) % ((rec->size - 1) / S_TEAR + 1));
            if (length) {
                if (rec->offset + length > file->size)
                    s_file_resize (file, (size_t) rec->offset + length);
                memcpy (file->bytes + rec->offset, trace->ops [point + 1].data, length);
                pending++;
            }
        }
    }
    //  Write the files out
    int rc = mkdir (dir, 0755);
    assert (rc == 0);
    for (uint32_t id = 0; id < trace->files; id++) {
        const char *path = trace->paths [id];
        const char *name = path? strrchr (path, '/') + 1: NULL;
        if (name && files [id].exists && !s_is_lock (trace, id)) {
            char *target = zsys_sprintf ("%s/%s", dir, name);
            FILE *out = fopen (target, "wb");
            assert (out);
            if (files [id].size)
                assert (fwrite (files [id].bytes, 1, files [id].size, out) == files [id].size);
            assert (fclose (out) == 0);
            zstr_free (&target);
        }
        free (files [id].bytes);
    }
    return pending;
}

//  ---------------------------------------------------------------------
//  The rebuilt store, read and checked

typedef struct {
    uint64_t expected;          //  next sequence the read should see
    uint64_t count;
    int failures;
    const char *what;           //  the crash point and subset, for messages
} s_check_t;

static int
s_visit (uint64_t sequence, const uint8_t *data, size_t size, void *arg)
{
    s_check_t *check = (s_check_t *) arg;
    if (check->failures >= S_SHOWN)
        return 1;                   //  enough said about this store
    if (sequence != check->expected) {
        printf ("FAIL %s: sequence %llu where %llu was due (a gap or a repeat)\n", check->what,
                (unsigned long long) sequence, (unsigned long long) check->expected);
        check->failures++;
    }
    check->expected = sequence + 1;
    check->count++;
    zeb_fault_t fault;
    zeb_event_t *event = zeb_event_decode (data, size, &fault);
    char key [32];
    snprintf (key, sizeof (key), "cfs-%llu", (unsigned long long) sequence);
    const char *stored = event? zeb_event_attr (event, ZEB_ATTR_IDEMPOTENCYKEY): NULL;
    if (!stored || strcmp (stored, key) != 0) {
        //  Keys are unique per event and the sequence names the event, so
        //  a match here also rules out an event stored twice
        printf ("FAIL %s: sequence %llu holds %s, not %s\n", check->what,
                (unsigned long long) sequence, stored? stored: "no event", key);
        check->failures++;
    }
    zeb_event_destroy (&event);
    return 0;
}

//  The application writes of the TXNs: each is there if and only if its
//  event is (stored together), with its value. Returns failures.
static int
s_check_writes (const char *dir, uint64_t last, const char *what)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    int failures = 0;
    if (mdb_env_create (&env))
        return 1;
    mdb_env_set_maxdbs (env, 64);
    if (mdb_env_open (env, dir, MDB_RDONLY | MDB_NOLOCK, 0644) || mdb_txn_begin (env, NULL, MDB_RDONLY, &txn)) {
        printf ("FAIL %s: the store does not open for its application writes\n", what);
        mdb_env_close (env);
        return 1;
    }
    bool has_db = mdb_dbi_open (txn, "app/crashfs", 0, &dbi) == 0;
    for (uint64_t number = S_TXN_EVERY; number <= S_EVENTS && failures < S_SHOWN; number += S_TXN_EVERY) {
        char key [32], value [16];
        snprintf (key, sizeof (key), "cfs-%llu", (unsigned long long) number);
        snprintf (value, sizeof (value), "%llu", (unsigned long long) number);
        MDB_val k = { strlen (key), key }, v;
        bool found = has_db && mdb_get (txn, dbi, &k, &v) == 0;
        if (found != (number <= last)
        ||  (found && (v.mv_size != strlen (value) || memcmp (v.mv_data, value, v.mv_size)))) {
            printf ("FAIL %s: application write %s %s, its event %s\n", what, key,
                    found? "there": "missing", number <= last? "stored": "not stored");
            failures++;
        }
    }
    mdb_txn_abort (txn);
    mdb_env_close (env);
    return failures;
}

//  Open and read the store in dir; every event ACKed before the crash
//  point (the first acked of them) must be there. Returns failures, or
//  S_NO_OPEN if the store does not open (printed as a failure if
//  anything had been acked, else as a note: the caller judges).
#define S_NO_OPEN -1
static int
s_check_store (const char *dir, uint64_t acked, const char *what, uint64_t *last)
{
    zeb_store_options_t options = { .map_size = 0, .max_size = 0, .sync = ZEB_SYNC_ALWAYS, .writer = true };
    zeb_fault_t fault;
    zeb_store_t *store = zeb_store_new (dir, &options, &fault);
    if (!store) {
        printf ("%s %s: the store does not open: %s\n", acked? "FAIL": "NOTE", what, fault.text);
        return S_NO_OPEN;
    }
    s_check_t check = { 1, 0, 0, what };
    zeb_store_stats_t stats;
    int rc = zeb_store_read (store, 0, s_visit, &check, &stats);
    if (rc) {
        printf ("FAIL %s: reading the store: %s\n", what, zeb_strerror (rc));
        check.failures++;
    }
    if (check.count != stats.last || (stats.last && stats.first != 1)) {
        printf ("FAIL %s: %llu events read, bounds %llu..%llu\n", what,
                (unsigned long long) check.count, (unsigned long long) stats.first,
                (unsigned long long) stats.last);
        check.failures++;
    }
    if (stats.last < acked) {
        printf ("FAIL %s: ACKed events lost: the store ends at %llu, %llu were ACKed\n", what,
                (unsigned long long) stats.last, (unsigned long long) acked);
        check.failures++;
    }
    if (stats.last > S_EVENTS) {
        printf ("FAIL %s: %llu events, only %d were published\n", what,
                (unsigned long long) stats.last, S_EVENTS);
        check.failures++;
    }
    zeb_store_destroy (&store);
    check.failures += s_check_writes (dir, stats.last, what);
    *last = stats.last;
    return check.failures;
}

//  s_check_store in a child process: LMDB trusts its file, and a store
//  broken badly enough makes it read past the map (SIGBUS) or follow a
//  wild pointer; that is a failure to report, not a crash of the test.
//  The child only opens and reads the store (no sockets, no threads of
//  its own). Returns failures; *last as s_check_store.
static int
s_check_apart (const char *dir, uint64_t acked, const char *what, uint64_t *last)
{
    int pipe_fds [2];
    int rc = pipe (pipe_fds);
    assert (rc == 0);
    fflush (stdout);
    pid_t pid = fork ();
    assert (pid >= 0);
    if (pid == 0) {
        close (pipe_fds [0]);
        uint64_t result [2] = { 0, 0 };
        result [0] = (uint64_t) (int64_t) s_check_store (dir, acked, what, &result [1]);
        fflush (stdout);
        ssize_t put = write (pipe_fds [1], result, sizeof (result));
        _exit (put == sizeof (result)? 0: 1);
    }
    close (pipe_fds [1]);
    uint64_t result [2];
    ssize_t got = read (pipe_fds [0], result, sizeof (result));
    close (pipe_fds [0]);
    int status;
    while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (got != sizeof (result) || !WIFEXITED (status) || WEXITSTATUS (status)) {
        printf ("FAIL %s: the check of the store died (%s %d)\n", what,
                WIFSIGNALED (status)? "signal": "exit status",
                WIFSIGNALED (status)? WTERMSIG (status): WEXITSTATUS (status));
        return 1;
    }
    *last = result [1];
    return (int) (int64_t) result [0];
}

//  ---------------------------------------------------------------------

#ifdef S_ASAN
//  The ASan runtime this test was linked with, for LD_PRELOAD before the
//  shim (ASan must come first); false if it cannot be found
static bool
s_asan_runtime (char *path, size_t size)
{
    FILE *maps = fopen ("/proc/self/maps", "r");
    if (!maps)
        return false;
    char line [1024];
    bool found = false;
    while (!found && fgets (line, sizeof (line), maps)) {
        char *name = strchr (line, '/');
        if (name && strstr (name, "/libasan.so")) {
            name [strcspn (name, "\n")] = 0;
            snprintf (path, size, "%s", name);
            found = true;
        }
    }
    fclose (maps);
    return found;
}
#endif

int
main (int argc, char *argv [])
{
    if (argc < 3) {
        fprintf (stderr, "usage: crashfs_test /path/to/zebd /path/to/libzeb_trace.so [seed]\n");
        return 2;
    }
    uint64_t seed = argc > 3? strtoull (argv [3], NULL, 10): S_DEFAULT_SEED;
    int64_t started = test_now_ms ();
    printf (" * crashfs: seed %llu\n", (unsigned long long) seed);

    char preload [2048];
    snprintf (preload, sizeof (preload), "%s", argv [2]);
#ifdef S_ASAN
    char asan [1024];
    if (!s_asan_runtime (asan, sizeof (asan))) {
        printf ("SKIP: an ASan build, and the ASan runtime to preload before the shim "
                "was not found (a static runtime?)\n");
        return 77;
    }
    snprintf (preload, sizeof (preload), "%s:%s", asan, argv [2]);
#endif

    //  zebd under the shim, on a store of its own
    test_zebd_t zebd;
    test_zebd_init (&zebd, argv [1]);
    test_zebd_set (&zebd, "node/actors=ingest,log");
    test_zebd_set (&zebd, "ingest/sync=always");
    test_zebd_set (&zebd, "store/map_size=1MiB");
    //  Checkpoints and journal files switched while the events come, so
    //  that crash points fall in them too
    test_zebd_set (&zebd, "store/checkpoint_interval=20ms");
    test_zebd_set (&zebd, "store/journal_size=64KiB");
    char work [256];
    test_tempdir (work, sizeof (work));
    char *trace_path = zsys_sprintf ("%s/trace", work);
    char *events_dir = zsys_sprintf ("%s/events", zebd.data);
    setenv ("ZEB_TRACE", trace_path, 1);
    setenv ("ZEB_TRACE_DIR", events_dir, 1);
    setenv ("LD_PRELOAD", preload, 1);
    int rc = test_zebd_start (&zebd, S_START_MS);
    unsetenv ("LD_PRELOAD");
    unsetenv ("ZEB_TRACE");
    unsetenv ("ZEB_TRACE_DIR");
    assert (rc == 0);

    //  Publish, noting when each ACK came
    uint64_t ack_ns [S_EVENTS];
    zeb_client_t *client = zeb_client_new (zebd.ingest);
    zeb_txn_t *txn = zeb_txn_new (zebd.ingest, "crashfs");
    assert (client && txn);
    for (int number = 0; number < S_EVENTS; number++) {
        char key [32];
        snprintf (key, sizeof (key), "cfs-%d", number + 1);
        zeb_event_t *event = test_event_new ("crashfs.tick", "crashfs", number, key);
        zeb_ack_t ack;
        if ((number + 1) % S_TXN_EVERY == 0) {
            //  A TXN: the event and an application write, stored together
            char value [16];
            snprintf (value, sizeof (value), "%d", number + 1);
            zeb_txn_put (txn, key, strlen (key), value, strlen (value));
            zeb_txn_publish (txn, event);
            zeb_txn_commit (txn, &ack);
        }
        else
            zeb_client_publish (client, event, &ack);
        ack_ns [number] = s_now_ns ();
        if (ack.status != 0 || ack.sequence != (uint64_t) number + 1) {
            printf ("FAIL: publish %d: status %d (%s), sequence %llu\n", number, ack.status,
                    ack.error, (unsigned long long) ack.sequence);
            return 1;
        }
        zeb_event_destroy (&event);
    }
    zeb_client_destroy (&client);
    zeb_txn_destroy (&txn);
    test_zebd_kill (&zebd);
    int64_t published = test_now_ms ();

    s_trace_t trace;
    s_trace_load (&trace, trace_path);
    size_t flushes = 0, syncs = 0, dsyncs = 0, writes = 0;
    for (size_t index = 0; index < trace.count; index++) {
        if (trace.ops [index].rec.op == ZEB_TRACE_WRITE)
            writes++;
        if (s_is_flush (&trace.ops [index])) {
            flushes++;
            if (trace.ops [index].rec.op == ZEB_TRACE_SYNC)
                syncs++;
            else
                dsyncs++;
        }
    }
    printf (" * trace: %zu operations on %u files, %zu writes, %zu fsync/fdatasync, "
            "%zu O_DSYNC writes\n", trace.count, trace.files, writes, syncs, dsyncs);
    //  sync=always: each commit flushed once, to the journal, whose files
    //  are in the trace, switched (checkpoints every 20 ms), and flushed
    size_t journal_syncs [2] = { 0, 0 };
    for (size_t index = 0; index < trace.count; index++) {
        const char *path = trace.paths [trace.ops [index].rec.file];
        const char *slash = path? strrchr (path, '/'): NULL;
        if (trace.ops [index].rec.op == ZEB_TRACE_SYNC && slash && strncmp (slash + 1, "journal-", 8) == 0)
            journal_syncs [slash [9] == '1']++;
    }
    printf (" * journal flushes: %zu and %zu in its two files\n", journal_syncs [0], journal_syncs [1]);
    int failures = 0;
    if (flushes < S_EVENTS || journal_syncs [0] + journal_syncs [1] < S_EVENTS
    ||  !journal_syncs [0] || !journal_syncs [1]) {
        printf ("FAIL: %zu flushes, %zu of the journal, for %d commits\n", flushes,
                journal_syncs [0] + journal_syncs [1], S_EVENTS);
        failures++;
    }

    //  Crash points: just after and just before every flush, every
    //  S_STRIDE-th operation besides, and the end of the trace
    char *rebuilt = zsys_sprintf ("%s/rebuilt", work);
    uint64_t rng = seed;
    size_t points = 0, states = 0, pending_total = 0, pending_points = 0;
    uint64_t last = 0;              //  of the last store checked
    size_t flush_number = 0;        //  flushes up to point, for S_FLUSH_SAMPLE
    for (size_t point = 0; point < trace.count; point++) {
        bool after = s_is_flush (&trace.ops [point]);
        bool before = point + 1 < trace.count && s_is_flush (&trace.ops [point + 1]);
        if (after)
            flush_number++;
        //  The flush this point is just before or just after, sampled
        if ((after || before) && (after? flush_number - 1: flush_number) % S_FLUSH_SAMPLE)
            after = before = false;
        if (!after && !before && point % S_STRIDE && point + 1 < trace.count)
            continue;
        uint64_t crash_ns = trace.ops [point].rec.time_ns;
        //  Events ACKed before the crash: sequences 1..acked
        uint64_t acked = 0;
        while (acked < S_EVENTS && ack_ns [acked] < crash_ns)
            acked++;
        points++;
        for (int mode = 0; mode < S_SUBSETS; mode++) {
            char what [128];
            snprintf (what, sizeof (what), "crash after op %zu of %zu (%s%s), %s", point,
                      trace.count, after? "a flush": before? "before a flush": "any op",
                      point + 1 == trace.count? ", the end": "", s_mode_name [mode]);
            test_rmtree (rebuilt);
            size_t pending = s_rebuild (&trace, point, (s_mode_t) mode, &rng, rebuilt);
            int found = s_check_apart (rebuilt, acked, what, &last);
            failures += found == S_NO_OPEN? 1: found;
            states++;
            if (mode == M_NONE) {
                pending_total += pending;
                pending_points += pending > 0;
            }
            //  Nothing pending: the subsets are all this same state, but
            //  for the write under way torn (M_TORN)
            bool next_write = point + 1 < trace.count
                           && trace.ops [point + 1].rec.op == ZEB_TRACE_WRITE
                           && !s_is_lock (&trace, trace.ops [point + 1].rec.file);
            if (pending == 0 && (!next_write || mode == M_TORN))
                break;
            if (pending == 0 && mode < M_TORN)
                mode = M_TORN - 1;
        }
    }
    printf (" * checked %zu crash points, %zu rebuilt stores (%zu points with writes not yet "
            "durable, %zu such writes in all)\n", points, states, pending_points, pending_total);

    //  A real zebd on the last rebuilt store: it starts and serves every event
    test_zebd_t again;
    test_zebd_init (&again, argv [1]);
    test_zebd_set (&again, "node/actors=ingest,log");
    test_zebd_set (&again, "ingest/sync=always");
    test_rmtree (again.data);
    rc = mkdir (again.data, 0755);
    assert (rc == 0);
    char *again_events = zsys_sprintf ("%s/events", again.data);
    int rebuilt_rc = rename (rebuilt, again_events);
    assert (rebuilt_rc == 0);
    if (test_zebd_start (&again, S_START_MS)) {
        printf ("FAIL: zebd does not start on the rebuilt store\n");
        failures++;
    }
    else {
        zeb_client_t *check = zeb_client_new (again.ingest);
        zeb_event_t *event = test_event_new ("crashfs.tick", "crashfs", 0, "cfs-after");
        zeb_ack_t ack;
        zeb_client_publish (check, event, &ack);
        if (ack.status != 0 || ack.sequence != last + 1) {
            printf ("FAIL: publish on the rebuilt store: status %d, sequence %llu\n",
                    ack.status, (unsigned long long) ack.sequence);
            failures++;
        }
        zeb_event_destroy (&event);
        zeb_client_destroy (&check);
        if (test_zebd_stop (&again) != 0) {
            printf ("FAIL: zebd on the rebuilt store did not stop cleanly\n");
            failures++;
        }
    }
    test_zebd_destroy (&again);

    printf (" * crashfs: %d events, %lld ms publishing, %lld ms in all\n", S_EVENTS,
            (long long) (published - started), (long long) (test_now_ms () - started));
    s_trace_destroy (&trace);
    zstr_free (&again_events);
    zstr_free (&rebuilt);
    zstr_free (&trace_path);
    zstr_free (&events_dir);
    if (failures) {
        printf ("crashfs: %d failures; data kept in %s and %s\n", failures, work, zebd.data);
        return 1;
    }
    test_zebd_destroy (&zebd);
    test_rmtree (work);
    printf ("crashfs: OK\n");
    return 0;
}
