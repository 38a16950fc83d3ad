/*  =========================================================================
    receiver - a real HTTP/1.1 server for webhook tests and the bench

    The server thread owns the connections; the caller's threads share the
    modes, the records and the counters with it under one mutex. A
    connection reads until a whole request is in its buffer, records it,
    and answers now, later (a delay, a hold) or never; while a request
    waits, the connection reads nothing more (answers stay in order).
    =========================================================================
*/

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "receiver.h"
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define S_MAX_HEAD      (64 * 1024)         //  request line and headers
#define S_EVENTS        256
#define S_NOT_RECORDED  ((size_t) -1)

typedef struct {
    char path [512];
    receiver_mode_t mode;
    int arg;
} s_rule_t;

typedef struct _s_conn_t s_conn_t;
struct _s_conn_t {
    int fd;
    uint64_t number;
    char *in;                       //  bytes read, not yet a whole request
    size_t in_size;
    size_t in_cap;
    char *out;                      //  answer bytes not yet sent
    size_t out_size;
    size_t out_sent;
    size_t out_cap;
    bool waiting;                   //  a request waits for its answer
    bool held;                      //  ...until receiver_release
    int64_t due_us;                 //  ...until then (0: never)
    size_t record;                  //  its record, or S_NOT_RECORDED
    bool continued;                 //  "100 Continue" sent for the request in hand
    bool close_after;               //  close once the answer is out
    bool writing;                   //  EPOLLOUT wanted
    bool dead;                      //  closed: freed after the events in hand
    s_conn_t *prev;
    s_conn_t *next;
};

struct _receiver_t {
    s_conn_t *graves;               //  closed connections, freed after each epoll batch
    int listener;
    int wake;                       //  eventfd: stop, release
    int epoll;
    int port;
    pthread_t thread;
    pthread_mutex_t mutex;
    pthread_cond_t arrived;
    //  Shared, under mutex
    bool stop;
    uint64_t releases;              //  receiver_release calls
    receiver_mode_t mode;
    int arg;
    s_rule_t rules [RECEIVER_MAX_PATHS];
    size_t rule_count;
    bool recording;
    receiver_request_t *records;
    size_t record_count;
    size_t record_cap;
    size_t count;
    size_t connections;
    size_t pending;
    size_t max_pending;
    //  The thread's own
    s_conn_t *conns;
    uint64_t conn_numbers;
    size_t waiting;                 //  connections with a due time
    uint64_t releases_seen;
};

static int listener_tag, wake_tag;  //  epoll tags of the two descriptors that are not connections

static int64_t
s_now_us (void)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return (int64_t) now.tv_sec * 1000000 + now.tv_nsec / 1000;
}

static void
s_grow (char **buffer, size_t *cap, size_t need)
{
    if (need <= *cap)
        return;
    size_t size = *cap? *cap: 4096;
    while (size < need)
        size *= 2;
    *buffer = (char *) realloc (*buffer, size);
    assert (*buffer);
    *cap = size;
}

//  ---------------------------------------------------------------------
//  Connections

static void
s_conn_watch (receiver_t *self, s_conn_t *conn, bool writing)
{
    if (conn->writing == writing)
        return;
    conn->writing = writing;
    struct epoll_event event = { .events = EPOLLIN | (writing? EPOLLOUT: 0), .data.ptr = conn };
    epoll_ctl (self->epoll, EPOLL_CTL_MOD, conn->fd, &event);
}

static void
s_conn_close (receiver_t *self, s_conn_t *conn)
{
    if (conn->dead)
        return;
    if (conn->waiting) {
        pthread_mutex_lock (&self->mutex);
        self->pending--;
        pthread_mutex_unlock (&self->mutex);
        if (conn->due_us)
            self->waiting--;
    }
    //  Out of the epoll set before close: a forked child that holds the
    //  descriptor until its exec would keep its events coming
    epoll_ctl (self->epoll, EPOLL_CTL_DEL, conn->fd, NULL);
    close (conn->fd);
    if (conn->prev)
        conn->prev->next = conn->next;
    else
        self->conns = conn->next;
    if (conn->next)
        conn->next->prev = conn->prev;
    //  Freed after the events in hand: one of them may still name it
    conn->dead = true;
    conn->next = self->graves;
    self->graves = conn;
}

static void
s_bury (receiver_t *self)
{
    while (self->graves) {
        s_conn_t *conn = self->graves;
        self->graves = conn->next;
        free (conn->in);
        free (conn->out);
        free (conn);
    }
}

//  Send what is queued; false if the connection is gone
static bool
s_conn_flush (receiver_t *self, s_conn_t *conn)
{
    while (conn->out_sent < conn->out_size) {
        ssize_t sent = send (conn->fd, conn->out + conn->out_sent, conn->out_size - conn->out_sent,
                             MSG_NOSIGNAL);
        if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            s_conn_watch (self, conn, true);
            return true;
        }
        if (sent <= 0) {
            s_conn_close (self, conn);
            return false;
        }
        conn->out_sent += (size_t) sent;
    }
    conn->out_sent = conn->out_size = 0;
    s_conn_watch (self, conn, false);
    if (conn->close_after && !conn->waiting) {
        s_conn_close (self, conn);
        return false;
    }
    return true;
}

static void
s_conn_queue (s_conn_t *conn, const char *data, size_t size)
{
    s_grow (&conn->out, &conn->out_cap, conn->out_size + size);
    memcpy (conn->out + conn->out_size, data, size);
    conn->out_size += size;
}

static const char *
s_reason (int status)
{
    switch (status) {
        case 100: return "Continue";
        case 200: return "OK";
        case 301: return "Moved Permanently";
        case 302: return "Found";
        case 307: return "Temporary Redirect";
        case 308: return "Permanent Redirect";
        case 400: return "Bad Request";
        case 404: return "Not Found";
        case 408: return "Request Timeout";
        case 410: return "Gone";
        case 411: return "Length Required";
        case 413: return "Content Too Large";
        case 429: return "Too Many Requests";
        case 500: return "Internal Server Error";
        case 502: return "Bad Gateway";
        case 503: return "Service Unavailable";
        default:  return "Status";
    }
}

//  Queue the answer to the request in hand, and mark it answered
static void
s_answer (receiver_t *self, s_conn_t *conn, int status, const char *extra)
{
    char body [64];
    if (status >= 200 && status < 300)
        snprintf (body, sizeof (body), "{\"ok\":true}");
    else
        snprintf (body, sizeof (body), "{\"error\":\"%s\"}", s_reason (status));
    char head [512];
    int size = snprintf (head, sizeof (head),
                         "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n%s%s\r\n",
                         status, s_reason (status), strlen (body), extra? extra: "",
                         conn->close_after? "Connection: close\r\n": "");
    s_conn_queue (conn, head, (size_t) size);
    s_conn_queue (conn, body, strlen (body));
    pthread_mutex_lock (&self->mutex);
    if (conn->record != S_NOT_RECORDED && conn->record < self->record_count) {
        self->records [conn->record].status = status;
        self->records [conn->record].answered_us = s_now_us ();
    }
    self->pending--;
    pthread_mutex_unlock (&self->mutex);
    if (conn->waiting && conn->due_us)
        self->waiting--;
    conn->waiting = conn->held = false;
    conn->due_us = 0;
}

//  ---------------------------------------------------------------------
//  Requests

typedef struct {
    char method [16];
    char path [512];
    const char *headers;            //  into the connection's buffer
    size_t headers_size;
    size_t head_size;               //  request line, headers, blank line
    size_t body_size;
    bool chunked;
    bool close;
    bool expect;
} s_head_t;

//  The value of header name in lines (size bytes), or NULL; *len its length
static const char *
s_header_find (const char *lines, size_t size, const char *name, size_t *len)
{
    size_t name_len = strlen (name);
    const char *end = lines + size;
    for (const char *line = lines; line < end; ) {
        const char *eol = memmem (line, (size_t) (end - line), "\r\n", 2);
        if (!eol)
            eol = end;
        if ((size_t) (eol - line) > name_len && line [name_len] == ':'
        &&  strncasecmp (line, name, name_len) == 0) {
            const char *value = line + name_len + 1;
            while (value < eol && (*value == ' ' || *value == '\t'))
                value++;
            *len = (size_t) (eol - value);
            return value;
        }
        line = eol + 2;
    }
    return NULL;
}

//  1: a whole head is in the buffer; 0: not yet; -1: not HTTP
static int
s_head_parse (s_conn_t *conn, s_head_t *head)
{
    const char *end = memmem (conn->in, conn->in_size, "\r\n\r\n", 4);
    if (!end)
        return conn->in_size > S_MAX_HEAD? -1: 0;
    memset (head, 0, sizeof (*head));
    head->head_size = (size_t) (end - conn->in) + 4;
    const char *eol = memmem (conn->in, head->head_size, "\r\n", 2);
    char version [16] = "";
    char line [1024];
    size_t line_len = (size_t) (eol - conn->in);
    if (line_len >= sizeof (line))
        return -1;
    memcpy (line, conn->in, line_len);
    line [line_len] = 0;
    if (sscanf (line, "%15s %511s %15s", head->method, head->path, version) != 3
    ||  strncmp (version, "HTTP/1.", 7))
        return -1;
    head->headers = eol + 2;
    head->headers_size = (size_t) (end + 2 - head->headers);
    size_t len;
    const char *value = s_header_find (head->headers, head->headers_size, "Content-Length", &len);
    if (value) {
        char *stop;
        unsigned long long size = strtoull (value, &stop, 10);
        if (stop == value || size > RECEIVER_MAX_BODY)
            return -1;
        head->body_size = (size_t) size;
    }
    value = s_header_find (head->headers, head->headers_size, "Transfer-Encoding", &len);
    head->chunked = value && len == 7 && strncasecmp (value, "chunked", 7) == 0;
    value = s_header_find (head->headers, head->headers_size, "Connection", &len);
    head->close = strcmp (version, "HTTP/1.0") == 0 || (value && len == 5 && strncasecmp (value, "close", 5) == 0);
    value = s_header_find (head->headers, head->headers_size, "Expect", &len);
    head->expect = value && len == 12 && strncasecmp (value, "100-continue", 12) == 0;
    return 1;
}

//  Record the request in hand; returns its mode and arg
static receiver_mode_t
s_record (receiver_t *self, s_conn_t *conn, const s_head_t *head, int *arg)
{
    pthread_mutex_lock (&self->mutex);
    self->count++;
    if (++self->pending > self->max_pending)
        self->max_pending = self->pending;
    conn->record = S_NOT_RECORDED;
    if (self->recording) {
        if (self->record_count == self->record_cap) {
            self->record_cap = self->record_cap? self->record_cap * 2: 256;
            self->records = (receiver_request_t *) realloc (self->records,
                                                            self->record_cap * sizeof (receiver_request_t));
            assert (self->records);
        }
        receiver_request_t *record = &self->records [self->record_count];
        memset (record, 0, sizeof (*record));
        snprintf (record->method, sizeof (record->method), "%s", head->method);
        snprintf (record->path, sizeof (record->path), "%s", head->path);
        record->headers = strndup (head->headers, head->headers_size);
        record->body = (char *) malloc (head->body_size + 1);
        assert (record->headers && record->body);
        memcpy (record->body, conn->in + head->head_size, head->body_size);
        record->body [head->body_size] = 0;
        record->body_size = head->body_size;
        record->arrived_us = s_now_us ();
        record->connection = conn->number;
        conn->record = self->record_count++;
    }
    receiver_mode_t mode = self->mode;
    *arg = self->arg;
    for (size_t index = 0; index < self->rule_count; index++)
        if (strcmp (self->rules [index].path, head->path) == 0) {
            mode = self->rules [index].mode;
            *arg = self->rules [index].arg;
        }
    pthread_cond_broadcast (&self->arrived);
    pthread_mutex_unlock (&self->mutex);
    return mode;
}

//  Answer (or hold) the request in hand as its mode says; false if the
//  connection was closed
static bool
s_serve (receiver_t *self, s_conn_t *conn, receiver_mode_t mode, int arg)
{
    char extra [128] = "";
    conn->waiting = true;
    switch (mode) {
        case RECEIVER_OK:
            s_answer (self, conn, 200, NULL);
            break;
        case RECEIVER_FAIL:
            s_answer (self, conn, 500, NULL);
            break;
        case RECEIVER_STATUS:
            s_answer (self, conn, arg, NULL);
            break;
        case RECEIVER_GONE:
            s_answer (self, conn, 410, NULL);
            break;
        case RECEIVER_REDIRECT:
            s_answer (self, conn, arg? arg: 302, "Location: /moved\r\n");
            break;
        case RECEIVER_RETRY_AFTER:
            snprintf (extra, sizeof (extra), "Retry-After: %d\r\n", arg);
            s_answer (self, conn, 429, extra);
            break;
        case RECEIVER_RETRY_AFTER_DATE: {
            time_t when = time (NULL) + arg;
            struct tm parts;
            char date [64];
            strftime (date, sizeof (date), "%a, %d %b %Y %H:%M:%S GMT", gmtime_r (&when, &parts));
            snprintf (extra, sizeof (extra), "Retry-After: %s\r\n", date);
            s_answer (self, conn, 429, extra);
            break;
        }
        case RECEIVER_STALL:
            if (arg > 0) {
                conn->due_us = s_now_us () + (int64_t) arg * 1000;
                self->waiting++;
            }
            return true;
        case RECEIVER_HOLD:
            conn->held = true;
            return true;
        case RECEIVER_CLOSE:
            s_conn_close (self, conn);
            return false;
    }
    return true;
}

//  Handle every whole request in the buffer, in order; false if the
//  connection was closed
static bool
s_conn_requests (receiver_t *self, s_conn_t *conn)
{
    while (!conn->waiting) {
        s_head_t head;
        int rc = s_head_parse (conn, &head);
        if (rc == 0)
            return true;
        if (rc < 0 || head.chunked) {
            conn->close_after = true;
            conn->waiting = true;
            pthread_mutex_lock (&self->mutex);
            self->pending++;
            conn->record = S_NOT_RECORDED;
            pthread_mutex_unlock (&self->mutex);
            s_answer (self, conn, rc < 0? 400: 411, NULL);
            return s_conn_flush (self, conn);
        }
        if (conn->in_size < head.head_size + head.body_size) {
            if (head.expect && !conn->continued) {
                const char *go_on = "HTTP/1.1 100 Continue\r\n\r\n";
                s_conn_queue (conn, go_on, strlen (go_on));
                conn->continued = true;
                return s_conn_flush (self, conn);
            }
            return true;
        }
        conn->close_after = head.close;
        int arg;
        receiver_mode_t mode = s_record (self, conn, &head, &arg);
        size_t used = head.head_size + head.body_size;
        memmove (conn->in, conn->in + used, conn->in_size - used);
        conn->in_size -= used;
        conn->continued = false;
        if (!s_serve (self, conn, mode, arg) || !s_conn_flush (self, conn))
            return false;
    }
    return true;
}

static void
s_conn_read (receiver_t *self, s_conn_t *conn)
{
    while (true) {
        s_grow (&conn->in, &conn->in_cap, conn->in_size + 16384);
        ssize_t got = recv (conn->fd, conn->in + conn->in_size, conn->in_cap - conn->in_size, 0);
        if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (got <= 0) {
            s_conn_close (self, conn);
            return;
        }
        conn->in_size += (size_t) got;
        if (conn->in_size > RECEIVER_MAX_BODY + S_MAX_HEAD) {
            s_conn_close (self, conn);
            return;
        }
    }
    s_conn_requests (self, conn);
}

static void
s_accept (receiver_t *self)
{
    while (true) {
        int fd = accept4 (self->listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        int one = 1;
        setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof (one));
        s_conn_t *conn = (s_conn_t *) calloc (1, sizeof (s_conn_t));
        assert (conn);
        conn->fd = fd;
        conn->number = ++self->conn_numbers;
        conn->record = S_NOT_RECORDED;
        conn->next = self->conns;
        if (self->conns)
            self->conns->prev = conn;
        self->conns = conn;
        struct epoll_event event = { .events = EPOLLIN, .data.ptr = conn };
        epoll_ctl (self->epoll, EPOLL_CTL_ADD, fd, &event);
        pthread_mutex_lock (&self->mutex);
        self->connections++;
        pthread_mutex_unlock (&self->mutex);
    }
}

//  Answer the held requests (all of them, on release) and the due ones;
//  returns the ms until the next is due, or -1. A connection only ever
//  closes itself here, so the next one stays valid.
static int
s_answer_waiting (receiver_t *self, bool release)
{
    int64_t now = s_now_us (), next = -1;
    for (s_conn_t *conn = self->conns, *after; conn && (self->waiting || release); conn = after) {
        after = conn->next;
        bool due = conn->waiting && conn->due_us && conn->due_us <= now;
        if (due || (release && conn->held)) {
            s_answer (self, conn, 200, NULL);
            if (s_conn_flush (self, conn))
                s_conn_requests (self, conn);
        }
    }
    for (s_conn_t *conn = self->conns; conn && self->waiting; conn = conn->next)
        if (conn->waiting && conn->due_us && (next < 0 || conn->due_us < next))
            next = conn->due_us;
    return next < 0? -1: next <= now? 0: (int) ((next - now + 999) / 1000);
}

static void *
s_run (void *arg)
{
    receiver_t *self = (receiver_t *) arg;
    struct epoll_event events [S_EVENTS];
    int timeout = -1;
    while (true) {
        int count = epoll_wait (self->epoll, events, S_EVENTS, timeout);
        bool release = false;
        for (int index = 0; index < count; index++) {
            void *tag = events [index].data.ptr;
            if (tag == &listener_tag)
                s_accept (self);
            else
            if (tag == &wake_tag) {
                uint64_t value;
                if (read (self->wake, &value, sizeof (value)) < 0)
                    value = 0;
                pthread_mutex_lock (&self->mutex);
                bool stop = self->stop;
                release = self->releases != self->releases_seen;
                self->releases_seen = self->releases;
                pthread_mutex_unlock (&self->mutex);
                if (stop)
                    return NULL;
            }
            else {
                s_conn_t *conn = (s_conn_t *) tag;
                if (conn->dead)
                    continue;
                if ((events [index].events & EPOLLOUT) && !s_conn_flush (self, conn))
                    continue;
                if (events [index].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
                    s_conn_read (self, conn);
            }
        }
        timeout = s_answer_waiting (self, release);
        s_bury (self);
    }
}

//  ---------------------------------------------------------------------
//  The caller's side

receiver_t *
receiver_new (void)
{
    receiver_t *self = (receiver_t *) calloc (1, sizeof (receiver_t));
    assert (self);
    self->recording = true;
    self->listener = socket (AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    self->wake = eventfd (0, EFD_NONBLOCK | EFD_CLOEXEC);
    self->epoll = epoll_create1 (EPOLL_CLOEXEC);
    struct sockaddr_in address = { .sin_family = AF_INET, .sin_port = 0,
                                   .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
    socklen_t size = sizeof (address);
    int one = 1;
    if (self->listener < 0 || self->wake < 0 || self->epoll < 0
    ||  setsockopt (self->listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof (one))
    ||  bind (self->listener, (struct sockaddr *) &address, sizeof (address))
    ||  listen (self->listener, 4096)
    ||  getsockname (self->listener, (struct sockaddr *) &address, &size))
        goto failed;
    self->port = ntohs (address.sin_port);
    struct epoll_event event = { .events = EPOLLIN, .data.ptr = &listener_tag };
    epoll_ctl (self->epoll, EPOLL_CTL_ADD, self->listener, &event);
    event.data.ptr = &wake_tag;
    epoll_ctl (self->epoll, EPOLL_CTL_ADD, self->wake, &event);
    pthread_mutex_init (&self->mutex, NULL);
    pthread_condattr_t attributes;
    pthread_condattr_init (&attributes);
    pthread_condattr_setclock (&attributes, CLOCK_MONOTONIC);
    pthread_cond_init (&self->arrived, &attributes);
    pthread_condattr_destroy (&attributes);
    if (pthread_create (&self->thread, NULL, s_run, self) == 0)
        return self;
    pthread_cond_destroy (&self->arrived);
    pthread_mutex_destroy (&self->mutex);
failed:
    if (self->listener >= 0)
        close (self->listener);
    if (self->wake >= 0)
        close (self->wake);
    if (self->epoll >= 0)
        close (self->epoll);
    free (self);
    return NULL;
}

static void
s_wake (receiver_t *self)
{
    uint64_t one = 1;
    if (write (self->wake, &one, sizeof (one)) != sizeof (one))
        assert (false);
}

void
receiver_destroy (receiver_t **self_p)
{
    assert (self_p);
    receiver_t *self = *self_p;
    if (!self)
        return;
    pthread_mutex_lock (&self->mutex);
    self->stop = true;
    pthread_mutex_unlock (&self->mutex);
    s_wake (self);
    pthread_join (self->thread, NULL);
    while (self->conns)
        s_conn_close (self, self->conns);
    s_bury (self);
    receiver_clear (self);
    free (self->records);
    close (self->listener);
    close (self->wake);
    close (self->epoll);
    pthread_cond_destroy (&self->arrived);
    pthread_mutex_destroy (&self->mutex);
    free (self);
    *self_p = NULL;
}

int
receiver_port (receiver_t *self)
{
    return self->port;
}

void
receiver_set_mode (receiver_t *self, receiver_mode_t mode, int arg)
{
    pthread_mutex_lock (&self->mutex);
    self->mode = mode;
    self->arg = arg;
    pthread_mutex_unlock (&self->mutex);
}

void
receiver_set_path_mode (receiver_t *self, const char *path, receiver_mode_t mode, int arg)
{
    pthread_mutex_lock (&self->mutex);
    size_t index;
    for (index = 0; index < self->rule_count; index++)
        if (strcmp (self->rules [index].path, path) == 0)
            break;
    assert (index < RECEIVER_MAX_PATHS);
    if (index == self->rule_count)
        self->rule_count++;
    snprintf (self->rules [index].path, sizeof (self->rules [index].path), "%s", path);
    self->rules [index].mode = mode;
    self->rules [index].arg = arg;
    pthread_mutex_unlock (&self->mutex);
}

void
receiver_release (receiver_t *self)
{
    pthread_mutex_lock (&self->mutex);
    self->releases++;
    pthread_mutex_unlock (&self->mutex);
    s_wake (self);
}

void
receiver_set_recording (receiver_t *self, bool recording)
{
    pthread_mutex_lock (&self->mutex);
    self->recording = recording;
    pthread_mutex_unlock (&self->mutex);
}

static size_t
s_read_count (receiver_t *self, const size_t *counter)
{
    pthread_mutex_lock (&self->mutex);
    size_t value = *counter;
    pthread_mutex_unlock (&self->mutex);
    return value;
}

size_t
receiver_count (receiver_t *self)
{
    return s_read_count (self, &self->count);
}

size_t
receiver_connections (receiver_t *self)
{
    return s_read_count (self, &self->connections);
}

size_t
receiver_max_pending (receiver_t *self)
{
    return s_read_count (self, &self->max_pending);
}

void
receiver_clear (receiver_t *self)
{
    pthread_mutex_lock (&self->mutex);
    for (size_t index = 0; index < self->record_count; index++)
        receiver_request_reset (&self->records [index]);
    self->record_count = 0;
    self->count = 0;
    self->connections = 0;
    self->max_pending = self->pending;
    pthread_mutex_unlock (&self->mutex);
}

bool
receiver_request (receiver_t *self, size_t index, receiver_request_t *request)
{
    pthread_mutex_lock (&self->mutex);
    bool found = index < self->record_count;
    if (found) {
        *request = self->records [index];
        request->headers = strdup (request->headers);
        request->body = (char *) malloc (request->body_size + 1);
        assert (request->headers && request->body);
        memcpy (request->body, self->records [index].body, request->body_size + 1);
    }
    pthread_mutex_unlock (&self->mutex);
    return found;
}

void
receiver_request_reset (receiver_request_t *request)
{
    free (request->headers);
    free (request->body);
    request->headers = request->body = NULL;
}

bool
receiver_request_header (const receiver_request_t *request, const char *name, char *value, size_t size)
{
    size_t len;
    const char *found = s_header_find (request->headers, strlen (request->headers), name, &len);
    if (!found)
        return false;
    snprintf (value, size, "%.*s", (int) len, found);
    return true;
}

bool
receiver_wait_count (receiver_t *self, size_t count, int timeout_ms)
{
    struct timespec deadline;
    clock_gettime (CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long) (timeout_ms % 1000) * 1000000;
    if (deadline.tv_nsec >= 1000000000) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock (&self->mutex);
    int rc = 0;
    while (self->count < count && rc == 0)
        rc = pthread_cond_timedwait (&self->arrived, &self->mutex, &deadline);
    bool reached = self->count >= count;
    pthread_mutex_unlock (&self->mutex);
    return reached;
}
