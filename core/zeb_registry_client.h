/*  =========================================================================
    zeb_registry_client - talk to a node's schema registry

    One DEALER connected to the registry's endpoint (zeb_node_endpoint
    (node, "registry"), or zeb_client_registry_endpoint after HELLO). The
    protocol is the one actors/zeb_registry.h and docs/PROTOCOL.md
    describe; this class is how C code speaks it, so that nobody builds
    registry frames by hand. One client is used by one thread at a time.

    Synchronous calls, one per registry verb, send a request and wait up
    to the timeout for its reply. Each returns 0, or a zeb_error_t code:

      - the registry's NACK, mapped with zeb_proto_parse_nack: fault gets
        the code and the registry's text (ZEB_ENOTFOUND, ZEB_EFORBIDDEN for
        zeb.* types, ZEB_EINVALID, ZEB_ECONFLICT for a schema that breaks
        its type's compatibility, ...);
      - ZEB_ETIMEOUT when no reply came within the timeout (the request
        may still be carried out: a REGISTER may have registered);
      - ZEB_EUNREACHABLE when the request could not even be queued;
      - ZEB_EPROTOCOL when the reply was not one the protocol allows.

    `reply` (may be NULL) receives the reply body as JSON, which the
    caller owns and frees with json_decref: the verb's reply on success,
    and the NACK's body ({code, reason, error, ...}) on a NACK, so that a
    409 INCOMPATIBLE_SCHEMA's "reasons" can be read. *reply is NULL when
    no body arrived (timeouts, unreachable, malformed replies). Read its
    fields by name (json_object_get): the registry may add fields. `fault`
    (may be NULL) says why for every non-zero return. Strings passed in
    are borrowed.

    Every request carries a tag of its own (ZEB/1's third frame), echoed
    by the registry. A reply that arrives after its request timed out is
    recognised by its tag and dropped: it is never taken for the answer
    to a later request.

    Asynchronous GET, for a thread that must never block (ingest's
    validator): zeb_registry_client_get_send queues a GET and returns at
    once; zeb_registry_client_socket is polled by the owner; when it is
    readable, zeb_registry_client_get_recv hands over the replies one by
    one, without blocking. Replies need not be taken in the order sent:
    match them by request_id. At most ZEB_REGISTRY_CLIENT_MAX_PENDING GETs
    are outstanding at a time; a GET unanswered within the timeout comes
    back from get_recv with status ZEB_ETIMEOUT (its late reply, should
    one come, is dropped). zeb_registry_client_get_expiry tells the owner
    when to call get_recv for that even if the socket stays silent.

    Polling ZMQ_FD (edge-triggered, as ingest does): the descriptor fires
    once for a batch of arrivals, and any call on the socket may consume
    that edge. So call get_recv until it returns 1 each time the
    descriptor fires, and also after any other call on this client
    (get_send, and the synchronous calls, which may read async replies
    off the socket and keep them for get_recv) before waiting on the
    descriptor again. Returning 1 means the socket was read until empty,
    so the descriptor fires again for the next arrival.
    =========================================================================
*/

#ifndef ZEB_REGISTRY_CLIENT_H_INCLUDED
#define ZEB_REGISTRY_CLIENT_H_INCLUDED

#ifdef __cplusplus
extern "C" {
#endif

#define ZEB_REGISTRY_CLIENT_TIMEOUT      5000   //  default timeout, ms
#define ZEB_REGISTRY_CLIENT_MAX_PENDING  1024   //  async GETs outstanding at most

typedef struct _zeb_registry_client_t zeb_registry_client_t;

//  The answer to an asynchronous GET
typedef struct {
    uint64_t request_id;        //  as get_send returned it
    int status;                 //  0, or a zeb_error_t (ZEB_ENOTFOUND: no such
                                //  type or version; ZEB_ETIMEOUT: no answer)
    uint32_t version;           //  the version returned (status 0)
    char *schema;               //  its JSON text, or NULL; caller frees
    char validation [16];       //  the type's own mode: "off", "warn",
                                //  "enforce" or "default"; "" if not given
    char error [200];           //  the registry's reason (status != 0)
} zeb_registry_schema_t;

//  Create a client for the registry at endpoint ("tcp://host:port",
//  "inproc://..."). Connects in the background: a registry that is not
//  up yet is waited for by the calls' timeouts. NULL if endpoint is NULL
//  or not a ZeroMQ endpoint.
zeb_registry_client_t *
    zeb_registry_client_new (const char *endpoint);

//  Destroy; outstanding requests are abandoned. Safe twice (nulls *self_p).
void
    zeb_registry_client_destroy (zeb_registry_client_t **self_p);

//  Timeout of each synchronous call, and after which an async GET comes
//  back as ZEB_ETIMEOUT, in ms (default ZEB_REGISTRY_CLIENT_TIMEOUT; 0 or
//  less restores the default).
void
    zeb_registry_client_set_timeout (zeb_registry_client_t *self, int timeout_ms);

//  ---------------------------------------------------------------------
//  Synchronous calls; see above for returns, reply and fault.

//  REGISTER a schema (JSON text) for type. description and compatibility
//  (the mode of a new type: "BACKWARD"...) may be NULL. Reply {type,
//  version, duplicate}; ZEB_ECONFLICT with "reasons" in the NACK body.
int
    zeb_registry_client_register (zeb_registry_client_t *self, const char *type,
                                  const char *schema, const char *description,
                                  const char *compatibility, json_t **reply, zeb_fault_t *fault);

//  CHECK whether schema would register; stores nothing. Returns 0 both
//  when compatible and when not: reply {type, compatible, compatibility,
//  reasons} says which.
int
    zeb_registry_client_check (zeb_registry_client_t *self, const char *type, const char *schema,
                               json_t **reply, zeb_fault_t *fault);

//  GET a version of type (0 = the latest). Reply {type, version, schema,
//  description, compatibility, validation}; ZEB_ENOTFOUND if none.
int
    zeb_registry_client_get (zeb_registry_client_t *self, const char *type, uint32_t version,
                             json_t **reply, zeb_fault_t *fault);

//  VERSIONS of type not deleted. Reply {type, versions: [n...]}.
int
    zeb_registry_client_versions (zeb_registry_client_t *self, const char *type,
                                  json_t **reply, zeb_fault_t *fault);

//  LIST types whose name starts with prefix (NULL or "" for all). Reply
//  {types: [{type, description, latest, compatibility}...]}.
int
    zeb_registry_client_list (zeb_registry_client_t *self, const char *prefix,
                              json_t **reply, zeb_fault_t *fault);

//  SET_COMPATIBILITY of type (NONE, BACKWARD, ... FULL_TRANSITIVE).
//  Reply {type, compatibility}.
int
    zeb_registry_client_set_compatibility (zeb_registry_client_t *self, const char *type,
                                           const char *compatibility,
                                           json_t **reply, zeb_fault_t *fault);

//  SET_VALIDATION of type (off, warn, enforce or default). Reply {type,
//  validation}.
int
    zeb_registry_client_set_validation (zeb_registry_client_t *self, const char *type,
                                        const char *validation,
                                        json_t **reply, zeb_fault_t *fault);

//  DELETE a version of type (0 = every version, and the type). Soft: the
//  numbers are never reused. Reply {type, versions: [deleted...]}.
int
    zeb_registry_client_delete (zeb_registry_client_t *self, const char *type, uint32_t version,
                                json_t **reply, zeb_fault_t *fault);

//  ---------------------------------------------------------------------
//  Asynchronous GET; see above.

//  Queue a GET of type at version (0 = latest) without blocking. Returns
//  0 and *request_id (never 0), or ZEB_EOVERLOADED when
//  ZEB_REGISTRY_CLIENT_MAX_PENDING GETs are outstanding or the socket's
//  queue is full, ZEB_EUNREACHABLE if it cannot take the request at all.
int
    zeb_registry_client_get_send (zeb_registry_client_t *self, const char *type, uint32_t version,
                                  uint64_t *request_id);

//  The socket replies arrive on, for the owner's zpoller or ZMQ_FD.
//  Borrowed; do not read from it.
zsock_t *
    zeb_registry_client_socket (zeb_registry_client_t *self);

//  Take one answer to an async GET, never blocking. Returns 0 with reply
//  filled (the caller frees reply->schema), or 1 when no answer is
//  waiting (reply untouched). Late replies and replies to nothing are
//  dropped on the way. Call it until it returns 1 (see "Polling").
int
    zeb_registry_client_get_recv (zeb_registry_client_t *self, zeb_registry_schema_t *reply);

//  Milliseconds until the oldest outstanding GET times out (0: it has;
//  call get_recv), or -1 if none is outstanding. For the owner's poll
//  timeout.
int64_t
    zeb_registry_client_get_expiry (zeb_registry_client_t *self);

//  Async GETs outstanding.
size_t
    zeb_registry_client_pending (zeb_registry_client_t *self);

#ifdef __cplusplus
}
#endif

#endif
