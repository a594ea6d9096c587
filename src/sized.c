/*  sized.c: structures that cross the public API with their size. */
#include "sized.h"

#include <stdint.h>
#include <string.h>

#include "log.h"
#include "prokit/error.h"

//  Larger than any options structure will grow: a size beyond it is a
//  structure nobody initialised, whose bytes are not to be read.
#define SIZED_MAX 4096

int
sized_take (void *own, size_t own_size, const void *given, const char *what)
{
    memset (own, 0, own_size);
    size_t given_size;
    memcpy (&given_size, given, sizeof (given_size));
    if (given_size < sizeof (size_t) || given_size > SIZED_MAX) {
        log_error ("%s: its size member is %zu: initialise it with its _init function", what,
                   given_size);
        return PROKIT_EINVAL;
    }
    if (given_size > own_size) {
        const uint8_t *extra = (const uint8_t *) given + own_size;
        for (size_t i = 0; i < given_size - own_size; i++)
            if (extra[i] != 0) {
                log_error ("%s: sets options this library (older than the header) does not have",
                           what);
                return PROKIT_EINVAL;
            }
    }
    memcpy (own, given, given_size < own_size ? given_size : own_size);
    return PROKIT_OK;
}

void
sized_give (void *out, size_t out_size, const void *own, size_t own_size)
{
    size_t common = out_size < own_size ? out_size : own_size;
    memcpy (out, own, common);
    if (out_size > common)
        memset ((uint8_t *) out + common, 0, out_size - common);
}
