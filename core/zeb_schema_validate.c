/*  =========================================================================
    zeb_schema_validate - an instance against a compiled schema, over msgpack

    The walk reads the msgpack value once, in place, with no heap
    allocation unless the schema uses unevaluatedProperties or
    unevaluatedItems: only those need to know which properties and items
    the other keywords evaluated, and only nodes that have them (and the
    subschemas they apply to the same value) collect it, in a set of bits
    per value. Every other schema pays nothing for them.
    =========================================================================
*/

#include "zeb_classes.h"
#include "zeb_schema_private.h"
#include <math.h>

#define S_MAX_PATH      128         //  segments of a path a failure can name
#define S_MAX_REQUIRED  256         //  names in one "required" (zeb_schema.c refuses more)
#define S_MAX_CHAIN     256         //  schemas applied to one value, nested
#define S_MAX_NESTING   4096        //  schemas applied, nested, in all: the C stack
#define S_MAX_SCOPE     64          //  resources of the dynamic scope looked through

//  ---------------------------------------------------------------------
//  Validating

//  Where validation is in the instance: a stack of segments, rendered
//  as a JSON Pointer only when a failure is recorded
typedef struct {
    const char *key;                //  property name, or NULL for an index
    uint32_t len;                   //  name length, or the array index
} s_segment_t;

typedef struct {
    zeb_schema_error_t *error;
    s_segment_t segments [S_MAX_PATH];
    size_t depth_of_path;
    int quiet;                      //  inside anyOf/oneOf/not: failures are expected
    int nesting;                    //  schemas applied, nested
    int chain;                      //  of them, to the value at hand
    size_t max_depth;               //  of the data
    bool dynamic;                   //  track the dynamic scope
    const zeb_schema_resource_t **scope;        //  S_MAX_SCOPE of them
    size_t scope_depth;             //  may pass S_MAX_SCOPE; only the first are kept
    size_t steps;                   //  schemas applied and items compared so far
    size_t budget;                  //  steps allowed
    bool failed;                    //  an error was recorded
    bool malformed;                 //  the bytes are not msgpack
    bool exhausted;                 //  the budget ran out: the answer is unknown
} s_context_t;

static void
s_render_path (s_context_t *context, char *path, size_t size)
{
    size_t len = 0;
    path [0] = 0;
    size_t levels = context->depth_of_path;
    if (levels > sizeof (context->segments) / sizeof (context->segments [0]))
        levels = sizeof (context->segments) / sizeof (context->segments [0]);
    for (size_t level = 0; level < levels && len + 4 < size; level++) {
        s_segment_t *segment = &context->segments [level];
        path [len++] = '/';
        if (!segment->key) {
            len += (size_t) snprintf (path + len, size - len, "%u", segment->len);
            continue;
        }
        for (uint32_t index = 0; index < segment->len && len + 3 < size; index++) {
            char c = segment->key [index];
            if (c == '~' || c == '/') {
                path [len++] = '~';
                path [len++] = c == '~'? '0': '1';
            }
            else
                path [len++] = c;
        }
    }
    path [len < size? len: size - 1] = 0;
}

static bool
s_fail (s_context_t *context, const char *keyword, const char *format, ...) CHECK_PRINTF (3);

static bool
s_fail (s_context_t *context, const char *keyword, const char *format, ...)
{
    if (context->quiet || context->failed || !context->error)
        return false;
    context->failed = true;
    zeb_schema_error_t *error = context->error;
    s_render_path (context, error->path, sizeof (error->path));
    snprintf (error->keyword, sizeof (error->keyword), "%s", keyword);
    va_list args;
    va_start (args, format);
    vsnprintf (error->message, sizeof (error->message), format, args);
    va_end (args);
    return false;
}

//  The budget ran out: say so whatever else was recorded, quiet or not,
//  and fail every step from here, so that the walk unwinds at once
static bool __attribute__ ((cold, noinline))
s_exhaust (s_context_t *context)
{
    if (!context->exhausted && context->error) {
        zeb_schema_error_t *error = context->error;
        s_render_path (context, error->path, sizeof (error->path));
        snprintf (error->keyword, sizeof (error->keyword), "budget");
        snprintf (error->message, sizeof (error->message),
                  "checking needs more than %zu steps, the limit for this schema and data size",
                  context->budget);
    }
    context->exhausted = true;
    context->failed = true;
    return false;
}

//  One more step; false, taking none, once the budget is spent (and on
//  every call after that)
static inline bool
s_step (s_context_t *context)
{
    if (context->steps == context->budget)
        return s_exhaust (context);
    context->steps++;
    return true;
}

//  Step into a property or an item; s_pop steps out
static void
s_push (s_context_t *context, const char *key, uint32_t len)
{
    //  Deeper than the stack: the depth limit fails validation before long
    if (context->depth_of_path < sizeof (context->segments) / sizeof (context->segments [0]))
        context->segments [context->depth_of_path] = (s_segment_t) { key, len };
    context->depth_of_path++;
}

static void
s_pop (s_context_t *context)
{
    context->depth_of_path--;
}

//  A number for a message: integers in full, others short
static const char *
s_show (zeb_mpk_number_t number, char *text, size_t size)
{
    if (number.kind == ZEB_MPK_NUMBER_INT)
        snprintf (text, size, "%lld", (long long) number.i);
    else
    if (number.kind == ZEB_MPK_NUMBER_UINT)
        snprintf (text, size, "%llu", (unsigned long long) number.u);
    else
    if (number.f == floor (number.f) && fabs (number.f) < 1e19)
        snprintf (text, size, "%.0f", number.f);
    else
        snprintf (text, size, "%.15g", number.f);
    return text;
}

//  ---------------------------------------------------------------------
//  What was evaluated: a bit per property (by its position in the map) or
//  item of one value, kept only where unevaluated* needs it. NULL in
//  every call where no one asks.

#define S_INLINE_BITS   256

typedef struct {
    uint64_t *bits;                 //  NULL until the value's size is known
    uint32_t count;
    uint64_t inline_bits [S_INLINE_BITS / 64];
} s_eval_t;

static void
s_eval_init (s_eval_t *eval)
{
    eval->bits = NULL;
    eval->count = 0;
}

static void
s_eval_free (s_eval_t *eval)
{
    if (eval->bits != eval->inline_bits)
        free (eval->bits);
    eval->bits = NULL;
}

//  Ready for a value of count children
static void
s_eval_size (s_eval_t *eval, uint32_t count)
{
    if (eval->bits)
        return;
    eval->count = count;
    size_t words = ((size_t) count + 63) / 64;
    if (count <= S_INLINE_BITS) {
        eval->bits = eval->inline_bits;
        memset (eval->bits, 0, words * 8);
    }
    else
        eval->bits = (uint64_t *) zmalloc (words * 8);
}

static inline void
s_eval_set (s_eval_t *eval, uint32_t index)
{
    if (eval && eval->bits && index < eval->count)
        eval->bits [index / 64] |= 1ULL << (index % 64);
}

static bool
s_eval_get (const s_eval_t *eval, uint32_t index)
{
    return eval->bits && index < eval->count && (eval->bits [index / 64] & (1ULL << (index % 64)));
}

static void
s_eval_merge (s_eval_t *into, const s_eval_t *from)
{
    if (!into || !from->bits)
        return;
    s_eval_size (into, from->count);
    for (size_t word = 0; word < ((size_t) from->count + 63) / 64 && word * 64 < into->count; word++)
        into->bits [word] |= from->bits [word];
}

//  ---------------------------------------------------------------------
//  Keywords

static size_t
s_code_points (const char *text, uint32_t len)
{
    size_t count = 0;
    for (uint32_t index = 0; index < len; index++)
        count += ((uint8_t) text [index] & 0xC0) != 0x80;
    return count;
}

//  Validate the value at the reader. On success the reader has moved past
//  the value; on failure its position is undefined. Every value is read
//  once, in place, by the walk that checks it. eval, if not NULL,
//  collects the properties or items that were evaluated.
static bool
    s_validate (s_node_t *node, zeb_mpk_t *reader, s_context_t *context, s_eval_t *eval);

static bool
s_malformed (s_context_t *context)
{
    context->malformed = true;
    return s_fail (context, "type", "the data is not well-formed msgpack");
}

//  A property's or item's value, one level down in the data
static bool
s_validate_child (s_node_t *schema, zeb_mpk_t *reader, s_context_t *context,
                  const char *key, uint32_t len)
{
    s_push (context, key, len);
    int chain = context->chain;
    context->chain = 0;
    bool valid = context->depth_of_path > context->max_depth
        ? s_fail (context, "depth", "data nests deeper than %zu levels", context->max_depth)
        : s_validate (schema, reader, context, NULL);
    context->chain = chain;
    s_pop (context);
    return valid;
}

static bool
s_matches (const zeb_schema_pattern_t *pattern, const char *text, uint32_t len)
{
    return pcre2_match (pattern->code, (PCRE2_SPTR) text, len, 0, 0, pattern->match, NULL) >= 0;
}

//  The patternProperties whose patterns match key, applied to the value
//  at start; *matched says whether any did
static bool
s_validate_patterns (s_node_t *node, const char *key, uint32_t key_len, const zeb_mpk_t *start,
                     s_context_t *context, bool *matched)
{
    for (size_t index = 0; index < node->pattern_property_count; index++) {
        zeb_schema_pattern_property_t *pattern = &node->pattern_properties [index];
        if (!s_matches (&pattern->pattern, key, key_len))
            continue;
        *matched = true;
        zeb_mpk_t value = *start;
        if (!s_validate_child (pattern->schema, &value, context, key, key_len))
            return false;
    }
    return true;
}

//  propertyNames: the key, a string, against a schema
static bool
s_validate_name (s_node_t *node, const zeb_mpk_t *key_start, const char *key, uint32_t key_len,
                 s_context_t *context)
{
    zeb_mpk_t name = *key_start;
    context->quiet++;
    bool valid = s_validate (node->property_names, &name, context, NULL);
    context->quiet--;
    if (!valid)
        return s_fail (context, "propertyNames", "property name '%.*s' is not allowed",
                       (int) (key_len > 64? 64: key_len), key);
    return true;
}

//  One entry of an object: the schemas that apply to its value
static bool
s_validate_entry (s_node_t *node, zeb_mpk_t *reader, s_context_t *context, s_eval_t *eval,
                  uint32_t entry, uint64_t *seen)
{
    zeb_mpk_t key_start = *reader;
    const char *key;
    uint32_t key_len;
    if (zeb_mpk_read_str (reader, &key, &key_len)) {
        if (zeb_mpk_skip (reader, NULL, NULL))
            return s_malformed (context);
        return s_fail (context, "type", "object keys must be strings");
    }
    if (node->property_names && !s_validate_name (node, &key_start, key, key_len, context))
        return false;
    s_property_t probe_property = { key, key_len, NULL, -1 };
    s_property_t *property = node->property_count
        ? (s_property_t *) bsearch (&probe_property, node->properties, node->property_count,
                                    sizeof (s_property_t), zeb_schema_compare_property)
        : NULL;
    //  Required: known for properties; looked up for other names
    int required = property? property->required: -1;
    if (!property && node->required_count) {
        s_name_t probe = { key, key_len };
        s_name_t *found = (s_name_t *) bsearch (&probe, node->required, node->required_count,
                                                sizeof (s_name_t), zeb_schema_compare_name);
        required = found? (int) (found - node->required): -1;
    }
    if (required >= 0)
        seen [required / 64] |= 1ULL << (required % 64);
    bool matched = property != NULL;
    if (node->pattern_property_count
    &&  !s_validate_patterns (node, key, key_len, reader, context, &matched))
        return false;
    s_node_t *schema = property? property->schema: matched? NULL: node->additional;
    if (matched || schema)
        s_eval_set (eval, entry);
    if (!schema)
        return zeb_mpk_skip (reader, NULL, NULL) == 0 || s_malformed (context);
    if (!property && schema->always < 0) {
        s_push (context, key, key_len);
        s_fail (context, "additionalProperties", "property '%.*s' is not allowed",
                (int) (key_len > 64? 64: key_len), key);
        s_pop (context);
        return false;
    }
    return s_validate_child (schema, reader, context, key, key_len);
}

//  Whether the object at start has a property name
static bool
s_has_property (const zeb_mpk_t *start, const char *name, size_t len)
{
    zeb_mpk_t reader = *start;
    uint32_t count;
    if (zeb_mpk_read_map (&reader, &count))
        return false;
    for (uint32_t entry = 0; entry < count; entry++) {
        const char *key;
        uint32_t key_len;
        if (zeb_mpk_read_str (&reader, &key, &key_len) == 0 && key_len == len
        &&  memcmp (key, name, len) == 0)
            return true;
        if (zeb_mpk_skip (&reader, NULL, NULL))
            return false;
    }
    return false;
}

static bool
s_validate_dependent_required (s_node_t *node, const zeb_mpk_t *start, s_context_t *context)
{
    for (size_t index = 0; index < node->dependent_required_count; index++) {
        zeb_schema_dependency_t *dependency = &node->dependent_required [index];
        if (!s_has_property (start, dependency->name, dependency->len))
            continue;
        for (size_t name = 0; name < dependency->count; name++)
            if (!s_has_property (start, dependency->names [name].name, dependency->names [name].len))
                return s_fail (context, "dependentRequired", "property '%.64s' is required "
                               "with '%.64s'", dependency->names [name].name, dependency->name);
    }
    return true;
}

//  minProperties and maxProperties, or minItems and maxItems (what is
//  "Properties" or "Items"); -1 is no bound
static inline bool
s_check_size (s_context_t *context, uint32_t count, int64_t min, int64_t max, const char *what)
{
    if ((min < 0 || count >= (uint64_t) min) && (max < 0 || count <= (uint64_t) max))
        return true;
    char keyword [16];
    if (min >= 0 && count < (uint64_t) min) {
        snprintf (keyword, sizeof (keyword), "min%s", what);
        return s_fail (context, keyword, "at least %lld %s expected, %u found", (long long) min,
                       streq (what, "Items")? "items": "properties", count);
    }
    if (max >= 0 && count > (uint64_t) max) {
        snprintf (keyword, sizeof (keyword), "max%s", what);
        return s_fail (context, keyword, "at most %lld %s expected, %u found", (long long) max,
                       streq (what, "Items")? "items": "properties", count);
    }
    return true;
}

static bool
s_validate_object (s_node_t *node, zeb_mpk_t *reader, s_context_t *context, s_eval_t *eval)
{
    zeb_mpk_t start = *reader;
    uint32_t count;
    if (zeb_mpk_read_map (reader, &count))
        return s_malformed (context);
    if (!s_check_size (context, count, node->min_properties, node->max_properties, "Properties"))
        return false;
    if (eval)
        s_eval_size (eval, count);
    uint64_t seen [S_MAX_REQUIRED / 64] = { 0 };
    for (uint32_t entry = 0; entry < count; entry++)
        if (!s_validate_entry (node, reader, context, eval, entry, seen))
            return false;
    for (size_t index = 0; index < node->required_count; index++)
        if (!(seen [index / 64] & (1ULL << (index % 64))))
            return s_fail (context, "required", "property '%.*s' is required",
                           (int) (node->required [index].len > 64? 64: node->required [index].len),
                           node->required [index].name);
    if (node->dependent_required_count && !s_validate_dependent_required (node, &start, context))
        return false;
    return true;
}

//  contains, minContains, maxContains: counts the items that match,
//  marking them evaluated
static bool
s_validate_contains (s_node_t *node, const zeb_mpk_t *items, uint32_t count, s_context_t *context,
                     s_eval_t *eval)
{
    zeb_mpk_t reader = *items;
    uint64_t matched = 0;
    context->quiet++;
    for (uint32_t index = 0; index < count; index++) {
        zeb_mpk_t item = reader;
        if (s_validate_child (node->contains, &item, context, NULL, index)) {
            matched++;
            s_eval_set (eval, index);
        }
        if (context->exhausted || zeb_mpk_skip (&reader, NULL, NULL))
            break;
    }
    context->quiet--;
    if (matched < (uint64_t) node->min_contains)
        return node->min_contains == 1
            ? s_fail (context, "contains", "no item matches the schema under 'contains'")
            : s_fail (context, "minContains", "at least %lld items must match 'contains', %llu do",
                      (long long) node->min_contains, (unsigned long long) matched);
    if (node->max_contains >= 0 && matched > (uint64_t) node->max_contains)
        return s_fail (context, "maxContains", "at most %lld items may match 'contains', %llu do",
                       (long long) node->max_contains, (unsigned long long) matched);
    return true;
}

static bool
s_validate_unique (const zeb_mpk_t *start, uint32_t count, s_context_t *context)
{
    //  Pairwise, reading in place: no allocation
    zeb_mpk_t outer = *start;
    for (uint32_t index = 0; index < count; index++) {
        zeb_mpk_t item = outer;
        zeb_mpk_skip (&outer, NULL, NULL);
        zeb_mpk_t inner = outer;
        for (uint32_t other = index + 1; other < count; other++) {
            if (!s_step (context))
                return false;
            if (zeb_mpk_equal (&item, &inner))
                return s_fail (context, "uniqueItems", "items %u and %u are equal", index, other);
            zeb_mpk_skip (&inner, NULL, NULL);
        }
    }
    return true;
}

static bool
s_validate_array (s_node_t *node, zeb_mpk_t *reader, s_context_t *context, s_eval_t *eval)
{
    uint32_t count;
    if (zeb_mpk_read_array (reader, &count))
        return s_malformed (context);
    if (!s_check_size (context, count, node->min_items, node->max_items, "Items"))
        return false;
    if (eval)
        s_eval_size (eval, count);
    zeb_mpk_t start = *reader;
    for (uint32_t index = 0; index < count; index++) {
        s_node_t *schema = index < node->prefix_items.count? node->prefix_items.nodes [index]: node->items;
        if (!schema) {
            if (zeb_mpk_skip (reader, NULL, NULL))
                return s_malformed (context);
            continue;
        }
        s_eval_set (eval, index);
        if (!s_validate_child (schema, reader, context, NULL, index))
            return false;
    }
    if (node->contains && !s_validate_contains (node, &start, count, context, eval))
        return false;
    if (node->unique_items && !s_validate_unique (&start, count, context))
        return false;
    return true;
}

static bool
s_validate_string (s_node_t *node, zeb_mpk_t *reader, s_context_t *context)
{
    const char *text;
    uint32_t len;
    if (zeb_mpk_read_str (reader, &text, &len))
        return s_malformed (context);
    if (node->min_length >= 0 || node->max_length >= 0) {
        size_t points = s_code_points (text, len);
        if (node->min_length >= 0 && points < (uint64_t) node->min_length)
            return s_fail (context, "minLength", "at least %lld characters expected, %zu found",
                           (long long) node->min_length, points);
        if (node->max_length >= 0 && points > (uint64_t) node->max_length)
            return s_fail (context, "maxLength", "at most %lld characters expected, %zu found",
                           (long long) node->max_length, points);
    }
    if (node->pattern.code && !s_matches (&node->pattern, text, len))
        return s_fail (context, "pattern", "does not match '%.100s'", node->pattern.text);
    if (node->format && !zeb_schema_format_check (node->format, text, len))
        return s_fail (context, "format", "not a valid '%s'", zeb_schema_format_name (node->format));
    return true;
}

//  The order of value against a bound; NaN is on no side of any bound
static zeb_mpk_order_t
s_order (zeb_mpk_number_t value, const s_bound_t *bound)
{
    return zeb_mpk_compare_numbers (value, bound->number);
}

static bool
s_validate_number (s_node_t *node, zeb_mpk_t *reader, s_context_t *context)
{
    zeb_mpk_number_t value;
    if (zeb_mpk_read_number (reader, &value))
        return s_malformed (context);
    char text [48];
    zeb_mpk_order_t order;
    if (node->minimum.set
    &&  (order = s_order (value, &node->minimum)) != ZEB_MPK_GREATER && order != ZEB_MPK_EQUAL)
        return s_fail (context, "minimum", "must be at least %s",
                       s_show (node->minimum.number, text, sizeof (text)));
    if (node->maximum.set
    &&  (order = s_order (value, &node->maximum)) != ZEB_MPK_LESS && order != ZEB_MPK_EQUAL)
        return s_fail (context, "maximum", "must be at most %s",
                       s_show (node->maximum.number, text, sizeof (text)));
    if (node->exclusive_minimum.set && s_order (value, &node->exclusive_minimum) != ZEB_MPK_GREATER)
        return s_fail (context, "exclusiveMinimum", "must be greater than %s",
                       s_show (node->exclusive_minimum.number, text, sizeof (text)));
    if (node->exclusive_maximum.set && s_order (value, &node->exclusive_maximum) != ZEB_MPK_LESS)
        return s_fail (context, "exclusiveMaximum", "must be less than %s",
                       s_show (node->exclusive_maximum.number, text, sizeof (text)));
    if (node->multiple_of.set
    &&  !zeb_schema_number_multiple (value, node->multiple_of.number, node->multiple_decimal))
        return s_fail (context, "multipleOf", "must be a multiple of %s",
                       s_show (node->multiple_of.number, text, sizeof (text)));
    return true;
}

//  ---------------------------------------------------------------------
//  Applicators to the same value

//  One subschema on the value at start; with eval, what it evaluated is
//  added only if it matched
static bool
s_try (s_node_t *node, const zeb_mpk_t *start, s_context_t *context, s_eval_t *eval)
{
    zeb_mpk_t reader = *start;
    if (!eval)
        return s_validate (node, &reader, context, NULL);
    s_eval_t mine;
    s_eval_init (&mine);
    bool valid = s_validate (node, &reader, context, &mine);
    if (valid)
        s_eval_merge (eval, &mine);
    s_eval_free (&mine);
    return valid;
}

//  Validate with a list of subschemas, quietly; returns how many matched,
//  stopping once stop_at have (with eval, not before every one is tried
//  unless stop_at is reached: each match's annotations count)
static size_t
s_count_matches (s_list_t *list, const zeb_mpk_t *start, s_context_t *context, size_t stop_at,
                 s_eval_t *eval)
{
    size_t matched = 0;
    context->quiet++;
    for (size_t index = 0; index < list->count && matched < stop_at; index++)
        matched += s_try (list->nodes [index], start, context, eval);
    context->quiet--;
    return matched;
}

//  Validate with every subschema of a list, in order, until one fails.
//  Not quiet: the first failure is recorded as it happens, in this one
//  pass (running the branches again to name the failing one would double
//  the work at every level of nested allOf)
static bool
s_validate_all (s_list_t *list, const zeb_mpk_t *start, s_context_t *context, s_eval_t *eval)
{
    for (size_t index = 0; index < list->count; index++) {
        zeb_mpk_t reader = *start;
        if (!s_validate (list->nodes [index], &reader, context, eval))
            return false;
    }
    return true;
}

static bool
s_is_const (s_node_t *node, const zeb_mpk_t *value)
{
    zeb_mpk_t constant;
    zeb_mpk_init (&constant, node->const_value, node->const_size);
    return zeb_mpk_equal (value, &constant);
}

static bool
s_in_enum (s_node_t *node, const zeb_mpk_t *value)
{
    zeb_mpk_t values;
    zeb_mpk_init (&values, node->enum_values, node->enum_size);
    uint32_t count = 0;
    zeb_mpk_read_array (&values, &count);
    for (uint32_t index = 0; index < count; index++) {
        if (zeb_mpk_equal (value, &values))
            return true;
        if (zeb_mpk_skip (&values, NULL, NULL))
            break;
    }
    return false;
}

//  "$dynamicRef": the outermost resource in the dynamic scope with the
//  anchor, else where it resolved statically
static s_node_t *
s_dynamic_target (s_node_t *node, s_context_t *context)
{
    size_t depth = context->scope_depth < S_MAX_SCOPE? context->scope_depth: S_MAX_SCOPE;
    for (size_t level = 0; level < depth; level++) {
        const zeb_schema_resource_t *resource = context->scope [level];
        for (size_t index = 0; index < resource->anchor_count; index++)
            if (streq (resource->anchors [index].name, node->dynamic_name))
                return resource->anchors [index].schema;
    }
    return node->dynamic_ref;
}

static bool
s_validate_conditional (s_node_t *node, const zeb_mpk_t *start, s_context_t *context, s_eval_t *eval)
{
    context->quiet++;
    bool condition = s_try (node->if_, start, context, eval);
    context->quiet--;
    s_node_t *branch = condition? node->then_: node->else_;
    zeb_mpk_t reader = *start;
    if (branch && !s_validate (branch, &reader, context, eval))
        return s_fail (context, condition? "then": "else", "the value %s 'if', but not '%s'",
                       condition? "matches": "does not match", condition? "then": "else");
    return true;
}

static bool
s_validate_dependent_schemas (s_node_t *node, const zeb_mpk_t *start, s_context_t *context,
                              s_eval_t *eval)
{
    for (size_t index = 0; index < node->dependent_schema_count; index++) {
        s_property_t *dependent = &node->dependent_schemas [index];
        zeb_mpk_t reader = *start;
        if (s_has_property (start, dependent->name, dependent->len)
        &&  !s_validate (dependent->schema, &reader, context, eval))
            return false;
    }
    return true;
}

//  The keywords that apply another schema to the same value
static bool
s_validate_in_place (s_node_t *node, unsigned type, const zeb_mpk_t *start, s_context_t *context,
                     s_eval_t *eval)
{
    zeb_mpk_t reader = *start;
    if (node->ref && !s_validate (node->ref, &reader, context, eval))
        return false;
    reader = *start;
    if (node->dynamic_ref
    &&  !s_validate (node->dynamic_name && context->dynamic? s_dynamic_target (node, context)
                                                           : node->dynamic_ref,
                     &reader, context, eval))
        return false;
    if (node->all_of.count && !s_validate_all (&node->all_of, start, context, eval))
        return false;
    if (node->any_of.count
    &&  s_count_matches (&node->any_of, start, context, eval? SIZE_MAX: 1, eval) == 0)
        return s_fail (context, "anyOf", "matches none of the %zu schemas", node->any_of.count);
    if (node->one_of.count && s_count_matches (&node->one_of, start, context, 2, eval) != 1)
        return s_fail (context, "oneOf", "must match exactly one of the %zu schemas",
                       node->one_of.count);
    if (node->not_ && s_count_matches (&(s_list_t) { &node->not_, 1 }, start, context, 1, NULL))
        return s_fail (context, "not", "must not match the schema under 'not'");
    if (node->if_ && !s_validate_conditional (node, start, context, eval))
        return false;
    if (type == ZEB_MPK_JSON_OBJECT && node->dependent_schema_count
    &&  !s_validate_dependent_schemas (node, start, context, eval))
        return false;
    return true;
}

//  unevaluatedProperties and unevaluatedItems: the schema applied to each
//  property or item nothing else evaluated, which it then evaluates
static bool
s_validate_unevaluated (s_node_t *node, unsigned type, const zeb_mpk_t *start,
                        s_context_t *context, s_eval_t *eval)
{
    s_node_t *schema = type == ZEB_MPK_JSON_OBJECT? node->unevaluated_properties
                     : type == ZEB_MPK_JSON_ARRAY? node->unevaluated_items: NULL;
    if (!schema)
        return true;
    zeb_mpk_t reader = *start;
    uint32_t count;
    if (type == ZEB_MPK_JSON_OBJECT? zeb_mpk_read_map (&reader, &count): zeb_mpk_read_array (&reader, &count))
        return s_malformed (context);
    s_eval_size (eval, count);
    for (uint32_t index = 0; index < count; index++) {
        const char *key = NULL;
        uint32_t key_len = index;
        if (type == ZEB_MPK_JSON_OBJECT && zeb_mpk_read_str (&reader, &key, &key_len))
            return s_malformed (context);
        if (s_eval_get (eval, index)) {
            if (zeb_mpk_skip (&reader, NULL, NULL))
                return s_malformed (context);
            continue;
        }
        if (schema->always < 0) {
            s_push (context, key, key_len);
            s_fail (context, type == ZEB_MPK_JSON_OBJECT? "unevaluatedProperties": "unevaluatedItems",
                    "%s is not evaluated by any other keyword",
                    type == ZEB_MPK_JSON_OBJECT? "the property": "the item");
            s_pop (context);
            return false;
        }
        if (!s_validate_child (schema, &reader, context, key, key_len))
            return false;
        s_eval_set (eval, index);
    }
    return true;
}

//  The keywords of the value's own kind, reading the value
static inline __attribute__ ((always_inline)) bool
s_validate_kind (s_node_t *node, unsigned type, zeb_mpk_t *reader, s_context_t *context,
                 s_eval_t *eval)
{
    if (type == ZEB_MPK_JSON_OBJECT)
        return s_validate_object (node, reader, context, eval);
    if (type == ZEB_MPK_JSON_ARRAY)
        return s_validate_array (node, reader, context, eval);
    if (type == ZEB_MPK_JSON_STRING)
        return s_validate_string (node, reader, context);
    if (type & ZEB_MPK_JSON_NUMBER)
        return s_validate_number (node, reader, context);
    return zeb_mpk_skip (reader, NULL, NULL) == 0 || s_malformed (context);
}

//  A node's keywords on the value; eval as in s_validate
static inline bool
s_validate_node (s_node_t *node, zeb_mpk_t *reader, s_context_t *context, s_eval_t *eval)
{
    zeb_mpk_t start = *reader;
    unsigned type = zeb_mpk_type_of (reader);
    //  const and enum compare the whole value: a malformed one is no match
    if (node->const_value || node->enum_values) {
        zeb_mpk_t copy = start;
        if (zeb_mpk_skip (&copy, NULL, NULL))
            return s_malformed (context);
    }
    char names [80];
    if (node->types && !(type & node->types))
        return s_fail (context, "type", "%s expected", zeb_schema_type_names (node->types, names, sizeof (names)));
    if (node->const_value && !s_is_const (node, &start))
        return s_fail (context, "const", "must be the constant value");
    if (node->enum_values && !s_in_enum (node, &start))
        return s_fail (context, "enum", "must be one of the enumerated values");
    if (!s_validate_kind (node, type, reader, context, eval))
        return false;
    if (node->in_place && !s_validate_in_place (node, type, &start, context, eval))
        return false;
    if (node->tracks && !s_validate_unevaluated (node, type, &start, context, eval))
        return false;
    return true;
}

//  A node that starts a resource enters the dynamic scope
static bool
s_validate_scoped (s_node_t *node, zeb_mpk_t *reader, s_context_t *context, s_eval_t *eval)
{
    bool enter = context->scope_depth == 0
              || (context->scope_depth <= S_MAX_SCOPE
                  && context->scope [context->scope_depth - 1] != node->resource);
    if (enter) {
        if (context->scope_depth < S_MAX_SCOPE)
            context->scope [context->scope_depth] = node->resource;
        context->scope_depth++;
    }
    bool valid = s_validate_node (node, reader, context, eval);
    if (enter)
        context->scope_depth--;
    return valid;
}

//  s_validate for a node that collects what was evaluated, or when the
//  dynamic scope is tracked: off the hot path
static bool __attribute__ ((noinline))
s_validate_tracked (s_node_t *node, zeb_mpk_t *reader, s_context_t *context, s_eval_t *eval)
{
    //  unevaluated* see what this node's keywords evaluated, nothing else
    s_eval_t mine;
    s_eval_t *collect = eval;
    if (node->tracks) {
        s_eval_init (&mine);
        collect = &mine;
    }
    bool valid = context->dynamic? s_validate_scoped (node, reader, context, collect)
                                 : s_validate_node (node, reader, context, collect);
    if (node->tracks) {
        if (valid)
            s_eval_merge (eval, &mine);
        s_eval_free (&mine);
    }
    return valid;
}

static bool
s_validate (s_node_t *node, zeb_mpk_t *reader, s_context_t *context, s_eval_t *eval)
{
    //  A boolean schema is a leaf, its work paid by the step that reached
    //  it; past the budget its answer is ignored
    if (node->always < 0)
        return s_fail (context, "false", "no value is allowed here");
    if (node->always > 0)
        return zeb_mpk_skip (reader, NULL, NULL) == 0 || s_malformed (context);
    if (!s_step (context))
        return false;
    if (context->chain >= S_MAX_CHAIN || context->nesting >= S_MAX_NESTING)
        return s_fail (context, "$ref", "schemas nest deeper than %d levels on one value (%d in all)",
                       S_MAX_CHAIN, S_MAX_NESTING);
    context->chain++;
    context->nesting++;
    bool valid = node->tracks || context->dynamic
               ? s_validate_tracked (node, reader, context, eval)
               : s_validate_node (node, reader, context, eval);
    context->chain--;
    context->nesting--;
    return valid;
}

int
zeb_schema_walk (zeb_schema_t *self, const void *data, size_t size, zeb_schema_error_t *error)
{
    zeb_mpk_t reader;
    zeb_mpk_init (&reader, data, size);
    //  Field by field: the path's segments are written before they are
    //  read, and zeroing them would cost more than many a validation
    const zeb_schema_resource_t *scope [S_MAX_SCOPE];
    s_context_t context;
    context.error = error;
    context.depth_of_path = 0;
    context.quiet = context.nesting = context.chain = 0;
    context.max_depth = self->max_depth;
    context.dynamic = self->dynamic;
    context.scope = scope;
    context.scope_depth = 0;
    context.steps = 0;
    context.budget = zeb_schema_budget (self, size);
    context.failed = context.malformed = context.exhausted = false;
    bool valid = s_validate (self->root, &reader, &context, NULL);
    self->steps = context.steps;
    //  Not one msgpack value: said so whatever the schema thought
    if (context.malformed || (valid && !context.exhausted && !zeb_mpk_done (&reader)))
        return ZEB_EMALFORMED;
    if (!valid || context.exhausted) {
        //  A failure before the walk reached malformed bytes: check them
        zeb_mpk_init (&reader, data, size);
        if (zeb_mpk_skip (&reader, NULL, NULL) || !zeb_mpk_done (&reader))
            return ZEB_EMALFORMED;
        return context.exhausted? ZEB_ESCHEMACOMPLEX: ZEB_ESCHEMA;
    }
    return 0;
}
