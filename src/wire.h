/*  wire.h: prokit messages on and off ZeroMQ sockets (private).

    proto.c says what the bytes mean; this module puts them into frames and
    takes them out again, in either wire version, for the router's ROUTER
    socket and a client's DEALER alike. It decides where a body travels
    (inline in the first frame, or alone so that it is never copied) and
    makes sure a refused message leaves nothing half-sent.

    Signals: libzmq fails a call with EINTR when a signal lands during it
    (any handler installed without SA_RESTART, the application's or a
    profiler's), having done nothing. Every call here makes it again, so
    that a signal never refuses, cuts or loses a message; the rest of the
    library reads and asks its sockets through wire_msg_recv() and
    wire_events() for the same reason.
*/
#ifndef PROKIT_WIRE_H_INCLUDED
#define PROKIT_WIRE_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

#include "proto.h"

//  Send one message on SOCKET without blocking, in wire VERSION. A ROUTER
//  socket passes the ROUTING_ID of the peer (with ZMQ_ROUTER_MANDATORY set),
//  a DEALER passes NULL. BODY is always taken: moved into the message, or
//  closed when the message is refused. Returns 0, or the errno of the
//  refusal (EAGAIN: the peer's queue is full; EHOSTUNREACH: it has gone),
//  in which case nothing was queued.
int wire_send (void *socket, int version, const void *routing_id, size_t routing_id_size,
               proto_command_t command, uint64_t id, const char *peer, zmq_msg_t *body);

//  zmq_msg_recv(), made again when a signal interrupts it.
int wire_msg_recv (zmq_msg_t *frame, void *socket, int flags);

//  The socket's ZMQ_EVENTS (ZMQ_POLLIN, ZMQ_POLLOUT); 0 when libzmq cannot
//  say (the socket or its context is closing).
int wire_events (void *socket);

//  A message encoded once, to be sent to several peers that read the same
//  wire version (a broadcast): each send copies its frames, which shares
//  their buffers rather than their bytes.
typedef struct wire_prepared {
    int version;
    bool body_alone;
    zmq_msg_t first;
    zmq_msg_t peer; //  version 1's peer frame
    zmq_msg_t body; //  when the body travels alone
} wire_prepared_t;

//  Encode a message into *SELF, as wire_send() would send it. BODY is
//  always taken. Returns 0 or ENOMEM; on success, wire_prepared_close()
//  releases it.
int wire_prepare (wire_prepared_t *self, int version, proto_command_t command, uint64_t id,
                  const char *peer, zmq_msg_t *body);

//  Send a prepared message as wire_send() does; *PREPARED stays as it was.
int wire_send_prepared (void *socket, const void *routing_id, size_t routing_id_size,
                        wire_prepared_t *prepared);

void wire_prepared_close (wire_prepared_t *self);

//  Publish one version 2 message on the PUB channel (an XPUB socket with
//  ZMQ_XPUB_NODROP) under TOPIC, PROTO_TOPIC_WIRE bytes that prefix the
//  first frame. The peer names nobody there (everything is from main):
//  it is empty, or "#CHANNEL_NAME" when CHANNEL_NAME is not NULL or "".
//  BODY is always taken. Returns 0, or the errno of the refusal (EAGAIN: a
//  subscriber's queue is full), nothing then queued.
int wire_publish (void *socket, const uint8_t *topic, proto_command_t command, uint64_t id,
                  const char *channel_name, zmq_msg_t *body);

//  One message to publish under many topics (a broadcast), encoded once
//  (on the named channel CHANNEL_NAME, NULL or "" for the default one):
//  wire_publish_prepare() takes BODY (0, or ENOMEM with nothing left to
//  close); each wire_publish_prepared() sends a copy of the first frame
//  with TOPIC written in (the body, when it travels alone, is shared, not
//  copied) and returns as wire_publish() does; wire_published_close() ends
//  it.
typedef struct {
    zmq_msg_t first; //  the first frame, its topic bytes to be filled in
    zmq_msg_t body;  //  the body when it travels alone
    bool alone;
} wire_published_t;

int wire_publish_prepare (wire_published_t *self, proto_command_t command, uint64_t id,
                          const char *channel_name, zmq_msg_t *body);
int wire_publish_prepared (void *socket, const uint8_t *topic, wire_published_t *self);
void wire_published_close (wire_published_t *self);

//  Send a BATCH without blocking: the SIZE bytes of COUNT entries at
//  ENTRIES (proto_batch_entry_encode()), copied, under TOPIC on the PUB
//  channel, or with no topic (NULL) on a DEALER. One entry goes as the
//  message it holds, not as a BATCH. Returns 0 or the errno of the
//  refusal (EAGAIN: the queue is full), nothing then queued.
int wire_send_batch (void *socket, const uint8_t *topic, const uint8_t *entries, size_t size,
                     size_t count);

//  Make BODY a new frame holding a copy of SIZE bytes at DATA. Returns 0 or
//  ENOMEM (BODY is then an empty frame).
int wire_body_copy (zmq_msg_t *body, const void *data, size_t size);

//  Receive every frame of one message from SOCKET without blocking. The
//  first CAPACITY frames go to FRAMES, the rest are read and closed; *COUNT
//  is how many were kept (the caller closes them). Callers make CAPACITY
//  one more than a valid message has, so that too many frames still show.
//  Returns false when nothing was waiting.
bool wire_recv (void *socket, zmq_msg_t *frames, size_t capacity, size_t *count);

//  Point WIRE (PROTO_FRAMES_MAX entries) at the data of the first COUNT
//  received FRAMES, for proto_decode(), which never looks further.
void wire_view (zmq_msg_t *frames, size_t count, proto_frame_t *wire);

//  Move the body of MSG, decoded from FRAMES, into BODY as a frame of its
//  own: the frame itself when it travelled alone (no copy), a copy when it
//  was inline. MSG's body then points into BODY (a small frame keeps its
//  bytes inside the zmq_msg_t, which a move relocates). FRAMES may be
//  NULL when the body is inline. Returns 0 or ENOMEM.
int wire_body_take (zmq_msg_t *frames, proto_msg_t *msg, zmq_msg_t *body);

#endif
