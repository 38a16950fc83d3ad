/*  =========================================================================
    crash_test - SIGKILL zebd at random moments while a producer publishes

    usage: crash_test /path/to/zebd [seed]

    What it proves. An event is acknowledged only once it is durably in the
    log, so whenever zebd dies (SIGKILL, at any moment) and restarts on the
    same data, every ACKed event is in the log exactly once, at the sequence
    its ACK named, and the log's sequences are 1..N with no gap and no
    repeat. An event whose outcome is unknown (no ACK before the kill) is
    published again with the same idempotencykey until it is ACKed; the
    node stores it at most once, so in the end every event the producer
    generated is in the log exactly once.

    How. One zebd child (own ports, own data directory, sync mode
    `always`). The main thread is the producer: it publishes events
    "crash-<n>" (data {n, a}: the event's number and the attempt that
    published it) without pause, in segments of pipelined publishes
    (zeb_client_publish_async, with varying windows and coalescing, so that
    events travel as PUBLISH arrays) and of synchronous publishes, with
    synchronous ones mixed into pipelined runs. It records every outcome;
    a timeout or an unreachable node means "unknown": the event goes back
    on a queue and is published again, before any new event, until it is
    ACKed (a duplicate ACK, for a copy that was stored before a kill,
    names the original sequence).

    A killer thread kills zebd with SIGKILL at random moments: most rounds
    a random 2..400 ms after the producer is seen to make progress again
    after a restart (so that kills land mid-batch, mid-commit, mid-ack and
    mid-republish), some rounds a random 1..40 ms after the restart itself
    (while the producer reconnects). After each restart it checks that the
    highest sequence ACKed before the kill is in the log with its key.

    At the end zebd is stopped cleanly (SIGTERM, exit status 0) and started
    again, and the whole log is read with a cursor from 0 and checked
    against the producer's record. The seed (default fixed, or the second
    argument) drives every random choice; it is printed so that a failure
    can be replayed. The data directory is kept when a check fails.
    =========================================================================
*/

#include "testutil.h"
#include <ctype.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>

#define S_DEFAULT_SEED      20240611ULL
#define S_KILLS             40          //  SIGKILLs per run
#define S_TIMEOUT_MS        500         //  client timeout: a dead node is noticed fast
#define S_START_MS          15000       //  most a (re)start of zebd may take
#define S_PROGRESS_MS       10000       //  most the producer may take to progress after a restart
#define S_RESOLVE_MS        30000       //  most to get every unknown outcome ACKed at the end
#define S_WATCHDOG_S        200         //  whole run, or it is reported as a hang
#define S_MAX_EVENTS        1000000     //  new events stop here (republishing goes on)
#define S_SHOWN             20          //  failures printed per kind

//  ---------------------------------------------------------------------
//  Failures: counted per kind, the first few printed

typedef enum {
    F_SETUP, F_OUTCOME, F_NACK, F_RESTART, F_DURABLE, F_PROGRESS, F_RESOLVE,
    F_STOP, F_LOG_SEQUENCE, F_LOG_EVENT, F_LOG_TWICE, F_LOG_ACKED, F_LOG_MISSING,
    F_LOG_BOUNDS, F_AFTER, F_KINDS
} s_kind_t;

static const char *s_kind_name [F_KINDS] = {
    "setup", "outcome", "unexpected NACK", "restart", "durability after a kill",
    "progress", "unknown outcomes never resolved", "clean stop", "log sequence",
    "log event content", "event stored twice", "ACKed event not where its ACK said",
    "event missing from the log", "log bounds", "after the final restart"
};

static pthread_mutex_t s_fail_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t s_failures [F_KINDS];

static void
s_fail (s_kind_t kind, const char *format, ...) CHECK_PRINTF (2);

static void
s_fail (s_kind_t kind, const char *format, ...)
{
    pthread_mutex_lock (&s_fail_lock);
    if (s_failures [kind]++ < S_SHOWN) {
        va_list args;
        va_start (args, format);
        printf ("FAIL [%s] ", s_kind_name [kind]);
        vprintf (format, args);
        printf ("\n");
        va_end (args);
        fflush (stdout);
    }
    pthread_mutex_unlock (&s_fail_lock);
}

static uint64_t
s_failure_count (void)
{
    pthread_mutex_lock (&s_fail_lock);
    uint64_t total = 0;
    for (int kind = 0; kind < F_KINDS; kind++)
        total += s_failures [kind];
    pthread_mutex_unlock (&s_fail_lock);
    return total;
}

//  ---------------------------------------------------------------------
//  Seeded random numbers (test_random): one stream per thread

//  Uniform in [low, high]
static int64_t
s_between (uint64_t *state, int64_t low, int64_t high)
{
    return low + (int64_t) (test_random (state) % (uint64_t) (high - low + 1));
}

//  A random delay: not synchronisation, only where a kill lands
static void
s_delay_ms (int64_t ms)
{
    struct timespec delay = { (time_t) (ms / 1000), (long) (ms % 1000) * 1000000L };
    while (nanosleep (&delay, &delay) == -1 && errno == EINTR)
        ;
}

//  ---------------------------------------------------------------------
//  State shared by the producer, the killer and the watchdog

typedef struct {
    int64_t delay_ms;           //  from the anchor to the kill
    int64_t progress_ms;        //  restart to the first ACK (-1 if not awaited)
    bool early;                 //  anchored at the restart, not at progress
    uint64_t acks;              //  outcomes ACKed between the restart and the kill
    uint64_t in_flight;         //  publishes without an outcome at the kill
    uint64_t max_sequence;      //  highest ACKed sequence when killed
    int64_t down_ms;            //  kill to restart done
} s_round_t;

typedef struct {
    test_zebd_t zebd;
    uint64_t seed;
    int64_t started;            //  test_now_ms at the start
    //  Written by the producer, read by the killer: under lock
    pthread_mutex_t lock;
    pthread_cond_t progressed;
    uint64_t acks;              //  ACK outcomes so far
    uint64_t max_sequence;      //  highest sequence ACKed so far
    uint64_t max_number;        //  and the event it named
    atomic_uint_fast64_t in_flight;
    atomic_bool kills_done;     //  the killer finished: resolve and stop
    atomic_bool abort;          //  give up (zebd would not restart)
    s_round_t rounds [S_KILLS];
    int kills;
    _Atomic (const char *) phase;
    //  Watchdog
    pthread_mutex_t done_lock;
    pthread_cond_t done_cond;
    bool done;
} s_shared_t;

static void
s_phase (s_shared_t *shared, const char *phase)
{
    atomic_store (&shared->phase, phase);
}

//  ---------------------------------------------------------------------
//  The producer's record: one entry per generated event

typedef enum { E_NONE = 0, E_FLIGHT, E_UNKNOWN, E_ACKED } s_state_t;

typedef struct {
    uint64_t sequence;          //  from its ACK
    uint16_t attempts;          //  times published
    uint16_t acked_attempt;     //  the attempt that got the ACK
    uint16_t unknowns;          //  outcomes unknown
    uint8_t state;
    bool duplicate;             //  its ACK said duplicate
} s_event_t;

typedef struct {
    s_shared_t *shared;
    uint64_t rng;
    zeb_client_t *client;
    zeb_event_t *event;         //  reused for every publish
    msgpack_sbuffer data;
    s_event_t *events;
    uint64_t generated;
    uint64_t limit;
    uint64_t *queue;            //  unknown outcomes, oldest first (a ring)
    uint64_t queue_head, queue_count, queue_size;
    //  Counters
    uint64_t published_async, published_sync, republished;
    uint64_t acked_async, acked_sync;
    uint64_t duplicates;        //  events whose ACK said duplicate
    uint64_t unknown_outcomes;  //  outcomes unknown, all told
    uint64_t events_unknown;    //  events with at least one unknown outcome
    uint64_t nacks;
    uint64_t segments_async, segments_sync, segments_mixed;
    uint64_t async_errors;      //  publish_async refused at once
    uint64_t clients;           //  clients used
    bool sync_publish;          //  the publish under way is synchronous
} s_producer_t;

static void
s_queue_push (s_producer_t *self, uint64_t number)
{
    if (self->queue_count == self->queue_size) {
        uint64_t size = self->queue_size? self->queue_size * 2: 4096;
        uint64_t *queue = (uint64_t *) malloc (size * sizeof (uint64_t));
        assert (queue);
        for (uint64_t index = 0; index < self->queue_count; index++)
            queue [index] = self->queue [(self->queue_head + index) % self->queue_size];
        free (self->queue);
        self->queue = queue;
        self->queue_size = size;
        self->queue_head = 0;
    }
    self->queue [(self->queue_head + self->queue_count++) % self->queue_size] = number;
}

static uint64_t
s_queue_pop (s_producer_t *self)
{
    assert (self->queue_count);
    uint64_t number = self->queue [self->queue_head];
    self->queue_head = (self->queue_head + 1) % self->queue_size;
    self->queue_count--;
    return number;
}

//  What became of one publish of event number
static void
s_outcome (s_producer_t *self, uint64_t number, const zeb_ack_t *ack, bool sync)
{
    if (number >= self->generated) {
        s_fail (F_OUTCOME, "outcome for event %llu, which was never generated",
                (unsigned long long) number);
        return;
    }
    s_event_t *event = &self->events [number];
    if (event->state != E_FLIGHT) {
        s_fail (F_OUTCOME, "crash-%llu: a second outcome (status %d, sequence %llu) for one publish",
                (unsigned long long) number, ack->status, (unsigned long long) ack->sequence);
        return;
    }
    atomic_fetch_sub (&self->shared->in_flight, 1);
    if (ack->status == 0) {
        if (ack->sequence == 0)
            s_fail (F_OUTCOME, "crash-%llu: ACK without a sequence", (unsigned long long) number);
        if (ack->duplicate) {
            self->duplicates++;
            //  Only a copy published before can have been stored already
            if (event->attempts < 2)
                s_fail (F_OUTCOME, "crash-%llu: ACKed as a duplicate (sequence %llu) on its first publish",
                        (unsigned long long) number, (unsigned long long) ack->sequence);
        }
        event->state = E_ACKED;
        event->sequence = ack->sequence;
        event->duplicate = ack->duplicate;
        event->acked_attempt = event->attempts;
        if (sync)
            self->acked_sync++;
        else
            self->acked_async++;
        s_shared_t *shared = self->shared;
        pthread_mutex_lock (&shared->lock);
        shared->acks++;
        if (ack->sequence > shared->max_sequence) {
            shared->max_sequence = ack->sequence;
            shared->max_number = number;
        }
        pthread_cond_broadcast (&shared->progressed);
        pthread_mutex_unlock (&shared->lock);
        return;
    }
    //  No ACK: publish it again, with the same key
    event->state = E_UNKNOWN;
    s_queue_push (self, number);
    if (ack->status == ZEB_ETIMEOUT || ack->status == ZEB_EUNREACHABLE) {
        self->unknown_outcomes++;
        if (event->unknowns++ == 0)
            self->events_unknown++;
    }
    else {
        //  A NACK: nothing stored. Nothing here should be refused; the
        //  node may shed load (OVERLOADED), which is retried like the rest
        self->nacks++;
        if (ack->status != ZEB_EOVERLOADED)
            s_fail (F_NACK, "crash-%llu: NACK %d (%s): %s", (unsigned long long) number,
                    ack->status, zeb_strerror (ack->status), ack->error);
    }
}

//  The producer, for the ack callback; its argument is the event's number
static s_producer_t *s_producer = NULL;

static void
s_on_async_ack (const zeb_ack_t *ack, void *arg)
{
    s_outcome (s_producer, (uint64_t) (uintptr_t) arg, ack, false);
}

//  Publish event number once (its first time or again)
static void
s_publish (s_producer_t *self, uint64_t number, bool sync)
{
    s_event_t *event = &self->events [number];
    assert (event->state == E_NONE || event->state == E_UNKNOWN);
    if (event->state == E_UNKNOWN)
        self->republished++;
    event->state = E_FLIGHT;
    event->attempts++;
    atomic_fetch_add (&self->shared->in_flight, 1);

    char key [32];
    snprintf (key, sizeof (key), "crash-%llu", (unsigned long long) number);
    int rc = zeb_event_set (self->event, "idempotencykey", key);
    assert (rc == 0);
    msgpack_sbuffer_clear (&self->data);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &self->data, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 2);
    msgpack_pack_str_with_body (&pk, "n", 1);
    msgpack_pack_uint64 (&pk, number);
    msgpack_pack_str_with_body (&pk, "a", 1);
    msgpack_pack_uint16 (&pk, event->attempts);
    rc = zeb_event_set_data (self->event, self->data.data, self->data.size);
    assert (rc == 0);

    if (sync) {
        self->published_sync++;
        zeb_ack_t ack;
        zeb_client_publish (self->client, self->event, &ack);
        s_outcome (self, number, &ack, true);
    }
    else {
        self->published_async++;
        rc = zeb_client_publish_async (self->client, self->event, s_on_async_ack,
                                       (void *) (uintptr_t) number);
        //  Refused at once: the callback ran already if the event was
        //  queued; if it was not, it never will
        if (rc && self->events [number].state == E_FLIGHT) {
            self->async_errors++;
            zeb_ack_t ack;
            memset (&ack, 0, sizeof (ack));
            ack.status = rc;
            ack.index = -1;
            snprintf (ack.error, sizeof (ack.error), "%s", zeb_strerror (rc));
            s_outcome (self, number, &ack, false);
        }
    }
}

//  A new event number, growing the record
static uint64_t
s_generate (s_producer_t *self)
{
    if (self->generated == self->limit) {
        uint64_t limit = self->limit? self->limit * 2: 65536;
        s_event_t *events = (s_event_t *) realloc (self->events, limit * sizeof (s_event_t));
        assert (events);
        memset (events + self->limit, 0, (limit - self->limit) * sizeof (s_event_t));
        self->events = events;
        self->limit = limit;
    }
    return self->generated++;
}

//  Wait for every publish in flight to have its outcome
static void
s_flush (s_producer_t *self)
{
    zeb_client_flush (self->client, S_TIMEOUT_MS);
}

//  A client of its own for each window: the window is set before the
//  client's first publish, never changed on a client that has published.
//  (When this test was written, zeb_client_set_window on a used client
//  kept the ring's head while shrinking the ring: a smaller window then
//  read and wrote outside it.)
static void
s_client_renew (s_producer_t *self, size_t window, size_t coalesce)
{
    if (self->client) {
        s_flush (self);
        if (zeb_client_pending (self->client))
            return;                     //  outcomes still due: keep it
        zeb_client_destroy (&self->client);
    }
    self->client = zeb_client_new (self->shared->zebd.ingest);
    assert (self->client);
    zeb_client_set_timeout (self->client, S_TIMEOUT_MS);
    zeb_client_set_window (self->client, window);
    zeb_client_set_coalesce (self->client, coalesce);
    self->clients++;
}

//  The producer, on the main thread: publish until the killer is done,
//  then republish until every event is ACKed
static void
s_produce (s_producer_t *self)
{
    s_shared_t *shared = self->shared;
    static const size_t windows [] = { 8, 64, 256, 1000, 4000 };
    static const size_t coalesces [] = { 1, 16, 256, 256, 1000 };
    enum { M_ASYNC, M_SYNC, M_MIXED } mode = M_ASYNC;
    int64_t segment_left = 0;
    int64_t resolve_deadline = 0;
    while (!atomic_load (&shared->abort)) {
        bool finishing = atomic_load (&shared->kills_done);
        if (finishing && !resolve_deadline) {
            resolve_deadline = test_now_ms () + S_RESOLVE_MS;
            s_phase (shared, "resolving unknown outcomes after the last restart");
        }
        if (resolve_deadline && test_now_ms () > resolve_deadline) {
            s_fail (F_RESOLVE, "%llu events still without an ACK %d ms after the last restart",
                    (unsigned long long) (self->queue_count + zeb_client_pending (self->client)),
                    S_RESOLVE_MS);
            break;
        }
        if (segment_left <= 0) {
            //  A new segment: how to publish for the next while
            int64_t pick = s_between (&self->rng, 0, 99);
            mode = pick < 65? M_ASYNC: pick < 85? M_MIXED: M_SYNC;
            if (mode == M_SYNC) {
                segment_left = s_between (&self->rng, 10, 150);
                self->segments_sync++;
            }
            else {
                segment_left = s_between (&self->rng, 200, 5000);
                //  Now and then another window and coalescing, on a new
                //  client; otherwise the same client lives on across kills
                if (s_between (&self->rng, 0, 1) == 0)
                    s_client_renew (self, windows [s_between (&self->rng, 0, 4)],
                                    coalesces [s_between (&self->rng, 0, 4)]);
                if (mode == M_ASYNC)
                    self->segments_async++;
                else
                    self->segments_mixed++;
            }
        }
        bool sync = mode == M_SYNC
                 || (mode == M_MIXED && s_between (&self->rng, 0, 15) == 0);
        if (self->queue_count) {
            s_publish (self, s_queue_pop (self), sync);
            segment_left--;
        }
        else
        if (!finishing && self->generated < S_MAX_EVENTS) {
            s_publish (self, s_generate (self), sync);
            segment_left--;
        }
        else
        if (zeb_client_pending (self->client))
            s_flush (self);             //  outcomes come back, or unknowns are queued
        else
        if (finishing)
            break;                      //  everything ACKed
        else
            zeb_client_poll (self->client, 100);   //  at the limit: wait for the killer
    }
}

//  ---------------------------------------------------------------------
//  The killer

//  Wait until the producer has ACKs beyond `since`, at most until deadline
//  (test_now_ms). Returns true if it did.
static bool
s_await_progress (s_shared_t *shared, uint64_t since, int64_t deadline)
{
    pthread_mutex_lock (&shared->lock);
    while (shared->acks <= since && !atomic_load (&shared->abort)) {
        int64_t left = deadline - test_now_ms ();
        if (left <= 0)
            break;
        struct timespec until;
        clock_gettime (CLOCK_REALTIME, &until);
        int64_t nanos = until.tv_nsec + (left % 1000) * 1000000L;
        until.tv_sec += (time_t) (left / 1000 + nanos / 1000000000L);
        until.tv_nsec = (long) (nanos % 1000000000L);
        pthread_cond_timedwait (&shared->progressed, &shared->lock, &until);
    }
    bool progressed = shared->acks > since;
    pthread_mutex_unlock (&shared->lock);
    return progressed;
}

static uint64_t
s_acks (s_shared_t *shared, uint64_t *max_sequence, uint64_t *max_number)
{
    pthread_mutex_lock (&shared->lock);
    uint64_t acks = shared->acks;
    if (max_sequence)
        *max_sequence = shared->max_sequence;
    if (max_number)
        *max_number = shared->max_number;
    pthread_mutex_unlock (&shared->lock);
    return acks;
}

//  After a restart: the highest sequence ACKed before the kill is in the
//  log, with the key of the event it was ACKed for
static void
s_check_durable (s_shared_t *shared, int round, uint64_t sequence, uint64_t number)
{
    if (sequence == 0)
        return;
    zeb_client_t *client = zeb_client_new (shared->zebd.ingest);
    assert (client);
    zeb_client_set_timeout (client, 5000);
    zeb_fetch_t result;
    int rc = zeb_client_fetch (client, sequence, 1, 0, NULL, &result);
    if (rc)
        s_fail (F_DURABLE, "round %d: FETCH from %llu after the restart failed: %s", round,
                (unsigned long long) sequence, zeb_strerror (rc));
    else {
        zeb_event_t *event = (zeb_event_t *) zlistx_first (result.events);
        char key [32];
        snprintf (key, sizeof (key), "crash-%llu", (unsigned long long) number);
        const char *found = event? zeb_event_attr (event, ZEB_ATTR_IDEMPOTENCYKEY): NULL;
        if (!event || zeb_event_sequence (event) != sequence || !found || !streq (found, key))
            s_fail (F_DURABLE, "round %d: sequence %llu was ACKed for %s before the kill; "
                    "after the restart the log has %s at %llu (last %llu)", round,
                    (unsigned long long) sequence, key, found? found: "nothing",
                    (unsigned long long) (event? zeb_event_sequence (event): 0),
                    (unsigned long long) result.last);
        zeb_fetch_reset (&result);
    }
    zeb_client_destroy (&client);
}

static void *
s_killer (void *arg)
{
    s_shared_t *shared = (s_shared_t *) arg;
    uint64_t rng = shared->seed ^ 0x6b696c6c6572ULL;       //  "killer"
    for (int round = 0; round < S_KILLS && !atomic_load (&shared->abort); round++) {
        s_round_t *info = &shared->rounds [round];
        int64_t restarted = test_now_ms ();
        uint64_t acks_before = s_acks (shared, NULL, NULL);
        //  One round in four: a kill soon after the restart, while the
        //  producer reconnects and republishes. The others: soon or a
        //  while after the producer is seen to progress again
        info->early = round > 0 && s_between (&rng, 0, 3) == 0;
        info->progress_ms = -1;
        if (info->early)
            info->delay_ms = s_between (&rng, 1, 40);
        else {
            s_phase (shared, "waiting for the producer to progress after a restart");
            if (!s_await_progress (shared, acks_before, restarted + S_PROGRESS_MS)) {
                if (!atomic_load (&shared->abort))
                    s_fail (F_PROGRESS, "round %d: no ACK within %d ms of the restart",
                            round + 1, S_PROGRESS_MS);
            }
            else
                info->progress_ms = test_now_ms () - restarted;
            info->delay_ms = s_between (&rng, 0, 1)? s_between (&rng, 2, 50): s_between (&rng, 50, 400);
        }
        s_phase (shared, "killing zebd");
        s_delay_ms (info->delay_ms);
        info->acks = s_acks (shared, NULL, NULL) - acks_before;
        info->in_flight = atomic_load (&shared->in_flight);
        int64_t killed = test_now_ms ();
        test_zebd_kill (&shared->zebd);
        shared->kills = round + 1;
        //  Down for a random while: the producer's publishes fail meanwhile
        s_delay_ms (s_between (&rng, 0, 120));
        uint64_t max_number;
        s_acks (shared, &info->max_sequence, &max_number);
        s_phase (shared, "restarting zebd after a kill");
        if (test_zebd_start (&shared->zebd, S_START_MS)) {
            s_fail (F_RESTART, "round %d: zebd did not restart within %d ms on its data after SIGKILL",
                    round + 1, S_START_MS);
            atomic_store (&shared->abort, true);
            break;
        }
        info->down_ms = test_now_ms () - killed;
        s_check_durable (shared, round + 1, info->max_sequence, max_number);
        printf ("  kill %2d: %-6s %3lld ms after %s (progress after %4lld ms); %7llu acks in the round, "
                "%5llu in flight at the kill; max sequence %llu; down %lld ms\n",
                round + 1, info->early? "early": "", (long long) info->delay_ms,
                info->early? "restart ": "progress", (long long) info->progress_ms,
                (unsigned long long) info->acks, (unsigned long long) info->in_flight,
                (unsigned long long) info->max_sequence, (long long) info->down_ms);
        fflush (stdout);
    }
    atomic_store (&shared->kills_done, true);
    return NULL;
}

//  ---------------------------------------------------------------------
//  The watchdog: a hang is a failure, reported with where it happened

static void *
s_watchdog (void *arg)
{
    s_shared_t *shared = (s_shared_t *) arg;
    struct timespec until;
    clock_gettime (CLOCK_REALTIME, &until);
    until.tv_sec += S_WATCHDOG_S;
    pthread_mutex_lock (&shared->done_lock);
    int rc = 0;
    while (!shared->done && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait (&shared->done_cond, &shared->done_lock, &until);
    bool done = shared->done;
    pthread_mutex_unlock (&shared->done_lock);
    if (!done) {
        printf ("FAIL [hang] no end after %d s, while %s; %llu ACKs, %llu in flight, zebd pid %d; "
                "data kept in %s\n", S_WATCHDOG_S, atomic_load (&shared->phase),
                (unsigned long long) s_acks (shared, NULL, NULL),
                (unsigned long long) atomic_load (&shared->in_flight), (int) shared->zebd.pid,
                shared->zebd.data);
        fflush (stdout);
        if (shared->zebd.pid > 0)
            kill (shared->zebd.pid, SIGKILL);
        _exit (1);
    }
    return NULL;
}

//  If the test itself dies (an assertion, a crash in the client), zebd
//  must not live on: it would keep the ports, and the output that ctest
//  waits on
static s_shared_t *s_fatal_shared = NULL;

static void
s_fatal_signal (int number)
{
    if (s_fatal_shared && s_fatal_shared->zebd.pid > 0)
        kill (s_fatal_shared->zebd.pid, SIGKILL);
    signal (number, SIG_DFL);
    raise (number);
}

//  ---------------------------------------------------------------------
//  The final check: the whole log against the producer's record

//  Read crash-<n>; false if the key is not one of ours
static bool
s_parse_key (const char *key, uint64_t *number)
{
    if (!key || strncmp (key, "crash-", 6) != 0 || !isdigit ((unsigned char) key [6]))
        return false;
    char *end;
    errno = 0;
    unsigned long long value = strtoull (key + 6, &end, 10);
    if (errno || *end || (key [6] == '0' && key [7]))
        return false;
    *number = value;
    return true;
}

//  Read data {n, a}
static bool
s_parse_data (zeb_event_t *event, uint64_t *number, uint64_t *attempt)
{
    size_t size;
    const uint8_t *data = zeb_event_data (event, &size);
    zeb_mpk_t reader;
    return data
        && zeb_mpk_find (data, size, "n", &reader) == 0 && zeb_mpk_read_uint (&reader, number) == 0
        && zeb_mpk_find (data, size, "a", &reader) == 0 && zeb_mpk_read_uint (&reader, attempt) == 0;
}

static uint64_t
s_verify_log (s_producer_t *producer, zeb_client_t *client, uint64_t *duplicates_verified)
{
    uint64_t *where = (uint64_t *) calloc (producer->generated + 1, sizeof (uint64_t));
    bool *at_ack = (bool *) calloc (producer->generated + 1, sizeof (bool));
    assert (where && at_ack);
    zeb_cursor_t *cursor = zeb_cursor_new (client, 0);
    zeb_cursor_set_batch (cursor, 1000);
    uint64_t expected = 1;
    uint64_t count = 0;
    *duplicates_verified = 0;
    int error = 0;
    zeb_event_t *event;
    while ((event = zeb_cursor_next (cursor, 0, &error))) {
        count++;
        uint64_t sequence = zeb_event_sequence (event);
        if (sequence != expected)
            s_fail (F_LOG_SEQUENCE, "expected sequence %llu, read %llu (%s)",
                    (unsigned long long) expected, (unsigned long long) sequence,
                    sequence > expected? "a gap": "a repeat or going back");
        expected = sequence + 1;
        const char *key = zeb_event_attr (event, ZEB_ATTR_IDEMPOTENCYKEY);
        uint64_t number = 0, data_number = 0, attempt = 0;
        if (!s_parse_key (key, &number) || number >= producer->generated) {
            s_fail (F_LOG_EVENT, "sequence %llu: key '%s' is not one the producer generated",
                    (unsigned long long) sequence, key? key: "(none)");
            zeb_event_destroy (&event);
            continue;
        }
        s_event_t *record = &producer->events [number];
        if (!s_parse_data (event, &data_number, &attempt) || data_number != number
        ||  attempt < 1 || attempt > record->attempts
        ||  !streq (zeb_event_type (event), "crash.event"))
            s_fail (F_LOG_EVENT, "sequence %llu (%s): wrong type or data (n %llu, attempt %llu of %u)",
                    (unsigned long long) sequence, key, (unsigned long long) data_number,
                    (unsigned long long) attempt, record->attempts);
        if (where [number])
            s_fail (F_LOG_TWICE, "%s at sequences %llu and %llu", key,
                    (unsigned long long) where [number], (unsigned long long) sequence);
        else
            where [number] = sequence;
        //  The copy its ACK named: the attempt ACKed as new, or an
        //  earlier one for a duplicate ACK
        if (record->state == E_ACKED && record->sequence == sequence) {
            at_ack [number] = true;
            if (!record->duplicate && attempt != record->acked_attempt)
                s_fail (F_LOG_ACKED, "%s: attempt %u was ACKed as new at %llu, but the log holds attempt %llu",
                        key, record->acked_attempt, (unsigned long long) sequence,
                        (unsigned long long) attempt);
            else
            if (record->duplicate && attempt >= record->acked_attempt)
                s_fail (F_LOG_ACKED, "%s: attempt %u was ACKed as a duplicate of %llu, but the log holds "
                        "attempt %llu there", key, record->acked_attempt, (unsigned long long) sequence,
                        (unsigned long long) attempt);
            else
            if (record->duplicate)
                (*duplicates_verified)++;
        }
        zeb_event_destroy (&event);
    }
    if (error)
        s_fail (F_LOG_BOUNDS, "reading the log stopped at %llu: %s",
                (unsigned long long) zeb_cursor_position (cursor), zeb_strerror (error));
    if (zeb_cursor_missed (cursor))
        s_fail (F_LOG_BOUNDS, "the cursor missed %llu events", (unsigned long long) zeb_cursor_missed (cursor));
    zeb_cursor_destroy (&cursor);
    //  Every generated event is there, every ACKed one where its ACK said
    for (uint64_t number = 0; number < producer->generated; number++) {
        s_event_t *record = &producer->events [number];
        if (!where [number])
            s_fail (F_LOG_MISSING, "crash-%llu (%s, sequence %llu, published %u times, %u unknown)",
                    (unsigned long long) number,
                    record->state == E_ACKED? (record->duplicate? "ACKed as a duplicate": "ACKed"):
                    record->state == E_UNKNOWN? "outcome unknown":
                    record->state == E_FLIGHT? "in flight": "never published",
                    (unsigned long long) record->sequence, record->attempts, record->unknowns);
        else
        if (record->state != E_ACKED)
            s_fail (F_RESOLVE, "crash-%llu is in the log at %llu but was never ACKed",
                    (unsigned long long) number, (unsigned long long) where [number]);
        else
        if (!at_ack [number])
            s_fail (F_LOG_ACKED, "crash-%llu ACKed%s with sequence %llu (attempt %u), but stored at %llu",
                    (unsigned long long) number, record->duplicate? " as a duplicate": "",
                    (unsigned long long) record->sequence, record->acked_attempt,
                    (unsigned long long) where [number]);
    }
    free (where);
    free (at_ack);
    return count;
}

//  The log actor and ingest agree with what was read, seen by a fresh client
static void
s_check_views (zeb_client_t *client, uint64_t length)
{
    zeb_fetch_t result;
    int rc = zeb_client_fetch (client, 1, 1, 0, NULL, &result);
    if (rc)
        s_fail (F_LOG_BOUNDS, "FETCH from 1: %s", zeb_strerror (rc));
    else {
        zeb_event_t *first = (zeb_event_t *) zlistx_first (result.events);
        if (result.first != 1 || result.last != length || !first || zeb_event_sequence (first) != 1)
            s_fail (F_LOG_BOUNDS, "FETCH from 1: first %llu, last %llu, event %llu; expected 1, %llu, 1",
                    (unsigned long long) result.first, (unsigned long long) result.last,
                    (unsigned long long) (first? zeb_event_sequence (first): 0),
                    (unsigned long long) length);
        zeb_fetch_reset (&result);
    }
    //  Past the end: nothing, and the log says where to go on
    rc = zeb_client_fetch (client, length + 1, 10, 0, NULL, &result);
    if (rc || zlistx_size (result.events) != 0 || result.next != length + 1 || result.last != length)
        s_fail (F_LOG_BOUNDS, "FETCH from %llu: rc %d, %zu events, next %llu, last %llu",
                (unsigned long long) length + 1, rc,
                rc? (size_t) 0: zlistx_size (result.events),
                (unsigned long long) result.next, (unsigned long long) result.last);
    if (rc == 0)
        zeb_fetch_reset (&result);
    //  Ingest's and the log's statistics
    char *stats = zeb_client_stats (client, &rc);
    json_t *json = stats? json_loads (stats, 0, NULL): NULL;
    json_t *store = json? json_object_get (json_object_get (json, "ingest"), "store"): NULL;
    if (!store)
        s_fail (F_LOG_BOUNDS, "no STATS from the node: %s", zeb_strerror (rc));
    else {
        json_int_t first = json_integer_value (json_object_get (store, "first"));
        json_int_t last = json_integer_value (json_object_get (store, "last"));
        json_int_t count = json_integer_value (json_object_get (store, "count"));
        if (first != 1 || last != (json_int_t) length || count != (json_int_t) length)
            s_fail (F_LOG_BOUNDS, "ingest's store says first %lld, last %lld, count %lld; the log has 1..%llu",
                    (long long) first, (long long) last, (long long) count, (unsigned long long) length);
    }
    json_decref (json);
    free (stats);
}

//  The node goes on where it left off: dedup keys and the sequence survive
static void
s_check_after (s_producer_t *producer, zeb_client_t *client, uint64_t length)
{
    zeb_event_t *event = zeb_event_new ("crash.event");
    zeb_event_set (event, "source", "crash_test");
    //  An old event again: a duplicate of where it is
    uint64_t number = producer->generated / 2;
    if (producer->generated) {
        char key [32];
        snprintf (key, sizeof (key), "crash-%llu", (unsigned long long) number);
        zeb_event_set (event, "idempotencykey", key);
        zeb_ack_t ack;
        int rc = zeb_client_publish (client, event, &ack);
        if (rc || !ack.duplicate || ack.sequence != producer->events [number].sequence)
            s_fail (F_AFTER, "%s again: status %d, sequence %llu, duplicate %d; expected a duplicate of %llu",
                    key, rc, (unsigned long long) ack.sequence, ack.duplicate,
                    (unsigned long long) producer->events [number].sequence);
    }
    //  A new event: the next sequence
    zeb_event_set (event, "idempotencykey", "crash-after");
    zeb_ack_t ack;
    int rc = zeb_client_publish (client, event, &ack);
    if (rc || ack.duplicate || ack.sequence != length + 1)
        s_fail (F_AFTER, "a new event: status %d, sequence %llu, duplicate %d; expected %llu",
                rc, (unsigned long long) ack.sequence, ack.duplicate, (unsigned long long) length + 1);
    zeb_event_destroy (&event);
}

//  ---------------------------------------------------------------------

int
main (int argc, char *argv [])
{
    if (argc < 2 || argc > 3) {
        fprintf (stderr, "usage: crash_test /path/to/zebd [seed]\n");
        return 2;
    }
    setvbuf (stdout, NULL, _IOLBF, 0);
    signal (SIGPIPE, SIG_IGN);
    zsys_init ();
    zsys_set_logstream (stderr);
    static s_shared_t shared;
    memset (&shared, 0, sizeof (shared));
    shared.seed = S_DEFAULT_SEED;
    if (argc == 3) {
        char *end;
        shared.seed = strtoull (argv [2], &end, 0);
        if (*end || !*argv [2]) {
            fprintf (stderr, "crash_test: seed must be a number, not '%s'\n", argv [2]);
            return 2;
        }
    }
    shared.started = test_now_ms ();
    pthread_mutex_init (&shared.lock, NULL);
    pthread_cond_init (&shared.progressed, NULL);
    pthread_mutex_init (&shared.done_lock, NULL);
    pthread_cond_init (&shared.done_cond, NULL);
    s_phase (&shared, "starting zebd");
    s_fatal_shared = &shared;
    int fatal [] = { SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL };
    for (size_t index = 0; index < sizeof (fatal) / sizeof (fatal [0]); index++)
        signal (fatal [index], s_fatal_signal);
    pthread_t watchdog;
    pthread_create (&watchdog, NULL, s_watchdog, &shared);

    test_zebd_init (&shared.zebd, argv [1]);
    //  The store's journal (one flush per group) checkpoints and switches
    //  files often, so that kills fall in checkpoints and in recoveries
    test_zebd_set (&shared.zebd, "store/checkpoint_interval=50ms");
    test_zebd_set (&shared.zebd, "store/journal_size=256KiB");
    printf ("crash_test: seed %llu, %d kills, client timeout %d ms, data %s, ingest %s\n",
            (unsigned long long) shared.seed, S_KILLS, S_TIMEOUT_MS, shared.zebd.data,
            shared.zebd.ingest);
    if (test_zebd_start (&shared.zebd, S_START_MS)) {
        s_fail (F_SETUP, "zebd (%s) did not start", argv [1]);
        return 1;
    }

    //  The producer
    static s_producer_t producer;
    memset (&producer, 0, sizeof (producer));
    s_producer = &producer;
    producer.shared = &shared;
    producer.rng = shared.seed ^ 0x70726f64756365ULL;     //  "produce"
    s_client_renew (&producer, 1000, 256);
    producer.event = zeb_event_new ("crash.event");
    zeb_event_set (producer.event, "source", "crash_test");
    msgpack_sbuffer_init (&producer.data);
    if (zeb_client_connect (producer.client))
        s_fail (F_SETUP, "the producer cannot reach zebd");

    pthread_t killer;
    pthread_create (&killer, NULL, s_killer, &shared);
    s_produce (&producer);
    pthread_join (killer, NULL);
    zeb_client_flush (producer.client, S_TIMEOUT_MS);
    int64_t produced_ms = test_now_ms () - shared.started;

    //  Clean stop: SIGTERM, exit status 0; start again; read everything
    uint64_t length = 0, duplicates_verified = 0;
    if (!atomic_load (&shared.abort)) {
        s_phase (&shared, "stopping zebd with SIGTERM");
        int status = test_zebd_stop (&shared.zebd);
        if (status != 0)
            s_fail (F_STOP, "zebd exited with status %d on SIGTERM (0 expected)", status);
        s_phase (&shared, "starting zebd for the final check");
        if (test_zebd_start (&shared.zebd, S_START_MS))
            s_fail (F_SETUP, "zebd did not start again after the clean stop");
        else {
            s_phase (&shared, "reading the whole log");
            zeb_client_t *reader = zeb_client_new (shared.zebd.ingest);
            zeb_client_set_timeout (reader, 10000);
            length = s_verify_log (&producer, reader, &duplicates_verified);
            s_phase (&shared, "checking the node's views of the log");
            s_check_views (reader, length);
            s_check_after (&producer, reader, length);
            zeb_client_destroy (&reader);
            s_phase (&shared, "stopping zebd at the end");
            int status_end = test_zebd_stop (&shared.zebd);
            if (status_end != 0)
                s_fail (F_STOP, "zebd exited with status %d on the last SIGTERM", status_end);
        }
    }

    //  Kills must land while the producer works
    int idle = 0, empty = 0;
    for (int round = 0; round < shared.kills; round++) {
        idle += shared.rounds [round].acks == 0;
        empty += shared.rounds [round].in_flight == 0;
    }
    if (shared.kills < S_KILLS)
        s_fail (F_PROGRESS, "only %d of %d kills happened", shared.kills, S_KILLS);
    if (idle * 2 > shared.kills)
        s_fail (F_PROGRESS, "the producer made no progress between kills in %d of %d rounds",
                idle, shared.kills);
    if (empty * 2 > shared.kills)
        s_fail (F_PROGRESS, "nothing was in flight at %d of %d kills", empty, shared.kills);
    if (producer.generated == 0 || producer.duplicates == 0 || producer.events_unknown == 0)
        printf ("note: %llu events, %llu unknown, %llu duplicates: the kills tested little\n",
                (unsigned long long) producer.generated, (unsigned long long) producer.events_unknown,
                (unsigned long long) producer.duplicates);
    if (producer.generated >= S_MAX_EVENTS)
        printf ("note: the producer reached its limit of %d new events\n", S_MAX_EVENTS);

    uint64_t acked = 0;
    for (uint64_t number = 0; number < producer.generated; number++)
        acked += producer.events [number].state == E_ACKED;
    int64_t elapsed = test_now_ms () - shared.started;
    printf ("crash_test: seed %llu: %llu events generated, %llu acked (%llu async, %llu sync), "
            "%llu duplicates acked (%llu checked in the log), %llu events republished after an "
            "unknown outcome (%llu unknown outcomes, %llu republishes), %llu NACKs; %d kills; "
            "log length %llu; segments %llu async, %llu mixed, %llu sync, %llu clients; %.1f s producing, "
            "%.1f s in all\n",
            (unsigned long long) shared.seed, (unsigned long long) producer.generated,
            (unsigned long long) acked, (unsigned long long) producer.acked_async,
            (unsigned long long) producer.acked_sync, (unsigned long long) producer.duplicates,
            (unsigned long long) duplicates_verified, (unsigned long long) producer.events_unknown,
            (unsigned long long) producer.unknown_outcomes, (unsigned long long) producer.republished,
            (unsigned long long) producer.nacks, shared.kills, (unsigned long long) length,
            (unsigned long long) producer.segments_async, (unsigned long long) producer.segments_mixed,
            (unsigned long long) producer.segments_sync, (unsigned long long) producer.clients,
            produced_ms / 1000.0, elapsed / 1000.0);

    zeb_client_destroy (&producer.client);
    zeb_event_destroy (&producer.event);
    msgpack_sbuffer_destroy (&producer.data);
    uint64_t failures = s_failure_count ();
    pthread_mutex_lock (&shared.done_lock);
    shared.done = true;
    pthread_cond_signal (&shared.done_cond);
    pthread_mutex_unlock (&shared.done_lock);
    pthread_join (watchdog, NULL);
    if (failures) {
        printf ("crash_test: FAIL, seed %llu:", (unsigned long long) shared.seed);
        for (int kind = 0; kind < F_KINDS; kind++)
            if (s_failures [kind])
                printf (" %llu %s;", (unsigned long long) s_failures [kind], s_kind_name [kind]);
        printf (" data kept in %s\n", shared.zebd.data);
        test_zebd_kill (&shared.zebd);
    }
    else {
        printf ("crash_test: PASS\n");
        test_zebd_destroy (&shared.zebd);
    }
    free (producer.events);
    free (producer.queue);
    return failures? 1: 0;
}
