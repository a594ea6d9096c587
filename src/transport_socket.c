/*  transport_socket.c: a client's sockets to its router (private).

    A DEALER connected to the router's ROUTER socket carries everything
    both ways; a PAIR reads the DEALER's monitor (connection lost, set up
    again, refused); a SUB, opened for each session whose WELCOME names a
    PUB channel, carries main's messages to a window. libzmq's I/O thread
    does the transport work (connecting, buffering, reconnecting); this
    module decodes what arrives and tells the session what happened.

    Thread-safety: the client's thread only.
*/
#include "transport.h"

#include <czmq.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "clock.h"
#include "curve.h"
#include "log.h"
#include "monitor.h"
#include "poller.h"
#include "prokit/error.h"
#include "serial.h"
#include "sock.h"
#include "wire.h"

#define CLOSE_LINGER_MS 200
//  Queue depth towards and from the router, in messages (see router.c).
#define SOCKET_HWM 10000
//  Our own ZMTP heartbeats towards the router: a router that died or froze
//  is noticed within about interval + timeout whatever we are doing.
#define HEARTBEAT_IVL_MS 1000
#define HEARTBEAT_TIMEOUTS 3

typedef struct socket_transport {
    transport_t base;
    void *dealer; //  raw libzmq sockets (sock.h): their creation may fail
    void *monitor;
    void *sub; //  the PUB channel, NULL when there is none
    int epoll_fd;
    int dealer_fd; //  the sockets' ZMQ_FD (asking libzmq each time costs)
    int monitor_fd;
    int sub_fd;
    //  The SUB was last read to empty: its descriptor announces what comes
    //  next (nothing is ever sent on it to swallow that), so it need not be
    //  read until then. A read that finds nothing costs a poll and a getpid.
    bool sub_drained;
    //  A send may process libzmq's command queue and swallow the ZMQ_FD
    //  wake-up that announced incoming messages: SENDS since the DEALER
    //  was last read to empty (SENDS_AT_DRAIN) say when to ask.
    uint64_t sends;
    uint64_t sends_at_drain;
    char endpoint[PROTO_CHANNEL_MAX];   //  the router's, as connected to
    zcert_t *curve_cert;                //  CURVE: our certificate, for the SUB too
    char curve_key[CURVE_KEY_TEXT + 1]; //  CURVE: the router's public key
    char label[PROTO_NAME_MAX + 16];
    inbound_t *spare; //  an item given back, for the next message
    //  A BATCH from the channel being handed out, entry by entry: its
    //  frame, and where the next entry starts in its body.
    zmq_msg_t batch;
    const uint8_t *batch_body;
    size_t batch_size, batch_offset;
    bool in_batch;
    //  Corked (a dispatch round): small messages to the router gathered
    //  into a BATCH, GATHER_SIZE bytes of entries (GATHER_COUNT of them).
    bool corked;
    uint8_t *gather;
    size_t gather_size, gather_count;
} socket_transport_t;

int
transport_epoll_add (int epoll_fd, int fd, unsigned tag)
{
    return poller_add (epoll_fd, fd, EPOLLIN, (epoll_data_t){ .u32 = tag });
}

static void
s_channel_close (transport_t *base)
{
    socket_transport_t *self = (socket_transport_t *) base;
    if (self->in_batch) //  the rest of a BATCH of the session that ends
        zmq_msg_close (&self->batch);
    self->in_batch = false;
    if (!self->sub)
        return;
    epoll_ctl (self->epoll_fd, EPOLL_CTL_DEL, self->sub_fd, NULL);
    sock_destroy (&self->sub);
    self->sub_fd = -1;
    base->has_channel = false;
}

//  Send what was gathered: one entry as the message it is, more as a
//  BATCH. Returns PROKIT_OK, PROKIT_EAGAIN (kept, for the next try) or
//  PROKIT_ECLOSED.
static int
s_gather_send (socket_transport_t *self)
{
    if (self->gather_size == 0)
        return PROKIT_OK;
    int rc =
        wire_send_batch (self->dealer, NULL, self->gather, self->gather_size, self->gather_count);
    if (rc != 0)
        return rc == EAGAIN ? PROKIT_EAGAIN : PROKIT_ECLOSED;
    self->gather_size = self->gather_count = 0;
    self->sends++;
    return PROKIT_OK;
}

static void
s_destroy (transport_t *base, bool linger)
{
    socket_transport_t *self = (socket_transport_t *) base;
    if (linger)
        s_gather_send (self); //  accepted: it goes out as everything queued does
    free (self->gather);
    s_channel_close (base);
    if (self->dealer && !linger)
        zsock_set_linger (self->dealer, 0);
    if (self->monitor) {
        zmq_socket_monitor (self->dealer, NULL, 0);
        sock_destroy (&self->monitor);
    }
    sock_destroy (&self->dealer);
    zcert_destroy (&self->curve_cert);
    free (self->spare);
    free (self);
}

static int
s_send (transport_t *base, int version, proto_command_t command, uint64_t id,
        const proto_peer_t *peer, zmq_msg_t *body)
{
    socket_transport_t *self = (socket_transport_t *) base;
    char address[PROTO_ADDRESS_MAX + 1];
    proto_address_deadline (address, peer->name, peer->deadline_ms, peer->channel);
    size_t body_size = zmq_msg_size (body);
    if (self->corked && base->batches && version >= PROTO_VERSION_2 &&
        proto_batch_allows (command) && body_size <= PROTO_BATCH_BODY_MAX) {
        uint8_t entry[PROTO_BATCH_ENTRY_MAX];
        size_t entry_size =
            proto_batch_entry_encode (entry, command, id, address, zmq_msg_data (body), body_size);
        zmq_msg_close (body);
        if (!self->gather && !(self->gather = (uint8_t *) malloc (PROTO_BATCH_MAX)))
            return PROKIT_ENOMEM;
        if (self->gather_size + entry_size > PROTO_BATCH_MAX) {
            int sent = s_gather_send (self);
            if (sent != PROKIT_OK)
                return sent; //  this one is refused, the gathered ones kept
        }
        memcpy (self->gather + self->gather_size, entry, entry_size);
        self->gather_size += entry_size;
        self->gather_count++;
        return PROKIT_OK;
    }
    //  Nothing overtakes what was gathered.
    int sent = s_gather_send (self);
    if (sent != PROKIT_OK) {
        zmq_msg_close (body);
        return sent;
    }
    int rc = wire_send (self->dealer, version, NULL, 0, command, id, address, body);
    if (rc != 0)
        return rc == EAGAIN ? PROKIT_EAGAIN : PROKIT_ECLOSED;
    self->sends++;
    return PROKIT_OK;
}

static bool
s_collect (transport_t *base, unsigned *ready)
{
    (void) base;
    (void) ready; //  every message is read with transport_receive()
    return false;
}

//  What main may send a window on the PUB channel; the router confirms a
//  join there with a WELCOME.
static bool
s_channel_command (uint8_t command)
{
    switch (command) {
    case PROTO_WELCOME:
    case PROTO_SEND:
    case PROTO_BROADCAST:
    case PROTO_REQUEST:
    case PROTO_REPLY:
    case PROTO_ERROR:
    case PROTO_PROGRESS:
    case PROTO_CLOSE:
    case PROTO_SHOW:
    case PROTO_HIDE: return true;
    default: return false;
    }
}

//  The next entry of the BATCH being handed out, in *ENTRY; false when it
//  has no more (or the rest is malformed, dropped).
static bool
s_batch_next (socket_transport_t *self, proto_frame_t *entry)
{
    int rc = proto_batch_next (self->batch_body, self->batch_size, &self->batch_offset, entry);
    if (rc < 0)
        log_warn ("%s: dropped the rest of a BATCH from the router (malformed)", self->label);
    if (rc <= 0) {
        zmq_msg_close (&self->batch);
        self->in_batch = false;
    }
    return rc > 0;
}

//  Keep the BATCH in FRAME (moved out) whose body MSG points into, to hand
//  out its entries one by one.
static void
s_batch_begin (socket_transport_t *self, zmq_msg_t *frame, const proto_msg_t *msg)
{
    size_t at = (size_t) (msg->body - (const uint8_t *) zmq_msg_data (frame));
    zmq_msg_init (&self->batch);
    zmq_msg_move (&self->batch, frame); //  a small frame's bytes move with it
    self->batch_body = (const uint8_t *) zmq_msg_data (&self->batch) + at;
    self->batch_size = msg->body_size;
    self->batch_offset = 0;
    self->in_batch = true;
}

static int
s_receive (transport_t *base, bool channel, inbound_t **item_p)
{
    socket_transport_t *self = (socket_transport_t *) base;
    zmq_msg_t frames[PROTO_FRAMES_MAX + 1]; //  one more than a message has
    proto_frame_t wire[PROTO_FRAMES_MAX];
    proto_msg_t msg;
    size_t count = 0; //  frames read (none for an entry of a BATCH)
    int rc;
    if (channel && !self->sub)
        return 0;
    while (true) {
        rc = PROKIT_OK;
        if (channel && self->in_batch && s_batch_next (self, &wire[0])) {
            //  An entry of a BATCH, its topic checked with the BATCH's.
            rc = proto_decode (wire, 1, PROTO_ON_CHANNEL, SIZE_MAX, &msg);
            break;
        }
        if (!wire_recv (channel ? self->sub : self->dealer, frames, PROTO_FRAMES_MAX + 1, &count)) {
            //  Read to empty: libzmq announces whatever comes next.
            if (channel)
                self->sub_drained = true;
            else
                self->sends_at_drain = self->sends;
            return 0;
        }
        if (channel)
            self->sub_drained = false;
        wire_view (frames, count, wire);
        if (channel) {
            //  The topic goes first (only ours reaches us); the peer is
            //  empty: everything there is from main.
            if (wire[0].size < PROTO_TOPIC_WIRE)
                rc = PROKIT_EPROTO;
            else {
                wire[0].data = (const uint8_t *) wire[0].data + PROTO_TOPIC_WIRE;
                wire[0].size -= PROTO_TOPIC_WIRE;
            }
        }
        //  Bodies from the router were size-checked there; accept what it sent.
        if (rc == PROKIT_OK)
            rc = proto_decode (wire, count, channel ? PROTO_ON_CHANNEL : PROTO_TO_CLIENT, SIZE_MAX,
                               &msg);
        if (rc != PROKIT_OK || msg.command != PROTO_BATCH)
            break;
        //  Decoding allowed it on the channel only, in one frame.
        s_batch_begin (self, &frames[0], &msg);
        count = 0;
    }
    //  Only main speaks on the channel (and the router, to confirm a join):
    //  it has no name to say there.
    if (rc == PROKIT_OK && channel && !s_channel_command (msg.command))
        rc = PROKIT_EPROTO;
    inbound_t *item = NULL;
    if (rc == PROKIT_OK) {
        item = self->spare ? self->spare : (inbound_t *) malloc (sizeof (*item));
        self->spare = NULL;
        if (!item || wire_body_take (frames, &msg, &item->body) != 0) {
            self->spare = item;
            rc = PROKIT_ENOMEM;
        }
    }
    for (size_t i = 0; i < count; i++)
        zmq_msg_close (&frames[i]);
    if (rc != PROKIT_OK) {
        log_warn ("%s: dropped a message from the router (%s)", self->label, prokit_strerror (rc));
        return -1;
    }
    item->command = msg.command;
    item->id = msg.id;
    item->channel = channel;
    if (channel)
        memcpy (item->peer, PROTO_MAIN_NAME, sizeof (PROTO_MAIN_NAME));
    else
        strcpy (item->peer, msg.peer);
    //  Usually the default channel (""): no strcpy() for an empty string,
    //  which costs more than the byte.
    if (msg.channel_name[0])
        strcpy (item->channel_name, msg.channel_name);
    else
        item->channel_name[0] = 0;
    //  On the router's clock: the client makes it its own.
    item->deadline = (int64_t) msg.deadline_ms;
    item->next = NULL;
    *item_p = item;
    return 1;
}

//  One item is kept for the next message; others are freed.
static void
s_recycle (transport_t *base, inbound_t *item)
{
    socket_transport_t *self = (socket_transport_t *) base;
    if (self->spare)
        free (item);
    else
        self->spare = item;
}

static bool
s_channel_readable (const transport_t *base, unsigned ready)
{
    const socket_transport_t *self = (const socket_transport_t *) base;
    return self->sub && (self->in_batch || !self->sub_drained || (ready & TRANSPORT_READY_CHANNEL));
}

static bool
s_unannounced (transport_t *base)
{
    socket_transport_t *self = (socket_transport_t *) base;
    if (self->sends == self->sends_at_drain)
        return false; //  read to empty since the last send: announced
    //  Asking libzmq (ZMQ_EVENTS) costs a poll and a getpid.
    if (wire_events (self->dealer) & ZMQ_POLLIN)
        return true;
    self->sends_at_drain = self->sends; //  looked: nothing waits unannounced
    return false;
}

static const char *
s_refusal_text (const socket_transport_t *self, int event)
{
    if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
        return "our CURVE key is not allowed";
    //  Without CURVE of our own, a handshake that fails was cut short (a
    //  router past its limit of connections, or one that is going).
    return self->curve_cert ? "security handshake failed (CURVE expected, or the wrong router key)"
                            : "the connection was closed during its handshake (CURVE expected, or "
                              "the router is at a limit)";
}

static bool
s_next_event (transport_t *base, transport_event_t *event)
{
    socket_transport_t *self = (socket_transport_t *) base;
    monitor_event_t got;
    while (monitor_next (self->monitor, &got)) {
        memset (event, 0, sizeof (*event));
        if (got.event == ZMQ_EVENT_DISCONNECTED)
            event->kind = TRANSPORT_EVENT_LOST;
        else if (got.event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
            event->kind = TRANSPORT_EVENT_UP;
        else if (got.event & CURVE_HANDSHAKE_FAILURES) {
            event->kind = TRANSPORT_EVENT_REFUSED;
            event->detail = got.event;
            event->text = s_refusal_text (self, got.event);
        }
        else
            continue;
        return true;
    }
    return false;
}

//  Level: ask libzmq (zmq_poll), which also sees what a send noticed and
//  did not announce. Otherwise sleep on the descriptors alone: zmq_poll
//  costs libzmq a poll and a getpid per socket before and after it sleeps,
//  and a socket read to empty announces its next message there.
static bool
s_cork (transport_t *base, transport_cork_t how)
{
    socket_transport_t *self = (socket_transport_t *) base;
    self->corked = how == TRANSPORT_CORK;
    if (how == TRANSPORT_DROP)
        self->gather_size = self->gather_count = 0;
    return how != TRANSPORT_UNCORK || s_gather_send (self) == PROKIT_OK;
}

static int
s_wait (transport_t *base, int timeout_ms, unsigned flags)
{
    socket_transport_t *self = (socket_transport_t *) base;
    //  Whatever it waits for may answer what was gathered.
    s_gather_send (self);
    if (flags & (TRANSPORT_WAIT_LEVEL | TRANSPORT_WAIT_WRITABLE)) {
        //  Waiting for room, the monitor counts too: a refused handshake
        //  ends the connection for good, and room would never come.
        bool writable = flags & TRANSPORT_WAIT_WRITABLE;
        zmq_pollitem_t items[] = { { self->dealer, 0, writable ? ZMQ_POLLOUT : ZMQ_POLLIN, 0 },
                                   { self->monitor, 0, ZMQ_POLLIN, 0 },
                                   { self->sub, 0, ZMQ_POLLIN, 0 } };
        int count = writable || !self->sub ? 2 : 3;
        if (zmq_poll (items, count, timeout_ms) < 0)
            return -1;
        return (items[0].revents ? TRANSPORT_READY_SOCKET : 0) |
               (count > 1 && items[1].revents ? TRANSPORT_READY_EVENTS : 0) |
               (count > 2 && items[2].revents ? TRANSPORT_READY_CHANNEL : 0);
    }
    struct pollfd fds[3] = { { self->dealer_fd, POLLIN, 0 },
                             { self->monitor_fd, POLLIN, 0 },
                             { self->sub ? self->sub_fd : -1, POLLIN, 0 } };
    if (poll (fds, 3, timeout_ms) < 0)
        return -1;
    return ((fds[0].revents & POLLIN) ? TRANSPORT_READY_SOCKET : 0) |
           ((fds[1].revents & POLLIN) ? TRANSPORT_READY_EVENTS : 0) |
           ((fds[2].revents & POLLIN) ? TRANSPORT_READY_CHANNEL : 0);
}

//  Where to connect the channel the router announced: over tcp, the host
//  we reached the router at (its own address may not be ours to use) and
//  the channel's port; anything else as it is.
static void
s_channel_endpoint (const socket_transport_t *self, const char *channel, char *out, size_t size)
{
    const char *port = strrchr (channel, ':');
    const char *host_end = strrchr (self->endpoint, ':');
    if (strncmp (channel, "tcp://", 6) == 0 && strncmp (self->endpoint, "tcp://", 6) == 0 && port &&
        host_end)
        snprintf (out, size, "%.*s%s", (int) (host_end - self->endpoint), self->endpoint, port);
    else
        snprintf (out, size, "%s", channel);
}

//  A new SUB for every session, so that nothing of an old one leaks in.
static int
s_channel_open (transport_t *base, const char *channel, const char *topic)
{
    socket_transport_t *self = (socket_transport_t *) base;
    s_channel_close (base);
    char endpoint[PROTO_CHANNEL_MAX + 64];
    s_channel_endpoint (self, channel, endpoint, sizeof (endpoint));
    self->sub = sock_new (ZMQ_SUB);
    if (!self->sub)
        return sock_error (PROKIT_ENOMEM);
    zsock_set_rcvhwm (self->sub, SOCKET_HWM);
    zsock_set_linger (self->sub, 0);
    if (self->curve_cert)
        curve_apply_client (self->sub, self->curve_cert, self->curve_key);
    uint8_t wire[PROTO_TOPIC_WIRE];
    proto_topic_to_wire (topic, wire);
    zmq_setsockopt (self->sub, ZMQ_SUBSCRIBE, wire, sizeof (wire));
    if (zmq_connect (self->sub, endpoint) != 0) {
        log_error ("%s: cannot connect to the PUB channel %s: %s", self->label, endpoint,
                   zmq_strerror (zmq_errno ()));
        s_channel_close (base);
        return PROKIT_ETRANSPORT;
    }
    self->sub_fd = zsock_fd (self->sub);
    if (transport_epoll_add (self->epoll_fd, self->sub_fd, TRANSPORT_READY_CHANNEL) != 0) {
        s_channel_close (base);
        return PROKIT_ETRANSPORT;
    }
    self->sub_drained = false; //  never read yet
    base->has_channel = true;
    return PROKIT_OK;
}

static void
s_attend (transport_t *base, bool attending)
{
    (void) base;
    (void) attending;
}

static bool
s_stats (transport_t *base, prokit_stats_t *stats, int *rc)
{
    (void) base;
    (void) stats;
    (void) rc;
    return false; //  asked for over the wire
}

static int
s_last_seen (transport_t *base, const char *name, long long *ms)
{
    (void) base;
    (void) name;
    (void) ms;
    return PROKIT_ENOTFOUND; //  only the router's own process knows
}

static const transport_ops_t s_ops = { s_destroy,      s_send,          s_collect,
                                       s_receive,      s_recycle,       s_channel_readable,
                                       s_unannounced,  s_next_event,    s_wait,
                                       s_channel_open, s_channel_close, s_attend,
                                       s_stats,        s_last_seen,     s_cork };

//  Load the certificate and the router's key, and make the DEALER a CURVE
//  client. PROKIT_EINVAL (logged) when either is missing or unreadable.
static int
s_setup_curve (socket_transport_t *self, const char *cert_path, const char *server_key_given)
{
    char why[256];
    char server_key[CURVE_KEY_TEXT + 1];
    if (!cert_path || !server_key_given) {
        log_error ("%s: CURVE needs both a certificate (PROKIT_CURVE_CERT) and the router's "
                   "public key (PROKIT_CURVE_SERVER_KEY)",
                   self->label);
        return PROKIT_EINVAL;
    }
    zcert_t *cert = curve_load_secret (cert_path, why, sizeof (why));
    if (!cert || !curve_server_key (server_key_given, server_key, why, sizeof (why))) {
        log_error ("%s: %s", self->label, why);
        zcert_destroy (&cert);
        return PROKIT_EINVAL;
    }
    curve_apply_client (self->dealer, cert, server_key);
    //  Kept for the PUB channel's SUB, which each session opens anew.
    self->curve_cert = cert;
    memcpy (self->curve_key, server_key, sizeof (self->curve_key));
    return PROKIT_OK;
}

static int
s_open (socket_transport_t *self, const char *cert_path, const char *server_key_given)
{
    if (!(self->dealer = sock_new (ZMQ_DEALER)) || !(self->monitor = sock_new (ZMQ_PAIR)))
        return sock_error (PROKIT_ENOMEM);
    zsock_set_linger (self->dealer, CLOSE_LINGER_MS);
    zsock_set_sndhwm (self->dealer, SOCKET_HWM);
    zsock_set_rcvhwm (self->dealer, SOCKET_HWM);
    //  ZMTP heartbeats of our own, so that a router that died or froze is
    //  noticed whatever we are doing (the TTL of its pings ends only a
    //  connection on which nothing follows the last ping). Safe since flow
    //  control keeps our queue from filling: libzmq 4.3 aborts when a
    //  connection whose input stopped on a full queue meets its ping
    //  timeout (issue 3937).
    int heartbeat_ivl = HEARTBEAT_IVL_MS;
    int heartbeat_timeout = HEARTBEAT_IVL_MS * HEARTBEAT_TIMEOUTS;
    zmq_setsockopt (self->dealer, ZMQ_HEARTBEAT_IVL, &heartbeat_ivl, sizeof (heartbeat_ivl));
    zmq_setsockopt (self->dealer, ZMQ_HEARTBEAT_TIMEOUT, &heartbeat_timeout,
                    sizeof (heartbeat_timeout));

    //  The monitor tells us when the connection drops, so requests in
    //  flight end with ECLOSED at once instead of at their deadline.
    char monitor_endpoint[64];
    snprintf (monitor_endpoint, sizeof (monitor_endpoint), "inproc://prokit-monitor-%llu",
              (unsigned long long) serial_next ());
    if (zmq_socket_monitor (self->dealer, monitor_endpoint,
                            ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
                                CURVE_HANDSHAKE_FAILURES) != 0 ||
        zmq_connect (self->monitor, monitor_endpoint) != 0)
        return PROKIT_ETRANSPORT;
    if (cert_path || server_key_given) {
        int rc = s_setup_curve (self, cert_path, server_key_given);
        if (rc != PROKIT_OK)
            return rc;
    }
    if (zmq_connect (self->dealer, self->endpoint) != 0) {
        log_error ("%s: cannot connect to %s: %s", self->label, self->endpoint,
                   zmq_strerror (zmq_errno ()));
        return PROKIT_ETRANSPORT;
    }
    self->monitor_fd = zsock_fd (self->monitor);
    self->dealer_fd = zsock_fd (self->dealer);
    if (transport_epoll_add (self->epoll_fd, self->dealer_fd, TRANSPORT_READY_SOCKET) != 0 ||
        transport_epoll_add (self->epoll_fd, self->monitor_fd, TRANSPORT_READY_EVENTS) != 0)
        return PROKIT_ETRANSPORT;
    return PROKIT_OK;
}

transport_t *
transport_socket_new (const char *label, const char *endpoint, const char *cert_path,
                      const char *server_key_given, int epoll_fd, int *error)
{
    socket_transport_t *self = (socket_transport_t *) calloc (1, sizeof (*self));
    if (!self) {
        *error = PROKIT_ENOMEM;
        return NULL;
    }
    self->base.ops = &s_ops;
    self->base.can_wait = true;
    self->epoll_fd = epoll_fd;
    self->dealer_fd = self->monitor_fd = self->sub_fd = -1;
    snprintf (self->label, sizeof (self->label), "%s", label);
    snprintf (self->endpoint, sizeof (self->endpoint), "%s", endpoint);
    int rc = s_open (self, cert_path, server_key_given);
    if (rc != PROKIT_OK) {
        s_destroy (&self->base, false);
        *error = rc;
        return NULL;
    }
    return &self->base;
}
