/*  =========================================================================
    bench_schema - zeb-bench schema: payload validation on one core

    zeb-bench schema [-n COUNT] [--runs R] [--formats assert|annotate] [--json]

    Validates a 10-property order payload (strings with a pattern and
    formats, numbers with bounds, an enum, an array) against its compiled
    schema COUNT times on one thread and prints validations/s, the median
    of R runs; beside it, in the same run, the ceiling of merely walking
    the same msgpack bytes once (zeb_mpk_skip). The formats are asserted
    (uuid, date-time, email checked) unless --formats annotate, draft
    2020-12's default and the node's.
    =========================================================================
*/

#include "zeb.h"
#include "zeb_classes.h"
#include "bench.h"

const char *bench_order_schema =
    "{\"type\":\"object\",\"additionalProperties\":false,"
    "\"required\":[\"orderId\",\"customerId\",\"total\",\"currency\",\"quantity\",\"placedAt\"],"
    "\"properties\":{"
    "\"orderId\":{\"type\":\"string\",\"pattern\":\"^O-[0-9]{4,}$\"},"
    "\"customerId\":{\"type\":\"string\",\"format\":\"uuid\"},"
    "\"total\":{\"type\":\"number\",\"minimum\":0,\"multipleOf\":0.01},"
    "\"currency\":{\"enum\":[\"EUR\",\"USD\",\"GBP\"]},"
    "\"quantity\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":1000},"
    "\"express\":{\"type\":\"boolean\"},"
    "\"placedAt\":{\"type\":\"string\",\"format\":\"date-time\"},"
    "\"email\":{\"type\":\"string\",\"format\":\"email\"},"
    "\"note\":{\"type\":\"string\",\"maxLength\":200},"
    "\"tags\":{\"type\":\"array\",\"maxItems\":5,\"items\":{\"type\":\"string\"}}}}";

const char *bench_order_payload =
    "{\"orderId\":\"O-10042\",\"customerId\":\"0190f7a2-5b1c-7def-8a12-3456789abcde\","
    "\"total\":99.95,\"currency\":\"EUR\",\"quantity\":3,\"express\":true,"
    "\"placedAt\":\"2026-11-22T10:00:00Z\",\"email\":\"ada@example.com\","
    "\"note\":\"leave at the door\",\"tags\":[\"gift\",\"fragile\"]}";

int
bench_schema_main (int argc, char *argv [])
{
    size_t count = 2000000, runs = 5;
    bool json_output = false;
    zeb_schema_options_t options = { .format_assertion = true };
    for (int index = 2; index < argc; index++) {
        if ((streq (argv [index], "-n") || streq (argv [index], "--count")) && index + 1 < argc)
            count = strtoull (argv [++index], NULL, 10);
        else
        if ((streq (argv [index], "-r") || streq (argv [index], "--runs")) && index + 1 < argc)
            runs = strtoull (argv [++index], NULL, 10);
        else
        if (streq (argv [index], "--json"))
            json_output = true;
        else
        if (streq (argv [index], "--formats") && index + 1 < argc
        &&  (streq (argv [index + 1], "assert") || streq (argv [index + 1], "annotate")))
            options.format_assertion = streq (argv [++index], "assert");
        else {
            fprintf (stderr, "usage: zeb-bench schema [-n COUNT] [--runs R] "
                             "[--formats assert|annotate] [--json]\n");
            return 2;
        }
    }
    if (count == 0 || runs == 0)
        return 2;
    zeb_fault_t fault;
    zeb_schema_t *schema = zeb_schema_new_with (bench_order_schema, strlen (bench_order_schema),
                                                &options, &fault);
    assert (schema);
    msgpack_sbuffer payload;
    msgpack_sbuffer_init (&payload);
    zeb_json_pack_text (bench_order_payload, strlen (bench_order_payload), &payload, NULL);
    if (zeb_schema_validate (schema, payload.data, payload.size, NULL) != 0) {
        fprintf (stderr, "zeb-bench: the bench payload does not match its schema\n");
        return 1;
    }

    double *rates = (double *) calloc (runs, sizeof (double));
    double *walks = (double *) calloc (runs, sizeof (double));
    size_t failures = 0;
    for (size_t run = 0; run < runs; run++) {
        int64_t started = zeb_time_mono_us ();
        for (size_t index = 0; index < count; index++)
            failures += zeb_schema_validate (schema, payload.data, payload.size, NULL) != 0;
        int64_t elapsed = zeb_time_mono_us () - started;
        rates [run] = elapsed > 0? (double) count * 1e6 / (double) elapsed: 0;
        //  The ceiling: walking the bytes once, nothing checked
        size_t walked = 0;
        started = zeb_time_mono_us ();
        for (size_t index = 0; index < count; index++) {
            zeb_mpk_t reader;
            zeb_mpk_init (&reader, payload.data, payload.size);
            const uint8_t *span;
            size_t span_size;
            walked += zeb_mpk_skip (&reader, &span, &span_size) == 0;
        }
        elapsed = zeb_time_mono_us () - started;
        walks [run] = elapsed > 0? (double) walked * 1e6 / (double) elapsed: 0;
        if (!json_output)
            printf ("  run %zu: %10.0f validations/s   (walking the bytes: %10.0f/s)\n",
                    run + 1, rates [run], walks [run]);
    }
    qsort (rates, runs, sizeof (double), bench_compare_double);
    qsort (walks, runs, sizeof (double), bench_compare_double);
    double rate = runs % 2? rates [runs / 2]: (rates [runs / 2 - 1] + rates [runs / 2]) / 2;
    double walk = runs % 2? walks [runs / 2]: (walks [runs / 2 - 1] + walks [runs / 2]) / 2;
    if (json_output)
        printf ("{\"scenario\":\"schema\",\"payload_bytes\":%zu,\"properties\":10,\"validations\":%zu,"
                "\"runs\":%zu,\"validations_per_sec\":%.0f,\"walk_per_sec\":%.0f,\"ratio_walk\":%.3f,"
                "\"failures\":%zu}\n", payload.size, count, runs, rate, walk,
                walk? rate / walk: 0, failures);
    else
        printf ("median of %zu: %.0f validations/s of a %zu-byte, 10-property payload, one core\n"
                "ceiling:   walking the same msgpack once: %.0f/s (validation at %.1f%%)\n",
                runs, rate, payload.size, walk, walk? 100 * rate / walk: 0);
    free (rates);
    free (walks);
    msgpack_sbuffer_destroy (&payload);
    zeb_schema_destroy (&schema);
    return failures? 1: 0;
}
