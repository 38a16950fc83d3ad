/*  =========================================================================
    zeb_rule_render - the actions of a rule: parsed, their configs'
    templates compiled, rendered for an event

    Every string value of a config (keys are not templated) is compiled at
    parse into literal text and {{ path }} segments (spaces inside the
    braces are ignored; there is no escape for a literal "{{"). A string
    that is exactly one template keeps the type of what it names: the
    value's msgpack as it is in the event, nil if missing, the event's
    time as an integer of ms. Inside text a value is written as text:
    strings as they are, numbers as JSON writes them, true, false, null,
    objects and arrays as compact JSON, the time as RFC 3339 UTC with ms,
    a missing value as nothing.

    The config is kept as pieces whose concatenation is its msgpack: raw
    bytes for everything without a template (map and array headers are
    known at parse), and a template for each templated string; rendering
    appends them into a buffer the rule keeps.
    =========================================================================
*/

#include "zeb_actors.h"
#include "zeb_rule_int.h"
#include <math.h>

typedef struct {
    zeb_rule_t *rule;
    zeb_fault_t *fault;
    char where [256];
    zeb_rule_action_t *action;
    size_t pieces_max;
    msgpack_sbuffer raw;                //  bytes not yet made a piece
    msgpack_packer pk;
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
    return zeb_fault_set (compiler->fault, ZEB_EINVALID, "%s: %s", compiler->where, text);
}

static size_t
s_enter (s_compiler_t *compiler, const char *format, ...) CHECK_PRINTF (2);

static size_t
s_enter (s_compiler_t *compiler, const char *format, ...)
{
    size_t mark = strlen (compiler->where);
    va_list args;
    va_start (args, format);
    vsnprintf (compiler->where + mark, sizeof (compiler->where) - mark, format, args);
    va_end (args);
    return mark;
}

static zeb_rule_piece_t *
s_piece_new (s_compiler_t *compiler, zeb_rule_piece_kind_t kind)
{
    zeb_rule_action_t *action = compiler->action;
    if (action->piece_count == compiler->pieces_max) {
        compiler->pieces_max = compiler->pieces_max? compiler->pieces_max * 2: 4;
        action->pieces = (zeb_rule_piece_t *) realloc (action->pieces,
                                                       sizeof (zeb_rule_piece_t) * compiler->pieces_max);
        assert (action->pieces);
    }
    zeb_rule_piece_t *piece = &action->pieces [action->piece_count++];
    memset (piece, 0, sizeof (*piece));
    piece->kind = kind;
    return piece;
}

//  The raw bytes so far become a piece
static void
s_flush (s_compiler_t *compiler)
{
    if (compiler->raw.size == 0)
        return;
    zeb_rule_piece_t *piece = s_piece_new (compiler, ZEB_RULE_PIECE_RAW);
    piece->raw = (uint8_t *) malloc (compiler->raw.size);
    assert (piece->raw);
    memcpy (piece->raw, compiler->raw.data, compiler->raw.size);
    piece->raw_size = compiler->raw.size;
    msgpack_sbuffer_clear (&compiler->raw);
}

static void
s_segments_free (zeb_rule_segment_t *segments, size_t count)
{
    for (size_t index = 0; segments && index < count; index++) {
        free (segments [index].literal);
        zeb_rule_path_free (&segments [index].path);
    }
    free (segments);
}

//  A string value: raw if it has no template, else a piece of segments
static int
s_compile_string (s_compiler_t *compiler, const char *text, size_t len)
{
    if (!memmem (text, len, "{{", 2)) {
        msgpack_pack_str (&compiler->pk, len);
        msgpack_pack_str_body (&compiler->pk, text, len);
        return 0;
    }
    //  At most one segment per two bytes, and one more
    zeb_rule_segment_t *segments = (zeb_rule_segment_t *) zmalloc (sizeof (zeb_rule_segment_t)
                                                                  * (len / 2 + 2));
    size_t count = 0;
    size_t at = 0;
    int rc = 0;
    while (at < len && rc == 0) {
        const char *open = (const char *) memmem (text + at, len - at, "{{", 2);
        size_t stop = open? (size_t) (open - text): len;
        if (stop > at) {
            segments [count].literal = (char *) malloc (stop - at);
            assert (segments [count].literal);
            memcpy (segments [count].literal, text + at, stop - at);
            segments [count++].len = stop - at;
        }
        if (!open)
            break;
        const char *close = (const char *) memmem (open + 2, (size_t) (text + len - open - 2), "}}", 2);
        if (!close) {
            rc = s_refuse (compiler, "'{{' at offset %zu is not closed by '}}'", stop);
            break;
        }
        const char *first = open + 2, *last = close;
        while (first < last && (*first == ' ' || *first == '\t'))
            first++;
        while (last > first && (last [-1] == ' ' || last [-1] == '\t'))
            last--;
        char error [160];
        if (first == last)
            rc = s_refuse (compiler, "an empty template at offset %zu", stop);
        else
        if (zeb_rule_path_compile (&segments [count++].path, first, (size_t) (last - first),
                                   false, true, error, sizeof (error)))
            rc = s_refuse (compiler, "template at offset %zu: %s", stop, error);
        at = (size_t) (close + 2 - text);
    }
    if (rc) {
        s_segments_free (segments, count);
        return rc;
    }
    s_flush (compiler);
    bool whole = count == 1 && !segments [0].literal;
    zeb_rule_piece_t *piece = s_piece_new (compiler, whole? ZEB_RULE_PIECE_WHOLE: ZEB_RULE_PIECE_TEXT);
    piece->where = strdup (compiler->where);
    piece->segments = segments;
    piece->segment_count = count;
    compiler->action->templated = true;
    return 0;
}

static int
s_compile_value (s_compiler_t *compiler, json_t *json)
{
    if (json_is_string (json))
        return s_compile_string (compiler, json_string_value (json), json_string_length (json));
    if (json_is_object (json)) {
        msgpack_pack_map (&compiler->pk, json_object_size (json));
        const char *key;
        json_t *value;
        json_object_foreach (json, key, value) {
            msgpack_pack_str (&compiler->pk, strlen (key));
            msgpack_pack_str_body (&compiler->pk, key, strlen (key));
            size_t mark = s_enter (compiler, ".%s", key);
            if (s_compile_value (compiler, value))
                return ZEB_EINVALID;
            compiler->where [mark] = 0;
        }
        return 0;
    }
    if (json_is_array (json)) {
        msgpack_pack_array (&compiler->pk, json_array_size (json));
        for (size_t index = 0; index < json_array_size (json); index++) {
            size_t mark = s_enter (compiler, "[%zu]", index);
            if (s_compile_value (compiler, json_array_get (json, index)))
                return ZEB_EINVALID;
            compiler->where [mark] = 0;
        }
        return 0;
    }
    if (zeb_json_to_msgpack (json, &compiler->pk))
        return s_refuse (compiler, "cannot be encoded");
    return 0;
}

static const char *s_action_fields [] = { "type", "config", "retryPolicy" };

static int
s_compile_action (s_compiler_t *compiler, json_t *json, zeb_rule_action_t *action)
{
    if (!json_is_object (json))
        return s_refuse (compiler, "an action must be an object");
    const char *key;
    json_t *value;
    json_object_foreach (json, key, value)
        if (!streq (key, s_action_fields [0]) && !streq (key, s_action_fields [1])
        &&  !streq (key, s_action_fields [2])) {
            s_enter (compiler, ".%s", key);
            return s_refuse (compiler, "unknown field (an action has type, config, retryPolicy)");
        }
    size_t mark = s_enter (compiler, ".type");
    value = json_object_get (json, "type");
    if (!json_is_string (value) || json_string_length (value) == 0
    ||  json_string_length (value) > ZEB_RULE_MAX_TYPE)
        return s_refuse (compiler, value? "must be a non-empty string of at most %d bytes": "required",
                         ZEB_RULE_MAX_TYPE);
    action->type = strdup (json_string_value (value));
    compiler->where [mark] = 0;
    value = json_object_get (json, "retryPolicy");
    if (value) {
        s_enter (compiler, ".retryPolicy");
        msgpack_sbuffer buffer;
        msgpack_sbuffer_init (&buffer);
        msgpack_packer pk;
        msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
        int rc = json_is_object (value)? zeb_json_to_msgpack (value, &pk): -1;
        action->retry = (uint8_t *) buffer.data;
        action->retry_size = buffer.size;
        if (rc)
            return s_refuse (compiler, "must be an object");
        compiler->where [mark] = 0;
    }
    value = json_object_get (json, "config");
    s_enter (compiler, ".config");
    if (value && !json_is_object (value))
        return s_refuse (compiler, "must be an object");
    json_t *empty = json_object ();
    compiler->action = action;
    compiler->pieces_max = 0;
    int rc = s_compile_value (compiler, value? value: empty);
    json_decref (empty);
    if (rc == 0)
        s_flush (compiler);
    compiler->where [mark] = 0;
    return rc;
}

int
zeb_rule_actions_compile (zeb_rule_t *self, json_t *actions, zeb_fault_t *fault)
{
    s_compiler_t compiler = { .rule = self, .fault = fault, .where = "actions" };
    if (!actions)
        return s_refuse (&compiler, "required");
    if (!json_is_array (actions))
        return s_refuse (&compiler, "must be an array of actions");
    if (json_array_size (actions) == 0 || json_array_size (actions) > ZEB_RULE_MAX_ACTIONS)
        return s_refuse (&compiler, "a rule has 1 to %d actions", ZEB_RULE_MAX_ACTIONS);
    self->action_count = json_array_size (actions);
    self->actions = (zeb_rule_action_t *) zmalloc (sizeof (zeb_rule_action_t) * self->action_count);
    msgpack_sbuffer_init (&compiler.raw);
    msgpack_packer_init (&compiler.pk, &compiler.raw, msgpack_sbuffer_write);
    int rc = 0;
    for (size_t index = 0; rc == 0 && index < self->action_count; index++) {
        size_t mark = s_enter (&compiler, "[%zu]", index);
        rc = s_compile_action (&compiler, json_array_get (actions, index), &self->actions [index]);
        compiler.where [mark] = 0;
    }
    msgpack_sbuffer_destroy (&compiler.raw);
    return rc;
}

void
zeb_rule_actions_free (zeb_rule_t *self)
{
    for (size_t index = 0; self->actions && index < self->action_count; index++) {
        zeb_rule_action_t *action = &self->actions [index];
        for (size_t piece = 0; piece < action->piece_count; piece++) {
            free (action->pieces [piece].raw);
            free (action->pieces [piece].where);
            s_segments_free (action->pieces [piece].segments, action->pieces [piece].segment_count);
        }
        free (action->pieces);
        free (action->type);
        free (action->retry);
    }
    free (self->actions);
    self->actions = NULL;
}

//  ---------------------------------------------------------------------
//  Rendering

static void
s_line_add (zeb_rule_t *self, const char *data, size_t len)
{
    if (len == 0)
        return;                 //  an empty string: nothing (line may still be NULL)
    if (self->line_size + len > self->line_max) {
        size_t max = self->line_max? self->line_max: 256;
        while (self->line_size + len > max)
            max *= 2;
        self->line = (char *) realloc (self->line, max);
        assert (self->line);
        self->line_max = max;
    }
    memcpy (self->line + self->line_size, data, len);
    self->line_size += len;
}

//  A double as JSON writes it: the shortest of 15 or 17 digits that reads
//  back the same, with ".0" if it looks like an integer
static void
s_format_double (double value, char *text, size_t size)
{
    if (!isfinite (value)) {
        snprintf (text, size, "null");
        return;
    }
    snprintf (text, size, "%.15g", value);
    if (strtod (text, NULL) != value)
        snprintf (text, size, "%.17g", value);
    if (!strpbrk (text, ".eE"))
        strncat (text, ".0", size - strlen (text) - 1);
}

//  A value as text, appended to the rule's line
static void
s_text_of (zeb_rule_t *self, const zeb_rule_value_t *value)
{
    char text [64];
    switch (value->kind) {
        case ZEB_RULE_MISSING:
            return;
        case ZEB_RULE_STRING:
            s_line_add (self, value->str, value->len);
            return;
        case ZEB_RULE_NULL:
            s_line_add (self, "null", 4);
            return;
        case ZEB_RULE_BOOL:
            s_line_add (self, value->boolean? "true": "false", value->boolean? 4: 5);
            return;
        case ZEB_RULE_NUMBER:
            if (value->is_time)
                zeb_time_format (value->number.i, text);
            else
            if (value->number.kind == ZEB_MPK_NUMBER_INT)
                snprintf (text, sizeof (text), "%" PRId64, value->number.i);
            else
            if (value->number.kind == ZEB_MPK_NUMBER_UINT)
                snprintf (text, sizeof (text), "%" PRIu64, value->number.u);
            else
                s_format_double (value->number.f, text, sizeof (text));
            s_line_add (self, text, strlen (text));
            return;
        default: {
            //  Objects, arrays, bin and ext: as zeb_json shows them
            zeb_mpk_t copy = value->mpk;
            const uint8_t *span;
            size_t span_size;
            if (!value->has_mpk || zeb_mpk_skip (&copy, &span, &span_size))
                return;
            json_t *json = zeb_json_from_msgpack (span, span_size, NULL);
            if (json_is_string (json))
                s_line_add (self, json_string_value (json), json_string_length (json));
            else {
                char *dumped = json? zeb_json_dumps (json): NULL;
                if (dumped)
                    s_line_add (self, dumped, strlen (dumped));
                free (dumped);
            }
            json_decref (json);
            return;
        }
    }
}

//  A whole value, with its type
static void
s_write_whole (msgpack_packer *pk, const zeb_rule_value_t *value)
{
    if (value->is_time)
        msgpack_pack_int64 (pk, value->number.i);
    else
    if (value->has_mpk) {
        zeb_mpk_t copy = value->mpk;
        const uint8_t *span;
        size_t span_size;
        if (zeb_mpk_skip (&copy, &span, &span_size) == 0)
            msgpack_sbuffer_write (pk->data, (const char *) span, span_size);
        else
            msgpack_pack_nil (pk);
    }
    else
    if (value->kind == ZEB_RULE_STRING) {
        msgpack_pack_str (pk, value->len);
        msgpack_pack_str_body (pk, value->str, value->len);
    }
    else
    if (value->kind == ZEB_RULE_NUMBER && value->number.kind == ZEB_MPK_NUMBER_UINT)
        msgpack_pack_uint64 (pk, value->number.u);
    else
    if (value->kind == ZEB_RULE_NUMBER)
        msgpack_pack_int64 (pk, value->number.i);
    else
        msgpack_pack_nil (pk);
}

static void
s_render_config (zeb_rule_t *self, zeb_rule_action_t *action, const zeb_event_view_t *event)
{
    msgpack_sbuffer_clear (&self->scratch);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &self->scratch, msgpack_sbuffer_write);
    for (size_t index = 0; index < action->piece_count; index++) {
        zeb_rule_piece_t *piece = &action->pieces [index];
        zeb_rule_value_t value;
        if (piece->kind == ZEB_RULE_PIECE_RAW)
            msgpack_sbuffer_write (&self->scratch, (const char *) piece->raw, piece->raw_size);
        else
        if (piece->kind == ZEB_RULE_PIECE_WHOLE) {
            zeb_rule_resolve (&piece->segments [0].path, event, NULL, NULL, &value);
            s_write_whole (&pk, &value);
        }
        else {
            self->line_size = 0;
            for (size_t segment = 0; segment < piece->segment_count; segment++) {
                zeb_rule_segment_t *part = &piece->segments [segment];
                if (part->literal)
                    s_line_add (self, part->literal, part->len);
                else {
                    zeb_rule_resolve (&part->path, event, NULL, NULL, &value);
                    s_text_of (self, &value);
                }
            }
            msgpack_pack_str (&pk, self->line_size);
            msgpack_pack_str_body (&pk, self->line, self->line_size);
        }
    }
}

void
zeb_rule_render (zeb_rule_t *self, const zeb_event_view_t *event, zeb_pack_t *pack, const char *key)
{
    assert (self);
    assert (event);
    assert (pack);
    zeb_pack_array (pack, key);
    for (size_t index = 0; index < self->action_count; index++) {
        zeb_rule_action_t *action = &self->actions [index];
        zeb_pack_map (pack, NULL);
        zeb_pack_str (pack, "type", action->type);
        if (action->templated) {
            s_render_config (self, action, event);
            zeb_pack_raw (pack, "config", self->scratch.data, self->scratch.size);
        }
        else
            zeb_pack_raw (pack, "config", action->pieces [0].raw, action->pieces [0].raw_size);
        if (action->retry)
            zeb_pack_raw (pack, "retryPolicy", action->retry, action->retry_size);
        zeb_pack_end (pack);
    }
    zeb_pack_end (pack);
}
