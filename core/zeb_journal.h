/*  =========================================================================
    zeb_journal - the event store's write-ahead journal: one flush per group

    Why. An LMDB commit that must survive a power loss takes two ordered
    flushes (the data pages, then the meta page that points at them). The
    journal takes one: the store writes each group commit here as one
    checksummed record, flushes it (one fdatasync, over blocks written
    ahead, so the flush carries no metadata), and only then commits LMDB,
    without a flush of its own. Every so often (a checkpoint) LMDB is
    flushed once, and the journal starts over in its other file with a
    record of that durable state. zeb_store owns the protocol
    (docs/DESIGN.md, "One flush per group"); this class owns the files.

    Two files, journal-0 and journal-1, in the store's directory. Each
    checkpoint gets the next generation and goes to offset 0 of file
    (generation % 2); the group records of that generation follow it in
    the same file. A record is

        magic "ZJ01" (4), crc32 (4) of everything after it, body size (4),
        type (1), 3 bytes zero, generation (8), body

    Reading (at open) takes the valid checkpoint of the highest generation
    and the records after it while each is whole, has a good checksum and
    that generation: a record torn by a crash, or left from the file's
    previous generation, ends the journal there. A torn record was never
    acknowledged (its flush had not returned).

    Files grow ahead of the writes, by zeroed blocks that are flushed
    before records land in them, and are reused from offset 0 after the
    next checkpoint but one, so that a record's flush finds its blocks
    allocated. A file grows past max_size only for the first record of a
    generation that is larger; any other record that does not fit is
    ZEB_ERETRY (checkpoint, which switches files, and append again).

    Errors: ZEB_EFULL when the disk is full (ENOSPC, EDQUOT, EFBIG),
    ZEB_ESTORAGE for other failed I/O (logged with errno's text).
    =========================================================================
*/

#ifndef ZEB_JOURNAL_H_INCLUDED
#define ZEB_JOURNAL_H_INCLUDED

#ifdef __cplusplus
extern "C" {
#endif

#define ZEB_JOURNAL_MAX_SIZE    (8ULL << 20)    //  default limit of one file
#define ZEB_JOURNAL_HEADER      24              //  bytes before a record's body

typedef enum {
    ZEB_JOURNAL_CHECKPOINT = 1,
    ZEB_JOURNAL_GROUP = 2
} zeb_journal_type_t;

typedef struct _zeb_journal_t zeb_journal_t;

//  Open (creating if needed) the journal files in directory dir, and read
//  them. max_size 0 means ZEB_JOURNAL_MAX_SIZE. Returns NULL with fault set.
zeb_journal_t *
    zeb_journal_new (const char *dir, uint64_t max_size, zeb_fault_t *fault);

//  Close; safe with NULL, nulls the caller's pointer.
void
    zeb_journal_destroy (zeb_journal_t **self_p);

//  True if either file existed when the journal was opened.
bool
    zeb_journal_existed (zeb_journal_t *self);

//  The body of the newest checkpoint read at open, or NULL if there is
//  none (borrowed, valid until the next checkpoint is written).
const uint8_t *
    zeb_journal_checkpoint (zeb_journal_t *self, size_t *size);

//  Called by zeb_journal_replay for each group record after the newest
//  checkpoint, in order. Return 0 to go on, anything else to stop with it.
typedef int (zeb_journal_visit_fn) (const uint8_t *body, size_t size, void *arg);

//  Visit the group records read at open. Returns 0 or what visit returned.
int
    zeb_journal_replay (zeb_journal_t *self, zeb_journal_visit_fn *visit, void *arg);

//  Write a checkpoint record in the next generation (the other file, at
//  offset 0) and flush it. Group records then go after it. Returns 0 or
//  ZEB_ESTORAGE.
int
    zeb_journal_write_checkpoint (zeb_journal_t *self, const void *body, size_t size);

//  Append a group record of the current generation (written, not flushed).
//  Needs a checkpoint written first. Returns 0, ZEB_ERETRY (checkpoint,
//  then append again), ZEB_EFULL or ZEB_ESTORAGE.
int
    zeb_journal_append (zeb_journal_t *self, const void *body, size_t size);

//  Flush what was appended (fdatasync). Returns 0 or ZEB_ESTORAGE.
int
    zeb_journal_sync (zeb_journal_t *self);

//  Bytes of group records in the current generation.
uint64_t
    zeb_journal_used (zeb_journal_t *self);

//  Flushes done (zeb_journal_sync and checkpoints), for statistics.
uint64_t
    zeb_journal_flushes (zeb_journal_t *self);

//  Self test
void
    zeb_journal_test (bool verbose);

#ifdef __cplusplus
}
#endif

#endif
