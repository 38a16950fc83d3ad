/*  =========================================================================
    zeb_node - a zeb node: the actors a configuration names, wired together
    =========================================================================
*/

#include "zeb_actors.h"

//  The actors of a node, in start order. Adding an actor is one row here
//  and the actor's own file.
static const zeb_actor_def_t *const s_actors [] = {
    &zeb_registry_def,
    &zeb_ingest_def,
    &zeb_log_def,
    &zeb_outbox_def,
    &zeb_automation_def,
    &zeb_crond_def,
    &zeb_http_def,
    NULL
};

#define S_ACTORS    (sizeof (s_actors) / sizeof (s_actors [0]) - 1)

struct _zeb_node_t {
    zconfig_t *config;
    zactor_t *actors [S_ACTORS];    //  by table row; NULL if not run here
    zhashx_t *endpoints;            //  name -> endpoint, as bound
    zhashx_t *handlers;             //  handler id -> s_handler_t (zeb_node_on)
    zhashx_t *actions;              //  action type -> zactor_t (its executor host)
};

#define S_MAX_EXECUTOR_MAPS 16        //  executors with keys of their own

typedef struct _s_handler_t s_handler_t;
static void s_handler_destroy (s_handler_t **self_p);

//  Every key map: the node's, then each actor's
static void
s_maps (const zeb_config_key_t **maps)
{
    size_t count = 0;
    maps [count++] = zeb_actor_node_config;
    for (size_t row = 0; row < S_ACTORS; row++)
        maps [count++] = s_actors [row]->config;
    //  The outbox's executors read keys of their own (webhook/...)
    for (size_t row = 0; zeb_executor_table [row]; row++)
        if (zeb_executor_table [row]->config)
            maps [count++] = zeb_executor_table [row]->config;
    maps [count] = NULL;
}

zconfig_t *
zeb_node_config_load (const char *filename, zeb_fault_t *fault)
{
    const zeb_config_key_t *maps [S_ACTORS + S_MAX_EXECUTOR_MAPS + 2];
    s_maps (maps);
    return zeb_config_load (filename, maps, fault);
}

int
zeb_node_config_set (zconfig_t *config, const char *assignment, zeb_fault_t *fault)
{
    const zeb_config_key_t *maps [S_ACTORS + S_MAX_EXECUTOR_MAPS + 2];
    s_maps (maps);
    return zeb_config_set (config, assignment, maps, fault);
}

void
zeb_node_config_help (FILE *stream)
{
    fprintf (stream, "Actors (node/actors; \"\" runs those marked *):\n");
    for (size_t row = 0; row < S_ACTORS; row++)
        fprintf (stream, "  %-10s %s %s\n", s_actors [row]->name,
                 s_actors [row]->default_on? "*": " ", s_actors [row]->help);
    fprintf (stream, "\n");
    const zeb_config_key_t *maps [S_ACTORS + S_MAX_EXECUTOR_MAPS + 2];
    s_maps (maps);
    zeb_config_print_help (stream, maps);
}

//  Which rows node/actors names; 0, or ZEB_ECONFIG naming an unknown one
static int
s_select (const char *list, bool *runs, zeb_fault_t *fault)
{
    bool any = false;
    for (size_t row = 0; row < S_ACTORS; row++)
        runs [row] = false;
    const char *p = list;
    while (*p) {
        while (*p == ',' || *p == ' ')
            p++;
        size_t len = strcspn (p, ", ");
        if (len == 0)
            break;
        size_t row;
        for (row = 0; row < S_ACTORS; row++)
            if (strlen (s_actors [row]->name) == len && memcmp (s_actors [row]->name, p, len) == 0)
                break;
        if (row == S_ACTORS) {
            char known [200] = "";
            for (size_t index = 0; index < S_ACTORS; index++)
                snprintf (known + strlen (known), sizeof (known) - strlen (known), "%s%s",
                          index? ", ": "", s_actors [index]->name);
            return zeb_fault_set (fault, ZEB_ECONFIG, "node/actors: no actor named '%.*s' (known: %s)",
                                  (int) len, p, known);
        }
        runs [row] = any = true;
        p += len;
    }
    if (!any)
        for (size_t row = 0; row < S_ACTORS; row++)
            runs [row] = s_actors [row]->default_on;
    return 0;
}

zeb_node_t *
zeb_node_new (zconfig_t *config, zeb_fault_t *fault)
{
    assert (config);
    const zeb_config_key_t *maps [S_ACTORS + S_MAX_EXECUTOR_MAPS + 2];
    s_maps (maps);
    bool runs [S_ACTORS];
    if (zeb_config_check (config, maps, fault)
    ||  s_select (zconfig_get (config, "node/actors", ""), runs, fault))
        return NULL;
    zeb_node_t *self = (zeb_node_t *) zmalloc (sizeof (zeb_node_t));
    assert (self);
    self->config = zeb_config_dup (config);
    self->endpoints = zhashx_new ();
    zhashx_set_destructor (self->endpoints, (zhashx_destructor_fn *) zstr_free);
    zhashx_set_duplicator (self->endpoints, (zhashx_duplicator_fn *) strdup);
    self->handlers = zhashx_new ();
    zhashx_set_destructor (self->handlers, (zhashx_destructor_fn *) s_handler_destroy);
    self->actions = zhashx_new ();
    zhashx_set_destructor (self->actions, (zhashx_destructor_fn *) zactor_destroy);
    for (const zeb_config_key_t *const *map = maps; *map; map++)
        if (zeb_config_apply (self->config, *map, fault)) {
            zeb_node_destroy (&self);
            return NULL;
        }
    for (size_t row = 0; row < S_ACTORS; row++) {
        if (!runs [row])
            continue;
        const zeb_actor_def_t *def = s_actors [row];
        //  Connect to what the actors before this one bound
        for (const zeb_actor_link_t *link = def->links; link && link->key; link++) {
            const char *endpoint = (const char *) zhashx_lookup (self->endpoints, link->endpoint);
            if (endpoint)
                zconfig_put (self->config, link->key, endpoint);
        }
        self->actors [row] = zactor_new (zeb_actor_main, (void *) def);
        if (!self->actors [row]) {
            zeb_fault_set (fault, ZEB_ERROR, "cannot start a thread for %s", def->name);
            zeb_node_destroy (&self);
            return NULL;
        }
        if (zeb_actor_start (self->actors [row], self->config, self->endpoints, fault)) {
            zeb_node_destroy (&self);
            return NULL;
        }
    }
    //  Everyone learns where everyone is
    for (const char *endpoint = (const char *) zhashx_first (self->endpoints); endpoint;
         endpoint = (const char *) zhashx_next (self->endpoints))
        zeb_node_peer (self, (const char *) zhashx_cursor (self->endpoints), endpoint);
    zeb_node_peer (self, "", "");       //  that was all: serve
    return self;
}

zeb_node_t *
zeb_node_new_embedded (const char *data_dir, zeb_fault_t *fault)
{
    return zeb_node_new_embedded_with (data_dir, NULL, fault);
}

zeb_node_t *
zeb_node_new_embedded_with (const char *data_dir, zconfig_t *settings, zeb_fault_t *fault)
{
    zconfig_t *config = settings? zeb_config_dup (settings): zconfig_new ("root", NULL);
    assert (config);
    zconfig_put (config, "node/data", data_dir);
    //  An embedded node serves no HTTP unless its settings name an endpoint
    if (!zconfig_locate (config, "http/endpoint"))
        zconfig_put (config, "http/endpoint", "");
    //  Every endpoint an actor binds becomes a name of this node's own,
    //  unless the settings name one
    const zeb_config_key_t *maps [S_ACTORS + S_MAX_EXECUTOR_MAPS + 2];
    s_maps (maps);
    for (const zeb_config_key_t *const *map = maps; *map; map++)
        for (const zeb_config_key_t *key = *map; key->path; key++)
            if (key->kind == ZEB_KEY_ENDPOINT && *key->fallback && !zconfig_locate (config, key->path)) {
                char what [64];
                snprintf (what, sizeof (what), "%s", key->path);
                for (char *p = what; *p; p++)
                    if (*p == '/')
                        *p = '-';
                char *endpoint = zeb_actor_inproc (what);
                zconfig_put (config, key->path, endpoint);
                zstr_free (&endpoint);
            }
    zeb_node_t *self = zeb_node_new (config, fault);
    zconfig_destroy (&config);
    return self;
}

void
zeb_node_destroy (zeb_node_t **self_p)
{
    assert (self_p);
    zeb_node_t *self = *self_p;
    if (self) {
        //  The application's handlers and actions first: they use the actors
        zhashx_destroy (&self->handlers);
        zhashx_destroy (&self->actions);
        for (size_t row = S_ACTORS; row-- > 0; )
            zactor_destroy (&self->actors [row]);
        zconfig_destroy (&self->config);
        zhashx_destroy (&self->endpoints);
        free (self);
        *self_p = NULL;
    }
}

const char *
zeb_node_endpoint (zeb_node_t *self, const char *which)
{
    assert (self);
    return (const char *) zhashx_lookup (self->endpoints, which);
}

void
zeb_node_peer (zeb_node_t *self, const char *name, const char *endpoint)
{
    assert (self);
    for (size_t row = 0; row < S_ACTORS; row++)
        if (self->actors [row])
            zsock_send (self->actors [row], "sss", "PEER", name, endpoint);
}

zconfig_t *
zeb_node_config (zeb_node_t *self)
{
    assert (self);
    return self->config;
}

char *
zeb_node_stats (zeb_node_t *self, const char *actor)
{
    assert (self);
    for (size_t row = 0; row < S_ACTORS; row++)
        if (self->actors [row] && streq (s_actors [row]->name, actor)) {
            json_t *json = zeb_actor_stats (self->actors [row]);
            char *text = json? json_dumps (json, JSON_COMPACT): NULL;
            json_decref (json);
            return text;
        }
    return NULL;
}

//  ---------------------------------------------------------------------
//  Embedded handlers and actions

//  A handler: its feed (log -> runs) and its executor host (runs -> fn)
struct _s_handler_t {
    char id [129];
    char action [160];
    zactor_t *feed;
    zactor_t *host;
    zeb_handler_fn *fn;
    void *arg;
};

static void
s_handler_destroy (s_handler_t **self_p)
{
    s_handler_t *self = *self_p;
    if (self) {
        zactor_destroy (&self->feed);
        zactor_destroy (&self->host);
        free (self);
        *self_p = NULL;
    }
}

//  The host calls actions; a handler takes no config
static int
s_handler_call (zeb_event_t *event, json_t *config, const char **error, void *arg)
{
    s_handler_t *handler = (s_handler_t *) arg;
    return handler->fn (event, error, handler->arg);
}

static void
s_feed_args (zeb_feed_args_t *args, const char *id, const char *prefix, const char *action,
             const char *outbox, const char *log)
{
    memset (args, 0, sizeof (*args));
    snprintf (args->handler_id, sizeof (args->handler_id), "%s", id);
    snprintf (args->prefix, sizeof (args->prefix), "%s", prefix);
    snprintf (args->action, sizeof (args->action), "%s", action);
    snprintf (args->outbox, sizeof (args->outbox), "%s", outbox);
    snprintf (args->log, sizeof (args->log), "%s", log);
}

static zactor_t *
s_host_start (zeb_node_t *self, const char *name, zeb_action_fn *fn, void *arg, uint32_t credit,
              zeb_fault_t *fault)
{
    const char *workers = zeb_node_endpoint (self, "workers");
    if (!workers) {
        zeb_fault_set (fault, ZEB_ECONFIG, "%s: this node runs no outbox", name);
        return NULL;
    }
    zeb_executor_args_t args = { NULL, workers, name, fn, arg, credit? credit: 1 };
    return zeb_executor_start (&args, self->config, fault);
}

int
zeb_node_register_action (zeb_node_t *self, const char *type, zeb_action_fn *fn, void *arg,
                          uint32_t concurrency, zeb_fault_t *fault)
{
    assert (self);
    if (!type || !*type || strlen (type) > 63 || !fn)
        return zeb_fault_set (fault, ZEB_ECONFIG, "an action needs a type (1..63 bytes) and a function");
    if (zhashx_lookup (self->actions, type))
        return zeb_fault_set (fault, ZEB_ECONFIG, "action type %s is registered already", type);
    zactor_t *host = s_host_start (self, type, fn, arg, concurrency, fault);
    if (!host)
        return fault->code? fault->code: ZEB_ECONFIG;
    zhashx_insert (self->actions, type, host);
    return 0;
}

int
zeb_node_on (zeb_node_t *self, const char *prefix, zeb_handler_fn *fn, void *arg,
             const zeb_handler_options_t *options, zeb_fault_t *fault)
{
    assert (self);
    if (!fn || !options || !options->handler_id || !*options->handler_id
    ||  strlen (options->handler_id) > 128)
        return zeb_fault_set (fault, ZEB_ECONFIG, "a handler needs a function and a handler_id of 1..128 bytes");
    if (!prefix)
        prefix = "";
    if (strlen (prefix) > 255)
        return zeb_fault_set (fault, ZEB_ECONFIG, "handler %s: the prefix is over 255 bytes", options->handler_id);
    if (zhashx_lookup (self->handlers, options->handler_id))
        return zeb_fault_set (fault, ZEB_ECONFIG, "handler %s is on already", options->handler_id);
    const char *outbox = zeb_node_endpoint (self, "outbox");
    const char *log = zeb_node_endpoint (self, "log");
    if (!outbox || !log)
        return zeb_fault_set (fault, ZEB_ECONFIG, "handler %s: the node must run the outbox and the log",
                              options->handler_id);
    s_handler_t *handler = (s_handler_t *) zmalloc (sizeof (s_handler_t));
    assert (handler);
    snprintf (handler->id, sizeof (handler->id), "%s", options->handler_id);
    snprintf (handler->action, sizeof (handler->action), "handler:%.60s", options->handler_id);
    handler->fn = fn;
    handler->arg = arg;
    handler->host = s_host_start (self, handler->action, s_handler_call, handler, options->concurrency, fault);
    if (!handler->host) {
        s_handler_destroy (&handler);
        return fault->code? fault->code: ZEB_ECONFIG;
    }
    //  The feed: its runs carry the handler's retry policy
    zeb_feed_args_t args;
    s_feed_args (&args, handler->id, prefix, handler->action, outbox, log);
    msgpack_sbuffer policy;
    msgpack_sbuffer_init (&policy);
    zeb_pack_t pack;
    zeb_pack_init (&pack, &policy);
    zeb_pack_map (&pack, NULL);
    if (options->max_attempts)
        zeb_pack_uint (&pack, "maxAttempts", options->max_attempts);
    if (options->backoff_ms)
        zeb_pack_int (&pack, "backoffMs", options->backoff_ms);
    if (options->exponential)
        zeb_pack_bool (&pack, "exponentialBackoff", options->exponential > 0);
    if (options->jitter)
        zeb_pack_bool (&pack, "jitter", options->jitter > 0);
    if (options->timeout_ms)
        zeb_pack_int (&pack, "timeout", options->timeout_ms);
    zeb_pack_end (&pack);
    assert (policy.size <= sizeof (args.policy));
    memcpy (args.policy, policy.data, policy.size);
    args.policy_size = policy.size;
    msgpack_sbuffer_destroy (&policy);
    args.key_fn = options->idempotency_key;
    args.key_arg = options->key_arg;
    handler->feed = zactor_new (zeb_feed_actor, &args);
    if (!handler->feed) {
        s_handler_destroy (&handler);
        return zeb_fault_set (fault, ZEB_ERROR, "handler %s: cannot start its feed", options->handler_id);
    }
    zhashx_insert (self->handlers, handler->id, handler);
    return 0;
}

int
zeb_node_subscribe (zeb_node_t *self, const char *id, const char *prefix, const char *type,
                    json_t *config, zeb_fault_t *fault)
{
    assert (self);
    if (!id || !*id || strlen (id) > 128 || !type || !*type || strlen (type) > 63
    ||  (config && !json_is_object (config)))
        return zeb_fault_set (fault, ZEB_ECONFIG, "a subscription needs an id (1..128 bytes), an action type "
                              "(1..63) and a config object");
    if (!prefix)
        prefix = "";
    if (strlen (prefix) > 255 || zhashx_lookup (self->handlers, id))
        return zeb_fault_set (fault, ZEB_ECONFIG, "subscription %s: in use already, or a prefix over 255 bytes", id);
    const char *outbox = zeb_node_endpoint (self, "outbox");
    const char *log = zeb_node_endpoint (self, "log");
    if (!outbox || !log)
        return zeb_fault_set (fault, ZEB_ECONFIG, "subscription %s: the node must run the outbox and the log", id);
    s_handler_t *handler = (s_handler_t *) zmalloc (sizeof (s_handler_t));
    assert (handler);
    snprintf (handler->id, sizeof (handler->id), "%s", id);
    zeb_feed_args_t args;
    s_feed_args (&args, id, prefix, type, outbox, log);
    msgpack_sbuffer packed;
    msgpack_sbuffer_init (&packed);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &packed, msgpack_sbuffer_write);
    json_t *empty = config? NULL: json_object ();
    zeb_json_to_msgpack (config? config: empty, &pk);
    json_decref (empty);
    args.config = (uint8_t *) packed.data;
    args.config_size = packed.size;
    handler->feed = zactor_new (zeb_feed_actor, &args);
    msgpack_sbuffer_destroy (&packed);
    if (!handler->feed) {
        s_handler_destroy (&handler);
        return zeb_fault_set (fault, ZEB_ERROR, "subscription %s: cannot start its feed", id);
    }
    zhashx_insert (self->handlers, handler->id, handler);
    return 0;
}

int
zeb_node_off (zeb_node_t *self, const char *handler_id)
{
    assert (self);
    if (!handler_id || !zhashx_lookup (self->handlers, handler_id))
        return ZEB_ENOTFOUND;
    zhashx_delete (self->handlers, handler_id);
    return 0;
}

int
zeb_node_get (zeb_node_t *self, const char *db, const void *key, size_t key_size,
              void **value, size_t *size)
{
    assert (self && db && key && value && size);
    *value = NULL;
    *size = 0;
    if (!*db || strlen (db) > 64 || key_size == 0 || key_size > 511)
        return ZEB_ENOTFOUND;
    //  The store's environment, shared with the writer (zeb_lmdb)
    char *path = zsys_sprintf ("%s/events", zconfig_get (self->config, "node/data", "."));
    zeb_lmdb_options_t options = { 0, 0, { "events", "dedup", "dedupexp", "times", "meta", NULL } };
    zeb_fault_t fault;
    zeb_lmdb_t *lmdb = zeb_lmdb_open (path, &options, &fault);
    zstr_free (&path);
    if (!lmdb)
        return ZEB_ESTORAGE;
    char name [80];
    snprintf (name, sizeof (name), "app/%s", db);
    MDB_dbi dbi;
    int rc = zeb_lmdb_dbi_open (lmdb, name, false, &dbi);
    MDB_txn *txn;
    if (rc == 0 && (rc = zeb_lmdb_read_begin (lmdb, &txn)) == 0) {
        MDB_val k = { key_size, (void *) key }, v;
        int found = mdb_get (txn, dbi, &k, &v);
        if (found == 0) {
            *value = malloc (v.mv_size? v.mv_size: 1);
            assert (*value);
            memcpy (*value, v.mv_data, v.mv_size);
            *size = v.mv_size;
        }
        else
            rc = found == MDB_NOTFOUND? ZEB_ENOTFOUND: zeb_lmdb_error (found, "read an application key");
        zeb_lmdb_read_end (lmdb, txn);
    }
    zeb_lmdb_close (&lmdb);
    return rc;
}

//  ---------------------------------------------------------------------
//  Self test

//  Signal policy: an actor stops only on $TERM (the node's destruction),
//  never on SIGINT or czmq's zsys_interrupted; the application that embeds
//  the node owns its signals. czmq's own SIGINT handler does no more than
//  set zsys_interrupted, so the test sets it: every actor must go on
//  answering (more than once: a loop that checks the flag between
//  requests answers the first and then leaves), and the node must still
//  stop cleanly once the flag is cleared.
static void
s_test_interrupted (bool verbose)
{
    char dir [] = "/tmp/zeb-node-signal-XXXXXX";
    assert (mkdtemp (dir));
    zeb_fault_t fault;
    zeb_node_t *node = zeb_node_new_embedded (dir, &fault);
    assert (node);
    zeb_client_t *client = zeb_client_new (zeb_node_endpoint (node, "ingest"));
    zeb_registry_client_t *registry = zeb_registry_client_new (zeb_node_endpoint (node, "registry"));
    assert (client && registry);
    assert (zeb_client_connect (client) == 0);

    zsys_interrupted = 1;
    for (int round = 1; round <= 3; round++) {
        json_t *reply = NULL;
        assert (zeb_registry_client_list (registry, "zeb.", &reply, &fault) == 0);
        assert (json_array_size (json_object_get (reply, "types")) == 4);
        json_decref (reply);
        zeb_event_t *event = zeb_event_new ("signal.tested");
        zeb_event_set (event, "source", "node-test");
        zeb_ack_t ack;
        assert (zeb_client_publish (client, event, &ack) == 0);
        assert (ack.sequence == (uint64_t) round);
        zeb_event_destroy (&event);
        zeb_fetch_t result;
        assert (zeb_client_fetch (client, 1, 10, 0, NULL, &result) == 0);
        assert (zlistx_size (result.events) == (size_t) round && result.last == (uint64_t) round);
        zeb_fetch_reset (&result);
    }
    char *stats = zeb_node_stats (node, "registry");
    assert (stats && strstr (stats, "\"actor\":\"registry\""));
    free (stats);
    zsys_interrupted = 0;

    zeb_registry_client_destroy (&registry);
    zeb_client_destroy (&client);
    zeb_node_destroy (&node);
    assert (node == NULL);
    zdir_t *tree = zdir_new (dir, NULL);
    zdir_remove (tree, true);
    zdir_destroy (&tree);
    if (verbose)
        printf ("(zsys_interrupted ignored) ");
}

void
zeb_node_test (bool verbose)
{
    printf (" * zeb_node: ");
    char dir [] = "/tmp/zeb-node-XXXXXX";
    assert (mkdtemp (dir));
    zeb_fault_t fault;

    //  Bad configurations are refused with a reason and a code, not an
    //  abort. Every endpoint is ephemeral: the test runs beside a zebd on
    //  the default ports and beside another copy of itself
    zconfig_t *config = zconfig_new ("root", NULL);
    zconfig_put (config, "node/data", dir);
    zconfig_put (config, "ingest/endpoint", "tcp://127.0.0.1:*");
    zconfig_put (config, "bus/endpoint", "tcp://127.0.0.1:*");
    zconfig_put (config, "log/endpoint", "tcp://127.0.0.1:*");
    zconfig_put (config, "registry/endpoint", "tcp://127.0.0.1:*");
    zconfig_put (config, "ingest/sync", "sometimes");
    assert (zeb_node_new (config, &fault) == NULL && strstr (fault.text, "ingest/sync"));
    assert (fault.code == ZEB_ECONFIG);
    zconfig_put (config, "ingest/sync", "always");
    zconfig_put (config, "node/actors", "nothing");
    assert (zeb_node_new (config, &fault) == NULL && strstr (fault.text, "no actor named 'nothing'"));
    zconfig_put (config, "node/actors", "ingest,log");
    zconfig_put (config, "ingest/endpoint", "tcp://256.0.0.1:1");
    assert (zeb_node_new (config, &fault) == NULL && strstr (fault.text, "256.0.0.1"));
    assert (fault.code == ZEB_ECONFIG);
    zconfig_put (config, "ingest/endpoint", "tcp://127.0.0.1:*");
    zconfig_put (config, "log/endpoint", "nonsense");
    assert (zeb_node_new (config, &fault) == NULL && strstr (fault.text, "nonsense"));
    zconfig_put (config, "log/endpoint", "tcp://127.0.0.1:*");
    //  A storage failure is reported as one, not as a configuration error
    char *blocked = zsys_sprintf ("%s/file", dir);
    FILE *file = fopen (blocked, "w");
    assert (file);
    fclose (file);
    zconfig_put (config, "node/data", blocked);
    assert (zeb_node_new (config, &fault) == NULL && fault.code == ZEB_ESTORAGE);
    zconfig_put (config, "node/data", dir);
    unlink (blocked);
    zstr_free (&blocked);

    //  Split: ingest in one node, log in another, over tcp on ephemeral
    //  ports, the same code: the log node connects to the ingest node's
    //  commit notices, and the ingest node is told where the log is
    zconfig_put (config, "node/actors", "ingest");
    zconfig_put (config, "ingest/notify", "tcp://127.0.0.1:*");
    zeb_node_t *writer = zeb_node_new (config, &fault);
    assert (writer);
    assert (zeb_node_endpoint (writer, "log") == NULL);
    zconfig_put (config, "node/actors", "log");
    zconfig_put (config, "log/notify", zeb_node_endpoint (writer, "notify"));
    zeb_node_t *reader = zeb_node_new (config, &fault);
    assert (reader);
    const char *log_endpoint = zeb_node_endpoint (reader, "log");
    assert (log_endpoint && !strstr (log_endpoint, "*"));
    assert (zeb_node_endpoint (reader, "ingest") == NULL);
    zeb_node_peer (writer, "log", log_endpoint);

    zeb_client_t *client = zeb_client_new (zeb_node_endpoint (writer, "ingest"));
    assert (zeb_client_connect (client) == 0);
    assert (streq (zeb_client_log_endpoint (client), log_endpoint));
    zeb_cursor_t *cursor = zeb_cursor_new (client, 0);
    int error;
    assert (zeb_cursor_next (cursor, 0, &error) == NULL && error == 0);
    //  A long-poll on the log node is woken by a commit on the ingest node
    zeb_event_t *event = zeb_event_new ("split.test");
    zeb_event_set (event, "source", "node-test");
    assert (zeb_client_publish_async (client, event, NULL, NULL) == 0);
    assert (zeb_client_flush (client, 5000) == 0);
    zeb_event_destroy (&event);
    event = zeb_cursor_next (cursor, 5000, &error);
    assert (event && zeb_event_sequence (event) == 1 && streq (zeb_event_type (event), "split.test"));
    zeb_event_destroy (&event);
    zeb_cursor_destroy (&cursor);

    //  Statistics of every actor, by name
    char *stats = zeb_node_stats (writer, "ingest");
    assert (stats && strstr (stats, "\"stored\":1"));
    free (stats);
    stats = zeb_node_stats (reader, "log");
    assert (stats && strstr (stats, "\"actor\":\"log\"") && strstr (stats, "\"fetches\":"));
    free (stats);
    assert (zeb_node_stats (reader, "ingest") == NULL);
    zeb_client_destroy (&client);
    zeb_node_destroy (&reader);
    zeb_node_destroy (&writer);
    zeb_node_destroy (&writer);         //  safe twice

    //  Embedded: inproc endpoints, every default actor, the registry
    //  advertised in WELCOME, and the data survives a restart
    zeb_node_t *node = zeb_node_new_embedded (dir, &fault);
    assert (node);
    assert (strncmp (zeb_node_endpoint (node, "ingest"), "inproc://", 9) == 0);
    assert (zeb_node_endpoint (node, "changes"));
    client = zeb_client_new (zeb_node_endpoint (node, "ingest"));
    zeb_fetch_t result;
    assert (zeb_client_fetch (client, 1, 10, 0, NULL, &result) == 0);
    assert (zlistx_size (result.events) == 1 && result.last == 1);
    zeb_fetch_reset (&result);
    assert (streq (zeb_client_registry_endpoint (client), zeb_node_endpoint (node, "registry")));
    stats = zeb_node_stats (node, "registry");
    assert (stats && strstr (stats, "\"actor\":\"registry\""));
    free (stats);
    zeb_client_destroy (&client);
    zeb_node_destroy (&node);

    //  Only what node/actors names
    zconfig_put (config, "node/actors", "ingest, log");
    zconfig_put (config, "ingest/notify", "");
    zconfig_put (config, "log/notify", "");
    node = zeb_node_new (config, &fault);
    assert (node && zeb_node_endpoint (node, "registry") == NULL);
    client = zeb_client_new (zeb_node_endpoint (node, "ingest"));
    assert (zeb_client_connect (client) == 0);
    assert (zeb_client_registry_endpoint (client) == NULL);
    assert (streq (zeb_client_log_endpoint (client), zeb_node_endpoint (node, "log")));
    zeb_client_destroy (&client);
    zeb_node_destroy (&node);

    //  The help lists every actor's keys
    char *help = NULL;
    size_t help_size = 0;
    FILE *stream = open_memstream (&help, &help_size);
    zeb_node_config_help (stream);
    fclose (stream);
    assert (strstr (help, "ingest/batch") && strstr (help, "log/max_wait") && strstr (help, "registry/endpoint"));
    assert (strstr (help, "ZEB_NODE_DATA"));
    free (help);

    //  Actors ignore zsys_interrupted (see s_test_interrupted)
    s_test_interrupted (verbose);

    zconfig_destroy (&config);
    zdir_t *tree = zdir_new (dir, NULL);
    zdir_remove (tree, true);
    zdir_destroy (&tree);
    if (verbose)
        printf ("(split and embedded) ");
    printf ("OK\n");
}
