/*  child.c: child processes for windows main starts. Reaping is by pid
    through waitpid on the child's own pid only, never waitpid(-1): the
    application's other children are none of our business. */
#define _GNU_SOURCE
#include "child.h"

#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

struct child {
    pid_t pid;
    int fd;
    bool reaped;
    int status;
};

//  The parent's environment with ENV's entries replacing same-named ones.
static char **
s_merge_env (char *const env[])
{
    size_t inherited = 0, added = 0;
    while (environ && environ[inherited])
        inherited++;
    while (env && env[added])
        added++;
    char **merged = (char **) calloc (inherited + added + 1, sizeof (char *));
    if (!merged)
        return NULL;
    size_t n = 0;
    for (size_t i = 0; i < inherited; i++) {
        const char *equals = strchr (environ[i], '=');
        size_t key_len = equals ? (size_t) (equals - environ[i]) : strlen (environ[i]);
        bool replaced = false;
        for (size_t j = 0; j < added && !replaced; j++)
            replaced = strncmp (env[j], environ[i], key_len) == 0 && env[j][key_len] == '=';
        if (!replaced)
            merged[n++] = environ[i];
    }
    for (size_t j = 0; j < added; j++)
        merged[n++] = env[j];
    return merged;
}

child_t *
child_start (const char *path, char *const argv[], char *const env[], const char *cwd, int *error)
{
    child_t *self = (child_t *) calloc (1, sizeof (*self));
    char **merged = s_merge_env (env);
    if (!self || !merged) {
        free (self);
        free (merged);
        *error = ENOMEM;
        return NULL;
    }
    char *default_argv[] = { (char *) path, NULL };
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init (&actions);
    if (cwd)
        posix_spawn_file_actions_addchdir_np (&actions, cwd);
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
    int rc = posix_spawn (&self->pid, path, &actions, &attr, argv ? argv : default_argv, merged);
    posix_spawnattr_destroy (&attr);
    posix_spawn_file_actions_destroy (&actions);
    free (merged);
    if (rc != 0) {
        free (self);
        *error = rc;
        return NULL;
    }
    self->fd = (int) syscall (SYS_pidfd_open, self->pid, 0);
    if (self->fd < 0) {
        *error = errno;
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

void
child_destroy (child_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    child_t *self = *self_p;
    if (!self->reaped) {
        kill (self->pid, SIGKILL);
        waitpid (self->pid, NULL, 0);
    }
    close (self->fd);
    free (self);
    *self_p = NULL;
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
