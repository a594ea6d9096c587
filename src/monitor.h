/*  monitor.h: reading a libzmq socket monitor (private).

    A monitor event is two frames: 16 bits of event and 32 bits of value
    (a descriptor, or an error for a failed handshake), then the endpoint.
    The router, the client and the broker's health probe read them here.

    Thread-safety: as the monitor socket's (one thread at a time).
*/
#ifndef PROKIT_MONITOR_H_INCLUDED
#define PROKIT_MONITOR_H_INCLUDED

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct monitor_event {
    uint16_t event;     //  ZMQ_EVENT_*; 0 when the frame was not an event
    int32_t value;      //  the descriptor (DISCONNECTED) or the error
    char endpoint[256]; //  truncated when longer
} monitor_event_t;

//  Take the next event from MONITOR (a zsock_t or a raw socket) without
//  blocking. Returns false when none is waiting.
bool monitor_next (void *monitor, monitor_event_t *event);

#endif
