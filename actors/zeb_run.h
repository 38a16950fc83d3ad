/*  =========================================================================
    zeb_run - one outbox run: its actions, their policies and attempts, and
    its record in the outbox's store

    The outbox's own model (internal to actors/zeb_outbox.c, kept in a
    class of its own so that the actor is only about scheduling): parse a
    run from an ENQUEUE request, encode it as the msgpack record the store
    keeps and decode it back, describe it for RUN and DLQ_SHOW, and compute
    retry delays.
    =========================================================================
*/

#ifndef ZEB_RUN_H_INCLUDED
#define ZEB_RUN_H_INCLUDED

#define ZEB_RUN_ID_SIZE     16          //  bytes of a run id (32 hex digits)

typedef enum {
    ZEB_RUN_PENDING = 0,        //  an action is due, waiting, or in flight
    ZEB_RUN_DONE,               //  every action succeeded
    ZEB_RUN_FAILED,             //  finished; an action failed (continueOnError) - also dead
    ZEB_RUN_DEAD                //  in the dead-letter queue
} zeb_run_state_t;

typedef enum {
    ZEB_ACTION_PENDING = 0,
    ZEB_ACTION_OK,
    ZEB_ACTION_FAILED,
    ZEB_ACTION_SKIPPED          //  not run: an earlier one failed (continueOnError false)
} zeb_action_state_t;

typedef struct {
    uint32_t max_attempts;      //  attempts in all, at least 1
    int64_t backoff_ms;         //  first delay
    bool exponential;
    uint32_t factor;            //  growth per attempt when exponential
    int64_t max_backoff_ms;     //  cap
    bool jitter;                //  a delay d becomes uniform in [d/2, d]
    int64_t timeout_ms;         //  an attempt's budget
    uint32_t schedule_count;    //  an explicit list of delays wins over the above
    int64_t schedule [ZEB_OUTBOX_MAX_SCHEDULE];
} zeb_policy_t;

typedef struct {
    uint32_t attempt;
    uint8_t status;             //  zeb_job_status_t, or 3 for a lost lease (TIMEOUT)
    int32_t code;
    int64_t at;                 //  wall-clock ms when it finished
    int64_t duration_ms;
    char *error;                //  owned, or NULL
    uint8_t *result;            //  msgpack, owned, or NULL
    size_t result_size;
} zeb_attempt_t;

typedef struct {
    char type [64];
    uint8_t *config;            //  msgpack map, owned
    size_t config_size;
    zeb_policy_t policy;
    char target [256];          //  circuit-breaker target
    char key [256];             //  flow-control key
    uint32_t concurrency;       //  0: no limit
    double rate, burst;         //  0: no limit
    bool fifo;
    uint8_t state;              //  zeb_action_state_t
    uint32_t attempts;          //  attempts spent since enqueue or replay
    uint32_t history_count;     //  newest last
    zeb_attempt_t history [ZEB_OUTBOX_HISTORY];
} zeb_action_t;

typedef struct {
    uint8_t id [ZEB_RUN_ID_SIZE];
    char hex [2 * ZEB_RUN_ID_SIZE + 1];
    char origin [129];
    char kind [16];             //  "automation" or "handler"
    uint8_t *event;             //  the trigger event, msgpack, owned
    size_t event_size;
    char event_id [256];
    char event_type [256];
    uint64_t sequence;
    bool continue_on_error;
    bool conditions_matched;
    uint8_t state;              //  zeb_run_state_t
    uint32_t current;           //  the action in hand
    uint32_t action_count;
    zeb_action_t *actions;
    int64_t created, updated;
    int64_t dead_at;            //  when it was dead-lettered, 0 if not
    char reason [32];           //  why dead: RETRIES_EXHAUSTED, FAILED, GONE, TIMEOUT, NO_EXECUTOR
    char dead_target [256];     //  the target of the action that failed
    char error [512];           //  the last error
    char replay [40];           //  the replay that put it back, if any
} zeb_run_t;

//  Decode the 2 * size hex digits (either case) of text (len bytes, not
//  terminated: it may end a message body) into out. Returns 0, or -1 if
//  len is not 2 * size or a character is not a hex digit.
int
    zeb_run_unhex (const char *text, size_t len, uint8_t *out, size_t size);

//  The lower-case hex of size bytes into out (2 * size + 1 bytes, terminated)
void
    zeb_run_hex (const uint8_t *data, size_t size, char *out);

//  Parse run number index of an ENQUEUE body (span of one msgpack map)
//  over the outbox's default policy. Returns a new run, or NULL with
//  fault set (ZEB_EMALFORMED or ZEB_EINVALID naming the field).
zeb_run_t *
    zeb_run_parse (const uint8_t *data, size_t size, const zeb_policy_t *defaults,
                   zeb_fault_t *fault);

//  Encode the run as its store record (appended to buffer); decode one.
int
    zeb_run_encode (zeb_run_t *self, msgpack_sbuffer *buffer);
zeb_run_t *
    zeb_run_decode (const void *data, size_t size);

void
    zeb_run_destroy (zeb_run_t **self_p);

//  Describe the run for RUN (into an open pack, as one map value of key).
void
    zeb_run_describe (zeb_run_t *self, zeb_pack_t *pack, const char *key);

//  Record an attempt's outcome on the action in hand (error and result
//  copied, result truncated to nothing over ZEB_EXECUTOR_MAX_RESULT).
void
    zeb_run_record (zeb_run_t *self, uint8_t status, int code, const char *error,
                    const uint8_t *result, size_t result_size, int64_t duration_ms);

//  The delay before attempt number attempt + 1, after attempt failed;
//  at least retry_after_ms. random is in [0, 1).
int64_t
    zeb_policy_delay (const zeb_policy_t *policy, uint32_t attempt, int64_t retry_after_ms,
                      double random);

//  Read a retryPolicy map over policy (fields absent keep their value).
//  Returns 0 or -1 with fault naming the field.
int
    zeb_policy_parse (zeb_policy_t *policy, const uint8_t *data, size_t size, zeb_fault_t *fault);

//  The state's name ("pending", "done"...), and an attempt status's.
const char *
    zeb_run_state_name (zeb_run_t *self);

//  Self test
void
    zeb_run_test (bool verbose);

#endif
