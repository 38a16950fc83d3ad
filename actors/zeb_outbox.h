/*  =========================================================================
    zeb_outbox - durable runs: the actions performed for an event, despite
    crashes and failing endpoints

    A run is an ordered list of actions ({type, config}) to perform for one
    trigger event, made by an automation or an embedded handler (its
    origin). The outbox stores each run in LMDB before acknowledging it
    (ENQUEUE → ENQUEUED), hands its actions one by one to the executors
    that perform their type (the worker protocol: the node's own executor
    hosts and external worker processes alike), and records every attempt.
    Its verbs and the worker protocol are in docs/PROTOCOL.md, section 4b.

    What it guarantees:
    - A run id is derived from its origin and its event (or given): the
      same run enqueued twice is stored once.
    - An action is attempted until it succeeds, fails for good (FAIL,
      410), or spends its policy's attempts; each attempt of one action
      carries the same stable key (run id and index), so receivers
      deduplicate. A crash re-attempts what was in flight: at least once.
    - Retries wait per policy (fixed, exponential with a cap, or an
      explicit schedule such as Svix's), with jitter, and at least what
      the target asked for (Retry-After). A job not finished within its
      timeout plus outbox/lease_grace, or whose worker vanished, counts as
      a failed attempt.
    - Circuit breaker per target: after outbox/circuit_threshold failures
      within outbox/circuit_window the circuit opens; its runs wait
      (spending no attempt) for outbox/circuit_recovery, then one probe
      goes; success closes it and redrives, at a slow-start ramp, the
      runs dead-lettered for that target since its failures began.
    - Flow control per key (default: the target): at most `concurrency`
      actions in flight, a token bucket of `rate` per second with `burst`,
      and optionally FIFO (one run's action for key K after the previous
      one's finished). Every key and every action type is scheduled on its
      own: a slow or failing one never delays the others.
    - A run whose action failed for good, or spent its attempts, goes to
      the dead-letter queue (LIST, SHOW, REPLAY, PURGE), and a
      zeb.dead_letter event is published. Every finished run leaves an
      execution log entry (LOGS), kept outbox/log_retention and at most
      outbox/log_max per origin.

    Bounds: at most outbox/max_runs unfinished runs in memory (ENQUEUE
    beyond it gets OVERLOADED), outbox/max_enqueue runs per ENQUEUE, 64
    actions per run, ZEB_OUTBOX_HISTORY attempts kept per action, results
    of at most ZEB_EXECUTOR_MAX_RESULT bytes.
    =========================================================================
*/

#ifndef ZEB_OUTBOX_H_INCLUDED
#define ZEB_OUTBOX_H_INCLUDED

#define ZEB_OUTBOX_MAX_ACTIONS  64      //  actions per run
#define ZEB_OUTBOX_HISTORY      8       //  attempts kept per action (the newest)
#define ZEB_OUTBOX_MAX_SCHEDULE 16      //  delays of an explicit schedule

extern const zeb_config_key_t zeb_outbox_config [];
extern const zeb_actor_def_t zeb_outbox_def;

//  The run id the outbox derives for origin, an event's idempotency key
//  (or id) and its place, zeb_outbox_run_order: 32 hex digits and a NUL
//  into hex. The place leads (12 hex digits, its low 48 bits), the rest
//  is SHA-256 of origin and key: runs of neighbouring events sort
//  together, and so do their writes.
void
    zeb_outbox_run_id (const char *origin, const char *event_key, uint64_t order, char *hex);

//  An event's place for zeb_outbox_run_id: its sequence in the log, else
//  its time in ms (0 before 1970), else 0
uint64_t
    zeb_outbox_run_order (const zeb_event_view_t *event);

//  Self test
void
    zeb_outbox_test (bool verbose);

#endif
