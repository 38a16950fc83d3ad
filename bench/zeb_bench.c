/*  =========================================================================
    zeb-bench - throughput and latency of zeb, beside its ceilings

    zeb-bench publish [options]
    zeb-bench waiters [-n N] [-c C] [--types T] [--defaults] [--json]

    C clients (threads, one zeb_client each) publish N events of S bytes in
    all, synchronously (each waits for its ack) or pipelined (up to W in
    flight each), against a running zebd (--endpoint) or an embedded node
    started in this process. Reports events/s and ack latency percentiles
    (send to ack), and in the same run the ceilings: raw libzmq PUSH/PULL
    over the same transport with messages of the same size, LMDB durable
    puts in batches of 1,000, and the envelope codec. With --runs R it
    repeats and reports medians. --json prints one JSON line per figure set.

    zeb-bench waiters: the long-poll bound. An embedded node (ingest and
    log, over tcp) with log/max_waits and log/max_waits_per_peer raised to
    fit (or, with --defaults, as shipped: the rest is refused OVERLOADED);
    C DEALERs park N FETCHes between them (wait_ms 60 s, T type prefixes
    each). Reports the process's VmRSS with the clients connected, with the
    FETCHes parked, and after the clients disconnected (the node drops
    their waits), and the node's waiting / waits_refused / waits_dropped.

    zeb-bench bus [options]

    One pipelined client publishes N events with no subscriber, then again
    while S SUB sockets (in a child process, one thread) subscribe to
    everything, K of them never reading; reports both rates and their
    ratio, and the node's RSS (VmRSS and RssAnon: of this process for the
    embedded node, of zebd with --endpoint and --pid) before, at its peak,
    and after the subscribers have gone, beside the bound the bus's
    high-water mark sets. Medians of --runs.

    zeb-bench deliver [options]: webhook actions through the outbox against
    tests/receiver.c, beside libcurl multi against the same receiver;
    publish-to-webhook latency; emit_event chains (bench_deliver.c).
    =========================================================================
*/

#include "zeb.h"
#include "zeb_classes.h"
#include "bench.h"
#include <sys/vfs.h>
#include <malloc.h>
#include <sys/wait.h>
#include <poll.h>
#include <stddef.h>

typedef struct {
    const char *endpoint;       //  running node, or NULL for embedded
    const char *transport;
    const char *data;
    const char *sync_mode;
    const char *validation;     //  NULL, or off/warn/enforce with the registry
    bool registry_down;         //  validation with no registry answering
    size_t count;
    size_t size;
    size_t clients;
    size_t threads;             //  threads driving the clients (0: one each)
    bool synchronous;
    size_t window;
    size_t batch;               //  events per PUBLISH (an array if > 1)
    size_t runs;
    bool baselines;
    bool json;
} s_options_t;

typedef struct {
    double events_per_sec;
    double p50_us, p99_us, p999_us, max_us;
    size_t failures;
} s_result_t;

//  One publishing client
typedef struct {
    const char *endpoint;
    const uint8_t *event;
    size_t event_size;
    size_t count;               //  messages to send
    size_t sent;
    bool synchronous;
    size_t window;
    size_t batch;               //  events per message
    int32_t *latencies;         //  one per message, microseconds
    size_t acked;
    size_t failures;
    zeb_client_t *handle;
    int error;
} s_client_t;

//  One thread drives one or more clients
typedef struct {
    s_client_t *clients;
    size_t count;
} s_driver_t;

static pthread_barrier_t s_start;

static void
s_on_ack (const zeb_ack_t *ack, void *arg)
{
    s_client_t *client = (s_client_t *) arg;
    if (ack->status)
        client->failures++;
    else
        client->latencies [client->acked++] = (int32_t) ack->latency_us;
}

//  A thread with one client uses the client's own calls: publish (and
//  wait), or publish_async with its window
static void
s_drive_one (s_client_t *self)
{
    for (size_t index = 0; index < self->count; index++) {
        if (self->synchronous) {
            zeb_ack_t ack;
            zeb_client_publish_raw (self->handle, self->event, self->event_size, &ack);
            s_on_ack (&ack, self);
        }
        else
        if (zeb_client_publish_raw_async (self->handle, self->event, self->event_size,
                                          s_on_ack, self))
            self->failures++;
    }
    zeb_client_flush (self->handle, 60000);
}

//  A thread with several clients polls their sockets together; a client
//  sends when it has room in its window (a synchronous client: when its
//  one publish is acked), so each keeps its own semantics
static void
s_drive_many (s_client_t *clients, size_t count)
{
    zmq_pollitem_t *items = (zmq_pollitem_t *) calloc (count, sizeof (zmq_pollitem_t));
    for (size_t index = 0; index < count; index++)
        items [index] = (zmq_pollitem_t) {
            zsock_resolve (zeb_client_socket (clients [index].handle)), 0, ZMQ_POLLIN, 0 };
    bool active = true;
    while (active) {
        active = false;
        for (size_t index = 0; index < count; index++) {
            s_client_t *self = &clients [index];
            size_t window = self->synchronous? 1: self->window;
            while (self->sent < self->count && zeb_client_pending (self->handle) < window) {
                if (zeb_client_publish_raw_async (self->handle, self->event, self->event_size,
                                                  s_on_ack, self))
                    self->failures++;
                self->sent++;
            }
            if (self->sent < self->count || zeb_client_pending (self->handle))
                active = true;
        }
        if (!active || zmq_poll (items, (int) count, 1000) < 0)
            continue;
        for (size_t index = 0; index < count; index++)
            if (items [index].revents & ZMQ_POLLIN)
                zeb_client_poll (clients [index].handle, 0);
    }
    free (items);
}

static void *
s_driver_thread (void *arg)
{
    s_driver_t *driver = (s_driver_t *) arg;
    int error = 0;
    for (size_t index = 0; index < driver->count; index++) {
        s_client_t *self = &driver->clients [index];
        self->handle = zeb_client_new (self->endpoint);
        zeb_client_set_window (self->handle, self->synchronous? 1: self->window);
        zeb_client_set_timeout (self->handle, 30000);
        self->error = zeb_client_connect (self->handle);
        if (self->error)
            error = self->error;
    }
    pthread_barrier_wait (&s_start);
    if (error == 0) {
        if (driver->count == 1)
            s_drive_one (driver->clients);
        else
            s_drive_many (driver->clients, driver->count);
    }
    pthread_barrier_wait (&s_start);
    for (size_t index = 0; index < driver->count; index++)
        zeb_client_destroy (&driver->clients [index].handle);
    return NULL;
}

static int
s_compare_int32 (const void *a, const void *b)
{
    int32_t x = *(const int32_t *) a, y = *(const int32_t *) b;
    return (x > y) - (x < y);
}

int
bench_compare_double (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}

//  An event of about size bytes encoded: type, source and padded data; no
//  id, so the node assigns one and nothing is a duplicate
static void
s_make_event (size_t size, msgpack_sbuffer *buffer)
{
    zeb_event_t *event = bench_event_padded ("bench.order.placed", NULL, size);
    msgpack_sbuffer_clear (buffer);
    zeb_event_encode (event, buffer);
    zeb_event_destroy (&event);
}

//  The validation benches publish orders of a registered schema
static void
s_make_order (msgpack_sbuffer *buffer)
{
    zeb_event_t *event = zeb_event_new ("bench.order.placed");
    zeb_event_set (event, "source", "zeb-bench");
    zeb_event_set_data_json (event, bench_order_payload, NULL);
    msgpack_sbuffer_clear (buffer);
    zeb_event_encode (event, buffer);
    zeb_event_destroy (&event);
}

static int
s_register_order (zeb_node_t *node)
{
    zsock_t *registry = zsock_new_dealer (zeb_node_endpoint (node, "registry"));
    zsock_set_rcvtimeo (registry, 5000);
    json_t *body = json_pack ("{s:s, s:s}", "type", "bench.order.placed", "schema", bench_order_schema);
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    zeb_json_to_msgpack (body, &pk);
    json_decref (body);
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, "REGISTER");
    zmsg_addmem (msg, buffer.data, buffer.size);
    zmsg_send (&msg, registry);
    msgpack_sbuffer_destroy (&buffer);
    char *reply = zstr_recv (registry);
    int rc = reply && streq (reply, "REGISTER")? 0: -1;
    if (rc)
        fprintf (stderr, "zeb-bench: cannot register the bench schema\n");
    zstr_free (&reply);
    zsock_destroy (&registry);
    return rc;
}

static int
s_run_publish (s_options_t *options, const char *endpoint, const msgpack_sbuffer *event,
               s_result_t *result)
{
    size_t clients = options->clients;
    size_t drivers = options->threads && options->threads < clients? options->threads: clients;
    s_client_t *client = (s_client_t *) calloc (clients, sizeof (s_client_t));
    s_driver_t *driver = (s_driver_t *) calloc (drivers, sizeof (s_driver_t));
    pthread_t *threads = (pthread_t *) calloc (drivers, sizeof (pthread_t));
    pthread_barrier_init (&s_start, NULL, (unsigned) drivers + 1);
    for (size_t index = 0; index < clients; index++) {
        client [index].endpoint = endpoint;
        client [index].event = (const uint8_t *) event->data;
        client [index].event_size = event->size;
        size_t messages = options->count / options->batch;
        client [index].count = messages / clients + (index < messages % clients);
        client [index].batch = options->batch;
        client [index].synchronous = options->synchronous;
        client [index].window = options->window;
        client [index].latencies = (int32_t *) malloc (sizeof (int32_t) * (client [index].count + 1));
    }
    //  Clients dealt out to the threads as evenly as they go
    for (size_t index = 0, first = 0; index < drivers; index++) {
        driver [index].clients = &client [first];
        driver [index].count = clients / drivers + (index < clients % drivers);
        first += driver [index].count;
        pthread_create (&threads [index], NULL, s_driver_thread, &driver [index]);
    }
    pthread_barrier_wait (&s_start);            //  all connected
    int64_t started = zeb_time_mono_us ();
    pthread_barrier_wait (&s_start);            //  all flushed
    int64_t elapsed = zeb_time_mono_us () - started;
    size_t acked = 0, failures = 0;
    int error = 0;
    for (size_t index = 0; index < drivers; index++)
        pthread_join (threads [index], NULL);
    for (size_t index = 0; index < clients; index++) {
        acked += client [index].acked * client [index].batch;
        failures += client [index].failures;
        if (client [index].error)
            error = client [index].error;
    }
    pthread_barrier_destroy (&s_start);
    int32_t *all = (int32_t *) malloc (sizeof (int32_t) * (acked + 1));
    size_t filled = 0;
    for (size_t index = 0; index < clients; index++) {
        memcpy (all + filled, client [index].latencies, client [index].acked * sizeof (int32_t));
        filled += client [index].acked;
        free (client [index].latencies);
    }
    qsort (all, filled, sizeof (int32_t), s_compare_int32);
    memset (result, 0, sizeof (*result));
    result->events_per_sec = elapsed > 0? (double) acked * 1e6 / (double) elapsed: 0;
    if (filled) {
        result->p50_us = all [filled * 50 / 100];
        result->p99_us = all [filled * 99 / 100];
        result->p999_us = all [filled * 999 / 1000];
        result->max_us = all [filled - 1];
    }
    result->failures = failures;
    free (all);
    free (client);
    free (driver);
    free (threads);
    if (error)
        fprintf (stderr, "zeb-bench: cannot reach %s: %s\n", endpoint, zeb_strerror (error));
    return error? -1: 0;
}

//  ---------------------------------------------------------------------
//  zeb-bench waiters

//  This process's resident set, in KiB (0 if unknown)
static size_t
s_rss_kib (void)
{
    FILE *file = fopen ("/proc/self/status", "r");
    size_t kib = 0;
    char line [256];
    while (file && fgets (line, sizeof (line), file))
        if (strncmp (line, "VmRSS:", 6) == 0)
            kib = strtoull (line + 6, NULL, 10);
    if (file)
        fclose (file);
    return kib;
}

//  Bytes malloc has handed out and not had back, every arena (0 if unknown):
//  what the process holds, without the freed memory RSS keeps
static size_t
s_heap_in_use (void)
{
#if defined (__GLIBC__) && __GLIBC_PREREQ (2, 33)
    return mallinfo2 ().uordblks;
#else
    return 0;
#endif
}

//  Read and drop every reply waiting on the clients (refusals)
static void
s_drain (zsock_t **dealers, size_t count)
{
    for (size_t index = 0; index < count; index++) {
        zsock_set_rcvtimeo (dealers [index], 0);
        zmsg_t *msg;
        while ((msg = zmsg_recv (dealers [index])))
            zmsg_destroy (&msg);
    }
}

int64_t
bench_stat (zeb_node_t *node, const char *actor, const char *key)
{
    char *text = zeb_node_stats (node, actor);
    json_t *json = text? json_loads (text, 0, NULL): NULL;
    //  "a/b" is member b of map a: ingest keeps "stored" in "ingest"
    json_t *value = json;
    char path [128];
    snprintf (path, sizeof (path), "%s", key);
    for (char *name = path, *slash; value && name; name = slash? slash + 1: NULL) {
        slash = strchr (name, '/');
        if (slash)
            *slash = 0;
        value = json_object_get (value, name);
    }
    int64_t number = json_is_integer (value)? (int64_t) json_integer_value (value): -1;
    json_decref (json);
    free (text);
    return number;
}

bool
bench_stat_reaches (zeb_node_t *node, const char *actor, const char *key, int64_t value, bool exact,
                    int timeout_ms)
{
    int64_t deadline = zclock_mono () + timeout_ms;
    while (true) {
        int64_t now = bench_stat (node, actor, key);
        if (exact? now == value: now >= value)
            return true;
        if (zclock_mono () >= deadline)
            return false;
        zclock_sleep (5);
    }
}

static int
s_waiters_main (int argc, char *argv [])
{
    size_t count = 20000, clients = 200, types = 32;
    bool defaults = false, json_output = false;
    for (int index = 2; index < argc; index++) {
        const char *arg = argv [index];
        const char *value = index + 1 < argc? argv [index + 1]: NULL;
        if (streq (arg, "--defaults"))
            defaults = true;
        else
        if (streq (arg, "--json"))
            json_output = true;
        else
        if (value && (streq (arg, "-n") || streq (arg, "--count")) && ++index)
            count = strtoull (value, NULL, 10);
        else
        if (value && (streq (arg, "-c") || streq (arg, "--clients")) && ++index)
            clients = strtoull (value, NULL, 10);
        else
        if (value && streq (arg, "--types") && ++index)
            types = strtoull (value, NULL, 10);
        else {
            fprintf (stderr, "usage: zeb-bench waiters [-n N] [-c C] [--types T] [--defaults] [--json]\n");
            return 2;
        }
    }
    if (count == 0 || clients == 0 || clients > count || types > 32) {
        fprintf (stderr, "zeb-bench waiters: N >= C > 0, T <= 32\n");
        return 2;
    }
    size_t per_client = (count + clients - 1) / clients;
    char temp [] = "/tmp/zeb-bench-XXXXXX";
    const char *data = mkdtemp (temp);
    zconfig_t *config = zconfig_new ("root", NULL);
    zconfig_put (config, "node/data", data);
    zconfig_put (config, "node/actors", "ingest,log");
    zconfig_put (config, "ingest/endpoint", "tcp://127.0.0.1:*");
    zconfig_put (config, "log/endpoint", "tcp://127.0.0.1:*");
    zconfig_put (config, "bus/endpoint", "tcp://127.0.0.1:*");
    if (!defaults) {
        zconfig_putf (config, "log/max_waits", "%zu", count);
        zconfig_putf (config, "log/max_waits_per_peer", "%zu", per_client);
    }
    zeb_fault_t fault;
    zeb_node_t *node = zeb_node_new (config, &fault);
    zconfig_destroy (&config);
    if (!node) {
        fprintf (stderr, "zeb-bench: cannot start the node: %s\n", fault.text);
        return 1;
    }
    //  One FETCH body for all: from 1 of an empty log, nothing matches
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    zeb_pack_t pack;
    zeb_pack_init (&pack, &body);
    zeb_pack_map (&pack, NULL);
    zeb_pack_uint (&pack, "from", 1);
    zeb_pack_uint (&pack, "wait_ms", 60000);
    zeb_pack_array (&pack, "types");
    for (size_t index = 0; index < types; index++) {
        char prefix [40];
        snprintf (prefix, sizeof (prefix), "tenant-%04zu.orders.shipped.", index);
        zeb_pack_str (&pack, NULL, prefix);
    }
    zeb_pack_end (&pack);
    zeb_pack_end (&pack);

    //  Connected, each with one answered FETCH: the sessions' own memory
    zsock_t **dealers = (zsock_t **) calloc (clients, sizeof (zsock_t *));
    const char *endpoint = zeb_node_endpoint (node, "log");
    for (size_t index = 0; index < clients; index++) {
        dealers [index] = zsock_new_dealer (endpoint);
        zeb_proto_send (zsock_resolve (dealers [index]), NULL, "FETCH", "\x80", 1, NULL, 0, 0);
    }
    for (size_t index = 0; index < clients; index++) {
        zsock_set_rcvtimeo (dealers [index], 10000);
        zmsg_t *msg = zmsg_recv (dealers [index]);
        zmsg_destroy (&msg);
    }
    size_t rss_connected = s_rss_kib ();
    size_t heap_connected = s_heap_in_use ();

    //  Park: every client sends its share, without waiting for anything
    int64_t started = zclock_mono ();
    size_t sent = 0;
    for (size_t index = 0; index < clients; index++)
        for (size_t request = 0; request < per_client && sent < count; request++, sent++) {
            char tag [24];
            snprintf (tag, sizeof (tag), "%zu", request);
            zeb_proto_send (zsock_resolve (dealers [index]), NULL, "FETCH", body.data, body.size,
                            tag, strlen (tag), 0);
        }
    //  Each FETCH is either parked or refused (a NACK that stays queued here)
    int64_t deadline = zclock_mono () + 60000;
    int64_t waiting = 0, refused = 0;
    while (zclock_mono () < deadline) {
        waiting = bench_stat (node, "log", "waiting");
        refused = bench_stat (node, "log", "waits_refused");
        if (waiting + (refused > 0? refused: 0) >= (int64_t) count)
            break;
        zclock_sleep (20);
    }
    int64_t parked_ms = zclock_mono () - started;
    s_drain (dealers, clients);
    size_t rss_parked = s_rss_kib ();
    size_t heap_parked = s_heap_in_use ();

    //  Gone: the node drops their waits
    started = zclock_mono ();
    for (size_t index = 0; index < clients; index++)
        zsock_destroy (&dealers [index]);
    bool dropped = bench_stat_reaches (node, "log", "waiting", 0, true, 10000);
    int64_t dropped_ms = zclock_mono () - started;
    int64_t waits_dropped = bench_stat (node, "log", "waits_dropped");
    size_t rss_gone = s_rss_kib ();
    size_t heap_gone = s_heap_in_use ();
    double per_wait = waiting > 0? 1024.0 * (double) (rss_parked - rss_connected) / (double) waiting: 0;
    double heap_per_wait = waiting > 0? ((double) heap_parked - (double) heap_connected) / (double) waiting: 0;
    if (json_output)
        printf ("{\"scenario\":\"waiters\",\"fetches\":%zu,\"clients\":%zu,\"types\":%zu,"
                "\"defaults\":%s,\"waiting\":%lld,\"refused\":%lld,\"dropped\":%lld,"
                "\"rss_connected_kib\":%zu,\"rss_parked_kib\":%zu,\"rss_gone_kib\":%zu,"
                "\"rss_per_wait\":%.0f,\"heap_connected\":%zu,\"heap_parked\":%zu,\"heap_gone\":%zu,"
                "\"heap_per_wait\":%.0f,\"park_ms\":%lld,\"drop_ms\":%lld}\n",
                count, clients, types, defaults? "true": "false", (long long) waiting,
                (long long) refused, (long long) waits_dropped, rss_connected, rss_parked, rss_gone,
                per_wait, heap_connected, heap_parked, heap_gone, heap_per_wait,
                (long long) parked_ms, (long long) dropped_ms);
    else {
        printf ("zeb-bench waiters: %zu FETCHes (wait_ms 60000, %zu type prefixes) from %zu DEALERs, "
                "embedded node over tcp, caps %s\n", count, types, clients,
                defaults? "as shipped": "raised to fit");
        printf ("  parked %lld, refused OVERLOADED %lld, in %lld ms\n",
                (long long) waiting, (long long) refused, (long long) parked_ms);
        printf ("  VmRSS: connected %zu KiB, parked %zu KiB (+%zu KiB, %.0f bytes per wait)\n",
                rss_connected, rss_parked, rss_parked - rss_connected, per_wait);
        printf ("  malloc in use: connected %zu KiB, parked %zu KiB (%.0f bytes per wait)\n",
                heap_connected / 1024, heap_parked / 1024, heap_per_wait);
        printf ("  clients gone: %s in %lld ms, waits_dropped %lld; VmRSS %zu KiB, malloc in use %zu KiB\n",
                dropped? "waiting 0": "waits LEFT", (long long) dropped_ms, (long long) waits_dropped,
                rss_gone, heap_gone / 1024);
    }
    free (dealers);
    msgpack_sbuffer_destroy (&body);
    zeb_node_destroy (&node);
    zdir_t *tree = zdir_new (data, NULL);
    if (tree) {
        zdir_remove (tree, true);
        zdir_destroy (&tree);
    }
    return dropped? 0: 1;
}

double
bench_median (double *values, size_t count)
{
    qsort (values, count, sizeof (double), bench_compare_double);
    return count % 2? values [count / 2]: (values [count / 2 - 1] + values [count / 2]) / 2;
}

double
bench_field_median (const void *results, size_t count, size_t stride, size_t offset)
{
    double *values = (double *) calloc (count, sizeof (double));
    for (size_t index = 0; index < count; index++)
        values [index] = *(const double *) ((const char *) results + index * stride + offset);
    double median = bench_median (values, count);
    free (values);
    return median;
}

//  ---------------------------------------------------------------------
//  zeb-bench bus: publishing while many subscribers listen, some stuck
//
//  The subscribers run in a child process forked before any ZeroMQ
//  context exists, on raw libzmq, so that the node's memory (this
//  process, or zebd's) does not include theirs. One thread polls them
//  all: the stuck ones read one probe (proof that their subscription has
//  reached the bus) and then nothing; the others read all they can. The
//  parent drives the child with one-line commands on a pipe:
//
//      CONNECT endpoint    connect and subscribe to everything; answers
//                          READY once every subscriber has had a message
//      CLOSE               close them all (linger 0); answers
//                          CLOSED min median max (events the readers got)
//      QUIT                exit

#define S_BUS_MAX_SETTINGS  16

typedef struct {
    const char *endpoint;       //  running zebd, or NULL for embedded
    int pid;                    //  zebd's pid, for its RSS
    size_t count;
    size_t size;
    size_t window;
    size_t runs;
    size_t subscribers;
    size_t stuck;
    bool json;
    const char *settings [S_BUS_MAX_SETTINGS];
    size_t setting_count;
} s_bus_options_t;

typedef struct {
    int64_t rss_kb;             //  VmRSS
    int64_t anon_kb;            //  RssAnon: the heap, without mapped files (LMDB)
} s_rss_t;

//  The memory of process pid, from /proc/PID/status; -1 if unreadable
static s_rss_t
s_rss_read (int pid)
{
    s_rss_t rss = { -1, -1 };
    char path [64];
    snprintf (path, sizeof (path), "/proc/%d/status", pid);
    FILE *file = fopen (path, "r");
    if (!file)
        return rss;
    char line [256];
    while (fgets (line, sizeof (line), file)) {
        if (strncmp (line, "VmRSS:", 6) == 0)
            rss.rss_kb = strtoll (line + 6, NULL, 10);
        else
        if (strncmp (line, "RssAnon:", 8) == 0)
            rss.anon_kb = strtoll (line + 8, NULL, 10);
    }
    fclose (file);
    return rss;
}

//  A thread that samples the node's RSS every 5 ms and keeps the peak
typedef struct {
    int pid;
    volatile bool stop;
    s_rss_t peak;
} s_sampler_t;

static void *
s_sampler_thread (void *arg)
{
    s_sampler_t *self = (s_sampler_t *) arg;
    while (!self->stop) {
        s_rss_t rss = s_rss_read (self->pid);
        if (rss.rss_kb > self->peak.rss_kb)
            self->peak.rss_kb = rss.rss_kb;
        if (rss.anon_kb > self->peak.anon_kb)
            self->peak.anon_kb = rss.anon_kb;
        usleep (5000);
    }
    return NULL;
}

//  Read one line (a command or a reply) from fd, without buffering
//  beyond it; returns its length, or -1 at EOF
static int
s_read_line (int fd, char *line, size_t size)
{
    size_t length = 0;
    while (length + 1 < size) {
        char c;
        if (read (fd, &c, 1) != 1)
            return -1;
        if (c == '\n')
            break;
        line [length++] = c;
    }
    line [length] = 0;
    return (int) length;
}

static int
s_compare_size (const void *a, const void *b)
{
    size_t x = *(const size_t *) a, y = *(const size_t *) b;
    return (x > y) - (x < y);
}

//  The child: subscribers on raw libzmq. Index < stuck: never reads after
//  its first message.
static void
s_subscribers_main (int commands, int replies, size_t count, size_t stuck)
{
    void *context = zmq_ctx_new ();
    void **sockets = (void **) calloc (count, sizeof (void *));
    size_t *received = (size_t *) calloc (count, sizeof (size_t));
    bool *heard = (bool *) calloc (count, sizeof (bool));
    zmq_pollitem_t *items = (zmq_pollitem_t *) calloc (count + 1, sizeof (zmq_pollitem_t));
    char line [512];
    while (s_read_line (commands, line, sizeof (line)) >= 0) {
        if (strncmp (line, "CONNECT ", 8) != 0)
            break;                                  //  QUIT, or nonsense
        items [0] = (zmq_pollitem_t) { NULL, commands, ZMQ_POLLIN, 0 };
        for (size_t index = 0; index < count; index++) {
            sockets [index] = zmq_socket (context, ZMQ_SUB);
            int linger = 0;
            zmq_setsockopt (sockets [index], ZMQ_LINGER, &linger, sizeof (linger));
            zmq_setsockopt (sockets [index], ZMQ_SUBSCRIBE, "", 0);
            zmq_connect (sockets [index], line + 8);
            items [index + 1] = (zmq_pollitem_t) { sockets [index], 0, ZMQ_POLLIN, 0 };
            received [index] = 0;
            heard [index] = false;
        }
        size_t heard_count = 0;
        bool closing = false;
        while (!closing) {
            if (zmq_poll (items, (int) count + 1, 1000) < 0)
                break;
            if (items [0].revents & ZMQ_POLLIN)
                closing = true;                     //  CLOSE
            for (size_t index = 0; index < count; index++) {
                if (!(items [index + 1].revents & ZMQ_POLLIN))
                    continue;
                zmq_msg_t topic, event;
                zmq_msg_init (&topic);
                zmq_msg_init (&event);
                while (zmq_msg_recv (&topic, sockets [index], ZMQ_DONTWAIT) >= 0) {
                    zmq_msg_recv (&event, sockets [index], 0);
                    if (!heard [index]) {
                        heard [index] = true;
                        if (++heard_count == count
                        &&  write (replies, "READY\n", 6) != 6)
                            closing = true;
                    }
                    if (zmq_msg_size (&topic) != 11
                    ||  memcmp (zmq_msg_data (&topic), "bench.probe", 11) != 0)
                        received [index]++;
                    if (index < stuck) {
                        items [index + 1].events = 0;   //  and never again
                        break;
                    }
                }
                zmq_msg_close (&topic);
                zmq_msg_close (&event);
            }
        }
        s_read_line (commands, line, sizeof (line));
        for (size_t index = 0; index < count; index++)
            zmq_close (sockets [index]);
        size_t readers = count - stuck;
        qsort (received + stuck, readers, sizeof (size_t), s_compare_size);
        char reply [128];
        int length = snprintf (reply, sizeof (reply), "CLOSED %zu %zu %zu\n",
                               readers? received [stuck]: 0, readers? received [stuck + readers / 2]: 0,
                               readers? received [count - 1]: 0);
        if (write (replies, reply, (size_t) length) != length)
            break;
    }
    zmq_ctx_term (context);
    free (sockets);
    free (received);
    free (heard);
    free (items);
}

//  A value of the ingest section of STATS, or 0
static uint64_t
s_ingest_stat (zeb_client_t *client, const char *key)
{
    int error = 0;
    char *text = zeb_client_stats (client, &error);
    json_t *json = text? json_loads (text, 0, NULL): NULL;
    json_t *value = json_object_get (json_object_get (json_object_get (json, "ingest"), "ingest"), key);
    uint64_t number = json_is_integer (value)? (uint64_t) json_integer_value (value): 0;
    json_decref (json);
    free (text);
    return number;
}

//  Until the child says READY, publish a probe every 10 ms; 0, or -1
//  after 30 s
static int
s_await_subscribers (zeb_client_t *client, int replies)
{
    zeb_event_t *probe = zeb_event_new ("bench.probe");
    zeb_event_set (probe, "source", "zeb-bench");
    int64_t deadline = zclock_mono () + 30000;
    int rc = -1;
    while (zclock_mono () < deadline) {
        zeb_ack_t ack;
        zeb_client_publish (client, probe, &ack);
        struct pollfd ready = { replies, POLLIN, 0 };
        if (poll (&ready, 1, 10) == 1) {
            char line [64];
            rc = s_read_line (replies, line, sizeof (line)) > 0 && streq (line, "READY")? 0: -1;
            break;
        }
    }
    zeb_event_destroy (&probe);
    return rc;
}

//  Until RSS stops falling for 500 ms (at most 5 s): the freed queues are
//  given back a second after the last subscription went (S_TRIM_DELAY in
//  ingest)
static s_rss_t
s_settled_rss (int pid)
{
    s_rss_t last = s_rss_read (pid);
    int64_t deadline = zclock_mono () + 5000, quiet_since = zclock_mono ();
    while (zclock_mono () < deadline && zclock_mono () - quiet_since < 1500) {
        usleep (50000);
        s_rss_t now = s_rss_read (pid);
        if (now.rss_kb < last.rss_kb - 256)
            quiet_since = zclock_mono ();
        last = now;
    }
    return last;
}

typedef struct {
    double alone;               //  events/s with no subscriber
    double loaded;              //  events/s with the subscribers
    double ratio;
    double p99_alone_us, p99_loaded_us;
    double rss_before, rss_peak, rss_after;         //  MiB
    double anon_before, anon_peak, anon_after;
    double readers_min, readers_median, readers_max; //  events received
    double overflows;
} s_bus_result_t;

int
bench_option (int argc, char *argv [], int *index, const char **value, const char *command,
              void (*usage) (FILE *stream))
{
    const char *arg = argv [*index];
    *value = NULL;
    if (streq (arg, "-h") || streq (arg, "--help")) {
        usage (stdout);
        return BENCH_OPTION_HELP;
    }
    if (streq (arg, "--json"))
        return BENCH_OPTION_JSON;
    if (*index + 1 >= argc) {
        fprintf (stderr, "%s: '%s' needs a value\n", command, arg);
        return -1;
    }
    *value = argv [++*index];
    return BENCH_OPTION_VALUE;
}

static void
s_bus_usage (FILE *stream)
{
    fprintf (stream,
        "usage: zeb-bench bus [options]\n"
        "  --endpoint EP     a running zebd's ingest endpoint (default: embedded node)\n"
        "  --pid PID         that zebd's pid, whose RSS is reported (required with --endpoint)\n"
        "  --set KEY=VALUE   an embedded node setting, e.g. bus/hwm=100000 (repeatable)\n"
        "  -n, --count N     events per publish (default 200000)\n"
        "  -s, --size S      encoded event size in bytes (default 200)\n"
        "  -w, --window W    pipelined publishes in flight (default 4000)\n"
        "  --subscribers S   SUB sockets subscribed to everything (default 200)\n"
        "  --stuck K         of them, how many never read (default 1)\n"
        "  -r, --runs R      runs; figures are medians (default 3)\n"
        "  --json            one JSON line of results\n");
}

static int
s_bus_parse (int argc, char *argv [], s_bus_options_t *options)
{
    for (int index = 2; index < argc; index++) {
        const char *arg = argv [index], *value;
        int kind = bench_option (argc, argv, &index, &value, "zeb-bench bus", s_bus_usage);
        if (kind == BENCH_OPTION_HELP || kind < 0)
            return kind;
        if (kind == BENCH_OPTION_JSON)
            options->json = true;
        else
        if (streq (arg, "--endpoint"))
            options->endpoint = value;
        else
        if (streq (arg, "--pid"))
            options->pid = atoi (value);
        else
        if (streq (arg, "--set") && options->setting_count < S_BUS_MAX_SETTINGS && strchr (value, '='))
            options->settings [options->setting_count++] = value;
        else
        if (streq (arg, "-n") || streq (arg, "--count"))
            options->count = strtoull (value, NULL, 10);
        else
        if (streq (arg, "-s") || streq (arg, "--size"))
            options->size = strtoull (value, NULL, 10);
        else
        if (streq (arg, "-w") || streq (arg, "--window"))
            options->window = strtoull (value, NULL, 10);
        else
        if (streq (arg, "--subscribers"))
            options->subscribers = strtoull (value, NULL, 10);
        else
        if (streq (arg, "--stuck"))
            options->stuck = strtoull (value, NULL, 10);
        else
        if (streq (arg, "-r") || streq (arg, "--runs"))
            options->runs = strtoull (value, NULL, 10);
        else {
            fprintf (stderr, "zeb-bench: unknown option or bad value '%s %s'\n", arg, value);
            return -1;
        }
    }
    if (options->count == 0 || options->window == 0 || options->runs == 0 || options->size < 64
    ||  options->subscribers == 0 || options->stuck > options->subscribers
    ||  (options->endpoint && options->pid <= 0)) {
        fprintf (stderr, "zeb-bench: count, window, runs, subscribers must be positive, size >= 64, "
                 "stuck <= subscribers, --pid with --endpoint\n");
        return -1;
    }
    return 0;
}

//  One run: publish alone, then with the subscribers; their memory
static int
s_bus_run (s_bus_options_t *options, const char *endpoint, int pid, const msgpack_sbuffer *event,
           int commands, int replies, s_bus_result_t *result)
{
    s_options_t publish = {
        .count = options->count, .clients = 1, .window = options->window, .batch = 1 };
    s_result_t alone, loaded;
    memset (result, 0, sizeof (*result));
    if (s_run_publish (&publish, endpoint, event, &alone))
        return -1;
    zeb_client_t *client = zeb_client_new (endpoint);
    zeb_client_set_timeout (client, 30000);
    if (zeb_client_connect (client)) {
        zeb_client_destroy (&client);
        return -1;
    }
    uint64_t overflows = s_ingest_stat (client, "bus_overflows");
    char command [320];
    int length = snprintf (command, sizeof (command), "CONNECT %s\n", zeb_client_bus_endpoint (client));
    int rc = write (commands, command, (size_t) length) == length? 0: -1;
    if (rc == 0)
        rc = s_await_subscribers (client, replies);
    if (rc) {
        fprintf (stderr, "zeb-bench: the subscribers did not get a probe within 30 s\n");
        zeb_client_destroy (&client);
        return -1;
    }
    s_rss_t before = s_rss_read (pid);
    s_sampler_t sampler = { pid, false, before };
    pthread_t thread;
    pthread_create (&thread, NULL, s_sampler_thread, &sampler);
    rc = s_run_publish (&publish, endpoint, event, &loaded);
    char line [128] = "";
    size_t got [3] = { 0, 0, 0 };
    if (write (commands, "CLOSE\n", 6) != 6
    ||  s_read_line (replies, line, sizeof (line)) < 0
    ||  sscanf (line, "CLOSED %zu %zu %zu", &got [0], &got [1], &got [2]) != 3)
        rc = -1;
    //  Until the node has seen them go, then until its memory settles
    int64_t deadline = zclock_mono () + 10000;
    while (rc == 0 && s_ingest_stat (client, "bus_subscriptions") > 0 && zclock_mono () < deadline)
        usleep (10000);
    s_rss_t after = s_settled_rss (pid);
    sampler.stop = true;
    pthread_join (thread, NULL);
    result->overflows = (double) (s_ingest_stat (client, "bus_overflows") - overflows);
    zeb_client_destroy (&client);
    result->alone = alone.events_per_sec;
    result->loaded = loaded.events_per_sec;
    result->ratio = alone.events_per_sec > 0? loaded.events_per_sec / alone.events_per_sec: 0;
    result->p99_alone_us = alone.p99_us;
    result->p99_loaded_us = loaded.p99_us;
    result->rss_before = before.rss_kb / 1024.0;
    result->rss_peak = sampler.peak.rss_kb / 1024.0;
    result->rss_after = after.rss_kb / 1024.0;
    result->anon_before = before.anon_kb / 1024.0;
    result->anon_peak = sampler.peak.anon_kb / 1024.0;
    result->anon_after = after.anon_kb / 1024.0;
    result->readers_min = (double) got [0];
    result->readers_median = (double) got [1];
    result->readers_max = (double) got [2];
    return rc || alone.failures || loaded.failures? -1: 0;
}

#define S_MEDIAN(field) bench_field_median (results, runs, sizeof (s_bus_result_t), \
                                            offsetof (s_bus_result_t, field))

static int
s_bus_main (int argc, char *argv [])
{
    s_bus_options_t options = {
        .count = 200000, .size = 200, .window = ZEB_CLIENT_WINDOW, .runs = 3,
        .subscribers = 200, .stuck = 1 };
    int parsed = s_bus_parse (argc, argv, &options);
    if (parsed)
        return parsed > 0? 0: 2;
    //  The subscribers' process first, before this one has any ZeroMQ
    int to_child [2], from_child [2];
    if (pipe (to_child) || pipe (from_child))
        return 1;
    pid_t child = fork ();
    if (child == 0) {
        close (to_child [1]);
        close (from_child [0]);
        s_subscribers_main (to_child [0], from_child [1], options.subscribers, options.stuck);
        _exit (0);              //  not the parent's atexit handlers
    }
    close (to_child [0]);
    close (from_child [1]);
    int commands = to_child [1], replies = from_child [0];
    zsys_handler_set (NULL);
    zsys_set_logsystem (false);
    zsys_set_logstream (stderr);

    char temp [] = "/tmp/zeb-bench-XXXXXX";
    const char *data = NULL;
    zeb_node_t *node = NULL;
    const char *endpoint = options.endpoint;
    int pid = options.pid;
    size_t hwm = 0;
    if (!endpoint) {
        data = mkdtemp (temp);
        zconfig_t *config = zconfig_new ("root", NULL);
        zconfig_put (config, "node/data", data);
        zconfig_put (config, "ingest/endpoint", "tcp://127.0.0.1:*");
        zconfig_put (config, "log/endpoint", "tcp://127.0.0.1:*");
        zconfig_put (config, "bus/endpoint", "tcp://127.0.0.1:*");
        zconfig_put (config, "http/endpoint", "");
        for (size_t index = 0; index < options.setting_count; index++) {
            char *key = strdup (options.settings [index]);
            char *value = strchr (key, '=');
            *value++ = 0;
            zconfig_put (config, key, value);
            free (key);
        }
        zeb_fault_t fault;
        node = zeb_node_new (config, &fault);
        zconfig_destroy (&config);
        if (!node) {
            fprintf (stderr, "zeb-bench: cannot start the node: %s\n", fault.text);
            return 1;
        }
        endpoint = zeb_node_endpoint (node, "ingest");
        pid = (int) getpid ();
    }
    msgpack_sbuffer event;
    msgpack_sbuffer_init (&event);
    s_make_event (options.size, &event);
    zeb_client_t *client = zeb_client_new (endpoint);
    if (zeb_client_connect (client) == 0)
        hwm = (size_t) s_ingest_stat (client, "bus_hwm");
    zeb_client_destroy (&client);
    if (!options.json)
        printf ("zeb-bench bus: %zu events of %zu bytes, 1 pipelined client (window %zu), "
                "%zu subscribers (%zu never reading), node %s, bus/hwm as applied %zu\n",
                options.count, event.size, options.window, options.subscribers, options.stuck,
                node? "embedded (RSS of this process, subscribers in a child)": endpoint, hwm);

    size_t runs = options.runs;
    s_bus_result_t *results = (s_bus_result_t *) calloc (runs, sizeof (s_bus_result_t));
    int rc = 0;
    for (size_t run = 0; run < runs && rc == 0; run++) {
        s_bus_result_t *r = &results [run];
        rc = s_bus_run (&options, endpoint, pid, &event, commands, replies, r);
        if (!options.json && rc == 0)
            printf ("  run %zu: alone %8.0f events/s (p99 %5.1f ms); with subscribers %8.0f (%.2f, p99 %5.1f ms)\n"
                    "         RSS MiB before %.0f peak %.0f after %.0f (anon %.0f / %.0f / %.0f); "
                    "readers got %.0f..%.0f (median %.0f); overflows %.0f\n",
                    run + 1, r->alone, r->p99_alone_us / 1000, r->loaded, r->ratio, r->p99_loaded_us / 1000,
                    r->rss_before, r->rss_peak, r->rss_after, r->anon_before, r->anon_peak, r->anon_after,
                    r->readers_min, r->readers_max, r->readers_median, r->overflows);
    }
    if (write (commands, "QUIT\n", 5) != 5)
        rc = -1;
    waitpid (child, NULL, 0);
    zeb_node_destroy (&node);
    if (rc == 0) {
        //  What the bus may hold: every subscriber's queue full of distinct
        //  events, each 2 message slots (64 B each) and its body (the event,
        //  40 B of libzmq header, malloc's rounding: +64); per connection,
        //  its pipe's spare chunks and the engine's buffers (~64 KiB)
        double bound = S_MEDIAN (anon_before)
                     + options.subscribers * (hwm * (event.size + 192.0) + 65536) / (1024 * 1024);
        if (options.json)
            printf ("{\"scenario\":\"bus\",\"events\":%zu,\"size\":%zu,\"window\":%zu,\"subscribers\":%zu,"
                    "\"stuck\":%zu,\"runs\":%zu,\"node\":\"%s\",\"bus_hwm\":%zu,"
                    "\"alone_per_sec\":%.0f,\"loaded_per_sec\":%.0f,\"ratio\":%.3f,"
                    "\"p99_alone_us\":%.0f,\"p99_loaded_us\":%.0f,"
                    "\"rss_mib\":[%.1f,%.1f,%.1f],\"anon_mib\":[%.1f,%.1f,%.1f],\"anon_bound_mib\":%.1f,"
                    "\"readers_median\":%.0f,\"overflows\":%.0f}\n",
                    options.count, event.size, options.window, options.subscribers, options.stuck, runs,
                    node || !options.endpoint? "embedded": "zebd", hwm,
                    S_MEDIAN (alone), S_MEDIAN (loaded), S_MEDIAN (ratio),
                    S_MEDIAN (p99_alone_us), S_MEDIAN (p99_loaded_us),
                    S_MEDIAN (rss_before), S_MEDIAN (rss_peak), S_MEDIAN (rss_after),
                    S_MEDIAN (anon_before), S_MEDIAN (anon_peak), S_MEDIAN (anon_after), bound,
                    S_MEDIAN (readers_median), S_MEDIAN (overflows));
        else {
            printf ("median of %zu: alone %.0f events/s, with subscribers %.0f (ratio %.2f); "
                    "ack p99 %.1f ms against %.1f ms alone\n", runs, S_MEDIAN (alone), S_MEDIAN (loaded),
                    S_MEDIAN (ratio), S_MEDIAN (p99_loaded_us) / 1000, S_MEDIAN (p99_alone_us) / 1000);
            printf ("node RSS MiB: before %.0f, peak %.0f, after the subscribers left %.0f; of it anonymous "
                    "(heap): %.0f, %.0f, %.0f; bound for the heap %.0f (before + %zu x (%zu x (%zu + 192) B + 64 KiB))\n",
                    S_MEDIAN (rss_before), S_MEDIAN (rss_peak), S_MEDIAN (rss_after),
                    S_MEDIAN (anon_before), S_MEDIAN (anon_peak), S_MEDIAN (anon_after), bound,
                    options.subscribers, hwm, event.size);
        }
    }
    free (results);
    msgpack_sbuffer_destroy (&event);
    if (data) {
        zdir_t *tree = zdir_new (data, NULL);
        if (tree) {
            zdir_remove (tree, true);
            zdir_destroy (&tree);
        }
    }
    return rc? 1: 0;
}

static void
s_usage (FILE *stream)
{
    fprintf (stream,
        "usage: zeb-bench publish [options]\n"
        "       zeb-bench schema [-n COUNT] [--runs R] [--json]   payload validation, one core\n"
        "       zeb-bench rules [-n COUNT] [--runs R] [--rules N] [--types T] [--render] [--json]\n"
        "                         rule matching (and rendering) over a ruleset, one core\n"
        "       zeb-bench waiters [-n N] [-c C] [--types T] [--defaults] [--json]\n"
        "                         RSS of N parked long-polls from C DEALERs, and after they leave\n"
        "       zeb-bench bus [options]    publishing beside many subscribers, some stuck (--help)\n"
        "       zeb-bench deliver [options]  webhook deliveries through the outbox, beside\n"
        "                         libcurl's ceiling; latency; emit_event chains (--help)\n"
        "       zeb-bench automation [options]  publish -> rule -> webhook received, p99,\n"
        "                         beside a subscription without rules (--help)\n"
        "       zeb-bench http [options]  inbound webhooks/s with durable acks through the\n"
        "                         HTTP gateway, beside its raw throughput (--help)\n"
        "       zeb-bench ws [options]    WebSocket fan-out: events/s delivered to 1,000\n"
        "                         connections through the gateway (--help)\n"
        "       zeb-bench peers [options]  zeb beside Redis (appendfsync always) and NATS\n"
        "                         JetStream, started here on free ports (--help)\n"
        "  --endpoint EP     publish to a running zebd (default: embedded node)\n"
        "  --transport T     embedded node over tcp (default), ipc or inproc\n"
        "  --data DIR        embedded node data directory (default: a new temp dir)\n"
        "  --sync-mode M     embedded node: always (default), batch or none\n"
        "  --registry-down   with --validation: no registry answers (ingest/registry\n"
        "                    points where nothing listens); validation is unavailable\n"
        "  --validation V    embedded node with the registry, events of a registered\n"
        "                    10-property schema: off, warn or enforce\n"
        "  -n, --count N     events per run (default 200000)\n"
        "  -s, --size S      encoded event size in bytes (default 200)\n"
        "  -c, --clients C   concurrent clients, one connection each (default 1)\n"
        "  -t, --threads T   threads driving the clients (default: one per client)\n"
        "  --sync            each client waits for every ack (default: pipelined)\n"
        "  -w, --window W    pipelined publishes in flight per client (default 4000)\n"
        "  -b, --batch B     events per PUBLISH, sent as one array (default 1)\n"
        "  -r, --runs R      runs; figures are medians (default 3)\n"
        "  --no-baselines    skip the libzmq, LMDB and codec ceilings\n"
        "  --json            one JSON line of results\n");
}

int
main (int argc, char *argv [])
{
    if (argc >= 2 && streq (argv [1], "bus"))
        return s_bus_main (argc, argv);     //  forks first, before any ZeroMQ
    zsys_handler_set (NULL);
    zsys_set_logsystem (false);
    zsys_set_logstream (stderr);
    s_options_t options = {
        .transport = "tcp", .sync_mode = "always", .count = 200000, .size = 200,
        .clients = 1, .window = ZEB_CLIENT_WINDOW, .batch = 1, .runs = 3, .baselines = true };
    if (argc >= 2 && streq (argv [1], "schema"))
        return bench_schema_main (argc, argv);
    if (argc >= 2 && streq (argv [1], "rules"))
        return bench_rules_main (argc, argv);
    if (argc >= 2 && streq (argv [1], "waiters"))
        return s_waiters_main (argc, argv);
    if (argc >= 2 && streq (argv [1], "deliver"))
        return bench_deliver_main (argc, argv);
    if (argc >= 2 && streq (argv [1], "automation"))
        return bench_automation_main (argc, argv);
    if (argc >= 2 && streq (argv [1], "http"))
        return bench_http_main (argc, argv);
    if (argc >= 2 && streq (argv [1], "ws"))
        return bench_ws_main (argc, argv);
    if (argc >= 2 && streq (argv [1], "peers"))
        return bench_peers_main (argc, argv);
    if (argc < 2 || !streq (argv [1], "publish")) {
        s_usage (argc < 2? stderr: stdout);
        return argc >= 2 && (streq (argv [1], "-h") || streq (argv [1], "--help"))? 0: 2;
    }
    for (int index = 2; index < argc; index++) {
        const char *arg = argv [index];
        const char *value = index + 1 < argc? argv [index + 1]: NULL;
        if (streq (arg, "--sync"))
            options.synchronous = true;
        else
        if (streq (arg, "--no-baselines"))
            options.baselines = false;
        else
        if (streq (arg, "--json"))
            options.json = true;
        else
        if (streq (arg, "--registry-down"))
            options.registry_down = true;
        else
        if (!value) {
            fprintf (stderr, "zeb-bench: '%s' needs a value\n", arg);
            return 2;
        }
        else {
            index++;
            if (streq (arg, "--endpoint"))
                options.endpoint = value;
            else
            if (streq (arg, "--transport"))
                options.transport = value;
            else
            if (streq (arg, "--data"))
                options.data = value;
            else
            if (streq (arg, "--sync-mode"))
                options.sync_mode = value;
            else
            if (streq (arg, "--validation"))
                options.validation = value;

            else
            if (streq (arg, "-n") || streq (arg, "--count"))
                options.count = strtoull (value, NULL, 10);
            else
            if (streq (arg, "-s") || streq (arg, "--size"))
                options.size = strtoull (value, NULL, 10);
            else
            if (streq (arg, "-c") || streq (arg, "--clients"))
                options.clients = strtoull (value, NULL, 10);
            else
            if (streq (arg, "-t") || streq (arg, "--threads"))
                options.threads = strtoull (value, NULL, 10);
            else
            if (streq (arg, "-w") || streq (arg, "--window"))
                options.window = strtoull (value, NULL, 10);
            else
            if (streq (arg, "-r") || streq (arg, "--runs"))
                options.runs = strtoull (value, NULL, 10);
            else
            if (streq (arg, "-b") || streq (arg, "--batch"))
                options.batch = strtoull (value, NULL, 10);
            else {
                fprintf (stderr, "zeb-bench: unknown option '%s'\n", arg);
                return 2;
            }
        }
    }
    if (options.count == 0 || options.clients == 0 || options.window == 0 || options.runs == 0
    ||  options.size < 64 || options.clients > options.count) {
        fprintf (stderr, "zeb-bench: count, clients, window, runs must be positive, size >= 64\n");
        return 2;
    }
    //  The embedded node, or the running one
    char temp [] = "/tmp/zeb-bench-XXXXXX";
    const char *data = options.data;
    if (!data)
        data = mkdtemp (temp);
    zeb_node_t *node = NULL;
    const char *endpoint = options.endpoint;
    if (!endpoint) {
        zconfig_t *config = zconfig_new ("root", NULL);
        zconfig_put (config, "node/data", data);
        zconfig_put (config, "ingest/sync", options.sync_mode);
        zconfig_put (config, "node/actors", "ingest,log");
        if (options.validation) {
            zconfig_put (config, "ingest/validation", options.validation);
            if (options.registry_down)
                //  Nothing listens on port 1: every lookup times out
                zconfig_put (config, "ingest/registry", "tcp://127.0.0.1:1");
            else {
                zconfig_put (config, "node/actors", "ingest,log,registry");
                zconfig_put (config, "registry/endpoint", streq (options.transport, "inproc")
                             ? "inproc://zeb-bench-registry": "tcp://127.0.0.1:*");
            }
        }
        static const char *names [] = { "ingest", "log", "bus" };
        for (int index = 0; index < 3; index++) {
            char *path = zsys_sprintf ("%s/endpoint", names [index]);
            if (streq (options.transport, "inproc"))
                zconfig_putf (config, path, "inproc://zeb-bench-%s", names [index]);
            else
            if (streq (options.transport, "ipc"))
                zconfig_putf (config, path, "ipc://%s/%s.ipc", data, names [index]);
            else
                zconfig_put (config, path, "tcp://127.0.0.1:*");
            zstr_free (&path);
        }
        zeb_fault_t fault;
        node = zeb_node_new (config, &fault);
        zconfig_destroy (&config);
        if (!node) {
            fprintf (stderr, "zeb-bench: cannot start the node: %s\n", fault.text);
            return 1;
        }
        endpoint = zeb_node_endpoint (node, "ingest");
        if (options.validation && !options.registry_down && s_register_order (node)) {
            zeb_node_destroy (&node);
            return 1;
        }
    }
    struct statfs fs;
    if (statfs (data, &fs) == 0 && fs.f_type == 0x01021994)
        fprintf (stderr, "zeb-bench: warning: %s is tmpfs, fsync costs nothing there\n", data);

    msgpack_sbuffer event;
    msgpack_sbuffer_init (&event);
    if (options.validation)
        s_make_order (&event);
    else
        s_make_event (options.size, &event);
    msgpack_sbuffer message;            //  what one PUBLISH carries
    msgpack_sbuffer_init (&message);
    if (options.batch > 1) {
        msgpack_packer pk;
        msgpack_packer_init (&pk, &message, msgpack_sbuffer_write);
        msgpack_pack_array (&pk, options.batch);
        for (size_t index = 0; index < options.batch; index++)
            msgpack_sbuffer_write (&message, event.data, event.size);
    }
    else
        msgpack_sbuffer_write (&message, event.data, event.size);
    if (options.registry_down && node) {
        //  The first lookup waits out ingest/registry_timeout, then the
        //  outage is remembered: measure that once, outside the runs
        zeb_client_t *client = zeb_client_new (endpoint);
        int64_t started = zclock_mono ();
        int warm = zeb_client_publish_raw (client, event.data, event.size, NULL);
        if (!options.json)
            printf ("zeb-bench publish: registry down: the first event waited %lld ms (%s)\n",
                    (long long) (zclock_mono () - started), warm? "refused": "accepted unchecked");
        zeb_client_destroy (&client);
    }
    const char *mode = options.synchronous? "sync": "pipelined";
    char window [96] = "";
    if (!options.synchronous)
        snprintf (window, sizeof (window), " (window %zu)", options.window);
    if (options.batch > 1)
        snprintf (window + strlen (window), sizeof (window) - strlen (window),
                  ", %zu events per PUBLISH", options.batch);
    if (options.threads && options.threads < options.clients)
        snprintf (window + strlen (window), sizeof (window) - strlen (window),
                  ", on %zu threads", options.threads);
    if (!options.json)
        printf ("zeb-bench publish: %zu events of %zu bytes, %zu client%s, %s%s, node %s (sync %s)\n",
                options.count, event.size, options.clients, options.clients > 1? "s": "", mode,
                window, node? "embedded": endpoint, node? options.sync_mode: "as configured");

    size_t runs = options.runs;
    double *rates = (double *) calloc (runs, sizeof (double));
    double *p50 = (double *) calloc (runs, sizeof (double));
    double *p99 = (double *) calloc (runs, sizeof (double));
    double *p999 = (double *) calloc (runs, sizeof (double));
    size_t failures = 0;
    int rc = 0;
    for (size_t run = 0; run < runs && rc == 0; run++) {
        s_result_t result;
        rc = s_run_publish (&options, endpoint, &message, &result);
        rates [run] = result.events_per_sec;
        p50 [run] = result.p50_us;
        p99 [run] = result.p99_us;
        p999 [run] = result.p999_us;
        failures += result.failures;
        if (!options.json && rc == 0)
            printf ("  run %zu: %10.0f events/s   ack p50 %6.0f us  p99 %7.0f us  p999 %7.0f us  max %7.0f us%s\n",
                    run + 1, result.events_per_sec, result.p50_us, result.p99_us, result.p999_us,
                    result.max_us, result.failures? "  (failures!)": "");
    }
    zeb_node_destroy (&node);
    if (rc) {
        msgpack_sbuffer_destroy (&event);
        return 1;
    }
    double rate = bench_median (rates, runs);
    double m50 = bench_median (p50, runs), m99 = bench_median (p99, runs), m999 = bench_median (p999, runs);

    double zmq_rate = 0, lmdb_rate = 0, codec_rate = 0;
    size_t lmdb_batch = 0;
    const char *transport = options.endpoint? (strncmp (options.endpoint, "ipc", 3) == 0? "ipc":
                            strncmp (options.endpoint, "inproc", 6) == 0? "inproc": "tcp")
                                           : options.transport;
    if (options.baselines) {
        size_t count = options.count < 1000000? options.count: 1000000;
        double *samples = (double *) calloc (runs, sizeof (double));
        //  Pipelined clients stream: the ceiling is one-way throughput.
        //  Synchronous clients wait for each reply: it is round trips.
        for (size_t run = 0; run < runs; run++)
            samples [run] = options.synchronous
                          ? bench_zmq_roundtrip (transport, options.clients, count, event.size, false)
                          : bench_zmq_pushpull (transport, count * 5, event.size);
        zmq_rate = bench_median (samples, runs);
        //  The disk's ceiling: pipelined, batches of 1,000 puts per commit;
        //  synchronous, the best group commit there can be, every client's
        //  event in the same commit
        lmdb_batch = options.synchronous? options.clients: 1000;
        size_t lmdb_count = options.synchronous? (count < 20000? count: 20000): count;
        for (size_t run = 0; run < runs; run++)
            samples [run] = bench_lmdb_puts (data, lmdb_count, event.size + 60, lmdb_batch);
        lmdb_rate = bench_median (samples, runs);
        for (size_t run = 0; run < runs; run++)
            samples [run] = bench_codec (event.data, event.size, count * 5);
        codec_rate = bench_median (samples, runs);
        free (samples);
    }
    if (options.json) {
        printf ("{\"scenario\":\"publish\",\"mode\":\"%s\",\"window\":%zu,\"batch\":%zu,\"clients\":%zu,"
                "\"size\":%zu,\"events\":%zu,\"runs\":%zu,\"transport\":\"%s\",\"sync\":\"%s\","
                "\"events_per_sec\":%.0f,\"p50_us\":%.0f,\"p99_us\":%.0f,\"p999_us\":%.0f,"
                "\"failures\":%zu",
                mode, options.synchronous? 1: options.window, options.batch, options.clients, event.size,
                options.count, runs, transport, options.endpoint? "configured": options.sync_mode,
                rate, m50, m99, m999, failures);
        if (options.baselines)
            printf (",\"%s\":%.0f,\"lmdb_batch\":%zu,\"lmdb_puts_per_sec\":%.0f,\"codec_per_sec\":%.0f,"
                    "\"ratio_zmq\":%.3f,\"ratio_lmdb\":%.3f",
                    options.synchronous? "zmq_roundtrip_per_sec": "zmq_pushpull_per_sec", zmq_rate,
                    lmdb_batch, lmdb_rate, codec_rate, zmq_rate? rate / zmq_rate: 0,
                    lmdb_rate? rate / lmdb_rate: 0);
        printf ("}\n");
    }
    else {
        printf ("median of %zu: %.0f events/s, ack latency p50 %.0f us, p99 %.0f us, p999 %.0f us%s\n",
                runs, rate, m50, m99, m999, failures? " (with failures)": "");
        if (options.baselines) {
            if (options.synchronous)
                printf ("ceilings:  libzmq DEALER/ROUTER round trips, %zu client%s, %s %zu B: "
                        "%.0f/s (zeb at %.1f%%)\n", options.clients, options.clients > 1? "s": "",
                        transport, event.size, zmq_rate, zmq_rate? 100 * rate / zmq_rate: 0);
            else
                printf ("ceilings:  libzmq PUSH/PULL %s %zu B: %.0f msg/s (zeb at %.1f%%)\n",
                        transport, event.size, zmq_rate, zmq_rate? 100 * rate / zmq_rate: 0);
            printf ("           LMDB durable puts, batches of %zu: %.0f puts/s (zeb at %.1f%%)\n",
                    lmdb_batch, lmdb_rate, lmdb_rate? 100 * rate / lmdb_rate: 0);
            printf ("           envelope decode+validate+encode: %.0f events/s\n", codec_rate);
        }
    }
    free (rates);
    free (p50);
    free (p99);
    free (p999);
    msgpack_sbuffer_destroy (&event);
    msgpack_sbuffer_destroy (&message);
    if (!options.data) {
        zdir_t *tree = zdir_new (data, NULL);
        if (tree) {
            zdir_remove (tree, true);
            zdir_destroy (&tree);
        }
    }
    return failures? 1: 0;
}
