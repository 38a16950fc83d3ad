/*  =========================================================================
    zeb_registry_client - talk to a node's schema registry

    Tags are zeb_proto's: a kind ('S' synchronous call, 'A' async GET)
    and a big-endian counter shared by both kinds, so that every request
    of this client has a tag of its own. A synchronous call waits for its
    own tag (zeb_proto_reply_await) and drops any other 'S' reply (a late
    one); async replies it meets on the way are kept for get_recv. Async GETs are
    remembered in a ring, in the order sent (which is also the order in
    which they expire, the timeout being one for all); a reply whose tag
    is not in the ring (expired and reported, or never ours) is dropped.
    =========================================================================
*/

#include "zeb_classes.h"

//  An async GET awaiting its reply; id 0 marks a slot answered out of order
typedef struct {
    uint64_t id;
    int64_t expires;            //  zclock_mono ms
} s_pending_t;

struct _zeb_registry_client_t {
    zsock_t *socket;            //  DEALER to the registry
    int timeout;                //  ms
    uint64_t next_tag;
    s_pending_t ring [ZEB_REGISTRY_CLIENT_MAX_PENDING];
    size_t head;                //  oldest slot
    size_t span;                //  slots from head, answered ones included
    size_t pending;             //  slots still awaiting a reply
    zlistx_t *ready;            //  async answers read during synchronous calls
};

static void
s_schema_destroy (void **item_p)
{
    zeb_registry_schema_t *schema = (zeb_registry_schema_t *) *item_p;
    if (schema) {
        free (schema->schema);
        free (schema);
        *item_p = NULL;
    }
}

zeb_registry_client_t *
zeb_registry_client_new (const char *endpoint)
{
    if (!endpoint || !*endpoint)
        return NULL;
    //  Requests to a registry that is not up yet wait in the queue, and
    //  the timeouts decide
    zsock_t *socket = zeb_proto_dealer_new (endpoint, 10000, 10000);
    if (!socket)
        return NULL;
    zeb_registry_client_t *self = (zeb_registry_client_t *) zmalloc (sizeof (zeb_registry_client_t));
    self->socket = socket;
    self->timeout = ZEB_REGISTRY_CLIENT_TIMEOUT;
    self->next_tag = 1;
    self->ready = zlistx_new ();
    zlistx_set_destructor (self->ready, s_schema_destroy);
    return self;
}

void
zeb_registry_client_destroy (zeb_registry_client_t **self_p)
{
    assert (self_p);
    zeb_registry_client_t *self = *self_p;
    if (self) {
        zsock_destroy (&self->socket);
        zlistx_destroy (&self->ready);
        free (self);
        *self_p = NULL;
    }
}

void
zeb_registry_client_set_timeout (zeb_registry_client_t *self, int timeout_ms)
{
    assert (self);
    self->timeout = timeout_ms > 0? timeout_ms: ZEB_REGISTRY_CLIENT_TIMEOUT;
}

zsock_t *
zeb_registry_client_socket (zeb_registry_client_t *self)
{
    assert (self);
    return self->socket;
}

size_t
zeb_registry_client_pending (zeb_registry_client_t *self)
{
    assert (self);
    return self->pending;
}

//  ---------------------------------------------------------------------
//  Requests

//  A string member without UTF-8 checks: the bytes go as they are, and
//  the registry judges them
static void
s_body_str (json_t *body, const char *key, const char *value)
{
    if (value)
        json_object_set_new (body, key, json_string_nocheck (value));
}

//  A body {type, key: value?, version?} for the verbs that name one type;
//  value NULL and version 0 are left out
static json_t *
s_type_body (const char *type, const char *key, const char *value, uint32_t version)
{
    json_t *body = json_object ();
    s_body_str (body, "type", type);
    if (key)
        s_body_str (body, key, value);
    if (version)
        json_object_set_new (body, "version", json_integer (version));
    return body;
}

//  ---------------------------------------------------------------------
//  Async GET bookkeeping

static void
s_ring_trim (zeb_registry_client_t *self)
{
    while (self->span > 0 && self->ring [self->head].id == 0) {
        self->head = (self->head + 1) % ZEB_REGISTRY_CLIENT_MAX_PENDING;
        self->span--;
    }
}

//  Forget an outstanding GET; false if it is not outstanding
static bool
s_ring_remove (zeb_registry_client_t *self, uint64_t id)
{
    for (size_t offset = 0; offset < self->span; offset++) {
        s_pending_t *slot = &self->ring [(self->head + offset) % ZEB_REGISTRY_CLIENT_MAX_PENDING];
        if (slot->id == id) {
            slot->id = 0;
            self->pending--;
            s_ring_trim (self);
            return true;
        }
    }
    return false;
}

//  Read a GET reply (or its NACK) into schema
static void
s_schema_parse (zeb_proto_reply_t *reply, uint64_t id, zeb_registry_schema_t *schema)
{
    memset (schema, 0, sizeof (*schema));
    schema->request_id = id;
    size_t size;
    const void *body = zeb_proto_reply_body (reply, &size);
    if (!body || !zeb_proto_is_map (body, size)) {
        schema->status = ZEB_EPROTOCOL;
        snprintf (schema->error, sizeof (schema->error), "registry reply is not a msgpack map");
        return;
    }
    if (zeb_proto_reply_is (reply, ZEB_CMD_NACK)) {
        zeb_fault_t fault = { 0 };
        int64_t index;
        if (zeb_proto_parse_nack (body, size, &fault, &index))
            zeb_fault_set (&fault, ZEB_EPROTOCOL, "registry sent a malformed NACK");
        schema->status = fault.code? fault.code: ZEB_ERROR;
        snprintf (schema->error, sizeof (schema->error), "%s", fault.text);
        return;
    }
    if (!zeb_proto_reply_is (reply, "GET")) {
        schema->status = ZEB_EPROTOCOL;
        snprintf (schema->error, sizeof (schema->error), "registry answered GET with another command");
        return;
    }
    uint64_t version = 0;
    zeb_proto_get_uint (body, size, "version", &version);
    schema->version = version <= UINT32_MAX? (uint32_t) version: 0;
    const char *text;
    size_t len;
    if (zeb_proto_get_str (body, size, "schema", &text, &len) == 0)
        schema->schema = strndup (text, len);
    if (zeb_proto_get_str (body, size, "validation", &text, &len) == 0)
        snprintf (schema->validation, sizeof (schema->validation), "%.*s", (int) len, text);
}

//  A message met during a synchronous call that is not its reply: an
//  async reply is kept for get_recv if its GET is outstanding; anything
//  else is late, and dropped
static void
s_keep_async (zeb_proto_reply_t *reply, void *arg)
{
    zeb_registry_client_t *self = (zeb_registry_client_t *) arg;
    uint64_t id;
    if (!zeb_proto_reply_tag (reply, 'A', &id) || !s_ring_remove (self, id))
        return;
    zeb_registry_schema_t *schema = (zeb_registry_schema_t *) zmalloc (sizeof (zeb_registry_schema_t));
    s_schema_parse (reply, id, schema);
    zlistx_add_end (self->ready, schema);
}

int
zeb_registry_client_get_send (zeb_registry_client_t *self, const char *type, uint32_t version,
                              uint64_t *request_id)
{
    assert (self);
    assert (type);
    assert (request_id);
    if (self->span >= ZEB_REGISTRY_CLIENT_MAX_PENDING)
        return ZEB_EOVERLOADED;
    json_t *body = s_type_body (type, NULL, NULL, version);
    uint64_t counter;
    int rc = zeb_proto_send_json (zsock_resolve (self->socket), &self->next_tag, 'A', "GET", body,
                                  0, &counter);
    json_decref (body);
    if (rc)
        return rc;
    size_t slot = (self->head + self->span) % ZEB_REGISTRY_CLIENT_MAX_PENDING;
    self->ring [slot].id = counter;
    self->ring [slot].expires = zclock_mono () + self->timeout;
    self->span++;
    self->pending++;
    *request_id = counter;
    return 0;
}

int
zeb_registry_client_get_recv (zeb_registry_client_t *self, zeb_registry_schema_t *reply)
{
    assert (self);
    assert (reply);
    zeb_registry_schema_t *kept = (zeb_registry_schema_t *) zlistx_first (self->ready);
    if (kept) {
        *reply = *kept;
        kept->schema = NULL;            //  handed over
        zlistx_delete (self->ready, zlistx_cursor (self->ready));
        return 0;
    }
    zeb_proto_reply_t message;
    while (zeb_proto_reply_recv (zsock_resolve (self->socket), &message, 0) == 0) {
        uint64_t id;
        bool ours = zeb_proto_reply_tag (&message, 'A', &id) && s_ring_remove (self, id);
        if (ours)
            s_schema_parse (&message, id, reply);
        zeb_proto_reply_close (&message);
        if (ours)
            return 0;
        //  Else a late reply, or one to a synchronous call that timed
        //  out: dropped
    }
    //  The socket is drained; report the oldest GET if it has expired
    if (self->span > 0 && self->ring [self->head].expires <= zclock_mono ()) {
        uint64_t id = self->ring [self->head].id;
        s_ring_remove (self, id);
        memset (reply, 0, sizeof (*reply));
        reply->request_id = id;
        reply->status = ZEB_ETIMEOUT;
        snprintf (reply->error, sizeof (reply->error), "no reply from the registry within %d ms",
                  self->timeout);
        return 0;
    }
    return 1;
}

int64_t
zeb_registry_client_get_expiry (zeb_registry_client_t *self)
{
    assert (self);
    if (zlistx_size (self->ready) > 0)
        return 0;
    if (self->span == 0)
        return -1;
    int64_t left = self->ring [self->head].expires - zclock_mono ();
    return left > 0? left: 0;
}

//  ---------------------------------------------------------------------
//  Synchronous calls

//  Send command with body (borrowed) and wait for its reply, keeping
//  async replies met on the way
static int
s_call (zeb_registry_client_t *self, const char *command, json_t *body, json_t **reply,
        zeb_fault_t *fault)
{
    zeb_proto_call_t call = { zsock_resolve (self->socket), "registry", &self->next_tag, 'S',
                              self->timeout, s_keep_async, self };
    return zeb_proto_call_json (&call, command, command, body, reply, fault);
}

//  Call command with such a body
static int
s_type_call (zeb_registry_client_t *self, const char *command, const char *type,
             const char *key, const char *value, uint32_t version,
             json_t **reply, zeb_fault_t *fault)
{
    json_t *body = s_type_body (type, key, value, version);
    int rc = s_call (self, command, body, reply, fault);
    json_decref (body);
    return rc;
}

int
zeb_registry_client_register (zeb_registry_client_t *self, const char *type,
                              const char *schema, const char *description,
                              const char *compatibility, json_t **reply, zeb_fault_t *fault)
{
    assert (self);
    assert (type);
    assert (schema);
    json_t *body = s_type_body (type, "schema", schema, 0);
    s_body_str (body, "description", description);
    s_body_str (body, "compatibility", compatibility);
    int rc = s_call (self, "REGISTER", body, reply, fault);
    json_decref (body);
    return rc;
}

int
zeb_registry_client_check (zeb_registry_client_t *self, const char *type, const char *schema,
                           json_t **reply, zeb_fault_t *fault)
{
    assert (self);
    assert (type);
    assert (schema);
    return s_type_call (self, "CHECK", type, "schema", schema, 0, reply, fault);
}

int
zeb_registry_client_get (zeb_registry_client_t *self, const char *type, uint32_t version,
                         json_t **reply, zeb_fault_t *fault)
{
    assert (self);
    assert (type);
    return s_type_call (self, "GET", type, NULL, NULL, version, reply, fault);
}

int
zeb_registry_client_versions (zeb_registry_client_t *self, const char *type,
                              json_t **reply, zeb_fault_t *fault)
{
    assert (self);
    assert (type);
    return s_type_call (self, "VERSIONS", type, NULL, NULL, 0, reply, fault);
}

int
zeb_registry_client_list (zeb_registry_client_t *self, const char *prefix,
                          json_t **reply, zeb_fault_t *fault)
{
    assert (self);
    json_t *body = json_object ();
    if (prefix && *prefix)
        s_body_str (body, "prefix", prefix);
    int rc = s_call (self, "LIST", body, reply, fault);
    json_decref (body);
    return rc;
}

int
zeb_registry_client_set_compatibility (zeb_registry_client_t *self, const char *type,
                                       const char *compatibility,
                                       json_t **reply, zeb_fault_t *fault)
{
    assert (self);
    assert (type);
    assert (compatibility);
    return s_type_call (self, "SET_COMPATIBILITY", type, "compatibility", compatibility, 0,
                        reply, fault);
}

int
zeb_registry_client_set_validation (zeb_registry_client_t *self, const char *type,
                                    const char *validation,
                                    json_t **reply, zeb_fault_t *fault)
{
    assert (self);
    assert (type);
    assert (validation);
    return s_type_call (self, "SET_VALIDATION", type, "validation", validation, 0,
                        reply, fault);
}

int
zeb_registry_client_delete (zeb_registry_client_t *self, const char *type, uint32_t version,
                            json_t **reply, zeb_fault_t *fault)
{
    assert (self);
    assert (type);
    return s_type_call (self, "DELETE", type, NULL, NULL, version, reply, fault);
}
