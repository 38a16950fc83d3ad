/*  =========================================================================
    receiver - a real HTTP/1.1 server for webhook tests and the bench

    One thread, one epoll set, any number of keep-alive connections, bound
    on 127.0.0.1 on an ephemeral port. It answers each request as its mode
    says (for its path, or the global mode) and records it: method, path,
    headers, body, when it arrived and on which connection. Every call is
    thread-safe; waiting is on a condition with a deadline, never a sleep.

    Limits: requests have a Content-Length body (or none), at most
    RECEIVER_MAX_BODY bytes; chunked request bodies are answered 411 and
    the connection closed. Requests on a connection are answered in order
    (a held one holds the ones behind it). "Expect: 100-continue" is
    answered. HTTP/1.0 and "Connection: close" close after the answer.

    Depends on libc and pthreads only (zeb-bench links it too).
    =========================================================================
*/

#ifndef RECEIVER_H_INCLUDED
#define RECEIVER_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RECEIVER_MAX_BODY   (16 * 1024 * 1024)
#define RECEIVER_MAX_PATHS  32

typedef struct _receiver_t receiver_t;

typedef enum {
    RECEIVER_OK = 0,            //  200 {"ok":true}
    RECEIVER_FAIL,              //  500
    RECEIVER_STATUS,            //  the status arg (404, 408, 503...)
    RECEIVER_STALL,             //  arg 0: never answer; N > 0: answer 200 after N ms
    RECEIVER_HOLD,              //  hold until receiver_release, then 200
    RECEIVER_RETRY_AFTER,       //  429 with Retry-After: arg (seconds)
    RECEIVER_RETRY_AFTER_DATE,  //  429 with Retry-After: the HTTP date arg seconds from now
    RECEIVER_GONE,              //  410
    RECEIVER_REDIRECT,          //  the 3xx status arg (0: 302), Location: /moved
    RECEIVER_CLOSE              //  close the connection, unanswered
} receiver_mode_t;

//  One request as it was received. The strings are the receiver's copies,
//  owned by the record: receiver_request_reset frees them.
typedef struct {
    char method [16];
    char path [512];            //  as sent, with any query
    char *headers;              //  the header lines as received ("Name: value\r\n"...)
    char *body;                 //  body_size bytes (and a NUL after them)
    size_t body_size;
    int64_t arrived_us;         //  CLOCK_MONOTONIC, when the request was complete
    int64_t answered_us;        //  when its answer was queued; 0 if not (yet)
    int status;                 //  what it was answered; 0 if not (yet)
    uint64_t connection;        //  its connection, numbered from 1
} receiver_request_t;

//  A receiver running on 127.0.0.1:ephemeral, answering RECEIVER_OK.
//  NULL if it cannot bind or start its thread.
receiver_t *
    receiver_new (void);

//  Stop, close every connection, free. Safe with NULL.
void
    receiver_destroy (receiver_t **self_p);

int
    receiver_port (receiver_t *self);

//  How every path without a mode of its own is answered from now on.
void
    receiver_set_mode (receiver_t *self, receiver_mode_t mode, int arg);

//  How path (exact, query included) is answered; at most
//  RECEIVER_MAX_PATHS paths (asserts past that).
void
    receiver_set_path_mode (receiver_t *self, const char *path, receiver_mode_t mode, int arg);

//  Answer every request held by RECEIVER_HOLD now (200).
void
    receiver_release (receiver_t *self);

//  Keep records of requests (default) or only count them (the bench).
void
    receiver_set_recording (receiver_t *self, bool recording);

//  Requests received (complete), connections accepted, and the most
//  requests held unanswered at once, since start or receiver_clear.
size_t
    receiver_count (receiver_t *self);
size_t
    receiver_connections (receiver_t *self);
size_t
    receiver_max_pending (receiver_t *self);

//  Forget the records and zero the counts (open connections stay open).
void
    receiver_clear (receiver_t *self);

//  A copy of the index'th request recorded (from 0) into *request.
//  Returns false if there is no such record. Free with receiver_request_reset.
bool
    receiver_request (receiver_t *self, size_t index, receiver_request_t *request);
void
    receiver_request_reset (receiver_request_t *request);

//  The value of header name (case-insensitive) in a recorded request,
//  copied into value (size bytes); false if it has none.
bool
    receiver_request_header (const receiver_request_t *request, const char *name,
                             char *value, size_t size);

//  Wait until at least count requests were received, at most timeout_ms.
//  Returns true if they were.
bool
    receiver_wait_count (receiver_t *self, size_t count, int timeout_ms);

#endif
