/*  monitor.c: reading a libzmq socket monitor. */
#include "monitor.h"

#include "wire.h"

#include <string.h>

bool
monitor_next (void *monitor, monitor_event_t *event)
{
    void *socket = zsock_resolve (monitor);
    zmq_msg_t frame;
    zmq_msg_init (&frame);
    if (wire_msg_recv (&frame, socket, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close (&frame);
        return false;
    }
    event->event = 0;
    event->value = -1;
    event->endpoint[0] = 0;
    if (zmq_msg_size (&frame) == 6) {
        memcpy (&event->event, zmq_msg_data (&frame), 2);
        memcpy (&event->value, (uint8_t *) zmq_msg_data (&frame) + 2, 4);
    }
    bool more = zmq_msg_more (&frame);
    zmq_msg_close (&frame);
    while (more) { //  the endpoint; it arrives with the first frame
        zmq_msg_init (&frame);
        if (wire_msg_recv (&frame, socket, 0) < 0) {
            zmq_msg_close (&frame);
            break;
        }
        size_t size = zmq_msg_size (&frame);
        if (size >= sizeof (event->endpoint))
            size = sizeof (event->endpoint) - 1;
        memcpy (event->endpoint, zmq_msg_data (&frame), size);
        event->endpoint[size] = 0;
        more = zmq_msg_more (&frame);
        zmq_msg_close (&frame);
    }
    return true;
}
