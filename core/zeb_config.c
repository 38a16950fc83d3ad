/*  =========================================================================
    zeb_config - configuration: ZPL, environment, and key maps
    =========================================================================
*/

#include "zeb_classes.h"

//  A key path with a '*' segment is a pattern: the '*' stands for any one
//  segment of 1..64 bytes (http/webhooks/*/secret matches
//  http/webhooks/github/secret). Patterns have no default in the tree,
//  no environment variable; their values are checked where they appear.
static bool
s_is_pattern (const char *path)
{
    return strstr (path, "/*/") != NULL || strncmp (path, "*/", 2) == 0;
}

static bool
s_path_matches (const char *pattern, const char *path)
{
    while (*pattern && *path) {
        if (pattern [0] == '*' && (pattern [1] == '/' || pattern [1] == 0)) {
            size_t len = strcspn (path, "/");
            if (len == 0 || len > 64)
                return false;
            pattern++;
            path += len;
        }
        else {
            if (*pattern != *path)
                return false;
            pattern++;
            path++;
        }
    }
    return *pattern == 0 && *path == 0;
}

static const zeb_config_key_t *
s_key_find (const zeb_config_key_t *const *maps, const char *path)
{
    for (const zeb_config_key_t *const *map = maps; map && *map; map++)
        for (const zeb_config_key_t *key = *map; key->path; key++)
            if (streq (key->path, path))
                return key;
    for (const zeb_config_key_t *const *map = maps; map && *map; map++)
        for (const zeb_config_key_t *key = *map; key->path; key++)
            if (s_is_pattern (key->path) && s_path_matches (key->path, path))
                return key;
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

//  A decimal number: digits, optionally '.' and digits. Returns the
//  value and where the unit starts, or -1. No signs, exponents, hex,
//  "nan" or "inf": strtod would take all of those.
static int
s_number (const char *text, double *value, const char **unit)
{
    const char *p = text;
    if (!isdigit ((unsigned char) *p))
        return -1;
    double number = 0;
    while (isdigit ((unsigned char) *p)) {
        number = number * 10 + (*p - '0');
        if (number > 1.0e19)
            return -1;
        p++;
    }
    if (*p == '.') {
        p++;
        if (!isdigit ((unsigned char) *p))
            return -1;
        double scale = 0.1;
        while (isdigit ((unsigned char) *p)) {
            number += scale * (*p - '0');
            scale /= 10;
            p++;
        }
    }
    *value = number;
    *unit = p;
    return 0;
}

int
zeb_config_parse_duration (const char *text, int64_t *ms)
{
    double value;
    const char *end;
    if (!text || s_number (text, &value, &end))
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
    double value;
    const char *end;
    if (!text || s_number (text, &value, &end))
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

int
zeb_config_parse_int (const char *text, int64_t *value)
{
    if (!text)
        return -1;
    const char *p = text;
    bool negative = *p == '-';
    if (negative)
        p++;
    if (!isdigit ((unsigned char) *p))
        return -1;
    char *end;
    errno = 0;
    long long number = strtoll (text, &end, 10);
    if (errno || *end)
        return -1;
    *value = number;
    return 0;
}

int
zeb_config_parse_endpoint (const char *text)
{
    if (!text)
        return -1;
    if (strncmp (text, "inproc://", 9) == 0 || strncmp (text, "ipc://", 6) == 0)
        return text [strncmp (text, "ipc://", 6) == 0? 6: 9]? 0: -1;
    if (strncmp (text, "tcp://", 6) != 0)
        return -1;
    const char *colon = strrchr (text + 6, ':');
    if (!colon || colon == text + 6)
        return -1;
    const char *port = colon + 1;
    if (streq (port, "*"))
        return 0;
    int64_t number;
    if (zeb_config_parse_int (port, &number) || *port == '-' || number < 1 || number > 65535)
        return -1;
    return 0;
}

zconfig_t *
zeb_config_load (const char *filename, const zeb_config_key_t *const *maps, zeb_fault_t *fault)
{
    zconfig_t *config;
    if (filename) {
        struct stat info;
        if (stat (filename, &info)) {
            zeb_fault_set (fault, ZEB_ECONFIG, "configuration file '%s' not found", filename);
            return NULL;
        }
        if (!S_ISREG (info.st_mode)) {
            zeb_fault_set (fault, ZEB_ECONFIG, "configuration file '%s' is not a regular file", filename);
            return NULL;
        }
        //  Read the text ourselves: czmq's zconfig_load leaks when the
        //  text is not ZPL
        config = NULL;
        FILE *file = fopen (filename, "r");
        if (file) {
            char *text = NULL;
            size_t size = 0;
            FILE *memory = open_memstream (&text, &size);
            char chunk [4096];
            size_t got;
            while (memory && (got = fread (chunk, 1, sizeof (chunk), file)) > 0)
                fwrite (chunk, 1, got, memory);
            if (memory)
                fclose (memory);
            fclose (file);
            if (text && *text)
                config = zconfig_str_load (text);
            else
            if (text)
                config = zconfig_new ("root", NULL);        //  an empty file
            free (text);
        }
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
    for (; maps && *maps; maps++)
        for (const zeb_config_key_t *key = *maps; key->path; key++) {
            if (s_is_pattern (key->path))
                continue;
            char name [64];
            s_env_name (key->path, name, sizeof (name));
            const char *value = getenv (name);
            if (value)
                zconfig_put (config, key->path, value);
        }
    return config;
}

int
zeb_config_set (zconfig_t *config, const char *assignment, const zeb_config_key_t *const *maps,
                zeb_fault_t *fault)
{
    assert (config);
    const char *equals = strchr (assignment, '=');
    if (!equals || equals == assignment)
        return zeb_fault_set (fault, ZEB_ECONFIG, "'%s' is not path=value", assignment);
    char path [128];
    size_t len = (size_t) (equals - assignment);
    if (len >= sizeof (path))
        return zeb_fault_set (fault, ZEB_ECONFIG, "'%.60s...' is not a known key", assignment);
    memcpy (path, assignment, len);
    path [len] = 0;
    if (!s_key_find (maps, path))
        return zeb_fault_set (fault, ZEB_ECONFIG, "'%s' is not a known key (zebd --help-config)", path);
    zconfig_put (config, path, equals + 1);
    return 0;
}

const char *
zeb_config_str (zconfig_t *config, const char *path)
{
    assert (config);
    zconfig_t *item = zconfig_locate (config, path);
    assert (item);              //  read before zeb_config_apply: a bug
    const char *value = zconfig_value (item);
    return value? value: "";
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
    return zeb_config_parse_int (zeb_config_str (config, path), value)? ZEB_ECONFIG: 0;
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

//  Is text one of "a|b|c"?
static bool
s_choice (const char *choices, const char *text)
{
    size_t len = strlen (text);
    const char *p = choices;
    while (p && *p) {
        const char *bar = strchr (p, '|');
        size_t part = bar? (size_t) (bar - p): strlen (p);
        if (part == len && memcmp (p, text, len) == 0)
            return true;
        p = bar? bar + 1: NULL;
    }
    return false;
}

//  Check one key's text. Returns 0 or ZEB_ECONFIG with fault.
static int
s_check_value (const zeb_config_key_t *key, const char *text, zeb_fault_t *fault)
{
    int64_t number = 0;
    uint64_t size = 0;
    const char *expected = NULL;
    bool ranged = false;
    switch (key->kind) {
        case ZEB_KEY_STR:
            return 0;
        case ZEB_KEY_PATH:
            if (!*text)
                expected = "path (not empty)";
            break;
        case ZEB_KEY_ENDPOINT:
            if (*text == 0 && *key->fallback == 0)
                return 0;           //  "": the component picks one
            if (zeb_config_parse_endpoint (text))
                expected = "endpoint (tcp://HOST:PORT with PORT 1-65535 or *, ipc://PATH, inproc://NAME)";
            break;
        case ZEB_KEY_DURATION:
            if (zeb_config_parse_duration (text, &number))
                expected = "duration (e.g. 250ms, 10s, 24h)";
            ranged = true;
            break;
        case ZEB_KEY_SIZE:
            if (zeb_config_parse_size (text, &size))
                expected = "size (e.g. 512, 64KiB, 1MiB)";
            else
            if (size > INT64_MAX)
                expected = "size below 8 EiB";
            number = (int64_t) size;
            ranged = true;
            break;
        case ZEB_KEY_INT:
            if (zeb_config_parse_int (text, &number))
                expected = "integer";
            ranged = true;
            break;
        case ZEB_KEY_BOOL:
            if (!(streq (text, "1") || streq (text, "true") || streq (text, "yes") || streq (text, "on")
            ||    streq (text, "0") || streq (text, "false") || streq (text, "no") || streq (text, "off")))
                expected = "boolean (on, off)";
            break;
        case ZEB_KEY_ENUM:
            if (!s_choice (key->choices, text))
                return zeb_fault_set (fault, ZEB_ECONFIG, "%s = '%s' must be one of %s",
                                      key->path, text, key->choices);
            break;
    }
    if (expected)
        return zeb_fault_set (fault, ZEB_ECONFIG, "%s = '%s' is not a valid %s", key->path, text, expected);
    const char *unit = key->kind == ZEB_KEY_DURATION? " ms": key->kind == ZEB_KEY_SIZE? " bytes": "";
    if (ranged && key->max && (number < key->min || number > key->max))
        return zeb_fault_set (fault, ZEB_ECONFIG, "%s = '%s' is out of range (%lld to %lld%s)",
                              key->path, text, (long long) key->min, (long long) key->max, unit);
    if (ranged && number < key->min)
        return zeb_fault_set (fault, ZEB_ECONFIG, "%s = '%s' is out of range (at least %lld%s)",
                              key->path, text, (long long) key->min, unit);
    return 0;
}

//  Walk the tree checking that every leaf is a known key
static int
s_check_tree (zconfig_t *item, const char *prefix, const zeb_config_key_t *const *maps,
              zeb_fault_t *fault)
{
    for (; item; item = zconfig_next (item)) {
        char path [256];
        snprintf (path, sizeof (path), "%s%s%s", prefix, *prefix? "/": "", zconfig_name (item));
        if (zconfig_child (item)) {
            if (s_check_tree (zconfig_child (item), path, maps, fault))
                return ZEB_ECONFIG;
        }
        else {
            const zeb_config_key_t *key = s_key_find (maps, path);
            if (!key)
                return zeb_fault_set (fault, ZEB_ECONFIG, "unknown configuration key '%s'", path);
            if (s_is_pattern (key->path)) {
                //  A pattern's value is checked where it appears, under its own name
                zeb_config_key_t named = *key;
                named.path = path;
                const char *value = zconfig_value (item);
                if (s_check_value (&named, value? value: "", fault))
                    return ZEB_ECONFIG;
            }
        }
    }
    return 0;
}

int
zeb_config_check (zconfig_t *config, const zeb_config_key_t *const *maps, zeb_fault_t *fault)
{
    assert (config);
    if (s_check_tree (zconfig_child (config), "", maps, fault))
        return ZEB_ECONFIG;
    for (; maps && *maps; maps++)
        for (const zeb_config_key_t *key = *maps; key->path; key++) {
            if (s_is_pattern (key->path))
                continue;
            zconfig_t *item = zconfig_locate (config, key->path);
            const char *text = item? zconfig_value (item): key->fallback;
            if (s_check_value (key, text? text: "", fault))
                return ZEB_ECONFIG;
        }
    return 0;
}

int
zeb_config_apply (zconfig_t *config, const zeb_config_key_t *map, zeb_fault_t *fault)
{
    assert (config);
    for (const zeb_config_key_t *key = map; key && key->path; key++) {
        if (s_is_pattern (key->path))
            continue;
        zconfig_t *item = zconfig_locate (config, key->path);
        if (!item)
            zconfig_put (config, key->path, key->fallback);
        if (s_check_value (key, zeb_config_str (config, key->path), fault))
            return ZEB_ECONFIG;
    }
    return 0;
}

void
zeb_config_print_help (FILE *stream, const zeb_config_key_t *const *maps)
{
    fprintf (stream, "%-26s %-32s %-22s %s\n", "key", "environment", "default", "meaning");
    for (; maps && *maps; maps++)
        for (const zeb_config_key_t *key = *maps; key->path; key++) {
            char name [64];
            s_env_name (key->path, name, sizeof (name));
            char range [96] = "";
            if (key->kind == ZEB_KEY_ENUM)
                snprintf (range, sizeof (range), " (%s)", key->choices);
            else
            if ((key->kind == ZEB_KEY_INT || key->kind == ZEB_KEY_SIZE || key->kind == ZEB_KEY_DURATION)
            &&  (key->min || key->max)) {
                if (key->max)
                    snprintf (range, sizeof (range), " [%lld..%lld]", (long long) key->min,
                              (long long) key->max);
                else
                    snprintf (range, sizeof (range), " [at least %lld]", (long long) key->min);
            }
            fprintf (stream, "%-26s %-32s %-22s %s%s\n", key->path, name,
                     *key->fallback? key->fallback: "\"\"", key->help, range);
        }
}

zconfig_t *
zeb_config_dup (zconfig_t *config)
{
    char *text = config? zconfig_str_save (config): NULL;
    zconfig_t *copy = text && *text? zconfig_str_load (text): NULL;
    zstr_free (&text);
    return copy? copy: zconfig_new ("root", NULL);
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

//  ---------------------------------------------------------------------
//  Self test

static const zeb_config_key_t s_test_keys [] = {
    { "test/name",     "zeb",    ZEB_KEY_STR, 0, 0, NULL, "a name" },
    { "test/data",     "./data", ZEB_KEY_PATH, 0, 0, NULL, "a directory" },
    { "test/endpoint", "tcp://127.0.0.1:7700", ZEB_KEY_ENDPOINT, 0, 0, NULL, "an endpoint" },
    { "test/notify",   "",       ZEB_KEY_ENDPOINT, 0, 0, NULL, "an endpoint or none" },
    { "test/batch",    "1024",   ZEB_KEY_INT, 1, 65536, NULL, "a count" },
    { "test/window",   "24h",    ZEB_KEY_DURATION, 0, 0, NULL, "a duration" },
    { "test/size",     "64MiB",  ZEB_KEY_SIZE, 1 << 20, 0, NULL, "a size" },
    { "test/sync",     "always", ZEB_KEY_ENUM, 0, 0, "always|batch|none", "a choice" },
    { "test/flag",     "off",    ZEB_KEY_BOOL, 0, 0, NULL, "a flag" },
    { "test/hooks/*/limit", "1KiB", ZEB_KEY_SIZE, 1, 0, NULL, "a size per hook" },
    { NULL }
};

void
zeb_config_test (bool verbose)
{
    printf (" * zeb_config: ");
    int64_t ms, number;
    uint64_t bytes;
    assert (zeb_config_parse_duration ("250ms", &ms) == 0 && ms == 250);
    assert (zeb_config_parse_duration ("1500", &ms) == 0 && ms == 1500);
    assert (zeb_config_parse_duration ("1.5s", &ms) == 0 && ms == 1500);
    assert (zeb_config_parse_duration ("24h", &ms) == 0 && ms == 86400000);
    assert (zeb_config_parse_duration ("7d", &ms) == 0 && ms == 7 * 86400000LL);
    const char *not_durations [] = { "soon", "5 years", "-1s", "nan", "NaN", "inf", "1e3", "0x10",
                                     "", "1.", ".5s", " 1s", "1s ", "99999999999999999999d" };
    for (size_t index = 0; index < sizeof (not_durations) / sizeof (not_durations [0]); index++)
        assert (zeb_config_parse_duration (not_durations [index], &ms) == -1);
    assert (zeb_config_parse_size ("1MiB", &bytes) == 0 && bytes == 1048576);
    assert (zeb_config_parse_size ("64K", &bytes) == 0 && bytes == 65536);
    assert (zeb_config_parse_size ("2GB", &bytes) == 0 && bytes == 2147483648ULL);
    assert (zeb_config_parse_size ("512", &bytes) == 0 && bytes == 512);
    assert (zeb_config_parse_size ("512B", &bytes) == 0 && bytes == 512);
    const char *not_sizes [] = { "12Q", "1MiBs", "nan", "inf", "-1", "", "1e9", "nanMiB" };
    for (size_t index = 0; index < sizeof (not_sizes) / sizeof (not_sizes [0]); index++)
        assert (zeb_config_parse_size (not_sizes [index], &bytes) == -1);
    assert (zeb_config_parse_int ("-3", &number) == 0 && number == -3);
    assert (zeb_config_parse_int ("4294967296", &number) == 0 && number == 4294967296LL);
    assert (zeb_config_parse_int ("1.5", &number) == -1 && zeb_config_parse_int ("", &number) == -1);
    assert (zeb_config_parse_int ("99999999999999999999", &number) == -1);
    assert (zeb_config_parse_endpoint ("tcp://127.0.0.1:7700") == 0);
    assert (zeb_config_parse_endpoint ("tcp://127.0.0.1:*") == 0);
    assert (zeb_config_parse_endpoint ("tcp://127.0.0.1:99999") == -1);
    assert (zeb_config_parse_endpoint ("tcp://127.0.0.1:0") == -1);
    assert (zeb_config_parse_endpoint ("tcp://127.0.0.1") == -1);
    assert (zeb_config_parse_endpoint ("inproc://x") == 0 && zeb_config_parse_endpoint ("inproc://") == -1);
    assert (zeb_config_parse_endpoint ("ipc:///tmp/x") == 0 && zeb_config_parse_endpoint ("bogus://x") == -1);

    //  File, environment and overrides, in that order of precedence
    const zeb_config_key_t *maps [] = { s_test_keys, NULL };
    char dir [] = "/tmp/zeb-config-XXXXXX";
    assert (mkdtemp (dir));
    char *file = zsys_sprintf ("%s/zeb.cfg", dir);
    FILE *handle = fopen (file, "w");
    assert (handle);
    fprintf (handle, "test\n    name = from-file\n    batch = 64\n    sync = batch\n");
    fclose (handle);
    setenv ("ZEB_TEST_BATCH", "128", 1);
    zeb_fault_t fault;
    zconfig_t *config = zeb_config_load (file, maps, &fault);
    assert (config);
    unsetenv ("ZEB_TEST_BATCH");
    assert (zeb_config_apply (config, s_test_keys, &fault) == 0);
    assert (streq (zeb_config_str (config, "test/name"), "from-file"));
    assert (streq (zeb_config_str (config, "test/sync"), "batch"));
    assert (zeb_config_int (config, "test/batch", &number) == 0 && number == 128);
    assert (zeb_config_set (config, "test/batch=256", maps, &fault) == 0);
    assert (zeb_config_int (config, "test/batch", &number) == 0 && number == 256);
    assert (streq (zeb_config_str (config, "test/data"), "./data"));       //  default
    assert (zeb_config_check (config, maps, &fault) == 0);
    assert (zeb_config_set (config, "test/bacth=1", maps, &fault) == ZEB_ECONFIG);
    assert (strstr (fault.text, "test/bacth"));
    assert (zeb_config_set (config, "novalue", maps, &fault) == ZEB_ECONFIG);

    //  Each bad value names its key and what is wrong
    const char *bad [][3] = {
        { "test/sync", "sometimes", "one of" },
        { "test/window", "a while", "duration" },
        { "test/window", "nan", "duration" },
        { "test/batch", "0", "out of range" },
        { "test/batch", "4294967296", "out of range" },
        { "test/size", "1", "out of range" },
        { "test/data", "", "path" },
        { "test/endpoint", "tcp://127.0.0.1:99999", "endpoint" },
        { "test/endpoint", "", "endpoint" },
        { "test/flag", "maybe", "boolean" },
    };
    for (size_t index = 0; index < sizeof (bad) / sizeof (bad [0]); index++) {
        zconfig_t *copy = zeb_config_dup (config);
        zconfig_put (copy, bad [index][0], bad [index][1]);
        assert (zeb_config_check (copy, maps, &fault) == ZEB_ECONFIG);
        if (verbose)
            printf ("\n   %s", fault.text);
        assert (strstr (fault.text, bad [index][0]) && strstr (fault.text, bad [index][2]));
        assert (zeb_config_apply (copy, s_test_keys, &fault) == ZEB_ECONFIG);
        zconfig_destroy (&copy);
    }
    zconfig_put (config, "test/notify", "");
    assert (zeb_config_check (config, maps, &fault) == 0);
    zconfig_put (config, "test/typo", "1");
    assert (zeb_config_check (config, maps, &fault) == ZEB_ECONFIG);
    assert (strstr (fault.text, "test/typo"));
    zconfig_destroy (&config);

    //  Pattern keys: one segment per '*', checked where they appear, no default
    config = zconfig_new ("root", NULL);
    assert (zeb_config_apply (config, s_test_keys, &fault) == 0);
    assert (zconfig_locate (config, "test/hooks") == NULL);
    assert (zeb_config_set (config, "test/hooks/github/limit=2KiB", maps, &fault) == 0);
    assert (zeb_config_check (config, maps, &fault) == 0);
    assert (zeb_config_set (config, "test/hooks/a/b/limit=1", maps, &fault) == ZEB_ECONFIG);
    assert (zeb_config_set (config, "test/hooks//limit=1", maps, &fault) == ZEB_ECONFIG);
    assert (zeb_config_set (config, "test/hooks/stripe/limit=lots", maps, &fault) == 0);
    assert (zeb_config_check (config, maps, &fault) == ZEB_ECONFIG);
    assert (strstr (fault.text, "test/hooks/stripe/limit"));
    zconfig_destroy (&config);
    assert (zeb_config_load ("/nonexistent/zeb.cfg", maps, &fault) == NULL);
    assert (fault.code == ZEB_ECONFIG);
    assert (zeb_config_load (dir, maps, &fault) == NULL);          //  a directory
    assert (fault.code == ZEB_ECONFIG && strstr (fault.text, "regular"));
    char *help = NULL;
    size_t help_size = 0;
    FILE *stream = open_memstream (&help, &help_size);
    zeb_config_print_help (stream, maps);
    fclose (stream);
    assert (strstr (help, "ZEB_TEST_BATCH") && strstr (help, "[1..65536]") && strstr (help, "always|batch|none"));
    free (help);
    unlink (file);
    rmdir (dir);
    zstr_free (&file);
    printf ("OK\n");
}
