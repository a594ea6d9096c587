/*  payload_private.h: how the library moves payloads to and from frames. */
#ifndef PROKIT_PAYLOAD_PRIVATE_H_INCLUDED
#define PROKIT_PAYLOAD_PRIVATE_H_INCLUDED

#include <zmq.h>

#include "prokit/payload.h"

//  Wrap a received frame holding an already validated msgpack value; the
//  frame's content is moved, not copied, and *frame is left empty.
//  Returns NULL when memory runs out (the frame is then closed).
prokit_payload_t *payload_from_frame (zmq_msg_t *frame);

//  The frame inside a payload, to be sent (zmq_msg_send moves it out) or
//  copied (zmq_msg_copy shares the buffer).
zmq_msg_t *payload_frame (prokit_payload_t *self);

#endif
