/*  =========================================================================
    zeb_schema - JSON Schema (draft 2020-12) for event payloads, over msgpack

    A schema is compiled once from its JSON text into a tree of nodes:
    property names sorted for binary search, `required` as a sorted list,
    patterns compiled by PCRE2, `$ref` resolved to nodes. Validation walks
    an event's msgpack data directly, with no JSON conversion and no heap
    allocation, and reports the first failure: the instance path (a JSON
    Pointer, "/items/0/sku"), the keyword and a message. Valid data of a
    schema made only of the common keywords (a tree: no $ref, no
    combinators) is answered by a faster walk, which only says "valid";
    every other case, and every error, is the full walk's (docs/SCHEMA.md).

    Supported: every keyword of draft 2020-12's core, applicator,
    validation, unevaluated and format-annotation vocabularies, content*
    as annotations (docs/SCHEMA.md). "format" is an annotation unless
    compiled with format_assertion. References resolve within the
    document only ($id, $anchor, $dynamicAnchor, JSON Pointers); one to
    another document, or an unknown keyword, makes the schema invalid,
    with an error naming it: nothing is silently ignored.

    Bounds. A schema that can apply itself to the same value without end,
    a cycle through $ref, $dynamicRef, allOf, anyOf, oneOf, not, if, then,
    else and dependentSchemas alone, is refused when compiled; recursion
    through properties, items and the like is fine (it ends with the
    data). Validation follows data max_depth levels deep (keyword "depth"
    past it); at most 256 schemas apply to one value nested, 4096 along
    one path in all, which bounds the C stack. And each validation has a work budget: it
    counts its steps (a subschema applied to a value is one step, unless
    it is true or false, a leaf; so is a comparison of two items for
    uniqueItems) and is allowed

        budget = nodes x size, at least ZEB_SCHEMA_STEPS_MIN and at most
                 ZEB_SCHEMA_STEPS_MAX

    where nodes is the number of (sub)schemas the document compiles to and
    size the msgpack bytes validated (an upper bound on the number of
    values). A schema applies each of its nodes at most once to each value
    unless combinators over $ref reach the same node by several routes;
    such a schema can need exponentially many steps on small data, and
    past the budget validation stops with ZEB_ESCHEMACOMPLEX. So one
    validation takes at most ZEB_SCHEMA_STEPS_MAX steps: some 40 ms of one
    core at worst (about 40 ns a step), well under a ms for most schemas;
    the floor lets any schema take 10,000 steps, a fraction of a ms.

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

//  The work budget of one validation, in steps (see above)
#define ZEB_SCHEMA_STEPS_MIN    10000
#define ZEB_SCHEMA_STEPS_MAX    1000000

//  Why an instance failed
typedef struct {
    char path [256];            //  JSON Pointer to the failing value ("" = the root)
    char keyword [32];          //  the keyword that failed ("required", "type"...)
    char message [256];         //  for people: what was expected
} zeb_schema_error_t;

//  Data nesting a validation follows (ZEB_SCHEMA_DEPTH_DEFAULT unless
//  set); deeper data fails with keyword "depth"
#define ZEB_SCHEMA_DEPTH_DEFAULT    128
#define ZEB_SCHEMA_DEPTH_MAX        1024

//  A document a schema may refer to by URI, besides itself (a shared
//  definitions file, a test suite's remotes): its "$id"s and anchors
//  resolve as the schema's own do
typedef struct {
    const char *uri;            //  absolute, no fragment: what "$ref" names it by
    const char *json;           //  its text, len bytes
    size_t len;
} zeb_schema_document_t;

//  How to compile; all zero is the default. Everything is borrowed, for
//  the call only: the compiled schema keeps no pointer into it.
typedef struct {
    bool format_assertion;      //  assert the formats zeb knows (else "format" is an annotation)
    size_t max_depth;           //  data levels, at most ZEB_SCHEMA_DEPTH_MAX; 0 = the default
    const zeb_schema_document_t *documents;
    size_t document_count;
} zeb_schema_options_t;

//  Compile a schema from JSON text. Returns NULL with fault set (code
//  ZEB_EBADSCHEMA) if the text is not JSON, not a schema, or uses a keyword
//  or format outside the supported set; the message names it and where.
//  Also if it recurses without descending into the data; the message
//  gives the cycle as schema locations ("# -> #/allOf/0 -> #").
zeb_schema_t *
    zeb_schema_new (const char *json, size_t len, zeb_fault_t *fault);

//  The same, with options (NULL: the defaults). A document of options
//  that is not JSON fails with ZEB_EBADSCHEMA naming its URI; one that
//  no reference reaches is not compiled.
zeb_schema_t *
    zeb_schema_new_with (const char *json, size_t len, const zeb_schema_options_t *options,
                         zeb_fault_t *fault);

//  Destroy a schema; safe with NULL, nulls the caller's pointer.
void
    zeb_schema_destroy (zeb_schema_t **self_p);

//  Validate one msgpack value. Returns 0, ZEB_ESCHEMA with error filled
//  (error may be NULL) if the value does not match, ZEB_ESCHEMACOMPLEX
//  (keyword "budget", path where it ran out) if the answer needs more
//  steps than the budget, or ZEB_EMALFORMED if the bytes are not one
//  msgpack value.
int
    zeb_schema_validate (zeb_schema_t *self, const void *data, size_t size,
                         zeb_schema_error_t *error);

//  The steps validating size bytes may take against this schema.
size_t
    zeb_schema_budget (zeb_schema_t *self, size_t size);

//  The steps the last zeb_schema_validate took (0 before the first).
size_t
    zeb_schema_steps (zeb_schema_t *self);

//  One step of a path into the data, for zeb_schema_types_at: a property
//  (name, len bytes, not necessarily terminated) or, with name NULL, an
//  array item (index; -1 for any item)
typedef struct {
    const char *name;
    size_t len;
    int64_t index;
} zeb_schema_step_t;

//  The JSON types (zeb_mpk_json_type_t bits) that a value at the end of
//  the path may have in data valid against the schema: every type if the
//  schema does not constrain it, 0 if no valid data has a value there (a
//  property that additionalProperties false excludes, an item past false
//  items, a parent that must be a string). $ref is followed, allOf
//  intersects, anyOf and oneOf unite; "not", "if" and the bounds are not
//  considered, and where the answer is unsure every type is allowed, so a
//  0 is certain. A schema that allows "number" allows "integer" too.
unsigned
    zeb_schema_types_at (zeb_schema_t *self, const zeb_schema_step_t *steps, size_t count);

//  Self test
void
    zeb_schema_test (bool verbose);

#ifdef __cplusplus
}
#endif

#endif
