/*  =========================================================================
    zeb_automation_client - talk to a node's automations (see the header)

    A zeb_actor_client with PUT's body built here.
    =========================================================================
*/

#include "zeb_classes.h"

struct _zeb_automation_client_t {
    zeb_actor_client_t *calls;  //  the automation actor's verbs
};

zeb_automation_client_t *
zeb_automation_client_new (const char *endpoint)
{
    zeb_actor_client_t *calls = zeb_actor_client_new (endpoint, "automation");
    if (!calls)
        return NULL;
    zeb_automation_client_t *self = (zeb_automation_client_t *) zmalloc (sizeof (zeb_automation_client_t));
    assert (self);
    self->calls = calls;
    return self;
}

void
zeb_automation_client_destroy (zeb_automation_client_t **self_p)
{
    assert (self_p);
    zeb_automation_client_t *self = *self_p;
    if (self) {
        zeb_actor_client_destroy (&self->calls);
        free (self);
        *self_p = NULL;
    }
}

void
zeb_automation_client_set_timeout (zeb_automation_client_t *self, int timeout_ms)
{
    assert (self);
    zeb_actor_client_set_timeout (self->calls, timeout_ms);
}

int
zeb_automation_client_call (zeb_automation_client_t *self, const char *verb, json_t *body,
                            json_t **reply, zeb_fault_t *fault)
{
    assert (self);
    return zeb_actor_client_call (self->calls, verb, body, reply, fault);
}

int
zeb_automation_client_put (zeb_automation_client_t *self, json_t *rule, const char *by,
                           json_t **reply, zeb_fault_t *fault)
{
    assert (self);
    if (reply)
        *reply = NULL;
    if (!json_is_object (rule))
        return zeb_fault_set (fault, ZEB_EINVALID, "PUT: the rule is not a JSON object");
    json_t *body = json_object ();
    json_object_set (body, "rule", rule);
    if (by)
        json_object_set_new (body, "by", json_string (by));
    int rc = zeb_automation_client_call (self, "PUT", body, reply, fault);
    json_decref (body);
    return rc;
}

//  ---------------------------------------------------------------------
//  Self test: the calls against a ROUTER played here (tests/automation_test.c
//  and the CLI test use it against a real node)

void
zeb_automation_client_test (bool verbose)
{
    printf (" * zeb_automation_client: ");
    assert (zeb_automation_client_new (NULL) == NULL);
    assert (zeb_automation_client_new ("not an endpoint") == NULL);
    zsock_t *router = zsock_new_router ("inproc://zeb-automation-client-test");
    assert (router);
    zeb_automation_client_t *client = zeb_automation_client_new ("inproc://zeb-automation-client-test");
    assert (client);
    zeb_automation_client_set_timeout (client, 200);
    //  Nobody answers: a timeout
    json_t *reply = NULL;
    zeb_fault_t fault;
    json_t *rule = json_pack ("{s:s}", "triggerEventType", "a.b");
    int rc = zeb_automation_client_put (client, rule, "me", &reply, &fault);
    assert (rc == ZEB_ETIMEOUT && reply == NULL);
    //  The request as sent: PUT {rule, by} with a tag of kind 'U'
    zmsg_t *msg = zmsg_recv (router);
    assert (msg && zmsg_size (msg) == 4);
    zframe_t *identity = zmsg_pop (msg);
    char *command = zmsg_popstr (msg);
    assert (streq (command, "PUT"));
    zframe_t *body = zmsg_pop (msg);
    json_t *json = zeb_json_from_msgpack (zframe_data (body), zframe_size (body), NULL);
    assert (streq (json_string_value (json_object_get (json, "by")), "me"));
    assert (json_object_get (json_object_get (json, "rule"), "triggerEventType"));
    json_decref (json);
    zframe_destroy (&body);
    zstr_free (&command);
    zframe_destroy (&identity);
    zmsg_destroy (&msg);
    //  Refused before sending: not objects
    assert (zeb_automation_client_put (client, NULL, NULL, &reply, &fault) == ZEB_EINVALID);
    json_t *array = json_array ();
    assert (zeb_automation_client_call (client, "LIST", array, &reply, &fault) == ZEB_EINVALID);
    json_decref (array);
    json_decref (rule);
    zeb_automation_client_destroy (&client);
    zeb_automation_client_destroy (&client);
    zsock_destroy (&router);
    if (verbose)
        printf ("(verbose) ");
    printf ("OK\n");
}
