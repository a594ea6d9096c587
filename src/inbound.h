/*  inbound.h: a decoded message waiting to be handled (private).

    What a client reads from its sockets, and what the embedded router
    hands main in memory, take this one shape: the same fields a client
    decodes from the wire. Items chain through NEXT into queues; whoever
    takes one closes its body and frees it (or keeps it for reuse).
*/
#ifndef PROKIT_INBOUND_H_INCLUDED
#define PROKIT_INBOUND_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include <zmq.h>

#include "proto.h"

typedef struct inbound {
    uint8_t command;
    uint64_t id;
    char peer[PROTO_NAME_MAX + 1];                 //  the source
    char channel_name[PROTO_CHANNEL_NAME_MAX + 1]; //  its channel, "" for the default
    int64_t deadline; //  a REQUEST's, monotonic ms (clock_mono_ms()), from its time left; 0: none
    zmq_msg_t body;
    bool channel; //  a client's: it came on the PUB channel
    struct inbound *next;
} inbound_t;

#endif
