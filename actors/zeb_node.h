/*  =========================================================================
    zeb_node - a zeb node: the actors a configuration names, wired together

    The node knows its actors from one table (zeb_node.c): each row is an
    actor's zeb_actor_def_t, declared in the actor's own file with its
    configuration keys. node/actors names the actors to run (comma-
    separated); empty, the default, runs every actor that needs no
    configuration (today: registry, ingest, log, outbox). They start in table
    order, each bound where the configuration says: tcp:// for a daemon or
    split processes, inproc:// embedded in an application; the same code
    runs either way. An actor that connects to another (the log to
    ingest's commit notices, ingest to the registry) is given the endpoint
    that actor bound when both run here. Once all have started, each is
    told the others' endpoints (ingest passes the log's and the registry's
    to clients in WELCOME). Destroying the node stops them in reverse
    order; ingest finishes and acknowledges the batch in hand.

    Signals: the node's actors stop only when the node is destroyed,
    never on SIGINT/SIGTERM or czmq's zsys_interrupted. The application
    that embeds a node owns its signals and decides when to destroy it;
    zebd blocks SIGTERM and SIGINT in every thread and destroys the node
    when one arrives.
    =========================================================================
*/

#ifndef ZEB_NODE_H_INCLUDED
#define ZEB_NODE_H_INCLUDED

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _zeb_node_t zeb_node_t;

//  Start a node from a configuration (borrowed; the node keeps a copy).
//  Returns NULL with fault set: ZEB_ECONFIG for an invalid configuration
//  or endpoint, ZEB_ESTORAGE when storage cannot be opened (a data
//  directory in use), or whatever code the failing actor reported.
zeb_node_t *
    zeb_node_new (zconfig_t *config, zeb_fault_t *fault);

//  Start an embedded node: every actor in this process on inproc://
//  endpoints unique to this node, data in data_dir. Convenience for
//  applications and tests. Returns NULL with fault set on failure.
zeb_node_t *
    zeb_node_new_embedded (const char *data_dir, zeb_fault_t *fault);

//  The same with settings of the caller's (borrowed; may be NULL): every
//  endpoint they do not name is inproc://, the rest as they say.
zeb_node_t *
    zeb_node_new_embedded_with (const char *data_dir, zconfig_t *settings, zeb_fault_t *fault);

//  Stop the actors and destroy the node; safe with NULL.
void
    zeb_node_destroy (zeb_node_t **self_p);

//  Endpoint as bound, by name: "ingest", "bus", "notify", "log",
//  "registry", "changes" (the registry's announcements). NULL if no actor
//  of this node bound it. Connect clients to the ingest endpoint.
const char *
    zeb_node_endpoint (zeb_node_t *self, const char *which);

//  Tell this node's actors where another node's actor is, for split
//  deployments (e.g. "log" for ingest's WELCOME when the log runs in
//  another process and bound an ephemeral port).
void
    zeb_node_peer (zeb_node_t *self, const char *name, const char *endpoint);

//  The configuration the node runs with, defaults filled in (borrowed).
zconfig_t *
    zeb_node_config (zeb_node_t *self);

//  Statistics of an actor ("ingest", "log", "registry") as JSON text;
//  caller owns the result. NULL if the actor does not run here.
char *
    zeb_node_stats (zeb_node_t *self, const char *actor);

//  Configuration from every actor's key map: load (file may be NULL;
//  ZEB_* environment applied), one "path=value" override, and the help
//  text of every key (zebd --help-config). See zeb_config.h.
zconfig_t *
    zeb_node_config_load (const char *filename, zeb_fault_t *fault);
int
    zeb_node_config_set (zconfig_t *config, const char *assignment, zeb_fault_t *fault);
void
    zeb_node_config_help (FILE *stream);

//  ---------------------------------------------------------------------
//  Embedded handlers and actions (seed S1's registerEventHandler): the
//  application's own code, run with the outbox's guarantees

//  What a handler or an action callback returns
typedef enum {
    ZEB_HANDLED = 0,            //  done
    ZEB_HANDLER_RETRY = 1,      //  failed; retry per the retry policy
    ZEB_HANDLER_FAIL = 2        //  failed for good: dead-letter the run
} zeb_handler_status_t;

//  A handler: called in a thread of the node's (never the caller's), for
//  each event of its prefix, at least once; error (may be left NULL) is
//  kept with the attempt: static, or owned by the handler until its next
//  call. Returns a zeb_handler_status_t.
typedef int (zeb_handler_fn) (zeb_event_t *event, const char **error, void *arg);

//  The idempotency key of an event (seed: idempotencyKey: (event) => ...):
//  write at most size bytes, terminated, into key; return its length (0:
//  use the event's own key). Events with one key make one run.
typedef size_t (zeb_key_fn) (zeb_event_t *event, char *key, size_t size, void *arg);

typedef struct {
    const char *handler_id;     //  required: names its cursor, runs and logs
    const char *module;         //  for logs (may be NULL)
    uint32_t max_attempts;      //  retry policy; 0 keeps the outbox's default
    int64_t backoff_ms;         //  0: default
    int exponential;            //  0 keeps the default, 1 on, -1 off
    int jitter;                 //  0 keeps the default, 1 on, -1 off
    int64_t timeout_ms;         //  an attempt's budget (0: outbox/timeout)
    uint32_t concurrency;       //  handler calls at once (0: 1, in event order)
    zeb_key_fn *idempotency_key;    //  may be NULL
    void *key_arg;
} zeb_handler_options_t;

//  Run fn (arg) for every event whose type starts with prefix ("*" or ""
//  for every type but the node's own zeb.* events), from the handler's
//  cursor on: the first time from the oldest event retained; after a
//  restart where it left off, and the runs in hand when a process died
//  run again. A handler that returns RETRY is retried with backoff; one
//  that keeps failing is dead-lettered. The node must run the outbox and
//  the log. Returns 0, or ZEB_ECONFIG with fault set (no outbox, a
//  handler id in use, bad options).
int
    zeb_node_on (zeb_node_t *self, const char *prefix, zeb_handler_fn *fn, void *arg,
                 const zeb_handler_options_t *options, zeb_fault_t *fault);

//  A subscription: every event whose type starts with prefix (as for
//  zeb_node_on) becomes a run of one action of this type and config (a
//  JSON object, borrowed), e.g. a webhook to an endpoint, with the
//  outbox's guarantees; id names its cursor, runs and logs like a
//  handler id (zeb_node_off stops it). Returns 0 or ZEB_ECONFIG.
int
    zeb_node_subscribe (zeb_node_t *self, const char *id, const char *prefix, const char *type,
                        json_t *config, zeb_fault_t *fault);

//  Stop a handler (its cursor and runs stay: zeb_node_on again resumes).
//  Returns 0, or ZEB_ENOTFOUND.
int
    zeb_node_off (zeb_node_t *self, const char *handler_id);

//  An application's own action type ("send_message"): fn is called for
//  each action of that type, in a thread of the node's, with the action's
//  config (a JSON object, borrowed) and the trigger event. concurrency:
//  calls at once (0: 1). Returns 0 or ZEB_ECONFIG with fault set.
typedef int (zeb_action_fn) (zeb_event_t *event, json_t *config, const char **error, void *arg);

int
    zeb_node_register_action (zeb_node_t *self, const char *type, zeb_action_fn *fn, void *arg,
                              uint32_t concurrency, zeb_fault_t *fault);

//  Read a key of an application database (zeb_txn) of this node's
//  store: *value gets a copy (caller frees), *size its length. Returns 0,
//  ZEB_ENOTFOUND (no such key or database), or ZEB_ESTORAGE.
int
    zeb_node_get (zeb_node_t *self, const char *db, const void *key, size_t key_size,
                  void **value, size_t *size);

//  Self test
void
    zeb_node_test (bool verbose);

#ifdef __cplusplus
}
#endif

#endif
