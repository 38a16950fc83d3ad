/*  =========================================================================
    zeb_config - node configuration: ZPL (czmq's zconfig) plus environment
    =========================================================================
*/

#include "zeb.h"

typedef enum { S_STR, S_DURATION, S_SIZE, S_INT, S_BOOL, S_SYNC } s_kind_t;

typedef struct {
    const char *path;
    const char *fallback;           //  default value
    s_kind_t kind;
    const char *help;
} s_key_t;

static const s_key_t s_keys [] = {
    { "node/name",              "zeb",   S_STR, "node name, reported in WELCOME and stats" },
    { "node/actors",            "ingest,log", S_STR,
      "actors this process runs: any of ingest, log, registry (comma-separated)" },
    { "node/data",              "./zeb-data", S_STR, "directory holding the LMDB environments" },
    { "ingest/endpoint",        "tcp://127.0.0.1:7700", S_STR,
      "ROUTER for producers (PUBLISH, HELLO, STATS)" },
    { "ingest/notify",          "",      S_STR,
      "PUB that tells log readers about commits (default: in-process)" },
    { "ingest/sync",            "always", S_SYNC,
      "always = fsync before ack; batch = ack, fsync every sync_interval; none" },
    { "ingest/sync_interval",   "100ms", S_DURATION, "fsync period in batch mode" },
    { "ingest/batch",           "1024",  S_INT, "most messages taken into one transaction" },
    { "ingest/max_event_size",  "1MiB",  S_SIZE, "largest encoded event accepted" },
    { "ingest/max_publish",     "1000",  S_INT, "most events in one PUBLISH array" },
    { "ingest/dedup_window",    "24h",   S_DURATION, "how long an idempotency key is remembered" },
    { "ingest/validation",      "off",   S_STR,
      "check event data against registered schemas: off, warn or enforce" },
    { "ingest/registry_timeout", "1s",   S_DURATION, "longest wait for a schema from the registry" },
    { "ingest/hwm",             "100000", S_INT, "ZeroMQ high-water mark of the ingest sockets" },
    { "registry/endpoint",      "tcp://127.0.0.1:7703", S_STR,
      "ROUTER for schema registry requests (REGISTER, GET, LIST...)" },
    { "registry/changes",       "",      S_STR,
      "PUB announcing registered schemas (default: an inproc endpoint)" },
    { "bus/endpoint",           "tcp://127.0.0.1:7702", S_STR,
      "XPUB carrying committed events, topic = type" },
    { "log/endpoint",           "tcp://127.0.0.1:7701", S_STR, "ROUTER for durable reads (FETCH)" },
    { "log/notify",             "",      S_STR, "where the log hears of commits (default: ingest/notify)" },
    { "log/max_events",         "1000",  S_INT, "most events in one EVENTS reply" },
    { "log/max_bytes",          "4MiB",  S_SIZE, "most bytes of events in one EVENTS reply" },
    { "log/max_wait",           "60s",   S_DURATION, "longest wait_ms a FETCH may ask for" },
    { "store/map_size",         "64MiB", S_SIZE, "initial LMDB map size; grows on demand" },
    { "store/max_size",         "0",     S_SIZE, "largest the store may grow (0 = disk size)" },
    { "retention/max_age",      "0",     S_DURATION, "drop events older than this (0 = keep)" },
    { "retention/max_events",   "0",     S_INT, "keep at most this many events (0 = all)" },
    { "retention/max_bytes",    "0",     S_SIZE, "keep at most these bytes of events (0 = all)" },
    { "retention/interval",     "1s",    S_DURATION, "how often retention runs" }
};

#define S_KEYS (sizeof (s_keys) / sizeof (s_keys [0]))

static const s_key_t *
s_key_find (const char *path)
{
    for (size_t index = 0; index < S_KEYS; index++)
        if (streq (s_keys [index].path, path))
            return &s_keys [index];
    return NULL;
}

//  ZEB_ + path upper-cased with '/' as '_'
static void
s_env_name (const char *path, char *name, size_t size)
{
    size_t out = snprintf (name, size, "ZEB_");
    for (const char *p = path; *p && out + 1 < size; p++)
        name [out++] = *p == '/'? '_': (char) toupper ((unsigned char) *p);
    name [out] = 0;
}

int
zeb_config_parse_duration (const char *text, int64_t *ms)
{
    if (!text || !*text)
        return -1;
    char *end;
    errno = 0;
    double value = strtod (text, &end);
    if (errno || end == text || value < 0)
        return -1;
    double scale;
    if (*end == 0 || streq (end, "ms"))
        scale = 1;
    else
    if (streq (end, "s"))
        scale = 1000;
    else
    if (streq (end, "m"))
        scale = 60000;
    else
    if (streq (end, "h"))
        scale = 3600000;
    else
    if (streq (end, "d"))
        scale = 86400000;
    else
        return -1;
    double result = value * scale;
    if (result > 9.0e15)
        return -1;
    *ms = (int64_t) result;
    return 0;
}

int
zeb_config_parse_size (const char *text, uint64_t *bytes)
{
    if (!text || !*text)
        return -1;
    char *end;
    errno = 0;
    double value = strtod (text, &end);
    if (errno || end == text || value < 0)
        return -1;
    double scale = 1;
    if (*end) {
        switch (toupper ((unsigned char) *end)) {
            case 'K': scale = 1024.0; break;
            case 'M': scale = 1024.0 * 1024; break;
            case 'G': scale = 1024.0 * 1024 * 1024; break;
            case 'T': scale = 1024.0 * 1024 * 1024 * 1024; break;
            case 'B': scale = 1; end--; break;
            default:  return -1;
        }
        end++;
        if (!(*end == 0 || streq (end, "B") || streq (end, "iB") || streq (end, "b")))
            return -1;
    }
    double result = value * scale;
    if (result > 1.0e18)
        return -1;
    *bytes = (uint64_t) result;
    return 0;
}

zconfig_t *
zeb_config_load (const char *filename, zeb_fault_t *fault)
{
    zconfig_t *config;
    if (filename) {
        if (!zsys_file_exists (filename)) {
            zeb_fault_set (fault, ZEB_ECONFIG, "configuration file '%s' not found", filename);
            return NULL;
        }
        config = zconfig_load (filename);
        if (!config) {
            zeb_fault_set (fault, ZEB_ECONFIG, "configuration file '%s' is not valid ZPL", filename);
            return NULL;
        }
    }
    else
        config = zconfig_new ("root", NULL);
    if (!config) {
        zeb_fault_set (fault, ZEB_ERROR, "out of memory");
        return NULL;
    }
    for (size_t index = 0; index < S_KEYS; index++) {
        char name [64];
        s_env_name (s_keys [index].path, name, sizeof (name));
        const char *value = getenv (name);
        if (value)
            zconfig_put (config, s_keys [index].path, value);
    }
    return config;
}

int
zeb_config_set (zconfig_t *config, const char *assignment, zeb_fault_t *fault)
{
    assert (config);
    const char *equals = strchr (assignment, '=');
    if (!equals || equals == assignment)
        return zeb_fault_set (fault, ZEB_ECONFIG, "'%s' is not path=value", assignment);
    char path [128];
    size_t len = (size_t) (equals - assignment);
    if (len >= sizeof (path))
        return zeb_fault_set (fault, ZEB_ECONFIG, "'%s' is not a known key", assignment);
    memcpy (path, assignment, len);
    path [len] = 0;
    if (!s_key_find (path))
        return zeb_fault_set (fault, ZEB_ECONFIG, "'%s' is not a known key", path);
    zconfig_put (config, path, equals + 1);
    return 0;
}

const char *
zeb_config_str (zconfig_t *config, const char *path)
{
    const s_key_t *key = s_key_find (path);
    assert (key);               //  a key missing from the table is a bug
    return config? zconfig_get (config, path, key->fallback): key->fallback;
}

int
zeb_config_duration (zconfig_t *config, const char *path, int64_t *ms)
{
    return zeb_config_parse_duration (zeb_config_str (config, path), ms)? ZEB_ECONFIG: 0;
}

int
zeb_config_size (zconfig_t *config, const char *path, uint64_t *bytes)
{
    return zeb_config_parse_size (zeb_config_str (config, path), bytes)? ZEB_ECONFIG: 0;
}

int
zeb_config_int (zconfig_t *config, const char *path, int64_t *value)
{
    const char *text = zeb_config_str (config, path);
    char *end;
    errno = 0;
    long long number = strtoll (text, &end, 10);
    if (errno || end == text || *end || number < 0)
        return ZEB_ECONFIG;
    *value = number;
    return 0;
}

int
zeb_config_bool (zconfig_t *config, const char *path, bool *value)
{
    const char *text = zeb_config_str (config, path);
    if (streq (text, "1") || streq (text, "true") || streq (text, "yes") || streq (text, "on"))
        *value = true;
    else
    if (streq (text, "0") || streq (text, "false") || streq (text, "no") || streq (text, "off"))
        *value = false;
    else
        return ZEB_ECONFIG;
    return 0;
}

//  Walk the tree checking that every leaf is a known key
static int
s_check_tree (zconfig_t *item, const char *prefix, zeb_fault_t *fault)
{
    for (; item; item = zconfig_next (item)) {
        char path [256];
        snprintf (path, sizeof (path), "%s%s%s", prefix, *prefix? "/": "", zconfig_name (item));
        if (zconfig_child (item)) {
            if (s_check_tree (zconfig_child (item), path, fault))
                return ZEB_ECONFIG;
        }
        else
        if (!s_key_find (path))
            return zeb_fault_set (fault, ZEB_ECONFIG, "unknown configuration key '%s'", path);
    }
    return 0;
}

int
zeb_config_check (zconfig_t *config, zeb_fault_t *fault)
{
    assert (config);
    if (s_check_tree (zconfig_child (config), "", fault))
        return ZEB_ECONFIG;
    for (size_t index = 0; index < S_KEYS; index++) {
        const s_key_t *key = &s_keys [index];
        const char *text = zeb_config_str (config, key->path);
        int64_t number;
        uint64_t size;
        bool flag;
        int rc = 0;
        switch (key->kind) {
            case S_DURATION: rc = zeb_config_duration (config, key->path, &number); break;
            case S_SIZE:     rc = zeb_config_size (config, key->path, &size); break;
            case S_INT:      rc = zeb_config_int (config, key->path, &number); break;
            case S_BOOL:     rc = zeb_config_bool (config, key->path, &flag); break;
            case S_SYNC:     rc = streq (text, "always") || streq (text, "batch")
                                || streq (text, "none")? 0: ZEB_ECONFIG; break;
            case S_STR:      break;
        }
        if (rc)
            return zeb_fault_set (fault, ZEB_ECONFIG, "%s = '%s' is not a valid %s", key->path, text,
                                  key->kind == S_DURATION? "duration (e.g. 250ms, 10s, 24h)":
                                  key->kind == S_SIZE? "size (e.g. 512, 64KiB, 1MiB)":
                                  key->kind == S_SYNC? "sync mode (always, batch, none)":
                                  key->kind == S_BOOL? "boolean": "non-negative integer");
    }
    return 0;
}

void
zeb_config_print_help (FILE *stream)
{
    fprintf (stream, "%-24s %-30s %-22s %s\n", "key", "environment", "default", "meaning");
    for (size_t index = 0; index < S_KEYS; index++) {
        char name [64];
        s_env_name (s_keys [index].path, name, sizeof (name));
        fprintf (stream, "%-24s %-30s %-22s %s\n", s_keys [index].path, name,
                 *s_keys [index].fallback? s_keys [index].fallback: "\"\"", s_keys [index].help);
    }
}

zconfig_t *
zeb_config_pop (zmsg_t *msg)
{
    zframe_t *frame = zmsg_pop (msg);
    assert (frame && zframe_size (frame) == sizeof (void *));
    zconfig_t *config = *(zconfig_t **) zframe_data (frame);
    zframe_destroy (&frame);
    return config;
}

void
zeb_config_test (bool verbose)
{
    printf (" * zeb_config: ");
    int64_t ms;
    uint64_t bytes;
    assert (zeb_config_parse_duration ("250ms", &ms) == 0 && ms == 250);
    assert (zeb_config_parse_duration ("1500", &ms) == 0 && ms == 1500);
    assert (zeb_config_parse_duration ("1.5s", &ms) == 0 && ms == 1500);
    assert (zeb_config_parse_duration ("24h", &ms) == 0 && ms == 86400000);
    assert (zeb_config_parse_duration ("7d", &ms) == 0 && ms == 7 * 86400000LL);
    assert (zeb_config_parse_duration ("soon", &ms) == -1);
    assert (zeb_config_parse_duration ("5 years", &ms) == -1);
    assert (zeb_config_parse_duration ("-1s", &ms) == -1);
    assert (zeb_config_parse_size ("1MiB", &bytes) == 0 && bytes == 1048576);
    assert (zeb_config_parse_size ("64K", &bytes) == 0 && bytes == 65536);
    assert (zeb_config_parse_size ("2GB", &bytes) == 0 && bytes == 2147483648ULL);
    assert (zeb_config_parse_size ("512", &bytes) == 0 && bytes == 512);
    assert (zeb_config_parse_size ("512B", &bytes) == 0 && bytes == 512);
    assert (zeb_config_parse_size ("12Q", &bytes) == -1);
    assert (zeb_config_parse_size ("1MiBs", &bytes) == -1);

    //  File, environment and overrides, in that order of precedence
    char dir [] = "/tmp/zeb-config-XXXXXX";
    assert (mkdtemp (dir));
    char *file = zsys_sprintf ("%s/zeb.cfg", dir);
    FILE *handle = fopen (file, "w");
    assert (handle);
    fprintf (handle, "node\n    name = from-file\ningest\n    batch = 64\n    sync = batch\n");
    fclose (handle);
    setenv ("ZEB_INGEST_BATCH", "128", 1);
    zeb_fault_t fault;
    zconfig_t *config = zeb_config_load (file, &fault);
    assert (config);
    unsetenv ("ZEB_INGEST_BATCH");
    assert (streq (zeb_config_str (config, "node/name"), "from-file"));
    assert (streq (zeb_config_str (config, "ingest/sync"), "batch"));
    int64_t batch;
    assert (zeb_config_int (config, "ingest/batch", &batch) == 0 && batch == 128);
    assert (zeb_config_set (config, "ingest/batch=256", &fault) == 0);
    assert (zeb_config_int (config, "ingest/batch", &batch) == 0 && batch == 256);
    assert (streq (zeb_config_str (config, "node/data"), "./zeb-data"));     //  default
    assert (zeb_config_check (config, &fault) == 0);
    assert (zeb_config_set (config, "ingest/bacth=1", &fault) == ZEB_ECONFIG);
    assert (strstr (fault.text, "ingest/bacth"));
    assert (zeb_config_set (config, "novalue", &fault) == ZEB_ECONFIG);
    zconfig_put (config, "ingest/sync", "sometimes");
    assert (zeb_config_check (config, &fault) == ZEB_ECONFIG);
    assert (strstr (fault.text, "ingest/sync"));
    zconfig_put (config, "ingest/sync", "none");
    zconfig_put (config, "ingest/dedup_window", "a while");
    assert (zeb_config_check (config, &fault) == ZEB_ECONFIG);
    assert (strstr (fault.text, "dedup_window"));
    zconfig_put (config, "ingest/dedup_window", "1h");
    zconfig_put (config, "ingest/typo", "1");
    assert (zeb_config_check (config, &fault) == ZEB_ECONFIG);
    assert (strstr (fault.text, "ingest/typo"));
    zconfig_destroy (&config);
    assert (zeb_config_load ("/nonexistent/zeb.cfg", &fault) == NULL);
    assert (fault.code == ZEB_ECONFIG);
    unlink (file);
    rmdir (dir);
    zstr_free (&file);
    printf ("OK\n");
}
