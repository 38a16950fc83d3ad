/*  =========================================================================
    zeb_feed - a durable reader of the log that turns events into outbox runs
    =========================================================================
*/

#include "zeb_actors.h"

#define S_KIND      'F'             //  the feed's request tags
#define S_TIMEOUT   5000            //  for one outbox reply, ms
#define S_BACKOFF   200             //  after a refused or lost ENQUEUE, ms

typedef struct {
    zeb_feed_args_t args;
    zsock_t *pipe;
    zsock_t *outbox;
    zeb_consumer_t *consumer;
    uint64_t tags;
    bool terminated;
    msgpack_sbuffer body;           //  the ENQUEUE in hand
    size_t batched;                 //  its runs
    uint64_t position;              //  the cursor after them
    bool every_type;
} self_t;

//  Wait until deadline for the reply tagged want, reading the pipe too;
//  0 and the reply, or -1 (timeout, or $TERM)
static int
s_await (self_t *self, uint64_t want, int64_t deadline, zeb_proto_reply_t *reply)
{
    zpoller_t *poller = zpoller_new (self->pipe, self->outbox, NULL);
    int rc = -1;
    while (!self->terminated) {
        int64_t left = deadline - zeb_time_mono_us () / 1000;
        if (left <= 0)
            break;
        void *which = zpoller_wait (poller, (int) left);
        if (which == self->pipe) {
            char *command = zstr_recv (self->pipe);
            if (!command || streq (command, "$TERM"))
                self->terminated = true;
            zstr_free (&command);
        }
        else
        //  What is there now (late replies to earlier requests are dropped)
        if (which == self->outbox
        &&  zeb_proto_reply_await (zsock_resolve (self->outbox), S_KIND, want,
                                   zeb_time_mono_us () / 1000, reply, NULL, NULL) == 0) {
            rc = 0;
            break;
        }
    }
    zpoller_destroy (&poller);
    return rc;
}

//  One request to the outbox; the reply's body as JSON (caller decrefs)
//  if it came as expected, else NULL
static json_t *
s_call (self_t *self, const char *command, const void *body, size_t size, const char *expected)
{
    uint8_t tag [ZEB_PROTO_TAG_SIZE];
    uint64_t want = zeb_proto_tag_next (&self->tags, S_KIND, tag);
    int64_t deadline = zeb_time_mono_us () / 1000 + S_TIMEOUT;
    if (zeb_proto_send_until (zsock_resolve (self->outbox), command, body, size, tag, deadline))
        return NULL;
    zeb_proto_reply_t reply;
    if (s_await (self, want, deadline, &reply))
        return NULL;
    json_t *json = NULL;
    size_t reply_size;
    const void *reply_body = zeb_proto_reply_body (&reply, &reply_size);
    if (zeb_proto_reply_is (&reply, expected) && reply_body)
        json = zeb_json_from_msgpack (reply_body, reply_size, NULL);
    else
    if (reply_body) {
        zeb_fault_t fault;
        int64_t index;
        if (zeb_proto_parse_nack (reply_body, reply_size, &fault, &index) == 0)
            zsys_warning ("feed %s: %s refused: %s", self->args.handler_id, command, fault.text);
    }
    zeb_proto_reply_close (&reply);
    return json;
}

//  Sleep ms unless $TERM comes
static void
s_pause (self_t *self, int ms)
{
    zpoller_t *poller = zpoller_new (self->pipe, NULL);
    if (zpoller_wait (poller, ms) == self->pipe) {
        char *command = zstr_recv (self->pipe);
        if (!command || streq (command, "$TERM"))
            self->terminated = true;
        zstr_free (&command);
    }
    zpoller_destroy (&poller);
}

static void
s_batch_begin (self_t *self)
{
    msgpack_sbuffer_clear (&self->body);
    self->batched = 0;
}

//  Add the run for one event to the batch
static void
s_batch_add (self_t *self, zeb_event_t *event, zeb_pack_t *runs)
{
    msgpack_sbuffer encoded;
    msgpack_sbuffer_init (&encoded);
    if (zeb_event_encode (event, &encoded)) {
        msgpack_sbuffer_destroy (&encoded);
        return;
    }
    zeb_pack_map (runs, NULL);
    if (self->args.key_fn) {
        char key [256];
        size_t len = self->args.key_fn (event, key, sizeof (key), self->args.key_arg);
        if (len > 0 && len < sizeof (key)) {
            key [len] = 0;
            char hex [33];
            zeb_outbox_run_id (self->args.handler_id, key, zeb_outbox_run_order (zeb_event_view (event)), hex);
            zeb_pack_str (runs, "id", hex);
        }
    }
    zeb_pack_str (runs, "origin", self->args.handler_id);
    zeb_pack_str (runs, "kind", "handler");
    zeb_pack_raw (runs, "event", encoded.data, encoded.size);
    zeb_pack_array (runs, "actions");
    zeb_pack_map (runs, NULL);
    zeb_pack_str (runs, "type", self->args.action);
    if (self->args.config)
        zeb_pack_raw (runs, "config", self->args.config, self->args.config_size);
    else
        zeb_pack_str (runs, "key", self->args.handler_id);
    if (self->args.policy_size)
        zeb_pack_raw (runs, "retryPolicy", self->args.policy, self->args.policy_size);
    zeb_pack_end (runs);
    zeb_pack_end (runs);
    zeb_pack_end (runs);
    self->batched++;
    msgpack_sbuffer_destroy (&encoded);
}

//  Enqueue the batch with the cursor; again until the outbox takes it
static void
s_batch_send (self_t *self)
{
    while (!self->terminated) {
        json_t *reply = s_call (self, "ENQUEUE", self->body.data, self->body.size, "ENQUEUED");
        if (reply) {
            json_decref (reply);
            return;
        }
        s_pause (self, S_BACKOFF);
    }
}

static void
s_read (self_t *self)
{
    zeb_event_t *event = zeb_consumer_next (self->consumer);
    if (!event)
        return;
    s_batch_begin (self);
    zeb_pack_t pack;
    zeb_pack_init (&pack, &self->body);
    zeb_pack_map (&pack, NULL);
    zeb_pack_array (&pack, "runs");
    while (event) {
        const char *type = zeb_event_type (event);
        if (!(self->every_type && type && strncmp (type, "zeb.", 4) == 0))
            s_batch_add (self, event, &pack);
        zeb_event_destroy (&event);
        if (self->batched == ZEB_FEED_BATCH)
            break;
        event = zeb_consumer_next (self->consumer);
    }
    zeb_pack_end (&pack);
    self->position = zeb_consumer_position (self->consumer);
    zeb_pack_map (&pack, "cursor");
    zeb_pack_str (&pack, "name", self->args.handler_id);
    zeb_pack_uint (&pack, "position", self->position);
    zeb_pack_end (&pack);
    zeb_pack_end (&pack);
    if (self->batched)
        s_batch_send (self);
    //  Batches of events of other types only move the cursor: that waits
    //  for the next run (a restart reads them again, and skips them again)
}

void
zeb_feed_actor (zsock_t *pipe, void *args)
{
    self_t *self = (self_t *) zmalloc (sizeof (self_t));
    assert (self);
    self->args = *(zeb_feed_args_t *) args;
    if (self->args.config) {
        self->args.config = (uint8_t *) malloc (self->args.config_size);
        assert (self->args.config);
        memcpy (self->args.config, ((zeb_feed_args_t *) args)->config, self->args.config_size);
    }
    self->pipe = pipe;
    msgpack_sbuffer_init (&self->body);
    const char *prefix = self->args.prefix;
    self->every_type = !*prefix || streq (prefix, "*");
    self->outbox = zeb_proto_dealer_new (self->args.outbox, 0, 0);
    zsock_signal (pipe, 0);
    if (!self->outbox) {
        zsys_error ("feed %s: cannot connect to the outbox at %s", self->args.handler_id, self->args.outbox);
        goto done;
    }
    //  Where the handler left off
    uint64_t position = 0;
    while (!self->terminated) {
        msgpack_sbuffer body;
        msgpack_sbuffer_init (&body);
        zeb_pack_t pack;
        zeb_pack_init (&pack, &body);
        zeb_pack_map (&pack, NULL);
        zeb_pack_str (&pack, "name", self->args.handler_id);
        zeb_pack_end (&pack);
        json_t *reply = s_call (self, "CURSOR", body.data, body.size, "CURSOR");
        msgpack_sbuffer_destroy (&body);
        if (reply) {
            position = (uint64_t) json_integer_value (json_object_get (reply, "position"));
            json_decref (reply);
            break;
        }
        s_pause (self, S_BACKOFF);
    }
    if (self->terminated)
        goto done;
    self->consumer = zeb_consumer_new (self->args.log, position);
    if (!self->consumer) {
        zsys_error ("feed %s: cannot read the log at %s", self->args.handler_id, self->args.log);
        goto done;
    }
    if (!self->every_type)
        zeb_consumer_set_types (self->consumer, prefix);
    zeb_consumer_set_wait (self->consumer, 1000);
    zpoller_t *poller = zpoller_new (pipe, zeb_consumer_socket (self->consumer), NULL);
    while (!self->terminated) {
        void *which = zpoller_wait (poller, zeb_consumer_next_timeout (self->consumer));
        if (which == pipe) {
            char *command = zstr_recv (pipe);
            if (!command || streq (command, "$TERM"))
                self->terminated = true;
            zstr_free (&command);
            continue;
        }
        if (which == zeb_consumer_socket (self->consumer))
            zeb_consumer_handle (self->consumer);
        s_read (self);
    }
    zpoller_destroy (&poller);
done:
    zeb_consumer_destroy (&self->consumer);
    zsock_destroy (&self->outbox);
    msgpack_sbuffer_destroy (&self->body);
    free (self->args.config);
    free (self);
}
