/*  client.c: one connection to a router, used by main and by windows.

    Everything here runs on the application's thread. How messages reach
    the router is the transport's business (transport.h: sockets, or
    memory for the embedded main); what is left is the session: the HELLO
    handshake and rejoins, ids and deadlines of requests, flow control and
    the accounting of what was sent, and turning messages into callbacks.
    Callbacks run only inside client_dispatch(), never inside a send or a
    blocking request, so the application always knows when its code can be
    re-entered.

    The pollable descriptor is an epoll set of: the transport's
    descriptors, a timerfd armed at the nearest request deadline, and an
    eventfd we poke whenever work is waiting that the others would not
    announce (events queued during a blocking request, a socket's
    announcement consumed by a send, a stop request). Each is tagged with
    what it announces (epoll data), so a dispatch knows what to look at.
*/
#include "client.h"

#include <czmq.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "account.h"
#include "clock.h"
#include "inbound.h"
#include "inflight.h"
#include "log.h"
#include "message_private.h"
#include "payload_private.h"
#include "prokit/error.h"
#include "proto.h"
#include "settle.h"
#include "sized.h"
#include "sock.h"
#include "table.h"
#include "tally.h"
#include "transport.h"
#include "wire.h"

#define DISPATCH_BATCH 1024
//  Internal inbound items (never on the wire): connection state changes,
//  queued so they reach the application in order with the messages.
#define INTERNAL_CONNECTION_LOST 0xF0
//  The WELCOME the router publishes on the PUB channel: our subscription
//  has arrived there, and the join is complete.
#define INTERNAL_CHANNEL_WELCOME 0xF1
#define BYE_WAIT_MS 500
//  Flow control: the router sends us at most CLIENT_WINDOW messages we
//  have not said we took in (CREDIT), far below the sockets' queues of
//  10000 (transport_socket.c), so that our queue never fills: libzmq stops
//  reading a connection whose queue is full, and its heartbeats with it.
//  We say so every CREDIT_BATCH.
#define CLIENT_WINDOW 4000
#define CREDIT_BATCH 500
//  And, once we have taken in all there was, whatever we have not said
//  yet, at most every CREDIT_IDLE_MS: so that a window that handled a few
//  messages and then died is not thought to have perhaps taken them in
//  (PROKIT_EUNCONFIRMED), at a cost of at most one CREDIT a millisecond.
#define CREDIT_IDLE_MS 1
//  How soon a round that could not send what it gathered tries again, ms.
#define GATHER_RETRY_MS 1
//  Outside a dispatch round, a REQUEST made with more than GATHER_AFTER in
//  flight is gathered, and sent at the next dispatch or GATHER_WAIT_MS
//  later, whichever comes first.
#define GATHER_AFTER 32
#define GATHER_WAIT_MS 1

//  How long main waits, after a router went, for each window it had sent
//  messages to to come back and say what it took in (account.h): as long
//  as a router keeps a lost session with the default heartbeats.
#define ACCOUNT_WAIT_MS 30000

//  A request handler of a named channel.
typedef struct handler {
    prokit_request_fn *fn;
    void *arg;
} handler_t;

struct client {
    transport_t *transport;
    //  The embedded main: in memory, joined from the start, never leaving
    //  its router until it closes it, and never blocking.
    bool embedded;
    //  The PUB channel, for a window whose router has one: everything main
    //  sends it arrives there, under the secret TOPIC its WELCOME gave.
    char topic[PROTO_TOPIC_SIZE + 1];
    bool channel_wait; //  WELCOME came; the channel's has not yet
    //  Since the last HELLO: messages read from the DEALER and from the
    //  channel, and the count last reported in a CREDIT. Inbound items
    //  still queued here are not taken in yet (queue_count).
    uint64_t dealer_read;
    uint64_t channel_read;
    uint64_t credit_sent;
    uint64_t channel_sent; //  the channel count last reported
    int64_t credit_at;     //  when we last sent a CREDIT (monotonic ms)
    int64_t gather_due;    //  when to try again to send what a round gathered; 0: nothing to
    int64_t credit_due;    //  when to say what we took in since, once idle; 0: nothing to
    size_t queue_count;
    size_t channel_queued; //  of those queued, how many came on the channel
    //  A channel session that ended without the router hearing its last
    //  count (the connection was lost, or main closed us): said in the
    //  next HELLO, or in a BYE, so that main learns exactly what we missed.
    proto_taken_t last;
    //  Our SENDs to each window in this session and what became of them
    //  (tally.h): if the router we lose is not the one we find again (its
    //  WELCOME's "instance"), what it never settled is reported undelivered.
    tallies_t *tallies;
    tallies_t *last_tallies; //  those of the session that was lost
    //  The SENDs we read from the DEALER in this session, per sender (name
    //  -> from_t), with the last sender's at hand; and those of the session
    //  that was lost, said in our next HELLO ("last_from").
    zhashx_t *taken_from;
    zhashx_t *last_from;
    //  The windows the router told us to hold our messages to (FLOW) while
    //  their queues are full: sends to them fail with PROKIT_EAGAIN until
    //  it says they have room (name -> itself). Ends with the session.
    zhashx_t *held;
    char from_name[PROTO_NAME_MAX + 1];
    struct from *from_count;
    //  Main, attached to a router that keeps its account (WELCOME
    //  "account"): what it must hear of if that router goes (account.h).
    //  NULL: none kept.
    account_t *account;
    account_t *last_account; //  of the session that was lost
    //  What routers that went never settled, waiting for the windows to
    //  say what they took in (settle.h).
    settle_t *settle;
    char instance[PROTO_TOPIC_SIZE + 1];
    char last_instance[PROTO_TOPIC_SIZE + 1];
    char endpoint[PROTO_CHANNEL_MAX]; //  the router's, as connected to
    int epoll_fd;
    int timer_fd;
    int wake_fd;
    //  What is known between dispatches, so that sends and dispatches make
    //  only the system calls that can matter:
    unsigned sends_since_dispatch; //  outside dispatch, since the last one
    bool wake_pending;             //  we poked wake_fd; no dispatch since
    bool awaiting;                 //  a blocking call is about to read the socket itself
    int64_t timer_at;              //  the deadline timer_fd is armed at, 0: disarmed
    char name[PROTO_NAME_MAX + 1];
    char label[PROTO_NAME_MAX + 16]; //  for logs: "main" or "window 'x'"
    proto_hello_t hello;             //  what HELLO says of us
    bool connected;                  //  joined, and the connection is up
    bool joining;                    //  reconnected, HELLO sent, no answer yet
    bool lost;                       //  the connection was lost: rejoin when it is back
    bool closed;                     //  main closed us (CLOSE): our BYE says what we took in
    uint64_t join_id;                //  the id of that HELLO
    uint64_t next_request_id;
    uint64_t next_send_id;
    size_t max_payload;
    int version; //  the wire version we send in: 1 until WELCOME says more
    int request_timeout_ms;
    inflight_t *inflight; //  our requests awaiting an answer, by id and by deadline
    inbound_t *queue_head, *queue_tail;
    //  Windows' SENDs to windows are confirmed by the router (RECEIPT);
    //  main's messages to windows are not (yet): main keeps no tallies.
    bool keeps_tallies;
    prokit_request_t *deferred;
    size_t deferred_count;
    size_t max_deferred; //  0: no limit
    bool deferred_limit_said;
    prokit_request_t *spare_request; //  one kept for the next request handled
    //  Request handlers: the default channel's, and the named channels'
    //  (channel name -> handler_t).
    prokit_request_fn *handler;
    void *handler_arg;
    zhashx_t *handlers;
    bool channels;  //  the router routes named channels (WELCOME "channels")
    bool deadlines; //  the router passes on deadlines (WELCOME "deadlines")
    //  The time left our REQUESTs say by saying none: our HELLO's
    //  "default_deadline", once the WELCOME says the router applies it.
    //  0: each says its own.
    uint64_t default_deadline;
    //  The router's clock less ours (WELCOME "clock"): a REQUEST's deadline
    //  comes on the router's clock. 0 for the embedded main (one clock).
    int64_t clock_offset;
    const client_events_t *events;
    void *owner;
    prokit_undelivered_fn *undelivered_fn; //  the application's
    void *undelivered_arg;
    prokit_connection_fn *connection_fn;
    void *connection_arg;
    atomic_int stop_requested;
    int dispatching;          //  depth of client_dispatch() calls under way
    int refused;              //  the last failed security handshake's event, 0: none
    const char *refused_text; //  and why
    bool abandoned;           //  the join failed: drop what is queued when closing
};

//  Make the pollable descriptor readable. Any thread may call this.
static void
s_wake (client_t *self)
{
    uint64_t one = 1;
    ssize_t rc = write (self->wake_fd, &one, sizeof (one));
    (void) rc; //  an eventfd at its maximum is still readable: nothing lost
}

//  The same from the handle's own thread, which then knows the next
//  dispatch will look at everything.
static void
s_wake_own (client_t *self)
{
    if (!self->wake_pending) {
        self->wake_pending = true;
        s_wake (self);
    }
}

//  A send may swallow the announcement of messages waiting for us
//  (transport_unannounced()); announce them ourselves. Asking costs a poll
//  and a getpid each time, so only the first send after a dispatch asks. A
//  second one, a burst, pokes our own eventfd once instead: the next
//  dispatch then checks everything, and the sends in between cost nothing
//  more.
static void
s_rearm_after_send (client_t *self)
{
    //  Inside dispatch this is done once, at its end; a blocking call
    //  reads the socket itself, and does it when it returns.
    if (self->dispatching || self->awaiting || self->wake_pending)
        return;
    if (self->sends_since_dispatch++ > 0 || transport_unannounced (self->transport))
        s_wake_own (self);
}

//  Poke our eventfd if messages wait that would not be announced: after
//  anything that may have swallowed an announcement (a send, a poll)
//  without reading to empty.
static void
s_announce_waiting (client_t *self)
{
    if (transport_unannounced (self->transport))
        s_wake_own (self);
}

//  --- the deadline list -----------------------------------------------------

//  Arm the timerfd at the nearest deadline, or disarm it: only when that
//  changed, as this runs after every dispatch.
static void
s_arm_timer (client_t *self)
{
    int64_t at = 0; //  disarmed
    inflight_entry_t *first = inflight_earliest (self->inflight);
    if (first)
        at = first->deadline > 0 ? first->deadline : 1;
    int64_t settling = settle_deadline (self->settle);
    if (settling && (!at || settling < at))
        at = settling;
    if (self->credit_due && (!at || self->credit_due < at))
        at = self->credit_due;
    if (self->gather_due && (!at || self->gather_due < at))
        at = self->gather_due;
    //  Armed earlier than needed (the nearest deadline moved later, or
    //  none is left), it only wakes a dispatch that finds nothing due and
    //  arms it again: cheaper than a timerfd_settime for every answer.
    if (at == self->timer_at || (self->timer_at != 0 && (at == 0 || at > self->timer_at)))
        return;
    struct itimerspec spec;
    memset (&spec, 0, sizeof (spec));
    spec.it_value.tv_sec = at / 1000;
    spec.it_value.tv_nsec = (at % 1000) * 1000000;
    if (timerfd_settime (self->timer_fd, TFD_TIMER_ABSTIME, &spec, NULL) == 0)
        self->timer_at = at;
}

//  End a pending request with an outcome and free it. The reply lives on
//  the stack: the callback borrows it.
static void
s_pending_finish (client_t *self, inflight_entry_t *pending, int status, zmq_msg_t *body,
                  int app_code, const char *text)
{
    //  On the stack, and filled field by field: the error text alone is a
    //  kilobyte, and most replies have none.
    prokit_reply_t reply;
    reply.status = status;
    reply.app_code = app_code;
    reply.payload = NULL;
    if (body) {
        payload_borrowed (&reply.payload_storage, body);
        reply.payload = &reply.payload_storage;
    }
    strcpy (reply.target, pending->peer);
    if (text && *text)
        snprintf (reply.text, sizeof (reply.text), "%s", text);
    else
        reply.text[0] = 0;
    prokit_reply_fn *fn = pending->fn;
    void *arg = pending->arg;
    inflight_remove (self->inflight, pending);
    fn (&reply, arg);
    reply_release (&reply);
}

static void
s_fail_all_pending (client_t *self, int status, const char *text)
{
    inflight_entry_t *pending;
    while ((pending = inflight_earliest (self->inflight)) != NULL)
        s_pending_finish (self, pending, status, NULL, 0, text);
}

static void
s_expire (client_t *self)
{
    int64_t now = clock_mono_ms ();
    inflight_entry_t *first;
    while ((first = inflight_earliest (self->inflight)) != NULL && first->deadline <= now) {
        char text[128];
        snprintf (text, sizeof (text), "no reply from '%s' in time", first->peer);
        s_pending_finish (self, first, PROKIT_ETIMEDOUT, NULL, 0, text);
    }
}

//  --- sending ---------------------------------------------------------------

//  Send one protocol message to TO (its peer field's parts). BODY (taken)
//  or BODY_BYTES. Returns PROKIT_OK, PROKIT_EAGAIN when the queue to the
//  router is full, PROKIT_ECLOSED.
static int
s_send_to (client_t *self, proto_command_t command, uint64_t id, const proto_peer_t *to,
           prokit_payload_t **body, const void *body_bytes, size_t body_size)
{
    //  A payload stays the caller's until it is sent: the frame shares its
    //  buffer (zmq_msg_copy() copies no bytes but a small message's few).
    zmq_msg_t frame;
    zmq_msg_init (&frame);
    if (body)
        zmq_msg_copy (&frame, payload_frame (*body));
    else if (wire_body_copy (&frame, body_bytes, body_size) != 0)
        return PROKIT_ENOMEM;
    int rc = transport_send (self->transport, self->version, command, id, to, &frame);
    if (rc == PROKIT_OK)
        s_rearm_after_send (self);
    if (rc == PROKIT_OK && body)
        prokit_payload_destroy (body);
    return rc;
}

//  The same to PEER, a name alone ("" for none).
static int
s_send (client_t *self, proto_command_t command, uint64_t id, const char *peer,
        prokit_payload_t **body, const void *body_bytes, size_t body_size)
{
    proto_peer_t to = { peer, 0, NULL };
    return s_send_to (self, command, id, &to, body, body_bytes, body_size);
}

//  Checks shared by every call that sends a payload, on CHANNEL (NULL or
//  "": the default one); *payload_p stays the caller's on failure.
static int
s_check_outgoing (client_t *self, const char *target, const char *channel, bool allow_main,
                  prokit_payload_t **payload_p)
{
    int rc = PROKIT_OK;
    bool named = channel && channel[0];
    if (!self || !payload_p || !*payload_p)
        rc = PROKIT_EINVAL;
    else if (target && !(allow_main ? proto_peer_name_valid (target, strlen (target))
                                    : proto_window_name_valid (target, strlen (target))))
        rc = PROKIT_EINVAL;
    else if (named && !proto_channel_name_valid (channel, strlen (channel)))
        rc = PROKIT_EINVAL;
    else if (prokit_payload_size (*payload_p) > self->max_payload)
        rc = PROKIT_ETOOBIG;
    else if (!self->connected)
        rc = PROKIT_ECLOSED;
    else if (named && !self->channels)
        rc = PROKIT_EVERSION; //  a router that predates named channels
    else if (target && self->held && zhashx_size (self->held) > 0 &&
             zhashx_lookup (self->held, target))
        rc = PROKIT_EAGAIN; //  its queue is full: the router says when it has room
    return rc;
}

//  --- what was sent --------------------------------------------------------------

//  Forget what a session sent: its TALLIES and its ACCOUNT.
static void
s_sent_clear (tallies_t **tallies, account_t **account_p)
{
    tallies_destroy (tallies);
    account_destroy (account_p);
}

int
client_send (client_t *self, const char *target, const char *channel, prokit_payload_t **payload_p)
{
    int rc = s_check_outgoing (self, target, channel, false, payload_p);
    if (rc != PROKIT_OK)
        return rc;
    proto_peer_t to = { target ? target : "", 0, channel };
    uint64_t id = PROTO_ID_ONE_WAY_BIT | ++self->next_send_id;
    //  Counted after the send, which may free the payload that owns TARGET:
    //  a copy then (the name was checked above).
    const char *name = target ? target : "";
    char copy[PROTO_NAME_MAX + 1];
    bool counted = self->account || self->keeps_tallies;
    if (counted && target)
        name = (const char *) memcpy (copy, target, strlen (target) + 1);
    rc = s_send_to (self, target ? PROTO_SEND : PROTO_BROADCAST, id, &to, payload_p, NULL, 0);
    if (rc != PROKIT_OK || !counted)
        return rc;
    account_sent (self->account, name, id);
    if (target && self->keeps_tallies) {
        if (!self->tallies)
            self->tallies = tallies_new (); //  NULL when out of memory: at worst a report missed
        tallies_sent (self->tallies, name, id);
    }
    return rc;
}

int
client_control (client_t *self, int command, const char *target)
{
    if (!self || !target || !proto_window_name_valid (target, strlen (target)))
        return PROKIT_EINVAL;
    if (!self->connected)
        return PROKIT_ECLOSED;
    uint64_t id = PROTO_ID_ONE_WAY_BIT | ++self->next_send_id;
    return s_send (self, (proto_command_t) command, id, target, NULL, "", 0);
}

static int
s_deadline_for (client_t *self, int timeout_ms)
{
    return timeout_ms > 0 ? timeout_ms : self->request_timeout_ms;
}

//  The time left a REQUEST says it has (its deadline travels with it), 0
//  when the router would not read it, or when it is the default the router
//  applies: the peer field then stays short enough for libzmq to keep the
//  frame inline, without an allocation.
static uint32_t
s_ttl_for (client_t *self, int timeout_ms)
{
    if (!self->deadlines)
        return 0;
    uint32_t ttl = (uint32_t) s_deadline_for (self, timeout_ms);
    return ttl == self->default_deadline ? 0 : ttl;
}

int
client_request (client_t *self, const char *target, const char *channel,
                prokit_payload_t **payload_p, int timeout_ms, prokit_reply_fn *fn, void *arg,
                prokit_progress_fn *progress, void *progress_arg, uint64_t *id_p)
{
    if (!fn)
        return PROKIT_EINVAL;
    if (!target)
        target = PROTO_MAIN_NAME;
    int rc = s_check_outgoing (self, target, channel, true, payload_p);
    if (rc != PROKIT_OK)
        return rc;
    inflight_entry_t *earliest = inflight_earliest (self->inflight);
    int64_t deadline = clock_mono_ms () + s_deadline_for (self, timeout_ms);
    inflight_entry_t *pending =
        inflight_add (self->inflight, ++self->next_request_id, target, deadline);
    if (!pending)
        return PROKIT_ENOMEM;
    pending->fn = fn;
    pending->arg = arg;
    pending->progress = progress;
    pending->progress_arg = progress_arg;
    proto_peer_t to = { target, s_ttl_for (self, timeout_ms), channel };
    uint64_t id = pending->id;
    //  With many in flight already, it joins the next BATCH: sent at the
    //  next dispatch (answers are on their way) or at GATHER_DUE, whichever
    //  comes first.
    if (!self->dispatching && self->transport->batches &&
        inflight_size (self->inflight) > GATHER_AFTER) {
        transport_cork (self->transport, TRANSPORT_CORK);
        if (!self->gather_due) {
            self->gather_due = clock_mono_ms () + GATHER_WAIT_MS;
            earliest = NULL; //  the timer is armed below
        }
    }
    rc = s_send_to (self, PROTO_REQUEST, pending->id, &to, payload_p, NULL, 0);
    if (rc != PROKIT_OK) {
        inflight_remove (self->inflight, pending);
        return rc;
    }
    if (id_p)
        *id_p = id;
    if (!earliest || deadline < earliest->deadline)
        s_arm_timer (self);
    return PROKIT_OK;
}

int
client_cancel (client_t *self, uint64_t id)
{
    inflight_entry_t *pending = self ? inflight_find (self->inflight, id, NULL) : NULL;
    if (!pending)
        return PROKIT_ENOTFOUND;
    //  The handler hears of it if the CANCEL can go now; either way the
    //  request has its outcome, and a late answer finds nobody waiting.
    if (self->connected)
        s_send (self, PROTO_CANCEL, id, pending->peer, NULL, "", 0);
    s_pending_finish (self, pending, PROKIT_ECANCELED, NULL, 0, "cancelled by the requester");
    return PROKIT_OK;
}

int
client_progress (client_t *self, const char *requester, uint64_t id, prokit_payload_t **body_p)
{
    if (!self->connected && !(self->joining && self->channel_wait))
        return PROKIT_ECLOSED;
    if (prokit_payload_size (*body_p) > self->max_payload)
        return PROKIT_ETOOBIG;
    return s_send (self, PROTO_PROGRESS, id, requester, body_p, NULL, 0);
}

int
client_answer (client_t *self, const char *requester, uint64_t id, prokit_payload_t **body_p,
               int code, int app_code, const char *text)
{
    //  Rejoining, between the WELCOME on the DEALER and the one on the
    //  channel, the router already counts us in and may hand us requests
    //  (the channel's WELCOME comes on another socket): they are answered.
    if (!self->connected && !(self->joining && self->channel_wait))
        return PROKIT_ECLOSED;
    if (body_p) {
        if (prokit_payload_size (*body_p) > self->max_payload) {
            //  The requester must not wait for a reply we cannot send; the
            //  payload stays the caller's.
            char why[96];
            snprintf (why, sizeof (why), "reply exceeds the limit of %zu bytes", self->max_payload);
            client_answer (self, requester, id, NULL, PROKIT_ETOOBIG, 0, why);
            return PROKIT_ETOOBIG;
        }
        return s_send (self, PROTO_REPLY, id, requester, body_p, NULL, 0);
    }
    uint8_t body[PROTO_ERROR_BODY_MAX];
    size_t size = proto_error_encode (body, code, text, app_code);
    return s_send (self, PROTO_ERROR, id, requester, NULL, body, size);
}

//  What we took in from one sender in this session: how many SENDs, the
//  ids of the first and the last. A sender's ids grow while its process
//  lives: one that does not is another process under the name, and its
//  SENDs are counted from it on (its senders number theirs from their
//  first, tally.h).
typedef struct from {
    uint64_t count;
    uint64_t first;
    uint64_t last;
} from_t;

//  One more SEND read from the DEALER from SENDER, with id ID (said in our
//  next HELLO if the router goes; see taken_from).
static void
s_count_from (client_t *self, const char *sender, uint64_t id)
{
    if (!self->from_count || strcmp (self->from_name, sender) != 0) {
        self->from_count = (from_t *) table_item (&self->taken_from, sender, sizeof (from_t));
        snprintf (self->from_name, sizeof (self->from_name), "%s", self->from_count ? sender : "");
    }
    from_t *from = self->from_count;
    if (!from)
        return;
    if (from->count == 0 || id <= from->last) {
        from->count = 0;
        from->first = id;
    }
    from->count++;
    from->last = id;
}

//  --- receiving -------------------------------------------------------------

//  Receive one message from the router's socket, or from the PUB channel
//  when CHANNEL, without blocking, and count it into the session. Returns
//  1 with *ITEM_P set (the caller's, as transport_receive() hands it),
//  0 when nothing is waiting, -1 when what arrived was malformed or out of
//  place (dropped).
static int
s_receive_from (client_t *self, bool channel, inbound_t **item_p)
{
    int got = transport_receive (self->transport, channel, item_p);
    if (got == 0)
        return 0;
    if (!channel)
        self->dealer_read++; //  the router counts whatever it sends, malformed or not
    if (got < 0)
        return -1;
    inbound_t *item = *item_p;
    if (item->deadline)
        item->deadline -= self->clock_offset; //  the router's clock made ours
    uint8_t command = item->command;
    if (channel && command == PROTO_WELCOME) {
        item->command = INTERNAL_CHANNEL_WELCOME;
        strcpy (item->peer, self->name);
    }
    //  What main's sends and broadcasts accepted is accounted for: of what
    //  comes on the channel, those are counted (the rest have outcomes of
    //  their own: replies answer requests, requests get answered).
    item->channel = channel && (command == PROTO_SEND || command == PROTO_BROADCAST);
    if (item->channel)
        self->channel_read++;
    else if (!channel && command == PROTO_SEND && self->hello.took && item->peer[0])
        s_count_from (self, item->peer, item->id);
    //  The router counts what it sends us from its WELCOME on (the first):
    //  what came between our HELLO and it (its refusals of what the last
    //  connection still carried) is not part of the session's count.
    if (!channel && command == PROTO_WELCOME && !self->connected &&
        item->id == (self->joining ? self->join_id : 0))
        self->dealer_read = 1;
    if (channel && !self->connected && !self->channel_wait) {
        //  Left over from a session that has ended: not ours any more.
        zmq_msg_close (&item->body);
        transport_recycle (self->transport, item);
        return -1;
    }
    return 1;
}

//  The next message from the DEALER while *READ_DEALER, else from the
//  channel while *READ_CHANNEL; each flag is cleared once its socket is
//  read to empty, so that a pass over both reads each empty one once (a
//  read that finds nothing costs libzmq a poll and a getpid). True with a
//  message in *ITEM (s_receive_from()); a message dropped as it is read
//  (s_receive_from()'s -1) is passed over.
static bool
s_receive_next (client_t *self, bool *read_dealer, bool *read_channel, inbound_t **item)
{
    while (*read_dealer) {
        int got = s_receive_from (self, false, item);
        if (got > 0)
            return true;
        if (got == 0)
            *read_dealer = false;
    }
    while (*read_channel && self->transport->has_channel) {
        int got = s_receive_from (self, true, item);
        if (got > 0)
            return true;
        if (got == 0)
            break;
    }
    *read_channel = false;
    return false;
}

//  Move FROM's fields into TO, which was not initialised; FROM's body is
//  left empty (zmq_msg_init(3): a zmq_msg_t is moved, never copied).
static void
s_item_move (inbound_t *to, inbound_t *from)
{
    to->command = from->command;
    to->id = from->id;
    to->channel = from->channel;
    strcpy (to->peer, from->peer);
    strcpy (to->channel_name, from->channel_name);
    to->deadline = from->deadline;
    zmq_msg_init (&to->body);
    zmq_msg_move (&to->body, &from->body);
    to->next = NULL;
}

//  Queue ITEM (received, or made with malloc()) for a later dispatch: it
//  is the queue's from now on.
static void
s_enqueue (client_t *self, inbound_t *item)
{
    item->next = NULL;
    if (self->queue_tail)
        self->queue_tail->next = item;
    else
        self->queue_head = item;
    self->queue_tail = item;
    self->queue_count++;
    if (item->channel)
        self->channel_queued++;
}

//  What we took in from the DEALER in this session: read, and handed on.
static uint64_t
s_dealer_taken (const client_t *self)
{
    size_t queued = self->queue_count - self->channel_queued;
    return self->dealer_read > queued ? self->dealer_read - queued : 0;
}

//  What we took in from the channel in this session: read, and handed on.
static uint64_t
s_channel_taken (const client_t *self)
{
    return self->channel_read - self->channel_queued;
}

//  Tell the router what we have taken in, once CREDIT_BATCH more than we
//  last said, or, IDLE, anything more (true when we did): what is still
//  queued here does not count, so the router never has us hold more than
//  our window, in libzmq's queue and ours.
static bool
s_grant_credit_when (client_t *self, bool idle)
{
    if (!self->hello.credit || !self->connected)
        return false; //  no flow control asked for (the embedded main)
    uint64_t consumed = s_dealer_taken (self);
    uint64_t channel = s_channel_taken (self);
    uint64_t batch = idle ? 1 : CREDIT_BATCH;
    if ((consumed < self->credit_sent || consumed - self->credit_sent < batch) &&
        (channel < self->channel_sent || channel - self->channel_sent < batch))
        return false;
    proto_credit_t credit = { consumed > self->credit_sent ? consumed : self->credit_sent,
                              channel };
    uint8_t body[PROTO_CREDIT_BODY_MAX];
    size_t size = proto_credit_encode (body, &credit);
    if (s_send (self, PROTO_CREDIT, 0, "", NULL, body, size) != PROKIT_OK)
        return false;
    self->credit_sent = credit.consumed;
    self->channel_sent = channel;
    self->credit_at = clock_mono_ms ();
    self->credit_due = 0;
    return true;
}

static bool
s_grant_credit (client_t *self)
{
    return s_grant_credit_when (self, false);
}

//  We have taken in all there was: say so now, or, within CREDIT_IDLE_MS
//  of the last CREDIT, once that much time has passed (the timer).
static void
s_grant_credit_idle (client_t *self)
{
    if (!self->hello.credit || !self->connected || self->queue_head ||
        (s_dealer_taken (self) <= self->credit_sent &&
         s_channel_taken (self) <= self->channel_sent))
        return; //  nothing to say (the clock is read only when there is)
    if (clock_mono_ms () >= self->credit_at + CREDIT_IDLE_MS)
        s_grant_credit_when (self, true);
    else
        self->credit_due = self->credit_at + CREDIT_IDLE_MS;
}

//  Take channel messages out of our queue: they came after the session
//  ended for the router (main closed us), so they are not ours to hand on.
static void
s_purge_channel_items (client_t *self)
{
    inbound_t **link = &self->queue_head;
    self->queue_tail = NULL;
    while (*link) {
        inbound_t *item = *link;
        if (item->channel) {
            *link = item->next;
            zmq_msg_close (&item->body);
            free (item);
            self->queue_count--;
            self->channel_queued--;
            self->channel_read--;
        }
        else {
            self->queue_tail = item;
            link = &item->next;
        }
    }
}

//  A new HELLO starts the counts anew: the router counts from it too (on
//  the DEALER from its WELCOME, where s_receive_from() starts again).
static void
s_counts_reset (client_t *self)
{
    zhashx_destroy (&self->taken_from);
    self->from_count = NULL;
    self->dealer_read = self->channel_read = self->credit_sent = self->channel_sent = 0;
    self->credit_due = 0;
}

static void
s_channel_close (client_t *self)
{
    transport_channel_close (self->transport);
    self->channel_wait = false;
}

//  Open the PUB channel the router announced and subscribe to TOPIC. The
//  join completes with the WELCOME the router then publishes under it.
static int
s_channel_open (client_t *self, const char *channel, const char *topic)
{
    memcpy (self->topic, topic, PROTO_TOPIC_SIZE + 1);
    int rc = transport_channel_open (self->transport, channel, topic);
    //  Its first message, the WELCOME, will be announced on its descriptor.
    self->channel_wait = rc == PROKIT_OK;
    return rc;
}

//  The router has let us in: take its settings, and the wire version it
//  sends in, which is then ours too; open the PUB channel if it has one
//  for us (then self->channel_wait until the join completes there).
static int
s_welcomed (client_t *self, const zmq_msg_t *body)
{
    proto_welcome_t welcome;
    memset (&welcome, 0, sizeof (welcome));
    welcome.max_payload = self->max_payload;
    proto_welcome_decode (zmq_msg_data ((zmq_msg_t *) body), zmq_msg_size ((zmq_msg_t *) body),
                          &welcome);
    if (welcome.max_payload > 0 && welcome.max_payload < SIZE_MAX)
        self->max_payload = (size_t) welcome.max_payload;
    self->version = proto_version_common (welcome.version);
    memcpy (self->instance, welcome.instance, sizeof (self->instance));
    self->channels = welcome.channels;
    self->deadlines = welcome.deadlines;
    self->transport->batches = welcome.batch && self->version >= PROTO_VERSION_2;
    self->default_deadline = welcome.deadlines && welcome.default_deadline &&
                                     welcome.default_deadline == self->hello.default_deadline
                                 ? welcome.default_deadline
                                 : 0;
    //  The router's clock less ours, each read to the millisecond: off by
    //  up to 1 ms either way (and by the WELCOME's transit, which only
    //  makes deadlines early). One more makes a deadline never later than
    //  the requester's: a handler never sees more time than was given.
    self->clock_offset = welcome.clock_ms ? (int64_t) welcome.clock_ms + 1 - clock_mono_ms () : 0;
    account_destroy (&self->account);
    if (welcome.account)
        self->account = account_new (); //  NULL when out of memory: at worst reports missed
    if (welcome.channel[0] && strlen (welcome.topic) == PROTO_TOPIC_SIZE)
        return s_channel_open (self, welcome.channel, welcome.topic);
    s_channel_close (self);
    return PROKIT_OK;
}

//  The session with the router has ended: the connection was lost, or the
//  router ended it. CODE and WHY are what the application hears
//  (PROKIT_ECLOSED; PROKIT_EACCES when our key is no longer allowed).
static void
s_session_ends (client_t *self, int code, const char *why)
{
    if (!self->connected && !self->joining)
        return;
    //  What main sent before the loss and has reached us is ours: it is
    //  delivered, in order, ahead of the loss itself. The channel then
    //  closes: whatever else comes on it belongs to no session of ours.
    if (self->connected) {
        inbound_t *item;
        int got;
        while (self->transport->has_channel && (got = s_receive_from (self, true, &item)) != 0)
            if (got > 0)
                s_enqueue (self, item);
        //  The same for what the DEALER still holds of the old connection.
        while ((got = s_receive_from (self, false, &item)) != 0)
            if (got > 0)
                s_enqueue (self, item);
        //  All of it will be handed on: our next HELLO says so (off the
        //  channel, the router knows the session by our name).
        if (self->transport->has_channel) {
            memcpy (self->last.topic, self->topic, sizeof (self->last.topic));
            self->last.count = self->channel_read;
            //  And from whom the DEALER's SENDs came, for their senders.
            zhashx_destroy (&self->last_from);
            self->last_from = self->taken_from;
            self->taken_from = NULL;
            self->from_count = NULL;
        }
        self->last.dealer = self->dealer_read;
    }
    s_channel_close (self);
    //  What we gathered for this session's router is for no other: it
    //  counts as sent and unconfirmed, as anything else still queued.
    transport_cork (self->transport, TRANSPORT_DROP);
    self->transport->batches = false;
    self->gather_due = 0;
    if (self->held)
        zhashx_purge (self->held); //  the next router has refused nothing yet
    //  What the router had not settled of our SENDs waits for the next
    //  WELCOME: the same router settles it itself, another cannot. (Only
    //  a joined session's: a join lost halfway has sent nothing.)
    if (self->connected) {
        s_sent_clear (&self->last_tallies, &self->last_account);
        self->last_tallies = self->tallies;
        self->last_account = self->account;
        self->tallies = NULL;
        self->account = NULL;
        memcpy (self->last_instance, self->instance, sizeof (self->last_instance));
    }
    //  Requests in flight are ended by the next dispatch, and the
    //  application hears of it there too: never inside a blocking request.
    self->connected = false;
    self->joining = false;
    self->lost = true;
    self->version = PROTO_VERSION_1; //  whoever answers next may be older
    log_warn ("%s: %s", self->label, why);
    inbound_t *item = (inbound_t *) calloc (1, sizeof (*item));
    if (item) {
        item->command = INTERNAL_CONNECTION_LOST;
        item->id = (uint64_t) (int64_t) code;
        if (wire_body_copy (&item->body, why, strlen (why) + 1) != 0)
            zmq_msg_init (&item->body);
        s_enqueue (self, item);
    }
    else
        log_error ("%s: out of memory: the connection's loss is not reported", self->label);
    s_wake (self);
}

static void
s_connection_lost (client_t *self, const char *why)
{
    s_session_ends (self, PROKIT_ECLOSED, why);
}

//  libzmq has reconnected to the router (it restarted, or the network came
//  back): claim our name again. The answer arrives like any message.
static void
s_rejoin (client_t *self)
{
    //  Only after a loss: the first connection's own handshake event, or a
    //  window main closed, must not join again.
    if (self->connected || self->joining || !self->lost)
        return;
    uint8_t hello[PROTO_HELLO_BODY_MAX];
    memcpy (self->hello.last.topic, self->last.topic, sizeof (self->hello.last.topic));
    self->hello.last.count = self->last.count;
    self->hello.last.dealer = self->last.dealer;
    proto_from_t from[PROTO_FROM_MAX];
    size_t from_count = 0;
    for (from_t *taken = self->last.topic[0] && self->last_from
                             ? (from_t *) zhashx_first (self->last_from)
                             : NULL;
         taken && from_count < PROTO_FROM_MAX; taken = (from_t *) zhashx_next (self->last_from))
        from[from_count++] = (proto_from_t){ (const char *) zhashx_cursor (self->last_from),
                                             taken->count, taken->first };
    self->hello.from = from;
    self->hello.from_count = from_count;
    size_t size = proto_hello_encode (hello, &self->hello);
    self->hello.from = NULL;
    self->hello.from_count = 0;
    self->hello.last.topic[0] = 0;
    self->hello.last.count = self->hello.last.dealer = 0;
    self->join_id = ++self->next_request_id;
    s_counts_reset (self);
    if (s_send (self, PROTO_HELLO, self->join_id, self->name, NULL, hello, size) == PROKIT_OK)
        self->joining = true;
}

static void
s_notify_connection (client_t *self, int event, int code, const char *text)
{
    if (self->events->on_connection)
        self->events->on_connection (self->owner, event, code, text);
    if (self->connection_fn)
        self->connection_fn ((prokit_connection_event_t) event, code, text, self->connection_arg);
}

//  COUNT messages to TARGET were not delivered.
static void
s_notify_undelivered (client_t *self, const char *target, uint64_t count, int code,
                      const char *text)
{
    if (!self->undelivered_fn) {
        log_warn ("%s: %llu message(s) to '%s' not delivered: %s", self->label,
                  (unsigned long long) count, target, text);
        return;
    }
    for (uint64_t i = 0; i < count; i++)
        self->undelivered_fn (target, code, text, self->undelivered_arg);
}

static void
s_forget_deferred (client_t *self, prokit_request_t *request)
{
    if ((request->prev || self->deferred == request) && self->deferred_count > 0)
        self->deferred_count--;
    if (request->prev)
        request->prev->next = request->next;
    else if (self->deferred == request)
        self->deferred = request->next;
    if (request->next)
        request->next->prev = request->prev;
    request->prev = request->next = NULL;
}

//  How the requests we hand out are answered (message_private.h).
static int
s_answer_for (void *owner, const char *requester, uint64_t id, prokit_payload_t **body_p, int code,
              int app_code, const char *text)
{
    return client_answer ((client_t *) owner, requester, id, body_p, code, app_code, text);
}

static void
s_forget_for (void *owner, prokit_request_t *request)
{
    s_forget_deferred ((client_t *) owner, request);
}

static int
s_progress_for (void *owner, const char *requester, uint64_t id, prokit_payload_t **body_p)
{
    return client_progress ((client_t *) owner, requester, id, body_p);
}

static const request_answerer_t s_answerer = { s_answer_for, s_progress_for, s_forget_for };

//  CANCEL from the router: the request ITEM->id from ITEM->peer, if it is
//  still deferred here, is marked (prokit_request_is_cancelled()).
static void
s_handle_cancel (client_t *self, const inbound_t *item)
{
    for (prokit_request_t *request = self->deferred; request; request = request->next)
        if (request->id == item->id && strcmp (request->sender, item->peer) == 0) {
            request->cancelled = true;
            return;
        }
}

//  PROGRESS for one of our requests: to its progress callback, if any.
static void
s_handle_progress (client_t *self, inbound_t *item)
{
    inflight_entry_t *pending = inflight_find (self->inflight, item->id, NULL);
    if (pending && strcmp (pending->peer, item->peer) == 0 && pending->progress) {
        prokit_payload_t payload;
        payload_borrowed (&payload, &item->body);
        pending->progress (&payload, pending->progress_arg);
        payload_release (&payload);
        return;
    }
    zmq_msg_close (&item->body);
}

//  Is ITEM, a request, to be handed to a handler? Not past the limit of
//  requests kept waiting, nor past its deadline: then it is answered with
//  an ERROR here (its body closed) and false.
static bool
s_request_admitted (client_t *self, inbound_t *item)
{
    if (self->max_deferred && self->deferred_count >= self->max_deferred) {
        char text[256];
        snprintf (text, sizeof (text),
                  "%s has %zu requests waiting for an answer: the limit is %zu", self->label,
                  self->deferred_count, self->max_deferred);
        if (!self->deferred_limit_said)
            log_warn ("%s (PROKIT_ELIMIT to '%s', and to those after until it is within)", text,
                      item->peer);
        self->deferred_limit_said = true;
        client_answer (self, item->peer, item->id, NULL, PROKIT_ELIMIT, 0, text);
        zmq_msg_close (&item->body);
        return false;
    }
    self->deferred_limit_said = false;
    if (item->deadline && clock_mono_ms () >= item->deadline) {
        //  Its requester has had its outcome (PROKIT_ETIMEDOUT): the handler
        //  never sees it. The ERROR settles it at the router, and is dropped
        //  at the requester as late.
        char text[160];
        snprintf (text, sizeof (text), "its deadline passed before %s could handle it",
                  self->label);
        log_debug ("%s: request %llu from '%s' discarded: %s", self->label,
                   (unsigned long long) item->id, item->peer, text);
        client_answer (self, item->peer, item->id, NULL, PROKIT_ETIMEDOUT, 0, text);
        zmq_msg_close (&item->body);
        return false;
    }
    return true;
}

//  The handler for ITEM's channel (its argument in *ARG), or NULL: then
//  the requester has been told (PROKIT_ENOHANDLER) and ITEM's body closed.
static prokit_request_fn *
s_handler_for (client_t *self, inbound_t *item, void **arg)
{
    prokit_request_fn *fn = self->handler;
    *arg = self->handler_arg;
    if (item->channel_name[0]) {
        handler_t *handler = self->handlers
                                 ? (handler_t *) zhashx_lookup (self->handlers, item->channel_name)
                                 : NULL;
        fn = handler ? handler->fn : NULL;
        *arg = handler ? handler->arg : NULL;
    }
    if (fn)
        return fn;
    char text[192];
    if (item->channel_name[0])
        snprintf (text, sizeof (text), "'%s' has no handler for channel '%s'", self->name,
                  item->channel_name);
    else
        snprintf (text, sizeof (text), "'%s' has no request handler", self->name);
    client_answer (self, item->peer, item->id, NULL, PROKIT_ENOHANDLER, 0, text);
    zmq_msg_close (&item->body);
    return NULL;
}

//  The request a handler gets for ITEM, whose body it borrows: the one the
//  last handler did not keep, or a new one. NULL when out of memory (the
//  requester told, ITEM's body closed).
static prokit_request_t *
s_request_for (client_t *self, inbound_t *item)
{
    prokit_request_t *request = self->spare_request;
    if (request)
        self->spare_request = NULL;
    else
        request = (prokit_request_t *) malloc (sizeof (*request));
    if (!request) {
        client_answer (self, item->peer, item->id, NULL, PROKIT_ENOMEM, 0, "out of memory");
        zmq_msg_close (&item->body);
        return NULL;
    }
    //  Every field set here, none cleared first: the request is a few
    //  hundred bytes, and clearing them cost as much as the rest.
    request->answerer = &s_answerer;
    request->owner = self;
    request->id = item->id;
    strcpy (request->sender, item->peer);
    strcpy (request->channel, item->channel_name);
    request->deadline = item->deadline;
    payload_borrowed (&request->payload_storage, &item->body);
    request->payload = &request->payload_storage;
    request->answered = false;
    request->deferred = false;
    request->cancelled = false;
    request->prev = request->next = NULL;
    request->in_handler = false;
    return request;
}

//  The handler returned REPLY for REQUEST (NULL: nothing): sent, unless it
//  answered or deferred the request itself. A handler that returns nothing
//  answers with nil, as in the seed.
static void
s_handler_returned (client_t *self, prokit_request_t *request, prokit_payload_t *reply)
{
    prokit_request_t *answer = request;
    if (reply && (request->answered || request->deferred)) {
        log_warn ("%s: handler returned a reply for a request it had already answered or "
                  "deferred; reply discarded",
                  self->name);
        prokit_payload_destroy (&reply);
    }
    else if (reply) {
        if (prokit_request_reply (&answer, &reply) == PROKIT_EAGAIN)
            log_warn ("%s: reply to '%s' not sent: the queue to the router is full; the "
                      "requester will time out",
                      self->name, request->sender);
        prokit_payload_destroy (&reply); //  not sent: still ours (NULL-safe)
    }
    else if (!request->answered && !request->deferred) {
        prokit_payload_t *nil = prokit_payload_new_nil ();
        if (nil) {
            prokit_request_reply (&answer, &nil);
            prokit_payload_destroy (&nil); //  not sent: still ours (NULL-safe)
        }
        else
            prokit_request_fail (&answer, 0, "out of memory");
    }
}

//  REQUEST's handler has returned: kept by the application (deferred and
//  not answered yet), freed, or kept as the next request's.
static void
s_request_done (client_t *self, prokit_request_t *request)
{
    if (request->deferred && !request->answered) {
        //  Kept by the application: track it so destroy can orphan it.
        request->next = self->deferred;
        if (self->deferred)
            self->deferred->prev = request;
        self->deferred = request;
        self->deferred_count++;
    }
    else if (request->deferred)
        request_free (request); //  deferred, then answered before its handler returned
    else {
        if (request->payload)
            payload_release (request->payload);
        if (self->spare_request)
            free (request);
        else
            self->spare_request = request;
    }
}

//  A REQUEST for this client's handler (for its channel): handled, or
//  refused with the reason. ITEM's body is taken.
static void
s_handle_request (client_t *self, inbound_t *item)
{
    if (!s_request_admitted (self, item))
        return;
    void *handler_arg;
    prokit_request_fn *handler_fn = s_handler_for (self, item, &handler_arg);
    if (!handler_fn)
        return;
    prokit_request_t *request = s_request_for (self, item);
    if (!request)
        return;
    request->in_handler = true;
    prokit_payload_t *reply = handler_fn (request, handler_arg);
    request->in_handler = false;
    s_handler_returned (self, request, reply);
    s_request_done (self, request);
}

//  What an account settles is reported undelivered.
static void
s_account_report (const char *target, uint64_t count, int code, const char *why, void *arg)
{
    s_notify_undelivered ((client_t *) arg, target, count, code, why);
}

//  We are in again. If the router that answered is not the one we lost,
//  what it never settled of what we sent is reported undelivered once the
//  windows have said what they took in (account.h, tally.h); else that
//  router settles it itself.
static void
s_settle_last_session (client_t *self)
{
    account_t *account = self->last_account;
    tallies_t *tallies = self->last_tallies;
    self->last_account = NULL;
    self->last_tallies = NULL;
    if (strcmp (self->instance, self->last_instance) == 0) {
        account_destroy (&account);
        tallies_destroy (&tallies);
        return;
    }
    int64_t deadline = clock_mono_ms () + ACCOUNT_WAIT_MS;
    settle_account (self->settle, account, deadline);
    settle_tallies (self->settle, tallies, deadline);
    s_arm_timer (self);
}

//  Before we are in again, a RECEIPT came from the router we lost (read
//  from the connection as it ended): the lost session's.
static tallies_t *
s_receipt_tallies (client_t *self)
{
    return self->connected ? self->tallies : self->last_tallies;
}

static void
s_on_receipt (const char *name, uint64_t count, void *arg)
{
    client_t *self = (client_t *) arg;
    tallies_confirmed (s_receipt_tallies (self), name, count);
    //  From the router we are in: a window we wait to hear from has
    //  joined it, and had its say before.
    if (self->connected)
        settle_receipt (self->settle, name);
}

static void
s_on_receipt_session (const char *name, uint64_t queued, const char *token, uint64_t session_queued,
                      void *arg)
{
    client_t *self = (client_t *) arg;
    tallies_session (s_receipt_tallies (self), name, queued, token, session_queued);
}

//  TOOK: a window back from the router we lost says what it took in of ours.
static void
s_handle_took (client_t *self, inbound_t *item)
{
    //  It can come before our join's last step (the channel's WELCOME):
    //  the router that sends it is not the one we lost, its WELCOME said.
    if (self->last_tallies && strcmp (self->instance, self->last_instance) != 0) {
        settle_tallies (self->settle, self->last_tallies, clock_mono_ms () + ACCOUNT_WAIT_MS);
        self->last_tallies = NULL;
        s_arm_timer (self);
    }
    proto_took_t took;
    if (proto_took_decode (zmq_msg_data (&item->body), zmq_msg_size (&item->body), &took) ==
        PROKIT_OK)
        settle_took (self->settle, item->peer, took.token, took.count, took.first);
}

//  FLOW: hold our messages to window ITEM->peer (its queue is full), or
//  send again. One read from a connection that has ended is about a
//  session that is over: ignored.
static void
s_handle_flow (client_t *self, inbound_t *item)
{
    bool hold;
    if (!self->connected || proto_flow_decode (zmq_msg_data (&item->body),
                                               zmq_msg_size (&item->body), &hold) != PROKIT_OK)
        return;
    if (!hold) {
        if (self->held)
            zhashx_delete (self->held, item->peer);
        log_debug ("%s: '%s' has room again", self->label, item->peer);
        return;
    }
    if (!self->held && !(self->held = zhashx_new ()))
        return; //  out of memory: our sends to it are refused one by one
    zhashx_update (self->held, item->peer, self->held);
    log_debug ("%s: '%s' is not keeping up: holding our messages to it", self->label, item->peer);
}

static void
s_handle_answer (client_t *self, inbound_t *item)
{
    if (item->id & PROTO_ID_ONE_WAY_BIT) {
        //  An ERROR about a one-way message: it was not delivered. With
        //  the one-way bit alone for an id, it is about several: main's
        //  messages a window did not take in before it left (app_code
        //  says how many); each is reported as one.
        proto_error_t error;
        proto_error_decode (zmq_msg_data (&item->body), zmq_msg_size (&item->body), &error);
        int count = item->id == PROTO_ID_ONE_WAY_BIT && error.app_code > 0 ? error.app_code : 1;
        //  Before we are in again, it is about a SEND of the lost session
        //  (refused by the router we lost, read as the connection ended;
        //  or still queued then, refused by the router we reached next):
        //  that session's tally and account count it.
        tallies_reported (self->connected ? self->tallies : self->last_tallies, item->peer,
                          (uint64_t) count, item->id == PROTO_ID_ONE_WAY_BIT ? 0 : item->id);
        account_t *account = self->connected ? self->account : self->last_account;
        if (item->id == PROTO_ID_ONE_WAY_BIT)
            //  What the router published and the window never took in.
            account_reported (account, item->peer, (uint64_t) count);
        else
            account_refused (account, item->id); //  those before it were published
        s_notify_undelivered (self, item->peer, (uint64_t) count, error.code, error.text);
        zmq_msg_close (&item->body);
        return;
    }
    if (item->id == 0 && !item->peer[0] && item->command == PROTO_ERROR && self->connected) {
        //  The router's word on our session: our key is no longer allowed.
        proto_error_t error;
        proto_error_decode (zmq_msg_data (&item->body), zmq_msg_size (&item->body), &error);
        zmq_msg_close (&item->body);
        if (error.code == PROKIT_EACCES)
            s_session_ends (self, error.code, error.text);
        else
            log_warn ("%s: the router says: %s", self->label, error.text);
        return;
    }
    inflight_entry_t *pending = inflight_find (self->inflight, item->id, NULL);
    //  An answer must come from the peer asked (the router names the
    //  source): ids alone are not unique across peers. An ERROR with no
    //  name is the router's own about our request (which it could not
    //  read or route): only the router can send one.
    if (pending && strcmp (pending->peer, item->peer) != 0 &&
        !(item->command == PROTO_ERROR && !item->peer[0]))
        pending = NULL;
    if (!pending) {
        //  Its deadline passed already; the requester has had its outcome.
        log_debug ("%s: late %s for request %llu dropped", self->label,
                   proto_command_name (item->command), (unsigned long long) item->id);
        zmq_msg_close (&item->body);
        return;
    }
    if (item->command == PROTO_REPLY)
        s_pending_finish (self, pending, PROKIT_OK, &item->body, 0, NULL);
    else {
        proto_error_t error;
        proto_error_decode (zmq_msg_data (&item->body), zmq_msg_size (&item->body), &error);
        zmq_msg_close (&item->body);
        s_pending_finish (self, pending, error.code, NULL, error.app_code, error.text);
    }
}

//  A SEND or BROADCAST for the application. The listener borrows the
//  message: its payload needs no allocation of its own. ITEM's body is
//  taken.
static void
s_handle_message (client_t *self, inbound_t *item)
{
    prokit_payload_t payload;
    payload_borrowed (&payload, &item->body);
    prokit_message_t message;
    message.sender = item->peer;
    message.channel = item->channel_name;
    message.broadcast = item->command == PROTO_BROADCAST;
    message.payload = &payload;
    if (self->events->on_message)
        self->events->on_message (self->owner, &message);
    payload_release (&payload);
}

//  The router refused our HELLO after a loss (ERROR ITEM).
static void
s_rejoin_refused (client_t *self, inbound_t *item)
{
    proto_error_t error;
    proto_error_decode (zmq_msg_data (&item->body), zmq_msg_size (&item->body), &error);
    self->joining = false;
    self->last.topic[0] = 0; //  the router heard it all the same
    self->last.count = self->last.dealer = 0;
    zhashx_destroy (&self->last_from);
    log_warn ("%s: rejoining refused: %s", self->label, error.text);
    s_notify_connection (self, PROKIT_CONNECTION_REFUSED, error.code, error.text);
}

//  A WELCOME for our HELLO after a loss, on the DEALER or (the join's last
//  step) on the channel: joined again once both came.
static void
s_rejoin_welcomed (client_t *self, inbound_t *item)
{
    if (item->command == INTERNAL_CHANNEL_WELCOME) {
        if (!self->channel_wait)
            return;
        self->channel_wait = false; //  our subscription has arrived: joined
    }
    else if (self->channel_wait)
        return; //  a second WELCOME on the DEALER: not for this join
    else if (s_welcomed (self, &item->body) != PROKIT_OK) {
        self->joining = false;
        log_warn ("%s: rejoining failed: the PUB channel could not be opened", self->label);
        return;
    }
    if (self->channel_wait)
        return; //  joined once the channel confirms it
    self->joining = false;
    self->lost = false;
    self->connected = true;
    self->last.topic[0] = 0; //  the HELLO said it: settled
    self->last.count = self->last.dealer = 0;
    zhashx_destroy (&self->last_from);
    log_info ("%s: joined again", self->label);
    s_settle_last_session (self);
    s_notify_connection (self, PROKIT_CONNECTION_REJOINED, PROKIT_OK, "joined again");
}

//  JOINED or LEFT: another window came or went.
static void
s_handle_presence (client_t *self, inbound_t *item)
{
    bool settling = settle_accounts_waiting (self->settle);
    if (!self->events->on_presence && !settling)
        return;
    proto_presence_t presence;
    memset (&presence, 0, sizeof (presence));
    proto_presence_decode (zmq_msg_data (&item->body), zmq_msg_size (&item->body), &presence);
    if (settling && item->command == PROTO_JOINED)
        settle_window_back (self->settle, item->peer, presence.last_token, presence.last_count);
    if (!self->events->on_presence)
        return;
    self->events->on_presence (self->owner, item->peer, item->command == PROTO_JOINED, &presence);
}

//  CLOSE: the router has already dropped us: no sends, and what comes on
//  the channel after this is not ours. What we took in of it is said in
//  our BYE, or our next HELLO.
static void
s_closed_by_main (client_t *self, inbound_t *item)
{
    self->connected = false;
    self->closed = true;
    s_purge_channel_items (self);
    if (self->transport->has_channel) {
        memcpy (self->last.topic, self->topic, sizeof (self->last.topic));
        self->last.count = s_channel_taken (self);
    }
    s_channel_close (self);
    if (self->events->on_control)
        self->events->on_control (self->owner, item->command);
}

//  BYE from the router: it ended our session. It is going away (we rejoin
//  when the connection is back), or our channel connection ended while
//  this one lives on ("rejoin"): then we claim our name again now.
static void
s_session_ended_by_router (client_t *self, inbound_t *item)
{
    proto_bye_t bye;
    bool rejoin = proto_bye_decode (zmq_msg_data (&item->body), zmq_msg_size (&item->body), &bye) ==
                      PROKIT_OK &&
                  bye.rejoin;
    s_connection_lost (self, rejoin ? "the router ended our session: our channel connection "
                                      "ended"
                                    : "the router closed the connection");
    if (rejoin)
        s_rejoin (self);
}

//  Act on one received message; takes its body.
static void
s_handle (client_t *self, inbound_t *item)
{
    switch (item->command) {
    case PROTO_SEND:
    case PROTO_BROADCAST: s_handle_message (self, item); return;
    case PROTO_REQUEST: s_handle_request (self, item); return;
    case PROTO_PROGRESS: s_handle_progress (self, item); return;
    case PROTO_CANCEL: s_handle_cancel (self, item); break;
    case PROTO_ERROR:
        if (self->joining && item->id == self->join_id) {
            s_rejoin_refused (self, item);
            break;
        }
        s_handle_answer (self, item);
        return;
    case PROTO_REPLY: s_handle_answer (self, item); return;
    case INTERNAL_CHANNEL_WELCOME:
    case PROTO_WELCOME:
        if (self->joining && item->id == self->join_id)
            s_rejoin_welcomed (self, item);
        break;
    case INTERNAL_CONNECTION_LOST: {
        int code = (int) (int64_t) item->id;
        const char *text = zmq_msg_size (&item->body) > 0
                               ? (const char *) zmq_msg_data (&item->body)
                               : "connection to the router lost";
        s_notify_connection (self, PROKIT_CONNECTION_LOST, code,
                             code == PROKIT_ECLOSED ? "connection to the router lost" : text);
        break;
    }
    case PROTO_PING: s_send (self, PROTO_PONG, item->id, "", NULL, NULL, 0); break;
    case PROTO_JOINED:
    case PROTO_LEFT: s_handle_presence (self, item); break;
    case PROTO_CLOSE: s_closed_by_main (self, item); break;
    case PROTO_SHOW:
    case PROTO_HIDE:
        if (self->events->on_control)
            self->events->on_control (self->owner, item->command);
        break;
    case PROTO_RECEIPT:
        proto_receipt_decode (zmq_msg_data (&item->body), zmq_msg_size (&item->body), s_on_receipt,
                              s_on_receipt_session, self);
        break;
    case PROTO_TOOK: s_handle_took (self, item); break;
    case PROTO_FLOW: s_handle_flow (self, item); break;
    case PROTO_ACCOUNT:
        //  Before we are in again, it came from the router we lost (read
        //  from the connection as it ended): the lost session's.
        account_update (self->connected ? self->account : self->last_account,
                        zmq_msg_data (&item->body), zmq_msg_size (&item->body));
        break;
    case PROTO_BYE: s_session_ended_by_router (self, item); break;
    default: //  PONG: nothing to do
        break;
    }
    zmq_msg_close (&item->body);
}

//  Act on connection events: a loss ends the session with the router, a
//  new handshake starts a rejoin, a refused handshake is noted in
//  self->refused. Returns true if the connection was lost.
static bool
s_watch_connection (client_t *self)
{
    bool lost = false;
    transport_event_t event;
    while (transport_next_event (self->transport, &event)) {
        if (event.kind == TRANSPORT_EVENT_LOST && (self->connected || self->joining)) {
            s_connection_lost (self, "connection to the router lost");
            lost = true;
        }
        else if (event.kind == TRANSPORT_EVENT_UP) {
            self->refused = 0;
            self->refused_text = NULL;
            s_rejoin (self);
        }
        else if (event.kind == TRANSPORT_EVENT_REFUSED) {
            //  libzmq keeps retrying; say it once per run of failures.
            if (self->refused != event.detail && (self->connected || self->lost))
                log_warn ("%s: the router refused the connection: %s", self->label, event.text);
            self->refused = event.detail;
            self->refused_text = event.text;
        }
    }
    return lost;
}

//  Wait for the REPLY, ERROR or INFO with ID from PEER, keeping anything
//  else for the next dispatch. Returns PROKIT_OK with *answer filled (its
//  body is the caller's), or PROKIT_ETIMEDOUT / PROKIT_ECLOSED with TEXT
//  saying why. Never runs a callback.
static int
s_await_answer (client_t *self, uint64_t id, const char *peer, int64_t deadline, inbound_t *answer,
                char *text, size_t text_size)
{
    int rc = PROKIT_ETIMEDOUT;
    bool done = false;
    bool events_ready = false; //  announced: connection events wait
    //  The router's socket is read first (our send may have swallowed its
    //  announcement), then when it announces something; the channel (main
    //  answers there, when there is one) when it announced something, or
    //  was not read to empty. Between reads, the wait sleeps on the
    //  descriptors alone: what was read to empty announces what comes next.
    bool read_dealer = true;
    bool read_channel = transport_channel_readable (self->transport, 0);
    while (true) {
        inbound_t *item;
        while (!done && s_receive_next (self, &read_dealer, &read_channel, &item)) {
            bool ours = (item->command == PROTO_REPLY || item->command == PROTO_ERROR ||
                         item->command == PROTO_INFO) &&
                        item->id == id &&
                        (strcmp (item->peer, peer) == 0 ||
                         (item->command == PROTO_ERROR && !item->peer[0]));
            if (ours) {
                s_item_move (answer, item);
                transport_recycle (self->transport, item);
                rc = PROKIT_OK;
                done = true;
                break;
            }
            s_enqueue (self, item);
            if (item->command == PROTO_BYE) {
                rc = PROKIT_ECLOSED;
                snprintf (text, text_size, "the router closed the connection");
                done = true;
            }
        }
        //  What we read and queued is not taken in: this grants only for
        //  what the dispatcher had taken before, and never blocks our own
        //  answer behind a full window for longer than the queue holds.
        if (s_grant_credit (self))
            read_dealer = true; //  a send may swallow the DEALER's announcement
        if (!done && events_ready && s_watch_connection (self)) {
            //  The dispatcher ends the other requests; we end ours now.
            rc = PROKIT_ECLOSED;
            snprintf (text, text_size, "connection to the router lost");
            done = true;
        }
        if (done)
            break;
        int64_t left = deadline - clock_mono_ms ();
        if (left <= 0) {
            snprintf (text, text_size, "no answer from '%s' in time", *peer ? peer : "router");
            break;
        }
        int ready = transport_wait (self->transport, left > INT32_MAX ? INT32_MAX : (int) left, 0);
        if (ready < 0 && errno != EINTR) {
            rc = PROKIT_ECLOSED;
            snprintf (text, text_size, "%s", strerror (errno));
            break;
        }
        if (ready < 0)
            ready = 0;
        events_ready = ready & TRANSPORT_READY_EVENTS;
        read_dealer = ready & TRANSPORT_READY_SOCKET;
        read_channel = transport_channel_readable (self->transport, (unsigned) ready);
    }
    self->awaiting = false;
    if (self->queue_head)
        s_wake_own (self);
    //  It may have stopped reading with more waiting, whose announcement
    //  its reads consumed (not if it read to empty since our last send).
    s_announce_waiting (self);
    return rc;
}

//  Send a REQUEST or QUERY and wait for its answer. The wait reads the
//  socket itself, so the send skips the check it would otherwise make for
//  the dispatcher's sake. On a failed send, TEXT says why.
static int
s_ask (client_t *self, proto_command_t command, const char *target, const char *channel,
       prokit_payload_t **payload_p, const void *body, size_t body_size, int timeout_ms,
       inbound_t *answer, char *text, size_t text_size)
{
    uint64_t id = ++self->next_request_id;
    self->awaiting = true;
    proto_peer_t to = { target, command == PROTO_REQUEST ? s_ttl_for (self, timeout_ms) : 0,
                        channel };
    int rc = s_send_to (self, command, id, &to, payload_p, body, body_size);
    if (rc != PROKIT_OK) {
        self->awaiting = false;
        snprintf (text, text_size, "%s", prokit_strerror (rc));
        return rc;
    }
    int64_t deadline = clock_mono_ms () + s_deadline_for (self, timeout_ms);
    return s_await_answer (self, id, target, deadline, answer, text, text_size);
}

int
client_request_wait (client_t *self, const char *target, const char *channel,
                     prokit_payload_t **payload_p, int timeout_ms, prokit_reply_t **reply_p)
{
    if (reply_p)
        *reply_p = NULL;
    if (!target)
        target = PROTO_MAIN_NAME;
    int rc = s_check_outgoing (self, target, channel, true, payload_p);
    //  Blocking waits read a socket; the embedded main has none (and its
    //  API has no blocking request).
    if (rc == PROKIT_OK && !self->transport->can_wait)
        rc = PROKIT_EINVAL;
    //  Filled field by field, not zeroed: its error text alone is a
    //  kilobyte. The target was checked: a valid name, at most
    //  PROTO_NAME_MAX bytes.
    prokit_reply_t *reply = (prokit_reply_t *) malloc (sizeof (*reply));
    if (!reply)
        return PROKIT_ENOMEM;
    reply->status = PROKIT_OK;
    reply->app_code = 0;
    reply->payload = NULL;
    reply->text[0] = 0;
    size_t target_size = strnlen (target, PROTO_NAME_MAX);
    memcpy (reply->target, target, target_size);
    reply->target[target_size] = 0;
    if (rc != PROKIT_OK) {
        reply->status = rc;
        snprintf (reply->text, sizeof (reply->text), "%s", prokit_strerror (rc));
    }
    else {
        inbound_t answer;
        reply->status = s_ask (self, PROTO_REQUEST, target, channel, payload_p, NULL, 0, timeout_ms,
                               &answer, reply->text, sizeof (reply->text));
        if (reply->status == PROKIT_OK && answer.command == PROTO_REPLY)
            reply->payload = payload_from_frame (&answer.body);
        else if (reply->status == PROKIT_OK) {
            proto_error_t error;
            proto_error_decode (zmq_msg_data (&answer.body), zmq_msg_size (&answer.body), &error);
            zmq_msg_close (&answer.body);
            reply->status = error.code;
            reply->app_code = error.app_code;
            snprintf (reply->text, sizeof (reply->text), "%s", error.text);
        }
    }
    rc = reply->status;
    if (reply_p)
        *reply_p = reply;
    else
        prokit_reply_destroy (&reply);
    return rc;
}

int
client_query (client_t *self, const char *what, int timeout_ms, zmq_msg_t *body)
{
    if (!self || !self->transport->can_wait || !what || strlen (what) >= PROTO_QUERY_WHAT_MAX)
        return PROKIT_EINVAL; //  the embedded main reads its router directly
    if (!self->connected)
        return PROKIT_ECLOSED;
    uint8_t query[PROTO_QUERY_BODY_MAX];
    size_t size = proto_query_encode (query, what);
    inbound_t answer;
    char text[128];
    int rc = s_ask (self, PROTO_QUERY, "", NULL, NULL, query, size, timeout_ms, &answer, text,
                    sizeof (text));
    if (rc != PROKIT_OK)
        return rc;
    if (answer.command == PROTO_INFO) {
        zmq_msg_init (body);
        zmq_msg_move (body, &answer.body);
        return PROKIT_OK;
    }
    proto_error_t error;
    proto_error_decode (zmq_msg_data (&answer.body), zmq_msg_size (&answer.body), &error);
    zmq_msg_close (&answer.body);
    return answer.command == PROTO_ERROR ? error.code : PROKIT_EPROTO;
}

//  --- dispatch ----------------------------------------------------------------

//  Which of our descriptors an epoll_wait found readable, so that a
//  dispatch reads and checks only those (each costs system calls).
//  What a descriptor of ours announces (epoll data), beside the
//  transport's TRANSPORT_READY_* bits.
#define READY_WAKE 0x100u
#define READY_TIMER 0x200u
#define READY_ALL (READY_WAKE | READY_TIMER | TRANSPORT_READY_ALL)
#define READY_EVENTS_MAX 16

static unsigned
s_ready (const struct epoll_event *events, int count)
{
    unsigned ready = 0;
    for (int i = 0; i < count; i++)
        ready |= events[i].data.u32;
    return ready;
}

//  Handle what waits in our queue, up to the batch limit: events queued
//  while a blocking request waited come first, as they arrived before
//  anything still in the socket. Counts them into *HANDLED.
static void
s_handle_queued (client_t *self, int *handled)
{
    while (self->queue_head && *handled < DISPATCH_BATCH) {
        inbound_t *item = self->queue_head;
        self->queue_head = item->next;
        if (!self->queue_head)
            self->queue_tail = NULL;
        if (self->queue_count > 0)
            self->queue_count--;
        if (item->channel && self->channel_queued > 0)
            self->channel_queued--;
        s_handle (self, item);
        s_grant_credit (self);
        transport_recycle (self->transport, item);
        (*handled)++;
    }
}

//  Read and handle the router's socket, then the channel, each to empty
//  (or to the batch limit): no second pass is needed for a socket, only
//  for what handlers queued. The channel only when it announced something
//  or was not read to empty; connection events when announced. Returns
//  true when the connection was lost or handlers queued something.
static bool
s_read_sockets (client_t *self, unsigned *ready, int *handled)
{
    inbound_t *item;
    int got;
    for (int source = 0; source < 2; source++) {
        bool channel = source == 1;
        if (channel && !transport_channel_readable (self->transport, *ready))
            break;
        while (*handled < DISPATCH_BATCH && (!channel || self->transport->has_channel) &&
               (got = s_receive_from (self, channel, &item)) != 0) {
            if (got > 0) {
                s_handle (self, item);
                transport_recycle (self->transport, item);
                (*handled)++;
                //  Confirm as we go, not once per batch: what a process
                //  that dies was handed and never confirmed stays small.
                s_grant_credit (self);
            }
        }
    }
    *ready &= ~TRANSPORT_READY_CHANNEL;
    bool progress = self->queue_head != NULL;
    //  Connection events come rarely: look when announced.
    if ((*ready & TRANSPORT_READY_EVENTS) && s_watch_connection (self))
        progress = true;
    *ready &= ~TRANSPORT_READY_EVENTS;
    return progress;
}

//  Requests in flight that can no longer be answered (the connection is
//  gone) or whose deadline passed end now. Returns true when any did.
static bool
s_end_requests (client_t *self)
{
    bool ended = false;
    if (!self->connected && inflight_earliest (self->inflight)) {
        s_fail_all_pending (self, PROKIT_ECLOSED, "connection to the router lost");
        ended = true;
    }
    inflight_entry_t *earliest = inflight_earliest (self->inflight);
    if (earliest && earliest->deadline <= clock_mono_ms ()) {
        s_expire (self);
        ended = true;
    }
    if (settle_deadline (self->settle) && settle_due (self->settle, clock_mono_ms ()))
        ended = true;
    return ended;
}

//  One dispatch, given what is READY. The socket is read whatever it says:
//  its descriptor does not announce messages a send has already noticed.
static int
s_dispatch (client_t *self, unsigned ready)
{
    self->wake_pending = false;
    self->sends_since_dispatch = 0;
    uint64_t drained;
    if ((ready & READY_WAKE) && read (self->wake_fd, &drained, sizeof (drained)) < 0 &&
        errno != EAGAIN)
        log_debug ("%s: wake fd read failed", self->label);
    if (ready & READY_TIMER) {
        if (read (self->timer_fd, &drained, sizeof (drained)) < 0 && errno != EAGAIN)
            log_debug ("%s: timer fd read failed", self->label);
        self->timer_at = 0; //  it fired: it is not armed any more
    }

    int handled = 0;
    self->dispatching++;
    //  What was gathered before goes now, ahead of the answers it may
    //  get; what the handlers send goes out together, at the round's end.
    transport_cork (self->transport, TRANSPORT_UNCORK);
    transport_cork (self->transport, TRANSPORT_CORK);
    bool progress = true;
    //  A stop request is for run(), which checks it between dispatches: a
    //  loop of the application's own keeps dispatching regardless.
    while (progress && handled < DISPATCH_BATCH) {
        int before = handled;
        progress = transport_collect (self->transport, &ready);
        s_handle_queued (self, &handled);
        if (s_read_sockets (self, &ready, &handled))
            progress = true;
        if (s_end_requests (self))
            handled++;
        if (handled != before)
            progress = true;
    }
    s_grant_credit (self);
    s_grant_credit_idle (self);
    //  Work left for next time (batch limit, stop): keep the fd readable.
    if (self->events->on_dispatch)
        self->events->on_dispatch (self->owner);
    if (handled >= DISPATCH_BATCH || self->queue_head)
        s_wake_own (self);
    self->dispatching--;
    //  Its queue to the router full, what the round gathered goes out at
    //  the next round: the timer makes one soon.
    self->gather_due =
        transport_cork (self->transport, TRANSPORT_UNCORK) ? 0 : clock_mono_ms () + GATHER_RETRY_MS;
    //  Handlers may have sent after the socket was last read to empty.
    s_announce_waiting (self);
    s_arm_timer (self);
    return handled;
}

int
client_dispatch (client_t *self)
{
    if (!self)
        return PROKIT_EINVAL;
    //  Called from the application's loop: ask epoll what is ready, one
    //  system call where reading and checking each would be several.
    struct epoll_event events[READY_EVENTS_MAX];
    int count = epoll_wait (self->epoll_fd, events, READY_EVENTS_MAX, 0);
    return s_dispatch (self, count < 0 ? READY_ALL : s_ready (events, count));
}

int
client_run (client_t *self, int timeout_ms)
{
    if (!self)
        return PROKIT_EINVAL;
    //  A stop requested before run() makes it return at once (as uv_stop).
    int64_t deadline = timeout_ms >= 0 ? clock_mono_ms () + timeout_ms : INT64_MAX;
    //  The embedded main's thread routes while it is here (router.h).
    transport_attend (self->transport, true);
    int rc = PROKIT_OK;
    unsigned ready = READY_ALL; //  nothing known yet: look at everything
    while (!atomic_load (&self->stop_requested)) {
        rc = s_dispatch (self, ready);
        if (rc < 0 || atomic_load (&self->stop_requested))
            break;
        rc = PROKIT_OK;
        int64_t left = deadline - clock_mono_ms ();
        if (left <= 0) {
            rc = PROKIT_ETIMEDOUT;
            break;
        }
        struct epoll_event events[READY_EVENTS_MAX];
        int wait = left > INT32_MAX ? -1 : (int) left;
        int count = epoll_wait (self->epoll_fd, events, READY_EVENTS_MAX, wait);
        if (count < 0 && errno != EINTR) {
            rc = PROKIT_ECLOSED;
            break;
        }
        ready = count < 0 ? READY_ALL : s_ready (events, count);
    }
    transport_attend (self->transport, false);
    if (rc < 0) //  PROKIT_ETIMEDOUT, PROKIT_ECLOSED, or dispatch's error
        return rc;
    atomic_store (&self->stop_requested, 0);
    return PROKIT_OK;
}

void
client_stop (client_t *self)
{
    if (!self)
        return;
    atomic_store (&self->stop_requested, 1);
    s_wake (self);
}

int
client_watch_fd (client_t *self, int fd)
{
    return transport_epoll_add (self->epoll_fd, fd, 0) == 0 ? PROKIT_OK : PROKIT_ETRANSPORT;
}

int
client_fd (const client_t *self)
{
    return self ? self->epoll_fd : -1;
}

bool
client_is_connected (const client_t *self)
{
    return self && self->connected;
}

const char *
client_label (const client_t *self)
{
    return self->label;
}

const char *
client_name (const client_t *self)
{
    return self->name;
}

int
client_on_undelivered (client_t *self, prokit_undelivered_fn *fn, void *arg)
{
    self->undelivered_fn = fn;
    self->undelivered_arg = arg;
    return PROKIT_OK;
}

int
client_on_connection (client_t *self, prokit_connection_fn *fn, void *arg)
{
    self->connection_fn = fn;
    self->connection_arg = arg;
    return PROKIT_OK;
}

static void
s_handler_destroy (void **item)
{
    free (*item);
    *item = NULL;
}

int
client_set_handler (client_t *self, const char *channel, prokit_request_fn *fn, void *arg)
{
    if (!channel || !channel[0]) {
        self->handler = fn;
        self->handler_arg = arg;
        return PROKIT_OK;
    }
    if (!proto_channel_name_valid (channel, strlen (channel)))
        return PROKIT_EINVAL;
    if (!fn) {
        if (self->handlers)
            zhashx_delete (self->handlers, channel);
        return PROKIT_OK;
    }
    if (!self->handlers) {
        if (!(self->handlers = zhashx_new ()))
            return PROKIT_ENOMEM;
        zhashx_set_destructor (self->handlers, s_handler_destroy);
    }
    handler_t *handler = (handler_t *) zhashx_lookup (self->handlers, channel);
    if (!handler) {
        if (!(handler = (handler_t *) malloc (sizeof (*handler))))
            return PROKIT_ENOMEM;
        if (zhashx_insert (self->handlers, channel, handler) != 0) {
            free (handler);
            return PROKIT_ENOMEM;
        }
    }
    handler->fn = fn;
    handler->arg = arg;
    return PROKIT_OK;
}

//  --- life cycle ------------------------------------------------------------

//  Wait while joining, until DEADLINE, for what FLAGS say
//  (TRANSPORT_WAIT_*). PROKIT_OK when something may have come;
//  PROKIT_ETIMEDOUT; PROKIT_ETRANSPORT; PROKIT_EACCES when the router
//  refused our security handshake (logged): the monitor says so at once,
//  where waiting would only time out, and the connection has ended for
//  good (no room to send comes either).
static int
s_join_wait (client_t *self, int64_t deadline, unsigned flags)
{
    int64_t left = deadline - clock_mono_ms ();
    if (left <= 0)
        return PROKIT_ETIMEDOUT;
    if (transport_wait (self->transport, (int) left, flags) < 0 && errno != EINTR)
        return PROKIT_ETRANSPORT;
    s_watch_connection (self);
    if (!self->refused)
        return PROKIT_OK;
    log_error ("%s: the router refused the connection: %s", self->label, self->refused_text);
    return PROKIT_EACCES;
}

static int
s_handshake (client_t *self, int timeout_ms)
{
    uint8_t hello[PROTO_HELLO_BODY_MAX];
    size_t hello_size = proto_hello_encode (hello, &self->hello);
    int64_t deadline = clock_mono_ms () + timeout_ms;
    //  Until its connection is set up a DEALER may refuse to queue (EAGAIN):
    //  wait for room rather than fail.
    int rc;
    s_counts_reset (self);
    while ((rc = s_send (self, PROTO_HELLO, 0, self->name, NULL, hello, hello_size)) ==
           PROKIT_EAGAIN) {
        int waited = s_join_wait (self, deadline, TRANSPORT_WAIT_WRITABLE);
        if (waited != PROKIT_OK)
            return waited;
    }
    if (rc != PROKIT_OK)
        return PROKIT_ETRANSPORT;
    //  With a PUB channel, the join completes when the router confirms our
    //  subscription there.
    bool welcomed = false;
    while (true) {
        int waited = s_join_wait (self, deadline, TRANSPORT_WAIT_LEVEL);
        if (waited == PROKIT_ETIMEDOUT && self->channel_wait)
            log_error ("%s: the router's PUB channel did not confirm the join", self->label);
        if (waited != PROKIT_OK)
            return waited;
        inbound_t *in;
        bool read_dealer = true, read_channel = true;
        while (s_receive_next (self, &read_dealer, &read_channel, &in)) {
            if (in->command == PROTO_WELCOME && !welcomed) {
                welcomed = true;
                rc = s_welcomed (self, &in->body);
                zmq_msg_close (&in->body);
                transport_recycle (self->transport, in);
                if (rc != PROKIT_OK || !self->channel_wait)
                    return rc;
                continue;
            }
            if (in->command == INTERNAL_CHANNEL_WELCOME && self->channel_wait && in->id == 0) {
                self->channel_wait = false;
                zmq_msg_close (&in->body);
                transport_recycle (self->transport, in);
                return PROKIT_OK;
            }
            if (in->command == PROTO_ERROR && in->id == 0 && !welcomed) {
                proto_error_t error;
                proto_error_decode (zmq_msg_data (&in->body), zmq_msg_size (&in->body), &error);
                zmq_msg_close (&in->body);
                transport_recycle (self->transport, in);
                log_info ("%s: join refused: %s", self->label, error.text);
                return error.code;
            }
            s_enqueue (self, in);
        }
    }
}

//  Wait, briefly, for the router to confirm our BYE: once it has, our name
//  is free for whoever claims it next. Whatever else arrives is dropped:
//  the handle is going away.
static void
s_await_bye (client_t *self)
{
    int64_t deadline = clock_mono_ms () + BYE_WAIT_MS;
    while (true) {
        int64_t left = deadline - clock_mono_ms ();
        if (left <= 0 || (transport_wait (self->transport, (int) left, TRANSPORT_WAIT_LEVEL) < 0 &&
                          errno != EINTR))
            return;
        if (s_watch_connection (self))
            return;
        inbound_t *item;
        bool read_dealer = true, read_channel = true;
        while (s_receive_next (self, &read_dealer, &read_channel, &item)) {
            uint8_t command = item->command;
            if (command == PROTO_REQUEST) {
                //  Not dropped silently: the requester learns we are gone.
                char text[PROTO_NAME_MAX + 32];
                snprintf (text, sizeof (text), "%s is closing", self->label);
                client_answer (self, item->peer, item->id, NULL, PROKIT_ECLOSED, 0, text);
            }
            zmq_msg_close (&item->body);
            transport_recycle (self->transport, item);
            if (command == PROTO_BYE)
                return;
        }
    }
}

//  The embedded main goes: requests waiting for it are answered, not
//  dropped (a window gets ECLOSED, as from a main that said BYE); the
//  rest is for nobody now.
static void
s_close_embedded (client_t *self)
{
    unsigned ready = READY_ALL;
    transport_collect (self->transport, &ready);
    inbound_t *item;
    while ((item = self->queue_head) != NULL ||
           transport_receive (self->transport, false, &item) > 0) {
        if (item == self->queue_head)
            self->queue_head = item->next;
        if (item->command == PROTO_REQUEST)
            client_answer (self, item->peer, item->id, NULL, PROKIT_ECLOSED, 0, "main is closing");
        zmq_msg_close (&item->body);
        transport_recycle (self->transport, item);
    }
    self->queue_tail = NULL;
}

static void
s_close_fds (client_t *self)
{
    if (self->epoll_fd >= 0)
        close (self->epoll_fd);
    if (self->timer_fd >= 0)
        close (self->timer_fd);
    if (self->wake_fd >= 0)
        close (self->wake_fd);
}

static void
s_free (client_t *self)
{
    free (self->spare_request);
    while (self->queue_head) {
        inbound_t *item = self->queue_head;
        self->queue_head = item->next;
        zmq_msg_close (&item->body);
        free (item);
    }
    transport_destroy (&self->transport, !self->abandoned);
    s_sent_clear (&self->tallies, &self->account);
    s_sent_clear (&self->last_tallies, &self->last_account);
    settle_destroy (&self->settle);
    zhashx_t **tables[] = { &self->taken_from, &self->last_from, &self->handlers, &self->held };
    for (size_t i = 0; i < sizeof (tables) / sizeof (tables[0]); i++)
        zhashx_destroy (tables[i]);
    inflight_destroy (&self->inflight);
    s_close_fds (self);
    free (self);
}

//  A client with CONFIG's settings, nothing opened yet; NULL when memory
//  runs out.
static client_t *
s_alloc (const client_config_t *config)
{
    client_t *self = (client_t *) calloc (1, sizeof (*self));
    if (!self)
        return NULL;
    self->settle = settle_new (s_account_report, self);
    if (!self->settle) {
        free (self);
        return NULL;
    }
    self->epoll_fd = self->timer_fd = self->wake_fd = -1;
    self->embedded = config->router != NULL;
    strcpy (self->name, config->name);
    bool is_main = strcmp (self->name, PROTO_MAIN_NAME) == 0;
    if (is_main)
        strcpy (self->label, "main");
    else
        snprintf (self->label, sizeof (self->label), "window '%s'", self->name);
    self->events = config->events;
    self->owner = config->owner;
    self->max_payload = PROTO_DEFAULT_MAX_PAYLOAD;
    self->request_timeout_ms = config->request_timeout_ms > 0 ? config->request_timeout_ms : 30000;
    self->hello.pid = (uint64_t) getpid ();
    self->hello.presence = config->presence;
    if (config->service)
        snprintf (self->hello.service, sizeof (self->hello.service), "%s", config->service);
    self->hello.shown = config->shown;
    self->hello.version = PROTO_VERSION_MAX;
    //  A window takes main's messages on the PUB channel when its router
    //  has one (an embedded main, or a main attached to a broker, is not
    //  sent to by main).
    self->hello.channel = !config->router && !is_main;
    self->hello.credit = config->router ? 0 : CLIENT_WINDOW;
    self->keeps_tallies = !config->router && !is_main;
    self->hello.took = self->keeps_tallies;  //  it reads TOOK, and counts whom it took SENDs from
    self->hello.flow = !config->router;      //  it holds back when told (FLOW)
    self->hello.batch = self->hello.channel; //  its transport reads BATCHes
    self->max_deferred = config->max_deferred;
    self->hello.account = !config->router && is_main;
    self->hello.channels = true;
    self->hello.progress = true;
    self->hello.cancel = true;
    self->hello.deadlines = true;
    //  Every REQUEST has a deadline (the handle's timeout when it says
    //  none): the one most say can go without saying.
    self->hello.default_deadline = (uint64_t) self->request_timeout_ms;
    //  The embedded main's router is this library's.
    self->channels = self->deadlines = config->router != NULL;
    self->version = PROTO_VERSION_1;
    snprintf (self->endpoint, sizeof (self->endpoint), "%s",
              config->endpoint ? config->endpoint : "");
    return self;
}

//  What every client has, whatever it talks to: requests in flight, the
//  epoll set, the deadline timer and the wake-up eventfd.
static int
s_open_loop (client_t *self)
{
    self->inflight = inflight_new (false);
    self->epoll_fd = epoll_create1 (EPOLL_CLOEXEC);
    self->timer_fd = timerfd_create (CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    self->wake_fd = eventfd (0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (!self->inflight)
        return PROKIT_ENOMEM;
    if (self->epoll_fd < 0 || self->timer_fd < 0 || self->wake_fd < 0)
        return sock_error (PROKIT_ENOMEM);
    if (transport_epoll_add (self->epoll_fd, self->timer_fd, READY_TIMER) != 0 ||
        transport_epoll_add (self->epoll_fd, self->wake_fd, READY_WAKE) != 0)
        return PROKIT_ETRANSPORT;
    return PROKIT_OK;
}

//  The transport CONFIG asks for, its descriptors in our epoll set: in
//  memory to an embedded main's router (joined from the start), else
//  sockets to CONFIG's endpoint.
static int
s_open_transport (client_t *self, const client_config_t *config)
{
    int rc = PROKIT_OK;
    if (config->router)
        self->transport = transport_memory_new (config->router, self->epoll_fd, &rc);
    else
        self->transport = transport_socket_new (self->label, config->endpoint, config->curve_cert,
                                                config->curve_server_key, self->epoll_fd, &rc);
    if (self->transport && self->transport->max_payload)
        self->max_payload = self->transport->max_payload;
    return rc;
}

//  Claim our name: HELLO, and wait (at most TIMEOUT_MS) to be welcome.
static int
s_join (client_t *self, int timeout_ms)
{
    int rc = s_handshake (self, timeout_ms);
    if (rc != PROKIT_OK) {
        if (rc == PROKIT_ETIMEDOUT)
            log_info ("%s: no router answered at %s", self->label, self->endpoint);
        self->abandoned = true; //  what we queued is for nobody
        return rc;
    }
    self->connected = true;
    if (self->queue_head)
        s_wake (self);
    return PROKIT_OK;
}

client_t *
client_new (const client_config_t *config, int *error)
{
    *error = PROKIT_EINVAL;
    if (!config || !config->name || (!config->endpoint && !config->router) || !config->events ||
        !proto_peer_name_valid (config->name, strlen (config->name)))
        return NULL;
    //  The application owns its signals; CZMQ must not install handlers.
    zsys_handler_set (NULL);
    client_t *self = s_alloc (config);
    if (!self) {
        *error = PROKIT_ENOMEM;
        return NULL;
    }
    int rc = s_open_loop (self);
    if (rc == PROKIT_OK)
        rc = s_open_transport (self, config);
    if (rc == PROKIT_OK && self->embedded)
        self->connected = true;
    else if (rc == PROKIT_OK)
        rc = s_join (self, config->join_timeout_ms > 0 ? config->join_timeout_ms : 5000);
    if (rc != PROKIT_OK) {
        s_free (self);
        self = NULL;
    }
    *error = rc;
    return self;
}

void
client_destroy (client_t **self_p)
{
    if (self_p && *self_p) {
        client_t *self = *self_p;
        if (self->embedded)
            s_close_embedded (self);
        else if (self->connected || (self->closed && !self->lost)) {
            //  BYE says what we took in from the channel: in this session (what
            //  is still queued here is not), or in the one main closed (the
            //  connection is up: a lost one says it in its next HELLO).
            proto_bye_t bye = { { "", 0, 0 }, false, false, false };
            size_t dealer_queued = self->queue_count - self->channel_queued;
            bye.last.dealer =
                self->dealer_read > dealer_queued ? self->dealer_read - dealer_queued : 0;
            bye.dealer_counted = true;
            if (self->connected && self->transport->has_channel) {
                //  The topic too: main may have closed us meanwhile, and then
                //  the router knows this session by its topic only.
                memcpy (bye.last.topic, self->topic, sizeof (bye.last.topic));
                bye.last.count = s_channel_taken (self);
                bye.counted = true;
            }
            else if (!self->connected && self->last.topic[0]) {
                memcpy (bye.last.topic, self->last.topic, sizeof (bye.last.topic));
                bye.last.count = self->last.count;
                bye.counted = true;
            }
            uint8_t body[PROTO_BYE_BODY_MAX];
            size_t size = proto_bye_encode (body, &bye);
            if (s_send (self, PROTO_BYE, 0, "", NULL, body, size) == PROKIT_OK)
                s_await_bye (self);
        }
        self->connected = false;
        s_fail_all_pending (self, PROKIT_ECLOSED, "the handle was destroyed");
        while (self->deferred) {
            prokit_request_t *request = self->deferred;
            s_forget_deferred (self, request);
            request->answerer = NULL; //  answering it now returns ECLOSED and frees it
        }
        s_free (self);
        *self_p = NULL;
    }
}

int
client_resolve_endpoint (const char *given, const char *app_name, char *out, size_t size)
{
    if (!given || !*given)
        given = getenv ("PROKIT_ENDPOINT");
    if (given && *given) {
        if (strlen (given) >= size)
            return PROKIT_EINVAL;
        strcpy (out, given);
        return PROKIT_OK;
    }
    if (!app_name || !*app_name)
        app_name = getenv ("PROKIT_APP");
    if (!app_name || !*app_name)
        app_name = "prokit";
    if (!proto_window_name_valid (app_name, strlen (app_name)))
        return PROKIT_EINVAL;
    const char *dir = getenv ("XDG_RUNTIME_DIR");
    int n;
    if (dir && *dir)
        n = snprintf (out, size, "ipc://%s/prokit-%s.sock", dir, app_name);
    else
        n = snprintf (out, size, "ipc:///tmp/prokit-%s-%u.sock", app_name, (unsigned) getuid ());
    return n > 0 && (size_t) n < size ? PROKIT_OK : PROKIT_EINVAL;
}

const char *
client_resolve_setting (const char *given, const char *env)
{
    if (given && *given)
        return given;
    const char *value = getenv (env);
    return value && *value ? value : NULL;
}

static int
s_router_stats (client_t *self, int timeout_ms, prokit_stats_t *stats)
{
    int rc;
    if (transport_stats (self->transport, stats, &rc))
        return rc;
    zmq_msg_t body;
    rc = client_query (self, "stats", timeout_ms, &body);
    if (rc != PROKIT_OK)
        return rc;
    uint64_t values[PROTO_COUNTERS];
    rc = proto_counters_decode (zmq_msg_data (&body), zmq_msg_size (&body), proto_counter_names,
                                values, PROTO_COUNTERS);
    zmq_msg_close (&body);
    if (rc != PROKIT_OK)
        return rc;
    size_t i = 0;
#define S_COUNTER_TAKE(name) stats->name = values[i++];
    PROTO_COUNTER_LIST (S_COUNTER_TAKE)
    return PROKIT_OK;
}

int
client_router_stats (client_t *self, int timeout_ms, prokit_stats_t *stats, size_t stats_size)
{
    if (!stats || stats_size == 0)
        return PROKIT_EINVAL;
    prokit_stats_t own;
    int rc = s_router_stats (self, timeout_ms, &own);
    if (rc == PROKIT_OK)
        sized_give (stats, stats_size, &own, sizeof (own));
    return rc;
}

int
client_last_seen (client_t *self, const char *name, long long *ms)
{
    return transport_last_seen (self->transport, name, ms);
}
