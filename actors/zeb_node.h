/*  =========================================================================
    zeb_node - a zeb node: the actors a configuration names, wired together

    The node reads node/actors (e.g. "ingest,log") and starts those actors
    in this process, binding the endpoints the configuration gives:
    tcp:// for a daemon or split processes, inproc:// embedded in an
    application. The same code runs either way; only endpoints change.

    Start order is the registry (if node/actors names it), ingest (which
    binds the notify socket), then log (which connects to it); ingest is
    then told the log's and the registry's endpoints, to pass to clients
    in WELCOME. Destroying the node stops ingest first (it finishes and
    acknowledges the batch in hand), then log, then the registry.
    =========================================================================
*/

#ifndef ZEB_NODE_H_INCLUDED
#define ZEB_NODE_H_INCLUDED

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _zeb_node_t zeb_node_t;

//  Start a node from a configuration (borrowed; the node keeps a copy).
//  Returns NULL with fault set if the configuration is invalid or an actor
//  cannot start (bad endpoint, data directory in use, ...).
zeb_node_t *
    zeb_node_new (zconfig_t *config, zeb_fault_t *fault);

//  Start an embedded node: every actor in this process on inproc://
//  endpoints unique to this node, data in data_dir. Convenience for
//  applications and tests. Returns NULL with fault set on failure.
zeb_node_t *
    zeb_node_new_embedded (const char *data_dir, zeb_fault_t *fault);

//  Stop the actors and destroy the node; safe with NULL.
void
    zeb_node_destroy (zeb_node_t **self_p);

//  Endpoint as bound: "ingest", "log", "bus", "notify", "registry" or
//  "changes" (the registry's announcements). NULL if that actor does not
//  run here. Connect clients to the ingest endpoint.
const char *
    zeb_node_endpoint (zeb_node_t *self, const char *which);

//  The configuration the node runs with (borrowed).
zconfig_t *
    zeb_node_config (zeb_node_t *self);

//  Statistics of an actor ("ingest" or "log") as JSON text; caller owns
//  the result. NULL if the actor does not run here.
char *
    zeb_node_stats (zeb_node_t *self, const char *actor);

//  Self test
void
    zeb_node_test (bool verbose);

#ifdef __cplusplus
}
#endif

#endif
