/*  child.h: starting window processes and learning how they ended (private).

    A child is started with posix_spawn (never fork alone: the parent's
    ZeroMQ context must not cross into it) and watched through a
    descriptor that polls readable when the child exits, so the parent
    reaps it without a SIGCHLD handler (signals belong to the application).

    That descriptor is a pidfd where pidfd_open works. Where it does not
    (ENOSYS: a kernel before 5.3, or valgrind; EPERM or EACCES: a seccomp
    filter; any other error alike), it is the read end of a pipe whose
    write end only the child holds, across exec, as descriptor N, named in
    its environment as PROKIT_WATCH_FD=N:PPID (PPID: the parent's pid). The
    pipe reaches end of file when every holder of the write end has closed
    it: when the child exits, unless a process the child started inherited
    it and still runs, or the child closed it itself. The window library
    marks it close-on-exec when a window is created
    (child_watch_close_on_exec()), so that programs a window starts do not
    inherit it; a program that is no prokit window may still pass it
    on. child_polled() says a child is watched that way: its watcher also
    calls child_reap() now and then (the supervisor: every second), and
    after end of file without an exit (child_fd_spent()) stops polling the
    descriptor.

    Testing aid: PROKIT_NO_PIDFD=1 in the parent's environment makes every
    child started from then on use the pipe, as if pidfd_open failed.
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

//  Readable when the child has exited (a pidfd, else the pipe above).
int child_fd (const child_t *self);

//  Is the child watched through the pipe (pidfd_open failed, or
//  PROKIT_NO_PIDFD)? Then child_fd() may stay quiet after the child exits
//  (a process it started holds the pipe): call child_reap() now and then.
bool child_polled (const child_t *self);

//  Is child_fd() readable for good without telling anything more? True
//  for the pipe at end of file: the child ends in a moment (its files are
//  closed before it can be reaped) or it closed the pipe and runs on.
//  Then stop polling child_fd() (it would poll readable in a loop) and
//  call child_reap() on a timer instead. Always false for a pidfd.
bool child_fd_spent (child_t *self);

//  Reap the child if it has exited: returns true and stores its wait
//  status, false while it runs. After true, the status stays available.
bool child_reap (child_t *self, int *status);

//  Send SIG to the child unless it has been reaped.
void child_signal (child_t *self, int sig);

//  In a child watched through the pipe: mark the pipe's write end
//  close-on-exec, so that programs this process starts do not inherit it
//  and keep it open after this process has ended. Does nothing in any
//  other process ($PROKIT_WATCH_FD unset, naming another parent, or no
//  pipe). The window library calls it for every window it creates.
void child_watch_close_on_exec (void);

//  Describe a wait status: "exited with status 0", "killed by signal 9
//  (SIGKILL)". Writes at most SIZE bytes into OUT.
void child_describe (int status, char *out, size_t size);

#endif
