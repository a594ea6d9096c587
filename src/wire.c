/*  wire.c: prokit messages on and off ZeroMQ sockets.

    libzmq's cost is per frame, not per byte: a version 2 message is one
    frame where version 1 had three, and a body above PROTO_INLINE_MAX
    still travels in a frame of its own so that it is never copied.
*/
#include "wire.h"

#include <errno.h>
#include <string.h>

//  --- the calls a signal may interrupt ---------------------------------------------

//  RC = CALL, made again while a signal interrupts it (EINTR: it did
//  nothing).
#define S_RETRY(rc, call)                                                                          \
    do                                                                                             \
        rc = (call);                                                                               \
    while (rc < 0 && errno == EINTR)

static int
s_send (void *socket, const void *data, size_t size, int flags)
{
    int rc;
    S_RETRY (rc, zmq_send (socket, data, size, flags));
    return rc;
}

static int
s_msg_send (zmq_msg_t *frame, void *socket, int flags)
{
    int rc;
    S_RETRY (rc, zmq_msg_send (frame, socket, flags));
    return rc;
}

int
wire_msg_recv (zmq_msg_t *frame, void *socket, int flags)
{
    int rc;
    S_RETRY (rc, zmq_msg_recv (frame, socket, flags));
    return rc;
}

int
wire_events (void *socket)
{
    int events = 0;
    size_t size = sizeof (events);
    int rc;
    S_RETRY (rc, zmq_getsockopt (socket, ZMQ_EVENTS, &events, &size));
    return rc == 0 ? events : 0;
}

//  --- encoding ---------------------------------------------------------------------

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

//  Build a version 2 first frame in *FIRST: the channel TOPIC when given
//  (PROTO_TOPIC_WIRE bytes), the prefix, then the first INLINE_SIZE bytes
//  of BODY (0 when the body travels alone).
static int
s_encode_first (zmq_msg_t *first, const uint8_t *topic, proto_command_t command, uint64_t id,
                const char *peer, zmq_msg_t *body, size_t inline_size)
{
    uint8_t prefix[PROTO_PREFIX_MAX];
    size_t prefix_size = proto_prefix_encode (prefix, command, id, peer);
    size_t topic_size = topic ? PROTO_TOPIC_WIRE : 0;
    if (zmq_msg_init_size (first, topic_size + prefix_size + inline_size) != 0) {
        zmq_msg_init (first);
        return ENOMEM;
    }
    uint8_t *data = (uint8_t *) zmq_msg_data (first);
    if (topic) {
        memcpy (data, topic, PROTO_TOPIC_WIRE);
        data += PROTO_TOPIC_WIRE;
    }
    memcpy (data, prefix, prefix_size);
    if (inline_size > 0)
        memcpy (data + prefix_size, zmq_msg_data (body), inline_size);
    return 0;
}

//  The body (taken) once the first frame is made (RC 0, else nothing is
//  sent): moved into FRAME when it travels ALONE, in a frame of its own;
//  else the first frame holds a copy. Returns RC.
static int
s_take_body (int rc, bool alone, zmq_msg_t *frame, zmq_msg_t *body)
{
    if (rc == 0 && alone)
        zmq_msg_move (frame, body);
    zmq_msg_close (body);
    return rc;
}

int
wire_prepare (wire_prepared_t *self, int version, proto_command_t command, uint64_t id,
              const char *peer, zmq_msg_t *body)
{
    self->version = version;
    self->body_alone = version == PROTO_VERSION_1 || zmq_msg_size (body) > PROTO_INLINE_MAX;
    zmq_msg_init (&self->peer);
    zmq_msg_init (&self->body);
    int rc = 0;
    if (version == PROTO_VERSION_1) {
        uint8_t header[PROTO_HEADER_SIZE];
        proto_header_encode (header, command, id);
        rc = wire_body_copy (&self->first, header, sizeof (header));
        if (rc == 0) {
            zmq_msg_close (&self->peer);
            rc = wire_body_copy (&self->peer, peer, strnlen (peer, PROTO_ADDRESS_MAX));
        }
    }
    else
        rc = s_encode_first (&self->first, NULL, command, id, peer, body,
                             self->body_alone ? 0 : zmq_msg_size (body));
    if (s_take_body (rc, self->body_alone, &self->body, body) != 0)
        wire_prepared_close (self);
    return rc;
}

void
wire_prepared_close (wire_prepared_t *self)
{
    zmq_msg_close (&self->first);
    zmq_msg_close (&self->peer);
    zmq_msg_close (&self->body);
}

//  Send COUNT FRAMES (taken) as one message, behind ROUTING_ID when given.
//  Only the first frame sent may be refused, so that a refusal never
//  leaves part of a message queued: on a ROUTER the routing id (which
//  ZMQ_ROUTER_MANDATORY refuses for the whole message), on a DEALER the
//  message's own first frame (it takes the rest with it, or not).
static int
s_send_frames (void *socket, const void *routing_id, size_t routing_id_size, zmq_msg_t *frames,
               size_t count)
{
    int refused = 0;
    int flags = ZMQ_DONTWAIT;
    if (routing_id) {
        if (s_send (socket, routing_id, routing_id_size, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
            refused = errno;
        flags = 0;
    }
    for (size_t i = 0; i < count; i++) {
        int more = i + 1 < count ? ZMQ_SNDMORE : 0;
        if (!refused && s_msg_send (&frames[i], socket, flags | more) < 0)
            refused = errno; //  only ever the first, on a DEALER
        flags = 0;
        zmq_msg_close (&frames[i]); //  sent frames are empty: no-op
    }
    return refused;
}

//  Send the frames of PREPARED, moving them out when MOVE, else copying
//  them (which shares their buffers).
static int
s_send_prepared (void *socket, const void *routing_id, size_t routing_id_size,
                 wire_prepared_t *prepared, bool move)
{
    zmq_msg_t frames[3];
    zmq_msg_t *parts[3] = { &prepared->first, &prepared->peer, &prepared->body };
    bool present[3] = { true, prepared->version == PROTO_VERSION_1, prepared->body_alone };
    size_t count = 0;
    for (size_t i = 0; i < 3; i++)
        if (present[i]) {
            zmq_msg_init (&frames[count]);
            if (move)
                zmq_msg_move (&frames[count], parts[i]);
            else
                zmq_msg_copy (&frames[count], parts[i]);
            count++;
        }
    return s_send_frames (socket, routing_id, routing_id_size, frames, count);
}

int
wire_send (void *socket, int version, const void *routing_id, size_t routing_id_size,
           proto_command_t command, uint64_t id, const char *peer, zmq_msg_t *body)
{
    size_t body_size = zmq_msg_size (body);
    if (version != PROTO_VERSION_1 && body_size <= PROTO_INLINE_MAX) {
        //  Nearly every message: one frame, built in place, with none of
        //  the moves a prepared message needs to be sent more than once.
        zmq_msg_t frame;
        int rc = s_encode_first (&frame, NULL, command, id, peer, body, body_size);
        zmq_msg_close (body);
        if (rc != 0)
            return rc;
        return s_send_frames (socket, routing_id, routing_id_size, &frame, 1);
    }
    wire_prepared_t prepared;
    if (wire_prepare (&prepared, version, command, id, peer, body) != 0)
        return ENOMEM;
    int rc = s_send_prepared (socket, routing_id, routing_id_size, &prepared, true);
    wire_prepared_close (&prepared);
    return rc;
}

int
wire_publish (void *socket, const uint8_t *topic, proto_command_t command, uint64_t id,
              const char *channel_name, zmq_msg_t *body)
{
    size_t body_size = zmq_msg_size (body);
    bool alone = body_size > PROTO_INLINE_MAX;
    zmq_msg_t frames[2];
    char address[PROTO_ADDRESS_MAX + 1] = "";
    if (channel_name && channel_name[0])
        proto_address (address, "", channel_name);
    int rc = s_encode_first (&frames[0], topic, command, id, address, body, alone ? 0 : body_size);
    zmq_msg_init (&frames[1]);
    if (s_take_body (rc, alone, &frames[1], body) != 0) {
        zmq_msg_close (&frames[1]);
        return rc;
    }
    //  With ZMQ_XPUB_NODROP the first frame is refused (EAGAIN) when any
    //  matching subscriber's queue is full, and nothing is queued for anyone.
    rc = s_send_frames (socket, NULL, 0, frames, alone ? 2 : 1);
    zmq_msg_close (&frames[1]); //  sent or unused: empty either way
    return rc;
}

int
wire_send_batch (void *socket, const uint8_t *topic, const uint8_t *entries, size_t size,
                 size_t count)
{
    uint8_t prefix[PROTO_PREFIX_MAX];
    size_t prefix_size = 0;
    if (count == 1) {
        //  Its bytes after the entry's head are the message itself.
        entries += PROTO_BATCH_HEAD;
        size -= PROTO_BATCH_HEAD;
    }
    else
        prefix_size = proto_prefix_encode (prefix, PROTO_BATCH, 0, "");
    size_t topic_size = topic ? PROTO_TOPIC_WIRE : 0;
    zmq_msg_t frame;
    if (zmq_msg_init_size (&frame, topic_size + prefix_size + size) != 0)
        return ENOMEM;
    uint8_t *data = (uint8_t *) zmq_msg_data (&frame);
    if (topic)
        memcpy (data, topic, PROTO_TOPIC_WIRE);
    if (prefix_size)
        memcpy (data + topic_size, prefix, prefix_size);
    memcpy (data + topic_size + prefix_size, entries, size);
    return s_send_frames (socket, NULL, 0, &frame, 1);
}

int
wire_publish_prepare (wire_published_t *self, proto_command_t command, uint64_t id,
                      const char *channel_name, zmq_msg_t *body)
{
    static const uint8_t no_topic[PROTO_TOPIC_WIRE] = { 0 };
    self->alone = zmq_msg_size (body) > PROTO_INLINE_MAX;
    zmq_msg_init (&self->body);
    char address[PROTO_ADDRESS_MAX + 1] = "";
    if (channel_name && channel_name[0])
        proto_address (address, "", channel_name);
    int rc = s_encode_first (&self->first, no_topic, command, id, address, body,
                             self->alone ? 0 : zmq_msg_size (body));
    if (s_take_body (rc, self->alone, &self->body, body) != 0)
        wire_published_close (self);
    return rc;
}

int
wire_publish_prepared (void *socket, const uint8_t *topic, wire_published_t *self)
{
    zmq_msg_t frames[2];
    size_t size = zmq_msg_size (&self->first);
    if (zmq_msg_init_size (&frames[0], size) != 0)
        return ENOMEM;
    uint8_t *data = (uint8_t *) zmq_msg_data (&frames[0]);
    memcpy (data, zmq_msg_data (&self->first), size);
    memcpy (data, topic, PROTO_TOPIC_WIRE);
    zmq_msg_init (&frames[1]);
    if (self->alone)
        zmq_msg_copy (&frames[1], &self->body); //  shares the buffer
    //  As wire_publish(): only the first frame may be refused.
    int rc = s_send_frames (socket, NULL, 0, frames, self->alone ? 2 : 1);
    zmq_msg_close (&frames[1]);
    return rc;
}

void
wire_published_close (wire_published_t *self)
{
    zmq_msg_close (&self->first);
    zmq_msg_close (&self->body);
}

int
wire_send_prepared (void *socket, const void *routing_id, size_t routing_id_size,
                    wire_prepared_t *prepared)
{
    return s_send_prepared (socket, routing_id, routing_id_size, prepared, false);
}

bool
wire_recv (void *socket, zmq_msg_t *frames, size_t capacity, size_t *count)
{
    *count = 0;
    bool more = true;
    while (more) {
        //  Straight into place (zmq_msg_init(3): a zmq_msg_t is never
        //  copied); frames beyond CAPACITY are read and closed.
        zmq_msg_t extra;
        zmq_msg_t *frame = *count < capacity ? &frames[*count] : &extra;
        zmq_msg_init (frame);
        //  Only the first frame may be missing: the rest of a message
        //  arrives with it.
        if (wire_msg_recv (frame, socket, *count == 0 ? ZMQ_DONTWAIT : 0) < 0) {
            zmq_msg_close (frame);
            if (*count == 0)
                return false;
            break;
        }
        more = zmq_msg_more (frame);
        if (frame == &extra)
            zmq_msg_close (&extra);
        else
            (*count)++;
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
