/*  =========================================================================
    zeb_validator - ingest's check of event data against registered schemas

    Private to ingest (not installed). Mode `ingest/validation`: off (the
    default: nothing is looked up), warn (accepted, counted, logged once
    per type per minute) or enforce (refused with SCHEMA_VIOLATION, 422).
    A type's own mode in the registry (SET_VALIDATION) overrides warn or
    enforce; off turns the validator off altogether.

    Compiled schemas are cached per type (the latest version) and per
    (type, version) when an event names its version in `dataschema` (a
    number, or text ending in '/N' or ':N'). A cache miss asks the registry
    (GET, one round trip, at most `ingest/registry_timeout`); the answer,
    schema or none, stays cached until the registry announces a new
    version of the type on registry/changes, or for 60 s at most. Types
    without a schema are accepted. When the registry cannot be reached,
    events are accepted and `validation_unavailable` counts them.
    =========================================================================
*/

#ifndef ZEB_VALIDATOR_H_INCLUDED
#define ZEB_VALIDATOR_H_INCLUDED

typedef struct _zeb_validator_t zeb_validator_t;

typedef struct {
    uint64_t validated;             //  events checked against a schema
    uint64_t refused;               //  enforce: refused
    uint64_t warned;                //  warn: accepted though invalid
    uint64_t unavailable;           //  registry not reachable: accepted unchecked
    uint64_t lookups;               //  registry round trips
} zeb_validator_counters_t;

//  A validator for the configuration; NULL with fault set if the mode is
//  not one of off, warn, enforce.
zeb_validator_t *
    zeb_validator_new (zconfig_t *config, zeb_fault_t *fault);

void
    zeb_validator_destroy (zeb_validator_t **self_p);

//  The socket announcing registrations, for the owner's poller; NULL when
//  validation is off or no changes endpoint is known.
zsock_t *
    zeb_validator_changes (zeb_validator_t *self);

//  Read what arrived on that socket, if anything (never blocks), and
//  forget the schemas it names.
void
    zeb_validator_handle_changes (zeb_validator_t *self);

//  Check one decoded event. Returns 0 to accept it, or ZEB_ESCHEMA with
//  fault saying where and why (enforce mode only).
int
    zeb_validator_check (zeb_validator_t *self, zeb_event_view_t *view, zeb_fault_t *fault);

//  Counters so far.
zeb_validator_counters_t
    zeb_validator_counters (zeb_validator_t *self);

#endif
