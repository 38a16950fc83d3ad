/*  =========================================================================
    zeb_writer - the write side of the event store, ingest's helper actor

    Every write transaction of the events store runs here, in this one
    thread: batches first, housekeeping when no batch is waiting, each
    housekeeping pass bounded (about 20 ms) so that a batch never waits
    long behind it.
    =========================================================================
*/

#include "zeb.h"
#include "zeb_batch.h"
#include "zeb_writer.h"
#include <poll.h>
#include <sys/eventfd.h>

#define S_WARN_MS       10000       //  at most one failed-commit warning this often

typedef struct {
    zsock_t *pipe;
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
    int64_t warn_due;               //  next failed-commit warning allowed
    uint64_t unwarned;              //  failed commits not yet reported
    zeb_writer_counters_t counters;
} self_t;

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

static int
s_start (self_t *self, zconfig_t *config, zeb_fault_t *fault)
{
    int64_t max_events;
    uint64_t max_bytes, map_size, max_size;
    const char *sync = zeb_config_str (config, "ingest/sync");
    if (zeb_config_duration (config, "ingest/dedup_window", &self->dedup_window)
    ||  zeb_config_duration (config, "ingest/sync_interval", &self->sync_interval)
    ||  zeb_config_duration (config, "retention/max_age", &self->retention.max_age)
    ||  zeb_config_int (config, "retention/max_events", &max_events)
    ||  zeb_config_size (config, "retention/max_bytes", &max_bytes)
    ||  zeb_config_duration (config, "retention/interval", &self->retention_interval)
    ||  zeb_config_size (config, "store/map_size", &map_size)
    ||  zeb_config_size (config, "store/max_size", &max_size))
        return zeb_fault_set (fault, ZEB_ECONFIG, "invalid ingest, retention or store settings");
    self->sync = streq (sync, "batch")? ZEB_SYNC_BATCH: streq (sync, "none")? ZEB_SYNC_NONE: ZEB_SYNC_ALWAYS;
    self->retention.max_events = (uint64_t) max_events;
    self->retention.max_bytes = max_bytes;
    if (self->retention_interval < 10)
        self->retention_interval = 10;
    if (self->sync_interval < 1)
        self->sync_interval = 1;
    char *path = zsys_sprintf ("%s/events", zeb_config_str (config, "node/data"));
    zeb_store_options_t options = { map_size, max_size, self->sync, true };
    self->store = zeb_store_new (path, &options, fault);
    zstr_free (&path);
    if (!self->store)
        return fault? fault->code: ZEB_ESTORAGE;
    int64_t now = s_clock_ms ();
    self->retention_due = now + self->retention_interval;
    self->dedup_due = now + 1000;
    return 0;
}

//  One transaction for the whole batch; run again if the map grew
static int
s_store_batch (self_t *self, zeb_batch_t *batch)
{
    int64_t not_before = batch->now - self->dedup_window;
    int rc;
    do {
        rc = zeb_store_begin (self->store);
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
    return rc;
}

static void
s_handle_batch (self_t *self, zeb_batch_t *batch)
{
    int64_t started = zeb_time_mono_us ();
    batch->result = batch->item_count? s_store_batch (self, batch): 0;
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
    s_share_counters (self);
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
    return wait < 0? 0: (int) wait;
}

//  Commands on the pipe, all that are waiting. Returns -1 on $TERM.
static int
s_handle_pipe (self_t *self)
{
    while (true) {
        char *command = NULL;
        void *pointer = NULL;
        if (zsock_recv (self->pipe, "sp", &command, &pointer) == -1)
            return 0;                   //  nothing more waiting
        assert (command);
        int rc = 0;
        if (streq (command, "START")) {
            zeb_fault_t fault = { 0 };
            if (s_start (self, (zconfig_t *) pointer, &fault) == 0)
                zsock_send (self->pipe, "is", 0, "");
            else
                zsock_send (self->pipe, "is", -1, fault.text);
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

//  The loop polls two plain descriptors: the pipe's ZMQ_FD and the link's
//  request eventfd. ZMQ_FD only says that the pipe has commands to process,
//  so the pipe is read until it is empty whenever it fired (and once at
//  start), and only then waited on again.
void
zeb_writer_actor (zsock_t *pipe, void *args)
{
    self_t *self = (self_t *) zmalloc (sizeof (self_t));
    assert (self);
    self->pipe = pipe;
    self->link = (zeb_writer_link_t *) args;
    assert (self->link);
    zsock_set_rcvtimeo (pipe, 0);
    zsock_signal (pipe, 0);
    struct pollfd fds [2] = {
        { zsock_fd (pipe), POLLIN, 0 },
        { self->link->request_fd, POLLIN, 0 }
    };
    bool pipe_ready = true;
    while (true) {
        if (pipe_ready && s_handle_pipe (self))
            break;
        pipe_ready = false;
        if (fds [1].revents)
            s_clear (self->link->request_fd);
        zeb_batch_t *batch = atomic_exchange_explicit (&self->link->request, NULL, memory_order_acq_rel);
        if (batch)
            s_handle_batch (self, batch);
        if (self->store && s_housekeeping (self))
            s_share_counters (self);
        fds [1].revents = 0;
        //  A batch that came during the batch or housekeeping: at once
        int timeout = atomic_load_explicit (&self->link->request, memory_order_acquire)? 0:
                      s_next_timeout (self);
        int rc = poll (fds, 2, timeout);
        //  Only ENOMEM can fail a poll of valid descriptors: say so and go
        //  on; leaving the loop would strand ingest's batch for good
        if (rc < 0 && errno != EINTR)
            zsys_error ("ingest: writer: poll: %s", strerror (errno));
        if (rc > 0 && fds [0].revents)
            pipe_ready = true;
    }
    zeb_store_destroy (&self->store);   //  syncs in batch mode
    free (self);
}
