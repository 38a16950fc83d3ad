/*  =========================================================================
    zeb_outbox_sched - the outbox's scheduling and a run's life (see
    zeb_outbox_int.h for how the actor's files divide it)

    The run's action in hand waits in the queue of its lane (action type +
    flow key). A lane that could start an action now (room under its
    concurrency, a token, not held by FIFO, its circuit not open) is on its
    kind's list of active lanes; the kind dispatches from those, in turn,
    while a worker of the kind has credit. A lane that cannot start leaves
    the list and comes back when what held it changes (a result, a token's
    time, the circuit's recovery): nothing is polled, and one lane's
    trouble never holds another. Backoffs, leases and token waits are
    entries of one timer heap.

    Every change to a run marks it dirty (zeb_outbox_dirty); the store
    writes what is dirty at the end of the turn (zeb_outbox_store.c).
    =========================================================================
*/

#include "zeb_outbox_int.h"

//  ---------------------------------------------------------------------
//  The timer heap (mono ms), with stale entries dropped when they come up

static void
s_heap_swap (self_t *self, size_t a, size_t b)
{
    timer_t_ swap = self->heap [a];
    self->heap [a] = self->heap [b];
    self->heap [b] = swap;
}

static void
s_timer_add (self_t *self, int64_t due, int what, item_t *item, lane_t *lane)
{
    if (self->heap_size == self->heap_max) {
        self->heap_max = self->heap_max? self->heap_max * 2: 1024;
        self->heap = (timer_t_ *) realloc (self->heap, self->heap_max * sizeof (timer_t_));
        assert (self->heap);
    }
    size_t index = self->heap_size++;
    self->heap [index] = (timer_t_) { due, item, lane, item? item->gen: 0, what };
    if (item)
        item->timers++;
    while (index > 0 && self->heap [(index - 1) / 2].due > self->heap [index].due) {
        s_heap_swap (self, index, (index - 1) / 2);
        index = (index - 1) / 2;
    }
}

timer_t_
zeb_outbox_timer_pop (self_t *self)
{
    timer_t_ top = self->heap [0];
    self->heap [0] = self->heap [--self->heap_size];
    size_t index = 0;
    while (true) {
        size_t left = 2 * index + 1, right = left + 1, least = index;
        if (left < self->heap_size && self->heap [left].due < self->heap [least].due)
            least = left;
        if (right < self->heap_size && self->heap [right].due < self->heap [least].due)
            least = right;
        if (least == index)
            break;
        s_heap_swap (self, index, least);
        index = least;
    }
    return top;
}

//  ---------------------------------------------------------------------
//  Items: a run in hand

void
zeb_outbox_item_free (item_t *item)
{
    zeb_run_destroy (&item->run);
    free (item);
}

void
zeb_outbox_dirty (self_t *self, item_t *item)
{
    item->run->updated = zeb_time_now ();
    if (!item->dirty) {
        item->dirty = true;
        zlistx_add_end (self->dirty, item);
    }
}

//  ---------------------------------------------------------------------
//  Kinds, lanes, circuits

kind_t *
zeb_outbox_kind (self_t *self, const char *name)
{
    for (size_t index = 0; index < self->kind_count; index++)
        if (streq (self->kinds [index]->name, name))
            return self->kinds [index];
    if (self->kind_count == S_MAX_KINDS)
        return NULL;
    kind_t *kind = (kind_t *) zmalloc (sizeof (kind_t));
    assert (kind);
    snprintf (kind->name, sizeof (kind->name), "%s", name);
    self->kinds [self->kind_count++] = kind;
    return kind;
}

static void
s_lane_activate (lane_t *lane, bool active)
{
    kind_t *kind = lane->kind;
    if (active == lane->active)
        return;
    if (active) {
        lane->active_prev = kind->active_tail;
        lane->active_next = NULL;
        if (kind->active_tail)
            kind->active_tail->active_next = lane;
        else
            kind->active_head = lane;
        kind->active_tail = lane;
    }
    else {
        if (lane->active_prev)
            lane->active_prev->active_next = lane->active_next;
        else
            kind->active_head = lane->active_next;
        if (lane->active_next)
            lane->active_next->active_prev = lane->active_prev;
        else
            kind->active_tail = lane->active_prev;
        lane->active_prev = lane->active_next = NULL;
    }
    lane->active = active;
}

static lane_t *
s_lane (self_t *self, const zeb_action_t *action)
{
    char name [S_LANE_KEY_MAX];
    snprintf (name, sizeof (name), "%s %s", action->type, action->key);
    lane_t *lane = (lane_t *) zhashx_lookup (self->lanes, name);
    if (!lane) {
        kind_t *kind = zeb_outbox_kind (self, action->type);
        if (!kind)
            return NULL;
        lane = (lane_t *) zmalloc (sizeof (lane_t));
        assert (lane);
        snprintf (lane->name, sizeof (lane->name), "%s", name);
        lane->kind = kind;
        lane->tokens = action->burst;
        lane->refilled_us = zeb_time_mono_us ();
        zhashx_insert (self->lanes, name, lane);
    }
    //  The newest run's limits are the lane's
    lane->concurrency = action->concurrency;
    lane->rate = action->rate;
    lane->burst = action->burst;
    lane->fifo = action->fifo;
    return lane;
}

static circuit_t *
s_circuit (self_t *self, const char *target)
{
    circuit_t *circuit = (circuit_t *) zhashx_lookup (self->circuits, target);
    if (!circuit) {
        circuit = (circuit_t *) zmalloc (sizeof (circuit_t));
        assert (circuit);
        snprintf (circuit->target, sizeof (circuit->target), "%s", target);
        circuit->parked = zlistx_new ();
        circuit->redrive = zlistx_new ();
        zlistx_set_destructor (circuit->redrive, (zlistx_destructor_fn *) zstr_free);
        zhashx_insert (self->circuits, target, circuit);
    }
    return circuit;
}

void
zeb_outbox_circuit_destructor (void **circuit_p)
{
    circuit_t *circuit = (circuit_t *) *circuit_p;
    zlistx_destroy (&circuit->parked);
    zlistx_destroy (&circuit->redrive);
    free (circuit);
    *circuit_p = NULL;
}

//  An open circuit whose recovery time passed lets one probe through
static bool
s_circuit_allows (self_t *self, circuit_t *circuit)
{
    if (!self->circuits_on || circuit->state == S_CLOSED)
        return true;
    if (circuit->state == S_OPEN && zeb_outbox_now_ms () - circuit->opened_ms >= self->recovery_ms)
        circuit->state = S_HALF_OPEN;
    return circuit->state == S_HALF_OPEN && !circuit->probing;
}

void
zeb_outbox_circuit_release (self_t *self, circuit_t *circuit)
{
    //  Lanes that still cannot start park again: take the list first
    zlistx_t *parked = circuit->parked;
    circuit->parked = zlistx_new ();
    lane_t *lane;
    while ((lane = (lane_t *) zlistx_detach (parked, NULL)))
        zeb_outbox_lane_check (self, lane);
    zlistx_destroy (&parked);
}

static void
s_circuit_failure (self_t *self, circuit_t *circuit)
{
    int64_t now = zeb_outbox_now_ms ();
    circuit->probing = false;
    if (circuit->state == S_HALF_OPEN) {
        circuit->state = S_OPEN;        //  the probe failed: wait again
        circuit->opened_ms = now;
        s_timer_add (self, now + self->recovery_ms, S_TIMER_TOKEN, NULL, NULL);
        return;
    }
    if (circuit->state == S_OPEN)
        return;
    size_t capacity = (size_t) self->threshold;
    if (circuit->failure_count == 0)
        circuit->failing_since = zeb_time_now ();
    circuit->failures [circuit->failure_next] = now;
    circuit->failure_next = (circuit->failure_next + 1) % capacity;
    if (circuit->failure_count < capacity)
        circuit->failure_count++;
    //  The oldest of the last N failures within the window opens it
    int64_t oldest = circuit->failures [circuit->failure_count < capacity? 0: circuit->failure_next];
    if (circuit->failure_count == capacity && now - oldest <= self->window_ms) {
        circuit->state = S_OPEN;
        circuit->opened_ms = now;
        circuit->opens++;
        zsys_warning ("outbox: circuit of %s opened after %zu failures", circuit->target, capacity);
        //  Come back when the probe may go
        s_timer_add (self, now + self->recovery_ms, S_TIMER_TOKEN, NULL, NULL);
    }
}

static void s_redrive_collect (self_t *self, circuit_t *circuit);

static void
s_circuit_success (self_t *self, circuit_t *circuit)
{
    circuit->probing = false;
    bool was_open = circuit->state != S_CLOSED;
    circuit->state = S_CLOSED;
    circuit->failure_count = circuit->failure_next = 0;
    if (was_open) {
        circuit->closes++;
        zsys_info ("outbox: circuit of %s closed", circuit->target);
        if (self->redrive_on)
            s_redrive_collect (self, circuit);
        circuit->failing_since = 0;
        zeb_outbox_circuit_release (self, circuit);
    }
    else
        circuit->failing_since = 0;
}

//  ---------------------------------------------------------------------
//  Lanes: queue, and whether one can start an action now

void
zeb_outbox_lane_push (self_t *self, lane_t *lane, item_t *item, bool front)
{
    item->lane = lane;
    item->where = S_QUEUED;
    item->queued_ms = zeb_outbox_now_ms ();
    item->gen++;
    if (front) {
        item->prev = NULL;
        item->next = lane->head;
        if (lane->head)
            lane->head->prev = item;
        else
            lane->tail = item;
        lane->head = item;
    }
    else {
        item->next = NULL;
        item->prev = lane->tail;
        if (lane->tail)
            lane->tail->next = item;
        else
            lane->head = item;
        lane->tail = item;
    }
    lane->queued++;
    lane->kind->waiting++;
}

void
zeb_outbox_lane_unlink (lane_t *lane, item_t *item)
{
    if (item->prev)
        item->prev->next = item->next;
    else
        lane->head = item->next;
    if (item->next)
        item->next->prev = item->prev;
    else
        lane->tail = item->prev;
    item->prev = item->next = NULL;
    lane->queued--;
    lane->kind->waiting--;
}

static void
s_lane_refill (lane_t *lane)
{
    if (lane->rate <= 0)
        return;
    int64_t now = zeb_time_mono_us ();
    lane->tokens += (double) (now - lane->refilled_us) / 1e6 * lane->rate;
    if (lane->tokens > lane->burst)
        lane->tokens = lane->burst;
    lane->refilled_us = now;
}

//  Put the lane on its kind's active list if it can start its head now;
//  else off it, parked where what holds it will bring it back.
void
zeb_outbox_lane_check (self_t *self, lane_t *lane)
{
    bool can = lane->head != NULL;
    if (can && lane->concurrency && lane->in_flight >= lane->concurrency)
        can = false;                    //  a result brings it back
    if (can && lane->fifo && lane->fifo_busy)
        can = false;                    //  the unfinished action's end brings it back
    if (can && lane->rate > 0) {
        s_lane_refill (lane);
        if (lane->tokens < 1) {
            can = false;
            if (!lane->token_timer) {
                lane->token_timer = true;
                int64_t wait = (int64_t) ((1 - lane->tokens) / lane->rate * 1000) + 1;
                s_timer_add (self, zeb_outbox_now_ms () + wait, S_TIMER_TOKEN, NULL, lane);
            }
        }
    }
    if (can) {
        circuit_t *circuit = s_circuit (self, lane->head->run->actions [lane->head->run->current].target);
        if (!s_circuit_allows (self, circuit)) {
            can = false;
            if (!zlistx_find (circuit->parked, lane))
                zlistx_add_end (circuit->parked, lane);
            self->deferred_open++;
        }
    }
    s_lane_activate (lane, can);
    if (can && !lane->kind->dispatching)
        zeb_outbox_dispatch (self, lane->kind);
}

//  ---------------------------------------------------------------------
//  Dispatch: JOBs to workers

static worker_t *
s_worker_with_credit (kind_t *kind)
{
    for (size_t step = 0; step < kind->worker_count; step++) {
        worker_t *worker = kind->workers [(kind->turn + step) % kind->worker_count];
        if (worker->in_flight < worker->credit) {
            kind->turn = (kind->turn + step + 1) % kind->worker_count;
            return worker;
        }
    }
    return NULL;
}

static void
s_send_job (self_t *self, item_t *item, worker_t *worker)
{
    zeb_run_t *run = item->run;
    zeb_action_t *action = &run->actions [run->current];
    action->attempts++;
    snprintf (item->job, sizeof (item->job), "%s-%u-%u-%" PRIu64, run->hex, run->current,
              action->attempts, ++self->job_counter);
    char key [64];
    snprintf (key, sizeof (key), "%s-%u", run->hex, run->current);
    msgpack_sbuffer_clear (&self->scratch);
    zeb_pack_t pack;
    zeb_pack_init (&pack, &self->scratch);
    zeb_pack_map (&pack, NULL);
    zeb_pack_str (&pack, "id", item->job);
    zeb_pack_str (&pack, "key", key);
    zeb_pack_str (&pack, "run", run->hex);
    zeb_pack_str (&pack, "action", action->type);
    zeb_pack_str (&pack, "origin", run->origin);
    zeb_pack_raw (&pack, "config", action->config, action->config_size);
    zeb_pack_raw (&pack, "event", run->event, run->event_size);
    zeb_pack_uint (&pack, "attempt", action->attempts);
    zeb_pack_uint (&pack, "index", run->current);
    zeb_pack_int (&pack, "timeout", action->policy.timeout_ms);
    zeb_pack_end (&pack);
    zmq_msg_t identity;
    zmq_msg_init_size (&identity, worker->identity_size);
    memcpy (zmq_msg_data (&identity), worker->identity, worker->identity_size);
    zeb_proto_send (zsock_resolve (zeb_router_socket (self->workers)), &identity, "JOB",
                    self->scratch.data, self->scratch.size, NULL, 0, ZMQ_DONTWAIT);
    item->where = S_IN_FLIGHT;
    item->worker = worker;
    item->started_us = zeb_time_mono_us ();
    item->gen++;
    zhashx_insert (self->jobs, item->job, item);
    worker->in_flight++;
    worker->jobs++;
    self->dispatched++;
    s_timer_add (self, zeb_outbox_now_ms () + action->policy.timeout_ms + self->lease_grace_ms,
                 S_TIMER_LEASE, item, NULL);
}

void
zeb_outbox_dispatch (self_t *self, kind_t *kind)
{
    kind->dispatching = true;
    while (kind->active_head) {
        worker_t *worker = s_worker_with_credit (kind);
        if (!worker)
            break;
        lane_t *lane = kind->active_head;
        item_t *item = lane->head;
        zeb_action_t *action = &item->run->actions [item->run->current];
        if (zhashx_lookup (self->gone, action->target)) {
            //  Its target answered 410: dead-lettered until re-enabled
            zeb_outbox_lane_unlink (lane, item);
            item->where = S_NOWHERE;
            action->state = ZEB_ACTION_FAILED;
            snprintf (item->run->error, sizeof (item->run->error), "target %s is gone (410)", action->target);
            snprintf (item->run->dead_target, sizeof (item->run->dead_target), "%s", action->target);
            self->gone_dead++;
            zeb_outbox_dead_letter (self, item, "GONE");
            zeb_outbox_lane_check (self, lane);
            continue;
        }
        circuit_t *circuit = s_circuit (self, action->target);
        if (circuit->state == S_HALF_OPEN) {
            circuit->probing = true;
            item->probe = true;
        }
        zeb_outbox_lane_unlink (lane, item);
        lane->in_flight++;
        if (lane->fifo)
            lane->fifo_busy = true;
        if (lane->rate > 0)
            lane->tokens -= 1;
        s_send_job (self, item, worker);
        //  Round robin between lanes: this one goes to the back
        s_lane_activate (lane, false);
        zeb_outbox_lane_check (self, lane);
    }
    kind->dispatching = false;
}

//  ---------------------------------------------------------------------
//  A run's life

void
zeb_outbox_publish (self_t *self, const char *type, const char *key, json_t *data)
{
    if (zlistx_size (self->publish) >= 10000) {
        self->events_dropped++;
        json_decref (data);
        return;
    }
    zeb_event_t *event = zeb_event_new (type);
    zeb_event_set (event, "source", "zeb/outbox");
    zeb_event_set (event, "idempotencykey", key);
    char *text = json_dumps (data, JSON_COMPACT);
    json_decref (data);
    if (!text || zeb_event_set_data_json (event, text, NULL)) {
        zeb_event_destroy (&event);
        free (text);
        return;
    }
    free (text);
    zlistx_add_end (self->publish, event);
}

static void
s_replay_finished (self_t *self, zeb_run_t *run, bool dead)
{
    if (!*run->replay)
        return;
    replay_t *replay = (replay_t *) zhashx_lookup (self->replays, run->replay);
    if (!replay)
        return;
    if (dead)
        replay->dead++;
    else
        replay->done++;
    if (--replay->remaining == 0) {
        json_t *data = json_pack ("{s:s, s:I, s:I, s:I}", "replayId", replay->id,
                                  "count", (json_int_t) replay->count, "done", (json_int_t) replay->done,
                                  "dead", (json_int_t) replay->dead);
        char key [64];
        snprintf (key, sizeof (key), "replay-completed-%s", replay->id);
        zeb_outbox_publish (self, "zeb.replay.completed", key, data);
        zhashx_delete (self->replays, replay->id);
    }
}

//  The run leaves memory: written as finished at the end of the turn
static void
s_finish (self_t *self, item_t *item)
{
    zeb_run_t *run = item->run;
    item->where = S_FINISHED;
    zeb_outbox_dirty (self, item);
    zhashx_delete (self->items, run->hex);      //  no destructor there: see zeb_outbox_commit
    zhashx_insert (self->settling, run->hex, item);     //  until stored
    zlistx_add_end (self->finished, item);
    uint8_t key [8 + ZEB_RUN_ID_SIZE];
    zeb_outbox_be64 (key, (uint64_t) run->updated);
    memcpy (key + 8, run->id, ZEB_RUN_ID_SIZE);
    if (run->state == ZEB_RUN_DEAD) {
        zeb_outbox_op (self, S_DLQ, key, sizeof (key), "", 0);
        zeb_outbox_write_log (self, run, "failed");
    }
    else {
        zeb_outbox_op (self, S_FINISHED_DB, key, sizeof (key), "", 0);
        zeb_outbox_write_log (self, run, run->conditions_matched? "success": "skipped");
    }
    s_replay_finished (self, run, run->state == ZEB_RUN_DEAD);
}

void
zeb_outbox_dead_letter (self_t *self, item_t *item, const char *reason)
{
    zeb_run_t *run = item->run;
    zeb_action_t *action = run->current < run->action_count? &run->actions [run->current]: NULL;
    //  With continueOnError the run goes on with its next actions first
    if (action && run->continue_on_error && run->current + 1 < run->action_count
    &&  !streq (reason, "NO_EXECUTOR_END")) {
        if (!*run->reason)
            snprintf (run->reason, sizeof (run->reason), "%s", reason);
        if (!*run->dead_target)
            snprintf (run->dead_target, sizeof (run->dead_target), "%s", action->target);
        run->current++;
        zeb_outbox_dirty (self, item);
        zeb_outbox_advance (self, item);
        return;
    }
    if (action && !run->continue_on_error)
        for (uint32_t index = run->current + 1; index < run->action_count; index++)
            run->actions [index].state = ZEB_ACTION_SKIPPED;
    if (!*run->reason || !run->continue_on_error)
        snprintf (run->reason, sizeof (run->reason), "%s", reason);
    if (action && (!*run->dead_target || !run->continue_on_error))
        snprintf (run->dead_target, sizeof (run->dead_target), "%s", action->target);
    run->state = ZEB_RUN_DEAD;
    run->dead_at = zeb_time_now ();
    self->dead++;
    uint32_t attempts = action? action->attempts: 0;
    json_t *data = json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I}",
                              "run", run->hex, "origin", run->origin, "eventId", run->event_id,
                              "eventType", run->event_type, "reason", run->reason,
                              "target", run->dead_target, "error", run->error,
                              "attempts", (json_int_t) attempts);
    if (action)
        json_object_set_new (data, "action", json_string (action->type));
    char key [80];
    snprintf (key, sizeof (key), "dead-%s-%" PRId64, run->hex, run->dead_at);
    zeb_outbox_publish (self, "zeb.dead_letter", key, data);
    s_finish (self, item);
}

//  Queue the run's action in hand, or finish the run
void
zeb_outbox_advance (self_t *self, item_t *item)
{
    zeb_run_t *run = item->run;
    while (run->current < run->action_count && run->actions [run->current].state != ZEB_ACTION_PENDING)
        run->current++;
    if (run->current >= run->action_count) {
        bool failed = false;
        for (uint32_t index = 0; index < run->action_count; index++)
            failed |= run->actions [index].state == ZEB_ACTION_FAILED;
        if (failed) {
            run->current = run->action_count;
            zeb_outbox_dead_letter (self, item, *run->reason? run->reason: "FAILED");
        }
        else {
            run->state = ZEB_RUN_DONE;
            s_finish (self, item);
        }
        return;
    }
    lane_t *lane = s_lane (self, &run->actions [run->current]);
    if (!lane) {
        snprintf (run->error, sizeof (run->error), "more than %d action types", S_MAX_KINDS);
        run->actions [run->current].state = ZEB_ACTION_FAILED;
        zeb_outbox_dead_letter (self, item, "FAILED");
        return;
    }
    zeb_outbox_lane_push (self, lane, item, false);
    zeb_outbox_lane_check (self, lane);
}

//  An attempt ended (result, lost lease, gone worker)
void
zeb_outbox_attempt_ended (self_t *self, item_t *item, zeb_job_status_t status, bool lost, int code,
                 const char *error, const uint8_t *result, size_t result_size,
                 int64_t retry_after_ms, bool gone)
{
    zeb_run_t *run = item->run;
    zeb_action_t *action = &run->actions [run->current];
    lane_t *lane = item->lane;
    zhashx_delete (self->jobs, item->job);
    if (item->worker && item->worker->in_flight)
        item->worker->in_flight--;
    item->worker = NULL;
    item->where = S_NOWHERE;
    item->gen++;
    lane->in_flight--;
    int64_t duration = (zeb_time_mono_us () - item->started_us) / 1000;
    zeb_run_record (run, lost? 3: (uint8_t) status, code, error, result, result_size, duration);
    circuit_t *circuit = s_circuit (self, action->target);
    bool probe = item->probe;
    item->probe = false;
    zeb_outbox_dirty (self, item);
    if (status == ZEB_JOB_OK) {
        self->succeeded++;
        action->state = ZEB_ACTION_OK;
        if (lane->fifo)
            lane->fifo_busy = false;
        s_circuit_success (self, circuit);
        run->current++;
        zeb_outbox_advance (self, item);
    }
    else
    if (status == ZEB_JOB_RETRY && action->attempts < action->policy.max_attempts) {
        self->retried++;
        if (!gone)
            s_circuit_failure (self, circuit);
        int64_t delay = zeb_policy_delay (&action->policy, action->attempts, retry_after_ms,
                                          (double) random () / ((double) RAND_MAX + 1));
        item->where = S_DELAYED;
        item->lane = lane;          //  FIFO: the lane stays held by it
        lane->delayed++;
        s_timer_add (self, zeb_outbox_now_ms () + delay, S_TIMER_DUE, item, NULL);
    }
    else {
        self->failed++;
        if (status == ZEB_JOB_RETRY)
            s_circuit_failure (self, circuit);
        else
        if (probe)
            circuit->probing = false;
        action->state = ZEB_ACTION_FAILED;
        if (lane->fifo)
            lane->fifo_busy = false;
        if (gone) {
            zhashx_update (self->gone, action->target, (void *) "");
            zeb_outbox_op (self, S_META, action->target, strlen (action->target), "gone", 4);
        }
        const char *reason = gone? "GONE": status == ZEB_JOB_FAIL? "FAILED":
                             lost? "TIMEOUT": "RETRIES_EXHAUSTED";
        if (!run->continue_on_error || !*run->reason) {
            snprintf (run->reason, sizeof (run->reason), "%s", reason);
            snprintf (run->dead_target, sizeof (run->dead_target), "%s", action->target);
        }
        zeb_outbox_dead_letter (self, item, reason);
    }
    if (probe && circuit->state != S_CLOSED)
        circuit->probing = false;
    zeb_outbox_lane_check (self, lane);
}

//  ---------------------------------------------------------------------
//  Replay: a dead run back in the queue

//  Back to the queue: failed and skipped actions again, attempts reset
void
zeb_outbox_replay_run (self_t *self, zeb_run_t *run, const uint8_t *dlq_key, const char *replay_id)
{
    zeb_outbox_op (self, S_DLQ, dlq_key, 8 + ZEB_RUN_ID_SIZE, NULL, 0);
    run->current = run->action_count;
    for (uint32_t index = 0; index < run->action_count; index++) {
        zeb_action_t *action = &run->actions [index];
        if (action->state != ZEB_ACTION_OK) {
            action->state = ZEB_ACTION_PENDING;
            action->attempts = 0;
            if (run->current == run->action_count)
                run->current = index;
        }
    }
    run->state = ZEB_RUN_PENDING;
    run->dead_at = 0;
    *run->reason = 0;
    *run->dead_target = 0;
    snprintf (run->replay, sizeof (run->replay), "%s", replay_id? replay_id: "");
    item_t *item = (item_t *) zmalloc (sizeof (item_t));
    assert (item);
    item->run = run;
    zhashx_insert (self->items, run->hex, item);
    zeb_outbox_dirty (self, item);
    self->replayed++;
    zeb_outbox_advance (self, item);
}

//  ---------------------------------------------------------------------
//  Redrive: the runs a closed circuit brings back, at a slow start

//  The runs dead-lettered for this target since its failures began
static void
s_redrive_collect (self_t *self, circuit_t *circuit)
{
    filter_t filter;
    memset (&filter, 0, sizeof (filter));
    filter.since = circuit->failing_since? circuit->failing_since - 1000: 0;
    filter.until = INT64_MAX;
    filter.limit = 100000;
    zlistx_t *list = zlistx_new ();
    zeb_outbox_settle_quiet (self);     //  called while an attempt ends: no side effects
    zeb_outbox_dlq_scan (self, &filter, zeb_outbox_collect_one, list, NULL);
    dead_t *dead;
    while ((dead = (dead_t *) zlistx_detach (list, NULL))) {
        zeb_run_t *run = dead->run;
        bool transient = streq (run->reason, "RETRIES_EXHAUSTED") || streq (run->reason, "TIMEOUT");
        if (transient && streq (run->dead_target, circuit->target)) {
            char *entry = (char *) malloc (2 * ZEB_RUN_ID_SIZE + 1);
            assert (entry);
            memcpy (entry, run->hex, 2 * ZEB_RUN_ID_SIZE + 1);
            zlistx_add_end (circuit->redrive, entry);
        }
        zeb_run_destroy (&dead->run);
        free (dead);
    }
    zlistx_destroy (&list);
    circuit->redrive_rate = (double) self->redrive_rate;
    circuit->redrive_tokens = 1;
    circuit->redrive_us = zeb_time_mono_us ();
    if (zlistx_size (circuit->redrive))
        zsys_info ("outbox: redriving %zu runs of %s", zlistx_size (circuit->redrive), circuit->target);
}

//  Slow start: redrive_rate runs per second, doubling every second
int64_t
zeb_outbox_redrive_step (self_t *self)
{
    int64_t wait = -1;
    for (circuit_t *circuit = (circuit_t *) zhashx_first (self->circuits); circuit;
         circuit = (circuit_t *) zhashx_next (self->circuits)) {
        if (zlistx_size (circuit->redrive) == 0 || circuit->state != S_CLOSED)
            continue;
        int64_t now = zeb_time_mono_us ();
        double elapsed = (double) (now - circuit->redrive_us) / 1e6;
        circuit->redrive_us = now;
        circuit->redrive_tokens += elapsed * circuit->redrive_rate;
        circuit->redrive_rate *= pow (2, elapsed);
        if (circuit->redrive_rate > 1e7)
            circuit->redrive_rate = 1e7;
        char *hex;
        while (circuit->redrive_tokens >= 1 && (hex = (char *) zlistx_detach (circuit->redrive, NULL))) {
            circuit->redrive_tokens -= 1;
            zeb_run_t *run = zhashx_lookup (self->items, hex)? NULL: zeb_outbox_load (self, hex);
            if (run && run->state == ZEB_RUN_DEAD) {
                uint8_t key [8 + ZEB_RUN_ID_SIZE];
                zeb_outbox_be64 (key, (uint64_t) run->updated);
                memcpy (key + 8, run->id, ZEB_RUN_ID_SIZE);
                zeb_outbox_replay_run (self, run, key, "");
                self->redriven++;
            }
            else
                zeb_run_destroy (&run);
            zstr_free (&hex);
        }
        if (zlistx_size (circuit->redrive)) {
            int64_t next = (int64_t) ((1 - circuit->redrive_tokens) / circuit->redrive_rate * 1000) + 1;
            wait = wait < 0 || next < wait? next: wait;
        }
    }
    return wait;
}
