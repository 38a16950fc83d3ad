/*  =========================================================================
    zeb_event - the event envelope: CloudEvents 1.0 attributes plus zeb's own

    The view is the workhorse: decode reads the msgpack map once, recording
    spans; validate checks them; encode writes the canonical form. The owned
    event keeps a view whose spans point at memory it owns: one arena per
    decode (a copy of the input plus null-terminated copies of its strings),
    and separate allocations for whatever setters change afterwards.
    =========================================================================
*/

#include "zeb_classes.h"

typedef struct {
    const char *name;
    size_t max;                 //  longest value accepted
} s_attr_info_t;

static const s_attr_info_t s_attrs [ZEB_ATTR_COUNT] = {
    { "id",              ZEB_EVENT_MAX_ID },
    { "type",            ZEB_EVENT_MAX_TYPE },
    { "source",          ZEB_EVENT_MAX_SOURCE },
    { "specversion",     16 },
    { "subject",         ZEB_EVENT_MAX_STRING },
    { "channel",         ZEB_EVENT_MAX_TYPE },
    { "idempotencykey",  ZEB_EVENT_MAX_ID },
    { "traceparent",     ZEB_EVENT_MAX_STRING },
    { "tracestate",      ZEB_EVENT_MAX_STRING },
    { "correlationid",   ZEB_EVENT_MAX_ID },
    { "causationid",     ZEB_EVENT_MAX_ID },
    { "actorid",         ZEB_EVENT_MAX_ID },
    { "tenantid",        ZEB_EVENT_MAX_ID },
    { "datacontenttype", ZEB_EVENT_MAX_ID },
    { "dataschema",      ZEB_EVENT_MAX_STRING }
};

//  Keys that are not string attributes
typedef enum {
    S_KEY_TIME = ZEB_ATTR_COUNT,
    S_KEY_SEQUENCE,
    S_KEY_DATA,
    S_KEY_OTHER
} s_key_t;

struct _zeb_event_t {
    zeb_event_view_t view;
    uint8_t *arena;                             //  from decode, or NULL
    char *owned [ZEB_ATTR_COUNT];               //  strings set by setters
    uint8_t *data;                              //  data set by a setter
    uint8_t *ext_owned [ZEB_EVENT_MAX_EXTENSIONS];  //  name\0value, by setters
};

const char *
zeb_attr_name (zeb_attr_t attr)
{
    assert (attr < ZEB_ATTR_COUNT);
    return s_attrs [attr].name;
}

static inline bool
s_is (const char *name, size_t len, const char *literal, size_t literal_len)
{
    return len == literal_len && memcmp (name, literal, len) == 0;
}

#define S_IS(name, len, literal) s_is ((name), (len), (literal), sizeof (literal) - 1)

//  Classify a key: a string attribute, time, sequence, data or other.
//  Dispatch on length first so that a typical key costs one memcmp.
static int
s_classify (const char *name, size_t len)
{
    switch (len) {
        case 2:
            return S_IS (name, len, "id")? ZEB_ATTR_ID: S_KEY_OTHER;
        case 4:
            return S_IS (name, len, "type")? ZEB_ATTR_TYPE:
                   S_IS (name, len, "time")? S_KEY_TIME:
                   S_IS (name, len, "data")? S_KEY_DATA: S_KEY_OTHER;
        case 6:
            return S_IS (name, len, "source")? ZEB_ATTR_SOURCE: S_KEY_OTHER;
        case 7:
            return S_IS (name, len, "subject")? ZEB_ATTR_SUBJECT:
                   S_IS (name, len, "channel")? ZEB_ATTR_CHANNEL:
                   S_IS (name, len, "actorid")? ZEB_ATTR_ACTORID: S_KEY_OTHER;
        case 8:
            return S_IS (name, len, "sequence")? S_KEY_SEQUENCE:
                   S_IS (name, len, "tenantid")? ZEB_ATTR_TENANTID: S_KEY_OTHER;
        case 10:
            return S_IS (name, len, "tracestate")? ZEB_ATTR_TRACESTATE:
                   S_IS (name, len, "dataschema")? ZEB_ATTR_DATASCHEMA: S_KEY_OTHER;
        case 11:
            return S_IS (name, len, "specversion")? ZEB_ATTR_SPECVERSION:
                   S_IS (name, len, "traceparent")? ZEB_ATTR_TRACEPARENT:
                   S_IS (name, len, "causationid")? ZEB_ATTR_CAUSATIONID: S_KEY_OTHER;
        case 13:
            return S_IS (name, len, "correlationid")? ZEB_ATTR_CORRELATIONID: S_KEY_OTHER;
        case 14:
            return S_IS (name, len, "idempotencykey")? ZEB_ATTR_IDEMPOTENCYKEY: S_KEY_OTHER;
        case 15:
            return S_IS (name, len, "datacontenttype")? ZEB_ATTR_DATACONTENTTYPE: S_KEY_OTHER;
        default:
            return S_KEY_OTHER;
    }
}

int
zeb_attr_lookup (const char *name, size_t len)
{
    int key = s_classify (name, len);
    return key < ZEB_ATTR_COUNT? key: -1;
}

//  CloudEvents extension names: lowercase letters and digits, 1..20
static bool
s_valid_ext_name (const char *name, size_t len)
{
    if (len == 0 || len > ZEB_EVENT_MAX_EXT_NAME)
        return false;
    for (size_t index = 0; index < len; index++)
        if (!((name [index] >= 'a' && name [index] <= 'z')
          ||  (name [index] >= '0' && name [index] <= '9')))
            return false;
    return true;
}

//  The characters of a type's parts and module: ASCII letters, digits,
//  '_' and '-', whatever the locale. A table: ingest checks every event.
static const bool s_type_char [256] = {
    ['-'] = 1, ['_'] = 1,
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1,
    ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
    ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1,
    ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1,
    ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1,
    ['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1, ['Z'] = 1,
    ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1,
    ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1,
    ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1,
    ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1
};

bool
zeb_event_type_valid (const char *name, size_t len)
{
    if (!name || len == 0 || len > ZEB_EVENT_MAX_TYPE)
        return false;
    //  One pass: a ':' may end the first part (the module), once
    size_t parts = 0, part_len = 0;
    bool module = false;
    for (size_t index = 0; index < len; index++) {
        unsigned char c = (unsigned char) name [index];
        if (s_type_char [c])
            part_len++;
        else
        if (c == '.' && part_len > 0) {
            parts++;
            part_len = 0;
        }
        else
        if (c == ':' && part_len > 0 && parts == 0 && !module) {
            module = true;
            part_len = 0;
        }
        else
            return false;           //  an empty part, a misplaced ':', another character
    }
    return part_len > 0 && parts >= 1;
}

//  Printable ASCII without spaces: what channels are made of
static bool
s_valid_token (const char *text, size_t len)
{
    for (size_t index = 0; index < len; index++)
        if (text [index] < 0x21 || text [index] > 0x7e)
            return false;
    return true;
}

//  W3C trace context: version "-" trace-id "-" parent-id "-" flags, in
//  lowercase hex, trace-id and parent-id not all zeros, version not ff.
static bool
s_valid_traceparent (const char *text, size_t len)
{
    static const char shape [] = "vv-tttttttttttttttttttttttttttttttt-pppppppppppppppp-ff";
    if (len < 55 || (len > 55 && text [55] != '-'))
        return false;
    bool trace_zero = true, parent_zero = true;
    for (size_t index = 0; index < 55; index++) {
        char c = text [index];
        if (shape [index] == '-') {
            if (c != '-')
                return false;
            continue;
        }
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
        if (shape [index] == 't' && c != '0')
            trace_zero = false;
        if (shape [index] == 'p' && c != '0')
            parent_zero = false;
    }
    if (text [0] == 'f' && text [1] == 'f')
        return false;
    if (text [0] == '0' && text [1] == '0' && len != 55)
        return false;               //  version 00 has nothing after flags
    return !trace_zero && !parent_zero;
}

//  Refuse a string attribute or extension value that is not UTF-8
static int
s_check_utf8 (const char *text, size_t len, const char *name, size_t name_len, zeb_fault_t *fault)
{
    if (zeb_mpk_utf8_valid (text, len))
        return 0;
    return zeb_fault_set (fault, ZEB_EINVALID, "attribute '%.*s' is not valid UTF-8",
                          (int) name_len, name);
}

//  Skip data at reader, refusing nesting deeper than max_depth levels
//  (already clamped to ZEB_MPK_MAX_DEPTH, so the message tells the truth)
static int
s_check_data (zeb_mpk_t *reader, size_t max_depth, const uint8_t **span, size_t *span_size,
              zeb_fault_t *fault)
{
    int rc = zeb_mpk_skip_bounded (reader, max_depth, span, span_size);
    if (rc == ZEB_MPK_TOO_DEEP)
        return zeb_fault_set (fault, ZEB_EINVALID, "data nests deeper than %zu levels", max_depth);
    if (rc)
        return zeb_fault_set (fault, ZEB_EMALFORMED, "data is truncated or malformed msgpack");
    return 0;
}

int
zeb_event_view_decode (zeb_event_view_t *self, const void *data, size_t size, zeb_fault_t *fault)
{
    return zeb_event_view_decode_limited (self, data, size, ZEB_EVENT_DEFAULT_MAX_DEPTH, fault);
}

int
zeb_event_view_decode_limited (zeb_event_view_t *self, const void *data, size_t size,
                               size_t max_depth, zeb_fault_t *fault)
{
    assert (self);
    if (max_depth > ZEB_MPK_MAX_DEPTH)
        max_depth = ZEB_MPK_MAX_DEPTH;
    memset (self, 0, offsetof (zeb_event_view_t, ext));
    self->ext_count = 0;
    zeb_mpk_t reader;
    zeb_mpk_init (&reader, data, size);
    uint32_t count;
    if (zeb_mpk_read_map (&reader, &count))
        return zeb_fault_set (fault, ZEB_EMALFORMED, "event is not a msgpack map");
    bool has_sequence = false;
    for (uint32_t index = 0; index < count; index++) {
        const char *name;
        uint32_t len;
        if (zeb_mpk_read_str (&reader, &name, &len))
            return zeb_fault_set (fault, ZEB_EMALFORMED,
                                  "attribute name %u is not a string", index);
        int key = s_classify (name, len);
        zeb_mpk_kind_t kind = zeb_mpk_peek (&reader);
        if (kind == ZEB_MPK_NONE)
            return zeb_fault_set (fault, ZEB_EMALFORMED,
                                  "value of '%.*s' is truncated or malformed", (int) len, name);
        if (kind == ZEB_MPK_NIL && key != S_KEY_DATA) {
            zeb_mpk_read_nil (&reader);     //  null attribute = absent
            continue;
        }
        if (key < ZEB_ATTR_COUNT) {
            zeb_str_t *attr = &self->attr [key];
            if (attr->ptr)
                return zeb_fault_set (fault, ZEB_EINVALID, "attribute '%s' appears twice",
                                      s_attrs [key].name);
            uint32_t value_len;
            if (zeb_mpk_read_str (&reader, &attr->ptr, &value_len))
                return zeb_fault_set (fault, ZEB_EINVALID, "attribute '%s' must be a string",
                                      s_attrs [key].name);
            attr->len = value_len;
            int rc = s_check_utf8 (attr->ptr, attr->len, name, len, fault);
            if (rc)
                return rc;
        }
        else
        if (key == S_KEY_TIME) {
            if (self->has_time)
                return zeb_fault_set (fault, ZEB_EINVALID, "attribute 'time' appears twice");
            const char *text;
            uint32_t text_len;
            if (kind == ZEB_MPK_STR) {
                zeb_mpk_read_str (&reader, &text, &text_len);
                if (zeb_time_parse (text, text_len, &self->time))
                    return zeb_fault_set (fault, ZEB_EINVALID,
                                          "attribute 'time' is not RFC 3339 text");
            }
            else
            if (zeb_mpk_read_int (&reader, &self->time))
                return zeb_fault_set (fault, ZEB_EINVALID,
                                      "attribute 'time' must be integer milliseconds or RFC 3339 text");
            self->has_time = true;
        }
        else
        if (key == S_KEY_SEQUENCE) {
            if (has_sequence || zeb_mpk_read_uint (&reader, &self->sequence))
                return zeb_fault_set (fault, ZEB_EINVALID,
                                      "attribute 'sequence' must be one unsigned integer");
            has_sequence = true;
        }
        else
        if (key == S_KEY_DATA) {
            if (self->data)
                return zeb_fault_set (fault, ZEB_EINVALID, "attribute 'data' appears twice");
            int rc = s_check_data (&reader, max_depth, &self->data, &self->data_size, fault);
            if (rc)
                return rc;
        }
        else {
            if (!s_valid_ext_name (name, len))
                return zeb_fault_set (fault, ZEB_EEXTENSION,
                                      "extension name '%.*s' must be 1-20 of [a-z0-9]",
                                      (int) (len > 40? 40: len), name);
            if (kind != ZEB_MPK_STR && kind != ZEB_MPK_UINT && kind != ZEB_MPK_INT
            &&  kind != ZEB_MPK_BOOL && kind != ZEB_MPK_BIN)
                return zeb_fault_set (fault, ZEB_EEXTENSION,
                                      "extension '%.*s' must be a string, integer, boolean or binary",
                                      (int) len, name);
            if (self->ext_count == ZEB_EVENT_MAX_EXTENSIONS)
                return zeb_fault_set (fault, ZEB_EEXTENSION, "more than %d extension attributes",
                                      ZEB_EVENT_MAX_EXTENSIONS);
            for (size_t other = 0; other < self->ext_count; other++)
                if (self->ext [other].name.len == len
                &&  memcmp (self->ext [other].name.ptr, name, len) == 0)
                    return zeb_fault_set (fault, ZEB_EINVALID,
                                          "attribute '%.*s' appears twice", (int) len, name);
            zeb_ext_t *ext = &self->ext [self->ext_count];
            ext->name.ptr = name;
            ext->name.len = len;
            if (zeb_mpk_skip (&reader, &ext->value, &ext->value_size))
                return zeb_fault_set (fault, ZEB_EMALFORMED,
                                      "value of '%.*s' is truncated or malformed", (int) len, name);
            //  Strings and binaries: their payload, not their encoding
            zeb_mpk_t value;
            zeb_mpk_init (&value, ext->value, ext->value_size);
            const char *payload;
            uint32_t payload_len = 0;
            if (kind == ZEB_MPK_STR)
                zeb_mpk_read_str (&value, &payload, &payload_len);
            else
            if (kind == ZEB_MPK_BIN)
                zeb_mpk_read_bin (&value, (const uint8_t **) &payload, &payload_len);
            if (payload_len > ZEB_EVENT_MAX_STRING)
                return zeb_fault_set (fault, ZEB_ETOOLONG, "extension '%.*s' is longer than %d bytes",
                                      (int) len, name, ZEB_EVENT_MAX_STRING);
            int rc = kind == ZEB_MPK_STR? s_check_utf8 (payload, payload_len, name, len, fault): 0;
            if (rc)
                return rc;
            self->ext_count++;
        }
    }
    if (!zeb_mpk_done (&reader))
        return zeb_fault_set (fault, ZEB_EMALFORMED, "bytes left over after the event map");
    return 0;
}

int
zeb_event_view_validate (zeb_event_view_t *self, zeb_fault_t *fault)
{
    assert (self);
    zeb_str_t *attr = self->attr;
    if (!attr [ZEB_ATTR_TYPE].ptr || attr [ZEB_ATTR_TYPE].len == 0)
        return zeb_fault_set (fault, ZEB_EMISSING, "attribute 'type' is required");
    if (!attr [ZEB_ATTR_SOURCE].ptr || attr [ZEB_ATTR_SOURCE].len == 0)
        return zeb_fault_set (fault, ZEB_EMISSING, "attribute 'source' is required");
    for (int index = 0; index < ZEB_ATTR_COUNT; index++) {
        if (!attr [index].ptr)
            continue;
        if (attr [index].len > s_attrs [index].max)
            return zeb_fault_set (fault, ZEB_ETOOLONG, "attribute '%s' is longer than %zu bytes",
                                  s_attrs [index].name, s_attrs [index].max);
        if (attr [index].len == 0)
            return zeb_fault_set (fault, ZEB_EINVALID, "attribute '%s' must not be empty",
                                  s_attrs [index].name);
    }
    //  Extension strings follow the attributes' rule: never empty (an
    //  empty binary is a value: bin holds any bytes, none included)
    for (size_t index = 0; index < self->ext_count; index++) {
        zeb_ext_t *ext = &self->ext [index];
        zeb_mpk_t reader;
        zeb_mpk_init (&reader, ext->value, ext->value_size);
        const char *text;
        uint32_t len;
        if (zeb_mpk_read_str (&reader, &text, &len) == 0 && len == 0)
            return zeb_fault_set (fault, ZEB_EINVALID, "extension '%.*s' must not be empty",
                                  (int) ext->name.len, ext->name.ptr);
    }
    if (!zeb_event_type_valid (attr [ZEB_ATTR_TYPE].ptr, attr [ZEB_ATTR_TYPE].len))
        return zeb_fault_set (fault, ZEB_EINVALID,
                              "attribute 'type' must be resource.action or module:resource.action "
                              "(two or more dot-separated parts of letters, digits, '_' and '-')");
    if (attr [ZEB_ATTR_CHANNEL].ptr
    &&  !s_valid_token (attr [ZEB_ATTR_CHANNEL].ptr, attr [ZEB_ATTR_CHANNEL].len))
        return zeb_fault_set (fault, ZEB_EINVALID,
                              "attribute 'channel' must be printable ASCII without spaces");
    if (attr [ZEB_ATTR_SPECVERSION].ptr
    &&  !S_IS (attr [ZEB_ATTR_SPECVERSION].ptr, attr [ZEB_ATTR_SPECVERSION].len, "1.0"))
        return zeb_fault_set (fault, ZEB_EINVALID, "attribute 'specversion' must be \"1.0\"");
    if (attr [ZEB_ATTR_TRACEPARENT].ptr
    &&  !s_valid_traceparent (attr [ZEB_ATTR_TRACEPARENT].ptr, attr [ZEB_ATTR_TRACEPARENT].len))
        return zeb_fault_set (fault, ZEB_EINVALID,
                              "attribute 'traceparent' is not a W3C trace context");
    //  Years 0000..9999, the range RFC 3339 can write
    if (self->has_time && (self->time < -62167219200000LL || self->time > 253402300799999LL))
        return zeb_fault_set (fault, ZEB_EINVALID, "attribute 'time' is out of range");
    return 0;
}

//  Count of map entries the canonical encoding writes
static uint32_t
s_encoded_count (zeb_event_view_t *self, bool with_sequence, bool default_channel)
{
    uint32_t count = default_channel;
    for (int index = 0; index < ZEB_ATTR_COUNT; index++)
        if (self->attr [index].ptr)
            count++;
    if (self->attr [ZEB_ATTR_SPECVERSION].ptr
    &&  S_IS (self->attr [ZEB_ATTR_SPECVERSION].ptr, self->attr [ZEB_ATTR_SPECVERSION].len, "1.0"))
        count--;
    count += self->has_time;
    count += with_sequence;
    count += (uint32_t) self->ext_count;
    count += self->data != NULL;
    return count;
}

static int
s_pack_key (msgpack_packer *pk, const char *key, size_t len)
{
    return msgpack_pack_str_with_body (pk, key, len);
}

int
zeb_event_view_encode (zeb_event_view_t *self, msgpack_sbuffer *buffer, size_t *sequence_offset)
{
    assert (self);
    assert (buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, buffer, msgpack_sbuffer_write);
    bool with_sequence = sequence_offset || self->sequence;
    //  The stored form spells out the channel's default: the type
    bool default_channel = sequence_offset && !self->attr [ZEB_ATTR_CHANNEL].ptr
                        && self->attr [ZEB_ATTR_TYPE].ptr;
    int rc = msgpack_pack_map (&pk, s_encoded_count (self, with_sequence, default_channel));
    for (int index = 0; index < ZEB_ATTR_COUNT && rc == 0; index++) {
        zeb_str_t *attr = index == ZEB_ATTR_CHANNEL && default_channel
                        ? &self->attr [ZEB_ATTR_TYPE]: &self->attr [index];
        if (index == ZEB_ATTR_CHANNEL) {
            //  time, sequence come after the envelope's identity
            if (self->has_time)
                rc = rc || s_pack_key (&pk, "time", 4) || msgpack_pack_int64 (&pk, self->time);
            if (with_sequence) {
                rc = rc || s_pack_key (&pk, "sequence", 8);
                if (sequence_offset)
                    *sequence_offset = buffer->size + 1;
                rc = rc || msgpack_pack_fix_uint64 (&pk, self->sequence);
            }
        }
        if (!attr->ptr)
            continue;
        if (index == ZEB_ATTR_SPECVERSION && S_IS (attr->ptr, attr->len, "1.0"))
            continue;
        rc = rc || s_pack_key (&pk, s_attrs [index].name, strlen (s_attrs [index].name))
                || msgpack_pack_str_with_body (&pk, attr->ptr, attr->len);
    }
    for (size_t index = 0; index < self->ext_count && rc == 0; index++) {
        zeb_ext_t *ext = &self->ext [index];
        rc = s_pack_key (&pk, ext->name.ptr, ext->name.len)
          || msgpack_sbuffer_write (buffer, (const char *) ext->value, ext->value_size);
    }
    if (self->data && rc == 0)
        rc = s_pack_key (&pk, "data", 4)
          || msgpack_sbuffer_write (buffer, (const char *) self->data, self->data_size);
    return rc? -1: 0;
}

zeb_str_t
zeb_event_view_dedup_key (zeb_event_view_t *self)
{
    if (self->attr [ZEB_ATTR_IDEMPOTENCYKEY].ptr)
        return self->attr [ZEB_ATTR_IDEMPOTENCYKEY];
    return self->attr [ZEB_ATTR_ID];
}

int
zeb_event_peek_type (const void *data, size_t size, zeb_str_t *type)
{
    zeb_mpk_t reader;
    zeb_mpk_init (&reader, data, size);
    uint32_t count;
    if (zeb_mpk_read_map (&reader, &count))
        return -1;
    for (uint32_t index = 0; index < count; index++) {
        const char *name;
        uint32_t len;
        if (zeb_mpk_read_str (&reader, &name, &len))
            return -1;
        if (S_IS (name, len, "type")) {
            uint32_t type_len;
            if (zeb_mpk_read_str (&reader, &type->ptr, &type_len))
                return -1;
            type->len = type_len;
            return 0;
        }
        if (zeb_mpk_skip (&reader, NULL, NULL))
            return -1;
    }
    return -1;
}

void
zeb_event_patch_sequence (void *encoded, size_t offset, uint64_t sequence)
{
    uint8_t *p = (uint8_t *) encoded + offset;
    for (int index = 7; index >= 0; index--) {
        p [index] = (uint8_t) sequence;
        sequence >>= 8;
    }
}

//  ---------------------------------------------------------------------
//  Owned events

zeb_event_t *
zeb_event_new (const char *type)
{
    zeb_event_t *self = (zeb_event_t *) zmalloc (sizeof (zeb_event_t));
    if (self && type && zeb_event_set_attr (self, ZEB_ATTR_TYPE, type))
        zeb_event_destroy (&self);
    return self;
}

void
zeb_event_destroy (zeb_event_t **self_p)
{
    assert (self_p);
    zeb_event_t *self = *self_p;
    if (self) {
        free (self->arena);
        for (int index = 0; index < ZEB_ATTR_COUNT; index++)
            free (self->owned [index]);
        free (self->data);
        for (int index = 0; index < ZEB_EVENT_MAX_EXTENSIONS; index++)
            free (self->ext_owned [index]);
        free (self);
        *self_p = NULL;
    }
}

zeb_event_t *
zeb_event_decode (const void *data, size_t size, zeb_fault_t *fault)
{
    zeb_event_view_t view;
    if (zeb_event_view_decode (&view, data, size, fault))
        return NULL;
    //  One arena: a copy of the input, then null-terminated copies of the
    //  string attributes and extension names
    size_t total = size;
    for (int index = 0; index < ZEB_ATTR_COUNT; index++)
        if (view.attr [index].ptr)
            total += view.attr [index].len + 1;
    for (size_t index = 0; index < view.ext_count; index++)
        total += view.ext [index].name.len + 1;
    zeb_event_t *self = (zeb_event_t *) zmalloc (sizeof (zeb_event_t));
    uint8_t *arena = self? (uint8_t *) malloc (total + 1): NULL;
    if (!arena) {
        free (self);
        zeb_fault_set (fault, ZEB_ERROR, "out of memory");
        return NULL;
    }
    memcpy (arena, data, size);
    const uint8_t *base = (const uint8_t *) data;
    char *tail = (char *) arena + size;
    self->view = view;
    self->arena = arena;
    for (int index = 0; index < ZEB_ATTR_COUNT; index++) {
        zeb_str_t *attr = &self->view.attr [index];
        if (attr->ptr) {
            memcpy (tail, attr->ptr, attr->len);
            tail [attr->len] = 0;
            attr->ptr = tail;
            tail += attr->len + 1;
        }
    }
    for (size_t index = 0; index < view.ext_count; index++) {
        zeb_ext_t *ext = &self->view.ext [index];
        memcpy (tail, ext->name.ptr, ext->name.len);
        tail [ext->name.len] = 0;
        ext->name.ptr = tail;
        tail += ext->name.len + 1;
        ext->value = arena + (ext->value - base);
    }
    if (view.data)
        self->view.data = arena + (view.data - base);
    return self;
}

zeb_event_t *
zeb_event_dup (zeb_event_t *self)
{
    assert (self);
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    zeb_event_t *copy = NULL;
    if (zeb_event_view_encode (&self->view, &buffer, NULL) == 0)
        copy = zeb_event_decode (buffer.data, buffer.size, NULL);
    msgpack_sbuffer_destroy (&buffer);
    return copy;
}

int
zeb_event_validate (zeb_event_t *self, zeb_fault_t *fault)
{
    assert (self);
    //  What decode checks, for what setters put in: UTF-8 and data depth
    zeb_event_view_t *view = &self->view;
    for (int index = 0; index < ZEB_ATTR_COUNT; index++) {
        const char *name = s_attrs [index].name;
        int rc = view->attr [index].ptr
               ? s_check_utf8 (view->attr [index].ptr, view->attr [index].len, name, strlen (name), fault)
               : 0;
        if (rc)
            return rc;
    }
    for (size_t index = 0; index < view->ext_count; index++) {
        zeb_ext_t *ext = &view->ext [index];
        zeb_mpk_t reader;
        zeb_mpk_init (&reader, ext->value, ext->value_size);
        const char *text;
        uint32_t len;
        int rc = zeb_mpk_read_str (&reader, &text, &len) == 0
               ? s_check_utf8 (text, len, ext->name.ptr, ext->name.len, fault): 0;
        if (rc)
            return rc;
    }
    if (view->data) {
        zeb_mpk_t reader;
        zeb_mpk_init (&reader, view->data, view->data_size);
        int rc = s_check_data (&reader, ZEB_EVENT_DEFAULT_MAX_DEPTH, NULL, NULL, fault);
        if (rc)
            return rc;
    }
    return zeb_event_view_validate (view, fault);
}

int
zeb_event_encode (zeb_event_t *self, msgpack_sbuffer *buffer)
{
    assert (self);
    return zeb_event_view_encode (&self->view, buffer, NULL);
}

zeb_event_view_t *
zeb_event_view (zeb_event_t *self)
{
    assert (self);
    return &self->view;
}

const char *
zeb_event_attr (zeb_event_t *self, zeb_attr_t attr)
{
    assert (self);
    assert (attr < ZEB_ATTR_COUNT);
    return self->view.attr [attr].ptr;
}

const char *
zeb_event_id (zeb_event_t *self)
{
    return zeb_event_attr (self, ZEB_ATTR_ID);
}

const char *
zeb_event_type (zeb_event_t *self)
{
    return zeb_event_attr (self, ZEB_ATTR_TYPE);
}

const char *
zeb_event_source (zeb_event_t *self)
{
    return zeb_event_attr (self, ZEB_ATTR_SOURCE);
}

const char *
zeb_event_subject (zeb_event_t *self)
{
    return zeb_event_attr (self, ZEB_ATTR_SUBJECT);
}

const char *
zeb_event_channel (zeb_event_t *self)
{
    const char *channel = zeb_event_attr (self, ZEB_ATTR_CHANNEL);
    return channel? channel: zeb_event_type (self);
}

int
zeb_event_set_attr (zeb_event_t *self, zeb_attr_t attr, const char *value)
{
    assert (self);
    assert (attr < ZEB_ATTR_COUNT);
    char *copy = NULL;
    if (value && !(copy = strdup (value)))
        return -1;
    free (self->owned [attr]);
    self->owned [attr] = copy;
    self->view.attr [attr].ptr = copy;
    self->view.attr [attr].len = copy? strlen (copy): 0;
    return 0;
}

//  Index of an extension by name, or -1
static int
s_ext_find (zeb_event_t *self, const char *name)
{
    size_t len = strlen (name);
    for (size_t index = 0; index < self->view.ext_count; index++)
        if (self->view.ext [index].name.len == len
        &&  memcmp (self->view.ext [index].name.ptr, name, len) == 0)
            return (int) index;
    return -1;
}

//  Store an extension (value = msgpack bytes, or NULL to remove).
static int
s_ext_store (zeb_event_t *self, const char *name, const void *value, size_t value_size)
{
    if (!s_valid_ext_name (name, strlen (name)))
        return ZEB_EEXTENSION;
    int found = s_ext_find (self, name);
    if (!value) {
        if (found >= 0) {
            //  Remove: move the last extension (and its storage) into the hole
            size_t last = self->view.ext_count - 1;
            free (self->ext_owned [found]);
            self->view.ext [found] = self->view.ext [last];
            self->ext_owned [found] = self->ext_owned [last];
            self->ext_owned [last] = NULL;
            self->view.ext_count--;
        }
        return 0;
    }
    if (found < 0 && self->view.ext_count == ZEB_EVENT_MAX_EXTENSIONS)
        return ZEB_EEXTENSION;
    size_t name_len = strlen (name);
    uint8_t *storage = (uint8_t *) malloc (name_len + 1 + value_size);
    if (!storage)
        return -1;
    memcpy (storage, name, name_len + 1);
    memcpy (storage + name_len + 1, value, value_size);
    size_t slot = found >= 0? (size_t) found: self->view.ext_count++;
    free (self->ext_owned [slot]);
    self->ext_owned [slot] = storage;
    self->view.ext [slot].name.ptr = (const char *) storage;
    self->view.ext [slot].name.len = name_len;
    self->view.ext [slot].value = storage + name_len + 1;
    self->view.ext [slot].value_size = value_size;
    return 0;
}

//  Pack one scalar into a small buffer and store it as an extension
static int
s_ext_store_packed (zeb_event_t *self, const char *name, int kind, int64_t number, const char *text)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    if (kind == 's')
        msgpack_pack_str_with_body (&pk, text, strlen (text));
    else
    if (kind == 'b')
        number? msgpack_pack_true (&pk): msgpack_pack_false (&pk);
    else
        msgpack_pack_int64 (&pk, number);
    int rc = s_ext_store (self, name, buffer.data, buffer.size);
    msgpack_sbuffer_destroy (&buffer);
    return rc;
}

int
zeb_event_set (zeb_event_t *self, const char *name, const char *value)
{
    assert (self);
    assert (name);
    int attr = zeb_attr_lookup (name, strlen (name));
    if (attr >= 0)
        return zeb_event_set_attr (self, (zeb_attr_t) attr, value);
    if (!value)
        return s_ext_store (self, name, NULL, 0);
    return s_ext_store_packed (self, name, 's', 0, value);
}

int
zeb_event_set_ext_int (zeb_event_t *self, const char *name, int64_t value)
{
    assert (self);
    return s_ext_store_packed (self, name, 'i', value, NULL);
}

int
zeb_event_set_ext_bool (zeb_event_t *self, const char *name, bool value)
{
    assert (self);
    return s_ext_store_packed (self, name, 'b', value, NULL);
}

char *
zeb_event_ext (zeb_event_t *self, const char *name)
{
    assert (self);
    int found = s_ext_find (self, name);
    if (found < 0)
        return NULL;
    zeb_mpk_t reader;
    zeb_mpk_init (&reader, self->view.ext [found].value, self->view.ext [found].value_size);
    const char *str;
    uint32_t len;
    int64_t number;
    uint64_t unumber;
    bool flag;
    if (zeb_mpk_read_str (&reader, &str, &len) == 0)
        return strndup (str, len);
    if (zeb_mpk_read_int (&reader, &number) == 0)
        return zsys_sprintf ("%lld", (long long) number);
    if (zeb_mpk_read_uint (&reader, &unumber) == 0)
        return zsys_sprintf ("%llu", (unsigned long long) unumber);
    if (zeb_mpk_read_bool (&reader, &flag) == 0)
        return strdup (flag? "true": "false");
    const uint8_t *bin;
    if (zeb_mpk_read_bin (&reader, &bin, &len) == 0)
        return zeb_json_base64 (bin, len);
    return NULL;
}

int64_t
zeb_event_time (zeb_event_t *self)
{
    assert (self);
    return self->view.has_time? self->view.time: 0;
}

void
zeb_event_set_time (zeb_event_t *self, int64_t time_ms)
{
    assert (self);
    self->view.time = time_ms;
    self->view.has_time = true;
}

uint64_t
zeb_event_sequence (zeb_event_t *self)
{
    assert (self);
    return self->view.sequence;
}

const uint8_t *
zeb_event_data (zeb_event_t *self, size_t *size)
{
    assert (self);
    if (size)
        *size = self->view.data_size;
    return self->view.data;
}

int
zeb_event_set_data (zeb_event_t *self, const void *data, size_t size)
{
    assert (self);
    zeb_mpk_t reader;
    zeb_mpk_init (&reader, data, size);
    if (zeb_mpk_skip (&reader, NULL, NULL) || !zeb_mpk_done (&reader))
        return ZEB_EMALFORMED;
    uint8_t *copy = (uint8_t *) malloc (size);
    if (!copy)
        return -1;
    memcpy (copy, data, size);
    free (self->data);
    self->data = copy;
    self->view.data = copy;
    self->view.data_size = size;
    return 0;
}

int
zeb_event_set_data_json (zeb_event_t *self, const char *json, zeb_fault_t *fault)
{
    assert (self);
    json_t *value = zeb_json_parse (json, strlen (json), fault);
    if (!value)
        return ZEB_EMALFORMED;
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    int rc = zeb_json_to_msgpack (value, &pk)
           ? zeb_fault_set (fault, ZEB_EMALFORMED, "JSON nested too deeply")
           : zeb_event_set_data (self, buffer.data, buffer.size);
    msgpack_sbuffer_destroy (&buffer);
    json_decref (value);
    return rc;
}

char *
zeb_event_data_json (zeb_event_t *self)
{
    assert (self);
    if (!self->view.data)
        return NULL;
    json_t *json = zeb_json_from_msgpack (self->view.data, self->view.data_size, NULL);
    if (!json)
        return NULL;
    char *text = zeb_json_dumps (json);
    json_decref (json);
    return text;
}

//  ---------------------------------------------------------------------
//  CloudEvents structured JSON

char *
zeb_event_to_json (zeb_event_t *self)
{
    assert (self);
    zeb_event_view_t *view = &self->view;
    json_t *object = json_object ();
    if (!object)
        return NULL;
    json_object_set_new (object, "specversion",
                         json_string (view->attr [ZEB_ATTR_SPECVERSION].ptr
                                      ? view->attr [ZEB_ATTR_SPECVERSION].ptr: "1.0"));
    for (int index = 0; index < ZEB_ATTR_COUNT; index++) {
        if (index == ZEB_ATTR_SPECVERSION || !view->attr [index].ptr)
            continue;
        json_t *value = json_stringn (view->attr [index].ptr, view->attr [index].len);
        json_object_set_new (object, s_attrs [index].name, value? value: json_string ("\xef\xbf\xbd"));
        if (index == ZEB_ATTR_SOURCE) {
            if (view->has_time) {
                char text [ZEB_TIME_STRLEN];
                json_object_set_new (object, "time", json_string (zeb_time_format (view->time, text)));
            }
            if (view->sequence)
                json_object_set_new (object, "sequence", json_integer ((json_int_t) view->sequence));
        }
    }
    for (size_t index = 0; index < view->ext_count; index++) {
        zeb_ext_t *ext = &view->ext [index];
        json_t *value = zeb_json_from_msgpack (ext->value, ext->value_size, NULL);
        if (!value) {
            json_decref (object);
            return NULL;            //  never print a wrong value
        }
        json_object_setn_new (object, ext->name.ptr, ext->name.len, value);
    }
    if (view->data) {
        zeb_mpk_t reader;
        zeb_mpk_init (&reader, view->data, view->data_size);
        const uint8_t *bin;
        uint32_t len;
        if (zeb_mpk_read_bin (&reader, &bin, &len) == 0) {
            char *text = zeb_json_base64 (bin, len);
            json_object_set_new (object, "data_base64", json_string (text? text: ""));
            free (text);
        }
        else {
            json_t *data = zeb_json_from_msgpack (view->data, view->data_size, NULL);
            if (!data) {
                json_decref (object);
                return NULL;        //  JSON cannot carry it: say so, not null
            }
            json_object_set_new (object, "data", data);
        }
    }
    char *text = zeb_json_dumps (object);
    json_decref (object);
    return text;
}

//  Pack one JSON attribute of a structured event into the map being built
static int
s_pack_json_attr (msgpack_packer *pk, const char *key, size_t key_len, json_t *value,
                  zeb_fault_t *fault)
{
    int attr = zeb_attr_lookup (key, key_len);
    if (attr >= 0) {
        if (!json_is_string (value))
            return zeb_fault_set (fault, ZEB_EINVALID, "attribute '%s' must be a string", key);
        return msgpack_pack_str_with_body (pk, key, key_len)
            || msgpack_pack_str_with_body (pk, json_string_value (value), json_string_length (value));
    }
    if (S_IS (key, key_len, "time")) {
        int64_t time_ms;
        if (json_is_integer (value))
            time_ms = json_integer_value (value);
        else
        if (!json_is_string (value)
        ||  zeb_time_parse (json_string_value (value), json_string_length (value), &time_ms))
            return zeb_fault_set (fault, ZEB_EINVALID, "attribute 'time' is not RFC 3339 text");
        return msgpack_pack_str_with_body (pk, "time", 4) || msgpack_pack_int64 (pk, time_ms);
    }
    if (S_IS (key, key_len, "sequence")) {
        //  CloudEvents' sequence extension is a string; zeb writes a number
        json_int_t sequence = -1;
        if (json_is_integer (value))
            sequence = json_integer_value (value);
        else
        if (json_is_string (value)) {
            char *end;
            sequence = strtoll (json_string_value (value), &end, 10);
            if (*end || end == json_string_value (value))
                sequence = -1;
        }
        if (sequence < 0)
            return zeb_fault_set (fault, ZEB_EINVALID, "attribute 'sequence' must be a non-negative integer");
        return msgpack_pack_str_with_body (pk, "sequence", 8) || msgpack_pack_uint64 (pk, (uint64_t) sequence);
    }
    if (S_IS (key, key_len, "data"))
        return msgpack_pack_str_with_body (pk, "data", 4) || zeb_json_to_msgpack (value, pk)
             ? zeb_fault_set (fault, ZEB_EMALFORMED, "data nested too deeply"): 0;
    if (S_IS (key, key_len, "data_base64")) {
        uint8_t *bytes;
        size_t size;
        if (!json_is_string (value)
        ||  zeb_json_unbase64 (json_string_value (value), json_string_length (value), &bytes, &size))
            return zeb_fault_set (fault, ZEB_EINVALID, "data_base64 is not base64 text");
        int rc = msgpack_pack_str_with_body (pk, "data", 4)
              || msgpack_pack_bin_with_body (pk, bytes, size);
        free (bytes);
        return rc;
    }
    //  Extensions: strings, integers, booleans (decode checks the name)
    if (!json_is_string (value) && !json_is_integer (value) && !json_is_boolean (value))
        return zeb_fault_set (fault, ZEB_EEXTENSION,
                              "extension '%s' must be a string, integer or boolean", key);
    return msgpack_pack_str_with_body (pk, key, key_len) || zeb_json_to_msgpack (value, pk);
}

zeb_event_t *
zeb_event_from_json (const char *text, size_t len, zeb_fault_t *fault)
{
    json_t *object = zeb_json_parse (text, len, fault);
    if (!object)
        return NULL;
    zeb_event_t *self = NULL;
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    if (!json_is_object (object)) {
        zeb_fault_set (fault, ZEB_EMALFORMED, "a structured event must be a JSON object");
        goto cleanup;
    }
    if (json_object_get (object, "data") && json_object_get (object, "data_base64")) {
        zeb_fault_set (fault, ZEB_EINVALID, "an event has either data or data_base64, not both");
        goto cleanup;
    }
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    size_t count = 0;
    const char *key;
    json_t *value;
    json_object_foreach (object, key, value)
        count += !json_is_null (value);
    msgpack_pack_map (&pk, count);
    void *iter = json_object_iter (object);
    while (iter) {
        key = json_object_iter_key (iter);
        value = json_object_iter_value (iter);
        if (!json_is_null (value)
        &&  s_pack_json_attr (&pk, key, json_object_iter_key_len (iter), value, fault) != 0) {
            if (fault && fault->code == 0)
                zeb_fault_set (fault, ZEB_ERROR, "out of memory");
            goto cleanup;
        }
        iter = json_object_iter_next (object, iter);
    }
    self = zeb_event_decode (buffer.data, buffer.size, fault);
cleanup:
    msgpack_sbuffer_destroy (&buffer);
    json_decref (object);
    return self;
}

//  ---------------------------------------------------------------------
//  Self test

//  An event of type a.b from source s with one more string attribute
//  (replacing type or source if it is one), and data if given
static void
s_test_pack (msgpack_sbuffer *buffer, const char *name, const char *value, size_t value_len,
             const void *data, size_t data_size)
{
    msgpack_sbuffer_clear (buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, buffer, msgpack_sbuffer_write);
    bool is_type = streq (name, "type"), is_source = streq (name, "source");
    msgpack_pack_map (&pk, 3 - is_type - is_source + (data != NULL));
    if (!is_type) {
        msgpack_pack_str_with_body (&pk, "type", 4);
        msgpack_pack_str_with_body (&pk, "a.b", 3);
    }
    if (!is_source) {
        msgpack_pack_str_with_body (&pk, "source", 6);
        msgpack_pack_str_with_body (&pk, "s", 1);
    }
    msgpack_pack_str_with_body (&pk, name, strlen (name));
    msgpack_pack_str_with_body (&pk, value, value_len);
    if (data) {
        msgpack_pack_str_with_body (&pk, "data", 4);
        msgpack_sbuffer_write (buffer, (const char *) data, data_size);
    }
}

//  depth arrays nested in each other around a nil; caller frees
static uint8_t *
s_test_nested (size_t depth, size_t *size)
{
    uint8_t *bytes = (uint8_t *) malloc (depth + 1);
    assert (bytes);
    memset (bytes, 0x91, depth);
    bytes [depth] = 0xc0;
    *size = depth + 1;
    return bytes;
}

static void
s_test_utf8_and_depth (void)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    zeb_event_view_t view;
    zeb_fault_t fault;
    //  Invalid UTF-8 in each string attribute, and in an extension, is
    //  refused naming it; so are overlong forms and surrogates
    const char *invalid [] = {
        "\xc3\x28", "ok\xff", "\xc0\xaf", "\xe0\x80\xaf", "\xf0\x82\x82\xac",
        "\xed\xa0\x80", "\xed\xbf\xbf", "\xf4\x90\x80\x80", "\xe2\x82"
    };
    for (int attr = 0; attr <= ZEB_ATTR_COUNT; attr++) {
        const char *name = attr < ZEB_ATTR_COUNT? s_attrs [attr].name: "region";
        for (size_t index = 0; index < sizeof (invalid) / sizeof (invalid [0]); index++) {
            s_test_pack (&buffer, name, invalid [index], strlen (invalid [index]), NULL, 0);
            memset (&fault, 0, sizeof (fault));
            assert (zeb_event_view_decode (&view, buffer.data, buffer.size, &fault) == ZEB_EINVALID);
            assert (strstr (fault.text, name) && strstr (fault.text, "UTF-8"));
            assert (zeb_event_decode (buffer.data, buffer.size, NULL) == NULL);
        }
    }
    //  Well-formed multi-byte UTF-8 is accepted: 2, 3 and 4 bytes
    const char *text = "Gr\xc3\xb6\xc3\x9f" "e \xe2\x82\xac \xf0\x9d\x84\x9e \xf4\x8f\xbf\xbf";
    const char *names [] = { "subject", "source", "tenantid", "actorid", "region" };
    for (size_t index = 0; index < sizeof (names) / sizeof (names [0]); index++) {
        s_test_pack (&buffer, names [index], text, strlen (text), NULL, 0);
        assert (zeb_event_view_decode (&view, buffer.data, buffer.size, &fault) == 0);
        assert (zeb_event_view_validate (&view, &fault) == 0);
    }
    //  A binary extension is bytes, not text
    msgpack_sbuffer_clear (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 1);
    msgpack_pack_str_with_body (&pk, "blob", 4);
    msgpack_pack_bin_with_body (&pk, "\xff\xfe", 2);
    assert (zeb_event_view_decode (&view, buffer.data, buffer.size, &fault) == 0);

    //  Data nesting: 64 levels accepted, 65 refused, and 10,000 and
    //  100,000 refused without deep recursion
    const size_t depths [] = { 64, 65, 10000, 100000 };
    for (size_t index = 0; index < sizeof (depths) / sizeof (depths [0]); index++) {
        size_t size;
        uint8_t *data = s_test_nested (depths [index], &size);
        s_test_pack (&buffer, "subject", "x", 1, data, size);
        int rc = zeb_event_view_decode (&view, buffer.data, buffer.size, &fault);
        if (depths [index] <= ZEB_EVENT_DEFAULT_MAX_DEPTH) {
            assert (rc == 0 && view.data_size == size);
            assert (zeb_event_view_validate (&view, &fault) == 0);
        }
        else {
            assert (rc == ZEB_EINVALID);
            assert (streq (fault.text, "data nests deeper than 64 levels"));
            assert (zeb_event_decode (buffer.data, buffer.size, NULL) == NULL);
        }
        free (data);
    }
    //  Another limit, given to the decoder
    size_t size;
    uint8_t *data = s_test_nested (65, &size);
    s_test_pack (&buffer, "subject", "x", 1, data, size);
    assert (zeb_event_view_decode_limited (&view, buffer.data, buffer.size, 65, &fault) == 0);
    assert (zeb_event_view_decode_limited (&view, buffer.data, buffer.size, 10, &fault) == ZEB_EINVALID);
    assert (streq (fault.text, "data nests deeper than 10 levels"));
    assert (zeb_event_view_decode_limited (&view, buffer.data, buffer.size, SIZE_MAX, &fault) == 0);
    s_test_pack (&buffer, "subject", "x", 1, "\x07", 1);
    assert (zeb_event_view_decode_limited (&view, buffer.data, buffer.size, 0, &fault) == 0);
    s_test_pack (&buffer, "subject", "x", 1, "\x90", 1);
    assert (zeb_event_view_decode_limited (&view, buffer.data, buffer.size, 0, &fault) == ZEB_EINVALID);
    //  Truncated data within the limit is malformed
    s_test_pack (&buffer, "subject", "x", 1, data + 1, size - 2);
    assert (zeb_event_view_decode (&view, buffer.data, buffer.size, &fault) == ZEB_EMALFORMED);

    //  What setters put in is checked by zeb_event_validate
    zeb_event_t *event = zeb_event_new ("a.b");
    zeb_event_set (event, "source", "s");
    assert (zeb_event_validate (event, &fault) == 0);
    assert (zeb_event_set_data (event, data, size) == 0);
    assert (zeb_event_validate (event, &fault) == ZEB_EINVALID);
    assert (strstr (fault.text, "deeper than 64"));
    assert (zeb_event_set_data (event, data + 1, size - 1) == 0);     //  64 levels
    assert (zeb_event_validate (event, &fault) == 0);
    zeb_event_set (event, "tenantid", "acme\xed\xa0\x80");
    assert (zeb_event_validate (event, &fault) == ZEB_EINVALID);
    assert (strstr (fault.text, "'tenantid'"));
    zeb_event_set (event, "tenantid", "acm\xc3\xa9");
    zeb_event_set (event, "region", "\xc0\x80");
    assert (zeb_event_validate (event, &fault) == ZEB_EINVALID);
    assert (strstr (fault.text, "'region'"));
    zeb_event_set (event, "region", "eu");
    assert (zeb_event_validate (event, &fault) == 0);
    zeb_event_destroy (&event);
    free (data);
    msgpack_sbuffer_destroy (&buffer);
}

void
zeb_event_test (bool verbose)
{
    printf (" * zeb_event: ");
    zeb_fault_t fault;

    //  Build an event with every kind of attribute
    zeb_event_t *event = zeb_event_new ("order.placed");
    assert (event);
    assert (zeb_event_validate (event, &fault) == ZEB_EMISSING);
    assert (strstr (fault.text, "source"));
    zeb_event_set (event, "source", "shop");
    zeb_event_set (event, "subject", "Order:42");
    zeb_event_set (event, "idempotencykey", "order-42");
    zeb_event_set (event, "tenantid", "acme");
    zeb_event_set (event, "traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    zeb_event_set (event, "region", "eu");
    zeb_event_set_ext_int (event, "priority", 5);
    zeb_event_set_ext_bool (event, "urgent", true);
    assert (zeb_event_set (event, "Bad_Name", "x") == ZEB_EEXTENSION);
    zeb_event_set_time (event, 1795333016123LL);
    assert (zeb_event_set_data_json (event, "{\"total\":99.5,\"items\":[{\"sku\":\"A1\"}]}", &fault) == 0);
    assert (zeb_event_validate (event, &fault) == 0);
    assert (streq (zeb_event_channel (event), "order.placed"));

    //  msgpack round trip
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    assert (zeb_event_encode (event, &buffer) == 0);
    zeb_event_t *copy = zeb_event_decode (buffer.data, buffer.size, &fault);
    assert (copy);
    assert (streq (zeb_event_type (copy), "order.placed"));
    assert (streq (zeb_event_source (copy), "shop"));
    assert (streq (zeb_event_subject (copy), "Order:42"));
    assert (streq (zeb_event_attr (copy, ZEB_ATTR_TENANTID), "acme"));
    assert (zeb_event_time (copy) == 1795333016123LL);
    char *text = zeb_event_ext (copy, "region");
    assert (streq (text, "eu"));
    free (text);
    text = zeb_event_ext (copy, "priority");
    assert (streq (text, "5"));
    free (text);
    text = zeb_event_ext (copy, "urgent");
    assert (streq (text, "true"));
    free (text);
    text = zeb_event_data_json (copy);
    assert (streq (text, "{\"total\":99.5,\"items\":[{\"sku\":\"A1\"}]}"));
    free (text);
    zeb_str_t key = zeb_event_view_dedup_key (zeb_event_view (copy));
    assert (key.len == 8 && memcmp (key.ptr, "order-42", 8) == 0);
    zeb_str_t type;
    assert (zeb_event_peek_type (buffer.data, buffer.size, &type) == 0);
    assert (type.len == 12 && memcmp (type.ptr, "order.placed", 12) == 0);

    //  Setters on a decoded event replace arena strings; removal works
    zeb_event_set (copy, "subject", "Order:43");
    zeb_event_set (copy, "region", NULL);
    assert (zeb_event_ext (copy, "region") == NULL);
    assert (streq (zeb_event_subject (copy), "Order:43"));
    zeb_event_t *dup = zeb_event_dup (copy);
    assert (dup && streq (zeb_event_subject (dup), "Order:43"));
    zeb_event_destroy (&dup);
    zeb_event_destroy (&copy);
    assert (copy == NULL);
    zeb_event_destroy (&copy);          //  safe twice

    //  Canonical encoding with a patchable sequence
    msgpack_sbuffer_clear (&buffer);
    size_t offset = 0;
    assert (zeb_event_view_encode (zeb_event_view (event), &buffer, &offset) == 0);
    zeb_event_patch_sequence (buffer.data, offset, 123456789);
    copy = zeb_event_decode (buffer.data, buffer.size, &fault);
    assert (copy && zeb_event_sequence (copy) == 123456789);
    //  The stored form carries the channel's default; the view stays as it was
    assert (streq (zeb_event_attr (copy, ZEB_ATTR_CHANNEL), "order.placed"));
    assert (zeb_event_attr (event, ZEB_ATTR_CHANNEL) == NULL);
    dup = zeb_event_dup (event);
    assert (dup && zeb_event_attr (dup, ZEB_ATTR_CHANNEL) == NULL);
    zeb_event_destroy (&dup);
    zeb_event_set (event, "channel", "orders");
    msgpack_sbuffer_clear (&buffer);
    assert (zeb_event_view_encode (zeb_event_view (event), &buffer, &offset) == 0);
    dup = zeb_event_decode (buffer.data, buffer.size, &fault);
    assert (dup && streq (zeb_event_attr (dup, ZEB_ATTR_CHANNEL), "orders"));
    zeb_event_destroy (&dup);
    zeb_event_set (event, "channel", NULL);

    //  JSON round trip
    char *json = zeb_event_to_json (copy);
    assert (strstr (json, "\"specversion\":\"1.0\""));
    assert (strstr (json, "\"time\":\"2026-11-22T07:36:56.123Z\""));
    assert (strstr (json, "\"sequence\":123456789"));
    zeb_event_t *parsed = zeb_event_from_json (json, strlen (json), &fault);
    assert (parsed);
    char *json2 = zeb_event_to_json (parsed);
    assert (streq (json, json2));
    free (json);
    free (json2);
    zeb_event_destroy (&parsed);
    zeb_event_destroy (&copy);

    //  JSON cannot carry a map with a boolean key: no JSON at all, not null
    const uint8_t bool_key [] = { 0x83, 0xa4, 't', 'y', 'p', 'e', 0xa3, 'a', '.', 'b',
                                  0xa6, 's', 'o', 'u', 'r', 'c', 'e', 0xa1, 's',
                                  0xa4, 'd', 'a', 't', 'a', 0x81, 0xc3, 0x02 };
    zeb_event_t *unprintable = zeb_event_decode (bool_key, sizeof (bool_key), NULL);
    assert (unprintable);
    assert (zeb_event_to_json (unprintable) == NULL);
    zeb_event_destroy (&unprintable);

    //  JSON: binary data, errors with reasons
    const char *bin_json = "{\"type\":\"file.uploaded\",\"source\":\"s3\",\"data_base64\":\"AAH+/w==\"}";
    parsed = zeb_event_from_json (bin_json, strlen (bin_json), &fault);
    assert (parsed);
    size_t data_size;
    const uint8_t *data = zeb_event_data (parsed, &data_size);
    assert (data && data_size == 6 && data [0] == 0xc4 && data [5] == 0xff);
    json = zeb_event_to_json (parsed);
    assert (strstr (json, "\"data_base64\":\"AAH+/w==\""));
    free (json);
    zeb_event_destroy (&parsed);
    const char *bad_json [] = {
        "[1,2]", "{\"type\":5,\"source\":\"x\"}", "{\"type\":\"a.b\",\"time\":\"noon\"}",
        "{\"type\":\"a.b\",\"Bad-Ext\":\"x\"}", "{\"type\":\"a.b\",\"ext\":{\"nested\":1}}",
        "{\"type\":\"a.b\",\"data\":1,\"data_base64\":\"AA==\"}", "{\"type\":"
    };
    for (size_t index = 0; index < sizeof (bad_json) / sizeof (bad_json [0]); index++) {
        memset (&fault, 0, sizeof (fault));
        assert (zeb_event_from_json (bad_json [index], strlen (bad_json [index]), &fault) == NULL);
        assert (fault.code != 0 && fault.text [0]);
    }

    //  Validation: each rule with its code
    struct { const char *json; int code; } cases [] = {
        { "{\"source\":\"s\"}", ZEB_EMISSING },
        { "{\"type\":\"\",\"source\":\"s\"}", ZEB_EMISSING },
        { "{\"type\":\"a b\",\"source\":\"s\"}", ZEB_EINVALID },
        { "{\"type\":\"order\",\"source\":\"s\"}", ZEB_EINVALID },
        { "{\"type\":\"order.\",\"source\":\"s\"}", ZEB_EINVALID },
        { "{\"type\":\"order/placed.v1\",\"source\":\"s\"}", ZEB_EINVALID },
        { "{\"type\":\"a.b\",\"source\":\"s\",\"specversion\":\"0.3\"}", ZEB_EINVALID },
        { "{\"type\":\"a.b\",\"source\":\"s\",\"id\":\"\"}", ZEB_EINVALID },
        { "{\"type\":\"a.b\",\"source\":\"s\",\"region\":\"\"}", ZEB_EINVALID },
        { "{\"type\":\"a.b\",\"source\":\"s\",\"time\":-62167219200001}", ZEB_EINVALID },
        { "{\"type\":\"a.b\",\"source\":\"s\",\"time\":-62167219200000}", 0 },
        { "{\"type\":\"a.b\",\"source\":\"s\",\"time\":253402300799999}", 0 },
        { "{\"type\":\"a.b\",\"source\":\"s\",\"time\":253402300800000}", ZEB_EINVALID },
        { "{\"type\":\"a.b\",\"source\":\"s\",\"traceparent\":\"00-abc\"}", ZEB_EINVALID },
        { "{\"type\":\"a.b\",\"source\":\"s\",\"traceparent\":"
          "\"00-00000000000000000000000000000000-00f067aa0ba902b7-01\"}", ZEB_EINVALID },
        { "{\"type\":\"a.b\",\"source\":\"s\",\"channel\":\"x y\"}", ZEB_EINVALID },
        { "{\"type\":\"a.b\",\"source\":\"s\",\"channel\":\"orders\"}", 0 },
        { "{\"type\":\"billing:invoice.paid\",\"source\":\"s\"}", 0 },
        { "{\"type\":\"order.placed\",\"source\":\"s\",\"specversion\":\"1.0\"}", 0 }
    };
    for (size_t index = 0; index < sizeof (cases) / sizeof (cases [0]); index++) {
        parsed = zeb_event_from_json (cases [index].json, strlen (cases [index].json), &fault);
        assert (parsed);
        assert (zeb_event_validate (parsed, &fault) == cases [index].code);
        zeb_event_destroy (&parsed);
    }
    //  The type rule, which the registry shares
    const char *valid_types [] = {
        "order.placed", "billing:invoice.paid", "custom.webhook.github", "a.b",
        "user.signedUp", "my_module-2:order_v2.placed-late", "0.1"
    };
    for (size_t index = 0; index < sizeof (valid_types) / sizeof (valid_types [0]); index++)
        assert (zeb_event_type_valid (valid_types [index], strlen (valid_types [index])));
    const char *invalid_types [] = {
        "", "order", "order.", ".order", "order..placed", ":order.placed", "billing:order",
        "a:b:c.d", "order placed", "order.*", "order/placed", "ordre.pass\xc3\xa9",
        "order.placed\n", "billing:.x"
    };
    for (size_t index = 0; index < sizeof (invalid_types) / sizeof (invalid_types [0]); index++)
        assert (!zeb_event_type_valid (invalid_types [index], strlen (invalid_types [index])));
    assert (!zeb_event_type_valid (NULL, 0));
    assert (!zeb_event_type_valid ("order.placed", 5));        //  "order": len counts
    assert (zeb_event_type_valid ("order.placed\0junk", 12));
    char max_type [ZEB_EVENT_MAX_TYPE + 2];
    memset (max_type, 'a', sizeof (max_type));
    max_type [1] = '.';
    assert (zeb_event_type_valid (max_type, ZEB_EVENT_MAX_TYPE));
    assert (!zeb_event_type_valid (max_type, ZEB_EVENT_MAX_TYPE + 1));
    parsed = zeb_event_from_json ("{\"type\":\"order\",\"source\":\"s\"}", 29, &fault);
    assert (parsed && zeb_event_validate (parsed, &fault) == ZEB_EINVALID);
    assert (strstr (fault.text, "'type'") && strstr (fault.text, "resource.action"));
    zeb_event_destroy (&parsed);

    char long_type [300];
    memset (long_type, 'a', sizeof (long_type) - 1);
    long_type [sizeof (long_type) - 1] = 0;
    parsed = zeb_event_new (long_type);
    zeb_event_set (parsed, "source", "s");
    assert (zeb_event_validate (parsed, &fault) == ZEB_ETOOLONG);
    assert (strstr (fault.text, "'type'"));
    zeb_event_destroy (&parsed);

    //  Decode refuses malformed input with the right codes
    zeb_event_view_t view;
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    msgpack_sbuffer_clear (&buffer);
    msgpack_pack_array (&pk, 0);
    assert (zeb_event_view_decode (&view, buffer.data, buffer.size, &fault) == ZEB_EMALFORMED);
    msgpack_sbuffer_clear (&buffer);
    msgpack_pack_map (&pk, 1);
    msgpack_pack_str_with_body (&pk, "type", 4);
    msgpack_pack_int (&pk, 3);
    assert (zeb_event_view_decode (&view, buffer.data, buffer.size, &fault) == ZEB_EINVALID);
    assert (strstr (fault.text, "'type' must be a string"));
    msgpack_sbuffer_clear (&buffer);
    msgpack_pack_map (&pk, 2);
    msgpack_pack_str_with_body (&pk, "type", 4);
    msgpack_pack_str_with_body (&pk, "a", 1);
    msgpack_pack_str_with_body (&pk, "data", 4);
    msgpack_pack_map (&pk, 3);          //  claims 3 pairs, has none
    assert (zeb_event_view_decode (&view, buffer.data, buffer.size, &fault) == ZEB_EMALFORMED);
    msgpack_sbuffer_clear (&buffer);
    msgpack_pack_map (&pk, 1);
    msgpack_pack_str_with_body (&pk, "myext", 5);
    msgpack_pack_array (&pk, 0);
    assert (zeb_event_view_decode (&view, buffer.data, buffer.size, &fault) == ZEB_EEXTENSION);
    //  Extension strings and binaries: 1024 bytes of payload, not one more
    char ext_value [ZEB_EVENT_MAX_STRING + 1];
    memset (ext_value, 'v', sizeof (ext_value));
    for (int extra = 0; extra <= 1; extra++) {
        msgpack_sbuffer_clear (&buffer);
        msgpack_pack_map (&pk, 2);
        msgpack_pack_str_with_body (&pk, "myext", 5);
        msgpack_pack_str_with_body (&pk, ext_value, ZEB_EVENT_MAX_STRING + extra);
        msgpack_pack_str_with_body (&pk, "mybin", 5);
        msgpack_pack_bin_with_body (&pk, ext_value, ZEB_EVENT_MAX_STRING);
        assert (zeb_event_view_decode (&view, buffer.data, buffer.size, &fault)
                == (extra? ZEB_ETOOLONG: 0));
    }
    //  An empty extension string is refused as an empty attribute is; an
    //  empty binary is a value
    msgpack_sbuffer_clear (&buffer);
    msgpack_pack_map (&pk, 4);
    msgpack_pack_str_with_body (&pk, "type", 4);
    msgpack_pack_str_with_body (&pk, "a.b", 3);
    msgpack_pack_str_with_body (&pk, "source", 6);
    msgpack_pack_str_with_body (&pk, "s", 1);
    msgpack_pack_str_with_body (&pk, "mybin", 5);
    msgpack_pack_bin_with_body (&pk, "", 0);
    msgpack_pack_str_with_body (&pk, "myext", 5);
    msgpack_pack_str_with_body (&pk, "", 0);
    assert (zeb_event_view_decode (&view, buffer.data, buffer.size, &fault) == 0);
    assert (zeb_event_view_validate (&view, &fault) == ZEB_EINVALID);
    assert (streq (fault.text, "extension 'myext' must not be empty"));
    view.ext_count--;
    assert (zeb_event_view_validate (&view, &fault) == 0);
    msgpack_sbuffer_clear (&buffer);
    msgpack_pack_map (&pk, 2);
    msgpack_pack_str_with_body (&pk, "type", 4);
    msgpack_pack_str_with_body (&pk, "a", 1);
    msgpack_pack_str_with_body (&pk, "type", 4);
    msgpack_pack_str_with_body (&pk, "b", 1);
    assert (zeb_event_view_decode (&view, buffer.data, buffer.size, &fault) == ZEB_EINVALID);
    assert (strstr (fault.text, "twice"));
    //  Every truncation of a valid event is refused, never overread
    msgpack_sbuffer_clear (&buffer);
    zeb_event_encode (event, &buffer);
    for (size_t size = 0; size < buffer.size; size++)
        assert (zeb_event_view_decode (&view, buffer.data, size, NULL) != 0);
    assert (zeb_event_view_decode (&view, buffer.data, buffer.size, NULL) == 0);
    msgpack_sbuffer_write (&buffer, "\xc0", 1);
    assert (zeb_event_view_decode (&view, buffer.data, buffer.size, &fault) == ZEB_EMALFORMED);

    //  Too many extensions
    zeb_event_t *many = zeb_event_new ("a.b");
    char name [16];
    for (int index = 0; index < ZEB_EVENT_MAX_EXTENSIONS; index++) {
        snprintf (name, sizeof (name), "ext%d", index);
        assert (zeb_event_set_ext_int (many, name, index) == 0);
    }
    assert (zeb_event_set_ext_int (many, "onemore", 1) == ZEB_EEXTENSION);
    assert (zeb_event_set_ext_int (many, "ext3", 33) == 0);        //  replace is fine
    zeb_event_destroy (&many);

    msgpack_sbuffer_destroy (&buffer);
    zeb_event_destroy (&event);
    s_test_utf8_and_depth ();
    printf ("OK\n");
}
