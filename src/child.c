/*  child.c: child processes for windows main starts. Reaping is by pid
    through waitpid on the child's own pid only, never waitpid(-1): the
    application's other children are none of our business. */
#define _GNU_SOURCE
#include "child.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

//  The variable naming the pipe's write end in a child watched through it.
#define WATCH_VAR "PROKIT_WATCH_FD"

struct child {
    pid_t pid;
    int fd;     //  a pidfd, or the read end of the pipe
    bool piped; //  fd is the pipe: pidfd_open did not work
    bool reaped;
    int status;
};

//  pidfd_open has failed for good in this process: a kernel does not grow
//  system calls (ENOSYS: before 5.3, or under valgrind), and a seccomp
//  filter (EPERM, EACCES) is never lifted. Set once, read by any thread
//  that starts a child.
static atomic_bool s_no_pidfd;

//  Can the child about to start be watched through a pidfd? Asks the
//  kernel about this process first, so that the pipe is chosen before the
//  spawn, while the child can still be given it.
static bool
s_pidfd_usable (void)
{
    const char *forced = getenv ("PROKIT_NO_PIDFD");
    if ((forced && *forced && strcmp (forced, "0") != 0) || atomic_load (&s_no_pidfd))
        return false;
    int fd = (int) syscall (SYS_pidfd_open, getpid (), 0);
    if (fd >= 0) {
        close (fd);
        return true;
    }
    //  Out of descriptors or memory is no verdict on pidfds: ask again next
    //  time (the pipe needs descriptors too, and will most likely fail).
    if (errno != EMFILE && errno != ENFILE && errno != ENOMEM)
        atomic_store (&s_no_pidfd, true);
    return false;
}

static bool
s_named (const char *entry, const char *name)
{
    size_t len = strlen (name);
    return strncmp (entry, name, len) == 0 && entry[len] == '=';
}

//  The parent's environment with ENV's entries replacing same-named ones,
//  then WATCH ("PROKIT_WATCH_FD=N:PPID", or NULL). PROKIT_WATCH_FD is the
//  parent's alone to give: never inherited (this process may itself be a
//  child watched through a pipe), never taken from ENV.
static char **
s_merge_env (char *const env[], char *watch)
{
    size_t inherited = 0, added = 0;
    while (environ && environ[inherited])
        inherited++;
    while (env && env[added])
        added++;
    char **merged = (char **) calloc (inherited + added + 2, sizeof (char *));
    if (!merged)
        return NULL;
    size_t n = 0;
    for (size_t i = 0; i < inherited; i++) {
        const char *equals = strchr (environ[i], '=');
        size_t key_len = equals ? (size_t) (equals - environ[i]) : strlen (environ[i]);
        bool replaced = s_named (environ[i], WATCH_VAR);
        for (size_t j = 0; j < added && !replaced; j++)
            replaced = strncmp (env[j], environ[i], key_len) == 0 && env[j][key_len] == '=';
        if (!replaced)
            merged[n++] = environ[i];
    }
    for (size_t j = 0; j < added; j++)
        if (!s_named (env[j], WATCH_VAR))
            merged[n++] = env[j];
    if (watch)
        merged[n++] = watch;
    return merged;
}

static void
s_close (int *fd)
{
    if (*fd >= 0)
        close (*fd);
    *fd = -1;
}

//  The pipe that stands in for a pidfd: PIPE_FDS[0] is the parent's read
//  end (non-blocking), PIPE_FDS[1] the write end, *COPY_FD a second
//  descriptor for it, free in the parent, that ACTIONS make the child's
//  copy. All are close-on-exec here, so no other program this process
//  starts, from any thread, inherits the write end and keeps the pipe
//  open; dup2 in the child clears the flag on its copy alone. (A dup2 of
//  the write end onto its own number would do the same, but only libcs
//  that follow POSIX 2018 clear the flag when both numbers are one.)
//  Returns 0 or an errno value.
static int
s_pipe_prepare (int pipe_fds[2], int *copy_fd, posix_spawn_file_actions_t *actions)
{
    if (pipe2 (pipe_fds, O_CLOEXEC) != 0)
        return errno;
    if (fcntl (pipe_fds[0], F_SETFL, O_NONBLOCK) != 0 ||
        (*copy_fd = fcntl (pipe_fds[1], F_DUPFD_CLOEXEC, 3)) < 0)
        return errno;
    return posix_spawn_file_actions_adddup2 (actions, pipe_fds[1], *copy_fd);
}

child_t *
child_start (const char *path, char *const argv[], char *const env[], const char *cwd, int *error)
{
    child_t *self = (child_t *) calloc (1, sizeof (*self));
    if (!self) {
        *error = ENOMEM;
        return NULL;
    }
    self->fd = -1;
    self->piped = !s_pidfd_usable ();
    char *default_argv[] = { (char *) path, NULL };
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init (&actions);
    if (cwd)
        posix_spawn_file_actions_addchdir_np (&actions, cwd);
    int pipe_fds[2] = { -1, -1 }, copy_fd = -1;
    char watch[64] = "";
    int rc = 0;
    if (self->piped) {
        rc = s_pipe_prepare (pipe_fds, &copy_fd, &actions);
        snprintf (watch, sizeof (watch), "%s=%d:%d", WATCH_VAR, copy_fd, (int) getpid ());
    }
    char **merged = rc == 0 ? s_merge_env (env, self->piped ? watch : NULL) : NULL;
    if (rc == 0 && !merged)
        rc = ENOMEM;
    posix_spawnattr_t attr;
    posix_spawnattr_init (&attr);
    //  The child starts with default signal dispositions and an empty mask,
    //  whatever the application did with its own.
    sigset_t all, none;
    sigfillset (&all);
    sigemptyset (&none);
    posix_spawnattr_setsigdefault (&attr, &all);
    posix_spawnattr_setsigmask (&attr, &none);
    posix_spawnattr_setflags (&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    if (rc == 0)
        rc = posix_spawn (&self->pid, path, &actions, &attr, argv ? argv : default_argv, merged);
    posix_spawnattr_destroy (&attr);
    posix_spawn_file_actions_destroy (&actions);
    free (merged);
    //  The child has its copy of the write end: the parent keeps none.
    s_close (&pipe_fds[1]);
    s_close (&copy_fd);
    if (rc != 0) {
        s_close (&pipe_fds[0]);
        free (self);
        *error = rc;
        return NULL;
    }
    if (self->piped)
        self->fd = pipe_fds[0];
    else if ((self->fd = (int) syscall (SYS_pidfd_open, self->pid, 0)) < 0) {
        //  It worked a moment ago for this process: out of descriptors, or
        //  a seccomp filter just installed by another thread (the next
        //  child gets the pipe).
        *error = errno;
        if (*error == ENOSYS || *error == EPERM || *error == EACCES)
            atomic_store (&s_no_pidfd, true);
        kill (self->pid, SIGKILL);
        waitpid (self->pid, NULL, 0);
        free (self);
        return NULL;
    }
    *error = 0;
    return self;
}

bool
child_reap (child_t *self, int *status)
{
    if (!self->reaped) {
        pid_t rc = waitpid (self->pid, &self->status, WNOHANG);
        if (rc == 0 || (rc < 0 && errno == EINTR))
            return false;
        if (rc < 0)
            self->status = -1; //  reaped by someone else: status unknown
        self->reaped = true;
    }
    if (status)
        *status = self->status;
    return true;
}

void
child_signal (child_t *self, int sig)
{
    if (self && !self->reaped)
        kill (self->pid, sig);
}

pid_t
child_pid (const child_t *self)
{
    return self->pid;
}

int
child_fd (const child_t *self)
{
    return self->fd;
}

bool
child_polled (const child_t *self)
{
    return self->piped;
}

bool
child_fd_spent (child_t *self)
{
    if (!self->piped)
        return false;
    //  Nobody should write to it, but a child may: drain what it wrote (a
    //  bounded amount: one that writes on and on is not spent).
    char drain[256];
    for (int reads = 0; reads < 64; reads++) {
        ssize_t size = read (self->fd, drain, sizeof (drain));
        if (size > 0 || (size < 0 && errno == EINTR))
            continue;
        return !(size < 0 && errno == EAGAIN); //  end of file, or broken
    }
    return false;
}

void
child_destroy (child_t **self_p)
{
    if (self_p && *self_p) {
        child_t *self = *self_p;
        if (!self->reaped) {
            kill (self->pid, SIGKILL);
            waitpid (self->pid, NULL, 0);
        }
        close (self->fd);
        free (self);
        *self_p = NULL;
    }
}

void
child_watch_close_on_exec (void)
{
    const char *watch = getenv (WATCH_VAR); //  "N:PPID"
    if (!watch)
        return;
    char *end;
    errno = 0;
    long fd = strtol (watch, &end, 10);
    if (errno || end == watch || *end != ':' || fd < 3 || fd > INT_MAX)
        return;
    const char *ppid = end + 1;
    long parent = strtol (ppid, &end, 10);
    //  A variable inherited from further up names another process's pipe.
    struct stat info;
    if (errno || end == ppid || *end || parent != (long) getppid () ||
        fstat ((int) fd, &info) != 0 || !S_ISFIFO (info.st_mode))
        return;
    int flags = fcntl ((int) fd, F_GETFD);
    if (flags >= 0)
        fcntl ((int) fd, F_SETFD, flags | FD_CLOEXEC);
}

void
child_describe (int status, char *out, size_t size)
{
    if (status == -1)
        snprintf (out, size, "ended (status unknown)");
    else if (WIFEXITED (status))
        snprintf (out, size, "exited with status %d", WEXITSTATUS (status));
    else if (WIFSIGNALED (status))
        snprintf (out, size, "killed by signal %d (SIG%s)", WTERMSIG (status),
                  sigabbrev_np (WTERMSIG (status)) ? sigabbrev_np (WTERMSIG (status)) : "?");
    else
        snprintf (out, size, "ended with wait status %d", status);
}
