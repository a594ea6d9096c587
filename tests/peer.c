/*  peer.c: a scriptable main or window, run as a separate process by the
    integration tests.

    prokit-test-peer main ENDPOINT [MAX_PAYLOAD]
        Runs a main. Prints "READY <endpoint>" once bound. Its handler
        answers requests as described under "Requests" below.
    prokit-test-peer window NAME ENDPOINT
        Joins as window NAME, prints "READY". Serves requests the same way,
        and reports every message it receives to main as a request
        "got|<sender>|<text>|<broadcast 0/1>". A message "sendto:<window>:<text>"
        from main makes it send <text> to <window>. A message "exit" from
        main makes it leave and exit 0.

    Requests: "fail" -> prokit_request_fail (42, "failed on purpose");
    "defer" -> kept unanswered (prints "DEFERRED"); anything else -> echoed.

    Runs until SIGTERM or SIGINT (then leaves cleanly) or until killed.
*/
#include <prokit.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    fprintf (stderr, "usage: %s main ENDPOINT [MAX_PAYLOAD] | window NAME ENDPOINT\n", argv[0]);
    return 1;
}
