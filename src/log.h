/*  log.h: the library's internal logging entry point (private). */
#ifndef PROKIT_LOG_PRIVATE_H_INCLUDED
#define PROKIT_LOG_PRIVATE_H_INCLUDED

#include "prokit/log.h"

void prokit_log (prokit_log_level_t level, const char *format, ...)
#if defined(__GNUC__)
    __attribute__ ((format (printf, 2, 3)))
#endif
    ;

#define log_error(...) prokit_log (PROKIT_LOG_ERROR, __VA_ARGS__)
#define log_warn(...) prokit_log (PROKIT_LOG_WARN, __VA_ARGS__)
#define log_info(...) prokit_log (PROKIT_LOG_INFO, __VA_ARGS__)
#define log_debug(...) prokit_log (PROKIT_LOG_DEBUG, __VA_ARGS__)

#endif
