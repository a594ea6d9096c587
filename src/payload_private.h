/*  payload_private.h: how the library moves payloads to and from frames. */
#ifndef PROKIT_PAYLOAD_PRIVATE_H_INCLUDED
#define PROKIT_PAYLOAD_PRIVATE_H_INCLUDED

#include <zmq.h>

#include "prokit/payload.h"

//  Held here, not in payload.c, so that the library can keep one on the
//  stack for a payload the application only borrows.
struct prokit_payload {
    zmq_msg_t frame;
    char *text; //  NUL-terminated copy of a string value, made on demand
};

//  Make *STORAGE a payload over FRAME's content (moved, not copied) without
//  allocating it, for a callback that borrows it; payload_release() ends
//  it. Never give it to prokit_payload_destroy().
void payload_borrowed (prokit_payload_t *storage, zmq_msg_t *frame);
void payload_release (prokit_payload_t *storage);

//  Move a borrowed payload's content into a payload the caller owns (no
//  byte copy), leaving *STORAGE empty, with nothing left to release. NULL
//  when out of memory: *STORAGE is left as it was.
prokit_payload_t *payload_take (prokit_payload_t *storage);

//  Wrap a received frame holding an already validated msgpack value; the
//  frame's content is moved, not copied, and *frame is left empty.
//  Returns NULL when memory runs out (the frame is then closed).
prokit_payload_t *payload_from_frame (zmq_msg_t *frame);

//  The frame inside a payload, to be sent (zmq_msg_send moves it out) or
//  copied (zmq_msg_copy shares the buffer).
zmq_msg_t *payload_frame (prokit_payload_t *self);

#endif
