/*  =========================================================================
    zeb_writer - the write side of the event store, ingest's helper actor

    Every write transaction of the events store runs here, in this one
    thread: batches first, housekeeping when no batch is waiting, each
    housekeeping pass bounded (about 20 ms) so that a batch never waits
    long behind it.
    =========================================================================
*/

#include "zeb_actors.h"
#include "zeb_batch.h"
#include "zeb_writer.h"
#include <poll.h>
#include <sys/eventfd.h>

#define S_WARN_MS       10000       //  at most one failed-commit warning this often

typedef struct {
    zsock_t *pipe;
    zeb_loop_t *loop;
    zeb_writer_link_t *link;
    zeb_store_t *store;
    int64_t dedup_window;
    zeb_sync_t sync;
    int64_t sync_interval;
    zeb_retention_t retention;
    int64_t retention_interval;
    int64_t sync_due;           //  ms, monotonic; 0 = nothing to sync
    int64_t retention_due;
    int64_t dedup_due;
    int64_t checkpoint_wait;        //  ms until the store's next checkpoint, -1 none
    int64_t warn_due;               //  next failed-commit warning allowed
    uint64_t unwarned;              //  failed commits not yet reported
    zeb_writer_counters_t counters;
    bool journaled;                 //  commits go through the store's journal
} self_t;

static void
    s_commit_batch (self_t *self, zeb_batch_t *batch);

//  ---------------------------------------------------------------------
//  The link

zeb_writer_link_t *
zeb_writer_link_new (void)
{
    zeb_writer_link_t *self = (zeb_writer_link_t *) zmalloc (sizeof (zeb_writer_link_t));
    if (!self)
        return NULL;
    self->request_fd = eventfd (0, EFD_NONBLOCK | EFD_CLOEXEC);
    self->result_fd = eventfd (0, EFD_NONBLOCK | EFD_CLOEXEC);
    atomic_init (&self->request, NULL);
    atomic_init (&self->result, NULL);
    pthread_mutex_init (&self->lock, NULL);
    pthread_mutex_init (&self->store_lock, NULL);
    if (self->request_fd < 0 || self->result_fd < 0)
        zeb_writer_link_destroy (&self);
    return self;
}

void
zeb_writer_link_destroy (zeb_writer_link_t **self_p)
{
    assert (self_p);
    zeb_writer_link_t *self = *self_p;
    if (self) {
        if (self->request_fd >= 0)
            close (self->request_fd);
        if (self->result_fd >= 0)
            close (self->result_fd);
        pthread_mutex_destroy (&self->lock);
        pthread_mutex_destroy (&self->store_lock);
        free (self);
        *self_p = NULL;
    }
}

static void
s_signal (int fd)
{
    uint64_t one = 1;
    while (write (fd, &one, sizeof (one)) < 0 && errno == EINTR)
        ;
}

static void
s_clear (int fd)
{
    uint64_t count;
    while (read (fd, &count, sizeof (count)) < 0 && errno == EINTR)
        ;
}

void
zeb_writer_link_submit (zeb_writer_link_t *self, zeb_batch_t *batch)
{
    assert (self);
    assert (batch);
    zeb_batch_t *before = atomic_exchange_explicit (&self->request, batch, memory_order_acq_rel);
    assert (before == NULL);            //  one batch with the writer at a time
    s_signal (self->request_fd);
}

zeb_batch_t *
zeb_writer_link_take (zeb_writer_link_t *self)
{
    assert (self);
    s_clear (self->result_fd);
    return atomic_exchange_explicit (&self->result, NULL, memory_order_acq_rel);
}

bool
zeb_writer_link_commit (zeb_writer_link_t *self, zeb_batch_t *batch)
{
    assert (self);
    assert (batch);
    if (atomic_load_explicit (&self->request, memory_order_acquire)
    ||  pthread_mutex_trylock (&self->store_lock))
        return false;
    self_t *writer = (self_t *) self->writer;
    if (!writer) {
        pthread_mutex_unlock (&self->store_lock);
        return false;
    }
    bool sync_armed = writer->sync_due != 0;
    s_commit_batch (writer, batch);
    //  The writer sleeps until its next timer: when it had none (nothing
    //  to checkpoint, no batch-mode sync due), wake it to set one
    bool wake = (writer->journaled && writer->checkpoint_wait < 0) || (!sync_armed && writer->sync_due);
    if (wake)
        writer->checkpoint_wait = 0;        //  once, until its tick resets it
    pthread_mutex_unlock (&self->store_lock);
    if (wake)
        s_signal (self->request_fd);
    return true;
}

zeb_writer_counters_t
zeb_writer_link_counters (zeb_writer_link_t *self)
{
    assert (self);
    pthread_mutex_lock (&self->lock);
    zeb_writer_counters_t counters = self->counters;
    pthread_mutex_unlock (&self->lock);
    return counters;
}

//  ---------------------------------------------------------------------
//  The actor

//  Publish the writer's counters to the link, for ingest's STATS
static void
s_share_counters (self_t *self)
{
    pthread_mutex_lock (&self->link->lock);
    self->link->counters = self->counters;
    pthread_mutex_unlock (&self->link->lock);
}

static int64_t
s_clock_ms (void)
{
    return zeb_time_mono_us () / 1000;
}

//  The store's flusher is done; the tick that follows records the
//  checkpoint (zeb_store_maintain), also if ingest's thread did first
static int
s_handle_flushed (void *arg)
{
    self_t *self = (self_t *) arg;
    s_clear (zeb_store_flush_fd (self->store));
    return 0;
}

static int
s_start (self_t *self, zconfig_t *config, zeb_fault_t *fault)
{
    int64_t max_events;
    uint64_t max_bytes, map_size, max_size, journal_size;
    int64_t checkpoint_interval;
    const char *sync = zeb_config_str (config, "ingest/sync");
    if (zeb_config_duration (config, "ingest/dedup_window", &self->dedup_window)
    ||  zeb_config_duration (config, "ingest/sync_interval", &self->sync_interval)
    ||  zeb_config_duration (config, "retention/max_age", &self->retention.max_age)
    ||  zeb_config_int (config, "retention/max_events", &max_events)
    ||  zeb_config_size (config, "retention/max_bytes", &max_bytes)
    ||  zeb_config_duration (config, "retention/interval", &self->retention_interval)
    ||  zeb_config_size (config, "store/map_size", &map_size)
    ||  zeb_config_size (config, "store/max_size", &max_size)
    ||  zeb_config_size (config, "store/journal_size", &journal_size)
    ||  zeb_config_duration (config, "store/checkpoint_interval", &checkpoint_interval))
        return zeb_fault_set (fault, ZEB_ECONFIG, "invalid ingest, retention or store settings");
    if (max_size && max_size < (64 << 10))
        return zeb_fault_set (fault, ZEB_ECONFIG, "store/max_size = %llu: 0 (no limit) or at least 64KiB",
                              (unsigned long long) max_size);
    self->sync = streq (sync, "batch")? ZEB_SYNC_BATCH: streq (sync, "none")? ZEB_SYNC_NONE: ZEB_SYNC_ALWAYS;
    self->retention.max_events = (uint64_t) max_events;
    self->retention.max_bytes = max_bytes;
    if (self->retention_interval < 10)
        self->retention_interval = 10;
    if (self->sync_interval < 1)
        self->sync_interval = 1;
    char *path = zsys_sprintf ("%s/events", zeb_config_str (config, "node/data"));
    zeb_store_options_t options = {
        .map_size = map_size, .max_size = max_size, .sync = self->sync, .writer = true,
        .no_journal = streq (zeb_config_str (config, "store/journal"), "off"),
        .journal_size = journal_size, .checkpoint_interval = checkpoint_interval };
    self->store = zeb_store_new (path, &options, fault);
    zstr_free (&path);
    if (!self->store)
        return fault? fault->code: ZEB_ESTORAGE;
    self->journaled = self->sync == ZEB_SYNC_ALWAYS && !options.no_journal;
    //  A checkpoint's flush ended: the tick's housekeeping records it
    if (zeb_store_flush_fd (self->store) >= 0)
        zeb_loop_add_fd (self->loop, zeb_store_flush_fd (self->store), s_handle_flushed, self);
    int64_t now = s_clock_ms ();
    self->retention_due = now + self->retention_interval;
    self->dedup_due = now + 1000;
    pthread_mutex_lock (&self->link->store_lock);
    self->link->writer = self;              //  ingest may commit in its thread now
    pthread_mutex_unlock (&self->link->store_lock);
    return 0;
}

//  One transaction for the whole batch; run again if the map grew
//  The application writes of the batch's TXN requests, in its transaction
static int
s_store_writes (self_t *self, zeb_batch_t *batch, MDB_dbi *dbis)
{
    int rc = 0;
    for (size_t index = 0; rc == 0 && index < batch->txn_count; index++) {
        zeb_batch_txn_t *txn = &batch->txns [index];
        zeb_mpk_t writes;
        zeb_mpk_init (&writes, batch->txn.data + txn->writes_at, txn->writes_size);
        uint32_t count, pair;
        zeb_mpk_read_array (&writes, &count);
        for (uint32_t entry = 0; rc == 0 && entry < count; entry++) {
            //  Checked by ingest: [key bin|str, value bin|str|nil]
            const uint8_t *key, *value = NULL;
            uint32_t key_len, value_len = 0;
            zeb_mpk_read_array (&writes, &pair);
            if (zeb_mpk_peek (&writes) == ZEB_MPK_BIN)
                zeb_mpk_read_bin (&writes, &key, &key_len);
            else
                zeb_mpk_read_str (&writes, (const char **) &key, &key_len);
            bool remove = zeb_mpk_peek (&writes) == ZEB_MPK_NIL;
            if (remove)
                zeb_mpk_read_nil (&writes);
            else
            if (zeb_mpk_peek (&writes) == ZEB_MPK_BIN)
                zeb_mpk_read_bin (&writes, &value, &value_len);
            else
                zeb_mpk_read_str (&writes, (const char **) &value, &value_len);
            rc = zeb_store_app_put (self->store, dbis [index], key, key_len, value, value_len, remove);
        }
    }
    return rc;
}

static int
s_store_batch (self_t *self, zeb_batch_t *batch)
{
    int64_t not_before = batch->now - self->dedup_window;
    int rc = 0;
    //  The applications' databases are opened outside the transaction
    MDB_dbi *dbis = NULL;
    if (batch->txn_count) {
        dbis = (MDB_dbi *) calloc (batch->txn_count, sizeof (MDB_dbi));
        assert (dbis);
        for (size_t index = 0; rc == 0 && index < batch->txn_count; index++)
            rc = zeb_store_app_dbi (self->store, batch->txn.data + batch->txns [index].db_at,
                                    batch->txns [index].db_len, &dbis [index]);
        if (rc) {
            free (dbis);
            return rc;
        }
    }
    do {
        rc = zeb_store_begin (self->store);
        if (rc == 0 && batch->txn_count)
            rc = s_store_writes (self, batch, dbis);
        for (size_t index = 0; rc == 0 && index < batch->item_count; index++) {
            zeb_batch_item_t *item = &batch->items [index];
            item->duplicate = false;
            const char *key = batch->keys.data + item->key_at;
            if (item->key_len) {
                rc = zeb_store_dedup_find (self->store, key, item->key_len, not_before, &item->sequence);
                if (rc == 1) {
                    item->duplicate = true;
                    rc = 0;
                    continue;
                }
                if (rc)
                    break;
            }
            item->sequence = zeb_store_next_sequence (self->store);
            zeb_event_patch_sequence (batch->arena.data, item->sequence_at, item->sequence);
            rc = zeb_store_append (self->store, batch->arena.data + item->offset, item->size);
            if (rc == 0 && item->key_len)
                rc = zeb_store_dedup_put (self->store, key, item->key_len, item->sequence, batch->now);
        }
        if (rc == 0)
            rc = zeb_store_commit (self->store, batch->now);
    } while (rc == ZEB_ERETRY);
    zeb_store_abort (self->store);      //  no-op unless a call failed early
    free (dbis);
    return rc;
}

//  Store a batch and count it, in whichever thread holds the store lock
static void
s_commit_batch (self_t *self, zeb_batch_t *batch)
{
    int64_t started = zeb_time_mono_us ();
    batch->result = batch->item_count || batch->txn_count? s_store_batch (self, batch): 0;
    batch->commit_us = zeb_time_mono_us () - started;
    if (batch->item_count) {
        zeb_writer_counters_t *c = &self->counters;
        c->commit_us += (uint64_t) batch->commit_us;
        if ((uint64_t) batch->commit_us > c->commit_us_max)
            c->commit_us_max = (uint64_t) batch->commit_us;
        if (batch->result) {
            c->commit_failures++;
            //  A full store refuses every batch until space is freed: say
            //  so once, then once every S_WARN_MS with the count
            self->unwarned++;
            int64_t now = s_clock_ms ();
            if (now >= self->warn_due) {
                zsys_warning ("ingest: %llu batch%s not stored, the last of %zu events: %s",
                              (unsigned long long) self->unwarned, self->unwarned > 1? "es": "",
                              batch->item_count, zeb_strerror (batch->result));
                self->unwarned = 0;
                self->warn_due = now + S_WARN_MS;
            }
        }
        else {
            c->batches++;
            if (self->sync == ZEB_SYNC_BATCH && !self->sync_due)
                self->sync_due = s_clock_ms () + self->sync_interval;
        }
    }
    zeb_store_flushes (self->store, &self->counters.flushes, &self->counters.checkpoints);
    s_share_counters (self);
}

//  A batch ingest handed over: stored, and handed back
static void
s_handle_batch (self_t *self, zeb_batch_t *batch)
{
    pthread_mutex_lock (&self->link->store_lock);
    s_commit_batch (self, batch);
    pthread_mutex_unlock (&self->link->store_lock);
    atomic_store_explicit (&self->link->result, batch, memory_order_release);
    s_signal (self->link->result_fd);
}

//  Batch-mode sync, retention and dedup expiry, each bounded in time.
//  Returns true if counters changed.
static bool
s_housekeeping (self_t *self)
{
    int64_t now = s_clock_ms ();
    zeb_writer_counters_t before = self->counters;
    if (self->sync_due && now >= self->sync_due) {
        if (zeb_store_sync (self->store) == 0)
            self->counters.syncs++;
        self->sync_due = 0;
    }
    if (now >= self->retention_due) {
        int64_t started = zeb_time_mono_us ();
        size_t removed = 0;
        do {
            if (zeb_store_retain (self->store, &self->retention, zeb_time_now (), 2000, &removed))
                break;
            self->counters.retention_removed += removed;
        } while (removed == 2000 && zeb_time_mono_us () - started < 20000);
        //  Work left: come back soon rather than at the next interval
        self->retention_due = now + (removed == 2000? 10: self->retention_interval);
    }
    if (now >= self->dedup_due) {
        size_t removed = 0;
        zeb_store_expire_dedup (self->store, zeb_time_now () - self->dedup_window, 2000, &removed);
        self->counters.dedup_expired += removed;
        self->dedup_due = now + (removed == 2000? 10: 1000);
    }
    self->checkpoint_wait = zeb_store_maintain (self->store);
    zeb_store_flushes (self->store, &self->counters.flushes, &self->counters.checkpoints);
    return memcmp (&before, &self->counters, sizeof (before)) != 0;
}

static int
s_next_timeout (self_t *self)
{
    if (!self->store)
        return -1;
    int64_t due = self->retention_due < self->dedup_due? self->retention_due: self->dedup_due;
    if (self->sync_due && self->sync_due < due)
        due = self->sync_due;
    int64_t wait = due - s_clock_ms ();
    if (self->checkpoint_wait >= 0 && self->checkpoint_wait < wait)
        wait = self->checkpoint_wait;
    return wait < 0? 0: (int) wait;
}

//  Commands on the pipe, all that are waiting. Returns -1 on $TERM. START
//  is answered in the kit's shape (zeb_actor.h): status, code, text.
static int
s_handle_pipe (void *arg)
{
    self_t *self = (self_t *) arg;
    while (true) {
        char *command = NULL;
        void *pointer = NULL;
        if (zsock_recv (self->pipe, "sp", &command, &pointer) == -1)
            return 0;                   //  nothing more waiting
        assert (command);
        int rc = 0;
        if (streq (command, "START")) {
            zeb_fault_t fault = { 0 };
            int code = s_start (self, (zconfig_t *) pointer, &fault);
            char number [16];
            snprintf (number, sizeof (number), "%d", code);
            zstr_sendx (self->pipe, code? "-1": "0", number, code? fault.text: "started", NULL);
        }
        else
        if (streq (command, "$TERM"))
            rc = -1;
        else
            assert (false);             //  the pipe is ingest's: a bug
        zstr_free (&command);
        if (rc)
            return rc;
    }
}

//  A batch from ingest
static int
s_handle_request (void *arg)
{
    self_t *self = (self_t *) arg;
    s_clear (self->link->request_fd);
    zeb_batch_t *batch = atomic_exchange_explicit (&self->link->request, NULL, memory_order_acq_rel);
    if (batch)
        s_handle_batch (self, batch);
    return 0;
}

//  Every turn: housekeeping between batches; a batch that came during it
//  is taken at once
static int
s_tick (void *arg)
{
    self_t *self = (self_t *) arg;
    pthread_mutex_lock (&self->link->store_lock);
    if (self->store && s_housekeeping (self))
        s_share_counters (self);
    int timeout = atomic_load_explicit (&self->link->request, memory_order_acquire)? 0: s_next_timeout (self);
    pthread_mutex_unlock (&self->link->store_lock);
    return timeout;
}

//  The loop waits on two plain descriptors: the pipe's ZMQ_FD and the
//  link's request eventfd (zeb_loop)
void
zeb_writer_actor (zsock_t *pipe, void *args)
{
    self_t *self = (self_t *) zmalloc (sizeof (self_t));
    assert (self);
    self->pipe = pipe;
    self->checkpoint_wait = -1;
    self->link = (zeb_writer_link_t *) args;
    assert (self->link);
    zsock_set_rcvtimeo (pipe, 0);
    zeb_loop_t *loop = zeb_loop_new ();
    self->loop = loop;
    zeb_loop_add_socket (loop, pipe, s_handle_pipe, self);
    zeb_loop_trust (loop, pipe);
    zeb_loop_add_fd (loop, self->link->request_fd, s_handle_request, self);
    zeb_loop_set_tick (loop, s_tick, self);
    zsock_signal (pipe, 0);
    zeb_loop_run (loop);
    zeb_loop_destroy (&loop);
    pthread_mutex_lock (&self->link->store_lock);
    self->link->writer = NULL;
    pthread_mutex_unlock (&self->link->store_lock);
    zeb_store_destroy (&self->store);   //  syncs in batch mode
    free (self);
}

//  ---------------------------------------------------------------------
//  Self test: the writer driven as ingest drives it, over a link, with a
//  real store in a temporary directory

#define S_TEST_WAIT_MS  5000

//  An empty batch with room for limit events
static void
s_test_batch_init (zeb_batch_t *batch, size_t limit, int64_t now)
{
    memset (batch, 0, sizeof (*batch));
    batch->items = (zeb_batch_item_t *) calloc (limit, sizeof (zeb_batch_item_t));
    assert (batch->items);
    batch->item_limit = limit;
    msgpack_sbuffer_init (&batch->arena);
    msgpack_sbuffer_init (&batch->keys);
    batch->now = now;
}

static void
s_test_batch_free (zeb_batch_t *batch)
{
    free (batch->items);
    msgpack_sbuffer_destroy (&batch->arena);
    msgpack_sbuffer_destroy (&batch->keys);
}

//  Add an event as ingest does: decoded, given an id and a time, encoded
//  canonically into the arena with room for its sequence, its type and
//  dedup key (the idempotencykey; NULL for none) into keys. data_size
//  pads the event's data to about that many bytes.
static void
s_test_batch_add (zeb_batch_t *batch, const char *type, const char *key, size_t data_size)
{
    assert (batch->item_count < batch->item_limit);
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, key? 4: 3);
    msgpack_pack_str_with_body (&pk, "type", 4);
    msgpack_pack_str_with_body (&pk, type, strlen (type));
    msgpack_pack_str_with_body (&pk, "source", 6);
    msgpack_pack_str_with_body (&pk, "writer-test", 11);
    if (key) {
        msgpack_pack_str_with_body (&pk, "idempotencykey", 14);
        msgpack_pack_str_with_body (&pk, key, strlen (key));
    }
    msgpack_pack_str_with_body (&pk, "data", 4);
    char *data = (char *) malloc (data_size + 1);
    assert (data);
    memset (data, 'x', data_size);
    msgpack_pack_str_with_body (&pk, data, data_size);
    free (data);

    zeb_event_view_t view;
    int rc = zeb_event_view_decode (&view, buffer.data, buffer.size, NULL);
    assert (rc == 0);
    rc = zeb_event_view_validate (&view, NULL);
    assert (rc == 0);
    zeb_str_t dedup = zeb_event_view_dedup_key (&view);
    char id [ZEB_UUID_STRLEN + 1];
    view.attr [ZEB_ATTR_ID].ptr = zeb_uuid_v7_str (id);
    view.attr [ZEB_ATTR_ID].len = ZEB_UUID_STRLEN;
    view.time = batch->now;
    view.has_time = true;
    view.sequence = 0;

    zeb_batch_item_t *item = &batch->items [batch->item_count++];
    memset (item, 0, sizeof (*item));
    item->offset = batch->arena.size;
    rc = zeb_event_view_encode (&view, &batch->arena, &item->sequence_at);
    assert (rc == 0);
    item->size = batch->arena.size - item->offset;
    item->type_at = batch->keys.size;
    item->type_len = strlen (type);
    msgpack_sbuffer_write (&batch->keys, type, item->type_len);
    item->key_at = batch->keys.size;
    item->key_len = dedup.ptr? dedup.len: 0;
    if (item->key_len)
        msgpack_sbuffer_write (&batch->keys, dedup.ptr, dedup.len);
    msgpack_sbuffer_destroy (&buffer);
}

//  Submit a batch and wait, at most S_TEST_WAIT_MS, for the writer to hand
//  it back; returns its result
static int
s_test_commit (zeb_writer_link_t *link, zeb_batch_t *batch)
{
    zeb_writer_link_submit (link, batch);
    int64_t deadline = s_clock_ms () + S_TEST_WAIT_MS;
    zeb_batch_t *done = NULL;
    while (!done) {
        int64_t left = deadline - s_clock_ms ();
        assert (left > 0);
        struct pollfd wait = { link->result_fd, POLLIN, 0 };
        poll (&wait, 1, (int) left);
        done = zeb_writer_link_take (link);
    }
    assert (done == batch);
    return batch->result;
}

//  Wait, at most S_TEST_WAIT_MS, until a counter of the writer reaches at
//  least minimum; the counter is at offset in zeb_writer_counters_t.
//  Returns its value.
static uint64_t
s_test_await_counter (zeb_writer_link_t *link, size_t offset, uint64_t minimum)
{
    int64_t deadline = s_clock_ms () + S_TEST_WAIT_MS;
    while (true) {
        zeb_writer_counters_t counters = zeb_writer_link_counters (link);
        uint64_t value = *(uint64_t *) ((char *) &counters + offset);
        if (value >= minimum)
            return value;
        assert (s_clock_ms () < deadline);
        zclock_sleep (5);
    }
}

//  A writer on dir with these "key=value" settings (NULL-terminated),
//  START checked to succeed (expect_ok) or fail. Returns the actor, or
//  NULL when it failed as expected.
static zactor_t *
s_test_writer (zeb_writer_link_t *link, bool expect_ok, const char *dir, ...)
{
    zconfig_t *config = zconfig_new ("root", NULL);
    zconfig_put (config, "node/data", dir);
    va_list args;
    va_start (args, dir);
    const char *setting;
    while ((setting = va_arg (args, const char *))) {
        const char *equals = strchr (setting, '=');
        assert (equals);
        char *path = strndup (setting, (size_t) (equals - setting));
        zconfig_put (config, path, equals + 1);
        free (path);
    }
    va_end (args);
    //  Ingest hands the writer its own configuration, defaults applied
    zeb_fault_t fault = { 0 };
    int rc = zeb_config_apply (config, zeb_actor_node_config, &fault);
    if (rc == 0)
        rc = zeb_config_apply (config, zeb_ingest_config, &fault);
    zactor_t *writer = NULL;
    if (rc == 0) {
        writer = zactor_new (zeb_writer_actor, link);
        assert (writer);
        rc = zeb_actor_start (writer, config, NULL, &fault);
    }
    if (expect_ok) {
        if (rc)
            fprintf (stderr, "writer: %s\n", fault.text);
        assert (rc == 0);
    }
    else {
        assert (rc != 0 && strlen (fault.text) > 0);
        zactor_destroy (&writer);
    }
    zconfig_destroy (&config);
    return writer;
}

typedef struct {
    uint64_t count;
    uint64_t first;
    uint64_t last;
    bool in_order;
} s_test_read_t;

//  Each stored event carries its own sequence, in order
static int
s_test_visit (uint64_t sequence, const uint8_t *data, size_t size, void *arg)
{
    s_test_read_t *read = (s_test_read_t *) arg;
    zeb_event_view_t view;
    if (zeb_event_view_decode (&view, data, size, NULL) || view.sequence != sequence
    ||  (read->count && sequence != read->last + 1))
        read->in_order = false;
    if (!read->count)
        read->first = sequence;
    read->last = sequence;
    read->count++;
    return 0;
}

//  What a reader sees in the store of dir
static s_test_read_t
s_test_read (const char *dir)
{
    char *path = zsys_sprintf ("%s/events", dir);
    zeb_store_t *store = zeb_store_new (path, NULL, NULL);
    assert (store);
    zstr_free (&path);
    s_test_read_t read = { 0, 0, 0, true };
    int rc = zeb_store_read (store, 0, s_test_visit, &read, NULL);
    assert (rc == 0);
    zeb_store_destroy (&store);
    return read;
}

static void
s_test_rmtree (const char *dir)
{
    zdir_t *tree = zdir_new (dir, NULL);
    if (tree)
        zdir_remove (tree, true);
    zdir_destroy (&tree);
    rmdir (dir);
}

#define S_COUNTER(name) offsetof (zeb_writer_counters_t, name)

//  Sequences, dedup within and across batches, the dedup window
static void
s_test_sequences (zeb_writer_link_t *link, const char *dir)
{
    zactor_t *writer = s_test_writer (link, true, dir, "ingest/sync=none",
                                      "ingest/dedup_window=1h", NULL);
    int64_t now = zeb_time_now ();
    zeb_batch_t batch;
    s_test_batch_init (&batch, 8, now);

    //  Sequences from 1, in item order; keyed or not
    s_test_batch_add (&batch, "order.placed", "k1", 10);
    s_test_batch_add (&batch, "order.placed", NULL, 10);
    s_test_batch_add (&batch, "user.created", "k2", 10);
    assert (s_test_commit (link, &batch) == 0);
    for (size_t index = 0; index < 3; index++)
        assert (batch.items [index].sequence == index + 1 && !batch.items [index].duplicate);
    //  The sequence is patched into the event in the arena
    zeb_event_view_t view;
    assert (zeb_event_view_decode (&view, batch.arena.data + batch.items [2].offset,
                                   batch.items [2].size, NULL) == 0);
    assert (view.sequence == 3);
    zeb_writer_counters_t counters = zeb_writer_link_counters (link);
    assert (counters.batches == 1 && counters.commit_failures == 0);
    assert (counters.commit_us == (uint64_t) batch.commit_us);
    assert (counters.commit_us_max == (uint64_t) batch.commit_us);
    s_test_batch_free (&batch);

    //  A key twice in one batch, and one from the batch before
    s_test_batch_init (&batch, 8, now);
    s_test_batch_add (&batch, "order.placed", "k3", 10);
    s_test_batch_add (&batch, "order.placed", "k3", 10);
    s_test_batch_add (&batch, "order.placed", "k1", 10);
    s_test_batch_add (&batch, "order.placed", NULL, 10);
    assert (s_test_commit (link, &batch) == 0);
    assert (batch.items [0].sequence == 4 && !batch.items [0].duplicate);
    assert (batch.items [1].sequence == 4 && batch.items [1].duplicate);
    assert (batch.items [2].sequence == 1 && batch.items [2].duplicate);
    assert (batch.items [3].sequence == 5 && !batch.items [3].duplicate);
    counters = zeb_writer_link_counters (link);
    assert (counters.batches == 2);
    assert (counters.commit_us_max >= (uint64_t) batch.commit_us);
    s_test_batch_free (&batch);

    //  An empty batch comes back at once and counts for nothing
    s_test_batch_init (&batch, 1, now);
    assert (s_test_commit (link, &batch) == 0);
    assert (zeb_writer_link_counters (link).batches == 2);
    s_test_batch_free (&batch);

    //  Past the dedup window a key is new again
    s_test_batch_init (&batch, 2, now + 2 * 3600 * 1000);
    s_test_batch_add (&batch, "order.placed", "k1", 10);
    s_test_batch_add (&batch, "order.placed", "k1", 10);
    assert (s_test_commit (link, &batch) == 0);
    assert (batch.items [0].sequence == 6 && !batch.items [0].duplicate);
    assert (batch.items [1].sequence == 6 && batch.items [1].duplicate);
    s_test_batch_free (&batch);
    zactor_destroy (&writer);

    //  Stored once each, in order, each event with its sequence; and the
    //  numbering and the keys survive a restart
    s_test_read_t read = s_test_read (dir);
    assert (read.count == 6 && read.first == 1 && read.last == 6 && read.in_order);
    writer = s_test_writer (link, true, dir, "ingest/sync=none", "ingest/dedup_window=1h", NULL);
    s_test_batch_init (&batch, 2, now);
    s_test_batch_add (&batch, "order.placed", "k2", 10);
    s_test_batch_add (&batch, "order.placed", NULL, 10);
    assert (s_test_commit (link, &batch) == 0);
    assert (batch.items [0].sequence == 3 && batch.items [0].duplicate);
    assert (batch.items [1].sequence == 7 && !batch.items [1].duplicate);
    s_test_batch_free (&batch);
    zactor_destroy (&writer);
}

//  Each sync mode stores and keeps everything; only batch mode syncs
//  afterwards, once per sync_interval after a batch, and at $TERM
static void
s_test_sync (zeb_writer_link_t *link, const char *dir, const char *mode)
{
    char sync [32];
    snprintf (sync, sizeof (sync), "ingest/sync=%s", mode);
    zactor_t *writer = s_test_writer (link, true, dir, sync, "ingest/sync_interval=10ms", NULL);
    uint64_t syncs_before = zeb_writer_link_counters (link).syncs;
    zeb_batch_t batch;
    for (int round = 0; round < 2; round++) {
        s_test_batch_init (&batch, 3, zeb_time_now ());
        for (int index = 0; index < 3; index++)
            s_test_batch_add (&batch, "sync.test", NULL, 100);
        assert (s_test_commit (link, &batch) == 0);
        assert (batch.items [2].sequence == (uint64_t) round * 3 + 3);
        s_test_batch_free (&batch);
        if (streq (mode, "batch"))
            s_test_await_counter (link, S_COUNTER (syncs), syncs_before + round + 1);
    }
    zeb_writer_counters_t counters = zeb_writer_link_counters (link);
    assert (counters.batches == 2);
    if (streq (mode, "batch"))
        assert (counters.syncs == syncs_before + 2);
    else
        assert (counters.syncs == 0);
    zactor_destroy (&writer);
    s_test_read_t read = s_test_read (dir);
    assert (read.count == 6 && read.last == 6 && read.in_order);
}

//  A store at its size limit refuses the whole batch: nothing of it is
//  stored, no sequence is used, its keys are not remembered; smaller
//  batches are stored again after it
static void
s_test_full (zeb_writer_link_t *link, const char *dir)
{
    zactor_t *writer = s_test_writer (link, true, dir, "ingest/sync=none",
                                      "store/map_size=256KiB", "store/max_size=1MiB", NULL);
    zeb_batch_t batch;
    s_test_batch_init (&batch, 4, zeb_time_now ());
    for (int index = 0; index < 4; index++)
        s_test_batch_add (&batch, "full.small", NULL, 100);
    assert (s_test_commit (link, &batch) == 0);
    s_test_batch_free (&batch);

    //  About 1.6 MiB in one batch: more than the store may hold
    s_test_batch_init (&batch, 200, zeb_time_now ());
    s_test_batch_add (&batch, "full.big", "big-key", 8000);
    for (int index = 1; index < 200; index++)
        s_test_batch_add (&batch, "full.big", NULL, 8000);
    assert (s_test_commit (link, &batch) == ZEB_EFULL);
    zeb_writer_counters_t counters = zeb_writer_link_counters (link);
    assert (counters.batches == 1 && counters.commit_failures == 1);
    //  Refused again, the same way
    assert (s_test_commit (link, &batch) == ZEB_EFULL);
    assert (zeb_writer_link_counters (link).commit_failures == 2);
    s_test_batch_free (&batch);
    s_test_read_t read = s_test_read (dir);
    assert (read.count == 4 && read.last == 4);

    s_test_batch_init (&batch, 2, zeb_time_now ());
    s_test_batch_add (&batch, "full.small", "big-key", 100);
    s_test_batch_add (&batch, "full.small", NULL, 100);
    assert (s_test_commit (link, &batch) == 0);
    assert (batch.items [0].sequence == 5 && !batch.items [0].duplicate);
    assert (batch.items [1].sequence == 6);
    s_test_batch_free (&batch);
    counters = zeb_writer_link_counters (link);
    assert (counters.batches == 2 && counters.commit_failures == 2);
    zactor_destroy (&writer);
    read = s_test_read (dir);
    assert (read.count == 6 && read.last == 6 && read.in_order);
}

//  Commit in the caller's thread until the writer takes it, at most
//  S_TEST_WAIT_MS (its housekeeping may hold the store a moment)
static int
s_test_commit_inline (zeb_writer_link_t *link, zeb_batch_t *batch)
{
    int64_t deadline = s_clock_ms () + S_TEST_WAIT_MS;
    while (!zeb_writer_link_commit (link, batch)) {
        assert (s_clock_ms () < deadline);
        zclock_sleep (1);
    }
    assert (zeb_writer_link_take (link) == NULL);     //  nothing handed back
    return batch->result;
}

//  A batch committed in the caller's thread, the writer idle: stored,
//  numbered and counted as the writer's own; not while the store is in
//  use or before START; the writer then checkpoints (sync always) or syncs
//  (batch) after it as after its own commits
static void
s_test_inline (const char *dir, const char *mode)
{
    zeb_writer_link_t *link = zeb_writer_link_new ();
    assert (link);
    zeb_batch_t batch;
    s_test_batch_init (&batch, 2, zeb_time_now ());
    s_test_batch_add (&batch, "inline.test", "key-1", 10);
    s_test_batch_add (&batch, "inline.test", NULL, 10);
    assert (!zeb_writer_link_commit (link, &batch));    //  no writer
    char sync [32];
    snprintf (sync, sizeof (sync), "ingest/sync=%s", mode);
    zactor_t *writer = s_test_writer (link, true, dir, sync, "ingest/sync_interval=10ms",
                                      "store/checkpoint_interval=10ms", "retention/interval=1h", NULL);
    pthread_mutex_lock (&link->store_lock);             //  the store in use
    assert (!zeb_writer_link_commit (link, &batch));
    pthread_mutex_unlock (&link->store_lock);
    zeb_writer_counters_t before = zeb_writer_link_counters (link);
    assert (s_test_commit_inline (link, &batch) == 0);
    assert (batch.items [0].sequence == 1 && batch.items [1].sequence == 2);
    zeb_writer_counters_t after = zeb_writer_link_counters (link);
    assert (after.batches == before.batches + 1 && after.commit_failures == 0);
    if (streq (mode, "always")) {
        assert (after.flushes > before.flushes);        //  the journal record
        s_test_await_counter (link, S_COUNTER (checkpoints), after.checkpoints + 1);
    }
    if (streq (mode, "batch"))
        s_test_await_counter (link, S_COUNTER (syncs), before.syncs + 1);
    //  Then the writer's way and this one again, one numbering
    s_test_batch_free (&batch);
    s_test_batch_init (&batch, 2, zeb_time_now ());
    s_test_batch_add (&batch, "inline.test", "key-1", 10);
    s_test_batch_add (&batch, "inline.test", NULL, 10);
    assert (s_test_commit (link, &batch) == 0);
    assert (batch.items [0].duplicate && batch.items [0].sequence == 1);
    assert (batch.items [1].sequence == 3);
    assert (s_test_commit_inline (link, &batch) == 0);
    assert (batch.items [0].duplicate && batch.items [1].sequence == 4);
    s_test_batch_free (&batch);
    zactor_destroy (&writer);
    assert (!zeb_writer_link_commit (link, &batch));    //  the writer gone
    s_test_read_t read = s_test_read (dir);
    assert (read.count == 4 && read.last == 4 && read.in_order);
    zeb_writer_link_destroy (&link);
}

//  Housekeeping between batches: retention removes the oldest events,
//  expired idempotency keys are forgotten
static void
s_test_housekeeping (zeb_writer_link_t *link, const char *dir)
{
    zactor_t *writer = s_test_writer (link, true, dir, "ingest/sync=none",
                                      "retention/max_events=2", "retention/interval=10ms",
                                      "ingest/dedup_window=1m", NULL);
    //  Keys stored two minutes ago are past the window
    zeb_batch_t batch;
    s_test_batch_init (&batch, 5, zeb_time_now () - 120000);
    for (int index = 0; index < 5; index++) {
        char key [16];
        snprintf (key, sizeof (key), "old-%d", index);
        s_test_batch_add (&batch, "house.keeping", key, 10);
    }
    assert (s_test_commit (link, &batch) == 0);
    s_test_batch_free (&batch);
    assert (s_test_await_counter (link, S_COUNTER (retention_removed), 3) == 3);
    //  The first expiry pass runs a second after START
    assert (s_test_await_counter (link, S_COUNTER (dedup_expired), 5) == 5);
    zactor_destroy (&writer);
    s_test_read_t read = s_test_read (dir);
    assert (read.count == 2 && read.first == 4 && read.last == 5 && read.in_order);
}

void
zeb_writer_test (bool verbose)
{
    printf (" * zeb_writer: ");
    zeb_writer_link_t *link = zeb_writer_link_new ();
    assert (link);
    assert (zeb_writer_link_take (link) == NULL);       //  nothing handed back yet

    //  START reports bad settings and an unusable directory
    char dir [] = "/tmp/zeb-writer-XXXXXX";
    assert (mkdtemp (dir));
    zactor_t *writer = s_test_writer (link, false, dir, "ingest/dedup_window=a while", NULL);
    assert (writer == NULL);
    char *file = zsys_sprintf ("%s/file", dir);
    FILE *handle = fopen (file, "w");
    assert (handle);
    fclose (handle);
    writer = s_test_writer (link, false, file, NULL);
    assert (writer == NULL);
    remove (file);
    zstr_free (&file);
    //  A writer that never started stops cleanly
    writer = zactor_new (zeb_writer_actor, link);
    zactor_destroy (&writer);

    s_test_sequences (link, dir);
    s_test_rmtree (dir);

    const char *modes [] = { "always", "batch", "none" };
    for (size_t index = 0; index < 3; index++) {
        zeb_writer_link_destroy (&link);
        link = zeb_writer_link_new ();
        assert (link);
        assert (mkdtemp (strcpy (dir, "/tmp/zeb-writer-XXXXXX")));
        s_test_sync (link, dir, modes [index]);
        s_test_rmtree (dir);
    }
    zeb_writer_link_destroy (&link);

    link = zeb_writer_link_new ();
    assert (mkdtemp (strcpy (dir, "/tmp/zeb-writer-XXXXXX")));
    s_test_full (link, dir);
    s_test_rmtree (dir);
    zeb_writer_link_destroy (&link);

    for (size_t index = 0; index < 3; index++) {
        assert (mkdtemp (strcpy (dir, "/tmp/zeb-writer-XXXXXX")));
        s_test_inline (dir, modes [index]);
        s_test_rmtree (dir);
    }

    link = zeb_writer_link_new ();
    assert (mkdtemp (strcpy (dir, "/tmp/zeb-writer-XXXXXX")));
    s_test_housekeeping (link, dir);
    s_test_rmtree (dir);
    zeb_writer_link_destroy (&link);
    zeb_writer_link_destroy (&link);                    //  safe twice
    printf ("OK\n");
}
