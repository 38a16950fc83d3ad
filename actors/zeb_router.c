/*  =========================================================================
    zeb_router - the request/reply engine of an actor's ROUTER socket
    =========================================================================
*/

#include "zeb_actors.h"

#define S_NACK_CODES    32          //  ZEB_E* codes -1001 .. -1032

//  A DRAFT option in libzmq 4.3: zmq.h declares it only with
//  ZMQ_BUILD_DRAFT_API, and a library built without drafts refuses it
#ifndef ZMQ_ROUTER_NOTIFY
#   define ZMQ_ROUTER_NOTIFY        97
#   define ZMQ_NOTIFY_DISCONNECT    2
#endif

struct _zeb_router_t {
    char *actor;
    const zeb_router_command_t *commands;
    void *owner;
    zsock_t *socket;
    void *handle;                   //  raw libzmq socket
    char *endpoint;
    msgpack_sbuffer buffer;
    zeb_router_fn *stats_fn;        //  STATS, built in
    void *stats_arg;
    uint64_t requests;
    uint64_t nacks;
    uint64_t nacks_by_code [S_NACK_CODES];
    zeb_router_gone_fn *gone_fn;    //  peers that are gone, or NULL
    void *gone_arg;
    zsock_t *monitor;               //  PAIR: the ROUTER's DISCONNECTED events
    zhashx_t *peers;                //  descriptor + 1 -> zframe_t, its routing id
    uint64_t peers_gone;
};

zeb_router_t *
zeb_router_new (const char *actor, const zeb_router_command_t *commands, void *owner)
{
    assert (actor);
    assert (commands);
    zeb_router_t *self = (zeb_router_t *) zmalloc (sizeof (zeb_router_t));
    self->actor = strdup (actor);
    self->commands = commands;
    self->owner = owner;
    self->socket = zsock_new (ZMQ_ROUTER);
    if (!self->socket) {
        zeb_router_destroy (&self);
        return NULL;
    }
    self->handle = zsock_resolve (self->socket);
    msgpack_sbuffer_init (&self->buffer);
    return self;
}

void
zeb_router_destroy (zeb_router_t **self_p)
{
    assert (self_p);
    zeb_router_t *self = *self_p;
    if (self) {
        if (self->monitor) {
            zmq_socket_monitor (self->handle, NULL, 0);
            zsock_destroy (&self->monitor);
        }
        zhashx_destroy (&self->peers);
        zsock_destroy (&self->socket);
        msgpack_sbuffer_destroy (&self->buffer);
        free (self->actor);
        free (self->endpoint);
        free (self);
        *self_p = NULL;
    }
}

void
zeb_router_set_stats (zeb_router_t *self, zeb_router_fn *fn, void *arg)
{
    assert (self);
    self->stats_fn = fn;
    self->stats_arg = arg;
}

//  ---------------------------------------------------------------------
//  Peers that are gone

static size_t
s_fd_hash (const void *key)
{
    return (size_t) (uintptr_t) key;
}

static int
s_fd_compare (const void *first, const void *second)
{
    uintptr_t x = (uintptr_t) first, y = (uintptr_t) second;
    return (x > y) - (x < y);
}

static void
s_frame_destroy (void **item_p)
{
    zframe_destroy ((zframe_t **) item_p);
}

int
zeb_router_set_notify (zeb_router_t *self, zeb_router_gone_fn *fn, void *arg)
{
    assert (self);
    assert (fn);
    assert (!self->gone_fn);
    self->gone_fn = fn;
    self->gone_arg = arg;
    int value = ZMQ_NOTIFY_DISCONNECT;
    if (zmq_setsockopt (self->handle, ZMQ_ROUTER_NOTIFY, &value, sizeof (value)) == 0)
        return 0;                   //  a drafts build: [identity][] on the ROUTER
    char *endpoint = zeb_actor_inproc ("router-monitor");
    int rc = zmq_socket_monitor (self->handle, endpoint, ZMQ_EVENT_DISCONNECTED);
    if (rc == 0) {
        self->monitor = zsock_new (ZMQ_PAIR);
        //  Events are never dropped for want of room on our side
        if (self->monitor)
            zsock_set_rcvhwm (self->monitor, 0);
        if (!self->monitor || zsock_connect (self->monitor, "%s", endpoint) == -1)
            rc = -1;
    }
    zstr_free (&endpoint);
    if (rc) {
        zsys_error ("%s: cannot watch for peers that leave: %s", self->actor, zmq_strerror (zmq_errno ()));
        zmq_socket_monitor (self->handle, NULL, 0);
        zsock_destroy (&self->monitor);
        self->gone_fn = NULL;
        return -1;
    }
    self->peers = zhashx_new ();
    zhashx_set_key_hasher (self->peers, s_fd_hash);
    zhashx_set_key_comparator (self->peers, s_fd_compare);
    zhashx_set_key_duplicator (self->peers, NULL);
    zhashx_set_key_destructor (self->peers, NULL);
    zhashx_set_destructor (self->peers, s_frame_destroy);
    return 0;
}

zsock_t *
zeb_router_notify_socket (zeb_router_t *self)
{
    assert (self);
    return self->monitor;
}

static void
s_gone (zeb_router_t *self, const void *identity, size_t size)
{
    self->peers_gone++;
    self->gone_fn (self->gone_arg, identity, size);
}

int
zeb_router_handle_notify (zeb_router_t *self)
{
    assert (self);
    if (!self->monitor)
        return 0;
    void *handle = zsock_resolve (self->monitor);
    while (true) {
        //  [uint16 event, uint32 value][endpoint], in host order
        zmq_msg_t event;
        zmq_msg_init (&event);
        if (zmq_msg_recv (&event, handle, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close (&event);
            return 0;
        }
        uint16_t number = 0;
        uint32_t value = 0;
        if (zmq_msg_size (&event) >= 6) {
            memcpy (&number, zmq_msg_data (&event), 2);
            memcpy (&value, (uint8_t *) zmq_msg_data (&event) + 2, 4);
        }
        while (zmq_msg_more (&event)) {
            zmq_msg_close (&event);
            zmq_msg_init (&event);
            zmq_msg_recv (&event, handle, 0);
        }
        zmq_msg_close (&event);
        if (number != ZMQ_EVENT_DISCONNECTED)
            continue;
        void *key = (void *) ((uintptr_t) value + 1);
        zframe_t *identity = (zframe_t *) zhashx_lookup (self->peers, key);
        if (identity) {
            s_gone (self, zframe_data (identity), zframe_size (identity));
            zhashx_delete (self->peers, key);
        }
    }
}

//  Remember which connection a request came on. Disconnects queued before
//  it came in are applied first: they are of connections that were gone
//  before this one could take their descriptor.
static void
s_track (zeb_router_t *self, zmq_msg_t *identity, zmq_msg_t *first)
{
    zeb_router_handle_notify (self);
    int fd = zmq_msg_get (first, ZMQ_SRCFD);
    if (fd < 0)
        return;                     //  inproc://: no descriptor, never seen leaving
    void *key = (void *) ((uintptr_t) fd + 1);
    zframe_t *known = (zframe_t *) zhashx_lookup (self->peers, key);
    if (known && zframe_size (known) == zmq_msg_size (identity)
    &&  memcmp (zframe_data (known), zmq_msg_data (identity), zframe_size (known)) == 0)
        return;
    zhashx_update (self->peers, key, zframe_new (zmq_msg_data (identity), zmq_msg_size (identity)));
}

zsock_t *
zeb_router_socket (zeb_router_t *self)
{
    assert (self);
    return self->socket;
}

int
zeb_router_bind (zeb_router_t *self, const char *endpoint, zeb_fault_t *fault)
{
    assert (self);
    if (zsock_bind (self->socket, "%s", endpoint) == -1)
        return zeb_fault_set (fault, ZEB_ECONFIG, "%s: cannot bind %s: %s", self->actor, endpoint,
                              zmq_strerror (zmq_errno ()));
    const char *bound = zsock_endpoint (self->socket);
    free (self->endpoint);
    self->endpoint = strdup (bound? bound: endpoint);
    return 0;
}

const char *
zeb_router_endpoint (zeb_router_t *self)
{
    assert (self);
    return self->endpoint;
}

msgpack_sbuffer *
zeb_router_buffer (zeb_router_t *self)
{
    assert (self);
    msgpack_sbuffer_clear (&self->buffer);
    return &self->buffer;
}

void
zeb_router_count_nack (zeb_router_t *self, int code)
{
    self->nacks++;
    int index = -1001 - code;
    if (index >= 0 && index < S_NACK_CODES)
        self->nacks_by_code [index]++;
}

//  ---------------------------------------------------------------------
//  Replies

static void
s_send (zeb_request_t *request, const char *command, const void *body, size_t size)
{
    zeb_router_t *self = request->router;
    request->answered = true;
    zmq_msg_t identity;
    zmq_msg_init (&identity);
    zmq_msg_copy (&identity, &request->identity);
    //  A peer that is gone or not reading loses its reply (ROUTER drops
    //  on a full pipe); the actor never blocks on one client
    zeb_proto_send (self->handle, &identity, command, body, size, request->tag,
                    request->tag_size, ZMQ_DONTWAIT);
}

void
zeb_router_reply (zeb_request_t *request, const char *command, const void *body, size_t size)
{
    assert (request);
    s_send (request, command, body, size);
}

void
zeb_router_reply_buffer (zeb_request_t *request, const char *command, msgpack_sbuffer *buffer)
{
    assert (request);
    s_send (request, command, buffer->data, buffer->size);
    msgpack_sbuffer_clear (buffer);
}

void
zeb_router_escape (const char *text, size_t len, char *out, size_t size)
{
    assert (size > 0);
    const uint8_t *p = (const uint8_t *) text;
    size_t used = 0;
    for (size_t index = 0; index < len && used + 1 < size; ) {
        uint8_t byte = p [index];
        size_t extra = byte < 0x80? 0: (byte & 0xe0) == 0xc0? 1: (byte & 0xf0) == 0xe0? 2:
                       (byte & 0xf8) == 0xf0? 3: 99;
        bool valid = extra != 99 && index + extra < len && byte >= 0x20 && byte != 0x7f
                  && !(extra == 1 && byte < 0xc2) && !(byte > 0xf4);
        uint32_t point = extra == 0? byte: extra == 1? byte & 0x1f: extra == 2? byte & 0x0f: byte & 0x07;
        for (size_t next = 1; valid && next <= extra; next++) {
            valid = (p [index + next] & 0xc0) == 0x80;
            point = (point << 6) | (p [index + next] & 0x3f);
        }
        if (valid && extra == 2 && (point < 0x800 || (point >= 0xd800 && point <= 0xdfff)))
            valid = false;
        if (valid && extra == 3 && (point < 0x10000 || point > 0x10ffff))
            valid = false;
        if (valid) {
            if (used + extra + 1 >= size)
                break;
            memcpy (out + used, p + index, extra + 1);
            used += extra + 1;
            index += extra + 1;
        }
        else {
            if (used + 4 >= size)
                break;
            snprintf (out + used, 5, "\\x%02x", byte);
            used += 4;
            index++;
        }
    }
    out [used] = 0;
}

int
zeb_router_nack_with (zeb_request_t *request, int code, int64_t index,
                      const void *extra, size_t extra_size, uint32_t extra_count, const char *text)
{
    assert (request);
    zeb_router_t *self = request->router;
    char clean [400];
    if (!text)
        text = zeb_strerror (code);
    zeb_router_escape (text, strlen (text), clean, sizeof (clean));
    msgpack_sbuffer *buffer = zeb_router_buffer (self);
    zeb_pack_t pack;
    zeb_pack_init (&pack, buffer);
    zeb_pack_map (&pack, NULL);
    zeb_pack_int (&pack, "code", zeb_error_status (code));
    zeb_pack_str (&pack, "reason", zeb_error_reason (code));
    zeb_pack_str (&pack, "error", clean);
    if (index >= 0)
        zeb_pack_int (&pack, "index", index);
    if (extra && extra_count) {
        //  Entries already packed: key, value pairs
        msgpack_sbuffer_write (buffer, (const char *) extra, extra_size);
        pack.count [0] += extra_count;
    }
    zeb_pack_end (&pack);
    s_send (request, ZEB_CMD_NACK, buffer->data, buffer->size);
    zeb_router_count_nack (self, code);
    return code;
}

int
zeb_router_nack (zeb_request_t *request, int code, const char *format, ...)
{
    char text [400];
    va_list args;
    va_start (args, format);
    vsnprintf (text, sizeof (text), format, args);
    va_end (args);
    return zeb_router_nack_with (request, code, -1, NULL, 0, 0, text);
}

//  ---------------------------------------------------------------------
//  Requests

bool
zeb_request_is (zeb_request_t *request, const char *name)
{
    size_t len = strlen (name);
    return request->command_len == len && memcmp (request->command, name, len) == 0;
}

//  A copy of a frame in a block of its own size (a frame over 33 bytes
//  received over tcp points into libzmq's shared receive buffer)
static void
s_msg_copy (zmq_msg_t *target, zmq_msg_t *source, bool with_data)
{
    size_t size = with_data? zmq_msg_size (source): 0;
    if (zmq_msg_init_size (target, size))
        zmq_msg_init (target);      //  out of memory: an empty frame
    else
    if (size)
        memcpy (zmq_msg_data (target), zmq_msg_data (source), size);
}

static zeb_request_t *
s_keep (zeb_request_t *request, bool with_body)
{
    assert (request);
    assert (!request->kept);
    zeb_request_t *kept = (zeb_request_t *) zmalloc (sizeof (zeb_request_t));
    *kept = *request;
    //  The identity is made by the ROUTER, not received: it moves
    zmq_msg_init (&kept->identity);
    zmq_msg_move (&kept->identity, &request->identity);
    for (int index = 0; index < request->part_count; index++)
        s_msg_copy (&kept->parts [index], &request->parts [index], index != 1 || with_body);
    kept->command = (const char *) zmq_msg_data (&kept->parts [0]);
    kept->command_len = zmq_msg_size (&kept->parts [0]);
    kept->body = with_body? (const uint8_t *) zmq_msg_data (&kept->parts [1]): NULL;
    kept->body_size = with_body? zmq_msg_size (&kept->parts [1]): 0;
    kept->tag = request->tag? zmq_msg_data (&kept->parts [2]): NULL;
    kept->tag_size = request->tag? zmq_msg_size (&kept->parts [2]): 0;
    kept->kept = true;
    request->kept = true;
    //  The request's frames are ours to close; the identity has moved
    for (int index = 0; index < request->part_count; index++)
        zmq_msg_close (&request->parts [index]);
    request->part_count = 0;
    return kept;
}

zeb_request_t *
zeb_router_keep (zeb_request_t *request)
{
    return s_keep (request, true);
}

zeb_request_t *
zeb_router_keep_reply (zeb_request_t *request)
{
    return s_keep (request, false);
}

void
zeb_request_destroy (zeb_request_t **self_p)
{
    assert (self_p);
    zeb_request_t *self = *self_p;
    if (self) {
        zmq_msg_close (&self->identity);
        for (int index = 0; index < self->part_count; index++)
            zmq_msg_close (&self->parts [index]);
        free (self);
        *self_p = NULL;
    }
}

void
zeb_router_dispatch (zeb_router_t *self, zmq_msg_t *parts, int count, bool overflow)
{
    assert (self);
    assert (count >= 1);
    if (self->gone_fn && count == 2 && !overflow && zmq_msg_size (&parts [1]) == 0) {
        //  [identity][]: ROUTER_NOTIFY's disconnect, or a peer's "forget
        //  me"; not a request, and never answered
        s_gone (self, zmq_msg_data (&parts [0]), zmq_msg_size (&parts [0]));
        for (int index = 0; index < count; index++) {
            zmq_msg_close (&parts [index]);     //  taken, as a request's are
            zmq_msg_init (&parts [index]);
        }
        return;
    }
    if (self->peers && count >= 2)
        s_track (self, &parts [0], &parts [1]);
    self->requests++;
    zeb_request_t request;
    memset (&request, 0, sizeof (request));
    request.router = self;
    zmq_msg_init (&request.identity);
    zmq_msg_move (&request.identity, &parts [0]);
    request.part_count = count - 1 > 3? 3: count - 1;
    for (int index = 0; index < request.part_count; index++) {
        zmq_msg_init (&request.parts [index]);
        zmq_msg_move (&request.parts [index], &parts [index + 1]);
    }
    if (overflow || count < 3 || count > 4) {
        zeb_router_nack (&request, ZEB_EMALFORMED, "a request is [command][body][tag]?, not %d frames",
                         count - 1);
        goto done;
    }
    request.command = (const char *) zmq_msg_data (&request.parts [0]);
    request.command_len = zmq_msg_size (&request.parts [0]);
    request.body = (const uint8_t *) zmq_msg_data (&request.parts [1]);
    request.body_size = zmq_msg_size (&request.parts [1]);
    if (count == 4) {
        request.tag = zmq_msg_data (&request.parts [2]);
        request.tag_size = zmq_msg_size (&request.parts [2]);
        if (request.tag_size > ZEB_PROTO_MAX_TAG) {
            request.tag = NULL;
            request.tag_size = 0;
            zeb_router_nack (&request, ZEB_EMALFORMED, "tag longer than %d bytes", ZEB_PROTO_MAX_TAG);
            goto done;
        }
    }
    const zeb_router_command_t *command = self->commands;
    while (command->name && !zeb_request_is (&request, command->name))
        command++;
    if (!command->name && self->stats_fn && zeb_request_is (&request, ZEB_CMD_STATS)) {
        self->stats_fn (self->stats_arg, &request);
        goto done;
    }
    if (!command->name) {
        char name [80];
        zeb_router_escape (request.command, request.command_len > 32? 32: request.command_len,
                           name, sizeof (name));
        zeb_router_nack (&request, ZEB_ECOMMAND, "unknown command '%s' (%s)", name, self->actor);
        goto done;
    }
    if (!(command->flags & ZEB_ROUTER_ANY_BODY)
    &&  !zeb_proto_is_map (request.body, request.body_size)) {
        zeb_router_nack (&request, ZEB_EMALFORMED, "%s body must be one msgpack map with string keys",
                         command->name);
        goto done;
    }
    command->handler (self->owner, &request);
done:
    if (!request.kept) {
        zmq_msg_close (&request.identity);
        for (int index = 0; index < request.part_count; index++)
            zmq_msg_close (&request.parts [index]);
    }
}

int
zeb_router_handle (zeb_router_t *self, size_t max)
{
    assert (self);
    for (size_t done = 0; done < max; done++) {
        zmq_msg_t parts [5];
        zmq_msg_init (&parts [0]);
        if (zmq_msg_recv (&parts [0], self->handle, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close (&parts [0]);
            return 0;
        }
        //  The rest of a multipart message is always there already
        int count = 1;
        bool overflow = false;
        bool more = zmq_msg_more (&parts [0]);
        while (more) {
            zmq_msg_t extra;
            zmq_msg_t *part = count < 5? &parts [count]: &extra;
            zmq_msg_init (part);
            zmq_msg_recv (part, self->handle, 0);
            more = zmq_msg_more (part);
            if (part == &extra) {
                zmq_msg_close (&extra);
                overflow = true;
            }
            else
                count++;
        }
        zeb_router_dispatch (self, parts, count, overflow);
        for (int index = 0; index < count; index++)
            zmq_msg_close (&parts [index]);
    }
    return 1;
}

void
zeb_router_pack_stats (zeb_router_t *self, zeb_pack_t *pack)
{
    assert (self);
    zeb_pack_uint (pack, "requests", self->requests);
    if (self->gone_fn)
        zeb_pack_uint (pack, "peers_gone", self->peers_gone);
    zeb_pack_uint (pack, "nacks", self->nacks);
    zeb_pack_map (pack, "nacks_by_reason");
    for (int index = 0; index < S_NACK_CODES; index++)
        if (self->nacks_by_code [index])
            zeb_pack_uint (pack, zeb_error_reason (-1001 - index), self->nacks_by_code [index]);
    zeb_pack_end (pack);
}

//  ---------------------------------------------------------------------
//  Self test

typedef struct {
    zeb_router_t *router;
    zeb_request_t *kept;
    int echoes;
    uint8_t echoed [256];           //  routing id of the last ECHO
    size_t echoed_size;
    int gone;
    uint8_t gone_id [256];          //  routing id of the last peer gone
    size_t gone_size;
} s_test_owner_t;

static void
s_test_echo (void *owner, zeb_request_t *request)
{
    s_test_owner_t *self = (s_test_owner_t *) owner;
    self->echoes++;
    self->echoed_size = zmq_msg_size (&request->identity);
    memcpy (self->echoed, zmq_msg_data (&request->identity), self->echoed_size);
    zeb_router_reply (request, "ECHO", request->body, request->body_size);
}

static void
s_test_later (void *owner, zeb_request_t *request)
{
    s_test_owner_t *self = (s_test_owner_t *) owner;
    self->kept = zeb_router_keep (request);
}

static void
s_test_raw (void *owner, zeb_request_t *request)
{
    zeb_router_reply (request, "RAW", "\xc0", 1);
}

static void
s_test_gone (void *arg, const void *identity, size_t size)
{
    s_test_owner_t *self = (s_test_owner_t *) arg;
    self->gone++;
    memcpy (self->gone_id, identity, size);
    self->gone_size = size;
}

static const zeb_router_command_t s_test_commands [] = {
    { "ECHO", s_test_echo, 0 },
    { "LATER", s_test_later, 0 },
    { "RAW", s_test_raw, ZEB_ROUTER_ANY_BODY },
    { NULL, NULL, 0 }
};

//  One reply: command, body as JSON text (or the NACK's reason), tag
static void
s_test_recv (zsock_t *dealer, char *command, char *text, char *tag)
{
    zsock_set_rcvtimeo (dealer, 5000);
    zmsg_t *msg = zmsg_recv (dealer);
    assert (msg);
    char *name = zmsg_popstr (msg);
    strcpy (command, name);
    zstr_free (&name);
    zframe_t *body = zmsg_pop (msg);
    text [0] = 0;
    if (streq (command, "NACK")) {
        const char *reason, *error;
        size_t len, error_len;
        assert (zeb_proto_get_str (zframe_data (body), zframe_size (body), "reason", &reason, &len) == 0);
        assert (zeb_proto_get_str (zframe_data (body), zframe_size (body), "error", &error, &error_len) == 0);
        sprintf (text, "%.*s %.*s", (int) len, reason, (int) error_len, error);
    }
    else {
        json_t *json = zeb_json_from_msgpack (zframe_data (body), zframe_size (body), NULL);
        char *dump = json? json_dumps (json, JSON_COMPACT | JSON_ENCODE_ANY): strdup ("?");
        strcpy (text, dump);
        free (dump);
        json_decref (json);
    }
    zframe_destroy (&body);
    char *tagged = zmsg_popstr (msg);
    strcpy (tag, tagged? tagged: "");
    zstr_free (&tagged);
    zmsg_destroy (&msg);
}

//  Serve the router until the dealer has a reply, at most 5 s
static void
s_test_serve (zeb_router_t *router, zsock_t *dealer)
{
    int64_t deadline = zclock_mono () + 5000;
    while (!(zsock_events (dealer) & ZMQ_POLLIN) && zclock_mono () < deadline)
        if (zeb_router_handle (router, 10) == 0) {
            zpoller_t *poller = zpoller_new (zeb_router_socket (router), dealer, NULL);
            zpoller_wait (poller, 100);
            zpoller_destroy (&poller);
        }
}

void
zeb_router_test (bool verbose)
{
    printf (" * zeb_router: ");
    s_test_owner_t owner;
    memset (&owner, 0, sizeof (owner));
    owner.router = zeb_router_new ("test", s_test_commands, &owner);
    assert (owner.router);
    zeb_fault_t fault;
    assert (zeb_router_bind (owner.router, "nonsense://", &fault) == ZEB_ECONFIG);
    assert (strstr (fault.text, "nonsense"));
    assert (zeb_router_bind (owner.router, "tcp://127.0.0.1:*", &fault) == 0);
    assert (!strstr (zeb_router_endpoint (owner.router), ":*"));
    zsock_t *dealer = zsock_new_dealer (zeb_router_endpoint (owner.router));
    assert (dealer);
    char command [32], text [512], tag [300];

    //  A command from the table, tag echoed
    zstr_sendx (dealer, "ECHO", "\x81\xa1" "a\x01", "t1", NULL);
    s_test_serve (owner.router, dealer);
    s_test_recv (dealer, command, text, tag);
    assert (streq (command, "ECHO") && streq (text, "{\"a\":1}") && streq (tag, "t1"));

    //  What does not fit: NACKs, each with a reason; the router goes on
    const char *cases [][4] = {
        { "ECHO", "\x92\x01\x02", "t2", "MALFORMED" },         //  not a map
        { "ECHO", "\x81\xa1" "a", "t3", "MALFORMED" },          //  truncated
        { "\xff\xfeWHAT", "\x80", "t4", "UNKNOWN_COMMAND" },
        { "RAW", "", "t5", "" },                                //  any body
    };
    for (size_t index = 0; index < 4; index++) {
        zmsg_t *msg = zmsg_new ();
        zmsg_addstr (msg, cases [index][0]);
        zmsg_addmem (msg, cases [index][1], strlen (cases [index][1]));
        zmsg_addstr (msg, cases [index][2]);
        zmsg_send (&msg, dealer);
        s_test_serve (owner.router, dealer);
        s_test_recv (dealer, command, text, tag);
        assert (streq (tag, cases [index][2]));
        if (*cases [index][3])
            assert (streq (command, "NACK") && strncmp (text, cases [index][3], strlen (cases [index][3])) == 0);
        else
            assert (streq (command, "RAW"));
        if (verbose)
            printf ("\n   %s -> %s %s", tag, command, text);
    }
    //  The unknown command's bytes are escaped, not echoed raw
    char escaped [64];
    zeb_router_escape ("\xff\xfeok\xc3\xa9\xed\xa0\x80", 9, escaped, sizeof (escaped));
    assert (streq (escaped, "\\xff\\xfeok\xc3\xa9\\xed\\xa0\\x80"));
    //  Frames: one, and five
    zstr_send (dealer, "ECHO");
    zstr_sendx (dealer, "ECHO", "\x80", "t", "extra", NULL);
    for (int reply = 0; reply < 2; reply++) {
        s_test_serve (owner.router, dealer);
        s_test_recv (dealer, command, text, tag);
        assert (streq (command, "NACK") && strncmp (text, "MALFORMED", 9) == 0);
    }

    //  Kept: answered later, after more requests went through
    zstr_sendx (dealer, "LATER", "\x81\xa1" "b\x02", "later", NULL);
    int64_t deadline = zclock_mono () + 5000;
    while (!owner.kept && zclock_mono () < deadline)
        if (zeb_router_handle (owner.router, 10) == 0) {
            zpoller_t *poller = zpoller_new (zeb_router_socket (owner.router), NULL);
            zpoller_wait (poller, 100);
            zpoller_destroy (&poller);
        }
    assert (owner.kept && zeb_request_is (owner.kept, "LATER"));
    zeb_router_reply (owner.kept, "DONE", owner.kept->body, owner.kept->body_size);
    zeb_request_destroy (&owner.kept);
    s_test_recv (dealer, command, text, tag);
    assert (streq (command, "DONE") && streq (text, "{\"b\":2}") && streq (tag, "later"));

    //  STATS: counted by reason
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    zeb_pack_t pack;
    zeb_pack_init (&pack, &buffer);
    zeb_pack_map (&pack, NULL);
    zeb_router_pack_stats (owner.router, &pack);
    zeb_pack_end (&pack);
    json_t *stats = zeb_json_from_msgpack (buffer.data, buffer.size, NULL);
    assert (json_integer_value (json_object_get (stats, "requests")) == 8);
    assert (json_integer_value (json_object_get (stats, "nacks")) == 5);
    json_t *reasons = json_object_get (stats, "nacks_by_reason");
    assert (json_integer_value (json_object_get (reasons, "MALFORMED")) == 4);
    assert (json_integer_value (json_object_get (reasons, "UNKNOWN_COMMAND")) == 1);
    json_decref (stats);
    msgpack_sbuffer_destroy (&buffer);
    zsock_destroy (&dealer);
    zeb_router_destroy (&owner.router);
    zeb_router_destroy (&owner.router);

    //  Peers that are gone: one that disconnects, one that sends a single
    //  empty frame ("forget me": no reply); a one-frame request that is
    //  not empty is still MALFORMED
    s_test_owner_t watcher;
    memset (&watcher, 0, sizeof (watcher));
    watcher.router = zeb_router_new ("notify", s_test_commands, &watcher);
    assert (zeb_router_set_notify (watcher.router, s_test_gone, &watcher) == 0);
    assert (zeb_router_bind (watcher.router, "tcp://127.0.0.1:*", &fault) == 0);
    zsock_t *leaving = zsock_new_dealer (zeb_router_endpoint (watcher.router));
    zsock_t *staying = zsock_new_dealer (zeb_router_endpoint (watcher.router));
    assert (leaving && staying);
    zstr_sendx (leaving, "ECHO", "\x80", NULL);
    s_test_serve (watcher.router, leaving);
    s_test_recv (leaving, command, text, tag);
    uint8_t leaver [256];
    size_t leaver_size = watcher.echoed_size;
    memcpy (leaver, watcher.echoed, leaver_size);
    zstr_send (staying, "");
    zstr_sendx (staying, "ECHO", "\x80", NULL);
    s_test_serve (watcher.router, staying);
    s_test_recv (staying, command, text, tag);
    assert (streq (command, "ECHO") && watcher.gone == 1);
    assert (watcher.gone_size == watcher.echoed_size
         && memcmp (watcher.gone_id, watcher.echoed, watcher.gone_size) == 0);
    zstr_send (staying, "ECHO");
    s_test_serve (watcher.router, staying);
    s_test_recv (staying, command, text, tag);
    assert (streq (command, "NACK") && strncmp (text, "MALFORMED", 9) == 0);
    zsock_destroy (&leaving);
    deadline = zclock_mono () + 5000;
    while (watcher.gone < 2 && zclock_mono () < deadline) {
        zsock_t *events = zeb_router_notify_socket (watcher.router);
        zeb_router_handle (watcher.router, 10);
        zeb_router_handle_notify (watcher.router);
        zpoller_t *poller = zpoller_new (zeb_router_socket (watcher.router), events, NULL);
        zpoller_wait (poller, 50);
        zpoller_destroy (&poller);
    }
    assert (watcher.gone == 2);
    assert (watcher.gone_size == leaver_size && memcmp (watcher.gone_id, leaver, leaver_size) == 0);
    zsock_destroy (&staying);
    zeb_router_destroy (&watcher.router);
    printf ("OK\n");
}
