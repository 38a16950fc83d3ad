/*  =========================================================================
    zeb_schema - JSON Schema (draft 2020-12) for event payloads, over msgpack

    Compiling: the document is indexed by URI (zeb_schema_ref.c), then
    compiled into a tree of nodes from the root, one node per schema
    object however many references reach it; then references are
    resolved, compiling what they name, and the tree is checked for
    schemas that apply to the same value without end. Validating is
    zeb_schema_validate.c.
    =========================================================================
*/

#include "zeb_classes.h"
#include "zeb_schema_private.h"
#include <math.h>

//  Schemas applied along one path, for zeb_schema_types_at
#define S_MAX_DEPTH     256
#define S_MAX_REQUIRED  256         //  names in one "required"

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

const char *
zeb_schema_type_names (unsigned types, char *text, size_t size)
{
    text [0] = 0;
    for (size_t index = 0; index < sizeof (s_types) / sizeof (s_types [0]); index++)
        if (types & s_types [index].bit)
            snprintf (text + strlen (text), size - strlen (text), "%s%s",
                      text [0]? " or ": "", s_types [index].name);
    return text;
}

//  ---------------------------------------------------------------------
//  Compiling

typedef struct {
    zeb_schema_t *schema;
    zeb_fault_t *fault;
    const zeb_schema_options_t *options;
    zeb_schema_index_t *index;
    zhashx_t *compiled;             //  "%p" of a schema's JSON -> its node
    char where [256];               //  JSON Pointer into the schema
    json_t *documents;              //  what the index borrows besides the schema
    bool meta_added;                //  the built-in meta-schemas are indexed
    unsigned vocabularies;          //  S_VOCAB_* in effect where compiling
} s_compiler_t;

//  The vocabularies of draft 2020-12. "$schema" naming a meta-schema
//  other than the standard one brings that meta-schema's "$vocabulary";
//  keywords of a vocabulary it leaves out are then ignored.
#define S_VOCAB_CORE                1
#define S_VOCAB_APPLICATOR          2
#define S_VOCAB_UNEVALUATED         4
#define S_VOCAB_VALIDATION          8
#define S_VOCAB_META_DATA           16
#define S_VOCAB_FORMAT_ANNOTATION   32
#define S_VOCAB_FORMAT_ASSERTION    64
#define S_VOCAB_CONTENT             128
#define S_VOCAB_STANDARD            (S_VOCAB_CORE | S_VOCAB_APPLICATOR | S_VOCAB_UNEVALUATED \
                                   | S_VOCAB_VALIDATION | S_VOCAB_META_DATA \
                                   | S_VOCAB_FORMAT_ANNOTATION | S_VOCAB_CONTENT)

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
s_names_free (s_name_t *names, size_t count)
{
    for (size_t index = 0; index < count; index++)
        free ((char *) names [index].name);
    free (names);
}

static void
s_properties_free (s_property_t *properties, size_t count)
{
    for (size_t index = 0; index < count; index++)
        free ((char *) properties [index].name);
    free (properties);
}

static void
s_pattern_free (zeb_schema_pattern_t *pattern)
{
    pcre2_match_data_free (pattern->match);
    pcre2_code_free (pattern->code);
    free (pattern->text);
}

static void
s_node_free (s_node_t *node)
{
    s_properties_free (node->properties, node->property_count);
    s_names_free (node->required, node->required_count);
    for (size_t index = 0; index < node->pattern_property_count; index++)
        s_pattern_free (&node->pattern_properties [index].pattern);
    free (node->pattern_properties);
    for (size_t index = 0; index < node->dependent_required_count; index++) {
        free ((char *) node->dependent_required [index].name);
        s_names_free (node->dependent_required [index].names, node->dependent_required [index].count);
    }
    free (node->dependent_required);
    s_properties_free (node->dependent_schemas, node->dependent_schema_count);
    free (node->prefix_items.nodes);
    free (node->all_of.nodes);
    free (node->any_of.nodes);
    free (node->one_of.nodes);
    free (node->dynamic_targets.nodes);
    s_pattern_free (&node->pattern);
    free (node->enum_values);
    free (node->const_value);
    free (node->ref_text);
    free (node->dynamic_ref_text);
    free (node->dynamic_name);
    free (node->where);
    zeb_schema_fast_free (node);
    free (node);
}

static void
s_resource_free (void **item_p)
{
    zeb_schema_resource_t *resource = (zeb_schema_resource_t *) *item_p;
    if (resource) {
        s_properties_free (resource->anchors, resource->anchor_count);
        free (resource->uri);
        free (resource);
        *item_p = NULL;
    }
}

static zeb_schema_resource_t *
s_resource (zeb_schema_t *schema, const char *uri)
{
    zeb_schema_resource_t *resource = (zeb_schema_resource_t *) zhashx_lookup (schema->resources, uri);
    if (!resource) {
        resource = (zeb_schema_resource_t *) zmalloc (sizeof (zeb_schema_resource_t));
        resource->uri = strdup (uri);
        zhashx_insert (schema->resources, uri, resource);
    }
    return resource;
}

static s_node_t *
s_node_new (s_compiler_t *compiler, json_t *json)
{
    zeb_schema_t *schema = compiler->schema;
    //  On a cache line: the fast walk reads the first line of most nodes only
    size_t size = (sizeof (s_node_t) + 63) / 64 * 64;
    s_node_t *node = (s_node_t *) aligned_alloc (64, size);
    assert (node);
    memset (node, 0, size);
    node->where = strdup (compiler->where);
    node->min_properties = node->max_properties = -1;
    node->min_items = node->max_items = -1;
    node->min_length = node->max_length = -1;
    node->min_contains = 1;
    node->max_contains = -1;
    node->base = zeb_schema_index_base (compiler->index, json);
    node->resource = s_resource (schema, node->base? node->base: "");
    if (schema->node_count == schema->node_capacity) {
        schema->node_capacity = schema->node_capacity? schema->node_capacity * 2: 16;
        schema->nodes = (s_node_t **) realloc (schema->nodes, sizeof (s_node_t *) * schema->node_capacity);
        assert (schema->nodes);
    }
    schema->nodes [schema->node_count++] = node;
    char key [32];
    snprintf (key, sizeof (key), "%p", (void *) json);
    zhashx_insert (compiler->compiled, key, node);
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

//  A keyword whose value is one schema, if present
static int
s_compile_keyword (s_compiler_t *compiler, json_t *json, const char *keyword, s_node_t **node)
{
    json_t *value = json_object_get (json, keyword);
    return value? s_compile_in (compiler, value, keyword, node): 0;
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
s_count_keyword (s_compiler_t *compiler, json_t *json, const char *keyword, int64_t *value)
{
    json_t *count = json_object_get (json, keyword);
    return count? s_count (compiler, count, keyword, value): 0;
}

static int
s_number (s_compiler_t *compiler, json_t *json, const char *keyword, s_bound_t *bound)
{
    json_t *value = json_object_get (json, keyword);
    if (!value)
        return 0;
    if (!json_is_number (value))
        return s_refuse (compiler, "'%s' must be a number", keyword);
    bound->set = true;
    if (json_is_integer (value))
        bound->number = (zeb_mpk_number_t) { .kind = ZEB_MPK_NUMBER_INT, .i = json_integer_value (value) };
    else
        bound->number = (zeb_mpk_number_t) { .kind = ZEB_MPK_NUMBER_FLOAT, .f = json_real_value (value) };
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

//  Unicode property names PCRE2 10.42 knows only short ("\p{L}"), as
//  ECMA-262 patterns write them long ("\p{Letter}")
static const char *s_long_properties [][2] = {
    { "Letter", "L" }, { "Cased_Letter", "L&" }, { "Uppercase_Letter", "Lu" },
    { "Lowercase_Letter", "Ll" }, { "Titlecase_Letter", "Lt" }, { "Modifier_Letter", "Lm" },
    { "Other_Letter", "Lo" }, { "Mark", "M" }, { "Nonspacing_Mark", "Mn" },
    { "Spacing_Mark", "Mc" }, { "Enclosing_Mark", "Me" }, { "Number", "N" },
    { "Decimal_Number", "Nd" }, { "digit", "Nd" }, { "Letter_Number", "Nl" },
    { "Other_Number", "No" }, { "Punctuation", "P" }, { "punct", "P" },
    { "Connector_Punctuation", "Pc" }, { "Dash_Punctuation", "Pd" },
    { "Open_Punctuation", "Ps" }, { "Close_Punctuation", "Pe" },
    { "Initial_Punctuation", "Pi" }, { "Final_Punctuation", "Pf" },
    { "Other_Punctuation", "Po" }, { "Symbol", "S" }, { "Math_Symbol", "Sm" },
    { "Currency_Symbol", "Sc" }, { "Modifier_Symbol", "Sk" }, { "Other_Symbol", "So" },
    { "Separator", "Z" }, { "Space_Separator", "Zs" }, { "Line_Separator", "Zl" },
    { "Paragraph_Separator", "Zp" }, { "Other", "C" }, { "Control", "Cc" }, { "cntrl", "Cc" },
    { "Format", "Cf" }, { "Surrogate", "Cs" }, { "Private_Use", "Co" }, { "Unassigned", "Cn" }
};

//  The pattern with "\p{Long_Name}" as "\p{Xx}"; caller frees
static char *
s_short_properties (const char *text, size_t len)
{
    char *out = (char *) zmalloc (len + 1);
    size_t used = 0;
    for (size_t index = 0; index < len; index++) {
        out [used++] = text [index];
        if (text [index] == '\\' && index + 2 < len && (text [index + 1] == 'p' || text [index + 1] == 'P')
        &&  text [index + 2] == '{') {
            const char *name = text + index + 3;
            const char *end = (const char *) memchr (name, '}', len - (size_t) (name - text));
            for (size_t entry = 0; end && entry < sizeof (s_long_properties) / sizeof (s_long_properties [0]); entry++)
                if (strlen (s_long_properties [entry][0]) == (size_t) (end - name)
                &&  memcmp (name, s_long_properties [entry][0], (size_t) (end - name)) == 0) {
                    used += (size_t) sprintf (out + used, "%c{%s}", text [index + 1], s_long_properties [entry][1]);
                    index = (size_t) (end - text);
                    break;
                }
        }
        else
        if (text [index] == '\\' && index + 1 < len)
            out [used++] = text [++index];
    }
    out [used] = 0;
    return out;
}

static int
s_compile_regex (s_compiler_t *compiler, json_t *json, const char *keyword, zeb_schema_pattern_t *pattern)
{
    if (!json_is_string (json))
        return s_refuse (compiler, "'%s' must be a string", keyword);
    int error;
    PCRE2_SIZE offset;
    char *text = s_short_properties (json_string_value (json), json_string_length (json));
    pattern->code = pcre2_compile ((PCRE2_SPTR) text, strlen (text), PCRE2_UTF | PCRE2_UCP,
                                   &error, &offset, NULL);
    free (text);
    if (!pattern->code) {
        PCRE2_UCHAR message [120];
        pcre2_get_error_message (error, message, sizeof (message));
        return s_refuse (compiler, "'%s' is not a valid regular expression: %s at offset %zu "
                         "(Unicode properties: short names as \\p{Lu}, or General_Category "
                         "long names as \\p{Letter})", keyword, (char *) message, (size_t) offset);
    }
    pattern->jit = pcre2_jit_compile (pattern->code, PCRE2_JIT_COMPLETE) == 0;  //  where available
    pattern->match = pcre2_match_data_create_from_pattern (pattern->code, NULL);
    pattern->text = strdup (json_string_value (json));
    return 0;
}

static int
s_compile_format (s_compiler_t *compiler, json_t *json, s_node_t *node)
{
    const char *name = json_string_value (json);
    if (!name)
        return s_refuse (compiler, "'format' must be a string");
    //  An annotation unless asserted; a format zeb does not know is one
    //  either way
    if (compiler->options->format_assertion || (compiler->vocabularies & S_VOCAB_FORMAT_ASSERTION))
        node->format = zeb_schema_format_lookup (name);
    return 0;
}

//  A sorted array of distinct names
static int
s_compile_names (s_compiler_t *compiler, json_t *json, const char *keyword, s_name_t **names,
                 size_t *count)
{
    if (!json_is_array (json) || json_array_size (json) > S_MAX_REQUIRED)
        return s_refuse (compiler, "'%s' must be an array of at most %d names", keyword, S_MAX_REQUIRED);
    *names = (s_name_t *) zmalloc (sizeof (s_name_t) * (json_array_size (json) + 1));
    for (size_t index = 0; index < json_array_size (json); index++) {
        json_t *name = json_array_get (json, index);
        if (!json_is_string (name))
            return s_refuse (compiler, "'%s' must be an array of strings", keyword);
        (*names) [index].name = strndup (json_string_value (name), json_string_length (name));
        (*names) [index].len = json_string_length (name);
        *count = index + 1;
    }
    qsort (*names, *count, sizeof (s_name_t), zeb_schema_compare_name);
    for (size_t index = 1; index < *count; index++)
        if (zeb_schema_compare_name (&(*names) [index - 1], &(*names) [index]) == 0)
            return s_refuse (compiler, "'%s' names '%s' twice", keyword, (*names) [index].name);
    return 0;
}

//  An object of schemas (properties, dependentSchemas), sorted by name
static int
s_compile_map (s_compiler_t *compiler, json_t *json, const char *keyword, s_property_t **map,
               size_t *count)
{
    if (!json_is_object (json))
        return s_refuse (compiler, "'%s' must be an object of schemas", keyword);
    *map = (s_property_t *) zmalloc (sizeof (s_property_t) * (json_object_size (json) + 1));
    const char *name;
    json_t *value;
    json_object_foreach (json, name, value) {
        s_property_t *entry = &(*map) [*count];
        entry->name = strdup (name);
        entry->len = strlen (name);
        entry->required = -1;
        (*count)++;
        char segment [200];
        snprintf (segment, sizeof (segment), "%s/%s", keyword, name);
        if (s_compile_in (compiler, value, segment, &entry->schema))
            return -1;
    }
    qsort (*map, *count, sizeof (s_property_t), zeb_schema_compare_property);
    return 0;
}

static int
s_compile_pattern_properties (s_compiler_t *compiler, json_t *json, s_node_t *node)
{
    if (!json_is_object (json))
        return s_refuse (compiler, "'patternProperties' must be an object of schemas");
    node->pattern_properties = (zeb_schema_pattern_property_t *)
        zmalloc (sizeof (zeb_schema_pattern_property_t) * (json_object_size (json) + 1));
    const char *name;
    json_t *value;
    json_object_foreach (json, name, value) {
        zeb_schema_pattern_property_t *entry = &node->pattern_properties [node->pattern_property_count++];
        char segment [200];
        snprintf (segment, sizeof (segment), "patternProperties/%s", name);
        json_t *text = json_string (name);
        int rc = s_compile_regex (compiler, text, "patternProperties", &entry->pattern);
        json_decref (text);
        if (rc || s_compile_in (compiler, value, segment, &entry->schema))
            return -1;
    }
    return 0;
}

static int
s_compile_dependent_required (s_compiler_t *compiler, json_t *json, s_node_t *node)
{
    if (!json_is_object (json))
        return s_refuse (compiler, "'dependentRequired' must be an object of arrays of names");
    node->dependent_required = (zeb_schema_dependency_t *)
        zmalloc (sizeof (zeb_schema_dependency_t) * (json_object_size (json) + 1));
    const char *name;
    json_t *value;
    json_object_foreach (json, name, value) {
        zeb_schema_dependency_t *entry = &node->dependent_required [node->dependent_required_count++];
        entry->name = strdup (name);
        entry->len = strlen (name);
        if (s_compile_names (compiler, value, "dependentRequired", &entry->names, &entry->count))
            return -1;
    }
    return 0;
}

static int
s_compile_object (s_compiler_t *compiler, json_t *json, s_node_t *node)
{
    json_t *value;
    if ((value = json_object_get (json, "properties"))
    &&  s_compile_map (compiler, value, "properties", &node->properties, &node->property_count))
        return -1;
    if ((value = json_object_get (json, "required"))
    &&  s_compile_names (compiler, value, "required", &node->required, &node->required_count))
        return -1;
    for (size_t index = 0; index < node->property_count; index++) {
        s_property_t *property = &node->properties [index];
        s_name_t probe = { property->name, property->len };
        s_name_t *found = node->required_count
            ? (s_name_t *) bsearch (&probe, node->required, node->required_count, sizeof (s_name_t),
                                    zeb_schema_compare_name)
            : NULL;
        property->required = found? (int) (found - node->required): -1;
    }
    if ((value = json_object_get (json, "patternProperties"))
    &&  s_compile_pattern_properties (compiler, value, node))
        return -1;
    if ((value = json_object_get (json, "dependentRequired"))
    &&  s_compile_dependent_required (compiler, value, node))
        return -1;
    if ((value = json_object_get (json, "dependentSchemas"))
    &&  s_compile_map (compiler, value, "dependentSchemas", &node->dependent_schemas,
                       &node->dependent_schema_count))
        return -1;
    if (s_compile_keyword (compiler, json, "additionalProperties", &node->additional)
    ||  s_compile_keyword (compiler, json, "propertyNames", &node->property_names)
    ||  s_compile_keyword (compiler, json, "unevaluatedProperties", &node->unevaluated_properties)
    ||  s_count_keyword (compiler, json, "minProperties", &node->min_properties)
    ||  s_count_keyword (compiler, json, "maxProperties", &node->max_properties))
        return -1;
    return 0;
}

static int
s_compile_array (s_compiler_t *compiler, json_t *json, s_node_t *node)
{
    json_t *value = json_object_get (json, "items");
    if (json_is_array (value))
        return s_refuse (compiler, "'items' must be one schema in draft 2020-12; "
                                   "use 'prefixItems' for a tuple");
    if ((value = json_object_get (json, "prefixItems"))
    &&  s_compile_list (compiler, value, "prefixItems", &node->prefix_items))
        return -1;
    if (s_compile_keyword (compiler, json, "items", &node->items)
    ||  s_compile_keyword (compiler, json, "contains", &node->contains)
    ||  s_compile_keyword (compiler, json, "unevaluatedItems", &node->unevaluated_items)
    ||  s_count_keyword (compiler, json, "minContains", &node->min_contains)
    ||  s_count_keyword (compiler, json, "maxContains", &node->max_contains)
    ||  s_count_keyword (compiler, json, "minItems", &node->min_items)
    ||  s_count_keyword (compiler, json, "maxItems", &node->max_items))
        return -1;
    if ((value = json_object_get (json, "uniqueItems"))) {
        if (!json_is_boolean (value))
            return s_refuse (compiler, "'uniqueItems' must be a boolean");
        node->unique_items = json_is_true (value);
    }
    return 0;
}

static int
s_compile_multiple (s_compiler_t *compiler, json_t *json, s_node_t *node)
{
    if (s_number (compiler, json, "multipleOf", &node->multiple_of) || !node->multiple_of.set)
        return node->multiple_of.set? -1: 0;
    zeb_mpk_number_t zero = { .kind = ZEB_MPK_NUMBER_INT, .i = 0 };
    if (zeb_mpk_compare_numbers (node->multiple_of.number, zero) != ZEB_MPK_GREATER)
        return s_refuse (compiler, "'multipleOf' must be greater than 0");
    json_t *value = json_object_get (json, "multipleOf");
    if (json_is_integer (value)) {
        node->multiple_decimal = (zeb_schema_decimal_t) { (uint64_t) json_integer_value (value), 0 };
        while (node->multiple_decimal.mantissa % 10 == 0) {
            node->multiple_decimal.mantissa /= 10;
            node->multiple_decimal.exponent++;
        }
    }
    else
        zeb_schema_decimal (json_real_value (value), &node->multiple_decimal);
    return 0;
}

static int
s_compile_scalar (s_compiler_t *compiler, json_t *json, s_node_t *node)
{
    json_t *value;
    if (s_count_keyword (compiler, json, "minLength", &node->min_length)
    ||  s_count_keyword (compiler, json, "maxLength", &node->max_length))
        return -1;
    if ((value = json_object_get (json, "pattern"))
    &&  s_compile_regex (compiler, value, "pattern", &node->pattern))
        return -1;
    if ((value = json_object_get (json, "format")) && s_compile_format (compiler, value, node))
        return -1;
    if (s_number (compiler, json, "minimum", &node->minimum)
    ||  s_number (compiler, json, "maximum", &node->maximum)
    ||  s_number (compiler, json, "exclusiveMinimum", &node->exclusive_minimum)
    ||  s_number (compiler, json, "exclusiveMaximum", &node->exclusive_maximum)
    ||  s_compile_multiple (compiler, json, node))
        return -1;
    if ((value = json_object_get (json, "enum"))) {
        if (!json_is_array (value))
            return s_refuse (compiler, "'enum' must be an array");
        if (s_pack (value, &node->enum_values, &node->enum_size))
            return s_refuse (compiler, "'enum' cannot be encoded");
    }
    if ((value = json_object_get (json, "const"))
    &&  s_pack (value, &node->const_value, &node->const_size))
        return s_refuse (compiler, "'const' cannot be encoded");
    return 0;
}

//  Keywords a schema object may use, by vocabulary; anything else is
//  refused
typedef struct {
    const char *name;
    unsigned vocabulary;
} s_keyword_t;

static const s_keyword_t s_keywords [] = {
    { "$schema", S_VOCAB_CORE }, { "$id", S_VOCAB_CORE }, { "$ref", S_VOCAB_CORE },
    { "$defs", S_VOCAB_CORE }, { "$anchor", S_VOCAB_CORE }, { "$dynamicRef", S_VOCAB_CORE },
    { "$dynamicAnchor", S_VOCAB_CORE }, { "$vocabulary", S_VOCAB_CORE }, { "$comment", S_VOCAB_CORE },
    { "allOf", S_VOCAB_APPLICATOR }, { "anyOf", S_VOCAB_APPLICATOR }, { "oneOf", S_VOCAB_APPLICATOR },
    { "not", S_VOCAB_APPLICATOR }, { "if", S_VOCAB_APPLICATOR }, { "then", S_VOCAB_APPLICATOR },
    { "else", S_VOCAB_APPLICATOR }, { "dependentSchemas", S_VOCAB_APPLICATOR },
    { "prefixItems", S_VOCAB_APPLICATOR }, { "items", S_VOCAB_APPLICATOR },
    { "contains", S_VOCAB_APPLICATOR }, { "properties", S_VOCAB_APPLICATOR },
    { "patternProperties", S_VOCAB_APPLICATOR }, { "additionalProperties", S_VOCAB_APPLICATOR },
    { "propertyNames", S_VOCAB_APPLICATOR },
    { "unevaluatedItems", S_VOCAB_UNEVALUATED }, { "unevaluatedProperties", S_VOCAB_UNEVALUATED },
    { "type", S_VOCAB_VALIDATION }, { "enum", S_VOCAB_VALIDATION }, { "const", S_VOCAB_VALIDATION },
    { "multipleOf", S_VOCAB_VALIDATION }, { "maximum", S_VOCAB_VALIDATION },
    { "exclusiveMaximum", S_VOCAB_VALIDATION }, { "minimum", S_VOCAB_VALIDATION },
    { "exclusiveMinimum", S_VOCAB_VALIDATION }, { "maxLength", S_VOCAB_VALIDATION },
    { "minLength", S_VOCAB_VALIDATION }, { "pattern", S_VOCAB_VALIDATION },
    { "maxItems", S_VOCAB_VALIDATION }, { "minItems", S_VOCAB_VALIDATION },
    { "uniqueItems", S_VOCAB_VALIDATION }, { "maxContains", S_VOCAB_VALIDATION },
    { "minContains", S_VOCAB_VALIDATION }, { "maxProperties", S_VOCAB_VALIDATION },
    { "minProperties", S_VOCAB_VALIDATION }, { "required", S_VOCAB_VALIDATION },
    { "dependentRequired", S_VOCAB_VALIDATION },
    //  Annotations: accepted, no effect on validation ("format" unless asserted)
    { "format", S_VOCAB_FORMAT_ANNOTATION | S_VOCAB_FORMAT_ASSERTION },
    { "title", S_VOCAB_META_DATA }, { "description", S_VOCAB_META_DATA },
    { "default", S_VOCAB_META_DATA }, { "examples", S_VOCAB_META_DATA },
    { "deprecated", S_VOCAB_META_DATA }, { "readOnly", S_VOCAB_META_DATA },
    { "writeOnly", S_VOCAB_META_DATA },
    { "contentEncoding", S_VOCAB_CONTENT }, { "contentMediaType", S_VOCAB_CONTENT },
    { "contentSchema", S_VOCAB_CONTENT }
};

#define S_KEYWORDS  (sizeof (s_keywords) / sizeof (s_keywords [0]))

static const struct {
    const char *uri;
    unsigned vocabulary;
} s_vocabularies [] = {
    { "https://json-schema.org/draft/2020-12/vocab/core", S_VOCAB_CORE },
    { "https://json-schema.org/draft/2020-12/vocab/applicator", S_VOCAB_APPLICATOR },
    { "https://json-schema.org/draft/2020-12/vocab/unevaluated", S_VOCAB_UNEVALUATED },
    { "https://json-schema.org/draft/2020-12/vocab/validation", S_VOCAB_VALIDATION },
    { "https://json-schema.org/draft/2020-12/vocab/meta-data", S_VOCAB_META_DATA },
    { "https://json-schema.org/draft/2020-12/vocab/format-annotation", S_VOCAB_FORMAT_ANNOTATION },
    { "https://json-schema.org/draft/2020-12/vocab/format-assertion", S_VOCAB_FORMAT_ASSERTION },
    { "https://json-schema.org/draft/2020-12/vocab/content", S_VOCAB_CONTENT }
};

//  The built-in meta-schemas, indexed once a reference names json-schema.org
//  (documents given with the same URIs win)
static void
s_add_meta (s_compiler_t *compiler)
{
    if (compiler->meta_added)
        return;
    compiler->meta_added = true;
    size_t count;
    const zeb_schema_document_t *documents = zeb_schema_meta_documents (&count);
    for (size_t index = 0; index < count; index++) {
        if (zeb_schema_index_document (compiler->index, documents [index].uri))
            continue;
        json_t *json = json_loadb (documents [index].json, documents [index].len, 0, NULL);
        assert (json);              //  built in, checked by the self test
        json_array_append_new (compiler->documents, json);
        zeb_schema_index_add_document (compiler->index, json, documents [index].uri);
    }
}

//  The vocabularies a meta-schema other than the standard one declares:
//  its "$vocabulary", in which a vocabulary zeb does not know may only be
//  optional (false). Without one, the standard vocabularies.
static int
s_meta_vocabularies (s_compiler_t *compiler, const char *uri)
{
    if (strstr (uri, "json-schema.org/"))
        s_add_meta (compiler);
    char *resource = strdup (uri);
    char *hash = strchr (resource, '#');
    if (hash && hash [1] == 0)
        *hash = 0;
    json_t *meta = zeb_schema_index_document (compiler->index, resource);
    free (resource);
    if (!meta)
        return s_refuse (compiler, "'$schema' names '%.80s': a meta-schema of draft 2020-12 "
                         "must be the standard one or a document given with the schema", uri);
    json_t *declared = json_object_get (meta, "$vocabulary");
    if (!declared) {
        compiler->vocabularies = S_VOCAB_STANDARD;
        return 0;
    }
    if (!json_is_object (declared))
        return s_refuse (compiler, "meta-schema '%.80s': '$vocabulary' must be an object", uri);
    unsigned vocabularies = S_VOCAB_CORE;
    const char *name;
    json_t *required;
    json_object_foreach (declared, name, required) {
        size_t index;
        for (index = 0; index < sizeof (s_vocabularies) / sizeof (s_vocabularies [0]); index++)
            if (streq (name, s_vocabularies [index].uri))
                break;
        if (index < sizeof (s_vocabularies) / sizeof (s_vocabularies [0]))
            vocabularies |= s_vocabularies [index].vocabulary;
        else
        if (json_is_true (required))
            return s_refuse (compiler, "meta-schema '%.80s' requires vocabulary '%.80s', which "
                             "zeb does not implement", uri, name);
    }
    compiler->vocabularies = vocabularies;
    return 0;
}

//  Checks the keywords and sets the vocabularies in effect from "$schema";
//  keywords of vocabularies not in effect are taken out of the schema
//  (kept alive in documents: an index may point into them)
static int
s_check_keywords (s_compiler_t *compiler, json_t *json)
{
    json_t *value;
    if ((value = json_object_get (json, "$schema"))) {
        const char *uri = json_string_value (value);
        if (!uri)
            return s_refuse (compiler, "'$schema' must be a string");
        if (strstr (uri, "json-schema.org/draft/2020-12/schema"))
            compiler->vocabularies = S_VOCAB_STANDARD;
        else
        if (strstr (uri, "json-schema.org/") && !strstr (uri, "json-schema.org/draft/2020-12/"))
            return s_refuse (compiler, "'$schema' must name draft 2020-12, the draft supported");
        else
        if (s_meta_vocabularies (compiler, uri))
            return -1;
    }
    const char *key;
    void *safe;
    json_object_foreach_safe (json, safe, key, value) {
        size_t index;
        for (index = 0; index < S_KEYWORDS; index++)
            if (streq (key, s_keywords [index].name))
                break;
        if (index == S_KEYWORDS)
            return s_refuse (compiler, "keyword '%s' is not supported", key);
        if (!(s_keywords [index].vocabulary & compiler->vocabularies)) {
            json_array_append (compiler->documents, value);
            json_object_del (json, key);
        }
    }
    return 0;
}

static int
s_compile_refs (s_compiler_t *compiler, json_t *json, s_node_t *node)
{
    const char *names [] = { "$ref", "$dynamicRef" };
    char **texts [] = { &node->ref_text, &node->dynamic_ref_text };
    for (size_t index = 0; index < 2; index++) {
        json_t *value = json_object_get (json, names [index]);
        if (!value)
            continue;
        if (!json_is_string (value))
            return s_refuse (compiler, "'%s' must be a string", names [index]);
        *texts [index] = strdup (json_string_value (value));
    }
    json_t *defs = json_object_get (json, "$defs");
    if (defs && !json_is_object (defs))
        return s_refuse (compiler, "'$defs' must be an object of schemas");
    const char *name;
    json_t *definition;
    json_object_foreach (defs, name, definition) {
        char segment [200];
        snprintf (segment, sizeof (segment), "$defs/%s", name);
        s_node_t *defined;
        if (s_compile_in (compiler, definition, segment, &defined))
            return -1;
    }
    return 0;
}

static int
s_compile_in_place (s_compiler_t *compiler, json_t *json, s_node_t *node)
{
    json_t *value;
    if (((value = json_object_get (json, "allOf")) && s_compile_list (compiler, value, "allOf", &node->all_of))
    ||  ((value = json_object_get (json, "anyOf")) && s_compile_list (compiler, value, "anyOf", &node->any_of))
    ||  ((value = json_object_get (json, "oneOf")) && s_compile_list (compiler, value, "oneOf", &node->one_of)))
        return -1;
    if (s_compile_keyword (compiler, json, "not", &node->not_)
    ||  s_compile_keyword (compiler, json, "if", &node->if_)
    ||  s_compile_keyword (compiler, json, "then", &node->then_)
    ||  s_compile_keyword (compiler, json, "else", &node->else_))
        return -1;
    node->in_place = node->ref_text || node->dynamic_ref_text || node->all_of.count
                  || node->any_of.count || node->one_of.count || node->not_ || node->if_
                  || node->dependent_schema_count;
    node->tracks = node->unevaluated_properties || node->unevaluated_items;
    return 0;
}

static s_node_t *
s_compile (s_compiler_t *compiler, json_t *json)
{
    char key [32];
    snprintf (key, sizeof (key), "%p", (void *) json);
    s_node_t *node = (s_node_t *) zhashx_lookup (compiler->compiled, key);
    if (node)
        return node;                //  reached by a reference before
    if (!json_is_boolean (json) && !json_is_object (json)) {
        s_refuse (compiler, "a schema must be an object or a boolean");
        return NULL;
    }
    node = s_node_new (compiler, json);
    if (json_is_boolean (json)) {
        node->always = json_is_true (json)? 1: -1;
        return node;
    }
    json_t *value;
    unsigned vocabularies = compiler->vocabularies;
    if (s_check_keywords (compiler, json)
    ||  s_compile_refs (compiler, json, node)
    ||  ((value = json_object_get (json, "type")) && s_compile_types (compiler, value, node))
    ||  s_compile_object (compiler, json, node)
    ||  s_compile_array (compiler, json, node)
    ||  s_compile_scalar (compiler, json, node)
    ||  s_compile_in_place (compiler, json, node))
        node = NULL;
    compiler->vocabularies = vocabularies;
    return node;
}

//  ---------------------------------------------------------------------
//  References

//  The node a reference names, compiled if no other reached it yet
static s_node_t *
s_target (s_compiler_t *compiler, s_node_t *node, const char *ref, bool *dynamic)
{
    char *uri;
    if (strstr (ref, "json-schema.org/draft/2020-12/"))
        s_add_meta (compiler);
    json_t *target = zeb_schema_index_resolve (compiler->index, node->base? node->base: "", ref,
                                               &uri, dynamic, compiler->fault);
    s_node_t *resolved = NULL;
    if (target) {
        char *hash = strchr (uri, '#');
        if (hash)
            *hash = 0;
        if (json_is_object (target) && !zeb_schema_index_base (compiler->index, target))
            zeb_schema_index_add (compiler->index, target, uri);
        snprintf (compiler->where, sizeof (compiler->where), "%s", hash? hash + 1: "");
        resolved = s_compile (compiler, target);
        compiler->where [0] = 0;
    }
    free (uri);
    return resolved;
}

static int
s_resolve_dynamic (s_compiler_t *compiler, s_node_t *node)
{
    bool dynamic;
    node->dynamic_ref = s_target (compiler, node, node->dynamic_ref_text, &dynamic);
    if (!node->dynamic_ref)
        return -1;
    const char *hash = strchr (node->dynamic_ref_text, '#');
    if (!dynamic || !hash)
        return 0;                   //  a plain $ref
    node->dynamic_name = strdup (hash + 1);
    compiler->schema->dynamic = true;
    return 0;
}

//  A "$dynamicAnchor" of a resource the schema reaches, compiled, on that
//  resource (once); anchors of resources nothing reaches are left alone
static int
s_add_anchor (void *arg, const char *uri, const char *name, json_t *json)
{
    s_compiler_t *compiler = (s_compiler_t *) arg;
    zeb_schema_resource_t *resource =
        (zeb_schema_resource_t *) zhashx_lookup (compiler->schema->resources, uri);
    if (!resource)
        return 0;
    for (size_t index = 0; index < resource->anchor_count; index++)
        if (streq (resource->anchors [index].name, name))
            return 0;
    s_node_t *node = s_compile (compiler, json);
    if (!node)
        return -1;
    resource->anchors = (s_property_t *) realloc (resource->anchors,
                                                  sizeof (s_property_t) * (resource->anchor_count + 1));
    assert (resource->anchors);
    resource->anchors [resource->anchor_count++] = (s_property_t) { strdup (name), strlen (name), node, -1 };
    return 0;
}

//  A dynamic reference may reach every anchor of its name: the edges the
//  cycle check follows
static void
s_dynamic_targets (zeb_schema_t *self, s_node_t *node)
{
    for (zeb_schema_resource_t *resource = (zeb_schema_resource_t *) zhashx_first (self->resources);
         resource; resource = (zeb_schema_resource_t *) zhashx_next (self->resources))
        for (size_t index = 0; index < resource->anchor_count; index++)
            if (streq (resource->anchors [index].name, node->dynamic_name)) {
                s_list_t *list = &node->dynamic_targets;
                list->nodes = (s_node_t **) realloc (list->nodes, sizeof (s_node_t *) * (list->count + 1));
                assert (list->nodes);
                list->nodes [list->count++] = resource->anchors [index].schema;
            }
}

//  References, and the dynamic anchors of the resources reached, until
//  neither compiles another node
static int
s_resolve (s_compiler_t *compiler)
{
    zeb_schema_t *self = compiler->schema;
    size_t done = 0;
    do {
        //  Resolving compiles more nodes, which this loop then reaches
        for (; done < self->node_count; done++) {
            s_node_t *node = self->nodes [done];
            bool dynamic;
            if (node->ref_text && !(node->ref = s_target (compiler, node, node->ref_text, &dynamic)))
                return -1;
            if (node->dynamic_ref_text && s_resolve_dynamic (compiler, node))
                return -1;
        }
        if (zeb_schema_index_dynamic (compiler->index, s_add_anchor, compiler))
            return -1;
    } while (done < self->node_count);
    for (size_t index = 0; index < self->node_count; index++)
        if (self->nodes [index]->dynamic_name)
            s_dynamic_targets (self, self->nodes [index]);
    return 0;
}

//  ---------------------------------------------------------------------
//  Recursion that consumes no data
//
//  $ref, $dynamicRef, allOf, anyOf, oneOf, not, if, then, else and
//  dependentSchemas apply a subschema to the same value; the others to a
//  part of it. A cycle of the first kind alone would apply the same
//  schemas to the same value forever, and is refused; a cycle through the
//  second kind ends when the data does (a tree of "child" properties).

//  The index-th subschema applied to the same value as node, or NULL
static s_node_t *
s_same_value_edge (s_node_t *node, size_t index)
{
    s_node_t *singles [] = { node->ref, node->dynamic_ref, node->not_, node->if_, node->then_, node->else_ };
    for (size_t single = 0; single < sizeof (singles) / sizeof (singles [0]); single++)
        if (singles [single]) {
            if (index == 0)
                return singles [single];
            index--;
        }
    s_list_t *lists [] = { &node->all_of, &node->any_of, &node->one_of, &node->dynamic_targets };
    for (size_t list = 0; list < sizeof (lists) / sizeof (lists [0]); list++) {
        if (index < lists [list]->count)
            return lists [list]->nodes [index];
        index -= lists [list]->count;
    }
    return index < node->dependent_schema_count? node->dependent_schemas [index].schema: NULL;
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
                          "data (through $ref, allOf, anyOf, oneOf, not...): %s", path);
}

//  Depth-first over the same-value edges of every node, on a stack of its
//  own (a chain of $defs can be as long as the schema): a node reached
//  again while still open closes a cycle. Returns 0 or ZEB_EBADSCHEMA.
static int
s_check_cycles (zeb_schema_t *self, zeb_fault_t *fault)
{
    s_frame_t *stack = (s_frame_t *) zmalloc (sizeof (s_frame_t) * (self->node_count + 1));
    int rc = 0;
    for (size_t index = 0; index < self->node_count && rc == 0; index++) {
        s_node_t *start = self->nodes [index];
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
    }
    free (stack);
    return rc;
}

//  The options' documents, parsed into the compiler's documents (which keeps them
//  for the index) and indexed by their URIs
static int
s_add_documents (s_compiler_t *compiler)
{
    for (size_t index = 0; index < compiler->options->document_count; index++) {
        const zeb_schema_document_t *document = &compiler->options->documents [index];
        json_error_t json_error;
        json_t *json = document->json && document->uri
            ? json_loadb (document->json, document->len,
                          JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &json_error)
            : NULL;
        if (!json)
            return zeb_fault_set (compiler->fault, ZEB_EBADSCHEMA, "schema: document '%.80s' is "
                                  "not JSON", document->uri? document->uri: "(no URI)");
        json_array_append_new (compiler->documents, json);
        zeb_schema_index_add_document (compiler->index, json, document->uri);
    }
    return 0;
}

zeb_schema_t *
zeb_schema_new (const char *text, size_t len, zeb_fault_t *fault)
{
    return zeb_schema_new_with (text, len, NULL, fault);
}

zeb_schema_t *
zeb_schema_new_with (const char *text, size_t len, const zeb_schema_options_t *options,
                     zeb_fault_t *fault)
{
    zeb_schema_options_t defaults = { 0 };
    if (!options)
        options = &defaults;
    if (options->max_depth > ZEB_SCHEMA_DEPTH_MAX) {
        zeb_fault_set (fault, ZEB_EBADSCHEMA, "schema: a depth of %zu is past the most "
                       "allowed, %d", options->max_depth, ZEB_SCHEMA_DEPTH_MAX);
        return NULL;
    }
    json_error_t json_error;
    json_t *json = json_loadb (text, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL,
                               &json_error);
    if (!json) {
        zeb_fault_set (fault, ZEB_EBADSCHEMA, "schema is not JSON: %s at line %d",
                       json_error.text, json_error.line);
        return NULL;
    }
    zeb_schema_t *self = (zeb_schema_t *) zmalloc (sizeof (zeb_schema_t));
    self->resources = zhashx_new ();
    zhashx_set_destructor (self->resources, s_resource_free);
    self->max_depth = options->max_depth? options->max_depth: ZEB_SCHEMA_DEPTH_DEFAULT;
    s_compiler_t compiler = {
        self, fault, options, zeb_schema_index_new (json, ""), zhashx_new (), "",
        json_array (), false, S_VOCAB_STANDARD
    };
    self->root = s_add_documents (&compiler)? NULL: s_compile (&compiler, json);
    if (self->root && s_resolve (&compiler))
        self->root = NULL;
    if (self->root && s_check_cycles (self, fault))
        self->root = NULL;
    if (self->root)
        zeb_schema_fast_prepare (self);
    zhashx_destroy (&compiler.compiled);
    zeb_schema_index_destroy (&compiler.index);
    json_decref (compiler.documents);
    for (size_t index = 0; index < self->node_count; index++)
        self->nodes [index]->base = NULL;       //  the index's, gone
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
        for (size_t index = 0; index < self->node_count; index++)
            s_node_free (self->nodes [index]);
        free (self->nodes);
        zhashx_destroy (&self->resources);
        free (self);
        *self_p = NULL;
    }
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
                                        sizeof (s_property_t), zeb_schema_compare_property)
            : NULL;
        if (property)
            return s_types_at (property->schema, steps + 1, count - 1, depth + 1);
        if (node->pattern_property_count)
            return S_ALL_TYPES;     //  unsure: the name may match a pattern
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
    //  Most events are valid: the fast walk says so where it can, and
    //  the full one answers every other case, with the error
    if (zeb_schema_fast_valid (self, data, size))
        return 0;
    return zeb_schema_walk (self, data, size, error);
}
