/*  log.c: the log hook. The one piece of process-wide state in prokit, as a
    log destination is process-wide by nature; it is read under a lock so a
    hook can be swapped while background threads log. */
#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static prokit_log_fn *s_hook = NULL;
static void *s_hook_arg = NULL;

void
prokit_set_log (prokit_log_fn *fn, void *arg)
{
    pthread_mutex_lock (&s_lock);
    s_hook = fn;
    s_hook_arg = arg;
    pthread_mutex_unlock (&s_lock);
}

const char *
prokit_log_level_name (prokit_log_level_t level)
{
    switch (level) {
    case PROKIT_LOG_ERROR: return "error";
    case PROKIT_LOG_WARN: return "warn";
    case PROKIT_LOG_INFO: return "info";
    case PROKIT_LOG_DEBUG: return "debug";
    }
    return "?";
}

static prokit_log_level_t
s_env_level (void)
{
    const char *env = getenv ("PROKIT_LOG");
    if (!env)
        return PROKIT_LOG_WARN;
    for (int level = PROKIT_LOG_ERROR; level <= PROKIT_LOG_DEBUG; level++)
        if (strcmp (env, prokit_log_level_name ((prokit_log_level_t) level)) == 0)
            return (prokit_log_level_t) level;
    return PROKIT_LOG_WARN;
}

void
prokit_log (prokit_log_level_t level, const char *format, ...)
{
    pthread_mutex_lock (&s_lock);
    prokit_log_fn *hook = s_hook;
    void *hook_arg = s_hook_arg;
    pthread_mutex_unlock (&s_lock);
    if (!hook && level > s_env_level ())
        return;

    char line[1024];
    va_list args;
    va_start (args, format);
    vsnprintf (line, sizeof (line), format, args);
    va_end (args);
    if (hook)
        hook (level, line, hook_arg);
    else
        fprintf (stderr, "prokit: %s: %s\n", prokit_log_level_name (level), line);
}
