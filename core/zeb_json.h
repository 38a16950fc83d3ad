/*  =========================================================================
    zeb_json - conversion between msgpack values and JSON (jansson)

    Events carry data as msgpack; people and HTTP clients speak JSON. The
    mapping: maps <-> objects (integer keys become decimal text), arrays,
    strings (invalid UTF-8 replaced by U+FFFD on the way to JSON), integers,
    floats (NaN and infinities become null), booleans and nil <-> null.
    Binary values become base64 text; msgpack timestamps (ext -1) become
    RFC 3339 text; other extension types are refused. Nesting deeper than
    ZEB_JSON_MAX_DEPTH is refused both ways.
    =========================================================================
*/

#ifndef ZEB_JSON_H_INCLUDED
#define ZEB_JSON_H_INCLUDED

#ifdef __cplusplus
extern "C" {
#endif

#define ZEB_JSON_MAX_DEPTH 128

//  Convert exactly one msgpack value. Returns a new reference, or NULL if
//  the bytes are malformed or cannot be represented (fault says why).
json_t *
    zeb_json_from_msgpack (const void *data, size_t size, zeb_fault_t *fault);

//  Append the msgpack encoding of a JSON value. Returns 0 or -1.
int
    zeb_json_to_msgpack (json_t *json, msgpack_packer *packer);

//  Parse JSON text (any value, not only objects). Returns a new reference,
//  or NULL with fault set (ZEB_EMALFORMED, with line and column).
json_t *
    zeb_json_parse (const char *text, size_t len, zeb_fault_t *fault);

//  Parse JSON text and append its msgpack encoding to buffer. Returns 0,
//  or ZEB_EMALFORMED with fault set.
int
    zeb_json_pack_text (const char *text, size_t len, msgpack_sbuffer *buffer, zeb_fault_t *fault);

//  The compact JSON text of any value, byte for byte what json_dumps
//  (json, JSON_COMPACT | JSON_ENCODE_ANY) writes (keys in the object's
//  order), without jansson's per-character decoding. Caller owns the
//  result; NULL if json is NULL, holds a string that is not UTF-8, or is
//  nested past 4 * ZEB_JSON_MAX_DEPTH.
char *
    zeb_json_dumps (json_t *json);

//  Base64 (RFC 4648, with padding) of bytes; caller owns the result.
char *
    zeb_json_base64 (const uint8_t *data, size_t size);

//  Decode base64 text into a new buffer; caller owns *data. Returns 0 or -1.
int
    zeb_json_unbase64 (const char *text, size_t len, uint8_t **data, size_t *size);

//  Self test
void
    zeb_json_test (bool verbose);

#ifdef __cplusplus
}
#endif

#endif
