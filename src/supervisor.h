/*  supervisor.h: the window processes main starts, kept (private).

    Main starts a window as a process (createWindow), closes it politely
    and then with signals (destroyWindow), and starts it again when it
    fails, as its spec's restart policy says. This module does all of that
    by window name, through child.c, and tells main what happened; main
    keeps the registry of windows and its presence events.

    Its descriptor (an epoll set of the children's pidfds, or of the
    pipes that stand in for them where pidfd_open fails (child.h), and one
    timer for restarts, escalations and the polls of children watched
    through pipes) polls readable when supervisor_process() has work;
    main's client watches it, so the application still polls one
    descriptor.

    Thread-safety: none; main's thread.
*/
#ifndef PROKIT_SUPERVISOR_H_INCLUDED
#define PROKIT_SUPERVISOR_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

#include "prokit/spawn.h"

typedef struct supervisor supervisor_t;

typedef struct supervisor_events {
    //  The process of window NAME (PID) ended with STATUS (as from
    //  waitpid(); REASON says it in words). CLOSED: main had closed it
    //  (supervisor_close()); else WILL_RESTART says whether it starts again
    //  after its backoff (when not, NAME is no longer supervised).
    void (*on_ended) (void *owner, const char *name, int pid, int status, const char *reason,
                      bool closed, bool will_restart);
    //  Started again after a failure, as PID; or not (PID 0, logged: NAME
    //  is then no longer supervised).
    void (*on_restarted) (void *owner, const char *name, int pid);
} supervisor_events_t;

//  A supervisor whose children connect to ENDPOINT. NULL when out of
//  memory or descriptors.
supervisor_t *supervisor_new (const char *endpoint, const supervisor_events_t *events, void *owner);

//  End every child (SIGTERM, then SIGKILL after a short grace), reap them
//  all, and free the supervisor. No events. NULL-safe.
void supervisor_destroy (supervisor_t **self_p);

//  Readable when supervisor_process() has work.
int supervisor_fd (const supervisor_t *self);

//  Reap what ended, start again what is due, escalate what does not
//  close: the events are called from here. Cheap when nothing is running.
void supervisor_process (supervisor_t *self);

//  Start window NAME as SPEC says (SPEC->path required; its strings are
//  copied). Returns PROKIT_OK with *PID, PROKIT_EEXIST (NAME is already
//  supervised), PROKIT_ENOMEM, or PROKIT_ESPAWN with REASON.
int supervisor_start (supervisor_t *self, const char *name, const prokit_window_spec_t *spec,
                      int *pid, char *reason, size_t reason_size);

//  Is NAME supervised: running, or to be started again?
bool supervisor_has (const supervisor_t *self, const char *name);

//  While HOLD, NAME is not started again when it ends (main waits for it
//  to join, and reports its end instead).
void supervisor_hold (supervisor_t *self, const char *name, bool hold);

//  A restart starts NAME visible or hidden, as main last made it.
void supervisor_set_shown (supervisor_t *self, const char *name, bool shown);

//  Stop supervising NAME: its process, if running, gets SIGTERM after
//  GRACE_MS and SIGKILL GRACE_MS later, unless it ends first; its end is
//  still reported (CLOSED). NAME is free for a new process at once.
void supervisor_close (supervisor_t *self, const char *name, int grace_ms);

#endif
