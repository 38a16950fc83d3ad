/*  =========================================================================
    zeb_schema - JSON Schema (draft 2020-12) for event payloads, over msgpack
    =========================================================================
*/

#include "zeb_classes.h"
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <math.h>

//  Schemas applied along one path into the data (a $ref and its target
//  are two): a bound on the C stack. Event data nests at most 64 deep and
//  a recursive schema takes two or three levels per level of data.
#define S_MAX_DEPTH     256
#define S_MAX_PATH      128         //  segments of a path a failure can name
#define S_MAX_REQUIRED  256         //  names in one "required"

//  The depth limit alone does not bound the work: a combinator over a
//  $ref can apply the same schemas to the same value again and again,
//  twice as often at each level. So validation also counts its steps (see
//  zeb_schema_budget) and stops when they exceed the budget.

//  JSON types by name, as zeb_mpk_type_of's bits
static const struct {
    const char *name;
    unsigned bit;
} s_types [] = {
    { "null", ZEB_MPK_JSON_NULL }, { "boolean", ZEB_MPK_JSON_BOOLEAN },
    { "integer", ZEB_MPK_JSON_INTEGER }, { "number", ZEB_MPK_JSON_NUMBER },
    { "string", ZEB_MPK_JSON_STRING }, { "array", ZEB_MPK_JSON_ARRAY },
    { "object", ZEB_MPK_JSON_OBJECT }
};

typedef enum {
    S_FORMAT_NONE = 0,
    S_FORMAT_DATE_TIME,
    S_FORMAT_EMAIL,
    S_FORMAT_URI,
    S_FORMAT_UUID
} s_format_t;

typedef struct _s_node_t s_node_t;

typedef struct {
    const char *name;
    size_t len;
    s_node_t *schema;
    int required;                   //  index in the node's "required", or -1
} s_property_t;

typedef struct {
    const char *name;
    size_t len;
} s_name_t;

typedef struct {
    s_node_t **nodes;
    size_t count;
} s_list_t;

//  A limit that may be absent
typedef struct {
    bool set;
    zeb_mpk_number_t number;
} s_bound_t;

struct _s_node_t {
    int always;                     //  boolean schema: 1 true, -1 false, 0 neither
    unsigned types;                 //  allowed JSON types; 0 = any
    //  Objects
    s_property_t *properties;       //  sorted by name
    size_t property_count;
    s_name_t *required;             //  sorted
    size_t required_count;
    s_node_t *additional;           //  NULL: anything else is allowed
    int64_t min_properties, max_properties;     //  -1: absent
    //  Arrays
    s_list_t prefix_items;
    s_node_t *items;
    int64_t min_items, max_items;
    bool unique_items;
    //  Strings
    int64_t min_length, max_length;
    pcre2_code *pattern;
    pcre2_match_data *match;
    char *pattern_text;
    s_format_t format;
    //  Numbers
    s_bound_t minimum, maximum, exclusive_minimum, exclusive_maximum, multiple_of;
    //  Any
    uint8_t *enum_values;           //  msgpack array of the allowed values
    size_t enum_size;
    uint8_t *const_value;           //  msgpack value
    size_t const_size;
    s_list_t all_of, any_of, one_of;
    s_node_t *not_;
    char *ref_text;                 //  "$ref" as written, resolved after compiling
    s_node_t *ref;
    char *where;                    //  JSON Pointer into the schema, for messages
    int mark;                       //  the cycle check's state of this node
};

struct _zeb_schema_t {
    s_node_t *root;
    zlistx_t *nodes;                //  every node, for destruction and $ref
    zhashx_t *defs;                 //  "#/$defs/NAME" -> node
    size_t node_count;              //  zlistx_size (nodes), for the budget
    size_t steps;                   //  taken by the last validation
};

//  ---------------------------------------------------------------------
//  Compiling

typedef struct {
    zeb_schema_t *schema;
    zeb_fault_t *fault;
    char where [256];               //  JSON Pointer into the schema
} s_compiler_t;

static int
s_refuse (s_compiler_t *compiler, const char *format, ...) CHECK_PRINTF (2);

static int
s_refuse (s_compiler_t *compiler, const char *format, ...)
{
    char text [200];
    va_list args;
    va_start (args, format);
    vsnprintf (text, sizeof (text), format, args);
    va_end (args);
    return zeb_fault_set (compiler->fault, ZEB_EBADSCHEMA, "schema at '%s': %s",
                          compiler->where [0]? compiler->where: "/", text);
}

static void
s_node_free (void **item_p)
{
    s_node_t *node = (s_node_t *) *item_p;
    if (!node)
        return;
    for (size_t index = 0; index < node->property_count; index++)
        free ((char *) node->properties [index].name);
    free (node->properties);
    for (size_t index = 0; index < node->required_count; index++)
        free ((char *) node->required [index].name);
    free (node->required);
    free (node->prefix_items.nodes);
    free (node->all_of.nodes);
    free (node->any_of.nodes);
    free (node->one_of.nodes);
    pcre2_match_data_free (node->match);
    pcre2_code_free (node->pattern);
    free (node->pattern_text);
    free (node->enum_values);
    free (node->const_value);
    free (node->ref_text);
    free (node->where);
    free (node);
    *item_p = NULL;
}

static s_node_t *
s_node_new (zeb_schema_t *schema, const char *where)
{
    s_node_t *node = (s_node_t *) zmalloc (sizeof (s_node_t));
    node->where = strdup (where);
    node->min_properties = node->max_properties = -1;
    node->min_items = node->max_items = -1;
    node->min_length = node->max_length = -1;
    zlistx_add_end (schema->nodes, node);
    return node;
}

//  Push and pop a segment of the schema location, for error messages
static size_t
s_enter (s_compiler_t *compiler, const char *segment)
{
    size_t mark = strlen (compiler->where);
    snprintf (compiler->where + mark, sizeof (compiler->where) - mark, "/%s", segment);
    return mark;
}

static void
s_leave (s_compiler_t *compiler, size_t mark)
{
    compiler->where [mark] = 0;
}

static s_node_t *
    s_compile (s_compiler_t *compiler, json_t *json);

static int
s_compile_in (s_compiler_t *compiler, json_t *json, const char *segment, s_node_t **node)
{
    size_t mark = s_enter (compiler, segment);
    *node = s_compile (compiler, json);
    s_leave (compiler, mark);
    return *node? 0: -1;
}

static int
s_compile_list (s_compiler_t *compiler, json_t *json, const char *keyword, s_list_t *list)
{
    if (!json_is_array (json) || json_array_size (json) == 0)
        return s_refuse (compiler, "'%s' must be a non-empty array of schemas", keyword);
    list->count = json_array_size (json);
    list->nodes = (s_node_t **) zmalloc (sizeof (s_node_t *) * list->count);
    for (size_t index = 0; index < list->count; index++) {
        char segment [64];
        snprintf (segment, sizeof (segment), "%s/%zu", keyword, index);
        if (s_compile_in (compiler, json_array_get (json, index), segment, &list->nodes [index]))
            return -1;
    }
    return 0;
}

//  A non-negative integer keyword
static int
s_count (s_compiler_t *compiler, json_t *json, const char *keyword, int64_t *value)
{
    double number = json_number_value (json);
    if (json_is_integer (json))
        number = (double) json_integer_value (json);
    if (!json_is_number (json) || number < 0 || number != floor (number) || number > 9e15)
        return s_refuse (compiler, "'%s' must be a non-negative integer", keyword);
    *value = (int64_t) number;
    return 0;
}

static int
s_number (s_compiler_t *compiler, json_t *json, const char *keyword, s_bound_t *bound)
{
    if (!json_is_number (json))
        return s_refuse (compiler, "'%s' must be a number", keyword);
    bound->set = true;
    if (json_is_integer (json))
        bound->number = (zeb_mpk_number_t) { .kind = ZEB_MPK_NUMBER_INT, .i = json_integer_value (json) };
    else
        bound->number = (zeb_mpk_number_t) { .kind = ZEB_MPK_NUMBER_FLOAT, .f = json_real_value (json) };
    return 0;
}

//  A JSON value as msgpack, owned by the node
static int
s_pack (json_t *json, uint8_t **data, size_t *size)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    int rc = zeb_json_to_msgpack (json, &pk);
    *data = (uint8_t *) buffer.data;
    *size = buffer.size;
    return rc;
}

//  Names are ordered by length, then bytes: a lookup mostly compares
//  lengths and rarely calls memcmp
static int
s_compare_property (const void *a, const void *b)
{
    const s_property_t *x = (const s_property_t *) a, *y = (const s_property_t *) b;
    if (x->len != y->len)
        return x->len < y->len? -1: 1;
    return memcmp (x->name, y->name, x->len);
}

static int
s_compare_name (const void *a, const void *b)
{
    const s_name_t *x = (const s_name_t *) a, *y = (const s_name_t *) b;
    if (x->len != y->len)
        return x->len < y->len? -1: 1;
    return memcmp (x->name, y->name, x->len);
}

static int
s_compile_types (s_compiler_t *compiler, json_t *json, s_node_t *node)
{
    json_t *names = json;
    bool single = json_is_string (json);
    if (single)
        names = json_pack ("[O]", json);
    int rc = 0;
    if (!json_is_array (names) || json_array_size (names) == 0)
        rc = s_refuse (compiler, "'type' must be a type name or an array of them");
    for (size_t index = 0; rc == 0 && index < json_array_size (names); index++) {
        const char *name = json_string_value (json_array_get (names, index));
        size_t type;
        for (type = 0; name && type < sizeof (s_types) / sizeof (s_types [0]); type++)
            if (streq (name, s_types [type].name))
                break;
        if (!name || type == sizeof (s_types) / sizeof (s_types [0]))
            rc = s_refuse (compiler, "'type' names an unknown type '%s'", name? name: "?");
        else
            node->types |= s_types [type].bit;
    }
    if (single)
        json_decref (names);
    return rc;
}

static int
s_compile_pattern (s_compiler_t *compiler, json_t *json, s_node_t *node)
{
    if (!json_is_string (json))
        return s_refuse (compiler, "'pattern' must be a string");
    int error;
    PCRE2_SIZE offset;
    node->pattern = pcre2_compile ((PCRE2_SPTR) json_string_value (json), json_string_length (json),
                                   PCRE2_UTF | PCRE2_UCP, &error, &offset, NULL);
    if (!node->pattern) {
        PCRE2_UCHAR message [120];
        pcre2_get_error_message (error, message, sizeof (message));
        return s_refuse (compiler, "'pattern' is not a valid regular expression: %s at offset %zu",
                         (char *) message, (size_t) offset);
    }
    pcre2_jit_compile (node->pattern, PCRE2_JIT_COMPLETE);     //  where available
    node->match = pcre2_match_data_create_from_pattern (node->pattern, NULL);
    node->pattern_text = strdup (json_string_value (json));
    return 0;
}

static int
s_compile_format (s_compiler_t *compiler, json_t *json, s_node_t *node)
{
    const char *name = json_string_value (json);
    if (!name)
        return s_refuse (compiler, "'format' must be a string");
    if (streq (name, "date-time"))
        node->format = S_FORMAT_DATE_TIME;
    else
    if (streq (name, "email"))
        node->format = S_FORMAT_EMAIL;
    else
    if (streq (name, "uri"))
        node->format = S_FORMAT_URI;
    else
    if (streq (name, "uuid"))
        node->format = S_FORMAT_UUID;
    else
        return s_refuse (compiler, "format '%s' is not supported (date-time, email, uri, uuid are)",
                         name);
    return 0;
}

static int
s_compile_object (s_compiler_t *compiler, json_t *json, s_node_t *node)
{
    json_t *properties = json_object_get (json, "properties");
    if (properties) {
        if (!json_is_object (properties))
            return s_refuse (compiler, "'properties' must be an object of schemas");
        node->properties = (s_property_t *) zmalloc (sizeof (s_property_t)
                                                     * (json_object_size (properties) + 1));
        size_t index = 0;
        const char *name;
        json_t *value;
        json_object_foreach (properties, name, value) {
            s_property_t *property = &node->properties [index++];
            property->name = strdup (name);
            property->len = strlen (name);
            char segment [200];
            snprintf (segment, sizeof (segment), "properties/%s", name);
            node->property_count = index;
            if (s_compile_in (compiler, value, segment, &property->schema))
                return -1;
        }
        qsort (node->properties, node->property_count, sizeof (s_property_t), s_compare_property);
    }
    json_t *required = json_object_get (json, "required");
    if (required) {
        if (!json_is_array (required) || json_array_size (required) > S_MAX_REQUIRED)
            return s_refuse (compiler, "'required' must be an array of at most %d names", S_MAX_REQUIRED);
        node->required = (s_name_t *) zmalloc (sizeof (s_name_t) * (json_array_size (required) + 1));
        for (size_t index = 0; index < json_array_size (required); index++) {
            json_t *name = json_array_get (required, index);
            if (!json_is_string (name))
                return s_refuse (compiler, "'required' must be an array of strings");
            node->required [index].name = strndup (json_string_value (name), json_string_length (name));
            node->required [index].len = json_string_length (name);
            node->required_count = index + 1;
        }
        qsort (node->required, node->required_count, sizeof (s_name_t), s_compare_name);
        for (size_t index = 1; index < node->required_count; index++)
            if (s_compare_name (&node->required [index - 1], &node->required [index]) == 0)
                return s_refuse (compiler, "'required' names '%s' twice", node->required [index].name);
    }
    for (size_t index = 0; index < node->property_count; index++) {
        s_property_t *property = &node->properties [index];
        s_name_t probe = { property->name, property->len };
        s_name_t *found = node->required_count
            ? (s_name_t *) bsearch (&probe, node->required, node->required_count, sizeof (s_name_t),
                                    s_compare_name)
            : NULL;
        property->required = found? (int) (found - node->required): -1;
    }
    json_t *additional = json_object_get (json, "additionalProperties");
    if (additional && s_compile_in (compiler, additional, "additionalProperties", &node->additional))
        return -1;
    json_t *value;
    if ((value = json_object_get (json, "minProperties"))
    &&  s_count (compiler, value, "minProperties", &node->min_properties))
        return -1;
    if ((value = json_object_get (json, "maxProperties"))
    &&  s_count (compiler, value, "maxProperties", &node->max_properties))
        return -1;
    return 0;
}

static int
s_compile_array (s_compiler_t *compiler, json_t *json, s_node_t *node)
{
    json_t *value = json_object_get (json, "items");
    if (value) {
        if (json_is_array (value))
            return s_refuse (compiler, "'items' must be one schema in draft 2020-12; "
                                       "use 'prefixItems' for a tuple");
        if (s_compile_in (compiler, value, "items", &node->items))
            return -1;
    }
    if ((value = json_object_get (json, "prefixItems"))
    &&  s_compile_list (compiler, value, "prefixItems", &node->prefix_items))
        return -1;
    if ((value = json_object_get (json, "minItems"))
    &&  s_count (compiler, value, "minItems", &node->min_items))
        return -1;
    if ((value = json_object_get (json, "maxItems"))
    &&  s_count (compiler, value, "maxItems", &node->max_items))
        return -1;
    if ((value = json_object_get (json, "uniqueItems"))) {
        if (!json_is_boolean (value))
            return s_refuse (compiler, "'uniqueItems' must be a boolean");
        node->unique_items = json_is_true (value);
    }
    return 0;
}

static int
s_compile_scalar (s_compiler_t *compiler, json_t *json, s_node_t *node)
{
    json_t *value;
    if ((value = json_object_get (json, "minLength"))
    &&  s_count (compiler, value, "minLength", &node->min_length))
        return -1;
    if ((value = json_object_get (json, "maxLength"))
    &&  s_count (compiler, value, "maxLength", &node->max_length))
        return -1;
    if ((value = json_object_get (json, "pattern")) && s_compile_pattern (compiler, value, node))
        return -1;
    if ((value = json_object_get (json, "format")) && s_compile_format (compiler, value, node))
        return -1;
    if ((value = json_object_get (json, "minimum"))
    &&  s_number (compiler, value, "minimum", &node->minimum))
        return -1;
    if ((value = json_object_get (json, "maximum"))
    &&  s_number (compiler, value, "maximum", &node->maximum))
        return -1;
    if ((value = json_object_get (json, "exclusiveMinimum"))
    &&  s_number (compiler, value, "exclusiveMinimum", &node->exclusive_minimum))
        return -1;
    if ((value = json_object_get (json, "exclusiveMaximum"))
    &&  s_number (compiler, value, "exclusiveMaximum", &node->exclusive_maximum))
        return -1;
    if ((value = json_object_get (json, "multipleOf"))) {
        if (s_number (compiler, value, "multipleOf", &node->multiple_of))
            return -1;
        zeb_mpk_number_t zero = { .kind = ZEB_MPK_NUMBER_INT, .i = 0 };
        if (zeb_mpk_compare_numbers (node->multiple_of.number, zero) != ZEB_MPK_GREATER)
            return s_refuse (compiler, "'multipleOf' must be greater than 0");
    }
    if ((value = json_object_get (json, "enum"))) {
        if (!json_is_array (value) || json_array_size (value) == 0)
            return s_refuse (compiler, "'enum' must be a non-empty array");
        if (s_pack (value, &node->enum_values, &node->enum_size))
            return s_refuse (compiler, "'enum' cannot be encoded");
    }
    if ((value = json_object_get (json, "const"))
    &&  s_pack (value, &node->const_value, &node->const_size))
        return s_refuse (compiler, "'const' cannot be encoded");
    return 0;
}

//  Keywords a schema object may use; anything else is refused
static const char *s_keywords [] = {
    "type", "properties", "required", "additionalProperties", "minProperties", "maxProperties",
    "items", "prefixItems", "minItems", "maxItems", "uniqueItems",
    "minLength", "maxLength", "pattern", "format",
    "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
    "enum", "const", "allOf", "anyOf", "oneOf", "not", "$ref", "$defs",
    //  Annotations: accepted, no effect on validation
    "$schema", "$id", "$comment", "title", "description", "default", "examples",
    "deprecated", "readOnly", "writeOnly"
};

static s_node_t *
s_compile (s_compiler_t *compiler, json_t *json)
{
    s_node_t *node = s_node_new (compiler->schema, compiler->where);
    if (json_is_boolean (json)) {
        node->always = json_is_true (json)? 1: -1;
        return node;
    }
    if (!json_is_object (json)) {
        s_refuse (compiler, "a schema must be an object or a boolean");
        return NULL;
    }
    const char *key;
    json_t *value;
    json_object_foreach (json, key, value) {
        size_t index;
        for (index = 0; index < sizeof (s_keywords) / sizeof (s_keywords [0]); index++)
            if (streq (key, s_keywords [index]))
                break;
        if (index == sizeof (s_keywords) / sizeof (s_keywords [0])) {
            s_refuse (compiler, "keyword '%s' is not supported", key);
            return NULL;
        }
    }
    if ((value = json_object_get (json, "$schema"))) {
        const char *uri = json_string_value (value);
        if (!uri || !strstr (uri, "json-schema.org/draft/2020-12/schema")) {
            s_refuse (compiler, "'$schema' must name draft 2020-12, the draft supported");
            return NULL;
        }
    }
    if ((value = json_object_get (json, "$defs"))) {
        if (!json_is_object (value)) {
            s_refuse (compiler, "'$defs' must be an object of schemas");
            return NULL;
        }
        const char *name;
        json_t *definition;
        json_object_foreach (value, name, definition) {
            char segment [200];
            snprintf (segment, sizeof (segment), "$defs/%s", name);
            s_node_t *defined;
            if (s_compile_in (compiler, definition, segment, &defined))
                return NULL;
            char *pointer = zsys_sprintf ("#/$defs/%s", name);
            zhashx_update (compiler->schema->defs, pointer, defined);
            zstr_free (&pointer);
        }
    }
    if ((value = json_object_get (json, "$ref"))) {
        if (!json_is_string (value)) {
            s_refuse (compiler, "'$ref' must be a string");
            return NULL;
        }
        node->ref_text = strdup (json_string_value (value));
    }
    if (((value = json_object_get (json, "type")) && s_compile_types (compiler, value, node))
    ||  s_compile_object (compiler, json, node)
    ||  s_compile_array (compiler, json, node)
    ||  s_compile_scalar (compiler, json, node))
        return NULL;
    if (((value = json_object_get (json, "allOf")) && s_compile_list (compiler, value, "allOf", &node->all_of))
    ||  ((value = json_object_get (json, "anyOf")) && s_compile_list (compiler, value, "anyOf", &node->any_of))
    ||  ((value = json_object_get (json, "oneOf")) && s_compile_list (compiler, value, "oneOf", &node->one_of)))
        return NULL;
    if ((value = json_object_get (json, "not")) && s_compile_in (compiler, value, "not", &node->not_))
        return NULL;
    return node;
}

//  Recursion that consumes no data
//
//  $ref, allOf, anyOf, oneOf and not apply a subschema to the same value;
//  properties, additionalProperties, items and prefixItems to a part of
//  it. A cycle of the first kind alone would apply the same schemas to the
//  same value forever, and is refused; a cycle through the second kind
//  ends when the data does (a tree of "child" properties, of items).

//  The index-th subschema applied to the same value as node, or NULL
static s_node_t *
s_same_value_edge (s_node_t *node, size_t index)
{
    if (node->ref) {
        if (index == 0)
            return node->ref;
        index--;
    }
    s_list_t *lists [] = { &node->all_of, &node->any_of, &node->one_of };
    for (size_t list = 0; list < sizeof (lists) / sizeof (lists [0]); list++) {
        if (index < lists [list]->count)
            return lists [list]->nodes [index];
        index -= lists [list]->count;
    }
    return index == 0? node->not_: NULL;
}

typedef struct {
    s_node_t *node;
    size_t next;                    //  the edge to follow next
} s_frame_t;

enum { S_UNSEEN = 0, S_OPEN, S_DONE };

//  Name the cycle: the frames from the one holding target, then target
static int
s_refuse_cycle (s_frame_t *stack, size_t depth, s_node_t *target, zeb_fault_t *fault)
{
    char path [108] = "";          //  the fault text is 200 characters
    size_t first = 0;
    while (stack [first].node != target)
        first++;
    for (size_t index = first; index <= depth; index++) {
        s_node_t *node = index < depth? stack [index].node: target;
        size_t len = strlen (path);
        snprintf (path + len, sizeof (path) - len, "%s#%s", index > first? " -> ": "", node->where);
    }
    if (strlen (path) == sizeof (path) - 1)
        memcpy (path + sizeof (path) - 4, "...", 4);
    return zeb_fault_set (fault, ZEB_EBADSCHEMA, "schema recurses without descending into the "
                          "data (through $ref, allOf, anyOf, oneOf, not): %s", path);
}

//  Depth-first over the same-value edges of every node, on a stack of its
//  own (a chain of $defs can be as long as the schema): a node reached
//  again while still open closes a cycle. Returns 0 or ZEB_EBADSCHEMA.
static int
s_check_cycles (zeb_schema_t *self, zeb_fault_t *fault)
{
    s_frame_t *stack = (s_frame_t *) zmalloc (sizeof (s_frame_t) * (self->node_count + 1));
    int rc = 0;
    s_node_t *start = (s_node_t *) zlistx_first (self->nodes);
    while (start && rc == 0) {
        size_t depth = 0;
        if (start->mark == S_UNSEEN) {
            start->mark = S_OPEN;
            stack [depth++] = (s_frame_t) { start, 0 };
        }
        while (depth && rc == 0) {
            s_frame_t *frame = &stack [depth - 1];
            s_node_t *next = s_same_value_edge (frame->node, frame->next++);
            if (!next) {
                frame->node->mark = S_DONE;
                depth--;
            }
            else
            if (next->mark == S_OPEN)
                rc = s_refuse_cycle (stack, depth, next, fault);
            else
            if (next->mark == S_UNSEEN) {
                next->mark = S_OPEN;
                stack [depth++] = (s_frame_t) { next, 0 };
            }
        }
        start = (s_node_t *) zlistx_next (self->nodes);
    }
    free (stack);
    return rc;
}

zeb_schema_t *
zeb_schema_new (const char *text, size_t len, zeb_fault_t *fault)
{
    json_error_t json_error;
    json_t *json = json_loadb (text, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &json_error);
    if (!json) {
        zeb_fault_set (fault, ZEB_EBADSCHEMA, "schema is not JSON: %s at line %d",
                       json_error.text, json_error.line);
        return NULL;
    }
    zeb_schema_t *self = (zeb_schema_t *) zmalloc (sizeof (zeb_schema_t));
    self->nodes = zlistx_new ();
    zlistx_set_destructor (self->nodes, s_node_free);
    self->defs = zhashx_new ();
    s_compiler_t compiler = { self, fault, "" };
    self->root = s_compile (&compiler, json);
    //  Resolve $ref
    s_node_t *node = self->root? (s_node_t *) zlistx_first (self->nodes): NULL;
    while (node) {
        if (node->ref_text) {
            node->ref = streq (node->ref_text, "#")
                      ? self->root: (s_node_t *) zhashx_lookup (self->defs, node->ref_text);
            if (!node->ref) {
                zeb_fault_set (fault, ZEB_EBADSCHEMA, "schema: '$ref' '%s' does not name '#' or a "
                               "'#/$defs/NAME' of this document", node->ref_text);
                self->root = NULL;
                break;
            }
        }
        node = (s_node_t *) zlistx_next (self->nodes);
    }
    self->node_count = zlistx_size (self->nodes);
    if (self->root && s_check_cycles (self, fault))
        self->root = NULL;
    json_decref (json);
    if (!self->root)
        zeb_schema_destroy (&self);
    return self;
}

void
zeb_schema_destroy (zeb_schema_t **self_p)
{
    assert (self_p);
    zeb_schema_t *self = *self_p;
    if (self) {
        zhashx_destroy (&self->defs);
        zlistx_destroy (&self->nodes);
        free (self);
        *self_p = NULL;
    }
}

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
    int depth;
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

//  A number as an exact integer, if it is one (3.0 included) within range
static bool
s_integral (zeb_mpk_number_t number, __int128 *integer)
{
    if (number.kind == ZEB_MPK_NUMBER_INT)
        *integer = number.i;
    else
    if (number.kind == ZEB_MPK_NUMBER_UINT)
        *integer = number.u;
    else
    if (isfinite (number.f) && number.f == floor (number.f) && fabs (number.f) < 9.2e18)
        *integer = (__int128) number.f;
    else
        return false;
    return true;
}

static long double
s_real (zeb_mpk_number_t number)
{
    return number.kind == ZEB_MPK_NUMBER_INT? (long double) number.i:
           number.kind == ZEB_MPK_NUMBER_UINT? (long double) number.u: (long double) number.f;
}

//  Whether value is a multiple of divisor (> 0): exactly for integers,
//  within a relative 1e-9 otherwise (0.01 has no exact binary form)
static bool
s_multiple (zeb_mpk_number_t value, zeb_mpk_number_t divisor)
{
    __int128 a, b;
    if (s_integral (value, &a) && s_integral (divisor, &b))
        return a % b == 0;
    long double quotient = s_real (value) / s_real (divisor);
    long double nearest = roundl (quotient);
    long double tolerance = 1e-9L * (fabsl (quotient) > 1? fabsl (quotient): 1);
    return isfinite ((double) quotient) && fabsl (quotient - nearest) <= tolerance;
}

static size_t
s_code_points (const char *text, uint32_t len)
{
    size_t count = 0;
    for (uint32_t index = 0; index < len; index++)
        count += ((uint8_t) text [index] & 0xC0) != 0x80;
    return count;
}

//  ASCII classes, without the locale
static bool
s_is_hex (char c)
{
    return (c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'f');
}

static bool
s_is_alnum (char c)
{
    return (c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'z');
}

static bool
s_format_uuid (const char *text, uint32_t len)
{
    if (len != 36)
        return false;
    for (uint32_t index = 0; index < len; index++) {
        bool dash = index == 8 || index == 13 || index == 18 || index == 23;
        if (dash? text [index] != '-': !s_is_hex (text [index]))
            return false;
    }
    return true;
}

//  RFC 5321 mailbox, simply: dot-atom local part, host name domain
static bool
s_format_email (const char *text, uint32_t len)
{
    const char *at = (const char *) memchr (text, '@', len);
    if (!at || at == text || at - text > 64 || memchr (at + 1, '@', len - (uint32_t) (at - text) - 1))
        return false;
    static const char *atext = "!#$%&'*+-/=?^_`{|}~";
    for (const char *p = text; p < at; p++) {
        bool dot = *p == '.';
        if (dot && (p == text || p + 1 == at || p [1] == '.'))
            return false;
        if (!dot && !s_is_alnum (*p) && !strchr (atext, *p))
            return false;
    }
    const char *domain = at + 1, *end = text + len;
    if (end - domain < 1 || end - domain > 253)
        return false;
    const char *label = domain;
    for (const char *p = domain; p <= end; p++) {
        if (p == end || *p == '.') {
            size_t label_len = (size_t) (p - label);
            if (label_len == 0 || label_len > 63 || *label == '-' || p [-1] == '-')
                return false;
            label = p + 1;
        }
        else
        if (!s_is_alnum (*p) && *p != '-')
            return false;
    }
    return true;
}

//  RFC 3986 URI: a scheme, ':', then URI characters and %-escapes
static bool
s_format_uri (const char *text, uint32_t len)
{
    if (len == 0 || !isalpha ((unsigned char) text [0]))
        return false;
    uint32_t index = 1;
    while (index < len && (s_is_alnum (text [index])
           || text [index] == '+' || text [index] == '-' || text [index] == '.'))
        index++;
    if (index == len || text [index] != ':')
        return false;
    static const char *allowed = "-._~:/?#[]@!$&'()*+,;=";
    for (index++; index < len; index++) {
        char c = text [index];
        if (c == '%') {
            if (index + 2 >= len || !s_is_hex (text [index + 1]) || !s_is_hex (text [index + 2]))
                return false;
            index += 2;
        }
        else
        if (!s_is_alnum (c) && !strchr (allowed, c))
            return false;
    }
    return true;
}

//  Validate the value at the reader. On success the reader has moved past
//  the value; on failure its position is undefined. Every value is read
//  once, in place, by the walk that checks it.
static bool
    s_validate (s_node_t *node, zeb_mpk_t *reader, s_context_t *context);

static bool
s_malformed (s_context_t *context)
{
    context->malformed = true;
    return s_fail (context, "type", "the data is not well-formed msgpack");
}

static const char *
s_type_names (unsigned types, char *text, size_t size)
{
    text [0] = 0;
    for (size_t index = 0; index < sizeof (s_types) / sizeof (s_types [0]); index++)
        if (types & s_types [index].bit)
            snprintf (text + strlen (text), size - strlen (text), "%s%s",
                      text [0]? " or ": "", s_types [index].name);
    return text;
}

static bool
s_validate_object (s_node_t *node, zeb_mpk_t *reader, s_context_t *context)
{
    uint32_t count;
    if (zeb_mpk_read_map (reader, &count))
        return s_malformed (context);
    if (node->min_properties >= 0 && count < (uint64_t) node->min_properties)
        return s_fail (context, "minProperties", "at least %lld properties expected, %u found",
                       (long long) node->min_properties, count);
    if (node->max_properties >= 0 && count > (uint64_t) node->max_properties)
        return s_fail (context, "maxProperties", "at most %lld properties expected, %u found",
                       (long long) node->max_properties, count);
    uint64_t seen [S_MAX_REQUIRED / 64] = { 0 };
    for (uint32_t entry = 0; entry < count; entry++) {
        const char *key;
        uint32_t key_len;
        if (zeb_mpk_read_str (reader, &key, &key_len)) {
            if (zeb_mpk_skip (reader, NULL, NULL))
                return s_malformed (context);
            return s_fail (context, "type", "object keys must be strings");
        }
        s_property_t probe_property = { key, key_len, NULL, -1 };
        s_property_t *property = node->property_count
            ? (s_property_t *) bsearch (&probe_property, node->properties, node->property_count,
                                        sizeof (s_property_t), s_compare_property)
            : NULL;
        //  Required: known for properties; looked up for other names
        int required = property? property->required: -1;
        if (!property && node->required_count) {
            s_name_t probe = { key, key_len };
            s_name_t *found = (s_name_t *) bsearch (&probe, node->required, node->required_count,
                                                    sizeof (s_name_t), s_compare_name);
            required = found? (int) (found - node->required): -1;
        }
        if (required >= 0)
            seen [required / 64] |= 1ULL << (required % 64);
        s_node_t *schema = property? property->schema: node->additional;
        if (!schema) {
            if (zeb_mpk_skip (reader, NULL, NULL))
                return s_malformed (context);
            continue;
        }
        s_push (context, key, key_len);
        bool valid;
        if (!property && schema->always < 0)
            valid = s_fail (context, "additionalProperties", "property '%.*s' is not allowed",
                            (int) (key_len > 64? 64: key_len), key);
        else
            valid = s_validate (schema, reader, context);
        s_pop (context);
        if (!valid)
            return false;
    }
    for (size_t index = 0; index < node->required_count; index++)
        if (!(seen [index / 64] & (1ULL << (index % 64))))
            return s_fail (context, "required", "property '%.*s' is required",
                           (int) (node->required [index].len > 64? 64: node->required [index].len),
                           node->required [index].name);
    return true;
}

static bool
s_validate_array (s_node_t *node, zeb_mpk_t *reader, s_context_t *context)
{
    uint32_t count;
    if (zeb_mpk_read_array (reader, &count))
        return s_malformed (context);
    if (node->min_items >= 0 && count < (uint64_t) node->min_items)
        return s_fail (context, "minItems", "at least %lld items expected, %u found",
                       (long long) node->min_items, count);
    if (node->max_items >= 0 && count > (uint64_t) node->max_items)
        return s_fail (context, "maxItems", "at most %lld items expected, %u found",
                       (long long) node->max_items, count);
    zeb_mpk_t start = *reader;
    for (uint32_t index = 0; index < count; index++) {
        s_node_t *schema = index < node->prefix_items.count? node->prefix_items.nodes [index]: node->items;
        if (!schema) {
            if (zeb_mpk_skip (reader, NULL, NULL))
                return s_malformed (context);
            continue;
        }
        s_push (context, NULL, index);
        bool valid = s_validate (schema, reader, context);
        s_pop (context);
        if (!valid)
            return false;
    }
    if (node->unique_items) {
        //  Pairwise, reading in place: no allocation
        zeb_mpk_t outer = start;
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
    }
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
    if (node->pattern
    &&  pcre2_match (node->pattern, (PCRE2_SPTR) text, len, 0, 0, node->match, NULL) < 0)
        return s_fail (context, "pattern", "does not match '%.100s'", node->pattern_text);
    switch (node->format) {
        case S_FORMAT_DATE_TIME: {
            int64_t time_ms;
            if (zeb_time_parse (text, len, &time_ms))
                return s_fail (context, "format", "not an RFC 3339 date-time");
            break;
        }
        case S_FORMAT_EMAIL:
            if (!s_format_email (text, len))
                return s_fail (context, "format", "not an email address");
            break;
        case S_FORMAT_URI:
            if (!s_format_uri (text, len))
                return s_fail (context, "format", "not a URI");
            break;
        case S_FORMAT_UUID:
            if (!s_format_uuid (text, len))
                return s_fail (context, "format", "not a UUID");
            break;
        default:
            break;
    }
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
    if (node->multiple_of.set && !s_multiple (value, node->multiple_of.number))
        return s_fail (context, "multipleOf", "must be a multiple of %s",
                       s_show (node->multiple_of.number, text, sizeof (text)));
    return true;
}

//  Validate with a list of subschemas; returns how many matched, stopping
//  once stop_at have
static size_t
s_count_matches (s_list_t *list, const zeb_mpk_t *start, s_context_t *context, size_t stop_at)
{
    size_t matched = 0;
    context->quiet++;
    for (size_t index = 0; index < list->count && matched < stop_at; index++) {
        zeb_mpk_t reader = *start;
        matched += s_validate (list->nodes [index], &reader, context);
    }
    context->quiet--;
    return matched;
}

//  Validate with every subschema of a list, in order, until one fails.
//  Not quiet: the first failure is recorded as it happens, in this one
//  pass (running the branches again to name the failing one would double
//  the work at every level of nested allOf)
static bool
s_validate_all (s_list_t *list, const zeb_mpk_t *start, s_context_t *context)
{
    for (size_t index = 0; index < list->count; index++) {
        zeb_mpk_t reader = *start;
        if (!s_validate (list->nodes [index], &reader, context))
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

//  The keywords of the value's own kind, reading the value
static bool
s_validate_kind (s_node_t *node, unsigned type, zeb_mpk_t *reader, s_context_t *context)
{
    if (type == ZEB_MPK_JSON_OBJECT)
        return s_validate_object (node, reader, context);
    if (type == ZEB_MPK_JSON_ARRAY)
        return s_validate_array (node, reader, context);
    if (type == ZEB_MPK_JSON_STRING)
        return s_validate_string (node, reader, context);
    if (type & ZEB_MPK_JSON_NUMBER)
        return s_validate_number (node, reader, context);
    return zeb_mpk_skip (reader, NULL, NULL) == 0 || s_malformed (context);
}

//  Another schema applied to the same value, from its start
static bool
s_validate_at (s_node_t *node, const zeb_mpk_t *start, s_context_t *context)
{
    zeb_mpk_t reader = *start;
    return s_validate (node, &reader, context);
}

static bool
s_validate (s_node_t *node, zeb_mpk_t *reader, s_context_t *context)
{
    //  A boolean schema is a leaf, its work paid by the step that reached
    //  it; past the budget its answer is ignored
    if (node->always < 0)
        return s_fail (context, "false", "no value is allowed here");
    if (node->always > 0)
        return zeb_mpk_skip (reader, NULL, NULL) == 0 || s_malformed (context);
    if (!s_step (context))
        return false;
    if (++context->depth > S_MAX_DEPTH) {
        context->depth--;
        return s_fail (context, "$ref", "schemas nest deeper than %d levels", S_MAX_DEPTH);
    }
    bool valid = false;
    zeb_mpk_t start = *reader;
    unsigned type = zeb_mpk_type_of (reader);
    //  const and enum compare the whole value: a malformed one is no match
    if (node->const_value || node->enum_values) {
        zeb_mpk_t copy = start;
        if (zeb_mpk_skip (&copy, NULL, NULL)) {
            context->depth--;
            return s_malformed (context);
        }
    }
    char names [80];
    if (node->types && !(type & node->types))
        s_fail (context, "type", "%s expected", s_type_names (node->types, names, sizeof (names)));
    else
    if (node->const_value && !s_is_const (node, &start))
        s_fail (context, "const", "must be the constant value");
    else
    if (node->enum_values && !s_in_enum (node, &start))
        s_fail (context, "enum", "must be one of the enumerated values");
    else
    if (!s_validate_kind (node, type, reader, context))
        ;
    else
    if (node->ref && !s_validate_at (node->ref, &start, context))
        ;
    else
    if (node->all_of.count && !s_validate_all (&node->all_of, &start, context))
        ;
    else
    if (node->any_of.count && s_count_matches (&node->any_of, &start, context, 1) == 0)
        s_fail (context, "anyOf", "matches none of the %zu schemas", node->any_of.count);
    else
    if (node->one_of.count && s_count_matches (&node->one_of, &start, context, 2) != 1)
        s_fail (context, "oneOf", "must match exactly one of the %zu schemas", node->one_of.count);
    else
    if (node->not_ && s_count_matches (&(s_list_t) { &node->not_, 1 }, &start, context, 1))
        s_fail (context, "not", "must not match the schema under 'not'");
    else
        valid = true;
    context->depth--;
    return valid;
}

//  ---------------------------------------------------------------------
//  Types along a path (for rule checks)

#define S_ALL_TYPES     (ZEB_MPK_JSON_NULL | ZEB_MPK_JSON_BOOLEAN | ZEB_MPK_JSON_INTEGER \
                       | ZEB_MPK_JSON_NUMBER | ZEB_MPK_JSON_STRING | ZEB_MPK_JSON_ARRAY \
                       | ZEB_MPK_JSON_OBJECT)

//  The types of the values of a msgpack array (enum), or of one value
static unsigned
s_types_of_values (const uint8_t *data, size_t size, bool array)
{
    zeb_mpk_t reader;
    zeb_mpk_init (&reader, data, size);
    uint32_t count = 1;
    if (array && zeb_mpk_read_array (&reader, &count))
        return S_ALL_TYPES;
    unsigned types = 0;
    for (uint32_t index = 0; index < count; index++) {
        types |= zeb_mpk_type_of (&reader);
        if (zeb_mpk_skip (&reader, NULL, NULL))
            return S_ALL_TYPES;
    }
    return types;
}

static unsigned
    s_types_at (s_node_t *node, const zeb_schema_step_t *steps, size_t count, int depth);

//  The types at the rest of the path below one step into node's value
static unsigned
s_types_below (s_node_t *node, const zeb_schema_step_t *steps, size_t count, int depth)
{
    const zeb_schema_step_t *step = &steps [0];
    if (step->name) {
        if (node->types && !(node->types & ZEB_MPK_JSON_OBJECT))
            return 0;
        s_property_t probe = { step->name, step->len, NULL, -1 };
        s_property_t *property = node->property_count
            ? (s_property_t *) bsearch (&probe, node->properties, node->property_count,
                                        sizeof (s_property_t), s_compare_property)
            : NULL;
        if (property)
            return s_types_at (property->schema, steps + 1, count - 1, depth + 1);
        if (node->additional)
            return s_types_at (node->additional, steps + 1, count - 1, depth + 1);
        return S_ALL_TYPES;
    }
    if (node->types && !(node->types & ZEB_MPK_JSON_ARRAY))
        return 0;
    if (step->index >= 0 && (size_t) step->index < node->prefix_items.count)
        return s_types_at (node->prefix_items.nodes [step->index], steps + 1, count - 1, depth + 1);
    unsigned types = 0;
    if (step->index < 0)            //  any item: a prefix item or a later one
        for (size_t index = 0; index < node->prefix_items.count; index++)
            types |= s_types_at (node->prefix_items.nodes [index], steps + 1, count - 1, depth + 1);
    if (node->items)
        types |= s_types_at (node->items, steps + 1, count - 1, depth + 1);
    else
        types = S_ALL_TYPES;
    return types;
}

static unsigned
s_types_at (s_node_t *node, const zeb_schema_step_t *steps, size_t count, int depth)
{
    if (node->always)
        return node->always > 0? S_ALL_TYPES: 0;
    if (depth > S_MAX_DEPTH)
        return S_ALL_TYPES;         //  unsure: anything
    unsigned types = S_ALL_TYPES;
    if (count == 0) {
        if (node->types) {
            types = node->types;
            if (types & ZEB_MPK_JSON_NUMBER)
                types |= ZEB_MPK_JSON_INTEGER;
        }
        if (node->enum_values)
            types &= s_types_of_values (node->enum_values, node->enum_size, true);
        if (node->const_value)
            types &= s_types_of_values (node->const_value, node->const_size, false);
    }
    else
        types = s_types_below (node, steps, count, depth);
    if (node->ref)
        types &= s_types_at (node->ref, steps, count, depth + 1);
    for (size_t index = 0; index < node->all_of.count; index++)
        types &= s_types_at (node->all_of.nodes [index], steps, count, depth + 1);
    s_list_t *unions [] = { &node->any_of, &node->one_of };
    for (size_t list = 0; list < 2; list++)
        if (unions [list]->count) {
            unsigned some = 0;
            for (size_t index = 0; index < unions [list]->count; index++)
                some |= s_types_at (unions [list]->nodes [index], steps, count, depth + 1);
            types &= some;
        }
    return types;
}

unsigned
zeb_schema_types_at (zeb_schema_t *self, const zeb_schema_step_t *steps, size_t count)
{
    assert (self);
    assert (steps || count == 0);
    return s_types_at (self->root, steps, count, 0);
}

size_t
zeb_schema_budget (zeb_schema_t *self, size_t size)
{
    assert (self);
    //  size bytes hold at most size values
    size_t budget;
    if (__builtin_mul_overflow (self->node_count, size, &budget))
        budget = ZEB_SCHEMA_STEPS_MAX;
    return budget < ZEB_SCHEMA_STEPS_MIN? ZEB_SCHEMA_STEPS_MIN:
           budget > ZEB_SCHEMA_STEPS_MAX? ZEB_SCHEMA_STEPS_MAX: budget;
}

size_t
zeb_schema_steps (zeb_schema_t *self)
{
    assert (self);
    return self->steps;
}

int
zeb_schema_validate (zeb_schema_t *self, const void *data, size_t size, zeb_schema_error_t *error)
{
    assert (self);
    zeb_mpk_t reader;
    zeb_mpk_init (&reader, data, size);
    s_context_t context = { .error = error, .budget = zeb_schema_budget (self, size) };
    bool valid = s_validate (self->root, &reader, &context);
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

//  ---------------------------------------------------------------------
//  Self test

typedef struct {
    const char *schema;
    const char *instance;
    const char *keyword;            //  NULL: valid
    const char *path;
} s_test_case_t;

static const s_test_case_t s_cases [] = {
    //  type, with integer distinct from number
    { "{\"type\":\"integer\"}", "3", NULL, NULL },
    { "{\"type\":\"integer\"}", "3.0", NULL, NULL },
    { "{\"type\":\"integer\"}", "3.5", "type", "" },
    { "{\"type\":\"number\"}", "3.5", NULL, NULL },
    { "{\"type\":\"number\"}", "\"3\"", "type", "" },
    { "{\"type\":[\"string\",\"null\"]}", "null", NULL, NULL },
    { "{\"type\":[\"string\",\"null\"]}", "1", "type", "" },
    { "{\"type\":\"boolean\"}", "false", NULL, NULL },
    { "{\"type\":\"array\"}", "{}", "type", "" },
    { "{\"type\":\"object\"}", "[]", "type", "" },
    //  properties, required, additionalProperties
    { "{\"type\":\"object\",\"properties\":{\"sku\":{\"type\":\"string\"}},\"required\":[\"sku\"]}",
      "{\"sku\":\"A-1\",\"other\":1}", NULL, NULL },
    { "{\"type\":\"object\",\"properties\":{\"sku\":{\"type\":\"string\"}},\"required\":[\"sku\"]}",
      "{\"other\":1}", "required", "" },
    { "{\"properties\":{\"sku\":{\"type\":\"string\"}}}", "{\"sku\":7}", "type", "/sku" },
    { "{\"properties\":{\"a\":true},\"additionalProperties\":false}", "{\"a\":1,\"b\":2}",
      "additionalProperties", "/b" },
    { "{\"properties\":{\"a\":true},\"additionalProperties\":{\"type\":\"integer\"}}",
      "{\"a\":\"x\",\"b\":2}", NULL, NULL },
    { "{\"additionalProperties\":{\"type\":\"integer\"}}", "{\"b\":\"two\"}", "type", "/b" },
    { "{\"minProperties\":2}", "{\"a\":1}", "minProperties", "" },
    { "{\"maxProperties\":1}", "{\"a\":1,\"b\":2}", "maxProperties", "" },
    { "{\"properties\":{\"a/b\":{\"properties\":{\"c~d\":{\"type\":\"string\"}}}}}",
      "{\"a/b\":{\"c~d\":1}}", "type", "/a~1b/c~0d" },
    //  items, prefixItems, counts, uniqueness
    { "{\"items\":{\"type\":\"integer\"}}", "[1,2,3]", NULL, NULL },
    { "{\"items\":{\"type\":\"integer\"}}", "[1,\"2\",3]", "type", "/1" },
    { "{\"prefixItems\":[{\"type\":\"string\"},{\"type\":\"integer\"}],\"items\":false}",
      "[\"a\",1]", NULL, NULL },
    { "{\"prefixItems\":[{\"type\":\"string\"},{\"type\":\"integer\"}],\"items\":false}",
      "[\"a\",1,true]", "false", "/2" },
    { "{\"prefixItems\":[{\"type\":\"string\"}]}", "[1]", "type", "/0" },
    { "{\"minItems\":2}", "[1]", "minItems", "" },
    { "{\"maxItems\":1}", "[1,2]", "maxItems", "" },
    { "{\"uniqueItems\":true}", "[1,2,3]", NULL, NULL },
    { "{\"uniqueItems\":true}", "[1,2,1.0]", "uniqueItems", "" },
    { "{\"uniqueItems\":true}", "[{\"a\":1,\"b\":2},{\"b\":2,\"a\":1}]", "uniqueItems", "" },
    { "{\"uniqueItems\":true}", "[{\"a\":1},{\"a\":2}]", NULL, NULL },
    //  enum and const, compared as JSON values
    { "{\"enum\":[\"red\",\"green\",3]}", "\"green\"", NULL, NULL },
    { "{\"enum\":[\"red\",\"green\",3]}", "3.0", NULL, NULL },
    { "{\"enum\":[\"red\",\"green\",3]}", "\"blue\"", "enum", "" },
    { "{\"const\":{\"a\":[1,2]}}", "{\"a\":[1,2]}", NULL, NULL },
    { "{\"const\":{\"a\":[1,2]}}", "{\"a\":[2,1]}", "const", "" },
    //  numbers
    { "{\"minimum\":1,\"maximum\":10}", "10", NULL, NULL },
    { "{\"minimum\":1}", "0.5", "minimum", "" },
    { "{\"maximum\":10}", "10.5", "maximum", "" },
    { "{\"exclusiveMinimum\":0}", "0", "exclusiveMinimum", "" },
    { "{\"exclusiveMaximum\":100}", "100", "exclusiveMaximum", "" },
    { "{\"exclusiveMaximum\":100}", "99.99", NULL, NULL },
    { "{\"multipleOf\":0.01}", "19.99", NULL, NULL },
    { "{\"multipleOf\":0.01}", "19.995", "multipleOf", "" },
    { "{\"multipleOf\":3}", "9", NULL, NULL },
    { "{\"multipleOf\":3}", "10", "multipleOf", "" },
    { "{\"minimum\":0}", "\"not a number\"", NULL, NULL },      //  applies to numbers only
    { "{\"maximum\":9007199254740993}", "9007199254740993", NULL, NULL },
    { "{\"maximum\":9007199254740992}", "9007199254740993", "maximum", "" },
    //  strings: lengths in code points, patterns, formats
    { "{\"minLength\":2,\"maxLength\":3}", "\"\\u00e9\\u00e9\\u00e9\"", NULL, NULL },
    { "{\"maxLength\":2}", "\"\\u00e9\\u00e9\\u00e9\"", "maxLength", "" },
    { "{\"minLength\":2}", "\"a\"", "minLength", "" },
    { "{\"pattern\":\"^[A-Z]{3}-[0-9]+$\"}", "\"ABC-42\"", NULL, NULL },
    { "{\"pattern\":\"^[A-Z]{3}-[0-9]+$\"}", "\"abc-42\"", "pattern", "" },
    { "{\"pattern\":\"\\\\d\"}", "\"order 7\"", NULL, NULL },             //  unanchored
    { "{\"format\":\"date-time\"}", "\"2026-11-22T10:00:00Z\"", NULL, NULL },
    { "{\"format\":\"date-time\"}", "\"2026-11-22T10:00:00+02:00\"", NULL, NULL },
    { "{\"format\":\"date-time\"}", "\"yesterday\"", "format", "" },
    { "{\"format\":\"email\"}", "\"ada@example.com\"", NULL, NULL },
    { "{\"format\":\"email\"}", "\"ada.lovelace+zeb@mail.example.org\"", NULL, NULL },
    { "{\"format\":\"email\"}", "\"ada@\"", "format", "" },
    { "{\"format\":\"email\"}", "\"ada..x@example.com\"", "format", "" },
    { "{\"format\":\"email\"}", "\"ada@-example.com\"", "format", "" },
    { "{\"format\":\"uri\"}", "\"https://example.com/hooks?id=1#x\"", NULL, NULL },
    { "{\"format\":\"uri\"}", "\"urn:isbn:0451450523\"", NULL, NULL },
    { "{\"format\":\"uri\"}", "\"/relative/path\"", "format", "" },
    { "{\"format\":\"uri\"}", "\"https://exa mple.com\"", "format", "" },
    { "{\"format\":\"uuid\"}", "\"0190f7a2-5b1c-7def-8a12-3456789abcde\"", NULL, NULL },
    { "{\"format\":\"uuid\"}", "\"0190f7a2-5b1c-7def-8a12-3456789abcd\"", "format", "" },
    { "{\"format\":\"uuid\"}", "42", NULL, NULL },                      //  strings only
    //  combinators
    { "{\"allOf\":[{\"type\":\"integer\"},{\"minimum\":3}]}", "4", NULL, NULL },
    { "{\"allOf\":[{\"type\":\"integer\"},{\"minimum\":3}]}", "2", "minimum", "" },
    { "{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"integer\"}]}", "2", NULL, NULL },
    { "{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"integer\"}]}", "2.5", "anyOf", "" },
    { "{\"oneOf\":[{\"type\":\"integer\"},{\"minimum\":2}]}", "1", NULL, NULL },
    { "{\"oneOf\":[{\"type\":\"integer\"},{\"minimum\":2}]}", "3", "oneOf", "" },
    { "{\"oneOf\":[{\"type\":\"integer\"},{\"minimum\":2}]}", "1.5", "oneOf", "" },
    { "{\"not\":{\"type\":\"null\"}}", "1", NULL, NULL },
    { "{\"not\":{\"type\":\"null\"}}", "null", "not", "" },
    { "{\"properties\":{\"a\":{\"anyOf\":[{\"type\":\"string\"}]}}}", "{\"a\":1}", "anyOf", "/a" },
    //  $ref and $defs, recursion
    { "{\"$defs\":{\"sku\":{\"type\":\"string\",\"pattern\":\"^S\"}},"
      "\"properties\":{\"items\":{\"items\":{\"$ref\":\"#/$defs/sku\"}}}}",
      "{\"items\":[\"S1\",\"X2\"]}", "pattern", "/items/1" },
    { "{\"type\":\"object\",\"properties\":{\"child\":{\"$ref\":\"#\"},\"n\":{\"type\":\"integer\"}}}",
      "{\"n\":1,\"child\":{\"n\":2,\"child\":{\"n\":\"three\"}}}", "type", "/child/child/n" },
    { "{\"$ref\":\"#/$defs/a\",\"minimum\":5,\"$defs\":{\"a\":{\"type\":\"integer\"}}}",
      "4", "minimum", "" },
    { "{\"$ref\":\"#/$defs/a\",\"minimum\":5,\"$defs\":{\"a\":{\"type\":\"integer\"}}}",
      "5.5", "type", "" },
    //  boolean schemas and annotations
    { "true", "{\"anything\":[1]}", NULL, NULL },
    { "false", "1", "false", "" },
    { "{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\",\"$id\":\"urn:zeb:order\","
      "\"title\":\"Order\",\"description\":\"d\",\"default\":{},\"examples\":[{}],\"$comment\":\"c\","
      "\"deprecated\":false,\"readOnly\":false,\"writeOnly\":false}", "{}", NULL, NULL },
};

//  Schemas refused, and a word the error must contain
static const char *s_bad_schemas [][2] = {
    { "{\"type\":\"strnig\"}", "strnig" },
    { "{\"patternProperties\":{\"^a\":true}}", "patternProperties" },
    { "{\"if\":true}", "'if'" },
    { "{\"properties\":{\"a\":{\"dependentRequired\":{}}}}", "/properties/a" },
    { "{\"format\":\"ipv4\"}", "ipv4" },
    { "{\"items\":[{\"type\":\"string\"}]}", "prefixItems" },
    { "{\"pattern\":\"([a-z\"}", "regular expression" },
    { "{\"minLength\":-1}", "minLength" },
    { "{\"minLength\":1.5}", "minLength" },
    { "{\"multipleOf\":0}", "multipleOf" },
    { "{\"required\":[\"a\",\"a\"]}", "twice" },
    { "{\"required\":\"a\"}", "required" },
    { "{\"enum\":[]}", "enum" },
    { "{\"anyOf\":[]}", "anyOf" },
    { "{\"$ref\":\"#/$defs/missing\"}", "missing" },
    { "{\"$ref\":\"https://example.com/schema\"}", "$ref" },
    { "{\"$schema\":\"http://json-schema.org/draft-07/schema#\"}", "2020-12" },
    { "[1,2]", "object or a boolean" },
    { "{\"type\":", "not JSON" },
    { "{\"a\":1,\"a\":2}", "not JSON" },
    //  Recursion that consumes no data, named by its path
    { "{\"$ref\":\"#\"}", ": # -> #" },
    { "{\"allOf\":[{\"$ref\":\"#\"}]}", ": # -> #/allOf/0 -> #" },
    { "{\"anyOf\":[{\"$ref\":\"#/$defs/a\"}],\"$defs\":{\"a\":{\"not\":{\"$ref\":\"#\"}}}}",
      "# -> #/anyOf/0 -> #/$defs/a -> #/$defs/a/not -> #" },
    { "{\"properties\":{\"x\":{\"$ref\":\"#/$defs/a\"}},\"$defs\":{\"a\":{\"$ref\":\"#/$defs/b\"},"
      "\"b\":{\"oneOf\":[true,{\"$ref\":\"#/$defs/a\"}]}}}", "#/$defs/a -> #/$defs/b -> #/$defs/b/oneOf/1" },
    { "{\"$defs\":{\"a\":{\"items\":true,\"allOf\":[{\"$ref\":\"#/$defs/a\"}]}}}", "#/$defs/a ->" }
};

static int
s_test_pack (const char *json_text, msgpack_sbuffer *buffer)
{
    msgpack_sbuffer_clear (buffer);
    return zeb_json_pack_text (json_text, strlen (json_text), buffer, NULL);
}

//  Data nested depth levels: "{"n":1,"child":{...{"n":LEAF}}}" or
//  "[[...[LEAF]...]]"; caller frees
static char *
s_test_tree (bool objects, int depth, const char *leaf)
{
    size_t size = (size_t) depth * 24 + strlen (leaf) + 32;
    char *text = (char *) zmalloc (size);
    size_t len = 0;
    for (int level = 1; level < depth; level++)
        len += (size_t) snprintf (text + len, size - len, objects? "{\"n\":%d,\"child\":": "[", level);
    len += (size_t) snprintf (text + len, size - len, objects? "{\"n\":%s}": "[%s]", leaf);
    for (int level = 1; level < depth; level++)
        text [len++] = objects? '}': ']';
    return text;
}

//  Validate text against schema: the code, the error in *error
static int
s_test_check (const char *schema_text, const char *data_text, zeb_schema_error_t *error,
              size_t *steps, bool verbose)
{
    zeb_fault_t fault;
    zeb_schema_t *schema = zeb_schema_new (schema_text, strlen (schema_text), &fault);
    if (!schema)
        fprintf (stderr, "schema refused: %s\n", fault.text);
    assert (schema);
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    assert (s_test_pack (data_text, &buffer) == 0);
    memset (error, 0, sizeof (*error));
    int rc = zeb_schema_validate (schema, buffer.data, buffer.size, error);
    *steps = zeb_schema_steps (schema);
    assert (*steps <= zeb_schema_budget (schema, buffer.size));
    if (verbose)
        fprintf (stderr, "%.60s: rc %d, %zu steps of %zu, '%s' at '%s': %s\n", schema_text, rc, *steps,
                 zeb_schema_budget (schema, buffer.size), error->keyword, error->path, error->message);
    msgpack_sbuffer_destroy (&buffer);
    zeb_schema_destroy (&schema);
    return rc;
}

//  Recursion and work: trees validate, expensive schemas end
static void
s_test_bounds (bool verbose)
{
    zeb_schema_error_t error;
    size_t steps;
    //  Recursive trees, through properties and through items, 40 levels
    const char *tree = "{\"type\":\"object\",\"required\":[\"n\"],"
                       "\"properties\":{\"n\":{\"type\":\"integer\"},\"child\":{\"$ref\":\"#\"}}}";
    char *data = s_test_tree (true, 40, "40");
    assert (s_test_check (tree, data, &error, &steps, verbose) == 0);
    assert (steps < 40 * 8);
    free (data);
    data = s_test_tree (true, 40, "\"forty\"");
    assert (s_test_check (tree, data, &error, &steps, verbose) == ZEB_ESCHEMA);
    char path [256] = "";
    for (int level = 1; level < 40; level++)
        strcat (path, "/child");
    strcat (path, "/n");
    assert (streq (error.keyword, "type") && streq (error.path, path));
    free (data);
    const char *nested = "{\"type\":\"array\",\"maxItems\":1,\"items\":{\"$ref\":\"#\"}}";
    data = s_test_tree (false, 40, "");
    assert (s_test_check (nested, data, &error, &steps, verbose) == 0);
    free (data);
    data = s_test_tree (false, 40, "7");
    assert (s_test_check (nested, data, &error, &steps, verbose) == ZEB_ESCHEMA);
    assert (streq (error.keyword, "type") && strlen (error.path) == 40 * 2);
    free (data);
    data = s_test_tree (false, 40, "[],[]");
    assert (s_test_check (nested, data, &error, &steps, verbose) == ZEB_ESCHEMA);
    assert (streq (error.keyword, "maxItems") && strlen (error.path) == 39 * 2);
    free (data);

    //  A failing allOf at every level of the data is one pass, not a
    //  doubling per level to name the branch that failed
    const char *all = "{\"allOf\":[{\"type\":\"array\",\"items\":{\"$ref\":\"#\"}},{\"maxItems\":1}]}";
    data = s_test_tree (false, 40, "\"leaf\"");
    assert (s_test_check (all, data, &error, &steps, verbose) == ZEB_ESCHEMA);
    assert (streq (error.keyword, "type") && strlen (error.path) == 40 * 2);
    assert (steps < 40 * 8);
    free (data);

    //  anyOf with two branches at each of 20 levels of data, both failing
    //  at the bottom: 2^20 tries; the budget stops it, and says so
    const char *any = "{\"anyOf\":[{\"type\":\"array\",\"items\":{\"$ref\":\"#\"}},"
                      "{\"type\":\"array\",\"minItems\":1,\"items\":{\"$ref\":\"#\"}}]}";
    data = s_test_tree (false, 20, "\"leaf\"");
    assert (s_test_check (any, data, &error, &steps, verbose) == ZEB_ESCHEMACOMPLEX);
    assert (streq (error.keyword, "budget") && steps == ZEB_SCHEMA_STEPS_MIN);
    free (data);
    //  The same over 6 levels is within the budget: a real answer
    data = s_test_tree (false, 6, "\"leaf\"");
    assert (s_test_check (any, data, &error, &steps, verbose) == ZEB_ESCHEMA);
    assert (streq (error.keyword, "anyOf") && streq (error.path, ""));
    free (data);
    //  And where the first branch matches, 20 levels are cheap
    data = s_test_tree (false, 20, "");
    assert (s_test_check (any, data, &error, &steps, verbose) == 0);
    assert (steps < 20 * 8);
    free (data);

    //  No recursion, but a chain of 20 definitions each applying the next
    //  twice to the same value: 2^20 applications of the last one
    char chain [4096];
    for (const char **keyword = (const char *[]) { "allOf", "anyOf", "oneOf", NULL }; *keyword; keyword++) {
        size_t len = (size_t) snprintf (chain, sizeof (chain), "{\"$ref\":\"#/$defs/d0\",\"$defs\":{");
        for (int level = 0; level < 20; level++)
            len += (size_t) snprintf (chain + len, sizeof (chain) - len,
                                      "\"d%d\":{\"%s\":[{\"$ref\":\"#/$defs/d%d\"},{\"$ref\":\"#/$defs/d%d\"}]},",
                                      level, *keyword, level + 1, level + 1);
        snprintf (chain + len, sizeof (chain) - len, "\"d20\":{\"type\":\"string\"}}}");
        assert (s_test_check (chain, "\"text\"", &error, &steps, verbose) == (streq (*keyword, "anyOf")? 0: ZEB_ESCHEMACOMPLEX));
        assert (s_test_check (chain, "1", &error, &steps, verbose) == (streq (*keyword, "allOf")? ZEB_ESCHEMA: ZEB_ESCHEMACOMPLEX));
        assert (steps <= ZEB_SCHEMA_STEPS_MIN);
    }

    //  uniqueItems compares pairs: each comparison is a step
    char *items = (char *) zmalloc (64 * 1024);
    size_t len = 0;
    items [len++] = '[';
    for (int index = 0; index < 5000; index++)
        len += (size_t) snprintf (items + len, 64 * 1024 - len, "%s%d", index? ",": "", index);
    items [len++] = ']';
    assert (s_test_check ("{\"uniqueItems\":true}", items, &error, &steps, verbose) == ZEB_ESCHEMACOMPLEX);
    free (items);
}

void
zeb_schema_test (bool verbose)
{
    printf (" * zeb_schema: ");
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    zeb_fault_t fault;
    for (size_t index = 0; index < sizeof (s_cases) / sizeof (s_cases [0]); index++) {
        const s_test_case_t *test = &s_cases [index];
        zeb_schema_t *schema = zeb_schema_new (test->schema, strlen (test->schema), &fault);
        if (!schema)
            fprintf (stderr, "case %zu: %s\n", index, fault.text);
        assert (schema);
        assert (s_test_pack (test->instance, &buffer) == 0);
        zeb_schema_error_t error;
        memset (&error, 0, sizeof (error));
        int rc = zeb_schema_validate (schema, buffer.data, buffer.size, &error);
        bool ok = test->keyword
                ? rc == ZEB_ESCHEMA && streq (error.keyword, test->keyword) && streq (error.path, test->path)
                : rc == 0;
        if (!ok || verbose)
            fprintf (stderr, "case %zu: %s on %s: rc %d, '%s' at '%s': %s\n", index, test->schema,
                     test->instance, rc, error.keyword, error.path, error.message);
        assert (ok);
        zeb_schema_destroy (&schema);
    }
    for (size_t index = 0; index < sizeof (s_bad_schemas) / sizeof (s_bad_schemas [0]); index++) {
        const char *text = s_bad_schemas [index][0];
        memset (&fault, 0, sizeof (fault));
        zeb_schema_t *schema = zeb_schema_new (text, strlen (text), &fault);
        if (schema || fault.code != ZEB_EBADSCHEMA || !strstr (fault.text, s_bad_schemas [index][1]))
            fprintf (stderr, "bad schema %zu: %s: %s\n", index, text, fault.text);
        assert (!schema && fault.code == ZEB_EBADSCHEMA && strstr (fault.text, s_bad_schemas [index][1]));
    }

    //  An order schema, validated many times: same answers, no leaks
    const char *order =
        "{\"type\":\"object\",\"required\":[\"orderId\",\"total\",\"items\"],"
        "\"additionalProperties\":false,"
        "\"properties\":{\"orderId\":{\"type\":\"string\",\"pattern\":\"^O-[0-9]+$\"},"
        "\"total\":{\"type\":\"number\",\"minimum\":0},"
        "\"currency\":{\"enum\":[\"EUR\",\"USD\"]},"
        "\"placedAt\":{\"type\":\"string\",\"format\":\"date-time\"},"
        "\"items\":{\"type\":\"array\",\"minItems\":1,\"items\":{\"type\":\"object\","
        "\"required\":[\"sku\",\"qty\"],\"properties\":{\"sku\":{\"type\":\"string\"},"
        "\"qty\":{\"type\":\"integer\",\"minimum\":1}}}}}}";
    zeb_schema_t *schema = zeb_schema_new (order, strlen (order), &fault);
    assert (schema);
    assert (s_test_pack ("{\"orderId\":\"O-42\",\"total\":99.5,\"currency\":\"EUR\","
                         "\"placedAt\":\"2026-11-22T10:00:00Z\",\"items\":[{\"sku\":\"S1\",\"qty\":2}]}",
                         &buffer) == 0);
    for (int round = 0; round < 1000; round++)
        assert (zeb_schema_validate (schema, buffer.data, buffer.size, NULL) == 0);
    assert (s_test_pack ("{\"orderId\":\"O-42\",\"total\":99.5,\"items\":[{\"sku\":\"S1\",\"qty\":0}]}",
                         &buffer) == 0);
    zeb_schema_error_t error;
    assert (zeb_schema_validate (schema, buffer.data, buffer.size, &error) == ZEB_ESCHEMA);
    assert (streq (error.path, "/items/0/qty") && streq (error.keyword, "minimum"));
    //  Not one msgpack value: cut short anywhere, or with bytes after it,
    //  whether or not the schema would have refused it anyway
    for (size_t cut = 0; cut < buffer.size; cut++)
        assert (zeb_schema_validate (schema, buffer.data, cut, &error) == ZEB_EMALFORMED);
    assert (s_test_pack ("{\"orderId\":\"O-42\",\"total\":99.5,\"items\":[{\"sku\":\"S1\",\"qty\":2}]}",
                         &buffer) == 0);
    for (size_t cut = 0; cut < buffer.size; cut++)
        assert (zeb_schema_validate (schema, buffer.data, cut, &error) == ZEB_EMALFORMED);
    msgpack_sbuffer_write (&buffer, "\x01", 1);
    assert (zeb_schema_validate (schema, buffer.data, buffer.size, &error) == ZEB_EMALFORMED);
    assert (zeb_schema_validate (schema, "\xc1", 1, &error) == ZEB_EMALFORMED);
    //  Binary data is no JSON type
    assert (zeb_schema_validate (schema, "\xc4\x01\x00", 3, &error) == ZEB_ESCHEMA);
    assert (streq (error.keyword, "type"));
    zeb_schema_destroy (&schema);
    zeb_schema_destroy (&schema);           //  safe twice

    //  Numbers JSON cannot write: NaN lies within no bound, 2^63 as a
    //  uint64 is compared exactly, a float32 1.0 is the constant 1
    const char *nan = "\xcb\x7f\xf8\x00\x00\x00\x00\x00\x00";
    const char *bounded = "{\"minimum\":0}";
    schema = zeb_schema_new (bounded, strlen (bounded), &fault);
    assert (schema);
    assert (zeb_schema_validate (schema, nan, 9, &error) == ZEB_ESCHEMA);
    assert (streq (error.keyword, "minimum"));
    zeb_schema_destroy (&schema);
    bounded = "{\"exclusiveMaximum\":9223372036854775807}";
    schema = zeb_schema_new (bounded, strlen (bounded), &fault);
    assert (schema);
    assert (zeb_schema_validate (schema, "\xcf\x7f\xff\xff\xff\xff\xff\xff\xfe", 9, &error) == 0);
    assert (zeb_schema_validate (schema, "\xcf\x80\x00\x00\x00\x00\x00\x00\x00", 9, &error)
            == ZEB_ESCHEMA);
    zeb_schema_destroy (&schema);
    bounded = "{\"const\":1}";
    schema = zeb_schema_new (bounded, strlen (bounded), &fault);
    assert (schema);
    assert (zeb_schema_validate (schema, "\xca\x3f\x80\x00\x00", 5, &error) == 0);
    assert (zeb_schema_validate (schema, nan, 9, &error) == ZEB_ESCHEMA);
    zeb_schema_destroy (&schema);

    //  Types along a path: what rule checks ask
    const char *typed =
        "{\"type\":\"object\",\"additionalProperties\":false,\"$defs\":{\"money\":{\"type\":\"number\"}},"
        "\"properties\":{\"total\":{\"$ref\":\"#/$defs/money\"},\"name\":{\"type\":\"string\"},"
        "\"kind\":{\"enum\":[\"a\",\"b\"]},\"both\":{\"allOf\":[{\"type\":[\"integer\",\"string\"]},{\"type\":\"number\"}]},"
        "\"either\":{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"boolean\"}]},"
        "\"items\":{\"type\":\"array\",\"prefixItems\":[{\"type\":\"null\"}],\"items\":{\"type\":\"object\","
        "\"properties\":{\"sku\":{\"type\":\"string\"}}}},\"free\":{}}}";
    schema = zeb_schema_new (typed, strlen (typed), &fault);
    assert (schema);
    zeb_schema_step_t steps [3] = { { "total", 5, 0 }, { NULL, 0, 0 }, { "sku", 3, 0 } };
    assert (zeb_schema_types_at (schema, steps, 0) == ZEB_MPK_JSON_OBJECT);
    assert (zeb_schema_types_at (schema, steps, 1) == (ZEB_MPK_JSON_NUMBER | ZEB_MPK_JSON_INTEGER));
    assert (zeb_schema_types_at (schema, steps, 2) == 0);           //  a number has no items
    steps [0] = (zeb_schema_step_t) { "nope", 4, 0 };
    assert (zeb_schema_types_at (schema, steps, 1) == 0);           //  additionalProperties false
    steps [0] = (zeb_schema_step_t) { "kind", 4, 0 };
    assert (zeb_schema_types_at (schema, steps, 1) == ZEB_MPK_JSON_STRING);
    steps [0] = (zeb_schema_step_t) { "both", 4, 0 };
    assert (zeb_schema_types_at (schema, steps, 1) == ZEB_MPK_JSON_INTEGER);
    steps [0] = (zeb_schema_step_t) { "either", 6, 0 };
    assert (zeb_schema_types_at (schema, steps, 1) == (ZEB_MPK_JSON_STRING | ZEB_MPK_JSON_BOOLEAN));
    steps [0] = (zeb_schema_step_t) { "items", 5, 0 };
    assert (zeb_schema_types_at (schema, steps, 2) == ZEB_MPK_JSON_NULL);
    steps [1].index = 1;
    assert (zeb_schema_types_at (schema, steps, 2) == ZEB_MPK_JSON_OBJECT);
    assert (zeb_schema_types_at (schema, steps, 3) == ZEB_MPK_JSON_STRING);
    steps [1].index = -1;                                           //  any item
    assert (zeb_schema_types_at (schema, steps, 2) == (ZEB_MPK_JSON_NULL | ZEB_MPK_JSON_OBJECT));
    steps [0] = (zeb_schema_step_t) { "free", 4, 0 };
    assert (zeb_schema_types_at (schema, steps, 3) == 0x7f);        //  unconstrained
    zeb_schema_destroy (&schema);

    s_test_bounds (verbose);
    msgpack_sbuffer_destroy (&buffer);
    printf ("OK\n");
}
