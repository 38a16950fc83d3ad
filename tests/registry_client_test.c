/*  =========================================================================
    registry_client_test - zeb_registry_client against a real registry

    usage: registry_client_test [case]

    A node that runs only the registry is started through the public node
    API (zeb_node_new), bound to an ephemeral tcp port, with its data in a
    fresh temporary directory: the test runs beside a zebd on the default
    ports and beside another run of itself.

    verbs       every registry verb: LIST, REGISTER (new, duplicate),
                CHECK, GET (latest, a version, unknown), VERSIONS,
                SET_COMPATIBILITY, SET_VALIDATION, DELETE (one version,
                then all); a breaking schema gets ZEB_ECONFLICT with the
                NACK's "reasons" readable; zeb.* types are ZEB_EFORBIDDEN;
                bad values ZEB_EINVALID; unknown types ZEB_ENOTFOUND.
    async       several GETs sent without blocking, answered through
                polling the client's socket (zpoller) and its ZMQ_FD
                (edge-triggered, as ingest does), matched by request id;
                an async reply read by a synchronous call on the way is
                kept for get_recv.
    timeout     against a ROUTER that never answers: a call returns
                ZEB_ETIMEOUT in time; its late reply is dropped and the
                next call gets its own answer; an async GET comes back as
                ZEB_ETIMEOUT and its late reply is dropped too; the number
                of async GETs outstanding is bounded.
    =========================================================================
*/

#include "testutil.h"
#include <poll.h>

#define S_WAIT_MS   10000           //  deadline of every wait for a condition

static const char *s_v1 =
    "{\"type\":\"object\",\"required\":[\"orderId\"],"
    "\"properties\":{\"orderId\":{\"type\":\"string\",\"maxLength\":20}}}";
static const char *s_v2 =
    "{\"type\":\"object\",\"required\":[\"orderId\"],"
    "\"properties\":{\"orderId\":{\"type\":\"string\",\"maxLength\":40}}}";
//  Breaks BACKWARD: a required property, added to an open model
static const char *s_v3 =
    "{\"type\":\"object\",\"required\":[\"orderId\",\"currency\"],"
    "\"properties\":{\"orderId\":{\"type\":\"string\"},\"currency\":{\"type\":\"string\"}}}";

//  ---------------------------------------------------------------------
//  A node running the registry, through the public API

typedef struct {
    char data [64];
    zeb_node_t *node;
    const char *endpoint;
} s_registry_t;

static void
s_registry_start (s_registry_t *self)
{
    test_tempdir (self->data, sizeof (self->data));
    zconfig_t *config = zconfig_new ("root", NULL);
    zconfig_put (config, "node/data", self->data);
    zconfig_put (config, "node/actors", "registry");
    zconfig_put (config, "registry/endpoint", "tcp://127.0.0.1:*");
    zeb_fault_t fault = { 0 };
    self->node = zeb_node_new (config, &fault);
    if (!self->node)
        fprintf (stderr, "zeb_node_new: %s\n", fault.text);
    assert (self->node);
    zconfig_destroy (&config);
    self->endpoint = zeb_node_endpoint (self->node, "registry");
    assert (self->endpoint && strncmp (self->endpoint, "tcp://127.0.0.1:", 16) == 0);
    assert (!streq (self->endpoint, "tcp://127.0.0.1:*"));
}

static void
s_registry_stop (s_registry_t *self)
{
    zeb_node_destroy (&self->node);
    test_rmtree (self->data);
}

//  The JSON text of one member, for asserts; caller frees
static char *
s_member_text (json_t *object, const char *key)
{
    return json_dumps (json_object_get (object, key), JSON_COMPACT | JSON_ENCODE_ANY);
}

static bool
s_member_is (json_t *object, const char *key, const char *expected)
{
    char *text = s_member_text (object, key);
    bool same = text && streq (text, expected);
    if (!same)
        fprintf (stderr, "%s: expected %s, got %s\n", key, expected, text? text: "(none)");
    free (text);
    return same;
}

//  ---------------------------------------------------------------------
//  verbs

static void
s_test_verbs (void)
{
    assert (zeb_registry_client_new (NULL) == NULL);
    assert (zeb_registry_client_new ("") == NULL);
    assert (zeb_registry_client_new ("nonsense") == NULL);
    assert (zeb_registry_client_new ("tcp://") == NULL);

    s_registry_t registry;
    s_registry_start (&registry);
    zeb_registry_client_t *client = zeb_registry_client_new (registry.endpoint);
    assert (client);
    zeb_fault_t fault;
    json_t *reply;

    //  LIST: the node's own types, then by prefix
    assert (zeb_registry_client_list (client, NULL, &reply, &fault) == 0);
    assert (json_array_size (json_object_get (reply, "types")) == 4);
    assert (s_member_is (json_array_get (json_object_get (reply, "types"), 0), "type", "\"zeb.dead_letter\""));
    json_decref (reply);
    assert (zeb_registry_client_list (client, "zeb.replay.", &reply, &fault) == 0);
    assert (json_array_size (json_object_get (reply, "types")) == 2);
    json_decref (reply);

    //  REGISTER: new, then the same schema again (duplicate), then v2
    assert (zeb_registry_client_register (client, "order.placed", s_v1, "An order", NULL, &reply, &fault) == 0);
    assert (s_member_is (reply, "version", "1") && s_member_is (reply, "duplicate", "false"));
    json_decref (reply);
    assert (zeb_registry_client_register (client, "order.placed", s_v1, NULL, NULL, &reply, &fault) == 0);
    assert (s_member_is (reply, "version", "1") && s_member_is (reply, "duplicate", "true"));
    json_decref (reply);
    assert (zeb_registry_client_register (client, "order.placed", s_v2, NULL, NULL, NULL, NULL) == 0);
    //  With a mode for a new type
    assert (zeb_registry_client_register (client, "order.shipped", s_v1, NULL, "FULL", NULL, &fault) == 0);

    //  CHECK a breaking change: not compatible, reasons given, nothing stored
    assert (zeb_registry_client_check (client, "order.placed", s_v3, &reply, &fault) == 0);
    assert (s_member_is (reply, "compatible", "false"));
    json_t *reasons = json_object_get (reply, "reasons");
    assert (json_array_size (reasons) == 2);
    json_decref (reply);
    assert (zeb_registry_client_check (client, "order.placed", s_v2, &reply, &fault) == 0);
    assert (s_member_is (reply, "compatible", "true"));
    json_decref (reply);

    //  REGISTER it: 409, with the NACK's body and its reasons
    memset (&fault, 0, sizeof (fault));
    int rc = zeb_registry_client_register (client, "order.placed", s_v3, NULL, NULL, &reply, &fault);
    assert (rc == ZEB_ECONFLICT && fault.code == ZEB_ECONFLICT);
    assert (strstr (fault.text, "BACKWARD"));
    assert (reply);
    assert (s_member_is (reply, "code", "409") && s_member_is (reply, "reason", "\"INCOMPATIBLE_SCHEMA\""));
    reasons = json_object_get (reply, "reasons");
    assert (json_array_size (reasons) == 2);
    bool required_added = false;
    for (size_t index = 0; index < json_array_size (reasons); index++) {
        json_t *one = json_array_get (reasons, index);
        required_added = required_added
                      || streq (json_string_value (json_object_get (one, "reason")), "REQUIRED_ADDED");
        assert (json_integer_value (json_object_get (one, "version")) == 2);
        assert (streq (json_string_value (json_object_get (one, "breaks")), "backward"));
    }
    assert (required_added);
    json_decref (reply);
    //  A schema zeb cannot use
    rc = zeb_registry_client_register (client, "order.placed", "{\"type\":", NULL, NULL, &reply, &fault);
    assert (rc == ZEB_EBADSCHEMA && s_member_is (reply, "code", "400"));
    json_decref (reply);

    //  GET: latest, a version, unknown type, unknown version
    assert (zeb_registry_client_get (client, "order.placed", 0, &reply, &fault) == 0);
    assert (s_member_is (reply, "version", "2") && s_member_is (reply, "validation", "\"default\""));
    json_t *schema = json_loads (json_string_value (json_object_get (reply, "schema")), 0, NULL);
    assert (json_integer_value (json_object_get (json_object_get (json_object_get (schema, "properties"),
                                                                  "orderId"), "maxLength")) == 40);
    json_decref (schema);
    json_decref (reply);
    assert (zeb_registry_client_get (client, "order.placed", 1, &reply, &fault) == 0);
    assert (s_member_is (reply, "version", "1") && s_member_is (reply, "description", "\"An order\""));
    assert (s_member_is (reply, "compatibility", "\"BACKWARD\""));
    json_decref (reply);
    rc = zeb_registry_client_get (client, "order.unknown", 0, &reply, &fault);
    assert (rc == ZEB_ENOTFOUND && fault.code == ZEB_ENOTFOUND);
    assert (s_member_is (reply, "reason", "\"NOT_FOUND\"") && s_member_is (reply, "code", "404"));
    json_decref (reply);
    assert (zeb_registry_client_get (client, "order.placed", 99, NULL, &fault) == ZEB_ENOTFOUND);
    assert (zeb_registry_client_get (client, "not a type", 0, NULL, &fault) == ZEB_EINVALID);
    //  The node's own types can be read
    assert (zeb_registry_client_get (client, "zeb.dead_letter", 0, NULL, &fault) == 0);

    //  VERSIONS
    assert (zeb_registry_client_versions (client, "order.placed", &reply, &fault) == 0);
    assert (s_member_is (reply, "versions", "[1,2]"));
    json_decref (reply);
    assert (zeb_registry_client_versions (client, "order.unknown", NULL, &fault) == ZEB_ENOTFOUND);

    //  SET_COMPATIBILITY: then the breaking schema registers
    assert (zeb_registry_client_set_compatibility (client, "order.placed", "NONE", &reply, &fault) == 0);
    assert (s_member_is (reply, "compatibility", "\"NONE\""));
    json_decref (reply);
    rc = zeb_registry_client_set_compatibility (client, "order.placed", "SIDEWAYS", &reply, &fault);
    assert (rc == ZEB_EINVALID && s_member_is (reply, "reason", "\"INVALID_ATTRIBUTE\""));
    json_decref (reply);
    assert (zeb_registry_client_register (client, "order.placed", s_v3, NULL, NULL, &reply, &fault) == 0);
    assert (s_member_is (reply, "version", "3"));
    json_decref (reply);

    //  SET_VALIDATION
    assert (zeb_registry_client_set_validation (client, "order.placed", "enforce", &reply, &fault) == 0);
    assert (s_member_is (reply, "validation", "\"enforce\""));
    json_decref (reply);
    assert (zeb_registry_client_get (client, "order.placed", 0, &reply, &fault) == 0);
    assert (s_member_is (reply, "validation", "\"enforce\""));
    json_decref (reply);
    assert (zeb_registry_client_set_validation (client, "order.placed", "sometimes", NULL, &fault)
            == ZEB_EINVALID);
    assert (zeb_registry_client_set_validation (client, "order.unknown", "warn", NULL, &fault)
            == ZEB_ENOTFOUND);

    //  zeb.* types belong to the node
    memset (&fault, 0, sizeof (fault));
    rc = zeb_registry_client_register (client, "zeb.mine", s_v1, NULL, NULL, &reply, &fault);
    assert (rc == ZEB_EFORBIDDEN && fault.code == ZEB_EFORBIDDEN && fault.text [0]);
    assert (s_member_is (reply, "code", "403") && s_member_is (reply, "reason", "\"FORBIDDEN\""));
    json_decref (reply);
    assert (zeb_registry_client_set_validation (client, "zeb.dead_letter", "off", NULL, NULL)
            == ZEB_EFORBIDDEN);
    assert (zeb_registry_client_set_compatibility (client, "zeb.dead_letter", "NONE", NULL, NULL)
            == ZEB_EFORBIDDEN);
    assert (zeb_registry_client_delete (client, "zeb.dead_letter", 0, NULL, NULL) == ZEB_EFORBIDDEN);

    //  DELETE one version, then the rest
    assert (zeb_registry_client_delete (client, "order.placed", 1, &reply, &fault) == 0);
    assert (s_member_is (reply, "versions", "[1]"));
    json_decref (reply);
    assert (zeb_registry_client_get (client, "order.placed", 1, NULL, &fault) == ZEB_ENOTFOUND);
    assert (zeb_registry_client_delete (client, "order.placed", 1, NULL, &fault) == ZEB_ENOTFOUND);
    assert (zeb_registry_client_versions (client, "order.placed", &reply, &fault) == 0);
    assert (s_member_is (reply, "versions", "[2,3]"));
    json_decref (reply);
    assert (zeb_registry_client_delete (client, "order.placed", 0, &reply, &fault) == 0);
    assert (s_member_is (reply, "versions", "[2,3]"));
    json_decref (reply);
    assert (zeb_registry_client_versions (client, "order.placed", NULL, &fault) == ZEB_ENOTFOUND);
    assert (zeb_registry_client_list (client, "order.", &reply, &fault) == 0);
    assert (s_member_is (reply, "types", "[{\"type\":\"order.shipped\",\"description\":\"\","
                                         "\"latest\":1,\"compatibility\":\"FULL\"}]"));
    json_decref (reply);
    //  Numbers are never reused
    assert (zeb_registry_client_register (client, "order.placed", s_v1, NULL, NULL, &reply, &fault) == 0);
    assert (s_member_is (reply, "version", "4"));
    json_decref (reply);

    zeb_registry_client_destroy (&client);
    zeb_registry_client_destroy (&client);
    assert (client == NULL);
    s_registry_stop (&registry);
}

//  ---------------------------------------------------------------------
//  async

//  Take answers until every id in ids is answered or the deadline passes;
//  fills replies [i] for ids [i]. Waits with a zpoller on the socket, or
//  on its ZMQ_FD as ingest does (edge-triggered: drain, then wait).
static void
s_collect (zeb_registry_client_t *client, uint64_t *ids, zeb_registry_schema_t *replies,
           size_t count, bool on_fd)
{
    bool *done = (bool *) zmalloc (count * sizeof (bool));
    size_t answered = 0;
    int64_t deadline = test_now_ms () + S_WAIT_MS;
    zpoller_t *poller = zpoller_new (zeb_registry_client_socket (client), NULL);
    int fd = zsock_fd (zeb_registry_client_socket (client));
    while (answered < count) {
        zeb_registry_schema_t reply;
        while (zeb_registry_client_get_recv (client, &reply) == 0) {
            size_t index;
            for (index = 0; index < count; index++)
                if (ids [index] == reply.request_id)
                    break;
            assert (index < count && !done [index]);
            done [index] = true;
            replies [index] = reply;
            answered++;
        }
        if (answered == count)
            break;
        int64_t left = deadline - test_now_ms ();
        assert (left > 0);
        int64_t expiry = zeb_registry_client_get_expiry (client);
        if (expiry >= 0 && expiry < left)
            left = expiry + 1;
        if (on_fd) {
            struct pollfd item = { fd, POLLIN, 0 };
            poll (&item, 1, (int) left);
        }
        else
            zpoller_wait (poller, (int) left);
    }
    zpoller_destroy (&poller);
    free (done);
}

static void
s_test_async (void)
{
    s_registry_t registry;
    s_registry_start (&registry);
    zeb_registry_client_t *client = zeb_registry_client_new (registry.endpoint);
    assert (client);
    assert (zeb_registry_client_register (client, "order.placed", s_v1, NULL, NULL, NULL, NULL) == 0);
    assert (zeb_registry_client_register (client, "order.placed", s_v2, NULL, NULL, NULL, NULL) == 0);
    assert (zeb_registry_client_set_validation (client, "order.placed", "warn", NULL, NULL) == 0);
    assert (zeb_registry_client_register (client, "cart.emptied", s_v1, NULL, NULL, NULL, NULL) == 0);
    zeb_registry_schema_t nothing;
    assert (zeb_registry_client_get_recv (client, &nothing) == 1);
    assert (zeb_registry_client_get_expiry (client) == -1);

    for (int round = 0; round < 2; round++) {
        bool on_fd = round == 1;
        const char *types [] = { "order.placed", "order.placed", "cart.emptied", "order.unknown",
                                 "order.placed", "not a type" };
        uint32_t versions [] = { 0, 1, 0, 0, 7, 0 };
        size_t count = sizeof (types) / sizeof (types [0]);
        uint64_t ids [6];
        zeb_registry_schema_t replies [6];
        for (size_t index = 0; index < count; index++) {
            assert (zeb_registry_client_get_send (client, types [index], versions [index], &ids [index]) == 0);
            assert (ids [index] != 0 && (index == 0 || ids [index] != ids [index - 1]));
        }
        assert (zeb_registry_client_pending (client) == count);
        s_collect (client, ids, replies, count, on_fd);
        assert (zeb_registry_client_pending (client) == 0);
        assert (replies [0].status == 0 && replies [0].version == 2 && replies [0].schema);
        assert (streq (replies [0].validation, "warn"));
        assert (strstr (replies [0].schema, "40"));
        assert (replies [1].status == 0 && replies [1].version == 1 && strstr (replies [1].schema, "20"));
        assert (replies [2].status == 0 && replies [2].version == 1 && streq (replies [2].validation, "default"));
        assert (replies [3].status == ZEB_ENOTFOUND && replies [3].schema == NULL && replies [3].error [0]);
        assert (replies [4].status == ZEB_ENOTFOUND && replies [4].schema == NULL);
        assert (replies [5].status == ZEB_EINVALID);
        for (size_t index = 0; index < count; index++)
            free (replies [index].schema);
        assert (zeb_registry_client_get_recv (client, &nothing) == 1);
    }

    //  A synchronous call that meets an async reply keeps it for get_recv
    uint64_t id;
    assert (zeb_registry_client_get_send (client, "cart.emptied", 0, &id) == 0);
    assert (zeb_registry_client_versions (client, "order.placed", NULL, NULL) == 0);
    zeb_registry_schema_t reply;
    s_collect (client, &id, &reply, 1, true);
    assert (reply.request_id == id && reply.status == 0 && reply.version == 1);
    free (reply.schema);
    assert (zeb_registry_client_get_recv (client, &nothing) == 1);

    zeb_registry_client_destroy (&client);
    s_registry_stop (&registry);
}

//  ---------------------------------------------------------------------
//  timeout

//  The next request the silent ROUTER got: [identity][command][body][tag]
static zmsg_t *
s_silent_recv (zsock_t *router)
{
    zsock_set_rcvtimeo (router, S_WAIT_MS);
    zmsg_t *request = zmsg_recv (router);
    assert (request && zmsg_size (request) == 4);
    return request;
}

//  Answer request (destroyed) with GET {version}
static void
s_silent_answer (zsock_t *router, zmsg_t **request_p, uint32_t version)
{
    zmsg_t *request = *request_p;
    zframe_t *identity = zmsg_pop (request);
    zframe_t *command = zmsg_pop (request);
    zframe_t *body = zmsg_pop (request);
    zframe_t *tag = zmsg_pop (request);
    assert (zframe_streq (command, "GET"));
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    json_t *json = json_pack ("{s:s, s:i, s:s, s:s}", "type", "order.placed", "version", (int) version,
                              "schema", "{}", "validation", "off");
    zeb_json_to_msgpack (json, &pk);
    json_decref (json);
    zmsg_t *reply = zmsg_new ();
    zmsg_append (reply, &identity);
    zmsg_addstr (reply, "GET");
    zmsg_addmem (reply, buffer.data, buffer.size);
    zmsg_append (reply, &tag);
    assert (zmsg_send (&reply, router) == 0);
    msgpack_sbuffer_destroy (&buffer);
    zframe_destroy (&command);
    zframe_destroy (&body);
    zmsg_destroy (request_p);
}

//  A registry that answers late, in another thread: gets request A and
//  signals; when told, answers A (version 1) and signals; then answers the
//  next request, B, at once (version 2)
static void
s_late_actor (zsock_t *pipe, void *args)
{
    zsock_t *router = (zsock_t *) args;
    zsock_signal (pipe, 0);
    zmsg_t *first = s_silent_recv (router);
    zsock_signal (pipe, 0);             //  got A
    zsock_wait (pipe);                  //  answer it now
    s_silent_answer (router, &first, 1);
    zsock_signal (pipe, 0);             //  A's late reply is on its way
    zmsg_t *second = s_silent_recv (router);
    s_silent_answer (router, &second, 2);
    char *command = zstr_recv (pipe);   //  $TERM
    zstr_free (&command);
}

//  A ROUTER on an ephemeral port that answers nothing by itself
static zsock_t *
s_silent_new (char *endpoint, size_t size)
{
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    assert (router);
    zsock_set_linger (router, 0);
    zsock_set_rcvhwm (router, 100000);
    int port = zsock_bind (router, "tcp://127.0.0.1:*");
    assert (port > 0);
    snprintf (endpoint, size, "tcp://127.0.0.1:%d", port);
    return router;
}

static void
s_test_timeout (void)
{
    //  Synchronous: nothing answers in time, ZEB_ETIMEOUT, no reply body
    char endpoint [64];
    zsock_t *router = s_silent_new (endpoint, sizeof (endpoint));
    zeb_registry_client_t *client = zeb_registry_client_new (endpoint);
    assert (client);
    zeb_registry_client_set_timeout (client, 200);
    zactor_t *late = zactor_new (s_late_actor, router);
    assert (late);
    zeb_fault_t fault = { 0 };
    json_t *reply = json_object ();         //  must come back NULL
    json_t *placeholder = reply;
    int64_t started = test_now_ms ();
    assert (zeb_registry_client_get (client, "order.placed", 0, &reply, &fault) == ZEB_ETIMEOUT);
    int64_t took = test_now_ms () - started;
    assert (took >= 190 && took < 5000);
    assert (reply == NULL && fault.code == ZEB_ETIMEOUT && strstr (fault.text, "200 ms"));
    json_decref (placeholder);
    //  Its late reply, then the next call: that call gets its own answer
    assert (zsock_wait (late) == 0);        //  the registry got A
    zsock_signal (late, 0);
    assert (zsock_wait (late) == 0);        //  A's reply sent, before B is
    zeb_registry_client_set_timeout (client, S_WAIT_MS);
    assert (zeb_registry_client_get (client, "order.placed", 0, &reply, &fault) == 0);
    assert (s_member_is (reply, "version", "2"));
    json_decref (reply);
    zeb_registry_schema_t nothing;
    assert (zeb_registry_client_get_recv (client, &nothing) == 1);
    zactor_destroy (&late);
    zeb_registry_client_destroy (&client);
    zsock_destroy (&router);

    //  Asynchronous: a GET unanswered in time comes back as ZEB_ETIMEOUT;
    //  its late reply is dropped, the next GET gets its own
    router = s_silent_new (endpoint, sizeof (endpoint));
    client = zeb_registry_client_new (endpoint);
    assert (client);
    zeb_registry_client_set_timeout (client, 200);
    uint64_t id;
    assert (zeb_registry_client_get_send (client, "order.placed", 0, &id) == 0);
    assert (zeb_registry_client_get_expiry (client) > 0);
    zmsg_t *request = s_silent_recv (router);
    zeb_registry_schema_t answer;
    s_collect (client, &id, &answer, 1, true);
    assert (answer.request_id == id && answer.status == ZEB_ETIMEOUT && answer.schema == NULL);
    assert (zeb_registry_client_pending (client) == 0);
    assert (zeb_registry_client_get_expiry (client) == -1);
    s_silent_answer (router, &request, 1);
    uint64_t next;
    assert (zeb_registry_client_get_send (client, "order.placed", 0, &next) == 0 && next != id);
    request = s_silent_recv (router);
    s_silent_answer (router, &request, 2);
    s_collect (client, &next, &answer, 1, true);    //  asserts on any other id
    assert (answer.request_id == next && answer.status == 0 && answer.version == 2);
    assert (streq (answer.validation, "off") && streq (answer.schema, "{}"));
    free (answer.schema);
    assert (zeb_registry_client_get_recv (client, &nothing) == 1);

    //  Outstanding GETs are bounded; each comes back once, as a timeout
    uint64_t *ids = (uint64_t *) zmalloc (ZEB_REGISTRY_CLIENT_MAX_PENDING * sizeof (uint64_t));
    zeb_registry_schema_t *answers = (zeb_registry_schema_t *)
        zmalloc (ZEB_REGISTRY_CLIENT_MAX_PENDING * sizeof (zeb_registry_schema_t));
    for (size_t index = 0; index < ZEB_REGISTRY_CLIENT_MAX_PENDING; index++)
        assert (zeb_registry_client_get_send (client, "order.placed", 0, &ids [index]) == 0);
    assert (zeb_registry_client_get_send (client, "order.placed", 0, &id) == ZEB_EOVERLOADED);
    assert (zeb_registry_client_pending (client) == ZEB_REGISTRY_CLIENT_MAX_PENDING);
    s_collect (client, ids, answers, ZEB_REGISTRY_CLIENT_MAX_PENDING, false);
    for (size_t index = 0; index < ZEB_REGISTRY_CLIENT_MAX_PENDING; index++)
        assert (answers [index].status == ZEB_ETIMEOUT);
    assert (zeb_registry_client_pending (client) == 0);
    assert (zeb_registry_client_get_send (client, "order.placed", 0, &id) == 0);
    free (ids);
    free (answers);
    zeb_registry_client_destroy (&client);
    zsock_destroy (&router);
}

//  ---------------------------------------------------------------------

int
main (int argc, char *argv [])
{
    const char *only = argc > 1? argv [1]: NULL;
    zsys_init ();
    zsys_set_logstream (NULL);
    test_case_t cases [] = {
        { "verbs", s_test_verbs },
        { "async", s_test_async },
        { "timeout", s_test_timeout }
    };
    test_run_cases (cases, sizeof (cases) / sizeof (cases [0]), only);
    return 0;
}
