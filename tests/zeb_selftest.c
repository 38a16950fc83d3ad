/*  =========================================================================
    zeb_selftest - runs the self tests of zeb's classes and actors

    zeb_selftest            run them all
    zeb_selftest NAME...    run these (e.g. event store ingest)
    -v                      verbose

    The list is zeb_selftests.h, which tests/CMakeLists.txt also reads to
    make one ctest test per entry.
    =========================================================================
*/

#include "zeb_actors.h"
#include "zeb_validator.h"
#include "zeb_batch.h"
#include "zeb_writer.h"

typedef struct {
    const char *name;
    void (*test) (bool verbose);
} s_test_t;

#define ZEB_SELFTEST(name, function) { #name, function },
static const s_test_t s_tests [] = {
#include "zeb_selftests.h"
};
#undef ZEB_SELFTEST

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
