/*  proc.c: the fault suite's plumbing: children started with posix_spawn
    and watched through pidfds, their output read line by line, waits on
    descriptors with deadlines, requests counted outcome by outcome, and
    the library's diagnostics counted. */
#include "faults.h"

#include <dirent.h>
#include <limits.h>
#include <pthread.h>
#include <sys/pidfd.h>

//  --- failures and diagnostics ----------------------------------------------------

static int s_failures;

void
fx_fail (const char *format, ...)
{
    va_list args;
    va_start (args, format);
    printf ("  FAIL: ");
    vprintf (format, args);
    printf ("\n");
    fflush (stdout);
    va_end (args);
    s_failures++;
}

int
fx_failures (void)
{
    return s_failures;
}

void
fx_failures_reset (void)
{
    s_failures = 0;
}

static pthread_mutex_t s_log_lock = PTHREAD_MUTEX_INITIALIZER;
static int s_log_warnings;
static bool s_log_verbose;

//  Errors are always said; warnings are counted (a fault brings its share:
//  connections lost, strangers refused), and said with --verbose. The hook
//  may be called from the library's threads: under a lock.
static void
s_log (prokit_log_level_t level, const char *line, void *arg)
{
    const char *who = (const char *) arg;
    if (level > PROKIT_LOG_WARN)
        return;
    pthread_mutex_lock (&s_log_lock);
    if (level == PROKIT_LOG_WARN)
        s_log_warnings++;
    if (s_log_verbose || level == PROKIT_LOG_ERROR)
        fprintf (stderr, "  [%s%sprokit %s] %s\n", who ? who : "", who ? ": " : "",
                 prokit_log_level_name (level), line);
    pthread_mutex_unlock (&s_log_lock);
}

void
fx_log_install (bool verbose, const char *who)
{
    s_log_verbose = verbose;
    prokit_set_log (s_log, (void *) who);
}

int
fx_log_warnings (void)
{
    pthread_mutex_lock (&s_log_lock);
    int count = s_log_warnings;
    pthread_mutex_unlock (&s_log_lock);
    return count;
}

void
fx_log_reset (void)
{
    pthread_mutex_lock (&s_log_lock);
    s_log_warnings = 0;
    pthread_mutex_unlock (&s_log_lock);
}

//  --- endpoints -------------------------------------------------------------------------

void
fx_endpoint (char *out, size_t size)
{
    static int counter;
    snprintf (out, size, "ipc:///tmp/prokit-faults-%d-%d.sock", (int) getpid (), ++counter);
}

void
fx_endpoint_remove (const char *endpoint)
{
    tu_endpoint_remove (endpoint);
}

//  --- children -----------------------------------------------------------------------------

const char *
fx_self (void)
{
    static char path[PATH_MAX];
    if (!path[0]) {
        ssize_t n = readlink ("/proc/self/exe", path, sizeof (path) - 1);
        if (n <= 0)
            return NULL;
        path[n] = 0;
    }
    return path;
}

bool
fx_spawn_role (fx_child_t *child, const char *role, const char *const *args, int barrier)
{
    memset (child, 0, sizeof (*child));
    child->pidfd = child->in = child->out = -1;
    char *argv[32] = { (char *) fx_self (), (char *) "--role", (char *) role };
    size_t argc = 3;
    for (size_t i = 0; args && args[i] && argc < 31; i++)
        argv[argc++] = (char *) args[i];
    argv[argc] = NULL;
    int in[2], out[2];
    if (pipe2 (in, O_CLOEXEC) != 0)
        return false;
    if (pipe2 (out, O_CLOEXEC) != 0) {
        close (in[0]);
        close (in[1]);
        return false;
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init (&actions);
    posix_spawn_file_actions_adddup2 (&actions, in[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2 (&actions, out[1], STDOUT_FILENO);
    if (barrier >= 0)
        posix_spawn_file_actions_adddup2 (&actions, barrier, 3);
    //  Each child in a process group of its own: a child the suite stops
    //  (SIGSTOP) must not leave the suite's group "orphaned with a stopped
    //  member" when the shell that started the suite exits, or the kernel
    //  sends that whole group SIGHUP and SIGCONT, which kills the child.
    posix_spawnattr_t attr;
    posix_spawnattr_init (&attr);
    posix_spawnattr_setflags (&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup (&attr, 0);
    int rc = posix_spawn (&child->pid, argv[0], &actions, &attr, argv, environ);
    posix_spawnattr_destroy (&attr);
    posix_spawn_file_actions_destroy (&actions);
    close (in[0]);
    close (out[1]);
    if (rc != 0) {
        fprintf (stderr, "posix_spawn %s --role %s: %s\n", argv[0], role, strerror (rc));
        close (in[1]);
        close (out[0]);
        child->pid = 0;
        return false;
    }
    child->in = in[1];
    child->out = out[0];
    child->pidfd = pidfd_open (child->pid, 0);
    if (child->pidfd < 0) {
        fprintf (stderr, "pidfd_open: %s\n", strerror (errno));
        kill (child->pid, SIGKILL);
        waitpid (child->pid, NULL, 0);
        close (child->in);
        close (child->out);
        child->in = child->out = -1;
        child->pid = 0;
        return false;
    }
    return true;
}

//  Read what the child has written, without waiting.
static void
s_fill (fx_child_t *child)
{
    while (!child->eof && child->out >= 0 && child->used < sizeof (child->buffer)) {
        struct pollfd item = { child->out, POLLIN, 0 };
        if (poll (&item, 1, 0) <= 0)
            return;
        ssize_t n =
            read (child->out, child->buffer + child->used, sizeof (child->buffer) - child->used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            child->eof = true;
            return;
        }
        child->used += (size_t) n;
    }
}

bool
fx_try_line (fx_child_t *child, char *line, size_t size)
{
    char *newline = (char *) memchr (child->buffer, '\n', child->used);
    if (!newline) {
        s_fill (child);
        newline = (char *) memchr (child->buffer, '\n', child->used);
    }
    if (!newline)
        return false;
    size_t len = (size_t) (newline - child->buffer);
    size_t copy = len < size - 1 ? len : size - 1;
    memcpy (line, child->buffer, copy);
    line[copy] = 0;
    memmove (child->buffer, newline + 1, child->used - len - 1);
    child->used -= len + 1;
    return true;
}

typedef struct line_wait {
    fx_child_t *child;
    char *line;
    size_t size;
    bool got;
} line_wait_t;

static bool
s_line_came (void *arg)
{
    line_wait_t *wait = (line_wait_t *) arg;
    wait->got = fx_try_line (wait->child, wait->line, wait->size);
    return wait->got || wait->child->eof;
}

bool
fx_read_line (fx_child_t *child, char *line, size_t size, int timeout_ms, tu_handle_t *handles,
              size_t count)
{
    line_wait_t wait = { child, line, size, false };
    line[0] = 0;
    fx_pump (handles, count, &child->out, 1, s_line_came, &wait, timeout_ms);
    return wait.got;
}

bool
fx_send_line (fx_child_t *child, const char *line)
{
    if (child->in < 0)
        return false;
    char buffer[256];
    int n = snprintf (buffer, sizeof (buffer), "%s\n", line);
    return write (child->in, buffer, (size_t) n) == n;
}

void
fx_close_input (fx_child_t *child)
{
    if (child->in >= 0)
        close (child->in);
    child->in = -1;
}

static void
s_release (fx_child_t *child)
{
    fx_close_input (child);
    if (child->out >= 0)
        close (child->out);
    child->out = -1;
    if (child->pidfd >= 0)
        close (child->pidfd);
    child->pidfd = -1;
}

bool
fx_reap (fx_child_t *child, int timeout_ms)
{
    if (child->pidfd < 0)
        return true;
    int64_t deadline = fx_now_ms () + timeout_ms;
    bool ended = false;
    while (true) {
        int64_t left = deadline - fx_now_ms ();
        struct pollfd item = { child->pidfd, POLLIN, 0 };
        int rc = poll (&item, 1, left > 0 ? (int) left : 0);
        if (rc > 0) {
            ended = true;
            break;
        }
        if (rc < 0 && errno == EINTR)
            continue;
        if (left <= 0)
            break;
    }
    if (!ended) {
        kill (child->pid, SIGKILL);
        kill (child->pid, SIGCONT);
    }
    while (waitpid (child->pid, &child->status, 0) < 0 && errno == EINTR)
        ;
    s_release (child);
    return ended;
}

bool
fx_ended (fx_child_t *child, int *status)
{
    if (child->pidfd < 0) {
        *status = child->status;
        return true;
    }
    siginfo_t info;
    memset (&info, 0, sizeof (info));
    if (waitid (P_PID, (id_t) child->pid, &info, WEXITED | WNOHANG | WNOWAIT) != 0 ||
        info.si_pid == 0)
        return false;
    *status = info.si_code == CLD_EXITED ? (info.si_status & 0xff) << 8 : info.si_status & 0x7f;
    return true;
}

void
fx_discard (fx_child_t *child)
{
    if (child->pidfd < 0)
        return;
    kill (child->pid, SIGKILL);
    kill (child->pid, SIGCONT);
    fx_reap (child, 5000);
}

int
fx_children (int *zombies)
{
    int count = 0, dead = 0;
    pid_t self = getpid ();
    DIR *proc = opendir ("/proc");
    struct dirent *entry;
    while (proc && (entry = readdir (proc))) {
        if (entry->d_name[0] < '0' || entry->d_name[0] > '9')
            continue;
        char path[300], text[512];
        snprintf (path, sizeof (path), "/proc/%s/stat", entry->d_name);
        FILE *file = fopen (path, "r");
        if (!file)
            continue;
        size_t n = fread (text, 1, sizeof (text) - 1, file);
        fclose (file);
        text[n] = 0;
        //  "pid (comm) S ppid ...": comm may hold anything, so after its last ')'.
        char *close_paren = strrchr (text, ')');
        char state = 0;
        int parent = 0;
        if (close_paren && sscanf (close_paren + 1, " %c %d", &state, &parent) == 2 &&
            parent == (int) self) {
            count++;
            dead += state == 'Z';
        }
    }
    if (proc)
        closedir (proc);
    if (zombies)
        *zombies = dead;
    return count;
}

long
fx_rss_kb (pid_t pid)
{
    char path[64], text[256];
    snprintf (path, sizeof (path), "/proc/%d/status", (int) pid);
    FILE *file = fopen (path, "r");
    if (!file)
        return -1;
    long kb = -1;
    while (fgets (text, sizeof (text), file))
        if (strncmp (text, "VmRSS:", 6) == 0) {
            kb = strtol (text + 6, NULL, 10);
            break;
        }
    fclose (file);
    return kb;
}

//  --- waiting --------------------------------------------------------------------------------

#define POLL_MAX 80

bool
fx_pump (tu_handle_t *handles, size_t count, const int *fds, size_t fd_count, fx_done_fn *done,
         void *arg, int timeout_ms)
{
    int64_t deadline = fx_now_ms () + timeout_ms;
    struct pollfd items[POLL_MAX];
    while (true) {
        for (size_t i = 0; i < count; i++) {
            if (handles[i].main)
                prokit_main_dispatch (handles[i].main);
            if (handles[i].window)
                prokit_window_dispatch (handles[i].window);
        }
        if (done (arg))
            return true;
        int64_t left = deadline - fx_now_ms ();
        if (left <= 0)
            return false;
        size_t n = 0;
        for (size_t i = 0; i < count && n < POLL_MAX; i++) {
            items[n].fd = handles[i].main ? prokit_main_fd (handles[i].main)
                                          : prokit_window_fd (handles[i].window);
            items[n++].events = POLLIN;
        }
        for (size_t i = 0; i < fd_count && n < POLL_MAX; i++)
            if (fds[i] >= 0) {
                items[n].fd = fds[i];
                items[n++].events = POLLIN;
            }
        //  At most 100 ms: DONE may depend on the clock too.
        poll (items, n, (int) (left > 100 ? 100 : left));
    }
}

static bool
s_never (void *arg)
{
    (void) arg;
    return false;
}

void
fx_linger (tu_handle_t *handles, size_t count, int timeout_ms)
{
    fx_pump (handles, count, NULL, 0, s_never, NULL, timeout_ms);
}

//  --- requests, counted -----------------------------------------------------------------------

void
fx_reqs_init (fx_reqs_t *set, const char *prefix, bool check_echo)
{
    memset (set, 0, sizeof (*set));
    snprintf (set->prefix, sizeof (set->prefix), "%s", prefix);
    set->check_echo = check_echo;
}

void
fx_reqs_free (fx_reqs_t *set)
{
    for (size_t i = 0; i < set->chunk_count; i++)
        free (set->chunks[i]);
    free (set->chunks);
    set->chunks = NULL;
    set->chunk_count = 0;
}

//  Request INDEX's record; chunks never move, so callbacks may hold it.
static fx_req_t *
s_slot (fx_reqs_t *set, size_t index)
{
    size_t chunk = index / FX_CHUNK;
    if (chunk >= set->chunk_count) {
        fx_req_t **chunks =
            (fx_req_t **) realloc (set->chunks, (chunk + 1) * sizeof (*set->chunks));
        assert (chunks);
        set->chunks = chunks;
        for (size_t i = set->chunk_count; i <= chunk; i++) {
            set->chunks[i] = (fx_req_t *) calloc (FX_CHUNK, sizeof (fx_req_t));
            assert (set->chunks[i]);
        }
        set->chunk_count = chunk + 1;
    }
    return &set->chunks[chunk][index % FX_CHUNK];
}

static void
s_on_reply (prokit_reply_t *reply, void *arg)
{
    fx_req_t *req = (fx_req_t *) arg;
    fx_reqs_t *set = req->set;
    int status = prokit_reply_status (reply);
    if (set->sealed)
        set->late++;
    if (req->outcomes++ > 0) {
        set->twice++;
        return;
    }
    req->status = (int16_t) status;
    req->at_ms = fx_now_ms ();
    set->last_at = req->at_ms;
    set->done++;
    set->by_status[-status >= 0 && -status < FX_STATUSES ? -status : FX_STATUSES - 1]++;
    if (status == PROKIT_OK && set->check_echo) {
        char expected[64];
        snprintf (expected, sizeof (expected), "%s%u", set->prefix, (unsigned) req->index);
        const char *text = prokit_reply_str (reply);
        if (!text || strcmp (text, expected) != 0)
            set->wrong++;
    }
}

int
fx_request (prokit_window_t *window, const char *target, fx_reqs_t *set, int timeout_ms)
{
    fx_req_t *req = s_slot (set, set->count);
    memset (req, 0, sizeof (*req));
    req->set = set;
    req->index = (uint32_t) set->count;
    snprintf (req->target, sizeof (req->target), "%s", target ? target : PROKIT_MAIN);
    req->sent_ms = fx_now_ms ();
    prokit_payload_t *payload = prokit_payload_new_printf ("%s%zu", set->prefix, set->count);
    int rc = prokit_window_request (window, target, &payload, timeout_ms, s_on_reply, req);
    if (rc == PROKIT_OK)
        set->count++;
    else {
        set->refused++;
        prokit_payload_destroy (&payload);
    }
    return rc;
}

size_t
fx_reqs_mark (fx_reqs_t *set)
{
    size_t marked = 0;
    for (size_t i = 0; i < set->count; i++) {
        fx_req_t *req = fx_reqs_at (set, i);
        if (req->outcomes == 0 && !req->marked) {
            req->marked = true;
            marked++;
        }
    }
    return marked;
}

long
fx_reqs_other (const fx_reqs_t *set, const int *allowed)
{
    long other = 0;
    for (int i = 0; i < FX_STATUSES; i++) {
        bool fine = false;
        for (const int *a = allowed; *a != 1; a++)
            fine |= -*a == i;
        if (!fine)
            other += set->by_status[i];
    }
    return other;
}

bool
fx_reqs_check (const fx_reqs_t *set, const char *what)
{
    bool held = true;
    if (fx_reqs_pending (set) > 0) {
        fx_fail ("%s: %zu of %zu requests have no outcome", what, fx_reqs_pending (set),
                 set->count);
        size_t shown = 0;
        for (size_t i = 0; i < set->count && shown < 5; i++) {
            fx_req_t *req = fx_reqs_at (set, i);
            if (req->outcomes == 0) {
                fx_fail ("%s: no outcome for request %s%zu", what, set->prefix, i);
                shown++;
            }
        }
        held = false;
    }
    if (set->twice > 0) {
        fx_fail ("%s: %ld outcomes beyond the first", what, set->twice);
        held = false;
    }
    if (set->wrong > 0) {
        fx_fail ("%s: %ld replies were not the answer asked for", what, set->wrong);
        held = false;
    }
    if (set->late > 0) {
        fx_fail ("%s: %ld outcomes came after the deadline", what, set->late);
        held = false;
    }
    return held;
}

prokit_payload_t *
fx_echo (prokit_request_t *request, void *arg)
{
    (void) arg;
    return prokit_request_take_payload (request);
}
