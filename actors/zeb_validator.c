/*  =========================================================================
    zeb_validator - ingest's check of event data against registered schemas
    =========================================================================
*/

#include "zeb_actors.h"
#include "zeb_registry_client.h"
#include "zeb_validator.h"

#define S_TTL_MS        60000       //  cached answers are asked again after this
#define S_WARN_MS       60000       //  one warning per type this often
#define S_MAX_ENTRIES   10000       //  cached answers; when full, all are forgotten

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

//  A lookup in flight
typedef struct {
    uint64_t id;
    char key [ZEB_EVENT_MAX_TYPE + 16];
    bool held;                      //  a message waits for it
} s_lookup_t;

struct _zeb_validator_t {
    s_mode_t mode;
    zeb_schema_options_t options;   //  how schemas compile (ingest/formats)
    zeb_registry_client_t *registry;
    zsock_t *changes;               //  SUB: "SCHEMA" type version
    int64_t retry_ms;
    zhashx_t *cache;                //  "type" or "type#N" -> s_entry_t
    zhashx_t *lookups;              //  the same keys -> s_lookup_t in flight
    size_t held;                    //  lookups a message waits for
    int64_t down_until;             //  registry unreachable until (mono ms)
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
    zeb_validator_t *self = (zeb_validator_t *) zmalloc (sizeof (zeb_validator_t));
    assert (self);
    self->mode = streq (mode, "enforce")? S_ENFORCE: streq (mode, "warn")? S_WARN: S_OFF;
    self->options.format_assertion = streq (zconfig_get (config, "ingest/formats", "annotate"), "assert");
    self->cache = zhashx_new ();
    zhashx_set_destructor (self->cache, s_entry_destroy);
    self->lookups = zhashx_new ();
    zhashx_set_destructor (self->lookups, (zhashx_destructor_fn *) zstr_free);
    if (self->mode == S_OFF)
        return self;
    int64_t timeout = 1000;
    zeb_config_duration (config, "ingest/registry_timeout", &timeout);
    zeb_config_duration (config, "ingest/registry_retry", &self->retry_ms);
    const char *endpoint = zeb_config_str (config, "ingest/registry");
    self->registry = zeb_registry_client_new (endpoint);
    if (!self->registry) {
        zeb_fault_set (fault, ZEB_ECONFIG, "ingest/registry: cannot connect to %s", endpoint);
        zeb_validator_destroy (&self);
        return NULL;
    }
    zeb_registry_client_set_timeout (self->registry, (int) timeout);
    const char *changes = zeb_config_str (config, "ingest/registry_changes");
    if (*changes) {
        self->changes = zsock_new_sub (changes, "SCHEMA");
        if (!self->changes) {
            zeb_fault_set (fault, ZEB_ECONFIG, "ingest/registry_changes: cannot connect to %s", changes);
            zeb_validator_destroy (&self);
            return NULL;
        }
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
        zhashx_destroy (&self->lookups);
        zeb_registry_client_destroy (&self->registry);
        zsock_destroy (&self->changes);
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

zsock_t *
zeb_validator_socket (zeb_validator_t *self)
{
    assert (self);
    return self->registry? zeb_registry_client_socket (self->registry): NULL;
}

bool
zeb_validator_waiting (zeb_validator_t *self)
{
    assert (self);
    return self->held > 0;
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
        //  The type changed (a version, its mode, a deletion): forget its
        //  answers, the latest and every numbered version ("type#N")
        if (type) {
            zhashx_delete (self->cache, type);
            size_t len = strlen (type);
            zlistx_t *keys = zhashx_keys (self->cache);
            for (const char *key = (const char *) zlistx_first (keys); key;
                 key = (const char *) zlistx_next (keys))
                if (strncmp (key, type, len) == 0 && key [len] == '#')
                    zhashx_delete (self->cache, key);
            zlistx_destroy (&keys);
        }
        self->last_entry = NULL;
        zstr_free (&command);
        zstr_free (&type);
        zstr_free (&version);
    }
}

//  The lookup with this id, and its key, or NULL
static s_lookup_t *
s_lookup_find (zeb_validator_t *self, uint64_t id)
{
    for (s_lookup_t *lookup = (s_lookup_t *) zhashx_first (self->lookups); lookup;
         lookup = (s_lookup_t *) zhashx_next (self->lookups))
        if (lookup->id == id)
            return lookup;
    return NULL;
}

//  One answer: cache it (schema or none), or note the outage
static void
s_answer (zeb_validator_t *self, zeb_registry_schema_t *reply)
{
    s_lookup_t *lookup = s_lookup_find (self, reply->request_id);
    if (!lookup)
        return;
    if (reply->status && reply->status != ZEB_ENOTFOUND) {
        //  No answer, or not one to trust (a timeout, a storage failure
        //  of the registry, a reply that cannot be read): an outage, not
        //  "this type has no schema"
        if (reply->status == ZEB_ETIMEOUT || reply->status == ZEB_EUNREACHABLE)
            self->counters.timeouts++;
        if (!self->down_until)
            zsys_warning ("ingest: the schema registry gave no answer for %s (%s): events are "
                          "accepted unchecked, asking again every %lld ms", lookup->key,
                          zeb_strerror (reply->status), (long long) self->retry_ms);
        self->down_until = zclock_mono () + self->retry_ms;
    }
    else {
        if (self->down_until)
            zsys_info ("ingest: the schema registry answers again");
        self->down_until = 0;       //  it answers
        s_entry_t *entry = (s_entry_t *) zmalloc (sizeof (s_entry_t));
        entry->expires = zclock_mono () + S_TTL_MS;
        entry->mode = -1;
        if (reply->status == 0 && reply->schema) {
            zeb_fault_t fault;
            entry->schema = zeb_schema_new_with (reply->schema, strlen (reply->schema), &self->options, &fault);
            if (!entry->schema)
                zsys_warning ("ingest: the schema of %s does not compile here (%s): its events "
                              "are accepted unchecked", lookup->key, fault.text);
            entry->version = reply->version;
            entry->mode = streq (reply->validation, "off")? S_OFF: streq (reply->validation, "warn")? S_WARN
                        : streq (reply->validation, "enforce")? S_ENFORCE: -1;
        }
        if (zhashx_size (self->cache) >= S_MAX_ENTRIES)
            zhashx_purge (self->cache);     //  a bound, not a policy: asked again
        zhashx_update (self->cache, lookup->key, entry);
        self->last_entry = NULL;
    }
    if (lookup->held)
        self->held--;
    zhashx_delete (self->lookups, lookup->key);
}

void
zeb_validator_handle_replies (zeb_validator_t *self)
{
    assert (self);
    if (!self->registry)
        return;
    zeb_registry_schema_t reply;
    while (zeb_registry_client_get_recv (self->registry, &reply) == 0) {
        s_answer (self, &reply);
        free (reply.schema);
    }
}

int
zeb_validator_expire (zeb_validator_t *self)
{
    assert (self);
    if (!self->registry || zhashx_size (self->lookups) == 0)
        return -1;
    int64_t left = zeb_registry_client_get_expiry (self->registry);
    if (left == 0) {
        zeb_validator_handle_replies (self);
        left = zeb_registry_client_get_expiry (self->registry);
    }
    return left < 0? -1: left > INT_MAX? INT_MAX: (int) left;
}

//  Ask the registry for key without waiting. held: a message waits for
//  the answer. Returns 0 if asked, -1 if the request could not be queued.
static int
s_ask (zeb_validator_t *self, const char *key, zeb_str_t *type, uint32_t version, bool held)
{
    char name [ZEB_EVENT_MAX_TYPE + 1];
    snprintf (name, sizeof (name), "%.*s", (int) type->len, type->ptr);
    uint64_t id;
    if (zeb_registry_client_get_send (self->registry, name, version, &id))
        return -1;
    self->counters.lookups++;
    s_lookup_t *lookup = (s_lookup_t *) zmalloc (sizeof (s_lookup_t));
    lookup->id = id;
    lookup->held = held;
    snprintf (lookup->key, sizeof (lookup->key), "%s", key);
    zhashx_update (self->lookups, key, lookup);
    self->held += held;
    return 0;
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

//  The cache key of a type and named version: "type" or "type#N"
static void
s_key (char *key, size_t size, zeb_str_t *type, uint32_t version)
{
    int len = snprintf (key, size, "%.*s", (int) type->len, type->ptr);
    if (version)
        snprintf (key + len, size - (size_t) len, "#%u", version);
}

void
zeb_validator_prefetch (zeb_validator_t *self, zeb_event_view_t *view)
{
    assert (self);
    if (self->mode == S_OFF || self->down_until || !self->registry)
        return;
    zeb_str_t *type = &view->attr [ZEB_ATTR_TYPE];
    uint32_t version = s_named_version (view);
    char key [ZEB_EVENT_MAX_TYPE + 16];
    s_key (key, sizeof (key), type, version);
    if (!zhashx_lookup (self->cache, key) && !zhashx_lookup (self->lookups, key))
        s_ask (self, key, type, version, true);
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
        s_key (key, sizeof (self->last_key), type, version);
        entry = (s_entry_t *) zhashx_lookup (self->cache, key);
    }
    //  Expiry is looked at on every lookup in the table, and on every
    //  1024th use of the entry a run of one type keeps using
    bool from_table = entry && entry != self->last_entry;
    if (entry && (from_table || (++entry->uses & 1023) == 0) && zclock_mono () >= entry->expires) {
        zhashx_delete (self->cache, key);
        self->last_entry = entry = NULL;
    }
    if (!entry) {
        s_lookup_t *lookup = (s_lookup_t *) zhashx_lookup (self->lookups, key);
        if (self->down_until) {
            //  The registry is out until it answers: accept at once, and
            //  probe in the background once per ingest/registry_retry
            int64_t now = zclock_mono ();
            if (now >= self->down_until && zhashx_size (self->lookups) == 0) {
                s_ask (self, key, type, version, false);
                self->down_until = now + self->retry_ms;
            }
            self->counters.unavailable++;
            return 0;
        }
        if (lookup) {
            if (!lookup->held) {
                lookup->held = true;
                self->held++;
            }
            return 1;
        }
        if (s_ask (self, key, type, version, true)) {
            self->counters.unavailable++;
            return 0;               //  too many in flight, or no socket
        }
        return 1;
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
    if (rc == ZEB_ESCHEMACOMPLEX) {
        self->counters.too_complex++;
        return zeb_fault_set (fault, ZEB_ESCHEMACOMPLEX, "checking data against schema %.*s version %u "
                              "stopped at '%s': %s", (int) type->len, type->ptr, entry->version,
                              error.path, error.message);
    }
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

//  ---------------------------------------------------------------------
//  Self test: against a real registry actor, and against none

//  A decoded event of type with data {"n": n}, or {"email": email} when
//  email is not NULL (views point into buffer)
static void
s_test_event (zeb_event_view_t *view, msgpack_sbuffer *buffer, const char *type, int n,
              const char *email)
{
    msgpack_sbuffer_clear (buffer);
    zeb_pack_t pack;
    zeb_pack_init (&pack, buffer);
    zeb_pack_map (&pack, NULL);
    zeb_pack_str (&pack, "type", type);
    zeb_pack_str (&pack, "source", "test");
    zeb_pack_map (&pack, "data");
    if (email)
        zeb_pack_str (&pack, "email", email);
    else
        zeb_pack_int (&pack, "n", n);
    zeb_pack_end (&pack);
    zeb_pack_end (&pack);
    int rc = zeb_event_view_decode (view, buffer->data, buffer->size, NULL);
    assert (rc == 0);
}

static void
s_test_view (zeb_event_view_t *view, msgpack_sbuffer *buffer, const char *type, int n)
{
    s_test_event (view, buffer, type, n, NULL);
}

//  Serve the validator's socket until no lookup is held, or 5 s
static void
s_test_settle (zeb_validator_t *validator)
{
    int64_t deadline = zclock_mono () + 5000;
    while (zeb_validator_waiting (validator)) {
        assert (zclock_mono () < deadline);
        int timeout = zeb_validator_expire (validator);
        zpoller_t *poller = zpoller_new (zeb_validator_socket (validator), NULL);
        zpoller_wait (poller, timeout < 0 || timeout > 100? 100: timeout);
        zpoller_destroy (&poller);
        zeb_validator_handle_replies (validator);
    }
}

void
zeb_validator_test (bool verbose)
{
    printf (" * zeb_validator: ");
    char dir [] = "/tmp/zeb-validator-XXXXXX";
    assert (mkdtemp (dir));
    zeb_fault_t fault;
    zconfig_t *config = zconfig_new ("root", NULL);
    zconfig_put (config, "node/data", dir);
    char *endpoint = zeb_actor_inproc ("validator-test");
    zconfig_put (config, "registry/endpoint", endpoint);
    zactor_t *registry = zactor_new (zeb_actor_main, (void *) &zeb_registry_def);
    zhashx_t *endpoints = zhashx_new ();
    zhashx_set_destructor (endpoints, (zhashx_destructor_fn *) zstr_free);
    zhashx_set_duplicator (endpoints, (zhashx_duplicator_fn *) strdup);
    assert (zeb_actor_start (registry, config, endpoints, &fault) == 0);
    zeb_registry_client_t *client = zeb_registry_client_new (endpoint);
    assert (zeb_registry_client_register (client, "order.placed",
            "{\"type\":\"object\",\"properties\":{\"n\":{\"type\":\"integer\",\"maximum\":10}}}",
            NULL, NULL, NULL, &fault) == 0);

    //  enforce: a miss holds the event (1) at once, without waiting; the
    //  answer comes on the socket; then the event is checked
    zconfig_put (config, "ingest/validation", "enforce");
    zconfig_put (config, "ingest/registry", endpoint);
    zconfig_put (config, "ingest/registry_changes", (char *) zhashx_lookup (endpoints, "changes"));
    zconfig_put (config, "ingest/registry_timeout", "200ms");
    zconfig_put (config, "ingest/registry_retry", "60s");
    zconfig_put (config, "ingest/registry", endpoint);
    zeb_validator_t *validator = zeb_validator_new (config, &fault);
    assert (validator && zeb_validator_socket (validator) && zeb_validator_changes (validator));
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    zeb_event_view_t view;
    s_test_view (&view, &buffer, "order.placed", 5);
    assert (zeb_validator_check (validator, &view, &fault) == 1);
    assert (zeb_validator_waiting (validator));
    assert (zeb_validator_check (validator, &view, &fault) == 1);      //  one lookup, not two
    s_test_settle (validator);
    assert (zeb_validator_check (validator, &view, &fault) == 0);
    s_test_view (&view, &buffer, "order.placed", 50);
    assert (zeb_validator_check (validator, &view, &fault) == ZEB_ESCHEMA);
    assert (strstr (fault.text, "maximum"));
    //  A type without a schema: one lookup, then accepted from the cache
    s_test_view (&view, &buffer, "user.created", 50);
    assert (zeb_validator_check (validator, &view, &fault) == 1);
    s_test_settle (validator);
    assert (zeb_validator_check (validator, &view, &fault) == 0);
    zeb_validator_counters_t counters = zeb_validator_counters (validator);
    assert (counters.lookups == 2 && counters.validated == 2 && counters.refused == 1);
    assert (counters.unavailable == 0 && counters.timeouts == 0);
    zeb_validator_destroy (&validator);

    //  "format": an annotation by default (draft 2020-12), asserted with
    //  ingest/formats=assert
    assert (zeb_registry_client_register (client, "user.signed",
            "{\"type\":\"object\",\"properties\":{\"email\":{\"type\":\"string\",\"format\":\"email\"}}}",
            NULL, NULL, NULL, &fault) == 0);
    for (int assert_formats = 0; assert_formats < 2; assert_formats++) {
        zconfig_put (config, "ingest/formats", assert_formats? "assert": "annotate");
        validator = zeb_validator_new (config, &fault);
        assert (validator);
        s_test_event (&view, &buffer, "user.signed", 0, "ada@example.com");
        assert (zeb_validator_check (validator, &view, &fault) == 1);
        s_test_settle (validator);
        assert (zeb_validator_check (validator, &view, &fault) == 0);
        s_test_event (&view, &buffer, "user.signed", 0, "2962");
        int rc = zeb_validator_check (validator, &view, &fault);
        assert (rc == (assert_formats? ZEB_ESCHEMA: 0));
        if (assert_formats)
            assert (strstr (fault.text, "format"));
        zeb_validator_destroy (&validator);
    }
    zconfig_put (config, "ingest/formats", "annotate");

    //  A registry that does not answer: the first miss is held until the
    //  timeout, then the outage is remembered: no event waits again
    zsock_t *silent = zsock_new_router ("tcp://127.0.0.1:*");
    zconfig_put (config, "ingest/registry", zsock_endpoint (silent));
    zconfig_put (config, "ingest/registry_changes", "");
    validator = zeb_validator_new (config, &fault);
    assert (validator && !zeb_validator_changes (validator));
    s_test_view (&view, &buffer, "order.placed", 50);
    assert (zeb_validator_check (validator, &view, &fault) == 1);
    s_test_settle (validator);
    assert (zeb_validator_counters (validator).timeouts == 1);
    for (int index = 0; index < 100; index++) {
        s_test_view (&view, &buffer, index % 2? "order.placed": "order.shipped", 50);
        assert (zeb_validator_check (validator, &view, &fault) == 0);
        assert (!zeb_validator_waiting (validator));
    }
    counters = zeb_validator_counters (validator);
    assert (counters.unavailable == 100 && counters.validated == 0);
    //  ...and nothing is asked before ingest/registry_retry has passed
    assert (counters.lookups == 1);
    zeb_validator_destroy (&validator);

    //  The outage ends when a background probe is answered: then a miss
    //  is held for its answer again
    zconfig_put (config, "ingest/registry_retry", "50ms");
    zconfig_put (config, "ingest/registry_timeout", "1s");
    validator = zeb_validator_new (config, &fault);
    s_test_view (&view, &buffer, "order.placed", 50);
    assert (zeb_validator_check (validator, &view, &fault) == 1);
    s_test_settle (validator);
    int64_t deadline = zclock_mono () + 10000;
    while (zeb_validator_counters (validator).lookups < 2) {
        assert (zclock_mono () < deadline);
        zpoller_t *poller = zpoller_new (silent, NULL);
        zpoller_wait (poller, 10);              //  the retry interval passing
        zpoller_destroy (&poller);
        assert (zeb_validator_check (validator, &view, &fault) == 0);   //  unchecked meanwhile
    }
    //  The silent registry answers whatever it was asked: "no such type"
    zsock_set_rcvtimeo (silent, 5000);
    bool answered = false;
    while (!answered) {
        assert (zclock_mono () < deadline);
        zmsg_t *request = zmsg_recv (silent);
        assert (request && zmsg_size (request) == 4);
        zframe_t *identity = zmsg_pop (request);
        zframe_t *command = zmsg_pop (request);
        zframe_t *body = zmsg_pop (request);
        zframe_t *tag = zmsg_pop (request);
        msgpack_sbuffer nack;
        msgpack_sbuffer_init (&nack);
        zeb_proto_pack_nack (&nack, ZEB_ENOTFOUND, "no such type", -1);
        zmsg_t *reply = zmsg_new ();
        zmsg_append (reply, &identity);
        zmsg_addstr (reply, "NACK");
        zmsg_addmem (reply, nack.data, nack.size);
        zmsg_append (reply, &tag);
        zmsg_send (&reply, silent);
        msgpack_sbuffer_destroy (&nack);
        zframe_destroy (&command);
        zframe_destroy (&body);
        zmsg_destroy (&request);
        //  Until the probe's answer is taken, order.placed is unchecked;
        //  once it is, the answer is cached and a new type is held again
        int64_t wait = zclock_mono () + 300;
        while (!answered && zclock_mono () < wait) {
            zpoller_t *poller = zpoller_new (zeb_validator_socket (validator), NULL);
            zpoller_wait (poller, 50);
            zpoller_destroy (&poller);
            zeb_validator_handle_replies (validator);
            s_test_view (&view, &buffer, "brand.new", 1);
            answered = zeb_validator_check (validator, &view, &fault) == 1;
        }
    }
    zeb_validator_destroy (&validator);

    //  off: nothing is looked up
    zconfig_put (config, "ingest/validation", "off");
    validator = zeb_validator_new (config, &fault);
    assert (validator && !zeb_validator_socket (validator));
    assert (zeb_validator_check (validator, &view, &fault) == 0);
    assert (zeb_validator_expire (validator) == -1);
    zeb_validator_destroy (&validator);

    msgpack_sbuffer_destroy (&buffer);
    zsock_destroy (&silent);
    zeb_registry_client_destroy (&client);
    zactor_destroy (&registry);
    zhashx_destroy (&endpoints);
    zconfig_destroy (&config);
    zstr_free (&endpoint);
    zdir_t *tree = zdir_new (dir, NULL);
    zdir_remove (tree, true);
    zdir_destroy (&tree);
    printf ("OK\n");
}
