/*  testutil.h: helpers shared by the integration tests: unique endpoints,
    child processes started with posix_spawn (never a bare fork: a ZeroMQ
    context must not cross fork), and waiting on handles with a deadline
    instead of sleeping. */
#ifndef PROKIT_TESTUTIL_H_INCLUDED
#define PROKIT_TESTUTIL_H_INCLUDED

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <prokit.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static inline int64_t
tu_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

//  A fresh endpoint: KIND "ipc" gives a path unique to this process and
//  call, "tcp" gives loopback with a port the router picks.
static inline void
tu_endpoint (const char *kind, char *out, size_t size)
{
    static int counter;
    if (strcmp (kind, "tcp") == 0)
        snprintf (out, size, "tcp://127.0.0.1:*");
    else
        snprintf (out, size, "ipc:///tmp/prokit-test-%d-%d.sock", (int) getpid (), ++counter);
}

//  Can a listener bind loopback PORT now?
static inline bool
tu_port_free (int port)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return false;
    int on = 1;
    setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof (on)); //  as libzmq binds
    struct sockaddr_in address;
    memset (&address, 0, sizeof (address));
    address.sin_family = AF_INET;
    address.sin_port = htons ((uint16_t) port);
    address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    bool free = bind (fd, (struct sockaddr *) &address, sizeof (address)) == 0;
    close (fd);
    return free;
}

//  A loopback endpoint for a test that binds it again after a restart: a
//  port below the kernel's ephemeral range (32768 and up), where no
//  "any free port" bind of another test can take it meanwhile, with the
//  next port free too (its PUB channel's). False if none is free.
static inline bool
tu_endpoint_rebindable (char *out, size_t size)
{
    int offset = (int) (getpid () % 6000) * 2;
    for (int i = 0; i < 6000; i++) {
        int port = 20000 + (offset + 2 * i) % 12000;
        if (tu_port_free (port) && tu_port_free (port + 1)) {
            snprintf (out, size, "tcp://127.0.0.1:%d", port);
            return true;
        }
    }
    return false;
}

//  Remove the socket file of an ipc endpoint whose main was killed (a
//  main that is destroyed removes its own).
static inline void
tu_endpoint_remove (const char *endpoint)
{
    if (strncmp (endpoint, "ipc://", 6) == 0) {
        unlink (endpoint + 6);
        char channel[512]; //  the PUB channel beside it
        snprintf (channel, sizeof (channel), "%s.pub", endpoint + 6);
        unlink (channel);
    }
}

//  Something to dispatch: a main or a window.
typedef struct tu_handle {
    prokit_main_t *main;
    prokit_window_t *window;
} tu_handle_t;

typedef bool (tu_predicate_fn) (void *arg);

//  Dispatch HANDLES until DONE(arg) is true or TIMEOUT_MS passes, waiting
//  on their descriptors in between. Returns DONE's last value.
static inline bool
tu_pump (tu_handle_t *handles, size_t count, tu_predicate_fn *done, void *arg, int timeout_ms)
{
    int64_t deadline = tu_now_ms () + timeout_ms;
    struct pollfd *fds = (struct pollfd *) calloc (count > 0 ? count : 1, sizeof (*fds));
    assert (fds);
    bool result = false;
    while (true) {
        for (size_t i = 0; i < count; i++) {
            if (handles[i].main)
                prokit_main_dispatch (handles[i].main);
            if (handles[i].window)
                prokit_window_dispatch (handles[i].window);
        }
        if (done (arg)) {
            result = true;
            break;
        }
        int64_t left = deadline - tu_now_ms ();
        if (left <= 0)
            break;
        for (size_t i = 0; i < count; i++) {
            fds[i].fd = handles[i].main ? prokit_main_fd (handles[i].main)
                                        : prokit_window_fd (handles[i].window);
            fds[i].events = POLLIN;
        }
        poll (fds, count, (int) (left > 100 ? 100 : left));
    }
    free (fds);
    return result;
}

//  A main bound to a fresh endpoint of KIND ("ipc" or "tcp"), with OPTS's
//  other settings (NULL: the defaults). NULL, said on stderr, when it
//  cannot start.
static inline prokit_main_t *
tu_main_new (const char *kind, const prokit_main_opts_t *opts)
{
    char endpoint[256];
    tu_endpoint (kind, endpoint, sizeof (endpoint));
    prokit_main_opts_t own;
    if (opts)
        own = *opts;
    else
        prokit_main_opts_init (&own);
    own.endpoint = endpoint;
    int error = PROKIT_OK;
    prokit_main_t *main = prokit_main_new (&own, &error);
    if (!main)
        fprintf (stderr, "prokit_main_new (%s): %s\n", endpoint, prokit_strerror (error));
    return main;
}

//  Window NAME, joined to the main or broker at ENDPOINT. NULL, said on
//  stderr, when it cannot join.
static inline prokit_window_t *
tu_window_new (const char *endpoint, const char *name)
{
    prokit_window_opts_t opts;
    prokit_window_opts_init (&opts);
    opts.endpoint = endpoint;
    int error = PROKIT_OK;
    prokit_window_t *window = prokit_window_new (name, &opts, &error);
    if (!window)
        fprintf (stderr, "prokit_window_new (%s): %s\n", name, prokit_strerror (error));
    return window;
}

//  A thread's body running main's loop (prokit_main_t * ARG) until
//  prokit_main_stop(), at most 30 s.
static inline void *
tu_run_main (void *arg)
{
    prokit_main_run ((prokit_main_t *) arg, 30000);
    return NULL;
}

//  A handle's connection events, counted (prokit_*_on_connection()).
typedef struct tu_connection_log {
    int lost;
    int rejoined;
    int refused;
    int last_code; //  the last event's
} tu_connection_log_t;

static inline void
tu_log_connection (prokit_connection_event_t event, int code, const char *text, void *arg)
{
    (void) text;
    tu_connection_log_t *log = (tu_connection_log_t *) arg;
    log->last_code = code;
    if (event == PROKIT_CONNECTION_LOST)
        log->lost++;
    else if (event == PROKIT_CONNECTION_REJOINED)
        log->rejoined++;
    else if (event == PROKIT_CONNECTION_REFUSED)
        log->refused++;
}

//  A sender's undelivered reports, counted (prokit_*_on_undelivered()):
//  all of them, and those for a full queue and for a name not there.
typedef struct tu_undelivered {
    long undelivered;
    long eagain;
    long notfound;
} tu_undelivered_t;

//  MAIN's router counters now.
static inline prokit_stats_t
tu_main_stats (prokit_main_t *main)
{
    prokit_stats_t stats;
    int rc = prokit_main_stats (main, &stats, sizeof (stats));
    assert (rc == PROKIT_OK);
    (void) rc;
    return stats;
}

static inline void
tu_log_undelivered (const char *target, int code, const char *text, void *arg)
{
    (void) target;
    (void) text;
    tu_undelivered_t *log = (tu_undelivered_t *) arg;
    log->undelivered++;
    if (code == PROKIT_EAGAIN)
        log->eagain++;
    else if (code == PROKIT_ENOTFOUND)
        log->notfound++;
}

static inline bool
tu_was_lost (void *arg)
{
    return ((tu_connection_log_t *) arg)->lost > 0;
}

static inline bool
tu_rejoined (void *arg)
{
    return ((tu_connection_log_t *) arg)->rejoined > 0;
}

//  libzmq's I/O threads running in this process, by their names.
static inline int
tu_io_threads (void)
{
    int count = 0;
    DIR *tasks = opendir ("/proc/self/task");
    for (struct dirent *task = tasks ? readdir (tasks) : NULL; task; task = readdir (tasks)) {
        char path[300], name[32] = "";
        snprintf (path, sizeof (path), "/proc/self/task/%s/comm", task->d_name);
        FILE *file = fopen (path, "r");
        if (file && fgets (name, sizeof (name), file) && strncmp (name, "ZMQbg/IO/", 9) == 0)
            count++;
        if (file)
            fclose (file);
    }
    if (tasks)
        closedir (tasks);
    return count;
}

//  A child process with its stdout on a pipe.
typedef struct tu_child {
    pid_t pid;
    int out; //  read end of its stdout
    char buffer[4096];
    size_t used;
} tu_child_t;

//  Start PROGRAM with ARGV (NULL-terminated, argv[0] included).
static inline bool
tu_spawn (tu_child_t *child, char *const argv[])
{
    memset (child, 0, sizeof (*child));
    int fds[2];
    if (pipe (fds) != 0)
        return false;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init (&actions);
    posix_spawn_file_actions_adddup2 (&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose (&actions, fds[0]);
    posix_spawn_file_actions_addclose (&actions, fds[1]);
    int rc = posix_spawn (&child->pid, argv[0], &actions, NULL, argv, environ);
    posix_spawn_file_actions_destroy (&actions);
    close (fds[1]);
    child->out = fds[0];
    return rc == 0;
}

//  Read one line of the child's output into LINE, waiting at most
//  TIMEOUT_MS. Returns false on timeout or end of output.
static inline bool
tu_read_line (tu_child_t *child, char *line, size_t size, int timeout_ms)
{
    int64_t deadline = tu_now_ms () + timeout_ms;
    while (true) {
        char *newline = (char *) memchr (child->buffer, '\n', child->used);
        if (newline) {
            size_t len = (size_t) (newline - child->buffer);
            size_t copy = len < size - 1 ? len : size - 1;
            memcpy (line, child->buffer, copy);
            line[copy] = 0;
            memmove (child->buffer, newline + 1, child->used - len - 1);
            child->used -= len + 1;
            return true;
        }
        int64_t left = deadline - tu_now_ms ();
        if (left <= 0 || child->used == sizeof (child->buffer))
            return false;
        struct pollfd pfd = { child->out, POLLIN, 0 };
        if (poll (&pfd, 1, (int) left) <= 0)
            continue;
        ssize_t n =
            read (child->out, child->buffer + child->used, sizeof (child->buffer) - child->used);
        if (n <= 0)
            return false;
        child->used += (size_t) n;
    }
}

//  Wait for the child to exit, at most TIMEOUT_MS; kill it after that.
//  Returns its wait status, or -1 if it had to be killed.
static inline int
tu_reap (tu_child_t *child, int timeout_ms)
{
    int64_t deadline = tu_now_ms () + timeout_ms;
    int status = 0;
    while (waitpid (child->pid, &status, WNOHANG) == 0) {
        if (tu_now_ms () >= deadline) {
            //  Said, so that a failure further on shows it was a timeout.
            fprintf (stderr, "tu_reap: child %d still running after %d ms: killed\n",
                     (int) child->pid, timeout_ms);
            kill (child->pid, SIGKILL);
            waitpid (child->pid, &status, 0);
            status = -1;
            break;
        }
        struct timespec pause = { 0, 5 * 1000 * 1000 };
        nanosleep (&pause, NULL); //  polling a pid: there is no fd to wait on
    }
    if (child->out >= 0)
        close (child->out);
    child->out = -1;
    return status;
}

#ifdef PROKIT_TEST_PEER
//  prokit-test-peer as window NAME joined to ENDPOINT (see tests/peer.c),
//  once it says it is READY. False if it could not start or join.
static inline bool
tu_peer_window (tu_child_t *child, const char *name, const char *endpoint)
{
    char *argv[] = { (char *) PROKIT_TEST_PEER, (char *) "window", (char *) name, (char *) endpoint,
                     NULL };
    char line[256];
    return tu_spawn (child, argv) && tu_read_line (child, line, sizeof (line), 10000) &&
           strcmp (line, "READY") == 0;
}

//  prokit-test-peer as a broker bound to ENDPOINT, once it is READY.
static inline bool
tu_peer_broker (tu_child_t *child, const char *endpoint)
{
    char *argv[] = { (char *) PROKIT_TEST_PEER, (char *) "broker", (char *) endpoint, NULL };
    char line[300];
    return tu_spawn (child, argv) && tu_read_line (child, line, sizeof (line), 10000) &&
           strncmp (line, "READY ", 6) == 0;
}
#endif

#ifdef PROKIT_TEST_PEER
//  A main on ENDPOINT: embedding the router, or, THROUGH_BROKER, attached
//  to a broker process started there (*BROKER, to stop and reap). NULL if
//  either cannot start.
static inline prokit_main_t *
tu_main_at (const char *endpoint, bool through_broker, tu_child_t *broker)
{
    prokit_main_opts_t opts;
    prokit_main_opts_init (&opts);
    if (through_broker) {
        if (!tu_peer_broker (broker, endpoint))
            return NULL;
        opts.broker = endpoint;
    }
    else
        opts.endpoint = endpoint;
    return prokit_main_new (&opts, NULL);
}
#endif

//  A tu_pump() predicate: MAIN has COUNT windows in its registry.
typedef struct tu_window_count {
    prokit_main_t *main;
    size_t count;
} tu_window_count_t;

static inline bool
tu_window_count_is (void *arg)
{
    tu_window_count_t *wc = (tu_window_count_t *) arg;
    return prokit_main_window_count (wc->main) == wc->count;
}

#ifdef CMOCKA_H_
//  After a failure, leave at once: a test that failed halfway left its
//  handles open, and the exit handlers would wait for their sockets
//  (libzmq's context ends only once every socket is closed).
static inline int
tu_exit_on_failure (int failed)
{
    if (failed) {
        fflush (stdout);
        fflush (stderr);
        _exit (failed > 125 ? 125 : failed);
    }
    return 0;
}

//  Runs the group, or only the tests whose names match
//  $PROKIT_TEST_FILTER (a cmocka pattern: '*' and '?'), to chase one
//  test without waiting for the others.
#define tu_run_tests(tests)                                                                        \
    (getenv ("PROKIT_TEST_FILTER") ? cmocka_set_test_filter (getenv ("PROKIT_TEST_FILTER"))        \
                                   : (void) 0,                                                     \
     tu_exit_on_failure (cmocka_run_group_tests (tests, NULL, NULL)))
#endif

#endif
