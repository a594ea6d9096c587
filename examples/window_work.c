/*  window_work.c: prokit-example-work, the hidden window "work" of the
    seed's IPC page: a worker process with no user interface.

        initExposeInMainWorld()                     prokit_window_new("work")
        onRenderMsgToRender((e, arg) => ...)        prokit_window_on_window_message()
        (answering a window's request)              prokit_window_on_request()

    Start prokit-example-main first. Ctrl-C stops it. With PROKIT_DEMO=1 (as
    prokit-demo starts it) it exits on main's "Goodbye" broadcast.
*/
#include <prokit.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEMO_DEADLINE_MS 15000

typedef struct {
    prokit_window_t *window;
    bool demo; //  PROKIT_DEMO=1
    //  The demo's steps.
    bool got_hello, served, goodbye, closed;
} app_t;

static prokit_window_t *s_window; //  for the signal handler

static void
s_on_signal (int signum)
{
    (void) signum;
    prokit_window_stop (s_window); //  safe from a signal handler
}

static void
s_handle_signals (void (*handler) (int))
{
    struct sigaction action = { .sa_handler = handler };
    sigaction (SIGINT, &action, NULL);
    sigaction (SIGTERM, &action, NULL);
}

static const char *
s_text (const prokit_payload_t *payload)
{
    const char *text = prokit_payload_str (payload);
    return text ? text : "(not a string)";
}

//  onRenderMsgToRender((e, arg) => {
//    console.log(e, arg)
//  })
static void
s_on_render_msg_to_render (const prokit_message_t *message, void *arg)
{
    app_t *app = (app_t *) arg;
    const char *sender = prokit_message_sender (message); //  who sent it
    const char *text = s_text (prokit_message_payload (message));
    printf ("[window work] window \"%s\" sent: %s\n", sender, text);
    if (strcmp (sender, "main") == 0 && strcmp (text, "Hello Work") == 0)
        app->got_hello = true;
}

//  A request from another window: as with main's onMsgFromRender, the
//  return value is the reply.
static prokit_payload_t *
s_on_request (prokit_request_t *request, void *arg)
{
    app_t *app = (app_t *) arg;
    const char *args = s_text (prokit_request_payload (request));
    printf ("[window work] window \"%s\" asks: %s\n", prokit_request_sender (request), args);
    prokit_payload_t *reply = prokit_payload_new_printf ("Work has received data: %s", args);
    printf ("[window work] reply: %s\n", s_text (reply));
    app->served = true;
    return reply;
}

//  onMsgFromMain: main's messages, here its "Goodbye" broadcast.
static void
s_on_msg_from_main (const prokit_message_t *message, void *arg)
{
    app_t *app = (app_t *) arg;
    const char *args = s_text (prokit_message_payload (message));
    bool broadcast = prokit_message_is_broadcast (message);
    printf ("[window work] main %s: %s\n", broadcast ? "broadcast" : "sent", args);
    if (app->demo && broadcast && strcmp (args, "Goodbye") == 0) {
        app->goodbye = true; //  main closes the window next
    }
}

//  destroyWindow in main: the window may clean up, then its loop ends.
static void
s_on_close (void *arg)
{
    (void) arg;
    printf ("[window work] main closed the window\n");
}

int
main (void)
{
    setvbuf (stdout, NULL, _IOLBF, 0);
    const char *demo = getenv ("PROKIT_DEMO");
    app_t app = { .demo = demo && strcmp (demo, "1") == 0 };

    //  initExposeInMainWorld();  (in the preload script of the hidden window "work")
    prokit_window_opts_t opts;
    prokit_window_opts_init (&opts);
    opts.app_name = "prokit-demo"; //  the endpoint, unless $PROKIT_ENDPOINT is set
    int rc;
    app.window = prokit_window_new ("work", &opts, &rc);
    if (!app.window) {
        fprintf (stderr, "[window work] cannot join: %s (%s)%s\n", prokit_error_name (rc),
                 prokit_strerror (rc),
                 rc == PROKIT_ETIMEDOUT ? "; is prokit-example-main running?" : "");
        return 1;
    }
    printf ("[window work] joined as window \"work\"\n");
    prokit_window_on_window_message (app.window, s_on_render_msg_to_render, &app);
    prokit_window_on_request (app.window, s_on_request, &app);
    prokit_window_on_main_message (app.window, s_on_msg_from_main, &app);
    prokit_window_on_close (app.window, s_on_close, &app);
    s_window = app.window;
    s_handle_signals (s_on_signal);

    //  Callbacks run here, on this thread: until Ctrl-C, or until main closes
    //  the window (destroyWindow: PROKIT_ECLOSED).
    rc = prokit_window_run (app.window, app.demo ? DEMO_DEADLINE_MS : -1);
    app.closed = rc == PROKIT_ECLOSED;

    s_handle_signals (SIG_DFL); //  before the handle goes away
    prokit_window_destroy (&app.window);
    if (!app.demo)
        return rc == PROKIT_OK || rc == PROKIT_ECLOSED ? 0 : 1;

    //  The demo succeeded only if every step happened.
    const char *missing = !app.got_hello ? "\"Hello Work\" from window \"main\""
                          : !app.served  ? "request from window \"main\""
                          : !app.goodbye ? "\"Goodbye\" broadcast from main"
                          : !app.closed  ? "close from main"
                                         : NULL;
    if (missing)
        printf ("[window work] FAILED: no %s within %d s\n", missing, DEMO_DEADLINE_MS / 1000);
    return missing ? 1 : 0;
}
