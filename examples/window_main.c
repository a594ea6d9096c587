/*  window_main.c: prokit-example-window, the window "main" of the seed's IPC
    page (the render process with the buttons).

        initExposeInMainWorld()                     prokit_window_new("main")
        renderMsgToMain(msg).then(console.log)      prokit_window_request() to PROKIT_MAIN
        onMsgFromMain((_event, args) => ...)        prokit_window_on_main_message()
        renderMsgToRender("work", "Hello Work")     prokit_window_send()

    Start prokit-example-main first. Ctrl-C stops it. With PROKIT_DEMO=1 (as
    prokit-demo starts it) it plays the demo's script instead, at the end of
    this file, and exits.
*/
#include <prokit.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEMO_DEADLINE_MS 15000

typedef struct {
    prokit_window_t *window;
    bool demo;   //  PROKIT_DEMO=1
    bool failed; //  the demo went wrong
    //  The demo's steps, in order.
    bool main_replied, work_replied, undelivered, done_replied, goodbye, closed;
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

static void s_demo_on_msg_from_main (app_t *app, const char *args, bool broadcast);
static void s_demo_on_undelivered (app_t *app, const char *target, int code);

static void
s_fail (app_t *app, const char *what, int code)
{
    printf ("[window main] %s failed: %s (%s)\n", what, prokit_error_name (code),
            prokit_strerror (code));
    app->failed = true;
    if (app->demo)
        prokit_window_stop (app->window);
}

//  Send a request; FN gets its outcome (the .then of a promise).
static void
s_request (app_t *app, const char *target, const char *msg, prokit_reply_fn *fn)
{
    if (strcmp (target, PROKIT_MAIN) == 0)
        printf ("[window main] request to main: %s\n", msg);
    else
        printf ("[window main] request to window \"%s\": %s\n", target, msg);
    prokit_payload_t *payload = prokit_payload_new_string (msg);
    int rc = prokit_window_request (app->window, target, &payload, 0, fn, app);
    prokit_payload_destroy (&payload); //  not sent: still ours (NULL-safe)
    if (rc != PROKIT_OK)
        s_fail (app, "request", rc);
}

//  A request's outcome: the reply, or an error saying why there is none.
static bool
s_reply_ok (app_t *app, prokit_reply_t *reply)
{
    int status = prokit_reply_status (reply);
    if (status == PROKIT_OK)
        return true;
    printf ("[window main] request to \"%s\" failed: %s (%s)\n", prokit_reply_target (reply),
            prokit_error_name (status), prokit_reply_error (reply));
    app->failed = true;
    if (app->demo)
        prokit_window_stop (app->window);
    return false;
}

//  renderMsgToMain(msg).then((result) => {
//    console.log(result);
//  });
static void
s_on_main_reply (prokit_reply_t *reply, void *arg)
{
    app_t *app = (app_t *) arg;
    if (!s_reply_ok (app, reply))
        return;
    printf ("[window main] main replied: %s\n", s_text (prokit_reply_payload (reply)));
    app->main_replied = true;
}

//  onMsgFromMain((_event: unknown, args: string) => {
//    console.log(args);
//  });
static void
s_on_msg_from_main (const prokit_message_t *message, void *arg)
{
    app_t *app = (app_t *) arg;
    const char *args = s_text (prokit_message_payload (message));
    bool broadcast = prokit_message_is_broadcast (message);
    printf ("[window main] main %s: %s\n", broadcast ? "broadcast" : "sent", args);
    if (app->demo)
        s_demo_on_msg_from_main (app, args, broadcast);
}

//  renderMsgToRender(windowName, msg);
static void
s_render_msg_to_render (app_t *app, const char *window_name, const char *msg)
{
    printf ("[window main] to window \"%s\": %s\n", window_name, msg);
    prokit_payload_t *payload = prokit_payload_new_string (msg);
    int rc = prokit_window_send (app->window, window_name, &payload);
    prokit_payload_destroy (&payload); //  not sent: still ours (NULL-safe)
    if (rc != PROKIT_OK)
        s_fail (app, "send", rc);
}

//  Only the router knows which windows exist: a message it could not
//  deliver comes back here (an unknown window is an error, not silence).
static void
s_on_undelivered (const char *target, int code, const char *text, void *arg)
{
    app_t *app = (app_t *) arg;
    printf ("[window main] not delivered to window \"%s\": %s (%s)\n", target,
            prokit_error_name (code), text);
    if (app->demo)
        s_demo_on_undelivered (app, target, code);
}

//  destroyWindow in main: the window may clean up, then its loop ends.
static void
s_on_close (void *arg)
{
    (void) arg;
    printf ("[window main] main closed the window\n");
}

int
main (void)
{
    setvbuf (stdout, NULL, _IOLBF, 0);
    const char *demo = getenv ("PROKIT_DEMO");
    app_t app = { .demo = demo && strcmp (demo, "1") == 0 };

    //  initExposeInMainWorld();  (as the window "main")
    prokit_window_opts_t opts;
    prokit_window_opts_init (&opts);
    opts.app_name = "prokit-demo"; //  the endpoint, unless $PROKIT_ENDPOINT is set
    int rc;
    app.window = prokit_window_new ("main", &opts, &rc);
    if (!app.window) {
        fprintf (stderr, "[window main] cannot join: %s (%s)%s\n", prokit_error_name (rc),
                 prokit_strerror (rc),
                 rc == PROKIT_ETIMEDOUT ? "; is prokit-example-main running?" : "");
        return 1;
    }
    printf ("[window main] joined as window \"main\"\n");
    prokit_window_on_main_message (app.window, s_on_msg_from_main, &app);
    prokit_window_on_undelivered (app.window, s_on_undelivered, &app);
    prokit_window_on_close (app.window, s_on_close, &app);
    s_window = app.window;
    s_handle_signals (s_on_signal);

    //  <Button onClick={() => renderMsgToMainHandle("sendMsgToMain Hello")}>
    s_request (&app, PROKIT_MAIN, "sendMsgToMain Hello", s_on_main_reply);

    if (!app.demo) {
        //  <Button onClick={() => renderMsgToRenderHandle("work", "Hello Work")}>
        s_render_msg_to_render (&app, "work", "Hello Work");
        rc = prokit_window_run (app.window, -1); //  callbacks run here, until Ctrl-C
    }
    else
        rc = prokit_window_run (app.window, DEMO_DEADLINE_MS);
    //  The loop also ends when main closes the window (destroyWindow).
    app.closed = rc == PROKIT_ECLOSED;

    s_handle_signals (SIG_DFL); //  before the handle goes away
    prokit_window_destroy (&app.window);
    if (!app.demo)
        return rc == PROKIT_OK || rc == PROKIT_ECLOSED ? 0 : 1;

    //  The demo succeeded only if every step happened.
    const char *missing = !app.main_replied   ? "main's reply to \"sendMsgToMain Hello\""
                          : !app.work_replied ? "the reply of window \"work\""
                          : !app.undelivered  ? "the undelivered error for window \"ghost\""
                          : !app.done_replied ? "main's reply to \"done\""
                          : !app.goodbye      ? "main's \"Goodbye\" broadcast"
                          : !app.closed       ? "main's close"
                                              : NULL;
    if (missing && !app.failed)
        printf ("[window main] FAILED: no %s within %d s\n", missing, DEMO_DEADLINE_MS / 1000);
    return missing || app.failed ? 1 : 0;
}

//  --- The scripted demo (PROKIT_DEMO=1, as prokit-demo runs it) ------------
//  Main's "Message from Main Process" starts it: "Hello Work" to window
//  "work", a request to "work", a message to a window that does not exist,
//  then the request "done" to main. Main then broadcasts "Goodbye" and
//  closes the window, which ends its loop.

static void
s_demo_on_work_reply (prokit_reply_t *reply, void *arg)
{
    app_t *app = (app_t *) arg;
    if (!s_reply_ok (app, reply))
        return;
    printf ("[window main] window \"work\" replied: %s\n", s_text (prokit_reply_payload (reply)));
    app->work_replied = true;
    s_render_msg_to_render (app, "ghost", "Is anybody there?"); //  no such window
}

static void
s_demo_on_done_reply (prokit_reply_t *reply, void *arg)
{
    app_t *app = (app_t *) arg;
    if (!s_reply_ok (app, reply))
        return;
    printf ("[window main] main replied: %s\n", s_text (prokit_reply_payload (reply)));
    app->done_replied = true;
}

static void
s_demo_on_msg_from_main (app_t *app, const char *args, bool broadcast)
{
    if (!broadcast && strcmp (args, "Message from Main Process") == 0) {
        s_render_msg_to_render (app, "work", "Hello Work");
        s_request (app, "work", "How is the work going?", s_demo_on_work_reply);
    }
    else if (broadcast && strcmp (args, "Goodbye") == 0)
        app->goodbye = true; //  main closes the window next
}

static void
s_demo_on_undelivered (app_t *app, const char *target, int code)
{
    if (strcmp (target, "ghost") != 0 || code != PROKIT_ENOTFOUND) {
        app->failed = true; //  only the message to "ghost" may go astray
        prokit_window_stop (app->window);
        return;
    }
    app->undelivered = true;
    s_request (app, PROKIT_MAIN, "done", s_demo_on_done_reply);
}
