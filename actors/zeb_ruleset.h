/*  =========================================================================
    zeb_ruleset - the rules of a node, indexed by trigger type

    Rules are indexed by trigger type: an exact hash for exact types, a
    prefix trie for "prefix*" and "*", so an event costs only the rules
    that can match it. Disabled rules are not in the index. Matches come
    out by priority, highest first, ties by id ascending. A ruleset is
    used by one thread; a reload builds a new set (zeb_ruleset_dup and
    changes) and swaps the pointer, so evaluation never waits.
    =========================================================================
*/

#ifndef ZEB_RULESET_H_INCLUDED
#define ZEB_RULESET_H_INCLUDED

typedef struct _zeb_ruleset_t zeb_ruleset_t;

typedef struct {
    uint64_t events;            //  events matched against the set
    uint64_t candidates;        //  rules the index gave for them
    uint64_t matches;           //  rules that matched
} zeb_ruleset_stats_t;

zeb_ruleset_t *
    zeb_ruleset_new (void);
void
    zeb_ruleset_destroy (zeb_ruleset_t **self_p);

//  A copy sharing nothing (rules are recompiled from their JSON).
zeb_ruleset_t *
    zeb_ruleset_dup (zeb_ruleset_t *self);

//  Add or replace (by id) a rule; takes ownership and nulls the pointer.
//  The rule must have an id. Returns 0, or -1 if it has none (the rule
//  then stays the caller's). Do not change the id of a rule in the set
//  (zeb_rule_set_id): put a new rule instead.
int
    zeb_ruleset_put (zeb_ruleset_t *self, zeb_rule_t **rule_p);

//  Remove a rule by id; 0, or -1 if there is none.
int
    zeb_ruleset_remove (zeb_ruleset_t *self, const char *id);

//  The rule of that id (borrowed), or NULL.
zeb_rule_t *
    zeb_ruleset_lookup (zeb_ruleset_t *self, const char *id);

//  Enable or disable a rule; 0, or -1 if there is none.
int
    zeb_ruleset_enable (zeb_ruleset_t *self, const char *id, bool enabled);

//  Rules in all, and enabled ones
size_t
    zeb_ruleset_size (zeb_ruleset_t *self);
size_t
    zeb_ruleset_enabled (zeb_ruleset_t *self);

//  Call fn for every rule, in id order; stops when fn returns non-zero
//  and returns that.
typedef int (zeb_ruleset_fn) (zeb_rule_t *rule, void *arg);
int
    zeb_ruleset_each (zeb_ruleset_t *self, zeb_ruleset_fn *fn, void *arg);

//  The enabled rules that match the event, in priority order: fills at
//  most max into out (borrowed), returns how many match in all.
size_t
    zeb_ruleset_match (zeb_ruleset_t *self, const zeb_event_view_t *event,
                       zeb_rule_t **out, size_t max);

//  The enabled rules the index gives for a type (candidates, before
//  conditions), in priority order: as zeb_ruleset_match.
size_t
    zeb_ruleset_candidates (zeb_ruleset_t *self, const char *type, size_t len,
                            zeb_rule_t **out, size_t max);

void
    zeb_ruleset_stats (zeb_ruleset_t *self, zeb_ruleset_stats_t *stats);

//  Self test
void
    zeb_ruleset_test (bool verbose);

#endif
