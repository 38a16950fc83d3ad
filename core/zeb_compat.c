/*  =========================================================================
    zeb_compat - schema compatibility: what a new version breaks, and for whom
    =========================================================================
*/

#include "zeb_classes.h"
#include "zeb_schema_private.h"
#include <math.h>

#define S_MAX_DEPTH     32

static const char *s_modes [] = {
    "NONE", "BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FORWARD_TRANSITIVE",
    "FULL", "FULL_TRANSITIVE"
};

int
zeb_compat_mode_parse (const char *name, zeb_compat_mode_t *mode)
{
    for (size_t index = 0; name && index < sizeof (s_modes) / sizeof (s_modes [0]); index++)
        if (strcasecmp (name, s_modes [index]) == 0) {
            *mode = (zeb_compat_mode_t) index;
            return 0;
        }
    return -1;
}

const char *
zeb_compat_mode_name (zeb_compat_mode_t mode)
{
    return (size_t) mode < sizeof (s_modes) / sizeof (s_modes [0])? s_modes [mode]: "NONE";
}

//  ---------------------------------------------------------------------
//  The diff: where does the reading schema R refuse what the writing
//  schema W allows? Backward: R is the new schema, W the old; forward: R
//  is the old, W the new. Reasons are named after the change, old to new.

//  A pair of schemas s_same is comparing
typedef struct {
    json_t *reader, *writer;
} s_pair_t;

typedef struct {
    json_t *root_r, *root_w;        //  whole documents, for $ref
    zeb_schema_index_t *index_r, *index_w;
    s_pair_t same [S_MAX_DEPTH];    //  the pairs s_same is inside
    int same_depth;
    bool forward;
    int version;
    zeb_compat_reason_t *reasons;
    size_t max, count;
    char path [160];
    int depth;
} s_diff_t;

static void
s_report (s_diff_t *diff, const char *backward, const char *forward)
{
    if (diff->count < diff->max) {
        zeb_compat_reason_t *reason = &diff->reasons [diff->count];
        snprintf (reason->reason, sizeof (reason->reason), "%s", diff->forward? forward: backward);
        snprintf (reason->path, sizeof (reason->path), "%s", diff->path [0]? diff->path: "/");
        reason->breaks = diff->forward? "forward": "backward";
        reason->version = diff->version;
    }
    diff->count++;
}

static size_t
s_enter (s_diff_t *diff, const char *first, const char *second)
{
    size_t mark = strlen (diff->path);
    snprintf (diff->path + mark, sizeof (diff->path) - mark, "/%s%s%s", first,
              second? "/": "", second? second: "");
    return mark;
}

//  The schema a "$ref" names, as zeb_schema resolves it (URIs, $id,
//  anchors, JSON Pointers), or NULL if it names nothing in the document
static json_t *
s_ref_target (zeb_schema_index_t *index, json_t *schema)
{
    const char *ref = json_string_value (json_object_get (schema, "$ref"));
    const char *base = zeb_schema_index_base (index, schema);
    char *uri;
    bool dynamic;
    json_t *target = ref? zeb_schema_index_resolve (index, base? base: "", ref, &uri, &dynamic, NULL)
                        : NULL;
    if (ref)
        free (uri);
    if (target && json_is_object (target) && !zeb_schema_index_base (index, target))
        zeb_schema_index_add (index, target, base? base: "");
    return target;
}

static bool
    s_has_ref_with_siblings (json_t *schema);

//  Follow a pure "$ref" to its target; one that resolves to nothing is
//  left as it is, for s_covers to report
static json_t *
s_resolve (zeb_schema_index_t *index, json_t *schema)
{
    for (int hops = 0; hops < 8 && json_is_object (schema); hops++) {
        if (!json_is_string (json_object_get (schema, "$ref")) || s_has_ref_with_siblings (schema))
            break;
        json_t *target = s_ref_target (index, schema);
        if (!target)
            break;
        schema = target;
    }
    return schema;
}

static bool
    s_same (s_diff_t *diff, json_t *reader, json_t *writer);

//  Two objects with the same keys and the same values; "$ref" is
//  compared by what it names, values that are data (enum, const...) as
//  JSON
//  Keywords that do not change what a schema accepts
static bool
s_is_annotation (const char *key)
{
    static const char *annotations [] = {
        "$comment", "title", "description", "default", "examples", "deprecated", "readOnly",
        "writeOnly", "contentEncoding", "contentMediaType", "contentSchema"
    };
    for (size_t index = 0; index < sizeof (annotations) / sizeof (annotations [0]); index++)
        if (streq (key, annotations [index]))
            return true;
    return false;
}

static size_t
s_keyword_count (json_t *schema)
{
    size_t count = 0;
    const char *key;
    json_t *value;
    json_object_foreach (schema, key, value)
        count += !s_is_annotation (key);
    return count;
}

//  Two objects with the same keys and the same values, annotations
//  aside; "$ref" is compared by what it names, values that are data
//  (enum, const) as JSON
static bool
s_same_object (s_diff_t *diff, json_t *reader, json_t *writer)
{
    if (s_keyword_count (reader) != s_keyword_count (writer))
        return false;
    if (json_object_get (reader, "$dynamicRef") || json_object_get (writer, "$dynamicRef"))
        return false;               //  depends on the dynamic scope: not compared
    const char *key;
    json_t *value;
    json_object_foreach (reader, key, value) {
        if (s_is_annotation (key))
            continue;
        json_t *other = json_object_get (writer, key);
        if (!other)
            return false;
        if (streq (key, "$ref")) {
            json_t *r_target = s_ref_target (diff->index_r, reader);
            json_t *w_target = s_ref_target (diff->index_w, writer);
            if (!r_target || !w_target || !s_same (diff, r_target, w_target))
                return false;
        }
        else
        if (streq (key, "enum") || streq (key, "const")? !json_equal (value, other)
                                                       : !s_same (diff, value, other))
            return false;
    }
    return true;
}

//  Whether two schemas (or parts of them) accept the same instances as
//  far as their text shows, following references on both sides. A pair
//  met again inside its own comparison is taken as the same (recursion);
//  past S_MAX_DEPTH nothing is.
static bool
s_same (s_diff_t *diff, json_t *reader, json_t *writer)
{
    if (json_typeof (reader) != json_typeof (writer))
        return false;
    if (!json_is_object (reader) && !json_is_array (reader))
        return json_equal (reader, writer);
    for (int index = 0; index < diff->same_depth; index++)
        if (diff->same [index].reader == reader && diff->same [index].writer == writer)
            return true;
    if (diff->same_depth == S_MAX_DEPTH)
        return false;
    diff->same [diff->same_depth++] = (s_pair_t) { reader, writer };
    bool same = true;
    if (json_is_array (reader)) {
        same = json_array_size (reader) == json_array_size (writer);
        for (size_t index = 0; same && index < json_array_size (reader); index++)
            same = s_same (diff, json_array_get (reader, index), json_array_get (writer, index));
    }
    else
        same = s_same_object (diff, reader, writer);
    diff->same_depth--;
    return same;
}

//  Keywords the diff does not analyse: any difference in one (following
//  references) is reported both ways, as COMBINATOR_CHANGED for the
//  combinators, KEYWORD_CHANGED for the others
static const char *s_combinators [] = { "anyOf", "oneOf", "allOf", "not", NULL };
static const char *s_unanalysed [] = {
    "if", "then", "else", "dependentSchemas", "dependentRequired", "propertyNames",
    "contains", "minContains", "maxContains", "$dynamicRef", "$dynamicAnchor", NULL
};

//  Reports the first keyword of the list whose value differs; true if one did
static bool
s_unanalysed_changed (s_diff_t *diff, json_t *reader, json_t *writer, const char **keywords,
                      const char *reason)
{
    for (const char **keyword = keywords; *keyword; keyword++) {
        json_t *r_value = json_object_get (reader, *keyword);
        json_t *w_value = json_object_get (writer, *keyword);
        //  Where a $dynamicRef leads depends on the whole document, which differs
        bool dynamic = streq (*keyword, "$dynamicRef");
        if ((r_value || w_value)
        &&  (dynamic || !r_value || !w_value || !s_same (diff, r_value, w_value))) {
            size_t mark = s_enter (diff, *keyword, NULL);
            s_report (diff, reason, reason);
            diff->path [mark] = 0;
            return true;
        }
    }
    return false;
}

//  A "$schema" other than draft 2020-12's meta-schema brings that
//  meta-schema's vocabularies, which decide what the keywords mean: a
//  change of it is reported both ways
static bool
s_standard_meta (json_t *schema)
{
    const char *uri = json_string_value (json_object_get (schema, "$schema"));
    return !uri || streq (uri, "https://json-schema.org/draft/2020-12/schema")
        || streq (uri, "https://json-schema.org/draft/2020-12/schema#");
}

static void
s_meta_changed (s_diff_t *diff, json_t *reader, json_t *writer)
{
    if (s_standard_meta (reader) && s_standard_meta (writer))
        return;
    json_t *r_value = json_object_get (reader, "$schema");
    json_t *w_value = json_object_get (writer, "$schema");
    if (!r_value || !w_value || !json_equal (r_value, w_value)) {
        size_t mark = s_enter (diff, "$schema", NULL);
        s_report (diff, "KEYWORD_CHANGED", "KEYWORD_CHANGED");
        diff->path [mark] = 0;
    }
}

//  A node the diff cannot take apart: unevaluatedProperties and
//  unevaluatedItems depend on every keyword beside them; patternProperties
//  on the names properties and additionalProperties see. Reported, both
//  ways, if anything in the node differs; true if so.
static bool
s_entangled_changed (s_diff_t *diff, json_t *reader, json_t *writer)
{
    static const char *whole [] = { "unevaluatedProperties", "unevaluatedItems", NULL };
    for (const char **keyword = whole; *keyword; keyword++)
        if ((json_object_get (reader, *keyword) || json_object_get (writer, *keyword))
        &&  !s_same (diff, reader, writer)) {
            size_t mark = s_enter (diff, *keyword, NULL);
            s_report (diff, "KEYWORD_CHANGED", "KEYWORD_CHANGED");
            diff->path [mark] = 0;
            return true;
        }
    static const char *model [] = { "patternProperties", "properties", "additionalProperties", NULL };
    if (json_object_get (reader, "patternProperties") || json_object_get (writer, "patternProperties")) {
        for (const char **keyword = model; *keyword; keyword++) {
            json_t *r_value = json_object_get (reader, *keyword);
            json_t *w_value = json_object_get (writer, *keyword);
            if ((r_value || w_value) && (!r_value || !w_value || !s_same (diff, r_value, w_value))) {
                size_t mark = s_enter (diff, "patternProperties", NULL);
                s_report (diff, "KEYWORD_CHANGED", "KEYWORD_CHANGED");
                diff->path [mark] = 0;
                return true;
            }
        }
    }
    return false;
}

static bool
s_has_ref_with_siblings (json_t *schema)
{
    if (!json_is_object (schema) || !json_object_get (schema, "$ref"))
        return false;
    static const char *annotations [] = {
        "$ref", "$defs", "$schema", "$id", "$comment", "title", "description", "default",
        "examples", "deprecated", "readOnly", "writeOnly"
    };
    const char *key;
    json_t *value;
    json_object_foreach (schema, key, value) {
        size_t index;
        for (index = 0; index < sizeof (annotations) / sizeof (annotations [0]); index++)
            if (streq (key, annotations [index]))
                break;
        if (index == sizeof (annotations) / sizeof (annotations [0]))
            return true;
    }
    return false;
}

enum {
    S_NULL = 1, S_BOOLEAN = 2, S_INTEGER = 4, S_NUMBER = 8, S_STRING = 16, S_ARRAY = 32,
    S_OBJECT = 64, S_ALL = 127
};

static unsigned
s_types (json_t *schema)
{
    json_t *type = json_object_get (schema, "type");
    if (!type)
        return S_ALL;
    static const char *names [] = { "null", "boolean", "integer", "number", "string", "array", "object" };
    unsigned types = 0;
    for (size_t index = 0; index < (json_is_array (type)? json_array_size (type): 1); index++) {
        const char *name = json_string_value (json_is_array (type)? json_array_get (type, index): type);
        for (size_t bit = 0; name && bit < 7; bit++)
            if (streq (name, names [bit]))
                types |= 1u << bit;
    }
    //  A number type takes integers too
    if (types & S_NUMBER)
        types |= S_INTEGER;
    return types;
}

//  A number keyword, or NAN if absent
static double
s_number (json_t *schema, const char *keyword)
{
    json_t *value = json_object_get (schema, keyword);
    return json_is_number (value)? json_number_value (value): NAN;
}

//  A count limit (minLength, maxItems...): does the reader's refuse counts
//  the writer's allows? A missing lower limit is 0, a missing upper one
//  is no limit
static void
s_limit (s_diff_t *diff, json_t *reader, json_t *writer, const char *keyword, bool lower,
         const char *backward, const char *forward)
{
    double r = s_number (reader, keyword), w = s_number (writer, keyword);
    if (isnan (r))
        return;
    if (lower? r > (isnan (w)? 0: w): (isnan (w) || w > r))
        s_report (diff, backward, forward);
}

static bool
s_in_array (json_t *array, json_t *value)
{
    for (size_t index = 0; index < json_array_size (array); index++)
        if (json_equal (json_array_get (array, index), value))
            return true;
    return false;
}

//  Is the model closed (additionalProperties: false)?
static bool
s_closed (json_t *schema)
{
    return json_is_false (json_object_get (schema, "additionalProperties"));
}

static void
    s_covers (s_diff_t *diff, json_t *reader, json_t *writer);

static void
s_covers_at (s_diff_t *diff, json_t *reader, json_t *writer, const char *first, const char *second)
{
    size_t mark = s_enter (diff, first, second);
    s_covers (diff, reader, writer);
    diff->path [mark] = 0;
}

static void
s_covers_object (s_diff_t *diff, json_t *reader, json_t *writer)
{
    json_t *r_properties = json_object_get (reader, "properties");
    json_t *w_properties = json_object_get (writer, "properties");
    json_t *r_additional = json_object_get (reader, "additionalProperties");
    json_t *w_additional = json_object_get (writer, "additionalProperties");
    bool r_closed = s_closed (reader), w_closed = s_closed (writer);
    const char *name;
    json_t *r_property, *w_property;
    //  Properties the writer defines
    json_object_foreach (w_properties, name, w_property) {
        r_property = json_object_get (r_properties, name);
        if (r_property)
            s_covers_at (diff, r_property, w_property, "properties", name);
        else
        if (r_closed) {
            size_t mark = s_enter (diff, "properties", name);
            s_report (diff, "PROPERTY_REMOVED", "PROPERTY_ADDED_TO_CLOSED_MODEL");
            diff->path [mark] = 0;
        }
        else
        if (json_is_object (r_additional))
            s_covers_at (diff, r_additional, w_property, "properties", name);
    }
    //  Properties only the reader constrains: the writer's events may carry
    //  them, with any value, unless its model is closed
    json_object_foreach (r_properties, name, r_property) {
        if (json_object_get (w_properties, name) || w_closed || json_is_true (r_property))
            continue;
        if (json_is_object (r_property) && json_object_size (r_property) == 0)
            continue;               //  {} constrains nothing
        size_t mark = s_enter (diff, "properties", name);
        if (json_is_object (w_additional))
            s_covers (diff, r_property, w_additional);
        else
            s_report (diff, "PROPERTY_ADDED_TO_OPEN_MODEL", "PROPERTY_REMOVED");
        diff->path [mark] = 0;
    }
    //  The rest of the model
    if (r_closed && !w_closed)
        s_report (diff, "ADDITIONAL_PROPERTIES_NARROWED", "ADDITIONAL_PROPERTIES_WIDENED");
    else
    if (json_is_object (r_additional) && !w_closed) {
        size_t mark = s_enter (diff, "additionalProperties", NULL);
        s_covers (diff, r_additional, json_is_object (w_additional)? w_additional: json_true ());
        diff->path [mark] = 0;
    }
    json_t *required = json_object_get (reader, "required");
    json_t *w_required = json_object_get (writer, "required");
    for (size_t index = 0; index < json_array_size (required); index++) {
        json_t *one = json_array_get (required, index);
        if (!s_in_array (w_required, one)) {
            size_t mark = s_enter (diff, "required", json_string_value (one));
            s_report (diff, "REQUIRED_ADDED", "REQUIRED_REMOVED");
            diff->path [mark] = 0;
        }
    }
    s_limit (diff, reader, writer, "minProperties", true,
             "MIN_PROPERTIES_INCREASED", "MIN_PROPERTIES_DECREASED");
    s_limit (diff, reader, writer, "maxProperties", false,
             "MAX_PROPERTIES_DECREASED", "MAX_PROPERTIES_INCREASED");
}

static void
s_covers_array (s_diff_t *diff, json_t *reader, json_t *writer)
{
    json_t *r_items = json_object_get (reader, "items");
    json_t *w_items = json_object_get (writer, "items");
    json_t *r_prefix = json_object_get (reader, "prefixItems");
    json_t *w_prefix = json_object_get (writer, "prefixItems");
    size_t positions = json_array_size (r_prefix) > json_array_size (w_prefix)
                     ? json_array_size (r_prefix): json_array_size (w_prefix);
    //  Position by position: what each side applies there
    for (size_t index = 0; index < positions; index++) {
        json_t *r_one = index < json_array_size (r_prefix)? json_array_get (r_prefix, index): r_items;
        json_t *w_one = index < json_array_size (w_prefix)? json_array_get (w_prefix, index): w_items;
        if (!r_one)
            continue;
        char position [24];
        snprintf (position, sizeof (position), "%zu", index);
        s_covers_at (diff, r_one, w_one? w_one: json_true (), "prefixItems", position);
    }
    if (r_items)
        s_covers_at (diff, r_items, w_items? w_items: json_true (), "items", NULL);
    s_limit (diff, reader, writer, "minItems", true, "MIN_ITEMS_INCREASED", "MIN_ITEMS_DECREASED");
    s_limit (diff, reader, writer, "maxItems", false, "MAX_ITEMS_DECREASED", "MAX_ITEMS_INCREASED");
    if (json_is_true (json_object_get (reader, "uniqueItems"))
    &&  !json_is_true (json_object_get (writer, "uniqueItems")))
        s_report (diff, "UNIQUE_ITEMS_ADDED", "UNIQUE_ITEMS_REMOVED");
}

static void
s_covers_string (s_diff_t *diff, json_t *reader, json_t *writer)
{
    s_limit (diff, reader, writer, "maxLength", false, "MAX_LENGTH_DECREASED", "MAX_LENGTH_INCREASED");
    s_limit (diff, reader, writer, "minLength", true, "MIN_LENGTH_INCREASED", "MIN_LENGTH_DECREASED");
    const char *keywords [] = { "pattern", "format" };
    const char *added [][3] = {
        { "PATTERN_ADDED", "PATTERN_REMOVED", "PATTERN_CHANGED" },
        { "FORMAT_ADDED", "FORMAT_REMOVED", "FORMAT_CHANGED" }
    };
    for (size_t index = 0; index < 2; index++) {
        json_t *r_value = json_object_get (reader, keywords [index]);
        json_t *w_value = json_object_get (writer, keywords [index]);
        if (!r_value || json_equal (r_value, w_value))
            continue;
        if (!w_value)
            s_report (diff, added [index][0], added [index][1]);
        else
            s_report (diff, added [index][2], added [index][2]);
    }
}

static void
s_covers_number (s_diff_t *diff, json_t *reader, json_t *writer)
{
    //  Effective bounds: the tighter of inclusive and exclusive
    double r = s_number (reader, "minimum"), w = s_number (writer, "minimum");
    double rx = s_number (reader, "exclusiveMinimum"), wx = s_number (writer, "exclusiveMinimum");
    if ((!isnan (r) && (isnan (w) || w < r) && (isnan (wx) || wx < r))
    ||  (!isnan (rx) && (isnan (wx) || wx < rx) && (isnan (w) || w <= rx)))
        s_report (diff, "MINIMUM_INCREASED", "MINIMUM_DECREASED");
    r = s_number (reader, "maximum"), w = s_number (writer, "maximum");
    rx = s_number (reader, "exclusiveMaximum"), wx = s_number (writer, "exclusiveMaximum");
    if ((!isnan (r) && (isnan (w) || w > r) && (isnan (wx) || wx > r))
    ||  (!isnan (rx) && (isnan (wx) || wx > rx) && (isnan (w) || w >= rx)))
        s_report (diff, "MAXIMUM_DECREASED", "MAXIMUM_INCREASED");
    r = s_number (reader, "multipleOf"), w = s_number (writer, "multipleOf");
    if (!isnan (r)) {
        //  Fine if every multiple of the writer's step is one of the reader's
        double ratio = isnan (w)? NAN: w / r;
        if (isnan (ratio) || fabs (ratio - round (ratio)) > 1e-9)
            s_report (diff, "MULTIPLE_OF_CHANGED", "MULTIPLE_OF_CHANGED");
    }
}

static void
s_covers_values (s_diff_t *diff, json_t *reader, json_t *writer)
{
    json_t *r_enum = json_object_get (reader, "enum");
    json_t *w_enum = json_object_get (writer, "enum");
    json_t *r_const = json_object_get (reader, "const");
    json_t *w_const = json_object_get (writer, "const");
    //  The values the writer may produce, when it lists them
    json_t *w_values = w_const? json_pack ("[O]", w_const): json_incref (w_enum);
    if (r_enum) {
        bool covered = w_values != NULL;
        for (size_t index = 0; covered && index < json_array_size (w_values); index++)
            covered = s_in_array (r_enum, json_array_get (w_values, index));
        if (!covered)
            s_report (diff, "ENUM_NARROWED", "ENUM_WIDENED");
    }
    if (r_const) {
        bool covered = w_values && json_array_size (w_values) > 0;
        for (size_t index = 0; covered && index < json_array_size (w_values); index++)
            covered = json_equal (r_const, json_array_get (w_values, index));
        if (!covered)
            s_report (diff, "CONST_CHANGED", "CONST_CHANGED");
    }
    json_decref (w_values);
}

static void
s_covers (s_diff_t *diff, json_t *reader, json_t *writer)
{
    if (++diff->depth > S_MAX_DEPTH) {
        diff->depth--;
        return;                     //  recursive schemas: compared down to here
    }
    if (s_has_ref_with_siblings (reader) || s_has_ref_with_siblings (writer)) {
        if (!s_same (diff, reader, writer))
            s_report (diff, "COMBINATOR_CHANGED", "COMBINATOR_CHANGED");
        diff->depth--;
        return;
    }
    reader = s_resolve (diff->index_r, reader);
    writer = s_resolve (diff->index_w, writer);
    //  Boolean schemas: true accepts all, false nothing
    if (!reader || json_is_true (reader) || json_is_false (writer)
    ||  (json_is_object (reader) && json_object_size (reader) == 0)) {
        diff->depth--;
        return;
    }
    if (json_is_false (reader)) {
        s_report (diff, "TYPE_CHANGED", "TYPE_CHANGED");
        diff->depth--;
        return;
    }
    //  A reference that names nothing zeb_schema resolves: compared whole
    if (json_object_get (reader, "$ref") || json_object_get (writer, "$ref")) {
        if (!s_same (diff, reader, writer))
            s_report (diff, "KEYWORD_CHANGED", "KEYWORD_CHANGED");
        diff->depth--;
        return;
    }
    if (!writer || json_is_true (writer))
        writer = json_object ();    //  allows everything
    else
        json_incref (writer);
    //  What is not analysed: any difference counts, both ways
    s_unanalysed_changed (diff, reader, writer, s_combinators, "COMBINATOR_CHANGED");
    s_unanalysed_changed (diff, reader, writer, s_unanalysed, "KEYWORD_CHANGED");
    s_meta_changed (diff, reader, writer);
    bool entangled = s_entangled_changed (diff, reader, writer);
    unsigned r_types = s_types (reader), w_types = s_types (writer);
    if ((w_types & ~r_types) != 0)
        s_report (diff, (w_types & r_types)? "TYPE_NARROWED": "TYPE_CHANGED",
                  (w_types & r_types)? "TYPE_WIDENED": "TYPE_CHANGED");
    unsigned both = r_types & w_types;
    s_covers_values (diff, reader, writer);
    if ((both & S_OBJECT) && !entangled)
        s_covers_object (diff, reader, writer);
    if (both & S_ARRAY)
        s_covers_array (diff, reader, writer);
    if (both & S_STRING)
        s_covers_string (diff, reader, writer);
    if (both & (S_NUMBER | S_INTEGER))
        s_covers_number (diff, reader, writer);
    json_decref (writer);
    diff->depth--;
}

//  One direction against one version; reasons go to the room left
static size_t
s_pass (json_t *reader, json_t *writer, bool forward, int version,
        zeb_compat_reason_t *reasons, size_t found, size_t max)
{
    if (json_equal (reader, writer))
        return 0;
    s_diff_t diff = { .root_r = reader, .root_w = writer, .forward = forward, .version = version,
                      .reasons = reasons? reasons + (found < max? found: max): NULL,
                      .max = found < max? max - found: 0 };
    diff.index_r = zeb_schema_index_new (reader, "");
    diff.index_w = zeb_schema_index_new (writer, "");
    s_covers (&diff, reader, writer);
    zeb_schema_index_destroy (&diff.index_r);
    zeb_schema_index_destroy (&diff.index_w);
    return diff.count;
}

size_t
zeb_compat_check (json_t *candidate, json_t **versions, const uint32_t *numbers, size_t count,
                  zeb_compat_mode_t mode, zeb_compat_reason_t *reasons, size_t max)
{
    assert (candidate);
    if (mode == ZEB_COMPAT_NONE || count == 0)
        return 0;
    bool transitive = mode == ZEB_COMPAT_BACKWARD_TRANSITIVE || mode == ZEB_COMPAT_FORWARD_TRANSITIVE
                   || mode == ZEB_COMPAT_FULL_TRANSITIVE;
    bool backward = mode != ZEB_COMPAT_FORWARD && mode != ZEB_COMPAT_FORWARD_TRANSITIVE;
    bool forward = mode != ZEB_COMPAT_BACKWARD && mode != ZEB_COMPAT_BACKWARD_TRANSITIVE;
    size_t found = 0;
    for (size_t index = transitive? 0: count - 1; index < count; index++) {
        int number = numbers? (int) numbers [index]: (int) index + 1;
        if (backward)       //  the new schema reads what the old one allowed
            found += s_pass (candidate, versions [index], false, number, reasons, found, max);
        if (forward)        //  the old schema reads what the new one allows
            found += s_pass (versions [index], candidate, true, number, reasons, found, max);
    }
    return found;
}

//  ---------------------------------------------------------------------
//  Self test

typedef struct {
    const char *old;
    const char *new;
    zeb_compat_mode_t mode;
    const char *expected;           //  "REASON@path ..." in any order; "" = compatible
} s_test_case_t;

#define S_OPEN_A    "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"}}}"
#define S_OPEN_AB   "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"},\"b\":{\"type\":\"integer\"}}}"
#define S_CLOSED_A  "{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{\"a\":{\"type\":\"string\"}}}"
#define S_CLOSED_AB "{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{\"a\":{\"type\":\"string\"},\"b\":{\"type\":\"integer\"}}}"

static const s_test_case_t s_cases [] = {
    //  Adding an optional property: open versus closed content models
    { S_OPEN_A, S_OPEN_AB, ZEB_COMPAT_BACKWARD, "PROPERTY_ADDED_TO_OPEN_MODEL@/properties/b" },
    { S_OPEN_A, S_OPEN_AB, ZEB_COMPAT_FORWARD, "" },
    { S_CLOSED_A, S_CLOSED_AB, ZEB_COMPAT_BACKWARD, "" },
    { S_CLOSED_A, S_CLOSED_AB, ZEB_COMPAT_FORWARD, "PROPERTY_ADDED_TO_CLOSED_MODEL@/properties/b" },
    //  Removing one
    { S_CLOSED_AB, S_CLOSED_A, ZEB_COMPAT_BACKWARD, "PROPERTY_REMOVED@/properties/b" },
    { S_CLOSED_AB, S_CLOSED_A, ZEB_COMPAT_FORWARD, "" },
    { S_OPEN_AB, S_OPEN_A, ZEB_COMPAT_BACKWARD, "" },
    { S_OPEN_AB, S_OPEN_A, ZEB_COMPAT_FORWARD, "PROPERTY_REMOVED@/properties/b" },
    { S_OPEN_AB, S_OPEN_A, ZEB_COMPAT_FULL, "PROPERTY_REMOVED@/properties/b" },
    //  Closing and opening the model
    { S_OPEN_A, S_CLOSED_A, ZEB_COMPAT_BACKWARD, "ADDITIONAL_PROPERTIES_NARROWED@/" },
    { S_CLOSED_A, S_OPEN_A, ZEB_COMPAT_FORWARD, "ADDITIONAL_PROPERTIES_WIDENED@/" },
    { S_CLOSED_A, S_OPEN_A, ZEB_COMPAT_BACKWARD, "" },
    //  required
    { S_OPEN_A, "{\"type\":\"object\",\"required\":[\"a\"],\"properties\":{\"a\":{\"type\":\"string\"}}}",
      ZEB_COMPAT_BACKWARD, "REQUIRED_ADDED@/required/a" },
    { S_OPEN_A, "{\"type\":\"object\",\"required\":[\"a\"],\"properties\":{\"a\":{\"type\":\"string\"}}}",
      ZEB_COMPAT_FORWARD, "" },
    { "{\"type\":\"object\",\"required\":[\"a\"],\"properties\":{\"a\":{\"type\":\"string\"}}}", S_OPEN_A,
      ZEB_COMPAT_FORWARD, "REQUIRED_REMOVED@/required/a" },
    //  Types
    { "{\"type\":\"string\"}", "{\"type\":\"integer\"}", ZEB_COMPAT_FULL,
      "TYPE_CHANGED@/ TYPE_CHANGED@/" },
    { "{\"type\":\"number\"}", "{\"type\":\"integer\"}", ZEB_COMPAT_BACKWARD, "TYPE_NARROWED@/" },
    { "{\"type\":\"number\"}", "{\"type\":\"integer\"}", ZEB_COMPAT_FORWARD, "" },
    { "{\"type\":\"integer\"}", "{\"type\":\"number\"}", ZEB_COMPAT_FULL, "TYPE_WIDENED@/" },
    { "{\"type\":\"string\"}", "{\"type\":[\"string\",\"null\"]}", ZEB_COMPAT_BACKWARD, "" },
    { "{\"type\":\"string\"}", "{\"type\":[\"string\",\"null\"]}", ZEB_COMPAT_FORWARD, "TYPE_WIDENED@/" },
    //  Values and strings
    { "{\"enum\":[\"a\",\"b\",\"c\"]}", "{\"enum\":[\"a\",\"b\"]}", ZEB_COMPAT_BACKWARD, "ENUM_NARROWED@/" },
    { "{\"enum\":[\"a\",\"b\",\"c\"]}", "{\"enum\":[\"a\",\"b\"]}", ZEB_COMPAT_FORWARD, "" },
    { "{\"enum\":[\"a\",\"b\"]}", "{\"enum\":[\"a\",\"b\",\"c\"]}", ZEB_COMPAT_FORWARD, "ENUM_WIDENED@/" },
    { "{\"type\":\"string\"}", "{\"type\":\"string\",\"enum\":[\"a\"]}", ZEB_COMPAT_BACKWARD, "ENUM_NARROWED@/" },
    { "{\"type\":\"string\",\"maxLength\":10}", "{\"type\":\"string\",\"maxLength\":5}", ZEB_COMPAT_BACKWARD,
      "MAX_LENGTH_DECREASED@/" },
    { "{\"type\":\"string\",\"maxLength\":10}", "{\"type\":\"string\",\"maxLength\":5}", ZEB_COMPAT_FORWARD, "" },
    { "{\"type\":\"string\"}", "{\"type\":\"string\",\"minLength\":3}", ZEB_COMPAT_BACKWARD,
      "MIN_LENGTH_INCREASED@/" },
    { "{\"type\":\"string\"}", "{\"type\":\"string\",\"pattern\":\"^A\"}", ZEB_COMPAT_BACKWARD, "PATTERN_ADDED@/" },
    { "{\"type\":\"string\",\"pattern\":\"^A\"}", "{\"type\":\"string\"}", ZEB_COMPAT_FORWARD, "PATTERN_REMOVED@/" },
    { "{\"type\":\"string\",\"pattern\":\"^A\"}", "{\"type\":\"string\",\"pattern\":\"^B\"}", ZEB_COMPAT_FULL,
      "PATTERN_CHANGED@/ PATTERN_CHANGED@/" },
    { "{\"type\":\"string\"}", "{\"type\":\"string\",\"format\":\"email\"}", ZEB_COMPAT_BACKWARD, "FORMAT_ADDED@/" },
    //  Numbers
    { "{\"type\":\"number\",\"minimum\":0}", "{\"type\":\"number\",\"minimum\":1}", ZEB_COMPAT_BACKWARD,
      "MINIMUM_INCREASED@/" },
    { "{\"type\":\"number\",\"minimum\":0}", "{\"type\":\"number\",\"exclusiveMinimum\":0}",
      ZEB_COMPAT_BACKWARD, "MINIMUM_INCREASED@/" },
    { "{\"type\":\"number\",\"maximum\":10}", "{\"type\":\"number\",\"maximum\":20}", ZEB_COMPAT_FULL,
      "MAXIMUM_INCREASED@/" },
    { "{\"type\":\"number\",\"multipleOf\":0.5}", "{\"type\":\"number\",\"multipleOf\":1}",
      ZEB_COMPAT_BACKWARD, "MULTIPLE_OF_CHANGED@/" },
    { "{\"type\":\"number\",\"multipleOf\":1}", "{\"type\":\"number\",\"multipleOf\":0.5}",
      ZEB_COMPAT_BACKWARD, "" },
    //  Arrays, nested paths
    { "{\"type\":\"object\",\"properties\":{\"items\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
      "\"properties\":{\"sku\":{\"type\":\"string\"}}}}}}",
      "{\"type\":\"object\",\"properties\":{\"items\":{\"type\":\"array\",\"maxItems\":10,\"items\":{\"type\":\"object\","
      "\"properties\":{\"sku\":{\"type\":\"integer\"}}}}}}", ZEB_COMPAT_BACKWARD,
      "TYPE_CHANGED@/properties/items/items/properties/sku MAX_ITEMS_DECREASED@/properties/items" },
    { "{\"type\":\"array\"}", "{\"type\":\"array\",\"uniqueItems\":true}", ZEB_COMPAT_BACKWARD,
      "UNIQUE_ITEMS_ADDED@/" },
    //  $ref into $defs is followed
    { "{\"$defs\":{\"sku\":{\"type\":\"string\"}},\"properties\":{\"s\":{\"$ref\":\"#/$defs/sku\"}}}",
      "{\"$defs\":{\"sku\":{\"type\":\"string\",\"maxLength\":8}},\"properties\":{\"s\":{\"$ref\":\"#/$defs/sku\"}}}",
      ZEB_COMPAT_BACKWARD, "MAX_LENGTH_DECREASED@/properties/s" },
    //  Combinators are compared as a whole
    { "{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"null\"}]}", "{\"anyOf\":[{\"type\":\"string\"}]}",
      ZEB_COMPAT_BACKWARD, "COMBINATOR_CHANGED@/" },
    //  Keywords not analysed: any change, both ways, references followed
    { "{\"type\":\"integer\"}", "{\"type\":\"integer\",\"if\":{\"minimum\":5},\"then\":{\"maximum\":10}}",
      ZEB_COMPAT_BACKWARD, "KEYWORD_CHANGED@/if" },
    { "{\"type\":\"object\"}", "{\"type\":\"object\",\"dependentRequired\":{\"a\":[\"b\"]}}",
      ZEB_COMPAT_BACKWARD, "KEYWORD_CHANGED@/dependentRequired" },
    { "{\"type\":\"array\",\"contains\":{\"type\":\"string\"}}",
      "{\"type\":\"array\",\"contains\":{\"type\":\"string\"},\"minContains\":2}",
      ZEB_COMPAT_BACKWARD, "KEYWORD_CHANGED@/minContains" },
    { "{\"type\":\"object\",\"propertyNames\":{\"maxLength\":3}}", "{\"type\":\"object\"}",
      ZEB_COMPAT_FORWARD, "KEYWORD_CHANGED@/propertyNames" },
    { "{\"anyOf\":[{\"$ref\":\"#/$defs/a\"}],\"$defs\":{\"a\":{\"type\":\"string\"}}}",
      "{\"anyOf\":[{\"$ref\":\"#/$defs/a\"}],\"$defs\":{\"a\":{\"type\":\"integer\"}}}",
      ZEB_COMPAT_BACKWARD, "COMBINATOR_CHANGED@/anyOf" },
    { "{\"anyOf\":[{\"$ref\":\"#/$defs/a\"}],\"$defs\":{\"a\":{\"type\":\"string\"}}}",
      "{\"anyOf\":[{\"$ref\":\"#/$defs/b\"}],\"$defs\":{\"b\":{\"type\":\"string\",\"title\":\"b\"}}}",
      ZEB_COMPAT_FULL, "" },
    //  patternProperties decides what properties and additionalProperties see
    { "{\"type\":\"object\",\"additionalProperties\":false,\"patternProperties\":{\"^x\":{\"type\":\"string\"}}}",
      "{\"type\":\"object\",\"additionalProperties\":false,\"patternProperties\":{\"^x\":{\"type\":\"string\"}},"
      "\"properties\":{\"xb\":{\"type\":\"integer\"}}}", ZEB_COMPAT_BACKWARD, "KEYWORD_CHANGED@/patternProperties" },
    //  unevaluated* depend on the whole node, and on what $ref names
    { "{\"properties\":{\"a\":true},\"unevaluatedProperties\":false}",
      "{\"properties\":{\"a\":true,\"b\":{\"type\":\"string\"}},\"unevaluatedProperties\":false}",
      ZEB_COMPAT_FORWARD, "KEYWORD_CHANGED@/unevaluatedProperties" },
    { "{\"$ref\":\"#/$defs/base\",\"unevaluatedProperties\":false,\"$defs\":{\"base\":{\"properties\":{\"a\":true,\"b\":true}}}}",
      "{\"$ref\":\"#/$defs/base\",\"unevaluatedProperties\":false,\"$defs\":{\"base\":{\"properties\":{\"a\":true}}}}",
      ZEB_COMPAT_BACKWARD, "COMBINATOR_CHANGED@/" },
    { "{\"properties\":{\"child\":{\"$ref\":\"#\"},\"n\":true},\"unevaluatedProperties\":false}",
      "{\"title\":\"tree\",\"properties\":{\"child\":{\"$ref\":\"#\"},\"n\":true},\"unevaluatedProperties\":false}",
      ZEB_COMPAT_FULL, "" },
    //  References resolved as the validator does: pointers, nested $defs, anchors
    { "{\"properties\":{\"x\":{\"$defs\":{\"a\":{\"type\":\"string\"}},\"$ref\":\"#/properties/x/$defs/a\"}}}",
      "{\"properties\":{\"x\":{\"$defs\":{\"a\":{\"type\":\"string\",\"maxLength\":3}},\"$ref\":\"#/properties/x/$defs/a\"}}}",
      ZEB_COMPAT_BACKWARD, "MAX_LENGTH_DECREASED@/properties/x" },
    { "{\"$defs\":{\"a\":{\"$anchor\":\"s\",\"type\":\"string\"}},\"properties\":{\"x\":{\"$ref\":\"#s\"}}}",
      "{\"$defs\":{\"a\":{\"$anchor\":\"s\",\"type\":\"string\",\"maxLength\":3}},\"properties\":{\"x\":{\"$ref\":\"#s\"}}}",
      ZEB_COMPAT_BACKWARD, "MAX_LENGTH_DECREASED@/properties/x" },
    { "{\"$dynamicAnchor\":\"t\",\"properties\":{\"c\":{\"$dynamicRef\":\"#t\"}}}",
      "{\"$dynamicAnchor\":\"t\",\"properties\":{\"c\":{\"$dynamicRef\":\"#t\"}},\"required\":[]}",
      ZEB_COMPAT_FULL, "KEYWORD_CHANGED@/properties/c/$dynamicRef KEYWORD_CHANGED@/properties/c/$dynamicRef" },
    //  "$schema": the standard meta-schema named or not is the same; another
    //  one (its vocabularies decide what keywords mean) is a change
    { "{\"type\":\"object\"}",
      "{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\",\"type\":\"object\"}",
      ZEB_COMPAT_FULL, "" },
    { "{\"type\":\"object\",\"required\":[\"a\"]}",
      "{\"$schema\":\"https://json-schema.org/draft/2020-12/meta/applicator\",\"type\":\"object\",\"required\":[\"a\"]}",
      ZEB_COMPAT_FULL, "KEYWORD_CHANGED@/$schema KEYWORD_CHANGED@/$schema" },
    //  Identical, and NONE
    { S_OPEN_AB, S_OPEN_AB, ZEB_COMPAT_FULL_TRANSITIVE, "" },
    { "{\"type\":\"string\"}", "{\"type\":\"integer\"}", ZEB_COMPAT_NONE, "" },
};

static void
s_test_one (const s_test_case_t *test, size_t number, bool verbose)
{
    json_t *old = json_loads (test->old, 0, NULL);
    json_t *candidate = json_loads (test->new, 0, NULL);
    assert (old && candidate);
    zeb_compat_reason_t reasons [16];
    size_t found = zeb_compat_check (candidate, &old, NULL, 1, test->mode, reasons, 16);
    //  Render as "REASON@path" words, compare as sets
    char got [4096] = "";
    for (size_t index = 0; index < found && index < 16; index++)
        snprintf (got + strlen (got), sizeof (got) - strlen (got), "%s%s@%s",
                  index? " ": "", reasons [index].reason, reasons [index].path);
    bool same = true;
    size_t expected_count = 0;
    char expected [1024];
    snprintf (expected, sizeof (expected), "%s", test->expected);
    for (char *word = strtok (expected, " "); word; word = strtok (NULL, " ")) {
        expected_count++;
        same = same && strstr (got, word);
    }
    same = same && expected_count == found;
    if (!same || verbose)
        fprintf (stderr, "case %zu (%s): expected [%s], got [%s]\n", number,
                 zeb_compat_mode_name (test->mode), test->expected, got);
    assert (same);
    json_decref (old);
    json_decref (candidate);
}

void
zeb_compat_test (bool verbose)
{
    printf (" * zeb_compat: ");
    for (size_t index = 0; index < sizeof (s_cases) / sizeof (s_cases [0]); index++)
        s_test_one (&s_cases [index], index, verbose);

    //  Modes by name
    zeb_compat_mode_t mode;
    assert (zeb_compat_mode_parse ("backward_transitive", &mode) == 0
            && mode == ZEB_COMPAT_BACKWARD_TRANSITIVE);
    assert (streq (zeb_compat_mode_name (ZEB_COMPAT_FULL), "FULL"));
    assert (zeb_compat_mode_parse ("SIDEWAYS", &mode) == -1);

    //  Transitive modes look at every version; the others at the latest
    json_t *versions [2] = {
        json_loads ("{\"type\":\"string\",\"maxLength\":100}", 0, NULL),
        json_loads ("{\"type\":\"string\",\"maxLength\":50}", 0, NULL)
    };
    json_t *candidate = json_loads ("{\"type\":\"string\",\"maxLength\":50}", 0, NULL);
    zeb_compat_reason_t reasons [4];
    assert (zeb_compat_check (candidate, versions, NULL, 2, ZEB_COMPAT_BACKWARD, reasons, 4) == 0);
    assert (zeb_compat_check (candidate, versions, NULL, 2, ZEB_COMPAT_BACKWARD_TRANSITIVE, reasons, 4) == 1);
    assert (streq (reasons [0].reason, "MAX_LENGTH_DECREASED") && reasons [0].version == 1
            && streq (reasons [0].breaks, "backward"));
    assert (zeb_compat_check (candidate, versions, NULL, 2, ZEB_COMPAT_FORWARD_TRANSITIVE, reasons, 4) == 0);
    //  More reasons than room: all counted, the first ones kept
    json_t *wide = json_loads ("{\"type\":\"integer\",\"maxLength\":1}", 0, NULL);
    assert (zeb_compat_check (wide, versions, NULL, 2, ZEB_COMPAT_FULL_TRANSITIVE, reasons, 1) == 4);
    assert (zeb_compat_check (wide, versions, NULL, 2, ZEB_COMPAT_FULL_TRANSITIVE, NULL, 0) == 4);
    //  Reasons name the versions' real numbers: here 2 was deleted, and
    //  the history handed over is versions 3 and 7
    uint32_t numbers [2] = { 3, 7 };
    assert (zeb_compat_check (candidate, versions, numbers, 2, ZEB_COMPAT_BACKWARD_TRANSITIVE,
                              reasons, 4) == 1);
    assert (streq (reasons [0].reason, "MAX_LENGTH_DECREASED") && reasons [0].version == 3);
    assert (zeb_compat_check (wide, versions, numbers, 2, ZEB_COMPAT_FULL_TRANSITIVE, reasons, 4) == 4);
    bool seen_3 = false, seen_7 = false;
    for (size_t index = 0; index < 4; index++) {
        assert (reasons [index].version == 3 || reasons [index].version == 7);
        seen_3 = seen_3 || reasons [index].version == 3;
        seen_7 = seen_7 || reasons [index].version == 7;
    }
    assert (seen_3 && seen_7);
    //  Non-transitive: only the latest, under its own number
    assert (zeb_compat_check (wide, versions, numbers, 2, ZEB_COMPAT_BACKWARD, reasons, 4) >= 1);
    assert (reasons [0].version == 7);
    json_decref (wide);
    json_decref (candidate);
    json_decref (versions [0]);
    json_decref (versions [1]);

    //  A schema that refers to itself ends
    json_t *tree = json_loads ("{\"type\":\"object\",\"properties\":{\"child\":{\"$ref\":\"#\"},"
                               "\"n\":{\"type\":\"integer\"}}}", 0, NULL);
    json_t *tree2 = json_loads ("{\"type\":\"object\",\"properties\":{\"child\":{\"$ref\":\"#\"},"
                                "\"n\":{\"type\":\"integer\",\"minimum\":0}}}", 0, NULL);
    size_t found = zeb_compat_check (tree2, &tree, NULL, 1, ZEB_COMPAT_BACKWARD, reasons, 4);
    assert (found >= 1 && streq (reasons [0].reason, "MINIMUM_INCREASED"));
    json_decref (tree);
    json_decref (tree2);
    printf ("OK\n");
}
