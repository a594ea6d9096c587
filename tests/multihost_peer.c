/*  multihost_peer.c: prokit-multihost-peer, the main and the windows of
    tests/multihost.sh, each run on its own (network-namespace) host.

    prokit-multihost-peer main
        Attaches to the broker named by $PROKIT_BROKER (CURVE keys from
        $PROKIT_CURVE_CERT and $PROKIT_CURVE_SERVER_KEY). Once windows
        "alpha" and "beta" have joined it plays one round of every message
        kind: main -> alpha, broadcast, alpha -> beta (on main's word),
        beta asks alpha (a window -> window request) and every window
        reports what it got with a request to main. Prints "PASS round N"
        when every report is in. After the broker restarts (the connection
        is lost and comes back) it plays round 2, prints "DONE" and exits 0.
    prokit-multihost-peer window NAME
        Joins the broker at $PROKIT_ENDPOINT as NAME and serves: messages
        from main "sendto:T:text" (send text to window T) and "ask:T:text"
        (request T, report the answer); every other message is reported to
        main as "got|sender|text|broadcast"; requests are answered
        "NAME answers text". Runs until SIGTERM.

    Either mode prints "REFUSED <error name>" and exits 3 when it cannot
    join, which is how the test sees each attack turned away.
*/
#include <prokit.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPECTED 5
#define ROUNDS 2

static const char *const s_expected[EXPECTED] = {
    "alpha:got|@main|to-alpha|0",
    "alpha:got|@main|to-all|1",
    "beta:got|@main|to-all|1",
    "beta:got|alpha|hello-beta|0",
    "beta:answer|alpha|alpha answers question",
};

typedef struct {
    prokit_main_t *main;
    int round;    //  rounds passed
    bool playing; //  a round is under way
    bool seen[EXPECTED];
    bool lost; //  the broker went away since the last round
} main_state_t;

static prokit_main_t *s_main;
static prokit_window_t *s_window;

static void
s_on_signal (int signum)
{
    (void) signum;
    if (s_main)
        prokit_main_stop (s_main);
    if (s_window)
        prokit_window_stop (s_window);
}

static void
s_say (const char *format, const char *a, const char *b)
{
    printf (format, a, b);
    printf ("\n");
    fflush (stdout);
}

//  --- main ----------------------------------------------------------------------------

static void
s_send (main_state_t *state, const char *window, const char *text)
{
    prokit_payload_t *payload = prokit_payload_new_string (text);
    int rc = window ? prokit_main_send (state->main, window, &payload)
                    : prokit_main_broadcast (state->main, &payload);
    prokit_payload_destroy (&payload); //  not sent: still ours (NULL-safe)
    if (rc != PROKIT_OK)
        s_say ("send to %s failed: %s", window ? window : "all", prokit_strerror (rc));
}

static void
s_maybe_play (main_state_t *state)
{
    if (state->playing || state->round >= ROUNDS || (state->round == 1 && !state->lost) ||
        !prokit_main_has_window (state->main, "alpha") ||
        !prokit_main_has_window (state->main, "beta"))
        return;
    state->playing = true;
    memset (state->seen, 0, sizeof (state->seen));
    s_say ("round %s starts%s", state->round == 0 ? "1" : "2", "");
    s_send (state, "alpha", "to-alpha");
    s_send (state, NULL, "to-all");
    s_send (state, "alpha", "sendto:beta:hello-beta");
    s_send (state, "beta", "ask:alpha:question");
}

static prokit_payload_t *
s_main_on_request (prokit_request_t *request, void *arg)
{
    main_state_t *state = (main_state_t *) arg;
    const char *text = prokit_payload_str (prokit_request_payload (request));
    char report[512];
    snprintf (report, sizeof (report), "%s:%s", prokit_request_sender (request), text ? text : "?");
    s_say ("report %s%s", report, "");
    bool all = state->playing;
    for (int i = 0; i < EXPECTED; i++) {
        if (strcmp (report, s_expected[i]) == 0)
            state->seen[i] = true;
        all = all && state->seen[i];
    }
    if (all) {
        state->playing = false;
        state->round++;
        state->lost = false;
        s_say ("PASS round %s%s", state->round == 1 ? "1" : "2", "");
        if (state->round == ROUNDS) {
            s_say ("DONE%s%s", "", "");
            prokit_main_stop (state->main);
        }
    }
    return prokit_payload_new_string ("noted");
}

static void
s_main_on_presence (const prokit_presence_t *event, void *arg)
{
    main_state_t *state = (main_state_t *) arg;
    s_say (event->kind == PROKIT_PRESENCE_JOINED ? "joined %s%s" : "left %s (%s)", event->window,
           event->reason ? event->reason : "");
    s_maybe_play (state);
}

static void
s_main_on_connection (prokit_connection_event_t event, int code, const char *text, void *arg)
{
    (void) code;
    main_state_t *state = (main_state_t *) arg;
    s_say ("connection: %s%s", text, "");
    if (event == PROKIT_CONNECTION_LOST) {
        state->lost = true;
        state->playing = false; //  a round cut short is played again
    }
    s_maybe_play (state);
}

static int
s_run_main (void)
{
    main_state_t state;
    memset (&state, 0, sizeof (state));
    prokit_main_opts_t opts;
    prokit_main_opts_init (&opts);
    opts.heartbeat_ivl_ms = 200;
    opts.heartbeat_timeout_ms = 1000;
    int error = 0;
    s_main = state.main = prokit_main_new (&opts, &error);
    if (!s_main) {
        s_say ("REFUSED %s%s", prokit_error_name (error), "");
        return 3;
    }
    prokit_main_on_request (s_main, s_main_on_request, &state);
    prokit_main_on_presence (s_main, s_main_on_presence, &state);
    prokit_main_on_connection (s_main, s_main_on_connection, &state);
    s_say ("READY %s%s", prokit_main_endpoint (s_main), "");
    s_maybe_play (&state);
    prokit_main_run (s_main, -1);
    prokit_main_destroy (&s_main);
    return state.round == ROUNDS ? 0 : 1;
}

//  --- windows -------------------------------------------------------------------------

static void
s_report (const char *text)
{
    prokit_payload_t *payload = prokit_payload_new_string (text);
    prokit_reply_t *reply = NULL;
    int rc = prokit_window_request_wait (s_window, PROKIT_MAIN, &payload, 5000, &reply);
    prokit_payload_destroy (&payload); //  not sent: still ours (NULL-safe)
    if (rc != PROKIT_OK)
        s_say ("report '%s' failed: %s", text, prokit_strerror (rc));
    prokit_reply_destroy (&reply);
}

//  "verb:target:text" -> TARGET and TEXT.
static bool
s_split (const char *command, char *target, const char **text)
{
    const char *first = strchr (command, ':');
    const char *second = first ? strchr (first + 1, ':') : NULL;
    if (!second || (size_t) (second - first - 1) > PROKIT_NAME_MAX)
        return false;
    memcpy (target, first + 1, (size_t) (second - first - 1));
    target[second - first - 1] = 0;
    *text = second + 1;
    return true;
}

static void
s_window_on_message (const prokit_message_t *message, void *arg)
{
    (void) arg;
    const char *text = prokit_payload_str (prokit_message_payload (message));
    const char *sender = prokit_message_sender (message);
    char target[PROKIT_NAME_MAX + 1];
    const char *rest;
    if (text && strcmp (sender, PROKIT_MAIN) == 0 && strncmp (text, "sendto:", 7) == 0 &&
        s_split (text, target, &rest)) {
        prokit_payload_t *payload = prokit_payload_new_string (rest);
        prokit_window_send (s_window, target, &payload);
        prokit_payload_destroy (&payload); //  not sent: still ours (NULL-safe)
        return;
    }
    if (text && strcmp (sender, PROKIT_MAIN) == 0 && strncmp (text, "ask:", 4) == 0 &&
        s_split (text, target, &rest)) {
        prokit_payload_t *payload = prokit_payload_new_string (rest);
        prokit_reply_t *reply = NULL;
        int rc = prokit_window_request_wait (s_window, target, &payload, 5000, &reply);
        prokit_payload_destroy (&payload); //  not sent: still ours (NULL-safe)
        char answer[512];
        snprintf (answer, sizeof (answer), "answer|%s|%s", target,
                  rc == PROKIT_OK ? prokit_reply_str (reply) : prokit_strerror (rc));
        prokit_reply_destroy (&reply);
        s_report (answer);
        return;
    }
    char report[512];
    snprintf (report, sizeof (report), "got|%s|%s|%d", sender, text ? text : "?",
              prokit_message_is_broadcast (message) ? 1 : 0);
    s_report (report);
}

static prokit_payload_t *
s_window_on_request (prokit_request_t *request, void *arg)
{
    (void) arg;
    const char *text = prokit_payload_str (prokit_request_payload (request));
    return prokit_payload_new_printf ("%s answers %s", prokit_window_name (s_window),
                                      text ? text : "?");
}

static void
s_window_on_connection (prokit_connection_event_t event, int code, const char *text, void *arg)
{
    (void) event;
    (void) code;
    (void) arg;
    s_say ("connection: %s%s", text, "");
}

static int
s_run_window (const char *name)
{
    prokit_window_opts_t opts;
    prokit_window_opts_init (&opts);
    opts.join_timeout_ms = 5000;
    int error = 0;
    s_window = prokit_window_new (name, &opts, &error);
    if (!s_window) {
        s_say ("REFUSED %s%s", prokit_error_name (error), "");
        return 3;
    }
    prokit_window_on_main_message (s_window, s_window_on_message, NULL);
    prokit_window_on_window_message (s_window, s_window_on_message, NULL);
    prokit_window_on_request (s_window, s_window_on_request, NULL);
    prokit_window_on_connection (s_window, s_window_on_connection, NULL);
    s_say ("READY %s%s", name, "");
    prokit_window_run (s_window, -1);
    prokit_window_destroy (&s_window);
    return 0;
}

int
main (int argc, char *argv[])
{
    signal (SIGTERM, s_on_signal);
    signal (SIGINT, s_on_signal);
    if (argc == 2 && strcmp (argv[1], "main") == 0)
        return s_run_main ();
    if (argc == 3 && strcmp (argv[1], "window") == 0)
        return s_run_window (argv[2]);
    fprintf (stderr, "usage: prokit-multihost-peer main | window NAME\n");
    return 2;
}
