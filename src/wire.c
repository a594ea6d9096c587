/*  wire.c: prokit messages on and off ZeroMQ sockets.

    libzmq's cost is per frame, not per byte: a version 2 message is one
    frame where version 1 had three, and a body above PROTO_INLINE_MAX
    still travels in a frame of its own so that it is never copied.
*/
#include "wire.h"

#include <errno.h>
#include <string.h>

int
wire_body_copy (zmq_msg_t *body, const void *data, size_t size)
{
    if (zmq_msg_init_size (body, size) != 0) {
        zmq_msg_init (body);
        return ENOMEM;
    }
    if (size > 0)
        memcpy (zmq_msg_data (body), data, size);
    return 0;
}

//  Build the first frame of a message: the version 1 header, or the
//  version 2 prefix followed by INLINE_BODY's bytes when given.
static int
s_first_frame (zmq_msg_t *first, int version, proto_command_t command, uint64_t id,
               const char *peer, zmq_msg_t *inline_body)
{
    if (version == PROTO_VERSION_1) {
        uint8_t header[PROTO_HEADER_SIZE];
        proto_header_encode (header, command, id);
        return wire_body_copy (first, header, sizeof (header));
    }
    uint8_t prefix[PROTO_PREFIX_MAX];
    size_t prefix_size = proto_prefix_encode (prefix, command, id, peer);
    size_t body_size = inline_body ? zmq_msg_size (inline_body) : 0;
    if (zmq_msg_init_size (first, prefix_size + body_size) != 0) {
        zmq_msg_init (first);
        return ENOMEM;
    }
    uint8_t *data = (uint8_t *) zmq_msg_data (first);
    memcpy (data, prefix, prefix_size);
    if (body_size > 0)
        memcpy (data + prefix_size, zmq_msg_data (inline_body), body_size);
    return 0;
}

int
wire_send (void *socket, int version, const void *routing_id, size_t routing_id_size,
           proto_command_t command, uint64_t id, const char *peer, zmq_msg_t *body)
{
    bool body_alone = version == PROTO_VERSION_1 || zmq_msg_size (body) > PROTO_INLINE_MAX;
    zmq_msg_t first;
    if (s_first_frame (&first, version, command, id, peer, body_alone ? NULL : body) != 0) {
        zmq_msg_close (body);
        return ENOMEM;
    }
    //  Only the first frame sent may be refused, so that a refusal never
    //  leaves part of a message queued: on a ROUTER the routing id (which
    //  ZMQ_ROUTER_MANDATORY refuses for the whole message), on a DEALER
    //  the message's own first frame (it takes the rest with it, or not).
    int more = body_alone ? ZMQ_SNDMORE : 0;
    int refused = 0;
    if (routing_id) {
        if (zmq_send (socket, routing_id, routing_id_size, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
            refused = errno;
        else
            zmq_msg_send (&first, socket, more);
    }
    else if (zmq_msg_send (&first, socket, more | ZMQ_DONTWAIT) < 0)
        refused = errno;
    if (refused) {
        zmq_msg_close (&first);
        zmq_msg_close (body);
        return refused;
    }
    if (version == PROTO_VERSION_1)
        zmq_send (socket, peer, strlen (peer), ZMQ_SNDMORE);
    if (body_alone)
        zmq_msg_send (body, socket, 0);
    else
        zmq_msg_close (body);
    return 0;
}

bool
wire_recv (void *socket, zmq_msg_t *frames, size_t capacity, size_t *count)
{
    *count = 0;
    bool more = true;
    while (more) {
        zmq_msg_t frame;
        zmq_msg_init (&frame);
        //  Only the first frame may be missing: the rest of a message
        //  arrives with it.
        if (zmq_msg_recv (&frame, socket, *count == 0 ? ZMQ_DONTWAIT : 0) < 0) {
            zmq_msg_close (&frame);
            if (*count == 0)
                return false;
            break;
        }
        more = zmq_msg_more (&frame);
        if (*count < capacity)
            frames[(*count)++] = frame; //  zmq_msg_t is movable by copy
        else
            zmq_msg_close (&frame);
    }
    return true;
}

void
wire_view (zmq_msg_t *frames, size_t count, proto_frame_t *wire)
{
    for (size_t i = 0; i < count && i < PROTO_FRAMES_MAX; i++) {
        wire[i].data = zmq_msg_data (&frames[i]);
        wire[i].size = zmq_msg_size (&frames[i]);
    }
}

int
wire_body_take (zmq_msg_t *frames, proto_msg_t *msg, zmq_msg_t *body)
{
    if (msg->body_inline) {
        if (wire_body_copy (body, msg->body, msg->body_size) != 0)
            return ENOMEM;
    }
    else {
        zmq_msg_init (body);
        zmq_msg_move (body, &frames[msg->body_frame]);
    }
    msg->body = (const uint8_t *) zmq_msg_data (body);
    return 0;
}
