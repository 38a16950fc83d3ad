/*  =========================================================================
    bench_peers - zeb-bench peers: zeb beside Redis and NATS JetStream, in
    the same run, on the same machine and disk

    zeb-bench peers [--seconds T] [--runs R] [--clients C] [--window W]
                    [--size S] [--scenarios L] [--embedded] [--strace]
                    [--zebd PATH]

    Starts each peer as a child process on free ports of 127.0.0.1, with a
    temporary directory of its own (under one temporary directory of the
    run, on the same filesystem as the fdatasync floor):

      zebd    this build's zebd (beside zeb-bench, or --zebd), actors
              ingest and log, default sync settings (ingest/sync always:
              an ack follows the LMDB commit and its syncs)
      redis   redis-server with appendonly yes, appendfsync always,
              save "": XADD answers after the AOF's fdatasync, one per
              event-loop turn for every client served in that turn
      nats    nats-server with JetStream file storage (-js -sd DIR), one
              stream on the subject, file storage: 2.9.x acks without
              fsync (sync_interval: always came in 2.10), so its figures
              are an upper bound, not a durability peer

    and, with --embedded, a zeb node in this process over tcp as well.
    A peer whose binary is not on PATH is said so and skipped. The same
    payload for all: one zeb event encoded in S bytes (default 200), sent
    as is as the XADD field value and as the NATS message body.

    Scenarios, each for T seconds (default 2) per peer, in R rounds
    (default 3) that alternate the peers within each scenario:

      pipelined   1 client, at most W (default 4000) unacknowledged:
                  zeb_client_publish_raw_async; XADD pipelined with
                  hiredis (redisAppendCommand); js_PublishAsync with
                  PublishAsync.MaxPending W, then js_PublishAsyncComplete
      sync C      C threads (default 50), one connection each, each waiting
                  for its ack before the next: total events/s. zeb's are
                  zeb_producers (direct ZMTP, one write and one read per
                  ack), or zeb_clients with --client-sync
      sync 1      1 such client: ack latency p50 and p99

    Also each round: the median of 100 bare fdatasyncs over 4 KiB rewritten
    in an already-written, preallocated file of the run's directory, the
    physical floor for one synchronous ack, and the round trips of C
    clients to a ROUTER that stores nothing (bench_zmq_roundtrip), libzmq
    DEALERs and direct ZMTP clients: the transports' ceilings. Prints medians over the rounds, zeb /
    peer ratios and the targets; at the end each peer's stored
    count must equal the events it acknowledged. --scenarios picks some. --strace runs each server
    under `strace -f -c -e trace=fsync,fdatasync` and reports its sync
    calls per acknowledged event (ptrace slows every server down: do not
    read the rates of such a run).

    Every child is killed (SIGTERM, then SIGKILL) and every temporary
    directory removed at the end, also on failure; children get
    PR_SET_PDEATHSIG so that they die with this process.
    =========================================================================
*/

#include "zeb.h"
#include "bench.h"
#include "testutil.h"
#include <hiredis/hiredis.h>
#include <nats/nats.h>
#include <fcntl.h>
#include <stddef.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#define S_MAX_RUNS      25
#define S_MAX_PEERS     4
#define S_SUBJECT       "zeb.bench"
#define S_STREAM_KEY    "zeb-bench"
#define S_START_MS      15000           //  a server must answer within this

#define S_PIPELINED     1               //  --scenarios: pipelined
#define S_CLIENTS       2               //  clients
#define S_LATENCY       4               //  latency

typedef struct {
    double seconds;
    size_t runs, clients, window, size;
    int scenarios;                  //  S_PIPELINED | S_CLIENTS | S_LATENCY
    bool embedded, strace;
    const char *zebd;
} s_options_t;

typedef struct _s_peer_t s_peer_t;

//  What a kind of peer does. A connection is the kind's own (a
//  zeb_client_t, a redisContext, an s_nats_t); connect's window is 1 for
//  a synchronous client, else the pipelined window; publish waits for the ack
//  and returns 0 or -1; pipeline publishes until deadline_us with at most
//  window unacknowledged, then waits for all, and returns the events
//  acknowledged (failures: -1). stored is the count of events the peer
//  holds (-1: unknown), checked against those acknowledged at the end.
typedef struct {
    const char *name;
    bool zeb;                       //  one of zeb's, measured against the others
    const char *binary;             //  looked up on PATH (NULL: none needed)
    const char *flush;              //  does the peer sync before its ack, here
    int (*start) (s_peer_t *self, const s_options_t *options);
    void *(*connect) (s_peer_t *self, size_t window);
    int (*publish) (void *connection, const void *data, size_t size);
    int64_t (*pipeline) (void *connection, const void *data, size_t size, size_t window,
                         int64_t deadline_us);
    void (*disconnect) (void *connection);
    int64_t (*stored) (void *connection);
} s_kind_t;

struct _s_peer_t {
    const s_kind_t *kind;
    char *dir;                      //  its temporary directory
    char *binary;                   //  path of the server, or NULL
    char version [128];
    int port;                       //  where the server listens (zebd: ingest)
    char port_text [16];
    pid_t pid;                      //  server (0: none)
    pid_t tracer;                   //  strace attached to it (0: none)
    zeb_node_t *node;               //  embedded node
    char endpoint [64];
    double pipelined [S_MAX_RUNS], synced [S_MAX_RUNS], p50 [S_MAX_RUNS], p99 [S_MAX_RUNS];
    int64_t acked;                  //  events acknowledged in all, for --strace
    bool failed;
};

static volatile sig_atomic_t s_interrupted;

static void
s_on_signal (int signal)
{
    s_interrupted = 1;
}

//  ---------------------------------------------------------------------
//  Processes, ports and directories

//  The path of an executable called name on PATH, or NULL. Caller owns it.
static char *
s_which (const char *name)
{
    const char *path = getenv ("PATH");
    char *copy = strdup (path? path: "/usr/local/bin:/usr/bin:/bin");
    char *found = NULL, *saved = NULL;
    for (char *dir = strtok_r (copy, ":", &saved); dir && !found; dir = strtok_r (NULL, ":", &saved)) {
        char *candidate = zsys_sprintf ("%s/%s", dir, name);
        if (access (candidate, X_OK) == 0)
            found = candidate;
        else
            zstr_free (&candidate);
    }
    free (copy);
    return found;
}

//  The first line of `binary --version`, in version (empty if none)
static void
s_version (const char *binary, char *version, size_t size)
{
    version [0] = 0;
    char *command = zsys_sprintf ("'%s' --version 2>&1", binary);
    FILE *pipe = popen (command, "r");
    zstr_free (&command);
    if (!pipe)
        return;
    if (fgets (version, (int) size, pipe)) {
        version [strcspn (version, "\n")] = 0;
        char *build = strstr (version, " sha=");     //  redis: the version, not its build
        if (build)
            *build = 0;
    }
    pclose (pipe);
}

//  Fork and exec argv with stdout and stderr to log, dying with this
//  process; stopped (SIGSTOP) before the exec when stopped is true, so
//  that a tracer can attach first. Returns the pid, or -1.
static pid_t
s_spawn (char *argv [], const char *log, bool stopped)
{
    pid_t parent = getpid ();
    pid_t pid = fork ();
    if (pid != 0)
        return pid;
    //  The child: async-signal-safe calls only until exec
    int fd = open (log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
        dup2 (fd, STDOUT_FILENO);
        dup2 (fd, STDERR_FILENO);
        close (fd);
    }
    fd = open ("/dev/null", O_RDONLY);
    if (fd >= 0) {
        dup2 (fd, STDIN_FILENO);
        close (fd);
    }
    prctl (PR_SET_PDEATHSIG, SIGKILL);
    if (getppid () != parent)
        _exit (1);
    if (stopped)
        raise (SIGSTOP);
    execv (argv [0], argv);
    _exit (127);
}

//  Stop pid: let it exit by itself for grace_ms, then SIGTERM, and SIGKILL
//  if it has not exited 5 s later. Reaps it.
static void
s_reap (pid_t pid, int grace_ms)
{
    if (pid <= 0)
        return;
    int64_t deadline = zclock_mono () + grace_ms;
    while (waitpid (pid, NULL, WNOHANG) == 0 && zclock_mono () < deadline)
        zclock_sleep (10);
    if (kill (pid, 0) != 0)
        return;                         //  gone, and reaped
    kill (pid, SIGTERM);
    kill (pid, SIGCONT);
    deadline = zclock_mono () + 5000;
    while (waitpid (pid, NULL, WNOHANG) == 0) {
        if (zclock_mono () >= deadline) {
            kill (pid, SIGKILL);
            waitpid (pid, NULL, 0);
            break;
        }
        zclock_sleep (10);
    }
}

//  The pid tracing pid, from /proc (0: none)
static pid_t
s_tracer_of (pid_t pid)
{
    char path [64], line [128];
    snprintf (path, sizeof (path), "/proc/%d/status", (int) pid);
    FILE *file = fopen (path, "r");
    pid_t tracer = 0;
    while (file && fgets (line, sizeof (line), file))
        if (strncmp (line, "TracerPid:", 10) == 0)
            tracer = (pid_t) atoi (line + 10);
    if (file)
        fclose (file);
    return tracer;
}

//  Start the server of argv for self, logging to its directory: with
//  --strace, stopped, strace attached to it, then let go. 0 or -1.
static int
s_start_server (s_peer_t *self, char *argv [], bool strace)
{
    char *log = zsys_sprintf ("%s/server.log", self->dir);
    self->pid = s_spawn (argv, log, strace);
    zstr_free (&log);
    if (self->pid < 0) {
        self->pid = 0;
        return -1;
    }
    if (!strace)
        return 0;
    int status;
    if (waitpid (self->pid, &status, WUNTRACED) != self->pid || !WIFSTOPPED (status))
        return -1;
    char *out = zsys_sprintf ("%s/strace.txt", self->dir);
    char *log_strace = zsys_sprintf ("%s/strace.log", self->dir);
    char *pid = zsys_sprintf ("%d", (int) self->pid);
    char *strace_path = s_which ("strace");
    char *trace_argv [] = { strace_path, "-f", "-c", "-e", "trace=fsync,fdatasync", "-o", out,
                            "-p", pid, NULL };
    if (strace_path)
        self->tracer = s_spawn (trace_argv, log_strace, false);
    free (strace_path);
    zstr_free (&out);
    zstr_free (&log_strace);
    zstr_free (&pid);
    int64_t deadline = zclock_mono () + 5000;
    while (self->tracer > 0 && s_tracer_of (self->pid) != self->tracer && zclock_mono () < deadline)
        zclock_sleep (5);
    if (self->tracer <= 0 || s_tracer_of (self->pid) != self->tracer)
        fprintf (stderr, "zeb-bench peers: strace did not attach to %s\n", self->kind->name);
    kill (self->pid, SIGCONT);
    return 0;
}

//  Connect to self until it answers or S_START_MS pass; the connection
//  (the caller disconnects it), or NULL
static void *
s_await (s_peer_t *self)
{
    int64_t deadline = zclock_mono () + S_START_MS;
    while (!s_interrupted) {
        void *connection = self->kind->connect (self, 1);
        if (connection)
            return connection;
        if (zclock_mono () >= deadline || (self->pid && waitpid (self->pid, NULL, WNOHANG) == self->pid)) {
            if (self->pid && kill (self->pid, 0) != 0)
                self->pid = 0;          //  reaped: it died
            break;
        }
        zclock_sleep (50);
    }
    return NULL;
}

//  ---------------------------------------------------------------------
//  zeb: zebd as a child, or the node embedded in this process

//  A zeb connection: a zeb_producer for a synchronous client (unless
//  --client-sync), a zeb_client for the pipelined one and for STATS
typedef struct {
    zeb_client_t *client;
    zeb_producer_t *producer;
} s_zeb_t;

static bool s_client_sync;          //  --client-sync: zeb_client for sync clients too

static void *
s_zeb_connect (s_peer_t *self, size_t window)
{
    s_zeb_t *zeb = (s_zeb_t *) calloc (1, sizeof (s_zeb_t));
    assert (zeb);
    if (window == 1 && !s_client_sync) {
        zeb->producer = zeb_producer_new (self->endpoint);
        if (zeb->producer && zeb_producer_connect (zeb->producer) == 0)
            return zeb;
        zeb_producer_destroy (&zeb->producer);
        free (zeb);
        return NULL;
    }
    zeb->client = zeb_client_new (self->endpoint);
    if (!zeb->client) {
        free (zeb);
        return NULL;
    }
    zeb_client_set_window (zeb->client, window);
    zeb_client_set_timeout (zeb->client, window > 1? 30000: 5000);
    if (zeb_client_connect (zeb->client)) {
        zeb_client_destroy (&zeb->client);
        free (zeb);
        return NULL;
    }
    return zeb;
}

static int
s_zeb_publish (void *connection, const void *data, size_t size)
{
    s_zeb_t *zeb = (s_zeb_t *) connection;
    zeb_ack_t ack;
    int rc = zeb->producer? zeb_producer_publish_raw (zeb->producer, data, size, &ack)
                          : zeb_client_publish_raw (zeb->client, data, size, &ack);
    return rc == 0? 0: -1;
}

typedef struct {
    int64_t acked, failed;
} s_counts_t;

static void
s_zeb_on_ack (const zeb_ack_t *ack, void *arg)
{
    s_counts_t *counts = (s_counts_t *) arg;
    if (ack->status)
        counts->failed++;
    else
        counts->acked++;
}

static int64_t
s_zeb_pipeline (void *connection, const void *data, size_t size, size_t window, int64_t deadline_us)
{
    zeb_client_t *client = ((s_zeb_t *) connection)->client;
    assert (client);
    s_counts_t counts = { 0, 0 };
    for (size_t sent = 0; sent % 64 || zeb_time_mono_us () < deadline_us; sent++)
        if (zeb_client_publish_raw_async (client, data, size, s_zeb_on_ack, &counts))
            counts.failed++;
    zeb_client_flush (client, 60000);
    return counts.failed? -1: counts.acked;
}

static void
s_zeb_disconnect (void *connection)
{
    s_zeb_t *zeb = (s_zeb_t *) connection;
    if (zeb->client)
        zeb_client_flush (zeb->client, 5000);
    zeb_client_destroy (&zeb->client);
    zeb_producer_destroy (&zeb->producer);
    free (zeb);
}

//  ingest's stored count, from the node's STATS
static int64_t
s_zeb_stored (void *connection)
{
    int error = 0;
    zeb_client_t *client = ((s_zeb_t *) connection)->client;
    char *text = client? zeb_client_stats (client, &error): NULL;
    json_t *json = text? json_loads (text, 0, NULL): NULL;
    //  {"ingest": ingest's STATS, "log": ...}; ingest keeps it in "ingest"
    json_t *ingest = json_object_get (json, "ingest");
    json_t *value = json_object_get (json_object_get (ingest, "ingest"), "stored");
    if (!value)
        value = json_object_get (ingest, "stored");
    int64_t stored = json_is_integer (value)? (int64_t) json_integer_value (value): -1;
    json_decref (json);
    free (text);
    return stored;
}

static int
s_zebd_start (s_peer_t *self, const s_options_t *options)
{
    int ports [3] = { self->port, test_free_port (), test_free_port () };
    snprintf (self->endpoint, sizeof (self->endpoint), "tcp://127.0.0.1:%d", ports [0]);
    //  As strings that argv can point into: zebd's command line
    char data [4096], ingest [64], log [64], bus [64];
    snprintf (data, sizeof (data), "%s/data", self->dir);
    snprintf (ingest, sizeof (ingest), "ingest/endpoint=tcp://127.0.0.1:%d", ports [0]);
    snprintf (log, sizeof (log), "log/endpoint=tcp://127.0.0.1:%d", ports [1]);
    snprintf (bus, sizeof (bus), "bus/endpoint=tcp://127.0.0.1:%d", ports [2]);
    char *argv [] = { self->binary, "-q", "-d", data, "-s", "node/actors=ingest,log",
                      "-s", ingest, "-s", log, "-s", bus, NULL };
    return s_start_server (self, argv, options->strace);
}

static int
s_embedded_start (s_peer_t *self, const s_options_t *options)
{
    zconfig_t *config = zconfig_new ("root", NULL);
    zconfig_put (config, "node/data", self->dir);
    zconfig_put (config, "node/actors", "ingest,log");
    zconfig_put (config, "ingest/endpoint", "tcp://127.0.0.1:*");
    zconfig_put (config, "log/endpoint", "tcp://127.0.0.1:*");
    zconfig_put (config, "bus/endpoint", "tcp://127.0.0.1:*");
    zeb_fault_t fault;
    self->node = zeb_node_new (config, &fault);
    zconfig_destroy (&config);
    if (!self->node) {
        fprintf (stderr, "zeb-bench peers: cannot start the embedded node: %s\n", fault.text);
        return -1;
    }
    snprintf (self->endpoint, sizeof (self->endpoint), "%s", zeb_node_endpoint (self->node, "ingest"));
    return 0;
}

//  ---------------------------------------------------------------------
//  Redis: XADD to one stream, the payload as field d

static int
s_redis_start (s_peer_t *self, const s_options_t *options)
{
    char *argv [] = { self->binary, "--port", self->port_text, "--bind", "127.0.0.1", "--dir", self->dir,
                      "--appendonly", "yes", "--appendfsync", "always", "--save", "",
                      "--daemonize", "no", NULL };
    return s_start_server (self, argv, options->strace);
}

static void *
s_redis_connect (s_peer_t *self, size_t window)
{
    struct timeval timeout = { 5, 0 };
    redisContext *context = redisConnectWithTimeout ("127.0.0.1", self->port, timeout);
    if (!context || context->err) {
        if (context)
            redisFree (context);
        return NULL;
    }
    redisSetTimeout (context, (struct timeval) { 30, 0 });
    redisReply *reply = (redisReply *) redisCommand (context, "PING");
    bool ok = reply && reply->type == REDIS_REPLY_STATUS;
    if (reply)
        freeReplyObject (reply);
    if (!ok) {
        redisFree (context);
        return NULL;
    }
    return context;
}

//  An XADD's reply is the new entry's id
static int
s_redis_check (redisReply *reply)
{
    int rc = reply && reply->type == REDIS_REPLY_STRING? 0: -1;
    if (reply && reply->type == REDIS_REPLY_ERROR)
        zsys_error ("zeb-bench peers: redis: %s", reply->str);
    if (reply)
        freeReplyObject (reply);
    return rc;
}

static int
s_redis_publish (void *connection, const void *data, size_t size)
{
    redisContext *context = (redisContext *) connection;
    return s_redis_check ((redisReply *) redisCommand (context, "XADD %s * d %b", S_STREAM_KEY,
                                                       data, size));
}

//  Append XADDs while fewer than window are unanswered, write them all,
//  read what has come back (at least one reply), and so on
static int64_t
s_redis_pipeline (void *connection, const void *data, size_t size, size_t window, int64_t deadline_us)
{
    redisContext *context = (redisContext *) connection;
    int64_t acked = 0, failed = 0;
    size_t outstanding = 0, sent = 0;
    bool stopping = false;
    while (!stopping || outstanding) {
        while (!stopping && outstanding < window) {
            redisAppendCommand (context, "XADD %s * d %b", S_STREAM_KEY, data, size);
            outstanding++;
            if (++sent % 64 == 0 && zeb_time_mono_us () >= deadline_us)
                stopping = true;
        }
        int done = 0;
        while (!done)
            if (redisBufferWrite (context, &done) != REDIS_OK)
                return -1;
        void *reply = NULL;
        if (redisGetReply (context, &reply) != REDIS_OK)
            return -1;
        do {
            if (s_redis_check ((redisReply *) reply))
                failed++;
            else
                acked++;
            outstanding--;
            reply = NULL;
            if (redisReaderGetReply (context->reader, &reply) != REDIS_OK)
                return -1;
        } while (reply);
    }
    return failed? -1: acked;
}

static int64_t
s_redis_stored (void *connection)
{
    redisReply *reply = (redisReply *) redisCommand ((redisContext *) connection, "XLEN %s",
                                                     S_STREAM_KEY);
    int64_t stored = reply && reply->type == REDIS_REPLY_INTEGER? (int64_t) reply->integer: -1;
    if (reply)
        freeReplyObject (reply);
    return stored;
}

static void
s_redis_disconnect (void *connection)
{
    redisFree ((redisContext *) connection);
}

//  ---------------------------------------------------------------------
//  NATS JetStream: one stream on S_SUBJECT, file storage

typedef struct {
    natsConnection *connection;
    jsCtx *js;
    atomic_int_fast64_t acked, failed;
} s_nats_t;

static void
s_nats_on_ack (jsCtx *js, natsMsg *msg, jsPubAck *ack, jsPubAckErr *error, void *closure)
{
    s_nats_t *self = (s_nats_t *) closure;
    if (ack && !error)
        atomic_fetch_add (&self->acked, 1);
    else
        atomic_fetch_add (&self->failed, 1);
    natsMsg_Destroy (msg);
}

static int
s_nats_start (s_peer_t *self, const s_options_t *options)
{
    char *store = zsys_sprintf ("%s/store", self->dir);
    char *argv [] = { self->binary, "-a", "127.0.0.1", "-p", self->port_text, "-js", "-sd", store, NULL };
    int rc = s_start_server (self, argv, options->strace);
    zstr_free (&store);
    return rc;
}

static void s_nats_disconnect (void *connection);

static void *
s_nats_connect (s_peer_t *self, size_t window)
{
    s_nats_t *nats = (s_nats_t *) calloc (1, sizeof (s_nats_t));
    natsOptions *options = NULL;
    char url [64];
    snprintf (url, sizeof (url), "nats://127.0.0.1:%d", self->port);
    jsOptions js_options;
    jsOptions_Init (&js_options);
    if (window > 1) {
        js_options.PublishAsync.MaxPending = (int64_t) window;
        js_options.PublishAsync.AckHandler = s_nats_on_ack;
        js_options.PublishAsync.AckHandlerClosure = nats;
        js_options.PublishAsync.StallWait = 30000;
    }
    if (natsOptions_Create (&options) != NATS_OK
    ||  natsOptions_SetURL (options, url) != NATS_OK
    ||  natsOptions_SetTimeout (options, 2000) != NATS_OK
    ||  natsOptions_SetAllowReconnect (options, false) != NATS_OK
    ||  natsConnection_Connect (&nats->connection, options) != NATS_OK
    ||  natsConnection_JetStream (&nats->js, nats->connection, &js_options) != NATS_OK) {
        natsOptions_Destroy (options);
        s_nats_disconnect (nats);
        return NULL;
    }
    natsOptions_Destroy (options);
    return nats;
}

//  The stream, once per server; 0 or -1
static int
s_nats_add_stream (void *connection)
{
    s_nats_t *nats = (s_nats_t *) connection;
    const char *subjects [] = { S_SUBJECT };
    jsStreamConfig config;
    jsStreamConfig_Init (&config);
    config.Name = "ZEBBENCH";
    config.Subjects = subjects;
    config.SubjectsLen = 1;
    config.Storage = js_FileStorage;
    jsStreamInfo *info = NULL;
    jsErrCode code = 0;
    natsStatus status = js_AddStream (&info, nats->js, &config, NULL, &code);
    jsStreamInfo_Destroy (info);
    if (status != NATS_OK)
        fprintf (stderr, "zeb-bench peers: nats: cannot add the stream: %s (%d)\n",
                 natsStatus_GetText (status), (int) code);
    return status == NATS_OK? 0: -1;
}

static int
s_nats_publish (void *connection, const void *data, size_t size)
{
    s_nats_t *nats = (s_nats_t *) connection;
    jsPubAck *ack = NULL;
    jsErrCode code = 0;
    natsStatus status = js_Publish (&ack, nats->js, S_SUBJECT, data, (int) size, NULL, &code);
    jsPubAck_Destroy (ack);
    return status == NATS_OK? 0: -1;
}

static int64_t
s_nats_pipeline (void *connection, const void *data, size_t size, size_t window, int64_t deadline_us)
{
    s_nats_t *nats = (s_nats_t *) connection;
    atomic_store (&nats->acked, 0);
    atomic_store (&nats->failed, 0);
    for (size_t sent = 0; sent % 64 || zeb_time_mono_us () < deadline_us; sent++)
        if (js_PublishAsync (nats->js, S_SUBJECT, data, (int) size, NULL) != NATS_OK)
            atomic_fetch_add (&nats->failed, 1);
    jsPubOptions options;
    jsPubOptions_Init (&options);
    options.MaxWait = 60000;
    if (js_PublishAsyncComplete (nats->js, &options) != NATS_OK)
        return -1;
    return atomic_load (&nats->failed)? -1: (int64_t) atomic_load (&nats->acked);
}

static int64_t
s_nats_stored (void *connection)
{
    jsStreamInfo *info = NULL;
    jsErrCode code = 0;
    int64_t stored = -1;
    if (js_GetStreamInfo (&info, ((s_nats_t *) connection)->js, "ZEBBENCH", NULL, &code) == NATS_OK)
        stored = (int64_t) info->State.Msgs;
    jsStreamInfo_Destroy (info);
    return stored;
}

static void
s_nats_disconnect (void *connection)
{
    s_nats_t *nats = (s_nats_t *) connection;
    jsCtx_Destroy (nats->js);
    natsConnection_Destroy (nats->connection);
    free (nats);
}

//  ---------------------------------------------------------------------
//  The kinds, in the order of each round

static const s_kind_t s_kinds [] = {
    { "zebd", true, "zebd", "yes: one journal flush per group commit before the ack (LMDB flushed at checkpoints)",
      s_zebd_start, s_zeb_connect, s_zeb_publish, s_zeb_pipeline, s_zeb_disconnect, s_zeb_stored },
    { "zeb-embedded", true, NULL, "yes: as zebd, node in the bench's process",
      s_embedded_start, s_zeb_connect, s_zeb_publish, s_zeb_pipeline, s_zeb_disconnect, s_zeb_stored },
    { "redis", false, "redis-server", "yes: appendfsync always, one fdatasync per event-loop turn "
      "for all the clients of that turn",
      s_redis_start, s_redis_connect, s_redis_publish, s_redis_pipeline, s_redis_disconnect, s_redis_stored },
    { "nats", false, "nats-server", "no: 2.9 JetStream acks before any fsync (sync_interval: always "
      "came in 2.10): an upper bound, not a durability peer",
      s_nats_start, s_nats_connect, s_nats_publish, s_nats_pipeline, s_nats_disconnect, s_nats_stored },
};

//  ---------------------------------------------------------------------
//  Scenarios

//  One synchronous client of s_run_sync, on its own thread
typedef struct {
    s_peer_t *peer;
    const void *data;
    size_t size;
    pthread_barrier_t *barrier;
    const int64_t *deadline_us;     //  set between the two barriers
    int32_t *latencies;             //  microseconds, one per ack
    size_t count, capacity;
    int64_t finished_us;
    bool connected, failed;
} s_worker_t;

static void
s_worker_note (s_worker_t *self, int64_t latency_us)
{
    if (self->count == self->capacity) {
        self->capacity = self->capacity? self->capacity * 2: 4096;
        self->latencies = (int32_t *) realloc (self->latencies, self->capacity * sizeof (int32_t));
    }
    self->latencies [self->count++] = (int32_t) latency_us;
}

static void *
s_worker_thread (void *arg)
{
    s_worker_t *self = (s_worker_t *) arg;
    const s_kind_t *kind = self->peer->kind;
    void *connection = kind->connect (self->peer, 1);
    self->connected = connection != NULL;
    pthread_barrier_wait (self->barrier);       //  all connected
    pthread_barrier_wait (self->barrier);       //  deadline set
    while (connection && !s_interrupted) {
        int64_t sent = zeb_time_mono_us ();
        if (sent >= *self->deadline_us)
            break;
        if (kind->publish (connection, self->data, self->size)) {
            self->failed = true;
            break;
        }
        s_worker_note (self, zeb_time_mono_us () - sent);
    }
    self->finished_us = zeb_time_mono_us ();
    if (connection)
        kind->disconnect (connection);
    return NULL;
}

static int
s_compare_int32 (const void *a, const void *b)
{
    int32_t x = *(const int32_t *) a, y = *(const int32_t *) b;
    return (x > y) - (x < y);
}

//  clients synchronous clients for seconds: their events/s together and
//  the ack latency percentiles of all. 0, or -1 if one failed.
static int
s_run_sync (s_peer_t *peer, const s_options_t *options, size_t clients, const void *data,
            size_t size, double *rate, double *p50, double *p99)
{
    s_worker_t *workers = (s_worker_t *) calloc (clients, sizeof (s_worker_t));
    pthread_t *threads = (pthread_t *) calloc (clients, sizeof (pthread_t));
    pthread_barrier_t barrier;
    pthread_barrier_init (&barrier, NULL, (unsigned) clients + 1);
    int64_t deadline_us = 0;
    for (size_t index = 0; index < clients; index++) {
        workers [index] = (s_worker_t) { .peer = peer, .data = data, .size = size,
                                         .barrier = &barrier, .deadline_us = &deadline_us };
        pthread_create (&threads [index], NULL, s_worker_thread, &workers [index]);
    }
    pthread_barrier_wait (&barrier);
    int64_t started = zeb_time_mono_us ();
    deadline_us = started + (int64_t) (options->seconds * 1e6);
    pthread_barrier_wait (&barrier);
    size_t total = 0;
    int64_t finished = started;
    bool failed = false;
    for (size_t index = 0; index < clients; index++) {
        pthread_join (threads [index], NULL);
        total += workers [index].count;
        if (workers [index].finished_us > finished)
            finished = workers [index].finished_us;
        if (!workers [index].connected || workers [index].failed)
            failed = true;
    }
    pthread_barrier_destroy (&barrier);
    int32_t *all = (int32_t *) malloc ((total + 1) * sizeof (int32_t));
    size_t filled = 0;
    for (size_t index = 0; index < clients; index++) {
        memcpy (all + filled, workers [index].latencies, workers [index].count * sizeof (int32_t));
        filled += workers [index].count;
        free (workers [index].latencies);
    }
    qsort (all, filled, sizeof (int32_t), s_compare_int32);
    *rate = finished > started? (double) total * 1e6 / (double) (finished - started): 0;
    *p50 = filled? all [filled * 50 / 100]: 0;
    *p99 = filled? all [filled * 99 / 100]: 0;
    peer->acked += (int64_t) total;
    free (all);
    free (workers);
    free (threads);
    return failed? -1: 0;
}

//  One pipelined client for seconds: events/s, or -1
static double
s_run_pipelined (s_peer_t *peer, const s_options_t *options, const void *data, size_t size)
{
    void *connection = peer->kind->connect (peer, options->window);
    if (!connection)
        return -1;
    int64_t started = zeb_time_mono_us ();
    int64_t acked = peer->kind->pipeline (connection, data, size, options->window,
                                          started + (int64_t) (options->seconds * 1e6));
    int64_t elapsed = zeb_time_mono_us () - started;
    peer->kind->disconnect (connection);
    if (acked < 0)
        return -1;
    peer->acked += acked;
    return elapsed > 0? (double) acked * 1e6 / (double) elapsed: 0;
}

//  The median of samples bare fdatasyncs in dir, µs: 4 KiB rewritten each
//  time inside a 4 MiB file written and synced beforehand, so that no
//  block is allocated and no size changes (-1 on failure)
static double
s_fdatasync_floor (const char *dir, size_t samples)
{
    char *path = zsys_sprintf ("%s/floor.dat", dir);
    int fd = open (path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    zstr_free (&path);
    if (fd < 0)
        return -1;
    const size_t file_size = 4 << 20, block = 4096;
    char *zeros = (char *) calloc (1, file_size);
    double *values = (double *) calloc (samples, sizeof (double));
    double median = -1;
    if (posix_fallocate (fd, 0, (off_t) file_size) != 0
    ||  pwrite (fd, zeros, file_size, 0) != (ssize_t) file_size
    ||  fdatasync (fd) != 0)
        goto cleanup;
    for (size_t index = 0; index < samples; index++) {
        zeros [0] = (char) index;
        if (pwrite (fd, zeros, block, (off_t) ((index % (file_size / block)) * block)) != (ssize_t) block)
            goto cleanup;
        int64_t started = zeb_time_mono_us ();
        if (fdatasync (fd) != 0)
            goto cleanup;
        values [index] = (double) (zeb_time_mono_us () - started);
    }
    median = bench_median (values, samples);
cleanup:
    free (values);
    free (zeros);
    close (fd);
    return median;
}

//  ---------------------------------------------------------------------
//  Peers: set up, tear down

//  zebd beside this zeb-bench, unless given. Caller owns the path.
static char *
s_zebd_path (const char *given)
{
    if (given)
        return access (given, X_OK) == 0? strdup (given): NULL;
    char self [4096];
    ssize_t length = readlink ("/proc/self/exe", self, sizeof (self) - 1);
    if (length <= 0)
        return NULL;
    self [length] = 0;
    char *slash = strrchr (self, '/');
    if (slash)
        *slash = 0;
    char *path = zsys_sprintf ("%s/zebd", self);
    if (access (path, X_OK) != 0)
        zstr_free (&path);
    return path;
}

//  The last 2 KiB of the server's log in dir, on stderr (the directory
//  goes with the peer)
static void
s_print_log_tail (const char *dir)
{
    char *path = zsys_sprintf ("%s/server.log", dir);
    FILE *file = fopen (path, "r");
    zstr_free (&path);
    if (!file)
        return;
    char text [2048];
    fseek (file, 0, SEEK_END);
    long size = ftell (file);
    fseek (file, size > (long) sizeof (text) - 1? size - (long) sizeof (text) + 1: 0, SEEK_SET);
    size_t length = fread (text, 1, sizeof (text) - 1, file);
    text [length] = 0;
    fprintf (stderr, "%s\n", text);
    fclose (file);
}

//  Start self's server (or node) in a directory under root and wait until
//  it answers; on failure self->failed, and the caller still tears it down
static void
s_peer_setup (s_peer_t *self, const char *root, const s_options_t *options)
{
    self->dir = zsys_sprintf ("%s/%s", root, self->kind->name);
    self->port = test_free_port ();
    snprintf (self->port_text, sizeof (self->port_text), "%d", self->port);
    if (mkdir (self->dir, 0700) || self->kind->start (self, options)) {
        self->failed = true;
        return;
    }
    if (self->binary && !streq (self->kind->name, "zebd"))
        s_version (self->binary, self->version, sizeof (self->version));
    void *connection = s_await (self);
    if (!connection) {
        fprintf (stderr, "zeb-bench peers: %s did not answer; the end of its log:\n", self->kind->name);
        s_print_log_tail (self->dir);
        self->failed = true;
        return;
    }
    if (self->kind->connect == s_nats_connect && s_nats_add_stream (connection))
        self->failed = true;
    self->kind->disconnect (connection);
}

//  fsync and fdatasync calls in strace -c's table at path, -1 if there
//  is no table
static int64_t
s_strace_syncs (const char *path)
{
    FILE *file = fopen (path, "r");
    if (!file)
        return -1;
    int64_t calls = 0;
    char line [256];
    while (fgets (line, sizeof (line), file)) {
        char *tokens [8];
        int count = 0;
        char *saved = NULL;
        for (char *token = strtok_r (line, " \t\n", &saved); token && count < 8;
             token = strtok_r (NULL, " \t\n", &saved))
            tokens [count++] = token;
        if (count >= 5 && (streq (tokens [count - 1], "fsync") || streq (tokens [count - 1], "fdatasync")))
            calls += strtoll (tokens [3], NULL, 10);
    }
    fclose (file);
    return calls;
}

//  Events self holds against those it acknowledged: a peer that acks what
//  it did not store would not be measured at all. true if they agree.
static bool
s_peer_check (s_peer_t *self)
{
    void *connection = self->kind->connect (self, 2);
    int64_t stored = connection? self->kind->stored (connection): -1;
    if (connection)
        self->kind->disconnect (connection);
    printf ("%-13s stored %lld events, acknowledged %lld%s\n", self->kind->name, (long long) stored,
            (long long) self->acked, stored == self->acked? "": "  (MISMATCH)");
    return stored == self->acked;
}

//  Stop self's server (and its tracer) or node, report its syncs when
//  traced, remove its directory
static void
s_peer_teardown (s_peer_t *self)
{
    zeb_node_destroy (&self->node);
    s_reap (self->pid, 0);
    self->pid = 0;
    if (self->tracer > 0) {
        //  strace leaves when its tracee is gone, its table written
        s_reap (self->tracer, 5000);
        char *path = zsys_sprintf ("%s/strace.txt", self->dir);
        int64_t syncs = s_strace_syncs (path);
        zstr_free (&path);
        if (syncs < 0)
            printf ("strace, %s: no table written\n", self->kind->name);
        else
            printf ("strace, %s: %lld fsync+fdatasync calls for %lld events acked (%.4f per event)\n",
                    self->kind->name, (long long) syncs, (long long) self->acked,
                    self->acked? (double) syncs / (double) self->acked: 0);
        self->tracer = 0;
    }
    if (self->dir)
        test_rmtree (self->dir);
    zstr_free (&self->dir);
    zstr_free (&self->binary);
}

//  ---------------------------------------------------------------------
//  Report

static void
s_usage (FILE *stream)
{
    fprintf (stream,
        "usage: zeb-bench peers [options]\n"
        "  zeb (zebd as a child) beside redis-server (appendfsync always) and nats-server\n"
        "  (JetStream, file storage), each started here on free ports with a temp dir\n"
        "  --seconds T     seconds per scenario, peer and round (default 2)\n"
        "  -r, --runs R    rounds, alternating the peers; figures are medians (default 3)\n"
        "  -c, --clients C synchronous clients of the second scenario (default 50)\n"
        "  -w, --window W  unacknowledged publishes of the pipelined client (default 4000)\n"
        "  -s, --size S    payload bytes: one zeb event of that encoded size (default 200)\n"
        "  --embedded      also an embedded zeb node, in this process over tcp\n"
        "  --client-sync   zeb's synchronous clients are zeb_clients (libzmq), not\n"
        "                  zeb_producers (direct ZMTP)\n"
        "  --strace        run each server under strace -f -c -e trace=fsync,fdatasync and\n"
        "                  count its syncs per event (slows the servers: rates are not figures)\n"
        "  --scenarios L   of pipelined,clients,latency (default: all three); with --strace,\n"
        "                  one at a time gives syncs per event of that scenario alone\n"
        "  --zebd PATH     the zebd to run (default: the one beside zeb-bench)\n");
}

//  The count that option arg sets, or NULL if it sets none
static size_t *
s_number_option (s_options_t *options, const char *arg)
{
    static const struct {
        const char *letter, *name;
        size_t offset;
    } numbers [] = {
        { "-r", "--runs", offsetof (s_options_t, runs) },
        { "-c", "--clients", offsetof (s_options_t, clients) },
        { "-w", "--window", offsetof (s_options_t, window) },
        { "-s", "--size", offsetof (s_options_t, size) },
    };
    for (size_t index = 0; index < sizeof (numbers) / sizeof (numbers [0]); index++)
        if (streq (arg, numbers [index].letter) || streq (arg, numbers [index].name))
            return (size_t *) ((char *) options + numbers [index].offset);
    return NULL;
}

static int
s_parse (int argc, char *argv [], s_options_t *options)
{
    for (int index = 2; index < argc; index++) {
        const char *arg = argv [index], *value = NULL;
        if (streq (arg, "--embedded"))
            options->embedded = true;
        else
        if (streq (arg, "--strace"))
            options->strace = true;
        else
        if (streq (arg, "--client-sync"))
            s_client_sync = true;
        else {
            int kind = bench_option (argc, argv, &index, &value, "zeb-bench peers", s_usage);
            if (kind == BENCH_OPTION_HELP || kind < 0)
                return kind;
            if (kind == BENCH_OPTION_JSON) {
                fprintf (stderr, "zeb-bench peers: --json is not supported\n");
                return -1;
            }
            size_t *number = s_number_option (options, arg);
            if (number)
                *number = strtoull (value, NULL, 10);
            else
            if (streq (arg, "--seconds"))
                options->seconds = atof (value);
            else
            if (streq (arg, "--zebd"))
                options->zebd = value;
            else
            if (streq (arg, "--scenarios")) {
                options->scenarios = (strstr (value, "pipelined")? S_PIPELINED: 0)
                                   | (strstr (value, "clients")? S_CLIENTS: 0)
                                   | (strstr (value, "latency")? S_LATENCY: 0);
                if (!options->scenarios) {
                    fprintf (stderr, "zeb-bench peers: --scenarios of pipelined,clients,latency\n");
                    return -1;
                }
            }
            else {
                fprintf (stderr, "zeb-bench peers: unknown option '%s'\n", arg);
                return -1;
            }
        }
    }
    if (options->seconds <= 0 || options->runs == 0 || options->runs > S_MAX_RUNS
    ||  options->clients == 0 || options->window == 0 || options->size < 64) {
        fprintf (stderr, "zeb-bench peers: seconds, clients, window > 0; 1 <= runs <= %d; size >= 64\n",
                 S_MAX_RUNS);
        return -1;
    }
    return 0;
}

static double
s_ratio (double zeb, double peer)
{
    return peer > 0? zeb / peer: 0;
}

static void
s_print_summary (s_peer_t *peers, size_t count, const s_options_t *options, double floor_us,
                 double roundtrips, double direct_roundtrips)
{
    size_t runs = options->runs;
    double pipelined [S_MAX_PEERS], synced [S_MAX_PEERS], p50 [S_MAX_PEERS], p99 [S_MAX_PEERS];
    printf ("\nmedians of %zu rounds   pipelined, events/s   %zu sync clients, events/s   "
            "1 sync client p50 / p99, us   fsync before the ack\n", runs, options->clients);
    for (size_t index = 0; index < count; index++) {
        s_peer_t *peer = &peers [index];
        pipelined [index] = bench_median (peer->pipelined, runs);
        synced [index] = bench_median (peer->synced, runs);
        p50 [index] = bench_median (peer->p50, runs);
        p99 [index] = bench_median (peer->p99, runs);
        printf ("  %-13s %19.0f %29.0f %21.0f / %-6.0f   %s\n", peer->kind->name, pipelined [index],
                synced [index], p50 [index], p99 [index], peer->kind->flush);
    }
    printf ("ratios zeb / peer (events/s: above 1 is zeb faster; latency: below 1 is zeb faster)\n");
    char label [64];
    for (size_t zeb = 0; zeb < count; zeb++) {
        if (!peers [zeb].kind->zeb)
            continue;
        for (size_t peer = 0; peer < count; peer++)
            if (!peers [peer].kind->zeb) {
                snprintf (label, sizeof (label), "%s / %s", peers [zeb].kind->name, peers [peer].kind->name);
                printf ("  %-21s %11.2f %29.2f %21.2f / %-6.2f\n", label,
                        s_ratio (pipelined [zeb], pipelined [peer]),
                        s_ratio (synced [zeb], synced [peer]), s_ratio (p50 [zeb], p50 [peer]),
                        s_ratio (p99 [zeb], p99 [peer]));
            }
    }
    if (options->scenarios & S_CLIENTS) {
        printf ("ceiling: %zu libzmq DEALERs, each a round trip at a time to a ROUTER in this process, "
                "nothing stored: %.0f/s (zeb_client's transport)\n", options->clients, roundtrips);
        printf ("ceiling: %zu direct ZMTP clients (zeb_zmtp), the same to the same ROUTER: "
                "%.0f/s (zeb_producer's transport%s)\n", options->clients, direct_roundtrips,
                s_client_sync? ", not used in this run": "");
    }
    printf ("floor: one bare fdatasync (4 KiB rewritten in a preallocated file, same filesystem): "
            "%.0f us, median of the rounds' medians of 100\n", floor_us);
    printf ("1 sync client p50 beside it:");
    for (size_t index = 0; index < count; index++)
        printf ("%s %s %.0f us (%.1fx)", index? ",": "", peers [index].kind->name, p50 [index],
                s_ratio (p50 [index], floor_us));
    printf ("\n");
    //  The targets, for each zeb against the peers that are here
    for (size_t zeb = 0; zeb < count; zeb++) {
        if (!peers [zeb].kind->zeb)
            continue;
        for (size_t peer = 0; peer < count; peer++) {
            if (peers [peer].kind->connect == s_redis_connect) {
                double sync_ratio = s_ratio (synced [zeb], synced [peer]);
                double pipe_ratio = s_ratio (pipelined [zeb], pipelined [peer]);
                if (options->scenarios & S_CLIENTS)
                    printf ("target: %s %zu sync clients >= 1.2x redis: %.2fx, %s\n",
                            peers [zeb].kind->name, options->clients, sync_ratio,
                            sync_ratio >= 1.2? "met": "NOT met");
                if (options->scenarios & S_LATENCY)
                    printf ("target: %s 1 sync client p50 <= redis p50: %.0f against %.0f us, %s\n",
                            peers [zeb].kind->name, p50 [zeb], p50 [peer],
                            p50 [zeb] <= p50 [peer]? "met": "NOT met");
                if (options->scenarios & S_PIPELINED)
                    printf ("target: %s 1 pipelined client >= 5x redis: %.2fx, %s\n",
                            peers [zeb].kind->name, pipe_ratio, pipe_ratio >= 5? "met": "NOT met");
            }
            if (peers [peer].kind->connect == s_nats_connect && (options->scenarios & S_PIPELINED)) {
                double pipe_ratio = s_ratio (pipelined [zeb], pipelined [peer]);
                printf ("target: %s 1 pipelined client >= 3x nats: %.2fx, %s\n", peers [zeb].kind->name,
                        pipe_ratio, pipe_ratio >= 3? "met": "NOT met");
            }
        }
    }
}

//  One round: each scenario across the peers in turn. 0, or -1 when a
//  peer failed (the figures so far stand).
static int
s_round (s_peer_t *peers, size_t count, size_t run, const s_options_t *options,
         const msgpack_sbuffer *payload)
{
    printf ("round %zu/%zu\n", run + 1, options->runs);
    if (options->scenarios & S_PIPELINED)
        printf ("  pipelined, events/s:");
    fflush (stdout);
    for (size_t index = 0; index < count && !s_interrupted && (options->scenarios & S_PIPELINED);
         index++) {
        peers [index].pipelined [run] = s_run_pipelined (&peers [index], options, payload->data,
                                                         payload->size);
        printf ("  %s %.0f", peers [index].kind->name, peers [index].pipelined [run]);
        fflush (stdout);
        if (peers [index].pipelined [run] < 0)
            return -1;
    }
    if (options->scenarios & S_CLIENTS)
        printf ("%s  %zu sync clients, events/s:", options->scenarios & S_PIPELINED? "\n": "",
                options->clients);
    fflush (stdout);
    for (size_t index = 0; index < count && !s_interrupted && (options->scenarios & S_CLIENTS);
         index++) {
        double p50, p99;
        int rc = s_run_sync (&peers [index], options, options->clients, payload->data, payload->size,
                             &peers [index].synced [run], &p50, &p99);
        printf ("  %s %.0f (p50 %.0f us)", peers [index].kind->name, peers [index].synced [run], p50);
        fflush (stdout);
        if (rc)
            return -1;
    }
    if (options->scenarios & S_LATENCY)
        printf ("%s  1 sync client, p50 / p99 us:",
                options->scenarios & (S_PIPELINED | S_CLIENTS)? "\n": "");
    fflush (stdout);
    for (size_t index = 0; index < count && !s_interrupted && (options->scenarios & S_LATENCY);
         index++) {
        double rate;
        int rc = s_run_sync (&peers [index], options, 1, payload->data, payload->size, &rate,
                             &peers [index].p50 [run], &peers [index].p99 [run]);
        printf ("  %s %.0f / %.0f (%.0f/s)", peers [index].kind->name, peers [index].p50 [run],
                peers [index].p99 [run], rate);
        fflush (stdout);
        if (rc)
            return -1;
    }
    printf ("\n");
    return s_interrupted? -1: 0;
}

int
bench_peers_main (int argc, char *argv [])
{
    s_options_t options = { .seconds = 2, .runs = 3, .clients = 50, .window = ZEB_CLIENT_WINDOW,
                            .size = 200, .scenarios = S_PIPELINED | S_CLIENTS | S_LATENCY };
    int rc = s_parse (argc, argv, &options);
    if (rc)
        return rc == BENCH_OPTION_HELP? 0: 2;
    struct sigaction action = { .sa_handler = s_on_signal };
    sigaction (SIGINT, &action, NULL);
    sigaction (SIGTERM, &action, NULL);
    signal (SIGPIPE, SIG_IGN);
    zeb_set_quiet (true);                   //  the embedded node: warnings and errors only

    char temp [] = "/tmp/zeb-bench-peers-XXXXXX";
    const char *root = mkdtemp (temp);
    if (!root) {
        fprintf (stderr, "zeb-bench peers: cannot make a temporary directory\n");
        return 1;
    }
    struct statfs fs;
    if (statfs (root, &fs) == 0 && fs.f_type == 0x01021994)
        fprintf (stderr, "zeb-bench peers: warning: %s is tmpfs, fsync costs nothing there\n", root);
    zeb_event_t *event = bench_event_padded ("bench.order.placed", NULL, options.size);
    msgpack_sbuffer payload;
    msgpack_sbuffer_init (&payload);
    zeb_event_encode (event, &payload);
    zeb_event_destroy (&event);

    printf ("zeb-bench peers: %zu-byte payloads over tcp on 127.0.0.1, %zu rounds of %.1f s per "
            "scenario and peer; pipelined window %zu, %zu sync clients\n", payload.size, options.runs,
            options.seconds, options.window, options.clients);
    s_peer_t peers [S_MAX_PEERS];
    memset (peers, 0, sizeof (peers));
    size_t count = 0;
    for (size_t index = 0; index < sizeof (s_kinds) / sizeof (s_kinds [0]); index++) {
        const s_kind_t *kind = &s_kinds [index];
        if (kind->start == s_embedded_start && !options.embedded)
            continue;
        char *binary = NULL;
        if (kind->binary) {
            binary = kind->start == s_zebd_start? s_zebd_path (options.zebd): s_which (kind->binary);
            if (!binary) {
                printf ("%s: %s not found%s: skipped\n", kind->name, kind->binary,
                        kind->start == s_zebd_start? " beside zeb-bench (--zebd PATH)": " on PATH");
                continue;
            }
        }
        s_peer_t *peer = &peers [count++];
        peer->kind = kind;
        peer->binary = binary;
        s_peer_setup (peer, root, &options);
        printf ("%-13s %s%s%s\n", kind->name, peer->binary? peer->binary: "in this process",
                peer->version [0]? ", ": "", peer->version);
        if (peer->failed)
            rc = -1;
    }
    double *floors = (double *) calloc (options.runs * 100, sizeof (double));
    size_t floor_count = 0;
    double roundtrips [S_MAX_RUNS] = { 0 };
    double direct_roundtrips [S_MAX_RUNS] = { 0 };
    size_t run = 0;
    for (; rc == 0 && run < options.runs; run++) {
        rc = s_round (peers, count, run, &options, &payload);
        double floor_us = s_fdatasync_floor (root, 100);
        if (floor_us >= 0)
            floors [floor_count++] = floor_us;
        if (rc == 0 && (options.scenarios & S_CLIENTS)) {
            roundtrips [run] = bench_zmq_roundtrip ("tcp", options.clients, options.clients * 1000,
                                                    payload.size, false);
            direct_roundtrips [run] = bench_zmq_roundtrip ("tcp", options.clients,
                                                           options.clients * 1000, payload.size, true);
            printf ("  bare fdatasync: %.0f us; round trips to a ROUTER, %zu clients, nothing stored: "
                    "libzmq %.0f/s, direct %.0f/s\n", floor_us, options.clients, roundtrips [run],
                    direct_roundtrips [run]);
        }
        else
        if (rc == 0)
            printf ("  bare fdatasync: %.0f us\n", floor_us);
    }
    if (rc == 0 && count) {
        s_print_summary (peers, count, &options, floor_count? bench_median (floors, floor_count): -1,
                         bench_median (roundtrips, options.runs),
                         bench_median (direct_roundtrips, options.runs));
        for (size_t index = 0; index < count; index++)
            if (!s_peer_check (&peers [index]))
                rc = -1;
    }
    else
    if (rc)
        fprintf (stderr, "zeb-bench peers: %s\n", s_interrupted? "interrupted": "a peer failed");
    for (size_t index = 0; index < count; index++)
        s_peer_teardown (&peers [index]);
    test_rmtree (root);
    free (floors);
    msgpack_sbuffer_destroy (&payload);
    nats_Close ();
    return rc? 1: 0;
}
