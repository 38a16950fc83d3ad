/*  =========================================================================
    zeb_config - node configuration: ZPL (czmq's zconfig) plus environment

    Every key zeb reads is listed, with its default and meaning, in one
    table (zeb_config.c; `zebd --help-config` prints it). Values come, in
    increasing precedence, from the defaults, a ZPL file, ZEB_* environment
    variables (the path upper-cased, '/' as '_': ingest/max_event_size is
    ZEB_INGEST_MAX_EVENT_SIZE) and explicit "path=value" overrides.

    Durations are written "250ms", "10s", "5m", "24h", "7d" (a plain
    number is milliseconds); sizes "512", "64KiB", "64K", "1MiB", "16G"
    (all multiples of 1024). Zero means "unlimited" for limits.
    =========================================================================
*/

#ifndef ZEB_CONFIG_H_INCLUDED
#define ZEB_CONFIG_H_INCLUDED

#ifdef __cplusplus
extern "C" {
#endif

//  Load a ZPL file (NULL for none), then apply ZEB_* environment variables.
//  Returns a new config or NULL with fault set. Caller owns the result.
zconfig_t *
    zeb_config_load (const char *filename, zeb_fault_t *fault);

//  Apply one "path=value" override. Returns 0, or ZEB_ECONFIG if the text
//  has no '=' or names a key zeb does not know.
int
    zeb_config_set (zconfig_t *config, const char *assignment, zeb_fault_t *fault);

//  Check every known key's value parses (durations, sizes, numbers,
//  enumerations) and that no unknown key is present. Returns 0 or
//  ZEB_ECONFIG with fault naming the key.
int
    zeb_config_check (zconfig_t *config, zeb_fault_t *fault);

//  A key's value, or its default. Borrowed from config or the table.
const char *
    zeb_config_str (zconfig_t *config, const char *path);

//  Typed reads: 0 and the value, or ZEB_ECONFIG if the text does not parse.
int
    zeb_config_duration (zconfig_t *config, const char *path, int64_t *ms);
int
    zeb_config_size (zconfig_t *config, const char *path, uint64_t *bytes);
int
    zeb_config_int (zconfig_t *config, const char *path, int64_t *value);
int
    zeb_config_bool (zconfig_t *config, const char *path, bool *value);

//  Parse a duration or a size from text. Return 0 or -1.
int
    zeb_config_parse_duration (const char *text, int64_t *ms);
int
    zeb_config_parse_size (const char *text, uint64_t *bytes);

//  Print every key, its environment variable, default and meaning.
void
    zeb_config_print_help (FILE *stream);

//  The configuration an actor's START message carries: pops the frame
//  holding the zconfig_t pointer (borrowed from the sender until the
//  actor replies).
zconfig_t *
    zeb_config_pop (zmsg_t *msg);

//  Self test
void
    zeb_config_test (bool verbose);

#ifdef __cplusplus
}
#endif

#endif
