/*  =========================================================================
    zeb_error - error codes shared by every zeb class and the wire protocol

    Zero means success. Functions that can fail in more than one way return
    one of these negative codes (LMDB's model); zeb_strerror() names them.
    Each code also carries the HTTP-style status and the machine-readable
    reason that a NACK puts on the wire (docs/PROTOCOL.md lists them all).
    =========================================================================
*/

#ifndef ZEB_ERROR_H_INCLUDED
#define ZEB_ERROR_H_INCLUDED

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    ZEB_OK                  =  0,
    ZEB_ERROR               = -1,       //  generic failure (see the log)
    ZEB_EMALFORMED          = -1001,    //  400 frames or msgpack unreadable
    ZEB_EMISSING            = -1002,    //  400 a required attribute is absent
    ZEB_EINVALID            = -1003,    //  400 an attribute has a wrong type/value
    ZEB_ETOOLONG            = -1004,    //  400 an attribute exceeds its length limit
    ZEB_EEXTENSION          = -1005,    //  400 extension name or value not allowed
    ZEB_ECOMMAND            = -1006,    //  400 unknown command
    ZEB_EVERSION            = -1007,    //  400 protocol version not spoken
    ZEB_ETOOBIG             = -1008,    //  413 event or request over the size limit
    ZEB_ENOTFOUND           = -1009,    //  404 no such thing
    ZEB_EGONE               = -1010,    //  410 sequence no longer retained
    ZEB_EFULL               = -1011,    //  503 storage full
    ZEB_ESTORAGE            = -1012,    //  500 storage failure
    ZEB_EOVERLOADED         = -1013,    //  429 too many requests in flight
    ZEB_ETIMEOUT            = -1014,    //  504 no reply within the deadline
    ZEB_EUNREACHABLE        = -1015,    //  503 node cannot be reached
    ZEB_ECONFIG             = -1016,    //  400 bad configuration value
    ZEB_EPROTOCOL           = -1017,    //  502 peer broke the protocol
    ZEB_ERETRY              = -1018,    //  store grew: run the transaction again
    ZEB_ESCHEMA             = -1019,    //  422 data does not match its schema
    ZEB_EBADSCHEMA          = -1020,    //  400 not a schema zeb can use
    ZEB_ECONFLICT           = -1021,    //  409 schema breaks its type's compatibility
    ZEB_EFORBIDDEN          = -1022,    //  403 not allowed to this client
    ZEB_ESCHEMACOMPLEX      = -1023,    //  422 checking data against its schema
                                        //      needs more work than allowed
    ZEB_EEXISTS             = -1024     //  409 a create names what exists
} zeb_error_t;

//  Why something failed: a zeb_error_t code and a sentence naming the
//  attribute or position, for a log line or a NACK. Functions that take a
//  zeb_fault_t * out-parameter accept NULL when the caller needs no text.
typedef struct {
    int code;
    char text [200];
} zeb_fault_t;

//  Record a fault (printf-style text, truncated to fit); returns code, so
//  callers can write "return zeb_fault_set (fault, ZEB_EINVALID, ...)".
//  Fault may be NULL: then only the code is returned.
int
    zeb_fault_set (zeb_fault_t *fault, int code, const char *format, ...) CHECK_PRINTF (3);

//  Human-readable description of a code; never NULL.
const char *
    zeb_strerror (int code);

//  HTTP-style status carried in a NACK for this code (400, 413, 503...).
int
    zeb_error_status (int code);

//  Machine-readable reason carried in a NACK ("MISSING_ATTRIBUTE"...).
const char *
    zeb_error_reason (int code);

//  Code for a reason string received in a NACK; ZEB_ERROR if unknown.
int
    zeb_error_from_reason (const char *reason, size_t len);

//  Informational log lines: zsys_info unless the process asked for
//  quiet (zebd --quiet). Warnings and errors always go to zsys_warning
//  and zsys_error.
void
    zeb_info (const char *format, ...) __attribute__ ((format (printf, 1, 2)));

//  Silence zeb_info for the whole process.
void
    zeb_set_quiet (bool quiet);

//  Self test
void
    zeb_error_test (bool verbose);

#ifdef __cplusplus
}
#endif

#endif
