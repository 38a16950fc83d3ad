/*  =========================================================================
    zeb_actor_client - call any actor's JSON verbs over its ROUTER

    The automations (PROTOCOL 4c), cron (4d) and every actor's STATS take
    a JSON object as body and answer with a reply of the verb's own name
    or a NACK. This class makes such calls: one DEALER, tags of its own,
    late replies dropped on the way. zeb_automation_client is built on it;
    cron and STATS are called with it directly.

    Calls return 0, or the NACK's code with its text in fault (*reply then
    holds the NACK's body: {code, reason, error, ...}), ZEB_ETIMEOUT,
    ZEB_EUNREACHABLE. *reply (may be NULL) is the caller's.
    =========================================================================
*/

#ifndef ZEB_ACTOR_CLIENT_H_INCLUDED
#define ZEB_ACTOR_CLIENT_H_INCLUDED

#ifdef __cplusplus
extern "C" {
#endif

#define ZEB_ACTOR_CLIENT_TIMEOUT  5000      //  default timeout, ms

typedef struct _zeb_actor_client_t zeb_actor_client_t;

//  A client of the actor named name ("cron": for fault texts) at endpoint.
//  NULL if endpoint is NULL, empty or not a ZeroMQ endpoint.
zeb_actor_client_t *
    zeb_actor_client_new (const char *endpoint, const char *name);

void
    zeb_actor_client_destroy (zeb_actor_client_t **self_p);

//  Timeout of each call in ms (0 or less: the default)
void
    zeb_actor_client_set_timeout (zeb_actor_client_t *self, int timeout_ms);

//  The verb with its body (an object, borrowed; NULL for {})
int
    zeb_actor_client_call (zeb_actor_client_t *self, const char *verb, json_t *body,
                           json_t **reply, zeb_fault_t *fault);

//  Self test
void
    zeb_actor_client_test (bool verbose);

#ifdef __cplusplus
}
#endif

#endif
