/*  =========================================================================
    zeb_loop - the one event loop every zeb actor runs

    A reactor over ZeroMQ sockets and plain descriptors (eventfds), in one
    poll(2). Each reader has a handler that returns:

       0   drained: the socket (or descriptor) had nothing more waiting;
           wait for its descriptor before calling again
       1   may have more: call again before waiting (a batch limit was
           reached, or the handler stopped early on purpose)
      -1   stop the loop (zeb_loop_run returns)

    ZeroMQ sockets are waited on through ZMQ_FD, which signals *commands*
    for the socket, not messages: a socket whose signal was consumed by a
    send (or by an earlier receive) may hold messages although its
    descriptor stays quiet. So a socket reader is called until it reports
    drained, and before each wait the loop asks every socket for
    ZMQ_EVENTS (as zmq_poll does). On a hot path where that question costs
    too much (it is a system call or two per socket), zeb_loop_trust marks
    a socket whose owner calls zeb_loop_ready after every send on it; the
    loop then relies on its descriptor alone.

    A tick function, if set, runs on every turn and returns the longest the
    loop may wait, in ms (-1: no limit): timers and deadlines live there.
    The loop never looks at zsys_interrupted: an actor stops when its owner
    says so ($TERM), never because the process got a signal (the embedding
    application owns signals; zebd turns SIGTERM into a clean stop).

    A loop holds at most ZEB_LOOP_MAX readers; it belongs to one thread.
    =========================================================================
*/

#ifndef ZEB_LOOP_H_INCLUDED
#define ZEB_LOOP_H_INCLUDED

#define ZEB_LOOP_MAX    16

typedef struct _zeb_loop_t zeb_loop_t;

//  A reader: 0 drained, 1 call again, -1 stop (see above).
typedef int (zeb_loop_fn) (void *arg);

//  Runs every turn; returns the longest wait in ms, or -1 for none.
typedef int (zeb_loop_tick_fn) (void *arg);

zeb_loop_t *
    zeb_loop_new (void);

//  Destroy; the sockets stay the caller's. Safe with NULL.
void
    zeb_loop_destroy (zeb_loop_t **self_p);

//  Call fn (arg) when socket may have messages. The socket is borrowed
//  and must outlive its registration. Returns 0, or -1 when full.
int
    zeb_loop_add_socket (zeb_loop_t *self, zsock_t *socket, zeb_loop_fn *fn, void *arg);

//  Call fn (arg) while descriptor fd is readable (level-triggered).
int
    zeb_loop_add_fd (zeb_loop_t *self, int fd, zeb_loop_fn *fn, void *arg);

//  How many readers the loop holds, and forget every reader added after
//  the first count of them, and the tick (the kit undoes a failed start).
size_t
    zeb_loop_size (zeb_loop_t *self);
void
    zeb_loop_truncate (zeb_loop_t *self, size_t count);

//  Forget the reader of this socket (or, with socket NULL, of fd).
void
    zeb_loop_remove (zeb_loop_t *self, zsock_t *socket, int fd);

//  The owner calls zeb_loop_ready after each send on this socket: the
//  loop skips its ZMQ_EVENTS question.
void
    zeb_loop_trust (zeb_loop_t *self, zsock_t *socket);

//  Call this socket's reader again before waiting.
void
    zeb_loop_ready (zeb_loop_t *self, zsock_t *socket);

//  While paused, a socket is neither read nor waited on: its messages
//  stay queued in ZeroMQ (back-pressure to the peers).
void
    zeb_loop_pause (zeb_loop_t *self, zsock_t *socket, bool paused);

void
    zeb_loop_set_tick (zeb_loop_t *self, zeb_loop_tick_fn *fn, void *arg);

//  Before each wait, poll without sleeping for up to usecs (0, the
//  default: sleep at once). Costs CPU while idle for up to usecs after
//  each wake-up; saves the wake-up of a thread that sleeps when the next
//  message comes within that time.
void
    zeb_loop_set_spin (zeb_loop_t *self, int64_t usecs);

//  Run until a reader returns -1. Returns 0.
int
    zeb_loop_run (zeb_loop_t *self);

//  Self test
void
    zeb_loop_test (bool verbose);

#endif
