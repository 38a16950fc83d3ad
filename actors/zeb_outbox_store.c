/*  =========================================================================
    zeb_outbox_store - the outbox's LMDB store (see zeb_outbox_int.h)

    Databases: runs (id -> encoded run), dlq (time id -> "": dead runs by
    the time they died), finished (time id -> "": finished runs, for
    retention), logs (origin NUL time id -> log entry), logs_type (type
    NUL time id -> logs key), logs_time (time id -> logs key), meta
    (cursors, gone targets).

    Writes are not made where they are decided: the dirty runs and the
    turn's other writes (zeb_outbox_op) go into a batch at the end of the
    turn (zeb_outbox_commit), which the committer thread stores in one
    transaction, and only once it is stored are the replies that wait for
    it (ENQUEUED, REPLAYED, PURGED, ENABLED) sent. One batch is with the
    committer at a time; the next fills meanwhile. The committer is the
    only writer of the environment and touches nothing but its batch.
    Reads (RUN, DLQ_*, LOGS, CURSOR, the sweep) use read transactions of
    their own, begun and ended inside one call, after zeb_outbox_settle:
    they see every write handed over before them.
    =========================================================================
*/

#include "zeb_outbox_int.h"
#include <sys/eventfd.h>
#include <poll.h>
#include <stdatomic.h>

//  ---------------------------------------------------------------------
//  The turn's other writes: copied now, stored by zeb_outbox_commit

void
zeb_outbox_op (self_t *self, int db, const void *key, size_t key_size, const void *value, size_t value_size)
{
    //  One allocation per write: a delivery makes five of them
    op_t *op = (op_t *) malloc (sizeof (op_t) + key_size + (value? value_size: 0));
    assert (op);
    op->db = db;
    op->key = op->data;
    memcpy (op->key, key, key_size);
    op->key_size = key_size;
    op->value = NULL;
    op->value_size = 0;
    if (value) {
        op->value = op->data + key_size;
        if (value_size)
            memcpy (op->value, value, value_size);
        op->value_size = value_size;
    }
    zlistx_add_end (self->ops, op);
}

void
zeb_outbox_op_destroy (op_t **op_p)
{
    if (*op_p) {
        free (*op_p);
        *op_p = NULL;
    }
}

//  ---------------------------------------------------------------------
//  Execution logs: one entry per finished run, with two indexes

void
zeb_outbox_write_log (self_t *self, zeb_run_t *run, const char *status)
{
    int64_t now = zeb_time_now ();
    int64_t execution_ms = now - run->created;
    msgpack_sbuffer_clear (&self->scratch);
    zeb_pack_t pack;
    zeb_pack_init (&pack, &self->scratch);
    zeb_pack_map (&pack, NULL);
    char id [48];
    zeb_uuid_v7_str (id);
    zeb_pack_str (&pack, "id", id);
    zeb_pack_str (&pack, "origin", run->origin);
    zeb_pack_str (&pack, "run", run->hex);
    zeb_pack_str (&pack, "eventId", run->event_id);
    zeb_pack_str (&pack, "eventType", run->event_type);
    zeb_pack_str (&pack, "status", status);
    zeb_pack_bool (&pack, "conditionsMatched", run->conditions_matched);
    zeb_pack_array (&pack, "actionsExecuted");
    for (uint32_t index = 0; index < run->action_count; index++) {
        static const char *states [] = { "pending", "success", "failed", "skipped" };
        zeb_action_t *action = &run->actions [index];
        zeb_attempt_t *last = action->history_count? &action->history [action->history_count - 1]: NULL;
        zeb_pack_map (&pack, NULL);
        zeb_pack_str (&pack, "action", action->type);
        zeb_pack_str (&pack, "status", states [action->state & 3]);
        zeb_pack_uint (&pack, "attempts", action->attempts);
        if (last && last->result)
            zeb_pack_raw (&pack, "result", last->result, last->result_size);
        if (last && last->error && action->state != ZEB_ACTION_OK)
            zeb_pack_str (&pack, "error", last->error);
        zeb_pack_int (&pack, "durationMs", last? last->duration_ms: 0);
        zeb_pack_end (&pack);
    }
    zeb_pack_end (&pack);
    if (*run->error && !streq (status, "success"))
        zeb_pack_str (&pack, "error", run->error);
    zeb_pack_int (&pack, "executionTimeMs", execution_ms < 0? 0: execution_ms);
    zeb_pack_int (&pack, "createdAt", now);
    zeb_pack_end (&pack);
    //  Keys: origin NUL time id; type NUL time id -> origin key; time id -> origin key
    size_t origin_len = strlen (run->origin), type_len = strlen (run->event_type);
    uint8_t key [300];
    memcpy (key, run->origin, origin_len + 1);
    zeb_outbox_be64 (key + origin_len + 1, (uint64_t) now);
    memcpy (key + origin_len + 9, run->id, ZEB_RUN_ID_SIZE);
    size_t key_size = origin_len + 9 + ZEB_RUN_ID_SIZE;
    zeb_outbox_op (self, S_LOGS, key, key_size, self->scratch.data, self->scratch.size);
    uint8_t index [300];
    memcpy (index, run->event_type, type_len + 1);
    zeb_outbox_be64 (index + type_len + 1, (uint64_t) now);
    memcpy (index + type_len + 9, run->id, ZEB_RUN_ID_SIZE);
    zeb_outbox_op (self, S_LOGS_TYPE, index, type_len + 9 + ZEB_RUN_ID_SIZE, key, key_size);
    zeb_outbox_be64 (index, (uint64_t) now);
    memcpy (index + 8, run->id, ZEB_RUN_ID_SIZE);
    zeb_outbox_op (self, S_LOGS_TIME, index, 8 + ZEB_RUN_ID_SIZE, key, key_size);
    self->logs_written++;
    uint64_t count = (uint64_t) (uintptr_t) zhashx_lookup (self->log_counts, run->origin);
    zhashx_update (self->log_counts, run->origin, (void *) (uintptr_t) (count + 1));
}

//  ---------------------------------------------------------------------
//  Store: one transaction per turn

//  A turn's writes, as the committer thread takes them: nothing in it
//  points into the actor's state but the items, which the committer does
//  not touch (only the loop does, before and after)
typedef struct {
    item_t *item;
    uint8_t id [ZEB_RUN_ID_SIZE];
    size_t offset, size;        //  its record in records
} batch_run_t;

struct _batch_t {
    msgpack_sbuffer records;    //  the dirty runs' records, back to back
    batch_run_t *runs;
    size_t run_count, run_max;
    zlistx_t *ops;              //  op_t, owned
    zlistx_t *replies;          //  reply_t, owned
    zlistx_t *finished;         //  item_t finished in it: freed once stored
    MDB_dbi dbs [S_DB_COUNT];
    int rc;                     //  the commit's, set by the committer
};

//  The committer thread and its hand-off: one pointer and an eventfd
//  each way, as ingest's writer link (actors/zeb_writer.h)
struct _committer_t {
    pthread_t thread;
    zeb_lmdb_t *lmdb;           //  the actor's handle (the only writer)
    int request_fd;             //  eventfd, blocking: a batch in request
    int result_fd;              //  eventfd, non-blocking: a batch in result
    _Atomic (batch_t *) request;
    _Atomic (batch_t *) result;
    atomic_bool stop;
    bool started;
};

static int
s_commit_fn (MDB_txn *txn, void *arg)
{
    batch_t *batch = (batch_t *) arg;
    int rc = 0;
    for (size_t index = 0; index < batch->run_count && !rc; index++) {
        batch_run_t *run = &batch->runs [index];
        MDB_val key = { ZEB_RUN_ID_SIZE, run->id };
        MDB_val value = { run->size, batch->records.data + run->offset };
        rc = mdb_put (txn, batch->dbs [S_RUNS], &key, &value, 0);
    }
    for (op_t *op = (op_t *) zlistx_first (batch->ops); op && !rc; op = (op_t *) zlistx_next (batch->ops)) {
        MDB_val key = { op->key_size, op->key };
        if (op->value) {
            MDB_val value = { op->value_size, op->value };
            rc = mdb_put (txn, batch->dbs [op->db], &key, &value, 0);
        }
        else {
            rc = mdb_del (txn, batch->dbs [op->db], &key, NULL);
            if (rc == MDB_NOTFOUND)
                rc = 0;
        }
    }
    return rc;
}

static void *
s_committer (void *arg)
{
    committer_t *self = (committer_t *) arg;
    while (!atomic_load (&self->stop)) {
        uint64_t count;
        if (read (self->request_fd, &count, sizeof (count)) != sizeof (count))
            continue;               //  EINTR
        batch_t *batch = atomic_exchange (&self->request, NULL);
        if (!batch)
            continue;
        batch->rc = zeb_lmdb_write (self->lmdb, s_commit_fn, batch);
        atomic_store (&self->result, batch);
        uint64_t one = 1;
        while (write (self->result_fd, &one, sizeof (one)) != sizeof (one) && errno == EINTR)
            ;
    }
    return NULL;
}

static void
s_batch_destroy (batch_t **batch_p)
{
    batch_t *batch = *batch_p;
    if (batch) {
        msgpack_sbuffer_destroy (&batch->records);
        free (batch->runs);
        op_t *op;
        while ((op = (op_t *) zlistx_detach (batch->ops, NULL)))
            zeb_outbox_op_destroy (&op);
        zlistx_destroy (&batch->ops);
        reply_t *reply;
        while ((reply = (reply_t *) zlistx_detach (batch->replies, NULL)))
            zeb_outbox_reply_destroy (&reply);
        zlistx_destroy (&batch->replies);
        zlistx_destroy (&batch->finished);
        free (batch);
        *batch_p = NULL;
    }
}

void
zeb_outbox_reply_destroy (reply_t **reply_p)
{
    reply_t *reply = *reply_p;
    if (reply) {
        zeb_request_destroy (&reply->request);
        msgpack_sbuffer_destroy (&reply->body);
        zlistx_destroy (&reply->items);
        free (reply);
        *reply_p = NULL;
    }
}

//  The batch could not be stored: refuse the ENQUEUEs waiting (its own
//  and those of the batch being filled, which may count on its runs) and
//  drop their fresh runs; the rest of its writes go again with the next
static void
s_commit_failed (self_t *self, batch_t *batch)
{
    self->commit_failures++;
    zsys_error ("outbox: cannot store the turn's changes: %s", zeb_strerror (batch->rc));
    zlistx_t *lists [2] = { batch->replies, self->replies };
    for (int list = 0; list < 2; list++) {
        reply_t *reply;
        while ((reply = (reply_t *) zlistx_detach (lists [list], NULL))) {
            zeb_router_nack (reply->request, batch->rc == ZEB_EFULL? ZEB_EFULL: ZEB_ESTORAGE,
                             "outbox: runs not stored (%s)", zeb_strerror (batch->rc));
            for (item_t *item = (item_t *) zlistx_first (reply->items); item;
                 item = (item_t *) zlistx_next (reply->items)) {
                item->fresh = false;
                item->dropped = true;
                item->where = S_FINISHED;
                zhashx_delete (self->items, item->run->hex);
            }
            zeb_outbox_reply_destroy (&reply);
        }
    }
    //  The batch's other runs are dirty again (unless they are already)
    for (size_t index = 0; index < batch->run_count; index++) {
        item_t *item = batch->runs [index].item;
        if (!item->dropped && !item->dirty) {
            item->dirty = true;
            zlistx_add_end (self->dirty, item);
        }
    }
    item_t *item;
    while ((item = (item_t *) zlistx_detach (batch->finished, NULL))) {
        zlistx_add_end (self->finished, item);      //  still dirty, still settling
        zlistx_add_end (self->dirty, item);
    }
    //  Its writes go first in the next batch, in their order
    op_t *op;
    while ((op = (op_t *) zlistx_last (batch->ops))) {
        zlistx_detach (batch->ops, zlistx_cursor (batch->ops));
        zlistx_add_start (self->ops, op);
    }
    //  Dropped fresh runs leave the dirty list, then memory
    item = (item_t *) zlistx_first (self->dirty);
    while (item) {
        item_t *next = (item_t *) zlistx_next (self->dirty);
        if (item->dropped) {
            zlistx_delete (self->dirty, zlistx_cursor (self->dirty));
            item->dirty = false;
        }
        item = next;
    }
    for (size_t index = 0; index < batch->run_count; index++)
        if (batch->runs [index].item->dropped)
            zeb_outbox_item_free (batch->runs [index].item);
}

//  Keep the batch for the next turn (its buffers grown already), or
//  destroy it if one is kept or it grew past 1 MiB
static void
s_batch_recycle (self_t *self, batch_t **batch_p)
{
    batch_t *batch = *batch_p;
    if (self->spare || batch->records.alloc > (1 << 20) || batch->run_max > 100000) {
        s_batch_destroy (batch_p);
        return;
    }
    assert (zlistx_size (batch->ops) == 0 && zlistx_size (batch->replies) == 0
            && zlistx_size (batch->finished) == 0);
    msgpack_sbuffer_clear (&batch->records);
    batch->run_count = 0;
    batch->rc = 0;
    self->spare = batch;
    *batch_p = NULL;
}

//  What to do once the committer is done with a batch
static void
s_committed (self_t *self, batch_t *batch)
{
    self->commits++;
    if (batch->rc) {
        s_commit_failed (self, batch);
        s_batch_recycle (self, &batch);
        return;
    }
    op_t *op;
    while ((op = (op_t *) zlistx_detach (batch->ops, NULL)))
        zeb_outbox_op_destroy (&op);
    item_t *item;
    while ((item = (item_t *) zlistx_detach (batch->finished, NULL))) {
        zhashx_delete (self->settling, item->run->hex);
        item->dirty = false;
        if (item->timers == 0)
            zeb_outbox_item_free (item);         //  else the last timer frees it
    }
    //  Acknowledge, then start what was acknowledged
    reply_t *reply;
    while ((reply = (reply_t *) zlistx_detach (batch->replies, NULL))) {
        zeb_router_reply (reply->request, reply->command, reply->body.data, reply->body.size);
        for (item_t *fresh = (item_t *) zlistx_first (reply->items); fresh;
             fresh = (item_t *) zlistx_next (reply->items))
            if (fresh->fresh) {
                fresh->fresh = false;
                zeb_outbox_advance (self, fresh);
            }
        zeb_outbox_reply_destroy (&reply);
    }
    s_batch_recycle (self, &batch);
    //  Starting may have finished runs (no actions) or changed some: the
    //  next batch has them
}

static void s_hand_off (self_t *self);

//  Act on a batch a quiet settle parked, if any
static void
s_process_parked (self_t *self)
{
    batch_t *batch = self->parked;
    self->parked = NULL;
    if (batch)
        s_committed (self, batch);
}

//  Take the committer's result, if there is one; park it (act on it
//  later) or act on it now
static void
s_take (self_t *self, bool park)
{
    committer_t *committer = self->committer;
    uint64_t count;
    if (read (committer->result_fd, &count, sizeof (count)) < 0 && errno != EAGAIN)
        zsys_error ("outbox: committer eventfd: %s", strerror (errno));
    batch_t *batch = atomic_exchange (&committer->result, NULL);
    if (batch) {
        assert (batch == self->writing);
        self->writing = NULL;
        if (park) {
            assert (!self->parked);
            self->parked = batch;
        }
        else {
            s_process_parked (self);
            s_committed (self, batch);
        }
    }
}

static int
s_handle_committed (void *arg)
{
    self_t *self = (self_t *) arg;
    s_process_parked (self);
    s_take (self, false);
    return 0;
}

//  Until the committer has no batch
static void
s_wait (self_t *self, bool park)
{
    while (self->writing) {
        struct pollfd wait = { self->committer->result_fd, POLLIN, 0 };
        if (poll (&wait, 1, -1) < 0 && errno != EINTR)
            break;
        s_take (self, park);
    }
}

void
zeb_outbox_settle (self_t *self)
{
    if (!self->committer)
        return;
    s_process_parked (self);
    s_wait (self, false);
    s_hand_off (self);              //  what the turns wrote since
    s_wait (self, false);
}

void
zeb_outbox_settle_quiet (self_t *self)
{
    if (self->committer)
        s_wait (self, true);
}

//  Writes that no reply waits for (results, finished runs) go at most
//  this often on their own; meanwhile they ride with the next batch that
//  carries a reply. At a few ENQUEUEs per commit, a batch of results
//  handed over just before an ENQUEUE would make the ENQUEUE wait for
//  two syncs instead of one.
#define S_RESULTS_DELAY_MS  5

static bool
s_pending (self_t *self)
{
    return zlistx_size (self->dirty) || zlistx_size (self->ops) || zlistx_size (self->replies);
}

void
zeb_outbox_commit (self_t *self)
{
    s_process_parked (self);
    if (zlistx_size (self->replies) == 0
    &&  zeb_outbox_now_ms () - self->handed_ms < S_RESULTS_DELAY_MS)
        return;                     //  zeb_outbox_commit_wait brings the loop back
    s_hand_off (self);
}

int64_t
zeb_outbox_commit_wait (self_t *self)
{
    if (self->writing || !self->committer || !s_pending (self))
        return -1;                  //  the committer's result, or nothing to do
    int64_t wait = self->handed_ms + S_RESULTS_DELAY_MS - zeb_outbox_now_ms ();
    return wait < 0? 0: wait;
}

static void
s_hand_off (self_t *self)
{
    if (self->writing || !self->committer
    ||  (zlistx_size (self->dirty) == 0 && zlistx_size (self->ops) == 0 && zlistx_size (self->replies) == 0))
        return;                     //  the committer's result brings us back
    batch_t *batch = self->spare;
    self->spare = NULL;
    if (!batch) {
        batch = (batch_t *) zmalloc (sizeof (batch_t));
        assert (batch);
        msgpack_sbuffer_init (&batch->records);
        memcpy (batch->dbs, self->dbs, sizeof (batch->dbs));
        batch->ops = zlistx_new ();
        batch->replies = zlistx_new ();
        batch->finished = zlistx_new ();
    }
    if (batch->run_max < zlistx_size (self->dirty)) {
        batch->run_max = zlistx_size (self->dirty);
        batch->runs = (batch_run_t *) realloc (batch->runs, batch->run_max * sizeof (batch_run_t));
        assert (batch->runs);
    }
    item_t *item;
    while ((item = (item_t *) zlistx_detach (self->dirty, NULL))) {
        batch_run_t *run = &batch->runs [batch->run_count];
        run->offset = batch->records.size;
        if (zeb_run_encode (item->run, &batch->records)) {
            zsys_error ("outbox: run %s cannot be encoded; not stored", item->run->hex);
            batch->records.size = run->offset;
            if (item->where != S_FINISHED)
                item->dirty = false;
            continue;
        }
        run->size = batch->records.size - run->offset;
        run->item = item;
        memcpy (run->id, item->run->id, ZEB_RUN_ID_SIZE);
        batch->run_count++;
        //  A finished item stays dirty, so no timer frees it, until stored
        if (item->where != S_FINISHED)
            item->dirty = false;
    }
    //  The turn's lists go with the batch; the batch's (empty) stay
    zlistx_t *swap = batch->ops;
    batch->ops = self->ops;
    self->ops = swap;
    swap = batch->replies;
    batch->replies = self->replies;
    self->replies = swap;
    swap = batch->finished;
    batch->finished = self->finished;
    self->finished = swap;
    self->writing = batch;
    self->handed_ms = zeb_outbox_now_ms ();
    committer_t *committer = self->committer;
    atomic_store (&committer->request, batch);
    uint64_t one = 1;
    while (write (committer->request_fd, &one, sizeof (one)) != sizeof (one) && errno == EINTR)
        ;
}

int
zeb_outbox_committer_start (self_t *self, zeb_loop_t *loop, zeb_fault_t *fault)
{
    committer_t *committer = (committer_t *) zmalloc (sizeof (committer_t));
    assert (committer);
    committer->lmdb = self->lmdb;
    committer->request_fd = eventfd (0, EFD_CLOEXEC);
    committer->result_fd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
    atomic_init (&committer->request, NULL);
    atomic_init (&committer->result, NULL);
    atomic_init (&committer->stop, false);
    if (committer->request_fd < 0 || committer->result_fd < 0
    ||  pthread_create (&committer->thread, NULL, s_committer, committer)) {
        if (committer->request_fd >= 0)
            close (committer->request_fd);
        if (committer->result_fd >= 0)
            close (committer->result_fd);
        free (committer);
        return zeb_fault_set (fault, ZEB_ESTORAGE, "outbox: cannot start its committer thread");
    }
    committer->started = true;
    self->committer = committer;        //  only a running one: commits go to it
    if (zeb_loop_add_fd (loop, committer->result_fd, s_handle_committed, self))
        return zeb_fault_set (fault, ZEB_ESTORAGE, "outbox: cannot watch its committer");
    return 0;
}

void
zeb_outbox_committer_stop (self_t *self)
{
    committer_t *committer = self->committer;
    if (!committer)
        return;
    if (committer->started) {
        zeb_outbox_settle (self);
        s_batch_destroy (&self->spare);
        atomic_store (&committer->stop, true);
        uint64_t one = 1;
        while (write (committer->request_fd, &one, sizeof (one)) != sizeof (one) && errno == EINTR)
            ;
        pthread_join (committer->thread, NULL);
    }
    if (committer->request_fd >= 0)
        close (committer->request_fd);
    if (committer->result_fd >= 0)
        close (committer->result_fd);
    free (committer);
    self->committer = NULL;
}

//  Answer with what buffer holds once the turn's changes are stored
void
zeb_outbox_reply_after_commit (self_t *self, zeb_request_t *request, const char *command, msgpack_sbuffer *buffer)
{
    reply_t *reply = (reply_t *) zmalloc (sizeof (reply_t));
    assert (reply);
    msgpack_sbuffer_init (&reply->body);
    msgpack_sbuffer_write (&reply->body, buffer->data, buffer->size);
    msgpack_sbuffer_clear (buffer);
    reply->items = zlistx_new ();
    reply->command = command;
    reply->request = zeb_router_keep_reply (request);
    zlistx_add_end (self->replies, reply);
}

//  A stored run by id (hex), or NULL. Caller owns it.
zeb_run_t *
zeb_outbox_load (self_t *self, const char *hex)
{
    zeb_outbox_settle (self);
    uint8_t id [ZEB_RUN_ID_SIZE];
    if (zeb_run_unhex (hex, strlen (hex), id, sizeof (id)))
        return NULL;
    MDB_txn *txn;
    if (zeb_lmdb_read_begin (self->lmdb, &txn))
        return NULL;
    MDB_val key = { ZEB_RUN_ID_SIZE, id }, value;
    zeb_run_t *run = NULL;
    if (mdb_get (txn, self->dbs [S_RUNS], &key, &value) == 0)
        run = zeb_run_decode (value.mv_data, value.mv_size);
    zeb_lmdb_read_end (self->lmdb, txn);
    return run;
}

//  ---------------------------------------------------------------------
//  The dead-letter index, oldest first

static bool
s_filter_match (filter_t *filter, zeb_run_t *run)
{
    if (*filter->origin && !streq (filter->origin, run->origin))
        return false;
    if (*filter->type && strncmp (run->event_type, filter->type, strlen (filter->type)) != 0)
        return false;
    return run->dead_at >= filter->since && run->dead_at <= filter->until;
}

//  Call fn for each dead run matching the filter, oldest first, at most
//  limit, looking at 100,000 at most; next (may be NULL) gets the last
//  key looked at, the page's end, if there may be more (else ""). The
//  next page starts after it. Returns the number of runs fn accepted.
size_t
zeb_outbox_dlq_scan (self_t *self, filter_t *filter, dlq_fn *fn, void *arg, char *next)
{
    size_t accepted = 0;
    if (next)
        *next = 0;
    MDB_txn *txn;
    if (zeb_lmdb_read_begin (self->lmdb, &txn))
        return 0;
    MDB_cursor *cursor;
    mdb_cursor_open (txn, self->dbs [S_DLQ], &cursor);
    uint8_t start [8 + ZEB_RUN_ID_SIZE];
    MDB_val key, value;
    int rc;
    if (filter->has_after) {
        memcpy (start, filter->after, sizeof (start));
        key = (MDB_val) { sizeof (start), start };
        rc = mdb_cursor_get (cursor, &key, &value, MDB_SET_RANGE);
        if (rc == 0 && key.mv_size == sizeof (start) && memcmp (key.mv_data, start, sizeof (start)) == 0)
            rc = mdb_cursor_get (cursor, &key, &value, MDB_NEXT);
    }
    else {
        zeb_outbox_be64 (start, (uint64_t) (filter->since > 0? filter->since: 0));
        memset (start + 8, 0, ZEB_RUN_ID_SIZE);
        key = (MDB_val) { sizeof (start), start };
        rc = mdb_cursor_get (cursor, &key, &value, MDB_SET_RANGE);
    }
    size_t scanned = 0;
    bool more = false;
    uint8_t last [8 + ZEB_RUN_ID_SIZE];     //  the last key looked at
    for (; rc == 0; rc = mdb_cursor_get (cursor, &key, &value, MDB_NEXT)) {
        if (key.mv_size != 8 + ZEB_RUN_ID_SIZE)
            continue;
        if ((int64_t) zeb_outbox_read_be64 (key.mv_data) > filter->until)
            break;
        if (accepted >= filter->limit || scanned == 100000) {
            more = true;            //  this key is not looked at: the next page's first
            break;
        }
        scanned++;
        memcpy (last, key.mv_data, sizeof (last));
        MDB_val run_key = { ZEB_RUN_ID_SIZE, (uint8_t *) key.mv_data + 8 }, record;
        if (mdb_get (txn, self->dbs [S_RUNS], &run_key, &record))
            continue;
        zeb_run_t *run = zeb_run_decode (record.mv_data, record.mv_size);
        if (run && s_filter_match (filter, run) && fn (self, &run, key.mv_data, arg))
            accepted++;
        zeb_run_destroy (&run);
    }
    if (next && more)
        zeb_run_hex (last, sizeof (last), next);
    mdb_cursor_close (cursor);
    zeb_lmdb_read_end (self->lmdb, txn);
    return accepted;
}

bool
zeb_outbox_collect_one (self_t *self, zeb_run_t **run_p, const uint8_t *key, void *arg)
{
    if (zhashx_lookup (self->items, (*run_p)->hex))
        return false;
    dead_t *dead = (dead_t *) zmalloc (sizeof (dead_t));
    assert (dead);
    dead->run = *run_p;
    *run_p = NULL;
    memcpy (dead->key, key, sizeof (dead->key));
    zlistx_add_end ((zlistx_t *) arg, dead);
    return true;
}

//  ---------------------------------------------------------------------
//  Retention: finished runs and logs past their age, logs past log_max

//  An origin's count of logs, in a pointer's place: an origin with none
//  leaves the hash (a NULL item would end its iterations, and origins
//  that stopped writing must not hold memory for ever)
static void
s_log_count_set (self_t *self, const char *origin, uint64_t count)
{
    if (count)
        zhashx_update (self->log_counts, origin, (void *) (uintptr_t) count);
    else
        zhashx_delete (self->log_counts, origin);
}

//  Delete what is older than its retention, a bounded number per call
void
zeb_outbox_sweep (self_t *self)
{
    zeb_outbox_settle_quiet (self);    //  every log handed over is counted and stored
    int64_t now = zeb_time_now ();
    MDB_txn *txn;
    if (zeb_lmdb_read_begin (self->lmdb, &txn))
        return;
    MDB_cursor *cursor;
    MDB_val key, value;
    size_t budget = 10000;
    //  Finished runs
    mdb_cursor_open (txn, self->dbs [S_FINISHED_DB], &cursor);
    for (int rc = mdb_cursor_get (cursor, &key, &value, MDB_FIRST); rc == 0 && budget;
         rc = mdb_cursor_get (cursor, &key, &value, MDB_NEXT), budget--) {
        if (key.mv_size != 8 + ZEB_RUN_ID_SIZE
        ||  (int64_t) zeb_outbox_read_be64 (key.mv_data) >= now - self->retention_ms)
            break;
        zeb_outbox_op (self, S_FINISHED_DB, key.mv_data, key.mv_size, NULL, 0);
        zeb_outbox_op (self, S_RUNS, (uint8_t *) key.mv_data + 8, ZEB_RUN_ID_SIZE, NULL, 0);
    }
    mdb_cursor_close (cursor);
    //  Logs, by age
    mdb_cursor_open (txn, self->dbs [S_LOGS_TIME], &cursor);
    for (int rc = mdb_cursor_get (cursor, &key, &value, MDB_FIRST); rc == 0 && budget;
         rc = mdb_cursor_get (cursor, &key, &value, MDB_NEXT), budget--) {
        if (key.mv_size != 8 + ZEB_RUN_ID_SIZE
        ||  (int64_t) zeb_outbox_read_be64 (key.mv_data) >= now - self->log_retention_ms)
            break;
        MDB_val entry;
        if (mdb_get (txn, self->dbs [S_LOGS], &value, &entry) == 0) {
            const char *type;
            size_t type_len;
            if (zeb_proto_get_str (entry.mv_data, entry.mv_size, "eventType", &type, &type_len) == 0
            &&  type_len < 256) {
                uint8_t index [300];
                memcpy (index, type, type_len);
                index [type_len] = 0;
                memcpy (index + type_len + 1, key.mv_data, 8 + ZEB_RUN_ID_SIZE);
                zeb_outbox_op (self, S_LOGS_TYPE, index, type_len + 9 + ZEB_RUN_ID_SIZE, NULL, 0);
            }
            const char *origin = (const char *) value.mv_data;
            uint64_t count = (uint64_t) (uintptr_t) zhashx_lookup (self->log_counts, origin);
            if (count)
                s_log_count_set (self, origin, count - 1);
        }
        zeb_outbox_op (self, S_LOGS, value.mv_data, value.mv_size, NULL, 0);
        zeb_outbox_op (self, S_LOGS_TIME, key.mv_data, key.mv_size, NULL, 0);
    }
    mdb_cursor_close (cursor);
    //  Logs, by count per origin: the oldest of an origin over log_max.
    //  The deletes above are not made yet (they are the turn's writes),
    //  so this cursor still sees the logs past their age: they were
    //  counted once already and are skipped, else an origin's count would
    //  drop twice for them and it would keep more than log_max for good.
    //  (If the age loop ran out of budget, so did this one's.)
    int64_t aged = now - self->log_retention_ms;
    mdb_cursor_open (txn, self->dbs [S_LOGS], &cursor);
    char origin [129] = "";             //  the origin trimmed last
    while (budget) {
        //  An origin over log_max (counts are never 0: s_log_count_set)
        void *count_p = NULL;
        const char *over = NULL;
        for (count_p = zhashx_first (self->log_counts); count_p; count_p = zhashx_next (self->log_counts))
            if ((int64_t) (uintptr_t) count_p > self->log_max) {
                over = (const char *) zhashx_cursor (self->log_counts);
                break;
            }
        if (!over || streq (over, origin))
            break;                      //  none, or the budget ran out on it
        snprintf (origin, sizeof (origin), "%s", over);
        uint64_t count = (uint64_t) (uintptr_t) count_p;
        size_t origin_len = strlen (origin);
        key = (MDB_val) { origin_len + 1, (void *) origin };
        for (int rc = mdb_cursor_get (cursor, &key, &value, MDB_SET_RANGE);
             rc == 0 && budget && (int64_t) count > self->log_max;
             rc = mdb_cursor_get (cursor, &key, &value, MDB_NEXT), budget--) {
            if (key.mv_size != origin_len + 9 + ZEB_RUN_ID_SIZE || memcmp (key.mv_data, origin, origin_len + 1))
                break;
            if ((int64_t) zeb_outbox_read_be64 ((uint8_t *) key.mv_data + origin_len + 1) < aged)
                continue;               //  deleted by age in this sweep
            zeb_outbox_op (self, S_LOGS, key.mv_data, key.mv_size, NULL, 0);
            zeb_outbox_op (self, S_LOGS_TIME, (uint8_t *) key.mv_data + origin_len + 1, 8 + ZEB_RUN_ID_SIZE, NULL, 0);
            const char *type;
            size_t type_len;
            if (zeb_proto_get_str (value.mv_data, value.mv_size, "eventType", &type, &type_len) == 0
            &&  type_len < 256) {
                uint8_t index [300];
                memcpy (index, type, type_len);
                index [type_len] = 0;
                memcpy (index + type_len + 1, (uint8_t *) key.mv_data + origin_len + 1, 8 + ZEB_RUN_ID_SIZE);
                zeb_outbox_op (self, S_LOGS_TYPE, index, type_len + 9 + ZEB_RUN_ID_SIZE, NULL, 0);
            }
            count--;
        }
        s_log_count_set (self, origin, count);
    }
    mdb_cursor_close (cursor);
    zeb_lmdb_read_end (self->lmdb, txn);
}

//  ---------------------------------------------------------------------
//  Recovery: what the store holds when the actor starts

//  Runs that were unfinished when the node stopped: due again now
int
zeb_outbox_recover (self_t *self)
{
    MDB_txn *txn;
    if (zeb_lmdb_read_begin (self->lmdb, &txn))
        return -1;
    MDB_cursor *cursor;
    MDB_val key, value;
    mdb_cursor_open (txn, self->dbs [S_RUNS], &cursor);
    zlistx_t *pending = zlistx_new ();
    for (int rc = mdb_cursor_get (cursor, &key, &value, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get (cursor, &key, &value, MDB_NEXT)) {
        zeb_run_t *run = zeb_run_decode (value.mv_data, value.mv_size);
        if (!run) {
            zsys_warning ("outbox: a stored run cannot be read; left alone");
            continue;
        }
        if (run->state != ZEB_RUN_PENDING) {
            zeb_run_destroy (&run);
            continue;
        }
        item_t *item = (item_t *) zmalloc (sizeof (item_t));
        assert (item);
        item->run = run;
        zhashx_insert (self->items, run->hex, item);
        zlistx_add_end (pending, item);
    }
    mdb_cursor_close (cursor);
    mdb_cursor_open (txn, self->dbs [S_META], &cursor);
    for (int rc = mdb_cursor_get (cursor, &key, &value, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get (cursor, &key, &value, MDB_NEXT))
        if (value.mv_size == 4 && memcmp (value.mv_data, "gone", 4) == 0 && key.mv_size < 256) {
            char target [256];
            memcpy (target, key.mv_data, key.mv_size);
            target [key.mv_size] = 0;
            zhashx_update (self->gone, target, (void *) "");
        }
    mdb_cursor_close (cursor);
    mdb_cursor_open (txn, self->dbs [S_LOGS], &cursor);
    for (int rc = mdb_cursor_get (cursor, &key, &value, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get (cursor, &key, &value, MDB_NEXT)) {
        const char *origin = (const char *) key.mv_data;
        size_t len = strnlen (origin, key.mv_size);
        if (len == key.mv_size || len > 128)
            continue;
        uint64_t count = (uint64_t) (uintptr_t) zhashx_lookup (self->log_counts, origin);
        zhashx_update (self->log_counts, origin, (void *) (uintptr_t) (count + 1));
    }
    mdb_cursor_close (cursor);
    zeb_lmdb_read_end (self->lmdb, txn);
    if (zlistx_size (pending))
        zeb_info ("outbox: %zu unfinished runs resumed", zlistx_size (pending));
    for (item_t *item = (item_t *) zlistx_first (pending); item; item = (item_t *) zlistx_next (pending))
        zeb_outbox_advance (self, item);
    zlistx_destroy (&pending);
    return 0;
}
