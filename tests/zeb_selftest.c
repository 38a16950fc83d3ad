/*  =========================================================================
    zeb_selftest - runs the self tests of zeb's classes and actors

    zeb_selftest            run them all
    zeb_selftest NAME...    run these (e.g. event store ingest)
    -v                      verbose
    =========================================================================
*/

#include "zeb.h"

typedef struct {
    const char *name;
    void (*test) (bool verbose);
} s_test_t;

static const s_test_t s_tests [] = {
    { "error",  zeb_error_test },
    { "mpk",    zeb_mpk_test },
    { "time",   zeb_time_test },
    { "uuid",   zeb_uuid_test },
    { "json",   zeb_json_test },
    { "schema", zeb_schema_test },
    { "compat", zeb_compat_test },
    { "event",  zeb_event_test },
    { "config", zeb_config_test },
    { "store",  zeb_store_test },
    { "proto",  zeb_proto_test },
    { "client", zeb_client_test },
    { "ingest", zeb_ingest_test },
    { "log",    zeb_log_test },
    { "registry", zeb_registry_test },
    { "node",   zeb_node_test }
};

#define S_TESTS (sizeof (s_tests) / sizeof (s_tests [0]))

int
main (int argc, char *argv [])
{
    bool verbose = false;
    int selected = 0;
    for (int index = 1; index < argc; index++)
        if (streq (argv [index], "-v"))
            verbose = true;
    //  Tests run quietly unless asked: actors log their start-up
    if (!verbose)
        zsys_set_logsystem (false), zsys_set_logstream (NULL);
    for (int index = 1; index < argc; index++) {
        if (streq (argv [index], "-v"))
            continue;
        size_t test;
        for (test = 0; test < S_TESTS; test++)
            if (streq (argv [index], s_tests [test].name))
                break;
        if (test == S_TESTS) {
            fprintf (stderr, "zeb_selftest: no test named '%s'\n", argv [index]);
            return 2;
        }
        s_tests [test].test (verbose);
        selected++;
    }
    if (selected == 0)
        for (size_t test = 0; test < S_TESTS; test++)
            s_tests [test].test (verbose);
    zsys_shutdown ();
    return 0;
}
