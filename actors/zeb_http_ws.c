/*  =========================================================================
    zeb_http_ws - WebSockets on the gateway: GET /ws (docs/HTTP.md,
    "WebSockets"), live events by channel, resumed from the durable log

    Threads, and what each owns:
    - CivetWeb's worker of each connection runs the handshake (token and
      scope), sends `connected`, and reads the client's messages
      (subscribe, unsubscribe, ping, disconnect); it answers them itself
      (mg_websocket_write locks the connection, so it may share the
      connection with a sender).
    - One feed thread per gateway SUBs the bus for every type and FETCHes
      from the log: live events (a gap in the bus's sequence, and the
      log's end once the bus is quiet, are fetched from the log, so the
      live stream has no hole where the bus dropped events), the replay of a
      subscription that asked for fromSequence, in batches between live
      events. Each event becomes its `message` text once and a reference
      to it is queued on every connection one of whose subscriptions
      matches.
    - http/ws/senders sender threads write the queues to the connections;
      a connection is on the ready list at most once and written by one
      sender at a time, so a slow client holds one sender, not the feed.
    Everything shared (connections, subscriptions, queues, the ready
    list) is under ws->lock; counters are relaxed atomics.

    Bounds: http/ws/queue messages per connection (past it: `lagged`, the
    queue dropped, the connection closed; a replay only fetches what fits,
    so it never lags), http/ws/max_subscriptions per connection, one
    WebSocket connection per CivetWeb worker (http/threads). A stuck
    client holds its sender until CivetWeb's write times out
    (http/request_timeout).

    Resume without gap or duplicate: a subscription with fromSequence F
    replays from the log from F; live events are skipped for it meanwhile
    (the log has them too). When a FETCH finds nothing more (next > last)
    it turns live, keeping `next`: a live event below it was sent by the
    replay and is dropped. Every event committed after that FETCH reaches
    the bus after it, so it comes live. This holds across restarts of the
    node: the log is durable and the client resumes from the sequence
    after the last one it got.
    =========================================================================
*/

#include "zeb_http_int.h"
#include <openssl/sha.h>
#include <openssl/crypto.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#define S_MAX_MESSAGE   65536           //  largest client message read
#define S_REPLAY_BATCH  500             //  events per FETCH of a replay
#define S_REPAIR_MAX    100000          //  events of one bus gap fetched from the log
#define S_SEND_BATCH    64              //  messages one sender takes at a time
#define S_QUIET_MS      100             //  the bus quiet this long: look at the log's end
#define S_CHECK_MS      1000            //  and at least this often when nothing comes

//  One message, queued by reference on every connection it goes to. It
//  is kept framed (an unmasked RFC 6455 header before the text), so that
//  a sender writes a batch of them in one mg_write.
typedef struct {
    int refs;
    int opcode;                         //  MG_WEBSOCKET_OPCODE_TEXT or _CONNECTION_CLOSE
    uint64_t sequence;                  //  of the event, 0 for a notice
    size_t size;                        //  of text
    size_t head;                        //  header bytes before text in frame
    char *text;                         //  frame + head, NUL-ended
    char frame [];
} s_msg_t;

typedef struct _s_sub_t s_sub_t;
struct _s_sub_t {
    char pattern [256];                 //  as subscribed ("order.*")
    size_t prefix;                      //  bytes compared when it ends in '*'; else SIZE_MAX
    bool replaying;                     //  reading the log from next
    uint64_t next;                      //  replaying: next to fetch; live: first one to send
    s_sub_t *next_sub;
};

typedef struct _s_conn_t s_conn_t;
struct _s_conn_t {
    zeb_http_ws_t *ws;
    struct mg_connection *conn;
    char id [37];
    int token;                          //  index in http->tokens, -1 if none
    s_sub_t *subs;
    size_t sub_count;
    s_msg_t **queue;                    //  ring of ws->queue_max
    size_t head, count;
    uint64_t last_written;              //  sequence of the last event written
    int fd;                             //  its socket, -1 if not found
    int64_t lagged_at;                  //  when it lagged (monotonic us), 0 if not
    bool listed, busy, closing, closed;
    s_conn_t *prev, *next;              //  ws->conns
    s_conn_t *ready_next;               //  ws->ready
};

typedef struct {
    uint64_t connections, connections_refused, disconnects, messages_in, bad_messages;
    uint64_t subscribes, unsubscribes, pings, events_in, events_sent, replayed;
    uint64_t lagged, cut, write_failures, gaps_repaired, events_missed;
} s_counters_t;

struct _zeb_http_ws_t {
    zeb_http_t *http;
    int64_t idle_timeout;
    int64_t lag_grace;                  //  ms a lagged connection may stay open
    size_t lagging;                     //  connections lagged and not closed yet
    size_t queue_max, max_subscriptions, sender_count;
    char ping_text [24];                //  CivetWeb's websocket_timeout_ms
    char **token_channels;              //  per http->tokens: "a.*,b" (NULL: every channel)
    pthread_mutex_t lock;
    pthread_cond_t ready_cond;          //  the ready list has a connection, or stopping
    pthread_cond_t idle_cond;           //  a sender left a closed connection
    s_conn_t *conns;
    size_t conn_count;
    s_conn_t *ready, *ready_tail;
    bool stopping;
    bool live;                          //  the feed knows where live starts
    bool replay_pending;                //  some subscription replays
    int wake [2];                       //  a pipe that wakes the feed
    pthread_t feed;
    pthread_t *senders;
    size_t senders_started;
    bool feed_started;
    uint64_t live_next;                 //  feed: next sequence expected on the bus
    s_counters_t counters;
};

#define S_COUNT(ws, name) __atomic_fetch_add (&(ws)->counters.name, 1, __ATOMIC_RELAXED)
#define S_ADD(ws, name, n) __atomic_fetch_add (&(ws)->counters.name, (n), __ATOMIC_RELAXED)

//  ---------------------------------------------------------------------
//  Messages

static s_msg_t *
s_msg_new (int opcode, uint64_t sequence, const char *text, size_t size)
{
    s_msg_t *msg = (s_msg_t *) malloc (sizeof (s_msg_t) + 10 + size + 1);
    if (!msg)
        return NULL;
    msg->refs = 1;
    msg->opcode = opcode;
    msg->sequence = sequence;
    msg->size = size;
    uint8_t *header = (uint8_t *) msg->frame;
    header [0] = (uint8_t) (0x80 | opcode);
    if (size < 126) {
        header [1] = (uint8_t) size;
        msg->head = 2;
    }
    else
    if (size <= 0xffff) {
        header [1] = 126;
        header [2] = (uint8_t) (size >> 8);
        header [3] = (uint8_t) size;
        msg->head = 4;
    }
    else {
        header [1] = 127;
        for (int index = 0; index < 8; index++)
            header [2 + index] = (uint8_t) ((uint64_t) size >> (56 - 8 * index));
        msg->head = 10;
    }
    msg->text = msg->frame + msg->head;
    memcpy (msg->text, text, size);
    msg->text [size] = 0;
    return msg;
}

static void
s_msg_release (s_msg_t **msg_p)
{
    if (*msg_p && __atomic_sub_fetch (&(*msg_p)->refs, 1, __ATOMIC_ACQ_REL) == 0)
        free (*msg_p);
    *msg_p = NULL;
}

//  json (taken) as one text message
static s_msg_t *
s_msg_json (json_t *json, uint64_t sequence)
{
    char *text = json? zeb_json_dumps (json): NULL;
    json_decref (json);
    s_msg_t *msg = text? s_msg_new (MG_WEBSOCKET_OPCODE_TEXT, sequence, text, strlen (text)): NULL;
    free (text);
    return msg;
}

//  {"type":"message","channel":C,"data":EVENT}, or NULL if the event has
//  no JSON form
static s_msg_t *
s_msg_event (zeb_event_t *event)
{
    char *data = zeb_event_to_json (event);
    json_t *channel = json_string (zeb_event_channel (event));
    char *quoted = channel? zeb_json_dumps (channel): NULL;
    json_decref (channel);
    s_msg_t *msg = NULL;
    char *text = data && quoted? zsys_sprintf ("{\"type\":\"message\",\"channel\":%s,\"data\":%s}",
                                               quoted, data): NULL;
    if (text)
        msg = s_msg_new (MG_WEBSOCKET_OPCODE_TEXT, zeb_event_sequence (event), text, strlen (text));
    zstr_free (&text);
    free (quoted);
    free (data);
    return msg;
}

//  Write one message on a connection now (the worker's own replies)
static int
s_write (struct mg_connection *conn, json_t *json)
{
    char *text = json? zeb_json_dumps (json): NULL;
    json_decref (json);
    int rc = text? mg_websocket_write (conn, MG_WEBSOCKET_OPCODE_TEXT, text, strlen (text)): -1;
    free (text);
    return rc > 0? 0: -1;
}

static int
s_write_error (s_conn_t *self, int code, const char *reason, const char *text)
{
    S_COUNT (self->ws, bad_messages);
    return s_write (self->conn, json_pack ("{s:s, s:i, s:s, s:s}", "type", "error", "code", code,
                                           "reason", reason, "error", text));
}

//  ---------------------------------------------------------------------
//  Channels

//  A subscription's pattern: 1..255 printable ASCII bytes without spaces,
//  '*' only as the last byte ("*" alone: every channel)
static bool
s_pattern_valid (const char *pattern)
{
    size_t len = strlen (pattern);
    if (len == 0 || len > 255)
        return false;
    for (size_t index = 0; index < len; index++) {
        unsigned char c = (unsigned char) pattern [index];
        if (c <= ' ' || c >= 0x7f || (c == '*' && index != len - 1))
            return false;
    }
    return true;
}

static bool
s_pattern_match (const char *pattern, size_t prefix, const char *channel)
{
    if (prefix == SIZE_MAX)
        return streq (pattern, channel);
    return strncmp (pattern, channel, prefix) == 0;
}

//  Does the token's channel list (comma-separated patterns) allow a
//  subscription to pattern? It must lie inside one of them: "order.*"
//  allows "order.placed" and "order.eu.*", not "order*" or "*".
static bool
s_channels_allow (const char *list, const char *pattern)
{
    if (!list)
        return true;
    const char *cursor = list, *p;
    size_t len;
    while ((p = zeb_http_list_next (&cursor, &len)))
        if (p [len - 1] == '*'? strncmp (p, pattern, len - 1) == 0
                              : strlen (pattern) == len && memcmp (p, pattern, len) == 0)
            return true;
    return false;
}

//  ---------------------------------------------------------------------
//  Queues (under ws->lock)

static void
s_queue_clear (s_conn_t *self)
{
    size_t capacity = self->ws->queue_max;
    while (self->count) {
        s_msg_release (&self->queue [self->head]);
        self->head = (self->head + 1) % capacity;
        self->count--;
    }
}

static void
s_ready (s_conn_t *self)
{
    zeb_http_ws_t *ws = self->ws;
    if (self->listed || self->busy || self->closed)
        return;
    self->listed = true;
    self->ready_next = NULL;
    if (ws->ready_tail)
        ws->ready_tail->ready_next = self;
    else
        ws->ready = self;
    ws->ready_tail = self;
    pthread_cond_signal (&ws->ready_cond);
}

static void
s_append (s_conn_t *self, s_msg_t *msg)
{
    size_t capacity = self->ws->queue_max;
    __atomic_add_fetch (&msg->refs, 1, __ATOMIC_RELAXED);
    self->queue [(self->head + self->count) % capacity] = msg;
    self->count++;
}

//  The queue is full: the client is told and disconnected. The queue is
//  dropped; lastSequence is the last event written to the client, from
//  which it resumes.
static void
s_lag (s_conn_t *self)
{
    S_COUNT (self->ws, lagged);
    s_queue_clear (self);
    self->closing = true;
    self->lagged_at = zeb_time_mono_us ();
    self->ws->lagging++;
    s_msg_t *notice = s_msg_json (json_pack ("{s:s, s:I, s:I, s:s}", "type", "lagged",
        "lastSequence", (json_int_t) self->last_written, "queue", (json_int_t) self->ws->queue_max,
        "reason", "the client reads slower than events arrive: resume with "
                  "fromSequence lastSequence + 1"), 0);
    const char close [] = "\x03\xf0lagged";     //  1008, policy violation
    s_msg_t *bye = s_msg_new (MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE, 0, close, sizeof (close) - 1);
    if (notice)
        s_append (self, notice);
    if (bye)
        s_append (self, bye);
    s_msg_release (&notice);
    s_msg_release (&bye);
    s_ready (self);
}

//  Queue msg on the connection, or lag it when the queue is full
static void
s_enqueue (s_conn_t *self, s_msg_t *msg)
{
    if (self->closing || self->closed)
        return;
    if (self->count == self->ws->queue_max) {
        s_lag (self);
        return;
    }
    s_append (self, msg);
    s_ready (self);
}

//  Cut the connections that lagged more than http/ws/lag_grace ago and
//  are still open: their clients do not read, and the sender writing to
//  them would wait for CivetWeb's write timeout. shutdown () ends the
//  blocked write and CivetWeb's read loop, which then closes. Under the
//  lock (the close handler sets closed under it, before CivetWeb closes
//  the socket).
static void
s_lag_expire (zeb_http_ws_t *ws)
{
    int64_t now = zeb_time_mono_us ();
    for (s_conn_t *conn = ws->conns; conn && ws->lagging; conn = conn->next)
        if (conn->lagged_at && now - conn->lagged_at >= ws->lag_grace * 1000) {
            conn->lagged_at = 0;
            ws->lagging--;
            if (conn->fd >= 0 && !conn->closed) {
                shutdown (conn->fd, SHUT_RDWR);
                S_COUNT (ws, cut);
            }
        }
}

//  ---------------------------------------------------------------------
//  Senders

//  Take up to S_SEND_BATCH messages of the next ready connection, or NULL
//  when stopping. Under the lock.
static s_conn_t *
s_take (zeb_http_ws_t *ws, s_msg_t **batch, size_t *count)
{
    while (!ws->stopping && !ws->ready)
        pthread_cond_wait (&ws->ready_cond, &ws->lock);
    if (ws->stopping)
        return NULL;
    s_conn_t *self = ws->ready;
    ws->ready = self->ready_next;
    if (!ws->ready)
        ws->ready_tail = NULL;
    self->listed = false;
    self->busy = true;
    *count = 0;
    while (self->count && *count < S_SEND_BATCH) {
        batch [(*count)++] = self->queue [self->head];
        self->head = (self->head + 1) % ws->queue_max;
        self->count--;
    }
    return self;
}

//  Write a batch as one buffer of frames (mg_websocket_write would make
//  two writes of each message). Returns the sequence of the last event
//  written, 0 if none; *failed on a write error. Releases the batch.
static uint64_t
s_write_batch (s_conn_t *self, s_msg_t **batch, size_t count, zchunk_t *out, bool *failed)
{
    zchunk_set (out, NULL, 0);
    uint64_t last = 0, written = 0;
    for (size_t index = 0; index < count; index++) {
        s_msg_t *msg = batch [index];
        zchunk_extend (out, msg->frame, msg->head + msg->size);
        if (msg->sequence) {
            last = msg->sequence;
            written++;
        }
        s_msg_release (&batch [index]);
    }
    mg_lock_connection (self->conn);
    int rc = mg_write (self->conn, zchunk_data (out), zchunk_size (out));
    mg_unlock_connection (self->conn);
    *failed = rc != (int) zchunk_size (out);
    if (*failed)
        return 0;
    S_ADD (self->ws, events_sent, written);
    return last;
}

static void *
s_sender (void *arg)
{
    zeb_http_ws_t *ws = (zeb_http_ws_t *) arg;
    s_msg_t *batch [S_SEND_BATCH];
    size_t count;
    zchunk_t *out = zchunk_new (NULL, 65536);
    pthread_mutex_lock (&ws->lock);
    s_conn_t *self;
    while ((self = s_take (ws, batch, &count))) {
        pthread_mutex_unlock (&ws->lock);
        bool failed = false;
        uint64_t last = count? s_write_batch (self, batch, count, out, &failed): 0;
        pthread_mutex_lock (&ws->lock);
        self->busy = false;
        if (last)
            self->last_written = last;
        if (failed) {
            S_COUNT (ws, write_failures);
            self->closing = true;
            s_queue_clear (self);
        }
        if (self->closed)
            pthread_cond_broadcast (&ws->idle_cond);
        else
        if (self->count)
            s_ready (self);
        if (ws->replay_pending)
            (void) !write (ws->wake [1], "", 1);
    }
    pthread_mutex_unlock (&ws->lock);
    zchunk_destroy (&out);
    return NULL;
}

//  ---------------------------------------------------------------------
//  The feed: live events and replays

//  Queue a live event on every connection with a live subscription that
//  matches, once per connection. Under the lock.
static void
s_fan_out (zeb_http_ws_t *ws, zeb_event_t *event)
{
    const char *channel = zeb_event_channel (event);
    uint64_t sequence = zeb_event_sequence (event);
    s_msg_t *msg = NULL;
    for (s_conn_t *conn = ws->conns; conn; conn = conn->next) {
        bool matched = false;
        for (s_sub_t *sub = conn->subs; sub; sub = sub->next_sub) {
            if (sub->replaying || sequence < sub->next
            ||  !s_pattern_match (sub->pattern, sub->prefix, channel))
                continue;
            sub->next = sequence + 1;
            matched = true;
        }
        if (!matched)
            continue;
        if (!msg && !(msg = s_msg_event (event)))
            return;                     //  no JSON form: never a wrong value
        s_enqueue (conn, msg);
    }
    s_msg_release (&msg);
}

//  Fetch [from, until) from the log and fan it out: a gap in the bus.
//  until UINT64_MAX: to the end of the log (events the bus dropped after
//  the last one the feed got), at most S_REPAIR_MAX per call.
static void
s_repair (zeb_http_ws_t *ws, zeb_client_t *client, uint64_t from, uint64_t until)
{
    bool tail = until == UINT64_MAX;
    if (!tail && until - from > S_REPAIR_MAX) {
        S_ADD (ws, events_missed, until - from - S_REPAIR_MAX);
        from = until - S_REPAIR_MAX;
    }
    size_t fetched_count = 0;
    while (from < until && fetched_count < S_REPAIR_MAX) {
        zeb_fetch_t fetched;
        memset (&fetched, 0, sizeof (fetched));
        size_t want = until - from < S_REPLAY_BATCH? (size_t) (until - from): S_REPLAY_BATCH;
        if (zeb_client_fetch (client, from, want, 0, NULL, &fetched)) {
            if (!tail)
                S_ADD (ws, events_missed, until - from);
            return;
        }
        size_t count = zlistx_size (fetched.events);
        pthread_mutex_lock (&ws->lock);
        for (zeb_event_t *event = (zeb_event_t *) zlistx_first (fetched.events); event;
             event = (zeb_event_t *) zlistx_next (fetched.events))
            if (zeb_event_sequence (event) < until) {
                s_fan_out (ws, event);
                S_COUNT (ws, gaps_repaired);
                if (zeb_event_sequence (event) >= ws->live_next)
                    ws->live_next = zeb_event_sequence (event) + 1;
            }
        pthread_mutex_unlock (&ws->lock);
        bool stuck = fetched.next <= from || count == 0;
        from = fetched.next;
        fetched_count += count;
        zeb_fetch_reset (&fetched);
        if (stuck)
            return;
    }
}

//  Where the live stream starts: after the log's last event. Retries
//  until the log answers; then WebSockets are accepted (before, a
//  subscription could miss events committed before the feed started).
static void
s_live_start (zeb_http_ws_t *ws, zeb_client_t *client)
{
    while (!__atomic_load_n (&ws->stopping, __ATOMIC_ACQUIRE)) {
        zeb_fetch_t fetched;
        memset (&fetched, 0, sizeof (fetched));
        int rc = zeb_client_fetch (client, (uint64_t) 1 << 62, 1, 0, NULL, &fetched);
        if (rc == 0)
            ws->live_next = fetched.last + 1;
        zeb_fetch_reset (&fetched);
        if (rc == 0) {
            __atomic_store_n (&ws->live, true, __ATOMIC_RELEASE);
            return;
        }
        struct pollfd item = { ws->wake [0], POLLIN, 0 };
        poll (&item, 1, 500);
    }
}

//  One event from the bus: the gap before it from the log, then it
static void
s_live (zeb_http_ws_t *ws, zeb_client_t *client, zeb_event_t *event)
{
    uint64_t sequence = zeb_event_sequence (event);
    S_COUNT (ws, events_in);
    if (ws->live_next && sequence < ws->live_next)
        return;                         //  fetched already, while repairing
    if (ws->live_next && sequence > ws->live_next)
        s_repair (ws, client, ws->live_next, sequence);
    ws->live_next = sequence + 1;
    pthread_mutex_lock (&ws->lock);
    s_fan_out (ws, event);
    pthread_mutex_unlock (&ws->lock);
}

//  The first replaying subscription whose connection has room for a
//  batch, with its fetch position; under the lock
static s_sub_t *
s_replay_next (zeb_http_ws_t *ws, s_conn_t **conn_p, size_t *room, bool *blocked)
{
    *blocked = false;
    for (s_conn_t *conn = ws->conns; conn; conn = conn->next)
        for (s_sub_t *sub = conn->subs; sub; sub = sub->next_sub) {
            if (!sub->replaying || conn->closing)
                continue;
            if (conn->count > ws->queue_max / 2) {
                *blocked = true;
                continue;
            }
            *conn_p = conn;
            *room = ws->queue_max - conn->count;
            return sub;
        }
    return NULL;
}

//  One batch of one replay. Returns true if some replay is waiting for
//  its client to read (the feed looks again soon).
static bool
s_replay (zeb_http_ws_t *ws, zeb_client_t *client)
{
    s_conn_t *conn;
    size_t room;
    bool blocked;
    pthread_mutex_lock (&ws->lock);
    s_sub_t *sub = s_replay_next (ws, &conn, &room, &blocked);
    uint64_t from = sub? sub->next: 0;
    __atomic_store_n (&ws->replay_pending, sub || blocked, __ATOMIC_RELEASE);
    pthread_mutex_unlock (&ws->lock);
    if (!sub)
        return blocked;
    zeb_fetch_t fetched;
    memset (&fetched, 0, sizeof (fetched));
    int rc = zeb_client_fetch (client, from, room < S_REPLAY_BATCH? room: S_REPLAY_BATCH, 0, NULL,
                               &fetched);
    pthread_mutex_lock (&ws->lock);
    //  The subscription may have gone while the lock was released: look
    //  for it again on the connection, which is only freed under the lock
    bool found = false;
    for (s_conn_t *c = ws->conns; c && !found; c = c->next)
        for (s_sub_t *s = c == conn? c->subs: NULL; s; s = s->next_sub)
            if (s == sub && s->replaying && s->next == from)
                found = true;
    if (found && rc == 0) {
        for (zeb_event_t *event = (zeb_event_t *) zlistx_first (fetched.events); event;
             event = (zeb_event_t *) zlistx_next (fetched.events)) {
            if (!s_pattern_match (sub->pattern, sub->prefix, zeb_event_channel (event)))
                continue;
            s_msg_t *msg = s_msg_event (event);
            if (msg) {
                s_enqueue (conn, msg);
                S_COUNT (ws, replayed);
            }
            s_msg_release (&msg);
        }
        sub->next = fetched.next > from? fetched.next: from;
        if (fetched.next > fetched.last)
            sub->replaying = false;     //  caught up: live from next
    }
    pthread_mutex_unlock (&ws->lock);
    zeb_fetch_reset (&fetched);
    return true;
}

//  Connect to ingest and the bus, retrying until stopping
static zsock_t *
s_feed_connect (zeb_http_ws_t *ws, zeb_client_t *client)
{
    while (!__atomic_load_n (&ws->stopping, __ATOMIC_ACQUIRE)) {
        if (zeb_client_connect (client) == 0 && zeb_client_bus_endpoint (client)) {
            zsock_t *sub = zsock_new_sub (zeb_client_bus_endpoint (client), "");
            if (sub)
                return sub;
        }
        struct pollfd item = { ws->wake [0], POLLIN, 0 };
        poll (&item, 1, 500);
    }
    return NULL;
}

//  Up to 1,000 events from the bus; true if there were any
static bool
s_bus_read (zeb_http_ws_t *ws, zeb_client_t *client, zsock_t *sub)
{
    size_t index;
    for (index = 0; index < 1000 && (zsock_events (sub) & ZMQ_POLLIN); index++) {
        zmsg_t *msg = zmsg_recv (sub);
        zframe_t *body = msg && zmsg_size (msg) == 2? zmsg_last (msg): NULL;
        zeb_fault_t fault;
        zeb_event_t *event = body? zeb_event_decode (zframe_data (body), zframe_size (body),
                                                     &fault): NULL;
        if (event)
            s_live (ws, client, event);
        zeb_event_destroy (&event);
        zmsg_destroy (&msg);
    }
    return index > 0;
}

static void *
s_feed (void *arg)
{
    zeb_http_ws_t *ws = (zeb_http_ws_t *) arg;
    zeb_client_t *client = zeb_client_new (ws->http->ingest);
    if (client)
        zeb_client_set_timeout (client, (int) ws->http->call_timeout);
    zsock_t *sub = client? s_feed_connect (ws, client): NULL;
    if (sub)
        s_live_start (ws, client);
    bool busy = false, heard = false;
    int64_t quiet_since = zeb_time_mono_us (), checked = quiet_since;
    while (sub && !__atomic_load_n (&ws->stopping, __ATOMIC_ACQUIRE)) {
        zmq_pollitem_t items [] = {
            { zsock_resolve (sub), 0, ZMQ_POLLIN, 0 },
            { NULL, ws->wake [0], ZMQ_POLLIN, 0 }
        };
        if (zmq_poll (items, 2, busy? 10: S_QUIET_MS) < 0 && errno != EINTR)
            break;
        char drain [64];
        while (read (ws->wake [0], drain, sizeof (drain)) > 0)
            ;
        if (s_bus_read (ws, client, sub)) {
            heard = true;
            quiet_since = zeb_time_mono_us ();
        }
        //  The bus drops events for a subscriber that falls behind, and a
        //  drop at the end of a burst shows no gap: the log, once quiet
        int64_t now = zeb_time_mono_us ();
        if (now - quiet_since >= S_QUIET_MS * 1000
        &&  (heard || now - checked >= S_CHECK_MS * 1000)) {
            s_repair (ws, client, ws->live_next, UINT64_MAX);
            heard = false;
            checked = now;
        }
        busy = __atomic_load_n (&ws->replay_pending, __ATOMIC_ACQUIRE)? s_replay (ws, client): false;
        pthread_mutex_lock (&ws->lock);
        if (ws->lagging)
            s_lag_expire (ws);
        pthread_mutex_unlock (&ws->lock);
    }
    zsock_destroy (&sub);
    zeb_client_destroy (&client);
    return NULL;
}

//  ---------------------------------------------------------------------
//  Connections (CivetWeb's worker of each)

//  The token presented: Authorization: Bearer T, else ?token=T
static int
s_token_find (zeb_http_t *http, const struct mg_connection *conn)
{
    char presented [512] = "";
    const char *header = mg_get_header (conn, "Authorization");
    const struct mg_request_info *info = mg_get_request_info (conn);
    if (header && strncasecmp (header, "Bearer ", 7) == 0)
        snprintf (presented, sizeof (presented), "%s", header + 7 + strspn (header + 7, " "));
    else
    if (info->query_string)
        mg_get_var (info->query_string, strlen (info->query_string), "token", presented,
                    sizeof (presented));
    if (!*presented)
        return -1;
    uint8_t digest [32];
    SHA256 ((const unsigned char *) presented, strlen (presented), digest);
    int found = -1;
    for (size_t index = 0; index < http->token_count; index++)
        if (CRYPTO_memcmp (digest, http->tokens [index].digest, sizeof (digest)) == 0)
            found = (int) index;
    return found;
}

static int
s_refuse (const struct mg_connection *conn, int status, const char *reason, const char *text)
{
    char body [256];
    int size = snprintf (body, sizeof (body), "{\"code\":%d,\"reason\":\"%s\",\"error\":\"%s\"}",
                         status, reason, text);
    mg_printf ((struct mg_connection *) conn,
               "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
               "%sConnection: close\r\n\r\n%s", status,
               mg_get_response_code_text (conn, status), size,
               status == 401? "WWW-Authenticate: Bearer\r\n": status == 503? "Retry-After: 1\r\n": "",
               body);
    return 1;
}

//  Before the handshake: a token with the read scope, when tokens are
//  configured. Its index travels in the connection's user data (+1).
static int
s_on_connect (const struct mg_connection *conn, void *cbdata)
{
    zeb_http_ws_t *ws = (zeb_http_ws_t *) cbdata;
    zeb_http_t *http = ws->http;
    ZEB_HTTP_COUNT (http, requests);
    if (!__atomic_load_n (&ws->live, __ATOMIC_ACQUIRE)) {
        S_COUNT (ws, connections_refused);
        ZEB_HTTP_COUNT (http, unavailable);
        return s_refuse (conn, 503, "UNREACHABLE", "the gateway has not reached the log yet");
    }
    int token = -1;
    if (http->token_count) {
        token = s_token_find (http, conn);
        if (token < 0) {
            S_COUNT (ws, connections_refused);
            ZEB_HTTP_COUNT (http, unauthorized);
            return s_refuse (conn, 401, "UNAUTHORIZED",
                             "needs Authorization: Bearer TOKEN or ?token=TOKEN");
        }
        if ((http->tokens [token].scopes & ZEB_HTTP_SCOPE_READ) == 0) {
            S_COUNT (ws, connections_refused);
            ZEB_HTTP_COUNT (http, forbidden);
            return s_refuse (conn, 403, "FORBIDDEN", "the token lacks the scope read");
        }
    }
    mg_set_user_connection_data (conn, (void *) (intptr_t) (token + 2));
    return 0;
}

//  The port of an address, and its text
static int
s_address (const struct sockaddr_storage *address, char *text, size_t size)
{
    if (address->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *) address;
        inet_ntop (AF_INET, &in->sin_addr, text, (socklen_t) size);
        return ntohs (in->sin_port);
    }
    if (address->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) address;
        inet_ntop (AF_INET6, &in6->sin6_addr, text, (socklen_t) size);
        return ntohs (in6->sin6_port);
    }
    return -1;
}

//  The connection's socket. CivetWeb does not give it, and has no call
//  by which another thread ends a connection: found once, among the
//  process's open descriptors, by the peer's address and port and the
//  local port (a TCP connection's own; no other socket has them while it
//  is open). -1 if not found: a stuck client then holds its sender until
//  CivetWeb's write times out.
static int
s_socket_find (const struct mg_request_info *info)
{
    DIR *dir = opendir ("/proc/self/fd");
    struct dirent *entry;
    int found = -1;
    while (dir && found < 0 && (entry = readdir (dir))) {
        int fd = atoi (entry->d_name);
        struct sockaddr_storage peer, local;
        socklen_t peer_size = sizeof (peer), local_size = sizeof (local);
        char text [INET6_ADDRSTRLEN], ignored [INET6_ADDRSTRLEN];
        if (fd < 3 || getpeername (fd, (struct sockaddr *) &peer, &peer_size)
        ||  getsockname (fd, (struct sockaddr *) &local, &local_size))
            continue;
        if (s_address (&peer, text, sizeof (text)) == info->remote_port
        &&  s_address (&local, ignored, sizeof (ignored)) == info->server_port
        &&  streq (text, info->remote_addr))
            found = fd;
    }
    if (dir)
        closedir (dir);
    return found;
}

//  After the handshake: registered, and told `connected`
static void
s_on_ready (struct mg_connection *conn, void *cbdata)
{
    zeb_http_ws_t *ws = (zeb_http_ws_t *) cbdata;
    s_conn_t *self = (s_conn_t *) zmalloc (sizeof (s_conn_t));
    self->queue = (s_msg_t **) calloc (ws->queue_max, sizeof (s_msg_t *));
    if (!self->queue) {
        free (self);
        mg_set_user_connection_data (conn, NULL);
        return;
    }
    self->ws = ws;
    self->conn = conn;
    self->fd = s_socket_find (mg_get_request_info (conn));
    self->token = (int) (intptr_t) mg_get_user_connection_data (conn) - 2;
    zeb_uuid_v7_str (self->id);
    S_COUNT (ws, connections);
    const char *user = self->token >= 0? ws->http->tokens [self->token].name: NULL;
    s_write (conn, json_pack ("{s:s, s:s, s:s?}", "type", "connected", "connectionId", self->id,
                              "userId", user));
    pthread_mutex_lock (&ws->lock);
    self->next = ws->conns;
    if (ws->conns)
        ws->conns->prev = self;
    ws->conns = self;
    ws->conn_count++;
    pthread_mutex_unlock (&ws->lock);
    mg_set_user_connection_data (conn, self);
}

static void
s_subs_free (s_conn_t *self)
{
    while (self->subs) {
        s_sub_t *sub = self->subs;
        self->subs = sub->next_sub;
        free (sub);
    }
    self->sub_count = 0;
}

static void
s_on_close (const struct mg_connection *conn, void *cbdata)
{
    zeb_http_ws_t *ws = (zeb_http_ws_t *) cbdata;
    intptr_t data = (intptr_t) mg_get_user_connection_data (conn);
    if (data < 256)
        return;                         //  never ready: only a token index
    s_conn_t *self = (s_conn_t *) data;
    pthread_mutex_lock (&ws->lock);
    self->closed = true;
    if (self->lagged_at)
        ws->lagging--;
    while (self->busy)
        pthread_cond_wait (&ws->idle_cond, &ws->lock);
    if (self->listed) {
        s_conn_t **link = &ws->ready;
        s_conn_t *previous = NULL;
        while (*link && *link != self) {
            previous = *link;
            link = &(*link)->ready_next;
        }
        if (*link)
            *link = self->ready_next;
        if (ws->ready_tail == self)
            ws->ready_tail = previous;
    }
    if (self->prev)
        self->prev->next = self->next;
    else
        ws->conns = self->next;
    if (self->next)
        self->next->prev = self->prev;
    ws->conn_count--;
    s_queue_clear (self);
    s_subs_free (self);
    pthread_mutex_unlock (&ws->lock);
    S_COUNT (ws, disconnects);
    free (self->queue);
    free (self);
    mg_set_user_connection_data (conn, NULL);
}

//  Add a subscription to channel, or find it; with resume, replay it from
//  start. False when the connection has too many. Under the lock.
static bool
s_sub_put (s_conn_t *self, const char *channel, bool resume, uint64_t start)
{
    s_sub_t *sub = self->subs;
    while (sub && !streq (sub->pattern, channel))
        sub = sub->next_sub;
    if (!sub && self->sub_count >= self->ws->max_subscriptions)
        return false;
    if (!sub) {
        sub = (s_sub_t *) zmalloc (sizeof (s_sub_t));
        snprintf (sub->pattern, sizeof (sub->pattern), "%s", channel);
        size_t len = strlen (channel);
        sub->prefix = channel [len - 1] == '*'? len - 1: SIZE_MAX;
        sub->next_sub = self->subs;
        self->subs = sub;
        self->sub_count++;
    }
    if (resume) {
        sub->replaying = true;
        sub->next = start? start: 1;
        __atomic_store_n (&self->ws->replay_pending, true, __ATOMIC_RELEASE);
    }
    return true;
}

//  subscribe {channel, fromSequence?}
static int
s_subscribe (s_conn_t *self, json_t *message)
{
    zeb_http_ws_t *ws = self->ws;
    const char *channel = json_string_value (json_object_get (message, "channel"));
    json_t *from = json_object_get (message, "fromSequence");
    if (!channel || !s_pattern_valid (channel))
        return s_write_error (self, 400, "INVALID_ATTRIBUTE", "subscribe needs a channel: 1..255 "
                              "printable ASCII characters without spaces, '*' only at the end");
    if (from && !json_is_null (from) && (!json_is_integer (from) || json_integer_value (from) < 0))
        return s_write_error (self, 400, "INVALID_ATTRIBUTE", "fromSequence is a sequence: an "
                              "integer of at least 0");
    const char *allowed = self->token >= 0? ws->token_channels [self->token]: NULL;
    if (!s_channels_allow (allowed, channel)) {
        ZEB_HTTP_COUNT (ws->http, forbidden);
        return s_write_error (self, 403, "FORBIDDEN", "the token may not subscribe to this channel");
    }
    uint64_t start = json_is_integer (from)? (uint64_t) json_integer_value (from): 0;
    s_msg_t *confirm = s_msg_json (json_is_integer (from)
        ? json_pack ("{s:s, s:s, s:I}", "type", "subscribed", "channel", channel,
                     "fromSequence", (json_int_t) start)
        : json_pack ("{s:s, s:s}", "type", "subscribed", "channel", channel), 0);
    pthread_mutex_lock (&ws->lock);
    bool added = s_sub_put (self, channel, json_is_integer (from), start);
    //  Queued, so that it goes before the events of the subscription
    if (added && confirm)
        s_enqueue (self, confirm);
    pthread_mutex_unlock (&ws->lock);
    s_msg_release (&confirm);
    if (!added)
        return s_write_error (self, 429, "TOO_MANY", "too many subscriptions on this connection "
                              "(http/ws/max_subscriptions)");
    S_COUNT (ws, subscribes);
    if (json_is_integer (from))
        (void) !write (ws->wake [1], "", 1);
    return 0;
}

static int
s_unsubscribe (s_conn_t *self, json_t *message)
{
    zeb_http_ws_t *ws = self->ws;
    const char *channel = json_string_value (json_object_get (message, "channel"));
    if (!channel)
        return s_write_error (self, 400, "INVALID_ATTRIBUTE", "unsubscribe needs a channel");
    s_msg_t *answer = s_msg_json (json_pack ("{s:s, s:s}", "type", "unsubscribed",
                                             "channel", channel), 0);
    pthread_mutex_lock (&ws->lock);
    s_sub_t **link = &self->subs;
    while (*link && !streq ((*link)->pattern, channel))
        link = &(*link)->next_sub;
    s_sub_t *gone = *link;
    if (gone) {
        *link = gone->next_sub;
        self->sub_count--;
    }
    //  Queued: after the events already queued for it
    if (answer)
        s_enqueue (self, answer);
    pthread_mutex_unlock (&ws->lock);
    s_msg_release (&answer);
    free (gone);
    S_COUNT (ws, unsubscribes);
    return 0;
}

//  One text message from the client. Returns 0 to go on, -1 to close.
static int
s_message (s_conn_t *self, const char *data, size_t size)
{
    S_COUNT (self->ws, messages_in);
    if (size > S_MAX_MESSAGE)
        return s_write_error (self, 413, "TOO_LARGE", "a message is at most 64 KiB");
    zeb_fault_t fault;
    json_t *message = zeb_json_parse (data, size, &fault);
    const char *action = json_string_value (json_object_get (message, "action"));
    int rc = 0;
    if (!json_is_object (message) || !action)
        rc = s_write_error (self, 400, "MALFORMED", "a message is a JSON object with an action");
    else
    if (streq (action, "subscribe"))
        rc = s_subscribe (self, message);
    else
    if (streq (action, "unsubscribe"))
        rc = s_unsubscribe (self, message);
    else
    if (streq (action, "ping")) {
        S_COUNT (self->ws, pings);
        rc = s_write (self->conn, json_pack ("{s:s, s:I}", "type", "pong",
                                             "timestamp", (json_int_t) zeb_time_now ()));
    }
    else
    if (streq (action, "disconnect")) {
        mg_websocket_write (self->conn, MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE, "\x03\xe8", 2);
        rc = -1;
    }
    else
        rc = s_write_error (self, 400, "UNKNOWN_ACTION",
                            "action is subscribe, unsubscribe, ping or disconnect");
    json_decref (message);
    return rc;
}

//  A frame from the client: 1 keeps the connection, 0 closes it
static int
s_on_data (struct mg_connection *conn, int bits, char *data, size_t size, void *cbdata)
{
    intptr_t user = (intptr_t) mg_get_user_connection_data (conn);
    if (user < 256)
        return 0;
    s_conn_t *self = (s_conn_t *) user;
    int opcode = bits & 0xf;
    if (opcode == MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE)
        return 0;
    pthread_mutex_lock (&self->ws->lock);
    bool closing = self->closing;
    pthread_mutex_unlock (&self->ws->lock);
    if (closing)
        return 0;                       //  lagged: the close is on its way
    if (opcode == MG_WEBSOCKET_OPCODE_BINARY) {
        s_write_error (self, 400, "MALFORMED", "messages are JSON text, not binary");
        return 1;
    }
    if (opcode != MG_WEBSOCKET_OPCODE_TEXT || !(bits & 0x80))
        return 1;                       //  pings, pongs; fragments are not taken
    if (s_message (self, data, size))
        return 0;
    return 1;
}

//  ---------------------------------------------------------------------
//  The gateway's entry points

int
zeb_http_ws_configure (zeb_http_t *http, zconfig_t *config, zeb_fault_t *fault)
{
    zeb_http_ws_t *ws = (zeb_http_ws_t *) zmalloc (sizeof (zeb_http_ws_t));
    http->ws = ws;
    ws->http = http;
    ws->wake [0] = ws->wake [1] = -1;
    int64_t queue, subscriptions, senders;
    zeb_config_duration (config, "http/ws/idle_timeout", &ws->idle_timeout);
    zeb_config_duration (config, "http/ws/lag_grace", &ws->lag_grace);
    zeb_config_int (config, "http/ws/queue", &queue);
    zeb_config_int (config, "http/ws/max_subscriptions", &subscriptions);
    zeb_config_int (config, "http/ws/senders", &senders);
    ws->queue_max = (size_t) queue;
    ws->max_subscriptions = (size_t) subscriptions;
    ws->sender_count = (size_t) senders;
    //  CivetWeb pings a connection silent for this long and closes it
    //  after more than MG_MAX_UNANSWERED_PING (5) unanswered pings: seven
    //  periods of silence make the idle timeout
    snprintf (ws->ping_text, sizeof (ws->ping_text), "%lld",
              (long long) (ws->idle_timeout / 7 > 10? ws->idle_timeout / 7: 10));
    ws->token_channels = (char **) zmalloc ((http->token_count + 1) * sizeof (char *));
    for (size_t index = 0; index < http->token_count; index++) {
        char path [128];
        snprintf (path, sizeof (path), "http/tokens/%s/channels", http->tokens [index].name);
        const char *channels = zconfig_get (config, path, "*");
        if (!streq (channels, "*") && *channels)
            ws->token_channels [index] = strdup (channels);
    }
    pthread_mutex_init (&ws->lock, NULL);
    pthread_cond_init (&ws->ready_cond, NULL);
    pthread_cond_init (&ws->idle_cond, NULL);
    if (pipe (ws->wake) || fcntl (ws->wake [0], F_SETFL, O_NONBLOCK)
    ||  fcntl (ws->wake [1], F_SETFL, O_NONBLOCK))
        return zeb_fault_set (fault, ZEB_ECONFIG, "http: no pipe for the WebSocket feed: %s",
                              strerror (errno));
    return 0;
}

const char *
zeb_http_ws_ping_interval (zeb_http_t *http)
{
    return http->ws? http->ws->ping_text: "60000";
}

int
zeb_http_ws_start (zeb_http_t *http, zeb_fault_t *fault)
{
    zeb_http_ws_t *ws = http->ws;
    if (!http->ingest) {
        zeb_info ("http: no ingest: GET /ws is not served");
        return 0;
    }
    ws->senders = (pthread_t *) zmalloc (ws->sender_count * sizeof (pthread_t));
    for (; ws->senders_started < ws->sender_count; ws->senders_started++)
        if (pthread_create (&ws->senders [ws->senders_started], NULL, s_sender, ws))
            return zeb_fault_set (fault, ZEB_ECONFIG, "http: cannot start a WebSocket sender");
    if (pthread_create (&ws->feed, NULL, s_feed, ws))
        return zeb_fault_set (fault, ZEB_ECONFIG, "http: cannot start the WebSocket feed");
    ws->feed_started = true;
    mg_set_websocket_handler (http->server, "/ws", s_on_connect, s_on_ready, s_on_data, s_on_close, ws);
    return 0;
}

void
zeb_http_ws_stop (zeb_http_t *http)
{
    zeb_http_ws_t *ws = http->ws;
    if (!ws)
        return;
    pthread_mutex_lock (&ws->lock);
    __atomic_store_n (&ws->stopping, true, __ATOMIC_RELEASE);
    pthread_cond_broadcast (&ws->ready_cond);
    pthread_mutex_unlock (&ws->lock);
    if (ws->wake [1] >= 0)
        (void) !write (ws->wake [1], "", 1);
    if (ws->feed_started)
        pthread_join (ws->feed, NULL);
    for (size_t index = 0; index < ws->senders_started; index++)
        pthread_join (ws->senders [index], NULL);
    free (ws->senders);
    for (size_t index = 0; index < http->token_count; index++)
        free (ws->token_channels [index]);
    free (ws->token_channels);
    if (ws->wake [0] >= 0)
        close (ws->wake [0]);
    if (ws->wake [1] >= 0)
        close (ws->wake [1]);
    pthread_mutex_destroy (&ws->lock);
    pthread_cond_destroy (&ws->ready_cond);
    pthread_cond_destroy (&ws->idle_cond);
    free (ws);
    http->ws = NULL;
}

void
zeb_http_ws_stats (zeb_http_t *http, zeb_pack_t *pack)
{
    zeb_http_ws_t *ws = http->ws;
    if (!ws)
        return;
    s_counters_t *c = &ws->counters;
    zeb_pack_map (pack, "ws");
#define S_STAT(name) zeb_pack_uint (pack, #name, __atomic_load_n (&c->name, __ATOMIC_RELAXED))
    S_STAT (connections);
    S_STAT (connections_refused);
    S_STAT (disconnects);
    S_STAT (messages_in);
    S_STAT (bad_messages);
    S_STAT (subscribes);
    S_STAT (unsubscribes);
    S_STAT (pings);
    S_STAT (events_in);
    S_STAT (events_sent);
    S_STAT (replayed);
    S_STAT (lagged);
    S_STAT (cut);
    S_STAT (write_failures);
    S_STAT (gaps_repaired);
    S_STAT (events_missed);
#undef S_STAT
    pthread_mutex_lock (&ws->lock);
    zeb_pack_uint (pack, "open", ws->conn_count);
    pthread_mutex_unlock (&ws->lock);
    zeb_pack_uint (pack, "queue", ws->queue_max);
    zeb_pack_uint (pack, "idle_timeout", (uint64_t) ws->idle_timeout);
    zeb_pack_end (pack);
}

//  ---------------------------------------------------------------------
//  GET /api/stats: the gateway's STATS as JSON

int
zeb_http_stats_get (zeb_http_req_t *req)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    zeb_pack_t pack;
    zeb_pack_init (&pack, &buffer);
    zeb_pack_map (&pack, NULL);
    zeb_http_def.stats (req->http, &pack);
    json_t *json = NULL;
    if (zeb_pack_end (&pack) == 0) {
        zeb_fault_t fault;
        json = zeb_json_from_msgpack (buffer.data, buffer.size, &fault);
    }
    msgpack_sbuffer_destroy (&buffer);
    return zeb_http_reply_json (req, 200, json, "Cache-Control: no-store\r\n");
}

//  ---------------------------------------------------------------------
//  GET /: the console (web/console.html, embedded at build time)

extern const unsigned char zeb_console_html [];
extern const size_t zeb_console_html_size;

int
zeb_http_console (zeb_http_req_t *req)
{
    return zeb_http_reply (req, 200, "text/html; charset=utf-8", (const char *) zeb_console_html,
                           zeb_console_html_size, "Cache-Control: no-cache\r\n");
}

//  ---------------------------------------------------------------------
//  Self test

void
zeb_http_ws_test (bool verbose)
{
    assert (s_pattern_valid ("order.placed"));
    assert (s_pattern_valid ("order.*"));
    assert (s_pattern_valid ("*"));
    assert (!s_pattern_valid (""));
    assert (!s_pattern_valid ("a*b"));
    assert (!s_pattern_valid ("a b"));
    assert (s_pattern_match ("order.placed", SIZE_MAX, "order.placed"));
    assert (!s_pattern_match ("order.placed", SIZE_MAX, "order.placed.eu"));
    assert (s_pattern_match ("order.*", 6, "order.placed"));
    assert (!s_pattern_match ("order.*", 6, "orders.x"));
    assert (s_pattern_match ("*", 0, "anything"));
    assert (s_channels_allow (NULL, "*"));
    assert (s_channels_allow ("order.*, audit.log", "order.placed"));
    assert (s_channels_allow ("order.*", "order.eu.*"));
    assert (s_channels_allow ("order.*,audit.log", "audit.log"));
    assert (!s_channels_allow ("order.*", "*"));
    assert (!s_channels_allow ("order.*", "order*"));
    assert (!s_channels_allow ("audit.log", "audit.log.x"));
    s_msg_t *msg = s_msg_new (MG_WEBSOCKET_OPCODE_TEXT, 7, "{}", 2);
    assert (msg && msg->size == 2 && streq (msg->text, "{}"));
    assert (msg->head == 2 && (uint8_t) msg->frame [0] == 0x81 && msg->frame [1] == 2);
    s_msg_release (&msg);
    char large [70000];
    memset (large, 'x', sizeof (large));
    msg = s_msg_new (MG_WEBSOCKET_OPCODE_TEXT, 7, large, 300);
    assert (msg->head == 4 && (uint8_t) msg->frame [1] == 126 && msg->frame [2] == 1
            && (uint8_t) msg->frame [3] == 44);
    s_msg_release (&msg);
    msg = s_msg_new (MG_WEBSOCKET_OPCODE_TEXT, 7, large, sizeof (large));
    assert (msg->head == 10 && (uint8_t) msg->frame [1] == 127 && msg->frame [7] == 1
            && (uint8_t) msg->frame [8] == 0x11 && (uint8_t) msg->frame [9] == 0x70);
    s_msg_release (&msg);
    assert (!msg);
    zeb_event_t *event = zeb_event_new ("order.placed");
    zeb_event_set (event, "source", "test");
    zeb_event_set (event, "channel", "org:\"q\"");
    msg = s_msg_event (event);
    assert (msg);
    zeb_fault_t fault;
    json_t *parsed = zeb_json_parse (msg->text, msg->size, &fault);
    assert (parsed && streq (json_string_value (json_object_get (parsed, "channel")), "org:\"q\""));
    assert (streq (json_string_value (json_object_get (json_object_get (parsed, "data"), "type")),
                   "order.placed"));
    json_decref (parsed);
    s_msg_release (&msg);
    zeb_event_destroy (&event);
}
