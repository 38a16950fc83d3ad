/*  =========================================================================
    fuzz_config - a node's configuration file (core/zeb_config.h)

    Input: the text of a ZPL file, as `zebd -c FILE` reads it. It is
    written to a memory file and loaded by zeb_node_config_load (the file
    path zebd takes), then checked with zeb_config_check against every key
    map of the node, as zeb_node_new does. The first line of the input is
    also given, as text, to zeb_config_parse_duration, _size, _int and
    _endpoint and as an override to zeb_node_config_set (`zebd -s`).

    Oracles: no crash, leak or hang; every refusal is ZEB_ECONFIG with a
    reason; and a configuration that passes the check is one the actors
    can read: zeb_config_dup and zeb_config_apply of each map (what the
    node does before START) succeed, and every key reads as its kind, in
    its range. Parsed numbers are within the documented bounds.

    The maps: zeb_node.c keeps its table of actors private, so the list
    below names the same rows (node, registry, ingest, log). An actor added
    there belongs here too.
    =========================================================================
*/

#include "fuzz.h"
#include <sys/mman.h>

static const zeb_config_key_t *s_maps [5];
static int s_memfd = -1;
static char s_path [64];

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
    s_fuzz_init ();
    s_maps [0] = zeb_actor_node_config;
    s_maps [1] = zeb_registry_def.config;
    s_maps [2] = zeb_ingest_def.config;
    s_maps [3] = zeb_log_def.config;
    s_maps [4] = NULL;
    s_memfd = memfd_create ("zeb-fuzz-config", MFD_CLOEXEC);
    if (s_memfd < 0) {
        perror ("fuzz_config: memfd_create");
        abort ();
    }
    snprintf (s_path, sizeof (s_path), "/proc/self/fd/%d", s_memfd);
    return 0;
}

//  Write the input as the whole content of the memory file
static void
s_write_file (const uint8_t *data, size_t size)
{
    S_ORACLE (ftruncate (s_memfd, 0) == 0);
    size_t done = 0;
    while (done < size) {
        ssize_t rc = pwrite (s_memfd, data + done, size - done, (off_t) done);
        S_ORACLE (rc > 0);
        done += (size_t) rc;
    }
}

//  Every key of every map reads as its kind and range
static void
s_read_keys (zconfig_t *config)
{
    for (const zeb_config_key_t *const *map = s_maps; *map; map++)
        for (const zeb_config_key_t *key = *map; key->path; key++) {
            const char *text = zeb_config_str (config, key->path);
            S_ORACLE (text);
            int64_t number = 0;
            uint64_t size = 0;
            bool flag;
            switch (key->kind) {
                case ZEB_KEY_DURATION:
                    S_ORACLE (zeb_config_duration (config, key->path, &number) == 0);
                    break;
                case ZEB_KEY_SIZE:
                    S_ORACLE (zeb_config_size (config, key->path, &size) == 0);
                    S_ORACLE (size <= INT64_MAX);
                    number = (int64_t) size;
                    break;
                case ZEB_KEY_INT:
                    S_ORACLE (zeb_config_int (config, key->path, &number) == 0);
                    break;
                case ZEB_KEY_BOOL:
                    S_ORACLE (zeb_config_bool (config, key->path, &flag) == 0);
                    break;
                case ZEB_KEY_ENDPOINT:
                    S_ORACLE (*text == 0 || zeb_config_parse_endpoint (text) == 0);
                    break;
                case ZEB_KEY_PATH:
                    S_ORACLE (*text);
                    break;
                case ZEB_KEY_STR:
                case ZEB_KEY_ENUM:
                    break;
            }
            if (key->kind == ZEB_KEY_DURATION || key->kind == ZEB_KEY_SIZE || key->kind == ZEB_KEY_INT) {
                S_ORACLE (number >= key->min);
                S_ORACLE (key->max == 0 || number <= key->max);
            }
        }
}

static void
s_check_file (const uint8_t *data, size_t size)
{
    s_write_file (data, size);
    zeb_fault_t fault = { 0 };
    zconfig_t *config = zeb_node_config_load (s_path, &fault);
    if (!config) {
        S_ORACLE (fault.code == ZEB_ECONFIG);
        return;
    }
    int rc = zeb_config_check (config, s_maps, &fault);
    if (rc)
        S_ORACLE (rc == ZEB_ECONFIG && fault.code == ZEB_ECONFIG);
    else {
        //  What zeb_node_new does with a configuration that passed
        zconfig_t *copy = zeb_config_dup (config);
        S_ORACLE (copy);
        for (const zeb_config_key_t *const *map = s_maps; *map; map++)
            S_ORACLE (zeb_config_apply (copy, *map, &fault) == 0);
        s_read_keys (copy);
        zconfig_destroy (&copy);
    }
    zconfig_destroy (&config);
}

static void
s_parse_line (const uint8_t *data, size_t size)
{
    char line [512];
    size_t len = 0;
    while (len < size && len < sizeof (line) - 1 && data [len] != '\n' && data [len] != 0)
        len++;
    memcpy (line, data, len);
    line [len] = 0;

    int64_t number;
    uint64_t bytes;
    if (zeb_config_parse_duration (line, &number) == 0)
        S_ORACLE (number >= 0 && number <= 9000000000000000LL);
    if (zeb_config_parse_size (line, &bytes) == 0)
        S_ORACLE (bytes <= 1000000000000000000ULL);
    if (zeb_config_parse_int (line, &number) == 0) {
        char again [32];
        snprintf (again, sizeof (again), "%lld", (long long) number);
        int64_t reparsed;
        S_ORACLE (zeb_config_parse_int (again, &reparsed) == 0 && reparsed == number);
    }
    zeb_config_parse_endpoint (line);

    zeb_fault_t fault = { 0 };
    zconfig_t *config = zconfig_new ("root", NULL);
    S_ORACLE (config);
    int rc = zeb_node_config_set (config, line, &fault);
    S_ORACLE (rc == 0 || (rc == ZEB_ECONFIG && fault.code == ZEB_ECONFIG));
    if (rc == 0)
        zeb_config_check (config, s_maps, &fault);
    zconfig_destroy (&config);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    s_check_file (data, size);
    s_parse_line (data, size);
    return 0;
}
