/*  child.h: starting window processes and learning how they ended (private).

    A child is started with posix_spawn (never fork alone: the parent's
    ZeroMQ context must not cross into it) and watched through a pidfd, a
    descriptor that polls readable when the child exits, so the parent
    reaps it without a SIGCHLD handler (signals belong to the application).
*/
#ifndef PROKIT_CHILD_H_INCLUDED
#define PROKIT_CHILD_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct child child_t;

//  Start PATH with ARGV (NULL-terminated; NULL means just PATH), the
//  parent's environment plus ENV ("NAME=value", NULL-terminated, may be
//  NULL; these win over inherited ones), in directory CWD (NULL: the
//  parent's). Returns NULL and sets *error (an errno value) on failure.
child_t *child_start (const char *path, char *const argv[], char *const env[], const char *cwd,
                      int *error);

//  Forget the child; if it is still running, kill it (SIGKILL) and reap it,
//  so no zombie is left. NULL-safe.
void child_destroy (child_t **self_p);

pid_t child_pid (const child_t *self);

//  Readable when the child has exited (a pidfd).
int child_fd (const child_t *self);

//  Reap the child if it has exited: returns true and stores its wait
//  status, false while it runs. After true, the status stays available.
bool child_reap (child_t *self, int *status);

//  Send SIG to the child unless it has been reaped.
void child_signal (child_t *self, int sig);

//  Describe a wait status: "exited with status 0", "killed by signal 9
//  (SIGKILL)". Writes at most SIZE bytes into OUT.
void child_describe (int status, char *out, size_t size);

#endif
