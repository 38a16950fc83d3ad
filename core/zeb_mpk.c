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
#include <math.h>

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
s_next (const zeb_mpk_t *self, s_header_t *h)
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

//  Value of the signed integer at p, whose header h has
static inline int64_t
s_signed (const uint8_t *p, const s_header_t *h)
{
    if (h->body == 0)
        return (int8_t) p [0];
    if (h->body == 1)
        return (int8_t) p [1];
    if (h->body == 2)
        return (int16_t) s_be (p + 1, 2);
    if (h->body == 4)
        return (int32_t) s_be (p + 1, 4);
    return (int64_t) s_be (p + 1, 8);
}

//  Value of the float (4 bytes) or double (8 bytes) at p
static inline double
s_float (const uint8_t *p, const s_header_t *h)
{
    uint64_t bits = s_be (p + 1, h->body);
    if (h->body == 4) {
        uint32_t bits32 = (uint32_t) bits;
        float value;
        memcpy (&value, &bits32, 4);
        return value;
    }
    double value;
    memcpy (&value, &bits, 8);
    return value;
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
        int64_t value = s_signed (p, &h);
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
        *value = s_float (self->ptr, &h);
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
zeb_mpk_skip_bounded (zeb_mpk_t *self, size_t max_depth, const uint8_t **span, size_t *span_size)
{
    if (max_depth > ZEB_MPK_MAX_DEPTH)
        max_depth = ZEB_MPK_MAX_DEPTH;
    //  Values still to read in the innermost open container (at first the
    //  value itself), and in each container around it: a container stays
    //  open until its last value is read, so depth is the nesting of the
    //  value under the cursor. The innermost count stays in a register.
    uint64_t outer [ZEB_MPK_MAX_DEPTH];
    uint64_t left = 1;
    size_t depth = 0;
    const uint8_t *start = self->ptr;
    const uint8_t *ptr = self->ptr;
    uint64_t pending = 1;           //  values still to skip, at all levels
    while (true) {
        s_header_t h;
        if (s_header (ptr, self->end, &h))
            return -1;
        if (h.body > (uint64_t) (self->end - ptr) - h.head)
            return -1;
        ptr += h.head + h.body;
        pending--;
        left--;
        if (h.kind == ZEB_MPK_ARRAY || h.kind == ZEB_MPK_MAP) {
            if (depth + 1 > max_depth)
                return ZEB_MPK_TOO_DEEP;
            //  As in zeb_mpk_skip: each value needs at least one byte
            if (pending + h.items > (uint64_t) (self->end - ptr))
                return -1;
            pending += h.items;
            if (h.items) {
                outer [depth++] = left;
                left = h.items;
            }
        }
        while (left == 0) {
            if (depth == 0)
                goto done;
            left = outer [--depth];
        }
    }
done:
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

bool
zeb_mpk_utf8_valid (const char *text, size_t len)
{
    const uint8_t *p = (const uint8_t *) text;
    const uint8_t *end = p + len;
    while (p < end) {
        //  ASCII, eight bytes at a time: most of what zeb checks
        while (end - p >= 8) {
            uint64_t word;
            memcpy (&word, p, 8);
            if (word & 0x8080808080808080ULL)
                break;
            p += 8;
        }
        if (p == end)
            break;
        uint8_t lead = *p;
        if (lead < 0x80) {
            p++;
            continue;
        }
        //  RFC 3629 table 4: the range of the second byte excludes overlong
        //  forms (after e0, f0), surrogates (after ed), > U+10FFFF (f4)
        size_t tail;
        uint8_t low = 0x80, high = 0xbf;
        if (lead >= 0xc2 && lead <= 0xdf)
            tail = 1;
        else
        if (lead == 0xe0)
            tail = 2, low = 0xa0;
        else
        if (lead == 0xed)
            tail = 2, high = 0x9f;
        else
        if (lead >= 0xe1 && lead <= 0xef)
            tail = 2;
        else
        if (lead == 0xf0)
            tail = 3, low = 0x90;
        else
        if (lead >= 0xf1 && lead <= 0xf3)
            tail = 3;
        else
        if (lead == 0xf4)
            tail = 3, high = 0x8f;
        else
            return false;           //  80..c1 (continuation, overlong) and f5..ff
        if ((size_t) (end - p) <= tail || p [1] < low || p [1] > high)
            return false;
        for (size_t index = 2; index <= tail; index++)
            if ((p [index] & 0xc0) != 0x80)
                return false;
        p += tail + 1;
    }
    return true;
}

//  ---------------------------------------------------------------------
//  Values as JSON sees them

unsigned
zeb_mpk_type_of (const zeb_mpk_t *self)
{
    s_header_t h;
    if (s_next (self, &h))
        return 0;
    switch (h.kind) {
        case ZEB_MPK_NIL:
            return ZEB_MPK_JSON_NULL;
        case ZEB_MPK_BOOL:
            return ZEB_MPK_JSON_BOOLEAN;
        case ZEB_MPK_UINT:
        case ZEB_MPK_INT:
            return ZEB_MPK_JSON_INTEGER | ZEB_MPK_JSON_NUMBER;
        case ZEB_MPK_FLOAT: {
            double value = s_float (self->ptr, &h);
            return isfinite (value) && value == floor (value)
                 ? ZEB_MPK_JSON_INTEGER | ZEB_MPK_JSON_NUMBER: ZEB_MPK_JSON_NUMBER;
        }
        case ZEB_MPK_STR:
            return ZEB_MPK_JSON_STRING;
        case ZEB_MPK_ARRAY:
            return ZEB_MPK_JSON_ARRAY;
        case ZEB_MPK_MAP:
            return ZEB_MPK_JSON_OBJECT;
        default:
            return 0;
    }
}

int
zeb_mpk_read_number (zeb_mpk_t *self, zeb_mpk_number_t *number)
{
    s_header_t h;
    if (s_next (self, &h))
        return -1;
    const uint8_t *p = self->ptr;
    if (h.kind == ZEB_MPK_UINT) {
        number->kind = ZEB_MPK_NUMBER_UINT;
        number->u = h.body? s_be (p + 1, h.body): h.count;
    }
    else
    if (h.kind == ZEB_MPK_INT) {
        int64_t value = s_signed (p, &h);
        if (value < 0) {
            number->kind = ZEB_MPK_NUMBER_INT;
            number->i = value;
        }
        else {
            number->kind = ZEB_MPK_NUMBER_UINT;
            number->u = (uint64_t) value;
        }
    }
    else
    if (h.kind == ZEB_MPK_FLOAT) {
        number->kind = ZEB_MPK_NUMBER_FLOAT;
        number->f = s_float (p, &h);
    }
    else
        return -1;
    self->ptr += h.head + h.body;
    return 0;
}

//  An integer as a sign and a magnitude: every int64 and uint64, exactly.
//  Negative values have a magnitude of at least 1 (there is no -0).
typedef struct {
    bool negative;
    uint64_t magnitude;
} s_integer_t;

static inline s_integer_t
s_integer_of (zeb_mpk_number_t number)
{
    s_integer_t integer = { false, number.u };
    if (number.kind == ZEB_MPK_NUMBER_INT) {
        integer.negative = number.i < 0;
        //  -(i + 1) + 1 does not overflow at INT64_MIN
        integer.magnitude = number.i < 0? (uint64_t) (-(number.i + 1)) + 1: (uint64_t) number.i;
    }
    return integer;
}

static inline zeb_mpk_order_t
s_compare_integers (s_integer_t a, s_integer_t b)
{
    if (a.negative != b.negative)
        return a.negative? ZEB_MPK_LESS: ZEB_MPK_GREATER;
    int order = (a.magnitude > b.magnitude) - (a.magnitude < b.magnitude);
    return (zeb_mpk_order_t) (a.negative? -order: order);
}

//  An integer against a double, exactly: the double's whole part is an
//  integer that fits in a sign and 64 bits once the values beyond every
//  integer are set aside, and its fractional part breaks a tie.
static zeb_mpk_order_t
s_compare_integer_float (s_integer_t a, double value)
{
    if (isnan (value))
        return ZEB_MPK_UNORDERED;
    if (value >= 0x1p64)
        return ZEB_MPK_LESS;
    if (value <= -0x1p64)
        return ZEB_MPK_GREATER;
    double whole = trunc (value);
    s_integer_t b = { whole < 0, (uint64_t) fabs (whole) };
    zeb_mpk_order_t order = s_compare_integers (a, b);
    if (order != ZEB_MPK_EQUAL)
        return order;
    double fraction = value - whole;    //  exact
    return fraction > 0? ZEB_MPK_LESS: fraction < 0? ZEB_MPK_GREATER: ZEB_MPK_EQUAL;
}

zeb_mpk_order_t
zeb_mpk_compare_numbers (zeb_mpk_number_t a, zeb_mpk_number_t b)
{
    bool a_float = a.kind == ZEB_MPK_NUMBER_FLOAT;
    bool b_float = b.kind == ZEB_MPK_NUMBER_FLOAT;
    if (a_float && b_float) {
        if (isnan (a.f) || isnan (b.f))
            return ZEB_MPK_UNORDERED;
        return (zeb_mpk_order_t) ((a.f > b.f) - (a.f < b.f));
    }
    if (a_float) {
        zeb_mpk_order_t order = s_compare_integer_float (s_integer_of (b), a.f);
        return order == ZEB_MPK_UNORDERED? order: (zeb_mpk_order_t) -order;
    }
    if (b_float)
        return s_compare_integer_float (s_integer_of (a), b.f);
    return s_compare_integers (s_integer_of (a), s_integer_of (b));
}

static bool
    s_equal (const zeb_mpk_t *a, const zeb_mpk_t *b, size_t depth);

//  Whether each of the count entries of the map at x (after its header)
//  has an equal entry in the map of count entries at y
static bool
s_entries_in (zeb_mpk_t x, zeb_mpk_t y, uint32_t count, size_t depth)
{
    for (uint32_t index = 0; index < count; index++) {
        zeb_mpk_t key = x;
        if (zeb_mpk_skip (&x, NULL, NULL))
            return false;
        zeb_mpk_t value = x;
        if (zeb_mpk_skip (&x, NULL, NULL))
            return false;
        s_header_t kh;
        if (s_next (&key, &kh))
            return false;
        zeb_mpk_t scan = y;
        bool found = false;
        for (uint32_t entry = 0; entry < count && !found; entry++) {
            zeb_mpk_t other_key = scan;
            if (zeb_mpk_skip (&scan, NULL, NULL))
                return false;
            zeb_mpk_t other_value = scan;
            if (zeb_mpk_skip (&scan, NULL, NULL))
                return false;
            //  String keys, the usual ones, compared here
            s_header_t oh;
            bool same_key;
            if (kh.kind == ZEB_MPK_STR && s_next (&other_key, &oh) == 0 && oh.kind == ZEB_MPK_STR)
                same_key = kh.body == oh.body
                        && memcmp (key.ptr + kh.head, other_key.ptr + oh.head, kh.body) == 0;
            else
                same_key = s_equal (&key, &other_key, depth);
            found = same_key && s_equal (&value, &other_value, depth);
        }
        if (!found)
            return false;
    }
    return true;
}

static bool
s_equal (const zeb_mpk_t *a, const zeb_mpk_t *b, size_t depth)
{
    s_header_t ha, hb;
    if (s_next (a, &ha) || s_next (b, &hb))
        return false;
    bool a_number = ha.kind == ZEB_MPK_UINT || ha.kind == ZEB_MPK_INT || ha.kind == ZEB_MPK_FLOAT;
    bool b_number = hb.kind == ZEB_MPK_UINT || hb.kind == ZEB_MPK_INT || hb.kind == ZEB_MPK_FLOAT;
    if (a_number || b_number) {
        zeb_mpk_t x = *a, y = *b;
        zeb_mpk_number_t p, q;
        return a_number && b_number
            && zeb_mpk_read_number (&x, &p) == 0 && zeb_mpk_read_number (&y, &q) == 0
            && zeb_mpk_compare_numbers (p, q) == ZEB_MPK_EQUAL;
    }
    if (ha.kind != hb.kind)
        return false;
    switch (ha.kind) {
        case ZEB_MPK_NIL:
            return true;
        case ZEB_MPK_BOOL:
            return a->ptr [0] == b->ptr [0];
        case ZEB_MPK_STR:
        case ZEB_MPK_BIN:
        case ZEB_MPK_EXT:           //  the body is the ext type, then the data
            return ha.body == hb.body
                && memcmp (a->ptr + ha.head, b->ptr + hb.head, ha.body) == 0;
        case ZEB_MPK_ARRAY:
        case ZEB_MPK_MAP:
            break;
        default:
            return false;
    }
    if (ha.count != hb.count)
        return false;
    zeb_mpk_t x = *a, y = *b;
    if (depth >= ZEB_MPK_MAX_DEPTH) {
        const uint8_t *x_span, *y_span;
        size_t x_size, y_size;
        return zeb_mpk_skip (&x, &x_span, &x_size) == 0 && zeb_mpk_skip (&y, &y_span, &y_size) == 0
            && x_size == y_size && memcmp (x_span, y_span, x_size) == 0;
    }
    uint32_t count;
    if (ha.kind == ZEB_MPK_MAP)
        return zeb_mpk_read_map (&x, &count) == 0 && zeb_mpk_read_map (&y, &count) == 0
            && s_entries_in (x, y, count, depth + 1) && s_entries_in (y, x, count, depth + 1);
    if (zeb_mpk_read_array (&x, &count) || zeb_mpk_read_array (&y, &count))
        return false;
    for (uint32_t index = 0; index < count; index++)
        if (!s_equal (&x, &y, depth + 1)
        ||  zeb_mpk_skip (&x, NULL, NULL) || zeb_mpk_skip (&y, NULL, NULL))
            return false;
    return true;
}

bool
zeb_mpk_equal (const zeb_mpk_t *a, const zeb_mpk_t *b)
{
    assert (a);
    assert (b);
    return s_equal (a, b, 0);
}

//  ---------------------------------------------------------------------
//  Self test

//  Numbers, briefly
static zeb_mpk_number_t
s_int (int64_t value)
{
    return (zeb_mpk_number_t) { .kind = ZEB_MPK_NUMBER_INT, .i = value };
}

static zeb_mpk_number_t
s_uint (uint64_t value)
{
    return (zeb_mpk_number_t) { .kind = ZEB_MPK_NUMBER_UINT, .u = value };
}

static zeb_mpk_number_t
s_real (double value)
{
    return (zeb_mpk_number_t) { .kind = ZEB_MPK_NUMBER_FLOAT, .f = value };
}

//  Compare both ways round: the order must flip (UNORDERED stays)
static zeb_mpk_order_t
s_order (zeb_mpk_number_t a, zeb_mpk_number_t b)
{
    zeb_mpk_order_t order = zeb_mpk_compare_numbers (a, b);
    zeb_mpk_order_t reverse = zeb_mpk_compare_numbers (b, a);
    assert (order == ZEB_MPK_UNORDERED? reverse == order: reverse == -order);
    return order;
}

//  Equality of two buffers, checked to be symmetric and to move nothing
static bool
s_same (const void *a, size_t a_size, const void *b, size_t b_size)
{
    zeb_mpk_t x, y;
    zeb_mpk_init (&x, a, a_size);
    zeb_mpk_init (&y, b, b_size);
    bool equal = zeb_mpk_equal (&x, &y);
    assert (zeb_mpk_equal (&y, &x) == equal);
    assert (x.ptr == (const uint8_t *) a && y.ptr == (const uint8_t *) b);
    return equal;
}

//  JSON text as msgpack, through zeb_json, into a buffer owned by the caller
static msgpack_sbuffer
s_packed (const char *json)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    int rc = zeb_json_pack_text (json, strlen (json), &buffer, NULL);
    assert (rc == 0);
    return buffer;
}

static bool
s_same_json (const char *a, const char *b)
{
    msgpack_sbuffer x = s_packed (a), y = s_packed (b);
    bool equal = s_same (x.data, x.size, y.data, y.size);
    msgpack_sbuffer_destroy (&x);
    msgpack_sbuffer_destroy (&y);
    return equal;
}

static bool
s_utf8 (const char *text)
{
    return zeb_mpk_utf8_valid (text, strlen (text));
}

//  depth arrays nested in each other, nil at the bottom; caller frees
static uint8_t *
s_nested (size_t depth, size_t *size)
{
    uint8_t *bytes = (uint8_t *) malloc (depth + 1);
    assert (bytes);
    memset (bytes, 0x91, depth);    //  fixarray of one
    bytes [depth] = 0xc0;
    *size = depth + 1;
    return bytes;
}

static int
s_skip_depth (const void *data, size_t size, size_t max_depth)
{
    zeb_mpk_t reader;
    zeb_mpk_init (&reader, data, size);
    int rc = zeb_mpk_skip_bounded (&reader, max_depth, NULL, NULL);
    assert (rc == 0? zeb_mpk_done (&reader): reader.ptr == (const uint8_t *) data);
    return rc;
}

static void
s_test_numbers (void)
{
    //  Every integer width, read exactly; non-negative signed encodings
    //  come back as UINT, floats of both widths as FLOAT
    const struct {
        const char *bytes;
        size_t size;
        zeb_mpk_number_kind_t kind;
        int64_t i;
        uint64_t u;
        double f;
    } numbers [] = {
        { "\x07", 1, ZEB_MPK_NUMBER_UINT, 0, 7, 0 },
        { "\xcc\xff", 2, ZEB_MPK_NUMBER_UINT, 0, 255, 0 },
        { "\xcd\x01\x00", 3, ZEB_MPK_NUMBER_UINT, 0, 256, 0 },
        { "\xce\xff\xff\xff\xff", 5, ZEB_MPK_NUMBER_UINT, 0, UINT32_MAX, 0 },
        { "\xcf\xff\xff\xff\xff\xff\xff\xff\xff", 9, ZEB_MPK_NUMBER_UINT, 0, UINT64_MAX, 0 },
        { "\xcf\x80\x00\x00\x00\x00\x00\x00\x00", 9, ZEB_MPK_NUMBER_UINT, 0, 1ULL << 63, 0 },
        { "\xff", 1, ZEB_MPK_NUMBER_INT, -1, 0, 0 },
        { "\xd0\x80", 2, ZEB_MPK_NUMBER_INT, -128, 0, 0 },
        { "\xd0\x05", 2, ZEB_MPK_NUMBER_UINT, 0, 5, 0 },
        { "\xd1\x80\x00", 3, ZEB_MPK_NUMBER_INT, INT16_MIN, 0, 0 },
        { "\xd2\x80\x00\x00\x00", 5, ZEB_MPK_NUMBER_INT, INT32_MIN, 0, 0 },
        { "\xd3\x80\x00\x00\x00\x00\x00\x00\x00", 9, ZEB_MPK_NUMBER_INT, INT64_MIN, 0, 0 },
        { "\xd3\x7f\xff\xff\xff\xff\xff\xff\xff", 9, ZEB_MPK_NUMBER_UINT, 0, INT64_MAX, 0 },
        { "\xca\x3f\xc0\x00\x00", 5, ZEB_MPK_NUMBER_FLOAT, 0, 0, 1.5 },
        { "\xcb\xc0\x09\x00\x00\x00\x00\x00\x00", 9, ZEB_MPK_NUMBER_FLOAT, 0, 0, -3.125 }
    };
    for (size_t index = 0; index < sizeof (numbers) / sizeof (numbers [0]); index++) {
        zeb_mpk_t reader;
        zeb_mpk_init (&reader, numbers [index].bytes, numbers [index].size);
        zeb_mpk_number_t number;
        assert (zeb_mpk_read_number (&reader, &number) == 0 && zeb_mpk_done (&reader));
        assert (number.kind == numbers [index].kind);
        if (number.kind == ZEB_MPK_NUMBER_INT)
            assert (number.i == numbers [index].i);
        else
        if (number.kind == ZEB_MPK_NUMBER_UINT)
            assert (number.u == numbers [index].u);
        else
            assert (number.f == numbers [index].f);
        //  Truncated: refused, cursor unchanged
        if (numbers [index].size > 1) {
            zeb_mpk_init (&reader, numbers [index].bytes, numbers [index].size - 1);
            assert (zeb_mpk_read_number (&reader, &number) == -1);
            assert (reader.ptr == (const uint8_t *) numbers [index].bytes);
        }
    }
    zeb_mpk_t reader;
    zeb_mpk_number_t number;
    zeb_mpk_init (&reader, "\xa1x", 2);
    assert (zeb_mpk_read_number (&reader, &number) == -1);
    assert (reader.ptr [0] == 0xa1);

    //  Integers of all kinds against each other
    assert (s_order (s_int (5), s_uint (5)) == ZEB_MPK_EQUAL);
    assert (s_order (s_int (-1), s_uint (0)) == ZEB_MPK_LESS);
    assert (s_order (s_int (-1), s_uint (1ULL << 63)) == ZEB_MPK_LESS);
    assert (s_order (s_int (INT64_MIN), s_uint (UINT64_MAX)) == ZEB_MPK_LESS);
    assert (s_order (s_int (INT64_MAX), s_uint ((uint64_t) INT64_MAX + 1)) == ZEB_MPK_LESS);
    assert (s_order (s_int (-7), s_int (-8)) == ZEB_MPK_GREATER);
    assert (s_order (s_int (INT64_MIN), s_int (INT64_MIN)) == ZEB_MPK_EQUAL);
    assert (s_order (s_uint (UINT64_MAX), s_uint (UINT64_MAX - 1)) == ZEB_MPK_GREATER);
    //  A zeroed number is INT 0
    zeb_mpk_number_t zero;
    memset (&zero, 0, sizeof (zero));
    assert (s_order (zero, s_uint (0)) == ZEB_MPK_EQUAL);

    //  Integers against floats, exactly, beyond 2^53 and up to 2^64
    assert (s_order (s_uint (5), s_real (5.0)) == ZEB_MPK_EQUAL);
    assert (s_order (s_int (-5), s_real (-5.0)) == ZEB_MPK_EQUAL);
    assert (s_order (s_uint (0), s_real (-0.0)) == ZEB_MPK_EQUAL);
    assert (s_order (s_uint (2), s_real (2.5)) == ZEB_MPK_LESS);
    assert (s_order (s_uint (3), s_real (2.5)) == ZEB_MPK_GREATER);
    assert (s_order (s_int (-2), s_real (-2.5)) == ZEB_MPK_GREATER);
    assert (s_order (s_int (-3), s_real (-2.5)) == ZEB_MPK_LESS);
    assert (s_order (s_uint (0), s_real (0.1)) == ZEB_MPK_LESS);
    assert (s_order (s_int (-1), s_real (-0.5)) == ZEB_MPK_LESS);
    uint64_t two53 = 1ULL << 53;
    assert (s_order (s_uint (two53), s_real (0x1p53)) == ZEB_MPK_EQUAL);
    assert (s_order (s_uint (two53 + 1), s_real (0x1p53)) == ZEB_MPK_GREATER);
    assert (s_order (s_uint (two53 + 1), s_real (0x1p53 + 2)) == ZEB_MPK_LESS);
    assert (s_order (s_int (-(int64_t) two53 - 1), s_real (-0x1p53)) == ZEB_MPK_LESS);
    assert (s_order (s_uint (1ULL << 63), s_real (0x1p63)) == ZEB_MPK_EQUAL);
    assert (s_order (s_uint ((1ULL << 63) + 1), s_real (0x1p63)) == ZEB_MPK_GREATER);
    assert (s_order (s_int (INT64_MAX), s_real (0x1p63)) == ZEB_MPK_LESS);
    assert (s_order (s_uint (UINT64_MAX), s_real (0x1p64)) == ZEB_MPK_LESS);
    //  The largest double below 2^64 is 2^64 - 2048; its neighbours differ
    assert (s_order (s_uint (UINT64_MAX - 2047), s_real (0x1p64 - 2048)) == ZEB_MPK_EQUAL);
    assert (s_order (s_uint (UINT64_MAX - 2046), s_real (0x1p64 - 2048)) == ZEB_MPK_GREATER);
    assert (s_order (s_uint (UINT64_MAX - 2048), s_real (0x1p64 - 2048)) == ZEB_MPK_LESS);
    assert (s_order (s_int (INT64_MIN), s_real (-0x1p63)) == ZEB_MPK_EQUAL);
    assert (s_order (s_int (INT64_MIN), s_real (-0x1p63 - 2048)) == ZEB_MPK_GREATER);
    assert (s_order (s_int (INT64_MIN), s_real (-0x1p64)) == ZEB_MPK_GREATER);
    assert (s_order (s_uint (UINT64_MAX), s_real (1e300)) == ZEB_MPK_LESS);
    assert (s_order (s_int (INT64_MIN), s_real (-1e300)) == ZEB_MPK_GREATER);
    assert (s_order (s_uint (UINT64_MAX), s_real (INFINITY)) == ZEB_MPK_LESS);
    assert (s_order (s_int (INT64_MIN), s_real (-INFINITY)) == ZEB_MPK_GREATER);
    //  Floats against floats
    assert (s_order (s_real (0.1), s_real (0.1)) == ZEB_MPK_EQUAL);
    assert (s_order (s_real (-0.0), s_real (0.0)) == ZEB_MPK_EQUAL);
    assert (s_order (s_real (1.5), s_real (-INFINITY)) == ZEB_MPK_GREATER);
    assert (s_order (s_real (INFINITY), s_real (INFINITY)) == ZEB_MPK_EQUAL);
    //  NaN is unordered against everything, itself included
    assert (s_order (s_real (NAN), s_real (NAN)) == ZEB_MPK_UNORDERED);
    assert (s_order (s_real (NAN), s_real (1.0)) == ZEB_MPK_UNORDERED);
    assert (s_order (s_real (NAN), s_real (INFINITY)) == ZEB_MPK_UNORDERED);
    assert (s_order (s_real (NAN), s_uint (0)) == ZEB_MPK_UNORDERED);
    assert (s_order (s_real (-NAN), s_int (INT64_MIN)) == ZEB_MPK_UNORDERED);

    //  JSON types
    const struct {
        const char *bytes;
        size_t size;
        unsigned type;
    } types [] = {
        { "\xc0", 1, ZEB_MPK_JSON_NULL },
        { "\xc2", 1, ZEB_MPK_JSON_BOOLEAN },
        { "\x05", 1, ZEB_MPK_JSON_INTEGER | ZEB_MPK_JSON_NUMBER },
        { "\xd0\x80", 2, ZEB_MPK_JSON_INTEGER | ZEB_MPK_JSON_NUMBER },
        { "\xcb\x40\x08\x00\x00\x00\x00\x00\x00", 9, ZEB_MPK_JSON_INTEGER | ZEB_MPK_JSON_NUMBER },
        { "\xca\x40\x60\x00\x00", 5, ZEB_MPK_JSON_NUMBER },           //  3.5f
        { "\xcb\x7f\xf8\x00\x00\x00\x00\x00\x00", 9, ZEB_MPK_JSON_NUMBER },   //  NaN
        { "\xcb\x7f\xf0\x00\x00\x00\x00\x00\x00", 9, ZEB_MPK_JSON_NUMBER },   //  inf
        { "\xa2hi", 3, ZEB_MPK_JSON_STRING },
        { "\x90", 1, ZEB_MPK_JSON_ARRAY },
        { "\x80", 1, ZEB_MPK_JSON_OBJECT },
        { "\xc4\x01x", 3, 0 },                                            //  bin
        { "\xd4\x01\x00", 3, 0 },                                        //  ext
        { "\xc1", 1, 0 },                                                  //  never used
        { "\xa5hi", 3, 0 },                                                //  truncated
        { "\xcb\x40", 2, 0 },
        { "", 0, 0 }
    };
    for (size_t index = 0; index < sizeof (types) / sizeof (types [0]); index++) {
        zeb_mpk_init (&reader, types [index].bytes, types [index].size);
        assert (zeb_mpk_type_of (&reader) == types [index].type);
        assert (reader.ptr == (const uint8_t *) types [index].bytes);
    }
}

static void
s_test_equal (void)
{
    //  Numbers by value, across kinds and widths
    assert (s_same_json ("1", "1.0"));
    assert (s_same_json ("-1", "-1.0"));
    assert (!s_same_json ("1", "1.5"));
    const char *max64 = "\xcf\xff\xff\xff\xff\xff\xff\xff\xff";         //  2^64-1
    const char *two64 = "\xcb\x43\xf0\x00\x00\x00\x00\x00\x00";         //  2^64
    const char *two63 = "\xcf\x80\x00\x00\x00\x00\x00\x00\x00";         //  2^63
    const char *minus = "\xd3\x80\x00\x00\x00\x00\x00\x00\x00";         //  -2^63
    assert (s_same (max64, 9, max64, 9));
    assert (!s_same (max64, 9, two64, 9));
    assert (s_same (two63, 9, "\xcb\x43\xe0\x00\x00\x00\x00\x00\x00", 9));
    assert (s_same (minus, 9, "\xcb\xc3\xe0\x00\x00\x00\x00\x00\x00", 9));
    assert (!s_same (minus, 9, two63, 9));
    assert (!s_same_json ("9007199254740993", "9007199254740992.0"));
    assert (s_same ("\xff", 1, "\xd3\xff\xff\xff\xff\xff\xff\xff\xff", 9));    //  -1, -1
    assert (s_same ("\x05", 1, "\xd0\x05", 2));
    assert (s_same ("\xca\x3f\xc0\x00\x00", 5, "\xcb\x3f\xf8\x00\x00\x00\x00\x00\x00", 9));
    const char *nan = "\xcb\x7f\xf8\x00\x00\x00\x00\x00\x00";
    assert (!s_same (nan, 9, nan, 9));                              //  NaN equals nothing
    assert (!s_same (nan, 9, "\x00", 1));
    //  Other scalars
    assert (s_same_json ("null", "null"));
    assert (s_same_json ("true", "true"));
    assert (!s_same_json ("true", "false"));
    assert (!s_same_json ("null", "false"));
    assert (!s_same_json ("0", "false"));
    assert (!s_same_json ("0", "null"));
    assert (!s_same_json ("\"1\"", "1"));
    //  Strings by bytes, whatever the header's width; str is never bin
    assert (s_same ("\xa2hi", 3, "\xd9\x02hi", 4));
    assert (s_same ("\xa2hi", 3, "\xda\x00\x02hi", 5));
    assert (!s_same ("\xa2hi", 3, "\xa2ho", 3));
    assert (!s_same ("\xa2hi", 3, "\xa3hi!", 4));
    assert (!s_same ("\xa2hi", 3, "\xc4\x02hi", 4));
    assert (s_same ("\xc4\x02hi", 4, "\xc5\x00\x02hi", 5));
    assert (!s_same ("\xc4\x02hi", 4, "\xc4\x02ho", 4));
    //  Ext: same type and bytes, whatever the header
    assert (s_same ("\xd4\x05\x01", 3, "\xc7\x01\x05\x01", 4));
    assert (!s_same ("\xd4\x05\x01", 3, "\xd4\x06\x01", 3));
    assert (!s_same ("\xd4\x05\x01", 3, "\xc4\x01\x01", 3));
    //  Arrays item by item, in order
    assert (s_same_json ("[1,[2,3],\"x\"]", "[1.0,[2,3.0],\"x\"]"));
    assert (!s_same_json ("[1,2]", "[2,1]"));
    assert (!s_same_json ("[1,2]", "[1,2,3]"));
    assert (!s_same_json ("[]", "{}"));
    assert (s_same_json ("[]", "[]"));
    assert (s_same_json ("{}", "{}"));
    //  Maps whatever the order of their keys, nested
    assert (s_same_json ("{\"a\":1,\"b\":{\"c\":[1,{\"x\":2,\"y\":3}],\"d\":null}}",
                         "{\"b\":{\"d\":null,\"c\":[1.0,{\"y\":3,\"x\":2.0}]},\"a\":1}"));
    assert (!s_same_json ("{\"a\":1,\"b\":2}", "{\"a\":1,\"c\":2}"));
    assert (!s_same_json ("{\"a\":1,\"b\":2}", "{\"a\":1,\"b\":3}"));
    assert (!s_same_json ("{\"a\":1}", "{\"a\":1,\"b\":2}"));
    assert (!s_same_json ("{\"a\":[1,2]}", "{\"a\":[2,1]}"));
    //  Repeated keys: each entry of either map must be in the other
    assert (!s_same ("\x82\xa1" "a" "\x01\xa1" "a" "\x01", 7, "\x82\xa1" "a" "\x01\xa1" "b" "\x02", 7));
    assert (s_same ("\x82\xa1" "a" "\x01\xa1" "a" "\x02", 7, "\x82\xa1" "a" "\x02\xa1" "a" "\x01", 7));
    //  Keys of other kinds are compared as values: 1 and 1.0 match
    assert (s_same ("\x81\x01\xa1x", 4, "\x81\xcb\x3f\xf0\x00\x00\x00\x00\x00\x00\xa1x", 12));
    assert (!s_same ("\x81\x01\xa1x", 4, "\x81\xa1\x31\xa1x", 5));
    //  Malformed or truncated values are never equal, not even to themselves
    assert (!s_same ("\xa5hi", 3, "\xa5hi", 3));
    assert (!s_same ("\x92\x01", 2, "\x92\x01", 2));
    assert (!s_same ("\x81\xa1" "a", 3, "\x81\xa1" "a", 3));
    assert (!s_same ("\xc1", 1, "\xc1", 1));
    assert (!s_same ("", 0, "", 0));
    //  Deeper than ZEB_MPK_MAX_DEPTH: compared by bytes, without overflow
    size_t size, other_size;
    uint8_t *deep = s_nested (100000, &size);
    uint8_t *other = s_nested (100000, &other_size);
    assert (s_same (deep, size, other, other_size));
    other [other_size - 1] = 0x01;
    assert (!s_same (deep, size, other, other_size));
    free (other);
    other = s_nested (99999, &other_size);
    assert (!s_same (deep, size, other, other_size));
    free (other);
    free (deep);
    //  ...and structurally down to it: [[...[{"a":1,"b":2}]...]] against
    //  the same with the keys swapped and 1.0 for 1
    size_t depth = ZEB_MPK_MAX_DEPTH - 1;
    deep = s_nested (depth, &size);
    other = s_nested (depth, &other_size);
    uint8_t *x = (uint8_t *) malloc (depth + 16), *y = (uint8_t *) malloc (depth + 32);
    assert (x && y);
    memcpy (x, deep, depth);
    memcpy (x + depth, "\x82\xa1" "a" "\x01\xa1" "b" "\x02", 7);
    memcpy (y, other, depth);
    memcpy (y + depth, "\x82\xa1" "b" "\x02\xa1" "a" "\xcb\x3f\xf0\x00\x00\x00\x00\x00\x00", 15);
    assert (s_same (x, depth + 7, y, depth + 15));
    free (x);
    free (y);
    free (deep);
    free (other);
}

static void
s_test_depth (void)
{
    //  Depth: a scalar is 0, a container one more than what it holds
    assert (s_skip_depth ("\x01", 1, 0) == 0);
    assert (s_skip_depth ("\x90", 1, 0) == ZEB_MPK_TOO_DEEP);
    assert (s_skip_depth ("\x90", 1, 1) == 0);
    assert (s_skip_depth ("\x80", 1, 0) == ZEB_MPK_TOO_DEEP);
    msgpack_sbuffer buffer = s_packed ("{\"a\":[1]}");
    assert (s_skip_depth (buffer.data, buffer.size, 1) == ZEB_MPK_TOO_DEEP);
    assert (s_skip_depth (buffer.data, buffer.size, 2) == 0);
    msgpack_sbuffer_destroy (&buffer);
    //  Siblings close their levels: [[1],[2],{"a":[[3]]},4] is 4 deep
    buffer = s_packed ("[[1],[2],{\"a\":[[3]]},4]");
    assert (s_skip_depth (buffer.data, buffer.size, 3) == ZEB_MPK_TOO_DEEP);
    assert (s_skip_depth (buffer.data, buffer.size, 4) == 0);
    zeb_mpk_t reader, plain;
    const uint8_t *span, *plain_span;
    size_t span_size, plain_size;
    zeb_mpk_init (&reader, buffer.data, buffer.size);
    zeb_mpk_init (&plain, buffer.data, buffer.size);
    assert (zeb_mpk_skip_bounded (&reader, 4, &span, &span_size) == 0);
    assert (zeb_mpk_skip (&plain, &plain_span, &plain_size) == 0);
    assert (span == plain_span && span_size == plain_size && reader.ptr == plain.ptr);
    //  Truncated anywhere: malformed, never too deep, never overread
    for (size_t size = 0; size < buffer.size; size++)
        assert (s_skip_depth (buffer.data, size, 64) == -1);
    msgpack_sbuffer_destroy (&buffer);
    //  64 levels within a limit of 64, 65 not
    size_t size;
    uint8_t *deep = s_nested (64, &size);
    assert (s_skip_depth (deep, size, 64) == 0);
    free (deep);
    deep = s_nested (65, &size);
    assert (s_skip_depth (deep, size, 64) == ZEB_MPK_TOO_DEEP);
    assert (s_skip_depth (deep, size, 65) == 0);
    assert (s_skip_depth (deep, size - 1, 65) == -1);
    free (deep);
    //  Limits above ZEB_MPK_MAX_DEPTH count as it
    deep = s_nested (ZEB_MPK_MAX_DEPTH, &size);
    assert (s_skip_depth (deep, size, SIZE_MAX) == 0);
    free (deep);
    deep = s_nested (ZEB_MPK_MAX_DEPTH + 1, &size);
    assert (s_skip_depth (deep, size, SIZE_MAX) == ZEB_MPK_TOO_DEEP);
    free (deep);
    //  100,000 levels: refused at the limit, in constant stack
    deep = s_nested (100000, &size);
    assert (s_skip_depth (deep, size, 64) == ZEB_MPK_TOO_DEEP);
    free (deep);
    //  Hostile counts stay malformed
    const uint8_t hostile [] = { 0x91, 0xdd, 0xff, 0xff, 0xff, 0xff, 0x01 };
    assert (s_skip_depth (hostile, sizeof (hostile), 64) == -1);
}

static void
s_test_utf8 (void)
{
    assert (s_utf8 (""));
    assert (s_utf8 ("plain ASCII, long enough for the eight-byte path"));
    assert (s_utf8 ("caf\xc3\xa9"));                   //  U+00E9
    assert (s_utf8 ("\xe2\x82\xac 5"));                //  U+20AC
    assert (s_utf8 ("\xf0\x9d\x84\x9e"));               //  U+1D11E
    assert (s_utf8 ("\xed\x9f\xbf\xee\x80\x80"));       //  U+D7FF, U+E000 beside the surrogates
    assert (s_utf8 ("\xf4\x8f\xbf\xbf"));               //  U+10FFFF, the last
    assert (s_utf8 ("\xc2\x80\xdf\xbf\xe0\xa0\x80\xf0\x90\x80\x80"));   //  the first of each length
    assert (zeb_mpk_utf8_valid ("a\0b", 3));
    const char *invalid [] = {
        "\x80", "\xbf", "a\x80",                     //  continuation without a lead
        "\xc0\x80", "\xc1\xbf",                       //  overlong two bytes
        "\xe0\x80\x80", "\xe0\x9f\xbf",               //  overlong three bytes
        "\xf0\x80\x80\x80", "\xf0\x8f\xbf\xbf",       //  overlong four bytes
        "\xed\xa0\x80", "\xed\xbf\xbf",               //  surrogates D800, DFFF
        "\xed\xa0\xbd\xed\xb2\xa9",                   //  a CESU-8 surrogate pair
        "\xf4\x90\x80\x80", "\xf5\x80\x80\x80",       //  above U+10FFFF
        "\xf8\x88\x80\x80\x80", "\xff", "\xfe",
        "\xe2\x82", "\xf0\x9d\x84", "\xc3",           //  truncated
        "\xe2\x28\xa1", "\xc3\x28", "\xf0\x9d\x28\x9e", //  bad continuation
        "sixteen ASCII b\xc3", "sixteen ASCII by\xe9t"    //  after the eight-byte path
    };
    for (size_t index = 0; index < sizeof (invalid) / sizeof (invalid [0]); index++)
        assert (!s_utf8 (invalid [index]));
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
    s_test_numbers ();
    s_test_equal ();
    s_test_depth ();
    s_test_utf8 ();
    printf ("OK\n");
}
