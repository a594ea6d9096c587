/*  clock.h: the library's one clock (private).

    Deadlines and intervals use the monotonic clock; times shown to users
    ("joined at", "last seen") the wall clock. The router stamps every
    message it receives, so it takes the kernel's coarse tick there, which
    costs a fraction of a precise reading (in a virtual machine, much less).

    Thread-safety: any thread.
*/
#ifndef PROKIT_CLOCK_H_INCLUDED
#define PROKIT_CLOCK_H_INCLUDED

#include <stdint.h>
#include <time.h>

//  Monotonic nanoseconds, for measuring short spans.
static inline int64_t
clock_mono_ns (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

//  Monotonic milliseconds, for deadlines.
static inline int64_t
clock_mono_ms (void)
{
    return clock_mono_ns () / 1000000;
}

//  Wall-clock milliseconds since the Unix epoch.
static inline int64_t
clock_wall_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

//  Wall-clock milliseconds from the kernel's tick (a few ms coarse).
static inline int64_t
clock_coarse_wall_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME_COARSE, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
