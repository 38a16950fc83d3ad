/*  =========================================================================
    zeb_zmtp - one ZMTP 3 connection over TCP, spoken without libzmq

    The socket is blocking, with SO_RCVTIMEO set only when the caller's
    timeout changes: a synchronous round trip is one sendmsg and one recv
    once the reply is on its way. Received bytes go into one buffer; a
    message's frames point into it until the next recv, which first drops
    what the last one returned.
    =========================================================================
*/

#include "zeb_classes.h"
#include "zeb_zmtp.h"
#include <netdb.h>
#include <limits.h>
#include <inttypes.h>
#include <poll.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#define S_FLAG_MORE         1
#define S_FLAG_LONG         2
#define S_FLAG_COMMAND      4
#define S_BUFFER_MIN        (64U << 10)
#define S_MAX_MESSAGE       (16ULL << 20)

struct _zeb_zmtp_t {
    int fd;
    bool broken;
    uint8_t *buffer;
    size_t capacity;
    size_t have;                //  bytes in buffer
    size_t start;               //  of them, already returned
    uint64_t max_message;
    int rcvtimeo;               //  SO_RCVTIMEO in effect, ms (0 = none)
    int sndtimeo;
    char error [256];
};

//  ---------------------------------------------------------------------
//  Decoding

int64_t
zeb_zmtp_decode (const uint8_t *data, size_t size, uint64_t max_size, zeb_zmtp_part_t *part)
{
    if (size < 2)
        return 0;
    uint8_t flags = data [0];
    if ((flags & ~(S_FLAG_MORE | S_FLAG_LONG | S_FLAG_COMMAND))
    ||  ((flags & S_FLAG_COMMAND) && (flags & S_FLAG_MORE)))
        return ZEB_EPROTOCOL;
    size_t header = flags & S_FLAG_LONG? 9: 2;
    if (size < header)
        return 0;
    uint64_t length = data [1];
    if (flags & S_FLAG_LONG) {
        length = 0;
        for (size_t index = 1; index < 9; index++)
            length = length << 8 | data [index];
    }
    if (length > max_size)
        return ZEB_ETOOBIG;
    if (size - header < length)
        return 0;
    part->more = (flags & S_FLAG_MORE) != 0;
    part->command = (flags & S_FLAG_COMMAND) != 0;
    part->body = data + header;
    part->size = length;
    return (int64_t) (header + length);
}

int
zeb_zmtp_check_greeting (const uint8_t *greeting, zeb_fault_t *fault)
{
    static const uint8_t null [20] = "NULL";
    if (greeting [0] != 0xFF || (greeting [9] & 1) != 1)
        return zeb_fault_set (fault, ZEB_EPROTOCOL, "zmtp: the peer does not speak ZMTP "
                              "(no signature)");
    if (greeting [10] < 3)
        return zeb_fault_set (fault, ZEB_EPROTOCOL, "zmtp: the peer speaks ZMTP %u.%u, not 3",
                              greeting [10], greeting [11]);
    if (memcmp (greeting + 12, null, sizeof (null)))
        return zeb_fault_set (fault, ZEB_EPROTOCOL, "zmtp: the peer's security mechanism is "
                              "not NULL ('%.20s')", (const char *) greeting + 12);
    return 0;
}

//  Whether a command body is the named command; *at is then past the name
static bool
s_command_is (const uint8_t *body, size_t size, const char *name, size_t *at)
{
    size_t len = strlen (name);
    if (size < 1 + len || body [0] != len || memcmp (body + 1, name, len))
        return false;
    *at = 1 + len;
    return true;
}

int
zeb_zmtp_check_ready (const uint8_t *body, size_t size, const char *mine, zeb_fault_t *fault)
{
    size_t at;
    if (s_command_is (body, size, "ERROR", &at)) {
        size_t len = at < size? body [at]: 0;
        if (at + 1 + len > size)
            len = size > at + 1? size - at - 1: 0;
        return zeb_fault_set (fault, ZEB_EPROTOCOL, "zmtp: the peer refused the connection: "
                              "%.*s", (int) len, (const char *) body + at + 1);
    }
    if (!s_command_is (body, size, "READY", &at))
        return zeb_fault_set (fault, ZEB_EPROTOCOL, "zmtp: the peer's first command is not READY");
    const uint8_t *type = NULL;
    size_t type_len = 0;
    while (at < size) {
        size_t name_len = body [at++];
        if (size - at < name_len + 4)
            return zeb_fault_set (fault, ZEB_EPROTOCOL, "zmtp: READY cut short in a property");
        const uint8_t *name = body + at;
        at += name_len;
        uint32_t value_len = (uint32_t) body [at] << 24 | (uint32_t) body [at + 1] << 16
                           | (uint32_t) body [at + 2] << 8 | body [at + 3];
        at += 4;
        if (size - at < value_len)
            return zeb_fault_set (fault, ZEB_EPROTOCOL, "zmtp: READY cut short in a value");
        if (name_len == 11 && strncasecmp ((const char *) name, "Socket-Type", 11) == 0) {
            type = body + at;
            type_len = value_len;
        }
        at += value_len;
    }
    if (!type)
        return zeb_fault_set (fault, ZEB_EPROTOCOL, "zmtp: READY without a Socket-Type");
    //  The pairs RFC 28 allows, for the types zeb connects as
    static const char *peers [][4] = {
        { "DEALER", "ROUTER", "DEALER", "REP" },
        { "REQ", "ROUTER", "REP", NULL },
    };
    for (size_t index = 0; index < sizeof (peers) / sizeof (peers [0]); index++) {
        if (!streq (peers [index][0], mine))
            continue;
        for (size_t peer = 1; peer < 4 && peers [index][peer]; peer++)
            if (strlen (peers [index][peer]) == type_len
            &&  memcmp (peers [index][peer], type, type_len) == 0)
                return 0;
    }
    return zeb_fault_set (fault, ZEB_EPROTOCOL, "zmtp: a %s cannot talk to the peer's %.*s",
                          mine, (int) (type_len > 20? 20: type_len), (const char *) type);
}

//  ---------------------------------------------------------------------
//  The connection

static int
s_fail (zeb_zmtp_t *self, int code, const char *format, ...) CHECK_PRINTF (3);

static int
s_fail (zeb_zmtp_t *self, int code, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    vsnprintf (self->error, sizeof (self->error), format, args);
    va_end (args);
    if (code != ZEB_ETIMEOUT)
        self->broken = true;
    return code;
}

static int
s_set_timeout (zeb_zmtp_t *self, int option, int *cached, int timeout_ms)
{
    if (timeout_ms == *cached)
        return 0;
    struct timeval value = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
    if (setsockopt (self->fd, SOL_SOCKET, option, &value, sizeof (value)))
        return -1;
    *cached = timeout_ms;
    return 0;
}

static int64_t
s_left_ms (int64_t deadline_us)
{
    int64_t left = (deadline_us - zeb_time_mono_us () + 999) / 1000;
    return left < 0? 0: left;
}

//  Write all of iov, within the deadline
static int
s_write (zeb_zmtp_t *self, struct iovec *iov, size_t count, int64_t deadline_us)
{
    while (count) {
        int64_t left = s_left_ms (deadline_us);
        if (left == 0)
            return s_fail (self, ZEB_ETIMEOUT, "zmtp: send timed out");
        if (s_set_timeout (self, SO_SNDTIMEO, &self->sndtimeo, (int) (left > INT_MAX? INT_MAX: left)))
            return s_fail (self, ZEB_EUNREACHABLE, "zmtp: setsockopt: %s", strerror (errno));
        struct msghdr header = { .msg_iov = iov, .msg_iovlen = count };
        ssize_t sent = sendmsg (self->fd, &header, MSG_NOSIGNAL);
        if (sent < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return s_fail (self, ZEB_EUNREACHABLE, "zmtp: send timed out mid-message");
            return s_fail (self, ZEB_EUNREACHABLE, "zmtp: send: %s", strerror (errno));
        }
        size_t done = (size_t) sent;
        while (count && done >= iov->iov_len) {
            done -= iov->iov_len;
            iov++;
            count--;
        }
        if (count) {
            iov->iov_base = (uint8_t *) iov->iov_base + done;
            iov->iov_len -= done;
        }
    }
    return 0;
}

//  Read what arrives into the buffer, waiting up to timeout_ms (0: what
//  is there). 0 when bytes came, else an error code.
static int
s_fill (zeb_zmtp_t *self, int64_t deadline_us, bool wait)
{
    if (self->start > 0 && (self->start == self->have || self->have == self->capacity)) {
        memmove (self->buffer, self->buffer + self->start, self->have - self->start);
        self->have -= self->start;
        self->start = 0;
    }
    if (self->have == self->capacity) {
        size_t capacity = self->capacity * 2;
        uint8_t *buffer = (uint8_t *) realloc (self->buffer, capacity);
        if (!buffer)
            return s_fail (self, ZEB_ETOOBIG, "zmtp: out of memory for a message");
        self->buffer = buffer;
        self->capacity = capacity;
    }
    while (true) {
        int flags = 0;
        if (!wait)
            flags = MSG_DONTWAIT;
        else {
            int64_t left = s_left_ms (deadline_us);
            if (left == 0)
                flags = MSG_DONTWAIT;
            else
            if (s_set_timeout (self, SO_RCVTIMEO, &self->rcvtimeo, (int) (left > INT_MAX? INT_MAX: left)))
                return s_fail (self, ZEB_EUNREACHABLE, "zmtp: setsockopt: %s", strerror (errno));
        }
        ssize_t got = recv (self->fd, self->buffer + self->have, self->capacity - self->have, flags);
        if (got > 0) {
            self->have += (size_t) got;
            return 0;
        }
        if (got == 0)
            return s_fail (self, ZEB_EUNREACHABLE, "zmtp: the peer closed the connection");
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return s_fail (self, ZEB_ETIMEOUT, "zmtp: no message in time");
        return s_fail (self, ZEB_EUNREACHABLE, "zmtp: recv: %s", strerror (errno));
    }
}

//  A command between messages: PING is answered, ERROR ends it all
static int
s_command (zeb_zmtp_t *self, const zeb_zmtp_part_t *part, int64_t deadline_us)
{
    size_t at;
    if (s_command_is (part->body, (size_t) part->size, "PING", &at) && part->size >= at + 2) {
        size_t context = (size_t) part->size - at - 2;
        if (context > 16)
            context = 16;
        uint8_t pong [2 + 5 + 16] = { S_FLAG_COMMAND, (uint8_t) (5 + context), 4, 'P', 'O', 'N', 'G' };
        memcpy (pong + 7, part->body + at + 2, context);
        struct iovec iov = { pong, 7 + context };
        return s_write (self, &iov, 1, deadline_us);
    }
    if (s_command_is (part->body, (size_t) part->size, "ERROR", &at)) {
        size_t len = at < part->size? part->body [at]: 0;
        if (at + 1 + len > part->size)
            len = 0;
        return s_fail (self, ZEB_EUNREACHABLE, "zmtp: the peer sent ERROR: %.*s", (int) len,
                       (const char *) part->body + at + 1);
    }
    return 0;
}

int
zeb_zmtp_recv (zeb_zmtp_t *self, zeb_zmtp_msg_t *msg, int timeout_ms)
{
    assert (self);
    assert (msg);
    if (self->broken)
        return ZEB_EUNREACHABLE;            //  error says why
    int64_t deadline_us = zeb_time_mono_us () + (int64_t) timeout_ms * 1000;
    bool waited = false;
    while (true) {
        //  A whole message in the buffer?
        size_t at = self->start;
        uint64_t total = 0;
        msg->count = msg->total = 0;
        while (true) {
            zeb_zmtp_part_t part;
            int64_t used = zeb_zmtp_decode (self->buffer + at, self->have - at,
                                            self->max_message - total, &part);
            if (used == ZEB_EPROTOCOL)
                return s_fail (self, ZEB_EPROTOCOL, "zmtp: malformed frame from the peer");
            if (used == ZEB_ETOOBIG)
                return s_fail (self, ZEB_ETOOBIG, "zmtp: a message from the peer is larger "
                               "than %" PRIu64 " bytes", self->max_message);
            if (used == 0)
                break;
            at += (size_t) used;
            if (part.command) {
                if (msg->total)
                    return s_fail (self, ZEB_EPROTOCOL, "zmtp: a command inside a message");
                int rc = s_command (self, &part, deadline_us);
                if (rc)
                    return rc;
                self->start = at;
                continue;
            }
            total += part.size;
            if (msg->count < ZEB_ZMTP_MAX_FRAMES)
                msg->frames [msg->count++] = (zeb_zmtp_frame_t) { part.body, (size_t) part.size };
            msg->total++;
            if (!part.more) {
                self->start = at;
                return 0;
            }
        }
        if (waited && timeout_ms == 0)
            return s_fail (self, ZEB_ETIMEOUT, "zmtp: no message");
        int rc = s_fill (self, deadline_us, timeout_ms > 0);
        if (rc)
            return rc;
        waited = true;
    }
}

int
zeb_zmtp_send (zeb_zmtp_t *self, const zeb_zmtp_frame_t *frames, size_t count, int timeout_ms)
{
    assert (self);
    assert (frames && count > 0 && count <= ZEB_ZMTP_MAX_FRAMES);
    if (self->broken)
        return ZEB_EUNREACHABLE;
    uint8_t headers [ZEB_ZMTP_MAX_FRAMES][9];
    struct iovec iov [ZEB_ZMTP_MAX_FRAMES * 2];
    size_t parts = 0;
    for (size_t index = 0; index < count; index++) {
        uint8_t *header = headers [index];
        uint8_t more = index + 1 < count? S_FLAG_MORE: 0;
        size_t size = frames [index].size;
        if (size < 256) {
            header [0] = more;
            header [1] = (uint8_t) size;
            iov [parts++] = (struct iovec) { header, 2 };
        }
        else {
            header [0] = more | S_FLAG_LONG;
            for (int byte = 0; byte < 8; byte++)
                header [1 + byte] = (uint8_t) ((uint64_t) size >> (56 - 8 * byte));
            iov [parts++] = (struct iovec) { header, 9 };
        }
        if (size)
            iov [parts++] = (struct iovec) { (void *) frames [index].data, size };
    }
    int rc = s_write (self, iov, parts, zeb_time_mono_us () + (int64_t) timeout_ms * 1000);
    //  A message half sent cannot be taken back: the connection is done
    if (rc == ZEB_ETIMEOUT)
        self->broken = true;
    return rc;
}

//  TCP connect to one address within the deadline: the descriptor, or -1
static int
s_connect_one (const struct addrinfo *address, int64_t deadline_us, int *error)
{
    int fd = socket (address->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *error = errno;
        return -1;
    }
    if (connect (fd, address->ai_addr, address->ai_addrlen) && errno != EINPROGRESS) {
        *error = errno;
        close (fd);
        return -1;
    }
    struct pollfd item = { fd, POLLOUT, 0 };
    int64_t left;
    while ((left = s_left_ms (deadline_us)) > 0) {
        int rc = poll (&item, 1, (int) (left > INT_MAX? INT_MAX: left));
        if (rc < 0 && errno == EINTR)
            continue;
        break;
    }
    int so_error = ETIMEDOUT;
    socklen_t len = sizeof (so_error);
    if (!(item.revents & (POLLOUT | POLLERR | POLLHUP))
    ||  getsockopt (fd, SOL_SOCKET, SO_ERROR, &so_error, &len) || so_error) {
        *error = so_error? so_error: errno;
        close (fd);
        return -1;
    }
    int one = 1;
    setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof (one));
    fcntl (fd, F_SETFL, fcntl (fd, F_GETFL) & ~O_NONBLOCK);
    return fd;
}

zeb_zmtp_t *
zeb_zmtp_connect (const char *endpoint, const char *socket_type, int timeout_ms, zeb_fault_t *fault)
{
    assert (endpoint);
    assert (socket_type && strlen (socket_type) < 32);
    //  tcp://host:port, host possibly [v6]
    const char *colon = strrchr (endpoint, ':');
    if (strncmp (endpoint, "tcp://", 6) || !colon || colon < endpoint + 7 || !colon [1]
    ||  strspn (colon + 1, "0123456789") != strlen (colon + 1)) {
        zeb_fault_set (fault, ZEB_EINVALID, "zmtp: '%.100s' is not tcp://host:port", endpoint);
        return NULL;
    }
    char host [256];
    size_t host_len = (size_t) (colon - endpoint - 6);
    const char *host_at = endpoint + 6;
    if (host_len >= 2 && host_at [0] == '[' && host_at [host_len - 1] == ']') {
        host_at++;
        host_len -= 2;
    }
    if (host_len == 0 || host_len >= sizeof (host)) {
        zeb_fault_set (fault, ZEB_EINVALID, "zmtp: '%.100s' is not tcp://host:port", endpoint);
        return NULL;
    }
    memcpy (host, host_at, host_len);
    host [host_len] = 0;
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
    struct addrinfo *addresses = NULL;
    int rc = getaddrinfo (host, colon + 1, &hints, &addresses);
    if (rc) {
        zeb_fault_set (fault, ZEB_EUNREACHABLE, "zmtp: %s: %s", host, gai_strerror (rc));
        return NULL;
    }
    int64_t deadline_us = zeb_time_mono_us () + (int64_t) timeout_ms * 1000;
    int fd = -1, error = 0;
    for (struct addrinfo *address = addresses; address && fd < 0; address = address->ai_next)
        fd = s_connect_one (address, deadline_us, &error);
    freeaddrinfo (addresses);
    if (fd < 0) {
        zeb_fault_set (fault, error == ETIMEDOUT? ZEB_ETIMEOUT: ZEB_EUNREACHABLE,
                       "zmtp: connect to %.100s: %s", endpoint, strerror (error));
        return NULL;
    }
    zeb_zmtp_t *self = (zeb_zmtp_t *) zmalloc (sizeof (zeb_zmtp_t));
    self->fd = fd;
    self->capacity = S_BUFFER_MIN;
    self->buffer = (uint8_t *) malloc (self->capacity);
    assert (self->buffer);
    self->max_message = S_MAX_MESSAGE;

    //  Greeting (ZMTP 3.0, NULL, not as-server) and READY, in one write
    uint8_t hello [ZEB_ZMTP_GREETING + 2 + 64] = { 0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 3, 0 };
    memcpy (hello + 12, "NULL", 4);
    uint8_t *ready = hello + ZEB_ZMTP_GREETING;
    size_t type_len = strlen (socket_type);
    size_t body = 0;
    uint8_t *out = ready + 2;
    out [body++] = 5;
    memcpy (out + body, "READY", 5);
    body += 5;
    out [body++] = 11;
    memcpy (out + body, "Socket-Type", 11);
    body += 11;
    out [body++] = 0;
    out [body++] = 0;
    out [body++] = 0;
    out [body++] = (uint8_t) type_len;
    memcpy (out + body, socket_type, type_len);
    body += type_len;
    ready [0] = S_FLAG_COMMAND;
    ready [1] = (uint8_t) body;
    struct iovec iov = { hello, ZEB_ZMTP_GREETING + 2 + body };
    rc = s_write (self, &iov, 1, deadline_us);

    //  Theirs, then their READY
    while (rc == 0 && self->have < ZEB_ZMTP_GREETING)
        rc = s_fill (self, deadline_us, true);
    if (rc == 0 && zeb_zmtp_check_greeting (self->buffer, fault))
        rc = ZEB_EPROTOCOL;
    self->start = ZEB_ZMTP_GREETING;
    bool readied = false;
    while (rc == 0 && !readied) {
        zeb_zmtp_part_t part;
        int64_t used = zeb_zmtp_decode (self->buffer + self->start, self->have - self->start,
                                        4096, &part);
        if (used < 0 || (used > 0 && !part.command)) {
            rc = zeb_fault_set (fault, ZEB_EPROTOCOL, "zmtp: %s from %.100s",
                                used < 0? "a malformed handshake": "a message before READY", endpoint);
            break;
        }
        if (used == 0) {
            rc = s_fill (self, deadline_us, true);
            continue;
        }
        rc = zeb_zmtp_check_ready (part.body, (size_t) part.size, socket_type, fault);
        self->start += (size_t) used;
        readied = rc == 0;
    }
    if (rc) {
        if (rc != ZEB_EPROTOCOL)
            zeb_fault_set (fault, rc, "%s (handshake with %.100s)", self->error, endpoint);
        zeb_zmtp_destroy (&self);
    }
    return self;
}

void
zeb_zmtp_destroy (zeb_zmtp_t **self_p)
{
    assert (self_p);
    zeb_zmtp_t *self = *self_p;
    if (self) {
        close (self->fd);
        free (self->buffer);
        free (self);
        *self_p = NULL;
    }
}

void
zeb_zmtp_set_max_message (zeb_zmtp_t *self, uint64_t max_size)
{
    assert (self);
    self->max_message = max_size;
}

const char *
zeb_zmtp_error (zeb_zmtp_t *self)
{
    assert (self);
    return self->error;
}

//  ---------------------------------------------------------------------
//  Self test: against real libzmq sockets

void
zeb_zmtp_test (bool verbose)
{
    printf (" * zeb_zmtp: ");

    //  The decoder: short and long frames, partial input, bounds, flags
    zeb_zmtp_part_t part;
    const uint8_t short_frame [] = { 1, 3, 'a', 'b', 'c' };
    assert (zeb_zmtp_decode (short_frame, 5, 100, &part) == 5);
    assert (part.more && !part.command && part.size == 3 && memcmp (part.body, "abc", 3) == 0);
    for (size_t cut = 0; cut < 5; cut++)
        assert (zeb_zmtp_decode (short_frame, cut, 100, &part) == 0);
    assert (zeb_zmtp_decode (short_frame, 5, 2, &part) == ZEB_ETOOBIG);
    const uint8_t long_frame [] = { 2, 0, 0, 0, 0, 0, 0, 0, 1, 'z' };
    assert (zeb_zmtp_decode (long_frame, 10, 100, &part) == 10);
    assert (!part.more && part.size == 1);
    const uint8_t huge [] = { 2, 0x80, 0, 0, 0, 0, 0, 0, 0 };
    assert (zeb_zmtp_decode (huge, 9, UINT64_MAX >> 1, &part) == ZEB_ETOOBIG);
    const uint8_t reserved [] = { 8, 0 };
    assert (zeb_zmtp_decode (reserved, 2, 100, &part) == ZEB_EPROTOCOL);
    const uint8_t more_command [] = { 5, 0 };
    assert (zeb_zmtp_decode (more_command, 2, 100, &part) == ZEB_EPROTOCOL);

    //  READY bodies
    zeb_fault_t fault;
    const uint8_t router [] = "\5READY\13Socket-Type\0\0\0\6ROUTER";
    assert (zeb_zmtp_check_ready (router, sizeof (router) - 1, "DEALER", &fault) == 0);
    const uint8_t pub [] = "\5READY\13socket-type\0\0\0\3PUB";
    assert (zeb_zmtp_check_ready (pub, sizeof (pub) - 1, "DEALER", &fault) == ZEB_EPROTOCOL);
    assert (strstr (fault.text, "PUB"));
    assert (zeb_zmtp_check_ready (router, 20, "DEALER", &fault) == ZEB_EPROTOCOL);
    const uint8_t error [] = "\5ERROR\7go away";
    assert (zeb_zmtp_check_ready (error, sizeof (error) - 1, "DEALER", &fault) == ZEB_EPROTOCOL);
    assert (strstr (fault.text, "go away"));
    assert (zeb_zmtp_check_ready ((const uint8_t *) "\5READY\3", 7, "DEALER", &fault) == ZEB_EPROTOCOL);

    //  A libzmq ROUTER on an ephemeral port: round trips both ways
    zsock_t *server = zsock_new (ZMQ_ROUTER);
    assert (server);
    int port = zsock_bind (server, "tcp://127.0.0.1:*[60000-]");
    assert (port > 0);
    char endpoint [64];
    snprintf (endpoint, sizeof (endpoint), "tcp://127.0.0.1:%d", port);
    zeb_zmtp_t *client = zeb_zmtp_connect (endpoint, "DEALER", 5000, &fault);
    if (!client)
        fprintf (stderr, "zmtp: %s\n", fault.text);
    assert (client);
    zeb_zmtp_frame_t frames [3] = { { "PUBLISH", 7 }, { NULL, 0 }, { "tag", 3 } };
    uint8_t *big = (uint8_t *) malloc (100000);
    assert (big);
    for (size_t index = 0; index < 100000; index++)
        big [index] = (uint8_t) index;
    for (int round = 0; round < 50; round++) {
        size_t size = round % 2? 100000: (size_t) round * 5;
        frames [1] = (zeb_zmtp_frame_t) { big, size };
        assert (zeb_zmtp_send (client, frames, 3, 5000) == 0);
        zmsg_t *request = zmsg_recv (server);
        assert (request && zmsg_size (request) == 4);
        zframe_t *identity = zmsg_pop (request);
        zframe_t *command = zmsg_pop (request);
        zframe_t *body = zmsg_pop (request);
        assert (zframe_streq (command, "PUBLISH") && zframe_size (body) == size);
        assert (size == 0 || memcmp (zframe_data (body), big, size) == 0);
        zmsg_t *reply = zmsg_new ();
        zmsg_append (reply, &identity);
        zmsg_addstr (reply, "ACK");
        zmsg_append (reply, &body);
        zmsg_addstr (reply, "tag");
        zframe_destroy (&command);
        zmsg_destroy (&request);
        assert (zmsg_send (&reply, server) == 0);
        zeb_zmtp_msg_t msg;
        assert (zeb_zmtp_recv (client, &msg, 5000) == 0);
        assert (msg.count == 3 && msg.total == 3);
        assert (msg.frames [0].size == 3 && memcmp (msg.frames [0].data, "ACK", 3) == 0);
        assert (msg.frames [1].size == size);
        assert (size == 0 || memcmp (msg.frames [1].data, big, size) == 0);
    }
    //  Nothing waiting: a timeout, and the connection still works
    zeb_zmtp_msg_t msg;
    int64_t before = zeb_time_mono_us ();
    assert (zeb_zmtp_recv (client, &msg, 50) == ZEB_ETIMEOUT);
    assert (zeb_time_mono_us () - before >= 40000);
    assert (zeb_zmtp_recv (client, &msg, 0) == ZEB_ETIMEOUT);
    //  More frames than kept, and a message over the bound
    zeb_zmtp_set_max_message (client, 50000);
    frames [1] = (zeb_zmtp_frame_t) { "x", 1 };
    assert (zeb_zmtp_send (client, frames, 3, 5000) == 0);
    zmsg_t *request = zmsg_recv (server);
    assert (request);
    zframe_t *identity = zmsg_pop (request);
    zmsg_destroy (&request);
    zmsg_t *reply = zmsg_new ();
    zframe_t *copy = zframe_dup (identity);
    zmsg_append (reply, &copy);
    for (int index = 0; index < 10; index++)
        zmsg_addstr (reply, "f");
    assert (zmsg_send (&reply, server) == 0);
    assert (zeb_zmtp_recv (client, &msg, 5000) == 0);
    assert (msg.count == ZEB_ZMTP_MAX_FRAMES && msg.total == 10);
    reply = zmsg_new ();
    zmsg_append (reply, &identity);
    zmsg_addmem (reply, big, 60000);
    assert (zmsg_send (&reply, server) == 0);
    assert (zeb_zmtp_recv (client, &msg, 5000) == ZEB_ETOOBIG);
    assert (zeb_zmtp_recv (client, &msg, 0) == ZEB_EUNREACHABLE);
    assert (zeb_zmtp_send (client, frames, 3, 100) == ZEB_EUNREACHABLE);
    if (verbose)
        printf ("(%s) ", zeb_zmtp_error (client));
    zeb_zmtp_destroy (&client);
    zeb_zmtp_destroy (&client);             //  safe twice
    free (big);

    //  A closed peer: the recv says so
    client = zeb_zmtp_connect (endpoint, "DEALER", 5000, &fault);
    assert (client);
    zsock_destroy (&server);
    assert (zeb_zmtp_recv (client, &msg, 5000) == ZEB_EUNREACHABLE);
    zeb_zmtp_destroy (&client);
    //  Nobody listening, a malformed endpoint, a socket of the wrong type
    assert (!zeb_zmtp_connect (endpoint, "DEALER", 2000, &fault));
    assert (fault.code == ZEB_EUNREACHABLE);
    assert (!zeb_zmtp_connect ("ipc:///tmp/x", "DEALER", 100, &fault) && fault.code == ZEB_EINVALID);
    assert (!zeb_zmtp_connect ("tcp://127.0.0.1:", "DEALER", 100, &fault) && fault.code == ZEB_EINVALID);
    zsock_t *publisher = zsock_new (ZMQ_PUB);
    port = zsock_bind (publisher, "tcp://127.0.0.1:*[60000-]");
    assert (port > 0);
    snprintf (endpoint, sizeof (endpoint), "tcp://127.0.0.1:%d", port);
    //  (its READY refused here, or the connection dropped there first)
    assert (!zeb_zmtp_connect (endpoint, "DEALER", 5000, &fault));
    assert (fault.code == ZEB_EPROTOCOL || fault.code == ZEB_EUNREACHABLE);
    if (verbose)
        printf ("(%s) ", fault.text);
    zsock_destroy (&publisher);
    printf ("OK\n");
}
