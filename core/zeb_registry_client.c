/*  =========================================================================
    zeb_registry_client - talk to a node's schema registry

    Tags are S_TAG_SIZE bytes: a kind ('S' synchronous call, 'A' async
    GET) and a big-endian counter shared by both kinds, so that every
    request of this client has a tag of its own. A synchronous call waits
    for its own tag and drops any other 'S' reply (a late one); async
    replies it meets on the way are kept for get_recv. Async GETs are
    remembered in a ring, in the order sent (which is also the order in
    which they expire, the timeout being one for all); a reply whose tag
    is not in the ring (expired and reported, or never ours) is dropped.
    =========================================================================
*/

#include "zeb_classes.h"

#define S_TAG_SIZE  9

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

//  One reply as read off the socket: command, body, tag
typedef struct {
    zmq_msg_t parts [3];
    int count;
} s_reply_t;

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
    zsock_t *socket = zsock_new (ZMQ_DEALER);
    if (!socket)
        return NULL;
    zsock_set_linger (socket, 0);
    //  Not ZMQ_IMMEDIATE (see zeb_client.c): requests to a registry that
    //  is not up yet wait in the queue, and the timeouts decide
    zsock_set_sndhwm (socket, 10000);
    zsock_set_rcvhwm (socket, 10000);
    zsock_set_reconnect_ivl (socket, 100);
    zsock_set_reconnect_ivl_max (socket, 1000);
    if (zsock_connect (socket, "%s", endpoint)) {
        zsock_destroy (&socket);
        return NULL;
    }
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
//  Tags and frames

static void
s_tag_make (uint8_t *tag, char kind, uint64_t counter)
{
    tag [0] = (uint8_t) kind;
    for (int index = S_TAG_SIZE - 1; index > 0; index--) {
        tag [index] = (uint8_t) (counter & 0xff);
        counter >>= 8;
    }
}

//  The reply's tag kind and counter; false if it has no tag of ours
static bool
s_reply_tag (s_reply_t *reply, char *kind, uint64_t *counter)
{
    if (reply->count < 3 || zmq_msg_size (&reply->parts [2]) != S_TAG_SIZE)
        return false;
    const uint8_t *tag = (const uint8_t *) zmq_msg_data (&reply->parts [2]);
    *kind = (char) tag [0];
    *counter = 0;
    for (int index = 1; index < S_TAG_SIZE; index++)
        *counter = (*counter << 8) | tag [index];
    return true;
}

static bool
s_reply_is (s_reply_t *reply, const char *command)
{
    size_t len = strlen (command);
    return reply->count >= 1 && zmq_msg_size (&reply->parts [0]) == len
        && memcmp (zmq_msg_data (&reply->parts [0]), command, len) == 0;
}

static void
s_reply_close (s_reply_t *reply)
{
    for (int index = 0; index < reply->count; index++)
        zmq_msg_close (&reply->parts [index]);
    reply->count = 0;
}

//  Read one message if one is waiting, never blocking (the frames of a
//  message arrive together). Frames past the third are dropped. Returns
//  0, or -1 if nothing was waiting.
static int
s_reply_recv (zeb_registry_client_t *self, s_reply_t *reply)
{
    void *handle = zsock_resolve (self->socket);
    reply->count = 0;
    zmq_msg_init (&reply->parts [0]);
    if (zmq_msg_recv (&reply->parts [0], handle, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close (&reply->parts [0]);
        return -1;
    }
    reply->count = 1;
    bool more = zmq_msg_more (&reply->parts [0]);
    while (more) {
        zmq_msg_t extra;
        zmq_msg_t *part = reply->count < 3? &reply->parts [reply->count]: &extra;
        zmq_msg_init (part);
        if (zmq_msg_recv (part, handle, 0) < 0) {
            zmq_msg_close (part);
            break;
        }
        more = zmq_msg_more (part);
        if (part == &extra)
            zmq_msg_close (&extra);
        else
            reply->count++;
    }
    return 0;
}

//  Pack body and send it as command with a new tag of kind, not waiting
//  longer than until deadline (ms, zclock_mono) for room in the queue; 0
//  means not at all. Returns 0 and the tag's counter, ZEB_EOVERLOADED
//  (queue full), ZEB_EUNREACHABLE, or ZEB_EINVALID (body not packable).
static int
s_send (zeb_registry_client_t *self, const char *command, json_t *body, char kind,
        int64_t deadline, uint64_t *counter)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    if (zeb_json_to_msgpack (body, &pk)) {
        msgpack_sbuffer_destroy (&buffer);
        return ZEB_EINVALID;
    }
    uint8_t tag [S_TAG_SIZE];
    *counter = self->next_tag++;
    s_tag_make (tag, kind, *counter);
    void *handle = zsock_resolve (self->socket);
    zmq_pollitem_t item = { handle, 0, ZMQ_POLLOUT, 0 };
    int rc = 0;
    while (zeb_proto_send (handle, NULL, command, buffer.data, buffer.size,
                           tag, S_TAG_SIZE, ZMQ_DONTWAIT)) {
        if (zmq_errno () != EAGAIN) {
            rc = ZEB_EUNREACHABLE;
            break;
        }
        int64_t left = deadline - zclock_mono ();
        if (left <= 0) {
            rc = deadline? ZEB_EUNREACHABLE: ZEB_EOVERLOADED;
            break;
        }
        zmq_poll (&item, 1, (long) left);
    }
    msgpack_sbuffer_destroy (&buffer);
    return rc;
}

//  A string member without UTF-8 checks: the bytes go as they are, and
//  the registry judges them
static void
s_body_str (json_t *body, const char *key, const char *value)
{
    if (value)
        json_object_set_new (body, key, json_string_nocheck (value));
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
s_schema_parse (s_reply_t *reply, uint64_t id, zeb_registry_schema_t *schema)
{
    memset (schema, 0, sizeof (*schema));
    schema->request_id = id;
    size_t size = reply->count >= 2? zmq_msg_size (&reply->parts [1]): 0;
    const void *body = reply->count >= 2? zmq_msg_data (&reply->parts [1]): NULL;
    if (!body || !zeb_proto_is_map (body, size)) {
        schema->status = ZEB_EPROTOCOL;
        snprintf (schema->error, sizeof (schema->error), "registry reply is not a msgpack map");
        return;
    }
    if (s_reply_is (reply, ZEB_CMD_NACK)) {
        zeb_fault_t fault = { 0 };
        int64_t index;
        if (zeb_proto_parse_nack (body, size, &fault, &index))
            zeb_fault_set (&fault, ZEB_EPROTOCOL, "registry sent a malformed NACK");
        schema->status = fault.code? fault.code: ZEB_ERROR;
        snprintf (schema->error, sizeof (schema->error), "%s", fault.text);
        return;
    }
    if (!s_reply_is (reply, "GET")) {
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

//  An async reply met during a synchronous call: kept for get_recv if
//  its GET is outstanding, else dropped (late)
static void
s_keep_async (zeb_registry_client_t *self, s_reply_t *reply, uint64_t id)
{
    if (!s_ring_remove (self, id))
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
    json_t *body = json_object ();
    s_body_str (body, "type", type);
    if (version)
        json_object_set_new (body, "version", json_integer (version));
    uint64_t counter;
    int rc = s_send (self, "GET", body, 'A', 0, &counter);
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
    s_reply_t message;
    while (s_reply_recv (self, &message) == 0) {
        char kind;
        uint64_t id;
        bool ours = s_reply_tag (&message, &kind, &id) && kind == 'A' && s_ring_remove (self, id);
        if (ours)
            s_schema_parse (&message, id, reply);
        s_reply_close (&message);
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

//  Our reply to a synchronous call: its outcome, and its body as JSON
static int
s_call_outcome (s_reply_t *message, const char *command, json_t **reply, zeb_fault_t *fault)
{
    size_t size = message->count >= 2? zmq_msg_size (&message->parts [1]): 0;
    const void *body = message->count >= 2? zmq_msg_data (&message->parts [1]): NULL;
    json_t *json = body? zeb_json_from_msgpack (body, size, NULL): NULL;
    int rc = 0;
    bool deliver = false;           //  the body of a reply or a NACK goes to the caller
    if (!json || !json_is_object (json))
        rc = zeb_fault_set (fault, ZEB_EPROTOCOL, "registry reply to %s is not a msgpack map", command);
    else
    if (s_reply_is (message, ZEB_CMD_NACK)) {
        zeb_fault_t nack = { 0 };
        int64_t index;
        if (zeb_proto_parse_nack (body, size, &nack, &index))
            rc = zeb_fault_set (fault, ZEB_EPROTOCOL, "registry sent a malformed NACK to %s", command);
        else {
            rc = zeb_fault_set (fault, nack.code? nack.code: ZEB_ERROR, "%s", nack.text);
            deliver = true;
        }
    }
    else
    if (!s_reply_is (message, command))
        rc = zeb_fault_set (fault, ZEB_EPROTOCOL, "registry answered %s with another command", command);
    else
        deliver = true;
    if (reply && deliver)
        *reply = json;
    else
        json_decref (json);
    return rc;
}

//  Send command with body (borrowed) and wait for its reply
static int
s_call (zeb_registry_client_t *self, const char *command, json_t *body, json_t **reply,
        zeb_fault_t *fault)
{
    if (reply)
        *reply = NULL;
    int64_t deadline = zclock_mono () + self->timeout;
    uint64_t want;
    int rc = s_send (self, command, body, 'S', deadline, &want);
    if (rc)
        return zeb_fault_set (fault, rc, "cannot send %s to the registry: %s", command,
                              zeb_strerror (rc));
    zmq_pollitem_t item = { zsock_resolve (self->socket), 0, ZMQ_POLLIN, 0 };
    while (true) {
        s_reply_t message;
        while (s_reply_recv (self, &message) == 0) {
            char kind;
            uint64_t id;
            bool tagged = s_reply_tag (&message, &kind, &id);
            if (tagged && kind == 'S' && id == want) {
                rc = s_call_outcome (&message, command, reply, fault);
                s_reply_close (&message);
                return rc;
            }
            if (tagged && kind == 'A')
                s_keep_async (self, &message, id);
            s_reply_close (&message);       //  else late: dropped
        }
        int64_t left = deadline - zclock_mono ();
        if (left <= 0)
            return zeb_fault_set (fault, ZEB_ETIMEOUT, "no reply to %s from the registry within %d ms",
                                  command, self->timeout);
        zmq_poll (&item, 1, (long) left);
    }
}

//  A body {type} for the verbs that name one type
static json_t *
s_type_body (const char *type)
{
    json_t *body = json_object ();
    s_body_str (body, "type", type);
    return body;
}

int
zeb_registry_client_register (zeb_registry_client_t *self, const char *type,
                              const char *schema, const char *description,
                              const char *compatibility, json_t **reply, zeb_fault_t *fault)
{
    assert (self);
    assert (type);
    assert (schema);
    json_t *body = s_type_body (type);
    s_body_str (body, "schema", schema);
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
    json_t *body = s_type_body (type);
    s_body_str (body, "schema", schema);
    int rc = s_call (self, "CHECK", body, reply, fault);
    json_decref (body);
    return rc;
}

int
zeb_registry_client_get (zeb_registry_client_t *self, const char *type, uint32_t version,
                         json_t **reply, zeb_fault_t *fault)
{
    assert (self);
    assert (type);
    json_t *body = s_type_body (type);
    if (version)
        json_object_set_new (body, "version", json_integer (version));
    int rc = s_call (self, "GET", body, reply, fault);
    json_decref (body);
    return rc;
}

int
zeb_registry_client_versions (zeb_registry_client_t *self, const char *type,
                              json_t **reply, zeb_fault_t *fault)
{
    assert (self);
    assert (type);
    json_t *body = s_type_body (type);
    int rc = s_call (self, "VERSIONS", body, reply, fault);
    json_decref (body);
    return rc;
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
    json_t *body = s_type_body (type);
    s_body_str (body, "compatibility", compatibility);
    int rc = s_call (self, "SET_COMPATIBILITY", body, reply, fault);
    json_decref (body);
    return rc;
}

int
zeb_registry_client_set_validation (zeb_registry_client_t *self, const char *type,
                                    const char *validation,
                                    json_t **reply, zeb_fault_t *fault)
{
    assert (self);
    assert (type);
    assert (validation);
    json_t *body = s_type_body (type);
    s_body_str (body, "validation", validation);
    int rc = s_call (self, "SET_VALIDATION", body, reply, fault);
    json_decref (body);
    return rc;
}

int
zeb_registry_client_delete (zeb_registry_client_t *self, const char *type, uint32_t version,
                            json_t **reply, zeb_fault_t *fault)
{
    assert (self);
    assert (type);
    json_t *body = s_type_body (type);
    if (version)
        json_object_set_new (body, "version", json_integer (version));
    int rc = s_call (self, "DELETE", body, reply, fault);
    json_decref (body);
    return rc;
}
