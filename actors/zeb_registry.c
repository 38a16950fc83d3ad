/*  =========================================================================
    zeb_registry - the schema registry actor

    State, in its own LMDB environment (node/data/registry):
      types     type name -> {description, compatibility, latest, deleted}
      versions  type name, 0, version (4 bytes big-endian)
                -> {schema (canonical JSON text), deleted, registered (ms)}
    One actor thread owns it: registrations for the same type are
    serialized by construction, and each is one write transaction.
    =========================================================================
*/

#include "zeb_actors.h"

#define S_MAX_REASONS   32
#define S_MAX_HISTORY   1024        //  versions a transitive check compares with

const zeb_config_key_t zeb_registry_config [] = {
    { "registry/endpoint", "tcp://127.0.0.1:7703", ZEB_KEY_ENDPOINT, 0, 0, NULL,
      "ROUTER for schema registry requests (REGISTER, GET, LIST...)" },
    { "registry/changes",  "",      ZEB_KEY_ENDPOINT, 0, 0, NULL,
      "PUB announcing registered schemas (default: an inproc endpoint)" },
    { "registry/max_size", "0",     ZEB_KEY_SIZE, 0, 0, NULL,
      "largest the registry's store may grow (0 = disk size)" },
    { NULL }
};

typedef struct {
    char description [512];
    char compatibility [32];
    char validation [16];           //  off, warn, enforce; "" = the node's setting
    uint32_t latest;
    bool deleted;
    bool exists;
} s_type_t;

typedef struct {
    zeb_actor_t *actor;
    zeb_router_t *router;           //  ROUTER: requests
    zsock_t *changes;               //  PUB: registrations
    char *changes_endpoint;
    zeb_lmdb_t *lmdb;
    MDB_env *env;
    MDB_dbi types, versions;
    msgpack_sbuffer reply;
    uint64_t registered, refused;
    bool seed_failed;               //  a seeding REGISTER was refused
} self_t;

//  The node's own types, seeded at start
static const char *s_system_types [][3] = {
    { "zeb.dead_letter", "An outbox run given up on: its last attempt failed, or it failed for good",
      "{\"type\":\"object\",\"required\":[\"run\",\"origin\",\"eventId\",\"error\",\"attempts\"],"
      "\"properties\":{\"run\":{\"type\":\"string\"},\"origin\":{\"type\":\"string\"},"
      "\"eventId\":{\"type\":\"string\"},\"eventType\":{\"type\":\"string\"},"
      "\"action\":{\"type\":\"string\"},\"target\":{\"type\":\"string\"},"
      "\"reason\":{\"type\":\"string\"},\"error\":{\"type\":\"string\"},"
      "\"attempts\":{\"type\":\"integer\",\"minimum\":0}}}" },
    { "zeb.replay.started", "A replay of dead-lettered runs began",
      "{\"type\":\"object\",\"required\":[\"replayId\",\"count\"],"
      "\"properties\":{\"replayId\":{\"type\":\"string\"},\"count\":{\"type\":\"integer\",\"minimum\":0},"
      "\"filter\":{\"type\":\"object\"}}}" },
    { "zeb.replay.completed", "Every run of a replay of dead-lettered runs finished",
      "{\"type\":\"object\",\"required\":[\"replayId\",\"count\",\"done\",\"dead\"],"
      "\"properties\":{\"replayId\":{\"type\":\"string\"},\"count\":{\"type\":\"integer\",\"minimum\":0},"
      "\"done\":{\"type\":\"integer\",\"minimum\":0},\"dead\":{\"type\":\"integer\",\"minimum\":0}}}" },
    { "zeb.health.degraded", "A part of the node is not working as it should",
      "{\"type\":\"object\",\"required\":[\"component\",\"reason\"],"
      "\"properties\":{\"component\":{\"type\":\"string\"},\"reason\":{\"type\":\"string\"},"
      "\"since\":{\"type\":\"string\",\"format\":\"date-time\"}}}" }
};

bool
zeb_registry_type_valid (const char *name, size_t len)
{
    return zeb_event_type_valid (name, len);
}

//  ---------------------------------------------------------------------
//  Records

static void
s_version_key (const char *type, uint32_t version, uint8_t *key, size_t *size)
{
    size_t len = strlen (type);
    memcpy (key, type, len);
    key [len] = 0;
    key [len + 1] = (uint8_t) (version >> 24);
    key [len + 2] = (uint8_t) (version >> 16);
    key [len + 3] = (uint8_t) (version >> 8);
    key [len + 4] = (uint8_t) version;
    *size = len + 5;
}

static int
s_type_get (self_t *self, MDB_txn *txn, const char *type, s_type_t *record)
{
    memset (record, 0, sizeof (*record));
    MDB_val key = { strlen (type), (void *) type }, value;
    int rc = mdb_get (txn, self->types, &key, &value);
    if (rc)
        return rc == MDB_NOTFOUND? 0: rc;
    const char *text;
    size_t len;
    uint64_t latest = 0;
    record->exists = true;
    if (zeb_proto_get_str (value.mv_data, value.mv_size, "description", &text, &len) == 0)
        snprintf (record->description, sizeof (record->description), "%.*s", (int) len, text);
    if (zeb_proto_get_str (value.mv_data, value.mv_size, "compatibility", &text, &len) == 0)
        snprintf (record->compatibility, sizeof (record->compatibility), "%.*s", (int) len, text);
    if (zeb_proto_get_str (value.mv_data, value.mv_size, "validation", &text, &len) == 0)
        snprintf (record->validation, sizeof (record->validation), "%.*s", (int) len, text);
    zeb_proto_get_uint (value.mv_data, value.mv_size, "latest", &latest);
    zeb_proto_get_bool (value.mv_data, value.mv_size, "deleted", &record->deleted);
    record->latest = (uint32_t) latest;
    return 0;
}

static int
s_type_put (self_t *self, MDB_txn *txn, const char *type, s_type_t *record)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    zeb_pack_t pack;
    zeb_pack_init (&pack, &buffer);
    zeb_pack_map (&pack, NULL);
    zeb_pack_str (&pack, "description", record->description);
    zeb_pack_str (&pack, "compatibility", record->compatibility);
    zeb_pack_str (&pack, "validation", record->validation);
    zeb_pack_uint (&pack, "latest", record->latest);
    zeb_pack_bool (&pack, "deleted", record->deleted);
    zeb_pack_end (&pack);
    MDB_val key = { strlen (type), (void *) type }, value = { buffer.size, buffer.data };
    int rc = mdb_put (txn, self->types, &key, &value, 0);
    msgpack_sbuffer_destroy (&buffer);
    return rc;
}

//  A version's schema text (copied; caller frees) and deleted flag
static int
s_version_get (self_t *self, MDB_txn *txn, const char *type, uint32_t version, char **schema,
               bool *deleted)
{
    uint8_t keybytes [ZEB_EVENT_MAX_TYPE + 8];
    size_t size;
    s_version_key (type, version, keybytes, &size);
    MDB_val key = { size, keybytes }, value;
    int rc = mdb_get (txn, self->versions, &key, &value);
    if (rc)
        return rc;
    const char *text;
    size_t len;
    *deleted = false;
    zeb_proto_get_bool (value.mv_data, value.mv_size, "deleted", deleted);
    if (zeb_proto_get_str (value.mv_data, value.mv_size, "schema", &text, &len))
        return MDB_CORRUPTED;
    *schema = strndup (text, len);
    return 0;
}

static int
s_version_put (self_t *self, MDB_txn *txn, const char *type, uint32_t version, const char *schema,
               bool deleted)
{
    uint8_t keybytes [ZEB_EVENT_MAX_TYPE + 8];
    size_t size;
    s_version_key (type, version, keybytes, &size);
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    zeb_pack_t pack;
    zeb_pack_init (&pack, &buffer);
    zeb_pack_map (&pack, NULL);
    zeb_pack_str (&pack, "schema", schema);
    zeb_pack_bool (&pack, "deleted", deleted);
    zeb_pack_int (&pack, "registered", zeb_time_now ());
    zeb_pack_end (&pack);
    MDB_val key = { size, keybytes }, value = { buffer.size, buffer.data };
    int rc = mdb_put (txn, self->versions, &key, &value, 0);
    msgpack_sbuffer_destroy (&buffer);
    return rc;
}

//  ---------------------------------------------------------------------
//  Requests

//  Start a reply body: a map, counted by the builder
static zeb_pack_t
s_reply_start (self_t *self)
{
    msgpack_sbuffer_clear (&self->reply);
    zeb_pack_t pack;
    zeb_pack_init (&pack, &self->reply);
    zeb_pack_map (&pack, NULL);
    return pack;
}

//  Close the reply's map and send it; a seeding request (no router) has
//  no one to answer
static void
s_send (self_t *self, zeb_request_t *request, zeb_pack_t *pack, const char *command)
{
    zeb_pack_end (pack);
    if (request->router)
        zeb_router_reply (request, command, self->reply.data, self->reply.size);
}

static int
s_nack (self_t *self, zeb_request_t *request, int code, const char *format, ...) CHECK_PRINTF (4);

static int
s_nack (self_t *self, zeb_request_t *request, int code, const char *format, ...)
{
    char text [300];
    va_list args;
    va_start (args, format);
    vsnprintf (text, sizeof (text), format, args);
    va_end (args);
    self->refused++;
    if (request->router)
        zeb_router_nack_with (request, code, -1, NULL, 0, 0, text);
    else {
        zsys_error ("registry: seeding refused: %s", text);
        self->seed_failed = true;
    }
    return code;
}

//  The request's type name, checked; NULL after a NACK
static const char *
s_request_type (self_t *self, zeb_request_t *request, char *type, bool for_writing)
{
    const char *text;
    size_t len;
    if (zeb_proto_get_str (request->body, request->body_size, "type", &text, &len) != 0) {
        s_nack (self, request, ZEB_EMISSING, "'type' is required, a string");
        return NULL;
    }
    if (!zeb_registry_type_valid (text, len)) {
        s_nack (self, request, ZEB_EINVALID, "'%.*s' is not a type name: use resource.action or "
                "module:resource.action", (int) (len > 64? 64: len), text);
        return NULL;
    }
    if (for_writing && len >= 4 && memcmp (text, "zeb.", 4) == 0) {
        s_nack (self, request, ZEB_EFORBIDDEN, "zeb.* types belong to the node");
        return NULL;
    }
    memcpy (type, text, len);
    type [len] = 0;
    return type;
}

//  Compile and canonicalize a schema from the request; NULL after a NACK
static char *
s_request_schema (self_t *self, zeb_request_t *request, json_t **json)
{
    const char *text;
    size_t len;
    if (zeb_proto_get_str (request->body, request->body_size, "schema", &text, &len) != 0) {
        s_nack (self, request, ZEB_EMISSING, "'schema' is required, JSON text");
        return NULL;
    }
    zeb_fault_t fault = { 0 };
    zeb_schema_t *schema = zeb_schema_new (text, len, &fault);
    if (!schema) {
        s_nack (self, request, ZEB_EBADSCHEMA, "%s", fault.text);
        return NULL;
    }
    zeb_schema_destroy (&schema);
    *json = json_loadb (text, len, JSON_DECODE_ANY, NULL);
    return json_dumps (*json, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}

//  The versions a new schema is checked against, not deleted, oldest
//  first, with their numbers: every one (up to S_MAX_HISTORY, the newest)
//  for a transitive mode, else the latest alone. *latest_text gets the
//  latest live version's text (caller frees), for duplicate detection.
static size_t
s_history (self_t *self, MDB_txn *txn, const char *type, s_type_t *record, bool transitive,
           json_t **versions, uint32_t *numbers, size_t max, char **latest_text)
{
    size_t count = 0;
    *latest_text = NULL;
    for (uint32_t version = record->latest; version >= 1 && count < max; version--) {
        char *text;
        bool deleted;
        if (s_version_get (self, txn, type, version, &text, &deleted))
            continue;
        if (deleted) {
            free (text);
            continue;
        }
        versions [count] = json_loads (text, JSON_DECODE_ANY, NULL);
        numbers [count++] = version;
        if (!*latest_text)
            *latest_text = text;
        else
            free (text);
        if (!transitive)
            break;
    }
    //  Newest first so far: turn round
    for (size_t index = 0; index < count / 2; index++) {
        json_t *json = versions [index];
        versions [index] = versions [count - 1 - index];
        versions [count - 1 - index] = json;
        uint32_t number = numbers [index];
        numbers [index] = numbers [count - 1 - index];
        numbers [count - 1 - index] = number;
    }
    return count;
}

static void
s_pack_reasons (zeb_pack_t *pack, zeb_compat_reason_t *reasons, size_t count)
{
    zeb_pack_array (pack, "reasons");
    for (size_t index = 0; index < count; index++) {
        zeb_pack_map (pack, NULL);
        zeb_pack_str (pack, "reason", reasons [index].reason);
        zeb_pack_str (pack, "path", reasons [index].path);
        zeb_pack_str (pack, "breaks", reasons [index].breaks);
        zeb_pack_uint (pack, "version", (uint64_t) reasons [index].version);
        zeb_pack_end (pack);
    }
    zeb_pack_end (pack);
}

//  A registration's writes, run by zeb_lmdb_write (again if the map grew)
typedef struct {
    self_t *self;
    const char *type;
    s_type_t *record;
    const char *schema;             //  the new version's, or NULL
    uint32_t *deletes;              //  versions to mark deleted
    size_t delete_count;
} s_write_t;

static int
s_write (MDB_txn *txn, void *arg)
{
    s_write_t *write = (s_write_t *) arg;
    self_t *self = write->self;
    int rc = 0;
    if (write->schema)
        rc = s_version_put (self, txn, write->type, write->record->latest, write->schema, false);
    for (size_t index = 0; rc == 0 && index < write->delete_count; index++) {
        char *schema;
        bool deleted;
        rc = s_version_get (self, txn, write->type, write->deletes [index], &schema, &deleted);
        if (rc == 0) {
            rc = s_version_put (self, txn, write->type, write->deletes [index], schema, true);
            free (schema);
        }
    }
    if (rc == 0)
        rc = s_type_put (self, txn, write->type, write->record);
    return rc;
}

static void
s_announce (self_t *self, const char *type, uint32_t version)
{
    char text [16];
    snprintf (text, sizeof (text), "%u", version);
    zstr_sendx (self->changes, "SCHEMA", type, text, NULL);
}

//  REGISTER and CHECK
static void
s_handle_register_as (self_t *self, zeb_request_t *request, bool check_only, bool system)
{
    char type [ZEB_EVENT_MAX_TYPE + 1];
    json_t *json = NULL;
    char *canonical = NULL;
    MDB_txn *txn = NULL;
    json_t **versions = NULL;
    uint32_t *numbers = NULL;
    size_t version_count = 0;
    char *latest_text = NULL;
    if (!s_request_type (self, request, type, !system)
    ||  !(canonical = s_request_schema (self, request, &json)))
        goto done;
    s_type_t record;
    int rc = zeb_lmdb_read_begin (self->lmdb, &txn);
    if (rc == 0)
        rc = s_type_get (self, txn, type, &record);
    if (rc) {
        s_nack (self, request, ZEB_ESTORAGE, "registry storage: %s", mdb_strerror (rc));
        goto done;
    }
    if (record.deleted)
        record = (s_type_t) { .latest = record.latest };      //  registered anew
    if (!record.exists || !record.compatibility [0]) {
        const char *mode = "BACKWARD";
        size_t len;
        const char *text;
        zeb_compat_mode_t parsed;
        if (zeb_proto_get_str (request->body, request->body_size, "compatibility", &text, &len) == 0) {
            char name [32];
            snprintf (name, sizeof (name), "%.*s", (int) len, text);
            if (zeb_compat_mode_parse (name, &parsed)) {
                s_nack (self, request, ZEB_EINVALID, "'%s' is not a compatibility mode", name);
                goto done;
            }
            mode = zeb_compat_mode_name (parsed);
        }
        snprintf (record.compatibility, sizeof (record.compatibility), "%s", mode);
    }
    zeb_compat_mode_t mode = ZEB_COMPAT_BACKWARD;
    zeb_compat_mode_parse (record.compatibility, &mode);
    bool transitive = mode == ZEB_COMPAT_BACKWARD_TRANSITIVE || mode == ZEB_COMPAT_FORWARD_TRANSITIVE
                   || mode == ZEB_COMPAT_FULL_TRANSITIVE;
    versions = (json_t **) calloc (S_MAX_HISTORY, sizeof (json_t *));
    numbers = (uint32_t *) calloc (S_MAX_HISTORY, sizeof (uint32_t));
    version_count = s_history (self, txn, type, &record, transitive, versions, numbers,
                               S_MAX_HISTORY, &latest_text);
    zeb_lmdb_read_end (self->lmdb, txn);
    txn = NULL;
    zeb_pack_t pack;
    if (latest_text && streq (latest_text, canonical) && !check_only) {
        pack = s_reply_start (self);
        zeb_pack_str (&pack, "type", type);
        zeb_pack_uint (&pack, "version", numbers [version_count - 1]);
        zeb_pack_bool (&pack, "duplicate", true);
        s_send (self, request, &pack, "REGISTER");
        goto done;
    }
    zeb_compat_reason_t reasons [S_MAX_REASONS];
    size_t found = zeb_compat_check (json, versions, numbers, version_count, mode, reasons, S_MAX_REASONS);
    size_t shown = found < S_MAX_REASONS? found: S_MAX_REASONS;
    if (check_only) {
        pack = s_reply_start (self);
        zeb_pack_str (&pack, "type", type);
        zeb_pack_bool (&pack, "compatible", found == 0);
        zeb_pack_str (&pack, "compatibility", record.compatibility);
        s_pack_reasons (&pack, reasons, shown);
        s_send (self, request, &pack, "CHECK");
        goto done;
    }
    if (found) {
        char text [600];
        snprintf (text, sizeof (text), "schema breaks %s compatibility of %s: %s at %s%s",
                  record.compatibility, type, reasons [0].reason, reasons [0].path,
                  found > 1? " and more": "");
        //  The NACK carries every reason beside code, reason and error
        msgpack_sbuffer extra;
        msgpack_sbuffer_init (&extra);
        zeb_pack_t entries;
        zeb_pack_init (&entries, &extra);
        zeb_pack_map (&entries, NULL);
        s_pack_reasons (&entries, reasons, shown);
        size_t header = 1;          //  a fixmap of one entry: skip its header
        zeb_pack_end (&entries);
        self->refused++;
        if (request->router)
            zeb_router_nack_with (request, ZEB_ECONFLICT, -1, extra.data + header,
                                  extra.size - header, 1, text);
        msgpack_sbuffer_destroy (&extra);
        goto done;
    }
    const char *description;
    size_t description_len;
    if (zeb_proto_get_str (request->body, request->body_size, "description", &description,
                           &description_len) == 0)
        snprintf (record.description, sizeof (record.description), "%.*s",
                  (int) description_len, description);
    record.latest++;
    record.deleted = false;
    s_write_t write = { self, type, &record, canonical, NULL, 0 };
    rc = zeb_lmdb_write (self->lmdb, s_write, &write);
    if (rc) {
        s_nack (self, request, rc == ZEB_EFULL? ZEB_EFULL: ZEB_ESTORAGE, "registry storage: %s",
                zeb_strerror (rc));
        goto done;
    }
    self->registered++;
    s_announce (self, type, record.latest);
    pack = s_reply_start (self);
    zeb_pack_str (&pack, "type", type);
    zeb_pack_uint (&pack, "version", record.latest);
    zeb_pack_bool (&pack, "duplicate", false);
    s_send (self, request, &pack, "REGISTER");
done:
    if (txn)
        zeb_lmdb_read_end (self->lmdb, txn);
    for (size_t index = 0; index < version_count; index++)
        json_decref (versions [index]);
    free (versions);
    free (numbers);
    free (latest_text);
    free (canonical);
    json_decref (json);
}

static void
s_handle_register (void *owner, zeb_request_t *request)
{
    s_handle_register_as ((self_t *) owner, request, false, false);
}

static void
s_handle_check (void *owner, zeb_request_t *request)
{
    s_handle_register_as ((self_t *) owner, request, true, false);
}

//  The request's type and its record, in a new read transaction. Returns
//  0, or -1 after a NACK.
static int
s_open_type (self_t *self, zeb_request_t *request, char *type, bool writing, MDB_txn **txn,
             s_type_t *record)
{
    if (!s_request_type (self, request, type, writing))
        return -1;
    if (zeb_lmdb_read_begin (self->lmdb, txn)) {
        s_nack (self, request, ZEB_ESTORAGE, "registry storage unavailable");
        return -1;
    }
    if (s_type_get (self, *txn, type, record)) {
        zeb_lmdb_read_end (self->lmdb, *txn);
        s_nack (self, request, ZEB_ESTORAGE, "registry storage unreadable");
        return -1;
    }
    return 0;
}

static void
s_handle_get (void *owner, zeb_request_t *request)
{
    self_t *self = (self_t *) owner;
    char type [ZEB_EVENT_MAX_TYPE + 1];
    MDB_txn *txn;
    s_type_t record;
    if (s_open_type (self, request, type, false, &txn, &record))
        return;
    uint64_t version = 0;
    if (zeb_proto_get_uint (request->body, request->body_size, "version", &version) < 0) {
        zeb_lmdb_read_end (self->lmdb, txn);
        s_nack (self, request, ZEB_EINVALID, "'version' must be a positive integer");
        return;
    }
    char *schema = NULL;
    bool deleted = true;
    if (record.exists && !record.deleted) {
        if (version == 0)
            for (uint32_t candidate = record.latest; candidate > 0 && deleted; candidate--) {
                free (schema);
                schema = NULL;
                if (s_version_get (self, txn, type, candidate, &schema, &deleted) == 0)
                    version = candidate;
            }
        else
        if (version <= record.latest)
            s_version_get (self, txn, type, (uint32_t) version, &schema, &deleted);
    }
    zeb_lmdb_read_end (self->lmdb, txn);
    if (!schema || deleted) {
        free (schema);
        s_nack (self, request, ZEB_ENOTFOUND, "%s has no version %s%llu", type,
                version? "": "(latest) ", (unsigned long long) version);
        return;
    }
    zeb_pack_t pack = s_reply_start (self);
    zeb_pack_str (&pack, "type", type);
    zeb_pack_uint (&pack, "version", version);
    zeb_pack_str (&pack, "schema", schema);
    zeb_pack_str (&pack, "description", record.description);
    zeb_pack_str (&pack, "compatibility", record.compatibility);
    zeb_pack_str (&pack, "validation", record.validation [0]? record.validation: "default");
    s_send (self, request, &pack, "GET");
    free (schema);
}

//  Every version that is not deleted, oldest first: a new array (caller
//  frees) of *count numbers. A type has at most as many versions as were
//  ever registered for it; the list is not capped.
static uint32_t *
s_live_versions (self_t *self, MDB_txn *txn, const char *type, s_type_t *record, size_t *count)
{
    *count = 0;
    size_t limit = 16;
    uint32_t *versions = (uint32_t *) malloc (limit * sizeof (uint32_t));
    if (!record->exists || record->deleted)
        return versions;
    for (uint32_t version = 1; versions && version <= record->latest; version++) {
        char *schema;
        bool deleted;
        if (s_version_get (self, txn, type, version, &schema, &deleted) == 0) {
            free (schema);
            if (deleted)
                continue;
            if (*count == limit) {
                limit *= 2;
                uint32_t *grown = (uint32_t *) realloc (versions, limit * sizeof (uint32_t));
                if (!grown) {
                    free (versions);
                    return NULL;
                }
                versions = grown;
            }
            versions [(*count)++] = version;
        }
    }
    return versions;
}

static void
s_handle_versions (void *owner, zeb_request_t *request)
{
    self_t *self = (self_t *) owner;
    char type [ZEB_EVENT_MAX_TYPE + 1];
    MDB_txn *txn;
    s_type_t record;
    if (s_open_type (self, request, type, false, &txn, &record))
        return;
    size_t count;
    uint32_t *versions = s_live_versions (self, txn, type, &record, &count);
    zeb_lmdb_read_end (self->lmdb, txn);
    if (!versions)
        s_nack (self, request, ZEB_EOVERLOADED, "out of memory listing %s", type);
    else
    if (count == 0)
        s_nack (self, request, ZEB_ENOTFOUND, "no type %s", type);
    else {
        zeb_pack_t pack = s_reply_start (self);
        zeb_pack_str (&pack, "type", type);
        zeb_pack_array (&pack, "versions");
        for (size_t index = 0; index < count; index++)
            zeb_pack_uint (&pack, NULL, versions [index]);
        zeb_pack_end (&pack);
        s_send (self, request, &pack, "VERSIONS");
    }
    free (versions);
}

static void
s_handle_list (void *owner, zeb_request_t *request)
{
    self_t *self = (self_t *) owner;
    const char *prefix = "";
    size_t prefix_len = 0;
    if (zeb_proto_get_str (request->body, request->body_size, "prefix", &prefix, &prefix_len) < 0) {
        s_nack (self, request, ZEB_EINVALID, "'prefix' must be a string");
        return;
    }
    MDB_txn *txn;
    MDB_cursor *cursor;
    if (zeb_lmdb_read_begin (self->lmdb, &txn)) {
        s_nack (self, request, ZEB_ESTORAGE, "registry storage unavailable");
        return;
    }
    if (mdb_cursor_open (txn, self->types, &cursor)) {
        zeb_lmdb_read_end (self->lmdb, txn);
        s_nack (self, request, ZEB_ESTORAGE, "registry storage unavailable");
        return;
    }
    zeb_pack_t pack = s_reply_start (self);
    zeb_pack_array (&pack, "types");
    MDB_val key = { prefix_len, (void *) prefix }, value;
    int rc = mdb_cursor_get (cursor, &key, &value, prefix_len? MDB_SET_RANGE: MDB_FIRST);
    while (rc == 0 && key.mv_size >= prefix_len && memcmp (key.mv_data, prefix, prefix_len) == 0) {
        char type [ZEB_EVENT_MAX_TYPE + 1];
        snprintf (type, sizeof (type), "%.*s", (int) key.mv_size, (const char *) key.mv_data);
        s_type_t record;
        s_type_get (self, txn, type, &record);
        if (!record.deleted) {
            zeb_pack_map (&pack, NULL);
            zeb_pack_str (&pack, "type", type);
            zeb_pack_str (&pack, "description", record.description);
            zeb_pack_uint (&pack, "latest", record.latest);
            zeb_pack_str (&pack, "compatibility", record.compatibility);
            zeb_pack_end (&pack);
        }
        rc = mdb_cursor_get (cursor, &key, &value, MDB_NEXT);
    }
    mdb_cursor_close (cursor);
    zeb_lmdb_read_end (self->lmdb, txn);
    zeb_pack_end (&pack);
    s_send (self, request, &pack, "LIST");
}

//  SET_COMPATIBILITY, SET_VALIDATION and DELETE change one type's record
typedef enum { S_SET_COMPATIBILITY, S_SET_VALIDATION, S_DELETE } s_change_t;

static void
s_handle_change (self_t *self, zeb_request_t *request, s_change_t change)
{
    char type [ZEB_EVENT_MAX_TYPE + 1];
    zeb_compat_mode_t mode = ZEB_COMPAT_BACKWARD;
    uint64_t version = 0;
    bool delete = change == S_DELETE;
    char validation [16] = "";
    if (change == S_SET_VALIDATION) {
        const char *text;
        size_t len;
        if (zeb_proto_get_str (request->body, request->body_size, "validation", &text, &len) == 0)
            snprintf (validation, sizeof (validation), "%.*s", (int) len, text);
        if (!streq (validation, "off") && !streq (validation, "warn") && !streq (validation, "enforce")
        &&  !streq (validation, "default")) {
            s_nack (self, request, ZEB_EINVALID, "'validation' must be off, warn, enforce or default");
            return;
        }
        if (streq (validation, "default"))
            validation [0] = 0;
    }
    else
    if (change == S_SET_COMPATIBILITY) {
        const char *text;
        size_t len;
        char name [32] = "";
        if (zeb_proto_get_str (request->body, request->body_size, "compatibility", &text, &len) == 0)
            snprintf (name, sizeof (name), "%.*s", (int) len, text);
        if (zeb_compat_mode_parse (name, &mode)) {
            s_nack (self, request, ZEB_EINVALID, "'compatibility' must be one of NONE, BACKWARD, "
                    "BACKWARD_TRANSITIVE, FORWARD, FORWARD_TRANSITIVE, FULL, FULL_TRANSITIVE");
            return;
        }
    }
    else
    if (zeb_proto_get_uint (request->body, request->body_size, "version", &version) < 0) {
        s_nack (self, request, ZEB_EINVALID, "'version' must be a positive integer");
        return;
    }
    MDB_txn *txn;
    s_type_t record;
    if (s_open_type (self, request, type, true, &txn, &record))
        return;
    size_t count;
    uint32_t *versions = s_live_versions (self, txn, type, &record, &count);
    zeb_lmdb_read_end (self->lmdb, txn);
    if (!versions) {
        s_nack (self, request, ZEB_EOVERLOADED, "out of memory listing %s", type);
        return;
    }
    bool present = version == 0;
    for (size_t index = 0; index < count; index++)
        present = present || versions [index] == version;
    if (count == 0 || !present) {
        s_nack (self, request, ZEB_ENOTFOUND, "no type %s%s", type, version? " at that version": "");
        free (versions);
        return;
    }
    size_t changed = 0;
    if (change == S_SET_COMPATIBILITY)
        snprintf (record.compatibility, sizeof (record.compatibility), "%s", zeb_compat_mode_name (mode));
    else
    if (change == S_SET_VALIDATION)
        snprintf (record.validation, sizeof (record.validation), "%s", validation);
    else
        for (size_t index = 0; index < count; index++)
            if (!version || versions [index] == version)
                versions [changed++] = versions [index];
    if (delete && changed == count)
        record.deleted = true;      //  nothing left: the type is gone too
    s_write_t write = { self, type, &record, NULL, versions, changed };
    int rc = zeb_lmdb_write (self->lmdb, s_write, &write);
    if (rc) {
        s_nack (self, request, rc == ZEB_EFULL? ZEB_EFULL: ZEB_ESTORAGE, "registry storage: %s",
                zeb_strerror (rc));
        free (versions);
        return;
    }
    zeb_pack_t pack = s_reply_start (self);
    zeb_pack_str (&pack, "type", type);
    if (delete) {
        zeb_pack_array (&pack, "versions");
        for (size_t index = 0; index < changed; index++)
            zeb_pack_uint (&pack, NULL, versions [index]);
        zeb_pack_end (&pack);
    }
    else
    if (change == S_SET_VALIDATION)
        zeb_pack_str (&pack, "validation", record.validation [0]? record.validation: "default");
    else
        zeb_pack_str (&pack, "compatibility", record.compatibility);
    s_send (self, request, &pack, delete? "DELETE": change == S_SET_VALIDATION? "SET_VALIDATION"
                                                                              : "SET_COMPATIBILITY");
    //  What ingest checks changed: it asks again
    if (change != S_SET_COMPATIBILITY)
        s_announce (self, type, record.latest);
    free (versions);
}

static void
s_handle_set_compatibility (void *owner, zeb_request_t *request)
{
    s_handle_change ((self_t *) owner, request, S_SET_COMPATIBILITY);
}

static void
s_handle_set_validation (void *owner, zeb_request_t *request)
{
    s_handle_change ((self_t *) owner, request, S_SET_VALIDATION);
}

static void
s_handle_delete (void *owner, zeb_request_t *request)
{
    s_handle_change ((self_t *) owner, request, S_DELETE);
}

static const zeb_router_command_t s_commands [] = {
    { "REGISTER",           s_handle_register, 0 },
    { "CHECK",              s_handle_check, 0 },
    { "GET",                s_handle_get, 0 },
    { "VERSIONS",           s_handle_versions, 0 },
    { "LIST",               s_handle_list, 0 },
    { "SET_COMPATIBILITY",  s_handle_set_compatibility, 0 },
    { "SET_VALIDATION",     s_handle_set_validation, 0 },
    { "DELETE",             s_handle_delete, 0 },
    { NULL }
};

//  The node's own types, registered if missing (or changed)
static int
s_seed (self_t *self)
{
    for (size_t index = 0; index < sizeof (s_system_types) / sizeof (s_system_types [0]); index++) {
        msgpack_sbuffer body;
        msgpack_sbuffer_init (&body);
        zeb_pack_t pack;
        zeb_pack_init (&pack, &body);
        zeb_pack_map (&pack, NULL);
        zeb_pack_str (&pack, "type", s_system_types [index][0]);
        zeb_pack_str (&pack, "description", s_system_types [index][1]);
        zeb_pack_str (&pack, "schema", s_system_types [index][2]);
        zeb_pack_str (&pack, "compatibility", "NONE");
        zeb_pack_end (&pack);
        //  A request from no one: answered to no one
        zeb_request_t request;
        memset (&request, 0, sizeof (request));
        request.body = (const uint8_t *) body.data;
        request.body_size = body.size;
        s_handle_register_as (self, &request, false, true);
        msgpack_sbuffer_destroy (&body);
        if (self->seed_failed)
            return -1;
    }
    return 0;
}

//  ---------------------------------------------------------------------
//  The actor

static int
s_handle_front (void *arg)
{
    self_t *self = (self_t *) arg;
    return zeb_router_handle (self->router, 64);
}

static void
s_stop (void *state)
{
    self_t *self = (self_t *) state;
    zeb_router_destroy (&self->router);
    zsock_destroy (&self->changes);
    zeb_lmdb_close (&self->lmdb);
    msgpack_sbuffer_destroy (&self->reply);
    free (self->changes_endpoint);
}

static int
s_start (void *state, zeb_actor_t *actor, zconfig_t *config, zeb_fault_t *fault)
{
    self_t *self = (self_t *) state;
    self->actor = actor;
    msgpack_sbuffer_init (&self->reply);
    uint64_t max_size = 0;
    zeb_config_size (config, "registry/max_size", &max_size);
    zeb_lmdb_options_t options = { 1 << 20, max_size, { "types", "versions", NULL } };
    char *path = zsys_sprintf ("%s/registry", zeb_config_str (config, "node/data"));
    self->lmdb = zeb_lmdb_open (path, &options, fault);
    zstr_free (&path);
    if (!self->lmdb)
        goto failed;
    self->env = zeb_lmdb_env (self->lmdb);
    self->types = zeb_lmdb_dbi (self->lmdb, 0);
    self->versions = zeb_lmdb_dbi (self->lmdb, 1);
    self->router = zeb_actor_router (actor, s_commands, self);
    if (!self->router
    ||  zeb_router_bind (self->router, zeb_config_str (config, "registry/endpoint"), fault))
        goto failed;
    const char *changes = zeb_config_str (config, "registry/changes");
    char *generated = *changes? NULL: zeb_actor_inproc ("registry-changes");
    self->changes = zsock_new (ZMQ_PUB);
    if (!self->changes || zsock_bind (self->changes, "%s", generated? generated: changes) == -1) {
        zeb_fault_set (fault, ZEB_ECONFIG, "registry: cannot bind registry/changes %s: %s",
                       generated? generated: changes, zmq_strerror (zmq_errno ()));
        zstr_free (&generated);
        goto failed;
    }
    zstr_free (&generated);
    self->changes_endpoint = strdup (zsock_endpoint (self->changes));
    if (s_seed (self)) {
        zeb_fault_set (fault, ZEB_ESTORAGE, "registry: cannot register the node's own types");
        goto failed;
    }
    zeb_loop_add_socket (zeb_actor_loop (actor), zeb_router_socket (self->router), s_handle_front, self);
    zeb_actor_bound (actor, "registry", zeb_router_endpoint (self->router));
    zeb_actor_bound (actor, "changes", self->changes_endpoint);
    zeb_info ("registry: %s, changes on %s", zeb_router_endpoint (self->router), self->changes_endpoint);
    return 0;
failed:
    return fault->code? fault->code: ZEB_ERROR;
}

static void
s_stats (void *state, zeb_pack_t *pack)
{
    self_t *self = (self_t *) state;
    zeb_pack_uint (pack, "registered", self->registered);
    zeb_pack_uint (pack, "refused", self->refused);
    zeb_pack_uint (pack, "map_size", zeb_lmdb_map_size (self->lmdb));
    zeb_router_pack_stats (self->router, pack);
}

const zeb_actor_def_t zeb_registry_def = {
    "registry", "event types, their schemas, versions and compatibility", true,
    zeb_registry_config, NULL, sizeof (self_t), s_start, s_stop, s_stats, NULL
};

//  ---------------------------------------------------------------------
//  Self test: the actor over inproc, spoken to in raw ZEB/1

//  Send command with a JSON body; returns the reply's command and its body
//  as JSON (caller decrefs)
static json_t *
s_test_call (zsock_t *dealer, const char *command, const char *body, char *reply_command)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    int rc = zeb_json_pack_text (body, strlen (body), &buffer, NULL);
    assert (rc == 0);
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, command);
    zmsg_addmem (msg, buffer.data, buffer.size);
    zmsg_addstr (msg, "tag-1");
    zmsg_send (&msg, dealer);
    msgpack_sbuffer_destroy (&buffer);
    msg = zmsg_recv (dealer);
    assert (msg && zmsg_size (msg) == 3);
    char *name = zmsg_popstr (msg);
    snprintf (reply_command, 32, "%s", name);
    zstr_free (&name);
    zframe_t *frame = zmsg_pop (msg);
    json_t *json = zeb_json_from_msgpack (zframe_data (frame), zframe_size (frame), NULL);
    assert (json);
    zframe_destroy (&frame);
    char *tag = zmsg_popstr (msg);
    assert (streq (tag, "tag-1"));
    zstr_free (&tag);
    zmsg_destroy (&msg);
    return json;
}

//  The call is answered with command; returns the body (caller decrefs)
static json_t *
s_test_expect (zsock_t *dealer, const char *command, const char *body, const char *expected)
{
    char got [32];
    json_t *reply = s_test_call (dealer, command, body, got);
    if (!streq (got, expected)) {
        char *text = json_dumps (reply, JSON_COMPACT);
        fprintf (stderr, "%s %s: expected %s, got %s %s\n", command, body, expected, got, text);
        free (text);
    }
    assert (streq (got, expected));
    return reply;
}

//  The call gets a NACK with this reason
static json_t *
s_test_refused (zsock_t *dealer, const char *command, const char *body, const char *reason)
{
    json_t *reply = s_test_expect (dealer, command, body, "NACK");
    const char *got = json_string_value (json_object_get (reply, "reason"));
    if (!got || !streq (got, reason))
        fprintf (stderr, "%s %s: expected %s, got %s (%s)\n", command, body, reason,
                 got? got: "nothing", json_string_value (json_object_get (reply, "error")));
    assert (got && streq (got, reason));
    return reply;
}

static zactor_t *
s_test_start (const char *dir, int round, char *endpoint, char *changes)
{
    zconfig_t *config = zconfig_new ("root", NULL);
    zconfig_put (config, "node/data", dir);
    zconfig_putf (config, "registry/endpoint", "inproc://zeb-registry-test-%d", round);
    zactor_t *registry = zactor_new (zeb_actor_main, (void *) &zeb_registry_def);
    zhashx_t *endpoints = zhashx_new ();
    zhashx_set_destructor (endpoints, (zhashx_destructor_fn *) zstr_free);
    zhashx_set_duplicator (endpoints, (zhashx_duplicator_fn *) strdup);
    zeb_fault_t fault;
    int rc = zeb_actor_start (registry, config, endpoints, &fault);
    assert (rc == 0);
    snprintf (endpoint, 128, "%s", (char *) zhashx_lookup (endpoints, "registry"));
    snprintf (changes, 128, "%s", (char *) zhashx_lookup (endpoints, "changes"));
    zhashx_destroy (&endpoints);
    zconfig_destroy (&config);
    return registry;
}

#define S_V1 "{\"type\":\"object\",\"required\":[\"orderId\",\"total\"],\"properties\":{" \
             "\"orderId\":{\"type\":\"string\",\"maxLength\":20},\"total\":{\"type\":\"number\"}}}"
#define S_V1_AGAIN "{\"properties\":{\"total\":{\"type\":\"number\"},\"orderId\":{\"maxLength\":20," \
             "\"type\":\"string\"}},\"required\":[\"orderId\",\"total\"],   \"type\":\"object\"}"
#define S_V2 "{\"type\":\"object\",\"required\":[\"orderId\"],\"properties\":{" \
             "\"orderId\":{\"type\":\"string\",\"maxLength\":40},\"total\":{\"type\":\"number\"}}}"
#define S_V3 "{\"type\":\"object\",\"required\":[\"orderId\",\"currency\"],\"properties\":{" \
             "\"orderId\":{\"type\":\"string\",\"maxLength\":40},\"total\":{\"type\":\"number\"}," \
             "\"currency\":{\"type\":\"string\"}}}"

//  A REGISTER body for type and schema (JSON text, quoted here)
static char *
s_test_body (const char *type, const char *schema, const char *extra)
{
    json_t *body = json_pack ("{s:s, s:s}", "type", type, "schema", schema);
    if (extra) {
        json_t *more = json_loads (extra, 0, NULL);
        json_object_update (body, more);
        json_decref (more);
    }
    char *text = json_dumps (body, JSON_COMPACT);
    json_decref (body);
    return text;
}

//  REGISTER schema for type (extra: more JSON attributes, or NULL); the
//  version it got, and whether it was a duplicate
static uint64_t
s_test_register (zsock_t *dealer, const char *type, const char *schema, const char *extra,
                 bool *duplicate)
{
    char *body = s_test_body (type, schema, extra);
    json_t *reply = s_test_expect (dealer, "REGISTER", body, "REGISTER");
    uint64_t version = (uint64_t) json_integer_value (json_object_get (reply, "version"));
    if (duplicate)
        *duplicate = json_is_true (json_object_get (reply, "duplicate"));
    json_decref (reply);
    free (body);
    return version;
}

//  A REGISTER refused as INCOMPATIBLE_SCHEMA (409); true when its reasons
//  name exactly the versions in expected (a bit per version, 1..63), each
//  at least once, and CHECK of the same schema names the same ones
static bool
s_test_refused_by (zsock_t *dealer, const char *type, const char *schema, uint64_t expected)
{
    char *body = s_test_body (type, schema, NULL);
    uint64_t named [2] = { 0, 0 };
    for (int call = 0; call < 2; call++) {
        json_t *reply = call == 0? s_test_refused (dealer, "REGISTER", body, "INCOMPATIBLE_SCHEMA")
                                 : s_test_expect (dealer, "CHECK", body, "CHECK");
        if (call == 0)
            assert (json_integer_value (json_object_get (reply, "code")) == 409);
        else
            assert (json_is_false (json_object_get (reply, "compatible")));
        json_t *reasons = json_object_get (reply, "reasons");
        assert (json_array_size (reasons) > 0);
        for (size_t index = 0; index < json_array_size (reasons); index++) {
            json_int_t version = json_integer_value (json_object_get (json_array_get (reasons, index),
                                                                      "version"));
            if (version < 1 || version > 63) {
                fprintf (stderr, "%s: a reason names version %lld\n", type, (long long) version);
                named [call] |= 1ULL << 63;
            }
            else
                named [call] |= 1ULL << version;
        }
        json_decref (reply);
    }
    free (body);
    if (named [0] != expected || named [1] != expected)
        fprintf (stderr, "%s: reasons name versions %#llx and %#llx, expected %#llx\n", type,
                 (unsigned long long) named [0], (unsigned long long) named [1],
                 (unsigned long long) expected);
    return named [0] == expected && named [1] == expected;
}

//  A string schema of at most max_length characters
static const char *
s_test_string_schema (char *schema, size_t size, int max_length)
{
    snprintf (schema, size, "{\"type\":\"string\",\"maxLength\":%d}", max_length);
    return schema;
}

//  A history longer than 64 versions: duplicates and compatibility are
//  judged against the latest live version, not the 64th. Version n allows
//  strings up to 1000 - 10n characters: each is registered under NONE (a
//  shorter maximum breaks BACKWARD), so that under BACKWARD a schema can
//  be compatible with the latest and not with older ones
#define S_TEST_HISTORY  70
//  More versions than a transitive check compares with: VERSIONS lists
//  every one, and DELETE finds the newest
static void
s_test_many_versions (zsock_t *dealer)
{
    const char *type = "test.many";
    char schema [128];
    for (int version = 1; version <= 1100; version++) {
        snprintf (schema, sizeof (schema), "{\"type\":\"string\",\"maxLength\":%d}", version);
        uint64_t got = s_test_register (dealer, type, schema,
                                        version == 1? "{\"compatibility\":\"NONE\"}": NULL, NULL);
        assert (got == (uint64_t) version);
    }
    json_t *reply = s_test_expect (dealer, "VERSIONS", "{\"type\":\"test.many\"}", "VERSIONS");
    json_t *versions = json_object_get (reply, "versions");
    assert (json_array_size (versions) == 1100);
    assert (json_integer_value (json_array_get (versions, 1099)) == 1100);
    json_decref (reply);
    reply = s_test_expect (dealer, "DELETE", "{\"type\":\"test.many\",\"version\":1090}", "DELETE");
    assert (json_integer_value (json_array_get (json_object_get (reply, "versions"), 0)) == 1090);
    json_decref (reply);
}

static void
s_test_long_history (zsock_t *dealer)
{
    const char *type = "history.tested";
    char schema [96];
    bool duplicate;
    for (int n = 1; n <= S_TEST_HISTORY; n++) {
        s_test_string_schema (schema, sizeof (schema), 1000 - 10 * n);
        assert (s_test_register (dealer, type, schema, "{\"compatibility\":\"NONE\"}", &duplicate)
                == (uint64_t) n);
        assert (!duplicate);
    }
    //  (a) The latest again is a duplicate of the latest
    s_test_string_schema (schema, sizeof (schema), 1000 - 10 * S_TEST_HISTORY);
    assert (s_test_register (dealer, type, schema, NULL, &duplicate) == S_TEST_HISTORY);
    assert (duplicate);

    //  (c) Under BACKWARD, a schema that breaks the latest is refused with
    //  reasons naming the latest alone
    json_decref (s_test_expect (dealer, "SET_COMPATIBILITY",
                                "{\"type\":\"history.tested\",\"compatibility\":\"BACKWARD\"}",
                                "SET_COMPATIBILITY"));
    s_test_string_schema (schema, sizeof (schema), 250);
    char *body = s_test_body (type, schema, NULL);
    json_t *reply = s_test_refused (dealer, "REGISTER", body, "INCOMPATIBLE_SCHEMA");
    assert (json_integer_value (json_object_get (reply, "code")) == 409);
    json_t *reasons = json_object_get (reply, "reasons");
    assert (json_array_size (reasons) == 1);
    assert (streq (json_string_value (json_object_get (json_array_get (reasons, 0), "reason")),
                   "MAX_LENGTH_DECREASED"));
    assert (json_integer_value (json_object_get (json_array_get (reasons, 0), "version"))
            == S_TEST_HISTORY);
    json_decref (reply);
    free (body);

    //  (b) An older version's text again is a new version, not a duplicate
    //  (it allows more than the latest: BACKWARD lets it in)
    s_test_string_schema (schema, sizeof (schema), 1000 - 10 * (S_TEST_HISTORY - 1));
    assert (s_test_register (dealer, type, schema, NULL, &duplicate) == S_TEST_HISTORY + 1);
    assert (!duplicate);

    //  (c) Compatible with the latest (310) though not with versions 1..64
    //  (990..360): BACKWARD compares with the latest alone, so it is in
    s_test_string_schema (schema, sizeof (schema), 330);
    body = s_test_body (type, schema, NULL);
    reply = s_test_expect (dealer, "CHECK", body, "CHECK");
    assert (json_is_true (json_object_get (reply, "compatible")));
    json_decref (reply);
    free (body);
    assert (s_test_register (dealer, type, schema, NULL, &duplicate) == S_TEST_HISTORY + 2);
    assert (!duplicate);

    //  A transitive mode compares with every version, the oldest too:
    //  1 allows 990, 2 allows 980
    json_decref (s_test_expect (dealer, "SET_COMPATIBILITY",
                                "{\"type\":\"history.tested\",\"compatibility\":\"BACKWARD_TRANSITIVE\"}",
                                "SET_COMPATIBILITY"));
    s_test_string_schema (schema, sizeof (schema), 985);
    assert (s_test_refused_by (dealer, type, schema, 1ULL << 1));
    s_test_string_schema (schema, sizeof (schema), 995);
    assert (s_test_register (dealer, type, schema, NULL, &duplicate) == S_TEST_HISTORY + 3);
    reply = s_test_expect (dealer, "VERSIONS", "{\"type\":\"history.tested\"}", "VERSIONS");
    assert (json_array_size (json_object_get (reply, "versions")) == S_TEST_HISTORY + 3);
    json_decref (reply);
}

//  After a DELETE, duplicates and compatibility reasons name the real
//  numbers of the versions that are left. Version n allows strings up to
//  10n characters (each BACKWARD compatible with the one before)
static void
s_test_deleted_versions (zsock_t *dealer)
{
    const char *types [] = { "deleted.latest", "deleted.middle", "deleted.oldest" };
    const uint32_t deleted [] = { 3, 2, 1 };
    char schema [96];
    bool duplicate;
    for (size_t index = 0; index < 3; index++) {
        const char *extra = index == 2? "{\"compatibility\":\"BACKWARD_TRANSITIVE\"}": NULL;
        for (int n = 1; n <= 3; n++)
            assert (s_test_register (dealer, types [index], s_test_string_schema (schema, sizeof (schema),
                                                                                10 * n),
                                     extra, NULL) == (uint64_t) n);
        char request [96];
        snprintf (request, sizeof (request), "{\"type\":\"%s\",\"version\":%u}", types [index],
                  deleted [index]);
        json_decref (s_test_expect (dealer, "DELETE", request, "DELETE"));
    }
    //  3 deleted: 2 is the latest, the one compared with and repeated
    assert (s_test_refused_by (dealer, "deleted.latest",
                               s_test_string_schema (schema, sizeof (schema), 15), 1ULL << 2));
    assert (s_test_register (dealer, "deleted.latest", s_test_string_schema (schema, sizeof (schema), 20),
                             NULL, &duplicate) == 2);
    assert (duplicate);
    //  2 deleted: 3 is still the latest
    assert (s_test_refused_by (dealer, "deleted.middle",
                               s_test_string_schema (schema, sizeof (schema), 25), 1ULL << 3));
    //  1 deleted, transitive: 2 and 3 are compared with, never 1
    assert (s_test_refused_by (dealer, "deleted.oldest",
                               s_test_string_schema (schema, sizeof (schema), 5),
                               (1ULL << 2) | (1ULL << 3)));
    assert (s_test_refused_by (dealer, "deleted.oldest",
                               s_test_string_schema (schema, sizeof (schema), 25), 1ULL << 3));
    //  Numbers are never reused: the next is 4
    assert (s_test_register (dealer, "deleted.middle", s_test_string_schema (schema, sizeof (schema), 40),
                             NULL, NULL) == 4);
}

void
zeb_registry_test (bool verbose)
{
    printf (" * zeb_registry: ");
    assert (zeb_registry_type_valid ("order.placed", 12));
    assert (zeb_registry_type_valid ("billing:invoice.paid", 20));
    assert (zeb_registry_type_valid ("custom.webhook.github", 21));
    assert (!zeb_registry_type_valid ("order", 5));
    assert (!zeb_registry_type_valid ("order..placed", 13));
    assert (!zeb_registry_type_valid (":order.placed", 13));
    assert (!zeb_registry_type_valid ("order placed", 12));

    char dir [] = "/tmp/zeb-registry-XXXXXX";
    assert (mkdtemp (dir));
    char endpoint [128], changes [128];
    zactor_t *registry = s_test_start (dir, 1, endpoint, changes);
    zsock_t *dealer = zsock_new_dealer (endpoint);
    zsock_t *notices = zsock_new_sub (changes, "SCHEMA");
    assert (dealer && notices);
    zsock_set_rcvtimeo (dealer, 5000);

    //  The node's own types are there
    json_t *reply = s_test_expect (dealer, "LIST", "{\"prefix\":\"zeb.\"}", "LIST");
    assert (json_array_size (json_object_get (reply, "types")) == 4);
    json_decref (reply);

    //  Register, again (the same schema written differently), evolve
    char *body = s_test_body ("order.placed", S_V1, "{\"description\":\"An order was placed\"}");
    reply = s_test_expect (dealer, "REGISTER", body, "REGISTER");
    assert (json_integer_value (json_object_get (reply, "version")) == 1);
    assert (json_is_false (json_object_get (reply, "duplicate")));
    json_decref (reply);
    free (body);
    body = s_test_body ("order.placed", S_V1_AGAIN, NULL);
    reply = s_test_expect (dealer, "REGISTER", body, "REGISTER");
    assert (json_integer_value (json_object_get (reply, "version")) == 1);
    assert (json_is_true (json_object_get (reply, "duplicate")));
    json_decref (reply);
    free (body);
    body = s_test_body ("order.placed", S_V2, NULL);
    reply = s_test_expect (dealer, "CHECK", body, "CHECK");
    assert (json_is_true (json_object_get (reply, "compatible")));
    json_decref (reply);
    reply = s_test_expect (dealer, "REGISTER", body, "REGISTER");
    assert (json_integer_value (json_object_get (reply, "version")) == 2);
    json_decref (reply);
    free (body);
    //  Registrations are announced (the subscription took hold by now, or
    //  the next one shows it)
    int64_t deadline = zclock_mono () + 5000;
    zsock_set_rcvtimeo (notices, 100);
    bool announced = false, probed = false;
    while (!announced && zclock_mono () < deadline) {
        char *command = NULL, *type = NULL, *version = NULL;
        if (zsock_recv (notices, "sss", &command, &type, &version) == 0)
            announced = streq (type, "order.placed") && (streq (version, "2") || streq (version, "3"));
        else {
            body = s_test_body ("probe.registered", "{\"type\":\"object\"}", "{\"compatibility\":\"NONE\"}");
            reply = s_test_expect (dealer, "REGISTER", body, "REGISTER");
            json_decref (reply);
            free (body);
            probed = true;
            body = s_test_body ("order.placed", S_V2, NULL);        //  duplicate: no notice
            json_decref (s_test_expect (dealer, "REGISTER", body, "REGISTER"));
            free (body);
            announced = false;
        }
        if (command && streq (type, "probe.registered"))
            announced = true;
        zstr_free (&command);
        zstr_free (&type);
        zstr_free (&version);
    }
    assert (announced);

    //  A breaking change: refused with reasons, and CHECK says the same
    body = s_test_body ("order.placed", S_V3, NULL);
    reply = s_test_refused (dealer, "REGISTER", body, "INCOMPATIBLE_SCHEMA");
    assert (json_integer_value (json_object_get (reply, "code")) == 409);
    //  currency is required now, and constrained where old events may
    //  have carried anything under that name
    json_t *reasons = json_object_get (reply, "reasons");
    assert (json_array_size (reasons) == 2);
    bool required_added = false, property_added = false;
    for (size_t index = 0; index < 2; index++) {
        json_t *one = json_array_get (reasons, index);
        const char *name = json_string_value (json_object_get (one, "reason"));
        const char *path = json_string_value (json_object_get (one, "path"));
        assert (streq (json_string_value (json_object_get (one, "breaks")), "backward"));
        assert (json_integer_value (json_object_get (one, "version")) == 2);
        required_added |= streq (name, "REQUIRED_ADDED") && streq (path, "/required/currency");
        property_added |= streq (name, "PROPERTY_ADDED_TO_OPEN_MODEL") && streq (path, "/properties/currency");
    }
    assert (required_added && property_added);
    json_decref (reply);
    reply = s_test_expect (dealer, "CHECK", body, "CHECK");
    assert (json_is_false (json_object_get (reply, "compatible")));
    json_decref (reply);
    reply = s_test_expect (dealer, "VERSIONS", "{\"type\":\"order.placed\"}", "VERSIONS");
    assert (json_array_size (json_object_get (reply, "versions")) == 2);
    json_decref (reply);

    //  GET latest and by number
    reply = s_test_expect (dealer, "GET", "{\"type\":\"order.placed\"}", "GET");
    assert (json_integer_value (json_object_get (reply, "version")) == 2);
    assert (streq (json_string_value (json_object_get (reply, "description")), "An order was placed"));
    assert (streq (json_string_value (json_object_get (reply, "compatibility")), "BACKWARD"));
    json_t *stored = json_loads (json_string_value (json_object_get (reply, "schema")), 0, NULL);
    json_t *original = json_loads (S_V2, 0, NULL);
    assert (json_equal (stored, original));
    json_decref (stored);
    json_decref (original);
    json_decref (reply);
    reply = s_test_expect (dealer, "GET", "{\"type\":\"order.placed\",\"version\":1}", "GET");
    assert (json_integer_value (json_object_get (reply, "version")) == 1);
    json_decref (reply);
    json_decref (s_test_refused (dealer, "GET", "{\"type\":\"order.placed\",\"version\":9}", "NOT_FOUND"));
    json_decref (s_test_refused (dealer, "GET", "{\"type\":\"order.unknown\"}", "NOT_FOUND"));

    //  A type's own validation mode
    reply = s_test_expect (dealer, "SET_VALIDATION", "{\"type\":\"order.placed\",\"validation\":\"enforce\"}",
                           "SET_VALIDATION");
    assert (streq (json_string_value (json_object_get (reply, "validation")), "enforce"));
    json_decref (reply);
    reply = s_test_expect (dealer, "GET", "{\"type\":\"order.placed\"}", "GET");
    assert (streq (json_string_value (json_object_get (reply, "validation")), "enforce"));
    json_decref (reply);
    json_decref (s_test_refused (dealer, "SET_VALIDATION",
                                 "{\"type\":\"order.placed\",\"validation\":\"sometimes\"}", "INVALID_ATTRIBUTE"));
    reply = s_test_expect (dealer, "SET_VALIDATION", "{\"type\":\"order.placed\",\"validation\":\"default\"}",
                           "SET_VALIDATION");
    assert (streq (json_string_value (json_object_get (reply, "validation")), "default"));
    json_decref (reply);

    //  Mode NONE lets the breaking change in
    json_decref (s_test_expect (dealer, "SET_COMPATIBILITY",
                                "{\"type\":\"order.placed\",\"compatibility\":\"none\"}", "SET_COMPATIBILITY"));
    reply = s_test_expect (dealer, "REGISTER", body, "REGISTER");
    assert (json_integer_value (json_object_get (reply, "version")) == 3);
    json_decref (reply);
    free (body);

    //  Soft deletes: a version, then the type; numbers are never reused
    json_decref (s_test_expect (dealer, "DELETE", "{\"type\":\"order.placed\",\"version\":3}", "DELETE"));
    reply = s_test_expect (dealer, "GET", "{\"type\":\"order.placed\"}", "GET");
    assert (json_integer_value (json_object_get (reply, "version")) == 2);
    json_decref (reply);
    reply = s_test_expect (dealer, "DELETE", "{\"type\":\"order.placed\"}", "DELETE");
    assert (json_array_size (json_object_get (reply, "versions")) == 2);
    json_decref (reply);
    json_decref (s_test_refused (dealer, "GET", "{\"type\":\"order.placed\"}", "NOT_FOUND"));
    reply = s_test_expect (dealer, "LIST", "{\"prefix\":\"order.\"}", "LIST");
    assert (json_array_size (json_object_get (reply, "types")) == 0);
    json_decref (reply);
    body = s_test_body ("order.placed", S_V1, NULL);
    reply = s_test_expect (dealer, "REGISTER", body, "REGISTER");
    assert (json_integer_value (json_object_get (reply, "version")) == 4);
    json_decref (reply);
    free (body);

    //  Refusals
    body = s_test_body ("zeb.dead_letter", "{\"type\":\"object\"}", NULL);
    json_decref (s_test_refused (dealer, "REGISTER", body, "FORBIDDEN"));
    free (body);
    body = s_test_body ("not a type", "{}", NULL);
    json_decref (s_test_refused (dealer, "REGISTER", body, "INVALID_ATTRIBUTE"));
    free (body);
    body = s_test_body ("custom.webhook.github", "{\"type\":\"object\",\"definitions\":{}}", NULL);
    reply = s_test_refused (dealer, "REGISTER", body, "INVALID_SCHEMA");
    assert (strstr (json_string_value (json_object_get (reply, "error")), "'definitions'"));
    json_decref (reply);
    free (body);
    body = s_test_body ("custom.webhook.github", "{\"type\":\"object\"}", "{\"compatibility\":\"SIDEWAYS\"}");
    json_decref (s_test_refused (dealer, "REGISTER", body, "INVALID_ATTRIBUTE"));
    free (body);
    json_decref (s_test_refused (dealer, "REGISTER", "{\"schema\":\"{}\"}", "MISSING_ATTRIBUTE"));
    json_decref (s_test_refused (dealer, "FROB", "{}", "UNKNOWN_COMMAND"));
    json_decref (s_test_refused (dealer, "LIST", "[1]", "MALFORMED"));
    body = s_test_body ("custom.webhook.github", "{\"type\":\"object\"}", NULL);
    json_decref (s_test_expect (dealer, "REGISTER", body, "REGISTER"));
    free (body);

    //  Registrations in flight at once, from two clients, for one type:
    //  each gets its own version, 1..20, none lost or repeated
    zsock_t *other = zsock_new_dealer (endpoint);
    zsock_set_rcvtimeo (other, 5000);
    for (int n = 0; n < 20; n++) {
        char schema [96];
        snprintf (schema, sizeof (schema), "{\"type\":\"string\",\"maxLength\":%d}", 100 + n);
        body = s_test_body ("load.tested", schema, "{\"compatibility\":\"NONE\"}");
        msgpack_sbuffer packed;
        msgpack_sbuffer_init (&packed);
        assert (zeb_json_pack_text (body, strlen (body), &packed, NULL) == 0);
        zmsg_t *request = zmsg_new ();
        zmsg_addstr (request, "REGISTER");
        zmsg_addmem (request, packed.data, packed.size);
        zmsg_send (&request, n % 2? other: dealer);
        msgpack_sbuffer_destroy (&packed);
        free (body);
    }
    bool seen [21] = { false };
    for (int n = 0; n < 20; n++) {
        zmsg_t *answer = zmsg_recv (n % 2? other: dealer);
        assert (answer);
        char *name = zmsg_popstr (answer);
        assert (streq (name, "REGISTER"));
        zstr_free (&name);
        zframe_t *frame = zmsg_pop (answer);
        uint64_t version = 0;
        assert (zeb_proto_get_uint (zframe_data (frame), zframe_size (frame), "version", &version) == 0);
        assert (version >= 1 && version <= 20 && !seen [version]);
        seen [version] = true;
        zframe_destroy (&frame);
        zmsg_destroy (&answer);
    }
    zsock_destroy (&other);

    //  A restart keeps everything, and does not seed twice
    zsock_destroy (&dealer);
    zsock_destroy (&notices);
    zactor_destroy (&registry);
    registry = s_test_start (dir, 2, endpoint, changes);
    dealer = zsock_new_dealer (endpoint);
    zsock_set_rcvtimeo (dealer, 5000);
    reply = s_test_expect (dealer, "GET", "{\"type\":\"order.placed\"}", "GET");
    assert (json_integer_value (json_object_get (reply, "version")) == 4);
    json_decref (reply);
    reply = s_test_expect (dealer, "GET", "{\"type\":\"zeb.health.degraded\"}", "GET");
    assert (json_integer_value (json_object_get (reply, "version")) == 1);
    json_decref (reply);
    reply = s_test_expect (dealer, "LIST", "{}", "LIST");
    if (verbose) {
        char *text = json_dumps (reply, JSON_COMPACT);
        printf ("%s ", text);
        free (text);
    }
    //  4 system types, order.placed, custom.webhook.github, load.tested,
    //  and the probe
    assert (json_array_size (json_object_get (reply, "types")) == (probed? 8: 7));
    json_decref (reply);

    //  Long histories, and versions deleted under the latest
    s_test_long_history (dealer);
    s_test_deleted_versions (dealer);
    s_test_many_versions (dealer);

    zsock_destroy (&dealer);
    zactor_destroy (&registry);
    zdir_t *tree = zdir_new (dir, NULL);
    zdir_remove (tree, true);
    zdir_destroy (&tree);
    printf ("OK\n");
}
