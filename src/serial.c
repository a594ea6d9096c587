/*  serial.c: numbers unique within the process. */
#include "serial.h"

#include <stdatomic.h>

uint64_t
serial_next (void)
{
    static atomic_uint_fast64_t serial;
    return (uint64_t) atomic_fetch_add (&serial, 1) + 1;
}
