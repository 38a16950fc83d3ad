/*  =========================================================================
    zeb - the command line client

        zeb pub TYPE [JSON|-]     publish one event; prints the ack
        zeb sub [PREFIX...]       print live events as JSON lines
        zeb fetch [--from SEQ] [--time RFC3339] [--count N] [--types T]
                  [--follow]      print logged events as JSON lines
        zeb stats                 print the node's statistics as JSON
        zeb types [show|versions|register|check|compat|validation] ...
                                  the schema registry, when the node runs it

    Every command takes --endpoint (default tcp://127.0.0.1:7700, or
    $ZEB_ENDPOINT) and --timeout MS. Exit status: 0 success, 1 the node
    refused (NACK) or failed, 2 usage, 3 the node cannot be reached.
    =========================================================================
*/

#include "zeb.h"
#include "zeb_classes.h"

static volatile sig_atomic_t s_interrupted = 0;

static void
s_on_signal (int signal_number)
{
    s_interrupted = 1;
}

static void
s_usage (FILE *stream)
{
    fprintf (stream,
        "usage: zeb COMMAND [options]\n"
        "  pub TYPE [JSON|-]    publish an event whose data is JSON (- reads stdin)\n"
        "      --source S       source attribute (default: zeb-cli)\n"
        "      --subject S      subject attribute\n"
        "      --id ID          event id (default: assigned by the node)\n"
        "      --key K          idempotency key\n"
        "      --event          the JSON is a whole CloudEvents structured event\n"
        "  sub [PREFIX...]      print live events as JSON lines (all if none)\n"
        "      --count N        stop after N events\n"
        "  fetch                print events from the log as JSON lines\n"
        "      --from SEQ       first sequence (default: oldest retained)\n"
        "      --time RFC3339   first event stored at or after this time\n"
        "      --count N        at most N events (default: all there are)\n"
        "      --types T1,T2    only these type prefixes\n"
        "      --follow         keep waiting for new events\n"
        "  stats                print the node's statistics as JSON\n"
        "  types [--prefix P]   list event types and their schemas (the registry)\n"
        "  types show TYPE [--version N]\n"
        "  types versions TYPE\n"
        "  types register TYPE FILE.json [--compat MODE] [--description D]\n"
        "  types check TYPE FILE.json   would it register? (nothing is stored)\n"
        "  types compat TYPE MODE       NONE, BACKWARD, FORWARD, FULL (+ _TRANSITIVE)\n"
        "  types validation TYPE MODE   off, warn, enforce or default, for this type\n"
        "common options:\n"
        "      --endpoint EP    node ingest endpoint (default tcp://127.0.0.1:7700)\n"
        "      --timeout MS     how long to wait for the node (default 5000)\n");
}

typedef struct {
    const char *endpoint;
    int timeout;
    const char *source;
    const char *subject;
    const char *id;
    const char *key;
    bool whole_event;
    uint64_t from;
    const char *time;
    long long count;
    const char *types;
    bool follow;
    const char *prefix;
    long long version;
    const char *compat;
    const char *description;
    zlist_t *positional;
} s_options_t;

static int
s_fail (int code, const char *what)
{
    fprintf (stderr, "zeb: %s: %s\n", what, zeb_strerror (code));
    return code == ZEB_EUNREACHABLE || code == ZEB_ETIMEOUT? 3: 1;
}

static char *
s_read_stdin (void)
{
    size_t size = 0, limit = 4096;
    char *text = (char *) malloc (limit);
    while (text) {
        size_t got = fread (text + size, 1, limit - size - 1, stdin);
        size += got;
        if (got == 0)
            break;
        if (size + 1 == limit) {
            limit *= 2;
            char *bigger = (char *) realloc (text, limit);
            if (!bigger) {
                free (text);
                return NULL;
            }
            text = bigger;
        }
    }
    if (text)
        text [size] = 0;
    return text;
}

static int
s_pub (zeb_client_t *client, s_options_t *options)
{
    const char *type = (const char *) zlist_first (options->positional);
    const char *json = (const char *) zlist_next (options->positional);
    if (!type) {
        s_usage (stderr);
        return 2;
    }
    char *input = NULL;
    if (json && streq (json, "-"))
        json = input = s_read_stdin ();
    zeb_fault_t fault = { 0 };
    zeb_event_t *event;
    if (options->whole_event) {
        event = json? zeb_event_from_json (json, strlen (json), &fault): NULL;
        if (event && !zeb_event_type (event))
            zeb_event_set (event, "type", type);
    }
    else {
        event = zeb_event_new (type);
        if (json && zeb_event_set_data_json (event, json, &fault))
            zeb_event_destroy (&event);
    }
    free (input);
    if (!event) {
        fprintf (stderr, "zeb: %s\n", fault.text [0]? fault.text: "no event given");
        return 2;
    }
    if (!zeb_event_source (event))
        zeb_event_set (event, "source", options->source);
    if (options->subject)
        zeb_event_set (event, "subject", options->subject);
    if (options->id)
        zeb_event_set (event, "id", options->id);
    if (options->key)
        zeb_event_set (event, "idempotencykey", options->key);
    zeb_ack_t ack;
    int rc = zeb_client_publish (client, event, &ack);
    zeb_event_destroy (&event);
    if (rc == ZEB_EUNREACHABLE || (rc == ZEB_ETIMEOUT && !ack.error [0]))
        return s_fail (rc, options->endpoint);
    if (rc) {
        printf ("{\"ok\":false,\"code\":%d,\"reason\":\"%s\",\"error\":", zeb_error_status (rc),
                zeb_error_reason (rc));
        json_t *text = json_string (ack.error);
        char *quoted = json_dumps (text, JSON_ENCODE_ANY);
        printf ("%s}\n", quoted? quoted: "\"\"");
        free (quoted);
        json_decref (text);
        return rc == ZEB_ETIMEOUT? 3: 1;
    }
    printf ("{\"ok\":true,\"sequence\":%llu,\"duplicate\":%s}\n",
            (unsigned long long) ack.sequence, ack.duplicate? "true": "false");
    return 0;
}

//  Print one event as a JSON line. Returns 0, or 1 (after saying why on
//  stderr) when it has no JSON form: a wrong value is never printed.
static int
s_print_event (zeb_event_t *event)
{
    char *json = zeb_event_to_json (event);
    if (!json) {
        fprintf (stderr, "zeb: event %llu has no JSON form (its data or an extension cannot "
                 "be written as JSON)\n", (unsigned long long) zeb_event_sequence (event));
        return 1;
    }
    printf ("%s\n", json);
    free (json);
    fflush (stdout);
    return 0;
}

static int
s_sub (zeb_client_t *client, s_options_t *options)
{
    int rc = zeb_client_connect (client);
    if (rc)
        return s_fail (rc, options->endpoint);
    const char *prefix = (const char *) zlist_first (options->positional);
    if (!prefix)
        rc = zeb_client_subscribe (client, "");
    while (prefix && rc == 0) {
        rc = zeb_client_subscribe (client, prefix);
        prefix = (const char *) zlist_next (options->positional);
    }
    if (rc)
        return s_fail (rc, "subscribe");
    long long seen = 0;
    while (!s_interrupted && (options->count < 0 || seen < options->count)) {
        zeb_event_t *event = zeb_client_recv (client, 200);
        if (event) {
            rc = s_print_event (event);
            zeb_event_destroy (&event);
            if (rc)
                return rc;
            seen++;
        }
    }
    return 0;
}

static int
s_fetch (zeb_client_t *client, s_options_t *options)
{
    int rc = zeb_client_connect (client);
    if (rc)
        return s_fail (rc, options->endpoint);
    uint64_t from = options->from;
    if (options->time) {
        int64_t time_ms;
        if (zeb_time_parse (options->time, strlen (options->time), &time_ms)) {
            fprintf (stderr, "zeb: --time '%s' is not RFC 3339 text\n", options->time);
            return 2;
        }
        zeb_fetch_t first;
        rc = zeb_client_fetch_time (client, time_ms, 1, 0, NULL, &first);
        if (rc)
            return s_fail (rc, "fetch");
        //  Start from the event the time maps to, or the end of the log
        zeb_event_t *event = first.events? (zeb_event_t *) zlistx_first (first.events): NULL;
        from = event? zeb_event_sequence (event): first.next;
        zeb_fetch_reset (&first);
    }
    zeb_cursor_t *cursor = zeb_cursor_new (client, from);
    zeb_cursor_set_types (cursor, options->types);
    long long printed = 0;
    rc = 0;
    while (!s_interrupted && (options->count < 0 || printed < options->count)) {
        int error;
        zeb_event_t *event = zeb_cursor_next (cursor, options->follow? 1000: 0, &error);
        if (event) {
            rc = s_print_event (event);
            zeb_event_destroy (&event);
            if (rc)
                break;
            printed++;
        }
        else
        if (error) {
            rc = s_fail (error, "fetch");
            break;
        }
        else
        if (!options->follow)
            break;              //  reached the end of the log
    }
    if (zeb_cursor_missed (cursor))
        fprintf (stderr, "zeb: %llu events were removed by retention before they could be read\n",
                 (unsigned long long) zeb_cursor_missed (cursor));
    zeb_cursor_destroy (&cursor);
    return rc;
}

//  What `zeb types` asks the registry
typedef enum {
    S_TYPES_LIST, S_TYPES_SHOW, S_TYPES_VERSIONS, S_TYPES_REGISTER, S_TYPES_CHECK,
    S_TYPES_COMPAT, S_TYPES_VALIDATION, S_TYPES_USAGE
} s_types_verb_t;

static s_types_verb_t
s_types_verb (const char *verb, const char *type, const char *argument)
{
    if (!verb)
        return S_TYPES_LIST;
    if (streq (verb, "show") && type)
        return S_TYPES_SHOW;
    if (streq (verb, "versions") && type)
        return S_TYPES_VERSIONS;
    if (streq (verb, "register") && type && argument)
        return S_TYPES_REGISTER;
    if (streq (verb, "check") && type && argument)
        return S_TYPES_CHECK;
    if (streq (verb, "compat") && type && argument)
        return S_TYPES_COMPAT;
    if (streq (verb, "validation") && type && argument)
        return S_TYPES_VALIDATION;
    return S_TYPES_USAGE;
}

//  The whole of a schema file as text; caller frees. NULL if unreadable.
static char *
s_read_file (const char *path)
{
    char *text = NULL;
    zfile_t *file = zfile_new (NULL, path);
    if (file && zfile_input (file) == 0) {
        zchunk_t *chunk = zfile_read (file, zfile_cursize (file), 0);
        if (chunk)
            text = strndup ((char *) zchunk_data (chunk), zchunk_size (chunk));
        zchunk_destroy (&chunk);
    }
    zfile_destroy (&file);
    return text;
}

//  zeb types [show|versions|register|check|compat|validation] ...
//  Prints the registry's reply body as JSON, a NACK's too (exit 1).
static int
s_types (zeb_client_t *client, s_options_t *options)
{
    const char *verb = (const char *) zlist_first (options->positional);
    const char *type = (const char *) zlist_next (options->positional);
    const char *argument = (const char *) zlist_next (options->positional);
    s_types_verb_t which = s_types_verb (verb, type, argument);
    if (which == S_TYPES_USAGE) {
        s_usage (stderr);
        return 2;
    }
    if (options->version > UINT32_MAX) {
        fprintf (stderr, "zeb: --version %lld is not a version number\n", options->version);
        return 2;
    }
    char *schema = NULL;
    if (which == S_TYPES_REGISTER || which == S_TYPES_CHECK) {
        schema = s_read_file (argument);
        if (!schema) {
            fprintf (stderr, "zeb: cannot read the schema file '%s'\n", argument);
            return 2;
        }
    }
    int rc = zeb_client_connect (client);
    if (rc) {
        free (schema);
        return s_fail (rc, options->endpoint);
    }
    const char *endpoint = zeb_client_registry_endpoint (client);
    if (!endpoint) {
        fprintf (stderr, "zeb: the node at %s runs no schema registry (node/actors)\n",
                 options->endpoint);
        free (schema);
        return 1;
    }
    zeb_registry_client_t *registry = zeb_registry_client_new (endpoint);
    if (!registry) {
        free (schema);
        return s_fail (ZEB_EUNREACHABLE, endpoint);
    }
    zeb_registry_client_set_timeout (registry, options->timeout);
    json_t *reply = NULL;
    zeb_fault_t fault = { 0 };
    uint32_t version = options->version > 0? (uint32_t) options->version: 0;     //  0: latest
    switch (which) {
        case S_TYPES_LIST:
            rc = zeb_registry_client_list (registry, options->prefix, &reply, &fault);
            break;
        case S_TYPES_SHOW:
            rc = zeb_registry_client_get (registry, type, version, &reply, &fault);
            break;
        case S_TYPES_VERSIONS:
            rc = zeb_registry_client_versions (registry, type, &reply, &fault);
            break;
        case S_TYPES_REGISTER:
            rc = zeb_registry_client_register (registry, type, schema, options->description,
                                               options->compat, &reply, &fault);
            break;
        case S_TYPES_CHECK:
            rc = zeb_registry_client_check (registry, type, schema, &reply, &fault);
            break;
        case S_TYPES_COMPAT:
            rc = zeb_registry_client_set_compatibility (registry, type, argument, &reply, &fault);
            break;
        case S_TYPES_VALIDATION:
            rc = zeb_registry_client_set_validation (registry, type, argument, &reply, &fault);
            break;
        default:
            assert (false);
    }
    zeb_registry_client_destroy (&registry);
    free (schema);
    if (!reply) {
        //  No answer, or one the protocol does not allow
        if (rc == ZEB_EPROTOCOL)
            fprintf (stderr, "zeb: %s: %s\n", endpoint, fault.text);
        return rc == ZEB_EPROTOCOL? 1: s_fail (rc, endpoint);
    }
    char *text = json_dumps (reply, JSON_COMPACT);
    printf ("%s\n", text? text: "{}");
    free (text);
    json_decref (reply);
    return rc? 1: 0;            //  a NACK: its body is printed
}

static int
s_stats (zeb_client_t *client, s_options_t *options)
{
    int error = 0;
    char *stats = zeb_client_stats (client, &error);
    if (!stats)
        return s_fail (error, options->endpoint);
    printf ("%s\n", stats);
    free (stats);
    return 0;
}

int
main (int argc, char *argv [])
{
    zsys_handler_set (NULL);
    signal (SIGINT, s_on_signal);
    signal (SIGTERM, s_on_signal);
    if (argc < 2 || streq (argv [1], "-h") || streq (argv [1], "--help")) {
        s_usage (argc < 2? stderr: stdout);
        return argc < 2? 2: 0;
    }
    const char *command = argv [1];
    s_options_t options = { 0 };
    options.endpoint = getenv ("ZEB_ENDPOINT")? getenv ("ZEB_ENDPOINT"): "tcp://127.0.0.1:7700";
    options.timeout = ZEB_CLIENT_TIMEOUT;
    options.source = "zeb-cli";
    options.count = -1;
    options.positional = zlist_new ();
    for (int index = 2; index < argc; index++) {
        const char *arg = argv [index];
        const char *value = index + 1 < argc? argv [index + 1]: NULL;
        bool takes = value != NULL;
        if (streq (arg, "--endpoint") && takes)
            options.endpoint = argv [++index];
        else
        if (streq (arg, "--timeout") && takes)
            options.timeout = atoi (argv [++index]);
        else
        if (streq (arg, "--source") && takes)
            options.source = argv [++index];
        else
        if (streq (arg, "--subject") && takes)
            options.subject = argv [++index];
        else
        if (streq (arg, "--id") && takes)
            options.id = argv [++index];
        else
        if (streq (arg, "--key") && takes)
            options.key = argv [++index];
        else
        if (streq (arg, "--from") && takes)
            options.from = strtoull (argv [++index], NULL, 10);
        else
        if (streq (arg, "--time") && takes)
            options.time = argv [++index];
        else
        if (streq (arg, "--count") && takes)
            options.count = atoll (argv [++index]);
        else
        if (streq (arg, "--types") && takes)
            options.types = argv [++index];
        else
        if (streq (arg, "--follow"))
            options.follow = true;
        else
        if (streq (arg, "--prefix") && takes)
            options.prefix = argv [++index];
        else
        if (streq (arg, "--version") && takes)
            options.version = atoll (argv [++index]);
        else
        if (streq (arg, "--compat") && takes)
            options.compat = argv [++index];
        else
        if (streq (arg, "--description") && takes)
            options.description = argv [++index];
        else
        if (streq (arg, "--event"))
            options.whole_event = true;
        else
        if (arg [0] == '-' && arg [1] == '-') {
            fprintf (stderr, "zeb: unknown or incomplete option '%s'\n", arg);
            zlist_destroy (&options.positional);
            return 2;
        }
        else
            zlist_append (options.positional, (void *) arg);
    }
    zeb_client_t *client = zeb_client_new (options.endpoint);
    if (!client) {
        fprintf (stderr, "zeb: invalid endpoint '%s'\n", options.endpoint);
        zlist_destroy (&options.positional);
        return 2;
    }
    zeb_client_set_timeout (client, options.timeout);
    int rc;
    if (streq (command, "pub"))
        rc = s_pub (client, &options);
    else
    if (streq (command, "sub"))
        rc = s_sub (client, &options);
    else
    if (streq (command, "fetch"))
        rc = s_fetch (client, &options);
    else
    if (streq (command, "stats"))
        rc = s_stats (client, &options);
    else
    if (streq (command, "types"))
        rc = s_types (client, &options);
    else {
        fprintf (stderr, "zeb: unknown command '%s'\n", command);
        s_usage (stderr);
        rc = 2;
    }
    zeb_client_destroy (&client);
    zlist_destroy (&options.positional);
    return rc;
}
