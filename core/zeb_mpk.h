/*  =========================================================================
    zeb_mpk - a zero-copy msgpack reader for zeb's hot paths

    A cursor over a borrowed buffer. Strings come back as pointers into the
    buffer, values can be skipped without decoding them, and nothing is ever
    allocated: this is what lets ingest read an envelope, and the log filter
    stored events, without a heap allocation per field. Encoding uses
    msgpack-c's packer; trees (for JSON conversion) use msgpack-c's unpacker.

    Every read returns 0 on success or -1 if the buffer is truncated or the
    next value is not of the expected kind; on -1 the cursor is unchanged.
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

//  In the map at data, position value at the value of key (a string key).
//  Returns 0, or -1 if data is not a map, is malformed or lacks the key.
int
    zeb_mpk_find (const void *data, size_t size, const char *key, zeb_mpk_t *value);

//  Self test
void
    zeb_mpk_test (bool verbose);

#ifdef __cplusplus
}
#endif

#endif
