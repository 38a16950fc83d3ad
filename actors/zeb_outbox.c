/*  =========================================================================
    zeb_outbox - durable runs, scheduled onto executors (see zeb_outbox.h)

    One thread owns everything: the runs in hand (a hash by id), the
    action types (kinds) with their workers, the flow-control lanes, the
    circuits, and one timer heap for backoffs, leases and rate limits.
    Every change of the turn goes into a batch that a committer thread
    stores in one LMDB transaction (commit and sync); ENQUEUED is answered
    after it is stored, so an acknowledged run is durable, and the loop
    goes on dispatching while the committer syncs (zeb_outbox_store.c).

    Scheduling: the run's action in hand waits in the queue of its lane
    (action type + flow key). A lane that could start an action now (room
    under its concurrency, a token, not held by FIFO, its circuit not
    open) is on its kind's list of active lanes; the kind dispatches from
    those, in turn, while a worker of the kind has credit. A lane that
    cannot start leaves the list and comes back when what held it changes
    (a result, a token's time, the circuit's recovery): nothing is
    polled, and one lane's trouble never holds another.

    This file is the actor (configuration, start and stop, STATS, the
    loop's tick, upkeep), the worker protocol and ENQUEUE; the rest is in
    zeb_outbox_sched.c, _store.c, _admin.c and _test.c, which share the
    private zeb_outbox_int.h.
    =========================================================================
*/

#include "zeb_outbox_int.h"
#include <openssl/evp.h>

const zeb_config_key_t zeb_outbox_config [] = {
    { "outbox/endpoint", "tcp://127.0.0.1:7704", ZEB_KEY_ENDPOINT, 0, 0, NULL,
      "ROUTER for ENQUEUE, RUN, DLQ_*, LOGS (docs/PROTOCOL.md 4b)" },
    { "outbox/workers", "tcp://127.0.0.1:7705", ZEB_KEY_ENDPOINT, 0, 0, NULL,
      "ROUTER for workers (READY, JOB, RESULT); the node's executors use inproc" },
    { "outbox/ingest", "", ZEB_KEY_ENDPOINT, 0, 0, NULL,
      "ingest, for zeb.dead_letter and zeb.replay.* events (set in a node with ingest)" },
    { "outbox/executors", "webhook,emit_event,log,redis_stream,nats", ZEB_KEY_STR, 0, 0, NULL,
      "the built-in executors this node runs (comma-separated; empty: none)" },
    { "outbox/max_retries", "3", ZEB_KEY_INT, 0, 999, NULL,
      "retries of a failed action, by default (EVENT_DEFAULT_MAX_RETRIES)" },
    { "outbox/backoff", "1s", ZEB_KEY_DURATION, 0, 604800000, NULL,
      "delay before the first retry (EVENT_DEFAULT_BACKOFF_MS)" },
    { "outbox/exponential_backoff", "true", ZEB_KEY_BOOL, 0, 0, NULL,
      "multiply the delay by backoff_factor after each retry (EVENT_EXPONENTIAL_BACKOFF)" },
    { "outbox/backoff_factor", "2", ZEB_KEY_INT, 1, 10, NULL, "growth of an exponential delay" },
    { "outbox/max_backoff", "1h", ZEB_KEY_DURATION, 0, 604800000, NULL, "longest delay between attempts" },
    { "outbox/backoff_jitter", "true", ZEB_KEY_BOOL, 0, 0, NULL,
      "draw each delay uniformly in [d/2, d] (EVENT_BACKOFF_JITTER)" },
    { "outbox/timeout", "30s", ZEB_KEY_DURATION, 1, 3600000, NULL,
      "an attempt's budget, by default (EVENT_DEFAULT_TIMEOUT)" },
    { "outbox/lease_grace", "5s", ZEB_KEY_DURATION, 0, 3600000, NULL,
      "a job is lost when unfinished this long after its timeout" },
    { "outbox/worker_expiry", "5s", ZEB_KEY_DURATION, 100, 3600000, NULL,
      "a worker silent this long is gone, and its jobs are lost" },
    { "outbox/circuit", "true", ZEB_KEY_BOOL, 0, 0, NULL, "circuit breakers per target" },
    { "outbox/circuit_threshold", "5", ZEB_KEY_INT, 1, 1000, NULL,
      "failures within circuit_window that open a circuit (EVENT_CIRCUIT_BREAKER_THRESHOLD)" },
    { "outbox/circuit_window", "60s", ZEB_KEY_DURATION, 1, 86400000, NULL,
      "(EVENT_CIRCUIT_BREAKER_TIME_WINDOW)" },
    { "outbox/circuit_recovery", "30s", ZEB_KEY_DURATION, 1, 86400000, NULL,
      "an open circuit lets one probe through after this (EVENT_CIRCUIT_BREAKER_RECOVERY_TIMEOUT)" },
    { "outbox/redrive", "true", ZEB_KEY_BOOL, 0, 0, NULL,
      "when a circuit closes, replay the runs dead-lettered for its target since it failed" },
    { "outbox/redrive_rate", "10", ZEB_KEY_INT, 1, 1000000, NULL,
      "redriven runs per second at first; the rate doubles every second" },
    { "outbox/no_executor_timeout", "1h", ZEB_KEY_DURATION, 1, 604800000, NULL,
      "a run whose action type has no executor is dead-lettered after this" },
    { "outbox/max_runs", "1000000", ZEB_KEY_INT, 1, 100000000, NULL,
      "unfinished runs held at once; ENQUEUE beyond gets OVERLOADED" },
    { "outbox/max_enqueue", "1000", ZEB_KEY_INT, 1, 100000, NULL, "runs per ENQUEUE" },
    { "outbox/retention", "14d", ZEB_KEY_DURATION, 1000, 0, NULL,
      "finished runs are kept (RUN, and deduplication of ENQUEUE) this long" },
    { "outbox/log_retention", "14d", ZEB_KEY_DURATION, 1000, 0, NULL, "execution logs are kept this long" },
    { "outbox/log_max", "100000", ZEB_KEY_INT, 1, 0, NULL, "execution logs kept per origin (newest)" },
    { "outbox/upkeep_interval", "1s", ZEB_KEY_DURATION, 10, 3600000, NULL,
      "how often retention is swept and silent workers, runs without executors, idle lanes looked for" },
    { "outbox/max_size", "0", ZEB_KEY_SIZE, 0, 0, NULL,
      "largest the outbox's store may grow (0 = disk size)" },
    { NULL }
};

//  ---------------------------------------------------------------------
//  Ids and keys

void
zeb_outbox_run_id (const char *origin, const char *event_key, uint64_t order, char *hex)
{
    uint8_t digest [EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    EVP_MD_CTX *context = EVP_MD_CTX_new ();
    assert (context);
    EVP_DigestInit_ex (context, EVP_sha256 (), NULL);
    EVP_DigestUpdate (context, origin, strlen (origin) + 1);
    EVP_DigestUpdate (context, event_key, strlen (event_key));
    EVP_DigestFinal_ex (context, digest, &size);
    EVP_MD_CTX_free (context);
    //  The event's place first, in 6 bytes big-endian, then 10 of the
    //  digest: runs enqueued together are neighbours in the store's
    //  B-trees (runs, and ingest's idempotency keys for emit_event), so
    //  a commit dirties a few pages for many runs, not one page per run
    uint8_t id [ZEB_RUN_ID_SIZE];
    for (int index = 0; index < 6; index++)
        id [index] = (uint8_t) (order >> (8 * (5 - index)));
    memcpy (id + 6, digest, ZEB_RUN_ID_SIZE - 6);
    zeb_run_hex (id, ZEB_RUN_ID_SIZE, hex);
}

uint64_t
zeb_outbox_run_order (const zeb_event_view_t *event)
{
    if (event->sequence)
        return event->sequence;
    return event->has_time && event->time > 0? (uint64_t) event->time: 0;
}

//  ---------------------------------------------------------------------
//  Workers

static void
s_worker_id (const void *identity, size_t size, char *out)
{
    zeb_run_hex ((const uint8_t *) identity, size < 255? size: 255, out);
}

static void
s_worker_detach (self_t *self, worker_t *worker)
{
    for (size_t index = 0; index < worker->kind_count; index++) {
        kind_t *kind = worker->kinds [index];
        for (size_t slot = 0; slot < kind->worker_count; slot++)
            if (kind->workers [slot] == worker) {
                kind->workers [slot] = kind->workers [--kind->worker_count];
                break;
            }
        kind->turn = 0;
    }
    worker->kind_count = 0;
}

//  The worker is gone: its jobs are lost attempts
static void
s_worker_gone (self_t *self, worker_t *worker, const char *why)
{
    zlistx_t *lost = zlistx_new ();
    for (item_t *item = (item_t *) zhashx_first (self->jobs); item; item = (item_t *) zhashx_next (self->jobs))
        if (item->worker == worker)
            zlistx_add_end (lost, item);
    for (item_t *item = (item_t *) zlistx_first (lost); item; item = (item_t *) zlistx_next (lost)) {
        self->leases_lost++;
        zeb_outbox_attempt_ended (self, item, ZEB_JOB_RETRY, true, 0, why, NULL, 0, 0, false);
    }
    zlistx_destroy (&lost);
    s_worker_detach (self, worker);
    zhashx_delete (self->worker_map, worker->id);
}

static void
s_workers_gone (void *arg, const void *identity, size_t size)
{
    self_t *self = (self_t *) arg;
    char id [520];
    s_worker_id (identity, size, id);
    worker_t *worker = (worker_t *) zhashx_lookup (self->worker_map, id);
    if (worker)
        s_worker_gone (self, worker, "worker disconnected");
}

static worker_t *
s_worker_of (self_t *self, zeb_request_t *request)
{
    char id [520];
    s_worker_id (zmq_msg_data (&request->identity), zmq_msg_size (&request->identity), id);
    worker_t *worker = (worker_t *) zhashx_lookup (self->worker_map, id);
    if (worker)
        worker->seen_ms = zeb_outbox_now_ms ();
    return worker;
}

static void
s_handle_ready (void *owner, zeb_request_t *request)
{
    self_t *self = (self_t *) owner;
    uint64_t credit = 0;
    zeb_mpk_t actions;
    uint32_t count;
    if (zeb_proto_get_uint (request->body, request->body_size, "credit", &credit) != 0
    ||  credit < 1 || credit > 10000
    ||  zeb_mpk_find (request->body, request->body_size, "actions", &actions)
    ||  zeb_mpk_read_array (&actions, &count) || count < 1 || count > S_MAX_WORKER_ACTIONS) {
        zeb_router_nack (request, ZEB_EINVALID, "READY needs actions (1..%d names) and credit (1..10000)",
                         S_MAX_WORKER_ACTIONS);
        return;
    }
    kind_t *kinds [S_MAX_WORKER_ACTIONS];
    for (uint32_t index = 0; index < count; index++) {
        char name [64];
        const char *str;
        uint32_t len;
        if (zeb_mpk_read_str (&actions, &str, &len) || len == 0 || len >= sizeof (name)) {
            zeb_router_nack (request, ZEB_EINVALID, "READY: actions[%u] is not a name of 1..63 bytes", index);
            return;
        }
        memcpy (name, str, len);
        name [len] = 0;
        kinds [index] = zeb_outbox_kind (self, name);
        if (!kinds [index]) {
            zeb_router_nack (request, ZEB_EOVERLOADED, "READY: more than %d action types", S_MAX_KINDS);
            return;
        }
    }
    worker_t *worker = s_worker_of (self, request);
    if (!worker) {
        worker = (worker_t *) zmalloc (sizeof (worker_t));
        assert (worker);
        worker->identity_size = zmq_msg_size (&request->identity);
        if (worker->identity_size > sizeof (worker->identity))
            worker->identity_size = sizeof (worker->identity);
        memcpy (worker->identity, zmq_msg_data (&request->identity), worker->identity_size);
        s_worker_id (worker->identity, worker->identity_size, worker->id);
        zhashx_insert (self->worker_map, worker->id, worker);
    }
    else
        s_worker_detach (self, worker);
    worker->seen_ms = zeb_outbox_now_ms ();
    worker->credit = (size_t) credit;
    const char *name;
    size_t name_len;
    if (zeb_proto_get_str (request->body, request->body_size, "name", &name, &name_len) == 0)
        snprintf (worker->name, sizeof (worker->name), "%.*s", (int) (name_len > 63? 63: name_len), name);
    for (uint32_t index = 0; index < count; index++) {
        kind_t *kind = kinds [index];
        if (kind->worker_count < sizeof (kind->workers) / sizeof (kind->workers [0])) {
            kind->workers [kind->worker_count++] = worker;
            worker->kinds [worker->kind_count++] = kind;
        }
    }
    for (uint32_t index = 0; index < worker->kind_count; index++)
        zeb_outbox_dispatch (self, worker->kinds [index]);
}

static void
s_handle_result (void *owner, zeb_request_t *request)
{
    self_t *self = (self_t *) owner;
    worker_t *worker = s_worker_of (self, request);
    const char *id, *status;
    size_t id_len, status_len;
    if (zeb_proto_get_str (request->body, request->body_size, "id", &id, &id_len) != 0
    ||  zeb_proto_get_str (request->body, request->body_size, "status", &status, &status_len) != 0
    ||  id_len >= 96) {
        self->bad_results++;
        zeb_router_nack (request, ZEB_EINVALID, "RESULT needs id and status (ok, retry or fail)");
        return;
    }
    zeb_job_status_t outcome;
    if (status_len == 2 && memcmp (status, "ok", 2) == 0)
        outcome = ZEB_JOB_OK;
    else
    if (status_len == 5 && memcmp (status, "retry", 5) == 0)
        outcome = ZEB_JOB_RETRY;
    else
    if (status_len == 4 && memcmp (status, "fail", 4) == 0)
        outcome = ZEB_JOB_FAIL;
    else {
        self->bad_results++;
        zeb_router_nack (request, ZEB_EINVALID, "RESULT status must be ok, retry or fail");
        return;
    }
    char job [96];
    memcpy (job, id, id_len);
    job [id_len] = 0;
    item_t *item = (item_t *) zhashx_lookup (self->jobs, job);
    if (!item || item->worker != worker) {
        //  Its lease expired, or we restarted: it was or will be tried again
        self->stale_results++;
        if (worker && worker->in_flight)
            worker->in_flight--;
        if (worker)
            for (uint32_t index = 0; index < worker->kind_count; index++)
                zeb_outbox_dispatch (self, worker->kinds [index]);
        return;
    }
    char error [ZEB_EXECUTOR_MAX_ERROR + 1] = "";
    const char *text;
    size_t text_len;
    if (zeb_proto_get_str (request->body, request->body_size, "error", &text, &text_len) == 0)
        zeb_router_escape (text, text_len, error, sizeof (error));
    int64_t code = 0, retry_after = 0;
    zeb_proto_get_int (request->body, request->body_size, "code", &code);
    zeb_proto_get_int (request->body, request->body_size, "retryAfterMs", &retry_after);
    if (retry_after < 0 || retry_after > 86400000LL * 7)
        retry_after = 0;
    bool gone = false;
    zeb_proto_get_bool (request->body, request->body_size, "gone", &gone);
    const uint8_t *result = NULL;
    size_t result_size = 0;
    zeb_mpk_t value;
    if (zeb_mpk_find (request->body, request->body_size, "result", &value) == 0)
        zeb_mpk_skip (&value, &result, &result_size);
    if (outcome != ZEB_JOB_OK && !*error)
        snprintf (error, sizeof (error), "%s", outcome == ZEB_JOB_FAIL? "failed": "failed, may work later");
    zeb_outbox_attempt_ended (self, item, outcome, false, (int) code, error, result, result_size,
                     retry_after, gone && outcome == ZEB_JOB_FAIL);
    for (uint32_t index = 0; worker && index < worker->kind_count; index++)
        zeb_outbox_dispatch (self, worker->kinds [index]);
}

static void
s_handle_ping (void *owner, zeb_request_t *request)
{
    self_t *self = (self_t *) owner;
    worker_t *worker = s_worker_of (self, request);
    msgpack_sbuffer *buffer = zeb_router_buffer (self->workers);
    zeb_pack_t pack;
    zeb_pack_init (&pack, buffer);
    zeb_pack_map (&pack, NULL);
    zeb_pack_bool (&pack, "known", worker != NULL);
    zeb_pack_end (&pack);
    zeb_router_reply_buffer (request, "PONG", buffer);
}

static void
s_handle_bye (void *owner, zeb_request_t *request)
{
    self_t *self = (self_t *) owner;
    worker_t *worker = s_worker_of (self, request);
    if (worker)
        s_worker_gone (self, worker, "worker left");
}

static const zeb_router_command_t s_worker_commands [] = {
    { "READY",  s_handle_ready, 0 },
    { "RESULT", s_handle_result, 0 },
    { "PING",   s_handle_ping, 0 },
    { "BYE",    s_handle_bye, 0 },
    { NULL }
};

static void
s_worker_destructor (void **worker_p)
{
    free (*worker_p);
    *worker_p = NULL;
}

//  ---------------------------------------------------------------------
//  ENQUEUE (the other verbs are in zeb_outbox_admin.c)

void
zeb_outbox_handle_enqueue (void *owner, zeb_request_t *request)
{
    self_t *self = (self_t *) owner;
    zeb_mpk_t runs;
    uint32_t count;
    if (zeb_mpk_find (request->body, request->body_size, "runs", &runs)
    ||  zeb_mpk_read_array (&runs, &count) || count == 0) {
        self->refused++;
        zeb_router_nack (request, ZEB_EINVALID, "ENQUEUE needs runs: an array of 1..%" PRId64 " runs",
                         self->max_enqueue);
        return;
    }
    if (count > self->max_enqueue) {
        self->refused++;
        zeb_router_nack (request, ZEB_ETOOBIG, "%u runs: ENQUEUE takes at most %" PRId64, count, self->max_enqueue);
        return;
    }
    if ((int64_t) (zhashx_size (self->items) + count) > self->max_runs) {
        self->refused++;
        zeb_router_nack (request, ZEB_EOVERLOADED, "outbox holds %zu unfinished runs (outbox/max_runs %" PRId64 ")",
                         zhashx_size (self->items), self->max_runs);
        return;
    }
    //  A producer's cursor, stored with its runs: enqueue and cursor become
    //  durable together, so a producer restarted from its cursor enqueues
    //  nothing twice and misses nothing
    char cursor [160] = "";
    uint64_t position = 0;
    zeb_mpk_t found;
    if (zeb_mpk_find (request->body, request->body_size, "cursor", &found) == 0) {
        const uint8_t *span;
        size_t span_size;
        const char *name;
        size_t name_len;
        if (zeb_mpk_skip (&found, &span, &span_size)
        ||  zeb_proto_get_str (span, span_size, "name", &name, &name_len) != 0
        ||  name_len == 0 || name_len > 128
        ||  zeb_proto_get_uint (span, span_size, "position", &position) != 0) {
            self->refused++;
            zeb_router_nack (request, ZEB_EINVALID, "cursor must be {name: 1..128 bytes, position: uint}");
            return;
        }
        snprintf (cursor, sizeof (cursor), "cursor/%.*s", (int) name_len, name);
    }
    //  Parse every run first: one bad run refuses the request
    zeb_run_t **parsed = (zeb_run_t **) zmalloc (count * sizeof (zeb_run_t *));
    assert (parsed);
    for (uint32_t index = 0; index < count; index++) {
        const uint8_t *span;
        size_t span_size;
        zeb_fault_t fault = { 0 };
        if (zeb_mpk_skip (&runs, &span, &span_size) == 0)
            parsed [index] = zeb_run_parse (span, span_size, &self->policy, &fault);
        if (!parsed [index]) {
            self->refused++;
            zeb_router_nack_with (request, fault.code? fault.code: ZEB_EMALFORMED, index, NULL, 0, 0,
                                  fault.text);
            for (uint32_t other = 0; other < index; other++)
                zeb_run_destroy (&parsed [other]);
            free (parsed);
            return;
        }
    }
    reply_t *reply = (reply_t *) zmalloc (sizeof (reply_t));
    assert (reply);
    msgpack_sbuffer_init (&reply->body);
    reply->items = zlistx_new ();
    zeb_pack_t pack;
    zeb_pack_init (&pack, &reply->body);
    zeb_pack_map (&pack, NULL);
    zeb_pack_array (&pack, "ids");
    for (uint32_t index = 0; index < count; index++)
        zeb_pack_str (&pack, NULL, parsed [index]->hex);
    zeb_pack_end (&pack);
    zeb_pack_array (&pack, "new");
    MDB_txn *txn = NULL;
    zeb_lmdb_read_begin (self->lmdb, &txn);
    int64_t now = zeb_time_now ();
    for (uint32_t index = 0; index < count; index++) {
        zeb_run_t *run = parsed [index];
        //  In hand, finished but not stored yet, or stored
        bool known = zhashx_lookup (self->items, run->hex) || zhashx_lookup (self->settling, run->hex);
        if (!known && txn) {
            MDB_val key = { ZEB_RUN_ID_SIZE, run->id }, value;
            known = mdb_get (txn, self->dbs [S_RUNS], &key, &value) == 0;
        }
        zeb_pack_bool (&pack, NULL, !known);
        if (known) {
            self->duplicates++;
            zeb_run_destroy (&run);
            continue;
        }
        run->created = run->updated = now;
        item_t *item = (item_t *) zmalloc (sizeof (item_t));
        assert (item);
        item->run = run;
        item->fresh = true;
        zhashx_insert (self->items, run->hex, item);
        zeb_outbox_dirty (self, item);
        zlistx_add_end (reply->items, item);
        self->enqueued++;
    }
    if (txn)
        zeb_lmdb_read_end (self->lmdb, txn);
    free (parsed);
    if (*cursor) {
        uint8_t stored [8];
        zeb_outbox_be64 (stored, position);
        zeb_outbox_op (self, S_META, cursor, strlen (cursor), stored, sizeof (stored));
    }
    zeb_pack_end (&pack);
    zeb_pack_end (&pack);
    reply->request = zeb_router_keep_reply (request);
    reply->command = "ENQUEUED";
    zlistx_add_end (self->replies, reply);
}

//  ---------------------------------------------------------------------
//  Upkeep: lost workers, runs without executors, idle lanes, and the
//  retention sweep (zeb_outbox_store.c)

//  Lanes and circuits that hold nothing are forgotten (a flow key per
//  customer must not grow memory for ever)
static void
s_collect_idle (self_t *self)
{
    zlistx_t *idle = zlistx_new ();
    for (lane_t *lane = (lane_t *) zhashx_first (self->lanes); lane; lane = (lane_t *) zhashx_next (self->lanes))
        if (!lane->head && !lane->in_flight && !lane->delayed && !lane->active
        &&  !lane->token_timer && !lane->fifo_busy)
            zlistx_add_end (idle, lane);
    if (zlistx_size (idle)) {
        for (circuit_t *circuit = (circuit_t *) zhashx_first (self->circuits); circuit;
             circuit = (circuit_t *) zhashx_next (self->circuits))
            for (lane_t *lane = (lane_t *) zlistx_first (idle); lane; lane = (lane_t *) zlistx_next (idle)) {
                void *handle = zlistx_find (circuit->parked, lane);
                if (handle)
                    zlistx_delete (circuit->parked, handle);
            }
        for (lane_t *lane = (lane_t *) zlistx_first (idle); lane; lane = (lane_t *) zlistx_next (idle))
            zhashx_delete (self->lanes, lane->name);
    }
    zlistx_purge (idle);
    for (circuit_t *circuit = (circuit_t *) zhashx_first (self->circuits); circuit;
         circuit = (circuit_t *) zhashx_next (self->circuits))
        if (circuit->state == S_CLOSED && circuit->failure_count == 0 && !circuit->probing
        &&  zlistx_size (circuit->parked) == 0 && zlistx_size (circuit->redrive) == 0)
            zlistx_add_end (idle, circuit);
    for (circuit_t *circuit = (circuit_t *) zlistx_first (idle); circuit; circuit = (circuit_t *) zlistx_next (idle))
        zhashx_delete (self->circuits, circuit->target);
    zlistx_destroy (&idle);
}

static void
s_upkeep (self_t *self)
{
    int64_t now = zeb_outbox_now_ms ();
    //  Workers silent too long
    zlistx_t *silent = zlistx_new ();
    for (worker_t *worker = (worker_t *) zhashx_first (self->worker_map); worker;
         worker = (worker_t *) zhashx_next (self->worker_map))
        if (now - worker->seen_ms > self->worker_expiry_ms)
            zlistx_add_end (silent, worker);
    for (worker_t *worker = (worker_t *) zlistx_first (silent); worker; worker = (worker_t *) zlistx_next (silent))
        s_worker_gone (self, worker, "worker silent");
    zlistx_destroy (&silent);
    //  Runs whose action type has had no executor for too long
    for (size_t index = 0; index < self->kind_count; index++) {
        kind_t *kind = self->kinds [index];
        if (kind->worker_count || kind->waiting == 0)
            continue;
        zlistx_t *late = zlistx_new ();
        for (lane_t *lane = (lane_t *) zhashx_first (self->lanes); lane; lane = (lane_t *) zhashx_next (self->lanes))
            if (lane->kind == kind)
                for (item_t *item = lane->head; item; item = item->next)
                    if (now - item->queued_ms > self->no_executor_ms)
                        zlistx_add_end (late, item);
        for (item_t *item = (item_t *) zlistx_first (late); item; item = (item_t *) zlistx_next (late)) {
            lane_t *lane = item->lane;
            zeb_outbox_lane_unlink (lane, item);
            item->where = S_NOWHERE;
            zeb_run_t *run = item->run;
            run->actions [run->current].state = ZEB_ACTION_FAILED;
            snprintf (run->error, sizeof (run->error), "no executor for action type %s", kind->name);
            snprintf (run->dead_target, sizeof (run->dead_target), "%s", run->actions [run->current].target);
            zeb_outbox_dead_letter (self, item, "NO_EXECUTOR");
            zeb_outbox_lane_check (self, lane);
        }
        zlistx_destroy (&late);
    }
    s_collect_idle (self);
    zeb_outbox_sweep (self);
}

static int s_handle_client (void *arg);

//  The node's own events, through ingest
static void
s_publish_pending (self_t *self)
{
    if (!self->client) {
        zeb_event_t *event;
        while ((event = (zeb_event_t *) zlistx_detach (self->publish, NULL))) {
            zeb_event_destroy (&event);
            self->events_dropped++;
        }
        return;
    }
    if (zeb_outbox_now_ms () < self->client_retry_ms)
        return;
    zeb_event_t *event;
    while ((event = (zeb_event_t *) zlistx_first (self->publish))) {
        if (zeb_client_pending (self->client) >= 1000)
            break;
        if (zeb_client_publish_async (self->client, event, NULL, NULL)) {
            self->client_retry_ms = zeb_outbox_now_ms () + 5000;     //  ingest unreachable: later
            break;
        }
        zlistx_detach (self->publish, NULL);
        zeb_event_destroy (&event);
        self->events_published++;
        if (!self->client_in_loop && zeb_client_socket (self->client)) {
            //  Connected: its acks are read by the loop from now on
            zeb_loop_add_socket (zeb_actor_loop (self->actor), zeb_client_socket (self->client),
                                 s_handle_client, self);
            self->client_in_loop = true;
        }
    }
}

static int
s_handle_client (void *arg)
{
    self_t *self = (self_t *) arg;
    zeb_client_poll (self->client, 0);
    return 0;
}

//  Timers due, then the turn's writes; returns the longest wait
static int
s_tick (void *arg)
{
    self_t *self = (self_t *) arg;
    int64_t now = zeb_outbox_now_ms ();
    while (self->heap_size && self->heap [0].due <= now) {
        timer_t_ timer = zeb_outbox_timer_pop (self);
        item_t *item = timer.item;
        if (timer.what == S_TIMER_TOKEN) {
            if (timer.lane) {
                timer.lane->token_timer = false;
                zeb_outbox_lane_check (self, timer.lane);
            }
            else            //  a circuit's recovery: let its lanes try
                for (circuit_t *circuit = (circuit_t *) zhashx_first (self->circuits); circuit;
                     circuit = (circuit_t *) zhashx_next (self->circuits))
                    if (circuit->state == S_OPEN && now - circuit->opened_ms >= self->recovery_ms)
                        zeb_outbox_circuit_release (self, circuit);
            continue;
        }
        item->timers--;
        if (item->where == S_FINISHED) {
            if (item->timers == 0 && !item->dirty)
                zeb_outbox_item_free (item);
            continue;
        }
        if (timer.gen != item->gen)
            continue;
        if (timer.what == S_TIMER_DUE && item->where == S_DELAYED) {
            lane_t *lane = item->lane;
            lane->delayed--;
            if (lane->fifo)
                lane->fifo_busy = false;        //  it goes first again
            zeb_outbox_lane_push (self, lane, item, lane->fifo);
            zeb_outbox_lane_check (self, lane);
        }
        else
        if (timer.what == S_TIMER_LEASE && item->where == S_IN_FLIGHT) {
            self->leases_lost++;
            zeb_outbox_attempt_ended (self, item, ZEB_JOB_RETRY, true, 0, "lease expired: no result within the timeout",
                             NULL, 0, 0, false);
        }
    }
    if (now >= self->next_sweep_ms) {
        self->next_sweep_ms = now + self->upkeep_ms;
        s_upkeep (self);
    }
    int64_t redrive_wait = zeb_outbox_redrive_step (self);
    zeb_outbox_commit (self);
    s_publish_pending (self);
    int64_t wait = self->heap_size? self->heap [0].due - zeb_outbox_now_ms (): 1000;
    if (redrive_wait >= 0 && redrive_wait < wait)
        wait = redrive_wait;
    if (self->next_sweep_ms - now < wait)
        wait = self->next_sweep_ms - now;
    if (zlistx_size (self->publish) && self->client)
        wait = wait > 100? 100: wait;
    int64_t commit_wait = zeb_outbox_commit_wait (self);
    if (commit_wait >= 0 && commit_wait < wait)
        wait = commit_wait;
    return wait < 0? 0: (int) wait;
}

//  ---------------------------------------------------------------------
//  The actor

static int
s_handle_front (void *arg)
{
    self_t *self = (self_t *) arg;
    return zeb_router_handle (self->router, 256);
}

static int
s_handle_workers (void *arg)
{
    self_t *self = (self_t *) arg;
    return zeb_router_handle (self->workers, 1024);
}

static int
s_handle_workers_notify (void *arg)
{
    self_t *self = (self_t *) arg;
    return zeb_router_handle_notify (self->workers);
}

static void
s_stop (void *state)
{
    self_t *self = (self_t *) state;
    //  Executors first: they say BYE while we still listen? No: stop them,
    //  their jobs are lost attempts, retried after a restart.
    for (size_t index = 0; index < self->executor_count; index++)
        zactor_destroy (&self->executors [index]);
    zeb_outbox_committer_stop (self);       //  after storing what is left
    zeb_client_destroy (&self->client);
    if (self->publish) {
        zeb_event_t *event;
        while ((event = (zeb_event_t *) zlistx_detach (self->publish, NULL)))
            zeb_event_destroy (&event);
        zlistx_destroy (&self->publish);
    }
    if (self->replies) {
        reply_t *reply;
        while ((reply = (reply_t *) zlistx_detach (self->replies, NULL)))
            zeb_outbox_reply_destroy (&reply);
        zlistx_destroy (&self->replies);
    }
    if (self->ops) {
        op_t *op;
        while ((op = (op_t *) zlistx_detach (self->ops, NULL)))
            zeb_outbox_op_destroy (&op);
        zlistx_destroy (&self->ops);
    }
    //  Items are owned by the items hash, or by the finished list
    if (self->finished) {
        item_t *item;
        while ((item = (item_t *) zlistx_detach (self->finished, NULL))) {
            if (item->timers == 0)
                zeb_outbox_item_free (item);
        }
        zlistx_destroy (&self->finished);
    }
    zlistx_destroy (&self->dirty);
    zhashx_destroy (&self->settling);           //  its items are the finished list's
    if (self->items) {
        //  Items in hand (finished ones left with the finished list)
        for (item_t *item = (item_t *) zhashx_first (self->items); item;
             item = (item_t *) zhashx_next (self->items)) {
            if (item->timers)
                item->where = S_FINISHED;   //  freed with the heap below
            else
                zeb_outbox_item_free (item);
        }
        zhashx_destroy (&self->items);
    }
    zhashx_destroy (&self->jobs);
    zhashx_destroy (&self->lanes);
    zhashx_destroy (&self->circuits);
    zhashx_destroy (&self->worker_map);
    zhashx_destroy (&self->gone);
    zhashx_destroy (&self->log_counts);
    zhashx_destroy (&self->replays);
    for (size_t index = 0; index < self->kind_count; index++)
        free (self->kinds [index]);
    //  Finished items with timers left are freed with the heap
    for (size_t index = 0; index < self->heap_size; index++) {
        item_t *item = self->heap [index].item;
        if (item && item->where == S_FINISHED && --item->timers == 0)
            zeb_outbox_item_free (item);
    }
    free (self->heap);
    zeb_router_destroy (&self->router);
    zeb_router_destroy (&self->workers);
    zeb_lmdb_close (&self->lmdb);
    msgpack_sbuffer_destroy (&self->scratch);
}

static void
s_free_destructor (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

static int
s_start_executors (self_t *self, zconfig_t *config, const char *endpoint, zeb_fault_t *fault);

static int
s_start (void *state, zeb_actor_t *actor, zconfig_t *config, zeb_fault_t *fault)
{
    self_t *self = (self_t *) state;
    self->actor = actor;
    msgpack_sbuffer_init (&self->scratch);
    int64_t retries = 0, factor = 2;
    bool flag = false;
    zeb_config_int (config, "outbox/max_retries", &retries);
    self->policy.max_attempts = (uint32_t) retries + 1;
    zeb_config_duration (config, "outbox/backoff", &self->policy.backoff_ms);
    zeb_config_bool (config, "outbox/exponential_backoff", &flag);
    self->policy.exponential = flag;
    zeb_config_int (config, "outbox/backoff_factor", &factor);
    self->policy.factor = (uint32_t) factor;
    zeb_config_duration (config, "outbox/max_backoff", &self->policy.max_backoff_ms);
    zeb_config_bool (config, "outbox/backoff_jitter", &flag);
    self->policy.jitter = flag;
    zeb_config_duration (config, "outbox/timeout", &self->policy.timeout_ms);
    zeb_config_duration (config, "outbox/lease_grace", &self->lease_grace_ms);
    zeb_config_duration (config, "outbox/worker_expiry", &self->worker_expiry_ms);
    zeb_config_bool (config, "outbox/circuit", &self->circuits_on);
    zeb_config_int (config, "outbox/circuit_threshold", &self->threshold);
    zeb_config_duration (config, "outbox/circuit_window", &self->window_ms);
    zeb_config_duration (config, "outbox/circuit_recovery", &self->recovery_ms);
    zeb_config_bool (config, "outbox/redrive", &self->redrive_on);
    zeb_config_int (config, "outbox/redrive_rate", &self->redrive_rate);
    zeb_config_duration (config, "outbox/no_executor_timeout", &self->no_executor_ms);
    zeb_config_int (config, "outbox/max_runs", &self->max_runs);
    zeb_config_int (config, "outbox/max_enqueue", &self->max_enqueue);
    zeb_config_duration (config, "outbox/retention", &self->retention_ms);
    zeb_config_duration (config, "outbox/log_retention", &self->log_retention_ms);
    zeb_config_int (config, "outbox/log_max", &self->log_max);
    zeb_config_duration (config, "outbox/upkeep_interval", &self->upkeep_ms);
    uint64_t max_size = 0;
    zeb_config_size (config, "outbox/max_size", &max_size);

    self->items = zhashx_new ();
    self->jobs = zhashx_new ();
    self->lanes = zhashx_new ();
    zhashx_set_destructor (self->lanes, s_free_destructor);
    self->circuits = zhashx_new ();
    zhashx_set_destructor (self->circuits, zeb_outbox_circuit_destructor);
    self->worker_map = zhashx_new ();
    zhashx_set_destructor (self->worker_map, s_worker_destructor);
    self->gone = zhashx_new ();
    self->log_counts = zhashx_new ();
    self->replays = zhashx_new ();
    zhashx_set_destructor (self->replays, s_free_destructor);
    self->dirty = zlistx_new ();
    self->settling = zhashx_new ();
    self->finished = zlistx_new ();
    self->replies = zlistx_new ();
    self->ops = zlistx_new ();
    self->publish = zlistx_new ();

    zeb_lmdb_options_t options = { 16 << 20, max_size, { ZEB_OUTBOX_DBS, NULL } };
    char *path = zsys_sprintf ("%s/outbox", zeb_config_str (config, "node/data"));
    self->lmdb = zeb_lmdb_open (path, &options, fault);
    zstr_free (&path);
    if (!self->lmdb)
        goto failed;
    for (int index = 0; index < S_DB_COUNT; index++)
        self->dbs [index] = zeb_lmdb_dbi (self->lmdb, index);

    self->router = zeb_actor_router (actor, zeb_outbox_commands, self);
    if (!self->router || zeb_router_bind (self->router, zeb_config_str (config, "outbox/endpoint"), fault))
        goto failed;
    self->workers = zeb_router_new ("outbox-workers", s_worker_commands, self);
    if (self->workers)      //  the workers' credit bounds what is queued to them
        zsock_set_sndhwm (zeb_router_socket (self->workers), 0);
    if (!self->workers
    ||  zeb_router_set_notify (self->workers, s_workers_gone, self)
    ||  zeb_router_bind (self->workers, zeb_config_str (config, "outbox/workers"), fault))
        goto failed;
    //  The node's own executors connect over inproc
    char *inproc = zeb_actor_inproc ("outbox-workers");
    if (zsock_bind (zeb_router_socket (self->workers), "%s", inproc) == -1) {
        zeb_fault_set (fault, ZEB_ECONFIG, "outbox: cannot bind %s", inproc);
        zstr_free (&inproc);
        goto failed;
    }
    zeb_loop_t *loop = zeb_actor_loop (actor);
    zeb_loop_add_socket (loop, zeb_router_socket (self->router), s_handle_front, self);
    zeb_loop_add_socket (loop, zeb_router_socket (self->workers), s_handle_workers, self);
    if (zeb_router_notify_socket (self->workers))
        zeb_loop_add_socket (loop, zeb_router_notify_socket (self->workers), s_handle_workers_notify, self);
    if (zeb_outbox_committer_start (self, loop, fault)) {
        zstr_free (&inproc);
        goto failed;
    }
    const char *ingest = zeb_config_str (config, "outbox/ingest");
    if (*ingest) {
        self->client = zeb_client_new (ingest);
        if (!self->client) {
            zeb_fault_set (fault, ZEB_ECONFIG, "outbox: outbox/ingest %s is not an endpoint", ingest);
            zstr_free (&inproc);
            goto failed;
        }
        zeb_client_set_timeout (self->client, 1000);
    }
    if (zeb_outbox_recover (self)) {
        zeb_fault_set (fault, ZEB_ESTORAGE, "outbox: cannot read its store");
        zstr_free (&inproc);
        goto failed;
    }
    if (s_start_executors (self, config, inproc, fault)) {
        zstr_free (&inproc);
        goto failed;
    }
    zstr_free (&inproc);
    zeb_loop_set_tick (loop, s_tick, self);
    zeb_actor_bound (actor, "outbox", zeb_router_endpoint (self->router));
    zeb_actor_bound (actor, "workers", zeb_router_endpoint (self->workers));
    zeb_info ("outbox: %s, workers on %s", zeb_router_endpoint (self->router),
              zeb_router_endpoint (self->workers));
    return 0;
failed:
    return fault->code? fault->code: ZEB_ERROR;
}

static void
s_stats (void *state, zeb_pack_t *pack)
{
    self_t *self = (self_t *) state;
    zeb_pack_uint (pack, "runs", zhashx_size (self->items));
    zeb_pack_uint (pack, "in_flight", zhashx_size (self->jobs));
    zeb_pack_uint (pack, "enqueued", self->enqueued);
    zeb_pack_uint (pack, "duplicates", self->duplicates);
    zeb_pack_uint (pack, "refused", self->refused);
    zeb_pack_uint (pack, "dispatched", self->dispatched);
    zeb_pack_uint (pack, "succeeded", self->succeeded);
    zeb_pack_uint (pack, "retried", self->retried);
    zeb_pack_uint (pack, "failed", self->failed);
    zeb_pack_uint (pack, "leases_lost", self->leases_lost);
    zeb_pack_uint (pack, "dead", self->dead);
    zeb_pack_uint (pack, "gone_dead", self->gone_dead);
    zeb_pack_uint (pack, "replayed", self->replayed);
    zeb_pack_uint (pack, "redriven", self->redriven);
    zeb_pack_uint (pack, "purged", self->purged);
    zeb_pack_uint (pack, "deferred_open", self->deferred_open);
    zeb_pack_uint (pack, "commits", self->commits);
    zeb_pack_uint (pack, "commit_failures", self->commit_failures);
    zeb_pack_uint (pack, "stale_results", self->stale_results);
    zeb_pack_uint (pack, "bad_results", self->bad_results);
    zeb_pack_uint (pack, "logs_written", self->logs_written);
    zeb_pack_uint (pack, "events_published", self->events_published);
    zeb_pack_uint (pack, "events_dropped", self->events_dropped);
    zeb_pack_uint (pack, "map_size", zeb_lmdb_map_size (self->lmdb));
    zeb_pack_map (pack, "actions");
    for (size_t index = 0; index < self->kind_count; index++) {
        kind_t *kind = self->kinds [index];
        zeb_pack_map (pack, kind->name);
        zeb_pack_uint (pack, "workers", kind->worker_count);
        zeb_pack_uint (pack, "waiting", kind->waiting);
        zeb_pack_end (pack);
    }
    zeb_pack_end (pack);
    zeb_pack_map (pack, "circuits");
    static const char *states [] = { "closed", "open", "half_open" };
    for (circuit_t *circuit = (circuit_t *) zhashx_first (self->circuits); circuit;
         circuit = (circuit_t *) zhashx_next (self->circuits)) {
        if (circuit->state == S_CLOSED && circuit->opens == 0)
            continue;
        zeb_pack_map (pack, circuit->target);
        zeb_pack_str (pack, "state", states [circuit->state]);
        zeb_pack_uint (pack, "opens", circuit->opens);
        zeb_pack_uint (pack, "closes", circuit->closes);
        zeb_pack_uint (pack, "redrive_pending", zlistx_size (circuit->redrive));
        zeb_pack_end (pack);
    }
    zeb_pack_end (pack);
    zeb_pack_uint (pack, "gone_targets", zhashx_size (self->gone));
    zeb_router_pack_stats (self->router, pack);
}

static const zeb_actor_link_t s_links [] = {
    { "outbox/ingest", "ingest" },
    { "emit_event/ingest", "ingest" },      //  its executor's
    { NULL }
};

const zeb_actor_def_t zeb_outbox_def = {
    "outbox", "durable runs: actions performed with retries, circuits, flow control, DLQ", true,
    zeb_outbox_config, s_links, sizeof (self_t), s_start, s_stop, s_stats, NULL
};

//  The built-in executors named by outbox/executors, each in its own
//  host thread, connected to the workers ROUTER over inproc
static int
s_start_executors (self_t *self, zconfig_t *config, const char *endpoint, zeb_fault_t *fault)
{
    char *names = strdup (zeb_config_str (config, "outbox/executors"));
    assert (names);
    int rc = 0;
    char *save = NULL;
    for (char *name = strtok_r (names, ", ", &save); name && rc == 0; name = strtok_r (NULL, ", ", &save)) {
        const zeb_executor_def_t *def = zeb_executor_lookup (name);
        if (!def) {
            rc = zeb_fault_set (fault, ZEB_ECONFIG, "outbox/executors: no executor '%s'", name);
            break;
        }
        if (self->executor_count == sizeof (self->executors) / sizeof (self->executors [0])) {
            rc = zeb_fault_set (fault, ZEB_ECONFIG, "outbox/executors: more than 16");
            break;
        }
        zeb_executor_args_t args = { def, endpoint, NULL, NULL, NULL, 0 };
        self->executors [self->executor_count] = zeb_executor_start (&args, config, fault);
        if (!self->executors [self->executor_count]) {
            rc = fault->code? fault->code: ZEB_ECONFIG;
            break;
        }
        self->executor_count++;
    }
    free (names);
    return rc;
}
