/*  =========================================================================
    zeb_lmdb - LMDB environments shared by a process
    =========================================================================
*/

#include "zeb_classes.h"

#define S_DELETE_SLACK  (1ULL << 20)

struct _zeb_lmdb_t {
    char *path;                     //  real path of the directory
    MDB_env *env;
    MDB_dbi dbis [ZEB_LMDB_MAX_DBS];
    char *named [ZEB_LMDB_MAX_NAMED];   //  databases opened by name later
    MDB_dbi named_dbis [ZEB_LMDB_MAX_NAMED];
    pthread_mutex_t named_lock;
    pthread_rwlock_t resize;        //  readers shared, map growth exclusive
    uint64_t map_size;
    uint64_t max_size;
    int refs;
    struct _zeb_lmdb_t *next;
};

static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static zeb_lmdb_t *s_open = NULL;

int
zeb_lmdb_error (int rc, const char *what)
{
    if (rc == 0)
        return 0;
    if (rc == MDB_MAP_FULL || rc == ENOSPC)
        return ZEB_EFULL;
    if (rc <= ZEB_ERROR && rc > -2000)
        return rc;                  //  a zeb code already
    zsys_error ("lmdb: %s: %s", what, mdb_strerror (rc));
    return ZEB_ESTORAGE;
}

static int
s_env_open (zeb_lmdb_t *self, const zeb_lmdb_options_t *options, zeb_fault_t *fault)
{
    int rc = mdb_env_create (&self->env);
    if (rc)
        return zeb_fault_set (fault, ZEB_ESTORAGE, "mdb_env_create: %s", mdb_strerror (rc));
    self->map_size = options->map_size? options->map_size: ZEB_LMDB_MAP_SIZE;
    self->max_size = options->max_size;
    if (self->max_size && self->map_size > self->max_size)
        self->map_size = self->max_size;
    mdb_env_set_maxdbs (self->env, ZEB_LMDB_MAX_DBS + ZEB_LMDB_MAX_NAMED);
    mdb_env_set_maxreaders (self->env, 254);
    mdb_env_set_mapsize (self->env, self->map_size);
    rc = mdb_env_open (self->env, self->path, MDB_NOTLS, 0644);
    if (rc == 0) {
        //  A map grown by an earlier run is larger than what we asked for
        MDB_envinfo info;
        mdb_env_info (self->env, &info);
        self->map_size = info.me_mapsize;
    }
    MDB_txn *txn = NULL;
    if (rc == 0)
        rc = mdb_txn_begin (self->env, NULL, 0, &txn);
    for (int index = 0; rc == 0 && index < ZEB_LMDB_MAX_DBS && options->dbs [index]; index++)
        rc = mdb_dbi_open (txn, options->dbs [index], MDB_CREATE, &self->dbis [index]);
    if (rc == 0)
        rc = mdb_txn_commit (txn);
    else
    if (txn)
        mdb_txn_abort (txn);
    if (rc) {
        mdb_env_close (self->env);
        self->env = NULL;
        return zeb_fault_set (fault, rc == MDB_MAP_FULL? ZEB_EFULL: ZEB_ESTORAGE,
                              "cannot open LMDB environment in %s: %s", self->path, mdb_strerror (rc));
    }
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init (&attr);
    pthread_rwlockattr_setkind_np (&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init (&self->resize, &attr);
    pthread_rwlockattr_destroy (&attr);
    pthread_mutex_init (&self->named_lock, NULL);
    return 0;
}

int
zeb_lmdb_dbi_open (zeb_lmdb_t *self, const char *name, bool create, MDB_dbi *dbi)
{
    assert (self && name && dbi);
    pthread_mutex_lock (&self->named_lock);
    int rc = MDB_NOTFOUND, slot;
    for (slot = 0; slot < ZEB_LMDB_MAX_NAMED && self->named [slot]; slot++)
        if (streq (self->named [slot], name)) {
            *dbi = self->named_dbis [slot];
            rc = 0;
            break;
        }
    if (rc && slot == ZEB_LMDB_MAX_NAMED)
        rc = MDB_DBS_FULL;
    else
    if (rc) {
        //  Its own short transaction, under the lock: LMDB allows no two
        //  transactions that open databases at once in a process
        pthread_rwlock_rdlock (&self->resize);
        MDB_txn *txn;
        rc = mdb_txn_begin (self->env, NULL, create? 0: MDB_RDONLY, &txn);
        if (rc == 0) {
            rc = mdb_dbi_open (txn, name, create? MDB_CREATE: 0, dbi);
            if (rc == 0)
                rc = mdb_txn_commit (txn);
            else
                mdb_txn_abort (txn);
        }
        pthread_rwlock_unlock (&self->resize);
        if (rc == 0) {
            self->named [slot] = strdup (name);
            self->named_dbis [slot] = *dbi;
        }
    }
    pthread_mutex_unlock (&self->named_lock);
    if (rc == MDB_NOTFOUND)
        return ZEB_ENOTFOUND;
    if (rc == MDB_DBS_FULL) {
        zsys_error ("lmdb: more than %d named databases in %s", ZEB_LMDB_MAX_NAMED, self->path);
        return ZEB_EFULL;
    }
    return zeb_lmdb_error (rc, "open a named database");
}

zeb_lmdb_t *
zeb_lmdb_open (const char *path, const zeb_lmdb_options_t *options, zeb_fault_t *fault)
{
    assert (path);
    assert (options);
    if (!*path) {
        zeb_fault_set (fault, ZEB_ECONFIG, "an LMDB directory must be named");
        return NULL;
    }
    if (zsys_dir_create ("%s", path)) {
        zeb_fault_set (fault, ZEB_ESTORAGE, "cannot create directory %s: %s", path, strerror (errno));
        return NULL;
    }
    char *real = realpath (path, NULL);
    if (!real) {
        zeb_fault_set (fault, ZEB_ESTORAGE, "cannot resolve %s: %s", path, strerror (errno));
        return NULL;
    }
    pthread_mutex_lock (&s_lock);
    zeb_lmdb_t *self = s_open;
    while (self && !streq (self->path, real))
        self = self->next;
    if (self) {
        self->refs++;
        free (real);
    }
    else {
        self = (zeb_lmdb_t *) zmalloc (sizeof (zeb_lmdb_t));
        self->path = real;
        if (s_env_open (self, options, fault)) {
            free (self->path);
            free (self);
            self = NULL;
        }
        else {
            self->refs = 1;
            self->next = s_open;
            s_open = self;
        }
    }
    pthread_mutex_unlock (&s_lock);
    return self;
}

bool
zeb_lmdb_is_open (const char *path)
{
    assert (path);
    char *real = realpath (path, NULL);
    if (!real)
        return false;
    pthread_mutex_lock (&s_lock);
    zeb_lmdb_t *self = s_open;
    while (self && !streq (self->path, real))
        self = self->next;
    pthread_mutex_unlock (&s_lock);
    free (real);
    return self != NULL;
}

void
zeb_lmdb_close (zeb_lmdb_t **self_p)
{
    assert (self_p);
    zeb_lmdb_t *self = *self_p;
    if (!self)
        return;
    pthread_mutex_lock (&s_lock);
    if (--self->refs == 0) {
        zeb_lmdb_t **link = &s_open;
        while (*link != self)
            link = &(*link)->next;
        *link = self->next;
        mdb_env_close (self->env);
        pthread_rwlock_destroy (&self->resize);
        pthread_mutex_destroy (&self->named_lock);
        for (int slot = 0; slot < ZEB_LMDB_MAX_NAMED; slot++)
            free (self->named [slot]);
        free (self->path);
        free (self);
    }
    pthread_mutex_unlock (&s_lock);
    *self_p = NULL;
}

MDB_env *
zeb_lmdb_env (zeb_lmdb_t *self)
{
    assert (self);
    return self->env;
}

MDB_dbi
zeb_lmdb_dbi (zeb_lmdb_t *self, int index)
{
    assert (self);
    assert (index >= 0 && index < ZEB_LMDB_MAX_DBS);
    return self->dbis [index];
}

const char *
zeb_lmdb_path (zeb_lmdb_t *self)
{
    assert (self);
    return self->path;
}

uint64_t
zeb_lmdb_map_size (zeb_lmdb_t *self)
{
    assert (self);
    return self->map_size;
}

uint64_t
zeb_lmdb_max_size (zeb_lmdb_t *self)
{
    assert (self);
    return self->max_size;
}

int
zeb_lmdb_grow (zeb_lmdb_t *self, bool force)
{
    assert (self);
    pthread_rwlock_wrlock (&self->resize);
    uint64_t size = self->map_size * 2;
    int rc = 0;
    if (self->max_size && size > self->max_size) {
        if (self->map_size < self->max_size)
            size = self->max_size;
        else
        if (force && self->map_size < self->max_size)
            size = self->max_size + S_DELETE_SLACK;
        else
        if (force)
            size = self->map_size + S_DELETE_SLACK;     //  a map over max_size too
        else
            rc = ZEB_EFULL;
    }
    if (rc == 0) {
        int mrc = mdb_env_set_mapsize (self->env, size);
        if (mrc)
            rc = zeb_lmdb_error (mrc, "mdb_env_set_mapsize");
        else {
            self->map_size = size;
            zeb_info ("lmdb: map of %s grown to %llu MiB", self->path,
                      (unsigned long long) (size >> 20));
        }
    }
    pthread_rwlock_unlock (&self->resize);
    return rc;
}

void
zeb_lmdb_shrink (zeb_lmdb_t *self)
{
    assert (self);
    if (!self->max_size || self->map_size <= self->max_size)
        return;
    pthread_rwlock_wrlock (&self->resize);
    if (mdb_env_set_mapsize (self->env, self->max_size) == 0) {
        MDB_envinfo info;
        mdb_env_info (self->env, &info);
        self->map_size = info.me_mapsize;
    }
    pthread_rwlock_unlock (&self->resize);
}

int
zeb_lmdb_read_begin (zeb_lmdb_t *self, MDB_txn **txn)
{
    assert (self);
    for (int attempt = 0; attempt < 3; attempt++) {
        pthread_rwlock_rdlock (&self->resize);
        int rc = mdb_txn_begin (self->env, NULL, MDB_RDONLY, txn);
        if (rc == 0)
            return 0;
        pthread_rwlock_unlock (&self->resize);
        if (rc != MDB_MAP_RESIZED)
            return zeb_lmdb_error (rc, "mdb_txn_begin (read)");
        //  Another process grew the map: adopt its size
        pthread_rwlock_wrlock (&self->resize);
        mdb_env_set_mapsize (self->env, 0);
        MDB_envinfo info;
        mdb_env_info (self->env, &info);
        self->map_size = info.me_mapsize;
        pthread_rwlock_unlock (&self->resize);
    }
    return ZEB_ESTORAGE;
}

void
zeb_lmdb_read_end (zeb_lmdb_t *self, MDB_txn *txn)
{
    assert (self);
    mdb_txn_abort (txn);
    pthread_rwlock_unlock (&self->resize);
}

int
zeb_lmdb_write (zeb_lmdb_t *self, zeb_lmdb_write_fn *fn, void *arg)
{
    assert (self);
    assert (fn);
    while (true) {
        MDB_txn *txn;
        int rc = mdb_txn_begin (self->env, NULL, 0, &txn);
        if (rc)
            return zeb_lmdb_error (rc, "mdb_txn_begin");
        rc = fn (txn, arg);
        if (rc == 0)
            rc = mdb_txn_commit (txn);
        else
            mdb_txn_abort (txn);
        if (rc == MDB_MAP_FULL) {
            int grown = zeb_lmdb_grow (self, false);
            if (grown)
                return grown;
            continue;               //  run the transaction again
        }
        return zeb_lmdb_error (rc, "write transaction");
    }
}

//  ---------------------------------------------------------------------
//  Self test

typedef struct {
    zeb_lmdb_t *lmdb;
    size_t count;
    size_t size;
    int runs;
} s_test_fill_t;

static int
s_test_fill (MDB_txn *txn, void *arg)
{
    s_test_fill_t *fill = (s_test_fill_t *) arg;
    fill->runs++;
    char *value = (char *) zmalloc (fill->size);
    int rc = 0;
    for (size_t index = 0; index < fill->count && rc == 0; index++) {
        char name [32];
        snprintf (name, sizeof (name), "key-%08zu", index);
        MDB_val key = { strlen (name), name }, data = { fill->size, value };
        rc = mdb_put (txn, zeb_lmdb_dbi (fill->lmdb, 0), &key, &data, 0);
    }
    free (value);
    return rc;
}

static int
s_test_refuse (MDB_txn *txn, void *arg)
{
    return ZEB_EINVALID;
}

void
zeb_lmdb_test (bool verbose)
{
    printf (" * zeb_lmdb: ");
    char dir [] = "/tmp/zeb-lmdb-XXXXXX";
    assert (mkdtemp (dir));
    zeb_fault_t fault;
    zeb_lmdb_options_t options = { 1 << 20, 8 << 20, { "data", "other", NULL } };
    zeb_lmdb_t *lmdb = zeb_lmdb_open (dir, &options, &fault);
    assert (lmdb);
    //  One environment per directory, shared
    char *alias = zsys_sprintf ("%s/.", dir);
    zeb_lmdb_t *second = zeb_lmdb_open (alias, &options, &fault);
    zstr_free (&alias);
    assert (second && zeb_lmdb_env (second) == zeb_lmdb_env (lmdb));
    zeb_lmdb_close (&second);
    assert (second == NULL);

    //  Writes past the initial map grow it, running the transaction again
    s_test_fill_t fill = { lmdb, 600, 4000, 0 };
    assert (zeb_lmdb_write (lmdb, s_test_fill, &fill) == 0);
    assert (fill.runs > 1 && zeb_lmdb_map_size (lmdb) > (1 << 20));
    MDB_txn *txn;
    assert (zeb_lmdb_read_begin (lmdb, &txn) == 0);
    MDB_stat stat;
    assert (mdb_stat (txn, zeb_lmdb_dbi (lmdb, 0), &stat) == 0 && stat.ms_entries == 600);
    zeb_lmdb_read_end (lmdb, txn);

    //  ...up to max_size: then ZEB_EFULL, and nothing of it is stored
    fill = (s_test_fill_t) { lmdb, 4000, 4000, 0 };
    assert (zeb_lmdb_write (lmdb, s_test_fill, &fill) == ZEB_EFULL);
    assert (zeb_lmdb_map_size (lmdb) == (8 << 20));
    assert (zeb_lmdb_read_begin (lmdb, &txn) == 0);
    assert (mdb_stat (txn, zeb_lmdb_dbi (lmdb, 0), &stat) == 0 && stat.ms_entries == 600);
    zeb_lmdb_read_end (lmdb, txn);
    //  A forced growth leaves slack for deletes, and shrinks back
    assert (zeb_lmdb_grow (lmdb, true) == 0 && zeb_lmdb_map_size (lmdb) > (8 << 20));
    zeb_lmdb_shrink (lmdb);
    assert (zeb_lmdb_map_size (lmdb) == (8 << 20));
    //  ...and again, each time past what the map has, for a map already
    //  over max_size (a store reopened smaller than it is)
    assert (zeb_lmdb_grow (lmdb, true) == 0 && zeb_lmdb_map_size (lmdb) == (9 << 20));
    assert (zeb_lmdb_grow (lmdb, true) == 0 && zeb_lmdb_map_size (lmdb) == (10 << 20));
    assert (zeb_lmdb_grow (lmdb, false) == ZEB_EFULL && zeb_lmdb_map_size (lmdb) == (10 << 20));
    zeb_lmdb_shrink (lmdb);
    assert (zeb_lmdb_map_size (lmdb) == (8 << 20));

    //  The callback's own refusal comes back as it is
    assert (zeb_lmdb_write (lmdb, s_test_refuse, NULL) == ZEB_EINVALID);
    assert (zeb_lmdb_error (MDB_MAP_FULL, "test") == ZEB_EFULL);
    assert (zeb_lmdb_error (0, "test") == 0);
    zeb_lmdb_close (&lmdb);
    zeb_lmdb_close (&lmdb);                 //  safe twice

    //  Reopened: the grown map is adopted
    lmdb = zeb_lmdb_open (dir, &options, &fault);
    assert (lmdb && zeb_lmdb_map_size (lmdb) > (1 << 20));
    zeb_lmdb_close (&lmdb);
    assert (zeb_lmdb_open ("", &options, &fault) == NULL && fault.code == ZEB_ECONFIG);
    assert (zeb_lmdb_open ("/proc/zeb-cannot-be-here", &options, &fault) == NULL);
    assert (fault.code == ZEB_ESTORAGE);

    zdir_t *tree = zdir_new (dir, NULL);
    zdir_remove (tree, true);
    zdir_destroy (&tree);
    if (verbose)
        printf ("(growth, full, shared) ");
    printf ("OK\n");
}
