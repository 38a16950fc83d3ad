/*  =========================================================================
    zeb_outbox_client - talk to a node's outbox: runs, dead letters, logs

    One DEALER connected to the outbox's endpoint (zeb_node_endpoint
    (node, "outbox"), or zeb_client_outbox_endpoint after HELLO). The
    protocol is docs/PROTOCOL.md section 4b; this class is how C code
    speaks it, so that nobody builds outbox frames by hand. One client is
    used by one thread at a time. It does not play a worker: workers
    speak to the outbox's other endpoint (outbox/workers).

    Every call sends one request and waits up to the timeout for its
    reply. Each returns 0, or a zeb_error_t code:

      - the outbox's NACK, mapped from its reason: ZEB_EINVALID
        (INVALID_ATTRIBUTE: a run id that is not 32 hex digits, a bad
        filter field, a bad run in ENQUEUE), ZEB_ENOTFOUND (no such run,
        or no such dead letter), ZEB_EMISSING (a run without origin,
        event or actions), ZEB_ETOOBIG (more runs than outbox/max_enqueue,
        more than 64 actions), ZEB_EOVERLOADED (outbox/max_runs
        unfinished runs held), ZEB_EFULL, ZEB_EMALFORMED; fault gets the
        outbox's text, which names the field;
      - ZEB_ETIMEOUT when no reply came within the timeout (the request
        may still be carried out: an ENQUEUE may have stored its runs,
        and sending it again is safe, runs being deduplicated by id);
      - ZEB_EUNREACHABLE when the request could not even be queued;
      - ZEB_EINVALID, before anything is sent, when an argument that must
        be a JSON array or object is not one;
      - ZEB_EPROTOCOL when the reply was not one the protocol allows.

    `reply` (may be NULL) receives the reply body as JSON, which the
    caller owns and frees with json_decref: the verb's reply on success,
    and the NACK's body ({code, reason, error, index?}) on a NACK. *reply
    is NULL when no body arrived. Read its fields by name: the outbox may
    add fields. `fault` (may be NULL) says why for every non-zero return.
    Strings and JSON values passed in are borrowed.

    Every request carries a tag of its own (ZEB/1's third frame); a reply
    that arrives after its request timed out is recognised by its tag and
    dropped, never taken for the answer to a later request.
    =========================================================================
*/

#ifndef ZEB_OUTBOX_CLIENT_H_INCLUDED
#define ZEB_OUTBOX_CLIENT_H_INCLUDED

#ifdef __cplusplus
extern "C" {
#endif

#define ZEB_OUTBOX_CLIENT_TIMEOUT   5000    //  default timeout, ms

typedef struct _zeb_outbox_client_t zeb_outbox_client_t;

//  Create a client for the outbox at endpoint ("tcp://host:port",
//  "inproc://..."). Connects in the background: an outbox that is not up
//  yet is waited for by the calls' timeouts. NULL if endpoint is NULL or
//  not a ZeroMQ endpoint.
zeb_outbox_client_t *
    zeb_outbox_client_new (const char *endpoint);

//  Destroy; a request outstanding is abandoned. Safe twice (nulls *self_p).
void
    zeb_outbox_client_destroy (zeb_outbox_client_t **self_p);

//  Timeout of each call in ms (default ZEB_OUTBOX_CLIENT_TIMEOUT; 0 or
//  less restores the default).
void
    zeb_outbox_client_set_timeout (zeb_outbox_client_t *self, int timeout_ms);

//  ENQUEUE runs, a JSON array of run objects as PROTOCOL.md 4b describes
//  them ({origin, event, actions, id?, kind?, retryPolicy?, ...}; the
//  event as the log stores it, with its id, type and sequence). Replied
//  once the runs are durable: {ids: [run id...], new: [bool...]}, in the
//  order given; new is false for a run whose id was stored already
//  (nothing was stored for it). One bad run refuses them all: the NACK's
//  index names it.
int
    zeb_outbox_client_enqueue (zeb_outbox_client_t *self, json_t *runs,
                               json_t **reply, zeb_fault_t *fault);

//  RUN: the state of one run (32 hex digits). Reply {id, origin, kind,
//  state, event: {id, type, sequence}, continueOnError, created, updated,
//  error?, deadAt?, reason?, target?, replay?, actions: [{type, state,
//  target, key, attemptsSpent, maxAttempts, attempts: [...]}]}.
//  ZEB_ENOTFOUND for a run not stored (never, or past outbox/retention,
//  or purged).
int
    zeb_outbox_client_run (zeb_outbox_client_t *self, const char *id,
                           json_t **reply, zeb_fault_t *fault);

//  DLQ_LIST: dead letters, oldest first. filter (NULL for none) is a JSON
//  object {origin?, type? (a prefix of the trigger's type), since?,
//  until? (ms, the time it died), limit? (1..1000, default 100), after?
//  (the next of the previous page)}. Reply {items: [{id, origin, event:
//  {id, type, sequence}, reason, error, action, attempts, target, at}],
//  next?}; next is there while more may follow.
int
    zeb_outbox_client_dlq_list (zeb_outbox_client_t *self, json_t *filter,
                                json_t **reply, zeb_fault_t *fault);

//  DLQ_SHOW one dead letter: reply {the item as in the list, run: the
//  RUN reply}. ZEB_ENOTFOUND if the run is not dead (or not stored).
int
    zeb_outbox_client_dlq_show (zeb_outbox_client_t *self, const char *id,
                                json_t **reply, zeb_fault_t *fault);

//  DLQ_REPLAY: back to the queue, attempts reset. Either id (one dead
//  letter; ZEB_ENOTFOUND if it is not dead) or, with id NULL, every dead
//  letter filter matches (as in dlq_list; NULL or {} for all; limit
//  defaults to 100,000 here). Reply {count, replayId?} (replayId when
//  count > 0: the outbox publishes zeb.replay.started and
//  zeb.replay.completed under it).
int
    zeb_outbox_client_dlq_replay (zeb_outbox_client_t *self, const char *id, json_t *filter,
                                  json_t **reply, zeb_fault_t *fault);

//  DLQ_PURGE: delete dead letters and their runs for good, by id or by
//  filter as dlq_replay. Reply {count}.
int
    zeb_outbox_client_dlq_purge (zeb_outbox_client_t *self, const char *id, json_t *filter,
                                 json_t **reply, zeb_fault_t *fault);

//  LOGS: execution logs, newest first, of one origin or (with origin
//  NULL) of one trigger event type (exactly; not a prefix). One of origin
//  and type, not both. limit 1..1000 (0: the outbox's default, 50).
//  before: NULL or "" from the newest; the next of a previous reply, to
//  page on; or a time in ms as decimal digits, for logs written before it.
//  Reply {items: [{id, origin, run, eventId, eventType, status,
//  conditionsMatched, actionsExecuted: [...], error?, executionTimeMs,
//  createdAt}], next?}; next is there while more may follow.
int
    zeb_outbox_client_logs (zeb_outbox_client_t *self, const char *origin, const char *type,
                            uint32_t limit, const char *before, json_t **reply, zeb_fault_t *fault);

//  TARGET_ENABLE: a target that answered "gone" takes runs again. Reply
//  {wasGone}.
int
    zeb_outbox_client_target_enable (zeb_outbox_client_t *self, const char *target,
                                     json_t **reply, zeb_fault_t *fault);

//  STATS of the outbox: reply {node, actor: "outbox", runs, in_flight,
//  enqueued, dead, replayed, purged, ..., actions, circuits}.
int
    zeb_outbox_client_stats (zeb_outbox_client_t *self, json_t **reply, zeb_fault_t *fault);

#ifdef __cplusplus
}
#endif

#endif
