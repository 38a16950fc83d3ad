/*  =========================================================================
    zeb_proto - the ZEB/1 wire protocol: commands, frames and bodies
    =========================================================================
*/

#include "zeb_classes.h"
#include <limits.h>

int
zeb_proto_send (void *socket, zmq_msg_t *identity, const char *command,
                const void *body, size_t body_size,
                const void *tag, size_t tag_size, int flags)
{
    assert (socket);
    assert (command);
    int rc = 0;
    if (identity) {
        rc = zmq_msg_send (identity, socket, ZMQ_SNDMORE | flags) < 0? -1: 0;
        if (rc)
            zmq_msg_close (identity);
    }
    if (rc == 0)
        rc = zmq_send (socket, command, strlen (command), ZMQ_SNDMORE | flags) < 0? -1: 0;
    if (rc == 0)
        rc = zmq_send (socket, body, body_size, (tag? ZMQ_SNDMORE: 0) | flags) < 0? -1: 0;
    if (rc == 0 && tag)
        rc = zmq_send (socket, tag, tag_size, flags) < 0? -1: 0;
    return rc;
}

int
zeb_proto_pack_nack (msgpack_sbuffer *buffer, int code, const char *error, int64_t index)
{
    msgpack_packer pk;
    msgpack_packer_init (&pk, buffer, msgpack_sbuffer_write);
    const char *reason = zeb_error_reason (code);
    if (!error)
        error = zeb_strerror (code);
    return msgpack_pack_map (&pk, index >= 0? 4: 3)
        || msgpack_pack_str_with_body (&pk, "code", 4)
        || msgpack_pack_int (&pk, zeb_error_status (code))
        || msgpack_pack_str_with_body (&pk, "reason", 6)
        || msgpack_pack_str_with_body (&pk, reason, strlen (reason))
        || msgpack_pack_str_with_body (&pk, "error", 5)
        || msgpack_pack_str_with_body (&pk, error, strlen (error))
        || (index >= 0
            && (msgpack_pack_str_with_body (&pk, "index", 5) || msgpack_pack_int64 (&pk, index)))
        ? -1: 0;
}

int
zeb_proto_parse_nack (const void *body, size_t size, zeb_fault_t *fault, int64_t *index)
{
    const char *reason = NULL, *error = NULL;
    size_t reason_len = 0, error_len = 0;
    int64_t status = 0;
    *index = -1;
    if (zeb_proto_get_int (body, size, "code", &status) < 0
    ||  zeb_proto_get_str (body, size, "reason", &reason, &reason_len) < 0
    ||  zeb_proto_get_str (body, size, "error", &error, &error_len) < 0
    ||  zeb_proto_get_int (body, size, "index", index) < 0)
        return -1;
    int code = reason? zeb_error_from_reason (reason, reason_len): ZEB_ERROR;
    if (code == ZEB_ERROR && status) {
        //  An unknown reason: fall back on the status
        code = status == 413? ZEB_ETOOBIG: status == 404? ZEB_ENOTFOUND:
               status == 429? ZEB_EOVERLOADED: status == 503? ZEB_EFULL:
               status == 504? ZEB_ETIMEOUT: status >= 400 && status < 500? ZEB_EINVALID: ZEB_ERROR;
    }
    zeb_fault_set (fault, code, "%.*s", (int) error_len, error? error: "");
    return 0;
}

int
zeb_proto_pack_ack (msgpack_sbuffer *buffer, uint64_t sequence, bool duplicate)
{
    msgpack_packer pk;
    msgpack_packer_init (&pk, buffer, msgpack_sbuffer_write);
    return msgpack_pack_map (&pk, 2)
        || msgpack_pack_str_with_body (&pk, "sequence", 8)
        || msgpack_pack_uint64 (&pk, sequence)
        || msgpack_pack_str_with_body (&pk, "duplicate", 9)
        || (duplicate? msgpack_pack_true (&pk): msgpack_pack_false (&pk))
        ? -1: 0;
}

//  The next item of a comma-separated list, spaces trimmed; NULL at the end
static const char *
s_next_item (const char **cursor, size_t *len)
{
    const char *p = *cursor;
    while (p && *p) {
        const char *comma = strchr (p, ',');
        const char *end = comma? comma: p + strlen (p);
        const char *start = p;
        p = comma? comma + 1: end;
        while (start < end && *start == ' ')
            start++;
        while (end > start && end [-1] == ' ')
            end--;
        if (end > start) {
            *cursor = p;
            *len = (size_t) (end - start);
            return start;
        }
    }
    *cursor = p;
    return NULL;
}

int
zeb_proto_pack_fetch (msgpack_sbuffer *buffer, uint64_t from, int64_t time_ms,
                      size_t max, int wait_ms, const char *types)
{
    assert (buffer);
    size_t type_count = 0, len;
    for (const char *cursor = types; s_next_item (&cursor, &len);)
        type_count++;
    msgpack_packer pk;
    msgpack_packer_init (&pk, buffer, msgpack_sbuffer_write);
    //  from or time, max, wait_ms, and types if any
    int rc = msgpack_pack_map (&pk, 3 + (type_count > 0));
    if (time_ms >= 0)
        rc = rc || msgpack_pack_str_with_body (&pk, "time", 4) || msgpack_pack_int64 (&pk, time_ms);
    else
        rc = rc || msgpack_pack_str_with_body (&pk, "from", 4) || msgpack_pack_uint64 (&pk, from);
    rc = rc || msgpack_pack_str_with_body (&pk, "max", 3) || msgpack_pack_uint64 (&pk, max)
            || msgpack_pack_str_with_body (&pk, "wait_ms", 7)
            || msgpack_pack_int (&pk, wait_ms > 0? wait_ms: 0);
    if (type_count) {
        rc = rc || msgpack_pack_str_with_body (&pk, "types", 5)
                || msgpack_pack_array (&pk, type_count);
        const char *cursor = types, *prefix;
        while (rc == 0 && (prefix = s_next_item (&cursor, &len)))
            rc = msgpack_pack_str_with_body (&pk, prefix, len);
    }
    return rc? -1: 0;
}

int
zeb_proto_parse_events (const void *body, size_t size, uint64_t from,
                        uint64_t *first, uint64_t *last, uint64_t *next, zlistx_t *events)
{
    assert (first && last && next);
    assert (events);
    zeb_mpk_t reader;
    uint32_t count;
    if (zeb_proto_get_uint (body, size, "first", first)
    ||  zeb_proto_get_uint (body, size, "last", last)
    ||  zeb_proto_get_uint (body, size, "next", next)
    ||  zeb_mpk_find (body, size, "events", &reader)
    ||  zeb_mpk_read_array (&reader, &count))
        return -1;
    if (*next < (from? from: 1))
        return -1;                      //  a reader never goes back
    size_t added = 0;
    uint64_t previous = from? from - 1: 0;
    int rc = 0;
    for (uint32_t index = 0; index < count && rc == 0; index++) {
        const uint8_t *span;
        size_t span_size;
        zeb_event_t *event = NULL;
        if (zeb_mpk_skip (&reader, &span, &span_size) == 0)
            event = zeb_event_decode (span, span_size, NULL);
        uint64_t sequence = event? zeb_event_sequence (event): 0;
        if (!event || sequence <= previous || sequence >= *next) {
            zeb_event_destroy (&event);
            rc = -1;
        }
        else {
            zlistx_add_end (events, event);
            previous = sequence;
            added++;
        }
    }
    //  All or nothing: take back what this reply added
    while (rc && added--) {
        zlistx_last (events);
        zeb_event_t *event = (zeb_event_t *) zlistx_detach_cur (events);
        zeb_event_destroy (&event);
    }
    return rc;
}

bool
zeb_proto_is_map (const void *body, size_t size)
{
    zeb_mpk_t reader;
    zeb_mpk_init (&reader, body, size);
    uint32_t count;
    if (zeb_mpk_read_map (&reader, &count))
        return false;
    for (uint32_t index = 0; index < count; index++) {
        const char *key;
        uint32_t key_len;
        const uint8_t *span;
        size_t span_size;
        if (zeb_mpk_read_str (&reader, &key, &key_len)
        ||  zeb_mpk_skip (&reader, &span, &span_size))
            return false;
    }
    return zeb_mpk_done (&reader);
}

int
zeb_proto_get_uint (const void *body, size_t size, const char *key, uint64_t *value)
{
    zeb_mpk_t reader;
    if (zeb_mpk_find (body, size, key, &reader))
        return 1;
    if (zeb_mpk_peek (&reader) == ZEB_MPK_NIL)
        return 1;
    return zeb_mpk_read_uint (&reader, value)? -1: 0;
}

int
zeb_proto_get_int (const void *body, size_t size, const char *key, int64_t *value)
{
    zeb_mpk_t reader;
    if (zeb_mpk_find (body, size, key, &reader))
        return 1;
    if (zeb_mpk_peek (&reader) == ZEB_MPK_NIL)
        return 1;
    return zeb_mpk_read_int (&reader, value)? -1: 0;
}

int
zeb_proto_get_bool (const void *body, size_t size, const char *key, bool *value)
{
    zeb_mpk_t reader;
    if (zeb_mpk_find (body, size, key, &reader))
        return 1;
    if (zeb_mpk_peek (&reader) == ZEB_MPK_NIL)
        return 1;
    return zeb_mpk_read_bool (&reader, value)? -1: 0;
}

int
zeb_proto_get_str (const void *body, size_t size, const char *key, const char **value, size_t *len)
{
    zeb_mpk_t reader;
    if (zeb_mpk_find (body, size, key, &reader))
        return 1;
    if (zeb_mpk_peek (&reader) == ZEB_MPK_NIL)
        return 1;
    uint32_t length;
    if (zeb_mpk_read_str (&reader, value, &length))
        return -1;
    *len = length;
    return 0;
}

//  ---------------------------------------------------------------------
//  Tagged requests

zsock_t *
zeb_proto_dealer_new (const char *endpoint, int sndhwm, int rcvhwm)
{
    assert (endpoint);
    zsock_t *socket = zsock_new (ZMQ_DEALER);
    if (!socket)
        return NULL;
    zsock_set_linger (socket, 0);
    if (sndhwm)
        zsock_set_sndhwm (socket, sndhwm);
    if (rcvhwm)
        zsock_set_rcvhwm (socket, rcvhwm);
    zsock_set_reconnect_ivl (socket, 100);
    zsock_set_reconnect_ivl_max (socket, 1000);
    if (zsock_connect (socket, "%s", endpoint)) {
        zsock_destroy (&socket);
        return NULL;
    }
    return socket;
}

uint64_t
zeb_proto_tag_next (uint64_t *next, char kind, uint8_t *tag)
{
    assert (next);
    assert (tag);
    uint64_t counter = (*next)++;
    tag [0] = (uint8_t) kind;
    for (int index = 0; index < 8; index++)
        tag [1 + index] = (uint8_t) (counter >> (56 - 8 * index));
    return counter;
}

int
zeb_proto_reply_recv (void *socket, zeb_proto_reply_t *reply, int timeout_ms)
{
    assert (socket);
    assert (reply);
    reply->count = reply->frames = 0;
    //  A receive with a timeout waits inside libzmq: fewer system calls
    //  than a poll and a receive
    if (timeout_ms)
        zmq_setsockopt (socket, ZMQ_RCVTIMEO, &timeout_ms, sizeof (timeout_ms));
    zmq_msg_init (&reply->parts [0]);
    if (zmq_msg_recv (&reply->parts [0], socket, timeout_ms? 0: ZMQ_DONTWAIT) < 0) {
        zmq_msg_close (&reply->parts [0]);
        return -1;
    }
    reply->count = reply->frames = 1;
    bool more = zmq_msg_more (&reply->parts [0]);
    while (more) {
        //  The rest of a multipart message is there already
        zmq_msg_t extra;
        zmq_msg_t *part = reply->count < 3? &reply->parts [reply->count]: &extra;
        zmq_msg_init (part);
        if (zmq_msg_recv (part, socket, 0) < 0) {
            zmq_msg_close (part);
            break;
        }
        reply->frames++;
        more = zmq_msg_more (part);
        if (part == &extra)
            zmq_msg_close (&extra);
        else
            reply->count++;
    }
    return 0;
}

void
zeb_proto_reply_close (zeb_proto_reply_t *reply)
{
    assert (reply);
    for (int index = 0; index < reply->count; index++)
        zmq_msg_close (&reply->parts [index]);
    reply->count = 0;
}

bool
zeb_proto_reply_is (zeb_proto_reply_t *reply, const char *command)
{
    assert (reply);
    size_t len = strlen (command);
    return reply->count >= 1 && zmq_msg_size (&reply->parts [0]) == len
        && memcmp (zmq_msg_data (&reply->parts [0]), command, len) == 0;
}

const void *
zeb_proto_reply_body (zeb_proto_reply_t *reply, size_t *size)
{
    assert (reply);
    *size = reply->count >= 2? zmq_msg_size (&reply->parts [1]): 0;
    return reply->count >= 2? zmq_msg_data (&reply->parts [1]): NULL;
}

bool
zeb_proto_reply_tag (zeb_proto_reply_t *reply, char kind, uint64_t *counter)
{
    assert (reply);
    if (reply->count < 3 || zmq_msg_size (&reply->parts [2]) != ZEB_PROTO_TAG_SIZE)
        return false;
    const uint8_t *tag = (const uint8_t *) zmq_msg_data (&reply->parts [2]);
    if (tag [0] != (uint8_t) kind)
        return false;
    *counter = 0;
    for (int index = 1; index < ZEB_PROTO_TAG_SIZE; index++)
        *counter = (*counter << 8) | tag [index];
    return true;
}

int
zeb_proto_send_until (void *socket, const char *command, const void *body, size_t size,
                      const uint8_t *tag, int64_t deadline)
{
    assert (socket);
    zmq_pollitem_t item = { socket, 0, ZMQ_POLLOUT, 0 };
    while (zeb_proto_send (socket, NULL, command, body, size, tag, ZEB_PROTO_TAG_SIZE,
                           ZMQ_DONTWAIT)) {
        //  Queue full or no connection: wait for room, up to the deadline,
        //  trying again at least every 100 ms
        if (zmq_errno () != EAGAIN)
            return ZEB_EUNREACHABLE;
        int64_t left = deadline - zeb_time_mono_us () / 1000;
        if (left <= 0)
            return deadline? ZEB_EUNREACHABLE: ZEB_EOVERLOADED;
        zmq_poll (&item, 1, (long) (left < 100? left: 100));
    }
    return 0;
}

int
zeb_proto_reply_await (void *socket, char kind, uint64_t counter, int64_t deadline,
                       zeb_proto_reply_t *reply, zeb_proto_other_fn *other, void *arg)
{
    assert (socket);
    assert (reply);
    while (true) {
        int64_t left = deadline - zeb_time_mono_us () / 1000;
        if (left < 0)
            return -1;
        if (zeb_proto_reply_recv (socket, reply, left > INT_MAX? INT_MAX: (int) left))
            return -1;
        uint64_t got;
        if (zeb_proto_reply_tag (reply, kind, &got) && got == counter)
            return 0;
        if (other)
            other (reply, arg);
        zeb_proto_reply_close (reply);  //  else late: dropped
    }
}

//  ---------------------------------------------------------------------
//  Synchronous calls with JSON bodies

int
zeb_proto_send_json (void *socket, uint64_t *next_tag, char kind, const char *command,
                     json_t *body, int64_t deadline, uint64_t *counter)
{
    assert (socket);
    assert (body);
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    if (zeb_json_to_msgpack (body, &pk)) {
        msgpack_sbuffer_destroy (&buffer);
        return ZEB_EINVALID;
    }
    uint8_t tag [ZEB_PROTO_TAG_SIZE];
    *counter = zeb_proto_tag_next (next_tag, kind, tag);
    int rc = zeb_proto_send_until (socket, command, buffer.data, buffer.size, tag, deadline);
    msgpack_sbuffer_destroy (&buffer);
    return rc;
}

//  The outcome of the reply to command, and its body as JSON
static int
s_call_outcome (zeb_proto_call_t *call, zeb_proto_reply_t *message, const char *command,
                const char *expected, json_t **reply, zeb_fault_t *fault)
{
    size_t size;
    const void *body = zeb_proto_reply_body (message, &size);
    json_t *json = body? zeb_json_from_msgpack (body, size, NULL): NULL;
    int rc = 0;
    bool deliver = false;           //  the body of a reply or a NACK goes to the caller
    if (!json || !json_is_object (json))
        rc = zeb_fault_set (fault, ZEB_EPROTOCOL, "%s reply to %s is not a msgpack map",
                            call->peer, command);
    else
    if (zeb_proto_reply_is (message, ZEB_CMD_NACK)) {
        zeb_fault_t nack = { 0 };
        int64_t index;
        if (zeb_proto_parse_nack (body, size, &nack, &index))
            rc = zeb_fault_set (fault, ZEB_EPROTOCOL, "%s sent a malformed NACK to %s",
                                call->peer, command);
        else {
            rc = zeb_fault_set (fault, nack.code? nack.code: ZEB_ERROR, "%s", nack.text);
            deliver = true;
        }
    }
    else
    if (!zeb_proto_reply_is (message, expected))
        rc = zeb_fault_set (fault, ZEB_EPROTOCOL, "%s answered %s with another command",
                            call->peer, command);
    else
        deliver = true;
    if (reply && deliver)
        *reply = json;
    else
        json_decref (json);
    return rc;
}

int
zeb_proto_call_json (zeb_proto_call_t *call, const char *command, const char *expected,
                     json_t *body, json_t **reply, zeb_fault_t *fault)
{
    assert (call);
    assert (command);
    assert (expected);
    if (reply)
        *reply = NULL;
    int64_t deadline = zeb_time_mono_us () / 1000 + call->timeout;
    uint64_t want;
    int rc = zeb_proto_send_json (call->socket, call->next_tag, call->kind, command, body,
                                  deadline, &want);
    if (rc)
        return zeb_fault_set (fault, rc, "cannot send %s to the %s: %s", command, call->peer,
                              zeb_strerror (rc));
    zeb_proto_reply_t message;
    if (zeb_proto_reply_await (call->socket, call->kind, want, deadline, &message,
                               call->other, call->arg))
        return zeb_fault_set (fault, ZEB_ETIMEOUT, "no reply to %s from the %s within %d ms",
                              command, call->peer, call->timeout);
    rc = s_call_outcome (call, &message, command, expected, reply, fault);
    zeb_proto_reply_close (&message);
    return rc;
}

//  ---------------------------------------------------------------------
//  Self test

static void
s_test_count_other (zeb_proto_reply_t *reply, void *arg)
{
    uint64_t counter;
    if (zeb_proto_reply_tag (reply, 'X', &counter))
        (*(int *) arg)++;
}

void
zeb_proto_test (bool verbose)
{
    printf (" * zeb_proto: ");
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    assert (zeb_proto_pack_nack (&buffer, ZEB_ETOOBIG, "event of 2000000 bytes", 3) == 0);
    zeb_fault_t fault;
    int64_t index;
    assert (zeb_proto_parse_nack (buffer.data, buffer.size, &fault, &index) == 0);
    assert (fault.code == ZEB_ETOOBIG && index == 3);
    assert (streq (fault.text, "event of 2000000 bytes"));
    int64_t status;
    assert (zeb_proto_get_int (buffer.data, buffer.size, "code", &status) == 0 && status == 413);
    const char *text;
    size_t len;
    assert (zeb_proto_get_str (buffer.data, buffer.size, "reason", &text, &len) == 0);
    assert (len == 9 && memcmp (text, "TOO_LARGE", 9) == 0);
    assert (zeb_proto_get_uint (buffer.data, buffer.size, "reason", (uint64_t *) &status) == -1);
    assert (zeb_proto_get_uint (buffer.data, buffer.size, "nothing", (uint64_t *) &status) == 1);
    assert (zeb_proto_is_map (buffer.data, buffer.size));
    assert (!zeb_proto_is_map (buffer.data, buffer.size - 1));       //  truncated
    char trailing [256] = { 0 };
    assert (buffer.size < sizeof (trailing));
    memcpy (trailing, buffer.data, buffer.size);
    assert (!zeb_proto_is_map (trailing, buffer.size + 1));          //  trailing byte
    assert (!zeb_proto_is_map ("\x81\x01\x02", 3));                //  integer key
    assert (!zeb_proto_is_map ("\x91\x01", 2));                     //  an array
    assert (zeb_proto_is_map ("\x80", 1));

    msgpack_sbuffer_clear (&buffer);
    assert (zeb_proto_pack_ack (&buffer, 42, true) == 0);
    uint64_t sequence;
    bool duplicate;
    assert (zeb_proto_get_uint (buffer.data, buffer.size, "sequence", &sequence) == 0 && sequence == 42);
    assert (zeb_proto_get_bool (buffer.data, buffer.size, "duplicate", &duplicate) == 0 && duplicate);

    //  FETCH bodies: from or time, prefixes trimmed, empty items skipped
    msgpack_sbuffer_clear (&buffer);
    assert (zeb_proto_pack_fetch (&buffer, 7, -1, 100, 250, " order., ,user.*") == 0);
    assert (zeb_proto_is_map (buffer.data, buffer.size));
    assert (zeb_proto_get_uint (buffer.data, buffer.size, "from", &sequence) == 0 && sequence == 7);
    assert (zeb_proto_get_int (buffer.data, buffer.size, "wait_ms", &status) == 0 && status == 250);
    assert (zeb_proto_get_int (buffer.data, buffer.size, "time", &status) == 1);
    zeb_mpk_t reader;
    uint32_t count;
    assert (zeb_mpk_find (buffer.data, buffer.size, "types", &reader) == 0);
    assert (zeb_mpk_read_array (&reader, &count) == 0 && count == 2);
    uint32_t item_len;
    assert (zeb_mpk_read_str (&reader, &text, &item_len) == 0 && item_len == 6);
    assert (memcmp (text, "order.", 6) == 0);
    msgpack_sbuffer_clear (&buffer);
    assert (zeb_proto_pack_fetch (&buffer, 7, 1000, 1, 0, NULL) == 0);
    assert (zeb_proto_get_int (buffer.data, buffer.size, "time", &status) == 0 && status == 1000);
    assert (zeb_proto_get_uint (buffer.data, buffer.size, "from", &sequence) == 1);
    assert (zeb_mpk_find (buffer.data, buffer.size, "types", &reader) == -1);

    //  EVENTS replies: all or nothing, never going back
    zlistx_t *events = zlistx_new ();
    uint64_t first, last, next;
    const char *replies [] = {
        //  good: 3 and 5 from 3
        "{\"first\":1,\"last\":9,\"next\":6,\"events\":[{\"type\":\"a\",\"source\":\"s\","
        "\"sequence\":3},{\"type\":\"a\",\"source\":\"s\",\"sequence\":5}]}",
        //  out of order
        "{\"first\":1,\"last\":9,\"next\":6,\"events\":[{\"type\":\"a\",\"source\":\"s\","
        "\"sequence\":4},{\"type\":\"a\",\"source\":\"s\",\"sequence\":3}]}",
        //  an event at next
        "{\"first\":1,\"last\":9,\"next\":4,\"events\":[{\"type\":\"a\",\"source\":\"s\","
        "\"sequence\":4}]}",
        //  next before from
        "{\"first\":1,\"last\":9,\"next\":2,\"events\":[]}",
        //  no next
        "{\"first\":1,\"last\":9,\"events\":[]}"
    };
    for (size_t reply = 0; reply < 5; reply++) {
        msgpack_sbuffer_clear (&buffer);
        assert (zeb_json_pack_text (replies [reply], strlen (replies [reply]), &buffer, NULL) == 0);
        int rc = zeb_proto_parse_events (buffer.data, buffer.size, 3, &first, &last, &next, events);
        assert (reply == 0? rc == 0: rc == -1);
        assert (zlistx_size (events) == 2);
        if (reply == 0) {
            assert (first == 1 && last == 9 && next == 6);
            assert (zeb_event_sequence ((zeb_event_t *) zlistx_first (events)) == 3);
        }
    }
    zeb_event_t *event;
    while ((event = (zeb_event_t *) zlistx_detach (events, NULL)))
        zeb_event_destroy (&event);
    zlistx_destroy (&events);
    msgpack_sbuffer_clear (&buffer);
    assert (zeb_proto_pack_ack (&buffer, 42, true) == 0);

    //  Frames over a real socket pair, with and without a tag
    zsock_t *server = zsock_new_router ("inproc://zeb-proto-test");
    zsock_t *client = zsock_new_dealer (">inproc://zeb-proto-test");
    assert (server && client);
    assert (zeb_proto_send (zsock_resolve (client), NULL, ZEB_CMD_ACK,
                            buffer.data, buffer.size, "t1", 2, 0) == 0);
    zmsg_t *msg = zmsg_recv (server);
    assert (zmsg_size (msg) == 4);
    zframe_t *identity = zmsg_pop (msg);
    char *command = zmsg_popstr (msg);
    assert (streq (command, "ACK"));
    zstr_free (&command);
    zframe_t *body = zmsg_pop (msg);
    assert (zframe_size (body) == buffer.size);
    zframe_t *tag = zmsg_pop (msg);
    assert (zframe_streq (tag, "t1"));
    zmq_msg_t reply_identity;
    zmq_msg_init_size (&reply_identity, zframe_size (identity));
    memcpy (zmq_msg_data (&reply_identity), zframe_data (identity), zframe_size (identity));
    assert (zeb_proto_send (zsock_resolve (server), &reply_identity, ZEB_CMD_NACK, "\x80", 1, NULL, 0, 0) == 0);
    zmsg_t *reply = zmsg_recv (client);
    assert (zmsg_size (reply) == 2);
    zmsg_destroy (&reply);

    //  Tagged requests: the awaited reply is found among late and other ones
    uint64_t next_tag = 1;
    uint8_t tags [3][ZEB_PROTO_TAG_SIZE];
    zeb_proto_tag_next (&next_tag, 'R', tags [0]);
    zeb_proto_tag_next (&next_tag, 'X', tags [1]);
    uint64_t awaited = zeb_proto_tag_next (&next_tag, 'R', tags [2]);
    assert (awaited == 3 && next_tag == 4);
    assert (tags [2][0] == 'R' && tags [2][8] == 3 && tags [2][1] == 0);
    void *handle = zsock_resolve (client);
    for (int request = 0; request < 3; request++)
        assert (zeb_proto_send_until (handle, ZEB_CMD_STATS, "\x80", 1, tags [request], 0) == 0);
    for (int answer = 0; answer < 3; answer++) {
        zmsg_t *request = zmsg_recv (server);
        assert (zmsg_size (request) == 4);
        zframe_t *request_tag = zmsg_last (request);
        zmq_msg_t peer;
        zframe_t *request_id = zmsg_first (request);
        zmq_msg_init_size (&peer, zframe_size (request_id));
        memcpy (zmq_msg_data (&peer), zframe_data (request_id), zframe_size (request_id));
        assert (zeb_proto_send (zsock_resolve (server), &peer, ZEB_CMD_STATS, "\x80", 1,
                                zframe_data (request_tag), zframe_size (request_tag), 0) == 0);
        zmsg_destroy (&request);
    }
    zeb_proto_reply_t tagged;
    int others = 0;
    int64_t deadline = zeb_time_mono_us () / 1000 + 5000;
    assert (zeb_proto_reply_await (handle, 'R', awaited, deadline, &tagged,
                                   s_test_count_other, &others) == 0);
    assert (others == 1 && tagged.frames == 3 && zeb_proto_reply_is (&tagged, ZEB_CMD_STATS));
    size_t tagged_size;
    assert (zeb_proto_reply_body (&tagged, &tagged_size) && tagged_size == 1);
    zeb_proto_reply_close (&tagged);
    zeb_proto_reply_close (&tagged);
    //  Nothing more comes: a timeout, at once with a past deadline
    assert (zeb_proto_reply_await (handle, 'R', awaited, deadline - 10000, &tagged, NULL, NULL) == -1);
    assert (zeb_proto_reply_await (handle, 'R', 1, zeb_time_mono_us () / 1000 + 20, &tagged,
                                   NULL, NULL) == -1);
    zframe_destroy (&identity);
    zframe_destroy (&body);
    zframe_destroy (&tag);
    zmsg_destroy (&msg);
    zsock_destroy (&client);
    zsock_destroy (&server);
    msgpack_sbuffer_destroy (&buffer);
    printf ("OK\n");
}
