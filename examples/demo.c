/*  demo.c: prokit-demo, every message kind of the seed's IPC page in one
    command, on the router embedded in this process.

    It is the main process: it binds $PROKIT_ENDPOINT (else a fresh ipc
    endpoint of its own; with $PROKIT_BROKER it attaches there), starts the window
    programs prokit-example-window (window "main", shown) and
    prokit-example-work (window "work", hidden) from its own directory with
    createWindow (prokit_main_create_window), which hands them the endpoint
    and their names, and plays this script:

      1. both windows join (presence);
      2. window "main" asks main "sendMsgToMain Hello" and prints the reply;
      3. main sends "Message from Main Process" to window "main";
      4. on it, window "main" sends "Hello Work" to "work" (which prints it
         with the sender's name), asks "work" and prints the reply, sends
         to the window "ghost" that does not exist and prints the error
         (PROKIT_ENOTFOUND), then asks main "done";
      5. main broadcasts "Goodbye"; both windows print it;
      6. main closes both (destroyWindow each); they leave and exit 0, and main
         reaps them.

    Windows it did not start may join too: they hear main's broadcast and
    are otherwise left alone.

    $PROKIT_DEMO_WORK names another program to start as window "work" (a
    path, as it is), e.g. a window written in Python; it plays the same
    part as prokit-example-work.

    Exits 0 when every step happened and both windows exited 0. A step that
    does not happen within 10 s ends the demo: the windows are killed, the
    step is named, and the exit status is 1.
*/
#include <errno.h>
#include <limits.h>
#include <prokit.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define STEP_TIMEOUT_MS 10000
#define WINDOWS 2

typedef struct {
    const char *name;    //  the window's name
    const char *program; //  its executable, next to prokit-demo (or a path)
    bool show;           //  createWindow's show: a visible window or a hidden worker
    bool joined, left, exited;
} child_t;

typedef struct {
    prokit_main_t *ipc;
    child_t children[WINDOWS];
    //  The script's steps, as main sees them.
    bool both_joined, hello, done, closing, both_left, both_exited;
    bool failed;
    char why[256]; //  what went wrong, when failed
} demo_t;

//  For the signal handler: stop waiting on Ctrl-C.
static prokit_main_t *s_ipc;
static volatile sig_atomic_t s_interrupted;

static void
s_on_interrupt (int signum)
{
    (void) signum;
    s_interrupted = 1;
    prokit_main_stop (s_ipc);
}

static void
s_handle_signals (void (*on_interrupt) (int))
{
    struct sigaction action = { .sa_handler = on_interrupt };
    sigaction (SIGINT, &action, NULL);
    sigaction (SIGTERM, &action, NULL);
}

static int64_t
s_now_ms (void)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return (int64_t) now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static const char *
s_text (const prokit_payload_t *payload)
{
    const char *text = prokit_payload_str (payload);
    return text ? text : "(not a string)";
}

//  Record the first failure and make prokit_main_run() return.
static void
s_fail (demo_t *demo, const char *format, ...)
{
    if (!demo->failed) {
        va_list args;
        va_start (args, format);
        vsnprintf (demo->why, sizeof (demo->why), format, args);
        va_end (args);
        demo->failed = true;
    }
    prokit_main_stop (demo->ipc);
}

static child_t *
s_child (demo_t *demo, const char *name)
{
    for (int i = 0; i < WINDOWS; i++)
        if (strcmp (demo->children[i].name, name) == 0)
            return &demo->children[i];
    return NULL;
}

//  --- Callbacks: they run inside prokit_main_run(), on this thread ---------

//  onMsgFromRender: the return value is the reply.
static prokit_payload_t *
s_on_msg_from_render (prokit_request_t *request, void *arg)
{
    demo_t *demo = (demo_t *) arg;
    const char *args = s_text (prokit_request_payload (request));
    printf ("[main] window \"%s\" asks: %s\n", prokit_request_sender (request), args);
    prokit_payload_t *reply = prokit_payload_new_printf ("Main has received data: %s", args);
    printf ("[main] reply: %s\n", s_text (reply));
    if (strcmp (args, "sendMsgToMain Hello") == 0)
        demo->hello = true;
    else if (strcmp (args, "done") == 0)
        demo->done = true;
    prokit_main_stop (demo->ipc); //  the script moves on once this returns
    return reply;
}

static void
s_on_presence (const prokit_presence_t *event, void *arg)
{
    demo_t *demo = (demo_t *) arg;
    child_t *child = s_child (demo, event->window);
    if (!child) {
        //  Not one of ours: it may come and go as it likes.
        printf ("[main] window \"%s\" %s (not started by the demo)\n", event->window,
                event->kind == PROKIT_PRESENCE_JOINED ? "joined" : "left");
        return;
    }
    switch (event->kind) {
    case PROKIT_PRESENCE_JOINED:
        printf ("[main] window \"%s\" joined\n", event->window);
        child->joined = true;
        break;
    case PROKIT_PRESENCE_LEFT:
        printf ("[main] window \"%s\" left (%s)\n", event->window, event->reason);
        child->left = true;
        break;
    case PROKIT_PRESENCE_EXITED:
        //  A process createWindow started has ended, and main reaped it.
        printf ("[main] %s (window \"%s\", pid %d) %s\n", child->program, event->window, event->pid,
                event->reason);
        child->exited = true;
        if (!WIFEXITED (event->wait_status) || WEXITSTATUS (event->wait_status) != 0)
            s_fail (demo, "%s (window \"%s\") failed", child->program, event->window);
        else if (!demo->closing)
            s_fail (demo, "%s (window \"%s\") exited too early", child->program, event->window);
        break;
    }
    demo->both_joined = demo->children[0].joined && demo->children[1].joined;
    demo->both_left = demo->children[0].left && demo->children[1].left;
    demo->both_exited = demo->children[0].exited && demo->children[1].exited;
    prokit_main_stop (demo->ipc);
}

static void
s_on_undelivered (const char *target, int code, const char *text, void *arg)
{
    s_fail ((demo_t *) arg, "a message to window \"%s\" was not delivered: %s (%s)", target,
            prokit_error_name (code), text);
}

//  --- The window processes -------------------------------------------------

//  createWindow(name, { show, ... }): main starts the program and tracks it.
static bool
s_create_window (demo_t *demo, child_t *child, const char *dir)
{
    char path[PATH_MAX];
    //  A program given with a path is taken as it is.
    int len = strchr (child->program, '/')
                  ? snprintf (path, sizeof (path), "%s", child->program)
                  : snprintf (path, sizeof (path), "%s/%s", dir, child->program);
    if (len < 0 || (size_t) len >= sizeof (path)) {
        fprintf (stderr, "[main] FAILED: path of %s too long\n", child->program);
        return false;
    }
    char *env[] = { (char *) "PROKIT_DEMO=1", NULL }; //  play the scripted demo
    prokit_window_spec_t spec;
    prokit_window_spec_init (&spec);
    spec.path = path;
    spec.env = env;
    spec.show = child->show;
    prokit_spawned_t result;
    int rc = prokit_main_create_window (demo->ipc, child->name, &spec, &result, sizeof (result));
    if (rc != PROKIT_OK) {
        fprintf (stderr, "[main] FAILED: createWindow(\"%s\"): %s (%s)\n", child->name,
                 prokit_error_name (rc), result.reason);
        return false;
    }
    printf ("[main] createWindow(\"%s\", { show: %s }) started %s (pid %d)\n", child->name,
            child->show ? "true" : "false", child->program, result.pid);
    return true;
}

//  Run main's loop until *STEP is true. False if it does not happen within
//  STEP_TIMEOUT_MS, or something fails first.
static bool
s_wait_for (demo_t *demo, const bool *step, const char *what)
{
    int64_t deadline = s_now_ms () + STEP_TIMEOUT_MS;
    while (true) {
        if (s_interrupted)
            s_fail (demo, "interrupted");
        if (demo->failed) {
            fprintf (stderr, "[main] FAILED: %s, while waiting for: %s\n", demo->why, what);
            return false;
        }
        if (*step)
            return true;
        int64_t left = deadline - s_now_ms ();
        if (left <= 0) {
            fprintf (stderr, "[main] FAILED: this did not happen within %d s: %s\n",
                     STEP_TIMEOUT_MS / 1000, what);
            return false;
        }
        int rc = prokit_main_run (demo->ipc, (int) left);
        if (rc != PROKIT_OK && rc != PROKIT_ETIMEDOUT)
            s_fail (demo, "prokit_main_run: %s", prokit_error_name (rc));
    }
}

//  The script, as main plays it. False when a step did not happen.
static bool
s_play (demo_t *demo, const char *dir)
{
    for (int i = 0; i < WINDOWS; i++)
        if (!s_create_window (demo, &demo->children[i], dir))
            return false;

    if (!s_wait_for (demo, &demo->both_joined, "windows \"main\" and \"work\" join") ||
        !s_wait_for (demo, &demo->hello, "window \"main\" asks main \"sendMsgToMain Hello\""))
        return false;

    //  mainMsgToRender("main", "Message from Main Process");
    printf ("[main] to window \"main\": Message from Main Process\n");
    prokit_payload_t *message = prokit_payload_new_string ("Message from Main Process");
    int rc = prokit_main_send (demo->ipc, "main", &message);
    prokit_payload_destroy (&message); //  not sent: still ours (NULL-safe)
    if (rc != PROKIT_OK)
        s_fail (demo, "prokit_main_send: %s", prokit_error_name (rc));

    if (!s_wait_for (demo, &demo->done, "window \"main\" asks main \"done\""))
        return false;

    printf ("[main] to every window: Goodbye\n");
    message = prokit_payload_new_string ("Goodbye");
    rc = prokit_main_broadcast (demo->ipc, &message);
    prokit_payload_destroy (&message); //  not sent: still ours (NULL-safe)
    if (rc != PROKIT_OK)
        s_fail (demo, "prokit_main_broadcast: %s", prokit_error_name (rc));

    //  destroyWindow for each: both get a close event; a window still
    //  running after the grace period would get SIGTERM, then SIGKILL.
    printf ("[main] destroyWindow(\"main\"), destroyWindow(\"work\")\n");
    demo->closing = true;
    //  clearWindows, for the demo's own two: a window it did not start
    //  is not its to close.
    for (size_t i = 0; i < 2; i++)
        prokit_main_destroy_window (demo->ipc, demo->children[i].name, 5000);
    return s_wait_for (demo, &demo->both_left, "both windows leave") &&
           s_wait_for (demo, &demo->both_exited, "both window programs exit 0");
}

int
main (void)
{
    setvbuf (stdout, NULL, _IOLBF, 0);

    //  The window programs live next to this one.
    char dir[PATH_MAX];
    ssize_t size = readlink ("/proc/self/exe", dir, sizeof (dir) - 1);
    if (size <= 0) {
        fprintf (stderr, "[main] cannot read /proc/self/exe: %s\n", strerror (errno));
        return 1;
    }
    dir[size] = '\0';
    *strrchr (dir, '/') = '\0'; //  an absolute path: there is a '/'

    //  initIpc(), on an endpoint of our own.
    char path[64], endpoint[80];
    snprintf (path, sizeof (path), "/tmp/prokit-demo-%d.sock", (int) getpid ());
    snprintf (endpoint, sizeof (endpoint), "ipc://%s", path);
    prokit_main_opts_t opts;
    prokit_main_opts_init (&opts);
    const char *given = getenv ("PROKIT_ENDPOINT");
    if (getenv ("PROKIT_BROKER"))
        opts.endpoint = NULL; //  attach there: main binds nothing
    else
        opts.endpoint = given && *given ? given : endpoint;
    int rc;
    demo_t demo = { .children = {
                        { .name = "main", .program = "prokit-example-window", .show = true },
                        { .name = "work", .program = "prokit-example-work", .show = false } } };
    const char *work = getenv ("PROKIT_DEMO_WORK");
    if (work && *work)
        demo.children[1].program = work;
    demo.ipc = prokit_main_new (&opts, &rc);
    if (!demo.ipc) {
        fprintf (stderr, "[main] initIpc failed: %s (%s)\n", prokit_error_name (rc),
                 prokit_strerror (rc));
        return 1;
    }
    prokit_main_on_request (demo.ipc, s_on_msg_from_render, &demo);
    prokit_main_on_presence (demo.ipc, s_on_presence, &demo);
    prokit_main_on_undelivered (demo.ipc, s_on_undelivered, &demo);
    printf ("[main] listening on %s\n", prokit_main_endpoint (demo.ipc));

    s_ipc = demo.ipc;
    s_handle_signals (s_on_interrupt);

    bool ok = s_play (&demo, dir);

    prokit_stats_t stats;
    if (ok && prokit_main_stats (demo.ipc, &stats, sizeof (stats)) == PROKIT_OK)
        printf ("[main] router: %llu messages received, %llu routed, %llu errors sent\n",
                stats.received, stats.routed, stats.errors_sent);

    s_handle_signals (SIG_DFL); //  before the handle goes away
    //  Ends any window process still running (after a failure) and reaps it.
    prokit_main_destroy (&demo.ipc);
    unlink (path);
    printf ("[main] %s\n", ok ? "demo complete: every step happened" : "demo FAILED");
    return ok ? 0 : 1;
}
