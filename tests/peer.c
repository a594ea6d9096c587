/*  peer.c: a scriptable main or window, run as a separate process by the
    integration tests.

    prokit-test-peer main ENDPOINT [MAX_PAYLOAD [HEARTBEAT_IVL HEARTBEAT_TIMEOUT]]
        Runs a main. Prints "READY <endpoint>" once bound. Its handler
        answers requests as described under "Requests" below, and those on
        channel "echo" as a window does (see "Named channels"); it handles
        no other channel. 0 keeps a default.
    prokit-test-peer window NAME ENDPOINT
        Joins as window NAME, prints "READY". Serves requests the same way,
        and reports every message it receives to main as a request
        "got|<sender>|<text>|<broadcast 0/1>". A message "sendto:<window>:<text>"
        from main makes it send <text> to <window>. A message "exit" from
        main makes it leave and exit 0. With PROKIT_WINDOW_SERVICE set in
        its environment, it serves that pool too.

    prokit-test-peer counter NAME ENDPOINT FILE
        Joins as window NAME and counts the messages main sends it (by
        name and broadcast), and those from other windows, in FILE: two
        64-bit counters in shared memory (main's, then the windows'),
        updated as each message is handed over, so that what it received
        can be read even after it was killed. Prints "READY"; leaves on
        SIGTERM.

    prokit-test-peer broker ENDPOINT
        Runs a broker (prokit_broker_t) on ENDPOINT. Prints "READY
        <endpoint>" once bound; runs until SIGTERM or until killed.

    prokit-test-peer spawned [--ignore-close] [--ignore-term]
        A window started by main's createWindow: name and endpoint come from
        the environment. Reports as a window does, plus "visibility|0/1"
        when main hides or shows it. A message "crash:N" from main makes it
        exit with status N at once. On close it exits 0, unless
        --ignore-close (then it waits for a signal); --ignore-term makes it
        ignore close and SIGTERM both (only SIGKILL ends it).

    Requests: "fail" -> prokit_request_fail (42, "failed on purpose");
    "defer" -> kept unanswered (prints "DEFERRED"); anything else -> echoed.

    Named channels (windows, and main's "echo"): requests on channel
    "echo" are answered "echo:<text>", on channel "whoami" (windows) with
    the window's name, on channel "steps" (windows) with "done:<N>" after N
    progress updates "1" to "N" (<text> is N), and on channel "hold"
    (windows) are kept (prints "HELD") until cancelled: the window then
    tells main "cancelled|<requester>" and answers it all the same; on
    channel "timeleft" with the request's time left in ms, and on channel
    "count" with "count:<how many it has handled on that channel>"; messages on channel "news" are reported to main as
    "on|<channel>|<sender>|<text>|<broadcast 0/1>". From main,
    "sendon:<window>:<channel>:<text>" makes the window send <text> to
    <window> on <channel>, and "ask:<target>:<channel>:<text>" makes it
    request <text> from <target> ("@main" or a window) on <channel> ("-":
    the default one) and report "asked|<status name>|<reply or error>".

    Runs until SIGTERM or SIGINT (then leaves cleanly) or until killed.
*/
#include <fcntl.h>
#include <prokit.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "testutil.h"

static prokit_main_t *s_main;
static prokit_window_t *s_window;

//  Deferred requests, answered (and so freed) at exit after the handle is
//  gone: that exercises the orphaned-request path too.
#define DEFERRED_MAX 64
static prokit_request_t *s_deferred[DEFERRED_MAX];
static size_t s_deferred_count;

static void
s_release_deferred (void)
{
    for (size_t i = 0; i < s_deferred_count; i++)
        prokit_request_fail (&s_deferred[i], 0, "gone");
    s_deferred_count = 0;
}

//  SIGTERM and SIGINT are taken by a thread of their own with sigwait(),
//  never by an asynchronous handler: ThreadSanitizer defers those, and was
//  seen to drop one now and then (a window told to stop by SIGTERM just
//  after it started kept running). Blocked before any other thread starts,
//  so that every thread inherits the mask. The thread raises a flag and
//  stops the handle that is running (prokit_*_stop() may be called from
//  any thread); the run loop below also checks the flag between slices,
//  for a signal that comes before the handle exists.
static sigset_t s_stop_signals;
static atomic_int s_signalled;
static pthread_mutex_t s_stoppable_lock = PTHREAD_MUTEX_INITIALIZER;
static prokit_main_t *s_main_to_stop;     //  under s_stoppable_lock
static prokit_window_t *s_window_to_stop; //  under s_stoppable_lock

static void *
s_take_signals (void *arg)
{
    (void) arg;
    int signum = 0;
    while (sigwait (&s_stop_signals, &signum) == 0) {
        if (signum == SIGUSR1)
            break; //  s_exit(): time to go
        atomic_store (&s_signalled, 1);
        pthread_mutex_lock (&s_stoppable_lock);
        if (s_main_to_stop)
            prokit_main_stop (s_main_to_stop);
        if (s_window_to_stop)
            prokit_window_stop (s_window_to_stop);
        pthread_mutex_unlock (&s_stoppable_lock);
    }
    return NULL;
}

//  Say which handle a signal stops (NULL, NULL before destroying it).
static void
s_stoppable (prokit_main_t *main_handle, prokit_window_t *window)
{
    pthread_mutex_lock (&s_stoppable_lock);
    s_main_to_stop = main_handle;
    s_window_to_stop = window;
    pthread_mutex_unlock (&s_stoppable_lock);
}

static pthread_t s_signal_thread;
static bool s_signal_thread_started;

static void
s_catch_stop_signals (bool term)
{
    sigemptyset (&s_stop_signals);
    sigaddset (&s_stop_signals, SIGUSR1);
    sigaddset (&s_stop_signals, SIGINT);
    if (term)
        sigaddset (&s_stop_signals, SIGTERM);
    pthread_sigmask (SIG_BLOCK, &s_stop_signals, NULL);
    s_signal_thread_started = pthread_create (&s_signal_thread, NULL, s_take_signals, NULL) == 0;
}

//  End the signal thread before exiting (SIGUSR1 tells it to), as
//  ThreadSanitizer waits a second at exit for threads still running.
static int
s_exit (int status)
{
    if (s_signal_thread_started) {
        pthread_kill (s_signal_thread, SIGUSR1);
        pthread_join (s_signal_thread, NULL);
        s_signal_thread_started = false;
    }
    return status;
}

//  Run the handle until a stop signal, a stop or a failure, then forget
//  it for the signal thread. Returns what the last run returned.
#define RUN_SLICE_MS 100

static void s_check_held (void);

static int
s_run_until_signalled (void)
{
    s_stoppable (s_main, s_window);
    int rc = PROKIT_ETIMEDOUT;
    while (!atomic_load (&s_signalled) && rc == PROKIT_ETIMEDOUT) {
        rc = s_main ? prokit_main_run (s_main, RUN_SLICE_MS)
                    : prokit_window_run (s_window, RUN_SLICE_MS);
        if (s_window)
            s_check_held ();
    }
    s_stoppable (NULL, NULL);
    return rc;
}

static prokit_payload_t *
s_serve (prokit_request_t *request, void *arg)
{
    (void) arg;
    const char *text = prokit_payload_str (prokit_request_payload (request));
    if (text && strcmp (text, "fail") == 0) {
        prokit_request_fail (&request, 42, "failed on purpose");
        return NULL;
    }
    if (text && strcmp (text, "defer") == 0) {
        prokit_request_t *kept = prokit_request_defer (request);
        if (s_deferred_count < DEFERRED_MAX)
            s_deferred[s_deferred_count++] = kept;
        else
            prokit_request_fail (&kept, 0, "too many deferred requests");
        printf ("DEFERRED\n");
        fflush (stdout);
        return NULL;
    }
    return prokit_payload_dup (prokit_request_payload (request));
}

//  "sendon:W:C:T" or "ask:W:C:T" from main, into its three fields.
static bool
s_fields (const char *text, char target[PROKIT_NAME_MAX + 1], char channel[PROKIT_CHANNEL_MAX + 1],
          const char **rest)
{
    const char *a = strchr (text, ':');
    const char *b = a ? strchr (a + 1, ':') : NULL;
    const char *c = b ? strchr (b + 1, ':') : NULL;
    if (!c || (size_t) (b - a - 1) > PROKIT_NAME_MAX || (size_t) (c - b - 1) > PROKIT_CHANNEL_MAX)
        return false;
    memcpy (target, a + 1, (size_t) (b - a - 1));
    target[b - a - 1] = 0;
    memcpy (channel, b + 1, (size_t) (c - b - 1));
    channel[c - b - 1] = 0;
    *rest = c + 1;
    return true;
}

//  Tell main TEXT (a request on the default channel, waited for: reports
//  reach main in the order they were made).
static void
s_tell_main (prokit_payload_t *report)
{
    prokit_reply_t *reply = NULL;
    prokit_window_request_wait (s_window, PROKIT_MAIN, &report, 5000, &reply);
    prokit_payload_destroy (&report); //  not sent: still ours (NULL-safe)
    prokit_reply_destroy (&reply);
}

static void
s_ask (const char *text)
{
    char target[PROKIT_NAME_MAX + 1], channel[PROKIT_CHANNEL_MAX + 1];
    const char *rest;
    if (!s_fields (text, target, channel, &rest))
        return;
    prokit_payload_t *payload = prokit_payload_new_string (rest);
    prokit_reply_t *reply = NULL;
    int rc = prokit_window_request_wait_on (
        s_window, target, strcmp (channel, "-") == 0 ? NULL : channel, &payload, 5000, &reply);
    prokit_payload_destroy (&payload);
    const char *answer =
        reply ? (rc == PROKIT_OK ? prokit_reply_str (reply) : prokit_reply_error (reply))
              : prokit_strerror (rc);
    s_tell_main (prokit_payload_new_printf ("asked|%s|%s", prokit_error_name (rc),
                                            answer ? answer : "(not a string)"));
    prokit_reply_destroy (&reply);
}

static void
s_send_on (const char *text)
{
    char target[PROKIT_NAME_MAX + 1], channel[PROKIT_CHANNEL_MAX + 1];
    const char *rest;
    if (!s_fields (text, target, channel, &rest))
        return;
    prokit_payload_t *payload = prokit_payload_new_string (rest);
    prokit_window_send_on (s_window, target, channel, &payload);
    prokit_payload_destroy (&payload); //  not sent: still ours (NULL-safe)
}

static prokit_payload_t *
s_serve_echo (prokit_request_t *request, void *arg)
{
    (void) arg;
    const char *text = prokit_payload_str (prokit_request_payload (request));
    return prokit_payload_new_printf ("%s:%s", prokit_request_channel (request),
                                      text ? text : "(not a string)");
}

static prokit_payload_t *
s_serve_steps (prokit_request_t *request, void *arg)
{
    (void) arg;
    const char *text = prokit_payload_str (prokit_request_payload (request));
    int steps = text ? atoi (text) : 0;
    for (int i = 1; i <= steps; i++) {
        prokit_payload_t *progress = prokit_payload_new_printf ("%d", i);
        prokit_request_progress (request, &progress);
        prokit_payload_destroy (&progress); //  not sent: still ours (NULL-safe)
    }
    return prokit_payload_new_printf ("done:%d", steps);
}

static prokit_payload_t *
s_serve_hold (prokit_request_t *request, void *arg)
{
    (void) arg;
    if (s_deferred_count < DEFERRED_MAX) {
        s_deferred[s_deferred_count++] = prokit_request_defer (request);
        printf ("HELD\n");
        fflush (stdout);
    }
    else
        prokit_request_fail (&request, 0, "too many requests held");
    return NULL;
}

static void s_tell_main (prokit_payload_t *report);

//  Between run slices: the held requests their requesters cancelled are
//  said to main, then answered (the router drops the answer).
static void
s_check_held (void)
{
    for (size_t i = 0; i < s_deferred_count; i++)
        if (s_deferred[i] && prokit_request_is_cancelled (s_deferred[i])) {
            s_tell_main (
                prokit_payload_new_printf ("cancelled|%s", prokit_request_sender (s_deferred[i])));
            prokit_request_fail (&s_deferred[i], 0, "stopped: cancelled");
            s_deferred[i] = s_deferred[--s_deferred_count];
            i--;
        }
}

static prokit_payload_t *
s_serve_timeleft (prokit_request_t *request, void *arg)
{
    (void) arg;
    return prokit_payload_new_printf ("%lld", prokit_request_time_left (request));
}

static prokit_payload_t *
s_serve_count (prokit_request_t *request, void *arg)
{
    (void) request;
    (void) arg;
    static int handled;
    return prokit_payload_new_printf ("count:%d", ++handled);
}

static prokit_payload_t *
s_serve_whoami (prokit_request_t *request, void *arg)
{
    (void) request;
    (void) arg;
    return prokit_payload_new_string (prokit_window_name (s_window));
}

static void
s_report_channel (const prokit_message_t *message, void *arg)
{
    (void) arg;
    const char *text = prokit_payload_str (prokit_message_payload (message));
    s_tell_main (prokit_payload_new_printf (
        "on|%s|%s|%s|%d", prokit_message_channel (message), prokit_message_sender (message),
        text ? text : "(not a string)", prokit_message_is_broadcast (message) ? 1 : 0));
}

static void
s_report (const prokit_message_t *message, void *arg)
{
    (void) arg;
    const char *text = prokit_payload_str (prokit_message_payload (message));
    if (!text)
        text = "(not a string)";
    if (strcmp (prokit_message_sender (message), PROKIT_MAIN) == 0) {
        if (strcmp (text, "exit") == 0) {
            prokit_window_stop (s_window);
            return;
        }
        if (strncmp (text, "crash:", 6) == 0)
            _exit (atoi (text + 6));
        if (strncmp (text, "sendto:", 7) == 0) {
            char target[PROKIT_NAME_MAX + 1];
            const char *colon = strchr (text + 7, ':');
            size_t len = colon ? (size_t) (colon - (text + 7)) : 0;
            if (colon && len <= PROKIT_NAME_MAX) {
                memcpy (target, text + 7, len);
                target[len] = 0;
                prokit_payload_t *payload = prokit_payload_new_string (colon + 1);
                prokit_window_send (s_window, target, &payload);
                prokit_payload_destroy (&payload); //  not sent: still ours (NULL-safe)
            }
            return;
        }
        if (strncmp (text, "sendon:", 7) == 0) {
            s_send_on (text);
            return;
        }
        if (strncmp (text, "ask:", 4) == 0) {
            s_ask (text);
            return;
        }
    }
    //  Blocking on purpose: reports reach main in the order received.
    s_tell_main (prokit_payload_new_printf ("got|%s|%s|%d", prokit_message_sender (message), text,
                                            prokit_message_is_broadcast (message) ? 1 : 0));
}

//  What every scripted window listens to and serves.
static void
s_window_serves (void)
{
    prokit_window_on_request (s_window, s_serve, NULL);
    prokit_window_on_main_message (s_window, s_report, NULL);
    prokit_window_on_window_message (s_window, s_report, NULL);
    prokit_window_handle (s_window, "echo", s_serve_echo, NULL);
    prokit_window_handle (s_window, "whoami", s_serve_whoami, NULL);
    prokit_window_handle (s_window, "steps", s_serve_steps, NULL);
    prokit_window_handle (s_window, "hold", s_serve_hold, NULL);
    prokit_window_handle (s_window, "timeleft", s_serve_timeleft, NULL);
    prokit_window_handle (s_window, "count", s_serve_count, NULL);
    prokit_window_on (s_window, "news", s_report_channel, NULL);
}

static void
s_on_visibility (bool shown, void *arg)
{
    (void) arg;
    prokit_payload_t *report = prokit_payload_new_printf ("visibility|%d", shown ? 1 : 0);
    prokit_reply_t *reply = NULL;
    prokit_window_request_wait (s_window, PROKIT_MAIN, &report, 5000, &reply);
    prokit_payload_destroy (&report); //  not sent: still ours (NULL-safe)
    prokit_reply_destroy (&reply);
}

static int
s_run_spawned (int argc, char *argv[])
{
    bool ignore_close = false, ignore_term = false;
    for (int i = 2; i < argc; i++) {
        ignore_close |= strcmp (argv[i], "--ignore-close") == 0;
        ignore_term |= strcmp (argv[i], "--ignore-term") == 0;
    }
    ignore_close |= ignore_term; //  a window deaf to SIGTERM is deaf to close too
    if (ignore_term)
        signal (SIGTERM, SIG_IGN);
    s_catch_stop_signals (!ignore_term);
    int error = PROKIT_OK;
    s_window = prokit_window_new (NULL, NULL, &error);
    if (!s_window) {
        fprintf (stderr, "peer: %s\n", prokit_strerror (error));
        return s_exit (3);
    }
    s_window_serves ();
    prokit_window_on_visibility (s_window, s_on_visibility, NULL);
    int rc = s_run_until_signalled ();
    if (rc == PROKIT_ECLOSED && ignore_close)
        while (!atomic_load (&s_signalled))
            usleep (20 * 1000); //  a window that will not close: only a signal ends it
    prokit_window_destroy (&s_window);
    s_release_deferred ();
    return s_exit (0);
}

static void
s_count (const prokit_message_t *message, void *arg)
{
    (void) message;
    atomic_fetch_add ((atomic_uint_fast64_t *) arg, 1);
}

static int
s_run_counter (const char *name, const char *endpoint, const char *path)
{
    int fd = open (path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || ftruncate (fd, 2 * sizeof (atomic_uint_fast64_t)) != 0)
        return s_exit (2);
    atomic_uint_fast64_t *counts = (atomic_uint_fast64_t *) mmap (
        NULL, 2 * sizeof (atomic_uint_fast64_t), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close (fd);
    if (counts == MAP_FAILED)
        return s_exit (2);
    prokit_window_opts_t opts;
    prokit_window_opts_init (&opts);
    opts.endpoint = endpoint;
    int error = PROKIT_OK;
    s_window = prokit_window_new (name, &opts, &error);
    if (!s_window) {
        printf ("REFUSED %s\n", prokit_error_name (error));
        fflush (stdout);
        return s_exit (3);
    }
    prokit_window_on_main_message (s_window, s_count, &counts[0]);
    prokit_window_on_window_message (s_window, s_count, &counts[1]);
    printf ("READY\n");
    fflush (stdout);
    s_run_until_signalled ();
    prokit_window_destroy (&s_window);
    munmap ((void *) counts, 2 * sizeof (atomic_uint_fast64_t));
    return s_exit (0);
}

//  libzmq's I/O threads in this process, once WANTED have named
//  themselves (each does as it starts), or as many as there are after 5 s.
static int
s_io_threads (int wanted)
{
    int64_t deadline = tu_now_ms () + 5000;
    while (tu_io_threads () < wanted && tu_now_ms () < deadline)
        usleep (5 * 1000); //  a thread's name: nothing to wait on
    return tu_io_threads ();
}

int
main (int argc, char *argv[])
{
    //  A test that fails halfway leaves at once: its peers go with it,
    //  rather than hold its output open until the suite's timeout.
    pid_t parent = getppid ();
    prctl (PR_SET_PDEATHSIG, SIGKILL);
    if (getppid () != parent)
        return 0; //  gone already
    if (argc >= 2 && strcmp (argv[1], "spawned") == 0)
        return s_run_spawned (argc, argv);
    s_catch_stop_signals (true);
    int error = PROKIT_OK;
    if (argc >= 3 && strcmp (argv[1], "main") == 0) {
        prokit_main_opts_t opts;
        prokit_main_opts_init (&opts);
        opts.endpoint = argv[2];
        if (argc >= 4)
            opts.max_payload = (size_t) strtoull (argv[3], NULL, 10);
        if (argc >= 6) {
            opts.heartbeat_ivl_ms = atoi (argv[4]);
            opts.heartbeat_timeout_ms = atoi (argv[5]);
        }
        if (argc >= 7)
            opts.io_threads = atoi (argv[6]);
        s_main = prokit_main_new (&opts, &error);
        if (!s_main) {
            fprintf (stderr, "peer: main: %s\n", prokit_strerror (error));
            return s_exit (2);
        }
        if (argc >= 7)
            printf ("IO_THREADS %d\n", s_io_threads (opts.io_threads));
        prokit_main_on_request (s_main, s_serve, NULL);
        prokit_main_handle (s_main, "echo", s_serve_echo, NULL);
        printf ("READY %s\n", prokit_main_endpoint (s_main));
        fflush (stdout);
        s_run_until_signalled ();
        prokit_main_destroy (&s_main);
        s_release_deferred ();
        return s_exit (0);
    }
    if (argc >= 3 && strcmp (argv[1], "broker") == 0) {
        prokit_broker_opts_t opts;
        prokit_broker_opts_init (&opts);
        opts.endpoints[0] = argv[2];
        if (argc >= 4)
            opts.io_threads = atoi (argv[3]);
        prokit_broker_t *broker = prokit_broker_new (&opts, &error);
        if (!broker) {
            fprintf (stderr, "peer: broker: %s\n", prokit_strerror (error));
            return s_exit (2);
        }
        if (argc >= 4)
            printf ("IO_THREADS %d\n", s_io_threads (opts.io_threads));
        printf ("READY %s\n", prokit_broker_endpoint (broker, 0));
        fflush (stdout);
        while (!atomic_load (&s_signalled))
            usleep (20 * 1000); //  the broker's own thread does the work
        prokit_broker_destroy (&broker);
        return s_exit (0);
    }
    if (argc >= 5 && strcmp (argv[1], "counter") == 0)
        return s_run_counter (argv[2], argv[3], argv[4]);
    if (argc >= 4 && strcmp (argv[1], "window") == 0) {
        prokit_window_opts_t opts;
        prokit_window_opts_init (&opts);
        opts.endpoint = argv[3];
        s_window = prokit_window_new (argv[2], &opts, &error);
        if (!s_window) {
            printf ("REFUSED %s\n", prokit_error_name (error));
            fflush (stdout);
            return s_exit (3);
        }
        s_window_serves ();
        printf ("READY\n");
        fflush (stdout);
        s_run_until_signalled ();
        prokit_window_destroy (&s_window);
        s_release_deferred ();
        return s_exit (0);
    }
    fprintf (stderr,
             "usage: %s main ENDPOINT [MAX_PAYLOAD [HEARTBEAT_IVL HEARTBEAT_TIMEOUT]] | window "
             "NAME ENDPOINT | counter NAME ENDPOINT FILE | spawned [flags]\n",
             argv[0]);
    return s_exit (1);
}
