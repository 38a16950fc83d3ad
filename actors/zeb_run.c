/*  =========================================================================
    zeb_run - one outbox run: parse, store record, description, delays
    =========================================================================
*/

#include "zeb_actors.h"

//  A msgpack string into a terminated buffer; -1 if not a string or too long
static int
s_read_str (zeb_mpk_t *mpk, char *out, size_t size)
{
    const char *str;
    uint32_t len;
    if (zeb_mpk_read_str (mpk, &str, &len) || len >= size)
        return -1;
    memcpy (out, str, len);
    out [len] = 0;
    return 0;
}

static bool
s_key_is (const char *key, uint32_t len, const char *name)
{
    return strlen (name) == len && memcmp (key, name, len) == 0;
}

static void *
s_copy (const void *data, size_t size)
{
    void *copy = malloc (size? size: 1);
    assert (copy);
    memcpy (copy, data, size);
    return copy;
}

//  ---------------------------------------------------------------------
//  Policies

//  Svix's schedule: immediately, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h
static const int64_t s_svix [] = { 5000, 300000, 1800000, 7200000, 18000000, 36000000, 36000000 };

int
zeb_policy_parse (zeb_policy_t *policy, const uint8_t *data, size_t size, zeb_fault_t *fault)
{
    zeb_mpk_t mpk;
    zeb_mpk_init (&mpk, data, size);
    uint32_t count;
    if (zeb_mpk_read_map (&mpk, &count))
        return zeb_fault_set (fault, ZEB_EINVALID, "retryPolicy is not a map");
    for (uint32_t index = 0; index < count; index++) {
        const char *key;
        uint32_t len;
        if (zeb_mpk_read_str (&mpk, &key, &len))
            return zeb_fault_set (fault, ZEB_EMALFORMED, "retryPolicy has a key that is not a string");
        int64_t number = 0;
        bool flag = false;
        int rc = 0;
        if (s_key_is (key, len, "maxAttempts")) {
            rc = zeb_mpk_read_int (&mpk, &number) || number < 1 || number > 1000;
            policy->max_attempts = (uint32_t) number;
        }
        else
        if (s_key_is (key, len, "maxRetries")) {
            rc = zeb_mpk_read_int (&mpk, &number) || number < 0 || number > 999;
            policy->max_attempts = (uint32_t) number + 1;
        }
        else
        if (s_key_is (key, len, "backoffMs")) {
            rc = zeb_mpk_read_int (&mpk, &number) || number < 0 || number > 86400000LL * 7;
            policy->backoff_ms = number;
        }
        else
        if (s_key_is (key, len, "maxBackoffMs")) {
            rc = zeb_mpk_read_int (&mpk, &number) || number < 0 || number > 86400000LL * 7;
            policy->max_backoff_ms = number;
        }
        else
        if (s_key_is (key, len, "timeout")) {
            rc = zeb_mpk_read_int (&mpk, &number) || number < 1 || number > 3600000;
            policy->timeout_ms = number;
        }
        else
        if (s_key_is (key, len, "factor")) {
            rc = zeb_mpk_read_int (&mpk, &number) || number < 1 || number > 10;
            policy->factor = (uint32_t) number;
        }
        else
        if (s_key_is (key, len, "exponentialBackoff")) {
            rc = zeb_mpk_read_bool (&mpk, &flag);
            policy->exponential = flag;
        }
        else
        if (s_key_is (key, len, "jitter")) {
            rc = zeb_mpk_read_bool (&mpk, &flag);
            policy->jitter = flag;
        }
        else
        if (s_key_is (key, len, "schedule")) {
            if (zeb_mpk_peek (&mpk) == ZEB_MPK_STR) {
                char name [16];
                rc = s_read_str (&mpk, name, sizeof (name)) || !streq (name, "svix");
                if (!rc) {
                    policy->schedule_count = sizeof (s_svix) / sizeof (s_svix [0]);
                    memcpy (policy->schedule, s_svix, sizeof (s_svix));
                    policy->max_attempts = policy->schedule_count + 1;
                }
            }
            else {
                uint32_t delays;
                rc = zeb_mpk_read_array (&mpk, &delays) || delays == 0
                  || delays > ZEB_OUTBOX_MAX_SCHEDULE;
                for (uint32_t step = 0; !rc && step < delays; step++) {
                    rc = zeb_mpk_read_int (&mpk, &number) || number < 0 || number > 86400000LL * 7;
                    policy->schedule [step] = number;
                }
                if (!rc) {
                    policy->schedule_count = delays;
                    policy->max_attempts = delays + 1;
                }
            }
        }
        else
            rc = zeb_mpk_skip (&mpk, NULL, NULL);
        if (rc)
            return zeb_fault_set (fault, ZEB_EINVALID, "retryPolicy.%.*s is not valid"
                                  " (maxAttempts 1..1000, delays 0..7 days in ms, timeout 1..3600000 ms,"
                                  " factor 1..10, schedule a list of 1..16 delays or \"svix\")",
                                  (int) (len > 32? 32: len), key);
    }
    return 0;
}

int64_t
zeb_policy_delay (const zeb_policy_t *policy, uint32_t attempt, int64_t retry_after_ms,
                  double random)
{
    double delay;
    if (policy->schedule_count)
        delay = (double) policy->schedule [attempt > policy->schedule_count?
                                           policy->schedule_count - 1: attempt - 1];
    else {
        delay = (double) policy->backoff_ms;
        if (policy->exponential)
            for (uint32_t step = 1; step < attempt && delay < 1e12; step++)
                delay *= policy->factor? policy->factor: 2;
        if (policy->max_backoff_ms && delay > (double) policy->max_backoff_ms)
            delay = (double) policy->max_backoff_ms;
    }
    if (policy->jitter)
        delay = delay / 2 + delay / 2 * random;
    int64_t result = (int64_t) delay;
    return result < retry_after_ms? retry_after_ms: result;
}

//  ---------------------------------------------------------------------
//  Parsing an ENQUEUE run

static int
s_parse_action (zeb_action_t *action, const uint8_t *data, size_t size,
                const zeb_policy_t *policy, uint32_t index, zeb_fault_t *fault)
{
    action->policy = *policy;
    zeb_mpk_t mpk;
    zeb_mpk_init (&mpk, data, size);
    uint32_t count;
    if (zeb_mpk_read_map (&mpk, &count))
        return zeb_fault_set (fault, ZEB_EINVALID, "actions[%u] is not a map", index);
    for (uint32_t entry = 0; entry < count; entry++) {
        const char *key;
        uint32_t len;
        if (zeb_mpk_read_str (&mpk, &key, &len))
            return zeb_fault_set (fault, ZEB_EMALFORMED, "actions[%u] has a key that is not a string", index);
        int rc = 0;
        double number = 0;
        const uint8_t *span;
        size_t span_size;
        if (s_key_is (key, len, "type"))
            rc = s_read_str (&mpk, action->type, sizeof (action->type)) || !*action->type;
        else
        if (s_key_is (key, len, "config")) {
            rc = zeb_mpk_peek (&mpk) != ZEB_MPK_MAP || zeb_mpk_skip (&mpk, &span, &span_size);
            if (!rc) {
                free (action->config);
                action->config = s_copy (span, span_size);
                action->config_size = span_size;
            }
        }
        else
        if (s_key_is (key, len, "retryPolicy")) {
            if (zeb_mpk_skip (&mpk, &span, &span_size) == 0) {
                zeb_fault_t inner;
                if (zeb_policy_parse (&action->policy, span, span_size, &inner))
                    return zeb_fault_set (fault, ZEB_EINVALID, "actions[%u].%s", index, inner.text);
            }
            else
                rc = -1;
        }
        else
        if (s_key_is (key, len, "target"))
            rc = s_read_str (&mpk, action->target, sizeof (action->target)) || !*action->target;
        else
        if (s_key_is (key, len, "key"))
            rc = s_read_str (&mpk, action->key, sizeof (action->key)) || !*action->key;
        else
        if (s_key_is (key, len, "concurrency")) {
            rc = zeb_mpk_read_double (&mpk, &number) || number < 0 || number > 100000;
            action->concurrency = (uint32_t) number;
        }
        else
        if (s_key_is (key, len, "rate")) {
            rc = zeb_mpk_read_double (&mpk, &number) || !(number >= 0) || number > 1e7;
            action->rate = number;
        }
        else
        if (s_key_is (key, len, "burst")) {
            rc = zeb_mpk_read_double (&mpk, &number) || !(number >= 0) || number > 1e7;
            action->burst = number;
        }
        else
        if (s_key_is (key, len, "fifo"))
            rc = zeb_mpk_read_bool (&mpk, &action->fifo);
        else
            rc = zeb_mpk_skip (&mpk, NULL, NULL);
        if (rc)
            return zeb_fault_set (fault, ZEB_EINVALID, "actions[%u].%.*s is not valid", index,
                                  (int) (len > 32? 32: len), key);
    }
    if (!*action->type)
        return zeb_fault_set (fault, ZEB_EMISSING, "actions[%u] has no type", index);
    if (!action->config) {
        action->config = s_copy ("\x80", 1);
        action->config_size = 1;
    }
    if (!*action->target) {
        //  A webhook's target is its URL's origin (scheme://host:port)
        zeb_mpk_t url;
        const char *text;
        uint32_t text_len;
        if (streq (action->type, "webhook")
        &&  zeb_mpk_find (action->config, action->config_size, "url", &url) == 0
        &&  zeb_mpk_read_str (&url, &text, &text_len) == 0) {
            const char *scheme = memmem (text, text_len, "://", 3);
            size_t end = scheme? (size_t) (scheme - text) + 3: 0;
            while (scheme && end < text_len && text [end] != '/' && text [end] != '?' && text [end] != '#')
                end++;
            if (end >= sizeof (action->target))
                end = sizeof (action->target) - 1;
            memcpy (action->target, text, end);
            action->target [end] = 0;
        }
        if (!*action->target)
            snprintf (action->target, sizeof (action->target), "%s", action->type);
    }
    if (!*action->key)
        snprintf (action->key, sizeof (action->key), "%s", action->target);
    if (action->rate > 0 && action->burst < 1)
        action->burst = action->rate < 1? 1: action->rate;
    return 0;
}

int
zeb_run_unhex (const char *text, size_t len, uint8_t *out, size_t size)
{
    if (len != 2 * size)
        return -1;
    for (size_t index = 0; index < len; index++) {
        char c = text [index];
        int nibble = c >= '0' && c <= '9'? c - '0':
                     c >= 'a' && c <= 'f'? c - 'a' + 10:
                     c >= 'A' && c <= 'F'? c - 'A' + 10: -1;
        if (nibble < 0)
            return -1;
        if (index % 2 == 0)
            out [index / 2] = (uint8_t) (nibble << 4);
        else
            out [index / 2] |= (uint8_t) nibble;
    }
    return 0;
}

void
zeb_run_hex (const uint8_t *data, size_t size, char *out)
{
    static const char digits [] = "0123456789abcdef";
    for (size_t index = 0; index < size; index++) {
        out [2 * index] = digits [data [index] >> 4];
        out [2 * index + 1] = digits [data [index] & 15];
    }
    out [2 * size] = 0;
}

static int
s_parse_event (zeb_run_t *self, const uint8_t *span, size_t size, zeb_fault_t *fault)
{
    zeb_event_view_t view;
    zeb_fault_t inner;
    if (zeb_event_view_decode (&view, span, size, &inner))
        return zeb_fault_set (fault, ZEB_EINVALID, "event: %s", inner.text);
    zeb_str_t *id = &view.attr [ZEB_ATTR_ID];
    zeb_str_t *type = &view.attr [ZEB_ATTR_TYPE];
    if (!id->len || id->len >= sizeof (self->event_id) || !type->len)
        return zeb_fault_set (fault, ZEB_EINVALID, "event has no id or no type: send it as the log stores it");
    memcpy (self->event_id, id->ptr, id->len);
    self->event_id [id->len] = 0;
    memcpy (self->event_type, type->ptr, type->len);
    self->event_type [type->len] = 0;
    self->sequence = view.sequence;
    self->event = s_copy (span, size);
    self->event_size = size;
    return 0;
}

zeb_run_t *
zeb_run_parse (const uint8_t *data, size_t size, const zeb_policy_t *defaults, zeb_fault_t *fault)
{
    zeb_run_t *self = (zeb_run_t *) zmalloc (sizeof (zeb_run_t));
    assert (self);
    self->continue_on_error = true;
    self->conditions_matched = true;
    snprintf (self->kind, sizeof (self->kind), "automation");
    zeb_policy_t policy = *defaults;
    const uint8_t *actions = NULL;
    size_t actions_size = 0;
    bool has_id = false;
    zeb_mpk_t mpk;
    zeb_mpk_init (&mpk, data, size);
    uint32_t count;
    if (zeb_mpk_read_map (&mpk, &count)) {
        zeb_fault_set (fault, ZEB_EINVALID, "a run is not a map");
        goto failed;
    }
    for (uint32_t entry = 0; entry < count; entry++) {
        const char *key;
        uint32_t len;
        if (zeb_mpk_read_str (&mpk, &key, &len)) {
            zeb_fault_set (fault, ZEB_EMALFORMED, "a run has a key that is not a string");
            goto failed;
        }
        int rc = 0;
        const uint8_t *span;
        size_t span_size;
        if (s_key_is (key, len, "id")) {
            char hex [64];
            rc = s_read_str (&mpk, hex, sizeof (hex))
              || zeb_run_unhex (hex, strlen (hex), self->id, ZEB_RUN_ID_SIZE);
            has_id = !rc;
        }
        else
        if (s_key_is (key, len, "origin"))
            rc = s_read_str (&mpk, self->origin, sizeof (self->origin)) || !*self->origin;
        else
        if (s_key_is (key, len, "kind"))
            rc = s_read_str (&mpk, self->kind, sizeof (self->kind))
              || !(streq (self->kind, "automation") || streq (self->kind, "handler"));
        else
        if (s_key_is (key, len, "event")) {
            rc = zeb_mpk_peek (&mpk) != ZEB_MPK_MAP || zeb_mpk_skip (&mpk, &span, &span_size);
            if (!rc && s_parse_event (self, span, span_size, fault))
                goto failed;
        }
        else
        if (s_key_is (key, len, "actions")) {
            rc = zeb_mpk_peek (&mpk) != ZEB_MPK_ARRAY || zeb_mpk_skip (&mpk, &actions, &actions_size);
        }
        else
        if (s_key_is (key, len, "retryPolicy")) {
            rc = zeb_mpk_skip (&mpk, &span, &span_size);
            if (!rc && zeb_policy_parse (&policy, span, span_size, fault))
                goto failed;
        }
        else
        if (s_key_is (key, len, "continueOnError"))
            rc = zeb_mpk_read_bool (&mpk, &self->continue_on_error);
        else
        if (s_key_is (key, len, "conditionsMatched"))
            rc = zeb_mpk_read_bool (&mpk, &self->conditions_matched);
        else
            rc = zeb_mpk_skip (&mpk, NULL, NULL);
        if (rc) {
            zeb_fault_set (fault, ZEB_EINVALID, "%.*s is not valid", (int) (len > 32? 32: len), key);
            goto failed;
        }
    }
    if (!*self->origin || !self->event) {
        zeb_fault_set (fault, ZEB_EMISSING, "a run needs an origin and an event");
        goto failed;
    }
    if (actions) {
        zeb_mpk_init (&mpk, actions, actions_size);
        zeb_mpk_read_array (&mpk, &count);
        if (count > ZEB_OUTBOX_MAX_ACTIONS) {
            zeb_fault_set (fault, ZEB_ETOOBIG, "%u actions: a run has at most %d", count, ZEB_OUTBOX_MAX_ACTIONS);
            goto failed;
        }
        self->actions = (zeb_action_t *) zmalloc ((count? count: 1) * sizeof (zeb_action_t));
        assert (self->actions);
        for (uint32_t index = 0; index < count; index++) {
            const uint8_t *span;
            size_t span_size;
            self->action_count = index + 1;
            if (zeb_mpk_skip (&mpk, &span, &span_size)
            ||  s_parse_action (&self->actions [index], span, span_size, &policy, index, fault))
                goto failed;
        }
    }
    if (self->action_count == 0 && self->conditions_matched) {
        zeb_fault_set (fault, ZEB_EMISSING, "a run needs 1..%d actions (none only with conditionsMatched false)",
                       ZEB_OUTBOX_MAX_ACTIONS);
        goto failed;
    }
    if (!has_id) {
        zeb_event_view_t view;
        zeb_event_view_decode (&view, self->event, self->event_size, NULL);
        zeb_str_t *key = &view.attr [ZEB_ATTR_IDEMPOTENCYKEY];
        char text [256];
        if (key->len && key->len < sizeof (text)) {
            memcpy (text, key->ptr, key->len);
            text [key->len] = 0;
        }
        else
            snprintf (text, sizeof (text), "%s", self->event_id);
        zeb_outbox_run_id (self->origin, text, zeb_outbox_run_order (&view), self->hex);
        zeb_run_unhex (self->hex, 2 * ZEB_RUN_ID_SIZE, self->id, ZEB_RUN_ID_SIZE);
    }
    zeb_run_hex (self->id, ZEB_RUN_ID_SIZE, self->hex);
    return self;
failed:
    zeb_run_destroy (&self);
    return NULL;
}

void
zeb_run_destroy (zeb_run_t **self_p)
{
    assert (self_p);
    zeb_run_t *self = *self_p;
    if (!self)
        return;
    for (uint32_t index = 0; index < self->action_count; index++) {
        zeb_action_t *action = &self->actions [index];
        free (action->config);
        for (uint32_t step = 0; step < action->history_count; step++) {
            free (action->history [step].error);
            free (action->history [step].result);
        }
    }
    free (self->actions);
    free (self->event);
    free (self);
    *self_p = NULL;
}

void
zeb_run_record (zeb_run_t *self, uint8_t status, int code, const char *error,
                const uint8_t *result, size_t result_size, int64_t duration_ms)
{
    assert (self->current < self->action_count);
    zeb_action_t *action = &self->actions [self->current];
    if (action->history_count == ZEB_OUTBOX_HISTORY) {
        free (action->history [0].error);
        free (action->history [0].result);
        memmove (&action->history [0], &action->history [1],
                 (ZEB_OUTBOX_HISTORY - 1) * sizeof (zeb_attempt_t));
        action->history_count--;
    }
    zeb_attempt_t *attempt = &action->history [action->history_count++];
    memset (attempt, 0, sizeof (*attempt));
    attempt->attempt = action->attempts;
    attempt->status = status;
    attempt->code = code;
    attempt->at = zeb_time_now ();
    attempt->duration_ms = duration_ms;
    if (error && *error) {
        attempt->error = strndup (error, ZEB_EXECUTOR_MAX_ERROR);
        snprintf (self->error, sizeof (self->error), "%s", error);
    }
    if (result && result_size && result_size <= ZEB_EXECUTOR_MAX_RESULT) {
        attempt->result = s_copy (result, result_size);
        attempt->result_size = result_size;
    }
}

//  ---------------------------------------------------------------------
//  The store record

static void
s_pack_policy (zeb_pack_t *pack, const zeb_policy_t *policy)
{
    zeb_pack_map (pack, "policy");
    zeb_pack_uint (pack, "maxAttempts", policy->max_attempts);
    zeb_pack_int (pack, "backoffMs", policy->backoff_ms);
    zeb_pack_bool (pack, "exponentialBackoff", policy->exponential);
    zeb_pack_uint (pack, "factor", policy->factor);
    zeb_pack_int (pack, "maxBackoffMs", policy->max_backoff_ms);
    zeb_pack_bool (pack, "jitter", policy->jitter);
    zeb_pack_int (pack, "timeout", policy->timeout_ms);
    if (policy->schedule_count) {
        zeb_pack_array (pack, "schedule");
        for (uint32_t step = 0; step < policy->schedule_count; step++)
            zeb_pack_int (pack, NULL, policy->schedule [step]);
        zeb_pack_end (pack);
    }
    zeb_pack_end (pack);
}

static void
s_pack_attempt (zeb_pack_t *pack, const zeb_attempt_t *attempt)
{
    static const char *names [] = { "ok", "retry", "fail", "timeout" };
    zeb_pack_map (pack, NULL);
    zeb_pack_uint (pack, "attempt", attempt->attempt);
    zeb_pack_str (pack, "status", names [attempt->status & 3]);
    if (attempt->code)
        zeb_pack_int (pack, "code", attempt->code);
    if (attempt->error)
        zeb_pack_str (pack, "error", attempt->error);
    if (attempt->result)
        zeb_pack_raw (pack, "result", attempt->result, attempt->result_size);
    zeb_pack_int (pack, "durationMs", attempt->duration_ms);
    zeb_pack_int (pack, "at", attempt->at);
    zeb_pack_end (pack);
}

static const char *s_action_states [] = { "pending", "ok", "failed", "skipped" };
static const char *s_run_states [] = { "pending", "done", "failed", "dead" };

const char *
zeb_run_state_name (zeb_run_t *self)
{
    return s_run_states [self->state & 3];
}

int
zeb_run_encode (zeb_run_t *self, msgpack_sbuffer *buffer)
{
    zeb_pack_t pack;
    zeb_pack_init (&pack, buffer);
    zeb_pack_map (&pack, NULL);
    zeb_pack_str (&pack, "id", self->hex);
    zeb_pack_str (&pack, "origin", self->origin);
    zeb_pack_str (&pack, "kind", self->kind);
    zeb_pack_raw (&pack, "event", self->event, self->event_size);
    zeb_pack_bool (&pack, "continueOnError", self->continue_on_error);
    zeb_pack_bool (&pack, "conditionsMatched", self->conditions_matched);
    zeb_pack_uint (&pack, "state", self->state);
    zeb_pack_uint (&pack, "current", self->current);
    zeb_pack_int (&pack, "created", self->created);
    zeb_pack_int (&pack, "updated", self->updated);
    zeb_pack_int (&pack, "deadAt", self->dead_at);
    zeb_pack_str (&pack, "reason", self->reason);
    zeb_pack_str (&pack, "deadTarget", self->dead_target);
    zeb_pack_str (&pack, "error", self->error);
    zeb_pack_str (&pack, "replay", self->replay);
    zeb_pack_array (&pack, "actions");
    for (uint32_t index = 0; index < self->action_count; index++) {
        zeb_action_t *action = &self->actions [index];
        zeb_pack_map (&pack, NULL);
        zeb_pack_str (&pack, "type", action->type);
        zeb_pack_raw (&pack, "config", action->config, action->config_size);
        s_pack_policy (&pack, &action->policy);
        zeb_pack_str (&pack, "target", action->target);
        zeb_pack_str (&pack, "key", action->key);
        zeb_pack_uint (&pack, "concurrency", action->concurrency);
        zeb_pack_double (&pack, "rate", action->rate);
        zeb_pack_double (&pack, "burst", action->burst);
        zeb_pack_bool (&pack, "fifo", action->fifo);
        zeb_pack_uint (&pack, "state", action->state);
        zeb_pack_uint (&pack, "attempts", action->attempts);
        zeb_pack_array (&pack, "history");
        for (uint32_t step = 0; step < action->history_count; step++)
            s_pack_attempt (&pack, &action->history [step]);
        zeb_pack_end (&pack);
        zeb_pack_end (&pack);
    }
    zeb_pack_end (&pack);
    return zeb_pack_end (&pack);
}

static int
s_decode_attempt (zeb_attempt_t *attempt, zeb_mpk_t *mpk)
{
    uint32_t count;
    if (zeb_mpk_read_map (mpk, &count))
        return -1;
    for (uint32_t entry = 0; entry < count; entry++) {
        const char *key;
        uint32_t len;
        int64_t number = 0;
        int rc = zeb_mpk_read_str (mpk, &key, &len);
        if (rc == 0 && s_key_is (key, len, "attempt")) {
            rc = zeb_mpk_read_int (mpk, &number);
            attempt->attempt = (uint32_t) number;
        }
        else
        if (rc == 0 && s_key_is (key, len, "status")) {
            char name [16];
            rc = s_read_str (mpk, name, sizeof (name));
            attempt->status = streq (name, "ok")? 0: streq (name, "retry")? 1: streq (name, "fail")? 2: 3;
        }
        else
        if (rc == 0 && s_key_is (key, len, "code")) {
            rc = zeb_mpk_read_int (mpk, &number);
            attempt->code = (int32_t) number;
        }
        else
        if (rc == 0 && s_key_is (key, len, "error")) {
            const char *text;
            uint32_t text_len;
            rc = zeb_mpk_read_str (mpk, &text, &text_len);
            if (rc == 0)
                attempt->error = strndup (text, text_len);
        }
        else
        if (rc == 0 && s_key_is (key, len, "result")) {
            const uint8_t *span;
            size_t span_size;
            rc = zeb_mpk_skip (mpk, &span, &span_size);
            if (rc == 0) {
                attempt->result = s_copy (span, span_size);
                attempt->result_size = span_size;
            }
        }
        else
        if (rc == 0 && s_key_is (key, len, "durationMs"))
            rc = zeb_mpk_read_int (mpk, &attempt->duration_ms);
        else
        if (rc == 0 && s_key_is (key, len, "at"))
            rc = zeb_mpk_read_int (mpk, &attempt->at);
        else
        if (rc == 0)
            rc = zeb_mpk_skip (mpk, NULL, NULL);
        if (rc)
            return -1;
    }
    return 0;
}

static int
s_decode_action (zeb_action_t *action, zeb_mpk_t *mpk)
{
    uint32_t count;
    if (zeb_mpk_read_map (mpk, &count))
        return -1;
    for (uint32_t entry = 0; entry < count; entry++) {
        const char *key;
        uint32_t len;
        int64_t number = 0;
        const uint8_t *span;
        size_t span_size;
        int rc = zeb_mpk_read_str (mpk, &key, &len);
        if (rc)
            return -1;
        if (s_key_is (key, len, "type"))
            rc = s_read_str (mpk, action->type, sizeof (action->type));
        else
        if (s_key_is (key, len, "config")) {
            rc = zeb_mpk_skip (mpk, &span, &span_size);
            if (rc == 0) {
                action->config = s_copy (span, span_size);
                action->config_size = span_size;
            }
        }
        else
        if (s_key_is (key, len, "policy")) {
            rc = zeb_mpk_skip (mpk, &span, &span_size);
            if (rc == 0)
                rc = zeb_policy_parse (&action->policy, span, span_size, NULL);
        }
        else
        if (s_key_is (key, len, "target"))
            rc = s_read_str (mpk, action->target, sizeof (action->target));
        else
        if (s_key_is (key, len, "key"))
            rc = s_read_str (mpk, action->key, sizeof (action->key));
        else
        if (s_key_is (key, len, "concurrency")) {
            rc = zeb_mpk_read_int (mpk, &number);
            action->concurrency = (uint32_t) number;
        }
        else
        if (s_key_is (key, len, "rate"))
            rc = zeb_mpk_read_double (mpk, &action->rate);
        else
        if (s_key_is (key, len, "burst"))
            rc = zeb_mpk_read_double (mpk, &action->burst);
        else
        if (s_key_is (key, len, "fifo"))
            rc = zeb_mpk_read_bool (mpk, &action->fifo);
        else
        if (s_key_is (key, len, "state")) {
            rc = zeb_mpk_read_int (mpk, &number);
            action->state = (uint8_t) number;
        }
        else
        if (s_key_is (key, len, "attempts")) {
            rc = zeb_mpk_read_int (mpk, &number);
            action->attempts = (uint32_t) number;
        }
        else
        if (s_key_is (key, len, "history")) {
            uint32_t steps;
            rc = zeb_mpk_read_array (mpk, &steps);
            for (uint32_t step = 0; rc == 0 && step < steps; step++) {
                if (action->history_count < ZEB_OUTBOX_HISTORY)
                    rc = s_decode_attempt (&action->history [action->history_count++], mpk);
                else
                    rc = zeb_mpk_skip (mpk, NULL, NULL);
            }
        }
        else
            rc = zeb_mpk_skip (mpk, NULL, NULL);
        if (rc)
            return -1;
    }
    return 0;
}

zeb_run_t *
zeb_run_decode (const void *data, size_t size)
{
    zeb_run_t *self = (zeb_run_t *) zmalloc (sizeof (zeb_run_t));
    assert (self);
    zeb_mpk_t mpk;
    zeb_mpk_init (&mpk, data, size);
    uint32_t count;
    if (zeb_mpk_read_map (&mpk, &count))
        goto failed;
    for (uint32_t entry = 0; entry < count; entry++) {
        const char *key;
        uint32_t len;
        int64_t number = 0;
        const uint8_t *span;
        size_t span_size;
        int rc = zeb_mpk_read_str (&mpk, &key, &len);
        if (rc)
            goto failed;
        if (s_key_is (key, len, "id")) {
            rc = s_read_str (&mpk, self->hex, sizeof (self->hex))
              || zeb_run_unhex (self->hex, strlen (self->hex), self->id, ZEB_RUN_ID_SIZE);
        }
        else
        if (s_key_is (key, len, "origin"))
            rc = s_read_str (&mpk, self->origin, sizeof (self->origin));
        else
        if (s_key_is (key, len, "kind"))
            rc = s_read_str (&mpk, self->kind, sizeof (self->kind));
        else
        if (s_key_is (key, len, "event")) {
            rc = zeb_mpk_skip (&mpk, &span, &span_size);
            if (rc == 0)
                rc = s_parse_event (self, span, span_size, NULL);
        }
        else
        if (s_key_is (key, len, "continueOnError"))
            rc = zeb_mpk_read_bool (&mpk, &self->continue_on_error);
        else
        if (s_key_is (key, len, "conditionsMatched"))
            rc = zeb_mpk_read_bool (&mpk, &self->conditions_matched);
        else
        if (s_key_is (key, len, "state")) {
            rc = zeb_mpk_read_int (&mpk, &number);
            self->state = (uint8_t) number;
        }
        else
        if (s_key_is (key, len, "current")) {
            rc = zeb_mpk_read_int (&mpk, &number);
            self->current = (uint32_t) number;
        }
        else
        if (s_key_is (key, len, "created"))
            rc = zeb_mpk_read_int (&mpk, &self->created);
        else
        if (s_key_is (key, len, "updated"))
            rc = zeb_mpk_read_int (&mpk, &self->updated);
        else
        if (s_key_is (key, len, "deadAt"))
            rc = zeb_mpk_read_int (&mpk, &self->dead_at);
        else
        if (s_key_is (key, len, "reason"))
            rc = s_read_str (&mpk, self->reason, sizeof (self->reason));
        else
        if (s_key_is (key, len, "deadTarget"))
            rc = s_read_str (&mpk, self->dead_target, sizeof (self->dead_target));
        else
        if (s_key_is (key, len, "error"))
            rc = s_read_str (&mpk, self->error, sizeof (self->error));
        else
        if (s_key_is (key, len, "replay"))
            rc = s_read_str (&mpk, self->replay, sizeof (self->replay));
        else
        if (s_key_is (key, len, "actions")) {
            uint32_t actions;
            rc = zeb_mpk_read_array (&mpk, &actions) || actions > ZEB_OUTBOX_MAX_ACTIONS;
            if (rc == 0) {
                self->actions = (zeb_action_t *) zmalloc ((actions? actions: 1) * sizeof (zeb_action_t));
                assert (self->actions);
            }
            for (uint32_t index = 0; rc == 0 && index < actions; index++) {
                self->action_count = index + 1;
                rc = s_decode_action (&self->actions [index], &mpk);
            }
        }
        else
            rc = zeb_mpk_skip (&mpk, NULL, NULL);
        if (rc)
            goto failed;
    }
    if (!self->event || (self->action_count && self->current > self->action_count))
        goto failed;
    return self;
failed:
    zeb_run_destroy (&self);
    return NULL;
}

void
zeb_run_describe (zeb_run_t *self, zeb_pack_t *pack, const char *key)
{
    zeb_pack_map (pack, key);
    zeb_pack_str (pack, "id", self->hex);
    zeb_pack_str (pack, "origin", self->origin);
    zeb_pack_str (pack, "kind", self->kind);
    zeb_pack_str (pack, "state", zeb_run_state_name (self));
    zeb_pack_map (pack, "event");
    zeb_pack_str (pack, "id", self->event_id);
    zeb_pack_str (pack, "type", self->event_type);
    zeb_pack_uint (pack, "sequence", self->sequence);
    zeb_pack_end (pack);
    zeb_pack_bool (pack, "continueOnError", self->continue_on_error);
    zeb_pack_int (pack, "created", self->created);
    zeb_pack_int (pack, "updated", self->updated);
    if (*self->error)
        zeb_pack_str (pack, "error", self->error);
    if (self->dead_at) {
        zeb_pack_int (pack, "deadAt", self->dead_at);
        zeb_pack_str (pack, "reason", self->reason);
        zeb_pack_str (pack, "target", self->dead_target);
    }
    if (*self->replay)
        zeb_pack_str (pack, "replay", self->replay);
    zeb_pack_array (pack, "actions");
    for (uint32_t index = 0; index < self->action_count; index++) {
        zeb_action_t *action = &self->actions [index];
        zeb_pack_map (pack, NULL);
        zeb_pack_str (pack, "type", action->type);
        zeb_pack_str (pack, "state", s_action_states [action->state & 3]);
        zeb_pack_str (pack, "target", action->target);
        zeb_pack_str (pack, "key", action->key);
        zeb_pack_uint (pack, "attemptsSpent", action->attempts);
        zeb_pack_uint (pack, "maxAttempts", action->policy.max_attempts);
        zeb_pack_array (pack, "attempts");
        for (uint32_t step = 0; step < action->history_count; step++)
            s_pack_attempt (pack, &action->history [step]);
        zeb_pack_end (pack);
        zeb_pack_end (pack);
    }
    zeb_pack_end (pack);
    zeb_pack_end (pack);
}

//  ---------------------------------------------------------------------
//  Self test

void
zeb_run_test (bool verbose)
{
    printf (" * zeb_run: ");
    zeb_policy_t policy = { 4, 1000, true, 2, 5000, false, 30000, 0, { 0 } };
    //  Exponential with a cap, and Retry-After as a floor
    assert (zeb_policy_delay (&policy, 1, 0, 0.5) == 1000);
    assert (zeb_policy_delay (&policy, 2, 0, 0.5) == 2000);
    assert (zeb_policy_delay (&policy, 3, 0, 0.5) == 4000);
    assert (zeb_policy_delay (&policy, 4, 0, 0.5) == 5000);
    assert (zeb_policy_delay (&policy, 40, 0, 0.5) == 5000);
    assert (zeb_policy_delay (&policy, 1, 7000, 0.5) == 7000);
    //  Jitter: within [d/2, d]
    policy.jitter = true;
    assert (zeb_policy_delay (&policy, 2, 0, 0.0) == 1000);
    assert (zeb_policy_delay (&policy, 2, 0, 0.999) >= 1998);
    policy.jitter = false;
    policy.exponential = false;
    assert (zeb_policy_delay (&policy, 3, 0, 0.5) == 1000);

    //  A retryPolicy read over defaults, and the Svix preset
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    const char *text = "{\"maxAttempts\":6,\"backoffMs\":10,\"exponentialBackoff\":true,\"jitter\":true}";
    assert (zeb_json_pack_text (text, strlen (text), &buffer, NULL) == 0);
    assert (zeb_policy_parse (&policy, (uint8_t *) buffer.data, buffer.size, NULL) == 0);
    assert (policy.max_attempts == 6 && policy.backoff_ms == 10 && policy.exponential && policy.jitter);
    msgpack_sbuffer_clear (&buffer);
    text = "{\"schedule\":\"svix\",\"jitter\":false}";
    assert (zeb_json_pack_text (text, strlen (text), &buffer, NULL) == 0);
    assert (zeb_policy_parse (&policy, (uint8_t *) buffer.data, buffer.size, NULL) == 0);
    assert (policy.max_attempts == 8 && policy.schedule_count == 7);
    assert (zeb_policy_delay (&policy, 1, 0, 0) == 5000);
    assert (zeb_policy_delay (&policy, 2, 0, 0) == 300000);
    assert (zeb_policy_delay (&policy, 7, 0, 0) == 36000000);
    msgpack_sbuffer_clear (&buffer);
    zeb_fault_t fault;
    text = "{\"maxAttempts\":0}";
    assert (zeb_json_pack_text (text, strlen (text), &buffer, NULL) == 0);
    assert (zeb_policy_parse (&policy, (uint8_t *) buffer.data, buffer.size, &fault) == ZEB_EINVALID);
    assert (strstr (fault.text, "maxAttempts"));
    msgpack_sbuffer_clear (&buffer);

    //  A run: parsed, its id derived, encoded and decoded back
    zeb_policy_t defaults = { 4, 1000, true, 2, 3600000, true, 30000, 0, { 0 } };
    text = "{\"origin\":\"rule-1\",\"event\":{\"id\":\"e-1\",\"type\":\"order.placed\",\"source\":\"shop\","
           "\"sequence\":7,\"data\":{\"n\":1}},\"continueOnError\":false,"
           "\"actions\":[{\"type\":\"webhook\",\"config\":{\"url\":\"http://127.0.0.1:9/hook?x=1\"},"
           "\"retryPolicy\":{\"maxAttempts\":2}},{\"type\":\"log\",\"key\":\"k\",\"concurrency\":2,\"rate\":5}]}";
    assert (zeb_json_pack_text (text, strlen (text), &buffer, NULL) == 0);
    zeb_run_t *run = zeb_run_parse ((uint8_t *) buffer.data, buffer.size, &defaults, &fault);
    assert (run);
    char hex [33];
    zeb_outbox_run_id ("rule-1", "e-1", 7, hex);          //  its sequence
    assert (streq (run->hex, hex) && strncmp (hex, "000000000007", 12) == 0);
    //  Ids lead with the event's place: the same inputs give the same id,
    //  a later place sorts after, and the digest tells origins apart
    char at [33], later [33], other [33];
    zeb_outbox_run_id ("rule-1", "e-1", 1795333016123LL, at);
    zeb_outbox_run_id ("rule-1", "e-1", 1795333016124LL, later);
    zeb_outbox_run_id ("rule-2", "e-1", 1795333016123LL, other);
    assert (strncmp (at, "01a2022fca3b", 12) == 0);     //  1795333016123 in 12 hex digits
    assert (streq (at + 12, hex + 12) && strcmp (at, later) < 0);
    assert (strncmp (other, at, 12) == 0 && !streq (other + 12, at + 12));
    zeb_event_view_t view = { .time = -5, .has_time = true };
    assert (zeb_outbox_run_order (&view) == 0);         //  no time before 1970
    view.sequence = 9;
    assert (zeb_outbox_run_order (&view) == 9);         //  the sequence first
    assert (streq (run->event_id, "e-1") && streq (run->event_type, "order.placed") && run->sequence == 7);
    assert (!run->continue_on_error && run->action_count == 2);
    assert (streq (run->actions [0].target, "http://127.0.0.1:9"));
    assert (streq (run->actions [0].key, "http://127.0.0.1:9"));
    assert (run->actions [0].policy.max_attempts == 2 && run->actions [1].policy.max_attempts == 4);
    assert (streq (run->actions [1].target, "log") && streq (run->actions [1].key, "k"));
    assert (run->actions [1].concurrency == 2 && run->actions [1].rate == 5 && run->actions [1].burst == 5);
    run->actions [0].attempts = 1;
    zeb_run_record (run, 1, 500, "HTTP 500", (const uint8_t *) "\x81\xa1" "a\x01", 4, 12);
    msgpack_sbuffer record;
    msgpack_sbuffer_init (&record);
    assert (zeb_run_encode (run, &record) == 0);
    zeb_run_t *copy = zeb_run_decode (record.data, record.size);
    assert (copy);
    assert (streq (copy->hex, run->hex) && streq (copy->origin, "rule-1") && copy->action_count == 2);
    assert (copy->actions [0].history_count == 1 && copy->actions [0].history [0].code == 500);
    assert (streq (copy->actions [0].history [0].error, "HTTP 500"));
    assert (copy->actions [0].history [0].result_size == 4);
    assert (copy->actions [0].policy.max_attempts == 2 && copy->actions [1].rate == 5);
    assert (streq (copy->error, "HTTP 500"));
    //  A truncated record is refused, not half read
    assert (zeb_run_decode (record.data, record.size / 2) == NULL);
    zeb_run_destroy (&copy);
    zeb_run_destroy (&run);
    msgpack_sbuffer_destroy (&record);

    //  An event with a time and no sequence: its id leads with the time
    msgpack_sbuffer_clear (&buffer);
    text = "{\"origin\":\"rule-1\",\"event\":{\"id\":\"e-1\",\"type\":\"order.placed\",\"source\":\"shop\","
           "\"time\":1795333016123},\"actions\":[{\"type\":\"log\"}]}";
    assert (zeb_json_pack_text (text, strlen (text), &buffer, NULL) == 0);
    run = zeb_run_parse ((uint8_t *) buffer.data, buffer.size, &defaults, &fault);
    assert (run && streq (run->hex, at));
    zeb_run_destroy (&run);

    //  Refusals name the field
    const char *bad [][2] = {
        { "{\"event\":{\"id\":\"e\",\"type\":\"a.b\",\"source\":\"s\"},\"actions\":[{\"type\":\"log\"}]}", "origin" },
        { "{\"origin\":\"o\",\"actions\":[{\"type\":\"log\"}]}", "event" },
        { "{\"origin\":\"o\",\"event\":{\"id\":\"e\",\"type\":\"a.b\",\"source\":\"s\"},\"actions\":[]}", "actions" },
        { "{\"origin\":\"o\",\"event\":{\"id\":\"e\",\"type\":\"a.b\",\"source\":\"s\"},\"actions\":[{}]}", "type" },
        { "{\"origin\":\"o\",\"event\":{\"id\":\"e\",\"type\":\"a.b\",\"source\":\"s\"},\"actions\":[{\"type\":\"log\",\"rate\":-1}]}", "rate" },
        { "{\"origin\":\"o\",\"event\":{\"id\":\"e\",\"type\":\"a.b\",\"source\":\"s\"},\"id\":\"xyz\",\"actions\":[{\"type\":\"log\"}]}", "id" },
        { "{\"origin\":\"o\",\"event\":5,\"actions\":[{\"type\":\"log\"}]}", "event" },
    };
    for (size_t index = 0; index < sizeof (bad) / sizeof (bad [0]); index++) {
        msgpack_sbuffer_clear (&buffer);
        assert (zeb_json_pack_text (bad [index][0], strlen (bad [index][0]), &buffer, NULL) == 0);
        run = zeb_run_parse ((uint8_t *) buffer.data, buffer.size, &defaults, &fault);
        if (run || !strstr (fault.text, bad [index][1]))
            fprintf (stderr, "%s: %s\n", bad [index][0], run? "accepted": fault.text);
        assert (!run && strstr (fault.text, bad [index][1]));
    }
    msgpack_sbuffer_destroy (&buffer);
    printf ("OK\n");
}
