/*  =========================================================================
    zeb_validator - ingest's check of event data against registered schemas
    =========================================================================
*/

#include "zeb.h"
#include "zeb_validator.h"

#define S_TTL_MS        60000       //  cached answers are asked again after this
#define S_WARN_MS       60000       //  one warning per type this often

typedef enum { S_OFF, S_WARN, S_ENFORCE } s_mode_t;

//  A cached answer: the compiled schema, or none
typedef struct {
    zeb_schema_t *schema;           //  NULL: the type has no schema (or that version)
    uint32_t version;
    int64_t expires;
    int64_t warned;                 //  last warning logged for this entry
    uint64_t uses;
    int mode;                       //  the type's own mode, or -1: the node's
} s_entry_t;

struct _zeb_validator_t {
    s_mode_t mode;
    char *registry_endpoint;
    zsock_t *registry;              //  DEALER, for GET
    zsock_t *changes;               //  SUB: "SCHEMA" type version
    int timeout;
    zhashx_t *cache;                //  "type" or "type#N" -> s_entry_t
    uint64_t next_tag;
    zeb_validator_counters_t counters;
    //  The entry used for the previous event: runs of one type skip the
    //  key and the hash lookup
    char last_key [ZEB_EVENT_MAX_TYPE + 16];
    size_t last_len;
    uint32_t last_version;
    s_entry_t *last_entry;
};

static void
s_entry_destroy (void **item_p)
{
    s_entry_t *entry = (s_entry_t *) *item_p;
    if (entry) {
        zeb_schema_destroy (&entry->schema);
        free (entry);
        *item_p = NULL;
    }
}

zeb_validator_t *
zeb_validator_new (zconfig_t *config, zeb_fault_t *fault)
{
    const char *mode = zeb_config_str (config, "ingest/validation");
    s_mode_t parsed;
    if (streq (mode, "off"))
        parsed = S_OFF;
    else
    if (streq (mode, "warn"))
        parsed = S_WARN;
    else
    if (streq (mode, "enforce"))
        parsed = S_ENFORCE;
    else {
        zeb_fault_set (fault, ZEB_ECONFIG, "ingest/validation must be off, warn or enforce, not '%s'", mode);
        return NULL;
    }
    zeb_validator_t *self = (zeb_validator_t *) zmalloc (sizeof (zeb_validator_t));
    self->mode = parsed;
    self->cache = zhashx_new ();
    zhashx_set_destructor (self->cache, s_entry_destroy);
    int64_t timeout = 1000;
    zeb_config_duration (config, "ingest/registry_timeout", &timeout);
    self->timeout = (int) timeout;
    if (self->mode == S_OFF)
        return self;
    self->registry_endpoint = strdup (zeb_config_str (config, "registry/endpoint"));
    const char *changes = zeb_config_str (config, "registry/changes");
    if (*changes) {
        self->changes = zsock_new_sub (changes, "SCHEMA");
        if (!self->changes)
            zsys_warning ("ingest: cannot connect to registry changes at %s", changes);
    }
    return self;
}

void
zeb_validator_destroy (zeb_validator_t **self_p)
{
    assert (self_p);
    zeb_validator_t *self = *self_p;
    if (self) {
        zhashx_destroy (&self->cache);
        zsock_destroy (&self->registry);
        zsock_destroy (&self->changes);
        free (self->registry_endpoint);
        free (self);
        *self_p = NULL;
    }
}

zsock_t *
zeb_validator_changes (zeb_validator_t *self)
{
    assert (self);
    return self->changes;
}

void
zeb_validator_handle_changes (zeb_validator_t *self)
{
    assert (self);
    char *command = NULL, *type = NULL, *version = NULL;
    //  Never blocks: asks before each receive, and the last question
    //  leaves ZMQ_FD ready to fire for the next notice
    while (self->changes && (zsock_events (self->changes) & ZMQ_POLLIN)
    &&     zsock_recv (self->changes, "sss", &command, &type, &version) == 0) {
        //  The latest schema of the type changed; numbered versions do not
        if (type)
            zhashx_delete (self->cache, type);
        self->last_entry = NULL;
        zstr_free (&command);
        zstr_free (&type);
        zstr_free (&version);
    }
}

//  Ask the registry; returns the entry to cache (schema may be NULL), or
//  NULL if the registry could not be reached
static s_entry_t *
s_lookup (zeb_validator_t *self, const char *type, uint32_t version)
{
    if (!self->registry) {
        self->registry = zsock_new_dealer (self->registry_endpoint);
        if (!self->registry)
            return NULL;
        zsock_set_linger (self->registry, 0);
    }
    self->counters.lookups++;
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &body, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, version? 2: 1);
    msgpack_pack_str_with_body (&pk, "type", 4);
    msgpack_pack_str_with_body (&pk, type, strlen (type));
    if (version) {
        msgpack_pack_str_with_body (&pk, "version", 7);
        msgpack_pack_uint32 (&pk, version);
    }
    char tag [24];
    snprintf (tag, sizeof (tag), "v%llu", (unsigned long long) ++self->next_tag);
    zmsg_t *request = zmsg_new ();
    zmsg_addstr (request, "GET");
    zmsg_addmem (request, body.data, body.size);
    zmsg_addstr (request, tag);
    msgpack_sbuffer_destroy (&body);
    if (zmsg_send (&request, self->registry)) {
        zmsg_destroy (&request);
        return NULL;
    }
    //  Wait for this request's reply; drop late replies to earlier ones
    int64_t deadline = zclock_mono () + self->timeout;
    while (true) {
        int64_t left = deadline - zclock_mono ();
        if (left <= 0)
            return NULL;
        zsock_set_rcvtimeo (self->registry, (int) left);
        zmsg_t *reply = zmsg_recv (self->registry);
        if (!reply)
            return NULL;
        char *command = zmsg_popstr (reply);
        zframe_t *frame = zmsg_pop (reply);
        char *reply_tag = zmsg_popstr (reply);
        s_entry_t *entry = NULL;
        if (reply_tag && streq (reply_tag, tag) && command && frame) {
            entry = (s_entry_t *) zmalloc (sizeof (s_entry_t));
            entry->expires = zclock_mono () + S_TTL_MS;
            entry->mode = -1;
            const char *text;
            size_t len;
            uint64_t number = 0;
            if (streq (command, "GET")
            &&  zeb_proto_get_str (zframe_data (frame), zframe_size (frame), "schema", &text, &len) == 0) {
                zeb_proto_get_uint (zframe_data (frame), zframe_size (frame), "version", &number);
                entry->schema = zeb_schema_new (text, len, NULL);
                entry->version = (uint32_t) number;
                const char *mode;
                size_t mode_len;
                if (zeb_proto_get_str (zframe_data (frame), zframe_size (frame), "validation",
                                       &mode, &mode_len) == 0)
                    entry->mode = mode_len == 3 && memcmp (mode, "off", 3) == 0? S_OFF
                                : mode_len == 4 && memcmp (mode, "warn", 4) == 0? S_WARN
                                : mode_len == 7 && memcmp (mode, "enforce", 7) == 0? S_ENFORCE: -1;
            }
        }
        zstr_free (&command);
        zstr_free (&reply_tag);
        zframe_destroy (&frame);
        zmsg_destroy (&reply);
        if (entry)
            return entry;
    }
}

//  The version an event names in dataschema: "3", ".../3" or "...:3"
static uint32_t
s_named_version (zeb_event_view_t *view)
{
    zeb_str_t *dataschema = &view->attr [ZEB_ATTR_DATASCHEMA];
    if (!dataschema->ptr || dataschema->len == 0)
        return 0;
    size_t start = dataschema->len;
    while (start > 0 && isdigit ((unsigned char) dataschema->ptr [start - 1]))
        start--;
    if (start == dataschema->len || dataschema->len - start > 9)
        return 0;
    if (start > 0 && dataschema->ptr [start - 1] != '/' && dataschema->ptr [start - 1] != ':')
        return 0;
    uint32_t version = 0;
    for (size_t index = start; index < dataschema->len; index++)
        version = version * 10 + (uint32_t) (dataschema->ptr [index] - '0');
    return version;
}

int
zeb_validator_check (zeb_validator_t *self, zeb_event_view_t *view, zeb_fault_t *fault)
{
    assert (self);
    if (self->mode == S_OFF)
        return 0;
    zeb_str_t *type = &view->attr [ZEB_ATTR_TYPE];
    uint32_t version = s_named_version (view);
    s_entry_t *entry = NULL;
    if (self->last_entry && self->last_version == version && self->last_len == type->len
    &&  memcmp (self->last_key, type->ptr, type->len) == 0)
        entry = self->last_entry;
    char *key = self->last_key;
    if (!entry) {
        self->last_entry = NULL;
        int len = snprintf (key, sizeof (self->last_key), "%.*s", (int) type->len, type->ptr);
        if (version)
            snprintf (key + len, sizeof (self->last_key) - (size_t) len, "#%u", version);
        entry = (s_entry_t *) zhashx_lookup (self->cache, key);
    }
    //  Expiry is looked at every 1024th use of an entry, not every time
    if (entry && (++entry->uses & 1023) == 0 && zclock_mono () >= entry->expires) {
        zhashx_delete (self->cache, key);
        self->last_entry = entry = NULL;
    }
    if (!entry) {
        char name [ZEB_EVENT_MAX_TYPE + 1];
        snprintf (name, sizeof (name), "%.*s", (int) type->len, type->ptr);
        entry = s_lookup (self, name, version);
        if (!entry) {
            self->counters.unavailable++;
            return 0;
        }
        zhashx_update (self->cache, key, entry);
    }
    self->last_entry = entry;
    self->last_len = type->len;
    self->last_version = version;
    s_mode_t mode = entry->mode >= 0? (s_mode_t) entry->mode: self->mode;
    if (!entry->schema || mode == S_OFF)
        return 0;                   //  no schema, or not checked for this type
    self->counters.validated++;
    zeb_schema_error_t error;
    static const uint8_t nil = 0xc0;
    int rc = view->data? zeb_schema_validate (entry->schema, view->data, view->data_size, &error)
                       : zeb_schema_validate (entry->schema, &nil, 1, &error);
    if (rc == 0)
        return 0;
    if (mode == S_WARN) {
        self->counters.warned++;
        int64_t now = zclock_mono ();
        if (!entry->warned || now - entry->warned >= S_WARN_MS) {
            zsys_warning ("ingest: %s event data fails its schema (version %u): '%s' at '%s': %s "
                          "(accepted: ingest/validation is warn)", key, entry->version,
                          error.keyword, error.path, error.message);
            entry->warned = now;
        }
        return 0;
    }
    self->counters.refused++;
    return zeb_fault_set (fault, ZEB_ESCHEMA, "data at '%s' fails '%s' (%s), schema %.*s version %u",
                          error.path, error.keyword, error.message, (int) type->len, type->ptr,
                          entry->version);
}

zeb_validator_counters_t
zeb_validator_counters (zeb_validator_t *self)
{
    assert (self);
    return self->counters;
}
