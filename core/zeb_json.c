/*  =========================================================================
    zeb_json - conversion between msgpack values and JSON (jansson)
    =========================================================================
*/

#include "zeb_classes.h"

//  Length of the longest valid UTF-8 prefix of the next character, or 0 if
//  the bytes at p do not start a valid character.
static size_t
s_utf8_char (const uint8_t *p, size_t avail)
{
    uint8_t c = p [0];
    size_t need;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if ((c & 0xe0) == 0xc0) {
        need = 2;
        cp = c & 0x1f;
    }
    else
    if ((c & 0xf0) == 0xe0) {
        need = 3;
        cp = c & 0x0f;
    }
    else
    if ((c & 0xf8) == 0xf0) {
        need = 4;
        cp = c & 0x07;
    }
    else
        return 0;
    if (avail < need)
        return 0;
    for (size_t index = 1; index < need; index++) {
        if ((p [index] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p [index] & 0x3f);
    }
    //  Overlong forms, surrogates and values past U+10FFFF are invalid
    if ((need == 2 && cp < 0x80) || (need == 3 && cp < 0x800) || (need == 4 && cp < 0x10000)
    ||  (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
        return 0;
    return need;
}

//  A JSON string from bytes, replacing invalid UTF-8 with U+FFFD.
static json_t *
s_json_string (const char *str, size_t len)
{
    json_t *json = json_stringn (str, len);
    if (json)
        return json;                //  valid UTF-8, the usual case
    char *clean = (char *) malloc (len * 3 + 1);
    if (!clean)
        return NULL;
    size_t out = 0;
    const uint8_t *p = (const uint8_t *) str;
    for (size_t index = 0; index < len;) {
        size_t step = s_utf8_char (p + index, len - index);
        if (step && !(step == 1 && p [index] == 0)) {
            memcpy (clean + out, p + index, step);
            out += step;
            index += step;
        }
        else {
            memcpy (clean + out, "\xef\xbf\xbd", 3);
            out += 3;
            index += step? step: 1;
        }
    }
    json = json_stringn (clean, out);
    free (clean);
    return json;
}

static json_t *
s_from_msgpack (zeb_mpk_t *reader, int depth, zeb_fault_t *fault)
{
    if (depth > ZEB_JSON_MAX_DEPTH) {
        zeb_fault_set (fault, ZEB_EMALFORMED, "nested deeper than %d levels", ZEB_JSON_MAX_DEPTH);
        return NULL;
    }
    const char *str;
    const uint8_t *bin;
    uint32_t len, count;
    switch (zeb_mpk_peek (reader)) {
        case ZEB_MPK_NIL:
            zeb_mpk_read_nil (reader);
            return json_null ();
        case ZEB_MPK_BOOL: {
            bool value;
            zeb_mpk_read_bool (reader, &value);
            return json_boolean (value);
        }
        case ZEB_MPK_UINT: {
            uint64_t value;
            zeb_mpk_read_uint (reader, &value);
            if (value > INT64_MAX)
                return json_real ((double) value);
            return json_integer ((json_int_t) value);
        }
        case ZEB_MPK_INT: {
            int64_t value;
            zeb_mpk_read_int (reader, &value);
            return json_integer ((json_int_t) value);
        }
        case ZEB_MPK_FLOAT: {
            double value;
            zeb_mpk_read_double (reader, &value);
            json_t *json = json_real (value);
            return json? json: json_null ();    //  NaN and infinities
        }
        case ZEB_MPK_STR:
            zeb_mpk_read_str (reader, &str, &len);
            return s_json_string (str, len);
        case ZEB_MPK_BIN: {
            zeb_mpk_read_bin (reader, &bin, &len);
            char *text = zeb_json_base64 (bin, len);
            json_t *json = text? json_string (text): NULL;
            free (text);
            return json;
        }
        case ZEB_MPK_EXT: {
            const uint8_t *span;
            size_t span_size;
            zeb_mpk_skip (reader, &span, &span_size);
            //  The msgpack timestamp extension (type -1): 4, 8 or 12 bytes
            size_t head = span [0] == 0xc7? 3: 2;
            int8_t ext_type = (int8_t) span [head - 1];
            size_t body = span_size - head;
            if (ext_type == -1 && (body == 4 || body == 8 || body == 12)) {
                const uint8_t *p = span + head;
                int64_t seconds;
                uint32_t nanos = 0;
                if (body == 4)
                    seconds = ((int64_t) p [0] << 24) | (p [1] << 16) | (p [2] << 8) | p [3];
                else
                if (body == 8) {
                    uint64_t v = 0;
                    for (int i = 0; i < 8; i++)
                        v = (v << 8) | p [i];
                    nanos = (uint32_t) (v >> 34);
                    seconds = (int64_t) (v & 0x3ffffffffULL);
                }
                else {
                    for (int i = 0; i < 4; i++)
                        nanos = (nanos << 8) | p [i];
                    uint64_t v = 0;
                    for (int i = 4; i < 12; i++)
                        v = (v << 8) | p [i];
                    seconds = (int64_t) v;
                }
                //  RFC 3339 writes years 0000 to 9999; beyond, and for
                //  seconds whose milliseconds overflow, there is no text
                if (seconds < -62167219200LL || seconds > 253402300799LL) {
                    zeb_fault_set (fault, ZEB_EINVALID, "msgpack timestamp of %lld s is outside "
                                   "the years RFC 3339 can write", (long long) seconds);
                    return NULL;
                }
                char text [ZEB_TIME_STRLEN];
                return json_string (zeb_time_format (seconds * 1000 + nanos / 1000000, text));
            }
            zeb_fault_set (fault, ZEB_EMALFORMED, "msgpack extension type %d has no JSON form", ext_type);
            return NULL;
        }
        case ZEB_MPK_ARRAY: {
            zeb_mpk_read_array (reader, &count);
            json_t *array = json_array ();
            for (uint32_t index = 0; array && index < count; index++) {
                json_t *item = s_from_msgpack (reader, depth + 1, fault);
                if (!item || json_array_append_new (array, item)) {
                    json_decref (array);
                    return NULL;
                }
            }
            return array;
        }
        case ZEB_MPK_MAP: {
            zeb_mpk_read_map (reader, &count);
            json_t *object = json_object ();
            for (uint32_t index = 0; object && index < count; index++) {
                char number [32];
                const char *key;
                uint32_t key_len;
                zeb_mpk_kind_t kind = zeb_mpk_peek (reader);
                if (kind == ZEB_MPK_STR)
                    zeb_mpk_read_str (reader, &key, &key_len);
                else
                if (kind == ZEB_MPK_UINT || kind == ZEB_MPK_INT) {
                    int64_t value;
                    uint64_t uvalue;
                    if (zeb_mpk_read_int (reader, &value) == 0)
                        snprintf (number, sizeof (number), "%lld", (long long) value);
                    else {
                        zeb_mpk_read_uint (reader, &uvalue);
                        snprintf (number, sizeof (number), "%llu", (unsigned long long) uvalue);
                    }
                    key = number;
                    key_len = (uint32_t) strlen (number);
                }
                else {
                    zeb_fault_set (fault, ZEB_EMALFORMED, "map key is neither string nor integer");
                    json_decref (object);
                    return NULL;
                }
                json_t *keyjson = s_json_string (key, key_len);
                json_t *value = keyjson? s_from_msgpack (reader, depth + 1, fault): NULL;
                if (!value
                ||  json_object_setn_new_nocheck (object, json_string_value (keyjson),
                                                  json_string_length (keyjson), value)) {
                    json_decref (keyjson);
                    json_decref (object);
                    return NULL;
                }
                json_decref (keyjson);
            }
            return object;
        }
        default:
            zeb_fault_set (fault, ZEB_EMALFORMED, "malformed or truncated msgpack");
            return NULL;
    }
}

json_t *
zeb_json_from_msgpack (const void *data, size_t size, zeb_fault_t *fault)
{
    //  Check the whole value first, so the converter may trust lengths
    zeb_mpk_t reader;
    zeb_mpk_init (&reader, data, size);
    if (zeb_mpk_skip (&reader, NULL, NULL) || !zeb_mpk_done (&reader)) {
        zeb_fault_set (fault, ZEB_EMALFORMED, "not exactly one msgpack value");
        return NULL;
    }
    zeb_mpk_init (&reader, data, size);
    return s_from_msgpack (&reader, 0, fault);
}

static int
s_to_msgpack (json_t *json, msgpack_packer *pk, int depth)
{
    if (depth > ZEB_JSON_MAX_DEPTH)
        return -1;
    switch (json_typeof (json)) {
        case JSON_OBJECT: {
            if (msgpack_pack_map (pk, json_object_size (json)))
                return -1;
            const char *key;
            size_t key_len;
            json_t *value;
            void *iter = json_object_iter (json);
            while (iter) {
                key = json_object_iter_key (iter);
                key_len = json_object_iter_key_len (iter);
                value = json_object_iter_value (iter);
                if (msgpack_pack_str_with_body (pk, key, key_len)
                ||  s_to_msgpack (value, pk, depth + 1))
                    return -1;
                iter = json_object_iter_next (json, iter);
            }
            return 0;
        }
        case JSON_ARRAY: {
            size_t size = json_array_size (json);
            if (msgpack_pack_array (pk, size))
                return -1;
            for (size_t index = 0; index < size; index++)
                if (s_to_msgpack (json_array_get (json, index), pk, depth + 1))
                    return -1;
            return 0;
        }
        case JSON_STRING:
            return msgpack_pack_str_with_body (pk, json_string_value (json), json_string_length (json));
        case JSON_INTEGER:
            return msgpack_pack_int64 (pk, json_integer_value (json));
        case JSON_REAL:
            return msgpack_pack_double (pk, json_real_value (json));
        case JSON_TRUE:
            return msgpack_pack_true (pk);
        case JSON_FALSE:
            return msgpack_pack_false (pk);
        case JSON_NULL:
            return msgpack_pack_nil (pk);
    }
    return -1;
}

int
zeb_json_to_msgpack (json_t *json, msgpack_packer *packer)
{
    assert (json);
    assert (packer);
    return s_to_msgpack (json, packer, 0);
}

json_t *
zeb_json_parse (const char *text, size_t len, zeb_fault_t *fault)
{
    json_error_t error;
    json_t *json = json_loadb (text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &error);
    if (!json)
        zeb_fault_set (fault, ZEB_EMALFORMED, "invalid JSON at line %d column %d: %s",
                       error.line, error.column, error.text);
    return json;
}

int
zeb_json_pack_text (const char *text, size_t len, msgpack_sbuffer *buffer, zeb_fault_t *fault)
{
    json_t *json = zeb_json_parse (text, len, fault);
    if (!json)
        return ZEB_EMALFORMED;
    msgpack_packer packer;
    msgpack_packer_init (&packer, buffer, msgpack_sbuffer_write);
    int rc = zeb_json_to_msgpack (json, &packer);
    json_decref (json);
    return rc? zeb_fault_set (fault, ZEB_EMALFORMED, "JSON value cannot be encoded"): 0;
}

char *
zeb_json_base64 (const uint8_t *data, size_t size)
{
    zarmour_t *armour = zarmour_new ();
    if (!armour)
        return NULL;
    zarmour_set_mode (armour, ZARMOUR_MODE_BASE64_STD);
    zarmour_set_pad (armour, true);
    zarmour_set_line_breaks (armour, false);
    char *text = size? zarmour_encode (armour, data, size): strdup ("");
    zarmour_destroy (&armour);
    return text;
}

int
zeb_json_unbase64 (const char *text, size_t len, uint8_t **data, size_t *size)
{
    //  zarmour wants a null-terminated string and does not reject stray
    //  characters: check the alphabet and padding ourselves first
    if (len % 4)
        return -1;
    for (size_t index = 0; index < len; index++) {
        char c = text [index];
        bool pad_ok = c == '=' && index >= len - 2
                   && (index == len - 1 || text [len - 1] == '=');
        if (!(isalnum ((unsigned char) c) || c == '+' || c == '/' || pad_ok))
            return -1;
    }
    if (len == 0) {
        *data = (uint8_t *) malloc (1);
        *size = 0;
        return *data? 0: -1;
    }
    char *copy = strndup (text, len);
    zarmour_t *armour = zarmour_new ();
    if (!copy || !armour) {
        free (copy);
        zarmour_destroy (&armour);
        return -1;
    }
    zarmour_set_mode (armour, ZARMOUR_MODE_BASE64_STD);
    zarmour_set_pad (armour, true);
    zchunk_t *chunk = zarmour_decode (armour, copy);
    zarmour_destroy (&armour);
    free (copy);
    if (!chunk)
        return -1;
    //  zarmour appends a null byte to what it decodes: use the length
    //  the text implies
    size_t expected = len / 4 * 3 - (text [len - 1] == '=') - (text [len - 2] == '=');
    if (zchunk_size (chunk) < expected) {
        zchunk_destroy (&chunk);
        return -1;
    }
    *size = expected;
    *data = (uint8_t *) malloc (*size + 1);
    if (*data)
        memcpy (*data, zchunk_data (chunk), *size);
    zchunk_destroy (&chunk);
    return *data? 0: -1;
}

//  ---------------------------------------------------------------------
//  Compact JSON text, as jansson writes it, without its per-character
//  UTF-8 decoding: ASCII runs are copied, the rest checked once

typedef struct {
    char *data;
    size_t size, room;
    bool failed;
} s_text_t;

static void
s_text_add (s_text_t *text, const char *data, size_t size)
{
    if (text->size + size + 1 > text->room) {
        size_t room = text->room? text->room: 256;
        while (text->size + size + 1 > room)
            room *= 2;
        char *grown = (char *) realloc (text->data, room);
        if (!grown) {
            text->failed = true;
            return;
        }
        text->data = grown;
        text->room = room;
    }
    memcpy (text->data + text->size, data, size);
    text->size += size;
}

static void
s_text_string (s_text_t *text, const char *string, size_t len)
{
    static const char hex [] = "0123456789ABCDEF";
    s_text_add (text, "\"", 1);
    size_t start = 0;
    bool ascii = true;
    for (size_t index = 0; index < len; index++) {
        unsigned char c = (unsigned char) string [index];
        if (c >= 0x20 && c != '"' && c != '\\') {
            ascii = ascii && c < 0x80;
            continue;
        }
        s_text_add (text, string + start, index - start);
        char escape [6] = { '\\', 0 };
        size_t size = 2;
        switch (c) {
            case '"':  escape [1] = '"';  break;
            case '\\': escape [1] = '\\'; break;
            case '\b': escape [1] = 'b';  break;
            case '\f': escape [1] = 'f';  break;
            case '\n': escape [1] = 'n';  break;
            case '\r': escape [1] = 'r';  break;
            case '\t': escape [1] = 't';  break;
            default:
                memcpy (escape + 1, "u00", 3);
                escape [4] = hex [c >> 4];
                escape [5] = hex [c & 15];
                size = 6;
        }
        s_text_add (text, escape, size);
        start = index + 1;
    }
    s_text_add (text, string + start, len - start);
    s_text_add (text, "\"", 1);
    //  jansson refuses what is not UTF-8; so does this
    if (!ascii && !zeb_mpk_utf8_valid (string, len))
        text->failed = true;
}

static void
s_text_value (s_text_t *text, json_t *json, int depth)
{
    char number [32];
    if (depth > ZEB_JSON_MAX_DEPTH * 4) {
        text->failed = true;
        return;
    }
    switch (json_typeof (json)) {
        case JSON_OBJECT: {
            s_text_add (text, "{", 1);
            const char *key;
            size_t key_len;
            json_t *value;
            bool first = true;
            json_object_keylen_foreach (json, key, key_len, value) {
                if (!first)
                    s_text_add (text, ",", 1);
                first = false;
                s_text_string (text, key, key_len);
                s_text_add (text, ":", 1);
                s_text_value (text, value, depth + 1);
            }
            s_text_add (text, "}", 1);
            break;
        }
        case JSON_ARRAY: {
            s_text_add (text, "[", 1);
            for (size_t index = 0; index < json_array_size (json); index++) {
                if (index)
                    s_text_add (text, ",", 1);
                s_text_value (text, json_array_get (json, index), depth + 1);
            }
            s_text_add (text, "]", 1);
            break;
        }
        case JSON_STRING:
            s_text_string (text, json_string_value (json), json_string_length (json));
            break;
        case JSON_INTEGER:
            s_text_add (text, number, (size_t) snprintf (number, sizeof (number), "%" JSON_INTEGER_FORMAT,
                                                         json_integer_value (json)));
            break;
        case JSON_REAL: {
            //  jansson's own shortest-form printing, kept exactly
            char *real = json_dumps (json, JSON_COMPACT | JSON_ENCODE_ANY);
            if (real)
                s_text_add (text, real, strlen (real));
            else
                text->failed = true;
            free (real);
            break;
        }
        case JSON_TRUE:
            s_text_add (text, "true", 4);
            break;
        case JSON_FALSE:
            s_text_add (text, "false", 5);
            break;
        case JSON_NULL:
            s_text_add (text, "null", 4);
            break;
    }
}

char *
zeb_json_dumps (json_t *json)
{
    if (!json)
        return NULL;
    s_text_t text = { NULL, 0, 0, false };
    s_text_value (&text, json, 0);
    if (text.failed) {
        free (text.data);
        return NULL;
    }
    s_text_add (&text, "", 0);
    if (text.failed) {
        free (text.data);
        return NULL;
    }
    text.data [text.size] = 0;
    return text.data;
}

void
zeb_json_test (bool verbose)
{
    printf (" * zeb_json: ");
    //  zeb_json_dumps writes what jansson writes, faster
    {
        char every [128];
        for (int index = 0; index < 127; index++)
            every [index] = (char) (index + 1);
        every [127] = 0;
        json_t *values = json_pack ("[s, s, s, s, I, I, f, f, f, b, b, n, {}, [], {s:{s:[i, s]}, s:s%}]",
                                    every, "plain", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "",
                                    (json_int_t) INT64_MIN, (json_int_t) INT64_MAX, 0.1, -1e300, 2.0,
                                    1, 0, "a\"b", "c", 7, "d/e", "k\tey", "with\0nul", (size_t) 8);
        assert (values);
        json_array_append_new (values, json_stringn ("a\0b", 3));
        json_object_set_new (json_array_get (values, 14), "z", json_string ("\x7f"));
        char *mine = zeb_json_dumps (values);
        char *theirs = json_dumps (values, JSON_COMPACT | JSON_ENCODE_ANY);
        assert (mine && theirs);
        if (!streq (mine, theirs))
            printf ("\n   zeb_json_dumps: %s\n   json_dumps:     %s\n", mine, theirs);
        assert (streq (mine, theirs));
        free (mine);
        free (theirs);
        for (size_t index = 0; index < json_array_size (values); index++) {
            json_t *value = json_array_get (values, index);
            mine = zeb_json_dumps (value);
            theirs = json_dumps (value, JSON_COMPACT | JSON_ENCODE_ANY);
            assert (mine && theirs && streq (mine, theirs));
            free (mine);
            free (theirs);
        }
        json_decref (values);
        json_t *invalid = json_string_nocheck ("\xff");
        assert (zeb_json_dumps (invalid) == NULL);
        assert (json_dumps (invalid, JSON_ENCODE_ANY) == NULL);
        json_decref (invalid);
        assert (zeb_json_dumps (NULL) == NULL);
    }
    //  A timestamp whose milliseconds would overflow has no JSON form
    const uint8_t far [] = { 0xc7, 0x0c, 0xff, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    zeb_fault_t far_fault;
    assert (zeb_json_from_msgpack (far, sizeof (far), &far_fault) == NULL);
    assert (strstr (far_fault.text, "RFC 3339"));
    //  Text straight to msgpack
    msgpack_sbuffer packed;
    msgpack_sbuffer_init (&packed);
    zeb_fault_t packed_fault;
    assert (zeb_json_pack_text ("[1,\"a\"]", 7, &packed, &packed_fault) == 0);
    assert (packed.size == 4 && memcmp (packed.data, "\x92\x01\xa1" "a", 4) == 0);
    assert (zeb_json_pack_text ("[1,", 3, &packed, &packed_fault) == ZEB_EMALFORMED);
    assert (strstr (packed_fault.text, "invalid JSON") && packed.size == 4);
    msgpack_sbuffer_destroy (&packed);
    const char *text =
        "{\"name\":\"Widget \\u00e9\",\"count\":3,\"price\":9.5,\"tags\":[\"a\",\"b\"],"
        "\"ok\":true,\"no\":false,\"none\":null,\"nested\":{\"deep\":[1,[2,[3]]]},\"neg\":-42}";
    zeb_fault_t fault;
    json_t *json = zeb_json_parse (text, strlen (text), &fault);
    assert (json);
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    assert (zeb_json_to_msgpack (json, &pk) == 0);
    json_t *back = zeb_json_from_msgpack (buffer.data, buffer.size, &fault);
    assert (back);
    assert (json_equal (json, back));
    json_decref (back);
    json_decref (json);

    //  Truncated or trailing bytes are refused
    assert (zeb_json_from_msgpack (buffer.data, buffer.size - 1, &fault) == NULL);
    assert (fault.code == ZEB_EMALFORMED);
    msgpack_pack_nil (&pk);
    assert (zeb_json_from_msgpack (buffer.data, buffer.size, &fault) == NULL);

    //  Binary, integer keys, invalid UTF-8, big unsigned, timestamps
    msgpack_sbuffer_clear (&buffer);
    msgpack_pack_map (&pk, 5);
    msgpack_pack_str_with_body (&pk, "bin", 3);
    msgpack_pack_bin_with_body (&pk, "hello", 5);
    msgpack_pack_int (&pk, 7);
    msgpack_pack_str_with_body (&pk, "seven", 5);
    msgpack_pack_str_with_body (&pk, "bad", 3);
    msgpack_pack_str_with_body (&pk, "a\xff" "b", 3);
    msgpack_pack_str_with_body (&pk, "big", 3);
    msgpack_pack_uint64 (&pk, UINT64_MAX);
    msgpack_pack_str_with_body (&pk, "when", 4);
    const char stamp [] = { 0, 0, 0, 0 };
    msgpack_pack_ext_with_body (&pk, stamp, 4, -1);
    json = zeb_json_from_msgpack (buffer.data, buffer.size, &fault);
    assert (json);
    assert (streq (json_string_value (json_object_get (json, "bin")), "aGVsbG8="));
    assert (streq (json_string_value (json_object_get (json, "7")), "seven"));
    assert (streq (json_string_value (json_object_get (json, "bad")), "a\xef\xbf\xbd" "b"));
    assert (json_is_real (json_object_get (json, "big")));
    assert (streq (json_string_value (json_object_get (json, "when")), "1970-01-01T00:00:00.000Z"));
    json_decref (json);

    //  Unsupported extension types are refused with a reason
    msgpack_sbuffer_clear (&buffer);
    msgpack_pack_ext_with_body (&pk, "x", 1, 42);
    assert (zeb_json_from_msgpack (buffer.data, buffer.size, &fault) == NULL);
    assert (strstr (fault.text, "42"));

    //  Depth limits both ways
    msgpack_sbuffer_clear (&buffer);
    for (int index = 0; index < ZEB_JSON_MAX_DEPTH + 5; index++)
        msgpack_pack_array (&pk, 1);
    msgpack_pack_nil (&pk);
    assert (zeb_json_from_msgpack (buffer.data, buffer.size, &fault) == NULL);
    json = json_null ();
    for (int index = 0; index < ZEB_JSON_MAX_DEPTH + 5; index++) {
        json_t *outer = json_array ();
        json_array_append_new (outer, json);
        json = outer;
    }
    assert (zeb_json_to_msgpack (json, &pk) == -1);
    json_decref (json);

    //  Invalid JSON reports where
    assert (zeb_json_parse ("{\"a\":", 5, &fault) == NULL);
    assert (fault.code == ZEB_EMALFORMED && strstr (fault.text, "line 1"));

    //  Base64 round trip and refusals
    uint8_t *bytes;
    size_t size;
    char *b64 = zeb_json_base64 ((const uint8_t *) "\x00\x01\xfe\xff", 4);
    assert (streq (b64, "AAH+/w=="));
    assert (zeb_json_unbase64 (b64, strlen (b64), &bytes, &size) == 0);
    assert (size == 4 && bytes [3] == 0xff);
    free (bytes);
    free (b64);
    assert (zeb_json_unbase64 ("abc", 3, &bytes, &size) == -1);
    assert (zeb_json_unbase64 ("ab!c", 4, &bytes, &size) == -1);
    assert (zeb_json_unbase64 ("a=bc", 4, &bytes, &size) == -1);
    assert (zeb_json_unbase64 ("", 0, &bytes, &size) == 0 && size == 0);
    free (bytes);

    msgpack_sbuffer_destroy (&buffer);
    printf ("OK\n");
}
