/*  =========================================================================
    zeb_router - the request/reply engine of an actor's ROUTER socket

    Every zeb actor that answers requests speaks ZEB/1 on a ROUTER:
    [identity][command][msgpack body][tag]?, answered with
    [identity][reply command][body][tag]? (docs/PROTOCOL.md). zeb_router
    does everything that is the same for all of them, the way Malamute's
    generated server engine does: it reads whole messages, checks the
    frame count and the tag (at most ZEB_PROTO_MAX_TAG bytes), checks that
    the body is one msgpack map with string keys (unless a command says it
    takes any body), looks the command up in the actor's table and calls
    its handler with the request decoded, and answers anything that does
    not fit with one NACK sender (the codes of zeb_error.h). NACK texts are
    always valid UTF-8: bytes quoted from a request are escaped.

    A handler answers with zeb_router_reply or zeb_router_nack, or keeps
    the request to answer later (zeb_router_keep: a long-poll). A request
    not answered when its handler returns gets no reply.

    Peers that are gone (zeb_router_set_notify): an owner that holds
    something for a peer (a parked request) is told the routing id of each
    peer that disconnects, and of each peer that sends a single empty
    frame ([identity][]: "forget me", never answered). libzmq's
    ZMQ_ROUTER_NOTIFY delivers disconnects as exactly that message, but it
    is a DRAFT option: a libzmq built without drafts (Debian's 4.3.4)
    refuses it with EINVAL. The router then watches its socket with
    zmq_socket_monitor (ZMQ_EVENT_DISCONNECTED, whose value is the
    connection's descriptor) and remembers, for every descriptor a request
    came in on (the frames' ZMQ_SRCFD), the routing id of that connection.
    The event is queued before libzmq closes the descriptor, so before any
    new connection can reuse its number; the router reads the monitor after
    receiving each request and before recording its descriptor, so a
    disconnect is never applied to the connection that came after it.
    Only tcp:// and ipc:// peers are seen leaving (inproc:// ones have no
    descriptor; they live as long as their process anyway).

    Counters: requests, replies, NACKs by reason, and whatever the owner
    adds; zeb_router_pack_stats writes them into a STATS map.
    =========================================================================
*/

#ifndef ZEB_ROUTER_H_INCLUDED
#define ZEB_ROUTER_H_INCLUDED

typedef struct _zeb_router_t zeb_router_t;
typedef struct _zeb_request_t zeb_request_t;

//  A request, as a handler sees it. Everything is borrowed from the
//  message and valid during the handler only (or until the kept request
//  is destroyed).
struct _zeb_request_t {
    zeb_router_t *router;
    const char *command;            //  not terminated
    size_t command_len;
    const uint8_t *body;            //  one msgpack map (unless ZEB_ROUTER_ANY_BODY)
    size_t body_size;
    const void *tag;                //  NULL if none
    size_t tag_size;
    zmq_msg_t identity;             //  the peer's routing id
    bool answered;
    bool kept;                      //  owned by the handler (zeb_router_keep)
    zmq_msg_t parts [3];            //  command, body, tag (the storage)
    int part_count;
};

typedef void (zeb_router_fn) (void *owner, zeb_request_t *request);

//  A peer is gone: its routing id (borrowed for the call, at most 255 bytes).
typedef void (zeb_router_gone_fn) (void *arg, const void *identity, size_t size);

#define ZEB_ROUTER_ANY_BODY 1       //  command flag: any msgpack value (even none)

typedef struct {
    const char *name;               //  "FETCH"
    zeb_router_fn *handler;
    int flags;
} zeb_router_command_t;

//  A router for an actor (name for logs and STATS) with its command table
//  (ends with a NULL name; borrowed, usually static), calling handlers
//  with owner. Creates the ROUTER socket, not yet bound.
zeb_router_t *
    zeb_router_new (const char *actor, const zeb_router_command_t *commands, void *owner);

void
    zeb_router_destroy (zeb_router_t **self_p);

//  Answer STATS with fn (arg, request) when the table has no STATS of
//  its own (zeb_actor_router sets the kit's).
void
    zeb_router_set_stats (zeb_router_t *self, zeb_router_fn *fn, void *arg);

//  Call fn (arg, identity, size) for every peer that is gone (see the top
//  of this file). Call before zeb_router_bind (ZMQ_ROUTER_NOTIFY applies
//  to connections accepted after it is set). Returns 0, or -1 if neither
//  ZMQ_ROUTER_NOTIFY nor a socket monitor can be set up.
int
    zeb_router_set_notify (zeb_router_t *self, zeb_router_gone_fn *fn, void *arg);

//  The socket disconnects arrive on, for zeb_loop, and its reader (0:
//  drained). NULL when ZMQ_ROUTER_NOTIFY works: they then arrive on the
//  ROUTER itself, through zeb_router_handle.
zsock_t *
    zeb_router_notify_socket (zeb_router_t *self);
int
    zeb_router_handle_notify (zeb_router_t *self);

//  The socket, e.g. to set options before binding, or for zeb_loop.
zsock_t *
    zeb_router_socket (zeb_router_t *self);

//  Bind; the endpoint as bound (a '*' port resolved) is then
//  zeb_router_endpoint. Returns 0 or ZEB_ECONFIG with fault set.
int
    zeb_router_bind (zeb_router_t *self, const char *endpoint, zeb_fault_t *fault);
const char *
    zeb_router_endpoint (zeb_router_t *self);

//  Read and dispatch up to max messages without blocking. Returns 0 when
//  the socket is drained, 1 when max was reached (more may wait): a
//  zeb_loop reader.
int
    zeb_router_handle (zeb_router_t *self, size_t max);

//  Dispatch one message the owner has read itself (identity first, then
//  count - 1 frames; overflow: there were more than fit). The router
//  takes the parts' contents. For an actor whose hot command has its own
//  receive loop (ingest's PUBLISH) and the rest through the table.
void
    zeb_router_dispatch (zeb_router_t *self, zmq_msg_t *parts, int count, bool overflow);

//  Reply with command and body (copied). Marks the request answered.
void
    zeb_router_reply (zeb_request_t *request, const char *command, const void *body, size_t size);

//  Reply with what buffer holds, then clear it.
void
    zeb_router_reply_buffer (zeb_request_t *request, const char *command, msgpack_sbuffer *buffer);

//  NACK {code, reason, error}; returns code. Text is printf-style.
int
    zeb_router_nack (zeb_request_t *request, int code, const char *format, ...) CHECK_PRINTF (3);

//  Same with an index (the offending event of an array), or < 0 for none,
//  and extra entries for the body (a map's entries, packed; may be NULL).
int
    zeb_router_nack_with (zeb_request_t *request, int code, int64_t index,
                          const void *extra, size_t extra_size, uint32_t extra_count,
                          const char *text);

//  Keep the request after the handler returns: its frames are copied to
//  exact-size heap blocks (a frame received over tcp may otherwise pin
//  libzmq's whole 8 KiB receive buffer for as long as it is kept). Caller
//  owns the result and destroys it after replying (or when the peer is
//  gone). zeb_router_keep_reply keeps only what a reply needs (identity,
//  command, tag: at most 255 + 32 + 255 bytes of frames, plus about 350
//  bytes of struct); the kept body is then NULL and body_size 0.
zeb_request_t *
    zeb_router_keep (zeb_request_t *request);
zeb_request_t *
    zeb_router_keep_reply (zeb_request_t *request);
void
    zeb_request_destroy (zeb_request_t **self_p);

//  True if the request's command is name.
bool
    zeb_request_is (zeb_request_t *request, const char *name);

//  A scratch buffer for reply bodies, cleared (owned by the router).
msgpack_sbuffer *
    zeb_router_buffer (zeb_router_t *self);

//  Count a NACK the owner sent itself (ingest's PUBLISH replies).
void
    zeb_router_count_nack (zeb_router_t *self, int code);

//  Counters into an open map: requests, nacks, nacks_by_reason {REASON: n},
//  and with a notify function, peers_gone (disconnects and "forget me"s).
void
    zeb_router_pack_stats (zeb_router_t *self, zeb_pack_t *pack);

//  Copy text into out (size bytes, terminated), escaping bytes that are
//  not printable UTF-8 as \xNN, so that a reply never carries invalid
//  UTF-8 quoted from a request.
void
    zeb_router_escape (const char *text, size_t len, char *out, size_t size);

//  Self test
void
    zeb_router_test (bool verbose);

#endif
