/*  supervisor.c: the window processes main starts, kept. */
#include "supervisor.h"

#include <czmq.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "clock.h"
#include "log.h"
#include "poller.h"
#include "prokit/error.h"
#include "prokit/message.h"

#define DEFAULT_RESTART_MAX 5
#define DEFAULT_RESTART_BACKOFF_MS 500
#define RESTART_BACKOFF_MAX_MS 30000
//  A process that ran this long before failing starts a fresh restart count.
#define RESTART_STREAK_RESET_MS 10000
//  How long supervisor_destroy() lets its children end before SIGKILL.
#define SHUTDOWN_GRACE_MS 1000
//  A child watched through a pipe instead of a pidfd (child.h) is also
//  reaped by polling, on a tick shared by all of them, so that its end is
//  learnt within this time even when a process it started holds the pipe;
//  and this is the longest wait between polls once its pipe is spent.
#define PIPE_POLL_MS 1000
//  supervisor_destroy() waits for such children in slices this long.
#define SHUTDOWN_POLL_MS 10

//  One window process: what to run (owned copies), how it runs now, and
//  what happens when it ends.
typedef struct record {
    char name[PROKIT_NAME_MAX + 1];
    child_t *child; //  the running process, else NULL (a restart is due)
    int pid;
    int64_t started_at;
    char *path, *cwd;
    char **argv, **env;
    bool show;
    prokit_restart_t restart;
    int restart_max;
    int restart_backoff_ms;
    int streak;         //  restarts in a row
    int64_t restart_at; //  monotonic ms, 0: none scheduled
    bool held;          //  not to be restarted for now
    //  Closed by main: the escalation's deadlines, 0: done.
    int64_t term_at, kill_at;
    //  A child watched through a pipe: when to try child_reap() next, 0:
    //  not polled; and, once the pipe is spent, the wait before that try
    //  (doubling up to PIPE_POLL_MS), 0 while the pipe still watches.
    int64_t reap_at;
    int reap_delay_ms;
} record_t;

struct supervisor {
    char *endpoint;
    const supervisor_events_t *events;
    void *owner;
    zhashx_t *records; //  name -> record_t: supervised (freed by hand: close moves them)
    zlistx_t *closing; //  record_t closed by main, process not reaped yet
    int epoll_fd;      //  the children's pidfds (or pipes) and the timer
    int timer_fd;
    size_t children;  //  processes started and not reaped yet
    bool timer_armed; //  a restart, escalation or poll deadline is pending
};

//  --- records -----------------------------------------------------------------

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
        if (!(copy[i] = strdup (strv[i]))) {
            s_strv_free (copy);
            return NULL;
        }
    return copy;
}

static void
s_record_free (record_t **record_p)
{
    record_t *record = *record_p;
    if (!record)
        return;
    child_destroy (&record->child); //  kills and reaps a process still running
    free (record->path);
    free (record->cwd);
    s_strv_free (record->argv);
    s_strv_free (record->env);
    free (record);
    *record_p = NULL;
}

static void
s_record_destructor (void **item)
{
    s_record_free ((record_t **) item);
}

//  A record of NAME with SPEC's settings; NULL when memory runs out.
static record_t *
s_record_new (const char *name, const prokit_window_spec_t *spec)
{
    record_t *record = (record_t *) calloc (1, sizeof (*record));
    if (!record)
        return NULL;
    snprintf (record->name, sizeof (record->name), "%s", name);
    record->path = strdup (spec->path);
    record->cwd = spec->cwd ? strdup (spec->cwd) : NULL;
    record->argv = spec->argv ? s_strv_dup (spec->argv) : NULL;
    record->env = spec->env ? s_strv_dup (spec->env) : NULL;
    record->show = spec->show;
    record->restart = spec->restart;
    record->restart_max = spec->restart_max ? spec->restart_max : DEFAULT_RESTART_MAX;
    record->restart_backoff_ms =
        spec->restart_backoff_ms ? spec->restart_backoff_ms : DEFAULT_RESTART_BACKOFF_MS;
    if (!record->path || (spec->cwd && !record->cwd) || (spec->argv && !record->argv) ||
        (spec->env && !record->env))
        s_record_free (&record);
    return record;
}

//  --- deadlines -------------------------------------------------------------

static void
s_consider (int64_t at, int64_t *first)
{
    if (at > 0 && (*first == 0 || at < *first))
        *first = at;
}

//  Arm the timer at the nearest restart, escalation or reaping deadline.
static void
s_arm_timer (supervisor_t *self)
{
    int64_t first = 0;
    for (record_t *record = (record_t *) zhashx_first (self->records); record;
         record = (record_t *) zhashx_next (self->records)) {
        s_consider (record->restart_at, &first);
        s_consider (record->reap_at, &first);
    }
    for (record_t *record = (record_t *) zlistx_first (self->closing); record;
         record = (record_t *) zlistx_next (self->closing)) {
        s_consider (record->term_at, &first);
        s_consider (record->kill_at, &first);
        s_consider (record->reap_at, &first);
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

//  The next tick of the polls of children watched through pipes: one
//  wake-up a second serves them all.
static int64_t
s_next_poll_tick (void)
{
    return (clock_mono_ms () / PIPE_POLL_MS + 1) * PIPE_POLL_MS;
}

//  Start RECORD's process, with what it needs to join with no
//  configuration of its own. Returns PROKIT_OK or PROKIT_ESPAWN (REASON
//  says why).
static int
s_start (supervisor_t *self, record_t *record, char *reason, size_t reason_size)
{
    size_t extra = 0;
    while (record->env && record->env[extra])
        extra++;
    char **env = (char **) calloc (extra + 4, sizeof (char *));
    if (!env) {
        snprintf (reason, reason_size, "out of memory");
        return PROKIT_ESPAWN;
    }
    char endpoint[600], name[PROKIT_NAME_MAX + 32];
    snprintf (endpoint, sizeof (endpoint), "PROKIT_ENDPOINT=%s", self->endpoint);
    snprintf (name, sizeof (name), "PROKIT_WINDOW_NAME=%s", record->name);
    size_t n = 0;
    for (size_t i = 0; i < extra; i++)
        env[n++] = record->env[i];
    env[n++] = endpoint;
    env[n++] = name;
    env[n++] = (char *) (record->show ? "PROKIT_WINDOW_SHOW=1" : "PROKIT_WINDOW_SHOW=0");
    int error = 0;
    record->child = child_start (record->path, record->argv, env, record->cwd, &error);
    free (env);
    if (!record->child) {
        snprintf (reason, reason_size, "cannot start %s: %s", record->path, strerror (error));
        return PROKIT_ESPAWN;
    }
    if (poller_add (self->epoll_fd, child_fd (record->child), EPOLLIN,
                    (epoll_data_t){ .ptr = record }) != 0) {
        snprintf (reason, reason_size, "cannot watch %s: %s", record->path, strerror (errno));
        child_destroy (&record->child);
        return PROKIT_ESPAWN;
    }
    record->started_at = clock_mono_ms ();
    record->pid = (int) child_pid (record->child);
    record->reap_delay_ms = 0;
    record->reap_at = child_polled (record->child) ? s_next_poll_tick () : 0;
    self->children++;
    log_info ("main: started window '%s' (pid %d)", record->name, record->pid);
    return PROKIT_OK;
}

static bool
s_is_failure (int status)
{
    return !(status != -1 && WIFEXITED (status) && WEXITSTATUS (status) == 0);
}

//  RECORD's process has ended with STATUS: restart it or let it go, and
//  say so.
static void
s_ended (supervisor_t *self, record_t *record, int status)
{
    char reason[96];
    child_describe (status, reason, sizeof (reason));
    int pid = record->pid;
    epoll_ctl (self->epoll_fd, EPOLL_CTL_DEL, child_fd (record->child), NULL);
    child_destroy (&record->child);
    record->reap_at = 0;
    self->children--;
    log_info ("main: window '%s' (pid %d) %s", record->name, pid, reason);
    char name[PROKIT_NAME_MAX + 1];
    strcpy (name, record->name);

    bool closed = zhashx_lookup (self->records, record->name) != record;
    bool restart = false;
    if (closed)
        zlistx_delete (self->closing, zlistx_find (self->closing, record));
    else {
        if (clock_mono_ms () - record->started_at >= RESTART_STREAK_RESET_MS)
            record->streak = 0;
        restart = !record->held && record->restart == PROKIT_RESTART_ON_FAILURE &&
                  s_is_failure (status) && record->streak < record->restart_max;
        if (restart) {
            int64_t delay = (int64_t) record->restart_backoff_ms << record->streak;
            if (delay > RESTART_BACKOFF_MAX_MS)
                delay = RESTART_BACKOFF_MAX_MS;
            record->restart_at = clock_mono_ms () + delay;
            record->streak++;
        }
        else {
            zhashx_delete (self->records, name);
            s_record_free (&record);
        }
    }
    s_arm_timer (self);
    self->events->on_ended (self->owner, name, pid, status, reason, closed, restart);
}

//  RECORD's pipe is spent and its child not reaped yet: it is ending (its
//  files close before it can be reaped), or it closed the pipe and runs
//  on. Stop polling the pipe, which would poll readable in a loop, and
//  try child_reap() soon, then less and less often.
static void
s_unwatch (supervisor_t *self, record_t *record)
{
    epoll_ctl (self->epoll_fd, EPOLL_CTL_DEL, child_fd (record->child), NULL);
    record->reap_delay_ms = 1;
    record->reap_at = clock_mono_ms () + record->reap_delay_ms;
    s_arm_timer (self);
}

static void
s_add_if_reap_due (zlistx_t *due, record_t *record, int64_t now)
{
    if (record->child && record->reap_at && record->reap_at <= now)
        zlistx_add_end (due, record);
}

//  Reap the children watched through pipes whose poll is due.
static void
s_poll_children (supervisor_t *self, int64_t now)
{
    zlistx_t *due = zlistx_new ();
    if (!due)
        return;
    for (record_t *record = (record_t *) zhashx_first (self->records); record;
         record = (record_t *) zhashx_next (self->records))
        s_add_if_reap_due (due, record, now);
    for (record_t *record = (record_t *) zlistx_first (self->closing); record;
         record = (record_t *) zlistx_next (self->closing))
        s_add_if_reap_due (due, record, now);
    //  s_ended() frees or moves only the record it is given.
    for (record_t *record = (record_t *) zlistx_first (due); record;
         record = (record_t *) zlistx_next (due)) {
        int status;
        if (!record->child)
            continue;
        if (child_reap (record->child, &status))
            s_ended (self, record, status);
        else if (record->reap_delay_ms == 0)
            record->reap_at = s_next_poll_tick ();
        else {
            record->reap_delay_ms =
                record->reap_delay_ms * 2 < PIPE_POLL_MS ? record->reap_delay_ms * 2 : PIPE_POLL_MS;
            record->reap_at = clock_mono_ms () + record->reap_delay_ms;
        }
    }
    zlistx_destroy (&due);
}

//  Escalate what does not close, reap what is polled, start again what is
//  due.
static void
s_check_deadlines (supervisor_t *self)
{
    int64_t now = clock_mono_ms ();
    for (record_t *record = (record_t *) zlistx_first (self->closing); record;
         record = (record_t *) zlistx_next (self->closing)) {
        if (record->term_at && record->term_at <= now) {
            log_info ("main: window '%s' did not close: SIGTERM", record->name);
            child_signal (record->child, SIGTERM);
            record->term_at = 0;
        }
        if (record->kill_at && record->kill_at <= now) {
            log_info ("main: window '%s' did not end: SIGKILL", record->name);
            child_signal (record->child, SIGKILL);
            record->kill_at = 0;
        }
    }
    s_poll_children (self, now);
    zlistx_t *due = zlistx_new ();
    for (record_t *record = (record_t *) zhashx_first (self->records); record;
         record = (record_t *) zhashx_next (self->records))
        if (record->restart_at && record->restart_at <= now)
            zlistx_add_end (due, record);
    for (record_t *record = (record_t *) zlistx_first (due); record;
         record = (record_t *) zlistx_next (due)) {
        record->restart_at = 0;
        char reason[160];
        char name[PROKIT_NAME_MAX + 1];
        strcpy (name, record->name);
        int pid = 0;
        if (s_start (self, record, reason, sizeof (reason)) == PROKIT_OK)
            pid = record->pid;
        else {
            log_error ("main: restarting window '%s' failed: %s", name, reason);
            zhashx_delete (self->records, name);
            s_record_free (&record);
        }
        self->events->on_restarted (self->owner, name, pid);
    }
    zlistx_destroy (&due);
    s_arm_timer (self);
}

//  --- the interface ------------------------------------------------------------

supervisor_t *
supervisor_new (const char *endpoint, const supervisor_events_t *events, void *owner)
{
    supervisor_t *self = (supervisor_t *) calloc (1, sizeof (*self));
    if (!self)
        return NULL;
    self->events = events;
    self->owner = owner;
    self->endpoint = strdup (endpoint);
    self->records = zhashx_new ();
    self->closing = zlistx_new ();
    self->epoll_fd = epoll_create1 (EPOLL_CLOEXEC);
    self->timer_fd = timerfd_create (CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    //  NULL marks the timer; children carry their record.
    if (!self->endpoint || !self->records || !self->closing || self->epoll_fd < 0 ||
        self->timer_fd < 0 ||
        poller_add (self->epoll_fd, self->timer_fd, EPOLLIN, (epoll_data_t){ .ptr = NULL }) != 0) {
        supervisor_destroy (&self);
        return NULL;
    }
    zlistx_set_destructor (self->closing, s_record_destructor);
    return self;
}

//  Let every child end: SIGTERM now, SIGKILL after a bounded wait, and
//  reap them all, so that nothing is left behind.
static void
s_end_children (supervisor_t *self)
{
    zlistx_t *children = zlistx_new ();
    if (!children)
        return; //  the records' destructors still kill and reap
    for (record_t *record = (record_t *) zhashx_first (self->records); record;
         record = (record_t *) zhashx_next (self->records))
        if (record->child)
            zlistx_add_end (children, record);
    for (record_t *record = (record_t *) zlistx_first (self->closing); record;
         record = (record_t *) zlistx_next (self->closing))
        if (record->child)
            zlistx_add_end (children, record);
    bool polled = false; //  a child watched through a pipe is left
    for (record_t *record = (record_t *) zlistx_first (children); record;
         record = (record_t *) zlistx_next (children)) {
        child_signal (record->child, SIGTERM);
        polled = polled || child_polled (record->child);
    }
    int64_t deadline = clock_mono_ms () + SHUTDOWN_GRACE_MS;
    size_t left = zlistx_size (children);
    while (left > 0 && clock_mono_ms () < deadline) {
        struct epoll_event events[16];
        int64_t wait_ms = deadline - clock_mono_ms ();
        if (polled && wait_ms > SHUTDOWN_POLL_MS)
            wait_ms = SHUTDOWN_POLL_MS;
        epoll_wait (self->epoll_fd, events, 16, (int) wait_ms);
        left = 0;
        polled = false;
        for (record_t *record = (record_t *) zlistx_first (children); record;
             record = (record_t *) zlistx_next (children))
            if (!child_reap (record->child, NULL)) {
                left++;
                //  A spent pipe stays readable: polled from now on.
                if (child_fd_spent (record->child))
                    epoll_ctl (self->epoll_fd, EPOLL_CTL_DEL, child_fd (record->child), NULL);
                polled = polled || child_polled (record->child);
            }
    }
    zlistx_destroy (&children);
}

void
supervisor_destroy (supervisor_t **self_p)
{
    if (self_p && *self_p) {
        supervisor_t *self = *self_p;
        if (self->records && self->closing)
            s_end_children (self);
        //  Freeing a record kills and reaps a process still running.
        for (record_t *record = self->records ? (record_t *) zhashx_first (self->records) : NULL;
             record; record = (record_t *) zhashx_next (self->records))
            s_record_free (&record);
        zhashx_destroy (&self->records);
        zlistx_destroy (&self->closing);
        if (self->epoll_fd >= 0)
            close (self->epoll_fd);
        if (self->timer_fd >= 0)
            close (self->timer_fd);
        free (self->endpoint);
        free (self);
        *self_p = NULL;
    }
}

int
supervisor_fd (const supervisor_t *self)
{
    return self->epoll_fd;
}

void
supervisor_process (supervisor_t *self)
{
    //  Nothing to watch: spare the system call.
    if (self->children == 0 && !self->timer_armed)
        return;
    struct epoll_event events[16];
    int ready = epoll_wait (self->epoll_fd, events, 16, 0);
    bool timer = false;
    for (int i = 0; i < ready; i++) {
        //  The timer last: the deadlines it checks may reap and free a
        //  record whose own event is further on in EVENTS.
        if (events[i].data.ptr == NULL) {
            timer = true;
            continue;
        }
        record_t *record = (record_t *) events[i].data.ptr;
        int status;
        if (!record->child)
            continue;
        if (child_reap (record->child, &status))
            s_ended (self, record, status);
        else if (child_fd_spent (record->child))
            s_unwatch (self, record);
    }
    if (timer) {
        uint64_t expirations;
        if (read (self->timer_fd, &expirations, sizeof (expirations)) < 0)
            log_debug ("main: timer read: %s", strerror (errno));
        s_check_deadlines (self);
    }
}

int
supervisor_start (supervisor_t *self, const char *name, const prokit_window_spec_t *spec, int *pid,
                  char *reason, size_t reason_size)
{
    if (zhashx_lookup (self->records, name)) {
        snprintf (reason, reason_size, "window '%s' is already running", name);
        return PROKIT_EEXIST;
    }
    record_t *record = s_record_new (name, spec);
    if (!record) {
        snprintf (reason, reason_size, "out of memory");
        return PROKIT_ENOMEM;
    }
    int rc = s_start (self, record, reason, reason_size);
    if (rc != PROKIT_OK) {
        s_record_free (&record);
        return rc;
    }
    zhashx_insert (self->records, name, record);
    if (record->reap_at)
        s_arm_timer (self); //  its first poll (a restart arms the timer anyway)
    *pid = record->pid;
    return PROKIT_OK;
}

bool
supervisor_has (const supervisor_t *self, const char *name)
{
    return zhashx_lookup (self->records, name) != NULL;
}

void
supervisor_hold (supervisor_t *self, const char *name, bool hold)
{
    record_t *record = (record_t *) zhashx_lookup (self->records, name);
    if (record)
        record->held = hold;
}

void
supervisor_set_shown (supervisor_t *self, const char *name, bool shown)
{
    record_t *record = (record_t *) zhashx_lookup (self->records, name);
    if (record)
        record->show = shown;
}

void
supervisor_close (supervisor_t *self, const char *name, int grace_ms)
{
    record_t *record = (record_t *) zhashx_lookup (self->records, name);
    if (!record)
        return;
    zhashx_delete (self->records, name);
    if (!record->child) {
        s_record_free (&record); //  a restart was due: nothing runs
        return;
    }
    record->restart_at = 0;
    int64_t now = clock_mono_ms ();
    record->term_at = now + grace_ms;
    record->kill_at = now + 2 * (int64_t) grace_ms;
    zlistx_add_end (self->closing, record);
    s_arm_timer (self);
}
