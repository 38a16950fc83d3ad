/*  =========================================================================
    zeb_rule - one automation rule: "when an event of type X matches
    conditions Y, run actions Z", compiled once

    A rule is parsed from its JSON (seed 004's names: id, name,
    description, triggerEventType, triggerConditions, any, actions,
    enabled, priority, continueOnError, createdBy, createdAt, updatedAt)
    and compiled: field paths into steps, regular expressions by PCRE2
    (JIT, with a match limit), templates of the action configs into
    segments. Everything that can be wrong with a rule is found here, with
    the JSON path of the mistake ("triggerConditions[2].operator"), never
    at evaluation time.

    Conditions: {"field": PATH, "operator": OP, "value": V, "ignoreCase":
    bool}, or a quantifier over an array's elements {"field": PATH, "any":
    C | [C...]} / {"field": PATH, "all": ...} whose conditions' fields are
    relative to the element ("sku", "[0].price", "." for the element
    itself; nesting at most 4). triggerConditions are
    ANDed; "any" is an array of groups (a group is one condition or an
    array ANDed) of which at least one must hold. Paths: data.a.b,
    data.items[0], data["odd.key"], type, source, subject, tenantid, time,
    sequence, any envelope attribute or extension; "payload." is an alias
    of "data." and "metadata." of the envelope's attributes. Operators:
    eq neq gt gte lt lte contains startsWith endsWith matches exists in.
    Their semantics are a table in docs/DESIGN.md ("The rule engine").

    Templates in action configs: {{data.order.id}}, {{event.id}},
    {{event.type}}, {{event.time}}, {{event.sequence}}, any rule path. A
    value that is exactly one template keeps the JSON type of what it
    refers to (null if missing); inside text a missing field is "".

    A rule is used by one thread at a time (PCRE2 match data is shared).
    =========================================================================
*/

#ifndef ZEB_RULE_H_INCLUDED
#define ZEB_RULE_H_INCLUDED

#define ZEB_RULE_MAX_CONDITIONS 64      //  per rule, counting nested ones
#define ZEB_RULE_MAX_ACTIONS    64      //  as ZEB_OUTBOX_MAX_ACTIONS
#define ZEB_RULE_MAX_NESTING    4       //  quantifiers within quantifiers
#define ZEB_RULE_MAX_SIZE       (256 * 1024)    //  bytes of a rule's JSON

typedef struct _zeb_rule_t zeb_rule_t;

//  A warning of zeb_rule_check: a path the trigger type's schema says
//  cannot exist, or whose type cannot satisfy the operator
typedef struct {
    char path [96];             //  where in the rule: "triggerConditions[0].field"
    char field [160];           //  the field path it names: "data.total"
    char reason [224];          //  for people: "the schema has no property total"
} zeb_rule_warning_t;

//  Compile a rule from JSON text (len bytes). Returns NULL with fault set
//  (ZEB_EMALFORMED if not JSON, ZEB_EINVALID naming the path and what is
//  wrong) if it is not a valid rule. The id may be absent (see
//  zeb_rule_set_id); triggerEventType and actions are required.
zeb_rule_t *
    zeb_rule_new (const char *json, size_t len, zeb_fault_t *fault);

//  The same from a parsed JSON object (borrowed).
zeb_rule_t *
    zeb_rule_new_json (json_t *json, zeb_fault_t *fault);

void
    zeb_rule_destroy (zeb_rule_t **self_p);

//  The rule as JSON (borrowed; the rule's own, with id and enabled as
//  set); and as compact text (borrowed, terminated; valid until the next
//  zeb_rule_set_* call).
json_t *
    zeb_rule_json (zeb_rule_t *self);
const char *
    zeb_rule_text (zeb_rule_t *self);

//  Its fields ("" for an absent id or name)
const char *
    zeb_rule_id (zeb_rule_t *self);
const char *
    zeb_rule_name (zeb_rule_t *self);
const char *
    zeb_rule_trigger (zeb_rule_t *self);
bool
    zeb_rule_enabled (zeb_rule_t *self);
bool
    zeb_rule_continue_on_error (zeb_rule_t *self);
int64_t
    zeb_rule_priority (zeb_rule_t *self);
size_t
    zeb_rule_action_count (zeb_rule_t *self);

//  Set the id (the JSON follows), or enabled.
void
    zeb_rule_set_id (zeb_rule_t *self, const char *id);
void
    zeb_rule_set_enabled (zeb_rule_t *self, bool enabled);
//  Set a string field of the JSON (createdBy, createdAt, updatedAt...).
void
    zeb_rule_set_field (zeb_rule_t *self, const char *name, const char *value);

//  True if an event of this type (len bytes) triggers the rule: the
//  exact type, a prefix ending in '*', or "*".
bool
    zeb_rule_triggered_by (zeb_rule_t *self, const char *type, size_t len);

//  True if the event matches the rule's conditions (the trigger type is
//  not checked here: the ruleset's index does that).
bool
    zeb_rule_match (zeb_rule_t *self, const zeb_event_view_t *event);

//  Explain: write into the open pack, as the value of key (NULL inside an
//  array), a map {matched, conditions: [{path, field, operator, value,
//  seen, result}...], any: [...]} - each condition's result and the value
//  it saw. Returns the match.
bool
    zeb_rule_explain (zeb_rule_t *self, const zeb_event_view_t *event,
                      zeb_pack_t *pack, const char *key);

//  Render the actions for an event into the open pack as the value of
//  key: an array of {type, config, retryPolicy?} as an outbox ENQUEUE
//  run carries them, with every template replaced.
void
    zeb_rule_render (zeb_rule_t *self, const zeb_event_view_t *event,
                     zeb_pack_t *pack, const char *key);

//  Check the rule against the trigger type's schema: fill at most max
//  warnings, return how many there are in all.
size_t
    zeb_rule_check (zeb_rule_t *self, zeb_schema_t *schema,
                    zeb_rule_warning_t *warnings, size_t max);

//  Self test
void
    zeb_rule_test (bool verbose);

#endif
