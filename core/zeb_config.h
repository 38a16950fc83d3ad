/*  =========================================================================
    zeb_config - configuration: ZPL (czmq's zconfig), environment, and
    the key maps that components declare for themselves

    Each component declares the keys it reads in a map of its own file
    (as Fluent Bit's plugins do): path, default, kind, range and help. The
    node collects the maps of every actor it knows, and from them come the
    environment overrides, the check of a whole configuration, and
    `zebd --help-config`. Values come, in increasing precedence, from the
    defaults, a ZPL file, ZEB_* environment variables (the path upper-cased,
    '/' as '_': ingest/max_event_size is ZEB_INGEST_MAX_EVENT_SIZE) and
    explicit "path=value" overrides.

    Durations are written "250ms", "10s", "5m", "24h", "7d" (a plain
    number is milliseconds); sizes "512", "64KiB", "64K", "1MiB", "16G"
    (all multiples of 1024). Only digits with an optional fraction and a
    unit parse: "nan", "inf", "1e3", "-1" and "" are refused. Zero means
    "unlimited" for limits, where the key's help says so. Endpoints are
    tcp://HOST:PORT (PORT 1..65535 or *), ipc://PATH or inproc://NAME.
    =========================================================================
*/

#ifndef ZEB_CONFIG_H_INCLUDED
#define ZEB_CONFIG_H_INCLUDED

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    ZEB_KEY_STR,                //  any text
    ZEB_KEY_PATH,               //  a file system path, not empty
    ZEB_KEY_ENDPOINT,           //  a ZeroMQ endpoint ("" allowed where the default is "")
    ZEB_KEY_DURATION,           //  ms, within [min, max]
    ZEB_KEY_SIZE,               //  bytes, within [min, max]
    ZEB_KEY_INT,                //  integer, within [min, max]
    ZEB_KEY_BOOL,
    ZEB_KEY_ENUM                //  one of choices ("always|batch|none")
} zeb_key_kind_t;

//  One key of a component. A map is an array of these ended by a key
//  whose path is NULL. min and max bound numbers (max 0: no upper bound).
typedef struct {
    const char *path;
    const char *fallback;       //  default value, as text
    zeb_key_kind_t kind;
    int64_t min;
    int64_t max;
    const char *choices;        //  ZEB_KEY_ENUM: "a|b|c"
    const char *help;
} zeb_config_key_t;

//  Maps are passed as a NULL-ended array of maps.
typedef const zeb_config_key_t *const zeb_config_maps_t [];

//  Load a ZPL file (NULL for none), then apply ZEB_* environment variables
//  of the keys in maps. Returns a new config or NULL with fault set (a
//  missing file, a directory, text that is not ZPL). Caller owns it.
zconfig_t *
    zeb_config_load (const char *filename, const zeb_config_key_t *const *maps, zeb_fault_t *fault);

//  Apply one "path=value" override. Returns 0, or ZEB_ECONFIG if the text
//  has no '=' or names a key none of the maps knows.
int
    zeb_config_set (zconfig_t *config, const char *assignment, const zeb_config_key_t *const *maps,
                    zeb_fault_t *fault);

//  Check a whole configuration: every key present is known to a map, and
//  every key of every map holds a valid value (its default if absent).
//  Returns 0 or ZEB_ECONFIG with fault naming the key and what is wrong.
int
    zeb_config_check (zconfig_t *config, const zeb_config_key_t *const *maps, zeb_fault_t *fault);

//  Put the default of every key of map that config lacks, and check the
//  values of map's keys. Returns 0 or ZEB_ECONFIG with fault.
int
    zeb_config_apply (zconfig_t *config, const zeb_config_key_t *map, zeb_fault_t *fault);

//  A key's value (borrowed from config). The key must be present: read
//  only keys of your own map, after zeb_config_apply (an absent key is a
//  programming error).
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

//  Parse a duration, a size, an integer or an endpoint from text. Return
//  0 or -1.
int
    zeb_config_parse_duration (const char *text, int64_t *ms);
int
    zeb_config_parse_size (const char *text, uint64_t *bytes);
int
    zeb_config_parse_int (const char *text, int64_t *value);
int
    zeb_config_parse_endpoint (const char *text);

//  Print every key of maps: its environment variable, default and help.
void
    zeb_config_print_help (FILE *stream, const zeb_config_key_t *const *maps);

//  A deep copy (through ZPL text). Caller owns it.
zconfig_t *
    zeb_config_dup (zconfig_t *config);

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
