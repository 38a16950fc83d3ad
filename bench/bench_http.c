/*  =========================================================================
    bench_http - zeb-bench http: inbound webhooks per second with durable
    acks, beside the gateway's raw throughput on a trivial route

    zeb-bench http [--connections C] [--seconds T] [--threads N]
                   [--size B] [--runs R] [--sync MODE] [--json]

    An embedded node (ingest, log, http; the gateway on a free port, N
    worker threads, sync mode always unless --sync) and one client thread
    driving C keep-alive connections with libcurl's multi interface, one
    request in flight on each. Each run has two phases of T seconds:

      raw       GET /healthz: CivetWeb, the router and the reply, nothing
                stored (the ceiling of the gateway on this machine)
      webhooks  POST /webhooks/bench, a B-byte JSON body signed the GitHub
                way (HMAC-SHA256 checked), each with its own
                X-GitHub-Delivery: every 200 is an event committed (and
                fsynced) by ingest before the answer

    Prints requests/s of both and their ratio, the medians of R runs
    (default 3); any answer other than 200 is counted and fails the bench.
    At the end, ingest's stored count must equal the webhooks answered 200.
    =========================================================================
*/

#include "zeb.h"
#include "zeb_actors.h"
#include "bench.h"
#include <curl/curl.h>
#include <openssl/hmac.h>
#include <openssl/evp.h>

#define S_SECRET "zeb-bench-secret"

typedef struct {
    size_t connections, seconds, threads, size, runs;
    const char *sync;
    bool json;
} s_options_t;

typedef struct {
    CURL *easy;
    struct curl_slist *headers;
    char delivery [64];
} s_conn_t;

typedef struct {
    const char *url;                //  base, "http://127.0.0.1:PORT"
    const char *body;               //  webhooks: the body (NULL: GET /healthz)
    const char *signature;          //  its X-Hub-Signature-256
    uint64_t next_delivery;
    size_t ok, failed;
} s_phase_t;

static void s_usage (FILE *stream);

static size_t
s_discard (char *data, size_t size, size_t count, void *arg)
{
    return size * count;
}

static void
s_prepare (s_phase_t *phase, s_conn_t *conn)
{
    curl_slist_free_all (conn->headers);
    conn->headers = NULL;
    char url [160];
    if (phase->body) {
        snprintf (url, sizeof (url), "%s/webhooks/bench", phase->url);
        snprintf (conn->delivery, sizeof (conn->delivery), "X-GitHub-Delivery: bench-%llu",
                  (unsigned long long) phase->next_delivery++);
        conn->headers = curl_slist_append (conn->headers, "Content-Type: application/json");
        conn->headers = curl_slist_append (conn->headers, conn->delivery);
        conn->headers = curl_slist_append (conn->headers, phase->signature);
        conn->headers = curl_slist_append (conn->headers, "Expect:");
        curl_easy_setopt (conn->easy, CURLOPT_POSTFIELDS, phase->body);
        curl_easy_setopt (conn->easy, CURLOPT_POSTFIELDSIZE, (long) strlen (phase->body));
    }
    else {
        snprintf (url, sizeof (url), "%s/healthz", phase->url);
        curl_easy_setopt (conn->easy, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt (conn->easy, CURLOPT_URL, url);
    curl_easy_setopt (conn->easy, CURLOPT_HTTPHEADER, conn->headers);
}

//  Requests/s of one phase over C connections for seconds
static double
s_phase_run (s_phase_t *phase, size_t connections, size_t seconds)
{
    CURLM *multi = curl_multi_init ();
    curl_multi_setopt (multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long) connections);
    s_conn_t *conns = (s_conn_t *) calloc (connections, sizeof (s_conn_t));
    for (size_t index = 0; index < connections; index++) {
        conns [index].easy = curl_easy_init ();
        curl_easy_setopt (conns [index].easy, CURLOPT_WRITEFUNCTION, s_discard);
        curl_easy_setopt (conns [index].easy, CURLOPT_PRIVATE, &conns [index]);
        curl_easy_setopt (conns [index].easy, CURLOPT_TCP_NODELAY, 1L);
        curl_easy_setopt (conns [index].easy, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt (conns [index].easy, CURLOPT_TIMEOUT_MS, 30000L);
        s_prepare (phase, &conns [index]);
        curl_multi_add_handle (multi, conns [index].easy);
    }
    int64_t start = zeb_time_mono_us ();
    int64_t end = start + (int64_t) seconds * 1000000;
    bool stopping = false;
    size_t active = connections;
    size_t done_at_end = 0;
    int64_t stopped_at = end;
    while (active) {
        int running;
        curl_multi_perform (multi, &running);
        CURLMsg *message;
        int left;
        while ((message = curl_multi_info_read (multi, &left))) {
            if (message->msg != CURLMSG_DONE)
                continue;
            CURL *easy = message->easy_handle;
            s_conn_t *conn;
            curl_easy_getinfo (easy, CURLINFO_PRIVATE, (char **) &conn);
            long code = 0;
            curl_easy_getinfo (easy, CURLINFO_RESPONSE_CODE, &code);
            if (message->data.result == CURLE_OK && code == 200)
                phase->ok++;
            else
                phase->failed++;
            curl_multi_remove_handle (multi, easy);
            if (!stopping && zeb_time_mono_us () >= end) {
                stopping = true;
                stopped_at = zeb_time_mono_us ();
                done_at_end = phase->ok + phase->failed;
            }
            if (stopping)
                active--;
            else {
                s_prepare (phase, conn);
                curl_multi_add_handle (multi, easy);
            }
        }
        if (active)
            curl_multi_poll (multi, NULL, 0, 100, NULL);
    }
    for (size_t index = 0; index < connections; index++) {
        curl_easy_cleanup (conns [index].easy);
        curl_slist_free_all (conns [index].headers);
    }
    free (conns);
    curl_multi_cleanup (multi);
    return (double) done_at_end / ((double) (stopped_at - start) / 1e6);
}

int
bench_http_main (int argc, char *argv [])
{
    s_options_t options = { 64, 5, 96, 256, 3, "always", false };
    for (int index = 2; index < argc; index++) {
        const char *value = NULL;
        int kind = bench_option (argc, argv, &index, &value, "http", s_usage);
        if (kind == BENCH_OPTION_HELP)
            return 0;
        if (kind == BENCH_OPTION_JSON) {
            options.json = true;
            continue;
        }
        if (kind < 0)
            return 1;
        const char *name = argv [index - 1];
        size_t number = (size_t) strtoull (value, NULL, 10);
        if (streq (name, "--connections") && number)
            options.connections = number;
        else
        if (streq (name, "--seconds") && number)
            options.seconds = number;
        else
        if (streq (name, "--threads") && number >= 2)
            options.threads = number;
        else
        if (streq (name, "--size") && number)
            options.size = number;
        else
        if (streq (name, "--runs") && number)
            options.runs = number;
        else
        if (streq (name, "--sync"))
            options.sync = value;
        else {
            fprintf (stderr, "zeb-bench http: bad option %s %s\n", name, value);
            s_usage (stderr);
            return 1;
        }
    }
    char data [] = "/tmp/zeb-bench-http-XXXXXX";
    if (!mkdtemp (data)) {
        fprintf (stderr, "zeb-bench http: cannot make a data directory\n");
        return 1;
    }
    curl_global_init (CURL_GLOBAL_DEFAULT);
    zconfig_t *settings = zconfig_new ("root", NULL);
    zconfig_put (settings, "node/actors", "ingest,log,http");
    zconfig_put (settings, "ingest/sync", options.sync);
    zconfig_put (settings, "http/endpoint", "127.0.0.1:0");
    zconfig_putf (settings, "http/threads", "%zu", options.threads);
    zconfig_put (settings, "http/keep_alive", "30s");
    zconfig_put (settings, "http/webhooks/bench/scheme", "github");
    zconfig_put (settings, "http/webhooks/bench/secret", S_SECRET);
    zeb_fault_t fault;
    zeb_node_t *node = zeb_node_new_embedded_with (data, settings, &fault);
    zconfig_destroy (&settings);
    if (!node) {
        fprintf (stderr, "zeb-bench http: cannot start the node: %s\n", fault.text);
        return 1;
    }
    const char *url = zeb_node_endpoint (node, "http");
    //  A body of about size bytes, and its signature
    char *body = (char *) malloc (options.size + 64);
    int head = snprintf (body, options.size + 64, "{\"action\":\"opened\",\"pad\":\"");
    size_t pad = options.size > (size_t) head + 2? options.size - (size_t) head - 2: 0;
    memset (body + head, 'x', pad);
    strcpy (body + head + pad, "\"}");
    unsigned char digest [32];
    unsigned int digest_size = 0;
    HMAC (EVP_sha256 (), S_SECRET, (int) strlen (S_SECRET), (const unsigned char *) body,
          strlen (body), digest, &digest_size);
    char signature [128] = "X-Hub-Signature-256: sha256=";
    for (unsigned int index = 0; index < digest_size; index++)
        sprintf (signature + strlen (signature), "%02x", digest [index]);
    if (!options.json)
        printf ("zeb-bench http: %zu keep-alive connections (libcurl multi, one thread), %zu s per "
                "phase, %zu gateway threads, %zu-byte signed bodies, sync %s; embedded node in %s\n",
                options.connections, options.seconds, options.threads, strlen (body), options.sync, data);
    double *raw = (double *) calloc (options.runs, sizeof (double));
    double *hooks = (double *) calloc (options.runs, sizeof (double));
    size_t answered = 0, failed = 0;
    uint64_t delivery = 0;
    for (size_t run = 0; run < options.runs; run++) {
        s_phase_t trivial = { url, NULL, NULL, 0, 0, 0 };
        raw [run] = s_phase_run (&trivial, options.connections, options.seconds);
        s_phase_t webhooks = { url, body, signature, delivery, 0, 0 };
        hooks [run] = s_phase_run (&webhooks, options.connections, options.seconds);
        delivery = webhooks.next_delivery;
        answered += webhooks.ok;
        failed += trivial.failed + webhooks.failed;
        if (!options.json)
            printf ("  run %zu: raw %.0f req/s, webhooks %.0f req/s (durable acks), %.2f of raw\n",
                    run + 1, raw [run], hooks [run], hooks [run] / raw [run]);
    }
    bool stored = bench_stat_reaches (node, "ingest", "ingest/stored", (int64_t) answered, true, 5000);
    double raw_median = bench_median (raw, options.runs);
    double hooks_median = bench_median (hooks, options.runs);
    if (options.json)
        printf ("{\"bench\":\"http\",\"connections\":%zu,\"threads\":%zu,\"size\":%zu,\"sync\":\"%s\","
                "\"raw\":%.0f,\"webhooks\":%.0f,\"ratio\":%.3f,\"failed\":%zu,\"stored\":%s}\n",
                options.connections, options.threads, strlen (body), options.sync, raw_median,
                hooks_median, hooks_median / raw_median, failed, stored? "true": "false");
    else
        printf ("median of %zu: raw %.0f req/s, webhooks %.0f req/s with durable acks (%.2f of raw); "
                "%zu answered 200 and stored%s; %zu failed\n", options.runs, raw_median, hooks_median,
                hooks_median / raw_median, answered, stored? "": " (NOT all in the log)", failed);
    free (raw);
    free (hooks);
    free (body);
    zeb_node_destroy (&node);
    char *command = zsys_sprintf ("rm -rf '%s'", data);
    if (system (command) != 0)
        fprintf (stderr, "zeb-bench http: could not remove %s\n", data);
    zstr_free (&command);
    curl_global_cleanup ();
    return failed || !stored? 1: 0;
}

static void
s_usage (FILE *stream)
{
    fprintf (stream,
        "usage: zeb-bench http [--connections C] [--seconds T] [--threads N] [--size B]\n"
        "                      [--runs R] [--sync always|batch|none] [--json]\n"
        "  C keep-alive connections (64) from one libcurl multi thread; T s per phase (5);\n"
        "  N gateway threads (96); B bytes per webhook body (256); R runs (3)\n");
}
