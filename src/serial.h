/*  serial.h: numbers unique within the process (private).
    Names of inproc endpoints (socket monitors) are made from them: such a
    name must never repeat, as an address a handle just freed may still be
    bound. Any thread may call serial_next().
*/
#ifndef PROKIT_SERIAL_H_INCLUDED
#define PROKIT_SERIAL_H_INCLUDED

#include <stdint.h>

//  The next number, from 1 on; never the same twice in a process.
uint64_t serial_next (void);

#endif
