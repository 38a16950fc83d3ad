/*  =========================================================================
    fuzz_rule - automation rules compiled and evaluated (actors/zeb_rule.h)

    Input: a rule's JSON text, a 0x00 byte, an event's JSON text (no 0x00:
    the whole input is the rule, and the event is a fixed order.placed).
    The rule is compiled with zeb_rule_new, as the automation actor does on
    PUT (anyone with the admin endpoint writes rules); if it compiles and
    the event is one, the rule is matched, explained and rendered against
    it, as the actor evaluates each event of the log.

    Oracles: no crash, leak or hang (a regular expression past its match
    limit is a non-match, not a stall); a refused rule says why with
    ZEB_EINVALID or ZEB_EMALFORMED in terminated text; explain answers as
    match does; what render writes is one msgpack array, convertible to
    JSON, of as many actions as the rule has; and a rule's own JSON
    compiles again to a rule that answers the same.
    =========================================================================
*/

#include "fuzz.h"

static const char *s_default_event =
    "{\"id\":\"e-1\",\"type\":\"order.placed\",\"source\":\"fuzz\",\"sequence\":7,"
    "\"data\":{\"total\":120.5,\"tags\":[\"vip\",\"new\"],\"customer\":{\"tier\":\"gold\"}}}";

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
    s_fuzz_init ();
    return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    const uint8_t *split = (const uint8_t *) memchr (data, 0, size);
    size_t rule_size = split? (size_t) (split - data): size;
    const char *text = split? (const char *) split + 1: s_default_event;
    size_t text_size = split? size - rule_size - 1: strlen (s_default_event);

    zeb_fault_t fault = { 0 };
    zeb_rule_t *rule = zeb_rule_new ((const char *) data, rule_size, &fault);
    if (!rule) {
        S_ORACLE ((fault.code == ZEB_EINVALID || fault.code == ZEB_EMALFORMED)
               && memchr (fault.text, 0, sizeof (fault.text)));
        return 0;
    }
    zeb_event_t *event = zeb_event_from_json (text, text_size, &fault);
    if (event) {
        zeb_event_view_t *view = zeb_event_view (event);
        bool matched = zeb_rule_match (rule, view);
        msgpack_sbuffer buffer;
        msgpack_sbuffer_init (&buffer);
        zeb_pack_t pack;
        zeb_pack_init (&pack, &buffer);
        zeb_pack_map (&pack, NULL);
        S_ORACLE (zeb_rule_explain (rule, view, &pack, "explain") == matched);
        zeb_rule_render (rule, view, &pack, "actions");
        zeb_pack_end (&pack);
        json_t *json = zeb_json_from_msgpack (buffer.data, buffer.size, NULL);
        S_ORACLE (json && json_array_size (json_object_get (json, "actions")) == zeb_rule_action_count (rule));
        json_decref (json);
        msgpack_sbuffer_destroy (&buffer);
        //  Its own JSON is a rule again, answering the same
        const char *own = zeb_rule_text (rule);
        zeb_rule_t *again = zeb_rule_new (own, strlen (own), &fault);
        S_ORACLE (again && zeb_rule_match (again, view) == matched);
        zeb_rule_destroy (&again);
        zeb_event_destroy (&event);
    }
    zeb_rule_destroy (&rule);
    return 0;
}
