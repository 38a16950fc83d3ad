/*  =========================================================================
    zeb_rule_int - the compiled form of a rule, private to zeb_rule.c,
    zeb_rule_render.c (templates) and zeb_rule_check.c (schema checks)

    Not installed, not included by zeb_actors.h: only those three files
    (and the rule's self test) see these structures.
    =========================================================================
*/

#ifndef ZEB_RULE_INT_H_INCLUDED
#define ZEB_RULE_INT_H_INCLUDED

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#define ZEB_RULE_MAX_STEPS      32      //  segments of one field path
#define ZEB_RULE_MAX_PATH_TEXT  1024    //  bytes of a field path as written
#define ZEB_RULE_MAX_TYPE       63      //  bytes of an action's type
#define ZEB_RULE_MAX_ID         255     //  bytes of a rule's id
#define ZEB_RULE_MATCH_LIMIT    100000  //  PCRE2 match limit of "matches"
#define ZEB_RULE_DEPTH_LIMIT    10000   //  PCRE2 backtracking depth limit

//  Where a path starts
typedef enum {
    ZEB_RULE_ROOT_DATA = 0,             //  the event's data (data., payload.)
    ZEB_RULE_ROOT_ELEMENT,              //  the element of a quantifier
    ZEB_RULE_ROOT_ATTR,                 //  a string attribute (attr)
    ZEB_RULE_ROOT_EXT,                  //  an extension (ext, ext_len)
    ZEB_RULE_ROOT_TIME,                 //  ms since the epoch
    ZEB_RULE_ROOT_SEQUENCE              //  the log's sequence (absent while 0)
} zeb_rule_root_t;

//  A compiled field path: a root and steps into msgpack below it. Step
//  names point into the path's own storage: short paths (the most) keep
//  steps and names inline, beside the condition that uses them, so that
//  matching touches fewer cache lines; a compiled path must not move.
//  An index step has name NULL.
#define ZEB_RULE_INLINE_STEPS   2
#define ZEB_RULE_INLINE_NAMES   24

typedef struct {
    zeb_rule_root_t root;
    int attr;                           //  ZEB_RULE_ROOT_ATTR: a zeb_attr_t
    uint32_t slot;                      //  its memo in a ruleset (1..), or 0
    size_t count;
    zeb_schema_step_t *steps;           //  inline_steps, or a block of their own
    zeb_schema_step_t inline_steps [ZEB_RULE_INLINE_STEPS];
    char inline_names [ZEB_RULE_INLINE_NAMES];
    char *ext;                          //  ZEB_RULE_ROOT_EXT: its name
    size_t ext_len;
    char *names;                        //  while compiling
    char *text;                         //  as written
} zeb_rule_path_t;

//  What a path found in an event: a JSON kind, and where it lives
typedef enum {
    ZEB_RULE_MISSING = 0,
    ZEB_RULE_NULL,
    ZEB_RULE_BOOL,
    ZEB_RULE_NUMBER,
    ZEB_RULE_STRING,
    ZEB_RULE_ARRAY,
    ZEB_RULE_OBJECT,
    ZEB_RULE_OTHER                      //  bin, ext: no JSON kind
} zeb_rule_kind_t;

typedef struct {
    zeb_rule_kind_t kind;
    bool boolean;
    bool is_time;                       //  the event's time: RFC 3339 in text
    bool has_mpk;                       //  mpk is at the value (else an attribute,
                                        //  the time or the sequence)
    zeb_mpk_number_t number;
    const char *str;                    //  a string's bytes (not terminated)
    size_t len;
    zeb_mpk_t mpk;
} zeb_rule_value_t;

typedef enum {
    ZEB_RULE_OP_EQ = 0,
    ZEB_RULE_OP_NEQ,
    ZEB_RULE_OP_GT,
    ZEB_RULE_OP_GTE,
    ZEB_RULE_OP_LT,
    ZEB_RULE_OP_LTE,
    ZEB_RULE_OP_CONTAINS,
    ZEB_RULE_OP_STARTS_WITH,
    ZEB_RULE_OP_ENDS_WITH,
    ZEB_RULE_OP_MATCHES,
    ZEB_RULE_OP_EXISTS,
    ZEB_RULE_OP_IN,
    ZEB_RULE_OP_ANY,                    //  quantifiers: children over elements
    ZEB_RULE_OP_ALL
} zeb_rule_op_t;

typedef struct _zeb_rule_cond_t zeb_rule_cond_t;

struct _zeb_rule_cond_t {
    //  What matching reads, first
    zeb_rule_op_t op;
    bool ignore_case;
    bool exists;                        //  exists: the value asked for
    zeb_rule_path_t path;
    zeb_rule_value_t operand;           //  value, classified
    uint8_t inline_value [32];          //  value, when it is this short
    pcre2_code *regex;
    zeb_rule_cond_t *children;          //  quantifiers: ANDed per element
    size_t child_count;
    //  For explain and checks
    char *where;                        //  in the rule: "triggerConditions[2]"
    uint8_t *value;                     //  msgpack of the operand as compared
    size_t value_size;                  //  (time strings become ms), or NULL;
                                        //  inline_value if it fits (the operand's
                                        //  bytes beside the condition)
    uint8_t *shown;                     //  as written, if it differs; or NULL
    size_t shown_size;
};

typedef struct {
    char *where;                        //  "any[1]"
    zeb_rule_cond_t *conds;
    size_t count;
} zeb_rule_group_t;

//  A template string: literal text and paths, in order
typedef struct {
    char *literal;                      //  NULL for a path
    size_t len;
    zeb_rule_path_t path;
} zeb_rule_segment_t;

//  An action's config as a sequence of pieces whose concatenation is its
//  msgpack: raw bytes (headers, keys, values without templates), a whole
//  value (a string that is one template) or a text of segments
typedef enum {
    ZEB_RULE_PIECE_RAW = 0,
    ZEB_RULE_PIECE_WHOLE,
    ZEB_RULE_PIECE_TEXT
} zeb_rule_piece_kind_t;

typedef struct {
    zeb_rule_piece_kind_t kind;
    char *where;                        //  "actions[0].config.url"
    uint8_t *raw;
    size_t raw_size;
    zeb_rule_segment_t *segments;       //  WHOLE: one path; TEXT: several
    size_t segment_count;
} zeb_rule_piece_t;

typedef struct {
    char *type;
    zeb_rule_piece_t *pieces;
    size_t piece_count;
    bool templated;                     //  else config is pieces [0].raw
    uint8_t *retry;                     //  msgpack of retryPolicy, or NULL
    size_t retry_size;
} zeb_rule_action_t;

//  The top-level keys of one event's data, found in one pass, so that the
//  many conditions a ruleset evaluates on the event do not each walk the
//  map again (zeb_ruleset_match builds it once per event)
#define ZEB_RULE_INDEX_MAX      32

typedef struct {
    const char *key;
    uint32_t len;
    const uint8_t *value;
} zeb_rule_entry_t;

//  A path resolved once per event, for every rule of a ruleset that names
//  it: the ruleset numbers the distinct paths of its rules (path->slot)
typedef struct {
    uint64_t generation;                //  the event it was resolved for
    zeb_rule_value_t value;
} zeb_rule_memo_t;

typedef struct {
    const uint8_t *data;                //  the event's data indexed, or NULL
    const uint8_t *end;
    bool complete;                      //  every key is in entries
    size_t count;
    zeb_rule_entry_t entries [ZEB_RULE_INDEX_MAX];
    zeb_rule_memo_t *memo;              //  by slot - 1, or NULL
    size_t memo_size;
    uint64_t generation;                //  of this event, never 0
} zeb_rule_index_t;

typedef enum {
    ZEB_RULE_TRIGGER_EXACT = 0,
    ZEB_RULE_TRIGGER_PREFIX,
    ZEB_RULE_TRIGGER_ALL
} zeb_rule_trigger_kind_t;

struct _zeb_rule_t {
    //  What matching reads, first
    zeb_rule_cond_t *conds;             //  triggerConditions, ANDed
    size_t cond_count;
    zeb_rule_group_t *groups;           //  any: one must hold
    size_t group_count;
    const zeb_rule_index_t *index;      //  of the event being matched, or NULL
    pcre2_match_data *match;            //  shared by the rule's regexes
    pcre2_match_context *context;       //  the match limits
    //  The rest
    json_t *json;                       //  the rule as given, with id and enabled as set
    char *text;                         //  its compact text, or NULL when stale
    char *id;
    char *name;
    char *trigger;
    size_t trigger_len;                 //  PREFIX: the prefix's length
    zeb_rule_trigger_kind_t trigger_kind;
    bool enabled;
    bool continue_on_error;
    int64_t priority;
    zeb_rule_action_t *actions;
    size_t action_count;
    msgpack_sbuffer scratch;            //  a rendered config
    char *line;                         //  a rendered text, grown as needed
    size_t line_size;
    size_t line_max;
};

//  Bytes equal: short ones compared inline, where a call to memcmp costs
//  more than the comparison (keys, enum-like values)
static inline bool
zeb_rule_same (const void *a, const void *b, size_t len)
{
    if (len > 16)
        return memcmp (a, b, len) == 0;
    const uint8_t *x = (const uint8_t *) a, *y = (const uint8_t *) b;
    for (size_t index = 0; index < len; index++)
        if (x [index] != y [index])
            return false;
    return true;
}

//  Compile a path written as text into path. relative: a quantifier's
//  element path ("sku", "[0].price", "." for the element itself);
//  templated: "event.NAME" is allowed. Returns 0, or -1 with a sentence
//  in error.
int
    zeb_rule_path_compile (zeb_rule_path_t *path, const char *text, size_t len,
                           bool relative, bool templated, char *error, size_t size);

//  Free what a compiled path holds (the struct itself is the caller's).
void
    zeb_rule_path_free (zeb_rule_path_t *path);

//  Resolve a path in an event (element: the quantifier's element, or
//  NULL; index: of the event's data, or NULL). Allocates nothing; value
//  is MISSING if the path leads nowhere.
void
    zeb_rule_resolve (const zeb_rule_path_t *path, const zeb_event_view_t *event,
                      const zeb_mpk_t *element, const zeb_rule_index_t *index,
                      zeb_rule_value_t *value);

//  Number the distinct paths of the rule's conditions in slots (text ->
//  slot, grown as needed; *count the slots so far), for memos.
void
    zeb_rule_number_paths (zeb_rule_t *self, zhashx_t *slots, uint32_t *count);

//  Index the top-level keys of an event's data.
void
    zeb_rule_index_build (zeb_rule_index_t *index, const zeb_event_view_t *event);

//  zeb_rule_match with the index of the event's data (built for it).
bool
    zeb_rule_match_indexed (zeb_rule_t *self, const zeb_event_view_t *event,
                            const zeb_rule_index_t *index);

//  Classify the msgpack value at reader (which does not move).
void
    zeb_rule_classify (const zeb_mpk_t *reader, zeb_rule_value_t *value);

//  Write a value found into pack as it was (nil if missing; the time as
//  ms), as the value of key.
void
    zeb_rule_value_pack (const zeb_rule_value_t *value, zeb_pack_t *pack, const char *key);

//  Compile the actions (zeb_rule_render.c): writes the fault naming the
//  path of a mistake; returns 0 or ZEB_EINVALID.
int
    zeb_rule_actions_compile (zeb_rule_t *self, json_t *actions, zeb_fault_t *fault);

//  Free the compiled actions.
void
    zeb_rule_actions_free (zeb_rule_t *self);

#endif
