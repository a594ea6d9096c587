/*  consumer.c: the smallest whole prokit program, used to check that an
    installed prokit can be found and linked (CMake and pkg-config): a main
    and a window in one process exchange a request over an ipc endpoint. */
#include <prokit.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static prokit_payload_t *
s_answer (prokit_request_t *request, void *arg)
{
    (void) arg;
    return prokit_payload_new_printf ("Main has received data: %s",
                                      prokit_payload_str (prokit_request_payload (request)));
}

static void
s_on_reply (prokit_reply_t *reply, void *arg)
{
    int *status = (int *) arg;
    *status = prokit_reply_status (reply);
    printf ("%s\n", *status == PROKIT_OK ? prokit_reply_str (reply) : prokit_reply_error (reply));
}

int
main (void)
{
    char endpoint[128];
    snprintf (endpoint, sizeof (endpoint), "ipc:///tmp/prokit-consumer-%d.sock", (int) getpid ());
    prokit_main_opts_t opts;
    prokit_main_opts_init (&opts);
    opts.endpoint = endpoint;
    int error = PROKIT_OK;
    prokit_main_t *main_handle = prokit_main_new (&opts, &error);
    if (!main_handle) {
        fprintf (stderr, "consumer: %s\n", prokit_strerror (error));
        return 1;
    }
    prokit_main_on_request (main_handle, s_answer, NULL);
    prokit_window_opts_t window_opts;
    prokit_window_opts_init (&window_opts);
    window_opts.endpoint = endpoint;
    prokit_window_t *window = prokit_window_new ("consumer", &window_opts, &error);
    if (!window) {
        fprintf (stderr, "consumer: %s\n", prokit_strerror (error));
        prokit_main_destroy (&main_handle);
        return 1;
    }
    int status = 1; //  not PROKIT_OK until the reply says so
    prokit_payload_t *payload = prokit_payload_new_string ("hello");
    prokit_window_request (window, NULL, &payload, 5000, s_on_reply, &status);
    prokit_payload_destroy (&payload); //  not sent: still ours (NULL-safe)
    //  One thread drives both handles: main answers, then the window hears.
    for (int i = 0; i < 500 && status == 1; i++) {
        prokit_main_run (main_handle, 5);
        prokit_window_run (window, 5);
    }
    prokit_window_destroy (&window);
    prokit_main_destroy (&main_handle);
    unlink (endpoint + strlen ("ipc://"));
    return status == PROKIT_OK ? 0 : 1;
}
