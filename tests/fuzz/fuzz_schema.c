/*  =========================================================================
    fuzz_schema - JSON Schema compile and validate (core/zeb_schema.h)

    Input: a schema's JSON text, a 0x00 byte, an instance's JSON text (no
    0x00: the whole input is the schema, and the instance is null). The
    schema is compiled with zeb_schema_new, as the registry does when a
    schema is registered; if it compiles, the instance is converted with
    zeb_json_pack_text and validated, as ingest validates event data.

    Oracles: no crash, leak or hang (tools/fuzz.sh runs with -timeout=5:
    a schema whose validation takes exponential time in its size is a
    denial of service, since anyone who may register schemas writes them);
    a refused schema says why with ZEB_EBADSCHEMA; validation answers 0 or
    ZEB_ESCHEMA with a null-terminated path, keyword and message;
    validating twice gives the same answer (the schema keeps no state
    between validations but PCRE2's match data); and the full walk alone
    gives the same answer as zeb_schema_validate, which the fast walk
    answered only if it said "valid".
    =========================================================================
*/

#include "fuzz.h"
#include "zeb_schema_private.h"

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
    s_fuzz_init ();
    return 0;
}

static bool
s_terminated (const char *text, size_t size)
{
    return memchr (text, 0, size) != NULL;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    const uint8_t *split = (const uint8_t *) memchr (data, 0, size);
    size_t schema_size = split? (size_t) (split - data): size;
    const char *instance = split? (const char *) split + 1: "null";
    size_t instance_size = split? size - schema_size - 1: 4;

    zeb_fault_t fault = { 0 };
    zeb_schema_t *schema = zeb_schema_new ((const char *) data, schema_size, &fault);
    if (!schema) {
        S_ORACLE (fault.code == ZEB_EBADSCHEMA && s_terminated (fault.text, sizeof (fault.text)));
        return 0;
    }
    msgpack_sbuffer packed;
    msgpack_sbuffer_init (&packed);
    if (zeb_json_pack_text (instance, instance_size, &packed, &fault) == 0) {
        zeb_schema_error_t error;
        memset (&error, 0xff, sizeof (error));
        int rc = zeb_schema_validate (schema, packed.data, packed.size, &error);
        S_ORACLE (rc == 0 || rc == ZEB_ESCHEMA);
        if (rc == ZEB_ESCHEMA)
            S_ORACLE (s_terminated (error.path, sizeof (error.path))
                   && s_terminated (error.keyword, sizeof (error.keyword))
                   && s_terminated (error.message, sizeof (error.message)));
        S_ORACLE (zeb_schema_validate (schema, packed.data, packed.size, NULL) == rc);
        S_ORACLE (zeb_schema_walk (schema, packed.data, packed.size, &error) == rc);
        S_ORACLE (!zeb_schema_fast_valid (schema, packed.data, packed.size) || rc == 0);
    }
    //  Bytes that are not one msgpack value are refused, never read past
    if (packed.size > 1)
        S_ORACLE (zeb_schema_validate (schema, packed.data, packed.size - 1, NULL) == ZEB_EMALFORMED);
    msgpack_sbuffer_destroy (&packed);
    zeb_schema_destroy (&schema);
    return 0;
}
