/*  =========================================================================
    zeb_mpk - a zero-copy msgpack reader for zeb's hot paths

    Every value starts with a header: one type byte, perhaps followed by a
    length or the value itself. s_header decodes that header into the value's
    kind, the size of the header, the size of any payload that follows it
    (string bytes, integer bytes...) and, for arrays and maps, how many
    values they contain. The typed readers and the skipper are built on it.
    =========================================================================
*/

#include "zeb_classes.h"

typedef struct {
    zeb_mpk_kind_t kind;
    size_t head;                //  bytes of the header (type byte + length)
    uint64_t body;              //  bytes after the header (strings, numbers)
    uint64_t items;             //  values contained (arrays: n, maps: 2n)
    uint64_t count;             //  array or map count, or string length
} s_header_t;

static inline uint64_t
s_be (const uint8_t *p, size_t n)
{
    uint64_t value = 0;
    for (size_t index = 0; index < n; index++)
        value = (value << 8) | p [index];
    return value;
}

//  Decode the header at ptr. Returns 0, or -1 if it is truncated or invalid.
//  Inlined: every read starts here, and most headers are one byte.
static inline __attribute__ ((always_inline)) int
s_header (const uint8_t *ptr, const uint8_t *end, s_header_t *h)
{
    if (ptr >= end)
        return -1;
    size_t avail = (size_t) (end - ptr);
    uint8_t byte = ptr [0];
    h->head = 1;
    h->count = h->items = h->body = 0;
    if (byte <= 0x7f) {
        h->kind = ZEB_MPK_UINT;
        h->count = byte;
        return 0;
    }
    if (byte >= 0xe0) {
        h->kind = ZEB_MPK_INT;
        return 0;
    }
    if (byte >= 0x80 && byte <= 0x8f) {
        h->kind = ZEB_MPK_MAP;
        h->count = byte & 0x0f;
        h->items = h->count * 2;
        return 0;
    }
    if (byte >= 0x90 && byte <= 0x9f) {
        h->kind = ZEB_MPK_ARRAY;
        h->count = h->items = byte & 0x0f;
        return 0;
    }
    if (byte >= 0xa0 && byte <= 0xbf) {
        h->kind = ZEB_MPK_STR;
        h->count = h->body = byte & 0x1f;
        return 0;
    }
    size_t lenbytes = 0;            //  bytes of big-endian length after type
    switch (byte) {
        case 0xc0: h->kind = ZEB_MPK_NIL; return 0;
        case 0xc2:
        case 0xc3: h->kind = ZEB_MPK_BOOL; return 0;
        case 0xc4: h->kind = ZEB_MPK_BIN; lenbytes = 1; break;
        case 0xc5: h->kind = ZEB_MPK_BIN; lenbytes = 2; break;
        case 0xc6: h->kind = ZEB_MPK_BIN; lenbytes = 4; break;
        case 0xc7: h->kind = ZEB_MPK_EXT; lenbytes = 1; break;
        case 0xc8: h->kind = ZEB_MPK_EXT; lenbytes = 2; break;
        case 0xc9: h->kind = ZEB_MPK_EXT; lenbytes = 4; break;
        case 0xca: h->kind = ZEB_MPK_FLOAT; h->body = 4; return 0;
        case 0xcb: h->kind = ZEB_MPK_FLOAT; h->body = 8; return 0;
        case 0xcc: h->kind = ZEB_MPK_UINT; h->body = 1; return 0;
        case 0xcd: h->kind = ZEB_MPK_UINT; h->body = 2; return 0;
        case 0xce: h->kind = ZEB_MPK_UINT; h->body = 4; return 0;
        case 0xcf: h->kind = ZEB_MPK_UINT; h->body = 8; return 0;
        case 0xd0: h->kind = ZEB_MPK_INT; h->body = 1; return 0;
        case 0xd1: h->kind = ZEB_MPK_INT; h->body = 2; return 0;
        case 0xd2: h->kind = ZEB_MPK_INT; h->body = 4; return 0;
        case 0xd3: h->kind = ZEB_MPK_INT; h->body = 8; return 0;
        case 0xd4: h->kind = ZEB_MPK_EXT; h->body = 1 + 1; return 0;
        case 0xd5: h->kind = ZEB_MPK_EXT; h->body = 1 + 2; return 0;
        case 0xd6: h->kind = ZEB_MPK_EXT; h->body = 1 + 4; return 0;
        case 0xd7: h->kind = ZEB_MPK_EXT; h->body = 1 + 8; return 0;
        case 0xd8: h->kind = ZEB_MPK_EXT; h->body = 1 + 16; return 0;
        case 0xd9: h->kind = ZEB_MPK_STR; lenbytes = 1; break;
        case 0xda: h->kind = ZEB_MPK_STR; lenbytes = 2; break;
        case 0xdb: h->kind = ZEB_MPK_STR; lenbytes = 4; break;
        case 0xdc: h->kind = ZEB_MPK_ARRAY; lenbytes = 2; break;
        case 0xdd: h->kind = ZEB_MPK_ARRAY; lenbytes = 4; break;
        case 0xde: h->kind = ZEB_MPK_MAP; lenbytes = 2; break;
        case 0xdf: h->kind = ZEB_MPK_MAP; lenbytes = 4; break;
        default:   return -1;       //  0xc1 is never used
    }
    if (avail < 1 + lenbytes)
        return -1;
    h->head = 1 + lenbytes;
    h->count = s_be (ptr + 1, lenbytes);
    if (h->kind == ZEB_MPK_MAP)
        h->items = h->count * 2;
    else
    if (h->kind == ZEB_MPK_ARRAY)
        h->items = h->count;
    else
    if (h->kind == ZEB_MPK_EXT)
        h->body = h->count + 1;     //  type byte + data
    else
        h->body = h->count;         //  str, bin
    return 0;
}

//  Header of the next value, checked to be complete in the buffer.
static inline int
s_next (zeb_mpk_t *self, s_header_t *h)
{
    if (s_header (self->ptr, self->end, h))
        return -1;
    if (h->body > (uint64_t) (self->end - self->ptr) - h->head)
        return -1;
    return 0;
}

void
zeb_mpk_init (zeb_mpk_t *self, const void *data, size_t size)
{
    assert (self);
    self->ptr = (const uint8_t *) data;
    self->end = self->ptr + size;
}

zeb_mpk_kind_t
zeb_mpk_peek (zeb_mpk_t *self)
{
    s_header_t h;
    if (s_next (self, &h))
        return ZEB_MPK_NONE;
    return h.kind;
}

bool
zeb_mpk_done (zeb_mpk_t *self)
{
    return self->ptr >= self->end;
}

static int
s_read_container (zeb_mpk_t *self, zeb_mpk_kind_t kind, uint32_t *count)
{
    s_header_t h;
    if (s_next (self, &h) || h.kind != kind)
        return -1;
    //  Each contained value takes at least one byte: refuse absurd counts
    if (h.items > (uint64_t) (self->end - self->ptr) - h.head)
        return -1;
    *count = (uint32_t) h.count;
    self->ptr += h.head;
    return 0;
}

int
zeb_mpk_read_map (zeb_mpk_t *self, uint32_t *count)
{
    return s_read_container (self, ZEB_MPK_MAP, count);
}

int
zeb_mpk_read_array (zeb_mpk_t *self, uint32_t *count)
{
    return s_read_container (self, ZEB_MPK_ARRAY, count);
}

static int
s_read_bytes (zeb_mpk_t *self, zeb_mpk_kind_t kind, const uint8_t **bytes, uint32_t *len)
{
    s_header_t h;
    if (s_next (self, &h) || h.kind != kind)
        return -1;
    *bytes = self->ptr + h.head;
    *len = (uint32_t) h.body;
    self->ptr += h.head + h.body;
    return 0;
}

int
zeb_mpk_read_str (zeb_mpk_t *self, const char **str, uint32_t *len)
{
    return s_read_bytes (self, ZEB_MPK_STR, (const uint8_t **) str, len);
}

int
zeb_mpk_read_bin (zeb_mpk_t *self, const uint8_t **bin, uint32_t *len)
{
    return s_read_bytes (self, ZEB_MPK_BIN, bin, len);
}

int
zeb_mpk_read_bool (zeb_mpk_t *self, bool *value)
{
    s_header_t h;
    if (s_next (self, &h) || h.kind != ZEB_MPK_BOOL)
        return -1;
    *value = self->ptr [0] == 0xc3;
    self->ptr += 1;
    return 0;
}

int
zeb_mpk_read_nil (zeb_mpk_t *self)
{
    s_header_t h;
    if (s_next (self, &h) || h.kind != ZEB_MPK_NIL)
        return -1;
    self->ptr += 1;
    return 0;
}

//  Reads any integer as a sign and a magnitude.
static int
s_read_integer (zeb_mpk_t *self, bool *negative, uint64_t *magnitude, int64_t *signed_value)
{
    s_header_t h;
    if (s_next (self, &h))
        return -1;
    const uint8_t *p = self->ptr;
    if (h.kind == ZEB_MPK_UINT) {
        *negative = false;
        *magnitude = h.body? s_be (p + 1, h.body): h.count;
    }
    else
    if (h.kind == ZEB_MPK_INT) {
        int64_t value;
        if (h.body == 0)
            value = (int8_t) p [0];
        else
        if (h.body == 1)
            value = (int8_t) p [1];
        else
        if (h.body == 2)
            value = (int16_t) s_be (p + 1, 2);
        else
        if (h.body == 4)
            value = (int32_t) s_be (p + 1, 4);
        else
            value = (int64_t) s_be (p + 1, 8);
        *negative = value < 0;
        *signed_value = value;
        *magnitude = value < 0? 0: (uint64_t) value;
    }
    else
        return -1;
    self->ptr += h.head + h.body;
    return 0;
}

int
zeb_mpk_read_int (zeb_mpk_t *self, int64_t *value)
{
    zeb_mpk_t saved = *self;
    bool negative;
    uint64_t magnitude;
    int64_t signed_value = 0;
    if (s_read_integer (self, &negative, &magnitude, &signed_value))
        return -1;
    if (negative)
        *value = signed_value;
    else
    if (magnitude > INT64_MAX) {
        *self = saved;
        return -1;
    }
    else
        *value = (int64_t) magnitude;
    return 0;
}

int
zeb_mpk_read_uint (zeb_mpk_t *self, uint64_t *value)
{
    zeb_mpk_t saved = *self;
    bool negative;
    uint64_t magnitude;
    int64_t signed_value = 0;
    if (s_read_integer (self, &negative, &magnitude, &signed_value))
        return -1;
    if (negative) {
        *self = saved;
        return -1;
    }
    *value = magnitude;
    return 0;
}

int
zeb_mpk_read_double (zeb_mpk_t *self, double *value)
{
    s_header_t h;
    if (s_next (self, &h))
        return -1;
    if (h.kind == ZEB_MPK_FLOAT) {
        uint64_t bits = s_be (self->ptr + 1, h.body);
        if (h.body == 4) {
            uint32_t bits32 = (uint32_t) bits;
            float f;
            memcpy (&f, &bits32, 4);
            *value = f;
        }
        else
            memcpy (value, &bits, 8);
        self->ptr += h.head + h.body;
        return 0;
    }
    if (h.kind == ZEB_MPK_UINT) {
        uint64_t u;
        if (zeb_mpk_read_uint (self, &u))
            return -1;
        *value = (double) u;
        return 0;
    }
    if (h.kind == ZEB_MPK_INT) {
        int64_t i;
        if (zeb_mpk_read_int (self, &i))
            return -1;
        *value = (double) i;
        return 0;
    }
    return -1;
}

int
zeb_mpk_skip (zeb_mpk_t *self, const uint8_t **span, size_t *span_size)
{
    const uint8_t *start = self->ptr;
    const uint8_t *ptr = self->ptr;
    uint64_t pending = 1;           //  values still to skip
    while (pending) {
        s_header_t h;
        if (s_header (ptr, self->end, &h))
            return -1;
        uint64_t avail = (uint64_t) (self->end - ptr) - h.head;
        if (h.body > avail)
            return -1;
        ptr += h.head + h.body;
        pending--;
        //  Each pending value needs at least one byte: this bounds the loop
        //  by the buffer size whatever counts a hostile sender claims.
        if (pending + h.items > (uint64_t) (self->end - ptr))
            return -1;
        pending += h.items;
    }
    if (span)
        *span = start;
    if (span_size)
        *span_size = (size_t) (ptr - start);
    self->ptr = ptr;
    return 0;
}

int
zeb_mpk_find (const void *data, size_t size, const char *key, zeb_mpk_t *value)
{
    zeb_mpk_t reader;
    zeb_mpk_init (&reader, data, size);
    uint32_t count;
    if (zeb_mpk_read_map (&reader, &count))
        return -1;
    size_t key_len = strlen (key);
    for (uint32_t index = 0; index < count; index++) {
        const char *name;
        uint32_t len;
        if (zeb_mpk_peek (&reader) == ZEB_MPK_STR) {
            zeb_mpk_read_str (&reader, &name, &len);
            if (len == key_len && memcmp (name, key, len) == 0) {
                *value = reader;
                return zeb_mpk_peek (value) == ZEB_MPK_NONE? -1: 0;
            }
        }
        else
        if (zeb_mpk_skip (&reader, NULL, NULL))
            return -1;              //  a key of another kind, or garbage
        if (zeb_mpk_skip (&reader, NULL, NULL))
            return -1;
    }
    return -1;
}

void
zeb_mpk_test (bool verbose)
{
    printf (" * zeb_mpk: ");
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);

    //  A map that exercises every width of every kind
    msgpack_pack_map (&pk, 9);
    msgpack_pack_str_with_body (&pk, "small", 5);
    msgpack_pack_int (&pk, 7);
    msgpack_pack_str_with_body (&pk, "neg", 3);
    msgpack_pack_int64 (&pk, -1234567890123LL);
    msgpack_pack_str_with_body (&pk, "big", 3);
    msgpack_pack_uint64 (&pk, UINT64_MAX);
    msgpack_pack_str_with_body (&pk, "pi", 2);
    msgpack_pack_double (&pk, 3.25);
    msgpack_pack_str_with_body (&pk, "list", 4);
    msgpack_pack_array (&pk, 20);
    for (int index = 0; index < 20; index++)
        msgpack_pack_int (&pk, index * 1000);
    msgpack_pack_str_with_body (&pk, "nested", 6);
    msgpack_pack_map (&pk, 1);
    msgpack_pack_str_with_body (&pk, "deep", 4);
    msgpack_pack_array (&pk, 2);
    msgpack_pack_nil (&pk);
    msgpack_pack_true (&pk);
    msgpack_pack_str_with_body (&pk, "bin", 3);
    msgpack_pack_bin_with_body (&pk, "\x00\x01\x02", 3);
    msgpack_pack_str_with_body (&pk, "ext", 3);
    msgpack_pack_ext_with_body (&pk, "abcd", 4, 5);
    char longstr [300];
    memset (longstr, 'x', sizeof (longstr));
    msgpack_pack_str_with_body (&pk, "long", 4);
    msgpack_pack_str_with_body (&pk, longstr, sizeof (longstr));

    zeb_mpk_t reader;
    zeb_mpk_init (&reader, buffer.data, buffer.size);
    uint32_t count;
    assert (zeb_mpk_peek (&reader) == ZEB_MPK_MAP);
    assert (zeb_mpk_read_array (&reader, &count) == -1);
    assert (zeb_mpk_read_map (&reader, &count) == 0 && count == 9);
    const char *str;
    uint32_t len;
    int64_t i64;
    uint64_t u64;
    double real;
    assert (zeb_mpk_read_str (&reader, &str, &len) == 0 && len == 5 && memcmp (str, "small", 5) == 0);
    assert (zeb_mpk_read_int (&reader, &i64) == 0 && i64 == 7);
    assert (zeb_mpk_read_str (&reader, &str, &len) == 0);
    assert (zeb_mpk_read_uint (&reader, &u64) == -1);       //  negative
    assert (zeb_mpk_read_int (&reader, &i64) == 0 && i64 == -1234567890123LL);
    assert (zeb_mpk_read_str (&reader, &str, &len) == 0);
    assert (zeb_mpk_read_int (&reader, &i64) == -1);        //  > INT64_MAX
    assert (zeb_mpk_read_uint (&reader, &u64) == 0 && u64 == UINT64_MAX);
    assert (zeb_mpk_read_str (&reader, &str, &len) == 0);
    assert (zeb_mpk_read_double (&reader, &real) == 0 && real == 3.25);
    assert (zeb_mpk_read_str (&reader, &str, &len) == 0);
    const uint8_t *span;
    size_t span_size;
    assert (zeb_mpk_skip (&reader, &span, &span_size) == 0);
    assert (span_size > 20);
    assert (zeb_mpk_read_str (&reader, &str, &len) == 0);
    assert (zeb_mpk_skip (&reader, NULL, NULL) == 0);
    assert (zeb_mpk_read_str (&reader, &str, &len) == 0);
    const uint8_t *bin;
    assert (zeb_mpk_read_bin (&reader, &bin, &len) == 0 && len == 3 && bin [2] == 2);
    assert (zeb_mpk_read_str (&reader, &str, &len) == 0);
    assert (zeb_mpk_peek (&reader) == ZEB_MPK_EXT);
    assert (zeb_mpk_skip (&reader, NULL, NULL) == 0);
    assert (zeb_mpk_read_str (&reader, &str, &len) == 0);
    assert (zeb_mpk_read_str (&reader, &str, &len) == 0 && len == 300 && str [299] == 'x');
    assert (zeb_mpk_done (&reader));
    zeb_mpk_t value;
    assert (zeb_mpk_find (buffer.data, buffer.size, "big", &value) == 0);
    assert (zeb_mpk_read_uint (&value, &u64) == 0 && u64 == UINT64_MAX);
    assert (zeb_mpk_find (buffer.data, buffer.size, "long", &value) == 0);
    assert (zeb_mpk_peek (&value) == ZEB_MPK_STR);
    assert (zeb_mpk_find (buffer.data, buffer.size, "absent", &value) == -1);
    assert (zeb_mpk_find (buffer.data, buffer.size - 1, "long", &value) == -1);
    assert (zeb_mpk_peek (&reader) == ZEB_MPK_NONE);

    //  Every truncation of the buffer is refused by skip, never overread
    for (size_t size = 0; size < buffer.size; size++) {
        zeb_mpk_init (&reader, buffer.data, size);
        assert (zeb_mpk_skip (&reader, NULL, NULL) == -1);
        assert (reader.ptr == (const uint8_t *) buffer.data);
    }
    zeb_mpk_init (&reader, buffer.data, buffer.size);
    assert (zeb_mpk_skip (&reader, &span, &span_size) == 0 && span_size == buffer.size);

    //  Hostile counts: an array claiming 2^32-1 items in six bytes
    const uint8_t hostile [] = { 0xdd, 0xff, 0xff, 0xff, 0xff, 0x01 };
    zeb_mpk_init (&reader, hostile, sizeof (hostile));
    assert (zeb_mpk_skip (&reader, NULL, NULL) == -1);
    assert (zeb_mpk_read_array (&reader, &count) == -1);
    //  The never-used byte 0xc1
    const uint8_t invalid [] = { 0xc1 };
    zeb_mpk_init (&reader, invalid, 1);
    assert (zeb_mpk_peek (&reader) == ZEB_MPK_NONE);
    assert (zeb_mpk_skip (&reader, NULL, NULL) == -1);
    //  Deep nesting is skipped iteratively: 100,000 nested arrays
    size_t depth = 100000;
    uint8_t *deep = (uint8_t *) malloc (depth + 1);
    assert (deep);
    memset (deep, 0x91, depth);     //  fixarray of one
    deep [depth] = 0xc0;            //  nil at the bottom
    zeb_mpk_init (&reader, deep, depth + 1);
    assert (zeb_mpk_skip (&reader, NULL, NULL) == 0 && zeb_mpk_done (&reader));
    free (deep);

    msgpack_sbuffer_destroy (&buffer);
    printf ("OK\n");
}
