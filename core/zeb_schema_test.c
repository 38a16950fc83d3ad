/*  =========================================================================
    zeb_schema_test - zeb_schema's self test: keywords, probes of past
    wrong answers, bounds. The official suite is tests/schema_suite_test.c.
    =========================================================================
*/

#include "zeb_classes.h"
#include "zeb_schema_private.h"

//  ---------------------------------------------------------------------
//  Self test

typedef struct {
    const char *schema;
    const char *instance;
    const char *keyword;            //  NULL: valid
    const char *path;
} s_test_case_t;

static const s_test_case_t s_cases [] = {
    //  type, with integer distinct from number
    { "{\"type\":\"integer\"}", "3", NULL, NULL },
    { "{\"type\":\"integer\"}", "3.0", NULL, NULL },
    { "{\"type\":\"integer\"}", "3.5", "type", "" },
    { "{\"type\":\"number\"}", "3.5", NULL, NULL },
    { "{\"type\":\"number\"}", "\"3\"", "type", "" },
    { "{\"type\":[\"string\",\"null\"]}", "null", NULL, NULL },
    { "{\"type\":[\"string\",\"null\"]}", "1", "type", "" },
    { "{\"type\":\"boolean\"}", "false", NULL, NULL },
    { "{\"type\":\"array\"}", "{}", "type", "" },
    { "{\"type\":\"object\"}", "[]", "type", "" },
    //  properties, required, additionalProperties
    { "{\"type\":\"object\",\"properties\":{\"sku\":{\"type\":\"string\"}},\"required\":[\"sku\"]}",
      "{\"sku\":\"A-1\",\"other\":1}", NULL, NULL },
    { "{\"type\":\"object\",\"properties\":{\"sku\":{\"type\":\"string\"}},\"required\":[\"sku\"]}",
      "{\"other\":1}", "required", "" },
    { "{\"properties\":{\"sku\":{\"type\":\"string\"}}}", "{\"sku\":7}", "type", "/sku" },
    { "{\"properties\":{\"a\":true},\"additionalProperties\":false}", "{\"a\":1,\"b\":2}",
      "additionalProperties", "/b" },
    { "{\"properties\":{\"a\":true},\"additionalProperties\":{\"type\":\"integer\"}}",
      "{\"a\":\"x\",\"b\":2}", NULL, NULL },
    { "{\"additionalProperties\":{\"type\":\"integer\"}}", "{\"b\":\"two\"}", "type", "/b" },
    { "{\"minProperties\":2}", "{\"a\":1}", "minProperties", "" },
    { "{\"maxProperties\":1}", "{\"a\":1,\"b\":2}", "maxProperties", "" },
    { "{\"properties\":{\"a/b\":{\"properties\":{\"c~d\":{\"type\":\"string\"}}}}}",
      "{\"a/b\":{\"c~d\":1}}", "type", "/a~1b/c~0d" },
    //  items, prefixItems, counts, uniqueness
    { "{\"items\":{\"type\":\"integer\"}}", "[1,2,3]", NULL, NULL },
    { "{\"items\":{\"type\":\"integer\"}}", "[1,\"2\",3]", "type", "/1" },
    { "{\"prefixItems\":[{\"type\":\"string\"},{\"type\":\"integer\"}],\"items\":false}",
      "[\"a\",1]", NULL, NULL },
    { "{\"prefixItems\":[{\"type\":\"string\"},{\"type\":\"integer\"}],\"items\":false}",
      "[\"a\",1,true]", "false", "/2" },
    { "{\"prefixItems\":[{\"type\":\"string\"}]}", "[1]", "type", "/0" },
    { "{\"minItems\":2}", "[1]", "minItems", "" },
    { "{\"maxItems\":1}", "[1,2]", "maxItems", "" },
    { "{\"uniqueItems\":true}", "[1,2,3]", NULL, NULL },
    { "{\"uniqueItems\":true}", "[1,2,1.0]", "uniqueItems", "" },
    { "{\"uniqueItems\":true}", "[{\"a\":1,\"b\":2},{\"b\":2,\"a\":1}]", "uniqueItems", "" },
    { "{\"uniqueItems\":true}", "[{\"a\":1},{\"a\":2}]", NULL, NULL },
    //  enum and const, compared as JSON values
    { "{\"enum\":[\"red\",\"green\",3]}", "\"green\"", NULL, NULL },
    { "{\"enum\":[\"red\",\"green\",3]}", "3.0", NULL, NULL },
    { "{\"enum\":[\"red\",\"green\",3]}", "\"blue\"", "enum", "" },
    { "{\"const\":{\"a\":[1,2]}}", "{\"a\":[1,2]}", NULL, NULL },
    { "{\"const\":{\"a\":[1,2]}}", "{\"a\":[2,1]}", "const", "" },
    //  numbers
    { "{\"minimum\":1,\"maximum\":10}", "10", NULL, NULL },
    { "{\"minimum\":1}", "0.5", "minimum", "" },
    { "{\"maximum\":10}", "10.5", "maximum", "" },
    { "{\"exclusiveMinimum\":0}", "0", "exclusiveMinimum", "" },
    { "{\"exclusiveMaximum\":100}", "100", "exclusiveMaximum", "" },
    { "{\"exclusiveMaximum\":100}", "99.99", NULL, NULL },
    { "{\"multipleOf\":0.01}", "19.99", NULL, NULL },
    { "{\"multipleOf\":0.01}", "19.995", "multipleOf", "" },
    { "{\"multipleOf\":3}", "9", NULL, NULL },
    { "{\"multipleOf\":3}", "10", "multipleOf", "" },
    { "{\"minimum\":0}", "\"not a number\"", NULL, NULL },      //  applies to numbers only
    { "{\"maximum\":9007199254740993}", "9007199254740993", NULL, NULL },
    { "{\"maximum\":9007199254740992}", "9007199254740993", "maximum", "" },
    //  strings: lengths in code points, patterns, formats
    { "{\"minLength\":2,\"maxLength\":3}", "\"\\u00e9\\u00e9\\u00e9\"", NULL, NULL },
    { "{\"maxLength\":2}", "\"\\u00e9\\u00e9\\u00e9\"", "maxLength", "" },
    { "{\"minLength\":2}", "\"a\"", "minLength", "" },
    { "{\"pattern\":\"^[A-Z]{3}-[0-9]+$\"}", "\"ABC-42\"", NULL, NULL },
    { "{\"pattern\":\"^[A-Z]{3}-[0-9]+$\"}", "\"abc-42\"", "pattern", "" },
    { "{\"pattern\":\"\\\\d\"}", "\"order 7\"", NULL, NULL },             //  unanchored
    { "{\"format\":\"date-time\"}", "\"2026-11-22T10:00:00Z\"", NULL, NULL },
    { "{\"format\":\"date-time\"}", "\"2026-11-22T10:00:00+02:00\"", NULL, NULL },
    { "{\"format\":\"date-time\"}", "\"yesterday\"", "format", "" },
    { "{\"format\":\"email\"}", "\"ada@example.com\"", NULL, NULL },
    { "{\"format\":\"email\"}", "\"ada.lovelace+zeb@mail.example.org\"", NULL, NULL },
    { "{\"format\":\"email\"}", "\"ada@\"", "format", "" },
    { "{\"format\":\"email\"}", "\"ada..x@example.com\"", "format", "" },
    { "{\"format\":\"email\"}", "\"ada@-example.com\"", "format", "" },
    { "{\"format\":\"uri\"}", "\"https://example.com/hooks?id=1#x\"", NULL, NULL },
    { "{\"format\":\"uri\"}", "\"urn:isbn:0451450523\"", NULL, NULL },
    { "{\"format\":\"uri\"}", "\"/relative/path\"", "format", "" },
    { "{\"format\":\"uri\"}", "\"https://exa mple.com\"", "format", "" },
    { "{\"format\":\"uuid\"}", "\"0190f7a2-5b1c-7def-8a12-3456789abcde\"", NULL, NULL },
    { "{\"format\":\"uuid\"}", "\"0190f7a2-5b1c-7def-8a12-3456789abcd\"", "format", "" },
    { "{\"format\":\"uuid\"}", "42", NULL, NULL },                      //  strings only
    //  combinators
    { "{\"allOf\":[{\"type\":\"integer\"},{\"minimum\":3}]}", "4", NULL, NULL },
    { "{\"allOf\":[{\"type\":\"integer\"},{\"minimum\":3}]}", "2", "minimum", "" },
    { "{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"integer\"}]}", "2", NULL, NULL },
    { "{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"integer\"}]}", "2.5", "anyOf", "" },
    { "{\"oneOf\":[{\"type\":\"integer\"},{\"minimum\":2}]}", "1", NULL, NULL },
    { "{\"oneOf\":[{\"type\":\"integer\"},{\"minimum\":2}]}", "3", "oneOf", "" },
    { "{\"oneOf\":[{\"type\":\"integer\"},{\"minimum\":2}]}", "1.5", "oneOf", "" },
    { "{\"not\":{\"type\":\"null\"}}", "1", NULL, NULL },
    { "{\"not\":{\"type\":\"null\"}}", "null", "not", "" },
    { "{\"properties\":{\"a\":{\"anyOf\":[{\"type\":\"string\"}]}}}", "{\"a\":1}", "anyOf", "/a" },
    //  $ref and $defs, recursion
    { "{\"$defs\":{\"sku\":{\"type\":\"string\",\"pattern\":\"^S\"}},"
      "\"properties\":{\"items\":{\"items\":{\"$ref\":\"#/$defs/sku\"}}}}",
      "{\"items\":[\"S1\",\"X2\"]}", "pattern", "/items/1" },
    { "{\"type\":\"object\",\"properties\":{\"child\":{\"$ref\":\"#\"},\"n\":{\"type\":\"integer\"}}}",
      "{\"n\":1,\"child\":{\"n\":2,\"child\":{\"n\":\"three\"}}}", "type", "/child/child/n" },
    { "{\"$ref\":\"#/$defs/a\",\"minimum\":5,\"$defs\":{\"a\":{\"type\":\"integer\"}}}",
      "4", "minimum", "" },
    { "{\"$ref\":\"#/$defs/a\",\"minimum\":5,\"$defs\":{\"a\":{\"type\":\"integer\"}}}",
      "5.5", "type", "" },
    //  boolean schemas and annotations
    { "true", "{\"anything\":[1]}", NULL, NULL },
    { "false", "1", "false", "" },
    { "{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\",\"$id\":\"urn:zeb:order\","
      "\"title\":\"Order\",\"description\":\"d\",\"default\":{},\"examples\":[{}],\"$comment\":\"c\","
      "\"deprecated\":false,\"readOnly\":false,\"writeOnly\":false}", "{}", NULL, NULL },
};

//  Schemas refused, and a word the error must contain
//  Wrong answers of earlier versions, run with the default options
static const s_test_case_t s_probes [] = {
    //  format is an annotation unless asserted; unknown formats too
    { "{\"format\":\"email\"}", "\"2962\"", NULL, NULL },
    { "{\"format\":\"no-such-format\"}", "\"anything\"", NULL, NULL },
    //  JSON Pointers anywhere in the document, with escapes
    { "{\"properties\":{\"foo\":{\"type\":\"integer\"},\"bar\":{\"$ref\":\"#/properties/foo\"}}}",
      "{\"bar\":\"x\"}", "type", "/bar" },
    { "{\"prefixItems\":[{\"type\":\"string\"}],\"items\":{\"$ref\":\"#/prefixItems/0\"}}",
      "[\"a\",1]", "type", "/1" },
    { "{\"$defs\":{\"a/b\":{\"type\":\"string\"},\"c~d\":{\"type\":\"integer\"},\"e%f\":{\"type\":\"null\"}},"
      "\"properties\":{\"x\":{\"$ref\":\"#/$defs/a~1b\"},\"y\":{\"$ref\":\"#/$defs/c~0d\"},"
      "\"z\":{\"$ref\":\"#/$defs/e%25f\"}}}", "{\"x\":\"s\",\"y\":1,\"z\":null}", NULL, NULL },
    { "{\"$defs\":{\"a/b\":{\"type\":\"string\"},\"c~d\":{\"type\":\"integer\"},\"e%f\":{\"type\":\"null\"}},"
      "\"properties\":{\"x\":{\"$ref\":\"#/$defs/a~1b\"},\"y\":{\"$ref\":\"#/$defs/c~0d\"},"
      "\"z\":{\"$ref\":\"#/$defs/e%25f\"}}}", "{\"z\":1}", "type", "/z" },
    //  $id and relative references, $anchor
    { "{\"$id\":\"http://example.com/root.json\",\"$defs\":{\"b\":{\"$id\":\"b.json\",\"type\":\"integer\"}},"
      "\"properties\":{\"x\":{\"$ref\":\"b.json\"}}}", "{\"x\":\"one\"}", "type", "/x" },
    { "{\"$id\":\"http://example.com/root.json\",\"$defs\":{\"b\":{\"$id\":\"dir/b.json\","
      "\"$defs\":{\"c\":{\"$id\":\"../c.json\",\"type\":\"null\"}}}},\"$ref\":\"http://example.com/c.json\"}",
      "1", "type", "" },
    { "{\"$defs\":{\"a\":{\"$anchor\":\"num\",\"type\":\"number\"}},\"$ref\":\"#num\"}", "\"1\"", "type", "" },
    //  $dynamicRef: the outermost $dynamicAnchor of the dynamic scope
    { "{\"$id\":\"https://example.com/root\",\"$ref\":\"list\",\"$defs\":{"
      "\"override\":{\"$dynamicAnchor\":\"items\",\"type\":\"string\"},"
      "\"list\":{\"$id\":\"list\",\"type\":\"array\",\"items\":{\"$dynamicRef\":\"#items\"},"
      "\"$defs\":{\"items\":{\"$dynamicAnchor\":\"items\"}}}}}", "[\"a\",1]", "type", "/1" },
    { "{\"$id\":\"https://example.com/list\",\"type\":\"array\",\"items\":{\"$dynamicRef\":\"#items\"},"
      "\"$defs\":{\"items\":{\"$dynamicAnchor\":\"items\"}}}", "[\"a\",1]", NULL, NULL },
    //  Nested $defs of the same name are different schemas
    { "{\"$defs\":{\"a\":{\"type\":\"integer\"}},"
      "\"properties\":{\"x\":{\"$defs\":{\"a\":{\"type\":\"string\"}},\"$ref\":\"#/$defs/a\"}}}",
      "{\"x\":1}", NULL, NULL },
    { "{\"$defs\":{\"a\":{\"type\":\"integer\"}},"
      "\"properties\":{\"x\":{\"$defs\":{\"a\":{\"type\":\"string\"}},\"$ref\":\"#/$defs/a\"}}}",
      "{\"x\":\"s\"}", "type", "/x" },
    { "{\"$defs\":{\"a\":{\"type\":\"integer\"}},\"properties\":{\"x\":{\"$defs\":{\"a\":{\"type\":\"string\"}},"
      "\"$ref\":\"#/properties/x/$defs/a\"}}}", "{\"x\":1}", "type", "/x" },
    //  multipleOf: exact for integers, decimal otherwise
    { "{\"multipleOf\":1}", "1.0000000001", "multipleOf", "" },
    { "{\"multipleOf\":0.5}", "4.0000000001", "multipleOf", "" },
    { "{\"multipleOf\":0.5}", "4.5", NULL, NULL },
    { "{\"multipleOf\":0.0001}", "0.0075", NULL, NULL },
    { "{\"multipleOf\":0.1}", "0.3", NULL, NULL },
    { "{\"multipleOf\":0.01}", "1e17", NULL, NULL },
    { "{\"multipleOf\":0.01}", "-19.99", NULL, NULL },
    { "{\"multipleOf\":0.0001}", "0.00751", "multipleOf", "" },
    { "{\"multipleOf\":3}", "9007199254740993", NULL, NULL },
    { "{\"multipleOf\":3}", "9007199254740994", "multipleOf", "" },
    { "{\"type\":\"integer\",\"multipleOf\":0.123456789}", "1e308", "multipleOf", "" },
    { "{\"type\":\"integer\",\"multipleOf\":1e-8}", "12391239123", NULL, NULL },
    //  NUL in schema strings, an empty enum, long Unicode property names
    { "{\"const\":\"hello\\u0000there\"}", "\"hello\\u0000there\"", NULL, NULL },
    { "{\"const\":\"hello\\u0000there\"}", "\"hello\"", "const", "" },
    { "{\"enum\":[\"a\\u0000b\",1]}", "\"a\\u0000b\"", NULL, NULL },
    { "{\"enum\":[]}", "null", "enum", "" },
    { "{\"pattern\":\"^\\\\p{Letter}+$\"}", "\"h\\u00e9llo\"", NULL, NULL },
    { "{\"pattern\":\"^\\\\p{Letter}+$\"}", "\"abc1\"", "pattern", "" },
    { "{\"pattern\":\"^\\\\P{Decimal_Number}+$\"}", "\"abc1\"", "pattern", "" },
    //  The keywords that were refused
    { "{\"patternProperties\":{\"^x-\":{\"type\":\"string\"}},\"additionalProperties\":false}",
      "{\"x-a\":\"1\",\"b\":1}", "additionalProperties", "/b" },
    { "{\"propertyNames\":{\"maxLength\":2}}", "{\"abc\":1}", "propertyNames", "" },
    { "{\"dependentRequired\":{\"card\":[\"cvv\"]}}", "{\"card\":1}", "dependentRequired", "" },
    { "{\"dependentSchemas\":{\"card\":{\"required\":[\"cvv\"]}}}", "{\"card\":1}", "required", "" },
    { "{\"if\":{\"minimum\":10},\"then\":{\"multipleOf\":5},\"else\":{\"multipleOf\":2}}", "12", "multipleOf", "" },
    { "{\"if\":{\"minimum\":10},\"then\":{\"multipleOf\":5},\"else\":{\"multipleOf\":2}}", "3", "multipleOf", "" },
    { "{\"contains\":{\"type\":\"string\"},\"minContains\":2,\"maxContains\":3}", "[\"a\",1]", "minContains", "" },
    { "{\"contains\":{\"type\":\"string\"}}", "[1]", "contains", "" },
    { "{\"properties\":{\"a\":true},\"allOf\":[{\"properties\":{\"b\":true}}],\"unevaluatedProperties\":false}",
      "{\"a\":1,\"b\":2}", NULL, NULL },
    { "{\"properties\":{\"a\":true},\"allOf\":[{\"properties\":{\"b\":true}}],\"unevaluatedProperties\":false}",
      "{\"a\":1,\"c\":2}", "unevaluatedProperties", "/c" },
    { "{\"prefixItems\":[true],\"anyOf\":[{\"prefixItems\":[true,true]},true],\"unevaluatedItems\":false}",
      "[1,2,3]", "unevaluatedItems", "/2" },
    { "{\"contentMediaType\":\"application/json\",\"contentEncoding\":\"base64\"}", "\"!!\"", NULL, NULL }
};

static const char *s_bad_schemas [][2] = {
    { "{\"properties\":{\"a\":{\"unknownKeyword\":{}}}}", "/properties/a" },
    { "{\"enum\":{}}", "enum" },
    { "{\"patternProperties\":{\"([\":true}}", "regular expression" },
    { "{\"pattern\":\"\\\\p{Bogus}\"}", "long names as" },
    //  A root pointer to a name only a nested $defs has
    { "{\"properties\":{\"x\":{\"$defs\":{\"b\":true}}},\"$ref\":\"#/$defs/b\"}",
      "no such location" },
    { "{\"$ref\":\"#nowhere\"}", "no '$anchor'" },
    { "{\"$id\":\"http://example.com/a.json\",\"$ref\":\"b.json\"}", "http://example.com/b.json" },
    { "{\"if\":{\"$ref\":\"#\"}}", "# -> #/if -> #" },
    { "{\"$dynamicAnchor\":\"x\",\"allOf\":[{\"$dynamicRef\":\"#x\"}]}", "#/allOf/0 -> #" },
    { "{\"type\":\"strnig\"}", "strnig" },
    { "{\"items\":[{\"type\":\"string\"}]}", "prefixItems" },
    { "{\"pattern\":\"([a-z\"}", "regular expression" },
    { "{\"minLength\":-1}", "minLength" },
    { "{\"minLength\":1.5}", "minLength" },
    { "{\"multipleOf\":0}", "multipleOf" },
    { "{\"required\":[\"a\",\"a\"]}", "twice" },
    { "{\"required\":\"a\"}", "required" },
    { "{\"anyOf\":[]}", "anyOf" },
    { "{\"$ref\":\"#/$defs/missing\"}", "missing" },
    { "{\"$ref\":\"https://example.com/schema\"}", "$ref" },
    { "{\"$schema\":\"http://json-schema.org/draft-07/schema#\"}", "2020-12" },
    { "[1,2]", "object or a boolean" },
    { "{\"type\":", "not JSON" },
    { "{\"a\":1,\"a\":2}", "not JSON" },
    //  Recursion that consumes no data, named by its path
    { "{\"$ref\":\"#\"}", ": # -> #" },
    { "{\"allOf\":[{\"$ref\":\"#\"}]}", ": # -> #/allOf/0 -> #" },
    { "{\"anyOf\":[{\"$ref\":\"#/$defs/a\"}],\"$defs\":{\"a\":{\"not\":{\"$ref\":\"#\"}}}}",
      "# -> #/anyOf/0 -> #/$defs/a -> #/$defs/a/not -> #" },
    { "{\"properties\":{\"x\":{\"$ref\":\"#/$defs/a\"}},\"$defs\":{\"a\":{\"$ref\":\"#/$defs/b\"},"
      "\"b\":{\"oneOf\":[true,{\"$ref\":\"#/$defs/a\"}]}}}", "#/$defs/a -> #/$defs/b -> #/$defs/b/oneOf/1" },
    { "{\"$defs\":{\"a\":{\"items\":true,\"allOf\":[{\"$ref\":\"#/$defs/a\"}]}}}", "#/$defs/a ->" }
};

static int
s_test_pack (const char *json_text, msgpack_sbuffer *buffer)
{
    msgpack_sbuffer_clear (buffer);
    return zeb_json_pack_text (json_text, strlen (json_text), buffer, NULL);
}

//  Data nested depth levels: "{"n":1,"child":{...{"n":LEAF}}}" or
//  "[[...[LEAF]...]]"; caller frees
static char *
s_test_tree (bool objects, int depth, const char *leaf)
{
    size_t size = (size_t) depth * 24 + strlen (leaf) + 32;
    char *text = (char *) zmalloc (size);
    size_t len = 0;
    for (int level = 1; level < depth; level++)
        len += (size_t) snprintf (text + len, size - len, objects? "{\"n\":%d,\"child\":": "[", level);
    len += (size_t) snprintf (text + len, size - len, objects? "{\"n\":%s}": "[%s]", leaf);
    for (int level = 1; level < depth; level++)
        text [len++] = objects? '}': ']';
    return text;
}

//  Validate text against schema: the code, the error in *error
static int
s_test_check (const char *schema_text, const char *data_text, zeb_schema_error_t *error,
              size_t *steps, bool verbose)
{
    zeb_fault_t fault;
    zeb_schema_t *schema = zeb_schema_new (schema_text, strlen (schema_text), &fault);
    if (!schema)
        fprintf (stderr, "schema refused: %s\n", fault.text);
    assert (schema);
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    assert (s_test_pack (data_text, &buffer) == 0);
    memset (error, 0, sizeof (*error));
    int rc = zeb_schema_validate (schema, buffer.data, buffer.size, error);
    *steps = zeb_schema_steps (schema);
    assert (*steps <= zeb_schema_budget (schema, buffer.size));
    //  The full walk alone gives the same answer, in as many steps
    zeb_schema_error_t full;
    assert (zeb_schema_walk (schema, buffer.data, buffer.size, &full) == rc);
    assert (rc || zeb_schema_steps (schema) == *steps);
    if (verbose)
        fprintf (stderr, "%.60s: rc %d, %zu steps of %zu, '%s' at '%s': %s\n", schema_text, rc, *steps,
                 zeb_schema_budget (schema, buffer.size), error->keyword, error->path, error->message);
    msgpack_sbuffer_destroy (&buffer);
    zeb_schema_destroy (&schema);
    return rc;
}

//  Recursion and work: trees validate, expensive schemas end
static void
s_test_bounds (bool verbose)
{
    zeb_schema_error_t error;
    size_t steps;
    //  Recursive trees, through properties and through items, 40 levels
    const char *tree = "{\"type\":\"object\",\"required\":[\"n\"],"
                       "\"properties\":{\"n\":{\"type\":\"integer\"},\"child\":{\"$ref\":\"#\"}}}";
    char *data = s_test_tree (true, 40, "40");
    assert (s_test_check (tree, data, &error, &steps, verbose) == 0);
    assert (steps < 40 * 8);
    free (data);
    data = s_test_tree (true, 40, "\"forty\"");
    assert (s_test_check (tree, data, &error, &steps, verbose) == ZEB_ESCHEMA);
    char path [256] = "";
    for (int level = 1; level < 40; level++)
        strcat (path, "/child");
    strcat (path, "/n");
    assert (streq (error.keyword, "type") && streq (error.path, path));
    free (data);
    const char *nested = "{\"type\":\"array\",\"maxItems\":1,\"items\":{\"$ref\":\"#\"}}";
    data = s_test_tree (false, 40, "");
    assert (s_test_check (nested, data, &error, &steps, verbose) == 0);
    free (data);
    data = s_test_tree (false, 40, "7");
    assert (s_test_check (nested, data, &error, &steps, verbose) == ZEB_ESCHEMA);
    assert (streq (error.keyword, "type") && strlen (error.path) == 40 * 2);
    free (data);
    data = s_test_tree (false, 40, "[],[]");
    assert (s_test_check (nested, data, &error, &steps, verbose) == ZEB_ESCHEMA);
    assert (streq (error.keyword, "maxItems") && strlen (error.path) == 39 * 2);
    free (data);

    //  A failing allOf at every level of the data is one pass, not a
    //  doubling per level to name the branch that failed
    const char *all = "{\"allOf\":[{\"type\":\"array\",\"items\":{\"$ref\":\"#\"}},{\"maxItems\":1}]}";
    data = s_test_tree (false, 40, "\"leaf\"");
    assert (s_test_check (all, data, &error, &steps, verbose) == ZEB_ESCHEMA);
    assert (streq (error.keyword, "type") && strlen (error.path) == 40 * 2);
    assert (steps < 40 * 8);
    free (data);

    //  anyOf with two branches at each of 20 levels of data, both failing
    //  at the bottom: 2^20 tries; the budget stops it, and says so
    const char *any = "{\"anyOf\":[{\"type\":\"array\",\"items\":{\"$ref\":\"#\"}},"
                      "{\"type\":\"array\",\"minItems\":1,\"items\":{\"$ref\":\"#\"}}]}";
    data = s_test_tree (false, 20, "\"leaf\"");
    assert (s_test_check (any, data, &error, &steps, verbose) == ZEB_ESCHEMACOMPLEX);
    assert (streq (error.keyword, "budget") && steps == ZEB_SCHEMA_STEPS_MIN);
    free (data);
    //  The same over 6 levels is within the budget: a real answer
    data = s_test_tree (false, 6, "\"leaf\"");
    assert (s_test_check (any, data, &error, &steps, verbose) == ZEB_ESCHEMA);
    assert (streq (error.keyword, "anyOf") && streq (error.path, ""));
    free (data);
    //  And where the first branch matches, 20 levels are cheap
    data = s_test_tree (false, 20, "");
    assert (s_test_check (any, data, &error, &steps, verbose) == 0);
    assert (steps < 20 * 8);
    free (data);

    //  No recursion, but a chain of 20 definitions each applying the next
    //  twice to the same value: 2^20 applications of the last one
    char chain [4096];
    for (const char **keyword = (const char *[]) { "allOf", "anyOf", "oneOf", NULL }; *keyword; keyword++) {
        size_t len = (size_t) snprintf (chain, sizeof (chain), "{\"$ref\":\"#/$defs/d0\",\"$defs\":{");
        for (int level = 0; level < 20; level++)
            len += (size_t) snprintf (chain + len, sizeof (chain) - len,
                                      "\"d%d\":{\"%s\":[{\"$ref\":\"#/$defs/d%d\"},{\"$ref\":\"#/$defs/d%d\"}]},",
                                      level, *keyword, level + 1, level + 1);
        snprintf (chain + len, sizeof (chain) - len, "\"d20\":{\"type\":\"string\"}}}");
        assert (s_test_check (chain, "\"text\"", &error, &steps, verbose) == (streq (*keyword, "anyOf")? 0: ZEB_ESCHEMACOMPLEX));
        assert (s_test_check (chain, "1", &error, &steps, verbose) == (streq (*keyword, "allOf")? ZEB_ESCHEMA: ZEB_ESCHEMACOMPLEX));
        assert (steps <= ZEB_SCHEMA_STEPS_MIN);
    }

    //  uniqueItems compares pairs: each comparison is a step
    char *items = (char *) zmalloc (64 * 1024);
    size_t len = 0;
    items [len++] = '[';
    for (int index = 0; index < 5000; index++)
        len += (size_t) snprintf (items + len, 64 * 1024 - len, "%s%d", index? ",": "", index);
    items [len++] = ']';
    assert (s_test_check ("{\"uniqueItems\":true}", items, &error, &steps, verbose) == ZEB_ESCHEMACOMPLEX);
    free (items);
}

static void
s_test_cases (const s_test_case_t *cases, size_t count, const zeb_schema_options_t *options,
              bool verbose)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    for (size_t index = 0; index < count; index++) {
        const s_test_case_t *test = &cases [index];
        zeb_fault_t fault;
        zeb_schema_t *schema = zeb_schema_new_with (test->schema, strlen (test->schema), options, &fault);
        if (!schema)
            fprintf (stderr, "case %zu: %s\n", index, fault.text);
        assert (schema);
        assert (s_test_pack (test->instance, &buffer) == 0);
        zeb_schema_error_t error;
        memset (&error, 0, sizeof (error));
        int rc = zeb_schema_validate (schema, buffer.data, buffer.size, &error);
        bool ok = test->keyword
                ? rc == ZEB_ESCHEMA && streq (error.keyword, test->keyword) && streq (error.path, test->path)
                : rc == 0;
        if (!ok || verbose)
            fprintf (stderr, "case %zu: %s on %s: rc %d, '%s' at '%s': %s\n", index, test->schema,
                     test->instance, rc, error.keyword, error.path, error.message);
        assert (ok);
        //  The fast walk says "valid" only where the full one does
        zeb_schema_error_t full;
        assert (!zeb_schema_fast_valid (schema, buffer.data, buffer.size) || rc == 0);
        assert (zeb_schema_walk (schema, buffer.data, buffer.size, &full) == rc);
        zeb_schema_destroy (&schema);
    }
    msgpack_sbuffer_destroy (&buffer);
}

//  The depth limit is on the data, not on the schemas applied: a
//  recursive schema takes any tree up to it, and the limit can be raised
static void
s_test_depth (bool verbose)
{
    zeb_schema_error_t error;
    size_t steps;
    const char *child = "{\"properties\":{\"child\":{\"$ref\":\"#\"}}}";
    char *data = s_test_tree (true, 100, "1");
    assert (s_test_check (child, data, &error, &steps, verbose) == 0);
    free (data);
    //  Deeper than JSON text may nest here: msgpack written directly
    uint8_t deep [1001];
    memset (deep, 0x91, 1000);              //  1000 arrays of one item
    deep [1000] = 0xc0;                     //  then null
    const char *items = "{\"items\":{\"$ref\":\"#\"}}";
    zeb_fault_t fault;
    zeb_schema_t *schema = zeb_schema_new (items, strlen (items), &fault);
    assert (schema);
    assert (zeb_schema_validate (schema, deep + 1000 - ZEB_SCHEMA_DEPTH_DEFAULT,
                                 ZEB_SCHEMA_DEPTH_DEFAULT + 1, &error) == 0);
    assert (zeb_schema_validate (schema, deep + 1000 - ZEB_SCHEMA_DEPTH_DEFAULT - 1,
                                 ZEB_SCHEMA_DEPTH_DEFAULT + 2, &error) == ZEB_ESCHEMA);
    assert (streq (error.keyword, "depth"));
    zeb_schema_destroy (&schema);
    zeb_schema_options_t options = { .max_depth = 1000 };
    schema = zeb_schema_new_with (items, strlen (items), &options, &fault);
    assert (schema);
    assert (zeb_schema_validate (schema, deep, sizeof (deep), &error) == 0);
    zeb_schema_destroy (&schema);
    options.max_depth = ZEB_SCHEMA_DEPTH_MAX + 1;
    assert (!zeb_schema_new_with (items, strlen (items), &options, &fault));
    assert (fault.code == ZEB_EBADSCHEMA);
    if (verbose)
        printf ("depth: %s\n", fault.text);
}

//  multipleOf on doubles: the quick way agrees with exact decimals
static void
s_test_multiples (void)
{
    const double divisors [] = { 0.01, 0.5, 0.001, 3, 0.25, 1e-8, 0.3 };
    for (size_t which = 0; which < sizeof (divisors) / sizeof (divisors [0]); which++) {
        zeb_schema_decimal_t divisor;
        zeb_schema_decimal (divisors [which], &divisor);
        for (int64_t step = -20000; step < 20000; step += 7) {
            double values [] = { (double) step / 100, (double) step / 1000, (double) step * 0.37,
                                 (double) step / 3, (double) step * 1e13 };
            for (size_t index = 0; index < sizeof (values) / sizeof (values [0]); index++) {
                zeb_schema_decimal_t decimal;
                zeb_schema_decimal (values [index], &decimal);
                assert (zeb_schema_double_multiple (values [index], divisor)
                        == zeb_schema_decimal_multiple (decimal, divisor));
            }
        }
    }
}

//  The fast walk: it answers valid instances of the schemas it takes, the
//  full walk everything else, and the two never disagree
static void
s_test_fast (bool verbose)
{
    const char *text =
        "{\"type\":\"object\",\"additionalProperties\":false,\"minProperties\":2,"
        "\"required\":[\"orderId\",\"total\",\"a_rather_long_property_name\",\"elsewhere\"],"
        "\"properties\":{\"orderId\":{\"type\":\"string\",\"pattern\":\"^O-[0-9]{4,}$\"},"
        "\"total\":{\"type\":\"number\",\"minimum\":0,\"multipleOf\":0.01},"
        "\"currency\":{\"enum\":[\"EUR\",\"USD\",1]},\"code\":{\"const\":[1,\"a\"]},"
        "\"quantity\":{\"type\":\"integer\",\"exclusiveMaximum\":1000},"
        "\"a_rather_long_property_name\":{\"type\":[\"string\",\"null\"],\"maxLength\":3},"
        "\"a_rather_long_property_namf\":true,\"elsewhere\":{},"
        "\"tags\":{\"type\":\"array\",\"prefixItems\":[{\"type\":\"string\"}],"
        "\"items\":{\"type\":\"integer\"},\"maxItems\":3}}}";
    static const struct {
        const char *data;
        int rc;
    } cases [] = {
        { "{\"orderId\":\"O-1234\",\"total\":19.99,\"a_rather_long_property_name\":\"\u00e9t\u00e9\","
          "\"elsewhere\":[1,{\"x\":null}],\"currency\":1,\"code\":[1.0,\"a\"],\"quantity\":999,"
          "\"a_rather_long_property_namf\":{},\"tags\":[\"t\",1,2]}", 0 },
        { "{\"orderId\":\"O-1234\",\"total\":0,\"a_rather_long_property_name\":null,\"elsewhere\":0,"
          "\"currency\":\"USD\"}", 0 },
        { "{\"orderId\":\"O-123\",\"total\":1,\"a_rather_long_property_name\":null,\"elsewhere\":0}", ZEB_ESCHEMA },
        { "{\"orderId\":\"O-1234\",\"total\":19.999,\"a_rather_long_property_name\":null,\"elsewhere\":0}", ZEB_ESCHEMA },
        { "{\"orderId\":\"O-1234\",\"total\":-1,\"a_rather_long_property_name\":null,\"elsewhere\":0}", ZEB_ESCHEMA },
        { "{\"orderId\":\"O-1234\",\"total\":1,\"a_rather_long_property_name\":\"abcd\",\"elsewhere\":0}", ZEB_ESCHEMA },
        { "{\"orderId\":\"O-1234\",\"total\":1,\"a_rather_long_property_name\":null}", ZEB_ESCHEMA },
        { "{\"orderId\":\"O-1234\",\"total\":1,\"a_rather_long_property_name\":null,\"elsewhere\":0,"
          "\"currency\":\"GBP\"}", ZEB_ESCHEMA },
        { "{\"orderId\":\"O-1234\",\"total\":1,\"a_rather_long_property_name\":null,\"elsewhere\":0,"
          "\"currency\":2}", ZEB_ESCHEMA },
        { "{\"orderId\":\"O-1234\",\"total\":1,\"a_rather_long_property_name\":null,\"elsewhere\":0,"
          "\"code\":[1,\"b\"]}", ZEB_ESCHEMA },
        { "{\"orderId\":\"O-1234\",\"total\":1,\"a_rather_long_property_name\":null,\"elsewhere\":0,"
          "\"quantity\":1000}", ZEB_ESCHEMA },
        { "{\"orderId\":\"O-1234\",\"total\":1,\"a_rather_long_property_name\":null,\"elsewhere\":0,"
          "\"tags\":[1]}", ZEB_ESCHEMA },
        { "{\"orderId\":\"O-1234\",\"total\":1,\"a_rather_long_property_name\":null,\"elsewhere\":0,"
          "\"tags\":[\"a\",1,2,3]}", ZEB_ESCHEMA },
        { "{\"orderId\":\"O-1234\",\"total\":1,\"a_rather_long_property_name\":null,\"elsewhere\":0,"
          "\"a_rather_long_property_namg\":1}", ZEB_ESCHEMA },
        { "{\"orderId\":\"O-1234\",\"total\":1,\"a_rather_long_property_name\":null,\"elsewhere\":0,"
          "\"a_rather_lonX_property_name\":1}", ZEB_ESCHEMA },
        { "{\"orderId\":\"O-1234\",\"total\":1,\"elsewhere\":0,\"a_rather_lonX_property_name\":null}",
          ZEB_ESCHEMA },
        { "{\"orderId\":\"O-1234\",\"total\":1,\"a_rather_long_property_name\":null,\"elsewhere\":0,"
          "\"orderid\":1}", ZEB_ESCHEMA },
        { "[1]", ZEB_ESCHEMA }
    };
    zeb_fault_t fault;
    zeb_schema_t *schema = zeb_schema_new (text, strlen (text), &fault);
    assert (schema && schema->fast);
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    for (size_t index = 0; index < sizeof (cases) / sizeof (cases [0]); index++) {
        assert (s_test_pack (cases [index].data, &buffer) == 0);
        zeb_schema_error_t error, full;
        int rc = zeb_schema_validate (schema, buffer.data, buffer.size, &error);
        if (verbose || rc != cases [index].rc)
            printf ("fast %zu: rc %d '%s' at '%s': %s\n", index, rc, error.keyword, error.path, error.message);
        assert (rc == cases [index].rc);
        assert (zeb_schema_fast_valid (schema, buffer.data, buffer.size) == (rc == 0));
        assert (zeb_schema_walk (schema, buffer.data, buffer.size, &full) == rc);
        assert (rc == 0 || (streq (full.keyword, error.keyword) && streq (full.path, error.path)));
        //  Cut short or followed by a byte: malformed, for both walks
        for (size_t size = 0; size <= buffer.size + 1; size++) {
            char bytes [512];
            assert (buffer.size < sizeof (bytes));
            memcpy (bytes, buffer.data, buffer.size);
            bytes [buffer.size] = 0;
            int cut = zeb_schema_validate (schema, bytes, size, &error);
            assert (cut == (size == buffer.size? rc: ZEB_EMALFORMED));
            assert (!zeb_schema_fast_valid (schema, bytes, size) || size == buffer.size);
        }
    }
    //  Text that is not UTF-8 under a pattern: the full walk's answer
    const uint8_t bad [] = { 0x84, 0xa7, 'o', 'r', 'd', 'e', 'r', 'I', 'd', 0xa6, 'O', '-', '1', '2', '3', 0xff,
                             0xa5, 't', 'o', 't', 'a', 'l', 0x01, 0xa9, 'e', 'l', 's', 'e', 'w', 'h', 'e', 'r', 'e', 0xc0,
                             0xbb, 'a', '_', 'r', 'a', 't', 'h', 'e', 'r', '_', 'l', 'o', 'n', 'g', '_', 'p', 'r', 'o',
                             'p', 'e', 'r', 't', 'y', '_', 'n', 'a', 'm', 'e', 0xc0 };
    zeb_schema_error_t error, full;
    assert (!zeb_schema_fast_valid (schema, bad, sizeof (bad)));
    assert (zeb_schema_validate (schema, bad, sizeof (bad), &error)
            == zeb_schema_walk (schema, bad, sizeof (bad), &full));
    zeb_schema_destroy (&schema);
    //  Bounds compared exactly, past 2^53 and across signs and kinds
    const char *bounds = "{\"properties\":{\"a\":{\"minimum\":9007199254740993},"
                         "\"b\":{\"maximum\":-1},\"c\":{\"exclusiveMinimum\":-2,\"maximum\":3}}}";
    static const struct {
        const char *data;
        int rc;
    } numbers [] = {
        { "{\"a\":9007199254740992.0}", ZEB_ESCHEMA }, { "{\"a\":9007199254740993}", 0 },
        { "{\"a\":9223372036854775807}", 0 }, { "{\"b\":-1}", 0 }, { "{\"b\":0}", ZEB_ESCHEMA },
        { "{\"b\":-1.5}", 0 }, { "{\"c\":-2}", ZEB_ESCHEMA }, { "{\"c\":-1}", 0 },
        { "{\"c\":3.0}", 0 }, { "{\"c\":3.5}", ZEB_ESCHEMA }, { "{\"c\":-2.0}", ZEB_ESCHEMA }
    };
    schema = zeb_schema_new (bounds, strlen (bounds), &fault);
    assert (schema && schema->fast);
    for (size_t index = 0; index < sizeof (numbers) / sizeof (numbers [0]); index++) {
        assert (s_test_pack (numbers [index].data, &buffer) == 0);
        int rc = zeb_schema_validate (schema, buffer.data, buffer.size, &error);
        if (rc != numbers [index].rc)
            printf ("bounds %zu: rc %d '%s' at '%s': %s\n", index, rc, error.keyword, error.path, error.message);
        assert (rc == numbers [index].rc);
        assert (zeb_schema_fast_valid (schema, buffer.data, buffer.size) == (rc == 0));
    }
    zeb_schema_destroy (&schema);
    //  Schemas the fast walk does not take
    const char *others [] = {
        "{\"$ref\":\"#/$defs/a\",\"$defs\":{\"a\":{}}}", "{\"properties\":{\"a\":{\"anyOf\":[{}]}}}",
        "{\"items\":{\"uniqueItems\":true}}", "{\"patternProperties\":{\"a\":{}}}",
        "{\"unevaluatedProperties\":false}", "{\"contains\":{}}", "{\"dependentRequired\":{\"a\":[]}}"
    };
    for (size_t index = 0; index < sizeof (others) / sizeof (others [0]); index++) {
        schema = zeb_schema_new (others [index], strlen (others [index]), &fault);
        assert (schema && !schema->fast);
        assert (s_test_pack ("{}", &buffer) == 0);
        assert (!zeb_schema_fast_valid (schema, buffer.data, buffer.size));
        assert (zeb_schema_validate (schema, buffer.data, buffer.size, &error) == 0);
        zeb_schema_destroy (&schema);
    }
    msgpack_sbuffer_destroy (&buffer);
}

//  Documents handed over with the schema resolve as its own parts do
static void
s_test_documents (void)
{
    const char *defs = "{\"$id\":\"http://example.com/defs.json\",\"$defs\":{\"sku\":"
                       "{\"type\":\"string\",\"pattern\":\"^S\"},\"n\":{\"$anchor\":\"n\",\"type\":\"integer\"}}}";
    zeb_schema_document_t documents [] = { { "http://example.com/defs.json", defs, strlen (defs) } };
    zeb_schema_options_t options = { .documents = documents, .document_count = 1 };
    const char *text = "{\"$id\":\"http://example.com/order.json\",\"properties\":{"
                       "\"sku\":{\"$ref\":\"defs.json#/$defs/sku\"},\"qty\":{\"$ref\":\"defs.json#n\"}}}";
    zeb_fault_t fault;
    assert (!zeb_schema_new (text, strlen (text), &fault));
    assert (strstr (fault.text, "http://example.com/defs.json"));
    zeb_schema_t *schema = zeb_schema_new_with (text, strlen (text), &options, &fault);
    assert (schema);
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    zeb_schema_error_t error;
    assert (s_test_pack ("{\"sku\":\"S1\",\"qty\":2}", &buffer) == 0);
    assert (zeb_schema_validate (schema, buffer.data, buffer.size, &error) == 0);
    assert (s_test_pack ("{\"sku\":\"X1\",\"qty\":2}", &buffer) == 0);
    assert (zeb_schema_validate (schema, buffer.data, buffer.size, &error) == ZEB_ESCHEMA);
    assert (streq (error.keyword, "pattern") && streq (error.path, "/sku"));
    assert (s_test_pack ("{\"qty\":2.5}", &buffer) == 0);
    assert (zeb_schema_validate (schema, buffer.data, buffer.size, &error) == ZEB_ESCHEMA);
    assert (streq (error.keyword, "type") && streq (error.path, "/qty"));
    zeb_schema_destroy (&schema);
    msgpack_sbuffer_destroy (&buffer);
    documents [0].len = 3;
    assert (!zeb_schema_new_with (text, strlen (text), &options, &fault));
    assert (fault.code == ZEB_EBADSCHEMA && strstr (fault.text, "not JSON"));
}

//  Whether instance (JSON) is valid against a compiled schema
static int
s_test_valid (zeb_schema_t *schema, const char *instance)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    assert (s_test_pack (instance, &buffer) == 0);
    zeb_schema_error_t error;
    int rc = zeb_schema_validate (schema, buffer.data, buffer.size, &error);
    msgpack_sbuffer_destroy (&buffer);
    return rc;
}

//  The built-in meta-schemas: a schema checked against draft 2020-12's,
//  and custom meta-schemas whose "$vocabulary" decides what is asserted
static void
s_test_meta (void)
{
    size_t count;
    const zeb_schema_document_t *documents = zeb_schema_meta_documents (&count);
    assert (count == 9);
    for (size_t index = 0; index < count; index++) {
        json_t *json = json_loadb (documents [index].json, documents [index].len, 0, NULL);
        assert (json && streq (json_string_value (json_object_get (json, "$id")), documents [index].uri));
        json_decref (json);
    }
    zeb_fault_t fault;
    const char *meta = "{\"$ref\":\"https://json-schema.org/draft/2020-12/schema\"}";
    zeb_schema_t *schema = zeb_schema_new (meta, strlen (meta), &fault);
    assert (schema);
    assert (s_test_valid (schema, "{\"type\":\"object\",\"properties\":{\"a\":{\"minimum\":1}}}") == 0);
    assert (s_test_valid (schema, "true") == 0);
    assert (s_test_valid (schema, "{\"type\":\"thing\"}") == ZEB_ESCHEMA);
    assert (s_test_valid (schema, "{\"properties\":{\"a\":{\"minLength\":-1}}}") == ZEB_ESCHEMA);
    assert (s_test_valid (schema, "{\"$defs\":{\"x\":{\"required\":\"a\"}}}") == ZEB_ESCHEMA);
    zeb_schema_destroy (&schema);

    //  A meta-schema without the validation vocabulary: "minimum" is ignored,
    //  applicators still apply
    const char *plain = "{\"$id\":\"http://example.com/plain\",\"$vocabulary\":{"
        "\"https://json-schema.org/draft/2020-12/vocab/core\":true,"
        "\"https://json-schema.org/draft/2020-12/vocab/applicator\":true,"
        "\"http://example.com/vocab/mine\":false},"
        "\"allOf\":[{\"$ref\":\"https://json-schema.org/draft/2020-12/meta/core\"},"
        "{\"$ref\":\"https://json-schema.org/draft/2020-12/meta/applicator\"}]}";
    const char *asserting = "{\"$id\":\"http://example.com/asserting\",\"$vocabulary\":{"
        "\"https://json-schema.org/draft/2020-12/vocab/core\":true,"
        "\"https://json-schema.org/draft/2020-12/vocab/validation\":true,"
        "\"https://json-schema.org/draft/2020-12/vocab/format-assertion\":true}}";
    const char *unknown = "{\"$id\":\"http://example.com/unknown\",\"$vocabulary\":{"
        "\"https://json-schema.org/draft/2020-12/vocab/core\":true,"
        "\"http://example.com/vocab/mine\":true}}";
    zeb_schema_document_t given [] = {
        { "http://example.com/plain", plain, strlen (plain) },
        { "http://example.com/asserting", asserting, strlen (asserting) },
        { "http://example.com/unknown", unknown, strlen (unknown) }
    };
    zeb_schema_options_t options = { .documents = given, .document_count = 3 };
    const char *text = "{\"$schema\":\"http://example.com/plain\",\"properties\":{"
                       "\"n\":{\"minimum\":10},\"no\":false}}";
    schema = zeb_schema_new_with (text, strlen (text), &options, &fault);
    assert (schema);
    assert (s_test_valid (schema, "{\"n\":1}") == 0);
    assert (s_test_valid (schema, "{\"no\":1}") == ZEB_ESCHEMA);
    zeb_schema_destroy (&schema);
    //  Without the documents the meta-schema is unknown: refused, not guessed
    assert (!zeb_schema_new (text, strlen (text), &fault));
    assert (fault.code == ZEB_EBADSCHEMA && strstr (fault.text, "http://example.com/plain"));
    //  format-assertion in the meta-schema asserts formats
    text = "{\"$schema\":\"http://example.com/asserting\",\"format\":\"email\",\"type\":\"string\"}";
    schema = zeb_schema_new_with (text, strlen (text), &options, &fault);
    assert (schema);
    assert (s_test_valid (schema, "\"a@example.com\"") == 0);
    assert (s_test_valid (schema, "\"2962\"") == ZEB_ESCHEMA);
    assert (s_test_valid (schema, "1") == ZEB_ESCHEMA);
    zeb_schema_destroy (&schema);
    //  A vocabulary zeb does not know, required: refused with its name
    text = "{\"$schema\":\"http://example.com/unknown\"}";
    assert (!zeb_schema_new_with (text, strlen (text), &options, &fault));
    assert (strstr (fault.text, "http://example.com/vocab/mine"));
}

void
zeb_schema_test (bool verbose)
{
    printf (" * zeb_schema: ");
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    zeb_fault_t fault;
    //  The keywords, formats asserted; the probes, with the defaults
    zeb_schema_options_t asserting = { .format_assertion = true };
    s_test_cases (s_cases, sizeof (s_cases) / sizeof (s_cases [0]), &asserting, verbose);
    s_test_cases (s_probes, sizeof (s_probes) / sizeof (s_probes [0]), NULL, verbose);
    s_test_fast (verbose);
    for (size_t index = 0; index < sizeof (s_bad_schemas) / sizeof (s_bad_schemas [0]); index++) {
        const char *text = s_bad_schemas [index][0];
        memset (&fault, 0, sizeof (fault));
        zeb_schema_t *schema = zeb_schema_new (text, strlen (text), &fault);
        if (schema || fault.code != ZEB_EBADSCHEMA || !strstr (fault.text, s_bad_schemas [index][1]))
            fprintf (stderr, "bad schema %zu: %s: %s\n", index, text, fault.text);
        assert (!schema && fault.code == ZEB_EBADSCHEMA && strstr (fault.text, s_bad_schemas [index][1]));
    }

    //  An order schema, validated many times: same answers, no leaks
    const char *order =
        "{\"type\":\"object\",\"required\":[\"orderId\",\"total\",\"items\"],"
        "\"additionalProperties\":false,"
        "\"properties\":{\"orderId\":{\"type\":\"string\",\"pattern\":\"^O-[0-9]+$\"},"
        "\"total\":{\"type\":\"number\",\"minimum\":0},"
        "\"currency\":{\"enum\":[\"EUR\",\"USD\"]},"
        "\"placedAt\":{\"type\":\"string\",\"format\":\"date-time\"},"
        "\"items\":{\"type\":\"array\",\"minItems\":1,\"items\":{\"type\":\"object\","
        "\"required\":[\"sku\",\"qty\"],\"properties\":{\"sku\":{\"type\":\"string\"},"
        "\"qty\":{\"type\":\"integer\",\"minimum\":1}}}}}}";
    zeb_schema_t *schema = zeb_schema_new (order, strlen (order), &fault);
    assert (schema);
    assert (s_test_pack ("{\"orderId\":\"O-42\",\"total\":99.5,\"currency\":\"EUR\","
                         "\"placedAt\":\"2026-11-22T10:00:00Z\",\"items\":[{\"sku\":\"S1\",\"qty\":2}]}",
                         &buffer) == 0);
    for (int round = 0; round < 1000; round++)
        assert (zeb_schema_validate (schema, buffer.data, buffer.size, NULL) == 0);
    assert (s_test_pack ("{\"orderId\":\"O-42\",\"total\":99.5,\"items\":[{\"sku\":\"S1\",\"qty\":0}]}",
                         &buffer) == 0);
    zeb_schema_error_t error;
    assert (zeb_schema_validate (schema, buffer.data, buffer.size, &error) == ZEB_ESCHEMA);
    assert (streq (error.path, "/items/0/qty") && streq (error.keyword, "minimum"));
    //  Not one msgpack value: cut short anywhere, or with bytes after it,
    //  whether or not the schema would have refused it anyway
    for (size_t cut = 0; cut < buffer.size; cut++)
        assert (zeb_schema_validate (schema, buffer.data, cut, &error) == ZEB_EMALFORMED);
    assert (s_test_pack ("{\"orderId\":\"O-42\",\"total\":99.5,\"items\":[{\"sku\":\"S1\",\"qty\":2}]}",
                         &buffer) == 0);
    for (size_t cut = 0; cut < buffer.size; cut++)
        assert (zeb_schema_validate (schema, buffer.data, cut, &error) == ZEB_EMALFORMED);
    msgpack_sbuffer_write (&buffer, "\x01", 1);
    assert (zeb_schema_validate (schema, buffer.data, buffer.size, &error) == ZEB_EMALFORMED);
    assert (zeb_schema_validate (schema, "\xc1", 1, &error) == ZEB_EMALFORMED);
    //  Binary data is no JSON type
    assert (zeb_schema_validate (schema, "\xc4\x01\x00", 3, &error) == ZEB_ESCHEMA);
    assert (streq (error.keyword, "type"));
    zeb_schema_destroy (&schema);
    zeb_schema_destroy (&schema);           //  safe twice

    //  Numbers JSON cannot write: NaN lies within no bound, 2^63 as a
    //  uint64 is compared exactly, a float32 1.0 is the constant 1
    const char *nan = "\xcb\x7f\xf8\x00\x00\x00\x00\x00\x00";
    const char *bounded = "{\"minimum\":0}";
    schema = zeb_schema_new (bounded, strlen (bounded), &fault);
    assert (schema);
    assert (zeb_schema_validate (schema, nan, 9, &error) == ZEB_ESCHEMA);
    assert (streq (error.keyword, "minimum"));
    zeb_schema_destroy (&schema);
    bounded = "{\"exclusiveMaximum\":9223372036854775807}";
    schema = zeb_schema_new (bounded, strlen (bounded), &fault);
    assert (schema);
    assert (zeb_schema_validate (schema, "\xcf\x7f\xff\xff\xff\xff\xff\xff\xfe", 9, &error) == 0);
    assert (zeb_schema_validate (schema, "\xcf\x80\x00\x00\x00\x00\x00\x00\x00", 9, &error)
            == ZEB_ESCHEMA);
    zeb_schema_destroy (&schema);
    bounded = "{\"const\":1}";
    schema = zeb_schema_new (bounded, strlen (bounded), &fault);
    assert (schema);
    assert (zeb_schema_validate (schema, "\xca\x3f\x80\x00\x00", 5, &error) == 0);
    assert (zeb_schema_validate (schema, nan, 9, &error) == ZEB_ESCHEMA);
    zeb_schema_destroy (&schema);

    //  Types along a path: what rule checks ask
    const char *typed =
        "{\"type\":\"object\",\"additionalProperties\":false,\"$defs\":{\"money\":{\"type\":\"number\"}},"
        "\"properties\":{\"total\":{\"$ref\":\"#/$defs/money\"},\"name\":{\"type\":\"string\"},"
        "\"kind\":{\"enum\":[\"a\",\"b\"]},\"both\":{\"allOf\":[{\"type\":[\"integer\",\"string\"]},{\"type\":\"number\"}]},"
        "\"either\":{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"boolean\"}]},"
        "\"items\":{\"type\":\"array\",\"prefixItems\":[{\"type\":\"null\"}],\"items\":{\"type\":\"object\","
        "\"properties\":{\"sku\":{\"type\":\"string\"}}}},\"free\":{}}}";
    schema = zeb_schema_new (typed, strlen (typed), &fault);
    assert (schema);
    zeb_schema_step_t steps [3] = { { "total", 5, 0 }, { NULL, 0, 0 }, { "sku", 3, 0 } };
    assert (zeb_schema_types_at (schema, steps, 0) == ZEB_MPK_JSON_OBJECT);
    assert (zeb_schema_types_at (schema, steps, 1) == (ZEB_MPK_JSON_NUMBER | ZEB_MPK_JSON_INTEGER));
    assert (zeb_schema_types_at (schema, steps, 2) == 0);           //  a number has no items
    steps [0] = (zeb_schema_step_t) { "nope", 4, 0 };
    assert (zeb_schema_types_at (schema, steps, 1) == 0);           //  additionalProperties false
    steps [0] = (zeb_schema_step_t) { "kind", 4, 0 };
    assert (zeb_schema_types_at (schema, steps, 1) == ZEB_MPK_JSON_STRING);
    steps [0] = (zeb_schema_step_t) { "both", 4, 0 };
    assert (zeb_schema_types_at (schema, steps, 1) == ZEB_MPK_JSON_INTEGER);
    steps [0] = (zeb_schema_step_t) { "either", 6, 0 };
    assert (zeb_schema_types_at (schema, steps, 1) == (ZEB_MPK_JSON_STRING | ZEB_MPK_JSON_BOOLEAN));
    steps [0] = (zeb_schema_step_t) { "items", 5, 0 };
    assert (zeb_schema_types_at (schema, steps, 2) == ZEB_MPK_JSON_NULL);
    steps [1].index = 1;
    assert (zeb_schema_types_at (schema, steps, 2) == ZEB_MPK_JSON_OBJECT);
    assert (zeb_schema_types_at (schema, steps, 3) == ZEB_MPK_JSON_STRING);
    steps [1].index = -1;                                           //  any item
    assert (zeb_schema_types_at (schema, steps, 2) == (ZEB_MPK_JSON_NULL | ZEB_MPK_JSON_OBJECT));
    steps [0] = (zeb_schema_step_t) { "free", 4, 0 };
    assert (zeb_schema_types_at (schema, steps, 3) == 0x7f);        //  unconstrained
    zeb_schema_destroy (&schema);

    s_test_bounds (verbose);
    s_test_depth (verbose);
    s_test_multiples ();
    s_test_documents ();
    s_test_meta ();
    msgpack_sbuffer_destroy (&buffer);
    printf ("OK\n");
}
