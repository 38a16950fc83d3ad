/*  =========================================================================
    zeb_schema_private - what zeb_schema's files share, not part of the API

    zeb_schema_ref.c: URIs (RFC 3986) and the index of one schema document,
    which names its schemas by URI: "$id" makes a schema resource,
    "$anchor" and "$dynamicAnchor" name a schema within one, and a JSON
    Pointer fragment names any value of a resource.

    zeb_schema_meta.c: the draft 2020-12 meta-schemas, which references
    to json-schema.org resolve to.

    zeb_schema_format.c: the formats that can be asserted, and the
    decimal arithmetic of multipleOf.
    =========================================================================
*/

#ifndef ZEB_SCHEMA_PRIVATE_H_INCLUDED
#define ZEB_SCHEMA_PRIVATE_H_INCLUDED

//  ---------------------------------------------------------------------
//  URIs and the index

//  Resolve ref against base (RFC 3986 section 5.2, dot segments
//  removed). An empty base leaves ref as it is. Caller owns return value.
char *
    zeb_schema_uri_resolve (const char *base, const char *ref);

typedef struct _zeb_schema_index_t zeb_schema_index_t;

//  Index a document: every schema resource by its URI ("$id" resolved
//  against the enclosing one's; the root's is base, or its own "$id"),
//  every anchor as "URI#name", and each schema object's base URI. The
//  document is borrowed and must outlive the index.
zeb_schema_index_t *
    zeb_schema_index_new (json_t *root, const char *base);

void
    zeb_schema_index_destroy (zeb_schema_index_t **self_p);

//  Index another document, by its URI
void
    zeb_schema_index_add_document (zeb_schema_index_t *self, json_t *json, const char *uri);

//  The root of the resource or document of that URI (no fragment), or
//  NULL. Borrowed.
json_t *
    zeb_schema_index_document (zeb_schema_index_t *self, const char *uri);

//  Index a value reached other than through schema keywords (a pointer
//  into an unknown keyword), with the base URI it is under
void
    zeb_schema_index_add (zeb_schema_index_t *self, json_t *json, const char *base);

//  The base URI of a schema object the index has seen, or NULL. Borrowed.
const char *
    zeb_schema_index_base (zeb_schema_index_t *self, json_t *json);

//  The value a reference names, resolved against base, or NULL with the
//  reason in fault (code ZEB_EBADSCHEMA). *uri is the reference made
//  absolute (caller frees; set either way), *dynamic whether its fragment
//  is a "$dynamicAnchor" of the resource.
json_t *
    zeb_schema_index_resolve (zeb_schema_index_t *self, const char *base, const char *ref,
                              char **uri, bool *dynamic, zeb_fault_t *fault);

//  Calls fn for each "$dynamicAnchor": the resource's URI, the name, the
//  schema object. Returns the first non-zero fn returned, or 0.
typedef int (zeb_schema_anchor_fn) (void *arg, const char *uri, const char *name, json_t *schema);
int
    zeb_schema_index_dynamic (zeb_schema_index_t *self, zeb_schema_anchor_fn *fn, void *arg);

//  The draft 2020-12 meta-schema and its vocabularies' meta-schemas
//  (zeb_schema_meta.c), by their URIs
const zeb_schema_document_t *
    zeb_schema_meta_documents (size_t *count);

//  ---------------------------------------------------------------------
//  Formats and numbers

//  A format's number, 0 if zeb cannot assert it (it is then an annotation)
int
    zeb_schema_format_lookup (const char *name);

//  The names zeb can assert, for messages ("date-time, email, ...")
const char *
    zeb_schema_format_names (void);

//  The format's name and whether text is an instance of it
const char *
    zeb_schema_format_name (int format);
bool
    zeb_schema_format_check (int format, const char *text, uint32_t len);

//  A finite double as decimal digits: value = mantissa x 10^exponent,
//  the shortest mantissa that reads back as the same double
typedef struct {
    uint64_t mantissa;
    int exponent;
} zeb_schema_decimal_t;

void
    zeb_schema_decimal (double value, zeb_schema_decimal_t *decimal);

//  Whether value is an integer multiple of divisor (mantissa > 0), both
//  taken as the decimals they are written as: exact, and without
//  overflow at any exponent
bool
    zeb_schema_decimal_multiple (zeb_schema_decimal_t value, zeb_schema_decimal_t divisor);

//  The same for a double, read as its shortest decimal, quickly where
//  the divisor has at most 22 decimal places and the value is small
//  enough (value x 10^places below 2^53)
bool
    zeb_schema_double_multiple (double value, zeb_schema_decimal_t divisor);

//  Whether value is a multiple of divisor (> 0, decimal its decimal form):
//  exactly for integers; otherwise as the decimals the two are written as
//  (0.01 has no exact binary form, but 19.99 is 1999 hundredths)
bool
    zeb_schema_number_multiple (zeb_mpk_number_t value, zeb_mpk_number_t divisor,
                                zeb_schema_decimal_t decimal);

//  ---------------------------------------------------------------------
//  The compiled tree, which zeb_schema.c builds and zeb_schema_validate.c
//  walks

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

typedef struct _zeb_schema_node_t zeb_schema_node_t;

typedef struct {
    const char *name;
    size_t len;
    zeb_schema_node_t *schema;
    int required;                   //  index in the node's "required", or -1
} zeb_schema_property_t;

typedef struct {
    const char *name;
    size_t len;
} zeb_schema_name_t;

typedef struct {
    zeb_schema_node_t **nodes;
    size_t count;
} zeb_schema_list_t;

typedef struct {
    pcre2_code *code;
    pcre2_match_data *match;
    char *text;
    bool jit;                       //  compiled to machine code: pcre2_jit_match may run it
} zeb_schema_pattern_t;

typedef struct {
    zeb_schema_pattern_t pattern;
    zeb_schema_node_t *schema;
} zeb_schema_pattern_property_t;

//  "dependentRequired": if name is present, so must names be
typedef struct {
    const char *name;
    size_t len;
    zeb_schema_name_t *names;
    size_t count;
} zeb_schema_dependency_t;

//  A limit that may be absent
typedef struct {
    bool set;
    zeb_mpk_number_t number;
} zeb_schema_bound_t;

//  A property in the fast walk's table, 32 bytes: its name's first and
//  last 8 bytes (zero-padded), compared as words, and what the walk needs
//  of the property, so that a lookup reads one cache line
typedef struct {
    uint64_t head, tail;
    zeb_schema_node_t *schema;      //  NULL: the slot is empty
    uint16_t len;
    uint16_t required;              //  index in "required", or 256: not required
    uint16_t index;                 //  in the node's properties
    uint8_t leaf;                   //  the schema's types, if it checks nothing else; 0 if not
} zeb_schema_slot_t;

//  A schema resource ("$id", or the document) and its dynamic anchors
typedef struct {
    char *uri;
    zeb_schema_property_t *anchors; //  name -> schema
    size_t anchor_count;
} zeb_schema_resource_t;

struct _zeb_schema_node_t {
    int always;                     //  boolean schema: 1 true, -1 false, 0 neither
    unsigned types;                 //  allowed JSON types; 0 = any
    //  The fast walk's (zeb_schema_fast.c), first: most nodes need only
    //  this cache line of it
    unsigned checks;                //  which keywords the node has (S_CHECK_* there)
    int fast;                       //  0 not looked at, 1 being looked at, 2 it takes the node, 3 not
    zeb_schema_slot_t *slots;       //  properties by a hash of their names
    uint64_t slot_seed;             //  slot = (hash x seed) >> shift
    unsigned slot_shift;
    uint32_t required_all;          //  names in "required"
    zeb_schema_node_t *fast_additional, *fast_items;
    uint8_t items_leaf;             //  the types of items, if it checks nothing else; 0 if not
    //  Objects
    zeb_schema_property_t *properties;          //  sorted by name
    size_t property_count;
    zeb_schema_name_t *required;                //  sorted
    size_t required_count;
    zeb_schema_pattern_property_t *pattern_properties;
    size_t pattern_property_count;
    zeb_schema_node_t *additional;              //  NULL: anything else is allowed
    zeb_schema_node_t *property_names;
    zeb_schema_dependency_t *dependent_required;
    size_t dependent_required_count;
    zeb_schema_property_t *dependent_schemas;
    size_t dependent_schema_count;
    int64_t min_properties, max_properties;     //  -1: absent
    //  Arrays
    zeb_schema_list_t prefix_items;
    zeb_schema_node_t *items;
    zeb_schema_node_t *contains;
    int64_t min_contains, max_contains;         //  1 and -1 unless set
    int64_t min_items, max_items;
    bool unique_items;
    //  Strings
    int64_t min_length, max_length;
    zeb_schema_pattern_t pattern;
    int format;                     //  asserted format, 0 = none
    //  Numbers
    zeb_schema_bound_t minimum, maximum, exclusive_minimum, exclusive_maximum, multiple_of;
    zeb_schema_decimal_t multiple_decimal;
    //  Any
    uint8_t *enum_values;           //  msgpack array of the allowed values
    size_t enum_size;
    uint8_t *const_value;           //  msgpack value
    size_t const_size;
    zeb_schema_list_t all_of, any_of, one_of;
    zeb_schema_node_t *not_, *if_, *then_, *else_;
    zeb_schema_node_t *ref;
    zeb_schema_node_t *dynamic_ref; //  where "$dynamicRef" resolves statically
    char *dynamic_name;             //  the anchor it looks for in the dynamic scope, or NULL
    zeb_schema_list_t dynamic_targets;          //  every anchor of that name
    //  Unevaluated (annotation collection)
    zeb_schema_node_t *unevaluated_properties, *unevaluated_items;
    bool tracks;                    //  has either: collects what its keywords evaluated
    bool in_place;                  //  has a subschema applied to the same value
    //  The fast walk's, beyond the first line
    zeb_schema_name_t *enum_strings;            //  the enum's strings (into enum_values)
    size_t enum_string_count;
    bool enum_others;               //  the enum has values that are not strings
    //  Compiling
    zeb_schema_resource_t *resource;
    char *ref_text, *dynamic_ref_text;          //  as written, resolved after compiling
    const char *base;               //  base URI, while compiling
    char *where;                    //  JSON Pointer into the schema, for messages
    int mark;                       //  the cycle check's state of this node
};

struct _zeb_schema_t {
    zeb_schema_node_t *root;
    zeb_schema_node_t **nodes;      //  every node, for destruction and $ref
    size_t node_count, node_capacity;
    zhashx_t *resources;            //  URI -> zeb_schema_resource_t
    bool dynamic;                   //  a "$dynamicRef" is dynamic: track the scope
    bool fast;                      //  the fast walk takes the root
    size_t max_depth;               //  of the data
    size_t steps;                   //  taken by the last validation
};

//  Short names, for the files of zeb_schema
typedef zeb_schema_node_t s_node_t;
typedef zeb_schema_list_t s_list_t;
typedef zeb_schema_property_t s_property_t;
typedef zeb_schema_name_t s_name_t;
typedef zeb_schema_bound_t s_bound_t;

//  Name order: by length, then bytes (a lookup mostly compares lengths).
//  Inline, so that bsearch on the hot path inlines them too.
static inline int
zeb_schema_compare_property (const void *a, const void *b)
{
    const zeb_schema_property_t *x = (const zeb_schema_property_t *) a;
    const zeb_schema_property_t *y = (const zeb_schema_property_t *) b;
    if (x->len != y->len)
        return x->len < y->len? -1: 1;
    return memcmp (x->name, y->name, x->len);
}

static inline int
zeb_schema_compare_name (const void *a, const void *b)
{
    const zeb_schema_name_t *x = (const zeb_schema_name_t *) a, *y = (const zeb_schema_name_t *) b;
    if (x->len != y->len)
        return x->len < y->len? -1: 1;
    return memcmp (x->name, y->name, x->len);
}

//  Type bits as names, "string or null", in text; returns text
const char *
    zeb_schema_type_names (unsigned types, char *text, size_t size);

//  zeb_schema_validate.c: validate the value at the reader with the root
int
    zeb_schema_walk (zeb_schema_t *self, const void *data, size_t size, zeb_schema_error_t *error);

//  zeb_schema_fast.c: a walk for the schemas most events have, whose
//  keywords are checked on the msgpack bytes without recursion through
//  the general machinery. It only ever answers "valid": on anything else
//  (a failure, a keyword it does not take, malformed bytes) the full walk
//  runs and gives the answer and the error.

//  After compiling: build the fast walk's tables, set self->fast
void
    zeb_schema_fast_prepare (zeb_schema_t *self);

//  Free a node's fast walk tables
void
    zeb_schema_fast_free (zeb_schema_node_t *node);

//  True if data is one msgpack value valid against the schema (self->steps
//  then set); false if it is not or the fast walk cannot tell
bool
    zeb_schema_fast_valid (zeb_schema_t *self, const void *data, size_t size);

#endif
