/*  =========================================================================
    zeb_outbox - durable runs, scheduled onto executors (see zeb_outbox.h)

    One thread owns everything: the runs in hand (a hash by id), the
    action types (kinds) with their workers, the flow-control lanes, the
    circuits, and one timer heap for backoffs, leases and rate limits.
    Every change of the turn is written in one LMDB transaction at the end
    of the turn (the tick); ENQUEUED is answered after it commits, so an
    acknowledged run is durable.

    Scheduling: the run's action in hand waits in the queue of its lane
    (action type + flow key). A lane that could start an action now (room
    under its concurrency, a token, not held by FIFO, its circuit not
    open) is on its kind's list of active lanes; the kind dispatches from
    those, in turn, while a worker of the kind has credit. A lane that
    cannot start leaves the list and comes back when what held it changes
    (a result, a token's time, the circuit's recovery): nothing is
    polled, and one lane's trouble never holds another.
    =========================================================================
*/

#include "zeb_actors.h"
#include <openssl/evp.h>

const zeb_config_key_t zeb_outbox_config [] = {
    { "outbox/endpoint", "tcp://127.0.0.1:7704", ZEB_KEY_ENDPOINT, 0, 0, NULL,
      "ROUTER for ENQUEUE, RUN, DLQ_*, LOGS (docs/PROTOCOL.md 4b)" },
    { "outbox/workers", "tcp://127.0.0.1:7705", ZEB_KEY_ENDPOINT, 0, 0, NULL,
      "ROUTER for workers (READY, JOB, RESULT); the node's executors use inproc" },
    { "outbox/ingest", "", ZEB_KEY_ENDPOINT, 0, 0, NULL,
      "ingest, for zeb.dead_letter and zeb.replay.* events (set in a node with ingest)" },
    { "outbox/executors", "webhook,emit_event,log,redis_stream,nats", ZEB_KEY_STR, 0, 0, NULL,
      "the built-in executors this node runs (comma-separated; empty: none)" },
    { "outbox/max_retries", "3", ZEB_KEY_INT, 0, 999, NULL,
      "retries of a failed action, by default (EVENT_DEFAULT_MAX_RETRIES)" },
    { "outbox/backoff", "1s", ZEB_KEY_DURATION, 0, 604800000, NULL,
      "delay before the first retry (EVENT_DEFAULT_BACKOFF_MS)" },
    { "outbox/exponential_backoff", "true", ZEB_KEY_BOOL, 0, 0, NULL,
      "multiply the delay by backoff_factor after each retry (EVENT_EXPONENTIAL_BACKOFF)" },
    { "outbox/backoff_factor", "2", ZEB_KEY_INT, 1, 10, NULL, "growth of an exponential delay" },
    { "outbox/max_backoff", "1h", ZEB_KEY_DURATION, 0, 604800000, NULL, "longest delay between attempts" },
    { "outbox/backoff_jitter", "true", ZEB_KEY_BOOL, 0, 0, NULL,
      "draw each delay uniformly in [d/2, d] (EVENT_BACKOFF_JITTER)" },
    { "outbox/timeout", "30s", ZEB_KEY_DURATION, 1, 3600000, NULL,
      "an attempt's budget, by default (EVENT_DEFAULT_TIMEOUT)" },
    { "outbox/lease_grace", "5s", ZEB_KEY_DURATION, 0, 3600000, NULL,
      "a job is lost when unfinished this long after its timeout" },
    { "outbox/worker_expiry", "5s", ZEB_KEY_DURATION, 100, 3600000, NULL,
      "a worker silent this long is gone, and its jobs are lost" },
    { "outbox/circuit", "true", ZEB_KEY_BOOL, 0, 0, NULL, "circuit breakers per target" },
    { "outbox/circuit_threshold", "5", ZEB_KEY_INT, 1, 1000, NULL,
      "failures within circuit_window that open a circuit (EVENT_CIRCUIT_BREAKER_THRESHOLD)" },
    { "outbox/circuit_window", "60s", ZEB_KEY_DURATION, 1, 86400000, NULL,
      "(EVENT_CIRCUIT_BREAKER_TIME_WINDOW)" },
    { "outbox/circuit_recovery", "30s", ZEB_KEY_DURATION, 1, 86400000, NULL,
      "an open circuit lets one probe through after this (EVENT_CIRCUIT_BREAKER_RECOVERY_TIMEOUT)" },
    { "outbox/redrive", "true", ZEB_KEY_BOOL, 0, 0, NULL,
      "when a circuit closes, replay the runs dead-lettered for its target since it failed" },
    { "outbox/redrive_rate", "10", ZEB_KEY_INT, 1, 1000000, NULL,
      "redriven runs per second at first; the rate doubles every second" },
    { "outbox/no_executor_timeout", "1h", ZEB_KEY_DURATION, 1, 604800000, NULL,
      "a run whose action type has no executor is dead-lettered after this" },
    { "outbox/max_runs", "1000000", ZEB_KEY_INT, 1, 100000000, NULL,
      "unfinished runs held at once; ENQUEUE beyond gets OVERLOADED" },
    { "outbox/max_enqueue", "1000", ZEB_KEY_INT, 1, 100000, NULL, "runs per ENQUEUE" },
    { "outbox/retention", "14d", ZEB_KEY_DURATION, 1000, 0, NULL,
      "finished runs are kept (RUN, and deduplication of ENQUEUE) this long" },
    { "outbox/log_retention", "14d", ZEB_KEY_DURATION, 1000, 0, NULL, "execution logs are kept this long" },
    { "outbox/log_max", "100000", ZEB_KEY_INT, 1, 0, NULL, "execution logs kept per origin (newest)" },
    { "outbox/max_size", "0", ZEB_KEY_SIZE, 0, 0, NULL,
      "largest the outbox's store may grow (0 = disk size)" },
    { NULL }
};

//  Indexes of the store's databases
enum { S_RUNS, S_DLQ, S_LOGS, S_LOGS_TYPE, S_LOGS_TIME, S_FINISHED_DB, S_META, S_DB_COUNT };

#define S_LANE_KEY_MAX  (64 + 1 + 256)
#define S_MAX_KINDS     64
#define S_MAX_WORKER_ACTIONS 32

typedef struct _item_t item_t;
typedef struct _lane_t lane_t;
typedef struct _kind_t kind_t;
typedef struct _worker_t worker_t;
typedef struct _circuit_t circuit_t;
typedef struct _self_t self_t;

//  Where a run's action in hand is
typedef enum { S_NOWHERE, S_QUEUED, S_DELAYED, S_IN_FLIGHT, S_FINISHED } where_t;

struct _item_t {
    zeb_run_t *run;
    where_t where;
    lane_t *lane;               //  the lane it is queued on or in flight from
    item_t *prev, *next;        //  in the lane's queue
    uint64_t gen;               //  bumped on every move: older timers are stale
    uint32_t timers;            //  heap entries that point here
    bool dirty;                 //  to write at the end of the turn
    bool fresh;                 //  enqueued this turn: start after commit
    bool probe;                 //  its attempt is its circuit's probe
    char job [96];              //  the attempt in flight
    worker_t *worker;
    int64_t started_us;
    int64_t queued_ms;          //  when it joined its lane's queue (mono)
};

struct _lane_t {
    char name [S_LANE_KEY_MAX];     //  type NUL key
    kind_t *kind;
    item_t *head, *tail;
    size_t queued, in_flight;
    size_t delayed;             //  items in backoff that come back to it
    uint32_t concurrency;
    double rate, burst, tokens;
    int64_t refilled_us;
    bool fifo;
    bool fifo_busy;             //  FIFO: an action of this key is unfinished
    bool active;                //  on the kind's active list
    bool token_timer;           //  a timer will bring it back for a token
    lane_t *active_prev, *active_next;
};

struct _kind_t {
    char name [64];
    lane_t *active_head, *active_tail;
    worker_t *workers [64];
    size_t worker_count;
    size_t turn;                //  round robin over workers
    size_t waiting;             //  actions queued for it
    bool dispatching;
};

struct _worker_t {
    char id [520];              //  routing id, hex
    uint8_t identity [256];
    size_t identity_size;
    char name [64];
    kind_t *kinds [S_MAX_WORKER_ACTIONS];
    size_t kind_count;
    size_t credit, in_flight;
    int64_t seen_ms;
    uint64_t jobs, results;
};

typedef enum { S_CLOSED, S_OPEN, S_HALF_OPEN } circuit_state_t;

struct _circuit_t {
    char target [256];
    circuit_state_t state;
    int64_t failures [1000];    //  ring of failure times, mono ms
    size_t failure_count, failure_next;
    int64_t opened_ms;          //  mono
    int64_t failing_since;      //  wall ms: first failure of the run that opened it
    bool probing;
    zlistx_t *parked;           //  lanes held by this open circuit
    zlistx_t *redrive;          //  run ids (hex) to redrive
    double redrive_tokens, redrive_rate;
    int64_t redrive_us;
    uint64_t opens, closes;
};

typedef struct {
    int64_t due;                //  mono ms
    item_t *item;               //  or NULL with lane
    lane_t *lane;
    uint64_t gen;
    int what;                   //  S_TIMER_*
} timer_t_;

enum { S_TIMER_DUE, S_TIMER_LEASE, S_TIMER_TOKEN };

typedef struct {
    char id [40];
    size_t count, remaining, done, dead;
} replay_t;

struct _self_t {
    zeb_actor_t *actor;
    zeb_router_t *router;
    zeb_router_t *workers;
    zeb_lmdb_t *lmdb;
    MDB_dbi dbs [S_DB_COUNT];
    zhashx_t *items;            //  hex id -> item_t
    zhashx_t *jobs;             //  job id -> item_t (in flight)
    zhashx_t *lanes;            //  lane name -> lane_t
    zhashx_t *circuits;         //  target -> circuit_t
    zhashx_t *worker_map;       //  routing id hex -> worker_t
    zhashx_t *gone;             //  target -> "" (410: dead-letter its runs)
    zhashx_t *log_counts;       //  origin -> count (uint64 in a pointer's place)
    zhashx_t *replays;          //  replay id -> replay_t
    kind_t *kinds [S_MAX_KINDS];
    size_t kind_count;
    timer_t_ *heap;
    size_t heap_size, heap_max;
    zlistx_t *dirty;            //  items to write
    zlistx_t *finished;         //  items finished this turn: written, then freed
    zlistx_t *replies;          //  kept ENQUEUE requests with their reply bodies
    zlistx_t *ops;              //  other writes of the turn (s_op_t)
    zlistx_t *publish;          //  events waiting for ingest (zeb_event_t)
    zeb_client_t *client;       //  to ingest, for the node's own events
    int64_t client_retry_ms;
    bool client_in_loop;
    zactor_t *executors [16];
    size_t executor_count;
    zeb_policy_t policy;        //  the default retry policy
    bool circuits_on, redrive_on;
    int64_t threshold, window_ms, recovery_ms, lease_grace_ms, worker_expiry_ms;
    int64_t no_executor_ms, retention_ms, log_retention_ms, log_max, redrive_rate;
    int64_t max_runs, max_enqueue;
    int64_t next_sweep_ms;
    uint64_t job_counter;
    msgpack_sbuffer scratch;
    //  Counters
    uint64_t enqueued, duplicates, refused, dispatched, succeeded, retried, failed;
    uint64_t leases_lost, dead, replayed, purged, redriven, deferred_open, gone_dead;
    uint64_t commits, commit_failures, stale_results, bad_results, logs_written;
    uint64_t events_published, events_dropped;
};

typedef struct {
    int db;
    void *key;
    size_t key_size;
    void *value;                //  NULL: delete
    size_t value_size;
} op_t;

typedef struct {
    zeb_request_t *request;
    const char *command;        //  the reply's
    msgpack_sbuffer body;
    zlistx_t *items;            //  the fresh items this reply acknowledges
} reply_t;

static void s_advance (self_t *self, item_t *item);
static void s_dispatch (self_t *self, kind_t *kind);
static void s_lane_check (self_t *self, lane_t *lane);
static void s_dead_letter (self_t *self, item_t *item, const char *reason);

//  ---------------------------------------------------------------------
//  Ids and keys

void
zeb_outbox_run_id (const char *origin, const char *event_key, char *hex)
{
    uint8_t digest [EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    EVP_MD_CTX *context = EVP_MD_CTX_new ();
    assert (context);
    EVP_DigestInit_ex (context, EVP_sha256 (), NULL);
    EVP_DigestUpdate (context, origin, strlen (origin) + 1);
    EVP_DigestUpdate (context, event_key, strlen (event_key));
    EVP_DigestFinal_ex (context, digest, &size);
    EVP_MD_CTX_free (context);
    zeb_run_hex (digest, ZEB_RUN_ID_SIZE, hex);
}

static void
s_be64 (uint8_t *out, uint64_t value)
{
    for (int index = 7; index >= 0; index--) {
        out [index] = (uint8_t) value;
        value >>= 8;
    }
}

static uint64_t
s_read_be64 (const uint8_t *in)
{
    uint64_t value = 0;
    for (int index = 0; index < 8; index++)
        value = (value << 8) | in [index];
    return value;
}

static int64_t
s_now_ms (void)
{
    return zeb_time_mono_us () / 1000;
}

static void
s_op (self_t *self, int db, const void *key, size_t key_size, const void *value, size_t value_size)
{
    op_t *op = (op_t *) zmalloc (sizeof (op_t));
    assert (op);
    op->db = db;
    op->key = malloc (key_size);
    assert (op->key);
    memcpy (op->key, key, key_size);
    op->key_size = key_size;
    if (value) {
        op->value = malloc (value_size? value_size: 1);
        assert (op->value);
        memcpy (op->value, value, value_size);
        op->value_size = value_size;
    }
    zlistx_add_end (self->ops, op);
}

static void
s_op_destroy (op_t **op_p)
{
    if (*op_p) {
        free ((*op_p)->key);
        free ((*op_p)->value);
        free (*op_p);
        *op_p = NULL;
    }
}

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

static timer_t_
s_timer_pop (self_t *self)
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

static void
s_item_free (item_t *item)
{
    zeb_run_destroy (&item->run);
    free (item);
}

static void
s_dirty (self_t *self, item_t *item)
{
    item->run->updated = zeb_time_now ();
    if (!item->dirty) {
        item->dirty = true;
        zlistx_add_end (self->dirty, item);
    }
}

//  ---------------------------------------------------------------------
//  Kinds, lanes, circuits

static kind_t *
s_kind (self_t *self, const char *name)
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
        kind_t *kind = s_kind (self, action->type);
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

static void
s_circuit_destructor (void **circuit_p)
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
    if (circuit->state == S_OPEN && s_now_ms () - circuit->opened_ms >= self->recovery_ms)
        circuit->state = S_HALF_OPEN;
    return circuit->state == S_HALF_OPEN && !circuit->probing;
}

static void
s_circuit_release (self_t *self, circuit_t *circuit)
{
    //  Lanes that still cannot start park again: take the list first
    zlistx_t *parked = circuit->parked;
    circuit->parked = zlistx_new ();
    lane_t *lane;
    while ((lane = (lane_t *) zlistx_detach (parked, NULL)))
        s_lane_check (self, lane);
    zlistx_destroy (&parked);
}

static void
s_circuit_failure (self_t *self, circuit_t *circuit)
{
    int64_t now = s_now_ms ();
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
        s_circuit_release (self, circuit);
    }
    else
        circuit->failing_since = 0;
}

//  ---------------------------------------------------------------------
//  Lanes: queue, and whether one can start an action now

static void
s_lane_push (self_t *self, lane_t *lane, item_t *item, bool front)
{
    item->lane = lane;
    item->where = S_QUEUED;
    item->queued_ms = s_now_ms ();
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

static void
s_lane_unlink (lane_t *lane, item_t *item)
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
static void
s_lane_check (self_t *self, lane_t *lane)
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
                s_timer_add (self, s_now_ms () + wait, S_TIMER_TOKEN, NULL, lane);
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
        s_dispatch (self, lane->kind);
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
    s_timer_add (self, s_now_ms () + action->policy.timeout_ms + self->lease_grace_ms,
                 S_TIMER_LEASE, item, NULL);
}

static void
s_dispatch (self_t *self, kind_t *kind)
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
            s_lane_unlink (lane, item);
            item->where = S_NOWHERE;
            action->state = ZEB_ACTION_FAILED;
            snprintf (item->run->error, sizeof (item->run->error), "target %s is gone (410)", action->target);
            snprintf (item->run->dead_target, sizeof (item->run->dead_target), "%s", action->target);
            self->gone_dead++;
            s_dead_letter (self, item, "GONE");
            s_lane_check (self, lane);
            continue;
        }
        circuit_t *circuit = s_circuit (self, action->target);
        if (circuit->state == S_HALF_OPEN) {
            circuit->probing = true;
            item->probe = true;
        }
        s_lane_unlink (lane, item);
        lane->in_flight++;
        if (lane->fifo)
            lane->fifo_busy = true;
        if (lane->rate > 0)
            lane->tokens -= 1;
        s_send_job (self, item, worker);
        //  Round robin between lanes: this one goes to the back
        s_lane_activate (lane, false);
        s_lane_check (self, lane);
    }
    kind->dispatching = false;
}

//  ---------------------------------------------------------------------
//  A run's life

static void
s_publish (self_t *self, const char *type, const char *key, json_t *data)
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
s_write_log (self_t *self, zeb_run_t *run, const char *status)
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
    s_be64 (key + origin_len + 1, (uint64_t) now);
    memcpy (key + origin_len + 9, run->id, ZEB_RUN_ID_SIZE);
    size_t key_size = origin_len + 9 + ZEB_RUN_ID_SIZE;
    s_op (self, S_LOGS, key, key_size, self->scratch.data, self->scratch.size);
    uint8_t index [300];
    memcpy (index, run->event_type, type_len + 1);
    s_be64 (index + type_len + 1, (uint64_t) now);
    memcpy (index + type_len + 9, run->id, ZEB_RUN_ID_SIZE);
    s_op (self, S_LOGS_TYPE, index, type_len + 9 + ZEB_RUN_ID_SIZE, key, key_size);
    s_be64 (index, (uint64_t) now);
    memcpy (index + 8, run->id, ZEB_RUN_ID_SIZE);
    s_op (self, S_LOGS_TIME, index, 8 + ZEB_RUN_ID_SIZE, key, key_size);
    self->logs_written++;
    uint64_t count = (uint64_t) (uintptr_t) zhashx_lookup (self->log_counts, run->origin);
    zhashx_update (self->log_counts, run->origin, (void *) (uintptr_t) (count + 1));
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
        s_publish (self, "zeb.replay.completed", key, data);
        zhashx_delete (self->replays, replay->id);
    }
}

//  The run leaves memory: written as finished at the end of the turn
static void
s_finish (self_t *self, item_t *item)
{
    zeb_run_t *run = item->run;
    item->where = S_FINISHED;
    s_dirty (self, item);
    zhashx_delete (self->items, run->hex);      //  no destructor there: see s_commit
    zlistx_add_end (self->finished, item);
    uint8_t key [8 + ZEB_RUN_ID_SIZE];
    s_be64 (key, (uint64_t) run->updated);
    memcpy (key + 8, run->id, ZEB_RUN_ID_SIZE);
    if (run->state == ZEB_RUN_DEAD) {
        s_op (self, S_DLQ, key, sizeof (key), "", 0);
        s_write_log (self, run, "failed");
    }
    else {
        s_op (self, S_FINISHED_DB, key, sizeof (key), "", 0);
        s_write_log (self, run, run->conditions_matched? "success": "skipped");
    }
    s_replay_finished (self, run, run->state == ZEB_RUN_DEAD);
}

static void
s_dead_letter (self_t *self, item_t *item, const char *reason)
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
        s_dirty (self, item);
        s_advance (self, item);
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
    s_publish (self, "zeb.dead_letter", key, data);
    s_finish (self, item);
}

//  Queue the run's action in hand, or finish the run
static void
s_advance (self_t *self, item_t *item)
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
            s_dead_letter (self, item, *run->reason? run->reason: "FAILED");
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
        s_dead_letter (self, item, "FAILED");
        return;
    }
    s_lane_push (self, lane, item, false);
    s_lane_check (self, lane);
}

//  An attempt ended (result, lost lease, gone worker)
static void
s_attempt_ended (self_t *self, item_t *item, zeb_job_status_t status, bool lost, int code,
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
    s_dirty (self, item);
    if (status == ZEB_JOB_OK) {
        self->succeeded++;
        action->state = ZEB_ACTION_OK;
        if (lane->fifo)
            lane->fifo_busy = false;
        s_circuit_success (self, circuit);
        run->current++;
        s_advance (self, item);
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
        s_timer_add (self, s_now_ms () + delay, S_TIMER_DUE, item, NULL);
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
            s_op (self, S_META, action->target, strlen (action->target), "gone", 4);
        }
        const char *reason = gone? "GONE": status == ZEB_JOB_FAIL? "FAILED":
                             lost? "TIMEOUT": "RETRIES_EXHAUSTED";
        if (!run->continue_on_error || !*run->reason) {
            snprintf (run->reason, sizeof (run->reason), "%s", reason);
            snprintf (run->dead_target, sizeof (run->dead_target), "%s", action->target);
        }
        s_dead_letter (self, item, reason);
    }
    if (probe && circuit->state != S_CLOSED)
        circuit->probing = false;
    s_lane_check (self, lane);
}

//  ---------------------------------------------------------------------
//  Workers

static void
s_worker_id (const void *identity, size_t size, char *out)
{
    zeb_run_hex ((const uint8_t *) identity, size < 255? size: 255, out);
}

static void
s_worker_detach (self_t *self, worker_t *worker)
{
    for (size_t index = 0; index < worker->kind_count; index++) {
        kind_t *kind = worker->kinds [index];
        for (size_t slot = 0; slot < kind->worker_count; slot++)
            if (kind->workers [slot] == worker) {
                kind->workers [slot] = kind->workers [--kind->worker_count];
                break;
            }
        kind->turn = 0;
    }
    worker->kind_count = 0;
}

//  The worker is gone: its jobs are lost attempts
static void
s_worker_gone (self_t *self, worker_t *worker, const char *why)
{
    zlistx_t *lost = zlistx_new ();
    for (item_t *item = (item_t *) zhashx_first (self->jobs); item; item = (item_t *) zhashx_next (self->jobs))
        if (item->worker == worker)
            zlistx_add_end (lost, item);
    for (item_t *item = (item_t *) zlistx_first (lost); item; item = (item_t *) zlistx_next (lost)) {
        self->leases_lost++;
        s_attempt_ended (self, item, ZEB_JOB_RETRY, true, 0, why, NULL, 0, 0, false);
    }
    zlistx_destroy (&lost);
    s_worker_detach (self, worker);
    zhashx_delete (self->worker_map, worker->id);
}

static void
s_workers_gone (void *arg, const void *identity, size_t size)
{
    self_t *self = (self_t *) arg;
    char id [520];
    s_worker_id (identity, size, id);
    worker_t *worker = (worker_t *) zhashx_lookup (self->worker_map, id);
    if (worker)
        s_worker_gone (self, worker, "worker disconnected");
}

static worker_t *
s_worker_of (self_t *self, zeb_request_t *request)
{
    char id [520];
    s_worker_id (zmq_msg_data (&request->identity), zmq_msg_size (&request->identity), id);
    worker_t *worker = (worker_t *) zhashx_lookup (self->worker_map, id);
    if (worker)
        worker->seen_ms = s_now_ms ();
    return worker;
}

static void
s_handle_ready (void *owner, zeb_request_t *request)
{
    self_t *self = (self_t *) owner;
    uint64_t credit = 0;
    zeb_mpk_t actions;
    uint32_t count;
    if (zeb_proto_get_uint (request->body, request->body_size, "credit", &credit) != 0
    ||  credit < 1 || credit > 10000
    ||  zeb_mpk_find (request->body, request->body_size, "actions", &actions)
    ||  zeb_mpk_read_array (&actions, &count) || count < 1 || count > S_MAX_WORKER_ACTIONS) {
        zeb_router_nack (request, ZEB_EINVALID, "READY needs actions (1..%d names) and credit (1..10000)",
                         S_MAX_WORKER_ACTIONS);
        return;
    }
    kind_t *kinds [S_MAX_WORKER_ACTIONS];
    for (uint32_t index = 0; index < count; index++) {
        char name [64];
        const char *str;
        uint32_t len;
        if (zeb_mpk_read_str (&actions, &str, &len) || len == 0 || len >= sizeof (name)) {
            zeb_router_nack (request, ZEB_EINVALID, "READY: actions[%u] is not a name of 1..63 bytes", index);
            return;
        }
        memcpy (name, str, len);
        name [len] = 0;
        kinds [index] = s_kind (self, name);
        if (!kinds [index]) {
            zeb_router_nack (request, ZEB_EOVERLOADED, "READY: more than %d action types", S_MAX_KINDS);
            return;
        }
    }
    worker_t *worker = s_worker_of (self, request);
    if (!worker) {
        worker = (worker_t *) zmalloc (sizeof (worker_t));
        assert (worker);
        worker->identity_size = zmq_msg_size (&request->identity);
        if (worker->identity_size > sizeof (worker->identity))
            worker->identity_size = sizeof (worker->identity);
        memcpy (worker->identity, zmq_msg_data (&request->identity), worker->identity_size);
        s_worker_id (worker->identity, worker->identity_size, worker->id);
        zhashx_insert (self->worker_map, worker->id, worker);
    }
    else
        s_worker_detach (self, worker);
    worker->seen_ms = s_now_ms ();
    worker->credit = (size_t) credit;
    const char *name;
    size_t name_len;
    if (zeb_proto_get_str (request->body, request->body_size, "name", &name, &name_len) == 0)
        snprintf (worker->name, sizeof (worker->name), "%.*s", (int) (name_len > 63? 63: name_len), name);
    for (uint32_t index = 0; index < count; index++) {
        kind_t *kind = kinds [index];
        if (kind->worker_count < sizeof (kind->workers) / sizeof (kind->workers [0])) {
            kind->workers [kind->worker_count++] = worker;
            worker->kinds [worker->kind_count++] = kind;
        }
    }
    for (uint32_t index = 0; index < worker->kind_count; index++)
        s_dispatch (self, worker->kinds [index]);
}

static void
s_handle_result (void *owner, zeb_request_t *request)
{
    self_t *self = (self_t *) owner;
    worker_t *worker = s_worker_of (self, request);
    const char *id, *status;
    size_t id_len, status_len;
    if (zeb_proto_get_str (request->body, request->body_size, "id", &id, &id_len) != 0
    ||  zeb_proto_get_str (request->body, request->body_size, "status", &status, &status_len) != 0
    ||  id_len >= 96) {
        self->bad_results++;
        zeb_router_nack (request, ZEB_EINVALID, "RESULT needs id and status (ok, retry or fail)");
        return;
    }
    zeb_job_status_t outcome;
    if (status_len == 2 && memcmp (status, "ok", 2) == 0)
        outcome = ZEB_JOB_OK;
    else
    if (status_len == 5 && memcmp (status, "retry", 5) == 0)
        outcome = ZEB_JOB_RETRY;
    else
    if (status_len == 4 && memcmp (status, "fail", 4) == 0)
        outcome = ZEB_JOB_FAIL;
    else {
        self->bad_results++;
        zeb_router_nack (request, ZEB_EINVALID, "RESULT status must be ok, retry or fail");
        return;
    }
    char job [96];
    memcpy (job, id, id_len);
    job [id_len] = 0;
    item_t *item = (item_t *) zhashx_lookup (self->jobs, job);
    if (!item || item->worker != worker) {
        //  Its lease expired, or we restarted: it was or will be tried again
        self->stale_results++;
        if (worker && worker->in_flight)
            worker->in_flight--;
        if (worker)
            for (uint32_t index = 0; index < worker->kind_count; index++)
                s_dispatch (self, worker->kinds [index]);
        return;
    }
    char error [ZEB_EXECUTOR_MAX_ERROR + 1] = "";
    const char *text;
    size_t text_len;
    if (zeb_proto_get_str (request->body, request->body_size, "error", &text, &text_len) == 0)
        zeb_router_escape (text, text_len, error, sizeof (error));
    int64_t code = 0, retry_after = 0;
    zeb_proto_get_int (request->body, request->body_size, "code", &code);
    zeb_proto_get_int (request->body, request->body_size, "retryAfterMs", &retry_after);
    if (retry_after < 0 || retry_after > 86400000LL * 7)
        retry_after = 0;
    bool gone = false;
    zeb_proto_get_bool (request->body, request->body_size, "gone", &gone);
    const uint8_t *result = NULL;
    size_t result_size = 0;
    zeb_mpk_t value;
    if (zeb_mpk_find (request->body, request->body_size, "result", &value) == 0)
        zeb_mpk_skip (&value, &result, &result_size);
    if (outcome != ZEB_JOB_OK && !*error)
        snprintf (error, sizeof (error), "%s", outcome == ZEB_JOB_FAIL? "failed": "failed, may work later");
    s_attempt_ended (self, item, outcome, false, (int) code, error, result, result_size,
                     retry_after, gone && outcome == ZEB_JOB_FAIL);
    for (uint32_t index = 0; worker && index < worker->kind_count; index++)
        s_dispatch (self, worker->kinds [index]);
}

static void
s_handle_ping (void *owner, zeb_request_t *request)
{
    self_t *self = (self_t *) owner;
    worker_t *worker = s_worker_of (self, request);
    msgpack_sbuffer *buffer = zeb_router_buffer (self->workers);
    zeb_pack_t pack;
    zeb_pack_init (&pack, buffer);
    zeb_pack_map (&pack, NULL);
    zeb_pack_bool (&pack, "known", worker != NULL);
    zeb_pack_end (&pack);
    zeb_router_reply_buffer (request, "PONG", buffer);
}

static void
s_handle_bye (void *owner, zeb_request_t *request)
{
    self_t *self = (self_t *) owner;
    worker_t *worker = s_worker_of (self, request);
    if (worker)
        s_worker_gone (self, worker, "worker left");
}

static const zeb_router_command_t s_worker_commands [] = {
    { "READY",  s_handle_ready, 0 },
    { "RESULT", s_handle_result, 0 },
    { "PING",   s_handle_ping, 0 },
    { "BYE",    s_handle_bye, 0 },
    { NULL }
};

static void
s_worker_destructor (void **worker_p)
{
    free (*worker_p);
    *worker_p = NULL;
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
    msgpack_sbuffer record;
    msgpack_sbuffer_init (&record);
    int rc = 0;
    for (item_t *item = (item_t *) zlistx_first (self->dirty); item && !rc;
         item = (item_t *) zlistx_next (self->dirty)) {
        msgpack_sbuffer_clear (&record);
        if (zeb_run_encode (item->run, &record)) {
            rc = ZEB_ERROR;
            break;
        }
        MDB_val key = { ZEB_RUN_ID_SIZE, item->run->id }, value = { record.size, record.data };
        rc = mdb_put (txn, self->dbs [S_RUNS], &key, &value, 0);
    }
    msgpack_sbuffer_destroy (&record);
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

static void
s_reply_destroy (reply_t **reply_p)
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

static void
s_commit (self_t *self)
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
            s_reply_destroy (&reply);
        }
        //  Dropped fresh items leave the dirty list
        item_t *item = (item_t *) zlistx_first (self->dirty);
        while (item) {
            item_t *next = (item_t *) zlistx_next (self->dirty);
            if (item->where == S_FINISHED && !zlistx_find (self->finished, item)) {
                zlistx_delete (self->dirty, zlistx_cursor (self->dirty));
                s_item_free (item);
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
        s_op_destroy (&op);
    item_t *item;
    while ((item = (item_t *) zlistx_detach (self->finished, NULL))) {
        if (item->timers == 0)
            s_item_free (item);         //  else the last timer frees it
    }
    //  Acknowledge, then start what was acknowledged
    while ((reply = (reply_t *) zlistx_detach (self->replies, NULL))) {
        zeb_router_reply (reply->request, reply->command, reply->body.data, reply->body.size);
        for (item_t *fresh = (item_t *) zlistx_first (reply->items); fresh;
             fresh = (item_t *) zlistx_next (reply->items))
            if (fresh->fresh) {
                fresh->fresh = false;
                s_advance (self, fresh);
            }
        s_reply_destroy (&reply);
    }
    //  Starting may have finished runs (no actions) or changed some: next turn
}

//  ---------------------------------------------------------------------
//  Requests

static void
s_handle_enqueue (void *owner, zeb_request_t *request)
{
    self_t *self = (self_t *) owner;
    zeb_mpk_t runs;
    uint32_t count;
    if (zeb_mpk_find (request->body, request->body_size, "runs", &runs)
    ||  zeb_mpk_read_array (&runs, &count) || count == 0) {
        self->refused++;
        zeb_router_nack (request, ZEB_EINVALID, "ENQUEUE needs runs: an array of 1..%" PRId64 " runs",
                         self->max_enqueue);
        return;
    }
    if (count > self->max_enqueue) {
        self->refused++;
        zeb_router_nack (request, ZEB_ETOOBIG, "%u runs: ENQUEUE takes at most %" PRId64, count, self->max_enqueue);
        return;
    }
    if ((int64_t) (zhashx_size (self->items) + count) > self->max_runs) {
        self->refused++;
        zeb_router_nack (request, ZEB_EOVERLOADED, "outbox holds %zu unfinished runs (outbox/max_runs %" PRId64 ")",
                         zhashx_size (self->items), self->max_runs);
        return;
    }
    //  A producer's cursor, stored with its runs: enqueue and cursor become
    //  durable together, so a producer restarted from its cursor enqueues
    //  nothing twice and misses nothing
    char cursor [160] = "";
    uint64_t position = 0;
    zeb_mpk_t found;
    if (zeb_mpk_find (request->body, request->body_size, "cursor", &found) == 0) {
        const uint8_t *span;
        size_t span_size;
        const char *name;
        size_t name_len;
        if (zeb_mpk_skip (&found, &span, &span_size)
        ||  zeb_proto_get_str (span, span_size, "name", &name, &name_len) != 0
        ||  name_len == 0 || name_len > 128
        ||  zeb_proto_get_uint (span, span_size, "position", &position) != 0) {
            self->refused++;
            zeb_router_nack (request, ZEB_EINVALID, "cursor must be {name: 1..128 bytes, position: uint}");
            return;
        }
        snprintf (cursor, sizeof (cursor), "cursor/%.*s", (int) name_len, name);
    }
    //  Parse every run first: one bad run refuses the request
    zeb_run_t **parsed = (zeb_run_t **) zmalloc (count * sizeof (zeb_run_t *));
    assert (parsed);
    for (uint32_t index = 0; index < count; index++) {
        const uint8_t *span;
        size_t span_size;
        zeb_fault_t fault = { 0 };
        if (zeb_mpk_skip (&runs, &span, &span_size) == 0)
            parsed [index] = zeb_run_parse (span, span_size, &self->policy, &fault);
        if (!parsed [index]) {
            self->refused++;
            zeb_router_nack_with (request, fault.code? fault.code: ZEB_EMALFORMED, index, NULL, 0, 0,
                                  fault.text);
            for (uint32_t other = 0; other < index; other++)
                zeb_run_destroy (&parsed [other]);
            free (parsed);
            return;
        }
    }
    reply_t *reply = (reply_t *) zmalloc (sizeof (reply_t));
    assert (reply);
    msgpack_sbuffer_init (&reply->body);
    reply->items = zlistx_new ();
    zeb_pack_t pack;
    zeb_pack_init (&pack, &reply->body);
    zeb_pack_map (&pack, NULL);
    zeb_pack_array (&pack, "ids");
    for (uint32_t index = 0; index < count; index++)
        zeb_pack_str (&pack, NULL, parsed [index]->hex);
    zeb_pack_end (&pack);
    zeb_pack_array (&pack, "new");
    MDB_txn *txn = NULL;
    zeb_lmdb_read_begin (self->lmdb, &txn);
    int64_t now = zeb_time_now ();
    for (uint32_t index = 0; index < count; index++) {
        zeb_run_t *run = parsed [index];
        bool known = zhashx_lookup (self->items, run->hex) != NULL;
        if (!known && txn) {
            MDB_val key = { ZEB_RUN_ID_SIZE, run->id }, value;
            known = mdb_get (txn, self->dbs [S_RUNS], &key, &value) == 0;
        }
        zeb_pack_bool (&pack, NULL, !known);
        if (known) {
            self->duplicates++;
            zeb_run_destroy (&run);
            continue;
        }
        run->created = run->updated = now;
        item_t *item = (item_t *) zmalloc (sizeof (item_t));
        assert (item);
        item->run = run;
        item->fresh = true;
        zhashx_insert (self->items, run->hex, item);
        s_dirty (self, item);
        zlistx_add_end (reply->items, item);
        self->enqueued++;
    }
    if (txn)
        zeb_lmdb_read_end (self->lmdb, txn);
    free (parsed);
    if (*cursor) {
        uint8_t stored [8];
        s_be64 (stored, position);
        s_op (self, S_META, cursor, strlen (cursor), stored, sizeof (stored));
    }
    zeb_pack_end (&pack);
    zeb_pack_end (&pack);
    reply->request = zeb_router_keep_reply (request);
    reply->command = "ENQUEUED";
    zlistx_add_end (self->replies, reply);
}

//  Answer with what buffer holds once the turn's changes are stored
static void
s_reply_after_commit (self_t *self, zeb_request_t *request, const char *command, msgpack_sbuffer *buffer)
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
static zeb_run_t *
s_load (self_t *self, const char *hex)
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

static int
s_request_id (zeb_request_t *request, char *hex)
{
    const char *id;
    size_t len;
    if (zeb_proto_get_str (request->body, request->body_size, "id", &id, &len) != 0
    ||  len != 2 * ZEB_RUN_ID_SIZE)
        return -1;
    for (size_t index = 0; index < len; index++) {
        if (!isxdigit ((unsigned char) id [index]))
            return -1;
        hex [index] = (char) tolower ((unsigned char) id [index]);
    }
    hex [len] = 0;
    return 0;
}

static void
s_handle_run (void *owner, zeb_request_t *request)
{
    self_t *self = (self_t *) owner;
    char hex [2 * ZEB_RUN_ID_SIZE + 1];
    if (s_request_id (request, hex)) {
        zeb_router_nack (request, ZEB_EINVALID, "RUN needs id: a run id of 32 hex digits");
        return;
    }
    item_t *item = (item_t *) zhashx_lookup (self->items, hex);
    zeb_run_t *loaded = item? NULL: s_load (self, hex);
    zeb_run_t *run = item? item->run: loaded;
    if (!run) {
        zeb_router_nack (request, ZEB_ENOTFOUND, "no run %s", hex);
        return;
    }
    msgpack_sbuffer *buffer = zeb_router_buffer (self->router);
    zeb_pack_t pack;
    zeb_pack_init (&pack, buffer);
    zeb_run_describe (run, &pack, NULL);
    zeb_router_reply_buffer (request, "RUN", buffer);
    zeb_run_destroy (&loaded);
}

//  ---------------------------------------------------------------------
//  Dead letters

typedef struct {
    char origin [129];
    char type [256];
    int64_t since, until;
    uint64_t limit;
    uint8_t after [8 + ZEB_RUN_ID_SIZE];
    bool has_after;
    bool by_id;
    char id [2 * ZEB_RUN_ID_SIZE + 1];
} filter_t;

static int
s_filter_parse (zeb_request_t *request, filter_t *filter, uint64_t limit_default, uint64_t limit_max)
{
    memset (filter, 0, sizeof (*filter));
    filter->until = INT64_MAX;
    filter->limit = limit_default;
    const char *text;
    size_t len;
    if (zeb_proto_get_str (request->body, request->body_size, "id", &text, &len) == 0) {
        if (s_request_id (request, filter->id))
            return zeb_router_nack (request, ZEB_EINVALID, "id is not a run id of 32 hex digits");
        filter->by_id = true;
    }
    int rc = zeb_proto_get_str (request->body, request->body_size, "origin", &text, &len);
    if (rc == 0 && len < sizeof (filter->origin))
        snprintf (filter->origin, sizeof (filter->origin), "%.*s", (int) len, text);
    else
    if (rc != 1)
        return zeb_router_nack (request, ZEB_EINVALID, "origin must be a string of at most 128 bytes");
    rc = zeb_proto_get_str (request->body, request->body_size, "type", &text, &len);
    if (rc == 0 && len < sizeof (filter->type))
        snprintf (filter->type, sizeof (filter->type), "%.*s", (int) len, text);
    else
    if (rc != 1)
        return zeb_router_nack (request, ZEB_EINVALID, "type must be a type prefix of at most 255 bytes");
    if (zeb_proto_get_int (request->body, request->body_size, "since", &filter->since) < 0
    ||  zeb_proto_get_int (request->body, request->body_size, "until", &filter->until) < 0
    ||  zeb_proto_get_uint (request->body, request->body_size, "limit", &filter->limit) < 0
    ||  filter->limit == 0 || filter->limit > limit_max)
        return zeb_router_nack (request, ZEB_EINVALID, "since and until are ms, limit 1..%" PRIu64, limit_max);
    rc = zeb_proto_get_str (request->body, request->body_size, "after", &text, &len);
    if (rc == 0 && zeb_run_unhex (text, len, filter->after, sizeof (filter->after)) == 0)
        filter->has_after = true;
    else
    if (rc != 1)
        return zeb_router_nack (request, ZEB_EINVALID, "after is the next of a DLQ reply");
    return 0;
}

static bool
s_filter_match (filter_t *filter, zeb_run_t *run)
{
    if (*filter->origin && !streq (filter->origin, run->origin))
        return false;
    if (*filter->type && strncmp (run->event_type, filter->type, strlen (filter->type)) != 0)
        return false;
    return run->dead_at >= filter->since && run->dead_at <= filter->until;
}

//  fn may take the run (and null *run_p); it returns true if it counts
typedef bool (dlq_fn) (self_t *self, zeb_run_t **run_p, const uint8_t *key, void *arg);

//  Call fn for each dead run matching the filter, oldest first, at most
//  limit, looking at 100,000 at most; next (may be NULL) gets the last
//  key looked at, the page's end, if there may be more (else ""). The
//  next page starts after it. Returns the number of runs fn accepted.
static size_t
s_dlq_scan (self_t *self, filter_t *filter, dlq_fn *fn, void *arg, char *next)
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
        s_be64 (start, (uint64_t) (filter->since > 0? filter->since: 0));
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
        if ((int64_t) s_read_be64 (key.mv_data) > filter->until)
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

static void
s_pack_dead (zeb_pack_t *pack, zeb_run_t *run)
{
    zeb_action_t *action = NULL;
    for (uint32_t index = 0; index < run->action_count; index++)
        if (run->actions [index].state == ZEB_ACTION_FAILED) {
            action = &run->actions [index];
            break;
        }
    zeb_pack_str (pack, "id", run->hex);
    zeb_pack_str (pack, "origin", run->origin);
    zeb_pack_map (pack, "event");
    zeb_pack_str (pack, "id", run->event_id);
    zeb_pack_str (pack, "type", run->event_type);
    zeb_pack_uint (pack, "sequence", run->sequence);
    zeb_pack_end (pack);
    zeb_pack_str (pack, "reason", run->reason);
    zeb_pack_str (pack, "error", run->error);
    zeb_pack_str (pack, "action", action? action->type: "");
    zeb_pack_uint (pack, "attempts", action? action->attempts: 0);
    zeb_pack_str (pack, "target", run->dead_target);
    zeb_pack_int (pack, "at", run->dead_at);
}

static bool
s_list_one (self_t *self, zeb_run_t **run_p, const uint8_t *key, void *arg)
{
    zeb_pack_t *pack = (zeb_pack_t *) arg;
    zeb_pack_map (pack, NULL);
    s_pack_dead (pack, *run_p);
    zeb_pack_end (pack);
    return true;
}

static void
s_handle_dlq_list (void *owner, zeb_request_t *request)
{
    self_t *self = (self_t *) owner;
    filter_t filter;
    if (s_filter_parse (request, &filter, 100, 1000))
        return;
    msgpack_sbuffer *buffer = zeb_router_buffer (self->router);
    zeb_pack_t pack;
    zeb_pack_init (&pack, buffer);
    zeb_pack_map (&pack, NULL);
    zeb_pack_array (&pack, "items");
    char next [2 * (8 + ZEB_RUN_ID_SIZE) + 1];
    s_dlq_scan (self, &filter, s_list_one, &pack, next);
    zeb_pack_end (&pack);
    if (*next)
        zeb_pack_str (&pack, "next", next);
    zeb_pack_end (&pack);
    zeb_router_reply_buffer (request, "DLQ", buffer);
}

static void
s_handle_dlq_show (void *owner, zeb_request_t *request)
{
    self_t *self = (self_t *) owner;
    char hex [2 * ZEB_RUN_ID_SIZE + 1];
    if (s_request_id (request, hex)) {
        zeb_router_nack (request, ZEB_EINVALID, "DLQ_SHOW needs id: a run id of 32 hex digits");
        return;
    }
    zeb_run_t *run = zhashx_lookup (self->items, hex)? NULL: s_load (self, hex);
    if (!run || run->state != ZEB_RUN_DEAD) {
        zeb_router_nack (request, ZEB_ENOTFOUND, "no dead letter %s", hex);
        zeb_run_destroy (&run);
        return;
    }
    msgpack_sbuffer *buffer = zeb_router_buffer (self->router);
    zeb_pack_t pack;
    zeb_pack_init (&pack, buffer);
    zeb_pack_map (&pack, NULL);
    s_pack_dead (&pack, run);
    zeb_run_describe (run, &pack, "run");
    zeb_pack_end (&pack);
    zeb_router_reply_buffer (request, "DEAD", buffer);
    zeb_run_destroy (&run);
}

//  Back to the queue: failed and skipped actions again, attempts reset
static void
s_replay_run (self_t *self, zeb_run_t *run, const uint8_t *dlq_key, const char *replay_id)
{
    s_op (self, S_DLQ, dlq_key, 8 + ZEB_RUN_ID_SIZE, NULL, 0);
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
    s_dirty (self, item);
    self->replayed++;
    s_advance (self, item);
}


//  Runs collected from the DLQ, with their DLQ keys
typedef struct {
    zeb_run_t *run;
    uint8_t key [8 + ZEB_RUN_ID_SIZE];
} dead_t;

static bool
s_collect_one (self_t *self, zeb_run_t **run_p, const uint8_t *key, void *arg)
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

//  The dead runs a request names (id, or a filter), caller destroys the list
static zlistx_t *
s_collect (self_t *self, zeb_request_t *request, filter_t *filter)
{
    zlistx_t *list = zlistx_new ();
    if (filter->by_id) {
        zeb_run_t *run = zhashx_lookup (self->items, filter->id)? NULL: s_load (self, filter->id);
        if (run && run->state == ZEB_RUN_DEAD) {
            dead_t *dead = (dead_t *) zmalloc (sizeof (dead_t));
            assert (dead);
            s_be64 (dead->key, (uint64_t) run->updated);
            memcpy (dead->key + 8, run->id, ZEB_RUN_ID_SIZE);
            dead->run = run;
            zlistx_add_end (list, dead);
        }
        else
            zeb_run_destroy (&run);
    }
    else
        s_dlq_scan (self, filter, s_collect_one, list, NULL);
    return list;
}

static void
s_reply_count (self_t *self, zeb_request_t *request, const char *command, size_t count, const char *replay)
{
    msgpack_sbuffer *buffer = zeb_router_buffer (self->router);
    zeb_pack_t pack;
    zeb_pack_init (&pack, buffer);
    zeb_pack_map (&pack, NULL);
    zeb_pack_uint (&pack, "count", count);
    if (replay)
        zeb_pack_str (&pack, "replayId", replay);
    zeb_pack_end (&pack);
    s_reply_after_commit (self, request, command, buffer);
}

static void
s_handle_dlq_replay (void *owner, zeb_request_t *request)
{
    self_t *self = (self_t *) owner;
    filter_t filter;                    //  a filter replays all it matches, by default
    if (s_filter_parse (request, &filter, 100000, 100000))
        return;
    zlistx_t *list = s_collect (self, request, &filter);
    if (filter.by_id && zlistx_size (list) == 0) {
        zlistx_destroy (&list);
        zeb_router_nack (request, ZEB_ENOTFOUND, "no dead letter %s", filter.id);
        return;
    }
    size_t count = zlistx_size (list);
    char id [40] = "";
    if (count) {
        zeb_uuid_v7_str (id);
        replay_t *replay = (replay_t *) zmalloc (sizeof (replay_t));
        assert (replay);
        snprintf (replay->id, sizeof (replay->id), "%s", id);
        replay->count = replay->remaining = count;
        zhashx_insert (self->replays, id, replay);
        json_t *data = json_pack ("{s:s, s:I}", "replayId", id, "count", (json_int_t) count);
        char key [64];
        snprintf (key, sizeof (key), "replay-started-%s", id);
        s_publish (self, "zeb.replay.started", key, data);
    }
    dead_t *dead;
    while ((dead = (dead_t *) zlistx_detach (list, NULL))) {
        s_replay_run (self, dead->run, dead->key, id);
        free (dead);
    }
    zlistx_destroy (&list);
    s_reply_count (self, request, "REPLAYED", count, count? id: NULL);
}

static void
s_handle_dlq_purge (void *owner, zeb_request_t *request)
{
    self_t *self = (self_t *) owner;
    filter_t filter;
    if (s_filter_parse (request, &filter, 100000, 100000))
        return;
    zlistx_t *list = s_collect (self, request, &filter);
    if (filter.by_id && zlistx_size (list) == 0) {
        zlistx_destroy (&list);
        zeb_router_nack (request, ZEB_ENOTFOUND, "no dead letter %s", filter.id);
        return;
    }
    size_t count = zlistx_size (list);
    dead_t *dead;
    while ((dead = (dead_t *) zlistx_detach (list, NULL))) {
        s_op (self, S_DLQ, dead->key, sizeof (dead->key), NULL, 0);
        s_op (self, S_RUNS, dead->run->id, ZEB_RUN_ID_SIZE, NULL, 0);
        zeb_run_destroy (&dead->run);
        free (dead);
        self->purged++;
    }
    zlistx_destroy (&list);
    s_reply_count (self, request, "PURGED", count, NULL);
}

//  Targets that answered 410 take runs again
static void
s_handle_target_enable (void *owner, zeb_request_t *request)
{
    self_t *self = (self_t *) owner;
    const char *target;
    size_t len;
    if (zeb_proto_get_str (request->body, request->body_size, "target", &target, &len) != 0
    ||  len == 0 || len > 255) {
        zeb_router_nack (request, ZEB_EINVALID, "TARGET_ENABLE needs target (1..255 bytes)");
        return;
    }
    char name [256];
    memcpy (name, target, len);
    name [len] = 0;
    bool was_gone = zhashx_lookup (self->gone, name) != NULL;
    zhashx_delete (self->gone, name);
    s_op (self, S_META, name, len, NULL, 0);
    msgpack_sbuffer *buffer = zeb_router_buffer (self->router);
    zeb_pack_t pack;
    zeb_pack_init (&pack, buffer);
    zeb_pack_map (&pack, NULL);
    zeb_pack_bool (&pack, "wasGone", was_gone);
    zeb_pack_end (&pack);
    s_reply_after_commit (self, request, "ENABLED", buffer);
}

//  ---------------------------------------------------------------------
//  Execution logs

//  A log's place in its index, after origin (or type) NUL: time, run id
#define S_LOG_PLACE (8 + ZEB_RUN_ID_SIZE)

//  LOGS's before: absent (0, *place untouched), a time in ms (0, *place
//  gets it with no run id: *place_size 8), or the next of a LOGS reply,
//  the hex of a place (0, *place_size S_LOG_PLACE). -1 if neither.
static int
s_logs_before (zeb_request_t *request, uint8_t *place, size_t *place_size)
{
    int64_t before;
    int rc = zeb_proto_get_int (request->body, request->body_size, "before", &before);
    if (rc == 0)
        s_be64 (place, before < 0? 0: (uint64_t) before);
    if (rc >= 0)
        return 0;
    const char *text;
    size_t len;
    if (zeb_proto_get_str (request->body, request->body_size, "before", &text, &len) != 0
    ||  zeb_run_unhex (text, len, place, S_LOG_PLACE))
        return -1;
    *place_size = S_LOG_PLACE;
    return 0;
}

//  Newest first, strictly before place: a log's key is origin (or type)
//  NUL time id, so that paging by the place of the last entry handed out
//  neither repeats nor skips logs written in the same millisecond
static void
s_handle_logs (void *owner, zeb_request_t *request)
{
    self_t *self = (self_t *) owner;
    const char *origin = NULL, *type = NULL;
    size_t origin_len = 0, type_len = 0;
    int has_origin = zeb_proto_get_str (request->body, request->body_size, "origin", &origin, &origin_len);
    int has_type = zeb_proto_get_str (request->body, request->body_size, "type", &type, &type_len);
    uint64_t limit = 50;
    uint8_t place [S_LOG_PLACE];
    size_t place_size = 8;
    s_be64 (place, UINT64_MAX);             //  no before: from the newest
    if (has_origin < 0 || has_type < 0 || (has_origin == 0) == (has_type == 0)
    ||  origin_len > 128 || type_len > 255
    ||  zeb_proto_get_uint (request->body, request->body_size, "limit", &limit) < 0
    ||  limit == 0 || limit > 1000
    ||  s_logs_before (request, place, &place_size)) {
        zeb_router_nack (request, ZEB_EINVALID, "LOGS needs origin or type (one of them), "
                         "limit 1..1000, before (ms, or the next of a LOGS reply)");
        return;
    }
    const char *prefix = has_origin == 0? origin: type;
    size_t prefix_len = has_origin == 0? origin_len: type_len;
    MDB_dbi dbi = self->dbs [has_origin == 0? S_LOGS: S_LOGS_TYPE];
    uint8_t start [256 + S_LOG_PLACE];
    memcpy (start, prefix, prefix_len);
    start [prefix_len] = 0;
    memcpy (start + prefix_len + 1, place, place_size);
    msgpack_sbuffer *buffer = zeb_router_buffer (self->router);
    zeb_pack_t pack;
    zeb_pack_init (&pack, buffer);
    zeb_pack_map (&pack, NULL);
    zeb_pack_array (&pack, "items");
    MDB_txn *txn;
    bool more = false;
    uint8_t last [S_LOG_PLACE];             //  the place of the last entry handed out
    if (zeb_lmdb_read_begin (self->lmdb, &txn) == 0) {
        MDB_cursor *cursor;
        mdb_cursor_open (txn, dbi, &cursor);
        MDB_val key = { prefix_len + 1 + place_size, start }, value;
        int rc = mdb_cursor_get (cursor, &key, &value, MDB_SET_RANGE);
        rc = rc == 0? mdb_cursor_get (cursor, &key, &value, MDB_PREV):
                      mdb_cursor_get (cursor, &key, &value, MDB_LAST);
        uint64_t count = 0;
        for (; rc == 0; rc = mdb_cursor_get (cursor, &key, &value, MDB_PREV)) {
            if (key.mv_size != prefix_len + 1 + S_LOG_PLACE
            ||  memcmp (key.mv_data, prefix, prefix_len) != 0
            ||  ((uint8_t *) key.mv_data) [prefix_len] != 0)
                break;
            if (count == limit) {
                more = true;
                break;
            }
            memcpy (last, (uint8_t *) key.mv_data + prefix_len + 1, S_LOG_PLACE);
            MDB_val entry = value;
            if (has_type == 0 && mdb_get (txn, self->dbs [S_LOGS], &value, &entry))
                continue;
            zeb_pack_raw (&pack, NULL, entry.mv_data, entry.mv_size);
            count++;
        }
        mdb_cursor_close (cursor);
        zeb_lmdb_read_end (self->lmdb, txn);
    }
    zeb_pack_end (&pack);
    if (more) {
        char next [2 * S_LOG_PLACE + 1];
        zeb_run_hex (last, sizeof (last), next);
        zeb_pack_str (&pack, "next", next);
    }
    zeb_pack_end (&pack);
    zeb_router_reply_buffer (request, "LOGS", buffer);
}

static void
s_handle_cursor (void *owner, zeb_request_t *request)
{
    self_t *self = (self_t *) owner;
    const char *name;
    size_t name_len;
    if (zeb_proto_get_str (request->body, request->body_size, "name", &name, &name_len) != 0
    ||  name_len == 0 || name_len > 128) {
        zeb_router_nack (request, ZEB_EINVALID, "CURSOR needs name (1..128 bytes)");
        return;
    }
    char key [160];
    snprintf (key, sizeof (key), "cursor/%.*s", (int) name_len, name);
    uint64_t position = 0;
    MDB_txn *txn;
    if (zeb_lmdb_read_begin (self->lmdb, &txn) == 0) {
        MDB_val lookup = { strlen (key), key }, value;
        if (mdb_get (txn, self->dbs [S_META], &lookup, &value) == 0 && value.mv_size == 8)
            position = s_read_be64 (value.mv_data);
        zeb_lmdb_read_end (self->lmdb, txn);
    }
    msgpack_sbuffer *buffer = zeb_router_buffer (self->router);
    zeb_pack_t pack;
    zeb_pack_init (&pack, buffer);
    zeb_pack_map (&pack, NULL);
    zeb_pack_strn (&pack, "name", name, name_len);
    zeb_pack_uint (&pack, "position", position);
    zeb_pack_end (&pack);
    zeb_router_reply_buffer (request, "CURSOR", buffer);
}

static const zeb_router_command_t s_commands [] = {
    { "CURSOR",         s_handle_cursor, 0 },
    { "ENQUEUE",        s_handle_enqueue, 0 },
    { "RUN",            s_handle_run, 0 },
    { "DLQ_LIST",       s_handle_dlq_list, 0 },
    { "DLQ_SHOW",       s_handle_dlq_show, 0 },
    { "DLQ_REPLAY",     s_handle_dlq_replay, 0 },
    { "DLQ_PURGE",      s_handle_dlq_purge, 0 },
    { "LOGS",           s_handle_logs, 0 },
    { "TARGET_ENABLE",  s_handle_target_enable, 0 },
    { NULL }
};

//  ---------------------------------------------------------------------
//  Upkeep: redrive, retention, lost workers, runs without executors

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
    s_dlq_scan (self, &filter, s_collect_one, list, NULL);
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
static int64_t
s_redrive_step (self_t *self)
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
            zeb_run_t *run = zhashx_lookup (self->items, hex)? NULL: s_load (self, hex);
            if (run && run->state == ZEB_RUN_DEAD) {
                uint8_t key [8 + ZEB_RUN_ID_SIZE];
                s_be64 (key, (uint64_t) run->updated);
                memcpy (key + 8, run->id, ZEB_RUN_ID_SIZE);
                s_replay_run (self, run, key, "");
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

//  Delete what is older than its retention, a bounded number per call
static void
s_sweep (self_t *self)
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
        ||  (int64_t) s_read_be64 (key.mv_data) >= now - self->retention_ms)
            break;
        s_op (self, S_FINISHED_DB, key.mv_data, key.mv_size, NULL, 0);
        s_op (self, S_RUNS, (uint8_t *) key.mv_data + 8, ZEB_RUN_ID_SIZE, NULL, 0);
    }
    mdb_cursor_close (cursor);
    //  Logs, by age
    mdb_cursor_open (txn, self->dbs [S_LOGS_TIME], &cursor);
    for (int rc = mdb_cursor_get (cursor, &key, &value, MDB_FIRST); rc == 0 && budget;
         rc = mdb_cursor_get (cursor, &key, &value, MDB_NEXT), budget--) {
        if (key.mv_size != 8 + ZEB_RUN_ID_SIZE
        ||  (int64_t) s_read_be64 (key.mv_data) >= now - self->log_retention_ms)
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
                s_op (self, S_LOGS_TYPE, index, type_len + 9 + ZEB_RUN_ID_SIZE, NULL, 0);
            }
            const char *origin = (const char *) value.mv_data;
            uint64_t count = (uint64_t) (uintptr_t) zhashx_lookup (self->log_counts, origin);
            if (count)
                zhashx_update (self->log_counts, origin, (void *) (uintptr_t) (count - 1));
        }
        s_op (self, S_LOGS, value.mv_data, value.mv_size, NULL, 0);
        s_op (self, S_LOGS_TIME, key.mv_data, key.mv_size, NULL, 0);
    }
    mdb_cursor_close (cursor);
    //  Logs, by count per origin: the oldest of an origin over log_max
    mdb_cursor_open (txn, self->dbs [S_LOGS], &cursor);
    for (const char *origin = NULL; budget; ) {
        void *count_p = NULL;
        const char *over = NULL;
        for (count_p = zhashx_first (self->log_counts); count_p; count_p = zhashx_next (self->log_counts))
            if ((int64_t) (uintptr_t) count_p > self->log_max) {
                over = (const char *) zhashx_cursor (self->log_counts);
                break;
            }
        if (!over || over == origin)
            break;
        origin = over;
        uint64_t count = (uint64_t) (uintptr_t) count_p;
        size_t origin_len = strlen (origin);
        key = (MDB_val) { origin_len + 1, (void *) origin };
        for (int rc = mdb_cursor_get (cursor, &key, &value, MDB_SET_RANGE);
             rc == 0 && budget && (int64_t) count > self->log_max;
             rc = mdb_cursor_get (cursor, &key, &value, MDB_NEXT), budget--) {
            if (key.mv_size != origin_len + 9 + ZEB_RUN_ID_SIZE || memcmp (key.mv_data, origin, origin_len + 1))
                break;
            s_op (self, S_LOGS, key.mv_data, key.mv_size, NULL, 0);
            s_op (self, S_LOGS_TIME, (uint8_t *) key.mv_data + origin_len + 1, 8 + ZEB_RUN_ID_SIZE, NULL, 0);
            const char *type;
            size_t type_len;
            if (zeb_proto_get_str (value.mv_data, value.mv_size, "eventType", &type, &type_len) == 0
            &&  type_len < 256) {
                uint8_t index [300];
                memcpy (index, type, type_len);
                index [type_len] = 0;
                memcpy (index + type_len + 1, (uint8_t *) key.mv_data + origin_len + 1, 8 + ZEB_RUN_ID_SIZE);
                s_op (self, S_LOGS_TYPE, index, type_len + 9 + ZEB_RUN_ID_SIZE, NULL, 0);
            }
            count--;
        }
        zhashx_update (self->log_counts, origin, (void *) (uintptr_t) count);
    }
    mdb_cursor_close (cursor);
    zeb_lmdb_read_end (self->lmdb, txn);
}

//  Lanes and circuits that hold nothing are forgotten (a flow key per
//  customer must not grow memory for ever)
static void
s_collect_idle (self_t *self)
{
    zlistx_t *idle = zlistx_new ();
    for (lane_t *lane = (lane_t *) zhashx_first (self->lanes); lane; lane = (lane_t *) zhashx_next (self->lanes))
        if (!lane->head && !lane->in_flight && !lane->delayed && !lane->active
        &&  !lane->token_timer && !lane->fifo_busy)
            zlistx_add_end (idle, lane);
    if (zlistx_size (idle)) {
        for (circuit_t *circuit = (circuit_t *) zhashx_first (self->circuits); circuit;
             circuit = (circuit_t *) zhashx_next (self->circuits))
            for (lane_t *lane = (lane_t *) zlistx_first (idle); lane; lane = (lane_t *) zlistx_next (idle)) {
                void *handle = zlistx_find (circuit->parked, lane);
                if (handle)
                    zlistx_delete (circuit->parked, handle);
            }
        for (lane_t *lane = (lane_t *) zlistx_first (idle); lane; lane = (lane_t *) zlistx_next (idle))
            zhashx_delete (self->lanes, lane->name);
    }
    zlistx_purge (idle);
    for (circuit_t *circuit = (circuit_t *) zhashx_first (self->circuits); circuit;
         circuit = (circuit_t *) zhashx_next (self->circuits))
        if (circuit->state == S_CLOSED && circuit->failure_count == 0 && !circuit->probing
        &&  zlistx_size (circuit->parked) == 0 && zlistx_size (circuit->redrive) == 0)
            zlistx_add_end (idle, circuit);
    for (circuit_t *circuit = (circuit_t *) zlistx_first (idle); circuit; circuit = (circuit_t *) zlistx_next (idle))
        zhashx_delete (self->circuits, circuit->target);
    zlistx_destroy (&idle);
}

static void
s_upkeep (self_t *self)
{
    int64_t now = s_now_ms ();
    //  Workers silent too long
    zlistx_t *silent = zlistx_new ();
    for (worker_t *worker = (worker_t *) zhashx_first (self->worker_map); worker;
         worker = (worker_t *) zhashx_next (self->worker_map))
        if (now - worker->seen_ms > self->worker_expiry_ms)
            zlistx_add_end (silent, worker);
    for (worker_t *worker = (worker_t *) zlistx_first (silent); worker; worker = (worker_t *) zlistx_next (silent))
        s_worker_gone (self, worker, "worker silent");
    zlistx_destroy (&silent);
    //  Runs whose action type has had no executor for too long
    for (size_t index = 0; index < self->kind_count; index++) {
        kind_t *kind = self->kinds [index];
        if (kind->worker_count || kind->waiting == 0)
            continue;
        zlistx_t *late = zlistx_new ();
        for (lane_t *lane = (lane_t *) zhashx_first (self->lanes); lane; lane = (lane_t *) zhashx_next (self->lanes))
            if (lane->kind == kind)
                for (item_t *item = lane->head; item; item = item->next)
                    if (now - item->queued_ms > self->no_executor_ms)
                        zlistx_add_end (late, item);
        for (item_t *item = (item_t *) zlistx_first (late); item; item = (item_t *) zlistx_next (late)) {
            lane_t *lane = item->lane;
            s_lane_unlink (lane, item);
            item->where = S_NOWHERE;
            zeb_run_t *run = item->run;
            run->actions [run->current].state = ZEB_ACTION_FAILED;
            snprintf (run->error, sizeof (run->error), "no executor for action type %s", kind->name);
            snprintf (run->dead_target, sizeof (run->dead_target), "%s", run->actions [run->current].target);
            s_dead_letter (self, item, "NO_EXECUTOR");
            s_lane_check (self, lane);
        }
        zlistx_destroy (&late);
    }
    s_collect_idle (self);
    s_sweep (self);
}

static int s_handle_client (void *arg);

//  The node's own events, through ingest
static void
s_publish_pending (self_t *self)
{
    if (!self->client) {
        zeb_event_t *event;
        while ((event = (zeb_event_t *) zlistx_detach (self->publish, NULL))) {
            zeb_event_destroy (&event);
            self->events_dropped++;
        }
        return;
    }
    if (s_now_ms () < self->client_retry_ms)
        return;
    zeb_event_t *event;
    while ((event = (zeb_event_t *) zlistx_first (self->publish))) {
        if (zeb_client_pending (self->client) >= 1000)
            break;
        if (zeb_client_publish_async (self->client, event, NULL, NULL)) {
            self->client_retry_ms = s_now_ms () + 5000;     //  ingest unreachable: later
            break;
        }
        zlistx_detach (self->publish, NULL);
        zeb_event_destroy (&event);
        self->events_published++;
        if (!self->client_in_loop && zeb_client_socket (self->client)) {
            //  Connected: its acks are read by the loop from now on
            zeb_loop_add_socket (zeb_actor_loop (self->actor), zeb_client_socket (self->client),
                                 s_handle_client, self);
            self->client_in_loop = true;
        }
    }
}

static int
s_handle_client (void *arg)
{
    self_t *self = (self_t *) arg;
    zeb_client_poll (self->client, 0);
    return 0;
}

//  Timers due, then the turn's writes; returns the longest wait
static int
s_tick (void *arg)
{
    self_t *self = (self_t *) arg;
    int64_t now = s_now_ms ();
    while (self->heap_size && self->heap [0].due <= now) {
        timer_t_ timer = s_timer_pop (self);
        item_t *item = timer.item;
        if (timer.what == S_TIMER_TOKEN) {
            if (timer.lane) {
                timer.lane->token_timer = false;
                s_lane_check (self, timer.lane);
            }
            else            //  a circuit's recovery: let its lanes try
                for (circuit_t *circuit = (circuit_t *) zhashx_first (self->circuits); circuit;
                     circuit = (circuit_t *) zhashx_next (self->circuits))
                    if (circuit->state == S_OPEN && now - circuit->opened_ms >= self->recovery_ms)
                        s_circuit_release (self, circuit);
            continue;
        }
        item->timers--;
        if (item->where == S_FINISHED) {
            if (item->timers == 0 && !item->dirty)
                s_item_free (item);
            continue;
        }
        if (timer.gen != item->gen)
            continue;
        if (timer.what == S_TIMER_DUE && item->where == S_DELAYED) {
            lane_t *lane = item->lane;
            lane->delayed--;
            if (lane->fifo)
                lane->fifo_busy = false;        //  it goes first again
            s_lane_push (self, lane, item, lane->fifo);
            s_lane_check (self, lane);
        }
        else
        if (timer.what == S_TIMER_LEASE && item->where == S_IN_FLIGHT) {
            self->leases_lost++;
            s_attempt_ended (self, item, ZEB_JOB_RETRY, true, 0, "lease expired: no result within the timeout",
                             NULL, 0, 0, false);
        }
    }
    if (now >= self->next_sweep_ms) {
        self->next_sweep_ms = now + 1000;
        s_upkeep (self);
    }
    int64_t redrive_wait = s_redrive_step (self);
    s_commit (self);
    s_publish_pending (self);
    int64_t wait = self->heap_size? self->heap [0].due - s_now_ms (): 1000;
    if (redrive_wait >= 0 && redrive_wait < wait)
        wait = redrive_wait;
    if (self->next_sweep_ms - now < wait)
        wait = self->next_sweep_ms - now;
    if (zlistx_size (self->publish) && self->client)
        wait = wait > 100? 100: wait;
    return wait < 0? 0: (int) wait;
}

//  ---------------------------------------------------------------------
//  The actor

static int
s_handle_front (void *arg)
{
    self_t *self = (self_t *) arg;
    return zeb_router_handle (self->router, 256);
}

static int
s_handle_workers (void *arg)
{
    self_t *self = (self_t *) arg;
    return zeb_router_handle (self->workers, 1024);
}

static int
s_handle_workers_notify (void *arg)
{
    self_t *self = (self_t *) arg;
    return zeb_router_handle_notify (self->workers);
}

//  Runs that were unfinished when the node stopped: due again now
static int
s_recover (self_t *self)
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
        s_advance (self, item);
    zlistx_destroy (&pending);
    return 0;
}

static void
s_stop (void *state)
{
    self_t *self = (self_t *) state;
    //  Executors first: they say BYE while we still listen? No: stop them,
    //  their jobs are lost attempts, retried after a restart.
    for (size_t index = 0; index < self->executor_count; index++)
        zactor_destroy (&self->executors [index]);
    if (self->lmdb && self->dirty)
        s_commit (self);
    zeb_client_destroy (&self->client);
    if (self->publish) {
        zeb_event_t *event;
        while ((event = (zeb_event_t *) zlistx_detach (self->publish, NULL)))
            zeb_event_destroy (&event);
        zlistx_destroy (&self->publish);
    }
    if (self->replies) {
        reply_t *reply;
        while ((reply = (reply_t *) zlistx_detach (self->replies, NULL)))
            s_reply_destroy (&reply);
        zlistx_destroy (&self->replies);
    }
    if (self->ops) {
        op_t *op;
        while ((op = (op_t *) zlistx_detach (self->ops, NULL)))
            s_op_destroy (&op);
        zlistx_destroy (&self->ops);
    }
    //  Items are owned by the items hash, or by the finished list
    if (self->finished) {
        item_t *item;
        while ((item = (item_t *) zlistx_detach (self->finished, NULL))) {
            if (item->timers == 0)
                s_item_free (item);
        }
        zlistx_destroy (&self->finished);
    }
    zlistx_destroy (&self->dirty);
    if (self->items) {
        //  Items in hand (finished ones left with the finished list)
        for (item_t *item = (item_t *) zhashx_first (self->items); item;
             item = (item_t *) zhashx_next (self->items)) {
            if (item->timers)
                item->where = S_FINISHED;   //  freed with the heap below
            else
                s_item_free (item);
        }
        zhashx_destroy (&self->items);
    }
    zhashx_destroy (&self->jobs);
    zhashx_destroy (&self->lanes);
    zhashx_destroy (&self->circuits);
    zhashx_destroy (&self->worker_map);
    zhashx_destroy (&self->gone);
    zhashx_destroy (&self->log_counts);
    zhashx_destroy (&self->replays);
    for (size_t index = 0; index < self->kind_count; index++)
        free (self->kinds [index]);
    //  Finished items with timers left are freed with the heap
    for (size_t index = 0; index < self->heap_size; index++) {
        item_t *item = self->heap [index].item;
        if (item && item->where == S_FINISHED && --item->timers == 0)
            s_item_free (item);
    }
    free (self->heap);
    zeb_router_destroy (&self->router);
    zeb_router_destroy (&self->workers);
    zeb_lmdb_close (&self->lmdb);
    msgpack_sbuffer_destroy (&self->scratch);
}

static void
s_free_destructor (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

static int
s_start_executors (self_t *self, zconfig_t *config, const char *endpoint, zeb_fault_t *fault);

static int
s_start (void *state, zeb_actor_t *actor, zconfig_t *config, zeb_fault_t *fault)
{
    self_t *self = (self_t *) state;
    self->actor = actor;
    msgpack_sbuffer_init (&self->scratch);
    int64_t retries = 0, factor = 2;
    bool flag = false;
    zeb_config_int (config, "outbox/max_retries", &retries);
    self->policy.max_attempts = (uint32_t) retries + 1;
    zeb_config_duration (config, "outbox/backoff", &self->policy.backoff_ms);
    zeb_config_bool (config, "outbox/exponential_backoff", &flag);
    self->policy.exponential = flag;
    zeb_config_int (config, "outbox/backoff_factor", &factor);
    self->policy.factor = (uint32_t) factor;
    zeb_config_duration (config, "outbox/max_backoff", &self->policy.max_backoff_ms);
    zeb_config_bool (config, "outbox/backoff_jitter", &flag);
    self->policy.jitter = flag;
    zeb_config_duration (config, "outbox/timeout", &self->policy.timeout_ms);
    zeb_config_duration (config, "outbox/lease_grace", &self->lease_grace_ms);
    zeb_config_duration (config, "outbox/worker_expiry", &self->worker_expiry_ms);
    zeb_config_bool (config, "outbox/circuit", &self->circuits_on);
    zeb_config_int (config, "outbox/circuit_threshold", &self->threshold);
    zeb_config_duration (config, "outbox/circuit_window", &self->window_ms);
    zeb_config_duration (config, "outbox/circuit_recovery", &self->recovery_ms);
    zeb_config_bool (config, "outbox/redrive", &self->redrive_on);
    zeb_config_int (config, "outbox/redrive_rate", &self->redrive_rate);
    zeb_config_duration (config, "outbox/no_executor_timeout", &self->no_executor_ms);
    zeb_config_int (config, "outbox/max_runs", &self->max_runs);
    zeb_config_int (config, "outbox/max_enqueue", &self->max_enqueue);
    zeb_config_duration (config, "outbox/retention", &self->retention_ms);
    zeb_config_duration (config, "outbox/log_retention", &self->log_retention_ms);
    zeb_config_int (config, "outbox/log_max", &self->log_max);
    uint64_t max_size = 0;
    zeb_config_size (config, "outbox/max_size", &max_size);

    self->items = zhashx_new ();
    self->jobs = zhashx_new ();
    self->lanes = zhashx_new ();
    zhashx_set_destructor (self->lanes, s_free_destructor);
    self->circuits = zhashx_new ();
    zhashx_set_destructor (self->circuits, s_circuit_destructor);
    self->worker_map = zhashx_new ();
    zhashx_set_destructor (self->worker_map, s_worker_destructor);
    self->gone = zhashx_new ();
    self->log_counts = zhashx_new ();
    self->replays = zhashx_new ();
    zhashx_set_destructor (self->replays, s_free_destructor);
    self->dirty = zlistx_new ();
    self->finished = zlistx_new ();
    self->replies = zlistx_new ();
    self->ops = zlistx_new ();
    self->publish = zlistx_new ();

    zeb_lmdb_options_t options = { 16 << 20, max_size,
        { "runs", "dlq", "logs", "logs_type", "logs_time", "finished", "meta", NULL } };
    char *path = zsys_sprintf ("%s/outbox", zeb_config_str (config, "node/data"));
    self->lmdb = zeb_lmdb_open (path, &options, fault);
    zstr_free (&path);
    if (!self->lmdb)
        goto failed;
    for (int index = 0; index < S_DB_COUNT; index++)
        self->dbs [index] = zeb_lmdb_dbi (self->lmdb, index);

    self->router = zeb_actor_router (actor, s_commands, self);
    if (!self->router || zeb_router_bind (self->router, zeb_config_str (config, "outbox/endpoint"), fault))
        goto failed;
    self->workers = zeb_router_new ("outbox-workers", s_worker_commands, self);
    if (self->workers)      //  the workers' credit bounds what is queued to them
        zsock_set_sndhwm (zeb_router_socket (self->workers), 0);
    if (!self->workers
    ||  zeb_router_set_notify (self->workers, s_workers_gone, self)
    ||  zeb_router_bind (self->workers, zeb_config_str (config, "outbox/workers"), fault))
        goto failed;
    //  The node's own executors connect over inproc
    char *inproc = zeb_actor_inproc ("outbox-workers");
    if (zsock_bind (zeb_router_socket (self->workers), "%s", inproc) == -1) {
        zeb_fault_set (fault, ZEB_ECONFIG, "outbox: cannot bind %s", inproc);
        zstr_free (&inproc);
        goto failed;
    }
    zeb_loop_t *loop = zeb_actor_loop (actor);
    zeb_loop_add_socket (loop, zeb_router_socket (self->router), s_handle_front, self);
    zeb_loop_add_socket (loop, zeb_router_socket (self->workers), s_handle_workers, self);
    if (zeb_router_notify_socket (self->workers))
        zeb_loop_add_socket (loop, zeb_router_notify_socket (self->workers), s_handle_workers_notify, self);
    const char *ingest = zeb_config_str (config, "outbox/ingest");
    if (*ingest) {
        self->client = zeb_client_new (ingest);
        if (!self->client) {
            zeb_fault_set (fault, ZEB_ECONFIG, "outbox: outbox/ingest %s is not an endpoint", ingest);
            zstr_free (&inproc);
            goto failed;
        }
        zeb_client_set_timeout (self->client, 1000);
    }
    if (s_recover (self)) {
        zeb_fault_set (fault, ZEB_ESTORAGE, "outbox: cannot read its store");
        zstr_free (&inproc);
        goto failed;
    }
    if (s_start_executors (self, config, inproc, fault)) {
        zstr_free (&inproc);
        goto failed;
    }
    zstr_free (&inproc);
    zeb_loop_set_tick (loop, s_tick, self);
    zeb_actor_bound (actor, "outbox", zeb_router_endpoint (self->router));
    zeb_actor_bound (actor, "workers", zeb_router_endpoint (self->workers));
    zeb_info ("outbox: %s, workers on %s", zeb_router_endpoint (self->router),
              zeb_router_endpoint (self->workers));
    return 0;
failed:
    return fault->code? fault->code: ZEB_ERROR;
}

static void
s_stats (void *state, zeb_pack_t *pack)
{
    self_t *self = (self_t *) state;
    zeb_pack_uint (pack, "runs", zhashx_size (self->items));
    zeb_pack_uint (pack, "in_flight", zhashx_size (self->jobs));
    zeb_pack_uint (pack, "enqueued", self->enqueued);
    zeb_pack_uint (pack, "duplicates", self->duplicates);
    zeb_pack_uint (pack, "refused", self->refused);
    zeb_pack_uint (pack, "dispatched", self->dispatched);
    zeb_pack_uint (pack, "succeeded", self->succeeded);
    zeb_pack_uint (pack, "retried", self->retried);
    zeb_pack_uint (pack, "failed", self->failed);
    zeb_pack_uint (pack, "leases_lost", self->leases_lost);
    zeb_pack_uint (pack, "dead", self->dead);
    zeb_pack_uint (pack, "gone_dead", self->gone_dead);
    zeb_pack_uint (pack, "replayed", self->replayed);
    zeb_pack_uint (pack, "redriven", self->redriven);
    zeb_pack_uint (pack, "purged", self->purged);
    zeb_pack_uint (pack, "deferred_open", self->deferred_open);
    zeb_pack_uint (pack, "commits", self->commits);
    zeb_pack_uint (pack, "commit_failures", self->commit_failures);
    zeb_pack_uint (pack, "stale_results", self->stale_results);
    zeb_pack_uint (pack, "bad_results", self->bad_results);
    zeb_pack_uint (pack, "logs_written", self->logs_written);
    zeb_pack_uint (pack, "events_published", self->events_published);
    zeb_pack_uint (pack, "events_dropped", self->events_dropped);
    zeb_pack_uint (pack, "map_size", zeb_lmdb_map_size (self->lmdb));
    zeb_pack_map (pack, "actions");
    for (size_t index = 0; index < self->kind_count; index++) {
        kind_t *kind = self->kinds [index];
        zeb_pack_map (pack, kind->name);
        zeb_pack_uint (pack, "workers", kind->worker_count);
        zeb_pack_uint (pack, "waiting", kind->waiting);
        zeb_pack_end (pack);
    }
    zeb_pack_end (pack);
    zeb_pack_map (pack, "circuits");
    static const char *states [] = { "closed", "open", "half_open" };
    for (circuit_t *circuit = (circuit_t *) zhashx_first (self->circuits); circuit;
         circuit = (circuit_t *) zhashx_next (self->circuits)) {
        if (circuit->state == S_CLOSED && circuit->opens == 0)
            continue;
        zeb_pack_map (pack, circuit->target);
        zeb_pack_str (pack, "state", states [circuit->state]);
        zeb_pack_uint (pack, "opens", circuit->opens);
        zeb_pack_uint (pack, "closes", circuit->closes);
        zeb_pack_uint (pack, "redrive_pending", zlistx_size (circuit->redrive));
        zeb_pack_end (pack);
    }
    zeb_pack_end (pack);
    zeb_pack_uint (pack, "gone_targets", zhashx_size (self->gone));
    zeb_router_pack_stats (self->router, pack);
}

static const zeb_actor_link_t s_links [] = {
    { "outbox/ingest", "ingest" },
    { "emit_event/ingest", "ingest" },      //  its executor's
    { NULL }
};

const zeb_actor_def_t zeb_outbox_def = {
    "outbox", "durable runs: actions performed with retries, circuits, flow control, DLQ", true,
    zeb_outbox_config, s_links, sizeof (self_t), s_start, s_stop, s_stats, NULL
};

//  The built-in executors named by outbox/executors, each in its own
//  host thread, connected to the workers ROUTER over inproc
static int
s_start_executors (self_t *self, zconfig_t *config, const char *endpoint, zeb_fault_t *fault)
{
    char *names = strdup (zeb_config_str (config, "outbox/executors"));
    assert (names);
    int rc = 0;
    char *save = NULL;
    for (char *name = strtok_r (names, ", ", &save); name && rc == 0; name = strtok_r (NULL, ", ", &save)) {
        const zeb_executor_def_t *def = zeb_executor_lookup (name);
        if (!def) {
            rc = zeb_fault_set (fault, ZEB_ECONFIG, "outbox/executors: no executor '%s'", name);
            break;
        }
        if (self->executor_count == sizeof (self->executors) / sizeof (self->executors [0])) {
            rc = zeb_fault_set (fault, ZEB_ECONFIG, "outbox/executors: more than 16");
            break;
        }
        zeb_executor_args_t args = { def, endpoint, NULL, NULL, NULL, 0 };
        self->executors [self->executor_count] = zeb_executor_start (&args, config, fault);
        if (!self->executors [self->executor_count]) {
            rc = fault->code? fault->code: ZEB_ECONFIG;
            break;
        }
        self->executor_count++;
    }
    free (names);
    return rc;
}

//  ---------------------------------------------------------------------
//  Self test: the actor alone, with a worker played by the test over the
//  worker protocol (tests/outbox_test.c runs it with real executors)

static void
s_test_send (zsock_t *socket, const char *command, const char *json)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    int rc = zeb_json_pack_text (json, strlen (json), &buffer, NULL);
    assert (rc == 0);
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, command);
    zmsg_addmem (msg, buffer.data, buffer.size);
    zmsg_send (&msg, socket);
    msgpack_sbuffer_destroy (&buffer);
}

//  The next message (command into command), its body as JSON; NULL on timeout
static json_t *
s_test_recv (zsock_t *socket, char *command, int timeout_ms)
{
    zsock_set_rcvtimeo (socket, timeout_ms);
    zmsg_t *msg = zmsg_recv (socket);
    if (!msg)
        return NULL;
    char *name = zmsg_popstr (msg);
    snprintf (command, 32, "%s", name);
    zstr_free (&name);
    zframe_t *frame = zmsg_pop (msg);
    json_t *json = zeb_json_from_msgpack (zframe_data (frame), zframe_size (frame), NULL);
    assert (json);
    zframe_destroy (&frame);
    zmsg_destroy (&msg);
    return json;
}

static json_t *
s_test_call (zsock_t *client, const char *command, const char *json, const char *expected)
{
    s_test_send (client, command, json);
    char got [32];
    json_t *reply = s_test_recv (client, got, 5000);
    assert (reply);
    if (!streq (got, expected)) {
        char *text = json_dumps (reply, JSON_COMPACT);
        fprintf (stderr, "%s %s: expected %s, got %s %s\n", command, json, expected, got, text);
        free (text);
    }
    assert (streq (got, expected));
    return reply;
}

//  The worker's next JOB, or NULL within timeout_ms
static json_t *
s_test_job (zsock_t *worker, int timeout_ms)
{
    char command [32];
    json_t *job = s_test_recv (worker, command, timeout_ms);
    while (job && !streq (command, "JOB")) {
        json_decref (job);
        job = s_test_recv (worker, command, timeout_ms);
    }
    return job;
}

static void
s_test_result (zsock_t *worker, json_t *job, const char *status, const char *extra)
{
    char json [512];
    snprintf (json, sizeof (json), "{\"id\":\"%s\",\"status\":\"%s\"%s%s}",
              json_string_value (json_object_get (job, "id")), status, extra? ",": "", extra? extra: "");
    s_test_send (worker, "RESULT", json);
}

static zactor_t *
s_test_start (const char *dir, const char *extra [], char *endpoint, char *workers)
{
    zconfig_t *config = zconfig_new ("root", NULL);
    zconfig_put (config, "node/data", dir);
    zconfig_put (config, "outbox/executors", "");
    char *name = zeb_actor_inproc ("outbox-test");
    zconfig_put (config, "outbox/endpoint", name);
    zstr_free (&name);
    name = zeb_actor_inproc ("outbox-test-workers");
    zconfig_put (config, "outbox/workers", name);
    zstr_free (&name);
    zconfig_put (config, "outbox/backoff", "10ms");
    zconfig_put (config, "outbox/backoff_jitter", "false");
    for (size_t index = 0; extra && extra [index]; index += 2)
        zconfig_put (config, extra [index], extra [index + 1]);
    zactor_t *outbox = zactor_new (zeb_actor_main, (void *) &zeb_outbox_def);
    zhashx_t *endpoints = zhashx_new ();
    zhashx_set_destructor (endpoints, (zhashx_destructor_fn *) zstr_free);
    zhashx_set_duplicator (endpoints, (zhashx_duplicator_fn *) strdup);
    zeb_fault_t fault;
    int rc = zeb_actor_start (outbox, config, endpoints, &fault);
    if (rc)
        fprintf (stderr, "outbox: %s\n", fault.text);
    assert (rc == 0);
    snprintf (endpoint, 128, "%s", (char *) zhashx_lookup (endpoints, "outbox"));
    snprintf (workers, 128, "%s", (char *) zhashx_lookup (endpoints, "workers"));
    zhashx_destroy (&endpoints);
    zconfig_destroy (&config);
    return outbox;
}

static const char *
s_test_state (zsock_t *client, const char *id)
{
    static char state [32];
    char json [128];
    snprintf (json, sizeof (json), "{\"id\":\"%s\"}", id);
    json_t *run = s_test_call (client, "RUN", json, "RUN");
    snprintf (state, sizeof (state), "%s", json_string_value (json_object_get (run, "state")));
    json_decref (run);
    return state;
}

#define S_TEST_EVENT(id) "{\"id\":\"" id "\",\"type\":\"order.placed\",\"source\":\"shop\",\"sequence\":1}"

void
zeb_outbox_test (bool verbose)
{
    printf (" * zeb_outbox: ");
    char dir [] = "/tmp/zeb-outbox-test-XXXXXX";
    assert (mkdtemp (dir));
    const char *extra [] = { "outbox/circuit_threshold", "3", "outbox/circuit_recovery", "300ms",
                             "outbox/lease_grace", "0", NULL };
    char endpoint [128], workers [128];
    zactor_t *outbox = s_test_start (dir, extra, endpoint, workers);
    zsock_t *client = zsock_new_dealer (endpoint);
    zsock_t *worker = zsock_new_dealer (workers);
    assert (client && worker);

    //  Stored once: the same run enqueued twice
    const char *run = "{\"runs\":[{\"origin\":\"rule-1\",\"event\":" S_TEST_EVENT ("e-1") ","
                      "\"actions\":[{\"type\":\"t.a\",\"config\":{\"n\":1}},{\"type\":\"t.a\",\"config\":{\"n\":2}}]}]}";
    json_t *reply = s_test_call (client, "ENQUEUE", run, "ENQUEUED");
    char id [33];
    snprintf (id, sizeof (id), "%s", json_string_value (json_array_get (json_object_get (reply, "ids"), 0)));
    char expected [33];
    zeb_outbox_run_id ("rule-1", "e-1", expected);
    assert (streq (id, expected));
    assert (json_is_true (json_array_get (json_object_get (reply, "new"), 0)));
    json_decref (reply);
    reply = s_test_call (client, "ENQUEUE", run, "ENQUEUED");
    assert (json_is_false (json_array_get (json_object_get (reply, "new"), 0)));
    json_decref (reply);
    assert (streq (s_test_state (client, id), "pending"));

    //  A worker comes: the actions go in order, each with its stable key
    s_test_send (worker, "READY", "{\"actions\":[\"t.a\"],\"credit\":4,\"name\":\"test\"}");
    json_t *job = s_test_job (worker, 5000);
    assert (job);
    char key [64];
    snprintf (key, sizeof (key), "%s-0", id);
    assert (streq (json_string_value (json_object_get (job, "key")), key));
    assert (json_integer_value (json_object_get (json_object_get (job, "config"), "n")) == 1);
    assert (json_integer_value (json_object_get (job, "attempt")) == 1);
    assert (streq (json_string_value (json_object_get (json_object_get (job, "event"), "id")), "e-1"));
    //  The second waits for the first
    assert (s_test_job (worker, 50) == NULL);
    s_test_result (worker, job, "ok", "\"result\":{\"status\":200}");
    json_decref (job);
    job = s_test_job (worker, 5000);
    assert (job && json_integer_value (json_object_get (json_object_get (job, "config"), "n")) == 2);
    s_test_result (worker, job, "ok", NULL);
    json_decref (job);
    int64_t deadline = zeb_time_mono_us () / 1000 + 5000;
    while (!streq (s_test_state (client, id), "done"))
        assert (zeb_time_mono_us () / 1000 < deadline);
    reply = s_test_call (client, "LOGS", "{\"origin\":\"rule-1\"}", "LOGS");
    json_t *entry = json_array_get (json_object_get (reply, "items"), 0);
    assert (json_array_size (json_object_get (reply, "items")) == 1);
    assert (streq (json_string_value (json_object_get (entry, "status")), "success"));
    assert (json_array_size (json_object_get (entry, "actionsExecuted")) == 2);
    json_decref (reply);
    reply = s_test_call (client, "LOGS", "{\"type\":\"order.placed\"}", "LOGS");
    assert (json_array_size (json_object_get (reply, "items")) == 1);
    json_decref (reply);

    //  A producer's cursor goes with its runs
    run = "{\"cursor\":{\"name\":\"feed-1\",\"position\":42},\"runs\":[{\"origin\":\"rule-1\",\"event\":"
          S_TEST_EVENT ("e-1") ",\"actions\":[{\"type\":\"t.a\"}]}]}";
    reply = s_test_call (client, "ENQUEUE", run, "ENQUEUED");
    assert (json_is_false (json_array_get (json_object_get (reply, "new"), 0)));
    json_decref (reply);
    reply = s_test_call (client, "CURSOR", "{\"name\":\"feed-1\"}", "CURSOR");
    assert (json_integer_value (json_object_get (reply, "position")) == 42);
    json_decref (reply);
    reply = s_test_call (client, "CURSOR", "{\"name\":\"feed-2\"}", "CURSOR");
    assert (json_integer_value (json_object_get (reply, "position")) == 0);
    json_decref (reply);
    json_decref (s_test_call (client, "ENQUEUE", "{\"cursor\":{\"name\":\"x\"},\"runs\":[]}", "NACK"));

    //  Retries with the same key, then the DLQ; a replay starts over
    run = "{\"runs\":[{\"origin\":\"rule-2\",\"event\":" S_TEST_EVENT ("e-2") ","
          "\"actions\":[{\"type\":\"t.a\",\"target\":\"other\",\"retryPolicy\":{\"maxAttempts\":3}}]}]}";
    reply = s_test_call (client, "ENQUEUE", run, "ENQUEUED");
    snprintf (id, sizeof (id), "%s", json_string_value (json_array_get (json_object_get (reply, "ids"), 0)));
    json_decref (reply);
    for (int attempt = 1; attempt <= 3; attempt++) {
        job = s_test_job (worker, 5000);
        assert (job && json_integer_value (json_object_get (job, "attempt")) == attempt);
        snprintf (key, sizeof (key), "%s-0", id);
        assert (streq (json_string_value (json_object_get (job, "key")), key));
        s_test_result (worker, job, "retry", "\"error\":\"HTTP 503\",\"code\":503");
        json_decref (job);
    }
    deadline = zeb_time_mono_us () / 1000 + 5000;
    while (!streq (s_test_state (client, id), "dead"))
        assert (zeb_time_mono_us () / 1000 < deadline);
    reply = s_test_call (client, "DLQ_LIST", "{\"origin\":\"rule-2\"}", "DLQ");
    entry = json_array_get (json_object_get (reply, "items"), 0);
    assert (json_array_size (json_object_get (reply, "items")) == 1);
    assert (streq (json_string_value (json_object_get (entry, "reason")), "RETRIES_EXHAUSTED"));
    assert (streq (json_string_value (json_object_get (entry, "error")), "HTTP 503"));
    assert (json_integer_value (json_object_get (entry, "attempts")) == 3);
    json_decref (reply);
    char body [128];
    snprintf (body, sizeof (body), "{\"id\":\"%s\"}", id);
    reply = s_test_call (client, "DLQ_SHOW", body, "DEAD");
    assert (json_array_size (json_object_get (json_array_get (json_object_get (json_object_get (reply, "run"),
            "actions"), 0), "attempts")) == 3);
    json_decref (reply);
    reply = s_test_call (client, "DLQ_REPLAY", body, "REPLAYED");
    assert (json_integer_value (json_object_get (reply, "count")) == 1);
    json_decref (reply);
    job = s_test_job (worker, 5000);
    assert (job && json_integer_value (json_object_get (job, "attempt")) == 1);
    s_test_result (worker, job, "ok", NULL);
    json_decref (job);
    deadline = zeb_time_mono_us () / 1000 + 5000;
    while (!streq (s_test_state (client, id), "done"))
        assert (zeb_time_mono_us () / 1000 < deadline);
    reply = s_test_call (client, "DLQ_LIST", "{}", "DLQ");
    assert (json_array_size (json_object_get (reply, "items")) == 0);
    json_decref (reply);

    //  continueOnError false: a failure skips the rest; purge
    run = "{\"runs\":[{\"origin\":\"rule-3\",\"event\":" S_TEST_EVENT ("e-3") ",\"continueOnError\":false,"
          "\"actions\":[{\"type\":\"t.a\",\"target\":\"third\"},{\"type\":\"t.a\",\"target\":\"third\"}]}]}";
    reply = s_test_call (client, "ENQUEUE", run, "ENQUEUED");
    snprintf (id, sizeof (id), "%s", json_string_value (json_array_get (json_object_get (reply, "ids"), 0)));
    json_decref (reply);
    job = s_test_job (worker, 5000);
    s_test_result (worker, job, "fail", "\"error\":\"HTTP 400\",\"code\":400");
    json_decref (job);
    assert (s_test_job (worker, 100) == NULL);
    deadline = zeb_time_mono_us () / 1000 + 5000;
    while (!streq (s_test_state (client, id), "dead"))
        assert (zeb_time_mono_us () / 1000 < deadline);
    snprintf (body, sizeof (body), "{\"id\":\"%s\"}", id);
    reply = s_test_call (client, "DLQ_SHOW", body, "DEAD");
    assert (streq (json_string_value (json_object_get (reply, "reason")), "FAILED"));
    json_t *actions = json_object_get (json_object_get (reply, "run"), "actions");
    assert (streq (json_string_value (json_object_get (json_array_get (actions, 1), "state")), "skipped"));
    json_decref (reply);
    reply = s_test_call (client, "LOGS", "{\"origin\":\"rule-3\"}", "LOGS");
    entry = json_array_get (json_object_get (reply, "items"), 0);
    assert (streq (json_string_value (json_object_get (entry, "status")), "failed"));
    json_decref (reply);
    reply = s_test_call (client, "DLQ_PURGE", body, "PURGED");
    assert (json_integer_value (json_object_get (reply, "count")) == 1);
    json_decref (reply);
    reply = s_test_call (client, "RUN", body, "NACK");
    assert (streq (json_string_value (json_object_get (reply, "reason")), "NOT_FOUND"));
    json_decref (reply);

    //  A lease that runs out is a lost attempt: the job comes again
    run = "{\"runs\":[{\"origin\":\"rule-4\",\"event\":" S_TEST_EVENT ("e-4") ","
          "\"actions\":[{\"type\":\"t.a\",\"target\":\"fourth\",\"retryPolicy\":{\"timeout\":50}}]}]}";
    json_decref (s_test_call (client, "ENQUEUE", run, "ENQUEUED"));
    job = s_test_job (worker, 5000);
    assert (job && json_integer_value (json_object_get (job, "attempt")) == 1);
    json_t *again = s_test_job (worker, 5000);
    assert (again && json_integer_value (json_object_get (again, "attempt")) == 2);
    //  The late result of the first attempt is ignored
    s_test_result (worker, job, "ok", NULL);
    s_test_result (worker, again, "ok", NULL);
    json_decref (job);
    json_decref (again);

    //  Circuit: three failures open it; the next run waits without spending
    //  attempts; after the recovery one probe goes, and success closes it
    //  and redrives the run that died of it
    run = "{\"runs\":[{\"origin\":\"c\",\"event\":" S_TEST_EVENT ("c-1") ","
          "\"actions\":[{\"type\":\"t.a\",\"target\":\"flaky\",\"retryPolicy\":{\"maxAttempts\":1}}]},"
          "{\"origin\":\"c\",\"event\":" S_TEST_EVENT ("c-2") ","
          "\"actions\":[{\"type\":\"t.a\",\"target\":\"flaky\",\"retryPolicy\":{\"maxAttempts\":1}}]},"
          "{\"origin\":\"c\",\"event\":" S_TEST_EVENT ("c-3") ","
          "\"actions\":[{\"type\":\"t.a\",\"target\":\"flaky\",\"retryPolicy\":{\"maxAttempts\":1}}]}]}";
    json_decref (s_test_call (client, "ENQUEUE", run, "ENQUEUED"));
    for (int count = 0; count < 3; count++) {
        job = s_test_job (worker, 5000);
        assert (job);
        s_test_result (worker, job, "retry", "\"error\":\"down\"");
        json_decref (job);
    }
    run = "{\"runs\":[{\"origin\":\"c\",\"event\":" S_TEST_EVENT ("c-4") ","
          "\"actions\":[{\"type\":\"t.a\",\"target\":\"flaky\"}]}]}";
    json_decref (s_test_call (client, "ENQUEUE", run, "ENQUEUED"));
    int64_t open_at = zeb_time_mono_us ();
    job = s_test_job (worker, 5000);
    assert (job);
    //  It came only after the recovery time, as attempt 1
    assert (zeb_time_mono_us () - open_at >= 250000);
    assert (json_integer_value (json_object_get (job, "attempt")) == 1);
    s_test_result (worker, job, "ok", NULL);
    json_decref (job);
    //  The three dead runs are redriven
    for (int count = 0; count < 3; count++) {
        job = s_test_job (worker, 5000);
        assert (job);
        s_test_result (worker, job, "ok", NULL);
        json_decref (job);
    }
    deadline = zeb_time_mono_us () / 1000 + 5000;
    while (true) {
        reply = s_test_call (client, "DLQ_LIST", "{\"origin\":\"c\"}", "DLQ");
        size_t left = json_array_size (json_object_get (reply, "items"));
        json_decref (reply);
        if (left == 0)
            break;
        assert (zeb_time_mono_us () / 1000 < deadline);
    }

    //  Flow control: at most 2 in flight for key k, and another key is
    //  not held up by it
    s_test_send (worker, "READY", "{\"actions\":[\"t.a\",\"t.c\"],\"credit\":10}");
    run = "{\"runs\":["
          "{\"origin\":\"f\",\"event\":" S_TEST_EVENT ("k-1") ",\"actions\":[{\"type\":\"t.c\",\"key\":\"k\",\"concurrency\":2}]},"
          "{\"origin\":\"f\",\"event\":" S_TEST_EVENT ("k-2") ",\"actions\":[{\"type\":\"t.c\",\"key\":\"k\",\"concurrency\":2}]},"
          "{\"origin\":\"f\",\"event\":" S_TEST_EVENT ("k-3") ",\"actions\":[{\"type\":\"t.c\",\"key\":\"k\",\"concurrency\":2}]}]}";
    json_decref (s_test_call (client, "ENQUEUE", run, "ENQUEUED"));
    json_t *first = s_test_job (worker, 5000);
    json_t *second = s_test_job (worker, 5000);
    assert (first && second);
    assert (s_test_job (worker, 100) == NULL);
    run = "{\"runs\":[{\"origin\":\"f\",\"event\":" S_TEST_EVENT ("o-1") ",\"actions\":[{\"type\":\"t.c\",\"key\":\"other\"}]}]}";
    json_decref (s_test_call (client, "ENQUEUE", run, "ENQUEUED"));
    job = s_test_job (worker, 5000);
    assert (job && streq (json_string_value (json_object_get (json_object_get (job, "event"), "id")), "o-1"));
    s_test_result (worker, job, "ok", NULL);
    json_decref (job);
    s_test_result (worker, first, "ok", NULL);
    job = s_test_job (worker, 5000);
    assert (job && streq (json_string_value (json_object_get (json_object_get (job, "event"), "id")), "k-3"));
    s_test_result (worker, job, "ok", NULL);
    s_test_result (worker, second, "ok", NULL);
    json_decref (job);
    json_decref (first);
    json_decref (second);

    //  Rate: 10 per second with a burst of 1: four runs take 300 ms at least
    run = "{\"runs\":["
          "{\"origin\":\"r\",\"event\":" S_TEST_EVENT ("r-1") ",\"actions\":[{\"type\":\"t.c\",\"key\":\"r\",\"rate\":10,\"burst\":1}]},"
          "{\"origin\":\"r\",\"event\":" S_TEST_EVENT ("r-2") ",\"actions\":[{\"type\":\"t.c\",\"key\":\"r\",\"rate\":10,\"burst\":1}]},"
          "{\"origin\":\"r\",\"event\":" S_TEST_EVENT ("r-3") ",\"actions\":[{\"type\":\"t.c\",\"key\":\"r\",\"rate\":10,\"burst\":1}]},"
          "{\"origin\":\"r\",\"event\":" S_TEST_EVENT ("r-4") ",\"actions\":[{\"type\":\"t.c\",\"key\":\"r\",\"rate\":10,\"burst\":1}]}]}";
    json_decref (s_test_call (client, "ENQUEUE", run, "ENQUEUED"));
    int64_t times [4];
    for (int count = 0; count < 4; count++) {
        job = s_test_job (worker, 5000);
        assert (job);
        times [count] = zeb_time_mono_us ();
        s_test_result (worker, job, "ok", NULL);
        json_decref (job);
    }
    for (int count = 1; count < 4; count++)
        assert (times [count] - times [count - 1] >= 80000);

    //  FIFO: the second run of key q waits until the first, retried, is done
    run = "{\"runs\":["
          "{\"origin\":\"q\",\"event\":" S_TEST_EVENT ("q-1") ",\"actions\":[{\"type\":\"t.c\",\"key\":\"q\",\"fifo\":true}]},"
          "{\"origin\":\"q\",\"event\":" S_TEST_EVENT ("q-2") ",\"actions\":[{\"type\":\"t.c\",\"key\":\"q\",\"fifo\":true}]}]}";
    json_decref (s_test_call (client, "ENQUEUE", run, "ENQUEUED"));
    const char *order [][2] = { { "q-1", "retry" }, { "q-1", "ok" }, { "q-2", "ok" } };
    for (int count = 0; count < 3; count++) {
        job = s_test_job (worker, 5000);
        assert (job);
        const char *event_id = json_string_value (json_object_get (json_object_get (job, "event"), "id"));
        if (!streq (event_id, order [count][0]))
            fprintf (stderr, "FIFO: job %d is %s, expected %s\n", count, event_id, order [count][0]);
        assert (streq (event_id, order [count][0]));
        s_test_result (worker, job, order [count][1], NULL);
        json_decref (job);
    }

    //  Refusals name the run and the field; the outbox goes on serving
    reply = s_test_call (client, "ENQUEUE", "{\"runs\":[{\"origin\":\"o\",\"event\":" S_TEST_EVENT ("x")
                         ",\"actions\":[{\"type\":\"t.a\"}]},{\"origin\":\"o\"}]}", "NACK");
    assert (json_integer_value (json_object_get (reply, "index")) == 1);
    json_decref (reply);
    json_decref (s_test_call (client, "ENQUEUE", "{\"runs\":5}", "NACK"));
    json_decref (s_test_call (client, "RUN", "{\"id\":\"nothex\"}", "NACK"));
    json_decref (s_test_call (client, "LOGS", "{}", "NACK"));
    s_test_send (worker, "RESULT", "{\"id\":\"no-such-job\",\"status\":\"ok\"}");
    s_test_send (worker, "RESULT", "{\"status\":\"maybe\"}");
    char command [32];
    json_t *nack = s_test_recv (worker, command, 5000);
    assert (nack && streq (command, "NACK"));
    json_decref (nack);
    s_test_send (worker, "PING", "{}");
    json_t *pong = s_test_recv (worker, command, 5000);
    assert (pong && streq (command, "PONG") && json_is_true (json_object_get (pong, "known")));
    json_decref (pong);

    //  A run with no executor waits, and is still there after a restart
    run = "{\"runs\":[{\"origin\":\"later\",\"event\":" S_TEST_EVENT ("l-1") ",\"actions\":[{\"type\":\"t.b\"}]}]}";
    reply = s_test_call (client, "ENQUEUE", run, "ENQUEUED");
    snprintf (id, sizeof (id), "%s", json_string_value (json_array_get (json_object_get (reply, "ids"), 0)));
    json_decref (reply);
    zsock_destroy (&worker);
    zsock_destroy (&client);
    zactor_destroy (&outbox);
    outbox = s_test_start (dir, extra, endpoint, workers);
    client = zsock_new_dealer (endpoint);
    worker = zsock_new_dealer (workers);
    assert (streq (s_test_state (client, id), "pending"));
    s_test_send (worker, "READY", "{\"actions\":[\"t.b\"],\"credit\":1}");
    job = s_test_job (worker, 5000);
    assert (job && streq (json_string_value (json_object_get (job, "run")), id));
    s_test_result (worker, job, "ok", NULL);
    json_decref (job);
    deadline = zeb_time_mono_us () / 1000 + 5000;
    while (!streq (s_test_state (client, id), "done"))
        assert (zeb_time_mono_us () / 1000 < deadline);

    zsock_destroy (&worker);
    zsock_destroy (&client);
    zactor_destroy (&outbox);
    zsys_dir_delete (dir);      //  the directory's files go with it below
    char *command_line = zsys_sprintf ("rm -rf %s", dir);
    int rc = system (command_line);
    assert (rc == 0);
    zstr_free (&command_line);
    printf ("OK\n");
}
