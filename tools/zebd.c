/*  =========================================================================
    zebd - the zeb daemon

    Runs a node from a ZPL configuration file (optional), ZEB_* environment
    variables and --set overrides; with nothing given, every actor on
    127.0.0.1 (ingest 7700, log 7701, bus 7702) with data in ./zeb-data.
    Logs to stderr. SIGTERM or SIGINT stop it cleanly: the batch in hand is
    committed and acknowledged first, so everything acknowledged is durable.
    =========================================================================
*/

#include "zeb.h"
#include <signal.h>

static void
s_usage (FILE *stream)
{
    fprintf (stream,
        "usage: zebd [options]\n"
        "  -c, --config FILE     ZPL configuration file\n"
        "  -d, --data DIR        data directory (node/data)\n"
        "  -s, --set KEY=VALUE   set one key (e.g. ingest/sync=batch); repeatable\n"
        "  -q, --quiet           log warnings and errors only\n"
        "      --help-config     list every key, its variable and default\n"
        "  -h, --help            this text\n"
        "Precedence: defaults < file < ZEB_* environment < --data/--set.\n");
}

int
main (int argc, char *argv [])
{
    //  Signals are taken by sigwait in this thread only: block them before
    //  any thread starts, so every actor thread inherits the mask
    sigset_t signals;
    sigemptyset (&signals);
    sigaddset (&signals, SIGTERM);
    sigaddset (&signals, SIGINT);
    pthread_sigmask (SIG_BLOCK, &signals, NULL);
    zsys_handler_set (NULL);

    const char *config_file = NULL;
    zlist_t *overrides = zlist_new ();
    bool quiet = false;
    for (int index = 1; index < argc; index++) {
        const char *arg = argv [index];
        const char *value = index + 1 < argc? argv [index + 1]: NULL;
        if ((streq (arg, "-c") || streq (arg, "--config")) && value) {
            config_file = value;
            index++;
        }
        else
        if ((streq (arg, "-d") || streq (arg, "--data")) && value) {
            zlist_append (overrides, zsys_sprintf ("node/data=%s", value));
            index++;
        }
        else
        if ((streq (arg, "-s") || streq (arg, "--set")) && value) {
            zlist_append (overrides, strdup (value));
            index++;
        }
        else
        if (streq (arg, "-q") || streq (arg, "--quiet"))
            quiet = true;
        else
        if (streq (arg, "--help-config")) {
            zeb_node_config_help (stdout);
            zlist_destroy (&overrides);
            return 0;
        }
        else
        if (streq (arg, "-h") || streq (arg, "--help")) {
            s_usage (stdout);
            zlist_destroy (&overrides);
            return 0;
        }
        else {
            fprintf (stderr, "zebd: unknown option '%s'\n", arg);
            s_usage (stderr);
            zlist_destroy (&overrides);
            return 2;
        }
    }
    zsys_set_logident ("zebd");
    zsys_set_logstream (stderr);
    zeb_set_quiet (quiet);

    zeb_fault_t fault = { 0 };
    zconfig_t *config = zeb_node_config_load (config_file, &fault);
    char *assignment = config? (char *) zlist_first (overrides): NULL;
    while (config && assignment) {
        if (zeb_node_config_set (config, assignment, &fault))
            zconfig_destroy (&config);
        assignment = (char *) zlist_next (overrides);
    }
    while ((assignment = (char *) zlist_pop (overrides)))
        zstr_free (&assignment);
    zlist_destroy (&overrides);
    if (!config) {
        fprintf (stderr, "zebd: %s\n", fault.text);
        return 1;
    }
    zeb_node_t *node = zeb_node_new (config, &fault);
    if (!node) {
        fprintf (stderr, "zebd: cannot start: %s\n", fault.text);
        zconfig_destroy (&config);
        return 1;
    }
    const char *ingest = zeb_node_endpoint (node, "ingest");
    const char *log = zeb_node_endpoint (node, "log");
    const char *bus = zeb_node_endpoint (node, "bus");
    const char *registry = zeb_node_endpoint (node, "registry");
    zeb_info ("zebd %d.%d.%d ready: ingest %s, log %s, bus %s, registry %s, data %s",
               ZEB_VERSION_MAJOR, ZEB_VERSION_MINOR, ZEB_VERSION_PATCH,
               ingest? ingest: "-", log? log: "-", bus? bus: "-", registry? registry: "-",
               zeb_config_str (zeb_node_config (node), "node/data"));
    int signal_number = 0;
    sigwait (&signals, &signal_number);
    zeb_info ("zebd: %s, shutting down", signal_number == SIGTERM? "SIGTERM": "SIGINT");
    zeb_node_destroy (&node);
    zconfig_destroy (&config);
    zeb_info ("zebd: stopped");
    return 0;
}
