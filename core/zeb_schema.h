/*  =========================================================================
    zeb_schema - JSON Schema (draft 2020-12) for event payloads, over msgpack

    A schema is compiled once from its JSON text into a tree of nodes:
    property names sorted for binary search, `required` as a sorted list,
    patterns compiled by PCRE2, `$ref` resolved to nodes. Validation walks
    an event's msgpack data directly, with no JSON conversion and no heap
    allocation, and reports the first failure: the instance path (a JSON
    Pointer, "/items/0/sku"), the keyword and a message.

    Supported keywords: type (with "integer" as distinct from "number", and
    arrays of types), properties, required, additionalProperties (boolean
    or schema), items, prefixItems, enum, const, minimum, maximum,
    exclusiveMinimum, exclusiveMaximum, multipleOf, minLength, maxLength
    (code points), pattern, minItems, maxItems, uniqueItems, minProperties,
    maxProperties, anyOf, oneOf, allOf, not, $ref (within the document:
    "#" and "#/$defs/NAME"), $defs, and format (date-time, email, uri,
    uuid); and the annotations $schema, $id, $comment, title, description,
    default, examples, deprecated, readOnly, writeOnly, which do not affect
    validation. Any other keyword, or another format, makes the schema
    invalid, with an error naming it: nothing is silently ignored.

    A schema is used by one thread at a time (PCRE2 match data is shared
    by its validations).
    =========================================================================
*/

#ifndef ZEB_SCHEMA_H_INCLUDED
#define ZEB_SCHEMA_H_INCLUDED

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _zeb_schema_t zeb_schema_t;

//  Why an instance failed
typedef struct {
    char path [256];            //  JSON Pointer to the failing value ("" = the root)
    char keyword [32];          //  the keyword that failed ("required", "type"...)
    char message [256];         //  for people: what was expected
} zeb_schema_error_t;

//  Compile a schema from JSON text. Returns NULL with fault set (code
//  ZEB_EBADSCHEMA) if the text is not JSON, not a schema, or uses a keyword
//  or format outside the supported set; the message names it and where.
zeb_schema_t *
    zeb_schema_new (const char *json, size_t len, zeb_fault_t *fault);

//  Destroy a schema; safe with NULL, nulls the caller's pointer.
void
    zeb_schema_destroy (zeb_schema_t **self_p);

//  Validate one msgpack value. Returns 0, ZEB_ESCHEMA with error filled
//  (error may be NULL) if the value does not match, or ZEB_EMALFORMED if
//  the bytes are not one msgpack value.
int
    zeb_schema_validate (zeb_schema_t *self, const void *data, size_t size,
                         zeb_schema_error_t *error);

//  Self test
void
    zeb_schema_test (bool verbose);

#ifdef __cplusplus
}
#endif

#endif
