/*  =========================================================================
    testutil - helpers for zeb's process-level tests

    Run zebd as a real child process on ports of its own, wait for it with
    a deadline, stop it with SIGTERM or kill it with SIGKILL; make and
    remove temporary directories; embed a node in the test; wait on a
    condition with a deadline instead of sleeping; make test events; wait
    for a live subscription with probes; run a test's named cases.
    =========================================================================
*/

#ifndef ZEB_TESTUTIL_H_INCLUDED
#define ZEB_TESTUTIL_H_INCLUDED

#include "zeb.h"
#include "zeb_actors.h"

typedef struct {
    const char *zebd;           //  path of the zebd binary
    char data [256];            //  data directory
    int ports [4];              //  ingest, log, bus, registry
    char ingest [64];           //  "tcp://127.0.0.1:PORT"
    char log [64];
    char bus [64];
    char registry [64];
    pid_t pid;                  //  0 when not running
    char extra [8][128];        //  extra "--set key=value" arguments
    int extra_count;
} test_zebd_t;

//  A fresh temporary directory under /tmp; writes its path into path.
void
    test_tempdir (char *path, size_t size);

//  Remove a directory tree.
void
    test_rmtree (const char *path);

//  A TCP port on 127.0.0.1 that nothing listens on right now.
int
    test_free_port (void);

//  A TCP port on 127.0.0.1 held by a socket that is bound but never
//  listens: connections to it are refused, and nothing else can take it
//  until close (*fd).
int
    test_dead_port (int *fd);

//  Prepare (not start) a zebd on fresh ports with data in a new temp dir.
void
    test_zebd_init (test_zebd_t *self, const char *zebd_path);

//  Add "--set key=value" for the next starts.
void
    test_zebd_set (test_zebd_t *self, const char *assignment);

//  Start zebd and wait until it answers HELLO, at most timeout_ms.
//  Returns 0, or -1 if it exited or did not answer in time.
int
    test_zebd_start (test_zebd_t *self, int timeout_ms);

//  SIGTERM and wait for exit; returns the exit status (-1 if killed).
int
    test_zebd_stop (test_zebd_t *self);

//  SIGKILL and reap.
void
    test_zebd_kill (test_zebd_t *self);

//  Stop if running and remove the data directory.
void
    test_zebd_destroy (test_zebd_t *self);

//  One ZEB/1 request on dealer: command with json (JSON text, packed as
//  msgpack) as its body; waits at most timeout_ms for the reply. The
//  reply's command goes into reply_command (32 bytes; may be NULL) and
//  its body comes back as JSON (the caller decrefs). With expected not
//  NULL, a reply of another command fails the test, printing both.
json_t *
    test_call_json (zsock_t *dealer, const char *command, const char *json, const char *expected,
                    char *reply_command, int timeout_ms);

//  Milliseconds from a monotonic clock.
int64_t
    test_now_ms (void);

//  Seeded random numbers (splitmix64): the next of the stream *state
//  (seed it with any value; one state per thread).
uint64_t
    test_random (uint64_t *state);

//  A condition a test waits for: true once it holds. arg is the caller's.
//  It may block briefly itself (a receive with a short timeout) and may
//  assert on what it sees.
typedef bool (test_predicate_fn) (void *arg);

//  Call predicate until it returns true or timeout_ms have passed, waiting
//  TEST_POLL_MS between calls (never past the deadline); it is called once
//  more at the deadline. Returns true if it held, false on timeout. The
//  way to wait on anything a test cannot be told about directly.
#define TEST_POLL_MS 10
bool
    test_wait_until (test_predicate_fn *predicate, void *arg, int timeout_ms);

//  A node embedded in this process (zeb_node_new_embedded) with its data
//  in a fresh temporary directory, whose path goes into dir. Asserts that
//  it started. The caller destroys the node, then removes dir.
zeb_node_t *
    test_node_embedded (char *dir, size_t size);

//  An event of type from source, with data {"n": number} and, if key is
//  not NULL, that idempotency key. Caller owns the event.
zeb_event_t *
    test_event_new (const char *type, const char *source, int number, const char *key);

//  Probes for a live subscription, which reaches the bus asynchronously:
//  wait with test_wait_until (test_probe_arrived, &probe, timeout) until
//  one probe has come through, then drain any later ones.
typedef struct {
    zeb_client_t *publisher;
    zeb_client_t *subscriber;   //  may be the publisher
    const char *type;           //  of the probes: one the subscriber asked for
    zeb_event_t *received;      //  the first probe seen, once it came (caller owns)
} test_probe_t;

//  A test_predicate_fn on a test_probe_t: publish one probe synchronously
//  (asserts it was stored); true once the subscriber received an event
//  within 50 ms.
bool
    test_probe_arrived (void *arg);

//  ---------------------------------------------------------------------
//  Child processes other than zebd (a Redis or NATS server for a test)

//  Start argv [0] (a path, or a name looked up on PATH) with argv, its
//  output to log (a file, created or truncated) or to /dev/null (log NULL).
//  The child is killed when the test aborts, as zebds are, and when the
//  thread that started it exits (PR_SET_PDEATHSIG: start children from
//  the test's main thread). If it cannot be executed it exits with 127.
//  Returns its pid.
pid_t
    test_spawn (const char *const *argv, const char *log);

//  True (and *pid set to 0) if the child has exited; it is reaped.
bool
    test_child_exited (pid_t *pid);

//  SIGKILL the child and reap it; *pid becomes 0. Safe with *pid 0.
void
    test_child_kill (pid_t *pid);

//  ---------------------------------------------------------------------
//  An executor host whose outbox the test plays on an inproc ROUTER:
//  READY, then JOBs out and RESULTs back, as docs/PROTOCOL.md "Workers"

typedef struct {
    const char *action;         //  the plugin's name, the JOBs' action
    char *endpoint;
    zsock_t *router;
    zframe_t *identity;         //  the host's, from its READY
    zactor_t *host;
    int64_t credit;             //  READY's
    int jobs;                   //  JOBs sent, for their ids
} test_worker_t;

//  Start a host for def with settings ("key=value" strings, NULL-ended;
//  may be NULL) and wait for its READY. Returns NULL with fault set if
//  START failed.
test_worker_t *
    test_worker_new (const zeb_executor_def_t *def, const char **settings, zeb_fault_t *fault);

//  Stop the host; asserts its BYE comes last.
void
    test_worker_destroy (test_worker_t **self_p);

//  Send a JOB for the host's action: key the action's stable id, config
//  JSON text (asserted to parse), event the trigger (borrowed), timeout ms.
//  Writes the JOB's id into id (TEST_JOB_ID bytes).
#define TEST_JOB_ID 16
void
    test_worker_job (test_worker_t *self, const char *key, const char *config, zeb_event_t *event,
                     int timeout_ms, char *id);

//  The next message other than a PING, its command into command (16
//  bytes); its body as JSON (caller owns), or NULL by timeout_ms.
json_t *
    test_worker_recv (test_worker_t *self, int timeout_ms, char *command);

//  The next RESULT, within timeout_ms: asserts it answers id with status
//  ("ok", "retry", "fail"), printing its error first if the status differs.
//  Returns its body (caller owns).
json_t *
    test_worker_result (test_worker_t *self, const char *id, const char *status, int timeout_ms);

//  A counter of the host's STATS (0 if absent).
int64_t
    test_worker_stat (test_worker_t *self, const char *key);

//  One named case of a test program
typedef struct {
    const char *name;
    void (*run) (void);
} test_case_t;

//  Run the cases in order, or only the one named only (if not NULL; none
//  if no case has that name), each printed as " * name: OK (N ms)".
void
    test_run_cases (const test_case_t *cases, size_t count, const char *only);

#endif
