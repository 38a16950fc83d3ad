/*  =========================================================================
    zeb_http_api - the REST routes: events, the registry, automations,
    dead letters (docs/HTTP.md)

    Each route is one call of a client class (zeb_client, zeb_registry_
    client, zeb_automation_client, zeb_outbox_client) with a body built
    from the request, and its reply passed through as JSON; a NACK is
    answered with its own body and the HTTP status of its code.
    =========================================================================
*/

#include "zeb_http_int.h"

//  ---------------------------------------------------------------------
//  Helpers

//  A uint query parameter: true with *value, or false if absent; -1
//  (having replied 400) when present and not a number
static int
s_query_uint (zeb_http_req_t *req, const char *name, uint64_t *value)
{
    char text [32];
    if (!zeb_http_query (req, name, text, sizeof (text)))
        return 0;
    char *end;
    errno = 0;
    unsigned long long number = strtoull (text, &end, 10);
    if (!*text || *end || errno || *text == '-') {
        zeb_http_reply_error (req, 400, "INVALID_ATTRIBUTE", "?%s= must be a non-negative integer", name);
        return -1;
    }
    *value = number;
    return 1;
}

//  A time query parameter: ms since the epoch, or RFC 3339 text
static int
s_query_time (zeb_http_req_t *req, const char *name, int64_t *value)
{
    char text [64];
    if (!zeb_http_query (req, name, text, sizeof (text)))
        return 0;
    char *end;
    long long number = strtoll (text, &end, 10);
    if (*text && !*end) {
        *value = number;
        return 1;
    }
    if (zeb_time_parse (text, strlen (text), value) == 0)
        return 1;
    zeb_http_reply_error (req, 400, "INVALID_ATTRIBUTE", "?%s= must be ms or RFC 3339 text", name);
    return -1;
}

//  Copy the query's string parameters named in names into body
static void
s_query_strings (zeb_http_req_t *req, json_t *body, const char *const *names, const char *const *keys)
{
    for (size_t index = 0; names [index]; index++) {
        char text [256];
        if (zeb_http_query (req, names [index], text, sizeof (text)))
            json_object_set_new (body, keys [index], json_string (text));
    }
}

//  Reply to a client call: 0 with the reply, else its NACK
static int
s_answer (zeb_http_req_t *req, int rc, json_t *reply, zeb_fault_t *fault, int status)
{
    if (rc)
        return zeb_http_reply_fault (req, rc, reply, fault);
    return zeb_http_reply_json (req, status, reply? reply: json_object (), NULL);
}

//  The event's CloudEvents JSON objects appended to text
static void
s_append (char **text, size_t *size, size_t *capacity, const char *more, size_t len)
{
    if (*size + len + 1 > *capacity) {
        while (*size + len + 1 > *capacity)
            *capacity *= 2;
        *text = (char *) realloc (*text, *capacity);
        assert (*text);
    }
    memcpy (*text + *size, more, len);
    *size += len;
    (*text) [*size] = 0;
}

//  Fill correlation from the request: X-Correlation-Id, traceparent's
//  trace id, metadata.correlationId, or a new UUIDv7
static void
s_correlation (zeb_http_req_t *req, json_t *metadata, char *correlation, size_t size)
{
    const char *given = zeb_http_header (req, "X-Correlation-Id");
    const char *traceparent = zeb_http_header (req, "traceparent");
    const char *meta = json_string_value (json_object_get (metadata, "correlationId"));
    if (given && *given && strlen (given) < size)
        snprintf (correlation, size, "%s", given);
    else
    if (traceparent && strlen (traceparent) == 55 && traceparent [2] == '-')
        snprintf (correlation, size, "%.32s", traceparent + 3);
    else
    if (meta && *meta && strlen (meta) < size)
        snprintf (correlation, size, "%s", meta);
    else
        zeb_uuid_v7_str (correlation);
}

//  Publish one event; reply the outcome (201 by default)
static int
s_publish_one (zeb_http_req_t *req, zeb_event_t *event, const char *correlation)
{
    zeb_client_t *client = zeb_http_client (req);
    if (!client)
        return req->status;
    if (!zeb_event_id (event)) {
        char id [ZEB_UUID_STRLEN + 1];
        zeb_event_set (event, "id", zeb_uuid_v7_str (id));
    }
    zeb_ack_t ack;
    int rc = zeb_client_publish (client, event, &ack);
    if (rc) {
        zeb_fault_t fault;
        zeb_fault_set (&fault, rc, "%s", *ack.error? ack.error: zeb_client_error (client, rc));
        if (rc == ZEB_ETIMEOUT)
            rc = ZEB_EUNREACHABLE;
        return zeb_http_reply_fault (req, rc, NULL, &fault);
    }
    ZEB_HTTP_COUNT (req->http, published);
    json_t *reply = json_pack ("{s:s, s:I, s:b}", "eventId", zeb_event_id (event),
                               "sequence", (json_int_t) ack.sequence, "duplicate", ack.duplicate);
    if (ack.duplicate) {
        //  The stored event's id, not this one's
        zeb_fetch_t fetched;
        if (zeb_client_fetch (client, ack.sequence, 1, 0, NULL, &fetched) == 0) {
            zeb_event_t *stored = (zeb_event_t *) zlistx_first (fetched.events);
            if (stored && zeb_event_sequence (stored) == ack.sequence && zeb_event_id (stored))
                json_object_set_new (reply, "eventId", json_string (zeb_event_id (stored)));
            zeb_fetch_reset (&fetched);
        }
    }
    char headers [320] = "";
    if (correlation) {
        json_object_set_new (reply, "correlationId", json_string (correlation));
        snprintf (headers, sizeof (headers), "X-Correlation-Id: %s\r\n", correlation);
    }
    return zeb_http_reply_json (req, ack.duplicate? 200: 201, reply, *headers? headers: NULL);
}

//  ---------------------------------------------------------------------
//  Events

int
zeb_http_trigger (zeb_http_req_t *req)
{
    json_t *body = zeb_http_body_json (req, true);
    if (!body)
        return req->status;
    json_t *type = json_object_get (body, "eventType");
    json_t *metadata = json_object_get (body, "metadata");
    json_t *payload = json_object_get (body, "payload");
    int status = 0;
    if (!json_is_string (type))
        status = zeb_http_reply_error (req, 400, "MISSING_ATTRIBUTE", "needs eventType, a string");
    else
    if (metadata && !json_is_object (metadata) && !json_is_null (metadata))
        status = zeb_http_reply_error (req, 400, "INVALID_ATTRIBUTE", "metadata must be an object");
    if (status) {
        json_decref (body);
        return status;
    }
    zeb_event_t *event = zeb_event_new (json_string_value (type));
    const char *source = json_string_value (json_object_get (metadata, "source"));
    zeb_event_set (event, "source", source? source: "http/trigger");
    const char *by = json_string_value (json_object_get (metadata, "triggeredBy"));
    if (by)
        zeb_event_set (event, "actorid", by);
    const char *subject = json_string_value (json_object_get (metadata, "subject"));
    if (subject)
        zeb_event_set (event, "subject", subject);
    const char *key = zeb_http_header (req, "Idempotency-Key");
    if (!key)
        key = json_string_value (json_object_get (metadata, "idempotencyKey"));
    if (key)
        zeb_event_set (event, "idempotencykey", key);
    const char *traceparent = zeb_http_header (req, "traceparent");
    if (traceparent)
        zeb_event_set (event, "traceparent", traceparent);
    char correlation [256];
    s_correlation (req, metadata, correlation, sizeof (correlation));
    zeb_event_set (event, "correlationid", correlation);
    if (payload) {
        msgpack_sbuffer buffer;
        msgpack_sbuffer_init (&buffer);
        msgpack_packer packer;
        msgpack_packer_init (&packer, &buffer, msgpack_sbuffer_write);
        if (zeb_json_to_msgpack (payload, &packer) == 0)
            zeb_event_set_data (event, buffer.data, buffer.size);
        msgpack_sbuffer_destroy (&buffer);
    }
    json_decref (body);
    status = s_publish_one (req, event, correlation);
    zeb_event_destroy (&event);
    return status;
}

//  Binary mode: ce-* headers are the attributes, the body the data
static zeb_event_t *
s_binary_event (zeb_http_req_t *req, zeb_fault_t *fault)
{
    zeb_event_t *event = zeb_event_new (NULL);
    const struct mg_request_info *info = req->info;
    for (int index = 0; index < info->num_headers; index++) {
        const char *name = info->http_headers [index].name;
        if (strncasecmp (name, "ce-", 3) != 0)
            continue;
        char lower [64];
        size_t len;
        for (len = 0; name [3 + len] && len < sizeof (lower) - 1; len++)
            lower [len] = (char) tolower ((unsigned char) name [3 + len]);
        lower [len] = 0;
        const char *value = info->http_headers [index].value;
        if (streq (lower, "time")) {
            int64_t time_ms;
            if (zeb_time_parse (value, strlen (value), &time_ms)) {
                zeb_fault_set (fault, ZEB_EINVALID, "ce-time is not RFC 3339 text");
                zeb_event_destroy (&event);
                return NULL;
            }
            zeb_event_set_time (event, time_ms);
        }
        else
        if (streq (lower, "specversion")) {
            if (!streq (value, "1.0")) {
                zeb_fault_set (fault, ZEB_EINVALID, "ce-specversion must be 1.0");
                zeb_event_destroy (&event);
                return NULL;
            }
        }
        else
        if (zeb_event_set (event, lower, value)) {
            zeb_fault_set (fault, ZEB_EEXTENSION, "ce-%s is not an attribute or extension name", lower);
            zeb_event_destroy (&event);
            return NULL;
        }
    }
    const char *type = zeb_http_header (req, "Content-Type");
    if (type)
        zeb_event_set (event, "datacontenttype", type);
    if (req->body_size) {
        bool json = type && (strstr (type, "/json") || strstr (type, "+json"));
        if (json) {
            if (zeb_event_set_data_json (event, req->body, fault)) {
                zeb_event_destroy (&event);
                return NULL;
            }
        }
        else {
            //  Bytes, as a msgpack bin
            msgpack_sbuffer buffer;
            msgpack_sbuffer_init (&buffer);
            msgpack_packer packer;
            msgpack_packer_init (&packer, &buffer, msgpack_sbuffer_write);
            msgpack_pack_bin_with_body (&packer, req->body, req->body_size);
            zeb_event_set_data (event, buffer.data, buffer.size);
            msgpack_sbuffer_destroy (&buffer);
        }
    }
    return event;
}

//  A JSON array of structured events, atomically
static int
s_publish_batch (zeb_http_req_t *req, json_t *array)
{
    size_t count = json_array_size (array);
    if (count == 0)
        return zeb_http_reply_error (req, 400, "MALFORMED", "an empty batch");
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer packer;
    msgpack_packer_init (&packer, &buffer, msgpack_sbuffer_write);
    msgpack_pack_array (&packer, count);
    json_t *ids = json_array ();
    int status = 0;
    for (size_t index = 0; index < count && !status; index++) {
        char *text = zeb_json_dumps (json_array_get (array, index));
        zeb_fault_t fault = { 0 };
        zeb_event_t *event = text? zeb_event_from_json (text, strlen (text), &fault): NULL;
        free (text);
        if (event && !zeb_event_id (event)) {
            char id [ZEB_UUID_STRLEN + 1];
            zeb_event_set (event, "id", zeb_uuid_v7_str (id));
        }
        if (!event || zeb_event_validate (event, &fault) || zeb_event_encode (event, &buffer)) {
            json_t *nack = json_pack ("{s:s, s:s, s:I}", "reason",
                                      zeb_error_reason (fault.code? fault.code: ZEB_EMALFORMED),
                                      "error", fault.text, "index", (json_int_t) index);
            status = zeb_http_reply_fault (req, fault.code? fault.code: ZEB_EMALFORMED, nack, &fault);
        }
        else
            json_array_append_new (ids, json_string (zeb_event_id (event)));
        zeb_event_destroy (&event);
    }
    zeb_client_t *client = status? NULL: zeb_http_client (req);
    if (!status && client) {
        zeb_ack_t ack;
        int rc = zeb_client_publish_raw (client, buffer.data, buffer.size, &ack);
        if (rc) {
            zeb_fault_t fault;
            zeb_fault_set (&fault, rc, "%s", *ack.error? ack.error: zeb_strerror (rc));
            json_t *nack = ack.index >= 0? json_pack ("{s:s, s:s, s:I}", "reason", zeb_error_reason (rc),
                                                      "error", fault.text, "index", (json_int_t) ack.index)
                                         : NULL;
            status = zeb_http_reply_fault (req, rc == ZEB_ETIMEOUT? ZEB_EUNREACHABLE: rc, nack, &fault);
        }
        else {
            ZEB_HTTP_COUNT (req->http, published);
            status = zeb_http_reply_json (req, 201, json_pack ("{s:I, s:I, s:O}",
                                          "count", (json_int_t) count, "sequence",
                                          (json_int_t) ack.sequence, "ids", ids), NULL);
        }
    }
    else
    if (!status)
        status = req->status;
    json_decref (ids);
    msgpack_sbuffer_destroy (&buffer);
    return status;
}

int
zeb_http_events_post (zeb_http_req_t *req)
{
    if (zeb_http_read_body (req, req->http->max_body))
        return req->status;
    zeb_fault_t fault = { 0 };
    if (zeb_http_header (req, "ce-specversion") || zeb_http_header (req, "ce-type")) {
        zeb_event_t *event = s_binary_event (req, &fault);
        if (!event)
            return zeb_http_reply_fault (req, fault.code, NULL, &fault);
        int status = s_publish_one (req, event, NULL);
        zeb_event_destroy (&event);
        return status;
    }
    json_t *json = zeb_json_parse (req->body, req->body_size, &fault);
    if (!json) {
        ZEB_HTTP_COUNT (req->http, bad_requests);
        return zeb_http_reply_error (req, 400, "MALFORMED", "the body is not JSON: %s", fault.text);
    }
    int status;
    if (json_is_array (json))
        status = s_publish_batch (req, json);
    else
    if (json_is_object (json)) {
        zeb_event_t *event = zeb_event_from_json (req->body, req->body_size, &fault);
        status = event? s_publish_one (req, event, NULL): zeb_http_reply_fault (req, fault.code, NULL, &fault);
        zeb_event_destroy (&event);
    }
    else
        status = zeb_http_reply_error (req, 400, "MALFORMED", "a CloudEvent object or an array of them");
    json_decref (json);
    return status;
}

int
zeb_http_events_get (zeb_http_req_t *req)
{
    uint64_t from = 0, limit = 100;
    int64_t since = 0;
    int has_since;
    if (s_query_uint (req, "from", &from) < 0 || s_query_uint (req, "limit", &limit) < 0
    ||  (has_since = s_query_time (req, "since", &since)) < 0)
        return req->status;
    if (limit == 0 || limit > 1000)
        return zeb_http_reply_error (req, 400, "INVALID_ATTRIBUTE", "?limit= is 1..1000");
    char types [256] = "";
    zeb_http_query (req, "type", types, sizeof (types));
    zeb_client_t *client = zeb_http_client (req);
    if (!client)
        return req->status;
    zeb_fetch_t fetched;
    int rc = has_since? zeb_client_fetch_time (client, since, (size_t) limit, 0, types, &fetched)
                      : zeb_client_fetch (client, from, (size_t) limit, 0, types, &fetched);
    if (rc) {
        zeb_fault_t fault;
        zeb_fault_set (&fault, rc, "the log: %s", zeb_strerror (rc));
        return zeb_http_reply_fault (req, rc, NULL, &fault);
    }
    size_t capacity = 4096, size = 0;
    char *text = (char *) malloc (capacity);
    assert (text);
    text [0] = 0;
    s_append (&text, &size, &capacity, "{\"events\":[", 11);
    bool first = true;
    for (zeb_event_t *event = (zeb_event_t *) zlistx_first (fetched.events); event;
         event = (zeb_event_t *) zlistx_next (fetched.events)) {
        char *json = zeb_event_to_json (event);
        if (!json)
            continue;
        if (!first)
            s_append (&text, &size, &capacity, ",", 1);
        s_append (&text, &size, &capacity, json, strlen (json));
        free (json);
        first = false;
    }
    char tail [128];
    int len = snprintf (tail, sizeof (tail), "],\"count\":%zu,\"first\":%llu,\"last\":%llu,\"next\":%llu}",
                        zlistx_size (fetched.events), (unsigned long long) fetched.first,
                        (unsigned long long) fetched.last, (unsigned long long) fetched.next);
    s_append (&text, &size, &capacity, tail, (size_t) len);
    zeb_fetch_reset (&fetched);
    int status = zeb_http_reply (req, 200, "application/json", text, size, NULL);
    free (text);
    return status;
}

int
zeb_http_event_get (zeb_http_req_t *req)
{
    char *end;
    unsigned long long sequence = strtoull (req->params [0], &end, 10);
    if (*end || sequence == 0)
        return zeb_http_reply_error (req, 404, "NOT_FOUND", "no event %s", req->params [0]);
    zeb_client_t *client = zeb_http_client (req);
    if (!client)
        return req->status;
    zeb_fetch_t fetched;
    int rc = zeb_client_fetch (client, sequence, 1, 0, NULL, &fetched);
    if (rc) {
        zeb_fault_t fault;
        zeb_fault_set (&fault, rc, "the log: %s", zeb_strerror (rc));
        return zeb_http_reply_fault (req, rc, NULL, &fault);
    }
    zeb_event_t *event = (zeb_event_t *) zlistx_first (fetched.events);
    int status;
    if (!event || zeb_event_sequence (event) != sequence)
        status = zeb_http_reply_error (req, 404, "NOT_FOUND", "no event %llu in the log (first %llu, last %llu)",
                                       sequence, (unsigned long long) fetched.first,
                                       (unsigned long long) fetched.last);
    else {
        char *json = zeb_event_to_json (event);
        status = json? zeb_http_reply (req, 200, "application/cloudevents+json", json, strlen (json), NULL)
                     : zeb_http_reply_error (req, 500, "INTERNAL", "the event has no JSON form");
        free (json);
    }
    zeb_fetch_reset (&fetched);
    return status;
}

//  ---------------------------------------------------------------------
//  The registry, in seed 004's names

int
zeb_http_types_list (zeb_http_req_t *req)
{
    zeb_registry_client_t *registry = zeb_http_registry (req);
    if (!registry)
        return req->status;
    char prefix [256] = "";
    zeb_http_query (req, "prefix", prefix, sizeof (prefix));
    json_t *reply = NULL;
    zeb_fault_t fault;
    int rc = zeb_registry_client_list (registry, prefix, &reply, &fault);
    if (rc)
        return zeb_http_reply_fault (req, rc, reply, &fault);
    json_t *types = json_array ();
    size_t index;
    json_t *item;
    json_array_foreach (json_object_get (reply, "types"), index, item)
        json_array_append_new (types, json_pack ("{s:O?, s:O?, s:O?, s:O?}",
                               "eventType", json_object_get (item, "type"),
                               "description", json_object_get (item, "description"),
                               "version", json_object_get (item, "latest"),
                               "compatibility", json_object_get (item, "compatibility")));
    json_decref (reply);
    return zeb_http_reply_json (req, 200, json_pack ("{s:o}", "types", types), NULL);
}

int
zeb_http_type_get (zeb_http_req_t *req)
{
    uint64_t version = 0;
    if (s_query_uint (req, "version", &version) < 0)
        return req->status;
    zeb_registry_client_t *registry = zeb_http_registry (req);
    if (!registry)
        return req->status;
    json_t *reply = NULL;
    zeb_fault_t fault;
    int rc = zeb_registry_client_get (registry, req->params [0], (uint32_t) version, &reply, &fault);
    if (rc)
        return zeb_http_reply_fault (req, rc, reply, &fault);
    const char *schema = json_string_value (json_object_get (reply, "schema"));
    json_t *parsed = schema? json_loads (schema, JSON_DECODE_ANY, NULL): NULL;
    json_t *body = json_pack ("{s:O?, s:O?, s:O?, s:o?, s:O?, s:O?}",
                              "eventType", json_object_get (reply, "type"),
                              "description", json_object_get (reply, "description"),
                              "version", json_object_get (reply, "version"),
                              "schema", parsed,
                              "compatibility", json_object_get (reply, "compatibility"),
                              "validation", json_object_get (reply, "validation"));
    json_decref (reply);
    return zeb_http_reply_json (req, 200, body, NULL);
}

int
zeb_http_type_versions (zeb_http_req_t *req)
{
    zeb_registry_client_t *registry = zeb_http_registry (req);
    if (!registry)
        return req->status;
    json_t *reply = NULL;
    zeb_fault_t fault;
    int rc = zeb_registry_client_versions (registry, req->params [0], &reply, &fault);
    if (rc)
        return zeb_http_reply_fault (req, rc, reply, &fault);
    json_t *body = json_pack ("{s:O?, s:O?}", "eventType", json_object_get (reply, "type"),
                              "versions", json_object_get (reply, "versions"));
    json_decref (reply);
    return zeb_http_reply_json (req, 200, body, NULL);
}

int
zeb_http_types_post (zeb_http_req_t *req)
{
    json_t *body = zeb_http_body_json (req, true);
    if (!body)
        return req->status;
    json_t *type = json_object_get (body, "eventType");
    json_t *schema = json_object_get (body, "schema");
    json_t *description = json_object_get (body, "description");
    json_t *compatibility = json_object_get (body, "compatibility");
    int status = 0;
    if (!json_is_string (type) || !schema)
        status = zeb_http_reply_error (req, 400, "MISSING_ATTRIBUTE", "needs eventType and schema");
    else
    if ((description && !json_is_string (description))
    ||  (compatibility && !json_is_string (compatibility)))
        status = zeb_http_reply_error (req, 400, "INVALID_ATTRIBUTE",
                                       "description and compatibility are strings");
    zeb_registry_client_t *registry = status? NULL: zeb_http_registry (req);
    if (!status && !registry)
        status = req->status;
    if (status) {
        json_decref (body);
        return status;
    }
    //  The schema as JSON text: an object (or boolean), or text already
    char *text = json_is_string (schema)? strdup (json_string_value (schema)): zeb_json_dumps (schema);
    json_t *reply = NULL;
    zeb_fault_t fault;
    int rc = zeb_registry_client_register (registry, json_string_value (type), text,
                                           json_string_value (description),
                                           json_string_value (compatibility), &reply, &fault);
    free (text);
    json_decref (body);
    if (rc)
        return zeb_http_reply_fault (req, rc, reply, &fault);
    json_t *result = json_pack ("{s:O?, s:O?, s:O?}", "eventType", json_object_get (reply, "type"),
                                "version", json_object_get (reply, "version"),
                                "duplicate", json_object_get (reply, "duplicate"));
    bool duplicate = json_is_true (json_object_get (reply, "duplicate"));
    json_decref (reply);
    return zeb_http_reply_json (req, duplicate? 200: 201, result, NULL);
}

//  The registry's reply with its "type" as "eventType"
static int
s_type_answer (zeb_http_req_t *req, int rc, json_t *reply, zeb_fault_t *fault)
{
    if (rc)
        return zeb_http_reply_fault (req, rc, reply, fault);
    json_t *type = json_object_get (reply, "type");
    if (type) {
        json_object_set (reply, "eventType", type);
        json_object_del (reply, "type");
    }
    return zeb_http_reply_json (req, 200, reply, NULL);
}

//  POST /api/events/types/{type}/check {schema}: would it register?
int
zeb_http_type_check (zeb_http_req_t *req)
{
    json_t *body = zeb_http_body_json (req, true);
    if (!body)
        return req->status;
    json_t *schema = json_object_get (body, "schema");
    if (!schema) {
        json_decref (body);
        return zeb_http_reply_error (req, 400, "MISSING_ATTRIBUTE", "needs schema");
    }
    zeb_registry_client_t *registry = zeb_http_registry (req);
    if (!registry) {
        json_decref (body);
        return req->status;
    }
    char *text = json_is_string (schema)? strdup (json_string_value (schema)): zeb_json_dumps (schema);
    json_decref (body);
    json_t *reply = NULL;
    zeb_fault_t fault;
    int rc = zeb_registry_client_check (registry, req->params [0], text, &reply, &fault);
    free (text);
    return s_type_answer (req, rc, reply, &fault);
}

//  PUT /api/events/types/{type}/compatibility|validation {compatibility|validation}
static int
s_type_mode (zeb_http_req_t *req, const char *field)
{
    json_t *body = zeb_http_body_json (req, true);
    if (!body)
        return req->status;
    const char *mode = json_string_value (json_object_get (body, field));
    if (!mode) {
        json_decref (body);
        return zeb_http_reply_error (req, 400, "MISSING_ATTRIBUTE", "needs %s (a string)", field);
    }
    zeb_registry_client_t *registry = zeb_http_registry (req);
    if (!registry) {
        json_decref (body);
        return req->status;
    }
    json_t *reply = NULL;
    zeb_fault_t fault;
    int rc = streq (field, "compatibility")
        ? zeb_registry_client_set_compatibility (registry, req->params [0], mode, &reply, &fault)
        : zeb_registry_client_set_validation (registry, req->params [0], mode, &reply, &fault);
    json_decref (body);
    return s_type_answer (req, rc, reply, &fault);
}

int
zeb_http_type_compatibility (zeb_http_req_t *req)
{
    return s_type_mode (req, "compatibility");
}

int
zeb_http_type_validation (zeb_http_req_t *req)
{
    return s_type_mode (req, "validation");
}

//  DELETE /api/events/types/{type}?version=N (none: every version)
int
zeb_http_type_delete (zeb_http_req_t *req)
{
    uint64_t version = 0;
    if (s_query_uint (req, "version", &version) < 0)
        return req->status;
    if (version > UINT32_MAX)
        return zeb_http_reply_error (req, 400, "INVALID_ATTRIBUTE", "?version= is too large");
    zeb_registry_client_t *registry = zeb_http_registry (req);
    if (!registry)
        return req->status;
    json_t *reply = NULL;
    zeb_fault_t fault;
    int rc = zeb_registry_client_delete (registry, req->params [0], (uint32_t) version, &reply, &fault);
    return s_type_answer (req, rc, reply, &fault);
}

//  ---------------------------------------------------------------------
//  Automations

static int
s_automation_call (zeb_http_req_t *req, const char *verb, json_t *body, int status)
{
    zeb_automation_client_t *automation = zeb_http_automation (req);
    if (!automation) {
        json_decref (body);
        return req->status;
    }
    json_t *reply = NULL;
    zeb_fault_t fault;
    int rc = zeb_automation_client_call (automation, verb, body, &reply, &fault);
    json_decref (body);
    return s_answer (req, rc, reply, &fault, status);
}

//  {id: the path's, by: the token's}
static json_t *
s_id_body (zeb_http_req_t *req)
{
    return json_pack ("{s:s, s:s}", "id", req->params [0], "by", req->who);
}

int
zeb_http_automations_list (zeb_http_req_t *req)
{
    json_t *body = json_object ();
    const char *names [] = { "type", "event", "after", NULL };
    s_query_strings (req, body, names, names);
    char text [16];
    if (zeb_http_query (req, "enabled", text, sizeof (text)))
        json_object_set_new (body, "enabled", json_boolean (streq (text, "true") || streq (text, "1")));
    uint64_t limit;
    int has = s_query_uint (req, "limit", &limit);
    if (has < 0) {
        json_decref (body);
        return req->status;
    }
    if (has)
        json_object_set_new (body, "limit", json_integer ((json_int_t) limit));
    return s_automation_call (req, "LIST", body, 200);
}

static int
s_put (zeb_http_req_t *req, json_t *rule, int created_status)
{
    zeb_automation_client_t *automation = zeb_http_automation (req);
    if (!automation) {
        json_decref (rule);
        return req->status;
    }
    json_t *reply = NULL;
    zeb_fault_t fault;
    int rc = zeb_automation_client_put (automation, rule, req->who, &reply, &fault);
    json_decref (rule);
    if (rc)
        return zeb_http_reply_fault (req, rc, reply, &fault);
    bool created = json_is_true (json_object_get (reply, "created"));
    return zeb_http_reply_json (req, created? created_status: 200, reply, NULL);
}

int
zeb_http_automations_post (zeb_http_req_t *req)
{
    json_t *rule = zeb_http_body_json (req, true);
    return rule? s_put (req, rule, 201): req->status;
}

int
zeb_http_automation_put (zeb_http_req_t *req)
{
    json_t *rule = zeb_http_body_keyed (req, "id");
    return rule? s_put (req, rule, 201): req->status;
}

int
zeb_http_automation_get (zeb_http_req_t *req)
{
    uint64_t version;
    int has = s_query_uint (req, "version", &version);
    if (has < 0)
        return req->status;
    json_t *body = json_pack ("{s:s}", "id", req->params [0]);
    if (has)
        json_object_set_new (body, "version", json_integer ((json_int_t) version));
    zeb_automation_client_t *automation = zeb_http_automation (req);
    if (!automation) {
        json_decref (body);
        return req->status;
    }
    json_t *reply = NULL;
    zeb_fault_t fault;
    int rc = zeb_automation_client_call (automation, "GET", body, &reply, &fault);
    json_decref (body);
    if (rc)
        return zeb_http_reply_fault (req, rc, reply, &fault);
    //  The rule itself, with its version beside its fields
    json_t *rule = json_incref (json_object_get (reply, "rule"));
    if (json_is_object (rule))
        json_object_set (rule, "version", json_object_get (reply, "version"));
    json_decref (reply);
    return zeb_http_reply_json (req, 200, rule, NULL);
}

int
zeb_http_automation_delete (zeb_http_req_t *req)
{
    return s_automation_call (req, "DELETE", s_id_body (req), 200);
}

int
zeb_http_automation_enable (zeb_http_req_t *req)
{
    return s_automation_call (req, "ENABLE", s_id_body (req), 200);
}

int
zeb_http_automation_disable (zeb_http_req_t *req)
{
    return s_automation_call (req, "DISABLE", s_id_body (req), 200);
}

//  LOGS by id or by type, with ?limit= and ?before=
static int
s_logs (zeb_http_req_t *req, const char *key, const char *value)
{
    json_t *body = json_pack ("{s:s}", key, value);
    const char *names [] = { "before", NULL };
    s_query_strings (req, body, names, names);
    uint64_t limit;
    int has = s_query_uint (req, "limit", &limit);
    if (has < 0) {
        json_decref (body);
        return req->status;
    }
    if (has)
        json_object_set_new (body, "limit", json_integer ((json_int_t) limit));
    return s_automation_call (req, "LOGS", body, 200);
}

int
zeb_http_automation_logs (zeb_http_req_t *req)
{
    return s_logs (req, "id", req->params [0]);
}

int
zeb_http_automations_logs (zeb_http_req_t *req)
{
    char type [256];
    if (!zeb_http_query (req, "eventType", type, sizeof (type)) || !*type)
        return zeb_http_reply_error (req, 400, "MISSING_ATTRIBUTE", "needs ?eventType=");
    return s_logs (req, "type", type);
}

int
zeb_http_automation_test (zeb_http_req_t *req)
{
    json_t *body = zeb_http_body_json (req, true);
    if (!body)
        return req->status;
    //  {event: {...}} or the event itself
    json_t *event = json_object_get (body, "event");
    json_t *call = json_pack ("{s:s, s:O}", "id", req->params [0], "event", event? event: body);
    json_decref (body);
    return s_automation_call (req, "TEST", call, 200);
}

int
zeb_http_automation_backtest (zeb_http_req_t *req)
{
    json_t *body = req->info->content_length == 0? json_object (): zeb_http_body_json (req, true);
    if (!body)
        return req->status;
    if (!json_object_get (body, "rule"))
        json_object_set_new (body, "id", json_string (req->params [0]));
    zeb_automation_client_t *automation = zeb_http_automation (req);
    if (!automation) {
        json_decref (body);
        return req->status;
    }
    zeb_automation_client_set_timeout (automation, (int) req->http->backtest_timeout);
    json_t *reply = NULL;
    zeb_fault_t fault;
    int rc = zeb_automation_client_call (automation, "BACKTEST", body, &reply, &fault);
    zeb_automation_client_set_timeout (automation, (int) req->http->call_timeout);
    json_decref (body);
    return s_answer (req, rc, reply, &fault, 200);
}

//  ---------------------------------------------------------------------
//  Dead letters

//  The DLQ filter of the query: origin, type, since, until, limit, after
static json_t *
s_dlq_filter (zeb_http_req_t *req)
{
    json_t *filter = json_object ();
    const char *names [] = { "origin", "type", "after", NULL };
    s_query_strings (req, filter, names, names);
    const char *times [] = { "since", "until" };
    for (int index = 0; index < 2; index++) {
        int64_t value;
        int has = s_query_time (req, times [index], &value);
        if (has < 0) {
            json_decref (filter);
            return NULL;
        }
        if (has)
            json_object_set_new (filter, times [index], json_integer (value));
    }
    uint64_t limit;
    int has = s_query_uint (req, "limit", &limit);
    if (has < 0) {
        json_decref (filter);
        return NULL;
    }
    if (has)
        json_object_set_new (filter, "limit", json_integer ((json_int_t) limit));
    return filter;
}

int
zeb_http_deadletters_list (zeb_http_req_t *req)
{
    json_t *filter = s_dlq_filter (req);
    if (!filter)
        return req->status;
    zeb_outbox_client_t *outbox = zeb_http_outbox (req);
    if (!outbox) {
        json_decref (filter);
        return req->status;
    }
    json_t *reply = NULL;
    zeb_fault_t fault;
    int rc = zeb_outbox_client_dlq_list (outbox, filter, &reply, &fault);
    json_decref (filter);
    return s_answer (req, rc, reply, &fault, 200);
}

int
zeb_http_deadletter_get (zeb_http_req_t *req)
{
    zeb_outbox_client_t *outbox = zeb_http_outbox (req);
    if (!outbox)
        return req->status;
    json_t *reply = NULL;
    zeb_fault_t fault;
    int rc = zeb_outbox_client_dlq_show (outbox, req->params [0], &reply, &fault);
    return s_answer (req, rc, reply, &fault, 200);
}

int
zeb_http_deadletter_replay (zeb_http_req_t *req)
{
    zeb_outbox_client_t *outbox = zeb_http_outbox (req);
    if (!outbox)
        return req->status;
    json_t *reply = NULL;
    zeb_fault_t fault;
    int rc = zeb_outbox_client_dlq_replay (outbox, req->params [0], NULL, &reply, &fault);
    return s_answer (req, rc, reply, &fault, 200);
}

int
zeb_http_deadletters_replay (zeb_http_req_t *req)
{
    //  The filter in the body (an object), or none: every dead letter
    json_t *filter = req->info->content_length == 0? json_object (): zeb_http_body_json (req, true);
    if (!filter)
        return req->status;
    zeb_outbox_client_t *outbox = zeb_http_outbox (req);
    if (!outbox) {
        json_decref (filter);
        return req->status;
    }
    json_t *reply = NULL;
    zeb_fault_t fault;
    int rc = zeb_outbox_client_dlq_replay (outbox, NULL, filter, &reply, &fault);
    json_decref (filter);
    return s_answer (req, rc, reply, &fault, 200);
}

int
zeb_http_deadletter_delete (zeb_http_req_t *req)
{
    zeb_outbox_client_t *outbox = zeb_http_outbox (req);
    if (!outbox)
        return req->status;
    json_t *reply = NULL;
    zeb_fault_t fault;
    int rc = zeb_outbox_client_dlq_purge (outbox, req->params [0], NULL, &reply, &fault);
    return s_answer (req, rc, reply, &fault, 200);
}
