/*  transport_memory.c: the embedded main's way to its router (private).

    Main shares the router's process: its messages go in under the
    router's lock (router_local_send), and what is for main comes out of the
    router's inbox, already decoded (router_local_take). While main sits in
    its run loop, its own thread routes (router_local_attend), so a request
    and its reply cross no thread. Nothing here can be lost, so there are
    no connection events, no channel and no blocking waits.

    Items taken from the inbox are handed out one at a time, as they are;
    those the client gives back (transport_recycle) go back to the router
    at the next take, for reuse.

    Thread-safety: main's thread only.
*/
#include "transport.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "prokit/error.h"
#include "router.h"

typedef struct memory_transport {
    transport_t base;
    router_t *router;
    inbound_t *head, *tail; //  taken from the inbox, not yet handed out
    inbound_t *spare;       //  handed out (bodies moved), for the router to reuse
} memory_transport_t;

static void
s_free_list (inbound_t *item, bool close_bodies)
{
    while (item) {
        inbound_t *next = item->next;
        if (close_bodies)
            zmq_msg_close (&item->body);
        free (item);
        item = next;
    }
}

static void
s_destroy (transport_t *base, bool linger)
{
    (void) linger;
    memory_transport_t *self = (memory_transport_t *) base;
    s_free_list (self->head, true);
    s_free_list (self->spare, false);
    free (self);
}

static int
s_send (transport_t *base, int version, proto_command_t command, uint64_t id,
        const proto_peer_t *peer, zmq_msg_t *body)
{
    (void) version; //  no wire in between
    memory_transport_t *self = (memory_transport_t *) base;
    return router_local_send (self->router, command, id, peer, body);
}

//  Route what waits on the router's sockets, then take what is for main,
//  to be handled in this same round (the next round's routing then also
//  covers what the handlers sent).
static bool
s_collect (transport_t *base, unsigned *ready)
{
    memory_transport_t *self = (memory_transport_t *) base;
    inbound_t *head, *tail;
    bool more = router_local_take (self->router, *ready & TRANSPORT_READY_EVENTS,
                                   *ready & TRANSPORT_READY_CHANNEL, &self->spare, &head, &tail);
    *ready &= ~(TRANSPORT_READY_EVENTS | TRANSPORT_READY_CHANNEL); //  looked at
    if (head) {
        if (self->tail)
            self->tail->next = head;
        else
            self->head = head;
        self->tail = tail;
    }
    return more;
}

//  The router's item itself is handed out: nothing is copied.
static int
s_receive (transport_t *base, bool channel, inbound_t **item)
{
    memory_transport_t *self = (memory_transport_t *) base;
    inbound_t *taken = self->head;
    if (channel || !taken)
        return 0;
    self->head = taken->next;
    if (!self->head)
        self->tail = NULL;
    taken->next = NULL;
    *item = taken;
    return 1;
}

static void
s_recycle (transport_t *base, inbound_t *item)
{
    memory_transport_t *self = (memory_transport_t *) base;
    item->next = self->spare;
    self->spare = item;
}

static bool
s_channel_readable (const transport_t *base, unsigned ready)
{
    (void) base;
    (void) ready;
    return false;
}

static bool
s_unannounced (transport_t *base)
{
    (void) base; //  the router announces what it puts in the inbox itself
    return false;
}

//  Main's messages enter the router at once; the round's end sends what
//  they left in BATCHes to windows, not at the router thread's next look.
static bool
s_cork (transport_t *base, transport_cork_t how)
{
    memory_transport_t *self = (memory_transport_t *) base;
    if (how == TRANSPORT_UNCORK)
        router_local_flush (self->router);
    return true;
}

static bool
s_next_event (transport_t *base, transport_event_t *event)
{
    (void) base;
    (void) event;
    return false;
}

static int
s_wait (transport_t *base, int timeout_ms, unsigned flags)
{
    (void) base;
    (void) timeout_ms;
    (void) flags;
    errno = ENOTSUP; //  main's thread may be the one routing: it must not sleep here
    return -1;
}

static int
s_channel_open (transport_t *base, const char *channel, const char *topic)
{
    (void) base;
    (void) channel;
    (void) topic;
    return PROKIT_EINVAL; //  main is not sent to on the channel
}

static void
s_channel_close (transport_t *base)
{
    (void) base;
}

static void
s_attend (transport_t *base, bool attending)
{
    memory_transport_t *self = (memory_transport_t *) base;
    router_local_attend (self->router, attending);
}

static bool
s_stats (transport_t *base, prokit_stats_t *stats, int *rc)
{
    memory_transport_t *self = (memory_transport_t *) base;
    *rc = router_public_stats (self->router, stats);
    return true;
}

static int
s_last_seen (transport_t *base, const char *name, long long *ms)
{
    memory_transport_t *self = (memory_transport_t *) base;
    return router_last_seen (self->router, name, ms);
}

static const transport_ops_t s_ops = { s_destroy,      s_send,          s_collect,
                                       s_receive,      s_recycle,       s_channel_readable,
                                       s_unannounced,  s_next_event,    s_wait,
                                       s_channel_open, s_channel_close, s_attend,
                                       s_stats,        s_last_seen,     s_cork };

transport_t *
transport_memory_new (router_t *router, int epoll_fd, int *error)
{
    memory_transport_t *self = (memory_transport_t *) calloc (1, sizeof (*self));
    if (!self) {
        *error = PROKIT_ENOMEM;
        return NULL;
    }
    self->base.ops = &s_ops;
    self->base.max_payload = router_max_payload (router);
    self->router = router;
    //  The router's descriptors for main's thread: its socket's, its
    //  monitor's, the inbox's eventfd, and its channel's.
    static const unsigned tags[ROUTER_LOCAL_FDS] = { TRANSPORT_READY_SOCKET, TRANSPORT_READY_EVENTS,
                                                     TRANSPORT_READY_SOCKET,
                                                     TRANSPORT_READY_CHANNEL };
    int fds[ROUTER_LOCAL_FDS];
    router_local_fds (router, fds);
    for (size_t i = 0; i < ROUTER_LOCAL_FDS; i++)
        if (transport_epoll_add (epoll_fd, fds[i], tags[i]) != 0) {
            s_destroy (&self->base, false);
            *error = PROKIT_ETRANSPORT;
            return NULL;
        }
    return &self->base;
}
