/*  =========================================================================
    zeb_rule_check - a rule against the schema of its trigger type

    Only paths into data are checked (data., payload., and the element
    paths of quantifiers over them): the envelope has no schema. A warning
    is given where the schema says a path cannot exist (a property that
    additionalProperties false excludes, a field of something that must be
    a string), and where the types the schema allows there cannot satisfy
    the operator: gt, gte, lt, lte need a number or a string; startsWith,
    endsWith, matches a string; contains a string or an array; any, all
    an array. Template paths in the action configs are checked for
    existence. zeb_schema_types_at answers conservatively, so a warning is
    certain: no data valid against the schema can make that condition hold
    (exists false aside, which then always holds).
    =========================================================================
*/

#include "zeb_actors.h"
#include "zeb_rule_int.h"

static const char *s_op_names [] = {
    "eq", "neq", "gt", "gte", "lt", "lte", "contains", "startsWith", "endsWith",
    "matches", "exists", "in", "any", "all"
};

#define S_NUMBERS   (ZEB_MPK_JSON_INTEGER | ZEB_MPK_JSON_NUMBER)

typedef struct {
    zeb_schema_t *schema;
    zeb_rule_warning_t *warnings;
    size_t max;
    size_t count;
} s_checker_t;

static void
s_warn (s_checker_t *checker, const char *where, const char *field, const char *format, ...)
    CHECK_PRINTF (4);

static void
s_warn (s_checker_t *checker, const char *where, const char *field, const char *format, ...)
{
    if (checker->count < checker->max) {
        zeb_rule_warning_t *warning = &checker->warnings [checker->count];
        snprintf (warning->path, sizeof (warning->path), "%s", where);
        snprintf (warning->field, sizeof (warning->field), "%s", field);
        va_list args;
        va_start (args, format);
        vsnprintf (warning->reason, sizeof (warning->reason), format, args);
        va_end (args);
    }
    checker->count++;
}

static const char *
s_type_names (unsigned types, char *text, size_t size)
{
    const char *names [] = { "null", "boolean", "integer", "number", "string", "array", "object" };
    text [0] = 0;
    for (unsigned bit = 0; bit < 7; bit++) {
        if (!(types & (1u << bit)))
            continue;
        if ((1u << bit) == ZEB_MPK_JSON_INTEGER && (types & ZEB_MPK_JSON_NUMBER))
            continue;               //  "number" says it
        size_t len = strlen (text);
        snprintf (text + len, size - len, "%s%s", len? ", ": "", names [bit]);
    }
    return text;
}

//  The types that can satisfy an operator with its operand; 0: any.
//  Comparisons of mismatched types are false: gt 5 needs a number, eq
//  "a" a string
static unsigned
s_needs (const zeb_rule_cond_t *cond, const char **what)
{
    zeb_rule_kind_t operand = cond->operand.kind;
    switch (cond->op) {
        case ZEB_RULE_OP_EQ:
        case ZEB_RULE_OP_NEQ:
            if (operand == ZEB_RULE_NUMBER) {
                *what = "a number";
                return S_NUMBERS;
            }
            if (operand == ZEB_RULE_STRING) {
                *what = "a string";
                return ZEB_MPK_JSON_STRING;
            }
            *what = "";
            return 0;
        case ZEB_RULE_OP_GT:
        case ZEB_RULE_OP_GTE:
        case ZEB_RULE_OP_LT:
        case ZEB_RULE_OP_LTE:
            if (operand == ZEB_RULE_NUMBER) {
                *what = "a number";
                return S_NUMBERS;
            }
            if (operand == ZEB_RULE_STRING) {
                *what = "a string";
                return ZEB_MPK_JSON_STRING;
            }
            *what = "a number or a string";
            return S_NUMBERS | ZEB_MPK_JSON_STRING;
        case ZEB_RULE_OP_STARTS_WITH:
        case ZEB_RULE_OP_ENDS_WITH:
        case ZEB_RULE_OP_MATCHES:
            *what = "a string";
            return ZEB_MPK_JSON_STRING;
        case ZEB_RULE_OP_CONTAINS:
            *what = "a string or an array";
            return ZEB_MPK_JSON_STRING | ZEB_MPK_JSON_ARRAY;
        case ZEB_RULE_OP_ANY:
        case ZEB_RULE_OP_ALL:
            *what = "an array";
            return ZEB_MPK_JSON_ARRAY;
        default:
            *what = "";
            return 0;
    }
}

//  The types at a path; if none, a warning naming the step where the
//  schema stops allowing anything
static unsigned
s_check_path (s_checker_t *checker, const char *where, const char *field,
              const zeb_schema_step_t *steps, size_t count)
{
    unsigned types = zeb_schema_types_at (checker->schema, steps, count);
    if (types)
        return types;
    unsigned parent = zeb_schema_types_at (checker->schema, steps, 0);
    if (!parent) {
        s_warn (checker, where, field, "the schema allows no data at all");
        return 0;
    }
    for (size_t depth = 1; depth <= count; depth++) {
        unsigned here = zeb_schema_types_at (checker->schema, steps, depth);
        if (here == 0) {
            const zeb_schema_step_t *step = &steps [depth - 1];
            if (step->name && (parent & ZEB_MPK_JSON_OBJECT))
                s_warn (checker, where, field, "the schema has no property '%.*s' there",
                        (int) step->len, step->name);
            else
            if (step->name)
                s_warn (checker, where, field, "the schema says what holds '%.*s' is not an object",
                        (int) step->len, step->name);
            else
            if (parent & ZEB_MPK_JSON_ARRAY)
                s_warn (checker, where, field, "the schema allows no item [%" PRId64 "] there",
                        step->index);
            else
                s_warn (checker, where, field, "the schema says what holds [%" PRId64 "] is not "
                        "an array", step->index);
            break;
        }
        parent = here;
    }
    return 0;
}

//  Conditions whose element paths continue prefix (a path into data)
static void
s_check_conds (s_checker_t *checker, const zeb_rule_cond_t *conds, size_t count,
               const zeb_schema_step_t *prefix, size_t prefix_count, bool in_data)
{
    for (size_t index = 0; index < count; index++) {
        const zeb_rule_cond_t *cond = &conds [index];
        const zeb_rule_path_t *path = &cond->path;
        bool data = path->root == ZEB_RULE_ROOT_DATA || (path->root == ZEB_RULE_ROOT_ELEMENT && in_data);
        if (!data)
            continue;               //  the envelope, or elements of an attribute
        size_t total = (path->root == ZEB_RULE_ROOT_ELEMENT? prefix_count: 0) + path->count;
        zeb_schema_step_t *steps = (zeb_schema_step_t *) zmalloc (sizeof (zeb_schema_step_t)
                                                                  * (total + 1));
        size_t at = 0;
        if (path->root == ZEB_RULE_ROOT_ELEMENT)
            for (; at < prefix_count; at++)
                steps [at] = prefix [at];
        for (size_t step = 0; step < path->count; step++)
            steps [at++] = path->steps [step];
        char where [128];
        snprintf (where, sizeof (where), "%s.field", cond->where);
        unsigned types = s_check_path (checker, where, path->text, steps, total);
        const char *what;
        unsigned needs = s_needs (cond, &what);
        if (types && needs && !(types & needs)) {
            char names [96];
            s_warn (checker, where, path->text, "the schema allows only %s there; '%s' needs %s",
                    s_type_names (types, names, sizeof (names)), s_op_names [cond->op], what);
            types = 0;              //  nothing below it can hold either
        }
        if (types && cond->child_count) {
            steps [total] = (zeb_schema_step_t) { NULL, 0, -1 };    //  any item
            s_check_conds (checker, cond->children, cond->child_count, steps, total + 1, true);
        }
        free (steps);
    }
}

size_t
zeb_rule_check (zeb_rule_t *self, zeb_schema_t *schema, zeb_rule_warning_t *warnings, size_t max)
{
    assert (self);
    assert (schema);
    assert (warnings || max == 0);
    s_checker_t checker = { schema, warnings, max, 0 };
    s_check_conds (&checker, self->conds, self->cond_count, NULL, 0, false);
    for (size_t index = 0; index < self->group_count; index++)
        s_check_conds (&checker, self->groups [index].conds, self->groups [index].count, NULL, 0, false);
    for (size_t index = 0; index < self->action_count; index++) {
        zeb_rule_action_t *action = &self->actions [index];
        for (size_t piece = 0; piece < action->piece_count; piece++)
            for (size_t segment = 0; segment < action->pieces [piece].segment_count; segment++) {
                zeb_rule_path_t *path = &action->pieces [piece].segments [segment].path;
                if (!action->pieces [piece].segments [segment].literal
                &&  path->root == ZEB_RULE_ROOT_DATA)
                    s_check_path (&checker, action->pieces [piece].where, path->text,
                                  path->steps, path->count);
            }
    }
    return checker.count;
}
