/*  =========================================================================
    zeb_lmdb - LMDB environments shared by a process: open once, grow the
    map on demand, map LMDB's errors to zeb's

    Every actor that keeps state (the event store, the registry, and the
    outbox, rules and cursors to come) keeps it in an LMDB environment of
    its own directory. LMDB forbids opening one environment twice in a
    process, so environments live in a process-wide registry keyed by the
    directory's real path: a second zeb_lmdb_open of the same directory
    shares the first one's environment (its options are ignored; the
    databases must be the same list).

    The map starts at map_size and doubles when a write transaction finds
    it full (MDB_MAP_FULL), up to max_size (0: unlimited). Changing the map
    needs no transaction active in this process: readers hold a shared
    lock for the length of one read (zeb_lmdb_read_begin/end), growth takes
    it exclusively. Writers run their transaction through zeb_lmdb_write,
    which aborts, grows and runs it again when the map is full; only one
    thread writes to an environment (its owning actor). Readers in other
    processes adopt a map grown elsewhere when LMDB reports MDB_MAP_RESIZED.

    Errors: ZEB_EFULL when the map is at max_size or the disk is full
    (nothing of the transaction is stored; callers answer STORAGE_FULL and
    keep working); ZEB_ESTORAGE for anything else, logged with LMDB's text.
    =========================================================================
*/

#ifndef ZEB_LMDB_H_INCLUDED
#define ZEB_LMDB_H_INCLUDED

#include <lmdb.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ZEB_LMDB_MAX_DBS    8
#define ZEB_LMDB_MAP_SIZE   (64ULL << 20)       //  default initial map
#define ZEB_LMDB_MAX_NAMED  32                  //  databases opened by name (zeb_lmdb_dbi_open)

typedef struct _zeb_lmdb_t zeb_lmdb_t;

typedef struct {
    uint64_t map_size;              //  initial map, bytes (0: ZEB_LMDB_MAP_SIZE)
    uint64_t max_size;              //  growth limit, bytes (0: unlimited)
    const char *dbs [ZEB_LMDB_MAX_DBS];     //  named databases, NULL-ended
} zeb_lmdb_options_t;

//  Open (creating the directory and databases if needed) the environment
//  in path, or share the one this process has open there. Returns NULL
//  with fault set (ZEB_ESTORAGE, or ZEB_EFULL if the map cannot hold the
//  databases). Close with zeb_lmdb_close.
zeb_lmdb_t *
    zeb_lmdb_open (const char *path, const zeb_lmdb_options_t *options, zeb_fault_t *fault);

//  Release this handle; the environment closes with its last one. Safe
//  with NULL; nulls the caller's pointer.
void
    zeb_lmdb_close (zeb_lmdb_t **self_p);

//  The LMDB environment and a database by its index in options->dbs.
MDB_env *
    zeb_lmdb_env (zeb_lmdb_t *self);
MDB_dbi
    zeb_lmdb_dbi (zeb_lmdb_t *self, int index);

//  A database by name, beside the ones the environment was opened with
//  (an application's own: zeb_txn), created if create is true. Its
//  handle is valid in every transaction from then on. Opened in a short
//  transaction of its own: never call it with a write transaction open
//  in this thread. Returns 0, ZEB_ENOTFOUND (absent, create false),
//  ZEB_EFULL (more than ZEB_LMDB_MAX_NAMED names, or the map is full) or
//  ZEB_ESTORAGE.
int
    zeb_lmdb_dbi_open (zeb_lmdb_t *self, const char *name, bool create, MDB_dbi *dbi);

//  True if this process has the environment in directory path open.
bool
    zeb_lmdb_is_open (const char *path);

//  The directory's real path (borrowed).
const char *
    zeb_lmdb_path (zeb_lmdb_t *self);

//  Current map size, and the growth limit (0: none).
uint64_t
    zeb_lmdb_map_size (zeb_lmdb_t *self);
uint64_t
    zeb_lmdb_max_size (zeb_lmdb_t *self);

//  A read transaction, holding the resize lock shared until read_end.
//  Returns 0 or ZEB_ESTORAGE.
int
    zeb_lmdb_read_begin (zeb_lmdb_t *self, MDB_txn **txn);
void
    zeb_lmdb_read_end (zeb_lmdb_t *self, MDB_txn *txn);

//  Called by zeb_lmdb_write inside a write transaction: return 0 to
//  commit, an LMDB code (MDB_MAP_FULL...) or a zeb code to abort.
typedef int (zeb_lmdb_write_fn) (MDB_txn *txn, void *arg);

//  Run fn in a write transaction and commit it; when the map is full,
//  abort, grow and run fn again (fn must be safe to run twice: it sees a
//  fresh transaction). Returns 0, ZEB_EFULL, ZEB_ESTORAGE, or the zeb
//  code fn returned.
int
    zeb_lmdb_write (zeb_lmdb_t *self, zeb_lmdb_write_fn *fn, void *arg);

//  Grow the map (doubling, up to max_size). With force, by a slack of
//  1 MiB past max_size, or past the map when it is over max_size already
//  (reopened smaller than it is): deleting needs a few free pages to free
//  many, and a recovery restores groups that were accepted.
//  Call with no transaction open in this thread. Returns 0 or ZEB_EFULL.
int
    zeb_lmdb_grow (zeb_lmdb_t *self, bool force);

//  Back to max_size after a forced growth.
void
    zeb_lmdb_shrink (zeb_lmdb_t *self);

//  A zeb code for an LMDB return code (0 stays 0): ZEB_EFULL for a full
//  map or disk, else ZEB_ESTORAGE, logged as "WHAT: LMDB's text".
int
    zeb_lmdb_error (int rc, const char *what);

//  Self test
void
    zeb_lmdb_test (bool verbose);

#ifdef __cplusplus
}
#endif

#endif
