/*  =========================================================================
    zeb_automation_client - talk to a node's automations: rules, dry runs,
    backtests, logs

    Every call is one request of docs/PROTOCOL.md section 4c with a JSON
    body, answered by the verb's own reply or a NACK. Returns 0, or the
    NACK's code with its text in fault (*reply then holds the NACK's body:
    {code, reason, error, warnings?}), ZEB_ETIMEOUT, ZEB_EUNREACHABLE.
    *reply (may be NULL) is the caller's.
    =========================================================================
*/

#ifndef ZEB_AUTOMATION_CLIENT_H_INCLUDED
#define ZEB_AUTOMATION_CLIENT_H_INCLUDED

#ifdef __cplusplus
extern "C" {
#endif

#define ZEB_AUTOMATION_CLIENT_TIMEOUT  5000    //  default timeout, ms

typedef struct _zeb_automation_client_t zeb_automation_client_t;

//  A client for the automation actor at endpoint (zeb_client_automation_endpoint).
//  NULL if endpoint is NULL or not a ZeroMQ endpoint.
zeb_automation_client_t *
    zeb_automation_client_new (const char *endpoint);

void
    zeb_automation_client_destroy (zeb_automation_client_t **self_p);

//  Timeout of each call in ms (0 or less: the default). A BACKTEST over
//  a long log wants more.
void
    zeb_automation_client_set_timeout (zeb_automation_client_t *self, int timeout_ms);

//  PUT a rule (a JSON object: seed 004's fields); by (may be NULL) is
//  who, for the history. Reply {id, version, created, warnings: [{path,
//  field, reason}]}; refused with ZEB_EINVALID (the path of the mistake)
//  or, with automation/strict_paths, ZEB_ESCHEMA and the warnings.
int
    zeb_automation_client_put (zeb_automation_client_t *self, json_t *rule, const char *by,
                               json_t **reply, zeb_fault_t *fault);

//  Any other verb with its body (an object, borrowed; NULL for {}):
//  GET {id, version?}, LIST {type?, event?, enabled?, limit?, after?},
//  DELETE {id, by?}, ENABLE/DISABLE {id, by?}, HISTORY {id, limit?},
//  LOGS {id | type, limit?, before?}, TEST {event, rule | id},
//  BACKTEST {rule | id, from?, to?, since?, until?, limit?, maxEvents?}.
int
    zeb_automation_client_call (zeb_automation_client_t *self, const char *verb, json_t *body,
                                json_t **reply, zeb_fault_t *fault);

//  Self test
void
    zeb_automation_client_test (bool verbose);

#ifdef __cplusplus
}
#endif

#endif
