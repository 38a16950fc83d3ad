/*  =========================================================================
    zeb_mpk - a zero-copy msgpack reader for zeb's hot paths

    A cursor over a borrowed buffer. Strings come back as pointers into the
    buffer, values can be skipped without decoding them, and nothing is ever
    allocated: this is what lets ingest read an envelope, and the log filter
    stored events, without a heap allocation per field. Encoding uses
    msgpack-c's packer; trees (for JSON conversion) use msgpack-c's unpacker.

    Every read returns 0 on success or -1 if the buffer is truncated or the
    next value is not of the expected kind (zeb_mpk_skip_bounded may also
    return ZEB_MPK_TOO_DEEP); on failure the cursor is unchanged.

    Below the reader, values as JSON sees them, for schemas and rule
    conditions: JSON types, exact numbers and their order, deep equality.
    =========================================================================
*/

#ifndef ZEB_MPK_H_INCLUDED
#define ZEB_MPK_H_INCLUDED

#ifdef __cplusplus
extern "C" {
#endif

//  Kinds of msgpack value, as zeb_mpk_peek reports them
typedef enum {
    ZEB_MPK_NONE = 0,           //  end of buffer or an invalid byte
    ZEB_MPK_NIL,
    ZEB_MPK_BOOL,
    ZEB_MPK_UINT,               //  positive integer
    ZEB_MPK_INT,                //  negative integer
    ZEB_MPK_FLOAT,
    ZEB_MPK_STR,
    ZEB_MPK_BIN,
    ZEB_MPK_ARRAY,
    ZEB_MPK_MAP,
    ZEB_MPK_EXT
} zeb_mpk_kind_t;

typedef struct {
    const uint8_t *ptr;         //  next byte to read
    const uint8_t *end;         //  one past the last byte
} zeb_mpk_t;

//  Start reading a buffer (borrowed; must outlive the reader's results).
void
    zeb_mpk_init (zeb_mpk_t *self, const void *data, size_t size);

//  Kind of the next value, without consuming it.
zeb_mpk_kind_t
    zeb_mpk_peek (zeb_mpk_t *self);

//  True when every byte has been consumed.
bool
    zeb_mpk_done (zeb_mpk_t *self);

int
    zeb_mpk_read_map (zeb_mpk_t *self, uint32_t *count);
int
    zeb_mpk_read_array (zeb_mpk_t *self, uint32_t *count);
//  String; *str points into the buffer and is NOT null-terminated.
int
    zeb_mpk_read_str (zeb_mpk_t *self, const char **str, uint32_t *len);
int
    zeb_mpk_read_bin (zeb_mpk_t *self, const uint8_t **bin, uint32_t *len);
int
    zeb_mpk_read_bool (zeb_mpk_t *self, bool *value);
int
    zeb_mpk_read_nil (zeb_mpk_t *self);
//  Any integer that fits in int64_t.
int
    zeb_mpk_read_int (zeb_mpk_t *self, int64_t *value);
//  Any non-negative integer.
int
    zeb_mpk_read_uint (zeb_mpk_t *self, uint64_t *value);
//  Float or double (integers are accepted and converted).
int
    zeb_mpk_read_double (zeb_mpk_t *self, double *value);

//  Skip one complete value of any kind, however deeply nested (iterative;
//  no recursion). If span is not NULL, it gets the value's encoded bytes.
int
    zeb_mpk_skip (zeb_mpk_t *self, const uint8_t **span, size_t *span_size);

//  The deepest nesting that zeb_mpk_skip_bounded checks and zeb_mpk_equal
//  compares structurally; both keep per-level state on the C stack, so
//  this bounds what they use there (8 KiB; 2,048 small frames).
#define ZEB_MPK_MAX_DEPTH   1024

//  Like zeb_mpk_skip, and refuses a value nested deeper than max_depth
//  levels. A scalar has depth 0, an array or map one more than the
//  deepest value it contains: [] is 1, {"a":[1]} is 2. A max_depth above
//  ZEB_MPK_MAX_DEPTH counts as ZEB_MPK_MAX_DEPTH. Iterative; the stack it
//  uses does not grow with the input. Returns 0, -1 if the value is
//  truncated or malformed, or ZEB_MPK_TOO_DEEP; on failure the cursor is
//  unchanged.
#define ZEB_MPK_TOO_DEEP    -2
int
    zeb_mpk_skip_bounded (zeb_mpk_t *self, size_t max_depth,
                          const uint8_t **span, size_t *span_size);

//  In the map at data, position value at the value of key (a string key).
//  Returns 0, or -1 if data is not a map, is malformed or lacks the key.
int
    zeb_mpk_find (const void *data, size_t size, const char *key, zeb_mpk_t *value);

//  True if the len bytes at text are well-formed UTF-8 (RFC 3629):
//  overlong forms, UTF-16 surrogates (U+D800..U+DFFF) and code points
//  above U+10FFFF are refused. NUL bytes are valid UTF-8 and accepted.
bool
    zeb_mpk_utf8_valid (const char *text, size_t len);

//  ---------------------------------------------------------------------
//  Values as JSON sees them: what schemas and rule conditions compare

//  JSON types, as bits: zeb_mpk_type_of returns a set of them
typedef enum {
    ZEB_MPK_JSON_NULL    = 1 << 0,
    ZEB_MPK_JSON_BOOLEAN = 1 << 1,
    ZEB_MPK_JSON_INTEGER = 1 << 2,
    ZEB_MPK_JSON_NUMBER  = 1 << 3,
    ZEB_MPK_JSON_STRING  = 1 << 4,
    ZEB_MPK_JSON_ARRAY   = 1 << 5,
    ZEB_MPK_JSON_OBJECT  = 1 << 6
} zeb_mpk_json_type_t;

//  JSON types of the next value, without consuming it. An integer is
//  INTEGER | NUMBER, and so is a float with no fractional part (3.0, as
//  JSON Schema counts it); other floats, infinities and NaN are NUMBER.
//  Returns 0 for bin and ext values, which JSON lacks, and for a
//  truncated or invalid value.
unsigned
    zeb_mpk_type_of (const zeb_mpk_t *self);

//  A msgpack number, exact: integers keep all 64 bits, signed or not;
//  floats (32- or 64-bit on the wire) are held as double.
typedef enum {
    ZEB_MPK_NUMBER_INT = 0,         //  i: a signed integer (a zeroed number is INT 0)
    ZEB_MPK_NUMBER_UINT,            //  u: an unsigned integer
    ZEB_MPK_NUMBER_FLOAT            //  f: a float, possibly NaN or infinite
} zeb_mpk_number_kind_t;

typedef struct {
    zeb_mpk_number_kind_t kind;
    union {
        int64_t i;
        uint64_t u;
        double f;
    };
} zeb_mpk_number_t;

//  Read any number. Integers come back as UINT when they are not negative
//  and as INT when they are, whatever width the wire used; floats as
//  FLOAT. Returns 0, or -1 (cursor unchanged) if the next value is not a
//  number or is truncated.
int
    zeb_mpk_read_number (zeb_mpk_t *self, zeb_mpk_number_t *number);

//  Orders, as zeb_mpk_compare_numbers reports them. Test for them by name:
//  UNORDERED is neither less, equal nor greater.
typedef enum {
    ZEB_MPK_LESS = -1,
    ZEB_MPK_EQUAL = 0,
    ZEB_MPK_GREATER = 1,
    ZEB_MPK_UNORDERED = 2           //  a NaN was compared
} zeb_mpk_order_t;

//  Compare two numbers by their exact mathematical values, whatever their
//  kinds, never rounding an integer through double: INT 5, UINT 5 and
//  FLOAT 5.0 are EQUAL; UINT 2^64-1 is LESS than FLOAT 2^64 and INT
//  2^53+1 GREATER than FLOAT 2^53 (as doubles, both pairs would be
//  equal); INT -1 is LESS than UINT 2^63. -0.0 equals 0; infinities lie
//  beyond every integer. NaN, which JSON cannot carry but msgpack can, is
//  UNORDERED against everything, itself included (IEEE 754): a rule "gt",
//  "lt" or "eq" against NaN is false. No allocation; no failure.
zeb_mpk_order_t
    zeb_mpk_compare_numbers (zeb_mpk_number_t a, zeb_mpk_number_t b);

//  Whether the next values at a and b are equal as JSON sees them; neither
//  cursor moves. Numbers are equal by value across integer and float (1 ==
//  1.0; NaN equals nothing, as in zeb_mpk_compare_numbers); strings by
//  their bytes whatever the width of their headers; arrays item by item;
//  maps have the same entries whatever their order (each entry of either
//  map has an equal entry in the other, keys compared like values). Bin
//  equals only bin with the same bytes, ext only ext of the same type and
//  bytes: a str never equals a bin. Values nested below ZEB_MPK_MAX_DEPTH
//  levels are compared by their encoded bytes instead, which bounds the
//  recursion. False if either value is truncated or malformed. The work is
//  quadratic in the entries of a map, as for any unordered comparison
//  without allocation: bound the input (ingest bounds events' size).
bool
    zeb_mpk_equal (const zeb_mpk_t *a, const zeb_mpk_t *b);

//  Self test
void
    zeb_mpk_test (bool verbose);

#ifdef __cplusplus
}
#endif

#endif
