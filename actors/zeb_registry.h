/*  =========================================================================
    zeb_registry - the schema registry actor: event types, their schemas,
    versions and compatibility, persisted in LMDB

    Requests on a ROUTER (registry/endpoint), ZEB/1 framing ([command]
    [msgpack map][tag?]), answered with the command's name or a NACK:

      REGISTER {type, schema, description?, compatibility?}
               -> REGISTER {type, version, duplicate}
               schema is JSON text. A schema identical to the latest
               version returns that version (duplicate: true). A schema
               that breaks the type's compatibility mode gets a NACK 409
               INCOMPATIBLE_SCHEMA with "reasons": [{reason, path, breaks,
               version}]. compatibility sets the mode of a new type only.
      CHECK    {type, schema}
               -> CHECK {type, compatible, reasons}     registers nothing
      GET      {type, version?}
               -> GET {type, version, schema, description, compatibility, validation}
      VERSIONS {type}       -> VERSIONS {type, versions: [uint...]}
      LIST     {prefix?}    -> LIST {types: [{type, description, latest, compatibility}]}
      SET_COMPATIBILITY {type, compatibility} -> SET_COMPATIBILITY {type, compatibility}
      SET_VALIDATION {type, validation} -> SET_VALIDATION {type, validation}
               off, warn, enforce, or default (the node's ingest/validation);
               ingest applies it unless its own setting is off
      DELETE   {type, version?} -> DELETE {type, versions: [uint...]}
               soft: the versions stay stored, marked deleted; numbers
               are never reused.

    Types are named `resource.action` or `module:resource.action` (letters,
    digits, '_' and '-' between dots, at least two parts). `zeb.*` types
    belong to the node: seeded at start (zeb.dead_letter,
    zeb.replay.started, zeb.replay.completed, zeb.health.degraded),
    refused to clients with 403 FORBIDDEN. The default mode is BACKWARD.

    Every registration is announced on a PUB (registry/changes): frames
    ["SCHEMA"][type][version as text], so that ingest can refresh its
    validators without asking per event.

    STATS answers the actor's counters. Built with the actor kit
    (zeb_actor.h); START reports the endpoints "registry" and "changes".
    The store is an LMDB environment of its own (node/data/registry,
    through zeb_lmdb) that grows on demand up to registry/max_size.
    =========================================================================
*/

#ifndef ZEB_REGISTRY_H_INCLUDED
#define ZEB_REGISTRY_H_INCLUDED

#ifdef __cplusplus
extern "C" {
#endif

//  The actor, for the node's table.
extern const zeb_actor_def_t zeb_registry_def;

//  True if name is a valid event type name (see above).
bool
    zeb_registry_type_valid (const char *name, size_t len);

//  Self test
void
    zeb_registry_test (bool verbose);

#ifdef __cplusplus
}
#endif

#endif
