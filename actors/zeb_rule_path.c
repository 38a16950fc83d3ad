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

static int
s_path_compile (zeb_rule_path_t *path, const char *text, size_t len,
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

//  Compile, then keep the steps and their names in one block of their
//  size: a ruleset's conditions stay close together in memory, and
//  matching is bound by how many cache lines it touches
int
zeb_rule_path_compile (zeb_rule_path_t *path, const char *text, size_t len,
                       bool relative, bool templated, char *error, size_t size)
{
    if (s_path_compile (path, text, len, relative, templated, error, size))
        return -1;
    size_t names_len = 0;
    for (size_t step = 0; step < path->count; step++)
        names_len += path->steps [step].name? path->steps [step].len + 1: 0;
    size_t steps_size = sizeof (zeb_schema_step_t) * path->count;
    zeb_schema_step_t *steps = path->inline_steps;
    char *names = path->inline_names;
    if (path->count > ZEB_RULE_INLINE_STEPS || names_len > ZEB_RULE_INLINE_NAMES) {
        steps = (zeb_schema_step_t *) zmalloc (steps_size + names_len + 1);
        names = (char *) steps + steps_size;
    }
    for (size_t step = 0; step < path->count; step++) {
        steps [step] = path->steps [step];
        if (steps [step].name) {
            memcpy (names, steps [step].name, steps [step].len);
            steps [step].name = names;
            names += steps [step].len + 1;
        }
    }
    free (path->steps);
    free (path->names);
    path->steps = steps;
    path->names = NULL;
    return 0;
}

void
zeb_rule_path_free (zeb_rule_path_t *path)
{
    if (path->steps != path->inline_steps)
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
    //  The common encodings decoded in place
    const uint8_t *ptr = reader->ptr;
    if (ptr < reader->end) {
        uint8_t byte = *ptr;
        if (byte <= 0x7f) {
            value->kind = ZEB_RULE_NUMBER;
            value->number = (zeb_mpk_number_t) { .kind = ZEB_MPK_NUMBER_UINT, .u = byte };
            return;
        }
        if (byte >= 0xe0) {
            value->kind = ZEB_RULE_NUMBER;
            value->number = (zeb_mpk_number_t) { .kind = ZEB_MPK_NUMBER_INT, .i = (int8_t) byte };
            return;
        }
        if (byte >= 0xa0 && byte <= 0xbf && (size_t) (byte & 0x1f) < (size_t) (reader->end - ptr)) {
            value->kind = ZEB_RULE_STRING;
            value->str = (const char *) ptr + 1;
            value->len = byte & 0x1f;
            return;
        }
        if (byte >= 0x80 && byte <= 0x9f) {
            value->kind = byte <= 0x8f? ZEB_RULE_OBJECT: ZEB_RULE_ARRAY;
            return;
        }
    }
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

//  The size of the scalar at ptr that needs no decoding, or 0 (then
//  zeb_mpk_skip decides): the hot path skips most values of a map here
static inline size_t
s_scalar_size (const uint8_t *ptr, const uint8_t *end)
{
    uint8_t byte = *ptr;
    size_t size = 0;
    if (byte <= 0x7f || byte >= 0xe0 || byte == 0xc0 || byte == 0xc2 || byte == 0xc3)
        size = 1;
    else
    if (byte >= 0xa0 && byte <= 0xbf)
        size = 1 + (byte & 0x1f);
    else
    switch (byte) {
        case 0xcc: case 0xd0: size = 2; break;
        case 0xcd: case 0xd1: size = 3; break;
        case 0xca: case 0xce: case 0xd2: size = 5; break;
        case 0xcb: case 0xcf: case 0xd3: size = 9; break;
        case 0xd9: size = ptr + 1 < end? 2 + (size_t) ptr [1]: 0; break;
        default: break;
    }
    return size <= (size_t) (end - ptr)? size: 0;
}

static inline bool
s_skip (zeb_mpk_t *reader)
{
    if (reader->ptr < reader->end) {
        size_t size = s_scalar_size (reader->ptr, reader->end);
        if (size) {
            reader->ptr += size;
            return true;
        }
    }
    return zeb_mpk_skip (reader, NULL, NULL) == 0;
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
            const uint8_t *ptr = reader->ptr;
            if (ptr < reader->end && *ptr >= 0xa0 && *ptr <= 0xbf) {
                //  A short key (fixstr), as nearly all are: compared in place
                size_t len = *ptr & 0x1f;
                if (len > (size_t) (reader->end - ptr - 1))
                    return false;
                reader->ptr = ptr + 1 + len;
                if (len == step->len && zeb_rule_same (ptr + 1, step->name, len))
                    return true;
            }
            else
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
            if (!s_skip (reader))
                return false;
        }
        return false;
    }
    if (zeb_mpk_read_array (reader, &count) || (uint64_t) step->index >= count)
        return false;
    for (int64_t index = 0; index < step->index; index++)
        if (!s_skip (reader))
            return false;
    return true;
}

void
zeb_rule_index_build (zeb_rule_index_t *index, const zeb_event_view_t *event)
{
    index->data = NULL;
    index->count = 0;
    index->complete = false;
    if (!event->data)
        return;
    zeb_mpk_t reader;
    zeb_mpk_init (&reader, event->data, event->data_size);
    uint32_t count;
    if (zeb_mpk_read_map (&reader, &count))
        return;
    for (uint32_t entry = 0; entry < count; entry++) {
        const char *key;
        uint32_t len;
        if (index->count == ZEB_RULE_INDEX_MAX || zeb_mpk_peek (&reader) != ZEB_MPK_STR) {
            //  Past the limit, or a key that is no string: look for the
            //  rest of the keys the slow way
            index->data = event->data;
            index->end = event->data + event->data_size;
            return;
        }
        zeb_mpk_read_str (&reader, &key, &len);
        index->entries [index->count++] = (zeb_rule_entry_t) { key, len, reader.ptr };
        if (!s_skip (&reader))
            return;                 //  malformed: no index
    }
    index->data = event->data;
    index->end = event->data + event->data_size;
    index->complete = true;
}

//  The first step of a data path through the index: 1 found, 0 not
//  there, -1 the index cannot say
static int
s_indexed (const zeb_rule_index_t *index, const zeb_schema_step_t *step, zeb_mpk_t *reader)
{
    for (size_t entry = 0; entry < index->count; entry++) {
        const zeb_rule_entry_t *found = &index->entries [entry];
        if (found->len == step->len && zeb_rule_same (found->key, step->name, step->len)) {
            reader->ptr = found->value;
            reader->end = index->end;
            return 1;
        }
    }
    return index->complete? 0: -1;
}

static void
    s_resolve (const zeb_rule_path_t *path, const zeb_event_view_t *event,
               const zeb_mpk_t *element, const zeb_rule_index_t *index, zeb_rule_value_t *value);

void
zeb_rule_resolve (const zeb_rule_path_t *path, const zeb_event_view_t *event,
                  const zeb_mpk_t *element, const zeb_rule_index_t *index,
                  zeb_rule_value_t *value)
{
    if (index && path->slot && path->slot <= index->memo_size) {
        zeb_rule_memo_t *memo = &index->memo [path->slot - 1];
        if (memo->generation != index->generation) {
            s_resolve (path, event, element, index, &memo->value);
            memo->generation = index->generation;
        }
        *value = memo->value;
    }
    else
        s_resolve (path, event, element, index, value);
}

static void
s_resolve (const zeb_rule_path_t *path, const zeb_event_view_t *event,
           const zeb_mpk_t *element, const zeb_rule_index_t *index,
           zeb_rule_value_t *value)
{
    value->kind = ZEB_RULE_MISSING;
    value->has_mpk = false;
    value->is_time = false;
    zeb_mpk_t reader;
    size_t first = 0;
    switch (path->root) {
        case ZEB_RULE_ROOT_DATA:
            if (!event->data)
                return;
            if (index && index->data == event->data && path->count && path->steps [0].name) {
                int found = s_indexed (index, &path->steps [0], &reader);
                if (found == 0)
                    return;
                first = found > 0? 1: 0;    //  -1: walk the map after all
            }
            if (first == 0)
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
            for (size_t entry = 0; entry < event->ext_count; entry++) {
                const zeb_ext_t *ext = &event->ext [entry];
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
    for (size_t step = first; step < path->count; step++)
        if (!s_descend (&reader, &path->steps [step]))
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

