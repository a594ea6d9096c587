/*  main.c: the main process handle. It embeds the router (router.c) and
    is its client "@main" in memory: its messages go straight into the
    router under its lock, and what the router has for main waits in an
    inbox, announced on main's descriptor (router.h, "the embedded main").
    Attached to a broker instead, the same client talks to the broker's
    router over a DEALER, as a window does.

    It also keeps the registry of windows: every window that joined (fed by
    the router's JOINED/LEFT events, so a send to an unknown window fails
    at once), and every window process it started (createWindow), which it
    watches through pidfds, closes politely then with signals, reaps, and
    restarts by policy. Those descriptors and the deadlines of closing and
    restarting live in one epoll set of their own, watched by the client,
    so the application still polls a single descriptor.
*/
#include "prokit/main.h"

#include <czmq.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "child.h"
#include "client.h"
#include "clock.h"
#include "log.h"
#include "prokit/error.h"
#include "proto.h"
#include "router.h"
#include "sized.h"

#define DEFAULT_GRACE_MS 2000
#define DEFAULT_RESTART_MAX 5
#define DEFAULT_RESTART_BACKOFF_MS 500
#define RESTART_BACKOFF_MAX_MS 30000
//  A process that ran this long before failing starts a fresh restart count.
#define RESTART_STREAK_RESET_MS 10000
//  How long prokit_main_destroy() lets its children end before SIGKILL.
#define SHUTDOWN_GRACE_MS 1000
//  How long an attached main waits for the broker's counters.
#define MAIN_QUERY_TIMEOUT_MS 5000

//  One window main knows about: joined, or started by main, or both.
typedef struct entry {
    prokit_window_info_t info;
    child_t *child; //  the running process main started, else NULL
    int64_t started_at;
    //  What to run again on restart (owned copies).
    char *path, *cwd;
    char **argv, **env;
    bool show;
    prokit_restart_t restart;
    int restart_max;
    int restart_backoff_ms;
    int streak;         //  restarts in a row
    int64_t restart_at; //  monotonic ms, 0: none scheduled
    //  Closing (destroyWindow): the escalation's deadlines, 0: done.
    bool closing;
    int64_t term_at, kill_at;
} entry_t;

struct prokit_main {
    router_t *router; //  the embedded router; NULL when attached to a broker
    char *endpoint;   //  where windows connect: the router's or the broker's
    client_t *client;
    zhashx_t *windows; //  name -> entry_t: the registry
    zlistx_t *dying;   //  entry_t closed by main, process not reaped yet
    int aux_fd;        //  epoll: children's pidfds and the timer
    int timer_fd;
    size_t joined;    //  entries that joined
    size_t children;  //  processes started and not reaped yet
    bool timer_armed; //  a restart or escalation deadline is pending
    prokit_presence_fn *presence_fn;
    void *presence_arg;
    prokit_undelivered_fn *undelivered_fn;
    void *undelivered_arg;
    prokit_connection_fn *connection_fn;
    void *connection_arg;
    //  The window prokit_main_create_window() waits for, and its outcome.
    const char *awaiting;
    bool awaited_exited;
    int awaited_status;
};

//  --- entries -----------------------------------------------------------------

static void
s_strv_free (char **strv)
{
    for (size_t i = 0; strv && strv[i]; i++)
        free (strv[i]);
    free (strv);
}

static char **
s_strv_dup (char *const *strv)
{
    size_t n = 0;
    while (strv && strv[n])
        n++;
    char **copy = (char **) calloc (n + 1, sizeof (char *));
    for (size_t i = 0; copy && i < n; i++)
        copy[i] = strdup (strv[i]);
    return copy;
}

static void
s_entry_free (entry_t **entry_p)
{
    entry_t *entry = *entry_p;
    if (!entry)
        return;
    child_destroy (&entry->child); //  kills and reaps a process still running
    free (entry->path);
    free (entry->cwd);
    s_strv_free (entry->argv);
    s_strv_free (entry->env);
    free (entry);
    *entry_p = NULL;
}

static void
s_entry_destructor (void **item)
{
    s_entry_free ((entry_t **) item);
}

//  Take ENTRY out of the registry and free it.
static void
s_forget (prokit_main_t *self, entry_t *entry)
{
    zhashx_delete (self->windows, entry->info.name);
    s_entry_free (&entry);
}

static entry_t *
s_entry_new (const char *name)
{
    entry_t *entry = (entry_t *) calloc (1, sizeof (*entry));
    if (entry)
        snprintf (entry->info.name, sizeof (entry->info.name), "%s", name);
    return entry;
}

static void
s_emit (prokit_main_t *self, prokit_presence_kind_t kind, const char *window, const char *reason,
        int pid, int wait_status, bool will_restart)
{
    if (!self->presence_fn)
        return;
    prokit_presence_t event = {
        kind, window, reason ? reason : "", pid, wait_status, will_restart
    };
    self->presence_fn (&event, self->presence_arg);
}

//  --- deadlines -------------------------------------------------------------

static void
s_consider (int64_t at, int64_t *first)
{
    if (at > 0 && (*first == 0 || at < *first))
        *first = at;
}

//  Arm the timer at the nearest escalation or restart deadline.
static void
s_arm_timer (prokit_main_t *self)
{
    int64_t first = 0;
    for (entry_t *entry = (entry_t *) zhashx_first (self->windows); entry;
         entry = (entry_t *) zhashx_next (self->windows))
        s_consider (entry->restart_at, &first);
    for (entry_t *entry = (entry_t *) zlistx_first (self->dying); entry;
         entry = (entry_t *) zlistx_next (self->dying)) {
        s_consider (entry->term_at, &first);
        s_consider (entry->kill_at, &first);
    }
    struct itimerspec spec;
    memset (&spec, 0, sizeof (spec));
    self->timer_armed = first > 0;
    if (first > 0) {
        spec.it_value.tv_sec = first / 1000;
        spec.it_value.tv_nsec = (first % 1000) * 1000000;
    }
    timerfd_settime (self->timer_fd, TFD_TIMER_ABSTIME, &spec, NULL);
}

//  --- processes ---------------------------------------------------------------

static int
s_watch_child (prokit_main_t *self, entry_t *entry)
{
    struct epoll_event event;
    memset (&event, 0, sizeof (event));
    event.events = EPOLLIN;
    event.data.ptr = entry;
    return epoll_ctl (self->aux_fd, EPOLL_CTL_ADD, child_fd (entry->child), &event);
}

//  Start ENTRY's process. Returns PROKIT_OK or PROKIT_ESPAWN (REASON says why).
static int
s_start (prokit_main_t *self, entry_t *entry, char *reason, size_t reason_size)
{
    //  What the child needs to join with no configuration of its own.
    size_t extra = 0;
    while (entry->env && entry->env[extra])
        extra++;
    char **env = (char **) calloc (extra + 4, sizeof (char *));
    char endpoint[600], name[PROKIT_NAME_MAX + 32];
    snprintf (endpoint, sizeof (endpoint), "PROKIT_ENDPOINT=%s", self->endpoint);
    snprintf (name, sizeof (name), "PROKIT_WINDOW_NAME=%s", entry->info.name);
    if (!env) {
        snprintf (reason, reason_size, "out of memory");
        return PROKIT_ESPAWN;
    }
    size_t n = 0;
    for (size_t i = 0; i < extra; i++)
        env[n++] = entry->env[i];
    env[n++] = endpoint;
    env[n++] = name;
    env[n++] = (char *) (entry->show ? "PROKIT_WINDOW_SHOW=1" : "PROKIT_WINDOW_SHOW=0");
    int error = 0;
    entry->child = child_start (entry->path, entry->argv, env, entry->cwd, &error);
    free (env);
    if (!entry->child) {
        snprintf (reason, reason_size, "cannot start %s: %s", entry->path, strerror (error));
        return PROKIT_ESPAWN;
    }
    if (s_watch_child (self, entry) != 0) {
        snprintf (reason, reason_size, "cannot watch %s: %s", entry->path, strerror (errno));
        child_destroy (&entry->child);
        return PROKIT_ESPAWN;
    }
    entry->started_at = clock_mono_ms ();
    self->children++;
    entry->info.pid = (int) child_pid (entry->child);
    entry->info.shown = entry->show;
    log_info ("main: started window '%s' (pid %d)", entry->info.name, entry->info.pid);
    return PROKIT_OK;
}

static bool
s_is_failure (int status)
{
    return !(status != -1 && WIFEXITED (status) && WEXITSTATUS (status) == 0);
}

//  ENTRY's process has ended with STATUS: report it, and restart it or
//  forget it.
static void
s_child_ended (prokit_main_t *self, entry_t *entry, int status, bool in_registry)
{
    char reason[96];
    child_describe (status, reason, sizeof (reason));
    int pid = entry->info.pid;
    epoll_ctl (self->aux_fd, EPOLL_CTL_DEL, child_fd (entry->child), NULL);
    child_destroy (&entry->child);
    self->children--;
    log_info ("main: window '%s' (pid %d) %s", entry->info.name, pid, reason);

    bool awaited = self->awaiting && strcmp (self->awaiting, entry->info.name) == 0;
    if (awaited && !entry->info.joined) {
        self->awaited_exited = true;
        self->awaited_status = status;
    }
    int64_t ran = clock_mono_ms () - entry->started_at;
    if (ran >= RESTART_STREAK_RESET_MS)
        entry->streak = 0;
    bool restart = in_registry && !entry->closing && !awaited &&
                   entry->restart == PROKIT_RESTART_ON_FAILURE && s_is_failure (status) &&
                   entry->streak < entry->restart_max;
    if (restart) {
        int64_t delay = (int64_t) entry->restart_backoff_ms << entry->streak;
        if (delay > RESTART_BACKOFF_MAX_MS)
            delay = RESTART_BACKOFF_MAX_MS;
        entry->restart_at = clock_mono_ms () + delay;
        entry->streak++;
    }
    char name[PROKIT_NAME_MAX + 1];
    strcpy (name, entry->info.name);
    if (!in_registry) {
        zlistx_delete (self->dying, zlistx_find (self->dying, entry));
        entry = NULL;
    }
    else if (!restart && !entry->info.joined)
        s_forget (self, entry); //  nothing left to track
    //  else: still joined (its LEFT is on the way) or restarting.
    s_emit (self, PROKIT_PRESENCE_EXITED, name, reason, pid, status, restart);
    s_arm_timer (self);
}

static void
s_check_deadlines (prokit_main_t *self)
{
    int64_t now = clock_mono_ms ();
    for (entry_t *entry = (entry_t *) zlistx_first (self->dying); entry;
         entry = (entry_t *) zlistx_next (self->dying)) {
        if (entry->term_at && entry->term_at <= now) {
            log_info ("main: window '%s' did not close: SIGTERM", entry->info.name);
            child_signal (entry->child, SIGTERM);
            entry->term_at = 0;
        }
        if (entry->kill_at && entry->kill_at <= now) {
            log_info ("main: window '%s' did not end: SIGKILL", entry->info.name);
            child_signal (entry->child, SIGKILL);
            entry->kill_at = 0;
        }
    }
    zlistx_t *due = zlistx_new ();
    for (entry_t *entry = (entry_t *) zhashx_first (self->windows); entry;
         entry = (entry_t *) zhashx_next (self->windows))
        if (entry->restart_at && entry->restart_at <= now)
            zlistx_add_end (due, entry);
    for (entry_t *entry = (entry_t *) zlistx_first (due); entry;
         entry = (entry_t *) zlistx_next (due)) {
        entry->restart_at = 0;
        char reason[160];
        if (s_start (self, entry, reason, sizeof (reason)) == PROKIT_OK)
            entry->info.restarts++;
        else {
            log_error ("main: restarting window '%s' failed: %s", entry->info.name, reason);
            if (!entry->info.joined)
                s_forget (self, entry);
        }
    }
    zlistx_destroy (&due);
    s_arm_timer (self);
}

//  After every dispatch: children that ended, deadlines that passed.
static void
s_on_dispatch (void *owner)
{
    prokit_main_t *self = (prokit_main_t *) owner;
    //  Nothing of main's own to watch: spare the system call.
    if (self->children == 0 && !self->timer_armed)
        return;
    struct epoll_event events[16];
    int ready = epoll_wait (self->aux_fd, events, 16, 0);
    for (int i = 0; i < ready; i++) {
        if (events[i].data.ptr == NULL) {
            uint64_t expirations;
            if (read (self->timer_fd, &expirations, sizeof (expirations)) < 0)
                log_debug ("main: timer read: %s", strerror (errno));
            s_check_deadlines (self);
            continue;
        }
        entry_t *entry = (entry_t *) events[i].data.ptr;
        int status;
        if (entry->child && child_reap (entry->child, &status)) {
            bool in_registry = zhashx_lookup (self->windows, entry->info.name) == entry;
            s_child_ended (self, entry, status, in_registry);
        }
    }
}

//  --- events from the router ---------------------------------------------------

static void
s_on_presence (void *owner, const char *window, bool joined, const proto_presence_t *presence)
{
    prokit_main_t *self = (prokit_main_t *) owner;
    entry_t *entry = (entry_t *) zhashx_lookup (self->windows, window);
    if (joined) {
        if (!entry) {
            entry = s_entry_new (window);
            if (!entry) {
                log_error ("main: out of memory: window '%s' not registered", window);
                return;
            }
            zhashx_insert (self->windows, window, entry);
        }
        if (!entry->info.joined)
            self->joined++;
        entry->info.joined = true;
        //  The router's clock: the same one last_seen_ms comes from.
        entry->info.joined_at_ms =
            presence->joined_at ? (long long) presence->joined_at : clock_wall_ms ();
        entry->info.last_seen_ms = entry->info.joined_at_ms;
        if (!entry->child)
            entry->info.pid = (int) presence->pid;
        if (!entry->info.spawned)
            entry->info.shown = presence->shown;
        snprintf (entry->info.address, sizeof (entry->info.address), "%s", presence->address);
        s_emit (self, PROKIT_PRESENCE_JOINED, window, "", entry->info.pid, 0, false);
        return;
    }
    int pid = entry ? entry->info.pid : 0;
    if (entry && entry->info.joined) {
        self->joined--;
        entry->info.joined = false;
        entry->info.address[0] = 0;
        //  Keep tracking a process main started until it is reaped.
        if (!entry->child && !entry->restart_at)
            s_forget (self, entry);
    }
    s_emit (self, PROKIT_PRESENCE_LEFT, window, presence->reason, pid, 0, false);
}

static void
s_on_undelivered (void *owner, const char *target, int code, const char *text)
{
    prokit_main_t *self = (prokit_main_t *) owner;
    if (self->undelivered_fn)
        self->undelivered_fn (target, code, text, self->undelivered_arg);
    else
        log_warn ("main: message to '%s' not delivered: %s", target, text);
}

//  Only an attached main loses its router. The broker it comes back to
//  knows nothing of the windows, which rejoin by themselves: forget who
//  was there; the router tells again who joins.
static void
s_on_connection (void *owner, int event, int code, const char *text)
{
    prokit_main_t *self = (prokit_main_t *) owner;
    if (event == PROKIT_CONNECTION_LOST) {
        zlistx_t *joined = zlistx_new ();
        for (entry_t *entry = (entry_t *) zhashx_first (self->windows); entry;
             entry = (entry_t *) zhashx_next (self->windows))
            if (entry->info.joined)
                zlistx_add_end (joined, entry->info.name);
        proto_presence_t left;
        memset (&left, 0, sizeof (left));
        snprintf (left.reason, sizeof (left.reason), "connection to the broker lost");
        for (const char *name = (const char *) zlistx_first (joined); name;
             name = (const char *) zlistx_next (joined)) {
            char copy[PROKIT_NAME_MAX + 1];
            snprintf (copy, sizeof (copy), "%s", name); //  the entry may go
            s_on_presence (self, copy, false, &left);
        }
        zlistx_destroy (&joined);
    }
    if (self->connection_fn)
        self->connection_fn ((prokit_connection_event_t) event, code, text, self->connection_arg);
    else if (event != PROKIT_CONNECTION_LOST)
        log_info ("main: %s", text);
}

static const client_events_t s_events = { .on_presence = s_on_presence,
                                          .on_undelivered = s_on_undelivered,
                                          .on_connection = s_on_connection,
                                          .on_dispatch = s_on_dispatch };

//  --- life cycle ----------------------------------------------------------------

prokit_main_t *
prokit_main_new (const prokit_main_opts_t *opts, int *error)
{
    int dummy;
    if (!error)
        error = &dummy;
    //  The application's options, as far as its header had them.
    prokit_main_opts_t own;
    if (!opts)
        prokit_main_opts_init (&own);
    else if ((*error = sized_take (&own, sizeof (own), opts, "prokit_main_opts_t")) != PROKIT_OK)
        return NULL;
    opts = &own;
    if (opts->max_payload > PROKIT_MAX_PAYLOAD_LIMIT || opts->heartbeat_ivl_ms < 0 ||
        opts->heartbeat_timeout_ms < 0) {
        *error = PROKIT_EINVAL;
        return NULL;
    }
    const char *broker = client_resolve_setting (opts->broker, "PROKIT_BROKER");
    if (broker && opts->endpoint) {
        log_error ("main: give an endpoint to bind or a broker to attach to, not both");
        *error = PROKIT_EINVAL;
        return NULL;
    }
    char endpoint[512];
    if (broker) {
        if (strlen (broker) >= sizeof (endpoint)) {
            *error = PROKIT_EINVAL;
            return NULL;
        }
        strcpy (endpoint, broker);
    }
    else {
        *error =
            client_resolve_endpoint (opts->endpoint, opts->app_name, endpoint, sizeof (endpoint));
        if (*error != PROKIT_OK)
            return NULL;
    }
    //  The application owns its signals; CZMQ must not install handlers.
    zsys_handler_set (NULL);

    prokit_main_t *self = (prokit_main_t *) calloc (1, sizeof (*self));
    if (!self) {
        *error = PROKIT_ENOMEM;
        return NULL;
    }
    self->aux_fd = epoll_create1 (EPOLL_CLOEXEC);
    self->timer_fd = timerfd_create (CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    self->windows = zhashx_new ();
    self->dying = zlistx_new ();
    if (!self->windows || !self->dying || self->aux_fd < 0 || self->timer_fd < 0) {
        *error = PROKIT_ENOMEM;
        prokit_main_destroy (&self);
        return NULL;
    }
    //  The registry's entries are freed by hand (they move to DYING when
    //  closed); the dying ones go with their list.
    zlistx_set_destructor (self->dying, s_entry_destructor);
    struct epoll_event timer_event;
    memset (&timer_event, 0, sizeof (timer_event));
    timer_event.events = EPOLLIN;
    timer_event.data.ptr = NULL; //  NULL marks the timer; children carry their entry
    epoll_ctl (self->aux_fd, EPOLL_CTL_ADD, self->timer_fd, &timer_event);

    client_config_t client_config = {
        .name = PROTO_MAIN_NAME, .join_timeout_ms = 5000, .events = &s_events, .owner = self
    };
    if (broker) {
        //  Attached: the broker's router does the routing; main is one of
        //  its clients, over the network, with the same liveness rules as
        //  a window: the broker's.
        client_config.endpoint = endpoint;
        client_config.curve_cert = client_resolve_setting (opts->curve_cert, "PROKIT_CURVE_CERT");
        client_config.curve_server_key =
            client_resolve_setting (opts->curve_server_key, "PROKIT_CURVE_SERVER_KEY");
        self->endpoint = strdup (endpoint);
    }
    else {
        router_config_t config = { .endpoints = { endpoint },
                                   .endpoint_count = 1,
                                   .embedded_main = true,
                                   .max_payload = opts->max_payload,
                                   .heartbeat_ivl_ms = opts->heartbeat_ivl_ms,
                                   .heartbeat_timeout_ms = opts->heartbeat_timeout_ms };
        self->router = router_new (&config, error);
        if (!self->router) {
            prokit_main_destroy (&self);
            return NULL;
        }
        self->endpoint = strdup (router_endpoint (self->router));
        //  Main reaches its own router in memory, not through a socket.
        client_config.router = self->router;
    }
    if (!self->endpoint) {
        *error = PROKIT_ENOMEM;
        prokit_main_destroy (&self);
        return NULL;
    }
    self->client = client_new (&client_config, error);
    if (!self->client || client_watch_fd (self->client, self->aux_fd) != PROKIT_OK) {
        if (self->client)
            *error = PROKIT_ETRANSPORT;
        prokit_main_destroy (&self);
        return NULL;
    }
    return self;
}

//  Let every child main started end: SIGTERM now, SIGKILL after a bounded
//  wait, and reap them all, so destroy leaves no process behind.
static void
s_end_children (prokit_main_t *self)
{
    zlistx_t *children = zlistx_new ();
    for (entry_t *entry = (entry_t *) zhashx_first (self->windows); entry;
         entry = (entry_t *) zhashx_next (self->windows))
        if (entry->child)
            zlistx_add_end (children, entry);
    for (entry_t *entry = (entry_t *) zlistx_first (self->dying); entry;
         entry = (entry_t *) zlistx_next (self->dying))
        if (entry->child)
            zlistx_add_end (children, entry);
    for (entry_t *entry = (entry_t *) zlistx_first (children); entry;
         entry = (entry_t *) zlistx_next (children))
        child_signal (entry->child, SIGTERM);
    int64_t deadline = clock_mono_ms () + SHUTDOWN_GRACE_MS;
    size_t left = zlistx_size (children);
    while (left > 0 && clock_mono_ms () < deadline) {
        struct epoll_event events[16];
        epoll_wait (self->aux_fd, events, 16, (int) (deadline - clock_mono_ms ()));
        left = 0;
        for (entry_t *entry = (entry_t *) zlistx_first (children); entry;
             entry = (entry_t *) zlistx_next (children))
            if (!child_reap (entry->child, NULL))
                left++;
    }
    zlistx_destroy (&children); //  the entries' destructors SIGKILL and reap the rest
}

void
prokit_main_destroy (prokit_main_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    prokit_main_t *self = *self_p;
    if (self->windows && self->dying)
        s_end_children (self);
    client_destroy (&self->client);
    router_destroy (&self->router);
    free (self->endpoint);
    if (self->windows) {
        for (entry_t *entry = (entry_t *) zhashx_first (self->windows); entry;
             entry = (entry_t *) zhashx_next (self->windows))
            s_entry_free (&entry);
        zhashx_destroy (&self->windows);
    }
    zlistx_destroy (&self->dying);
    if (self->aux_fd >= 0)
        close (self->aux_fd);
    if (self->timer_fd >= 0)
        close (self->timer_fd);
    free (self);
    *self_p = NULL;
}

const char *
prokit_main_endpoint (const prokit_main_t *self)
{
    return self ? self->endpoint : NULL;
}

int
prokit_main_on_request (prokit_main_t *self, prokit_request_fn *fn, void *arg)
{
    if (!self)
        return PROKIT_EINVAL;
    client_set_handler (self->client, fn, arg);
    return PROKIT_OK;
}

//  --- messages --------------------------------------------------------------------

static bool
s_is_joined (const prokit_main_t *self, const char *name)
{
    entry_t *entry = (entry_t *) zhashx_lookup (self->windows, name);
    return entry && entry->info.joined;
}

int
prokit_main_send (prokit_main_t *self, const char *window, prokit_payload_t **payload_p)
{
    if (!self || !window || !payload_p || !*payload_p)
        return PROKIT_EINVAL;
    //  The embedded router refuses a name nobody holds as it routes
    //  (PROKIT_ENOTFOUND, synchronously), so only an attached main, whose
    //  broker would answer later, looks in its registry first. A joined
    //  name is a valid one; the name is checked only to tell a bad one
    //  (EINVAL) from one nobody holds (ENOTFOUND). client_send() checks it
    //  again on its way out.
    if (!self->router && !s_is_joined (self, window)) {
        return proto_window_name_valid (window, strlen (window)) ? PROKIT_ENOTFOUND : PROKIT_EINVAL;
    }
    return client_send (self->client, window, payload_p);
}

int
prokit_main_broadcast (prokit_main_t *self, prokit_payload_t **payload_p)
{
    if (!self)
        return PROKIT_EINVAL;
    return client_send (self->client, NULL, payload_p);
}

int
prokit_main_on_undelivered (prokit_main_t *self, prokit_undelivered_fn *fn, void *arg)
{
    if (!self)
        return PROKIT_EINVAL;
    self->undelivered_fn = fn;
    self->undelivered_arg = arg;
    return PROKIT_OK;
}

int
prokit_main_on_connection (prokit_main_t *self, prokit_connection_fn *fn, void *arg)
{
    if (!self)
        return PROKIT_EINVAL;
    self->connection_fn = fn;
    self->connection_arg = arg;
    return PROKIT_OK;
}

bool
prokit_main_is_connected (const prokit_main_t *self)
{
    return self && client_is_connected (self->client);
}

bool
prokit_main_is_attached (const prokit_main_t *self)
{
    return self && !self->router;
}

int
prokit_main_on_presence (prokit_main_t *self, prokit_presence_fn *fn, void *arg)
{
    if (!self)
        return PROKIT_EINVAL;
    self->presence_fn = fn;
    self->presence_arg = arg;
    return PROKIT_OK;
}

//  --- the registry -------------------------------------------------------------------

static int
s_create_window (prokit_main_t *self, const char *name, const prokit_window_spec_t *spec,
                 prokit_spawned_t *result)
{
    if (!self || !name || !spec->path || !proto_window_name_valid (name, strlen (name)) ||
        spec->join_timeout_ms < 0 || spec->restart_max < 0 || spec->restart_backoff_ms < 0) {
        snprintf (result->reason, sizeof (result->reason), "invalid name or spec");
        return PROKIT_EINVAL;
    }
    if (zhashx_lookup (self->windows, name)) {
        snprintf (result->reason, sizeof (result->reason), "window '%s' already exists", name);
        return PROKIT_EEXIST;
    }
    entry_t *entry = s_entry_new (name);
    if (!entry)
        return PROKIT_ENOMEM;
    entry->info.spawned = true;
    entry->path = strdup (spec->path);
    entry->cwd = spec->cwd ? strdup (spec->cwd) : NULL;
    entry->argv = spec->argv ? s_strv_dup (spec->argv) : NULL;
    entry->env = spec->env ? s_strv_dup (spec->env) : NULL;
    entry->show = spec->show;
    entry->restart = spec->restart;
    entry->restart_max = spec->restart_max ? spec->restart_max : DEFAULT_RESTART_MAX;
    entry->restart_backoff_ms =
        spec->restart_backoff_ms ? spec->restart_backoff_ms : DEFAULT_RESTART_BACKOFF_MS;
    if (!entry->path || (spec->argv && !entry->argv) || (spec->env && !entry->env)) {
        s_entry_free (&entry);
        return PROKIT_ENOMEM;
    }
    int rc = s_start (self, entry, result->reason, sizeof (result->reason));
    if (rc != PROKIT_OK) {
        log_error ("main: %s", result->reason);
        s_entry_free (&entry);
        return rc;
    }
    result->pid = entry->info.pid;
    zhashx_insert (self->windows, name, entry);
    if (spec->join_timeout_ms == 0)
        return PROKIT_OK;

    //  Wait for it to join, or to end first, dispatching as we go.
    self->awaiting = name;
    self->awaited_exited = false;
    int64_t deadline = clock_mono_ms () + spec->join_timeout_ms;
    rc = PROKIT_ETIMEDOUT;
    while (true) {
        client_dispatch (self->client);
        if (s_is_joined (self, name)) {
            rc = PROKIT_OK;
            break;
        }
        if (self->awaited_exited) {
            rc = PROKIT_EEXITED;
            result->wait_status = self->awaited_status;
            child_describe (self->awaited_status, result->reason, sizeof (result->reason));
            break;
        }
        int64_t left = deadline - clock_mono_ms ();
        if (left <= 0)
            break;
        struct epoll_event event;
        epoll_wait (client_fd (self->client), &event, 1, (int) left);
    }
    self->awaiting = NULL;
    if (rc == PROKIT_ETIMEDOUT)
        snprintf (result->reason, sizeof (result->reason), "did not join within %d ms",
                  spec->join_timeout_ms);
    return rc;
}

int
prokit_main_create_window (prokit_main_t *self, const char *name, const prokit_window_spec_t *spec,
                           prokit_spawned_t *result, size_t result_size)
{
    prokit_window_spec_t own;
    prokit_spawned_t learnt;
    memset (&learnt, 0, sizeof (learnt));
    int rc = PROKIT_EINVAL;
    if (!spec || (result && result_size == 0))
        snprintf (learnt.reason, sizeof (learnt.reason), "invalid name or spec");
    else if (sized_take (&own, sizeof (own), spec, "prokit_window_spec_t") != PROKIT_OK)
        snprintf (learnt.reason, sizeof (learnt.reason), "the spec was not initialised");
    else
        rc = s_create_window (self, name, &own, &learnt);
    if (result)
        sized_give (result, result_size, &learnt, sizeof (learnt));
    return rc;
}

int
prokit_main_destroy_window (prokit_main_t *self, const char *name, int grace_ms)
{
    if (!self || !name || grace_ms < 0)
        return PROKIT_EINVAL;
    entry_t *entry = (entry_t *) zhashx_lookup (self->windows, name);
    if (!entry)
        return PROKIT_ENOTFOUND;
    if (grace_ms == 0)
        grace_ms = DEFAULT_GRACE_MS;
    if (entry->info.joined) {
        //  The router forwards the close and drops the window at once; its
        //  LEFT ("closed by main") follows.
        client_control (self->client, PROTO_CLOSE, name);
        self->joined--;
        entry->info.joined = false;
    }
    zhashx_delete (self->windows, name);
    if (entry->child) {
        entry->closing = true;
        entry->restart_at = 0;
        int64_t now = clock_mono_ms ();
        entry->term_at = now + grace_ms;
        entry->kill_at = now + 2 * (int64_t) grace_ms;
        zlistx_add_end (self->dying, entry);
        s_arm_timer (self);
    }
    else
        s_entry_free (&entry);
    return PROKIT_OK;
}

int
prokit_main_clear_windows (prokit_main_t *self, int grace_ms)
{
    if (!self || grace_ms < 0)
        return PROKIT_EINVAL;
    zlistx_t *names = zlistx_new ();
    zlistx_set_destructor (names, (zlistx_destructor_fn *) zstr_free);
    zlistx_set_duplicator (names, (zlistx_duplicator_fn *) strdup);
    for (entry_t *entry = (entry_t *) zhashx_first (self->windows); entry;
         entry = (entry_t *) zhashx_next (self->windows))
        zlistx_add_end (names, entry->info.name);
    for (const char *name = (const char *) zlistx_first (names); name;
         name = (const char *) zlistx_next (names))
        prokit_main_destroy_window (self, name, grace_ms);
    zlistx_destroy (&names);
    return PROKIT_OK;
}

static int
s_set_shown (prokit_main_t *self, const char *name, bool shown)
{
    if (!self || !name || !proto_window_name_valid (name, strlen (name)))
        return PROKIT_EINVAL;
    entry_t *entry = (entry_t *) zhashx_lookup (self->windows, name);
    if (!entry || !entry->info.joined)
        return PROKIT_ENOTFOUND;
    int rc = client_control (self->client, shown ? PROTO_SHOW : PROTO_HIDE, name);
    if (rc == PROKIT_OK) {
        entry->info.shown = shown;
        entry->show = shown; //  a restart keeps the state
    }
    return rc;
}

int
prokit_main_show_window (prokit_main_t *self, const char *name)
{
    return s_set_shown (self, name, true);
}

int
prokit_main_hide_window (prokit_main_t *self, const char *name)
{
    return s_set_shown (self, name, false);
}

//  Fill the application's INFO, of INFO_SIZE bytes, from ENTRY.
static void
s_fill_info (prokit_main_t *self, const entry_t *entry, void *info, size_t info_size)
{
    prokit_window_info_t own = entry->info;
    long long seen = 0;
    if (entry->info.joined && self->router &&
        router_last_seen (self->router, entry->info.name, &seen) == PROKIT_OK && seen > 0)
        own.last_seen_ms = seen;
    sized_give (info, info_size, &own, sizeof (own));
}

int
prokit_main_get_window (prokit_main_t *self, const char *name, prokit_window_info_t *info,
                        size_t info_size)
{
    if (!self || !name || !info || info_size == 0)
        return PROKIT_EINVAL;
    entry_t *entry = (entry_t *) zhashx_lookup (self->windows, name);
    if (!entry)
        return PROKIT_ENOTFOUND;
    s_fill_info (self, entry, info, info_size);
    return PROKIT_OK;
}

int
prokit_main_get_all_windows (prokit_main_t *self, prokit_window_info_t *infos, size_t capacity,
                             size_t info_size, size_t *count)
{
    if (!self || !count || (capacity > 0 && (!infos || info_size == 0)))
        return PROKIT_EINVAL;
    *count = 0;
    for (entry_t *entry = (entry_t *) zhashx_first (self->windows); entry;
         entry = (entry_t *) zhashx_next (self->windows), (*count)++)
        if (*count < capacity)
            s_fill_info (self, entry, (char *) infos + *count * info_size, info_size);
    return PROKIT_OK;
}

bool
prokit_main_has_window (const prokit_main_t *self, const char *name)
{
    return self && name && s_is_joined (self, name);
}

size_t
prokit_main_window_count (const prokit_main_t *self)
{
    return self ? self->joined : 0;
}

//  --- the loop --------------------------------------------------------------------------

int
prokit_main_fd (const prokit_main_t *self)
{
    return self ? client_fd (self->client) : -1;
}

int
prokit_main_dispatch (prokit_main_t *self)
{
    return self ? client_dispatch (self->client) : PROKIT_EINVAL;
}

int
prokit_main_run (prokit_main_t *self, int timeout_ms)
{
    return self ? client_run (self->client, timeout_ms) : PROKIT_EINVAL;
}

void
prokit_main_stop (prokit_main_t *self)
{
    if (self)
        client_stop (self->client);
}

int
prokit_main_stats (prokit_main_t *self, prokit_stats_t *stats, size_t stats_size)
{
    if (!self || !stats || stats_size == 0)
        return PROKIT_EINVAL;
    prokit_stats_t own;
    int rc = self->router ? router_public_stats (self->router, &own)
                          : client_router_stats (self->client, MAIN_QUERY_TIMEOUT_MS, &own);
    if (rc == PROKIT_OK)
        sized_give (stats, stats_size, &own, sizeof (own));
    return rc;
}
