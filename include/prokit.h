/*  prokit.h: the whole public API. Include this and nothing else.

    The rules every header follows:

    Handles     are opaque: prokit_X_new() makes one, prokit_X_destroy(&p)
                frees it and nulls your pointer (NULL-safe).
    Errors      are values: functions that can fail return PROKIT_OK (0) or
                a negative PROKIT_E* code (prokit/error.h); constructors
                return NULL and put the code in their int *error.
    Setters     prokit_X_on_*() set a callback (NULL: none) and return
                PROKIT_OK, or PROKIT_EINVAL for a NULL handle (listener
                lists: PROKIT_ENOMEM too). Callbacks run only inside the
                handle's dispatch or run, on that thread.
    Payloads    a call that sends one takes prokit_payload_t **: on
                PROKIT_OK it owns the payload and nulls your pointer; on
                failure nothing was sent and the payload is still yours.
    Structures  every structure that crosses the API goes with the size your
                program was compiled with, and the library reads and writes
                only that many bytes; later versions add fields at the end
                only. So a program built against an older prokit.h runs
                against a newer libprokit.so of the same SONAME.
                  * Structures you fill (options, specs) carry it in their
                    first member, size, which their _init function sets:
                    always start from prokit_X_opts_init(), which is inline
                    for that reason. (Bindings set size themselves.)
                  * Structures the library fills (window info, counters,
                    what a spawn learnt) are passed with their size after
                    them: prokit_main_stats (main, &stats, sizeof stats).
                  * Structures handed to your callbacks are the library's:
                    read the fields your header has.
    Lists       one shape: (array, capacity, element size, size_t *count),
                returning a status; *count may exceed capacity.
    Threads     a handle is used from one thread at a time; the stop
                functions are safe from any thread and signal handlers.
*/
#ifndef PROKIT_H_INCLUDED
#define PROKIT_H_INCLUDED

#define PROKIT_VERSION_MAJOR 0
#define PROKIT_VERSION_MINOR 2
#define PROKIT_VERSION_PATCH 0

#include "prokit/broker.h"
#include "prokit/error.h"
#include "prokit/info.h"
#include "prokit/log.h"
#include "prokit/main.h"
#include "prokit/message.h"
#include "prokit/payload.h"
#include "prokit/spawn.h"
#include "prokit/window.h"

#endif
