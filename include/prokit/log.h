/*  prokit/log.h: where the library's diagnostics go.

    prokit never writes to stdout or stderr on its own initiative: it hands
    each diagnostic line to a log hook. Without a hook, lines go to stderr,
    filtered by the environment variable PROKIT_LOG (error, warn, info or
    debug; default warn).

    Thread-safety: the hook is process-wide and may be called from prokit's
    background threads; set it before creating any handle.
*/
#ifndef PROKIT_LOG_H_INCLUDED
#define PROKIT_LOG_H_INCLUDED

#include "prokit/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum prokit_log_level {
    PROKIT_LOG_ERROR = 0,
    PROKIT_LOG_WARN = 1,
    PROKIT_LOG_INFO = 2,
    PROKIT_LOG_DEBUG = 3
} prokit_log_level_t;

//  Receives one diagnostic line (borrowed, no trailing newline).
typedef void (prokit_log_fn) (prokit_log_level_t level, const char *line, void *arg);

//  Send diagnostics to FN (with ARG), or back to the stderr default when FN
//  is NULL. The hook receives every level; filtering is up to it.
PROKIT_EXPORT void prokit_set_log (prokit_log_fn *fn, void *arg);

//  Return the name of a level: "error", "warn", "info" or "debug".
PROKIT_EXPORT const char *prokit_log_level_name (prokit_log_level_t level);

#ifdef __cplusplus
}
#endif

#endif
