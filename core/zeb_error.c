/*  =========================================================================
    zeb_error - error codes shared by every zeb class and the wire protocol
    =========================================================================
*/

#include "zeb_classes.h"
#include <stdatomic.h>

typedef struct {
    int code;
    int status;
    const char *reason;
    const char *text;
} s_error_t;

static const s_error_t s_errors [] = {
    { ZEB_OK,           200, "OK",                  "success" },
    { ZEB_ERROR,        500, "INTERNAL",            "internal error" },
    { ZEB_EMALFORMED,   400, "MALFORMED",           "malformed message" },
    { ZEB_EMISSING,     400, "MISSING_ATTRIBUTE",   "required attribute missing" },
    { ZEB_EINVALID,     400, "INVALID_ATTRIBUTE",   "attribute has an invalid type or value" },
    { ZEB_ETOOLONG,     400, "ATTRIBUTE_TOO_LONG",  "attribute exceeds its length limit" },
    { ZEB_EEXTENSION,   400, "INVALID_EXTENSION",   "extension attribute not allowed" },
    { ZEB_ECOMMAND,     400, "UNKNOWN_COMMAND",     "unknown command" },
    { ZEB_EVERSION,     400, "UNSUPPORTED_VERSION", "protocol version not supported" },
    { ZEB_ETOOBIG,      413, "TOO_LARGE",           "event or request too large" },
    { ZEB_ENOTFOUND,    404, "NOT_FOUND",           "not found" },
    { ZEB_EGONE,        410, "GONE",                "no longer retained" },
    { ZEB_EFULL,        503, "STORAGE_FULL",        "storage full" },
    { ZEB_ESTORAGE,     500, "STORAGE_ERROR",       "storage failure" },
    { ZEB_EOVERLOADED,  429, "OVERLOADED",          "overloaded, retry later" },
    { ZEB_ETIMEOUT,     504, "TIMEOUT",             "timed out" },
    { ZEB_EUNREACHABLE, 503, "UNREACHABLE",         "node unreachable" },
    { ZEB_ECONFIG,      400, "BAD_CONFIG",          "invalid configuration" },
    { ZEB_EPROTOCOL,    502, "PROTOCOL_ERROR",      "peer violated the protocol" },
    { ZEB_ERETRY,       503, "RETRY",               "transaction aborted, run it again" },
    { ZEB_ESCHEMA,      422, "SCHEMA_VIOLATION",    "data does not match the schema" },
    { ZEB_EBADSCHEMA,   400, "INVALID_SCHEMA",      "not a valid or supported schema" },
    { ZEB_ECONFLICT,    409, "INCOMPATIBLE_SCHEMA", "schema breaks its type's compatibility" },
    { ZEB_EFORBIDDEN,   403, "FORBIDDEN",           "not allowed" },
    { ZEB_ESCHEMACOMPLEX, 422, "SCHEMA_TOO_COMPLEX", "checking the data against its schema needs too much work" },
    { ZEB_EEXISTS,      409, "ALREADY_EXISTS",      "already exists" }
};

#define S_ERRORS (sizeof (s_errors) / sizeof (s_errors [0]))

static const s_error_t *
s_lookup (int code)
{
    for (size_t index = 0; index < S_ERRORS; index++)
        if (s_errors [index].code == code)
            return &s_errors [index];
    return &s_errors [1];           //  ZEB_ERROR
}

const char *
zeb_strerror (int code)
{
    return s_lookup (code)->text;
}

int
zeb_error_status (int code)
{
    return s_lookup (code)->status;
}

const char *
zeb_error_reason (int code)
{
    return s_lookup (code)->reason;
}

int
zeb_error_from_reason (const char *reason, size_t len)
{
    for (size_t index = 0; index < S_ERRORS; index++)
        if (strlen (s_errors [index].reason) == len
        &&  memcmp (s_errors [index].reason, reason, len) == 0)
            return s_errors [index].code;
    return ZEB_ERROR;
}

int
zeb_fault_set (zeb_fault_t *fault, int code, const char *format, ...)
{
    if (fault) {
        fault->code = code;
        va_list args;
        va_start (args, format);
        vsnprintf (fault->text, sizeof (fault->text), format, args);
        va_end (args);
    }
    return code;
}

static atomic_bool s_quiet;

void
zeb_info (const char *format, ...)
{
    if (atomic_load_explicit (&s_quiet, memory_order_relaxed))
        return;
    char line [1024];
    va_list args;
    va_start (args, format);
    vsnprintf (line, sizeof (line), format, args);
    va_end (args);
    zsys_info ("%s", line);
}

void
zeb_set_quiet (bool quiet)
{
    atomic_store (&s_quiet, quiet);
}

void
zeb_error_test (bool verbose)
{
    printf (" * zeb_error: ");
    assert (zeb_error_status (ZEB_ETOOBIG) == 413);
    assert (zeb_error_status (ZEB_EFULL) == 503);
    assert (streq (zeb_error_reason (ZEB_EMISSING), "MISSING_ATTRIBUTE"));
    assert (zeb_error_from_reason ("STORAGE_FULL", 12) == ZEB_EFULL);
    assert (zeb_error_status (ZEB_ESCHEMACOMPLEX) == 422);
    assert (streq (zeb_error_reason (ZEB_ESCHEMACOMPLEX), "SCHEMA_TOO_COMPLEX"));
    assert (zeb_error_from_reason ("NO_SUCH_REASON", 14) == ZEB_ERROR);
    //  Every code round-trips through its reason
    for (size_t index = 0; index < S_ERRORS; index++) {
        const char *reason = s_errors [index].reason;
        assert (zeb_error_from_reason (reason, strlen (reason)) == s_errors [index].code);
    }
    //  Unknown codes fall back to the generic error, never NULL
    assert (zeb_strerror (-424242) != NULL);
    assert (zeb_error_status (-424242) == 500);
    //  A fault keeps the code and the text, truncated to fit; NULL is fine
    zeb_fault_t fault;
    assert (zeb_fault_set (&fault, ZEB_EINVALID, "attribute '%s'", "type") == ZEB_EINVALID);
    assert (fault.code == ZEB_EINVALID && streq (fault.text, "attribute 'type'"));
    char wide [400];
    memset (wide, 'w', sizeof (wide) - 1);
    wide [sizeof (wide) - 1] = 0;
    zeb_fault_set (&fault, ZEB_ETOOLONG, "%s", wide);
    assert (strlen (fault.text) == sizeof (fault.text) - 1);
    assert (zeb_fault_set (NULL, ZEB_EMISSING, "nobody reads this") == ZEB_EMISSING);
    printf ("OK\n");
}
