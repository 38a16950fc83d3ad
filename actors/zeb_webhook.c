/*  =========================================================================
    zeb_webhook - the webhook executor: HTTP requests through libcurl

    zeb_webhook.h has the contract: the configuration, the request, the
    results and how curl's sockets sit on the host's loop. Here: the
    destination rules (CIDRs), the signature, the request a job becomes,
    curl's callbacks, and what a finished transfer means.
    =========================================================================
*/

#include "zeb_actors.h"
#include "zeb.h"                        //  ZEB_VERSION_*, for User-Agent
#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <sys/epoll.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#define S_MAX_RULES         64              //  CIDRs in each of allow and deny
#define S_MAX_HEADERS       64
#define S_MAX_SECRETS       4
#define S_MAX_HEADER_NAME   256
#define S_MAX_HEADER_VALUE  8192
#define S_RESPONSE_KEPT     1024            //  bytes of a response body kept
#define S_ERROR_QUOTE       256             //  of them quoted in an error text
#define S_MAX_RETRY_AFTER   (24LL * 3600 * 1000)
#define S_EVENTS            64              //  ready sockets taken per turn

#define S_STRING(x)         S_STRING_ (x)
#define S_STRING_(x)        #x
#define S_USER_AGENT        "zeb/" S_STRING (ZEB_VERSION_MAJOR) "." S_STRING (ZEB_VERSION_MINOR) \
                            "." S_STRING (ZEB_VERSION_PATCH)

//  Denied unless allowed (zeb_webhook.h)
static const char *s_denied_always =
    "0.0.0.0/8, 10.0.0.0/8, 127.0.0.0/8, 169.254.0.0/16, 172.16.0.0/12, 192.168.0.0/16,"
    " ::/128, ::1/128, fc00::/7, fe80::/10";

static const zeb_config_key_t s_webhook_config [] = {
    { "webhook/max_in_flight", "256", ZEB_KEY_INT, 1, ZEB_EXECUTOR_MAX_CREDIT, NULL,
      "webhook requests in flight at once (the executor's credit)" },
    { "webhook/connect_timeout", "5s", ZEB_KEY_DURATION, 1, 600000, NULL,
      "longest a webhook connection may take to open (the whole request: the job's timeout)" },
    { "webhook/allow", "", ZEB_KEY_STR, 0, 0, NULL,
      "CIDRs webhooks may reach even if denied, comma-separated (e.g. 127.0.0.1/32)" },
    { "webhook/deny", "", ZEB_KEY_STR, 0, 0, NULL,
      "CIDRs webhooks may not reach, besides loopback, private and link-local ones" },
    { NULL }
};

typedef struct {
    int family;                     //  AF_INET or AF_INET6
    uint8_t bytes [16];
    int prefix;                     //  bits that must match
} s_cidr_t;

typedef struct {
    s_cidr_t rules [S_MAX_RULES * 2];
    size_t count;
} s_cidrs_t;

typedef struct {
    uint64_t requests;
    uint64_t connections;
    uint64_t denied;
    uint64_t timeouts;
    uint64_t responses [6];         //  by status class; [0] unused
    uint64_t transport_errors;
} s_counters_t;

typedef struct _s_transfer_t s_transfer_t;

typedef struct {
    zeb_executor_t *host;
    CURLM *multi;
    int epoll;                      //  curl's sockets
    int64_t timer_due;              //  ms, monotonic; -1: none
    long connect_timeout_ms;
    s_cidrs_t allow;
    s_cidrs_t deny;
    zlistx_t *transfers;            //  in flight, s_transfer_t
    s_counters_t counters;
} s_webhook_t;

//  One request in flight
struct _s_transfer_t {
    s_webhook_t *webhook;
    zeb_job_t *job;
    CURL *easy;
    CURLU *url;
    struct curl_slist *headers;
    char *body;
    size_t body_size;
    char response [S_RESPONSE_KEPT];
    size_t response_size;           //  kept
    char denied [INET6_ADDRSTRLEN]; //  the address refused, if one was
    char error [CURL_ERROR_SIZE];
    void *handle;                   //  in transfers, once added to curl
};

static int64_t
s_now_ms (void)
{
    return zeb_time_mono_us () / 1000;
}

//  ---------------------------------------------------------------------
//  Destinations: CIDR lists

//  One CIDR ("10.0.0.0/8", "::1", "fe80::/10"); 0 or -1
static int
s_cidr_parse (const char *text, size_t len, s_cidr_t *cidr)
{
    char address [INET6_ADDRSTRLEN + 8];
    if (len == 0 || len >= sizeof (address))
        return -1;
    memcpy (address, text, len);
    address [len] = 0;
    char *slash = strchr (address, '/');
    if (slash)
        *slash++ = 0;
    memset (cidr, 0, sizeof (*cidr));
    if (inet_pton (AF_INET, address, cidr->bytes) == 1)
        cidr->family = AF_INET;
    else
    if (inet_pton (AF_INET6, address, cidr->bytes) == 1)
        cidr->family = AF_INET6;
    else
        return -1;
    int bits = cidr->family == AF_INET? 32: 128;
    cidr->prefix = bits;
    if (slash) {
        int64_t prefix;
        if (zeb_config_parse_int (slash, &prefix) || prefix < 0 || prefix > bits)
            return -1;
        cidr->prefix = (int) prefix;
    }
    return 0;
}

//  Append a comma-separated list; 0, or ZEB_ECONFIG naming key
static int
s_cidrs_add (s_cidrs_t *cidrs, const char *list, const char *key, zeb_fault_t *fault)
{
    const char *next = list;
    while (*next) {
        next += strspn (next, ", ");
        size_t len = strcspn (next, ", ");
        if (len == 0)
            break;
        if (cidrs->count == sizeof (cidrs->rules) / sizeof (cidrs->rules [0]))
            return zeb_fault_set (fault, ZEB_ECONFIG, "%s: more than %d CIDRs", key, S_MAX_RULES);
        if (s_cidr_parse (next, len, &cidrs->rules [cidrs->count]))
            return zeb_fault_set (fault, ZEB_ECONFIG, "%s: '%.*s' is not a CIDR", key, (int) len, next);
        cidrs->count++;
        next += len;
    }
    return 0;
}

static bool
s_cidrs_match (const s_cidrs_t *cidrs, int family, const uint8_t *bytes)
{
    for (size_t index = 0; index < cidrs->count; index++) {
        const s_cidr_t *rule = &cidrs->rules [index];
        if (rule->family != family)
            continue;
        int whole = rule->prefix / 8, rest = rule->prefix % 8;
        if (memcmp (rule->bytes, bytes, (size_t) whole))
            continue;
        uint8_t mask = (uint8_t) (0xff << (8 - rest));
        if (rest == 0 || (rule->bytes [whole] & mask) == (bytes [whole] & mask))
            return true;
    }
    return false;
}

//  May a request connect to this address? text gets it, printed
static bool
s_address_allowed (s_webhook_t *self, const struct sockaddr *address, socklen_t size,
                   char *text, size_t text_size)
{
    uint8_t bytes [16];
    int family = address->sa_family;
    snprintf (text, text_size, "?");
    if (family == AF_INET && size >= sizeof (struct sockaddr_in))
        memcpy (bytes, &((const struct sockaddr_in *) address)->sin_addr, 4);
    else
    if (family == AF_INET6 && size >= sizeof (struct sockaddr_in6)) {
        const struct in6_addr *in6 = &((const struct sockaddr_in6 *) address)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED (in6)) {
            family = AF_INET;
            memcpy (bytes, in6->s6_addr + 12, 4);
        }
        else
            memcpy (bytes, in6->s6_addr, 16);
    }
    else
        return false;
    inet_ntop (family, bytes, text, (socklen_t) text_size);
    return s_cidrs_match (&self->allow, family, bytes) || !s_cidrs_match (&self->deny, family, bytes);
}

//  ---------------------------------------------------------------------
//  Standard Webhooks signatures

//  The key a secret encodes (24..64 bytes); 0 or -1
static int
s_secret_key (const char *secret, uint8_t **key, size_t *size)
{
    if (strncmp (secret, "whsec_", 6) == 0)
        secret += 6;
    if (zeb_json_unbase64 (secret, strlen (secret), key, size))
        return -1;
    if (*size < 24 || *size > 64) {
        free (*key);
        *key = NULL;
        return -1;
    }
    return 0;
}

int
zeb_webhook_sign (const char *secret, const char *id, int64_t timestamp,
                  const void *body, size_t size, char *signature)
{
    assert (secret && id && signature);
    *signature = 0;
    uint8_t *key = NULL;
    size_t key_size;
    if (s_secret_key (secret, &key, &key_size))
        return -1;
    char stamp [24];
    snprintf (stamp, sizeof (stamp), "%lld", (long long) timestamp);
    unsigned char digest [EVP_MAX_MD_SIZE];
    size_t digest_size = 0;
    EVP_MAC *mac = EVP_MAC_fetch (NULL, "HMAC", NULL);
    EVP_MAC_CTX *context = mac? EVP_MAC_CTX_new (mac): NULL;
    OSSL_PARAM params [] = {
        OSSL_PARAM_construct_utf8_string (OSSL_MAC_PARAM_DIGEST, (char *) "SHA256", 0),
        OSSL_PARAM_construct_end ()
    };
    bool signed_ok = context
        && EVP_MAC_init (context, key, key_size, params)
        && EVP_MAC_update (context, (const unsigned char *) id, strlen (id))
        && EVP_MAC_update (context, (const unsigned char *) ".", 1)
        && EVP_MAC_update (context, (const unsigned char *) stamp, strlen (stamp))
        && EVP_MAC_update (context, (const unsigned char *) ".", 1)
        && EVP_MAC_update (context, (const unsigned char *) body, size)
        && EVP_MAC_final (context, digest, &digest_size, sizeof (digest))
        && digest_size == 32;
    EVP_MAC_CTX_free (context);
    EVP_MAC_free (mac);
    OPENSSL_cleanse (key, key_size);
    free (key);
    if (!signed_ok)
        return -1;
    memcpy (signature, "v1,", 3);
    EVP_EncodeBlock ((unsigned char *) signature + 3, digest, 32);
    return 0;
}

//  ---------------------------------------------------------------------
//  The request a job becomes. Each s_request_ step returns NULL, or the
//  reason the job FAILs (in error).

static bool
s_header_is (const char *name, size_t len, const char *wanted)
{
    return strlen (wanted) == len && strncasecmp (name, wanted, len) == 0;
}

static const char *
s_request_url (s_transfer_t *transfer, json_t *config, char *error, size_t size)
{
    const char *url = json_string_value (json_object_get (config, "url"));
    if (!url)
        return "webhook: 'url' is missing or not a string";
    transfer->url = curl_url ();
    char *scheme = NULL;
    if (!transfer->url || curl_url_set (transfer->url, CURLUPART_URL, url, 0) != CURLUE_OK
    ||  curl_url_get (transfer->url, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK) {
        snprintf (error, size, "webhook: '%.200s' is not a URL", url);
        return error;
    }
    bool http = streq (scheme, "http") || streq (scheme, "https");
    curl_free (scheme);
    if (!http) {
        snprintf (error, size, "webhook: '%.200s' is not an http or https URL", url);
        return error;
    }
    return NULL;
}

static const char *
s_request_body (s_transfer_t *transfer, zeb_job_t *job, bool *custom)
{
    json_t *body = json_object_get (job->config, "body");
    *custom = body != NULL;
    transfer->body = body? json_dumps (body, JSON_COMPACT | JSON_ENCODE_ANY)
                         : zeb_event_to_json (job->event);
    if (!transfer->body)
        return body? "webhook: 'body' cannot be written as JSON"
                   : "webhook: the event has no JSON form";
    transfer->body_size = strlen (transfer->body);
    return NULL;
}

static bool
s_token (const char *text, size_t len)
{
    for (size_t index = 0; index < len; index++)
        if (!isalnum ((unsigned char) text [index]) && !strchr ("!#$%&'*+-.^_`|~", text [index]))
            return false;
    return len > 0;
}

static const char *
s_request_add (s_transfer_t *transfer, const char *name, const char *value)
{
    char line [S_MAX_HEADER_NAME + S_MAX_HEADER_VALUE + 4];
    snprintf (line, sizeof (line), "%s: %s", name, value);
    struct curl_slist *list = curl_slist_append (transfer->headers, line);
    if (!list)
        return "webhook: out of memory";
    transfer->headers = list;
    return NULL;
}

//  The configured headers; *typed if one is Content-Type
static const char *
s_request_headers (s_transfer_t *transfer, json_t *config, bool *typed, char *error, size_t size)
{
    json_t *headers = json_object_get (config, "headers");
    *typed = false;
    if (!headers)
        return NULL;
    if (!json_is_object (headers) || json_object_size (headers) > S_MAX_HEADERS)
        return "webhook: 'headers' is not an object of at most 64 strings";
    static const char *reserved [] = { "host", "content-length", "transfer-encoding", "connection",
        "expect", "webhook-id", "webhook-timestamp", "webhook-signature", NULL };
    const char *name;
    json_t *value;
    json_object_foreach (headers, name, value) {
        const char *text = json_string_value (value);
        size_t len = strlen (name), value_len = json_string_length (value);
        if (!text || !s_token (name, len) || len > S_MAX_HEADER_NAME || value_len > S_MAX_HEADER_VALUE
        ||  strcspn (text, "\r\n") != value_len) {
            snprintf (error, size, "webhook: header '%.64s' is not a token with a one-line string", name);
            return error;
        }
        for (size_t index = 0; reserved [index]; index++)
            if (s_header_is (name, len, reserved [index])) {
                snprintf (error, size, "webhook: header '%s' is set by the executor", name);
                return error;
            }
        *typed = *typed || s_header_is (name, len, "content-type");
        const char *failed = s_request_add (transfer, name, text);
        if (failed)
            return failed;
    }
    return NULL;
}

//  webhook-id, webhook-timestamp and, with a secret, webhook-signature
static const char *
s_request_sign (s_transfer_t *transfer, zeb_job_t *job, char *error, size_t size)
{
    json_t *secret = json_object_get (job->config, "secret");
    json_t *secrets = json_is_array (secret)? secret: NULL;
    size_t count = secrets? json_array_size (secrets): secret? 1: 0;
    if (count > S_MAX_SECRETS || (secrets && count == 0))
        return "webhook: 'secret' is a list of 1..4 secrets";
    if (count && strchr (job->key, '.'))
        return "webhook: a signed webhook-id may not contain '.'";
    for (const char *next = job->key; *next; next++)
        if ((unsigned char) *next < 0x20 || *next == 0x7f)
            return "webhook: the action's key holds a control character: not a webhook-id";
    int64_t timestamp = zeb_time_now () / 1000;
    char stamp [24];
    snprintf (stamp, sizeof (stamp), "%lld", (long long) timestamp);
    const char *failed = s_request_add (transfer, "webhook-id", job->key);
    if (!failed)
        failed = s_request_add (transfer, "webhook-timestamp", stamp);
    char value [S_MAX_SECRETS * ZEB_WEBHOOK_SIGNATURE_SIZE] = "";
    for (size_t index = 0; !failed && index < count; index++) {
        const char *text = json_string_value (secrets? json_array_get (secrets, index): secret);
        char *next = value + strlen (value);
        if (index)
            *next++ = ' ';
        if (!text || zeb_webhook_sign (text, job->key, timestamp, transfer->body,
                                       transfer->body_size, next)) {
            snprintf (error, size, "webhook: secret %zu is not \"whsec_\" and base64 of 24..64 bytes",
                      index + 1);
            return error;
        }
    }
    if (!failed && count)
        failed = s_request_add (transfer, "webhook-signature", value);
    return failed;
}

static const char *
s_request_method (json_t *config, const char **method)
{
    json_t *value = json_object_get (config, "method");
    *method = value? json_string_value (value): "POST";
    static const char *allowed [] = { "POST", "PUT", "PATCH", "DELETE", NULL };
    for (size_t index = 0; *method && allowed [index]; index++)
        if (streq (*method, allowed [index]))
            return NULL;
    return "webhook: 'method' must be POST, PUT, PATCH or DELETE";
}

//  ---------------------------------------------------------------------
//  curl's callbacks

static size_t
s_on_write (char *data, size_t size, size_t count, void *arg)
{
    s_transfer_t *transfer = (s_transfer_t *) arg;
    size_t bytes = size * count;
    size_t room = S_RESPONSE_KEPT - transfer->response_size;
    size_t kept = bytes < room? bytes: room;
    memcpy (transfer->response + transfer->response_size, data, kept);
    transfer->response_size += kept;
    return bytes;
}

static curl_socket_t
s_on_open_socket (void *arg, curlsocktype purpose, struct curl_sockaddr *address)
{
    s_transfer_t *transfer = (s_transfer_t *) arg;
    s_webhook_t *self = transfer->webhook;
    char text [INET6_ADDRSTRLEN];
    if (purpose != CURLSOCKTYPE_IPCXN
    ||  !s_address_allowed (self, &address->addr, address->addrlen, text, sizeof (text))) {
        snprintf (transfer->denied, sizeof (transfer->denied), "%s", text);
        self->counters.denied++;
        return CURL_SOCKET_BAD;
    }
    self->counters.connections++;
    return socket (address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

//  curl asks for a socket to be watched (or not any more)
static int
s_on_socket (CURL *easy, curl_socket_t fd, int what, void *arg, void *socket_arg)
{
    s_webhook_t *self = (s_webhook_t *) arg;
    if (what == CURL_POLL_REMOVE) {
        epoll_ctl (self->epoll, EPOLL_CTL_DEL, fd, NULL);
        return 0;
    }
    struct epoll_event event = { 0 };
    event.events = (what & CURL_POLL_IN? EPOLLIN: 0) | (what & CURL_POLL_OUT? EPOLLOUT: 0);
    event.data.fd = fd;
    if (epoll_ctl (self->epoll, EPOLL_CTL_MOD, fd, &event)
    &&  (errno != ENOENT || epoll_ctl (self->epoll, EPOLL_CTL_ADD, fd, &event)))
        zsys_error ("webhook: cannot watch a socket: %s", strerror (errno));
    return 0;
}

static int
s_on_timer (CURLM *multi, long timeout_ms, void *arg)
{
    s_webhook_t *self = (s_webhook_t *) arg;
    self->timer_due = timeout_ms < 0? -1: s_now_ms () + timeout_ms;
    return 0;
}

//  ---------------------------------------------------------------------
//  Finished transfers

static void
s_transfer_destroy (s_webhook_t *self, s_transfer_t **transfer_p)
{
    s_transfer_t *transfer = *transfer_p;
    if (transfer->easy) {
        curl_multi_remove_handle (self->multi, transfer->easy);
        curl_easy_cleanup (transfer->easy);
    }
    curl_url_cleanup (transfer->url);
    curl_slist_free_all (transfer->headers);
    free (transfer->body);
    if (transfer->handle)
        zlistx_delete (self->transfers, transfer->handle);
    free (transfer);
    *transfer_p = NULL;
}

//  Milliseconds a Retry-After value asks for: delay-seconds or an HTTP
//  date; 0 if none or unreadable, at most S_MAX_RETRY_AFTER
static int64_t
s_retry_after (const char *value)
{
    int64_t ms = 0;
    int64_t seconds;
    while (*value == ' ')
        value++;
    if (isdigit ((unsigned char) *value)) {
        if (strlen (value) <= 10 && zeb_config_parse_int (value, &seconds) == 0)
            ms = seconds * 1000;
    }
    else {
        time_t date = curl_getdate (value, NULL);
        if (date != -1)
            ms = (int64_t) date * 1000 - zeb_time_now ();
    }
    return ms < 0? 0: ms > S_MAX_RETRY_AFTER? S_MAX_RETRY_AFTER: ms;
}

//  The response body, if it is UTF-8 text (cut at a character), or NULL
static json_t *
s_response_text (s_transfer_t *transfer, size_t limit)
{
    size_t len = transfer->response_size < limit? transfer->response_size: limit;
    for (int cut = 0; cut < 4 && cut <= (int) len; cut++) {
        json_t *text = json_stringn (transfer->response, len - (size_t) cut);
        if (text)
            return text;
    }
    return NULL;
}

static void
s_finish_response (s_webhook_t *self, s_transfer_t *transfer, long status)
{
    zeb_job_result_t result = { ZEB_JOB_FAIL, NULL, NULL, 0, (int) status, false };
    self->counters.responses [status >= 100 && status < 600? status / 100: 0]++;
    if (status >= 200 && status < 300) {
        result.status = ZEB_JOB_OK;
        result.result = json_pack ("{sI}", "status", (json_int_t) status);
        json_t *body = transfer->response_size? s_response_text (transfer, S_RESPONSE_KEPT): NULL;
        if (body)
            json_object_set_new (result.result, "body", body);
        zeb_job_finish (transfer->job, &result);
        json_decref (result.result);
        return;
    }
    const char *meaning = "";
    if (status >= 300 && status < 400)
        meaning = " (redirect not followed)";
    else
    if (status == 410) {
        meaning = " (gone)";
        result.gone = true;
    }
    else
    if (status == 408 || status == 429 || (status >= 500 && status < 600)) {
        result.status = ZEB_JOB_RETRY;
        struct curl_header *header;
        if (curl_easy_header (transfer->easy, "Retry-After", 0, CURLH_HEADER, -1, &header) == CURLHE_OK)
            result.retry_after_ms = s_retry_after (header->value);
    }
    char error [ZEB_EXECUTOR_MAX_ERROR];
    json_t *quote = s_response_text (transfer, S_ERROR_QUOTE);
    snprintf (error, sizeof (error), "HTTP %ld%s%s%s", status, meaning,
              quote && json_string_length (quote)? ": ": "", quote? json_string_value (quote): "");
    json_decref (quote);
    result.error = error;
    zeb_job_finish (transfer->job, &result);
}

static void
s_finish_transfer (s_webhook_t *self, s_transfer_t *transfer, CURLcode code)
{
    long status = 0;
    curl_easy_getinfo (transfer->easy, CURLINFO_RESPONSE_CODE, &status);
    const char *why = *transfer->error? transfer->error: curl_easy_strerror (code);
    if (code == CURLE_OK)
        s_finish_response (self, transfer, status);
    else
    if (code == CURLE_COULDNT_CONNECT && *transfer->denied)
        zeb_job_fail (transfer->job, "destination denied: %s", transfer->denied);
    else
    if (code == CURLE_OPERATION_TIMEDOUT) {
        self->counters.timeouts++;
        zeb_job_retry (transfer->job, 0, "timed out after %d ms: %s", transfer->job->timeout_ms, why);
    }
    else {
        self->counters.transport_errors++;
        if (code == CURLE_UNSUPPORTED_PROTOCOL || code == CURLE_URL_MALFORMAT)
            zeb_job_fail (transfer->job, "%s", why);
        else
            zeb_job_retry (transfer->job, 0, "%s", why);
    }
    transfer->job = NULL;
    s_transfer_destroy (self, &transfer);
}

static void
s_check_done (s_webhook_t *self)
{
    CURLMsg *message;
    int left;
    while ((message = curl_multi_info_read (self->multi, &left)))
        if (message->msg == CURLMSG_DONE) {
            s_transfer_t *transfer = NULL;
            curl_easy_getinfo (message->easy_handle, CURLINFO_PRIVATE, (char **) &transfer);
            assert (transfer);
            s_finish_transfer (self, transfer, message->data.result);
        }
}

//  ---------------------------------------------------------------------
//  The loop's side: curl's sockets and its timer

static int
s_handle_sockets (void *arg)
{
    s_webhook_t *self = (s_webhook_t *) arg;
    struct epoll_event events [S_EVENTS];
    int count = epoll_wait (self->epoll, events, S_EVENTS, 0);
    for (int index = 0; index < count; index++) {
        uint32_t fired = events [index].events;
        int mask = (fired & (EPOLLIN | EPOLLHUP)? CURL_CSELECT_IN: 0)
                 | (fired & EPOLLOUT? CURL_CSELECT_OUT: 0)
                 | (fired & EPOLLERR? CURL_CSELECT_ERR: 0);
        int running;
        curl_multi_socket_action (self->multi, events [index].data.fd, mask, &running);
    }
    s_check_done (self);
    return count == S_EVENTS? 1: 0;
}

static int
s_webhook_tick (void *state)
{
    s_webhook_t *self = (s_webhook_t *) state;
    if (self->timer_due < 0)
        return -1;
    int64_t now = s_now_ms ();
    if (now >= self->timer_due) {
        self->timer_due = -1;           //  curl may set another, in the call
        int running;
        curl_multi_socket_action (self->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        s_check_done (self);
        if (self->timer_due < 0)
            return -1;
        now = s_now_ms ();
    }
    return self->timer_due > now? (int) (self->timer_due - now): 0;
}

//  ---------------------------------------------------------------------
//  The plugin

static pthread_once_t s_curl_once = PTHREAD_ONCE_INIT;
static CURLcode s_curl_init_code = CURLE_OK;

static void
s_curl_global_init (void)
{
    s_curl_init_code = curl_global_init (CURL_GLOBAL_DEFAULT);
}

static void
s_webhook_free (s_webhook_t **self_p)
{
    s_webhook_t *self = *self_p;
    if (self) {
        if (self->multi)
            curl_multi_cleanup (self->multi);
        if (self->epoll >= 0)
            close (self->epoll);
        zlistx_destroy (&self->transfers);
        free (self);
        *self_p = NULL;
    }
}

static int
s_webhook_init (void **state_p, zeb_executor_t *host, zconfig_t *config, zeb_fault_t *fault)
{
    pthread_once (&s_curl_once, s_curl_global_init);
    if (s_curl_init_code != CURLE_OK)
        return zeb_fault_set (fault, ZEB_ERROR, "webhook: curl_global_init: %s",
                              curl_easy_strerror (s_curl_init_code));
    s_webhook_t *self = (s_webhook_t *) zmalloc (sizeof (s_webhook_t));
    assert (self);
    self->host = host;
    self->timer_due = -1;
    self->epoll = -1;
    self->transfers = zlistx_new ();
    assert (self->transfers);
    int64_t in_flight = 0, connect_timeout = 0;
    int rc = zeb_config_int (config, "webhook/max_in_flight", &in_flight)
          || zeb_config_duration (config, "webhook/connect_timeout", &connect_timeout)
           ? zeb_fault_set (fault, ZEB_ECONFIG, "webhook: bad max_in_flight or connect_timeout"): 0;
    if (rc == 0)
        rc = s_cidrs_add (&self->allow, zeb_config_str (config, "webhook/allow"), "webhook/allow", fault);
    if (rc == 0)
        rc = s_cidrs_add (&self->deny, s_denied_always, "webhook", fault);
    if (rc == 0)
        rc = s_cidrs_add (&self->deny, zeb_config_str (config, "webhook/deny"), "webhook/deny", fault);
    if (rc == 0) {
        self->connect_timeout_ms = (long) connect_timeout;
        self->multi = curl_multi_init ();
        self->epoll = epoll_create1 (EPOLL_CLOEXEC);
        if (!self->multi || self->epoll < 0
        ||  zeb_loop_add_fd (zeb_executor_loop (host), self->epoll, s_handle_sockets, self))
            rc = zeb_fault_set (fault, ZEB_ERROR, "webhook: cannot set up curl's multi interface");
    }
    if (rc) {
        s_webhook_free (&self);
        return rc;
    }
    curl_multi_setopt (self->multi, CURLMOPT_SOCKETFUNCTION, s_on_socket);
    curl_multi_setopt (self->multi, CURLMOPT_SOCKETDATA, self);
    curl_multi_setopt (self->multi, CURLMOPT_TIMERFUNCTION, s_on_timer);
    curl_multi_setopt (self->multi, CURLMOPT_TIMERDATA, self);
    curl_multi_setopt (self->multi, CURLMOPT_MAXCONNECTS, (long) in_flight);
    zeb_executor_set_credit (host, (size_t) in_flight);
    *state_p = self;
    return 0;
}

//  The curl handle of a prepared request; NULL if curl refused
static CURL *
s_easy_new (s_webhook_t *self, s_transfer_t *transfer, const char *method)
{
    CURL *easy = curl_easy_init ();
    if (!easy)
        return NULL;
    curl_easy_setopt (easy, CURLOPT_CURLU, transfer->url);
    curl_easy_setopt (easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt (easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt (easy, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt (easy, CURLOPT_PROXY, "");
    curl_easy_setopt (easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt (easy, CURLOPT_CONNECTTIMEOUT_MS, self->connect_timeout_ms);
    curl_easy_setopt (easy, CURLOPT_TIMEOUT_MS, (long) transfer->job->timeout_ms);
    curl_easy_setopt (easy, CURLOPT_POSTFIELDS, transfer->body);
    curl_easy_setopt (easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) transfer->body_size);
    if (!streq (method, "POST"))
        curl_easy_setopt (easy, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt (easy, CURLOPT_HTTPHEADER, transfer->headers);
    curl_easy_setopt (easy, CURLOPT_USERAGENT, S_USER_AGENT);
    curl_easy_setopt (easy, CURLOPT_WRITEFUNCTION, s_on_write);
    curl_easy_setopt (easy, CURLOPT_WRITEDATA, transfer);
    curl_easy_setopt (easy, CURLOPT_OPENSOCKETFUNCTION, s_on_open_socket);
    curl_easy_setopt (easy, CURLOPT_OPENSOCKETDATA, transfer);
    curl_easy_setopt (easy, CURLOPT_ERRORBUFFER, transfer->error);
    curl_easy_setopt (easy, CURLOPT_PRIVATE, transfer);
    return easy;
}

//  Everything but the curl handle; NULL or why the job FAILs
static const char *
s_prepare (s_transfer_t *transfer, zeb_job_t *job, const char **method, char *error, size_t size)
{
    bool custom = false, typed = false;
    const char *failed = s_request_url (transfer, job->config, error, size);
    if (!failed)
        failed = s_request_method (job->config, method);
    if (!failed)
        failed = s_request_body (transfer, job, &custom);
    if (!failed)
        failed = s_request_headers (transfer, job->config, &typed, error, size);
    if (!failed && !typed)
        failed = s_request_add (transfer, "Content-Type",
                                custom? "application/json": "application/cloudevents+json");
    if (!failed)
        failed = s_request_sign (transfer, job, error, size);
    if (!failed) {
        //  An empty value takes curl's own header away
        struct curl_slist *list = curl_slist_append (transfer->headers, "Expect:");
        if (list)
            transfer->headers = list;
        else
            failed = "webhook: out of memory";
    }
    return failed;
}

static void
s_webhook_execute (void *state, zeb_job_t *job)
{
    s_webhook_t *self = (s_webhook_t *) state;
    s_transfer_t *transfer = (s_transfer_t *) zmalloc (sizeof (s_transfer_t));
    assert (transfer);
    transfer->webhook = self;
    transfer->job = job;
    job->plugin = transfer;
    self->counters.requests++;
    char error [ZEB_EXECUTOR_MAX_ERROR];
    const char *method = "POST";
    const char *failed = s_prepare (transfer, job, &method, error, sizeof (error));
    if (failed) {
        zeb_job_fail (job, "%s", failed);
        s_transfer_destroy (self, &transfer);
        return;
    }
    transfer->easy = s_easy_new (self, transfer, method);
    if (!transfer->easy || curl_multi_add_handle (self->multi, transfer->easy) != CURLM_OK) {
        if (transfer->easy)
            curl_easy_cleanup (transfer->easy);
        transfer->easy = NULL;
        zeb_job_retry (job, 0, "webhook: curl refused the request");
        s_transfer_destroy (self, &transfer);
        return;
    }
    transfer->handle = zlistx_add_end (self->transfers, transfer);
}

static void
s_webhook_destroy (void **state_p)
{
    s_webhook_t *self = (s_webhook_t *) *state_p;
    s_transfer_t *transfer;
    while ((transfer = (s_transfer_t *) zlistx_first (self->transfers))) {
        zeb_job_retry (transfer->job, 0, "executor stopping");
        s_transfer_destroy (self, &transfer);
    }
    s_webhook_free (&self);
    *state_p = NULL;
}

static void
s_webhook_stats (void *state, zeb_pack_t *pack)
{
    s_webhook_t *self = (s_webhook_t *) state;
    zeb_pack_uint (pack, "requests", self->counters.requests);
    zeb_pack_uint (pack, "in_flight", zlistx_size (self->transfers));
    zeb_pack_uint (pack, "connections", self->counters.connections);
    zeb_pack_uint (pack, "denied", self->counters.denied);
    zeb_pack_uint (pack, "timeouts", self->counters.timeouts);
    zeb_pack_uint (pack, "responses_2xx", self->counters.responses [2]);
    zeb_pack_uint (pack, "responses_3xx", self->counters.responses [3]);
    zeb_pack_uint (pack, "responses_4xx", self->counters.responses [4]);
    zeb_pack_uint (pack, "responses_5xx", self->counters.responses [5]);
    zeb_pack_uint (pack, "transport_errors", self->counters.transport_errors);
}

const zeb_executor_def_t zeb_executor_webhook = {
    "webhook", "HTTP requests, Standard Webhooks signatures (config: url, method, headers, body, secret)",
    s_webhook_config, 256,
    s_webhook_init, s_webhook_execute, s_webhook_tick, s_webhook_destroy, s_webhook_stats
};

//  ---------------------------------------------------------------------
//  Self test: what needs no network (tests/webhook_test.c has the rest)

void
zeb_webhook_test (bool verbose)
{
    printf (" * zeb_webhook: ");
    //  The published Standard Webhooks example
    char signature [ZEB_WEBHOOK_SIGNATURE_SIZE];
    const char *body = "{\"test\": 2432232314}";
    assert (zeb_webhook_sign ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
                              1614265330, body, strlen (body), signature) == 0);
    assert (streq (signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="));
    //  The prefix is optional; a secret must be base64 of 24..64 bytes
    assert (zeb_webhook_sign ("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
                              1614265330, body, strlen (body), signature) == 0);
    assert (streq (signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="));
    assert (zeb_webhook_sign ("whsec_c2hvcnQ=", "id", 1, "", 0, signature) == -1 && !*signature);
    assert (zeb_webhook_sign ("whsec_not base64!", "id", 1, "", 0, signature) == -1);

    //  Destinations
    s_webhook_t webhook;
    memset (&webhook, 0, sizeof (webhook));
    zeb_fault_t fault;
    assert (s_cidrs_add (&webhook.deny, s_denied_always, "webhook", &fault) == 0);
    assert (s_cidrs_add (&webhook.deny, "203.0.113.0/24, 2001:db8::/32", "webhook/deny", &fault) == 0);
    assert (s_cidrs_add (&webhook.allow, "127.0.0.1/32,,10.1.2.3", "webhook/allow", &fault) == 0);
    assert (webhook.allow.count == 2);
    assert (s_cidrs_add (&webhook.allow, "300.1.1.1/8", "webhook/allow", &fault) == ZEB_ECONFIG);
    assert (strstr (fault.text, "300.1.1.1/8"));
    assert (s_cidrs_add (&webhook.allow, "10.0.0.0/33", "webhook/allow", &fault) == ZEB_ECONFIG);
    assert (s_cidrs_add (&webhook.allow, "::1/x", "webhook/allow", &fault) == ZEB_ECONFIG);
    struct {
        const char *address;
        bool allowed;
    } cases [] = {
        { "127.0.0.1", true }, { "127.0.0.2", false }, { "10.1.2.3", true }, { "10.1.2.4", false },
        { "172.16.0.1", false }, { "172.31.255.255", false }, { "172.32.0.1", true },
        { "192.168.1.1", false }, { "169.254.169.254", false }, { "0.0.0.0", false },
        { "203.0.113.9", false }, { "93.184.216.34", true }, { "::1", false }, { "::", false },
        { "fd00::1", false }, { "fe80::1", false }, { "febf::1", false }, { "fec0::1", true },
        { "2001:db8::1", false }, { "2606:4700::1111", true },
        { "::ffff:127.0.0.1", true }, { "::ffff:192.168.0.1", false }, { "::ffff:8.8.8.8", true }
    };
    for (size_t index = 0; index < sizeof (cases) / sizeof (cases [0]); index++) {
        struct sockaddr_storage storage;
        memset (&storage, 0, sizeof (storage));
        socklen_t size;
        if (strchr (cases [index].address, ':')) {
            struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &storage;
            in6->sin6_family = AF_INET6;
            assert (inet_pton (AF_INET6, cases [index].address, &in6->sin6_addr) == 1);
            size = sizeof (*in6);
        }
        else {
            struct sockaddr_in *in = (struct sockaddr_in *) &storage;
            in->sin_family = AF_INET;
            assert (inet_pton (AF_INET, cases [index].address, &in->sin_addr) == 1);
            size = sizeof (*in);
        }
        char text [INET6_ADDRSTRLEN];
        bool allowed = s_address_allowed (&webhook, (struct sockaddr *) &storage, size, text, sizeof (text));
        if (allowed != cases [index].allowed)
            printf ("\n   %s (%s): %s", cases [index].address, text, allowed? "allowed": "denied");
        assert (allowed == cases [index].allowed);
    }

    //  Retry-After: seconds, an HTTP date, nonsense
    assert (s_retry_after ("120") == 120000);
    assert (s_retry_after (" 0") == 0);
    assert (s_retry_after ("99999999999") == 0);
    assert (s_retry_after ("99999") == S_MAX_RETRY_AFTER);
    assert (s_retry_after ("soon") == 0);
    assert (s_retry_after ("Wed, 21 Oct 2015 07:28:00 GMT") == 0);     //  past
    char date [64];
    time_t later = time (NULL) + 60;
    struct tm parts;
    strftime (date, sizeof (date), "%a, %d %b %Y %H:%M:%S GMT", gmtime_r (&later, &parts));
    int64_t ms = s_retry_after (date);
    assert (ms > 55000 && ms <= 60000);
    printf ("OK\n");
}
