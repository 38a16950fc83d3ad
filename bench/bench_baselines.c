/*  =========================================================================
    bench_baselines - the ceilings zeb is measured against, in the same run

    Raw libzmq PUSH/PULL over the transport zeb uses, with messages of the
    event size: what the wire alone can carry. LMDB durable puts in batches
    of 1,000 (one fsync'd commit each) on the same filesystem as zeb's data:
    what the disk path alone can store. msgpack encode + decode of the event:
    what the codec alone costs. For synchronous clients, raw libzmq round
    trips: C DEALER threads, each sending a message of the event size and
    waiting for the reply of a ROUTER that echoes a small answer at once —
    what request/reply alone can do with that many clients, before any
    storing.
    =========================================================================
*/

#include "zeb.h"
#include "zeb_classes.h"
#include "bench.h"
#include <lmdb.h>
#include <stdatomic.h>

typedef struct {
    const char *endpoint;
    size_t count;
    size_t size;
} s_pull_args_t;

//  Bind socket to a fresh endpoint of transport; endpoint gets its name.
static int
s_bind (void *socket, const char *transport, char *endpoint, size_t size)
{
    static atomic_int counter;
    int number = atomic_fetch_add (&counter, 1);
    if (streq (transport, "inproc"))
        snprintf (endpoint, size, "inproc://bench-baseline-%d", number);
    else
    if (streq (transport, "ipc"))
        snprintf (endpoint, size, "ipc:///tmp/zeb-bench-%d-%d.ipc", getpid (), number);
    else
        snprintf (endpoint, size, "tcp://127.0.0.1:*");
    if (zmq_bind (socket, endpoint))
        return -1;
    zmq_getsockopt (socket, ZMQ_LAST_ENDPOINT, endpoint, &size);
    return 0;
}

static void *
s_pull_thread (void *args)
{
    s_pull_args_t *pull = (s_pull_args_t *) args;
    void *socket = zmq_socket (zsys_init (), ZMQ_PULL);
    int hwm = 100000;
    zmq_setsockopt (socket, ZMQ_RCVHWM, &hwm, sizeof (hwm));
    zmq_connect (socket, pull->endpoint);
    zmq_msg_t msg;
    zmq_msg_init (&msg);
    for (size_t index = 0; index < pull->count; index++)
        zmq_msg_recv (&msg, socket, 0);
    zmq_msg_close (&msg);
    zmq_close (socket);
    return NULL;
}

double
bench_zmq_pushpull (const char *transport, size_t count, size_t size)
{
    void *push = zmq_socket (zsys_init (), ZMQ_PUSH);
    int hwm = 100000, linger = 0;
    zmq_setsockopt (push, ZMQ_SNDHWM, &hwm, sizeof (hwm));
    zmq_setsockopt (push, ZMQ_LINGER, &linger, sizeof (linger));
    char endpoint [256];
    if (s_bind (push, transport, endpoint, sizeof (endpoint))) {
        zmq_close (push);
        return 0;
    }
    s_pull_args_t args = { endpoint, count, size };
    pthread_t thread;
    char *payload = (char *) calloc (1, size);
    int64_t started = zeb_time_mono_us ();
    pthread_create (&thread, NULL, s_pull_thread, &args);
    for (size_t index = 0; index < count; index++)
        zmq_send (push, payload, size, 0);
    pthread_join (thread, NULL);
    int64_t elapsed = zeb_time_mono_us () - started;
    free (payload);
    zmq_close (push);
    return elapsed > 0? (double) count * 1e6 / (double) elapsed: 0;
}

//  Request/reply: clients threads against one echoing ROUTER
typedef struct {
    const char *endpoint;
    size_t count;
    size_t size;
    pthread_barrier_t *start;
    bool direct;
} s_dealer_args_t;

//  Read one whole reply, every frame of it. A frame left unread would be
//  taken for the next request's reply, and the client would run one
//  request ahead: two in flight, no longer synchronous.
static void
s_recv_reply (void *socket)
{
    char frame [64];
    int more = 1;
    while (more) {
        if (zmq_recv (socket, frame, sizeof (frame), 0) < 0)
            return;
        size_t len = sizeof (more);
        zmq_getsockopt (socket, ZMQ_RCVMORE, &more, &len);
    }
}

//  The same client, speaking ZMTP itself
static void
s_direct_client (s_dealer_args_t *self)
{
    zeb_zmtp_t *connection = zeb_zmtp_connect (self->endpoint, "DEALER", 5000, NULL);
    char *payload = (char *) calloc (1, self->size);
    zeb_zmtp_frame_t hello [1] = { { "HELLO", 5 } };
    zeb_zmtp_frame_t publish [2] = { { "PUBLISH", 7 }, { payload, self->size } };
    zeb_zmtp_msg_t reply;
    if (connection && zeb_zmtp_send (connection, hello, 1, 5000) == 0)
        zeb_zmtp_recv (connection, &reply, 5000);
    pthread_barrier_wait (self->start);
    for (size_t index = 0; connection && index < self->count; index++)
        if (zeb_zmtp_send (connection, publish, 2, 5000) || zeb_zmtp_recv (connection, &reply, 5000))
            zeb_zmtp_destroy (&connection);     //  the count comes short: the ROUTER waits
    pthread_barrier_wait (self->start);
    free (payload);
    zeb_zmtp_destroy (&connection);
}

static void *
s_dealer_thread (void *args)
{
    s_dealer_args_t *self = (s_dealer_args_t *) args;
    if (self->direct) {
        s_direct_client (self);
        return NULL;
    }
    void *socket = zmq_socket (zsys_init (), ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt (socket, ZMQ_LINGER, &linger, sizeof (linger));
    zmq_connect (socket, self->endpoint);
    char *payload = (char *) calloc (1, self->size);
    //  One round trip before the clock starts: the connection is up
    zmq_send (socket, "HELLO", 5, 0);
    s_recv_reply (socket);
    pthread_barrier_wait (self->start);
    for (size_t index = 0; index < self->count; index++) {
        zmq_send (socket, "PUBLISH", 7, ZMQ_SNDMORE);
        zmq_send (socket, payload, self->size, 0);
        s_recv_reply (socket);
    }
    pthread_barrier_wait (self->start);
    free (payload);
    zmq_close (socket);
    return NULL;
}

double
bench_zmq_roundtrip (const char *transport, size_t clients, size_t count, size_t size,
                     bool direct)
{
    if (direct && !streq (transport, "tcp"))
        return 0;
    void *router = zmq_socket (zsys_init (), ZMQ_ROUTER);
    int linger = 0;
    zmq_setsockopt (router, ZMQ_LINGER, &linger, sizeof (linger));
    char endpoint [256];
    if (s_bind (router, transport, endpoint, sizeof (endpoint))) {
        zmq_close (router);
        return 0;
    }
    pthread_barrier_t start;
    pthread_barrier_init (&start, NULL, (unsigned) clients + 1);
    pthread_t *threads = (pthread_t *) calloc (clients, sizeof (pthread_t));
    s_dealer_args_t *args = (s_dealer_args_t *) calloc (clients, sizeof (s_dealer_args_t));
    for (size_t index = 0; index < clients; index++) {
        args [index] = (s_dealer_args_t) { endpoint, count / clients + (index < count % clients),
                                           size, &start, direct };
        pthread_create (&threads [index], NULL, s_dealer_thread, &args [index]);
    }
    //  Echo: every request gets [identity]["ACK"][small body] at once,
    //  until every client is done (no request for a while, all joined)
    size_t expected = count + clients;          //  with the HELLOs
    int64_t started = 0;
    zmq_msg_t identity, part;
    zmq_msg_init (&identity);
    zmq_msg_init (&part);
    static const char ack [] = "\x82\xa8" "sequence\x01\xa9" "duplicate\xc2";
    size_t served = 0;
    while (served < expected) {
        if (served == clients && !started) {
            pthread_barrier_wait (&start);      //  everyone connected
            started = zeb_time_mono_us ();
        }
        if (zmq_msg_recv (&identity, router, 0) < 0)
            continue;
        bool more = zmq_msg_more (&identity);
        while (more && zmq_msg_recv (&part, router, 0) >= 0)
            more = zmq_msg_more (&part);
        zmq_msg_send (&identity, router, ZMQ_SNDMORE);
        zmq_send (router, "ACK", 3, ZMQ_SNDMORE);
        zmq_send (router, ack, sizeof (ack) - 1, 0);
        served++;
    }
    pthread_barrier_wait (&start);              //  everyone finished
    int64_t elapsed = zeb_time_mono_us () - started;
    for (size_t index = 0; index < clients; index++)
        pthread_join (threads [index], NULL);
    zmq_msg_close (&identity);
    zmq_msg_close (&part);
    pthread_barrier_destroy (&start);
    free (threads);
    free (args);
    zmq_close (router);
    return elapsed > 0? (double) count * 1e6 / (double) elapsed: 0;
}

double
bench_lmdb_puts (const char *dir, size_t count, size_t size, size_t batch)
{
    char *path = zsys_sprintf ("%s/lmdb-baseline", dir);
    zsys_dir_create ("%s", path);
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    mdb_env_create (&env);
    mdb_env_set_mapsize (env, (size_t) (count * (size + 64) * 2 + (64 << 20)));
    if (mdb_env_open (env, path, 0, 0644)) {
        mdb_env_close (env);
        zstr_free (&path);
        return 0;
    }
    mdb_txn_begin (env, NULL, 0, &txn);
    mdb_dbi_open (txn, NULL, 0, &dbi);
    mdb_txn_commit (txn);
    char *value = (char *) calloc (1, size);
    int64_t started = zeb_time_mono_us ();
    uint64_t key_number = 0;
    for (size_t done = 0; done < count;) {
        mdb_txn_begin (env, NULL, 0, &txn);
        for (size_t index = 0; index < batch && done < count; index++, done++) {
            uint8_t keybytes [8];
            zeb_event_patch_sequence (keybytes, 0, ++key_number);
            MDB_val key = { 8, keybytes }, data = { size, value };
            mdb_put (txn, dbi, &key, &data, MDB_APPEND);
        }
        mdb_txn_commit (txn);               //  fsync'd: the default flags
    }
    int64_t elapsed = zeb_time_mono_us () - started;
    free (value);
    mdb_env_close (env);
    zdir_t *tree = zdir_new (path, NULL);
    if (tree) {
        zdir_remove (tree, true);
        zdir_destroy (&tree);
    }
    zstr_free (&path);
    return elapsed > 0? (double) count * 1e6 / (double) elapsed: 0;
}

double
bench_codec (const void *event, size_t size, size_t count)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    zeb_event_view_t view;
    int64_t started = zeb_time_mono_us ();
    for (size_t index = 0; index < count; index++) {
        if (zeb_event_view_decode (&view, event, size, NULL) || zeb_event_view_validate (&view, NULL))
            break;
        msgpack_sbuffer_clear (&buffer);
        size_t offset;
        zeb_event_view_encode (&view, &buffer, &offset);
    }
    int64_t elapsed = zeb_time_mono_us () - started;
    msgpack_sbuffer_destroy (&buffer);
    return elapsed > 0? (double) count * 1e6 / (double) elapsed: 0;
}
