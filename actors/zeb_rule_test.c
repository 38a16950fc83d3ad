/*  =========================================================================
    zeb_rule_test - the self test of zeb_rule: the semantics table row by
    row, refusals with their paths, quantifiers, groups, templates,
    explain, schema checks

    In a file of its own: zeb_rule's code is already split in four.
    =========================================================================
*/

#include "zeb_actors.h"

//  The data every row of the table is evaluated against
static const char *s_data =
    "{\"i\":1,\"f\":1.0,\"g\":1.5,\"neg\":-5,\"big\":9223372036854775807,\"b53\":9007199254740993,"
    "\"s\":\"Hello World\",\"e\":\"\",\"t\":true,\"n\":null,\"o\":{\"a\":1,\"b\":[1,2]},"
    "\"arr\":[1,\"two\",{\"k\":3},[4]],\"empty\":[],\"odd.key\":7,"
    "\"items\":[{\"sku\":\"A\",\"price\":5,\"tags\":[\"x\"]},{\"sku\":\"B\",\"price\":20,\"tags\":[]}],"
    "\"nums\":[1,2,3]}";

#define S_TIME  1767225600123LL         //  2026-01-01T00:00:00.123Z

static zeb_event_t *
s_event (const char *type, const char *data)
{
    zeb_event_t *event = zeb_event_new (type);
    assert (event);
    zeb_event_set (event, "id", "e-1");
    zeb_event_set (event, "source", "test");
    zeb_event_set (event, "tenantid", "acme");
    zeb_event_set (event, "region", "eu");
    zeb_event_set_ext_int (event, "attempt", 3);
    zeb_event_set_time (event, S_TIME);
    if (data) {
        zeb_fault_t fault;
        int rc = zeb_event_set_data_json (event, data, &fault);
        assert (rc == 0);
    }
    return event;
}

static zeb_rule_t *
s_rule (const char *text)
{
    zeb_fault_t fault;
    zeb_rule_t *rule = zeb_rule_new (text, strlen (text), &fault);
    if (!rule)
        fprintf (stderr, "rule refused: %s: %s\n", text, fault.text);
    assert (rule);
    return rule;
}

//  A rule of one condition, or of the conditions given as a list
static zeb_rule_t *
s_rule_of (const char *conditions, bool list)
{
    char text [4096];
    snprintf (text, sizeof (text), "{\"id\":\"r\",\"triggerEventType\":\"order.placed\","
              "\"triggerConditions\":%s%s%s,\"actions\":[{\"type\":\"log\"}]}",
              list? "": "[", conditions, list? "": "]");
    return s_rule (text);
}

typedef struct {
    const char *condition;
    bool expected;
} s_row_t;

//  The semantics table of docs/DESIGN.md, row by row
static const s_row_t s_table [] = {
    //  eq: numbers by value across int and float, exact beyond 2^53
    { "{\"field\":\"data.i\",\"operator\":\"eq\",\"value\":1}", true },
    { "{\"field\":\"data.i\",\"operator\":\"eq\",\"value\":1.0}", true },
    { "{\"field\":\"data.f\",\"operator\":\"eq\",\"value\":1}", true },
    { "{\"field\":\"data.g\",\"operator\":\"eq\",\"value\":1.5}", true },
    { "{\"field\":\"data.big\",\"operator\":\"eq\",\"value\":9223372036854775807}", true },
    { "{\"field\":\"data.big\",\"operator\":\"eq\",\"value\":9223372036854775807.0}", false },
    { "{\"field\":\"data.big\",\"operator\":\"lt\",\"value\":9223372036854775807.0}", true },
    { "{\"field\":\"data.b53\",\"operator\":\"eq\",\"value\":9007199254740992.0}", false },
    { "{\"field\":\"data.b53\",\"operator\":\"gt\",\"value\":9007199254740992.0}", true },
    { "{\"field\":\"data.b53\",\"operator\":\"eq\",\"value\":9007199254740993}", true },
    //  eq: other types exactly; mismatched types are never equal
    { "{\"field\":\"data.i\",\"operator\":\"eq\",\"value\":\"1\"}", false },
    { "{\"field\":\"data.s\",\"operator\":\"eq\",\"value\":\"Hello World\"}", true },
    { "{\"field\":\"data.s\",\"operator\":\"eq\",\"value\":\"hello world\"}", false },
    { "{\"field\":\"data.s\",\"operator\":\"eq\",\"value\":\"hello world\",\"ignoreCase\":true}", true },
    { "{\"field\":\"data.t\",\"operator\":\"eq\",\"value\":true}", true },
    { "{\"field\":\"data.t\",\"operator\":\"eq\",\"value\":1}", false },
    { "{\"field\":\"data.n\",\"operator\":\"eq\",\"value\":null}", true },
    { "{\"field\":\"data.missing\",\"operator\":\"eq\",\"value\":null}", false },
    { "{\"field\":\"data.o\",\"operator\":\"eq\",\"value\":{\"b\":[1,2],\"a\":1}}", true },
    { "{\"field\":\"data.o\",\"operator\":\"eq\",\"value\":{\"a\":1}}", false },
    { "{\"field\":\"data.o.b\",\"operator\":\"eq\",\"value\":[1,2.0]}", true },
    { "{\"field\":\"data.arr\",\"operator\":\"eq\",\"value\":[1,\"two\",{\"k\":3},[4]]}", true },
    { "{\"field\":\"data.empty\",\"operator\":\"eq\",\"value\":[]}", true },
    //  neq: present and unequal; missing is false
    { "{\"field\":\"data.i\",\"operator\":\"neq\",\"value\":2}", true },
    { "{\"field\":\"data.i\",\"operator\":\"neq\",\"value\":1.0}", false },
    { "{\"field\":\"data.s\",\"operator\":\"neq\",\"value\":5}", true },
    { "{\"field\":\"data.missing\",\"operator\":\"neq\",\"value\":1}", false },
    { "{\"field\":\"data.s\",\"operator\":\"neq\",\"value\":\"HELLO WORLD\",\"ignoreCase\":true}", false },
    //  gt gte lt lte: numbers by value, strings by bytes, else false
    { "{\"field\":\"data.i\",\"operator\":\"gt\",\"value\":0}", true },
    { "{\"field\":\"data.i\",\"operator\":\"gt\",\"value\":1}", false },
    { "{\"field\":\"data.i\",\"operator\":\"gte\",\"value\":1}", true },
    { "{\"field\":\"data.i\",\"operator\":\"lt\",\"value\":1.5}", true },
    { "{\"field\":\"data.i\",\"operator\":\"lte\",\"value\":1.0}", true },
    { "{\"field\":\"data.g\",\"operator\":\"gt\",\"value\":1}", true },
    { "{\"field\":\"data.neg\",\"operator\":\"lt\",\"value\":0}", true },
    { "{\"field\":\"data.s\",\"operator\":\"gt\",\"value\":\"Hello\"}", true },
    { "{\"field\":\"data.s\",\"operator\":\"lt\",\"value\":\"hello\"}", true },
    { "{\"field\":\"data.s\",\"operator\":\"gt\",\"value\":\"hello\",\"ignoreCase\":true}", true },
    { "{\"field\":\"data.s\",\"operator\":\"lte\",\"value\":\"HELLO WORLD\",\"ignoreCase\":true}", true },
    { "{\"field\":\"data.s\",\"operator\":\"gt\",\"value\":1}", false },
    { "{\"field\":\"data.i\",\"operator\":\"gt\",\"value\":\"0\"}", false },
    { "{\"field\":\"data.o\",\"operator\":\"gt\",\"value\":1}", false },
    { "{\"field\":\"data.t\",\"operator\":\"gte\",\"value\":0}", false },
    { "{\"field\":\"data.missing\",\"operator\":\"lt\",\"value\":10}", false },
    //  contains: substring of a string, member of an array, else false
    { "{\"field\":\"data.s\",\"operator\":\"contains\",\"value\":\"lo Wo\"}", true },
    { "{\"field\":\"data.s\",\"operator\":\"contains\",\"value\":\"lo wo\"}", false },
    { "{\"field\":\"data.s\",\"operator\":\"contains\",\"value\":\"LO WO\",\"ignoreCase\":true}", true },
    { "{\"field\":\"data.s\",\"operator\":\"contains\",\"value\":\"\"}", true },
    { "{\"field\":\"data.s\",\"operator\":\"contains\",\"value\":1}", false },
    { "{\"field\":\"data.arr\",\"operator\":\"contains\",\"value\":\"two\"}", true },
    { "{\"field\":\"data.arr\",\"operator\":\"contains\",\"value\":\"TWO\",\"ignoreCase\":true}", true },
    { "{\"field\":\"data.arr\",\"operator\":\"contains\",\"value\":1.0}", true },
    { "{\"field\":\"data.arr\",\"operator\":\"contains\",\"value\":{\"k\":3}}", true },
    { "{\"field\":\"data.arr\",\"operator\":\"contains\",\"value\":[4]}", true },
    { "{\"field\":\"data.arr\",\"operator\":\"contains\",\"value\":5}", false },
    { "{\"field\":\"data.empty\",\"operator\":\"contains\",\"value\":1}", false },
    { "{\"field\":\"data.o\",\"operator\":\"contains\",\"value\":\"a\"}", false },
    { "{\"field\":\"data.i\",\"operator\":\"contains\",\"value\":1}", false },
    { "{\"field\":\"data.missing\",\"operator\":\"contains\",\"value\":\"x\"}", false },
    //  startsWith, endsWith: strings only
    { "{\"field\":\"data.s\",\"operator\":\"startsWith\",\"value\":\"Hello\"}", true },
    { "{\"field\":\"data.s\",\"operator\":\"startsWith\",\"value\":\"hello\"}", false },
    { "{\"field\":\"data.s\",\"operator\":\"startsWith\",\"value\":\"hello\",\"ignoreCase\":true}", true },
    { "{\"field\":\"data.s\",\"operator\":\"startsWith\",\"value\":\"Hello World!\"}", false },
    { "{\"field\":\"data.e\",\"operator\":\"startsWith\",\"value\":\"\"}", true },
    { "{\"field\":\"data.s\",\"operator\":\"endsWith\",\"value\":\"World\"}", true },
    { "{\"field\":\"data.s\",\"operator\":\"endsWith\",\"value\":\"WORLD\"}", false },
    { "{\"field\":\"data.s\",\"operator\":\"endsWith\",\"value\":\"WORLD\",\"ignoreCase\":true}", true },
    { "{\"field\":\"data.i\",\"operator\":\"startsWith\",\"value\":\"1\"}", false },
    { "{\"field\":\"data.arr\",\"operator\":\"endsWith\",\"value\":\"]\"}", false },
    //  matches: PCRE2 on strings only
    { "{\"field\":\"data.s\",\"operator\":\"matches\",\"value\":\"^H.*d$\"}", true },
    { "{\"field\":\"data.s\",\"operator\":\"matches\",\"value\":\"^h\"}", false },
    { "{\"field\":\"data.s\",\"operator\":\"matches\",\"value\":\"^h\",\"ignoreCase\":true}", true },
    { "{\"field\":\"data.s\",\"operator\":\"matches\",\"value\":\"o W\"}", true },
    { "{\"field\":\"data.i\",\"operator\":\"matches\",\"value\":\"1\"}", false },
    { "{\"field\":\"data.missing\",\"operator\":\"matches\",\"value\":\".*\"}", false },
    //  exists: true (the default) or false; null is present
    { "{\"field\":\"data.i\",\"operator\":\"exists\"}", true },
    { "{\"field\":\"data.i\",\"operator\":\"exists\",\"value\":true}", true },
    { "{\"field\":\"data.i\",\"operator\":\"exists\",\"value\":false}", false },
    { "{\"field\":\"data.n\",\"operator\":\"exists\"}", true },
    { "{\"field\":\"data.missing\",\"operator\":\"exists\",\"value\":true}", false },
    { "{\"field\":\"data.missing\",\"operator\":\"exists\",\"value\":false}", true },
    //  in: equal to one item, as eq
    { "{\"field\":\"data.i\",\"operator\":\"in\",\"value\":[0,1,2]}", true },
    { "{\"field\":\"data.i\",\"operator\":\"in\",\"value\":[1.0]}", true },
    { "{\"field\":\"data.i\",\"operator\":\"in\",\"value\":[\"1\"]}", false },
    { "{\"field\":\"data.s\",\"operator\":\"in\",\"value\":[\"a\",\"Hello World\"]}", true },
    { "{\"field\":\"data.s\",\"operator\":\"in\",\"value\":[\"hello world\"],\"ignoreCase\":true}", true },
    { "{\"field\":\"data.s\",\"operator\":\"in\",\"value\":[]}", false },
    { "{\"field\":\"data.o\",\"operator\":\"in\",\"value\":[1,{\"a\":1,\"b\":[1,2]}]}", true },
    { "{\"field\":\"data.missing\",\"operator\":\"in\",\"value\":[null]}", false },
    //  Paths
    { "{\"field\":\"data.o.b[1]\",\"operator\":\"eq\",\"value\":2}", true },
    { "{\"field\":\"data.arr[2].k\",\"operator\":\"eq\",\"value\":3}", true },
    { "{\"field\":\"data.arr[3][0]\",\"operator\":\"eq\",\"value\":4}", true },
    { "{\"field\":\"data.arr[9]\",\"operator\":\"exists\",\"value\":false}", true },
    { "{\"field\":\"data[\\\"o\\\"][\\\"a\\\"]\",\"operator\":\"eq\",\"value\":1}", true },
    { "{\"field\":\"data[\\\"odd.key\\\"]\",\"operator\":\"eq\",\"value\":7}", true },
    { "{\"field\":\"data.odd\",\"operator\":\"exists\",\"value\":false}", true },
    { "{\"field\":\"data.i.x\",\"operator\":\"exists\",\"value\":false}", true },
    { "{\"field\":\"data.o[0]\",\"operator\":\"exists\",\"value\":false}", true },
    { "{\"field\":\"payload.i\",\"operator\":\"eq\",\"value\":1}", true },
    { "{\"field\":\"data\",\"operator\":\"exists\"}", true },
    //  The envelope: attributes, defaults, extensions, time, sequence
    { "{\"field\":\"type\",\"operator\":\"eq\",\"value\":\"order.placed\"}", true },
    { "{\"field\":\"metadata.type\",\"operator\":\"startsWith\",\"value\":\"order.\"}", true },
    { "{\"field\":\"source\",\"operator\":\"eq\",\"value\":\"test\"}", true },
    { "{\"field\":\"id\",\"operator\":\"eq\",\"value\":\"e-1\"}", true },
    { "{\"field\":\"tenantid\",\"operator\":\"in\",\"value\":[\"acme\",\"beta\"]}", true },
    { "{\"field\":\"subject\",\"operator\":\"exists\",\"value\":false}", true },
    { "{\"field\":\"specversion\",\"operator\":\"eq\",\"value\":\"1.0\"}", true },
    { "{\"field\":\"channel\",\"operator\":\"eq\",\"value\":\"order.placed\"}", true },
    { "{\"field\":\"region\",\"operator\":\"eq\",\"value\":\"eu\"}", true },
    { "{\"field\":\"metadata.region\",\"operator\":\"eq\",\"value\":\"EU\",\"ignoreCase\":true}", true },
    { "{\"field\":\"attempt\",\"operator\":\"gt\",\"value\":2}", true },
    { "{\"field\":\"nosuchext\",\"operator\":\"exists\",\"value\":false}", true },
    { "{\"field\":\"time\",\"operator\":\"eq\",\"value\":1767225600123}", true },
    { "{\"field\":\"time\",\"operator\":\"eq\",\"value\":\"2026-01-01T00:00:00.123Z\"}", true },
    { "{\"field\":\"time\",\"operator\":\"gt\",\"value\":\"2025-12-31T23:00:00-02:00\"}", false },
    { "{\"field\":\"time\",\"operator\":\"gte\",\"value\":\"2026-01-01T00:00:00Z\"}", true },
    { "{\"field\":\"metadata.time\",\"operator\":\"in\",\"value\":[1,\"2026-01-01T00:00:00.123Z\"]}", true },
    { "{\"field\":\"sequence\",\"operator\":\"eq\",\"value\":42}", true },
    { "{\"field\":\"sequence\",\"operator\":\"gt\",\"value\":42.5}", false },
    //  Quantifiers: their fields are relative to the element
    { "{\"field\":\"data.items\",\"any\":{\"field\":\"price\",\"operator\":\"gt\",\"value\":10}}", true },
    { "{\"field\":\"data.items\",\"all\":{\"field\":\"price\",\"operator\":\"gt\",\"value\":10}}", false },
    { "{\"field\":\"data.items\",\"all\":{\"field\":\"price\",\"operator\":\"gt\",\"value\":1}}", true },
    { "{\"field\":\"data.items\",\"any\":[{\"field\":\"sku\",\"operator\":\"eq\",\"value\":\"A\"},"
      "{\"field\":\"price\",\"operator\":\"gt\",\"value\":10}]}", false },
    { "{\"field\":\"data.items\",\"any\":[{\"field\":\"sku\",\"operator\":\"eq\",\"value\":\"B\"},"
      "{\"field\":\"price\",\"operator\":\"gt\",\"value\":10}]}", true },
    { "{\"field\":\"data.items\",\"any\":{\"field\":\"tags[0]\",\"operator\":\"eq\",\"value\":\"x\"}}", true },
    { "{\"field\":\"data.items\",\"all\":{\"field\":\"tags\",\"operator\":\"exists\"}}", true },
    { "{\"field\":\"data.items\",\"any\":{\"field\":\"tags\",\"any\":{\"field\":\".\",\"operator\":\"eq\","
      "\"value\":\"x\"}}}", true },
    { "{\"field\":\"data.items\",\"all\":{\"field\":\"tags\",\"any\":{\"field\":\".\",\"operator\":\"eq\","
      "\"value\":\"x\"}}}", false },
    { "{\"field\":\"data.nums\",\"all\":{\"field\":\".\",\"operator\":\"gte\",\"value\":1}}", true },
    { "{\"field\":\"data.nums\",\"any\":{\"field\":\".\",\"operator\":\"eq\",\"value\":3.0}}", true },
    { "{\"field\":\"data.empty\",\"all\":{\"field\":\".\",\"operator\":\"exists\"}}", false },
    { "{\"field\":\"data.empty\",\"any\":{\"field\":\".\",\"operator\":\"exists\"}}", false },
    { "{\"field\":\"data.o\",\"any\":{\"field\":\".\",\"operator\":\"exists\"}}", false },
    { "{\"field\":\"data.missing\",\"all\":{\"field\":\".\",\"operator\":\"exists\"}}", false },
    { "{\"field\":\"data.arr\",\"any\":{\"field\":\"k\",\"operator\":\"eq\",\"value\":3}}", true },
};

//  Rules refused, and the start of the fault text (the path and what)
typedef struct {
    const char *rule;
    const char *fault;
} s_refusal_t;

#define S_OK_ACTIONS "\"actions\":[{\"type\":\"log\"}]"
#define S_COND(c) "{\"triggerEventType\":\"order.placed\",\"triggerConditions\":[" c "]," S_OK_ACTIONS "}"
#define S_ACTION(a) "{\"triggerEventType\":\"order.placed\",\"actions\":[" a "]}"

static const s_refusal_t s_refusals [] = {
    { "{\"triggerEventType\":\"order.placed\"," S_OK_ACTIONS ",\"bogus\":1}", "bogus: unknown field" },
    { "{" S_OK_ACTIONS "}", "triggerEventType: required" },
    { "{\"triggerEventType\":\"order\"," S_OK_ACTIONS "}", "triggerEventType: 'order' is not an event type" },
    { "{\"triggerEventType\":\"order*x*\"," S_OK_ACTIONS "}", "triggerEventType: 'order*x*': a prefix" },
    { "{\"triggerEventType\":5," S_OK_ACTIONS "}", "triggerEventType: must be a string" },
    { "{\"triggerEventType\":\"order.placed\"}", "actions: required" },
    { "{\"triggerEventType\":\"order.placed\",\"actions\":[]}", "actions: a rule has 1 to 64 actions" },
    { "{\"triggerEventType\":\"order.placed\",\"actions\":{}}", "actions: must be an array" },
    { S_ACTION ("{\"type\":\"\"}"), "actions[0].type: must be a non-empty string of at most 63 bytes" },
    { S_ACTION ("{\"config\":{}}"), "actions[0].type: required" },
    { S_ACTION ("{\"type\":\"log\"},{\"type\":\"log\",\"foo\":1}"), "actions[1].foo: unknown field" },
    { S_ACTION ("{\"type\":\"log\",\"config\":\"x\"}"), "actions[0].config: must be an object" },
    { S_ACTION ("{\"type\":\"log\",\"retryPolicy\":3}"), "actions[0].retryPolicy: must be an object" },
    { S_ACTION ("{\"type\":\"webhook\",\"config\":{\"url\":\"http://x/{{ data.x\"}}"),
      "actions[0].config.url: '{{' at offset 9 is not closed" },
    { S_ACTION ("{\"type\":\"webhook\",\"config\":{\"headers\":{\"X-A\":\"{{ data..x }}\"}}}"),
      "actions[0].config.headers.X-A: template at offset 0: an empty name" },
    { S_ACTION ("{\"type\":\"webhook\",\"config\":{\"list\":[1,\"a{{  }}\"]}}"),
      "actions[0].config.list[1]: an empty template at offset 1" },
    { S_ACTION ("{\"type\":\"webhook\",\"config\":{\"u\":\"{{ Nope }}\"}}"),
      "actions[0].config.u: template at offset 0: unknown field 'Nope'" },
    { S_COND ("{\"field\":\"data.a\",\"operator\":\"eq\",\"value\":1},{\"field\":\"data.b\",\"operator\":\"eq\","
              "\"value\":1},{\"field\":\"data.c\",\"operator\":\"eqq\",\"value\":1}"),
      "triggerConditions[2].operator: unknown operator 'eqq'" },
    { S_COND ("{\"field\":\"data.a\",\"operator\":\"gt\",\"value\":{}}"),
      "triggerConditions[0].value: 'gt' needs a number or a string" },
    { S_COND ("{\"field\":\"data.a\",\"operator\":\"matches\",\"value\":\"(a\"}"),
      "triggerConditions[0].value: not a valid regular expression: missing closing parenthesis at offset 2" },
    { S_COND ("{\"field\":\"data.a\",\"operator\":\"matches\",\"value\":1}"),
      "triggerConditions[0].value: 'matches' needs a string" },
    { S_COND ("{\"field\":\"data.a\",\"operator\":\"in\",\"value\":1}"),
      "triggerConditions[0].value: 'in' needs an array" },
    { S_COND ("{\"field\":\"data.a\",\"operator\":\"startsWith\",\"value\":5}"),
      "triggerConditions[0].value: 'startsWith' needs a string" },
    { S_COND ("{\"field\":\"data.a\",\"operator\":\"eq\"}"), "triggerConditions[0].value: 'eq' needs a value" },
    { S_COND ("{\"field\":\"data.a\",\"operator\":\"exists\",\"value\":\"yes\"}"),
      "triggerConditions[0].value: 'exists' takes true or false" },
    { S_COND ("{\"fieldd\":\"data.a\",\"operator\":\"eq\",\"value\":1}"), "triggerConditions[0].fieldd: unknown field" },
    { S_COND ("{\"operator\":\"eq\",\"value\":1}"), "triggerConditions[0].field: required" },
    { S_COND ("{\"field\":\"data..x\",\"operator\":\"eq\",\"value\":1}"), "triggerConditions[0].field: an empty name" },
    { S_COND ("{\"field\":\"Foo\",\"operator\":\"eq\",\"value\":1}"), "triggerConditions[0].field: unknown field 'Foo'" },
    { S_COND ("{\"field\":\"type.x\",\"operator\":\"eq\",\"value\":1}"),
      "triggerConditions[0].field: 'type' is not data" },
    { S_COND ("{\"field\":\"data.a[x]\",\"operator\":\"eq\",\"value\":1}"),
      "triggerConditions[0].field: expected an index or a quoted name" },
    { S_COND ("{\"field\":\"data.a\",\"operator\":\"eq\",\"value\":1,\"ignoreCase\":1}"),
      "triggerConditions[0].ignoreCase: must be true or false" },
    { S_COND ("{\"field\":\"time\",\"operator\":\"gt\",\"value\":\"yesterday\"}"),
      "triggerConditions[0].value: 'yesterday' is not an RFC 3339 time" },
    { S_COND ("{\"field\":\"data.a\",\"any\":{\"field\":\"b\",\"operator\":\"eq\",\"value\":1},\"operator\":\"eq\"}"),
      "triggerConditions[0].operator: a quantifier ('any') takes no operator" },
    { S_COND ("{\"field\":\"data.a\",\"any\":[],\"all\":[]}"), "triggerConditions[0]: a condition takes 'any' or 'all'" },
    { S_COND ("{\"field\":\"data.a\",\"all\":[]}"), "triggerConditions[0].all: must be a condition or a non-empty" },
    { S_COND ("{\"field\":\"data.a\",\"all\":{\"field\":\"b\",\"operatr\":\"eq\"}}"),
      "triggerConditions[0].all.operatr: unknown field" },
    { S_COND ("{\"field\":\"data.a\",\"any\":{\"field\":\"a\",\"any\":{\"field\":\"a\",\"any\":{\"field\":\"a\","
              "\"any\":{\"field\":\"a\",\"any\":{\"field\":\"a\",\"operator\":\"exists\"}}}}}}"),
      "triggerConditions[0].any.any.any.any.any: quantifiers nest at most 4 deep" },
    { S_COND ("{\"field\":\"data.a\",\"any\":[{\"field\":\"\",\"operator\":\"exists\"}]}"),
      "triggerConditions[0].any[0].field: a path cannot be empty" },
    { "{\"triggerEventType\":\"order.placed\",\"any\":[{\"field\":\"data.a\",\"operator\":\"exists\"},"
      "[{\"field\":\"data.a\",\"operator\":\"exists\"},{\"field\":\"data.a\",\"operator\":\"eqq\"}]]," S_OK_ACTIONS "}",
      "any[1][1].operator: unknown operator 'eqq'" },
    { "{\"triggerEventType\":\"order.placed\",\"any\":[[]]," S_OK_ACTIONS "}",
      "any[0]: must be a condition or a non-empty array" },
    { "{\"triggerEventType\":\"order.placed\",\"any\":{}," S_OK_ACTIONS "}", "any: must be an array of groups" },
    { "{\"triggerEventType\":\"order.placed\",\"triggerConditions\":{}," S_OK_ACTIONS "}",
      "triggerConditions: must be an array of conditions" },
    { "{\"triggerEventType\":\"order.placed\",\"priority\":1.5," S_OK_ACTIONS "}", "priority: must be an integer" },
    { "{\"triggerEventType\":\"order.placed\",\"enabled\":\"yes\"," S_OK_ACTIONS "}", "enabled: must be true or false" },
    { "{\"triggerEventType\":\"order.placed\",\"id\":\"\"," S_OK_ACTIONS "}", "id: must be 1 to 255 bytes" },
    { "{\"triggerEventType\":\"order.placed\",\"name\":7," S_OK_ACTIONS "}", "name: must be a string" },
    { "[1]", "a rule must be a JSON object" },
};

static void
s_test_table (bool verbose)
{
    zeb_event_t *event = s_event ("order.placed", s_data);
    zeb_event_view_t view = *zeb_event_view (event);
    view.sequence = 42;
    for (size_t index = 0; index < sizeof (s_table) / sizeof (s_table [0]); index++) {
        zeb_rule_t *rule = s_rule_of (s_table [index].condition, false);
        bool result = zeb_rule_match (rule, &view);
        if (verbose || result != s_table [index].expected)
            fprintf (stderr, "row %zu: %s -> %s\n", index, s_table [index].condition, result? "true": "false");
        assert (result == s_table [index].expected);
        zeb_rule_destroy (&rule);
    }
    //  The same rows through a ruleset, which indexes the data's keys and
    //  resolves each distinct path once per event: the same answers, also
    //  when the data has more keys than the index holds
    char *wide = (char *) zmalloc (strlen (s_data) + 512);
    strcpy (wide, "{");
    for (int key = 0; key < 40; key++)
        sprintf (wide + strlen (wide), "\"k%d\":%d,", key, key);
    strcat (wide, s_data + 1);
    zeb_event_t *events [2] = { event, s_event ("order.placed", wide) };
    free (wide);
    zeb_ruleset_t *ruleset = zeb_ruleset_new ();
    size_t rows = sizeof (s_table) / sizeof (s_table [0]);
    for (size_t index = 0; index < rows; index++) {
        zeb_rule_t *rule = s_rule_of (s_table [index].condition, false);
        char id [16];
        snprintf (id, sizeof (id), "row-%03zu", index);
        zeb_rule_set_id (rule, id);
        zeb_ruleset_put (ruleset, &rule);
    }
    zeb_rule_t **matched = (zeb_rule_t **) zmalloc (sizeof (zeb_rule_t *) * rows);
    for (int variant = 0; variant < 2; variant++)
        for (int round = 0; round < 2; round++) {
            zeb_event_view_t copy = *zeb_event_view (events [variant]);
            copy.sequence = 42;
            size_t count = zeb_ruleset_match (ruleset, &copy, matched, rows);
            size_t expected = 0;
            for (size_t index = 0; index < rows; index++)
                expected += s_table [index].expected;
            assert (count == expected);
            for (size_t index = 0; index < count; index++) {
                size_t row = (size_t) atoi (zeb_rule_id (matched [index]) + 4);
                assert (row < rows && s_table [row].expected);
            }
        }
    free (matched);
    zeb_ruleset_destroy (&ruleset);
    zeb_event_destroy (&events [1]);

    //  No data at all: every data path is missing
    zeb_event_t *bare = s_event ("order.placed", NULL);
    zeb_rule_t *rule = s_rule_of ("{\"field\":\"data.i\",\"operator\":\"exists\",\"value\":false}", false);
    assert (zeb_rule_match (rule, zeb_event_view (bare)));
    zeb_rule_destroy (&rule);
    rule = s_rule_of ("{\"field\":\"data\",\"operator\":\"neq\",\"value\":1}", false);
    assert (!zeb_rule_match (rule, zeb_event_view (bare)));
    zeb_rule_destroy (&rule);
    //  No sequence yet (0): missing
    rule = s_rule_of ("{\"field\":\"sequence\",\"operator\":\"exists\",\"value\":false}", false);
    assert (zeb_rule_match (rule, zeb_event_view (bare)));
    zeb_rule_destroy (&rule);
    zeb_event_destroy (&bare);

    //  A regular expression that backtracks catastrophically stops at the
    //  match limit: no match, at once; the rule still works afterwards
    char *data = (char *) zmalloc (20100);
    strcpy (data, "{\"s\":\"");
    memset (data + 6, 'a', 20000);
    strcpy (data + 20006, "!\",\"t\":\"aaa\"}");
    zeb_event_t *hostile = s_event ("order.placed", data);
    rule = s_rule_of ("{\"field\":\"data.s\",\"operator\":\"matches\",\"value\":\"^(a+)+$\"}", false);
    int64_t started = zeb_time_mono_us ();
    assert (!zeb_rule_match (rule, zeb_event_view (hostile)));
    int64_t elapsed = zeb_time_mono_us () - started;
    if (verbose)
        fprintf (stderr, "(a+)+$ on 20,000 bytes: %" PRId64 " us\n", elapsed);
    assert (elapsed < 2000000);
    zeb_rule_destroy (&rule);
    //  Exponential backtracking PCRE2 cannot optimise away: 2^40 paths
    //  without the limit
    rule = s_rule_of ("{\"field\":\"data.x\",\"operator\":\"matches\",\"value\":\"^(x+x+)+$\"}", false);
    zeb_event_t *xs = s_event ("order.placed", "{\"x\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx!\"}");
    started = zeb_time_mono_us ();
    assert (!zeb_rule_match (rule, zeb_event_view (xs)));
    elapsed = zeb_time_mono_us () - started;
    if (verbose)
        fprintf (stderr, "^(x+x+)+$ on 40 x: %" PRId64 " us\n", elapsed);
    assert (elapsed < 2000000);
    zeb_event_destroy (&xs);
    zeb_rule_destroy (&rule);
    rule = s_rule_of ("{\"field\":\"data.t\",\"operator\":\"matches\",\"value\":\"^(a+)+$\"}", false);
    assert (zeb_rule_match (rule, zeb_event_view (hostile)));
    zeb_rule_destroy (&rule);
    zeb_event_destroy (&hostile);
    free (data);
    zeb_event_destroy (&event);
}

static void
s_test_refusals (bool verbose)
{
    for (size_t index = 0; index < sizeof (s_refusals) / sizeof (s_refusals [0]); index++) {
        zeb_fault_t fault = { 0 };
        const char *text = s_refusals [index].rule;
        zeb_rule_t *rule = zeb_rule_new (text, strlen (text), &fault);
        bool ok = !rule && fault.code == ZEB_EINVALID
               && strncmp (fault.text, s_refusals [index].fault, strlen (s_refusals [index].fault)) == 0;
        if (verbose || !ok)
            fprintf (stderr, "refusal %zu: %s -> %s\n", index, text, rule? "(accepted)": fault.text);
        assert (ok);
    }
    //  More actions than allowed, more conditions than allowed
    char text [16384];
    size_t len = (size_t) snprintf (text, sizeof (text), "{\"triggerEventType\":\"order.placed\",\"actions\":[");
    for (int index = 0; index <= ZEB_RULE_MAX_ACTIONS; index++)
        len += (size_t) snprintf (text + len, sizeof (text) - len, "%s{\"type\":\"log\"}", index? ",": "");
    snprintf (text + len, sizeof (text) - len, "]}");
    zeb_fault_t fault;
    assert (!zeb_rule_new (text, strlen (text), &fault) && streq (fault.text, "actions: a rule has 1 to 64 actions"));
    len = (size_t) snprintf (text, sizeof (text), "{\"triggerEventType\":\"order.placed\",\"triggerConditions\":[");
    for (int index = 0; index <= ZEB_RULE_MAX_CONDITIONS; index++)
        len += (size_t) snprintf (text + len, sizeof (text) - len,
                                  "%s{\"field\":\"data.a\",\"operator\":\"exists\"}", index? ",": "");
    snprintf (text + len, sizeof (text) - len, "]," S_OK_ACTIONS "}");
    assert (!zeb_rule_new (text, strlen (text), &fault));
    assert (streq (fault.text, "triggerConditions[64]: a rule has at most 64 conditions, nested ones included"));
    //  Not JSON; too big
    assert (!zeb_rule_new ("{\"a\":", 5, &fault) && fault.code == ZEB_EMALFORMED);
    assert (!zeb_rule_new ("{}", ZEB_RULE_MAX_SIZE + 1, &fault) && fault.code == ZEB_EINVALID);
    assert (!zeb_rule_new ("{\"triggerEventType\":\"a.b\",\"actions\":[{\"type\":\"log\"}],\"id\":\"x\",\"id\":\"y\"}",
                           76, &fault) && fault.code == ZEB_EMALFORMED);
}

//  Match rules whose triggerConditions and groups are given
static bool
s_groups_hold (const char *groups, const char *data)
{
    char text [2048];
    snprintf (text, sizeof (text), "{\"id\":\"g\",\"triggerEventType\":\"order.placed\",\"triggerConditions\":"
              "[{\"field\":\"type\",\"operator\":\"eq\",\"value\":\"order.placed\"}],\"any\":%s,"
              S_OK_ACTIONS "}", groups);
    zeb_rule_t *rule = s_rule (text);
    zeb_event_t *event = s_event ("order.placed", data);
    bool result = zeb_rule_match (rule, zeb_event_view (event));
    zeb_event_destroy (&event);
    zeb_rule_destroy (&rule);
    return result;
}

static void
s_test_groups (bool verbose)
{
    const char *groups = "[{\"field\":\"data.a\",\"operator\":\"eq\",\"value\":1},"
                         "[{\"field\":\"data.b\",\"operator\":\"eq\",\"value\":2},"
                         "{\"field\":\"data.c\",\"operator\":\"eq\",\"value\":3}]]";
    assert (s_groups_hold (groups, "{\"a\":1}"));
    assert (s_groups_hold (groups, "{\"b\":2,\"c\":3}"));
    assert (!s_groups_hold (groups, "{\"b\":2}"));
    assert (!s_groups_hold (groups, "{}"));
    assert (s_groups_hold ("[]", "{}"));                //  no groups: nothing more to hold
    //  triggerConditions are ANDed with the groups
    zeb_rule_t *rule = s_rule ("{\"id\":\"g\",\"triggerEventType\":\"order.placed\",\"triggerConditions\":"
                               "[{\"field\":\"data.x\",\"operator\":\"eq\",\"value\":1}],"
                               "\"any\":[{\"field\":\"data.a\",\"operator\":\"eq\",\"value\":1}]," S_OK_ACTIONS "}");
    zeb_event_t *event = s_event ("order.placed", "{\"a\":1}");
    assert (!zeb_rule_match (rule, zeb_event_view (event)));
    zeb_event_destroy (&event);
    event = s_event ("order.placed", "{\"a\":1,\"x\":1}");
    assert (zeb_rule_match (rule, zeb_event_view (event)));
    zeb_event_destroy (&event);
    zeb_rule_destroy (&rule);
}

//  The JSON text of one msgpack value, for comparisons
static char *
s_json_of (const void *data, size_t size)
{
    json_t *json = zeb_json_from_msgpack (data, size, NULL);
    assert (json);
    char *text = zeb_json_dumps (json);
    json_decref (json);
    return text;
}

static void
s_test_templates (bool verbose)
{
    zeb_rule_t *rule = s_rule (
        "{\"id\":\"t\",\"triggerEventType\":\"order.*\",\"actions\":[{\"type\":\"webhook\",\"config\":{"
        "\"url\":\"https://x/{{data.id}}?n={{ data.n }}\",\"body\":{\"whole\":\"{{data.obj}}\","
        "\"num\":\"{{data.n}}\",\"missing\":\"{{data.nope}}\",\"text_missing\":\"a{{data.nope}}b\","
        "\"time\":\"{{event.time}}\",\"time_text\":\"at {{ event.time }}\",\"bare_time\":\"{{time}}\","
        "\"list\":[\"{{event.type}}\",1,\"lit\",{\"k\":\"{{data.obj.k}}\"},null,true,2.5],"
        "\"seq\":\"{{event.sequence}}\",\"seq_text\":\"#{{sequence}}\",\"f\":\"{{data.f}}\","
        "\"ftext\":\"{{data.f}}!\",\"itext\":\"{{data.n}}{{data.n}}\",\"objtext\":\"o={{data.obj}}\","
        "\"flag\":\"{{data.flag}} \",\"null\":\"[{{data.z}}]\",\"src\":\"{{ event.source }}\","
        "\"ext\":\"{{event.region}}\",\"attempt\":\"{{event.attempt}}\",\"tenant\":\"{{metadata.tenantid}}\","
        "\"odd\":\"{{data[\\\"odd.key\\\"]}}\",\"braces\":\"}} {\",\"item\":\"{{payload.obj.a[1]}}\"}},"
        "\"retryPolicy\":{\"maxAttempts\":3}},{\"type\":\"log\"}]}");
    zeb_event_t *event = s_event ("order.placed", "{\"id\":\"O-1\",\"n\":42,\"obj\":{\"k\":\"v\",\"a\":[1,2]},"
                                  "\"f\":1.5,\"flag\":true,\"z\":null,\"odd.key\":\"odd\"}");
    zeb_event_view_t view = *zeb_event_view (event);
    view.sequence = 7;
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    for (int round = 0; round < 3; round++) {       //  the rule's buffers are reused
        msgpack_sbuffer_clear (&buffer);
        zeb_pack_t pack;
        zeb_pack_init (&pack, &buffer);
        zeb_rule_render (rule, &view, &pack, NULL);
        char *text = s_json_of (buffer.data, buffer.size);
        const char *expected =
            "[{\"type\":\"webhook\",\"config\":{\"url\":\"https://x/O-1?n=42\",\"body\":{"
            "\"whole\":{\"k\":\"v\",\"a\":[1,2]},\"num\":42,\"missing\":null,\"text_missing\":\"ab\","
            "\"time\":1767225600123,\"time_text\":\"at 2026-01-01T00:00:00.123Z\",\"bare_time\":1767225600123,"
            "\"list\":[\"order.placed\",1,\"lit\",{\"k\":\"v\"},null,true,2.5],\"seq\":7,\"seq_text\":\"#7\","
            "\"f\":1.5,\"ftext\":\"1.5!\",\"itext\":\"4242\",\"objtext\":\"o={\\\"k\\\":\\\"v\\\",\\\"a\\\":[1,2]}\","
            "\"flag\":\"true \",\"null\":\"[null]\",\"src\":\"test\",\"ext\":\"eu\",\"attempt\":3,"
            "\"tenant\":\"acme\",\"odd\":\"odd\",\"braces\":\"}} {\",\"item\":2}},"
            "\"retryPolicy\":{\"maxAttempts\":3}},{\"type\":\"log\",\"config\":{}}]";
        if (verbose || !streq (text, expected))
            fprintf (stderr, "rendered: %s\n", text);
        assert (streq (text, expected));
        free (text);
    }
    //  Under a key, inside an open map
    msgpack_sbuffer_clear (&buffer);
    zeb_pack_t pack;
    zeb_pack_init (&pack, &buffer);
    zeb_pack_map (&pack, NULL);
    zeb_pack_str (&pack, "rule", zeb_rule_id (rule));
    zeb_rule_render (rule, &view, &pack, "actions");
    assert (zeb_pack_end (&pack) == 0);
    zeb_mpk_t value;
    assert (zeb_mpk_find (buffer.data, buffer.size, "actions", &value) == 0);
    uint32_t count;
    assert (zeb_mpk_read_array (&value, &count) == 0 && count == 2);
    assert (zeb_rule_action_count (rule) == 2);
    zeb_rule_destroy (&rule);
    zeb_event_destroy (&event);
    msgpack_sbuffer_destroy (&buffer);
}

static void
s_test_explain (bool verbose)
{
    zeb_rule_t *rule = s_rule (
        "{\"id\":\"x\",\"triggerEventType\":\"order.placed\",\"triggerConditions\":["
        "{\"field\":\"data.n\",\"operator\":\"gt\",\"value\":10},"
        "{\"field\":\"data.nope\",\"operator\":\"exists\",\"value\":false},"
        "{\"field\":\"time\",\"operator\":\"gte\",\"value\":\"2026-01-01T00:00:00Z\"}],"
        "\"any\":[{\"field\":\"data.s\",\"operator\":\"eq\",\"value\":\"b\"},"
        "[{\"field\":\"data.items\",\"any\":{\"field\":\".\",\"operator\":\"eq\",\"value\":2}}]],"
        S_OK_ACTIONS "}");
    zeb_event_t *event = s_event ("order.placed", "{\"n\":42,\"s\":\"a\",\"items\":[1,2]}");
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    zeb_pack_t pack;
    zeb_pack_init (&pack, &buffer);
    assert (zeb_rule_explain (rule, zeb_event_view (event), &pack, NULL));
    char *text = s_json_of (buffer.data, buffer.size);
    const char *expected =
        "{\"matched\":true,\"conditions\":["
        "{\"path\":\"triggerConditions[0]\",\"field\":\"data.n\",\"operator\":\"gt\",\"value\":10,\"seen\":42,\"result\":true},"
        "{\"path\":\"triggerConditions[1]\",\"field\":\"data.nope\",\"operator\":\"exists\",\"value\":false,\"seen\":null,"
        "\"result\":true},"
        "{\"path\":\"triggerConditions[2]\",\"field\":\"time\",\"operator\":\"gte\",\"value\":\"2026-01-01T00:00:00Z\","
        "\"seen\":1767225600123,\"result\":true}],"
        "\"any\":[{\"path\":\"any[0]\",\"conditions\":[{\"path\":\"any[0]\",\"field\":\"data.s\",\"operator\":\"eq\","
        "\"value\":\"b\",\"seen\":\"a\",\"result\":false}],\"result\":false},"
        "{\"path\":\"any[1]\",\"conditions\":[{\"path\":\"any[1][0]\",\"field\":\"data.items\",\"operator\":\"any\","
        "\"seen\":[1,2],\"result\":true}],\"result\":true}]}";
    if (verbose || !streq (text, expected))
        fprintf (stderr, "explained: %s\n", text);
    assert (streq (text, expected));
    free (text);
    zeb_event_destroy (&event);
    //  Not matched: the answer says so
    event = s_event ("order.placed", "{\"n\":1,\"s\":\"b\"}");
    msgpack_sbuffer_clear (&buffer);
    zeb_pack_init (&pack, &buffer);
    zeb_pack_map (&pack, NULL);
    assert (!zeb_rule_explain (rule, zeb_event_view (event), &pack, "explain"));
    assert (zeb_pack_end (&pack) == 0);
    zeb_mpk_t value;
    assert (zeb_mpk_find (buffer.data, buffer.size, "explain", &value) == 0);
    bool matched = true;
    zeb_mpk_t found;
    assert (zeb_mpk_find (value.ptr, (size_t) (value.end - value.ptr), "matched", &found) == 0);
    assert (zeb_mpk_read_bool (&found, &matched) == 0 && !matched);
    zeb_event_destroy (&event);
    zeb_rule_destroy (&rule);
    msgpack_sbuffer_destroy (&buffer);
}

static void
s_test_check (bool verbose)
{
    const char *schema_text =
        "{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{"
        "\"total\":{\"type\":\"number\"},\"name\":{\"type\":\"string\"},"
        "\"items\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"additionalProperties\":false,"
        "\"properties\":{\"sku\":{\"type\":\"string\"},\"qty\":{\"type\":\"integer\"}}}}}}";
    zeb_fault_t fault;
    zeb_schema_t *schema = zeb_schema_new (schema_text, strlen (schema_text), &fault);
    assert (schema);
    zeb_rule_t *rule = s_rule (
        "{\"id\":\"c\",\"triggerEventType\":\"order.placed\",\"triggerConditions\":["
        "{\"field\":\"data.total\",\"operator\":\"gt\",\"value\":5},"                   //  fine
        "{\"field\":\"data.nope\",\"operator\":\"exists\"},"                            //  no such property
        "{\"field\":\"data.total\",\"operator\":\"startsWith\",\"value\":\"x\"},"       //  a number
        "{\"field\":\"data.name\",\"operator\":\"contains\",\"value\":\"x\"},"          //  fine
        "{\"field\":\"data.items\",\"any\":[{\"field\":\"qty\",\"operator\":\"lt\",\"value\":2},"
        "{\"field\":\"price\",\"operator\":\"gt\",\"value\":1}]},"                      //  no price
        "{\"field\":\"payload.name\",\"all\":{\"field\":\".\",\"operator\":\"exists\"}},"  //  not an array
        "{\"field\":\"data.name.first\",\"operator\":\"exists\"},"                      //  a string has no fields
        "{\"field\":\"type\",\"operator\":\"eq\",\"value\":\"x\"},"                     //  not checked
        "{\"field\":\"data.items[0].sku\",\"operator\":\"matches\",\"value\":\"^S\"}],"  //  fine
        "\"any\":[{\"field\":\"data.total\",\"operator\":\"matches\",\"value\":\"1\"}],"  //  a number
        "\"actions\":[{\"type\":\"webhook\",\"config\":{\"url\":\"http://x/{{data.missing}}/{{data.name}}\","
        "\"id\":\"{{event.id}}\"}}]}");
    zeb_rule_warning_t warnings [16];
    size_t count = zeb_rule_check (rule, schema, warnings, 16);
    if (verbose || count != 7)
        for (size_t index = 0; index < count && index < 16; index++)
            fprintf (stderr, "warning %s (%s): %s\n", warnings [index].path, warnings [index].field,
                     warnings [index].reason);
    assert (count == 7);
    assert (streq (warnings [0].path, "triggerConditions[1].field") && streq (warnings [0].field, "data.nope"));
    assert (streq (warnings [0].reason, "the schema has no property 'nope' there"));
    assert (streq (warnings [1].path, "triggerConditions[2].field"));
    assert (streq (warnings [1].reason, "the schema allows only number there; 'startsWith' needs a string"));
    assert (streq (warnings [2].path, "triggerConditions[4].any[1].field") && streq (warnings [2].field, "price"));
    assert (streq (warnings [3].path, "triggerConditions[5].field"));
    assert (strstr (warnings [3].reason, "only string there; 'all' needs an array"));
    assert (streq (warnings [4].path, "triggerConditions[6].field"));
    assert (streq (warnings [4].reason, "the schema says what holds 'first' is not an object"));
    assert (streq (warnings [5].path, "any[0].field"));
    assert (streq (warnings [6].path, "actions[0].config.url") && streq (warnings [6].field, "data.missing"));
    //  Fewer slots than warnings: the count is of all of them
    assert (zeb_rule_check (rule, schema, warnings, 2) == 7);
    assert (zeb_rule_check (rule, schema, NULL, 0) == 7);
    zeb_rule_destroy (&rule);
    zeb_schema_destroy (&schema);
}

static void
s_test_fields (bool verbose)
{
    zeb_rule_t *rule = s_rule ("{\"triggerEventType\":\"order.*\",\"name\":\"n\",\"priority\":-3,"
                               "\"continueOnError\":false," S_OK_ACTIONS "}");
    assert (streq (zeb_rule_id (rule), "") && streq (zeb_rule_name (rule), "n"));
    assert (zeb_rule_priority (rule) == -3 && !zeb_rule_continue_on_error (rule) && zeb_rule_enabled (rule));
    assert (streq (zeb_rule_trigger (rule), "order.*"));
    assert (zeb_rule_triggered_by (rule, "order.placed", 12));
    assert (zeb_rule_triggered_by (rule, "order.", 6));
    assert (!zeb_rule_triggered_by (rule, "order", 5));
    assert (!zeb_rule_triggered_by (rule, "orders.placed", 13));
    zeb_rule_set_id (rule, "r-1");
    zeb_rule_set_enabled (rule, false);
    zeb_rule_set_field (rule, "createdBy", "ada");
    assert (streq (zeb_rule_id (rule), "r-1") && !zeb_rule_enabled (rule));
    const char *text = zeb_rule_text (rule);
    assert (streq (text, "{\"triggerEventType\":\"order.*\",\"name\":\"n\",\"priority\":-3,\"continueOnError\":false,"
                         "\"actions\":[{\"type\":\"log\"}],\"id\":\"r-1\",\"enabled\":false,\"createdBy\":\"ada\"}"));
    //  The text compiles into the same rule
    zeb_rule_t *again = s_rule (text);
    assert (streq (zeb_rule_id (again), "r-1") && !zeb_rule_enabled (again));
    assert (json_equal (zeb_rule_json (again), zeb_rule_json (rule)));
    zeb_rule_destroy (&again);
    zeb_rule_set_field (rule, "createdBy", NULL);
    assert (!json_object_get (zeb_rule_json (rule), "createdBy"));
    zeb_rule_destroy (&rule);
    zeb_rule_destroy (&rule);           //  safe twice
    rule = s_rule ("{\"triggerEventType\":\"*\"," S_OK_ACTIONS "}");
    assert (zeb_rule_triggered_by (rule, "anything.at.all", 15));
    zeb_rule_destroy (&rule);
    //  From parsed JSON, which stays the caller's
    json_t *json = json_pack ("{s:s, s:[{s:s}]}", "triggerEventType", "a.b", "actions", "type", "log");
    rule = zeb_rule_new_json (json, NULL);
    assert (rule);
    zeb_rule_set_id (rule, "j");
    assert (!json_object_get (json, "id"));
    json_decref (json);
    zeb_rule_destroy (&rule);
}

void
zeb_rule_test (bool verbose)
{
    printf (" * zeb_rule: ");
    s_test_table (verbose);
    s_test_refusals (verbose);
    s_test_groups (verbose);
    s_test_templates (verbose);
    s_test_explain (verbose);
    s_test_check (verbose);
    s_test_fields (verbose);
    printf ("OK\n");
}
