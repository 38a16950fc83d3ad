/*  =========================================================================
    zeb_node - a zeb node: the actors a configuration names, wired together
    =========================================================================
*/

#include "zeb.h"

struct _zeb_node_t {
    zconfig_t *config;
    zactor_t *ingest;
    zactor_t *log;
    zactor_t *registry;
    char *ingest_endpoint;
    char *registry_endpoint;
    char *changes_endpoint;
    char *bus_endpoint;
    char *notify_endpoint;
    char *log_endpoint;
};

//  Does the comma-separated list name this actor?
static bool
s_runs (const char *actors, const char *name)
{
    size_t len = strlen (name);
    const char *p = actors;
    while ((p = strstr (p, name))) {
        bool starts = p == actors || p [-1] == ',' || p [-1] == ' ';
        bool ends = p [len] == 0 || p [len] == ',' || p [len] == ' ';
        if (starts && ends)
            return true;
        p += len;
    }
    return false;
}

//  Deep copy through ZPL text (zconfig_dup is not in czmq's stable API)
static zconfig_t *
s_config_copy (zconfig_t *config)
{
    char *text = zconfig_str_save (config);
    zconfig_t *copy = text && *text? zconfig_str_load (text): NULL;
    zstr_free (&text);
    return copy? copy: zconfig_new ("root", NULL);
}

//  Send START with the config and read the status; returns 0 or -1 with
//  the actor's reason in fault. On success, the endpoints as bound.
static int
s_start_actor (zactor_t *actor, zconfig_t *config, zeb_fault_t *fault,
               char **first, char **second, char **third)
{
    zsock_send (actor, "sp", "START", config);
    zmsg_t *reply = zmsg_recv (actor);
    if (!reply)
        return zeb_fault_set (fault, ZEB_ERROR, "actor did not answer START");
    char *status = zmsg_popstr (reply);
    int rc = 0;
    if (!status || !streq (status, "0")) {
        char *text = zmsg_popstr (reply);
        rc = zeb_fault_set (fault, ZEB_ECONFIG, "%s", text? text: "actor failed to start");
        zstr_free (&text);
    }
    else {
        if (first)
            *first = zmsg_popstr (reply);
        if (second)
            *second = zmsg_popstr (reply);
        if (third)
            *third = zmsg_popstr (reply);
    }
    zstr_free (&status);
    zmsg_destroy (&reply);
    return rc;
}

zeb_node_t *
zeb_node_new (zconfig_t *config, zeb_fault_t *fault)
{
    assert (config);
    if (zeb_config_check (config, fault))
        return NULL;
    zeb_node_t *self = (zeb_node_t *) zmalloc (sizeof (zeb_node_t));
    if (!self) {
        zeb_fault_set (fault, ZEB_ERROR, "out of memory");
        return NULL;
    }
    self->config = s_config_copy (config);
    const char *actors = zeb_config_str (self->config, "node/actors");
    bool run_ingest = s_runs (actors, "ingest");
    bool run_log = s_runs (actors, "log");
    bool run_registry = s_runs (actors, "registry");
    if (!run_ingest && !run_log && !run_registry) {
        zeb_fault_set (fault, ZEB_ECONFIG, "node/actors = '%s' names no actor (ingest, log, registry)",
                       actors);
        zeb_node_destroy (&self);
        return NULL;
    }
    //  The registry first: ingest tells clients where it is
    if (run_registry) {
        self->registry = zactor_new (zeb_registry_actor, NULL);
        if (!self->registry
        ||  s_start_actor (self->registry, self->config, fault, &self->registry_endpoint,
                           &self->changes_endpoint, NULL)) {
            zeb_node_destroy (&self);
            return NULL;
        }
        //  Ingest asks it for schemas and hears of new ones
        zconfig_put (self->config, "registry/endpoint", self->registry_endpoint);
        zconfig_put (self->config, "registry/changes", self->changes_endpoint);
    }
    //  In one process, ingest tells log about commits over inproc
    if (!*zeb_config_str (self->config, "ingest/notify")) {
        static int counter = 0;
        zconfig_putf (self->config, "ingest/notify", "inproc://zeb-notify-%d-%d",
                      getpid (), __atomic_add_fetch (&counter, 1, __ATOMIC_SEQ_CST));
    }
    if (run_ingest) {
        self->ingest = zactor_new (zeb_ingest_actor, NULL);
        if (!self->ingest
        ||  s_start_actor (self->ingest, self->config, fault, &self->ingest_endpoint,
                           &self->bus_endpoint, &self->notify_endpoint)) {
            zeb_node_destroy (&self);
            return NULL;
        }
        zconfig_put (self->config, "ingest/notify", self->notify_endpoint);
    }
    if (run_log) {
        self->log = zactor_new (zeb_log_actor, NULL);
        if (!self->log || s_start_actor (self->log, self->config, fault, &self->log_endpoint, NULL, NULL)) {
            zeb_node_destroy (&self);
            return NULL;
        }
    }
    if (self->ingest)
        zsock_send (self->ingest, "sss", "ADVERTISE", "log",
                    self->log_endpoint? self->log_endpoint: zeb_config_str (self->config, "log/endpoint"));
    if (self->ingest && self->registry_endpoint)
        zsock_send (self->ingest, "sss", "ADVERTISE", "registry", self->registry_endpoint);
    return self;
}

zeb_node_t *
zeb_node_new_embedded (const char *data_dir, zeb_fault_t *fault)
{
    static int counter = 0;
    int id = __atomic_add_fetch (&counter, 1, __ATOMIC_SEQ_CST);
    zconfig_t *config = zconfig_new ("root", NULL);
    if (!config) {
        zeb_fault_set (fault, ZEB_ERROR, "out of memory");
        return NULL;
    }
    zconfig_put (config, "node/data", data_dir);
    zconfig_putf (config, "ingest/endpoint", "inproc://zeb-%d-%d-ingest", getpid (), id);
    zconfig_putf (config, "log/endpoint", "inproc://zeb-%d-%d-log", getpid (), id);
    zconfig_putf (config, "bus/endpoint", "inproc://zeb-%d-%d-bus", getpid (), id);
    zconfig_putf (config, "registry/endpoint", "inproc://zeb-%d-%d-registry", getpid (), id);
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
        zactor_destroy (&self->ingest);
        zactor_destroy (&self->log);
        zactor_destroy (&self->registry);
        zconfig_destroy (&self->config);
        zstr_free (&self->registry_endpoint);
        zstr_free (&self->changes_endpoint);
        zstr_free (&self->ingest_endpoint);
        zstr_free (&self->bus_endpoint);
        zstr_free (&self->notify_endpoint);
        zstr_free (&self->log_endpoint);
        free (self);
        *self_p = NULL;
    }
}

const char *
zeb_node_endpoint (zeb_node_t *self, const char *which)
{
    assert (self);
    if (streq (which, "ingest"))
        return self->ingest_endpoint;
    if (streq (which, "bus"))
        return self->bus_endpoint;
    if (streq (which, "notify"))
        return self->notify_endpoint;
    if (streq (which, "log"))
        return self->log_endpoint;
    if (streq (which, "registry"))
        return self->registry_endpoint;
    if (streq (which, "changes"))
        return self->changes_endpoint;
    return NULL;
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
    zactor_t *target = streq (actor, "ingest")? self->ingest: streq (actor, "log")? self->log: NULL;
    if (!target || target != self->ingest)
        return NULL;            //  the log answers STATS on its socket only
    zstr_send (target, "STATS");
    zframe_t *frame = zframe_recv (target);
    if (!frame)
        return NULL;
    json_t *json = zeb_json_from_msgpack (zframe_data (frame), zframe_size (frame), NULL);
    zframe_destroy (&frame);
    char *text = json? json_dumps (json, JSON_COMPACT): NULL;
    json_decref (json);
    return text;
}

//  ---------------------------------------------------------------------
//  Self test

void
zeb_node_test (bool verbose)
{
    printf (" * zeb_node: ");
    char dir [] = "/tmp/zeb-node-XXXXXX";
    assert (mkdtemp (dir));
    zeb_fault_t fault;

    //  Bad configurations are refused with a reason, not an abort
    zconfig_t *config = zconfig_new ("root", NULL);
    zconfig_put (config, "node/data", dir);
    zconfig_put (config, "ingest/sync", "sometimes");
    assert (zeb_node_new (config, &fault) == NULL && strstr (fault.text, "ingest/sync"));
    zconfig_put (config, "ingest/sync", "always");
    zconfig_put (config, "node/actors", "nothing");
    assert (zeb_node_new (config, &fault) == NULL && strstr (fault.text, "names no actor"));
    zconfig_put (config, "node/actors", "ingest,log");
    zconfig_put (config, "ingest/endpoint", "tcp://256.0.0.1:1");
    assert (zeb_node_new (config, &fault) == NULL && strstr (fault.text, "256.0.0.1"));
    zconfig_put (config, "ingest/endpoint", "tcp://127.0.0.1:*");
    zconfig_put (config, "log/endpoint", "nonsense");
    assert (zeb_node_new (config, &fault) == NULL && strstr (fault.text, "nonsense"));

    //  Split: ingest in one node, log in another, over tcp, the same code.
    //  Each must know the other's endpoint: pick four free ports, holding
    //  each until all are picked so that none repeats
    zsock_t *probes [4];
    char endpoints [4][64];
    for (int index = 0; index < 4; index++) {
        probes [index] = zsock_new_router ("tcp://127.0.0.1:*");
        assert (probes [index]);
        snprintf (endpoints [index], 64, "%s", zsock_endpoint (probes [index]));
    }
    for (int index = 0; index < 4; index++)
        zsock_destroy (&probes [index]);
    const char *log_endpoint = endpoints [3];
    zconfig_put (config, "node/actors", "ingest");
    zconfig_put (config, "ingest/endpoint", endpoints [0]);
    zconfig_put (config, "bus/endpoint", endpoints [1]);
    zconfig_put (config, "ingest/notify", endpoints [2]);
    zconfig_put (config, "log/endpoint", log_endpoint);
    zeb_node_t *writer = zeb_node_new (config, &fault);
    assert (writer);
    assert (zeb_node_endpoint (writer, "log") == NULL);
    zconfig_put (config, "node/actors", "log");
    zconfig_put (config, "log/notify", zeb_node_endpoint (writer, "notify"));
    zeb_node_t *reader = zeb_node_new (config, &fault);
    assert (reader);
    assert (streq (zeb_node_endpoint (reader, "log"), log_endpoint));
    assert (zeb_node_endpoint (reader, "ingest") == NULL);

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

    char *stats = zeb_node_stats (writer, "ingest");
    assert (stats && strstr (stats, "\"stored\":1"));
    free (stats);
    assert (zeb_node_stats (reader, "ingest") == NULL);
    zeb_client_destroy (&client);
    zeb_node_destroy (&reader);
    zeb_node_destroy (&writer);
    zeb_node_destroy (&writer);         //  safe twice

    //  Embedded: inproc endpoints, and the data survives a restart
    zeb_node_t *node = zeb_node_new_embedded (dir, &fault);
    assert (node);
    assert (strncmp (zeb_node_endpoint (node, "ingest"), "inproc://", 9) == 0);
    client = zeb_client_new (zeb_node_endpoint (node, "ingest"));
    zeb_fetch_t result;
    assert (zeb_client_fetch (client, 1, 10, 0, NULL, &result) == 0);
    assert (zlistx_size (result.events) == 1 && result.last == 1);
    zeb_fetch_reset (&result);
    assert (zeb_client_registry_endpoint (client) == NULL);     //  not run
    zeb_client_destroy (&client);
    zeb_node_destroy (&node);

    //  With the registry: started first, advertised in WELCOME
    zconfig_put (config, "node/actors", "ingest,log,registry");
    zconfig_putf (config, "ingest/endpoint", "inproc://zeb-node-test-r-%d", getpid ());
    zconfig_putf (config, "log/endpoint", "inproc://zeb-node-test-r-log-%d", getpid ());
    zconfig_putf (config, "bus/endpoint", "inproc://zeb-node-test-r-bus-%d", getpid ());
    zconfig_putf (config, "registry/endpoint", "inproc://zeb-node-test-r-registry-%d", getpid ());
    zconfig_put (config, "log/notify", "");
    zconfig_put (config, "ingest/notify", "");
    node = zeb_node_new (config, &fault);
    assert (node);
    client = zeb_client_new (zeb_node_endpoint (node, "ingest"));
    assert (zeb_client_connect (client) == 0);
    assert (streq (zeb_client_registry_endpoint (client), zeb_node_endpoint (node, "registry")));
    assert (zeb_node_endpoint (node, "changes"));
    zsock_t *admin = zsock_new_dealer (zeb_node_endpoint (node, "registry"));
    zstr_sendx (admin, "LIST", "\x80", NULL);
    char *command = zstr_recv (admin);
    assert (command && streq (command, "LIST"));
    zstr_free (&command);
    zsock_destroy (&admin);
    zeb_client_destroy (&client);
    zeb_node_destroy (&node);

    zconfig_destroy (&config);
    zdir_t *tree = zdir_new (dir, NULL);
    zdir_remove (tree, true);
    zdir_destroy (&tree);
    if (verbose)
        printf ("(split and embedded) ");
    printf ("OK\n");
}
