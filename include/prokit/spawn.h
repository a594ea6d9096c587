/*  prokit/spawn.h: how main starts a window as a process, and what it learnt.

    A prokit_window_spec_t describes the program to run (createWindow's
    options); prokit_main_create_window() (prokit/main.h) takes it and
    fills a prokit_spawned_t. Main supervises the process from then on:
    its end comes as a PROKIT_PRESENCE_EXITED presence event, and it is
    restarted as the spec's restart policy says.

    Thread-safety: plain data; prokit_window_spec_init() is a pure function.
*/
#ifndef PROKIT_SPAWN_H_INCLUDED
#define PROKIT_SPAWN_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

//  When main starts a window process again after it ended.
typedef enum prokit_restart {
    PROKIT_RESTART_NEVER = 0,     //  never (the default)
    PROKIT_RESTART_ON_FAILURE = 1 //  when it ends other than with status 0 or by being closed
} prokit_restart_t;

//  How to start a window process. Initialise with
//  prokit_window_spec_init(), which records in SIZE the size your program
//  was compiled with; later versions add fields at the end only.
typedef struct prokit_window_spec {
    size_t size;         //  sizeof (prokit_window_spec_t) as you compiled it: set by _init
    const char *path;    //  the program (required; a path, not looked up in $PATH)
    char *const *argv;   //  NULL-terminated, argv[0] included; NULL: { path }
    char *const *env;    //  extra "NAME=value" entries, NULL-terminated; NULL: none
    const char *cwd;     //  working directory; NULL: main's
    bool show;           //  a visible window (true) or a hidden worker (false)
    int join_timeout_ms; //  > 0: return only once it joined (or failed), at most this long
    prokit_restart_t restart;
    int restart_max;        //  restarts at most, in a row (0: 5); a process that ran
                            //  10 s or more before failing starts a new row
    int restart_backoff_ms; //  first delay before a restart, doubled each time up to
                            //  30 s (0: 500)
} prokit_window_spec_t;

//  Fill SPEC with the defaults (all zero: hidden, no wait, no restart) and
//  its size.
static inline void
prokit_window_spec_init (prokit_window_spec_t *spec)
{
    if (spec) {
        memset (spec, 0, sizeof (*spec));
        spec->size = sizeof (*spec);
    }
}

//  What prokit_main_create_window() learnt.
typedef struct prokit_spawned {
    int pid;         //  the process id (0 if it could not be started)
    int wait_status; //  with PROKIT_EEXITED: how it ended, as from waitpid()
    char reason[96]; //  with an error: what went wrong, in words
} prokit_spawned_t;

#ifdef __cplusplus
}
#endif

#endif
