/*  =========================================================================
    zeb_proto - the ZEB/1 wire protocol: commands, frames and bodies
    =========================================================================
*/

#include "zeb.h"

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
    zframe_destroy (&identity);
    zframe_destroy (&body);
    zframe_destroy (&tag);
    zmsg_destroy (&msg);
    zsock_destroy (&client);
    zsock_destroy (&server);
    msgpack_sbuffer_destroy (&buffer);
    printf ("OK\n");
}
