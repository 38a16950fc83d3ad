/*  =========================================================================
    zeb_rule - one automation rule, compiled once: parsing, field paths,
    conditions and their evaluation, explain

    Templates of the action configs are in zeb_rule_render.c, the checks
    against a schema in zeb_rule_check.c, the structures all three share
    in zeb_rule_int.h. The semantics of every operator are the table in
    docs/DESIGN.md ("The rule engine"); this file implements that table.
    =========================================================================
*/

#include "zeb_actors.h"
#include "zeb_rule_int.h"

static const char *s_op_names [] = {
    "eq", "neq", "gt", "gte", "lt", "lte", "contains", "startsWith", "endsWith",
    "matches", "exists", "in", "any", "all"
};
#define S_OPERATORS 12                  //  the first twelve: "any", "all" are quantifiers

static inline uint8_t
s_fold (uint8_t c)
{
    return c >= 'A' && c <= 'Z'? (uint8_t) (c + 32): c;
}

//  Bytes equal, ASCII letters folded if fold
static bool
s_same_bytes (const char *a, const char *b, size_t len, bool fold)
{
    if (!fold)
        return zeb_rule_same (a, b, len);
    for (size_t index = 0; index < len; index++)
        if (s_fold ((uint8_t) a [index]) != s_fold ((uint8_t) b [index]))
            return false;
    return true;
}

//  Order of two byte strings (unsigned bytes, a prefix first)
static int
s_compare_bytes (const char *a, size_t a_len, const char *b, size_t b_len, bool fold)
{
    size_t len = a_len < b_len? a_len: b_len;
    for (size_t index = 0; index < len; index++) {
        uint8_t x = (uint8_t) a [index], y = (uint8_t) b [index];
        if (fold) {
            x = s_fold (x);
            y = s_fold (y);
        }
        if (x != y)
            return x < y? -1: 1;
    }
    return a_len == b_len? 0: a_len < b_len? -1: 1;
}

//  Whether needle occurs in haystack
static bool
s_contains_bytes (const char *haystack, size_t h_len, const char *needle, size_t n_len, bool fold)
{
    if (n_len == 0)
        return true;
    if (!fold)
        return memmem (haystack, h_len, needle, n_len) != NULL;
    for (size_t start = 0; start + n_len <= h_len; start++)
        if (s_same_bytes (haystack + start, needle, n_len, true))
            return true;
    return false;
}

//  ---------------------------------------------------------------------
//  Parsing

typedef struct {
    zeb_rule_t *rule;
    zeb_fault_t *fault;
    char where [256];                   //  the JSON path of what is parsed
    size_t conditions;                  //  counted so far, nested ones too
} s_parser_t;

static int
s_refuse (s_parser_t *parser, const char *format, ...) CHECK_PRINTF (2);

static int
s_refuse (s_parser_t *parser, const char *format, ...)
{
    char text [200];
    va_list args;
    va_start (args, format);
    vsnprintf (text, sizeof (text), format, args);
    va_end (args);
    return zeb_fault_set (parser->fault, ZEB_EINVALID, "%s: %s", parser->where, text);
}

static size_t
s_enter_key (s_parser_t *parser, const char *key)
{
    size_t mark = strlen (parser->where);
    snprintf (parser->where + mark, sizeof (parser->where) - mark, "%s%s", mark? ".": "", key);
    return mark;
}

static size_t
s_enter_index (s_parser_t *parser, size_t index)
{
    size_t mark = strlen (parser->where);
    snprintf (parser->where + mark, sizeof (parser->where) - mark, "[%zu]", index);
    return mark;
}

static void
s_leave (s_parser_t *parser, size_t mark)
{
    parser->where [mark] = 0;
}

static bool
s_listed (const char *key, const char **names, size_t count)
{
    for (size_t index = 0; index < count; index++)
        if (streq (key, names [index]))
            return true;
    return false;
}

//  The first key of an object not in names, or NULL
static const char *
s_unknown_key (json_t *json, const char **names, size_t count)
{
    const char *key;
    json_t *value;
    json_object_foreach (json, key, value)
        if (!s_listed (key, names, count))
            return key;
    return NULL;
}

//  A JSON value as msgpack, owned by the caller
static int
s_pack_json (json_t *json, uint8_t **data, size_t *size)
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

//  A time operand: RFC 3339 text becomes ms; in an array, each item.
//  Returns a new reference, or NULL if a string is not a time.
static json_t *
s_time_operand (json_t *json, const char **bad)
{
    if (json_is_string (json)) {
        int64_t ms;
        if (zeb_time_parse (json_string_value (json), json_string_length (json), &ms)) {
            *bad = json_string_value (json);
            return NULL;
        }
        return json_integer (ms);
    }
    if (json_is_array (json)) {
        json_t *copy = json_array ();
        for (size_t index = 0; index < json_array_size (json); index++) {
            json_t *item = s_time_operand (json_array_get (json, index), bad);
            if (!item) {
                json_decref (copy);
                return NULL;
            }
            json_array_append_new (copy, item);
        }
        return copy;
    }
    return json_incref (json);
}

static int
s_parse_regex (s_parser_t *parser, json_t *value, zeb_rule_cond_t *cond)
{
    zeb_rule_t *rule = parser->rule;
    int error;
    PCRE2_SIZE offset;
    uint32_t options = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | (cond->ignore_case? PCRE2_CASELESS: 0);
    cond->regex = pcre2_compile ((PCRE2_SPTR) json_string_value (value), json_string_length (value),
                                 options, &error, &offset, NULL);
    if (!cond->regex) {
        PCRE2_UCHAR message [120];
        pcre2_get_error_message (error, message, sizeof (message));
        return s_refuse (parser, "not a valid regular expression: %s at offset %zu",
                         (char *) message, (size_t) offset);
    }
    pcre2_jit_compile (cond->regex, PCRE2_JIT_COMPLETE);     //  where available
    if (!rule->match) {
        rule->match = pcre2_match_data_create (1, NULL);
        rule->context = pcre2_match_context_create (NULL);
        pcre2_set_match_limit (rule->context, ZEB_RULE_MATCH_LIMIT);
        pcre2_set_depth_limit (rule->context, ZEB_RULE_DEPTH_LIMIT);
    }
    return 0;
}

//  The operand of a comparison: present and of a type the operator can use
static int
s_parse_operand (s_parser_t *parser, json_t *json, zeb_rule_cond_t *cond)
{
    json_t *value = json_object_get (json, "value");
    size_t mark = s_enter_key (parser, "value");
    int rc = 0;
    switch (cond->op) {
        case ZEB_RULE_OP_EXISTS:
            if (value && !json_is_boolean (value))
                rc = s_refuse (parser, "'exists' takes true or false");
            cond->exists = !value || json_is_true (value);
            break;
        case ZEB_RULE_OP_GT:
        case ZEB_RULE_OP_GTE:
        case ZEB_RULE_OP_LT:
        case ZEB_RULE_OP_LTE:
            if (!json_is_number (value) && !json_is_string (value))
                rc = s_refuse (parser, "'%s' needs a number or a string", s_op_names [cond->op]);
            break;
        case ZEB_RULE_OP_STARTS_WITH:
        case ZEB_RULE_OP_ENDS_WITH:
        case ZEB_RULE_OP_MATCHES:
            if (!json_is_string (value))
                rc = s_refuse (parser, "'%s' needs a string", s_op_names [cond->op]);
            else
            if (cond->op == ZEB_RULE_OP_MATCHES)
                rc = s_parse_regex (parser, value, cond);
            break;
        case ZEB_RULE_OP_IN:
            if (!json_is_array (value))
                rc = s_refuse (parser, "'in' needs an array");
            break;
        default:                        //  eq, neq, contains: any value
            if (!value)
                rc = s_refuse (parser, "'%s' needs a value", s_op_names [cond->op]);
            break;
    }
    if (rc == 0 && value && cond->op != ZEB_RULE_OP_EXISTS) {
        json_t *compared = json_incref (value);
        if (cond->path.root == ZEB_RULE_ROOT_TIME) {
            json_decref (compared);
            const char *bad = NULL;
            compared = s_time_operand (value, &bad);
            if (!compared)
                rc = s_refuse (parser, "'%s' is not an RFC 3339 time", bad);
            else
            if (!json_equal (compared, value)
            &&  s_pack_json (value, &cond->shown, &cond->shown_size))
                rc = s_refuse (parser, "cannot be encoded");
        }
        if (rc == 0 && s_pack_json (compared, &cond->value, &cond->value_size))
            rc = s_refuse (parser, "cannot be encoded");
        json_decref (compared);
        if (rc == 0) {
            if (cond->value_size <= sizeof (cond->inline_value)) {
                memcpy (cond->inline_value, cond->value, cond->value_size);
                free (cond->value);
                cond->value = cond->inline_value;
            }
            zeb_mpk_t reader;
            zeb_mpk_init (&reader, cond->value, cond->value_size);
            zeb_rule_classify (&reader, &cond->operand);
        }
    }
    s_leave (parser, mark);
    return rc;
}

static int
    s_parse_condition (s_parser_t *parser, json_t *json, zeb_rule_cond_t *cond, int depth);

//  One condition or a non-empty array of them, into *conds
static int
s_parse_conditions (s_parser_t *parser, json_t *json, zeb_rule_cond_t **conds, size_t *count,
                    int depth, bool one_allowed)
{
    if (one_allowed && json_is_object (json)) {
        *conds = (zeb_rule_cond_t *) zmalloc (sizeof (zeb_rule_cond_t));
        *count = 1;
        return s_parse_condition (parser, json, *conds, depth);
    }
    if (!json_is_array (json) || (one_allowed && json_array_size (json) == 0))
        return s_refuse (parser, one_allowed? "must be a condition or a non-empty array of conditions"
                                            : "must be an array of conditions");
    *count = json_array_size (json);
    *conds = (zeb_rule_cond_t *) zmalloc (sizeof (zeb_rule_cond_t) * (*count + 1));
    for (size_t index = 0; index < *count; index++) {
        size_t mark = s_enter_index (parser, index);
        if (s_parse_condition (parser, json_array_get (json, index), &(*conds) [index], depth))
            return ZEB_EINVALID;
        s_leave (parser, mark);
    }
    return 0;
}

static int
s_parse_quantifier (s_parser_t *parser, json_t *json, zeb_rule_cond_t *cond, int depth)
{
    json_t *any = json_object_get (json, "any"), *all = json_object_get (json, "all");
    if (any && all)
        return s_refuse (parser, "a condition takes 'any' or 'all', not both");
    const char *extra = json_object_get (json, "operator")? "operator":
                        json_object_get (json, "value")? "value":
                        json_object_get (json, "ignoreCase")? "ignoreCase": NULL;
    if (extra) {
        s_enter_key (parser, extra);
        return s_refuse (parser, "a quantifier ('%s') takes no %s", any? "any": "all", extra);
    }
    cond->op = any? ZEB_RULE_OP_ANY: ZEB_RULE_OP_ALL;
    size_t mark = s_enter_key (parser, any? "any": "all");
    if (depth + 1 > ZEB_RULE_MAX_NESTING)
        return s_refuse (parser, "quantifiers nest at most %d deep", ZEB_RULE_MAX_NESTING);
    if (s_parse_conditions (parser, any? any: all, &cond->children, &cond->child_count,
                            depth + 1, true))
        return ZEB_EINVALID;
    s_leave (parser, mark);
    return 0;
}

static const char *s_condition_fields [] = {
    "field", "operator", "value", "ignoreCase", "any", "all"
};

static int
s_parse_condition (s_parser_t *parser, json_t *json, zeb_rule_cond_t *cond, int depth)
{
    size_t mark = strlen (parser->where);
    cond->where = strdup (parser->where);
    if (!json_is_object (json))
        return s_refuse (parser, "a condition must be an object");
    if (++parser->conditions > ZEB_RULE_MAX_CONDITIONS)
        return s_refuse (parser, "a rule has at most %d conditions, nested ones included",
                         ZEB_RULE_MAX_CONDITIONS);
    const char *unknown = s_unknown_key (json, s_condition_fields, 6);
    if (unknown) {
        s_enter_key (parser, unknown);
        return s_refuse (parser, "unknown field");
    }
    json_t *field = json_object_get (json, "field");
    s_enter_key (parser, "field");
    if (!json_is_string (field))
        return s_refuse (parser, field? "must be a string": "required");
    char error [160];
    if (zeb_rule_path_compile (&cond->path, json_string_value (field), json_string_length (field),
                               depth > 0, false, error, sizeof (error)))
        return s_refuse (parser, "%s", error);
    s_leave (parser, mark);
    if (json_object_get (json, "any") || json_object_get (json, "all"))
        return s_parse_quantifier (parser, json, cond, depth);

    json_t *ignore = json_object_get (json, "ignoreCase");
    if (ignore && !json_is_boolean (ignore)) {
        s_enter_key (parser, "ignoreCase");
        return s_refuse (parser, "must be true or false");
    }
    cond->ignore_case = json_is_true (ignore);
    json_t *op = json_object_get (json, "operator");
    s_enter_key (parser, "operator");
    if (!json_is_string (op))
        return s_refuse (parser, op? "must be a string": "required");
    size_t index;
    for (index = 0; index < S_OPERATORS; index++)
        if (streq (json_string_value (op), s_op_names [index]))
            break;
    if (index == S_OPERATORS)
        return s_refuse (parser, "unknown operator '%s'", json_string_value (op));
    cond->op = (zeb_rule_op_t) index;
    s_leave (parser, mark);
    return s_parse_operand (parser, json, cond);
}

static int
s_parse_groups (s_parser_t *parser, json_t *json)
{
    zeb_rule_t *self = parser->rule;
    size_t mark = s_enter_key (parser, "any");
    if (!json_is_array (json))
        return s_refuse (parser, "must be an array of groups (a condition, or an array of them)");
    self->group_count = json_array_size (json);
    self->groups = (zeb_rule_group_t *) zmalloc (sizeof (zeb_rule_group_t) * (self->group_count + 1));
    for (size_t index = 0; index < self->group_count; index++) {
        zeb_rule_group_t *group = &self->groups [index];
        size_t inner = s_enter_index (parser, index);
        group->where = strdup (parser->where);
        if (s_parse_conditions (parser, json_array_get (json, index), &group->conds, &group->count,
                                0, true))
            return ZEB_EINVALID;
        s_leave (parser, inner);
    }
    s_leave (parser, mark);
    return 0;
}

//  The type characters of zeb_event_type_valid, and its separators
static bool
s_type_char (char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
        || c == '_' || c == '-' || c == '.' || c == ':';
}

static int
s_parse_trigger (s_parser_t *parser, json_t *json)
{
    zeb_rule_t *self = parser->rule;
    s_enter_key (parser, "triggerEventType");
    if (!json_is_string (json))
        return s_refuse (parser, json? "must be a string": "required");
    const char *text = json_string_value (json);
    size_t len = json_string_length (json);
    self->trigger = strdup (text);
    if (len == 1 && text [0] == '*')
        self->trigger_kind = ZEB_RULE_TRIGGER_ALL;
    else
    if (len > 1 && text [len - 1] == '*') {
        self->trigger_kind = ZEB_RULE_TRIGGER_PREFIX;
        self->trigger_len = len - 1;
        for (size_t index = 0; index < len - 1; index++)
            if (!s_type_char (text [index]))
                return s_refuse (parser, "'%s': a prefix has only the characters of event types "
                                 "before its '*'", text);
    }
    else {
        self->trigger_kind = ZEB_RULE_TRIGGER_EXACT;
        self->trigger_len = len;
        if (!zeb_event_type_valid (text, len))
            return s_refuse (parser, "'%s' is not an event type, 'prefix*' or '*'", text);
    }
    s_leave (parser, 0);
    return 0;
}

static const char *s_rule_fields [] = {
    "id", "name", "description", "triggerEventType", "triggerConditions", "any", "actions",
    "enabled", "priority", "continueOnError", "createdBy", "createdAt", "updatedAt"
};
static const char *s_string_fields [] = {
    "id", "name", "description", "createdBy", "createdAt", "updatedAt"
};

static int
s_parse (s_parser_t *parser, json_t *json)
{
    zeb_rule_t *self = parser->rule;
    if (!json_is_object (json))
        return zeb_fault_set (parser->fault, ZEB_EINVALID, "a rule must be a JSON object");
    const char *unknown = s_unknown_key (json, s_rule_fields, 13);
    if (unknown) {
        s_enter_key (parser, unknown);
        return s_refuse (parser, "unknown field");
    }
    for (size_t index = 0; index < 6; index++) {
        json_t *value = json_object_get (json, s_string_fields [index]);
        s_enter_key (parser, s_string_fields [index]);
        if (value && !json_is_string (value))
            return s_refuse (parser, "must be a string");
        s_leave (parser, 0);
    }
    json_t *value = json_object_get (json, "id");
    if (value && (json_string_length (value) == 0 || json_string_length (value) > ZEB_RULE_MAX_ID)) {
        s_enter_key (parser, "id");
        return s_refuse (parser, "must be 1 to %d bytes", ZEB_RULE_MAX_ID);
    }
    self->id = strdup (value? json_string_value (value): "");
    value = json_object_get (json, "name");
    self->name = strdup (value? json_string_value (value): "");
    const char *flags [] = { "enabled", "continueOnError" };
    bool *targets [] = { &self->enabled, &self->continue_on_error };
    for (size_t index = 0; index < 2; index++) {
        value = json_object_get (json, flags [index]);
        s_enter_key (parser, flags [index]);
        if (value && !json_is_boolean (value))
            return s_refuse (parser, "must be true or false");
        *targets [index] = !value || json_is_true (value);
        s_leave (parser, 0);
    }
    value = json_object_get (json, "priority");
    if (value && !json_is_integer (value)) {
        s_enter_key (parser, "priority");
        return s_refuse (parser, "must be an integer");
    }
    self->priority = value? json_integer_value (value): 0;
    if (s_parse_trigger (parser, json_object_get (json, "triggerEventType")))
        return ZEB_EINVALID;
    value = json_object_get (json, "triggerConditions");
    if (value) {
        size_t mark = s_enter_key (parser, "triggerConditions");
        if (s_parse_conditions (parser, value, &self->conds, &self->cond_count, 0, false))
            return ZEB_EINVALID;
        s_leave (parser, mark);
    }
    value = json_object_get (json, "any");
    if (value && s_parse_groups (parser, value))
        return ZEB_EINVALID;
    return zeb_rule_actions_compile (self, json_object_get (json, "actions"), parser->fault);
}

static void
s_conds_free (zeb_rule_cond_t *conds, size_t count)
{
    for (size_t index = 0; conds && index < count; index++) {
        zeb_rule_cond_t *cond = &conds [index];
        free (cond->where);
        zeb_rule_path_free (&cond->path);
        if (cond->value != cond->inline_value)
            free (cond->value);
        free (cond->shown);
        pcre2_code_free (cond->regex);
        s_conds_free (cond->children, cond->child_count);
    }
    free (conds);
}

zeb_rule_t *
zeb_rule_new_json (json_t *json, zeb_fault_t *fault)
{
    zeb_rule_t *self = (zeb_rule_t *) zmalloc (sizeof (zeb_rule_t));
    msgpack_sbuffer_init (&self->scratch);
    self->json = json_deep_copy (json);
    s_parser_t parser = { .rule = self, .fault = fault };
    int rc = s_parse (&parser, self->json);
    if (rc == 0) {
        //  The text is the measure of size, whichever way the rule came
        const char *text = zeb_rule_text (self);
        if (!text || strlen (text) > ZEB_RULE_MAX_SIZE)
            rc = zeb_fault_set (fault, ZEB_EINVALID, "a rule's JSON is at most %d bytes",
                                ZEB_RULE_MAX_SIZE);
    }
    if (rc)
        zeb_rule_destroy (&self);
    return self;
}

zeb_rule_t *
zeb_rule_new (const char *json, size_t len, zeb_fault_t *fault)
{
    if (len > ZEB_RULE_MAX_SIZE) {
        zeb_fault_set (fault, ZEB_EINVALID, "a rule's JSON is at most %d bytes", ZEB_RULE_MAX_SIZE);
        return NULL;
    }
    json_error_t error;
    json_t *parsed = json_loadb (json, len, JSON_REJECT_DUPLICATES, &error);
    if (!parsed) {
        zeb_fault_set (fault, ZEB_EMALFORMED, "rule is not JSON: %s at line %d, column %d",
                       error.text, error.line, error.column);
        return NULL;
    }
    zeb_rule_t *self = zeb_rule_new_json (parsed, fault);
    json_decref (parsed);
    return self;
}

void
zeb_rule_destroy (zeb_rule_t **self_p)
{
    assert (self_p);
    zeb_rule_t *self = *self_p;
    if (self) {
        json_decref (self->json);
        free (self->text);
        free (self->id);
        free (self->name);
        free (self->trigger);
        s_conds_free (self->conds, self->cond_count);
        for (size_t index = 0; self->groups && index < self->group_count; index++) {
            free (self->groups [index].where);
            s_conds_free (self->groups [index].conds, self->groups [index].count);
        }
        free (self->groups);
        zeb_rule_actions_free (self);
        pcre2_match_data_free (self->match);
        pcre2_match_context_free (self->context);
        msgpack_sbuffer_destroy (&self->scratch);
        free (self->line);
        free (self);
        *self_p = NULL;
    }
}

//  ---------------------------------------------------------------------
//  Evaluation

//  Equal as JSON values (numbers across int and float; strings by bytes,
//  ASCII letters folded if fold; arrays and maps deep, without folding)
static bool
s_equal (const zeb_rule_value_t *a, const zeb_rule_value_t *b, bool fold)
{
    if (a->kind != b->kind || a->kind == ZEB_RULE_MISSING)
        return false;
    switch (a->kind) {
        case ZEB_RULE_NULL:
            return true;
        case ZEB_RULE_BOOL:
            return a->boolean == b->boolean;
        case ZEB_RULE_NUMBER:
            return zeb_mpk_compare_numbers (a->number, b->number) == ZEB_MPK_EQUAL;
        case ZEB_RULE_STRING:
            return a->len == b->len && s_same_bytes (a->str, b->str, a->len, fold);
        default:
            return a->has_mpk && b->has_mpk && zeb_mpk_equal (&a->mpk, &b->mpk);
    }
}

//  Whether the array at array has an item equal to item
static bool
s_array_has (const zeb_rule_value_t *array, const zeb_rule_value_t *item, bool fold)
{
    zeb_mpk_t reader = array->mpk;
    uint32_t count;
    if (!array->has_mpk || zeb_mpk_read_array (&reader, &count))
        return false;
    for (uint32_t index = 0; index < count; index++) {
        zeb_rule_value_t element;
        zeb_rule_classify (&reader, &element);
        if (s_equal (&element, item, fold))
            return true;
        if (zeb_mpk_skip (&reader, NULL, NULL))
            return false;
    }
    return false;
}

//  gt, gte, lt, lte: numbers by value, strings by bytes; else false
static bool
s_ordered (zeb_rule_op_t op, const zeb_rule_value_t *seen, const zeb_rule_value_t *operand, bool fold)
{
    int order;
    if (seen->kind == ZEB_RULE_NUMBER && operand->kind == ZEB_RULE_NUMBER) {
        zeb_mpk_order_t result = zeb_mpk_compare_numbers (seen->number, operand->number);
        if (result == ZEB_MPK_UNORDERED)
            return false;
        order = (int) result;
    }
    else
    if (seen->kind == ZEB_RULE_STRING && operand->kind == ZEB_RULE_STRING)
        order = s_compare_bytes (seen->str, seen->len, operand->str, operand->len, fold);
    else
        return false;
    switch (op) {
        case ZEB_RULE_OP_GT:  return order > 0;
        case ZEB_RULE_OP_GTE: return order >= 0;
        case ZEB_RULE_OP_LT:  return order < 0;
        default:              return order <= 0;
    }
}

static bool
    s_test (zeb_rule_t *self, const zeb_rule_cond_t *cond, const zeb_event_view_t *event,
            const zeb_mpk_t *element, zeb_rule_value_t *seen);

//  any / all: the children, ANDed, over each element of the array seen
static bool
s_quantify (zeb_rule_t *self, const zeb_rule_cond_t *cond, const zeb_event_view_t *event,
            const zeb_rule_value_t *seen)
{
    zeb_mpk_t reader = seen->mpk;
    uint32_t count;
    if (seen->kind != ZEB_RULE_ARRAY || zeb_mpk_read_array (&reader, &count) || count == 0)
        return false;               //  all over an empty array is false too
    bool any = cond->op == ZEB_RULE_OP_ANY;
    for (uint32_t index = 0; index < count; index++) {
        bool holds = true;
        for (size_t child = 0; holds && child < cond->child_count; child++) {
            zeb_rule_value_t inner;
            holds = s_test (self, &cond->children [child], event, &reader, &inner);
        }
        if (holds == any)
            return any;             //  any: one holds; all: one fails
        if (zeb_mpk_skip (&reader, NULL, NULL))
            return false;
    }
    return !any;
}

static bool
s_test (zeb_rule_t *self, const zeb_rule_cond_t *cond, const zeb_event_view_t *event,
        const zeb_mpk_t *element, zeb_rule_value_t *seen)
{
    zeb_rule_resolve (&cond->path, event, element, self->index, seen);
    const zeb_rule_value_t *operand = &cond->operand;
    bool fold = cond->ignore_case;
    if (cond->op == ZEB_RULE_OP_EXISTS)
        return (seen->kind != ZEB_RULE_MISSING) == cond->exists;
    if (seen->kind == ZEB_RULE_MISSING)
        return false;
    switch (cond->op) {
        case ZEB_RULE_OP_EQ:
            return s_equal (seen, operand, fold);
        case ZEB_RULE_OP_NEQ:
            return !s_equal (seen, operand, fold);
        case ZEB_RULE_OP_GT:
        case ZEB_RULE_OP_GTE:
        case ZEB_RULE_OP_LT:
        case ZEB_RULE_OP_LTE:
            return s_ordered (cond->op, seen, operand, fold);
        case ZEB_RULE_OP_CONTAINS:
            if (seen->kind == ZEB_RULE_STRING)
                return operand->kind == ZEB_RULE_STRING
                    && s_contains_bytes (seen->str, seen->len, operand->str, operand->len, fold);
            return seen->kind == ZEB_RULE_ARRAY && s_array_has (seen, operand, fold);
        case ZEB_RULE_OP_STARTS_WITH:
            return seen->kind == ZEB_RULE_STRING && seen->len >= operand->len
                && s_same_bytes (seen->str, operand->str, operand->len, fold);
        case ZEB_RULE_OP_ENDS_WITH:
            return seen->kind == ZEB_RULE_STRING && seen->len >= operand->len
                && s_same_bytes (seen->str + seen->len - operand->len, operand->str, operand->len, fold);
        case ZEB_RULE_OP_MATCHES:
            //  A match limit reached, or invalid UTF-8, is no match
            return seen->kind == ZEB_RULE_STRING
                && pcre2_match (cond->regex, (PCRE2_SPTR) seen->str, seen->len, 0, 0,
                                self->match, self->context) >= 0;
        case ZEB_RULE_OP_IN:
            return s_array_has (operand, seen, fold);
        case ZEB_RULE_OP_ANY:
        case ZEB_RULE_OP_ALL:
            return s_quantify (self, cond, event, seen);
        default:
            return false;
    }
}

static bool
s_all_hold (zeb_rule_t *self, const zeb_rule_cond_t *conds, size_t count, const zeb_event_view_t *event)
{
    for (size_t index = 0; index < count; index++) {
        zeb_rule_value_t seen;
        if (!s_test (self, &conds [index], event, NULL, &seen))
            return false;
    }
    return true;
}

bool
zeb_rule_match (zeb_rule_t *self, const zeb_event_view_t *event)
{
    assert (self);
    assert (event);
    if (!s_all_hold (self, self->conds, self->cond_count, event))
        return false;
    if (self->group_count == 0)
        return true;
    for (size_t index = 0; index < self->group_count; index++)
        if (s_all_hold (self, self->groups [index].conds, self->groups [index].count, event))
            return true;
    return false;
}

bool
zeb_rule_match_indexed (zeb_rule_t *self, const zeb_event_view_t *event, const zeb_rule_index_t *index)
{
    self->index = index;
    bool matched = zeb_rule_match (self, event);
    self->index = NULL;
    return matched;
}

static void
s_number_conds (zeb_rule_cond_t *conds, size_t count, zhashx_t *slots, uint32_t *slot_count)
{
    for (size_t index = 0; index < count; index++) {
        zeb_rule_path_t *path = &conds [index].path;
        if (path->root == ZEB_RULE_ROOT_ELEMENT)
            continue;               //  relative to an element: not one value per event
        uintptr_t slot = (uintptr_t) zhashx_lookup (slots, path->text);
        if (!slot) {
            slot = ++*slot_count;
            zhashx_insert (slots, path->text, (void *) slot);
        }
        path->slot = (uint32_t) slot;
    }
}

void
zeb_rule_number_paths (zeb_rule_t *self, zhashx_t *slots, uint32_t *count)
{
    s_number_conds (self->conds, self->cond_count, slots, count);
    for (size_t index = 0; index < self->group_count; index++)
        s_number_conds (self->groups [index].conds, self->groups [index].count, slots, count);
}

//  Every condition of a list into an open array; true if all hold
static bool
s_explain_conds (zeb_rule_t *self, const zeb_rule_cond_t *conds, size_t count,
                 const zeb_event_view_t *event, zeb_pack_t *pack)
{
    bool all = true;
    zeb_pack_array (pack, "conditions");
    for (size_t index = 0; index < count; index++) {
        const zeb_rule_cond_t *cond = &conds [index];
        zeb_rule_value_t seen;
        bool result = s_test (self, cond, event, NULL, &seen);
        all = all && result;
        zeb_pack_map (pack, NULL);
        zeb_pack_str (pack, "path", cond->where);
        zeb_pack_str (pack, "field", cond->path.text);
        zeb_pack_str (pack, "operator", s_op_names [cond->op]);
        if (cond->op == ZEB_RULE_OP_EXISTS)
            zeb_pack_bool (pack, "value", cond->exists);
        else
        if (cond->shown)
            zeb_pack_raw (pack, "value", cond->shown, cond->shown_size);
        else
        if (cond->value)
            zeb_pack_raw (pack, "value", cond->value, cond->value_size);
        zeb_rule_value_pack (&seen, pack, "seen");
        zeb_pack_bool (pack, "result", result);
        zeb_pack_end (pack);
    }
    zeb_pack_end (pack);
    return all;
}

bool
zeb_rule_explain (zeb_rule_t *self, const zeb_event_view_t *event, zeb_pack_t *pack, const char *key)
{
    assert (self);
    assert (event);
    assert (pack);
    //  The answer first, then each condition evaluated again (explaining
    //  is not the hot path)
    bool matched = zeb_rule_match (self, event);
    zeb_pack_map (pack, key);
    zeb_pack_bool (pack, "matched", matched);
    s_explain_conds (self, self->conds, self->cond_count, event, pack);
    zeb_pack_array (pack, "any");
    for (size_t index = 0; index < self->group_count; index++) {
        zeb_rule_group_t *group = &self->groups [index];
        zeb_pack_map (pack, NULL);
        zeb_pack_str (pack, "path", group->where);
        bool holds = s_explain_conds (self, group->conds, group->count, event, pack);
        zeb_pack_bool (pack, "result", holds);
        zeb_pack_end (pack);
    }
    zeb_pack_end (pack);
    zeb_pack_end (pack);
    return matched;
}

bool
zeb_rule_triggered_by (zeb_rule_t *self, const char *type, size_t len)
{
    assert (self);
    switch (self->trigger_kind) {
        case ZEB_RULE_TRIGGER_ALL:
            return true;
        case ZEB_RULE_TRIGGER_PREFIX:
            return len >= self->trigger_len && memcmp (type, self->trigger, self->trigger_len) == 0;
        default:
            return len == self->trigger_len && memcmp (type, self->trigger, len) == 0;
    }
}

//  ---------------------------------------------------------------------
//  Fields

json_t *
zeb_rule_json (zeb_rule_t *self)
{
    assert (self);
    return self->json;
}

const char *
zeb_rule_text (zeb_rule_t *self)
{
    assert (self);
    if (!self->text)
        self->text = json_dumps (self->json, JSON_COMPACT);
    return self->text;
}

const char *
zeb_rule_id (zeb_rule_t *self)
{
    assert (self);
    return self->id;
}

const char *
zeb_rule_name (zeb_rule_t *self)
{
    assert (self);
    return self->name;
}

const char *
zeb_rule_trigger (zeb_rule_t *self)
{
    assert (self);
    return self->trigger;
}

bool
zeb_rule_enabled (zeb_rule_t *self)
{
    assert (self);
    return self->enabled;
}

bool
zeb_rule_continue_on_error (zeb_rule_t *self)
{
    assert (self);
    return self->continue_on_error;
}

int64_t
zeb_rule_priority (zeb_rule_t *self)
{
    assert (self);
    return self->priority;
}

size_t
zeb_rule_action_count (zeb_rule_t *self)
{
    assert (self);
    return self->action_count;
}

void
zeb_rule_set_id (zeb_rule_t *self, const char *id)
{
    zeb_rule_set_field (self, "id", id);
}

void
zeb_rule_set_enabled (zeb_rule_t *self, bool enabled)
{
    assert (self);
    self->enabled = enabled;
    json_object_set_new (self->json, "enabled", json_boolean (enabled));
    zstr_free (&self->text);
}

void
zeb_rule_set_field (zeb_rule_t *self, const char *name, const char *value)
{
    assert (self);
    assert (name && s_listed (name, s_string_fields, 6));
    if (value)
        json_object_set_new (self->json, name, json_string (value));
    else
        json_object_del (self->json, name);
    if (streq (name, "id")) {
        free (self->id);
        self->id = strdup (value? value: "");
    }
    else
    if (streq (name, "name")) {
        free (self->name);
        self->name = strdup (value? value: "");
    }
    zstr_free (&self->text);
}
