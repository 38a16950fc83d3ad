/*  =========================================================================
    zeb_schema_fast - the fast walk: "valid" for the schemas most events have

    Ingest validates every event on its own thread, and nearly all events
    are valid. This walk takes schemas made of the keywords most schemas
    are made of: type, properties, required, additionalProperties,
    min/maxProperties, prefixItems, items, min/maxItems, min/maxLength,
    pattern, asserted formats, the number bounds, multipleOf, enum and
    const. It reads the msgpack bytes once, by their tag bytes, finds
    each property by a hash of its name (one comparison, as a rule), and
    keeps no path, no eval bits and no chain counters: it has no message
    to write, since it only ever answers "valid". Anything else (a value
    that fails, malformed bytes, a keyword it does not take) makes it
    answer "cannot tell", and the full walk (zeb_schema_validate.c) runs
    from the start and gives the answer and the error. So a failure costs
    both walks, and the full walk alone decides every invalid instance.

    A schema the walk takes is a tree (no $ref, no combinators), so each
    value is visited by at most one node: the steps it counts are the full
    walk's, and data nested past max_depth is left to the full walk.
    =========================================================================
*/

#include "zeb_classes.h"
#include "zeb_schema_private.h"
#include <math.h>

#define S_SEEDS             64      //  hash multipliers tried for a table

enum { S_UNSEEN, S_SEEING, S_FAST, S_SLOW };

//  A slot's "required" bit for a property that is not required: one past
//  the 256 names "required" may have, in a word of its own, so that every
//  property sets a bit without a branch
#define S_NOT_REQUIRED      256

//  A node's keywords, as its bits in checks: one test skips all those absent
#define S_CHECK_SIZE        (1 << 0)    //  min/maxProperties, min/maxItems
#define S_CHECK_PREFIX      (1 << 1)    //  prefixItems
#define S_CHECK_ELSEWHERE   (1 << 2)    //  "required" names not in "properties"
#define S_CHECK_CONSTANT    (1 << 3)    //  enum, const
#define S_CHECK_STRING      (1 << 4)    //  min/maxLength, pattern, an asserted format
#define S_CHECK_NUMBER      (1 << 5)    //  the bounds, multipleOf

//  ---------------------------------------------------------------------
//  Names by hash

//  A name's first 8 bytes, zero-padded, as one word; end bounds the
//  buffer the name is in (a full word is read when it lies within)
static inline uint64_t
s_head_word (const uint8_t *name, uint32_t len, const uint8_t *end)
{
    uint64_t word = 0;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (end - name >= 8) {
        memcpy (&word, name, 8);
        return len >= 8? word: word & ((1ULL << (len * 8)) - 1);
    }
#endif
    memcpy (&word, name, len < 8? len: 8);
    return word;
}

//  Its last 8 bytes if it has more than 8, else 0
static inline uint64_t
s_tail_word (const uint8_t *name, uint32_t len)
{
    uint64_t word = 0;
    if (len > 8)
        memcpy (&word, name + len - 8, 8);
    return word;
}

static inline uint32_t
s_slot (const s_node_t *node, uint64_t head, uint64_t tail, uint32_t len)
{
    uint64_t mixed = head ^ (tail * 0xC2B2AE3D27D4EB4FULL) ^ len;
    return (uint32_t) ((mixed * node->slot_seed) >> node->slot_shift);
}

//  A schema of scalar types and nothing else: its types, which the walk
//  checks by the tag byte of the value, without reading the node
static uint8_t
s_leaf (const s_node_t *node)
{
    unsigned scalars = ZEB_MPK_JSON_NULL | ZEB_MPK_JSON_BOOLEAN | ZEB_MPK_JSON_INTEGER
                     | ZEB_MPK_JSON_NUMBER | ZEB_MPK_JSON_STRING;
    bool leaf = !node->always && node->fast == S_FAST && !node->checks && node->types
             && !(node->types & ~scalars);
    return leaf? (uint8_t) node->types: 0;
}

//  Lay the properties out by hash, with the multiplier that leaves fewest
//  collisions (linear probing takes the rest, so any is correct)
static size_t
s_lay_out (s_node_t *node, size_t size)
{
    memset (node->slots, 0, size * sizeof (zeb_schema_slot_t));
    size_t collisions = 0;
    for (size_t index = 0; index < node->property_count; index++) {
        s_property_t *property = &node->properties [index];
        const uint8_t *name = (const uint8_t *) property->name;
        uint32_t len = (uint32_t) property->len;
        zeb_schema_slot_t entry = {
            s_head_word (name, len, name + len), s_tail_word (name, len), property->schema,
            (uint16_t) len, (uint16_t) (property->required < 0? S_NOT_REQUIRED: property->required),
            (uint16_t) index, s_leaf (property->schema)
        };
        uint32_t slot = s_slot (node, entry.head, entry.tail, len);
        for (; node->slots [slot].schema; slot = (slot + 1) & (uint32_t) (size - 1))
            collisions++;
        node->slots [slot] = entry;
    }
    return collisions;
}

static void
s_prepare_slots (s_node_t *node)
{
    uint32_t bits = 2;              //  a table at most half full
    while ((1u << bits) < 2 * node->property_count)
        bits++;
    size_t size = (size_t) 1 << bits;
    node->slots = (zeb_schema_slot_t *) zmalloc (size * sizeof (zeb_schema_slot_t));
    node->slot_shift = 64 - bits;
    size_t best = SIZE_MAX;
    uint64_t best_seed = 0;
    for (uint64_t attempt = 0; attempt < S_SEEDS && best; attempt++) {
        node->slot_seed = (0x9E3779B97F4A7C15ULL + attempt * 0xD6E8FEB86659FD93ULL) | 1;
        size_t collisions = s_lay_out (node, size);
        if (collisions < best) {
            best = collisions;
            best_seed = node->slot_seed;
        }
    }
    node->slot_seed = best_seed;
    s_lay_out (node, size);
}

static inline bool
s_same (const uint8_t *a, const char *b, uint32_t len)
{
    for (uint32_t index = 0; index < len; index++)
        if (a [index] != (uint8_t) b [index])
            return false;
    return true;
}

//  The property named so (a name within a buffer ending at end), or NULL
static inline const zeb_schema_slot_t *
s_find (const s_node_t *node, const uint8_t *name, uint32_t len, const uint8_t *end)
{
    uint64_t head = s_head_word (name, len, end), tail = s_tail_word (name, len);
    uint32_t mask = (uint32_t) (~0ULL >> node->slot_shift);
    for (uint32_t slot = s_slot (node, head, tail, len); node->slots [slot].schema;
         slot = (slot + 1) & mask) {
        const zeb_schema_slot_t *entry = &node->slots [slot];
        if (entry->head == head && entry->tail == tail && entry->len == len
        &&  (len <= 16 || memcmp (name + 8, node->properties [entry->index].name + 8, len - 16) == 0))
            return entry;
    }
    return NULL;
}

//  ---------------------------------------------------------------------
//  Preparing

//  The enum's strings, compared by length and bytes on the walk
static void
s_prepare_enum (s_node_t *node)
{
    zeb_mpk_t values;
    zeb_mpk_init (&values, node->enum_values, node->enum_size);
    uint32_t count = 0;
    if (zeb_mpk_read_array (&values, &count))
        return;
    node->enum_strings = (s_name_t *) zmalloc ((count? count: 1) * sizeof (s_name_t));
    for (uint32_t index = 0; index < count; index++) {
        const char *text;
        uint32_t len;
        if (zeb_mpk_read_str (&values, &text, &len) == 0)
            node->enum_strings [node->enum_string_count++] = (s_name_t) { text, len };
        else {
            node->enum_others = true;
            if (zeb_mpk_skip (&values, NULL, NULL))
                break;
        }
    }
}

static bool
    s_prepare_node (s_node_t *node);

static bool
s_prepare_list (s_list_t *list)
{
    for (size_t index = 0; index < list->count; index++)
        if (!s_prepare_node (list->nodes [index]))
            return false;
    return true;
}

//  Whether the fast walk takes node and every schema below it
static bool
s_prepare_node (s_node_t *node)
{
    if (node->always)
        return true;
    if (node->fast != S_UNSEEN)
        return node->fast == S_FAST;
    node->fast = S_SEEING;          //  met again below: a cycle, not a tree
    bool fast = !node->in_place && !node->tracks && !node->ref && !node->dynamic_ref
             && !node->pattern_property_count && !node->property_names
             && !node->dependent_required_count && !node->dependent_schema_count
             && !node->contains && !node->unique_items && node->property_count <= UINT16_MAX;
    for (size_t index = 0; fast && index < node->property_count; index++)
        fast = node->properties [index].len <= UINT16_MAX
            && s_prepare_node (node->properties [index].schema);
    fast = fast && (!node->additional || s_prepare_node (node->additional))
        && (!node->items || s_prepare_node (node->items)) && s_prepare_list (&node->prefix_items);
    if (fast) {
        if (node->property_count)
            s_prepare_slots (node);
        for (size_t index = 0; index < node->required_count; index++) {
            const s_name_t *name = &node->required [index];
            if (!node->slots || !s_find (node, (const uint8_t *) name->name, (uint32_t) name->len,
                                         (const uint8_t *) name->name + name->len))
                node->checks |= S_CHECK_ELSEWHERE;
        }
        if (node->enum_values)
            s_prepare_enum (node);
        node->checks |= (node->min_properties >= 0 || node->max_properties >= 0
                         || node->min_items >= 0 || node->max_items >= 0? S_CHECK_SIZE: 0)
                      | (node->prefix_items.count? S_CHECK_PREFIX: 0)
                      | (node->enum_values || node->const_value? S_CHECK_CONSTANT: 0)
                      | (node->min_length >= 0 || node->max_length >= 0 || node->pattern.code
                         || node->format? S_CHECK_STRING: 0)
                      | (node->minimum.set || node->maximum.set || node->exclusive_minimum.set
                         || node->exclusive_maximum.set || node->multiple_of.set? S_CHECK_NUMBER: 0);
        node->required_all = (uint32_t) node->required_count;
        node->fast_additional = node->additional;
        node->fast_items = node->items;
        node->items_leaf = node->items? s_leaf (node->items): 0;
    }
    node->fast = fast? S_FAST: S_SLOW;
    return fast;
}

void
zeb_schema_fast_prepare (zeb_schema_t *self)
{
    assert (self);
    self->fast = !self->dynamic && self->root && s_prepare_node (self->root);
}

void
zeb_schema_fast_free (zeb_schema_node_t *node)
{
    free (node->slots);
    free (node->enum_strings);
    node->slots = NULL;
    node->enum_strings = NULL;
}

//  ---------------------------------------------------------------------
//  Walking

typedef struct {
    const uint8_t *end;
    size_t max_depth;
    size_t steps;
} s_walk_t;

//  A value's header, by its tag byte
typedef struct {
    unsigned type;                  //  ZEB_MPK_JSON_* bits, as zeb_mpk_type_of
    uint32_t count;                 //  string bytes, array items, map entries
    const uint8_t *body;            //  past the header (a scalar: past the value)
    zeb_mpk_number_t number;
} s_head_t;

static inline uint64_t
s_be (const uint8_t *p, size_t bytes)
{
    uint64_t value = 0;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (bytes == 8) {
        memcpy (&value, p, 8);
        return __builtin_bswap64 (value);
    }
    if (bytes == 4) {
        uint32_t word;
        memcpy (&word, p, 4);
        return __builtin_bswap32 (word);
    }
#endif
    for (size_t index = 0; index < bytes; index++)
        value = value << 8 | p [index];
    return value;
}

//  Read the header at p; false if it is truncated, malformed or not JSON
//  (bin, ext): the full walk will say what it is
static inline __attribute__ ((always_inline)) bool
s_head (const uint8_t *p, const uint8_t *end, s_head_t *head)
{
    if (p >= end)
        return false;
    uint8_t tag = *p++;
    size_t avail = (size_t) (end - p);
    size_t bytes = 0;               //  of a length or a number after the tag
    head->count = 0;
    if (tag <= 0x7f) {
        head->type = ZEB_MPK_JSON_INTEGER | ZEB_MPK_JSON_NUMBER;
        head->number = (zeb_mpk_number_t) { .kind = ZEB_MPK_NUMBER_UINT, .u = tag };
        head->body = p;
        return true;
    }
    if (tag >= 0xa0 && tag <= 0xbf) {
        head->type = ZEB_MPK_JSON_STRING;
        head->count = tag & 0x1f;
        head->body = p;
        return head->count <= avail;
    }
    if (tag <= 0x9f) {
        head->type = tag <= 0x8f? ZEB_MPK_JSON_OBJECT: ZEB_MPK_JSON_ARRAY;
        head->count = tag & 0x0f;
        head->body = p;
        return (uint64_t) head->count * (tag <= 0x8f? 2: 1) <= avail;
    }
    if (tag >= 0xe0) {
        head->type = ZEB_MPK_JSON_INTEGER | ZEB_MPK_JSON_NUMBER;
        head->number = (zeb_mpk_number_t) { .kind = ZEB_MPK_NUMBER_INT, .i = (int8_t) tag };
        head->body = p;
        return true;
    }
    switch (tag) {
        case 0xc0:
            head->type = ZEB_MPK_JSON_NULL;
            head->body = p;
            return true;
        case 0xc2:
        case 0xc3:
            head->type = ZEB_MPK_JSON_BOOLEAN;
            head->body = p;
            return true;
        case 0xca:
        case 0xcb: {
            bytes = tag == 0xca? 4: 8;
            if (avail < bytes)
                return false;
            uint64_t bits = s_be (p, bytes);
            double value;
            if (bytes == 4) {
                float single;
                uint32_t half = (uint32_t) bits;
                memcpy (&single, &half, 4);
                value = single;
            }
            else
                memcpy (&value, &bits, 8);
            //  INTEGER too if it has no fraction: asked only where it matters
            head->type = ZEB_MPK_JSON_NUMBER;
            head->number = (zeb_mpk_number_t) { .kind = ZEB_MPK_NUMBER_FLOAT, .f = value };
            head->body = p + bytes;
            return true;
        }
        case 0xcc: case 0xcd: case 0xce: case 0xcf:
            bytes = (size_t) 1 << (tag - 0xcc);
            if (avail < bytes)
                return false;
            head->type = ZEB_MPK_JSON_INTEGER | ZEB_MPK_JSON_NUMBER;
            head->number = (zeb_mpk_number_t) { .kind = ZEB_MPK_NUMBER_UINT, .u = s_be (p, bytes) };
            head->body = p + bytes;
            return true;
        case 0xd0: case 0xd1: case 0xd2: case 0xd3: {
            bytes = (size_t) 1 << (tag - 0xd0);
            if (avail < bytes)
                return false;
            uint64_t raw = s_be (p, bytes);
            int64_t value = bytes == 1? (int8_t) raw: bytes == 2? (int16_t) raw
                          : bytes == 4? (int32_t) raw: (int64_t) raw;
            head->type = ZEB_MPK_JSON_INTEGER | ZEB_MPK_JSON_NUMBER;
            head->number = value < 0? (zeb_mpk_number_t) { .kind = ZEB_MPK_NUMBER_INT, .i = value }
                                    : (zeb_mpk_number_t) { .kind = ZEB_MPK_NUMBER_UINT, .u = (uint64_t) value };
            head->body = p + bytes;
            return true;
        }
        case 0xd9: case 0xda: case 0xdb:
            bytes = (size_t) 1 << (tag - 0xd9);
            head->type = ZEB_MPK_JSON_STRING;
            break;
        case 0xdc: case 0xdd:
            bytes = tag == 0xdc? 2: 4;
            head->type = ZEB_MPK_JSON_ARRAY;
            break;
        case 0xde: case 0xdf:
            bytes = tag == 0xde? 2: 4;
            head->type = ZEB_MPK_JSON_OBJECT;
            break;
        default:
            return false;
    }
    if (avail < bytes)
        return false;
    head->count = (uint32_t) s_be (p, bytes);
    head->body = p + bytes;
    avail -= bytes;
    return (uint64_t) head->count * (head->type == ZEB_MPK_JSON_OBJECT? 2: 1) <= avail;
}

//  Past one value the walk does not check, if it is well-formed
static inline bool
s_skip (const uint8_t **at, const uint8_t *end)
{
    zeb_mpk_t reader = { *at, end };
    if (zeb_mpk_skip (&reader, NULL, NULL))
        return false;
    *at = reader.ptr;
    return true;
}

static inline bool
    s_value (const s_node_t *node, const uint8_t **at, s_walk_t *walk, size_t depth);

//  A count within bounds, -1 being none
static inline bool
s_within (uint64_t count, int64_t min, int64_t max)
{
    return (min < 0 || count >= (uint64_t) min) && (max < 0 || count <= (uint64_t) max);
}

//  A value of one of the types (a leaf's) by its tag byte, *at then past
//  it; false, *at unmoved, if it is not or the tag does not tell (a
//  float, for instance, is left to s_value)
static inline bool
s_leaf_value (uint8_t types, const uint8_t **at, s_walk_t *walk)
{
    const uint8_t *p = *at;
    if (p >= walk->end)
        return false;
    uint8_t tag = *p;
    size_t size;                    //  of the whole value
    unsigned type;
    if (tag >= 0xa0 && tag <= 0xbf) {
        type = ZEB_MPK_JSON_STRING;
        size = 1 + (tag & 0x1f);
    }
    else
    if (tag <= 0x7f || tag >= 0xe0) {
        type = ZEB_MPK_JSON_INTEGER | ZEB_MPK_JSON_NUMBER;
        size = 1;
    }
    else
    if (tag == 0xc2 || tag == 0xc3 || tag == 0xc0) {
        type = tag == 0xc0? ZEB_MPK_JSON_NULL: ZEB_MPK_JSON_BOOLEAN;
        size = 1;
    }
    else
    if (tag == 0xd9 && walk->end - p >= 2) {
        type = ZEB_MPK_JSON_STRING;
        size = 2 + (size_t) p [1];
    }
    else
        return false;
    if (!(type & types) || size > (size_t) (walk->end - p))
        return false;
    *at = p + size;
    return true;
}

//  The keywords of each kind are out of line: s_value, inlined into the
//  loops over properties and items, stays small for the scalars most
//  values are, with no call for those that have no keywords of their kind
static bool __attribute__ ((noinline))
s_object (const s_node_t *node, const s_head_t *head, const uint8_t **at, s_walk_t *walk,
          size_t depth)
{
    uint32_t count = head->count;
    uint64_t seen [5] = { 0 };      //  "required" has at most 256 names, then S_NOT_REQUIRED
    const uint8_t *p = head->body;
    for (uint32_t entry = 0; entry < count; entry++) {
        s_head_t key;
        if (p < walk->end && (*p & 0xe0) == 0xa0) {
            key.count = *p & 0x1f;  //  a short name, as most are
            key.body = p + 1;
            if (key.count > (size_t) (walk->end - key.body))
                return false;
        }
        else
        if (!s_head (p, walk->end, &key) || key.type != ZEB_MPK_JSON_STRING)
            return false;
        p = key.body + key.count;
        const zeb_schema_slot_t *property = node->slots? s_find (node, key.body, key.count, walk->end)
                                                      : NULL;
        unsigned required = property? property->required: S_NOT_REQUIRED;
        if (!property && (node->checks & S_CHECK_ELSEWHERE)) {
            s_name_t probe = { (const char *) key.body, key.count };
            s_name_t *found = (s_name_t *) bsearch (&probe, node->required, node->required_count,
                                                    sizeof (s_name_t), zeb_schema_compare_name);
            required = found? (unsigned) (found - node->required): S_NOT_REQUIRED;
        }
        seen [required / 64] |= 1ULL << (required % 64);
        if (property && property->leaf && depth < walk->max_depth && s_leaf_value (property->leaf, &p, walk)) {
            walk->steps++;
            continue;
        }
        s_node_t *schema = property? property->schema: node->fast_additional;
        if (schema? !s_value (schema, &p, walk, depth + 1): !s_skip (&p, walk->end))
            return false;
    }
    for (size_t word = 0; word * 64 < node->required_all; word++) {
        size_t left = node->required_all - word * 64;
        uint64_t all = left >= 64? ~0ULL: (1ULL << left) - 1;
        if (seen [word] != all)
            return false;
    }
    *at = p;
    return true;
}

static bool __attribute__ ((noinline))
s_array (const s_node_t *node, const s_head_t *head, const uint8_t **at, s_walk_t *walk,
         size_t depth)
{
    uint32_t count = head->count;
    const uint8_t *p = head->body;
    for (uint32_t index = 0; index < count; index++) {
        bool prefix = (node->checks & S_CHECK_PREFIX) && index < node->prefix_items.count;
        if (!prefix && node->items_leaf && depth < walk->max_depth
        &&  s_leaf_value (node->items_leaf, &p, walk)) {
            walk->steps++;
            continue;
        }
        s_node_t *schema = prefix? node->prefix_items.nodes [index]: node->fast_items;
        if (schema? !s_value (schema, &p, walk, depth + 1): !s_skip (&p, walk->end))
            return false;
    }
    *at = p;
    return true;
}

//  Whether text is ASCII, a word at a time
static inline bool
s_ascii (const char *text, uint32_t len)
{
    uint64_t high = 0;
    uint32_t index = 0;
    for (; index + 8 <= len; index += 8) {
        uint64_t word;
        memcpy (&word, text + index, 8);
        high |= word;
    }
    for (; index < len; index++)
        high |= (uint8_t) text [index];
    return (high & 0x8080808080808080ULL) == 0;
}

static bool __attribute__ ((noinline))
s_string (const s_node_t *node, const s_head_t *head)
{
    const char *text = (const char *) head->body;
    uint32_t len = head->count;
    //  A string has from len / 4 to len code points: most need no count
    bool short_enough = node->max_length < 0 || len <= (uint64_t) node->max_length;
    bool long_enough = node->min_length < 0 || len / 4 >= (uint64_t) node->min_length;
    if (!short_enough || !long_enough) {
        size_t points = 0;
        for (uint32_t index = 0; index < len; index++)
            points += ((uint8_t) text [index] & 0xC0) != 0x80;
        if (!s_within (points, node->min_length, node->max_length))
            return false;
    }
    if (node->pattern.code) {
        //  pcre2_jit_match skips pcre2_match's checks, the UTF-8 one too:
        //  text that is not UTF-8 is left to the full walk
        const zeb_schema_pattern_t *pattern = &node->pattern;
        int rc = pattern->jit
               ? (s_ascii (text, len) || zeb_mpk_utf8_valid (text, len)
                  ? pcre2_jit_match (pattern->code, (PCRE2_SPTR) text, len, 0, 0, pattern->match, NULL)
                  : -1)
               : pcre2_match (pattern->code, (PCRE2_SPTR) text, len, 0, 0, pattern->match, NULL);
        if (rc < 0)
            return false;
    }
    return !node->format || zeb_schema_format_check (node->format, text, len);
}

//  zeb_mpk_compare_numbers, inline where both are integers, or a float and
//  an integer a double holds exactly (|b| <= 2^53), as bounds mostly are
static inline zeb_mpk_order_t
s_compare (zeb_mpk_number_t a, zeb_mpk_number_t b)
{
    if (a.kind != ZEB_MPK_NUMBER_FLOAT && b.kind != ZEB_MPK_NUMBER_FLOAT) {
        bool a_negative = a.kind == ZEB_MPK_NUMBER_INT && a.i < 0;
        bool b_negative = b.kind == ZEB_MPK_NUMBER_INT && b.i < 0;
        if (a_negative != b_negative)
            return a_negative? ZEB_MPK_LESS: ZEB_MPK_GREATER;
        if (a_negative)
            return a.i < b.i? ZEB_MPK_LESS: a.i > b.i? ZEB_MPK_GREATER: ZEB_MPK_EQUAL;
        uint64_t x = a.kind == ZEB_MPK_NUMBER_UINT? a.u: (uint64_t) a.i;
        uint64_t y = b.kind == ZEB_MPK_NUMBER_UINT? b.u: (uint64_t) b.i;
        return x < y? ZEB_MPK_LESS: x > y? ZEB_MPK_GREATER: ZEB_MPK_EQUAL;
    }
    if (a.kind == ZEB_MPK_NUMBER_FLOAT && b.kind != ZEB_MPK_NUMBER_FLOAT
    &&  (b.kind == ZEB_MPK_NUMBER_UINT? b.u <= (1ULL << 53)
                                      : b.i >= -(1LL << 53) && b.i <= (1LL << 53))) {
        double bound = b.kind == ZEB_MPK_NUMBER_UINT? (double) b.u: (double) b.i;
        return a.f < bound? ZEB_MPK_LESS: a.f > bound? ZEB_MPK_GREATER
             : a.f == bound? ZEB_MPK_EQUAL: ZEB_MPK_UNORDERED;
    }
    return zeb_mpk_compare_numbers (a, b);
}

static bool __attribute__ ((noinline))
s_number (const s_node_t *node, zeb_mpk_number_t value)
{
    zeb_mpk_order_t order;
    if (node->minimum.set
    &&  (order = s_compare (value, node->minimum.number)) != ZEB_MPK_GREATER && order != ZEB_MPK_EQUAL)
        return false;
    if (node->maximum.set
    &&  (order = s_compare (value, node->maximum.number)) != ZEB_MPK_LESS && order != ZEB_MPK_EQUAL)
        return false;
    if (node->exclusive_minimum.set && s_compare (value, node->exclusive_minimum.number) != ZEB_MPK_GREATER)
        return false;
    if (node->exclusive_maximum.set && s_compare (value, node->exclusive_maximum.number) != ZEB_MPK_LESS)
        return false;
    if (!node->multiple_of.set)
        return true;
    //  A float against a divisor with a fraction: decimals, whatever the value
    if (value.kind == ZEB_MPK_NUMBER_FLOAT && node->multiple_decimal.exponent < 0)
        return zeb_schema_double_multiple (value.f, node->multiple_decimal);
    return zeb_schema_number_multiple (value, node->multiple_of.number, node->multiple_decimal);
}

//  const and enum, on the whole value at start
static bool __attribute__ ((noinline))
s_constant (const s_node_t *node, const uint8_t *start, const s_head_t *head, s_walk_t *walk)
{
    zeb_mpk_t value = { start, walk->end }, copy = value;
    bool string = head->type == ZEB_MPK_JSON_STRING;
    if ((node->const_value || (node->enum_values && (!string || !node->enum_strings)))
    &&  zeb_mpk_skip (&copy, NULL, NULL))
        return false;
    if (node->const_value) {
        zeb_mpk_t constant;
        zeb_mpk_init (&constant, node->const_value, node->const_size);
        if (!zeb_mpk_equal (&value, &constant))
            return false;
    }
    if (!node->enum_values)
        return true;
    if (string && node->enum_strings) {
        for (size_t index = 0; index < node->enum_string_count; index++)
            if (node->enum_strings [index].len == head->count
            &&  s_same (head->body, node->enum_strings [index].name, head->count))
                return true;
        return false;               //  a string equals only a string
    }
    if (node->enum_strings && !node->enum_others)
        return false;
    zeb_mpk_t values;
    zeb_mpk_init (&values, node->enum_values, node->enum_size);
    uint32_t count = 0;
    zeb_mpk_read_array (&values, &count);
    for (uint32_t index = 0; index < count; index++) {
        if (zeb_mpk_equal (&value, &values))
            return true;
        if (zeb_mpk_skip (&values, NULL, NULL))
            break;
    }
    return false;
}

//  A float with no fractional part, which JSON Schema counts as an integer
static inline bool
s_integral_float (const s_head_t *head)
{
    return head->type == ZEB_MPK_JSON_NUMBER && head->number.kind == ZEB_MPK_NUMBER_FLOAT
        && isfinite (head->number.f)
        && head->number.f == floor (head->number.f);
}

//  Whether the value at *at is valid against node, *at then past it
static inline __attribute__ ((always_inline)) bool
s_value (const s_node_t *node, const uint8_t **at, s_walk_t *walk, size_t depth)
{
    if (depth > walk->max_depth)
        return false;
    if (node->always)
        return node->always > 0 && s_skip (at, walk->end);
    walk->steps++;
    s_head_t head;
    if (!s_head (*at, walk->end, &head))
        return false;
    if (node->types && !(head.type & node->types)
    &&  !((node->types & ZEB_MPK_JSON_INTEGER) && s_integral_float (&head)))
        return false;
    unsigned checks = node->checks;
    if ((checks & S_CHECK_CONSTANT) && !s_constant (node, *at, &head, walk))
        return false;
    switch (head.type) {
        case ZEB_MPK_JSON_OBJECT:
            return (!(checks & S_CHECK_SIZE)
                    || s_within (head.count, node->min_properties, node->max_properties))
                && s_object (node, &head, at, walk, depth);
        case ZEB_MPK_JSON_ARRAY:
            return (!(checks & S_CHECK_SIZE) || s_within (head.count, node->min_items, node->max_items))
                && s_array (node, &head, at, walk, depth);
        case ZEB_MPK_JSON_STRING:
            *at = head.body + head.count;
            return !(checks & S_CHECK_STRING) || s_string (node, &head);
        case ZEB_MPK_JSON_NULL:
        case ZEB_MPK_JSON_BOOLEAN:
            *at = head.body;
            return true;
        default:
            *at = head.body;
            return !(checks & S_CHECK_NUMBER) || s_number (node, head.number);
    }
}

bool
zeb_schema_fast_valid (zeb_schema_t *self, const void *data, size_t size)
{
    assert (self);
    if (!self->fast)
        return false;
    const uint8_t *at = (const uint8_t *) data;
    s_walk_t walk = { at + size, self->max_depth, 0 };
    //  The budget is at least ZEB_SCHEMA_STEPS_MIN: most walks need not ask
    if (!s_value (self->root, &at, &walk, 0) || at != walk.end
    ||  (walk.steps > ZEB_SCHEMA_STEPS_MIN && walk.steps > zeb_schema_budget (self, size)))
        return false;
    self->steps = walk.steps;
    return true;
}
