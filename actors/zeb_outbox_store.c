/*  =========================================================================
    zeb_outbox_store - the outbox's LMDB store (see zeb_outbox_int.h)

    Databases: runs (id -> encoded run), dlq (time id -> "": dead runs by
    the time they died), finished (time id -> "": finished runs, for
    retention), logs (origin NUL time id -> log entry), logs_type (type
    NUL time id -> logs key), logs_time (time id -> logs key), meta
    (cursors, gone targets).

    Writes are not made where they are decided: the dirty runs and the
    turn's other writes (zeb_outbox_op) are stored in one transaction at
    the end of the turn (zeb_outbox_commit), and only then are the
    replies that wait for them (ENQUEUED, REPLAYED, PURGED, ENABLED) sent.
    Reads (RUN, DLQ_*, LOGS, the sweep) use read transactions of their
    own, begun and ended inside one call.
    =========================================================================
*/

#include "zeb_outbox_int.h"

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

typedef struct {
    self_t *self;
} commit_t;

static int
s_commit_fn (MDB_txn *txn, void *arg)
{
    self_t *self = ((commit_t *) arg)->self;
    msgpack_sbuffer *record = &self->record;    //  kept across commits: no regrowth
    int rc = 0;
    for (item_t *item = (item_t *) zlistx_first (self->dirty); item && !rc;
         item = (item_t *) zlistx_next (self->dirty)) {
        msgpack_sbuffer_clear (record);
        if (zeb_run_encode (item->run, record)) {
            rc = ZEB_ERROR;
            break;
        }
        MDB_val key = { ZEB_RUN_ID_SIZE, item->run->id }, value = { record->size, record->data };
        rc = mdb_put (txn, self->dbs [S_RUNS], &key, &value, 0);
    }
    if (record->alloc > (1 << 20)) {        //  a huge run's: not kept
        msgpack_sbuffer_destroy (record);
        msgpack_sbuffer_init (record);
    }
    for (op_t *op = (op_t *) zlistx_first (self->ops); op && !rc; op = (op_t *) zlistx_next (self->ops)) {
        MDB_val key = { op->key_size, op->key };
        if (op->value) {
            MDB_val value = { op->value_size, op->value };
            rc = mdb_put (txn, self->dbs [op->db], &key, &value, 0);
        }
        else {
            rc = mdb_del (txn, self->dbs [op->db], &key, NULL);
            if (rc == MDB_NOTFOUND)
                rc = 0;
        }
    }
    return rc;
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

void
zeb_outbox_commit (self_t *self)
{
    if (zlistx_size (self->dirty) == 0 && zlistx_size (self->ops) == 0 && zlistx_size (self->replies) == 0)
        return;
    commit_t commit = { self };
    int rc = zeb_lmdb_write (self->lmdb, s_commit_fn, &commit);
    self->commits++;
    reply_t *reply;
    if (rc) {
        //  Nothing of the turn is stored: refuse the ENQUEUEs, keep the rest dirty
        self->commit_failures++;
        zsys_error ("outbox: cannot store the turn's changes: %s", zeb_strerror (rc));
        while ((reply = (reply_t *) zlistx_detach (self->replies, NULL))) {
            zeb_router_nack (reply->request, rc == ZEB_EFULL? ZEB_EFULL: ZEB_ESTORAGE,
                             "outbox: runs not stored (%s)", zeb_strerror (rc));
            for (item_t *item = (item_t *) zlistx_first (reply->items); item;
                 item = (item_t *) zlistx_next (reply->items)) {
                item->fresh = false;
                item->where = S_FINISHED;       //  dropped below
                zhashx_delete (self->items, item->run->hex);
            }
            zeb_outbox_reply_destroy (&reply);
        }
        //  Dropped fresh items leave the dirty list
        item_t *item = (item_t *) zlistx_first (self->dirty);
        while (item) {
            item_t *next = (item_t *) zlistx_next (self->dirty);
            if (item->where == S_FINISHED && !zlistx_find (self->finished, item)) {
                zlistx_delete (self->dirty, zlistx_cursor (self->dirty));
                zeb_outbox_item_free (item);
            }
            item = next;
        }
        return;
    }
    for (item_t *item = (item_t *) zlistx_first (self->dirty); item; item = (item_t *) zlistx_next (self->dirty))
        item->dirty = false;
    zlistx_purge (self->dirty);
    op_t *op;
    while ((op = (op_t *) zlistx_detach (self->ops, NULL)))
        zeb_outbox_op_destroy (&op);
    item_t *item;
    while ((item = (item_t *) zlistx_detach (self->finished, NULL))) {
        if (item->timers == 0)
            zeb_outbox_item_free (item);         //  else the last timer frees it
    }
    //  Acknowledge, then start what was acknowledged
    while ((reply = (reply_t *) zlistx_detach (self->replies, NULL))) {
        zeb_router_reply (reply->request, reply->command, reply->body.data, reply->body.size);
        for (item_t *fresh = (item_t *) zlistx_first (reply->items); fresh;
             fresh = (item_t *) zlistx_next (reply->items))
            if (fresh->fresh) {
                fresh->fresh = false;
                zeb_outbox_advance (self, fresh);
            }
        zeb_outbox_reply_destroy (&reply);
    }
    //  Starting may have finished runs (no actions) or changed some: next turn
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
