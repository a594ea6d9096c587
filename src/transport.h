/*  transport.h: how a client reaches its router (private).

    The layers, bottom up: proto (what the bytes mean), wire (messages on
    and off ZeroMQ sockets), transport (this: one client's way to its
    router), client (the session: HELLO, requests, credit, accounting),
    main and window (the public handles).

    Two transports, one interface:

    * Over sockets (transport_socket_new): a DEALER connected to the
      router's ROUTER socket, a monitor of that connection, and, once the
      session's WELCOME names one, a SUB on the router's PUB channel.
      Heartbeats and CURVE are set up here. The connection may be lost and
      come back: the transport says so as events (transport_next_event);
      what follows (rejoin, reports) is the session's business.
    * In memory (transport_memory_new): the embedded main, in the router's
      own process. Its messages go in under the router's lock and come out
      of the router's inbox already decoded; it is never lost, has no
      channel of its own, and never blocks.

    Either way the client sees descriptors in its epoll set, tagged with
    what they announce (TRANSPORT_READY_*, in epoll_event.data.u32), and
    decoded messages, one at a time (transport_receive).

    Lifecycle: made by the client that uses it, destroyed with it.
    Thread-safety: from that client's thread only.
*/
#ifndef PROKIT_TRANSPORT_H_INCLUDED
#define PROKIT_TRANSPORT_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

#include "inbound.h"
#include "prokit/info.h"
#include "proto.h"

typedef struct transport transport_t;
struct router;

//  What a descriptor of the transport announces (epoll data.u32 tags;
//  the client uses bits above these for its own).
#define TRANSPORT_READY_SOCKET 1u  //  messages from the router
#define TRANSPORT_READY_EVENTS 2u  //  connection events
#define TRANSPORT_READY_CHANNEL 4u //  the PUB channel
#define TRANSPORT_READY_ALL                                                                        \
    (TRANSPORT_READY_SOCKET | TRANSPORT_READY_EVENTS | TRANSPORT_READY_CHANNEL)

//  transport_wait() flags.
#define TRANSPORT_WAIT_LEVEL 1u    //  what waits unannounced counts too (after a send)
#define TRANSPORT_WAIT_WRITABLE 2u //  room to send, rather than something to read

//  transport_cork(): what becomes of the client's small messages.
typedef enum {
    TRANSPORT_CORK = 1, //  a dispatch round begins: gather them into BATCHes
    TRANSPORT_UNCORK,   //  it ends: send what was gathered, and each on its own again
    TRANSPORT_DROP      //  the session ended: forget what was gathered
} transport_cork_t;

typedef enum {
    TRANSPORT_EVENT_LOST = 1, //  the connection to the router ended
    TRANSPORT_EVENT_UP,       //  a connection is (again) set up: handshake done
    TRANSPORT_EVENT_REFUSED   //  the router refused our security (CURVE)
} transport_event_kind_t;

typedef struct transport_event {
    transport_event_kind_t kind;
    int detail;       //  REFUSED: which refusal, to tell a new one from a repeat
    const char *text; //  REFUSED: why, for people
} transport_event_t;

typedef struct transport_ops {
    void (*destroy) (transport_t *self, bool linger);
    int (*send) (transport_t *self, int version, proto_command_t command, uint64_t id,
                 const proto_peer_t *peer, zmq_msg_t *body);
    bool (*collect) (transport_t *self, unsigned *ready);
    int (*receive) (transport_t *self, bool channel, inbound_t **item);
    void (*recycle) (transport_t *self, inbound_t *item);
    bool (*channel_readable) (const transport_t *self, unsigned ready);
    bool (*unannounced) (transport_t *self);
    bool (*next_event) (transport_t *self, transport_event_t *event);
    int (*wait) (transport_t *self, int timeout_ms, unsigned flags);
    int (*channel_open) (transport_t *self, const char *channel, const char *topic);
    void (*channel_close) (transport_t *self);
    void (*attend) (transport_t *self, bool attending);
    bool (*stats) (transport_t *self, prokit_stats_t *stats, int *rc);
    int (*last_seen) (transport_t *self, const char *name, long long *ms);
    bool (*cork) (transport_t *self, transport_cork_t how);
} transport_ops_t;

//  Every transport begins with this.
struct transport {
    const transport_ops_t *ops;
    bool can_wait;      //  blocking waits are possible (sockets)
    bool has_channel;   //  a PUB channel is open
    size_t max_payload; //  the router's limit when known up front, else 0
    bool batches;       //  the router reads BATCH (its WELCOME said so): set by the client
};

//  A DEALER (and its monitor) connected to ENDPOINT, with CURVE when
//  CURVE_CERT and CURVE_SERVER_KEY are given (both, or neither: EINVAL);
//  its descriptors join the epoll set EPOLL_FD. LABEL names the client in
//  logs. NULL with *error: PROKIT_EINVAL, PROKIT_ETRANSPORT, PROKIT_ENOMEM,
//  PROKIT_ENOFILE.
transport_t *transport_socket_new (const char *label, const char *endpoint, const char *curve_cert,
                                   const char *curve_server_key, int epoll_fd, int *error);

//  The embedded main's transport to ROUTER, in memory; its descriptors
//  (the router's, for main's thread) join EPOLL_FD.
transport_t *transport_memory_new (struct router *router, int epoll_fd, int *error);

//  Close and free *SELF_P; LINGER: let what is queued go out first (a
//  short while), else drop it. NULL-safe.
static inline void
transport_destroy (transport_t **self_p, bool linger)
{
    if (self_p && *self_p) {
        (*self_p)->ops->destroy (*self_p, linger);
        *self_p = NULL;
    }
}

//  Send one message to PEER (the peer field's parts: written out for the
//  wire over sockets, handed over as they are in memory) in wire VERSION
//  without blocking. BODY is always taken. Returns PROKIT_OK, PROKIT_EAGAIN (the queue towards the router is
//  full), or another error: PROKIT_ECLOSED over sockets, and in memory
//  why a message to one peer was not delivered (router_local_send).
static inline int
transport_send (transport_t *self, int version, proto_command_t command, uint64_t id,
                const proto_peer_t *peer, zmq_msg_t *body)
{
    return self->ops->send (self, version, command, id, peer, body);
}

//  At the start of a dispatch round: do what READY announces that is not
//  a message (in memory: route what waits on the router's sockets and take
//  main's inbox) and clear those bits. Returns true when more is waiting
//  than one round takes.
static inline bool
transport_collect (transport_t *self, unsigned *ready)
{
    return self->ops->collect (self, ready);
}

//  Take one message from the router's socket, or from the PUB channel when
//  CHANNEL, without blocking. Returns 1 with *ITEM set to it (ITEM->channel
//  says it came on the channel, where the peer is always "@main"), 0 when
//  nothing waits (read to empty: the descriptors announce what comes
//  next), -1 when one message was read and dropped (malformed, or not one
//  the channel carries; logged). The item, handed over rather than copied
//  (in memory it is the one the router queued), is then the caller's,
//  body and all: once done with it, it closes or moves the body and gives
//  the item back (transport_recycle), or keeps it (in a queue), and
//  finally free()s it.
static inline int
transport_receive (transport_t *self, bool channel, inbound_t **item)
{
    return self->ops->receive (self, channel, item);
}

//  Give back ITEM, taken with transport_receive() (or made with malloc()),
//  its body closed or moved: it is reused for a message to come.
static inline void
transport_recycle (transport_t *self, inbound_t *item)
{
    self->ops->recycle (self, item);
}

//  Is the channel worth reading, given READY: it is open, and announced
//  something or was not read to empty?
static inline bool
transport_channel_readable (const transport_t *self, unsigned ready)
{
    return self->ops->channel_readable (self, ready);
}

//  Sends since the socket was last read to empty may have swallowed the
//  announcement of messages waiting there: true when some do (read them,
//  or the descriptors stay quiet about them).
static inline bool
transport_unannounced (transport_t *self)
{
    return self->ops->unannounced (self);
}

//  The next connection event, without blocking; false when none waits.
static inline bool
transport_next_event (transport_t *self, transport_event_t *event)
{
    return self->ops->next_event (self, event);
}

//  Wait at most TIMEOUT_MS for the transport's sockets (FLAGS:
//  TRANSPORT_WAIT_*): returns the TRANSPORT_READY_* bits of what is ready
//  (0 on timeout), or -1 with errno set. Only when can_wait.
static inline int
transport_wait (transport_t *self, int timeout_ms, unsigned flags)
{
    return self->ops->wait (self, timeout_ms, flags);
}

//  Open the PUB channel the router announced (CHANNEL as WELCOME says it)
//  and subscribe to TOPIC; closes any channel open before. Returns
//  PROKIT_OK or an error (logged).
static inline int
transport_channel_open (transport_t *self, const char *channel, const char *topic)
{
    return self->ops->channel_open (self, channel, topic);
}

//  Close the PUB channel, if open: nothing more arrives on it.
static inline void
transport_channel_close (transport_t *self)
{
    self->ops->channel_close (self);
}

//  The client enters (true) or leaves (false) its run loop.
static inline void
transport_attend (transport_t *self, bool attending)
{
    self->ops->attend (self, attending);
}

//  The router's counters, when this transport reaches them directly:
//  true with *RC set; false when they must be asked for (QUERY "stats").
static inline bool
transport_stats (transport_t *self, prokit_stats_t *stats, int *rc)
{
    return self->ops->stats (self, stats, rc);
}

//  When the router last heard from window NAME (ms since the epoch):
//  PROKIT_OK, or PROKIT_ENOTFOUND (a stranger, or not known here).
static inline int
transport_last_seen (transport_t *self, const char *name, long long *ms)
{
    return self->ops->last_seen (self, name, ms);
}

//  Within a dispatch round (from CORK to UNCORK) the client's small
//  SENDs, REQUESTs and answers to a router that reads BATCH are gathered
//  into BATCHes, sent when one is full, before any other message, before
//  a blocking wait, and at UNCORK: per message one send and one read
//  fewer. In memory, UNCORK sends main's BATCHes to windows
//  (router_local_flush). Returns false when what was gathered could not
//  be sent yet (the queue to the router is full): UNCORK again later.
static inline bool
transport_cork (transport_t *self, transport_cork_t how)
{
    return self->ops->cork (self, how);
}

//  Add FD to EPOLL_FD, announcing TAG. Returns 0 or -1 (errno).
int transport_epoll_add (int epoll_fd, int fd, unsigned tag);

#endif
