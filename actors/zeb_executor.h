/*  =========================================================================
    zeb_executor - the plugins that perform actions, and the host that runs them

    An executor performs one kind of action (webhook, emit_event, log,
    redis_stream, nats, or an application's own) for the outbox. It is a
    plugin in the Fluent Bit way: a static zeb_executor_def_t with a name,
    a configuration map and callbacks, listed in one hand-written table
    (zeb_executor.c). The plugin never retries, sleeps or schedules: it
    starts a job, reports one result (OK, RETRY with an optional delay, or
    FAIL), and the outbox owns attempts, backoff, circuits and flow control.

    Every executor runs in a host thread of its own (zeb_executor_host,
    started by the outbox), so a slow kind of action never delays another.
    The host is a worker of the outbox's worker protocol (docs/PROTOCOL.md,
    "Workers"), the same protocol an external worker process speaks over
    tcp://: it connects a DEALER to the outbox, says READY {actions, credit},
    turns each JOB it receives into a zeb_job_t for the plugin's execute, and
    sends the RESULT the plugin finishes it with. credit bounds the jobs a
    host holds at once; the outbox never sends more.

    A plugin that works asynchronously (the webhook executor: libcurl's
    multi interface, many requests in flight) registers its descriptors on
    the host's loop (zeb_executor_loop) and a tick for its timers, and
    finishes jobs from there; a synchronous one (log, redis_stream) finishes
    the job before execute returns.

    The stable action id (zeb_job_t.key) is the same on every attempt of
    one action of one run: receivers deduplicate on it (webhook-id,
    idempotencykey, Nats-Msg-Id).

    The host is an actor of the kit (zeb_actor.h), started with
    zeb_actor_run and its zeb_executor_args_t, so its pipe speaks the
    kit's protocol and the caller's side is the kit's (zeb_actor_start,
    zeb_actor_stats; zeb_executor_start does both):

      START config      config is the node's zconfig_t * (borrowed until
                        the reply). The host applies the plugin's key map
                        (defaults, range checks), calls the plugin's init,
                        connects its DEALER to the endpoint and says READY.
                        Replies as every actor: [status "0" or "-1"] [code]
                        [text]. Incomplete arguments or a bad endpoint are
                        ZEB_ECONFIG, a failed init the plugin's code; either
                        way the host stays up, serving nothing, until $TERM.
      STATS             One frame: a msgpack map {node, actor: "executor",
                        action, jobs, ok, retry, fail, in_flight, credit,
                        malformed, over_credit, unsent, readies, pings} and
                        the plugin's own counters.
      $TERM             Stop: the plugin's destroy finishes the jobs in hand
                        (RESULT retry "executor stopping"), then the host
                        says BYE and closes its DEALER (linger
                        ZEB_EXECUTOR_LINGER_MS, for those last messages).

    Worker protocol, as the host speaks it:

      - READY {actions: [name], credit, name}: after START, and again on
        PONG {known: false} (the outbox restarted) with the credit free at
        that moment; if none is free, READY waits for the next job to
        finish (a READY with credit 0 would be out of the protocol's range).
      - PING {} every ZEB_EXECUTOR_PING_MS.
      - JOB: the body is checked field by field (every string field 1..255
        bytes of UTF-8, config a map or absent, event an event map, attempt
        >= 1, timeout 1 ms..24 h). A malformed JOB is never executed: it is
        counted (malformed), logged (zsys_warning), and, if its id could be
        read, answered RESULT fail with the reason, so that the outbox does
        not hold a lease on a job no one performs; else it is dropped. Any
        other command from the outbox is counted as malformed and dropped.
        A JOB beyond the credit (the outbox broke its side) is answered
        RESULT retry at once, unexecuted, and counted in over_credit.
      - RESULT: error texts are cut to ZEB_EXECUTOR_MAX_ERROR bytes (at a
        UTF-8 boundary; other bytes escaped as \xNN). A result whose JSON
        text is over ZEB_EXECUTOR_MAX_RESULT bytes is replaced by
        {"truncated": true, "bytes": N, "head": the first
        ZEB_EXECUTOR_RESULT_HEAD bytes of its JSON text}.
      - Sends never block: a message the DEALER cannot queue (no outbox,
        its queue full) is dropped and counted in unsent; the outbox's
        lease then retries the job. The DEALER's high-water marks are the
        credit plus 1,000 both ways, so that the credit, not libzmq, bounds
        what waits in its queues (the outbox's ROUTER needs the same room
        per worker: a ROUTER drops what is past its high-water mark).
    =========================================================================
*/

#ifndef ZEB_EXECUTOR_H_INCLUDED
#define ZEB_EXECUTOR_H_INCLUDED

#define ZEB_EXECUTOR_MAX_RESULT     4096    //  bytes of a result kept (JSON text)
#define ZEB_EXECUTOR_RESULT_HEAD    1024    //  bytes of a truncated result's text kept
#define ZEB_EXECUTOR_MAX_ERROR      512     //  bytes of an error text kept
#define ZEB_EXECUTOR_MAX_CREDIT     10000   //  the protocol's bound on READY's credit
#define ZEB_EXECUTOR_PING_MS        1000    //  heartbeat
#define ZEB_EXECUTOR_LINGER_MS      500     //  for the last RESULTs and BYE at stop

//  Worker protocol commands (docs/PROTOCOL.md, "Workers")
#define ZEB_CMD_READY       "READY"
#define ZEB_CMD_JOB         "JOB"
#define ZEB_CMD_RESULT      "RESULT"
#define ZEB_CMD_PING        "PING"
#define ZEB_CMD_PONG        "PONG"
#define ZEB_CMD_BYE         "BYE"

typedef struct _zeb_executor_t zeb_executor_t;
typedef struct _zeb_job_t zeb_job_t;

typedef enum {
    ZEB_JOB_OK = 0,             //  done; the run goes on with its next action
    ZEB_JOB_RETRY = 1,          //  failed, may work later: the outbox retries per policy
    ZEB_JOB_FAIL = 2            //  failed for good: no further attempt
} zeb_job_status_t;

//  What became of one attempt
typedef struct {
    zeb_job_status_t status;
    const char *error;          //  why it failed (copied; NULL for OK)
    json_t *result;             //  what it returned (borrowed; NULL for none), kept
                                //  up to ZEB_EXECUTOR_MAX_RESULT bytes of JSON
    int64_t retry_after_ms;     //  RETRY: not before this many ms (0: the policy's)
    int code;                   //  the target's own status (HTTP status), 0 if none
    bool gone;                  //  FAIL: the target is gone for good (HTTP 410):
                                //  the outbox dead-letters its later runs (GONE)
} zeb_job_result_t;

//  One attempt of one action, as a plugin sees it. Everything is owned by
//  the host and valid until the job is finished.
struct _zeb_job_t {
    const char *id;             //  this attempt's id, echoed in RESULT
    const char *key;            //  the action's stable id (same on every attempt)
    const char *run;            //  the run's id
    const char *action;         //  the action type ("webhook")
    const char *origin;         //  who made the run (automation or handler id)
    json_t *config;             //  the action's configuration (a JSON object)
    zeb_event_t *event;         //  the trigger event
    uint32_t attempt;           //  1 on the first attempt
    uint32_t index;             //  the action's place in its run, from 0
    int timeout_ms;             //  the attempt's budget: finish (RETRY) by then
    void *plugin;               //  free for the plugin (e.g. its curl handle)
    zeb_executor_t *host;
};

typedef struct {
    const char *name;           //  the action type it performs: "webhook"
    const char *help;           //  one line, for zebd --help-config
    const zeb_config_key_t *config;     //  its keys ("webhook/connect_timeout"), NULL-ended, or NULL
    size_t credit;              //  jobs it holds at once (0: 1); init may change
                                //  it (zeb_executor_set_credit). For a synchronous
                                //  plugin, how many JOBs may wait queued for it

    //  Set up from config (checked against the map): *state_p gets the
    //  plugin's state. Returns 0, or a zeb code with fault set; destroy is
    //  not called after a failed init (init frees what it made).
    int (*init) (void **state_p, zeb_executor_t *host, zconfig_t *config, zeb_fault_t *fault);
    //  Start the job; finish it exactly once with zeb_job_finish, now or
    //  later (from a reader or the tick on the host's loop).
    void (*execute) (void *state, zeb_job_t *job);
    //  Optional: runs every turn of the host's loop; returns the longest
    //  the loop may wait, ms (-1: no limit).
    int (*tick) (void *state);
    //  Finish (RETRY "executor stopping") what is in hand and free the state.
    void (*destroy) (void **state_p);
    //  Optional: counters into the host's STATS map.
    void (*stats) (void *state, zeb_pack_t *pack);
} zeb_executor_def_t;

//  Report the outcome of a job; the host sends RESULT and frees the job
//  (do not use it afterwards).
void
    zeb_job_finish (zeb_job_t *job, const zeb_job_result_t *result);

//  Shorthands: OK with a result (may be NULL; borrowed); RETRY or FAIL
//  with a printf-style error.
void
    zeb_job_ok (zeb_job_t *job, json_t *result);
void
    zeb_job_retry (zeb_job_t *job, int64_t retry_after_ms, const char *format, ...) CHECK_PRINTF (3);
void
    zeb_job_fail (zeb_job_t *job, const char *format, ...) CHECK_PRINTF (2);

//  Append a JOB body for job's fields (id .. timeout_ms; plugin and host
//  are ignored) to buffer: what the outbox sends, and what tests play.
//  config may be NULL (sent as {}). Returns 0, or -1 if the event or the
//  config cannot be encoded.
int
    zeb_job_pack (const zeb_job_t *job, msgpack_sbuffer *buffer);

//  The host's loop, for a plugin's descriptors (zeb_loop_add_fd). The
//  host's own readers take two of its ZEB_LOOP_MAX places.
zeb_loop_t *
    zeb_executor_loop (zeb_executor_t *host);

//  The action type this host serves ("webhook", or a callback's name).
const char *
    zeb_executor_name (zeb_executor_t *host);

//  From init: how many jobs the plugin takes at once (1..ZEB_EXECUTOR_MAX_CREDIT;
//  values outside are clamped). READY says it.
void
    zeb_executor_set_credit (zeb_executor_t *host, size_t credit);

//  The built-in plugins, by action type; NULL if none.
const zeb_executor_def_t *
    zeb_executor_lookup (const char *name);

//  Every built-in plugin, NULL-ended (for the node's configuration help).
extern const zeb_executor_def_t *zeb_executor_table [];

//  The built-in plugins themselves
extern const zeb_executor_def_t zeb_executor_log;       //  zeb_executor.c
extern const zeb_executor_def_t zeb_executor_webhook;   //  zeb_webhook.c
extern const zeb_executor_def_t zeb_executor_callback;  //  zeb_executor.c, not in the table
//  Brokers (zeb_broker.c, described in zeb_broker.h)
extern const zeb_executor_def_t zeb_executor_emit_event;
extern const zeb_executor_def_t zeb_executor_redis_stream;
extern const zeb_executor_def_t zeb_executor_nats;

//  An application's own action is a zeb_action_fn (zeb_node.h), called
//  in the host thread (zeb_node_register_action); it returns a
//  zeb_job_status_t (ZEB_HANDLED, ZEB_HANDLER_RETRY, ZEB_HANDLER_FAIL).

//  Host thread body for zactor_new; args is a zeb_executor_args_t, read
//  (and its strings copied) at START: it must stay valid until START has
//  been answered. The host connects to endpoint (the outbox's workers
//  endpoint) at START and serves the plugin; see the top of this file.
typedef struct {
    const zeb_executor_def_t *def;      //  the plugin (borrowed, static); NULL with a
                                        //  callback: the callback plugin
    const char *endpoint;               //  the outbox's workers endpoint
    const char *name;                   //  the action type it serves, if not def->name
                                        //  (a callback plugin serves the name it was given)
    zeb_action_fn *callback;            //  the callback plugin's function
    void *callback_arg;
    size_t credit;                      //  jobs at once, if not the plugin's (0)
} zeb_executor_args_t;

void
    zeb_executor_host (zsock_t *pipe, void *args);

//  Caller side: start a host and START it with config (borrowed; the
//  plugin's defaults are added to it). Returns the actor (caller owns;
//  zactor_destroy stops it), or NULL with fault set if the arguments are
//  incomplete or START failed.
zactor_t *
    zeb_executor_start (const zeb_executor_args_t *args, zconfig_t *config, zeb_fault_t *fault);

//  Self test
void
    zeb_executor_test (bool verbose);

#endif
