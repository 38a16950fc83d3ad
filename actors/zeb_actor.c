/*  =========================================================================
    zeb_actor - the kit every zeb actor is built with
    =========================================================================
*/

#include "zeb_actors.h"

struct _zeb_actor_t {
    const zeb_actor_def_t *def;
    zsock_t *pipe;
    zeb_loop_t *loop;
    void *state;                    //  the actor's, once started
    void *arg;                      //  the instance's argument (zeb_actor_run)
    bool start_failed;
    char *node_name;
    zlistx_t *bound;                //  "name=endpoint"
};

const zeb_config_key_t zeb_actor_node_config [] = {
    { "node/name",   "zeb",         ZEB_KEY_STR,  0, 0, NULL, "node name, reported in WELCOME and stats" },
    { "node/actors", "",            ZEB_KEY_STR,  0, 0, NULL,
      "actors this process runs, comma-separated (\"\": every actor that needs no configuration)" },
    { "node/data",   "./zeb-data",  ZEB_KEY_PATH, 0, 0, NULL, "directory holding the LMDB environments" },
    { NULL }
};

zeb_loop_t *
zeb_actor_loop (zeb_actor_t *self)
{
    assert (self);
    return self->loop;
}

void
zeb_actor_bound (zeb_actor_t *self, const char *name, const char *endpoint)
{
    assert (self);
    char *pair = zsys_sprintf ("%s=%s", name, endpoint);
    zlistx_add_end (self->bound, pair);
    zstr_free (&pair);
}

void *
zeb_actor_arg (zeb_actor_t *self)
{
    assert (self);
    return self->arg;
}

const char *
zeb_actor_name (zeb_actor_t *self)
{
    assert (self);
    return self->def->name;
}

const char *
zeb_actor_node_name (zeb_actor_t *self)
{
    assert (self);
    return self->node_name? self->node_name: "zeb";
}

char *
zeb_actor_inproc (const char *what)
{
    static int counter = 0;
    return zsys_sprintf ("inproc://zeb-%s-%d-%d", what, getpid (),
                         __atomic_add_fetch (&counter, 1, __ATOMIC_SEQ_CST));
}

//  ---------------------------------------------------------------------
//  The pipe

static void
s_start (zeb_actor_t *self, zconfig_t *config)
{
    zeb_fault_t fault = { 0 };
    int rc = 0;
    if (self->state || self->start_failed)
        rc = zeb_fault_set (&fault, ZEB_ECONFIG, "%s already started", self->def->name);
    if (rc == 0)
        rc = zeb_config_apply (config, zeb_actor_node_config, &fault);
    if (rc == 0)
        rc = zeb_config_apply (config, self->def->config, &fault);
    if (rc == 0) {
        self->node_name = strdup (zeb_config_str (config, "node/name"));
        self->state = zmalloc (self->def->size);
        assert (self->state);
        size_t readers = zeb_loop_size (self->loop);
        rc = self->def->start (self->state, self, config, &fault);
        if (rc) {
            //  Nothing start registered may outlive its state
            zeb_loop_truncate (self->loop, readers);
            self->def->stop (self->state);
            free (self->state);
            self->state = NULL;
            if (!fault.code)
                zeb_fault_set (&fault, rc, "%s: cannot start", self->def->name);
        }
    }
    zmsg_t *reply = zmsg_new ();
    zmsg_addstr (reply, rc? "-1": "0");
    zmsg_addstrf (reply, "%d", rc);
    if (rc) {
        self->start_failed = true;
        zsys_error ("%s: %s", self->def->name, fault.text);
        zmsg_addstr (reply, fault.text);
    }
    else {
        zmsg_addstr (reply, "started");
        for (char *pair = (char *) zlistx_first (self->bound); pair; pair = (char *) zlistx_next (self->bound))
            zmsg_addstr (reply, pair);
    }
    zmsg_send (&reply, self->pipe);
}

static void
s_pack_stats (zeb_actor_t *self, msgpack_sbuffer *buffer)
{
    zeb_pack_t pack;
    zeb_pack_init (&pack, buffer);
    zeb_pack_map (&pack, NULL);
    zeb_pack_str (&pack, "node", zeb_actor_node_name (self));
    zeb_pack_str (&pack, "actor", self->def->name);
    if (self->state && self->def->stats)
        self->def->stats (self->state, &pack);
    zeb_pack_end (&pack);
}

static void
s_stats (zeb_actor_t *self)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    s_pack_stats (self, &buffer);
    zframe_t *frame = zframe_new (buffer.data, buffer.size);
    zframe_send (&frame, self->pipe, 0);
    msgpack_sbuffer_destroy (&buffer);
}

static void
s_router_stats (void *arg, zeb_request_t *request)
{
    zeb_actor_t *self = (zeb_actor_t *) arg;
    msgpack_sbuffer *buffer = zeb_router_buffer (request->router);
    s_pack_stats (self, buffer);
    zeb_router_reply_buffer (request, ZEB_CMD_STATS, buffer);
}

zeb_router_t *
zeb_actor_router (zeb_actor_t *self, const zeb_router_command_t *commands, void *owner)
{
    assert (self);
    zeb_router_t *router = zeb_router_new (self->def->name, commands, owner);
    if (router)
        zeb_router_set_stats (router, s_router_stats, self);
    return router;
}

//  Every command waiting on the pipe; -1 on $TERM. The pipe is ours: a
//  malformed command is a programming error.
static int
s_handle_pipe (void *arg)
{
    zeb_actor_t *self = (zeb_actor_t *) arg;
    zmsg_t *msg;
    while ((msg = zmsg_recv (self->pipe))) {
        char *command = zmsg_popstr (msg);
        assert (command);
        bool stop = streq (command, "$TERM");
        if (streq (command, "START"))
            s_start (self, zeb_config_pop (msg));
        else
        if (streq (command, "STATS"))
            s_stats (self);
        else
        if (streq (command, "PEER")) {
            char *name = zmsg_popstr (msg);
            char *endpoint = zmsg_popstr (msg);
            assert (name && endpoint);
            if (self->state && self->def->peer)
                self->def->peer (self->state, name, endpoint);
            zstr_free (&name);
            zstr_free (&endpoint);
        }
        else
            assert (stop);
        zstr_free (&command);
        zmsg_destroy (&msg);
        if (stop)
            return -1;
    }
    return 0;
}

void
zeb_actor_main (zsock_t *pipe, void *args)
{
    zeb_actor_run (pipe, (const zeb_actor_def_t *) args, NULL);
}

void
zeb_actor_run (zsock_t *pipe, const zeb_actor_def_t *def, void *arg)
{
    assert (def && def->name && def->size && def->start && def->stop);
    zeb_actor_t *self = (zeb_actor_t *) zmalloc (sizeof (zeb_actor_t));
    assert (self);
    self->def = def;
    self->arg = arg;
    self->pipe = pipe;
    self->loop = zeb_loop_new ();
    self->bound = zlistx_new ();
    assert (self->loop && self->bound);
    zlistx_set_destructor (self->bound, (zlistx_destructor_fn *) zstr_free);
    zlistx_set_duplicator (self->bound, (zlistx_duplicator_fn *) strdup);
    zsock_set_rcvtimeo (pipe, 0);               //  read until empty, never wait
    zeb_loop_add_socket (self->loop, pipe, s_handle_pipe, self);
    //  Only the pipe handler sends on the pipe, and it reads until empty
    //  after: its descriptor tells the whole truth
    zeb_loop_trust (self->loop, pipe);
    zsock_signal (pipe, 0);
    zeb_loop_run (self->loop);
    if (self->state) {
        def->stop (self->state);
        free (self->state);
    }
    zeb_loop_destroy (&self->loop);
    zlistx_destroy (&self->bound);
    free (self->node_name);
    free (self);
}

//  ---------------------------------------------------------------------
//  The caller's side

int
zeb_actor_start (zactor_t *actor, zconfig_t *config, zhashx_t *endpoints, zeb_fault_t *fault)
{
    assert (actor);
    zsock_send (actor, "sp", "START", config);
    zmsg_t *reply = zmsg_recv (actor);
    if (!reply)
        return zeb_fault_set (fault, ZEB_ERROR, "actor did not answer START");
    char *status = zmsg_popstr (reply);
    char *code = zmsg_popstr (reply);
    char *text = zmsg_popstr (reply);
    int rc = 0;
    if (!status || !streq (status, "0")) {
        rc = code? atoi (code): ZEB_ERROR;
        if (rc == 0)
            rc = ZEB_ERROR;
        zeb_fault_set (fault, rc, "%s", text? text: "actor failed to start");
    }
    else {
        char *pair;
        while ((pair = zmsg_popstr (reply))) {
            char *equals = strchr (pair, '=');
            if (equals && endpoints) {
                *equals = 0;
                zhashx_update (endpoints, pair, equals + 1);
            }
            zstr_free (&pair);
        }
    }
    zstr_free (&status);
    zstr_free (&code);
    zstr_free (&text);
    zmsg_destroy (&reply);
    return rc;
}

json_t *
zeb_actor_stats (zactor_t *actor)
{
    assert (actor);
    zstr_send (actor, "STATS");
    zframe_t *frame = zframe_recv (actor);
    if (!frame)
        return NULL;
    json_t *json = zeb_json_from_msgpack (zframe_data (frame), zframe_size (frame), NULL);
    zframe_destroy (&frame);
    return json;
}

//  ---------------------------------------------------------------------
//  Self test: the smallest complete actor (docs/DESIGN.md shows it)

//  hello - answers HELLO with its greeting; counts what it answered
typedef struct {
    zeb_router_t *router;
    char *greeting;
    uint64_t answered;
} s_hello_t;

static void
s_hello_handle (void *owner, zeb_request_t *request)
{
    s_hello_t *self = (s_hello_t *) owner;
    msgpack_sbuffer *buffer = zeb_router_buffer (self->router);
    zeb_pack_t pack;
    zeb_pack_init (&pack, buffer);
    zeb_pack_map (&pack, NULL);
    zeb_pack_str (&pack, "greeting", self->greeting);
    zeb_pack_end (&pack);
    zeb_router_reply_buffer (request, "HELLO", buffer);
    self->answered++;
}

static const zeb_router_command_t s_hello_commands [] = {
    { "HELLO", s_hello_handle, 0 },
    { NULL }
};

static int
s_hello_front (void *arg)
{
    s_hello_t *self = (s_hello_t *) arg;
    return zeb_router_handle (self->router, 100);
}

static int
s_hello_start (void *state, zeb_actor_t *actor, zconfig_t *config, zeb_fault_t *fault)
{
    s_hello_t *self = (s_hello_t *) state;
    self->greeting = strdup (zeb_config_str (config, "hello/greeting"));
    self->router = zeb_actor_router (actor, s_hello_commands, self);
    if (zeb_router_bind (self->router, zeb_config_str (config, "hello/endpoint"), fault))
        return fault->code;
    zeb_loop_add_socket (zeb_actor_loop (actor), zeb_router_socket (self->router), s_hello_front, self);
    zeb_actor_bound (actor, "hello", zeb_router_endpoint (self->router));
    return 0;
}

static void
s_hello_stop (void *state)
{
    s_hello_t *self = (s_hello_t *) state;
    zeb_router_destroy (&self->router);
    free (self->greeting);
}

static void
s_hello_stats (void *state, zeb_pack_t *pack)
{
    s_hello_t *self = (s_hello_t *) state;
    zeb_pack_uint (pack, "answered", self->answered);
    zeb_router_pack_stats (self->router, pack);
}

static const zeb_config_key_t s_hello_config [] = {
    { "hello/endpoint", "tcp://127.0.0.1:*", ZEB_KEY_ENDPOINT, 0, 0, NULL, "ROUTER for HELLO" },
    { "hello/greeting", "hi",                ZEB_KEY_STR,      0, 0, NULL, "what HELLO answers" },
    { NULL }
};

static const zeb_actor_def_t s_hello_def = {
    "hello", "answers HELLO", false, s_hello_config, NULL,
    sizeof (s_hello_t), s_hello_start, s_hello_stop, s_hello_stats, NULL
};

void
zeb_actor_test (bool verbose)
{
    printf (" * zeb_actor: ");
    zeb_fault_t fault;
    //  Started: one reply shape, endpoints by name
    zactor_t *actor = zactor_new (zeb_actor_main, (void *) &s_hello_def);
    zconfig_t *config = zconfig_new ("root", NULL);
    zconfig_put (config, "hello/greeting", "hello there");
    zhashx_t *endpoints = zhashx_new ();
    zhashx_set_destructor (endpoints, (zhashx_destructor_fn *) zstr_free);
    zhashx_set_duplicator (endpoints, (zhashx_duplicator_fn *) strdup);
    assert (zeb_actor_start (actor, config, endpoints, &fault) == 0);
    const char *endpoint = (const char *) zhashx_lookup (endpoints, "hello");
    assert (endpoint && strncmp (endpoint, "tcp://127.0.0.1:", 16) == 0 && !strstr (endpoint, "*"));
    //  Defaults were applied to the configuration
    assert (streq (zconfig_get (config, "node/name", "?"), "zeb"));
    zsock_t *dealer = zsock_new_dealer (endpoint);
    zstr_sendx (dealer, "HELLO", "\x80", NULL);
    zsock_set_rcvtimeo (dealer, 5000);
    zmsg_t *reply = zmsg_recv (dealer);
    assert (reply && zmsg_size (reply) == 2);
    char *command = zmsg_popstr (reply);
    assert (streq (command, "HELLO"));
    zstr_free (&command);
    zmsg_destroy (&reply);
    //  STATS, by name
    json_t *stats = zeb_actor_stats (actor);
    assert (stats && streq (json_string_value (json_object_get (stats, "actor")), "hello"));
    assert (json_integer_value (json_object_get (stats, "answered")) == 1);
    json_decref (stats);
    //  ...and on the actor's own socket, built into its router
    zstr_sendx (dealer, "STATS", "\x80", NULL);
    reply = zmsg_recv (dealer);
    assert (reply && zmsg_size (reply) == 2);
    command = zmsg_popstr (reply);
    assert (streq (command, "STATS"));
    zstr_free (&command);
    zframe_t *body = zmsg_pop (reply);
    stats = zeb_json_from_msgpack (zframe_data (body), zframe_size (body), NULL);
    assert (json_integer_value (json_object_get (stats, "answered")) == 1);
    assert (json_integer_value (json_object_get (stats, "requests")) == 2);
    json_decref (stats);
    zframe_destroy (&body);
    zmsg_destroy (&reply);
    //  A second START is refused, and the actor keeps serving
    assert (zeb_actor_start (actor, config, NULL, &fault) == ZEB_ECONFIG);
    assert (strstr (fault.text, "already started"));
    zsock_destroy (&dealer);
    zactor_destroy (&actor);

    //  Refused: the code and the text travel back (a bad value, a bad
    //  endpoint), never an abort
    actor = zactor_new (zeb_actor_main, (void *) &s_hello_def);
    zconfig_put (config, "hello/endpoint", "tcp://127.0.0.1:99999");
    assert (zeb_actor_start (actor, config, NULL, &fault) == ZEB_ECONFIG);
    assert (strstr (fault.text, "hello/endpoint"));
    zactor_destroy (&actor);
    actor = zactor_new (zeb_actor_main, (void *) &s_hello_def);
    zconfig_put (config, "hello/endpoint", "tcp://256.0.0.1:5");
    assert (zeb_actor_start (actor, config, NULL, &fault) == ZEB_ECONFIG);
    assert (strstr (fault.text, "256.0.0.1"));
    zactor_destroy (&actor);

    //  inproc names are unique in the process
    char *first = zeb_actor_inproc ("test"), *second = zeb_actor_inproc ("test");
    assert (!streq (first, second));
    zstr_free (&first);
    zstr_free (&second);
    zhashx_destroy (&endpoints);
    zconfig_destroy (&config);
    printf ("OK\n");
}
