/*  =========================================================================
    zeb_outbox_int - the outbox actor's private model, shared by its files

    Not a public header: only actors/zeb_outbox*.c include it. The actor is
    one thread that owns one self_t; every function here runs on that
    thread, takes self (where it has one) and never blocks but for LMDB.
    (The committer thread of zeb_outbox_store.c is the one exception: it
    sees only the batches handed to it.) The files, along the actor's
    seams:

      zeb_outbox.c        the actor: configuration, start/stop, STATS, the
                          loop's tick, the worker protocol, ENQUEUE, upkeep
      zeb_outbox_sched.c  scheduling: the timer heap, kinds, lanes, circuits,
                          dispatch, a run's life (advance, attempts, dead
                          letters), replay and redrive
      zeb_outbox_store.c  LMDB: the turn's writes, the committer thread that
                          stores them, execution logs, the DLQ index,
                          retention, recovery
      zeb_outbox_admin.c  the read and admin verbs: RUN, DLQ_*, LOGS, CURSOR,
                          TARGET_ENABLE (and the endpoint's command table)
      zeb_outbox_test.c   the self-test

    Names: what one file calls in another is zeb_outbox_*, declared here;
    the rest stays static (s_*) in its file.
    =========================================================================
*/

#ifndef ZEB_OUTBOX_INT_H_INCLUDED
#define ZEB_OUTBOX_INT_H_INCLUDED

#include "zeb_actors.h"

//  Indexes of the store's databases, and their names in that order
enum { S_RUNS, S_DLQ, S_LOGS, S_LOGS_TYPE, S_LOGS_TIME, S_FINISHED_DB, S_META, S_DB_COUNT };
#define ZEB_OUTBOX_DBS "runs", "dlq", "logs", "logs_type", "logs_time", "finished", "meta"

#define S_LANE_KEY_MAX  (64 + 1 + 256)
#define S_MAX_KINDS     64
#define S_MAX_WORKER_ACTIONS 32

typedef struct _item_t item_t;
typedef struct _lane_t lane_t;
typedef struct _kind_t kind_t;
typedef struct _worker_t worker_t;
typedef struct _circuit_t circuit_t;
typedef struct _self_t self_t;
typedef struct _batch_t batch_t;
typedef struct _committer_t committer_t;

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
    bool dropped;               //  fresh, and its ENQUEUE refused: to free
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
    zhashx_t *settling;         //  hex id -> item finished, not yet stored
    committer_t *committer;     //  the thread that commits the turns' writes
    batch_t *writing;           //  the batch it has, or NULL
    batch_t *spare;             //  the last one, kept for its buffers
    batch_t *parked;            //  stored, not yet acted on (settle_quiet)
    int64_t handed_ms;          //  when the last batch was handed over
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
    int64_t upkeep_ms;          //  outbox/upkeep_interval
    int64_t next_sweep_ms;
    uint64_t job_counter;
    msgpack_sbuffer scratch;
    //  Counters
    uint64_t enqueued, duplicates, refused, dispatched, succeeded, retried, failed;
    uint64_t leases_lost, dead, replayed, purged, redriven, deferred_open, gone_dead;
    uint64_t commits, commit_failures, stale_results, bad_results, logs_written;
    uint64_t events_published, events_dropped;
};

//  One write of the turn, key and value copied into the same block
typedef struct {
    int db;
    void *key;
    size_t key_size;
    void *value;                //  NULL: delete
    size_t value_size;
    uint8_t data [];            //  key, then value
} op_t;

typedef struct {
    zeb_request_t *request;
    const char *command;        //  the reply's
    msgpack_sbuffer body;
    zlistx_t *items;            //  the fresh items this reply acknowledges
} reply_t;

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

//  fn may take the run (and null *run_p); it returns true if it counts
typedef bool (dlq_fn) (self_t *self, zeb_run_t **run_p, const uint8_t *key, void *arg);

//  Runs collected from the DLQ, with their DLQ keys
typedef struct {
    zeb_run_t *run;
    uint8_t key [8 + ZEB_RUN_ID_SIZE];
} dead_t;

//  ---------------------------------------------------------------------
//  Small helpers

static inline void
zeb_outbox_be64 (uint8_t *out, uint64_t value)
{
    for (int index = 7; index >= 0; index--) {
        out [index] = (uint8_t) value;
        value >>= 8;
    }
}

static inline uint64_t
zeb_outbox_read_be64 (const uint8_t *in)
{
    uint64_t value = 0;
    for (int index = 0; index < 8; index++)
        value = (value << 8) | in [index];
    return value;
}

//  Monotonic ms: every timer, lease and circuit time
static inline int64_t
zeb_outbox_now_ms (void)
{
    return zeb_time_mono_us () / 1000;
}

//  Internal to the library: not exported from libzeb
#pragma GCC visibility push(hidden)

//  ---------------------------------------------------------------------
//  zeb_outbox_sched.c: scheduling and a run's life

//  The earliest timer, taken off the heap (the heap must not be empty).
//  An item's entry may be stale: compare its gen with the item's.
timer_t_
    zeb_outbox_timer_pop (self_t *self);

//  Free an item and its run: only once no timer points at it
void
    zeb_outbox_item_free (item_t *item);

//  The run changed: stamp it and write it at the end of the turn
void
    zeb_outbox_dirty (self_t *self, item_t *item);

//  The action type of that name, made if new; NULL past S_MAX_KINDS
kind_t *
    zeb_outbox_kind (self_t *self, const char *name);

//  zhashx destructor of self->circuits
void
    zeb_outbox_circuit_destructor (void **circuit_p);

//  Check again every lane the circuit held parked (recovery time passed)
void
    zeb_outbox_circuit_release (self_t *self, circuit_t *circuit);

//  Queue the item on the lane (at the front: a FIFO lane's retry)
void
    zeb_outbox_lane_push (self_t *self, lane_t *lane, item_t *item, bool front);

//  Take a queued item off its lane's queue
void
    zeb_outbox_lane_unlink (lane_t *lane, item_t *item);

//  Put the lane on its kind's active list if it can start its head now;
//  else off it, parked where what holds it will bring it back.
void
    zeb_outbox_lane_check (self_t *self, lane_t *lane);

//  JOBs to the kind's workers, from its active lanes in turn, while a
//  worker has credit
void
    zeb_outbox_dispatch (self_t *self, kind_t *kind);

//  Queue one of the node's own events (zeb.dead_letter, zeb.replay.*)
//  for ingest; takes data. Dropped (counted) past 10,000 waiting.
void
    zeb_outbox_publish (self_t *self, const char *type, const char *key, json_t *data);

//  The run's action in hand failed for good with reason: with
//  continueOnError and actions left the run goes on, else it dies (DLQ,
//  zeb.dead_letter) and finishes
void
    zeb_outbox_dead_letter (self_t *self, item_t *item, const char *reason);

//  Queue the run's action in hand, or finish the run
void
    zeb_outbox_advance (self_t *self, item_t *item);

//  An attempt ended (result, lost lease, gone worker)
void
    zeb_outbox_attempt_ended (self_t *self, item_t *item, zeb_job_status_t status, bool lost, int code,
        const char *error, const uint8_t *result, size_t result_size,
        int64_t retry_after_ms, bool gone);

//  Back to the queue: failed and skipped actions again, attempts reset
void
    zeb_outbox_replay_run (self_t *self, zeb_run_t *run, const uint8_t *dlq_key, const char *replay_id);

//  Slow start: redrive_rate runs per second, doubling every second
int64_t
    zeb_outbox_redrive_step (self_t *self);

//  ---------------------------------------------------------------------
//  zeb_outbox_store.c: the store

//  One more write of the turn (value NULL: delete key), copied; stored
//  with the dirty runs by zeb_outbox_commit
void
    zeb_outbox_op (self_t *self, int db, const void *key, size_t key_size, const void *value, size_t value_size);

void
    zeb_outbox_op_destroy (op_t **op_p);

//  The run's execution log entry (status success, failed or skipped) and
//  its two index entries, as writes of the turn; counted per origin
void
    zeb_outbox_write_log (self_t *self, zeb_run_t *run, const char *status);

void
    zeb_outbox_reply_destroy (reply_t **reply_p);

//  Hand the turn's writes to the committer: every dirty run (encoded
//  now) and every write, with the replies that wait for them and the
//  finished items to free after. Once the commit (and its sync) is done,
//  the loop answers the replies and starts the runs they acknowledged; if
//  it failed, the ENQUEUEs waiting are refused (their runs dropped) and
//  the rest is written again with the next batch. One batch is with the
//  committer at a time: what a turn writes while it is busy goes in the
//  next one, so the outbox goes on dispatching while a commit syncs.
void
    zeb_outbox_commit (self_t *self);

//  Ms until the loop should call zeb_outbox_commit again for writes that
//  wait (no reply among them: they go at most every 5 ms), -1 if none
int64_t
    zeb_outbox_commit_wait (self_t *self);

//  Answer with what buffer holds once the turn's changes are stored
void
    zeb_outbox_reply_after_commit (self_t *self, zeb_request_t *request, const char *command, msgpack_sbuffer *buffer);

//  A stored run by id (hex), or NULL. Caller owns it.
zeb_run_t *
    zeb_outbox_load (self_t *self, const char *hex);

//  Call fn for each dead run matching the filter, oldest first, at most
//  limit, looking at 100,000 at most; next (may be NULL) gets the last
//  key looked at, the page's end, if there may be more (else ""). The
//  next page starts after it. Returns the number of runs fn accepted.
size_t
    zeb_outbox_dlq_scan (self_t *self, filter_t *filter, dlq_fn *fn, void *arg, char *next);

//  A dlq_fn: appends a dead_t (taking the run) to the zlistx_t arg,
//  unless the run is in hand already
bool
    zeb_outbox_collect_one (self_t *self, zeb_run_t **run_p, const uint8_t *key, void *arg);

//  Delete what is older than its retention, a bounded number per call
void
    zeb_outbox_sweep (self_t *self);

//  Runs that were unfinished when the node stopped: due again now; also
//  reads the gone targets and counts the logs per origin. -1 if the
//  store cannot be read.
int
    zeb_outbox_recover (self_t *self);

//  Start the committer thread, its results read on loop; 0, or -1 with
//  fault set. Stop it, after storing every write made so far (the runs
//  the last replies start are not stored: they were stored enqueued);
//  safe if it never started.
int
    zeb_outbox_committer_start (self_t *self, zeb_loop_t *loop, zeb_fault_t *fault);
void
    zeb_outbox_committer_stop (self_t *self);

//  Store every write made so far: wait for the batch with the committer,
//  hand over what the turns wrote since and wait for it too, acting on
//  their results (replies, fresh runs started). A request's read of the
//  store after it sees everything that happened before the request
//  (RUN, DLQ_*, LOGS, CURSOR, redrive's loads). ENQUEUE's duplicate check
//  does not wait: it looks at the runs in hand and at self->settling.
void
    zeb_outbox_settle (self_t *self);

//  Wait for the batch with the committer only, and act on its result
//  later (the next commit or the loop): safe in the middle of an
//  attempt's end (redrive collects dead runs there). A read after it sees
//  what was handed over, not the writes of the turn.
void
    zeb_outbox_settle_quiet (self_t *self);

//  ---------------------------------------------------------------------
//  zeb_outbox.c: the actor

//  ENQUEUE: parse every run, keep the new ones dirty, answer after commit
void
    zeb_outbox_handle_enqueue (void *owner, zeb_request_t *request);

//  ---------------------------------------------------------------------
//  zeb_outbox_admin.c: the verbs

//  The outbox endpoint's commands (ENQUEUE's handler is in zeb_outbox.c)
extern const zeb_router_command_t zeb_outbox_commands [];

#pragma GCC visibility pop

#endif
