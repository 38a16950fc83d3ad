/*  =========================================================================
    testutil - helpers for zeb's process-level tests
    =========================================================================
*/

#include "testutil.h"
#include <sys/wait.h>
#include <signal.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/prctl.h>

void
test_tempdir (char *path, size_t size)
{
    snprintf (path, size, "/tmp/zeb-test-XXXXXX");
    char *made = mkdtemp (path);
    assert (made);
}

void
test_rmtree (const char *path)
{
    zdir_t *tree = zdir_new (path, NULL);
    if (tree) {
        zdir_remove (tree, true);
        zdir_destroy (&tree);
    }
    rmdir (path);
}

int
test_free_port (void)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    assert (fd >= 0);
    struct sockaddr_in address;
    memset (&address, 0, sizeof (address));
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    address.sin_port = 0;
    int rc = bind (fd, (struct sockaddr *) &address, sizeof (address));
    assert (rc == 0);
    socklen_t length = sizeof (address);
    getsockname (fd, (struct sockaddr *) &address, &length);
    close (fd);
    return ntohs (address.sin_port);
}

int
test_dead_port (int *fd)
{
    *fd = socket (AF_INET, SOCK_STREAM, 0);
    assert (*fd >= 0);
    struct sockaddr_in address;
    memset (&address, 0, sizeof (address));
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    int rc = bind (*fd, (struct sockaddr *) &address, sizeof (address));
    assert (rc == 0);
    socklen_t length = sizeof (address);
    getsockname (*fd, (struct sockaddr *) &address, &length);
    return ntohs (address.sin_port);
}

int64_t
test_now_ms (void)
{
    return zeb_time_mono_us () / 1000;
}

uint64_t
test_random (uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

bool
test_wait_until (test_predicate_fn *predicate, void *arg, int timeout_ms)
{
    assert (predicate);
    int64_t deadline = test_now_ms () + timeout_ms;
    while (!predicate (arg)) {
        int64_t left = deadline - test_now_ms ();
        if (left <= 0)
            return false;
        zclock_sleep ((int) (left < TEST_POLL_MS? left: TEST_POLL_MS));
    }
    return true;
}

void
test_zebd_init (test_zebd_t *self, const char *zebd_path)
{
    memset (self, 0, sizeof (*self));
    self->zebd = zebd_path;
    test_tempdir (self->data, sizeof (self->data));
    for (int index = 0; index < 4; index++) {
        int port;
        bool unique;
        do {
            port = test_free_port ();
            unique = true;
            for (int other = 0; other < index; other++)
                unique = unique && self->ports [other] != port;
        } while (!unique);
        self->ports [index] = port;
    }
    snprintf (self->ingest, sizeof (self->ingest), "tcp://127.0.0.1:%d", self->ports [0]);
    snprintf (self->log, sizeof (self->log), "tcp://127.0.0.1:%d", self->ports [1]);
    snprintf (self->bus, sizeof (self->bus), "tcp://127.0.0.1:%d", self->ports [2]);
    snprintf (self->registry, sizeof (self->registry), "tcp://127.0.0.1:%d", self->ports [3]);
}

void
test_zebd_set (test_zebd_t *self, const char *assignment)
{
    assert (self->extra_count < 8);
    snprintf (self->extra [self->extra_count++], 128, "%s", assignment);
}

//  A test that fails an assert must not leave its zebds running: ctest
//  would wait on their output until its timeout. The zebds started here
//  are remembered, and killed when the test aborts. (PR_SET_PDEATHSIG
//  would not do: it fires when the thread that forked exits, and the
//  crash test restarts zebd from a thread of its own.)
#define S_TRACKED 64
static volatile pid_t s_tracked [S_TRACKED];

static void
s_on_abort (int signal_number)
{
    for (int index = 0; index < S_TRACKED; index++)
        if (s_tracked [index] > 0)
            kill (s_tracked [index], SIGKILL);
    signal (signal_number, SIG_DFL);
    raise (signal_number);
}

static void
s_track (pid_t pid)
{
    static bool installed = false;
    if (!installed) {
        signal (SIGABRT, s_on_abort);
        installed = true;
    }
    for (int index = 0; index < S_TRACKED; index++)
        if (__sync_bool_compare_and_swap (&s_tracked [index], 0, pid))
            return;
}

static void
s_untrack (pid_t pid)
{
    for (int index = 0; index < S_TRACKED; index++)
        __sync_bool_compare_and_swap (&s_tracked [index], pid, 0);
}

//  True once zebd answers HELLO or has exited (then pid is 0)
static bool
s_zebd_settled (void *arg)
{
    test_zebd_t *self = (test_zebd_t *) arg;
    int status;
    if (waitpid (self->pid, &status, WNOHANG) == self->pid) {
        s_untrack (self->pid);
        self->pid = 0;
        return true;
    }
    zeb_client_t *client = zeb_client_new (self->ingest);
    zeb_client_set_timeout (client, 200);
    int rc = zeb_client_connect (client);
    zeb_client_destroy (&client);
    return rc == 0;
}

int
test_zebd_start (test_zebd_t *self, int timeout_ms)
{
    assert (self->pid == 0);
    char ingest [96], log [96], bus [96], registry [96];
    snprintf (ingest, sizeof (ingest), "ingest/endpoint=%s", self->ingest);
    snprintf (log, sizeof (log), "log/endpoint=%s", self->log);
    snprintf (bus, sizeof (bus), "bus/endpoint=%s", self->bus);
    snprintf (registry, sizeof (registry), "registry/endpoint=%s", self->registry);
    char *argv [48];
    int argc = 0;
    argv [argc++] = (char *) self->zebd;
    argv [argc++] = (char *) "--quiet";
    argv [argc++] = (char *) "--data";
    argv [argc++] = self->data;
    argv [argc++] = (char *) "--set";
    argv [argc++] = ingest;
    argv [argc++] = (char *) "--set";
    argv [argc++] = log;
    argv [argc++] = (char *) "--set";
    argv [argc++] = bus;
    argv [argc++] = (char *) "--set";
    argv [argc++] = registry;
    //  The outbox on ports of its own: clients learn them from WELCOME
    argv [argc++] = (char *) "--set";
    argv [argc++] = (char *) "outbox/endpoint=tcp://127.0.0.1:*";
    argv [argc++] = (char *) "--set";
    argv [argc++] = (char *) "outbox/workers=tcp://127.0.0.1:*";
    argv [argc++] = (char *) "--set";
    argv [argc++] = (char *) "automation/endpoint=tcp://127.0.0.1:*";
    argv [argc++] = (char *) "--set";
    argv [argc++] = (char *) "cron/endpoint=tcp://127.0.0.1:*";
    //  The HTTP gateway on any free port (WELCOME names it)
    argv [argc++] = (char *) "--set";
    argv [argc++] = (char *) "http/endpoint=127.0.0.1:0";
    for (int index = 0; index < self->extra_count; index++) {
        argv [argc++] = (char *) "--set";
        argv [argc++] = self->extra [index];
    }
    argv [argc] = NULL;
    pid_t pid = fork ();
    assert (pid >= 0);
    if (pid == 0) {
        execv (self->zebd, argv);
        _exit (127);
    }
    s_track (pid);
    self->pid = pid;
    //  Ready when it answers HELLO; done waiting, too, if it exited
    if (!test_wait_until (s_zebd_settled, self, timeout_ms)) {
        test_zebd_kill (self);
        return -1;
    }
    return self->pid? 0: -1;
}

int
test_zebd_stop (test_zebd_t *self)
{
    if (!self->pid)
        return -1;
    kill (self->pid, SIGTERM);
    int status = 0;
    waitpid (self->pid, &status, 0);
    s_untrack (self->pid);
    self->pid = 0;
    return WIFEXITED (status)? WEXITSTATUS (status): -1;
}

void
test_zebd_kill (test_zebd_t *self)
{
    if (!self->pid)
        return;
    kill (self->pid, SIGKILL);
    waitpid (self->pid, NULL, 0);
    s_untrack (self->pid);
    self->pid = 0;
}

void
test_zebd_destroy (test_zebd_t *self)
{
    test_zebd_kill (self);
    test_rmtree (self->data);
}

pid_t
test_spawn (const char *const *argv, const char *log)
{
    assert (argv && argv [0]);
    pid_t parent = getpid ();
    pid_t pid = fork ();
    assert (pid >= 0);
    if (pid == 0) {
        prctl (PR_SET_PDEATHSIG, SIGKILL);
        if (getppid () != parent)
            _exit (127);                //  the parent went before prctl took
        int fd = open (log? log: "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2 (fd, STDOUT_FILENO);
            dup2 (fd, STDERR_FILENO);
            close (fd);
        }
        execvp (argv [0], (char *const *) argv);
        _exit (127);
    }
    s_track (pid);
    return pid;
}

bool
test_child_exited (pid_t *pid)
{
    if (*pid && waitpid (*pid, NULL, WNOHANG) == *pid) {
        s_untrack (*pid);
        *pid = 0;
    }
    return *pid == 0;
}

void
test_child_kill (pid_t *pid)
{
    if (*pid) {
        kill (*pid, SIGKILL);
        waitpid (*pid, NULL, 0);
        s_untrack (*pid);
        *pid = 0;
    }
}

zeb_node_t *
test_node_embedded (char *dir, size_t size)
{
    test_tempdir (dir, size);
    zeb_fault_t fault = { 0 };
    zeb_node_t *node = zeb_node_new_embedded (dir, &fault);
    if (!node)
        fprintf (stderr, "zeb_node_new_embedded: %s\n", fault.text);
    assert (node);
    return node;
}

zeb_event_t *
test_event_new (const char *type, const char *source, int number, const char *key)
{
    zeb_event_t *event = zeb_event_new (type);
    assert (event);
    zeb_event_set (event, "source", source);
    if (key)
        zeb_event_set (event, "idempotencykey", key);
    char data [32];
    snprintf (data, sizeof (data), "{\"n\":%d}", number);
    int rc = zeb_event_set_data_json (event, data, NULL);
    assert (rc == 0);
    return event;
}

bool
test_probe_arrived (void *arg)
{
    test_probe_t *self = (test_probe_t *) arg;
    zeb_event_t *event = test_event_new (self->type, "test-probe", 0, NULL);
    zeb_ack_t ack;
    int rc = zeb_client_publish (self->publisher, event, &ack);
    if (rc)
        fprintf (stderr, "probe: %s (%s)\n", zeb_strerror (rc), ack.error);
    assert (rc == 0);
    zeb_event_destroy (&event);
    self->received = zeb_client_recv (self->subscriber, 50);
    return self->received != NULL;
}

void
test_run_cases (const test_case_t *cases, size_t count, const char *only)
{
    for (size_t index = 0; index < count; index++) {
        if (only && !streq (only, cases [index].name))
            continue;
        int64_t started = test_now_ms ();
        printf (" * %s: ", cases [index].name);
        fflush (stdout);
        cases [index].run ();
        printf ("OK (%lld ms)\n", (long long) (test_now_ms () - started));
    }
}

//  ---------------------------------------------------------------------
//  An executor host and its outbox

test_worker_t *
test_worker_new (const zeb_executor_def_t *def, const char **settings, zeb_fault_t *fault)
{
    assert (def);
    test_worker_t *self = (test_worker_t *) zmalloc (sizeof (test_worker_t));
    assert (self);
    self->action = def->name;
    self->endpoint = zeb_actor_inproc ("worker-test");
    //  A ROUTER drops what is past its high-water mark: room for a full
    //  credit of JOBs, as the outbox must have
    self->router = zsock_new (ZMQ_ROUTER);
    assert (self->router);
    zsock_set_sndhwm (self->router, ZEB_EXECUTOR_MAX_CREDIT + 1000);
    zsock_set_rcvhwm (self->router, ZEB_EXECUTOR_MAX_CREDIT + 1000);
    int rc = zsock_bind (self->router, "%s", self->endpoint);
    assert (rc == 0);
    zconfig_t *config = zconfig_new ("root", NULL);
    zconfig_put (config, "node/name", "worker-test");
    for (size_t index = 0; settings && settings [index]; index++) {
        char *copy = strdup (settings [index]);
        char *equals = strchr (copy, '=');
        assert (equals);
        *equals = 0;
        zconfig_put (config, copy, equals + 1);
        free (copy);
    }
    zeb_executor_args_t args = { def, self->endpoint, NULL, NULL, NULL, 0 };
    self->host = zeb_executor_start (&args, config, fault);
    zconfig_destroy (&config);
    if (!self->host) {
        zsock_destroy (&self->router);
        zstr_free (&self->endpoint);
        free (self);
        return NULL;
    }
    char command [16];
    json_t *ready = test_worker_recv (self, 5000, command);
    assert (ready && streq (command, "READY"));
    self->credit = json_integer_value (json_object_get (ready, "credit"));
    json_decref (ready);
    return self;
}

void
test_worker_destroy (test_worker_t **self_p)
{
    assert (self_p);
    test_worker_t *self = *self_p;
    if (self) {
        zactor_destroy (&self->host);
        char command [16];
        json_t *body;
        //  RESULTs of jobs still in hand come before the BYE
        while ((body = test_worker_recv (self, 5000, command)) && streq (command, "RESULT"))
            json_decref (body);
        assert (body && streq (command, "BYE"));
        json_decref (body);
        zframe_destroy (&self->identity);
        zsock_destroy (&self->router);
        zstr_free (&self->endpoint);
        free (self);
        *self_p = NULL;
    }
}

json_t *
test_worker_recv (test_worker_t *self, int timeout_ms, char *command)
{
    assert (self);
    int64_t deadline = test_now_ms () + timeout_ms;
    while (true) {
        int64_t left = deadline - test_now_ms ();
        if (left <= 0)
            return NULL;
        zsock_set_rcvtimeo (self->router, (int) left);
        zmsg_t *msg = zmsg_recv (self->router);
        if (!msg)
            return NULL;
        assert (zmsg_size (msg) == 3);
        zframe_destroy (&self->identity);
        self->identity = zmsg_pop (msg);
        zframe_t *frame = zmsg_first (msg);
        snprintf (command, 16, "%.*s", (int) zframe_size (frame), (char *) zframe_data (frame));
        frame = zmsg_last (msg);
        json_t *body = zeb_json_from_msgpack (zframe_data (frame), zframe_size (frame), NULL);
        assert (body);
        zmsg_destroy (&msg);
        if (!streq (command, "PING"))
            return body;
        json_decref (body);
    }
}

void
test_worker_job (test_worker_t *self, const char *key, const char *config, zeb_event_t *event,
                 int timeout_ms, char *id)
{
    assert (self && self->identity);
    snprintf (id, TEST_JOB_ID, "job-%d", ++self->jobs);
    zeb_fault_t fault;
    json_t *json = zeb_json_parse (config, strlen (config), &fault);
    if (!json)
        fprintf (stderr, "%s: %s\n", config, fault.text);
    assert (json);
    zeb_job_t job = { id, key, "run-1", self->action, "automation-1", json, event,
                      1, 0, timeout_ms, NULL, NULL };
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    int rc = zeb_job_pack (&job, &buffer);
    assert (rc == 0);
    zframe_t *to = zframe_dup (self->identity);
    zframe_send (&to, self->router, ZFRAME_MORE);
    zstr_sendm (self->router, "JOB");
    zframe_t *frame = zframe_new (buffer.data, buffer.size);
    zframe_send (&frame, self->router, 0);
    msgpack_sbuffer_destroy (&buffer);
    json_decref (json);
}

json_t *
test_worker_result (test_worker_t *self, const char *id, const char *status, int timeout_ms)
{
    char command [16];
    json_t *body = test_worker_recv (self, timeout_ms, command);
    if (!body)
        fprintf (stderr, "\nno RESULT for %s within %d ms\n", id, timeout_ms);
    assert (body && streq (command, "RESULT"));
    const char *got = json_string_value (json_object_get (body, "status"));
    const char *answered = json_string_value (json_object_get (body, "id"));
    if (!got || !streq (got, status) || !answered || !streq (answered, id)) {
        char *text = json_dumps (body, JSON_COMPACT);
        fprintf (stderr, "\n%s: expected %s, got %s\n", id, status, text);
        free (text);
    }
    assert (got && streq (got, status));
    assert (answered && streq (answered, id));
    return body;
}

int64_t
test_worker_stat (test_worker_t *self, const char *key)
{
    json_t *stats = zeb_actor_stats (self->host);
    assert (stats);
    int64_t value = json_integer_value (json_object_get (stats, key));
    json_decref (stats);
    return value;
}

json_t *
test_call_json (zsock_t *dealer, const char *command, const char *json, const char *expected,
                char *reply_command, int timeout_ms)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    int rc = zeb_json_pack_text (json, strlen (json), &buffer, NULL);
    if (rc)
        fprintf (stderr, "not JSON: %s\n", json);
    assert (rc == 0);
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, command);
    zmsg_addmem (msg, buffer.data, buffer.size);
    zmsg_send (&msg, dealer);
    msgpack_sbuffer_destroy (&buffer);
    zsock_set_rcvtimeo (dealer, timeout_ms);
    msg = zmsg_recv (dealer);
    if (!msg)
        fprintf (stderr, "%s %s: no reply in %d ms\n", command, json, timeout_ms);
    assert (msg);
    char *name = zmsg_popstr (msg);
    zframe_t *frame = zmsg_pop (msg);
    json_t *reply = frame? zeb_json_from_msgpack (zframe_data (frame), zframe_size (frame), NULL): NULL;
    assert (name && reply);
    if (expected && !streq (name, expected)) {
        char *text = json_dumps (reply, JSON_COMPACT);
        fprintf (stderr, "%s %s: expected %s, got %s %s\n", command, json, expected, name, text);
        free (text);
        assert (false);
    }
    if (reply_command)
        snprintf (reply_command, 32, "%s", name);
    zstr_free (&name);
    zframe_destroy (&frame);
    zmsg_destroy (&msg);
    return reply;
}
