/*  =========================================================================
    bench_ws - zeb-bench ws: WebSocket fan-out, events delivered per second
    to C connections subscribed to every channel

    zeb-bench ws [--connections C] [--events N] [--size B] [--senders S]
                 [--runs R] [--json]

    An embedded node (ingest, log, http; sync mode none, so that the log
    is not what is measured), the gateway with C + 16 CivetWeb workers and
    S sender threads. One client thread opens C WebSockets (its own
    RFC 6455 client: handshake, masked subscribe, frames counted by
    reading their headers), each subscribed to "*"; then the main thread
    publishes N events of about B bytes (pipelined) and the client thread
    counts `message` frames until every connection has N. Per run:
    delivered/s = C x N / (last frame - first publish). Prints the median
    of R runs (default 3). The per-connection queue is sized to hold N,
    so nothing is lagged; the gateway's lagged and missed counters must
    stay 0, or the bench fails.
    =========================================================================
*/

#include "zeb.h"
#include "zeb_actors.h"
#include "bench.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>

typedef struct {
    size_t connections, events, size, senders, runs;
    bool json;
} s_options_t;

typedef struct {
    int fd;
    uint8_t buffer [65536];
    size_t used;
    uint64_t skip;                      //  payload bytes of a frame still to come
    size_t messages;                    //  text frames after `subscribed`
    bool closed;                        //  the gateway closed it
} s_ws_t;

typedef struct {
    s_ws_t *conns;
    size_t count, target;
    int64_t last_us;                    //  when the last connection got its target
    bool ok;
} s_client_t;

static void s_usage (FILE *stream);

//  A blocking connection to /ws on port, upgraded, subscribed to "*":
//  its socket, or -1. Reads `connected` and `subscribed`.
static int
s_ws_open (int port)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) port) };
    address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    if (fd < 0 || connect (fd, (struct sockaddr *) &address, sizeof (address))) {
        if (fd >= 0)
            close (fd);
        return -1;
    }
    int one = 1;
    setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof (one));
    char request [256];
    int size = snprintf (request, sizeof (request),
                         "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                         "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                         "Sec-WebSocket-Version: 13\r\n\r\n", port);
    //  subscribe, masked with the key 0 (RFC 6455 allows any key)
    const char subscribe [] = "{\"action\":\"subscribe\",\"channel\":\"*\"}";
    uint8_t frame [64] = { 0x81, 0x80 | (uint8_t) (sizeof (subscribe) - 1), 0, 0, 0, 0 };
    memcpy (frame + 6, subscribe, sizeof (subscribe) - 1);
    char reply [1024];
    size_t got = 0;
    bool upgraded = false;
    if (write (fd, request, (size_t) size) != size)
        goto failed;
    //  The 101, then `connected`; then subscribe and read `subscribed`
    while (!upgraded && got < sizeof (reply) - 1) {
        ssize_t n = read (fd, reply + got, sizeof (reply) - 1 - got);
        if (n <= 0)
            goto failed;
        got += (size_t) n;
        reply [got] = 0;
        char *end = strstr (reply, "\r\n\r\n");
        char *connected = end? strstr (end, "\"connected\""): NULL;
        upgraded = strncmp (reply, "HTTP/1.1 101", 12) == 0 && connected && strchr (connected, '}');
    }
    if (!upgraded || write (fd, frame, 6 + sizeof (subscribe) - 1) != (ssize_t) (6 + sizeof (subscribe) - 1))
        goto failed;
    got = 0;
    while (got < sizeof (reply) - 1) {
        ssize_t n = read (fd, reply + got, sizeof (reply) - 1 - got);
        if (n <= 0)
            goto failed;
        got += (size_t) n;
        reply [got] = 0;
        if (strstr (reply, "\"subscribed\"") && strchr (strstr (reply, "\"subscribed\""), '}'))
            return fd;
    }
failed:
    close (fd);
    return -1;
}

//  Count the complete text frames in the connection's buffer
static void
s_ws_parse (s_ws_t *self)
{
    size_t at = 0;
    while (at < self->used) {
        if (self->skip) {
            size_t take = self->used - at < self->skip? self->used - at: (size_t) self->skip;
            at += take;
            self->skip -= take;
            continue;
        }
        if (self->used - at < 2)
            break;
        uint8_t opcode = self->buffer [at] & 0x0f;
        uint64_t len = self->buffer [at + 1] & 0x7f;
        size_t header = 2;
        if (len == 126) {
            if (self->used - at < 4)
                break;
            len = ((uint64_t) self->buffer [at + 2] << 8) | self->buffer [at + 3];
            header = 4;
        }
        else
        if (len == 127) {
            if (self->used - at < 10)
                break;
            len = 0;
            for (int index = 0; index < 8; index++)
                len = (len << 8) | self->buffer [at + 2 + index];
            header = 10;
        }
        if (opcode == 1)
            self->messages++;
        at += header;
        self->skip = len;
    }
    memmove (self->buffer, self->buffer + at, self->used - at);
    self->used -= at;
}

//  The client thread: read every connection until each has target frames
static void *
s_client_run (void *arg)
{
    s_client_t *self = (s_client_t *) arg;
    struct pollfd *items = (struct pollfd *) calloc (self->count, sizeof (struct pollfd));
    size_t done = 0;
    for (size_t index = 0; index < self->count; index++)
        items [index] = (struct pollfd) { self->conns [index].fd, POLLIN, 0 };
    int64_t deadline = zeb_time_mono_us () + 120 * 1000000LL;
    while (done < self->count && zeb_time_mono_us () < deadline) {
        if (poll (items, self->count, 1000) < 0)
            break;
        for (size_t index = 0; index < self->count; index++) {
            if (!(items [index].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            s_ws_t *conn = &self->conns [index];
            ssize_t n = read (conn->fd, conn->buffer + conn->used, sizeof (conn->buffer) - conn->used);
            if (n <= 0) {
                items [index].fd = -1;
                conn->closed = true;
                continue;
            }
            conn->used += (size_t) n;
            size_t before = conn->messages;
            s_ws_parse (conn);
            if (before < self->target && conn->messages >= self->target) {
                done++;
                self->last_us = zeb_time_mono_us ();
            }
        }
    }
    self->ok = done == self->count;
    free (items);
    return NULL;
}

static void
s_count_failure (const zeb_ack_t *ack, void *arg)
{
    if (ack->status)
        (*(size_t *) arg)++;
}

//  One run: events/s delivered over every connection, or -1
static double
s_run (zeb_node_t *node, const s_options_t *options, int port, zeb_event_t *event)
{
    s_client_t client = { NULL, options->connections, options->events, 0, false };
    client.conns = (s_ws_t *) calloc (options->connections, sizeof (s_ws_t));
    //  Until the gateway's feed has reached the log, /ws answers 503
    size_t opened = 0;
    int64_t deadline = zeb_time_mono_us () + 10 * 1000000LL;
    while (opened < options->connections && zeb_time_mono_us () < deadline)
        if ((client.conns [opened].fd = s_ws_open (port)) >= 0)
            opened++;
        else
            zclock_sleep (10);
    double rate = -1;
    if (opened < options->connections) {
        fprintf (stderr, "zeb-bench ws: only %zu of %zu connections opened\n", opened,
                 options->connections);
        goto cleanup;
    }
    pthread_t thread;
    pthread_create (&thread, NULL, s_client_run, &client);
    zeb_client_t *publisher = zeb_client_new (zeb_node_endpoint (node, "ingest"));
    size_t failures = 0;
    int64_t start = zeb_time_mono_us ();
    for (size_t index = 0; index < options->events; index++) {
        if (zeb_client_publish_async (publisher, event, s_count_failure, &failures))
            failures++;
        zeb_client_poll (publisher, 0);
    }
    zeb_client_flush (publisher, 30000);
    zeb_client_destroy (&publisher);
    pthread_join (thread, NULL);
    if (client.ok && failures == 0)
        rate = (double) (options->connections * options->events) / ((double) (client.last_us - start) / 1e6);
    else {
        size_t least = SIZE_MAX, closed = 0;
        for (size_t index = 0; index < opened; index++) {
            if (client.conns [index].messages < least)
                least = client.conns [index].messages;
            closed += client.conns [index].closed;
        }
        fprintf (stderr, "zeb-bench ws: %zu publish failures; every connection got its events: %s "
                 "(fewest %zu, %zu closed; the gateway: %lld in, %lld sent, %lld repaired, %lld "
                 "write failures)\n", failures, client.ok? "yes": "no", least, closed,
                 (long long) bench_stat (node, "http", "ws/events_in"),
                 (long long) bench_stat (node, "http", "ws/events_sent"),
                 (long long) bench_stat (node, "http", "ws/gaps_repaired"),
                 (long long) bench_stat (node, "http", "ws/write_failures"));
    }
cleanup:
    for (size_t index = 0; index < opened; index++)
        close (client.conns [index].fd);
    free (client.conns);
    //  The gateway has seen every connection go before the next run
    bench_stat_reaches (node, "http", "ws/open", 0, true, 10000);
    return rate;
}

static int
s_options_parse (int argc, char *argv [], s_options_t *options)
{
    for (int index = 2; index < argc; index++) {
        const char *value = NULL;
        int kind = bench_option (argc, argv, &index, &value, "ws", s_usage);
        if (kind == BENCH_OPTION_HELP)
            return 1;
        if (kind == BENCH_OPTION_JSON) {
            options->json = true;
            continue;
        }
        if (kind < 0)
            return -1;
        const char *name = argv [index - 1];
        size_t number = (size_t) strtoull (value, NULL, 10);
        if (streq (name, "--connections") && number && number <= 1000)
            options->connections = number;
        else
        if (streq (name, "--events") && number)
            options->events = number;
        else
        if (streq (name, "--size") && number)
            options->size = number;
        else
        if (streq (name, "--senders") && number && number <= 256)
            options->senders = number;
        else
        if (streq (name, "--runs") && number)
            options->runs = number;
        else {
            fprintf (stderr, "zeb-bench ws: bad option %s %s\n", name, value);
            s_usage (stderr);
            return -1;
        }
    }
    return 0;
}

int
bench_ws_main (int argc, char *argv [])
{
    s_options_t options = { 1000, 2000, 256, 4, 3, false };
    int parsed = s_options_parse (argc, argv, &options);
    if (parsed)
        return parsed > 0? 0: 1;
    //  Two descriptors per connection (both ends are in this process)
    struct rlimit limit;
    getrlimit (RLIMIT_NOFILE, &limit);
    limit.rlim_cur = limit.rlim_max;
    setrlimit (RLIMIT_NOFILE, &limit);
    char data [] = "/tmp/zeb-bench-ws-XXXXXX";
    if (!mkdtemp (data)) {
        fprintf (stderr, "zeb-bench ws: cannot make a data directory\n");
        return 1;
    }
    zconfig_t *settings = zconfig_new ("root", NULL);
    zconfig_put (settings, "node/actors", "ingest,log,http");
    zconfig_put (settings, "ingest/sync", "none");
    zconfig_put (settings, "http/endpoint", "127.0.0.1:0");
    zconfig_putf (settings, "http/threads", "%zu", options.connections + 16 > 1024? 1024:
                  options.connections + 16);
    zconfig_putf (settings, "http/ws/senders", "%zu", options.senders);
    zconfig_putf (settings, "http/ws/queue", "%zu", options.events + 16);
    zconfig_put (settings, "http/ws/idle_timeout", "600s");
    zeb_fault_t fault;
    zeb_node_t *node = zeb_node_new_embedded_with (data, settings, &fault);
    zconfig_destroy (&settings);
    if (!node) {
        fprintf (stderr, "zeb-bench ws: cannot start the node: %s\n", fault.text);
        return 1;
    }
    const char *url = zeb_node_endpoint (node, "http");
    int port = atoi (strrchr (url, ':') + 1);
    zeb_event_t *event = bench_event_padded ("bench.ws.event", NULL, options.size);
    if (!options.json)
        printf ("zeb-bench ws: %zu WebSockets subscribed to \"*\", %zu events of %zu bytes per run, "
                "%zu senders; embedded node in %s\n", options.connections, options.events, options.size,
                options.senders, data);
    double *rates = (double *) calloc (options.runs, sizeof (double));
    bool failed = false;
    for (size_t run = 0; run < options.runs; run++) {
        rates [run] = s_run (node, &options, port, event);
        failed |= rates [run] < 0;
        if (!options.json && rates [run] >= 0)
            printf ("  run %zu: %.0f events/s delivered (%.0f events/s published and fanned out)\n",
                    run + 1, rates [run], rates [run] / (double) options.connections);
    }
    int64_t lagged = bench_stat (node, "http", "ws/lagged");
    int64_t missed = bench_stat (node, "http", "ws/events_missed");
    int64_t repaired = bench_stat (node, "http", "ws/gaps_repaired");
    failed |= lagged != 0 || missed != 0;
    double median = bench_median (rates, options.runs);
    if (options.json)
        printf ("{\"bench\":\"ws\",\"connections\":%zu,\"events\":%zu,\"size\":%zu,\"senders\":%zu,"
                "\"delivered\":%.0f,\"lagged\":%lld,\"missed\":%lld,\"repaired\":%lld}\n",
                options.connections, options.events, options.size, options.senders, median,
                (long long) lagged, (long long) missed, (long long) repaired);
    else
        printf ("median of %zu: %.0f events/s delivered to %zu WebSockets; lagged %lld, missed %lld; "
                "%lld events the bus dropped for the gateway were fetched from the log\n",
                options.runs, median, options.connections, (long long) lagged, (long long) missed,
                (long long) repaired);
    free (rates);
    zeb_event_destroy (&event);
    zeb_node_destroy (&node);
    char *command = zsys_sprintf ("rm -rf '%s'", data);
    if (system (command) != 0)
        fprintf (stderr, "zeb-bench ws: could not remove %s\n", data);
    zstr_free (&command);
    return failed? 1: 0;
}

static void
s_usage (FILE *stream)
{
    fprintf (stream,
        "usage: zeb-bench ws [--connections C] [--events N] [--size B] [--senders S]\n"
        "                    [--runs R] [--json]\n"
        "  C WebSockets (1000, at most 1000) subscribed to every channel; N events per run\n"
        "  (2000) of about B bytes (256); S gateway sender threads (4); R runs (3)\n");
}
