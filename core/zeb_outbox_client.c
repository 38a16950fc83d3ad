/*  =========================================================================
    zeb_outbox_client - talk to a node's outbox: runs, dead letters, logs

    Every verb is one call over zeb_proto's tagged JSON path: a body built
    here, the reply named after the verb (ENQUEUE -> ENQUEUED, DLQ_LIST ->
    DLQ...) or a NACK. Tags are kind 'O' with a counter of this client's
    own; replies to requests that timed out are dropped on the way.
    =========================================================================
*/

#include "zeb_classes.h"

struct _zeb_outbox_client_t {
    zsock_t *socket;            //  DEALER to the outbox
    int timeout;                //  ms
    uint64_t next_tag;
};

zeb_outbox_client_t *
zeb_outbox_client_new (const char *endpoint)
{
    if (!endpoint || !*endpoint)
        return NULL;
    zsock_t *socket = zeb_proto_dealer_new (endpoint, 1000, 1000);
    if (!socket)
        return NULL;
    zeb_outbox_client_t *self = (zeb_outbox_client_t *) zmalloc (sizeof (zeb_outbox_client_t));
    assert (self);
    self->socket = socket;
    self->timeout = ZEB_OUTBOX_CLIENT_TIMEOUT;
    self->next_tag = 1;
    return self;
}

void
zeb_outbox_client_destroy (zeb_outbox_client_t **self_p)
{
    assert (self_p);
    zeb_outbox_client_t *self = *self_p;
    if (self) {
        zsock_destroy (&self->socket);
        free (self);
        *self_p = NULL;
    }
}

void
zeb_outbox_client_set_timeout (zeb_outbox_client_t *self, int timeout_ms)
{
    assert (self);
    self->timeout = timeout_ms > 0? timeout_ms: ZEB_OUTBOX_CLIENT_TIMEOUT;
}

//  Send command with body (borrowed) and wait for the reply expected
static int
s_call (zeb_outbox_client_t *self, const char *command, const char *expected, json_t *body,
        json_t **reply, zeb_fault_t *fault)
{
    zeb_proto_call_t call = { zsock_resolve (self->socket), "outbox", &self->next_tag, 'O',
                              self->timeout, NULL, NULL };
    return zeb_proto_call_json (&call, command, expected, body, reply, fault);
}

//  Call command with {key: value}; value sent as it is, for the outbox to judge
static int
s_call_str (zeb_outbox_client_t *self, const char *command, const char *expected,
            const char *key, const char *value, json_t **reply, zeb_fault_t *fault)
{
    json_t *body = json_object ();
    json_object_set_new (body, key, json_string_nocheck (value));
    int rc = s_call (self, command, expected, body, reply, fault);
    json_decref (body);
    return rc;
}

//  Call a verb that names dead letters: {id}, or a filter (NULL: all)
static int
s_call_dead (zeb_outbox_client_t *self, const char *command, const char *expected,
             const char *id, json_t *filter, json_t **reply, zeb_fault_t *fault)
{
    if (reply)
        *reply = NULL;
    if (id)
        return s_call_str (self, command, expected, "id", id, reply, fault);
    if (filter && !json_is_object (filter))
        return zeb_fault_set (fault, ZEB_EINVALID, "%s: the filter is not a JSON object", command);
    json_t *body = filter? json_incref (filter): json_object ();
    int rc = s_call (self, command, expected, body, reply, fault);
    json_decref (body);
    return rc;
}

int
zeb_outbox_client_enqueue (zeb_outbox_client_t *self, json_t *runs, json_t **reply, zeb_fault_t *fault)
{
    assert (self);
    if (reply)
        *reply = NULL;
    if (!json_is_array (runs))
        return zeb_fault_set (fault, ZEB_EINVALID, "ENQUEUE: runs is not a JSON array");
    json_t *body = json_object ();
    json_object_set (body, "runs", runs);
    int rc = s_call (self, "ENQUEUE", "ENQUEUED", body, reply, fault);
    json_decref (body);
    return rc;
}

int
zeb_outbox_client_run (zeb_outbox_client_t *self, const char *id, json_t **reply, zeb_fault_t *fault)
{
    assert (self);
    assert (id);
    return s_call_str (self, "RUN", "RUN", "id", id, reply, fault);
}

int
zeb_outbox_client_dlq_list (zeb_outbox_client_t *self, json_t *filter, json_t **reply, zeb_fault_t *fault)
{
    assert (self);
    return s_call_dead (self, "DLQ_LIST", "DLQ", NULL, filter, reply, fault);
}

int
zeb_outbox_client_dlq_show (zeb_outbox_client_t *self, const char *id, json_t **reply, zeb_fault_t *fault)
{
    assert (self);
    assert (id);
    return s_call_str (self, "DLQ_SHOW", "DEAD", "id", id, reply, fault);
}

int
zeb_outbox_client_dlq_replay (zeb_outbox_client_t *self, const char *id, json_t *filter,
                              json_t **reply, zeb_fault_t *fault)
{
    assert (self);
    assert (!(id && filter));
    return s_call_dead (self, "DLQ_REPLAY", "REPLAYED", id, filter, reply, fault);
}

int
zeb_outbox_client_dlq_purge (zeb_outbox_client_t *self, const char *id, json_t *filter,
                             json_t **reply, zeb_fault_t *fault)
{
    assert (self);
    assert (!(id && filter));
    return s_call_dead (self, "DLQ_PURGE", "PURGED", id, filter, reply, fault);
}

//  A time in ms, as decimal digits (at most 18 of them)?
static bool
s_is_ms (const char *text)
{
    size_t len = strspn (text, "0123456789");
    return len > 0 && len <= 18 && text [len] == 0;
}

int
zeb_outbox_client_logs (zeb_outbox_client_t *self, const char *origin, const char *type,
                        uint32_t limit, const char *before, json_t **reply, zeb_fault_t *fault)
{
    assert (self);
    json_t *body = json_object ();
    if (origin)
        json_object_set_new (body, "origin", json_string_nocheck (origin));
    if (type)
        json_object_set_new (body, "type", json_string_nocheck (type));
    if (limit)
        json_object_set_new (body, "limit", json_integer (limit));
    if (before && *before)
        json_object_set_new (body, "before", s_is_ms (before)?
                             json_integer (strtoll (before, NULL, 10)): json_string_nocheck (before));
    int rc = s_call (self, "LOGS", "LOGS", body, reply, fault);
    json_decref (body);
    return rc;
}

int
zeb_outbox_client_target_enable (zeb_outbox_client_t *self, const char *target,
                                 json_t **reply, zeb_fault_t *fault)
{
    assert (self);
    assert (target);
    return s_call_str (self, "TARGET_ENABLE", "ENABLED", "target", target, reply, fault);
}

int
zeb_outbox_client_stats (zeb_outbox_client_t *self, json_t **reply, zeb_fault_t *fault)
{
    assert (self);
    json_t *body = json_object ();
    int rc = s_call (self, ZEB_CMD_STATS, ZEB_CMD_STATS, body, reply, fault);
    json_decref (body);
    return rc;
}
