/*  =========================================================================
    bench_automation - zeb-bench automation: publish -> rule -> webhook
    received, end to end, beside the same path without the rule engine

    zeb-bench automation [--rate E] [--seconds T] [--warmup W] [--rules N]
                         [--runs R] [--json]

    An embedded node (registry, ingest, log, outbox with its webhook
    executor, automation; inproc, sync always) and tests/receiver as the
    HTTP server. Each run has two phases, publishing E events/s (paced by
    the clock, pipelined) for W + T seconds, the latency of the last T
    seconds measured from publish to the receiver's complete request:

      subscription  zeb_node_subscribe: every event of a prefix becomes a
                    webhook run (a feed, no rules): the ceiling of this
                    path in the same run
      rules         N rules stored (default 1,000: over 100 types, 1% of
                    them "*" rules that never match), and one that
                    matches the bench's events on two conditions and
                    renders the webhook's body from templates

    The phases alternate which goes first, each from an idle outbox.
    Prints p50/p90/p99/max of both, the medians of R runs (default 3), and
    the ratio of their p99s.
    =========================================================================
*/

#include "zeb.h"
#include "zeb_actors.h"
#include "bench.h"
#include "receiver.h"

#define S_SUB_PREFIX    "bench.sub."
#define S_RULE_TYPE     "bench.rule.tick"

typedef struct {
    size_t rate, seconds, warmup, rules, runs;
    bool json;
} s_options_t;

typedef struct {
    double p50, p90, p99, max, samples, lost;
} s_latency_t;

typedef struct {
    s_latency_t subscription, rules;
} s_result_t;

static void
s_sleep_until (int64_t due)
{
    struct timespec until = { (time_t) (due / 1000000), (long) (due % 1000000) * 1000 };
    while (clock_nanosleep (CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == EINTR)
        ;
}

static void
s_count_failure (const zeb_ack_t *ack, void *arg)
{
    if (ack->status)
        (*(size_t *) arg)++;
}

//  Publish E/s of type for W + T s; the latencies of the last T s
static int
s_phase (zeb_node_t *node, receiver_t *receiver, s_options_t *options, const char *type,
         s_latency_t *result)
{
    size_t warm = options->rate * options->warmup;
    size_t total = warm + options->rate * options->seconds;
    receiver_clear (receiver);
    receiver_set_recording (receiver, true);
    zeb_client_t *client = zeb_client_new (zeb_node_endpoint (node, "ingest"));
    zeb_client_set_timeout (client, 30000);
    int rc = zeb_client_connect (client)? -1: 0;
    zeb_event_t *event = zeb_event_new (type);
    zeb_event_set (event, "source", "zeb-bench");
    size_t failures = 0;
    int64_t start = zeb_time_mono_us () + 1000;
    for (size_t index = 0; index < total && rc == 0; index++) {
        s_sleep_until (start + (int64_t) ((double) index * 1e6 / (double) options->rate));
        char data [120];
        snprintf (data, sizeof (data), "{\"t\":%lld,\"i\":%zu,\"customer\":{\"tier\":\"gold\"},\"total\":%zu}",
                  (long long) zeb_time_mono_us (), index, 100 + index % 900);
        zeb_event_set_data_json (event, data, NULL);
        if (zeb_client_publish_async (client, event, s_count_failure, &failures))
            failures++;
        zeb_client_poll (client, 0);
    }
    zeb_client_flush (client, 30000);
    zeb_client_destroy (&client);
    zeb_event_destroy (&event);
    if (rc == 0 && !receiver_wait_count (receiver, total - failures, 60000))
        fprintf (stderr, "zeb-bench automation: %s: %zu of %zu webhooks received in 60 s\n",
                 type, receiver_count (receiver), total - failures);
    //  received - published, each event once, past the warm-up
    double *latencies = (double *) calloc (total + 1, sizeof (double));
    char *seen = (char *) calloc (total, 1);
    size_t filled = 0, count = receiver_count (receiver);
    for (size_t index = 0; index < count; index++) {
        receiver_request_t request;
        if (!receiver_request (receiver, index, &request))
            break;
        json_t *body = json_loads (request.body, 0, NULL);
        json_t *data = json_object_get (body, "data");
        json_int_t sent = json_integer_value (json_object_get (data, "t"));
        json_int_t number = json_integer_value (json_object_get (data, "i"));
        if (number >= (json_int_t) warm && number < (json_int_t) total && !seen [number] && sent > 0) {
            seen [number] = 1;
            latencies [filled++] = (double) (request.arrived_us - sent) / 1000.0;
        }
        json_decref (body);
        receiver_request_reset (&request);
    }
    free (seen);
    receiver_set_recording (receiver, false);
    receiver_clear (receiver);
    qsort (latencies, filled, sizeof (double), bench_compare_double);
    memset (result, 0, sizeof (*result));
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
        fprintf (stderr, "zeb-bench automation: %s: %zu publishes failed\n", type, failures);
    return rc || filled == 0? -1: 0;
}

//  PUT one rule (JSON text) on dealer; 0 or -1
static int
s_put (zeb_automation_client_t *client, const char *text)
{
    json_t *rule = json_loads (text, 0, NULL);
    if (!rule)
        return -1;
    json_t *reply = NULL;
    zeb_fault_t fault = { 0 };
    int rc = zeb_automation_client_put (client, rule, "zeb-bench", &reply, &fault);
    if (rc)
        fprintf (stderr, "zeb-bench automation: PUT refused: %s\n", fault.text);
    json_decref (reply);
    json_decref (rule);
    return rc? -1: 0;
}

//  N rules that never fire for the bench's events, and the one that does
static int
s_rules (zeb_node_t *node, size_t count, const char *url)
{
    zeb_automation_client_t *client = zeb_automation_client_new (zeb_node_endpoint (node, "automation"));
    int rc = client? 0: -1;
    char text [1024];
    for (size_t index = 0; index < count && rc == 0; index++) {
        char trigger [64];
        if (index % 100 == 99)
            snprintf (trigger, sizeof (trigger), "*");
        else
            snprintf (trigger, sizeof (trigger), "shop%zu.item%zu.updated", (index % 100) / 10, index % 10);
        snprintf (text, sizeof (text),
                  "{\"id\":\"filler-%05zu\",\"triggerEventType\":\"%s\",\"priority\":%zu,"
                  "\"triggerConditions\":[{\"field\":\"source\",\"operator\":\"eq\",\"value\":\"nobody-%zu\"},"
                  "{\"field\":\"data.total\",\"operator\":\"gt\",\"value\":%zu}],"
                  "\"actions\":[{\"type\":\"log\",\"config\":{\"message\":\"{{data.total}}\"}}]}",
                  index, trigger, index % 7, index, index % 900);
        rc = s_put (client, text);
    }
    snprintf (text, sizeof (text),
              "{\"id\":\"bench-hook\",\"name\":\"gold orders\",\"triggerEventType\":\"%s\",\"priority\":10,"
              "\"triggerConditions\":[{\"field\":\"data.customer.tier\",\"operator\":\"in\",\"value\":[\"gold\",\"platinum\"]},"
              "{\"field\":\"data.total\",\"operator\":\"gte\",\"value\":100}],"
              "\"actions\":[{\"type\":\"webhook\",\"config\":{\"url\":\"%s\","
              "\"body\":{\"data\":{\"t\":\"{{data.t}}\",\"i\":\"{{data.i}}\"},\"event\":\"{{event.id}}\"}}}]}",
              S_RULE_TYPE, url);
    if (rc == 0)
        rc = s_put (client, text);
    zeb_automation_client_destroy (&client);
    return rc;
}

static void
s_usage (FILE *stream)
{
    fprintf (stream,
        "usage: zeb-bench automation [options]\n"
        "  --rate E          events/s published (default 5000)\n"
        "  --seconds T       measured seconds per phase (default 10)\n"
        "  --warmup W        seconds before measuring (default 2)\n"
        "  --rules N         rules stored beside the one that fires (default 1000)\n"
        "  -r, --runs R      runs; figures are medians (default 3)\n"
        "  --json            one JSON line per run and the medians\n");
}

static void
s_print (const char *what, size_t run, s_latency_t *latency, bool json)
{
    if (json)
        printf ("{\"scenario\":\"automation\",\"phase\":\"%s\",\"run\":%zu,\"samples\":%.0f,\"lost\":%.0f,"
                "\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f}\n", what, run,
                latency->samples, latency->lost, latency->p50, latency->p90, latency->p99, latency->max);
    else
        printf ("  run %zu %-12s p50 %6.2f  p90 %6.2f  p99 %6.2f  max %7.2f ms  (%.0f samples, %.0f lost)\n",
                run, what, latency->p50, latency->p90, latency->p99, latency->max, latency->samples,
                latency->lost);
}

int
bench_automation_main (int argc, char *argv [])
{
    s_options_t options = { 5000, 10, 2, 1000, 3, false };
    for (int index = 2; index < argc; index++) {
        const char *value = NULL;
        const char *arg = argv [index];
        int kind = bench_option (argc, argv, &index, &value, "automation", s_usage);
        if (kind == BENCH_OPTION_HELP)
            return 0;
        if (kind == BENCH_OPTION_JSON) {
            options.json = true;
            continue;
        }
        if (kind < 0)
            return 2;
        long long number = value? atoll (value): 0;
        if (number <= 0) {
            fprintf (stderr, "zeb-bench automation: %s needs a whole number from 1\n", arg);
            return 2;
        }
        if (streq (arg, "--rate"))
            options.rate = (size_t) number;
        else
        if (streq (arg, "--seconds"))
            options.seconds = (size_t) number;
        else
        if (streq (arg, "--warmup"))
            options.warmup = (size_t) number;
        else
        if (streq (arg, "--rules"))
            options.rules = (size_t) number;
        else
        if (streq (arg, "-r") || streq (arg, "--runs"))
            options.runs = (size_t) number;
        else {
            fprintf (stderr, "zeb-bench automation: unknown option %s\n", arg);
            s_usage (stderr);
            return 2;
        }
    }
    char data [] = "/tmp/zeb-bench-automation-XXXXXX";
    if (!mkdtemp (data)) {
        fprintf (stderr, "zeb-bench automation: cannot make a data directory\n");
        return 1;
    }
    receiver_t *receiver = receiver_new ();
    zconfig_t *settings = zconfig_new ("root", NULL);
    zconfig_put (settings, "node/actors", "registry,ingest,log,outbox,automation");
    zconfig_put (settings, "outbox/executors", "webhook,log");
    zconfig_put (settings, "webhook/allow", "127.0.0.1/32");
    zeb_fault_t fault;
    zeb_node_t *node = receiver? zeb_node_new_embedded_with (data, settings, &fault): NULL;
    zconfig_destroy (&settings);
    if (!node) {
        fprintf (stderr, "zeb-bench automation: cannot start the node: %s\n", receiver? fault.text: "receiver");
        receiver_destroy (&receiver);
        return 1;
    }
    char url [128];
    snprintf (url, sizeof (url), "http://127.0.0.1:%d/hook", receiver_port (receiver));
    json_t *config = json_pack ("{ss}", "url", url);
    int rc = zeb_node_subscribe (node, "bench-sub", S_SUB_PREFIX, "webhook", config, &fault);
    json_decref (config);
    if (rc)
        fprintf (stderr, "zeb-bench automation: cannot subscribe: %s\n", fault.text);
    if (rc == 0 && s_rules (node, options.rules, url))
        rc = -1;
    if (!options.json)
        printf ("zeb-bench automation: %zu events/s for %zu s after %zu s; %zu rules beside the one "
                "that fires; embedded node (inproc, sync always) in %s\n",
                options.rate, options.seconds, options.warmup, options.rules, data);
    s_result_t *results = (s_result_t *) calloc (options.runs, sizeof (s_result_t));
    for (size_t run = 0; run < options.runs && rc == 0; run++) {
        //  The phases alternate which goes first; each starts with the
        //  outbox idle (no unfinished run)
        for (size_t phase = 0; phase < 2 && rc == 0; phase++) {
            bench_stat_reaches (node, "outbox", "runs", 0, true, 30000);
            if ((phase + run) % 2 == 0)
                rc = s_phase (node, receiver, &options, S_SUB_PREFIX "tick", &results [run].subscription);
            else
                rc = s_phase (node, receiver, &options, S_RULE_TYPE, &results [run].rules);
        }
        if (rc == 0) {
            s_print ("subscription", run + 1, &results [run].subscription, options.json);
            s_print ("rules", run + 1, &results [run].rules, options.json);
        }
    }
    if (rc == 0) {
        size_t stride = sizeof (s_result_t);
        s_latency_t sub = {
            bench_field_median (results, options.runs, stride, offsetof (s_result_t, subscription.p50)),
            bench_field_median (results, options.runs, stride, offsetof (s_result_t, subscription.p90)),
            bench_field_median (results, options.runs, stride, offsetof (s_result_t, subscription.p99)),
            bench_field_median (results, options.runs, stride, offsetof (s_result_t, subscription.max)), 0, 0 };
        s_latency_t rules = {
            bench_field_median (results, options.runs, stride, offsetof (s_result_t, rules.p50)),
            bench_field_median (results, options.runs, stride, offsetof (s_result_t, rules.p90)),
            bench_field_median (results, options.runs, stride, offsetof (s_result_t, rules.p99)),
            bench_field_median (results, options.runs, stride, offsetof (s_result_t, rules.max)), 0, 0 };
        if (options.json)
            printf ("{\"scenario\":\"automation\",\"medians\":true,\"rate\":%zu,\"subscription_p99_ms\":%.3f,"
                    "\"rules_p50_ms\":%.3f,\"rules_p90_ms\":%.3f,\"rules_p99_ms\":%.3f,\"rules_max_ms\":%.3f,"
                    "\"p99_ratio\":%.3f}\n", options.rate, sub.p99, rules.p50, rules.p90, rules.p99,
                    rules.max, sub.p99 > 0? rules.p99 / sub.p99: 0);
        else
            printf ("medians of %zu runs at %zu events/s, publish to webhook received:\n"
                    "  subscription  p50 %.2f  p90 %.2f  p99 %.2f  max %.2f ms\n"
                    "  rules         p50 %.2f  p90 %.2f  p99 %.2f  max %.2f ms  (p99 %.2f x the subscription's)\n",
                    options.runs, options.rate, sub.p50, sub.p90, sub.p99, sub.max,
                    rules.p50, rules.p90, rules.p99, rules.max, sub.p99 > 0? rules.p99 / sub.p99: 0);
    }
    free (results);
    zeb_node_destroy (&node);
    receiver_destroy (&receiver);
    char *command = zsys_sprintf ("rm -rf '%s'", data);
    if (system (command) != 0)
        fprintf (stderr, "zeb-bench automation: %s left behind\n", data);
    zstr_free (&command);
    return rc? 1: 0;
}
