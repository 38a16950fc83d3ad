/*  =========================================================================
    zeb_automation - automations: "when an event of type X matches
    conditions Y, run actions Z", durably

    A durable consumer of the log. For each event it evaluates the enabled
    rules its trigger type can match (zeb_ruleset), renders the actions of
    every rule that matched and enqueues one outbox run per (rule, event)
    with a deterministic id: zeb_outbox_run_id (rule id, sequence). The
    cursor travels in the same ENQUEUE, so the outbox stores runs and
    cursor in one transaction; a crash re-evaluates from the cursor and
    enqueues nothing twice. Batches that enqueue nothing move a cursor of
    the actor's own (written lazily: losing it re-reads events that make
    no runs). One ENQUEUE is in flight at a time; events wait in the log.

    Rules live in the actor's LMDB (node/data/automation): the current
    version by id, and every version ever stored (history: op, who, when).
    Admin verbs on automation/endpoint, docs/PROTOCOL.md section 4c: PUT,
    GET, LIST, DELETE, ENABLE, DISABLE, HISTORY, LOGS, TEST, BACKTEST.
    PUT checks a rule against its trigger type's schema in the registry
    and reports what cannot exist as warnings; with automation/strict_paths
    the rule is refused (ZEB_ESCHEMA, 422).
    =========================================================================
*/

#ifndef ZEB_AUTOMATION_H_INCLUDED
#define ZEB_AUTOMATION_H_INCLUDED

#define ZEB_AUTOMATION_CURSOR   "zeb.automation"    //  its cursor's name in the outbox
#define ZEB_AUTOMATION_MAX_MATCH 256            //  rules one event may fire

extern const zeb_config_key_t zeb_automation_config [];
extern const zeb_actor_def_t zeb_automation_def;

//  Self test
void
    zeb_automation_test (bool verbose);

#endif
