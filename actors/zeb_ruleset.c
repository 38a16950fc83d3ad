/*  =========================================================================
    zeb_ruleset - the rules of a node, indexed by trigger type

    The index is built from the enabled rules when it is first needed after
    a change (put, remove, enable), so a reload of N rules costs one sort
    and N insertions, not N rebuilds. Every enabled rule gets a rank, its
    place in (priority desc, id asc) order; rules are appended to the
    index's lists in rank order, so each list is sorted, and the
    candidates of a type are a merge by rank of at most a few lists:

      exact     a hash of type -> list
      prefix    a trie over the bytes of "prefix*" triggers: the lists of
                the nodes along the event type's bytes
      *         the list of the trie's root

    Matching allocates nothing once the candidate buffer has grown to the
    largest candidate set seen.
    =========================================================================
*/

#include "zeb_actors.h"
#include "zeb_rule_int.h"

#define S_MERGED_MAX    4096        //  types whose merged candidates are kept

typedef struct {
    zeb_rule_t *rule;
    size_t rank;
} s_entry_t;

typedef struct {
    s_entry_t *items;
    size_t count;
    size_t max;
} s_list_t;

typedef struct {
    uint8_t *bytes;                 //  labels of the edges to children, sorted
    uint32_t *children;             //  node indexes
    size_t count;
    size_t max;
    s_list_t rules;                 //  "prefix*" rules whose prefix ends here
} s_node_t;

struct _zeb_ruleset_t {
    zhashx_t *rules;                //  id -> rule, owned
    bool stale;                     //  the index must be rebuilt
    zhashx_t *exact;                //  type -> s_list_t
    s_node_t *nodes;                //  the trie; nodes [0] is the root
    size_t node_count;
    size_t node_max;
    const s_list_t **heads;         //  lists of one merge
    size_t *cursors;
    size_t heads_max;
    s_list_t found;                 //  candidates of the last lookup not cached
    zhashx_t *merged;               //  type -> s_list_t: its candidates, merged
                                    //  once per rebuild (at most S_MERGED_MAX types)
    zeb_rule_index_t index;         //  of the event being matched, with
                                    //  the memos of the rules' paths
    zeb_ruleset_stats_t stats;
};

static void
s_list_add (s_list_t *list, zeb_rule_t *rule, size_t rank)
{
    if (list->count == list->max) {
        list->max = list->max? list->max * 2: 4;
        list->items = (s_entry_t *) realloc (list->items, sizeof (s_entry_t) * list->max);
        assert (list->items);
    }
    list->items [list->count++] = (s_entry_t) { rule, rank };
}

static void
s_list_destroy (void **item_p)
{
    s_list_t *list = (s_list_t *) *item_p;
    if (list) {
        free (list->items);
        free (list);
        *item_p = NULL;
    }
}

static void
s_rule_destroy (void **item_p)
{
    zeb_rule_destroy ((zeb_rule_t **) item_p);
}

static void
s_trie_clear (zeb_ruleset_t *self)
{
    for (size_t index = 0; index < self->node_count; index++) {
        free (self->nodes [index].bytes);
        free (self->nodes [index].children);
        free (self->nodes [index].rules.items);
    }
    self->node_count = 0;
}

static uint32_t
s_node_new (zeb_ruleset_t *self)
{
    if (self->node_count == self->node_max) {
        self->node_max = self->node_max? self->node_max * 2: 16;
        self->nodes = (s_node_t *) realloc (self->nodes, sizeof (s_node_t) * self->node_max);
        assert (self->nodes);
    }
    memset (&self->nodes [self->node_count], 0, sizeof (s_node_t));
    return (uint32_t) self->node_count++;
}

//  The child of node along byte, or UINT32_MAX
static uint32_t
s_child (const s_node_t *node, uint8_t byte)
{
    size_t low = 0, high = node->count;
    while (low < high) {
        size_t middle = (low + high) / 2;
        if (node->bytes [middle] == byte)
            return node->children [middle];
        if (node->bytes [middle] < byte)
            low = middle + 1;
        else
            high = middle;
    }
    return UINT32_MAX;
}

//  The node of a prefix, created as needed
static uint32_t
s_trie_insert (zeb_ruleset_t *self, const char *prefix, size_t len)
{
    uint32_t at = 0;
    for (size_t index = 0; index < len; index++) {
        uint8_t byte = (uint8_t) prefix [index];
        uint32_t next = s_child (&self->nodes [at], byte);
        if (next == UINT32_MAX) {
            next = s_node_new (self);
            s_node_t *node = &self->nodes [at];      //  after the realloc
            if (node->count == node->max) {
                node->max = node->max? node->max * 2: 2;
                node->bytes = (uint8_t *) realloc (node->bytes, node->max);
                node->children = (uint32_t *) realloc (node->children, sizeof (uint32_t) * node->max);
                assert (node->bytes && node->children);
            }
            size_t slot = 0;
            while (slot < node->count && node->bytes [slot] < byte)
                slot++;
            memmove (node->bytes + slot + 1, node->bytes + slot, node->count - slot);
            memmove (node->children + slot + 1, node->children + slot,
                     sizeof (uint32_t) * (node->count - slot));
            node->bytes [slot] = byte;
            node->children [slot] = next;
            node->count++;
        }
        at = next;
    }
    return at;
}

//  Priority, highest first; then id, ascending
static int
s_compare_rank (const void *a, const void *b)
{
    zeb_rule_t *x = *(zeb_rule_t **) a, *y = *(zeb_rule_t **) b;
    int64_t px = zeb_rule_priority (x), py = zeb_rule_priority (y);
    if (px != py)
        return px > py? -1: 1;
    return strcmp (zeb_rule_id (x), zeb_rule_id (y));
}

static int
s_compare_id (const void *a, const void *b)
{
    return strcmp (zeb_rule_id (*(zeb_rule_t **) a), zeb_rule_id (*(zeb_rule_t **) b));
}

//  Every rule, in an array the caller frees
static zeb_rule_t **
s_all_rules (zeb_ruleset_t *self, size_t *count)
{
    *count = zhashx_size (self->rules);
    zeb_rule_t **rules = (zeb_rule_t **) malloc (sizeof (zeb_rule_t *) * (*count + 1));
    assert (rules);
    size_t index = 0;
    for (zeb_rule_t *rule = (zeb_rule_t *) zhashx_first (self->rules); rule;
         rule = (zeb_rule_t *) zhashx_next (self->rules))
        rules [index++] = rule;
    return rules;
}

static void
s_rebuild (zeb_ruleset_t *self)
{
    zhashx_purge (self->exact);
    zhashx_purge (self->merged);
    s_trie_clear (self);
    s_node_new (self);              //  the root: "*" rules
    size_t count;
    zeb_rule_t **rules = s_all_rules (self, &count);
    size_t enabled = 0;
    for (size_t index = 0; index < count; index++)
        if (zeb_rule_enabled (rules [index]))
            rules [enabled++] = rules [index];
    qsort (rules, enabled, sizeof (zeb_rule_t *), s_compare_rank);
    //  Every distinct path of the enabled rules gets a memo: resolved
    //  once per event, however many rules name it
    zhashx_t *slots = zhashx_new ();
    uint32_t slot_count = 0;
    for (size_t rank = 0; rank < enabled; rank++)
        zeb_rule_number_paths (rules [rank], slots, &slot_count);
    zhashx_destroy (&slots);
    free (self->index.memo);
    self->index.memo = (zeb_rule_memo_t *) zmalloc (sizeof (zeb_rule_memo_t) * (slot_count + 1));
    self->index.memo_size = slot_count;
    self->index.generation = 0;
    for (size_t rank = 0; rank < enabled; rank++) {
        zeb_rule_t *rule = rules [rank];
        const char *trigger = zeb_rule_trigger (rule);
        size_t len = strlen (trigger);
        if (len && trigger [len - 1] == '*') {
            uint32_t node = s_trie_insert (self, trigger, len - 1);
            s_list_add (&self->nodes [node].rules, rule, rank);
        }
        else {
            s_list_t *list = (s_list_t *) zhashx_lookup (self->exact, trigger);
            if (!list) {
                list = (s_list_t *) zmalloc (sizeof (s_list_t));
                zhashx_insert (self->exact, trigger, list);
            }
            s_list_add (list, rule, rank);
        }
    }
    free (rules);
    self->stale = false;
}

zeb_ruleset_t *
zeb_ruleset_new (void)
{
    zeb_ruleset_t *self = (zeb_ruleset_t *) zmalloc (sizeof (zeb_ruleset_t));
    self->rules = zhashx_new ();
    zhashx_set_destructor (self->rules, s_rule_destroy);
    self->exact = zhashx_new ();
    zhashx_set_destructor (self->exact, s_list_destroy);
    self->merged = zhashx_new ();
    zhashx_set_destructor (self->merged, s_list_destroy);
    self->stale = true;
    return self;
}

void
zeb_ruleset_destroy (zeb_ruleset_t **self_p)
{
    assert (self_p);
    zeb_ruleset_t *self = *self_p;
    if (self) {
        zhashx_destroy (&self->exact);
        zhashx_destroy (&self->merged);
        zhashx_destroy (&self->rules);
        s_trie_clear (self);
        free (self->nodes);
        free (self->heads);
        free (self->cursors);
        free (self->found.items);
        free (self->index.memo);
        free (self);
        *self_p = NULL;
    }
}

zeb_ruleset_t *
zeb_ruleset_dup (zeb_ruleset_t *self)
{
    assert (self);
    zeb_ruleset_t *copy = zeb_ruleset_new ();
    for (zeb_rule_t *rule = (zeb_rule_t *) zhashx_first (self->rules); rule;
         rule = (zeb_rule_t *) zhashx_next (self->rules)) {
        const char *text = zeb_rule_text (rule);
        zeb_rule_t *again = text? zeb_rule_new (text, strlen (text), NULL): NULL;
        assert (again);             //  it compiled once, from the same JSON
        int rc = zeb_ruleset_put (copy, &again);
        assert (rc == 0);
    }
    return copy;
}

int
zeb_ruleset_put (zeb_ruleset_t *self, zeb_rule_t **rule_p)
{
    assert (self);
    assert (rule_p && *rule_p);
    zeb_rule_t *rule = *rule_p;
    if (!*zeb_rule_id (rule))
        return -1;
    zhashx_update (self->rules, zeb_rule_id (rule), rule);
    *rule_p = NULL;
    self->stale = true;
    return 0;
}

int
zeb_ruleset_remove (zeb_ruleset_t *self, const char *id)
{
    assert (self);
    assert (id);
    if (!zhashx_lookup (self->rules, id))
        return -1;
    zhashx_delete (self->rules, id);
    self->stale = true;
    return 0;
}

zeb_rule_t *
zeb_ruleset_lookup (zeb_ruleset_t *self, const char *id)
{
    assert (self);
    assert (id);
    return (zeb_rule_t *) zhashx_lookup (self->rules, id);
}

int
zeb_ruleset_enable (zeb_ruleset_t *self, const char *id, bool enabled)
{
    zeb_rule_t *rule = zeb_ruleset_lookup (self, id);
    if (!rule)
        return -1;
    if (zeb_rule_enabled (rule) != enabled) {
        zeb_rule_set_enabled (rule, enabled);
        self->stale = true;
    }
    return 0;
}

size_t
zeb_ruleset_size (zeb_ruleset_t *self)
{
    assert (self);
    return zhashx_size (self->rules);
}

size_t
zeb_ruleset_enabled (zeb_ruleset_t *self)
{
    assert (self);
    size_t enabled = 0;
    for (zeb_rule_t *rule = (zeb_rule_t *) zhashx_first (self->rules); rule;
         rule = (zeb_rule_t *) zhashx_next (self->rules))
        enabled += zeb_rule_enabled (rule);
    return enabled;
}

int
zeb_ruleset_each (zeb_ruleset_t *self, zeb_ruleset_fn *fn, void *arg)
{
    assert (self);
    assert (fn);
    size_t count;
    zeb_rule_t **rules = s_all_rules (self, &count);
    qsort (rules, count, sizeof (zeb_rule_t *), s_compare_id);
    int rc = 0;
    for (size_t index = 0; rc == 0 && index < count; index++)
        rc = fn (rules [index], arg);
    free (rules);
    return rc;
}

static void
s_add_head (zeb_ruleset_t *self, const s_list_t *list, size_t *heads)
{
    if (!list || list->count == 0)
        return;
    if (*heads == self->heads_max) {
        self->heads_max = self->heads_max? self->heads_max * 2: 8;
        self->heads = (const s_list_t **) realloc (self->heads, sizeof (s_list_t *) * self->heads_max);
        self->cursors = (size_t *) realloc (self->cursors, sizeof (size_t) * self->heads_max);
        assert (self->heads && self->cursors);
    }
    self->heads [*heads] = list;
    self->cursors [(*heads)++] = 0;
}

//  The candidates of a type, in rank order: merged from the index into
//  out (emptied first)
static void
s_merge (zeb_ruleset_t *self, const char *type, size_t len, const char *key, s_list_t *out)
{
    size_t heads = 0;
    if (key)
        s_add_head (self, (s_list_t *) zhashx_lookup (self->exact, key), &heads);
    uint32_t at = 0;
    s_add_head (self, &self->nodes [0].rules, &heads);
    for (size_t index = 0; index < len; index++) {
        at = s_child (&self->nodes [at], (uint8_t) type [index]);
        if (at == UINT32_MAX)
            break;
        s_add_head (self, &self->nodes [at].rules, &heads);
    }
    out->count = 0;
    if (heads == 1) {
        const s_list_t *list = self->heads [0];
        for (size_t index = 0; index < list->count; index++)
            s_list_add (out, list->items [index].rule, list->items [index].rank);
        return;
    }
    //  Merge by rank: few lists, so the smallest head by a linear scan
    while (heads) {
        size_t best = 0;
        for (size_t head = 1; head < heads; head++)
            if (self->heads [head]->items [self->cursors [head]].rank
              < self->heads [best]->items [self->cursors [best]].rank)
                best = head;
        const s_entry_t *entry = &self->heads [best]->items [self->cursors [best]++];
        s_list_add (out, entry->rule, entry->rank);
        if (self->cursors [best] == self->heads [best]->count) {
            heads--;
            self->heads [best] = self->heads [heads];
            self->cursors [best] = self->cursors [heads];
        }
    }
}

//  The candidates of a type, in rank order (borrowed until the next
//  lookup or change). Events of a type come again and again: each type's
//  merge is kept until the next rebuild, for the first S_MERGED_MAX types
static const s_list_t *
s_lookup (zeb_ruleset_t *self, const char *type, size_t len)
{
    if (self->stale)
        s_rebuild (self);
    if (len > ZEB_EVENT_MAX_TYPE) {
        s_merge (self, type, len, NULL, &self->found);
        return &self->found;
    }
    char key [ZEB_EVENT_MAX_TYPE + 1];
    memcpy (key, type, len);
    key [len] = 0;
    s_list_t *merged = (s_list_t *) zhashx_lookup (self->merged, key);
    if (merged)
        return merged;
    if (zhashx_size (self->merged) >= S_MERGED_MAX) {
        s_merge (self, type, len, key, &self->found);
        return &self->found;
    }
    merged = (s_list_t *) zmalloc (sizeof (s_list_t));
    assert (merged);
    s_merge (self, type, len, key, merged);
    zhashx_insert (self->merged, key, merged);
    return merged;
}

size_t
zeb_ruleset_candidates (zeb_ruleset_t *self, const char *type, size_t len,
                        zeb_rule_t **out, size_t max)
{
    assert (self);
    assert (type || len == 0);
    assert (out || max == 0);
    const s_list_t *found = s_lookup (self, type, len);
    for (size_t index = 0; index < found->count && index < max; index++)
        out [index] = found->items [index].rule;
    return found->count;
}

size_t
zeb_ruleset_match (zeb_ruleset_t *self, const zeb_event_view_t *event, zeb_rule_t **out, size_t max)
{
    assert (self);
    assert (event);
    assert (out || max == 0);
    zeb_str_t type = event->attr [ZEB_ATTR_TYPE];
    const s_list_t *found = s_lookup (self, type.ptr? type.ptr: "", type.ptr? type.len: 0);
    size_t matches = 0;
    zeb_rule_index_build (&self->index, event);
    self->index.generation++;       //  every memo is stale
    for (size_t index = 0; index < found->count; index++) {
        zeb_rule_t *rule = found->items [index].rule;
        //  Candidates are scattered in memory: ask for the next ones'
        //  rule and first condition while this one is evaluated
        if (index + 4 < found->count)
            __builtin_prefetch (found->items [index + 4].rule);
        if (index + 2 < found->count && found->items [index + 2].rule->conds)
            __builtin_prefetch (found->items [index + 2].rule->conds);
        if (zeb_rule_match_indexed (rule, event, &self->index)) {
            if (matches < max)
                out [matches] = rule;
            matches++;
        }
    }
    self->stats.events++;
    self->stats.candidates += found->count;
    self->stats.matches += matches;
    return matches;
}

void
zeb_ruleset_stats (zeb_ruleset_t *self, zeb_ruleset_stats_t *stats)
{
    assert (self);
    assert (stats);
    *stats = self->stats;
}

//  ---------------------------------------------------------------------
//  Self test

static zeb_rule_t *
s_test_rule (const char *id, const char *trigger, int64_t priority, bool enabled, const char *condition)
{
    char text [1024];
    snprintf (text, sizeof (text), "{\"id\":\"%s\",\"triggerEventType\":\"%s\",\"priority\":%" PRId64 ","
              "\"enabled\":%s,\"triggerConditions\":[%s],\"actions\":[{\"type\":\"log\"}]}",
              id, trigger, priority, enabled? "true": "false", condition? condition: "");
    zeb_fault_t fault;
    zeb_rule_t *rule = zeb_rule_new (text, strlen (text), &fault);
    if (!rule)
        fprintf (stderr, "%s: %s\n", text, fault.text);
    assert (rule);
    return rule;
}

static void
s_test_put (zeb_ruleset_t *self, const char *id, const char *trigger, int64_t priority, bool enabled,
            const char *condition)
{
    zeb_rule_t *rule = s_test_rule (id, trigger, priority, enabled, condition);
    int rc = zeb_ruleset_put (self, &rule);
    assert (rc == 0 && !rule);
}

//  The ids of the candidates of a type, or of the matches of an event,
//  joined by spaces
static const char *
s_test_ids (zeb_ruleset_t *self, const char *type, zeb_event_view_t *event, char *text, size_t size)
{
    zeb_rule_t *rules [64];
    size_t count = event? zeb_ruleset_match (self, event, rules, 64)
                        : zeb_ruleset_candidates (self, type, type? strlen (type): 0, rules, 64);
    assert (count <= 64);
    text [0] = 0;
    for (size_t index = 0; index < count; index++) {
        size_t len = strlen (text);
        snprintf (text + len, size - len, "%s%s", index? " ": "", zeb_rule_id (rules [index]));
    }
    return text;
}

static int
s_test_collect (zeb_rule_t *rule, void *arg)
{
    char *text = (char *) arg;
    size_t len = strlen (text);
    snprintf (text + len, 256 - len, "%s%s", len? " ": "", zeb_rule_id (rule));
    return streq (zeb_rule_id (rule), "stop")? 7: 0;
}

void
zeb_ruleset_test (bool verbose)
{
    printf (" * zeb_ruleset: ");
    char ids [512];
    //  Merged candidates are kept per type up to S_MERGED_MAX types; past
    //  that, and across changes, every type still gets its own
    zeb_ruleset_t *many = zeb_ruleset_new ();
    s_test_put (many, "any", "*", 0, true, NULL);
    s_test_put (many, "t7", "many.t7", 0, true, NULL);
    for (int round = 0; round < 2; round++) {
        for (int index = 0; index < S_MERGED_MAX + 100; index++) {
            char type [32];
            snprintf (type, sizeof (type), "many.t%d", index);
            zeb_rule_t *found [4];
            size_t count = zeb_ruleset_candidates (many, type, strlen (type), found, 4);
            assert (count == (index == 7 || (round == 1 && index == S_MERGED_MAX + 50)? 2u: 1u));
        }
        char late [32];
        snprintf (late, sizeof (late), "many.t%d", S_MERGED_MAX + 50);
        s_test_put (many, "late", late, 1, true, NULL);
    }
    zeb_ruleset_destroy (&many);

    zeb_ruleset_t *self = zeb_ruleset_new ();
    assert (zeb_ruleset_size (self) == 0);
    assert (streq (s_test_ids (self, "order.placed", NULL, ids, sizeof (ids)), ""));
    s_test_put (self, "exact", "order.placed", 0, true, NULL);
    s_test_put (self, "prefix", "order.*", 5, true, NULL);
    s_test_put (self, "all", "*", 0, true, NULL);
    s_test_put (self, "other", "user.created", 0, true, NULL);
    s_test_put (self, "off", "order.placed", 100, false, NULL);
    s_test_put (self, "b-tie", "order.placed", 5, true, NULL);
    s_test_put (self, "a-tie", "order.placed", 5, true, NULL);
    s_test_put (self, "cond", "order.placed", 0, true, "{\"field\":\"data.n\",\"operator\":\"gt\",\"value\":10}");
    s_test_put (self, "low", "o*", -1, true, NULL);
    s_test_put (self, "whole", "order.placed*", -2, true, NULL);
    s_test_put (self, "longer", "order.placedX*", 9, true, NULL);
    s_test_put (self, "beside", "ordex*", 9, true, NULL);
    assert (zeb_ruleset_size (self) == 12 && zeb_ruleset_enabled (self) == 11);
    //  Exact, prefixes along the type and "*", by priority then id;
    //  the disabled rule is not a candidate
    const char *expected = "a-tie b-tie prefix all cond exact low whole";
    s_test_ids (self, "order.placed", NULL, ids, sizeof (ids));
    if (verbose || !streq (ids, expected))
        fprintf (stderr, "candidates: %s\n", ids);
    assert (streq (ids, expected));
    assert (streq (s_test_ids (self, "user.created", NULL, ids, sizeof (ids)), "all other"));
    assert (streq (s_test_ids (self, "nothing.here", NULL, ids, sizeof (ids)), "all"));
    assert (streq (s_test_ids (self, "order.placedX", NULL, ids, sizeof (ids)), "longer prefix all low whole"));
    //  Matching: the conditions decide among the candidates
    zeb_event_t *event = zeb_event_new ("order.placed");
    zeb_event_set (event, "source", "test");
    zeb_event_set_data_json (event, "{\"n\":1}", NULL);
    assert (streq (s_test_ids (self, NULL, zeb_event_view (event), ids, sizeof (ids)),
                   "a-tie b-tie prefix all exact low whole"));
    zeb_event_set_data_json (event, "{\"n\":11}", NULL);
    assert (streq (s_test_ids (self, NULL, zeb_event_view (event), ids, sizeof (ids)),
                   "a-tie b-tie prefix all cond exact low whole"));
    zeb_rule_t *few [2];
    assert (zeb_ruleset_match (self, zeb_event_view (event), few, 2) == 8);
    assert (streq (zeb_rule_id (few [0]), "a-tie") && streq (zeb_rule_id (few [1]), "b-tie"));
    zeb_ruleset_stats_t stats;
    zeb_ruleset_stats (self, &stats);
    assert (stats.events == 3 && stats.candidates == 24 && stats.matches == 23);
    //  Enabled, it comes first; a replacement by put moves the rule
    assert (zeb_ruleset_enable (self, "off", true) == 0);
    assert (zeb_ruleset_enable (self, "nope", true) == -1);
    assert (zeb_rule_enabled (zeb_ruleset_lookup (self, "off")));
    s_test_put (self, "exact", "user.created", 0, true, NULL);
    assert (zeb_ruleset_size (self) == 12);
    assert (streq (s_test_ids (self, "order.placed", NULL, ids, sizeof (ids)),
                   "off a-tie b-tie prefix all cond low whole"));
    assert (streq (s_test_ids (self, "user.created", NULL, ids, sizeof (ids)), "all exact other"));
    assert (zeb_ruleset_remove (self, "all") == 0);
    assert (zeb_ruleset_remove (self, "all") == -1);
    assert (!zeb_ruleset_lookup (self, "all"));
    assert (streq (s_test_ids (self, "user.created", NULL, ids, sizeof (ids)), "exact other"));
    //  A rule without an id is refused and stays the caller's
    const char *text = "{\"triggerEventType\":\"*\",\"actions\":[{\"type\":\"log\"}]}";
    zeb_rule_t *anonymous = zeb_rule_new (text, strlen (text), NULL);
    assert (anonymous);
    assert (zeb_ruleset_put (self, &anonymous) == -1 && anonymous);
    zeb_rule_destroy (&anonymous);
    //  Every rule in id order, and fn's answer stops the walk
    char each [256] = "";
    assert (zeb_ruleset_each (self, s_test_collect, each) == 0);
    assert (streq (each, "a-tie b-tie beside cond exact longer low off other prefix whole"));
    s_test_put (self, "stop", "*", 0, false, NULL);
    each [0] = 0;
    assert (zeb_ruleset_each (self, s_test_collect, each) == 7);
    assert (streq (each, "a-tie b-tie beside cond exact longer low off other prefix stop"));

    //  A copy shares nothing: changing one leaves the other
    zeb_ruleset_t *copy = zeb_ruleset_dup (self);
    assert (zeb_ruleset_size (copy) == zeb_ruleset_size (self));
    assert (zeb_ruleset_lookup (copy, "off") != zeb_ruleset_lookup (self, "off"));
    assert (zeb_rule_enabled (zeb_ruleset_lookup (copy, "off")));
    assert (!zeb_rule_enabled (zeb_ruleset_lookup (copy, "stop")));
    zeb_ruleset_remove (self, "off");
    zeb_ruleset_enable (self, "a-tie", false);
    assert (streq (s_test_ids (copy, "order.placed", NULL, ids, sizeof (ids)),
                   "off a-tie b-tie prefix cond low whole"));
    assert (streq (s_test_ids (self, "order.placed", NULL, ids, sizeof (ids)), "b-tie prefix cond low whole"));
    zeb_ruleset_stats (copy, &stats);
    assert (stats.events == 0);
    zeb_ruleset_destroy (&copy);
    zeb_event_destroy (&event);
    zeb_ruleset_destroy (&self);
    zeb_ruleset_destroy (&self);            //  safe twice

    //  10,000 rules over 100 types: an event costs its type's rules only
    self = zeb_ruleset_new ();
    for (int index = 0; index < 10000; index++) {
        char id [32], type [32];
        snprintf (id, sizeof (id), "r-%05d", index);
        snprintf (type, sizeof (type), "t%d.created", index % 100);
        s_test_put (self, id, type, index % 7, true, "{\"field\":\"data.n\",\"operator\":\"eq\",\"value\":1}");
    }
    s_test_put (self, "p-7", "t7.*", 0, true, NULL);
    s_test_put (self, "p-1", "t1*", 0, true, NULL);     //  t1., t10. to t19.
    s_test_put (self, "star", "*", 0, true, "{\"field\":\"data.n\",\"operator\":\"eq\",\"value\":2}");
    event = zeb_event_new ("t7.created");
    zeb_event_set (event, "source", "test");
    zeb_event_set_data_json (event, "{\"n\":1}", NULL);
    zeb_rule_t *out [8];
    assert (zeb_ruleset_match (self, zeb_event_view (event), out, 8) == 101);
    zeb_ruleset_stats (self, &stats);
    assert (stats.events == 1 && stats.candidates == 102 && stats.matches == 101);
    //  Highest priority first (6), ids ascending among them
    assert (zeb_rule_priority (out [0]) == 6 && zeb_rule_priority (out [7]) == 6);
    assert (strcmp (zeb_rule_id (out [0]), zeb_rule_id (out [1])) < 0);
    zeb_event_destroy (&event);
    event = zeb_event_new ("t13.created");
    zeb_event_set (event, "source", "test");
    zeb_event_set_data_json (event, "{\"n\":2}", NULL);
    assert (zeb_ruleset_match (self, zeb_event_view (event), out, 8) == 2);     //  p-1, star
    zeb_ruleset_stats (self, &stats);
    assert (stats.events == 2 && stats.candidates == 102 + 102 && stats.matches == 103);
    zeb_event_destroy (&event);
    zeb_ruleset_destroy (&self);
    printf ("OK\n");
}
