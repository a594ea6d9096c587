/*  pool.c: prokit-example-pool, a pool of three hidden "work" windows
    serving the channel "resize" with progress, started by main with
    createWindow.

    One program in three roles, chosen by its environment:

    * main (no $PROKIT_WINDOW_NAME): embeds the router on a fresh ipc
      endpoint of its own, starts this same program as the hidden windows
      "work-1", "work-2" and "work-3" with createWindow
      (prokit_main_create_window), each with PROKIT_WINDOW_SERVICE=work in
      the spec's env so that it serves the pool "work", waits for them to
      join, then starts the shown window "ui" the same way. When "ui" asks
      it on channel "done", it closes every window (clearWindows), reaps
      them and prints a summary.
    * a worker ($PROKIT_WINDOW_SERVICE=work): handles channel "resize": for
      a size such as "800x600" it sends three progress updates ("33%",
      "66%", "100%", prokit_request_progress()) and replies "resized to
      800x600 by work-N". It runs until main closes it.
    * "ui": makes 6 requests to the pool "work" on channel "resize"
      (prokit_window_request_with(), with a progress callback), all in
      flight at once so that the pool spreads them over its workers;
      checks that every request had its three updates in order, then its
      reply, and that more than one worker answered; then asks main "done"
      and runs until main closes it.

    Each line is prefixed with the window (or main) that prints it. Exits 0
    when every step happened and every window exited 0. A step that does
    not happen within 10 s ends it: the windows are killed, the step is
    named, and the exit status is 1.
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
#define WINDOW_DEADLINE_MS 30000 //  a window gives up if main never closes it
#define WORKERS 3
#define WINDOWS (WORKERS + 1) //  the workers, then "ui"
#define JOBS 6
#define STEPS 3

static const char *s_steps[STEPS] = { "33%", "66%", "100%" };
static const char *s_sizes[JOBS] = { "640x480",  "800x600",   "1024x768",
                                     "1280x720", "1920x1080", "2560x1440" };

static const char *
s_text (const prokit_payload_t *payload)
{
    const char *text = prokit_payload_str (payload);
    return text ? text : "(not a string)";
}

static int64_t
s_now_ms (void)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return (int64_t) now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

//  =========================================================================
//  A worker: serves "resize" for the pool "work".

static prokit_payload_t *
s_worker_on_resize (prokit_request_t *request, void *arg)
{
    const char *name = (const char *) arg;
    const char *size = s_text (prokit_request_payload (request));
    for (int i = 0; i < STEPS; i++) {
        //  A real worker would resize a third of the image here.
        prokit_payload_t *step = prokit_payload_new_string (s_steps[i]);
        int rc = prokit_request_progress (request, &step);
        prokit_payload_destroy (&step); //  not sent: still ours (NULL-safe)
        if (rc != PROKIT_OK) {
            printf ("[%s] resize %s: progress failed: %s\n", name, size, prokit_error_name (rc));
            prokit_request_fail (&request, 0, "progress failed");
            return NULL;
        }
    }
    printf ("[%s] resize %s for \"%s\": sent 33%%, 66%%, 100%%, then the reply\n", name, size,
            prokit_request_sender (request));
    return prokit_payload_new_printf ("resized to %s by %s", size, name);
}

static int
s_worker (void)
{
    //  Name, endpoint and pool all come from the environment createWindow
    //  gave us: PROKIT_WINDOW_NAME, PROKIT_ENDPOINT, PROKIT_WINDOW_SERVICE.
    int rc;
    prokit_window_t *window = prokit_window_new (NULL, NULL, &rc);
    if (!window) {
        fprintf (stderr, "[%s] cannot join: %s\n", getenv ("PROKIT_WINDOW_NAME"),
                 prokit_error_name (rc));
        return 1;
    }
    const char *name = prokit_window_name (window);
    prokit_window_handle (window, "resize", s_worker_on_resize, (void *) name);
    rc = prokit_window_run (window, WINDOW_DEADLINE_MS);
    if (rc != PROKIT_ECLOSED)
        printf ("[%s] FAILED: not closed by main (%s)\n", name, prokit_error_name (rc));
    prokit_window_destroy (&window);
    return rc == PROKIT_ECLOSED ? 0 : 1;
}

//  =========================================================================
//  "ui": asks the pool, and checks what comes back.

typedef struct ui ui_t;

typedef struct {
    ui_t *ui;
    int index;        //  1 to JOBS
    const char *size; //  what it asked for
    int steps;        //  progress updates seen, in order
    bool answered;
    char worker[PROKIT_NAME_MAX + 1]; //  who answered
} job_t;

struct ui {
    prokit_window_t *window;
    job_t jobs[JOBS];
    int answered; //  outcomes so far
    bool failed;
};

static void
s_ui_fail (ui_t *ui, job_t *job, const char *format, ...)
{
    printf ("[ui] FAILED: #%d %s: ", job->index, job->size);
    va_list args;
    va_start (args, format);
    vprintf (format, args);
    va_end (args);
    printf ("\n");
    ui->failed = true;
}

static void
s_ui_on_progress (const prokit_payload_t *progress, void *arg)
{
    job_t *job = (job_t *) arg;
    const char *text = s_text (progress);
    printf ("[ui] #%d %s: %s\n", job->index, job->size, text);
    if (job->answered)
        s_ui_fail (job->ui, job, "progress \"%s\" after the reply", text);
    else if (job->steps >= STEPS || strcmp (text, s_steps[job->steps]) != 0)
        s_ui_fail (job->ui, job, "progress \"%s\" out of order", text);
    else
        job->steps++;
}

static void
s_ui_on_resized (prokit_reply_t *reply, void *arg)
{
    job_t *job = (job_t *) arg;
    ui_t *ui = job->ui;
    job->answered = true;
    if (++ui->answered == JOBS)
        prokit_window_stop (ui->window);
    int status = prokit_reply_status (reply);
    if (status != PROKIT_OK) {
        s_ui_fail (ui, job, "%s (%s)", prokit_error_name (status), prokit_reply_error (reply));
        return;
    }
    const char *text = s_text (prokit_reply_payload (reply));
    printf ("[ui] #%d %s: \"%s\" replied %s\n", job->index, job->size, prokit_reply_target (reply),
            text);
    char prefix[64];
    snprintf (prefix, sizeof (prefix), "resized to %s by ", job->size);
    if (strncmp (text, prefix, strlen (prefix)) != 0)
        s_ui_fail (ui, job, "unexpected reply");
    else if (job->steps != STEPS)
        s_ui_fail (ui, job, "the reply came after %d progress updates of %d", job->steps, STEPS);
    else
        snprintf (job->worker, sizeof (job->worker), "%s", text + strlen (prefix));
}

//  "work-1 (2), work-2 (2), work-3 (2)" into OUT; returns how many workers answered.
static int
s_ui_tally (const ui_t *ui, char *out, size_t size)
{
    int workers = 0;
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < JOBS; i++) {
        const char *worker = ui->jobs[i].worker;
        bool seen = false;
        for (int j = 0; j < i && !seen; j++)
            seen = strcmp (ui->jobs[j].worker, worker) == 0;
        if (seen || !*worker)
            continue;
        int count = 0;
        for (int j = i; j < JOBS; j++)
            count += strcmp (ui->jobs[j].worker, worker) == 0;
        int len =
            snprintf (out + used, size - used, "%s%s (%d)", workers ? ", " : "", worker, count);
        if (len > 0 && (size_t) len < size - used)
            used += (size_t) len;
        workers++;
    }
    return workers;
}

static int
s_ui (void)
{
    ui_t ui = { 0 };
    int rc;
    ui.window = prokit_window_new (NULL, NULL, &rc);
    if (!ui.window) {
        fprintf (stderr, "[ui] cannot join: %s\n", prokit_error_name (rc));
        return 1;
    }

    //  Every request on its way before any answer is read: the pool gives
    //  each to the worker with the fewest in flight.
    for (int i = 0; i < JOBS; i++) {
        job_t *job = &ui.jobs[i];
        *job = (job_t){ .ui = &ui, .index = i + 1, .size = s_sizes[i] };
        prokit_request_opts_t opts;
        prokit_request_opts_init (&opts);
        opts.channel = "resize";
        opts.timeout_ms = STEP_TIMEOUT_MS;
        opts.progress = s_ui_on_progress;
        opts.progress_arg = job;
        prokit_payload_t *size = prokit_payload_new_string (job->size);
        rc = prokit_window_request_with (ui.window, "work", &size, &opts, s_ui_on_resized, job,
                                         NULL);
        prokit_payload_destroy (&size); //  not sent: still ours (NULL-safe)
        if (rc != PROKIT_OK) {
            s_ui_fail (&ui, job, "request: %s", prokit_error_name (rc));
            job->answered = true;
            ui.answered++;
        }
    }
    printf ("[ui] asked pool \"work\" to resize %d images on channel \"resize\"\n", JOBS);

    int64_t deadline = s_now_ms () + STEP_TIMEOUT_MS;
    while (ui.answered < JOBS && s_now_ms () < deadline) {
        rc = prokit_window_run (ui.window, (int) (deadline - s_now_ms ()));
        if (rc != PROKIT_OK && rc != PROKIT_ETIMEDOUT)
            break;
    }
    if (ui.answered < JOBS) {
        printf ("[ui] FAILED: %d of %d requests answered within %d s\n", ui.answered, JOBS,
                STEP_TIMEOUT_MS / 1000);
        ui.failed = true;
    }

    char tally[256];
    int workers = s_ui_tally (&ui, tally, sizeof (tally));
    if (!ui.failed && workers < 2) {
        printf ("[ui] FAILED: only %s answered\n", tally);
        ui.failed = true;
    }
    if (ui.failed) {
        prokit_window_destroy (&ui.window);
        return 1;
    }
    printf ("[ui] every request had 33%%, 66%%, 100%%, then its reply; answered by %s\n", tally);

    //  Tell main, and wait to be closed.
    prokit_payload_t *summary =
        prokit_payload_new_printf ("%d resized by %d workers (%s)", JOBS, workers, tally);
    prokit_reply_t *reply = NULL;
    rc = prokit_window_request_wait_on (ui.window, PROKIT_MAIN, "done", &summary, STEP_TIMEOUT_MS,
                                        &reply);
    prokit_payload_destroy (&summary);
    prokit_reply_destroy (&reply);
    if (rc != PROKIT_OK) {
        printf ("[ui] FAILED: asking main \"done\": %s\n", prokit_error_name (rc));
        prokit_window_destroy (&ui.window);
        return 1;
    }
    rc = prokit_window_run (ui.window, WINDOW_DEADLINE_MS);
    if (rc != PROKIT_ECLOSED)
        printf ("[ui] FAILED: not closed by main (%s)\n", prokit_error_name (rc));
    prokit_window_destroy (&ui.window);
    return rc == PROKIT_ECLOSED ? 0 : 1;
}

//  =========================================================================
//  Main: starts the windows, waits for "ui" to be done, closes them.

typedef struct {
    char name[16];
    int pid;
    bool joined, left, exited;
} child_t;

typedef struct {
    prokit_main_t *ipc;
    child_t children[WINDOWS];
    //  The steps, as main sees them.
    bool workers_joined, ui_joined, done, closing, all_left, all_exited;
    bool failed;
    char why[256]; //  what went wrong, when failed
} pool_t;

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

//  Record the first failure and make prokit_main_run() return.
static void
s_fail (pool_t *pool, const char *format, ...)
{
    if (!pool->failed) {
        va_list args;
        va_start (args, format);
        vsnprintf (pool->why, sizeof (pool->why), format, args);
        va_end (args);
        pool->failed = true;
    }
    prokit_main_stop (pool->ipc);
}

static child_t *
s_child (pool_t *pool, const char *name)
{
    for (int i = 0; i < WINDOWS; i++)
        if (strcmp (pool->children[i].name, name) == 0)
            return &pool->children[i];
    return NULL;
}

//  "ui" on channel "done": the payload says how it went.
static prokit_payload_t *
s_main_on_done (prokit_request_t *request, void *arg)
{
    pool_t *pool = (pool_t *) arg;
    printf ("[main] \"%s\" is done: %s\n", prokit_request_sender (request),
            s_text (prokit_request_payload (request)));
    pool->done = true;
    prokit_main_stop (pool->ipc);
    return prokit_payload_new_string ("bye");
}

static void
s_main_on_presence (const prokit_presence_t *event, void *arg)
{
    pool_t *pool = (pool_t *) arg;
    child_t *child = s_child (pool, event->window);
    if (!child)
        return; //  not one of ours
    switch (event->kind) {
    case PROKIT_PRESENCE_JOINED:
        if (*event->service)
            printf ("[main] \"%s\" joined, serving pool \"%s\"\n", event->window, event->service);
        else
            printf ("[main] \"%s\" joined\n", event->window);
        child->joined = true;
        break;
    case PROKIT_PRESENCE_LEFT: child->left = true; break;
    case PROKIT_PRESENCE_EXITED:
        printf ("[main] \"%s\" (pid %d) %s\n", event->window, event->pid, event->reason);
        child->exited = true;
        if (!WIFEXITED (event->wait_status) || WEXITSTATUS (event->wait_status) != 0)
            s_fail (pool, "window \"%s\" failed", event->window);
        else if (!pool->closing)
            s_fail (pool, "window \"%s\" exited too early", event->window);
        break;
    }
    pool->workers_joined = true;
    pool->all_left = pool->all_exited = true;
    for (int i = 0; i < WINDOWS; i++) {
        if (i < WORKERS)
            pool->workers_joined &= pool->children[i].joined;
        pool->all_left &= pool->children[i].left;
        pool->all_exited &= pool->children[i].exited;
    }
    pool->ui_joined = pool->children[WORKERS].joined;
    prokit_main_stop (pool->ipc);
}

//  createWindow(name, { show, env }) with this very program.
static bool
s_create_window (pool_t *pool, child_t *child, const char *self, bool worker)
{
    char *env[] = { (char *) "PROKIT_WINDOW_SERVICE=work", NULL };
    prokit_window_spec_t spec;
    prokit_window_spec_init (&spec);
    spec.path = self;
    spec.env = worker ? env : NULL;
    spec.show = !worker;
    prokit_spawned_t result;
    int rc = prokit_main_create_window (pool->ipc, child->name, &spec, &result, sizeof (result));
    if (rc != PROKIT_OK) {
        fprintf (stderr, "[main] FAILED: createWindow(\"%s\"): %s (%s)\n", child->name,
                 prokit_error_name (rc), result.reason);
        return false;
    }
    child->pid = result.pid;
    printf ("[main] createWindow(\"%s\", { show: %s%s }): pid %d\n", child->name,
            worker ? "false" : "true", worker ? ", env: PROKIT_WINDOW_SERVICE=work" : "",
            result.pid);
    return true;
}

//  Run main's loop until *STEP is true. False if it does not happen within
//  STEP_TIMEOUT_MS, or something fails first.
static bool
s_wait_for (pool_t *pool, const bool *step, const char *what)
{
    int64_t deadline = s_now_ms () + STEP_TIMEOUT_MS;
    while (true) {
        if (s_interrupted)
            s_fail (pool, "interrupted");
        if (pool->failed) {
            fprintf (stderr, "[main] FAILED: %s, while waiting for: %s\n", pool->why, what);
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
        int rc = prokit_main_run (pool->ipc, (int) left);
        if (rc != PROKIT_OK && rc != PROKIT_ETIMEDOUT)
            s_fail (pool, "prokit_main_run: %s", prokit_error_name (rc));
    }
}

static bool
s_play (pool_t *pool, const char *self)
{
    for (int i = 0; i < WORKERS; i++)
        if (!s_create_window (pool, &pool->children[i], self, true))
            return false;
    //  "ui" only once the pool has all its workers, so all three may serve.
    if (!s_wait_for (pool, &pool->workers_joined, "\"work-1\", \"work-2\", \"work-3\" join") ||
        !s_create_window (pool, &pool->children[WORKERS], self, false) ||
        !s_wait_for (pool, &pool->ui_joined, "\"ui\" joins") ||
        !s_wait_for (pool, &pool->done, "\"ui\" asks main \"done\""))
        return false;

    printf ("[main] clearWindows(): closing all %d\n", WINDOWS);
    pool->closing = true;
    prokit_main_clear_windows (pool->ipc, 5000);
    return s_wait_for (pool, &pool->all_left, "every window leaves") &&
           s_wait_for (pool, &pool->all_exited, "every window's process exits 0");
}

static int
s_main (void)
{
    char self[PATH_MAX];
    ssize_t size = readlink ("/proc/self/exe", self, sizeof (self) - 1);
    if (size <= 0) {
        fprintf (stderr, "[main] cannot read /proc/self/exe: %s\n", strerror (errno));
        return 1;
    }
    self[size] = '\0';

    //  initIpc(), on a fresh endpoint of our own.
    char path[64], endpoint[80];
    snprintf (path, sizeof (path), "/tmp/prokit-pool-%d.sock", (int) getpid ());
    snprintf (endpoint, sizeof (endpoint), "ipc://%s", path);
    prokit_main_opts_t opts;
    prokit_main_opts_init (&opts);
    opts.endpoint = endpoint;
    pool_t pool = { .children = { { .name = "work-1" },
                                  { .name = "work-2" },
                                  { .name = "work-3" },
                                  { .name = "ui" } } };
    int rc;
    pool.ipc = prokit_main_new (&opts, &rc);
    if (!pool.ipc) {
        fprintf (stderr, "[main] initIpc failed: %s (%s)\n", prokit_error_name (rc),
                 prokit_strerror (rc));
        return 1;
    }
    prokit_main_handle (pool.ipc, "done", s_main_on_done, &pool);
    prokit_main_on_presence (pool.ipc, s_main_on_presence, &pool);
    printf ("[main] listening on %s\n", prokit_main_endpoint (pool.ipc));

    s_ipc = pool.ipc;
    s_handle_signals (s_on_interrupt);

    bool ok = s_play (&pool, self);

    prokit_stats_t stats;
    if (ok && prokit_main_stats (pool.ipc, &stats, sizeof (stats)) == PROKIT_OK)
        printf ("[main] router: %llu messages received, %llu routed, %llu errors sent\n",
                stats.received, stats.routed, stats.errors_sent);

    s_handle_signals (SIG_DFL); //  before the handle goes away
    //  Ends any window process still running (after a failure) and reaps it.
    prokit_main_destroy (&pool.ipc);
    unlink (path);
    printf ("[main] %s\n",
            ok ? "pool example complete: every step happened" : "pool example FAILED");
    return ok ? 0 : 1;
}

int
main (void)
{
    setvbuf (stdout, NULL, _IOLBF, 0);
    const char *name = getenv ("PROKIT_WINDOW_NAME");
    const char *service = getenv ("PROKIT_WINDOW_SERVICE");
    if (!name || !*name)
        return s_main ();
    if (service && strcmp (service, "work") == 0)
        return s_worker ();
    if (strcmp (name, "ui") == 0)
        return s_ui ();
    fprintf (stderr, "prokit-example-pool: no role for window \"%s\"\n", name);
    return 1;
}
