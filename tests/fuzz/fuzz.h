/*  =========================================================================
    fuzz - what every libFuzzer target of zeb shares

    Each target is one LLVMFuzzerTestOneInput over one parser of untrusted
    input, built by the ZEB_FUZZ option (tests/fuzz/README.md). A target
    reports a failed oracle with S_ORACLE, which prints what was expected
    and aborts: libFuzzer records the input as a crash, like a sanitizer
    report.
    =========================================================================
*/

#ifndef ZEB_FUZZ_H_INCLUDED
#define ZEB_FUZZ_H_INCLUDED

#include "zeb_actors.h"

int
    LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);
int
    LLVMFuzzerInitialize (int *argc, char ***argv);

//  An oracle: a property every input must keep. Not assert: it must hold
//  in every build, and say which property broke.
#define S_ORACLE(condition) \
    do { \
        if (!(condition)) { \
            fprintf (stderr, "fuzz: oracle failed at %s:%d: %s\n", __FILE__, __LINE__, #condition); \
            abort (); \
        } \
    } while (0)

//  czmq set-up for a fuzzer: no signal handler of czmq's (libFuzzer owns
//  SIGINT and SIGALRM), and logs silenced (zeb logs each refused input)
//  unless ZEB_FUZZ_VERBOSE is set in the environment.
static inline void
s_fuzz_init (void)
{
    zsys_handler_set (NULL);
    zsys_init ();
    if (!getenv ("ZEB_FUZZ_VERBOSE"))
        zsys_set_logstream (NULL);
}

#endif
