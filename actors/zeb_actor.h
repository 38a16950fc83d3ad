/*  =========================================================================
    zeb_actor - the kit every zeb actor is built with

    An actor is described once, in its own file, by a zeb_actor_def_t:
    its name, its configuration keys (defaults, ranges, help), the
    endpoints of other actors it connects to, and callbacks. The kit runs
    it: zactor_new (zeb_actor_main, (void *) &zeb_foo_def) starts a thread
    whose pipe speaks one protocol for every actor:

      START config      config is a zconfig_t * (borrowed until the reply).
                        The kit applies the actor's key map (defaults and
                        range checks) and the node's, then calls start.
                        Replies, always: [status "0" or "-1"] [code, a
                        zeb_error_t as text] [text] then one "name=endpoint"
                        frame per endpoint the actor bound.
      PEER name ep      The endpoint of another actor of the node (ingest
                        advertises the log and the registry in WELCOME).
                        No reply. A PEER with an empty name ends the
                        list: every actor of the node has started (ingest
                        reads its producers only from then on, so that no
                        WELCOME is sent before it knows the log).
      STATS             Replies one frame: a msgpack map {node, actor, ...}
                        with the actor's own counters.
      $TERM             Stop: the kit calls destroy, which finishes what is
                        in hand (ingest acknowledges its batch) first.

    start registers the actor's sockets on the kit's zeb_loop
    (zeb_actor_loop) with their handlers and reports its endpoints with
    zeb_actor_bound. The loop then runs until $TERM or a handler returns
    -1. Signals: an actor stops only on $TERM, never on SIGINT or
    zsys_interrupted; the application that embeds the node owns signals
    (zebd turns SIGTERM and SIGINT into zeb_node_destroy).

    The node (zeb_node) starts the actors of its table in order, and
    nothing else in zeb knows which actors exist.
    =========================================================================
*/

#ifndef ZEB_ACTOR_H_INCLUDED
#define ZEB_ACTOR_H_INCLUDED

#define ZEB_ACTOR_MAX_ENDPOINTS 8

typedef struct _zeb_actor_t zeb_actor_t;

//  A configuration key this actor sets from another actor's endpoint when
//  both run in one node: before START, key gets the endpoint named
//  endpoint (e.g. "log/notify" from ingest's "notify").
typedef struct {
    const char *key;
    const char *endpoint;
} zeb_actor_link_t;

typedef struct {
    const char *name;                   //  "ingest": node/actors names it so
    const char *help;                   //  one line, for zebd --help-config
    bool default_on;                    //  runs unless node/actors says otherwise
    const zeb_config_key_t *config;     //  the keys it reads (NULL-ended map)
    const zeb_actor_link_t *links;      //  endpoints it connects to (NULL-ended), or NULL

    size_t size;                        //  bytes of the actor's state: the kit
                                        //  allocates it zeroed and frees it
    //  Set up from config (already checked against the map) into the
    //  zeroed state: create sockets, open storage, add readers to
    //  zeb_actor_loop (actor), report endpoints. Returns 0, or a code with
    //  fault set (a bad endpoint is ZEB_ECONFIG, a storage failure
    //  ZEB_ESTORAGE); stop is called either way.
    int (*start) (void *state, zeb_actor_t *actor, zconfig_t *config, zeb_fault_t *fault);
    //  Finish what is in hand and release what start made (not the
    //  state's memory); safe on a state start left half set up.
    void (*stop) (void *state);
    //  Its counters, as entries of the open STATS map (may be NULL).
    void (*stats) (void *state, zeb_pack_t *pack);
    //  Another actor's endpoint (may be NULL); an empty name ends the list.
    void (*peer) (void *state, const char *name, const char *endpoint);
} zeb_actor_def_t;

//  The thread body for zactor_new; args is the zeb_actor_def_t (borrowed,
//  usually static).
void
    zeb_actor_main (zsock_t *pipe, void *args);

//  The thread body of an actor of which a process runs several, each with
//  an argument of its own (the executor hosts, one per plugin): as
//  zeb_actor_main, and start reads arg with zeb_actor_arg. arg is the
//  caller's; it must stay valid until START has been answered.
void
    zeb_actor_run (zsock_t *pipe, const zeb_actor_def_t *def, void *arg);

//  The argument zeb_actor_run was given (NULL under zeb_actor_main).
void *
    zeb_actor_arg (zeb_actor_t *self);

//  The loop this actor runs on.
zeb_loop_t *
    zeb_actor_loop (zeb_actor_t *self);

//  Report an endpoint as bound, for the START reply (name is e.g. "bus").
void
    zeb_actor_bound (zeb_actor_t *self, const char *name, const char *endpoint);

//  The actor's name and the node's (node/name).
const char *
    zeb_actor_name (zeb_actor_t *self);
const char *
    zeb_actor_node_name (zeb_actor_t *self);

//  The request engine for the actor's ROUTER (named after the actor), with
//  STATS built in: it answers the same map as the pipe's STATS. commands
//  and owner as for zeb_router_new. Caller owns the router.
zeb_router_t *
    zeb_actor_router (zeb_actor_t *self, const zeb_router_command_t *commands, void *owner);

//  The node's own keys (node/name, node/data, node/actors), applied
//  before every actor's map.
extern const zeb_config_key_t zeb_actor_node_config [];

//  Caller side (the node, tests): START an actor and read its reply by
//  name. endpoints (may be NULL) gets name -> endpoint (strings owned by
//  the hash). Returns 0 or the actor's code with fault set.
int
    zeb_actor_start (zactor_t *actor, zconfig_t *config, zhashx_t *endpoints, zeb_fault_t *fault);

//  Caller side: the STATS map of an actor as JSON (caller owns), or NULL.
json_t *
    zeb_actor_stats (zactor_t *actor);

//  A unique inproc:// endpoint name for this process ("inproc://zeb-WHAT-PID-N").
//  Caller owns it.
char *
    zeb_actor_inproc (const char *what);

//  Self test
void
    zeb_actor_test (bool verbose);

#endif
