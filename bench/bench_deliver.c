/*  =========================================================================
    bench_deliver - zeb-bench deliver: webhook actions with durable outbox
    state, beside the ceiling of libcurl multi against the same receiver

    zeb-bench deliver [-n N] [--runs R] [--json] [--size S] [--batch B]
                      [--in-flight K] [--rate E] [--seconds T] [--warmup W]
                      [--pipeline P]

    An embedded node (ingest, log, outbox; every endpoint inproc, data in a
    temporary directory) with the webhook executor allowed to reach
    127.0.0.1 and K requests in flight, and tests/receiver.c in this
    process, counting requests. Each run has four phases, each with its
    ceiling measured in the same run:

      throughput  N runs of one webhook action each (distinct event ids,
                  events of ~S bytes) enqueued over a DEALER to the outbox
                  in ENQUEUEs of B runs, P ENQUEUEs in flight; from the
                  first ENQUEUE to the receiver's count reaching N:
                  deliveries/s, and the outbox's commits per delivery.
      ceiling     libcurl multi in this process, K handles in flight,
                  keep-alive, POSTing the same body N times to the same
                  receiver: requests/s.
      latency     events published at E/s (pipelined, paced by the clock
                  in ticks of 1 ms: the events due in a tick go out at its
                  start) for W + T seconds, each with its send time in µs of
                  CLOCK_MONOTONIC in its data; a subscription (prefix
                  "bench.lat.") makes each a webhook run; the receiver
                  records arrival times: p50/p90/p99/max of received -
                  published after the W s warm-up.
      emit        N runs of one emit_event action each, until ingest has
                  stored N more events: events/s, beside a pipelined
                  zeb_client's raw publish rate (ingest's own ceiling).
                  "emit_event not available" where the executor is not
                  built in.

    Figures are medians of R runs; --json prints one line per run and
    phase, then one of the medians.
    =========================================================================
*/

#include "zeb.h"
#include "zeb_actors.h"
#include "bench.h"
#include "receiver.h"
#include <curl/curl.h>
#include <sys/epoll.h>

#define S_ORIGIN        "bench-deliver"
#define S_LAT_PREFIX    "bench.lat."
#define S_EMITTED_TYPE  "bench.emitted"
#define S_DEADLINE_MS   300000          //  longest a phase may take
#define S_TICK_US       1000            //  the latency phase's publishing ticks

typedef struct {
    size_t count;               //  N: runs per throughput and emit phase
    size_t runs;
    size_t size;                //  S: encoded event size
    size_t batch;               //  B: runs per ENQUEUE
    size_t in_flight;           //  K: webhook/max_in_flight, and the ceiling's handles
    size_t pipeline;            //  P: ENQUEUEs in flight
    size_t rate;                //  E: events/s of the latency phase
    size_t seconds;             //  T: measured seconds of the latency phase
    size_t warmup;              //  W: seconds published first, not measured
    const char *phases;         //  the phases to run, comma-separated (default all)
    bool json;
} s_options_t;

//  One run's figures; doubles so that medians take any of them
typedef struct {
    double deliveries;          //  per second
    double commits;             //  outbox commits per delivery
    double cpu;                 //  µs of CPU per delivery, this process (node, receiver, bench)
    double failed;              //  runs that did not succeed
    double ceiling;             //  libcurl requests per second
    double ratio;               //  deliveries / ceiling, of this run
    double ceiling_cpu;         //  µs of CPU per request of the ceiling (curl, receiver)
    double p50, p90, p99, max;  //  µs, publish to received
    double samples, lost;       //  latency samples taken; events never received
    double emitted;             //  events/s through emit_event
    double published;           //  events/s of a pipelined client
    double emit_ratio;          //  emitted / published, of this run
} s_result_t;

typedef struct {
    s_options_t *options;
    zeb_node_t *node;
    receiver_t *receiver;
    zsock_t *outbox;            //  DEALER to the outbox endpoint
    char url [64];
    char *body;                 //  the ceiling's body: the event as the webhook sends it
    bool emit;                  //  emit_event is built in
    size_t generation;          //  makes every run's event ids new
    uint64_t sequence;          //  the trigger events' sequences, from 1
} s_bench_t;

//  ---------------------------------------------------------------------
//  Small helpers

//  CPU this process has used, µs (every thread)
static double
s_cpu_us (void)
{
    struct timespec now;
    clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &now);
    return (double) now.tv_sec * 1e6 + (double) now.tv_nsec / 1e3;
}

zeb_event_t *
bench_event_padded (const char *type, const char *id, size_t size)
{
    zeb_event_t *event = zeb_event_new (type);
    zeb_event_set (event, "source", "zeb-bench");
    if (id)
        zeb_event_set (event, "id", id);
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    size_t pad = 1;
    for (int attempt = 0; attempt < 3; attempt++) {
        char *data = zsys_sprintf ("{\"pad\":\"%*s\"}", (int) pad, "");
        zeb_event_set_data_json (event, data, NULL);
        zstr_free (&data);
        msgpack_sbuffer_clear (&buffer);
        zeb_event_encode (event, &buffer);
        if (buffer.size == size)
            break;
        pad = pad + size > buffer.size? pad + size - buffer.size: 1;
    }
    msgpack_sbuffer_destroy (&buffer);
    return event;
}

//  ---------------------------------------------------------------------
//  Enqueueing: N runs of one action, in ENQUEUEs of B, P in flight

//  The ENQUEUE bodies of one phase, made before its clock starts
static zlistx_t *
s_enqueue_bodies (s_bench_t *self, const char *phase, const uint8_t *action, size_t action_size)
{
    zlistx_t *bodies = zlistx_new ();
    zlistx_set_destructor (bodies, (zlistx_destructor_fn *) zchunk_destroy);
    s_options_t *options = self->options;
    char id [64];
    snprintf (id, sizeof (id), "%s-%04zu-%08zu", phase, self->generation, (size_t) 0);
    zeb_event_t *event = bench_event_padded ("bench.order.placed", id, options->size);
    msgpack_sbuffer encoded, body;
    msgpack_sbuffer_init (&encoded);
    msgpack_sbuffer_init (&body);
    for (size_t first = 0; first < options->count; first += options->batch) {
        size_t last = first + options->batch < options->count? first + options->batch: options->count;
        msgpack_sbuffer_clear (&body);
        zeb_pack_t pack;
        zeb_pack_init (&pack, &body);
        zeb_pack_map (&pack, NULL);
        zeb_pack_array (&pack, "runs");
        for (size_t index = first; index < last; index++) {
            snprintf (id, sizeof (id), "%s-%04zu-%08zu", phase, self->generation, index);
            zeb_event_set (event, "id", id);
            msgpack_sbuffer_clear (&encoded);
            //  As the log gives it to automations and handlers: with a
            //  sequence, from which (with the origin and id) the run id is made
            zeb_event_view_t view = *zeb_event_view (event);
            view.sequence = self->sequence++;
            size_t offset;
            zeb_event_view_encode (&view, &encoded, &offset);
            zeb_pack_map (&pack, NULL);
            zeb_pack_str (&pack, "origin", S_ORIGIN);
            zeb_pack_raw (&pack, "event", encoded.data, encoded.size);
            zeb_pack_array (&pack, "actions");
            zeb_pack_raw (&pack, NULL, action, action_size);
            zeb_pack_end (&pack);
            zeb_pack_end (&pack);
        }
        zeb_pack_end (&pack);
        zeb_pack_end (&pack);
        zlistx_add_end (bodies, zchunk_new (body.data, body.size));
    }
    self->generation++;
    zeb_event_destroy (&event);
    msgpack_sbuffer_destroy (&encoded);
    msgpack_sbuffer_destroy (&body);
    return bodies;
}

//  Read one reply to an ENQUEUE; 0 if ENQUEUED
static int
s_enqueued (s_bench_t *self)
{
    zeb_proto_reply_t reply;
    if (zeb_proto_reply_recv (zsock_resolve (self->outbox), &reply, 30000)) {
        fprintf (stderr, "zeb-bench deliver: no answer to an ENQUEUE within 30 s\n");
        return -1;
    }
    int rc = 0;
    if (!zeb_proto_reply_is (&reply, "ENQUEUED")) {
        size_t size = 0;
        const void *body = zeb_proto_reply_body (&reply, &size);
        zeb_fault_t fault;
        zeb_proto_parse_nack (body, size, &fault, NULL);
        fprintf (stderr, "zeb-bench deliver: ENQUEUE refused: %s\n", fault.text);
        rc = -1;
    }
    zeb_proto_reply_close (&reply);
    return rc;
}

//  Send every body, at most P unanswered, and read every answer
static int
s_enqueue_all (s_bench_t *self, zlistx_t *bodies)
{
    size_t unanswered = 0;
    int rc = 0;
    for (zchunk_t *chunk = (zchunk_t *) zlistx_first (bodies); chunk && rc == 0;
         chunk = (zchunk_t *) zlistx_next (bodies)) {
        if (unanswered == self->options->pipeline) {
            rc = s_enqueued (self);
            unanswered--;
        }
        if (zeb_proto_send (zsock_resolve (self->outbox), NULL, "ENQUEUE", zchunk_data (chunk),
                            zchunk_size (chunk), NULL, 0, 0))
            rc = -1;
        unanswered++;
    }
    while (unanswered-- && rc == 0)
        rc = s_enqueued (self);
    return rc;
}

//  Until the outbox holds no unfinished run; the runs that did not succeed
static double
s_settle (s_bench_t *self, int64_t succeeded_before, size_t expected)
{
    if (!bench_stat_reaches (self->node, "outbox", "runs", 0, true, S_DEADLINE_MS))
        fprintf (stderr, "zeb-bench deliver: the outbox still holds runs after %d s\n", S_DEADLINE_MS / 1000);
    int64_t succeeded = bench_stat (self->node, "outbox", "succeeded") - succeeded_before;
    return succeeded >= (int64_t) expected? 0: (double) ((int64_t) expected - succeeded);
}

//  ---------------------------------------------------------------------
//  a. throughput, and d. emit_event chains: N runs of one action

//  True once the phase's runs have done their work, waiting at most
//  timeout_ms; mark is what the phase noted before it began
typedef bool (s_done_fn) (s_bench_t *self, int64_t mark, int timeout_ms);

//  Enqueue N runs of the action (JSON text) and wait until done: the µs
//  from the first ENQUEUE, into *elapsed_us; the runs that did not
//  succeed (once the outbox has finished them all) into *failed
static int
s_deliver_runs (s_bench_t *self, const char *phase, const char *action, s_done_fn *done, int64_t mark,
                int64_t *elapsed_us, double *failed)
{
    msgpack_sbuffer packed;
    msgpack_sbuffer_init (&packed);
    zeb_fault_t fault;
    int rc = zeb_json_pack_text (action, strlen (action), &packed, &fault);
    assert (rc == 0);
    zlistx_t *bodies = s_enqueue_bodies (self, phase, (const uint8_t *) packed.data, packed.size);
    msgpack_sbuffer_destroy (&packed);
    int64_t succeeded = bench_stat (self->node, "outbox", "succeeded");
    int64_t started = zeb_time_mono_us ();
    rc = s_enqueue_all (self, bodies);
    if (rc == 0 && !done (self, mark, S_DEADLINE_MS))
        rc = -1;
    *elapsed_us = zeb_time_mono_us () - started;
    zlistx_destroy (&bodies);
    *failed += s_settle (self, succeeded, self->options->count);
    return rc;
}

static bool
s_all_received (s_bench_t *self, int64_t mark, int timeout_ms)
{
    size_t count = self->options->count;
    if (receiver_wait_count (self->receiver, count, timeout_ms))
        return true;
    fprintf (stderr, "zeb-bench deliver: %zu of %zu webhooks received in %d s\n",
             receiver_count (self->receiver), count, S_DEADLINE_MS / 1000);
    return false;
}

static int
s_phase_throughput (s_bench_t *self, s_result_t *result)
{
    char *action = zsys_sprintf ("{\"type\":\"webhook\",\"config\":{\"url\":\"%s\"}}", self->url);
    receiver_set_recording (self->receiver, false);
    receiver_clear (self->receiver);
    int64_t commits = bench_stat (self->node, "outbox", "commits"), elapsed;
    double cpu = s_cpu_us ();
    int rc = s_deliver_runs (self, "tp", action, s_all_received, 0, &elapsed, &result->failed);
    zstr_free (&action);
    double count = (double) self->options->count;
    result->cpu = (s_cpu_us () - cpu) / count;
    result->deliveries = rc == 0 && elapsed > 0? count * 1e6 / (double) elapsed: 0;
    result->commits = (double) (bench_stat (self->node, "outbox", "commits") - commits) / count;
    return rc;
}

//  ---------------------------------------------------------------------
//  b. ceiling: libcurl multi, K handles, keep-alive, socket-action on epoll

typedef struct {
    CURLM *multi;
    int epoll;
    int64_t timer_due;          //  ms, monotonic; -1: none
} s_curl_t;

static int
s_curl_watch (CURL *easy, curl_socket_t fd, int what, void *arg, void *socket_arg)
{
    s_curl_t *self = (s_curl_t *) arg;
    struct epoll_event event = { 0 };
    event.events = (what & CURL_POLL_IN? EPOLLIN: 0) | (what & CURL_POLL_OUT? EPOLLOUT: 0);
    event.data.fd = fd;
    int op = what == CURL_POLL_REMOVE? EPOLL_CTL_DEL: socket_arg? EPOLL_CTL_MOD: EPOLL_CTL_ADD;
    epoll_ctl (self->epoll, op, fd, &event);
    curl_multi_assign (self->multi, fd, what == CURL_POLL_REMOVE? NULL: self);
    return 0;
}

static size_t
s_curl_discard (char *data, size_t size, size_t count, void *arg)
{
    return size * count;
}

static int
s_curl_timer (CURLM *multi, long timeout_ms, void *arg)
{
    s_curl_t *self = (s_curl_t *) arg;
    self->timer_due = timeout_ms < 0? -1: zeb_time_mono_us () / 1000 + timeout_ms;
    return 0;
}

//  Requests/s of count POSTs of body, in_flight at once, -1 on an error;
//  *cpu gets the µs of CPU per request
static double
s_phase_ceiling (s_bench_t *self, double *cpu)
{
    s_options_t *options = self->options;
    s_curl_t curl = { curl_multi_init (), epoll_create1 (EPOLL_CLOEXEC), -1 };
    curl_multi_setopt (curl.multi, CURLMOPT_SOCKETFUNCTION, s_curl_watch);
    curl_multi_setopt (curl.multi, CURLMOPT_SOCKETDATA, &curl);
    curl_multi_setopt (curl.multi, CURLMOPT_TIMERFUNCTION, s_curl_timer);
    curl_multi_setopt (curl.multi, CURLMOPT_TIMERDATA, &curl);
    curl_multi_setopt (curl.multi, CURLMOPT_MAXCONNECTS, (long) options->in_flight);
    //  What the webhook executor sends besides the body
    struct curl_slist *headers = curl_slist_append (NULL, "Content-Type: application/cloudevents+json");
    headers = curl_slist_append (headers, "webhook-id: 0123456789abcdef0123456789abcdef:0");
    headers = curl_slist_append (headers, "webhook-timestamp: 1796000000");
    headers = curl_slist_append (headers, "Expect:");
    size_t handles = options->in_flight < options->count? options->in_flight: options->count;
    CURL **easy = (CURL **) calloc (handles, sizeof (CURL *));
    for (size_t index = 0; index < handles; index++) {
        easy [index] = curl_easy_init ();
        curl_easy_setopt (easy [index], CURLOPT_URL, self->url);
        curl_easy_setopt (easy [index], CURLOPT_PROXY, "");
        curl_easy_setopt (easy [index], CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt (easy [index], CURLOPT_POSTFIELDS, self->body);
        curl_easy_setopt (easy [index], CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) strlen (self->body));
        curl_easy_setopt (easy [index], CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt (easy [index], CURLOPT_USERAGENT, "zeb-bench");
        curl_easy_setopt (easy [index], CURLOPT_WRITEFUNCTION, s_curl_discard);
    }
    receiver_set_recording (self->receiver, false);
    receiver_clear (self->receiver);
    double cpu_before = s_cpu_us ();
    int64_t started = zeb_time_mono_us ();
    size_t sent = 0, done = 0, errors = 0;
    for (; sent < handles; sent++)
        curl_multi_add_handle (curl.multi, easy [sent]);
    int running;
    int64_t deadline = zclock_mono () + S_DEADLINE_MS;
    while (done < options->count && zclock_mono () < deadline) {
        int64_t now = zeb_time_mono_us () / 1000;
        int wait = curl.timer_due < 0? 1000: curl.timer_due > now? (int) (curl.timer_due - now): 0;
        struct epoll_event events [64];
        int count = epoll_wait (curl.epoll, events, 64, wait);
        for (int index = 0; index < count; index++) {
            uint32_t fired = events [index].events;
            int mask = (fired & (EPOLLIN | EPOLLHUP)? CURL_CSELECT_IN: 0)
                     | (fired & EPOLLOUT? CURL_CSELECT_OUT: 0) | (fired & EPOLLERR? CURL_CSELECT_ERR: 0);
            curl_multi_socket_action (curl.multi, events [index].data.fd, mask, &running);
        }
        if (curl.timer_due >= 0 && zeb_time_mono_us () / 1000 >= curl.timer_due) {
            curl.timer_due = -1;
            curl_multi_socket_action (curl.multi, CURL_SOCKET_TIMEOUT, 0, &running);
        }
        CURLMsg *message;
        int left;
        while ((message = curl_multi_info_read (curl.multi, &left)))
            if (message->msg == CURLMSG_DONE) {
                CURL *handle = message->easy_handle;
                long status = 0;
                curl_easy_getinfo (handle, CURLINFO_RESPONSE_CODE, &status);
                errors += message->data.result != CURLE_OK || status != 200;
                done++;
                curl_multi_remove_handle (curl.multi, handle);
                if (sent < options->count && curl_multi_add_handle (curl.multi, handle) == CURLM_OK)
                    sent++;
            }
    }
    int64_t elapsed = zeb_time_mono_us () - started;
    *cpu = (s_cpu_us () - cpu_before) / (double) options->count;
    for (size_t index = 0; index < handles; index++)
        curl_easy_cleanup (easy [index]);
    free (easy);
    curl_slist_free_all (headers);
    curl_multi_cleanup (curl.multi);
    close (curl.epoll);
    if (errors || done < options->count)
        fprintf (stderr, "zeb-bench deliver: of the ceiling's %zu requests %zu failed, %zu unanswered\n",
                 options->count, errors, options->count - done);
    return errors || done < options->count || elapsed <= 0? -1: (double) options->count * 1e6 / (double) elapsed;
}

//  ---------------------------------------------------------------------
//  c. latency: publish at a fixed rate, a subscription makes webhooks

static void
s_count_failure (const zeb_ack_t *ack, void *arg)
{
    if (ack->status)
        (*(size_t *) arg)++;
}

//  Sleep until due (µs of CLOCK_MONOTONIC)
static void
s_sleep_until (int64_t due)
{
    struct timespec until = { (time_t) (due / 1000000), (long) (due % 1000000) * 1000 };
    while (clock_nanosleep (CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == EINTR)
        ;
}

//  received - published of every event past the warm-up, sorted, into
//  latencies (total of them at most); returns how many were read
static size_t
s_latencies (s_bench_t *self, size_t warm, size_t total, double *latencies)
{
    size_t filled = 0;
    size_t count = receiver_count (self->receiver);
    char *seen = (char *) calloc (total, 1);       //  at least once: count each event once
    for (size_t index = 0; index < count; index++) {
        receiver_request_t request;
        if (!receiver_request (self->receiver, index, &request))
            break;
        json_t *body = json_loads (request.body, 0, NULL);
        json_t *data = json_object_get (body, "data");
        json_int_t sent = json_integer_value (json_object_get (data, "t"));
        json_int_t number = json_integer_value (json_object_get (data, "i"));
        if (number >= (json_int_t) warm && number < (json_int_t) total && !seen [number] && sent > 0) {
            seen [number] = 1;
            latencies [filled++] = (double) (request.arrived_us - sent);
        }
        json_decref (body);
        receiver_request_reset (&request);
    }
    free (seen);
    qsort (latencies, filled, sizeof (double), bench_compare_double);
    return filled;
}

static int
s_phase_latency (s_bench_t *self, s_result_t *result)
{
    s_options_t *options = self->options;
    size_t warm = options->rate * options->warmup;
    size_t total = warm + options->rate * options->seconds;
    receiver_clear (self->receiver);
    receiver_set_recording (self->receiver, true);
    zeb_client_t *client = zeb_client_new (zeb_node_endpoint (self->node, "ingest"));
    zeb_client_set_timeout (client, 30000);
    int rc = zeb_client_connect (client)? -1: 0;
    zeb_event_t *event = zeb_event_new (S_LAT_PREFIX "tick");
    zeb_event_set (event, "source", "zeb-bench");
    size_t failures = 0;
    int64_t start = zeb_time_mono_us () + 1000;
    for (size_t index = 0; index < total && rc == 0; index++) {
        //  Paced by ticks of S_TICK_US: each event waits for the tick it
        //  falls in, and is stamped when it is sent (one wake-up per tick,
        //  not per event: on this machine a timer wake-up costs the
        //  publisher tens of µs, a core at 5,000/s)
        int64_t due = start + (int64_t) ((double) index * 1e6 / (double) options->rate);
        if (due > zeb_time_mono_us ())
            s_sleep_until (due - due % S_TICK_US);
        char data [80];
        snprintf (data, sizeof (data), "{\"t\":%lld,\"i\":%zu}", (long long) zeb_time_mono_us (), index);
        zeb_event_set_data_json (event, data, NULL);
        if (zeb_client_publish_async (client, event, s_count_failure, &failures))
            failures++;
        //  Out now, not coalesced behind the acks still due
        zeb_client_poll (client, 0);
    }
    zeb_client_flush (client, 30000);
    zeb_client_destroy (&client);
    zeb_event_destroy (&event);
    if (rc == 0 && !receiver_wait_count (self->receiver, total - failures, 60000))
        fprintf (stderr, "zeb-bench deliver: latency: %zu of %zu webhooks received in 60 s\n",
                 receiver_count (self->receiver), total - failures);
    double *latencies = (double *) calloc (total + 1, sizeof (double));
    size_t filled = s_latencies (self, warm, total, latencies);
    receiver_set_recording (self->receiver, false);
    receiver_clear (self->receiver);
    result->samples = (double) filled;
    result->lost = (double) (total - warm - filled);
    if (filled) {
        result->p50 = latencies [filled * 50 / 100];
        result->p90 = latencies [filled * 90 / 100];
        result->p99 = latencies [filled * 99 / 100];
        result->max = latencies [filled - 1];
    }
    free (latencies);
    if (failures)
        fprintf (stderr, "zeb-bench deliver: latency: %zu publishes failed\n", failures);
    s_settle (self, 0, 0);
    return rc || filled == 0? -1: 0;
}

//  ---------------------------------------------------------------------
//  d. emit_event chains, beside a pipelined client's publish rate

static double
s_publish_rate (s_bench_t *self)
{
    s_options_t *options = self->options;
    zeb_event_t *event = bench_event_padded ("bench.order.placed", NULL, options->size);
    msgpack_sbuffer encoded;
    msgpack_sbuffer_init (&encoded);
    zeb_event_encode (event, &encoded);
    zeb_event_destroy (&event);
    zeb_client_t *client = zeb_client_new (zeb_node_endpoint (self->node, "ingest"));
    zeb_client_set_timeout (client, 30000);
    size_t failures = 0;
    int rc = zeb_client_connect (client);
    int64_t started = zeb_time_mono_us ();
    for (size_t index = 0; index < options->count && rc == 0; index++)
        if (zeb_client_publish_raw_async (client, encoded.data, encoded.size, s_count_failure, &failures))
            failures++;
    if (rc == 0)
        rc = zeb_client_flush (client, 60000);
    int64_t elapsed = zeb_time_mono_us () - started;
    zeb_client_destroy (&client);
    msgpack_sbuffer_destroy (&encoded);
    return rc || failures || elapsed <= 0? -1: (double) options->count * 1e6 / (double) elapsed;
}

static bool
s_all_stored (s_bench_t *self, int64_t stored, int timeout_ms)
{
    int64_t target = stored + (int64_t) self->options->count;
    if (bench_stat_reaches (self->node, "ingest", "ingest/stored", target, false, timeout_ms))
        return true;
    fprintf (stderr, "zeb-bench deliver: emit: %lld of %zu events stored in %d s\n",
             (long long) (bench_stat (self->node, "ingest", "ingest/stored") - stored), self->options->count,
             S_DEADLINE_MS / 1000);
    return false;
}

static int
s_phase_emit (s_bench_t *self, s_result_t *result)
{
    const char *action = "{\"type\":\"emit_event\",\"config\":{\"eventType\":\"" S_EMITTED_TYPE "\","
                         "\"payload\":{\"order\":\"O-10042\",\"quantity\":3}}}";
    int64_t elapsed, stored = bench_stat (self->node, "ingest", "ingest/stored");
    if (stored < 0) {
        //  A target counted from -1 is never reached: say so now, not in 300 s
        fprintf (stderr, "zeb-bench deliver: emit: ingest's STATS have no ingest/stored\n");
        return -1;
    }
    int rc = s_deliver_runs (self, "em", action, s_all_stored, stored, &elapsed, &result->failed);
    double count = (double) self->options->count;
    result->emitted = rc == 0 && elapsed > 0? count * 1e6 / (double) elapsed: 0;
    result->published = s_publish_rate (self);
    return rc || result->published < 0? -1: 0;
}

//  ---------------------------------------------------------------------
//  The node, the receiver, the runs

//  Every endpoint of the node's configuration that is tcp://; 0 if none
static size_t
s_tcp_endpoints (zconfig_t *config, const char *path)
{
    size_t found = 0;
    for (zconfig_t *child = zconfig_child (config); child; child = zconfig_next (child)) {
        char *name = zsys_sprintf ("%s%s%s", path, *path? "/": "", zconfig_name (child));
        const char *value = zconfig_value (child);
        if (value && strncmp (value, "tcp://", 6) == 0) {
            fprintf (stderr, "zeb-bench deliver: %s is %s, not inproc\n", name, value);
            found++;
        }
        found += s_tcp_endpoints (child, name);
        zstr_free (&name);
    }
    return found;
}

static zeb_node_t *
s_node_new (s_options_t *options, const char *data, bool emit)
{
    zconfig_t *settings = zconfig_new ("root", NULL);
    zconfig_put (settings, "node/actors", "ingest,log,outbox");
    zconfig_put (settings, "outbox/executors", emit? "webhook,emit_event,log": "webhook,log");
    zconfig_put (settings, "webhook/allow", "127.0.0.1/32");
    zconfig_putf (settings, "webhook/max_in_flight", "%zu", options->in_flight);
    if (options->batch > 1000)
        zconfig_putf (settings, "outbox/max_enqueue", "%zu", options->batch);
    zeb_fault_t fault;
    zeb_node_t *node = zeb_node_new_embedded_with (data, settings, &fault);
    zconfig_destroy (&settings);
    if (!node)
        fprintf (stderr, "zeb-bench deliver: cannot start the node: %s\n", fault.text);
    else
    if (s_tcp_endpoints (zeb_node_config (node), "")) {
        fprintf (stderr, "zeb-bench deliver: the node would bind tcp ports\n");
        zeb_node_destroy (&node);
    }
    return node;
}

static void
s_usage (FILE *stream)
{
    fprintf (stream,
        "usage: zeb-bench deliver [options]\n"
        "  -n, --count N     runs per throughput and emit phase (default 100000)\n"
        "  -r, --runs R      runs; figures are medians (default 3)\n"
        "  -s, --size S      encoded trigger event size in bytes (default 200)\n"
        "  -b, --batch B     runs per ENQUEUE (default 500)\n"
        "  -k, --in-flight K webhook requests in flight, and the ceiling's handles (default 256)\n"
        "  --pipeline P      ENQUEUEs in flight (default 4)\n"
        "  --rate E          events/s of the latency phase (default 5000)\n"
        "  --seconds T       measured seconds of the latency phase (default 10)\n"
        "  --warmup W        seconds published first, not measured (default 1)\n"
        "  --phases LIST     of throughput,ceiling,latency,emit (default all; for profiling)\n"
        "  --json            one JSON line per run and phase, then the medians\n");
}

static int
s_parse (int argc, char *argv [], s_options_t *options)
{
    for (int index = 2; index < argc; index++) {
        const char *arg = argv [index], *value;
        int kind = bench_option (argc, argv, &index, &value, "zeb-bench deliver", s_usage);
        if (kind == BENCH_OPTION_HELP || kind < 0)
            return kind;
        if (kind == BENCH_OPTION_JSON) {
            options->json = true;
            continue;
        }
        size_t number = strtoull (value, NULL, 10);
        if (streq (arg, "-n") || streq (arg, "--count"))
            options->count = number;
        else
        if (streq (arg, "-r") || streq (arg, "--runs"))
            options->runs = number;
        else
        if (streq (arg, "-s") || streq (arg, "--size"))
            options->size = number;
        else
        if (streq (arg, "-b") || streq (arg, "--batch"))
            options->batch = number;
        else
        if (streq (arg, "-k") || streq (arg, "--in-flight"))
            options->in_flight = number;
        else
        if (streq (arg, "--pipeline"))
            options->pipeline = number;
        else
        if (streq (arg, "--rate"))
            options->rate = number;
        else
        if (streq (arg, "--seconds"))
            options->seconds = number;
        else
        if (streq (arg, "--warmup"))
            options->warmup = number;
        else
        if (streq (arg, "--phases"))
            options->phases = value;
        else {
            fprintf (stderr, "zeb-bench deliver: unknown option '%s'\n", arg);
            return -1;
        }
    }
    if (options->count == 0 || options->runs == 0 || options->size < 64 || options->batch == 0
    ||  options->batch > 100000 || options->in_flight == 0 || options->in_flight > ZEB_EXECUTOR_MAX_CREDIT
    ||  options->pipeline == 0 || options->rate == 0 || options->seconds == 0) {
        fprintf (stderr, "zeb-bench deliver: N, R, B (<= 100000), K (<= %d), P, E, T must be positive, "
                 "S >= 64\n", ZEB_EXECUTOR_MAX_CREDIT);
        return -1;
    }
    return 0;
}

//  Is phase one of those to run?
static bool
s_phase_on (s_bench_t *self, const char *phase)
{
    const char *list = self->options->phases;
    size_t len = strlen (phase);
    for (const char *next = list; next && (next = strstr (next, phase)); next += len)
        if ((next == list || next [-1] == ',') && (next [len] == ',' || next [len] == 0))
            return true;
    return list == NULL;
}

static void
s_print_run (s_bench_t *self, size_t run, const s_result_t *r)
{
    s_options_t *options = self->options;
    bool throughput = s_phase_on (self, "throughput"), ceiling = s_phase_on (self, "ceiling");
    bool latency = s_phase_on (self, "latency"), emit = s_phase_on (self, "emit");
    if (options->json) {
        if (throughput || ceiling)
            printf ("{\"scenario\":\"deliver\",\"phase\":\"throughput\",\"run\":%zu,\"deliveries\":%zu,"
                    "\"deliveries_per_sec\":%.0f,\"commits_per_delivery\":%.4f,\"failed\":%.0f,"
                    "\"cpu_us\":%.1f,\"ceiling_per_sec\":%.0f,\"ceiling_cpu_us\":%.1f,\"ratio\":%.3f}\n",
                    run, options->count, r->deliveries, r->commits, r->failed, r->cpu, r->ceiling,
                    r->ceiling_cpu, r->ratio);
        if (latency)
            printf ("{\"scenario\":\"deliver\",\"phase\":\"latency\",\"run\":%zu,\"rate\":%zu,"
                    "\"samples\":%.0f,\"lost\":%.0f,\"p50_us\":%.0f,\"p90_us\":%.0f,\"p99_us\":%.0f,"
                    "\"max_us\":%.0f}\n",
                    run, options->rate, r->samples, r->lost, r->p50, r->p90, r->p99, r->max);
        if (emit && self->emit)
            printf ("{\"scenario\":\"deliver\",\"phase\":\"emit\",\"run\":%zu,\"events\":%zu,"
                    "\"emitted_per_sec\":%.0f,\"publish_per_sec\":%.0f,\"ratio\":%.3f}\n", run,
                    options->count, r->emitted, r->published, r->emit_ratio);
        else
        if (emit)
            printf ("{\"scenario\":\"deliver\",\"phase\":\"emit\",\"run\":%zu,\"available\":false}\n", run);
        return;
    }
    //  Only the phases that ran, separated by "; "
    printf ("  run %zu:", run);
    const char *separator = " ";
    if (throughput) {
        printf ("%s%7.0f deliveries/s (%.3f commits, %.0f us CPU each%s)", separator, r->deliveries,
                r->commits, r->cpu, r->failed? ", FAILED RUNS": "");
        separator = ", ";
    }
    if (ceiling) {
        printf ("%sceiling %7.0f/s (%.0f us CPU each", separator, r->ceiling, r->ceiling_cpu);
        if (throughput)
            printf ("; zeb at %.0f%%", 100 * r->ratio);
        printf (")");
        separator = "; ";
    }
    if (latency) {
        printf ("%slatency p50 %.2f p90 %.2f p99 %.2f max %.2f ms (%.0f lost)", separator,
                r->p50 / 1000, r->p90 / 1000, r->p99 / 1000, r->max / 1000, r->lost);
        separator = "; ";
    }
    if (emit && self->emit)
        printf ("%semit %.0f/s of publish %.0f/s (%.0f%%)%s", separator, r->emitted, r->published,
                r->published > 0? 100 * r->emitted / r->published: 0, r->failed? ", FAILED RUNS": "");
    else
    if (emit)
        printf ("%semit_event not available", separator);
    printf ("\n");
}

#define S_MEDIAN(field) bench_field_median (results, runs, sizeof (s_result_t), \
                                            offsetof (s_result_t, field))

static void
s_print_medians (s_bench_t *self, s_result_t *results, size_t runs)
{
    s_options_t *options = self->options;
    double deliveries = S_MEDIAN (deliveries), ceiling = S_MEDIAN (ceiling);
    double emitted = S_MEDIAN (emitted), published = S_MEDIAN (published);
    if (options->json) {
        printf ("{\"scenario\":\"deliver\",\"phase\":\"median\",\"runs\":%zu,\"deliveries\":%zu,\"size\":%zu,"
                "\"batch\":%zu,\"in_flight\":%zu,\"pipeline\":%zu,\"deliveries_per_sec\":%.0f,"
                "\"commits_per_delivery\":%.4f,\"cpu_us\":%.1f,\"ceiling_per_sec\":%.0f,"
                "\"ceiling_cpu_us\":%.1f,\"ratio\":%.3f,"
                "\"rate\":%zu,\"p50_us\":%.0f,\"p90_us\":%.0f,\"p99_us\":%.0f,\"max_us\":%.0f,"
                "\"emit_available\":%s,\"emitted_per_sec\":%.0f,\"publish_per_sec\":%.0f,\"emit_ratio\":%.3f}\n",
                runs, options->count, options->size, options->batch, options->in_flight, options->pipeline,
                deliveries, S_MEDIAN (commits), S_MEDIAN (cpu), ceiling, S_MEDIAN (ceiling_cpu),
                S_MEDIAN (ratio), options->rate,
                S_MEDIAN (p50), S_MEDIAN (p90), S_MEDIAN (p99), S_MEDIAN (max),
                self->emit? "true": "false", emitted, published, S_MEDIAN (emit_ratio));
        return;
    }
    bool throughput = s_phase_on (self, "throughput"), ceiling_on = s_phase_on (self, "ceiling");
    if (throughput && ceiling_on)
        printf ("median of %zu: %.0f deliveries/s, ceiling (libcurl multi, %zu in flight) %.0f/s: "
                "zeb at %.1f%% (median of the runs' ratios); %.3f outbox commits per delivery\n", runs,
                deliveries, options->in_flight, ceiling, 100 * S_MEDIAN (ratio), S_MEDIAN (commits));
    else
    if (throughput)
        printf ("median of %zu: %.0f deliveries/s; %.3f outbox commits per delivery\n", runs,
                deliveries, S_MEDIAN (commits));
    else
    if (ceiling_on)
        printf ("median of %zu: ceiling (libcurl multi, %zu in flight) %.0f/s\n", runs,
                options->in_flight, ceiling);
    else
        printf ("median of %zu:\n", runs);
    if (throughput || ceiling_on)
        printf ("CPU of this process per delivery: %.0f us (node, receiver, bench); per ceiling request: "
                "%.0f us (libcurl, receiver)\n", S_MEDIAN (cpu), S_MEDIAN (ceiling_cpu));
    if (s_phase_on (self, "latency"))
        printf ("latency at %zu events/s, publish to webhook received: p50 %.2f ms, p90 %.2f ms, "
                "p99 %.2f ms, max %.2f ms\n", options->rate, S_MEDIAN (p50) / 1000, S_MEDIAN (p90) / 1000,
                S_MEDIAN (p99) / 1000, S_MEDIAN (max) / 1000);
    if (s_phase_on (self, "emit") && self->emit)
        printf ("emit_event chains: %.0f events/s; a pipelined client publishes %.0f/s (%.1f%%)\n",
                emitted, published, 100 * S_MEDIAN (emit_ratio));
    else
    if (s_phase_on (self, "emit"))
        printf ("emit_event chains: emit_event not available (no such executor in this build)\n");
}

static int
s_run (s_bench_t *self, s_result_t *result)
{
    memset (result, 0, sizeof (*result));
    int rc = 0;
    if (s_phase_on (self, "throughput"))
        rc = s_phase_throughput (self, result);
    if (rc == 0 && s_phase_on (self, "ceiling")) {
        result->ceiling = s_phase_ceiling (self, &result->ceiling_cpu);
        rc = result->ceiling > 0? 0: -1;
        result->ratio = result->ceiling > 0? result->deliveries / result->ceiling: 0;
    }
    if (rc == 0 && s_phase_on (self, "latency"))
        rc = s_phase_latency (self, result);
    if (rc == 0 && self->emit && s_phase_on (self, "emit")) {
        rc = s_phase_emit (self, result);
        result->emit_ratio = result->published > 0? result->emitted / result->published: 0;
    }
    return rc;
}

int
bench_deliver_main (int argc, char *argv [])
{
    s_options_t options = {
        .count = 100000, .runs = 3, .size = 200, .batch = 500, .in_flight = 256, .pipeline = 4,
        .rate = 5000, .seconds = 10, .warmup = 1 };
    int parsed = s_parse (argc, argv, &options);
    if (parsed)
        return parsed > 0? 0: 2;
    s_bench_t bench = { .options = &options, .sequence = 1 };
    bench.emit = zeb_executor_lookup ("emit_event") != NULL;
    char temp [] = "/tmp/zeb-bench-XXXXXX";
    const char *data = mkdtemp (temp);
    bench.receiver = receiver_new ();
    bench.node = data && bench.receiver? s_node_new (&options, data, bench.emit): NULL;
    if (!bench.node) {
        receiver_destroy (&bench.receiver);
        return 1;
    }
    snprintf (bench.url, sizeof (bench.url), "http://127.0.0.1:%d/hook", receiver_port (bench.receiver));
    zeb_event_t *event = bench_event_padded ("bench.order.placed", "tp-0000-00000000", options.size);
    bench.body = zeb_event_to_json (event);
    zeb_event_destroy (&event);
    bench.outbox = zeb_proto_dealer_new (zeb_node_endpoint (bench.node, "outbox"), 0, 0);
    json_t *config = json_pack ("{ss}", "url", bench.url);
    zeb_fault_t fault;
    int rc = zeb_node_subscribe (bench.node, "lat", S_LAT_PREFIX, "webhook", config, &fault);
    json_decref (config);
    if (rc)
        fprintf (stderr, "zeb-bench deliver: cannot subscribe: %s\n", fault.text);
    if (!options.json)
        printf ("zeb-bench deliver: %zu runs of one action, events of %zu bytes (webhook body %zu), "
                "ENQUEUEs of %zu (%zu in flight), %zu webhooks in flight; latency at %zu/s for %zu s "
                "after %zu s; embedded node (inproc, sync always) in %s\n",
                options.count, options.size, strlen (bench.body), options.batch, options.pipeline,
                options.in_flight, options.rate, options.seconds, options.warmup, data);
    s_result_t *results = (s_result_t *) calloc (options.runs, sizeof (s_result_t));
    for (size_t run = 0; run < options.runs && rc == 0; run++) {
        rc = s_run (&bench, &results [run]);
        if (rc == 0)
            s_print_run (&bench, run + 1, &results [run]);
    }
    if (rc == 0)
        s_print_medians (&bench, results, options.runs);
    free (results);
    zsock_destroy (&bench.outbox);
    zeb_node_destroy (&bench.node);
    receiver_destroy (&bench.receiver);
    free (bench.body);
    zdir_t *tree = zdir_new (data, NULL);
    if (tree) {
        zdir_remove (tree, true);
        zdir_destroy (&tree);
    }
    return rc? 1: 0;
}
