/*  =========================================================================
    zeb_http_sources - webhook sources: from configuration (http/webhooks/NAME)
    and from the admin routes (/api/webhooks), which keep theirs in the
    data directory (http-sources.zpl, mode 0600: it holds secrets)

    Workers find a source under a read lock (zeb_http_sources_lock) held
    for the whole delivery; a PUT or DELETE rebuilds the API's sources
    under the write lock and saves them (written aside, flushed, renamed)
    before it answers. A source made through the API is found before one
    of the same name in the configuration, and DELETE removes only those.
    =========================================================================
*/

#include "zeb_http_int.h"

#define S_NAME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"

//  ---------------------------------------------------------------------
//  Sources from configuration

static int
s_list (const char *text, char list [][64], size_t *count, const char *key, zeb_fault_t *fault)
{
    *count = 0;
    const char *cursor = text, *p;
    size_t len;
    while ((p = zeb_http_list_next (&cursor, &len))) {
        if (len >= 64 || *count == ZEB_HTTP_MAX_HEADERS)
            return zeb_fault_set (fault, ZEB_ECONFIG, "%s: at most %d headers of at most 63 bytes",
                                  key, ZEB_HTTP_MAX_HEADERS);
        memcpy (list [*count], p, len);
        list [(*count)++][len] = 0;
    }
    return 0;
}

int
zeb_http_source_secret_add (zeb_http_source_t *source, const char *secret, const char *key, zeb_fault_t *fault)
{
    if (!*secret)
        return 0;
    uint8_t *bytes = NULL;
    size_t size = 0;
    if (source->scheme == ZEB_HTTP_SCHEME_STANDARD) {
        const char *text = strncmp (secret, "whsec_", 6) == 0? secret + 6: secret;
        if (zeb_json_unbase64 (text, strlen (text), &bytes, &size) || size == 0) {
            free (bytes);
            return zeb_fault_set (fault, ZEB_ECONFIG, "%s: a Standard Webhooks secret is whsec_BASE64", key);
        }
    }
    else {
        size = strlen (secret);
        bytes = (uint8_t *) malloc (size);
        memcpy (bytes, secret, size);
    }
    source->secrets [source->secret_count] = bytes;
    source->secret_sizes [source->secret_count++] = size;
    return 0;
}

static int
s_source_load (zeb_http_source_t *source, zconfig_t *item, uint64_t max_body, zeb_fault_t *fault)
{
    const char *name = zconfig_name (item);
    size_t len = strlen (name);
    if (len == 0 || len > ZEB_HTTP_MAX_SOURCE || strspn (name, S_NAME_CHARS) != len)
        return zeb_fault_set (fault, ZEB_ECONFIG,
                              "http/webhooks/%s: a source is 1..64 letters, digits, '_' or '-'", name);
    snprintf (source->name, sizeof (source->name), "%s", name);
    const char *scheme = zconfig_get (item, "scheme", "none");
    source->scheme = streq (scheme, "github")? ZEB_HTTP_SCHEME_GITHUB:
                     streq (scheme, "stripe")? ZEB_HTTP_SCHEME_STRIPE:
                     streq (scheme, "standard")? ZEB_HTTP_SCHEME_STANDARD:
                     streq (scheme, "hmac")? ZEB_HTTP_SCHEME_HMAC: ZEB_HTTP_SCHEME_NONE;
    char key [128];
    snprintf (key, sizeof (key), "http/webhooks/%s/secret", name);
    if (zeb_http_source_secret_add (source, zconfig_get (item, "secret", ""), key, fault))
        return fault->code;
    snprintf (key, sizeof (key), "http/webhooks/%s/secret2", name);
    if (zeb_http_source_secret_add (source, zconfig_get (item, "secret2", ""), key, fault))
        return fault->code;
    if (source->scheme != ZEB_HTTP_SCHEME_NONE && source->secret_count == 0)
        return zeb_fault_set (fault, ZEB_ECONFIG, "http/webhooks/%s: scheme %s needs a secret",
                              name, scheme);
    snprintf (source->header, sizeof (source->header), "%s", zconfig_get (item, "header", "X-Signature"));
    source->base64 = streq (zconfig_get (item, "encoding", "hex"), "base64");
    snprintf (source->prefix, sizeof (source->prefix), "%s", zconfig_get (item, "prefix", ""));
    zeb_config_parse_duration (zconfig_get (item, "tolerance", "300s"), &source->tolerance_ms);
    uint64_t own = 0;
    zeb_config_parse_size (zconfig_get (item, "max_body", "0"), &own);
    source->max_body = own? own: max_body;
    snprintf (key, sizeof (key), "http/webhooks/%s/required_headers", name);
    if (s_list (zconfig_get (item, "required_headers", ""), source->required, &source->required_count,
                key, fault))
        return fault->code;
    snprintf (key, sizeof (key), "http/webhooks/%s/headers", name);
    const char *fallback = source->scheme == ZEB_HTTP_SCHEME_GITHUB? "X-GitHub-Event": "";
    if (s_list (zconfig_get (item, "headers", fallback), source->keep, &source->keep_count, key, fault))
        return fault->code;
    return 0;
}

static void
s_sources_free (zeb_http_source_t **sources, size_t *count)
{
    for (size_t index = 0; index < *count; index++)
        for (size_t secret = 0; secret < (*sources) [index].secret_count; secret++)
            free ((*sources) [index].secrets [secret]);
    free (*sources);
    *sources = NULL;
    *count = 0;
}

//  Every child of root with children as a source into *sources
static int
s_sources_from (zconfig_t *root, uint64_t max_body, zeb_http_source_t **sources, size_t *count,
                zeb_fault_t *fault)
{
    size_t total = 0;
    for (zconfig_t *item = root? zconfig_child (root): NULL; item; item = zconfig_next (item))
        total += zconfig_child (item) != NULL;
    *sources = total? (zeb_http_source_t *) zmalloc (total * sizeof (zeb_http_source_t)): NULL;
    *count = 0;
    for (zconfig_t *item = root? zconfig_child (root): NULL; item; item = zconfig_next (item)) {
        if (!zconfig_child (item))
            continue;               //  accept_unknown
        if (s_source_load (&(*sources) [(*count)++], item, max_body, fault)) {
            s_sources_free (sources, count);
            return fault->code;
        }
    }
    return 0;
}

int
zeb_http_sources_load (zeb_http_t *http, zconfig_t *config, zeb_fault_t *fault)
{
    pthread_rwlock_init (&http->sources_lock, NULL);
    http->sources_locked = true;
    if (s_sources_from (zconfig_locate (config, "http/webhooks"), http->max_body, &http->sources,
                        &http->source_count, fault))
        return fault->code;
    const char *data = zeb_config_str (config, "node/data");
    if (!*data)
        return 0;                   //  no data directory: no sources by the API
    http->sources_path = zsys_sprintf ("%s/http-sources.zpl", data);
    http->added_root = zsys_file_exists (http->sources_path)? zconfig_load (http->sources_path): NULL;
    if (zsys_file_exists (http->sources_path) && !http->added_root)
        return zeb_fault_set (fault, ZEB_ECONFIG, "%s: not ZPL", http->sources_path);
    if (!http->added_root)
        http->added_root = zconfig_new ("root", NULL);
    if (s_sources_from (http->added_root, http->max_body, &http->added, &http->added_count, fault))
        return zeb_fault_set (fault, ZEB_ECONFIG, "%s: %s", http->sources_path, fault->text);
    return 0;
}

void
zeb_http_sources_free (zeb_http_t *http)
{
    s_sources_free (&http->sources, &http->source_count);
    s_sources_free (&http->added, &http->added_count);
    zconfig_destroy (&http->added_root);
    zstr_free (&http->sources_path);
    if (http->sources_locked)
        pthread_rwlock_destroy (&http->sources_lock);
    http->sources_locked = false;
}

void
zeb_http_sources_lock (zeb_http_t *http)
{
    pthread_rwlock_rdlock (&http->sources_lock);
}

void
zeb_http_sources_unlock (zeb_http_t *http)
{
    pthread_rwlock_unlock (&http->sources_lock);
}

const zeb_http_source_t *
zeb_http_source_find (zeb_http_t *http, const char *name, bool *added)
{
    for (size_t index = 0; index < http->added_count; index++)
        if (streq (http->added [index].name, name)) {
            if (added)
                *added = true;
            return &http->added [index];
        }
    for (size_t index = 0; index < http->source_count; index++)
        if (streq (http->sources [index].name, name)) {
            if (added)
                *added = false;
            return &http->sources [index];
        }
    return NULL;
}

size_t
zeb_http_sources_count (zeb_http_t *http)
{
    zeb_http_sources_lock (http);
    size_t count = http->source_count + http->added_count;
    zeb_http_sources_unlock (http);
    return count;
}

//  ---------------------------------------------------------------------
//  The admin routes: GET, PUT, DELETE /api/webhooks[/{source}]

static const char *s_schemes [] = { "none", "github", "stripe", "standard", "hmac" };

//  A source as JSON, its secrets only counted
static json_t *
s_source_json (const zeb_http_source_t *source, bool added)
{
    json_t *required = json_array ();
    for (size_t index = 0; index < source->required_count; index++)
        json_array_append_new (required, json_string (source->required [index]));
    json_t *kept = json_array ();
    for (size_t index = 0; index < source->keep_count; index++)
        json_array_append_new (kept, json_string (source->keep [index]));
    json_t *json = json_pack ("{s:s, s:s, s:i, s:s, s:I, s:I, s:o, s:o}",
        "name", source->name, "scheme", s_schemes [source->scheme],
        "secrets", (int) source->secret_count, "origin", added? "api": "config",
        "toleranceMs", (json_int_t) source->tolerance_ms, "maxBody", (json_int_t) source->max_body,
        "requiredHeaders", required, "headers", kept);
    if (source->scheme == ZEB_HTTP_SCHEME_HMAC)
        json_object_set_new (json, "hmac", json_pack ("{s:s, s:s, s:s}", "header", source->header,
                             "encoding", source->base64? "base64": "hex", "prefix", source->prefix));
    return json;
}

int
zeb_http_sources_list (zeb_http_req_t *req)
{
    zeb_http_t *http = req->http;
    json_t *items = json_array ();
    zeb_http_sources_lock (http);
    for (size_t index = 0; index < http->added_count; index++)
        json_array_append_new (items, s_source_json (&http->added [index], true));
    for (size_t index = 0; index < http->source_count; index++) {
        bool added;
        if (zeb_http_source_find (http, http->sources [index].name, &added) == &http->sources [index])
            json_array_append_new (items, s_source_json (&http->sources [index], false));
    }
    zeb_http_sources_unlock (http);
    return zeb_http_reply_json (req, 200, json_pack ("{s:o, s:b}", "items", items,
                                "acceptUnknown", http->accept_unknown), NULL);
}

int
zeb_http_source_get (zeb_http_req_t *req)
{
    zeb_http_t *http = req->http;
    zeb_http_sources_lock (http);
    bool added = false;
    const zeb_http_source_t *source = zeb_http_source_find (http, req->params [0], &added);
    json_t *json = source? s_source_json (source, added): NULL;
    zeb_http_sources_unlock (http);
    if (!json)
        return zeb_http_reply_error (req, 404, "NOT_FOUND", "no webhook source '%s'", req->params [0]);
    return zeb_http_reply_json (req, 200, json, NULL);
}

//  The request's fields as a ZPL item named name; NULL having replied 400
static zconfig_t *
s_item_from (zeb_http_req_t *req, json_t *body, const char *name)
{
    static const char *keys [] = { "scheme", "secret", "secret2", "header", "encoding", "prefix",
                                   "tolerance", "max_body", "required_headers", "headers", NULL };
    zconfig_t *item = zconfig_new (name, NULL);
    const char *key;
    json_t *value;
    json_object_foreach (body, key, value) {
        size_t index = 0;
        while (keys [index] && !streq (keys [index], key))
            index++;
        char text [1024];
        if (json_is_array (value) && (streq (key, "required_headers") || streq (key, "headers"))) {
            text [0] = 0;
            size_t at;
            json_t *header;
            json_array_foreach (value, at, header)
                if (json_is_string (header))
                    snprintf (text + strlen (text), sizeof (text) - strlen (text), "%s%s",
                              at? ",": "", json_string_value (header));
        }
        else
        if (json_is_string (value))
            snprintf (text, sizeof (text), "%s", json_string_value (value));
        else
        if (json_is_integer (value))
            snprintf (text, sizeof (text), "%lld", (long long) json_integer_value (value));
        else
            index = (size_t) -1;
        if (index == (size_t) -1 || !keys [index]) {
            if (index == (size_t) -1)
                zeb_http_reply_error (req, 400, "INVALID_ATTRIBUTE",
                                      "%s: a string (headers: an array of strings)", key);
            else
                zeb_http_reply_error (req, 400, "INVALID_ATTRIBUTE", "%s: not a field of a webhook source", key);
            zconfig_destroy (&item);
            return NULL;
        }
        zconfig_put (item, key, text);
    }
    //  The values configuration would have refused
    const char *scheme = zconfig_get (item, "scheme", "none");
    size_t known = 0;
    while (known < 5 && !streq (s_schemes [known], scheme))
        known++;
    int64_t tolerance;
    uint64_t size;
    const char *error = known == 5? "scheme: none, github, stripe, standard or hmac"
        : !(streq (zconfig_get (item, "encoding", "hex"), "hex") || streq (zconfig_get (item, "encoding", "hex"), "base64"))
          ? "encoding: hex or base64"
        : zeb_config_parse_duration (zconfig_get (item, "tolerance", "300s"), &tolerance)
          || tolerance < 1000 || tolerance > 86400000? "tolerance: a duration of 1s..1d"
        : zeb_config_parse_size (zconfig_get (item, "max_body", "0"), &size) || size > (1u << 30)
          ? "max_body: a size up to 1GiB": NULL;
    if (error) {
        zeb_http_reply_error (req, 400, "INVALID_ATTRIBUTE", "%s", error);
        zconfig_destroy (&item);
    }
    return item;
}

//  Save the API's sources: written aside, flushed, renamed, directory flushed
static int
s_save (zeb_http_t *http, zeb_fault_t *fault)
{
    char *aside = zsys_sprintf ("%s.new", http->sources_path);
    int rc = zconfig_save (http->added_root, aside);
    int fd = rc == 0? open (aside, O_RDONLY): -1;
    if (fd >= 0) {
        rc = fchmod (fd, 0600) || fsync (fd)? -1: 0;
        close (fd);
    }
    else
        rc = -1;
    if (rc == 0)
        rc = rename (aside, http->sources_path);
    if (rc == 0) {
        char *dir = strdup (http->sources_path);
        char *slash = strrchr (dir, '/');
        if (slash)
            *slash = 0;
        int dirfd = open (slash? dir: ".", O_RDONLY | O_DIRECTORY);
        if (dirfd >= 0) {
            fsync (dirfd);
            close (dirfd);
        }
        free (dir);
    }
    if (rc)
        zeb_fault_set (fault, ZEB_ESTORAGE, "%s: %s", http->sources_path, strerror (errno));
    zstr_free (&aside);
    return rc? ZEB_ESTORAGE: 0;
}

//  A copy of root without its child name (zconfig's remove is a draft
//  method): each source's fields are copied
static zconfig_t *
s_root_without (zconfig_t *root, const char *name)
{
    zconfig_t *copy = zconfig_new ("root", NULL);
    for (zconfig_t *item = root? zconfig_child (root): NULL; item; item = zconfig_next (item)) {
        if (streq (zconfig_name (item), name))
            continue;
        zconfig_t *source = zconfig_new (zconfig_name (item), copy);
        for (zconfig_t *field = zconfig_child (item); field; field = zconfig_next (field))
            zconfig_put (source, zconfig_name (field), zconfig_value (field));
    }
    return copy;
}

//  Rebuild the API's sources from added_root and save them; under the
//  write lock. On failure the previous sources stay.
static int
s_rebuild (zeb_http_t *http, zeb_fault_t *fault)
{
    zeb_http_source_t *sources = NULL;
    size_t count = 0;
    int rc = s_sources_from (http->added_root, http->max_body, &sources, &count, fault);
    if (rc == 0)
        rc = s_save (http, fault);
    if (rc) {
        s_sources_free (&sources, &count);
        return rc;
    }
    s_sources_free (&http->added, &http->added_count);
    http->added = sources;
    http->added_count = count;
    return 0;
}

int
zeb_http_source_put (zeb_http_req_t *req)
{
    zeb_http_t *http = req->http;
    const char *name = req->params [0];
    size_t len = strlen (name);
    if (len == 0 || len > ZEB_HTTP_MAX_SOURCE || strspn (name, S_NAME_CHARS) != len)
        return zeb_http_reply_error (req, 400, "INVALID_ATTRIBUTE",
                                     "a source is 1..64 letters, digits, '_' or '-'");
    if (!http->sources_path)
        return zeb_http_reply_error (req, 503, "UNREACHABLE",
                                     "this gateway has no data directory to keep sources in");
    json_t *body = zeb_http_body_json (req, true);
    if (!body)
        return req->status;
    zconfig_t *item = s_item_from (req, body, name);
    json_decref (body);
    if (!item)
        return req->status;
    //  It must load as configuration would
    zeb_http_source_t trial;
    memset (&trial, 0, sizeof (trial));
    zeb_fault_t fault = { 0 };
    int rc = s_source_load (&trial, item, http->max_body, &fault);
    for (size_t secret = 0; secret < trial.secret_count; secret++)
        free (trial.secrets [secret]);
    if (rc) {
        zconfig_destroy (&item);
        const char *text = strstr (fault.text, ": ");
        return zeb_http_reply_error (req, 400, "INVALID_ATTRIBUTE", "%s", text? text + 2: fault.text);
    }
    pthread_rwlock_wrlock (&http->sources_lock);
    bool created = zconfig_locate (http->added_root, name) == NULL;
    zconfig_t *previous = http->added_root;
    http->added_root = s_root_without (previous, name);
    zconfig_t *copy = zconfig_new (name, http->added_root);
    for (zconfig_t *field = zconfig_child (item); field; field = zconfig_next (field))
        zconfig_put (copy, zconfig_name (field), zconfig_value (field));
    zconfig_destroy (&item);
    rc = s_rebuild (http, &fault);
    json_t *json = NULL;
    if (rc == 0) {
        json = s_source_json (zeb_http_source_find (http, name, NULL), true);
        zconfig_destroy (&previous);
    }
    else {
        zconfig_destroy (&http->added_root);
        http->added_root = previous;    //  as it was
    }
    pthread_rwlock_unlock (&http->sources_lock);
    if (rc)
        return zeb_http_reply_error (req, 500, "STORAGE_ERROR", "%s", fault.text);
    return zeb_http_reply_json (req, created? 201: 200, json, NULL);
}

int
zeb_http_source_delete (zeb_http_req_t *req)
{
    zeb_http_t *http = req->http;
    const char *name = req->params [0];
    pthread_rwlock_wrlock (&http->sources_lock);
    bool found = http->added_root && zconfig_locate (http->added_root, name);
    bool configured = false;
    for (size_t index = 0; index < http->source_count; index++)
        configured |= streq (http->sources [index].name, name);
    int rc = 0;
    zeb_fault_t fault = { 0 };
    if (found) {
        zconfig_t *previous = http->added_root;
        http->added_root = s_root_without (previous, name);
        rc = s_rebuild (http, &fault);
        if (rc) {
            zconfig_destroy (&http->added_root);
            http->added_root = previous;
        }
        else
            zconfig_destroy (&previous);
    }
    pthread_rwlock_unlock (&http->sources_lock);
    if (rc)
        return zeb_http_reply_error (req, 500, "STORAGE_ERROR", "%s", fault.text);
    if (!found && configured)
        return zeb_http_reply_error (req, 409, "CONFIGURED", "the source '%s' is in the configuration "
                                     "(http/webhooks/%s): change it there", name, name);
    if (!found)
        return zeb_http_reply_error (req, 404, "NOT_FOUND", "no webhook source '%s'", name);
    return zeb_http_reply_json (req, 200, json_pack ("{s:s, s:b}", "name", name,
                                "configured", configured), NULL);
}
