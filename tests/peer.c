/*  peer.c: a scriptable main or window, run as a separate process by the
    integration tests.

    prokit-test-peer main ENDPOINT [MAX_PAYLOAD [HEARTBEAT_IVL HEARTBEAT_TIMEOUT]]
        Runs a main. Prints "READY <endpoint>" once bound. Its handler
        answers requests as described under "Requests" below. 0 keeps a
        default.
    prokit-test-peer window NAME ENDPOINT
        Joins as window NAME, prints "READY". Serves requests the same way,
        and reports every message it receives to main as a request
        "got|<sender>|<text>|<broadcast 0/1>". A message "sendto:<window>:<text>"
        from main makes it send <text> to <window>. A message "exit" from
        main makes it leave and exit 0.

    prokit-test-peer spawned [--ignore-close] [--ignore-term]
        A window started by main's createWindow: name and endpoint come from
        the environment. Reports as a window does, plus "visibility|0/1"
        when main hides or shows it. A message "crash:N" from main makes it
        exit with status N at once. On close it exits 0, unless
        --ignore-close (then it waits for a signal); --ignore-term makes it
        ignore close and SIGTERM both (only SIGKILL ends it).

    Requests: "fail" -> prokit_request_fail (42, "failed on purpose");
    "defer" -> kept unanswered (prints "DEFERRED"); anything else -> echoed.

    Runs until SIGTERM or SIGINT (then leaves cleanly) or until killed.
*/
#include <prokit.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

static void
s_on_signal (int signum)
{
    (void) signum;
    if (s_main)
        prokit_main_stop (s_main);
    if (s_window)
        prokit_window_stop (s_window);
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
            }
            return;
        }
    }
    prokit_payload_t *report =
        prokit_payload_new_printf ("got|%s|%s|%d", prokit_message_sender (message), text,
                                   prokit_message_is_broadcast (message) ? 1 : 0);
    prokit_reply_t *reply = NULL;
    //  Blocking on purpose: reports reach main in the order received.
    prokit_window_request_wait (s_window, PROKIT_MAIN, &report, 5000, &reply);
    prokit_reply_destroy (&reply);
}

static void
s_on_visibility (bool shown, void *arg)
{
    (void) arg;
    prokit_payload_t *report = prokit_payload_new_printf ("visibility|%d", shown ? 1 : 0);
    prokit_reply_t *reply = NULL;
    prokit_window_request_wait (s_window, PROKIT_MAIN, &report, 5000, &reply);
    prokit_reply_destroy (&reply);
}

static volatile sig_atomic_t s_terminated;

static void
s_on_term (int signum)
{
    (void) signum;
    s_terminated = 1;
    if (s_window)
        prokit_window_stop (s_window);
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
    signal (SIGTERM, ignore_term ? SIG_IGN : s_on_term);
    int error = PROKIT_OK;
    s_window = prokit_window_new (NULL, NULL, &error);
    if (!s_window) {
        fprintf (stderr, "peer: %s\n", prokit_strerror (error));
        return 3;
    }
    prokit_window_on_request (s_window, s_serve, NULL);
    prokit_window_on_main_message (s_window, s_report, NULL);
    prokit_window_on_window_message (s_window, s_report, NULL);
    prokit_window_on_visibility (s_window, s_on_visibility, NULL);
    int rc = prokit_window_run (s_window, -1);
    if (rc == PROKIT_ECLOSED && ignore_close)
        while (!s_terminated)
            pause (); //  a window that will not close: only a signal ends it
    prokit_window_destroy (&s_window);
    s_release_deferred ();
    return 0;
}

int
main (int argc, char *argv[])
{
    signal (SIGTERM, s_on_signal);
    signal (SIGINT, s_on_signal);
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
        s_main = prokit_main_new (&opts, &error);
        if (!s_main) {
            fprintf (stderr, "peer: main: %s\n", prokit_strerror (error));
            return 2;
        }
        prokit_main_on_request (s_main, s_serve, NULL);
        printf ("READY %s\n", prokit_main_endpoint (s_main));
        fflush (stdout);
        prokit_main_run (s_main, -1);
        prokit_main_destroy (&s_main);
        s_release_deferred ();
        return 0;
    }
    if (argc >= 4 && strcmp (argv[1], "window") == 0) {
        prokit_window_opts_t opts;
        prokit_window_opts_init (&opts);
        opts.endpoint = argv[3];
        s_window = prokit_window_new (argv[2], &opts, &error);
        if (!s_window) {
            printf ("REFUSED %s\n", prokit_error_name (error));
            fflush (stdout);
            return 3;
        }
        prokit_window_on_request (s_window, s_serve, NULL);
        prokit_window_on_main_message (s_window, s_report, NULL);
        prokit_window_on_window_message (s_window, s_report, NULL);
        printf ("READY\n");
        fflush (stdout);
        prokit_window_run (s_window, -1);
        prokit_window_destroy (&s_window);
        s_release_deferred ();
        return 0;
    }
    if (argc >= 2 && strcmp (argv[1], "spawned") == 0)
        return s_run_spawned (argc, argv);
    fprintf (stderr,
             "usage: %s main ENDPOINT [MAX_PAYLOAD] | window NAME ENDPOINT | spawned [flags]\n",
             argv[0]);
    return 1;
}
