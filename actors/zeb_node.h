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

//  Self test
void
    zeb_node_test (bool verbose);

#ifdef __cplusplus
}
#endif

#endif
