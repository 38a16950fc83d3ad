/*  =========================================================================
    bench_rules - zeb-bench rules: the rule engine on one core

    zeb-bench rules [-n COUNT] [--runs R] [--rules N] [--types T] [--render] [--json]

    Builds a ruleset of N rules (default 1,000) over T event types
    (default 100): 90% exact triggers, 9% "prefix*" triggers (a prefix
    covers ten types), 1% "*", each with 2 to 4 conditions drawn from a
    mix (numeric comparisons, eq, in, startsWith, contains, ignoreCase,
    one regex in ten rules, nested paths, an envelope attribute). Then
    matches COUNT events (default 1,000,000) of about 200 bytes, of
    random types and data, through zeb_ruleset_match on one thread and
    prints events/s and ns per event, the median of R runs (default 5),
    with the candidates and matches per event. With --render it also
    renders the actions of every match (a webhook config with templates
    in its URL, a typed value and a text) into a reused buffer.
    =========================================================================
*/

#include "zeb.h"
#include "zeb_actors.h"
#include "bench.h"

#define S_EVENTS    1024            //  distinct events, cycled

static const char *s_currencies [] = { "EUR", "USD", "GBP", "CHF" };
static const char *s_tiers [] = { "gold", "silver", "bronze", "none" };
static const char *s_countries [] = { "DE", "FR", "US", "GB", "NL" };

static void
s_type_name (size_t index, char *text, size_t size)
{
    snprintf (text, size, "shop%zu.item%zu.updated", index / 10, index % 10);
}

//  The condition of kind for rule seed, as JSON text
static void
s_condition (unsigned kind, unsigned seed, char *text, size_t size)
{
    switch (kind % 9) {
        case 0:
            snprintf (text, size, "{\"field\":\"data.total\",\"operator\":\"gt\",\"value\":%u}", seed % 900);
            break;
        case 1:
            snprintf (text, size, "{\"field\":\"data.currency\",\"operator\":\"eq\",\"value\":\"%s\"}",
                      s_currencies [seed % 4]);
            break;
        case 2:
            snprintf (text, size, "{\"field\":\"data.customer.tier\",\"operator\":\"in\","
                      "\"value\":[\"%s\",\"%s\"]}", s_tiers [seed % 4], s_tiers [(seed + 1) % 4]);
            break;
        case 3:
            snprintf (text, size, "{\"field\":\"data.qty\",\"operator\":\"lte\",\"value\":%u}", seed % 10);
            break;
        case 4:
            snprintf (text, size, "{\"field\":\"data.orderId\",\"operator\":\"startsWith\",\"value\":\"O-%u\"}",
                      seed % 10);
            break;
        case 5:
            snprintf (text, size, "{\"field\":\"data.tags\",\"operator\":\"contains\",\"value\":\"t%u\"}", seed % 6);
            break;
        case 6:
            snprintf (text, size, "{\"field\":\"data.customer.country\",\"operator\":\"eq\",\"value\":\"%s\","
                      "\"ignoreCase\":true}", seed % 2? "de": "us");
            break;
        case 7:
            snprintf (text, size, "{\"field\":\"source\",\"operator\":\"eq\",\"value\":\"zeb-bench\"}");
            break;
        default:
            snprintf (text, size, "{\"field\":\"data.items[0].price\",\"operator\":\"gte\",\"value\":%u.5}",
                      seed % 50);
            break;
    }
}

static zeb_rule_t *
s_rule (size_t index, size_t types)
{
    char trigger [64];
    unsigned seed = (unsigned) (index * 2654435761u);
    if (index % 100 == 99)
        snprintf (trigger, sizeof (trigger), "*");
    else
    if (index % 100 >= 90)
        snprintf (trigger, sizeof (trigger), "shop%zu.*", (size_t) (seed % types) / 10);
    else
        s_type_name (seed % types, trigger, sizeof (trigger));
    char conditions [1024] = "";
    unsigned count = 2 + seed % 3;
    for (unsigned condition = 0; condition < count; condition++) {
        char text [256];
        s_condition ((unsigned) index + condition * 4, seed >> (condition * 3), text, sizeof (text));
        size_t len = strlen (conditions);
        snprintf (conditions + len, sizeof (conditions) - len, "%s%s", condition? ",": "", text);
    }
    if (index % 10 == 3) {
        size_t len = strlen (conditions);
        snprintf (conditions + len, sizeof (conditions) - len,
                  ",{\"field\":\"data.orderId\",\"operator\":\"matches\",\"value\":\"^O-[0-9]+$\"}");
    }
    char *text = zsys_sprintf (
        "{\"id\":\"rule-%05zu\",\"triggerEventType\":\"%s\",\"priority\":%u,\"triggerConditions\":[%s],"
        "\"actions\":[{\"type\":\"webhook\",\"config\":{\"url\":\"https://hooks.example.com/orders/"
        "{{data.orderId}}\",\"body\":{\"total\":\"{{data.total}}\",\"text\":\"Order {{data.orderId}} "
        "for a {{data.customer.tier}} customer at {{event.time}}\"}}}]}",
        index, trigger, seed % 5, conditions);
    zeb_fault_t fault;
    zeb_rule_t *rule = zeb_rule_new (text, strlen (text), &fault);
    if (!rule)
        fprintf (stderr, "zeb-bench: rule refused: %s\n%s\n", fault.text, text);
    zstr_free (&text);
    return rule;
}

//  An event of about 200 bytes encoded
static zeb_event_t *
s_event (size_t index, size_t types)
{
    unsigned seed = (unsigned) (index * 40503u + 17);
    char type [64];
    s_type_name (seed % types, type, sizeof (type));
    zeb_event_t *event = zeb_event_new (type);
    zeb_event_set (event, "source", "zeb-bench");
    zeb_event_set (event, "id", "0190f7a2-5b1c-7def");
    zeb_event_set_time (event, 1767225600123LL + index);
    char *data = zsys_sprintf (
        "{\"orderId\":\"O-%u\",\"total\":%u.%u,\"currency\":\"%s\",\"qty\":%u,"
        "\"customer\":{\"tier\":\"%s\",\"country\":\"%s\"},\"tags\":[\"t%u\",\"t%u\"],"
        "\"items\":[{\"sku\":\"S-%u\",\"price\":%u.25}]}",
        seed % 100000, seed % 1000, seed % 100, s_currencies [(seed >> 3) % 4], (seed >> 5) % 10,
        s_tiers [(seed >> 7) % 4], s_countries [(seed >> 9) % 5], (seed >> 11) % 6, (seed >> 13) % 6,
        seed % 977, (seed >> 15) % 60);
    zeb_event_set_data_json (event, data, NULL);
    zstr_free (&data);
    return event;
}

int
bench_rules_main (int argc, char *argv [])
{
    size_t count = 1000000, runs = 5, rule_count = 1000, types = 100;
    bool render = false, json_output = false;
    for (int index = 2; index < argc; index++) {
        const char *value = index + 1 < argc? argv [index + 1]: NULL;
        if ((streq (argv [index], "-n") || streq (argv [index], "--count")) && value)
            count = strtoull (argv [++index], NULL, 10);
        else
        if ((streq (argv [index], "-r") || streq (argv [index], "--runs")) && value)
            runs = strtoull (argv [++index], NULL, 10);
        else
        if (streq (argv [index], "--rules") && value)
            rule_count = strtoull (argv [++index], NULL, 10);
        else
        if (streq (argv [index], "--types") && value)
            types = strtoull (argv [++index], NULL, 10);
        else
        if (streq (argv [index], "--render"))
            render = true;
        else
        if (streq (argv [index], "--json"))
            json_output = true;
        else {
            fprintf (stderr, "usage: zeb-bench rules [-n COUNT] [--runs R] [--rules N] [--types T] "
                     "[--render] [--json]\n");
            return streq (argv [index], "-h") || streq (argv [index], "--help")? 0: 2;
        }
    }
    if (count == 0 || runs == 0 || rule_count == 0 || types == 0)
        return 2;
    zeb_ruleset_t *ruleset = zeb_ruleset_new ();
    for (size_t index = 0; index < rule_count; index++) {
        zeb_rule_t *rule = s_rule (index, types);
        if (!rule || zeb_ruleset_put (ruleset, &rule))
            return 1;
    }
    zeb_event_t *events [S_EVENTS];
    zeb_event_view_t views [S_EVENTS];
    size_t bytes = 0;
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    for (size_t index = 0; index < S_EVENTS; index++) {
        events [index] = s_event (index, types);
        views [index] = *zeb_event_view (events [index]);
        msgpack_sbuffer_clear (&buffer);
        zeb_event_encode (events [index], &buffer);
        bytes += buffer.size;
    }
    zeb_rule_t *matched [256];
    double *rates = (double *) calloc (runs, sizeof (double));
    size_t candidates = 0, matches = 0, rendered = 0;
    for (size_t run = 0; run < runs; run++) {
        zeb_ruleset_stats_t before, after;
        zeb_ruleset_stats (ruleset, &before);
        int64_t started = zeb_time_mono_us ();
        for (size_t index = 0; index < count; index++) {
            zeb_event_view_t *view = &views [index % S_EVENTS];
            size_t found = zeb_ruleset_match (ruleset, view, matched, 256);
            if (render) {
                for (size_t rule = 0; rule < found && rule < 256; rule++) {
                    msgpack_sbuffer_clear (&buffer);
                    zeb_pack_t pack;
                    zeb_pack_init (&pack, &buffer);
                    zeb_rule_render (matched [rule], view, &pack, NULL);
                    rendered += buffer.size > 0;
                }
            }
        }
        int64_t elapsed = zeb_time_mono_us () - started;
        zeb_ruleset_stats (ruleset, &after);
        candidates = after.candidates - before.candidates;
        matches = after.matches - before.matches;
        rates [run] = elapsed > 0? (double) count * 1e6 / (double) elapsed: 0;
        if (!json_output)
            printf ("  run %zu: %10.0f events/s  %6.0f ns/event\n", run + 1, rates [run],
                    rates [run]? 1e9 / rates [run]: 0);
    }
    double rate = bench_median (rates, runs);
    double per_candidates = (double) candidates / (double) count;
    double per_matches = (double) matches / (double) count;
    if (json_output)
        printf ("{\"scenario\":\"rules\",\"rules\":%zu,\"types\":%zu,\"event_bytes\":%.0f,\"events\":%zu,"
                "\"runs\":%zu,\"render\":%s,\"events_per_sec\":%.0f,\"ns_per_event\":%.0f,"
                "\"candidates_per_event\":%.2f,\"matches_per_event\":%.2f}\n",
                rule_count, types, (double) bytes / S_EVENTS, count, runs, render? "true": "false",
                rate, rate? 1e9 / rate: 0, per_candidates, per_matches);
    else
        printf ("median of %zu: %.0f events/s (%.0f ns/event), %zu rules over %zu types, "
                "%.0f-byte events, one core%s\n"
                "per event:    %.2f candidates, %.2f matches%s\n",
                runs, rate, rate? 1e9 / rate: 0, rule_count, types, (double) bytes / S_EVENTS,
                render? ", actions of matches rendered": "", per_candidates, per_matches,
                render? " (each rendered)": "");
    free (rates);
    msgpack_sbuffer_destroy (&buffer);
    for (size_t index = 0; index < S_EVENTS; index++)
        zeb_event_destroy (&events [index]);
    zeb_ruleset_destroy (&ruleset);
    return rendered || !render || matches == 0? 0: 1;
}
