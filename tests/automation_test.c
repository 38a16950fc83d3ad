/*  =========================================================================
    automation_test - automations end to end: rules over a real log, runs
    through the real outbox and executors to a real HTTP receiver

    A node embedded in this process runs every actor (registry, ingest,
    log, outbox with webhook, emit_event and log executors, automation).
    Cases speak to the automation actor in raw ZEB/1 and assert what the
    receiver, the log and the outbox saw: the seed's "VIP Fast Response",
    the admin verbs and their refusals, schema-checked rules (warnings and
    strict_paths), dry runs, a backtest over 100,000 events, 10,000 rules
    across a restart. The SIGKILL case (crash) runs zebd as a process.
    Usage: automation_test zebd [case]
    =========================================================================
*/

#include "testutil.h"
#include "receiver.h"

static zeb_node_t *s_node;
static zsock_t *s_automation;       //  DEALER to the automation actor
static zeb_client_t *s_client;
static char s_dir [256];
static const char *s_zebd;

//  ---------------------------------------------------------------------
//  Helpers

//  The call on dealer is answered with expected; returns the body
static json_t *
s_expect_on (zsock_t *dealer, const char *command, const char *json, const char *expected)
{
    return test_call_json (dealer, command, json, expected, NULL, 60000);
}

static json_t *
s_expect (const char *command, const char *json, const char *expected)
{
    return s_expect_on (s_automation, command, json, expected);
}

//  The call is refused with reason; returns the NACK's error text (static)
static const char *
s_refused (const char *command, const char *json, const char *reason)
{
    static char error [512];
    json_t *reply = s_expect (command, json, "NACK");
    const char *got = json_string_value (json_object_get (reply, "reason"));
    if (!got || !streq (got, reason)) {
        char *text = json_dumps (reply, JSON_COMPACT);
        fprintf (stderr, "%s %s: expected NACK %s, got %s\n", command, json, reason, text);
        free (text);
        assert (false);
    }
    snprintf (error, sizeof (error), "%s", json_string_value (json_object_get (reply, "error")));
    json_decref (reply);
    return error;
}

//  PUT a rule (JSON text); returns its id (static)
static const char *
s_put (const char *rule)
{
    static char id [160];
    char *body = zsys_sprintf ("{\"rule\":%s,\"by\":\"automation-test\"}", rule);
    json_t *reply = s_expect ("PUT", body, "PUT");
    snprintf (id, sizeof (id), "%s", json_string_value (json_object_get (reply, "id")));
    json_decref (reply);
    zstr_free (&body);
    return id;
}

//  Publish an event of type with data (JSON text); its sequence
static uint64_t
s_publish (const char *type, const char *data)
{
    zeb_event_t *event = zeb_event_new (type);
    zeb_event_set (event, "source", "automation-test");
    zeb_fault_t fault;
    int rc = zeb_event_set_data_json (event, data, &fault);
    assert (rc == 0);
    zeb_ack_t ack;
    rc = zeb_client_publish (s_client, event, &ack);
    assert (rc == 0);
    zeb_event_destroy (&event);
    return ack.sequence;
}

static char *
s_url (receiver_t *receiver, const char *path)
{
    return zsys_sprintf ("http://127.0.0.1:%d%s", receiver_port (receiver), path);
}

//  A counter of the automation actor's STATS
static int64_t
s_stat (zeb_node_t *node, const char *name)
{
    char *text = zeb_node_stats (node, "automation");
    assert (text);
    json_t *json = json_loads (text, 0, NULL);
    assert (json);
    int64_t value = json_integer_value (json_object_get (json, name));
    json_decref (json);
    zstr_free (&text);
    return value;
}

typedef struct {
    zeb_node_t *node;
    const char *name;
    int64_t at_least;
} s_stat_wait_t;

static bool
s_stat_reached (void *arg)
{
    s_stat_wait_t *wait = (s_stat_wait_t *) arg;
    return s_stat (wait->node, wait->name) >= wait->at_least;
}

//  Wait until the automation has evaluated every event up to sequence
static void
s_wait_evaluated (zeb_node_t *node, uint64_t sequence)
{
    s_stat_wait_t wait = { node, "position", (int64_t) sequence + 1 };
    if (!test_wait_until (s_stat_reached, &wait, 20000)) {
        fprintf (stderr, "automation position %" PRId64 ", expected past %" PRIu64 "\n",
                 s_stat (node, "position"), sequence);
        assert (false);
    }
}

typedef struct {
    const char *command;
    const char *body;
    const char *array;
    size_t count;
} s_items_t;

static bool
s_items_reached (void *arg)
{
    s_items_t *want = (s_items_t *) arg;
    json_t *reply = s_expect (want->command, want->body, want->command);
    size_t count = json_array_size (json_object_get (reply, want->array));
    json_decref (reply);
    return count >= want->count;
}

//  What the automation and the outbox say, when a wait failed
static void
s_dump (zeb_node_t *node)
{
    const char *actors [] = { "automation", "outbox", NULL };
    for (const char **actor = actors; *actor; actor++) {
        char *text = zeb_node_stats (node, *actor);
        fprintf (stderr, "%s: %s\n", *actor, text? text: "(none)");
        zstr_free (&text);
    }
}

//  Wait for count requests at receiver, or say what the node saw
static void
s_wait_requests (receiver_t *receiver, size_t count)
{
    if (!receiver_wait_count (receiver, count, 20000)) {
        fprintf (stderr, "receiver: %zu requests, expected %zu\n", receiver_count (receiver), count);
        s_dump (s_node);
        assert (false);
    }
}

//  ---------------------------------------------------------------------
//  Cases

//  Seed 004's example: VIP messages fire a webhook and an event
static void
s_test_vip (void)
{
    receiver_t *receiver = receiver_new ();
    char *url = s_url (receiver, "/agent");
    char *rule = zsys_sprintf (
        "{\"name\":\"VIP Fast Response\",\"description\":\"Trigger agent immediately for VIP messages\","
        "\"triggerEventType\":\"message.received\","
        "\"triggerConditions\":[{\"field\":\"payload.from.tags\",\"operator\":\"contains\",\"value\":\"vip\"}],"
        "\"actions\":["
        "{\"type\":\"webhook\",\"config\":{\"url\":\"%s\",\"method\":\"POST\","
        "\"body\":{\"priority\":\"high\",\"timeout\":5000,\"from\":\"{{data.from.name}}\","
        "\"tags\":\"{{data.from.tags}}\",\"text\":\"VIP {{data.from.name}}: {{data.text}}\"}}},"
        "{\"type\":\"emit_event\",\"config\":{\"eventType\":\"custom.alert.vip-message\","
        "\"payload\":{\"source\":\"automation\",\"sequence\":\"{{event.sequence}}\"}}}],"
        "\"enabled\":true,\"priority\":100}", url);
    char id [160];
    snprintf (id, sizeof (id), "%s", s_put (rule));
    //  A UUIDv7 was given
    assert (strlen (id) == 36 && id [14] == '7');
    s_publish ("message.received", "{\"from\":{\"name\":\"Bob\",\"tags\":[\"new\"]},\"text\":\"hi\"}");
    uint64_t vip = s_publish ("message.received",
                              "{\"from\":{\"name\":\"Ada\",\"tags\":[\"gold\",\"vip\"]},\"text\":\"help\"}");
    s_wait_requests (receiver, 1);
    s_wait_evaluated (s_node, vip);
    //  Only the VIP's: the other was evaluated before it and did not fire
    assert (receiver_count (receiver) == 1);
    receiver_request_t request;
    assert (receiver_request (receiver, 0, &request));
    assert (streq (request.path, "/agent"));
    json_t *body = json_loads (request.body, 0, NULL);
    assert (body);
    assert (streq (json_string_value (json_object_get (body, "from")), "Ada"));
    assert (streq (json_string_value (json_object_get (body, "text")), "VIP Ada: help"));
    assert (json_integer_value (json_object_get (body, "timeout")) == 5000);
    //  A whole-value template keeps its type: the tags array
    assert (json_array_size (json_object_get (body, "tags")) == 2);
    json_decref (body);
    char webhook_id [80];
    assert (receiver_request_header (&request, "webhook-id", webhook_id, sizeof (webhook_id)));
    receiver_request_reset (&request);
    //  The event it emitted, with the trigger's sequence as a number
    zeb_fetch_t fetch;
    bool found = false;
    int64_t deadline = test_now_ms () + 20000;
    while (!found && test_now_ms () < deadline) {
        assert (zeb_client_fetch (s_client, 0, 1000, 200, "custom.alert.vip-message", &fetch) == 0);
        for (zeb_event_t *event = (zeb_event_t *) zlistx_first (fetch.events); event;
             event = (zeb_event_t *) zlistx_next (fetch.events)) {
            char *data = zeb_event_data_json (event);
            json_t *json = json_loads (data, 0, NULL);
            found = streq (json_string_value (json_object_get (json, "source")), "automation")
                 && (uint64_t) json_integer_value (json_object_get (json, "sequence")) == vip;
            json_decref (json);
            zstr_free (&data);
        }
        zeb_fetch_reset (&fetch);
    }
    assert (found);
    //  Its execution logs: the VIP's run, conditions matched, both
    //  actions; the other's, skipped (automation/log_skipped is on here)
    char *logs = zsys_sprintf ("{\"id\":\"%s\"}", id);
    s_items_t want = { "LOGS", logs, "items", 2 };
    assert (test_wait_until (s_items_reached, &want, 20000));
    json_t *reply = s_expect ("LOGS", logs, "LOGS");
    json_t *items = json_object_get (reply, "items");
    assert (json_array_size (items) == 2);
    size_t index;
    json_t *item;
    size_t success = 0, skipped = 0;
    json_array_foreach (items, index, item) {
        const char *status = json_string_value (json_object_get (item, "status"));
        assert (streq (json_string_value (json_object_get (item, "eventType")), "message.received"));
        if (streq (status, "success")) {
            assert (json_is_true (json_object_get (item, "conditionsMatched")));
            assert (json_array_size (json_object_get (item, "actionsExecuted")) == 2);
            success++;
        }
        else {
            assert (streq (status, "skipped"));
            assert (json_is_false (json_object_get (item, "conditionsMatched")));
            assert (json_array_size (json_object_get (item, "actionsExecuted")) == 0);
            skipped++;
        }
    }
    assert (success == 1 && skipped == 1);
    json_decref (reply);
    //  And by event type
    reply = s_expect ("LOGS", "{\"type\":\"message.received\"}", "LOGS");
    assert (json_array_size (json_object_get (reply, "items")) >= 1);
    json_decref (reply);
    zstr_free (&logs);
    zstr_free (&rule);
    zstr_free (&url);
    receiver_destroy (&receiver);
}

//  Exact, prefix and * triggers; a rule fires once per event however
//  many of its kind there are
static void
s_test_triggers (void)
{
    receiver_t *receiver = receiver_new ();
    const char *triggers [] = { "trig.order.placed", "trig.order.*", "trig.*", "*" };
    for (size_t index = 0; index < 4; index++) {
        char *url = s_url (receiver, "");
        char *rule = zsys_sprintf ("{\"id\":\"trig-%zu\",\"triggerEventType\":\"%s\",\"priority\":%zu,"
            "\"triggerConditions\":[{\"field\":\"source\",\"operator\":\"eq\",\"value\":\"automation-test\"},"
            "{\"field\":\"type\",\"operator\":\"startsWith\",\"value\":\"trig.\"}],"
            "\"actions\":[{\"type\":\"webhook\",\"config\":{\"url\":\"%s/%zu/{{event.type}}\"}}]}",
            index, triggers [index], index, url, index);
        s_put (rule);
        zstr_free (&rule);
        zstr_free (&url);
    }
    s_publish ("trig.order.placed", "{}");         //  all four
    s_publish ("trig.order.paid", "{}");           //  three
    s_publish ("trig.user.created", "{}");         //  two
    uint64_t last = s_publish ("other.thing", "{}");   //  * only, but its type fails the condition
    s_wait_requests (receiver, 9);
    s_wait_evaluated (s_node, last);
    assert (receiver_count (receiver) == 9);
    const char *expected [] = { "/0/trig.order.placed", "/1/trig.order.placed", "/2/trig.order.placed",
        "/3/trig.order.placed", "/1/trig.order.paid", "/2/trig.order.paid", "/3/trig.order.paid",
        "/2/trig.user.created", "/3/trig.user.created" };
    for (size_t want = 0; want < 9; want++) {
        bool found = false;
        for (size_t index = 0; index < 9 && !found; index++) {
            receiver_request_t request;
            assert (receiver_request (receiver, index, &request));
            found = streq (request.path, expected [want]);
            receiver_request_reset (&request);
        }
        assert (found);
    }
    for (size_t index = 0; index < 4; index++) {
        char body [64];
        snprintf (body, sizeof (body), "{\"id\":\"trig-%zu\"}", index);
        json_decref (s_expect ("DELETE", body, "DELETE"));
    }
    receiver_destroy (&receiver);
}

//  PUT, GET, LIST, ENABLE, DISABLE, HISTORY, DELETE and their refusals
static void
s_test_admin (void)
{
    receiver_t *receiver = receiver_new ();
    char *url = s_url (receiver, "/admin");
    char *rule = zsys_sprintf (
        "{\"id\":\"admin-1\",\"name\":\"one\",\"triggerEventType\":\"admin.*\","
        "\"triggerConditions\":[{\"field\":\"data.n\",\"operator\":\"gte\",\"value\":1}],"
        "\"actions\":[{\"type\":\"webhook\",\"config\":{\"url\":\"%s?n={{data.n}}\"}}]}", url);
    assert (streq (s_put (rule), "admin-1"));
    json_t *reply = s_expect ("GET", "{\"id\":\"admin-1\"}", "GET");
    json_t *stored = json_object_get (reply, "rule");
    assert (streq (json_string_value (json_object_get (stored, "name")), "one"));
    assert (streq (json_string_value (json_object_get (stored, "createdBy")), "automation-test"));
    assert (json_is_string (json_object_get (stored, "createdAt")));
    assert (json_integer_value (json_object_get (reply, "version")) == 1);
    char created [64];
    snprintf (created, sizeof (created), "%s", json_string_value (json_object_get (stored, "createdAt")));
    json_decref (reply);

    //  An update keeps createdAt, makes version 2
    char *second = zsys_sprintf (
        "{\"id\":\"admin-1\",\"name\":\"one, again\",\"triggerEventType\":\"admin.*\","
        "\"triggerConditions\":[{\"field\":\"data.n\",\"operator\":\"gte\",\"value\":1}],"
        "\"actions\":[{\"type\":\"webhook\",\"config\":{\"url\":\"%s?n={{data.n}}\"}}]}", url);
    char *put = zsys_sprintf ("{\"rule\":%s,\"by\":\"bob\"}", second);
    reply = s_expect ("PUT", put, "PUT");
    zstr_free (&put);
    assert (json_integer_value (json_object_get (reply, "version")) == 2);
    assert (json_is_false (json_object_get (reply, "created")));
    json_decref (reply);
    reply = s_expect ("GET", "{\"id\":\"admin-1\"}", "GET");
    stored = json_object_get (reply, "rule");
    assert (streq (json_string_value (json_object_get (stored, "createdAt")), created));
    assert (streq (json_string_value (json_object_get (stored, "name")), "one, again"));
    json_decref (reply);
    reply = s_expect ("GET", "{\"id\":\"admin-1\",\"version\":1}", "GET");
    assert (streq (json_string_value (json_object_get (json_object_get (reply, "rule"), "name")), "one"));
    json_decref (reply);

    //  It fires; disabled it does not; enabled again it does
    uint64_t sequence = s_publish ("admin.thing", "{\"n\":1}");
    s_wait_requests (receiver, 1);
    reply = s_expect ("DISABLE", "{\"id\":\"admin-1\",\"by\":\"carol\"}", "DISABLE");
    assert (json_is_true (json_object_get (reply, "changed")));
    json_decref (reply);
    reply = s_expect ("LIST", "{\"enabled\":false}", "LIST");
    bool listed = false;
    size_t index;
    json_t *item;
    json_array_foreach (json_object_get (reply, "items"), index, item)
        listed |= streq (json_string_value (json_object_get (item, "id")), "admin-1");
    assert (listed);
    json_decref (reply);
    sequence = s_publish ("admin.thing", "{\"n\":2}");
    s_wait_evaluated (s_node, sequence);
    reply = s_expect ("ENABLE", "{\"id\":\"admin-1\"}", "ENABLE");
    json_decref (reply);
    sequence = s_publish ("admin.thing", "{\"n\":3}");
    s_wait_requests (receiver, 2);
    s_wait_evaluated (s_node, sequence);
    assert (receiver_count (receiver) == 2);
    receiver_request_t request;
    assert (receiver_request (receiver, 1, &request));
    assert (streq (request.path, "/admin?n=3"));
    receiver_request_reset (&request);

    //  LIST by trigger, and by the type of an event
    reply = s_expect ("LIST", "{\"type\":\"admin.*\"}", "LIST");
    assert (json_array_size (json_object_get (reply, "items")) == 1);
    json_decref (reply);
    reply = s_expect ("LIST", "{\"event\":\"admin.other\"}", "LIST");
    assert (json_array_size (json_object_get (reply, "items")) == 1);
    json_decref (reply);
    reply = s_expect ("LIST", "{\"event\":\"nothing.here\"}", "LIST");
    assert (json_array_size (json_object_get (reply, "items")) == 0);
    json_decref (reply);

    //  HISTORY, newest first, with who
    reply = s_expect ("HISTORY", "{\"id\":\"admin-1\"}", "HISTORY");
    json_t *items = json_object_get (reply, "items");
    assert (json_array_size (items) == 4);
    assert (streq (json_string_value (json_object_get (json_array_get (items, 0), "op")), "enable"));
    assert (streq (json_string_value (json_object_get (json_array_get (items, 1), "op")), "disable"));
    assert (streq (json_string_value (json_object_get (json_array_get (items, 1), "by")), "carol"));
    assert (streq (json_string_value (json_object_get (json_array_get (items, 2), "by")), "bob"));
    assert (json_integer_value (json_object_get (json_array_get (items, 3), "version")) == 1);
    json_decref (reply);

    //  Refusals: the path of the mistake
    const char *error = s_refused ("PUT", "{\"rule\":{\"triggerEventType\":\"a.b\",\"actions\":[{\"type\":\"log\"}],"
                                   "\"triggerConditions\":[{\"field\":\"data.x\",\"operator\":\"eqq\",\"value\":1}]}}",
                                   "INVALID_ATTRIBUTE");
    assert (strstr (error, "triggerConditions[0]"));
    error = s_refused ("PUT", "{\"rule\":{\"triggerEventType\":\"a.b\",\"actions\":[]}}", "INVALID_ATTRIBUTE");
    assert (strstr (error, "actions"));
    error = s_refused ("PUT", "{\"rule\":{\"triggerEventType\":\"a.b\",\"actions\":[{\"type\":\"log\"}],"
                       "\"triggerConditions\":[{\"field\":\"data.x\",\"operator\":\"matches\",\"value\":\"(\"}]}}",
                       "INVALID_ATTRIBUTE");
    assert (strstr (error, "triggerConditions[0]"));
    s_refused ("PUT", "{\"rule\":{\"id\":\"bad id!\",\"triggerEventType\":\"a.b\",\"actions\":[{\"type\":\"log\"}]}}",
               "INVALID_ATTRIBUTE");
    s_refused ("PUT", "{\"rule\":[]}", "INVALID_ATTRIBUTE");
    s_refused ("PUT", "{}", "INVALID_ATTRIBUTE");
    s_refused ("GET", "{\"id\":\"nobody\"}", "NOT_FOUND");
    s_refused ("GET", "{}", "INVALID_ATTRIBUTE");
    s_refused ("ENABLE", "{\"id\":\"nobody\"}", "NOT_FOUND");
    s_refused ("HISTORY", "{\"id\":\"nobody\"}", "NOT_FOUND");
    s_refused ("LIST", "{\"limit\":0}", "INVALID_ATTRIBUTE");
    s_refused ("LOGS", "{}", "INVALID_ATTRIBUTE");
    s_refused ("NOSUCH", "{}", "UNKNOWN_COMMAND");

    //  DELETE: gone from GET, kept in HISTORY
    reply = s_expect ("DELETE", "{\"id\":\"admin-1\",\"by\":\"dave\"}", "DELETE");
    assert (json_integer_value (json_object_get (reply, "version")) == 5);
    json_decref (reply);
    s_refused ("GET", "{\"id\":\"admin-1\"}", "NOT_FOUND");
    s_refused ("DELETE", "{\"id\":\"admin-1\"}", "NOT_FOUND");
    reply = s_expect ("HISTORY", "{\"id\":\"admin-1\"}", "HISTORY");
    assert (streq (json_string_value (json_object_get (json_array_get (json_object_get (reply, "items"), 0), "op")),
                   "delete"));
    json_decref (reply);
    sequence = s_publish ("admin.thing", "{\"n\":4}");
    s_wait_evaluated (s_node, sequence);
    assert (receiver_count (receiver) == 2);
    zstr_free (&second);
    zstr_free (&rule);
    zstr_free (&url);
    receiver_destroy (&receiver);
}

//  Rules checked against the trigger type's schema
static void
s_test_schema (void)
{
    zeb_registry_client_t *registry = zeb_registry_client_new (zeb_node_endpoint (s_node, "registry"));
    json_t *reply = NULL;
    zeb_fault_t fault;
    const char *schema = "{\"type\":\"object\",\"additionalProperties\":false,"
                         "\"properties\":{\"total\":{\"type\":\"number\"},\"customer\":{\"type\":\"string\"}}}";
    int rc = zeb_registry_client_register (registry, "invoice.paid", schema, NULL, NULL, &reply, &fault);
    if (rc)
        fprintf (stderr, "register: %s\n", fault.text);
    assert (rc == 0);
    json_decref (reply);
    zeb_registry_client_destroy (&registry);
    const char *rule = "{\"id\":\"schema-1\",\"triggerEventType\":\"invoice.paid\","
        "\"triggerConditions\":[{\"field\":\"data.totl\",\"operator\":\"gt\",\"value\":10},"
        "{\"field\":\"data.customer\",\"operator\":\"gt\",\"value\":5}],"
        "\"actions\":[{\"type\":\"log\",\"config\":{\"message\":\"{{data.total}} {{data.nope}}\"}}]}";
    char *body = zsys_sprintf ("{\"rule\":%s}", rule);
    reply = s_expect ("PUT", body, "PUT");
    json_t *warnings = json_object_get (reply, "warnings");
    char *text = json_dumps (warnings, JSON_COMPACT);
    if (json_array_size (warnings) != 3)
        fprintf (stderr, "warnings: %s\n", text);
    //  data.totl cannot exist; gt 5 on a string property; data.nope neither
    assert (json_array_size (warnings) == 3);
    assert (strstr (text, "triggerConditions[0]") && strstr (text, "data.totl"));
    assert (strstr (text, "triggerConditions[1]"));
    assert (strstr (text, "data.nope"));
    free (text);
    json_decref (reply);

    //  With strict_paths the same rule is refused: 422, the warnings in the NACK
    char dir [256];
    test_tempdir (dir, sizeof (dir));
    zconfig_t *settings = zconfig_new ("root", NULL);
    zconfig_put (settings, "automation/strict_paths", "true");
    zconfig_put (settings, "outbox/executors", "log");
    zeb_node_t *node = zeb_node_new_embedded_with (dir, settings, &fault);
    assert (node);
    zconfig_destroy (&settings);
    registry = zeb_registry_client_new (zeb_node_endpoint (node, "registry"));
    rc = zeb_registry_client_register (registry, "invoice.paid", schema, NULL, NULL, &reply, &fault);
    assert (rc == 0);
    json_decref (reply);
    zeb_registry_client_destroy (&registry);
    zsock_t *strict = zsock_new_dealer (zeb_node_endpoint (node, "automation"));
    assert (strict);
    reply = s_expect_on (strict, "PUT", body, "NACK");
    assert (json_integer_value (json_object_get (reply, "code")) == 422);
    assert (json_array_size (json_object_get (reply, "warnings")) == 3);
    json_decref (reply);
    json_decref (s_expect_on (strict, "GET", "{\"id\":\"schema-1\"}", "NACK"));
    //  A rule that fits is taken
    json_decref (s_expect_on (strict, "PUT", "{\"rule\":{\"id\":\"schema-2\",\"triggerEventType\":\"invoice.paid\","
                              "\"triggerConditions\":[{\"field\":\"data.total\",\"operator\":\"gt\",\"value\":10}],"
                              "\"actions\":[{\"type\":\"log\"}]}}", "PUT"));
    zsock_destroy (&strict);
    zeb_node_destroy (&node);
    test_rmtree (dir);
    zstr_free (&body);
}

//  TEST: a dry run reports every condition and the rendered actions
static void
s_test_dry_run (void)
{
    const char *body =
        "{\"event\":{\"id\":\"e-1\",\"type\":\"order.placed\",\"source\":\"test\","
        "\"data\":{\"total\":120.5,\"customer\":{\"tier\":\"gold\"},\"items\":[{\"sku\":\"A\"},{\"sku\":\"B\"}]}},"
        "\"rule\":{\"triggerEventType\":\"order.*\","
        "\"triggerConditions\":[{\"field\":\"data.total\",\"operator\":\"gt\",\"value\":100},"
        "{\"field\":\"data.customer.tier\",\"operator\":\"in\",\"value\":[\"gold\",\"platinum\"]}],"
        "\"actions\":[{\"type\":\"log\",\"config\":{\"message\":\"order {{event.id}} of {{data.total}}\","
        "\"items\":\"{{data.items}}\"}}]}}";
    json_t *reply = s_expect ("TEST", body, "TEST");
    assert (json_is_true (json_object_get (reply, "matched")));
    assert (json_is_true (json_object_get (reply, "triggered")));
    json_t *conditions = json_object_get (json_object_get (reply, "explain"), "conditions");
    assert (json_array_size (conditions) == 2);
    assert (json_real_value (json_object_get (json_array_get (conditions, 0), "seen")) == 120.5);
    assert (json_is_true (json_object_get (json_array_get (conditions, 0), "result")));
    assert (streq (json_string_value (json_object_get (json_array_get (conditions, 1), "seen")), "gold"));
    json_t *config = json_object_get (json_array_get (json_object_get (reply, "actions"), 0), "config");
    assert (streq (json_string_value (json_object_get (config, "message")), "order e-1 of 120.5"));
    assert (json_array_size (json_object_get (config, "items")) == 2);
    json_decref (reply);
    //  The same event with a lower total: not matched, the condition says why
    reply = s_expect ("TEST", "{\"event\":{\"id\":\"e-2\",\"type\":\"order.placed\",\"source\":\"t\","
                      "\"data\":{\"total\":5}},\"rule\":{\"triggerEventType\":\"order.placed\","
                      "\"triggerConditions\":[{\"field\":\"data.total\",\"operator\":\"gt\",\"value\":100}],"
                      "\"actions\":[{\"type\":\"log\"}]}}", "TEST");
    assert (json_is_false (json_object_get (reply, "matched")));
    conditions = json_object_get (json_object_get (reply, "explain"), "conditions");
    assert (json_is_false (json_object_get (json_array_get (conditions, 0), "result")));
    assert (json_integer_value (json_object_get (json_array_get (conditions, 0), "seen")) == 5);
    json_decref (reply);
    s_refused ("TEST", "{\"rule\":{\"triggerEventType\":\"a.b\",\"actions\":[{\"type\":\"log\"}]}}", "INVALID_ATTRIBUTE");
    s_refused ("TEST", "{\"event\":{\"type\":\"a.b\",\"source\":\"t\"},\"id\":\"nobody\"}", "NOT_FOUND");
    //  Nothing ran: a dry run enqueues nothing
}

static void
s_on_ack (const zeb_ack_t *ack, void *arg)
{
    size_t *acked = (size_t *) arg;
    if (ack->status == 0)
        (*acked)++;
    else
        fprintf (stderr, "publish refused: %s\n", ack->error);
}

//  A BACKTEST of body (JSON without its braces' end: "from" is added)
//  paged to the end; the totals of every page, the first page's items
typedef struct {
    uint64_t scanned, matched, fired, would_fire, would_stop;
    size_t pages;
    json_t *first;              //  the first page's reply
} s_backtest_t;

static void
s_backtest (const char *rule, uint64_t from, const char *extra, s_backtest_t *result)
{
    memset (result, 0, sizeof (*result));
    while (true) {
        char *body = zsys_sprintf ("{\"from\":%" PRIu64 "%s%s,\"rule\":%s}", from, extra? ",": "",
                                   extra? extra: "", rule);
        json_t *reply = s_expect ("BACKTEST", body, "BACKTEST");
        zstr_free (&body);
        result->pages++;
        result->scanned += json_integer_value (json_object_get (reply, "scanned"));
        result->matched += json_integer_value (json_object_get (reply, "matched"));
        json_t *changes = json_object_get (reply, "changes");
        result->fired += json_integer_value (json_object_get (changes, "fired"));
        result->would_fire += json_integer_value (json_object_get (changes, "wouldFire"));
        result->would_stop += json_integer_value (json_object_get (changes, "wouldStop"));
        bool complete = json_is_true (json_object_get (reply, "complete"));
        uint64_t next = (uint64_t) json_integer_value (json_object_get (reply, "next"));
        if (!result->first)
            result->first = reply;
        else
            json_decref (reply);
        if (complete)
            break;
        assert (next > from);
        from = next;
    }
}

//  BACKTEST over 100,000 events of the retained log
static void
s_test_backtest (void)
{
    size_t total = 100000, acked = 0;
    uint64_t first = 0;
    char data [64];
    for (size_t index = 0; index < total; index++) {
        zeb_event_t *event = zeb_event_new ("load.tick");
        zeb_event_set (event, "source", "backtest");
        snprintf (data, sizeof (data), "{\"n\":%zu,\"bucket\":%zu}", index, index % 100);
        zeb_fault_t fault;
        zeb_event_set_data_json (event, data, &fault);
        assert (zeb_client_publish_async (s_client, event, s_on_ack, &acked) == 0);
        zeb_event_destroy (&event);
    }
    assert (zeb_client_flush (s_client, 60000) == 0);
    assert (acked == total);
    //  Once the automations have read them all, a rule stored from now on
    //  sees only events stored after it (it would see a backlog too)
    s_wait_evaluated (s_node, s_publish ("load.done", "{}"));
    //  The first of them
    zeb_fetch_t fetch;
    assert (zeb_client_fetch (s_client, 0, 1, 0, "load.tick", &fetch) == 0);
    zeb_event_t *event = (zeb_event_t *) zlistx_first (fetch.events);
    assert (event);
    first = zeb_event_sequence (event);
    zeb_fetch_reset (&fetch);
    char *outbox_before = zeb_node_stats (s_node, "outbox");
    json_t *before = json_loads (outbox_before, 0, NULL);
    const char *rule = "{\"triggerEventType\":\"load.tick\","
        "\"triggerConditions\":[{\"field\":\"data.bucket\",\"operator\":\"eq\",\"value\":7}],"
        "\"actions\":[{\"type\":\"webhook\",\"config\":{\"url\":\"http://127.0.0.1:1/{{data.n}}\"}}]}";
    int64_t started = test_now_ms ();
    s_backtest_t result;
    s_backtest (rule, first, "\"limit\":50", &result);
    int64_t took = test_now_ms () - started;
    assert (result.scanned == total);
    assert (result.matched == total / 100);
    json_t *reply = result.first;
    assert (json_is_true (json_object_get (reply, "truncated")));
    json_t *items = json_object_get (reply, "items");
    assert (json_array_size (items) == 50);
    json_t *item = json_array_get (items, 0);
    assert ((uint64_t) json_integer_value (json_object_get (item, "sequence")) == first + 7);
    json_t *config = json_object_get (json_array_get (json_object_get (item, "actions"), 0), "config");
    assert (streq (json_string_value (json_object_get (config, "url")), "http://127.0.0.1:1/7"));
    json_decref (reply);
    //  A range: sequences [first + 100, first + 299] hold two matches
    char range [64];
    snprintf (range, sizeof (range), "\"to\":%" PRIu64, first + 299);
    s_backtest ("{\"triggerEventType\":\"load.*\",\"triggerConditions\":[{\"field\":\"data.bucket\","
                "\"operator\":\"eq\",\"value\":7}],\"actions\":[{\"type\":\"log\"}]}", first + 100, range, &result);
    assert (result.scanned == 200 && result.matched == 2);
    json_decref (result.first);
    //  A changed rule against its stored version: bucket 7 stored (and
    //  disabled, so that it runs nothing here), tried as 7 or 8, then as 8
    json_decref (s_expect ("PUT", "{\"rule\":{\"id\":\"bt-1\",\"enabled\":false,\"triggerEventType\":\"load.tick\","
                           "\"triggerConditions\":[{\"field\":\"data.bucket\",\"operator\":\"eq\",\"value\":7}],"
                           "\"actions\":[{\"type\":\"log\"}]}}", "PUT"));
    json_decref (s_expect ("ENABLE", "{\"id\":\"bt-1\"}", "ENABLE"));
    json_decref (s_expect ("DISABLE", "{\"id\":\"bt-1\"}", "DISABLE"));
    s_backtest ("{\"id\":\"bt-1\",\"triggerEventType\":\"load.tick\",\"triggerConditions\":[{\"field\":"
                "\"data.bucket\",\"operator\":\"in\",\"value\":[7,8]}],\"actions\":[{\"type\":\"log\"}]}",
                first, NULL, &result);
    json_decref (result.first);
    printf ("    %zu pages ", result.pages);
    //  The stored version is disabled: it fires on nothing
    assert (result.matched == 2 * total / 100 && result.would_fire == 2 * total / 100 && result.would_stop == 0);
    json_decref (s_expect ("ENABLE", "{\"id\":\"bt-1\"}", "ENABLE"));
    //  (enabled, it runs log actions for the buckets 7 from here on: harmless)
    s_backtest ("{\"id\":\"bt-1\",\"triggerEventType\":\"load.tick\",\"triggerConditions\":[{\"field\":"
                "\"data.bucket\",\"operator\":\"in\",\"value\":[7,8]}],\"actions\":[{\"type\":\"log\"}]}",
                first, NULL, &result);
    assert (result.fired == total / 100 && result.would_fire == total / 100 && result.would_stop == 0);
    json_decref (result.first);
    s_backtest ("{\"id\":\"bt-1\",\"triggerEventType\":\"load.tick\",\"triggerConditions\":[{\"field\":"
                "\"data.bucket\",\"operator\":\"eq\",\"value\":8}],\"actions\":[{\"type\":\"log\"}]}",
                first, "\"limit\":4", &result);
    assert (result.fired == 0 && result.would_fire == total / 100 && result.would_stop == total / 100);
    items = json_object_get (result.first, "items");
    assert (streq (json_string_value (json_object_get (json_array_get (items, 0), "change")), "wouldStop"));
    assert (streq (json_string_value (json_object_get (json_array_get (items, 1), "change")), "wouldFire"));
    json_decref (result.first);
    json_decref (s_expect ("DELETE", "{\"id\":\"bt-1\"}", "DELETE"));
    //  Nothing was executed or enqueued
    char *outbox_after = zeb_node_stats (s_node, "outbox");
    json_t *after = json_loads (outbox_after, 0, NULL);
    assert (json_integer_value (json_object_get (before, "enqueued"))
         == json_integer_value (json_object_get (after, "enqueued")));
    printf ("    backtest of %zu events: %" PRId64 " ms\n", total, took);
    json_decref (before);
    json_decref (after);
    zstr_free (&outbox_before);
    zstr_free (&outbox_after);
}

//  10,000 rules stored, then found again by a new node on the same data
static void
s_test_restart (void)
{
    char dir [256];
    test_tempdir (dir, sizeof (dir));
    zconfig_t *settings = zconfig_new ("root", NULL);
    zconfig_put (settings, "outbox/executors", "log");
    zeb_fault_t fault;
    zeb_node_t *node = zeb_node_new_embedded_with (dir, settings, &fault);
    assert (node);
    zsock_t *dealer = zsock_new_dealer (zeb_node_endpoint (node, "automation"));
    size_t total = 10000;
    int64_t started = test_now_ms ();
    //  Pipelined, a window of 500 requests in flight (the ROUTER's queue
    //  to one peer holds 1000 replies)
    zsock_set_rcvtimeo (dealer, 60000);
    size_t sent = 0, received = 0;
    while (received < total) {
        while (sent < total && sent - received < 500) {
            char rule [512];
            snprintf (rule, sizeof (rule),
                      "{\"rule\":{\"id\":\"r-%05zu\",\"triggerEventType\":\"restart.t%zu\",\"priority\":%zu,"
                      "\"triggerConditions\":[{\"field\":\"data.n\",\"operator\":\"eq\",\"value\":%zu}],"
                      "\"actions\":[{\"type\":\"log\",\"config\":{\"message\":\"{{data.n}}\"}}]}}",
                      sent, sent % 100, sent % 7, sent);
            msgpack_sbuffer buffer;
            msgpack_sbuffer_init (&buffer);
            assert (zeb_json_pack_text (rule, strlen (rule), &buffer, NULL) == 0);
            zmsg_t *msg = zmsg_new ();
            zmsg_addstr (msg, "PUT");
            zmsg_addmem (msg, buffer.data, buffer.size);
            zmsg_send (&msg, dealer);
            msgpack_sbuffer_destroy (&buffer);
            sent++;
        }
        zmsg_t *msg = zmsg_recv (dealer);
        assert (msg);
        char *command = zmsg_popstr (msg);
        assert (streq (command, "PUT"));
        zstr_free (&command);
        zmsg_destroy (&msg);
        received++;
    }
    printf ("    %zu rules stored in %" PRId64 " ms\n", total, test_now_ms () - started);
    zsock_destroy (&dealer);
    zeb_node_destroy (&node);

    //  Again, from the same directory
    started = test_now_ms ();
    node = zeb_node_new_embedded_with (dir, settings, &fault);
    assert (node);
    printf ("    restarted with them in %" PRId64 " ms\n", test_now_ms () - started);
    zconfig_destroy (&settings);
    dealer = zsock_new_dealer (zeb_node_endpoint (node, "automation"));
    json_t *reply = s_expect_on (dealer, "LIST", "{\"limit\":10}", "LIST");
    assert (json_integer_value (json_object_get (reply, "total")) == (json_int_t) total);
    assert (streq (json_string_value (json_object_get (json_array_get (json_object_get (reply, "items"), 0), "id")),
                   "r-00000"));
    json_decref (reply);
    reply = s_expect_on (dealer, "GET", "{\"id\":\"r-09999\"}", "GET");
    json_decref (reply);
    //  The last rule still fires: its log says so
    zeb_client_t *client = zeb_client_new (zeb_node_endpoint (node, "ingest"));
    zeb_event_t *event = zeb_event_new ("restart.t99");
    zeb_event_set (event, "source", "restart");
    zeb_event_set_data_json (event, "{\"n\":9999}", &fault);
    assert (zeb_client_publish (client, event, NULL) == 0);
    zeb_event_destroy (&event);
    s_stat_wait_t wait = { node, "runs", 1 };
    assert (test_wait_until (s_stat_reached, &wait, 20000));
    assert (s_stat (node, "runs") == 1);
    //  The index gave only the 100 rules of its type
    assert (s_stat (node, "candidates") == 100);
    zeb_client_destroy (&client);
    zsock_destroy (&dealer);
    zeb_node_destroy (&node);
    test_rmtree (dir);
}

//  Counts the execution logs of origin, page by page
typedef struct {
    zeb_outbox_client_t *outbox;
    const char *origin;
    size_t want;
    size_t count;
} s_logs_t;

static bool
s_logs_reached (void *arg)
{
    s_logs_t *logs = (s_logs_t *) arg;
    char before [64] = "";
    logs->count = 0;
    while (true) {
        json_t *reply = NULL;
        zeb_fault_t fault;
        int rc = zeb_outbox_client_logs (logs->outbox, logs->origin, NULL, 1000, before, &reply, &fault);
        assert (rc == 0);
        logs->count += json_array_size (json_object_get (reply, "items"));
        json_t *next = json_object_get (reply, "next");
        bool more = json_is_string (next);
        if (more)
            snprintf (before, sizeof (before), "%s", json_string_value (next));
        json_decref (reply);
        if (!more)
            break;
    }
    return logs->count >= logs->want;
}

//  SIGKILL during evaluation: every event gets exactly one run per rule,
//  each delivered at least once
static void
s_test_crash (void)
{
    if (!s_zebd) {
        printf ("    (no zebd given: skipped)\n");
        return;
    }
    receiver_t *receiver = receiver_new ();
    char *url = s_url (receiver, "/crash/{{data.n}}");
    test_zebd_t zebd;
    test_zebd_init (&zebd, s_zebd);
    test_zebd_set (&zebd, "webhook/allow=127.0.0.1/32");
    test_zebd_set (&zebd, "outbox/executors=webhook");
    test_zebd_set (&zebd, "outbox/backoff=20ms");
    test_zebd_set (&zebd, "automation/batch=20");
    assert (test_zebd_start (&zebd, 20000) == 0);
    zeb_client_t *client = zeb_client_new (zebd.ingest);
    assert (zeb_client_connect (client) == 0);
    zsock_t *dealer = zsock_new_dealer (zeb_client_automation_endpoint (client));
    char *rule = zsys_sprintf ("{\"rule\":{\"id\":\"crash\",\"triggerEventType\":\"crash.tick\","
                               "\"actions\":[{\"type\":\"webhook\",\"config\":{\"url\":\"%s\"}}]}}", url);
    json_decref (s_expect_on (dealer, "PUT", rule, "PUT"));
    zsock_destroy (&dealer);
    size_t total = 2000, acked = 0;
    for (size_t index = 0; index < total; index++) {
        zeb_event_t *event = zeb_event_new ("crash.tick");
        zeb_event_set (event, "source", "crash");
        char data [32];
        snprintf (data, sizeof (data), "{\"n\":%zu}", index);
        zeb_fault_t fault;
        zeb_event_set_data_json (event, data, &fault);
        assert (zeb_client_publish_async (client, event, s_on_ack, &acked) == 0);
        zeb_event_destroy (&event);
    }
    assert (zeb_client_flush (client, 60000) == 0);
    assert (acked == total);
    zeb_client_destroy (&client);
    //  Kill it in the middle of the runs, three times
    size_t before = 0;
    for (size_t round = 1; round <= 3; round++) {
        assert (receiver_wait_count (receiver, round * total / 4, 60000));
        test_zebd_kill (&zebd);
        if (round == 1)
            before = receiver_count (receiver);
        assert (test_zebd_start (&zebd, 20000) == 0);
    }
    assert (before < total);
    //  Every event reached the receiver (at least once)
    int64_t until = test_now_ms () + 60000;
    bool *seen = (bool *) zmalloc (total * sizeof (bool));
    zhashx_t *ids = zhashx_new ();
    size_t distinct = 0, read = 0;
    while (distinct < total && test_now_ms () < until) {
        receiver_wait_count (receiver, read + 1, 200);
        receiver_request_t request;
        while (receiver_request (receiver, read, &request)) {
            size_t n = (size_t) atol (request.path + strlen ("/crash/"));
            assert (n < total);
            char webhook_id [80] = "";
            assert (receiver_request_header (&request, "webhook-id", webhook_id, sizeof (webhook_id)));
            //  One webhook id per event: the run id is the same after the crash
            const char *known = (const char *) zhashx_lookup (ids, webhook_id);
            if (known)
                assert ((size_t) atol (known) == n);
            else {
                char number [24];
                snprintf (number, sizeof (number), "%zu", n);
                zhashx_insert (ids, webhook_id, strdup (number));
            }
            if (!seen [n]) {
                seen [n] = true;
                distinct++;
            }
            receiver_request_reset (&request);
            read++;
        }
    }
    assert (distinct == total);
    assert (zhashx_size (ids) == total);
    printf ("    %zu events, %zu deliveries (%zu before the kill), %zu distinct webhook ids\n",
            total, read, before, zhashx_size (ids));
    for (char *value = (char *) zhashx_first (ids); value; value = (char *) zhashx_next (ids))
        free (value);
    zhashx_destroy (&ids);
    free (seen);
    //  And the outbox holds exactly one run per event: its logs by origin
    client = zeb_client_new (zebd.ingest);
    assert (zeb_client_connect (client) == 0);
    zeb_outbox_client_t *outbox = zeb_outbox_client_new (zeb_client_outbox_endpoint (client));
    s_logs_t logs = { outbox, "crash", total, 0 };
    test_wait_until (s_logs_reached, &logs, 30000);
    size_t logged = logs.count;
    assert (logged == total);
    zeb_outbox_client_destroy (&outbox);
    zeb_client_destroy (&client);
    test_zebd_destroy (&zebd);
    zstr_free (&rule);
    zstr_free (&url);
    receiver_destroy (&receiver);
}

static const test_case_t s_cases [] = {
    { "vip", s_test_vip },
    { "triggers", s_test_triggers },
    { "admin", s_test_admin },
    { "schema", s_test_schema },
    { "dry_run", s_test_dry_run },
    { "backtest", s_test_backtest },
    { "restart", s_test_restart },
    { "crash", s_test_crash },
};

int
main (int argc, char *argv [])
{
    zsys_init ();
    zeb_set_quiet (true);
    s_zebd = argc > 1? argv [1]: NULL;
    test_tempdir (s_dir, sizeof (s_dir));
    zconfig_t *settings = zconfig_new ("root", NULL);
    zconfig_put (settings, "outbox/executors", "webhook,emit_event,log");
    zconfig_put (settings, "webhook/allow", "127.0.0.1/32");
    zconfig_put (settings, "outbox/backoff", "50ms");
    zconfig_put (settings, "automation/log_skipped", "true");
    zeb_fault_t fault;
    s_node = zeb_node_new_embedded_with (s_dir, settings, &fault);
    if (!s_node)
        fprintf (stderr, "node: %s\n", fault.text);
    assert (s_node);
    zconfig_destroy (&settings);
    s_automation = zsock_new_dealer (zeb_node_endpoint (s_node, "automation"));
    assert (s_automation);
    s_client = zeb_client_new (zeb_node_endpoint (s_node, "ingest"));
    assert (s_client);
    const char *only = argc > 2? argv [2]: NULL;
    test_run_cases (s_cases, sizeof (s_cases) / sizeof (s_cases [0]), only);
    zeb_client_destroy (&s_client);
    zsock_destroy (&s_automation);
    zeb_node_destroy (&s_node);
    test_rmtree (s_dir);
    return 0;
}
