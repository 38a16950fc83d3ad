/*  =========================================================================
    zeb_outbox_admin - the outbox's read and admin verbs (see
    docs/PROTOCOL.md, section 4b, and zeb_outbox_int.h)

    RUN, DLQ_LIST, DLQ_SHOW, DLQ_REPLAY, DLQ_PURGE, LOGS, CURSOR and
    TARGET_ENABLE, and the command table of the outbox endpoint. Verbs
    that change the store (REPLAY, PURGE, TARGET_ENABLE) answer after the
    turn's commit (zeb_outbox_reply_after_commit); the others answer at
    once from a read transaction.
    =========================================================================
*/

#include "zeb_outbox_int.h"

//  ---------------------------------------------------------------------
//  RUN

static int
s_request_id (zeb_request_t *request, char *hex)
{
    const char *id;
    size_t len;
    if (zeb_proto_get_str (request->body, request->body_size, "id", &id, &len) != 0
    ||  len != 2 * ZEB_RUN_ID_SIZE)
        return -1;
    for (size_t index = 0; index < len; index++) {
        if (!isxdigit ((unsigned char) id [index]))
            return -1;
        hex [index] = (char) tolower ((unsigned char) id [index]);
    }
    hex [len] = 0;
    return 0;
}

static void
s_handle_run (void *owner, zeb_request_t *request)
{
    self_t *self = (self_t *) owner;
    char hex [2 * ZEB_RUN_ID_SIZE + 1];
    if (s_request_id (request, hex)) {
        zeb_router_nack (request, ZEB_EINVALID, "RUN needs id: a run id of 32 hex digits");
        return;
    }
    item_t *item = (item_t *) zhashx_lookup (self->items, hex);
    zeb_run_t *loaded = item? NULL: zeb_outbox_load (self, hex);
    zeb_run_t *run = item? item->run: loaded;
    if (!run) {
        zeb_router_nack (request, ZEB_ENOTFOUND, "no run %s", hex);
        return;
    }
    msgpack_sbuffer *buffer = zeb_router_buffer (self->router);
    zeb_pack_t pack;
    zeb_pack_init (&pack, buffer);
    zeb_run_describe (run, &pack, NULL);
    zeb_router_reply_buffer (request, "RUN", buffer);
    zeb_run_destroy (&loaded);
}

//  ---------------------------------------------------------------------
//  Dead letters

static int
s_filter_parse (zeb_request_t *request, filter_t *filter, uint64_t limit_default, uint64_t limit_max)
{
    memset (filter, 0, sizeof (*filter));
    filter->until = INT64_MAX;
    filter->limit = limit_default;
    const char *text;
    size_t len;
    if (zeb_proto_get_str (request->body, request->body_size, "id", &text, &len) == 0) {
        if (s_request_id (request, filter->id))
            return zeb_router_nack (request, ZEB_EINVALID, "id is not a run id of 32 hex digits");
        filter->by_id = true;
    }
    int rc = zeb_proto_get_str (request->body, request->body_size, "origin", &text, &len);
    if (rc == 0 && len < sizeof (filter->origin))
        snprintf (filter->origin, sizeof (filter->origin), "%.*s", (int) len, text);
    else
    if (rc != 1)
        return zeb_router_nack (request, ZEB_EINVALID, "origin must be a string of at most 128 bytes");
    rc = zeb_proto_get_str (request->body, request->body_size, "type", &text, &len);
    if (rc == 0 && len < sizeof (filter->type))
        snprintf (filter->type, sizeof (filter->type), "%.*s", (int) len, text);
    else
    if (rc != 1)
        return zeb_router_nack (request, ZEB_EINVALID, "type must be a type prefix of at most 255 bytes");
    if (zeb_proto_get_int (request->body, request->body_size, "since", &filter->since) < 0
    ||  zeb_proto_get_int (request->body, request->body_size, "until", &filter->until) < 0
    ||  zeb_proto_get_uint (request->body, request->body_size, "limit", &filter->limit) < 0
    ||  filter->limit == 0 || filter->limit > limit_max)
        return zeb_router_nack (request, ZEB_EINVALID, "since and until are ms, limit 1..%" PRIu64, limit_max);
    rc = zeb_proto_get_str (request->body, request->body_size, "after", &text, &len);
    if (rc == 0 && zeb_run_unhex (text, len, filter->after, sizeof (filter->after)) == 0)
        filter->has_after = true;
    else
    if (rc != 1)
        return zeb_router_nack (request, ZEB_EINVALID, "after is the next of a DLQ reply");
    return 0;
}

static void
s_pack_dead (zeb_pack_t *pack, zeb_run_t *run)
{
    zeb_action_t *action = NULL;
    for (uint32_t index = 0; index < run->action_count; index++)
        if (run->actions [index].state == ZEB_ACTION_FAILED) {
            action = &run->actions [index];
            break;
        }
    zeb_pack_str (pack, "id", run->hex);
    zeb_pack_str (pack, "origin", run->origin);
    zeb_pack_map (pack, "event");
    zeb_pack_str (pack, "id", run->event_id);
    zeb_pack_str (pack, "type", run->event_type);
    zeb_pack_uint (pack, "sequence", run->sequence);
    zeb_pack_end (pack);
    zeb_pack_str (pack, "reason", run->reason);
    zeb_pack_str (pack, "error", run->error);
    zeb_pack_str (pack, "action", action? action->type: "");
    zeb_pack_uint (pack, "attempts", action? action->attempts: 0);
    zeb_pack_str (pack, "target", run->dead_target);
    zeb_pack_int (pack, "at", run->dead_at);
}

static bool
s_list_one (self_t *self, zeb_run_t **run_p, const uint8_t *key, void *arg)
{
    zeb_pack_t *pack = (zeb_pack_t *) arg;
    zeb_pack_map (pack, NULL);
    s_pack_dead (pack, *run_p);
    zeb_pack_end (pack);
    return true;
}

static void
s_handle_dlq_list (void *owner, zeb_request_t *request)
{
    self_t *self = (self_t *) owner;
    filter_t filter;
    if (s_filter_parse (request, &filter, 100, 1000))
        return;
    zeb_outbox_settle (self);           //  before the reply buffer is in use
    msgpack_sbuffer *buffer = zeb_router_buffer (self->router);
    zeb_pack_t pack;
    zeb_pack_init (&pack, buffer);
    zeb_pack_map (&pack, NULL);
    zeb_pack_array (&pack, "items");
    char next [2 * (8 + ZEB_RUN_ID_SIZE) + 1];
    zeb_outbox_dlq_scan (self, &filter, s_list_one, &pack, next);
    zeb_pack_end (&pack);
    if (*next)
        zeb_pack_str (&pack, "next", next);
    zeb_pack_end (&pack);
    zeb_router_reply_buffer (request, "DLQ", buffer);
}

static void
s_handle_dlq_show (void *owner, zeb_request_t *request)
{
    self_t *self = (self_t *) owner;
    char hex [2 * ZEB_RUN_ID_SIZE + 1];
    if (s_request_id (request, hex)) {
        zeb_router_nack (request, ZEB_EINVALID, "DLQ_SHOW needs id: a run id of 32 hex digits");
        return;
    }
    zeb_run_t *run = zhashx_lookup (self->items, hex)? NULL: zeb_outbox_load (self, hex);
    if (!run || run->state != ZEB_RUN_DEAD) {
        zeb_router_nack (request, ZEB_ENOTFOUND, "no dead letter %s", hex);
        zeb_run_destroy (&run);
        return;
    }
    msgpack_sbuffer *buffer = zeb_router_buffer (self->router);
    zeb_pack_t pack;
    zeb_pack_init (&pack, buffer);
    zeb_pack_map (&pack, NULL);
    s_pack_dead (&pack, run);
    zeb_run_describe (run, &pack, "run");
    zeb_pack_end (&pack);
    zeb_router_reply_buffer (request, "DEAD", buffer);
    zeb_run_destroy (&run);
}

//  The dead runs a request names (id, or a filter), caller destroys the list
static zlistx_t *
s_collect (self_t *self, zeb_request_t *request, filter_t *filter)
{
    zlistx_t *list = zlistx_new ();
    if (filter->by_id) {
        zeb_run_t *run = zhashx_lookup (self->items, filter->id)? NULL: zeb_outbox_load (self, filter->id);
        if (run && run->state == ZEB_RUN_DEAD) {
            dead_t *dead = (dead_t *) zmalloc (sizeof (dead_t));
            assert (dead);
            zeb_outbox_be64 (dead->key, (uint64_t) run->updated);
            memcpy (dead->key + 8, run->id, ZEB_RUN_ID_SIZE);
            dead->run = run;
            zlistx_add_end (list, dead);
        }
        else
            zeb_run_destroy (&run);
    }
    else {
        zeb_outbox_settle (self);
        zeb_outbox_dlq_scan (self, filter, zeb_outbox_collect_one, list, NULL);
    }
    return list;
}

static void
s_reply_count (self_t *self, zeb_request_t *request, const char *command, size_t count, const char *replay)
{
    msgpack_sbuffer *buffer = zeb_router_buffer (self->router);
    zeb_pack_t pack;
    zeb_pack_init (&pack, buffer);
    zeb_pack_map (&pack, NULL);
    zeb_pack_uint (&pack, "count", count);
    if (replay)
        zeb_pack_str (&pack, "replayId", replay);
    zeb_pack_end (&pack);
    zeb_outbox_reply_after_commit (self, request, command, buffer);
}

static void
s_handle_dlq_replay (void *owner, zeb_request_t *request)
{
    self_t *self = (self_t *) owner;
    filter_t filter;                    //  a filter replays all it matches, by default
    if (s_filter_parse (request, &filter, 100000, 100000))
        return;
    zlistx_t *list = s_collect (self, request, &filter);
    if (filter.by_id && zlistx_size (list) == 0) {
        zlistx_destroy (&list);
        zeb_router_nack (request, ZEB_ENOTFOUND, "no dead letter %s", filter.id);
        return;
    }
    size_t count = zlistx_size (list);
    char id [40] = "";
    if (count) {
        zeb_uuid_v7_str (id);
        replay_t *replay = (replay_t *) zmalloc (sizeof (replay_t));
        assert (replay);
        snprintf (replay->id, sizeof (replay->id), "%s", id);
        replay->count = replay->remaining = count;
        zhashx_insert (self->replays, id, replay);
        json_t *data = json_pack ("{s:s, s:I}", "replayId", id, "count", (json_int_t) count);
        char key [64];
        snprintf (key, sizeof (key), "replay-started-%s", id);
        zeb_outbox_publish (self, "zeb.replay.started", key, data);
    }
    dead_t *dead;
    while ((dead = (dead_t *) zlistx_detach (list, NULL))) {
        zeb_outbox_replay_run (self, dead->run, dead->key, id);
        free (dead);
    }
    zlistx_destroy (&list);
    s_reply_count (self, request, "REPLAYED", count, count? id: NULL);
}

static void
s_handle_dlq_purge (void *owner, zeb_request_t *request)
{
    self_t *self = (self_t *) owner;
    filter_t filter;
    if (s_filter_parse (request, &filter, 100000, 100000))
        return;
    zlistx_t *list = s_collect (self, request, &filter);
    if (filter.by_id && zlistx_size (list) == 0) {
        zlistx_destroy (&list);
        zeb_router_nack (request, ZEB_ENOTFOUND, "no dead letter %s", filter.id);
        return;
    }
    size_t count = zlistx_size (list);
    dead_t *dead;
    while ((dead = (dead_t *) zlistx_detach (list, NULL))) {
        zeb_outbox_op (self, S_DLQ, dead->key, sizeof (dead->key), NULL, 0);
        zeb_outbox_op (self, S_RUNS, dead->run->id, ZEB_RUN_ID_SIZE, NULL, 0);
        zeb_run_destroy (&dead->run);
        free (dead);
        self->purged++;
    }
    zlistx_destroy (&list);
    s_reply_count (self, request, "PURGED", count, NULL);
}

//  Targets that answered 410 take runs again
static void
s_handle_target_enable (void *owner, zeb_request_t *request)
{
    self_t *self = (self_t *) owner;
    const char *target;
    size_t len;
    if (zeb_proto_get_str (request->body, request->body_size, "target", &target, &len) != 0
    ||  len == 0 || len > 255) {
        zeb_router_nack (request, ZEB_EINVALID, "TARGET_ENABLE needs target (1..255 bytes)");
        return;
    }
    char name [256];
    memcpy (name, target, len);
    name [len] = 0;
    bool was_gone = zhashx_lookup (self->gone, name) != NULL;
    zhashx_delete (self->gone, name);
    zeb_outbox_op (self, S_META, name, len, NULL, 0);
    msgpack_sbuffer *buffer = zeb_router_buffer (self->router);
    zeb_pack_t pack;
    zeb_pack_init (&pack, buffer);
    zeb_pack_map (&pack, NULL);
    zeb_pack_bool (&pack, "wasGone", was_gone);
    zeb_pack_end (&pack);
    zeb_outbox_reply_after_commit (self, request, "ENABLED", buffer);
}

//  ---------------------------------------------------------------------
//  Execution logs

//  A log's place in its index, after origin (or type) NUL: time, run id
#define S_LOG_PLACE (8 + ZEB_RUN_ID_SIZE)

//  LOGS's before: absent (0, *place untouched), a time in ms (0, *place
//  gets it with no run id: *place_size 8), or the next of a LOGS reply,
//  the hex of a place (0, *place_size S_LOG_PLACE). -1 if neither.
static int
s_logs_before (zeb_request_t *request, uint8_t *place, size_t *place_size)
{
    int64_t before;
    int rc = zeb_proto_get_int (request->body, request->body_size, "before", &before);
    if (rc == 0)
        zeb_outbox_be64 (place, before < 0? 0: (uint64_t) before);
    if (rc >= 0)
        return 0;
    const char *text;
    size_t len;
    if (zeb_proto_get_str (request->body, request->body_size, "before", &text, &len) != 0
    ||  zeb_run_unhex (text, len, place, S_LOG_PLACE))
        return -1;
    *place_size = S_LOG_PLACE;
    return 0;
}

//  Newest first, strictly before place: a log's key is origin (or type)
//  NUL time id, so that paging by the place of the last entry handed out
//  neither repeats nor skips logs written in the same millisecond
static void
s_handle_logs (void *owner, zeb_request_t *request)
{
    self_t *self = (self_t *) owner;
    const char *origin = NULL, *type = NULL;
    size_t origin_len = 0, type_len = 0;
    int has_origin = zeb_proto_get_str (request->body, request->body_size, "origin", &origin, &origin_len);
    int has_type = zeb_proto_get_str (request->body, request->body_size, "type", &type, &type_len);
    uint64_t limit = 50;
    uint8_t place [S_LOG_PLACE];
    size_t place_size = 8;
    zeb_outbox_be64 (place, UINT64_MAX);             //  no before: from the newest
    if (has_origin < 0 || has_type < 0 || (has_origin == 0) == (has_type == 0)
    ||  origin_len > 128 || type_len > 255
    ||  zeb_proto_get_uint (request->body, request->body_size, "limit", &limit) < 0
    ||  limit == 0 || limit > 1000
    ||  s_logs_before (request, place, &place_size)) {
        zeb_router_nack (request, ZEB_EINVALID, "LOGS needs origin or type (one of them), "
                         "limit 1..1000, before (ms, or the next of a LOGS reply)");
        return;
    }
    zeb_outbox_settle (self);           //  the logs of every run finished so far
    const char *prefix = has_origin == 0? origin: type;
    size_t prefix_len = has_origin == 0? origin_len: type_len;
    MDB_dbi dbi = self->dbs [has_origin == 0? S_LOGS: S_LOGS_TYPE];
    uint8_t start [256 + S_LOG_PLACE];
    memcpy (start, prefix, prefix_len);
    start [prefix_len] = 0;
    memcpy (start + prefix_len + 1, place, place_size);
    msgpack_sbuffer *buffer = zeb_router_buffer (self->router);
    zeb_pack_t pack;
    zeb_pack_init (&pack, buffer);
    zeb_pack_map (&pack, NULL);
    zeb_pack_array (&pack, "items");
    MDB_txn *txn;
    bool more = false;
    uint8_t last [S_LOG_PLACE];             //  the place of the last entry handed out
    if (zeb_lmdb_read_begin (self->lmdb, &txn) == 0) {
        MDB_cursor *cursor;
        mdb_cursor_open (txn, dbi, &cursor);
        MDB_val key = { prefix_len + 1 + place_size, start }, value;
        int rc = mdb_cursor_get (cursor, &key, &value, MDB_SET_RANGE);
        rc = rc == 0? mdb_cursor_get (cursor, &key, &value, MDB_PREV):
                      mdb_cursor_get (cursor, &key, &value, MDB_LAST);
        uint64_t count = 0;
        for (; rc == 0; rc = mdb_cursor_get (cursor, &key, &value, MDB_PREV)) {
            if (key.mv_size != prefix_len + 1 + S_LOG_PLACE
            ||  memcmp (key.mv_data, prefix, prefix_len) != 0
            ||  ((uint8_t *) key.mv_data) [prefix_len] != 0)
                break;
            if (count == limit) {
                more = true;
                break;
            }
            memcpy (last, (uint8_t *) key.mv_data + prefix_len + 1, S_LOG_PLACE);
            MDB_val entry = value;
            if (has_type == 0 && mdb_get (txn, self->dbs [S_LOGS], &value, &entry))
                continue;
            zeb_pack_raw (&pack, NULL, entry.mv_data, entry.mv_size);
            count++;
        }
        mdb_cursor_close (cursor);
        zeb_lmdb_read_end (self->lmdb, txn);
    }
    zeb_pack_end (&pack);
    if (more) {
        char next [2 * S_LOG_PLACE + 1];
        zeb_run_hex (last, sizeof (last), next);
        zeb_pack_str (&pack, "next", next);
    }
    zeb_pack_end (&pack);
    zeb_router_reply_buffer (request, "LOGS", buffer);
}

static void
s_handle_cursor (void *owner, zeb_request_t *request)
{
    self_t *self = (self_t *) owner;
    const char *name;
    size_t name_len;
    if (zeb_proto_get_str (request->body, request->body_size, "name", &name, &name_len) != 0
    ||  name_len == 0 || name_len > 128) {
        zeb_router_nack (request, ZEB_EINVALID, "CURSOR needs name (1..128 bytes)");
        return;
    }
    char key [160];
    snprintf (key, sizeof (key), "cursor/%.*s", (int) name_len, name);
    uint64_t position = 0;
    zeb_outbox_settle (self);           //  the cursor of every ENQUEUE answered
    MDB_txn *txn;
    if (zeb_lmdb_read_begin (self->lmdb, &txn) == 0) {
        MDB_val lookup = { strlen (key), key }, value;
        if (mdb_get (txn, self->dbs [S_META], &lookup, &value) == 0 && value.mv_size == 8)
            position = zeb_outbox_read_be64 (value.mv_data);
        zeb_lmdb_read_end (self->lmdb, txn);
    }
    msgpack_sbuffer *buffer = zeb_router_buffer (self->router);
    zeb_pack_t pack;
    zeb_pack_init (&pack, buffer);
    zeb_pack_map (&pack, NULL);
    zeb_pack_strn (&pack, "name", name, name_len);
    zeb_pack_uint (&pack, "position", position);
    zeb_pack_end (&pack);
    zeb_router_reply_buffer (request, "CURSOR", buffer);
}

const zeb_router_command_t zeb_outbox_commands [] = {
    { "CURSOR",         s_handle_cursor, 0 },
    { "ENQUEUE",        zeb_outbox_handle_enqueue, 0 },
    { "RUN",            s_handle_run, 0 },
    { "DLQ_LIST",       s_handle_dlq_list, 0 },
    { "DLQ_SHOW",       s_handle_dlq_show, 0 },
    { "DLQ_REPLAY",     s_handle_dlq_replay, 0 },
    { "DLQ_PURGE",      s_handle_dlq_purge, 0 },
    { "LOGS",           s_handle_logs, 0 },
    { "TARGET_ENABLE",  s_handle_target_enable, 0 },
    { NULL }
};
