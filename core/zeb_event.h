/*  =========================================================================
    zeb_event - the event envelope: CloudEvents 1.0 attributes plus zeb's own

    On the wire an event is one msgpack map whose keys are attribute names
    (docs/PROTOCOL.md, "Event"); in JSON it is CloudEvents structured mode.

    Two levels:

    zeb_event_view_t is a plain record of spans into a borrowed msgpack
    buffer. Decoding into a view allocates nothing, so ingest can decode,
    validate and re-encode events at full speed; the buffer must outlive
    the view.

    zeb_event_t is an opaque, owned event for applications: built with
    setters, decoded from msgpack (one allocation for all its fields) or
    parsed from JSON. Its strings are null-terminated and owned by it.

    Limits (checked by zeb_event_view_validate, errors from zeb_error.h):
      type               1..255 bytes, resource.action or
                         module:resource.action (zeb_event_type_valid)
      channel            1..255 bytes, printable ASCII without spaces
      source             1..1024 bytes
      id, idempotencykey 1..255 bytes
      other strings      up to 1024 bytes (traceparent: W3C format)
      extensions         names [a-z0-9]{1,20}, at most 16, values string,
                         integer, boolean or binary (up to 1024 bytes;
                         a string, like every string attribute, not empty)
      every string       well-formed UTF-8 (zeb_mpk_utf8_valid): every
                         string attribute and string extension value
      data               nested at most ZEB_EVENT_DEFAULT_MAX_DEPTH levels
                         (zeb_event_view_decode_limited sets another)
      whole event        max_event_size (node setting, 1 MiB by default)
    UTF-8 and nesting are checked by decode (and by zeb_event_validate for
    what setters put in); the rest by validate.
    =========================================================================
*/

#ifndef ZEB_EVENT_H_INCLUDED
#define ZEB_EVENT_H_INCLUDED

#ifdef __cplusplus
extern "C" {
#endif

//  String attributes, in the order a canonical encoding writes them
typedef enum {
    ZEB_ATTR_ID = 0,
    ZEB_ATTR_TYPE,
    ZEB_ATTR_SOURCE,
    ZEB_ATTR_SPECVERSION,
    ZEB_ATTR_SUBJECT,
    ZEB_ATTR_CHANNEL,
    ZEB_ATTR_IDEMPOTENCYKEY,
    ZEB_ATTR_TRACEPARENT,
    ZEB_ATTR_TRACESTATE,
    ZEB_ATTR_CORRELATIONID,
    ZEB_ATTR_CAUSATIONID,
    ZEB_ATTR_ACTORID,
    ZEB_ATTR_TENANTID,
    ZEB_ATTR_DATACONTENTTYPE,
    ZEB_ATTR_DATASCHEMA,
    ZEB_ATTR_COUNT
} zeb_attr_t;

#define ZEB_EVENT_MAX_EXTENSIONS    16
#define ZEB_EVENT_MAX_TYPE          255
#define ZEB_EVENT_MAX_SOURCE        1024
#define ZEB_EVENT_MAX_ID            255
#define ZEB_EVENT_MAX_STRING        1024
#define ZEB_EVENT_MAX_EXT_NAME      20
#define ZEB_EVENT_DEFAULT_MAX_SIZE  (1024 * 1024)
//  Levels of nesting allowed in data: [] is one level, {"a":[1]} two
#define ZEB_EVENT_DEFAULT_MAX_DEPTH 64

//  A borrowed string: ptr is NULL when the attribute is absent; the bytes
//  are not null-terminated unless the owner says so.
typedef struct {
    const char *ptr;
    size_t len;
} zeb_str_t;

typedef struct {
    zeb_str_t name;
    const uint8_t *value;           //  the value's msgpack encoding
    size_t value_size;
} zeb_ext_t;

typedef struct {
    zeb_str_t attr [ZEB_ATTR_COUNT];
    int64_t time;                   //  ms since epoch, valid if has_time
    bool has_time;
    uint64_t sequence;              //  0 = not assigned
    const uint8_t *data;            //  msgpack of data, NULL if absent
    size_t data_size;
    zeb_ext_t ext [ZEB_EVENT_MAX_EXTENSIONS];
    size_t ext_count;
} zeb_event_view_t;

//  True if name (len bytes, not necessarily null-terminated) is a valid
//  event type, the one rule that ingest and the schema registry share:
//  "resource.action" or "module:resource.action". That is two or more
//  parts separated by dots, each part one or more ASCII letters, digits,
//  '_' or '-'; optionally first a module of the same characters and a
//  ':'; ZEB_EVENT_MAX_TYPE bytes at most. Valid: "order.placed",
//  "billing:invoice.paid", "custom.webhook.github". Not valid: "order",
//  "order..placed", ".order", ":order.placed", "a:b:c.d", "order placed",
//  "ordre.pass\xc3\xa9". False for a NULL name.
bool
    zeb_event_type_valid (const char *name, size_t len);

//  Name of a string attribute ("id", "type"...).
const char *
    zeb_attr_name (zeb_attr_t attr);

//  Attribute for a name, or -1 if it is not a string attribute.
int
    zeb_attr_lookup (const char *name, size_t len);

//  ---------------------------------------------------------------------
//  Views: zero-allocation decode, validate and encode

//  Decode one msgpack map. Unknown keys become extensions; a producer's
//  "sequence" is read but ingest replaces it. Every string attribute and
//  string extension value must be well-formed UTF-8, and data nest at
//  most ZEB_EVENT_DEFAULT_MAX_DEPTH levels (walked iteratively: 100,000
//  levels are refused without deep recursion). Returns 0 or a zeb_error_t
//  with the fault filled: ZEB_EMALFORMED (not msgpack, truncated, bytes
//  after the map, a key that is not a string), ZEB_EINVALID (a wrong
//  value type, a producer's "sequence" that is not a uint, "time" not an
//  int or RFC 3339 text with a zone, a repeated attribute, "attribute
//  'subject' is not valid UTF-8", "data nests deeper than 64 levels"),
//  ZEB_EEXTENSION, ZEB_ETOOLONG (an extension value).
int
    zeb_event_view_decode (zeb_event_view_t *self, const void *data, size_t size,
                           zeb_fault_t *fault);

//  Decode as zeb_event_view_decode does, allowing max_depth levels of
//  nesting in data instead of ZEB_EVENT_DEFAULT_MAX_DEPTH: 0 allows only
//  a scalar; values above ZEB_MPK_MAX_DEPTH count as ZEB_MPK_MAX_DEPTH.
int
    zeb_event_view_decode_limited (zeb_event_view_t *self, const void *data, size_t size,
                                   size_t max_depth, zeb_fault_t *fault);

//  Check required attributes, lengths and formats. Returns 0 or an error:
//  ZEB_EMISSING (type or source absent or ""), ZEB_ETOOLONG, ZEB_EINVALID
//  (an empty string attribute or extension string, a bad type, channel,
//  specversion or traceparent, a time outside years 0000..9999).
int
    zeb_event_view_validate (zeb_event_view_t *self, zeb_fault_t *fault);

//  Append the canonical msgpack encoding to buffer: attributes in a fixed
//  order, "specversion" omitted when it is "1.0" (the implied default).
//  If sequence_offset is not NULL, the form stored in the log is written:
//  "sequence" always, as a fixed nine-byte uint64, *sequence_offset
//  receiving the buffer offset of its eight value bytes, so a caller can
//  patch the sequence in place; and "channel", when the view has none, as
//  its default, the type (the view itself is not changed).
int
    zeb_event_view_encode (zeb_event_view_t *self, msgpack_sbuffer *buffer,
                           size_t *sequence_offset);

//  The dedup key of a view: its idempotencykey, else the producer's id,
//  else an absent string.
zeb_str_t
    zeb_event_view_dedup_key (zeb_event_view_t *self);

//  Event type of an encoded event, without decoding the rest. Returns 0.
int
    zeb_event_peek_type (const void *data, size_t size, zeb_str_t *type);

//  Patch a big-endian uint64 at offset (see zeb_event_view_encode).
void
    zeb_event_patch_sequence (void *encoded, size_t offset, uint64_t sequence);

//  ---------------------------------------------------------------------
//  Owned events

typedef struct _zeb_event_t zeb_event_t;

//  Create an event of the given type (may be NULL, set it later). Source
//  defaults to NULL: set it before publishing. Returns NULL on failure.
zeb_event_t *
    zeb_event_new (const char *type);

//  Destroy an event; safe with NULL, nulls the caller's pointer.
void
    zeb_event_destroy (zeb_event_t **self_p);

//  Deep copy; caller owns the result.
zeb_event_t *
    zeb_event_dup (zeb_event_t *self);

//  Decode an owned event from msgpack, with the checks of
//  zeb_event_view_decode (UTF-8, data nesting). Returns NULL with fault
//  set if the bytes are not an event. Validation is not applied: call
//  zeb_event_validate.
zeb_event_t *
    zeb_event_decode (const void *data, size_t size, zeb_fault_t *fault);

//  Parse CloudEvents structured JSON ("time" as RFC 3339 or ms, "data" as
//  JSON, "data_base64" as binary). Returns NULL with fault set on error.
zeb_event_t *
    zeb_event_from_json (const char *text, size_t len, zeb_fault_t *fault);

//  Validate (see zeb_event_view_validate), and check what setters put in
//  as decode would: UTF-8 strings, data nested at most
//  ZEB_EVENT_DEFAULT_MAX_DEPTH levels. Returns 0 or an error code.
int
    zeb_event_validate (zeb_event_t *self, zeb_fault_t *fault);

//  Append the msgpack encoding to buffer. Returns 0 or -1.
int
    zeb_event_encode (zeb_event_t *self, msgpack_sbuffer *buffer);

//  CloudEvents structured JSON on one line; caller owns the string. NULL
//  if the event has no JSON form (data or an extension that JSON cannot
//  carry, such as a map with a boolean key): never a wrong value.
char *
    zeb_event_to_json (zeb_event_t *self);

//  The event's view (spans point into the event; valid until it changes).
zeb_event_view_t *
    zeb_event_view (zeb_event_t *self);

//  A string attribute, null-terminated, or NULL if absent. Borrowed.
const char *
    zeb_event_attr (zeb_event_t *self, zeb_attr_t attr);

//  Shorthands for zeb_event_attr
const char *
    zeb_event_id (zeb_event_t *self);
const char *
    zeb_event_type (zeb_event_t *self);
const char *
    zeb_event_source (zeb_event_t *self);
const char *
    zeb_event_subject (zeb_event_t *self);
//  The channel; defaults to the type when not set.
const char *
    zeb_event_channel (zeb_event_t *self);

//  Set (copy) or, with value NULL, remove a string attribute by name, or a
//  string extension if the name is not an attribute. Returns 0, or
//  ZEB_EEXTENSION if the name is not a valid extension name.
int
    zeb_event_set (zeb_event_t *self, const char *name, const char *value);

//  Set a string attribute. Returns 0 or -1 (out of memory).
int
    zeb_event_set_attr (zeb_event_t *self, zeb_attr_t attr, const char *value);

//  Set an extension whose value is an integer or a boolean.
int
    zeb_event_set_ext_int (zeb_event_t *self, const char *name, int64_t value);
int
    zeb_event_set_ext_bool (zeb_event_t *self, const char *name, bool value);

//  Extension value as text (strings as they are, numbers and booleans
//  formatted), or NULL if absent. Caller owns the result.
char *
    zeb_event_ext (zeb_event_t *self, const char *name);

//  Time in ms since the epoch; 0 if not set.
int64_t
    zeb_event_time (zeb_event_t *self);
void
    zeb_event_set_time (zeb_event_t *self, int64_t time_ms);

//  Sequence assigned by the node's log; 0 if not assigned yet.
uint64_t
    zeb_event_sequence (zeb_event_t *self);

//  Data as its msgpack encoding (borrowed), or NULL if the event has none.
const uint8_t *
    zeb_event_data (zeb_event_t *self, size_t *size);

//  Data as JSON text, or NULL if none; caller owns the result.
char *
    zeb_event_data_json (zeb_event_t *self);

//  Set data from one complete msgpack value (copied). Returns 0, or
//  ZEB_EMALFORMED if the bytes are not exactly one msgpack value.
int
    zeb_event_set_data (zeb_event_t *self, const void *data, size_t size);

//  Set data from JSON text. Returns 0 or ZEB_EMALFORMED with fault set.
int
    zeb_event_set_data_json (zeb_event_t *self, const char *json, zeb_fault_t *fault);

//  Self test
void
    zeb_event_test (bool verbose);

#ifdef __cplusplus
}
#endif

#endif
