/*  =========================================================================
    zeb_actor_client - call any actor's JSON verbs (see the header)

    Tags are kind 'U' with this client's counter.
    =========================================================================
*/

#include "zeb_classes.h"

struct _zeb_actor_client_t {
    zsock_t *socket;            //  DEALER to the actor
    char name [32];             //  the actor, for fault texts
    int timeout;                //  ms
    uint64_t next_tag;
};

zeb_actor_client_t *
zeb_actor_client_new (const char *endpoint, const char *name)
{
    if (!endpoint || !*endpoint)
        return NULL;
    zsock_t *socket = zeb_proto_dealer_new (endpoint, 1000, 1000);
    if (!socket)
        return NULL;
    zeb_actor_client_t *self = (zeb_actor_client_t *) zmalloc (sizeof (zeb_actor_client_t));
    assert (self);
    self->socket = socket;
    snprintf (self->name, sizeof (self->name), "%s", name? name: "actor");
    self->timeout = ZEB_ACTOR_CLIENT_TIMEOUT;
    self->next_tag = 1;
    return self;
}

void
zeb_actor_client_destroy (zeb_actor_client_t **self_p)
{
    assert (self_p);
    zeb_actor_client_t *self = *self_p;
    if (self) {
        zsock_destroy (&self->socket);
        free (self);
        *self_p = NULL;
    }
}

void
zeb_actor_client_set_timeout (zeb_actor_client_t *self, int timeout_ms)
{
    assert (self);
    self->timeout = timeout_ms > 0? timeout_ms: ZEB_ACTOR_CLIENT_TIMEOUT;
}

int
zeb_actor_client_call (zeb_actor_client_t *self, const char *verb, json_t *body,
                       json_t **reply, zeb_fault_t *fault)
{
    assert (self);
    assert (verb);
    if (reply)
        *reply = NULL;
    if (body && !json_is_object (body))
        return zeb_fault_set (fault, ZEB_EINVALID, "%s: the body is not a JSON object", verb);
    json_t *empty = body? NULL: json_object ();
    zeb_proto_call_t call = { zsock_resolve (self->socket), self->name, &self->next_tag, 'U',
                              self->timeout, NULL, NULL };
    int rc = zeb_proto_call_json (&call, verb, verb, body? body: empty, reply, fault);
    json_decref (empty);
    return rc;
}

//  ---------------------------------------------------------------------
//  Self test: the calls against a ROUTER played here (tests/cron_test.c
//  and the CLI test use it against a real node)

void
zeb_actor_client_test (bool verbose)
{
    printf (" * zeb_actor_client: ");
    assert (zeb_actor_client_new (NULL, "cron") == NULL);
    assert (zeb_actor_client_new ("", "cron") == NULL);
    assert (zeb_actor_client_new ("not an endpoint", "cron") == NULL);
    zsock_t *router = zsock_new_router ("inproc://zeb-actor-client-test");
    assert (router);
    zeb_actor_client_t *client = zeb_actor_client_new ("inproc://zeb-actor-client-test", "cron");
    assert (client);
    zeb_actor_client_set_timeout (client, 200);
    //  Nobody answers: a timeout that names the actor
    json_t *reply = NULL;
    zeb_fault_t fault;
    json_t *body = json_pack ("{s:s}", "name", "nightly");
    int rc = zeb_actor_client_call (client, "RUN", body, &reply, &fault);
    assert (rc == ZEB_ETIMEOUT && reply == NULL);
    assert (strstr (fault.text, "cron"));
    //  The request as sent: RUN {name} with a tag of kind 'U'
    zmsg_t *msg = zmsg_recv (router);
    assert (msg && zmsg_size (msg) == 4);
    zframe_t *identity = zmsg_pop (msg);
    char *command = zmsg_popstr (msg);
    assert (streq (command, "RUN"));
    zframe_t *frame = zmsg_pop (msg);
    json_t *json = zeb_json_from_msgpack (zframe_data (frame), zframe_size (frame), NULL);
    assert (streq (json_string_value (json_object_get (json, "name")), "nightly"));
    json_decref (json);
    zframe_t *tag = zmsg_pop (msg);
    assert (tag && zframe_size (tag) > 0 && zframe_data (tag) [0] == 'U');
    zframe_destroy (&tag);
    zframe_destroy (&frame);
    zstr_free (&command);
    zframe_destroy (&identity);
    zmsg_destroy (&msg);
    //  Refused before sending: not an object
    json_t *array = json_array ();
    assert (zeb_actor_client_call (client, "LIST", array, &reply, &fault) == ZEB_EINVALID);
    json_decref (array);
    json_decref (body);
    zeb_actor_client_destroy (&client);
    zeb_actor_client_destroy (&client);
    zsock_destroy (&router);
    if (verbose)
        printf ("(verbose) ");
    printf ("OK\n");
}
