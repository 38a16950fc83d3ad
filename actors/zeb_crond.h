/*  =========================================================================
    zeb_crond - cron triggers: events published on a schedule, exactly once
    per scheduled time, across crashes and downtime

    Triggers (seed 004's fields: name, schedule, timezone, eventType —
    default custom.cron.{name} —, payload, enabled, catchUp, lastRun,
    nextRun) live in the actor's LMDB (node/data/cron). Each firing is
    published to ingest with idempotencykey cron/{name}/{scheduled ms}, so
    a firing is stored once even when it is published again after a
    crash, with source cron/{name} and the extension attributes cronname,
    scheduledtime and firedat. After downtime, each trigger's catchUp
    decides: skip (default: nothing missed fires), once (the latest
    missed time fires), all (every missed time within cron/catchup_window,
    at most cron/catchup_max of them). Admin verbs on cron/endpoint
    (docs/PROTOCOL.md 4d): PUT, GET, LIST, DELETE, ENABLE, DISABLE, RUN
    (fire now), and CLOCK (set the actor's clock) when cron/test_clock is
    on, so that tests move time instead of waiting for it.
    =========================================================================
*/

#ifndef ZEB_CROND_H_INCLUDED
#define ZEB_CROND_H_INCLUDED

extern const zeb_config_key_t zeb_crond_config [];
extern const zeb_actor_def_t zeb_crond_def;

#endif
