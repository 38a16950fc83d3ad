/*  =========================================================================
    zeb_http_hook - inbound webhooks: sources, signatures, events

    A delivery to POST /webhooks/SOURCE becomes one event:

      type            custom.webhook.SOURCE
      source          webhook/SOURCE
      data            the body, if it is JSON (a JSON content type, or none
                      and the body parses); else {body: BASE64, contentType}
      datacontenttype the request's Content-Type
      idempotencykey  webhook/SOURCE/ID, ID the sender's delivery id:
                      X-GitHub-Delivery (github), webhook-id (standard),
                      the body's "id" (stripe, the event id), else an
                      Idempotency-Key header; none: every delivery is new
      correlationid   X-Correlation-Id, when sent
      extensions      the headers of http/webhooks/SOURCE/headers (github:
                      X-GitHub-Event by default), named by their letters
                      and digits in lower case without a leading "x"
                      (X-GitHub-Event: githubevent)

    Signatures (every comparison in constant time, CRYPTO_memcmp, of
    decoded bytes; each of up to two secrets is tried, for rotation):

      github    X-Hub-Signature-256: sha256=HEX, HMAC-SHA256 (secret, body)
      stripe    Stripe-Signature: t=T,v1=HEX[,v1=HEX...], HMAC-SHA256
                (secret, "T.body"), T within the tolerance of now
      standard  webhook-id, webhook-timestamp, webhook-signature: "v1,B64"
                entries separated by spaces, HMAC-SHA256 (base64-decoded
                secret after "whsec_", "id.timestamp.body"), timestamp
                within the tolerance
      hmac      HEADER: [PREFIX]HEX or BASE64, HMAC-SHA256 (secret, body)

    A delivery that fails is 401 {code, reason: "UNAUTHORIZED", error},
    counted (signature_failures), and nothing is stored.
    =========================================================================
*/

#include "zeb_http_int.h"
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>

//  ---------------------------------------------------------------------
//  HMAC-SHA256 of parts

//  Fetched once per process: EVP_MAC_fetch looks the algorithm up in the
//  providers under a lock, which costs more than the HMAC of a small body
static EVP_MAC *s_mac;
static pthread_once_t s_mac_once = PTHREAD_ONCE_INIT;

static void
s_mac_fetch (void)
{
    s_mac = EVP_MAC_fetch (NULL, "HMAC", NULL);
}

static int
s_hmac (const uint8_t *key, size_t key_size, const char *const *parts, const size_t *sizes,
        size_t count, uint8_t digest [32])
{
    pthread_once (&s_mac_once, s_mac_fetch);
    EVP_MAC_CTX *context = s_mac? EVP_MAC_CTX_new (s_mac): NULL;
    OSSL_PARAM params [] = {
        OSSL_PARAM_construct_utf8_string (OSSL_MAC_PARAM_DIGEST, (char *) "SHA256", 0),
        OSSL_PARAM_construct_end ()
    };
    size_t digest_size = 0;
    int ok = context && EVP_MAC_init (context, key, key_size, params);
    for (size_t index = 0; ok && index < count; index++)
        ok = EVP_MAC_update (context, (const unsigned char *) parts [index], sizes [index]);
    ok = ok && EVP_MAC_final (context, digest, &digest_size, 32) && digest_size == 32;
    EVP_MAC_CTX_free (context);
    return ok? 0: -1;
}

//  HEX (exactly 64 digits) into 32 bytes; 0 or -1
static int
s_unhex (const char *text, size_t len, uint8_t out [32])
{
    if (len != 64)
        return -1;
    for (size_t index = 0; index < 32; index++) {
        int value = 0;
        for (int half = 0; half < 2; half++) {
            char c = text [index * 2 + half];
            int digit = isdigit ((unsigned char) c)? c - '0':
                        (c >= 'a' && c <= 'f')? c - 'a' + 10:
                        (c >= 'A' && c <= 'F')? c - 'A' + 10: -1;
            if (digit < 0)
                return -1;
            value = value * 16 + digit;
        }
        out [index] = (uint8_t) value;
    }
    return 0;
}

//  BASE64 of exactly 32 bytes into out; 0 or -1
static int
s_unbase64_32 (const char *text, size_t len, uint8_t out [32])
{
    uint8_t *bytes;
    size_t size;
    if (zeb_json_unbase64 (text, len, &bytes, &size))
        return -1;
    int rc = size == 32? 0: -1;
    if (rc == 0)
        memcpy (out, bytes, 32);
    free (bytes);
    return rc;
}

//  Does the claimed digest match the HMAC of parts under any secret?
static bool
s_matches (const zeb_http_source_t *source, const uint8_t claimed [32], const char *const *parts,
           const size_t *sizes, size_t count)
{
    bool match = false;
    for (size_t index = 0; index < source->secret_count; index++) {
        uint8_t digest [32];
        if (s_hmac (source->secrets [index], source->secret_sizes [index], parts, sizes, count, digest) == 0
        &&  CRYPTO_memcmp (digest, claimed, 32) == 0)
            match = true;           //  no early exit: the same work either way
    }
    return match;
}

static int
s_fail (char *why, size_t size, const char *text)
{
    snprintf (why, size, "%s", text);
    return -1;
}

//  A decimal timestamp in seconds, within tolerance of now; 0 or -1
static int
s_timestamp_ok (const char *text, size_t len, int64_t now_ms, int64_t tolerance_ms)
{
    if (len == 0 || len > 12 || strspn (text, "0123456789") < len)
        return -1;
    int64_t seconds = 0;
    for (size_t index = 0; index < len; index++)
        seconds = seconds * 10 + (text [index] - '0');
    int64_t skew = now_ms - seconds * 1000;
    return (skew > tolerance_ms || skew < -tolerance_ms)? -1: 0;
}

int
zeb_http_verify (const zeb_http_source_t *source, zeb_http_header_fn *header, void *arg,
                 const char *body, size_t size, int64_t now_ms, char *why, size_t why_size)
{
    uint8_t claimed [32];
    const char *value;
    switch (source->scheme) {
        case ZEB_HTTP_SCHEME_NONE:
            return 0;
        case ZEB_HTTP_SCHEME_GITHUB: {
            value = header (arg, "X-Hub-Signature-256");
            if (!value)
                return s_fail (why, why_size, "no X-Hub-Signature-256 header");
            if (strncmp (value, "sha256=", 7) != 0 || s_unhex (value + 7, strlen (value + 7), claimed))
                return s_fail (why, why_size, "X-Hub-Signature-256 is not sha256=HEX");
            const char *parts [] = { body };
            if (!s_matches (source, claimed, parts, &size, 1))
                return s_fail (why, why_size, "X-Hub-Signature-256 does not match the body");
            return 0;
        }
        case ZEB_HTTP_SCHEME_HMAC: {
            value = header (arg, source->header);
            if (!value) {
                snprintf (why, why_size, "no %s header", source->header);
                return -1;
            }
            size_t prefix = strlen (source->prefix);
            if (prefix && strncmp (value, source->prefix, prefix) == 0)
                value += prefix;
            int rc = source->base64? s_unbase64_32 (value, strlen (value), claimed)
                                   : s_unhex (value, strlen (value), claimed);
            if (rc) {
                snprintf (why, why_size, "%s is not %s of 32 bytes", source->header,
                          source->base64? "base64": "hex");
                return -1;
            }
            const char *parts [] = { body };
            if (!s_matches (source, claimed, parts, &size, 1)) {
                snprintf (why, why_size, "%s does not match the body", source->header);
                return -1;
            }
            return 0;
        }
        case ZEB_HTTP_SCHEME_STRIPE: {
            value = header (arg, "Stripe-Signature");
            if (!value)
                return s_fail (why, why_size, "no Stripe-Signature header");
            //  t=T first or anywhere; every v1= is a candidate
            const char *stamp = NULL;
            size_t stamp_len = 0;
            for (const char *p = value; *p; ) {
                size_t len = strcspn (p, ",");
                if (len > 2 && p [0] == 't' && p [1] == '=')
                    stamp = p + 2, stamp_len = len - 2;
                p += len;
                if (*p == ',')
                    p++;
            }
            if (!stamp || s_timestamp_ok (stamp, stamp_len, now_ms, source->tolerance_ms))
                return s_fail (why, why_size, "Stripe-Signature has no timestamp within the tolerance");
            const char *parts [] = { stamp, ".", body };
            size_t sizes [] = { stamp_len, 1, size };
            bool match = false;
            for (const char *p = value; *p; ) {
                size_t len = strcspn (p, ",");
                if (len > 3 && p [0] == 'v' && p [1] == '1' && p [2] == '='
                &&  s_unhex (p + 3, len - 3, claimed) == 0
                &&  s_matches (source, claimed, parts, sizes, 3))
                    match = true;
                p += len;
                if (*p == ',')
                    p++;
            }
            if (!match)
                return s_fail (why, why_size, "no v1 signature of Stripe-Signature matches");
            return 0;
        }
        case ZEB_HTTP_SCHEME_STANDARD: {
            const char *id = header (arg, "webhook-id");
            const char *stamp = header (arg, "webhook-timestamp");
            value = header (arg, "webhook-signature");
            if (!id || !stamp || !value)
                return s_fail (why, why_size, "needs webhook-id, webhook-timestamp and webhook-signature");
            if (s_timestamp_ok (stamp, strlen (stamp), now_ms, source->tolerance_ms))
                return s_fail (why, why_size, "webhook-timestamp is not within the tolerance");
            const char *parts [] = { id, ".", stamp, ".", body };
            size_t sizes [] = { strlen (id), 1, strlen (stamp), 1, size };
            bool match = false;
            for (const char *p = value; *p; ) {
                while (*p == ' ')
                    p++;
                size_t len = strcspn (p, " ");
                if (len > 3 && strncmp (p, "v1,", 3) == 0
                &&  s_unbase64_32 (p + 3, len - 3, claimed) == 0
                &&  s_matches (source, claimed, parts, sizes, 5))
                    match = true;
                p += len;
            }
            if (!match)
                return s_fail (why, why_size, "no v1 signature of webhook-signature matches");
            return 0;
        }
    }
    return s_fail (why, why_size, "unknown scheme");
}

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

static int
s_secret_add (zeb_http_source_t *source, const char *secret, const char *key, zeb_fault_t *fault)
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
    if (len == 0 || len > ZEB_HTTP_MAX_SOURCE || strspn (name,
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != len)
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
    if (s_secret_add (source, zconfig_get (item, "secret", ""), key, fault))
        return fault->code;
    snprintf (key, sizeof (key), "http/webhooks/%s/secret2", name);
    if (s_secret_add (source, zconfig_get (item, "secret2", ""), key, fault))
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

int
zeb_http_sources_load (zeb_http_t *http, zconfig_t *config, zeb_fault_t *fault)
{
    zconfig_t *webhooks = zconfig_locate (config, "http/webhooks");
    size_t count = 0;
    for (zconfig_t *item = webhooks? zconfig_child (webhooks): NULL; item; item = zconfig_next (item))
        count += zconfig_child (item) != NULL;
    if (count == 0)
        return 0;
    http->sources = (zeb_http_source_t *) zmalloc (count * sizeof (zeb_http_source_t));
    for (zconfig_t *item = zconfig_child (webhooks); item; item = zconfig_next (item)) {
        if (!zconfig_child (item))
            continue;               //  accept_unknown
        if (s_source_load (&http->sources [http->source_count++], item, http->max_body, fault))
            return fault->code;
    }
    return 0;
}

void
zeb_http_sources_free (zeb_http_t *http)
{
    for (size_t index = 0; index < http->source_count; index++)
        for (size_t secret = 0; secret < http->sources [index].secret_count; secret++)
            free (http->sources [index].secrets [secret]);
    free (http->sources);
    http->sources = NULL;
    http->source_count = 0;
}

//  ---------------------------------------------------------------------
//  The route

static const char *
s_conn_header (void *arg, const char *name)
{
    return mg_get_header ((const struct mg_connection *) arg, name);
}

//  X-GitHub-Event -> githubevent
static void
s_extension_name (const char *header, char *name)
{
    size_t out = 0;
    const char *p = header;
    if ((p [0] == 'x' || p [0] == 'X') && p [1] == '-')
        p += 2;
    for (; *p && out < 20; p++)
        if (isalnum ((unsigned char) *p))
            name [out++] = (char) tolower ((unsigned char) *p);
    name [out] = 0;
}

static bool
s_json_type (const char *type)
{
    if (!type)
        return false;
    size_t len = strcspn (type, ";");
    while (len && type [len - 1] == ' ')
        len--;
    return (len == 16 && strncasecmp (type, "application/json", 16) == 0)
        || (len > 5 && strncasecmp (type + len - 5, "+json", 5) == 0);
}

//  The sender's delivery id, or NULL; id_json holds a body's parse
static const char *
s_delivery_id (zeb_http_req_t *req, const zeb_http_source_t *source, json_t *data)
{
    const char *id = NULL;
    if (source && source->scheme == ZEB_HTTP_SCHEME_GITHUB)
        id = zeb_http_header (req, "X-GitHub-Delivery");
    else
    if (source && source->scheme == ZEB_HTTP_SCHEME_STANDARD)
        id = zeb_http_header (req, "webhook-id");
    else
    if (source && source->scheme == ZEB_HTTP_SCHEME_STRIPE && json_is_object (data))
        id = json_string_value (json_object_get (data, "id"));
    if (!id)
        id = zeb_http_header (req, "Idempotency-Key");
    return id && *id? id: NULL;
}

//  Build the delivery's event; NULL having replied 400
static zeb_event_t *
s_event (zeb_http_req_t *req, const char *name, const zeb_http_source_t *source)
{
    char text [300];
    snprintf (text, sizeof (text), "custom.webhook.%s", name);
    zeb_event_t *event = zeb_event_new (text);
    snprintf (text, sizeof (text), "webhook/%s", name);
    zeb_event_set (event, "source", text);
    const char *type = zeb_http_header (req, "Content-Type");
    zeb_fault_t fault;
    json_t *data = NULL;
    bool json = s_json_type (type);
    if (json || !type)
        data = zeb_json_parse (req->body, req->body_size, &fault);
    if (json && !data) {
        zeb_event_destroy (&event);
        ZEB_HTTP_COUNT (req->http, bad_requests);
        zeb_http_reply_error (req, 400, "MALFORMED", "the body is not JSON: %s", fault.text);
        return NULL;
    }
    if (!data) {
        char *encoded = zeb_json_base64 ((const uint8_t *) req->body, req->body_size);
        data = json_pack ("{s:s, s:s}", "body", encoded, "contentType",
                          type? type: "application/octet-stream");
        free (encoded);
    }
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer packer;
    msgpack_packer_init (&packer, &buffer, msgpack_sbuffer_write);
    int rc = data? zeb_json_to_msgpack (data, &packer): -1;
    if (rc == 0)
        rc = zeb_event_set_data (event, buffer.data, buffer.size);
    msgpack_sbuffer_destroy (&buffer);
    const char *id = rc == 0? s_delivery_id (req, source, data): NULL;
    if (id) {
        snprintf (text, sizeof (text), "webhook/%s/%.200s", name, id);
        zeb_event_set (event, "idempotencykey", text);
    }
    json_decref (data);
    if (rc) {
        zeb_event_destroy (&event);
        ZEB_HTTP_COUNT (req->http, bad_requests);
        zeb_http_reply_error (req, 400, "MALFORMED", "the body nests too deeply");
        return NULL;
    }
    if (type)
        zeb_event_set (event, "datacontenttype", type);
    const char *correlation = zeb_http_header (req, "X-Correlation-Id");
    if (correlation && *correlation)
        zeb_event_set (event, "correlationid", correlation);
    for (size_t index = 0; source && index < source->keep_count; index++) {
        const char *value = zeb_http_header (req, source->keep [index]);
        char extension [21];
        s_extension_name (source->keep [index], extension);
        if (value && *value && *extension)
            zeb_event_set (event, extension, value);
    }
    return event;
}

int
zeb_http_webhook (zeb_http_req_t *req)
{
    zeb_http_t *http = req->http;
    const char *name = req->params [0];
    ZEB_HTTP_COUNT (http, webhooks);
    const zeb_http_source_t *source = NULL;
    for (size_t index = 0; index < http->source_count && !source; index++)
        if (streq (http->sources [index].name, name))
            source = &http->sources [index];
    size_t len = strlen (name);
    if (!source && (!http->accept_unknown || len > ZEB_HTTP_MAX_SOURCE
                    || strspn (name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != len)) {
        ZEB_HTTP_COUNT (http, unknown_sources);
        return zeb_http_reply_error (req, 404, "NOT_FOUND", "no webhook source '%s'", name);
    }
    for (size_t index = 0; source && index < source->required_count; index++)
        if (!zeb_http_header (req, source->required [index])) {
            ZEB_HTTP_COUNT (http, bad_requests);
            return zeb_http_reply_error (req, 400, "MISSING_ATTRIBUTE", "needs the header %s",
                                         source->required [index]);
        }
    if (zeb_http_read_body (req, source? source->max_body: http->max_body))
        return req->status;
    if (source) {
        char why [160];
        if (zeb_http_verify (source, s_conn_header, req->conn, req->body, req->body_size,
                             zeb_time_now (), why, sizeof (why))) {
            ZEB_HTTP_COUNT (http, signature_failures);
            return zeb_http_reply_error (req, 401, "UNAUTHORIZED", "signature: %s", why);
        }
    }
    zeb_client_t *client = zeb_http_client (req);
    if (!client)
        return req->status;
    zeb_event_t *event = s_event (req, name, source);
    if (!event)
        return req->status;
    zeb_ack_t ack;
    int rc = zeb_client_publish (client, event, &ack);
    zeb_event_destroy (&event);
    if (rc) {
        zeb_fault_t fault;
        zeb_fault_set (&fault, rc, "%s", *ack.error? ack.error: zeb_strerror (rc));
        if (rc == ZEB_ETIMEOUT)
            rc = ZEB_EUNREACHABLE;      //  the sender retries; the key stores it once
        return zeb_http_reply_fault (req, rc, NULL, &fault);
    }
    ZEB_HTTP_COUNT (http, published);
    if (ack.duplicate)
        ZEB_HTTP_COUNT (http, webhooks_duplicate);
    else
        ZEB_HTTP_COUNT (http, webhooks_stored);
    char reply [96];
    int size = snprintf (reply, sizeof (reply), "{\"ok\":true,\"sequence\":%llu,\"duplicate\":%s}",
                         (unsigned long long) ack.sequence, ack.duplicate? "true": "false");
    return zeb_http_reply (req, 200, "application/json", reply, (size_t) size, NULL);
}

//  ---------------------------------------------------------------------
//  Self test: the senders' published examples

typedef struct {
    const char *names [4];
    const char *values [4];
} s_headers_t;

static const char *
s_test_header (void *arg, const char *name)
{
    s_headers_t *headers = (s_headers_t *) arg;
    for (int index = 0; index < 4 && headers->names [index]; index++)
        if (strcasecmp (headers->names [index], name) == 0)
            return headers->values [index];
    return NULL;
}

static void
s_test_source (zeb_http_source_t *source, zeb_http_scheme_t scheme, const char *secret)
{
    memset (source, 0, sizeof (*source));
    source->scheme = scheme;
    source->tolerance_ms = 300000;
    snprintf (source->header, sizeof (source->header), "X-Signature");
    zeb_fault_t fault;
    assert (s_secret_add (source, secret, "test", &fault) == 0);
}

static void
s_test_free (zeb_http_source_t *source)
{
    for (size_t index = 0; index < source->secret_count; index++)
        free (source->secrets [index]);
}

void
zeb_http_hook_test (bool verbose)
{
    char why [160];
    zeb_http_source_t source;
    zeb_fault_t fault;

    //  GitHub, "Validating webhook deliveries": secret "It's a Secret to
    //  Everybody", payload "Hello, World!"
    s_test_source (&source, ZEB_HTTP_SCHEME_GITHUB, "It's a Secret to Everybody");
    s_headers_t github = { { "X-Hub-Signature-256" },
        { "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17" } };
    assert (zeb_http_verify (&source, s_test_header, &github, "Hello, World!", 13, 0, why, sizeof (why)) == 0);
    assert (zeb_http_verify (&source, s_test_header, &github, "Hello, World?", 13, 0, why, sizeof (why)) == -1);
    s_headers_t github_upper = { { "X-Hub-Signature-256" },
        { "sha256=757107EA0EB2509FC211221CCE984B8A37570B6D7586C22C46F4379C8B043E17" } };
    assert (zeb_http_verify (&source, s_test_header, &github_upper, "Hello, World!", 13, 0, why, sizeof (why)) == 0);
    s_headers_t github_short = { { "X-Hub-Signature-256" }, { "sha256=757107ea" } };
    assert (zeb_http_verify (&source, s_test_header, &github_short, "Hello, World!", 13, 0, why, sizeof (why)) == -1);
    s_headers_t none = { { NULL }, { NULL } };
    assert (zeb_http_verify (&source, s_test_header, &none, "Hello, World!", 13, 0, why, sizeof (why)) == -1);
    assert (strstr (why, "X-Hub-Signature-256"));
    //  Rotation: the old secret second, either one holds
    assert (s_secret_add (&source, "the old one", "test", &fault) == 0);
    assert (zeb_http_verify (&source, s_test_header, &github, "Hello, World!", 13, 0, why, sizeof (why)) == 0);
    s_test_free (&source);
    s_test_source (&source, ZEB_HTTP_SCHEME_GITHUB, "the new one");
    assert (s_secret_add (&source, "It's a Secret to Everybody", "test", &fault) == 0);
    assert (zeb_http_verify (&source, s_test_header, &github, "Hello, World!", 13, 0, why, sizeof (why)) == 0);
    s_test_free (&source);

    //  Standard Webhooks, the specification's example
    s_test_source (&source, ZEB_HTTP_SCHEME_STANDARD, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    const char *payload = "{\"test\": 2432232314}";
    s_headers_t standard = { { "webhook-id", "webhook-timestamp", "webhook-signature" },
        { "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330",
          "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=" } };
    int64_t then = 1614265330000LL;
    assert (zeb_http_verify (&source, s_test_header, &standard, payload, strlen (payload), then, why, sizeof (why)) == 0);
    //  Several signatures, one of which holds
    s_headers_t several = { { "webhook-id", "webhook-timestamp", "webhook-signature" },
        { "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330",
          "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=" } };
    assert (zeb_http_verify (&source, s_test_header, &several, payload, strlen (payload), then, why, sizeof (why)) == 0);
    //  Too old, too new, tampered
    assert (zeb_http_verify (&source, s_test_header, &standard, payload, strlen (payload),
                             then + 301000, why, sizeof (why)) == -1);
    assert (strstr (why, "tolerance"));
    assert (zeb_http_verify (&source, s_test_header, &standard, payload, strlen (payload),
                             then - 301000, why, sizeof (why)) == -1);
    assert (zeb_http_verify (&source, s_test_header, &standard, "{\"test\": 2432232315}", 20,
                             then, why, sizeof (why)) == -1);
    s_test_free (&source);
    memset (&source, 0, sizeof (source));
    source.scheme = ZEB_HTTP_SCHEME_STANDARD;
    assert (s_secret_add (&source, "whsec_!!!", "test", &fault) == ZEB_ECONFIG);

    //  Stripe: v1 over "t.body" with the whole secret as key (computed with
    //  this file's HMAC from the same parts, then checked byte by byte)
    s_test_source (&source, ZEB_HTTP_SCHEME_STRIPE, "whsec_test_secret");
    const char *event = "{\"id\":\"evt_1\",\"object\":\"event\"}";
    const char *parts [] = { "1492774577", ".", event };
    size_t sizes [] = { 10, 1, strlen (event) };
    uint8_t digest [32];
    assert (s_hmac ((const uint8_t *) "whsec_test_secret", 17, parts, sizes, 3, digest) == 0);
    char header [200] = "t=1492774577,v1=";
    for (int index = 0; index < 32; index++)
        sprintf (header + strlen (header), "%02x", digest [index]);
    strcat (header, ",v0=6ffbb59b2300aae63f272406069a9788598b792a944a07aba816edb039989a39");
    s_headers_t stripe = { { "Stripe-Signature" }, { header } };
    assert (zeb_http_verify (&source, s_test_header, &stripe, event, strlen (event),
                             1492774577000LL + 1000, why, sizeof (why)) == 0);
    assert (zeb_http_verify (&source, s_test_header, &stripe, event, strlen (event),
                             1492774577000LL + 301000, why, sizeof (why)) == -1);
    s_headers_t stripe_v0 = { { "Stripe-Signature" },
        { "t=1492774577,v0=6ffbb59b2300aae63f272406069a9788598b792a944a07aba816edb039989a39" } };
    assert (zeb_http_verify (&source, s_test_header, &stripe_v0, event, strlen (event),
                             1492774577000LL, why, sizeof (why)) == -1);
    s_test_free (&source);

    //  Plain HMAC in a named header, hex with a prefix and base64
    s_test_source (&source, ZEB_HTTP_SCHEME_HMAC, "It's a Secret to Everybody");
    snprintf (source.prefix, sizeof (source.prefix), "sha256=");
    assert (zeb_http_verify (&source, s_test_header, &(s_headers_t) { { "X-Signature" },
        { "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17" } },
        "Hello, World!", 13, 0, why, sizeof (why)) == 0);
    source.base64 = true;
    char *encoded = zeb_json_base64 ((const uint8_t *)
        "\x75\x71\x07\xea\x0e\xb2\x50\x9f\xc2\x11\x22\x1c\xce\x98\x4b\x8a"
        "\x37\x57\x0b\x6d\x75\x86\xc2\x2c\x46\xf4\x37\x9c\x8b\x04\x3e\x17", 32);
    assert (zeb_http_verify (&source, s_test_header, &(s_headers_t) { { "x-signature" }, { encoded } },
        "Hello, World!", 13, 0, why, sizeof (why)) == 0);
    assert (zeb_http_verify (&source, s_test_header, &(s_headers_t) { { "x-signature" }, { encoded } },
        "Hello, World", 12, 0, why, sizeof (why)) == -1);
    free (encoded);
    s_test_free (&source);

    char name [21];
    s_extension_name ("X-GitHub-Event", name);
    assert (streq (name, "githubevent"));
    s_extension_name ("Stripe-Account", name);
    assert (streq (name, "stripeaccount"));
    assert (s_json_type ("application/json; charset=utf-8") && s_json_type ("application/cloudevents+json"));
    assert (!s_json_type ("text/plain") && !s_json_type (NULL));
    if (verbose)
        printf ("signatures checked against the senders' examples; ");
}
