/*  cpeer.c: a C main driven line by line on its standard input, for the
    Python client's tests (python/tests).

    prokit-test-cpeer [ENDPOINT]
        Runs main: binds ENDPOINT (else $PROKIT_ENDPOINT), or attaches to
        $PROKIT_BROKER. Prints "READY <endpoint>" once it can be reached.

    Events, one line each on standard output:
        JOINED <window> <service or ->       LEFT <window> <reason>
        EXITED <window>                      REQUEST <sender> <channel or -> <text>
        UNDELIVERED <target or -> <ERROR_NAME> <text>
        GOT <text>   (a request "got|..." from a prokit-test-peer window)
        CANCELLED <sender>   (a deferred request was cancelled)

    Requests on the default channel: "fail" -> prokit_request_fail (42,
    "failed on purpose"); "defer" -> kept until "release"; "progress:N" ->
    N progress updates "1".."N", then "done:N"; "timeleft" -> the time left
    in ms; "got|..." -> printed, answered "ok"; another string S -> "main:S";
    any other value is echoed unchanged. On channel "echo": "echo:S".

    Commands, one per line; each prints "OK <command>" or "ERR <command>
    <ERROR_NAME>": send W TEXT | sendon W CHANNEL TEXT | broadcast TEXT |
    broadcaston CHANNEL TEXT | close W | show W | hide W |
    create NAME SHOW(0/1) PROGRAM [ARG]... (createWindow, waits up to 10 s
    for the join) | release | windows | quit.
*/
#include <poll.h>
#include <prokit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFERRED_MAX 64

static prokit_request_t *s_deferred[DEFERRED_MAX];
static size_t s_deferred_count;

static const char *
s_text (const prokit_payload_t *payload)
{
    const char *text = payload ? prokit_payload_str (payload) : NULL;
    return text ? text : "(not a string)";
}

static prokit_payload_t *
s_on_request (prokit_request_t *request, void *arg)
{
    (void) arg;
    const prokit_payload_t *payload = prokit_request_payload (request);
    const char *text = payload ? prokit_payload_str (payload) : NULL;
    const char *channel = prokit_request_channel (request);
    printf ("REQUEST %s %s %s\n", prokit_request_sender (request), *channel ? channel : "-",
            s_text (payload));
    if (!text)
        return prokit_request_take_payload (request);
    if (strcmp (text, "fail") == 0) {
        prokit_request_fail (&request, 42, "failed on purpose");
        return NULL;
    }
    if (strcmp (text, "defer") == 0 && s_deferred_count < DEFERRED_MAX) {
        s_deferred[s_deferred_count++] = prokit_request_defer (request);
        printf ("DEFERRED\n");
        return NULL;
    }
    if (strncmp (text, "progress:", 9) == 0) {
        int steps = atoi (text + 9);
        for (int i = 1; i <= steps; i++) {
            prokit_payload_t *update = prokit_payload_new_printf ("%d", i);
            prokit_request_progress (request, &update);
            prokit_payload_destroy (&update);
        }
        return prokit_payload_new_printf ("done:%d", steps);
    }
    if (strcmp (text, "timeleft") == 0)
        return prokit_payload_new_printf ("%lld", prokit_request_time_left (request));
    if (strncmp (text, "got|", 4) == 0) {
        printf ("GOT %s\n", text + 4);
        return prokit_payload_new_string ("ok");
    }
    return prokit_payload_new_printf ("main:%s", text);
}

static prokit_payload_t *
s_on_echo (prokit_request_t *request, void *arg)
{
    (void) arg;
    printf ("REQUEST %s echo %s\n", prokit_request_sender (request),
            s_text (prokit_request_payload (request)));
    return prokit_payload_new_printf ("echo:%s", s_text (prokit_request_payload (request)));
}

static void
s_on_presence (const prokit_presence_t *event, void *arg)
{
    (void) arg;
    if (event->kind == PROKIT_PRESENCE_JOINED)
        printf ("JOINED %s %s\n", event->window, *event->service ? event->service : "-");
    else if (event->kind == PROKIT_PRESENCE_LEFT)
        printf ("LEFT %s %s\n", event->window, event->reason);
    else
        printf ("EXITED %s\n", event->window);
}

static void
s_on_undelivered (const char *target, int code, const char *text, void *arg)
{
    (void) arg;
    printf ("UNDELIVERED %s %s %s\n", *target ? target : "-", prokit_error_name (code), text);
}

static void
s_report (const char *command, int rc)
{
    if (rc == PROKIT_OK)
        printf ("OK %s\n", command);
    else
        printf ("ERR %s %s\n", command, prokit_error_name (rc));
}

//  Runs one command line; returns false on "quit".
static bool
s_command (prokit_main_t *ipc, char *line)
{
    char *words[16];
    int count = 0;
    char *rest = NULL;
    for (char *word = strtok_r (line, " \n", &rest); word && count < 16;
         word = strtok_r (NULL, " \n", &rest))
        words[count++] = word;
    if (count == 0)
        return true;
    const char *command = words[0];
    int rc = PROKIT_EINVAL;
    prokit_payload_t *payload = NULL;
    if (strcmp (command, "quit") == 0)
        return false;
    if (strcmp (command, "send") == 0 && count == 3) {
        payload = prokit_payload_new_string (words[2]);
        rc = prokit_main_send (ipc, words[1], &payload);
    }
    else if (strcmp (command, "sendon") == 0 && count == 4) {
        payload = prokit_payload_new_string (words[3]);
        rc = prokit_main_send_on (ipc, words[1], words[2], &payload);
    }
    else if (strcmp (command, "broadcast") == 0 && count == 2) {
        payload = prokit_payload_new_string (words[1]);
        rc = prokit_main_broadcast (ipc, &payload);
    }
    else if (strcmp (command, "broadcaston") == 0 && count == 3) {
        payload = prokit_payload_new_string (words[2]);
        rc = prokit_main_broadcast_on (ipc, words[1], &payload);
    }
    else if (strcmp (command, "close") == 0 && count == 2)
        rc = prokit_main_destroy_window (ipc, words[1], 0);
    else if (strcmp (command, "show") == 0 && count == 2)
        rc = prokit_main_show_window (ipc, words[1]);
    else if (strcmp (command, "hide") == 0 && count == 2)
        rc = prokit_main_hide_window (ipc, words[1]);
    else if (strcmp (command, "create") == 0 && count >= 4) {
        prokit_window_spec_t spec;
        prokit_window_spec_init (&spec);
        spec.path = words[3];
        words[count] = NULL;
        spec.argv = &words[3];
        spec.show = strcmp (words[2], "1") == 0;
        spec.join_timeout_ms = 10000;
        prokit_spawned_t spawned;
        rc = prokit_main_create_window (ipc, words[1], &spec, &spawned, sizeof (spawned));
        if (rc != PROKIT_OK)
            printf ("REASON %s\n", spawned.reason);
    }
    else if (strcmp (command, "release") == 0) {
        for (size_t i = 0; i < s_deferred_count; i++) {
            if (prokit_request_is_cancelled (s_deferred[i]))
                printf ("CANCELLED %s\n", prokit_request_sender (s_deferred[i]));
            prokit_payload_t *reply = prokit_payload_new_string ("released");
            prokit_request_reply (&s_deferred[i], &reply);
            prokit_payload_destroy (&reply);
        }
        s_deferred_count = 0;
        rc = PROKIT_OK;
    }
    else if (strcmp (command, "windows") == 0) {
        printf ("WINDOWS %zu\n", prokit_main_window_count (ipc));
        rc = PROKIT_OK;
    }
    prokit_payload_destroy (&payload);
    s_report (command, rc);
    return true;
}

int
main (int argc, char **argv)
{
    setvbuf (stdout, NULL, _IOLBF, 0);
    prokit_main_opts_t opts;
    prokit_main_opts_init (&opts);
    if (argc > 1 && !getenv ("PROKIT_BROKER"))
        opts.endpoint = argv[1];
    int rc;
    prokit_main_t *ipc = prokit_main_new (&opts, &rc);
    if (!ipc) {
        printf ("FAILED %s\n", prokit_error_name (rc));
        return 1;
    }
    prokit_main_on_request (ipc, s_on_request, NULL);
    prokit_main_handle (ipc, "echo", s_on_echo, NULL);
    prokit_main_on_presence (ipc, s_on_presence, NULL);
    prokit_main_on_undelivered (ipc, s_on_undelivered, NULL);
    printf ("READY %s\n", prokit_main_endpoint (ipc));

    char line[1024];
    bool running = true;
    while (running) {
        struct pollfd fds[2] = { { .fd = 0, .events = POLLIN },
                                 { .fd = prokit_main_fd (ipc), .events = POLLIN } };
        if (poll (fds, 2, 1000) < 0)
            continue;
        if (fds[1].revents)
            prokit_main_dispatch (ipc);
        if (fds[0].revents) {
            if (!fgets (line, sizeof (line), stdin))
                break; //  end of input: stop
            running = s_command (ipc, line);
        }
    }
    for (size_t i = 0; i < s_deferred_count; i++)
        prokit_request_fail (&s_deferred[i], 0, "gone");
    prokit_main_destroy (&ipc);
    return 0;
}
