/*  =========================================================================
    zeb_producer - publish and wait for each ack, over a direct connection

    Tags are zeb_proto's, kind 'P' for PUBLISH and 'H' for HELLO; a reply
    with another tag is a late one (its request timed out) and is dropped.
    Raw events go to the node as they are: the node checks them, and its
    NACK says what is wrong.
    =========================================================================
*/

#include "zeb_classes.h"

struct _zeb_producer_t {
    char *endpoint;
    zeb_zmtp_t *connection;     //  NULL until connected, and after it broke
    int timeout;
    uint64_t next_tag;
    msgpack_sbuffer buffer;
    zeb_fault_t fault;
};

zeb_producer_t *
zeb_producer_new (const char *endpoint)
{
    assert (endpoint);
    if (strncmp (endpoint, "tcp://", 6) || !strchr (endpoint + 6, ':'))
        return NULL;
    zeb_producer_t *self = (zeb_producer_t *) zmalloc (sizeof (zeb_producer_t));
    self->endpoint = strdup (endpoint);
    self->timeout = ZEB_CLIENT_TIMEOUT;
    self->next_tag = 1;
    msgpack_sbuffer_init (&self->buffer);
    return self;
}

void
zeb_producer_destroy (zeb_producer_t **self_p)
{
    assert (self_p);
    zeb_producer_t *self = *self_p;
    if (self) {
        zeb_zmtp_destroy (&self->connection);
        msgpack_sbuffer_destroy (&self->buffer);
        free (self->endpoint);
        free (self);
        *self_p = NULL;
    }
}

void
zeb_producer_set_timeout (zeb_producer_t *self, int timeout_ms)
{
    assert (self);
    self->timeout = timeout_ms > 0? timeout_ms: ZEB_CLIENT_TIMEOUT;
}

//  The connection failed: drop it (the next call connects again)
static int
s_broken (zeb_producer_t *self, int code, const char *what)
{
    zeb_fault_set (&self->fault, code, "%s: %s", what, zeb_zmtp_error (self->connection));
    zeb_zmtp_destroy (&self->connection);
    return code;
}

//  Send one tagged request and wait for the reply of that tag, within the
//  deadline; msg gets it (valid until the next call)
static int
s_call (zeb_producer_t *self, char kind, const char *command, const void *body, size_t size,
        int64_t deadline_us, zeb_zmtp_msg_t *msg)
{
    uint8_t tag [ZEB_PROTO_TAG_SIZE];
    zeb_proto_tag_next (&self->next_tag, kind, tag);
    zeb_zmtp_frame_t frames [3] = {
        { command, strlen (command) }, { body, size }, { tag, sizeof (tag) }
    };
    int64_t left = (deadline_us - zeb_time_mono_us ()) / 1000;
    int rc = zeb_zmtp_send (self->connection, frames, 3, left > 0? (int) left: 1);
    if (rc)
        return s_broken (self, rc, command);
    while (true) {
        left = (deadline_us - zeb_time_mono_us () + 999) / 1000;
        rc = left > 0? zeb_zmtp_recv (self->connection, msg, (int) left): ZEB_ETIMEOUT;
        if (rc == ZEB_ETIMEOUT)
            return zeb_fault_set (&self->fault, ZEB_ETIMEOUT, "%s: no reply from %s within "
                                  "%d ms; the outcome is unknown", command, self->endpoint,
                                  self->timeout);
        if (rc)
            return s_broken (self, rc == ZEB_ETOOBIG? ZEB_EPROTOCOL: rc, command);
        if (msg->count >= 3 && msg->frames [2].size == sizeof (tag)
        &&  memcmp (msg->frames [2].data, tag, sizeof (tag)) == 0)
            return 0;
        //  Late: the reply to a request that timed out
    }
}

int
zeb_producer_connect (zeb_producer_t *self)
{
    assert (self);
    if (self->connection)
        return 0;
    int64_t deadline_us = zeb_time_mono_us () + (int64_t) self->timeout * 1000;
    self->connection = zeb_zmtp_connect (self->endpoint, "DEALER", self->timeout, &self->fault);
    if (!self->connection)
        return self->fault.code == ZEB_ETIMEOUT? ZEB_EUNREACHABLE: self->fault.code;
    uint8_t hello [16];
    size_t size = 0;
    hello [size++] = 0x81;              //  {"version": ZEB_PROTO_VERSION}
    hello [size++] = 0xa7;
    memcpy (hello + size, "version", 7);
    size += 7;
    hello [size++] = ZEB_PROTO_VERSION;
    zeb_zmtp_msg_t msg;
    int rc = s_call (self, 'H', ZEB_CMD_HELLO, hello, size, deadline_us, &msg);
    if (rc == 0 && !(msg.frames [0].size == 7 && memcmp (msg.frames [0].data, ZEB_CMD_WELCOME, 7) == 0)) {
        bool nack = msg.frames [0].size == 4 && memcmp (msg.frames [0].data, ZEB_CMD_NACK, 4) == 0;
        rc = zeb_fault_set (&self->fault, nack? ZEB_EVERSION: ZEB_EPROTOCOL, "HELLO: %s from %s",
                            nack? "the node does not speak this protocol version": "no WELCOME",
                            self->endpoint);
    }
    if (rc) {
        zeb_zmtp_destroy (&self->connection);
        return rc == ZEB_ETIMEOUT? ZEB_EUNREACHABLE: rc;
    }
    return 0;
}

static int
s_outcome (zeb_producer_t *self, zeb_ack_t *ack, int rc)
{
    if (rc && ack) {
        memset (ack, 0, sizeof (*ack));
        ack->status = rc;
        ack->index = -1;
        snprintf (ack->error, sizeof (ack->error), "%s", self->fault.text);
    }
    return rc;
}

int
zeb_producer_publish_raw (zeb_producer_t *self, const void *data, size_t size, zeb_ack_t *ack)
{
    assert (self);
    assert (data);
    memset (&self->fault, 0, sizeof (self->fault));
    int64_t sent_us = zeb_time_mono_us ();
    int rc = zeb_producer_connect (self);
    zeb_zmtp_msg_t msg;
    if (rc == 0)
        rc = s_call (self, 'P', ZEB_CMD_PUBLISH, data, size,
                     sent_us + (int64_t) self->timeout * 1000, &msg);
    if (rc)
        return s_outcome (self, ack, rc);
    zeb_ack_t local;
    if (!ack)
        ack = &local;
    zeb_ack_parse (msg.frames [0].data, msg.frames [0].size, msg.frames [1].data,
                   msg.frames [1].size, ack);
    ack->latency_us = zeb_time_mono_us () - sent_us;
    if (ack->status)
        zeb_fault_set (&self->fault, ack->status, "%s", ack->error);
    return ack->status;
}

int
zeb_producer_publish (zeb_producer_t *self, zeb_event_t *event, zeb_ack_t *ack)
{
    assert (self);
    assert (event);
    memset (&self->fault, 0, sizeof (self->fault));
    int rc = zeb_event_validate (event, &self->fault);
    if (rc == 0) {
        msgpack_sbuffer_clear (&self->buffer);
        if (zeb_event_encode (event, &self->buffer))
            rc = zeb_fault_set (&self->fault, ZEB_ERROR, "the event cannot be encoded");
    }
    if (rc)
        return s_outcome (self, ack, rc);
    return zeb_producer_publish_raw (self, self->buffer.data, self->buffer.size, ack);
}

const char *
zeb_producer_error (zeb_producer_t *self)
{
    assert (self);
    return self->fault.text [0]? self->fault.text: zeb_strerror (self->fault.code);
}
