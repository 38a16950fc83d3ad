/*  =========================================================================
    zeb_loop - the one event loop every zeb actor runs
    =========================================================================
*/

#include "zeb_actors.h"
#include <poll.h>

typedef struct {
    zsock_t *socket;                //  NULL for a plain descriptor
    int fd;
    zeb_loop_fn *fn;
    void *arg;
    bool ready;                     //  call before waiting
    bool paused;
    bool trusted;                   //  owner marks ready after sends
} s_reader_t;

struct _zeb_loop_t {
    s_reader_t readers [ZEB_LOOP_MAX];
    size_t count;
    zeb_loop_tick_fn *tick;
    void *tick_arg;
    int64_t spin;                   //  us to poll without sleeping first
};

zeb_loop_t *
zeb_loop_new (void)
{
    return (zeb_loop_t *) zmalloc (sizeof (zeb_loop_t));
}

void
zeb_loop_destroy (zeb_loop_t **self_p)
{
    assert (self_p);
    free (*self_p);
    *self_p = NULL;
}

static int
s_add (zeb_loop_t *self, zsock_t *socket, int fd, zeb_loop_fn *fn, void *arg)
{
    assert (self);
    assert (fn);
    if (self->count == ZEB_LOOP_MAX)
        return -1;
    self->readers [self->count++] = (s_reader_t) { socket, fd, fn, arg, socket != NULL, false, false };
    return 0;
}

int
zeb_loop_add_socket (zeb_loop_t *self, zsock_t *socket, zeb_loop_fn *fn, void *arg)
{
    assert (socket);
    return s_add (self, socket, zsock_fd (socket), fn, arg);
}

int
zeb_loop_add_fd (zeb_loop_t *self, int fd, zeb_loop_fn *fn, void *arg)
{
    return s_add (self, NULL, fd, fn, arg);
}

size_t
zeb_loop_size (zeb_loop_t *self)
{
    assert (self);
    return self->count;
}

void
zeb_loop_truncate (zeb_loop_t *self, size_t count)
{
    assert (self);
    if (count < self->count)
        self->count = count;
    self->tick = NULL;
    self->tick_arg = NULL;
}

static s_reader_t *
s_find (zeb_loop_t *self, zsock_t *socket)
{
    for (size_t index = 0; index < self->count; index++)
        if (self->readers [index].socket == socket)
            return &self->readers [index];
    return NULL;
}

void
zeb_loop_remove (zeb_loop_t *self, zsock_t *socket, int fd)
{
    assert (self);
    for (size_t index = 0; index < self->count; index++) {
        s_reader_t *reader = &self->readers [index];
        if (socket? reader->socket == socket: (!reader->socket && reader->fd == fd)) {
            self->readers [index] = self->readers [--self->count];
            return;
        }
    }
}

void
zeb_loop_trust (zeb_loop_t *self, zsock_t *socket)
{
    s_reader_t *reader = s_find (self, socket);
    if (reader)
        reader->trusted = true;
}

void
zeb_loop_ready (zeb_loop_t *self, zsock_t *socket)
{
    s_reader_t *reader = s_find (self, socket);
    if (reader)
        reader->ready = true;
}

void
zeb_loop_pause (zeb_loop_t *self, zsock_t *socket, bool paused)
{
    s_reader_t *reader = s_find (self, socket);
    if (reader)
        reader->paused = paused;
}

void
zeb_loop_set_tick (zeb_loop_t *self, zeb_loop_tick_fn *fn, void *arg)
{
    assert (self);
    self->tick = fn;
    self->tick_arg = arg;
}

void
zeb_loop_set_spin (zeb_loop_t *self, int64_t usecs)
{
    assert (self);
    self->spin = usecs > 0? usecs: 0;
}

//  Wait as poll (2) does; with a spin, look without sleeping for up to
//  that long first, so that what comes meanwhile finds the thread awake
static int
s_wait (zeb_loop_t *self, struct pollfd *fds, nfds_t count, int timeout)
{
    if (timeout == 0 || self->spin == 0)
        return poll (fds, count, timeout);
    int64_t until = zeb_time_mono_us () + self->spin;
    do {
        int rc = poll (fds, count, 0);
        if (rc != 0)
            return rc;
    } while (zeb_time_mono_us () < until);
    return poll (fds, count, timeout);
}

int
zeb_loop_run (zeb_loop_t *self)
{
    assert (self);
    struct pollfd fds [ZEB_LOOP_MAX];
    size_t which [ZEB_LOOP_MAX];
    while (true) {
        //  Serve whatever may have work, without blocking; a reader may
        //  add or remove readers, so look at the table afresh each time
        bool busy = false;
        for (size_t index = 0; index < self->count; index++) {
            s_reader_t *reader = &self->readers [index];
            if (!reader->ready || reader->paused)
                continue;
            reader->ready = false;
            int rc = reader->fn (reader->arg);
            if (rc < 0)
                return 0;
            if (rc > 0 && index < self->count)
                self->readers [index].ready = true;
        }
        int timeout = self->tick? self->tick (self->tick_arg): -1;
        size_t count = 0;
        for (size_t index = 0; index < self->count; index++) {
            s_reader_t *reader = &self->readers [index];
            if (reader->paused)
                continue;
            if (reader->socket && !reader->trusted && !reader->ready
            &&  (zsock_events (reader->socket) & ZMQ_POLLIN))
                reader->ready = true;
            busy = busy || reader->ready;
            fds [count] = (struct pollfd) { reader->fd, POLLIN, 0 };
            which [count++] = index;
        }
        int rc = s_wait (self, fds, (nfds_t) count, busy? 0: timeout);
        if (rc < 0 && errno != EINTR)
            zsys_error ("loop: poll: %s", strerror (errno));     //  ENOMEM: try again
        for (size_t index = 0; rc > 0 && index < count; index++)
            if (fds [index].revents)
                self->readers [which [index]].ready = true;
    }
}

//  ---------------------------------------------------------------------
//  Self test

typedef struct {
    zsock_t *socket;
    int received;
    int stop_after;
    int ticks;
    int efd;
    int fd_calls;
} s_test_t;

static int
s_test_reader (void *arg)
{
    s_test_t *test = (s_test_t *) arg;
    char *text = zstr_recv_nowait (test->socket);
    if (!text)
        return 0;
    zstr_free (&text);
    return ++test->received == test->stop_after? -1: 1;
}

static int
s_test_fd (void *arg)
{
    s_test_t *test = (s_test_t *) arg;
    uint64_t value;
    if (read (test->efd, &value, sizeof (value)) == sizeof (value))
        test->fd_calls++;
    return 0;
}

static int
s_test_tick (void *arg)
{
    s_test_t *test = (s_test_t *) arg;
    test->ticks++;
    return 1000;
}

//  Sends 20 messages to the endpoint in args, 300 us apart: with a spin
//  of 200 us, some come while the loop spins and some while it sleeps
static void
s_test_pacer (zsock_t *pipe, void *args)
{
    zsock_t *push = zsock_new_push ((const char *) args);
    zsock_signal (pipe, 0);
    for (int index = 0; push && index < 20; index++) {
        zstr_send (push, "paced");
        usleep (300);
    }
    char *command = zstr_recv (pipe);       //  $TERM
    zstr_free (&command);
    zsock_destroy (&push);
}

void
zeb_loop_test (bool verbose)
{
    printf (" * zeb_loop: ");
    char endpoint [64];
    static int counter = 0;
    snprintf (endpoint, sizeof (endpoint), "inproc://zeb-loop-test-%d-%d", getpid (), ++counter);
    zsock_t *pull = zsock_new_pull (endpoint);
    zsock_t *push = zsock_new_push (endpoint);
    assert (pull && push);
    s_test_t test = { pull, 0, 10, 0, eventfd (0, EFD_NONBLOCK | EFD_CLOEXEC), 0 };
    assert (test.efd >= 0);
    //  Messages queued before the loop starts, an eventfd that fired
    for (int index = 0; index < 4; index++)
        zstr_send (push, "early");
    uint64_t one = 1;
    assert (write (test.efd, &one, sizeof (one)) == sizeof (one));
    zeb_loop_t *loop = zeb_loop_new ();
    assert (zeb_loop_add_socket (loop, pull, s_test_reader, &test) == 0);
    assert (zeb_loop_add_fd (loop, test.efd, s_test_fd, &test) == 0);
    zeb_loop_set_tick (loop, s_test_tick, &test);
    //  Six more: the loop stops at the tenth, from the reader
    for (int index = 0; index < 6; index++)
        zstr_send (push, "late");
    zeb_loop_run (loop);
    assert (test.received == 10 && test.fd_calls == 1 && test.ticks >= 1);

    //  Paused: nothing read; resumed: read again
    zstr_send (push, "held");
    zeb_loop_pause (loop, pull, true);
    zeb_loop_remove (loop, NULL, test.efd);
    zeb_loop_add_fd (loop, test.efd, s_test_fd, &test);
    test.stop_after = 11;
    assert (write (test.efd, &one, sizeof (one)) == sizeof (one));
    zeb_loop_pause (loop, pull, false);
    zeb_loop_run (loop);
    assert (test.received == 11);

    //  A spin loses nothing, whether a message comes while the loop
    //  spins or after it has gone to sleep; a negative spin is none
    zeb_loop_set_spin (loop, -5);
    assert (loop->spin == 0);
    zeb_loop_set_spin (loop, 200);
    test.stop_after = 31;
    zactor_t *pacer = zactor_new (s_test_pacer, endpoint);
    assert (pacer);
    zeb_loop_run (loop);
    assert (test.received == 31);
    zactor_destroy (&pacer);

    //  Full: ZEB_LOOP_MAX readers at most
    while (zeb_loop_add_fd (loop, test.efd, s_test_fd, &test) == 0)
        ;
    zeb_loop_destroy (&loop);
    zeb_loop_destroy (&loop);
    close (test.efd);
    zsock_destroy (&push);
    zsock_destroy (&pull);
    printf ("OK\n");
}
