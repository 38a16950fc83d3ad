/*  =========================================================================
    zeb_validator - ingest's check of event data against registered schemas

    Private to ingest (not installed). Mode `ingest/validation`: off (the
    default: nothing is looked up), warn (accepted, counted, logged once
    per type per minute) or enforce (refused with SCHEMA_VIOLATION, 422).
    A type's own mode in the registry (SET_VALIDATION) overrides warn or
    enforce; off turns the validator off altogether.

    Compiled schemas are cached per type (the latest version) and per
    (type, version) when an event names its version in `dataschema` (a
    number, or text ending in '/N' or ':N'). The answer, schema or none,
    stays cached until the registry announces the type again on its
    changes socket, or for 60 s at most.

    Lookups never block ingest's thread. A miss sends an asynchronous GET
    (zeb_registry_client) and zeb_validator_check returns 1: ingest holds
    that message, and reads nothing more from its producers until the
    answer (zeb_validator_handle_replies) or the deadline
    (ingest/registry_timeout, zeb_validator_expire) — so events are still
    stored in the order they came, while the writer, the bus and the pipe
    go on being served. A lookup without an answer (a timeout, or an error
    of the registry's own) starts an outage: until the registry answers
    again, misses are accepted unchecked at once (counted as
    `validation_unavailable`) and one GET per ingest/registry_retry probes
    it in the background; its answer ends the outage. Only "no such type
    or version" is cached as "no schema". At most 10,000 answers are
    cached; past that all are forgotten and asked again. Refusing every
    event because an admin service is down would
    turn a registry outage into an ingest outage.
    =========================================================================
*/

#ifndef ZEB_VALIDATOR_H_INCLUDED
#define ZEB_VALIDATOR_H_INCLUDED

typedef struct _zeb_validator_t zeb_validator_t;

typedef struct {
    uint64_t validated;             //  events checked against a schema
    uint64_t refused;               //  enforce: refused
    uint64_t too_complex;           //  of those, past the schema's work budget
    uint64_t warned;                //  warn: accepted though invalid
    uint64_t unavailable;           //  registry not reachable: accepted unchecked
    uint64_t lookups;               //  registry round trips
    uint64_t timeouts;              //  lookups that got no answer in time
} zeb_validator_counters_t;

//  A validator for the configuration (ingest's keys). NULL with fault set
//  if it cannot be set up.
zeb_validator_t *
    zeb_validator_new (zconfig_t *config, zeb_fault_t *fault);

void
    zeb_validator_destroy (zeb_validator_t **self_p);

//  The socket announcing registrations, for the owner's loop; NULL when
//  validation is off or no changes endpoint is known.
zsock_t *
    zeb_validator_changes (zeb_validator_t *self);

//  Read what arrived on that socket, if anything (never blocks), and
//  forget the schemas it names.
void
    zeb_validator_handle_changes (zeb_validator_t *self);

//  The socket lookups are answered on, for the owner's loop; NULL when
//  validation is off.
zsock_t *
    zeb_validator_socket (zeb_validator_t *self);

//  Take every answer waiting on that socket (never blocks).
void
    zeb_validator_handle_replies (zeb_validator_t *self);

//  Resolve lookups past their deadline. Returns the ms until the next
//  deadline, or -1 if no lookup is in flight: the owner's poll timeout.
int
    zeb_validator_expire (zeb_validator_t *self);

//  True while a lookup that check answered 1 for is in flight.
bool
    zeb_validator_waiting (zeb_validator_t *self);

//  Check one decoded event. Returns 0 to accept it, ZEB_ESCHEMA with
//  fault saying where and why (enforce mode only), or 1 when its schema
//  is being looked up: offer the event again once zeb_validator_waiting
//  is false.
int
    zeb_validator_check (zeb_validator_t *self, zeb_event_view_t *view, zeb_fault_t *fault);

//  Start the lookup of this event's schema if it is neither cached nor
//  asked for already, without checking anything (never blocks): for the
//  other events of an array that waits, so that lookups run side by side.
void
    zeb_validator_prefetch (zeb_validator_t *self, zeb_event_view_t *view);

//  Counters so far.
zeb_validator_counters_t
    zeb_validator_counters (zeb_validator_t *self);

//  Self test
void
    zeb_validator_test (bool verbose);

#endif
