/*  =========================================================================
    zeb_zmtp - one ZMTP 3 connection over TCP, spoken without libzmq

    ZMTP 3.0/3.1 with the NULL mechanism (rfc.zeromq.org/spec/23 and 37),
    the wire protocol of a libzmq socket over tcp://: a 64-byte greeting
    each way, a READY command with the socket type, then messages of
    frames. This class is the client end of one connection, for a
    producer that waits for each reply: a write and a read per round trip
    on the caller's thread, where a libzmq socket hands every message to
    its I/O thread and back. The peer is any libzmq socket that a socket
    of the type given may talk to (a DEALER to a ROUTER).

    PING is answered with PONG; other commands are ignored; ERROR ends
    the connection with the peer's reason. Frames and messages have
    bounds, checked before anything is buffered. The decoding functions
    are pure, for the tests and the fuzz target.
    =========================================================================
*/

#ifndef ZEB_ZMTP_H_INCLUDED
#define ZEB_ZMTP_H_INCLUDED

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _zeb_zmtp_t zeb_zmtp_t;

#define ZEB_ZMTP_GREETING   64
#define ZEB_ZMTP_MAX_FRAMES 8           //  frames kept of one message (more are counted)

//  One frame to send, or one received (then it points into the
//  connection's buffer, valid until the next recv)
typedef struct {
    const void *data;
    size_t size;
} zeb_zmtp_frame_t;

typedef struct {
    zeb_zmtp_frame_t frames [ZEB_ZMTP_MAX_FRAMES];
    size_t count;                       //  frames kept
    size_t total;                       //  frames the message had
} zeb_zmtp_msg_t;

//  One frame or command as decoded from the wire
typedef struct {
    bool more;                          //  another frame of the message follows
    bool command;
    const uint8_t *body;
    uint64_t size;
} zeb_zmtp_part_t;

//  Decode one frame at data. Returns the bytes it takes (> 0) and fills
//  part; 0 if size bytes do not hold all of it yet; ZEB_ETOOBIG if its
//  body is larger than max_size; ZEB_EPROTOCOL if the flags are not
//  ZMTP's (a command with MORE, reserved bits).
int64_t
    zeb_zmtp_decode (const uint8_t *data, size_t size, uint64_t max_size, zeb_zmtp_part_t *part);

//  Check a peer's 64-byte greeting: signature, major version 3 or later,
//  mechanism NULL. 0, or ZEB_EPROTOCOL with the reason in fault.
int
    zeb_zmtp_check_greeting (const uint8_t *greeting, zeb_fault_t *fault);

//  Check a READY command's body (name included): its Socket-Type must be
//  one a socket of type mine talks to. 0, or ZEB_EPROTOCOL with fault.
int
    zeb_zmtp_check_ready (const uint8_t *body, size_t size, const char *mine, zeb_fault_t *fault);

//  Connect to endpoint ("tcp://host:port") as a socket of type
//  socket_type ("DEALER"), greet and READY, within timeout_ms. NULL with
//  fault (ZEB_EUNREACHABLE, ZEB_ETIMEOUT, ZEB_EPROTOCOL, ZEB_EINVALID for
//  an endpoint that is not tcp://host:port).
zeb_zmtp_t *
    zeb_zmtp_connect (const char *endpoint, const char *socket_type, int timeout_ms,
                      zeb_fault_t *fault);

//  Close and free; safe with NULL, nulls the caller's pointer.
void
    zeb_zmtp_destroy (zeb_zmtp_t **self_p);

//  Largest message body accepted from the peer, all frames together
//  (default 16 MiB)
void
    zeb_zmtp_set_max_message (zeb_zmtp_t *self, uint64_t max_size);

//  Send one message of count frames (at least one), within timeout_ms.
//  0, or ZEB_ETIMEOUT / ZEB_EUNREACHABLE; after an error the connection
//  is broken and every later call fails.
int
    zeb_zmtp_send (zeb_zmtp_t *self, const zeb_zmtp_frame_t *frames, size_t count, int timeout_ms);

//  Receive one message within timeout_ms (0: only what has arrived).
//  0 with msg filled; ZEB_ETIMEOUT (the connection stays usable),
//  ZEB_EUNREACHABLE (closed by the peer), ZEB_EPROTOCOL or ZEB_ETOOBIG
//  (broken, as for send).
int
    zeb_zmtp_recv (zeb_zmtp_t *self, zeb_zmtp_msg_t *msg, int timeout_ms);

//  Why the last call failed, for people
const char *
    zeb_zmtp_error (zeb_zmtp_t *self);

//  Self test
void
    zeb_zmtp_test (bool verbose);

#ifdef __cplusplus
}
#endif

#endif
