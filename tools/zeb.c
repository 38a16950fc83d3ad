/*  =========================================================================
    zeb - the command line client

        zeb pub TYPE [JSON|-]     publish one event; prints the ack
        zeb sub [PREFIX...]       print live events as JSON lines
        zeb fetch [--from SEQ] [--time RFC3339] [--count N] [--types T]
                  [--follow]      print logged events as JSON lines
        zeb stats                 print the node's statistics as JSON
        zeb types [show|versions|register|check|compat|validation] ...
                                  the schema registry, when the node runs it
        zeb dlq [list|show|replay|purge] ...
        zeb runs show ID
        zeb logs --origin O | --type T
        zeb targets enable TARGET the outbox (docs/PROTOCOL.md 4b), found
                                  through HELLO or named with --outbox;
                                  a table, or the reply with --json
        zeb automations [list|put|get|delete|enable|disable|history|logs|
                  test|backtest] ...
                                  the rules (docs/PROTOCOL.md 4c), found
                                  through HELLO or named with --automation
        zeb cron [list|put|get|delete|enable|disable|run] ...
                                  the cron triggers (docs/PROTOCOL.md 4d),
                                  found through HELLO or named with --cron

    Every command takes --endpoint (default tcp://127.0.0.1:7700, or
    $ZEB_ENDPOINT) and --timeout MS. Exit status: 0 success, 1 the node
    refused (NACK) or failed, 2 usage (and an outbox command for a node
    that runs no outbox), 3 the node cannot be reached.
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
        "  dlq list             dead letters, oldest first (the outbox)\n"
        "      --origin O       only those of this automation or handler\n"
        "      --type T         only those whose trigger's type starts with T\n"
        "      --since T        died at or after T (ms since the epoch, or RFC 3339)\n"
        "      --until T        died at or before T\n"
        "      --limit N        at most N (1..1000, default 100)\n"
        "      --after NEXT     the page after the one that ended with NEXT\n"
        "  dlq show ID          one dead letter and its run\n"
        "  dlq replay ID | --all [--origin O] [--type T] [--since T] [--until T] [--limit N]\n"
        "                       back to the queue, attempts reset\n"
        "  dlq purge ID | --all [filters as for replay]   delete for good\n"
        "  runs show ID         a run: its state, actions and attempts\n"
        "  logs --origin O | --type TYPE [--limit N] [--before NEXT|T]\n"
        "                       execution logs, newest first (limit 1..1000, default 50)\n"
        "  targets enable TARGET  a target that answered 'gone' takes runs again\n"
        "  automations [list]   the rules: id, trigger, enabled, priority, name\n"
        "      --type T         only those whose triggerEventType is T\n"
        "      --matching TYPE  only those an event of TYPE triggers\n"
        "      --enabled | --disabled, --limit N, --after ID\n"
        "  automations put FILE.json|- [--by WHO]   create or update (the reply's warnings\n"
        "                       name paths the trigger type's schema says cannot exist)\n"
        "  automations get|show ID [--version N]\n"
        "  automations delete|enable|disable ID [--by WHO]\n"
        "  automations history ID   every version, newest first, with who and when\n"
        "  automations logs ID | --type TYPE [--limit N] [--before NEXT]\n"
        "  automations test ID|--rule FILE.json EVENT.json|-   dry run: each condition,\n"
        "                       the value it saw, the rendered actions; runs nothing\n"
        "  automations backtest ID|FILE.json|--rule FILE.json [--from SEQ] [--to SEQ]\n"
        "                       [--since T] [--until T] [--limit N]   which events of\n"
        "                       the log it would have fired on; runs nothing\n"
        "  cron [list]          the triggers: name, schedule, zone, enabled, next and last run\n"
        "  cron put FILE.json|-   create or replace a trigger ({name, schedule, timezone?,\n"
        "                       eventType?, payload?, enabled?, catchUp?})\n"
        "  cron get|show|delete|enable|disable NAME\n"
        "  cron run NAME        fire it now\n"
        "common options:\n"
        "      --endpoint EP    node ingest endpoint (default tcp://127.0.0.1:7700)\n"
        "      --timeout MS     how long to wait for the node (default 5000)\n"
        "      --outbox EP      the outbox's endpoint (default: the one the node names)\n"
        "      --automation EP  the automations' endpoint (default: the one the node names)\n"
        "      --cron EP        the cron triggers' endpoint (default: the one the node names)\n"
        "      --json           outbox, automations and cron commands: print the reply as JSON\n");
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
    bool json;                  //  outbox commands: the reply as JSON
    const char *outbox;         //  the outbox's endpoint, or NULL: from WELCOME
    const char *origin;
    const char *type;
    const char *since;
    const char *until;
    long long limit;            //  0: not given
    const char *after;
    const char *before;
    bool all;
    const char *by;             //  automations: who
    const char *rule;           //  automations: a rule file for test, backtest
    const char *matching;
    const char *automation;     //  the automations' endpoint, or NULL: from WELCOME
    const char *cron;           //  the cron triggers' endpoint, or NULL: from WELCOME
    bool enabled, disabled;
    uint64_t to;                //  0: not given
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

//  A reply as JSON text on stdout: compact, or indented for people
static void
s_print_json (json_t *reply, size_t flags)
{
    char *text = json_dumps (reply, flags);
    printf ("%s\n", text? text: "{}");
    free (text);
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
    s_print_json (reply, JSON_COMPACT);
    json_decref (reply);
    return rc? 1: 0;            //  a NACK: its body is printed
}

//  ---------------------------------------------------------------------
//  The outbox: zeb dlq, runs, logs, targets

//  A whole number from 1, or -1 if text is not one
static long long
s_positive (const char *text)
{
    char *end;
    errno = 0;
    long long value = strtoll (text, &end, 10);
    return errno == 0 && end != text && *end == 0 && value >= 1? value: -1;
}

//  What an outbox command asks
typedef enum {
    S_OUTBOX_DLQ_LIST, S_OUTBOX_DLQ_SHOW, S_OUTBOX_DLQ_REPLAY, S_OUTBOX_DLQ_PURGE,
    S_OUTBOX_RUN_SHOW, S_OUTBOX_LOGS, S_OUTBOX_TARGET_ENABLE, S_OUTBOX_USAGE
} s_outbox_verb_t;

//  The verb of command and its positional arguments; *argument gets the
//  id or target it names (NULL if none). S_OUTBOX_USAGE if they do not
//  make one, after saying why when it is not plain.
static s_outbox_verb_t
s_outbox_verb (const char *command, s_options_t *options, const char **argument)
{
    size_t count = zlist_size (options->positional);
    const char *verb = (const char *) zlist_first (options->positional);
    *argument = count > 1? (const char *) zlist_next (options->positional): NULL;
    bool extra = count > 2;
    bool filtered = options->origin || options->type || options->since || options->until;
    if (streq (command, "logs"))
        return verb || (!options->origin) == (!options->type)? S_OUTBOX_USAGE: S_OUTBOX_LOGS;
    if (!verb || extra)
        return S_OUTBOX_USAGE;
    if (streq (command, "runs"))
        return streq (verb, "show") && *argument? S_OUTBOX_RUN_SHOW: S_OUTBOX_USAGE;
    if (streq (command, "targets"))
        return streq (verb, "enable") && *argument? S_OUTBOX_TARGET_ENABLE: S_OUTBOX_USAGE;
    if (streq (verb, "list"))
        return *argument? S_OUTBOX_USAGE: S_OUTBOX_DLQ_LIST;
    if (streq (verb, "show"))
        return *argument? S_OUTBOX_DLQ_SHOW: S_OUTBOX_USAGE;
    if (!streq (verb, "replay") && !streq (verb, "purge"))
        return S_OUTBOX_USAGE;
    //  replay and purge: an id, or --all with filters, never both
    if (*argument? options->all || filtered || options->limit: !options->all) {
        fprintf (stderr, "zeb: dlq %s takes a run id, or --all with filters (not both)\n", verb);
        return S_OUTBOX_USAGE;
    }
    return streq (verb, "replay")? S_OUTBOX_DLQ_REPLAY: S_OUTBOX_DLQ_PURGE;
}

//  A time given as ms since the epoch or RFC 3339, into filter as key
static int
s_filter_time (json_t *filter, const char *key, const char *text)
{
    int64_t time_ms;
    char *end;
    long long number = strtoll (text, &end, 10);
    if (end != text && *end == 0)
        time_ms = number;
    else
    if (zeb_time_parse (text, strlen (text), &time_ms)) {
        fprintf (stderr, "zeb: --%s '%s' is neither ms since the epoch nor RFC 3339 text\n", key, text);
        return -1;
    }
    json_object_set_new (filter, key, json_integer (time_ms));
    return 0;
}

//  The DLQ filter the options give; NULL (after saying why) if a time is bad
static json_t *
s_dlq_filter (s_options_t *options)
{
    json_t *filter = json_object ();
    if (options->origin)
        json_object_set_new (filter, "origin", json_string_nocheck (options->origin));
    if (options->type)
        json_object_set_new (filter, "type", json_string_nocheck (options->type));
    if (options->limit)
        json_object_set_new (filter, "limit", json_integer (options->limit));
    if (options->after)
        json_object_set_new (filter, "after", json_string_nocheck (options->after));
    if ((options->since && s_filter_time (filter, "since", options->since))
    ||  (options->until && s_filter_time (filter, "until", options->until)))
        json_decref (filter);
    else
        return filter;
    return NULL;
}

//  Member text, "" when absent or not a string; "-" for an empty one
static const char *
s_member (json_t *object, const char *key)
{
    const char *text = json_string_value (json_object_get (object, key));
    return text && *text? text: text? "-": "";
}

static long long
s_member_int (json_t *object, const char *key)
{
    return (long long) json_integer_value (json_object_get (object, key));
}

//  A member that holds ms since the epoch, as RFC 3339 text in buffer
static const char *
s_member_time (json_t *object, const char *key, char *buffer)
{
    json_int_t time_ms = json_integer_value (json_object_get (object, key));
    return time_ms > 0? zeb_time_format (time_ms, buffer): "-";
}

static void
s_print_attempts (json_t *attempts)
{
    size_t index;
    json_t *attempt;
    json_array_foreach (attempts, index, attempt) {
        char at [ZEB_TIME_STRLEN];
        printf ("       attempt %lld  %-7s %4lld ms  at %s", s_member_int (attempt, "attempt"),
                s_member (attempt, "status"), s_member_int (attempt, "durationMs"),
                s_member_time (attempt, "at", at));
        if (json_object_get (attempt, "code"))
            printf ("  code %lld", s_member_int (attempt, "code"));
        if (json_object_get (attempt, "error"))
            printf ("  %s", s_member (attempt, "error"));
        json_t *result = json_object_get (attempt, "result");
        char *text = result? json_dumps (result, JSON_COMPACT | JSON_ENCODE_ANY): NULL;
        if (text)
            printf ("  result %s", text);
        free (text);
        printf ("\n");
    }
}

//  A RUN reply, as a person reads it
static void
s_print_run (json_t *run)
{
    char created [ZEB_TIME_STRLEN], updated [ZEB_TIME_STRLEN], dead [ZEB_TIME_STRLEN];
    json_t *event = json_object_get (run, "event");
    printf ("run        %s\n", s_member (run, "id"));
    printf ("origin     %s (%s)\n", s_member (run, "origin"), s_member (run, "kind"));
    printf ("state      %s\n", s_member (run, "state"));
    printf ("event      %s %s, sequence %lld\n", s_member (event, "type"), s_member (event, "id"),
            s_member_int (event, "sequence"));
    printf ("created    %s\nupdated    %s\n", s_member_time (run, "created", created),
            s_member_time (run, "updated", updated));
    if (json_object_get (run, "deadAt"))
        printf ("dead at    %s: %s, target %s\n", s_member_time (run, "deadAt", dead),
                s_member (run, "reason"), s_member (run, "target"));
    if (json_object_get (run, "error"))
        printf ("error      %s\n", s_member (run, "error"));
    if (json_object_get (run, "replay"))
        printf ("replay     %s\n", s_member (run, "replay"));
    size_t index;
    json_t *action;
    json_array_foreach (json_object_get (run, "actions"), index, action) {
        printf ("action %zu   %s  %s  target %s  attempts %lld of %lld\n", index + 1,
                s_member (action, "type"), s_member (action, "state"), s_member (action, "target"),
                s_member_int (action, "attemptsSpent"), s_member_int (action, "maxAttempts"));
        s_print_attempts (json_object_get (action, "attempts"));
    }
}

//  The items of a page, after printing header, or none if there are none
static json_t *
s_page_items (json_t *reply, const char *none, const char *header)
{
    json_t *items = json_object_get (reply, "items");
    printf ("%s\n", json_array_size (items)? header: none);
    return items;
}

//  How to ask for the page after this one, if there is one
static void
s_page_more (json_t *reply, const char *option)
{
    if (json_object_get (reply, "next"))
        printf ("more: %s %s\n", option, s_member (reply, "next"));
}

static void
s_print_dlq (json_t *reply)
{
    json_t *items = s_page_items (reply, "no dead letters",
        "ID                                DIED AT                   ORIGIN            "
        "EVENT TYPE            REASON             ATTEMPTS  TARGET            ERROR");
    size_t index;
    json_t *item;
    json_array_foreach (items, index, item) {
        char at [ZEB_TIME_STRLEN];
        printf ("%-32s  %-24s  %-16s  %-20s  %-17s  %8lld  %-16s  %s\n", s_member (item, "id"),
                s_member_time (item, "at", at), s_member (item, "origin"),
                s_member (json_object_get (item, "event"), "type"), s_member (item, "reason"),
                s_member_int (item, "attempts"), s_member (item, "target"), s_member (item, "error"));
    }
    s_page_more (reply, "--after");
}

static void
s_print_dead (json_t *reply)
{
    char at [ZEB_TIME_STRLEN];
    printf ("dead letter %s\n", s_member (reply, "id"));
    printf ("reason     %s, at %s\n", s_member (reply, "reason"), s_member_time (reply, "at", at));
    printf ("failed     %s, target %s, after %lld attempts: %s\n", s_member (reply, "action"),
            s_member (reply, "target"), s_member_int (reply, "attempts"), s_member (reply, "error"));
    s_print_run (json_object_get (reply, "run"));
}

static void
s_print_logs (json_t *reply)
{
    json_t *items = s_page_items (reply, "no execution logs",
        "AT                        STATUS    RUN                               ORIGIN            "
        "EVENT TYPE                  MS  ACTIONS");
    size_t index;
    json_t *item;
    json_array_foreach (items, index, item) {
        char at [ZEB_TIME_STRLEN];
        printf ("%-24s  %-8s  %-32s  %-16s  %-20s  %8lld ", s_member_time (item, "createdAt", at),
                s_member (item, "status"), s_member (item, "run"), s_member (item, "origin"),
                s_member (item, "eventType"), s_member_int (item, "executionTimeMs"));
        size_t step;
        json_t *action;
        json_array_foreach (json_object_get (item, "actionsExecuted"), step, action)
            printf (" %s:%s", s_member (action, "action"), s_member (action, "status"));
        if (json_object_get (item, "error"))
            printf ("  %s", s_member (item, "error"));
        printf ("\n");
    }
    s_page_more (reply, "--before");
}

//  The reply, as a table or as JSON
static void
s_outbox_print (s_outbox_verb_t which, json_t *reply, const char *argument, bool json)
{
    if (json) {
        s_print_json (reply, JSON_COMPACT);
        return;
    }
    long long count = s_member_int (reply, "count");
    switch (which) {
        case S_OUTBOX_DLQ_LIST:
            s_print_dlq (reply);
            break;
        case S_OUTBOX_DLQ_SHOW:
            s_print_dead (reply);
            break;
        case S_OUTBOX_RUN_SHOW:
            s_print_run (reply);
            break;
        case S_OUTBOX_LOGS:
            s_print_logs (reply);
            break;
        case S_OUTBOX_DLQ_REPLAY:
            printf ("replayed %lld dead letter%s", count, count == 1? "": "s");
            printf (json_object_get (reply, "replayId")? " (replay %s)\n": "\n", s_member (reply, "replayId"));
            break;
        case S_OUTBOX_DLQ_PURGE:
            printf ("purged %lld dead letter%s\n", count, count == 1? "": "s");
            break;
        case S_OUTBOX_TARGET_ENABLE:
            printf ("target %s takes runs again%s\n", argument,
                    json_is_true (json_object_get (reply, "wasGone"))? "": " (it was not gone)");
            break;
        default:
            assert (false);
    }
}

//  Ask the outbox; 0 or a zeb_error_t, as zeb_outbox_client's calls
static int
s_outbox_call (zeb_outbox_client_t *outbox, s_outbox_verb_t which, const char *argument,
               json_t *filter, s_options_t *options, json_t **reply, zeb_fault_t *fault)
{
    switch (which) {
        case S_OUTBOX_DLQ_LIST:
            return zeb_outbox_client_dlq_list (outbox, filter, reply, fault);
        case S_OUTBOX_DLQ_SHOW:
            return zeb_outbox_client_dlq_show (outbox, argument, reply, fault);
        case S_OUTBOX_DLQ_REPLAY:
            return zeb_outbox_client_dlq_replay (outbox, argument, argument? NULL: filter, reply, fault);
        case S_OUTBOX_DLQ_PURGE:
            return zeb_outbox_client_dlq_purge (outbox, argument, argument? NULL: filter, reply, fault);
        case S_OUTBOX_RUN_SHOW:
            return zeb_outbox_client_run (outbox, argument, reply, fault);
        case S_OUTBOX_LOGS:
            return zeb_outbox_client_logs (outbox, options->origin, options->origin? NULL: options->type,
                                           (uint32_t) options->limit, options->before, reply, fault);
        case S_OUTBOX_TARGET_ENABLE:
            return zeb_outbox_client_target_enable (outbox, argument, reply, fault);
        default:
            assert (false);
            return ZEB_ERROR;
    }
}

//  The outbox's endpoint: --outbox, or the one WELCOME names. NULL after
//  saying why, with *rc the exit status.
static const char *
s_outbox_endpoint (zeb_client_t *client, s_options_t *options, int *rc)
{
    if (options->outbox)
        return options->outbox;
    int error = zeb_client_connect (client);
    if (error) {
        *rc = s_fail (error, options->endpoint);
        return NULL;
    }
    const char *endpoint = zeb_client_outbox_endpoint (client);
    if (!endpoint) {
        fprintf (stderr, "zeb: the node at %s runs no outbox (node/actors); name one with "
                 "--outbox ENDPOINT\n", options->endpoint);
        *rc = 2;
    }
    return endpoint;
}

//  Say why a call failed; the exit status. A NACK (reply is its body)
//  gives its reason and text, and its body with --json.
static int
s_outbox_failed (int rc, json_t *reply, zeb_fault_t *fault, const char *endpoint, bool json)
{
    if (reply) {
        fprintf (stderr, "zeb: %s: %s\n", s_member (reply, "reason"), fault->text);
        if (json)
            s_outbox_print (S_OUTBOX_USAGE, reply, NULL, true);
        return 1;
    }
    if (rc != ZEB_EPROTOCOL && rc != ZEB_EINVALID)
        return s_fail (rc, endpoint);       //  no answer: exit 3
    fprintf (stderr, "zeb: %s: %s\n", endpoint, fault->text);
    return 1;
}

//  zeb dlq [list|show|replay|purge], zeb runs show, zeb logs, zeb targets enable
static int
s_outbox (zeb_client_t *client, const char *command, s_options_t *options)
{
    const char *argument;
    s_outbox_verb_t which = s_outbox_verb (command, options, &argument);
    if (which == S_OUTBOX_USAGE || options->limit < 0) {
        if (options->limit < 0)
            fprintf (stderr, "zeb: --limit takes a whole number from 1\n");
        s_usage (stderr);
        return 2;
    }
    json_t *filter = s_dlq_filter (options);
    if (!filter)
        return 2;
    int rc = 0;
    const char *endpoint = s_outbox_endpoint (client, options, &rc);
    zeb_outbox_client_t *outbox = endpoint? zeb_outbox_client_new (endpoint): NULL;
    if (endpoint && !outbox) {
        fprintf (stderr, "zeb: invalid outbox endpoint '%s'\n", endpoint);
        rc = 2;
    }
    json_t *reply = NULL;
    zeb_fault_t fault = { 0 };
    if (outbox) {
        zeb_outbox_client_set_timeout (outbox, options->timeout);
        rc = s_outbox_call (outbox, which, argument, filter, options, &reply, &fault);
        zeb_outbox_client_destroy (&outbox);
        if (rc == 0)
            s_outbox_print (which, reply, argument, options->json);
        else
            rc = s_outbox_failed (rc, reply, &fault, endpoint, options->json);
    }
    json_decref (reply);
    json_decref (filter);
    return rc;
}

//  ---------------------------------------------------------------------
//  Calls to an actor's JSON verbs (automations, cron)

typedef struct {
    const char *name;                   //  the actor, as WELCOME names it
    const char *what;                   //  for messages: "automations"
    const char *option;                 //  the option naming its endpoint
    size_t named;                       //  that option's place in s_options_t
    const char *(*advertised) (zeb_client_t *client);   //  WELCOME's
    void (*print) (const char *verb, json_t *reply);    //  a reply, for people
} s_actor_t;

static void s_print_warnings (json_t *warnings);

//  Send verb (lower case) with body (taken) to the actor; print the
//  reply. Returns the exit code.
static int
s_call_actor (zeb_client_t *client, s_options_t *options, const s_actor_t *actor,
              const char *verb, json_t *body)
{
    const char *endpoint = *(const char **) ((char *) options + actor->named);
    if (!endpoint) {
        int error = zeb_client_connect (client);
        if (error) {
            json_decref (body);
            return s_fail (error, options->endpoint);
        }
        endpoint = actor->advertised (client);
        if (!endpoint) {
            fprintf (stderr, "zeb: the node at %s runs no %s (node/actors); name them with "
                     "%s ENDPOINT\n", options->endpoint, actor->what, actor->option);
            json_decref (body);
            return 2;
        }
    }
    zeb_actor_client_t *calls = zeb_actor_client_new (endpoint, actor->name);
    if (!calls) {
        fprintf (stderr, "zeb: invalid %s endpoint '%s'\n", actor->name, endpoint);
        json_decref (body);
        return 2;
    }
    zeb_actor_client_set_timeout (calls, options->timeout);
    char command [16];
    size_t len = strlen (verb);
    for (size_t index = 0; index <= len && index < sizeof (command); index++)
        command [index] = (char) toupper ((unsigned char) verb [index]);
    command [sizeof (command) - 1] = 0;
    json_t *reply = NULL;
    zeb_fault_t fault = { 0 };
    int rc = zeb_actor_client_call (calls, command, body, &reply, &fault);
    zeb_actor_client_destroy (&calls);
    if (rc == 0) {
        if (options->json) {
            s_print_json (reply, JSON_COMPACT);
        }
        else
            actor->print (verb, reply);
    }
    else {
        if (reply) {
            fprintf (stderr, "zeb: %s: %s\n", s_member (reply, "reason"), fault.text);
            s_print_warnings (json_object_get (reply, "warnings"));
            if (options->json) {
                s_print_json (reply, JSON_COMPACT);
            }
            rc = 1;
        }
        else
        if (rc == ZEB_EPROTOCOL || rc == ZEB_EINVALID) {
            fprintf (stderr, "zeb: %s: %s\n", endpoint, fault.text);
            rc = 1;
        }
        else
            rc = s_fail (rc, endpoint);
    }
    json_decref (reply);
    json_decref (body);
    return rc;
}

//  ---------------------------------------------------------------------
//  Automations: zeb automations ...

//  A JSON file (or - for stdin) as JSON; NULL after saying why
static json_t *
s_load_json (const char *path, const char *what)
{
    char *text = streq (path, "-")? s_read_stdin (): s_read_file (path);
    if (!text) {
        fprintf (stderr, "zeb: cannot read %s %s\n", what, path);
        return NULL;
    }
    json_error_t error;
    json_t *json = json_loads (text, JSON_DECODE_ANY, &error);
    free (text);
    if (!json_is_object (json)) {
        fprintf (stderr, "zeb: %s %s: not a JSON object (%s, line %d)\n", what, path,
                 json? "another value": error.text, error.line);
        json_decref (json);
        return NULL;
    }
    return json;
}

static void
s_print_rules (json_t *reply)
{
    json_t *items = s_page_items (reply, "no automations",
        "ID                                    TRIGGER                     ENABLED  PRIORITY  ACTIONS  NAME");
    size_t index;
    json_t *rule;
    json_array_foreach (items, index, rule)
        printf ("%-36s  %-26s  %-7s  %8lld  %7zu  %s\n", s_member (rule, "id"),
                s_member (rule, "triggerEventType"),
                json_is_false (json_object_get (rule, "enabled"))? "no": "yes",
                s_member_int (rule, "priority"), json_array_size (json_object_get (rule, "actions")),
                s_member (rule, "name"));
    s_page_more (reply, "--after");
}

static void
s_print_warnings (json_t *warnings)
{
    size_t index;
    json_t *warning;
    json_array_foreach (warnings, index, warning)
        printf ("warning    %s: %s (%s)\n", s_member (warning, "path"), s_member (warning, "reason"),
                s_member (warning, "field"));
}

static void
s_print_explain (json_t *explain, int depth)
{
    size_t index;
    json_t *condition;
    json_array_foreach (json_object_get (explain, "conditions"), index, condition) {
        char *seen = json_dumps (json_object_get (condition, "seen"), JSON_COMPACT | JSON_ENCODE_ANY);
        char *value = json_dumps (json_object_get (condition, "value"), JSON_COMPACT | JSON_ENCODE_ANY);
        printf ("%*s%-5s  %s %s %s  (saw %s)\n", depth * 2, "",
                json_is_true (json_object_get (condition, "result"))? "true": "false",
                s_member (condition, "field"), s_member (condition, "operator"),
                value? value: "", seen? seen: "nothing");
        free (seen);
        free (value);
    }
}

static void
s_print_automation (const char *verb, json_t *reply)
{
    if (streq (verb, "list"))
        s_print_rules (reply);
    else
    if (streq (verb, "put")) {
        printf ("%s %s, version %lld\n", json_is_true (json_object_get (reply, "created"))? "created": "updated",
                s_member (reply, "id"), s_member_int (reply, "version"));
        s_print_warnings (json_object_get (reply, "warnings"));
    }
    else
    if (streq (verb, "history")) {
        size_t index;
        json_t *item;
        printf ("VERSION  OP       AT                        BY\n");
        json_array_foreach (json_object_get (reply, "items"), index, item)
            printf ("%7lld  %-7s  %-24s  %s\n", s_member_int (item, "version"), s_member (item, "op"),
                    s_member (item, "at"), s_member (item, "by"));
    }
    else
    if (streq (verb, "logs"))
        s_print_logs (reply);
    else
    if (streq (verb, "test")) {
        printf ("rule %s: %s\n", s_member (reply, "id"),
                json_is_true (json_object_get (reply, "matched"))? "would fire"
                : !json_is_true (json_object_get (reply, "triggered"))? "not triggered by this event's type"
                : !json_is_true (json_object_get (reply, "enabled"))? "disabled"
                : "conditions not matched");
        s_print_explain (json_object_get (reply, "explain"), 1);
        char *actions = json_dumps (json_object_get (reply, "actions"), JSON_COMPACT);
        printf ("actions    %s\n", actions? actions: "[]");
        free (actions);
    }
    else
    if (streq (verb, "backtest")) {
        printf ("scanned %lld events from %lld: %lld would have fired it%s\n", s_member_int (reply, "scanned"),
                s_member_int (reply, "from"), s_member_int (reply, "matched"),
                json_is_true (json_object_get (reply, "complete"))? "": " (incomplete: more to scan)");
        size_t index;
        json_t *item;
        json_array_foreach (json_object_get (reply, "items"), index, item)
            printf ("  %10lld  %-24s  %s\n", s_member_int (item, "sequence"), s_member (item, "eventType"),
                    s_member (item, "eventId"));
        if (json_is_true (json_object_get (reply, "truncated")))
            printf ("  (more matched than --limit shows)\n");
    }
    else {
        //  get, delete, enable, disable: the reply itself
        s_print_json (reply, JSON_INDENT (2));
    }
}

static const s_actor_t s_automation_actor = {
    "automation", "automations", "--automation", offsetof (s_options_t, automation),
    zeb_client_automation_endpoint, s_print_automation
};

//  The request body for verb and its arguments; NULL after saying why
static json_t *
s_automation_body (const char *verb, const char *argument, const char *second, s_options_t *options)
{
    json_t *body = json_object ();
    if (argument && !streq (verb, "put"))
        json_object_set_new (body, "id", json_string (argument));
    if (options->by)
        json_object_set_new (body, "by", json_string (options->by));
    if (options->limit > 0)
        json_object_set_new (body, "limit", json_integer (options->limit));
    if (streq (verb, "list")) {
        if (options->type)
            json_object_set_new (body, "type", json_string (options->type));
        if (options->matching)
            json_object_set_new (body, "event", json_string (options->matching));
        if (options->enabled || options->disabled)
            json_object_set_new (body, "enabled", json_boolean (options->enabled));
        if (options->after)
            json_object_set_new (body, "after", json_string (options->after));
    }
    else
    if (streq (verb, "put")) {
        json_t *rule = argument? s_load_json (argument, "rule"): NULL;
        if (!rule)
            goto usage;
        json_object_set_new (body, "rule", rule);
    }
    else
    if (streq (verb, "get") && options->version > 0)
        json_object_set_new (body, "version", json_integer (options->version));
    else
    if (streq (verb, "logs")) {
        if (options->type)
            json_object_set_new (body, "type", json_string (options->type));
        if (options->before)
            json_object_set_new (body, "before", json_string (options->before));
    }
    else
    if (streq (verb, "test") || streq (verb, "backtest")) {
        if (options->rule) {
            json_t *rule = s_load_json (options->rule, "rule");
            if (!rule)
                goto usage;
            json_object_set_new (body, "rule", rule);
            second = argument;
            json_object_del (body, "id");
        }
        if (streq (verb, "test")) {
            json_t *event = second? s_load_json (second, "event"): NULL;
            if (!event)
                goto usage;
            json_object_set_new (body, "event", event);
        }
        else {
            if (options->from)
                json_object_set_new (body, "from", json_integer ((json_int_t) options->from));
            if (options->to)
                json_object_set_new (body, "to", json_integer ((json_int_t) options->to));
            int64_t time_ms;
            if (options->since && zeb_time_parse (options->since, strlen (options->since), &time_ms) == 0)
                json_object_set_new (body, "since", json_integer (time_ms));
            if (options->until && zeb_time_parse (options->until, strlen (options->until), &time_ms) == 0)
                json_object_set_new (body, "until", json_integer (time_ms));
        }
    }
    return body;
usage:
    json_decref (body);
    return NULL;
}

//  zeb automations VERB ...
static int
s_automations (zeb_client_t *client, s_options_t *options)
{
    const char *verb = (const char *) zlist_first (options->positional);
    if (!verb)
        verb = "list";
    if (streq (verb, "show"))
        verb = "get";
    const char *argument = (const char *) zlist_next (options->positional);
    const char *second = (const char *) zlist_next (options->positional);
    //  backtest FILE.json: a rule from a file, as --rule FILE.json
    if (streq (verb, "backtest") && argument && !options->rule
    &&  (streq (argument, "-") || zsys_file_exists (argument))) {
        options->rule = argument;
        argument = second;
        second = NULL;
    }
    const char *verbs [] = { "list", "put", "get", "delete", "enable", "disable", "history",
                             "logs", "test", "backtest", NULL };
    size_t known = 0;
    while (verbs [known] && !streq (verbs [known], verb))
        known++;
    bool needs_id = !streq (verb, "list") && !(streq (verb, "logs") && options->type)
                 && !((streq (verb, "test") || streq (verb, "backtest")) && options->rule);
    if (!verbs [known] || (needs_id && !argument) || options->limit < 0) {
        s_usage (stderr);
        return 2;
    }
    json_t *body = s_automation_body (verb, argument, second, options);
    if (!body)
        return 2;
    return s_call_actor (client, options, &s_automation_actor, verb, body);
}

//  ---------------------------------------------------------------------
//  Cron: zeb cron ...

static void
s_print_triggers (json_t *reply)
{
    json_t *items = s_page_items (reply, "no cron triggers",
        "NAME                  SCHEDULE        ZONE              ENABLED  CATCHUP  NEXT RUN                  LAST RUN");
    size_t index;
    json_t *trigger;
    json_array_foreach (items, index, trigger)
        printf ("%-20s  %-14s  %-16s  %-7s  %-7s  %-24s  %s\n", s_member (trigger, "name"),
                s_member (trigger, "schedule"),
                *s_member (trigger, "timezone")? s_member (trigger, "timezone"): "UTC",
                json_is_false (json_object_get (trigger, "enabled"))? "no": "yes",
                *s_member (trigger, "catchUp")? s_member (trigger, "catchUp"): "skip",
                *s_member (trigger, "nextRun")? s_member (trigger, "nextRun"): "-",
                *s_member (trigger, "lastRun")? s_member (trigger, "lastRun"): "-");
}

static void
s_print_cron (const char *verb, json_t *reply)
{
    if (streq (verb, "list"))
        s_print_triggers (reply);
    else
    if (streq (verb, "put"))
        printf ("stored %s: %s, next run %s\n", s_member (reply, "name"), s_member (reply, "schedule"),
                *s_member (reply, "nextRun")? s_member (reply, "nextRun"): "none (disabled)");
    else
    if (streq (verb, "run"))
        printf ("fired %s: %s\n", s_member (reply, "name"), s_member (reply, "eventType"));
    else {
        s_print_json (reply, JSON_INDENT (2));
    }
}

static const s_actor_t s_cron_actor = {
    "cron", "cron triggers", "--cron", offsetof (s_options_t, cron), zeb_client_cron_endpoint, s_print_cron
};

//  zeb cron VERB [NAME|FILE.json|-]
static int
s_cron (zeb_client_t *client, s_options_t *options)
{
    const char *verb = (const char *) zlist_first (options->positional);
    if (!verb)
        verb = "list";
    if (streq (verb, "show"))
        verb = "get";
    const char *argument = (const char *) zlist_next (options->positional);
    const char *verbs [] = { "list", "put", "get", "delete", "enable", "disable", "run", NULL };
    size_t known = 0;
    while (verbs [known] && !streq (verbs [known], verb))
        known++;
    if (!verbs [known] || (!streq (verb, "list") && !argument)) {
        s_usage (stderr);
        return 2;
    }
    json_t *body = NULL;
    if (streq (verb, "put")) {
        json_t *trigger = s_load_json (argument, "trigger");
        if (!trigger)
            return 2;
        body = json_pack ("{s:o}", "trigger", trigger);
    }
    else {
        body = json_object ();
        if (argument)
            json_object_set_new (body, "name", json_string (argument));
    }
    return s_call_actor (client, options, &s_cron_actor, verb, body);
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

//  Options, by name, and where in s_options_t their value goes
typedef struct {
    const char *name;
    size_t offset;
} s_option_t;

//  Those that take text (a const char *)
static const s_option_t s_text_options [] = {
    { "--endpoint", offsetof (s_options_t, endpoint) },
    { "--source", offsetof (s_options_t, source) },
    { "--subject", offsetof (s_options_t, subject) },
    { "--id", offsetof (s_options_t, id) },
    { "--key", offsetof (s_options_t, key) },
    { "--time", offsetof (s_options_t, time) },
    { "--types", offsetof (s_options_t, types) },
    { "--prefix", offsetof (s_options_t, prefix) },
    { "--compat", offsetof (s_options_t, compat) },
    { "--description", offsetof (s_options_t, description) },
    { "--outbox", offsetof (s_options_t, outbox) },
    { "--origin", offsetof (s_options_t, origin) },
    { "--type", offsetof (s_options_t, type) },
    { "--since", offsetof (s_options_t, since) },
    { "--until", offsetof (s_options_t, until) },
    { "--after", offsetof (s_options_t, after) },
    { "--before", offsetof (s_options_t, before) },
    { "--by", offsetof (s_options_t, by) },
    { "--rule", offsetof (s_options_t, rule) },
    { "--matching", offsetof (s_options_t, matching) },
    { "--automation", offsetof (s_options_t, automation) },
    { "--cron", offsetof (s_options_t, cron) },
    { NULL, 0 }
};

//  Those that take nothing (a bool, set)
static const s_option_t s_flag_options [] = {
    { "--follow", offsetof (s_options_t, follow) },
    { "--event", offsetof (s_options_t, whole_event) },
    { "--json", offsetof (s_options_t, json) },
    { "--all", offsetof (s_options_t, all) },
    { "--enabled", offsetof (s_options_t, enabled) },
    { "--disabled", offsetof (s_options_t, disabled) },
    { NULL, 0 }
};

//  Where the option named arg of table goes in options, or NULL
static void *
s_option (s_options_t *options, const char *arg, const s_option_t *table)
{
    for (const s_option_t *option = table; option->name; option++)
        if (streq (arg, option->name))
            return (char *) options + option->offset;
    return NULL;
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
        const char **text = s_option (&options, arg, s_text_options);
        bool *flag = (bool *) s_option (&options, arg, s_flag_options);
        if (text && value) {
            *text = value;
            index++;
        }
        else
        if (flag)
            *flag = true;
        else
        if (streq (arg, "--timeout") && value)
            options.timeout = atoi (argv [++index]);
        else
        if (streq (arg, "--from") && value)
            options.from = strtoull (argv [++index], NULL, 10);
        else
        if (streq (arg, "--to") && value)
            options.to = strtoull (argv [++index], NULL, 10);
        else
        if (streq (arg, "--count") && value)
            options.count = atoll (argv [++index]);
        else
        if (streq (arg, "--version") && value)
            options.version = atoll (argv [++index]);
        else
        if (streq (arg, "--limit") && value)
            options.limit = s_positive (argv [++index]);
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
    else
    if (streq (command, "dlq") || streq (command, "runs") || streq (command, "logs")
    ||  streq (command, "targets"))
        rc = s_outbox (client, command, &options);
    else
    if (streq (command, "automations"))
        rc = s_automations (client, &options);
    else
    if (streq (command, "cron"))
        rc = s_cron (client, &options);
    else {
        fprintf (stderr, "zeb: unknown command '%s'\n", command);
        s_usage (stderr);
        rc = 2;
    }
    zeb_client_destroy (&client);
    zlist_destroy (&options.positional);
    return rc;
}
