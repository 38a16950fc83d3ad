/*  =========================================================================
    zeb_rule_path - the field paths of rules: compiled from text into
    steps, resolved in an event without allocating

    Absolute paths: data.a.b (payload. is an alias), data.items[0],
    data["odd.key"], metadata.NAME (an attribute, time, sequence or an
    extension), a bare attribute, time, sequence or extension name; in
    templates also event.NAME. Relative paths (conditions inside a
    quantifier) start at the element: "sku", "[0].price", "." for the
    element itself.
    =========================================================================
*/

#include "zeb_actors.h"
#include "zeb_rule_int.h"

//  Characters of a bare name in a path: not the separators, no space,
//  no braces (templates), no quote
static bool
s_name_char (char c)
{
    return c != '.' && c != '[' && c != ']' && c != '{' && c != '}' && c != '"'
        && (uint8_t) c > ' ';
}

//  Read one bracketed segment at text [*at] (just past '['): an index or
//  a JSON string. Fills step, copying a name into names at *names_len.
static int
s_path_bracket (const char *text, size_t len, size_t *at, zeb_schema_step_t *step,
                char *names, size_t *names_len, char *error, size_t size)
{
    size_t start = *at;
    if (start < len && text [start] == '"') {
        size_t end = start + 1;
        while (end < len && text [end] != '"')
            end += text [end] == '\\'? 2: 1;
        if (end >= len || end + 1 >= len || text [end + 1] != ']') {
            snprintf (error, size, "unclosed [\"...\"] in '%.*s'", (int) len, text);
            return -1;
        }
        json_t *json = json_loadb (text + start, end + 1 - start, JSON_DECODE_ANY, NULL);
        if (!json_is_string (json)) {
            json_decref (json);
            snprintf (error, size, "bad string in [...] of '%.*s'", (int) len, text);
            return -1;
        }
        step->name = names + *names_len;
        step->len = json_string_length (json);
        memcpy (names + *names_len, json_string_value (json), step->len);
        *names_len += step->len + 1;
        json_decref (json);
        *at = end + 2;
        return 0;
    }
    uint64_t index = 0;
    size_t end = start;
    while (end < len && text [end] >= '0' && text [end] <= '9' && end - start < 10)
        index = index * 10 + (uint64_t) (text [end++] - '0');
    if (end == start || end >= len || text [end] != ']' || index > UINT32_MAX) {
        snprintf (error, size, "expected an index or a quoted name in [...] of '%.*s'",
                  (int) len, text);
        return -1;
    }
    step->name = NULL;
    step->index = (int64_t) index;
    *at = end + 1;
    return 0;
}

//  The root of an absolute path that names no data: an attribute, time,
//  sequence or extension
static int
s_path_root_name (zeb_rule_path_t *path, const char *name, size_t len, char *error, size_t size)
{
    int attr = zeb_attr_lookup (name, len);
    if (attr >= 0) {
        path->root = ZEB_RULE_ROOT_ATTR;
        path->attr = attr;
        return 0;
    }
    if (len == 4 && memcmp (name, "time", 4) == 0) {
        path->root = ZEB_RULE_ROOT_TIME;
        return 0;
    }
    if (len == 8 && memcmp (name, "sequence", 8) == 0) {
        path->root = ZEB_RULE_ROOT_SEQUENCE;
        return 0;
    }
    bool extension = len > 0 && len <= ZEB_EVENT_MAX_EXT_NAME;
    for (size_t index = 0; extension && index < len; index++)
        extension = (name [index] >= 'a' && name [index] <= 'z')
                 || (name [index] >= '0' && name [index] <= '9');
    if (!extension) {
        snprintf (error, size, "unknown field '%.*s' (data., payload., metadata., an attribute "
                  "or an extension)", (int) len, name);
        return -1;
    }
    path->root = ZEB_RULE_ROOT_EXT;
    path->ext = strndup (name, len);
    path->ext_len = len;
    return 0;
}

int
zeb_rule_path_compile (zeb_rule_path_t *path, const char *text, size_t len,
                       bool relative, bool templated, char *error, size_t size)
{
    memset (path, 0, sizeof (*path));
    path->text = strndup (text, len);
    if (len == 0 || len > ZEB_RULE_MAX_PATH_TEXT) {
        snprintf (error, size, len? "a path is at most %d bytes": "a path cannot be empty",
                  ZEB_RULE_MAX_PATH_TEXT);
        return -1;
    }
    path->steps = (zeb_schema_step_t *) zmalloc (sizeof (zeb_schema_step_t) * ZEB_RULE_MAX_STEPS);
    path->names = (char *) zmalloc (len + 1);
    size_t names_len = 0;
    size_t at = 0;
    if (relative) {
        path->root = ZEB_RULE_ROOT_ELEMENT;
        if (len == 1 && text [0] == '.')
            return 0;               //  the element itself
        if (text [0] != '[') {
            //  A first name without its dot: "sku"
            while (at < len && s_name_char (text [at]))
                at++;
            if (at == 0) {
                snprintf (error, size, "'%.*s' does not start with a name, '[' or is '.'",
                          (int) len, text);
                return -1;
            }
            path->steps [0] = (zeb_schema_step_t) { path->names, at, 0 };
            memcpy (path->names, text, at);
            names_len = at + 1;
            path->count = 1;
        }
    }
    else {
        while (at < len && s_name_char (text [at]))
            at++;
        const char *first = text;
        size_t first_len = at;
        bool envelope = (first_len == 8 && memcmp (first, "metadata", 8) == 0)
                     || (templated && first_len == 5 && memcmp (first, "event", 5) == 0);
        if ((first_len == 4 && memcmp (first, "data", 4) == 0)
        ||  (first_len == 7 && memcmp (first, "payload", 7) == 0))
            path->root = ZEB_RULE_ROOT_DATA;
        else {
            if (envelope) {
                if (at >= len || text [at] != '.') {
                    snprintf (error, size, "'%.*s' needs a name after it: '%.*s.NAME'",
                              (int) first_len, first, (int) first_len, first);
                    return -1;
                }
                first = text + ++at;
                while (at < len && s_name_char (text [at]))
                    at++;
                first_len = (size_t) (text + at - first);
            }
            if (s_path_root_name (path, first, first_len, error, size))
                return -1;
            if (at < len) {
                snprintf (error, size, "'%.*s' is not data: it has no fields", (int) first_len, first);
                return -1;
            }
            return 0;
        }
    }
    while (at < len) {
        if (path->count == ZEB_RULE_MAX_STEPS) {
            snprintf (error, size, "a path has at most %d segments", ZEB_RULE_MAX_STEPS);
            return -1;
        }
        zeb_schema_step_t *step = &path->steps [path->count];
        if (text [at] == '.') {
            size_t start = ++at;
            while (at < len && s_name_char (text [at]))
                at++;
            if (at == start) {
                snprintf (error, size, "an empty name in '%.*s'", (int) len, text);
                return -1;
            }
            step->name = path->names + names_len;
            step->len = at - start;
            memcpy (path->names + names_len, text + start, step->len);
            names_len += step->len + 1;
        }
        else
        if (text [at] == '[') {
            at++;
            if (s_path_bracket (text, len, &at, step, path->names, &names_len, error, size))
                return -1;
        }
        else {
            snprintf (error, size, "unexpected '%c' in '%.*s'", text [at], (int) len, text);
            return -1;
        }
        path->count++;
    }
    return 0;
}

void
zeb_rule_path_free (zeb_rule_path_t *path)
{
    free (path->steps);
    free (path->names);
    free (path->ext);
    free (path->text);
    memset (path, 0, sizeof (*path));
}

void
zeb_rule_classify (const zeb_mpk_t *reader, zeb_rule_value_t *value)
{
    zeb_mpk_t copy = *reader;
    value->has_mpk = true;
    value->is_time = false;
    value->mpk = *reader;
    switch (zeb_mpk_peek (&copy)) {
        case ZEB_MPK_NIL:
            value->kind = ZEB_RULE_NULL;
            break;
        case ZEB_MPK_BOOL:
            value->kind = zeb_mpk_read_bool (&copy, &value->boolean)? ZEB_RULE_MISSING: ZEB_RULE_BOOL;
            break;
        case ZEB_MPK_UINT:
        case ZEB_MPK_INT:
        case ZEB_MPK_FLOAT:
            value->kind = zeb_mpk_read_number (&copy, &value->number)? ZEB_RULE_MISSING: ZEB_RULE_NUMBER;
            break;
        case ZEB_MPK_STR: {
            uint32_t len;
            value->kind = zeb_mpk_read_str (&copy, &value->str, &len)? ZEB_RULE_MISSING: ZEB_RULE_STRING;
            value->len = len;
            break;
        }
        case ZEB_MPK_ARRAY:
            value->kind = ZEB_RULE_ARRAY;
            break;
        case ZEB_MPK_MAP:
            value->kind = ZEB_RULE_OBJECT;
            break;
        case ZEB_MPK_BIN:
        case ZEB_MPK_EXT:
            value->kind = ZEB_RULE_OTHER;
            break;
        default:
            value->kind = ZEB_RULE_MISSING;
            break;
    }
    if (value->kind == ZEB_RULE_MISSING)
        value->has_mpk = false;
}

//  Move reader (at a map or array) to the value a step names
static bool
s_descend (zeb_mpk_t *reader, const zeb_schema_step_t *step)
{
    uint32_t count;
    if (step->name) {
        if (zeb_mpk_read_map (reader, &count))
            return false;
        for (uint32_t index = 0; index < count; index++) {
            if (zeb_mpk_peek (reader) == ZEB_MPK_STR) {
                const char *key;
                uint32_t len;
                zeb_mpk_read_str (reader, &key, &len);
                if (len == step->len && memcmp (key, step->name, len) == 0)
                    return true;
            }
            else
            if (zeb_mpk_skip (reader, NULL, NULL))
                return false;
            if (zeb_mpk_skip (reader, NULL, NULL))
                return false;
        }
        return false;
    }
    if (zeb_mpk_read_array (reader, &count) || (uint64_t) step->index >= count)
        return false;
    for (int64_t index = 0; index < step->index; index++)
        if (zeb_mpk_skip (reader, NULL, NULL))
            return false;
    return true;
}

void
zeb_rule_resolve (const zeb_rule_path_t *path, const zeb_event_view_t *event,
                  const zeb_mpk_t *element, zeb_rule_value_t *value)
{
    value->kind = ZEB_RULE_MISSING;
    value->has_mpk = false;
    value->is_time = false;
    zeb_mpk_t reader;
    switch (path->root) {
        case ZEB_RULE_ROOT_DATA:
            if (!event->data)
                return;
            zeb_mpk_init (&reader, event->data, event->data_size);
            break;
        case ZEB_RULE_ROOT_ELEMENT:
            if (!element)
                return;
            reader = *element;
            break;
        case ZEB_RULE_ROOT_ATTR: {
            zeb_str_t str = event->attr [path->attr];
            //  The defaults an encoding leaves out
            if (!str.ptr && path->attr == ZEB_ATTR_SPECVERSION)
                str = (zeb_str_t) { "1.0", 3 };
            if (!str.ptr && path->attr == ZEB_ATTR_CHANNEL)
                str = event->attr [ZEB_ATTR_TYPE];
            if (str.ptr) {
                value->kind = ZEB_RULE_STRING;
                value->str = str.ptr;
                value->len = str.len;
            }
            return;
        }
        case ZEB_RULE_ROOT_EXT:
            for (size_t index = 0; index < event->ext_count; index++) {
                const zeb_ext_t *ext = &event->ext [index];
                if (ext->name.len == path->ext_len && memcmp (ext->name.ptr, path->ext, path->ext_len) == 0) {
                    zeb_mpk_init (&reader, ext->value, ext->value_size);
                    zeb_rule_classify (&reader, value);
                    return;
                }
            }
            return;
        case ZEB_RULE_ROOT_TIME:
            if (event->has_time) {
                value->kind = ZEB_RULE_NUMBER;
                value->is_time = true;
                value->number = (zeb_mpk_number_t) { .kind = ZEB_MPK_NUMBER_INT, .i = event->time };
            }
            return;
        case ZEB_RULE_ROOT_SEQUENCE:
            if (event->sequence) {
                value->kind = ZEB_RULE_NUMBER;
                value->number = (zeb_mpk_number_t) { .kind = ZEB_MPK_NUMBER_UINT, .u = event->sequence };
            }
            return;
    }
    for (size_t index = 0; index < path->count; index++)
        if (!s_descend (&reader, &path->steps [index]))
            return;
    zeb_rule_classify (&reader, value);
}

void
zeb_rule_value_pack (const zeb_rule_value_t *value, zeb_pack_t *pack, const char *key)
{
    if (value->has_mpk) {
        zeb_mpk_t copy = value->mpk;
        const uint8_t *span;
        size_t span_size;
        if (zeb_mpk_skip (&copy, &span, &span_size) == 0)
            zeb_pack_raw (pack, key, span, span_size);
        else
            zeb_pack_nil (pack, key);
    }
    else
    if (value->kind == ZEB_RULE_STRING)
        zeb_pack_strn (pack, key, value->str, value->len);
    else
    if (value->kind == ZEB_RULE_NUMBER && value->number.kind == ZEB_MPK_NUMBER_UINT)
        zeb_pack_uint (pack, key, value->number.u);
    else
    if (value->kind == ZEB_RULE_NUMBER)
        zeb_pack_int (pack, key, value->number.i);
    else
        zeb_pack_nil (pack, key);
}

