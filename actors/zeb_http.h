/*  =========================================================================
    zeb_http - the HTTP gateway: webhooks in, the REST API over zeb

    A kit actor around a CivetWeb server (libcivetweb 1.15). CivetWeb runs
    its own worker threads (http/threads); each request is served in one
    of them, start to finish, and talks to the node's other actors only
    through their client classes: zeb_client (publish, fetch) to ingest,
    zeb_registry_client, zeb_automation_client, zeb_outbox_client. Every
    worker thread owns its clients (created on its first request that
    needs them, destroyed when the thread ends): no ZeroMQ socket is ever
    used by two threads. The actor's own thread only starts and stops the
    server and answers STATS.

    Routes (docs/HTTP.md has every one, with its refusals):
      POST /webhooks/{source}            an inbound webhook: verified, stored,
                                         200 only after ingest's ACK
      POST /api/events/trigger           seed 004's manual trigger: 201
      POST /api/events, GET /api/events, GET /api/events/{sequence}
      GET|POST /api/events/types, GET /api/events/types/{type}[/versions]
      /api/automations...                the automation actor's verbs
      /api/deadletters...                the outbox's dead letters
      GET /api/openapi.json, GET /healthz

    Durability: a request that stores an event is answered 2xx only after
    ingest's ACK, which is sent after the commit (and fsync in sync mode
    always). A NACK that retrying may cure (STORAGE_FULL, OVERLOADED), no
    answer within http/publish_timeout, or no ingest is 503 with
    Retry-After: the sender retries, and the idempotency key stores the
    retry once. Other NACKs carry their own status (400, 413, 422).

    Bounds: a request body of http/max_body (per webhook source:
    http/webhooks/SOURCE/max_body) is read at most, a longer one is 413
    before anything is parsed; at most http/threads requests (and
    keep-alive connections) are served at once, more wait in the listen
    queue; a request waits http/publish_timeout for ingest and
    http/call_timeout for any other actor.

    Access: bearer tokens from http/tokens/NAME/token with scopes
    http/tokens/NAME/scopes (read, publish, admin; admin implies the
    others). With no token configured the API is open, and the gateway
    refuses to listen anywhere but a loopback address. Webhooks are
    checked by their source's signature scheme, not by tokens.
    =========================================================================
*/

#ifndef ZEB_HTTP_H_INCLUDED
#define ZEB_HTTP_H_INCLUDED

extern const zeb_config_key_t zeb_http_config [];
extern const zeb_actor_def_t zeb_http_def;

//  Self test: the signature schemes against their senders' published
//  examples, and the router's matching
void
    zeb_http_test (bool verbose);

#endif
