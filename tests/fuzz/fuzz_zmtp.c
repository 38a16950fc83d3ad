/*  =========================================================================
    fuzz_zmtp - what a ZMTP peer sends zeb_producer (core/zeb_zmtp.h)

    Input: the bytes a node would send on a connection: a 64-byte
    greeting, then frames. The greeting goes to zeb_zmtp_check_greeting;
    the rest is decoded frame by frame as zeb_zmtp_recv does (with a
    bound), and every command to zeb_zmtp_check_ready, as the handshake
    does with the first.

    Oracles: no crash, leak or hang; a decoded frame lies inside the input
    and takes its header plus its body; a refusal is ZEB_EPROTOCOL with a
    reason; nothing larger than the bound is ever decoded.
    =========================================================================
*/

#include "fuzz.h"

#define S_BOUND     4096

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
    s_fuzz_init ();
    return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    zeb_fault_t fault = { 0 };
    if (size >= ZEB_ZMTP_GREETING) {
        int rc = zeb_zmtp_check_greeting (data, &fault);
        S_ORACLE (rc == 0 || (rc == ZEB_EPROTOCOL && fault.text [0]));
        data += ZEB_ZMTP_GREETING;
        size -= ZEB_ZMTP_GREETING;
    }
    size_t at = 0;
    while (at < size) {
        zeb_zmtp_part_t part;
        int64_t used = zeb_zmtp_decode (data + at, size - at, S_BOUND, &part);
        S_ORACLE (used == 0 || used == ZEB_EPROTOCOL || used == ZEB_ETOOBIG || used > 0);
        if (used <= 0)
            break;
        S_ORACLE ((size_t) used <= size - at);
        S_ORACLE (part.size <= S_BOUND);
        S_ORACLE (part.body >= data + at && part.body + part.size == data + at + used);
        S_ORACLE ((size_t) used == part.size + (part.body - (data + at)));
        if (part.command) {
            S_ORACLE (!part.more);
            memset (&fault, 0, sizeof (fault));
            int rc = zeb_zmtp_check_ready (part.body, (size_t) part.size, "DEALER", &fault);
            S_ORACLE (rc == 0 || (rc == ZEB_EPROTOCOL && fault.text [0]));
        }
        at += (size_t) used;
    }
    return 0;
}
