/*  =========================================================================
    zeb_proto - the ZEB/1 wire protocol: commands, frames and bodies

    docs/PROTOCOL.md is the reference. Every request and reply is a
    multipart message of two or three frames:

        [command] [msgpack body] [tag]?

    The command is ASCII; the body one msgpack value; the optional tag (up
    to ZEB_PROTO_MAX_TAG bytes) is echoed verbatim as the reply's third
    frame, so that clients can match replies to requests. A ROUTER peer
    sees the routing id as an extra first frame, as always with ZeroMQ.
    =========================================================================
*/

#ifndef ZEB_PROTO_H_INCLUDED
#define ZEB_PROTO_H_INCLUDED

#ifdef __cplusplus
extern "C" {
#endif

#define ZEB_PROTO_VERSION   1
#define ZEB_PROTO_MAX_TAG   255

//  Requests
#define ZEB_CMD_HELLO       "HELLO"
#define ZEB_CMD_PUBLISH     "PUBLISH"
#define ZEB_CMD_TXN         "TXN"
#define ZEB_CMD_FETCH       "FETCH"
#define ZEB_CMD_STATS       "STATS"
//  Replies
#define ZEB_CMD_WELCOME     "WELCOME"
#define ZEB_CMD_ACK         "ACK"
#define ZEB_CMD_NACK        "NACK"
#define ZEB_CMD_EVENTS      "EVENTS"
//  Internal: ingest to log readers, over the notify PUB socket
#define ZEB_CMD_COMMIT      "COMMIT"

//  Send [identity]? [command] [body] [tag]? on a raw libzmq socket.
//  identity (from a ROUTER) is consumed (closed) by the call; pass NULL
//  for DEALER and PUB sockets. Returns 0, or -1 if the message could not
//  be queued (errno from libzmq).
int
    zeb_proto_send (void *socket, zmq_msg_t *identity, const char *command,
                    const void *body, size_t body_size,
                    const void *tag, size_t tag_size, int flags);

//  NACK body: {code, reason, error, index?}. index < 0 is left out.
int
    zeb_proto_pack_nack (msgpack_sbuffer *buffer, int code, const char *error, int64_t index);

//  Read a NACK body into a fault (code from the reason, else the status).
//  *index gets the event index, or -1. Returns 0, or -1 if malformed.
int
    zeb_proto_parse_nack (const void *body, size_t size, zeb_fault_t *fault, int64_t *index);

//  ACK body for one event: {sequence, duplicate}.
int
    zeb_proto_pack_ack (msgpack_sbuffer *buffer, uint64_t sequence, bool duplicate);

//  FETCH request body (docs/PROTOCOL.md, section 4): {from, max, wait_ms,
//  types?}, or {time, max, wait_ms, types?} when time_ms >= 0. types is a
//  comma-separated list of type prefixes (borrowed; NULL or "" for every
//  type; spaces around items and empty items are skipped). Every prefix is
//  sent: the log, not this call, refuses more than 32 or one over 255
//  bytes (NACK INVALID_ATTRIBUTE). Appends to buffer. Returns 0, or -1 if
//  encoding failed.
int
    zeb_proto_pack_fetch (msgpack_sbuffer *buffer, uint64_t from, int64_t time_ms,
                          size_t max, int wait_ms, const char *types);

//  Read an EVENTS reply body: *first, *last, *next as the log sent them,
//  and its events, decoded, appended in order to events (zeb_event_t
//  items; give the list a destructor that destroys them). Checks what a
//  reader relies on: next is not below from, sequences rise strictly, none
//  is below from (0: no bound) and none reaches next. Returns 0, or -1 if
//  the body is not such a reply; then nothing is appended and the outputs
//  are undefined. zeb_client and zeb_consumer both read FETCH replies so.
int
    zeb_proto_parse_events (const void *body, size_t size, uint64_t from,
                            uint64_t *first, uint64_t *last, uint64_t *next, zlistx_t *events);

//  True if body is exactly one well-formed msgpack map whose keys are all
//  strings, with nothing after it: what every request body must be.
bool
    zeb_proto_is_map (const void *body, size_t size);

//  Typed lookups in a msgpack map body. Return 0 and the value, 1 if the
//  key is absent (value untouched), -1 if present with the wrong type.
int
    zeb_proto_get_uint (const void *body, size_t size, const char *key, uint64_t *value);
int
    zeb_proto_get_int (const void *body, size_t size, const char *key, int64_t *value);
int
    zeb_proto_get_bool (const void *body, size_t size, const char *key, bool *value);
//  String: *value points into body, *len its length (not terminated).
int
    zeb_proto_get_str (const void *body, size_t size, const char *key,
                       const char **value, size_t *len);

//  ---------------------------------------------------------------------
//  Tagged requests, as zeb_client, zeb_consumer and zeb_registry_client
//  make them on their DEALER sockets
//
//  A client's tag is ZEB_PROTO_TAG_SIZE bytes: a kind (one byte that says
//  what the request was, chosen by each class) and a big-endian counter,
//  a new one per request. A reply is matched to its request by the tag;
//  one whose tag is awaited no more is late, and dropped. Deadlines are
//  ms on the monotonic clock, zeb_time_mono_us () / 1000.

#define ZEB_PROTO_TAG_SIZE  9

//  A DEALER connected to endpoint, as the client classes use: linger 0,
//  reconnecting every 100 ms to 1 s, high-water marks sndhwm and rcvhwm
//  (0 keeps libzmq's default). Not ZMQ_IMMEDIATE: with it, libzmq 4.3
//  drops a connection's pipe the moment the peer goes, even between the
//  frames of a reply being read, and then aborts (fq.cpp, "!_more").
//  Requests to a peer that is down wait in the queue instead; the
//  caller's timeouts decide, and the tags let it drop late replies.
//  Returns NULL if the socket cannot be made or endpoint is malformed.
zsock_t *
    zeb_proto_dealer_new (const char *endpoint, int sndhwm, int rcvhwm);

//  Write a new tag of kind into tag (ZEB_PROTO_TAG_SIZE bytes), its
//  counter taken from *next, which advances. Returns the counter.
uint64_t
    zeb_proto_tag_next (uint64_t *next, char kind, uint8_t *tag);

//  One message as read off a DEALER: [command] [body] [tag]?. Frames past
//  the third are read and dropped; frames counts them all.
typedef struct {
    zmq_msg_t parts [3];
    int count;                  //  frames kept in parts
    int frames;                 //  frames the message had
} zeb_proto_reply_t;

//  Receive one message from a raw libzmq socket, waiting at most
//  timeout_ms (0: only one already there; -1: for ever). Returns 0 (then
//  close it with zeb_proto_reply_close), or -1 if none came. Sets the
//  socket's ZMQ_RCVTIMEO when it waits.
int
    zeb_proto_reply_recv (void *socket, zeb_proto_reply_t *reply, int timeout_ms);

//  Close the frames of a reply; safe twice.
void
    zeb_proto_reply_close (zeb_proto_reply_t *reply);

//  True if the reply's command is command.
bool
    zeb_proto_reply_is (zeb_proto_reply_t *reply, const char *command);

//  The reply's body and its size; NULL (size 0) if it has none.
const void *
    zeb_proto_reply_body (zeb_proto_reply_t *reply, size_t *size);

//  True, and the tag's counter, if the reply carries a tag of kind.
bool
    zeb_proto_reply_tag (zeb_proto_reply_t *reply, char kind, uint64_t *counter);

//  Send [command] [body] [tag] with a tag made by zeb_proto_tag_next,
//  waiting until deadline for room in the socket's queue; deadline 0
//  means not at all. Returns 0; ZEB_EOVERLOADED if the queue is full and
//  deadline is 0; ZEB_EUNREACHABLE if there was no room by the deadline,
//  or libzmq refused the message.
int
    zeb_proto_send_until (void *socket, const char *command, const void *body, size_t size,
                          const uint8_t *tag, int64_t deadline);

//  What a caller of zeb_proto_reply_await does with a message that is not
//  the reply it waits for (borrowed: it is closed after the call).
typedef void (zeb_proto_other_fn) (zeb_proto_reply_t *reply, void *arg);

//  Wait until deadline for the reply tagged kind and counter. Every other
//  message read meanwhile goes to other (with arg), or, if other is NULL,
//  is dropped. Returns 0 and the reply (the caller closes it), or -1 if
//  it did not come by the deadline.
int
    zeb_proto_reply_await (void *socket, char kind, uint64_t counter, int64_t deadline,
                           zeb_proto_reply_t *reply, zeb_proto_other_fn *other, void *arg);

//  ---------------------------------------------------------------------
//  Synchronous calls with JSON bodies, as zeb_registry_client and
//  zeb_outbox_client make them: the body is converted to msgpack
//  (zeb_json), sent with a tag of its own, and the reply with that tag
//  is awaited and converted back.

//  Where a class makes its calls; everything is borrowed
typedef struct {
    void *socket;               //  the class's DEALER, as a raw libzmq handle
    const char *peer;           //  what it talks to, for fault texts: "registry", "outbox"
    uint64_t *next_tag;         //  the class's tag counter (zeb_proto_tag_next)
    char kind;                  //  the tag's kind
    int timeout;                //  ms to wait for room to send and for the reply, in all
    zeb_proto_other_fn *other;  //  what to do with other messages met; NULL drops them
    void *arg;                  //  for other
} zeb_proto_call_t;

//  Pack body (a JSON object) as msgpack and send it as command with a new
//  tag of kind taken from *next_tag, waiting until deadline for room as
//  zeb_proto_send_until does. Returns 0 and *counter (the tag's counter),
//  ZEB_EINVALID if body has no msgpack form, or send_until's error.
int
    zeb_proto_send_json (void *socket, uint64_t *next_tag, char kind, const char *command,
                         json_t *body, int64_t deadline, uint64_t *counter);

//  Send command with body and wait for the reply tagged so. Returns 0 if
//  the reply is the command expected; on a NACK the code its reason names
//  (zeb_proto_parse_nack), with the NACK's error in fault; ZEB_ETIMEOUT if
//  no reply came in time (the request may still be carried out);
//  ZEB_EUNREACHABLE if it could not be queued; ZEB_EINVALID if body has no
//  msgpack form; ZEB_EPROTOCOL for any other reply, or a body that is not a
//  map. *reply (may be NULL) gets the body of the reply or of the NACK as
//  JSON, which the caller owns; NULL for every other outcome. fault (may be
//  NULL) says why for every non-zero return.
int
    zeb_proto_call_json (zeb_proto_call_t *call, const char *command, const char *expected,
                         json_t *body, json_t **reply, zeb_fault_t *fault);

//  Self test
void
    zeb_proto_test (bool verbose);

#ifdef __cplusplus
}
#endif

#endif
