/*  =========================================================================
    fuzz_json - JSON <-> msgpack conversion (core/zeb_json.h)

    Input: any bytes, tried two ways (libFuzzer's mutations make both kinds
    from the seeds of either):

    As JSON text (what HTTP clients and `zeb publish` send):
    zeb_json_pack_text -> msgpack A -> zeb_json_from_msgpack -> JSON ->
    zeb_json_to_msgpack -> msgpack B. Oracle: A and B are the same bytes.
    They are: msgpack from JSON has only string keys, valid UTF-8, int64
    integers and doubles (jansson refuses numbers it cannot hold, so no NaN
    or infinity), and jansson keeps an object's key order; every one of
    those reads back unchanged, a double as the same double.

    As msgpack (event data on its way to a consumer as JSON):
    zeb_json_from_msgpack -> JSON J1 -> msgpack -> JSON J2. Oracle: J1 and
    J2 are equal (s_same below, not json_equal: jansson's looks keys up
    as C strings, and keys from msgpack may hold NUL bytes). Not byte equality of the msgpack: the first
    conversion is lossy by design (integer keys become text, binaries
    base64, invalid UTF-8 U+FFFD, timestamps RFC 3339 text, NaN null, a
    uint64 past INT64_MAX a double), but what it gives is JSON that then
    converts without loss. Its text parses back to equal JSON, except
    where an object key holds a NUL byte: zeb_json_from_msgpack keeps such
    a key, json_dumps writes it as "\u0000", and jansson's parser (so
    zeb_json_parse) refuses it ("NUL byte in object key not supported").
    =========================================================================
*/

#include "fuzz.h"

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
    s_fuzz_init ();
    return 0;
}

//  Deep equality, keys compared with their lengths
static bool
s_same (json_t *a, json_t *b)
{
    if (json_typeof (a) != json_typeof (b))
        return false;
    switch (json_typeof (a)) {
        case JSON_OBJECT: {
            if (json_object_size (a) != json_object_size (b))
                return false;
            for (void *iter = json_object_iter (a); iter; iter = json_object_iter_next (a, iter)) {
                json_t *other = json_object_getn (b, json_object_iter_key (iter),
                                                  json_object_iter_key_len (iter));
                if (!other || !s_same (json_object_iter_value (iter), other))
                    return false;
            }
            return true;
        }
        case JSON_ARRAY:
            if (json_array_size (a) != json_array_size (b))
                return false;
            for (size_t index = 0; index < json_array_size (a); index++)
                if (!s_same (json_array_get (a, index), json_array_get (b, index)))
                    return false;
            return true;
        case JSON_STRING:
            return json_string_length (a) == json_string_length (b)
                && memcmp (json_string_value (a), json_string_value (b), json_string_length (a)) == 0;
        case JSON_INTEGER:
            return json_integer_value (a) == json_integer_value (b);
        case JSON_REAL:
            return json_real_value (a) == json_real_value (b);
        default:
            return true;        //  true, false, null: the type says it all
    }
}

//  True if an object key anywhere in json holds a NUL byte: JSON text
//  can write one ("\u0000") but jansson's parser refuses it in keys
static bool
s_nul_in_key (json_t *json)
{
    if (json_is_object (json)) {
        for (void *iter = json_object_iter (json); iter; iter = json_object_iter_next (json, iter))
            if (memchr (json_object_iter_key (iter), 0, json_object_iter_key_len (iter))
            ||  s_nul_in_key (json_object_iter_value (iter)))
                return true;
    }
    else
    if (json_is_array (json)) {
        for (size_t index = 0; index < json_array_size (json); index++)
            if (s_nul_in_key (json_array_get (json, index)))
                return true;
    }
    return false;
}

static void
s_from_text (const uint8_t *data, size_t size)
{
    zeb_fault_t fault = { 0 };
    msgpack_sbuffer first;
    msgpack_sbuffer_init (&first);
    int rc = zeb_json_pack_text ((const char *) data, size, &first, &fault);
    if (rc) {
        S_ORACLE (rc == ZEB_EMALFORMED && fault.code == ZEB_EMALFORMED);
        msgpack_sbuffer_destroy (&first);
        return;
    }
    json_t *json = zeb_json_from_msgpack (first.data, first.size, &fault);
    S_ORACLE (json);
    msgpack_sbuffer second;
    msgpack_sbuffer_init (&second);
    msgpack_packer packer;
    msgpack_packer_init (&packer, &second, msgpack_sbuffer_write);
    S_ORACLE (zeb_json_to_msgpack (json, &packer) == 0);
    S_ORACLE (first.size == second.size && memcmp (first.data, second.data, first.size) == 0);
    json_decref (json);
    msgpack_sbuffer_destroy (&second);
    msgpack_sbuffer_destroy (&first);
}

static void
s_from_msgpack (const uint8_t *data, size_t size)
{
    zeb_fault_t fault = { 0 };
    json_t *first = zeb_json_from_msgpack (data, size, &fault);
    if (!first)
        return;
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer packer;
    msgpack_packer_init (&packer, &buffer, msgpack_sbuffer_write);
    //  Both directions refuse the same depth, so this cannot fail
    S_ORACLE (zeb_json_to_msgpack (first, &packer) == 0);
    json_t *second = zeb_json_from_msgpack (buffer.data, buffer.size, &fault);
    S_ORACLE (second);
    S_ORACLE (s_same (first, second));
    json_decref (second);
    //  The text a consumer would print parses back to equal JSON
    char *text = json_dumps (first, JSON_ENCODE_ANY | JSON_COMPACT);
    if (text) {
        json_t *parsed = zeb_json_parse (text, strlen (text), &fault);
        S_ORACLE (parsed? s_same (first, parsed): s_nul_in_key (first));
        json_decref (parsed);
        free (text);
    }
    json_decref (first);
    msgpack_sbuffer_destroy (&buffer);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    s_from_text (data, size);
    s_from_msgpack (data, size);
    return 0;
}
