/*  router.c: the routing core.

    One ROUTER socket, an XPUB for the PUB channel, and the registry, in a
    router_state_t driven by whoever holds the router's lock
    (router_thread.c: its own thread, or an embedded main's). Windows
    connect with a DEALER (and a SUB on the channel), claim a name with
    HELLO, and from then on every message names its destination; the
    router rewrites that to the source and forwards it. An embedded main
    has no socket: its messages enter through router_core_handle() and its
    own wait in an inbox. The router never parses a payload beyond
    validating it (proto.c), never blocks on a slow peer (a full queue
    turns into an EAGAIN error for the sender), and never lets a malformed
    message reach a client.

    It must never trust the sender's word for who it is: the name of a
    message's source always comes from the registry entry of the connection
    it arrived on.
*/
#define _GNU_SOURCE //  struct ucred (SO_PEERCRED)
#include "router_private.h"

#include <arpa/inet.h>
#include <czmq.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "curve.h"
#include "inflight.h"
#include "log.h"
#include "monitor.h"
#include "pack.h"
#include "pool.h"
#include "prokit/error.h"
#include "proto.h"
#include "serial.h"
#include "sock.h"
#include "table.h"
#include "wire.h"

typedef struct peer {
    char name[PROTO_NAME_MAX + 1];
    uint8_t routing_id[ROUTING_ID_MAX];
    size_t routing_id_size;
    char key[2 * ROUTING_ID_MAX + 1]; //  routing id in hex: the by_id key
    bool is_main;
    bool local;          //  the embedded main: served through the inbox
    int fd;              //  its connection's socket, -1 for inproc
    proto_hello_t hello; //  what it said of itself: pid, presence, shown
    char address[128];   //  its connection's peer address, "" if unknown
    char client_key[41]; //  its CURVE public key (Z85), "" without CURVE
    int64_t last_seen;   //  when it last sent us something, ms since the epoch
    int64_t joined_at;   //  when it joined, ms since the epoch
    int version;         //  the wire version it reads (PROTO_VERSION_*)
    //  Main's messages reach it on the PUB channel, under TOPIC, a secret
    //  only it was told (in WELCOME). It stays JOINING, invisible to the
    //  others, until its subscription to TOPIC reaches the channel.
    bool channel;
    bool joining;
    char topic[PROTO_TOPIC_SIZE + 1];
    uint8_t topic_wire[PROTO_TOPIC_WIRE]; //  as it prefixes messages
    char token[PROTO_TOPIC_SIZE + 1];     //  what others are told of it: s_session_token()
    uint64_t join_id;                     //  its HELLO's id, echoed by the channel's WELCOME
    //  Flow control (CREDIT): a client that asked for it (HELLO "credit")
    //  never has more than WINDOW messages from us it has not taken in,
    //  so its queue never fills and libzmq never stops reading its
    //  connection, heartbeats included. Counted since its HELLO.
    uint64_t window;     //  0: no flow control
    uint64_t sent;       //  messages queued to it on the ROUTER socket
    uint64_t consumed;   //  of those, how many it said it has taken in
    bool credit_refused; //  a CREDIT of its was ignored (logged once)
    //  Delivery on the PUB channel, accounted so that whatever main sent it
    //  and it never took in is reported to main when the session ends: the
    //  SENDs and broadcasts published under its topic, and how many it
    //  confirmed (CREDIT, BYE).
    uint64_t published;
    uint64_t channel_confirmed;
    bool final_known; //  its BYE said how many it took in: FINAL_COUNT
    uint64_t final_count;
    //  What it has not confirmed of what we sent it on the ROUTER socket,
    //  in order, as runs of one sender's SENDs (or of anything else, with
    //  no sender): when it goes, each sender hears what it never took in.
    zlistx_t *runs;
    bool dealer_final_known; //  its BYE said how many of those it took in
    uint64_t dealer_final;
    //  This session's number (the router's count of HELLOs admitted), and
    //  what is owed it as a sender: target name -> receipt_t.
    uint64_t session;
    zhashx_t *receipts;
    uint64_t receipts_unsent;
    zlistx_t *backlog;    //  inbound_t waiting for room in its queue
    inflight_t *inflight; //  the requests it owes, by requester and id
    //  Main, when its HELLO asked for ACCOUNTs: since that HELLO, how many
    //  of its SENDs and broadcasts were handled, and per window what was
    //  published to it and settled (name -> account_t). Sent with its
    //  receipts (receipts_unsent counts the changes).
    bool accounts;
    uint64_t handled;
    zhashx_t *account;
    //  A window: the main session its channel messages count toward, and
    //  how many were published to it before that session (an earlier
    //  main's: confirmations come in order, so those are settled first).
    uint64_t main_session;
    uint64_t main_base;
    //  Limits: its requests in flight through us (answered or failed:
    //  settled), and its allowance of messages (thousandths, refilled
    //  at max_messages_per_second, a second's worth at most).
    size_t requests_out;
    uint64_t allowance;
    int64_t allowance_at;
    bool limit_said; //  its last message was refused for a limit (logged once)
    bool keyed;      //  counted among its CURVE key's windows (per_key)
    bool closed;     //  main closed it (CLOSE)
    //  Its HELLO said what a session on another router (one that went)
    //  took in (hello.last): main hears it in JOINED, to settle its account.
    bool last_elsewhere;
    //  The SENDs queued to it in this session, per sender that reads TOOK
    //  (name -> uint64_t): RECEIPTs tell the sender, so that it can number
    //  what this session takes in.
    zhashx_t *queued_from;
    //  The senders told to hold their messages to it (FLOW): holder_t,
    //  told when it has room again or goes.
    zlistx_t *holders;
    //  Its BATCH being filled (HELLO "batch"): BATCH_SIZE bytes of entries,
    //  published by the end of the round (see "batches"). BATCH_LISTED: it
    //  is in the state's list of windows with one waiting.
    uint8_t *batch;
    size_t batch_size, batch_count;
    bool batch_listed;
} peer_t;

//  A sender (its name and session) told to hold its messages to a window.
typedef struct holder {
    char name[PROTO_NAME_MAX + 1];
    uint64_t session;
} holder_t;

//  A session that ended without its last counts: kept until the window
//  comes back and says them, or until DEADLINE, when what it last
//  confirmed has to do. Kept under KEY: a window on the channel by its
//  topic (its HELLO or BYE says "last_topic"); one off the channel, which
//  has no topic, by its name when its connection was lost (its next HELLO
//  claims the name) and by its connection when main closed it (its BYE
//  comes on that connection). See s_lost_key.
#define LOST_KEY_MAX (2 * ROUTING_ID_MAX + 3)

typedef struct lost_session {
    char name[PROTO_NAME_MAX + 1];
    char key[LOST_KEY_MAX];
    uint64_t expected;         //  messages main had sent it on the channel
    uint64_t confirmed;        //  how many it had confirmed
    zlistx_t *runs;            //  what it had not confirmed on its DEALER (run_t)
    uint64_t dealer_confirmed; //  how many on its DEALER it had confirmed
    int64_t deadline;          //  ms since the epoch
    char reason[32];
    uint64_t main_session; //  the window's, for main's account
    uint64_t main_base;
} lost_session_t;

//  A connection the monitor announced: where from, and whether it counts
//  as pending (accepted, not joined) for that address.
typedef struct connection {
    char address[64];
    bool known; //  the monitor announced it (ACCEPTED)
    bool open;
    bool pending;
    bool joined;    //  a HELLO on it was admitted
    bool inherited; //  the one before it on this descriptor closed without joining
} connection_t;

//  A count kept by name (an address's pending connections, a key's windows).
typedef struct pending {
    size_t count;
    bool said; //  a refusal for this limit was logged (until the count goes down)
} pending_t;

static pending_t *s_count_of (zhashx_t *table, const char *name, bool make);
static void s_connection_joined (router_state_t *self, int fd);
static void s_count_down (zhashx_t *table, const char *name);

//  What became of main's messages to one window (ACCOUNT).
typedef struct account {
    uint64_t published;
    uint64_t settled;
    bool changed; //  since the last ACCOUNT
} account_t;

//  SENDs from one sender, or other messages (no sender), in a row; VIA:
//  the pool they were addressed to ("" for the window itself), which is
//  the name their sender hears of them under.
typedef struct run {
    char sender[PROTO_NAME_MAX + 1];
    char via[PROTO_NAME_MAX + 1];
    uint64_t session; //  the sender's (peer_t.session)
    uint64_t count;
} run_t;

//  Confirmations owed a sender: for a window it sent SENDs to, how many of
//  them that window has taken in, since the sender's HELLO (cumulative).
typedef struct receipt {
    uint64_t count;
    uint64_t queued; //  for a sender that reads TOOK: its SENDs queued to the window
    bool changed;    //  since the last RECEIPT
} receipt_t;

//  What others are told of the session under TOPIC (RECEIPT, ACCOUNT,
//  TOOK, main's JOINED), so that they can tell it from another: not the
//  topic, with which anyone could end the session (an unsubscription
//  under it on the PUB channel), but a token that cannot be turned back
//  into it: the first 8 bytes of its SHA-1, in hex. Empty for no topic,
//  or out of memory (then nobody can match it: reports err on the side
//  of too many).
static void
s_session_token (const char *topic, char token[PROTO_TOPIC_SIZE + 1])
{
    token[0] = 0;
    zdigest_t *digest = topic[0] ? zdigest_new () : NULL;
    if (!digest)
        return;
    zdigest_update (digest, (const byte *) topic, strlen (topic));
    const byte *data = zdigest_data (digest);
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < PROTO_TOPIC_SIZE / 2; i++) {
        token[2 * i] = digits[data[i] >> 4];
        token[2 * i + 1] = digits[data[i] & 15];
    }
    token[PROTO_TOPIC_SIZE] = 0;
    zdigest_destroy (&digest);
}

//  A sender hears its confirmations (RECEIPT) once this many are new, and
//  every LOST_SWEEP_MS otherwise.
#define RECEIPT_BATCH 250

//  How long a lost session waits for its window, in router heartbeat
//  timeouts, and the most kept at once (beyond that, a session that ends
//  is settled at once from its last confirmation).
#define LOST_GRACE_TIMEOUTS 10
#define LOST_SESSIONS_MAX 100000

//  --- sending -----------------------------------------------------------------

void
router_core_signal (int fd)
{
    uint64_t one = 1;
    ssize_t rc = write (fd, &one, sizeof (one));
    (void) rc; //  an eventfd at its maximum is still readable: nothing lost
}

//  A message kept in memory (main's inbox, a peer's backlog), from FROM
//  (its peer field's parts). BODY is moved. Returns NULL when memory runs
//  out (BODY is then closed).
static inbound_t *
s_item_new (router_state_t *self, proto_command_t command, uint64_t id, const proto_peer_t *from,
            zmq_msg_t *body)
{
    inbound_t *item = self->spare;
    if (item) {
        self->spare = item->next;
        self->spare_count--;
    }
    else
        item = (inbound_t *) malloc (sizeof (*item));
    if (!item) {
        zmq_msg_close (body);
        return NULL;
    }
    item->command = (uint8_t) command;
    item->id = id;
    //  What the router hands on names a request's deadline on its clock,
    //  which is this process's.
    proto_peer_copy (from, item->peer, item->channel_name);
    item->deadline = (int64_t) from->deadline_ms;
    item->next = NULL;
    item->channel = false;
    zmq_msg_init (&item->body);
    zmq_msg_move (&item->body, body);
    return item;
}

static void
s_item_destroy (inbound_t **item_p)
{
    if (*item_p) {
        zmq_msg_close (&(*item_p)->body);
        free (*item_p);
        *item_p = NULL;
    }
}

//  A window main was refused for (PROKIT_EAGAIN) may have room now: make
//  main's descriptor readable, so that a main waiting on it tries again
//  at once rather than at its next timeout.
static void
s_announce_room (router_state_t *self)
{
    if (!self->main_awaits_room)
        return;
    self->main_awaits_room = false;
    if (!self->main_holds_lock && !self->inbox_signalled && self->inbox_fd >= 0) {
        router_core_signal (self->inbox_fd);
        self->inbox_signalled = true;
    }
}

//  Queue a message for the embedded main. BODY is taken. Returns 0, or
//  EAGAIN when main has ROUTER_HWM messages waiting (as its socket queue
//  would); CONTROL messages (the router's own) always fit.
static int
s_inbox_push (router_state_t *self, proto_command_t command, uint64_t id, const proto_peer_t *from,
              zmq_msg_t *body, bool control)
{
    if (!control && self->inbox_size >= ROUTER_HWM) {
        zmq_msg_close (body);
        return EAGAIN;
    }
    inbound_t *item = s_item_new (self, command, id, from, body);
    if (!item)
        return EAGAIN;
    if (self->inbox_tail)
        self->inbox_tail->next = item;
    else {
        self->inbox_head = item;
        //  Main's thread takes the inbox at the end of its own processing;
        //  otherwise tell it there is something.
        if (!self->main_holds_lock && !self->inbox_signalled) {
            router_core_signal (self->inbox_fd);
            self->inbox_signalled = true;
        }
    }
    self->inbox_tail = item;
    self->inbox_size++;
    return 0;
}

//  A destructor for CZMQ containers of items that are one malloc() each.
static void
s_free_item (void **item)
{
    free (*item);
    *item = NULL;
}

//  One more message sent to TO, from SENDER (a name, "" for any but a
//  SEND) in its session SESSION, addressed to the pool VIA ("" for TO
//  itself).
static void
s_runs_push (peer_t *to, const char *sender, uint64_t session, const char *via)
{
    if (!to->runs) {
        if (!(to->runs = zlistx_new ()))
            return;
        zlistx_set_destructor (to->runs, s_free_item);
    }
    run_t *last = (run_t *) zlistx_last (to->runs);
    if (last && last->session == session && strcmp (last->sender, sender) == 0 &&
        strcmp (last->via, via) == 0) {
        last->count++;
        return;
    }
    run_t *run = (run_t *) malloc (sizeof (*run));
    if (!run)
        return; //  an account short: at worst a report too few
    size_t size = strnlen (sender, PROTO_NAME_MAX);
    memcpy (run->sender, sender, size);
    run->sender[size] = 0;
    snprintf (run->via, sizeof (run->via), "%s", via);
    run->session = session;
    run->count = 1;
    zlistx_add_end (to->runs, run);
}

static void s_receipt_add (router_state_t *self, const run_t *run, uint64_t count,
                           const char *target);

//  The first COUNT messages of RUNS were taken in by window TARGET: each
//  sender of SENDs among them is owed a confirmation; forget them.
static void
s_runs_pop (router_state_t *self, zlistx_t *runs, uint64_t count, const char *target)
{
    while (runs && count > 0) {
        run_t *first = (run_t *) zlistx_first (runs);
        if (!first)
            return;
        uint64_t taken = first->count > count ? count : first->count;
        if (first->sender[0])
            s_receipt_add (self, first, taken, first->via[0] ? first->via : target);
        if (first->count > count) {
            first->count -= count;
            return;
        }
        count -= first->count;
        zlistx_delete (runs, zlistx_cursor (runs));
    }
}

//  Does TO have room for one more message: below its window, if it has
//  one? A full window is a full queue (EAGAIN) to whoever sends.
static inline bool
s_has_credit (const peer_t *to)
{
    return to->window == 0 || to->sent - to->consumed < to->window;
}

//  Has TO room on the PUB channel for one more SEND or broadcast: fewer
//  than its window unconfirmed (CREDIT "channel")? Below its window, its
//  queue never fills, so it never holds up a broadcast to the others.
static inline bool
s_channel_room (const peer_t *to)
{
    return to->window == 0 || to->published - to->channel_confirmed < to->window;
}

//  --- batches ---------------------------------------------------------------
//
//  A window that reads BATCH gets main's small messages in batches: those
//  published to it within one round of work (the router's processing of
//  what arrived, or main's dispatch of what it took: its handlers' replies
//  and sends), and, outside a round, those sent while it is behind by
//  COALESCE_AFTER messages or more not yet confirmed (CREDIT "channel").
//  Each joins its BATCH instead of going out alone, and whatever follows
//  (a large message) waits behind it, so that order holds. A BATCH goes
//  out when full, before anything else is sent to that window, and at the
//  end of the round (router_core_flush_batches: the router's processing,
//  main's dispatch, or the thread's look after main sent outside its loop,
//  within about a millisecond). A lone message outside a round to a window
//  keeping up is never held. Per message a BATCH spares a publish on
//  main's side and a read on the window's, the largest part of both.
#define COALESCE_AFTER 64
#define BATCHED_MAX 1024

//  Publish TO's BATCH. Returns 0, EAGAIN when its queue is full (the
//  BATCH stays, for the next flush), or ENOMEM.
static int
s_batch_publish (router_state_t *self, peer_t *to)
{
    int rc =
        wire_send_batch (self->pub, to->topic_wire, to->batch, to->batch_size, to->batch_count);
    if (rc == 0) {
        if (to->batch_count > 1)
            self->stats.batches++;
        to->batch_size = to->batch_count = 0;
        //  Its buffer goes back for whoever needs one next: an idle window
        //  holds none.
        if (self->batch_pool_count < BATCH_POOL_MAX)
            self->batch_pool[self->batch_pool_count++] = to->batch;
        else
            free (to->batch);
        to->batch = NULL;
    }
    return rc;
}

//  Add ENTRY (ENTRY_SIZE bytes, an encoded BATCH entry) to TO's BATCH,
//  publishing it first if it has no room. Returns 0, or EAGAIN (nothing
//  added) when it had no room and could not be published.
static int
s_batch_add (router_state_t *self, peer_t *to, const uint8_t *entry, size_t entry_size)
{
    if (to->batch_size + entry_size > PROTO_BATCH_MAX && s_batch_publish (self, to) != 0)
        return EAGAIN;
    if (!to->batch) {
        to->batch = self->batch_pool_count > 0 ? self->batch_pool[--self->batch_pool_count]
                                               : (uint8_t *) malloc (PROTO_BATCH_MAX);
        if (!to->batch)
            return ENOMEM;
    }
    memcpy (to->batch + to->batch_size, entry, entry_size);
    to->batch_size += entry_size;
    to->batch_count++;
    if (!to->batch_listed) {
        if (self->batched_count == self->batched_size) {
            size_t size = self->batched_size ? 2 * self->batched_size : 16;
            peer_t **grown = (peer_t **) realloc (self->batched, size * sizeof (peer_t *));
            if (!grown) {
                //  Unlisted, it would wait for its next message: out now.
                return s_batch_publish (self, to) == 0 ? 0 : ENOMEM;
            }
            self->batched = grown;
            self->batched_size = size;
        }
        self->batched[self->batched_count++] = to;
        to->batch_listed = true;
        atomic_store (&self->batches_waiting, true);
    }
    return 0;
}

//  Does a message to TO of BODY_SIZE bytes go into its BATCH?
static inline bool
s_batch_takes (const router_state_t *self, const peer_t *to, size_t body_size)
{
    if (!to->hello.batch || body_size > PROTO_BATCH_BODY_MAX)
        return false;
    if (to->batch_size > 0)
        return true; //  nothing overtakes it
    //  At most BATCHED_MAX windows hold a BATCH at once (a broadcast to
    //  many): the memory it takes stays bounded.
    return self->batched_count < BATCHED_MAX &&
           (self->in_round || atomic_load (&self->main_round) ||
            to->published - to->channel_confirmed >= COALESCE_AFTER);
}

//  TO is going: its BATCH goes out now, as everything published before
//  it did (a window closed by main still reads what main said before the
//  CLOSE, which the BATCH ends with). Whatever it then does not confirm
//  is reported with the rest.
static void
s_batch_last (router_state_t *self, peer_t *to)
{
    if (to->batch_size > 0)
        s_batch_publish (self, to);
    to->batch_size = to->batch_count = 0;
    if (!to->batch_listed)
        return;
    for (size_t i = 0; i < self->batched_count; i++)
        if (self->batched[i] == to) {
            self->batched[i] = self->batched[--self->batched_count];
            break;
        }
    to->batch_listed = false;
}

void
router_core_flush_batches (router_state_t *self)
{
    size_t kept = 0;
    for (size_t i = 0; i < self->batched_count; i++) {
        peer_t *peer = self->batched[i];
        if (peer->batch_size > 0 && s_batch_publish (self, peer) != 0)
            self->batched[kept++] = peer; //  its queue is full: next round
        else
            peer->batch_listed = false;
    }
    self->batched_count = kept;
    atomic_store (&self->batches_waiting, kept > 0);
}

//  Send one message to a peer without blocking, in the wire version it
//  reads, from FROM (its peer field's parts, written out only for a peer
//  on the socket). BODY is taken (also on failure). Returns 0 or an errno:
//  EAGAIN when the peer's queue (or its window) is full, EHOSTUNREACH when
//  it has gone.
static int
s_send_msg (router_state_t *self, peer_t *to, proto_command_t command, uint64_t id,
            const proto_peer_t *from, zmq_msg_t *body, bool control)
{
    if (to->local)
        return s_inbox_push (self, command, id, from, body, control);
    //  What it is told on its DEALER (an ERROR, a BYE) comes after what
    //  main said to it on the channel.
    if (to->batch_size > 0)
        s_batch_publish (self, to);
    if (!s_has_credit (to)) {
        zmq_msg_close (body);
        return EAGAIN;
    }
    char address[PROTO_ADDRESS_MAX + 1];
    proto_address_deadline (address, from->name, from->deadline_ms, from->channel);
    int rc = wire_send (self->router, to->version, to->routing_id, to->routing_id_size, command, id,
                        address, body);
    if (rc == 0) {
        to->sent++;
        if (to->window)
            s_runs_push (to, command == PROTO_SEND ? from->name : "",
                         command == PROTO_SEND ? self->sending_session : 0,
                         command == PROTO_SEND ? self->sending_via : "");
    }
    return rc;
}

//  Publish one message to window TO on the PUB channel, under its topic,
//  on the named channel CHANNEL_NAME (NULL or "": the default one), or add
//  it to TO's BATCH. BODY is taken. Returns 0, or EAGAIN when its queue is
//  full (nothing was queued): any refusal is back-pressure, never a
//  departure.
static int
s_publish (router_state_t *self, peer_t *to, proto_command_t command, uint64_t id,
           const char *channel_name, zmq_msg_t *body)
{
    size_t body_size = zmq_msg_size (body);
    int rc;
    if (s_batch_takes (self, to, body_size)) {
        char address[PROTO_ADDRESS_MAX + 1] = "";
        if (channel_name && channel_name[0])
            proto_address (address, "", channel_name);
        uint8_t entry[PROTO_BATCH_ENTRY_MAX];
        size_t entry_size =
            proto_batch_entry_encode (entry, command, id, address, zmq_msg_data (body), body_size);
        zmq_msg_close (body);
        return s_batch_add (self, to, entry, entry_size);
    }
    //  Nothing overtakes a BATCH.
    if (to->batch_size > 0 && s_batch_publish (self, to) != 0) {
        zmq_msg_close (body);
        return EAGAIN;
    }
    rc = wire_publish (self->pub, to->topic_wire, command, id, channel_name, body);
    return rc == 0 ? 0 : EAGAIN;
}

//  The same, with a body of BODY_SIZE bytes at BODY_BYTES (copied).
static int
s_send (router_state_t *self, peer_t *to, proto_command_t command, uint64_t id,
        const char *peer_name, const void *body_bytes, size_t body_size)
{
    zmq_msg_t body;
    if (wire_body_copy (&body, body_bytes, body_size) != 0)
        return ENOMEM;
    proto_peer_t from = { peer_name, 0, NULL };
    return s_send_msg (self, to, command, id, &from, &body, false);
}

//  The answer to PEER's BYE, its session's last message: sent past its
//  credit, which no longer matters, so that a window that stopped reading
//  with its credit used up still hears that its name is free.
static void
s_send_bye_answer (router_state_t *self, peer_t *to, uint64_t id)
{
    if (to->local) {
        s_send (self, to, PROTO_BYE, id, "", NULL, 0);
        return;
    }
    zmq_msg_t body;
    zmq_msg_init (&body);
    wire_send (self->router, to->version, to->routing_id, to->routing_id_size, PROTO_BYE, id, "",
               &body);
}

static void
s_backlog_destroy (void **item)
{
    s_item_destroy ((inbound_t **) item);
}

static void
s_control_lost (router_state_t *self, const peer_t *to, proto_command_t command, const char *why)
{
    self->stats.control_lost++;
    log_error ("router: %s; %s for '%s' lost", why, proto_command_name (command), to->name);
}

//  Send a message the router generates (ERROR, JOINED, LEFT) to a joined
//  peer. If its queue is full, keep it in the peer's backlog, behind
//  anything already there, so the peer still gets it, in order.
static void
s_send_control (router_state_t *self, peer_t *to, proto_command_t command, uint64_t id,
                const char *peer_name, const void *body_bytes, size_t body_size)
{
    zmq_msg_t body;
    proto_peer_t from = { peer_name, 0, NULL };
    if (to->local) {
        if (wire_body_copy (&body, body_bytes, body_size) != 0 ||
            s_inbox_push (self, command, id, &from, &body, true) != 0)
            s_control_lost (self, to, command, "out of memory");
        return;
    }
    if (!to->backlog || zlistx_size (to->backlog) == 0) {
        int rc = s_send (self, to, command, id, peer_name, body_bytes, body_size);
        if (rc != EAGAIN)
            return; //  sent, or the peer has gone: nobody left to tell
    }
    if (self->backlog_total >= BACKLOG_MAX) {
        s_control_lost (self, to, command, "backlog full");
        return;
    }
    inbound_t *item = NULL;
    if (wire_body_copy (&body, body_bytes, body_size) == 0)
        item = s_item_new (self, command, id, &from, &body);
    if (!item) {
        s_control_lost (self, to, command, "out of memory");
        return;
    }
    if (!to->backlog) {
        to->backlog = zlistx_new ();
        zlistx_set_destructor (to->backlog, s_backlog_destroy);
    }
    zlistx_add_end (to->backlog, item);
    self->backlog_total++;
}

//  Retry every backlog until its peer's queue is full again.
static void
s_flush_backlogs (router_state_t *self)
{
    for (peer_t *peer = (peer_t *) zhashx_first (self->by_name); peer;
         peer = (peer_t *) zhashx_next (self->by_name)) {
        while (peer->backlog && zlistx_size (peer->backlog) > 0) {
            inbound_t *item = (inbound_t *) zlistx_first (peer->backlog);
            zmq_msg_t body;
            zmq_msg_init (&body);
            zmq_msg_copy (&body, &item->body); //  the item keeps it until sent
            proto_peer_t from = { item->peer, (uint64_t) item->deadline, item->channel_name };
            int rc = s_send_msg (self, peer, (proto_command_t) item->command, item->id, &from,
                                 &body, true);
            if (rc == EAGAIN)
                break;
            if (rc != 0) {
                //  Gone: its departure is handled when next noticed.
                self->backlog_total -= zlistx_size (peer->backlog);
                zlistx_purge (peer->backlog);
                break;
            }
            zlistx_delete (peer->backlog, zlistx_cursor (peer->backlog));
            self->backlog_total--;
        }
    }
}

static void
s_send_error (router_state_t *self, peer_t *to, uint64_t id, const char *about, int code,
              const char *text)
{
    uint8_t body[PROTO_ERROR_BODY_MAX];
    size_t size = proto_error_encode (body, code, text, 0);
    self->stats.errors_sent++;
    s_send_control (self, to, PROTO_ERROR, id, about, body, size);
}

//  Answer a connection that has not joined (an ERROR, a PONG, a BYE): we
//  have no peer_t for it, and no backlog either. A connection that floods
//  us while not reading loses these answers, and only these.
static void
s_send_to_id (router_state_t *self, const zmq_msg_t *routing_id, proto_command_t command,
              uint64_t id, const char *about, const void *body, size_t body_size)
{
    peer_t anonymous;
    memset (&anonymous, 0, sizeof (anonymous));
    anonymous.version = PROTO_VERSION_1; //  all a connection that has not joined surely reads
    anonymous.routing_id_size = zmq_msg_size (routing_id);
    memcpy (anonymous.routing_id, zmq_msg_data ((zmq_msg_t *) routing_id),
            anonymous.routing_id_size);
    s_send (self, &anonymous, command, id, about, body, body_size);
}

//  ABOUT names the destination of the message refused ("" if none), so
//  that a client can tell whose message it was.
static void
s_send_error_to_id (router_state_t *self, const zmq_msg_t *routing_id, uint64_t id,
                    const char *about, int code, const char *text)
{
    uint8_t body[PROTO_ERROR_BODY_MAX];
    size_t size = proto_error_encode (body, code, text, 0);
    self->stats.errors_sent++;
    s_send_to_id (self, routing_id, PROTO_ERROR, id, about, body, size);
}

//  --- the registry ------------------------------------------------------------

static void
s_hex (const uint8_t *data, size_t size, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < size; i++) {
        out[2 * i] = digits[data[i] >> 4];
        out[2 * i + 1] = digits[data[i] & 15];
    }
    out[2 * size] = 0;
}

static void
s_peer_destroy (void **item)
{
    peer_t *peer = (peer_t *) *item;
    zlistx_destroy (&peer->backlog);
    inflight_destroy (&peer->inflight);
    zlistx_destroy (&peer->runs);
    zlistx_destroy (&peer->holders);
    free (peer->batch);
    zhashx_t **tables[] = { &peer->receipts, &peer->queued_from, &peer->account };
    for (size_t i = 0; i < sizeof (tables) / sizeof (tables[0]); i++)
        zhashx_destroy (tables[i]);
    free (peer);
    *item = NULL;
}

//  Tell main, and the windows that asked for presence, that WINDOW joined
//  or left. Never dropped: a main that missed one would keep a wrong
//  registry. TO, when given, is the only peer told (a late joiner
//  catching up on who is there).
static void
s_notify_presence (router_state_t *self, proto_command_t command, const peer_t *window,
                   const char *reason, peer_t *to)
{
    proto_presence_t presence;
    memset (&presence, 0, sizeof (presence));
    if (command == PROTO_JOINED) {
        presence.pid = window->hello.pid;
        presence.shown = window->hello.shown;
        presence.joined_at = (uint64_t) window->joined_at;
        snprintf (presence.address, sizeof (presence.address), "%s", window->address);
        memcpy (presence.service, window->hello.service, sizeof (presence.service));
    }
    else
        snprintf (presence.reason, sizeof (presence.reason), "%s", reason);
    uint8_t body[PROTO_PRESENCE_BODY_MAX];
    size_t size = proto_presence_encode (body, &presence);
    //  Main alone hears what the window took in on a router that went.
    uint8_t main_body[PROTO_PRESENCE_BODY_MAX];
    size_t main_size = size;
    memcpy (main_body, body, size);
    if (command == PROTO_JOINED && window->last_elsewhere) {
        s_session_token (window->hello.last.topic, presence.last_token);
        presence.last_count = window->hello.last.count;
        main_size = proto_presence_encode (main_body, &presence);
    }
    if (to) {
        s_send_control (self, to, command, 0, window->name, to->is_main ? main_body : body,
                        to->is_main ? main_size : size);
        return;
    }
    for (peer_t *peer = (peer_t *) zhashx_first (self->by_name); peer;
         peer = (peer_t *) zhashx_next (self->by_name))
        if (peer != window && !peer->joining && (peer->is_main || peer->hello.presence))
            s_send_control (self, peer, command, 0, window->name, peer->is_main ? main_body : body,
                            peer->is_main ? main_size : size);
}

//  READ_CLOCK (clock.h) for routing a message: within a batch from the
//  socket, the reading the batch made first (*BATCH_MS, 0: none yet). A
//  batch takes well under the clocks' millisecond (the coarse one's few),
//  so a message is stamped and its deadline set as its own reading would,
//  or a fraction of a millisecond earlier: a deadline is never later.
static int64_t
s_batch_clock (router_state_t *self, int64_t *batch_ms, int64_t (*read_clock) (void))
{
    if (!self->in_batch)
        return read_clock ();
    if (!*batch_ms)
        *batch_ms = read_clock ();
    return *batch_ms;
}

static void s_release_holders (router_state_t *self, peer_t *target);

static peer_t *
s_find (router_state_t *self, const char *name)
{
    peer_t *recent = self->recent_target;
    if (recent && strcmp (recent->name, name) == 0)
        return recent;
    peer_t *peer = (peer_t *) zhashx_lookup (self->by_name, name);
    if (peer)
        self->recent_target = peer;
    return peer;
}

//  Before a peer is freed: the caches must not point at it.
static void
s_forget_recent (router_state_t *self)
{
    self->recent_sender = self->recent_target = NULL;
}

//  The answer to REQUESTER's request ID has been given (or dropped): PEER
//  no longer owes it.
//  One request of REQUESTER's (NULL: it has gone) has its outcome.
static void
s_request_done (peer_t *requester)
{
    if (requester && requester->requests_out > 0)
        requester->requests_out--;
}

//  PEER answered REQUESTER's request ID, or will not: it owes it no more.
//  REQUESTER_PEER (NULL: gone) has one request fewer in flight.
static void
s_settle (peer_t *peer, const char *requester, uint64_t id, peer_t *requester_peer)
{
    inflight_entry_t *entry = peer->inflight ? inflight_find (peer->inflight, id, requester) : NULL;
    if (entry)
        inflight_remove (peer->inflight, entry);
    //  What the embedded main owes is not in a table: its answers count.
    if (entry || peer->local)
        s_request_done (requester_peer);
}

//  End every request PEER still owed with ECLOSED for its requester.
static void
s_fail_inflight (router_state_t *self, peer_t *peer, const char *reason)
{
    if (!peer->inflight)
        return;
    char text[160];
    snprintf (text, sizeof (text), "'%s' left before answering (%s)", peer->name, reason);
    inflight_entry_t *entry;
    while ((entry = inflight_any (peer->inflight)) != NULL) {
        peer_t *requester = s_find (self, entry->peer);
        if (requester && requester != peer) {
            //  A request to a pool is answered, even now, under the pool's name.
            s_send_error (self, requester, entry->id, entry->via[0] ? entry->via : peer->name,
                          PROKIT_ECLOSED, text);
            s_request_done (requester);
        }
        inflight_remove (peer->inflight, entry);
    }
}

//  The code and words of a report of messages NAME did not take in: it
//  said so (PROKIT_ECLOSED), or nobody could say (PROKIT_EUNCONFIRMED: it
//  may have taken some in).
static int
s_missed_code (bool said)
{
    return said ? PROKIT_ECLOSED : PROKIT_EUNCONFIRMED;
}

static const char *
s_missed_words (bool said)
{
    return said ? "were not taken in" : "were not confirmed taken in";
}

//  Tell main that COUNT of the messages it sent window NAME on the channel
//  were not taken in (SAID: the window said so; else it went before it
//  could): one ERROR about no message in particular (id: the one-way bit
//  alone) whose app_code is the count.
static void
s_report_unconfirmed (router_state_t *self, const char *name, uint64_t count, bool said,
                      const char *why)
{
    if (count == 0)
        return;
    if (!self->main) {
        log_warn ("router: %llu message(s) to '%s' not taken in (%s); no main to tell",
                  (unsigned long long) count, name, why);
        return;
    }
    char text[192];
    snprintf (text, sizeof (text), "%llu message(s) to '%s' %s: %s", (unsigned long long) count,
              name, s_missed_words (said), why);
    uint8_t body[PROTO_ERROR_BODY_MAX];
    int app_code = count < INT32_MAX ? (int) count : INT32_MAX;
    size_t size = proto_error_encode (body, s_missed_code (said), text, app_code);
    self->stats.errors_sent++;
    s_send_control (self, self->main, PROTO_ERROR, PROTO_ID_ONE_WAY_BIT, name, body, size);
}

//  Send PEER its confirmations that changed, in RECEIPTs of up to
//  PROTO_RECEIPT_PAIRS windows each.
static void s_send_account (router_state_t *self, peer_t *main);

static void
s_send_receipts (router_state_t *self, peer_t *peer)
{
    if (peer->receipts_unsent == 0)
        return;
    if (peer->accounts)
        s_send_account (self, peer);
    proto_receipt_entry_t entries[PROTO_RECEIPT_PAIRS];
    size_t n = 0;
    uint8_t body[PROTO_RECEIPT_BODY_MAX];
    for (receipt_t *receipt = peer->receipts ? (receipt_t *) zhashx_first (peer->receipts) : NULL;
         receipt; receipt = (receipt_t *) zhashx_next (peer->receipts)) {
        if (!receipt->changed)
            continue;
        receipt->changed = false;
        const char *target_name = (const char *) zhashx_cursor (peer->receipts);
        entries[n] = (proto_receipt_entry_t){ target_name, receipt->count, NULL, 0, 0 };
        //  A sender that reads TOOK hears the window's session too, counted
        //  at the same moment.
        peer_t *target = receipt->queued > 0 && peer->hello.took
                             ? (peer_t *) zhashx_lookup (self->by_name, target_name)
                             : NULL;
        uint64_t *queued = target && target->channel
                               ? (uint64_t *) table_find (target->queued_from, peer->name)
                               : NULL;
        if (queued && receipt->count <= receipt->queued) {
            entries[n].token = target->token;
            entries[n].queued = receipt->queued;
            entries[n].session_queued = *queued;
        }
        if (++n == PROTO_RECEIPT_PAIRS) {
            size_t size = proto_receipt_encode (body, entries, n);
            s_send_control (self, peer, PROTO_RECEIPT, 0, "", body, size);
            n = 0;
        }
    }
    if (n > 0) {
        size_t size = proto_receipt_encode (body, entries, n);
        s_send_control (self, peer, PROTO_RECEIPT, 0, "", body, size);
    }
    peer->receipts_unsent = 0;
}

//  What PEER is owed (its confirmations; main's: its account) changed by
//  COUNT: send it once RECEIPT_BATCH changes are pending, else with the
//  next flush.
static void
s_receipts_mark (router_state_t *self, peer_t *peer, uint64_t count)
{
    if (peer->receipts_unsent == 0)
        self->receipts_pending++;
    peer->receipts_unsent += count;
}

static void
s_receipts_touch (router_state_t *self, peer_t *peer, uint64_t count)
{
    s_receipts_mark (self, peer, count);
    if (peer == self->main && self->main_handling)
        return; //  its ACCOUNT waits until the message is handled
    if (peer->receipts_unsent >= RECEIPT_BATCH) {
        s_send_receipts (self, peer);
        self->receipts_pending--;
    }
}

//  COUNT of RUN's SENDs were taken in by window TARGET: its sender, if it
//  is still in the session that sent them, is owed that confirmation.
//  SENDER's receipt for TARGET (a window or a pool), made if missing; NULL
//  when out of memory (a confirmation short: at worst a report too many).
static receipt_t *
s_receipt_of (peer_t *sender, const char *target)
{
    return (receipt_t *) table_item (&sender->receipts, target, sizeof (receipt_t));
}

static void
s_receipt_add (router_state_t *self, const run_t *run, uint64_t count, const char *target)
{
    peer_t *sender = (peer_t *) zhashx_lookup (self->by_name, run->sender);
    if (!sender || sender->session != run->session || sender->local || sender->window == 0)
        return;
    receipt_t *receipt = s_receipt_of (sender, target);
    if (!receipt)
        return;
    receipt->count += count;
    receipt->changed = true;
    s_receipts_touch (self, sender, count);
}

//  A SEND from SENDER (which reads TOOK) was queued to window TARGET: both
//  counts that number it move (see queued_from). The first of SENDER's in
//  TARGET's session is confirmed at once, with the session, so that the
//  sender can number what the session takes in even if no confirmation
//  follows before this router goes.
static void
s_receipt_queued (router_state_t *self, peer_t *sender, peer_t *target)
{
    receipt_t *receipt = s_receipt_of (sender, target->name);
    if (!receipt)
        return;
    receipt->queued++;
    uint64_t *count = (uint64_t *) table_item (&target->queued_from, sender->name, sizeof (*count));
    if (count && ++*count == 1) {
        receipt->changed = true;
        s_receipts_touch (self, sender, RECEIPT_BATCH);
    }
}

//  --- main's account (ACCOUNT) ---------------------------------------------------

//  Send MAIN what changed in its account: how many of its messages were
//  handled, and the windows whose counts moved, PROTO_ACCOUNT_WINDOWS at a
//  time. Always one, even when no window changed (handled did).
static void
s_send_account (router_state_t *self, peer_t *main)
{
    proto_account_window_t windows[PROTO_ACCOUNT_WINDOWS];
    size_t n = 0;
    uint8_t body[PROTO_ACCOUNT_BODY_MAX];
    bool sent = false;
    account_t *entry = main->account ? (account_t *) zhashx_first (main->account) : NULL;
    for (; entry; entry = (account_t *) zhashx_next (main->account)) {
        if (!entry->changed)
            continue; //  only what moved since the last ACCOUNT
        entry->changed = false;
        //  The window's session on the channel now, counted at the same
        //  moment: main numbers that session's messages from it.
        const char *name = (const char *) zhashx_cursor (main->account);
        peer_t *window = (peer_t *) zhashx_lookup (self->by_name, name);
        bool session = window && window->channel && !window->joining;
        windows[n++] = (proto_account_window_t){ name, entry->published, entry->settled,
                                                 session ? window->token : NULL,
                                                 session ? window->published : 0 };
        if (n == PROTO_ACCOUNT_WINDOWS) {
            size_t size = proto_account_encode (body, main->handled, windows, n);
            s_send_control (self, main, PROTO_ACCOUNT, 0, "", body, size);
            n = 0;
            sent = true;
        }
    }
    if (n > 0 || !sent) {
        size_t size = proto_account_encode (body, main->handled, windows, n);
        s_send_control (self, main, PROTO_ACCOUNT, 0, "", body, size);
    }
}

//  The entry of window NAME in MAIN's account, made if missing; NULL when
//  out of memory (an account short: at worst a report too many later).
static account_t *
s_account_entry (peer_t *main, const char *name)
{
    return (account_t *) table_item (&main->account, name, sizeof (account_t));
}

//  The main that keeps an account, if any (a remote main that asked).
static peer_t *
s_accounting_main (router_state_t *self)
{
    return self->main && self->main->accounts ? self->main : NULL;
}

//  Main has published one more message to WINDOW on the channel (counted
//  in its PUBLISHED already, so that an ACCOUNT sent from here is whole).
//  MAIN: s_accounting_main(), looked up once by a caller that publishes
//  to many windows; NULL (no main keeps an account) does nothing.
static void
s_account_published (router_state_t *self, peer_t *main, peer_t *window)
{
    if (!main)
        return;
    if (window->main_session != main->session) {
        window->main_session = main->session;
        window->main_base = window->published - 1; //  this one is main's
    }
    account_t *entry = s_account_entry (main, window->name);
    if (entry) {
        entry->published++;
        entry->changed = true;
        s_receipts_touch (self, main, 1);
    }
}

//  The channel messages FROM .. TO (indexes since the window's HELLO) of
//  window NAME are settled: taken in, or reported to main as not. Those
//  of main session SESSION from BASE on are that main's, if it is still
//  the one here.
static void
s_account_settled (router_state_t *self, const char *name, uint64_t session, uint64_t base,
                   uint64_t from, uint64_t to)
{
    peer_t *main = s_accounting_main (self);
    if (!main || main->session != session)
        return;
    if (from < base)
        from = base;
    account_t *entry =
        to > from && main->account ? (account_t *) zhashx_lookup (main->account, name) : NULL;
    if (!entry)
        return;
    uint64_t count = to - from;
    entry->settled =
        entry->settled + count > entry->published ? entry->published : entry->settled + count;
    entry->changed = true;
    s_receipts_touch (self, main, count);
}

//  WINDOW's session on the channel began, or main (which keeps an account)
//  joined while it was there: main hears of the session at once, before
//  anything of main's is published to it, so that it can number what the
//  window takes in even if no other ACCOUNT follows before this router
//  goes. SEND: send the ACCOUNT now (else the caller will).
static void
s_account_session_began (router_state_t *self, peer_t *window, bool send)
{
    peer_t *main = s_accounting_main (self);
    account_t *entry = main && window->channel ? s_account_entry (main, window->name) : NULL;
    if (!entry)
        return;
    entry->changed = true;
    if (send)
        s_receipts_touch (self, main, RECEIPT_BATCH);
    else
        s_receipts_mark (self, main, 1);
}

//  One more of main's SENDs or broadcasts handled.
static void
s_account_handled (router_state_t *self, peer_t *main)
{
    main->handled++;
    s_receipts_touch (self, main, 1); //  sends what publishing it made due too
}

//  Every sender with confirmations not yet sent hears them.
void
router_core_flush_receipts (router_state_t *self)
{
    if (self->receipts_pending == 0)
        return;
    for (peer_t *peer = (peer_t *) zhashx_first (self->by_name); peer;
         peer = (peer_t *) zhashx_next (self->by_name))
        if (peer->receipts_unsent > 0)
            s_send_receipts (self, peer);
    self->receipts_pending = 0;
}

//  Tell each sender in RUNS how many of its SENDs window NAME never took
//  in, after the first SKIP messages of RUNS (which it did take in).
static void
s_report_runs (router_state_t *self, const char *name, zlistx_t *runs, uint64_t skip, bool said,
               const char *why)
{
    s_runs_pop (self, runs, skip, name);
    if (!runs || zlistx_size (runs) == 0)
        return;
    //  Per sender and the name it sent to (the window, or a pool), however
    //  its runs interleave: one report each.
    zhashx_t *missed = zhashx_new ();
    for (run_t *run = (run_t *) zlistx_first (runs); run && missed;
         run = (run_t *) zlistx_next (runs)) {
        if (!run->sender[0])
            continue;
        char key[2 * PROTO_NAME_MAX + 2];
        snprintf (key, sizeof (key), "%s/%s", run->sender, run->via);
        run_t *sum = (run_t *) zhashx_lookup (missed, key);
        if (sum)
            sum->count += run->count;
        else
            zhashx_insert (missed, key, run);
    }
    for (run_t *sum = missed ? (run_t *) zhashx_first (missed) : NULL; sum;
         sum = (run_t *) zhashx_next (missed)) {
        peer_t *sender = (peer_t *) zhashx_lookup (self->by_name, sum->sender);
        if (!sender || sender->joining) {
            log_info ("router: %llu message(s) from '%s' to '%s' not taken in (%s); '%s' has "
                      "gone too",
                      (unsigned long long) sum->count, sum->sender, name, why, sum->sender);
            continue;
        }
        char text[256];
        if (sum->via[0])
            snprintf (text, sizeof (text),
                      "%llu message(s) to '%s' %s by '%s', which served it: %s",
                      (unsigned long long) sum->count, sum->via, s_missed_words (said), name, why);
        else
            snprintf (text, sizeof (text), "%llu message(s) to '%s' %s: %s",
                      (unsigned long long) sum->count, name, s_missed_words (said), why);
        uint8_t body[PROTO_ERROR_BODY_MAX];
        int app_code = sum->count < INT32_MAX ? (int) sum->count : INT32_MAX;
        size_t size = proto_error_encode (body, s_missed_code (said), text, app_code);
        self->stats.errors_sent++;
        s_send_control (self, sender, PROTO_ERROR, PROTO_ID_ONE_WAY_BIT,
                        sum->via[0] ? sum->via : name, body, size);
    }
    zhashx_destroy (&missed);
}

static void
s_lost_destroy (void **item)
{
    lost_session_t *lost = (lost_session_t *) *item;
    zlistx_destroy (&lost->runs);
    free (lost);
    *item = NULL;
}

//  The key of a session off the channel (see lost_session_t): "n:" NAME
//  after a lost connection, "c:" and its connection's routing id in hex
//  once main closed it. Neither can be a topic (hex digits) or the other.
static void
s_lost_key (char key[LOST_KEY_MAX], bool closed, const char *of)
{
    snprintf (key, LOST_KEY_MAX, "%s%s", closed ? "c:" : "n:", of);
}

//  The lost session KEY has its last counts (COUNT on the channel,
//  DEALER_COUNT on its DEALER, both since its HELLO; SAID: the window said
//  them, else they are what it last confirmed): report what it missed, to
//  main and to each window that sent it something. False when no session
//  is kept under KEY.
static bool
s_lost_settle (router_state_t *self, const char *key, uint64_t count, uint64_t dealer_count,
               bool said)
{
    lost_session_t *lost = key[0] && atomic_load (&self->lost_count) > 0
                               ? (lost_session_t *) zhashx_lookup (self->lost, key)
                               : NULL;
    if (!lost)
        return false;
    uint64_t missed = lost->expected > count ? lost->expected - count : 0;
    s_report_unconfirmed (self, lost->name, missed, said, lost->reason);
    s_account_settled (self, lost->name, lost->main_session, lost->main_base, lost->confirmed,
                       lost->expected);
    uint64_t taken =
        dealer_count > lost->dealer_confirmed ? dealer_count - lost->dealer_confirmed : 0;
    s_report_runs (self, lost->name, lost->runs, taken, said, lost->reason);
    zhashx_delete (self->lost, key);
    atomic_store (&self->lost_count, zhashx_size (self->lost));
    return true;
}

//  Lost sessions whose window has not come back in time: what they last
//  confirmed is all they are known to have taken in.
static void s_took_deliver (router_state_t *self, peer_t *peer);

void
router_core_sweep_lost (router_state_t *self)
{
    s_took_deliver (self, NULL); //  the notes no sender came for in time
    if (atomic_load (&self->lost_count) == 0)
        return;
    int64_t now = clock_coarse_wall_ms ();
    zlistx_t *due = zlistx_new ();
    for (lost_session_t *lost = (lost_session_t *) zhashx_first (self->lost); lost && due;
         lost = (lost_session_t *) zhashx_next (self->lost))
        if (lost->deadline <= now)
            zlistx_add_end (due, lost->key);
    for (char *key = due ? (char *) zlistx_first (due) : NULL; key;
         key = (char *) zlistx_next (due)) {
        lost_session_t *lost = (lost_session_t *) zhashx_lookup (self->lost, key);
        s_lost_settle (self, key, lost->confirmed, lost->dealer_confirmed, false);
    }
    zlistx_destroy (&due);
}

//  --- what windows back from another router took in (TOOK) ------------------

//  Window WINDOW's session on a router that went (TOPIC) took in COUNT of
//  SENDER's SENDs: for SENDER, once it is here, until DEADLINE.
typedef struct took_note {
    char sender[PROTO_NAME_MAX + 1];
    char window[PROTO_NAME_MAX + 1];
    proto_took_t took;
    int64_t deadline;
} took_note_t;

//  The most notes kept for senders not here yet.
#define TOOK_NOTES_MAX 100000

static void
s_took_note_destroy (void **item)
{
    free (*item);
    *item = NULL;
}

//  Tell SENDER what window WINDOW's lost session took in of its SENDs.
static void
s_took_send (router_state_t *self, peer_t *sender, const char *window, const proto_took_t *took)
{
    uint8_t body[PROTO_TOOK_BODY_MAX];
    size_t size = proto_took_encode (body, took);
    s_send_control (self, sender, PROTO_TOOK, 0, window, body, size);
}

typedef struct took_from {
    router_state_t *self;
    const char *window;
    const char *token; //  of its session there (s_session_token())
} took_from_t;

//  One sender of a HELLO's "last_from": told now if it is here and reads
//  TOOK, else once it joins.
static void
s_took_from (const char *name, uint64_t count, uint64_t first, void *arg)
{
    took_from_t *from = (took_from_t *) arg;
    router_state_t *self = from->self;
    proto_took_t took;
    snprintf (took.token, sizeof (took.token), "%s", from->token);
    took.count = count;
    took.first = first;
    peer_t *sender = (peer_t *) zhashx_lookup (self->by_name, name);
    if (sender && !sender->joining) {
        log_debug ("router: '%s' took in %llu of '%s''s SENDs on the router that went%s",
                   from->window, (unsigned long long) count, name,
                   sender->hello.took ? ": told" : "");
        if (sender->hello.took)
            s_took_send (self, sender, from->window, &took);
        return; //  here already, and did not ask: its tally is not waiting
    }
    took_note_t *note = zlistx_size (self->took_notes) < TOOK_NOTES_MAX
                            ? (took_note_t *) calloc (1, sizeof (*note))
                            : NULL;
    log_debug ("router: '%s' took in %llu of '%s''s SENDs on the router that went: %s",
               from->window, (unsigned long long) count, name,
               note ? "kept until it joins" : "too many kept to keep this");
    if (!note)
        return; //  the sender reports everything it was not told of: too many, never too few
    snprintf (note->sender, sizeof (note->sender), "%s", name);
    snprintf (note->window, sizeof (note->window), "%s", from->window);
    note->took = took;
    note->deadline = clock_coarse_wall_ms () + self->lost_grace_ms;
    zlistx_add_end (self->took_notes, note);
}

//  PEER joined: the notes kept for it, if it reads them (NULL: none is
//  due). Expired ones go.
static void
s_took_deliver (router_state_t *self, peer_t *peer)
{
    if (zlistx_size (self->took_notes) == 0)
        return;
    int64_t now = clock_coarse_wall_ms ();
    took_note_t *note = (took_note_t *) zlistx_first (self->took_notes);
    while (note) {
        void *handle = zlistx_cursor (self->took_notes);
        bool due = peer && strcmp (note->sender, peer->name) == 0;
        if (due && peer->hello.took)
            s_took_send (self, peer, note->window, &note->took);
        took_note_t *next = (took_note_t *) zlistx_next (self->took_notes);
        if (due || note->deadline <= now)
            zlistx_delete (self->took_notes, handle);
        note = next;
    }
}

//  A window leaves: settle what it was sent now if it said its last counts
//  (its BYE: on the channel, and on its DEALER for one off the channel),
//  else keep the session as lost for a while.
static void
s_session_ends (router_state_t *self, peer_t *peer, const char *reason)
{
    uint64_t expected = peer->channel ? peer->published : 0;
    if (peer->channel ? peer->final_known : peer->dealer_final_known) {
        uint64_t count = peer->final_count;
        s_report_unconfirmed (self, peer->name, expected > count ? expected - count : 0, true,
                              reason);
        s_account_settled (self, peer->name, peer->main_session, peer->main_base,
                           peer->channel_confirmed, expected);
        s_report_runs (self, peer->name, peer->runs,
                       peer->dealer_final_known && peer->dealer_final > peer->consumed
                           ? peer->dealer_final - peer->consumed
                           : 0,
                       peer->dealer_final_known, reason);
        return;
    }
    bool runs_pending = peer->runs && zlistx_size (peer->runs) > 0;
    if (expected <= peer->channel_confirmed && !runs_pending)
        return; //  it confirmed everything: nothing can be missing
    char key[LOST_KEY_MAX];
    if (peer->channel)
        snprintf (key, sizeof (key), "%s", peer->topic);
    else
        s_lost_key (key, peer->closed, peer->closed ? peer->key : peer->name);
    //  An earlier session under the same key (a window that never said its
    //  counts): what it confirmed has to do.
    lost_session_t *earlier = (lost_session_t *) zhashx_lookup (self->lost, key);
    if (earlier)
        s_lost_settle (self, key, earlier->confirmed, earlier->dealer_confirmed, false);
    lost_session_t *lost = (lost_session_t *) calloc (1, sizeof (*lost));
    if (!lost || zhashx_size (self->lost) >= LOST_SESSIONS_MAX) {
        //  No room to wait: what it confirmed has to do now.
        free (lost);
        s_report_unconfirmed (
            self, peer->name,
            expected > peer->channel_confirmed ? expected - peer->channel_confirmed : 0, false,
            reason);
        s_account_settled (self, peer->name, peer->main_session, peer->main_base,
                           peer->channel_confirmed, expected);
        s_report_runs (self, peer->name, peer->runs, 0, false, reason);
        return;
    }
    lost->runs = peer->runs; //  taken: the peer is about to go
    peer->runs = NULL;
    lost->dealer_confirmed = peer->consumed;
    strcpy (lost->name, peer->name);
    strcpy (lost->key, key);
    lost->expected = expected;
    lost->confirmed = peer->channel_confirmed;
    lost->main_session = peer->main_session;
    lost->main_base = peer->main_base;
    lost->deadline = clock_coarse_wall_ms () + self->lost_grace_ms;
    snprintf (lost->reason, sizeof (lost->reason), "%s", reason);
    zhashx_update (self->lost, lost->key, lost);
    atomic_store (&self->lost_count, zhashx_size (self->lost));
}

static void
s_remove_peer (router_state_t *self, peer_t *peer, const char *reason)
{
    log_info ("router: '%s' left (%s)", peer->name, reason);
    s_batch_last (self, peer);
    //  First of all: no request or message is given it from now on.
    if (peer->hello.service[0])
        pools_leave (self->pools, peer->hello.service, peer);
    if (peer->keyed)
        s_count_down (self->per_key, peer->client_key);
    peer->keyed = false;
    s_fail_inflight (self, peer, reason);
    s_release_holders (self, peer); //  their sends to it fail as to a name unknown
    if (peer->backlog)
        self->backlog_total -= zlistx_size (peer->backlog);
    zhashx_delete (self->by_id, peer->key);
    if (peer->channel)
        zhashx_delete (self->by_topic, peer->topic);
    if (peer->joining) {
        //  Nobody was told it joined: nobody is told it left.
        if (peer->channel)
            self->joining_count--;
        char name[PROTO_NAME_MAX + 1];
        strcpy (name, peer->name);
        s_forget_recent (self);
        zhashx_delete (self->by_name, name);
        return;
    }
    if (peer == self->main)
        self->main = NULL;
    else {
        self->stats.windows--;
        if (peer->channel) {
            self->channel_windows--;
            atomic_store (&self->channel_count, self->channel_windows);
        }
        s_session_ends (self, peer, reason);
        //  Tell the others while the entry still exists, then free it.
        s_notify_presence (self, PROTO_LEFT, peer, reason, NULL);
        char name[PROTO_NAME_MAX + 1];
        strcpy (name, peer->name);
        s_forget_recent (self);
        zhashx_delete (self->by_name, name);
        return;
    }
    s_forget_recent (self);
    zhashx_delete (self->by_name, PROTO_MAIN_NAME);
}

//  PEER has joined: it is visible from now on. Main and the windows that
//  follow presence hear of it; if it follows presence itself, it hears who
//  is already there.
static void
s_admit (router_state_t *self, peer_t *peer)
{
    log_info ("router: '%s' joined%s%s%s%s", peer->name, *peer->address ? " from " : "",
              peer->address, *peer->client_key ? " with key " : "", peer->client_key);
    if (peer->is_main) {
        self->main = peer;
        //  It learns the sessions of the windows already there (after
        //  their JOINEDs, below).
        for (peer_t *window = (peer_t *) zhashx_first (self->by_name); window;
             window = (peer_t *) zhashx_next (self->by_name))
            if (!window->is_main && !window->joining)
                s_account_session_began (self, window, false);
    }
    else {
        self->stats.windows++;
        if (peer->channel)
            self->channel_windows++;
        atomic_store (&self->channel_count, self->channel_windows);
        if (peer->hello.service[0] && pools_join (self->pools, peer->hello.service, peer) != 0)
            log_error ("router: out of memory: '%s' serves no pool '%s'", peer->name,
                       peer->hello.service);
        s_notify_presence (self, PROTO_JOINED, peer, NULL, NULL);
        s_account_session_began (self, peer, true);
        s_took_deliver (self, peer);
    }
    if (peer->is_main || peer->hello.presence) {
        //  A late joiner that follows presence learns who is already there.
        zlistx_t *others = zlistx_new ();
        for (peer_t *window = (peer_t *) zhashx_first (self->by_name); window;
             window = (peer_t *) zhashx_next (self->by_name))
            if (!window->is_main && !window->joining && window != peer)
                zlistx_add_end (others, window);
        for (peer_t *window = (peer_t *) zlistx_first (others); window;
             window = (peer_t *) zlistx_next (others))
            s_notify_presence (self, PROTO_JOINED, window, NULL, peer);
        zlistx_destroy (&others);
    }
    if (peer->is_main && peer->accounts && peer->receipts_unsent > 0)
        s_receipts_touch (self, peer, RECEIPT_BATCH); //  the sessions marked above
}

//  A fresh secret topic, unlike any in use: PROTO_TOPIC_SIZE hex digits
//  from the kernel's random source. False if it has none to give.
static bool
s_topic_new (router_state_t *self, char topic[PROTO_TOPIC_SIZE + 1])
{
    static const char digits[] = "0123456789abcdef";
    for (int attempt = 0; attempt < 8; attempt++) {
        uint8_t random[PROTO_TOPIC_SIZE / 2];
        if (getrandom (random, sizeof (random), 0) != (ssize_t) sizeof (random))
            return false;
        for (size_t i = 0; i < sizeof (random); i++) {
            topic[2 * i] = digits[random[i] >> 4];
            topic[2 * i + 1] = digits[random[i] & 15];
        }
        topic[PROTO_TOPIC_SIZE] = 0;
        if (!zhashx_lookup (self->by_topic, topic))
            return true;
    }
    return false;
}

//  The port of a "tcp://host:port" endpoint, 0 if there is none.
static int
s_endpoint_port (const char *endpoint)
{
    const char *colon = strrchr (endpoint, ':');
    return colon ? atoi (colon + 1) : 0;
}

//  The channel of the endpoint a client connected to (on descriptor FD,
//  -1 for inproc), or NULL when that endpoint has none.
static const char *
s_channel_for (router_state_t *self, int fd)
{
    if (!self->pub)
        return NULL;
    struct sockaddr_storage local;
    socklen_t size = sizeof (local);
    memset (&local, 0, sizeof (local));
    bool known = fd >= 0 && getsockname (fd, (struct sockaddr *) &local, &size) == 0;
    for (size_t i = 0; i < self->endpoint_count; i++) {
        const char *endpoint = self->bound[i];
        if (!self->channels[i][0])
            continue;
        if (!known) {
            if (strncmp (endpoint, "inproc://", 9) == 0)
                return self->channels[i];
            continue;
        }
        if (local.ss_family == AF_UNIX && strncmp (endpoint, "ipc://", 6) == 0) {
            const struct sockaddr_un *un = (const struct sockaddr_un *) &local;
            const char *path = endpoint + 6;
            size_t path_size = (size_t) size - offsetof (struct sockaddr_un, sun_path);
            //  An abstract name starts with a NUL where the endpoint has '@'.
            bool abstract = path[0] == '@' && path_size > 0 && un->sun_path[0] == 0;
            if (abstract ? path_size - 1 == strlen (path + 1) &&
                               memcmp (un->sun_path + 1, path + 1, path_size - 1) == 0
                         : strncmp (un->sun_path, path, sizeof (un->sun_path)) == 0)
                return self->channels[i];
        }
        else if ((local.ss_family == AF_INET || local.ss_family == AF_INET6) &&
                 strncmp (endpoint, "tcp://", 6) == 0) {
            int port = local.ss_family == AF_INET
                           ? ntohs (((const struct sockaddr_in *) &local)->sin_port)
                           : ntohs (((const struct sockaddr_in6 *) &local)->sin6_port);
            if (port == s_endpoint_port (endpoint))
                return self->channels[i];
        }
    }
    return NULL;
}

//  Why the connection CLIENT_KEY (from ADDRESS) may not claim the name
//  MSG's HELLO asks for: PROKIT_EACCES (the access list), PROKIT_EEXIST
//  (taken), with TEXT for the peer; PROKIT_OK when it may.
static int
s_hello_refusal (router_state_t *self, const char *client_key, const char *address,
                 const proto_msg_t *msg, const char *service, char *text, size_t size)
{
    bool is_main = strcmp (msg->peer, PROTO_MAIN_NAME) == 0;
    //  A pool and a window never share a name: a request to it could not
    //  say which it meant.
    if (!is_main && service[0]) {
        if (!proto_window_name_valid (service, strlen (service)) ||
            strcmp (service, msg->peer) == 0) {
            snprintf (text, size, "'%s' is not a valid pool name for window '%s'", service,
                      msg->peer);
            return PROKIT_EPROTO;
        }
        peer_t *holder = (peer_t *) zhashx_lookup (self->by_name, service);
        if (holder) {
            snprintf (text, size, "'%s' is a window's name: it cannot be a pool's too", service);
            log_info ("router: refused HELLO: %s", text);
            return PROKIT_EEXIST;
        }
    }
    if (!is_main && pools_size (self->pools, msg->peer) > 0) {
        snprintf (text, size,
                  "'%s' is a pool's name (%zu windows serve it): it cannot be a window's",
                  msg->peer, pools_size (self->pools, msg->peer));
        log_info ("router: refused HELLO: %s", text);
        return PROKIT_EEXIST;
    }
    if (*client_key && self->allowed && !zcertstore_lookup (self->allowed, client_key)) {
        //  Its certificate left the allowed-keys directory after this
        //  connection's handshake (ZAP only sees new ones).
        snprintf (text, size, "this key is no longer allowed");
        log_warn ("router: refused HELLO from key %s: no longer allowed", client_key);
        return PROKIT_EACCES;
    }
    if (self->acl && !acl_allows (self->acl, client_key, msg->peer)) {
        //  Checked before the name is looked up, so a refused peer cannot
        //  even learn whether the name is in use.
        snprintf (text, size, "%s may not claim %s%s%s (access list)",
                  *client_key ? "this key" : "a connection without a CURVE key",
                  is_main ? "the main role" : "window name '", is_main ? "" : msg->peer,
                  is_main ? "" : "'");
        log_warn ("router: refused %s to %s%s from %s: not in the access list",
                  is_main ? "the main role" : msg->peer, *client_key ? "key " : "keyless peer",
                  client_key, address && *address ? address : "a local connection");
        return PROKIT_EACCES;
    }
    pending_t *keyed = *client_key && self->max_windows_per_key && !is_main
                           ? s_count_of (self->per_key, client_key, false)
                           : NULL;
    if (keyed && keyed->count >= self->max_windows_per_key) {
        snprintf (text, size, "this key has %zu windows joined: the limit is %zu", keyed->count,
                  self->max_windows_per_key);
        self->stats.limited++;
        log_warn ("router: refused '%s' to key %s: %s (PROKIT_ELIMIT)", msg->peer, client_key,
                  text);
        return PROKIT_ELIMIT;
    }
    size_t windows = zhashx_size (self->by_name) - (self->main ? 1 : 0);
    if (!is_main && windows >= self->max_windows && !zhashx_lookup (self->by_name, msg->peer)) {
        snprintf (text, size, "this router has %zu windows: the limit is %zu", windows,
                  self->max_windows);
        self->stats.limited++;
        log_warn ("router: refused '%s': %s (PROKIT_ELIMIT)", msg->peer, text);
        return PROKIT_ELIMIT;
    }
    if (!zhashx_lookup (self->by_name, msg->peer))
        return PROKIT_OK;
    if (is_main && self->main && self->main->local)
        snprintf (text, size, "this router is embedded in its main process");
    else if (is_main)
        snprintf (text, size, "a main process is already attached");
    else
        snprintf (text, size, "window name '%s' is already taken", msg->peer);
    log_info ("router: refused HELLO: %s", text);
    return PROKIT_EEXIST;
}

//  The peer MSG's HELLO makes of the connection ROUTING_ID (KEY in hex,
//  descriptor FD), registered by name and by id; NULL when out of memory.
static peer_t *
s_peer_new (router_state_t *self, const zmq_msg_t *routing_id, const char *key, int fd,
            const char *address, const char *client_key, const proto_msg_t *msg)
{
    peer_t *peer = (peer_t *) calloc (1, sizeof (*peer));
    if (!peer)
        return NULL;
    strcpy (peer->name, msg->peer);
    peer->session = ++self->sessions;
    peer->routing_id_size = zmq_msg_size (routing_id);
    memcpy (peer->routing_id, zmq_msg_data ((zmq_msg_t *) routing_id), peer->routing_id_size);
    strcpy (peer->key, key);
    peer->is_main = strcmp (msg->peer, PROTO_MAIN_NAME) == 0;
    peer->fd = fd;
    peer->joined_at = peer->last_seen = clock_coarse_wall_ms ();
    //  The codec checked the body is a map; unknown keys are for later.
    proto_hello_decode (msg->body, msg->body_size, &peer->hello);
    //  A default deadline no REQUEST could say is not applied (nor said
    //  back in the WELCOME): the client then says each one.
    if (peer->hello.default_deadline > PROTO_DEADLINE_MAX)
        peer->hello.default_deadline = 0;
    //  From WELCOME on, it hears the newest version both sides read.
    peer->version = proto_version_common (peer->hello.version);
    //  Flow control as it asked, within what its queue holds: its window
    //  must stay below libzmq's high-water mark, or the queue could fill.
    peer->window = peer->hello.credit < ROUTER_WINDOW_MAX ? peer->hello.credit : ROUTER_WINDOW_MAX;
    peer->accounts = peer->is_main && peer->hello.account;
    snprintf (peer->address, sizeof (peer->address), "%s", address ? address : "");
    snprintf (peer->client_key, sizeof (peer->client_key), "%s", client_key);
    pending_t *keyed = peer->client_key[0] && !peer->is_main
                           ? s_count_of (self->per_key, peer->client_key, true)
                           : NULL;
    if (keyed) {
        keyed->count++;
        peer->keyed = true;
    }
    zhashx_insert (self->by_name, peer->name, peer);
    zhashx_insert (self->by_id, peer->key, peer);
    return peer;
}

//  Take PEER, which never joined, out of the registry (which frees it).
static void
s_peer_unregister (router_state_t *self, peer_t *peer)
{
    char name[PROTO_NAME_MAX + 1];
    strcpy (name, peer->name);
    if (peer->channel)
        zhashx_delete (self->by_topic, peer->topic);
    if (peer->joining)
        self->joining_count--;
    if (peer->keyed)
        s_count_down (self->per_key, peer->client_key);
    s_batch_last (self, peer);
    s_forget_recent (self);
    zhashx_delete (self->by_id, peer->key);
    zhashx_delete (self->by_name, name);
}

//  WELCOME PEER, answering HELLO MSG: a window that reads the channel
//  (version 2 and up) is told where it is and its secret topic, and has
//  joined once its subscription is seen. Returns 0 or an errno.
static int
s_welcome (router_state_t *self, peer_t *peer, const proto_msg_t *msg)
{
    proto_welcome_t welcome = { self->max_payload,
                                (uint64_t) self->heartbeat_ms,
                                (uint64_t) peer->version,
                                "",
                                "",
                                "",
                                peer->accounts,
                                true,
                                true,
                                (uint64_t) clock_mono_ms (),
                                peer->hello.default_deadline,
                                peer->version >= PROTO_VERSION_2 };
    memcpy (welcome.instance, self->instance, sizeof (welcome.instance));
    const char *channel = NULL;
    if (!peer->is_main && peer->hello.channel && peer->version >= PROTO_VERSION_2)
        channel = s_channel_for (self, peer->fd);
    if (channel) {
        if (!s_topic_new (self, peer->topic))
            return ENOMEM;
        proto_topic_to_wire (peer->topic, peer->topic_wire);
        s_session_token (peer->topic, peer->token);
        peer->channel = peer->joining = true;
        self->joining_count++;
        peer->join_id = msg->id;
        zhashx_insert (self->by_topic, peer->topic, peer);
        snprintf (welcome.channel, sizeof (welcome.channel), "%s", channel);
        memcpy (welcome.topic, peer->topic, sizeof (welcome.topic));
    }
    uint8_t body[PROTO_WELCOME_BODY_MAX];
    size_t size = proto_welcome_encode (body, &welcome);
    return s_send (self, peer, PROTO_WELCOME, msg->id, peer->name, body, size);
}

//  --- is a new window's connection still there? -----------------------------------

//  A HELLO is read after its connection's DISCONNECTED when that
//  connection closed right after sending it; the router then drops it
//  (s_connection_gone). But when another connection was accepted on the
//  same descriptor in between, the HELLO looks like the new connection's,
//  its WELCOME is queued to a pipe libzmq has not yet removed, and no
//  event is left to remove the window: it would hold its name for ever.
//  So a window that joins on a descriptor whose previous connection closed
//  without joining is looked at once, a heartbeat later: a PING that
//  libzmq refuses as unroutable (EHOSTUNREACH) means its connection is
//  gone. A live window answers PONG, which changes nothing.
static bool s_connection_inherited (router_state_t *self, int fd);

typedef struct join_probe {
    int64_t due;
    char key[2 * ROUTING_ID_MAX + 1]; //  its routing id, in hex
} join_probe_t;

static void
s_probe_later (router_state_t *self, const peer_t *peer)
{
    if (peer->local || !self->probes || !s_connection_inherited (self, peer->fd))
        return;
    join_probe_t *probe = (join_probe_t *) malloc (sizeof (*probe));
    if (!probe)
        return; //  a ghost is the rare case this guards against: not worth failing a join
    probe->due = clock_coarse_wall_ms () + self->heartbeat_ms;
    s_hex (peer->routing_id, peer->routing_id_size, probe->key);
    zlistx_add_end (self->probes, probe);
}

static void
s_probe_joins (router_state_t *self)
{
    if (!self->probes || zlistx_size (self->probes) == 0)
        return;
    int64_t now = clock_coarse_wall_ms ();
    join_probe_t *probe;
    while ((probe = (join_probe_t *) zlistx_first (self->probes)) && probe->due <= now) {
        peer_t *peer = (peer_t *) zhashx_lookup (self->by_id, probe->key);
        if (peer && s_send (self, peer, PROTO_PING, 0, "", NULL, 0) == EHOSTUNREACH)
            s_remove_peer (self, peer, "connection lost");
        zlistx_delete (self->probes, zlistx_cursor (self->probes));
    }
}

//  HELLO on the connection ROUTING_ID (KEY, FD, ADDRESS, CLIENT_KEY):
//  claim a name, or be told why not.
static void
s_hello (router_state_t *self, const zmq_msg_t *routing_id, const char *key, int fd,
         const char *address, const char *client_key, const proto_msg_t *msg)
{
    if (!client_key)
        client_key = "";
    //  Back after a lost session: it says what it took in of it.
    proto_hello_t said;
    memset (&said, 0, sizeof (said));
    bool elsewhere = false; //  a session on another router: main hears of it
    if (proto_hello_decode (msg->body, msg->body_size, &said) == PROKIT_OK && said.last.topic[0])
        elsewhere = !s_lost_settle (self, said.last.topic, said.last.count, said.last.dealer, true);
    else if (atomic_load (&self->lost_count) > 0) {
        //  Off the channel, its session was kept by its name.
        char lost[LOST_KEY_MAX];
        s_lost_key (lost, false, msg->peer);
        //  A count of 0 cannot be told from none said (a new process).
        s_lost_settle (self, lost, 0, said.last.dealer, said.last.dealer > 0);
    }
    char text[160];
    int rc = s_hello_refusal (self, client_key, address, msg, said.service, text, sizeof (text));
    if (rc != PROKIT_OK) {
        s_send_error_to_id (self, routing_id, msg->id, "", rc, text);
        return;
    }
    peer_t *peer = s_peer_new (self, routing_id, key, fd, address, client_key, msg);
    if (!peer) {
        s_send_error_to_id (self, routing_id, msg->id, "", PROKIT_ENOMEM, "router out of memory");
        return;
    }
    peer->last_elsewhere = elsewhere;
    if (elsewhere) {
        //  Its senders hear what it took in of theirs there (TOOK).
        char token[PROTO_TOPIC_SIZE + 1];
        s_session_token (said.last.topic, token);
        took_from_t from = { self, peer->name, token };
        proto_hello_from_decode (msg->body, msg->body_size, s_took_from, &from);
    }
    rc = s_welcome (self, peer, msg);
    if (rc == ENOMEM)
        s_send_error_to_id (self, routing_id, msg->id, "", PROKIT_ENOMEM, "router out of memory");
    if (rc != 0) {
        //  Out of memory, or it cannot hear us: it will time out and
        //  retry; do not keep a name claimed by a connection that never
        //  learnt it joined.
        s_peer_unregister (self, peer);
        return;
    }
    s_connection_joined (self, fd);
    s_probe_later (self, peer);
    if (!peer->joining)
        s_admit (self, peer);
}

//  The embedded main's entry: joined from the start, reached through the
//  inbox. Nothing else can be registered yet.
static int
s_add_local_main (router_state_t *self)
{
    peer_t *peer = (peer_t *) calloc (1, sizeof (*peer));
    if (!peer)
        return PROKIT_ENOMEM;
    strcpy (peer->name, PROTO_MAIN_NAME);
    peer->is_main = true;
    peer->local = true;
    peer->fd = -1;
    peer->hello.pid = (uint64_t) getpid ();
    peer->hello.channels = true;
    peer->hello.progress = true;
    peer->hello.cancel = true;
    peer->hello.deadlines = true;
    peer->joined_at = peer->last_seen = clock_coarse_wall_ms ();
    zhashx_insert (self->by_name, peer->name, peer);
    self->main = peer;
    return PROKIT_OK;
}

//  Keep account of the requests each peer owes: a REQUEST adds one to its
//  target (VIA: the pool it was addressed to, or ""), the REPLY or ERROR
//  from that target settles it.
static void
s_track (router_state_t *self, peer_t *sender, peer_t *target, const proto_msg_t *msg,
         const char *via)
{
    (void) self;
    if (msg->command == PROTO_REQUEST) {
        sender->requests_out++;
        //  The embedded main leaves only with the router, and everyone
        //  hears of that: what it owes needs no account.
        if (target->local)
            return;
        if (!target->inflight && !(target->inflight = inflight_new (true)))
            return; //  the requester's deadline still ends it
        //  A repeated id replaces the entry.
        inflight_entry_t *old = inflight_find (target->inflight, msg->id, sender->name);
        if (old)
            inflight_remove (target->inflight, old);
        inflight_entry_t *entry = inflight_add (target->inflight, msg->id, sender->name, 0);
        if (entry)
            snprintf (entry->via, sizeof (entry->via), "%s", via);
    }
    else if (msg->command == PROTO_REPLY || msg->command == PROTO_ERROR)
        s_settle (sender, target->name, msg->id, target);
}

//  Tell SENDER its message MSG was not delivered. The embedded main learns
//  it as the result of its call (router_local_send); others get an ERROR.
static void
s_refuse (router_state_t *self, peer_t *sender, const proto_msg_t *msg, int code, const char *text)
{
    if (sender->local) {
        self->local_result = code;
        if (code == PROKIT_EAGAIN)
            self->main_awaits_room = true;
        return;
    }
    s_send_error (self, sender, msg->id, msg->peer, code, text);
}

//  --- holding senders back (FLOW) ------------------------------------------------

//  SENDER's message to TARGET was refused for TARGET's full queue: a
//  sender that reads FLOW is told, once, to hold its messages to TARGET
//  (its sends to it fail with PROKIT_EAGAIN, nothing sent) until TARGET
//  has room again, rather than have each refused and reported. Only
//  when TARGET's credit is used up (on its DEALER or the channel): then
//  a CREDIT comes as soon as it takes in what it holds, and says when it
//  has room. (A refusal for its backlog, with credit left, is not held:
//  nothing would say when to let go.)
static void
s_hold (router_state_t *self, peer_t *sender, peer_t *target)
{
    if (sender->local || !sender->hello.flow || !target->window || target->is_main ||
        target == sender || (s_has_credit (target) && s_channel_room (target)))
        return;
    if (!target->holders) {
        if (!(target->holders = zlistx_new ()))
            return; //  out of memory: its messages are refused one by one, as before
        zlistx_set_destructor (target->holders, s_free_item);
    }
    for (holder_t *told = (holder_t *) zlistx_first (target->holders); told;
         told = (holder_t *) zlistx_next (target->holders))
        if (told->session == sender->session && strcmp (told->name, sender->name) == 0)
            return; //  told already
    holder_t *holder = (holder_t *) malloc (sizeof (*holder));
    if (!holder)
        return;
    snprintf (holder->name, sizeof (holder->name), "%s", sender->name);
    holder->session = sender->session;
    zlistx_add_end (target->holders, holder);
    uint8_t body[PROTO_FLOW_BODY_MAX];
    s_send_control (self, sender, PROTO_FLOW, 0, target->name, body,
                    proto_flow_encode (body, true));
}

//  TARGET has room again, or is going: every sender told to hold its
//  messages to it (still in the session it was told in) may send again.
static void
s_release_holders (router_state_t *self, peer_t *target)
{
    if (!target->holders || zlistx_size (target->holders) == 0)
        return;
    uint8_t body[PROTO_FLOW_BODY_MAX];
    size_t size = proto_flow_encode (body, false);
    zlistx_t *holders = target->holders;
    target->holders = NULL; //  a send below may not add to it
    for (holder_t *holder = (holder_t *) zlistx_first (holders); holder;
         holder = (holder_t *) zlistx_next (holders)) {
        peer_t *sender = s_find (self, holder->name);
        if (sender && sender != target && sender->session == holder->session && !sender->joining)
            s_send_control (self, sender, PROTO_FLOW, 0, target->name, body, size);
    }
    zlistx_purge (holders);
    target->holders = holders;
}

//  --- limits ----------------------------------------------------------------------

//  Take one message from SENDER's allowance (max_messages_per_second):
//  a second's worth at most, refilled as time passes. False when none is
//  left.
static bool
s_take_allowance (router_state_t *self, peer_t *sender)
{
    uint64_t rate = self->max_messages_per_second;
    int64_t now = clock_coarse_wall_ms ();
    if (sender->allowance_at == 0)
        sender->allowance = rate * 1000;
    else if (now > sender->allowance_at) {
        uint64_t grown = sender->allowance + (uint64_t) (now - sender->allowance_at) * rate;
        sender->allowance = grown < rate * 1000 ? grown : rate * 1000;
    }
    sender->allowance_at = now;
    if (sender->allowance < 1000)
        return false;
    sender->allowance -= 1000;
    return true;
}

//  Refuse SENDER's MSG for a limit (its requests in flight when
//  TOO_MANY_REQUESTS, else its messages per second) with PROKIT_ELIMIT:
//  counted, and logged once per run of refusals.
static void
s_refuse_limit (router_state_t *self, peer_t *sender, const proto_msg_t *msg,
                bool too_many_requests)
{
    char text[160];
    if (too_many_requests)
        snprintf (text, sizeof (text), "'%s' has %zu requests in flight: the limit is %zu",
                  sender->name, sender->requests_out, self->max_requests_per_window);
    else
        snprintf (text, sizeof (text), "'%s' sends more than %zu messages per second", sender->name,
                  self->max_messages_per_second);
    self->stats.limited++;
    if (!sender->limit_said)
        log_warn ("router: %s: %s refused (PROKIT_ELIMIT), and those after it until it is within "
                  "the limit",
                  text, proto_command_name (msg->command));
    sender->limit_said = true;
    s_refuse (self, sender, msg, PROKIT_ELIMIT, text);
}

//  May SENDER's MSG (a SEND, REQUEST or BROADCAST) go on, within its
//  requests in flight and its messages per second? If not, it is refused
//  (s_refuse_limit).
static bool
s_within_limits (router_state_t *self, peer_t *sender, const proto_msg_t *msg)
{
    if (sender->is_main)
        return true; //  main is not limited
    bool too_many_requests =
        msg->command == PROTO_REQUEST && sender->requests_out >= self->max_requests_per_window;
    if (!too_many_requests &&
        (self->max_messages_per_second == 0 || s_take_allowance (self, sender))) {
        sender->limit_said = false;
        return true;
    }
    s_refuse_limit (self, sender, msg, too_many_requests);
    return false;
}

//  Requests to the embedded main are not tracked (it leaves only with the
//  router): those cancelled are kept by "requester/id" until main answers,
//  at most this many.
#define MAIN_CANCELLED_MAX 10000

static void
s_main_cancelled_key (char key[PROTO_NAME_MAX + 24], const char *requester, uint64_t id)
{
    snprintf (key, PROTO_NAME_MAX + 24, "%s/%llu", requester, (unsigned long long) id);
}

//  Was the request whose answer MSG is, from the embedded main SENDER to
//  TARGET, cancelled? SETTLES: this answer ends it (forget it then).
static bool
s_main_cancelled (router_state_t *self, const peer_t *sender, const peer_t *target,
                  const proto_msg_t *msg, bool settles)
{
    if (!sender->local || zhashx_size (self->main_cancelled) == 0)
        return false;
    char key[PROTO_NAME_MAX + 24];
    s_main_cancelled_key (key, target->name, msg->id);
    if (!zhashx_lookup (self->main_cancelled, key))
        return false;
    if (settles)
        zhashx_delete (self->main_cancelled, key);
    return true;
}

//  CANCEL from SENDER of its request MSG->id to MSG->peer (a window, a
//  pool or main): the peer handling it is told (if it reads CANCEL), and
//  its answers are dropped from now on. Unknown (answered already): nothing.
static void
s_cancel (router_state_t *self, peer_t *sender, const proto_msg_t *msg)
{
    peer_t *handler = s_find (self, msg->peer);
    inflight_entry_t *entry = NULL;
    if (handler && !handler->local)
        entry = handler->inflight ? inflight_find (handler->inflight, msg->id, sender->name) : NULL;
    else if (!handler && pools_size (self->pools, msg->peer) > 0) {
        //  Which member has it: cancelling is rare, a look through is fine.
        for (peer_t *peer = (peer_t *) zhashx_first (self->by_name); peer && !entry;
             peer = (peer_t *) zhashx_next (self->by_name))
            if (strcmp (peer->hello.service, msg->peer) == 0 && peer->inflight &&
                (entry = inflight_find (peer->inflight, msg->id, sender->name)) != NULL)
                handler = peer;
    }
    if (handler && handler->local) {
        if (zhashx_size (self->main_cancelled) >= MAIN_CANCELLED_MAX)
            zhashx_purge (self->main_cancelled); //  the oldest cannot be told apart: start again
        char key[PROTO_NAME_MAX + 24];
        s_main_cancelled_key (key, sender->name, msg->id);
        zhashx_update (self->main_cancelled, key, (void *) 1);
    }
    else if (!entry || entry->cancelled)
        return;
    else
        entry->cancelled = true;
    self->stats.cancelled++;
    if (handler->hello.cancel)
        s_send_control (self, handler, PROTO_CANCEL, msg->id, sender->name, "", 0);
}

//  How loaded a pool's member is: its requests in flight; one still
//  joining is never chosen.
static size_t
s_member_load (void *member, void *arg)
{
    (void) arg;
    const peer_t *peer = (const peer_t *) member;
    return peer->joining ? SIZE_MAX : inflight_size (peer->inflight);
}

//  Where MSG goes: *TARGET_P, a window, main, or a member of the pool
//  MSG names (*VIA_P then names the pool, the name an answer goes out
//  under), or NULL. False when MSG ends here (BODY closed): an answer to
//  a request its requester cancelled, or progress for a requester that
//  does not read it.
static bool
s_route (router_state_t *self, peer_t *sender, const proto_msg_t *msg, zmq_msg_t *body,
         peer_t **target_p, const char **via_p)
{
    bool settles = msg->command == PROTO_REPLY || msg->command == PROTO_ERROR;
    bool is_answer = settles || msg->command == PROTO_PROGRESS;
    peer_t *target = s_find (self, msg->peer);
    const char *via = "";
    if (!target && (msg->command == PROTO_REQUEST || msg->command == PROTO_SEND) &&
        pools_size (self->pools, msg->peer) > 0) {
        target = (peer_t *) pools_pick (self->pools, msg->peer, s_member_load, NULL);
        via = msg->peer;
    }
    else if (target && is_answer) {
        //  The answer to a request its requester cancelled is dropped here,
        //  and counted.
        inflight_entry_t *owed =
            sender->inflight ? inflight_find (sender->inflight, msg->id, target->name) : NULL;
        bool cancelled =
            owed ? owed->cancelled : s_main_cancelled (self, sender, target, msg, settles);
        if (cancelled) {
            self->stats.late++;
            if (settles)
                s_settle (sender, target->name, msg->id, target);
            zmq_msg_close (body);
            return false;
        }
        if (owed && owed->via[0])
            via = owed->via;
        //  Progress only to a requester that reads it.
        if (!settles && !target->hello.progress) {
            zmq_msg_close (body);
            return false;
        }
    }
    //  A window still joining is nobody's to reach yet; only an answer to
    //  a request it made (before it had joined) goes to it, on its DEALER.
    if (target && target->joining && !is_answer)
        target = NULL;
    *target_p = target;
    *via_p = via;
    return true;
}

//  MSG has nowhere to go: an answer is dropped (its requester left, nobody
//  waits for it any more), anything else refused. BODY is taken.
static void
s_unroutable (router_state_t *self, peer_t *sender, const proto_msg_t *msg, zmq_msg_t *body)
{
    zmq_msg_close (body);
    if (msg->command == PROTO_REPLY || msg->command == PROTO_ERROR ||
        msg->command == PROTO_PROGRESS) {
        if (msg->command != PROTO_PROGRESS)
            s_settle (sender, msg->peer, msg->id, NULL);
        self->stats.unroutable++;
        return;
    }
    char text[128];
    if (strcmp (msg->peer, PROTO_MAIN_NAME) == 0)
        snprintf (text, sizeof (text), "main is not connected");
    else
        snprintf (text, sizeof (text), "%s named '%s'",
                  pools_size (self->pools, msg->peer) > 0 ? "no member of the pool" : "no window",
                  msg->peer);
    s_refuse (self, sender, msg, PROKIT_ENOTFOUND, text);
}

//  Hand MSG to TARGET: from main to a window on the channel on the PUB
//  channel, anything else on the target's DEALER. BODY is taken. Returns 0
//  or an errno: EAGAIN when its queue, window or backlog is full,
//  EHOSTUNREACH when it has gone.
static int
s_deliver (router_state_t *self, peer_t *sender, peer_t *target, const proto_msg_t *msg,
           zmq_msg_t *body, const char *via, bool is_answer)
{
    if (sender->is_main && target->channel && !target->joining) {
        //  Everything main says to a window travels on the PUB channel,
        //  one pipe, so it keeps its order: messages, orders, replies.
        if (msg->command == PROTO_SEND && !s_channel_room (target)) {
            //  What it has not confirmed includes its BATCH: out with it.
            if (target->batch_size > 0)
                s_batch_publish (self, target);
            zmq_msg_close (body);
            return EAGAIN;
        }
        int rc = s_publish (self, target, (proto_command_t) msg->command,
                            msg->command == PROTO_SEND ? 0 : msg->id, msg->channel_name, body);
        if (rc == 0 && msg->command == PROTO_SEND) {
            target->published++;
            s_account_published (self, s_accounting_main (self), target);
        }
        return rc;
    }
    //  Nothing overtakes what waits in a backlog (a JOINED must reach main
    //  before that window's first request): a backlog counts as full.
    if (target->backlog && zlistx_size (target->backlog) > 0) {
        zmq_msg_close (body);
        return EAGAIN;
    }
    //  A request's deadline goes on to a peer that reads it, on this
    //  router's clock (it said that clock in the peer's WELCOME): the time
    //  the request then waits anywhere, read or not, counts.
    uint64_t deadline = msg->command == PROTO_REQUEST && msg->deadline_ms && target->hello.deadlines
                            ? (uint64_t) s_batch_clock (self, &self->batch_mono_ms, clock_mono_ms) +
                                  msg->deadline_ms
                            : 0;
    proto_peer_t source = { is_answer && via[0] ? via : sender->name, deadline, msg->channel_name };
    self->sending_session = sender->session;
    self->sending_via = is_answer ? "" : via;
    int rc =
        s_send_msg (self, target, (proto_command_t) msg->command, msg->id, &source, body, false);
    self->sending_via = "";
    if (rc == 0 && msg->command == PROTO_SEND && sender->hello.took && !via[0] && target->window &&
        !sender->is_main)
        s_receipt_queued (self, sender, target);
    return rc;
}

//  TARGET could not take MSG (RC: EAGAIN, or its connection has gone).
static void
s_undeliverable (router_state_t *self, peer_t *sender, peer_t *target, const proto_msg_t *msg,
                 int rc, const char *via)
{
    char text[160];
    bool settles = msg->command == PROTO_REPLY || msg->command == PROTO_ERROR;
    if (settles || msg->command == PROTO_PROGRESS) {
        //  The answer is settled for the replier either way. If the
        //  requester is still there, it is the one waiting: it learns the
        //  answer was dropped (through its backlog), rather than the replier
        //  getting an ERROR it could mistake for one about its own request.
        const char *answerer = via[0] ? via : sender->name;
        if (settles)
            s_settle (sender, target->name, msg->id, target);
        if (rc == EAGAIN && !settles)
            self->stats.back_pressure++; //  progress is dropped, the outcome will come
        else if (rc == EAGAIN) {
            self->stats.back_pressure++;
            snprintf (text, sizeof (text), "the answer from '%s' was dropped: your queue was full",
                      answerer);
            s_send_error (self, target, msg->id, answerer, PROKIT_EAGAIN, text);
        }
        else {
            self->stats.unroutable++;
            s_remove_peer (self, target, "connection lost");
        }
        return;
    }
    if (rc == EAGAIN) {
        self->stats.back_pressure++;
        snprintf (text, sizeof (text), "'%s' is not keeping up: its queue is full, %s dropped",
                  msg->peer, proto_command_name (msg->command));
        s_refuse (self, sender, msg, PROKIT_EAGAIN, text);
        if (!via[0])
            s_hold (self, sender, target);
        return;
    }
    //  The connection went away under us: the peer is gone. A window that
    //  sent to its own name is that peer, and our caller's sender: it
    //  stays until its connection's end is noticed (the monitor's
    //  DISCONNECTED), and nobody is left to tell.
    if (target == sender)
        return;
    s_remove_peer (self, target, "connection lost");
    snprintf (text, sizeof (text), "'%s' has gone", msg->peer);
    s_refuse (self, sender, msg, PROKIT_ENOTFOUND, text);
}

//  Route MSG from SENDER: a SEND or REQUEST to a window, main or a pool,
//  an answer (REPLY, ERROR, PROGRESS) to its requester. BODY is taken.
static void
s_forward (router_state_t *self, peer_t *sender, const proto_msg_t *msg, zmq_msg_t *body)
{
    peer_t *target;
    const char *via;
    if (!s_route (self, sender, msg, body, &target, &via))
        return;
    if (!target) {
        s_unroutable (self, sender, msg, body);
        return;
    }
    //  A named channel reaches only a peer that reads them; it is then
    //  part of the source's address.
    if (msg->channel_name[0] && !target->hello.channels) {
        char text[192];
        snprintf (text, sizeof (text),
                  "'%s' does not know named channels: nothing handles '%s' there", target->name,
                  msg->channel_name);
        zmq_msg_close (body);
        s_refuse (self, sender, msg, PROKIT_ENOHANDLER, text);
        return;
    }
    bool is_answer = msg->command == PROTO_REPLY || msg->command == PROTO_ERROR ||
                     msg->command == PROTO_PROGRESS;
    int rc = s_deliver (self, sender, target, msg, body, via, is_answer);
    if (rc == 0) {
        self->stats.routed++;
        s_track (self, sender, target, msg, is_answer ? "" : via);
        return;
    }
    s_undeliverable (self, sender, target, msg, rc, via);
}

//  CLOSE, SHOW and HIDE: main's orders to a window, delivered like a SEND.
static void
s_window_control (router_state_t *self, peer_t *sender, const proto_msg_t *msg, zmq_msg_t *body)
{
    if (!sender->is_main) {
        char text[64];
        snprintf (text, sizeof (text), "only main may send %s", proto_command_name (msg->command));
        s_send_error (self, sender, msg->id, msg->peer, PROKIT_EACCES, text);
        //  Closed, not kept: a body holds its connection's metadata, and
        //  past 33 bytes libzmq's whole receive buffer.
        zmq_msg_close (body);
        return;
    }
    peer_t *target = s_find (self, msg->peer);
    if (target && !target->joining && msg->command != PROTO_CLOSE)
        target->hello.shown = msg->command == PROTO_SHOW;
    s_forward (self, sender, msg, body);
    //  A closed window is gone at once: its name is free, whatever it does
    //  next (it says BYE, or its further messages are refused).
    target = s_find (self, msg->peer);
    if (target && !target->joining && msg->command == PROTO_CLOSE && !target->is_main) {
        target->closed = true;
        s_remove_peer (self, target, "closed by main");
    }
}

//  Make room for entry INDEX in the broadcast's list of recipients.
static bool
s_targets_add (router_state_t *self, size_t index)
{
    if (index < self->targets_size)
        return true;
    size_t size = self->targets_size ? 2 * self->targets_size : 64;
    peer_t **grown = (peer_t **) realloc (self->targets, size * sizeof (*grown));
    if (!grown)
        return false;
    self->targets = grown;
    self->targets_size = size;
    return true;
}

//  Main's broadcast to the windows on the channel: under their own topics,
//  all or none. If any of them has its window of unconfirmed messages
//  full, the whole broadcast is refused (false). So no topic is shared: a
//  window that has gone (its connection still open, frozen, or closed by
//  main and not leaving) is never sent to again, and holds nobody back.
//  On a named channel, those that do not read them are skipped (reported
//  by s_broadcast_unnamed). BODY is not taken.
static bool
s_broadcast_on_channel (router_state_t *self, peer_t *sender, const proto_msg_t *msg,
                        zmq_msg_t *body)
{
    bool named = msg->channel_name[0] != 0;
    size_t count = 0, skipped = 0;
    bool room = true;
    for (peer_t *peer = (peer_t *) zhashx_first (self->by_name); peer;
         peer = (peer_t *) zhashx_next (self->by_name))
        if (peer->channel && !peer->joining) {
            if (named && !peer->hello.channels) {
                skipped++;
                continue;
            }
            room = room && s_channel_room (peer);
            if (s_targets_add (self, count))
                self->targets[count++] = peer;
        }
    if (!room || count + skipped < self->channel_windows) {
        self->stats.back_pressure++;
        s_refuse (self, sender, msg, room ? PROKIT_ENOMEM : PROKIT_EAGAIN,
                  room ? "router out of memory: broadcast not sent"
                       : "a window is not keeping up: its queue is full, broadcast not sent");
        return false;
    }
    //  Encoded once; each window's copy differs only by its topic.
    wire_published_t published;
    zmq_msg_t copy;
    zmq_msg_init (&copy);
    zmq_msg_copy (&copy, body); //  shares the buffer, no byte copy
    if (wire_publish_prepare (&published, PROTO_BROADCAST, 0, msg->channel_name, &copy) != 0) {
        s_refuse (self, sender, msg, PROKIT_ENOMEM, "router out of memory: broadcast not sent");
        return false;
    }
    peer_t *accounting = s_accounting_main (self); //  once, not per window
    //  For the windows that are behind: one BATCH entry, the same for all.
    uint8_t entry[PROTO_BATCH_ENTRY_MAX];
    size_t entry_size = 0;
    for (size_t i = 0; i < count; i++) {
        peer_t *peer = self->targets[i];
        int rc;
        if (s_batch_takes (self, peer, zmq_msg_size (body))) {
            if (entry_size == 0) {
                char address[PROTO_ADDRESS_MAX + 1] = "";
                if (named)
                    proto_address (address, "", msg->channel_name);
                entry_size = proto_batch_entry_encode (entry, PROTO_BROADCAST, 0, address,
                                                       zmq_msg_data (body), zmq_msg_size (body));
            }
            rc = s_batch_add (self, peer, entry, entry_size);
        }
        else if (peer->batch_size > 0 && s_batch_publish (self, peer) != 0)
            rc = EAGAIN; //  nothing overtakes its BATCH
        else
            rc = wire_publish_prepared (self->pub, peer->topic_wire, &published);
        if (rc == ENOMEM) {
            s_send_error (self, sender, msg->id, peer->name, PROKIT_ENOMEM,
                          "router out of memory: broadcast not delivered to it");
            continue;
        }
        if (rc == 0) {
            peer->published++;
            if (accounting)
                s_account_published (self, accounting, peer);
            self->stats.routed++;
        }
        else {
            //  Within its window, its queue cannot be full: only a client
            //  that does not count can get here.
            self->stats.back_pressure++;
            s_send_error (self, sender, msg->id, peer->name, PROKIT_EAGAIN,
                          "window is not keeping up: broadcast dropped for it");
        }
    }
    wire_published_close (&published);
    return true;
}

//  The windows off the channel, one by one on their DEALERs. Collected
//  first: a failed send may remove a peer while we iterate. Usually there
//  are none (every peer known is main or on the channel), and the walk of
//  the registry is skipped. BODY is not taken.
static void
s_broadcast_on_dealers (router_state_t *self, peer_t *sender, const proto_msg_t *msg,
                        zmq_msg_t *body)
{
    bool named = msg->channel_name[0] != 0;
    size_t count = 0;
    size_t known = zhashx_size (self->by_name);
    bool others = known > self->channel_windows + (self->main ? 1 : 0);
    for (peer_t *peer = others ? (peer_t *) zhashx_first (self->by_name) : NULL; peer;
         peer = (peer_t *) zhashx_next (self->by_name))
        if (peer != sender && !peer->is_main && !peer->channel && !peer->joining) {
            if (named && !peer->hello.channels)
                continue;
            if (s_targets_add (self, count))
                self->targets[count++] = peer;
            else
                s_send_error (self, sender, msg->id, peer->name, PROKIT_ENOMEM,
                              "router out of memory: broadcast not delivered to it");
        }
    if (count == 0)
        return;
    char source[PROTO_ADDRESS_MAX + 1];
    proto_address (source, sender->name, msg->channel_name);
    //  Encoded once per wire version, not once per window.
    wire_prepared_t prepared[PROTO_VERSION_MAX + 1];
    bool ready[PROTO_VERSION_MAX + 1] = { false };
    for (size_t i = 0; i < count; i++) {
        peer_t *peer = self->targets[i];
        int rc = ENOMEM;
        if (!ready[peer->version]) {
            zmq_msg_t copy;
            zmq_msg_init (&copy);
            zmq_msg_copy (&copy, body); //  shares the buffer, no byte copy
            ready[peer->version] = wire_prepare (&prepared[peer->version], peer->version,
                                                 PROTO_BROADCAST, msg->id, source, &copy) == 0;
        }
        if (!s_has_credit (peer))
            rc = EAGAIN;
        else if (ready[peer->version])
            rc = wire_send_prepared (self->router, peer->routing_id, peer->routing_id_size,
                                     &prepared[peer->version]);
        if (rc == 0) {
            peer->sent++;
            if (peer->window)
                s_runs_push (peer, "", 0, "");
            self->stats.routed++;
        }
        else if (rc == EAGAIN) {
            self->stats.back_pressure++;
            s_send_error (self, sender, msg->id, peer->name, PROKIT_EAGAIN,
                          "window is not keeping up: broadcast dropped for it");
        }
        else if (rc == ENOMEM)
            s_send_error (self, sender, msg->id, peer->name, PROKIT_ENOMEM,
                          "router out of memory: broadcast not delivered to it");
        else {
            char name[PROTO_NAME_MAX + 1];
            strcpy (name, peer->name);
            s_remove_peer (self, peer, "connection lost");
            s_send_error (self, sender, msg->id, name, PROKIT_ENOTFOUND,
                          "window has gone: broadcast not delivered to it");
        }
    }
    for (int version = 0; version <= PROTO_VERSION_MAX; version++)
        if (ready[version])
            wire_prepared_close (&prepared[version]);
}

//  The windows a broadcast on a named channel could not reach, each
//  reported to the sender (reporting removes nobody: safe while iterating).
static void
s_broadcast_unnamed (router_state_t *self, peer_t *sender, const proto_msg_t *msg)
{
    for (peer_t *peer = (peer_t *) zhashx_first (self->by_name); peer;
         peer = (peer_t *) zhashx_next (self->by_name))
        if (peer != sender && !peer->is_main && !peer->joining && !peer->hello.channels) {
            char text[160];
            snprintf (text, sizeof (text),
                      "window does not know named channels: broadcast on '%s' not "
                      "delivered to it",
                      msg->channel_name);
            s_send_error (self, sender, msg->id, peer->name, PROKIT_ENOHANDLER, text);
        }
}

//  BROADCAST from main: to every window, on the channel and off it. BODY
//  is taken.
static void
s_broadcast (router_state_t *self, peer_t *sender, const proto_msg_t *msg, zmq_msg_t *body)
{
    if (!sender->is_main) {
        zmq_msg_close (body);
        s_send_error (self, sender, msg->id, "", PROKIT_EACCES, "only main may broadcast");
        return;
    }
    if (self->channel_windows > 0 && !s_broadcast_on_channel (self, sender, msg, body)) {
        zmq_msg_close (body);
        return;
    }
    s_broadcast_on_dealers (self, sender, msg, body);
    zmq_msg_close (body);
    if (msg->channel_name[0])
        s_broadcast_unnamed (self, sender, msg);
}

//  --- queries -----------------------------------------------------------------

//  QUERY: a client asks what the router knows. Answered with INFO.
static void
s_query (router_state_t *self, peer_t *sender, const proto_msg_t *msg)
{
    char what[PROTO_QUERY_WHAT_MAX];
    proto_query_decode (msg->body, msg->body_size, what);
    if (streq (what, "stats")) {
        const router_stats_t *s = &self->stats;
#define S_COUNTER_VALUE(name) s->name,
        uint64_t values[] = { PROTO_COUNTER_LIST (S_COUNTER_VALUE) };
        uint8_t body[PROTO_COUNTERS_MAX];
        size_t size = proto_counters_encode (body, proto_counter_names, values, PROTO_COUNTERS);
        s_send_control (self, sender, PROTO_INFO, msg->id, "", body, size);
        return;
    }
    if (!streq (what, "windows")) {
        char text[96];
        snprintf (text, sizeof (text), "unknown query '%s': ask \"windows\" or \"stats\"", what);
        s_send_error (self, sender, msg->id, "", PROKIT_EINVAL, text);
        return;
    }
    size_t count = self->stats.windows;
    uint8_t *body = (uint8_t *) malloc (PACK_ARRAY32_HEAD + count * PROTO_WINDOW_INFO_MAX);
    if (!body) {
        s_send_error (self, sender, msg->id, "", PROKIT_ENOMEM, "router out of memory");
        return;
    }
    size_t size = PACK_ARRAY32_HEAD; //  the count, once known, then one map per window
    size_t listed = 0;
    for (peer_t *peer = (peer_t *) zhashx_first (self->by_name); peer && listed < count;
         peer = (peer_t *) zhashx_next (self->by_name)) {
        if (peer->is_main || peer->joining)
            continue;
        proto_window_info_t info;
        memset (&info, 0, sizeof (info));
        strcpy (info.name, peer->name);
        info.pid = peer->hello.pid;
        snprintf (info.address, sizeof (info.address), "%s", peer->address);
        info.shown = peer->hello.shown;
        info.joined_at = (uint64_t) peer->joined_at;
        info.last_seen = (uint64_t) peer->last_seen;
        memcpy (info.service, peer->hello.service, sizeof (info.service));
        size += proto_window_info_encode (body + size, &info);
        listed++;
    }
    pack_write_array32_head (body, (uint32_t) listed);
    s_send_control (self, sender, PROTO_INFO, msg->id, "", body, size);
    free (body);
}

//  --- connection events -----------------------------------------------------

//  libzmq tells a ROUTER nothing when a peer's connection drops (killed,
//  frozen past the heartbeat timeout, network cut). Its socket monitor
//  does, by file descriptor; each peer's descriptor was noted at HELLO.
//  --- connections ------------------------------------------------------------------

//  Where the connection on FD comes from, for counting: the host over TCP,
//  the process over ipc ("pid:N"), else "local".
static void
s_connection_address (int fd, char *out, size_t size)
{
    struct sockaddr_storage address;
    socklen_t length = sizeof (address);
    snprintf (out, size, "local");
    if (getpeername (fd, (struct sockaddr *) &address, &length) != 0)
        return;
    if (address.ss_family == AF_INET)
        inet_ntop (AF_INET, &((struct sockaddr_in *) &address)->sin_addr, out, (socklen_t) size);
    else if (address.ss_family == AF_INET6)
        inet_ntop (AF_INET6, &((struct sockaddr_in6 *) &address)->sin6_addr, out, (socklen_t) size);
    else if (address.ss_family == AF_UNIX) {
        struct ucred credentials;
        socklen_t credentials_size = sizeof (credentials);
        if (getsockopt (fd, SOL_SOCKET, SO_PEERCRED, &credentials, &credentials_size) == 0)
            snprintf (out, size, "pid:%d", (int) credentials.pid);
    }
}

//  The count kept under NAME in TABLE, made when missing (NULL: no memory).
static pending_t *
s_count_of (zhashx_t *table, const char *name, bool make)
{
    pending_t *count = (pending_t *) zhashx_lookup (table, name);
    if (!count && make && (count = (pending_t *) calloc (1, sizeof (*count))) != NULL)
        zhashx_insert (table, name, count);
    return count;
}

static void
s_count_down (zhashx_t *table, const char *name)
{
    pending_t *count = s_count_of (table, name, false);
    if (count)
        count->said = false;
    if (count && count->count > 0 && --count->count == 0)
        zhashx_delete (table, name);
}

static connection_t *
s_connection (router_state_t *self, int fd, bool make)
{
    if ((size_t) fd >= self->connections_size) {
        if (!make)
            return NULL;
        size_t size = self->connections_size ? self->connections_size : 256;
        while (size <= (size_t) fd)
            size *= 2;
        connection_t *grown = (connection_t *) realloc (self->connections, size * sizeof (*grown));
        if (!grown)
            return NULL;
        memset (grown + self->connections_size, 0,
                (size - self->connections_size) * sizeof (*grown));
        self->connections = grown;
        self->connections_size = size;
    }
    return &self->connections[fd];
}

//  A connection was accepted on FD: one more pending for its address, or,
//  past the limit, closed at once (shutdown: libzmq then ends it itself,
//  and the descriptor stays libzmq's to close).
static void
s_connection_accepted (router_state_t *self, int fd)
{
    connection_t *connection = s_connection (self, fd, true);
    if (!connection)
        return;
    s_connection_address (fd, connection->address, sizeof (connection->address));
    connection->inherited = connection->known && !connection->joined;
    connection->known = true;
    connection->open = true;
    connection->pending = false;
    connection->joined = false;
    pending_t *count = s_count_of (self->pending, connection->address, true);
    if (count && count->count >= self->max_pending_per_address) {
        self->stats.limited++;
        if (!count->said)
            log_warn ("router: %s has %zu connections that have not joined: the limit is %zu; "
                      "those past it are closed (PROKIT_ELIMIT)",
                      connection->address, count->count, self->max_pending_per_address);
        count->said = true;
        shutdown (fd, SHUT_RDWR);
        self->closed_unsaid++;
        connection->open = false;
        return;
    }
    if (count) {
        count->count++;
        connection->pending = true;
    }
}

//  The connection on FD has joined (HELLO admitted): no longer pending.
static void
s_connection_joined (router_state_t *self, int fd)
{
    connection_t *connection = fd >= 0 ? s_connection (self, fd, false) : NULL;
    if (connection && connection->open)
        connection->joined = true;
    if (connection && connection->open && connection->pending) {
        connection->pending = false;
        s_count_down (self->pending, connection->address);
    }
}

//  Did the connection before the one on FD close without joining? Its
//  HELLO may then still be unread, and look like this one's.
static bool
s_connection_inherited (router_state_t *self, int fd)
{
    connection_t *connection = fd >= 0 ? s_connection (self, fd, false) : NULL;
    return connection && connection->inherited;
}

//  Has the connection on FD closed (its DISCONNECTED seen), and no other
//  been accepted on it since? A HELLO read from it then would join a name
//  for ever: no event is left to remove it.
static bool
s_connection_gone (router_state_t *self, int fd)
{
    connection_t *connection = fd >= 0 ? s_connection (self, fd, false) : NULL;
    return connection && connection->known && !connection->open;
}

static void
s_connection_closed (router_state_t *self, int fd)
{
    connection_t *connection = s_connection (self, fd, false);
    if (!connection || !connection->open)
        return;
    if (connection->pending)
        s_count_down (self->pending, connection->address);
    connection->open = connection->pending = false;
}

static void
s_drain_monitor (router_state_t *self)
{
    monitor_event_t got;
    while (monitor_next (self->monitor, &got)) {
        uint16_t event = got.event;
        int32_t fd = got.value;
        if (event & CURVE_HANDSHAKE_FAILURES) {
            if (event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL && self->closed_unsaid > 0) {
                self->closed_unsaid--; //  one the router closed itself, past a limit
                continue;
            }
            if (!self->auth) {
                log_debug ("router: a connection on %s failed its handshake", got.endpoint);
                continue;
            }
            //  libzmq says only which endpoint, not which client.
            log_warn ("router: refused a connection on %s: %s", got.endpoint,
                      event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH
                          ? "its CURVE key is not allowed"
                          : "security handshake failed (no CURVE, or the wrong broker key)");
            continue;
        }
        if (event == ZMQ_EVENT_ACCEPTED && fd >= 0) {
            s_connection_accepted (self, fd);
            continue;
        }
        if (event != ZMQ_EVENT_DISCONNECTED || fd < 0)
            continue;
        s_connection_closed (self, fd);
        for (peer_t *peer = (peer_t *) zhashx_first (self->by_name); peer;
             peer = (peer_t *) zhashx_next (self->by_name))
            if (peer->fd == fd) {
                s_remove_peer (self, peer, "connection lost");
                break;
            }
    }
}

//  --- receiving ---------------------------------------------------------------

//  A well-formed message from a joined peer (or from the embedded main).
//  BODY is taken.
void
router_core_handle (router_state_t *self, peer_t *sender, const proto_msg_t *msg, zmq_msg_t *body)
{
    switch (msg->command) {
    case PROTO_HELLO:
        self->stats.malformed++;
        s_send_error (self, sender, msg->id, "", PROKIT_EPROTO, "already joined");
        break;
    case PROTO_BYE: {
        //  Answer first, so the window knows its name is free once it
        //  hears back (a new connection could otherwise overtake the BYE).
        s_send_bye_answer (self, sender, msg->id);
        proto_bye_t bye;
        if (proto_bye_decode (msg->body, msg->body_size, &bye) == PROKIT_OK) {
            sender->final_known = bye.counted;
            sender->final_count = bye.last.count;
            sender->dealer_final_known = bye.dealer_counted;
            sender->dealer_final = bye.last.dealer;
        }
        s_remove_peer (self, sender, "closed");
        break;
    }
    case PROTO_SEND:
    case PROTO_REQUEST:
        if (!s_within_limits (self, sender, msg))
            break;
        //  Main's ACCOUNT counts the message handled and published at once.
        self->main_handling = sender->accounts && msg->command == PROTO_SEND;
        s_forward (self, sender, msg, body);
        self->main_handling = false;
        if (sender->accounts && msg->command == PROTO_SEND)
            s_account_handled (self, sender);
        return;
    case PROTO_REPLY:
    case PROTO_ERROR:
    case PROTO_PROGRESS: s_forward (self, sender, msg, body); return;
    case PROTO_CANCEL: s_cancel (self, sender, msg); break;
    case PROTO_CLOSE:
    case PROTO_SHOW:
    case PROTO_HIDE: s_window_control (self, sender, msg, body); return;
    case PROTO_QUERY: s_query (self, sender, msg); break;
    case PROTO_CREDIT: {
        proto_credit_t credit;
        //  The codec checked the map; a count can only grow, and never past
        //  what was sent (anything else is ignored).
        if (proto_credit_decode (msg->body, msg->body_size, &credit) != PROKIT_OK)
            break;
        if (credit.consumed - sender->consumed <= sender->sent - sender->consumed) {
            s_runs_pop (self, sender->runs, credit.consumed - sender->consumed, sender->name);
            sender->consumed = credit.consumed;
            uint64_t expected = sender->published;
            if (credit.channel - sender->channel_confirmed <=
                expected - sender->channel_confirmed) {
                s_account_settled (self, sender->name, sender->main_session, sender->main_base,
                                   sender->channel_confirmed, credit.channel);
                sender->channel_confirmed = credit.channel;
            }
            s_announce_room (self);
            if (sender->holders && s_has_credit (sender) && s_channel_room (sender))
                s_release_holders (self, sender);
        }
        else if (!sender->credit_refused) {
            //  Its window may never open again: say so, once, where it shows.
            sender->credit_refused = true;
            log_warn ("router: '%s' confirmed %llu messages of %llu sent, %llu confirmed before: "
                      "CREDIT ignored",
                      sender->name, (unsigned long long) credit.consumed,
                      (unsigned long long) sender->sent, (unsigned long long) sender->consumed);
        }
        break;
    }
    case PROTO_BROADCAST:
        if (!s_within_limits (self, sender, msg))
            break;
        self->main_handling = sender->accounts;
        s_broadcast (self, sender, msg, body);
        self->main_handling = false;
        if (sender->accounts)
            s_account_handled (self, sender);
        return;
    case PROTO_PING: s_send (self, sender, PROTO_PONG, msg->id, "", NULL, 0); break;
    default: //  PONG: liveness only
        break;
    }
    zmq_msg_close (body);
}

//  The joined peer a message came from, by the routing id libzmq put in
//  its first frame, ID_SIZE bytes at ID (the last sender is remembered: it
//  is usually the next). NULL for a connection that has not joined; KEY
//  then holds the id in hex.
static peer_t *
s_sender_of (router_state_t *self, const uint8_t *id, size_t id_size,
             char key[2 * ROUTING_ID_MAX + 1])
{
    peer_t *sender = self->recent_sender;
    key[0] = 0; //  only needed for a stranger, to join it
    if (sender && sender->routing_id_size == id_size &&
        memcmp (sender->routing_id, id, id_size) == 0)
        return sender;
    s_hex (id, id_size, key);
    sender = (peer_t *) zhashx_lookup (self->by_id, key);
    if (sender)
        self->recent_sender = sender;
    return sender;
}

//  Tell whoever sent a message proto_decode() refused (RC) why, unless
//  it was not prokit at all.
static void
s_refuse_malformed (router_state_t *self, peer_t *sender, zmq_msg_t *routing, const char *key,
                    const proto_frame_t *wire, size_t wire_count, const proto_msg_t *msg, int rc)
{
    if (proto_foreign (wire, wire_count)) {
        //  A foreign peer gets no answer it could not parse anyway.
        self->stats.garbage++;
        log_debug ("router: dropped %zu foreign frame(s)", wire_count);
        return;
    }
    char text[96];
    if (rc == PROKIT_ETOOBIG) {
        self->stats.too_big++;
        snprintf (text, sizeof (text), "payload of %zu bytes exceeds the limit of %zu",
                  msg->body_size, self->max_payload);
    }
    else if (rc == PROKIT_EVERSION) {
        self->stats.malformed++;
        snprintf (text, sizeof (text),
                  "protocol version %u not supported; this router speaks 1 to %d", msg->version,
                  PROTO_VERSION_MAX);
    }
    else {
        self->stats.malformed++;
        snprintf (text, sizeof (text), "malformed %s message", proto_command_name (msg->command));
    }
    log_debug ("router: refused from %s: %s", sender ? sender->name : key, text);
    if (sender)
        //  msg->peer names the destination when it could be decoded, so
        //  the sender can tell which message this was.
        s_send_error (self, sender, msg->id, msg->peer, rc, text);
    else
        s_send_error_to_id (self, routing, msg->id, msg->peer, rc, text);
}

//  On a CURVE router every TCP connection is CURVE, and ZAP names its
//  key (User-Id). Without one, no ZAP handler answered (libzmq then lets
//  any key in): the connection is refused, never taken for a keyless
//  local one. FRAME is one of the message's frames.
static bool
s_unauthenticated (router_state_t *self, zmq_msg_t *frame)
{
    if (!self->auth)
        return false;
    const char *key = zmq_msg_gets (frame, "User-Id");
    if (key && key[0])
        return false;
    int fd = zmq_msg_get (frame, ZMQ_SRCFD);
    struct sockaddr_storage address;
    socklen_t length = sizeof (address);
    if (fd < 0 || getsockname (fd, (struct sockaddr *) &address, &length) != 0 ||
        (address.ss_family != AF_INET && address.ss_family != AF_INET6))
        return false;
    log_error ("router: a CURVE connection came in without a verified key (no ZAP handler "
               "answered): refused");
    return true;
}

//  A message on a connection that has not joined: HELLO joins it; a health
//  probe's PING and a closed window's BYE are answered; nothing else is
//  taken.
static void
s_handle_stranger (router_state_t *self, zmq_msg_t *frames, const char *key, const proto_msg_t *msg)
{
    switch (msg->command) {
    case PROTO_HELLO:
        //  Connection events first: a DISCONNECTED for an earlier
        //  connection with this fd must not remove the new one.
        s_drain_monitor (self);
        if (s_connection_gone (self, zmq_msg_get (&frames[1], ZMQ_SRCFD)))
            break; //  it closed before its HELLO was read: no event would remove it
        if (s_unauthenticated (self, &frames[1])) {
            s_send_error_to_id (self, &frames[0], msg->id, "", PROKIT_EACCES,
                                "not authenticated: no CURVE key was verified");
            break;
        }
        s_hello (self, &frames[0], key, zmq_msg_get (&frames[1], ZMQ_SRCFD),
                 zmq_msg_gets (&frames[1], "Peer-Address"),
                 self->auth ? zmq_msg_gets (&frames[1], "User-Id") : NULL, msg);
        break;
    case PROTO_PING: s_send_to_id (self, &frames[0], PROTO_PONG, msg->id, "", NULL, 0); break;
    case PROTO_BYE: {
        //  A window main closed saying goodbye: confirm, nothing to free;
        //  it may say how much of its last session it took in.
        proto_bye_t bye;
        if (proto_bye_decode (msg->body, msg->body_size, &bye) == PROKIT_OK) {
            char lost[LOST_KEY_MAX];
            if (bye.last.topic[0])
                s_lost_settle (self, bye.last.topic, bye.last.count, bye.last.dealer, true);
            else if (bye.dealer_counted) {
                s_lost_key (lost, true, key); //  off the channel: by this connection
                s_lost_settle (self, lost, 0, bye.last.dealer, true);
            }
        }
        s_send_to_id (self, &frames[0], PROTO_BYE, msg->id, "", NULL, 0);
        break;
    }
    default:
        self->stats.malformed++;
        //  Often what a client sent on a connection that ended, before it
        //  noticed: naming the destination lets it account for it.
        s_send_error_to_id (self, &frames[0], msg->id, msg->peer, PROKIT_EPROTO,
                            "send HELLO first: this connection has not joined");
    }
}

//  One message from the ROUTER socket: FRAMES[0] is the routing id libzmq
//  prepended, COUNT frames in all.
//  MSG, well-formed, from SENDER, a joined peer: counted, and handled with
//  its body taken out of FRAMES (NULL when the body is inline: copied).
static void
s_handle_from (router_state_t *self, peer_t *sender, zmq_msg_t *frames, proto_msg_t *msg)
{
    self->stats.received++;
    sender->last_seen = s_batch_clock (self, &self->batch_wall_ms, clock_coarse_wall_ms);
    //  A REQUEST that says no deadline has the one its sender's HELLO set
    //  (its WELCOME said so), if any.
    if (msg->command == PROTO_REQUEST && !msg->deadline_ms)
        msg->deadline_ms = sender->hello.default_deadline;
    zmq_msg_t body;
    if (wire_body_take (frames, msg, &body) != 0) {
        log_error ("router: out of memory; %s from '%s' dropped", proto_command_name (msg->command),
                   sender->name);
        s_send_error (self, sender, msg->id, msg->peer, PROKIT_ENOMEM, "router out of memory");
        return;
    }
    router_core_handle (self, sender, msg, &body);
}

//  A client's BATCH (its WELCOME said the router reads them): each entry
//  is handled as if it had come alone, in order. A malformed entry is
//  refused as a message of its own would be; a BATCH whose rest is no
//  entry at all is refused there, and its sender told. Ends early if the
//  sender goes.
static void
s_handle_batch (router_state_t *self, peer_t *sender, zmq_msg_t *routing, const proto_msg_t *batch)
{
    size_t id_size = zmq_msg_size (routing);
    const uint8_t *id = (const uint8_t *) zmq_msg_data (routing);
    self->stats.batches_received++;
    size_t offset = 0;
    proto_frame_t entry;
    int next;
    while ((next = proto_batch_next (batch->body, batch->body_size, &offset, &entry)) == 1) {
        proto_msg_t msg;
        int rc = proto_decode (&entry, 1, PROTO_TO_ROUTER, self->max_payload, &msg);
        if (rc == PROKIT_OK && !proto_batch_allows (msg.command))
            rc = PROKIT_EPROTO;
        if (rc != PROKIT_OK) {
            s_refuse_malformed (self, sender, routing, sender->key, &entry, 1, &msg, rc);
            continue;
        }
        s_handle_from (self, sender, NULL, &msg); //  its body inline: copied
        char key[2 * ROUTING_ID_MAX + 1];
        if (s_sender_of (self, id, id_size, key) != sender)
            return; //  it went while we handled it
    }
    if (next < 0) {
        self->stats.malformed++;
        s_send_error (self, sender, 0, "", PROKIT_EPROTO, "malformed BATCH: the rest is dropped");
    }
}

static void
s_handle_message (router_state_t *self, zmq_msg_t *frames, size_t count)
{
    size_t id_size = zmq_msg_size (&frames[0]);
    if (id_size == 0 || id_size > ROUTING_ID_MAX) {
        self->stats.garbage++;
        return;
    }
    char key[2 * ROUTING_ID_MAX + 1];
    peer_t *sender = s_sender_of (self, (const uint8_t *) zmq_msg_data (&frames[0]), id_size, key);
    proto_frame_t wire[PROTO_FRAMES_MAX];
    size_t wire_count = count - 1;
    wire_view (frames + 1, wire_count, wire);
    proto_msg_t msg;
    int rc = proto_decode (wire, wire_count, PROTO_TO_ROUTER, self->max_payload, &msg);
    if (rc != PROKIT_OK) {
        s_refuse_malformed (self, sender, &frames[0], key, wire, wire_count, &msg, rc);
        return;
    }
    if (!sender) {
        self->stats.received++;
        s_handle_stranger (self, frames, key, &msg);
        return;
    }
    if (msg.command == PROTO_BATCH) {
        s_handle_batch (self, sender, &frames[0], &msg);
        return;
    }
    s_handle_from (self, sender, frames + 1, &msg);
}

//  Read whatever is waiting, up to BATCH_MAX messages, without blocking.
//  Returns true when it stopped at that limit.
static bool
s_drain (router_state_t *self)
{
    self->in_batch = true;
    self->batch_wall_ms = self->batch_mono_ms = 0;
    bool more = true;
    for (int n = 0; n < BATCH_MAX; n++) {
        //  The routing id, then one frame more than any message has, so
        //  that the decoder sees when there were too many.
        zmq_msg_t frames[PROTO_FRAMES_MAX + 2];
        size_t count;
        more = wire_recv (self->router, frames, PROTO_FRAMES_MAX + 2, &count);
        if (!more)
            break;
        s_handle_message (self, frames, count);
        for (size_t i = 0; i < count; i++)
            zmq_msg_close (&frames[i]);
    }
    self->in_batch = false;
    return more;
}

//  Subscriptions arriving on the PUB channel. With ZMQ_XPUB_MANUAL none
//  takes effect unless the router applies it, right after reading it (it
//  applies to the connection that sent the one last read): only a joining
//  window's own secret topic is applied, and that completes its join.
//  Anything else (a foreign SUB subscribing to everything, to a name, a
//  topic guessed or used twice) is ignored and counted as garbage.
//  When a joined window's channel connection ends (libzmq then says its
//  topic is unsubscribed) while its DEALER lives on, nothing main sends it
//  could reach it: its session ends there ("connection lost") and it is
//  told with a BYE, on which it joins again.
void
router_core_drain_pub (router_state_t *self)
{
    if (!self->pub)
        return;
    while (true) {
        zmq_msg_t frame;
        zmq_msg_init (&frame);
        if (wire_msg_recv (&frame, self->pub, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close (&frame);
            return;
        }
        const uint8_t *data = (const uint8_t *) zmq_msg_data (&frame);
        size_t size = zmq_msg_size (&frame);
        bool subscribe = size > 0 && data[0] == 1;
        peer_t *peer = NULL;
        if (size == 1 + PROTO_TOPIC_WIRE && data[0] <= 1) {
            char topic[PROTO_TOPIC_SIZE + 1];
            proto_topic_to_text (data + 1, topic);
            peer = (peer_t *) zhashx_lookup (self->by_topic, topic);
        }
        zmq_msg_close (&frame);
        if (peer && !subscribe && !peer->joining) {
            log_warn ("router: '%s' lost its PUB channel connection", peer->name);
            proto_bye_t bye = { { "", 0, 0 }, false, false, true };
            uint8_t body[PROTO_BYE_BODY_MAX];
            size_t body_size = proto_bye_encode (body, &bye);
            //  Past its flow-control window if need be (the queue itself
            //  has room beyond it): this BYE must reach it.
            peer->window = 0;
            s_send (self, peer, PROTO_BYE, 0, "", body, body_size);
            s_remove_peer (self, peer, "connection lost");
            continue;
        }
        if (!peer || !subscribe || !peer->joining) {
            if (subscribe) {
                self->stats.garbage++;
                log_debug ("router: ignored a subscription on the PUB channel");
            }
            continue;
        }
        if (zmq_setsockopt (self->pub, ZMQ_SUBSCRIBE, peer->topic_wire, PROTO_TOPIC_WIRE) != 0) {
            //  Its connection went in the meantime; so will its DEALER's.
            log_warn ("router: '%s' left the PUB channel while joining", peer->name);
            continue;
        }
        peer->joining = false;
        self->joining_count--;
        //  The first message on its topic, its join's last step: from here
        //  on nothing main sends it can miss.
        zmq_msg_t body;
        static const uint8_t empty_map = 0x80;
        if (wire_body_copy (&body, &empty_map, 1) != 0 ||
            s_publish (self, peer, PROTO_WELCOME, peer->join_id, NULL, &body) != 0)
            log_error ("router: could not confirm '%s' on the PUB channel", peer->name);
        s_admit (self, peer);
    }
}

//  One round of work: connection events (when MONITOR_READY: its
//  descriptor was readable), subscriptions on the channel (when PUB_READY,
//  while a window is joining, and now and then), messages, backlogs. It
//  ends by
//  reading the socket until libzmq says it is empty (EAGAIN), which also
//  re-arms its ZMQ_FD, so nothing that arrived meanwhile goes unannounced.
//  Returns true when more is waiting (a batch limit was hit).
bool
router_core_process (router_state_t *self, bool monitor_ready, bool pub_ready)
{
    self->in_round = true;
    //  Its descriptor tells when connection events wait; looking costs a
    //  poll and a getpid.
    if (monitor_ready && (wire_events (zsock_resolve (self->monitor)) & ZMQ_POLLIN))
        s_drain_monitor (self);
    //  The channel the same, except that a publish may swallow its
    //  announcement: while a window waits for its subscription to be seen
    //  it is read every time, otherwise at least every PUB_LOOK_MS.
    int64_t now = clock_coarse_wall_ms ();
    if (pub_ready || self->joining_count > 0 || now - self->pub_read_at >= PUB_LOOK_MS) {
        self->pub_read_at = now;
        router_core_drain_pub (self);
    }
    router_core_sweep_lost (self);
    s_probe_joins (self);
    bool more = s_drain (self);
    if (self->backlog_total > 0) {
        s_flush_backlogs (self);
        //  Those sends may have consumed the socket's wake-up.
        more = more || (wire_events (self->router) & ZMQ_POLLIN);
    }
    self->in_round = false;
    if (self->batched_count > 0)
        router_core_flush_batches (self);
    return more;
}

//  --- life cycle --------------------------------------------------------------

void
router_core_say_goodbye (router_state_t *self)
{
    //  Give the goodbyes a moment to leave; closing never waits longer.
    zsock_set_linger (self->router_sock, 200);
    for (peer_t *peer = (peer_t *) zhashx_first (self->by_name); peer;
         peer = (peer_t *) zhashx_next (self->by_name))
        if (!peer->local)
            s_send (self, peer, PROTO_BYE, 0, "", NULL, 0);
}

//  libzmq finds the ZAP handler at one inproc endpoint per process, and a
//  closed socket releases its endpoint only when the reaper gets to it;
//  zauth asserts if it cannot bind. Wait until the endpoint is free (or
//  give up after a while and let the caller report it), so a broker can
//  stop and start again at once.
#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define ZAP_WAIT_MS 2000

static bool
s_zap_endpoint_free (void)
{
    int64_t deadline = clock_mono_ms () + ZAP_WAIT_MS;
    while (true) {
        zsock_t *probe = sock_zsock_new (ZMQ_REP);
        if (!probe)
            return false;
        //  Unbinding an inproc endpoint is immediate, unlike closing.
        bool free = zmq_bind (zsock_resolve (probe), ZAP_ENDPOINT) == 0 &&
                    zmq_unbind (zsock_resolve (probe), ZAP_ENDPOINT) == 0;
        zsock_destroy (&probe);
        if (free)
            return true;
        if (clock_mono_ms () >= deadline)
            return false;
        zclock_sleep (10);
    }
}

void
router_core_free (router_state_t *self)
{
    while (self->inbox_head) {
        inbound_t *item = self->inbox_head;
        self->inbox_head = item->next;
        zmq_msg_close (&item->body);
        free (item);
    }
    if (self->inbox_fd > 0)
        close (self->inbox_fd);
    if (self->monitor) {
        zmq_socket_monitor (self->router, NULL, 0);
        zsock_destroy (&self->monitor);
    }
    zhashx_destroy (&self->by_topic);
    pools_destroy (&self->pools);
    zhashx_destroy (&self->main_cancelled);
    zhashx_destroy (&self->lost);
    zlistx_destroy (&self->took_notes);
    zlistx_destroy (&self->probes);
    zhashx_destroy (&self->by_id);
    zhashx_destroy (&self->by_name);
    free (self->targets);
    free (self->batched);
    self->batched = NULL;
    self->batched_count = 0;
    while (self->batch_pool_count > 0)
        free (self->batch_pool[--self->batch_pool_count]);
    while (self->spare) {
        inbound_t *item = self->spare;
        self->spare = item->next;
        free (item);
    }
    zsock_destroy (&self->router_sock);
    zsock_destroy (&self->pub_sock);
    //  After the sockets: ZAP must answer until they are gone.
    if (self->auth) {
        zactor_destroy (&self->auth);
        s_zap_endpoint_free (); //  for whoever starts the next one
    }
    acl_destroy (&self->acl);
    zcertstore_destroy (&self->allowed);
    zhashx_destroy (&self->pending);
    zhashx_destroy (&self->per_key);
    free (self->connections);
    self->connections = NULL;
}

//  The PUB channel's endpoint beside a router endpoint: the ipc path (or
//  abstract name) and inproc name with ".pub" added, the next tcp port
//  (any free port when the endpoint's is). Empty for other transports:
//  their clients get main's messages on their DEALER.
static void
s_channel_endpoint (const char *bound, char *out, size_t size)
{
    out[0] = 0;
    if (strncmp (bound, "ipc://", 6) == 0 || strncmp (bound, "inproc://", 9) == 0)
        snprintf (out, size, "%s.pub", bound);
    else if (strncmp (bound, "tcp://", 6) == 0) {
        const char *colon = strrchr (bound, ':');
        int port = s_endpoint_port (bound);
        if (colon && colon > bound + 5 && port > 0 && port < 65535)
            snprintf (out, size, "%.*s:%d", (int) (colon - bound), bound, port + 1);
        else if (colon && colon > bound + 5)
            snprintf (out, size, "%.*s:*", (int) (colon - bound), bound);
    }
}

//  Bind the PUB channel beside endpoint INDEX (already bound), with the
//  same security. The endpoint as bound goes into self->channels.
static int
s_bind_channel (router_state_t *self, const router_config_t *config, size_t index, bool secure)
{
    char wanted[ROUTER_BOUND_MAX];
    s_channel_endpoint (self->bound[index], wanted, sizeof (wanted));
    //  An endpoint given with any free port has its channel on any free
    //  port too (the next one may be taken).
    const char *given = config->endpoints[index];
    const char *colon = strrchr (given, ':');
    if (strncmp (given, "tcp://", 6) == 0 && colon &&
        (streq (colon, ":*") || streq (colon, ":0"))) {
        const char *bound_colon = strrchr (self->bound[index], ':');
        snprintf (wanted, sizeof (wanted), "%.*s:*", (int) (bound_colon - self->bound[index]),
                  self->bound[index]);
    }
    if (!wanted[0])
        return PROKIT_OK;
    if (secure)
        zcert_apply (config->curve_cert, self->pub_sock);
    zsock_set_curve_server (self->pub_sock, secure ? 1 : 0);
    if (zsock_bind (self->pub_sock, "%s", wanted) < 0) {
        log_error ("router: cannot bind the PUB channel %s: %s", wanted,
                   zmq_strerror (zmq_errno ()));
        return PROKIT_ETRANSPORT;
    }
    char *last = zsock_last_endpoint (self->pub_sock);
    snprintf (self->channels[index], ROUTER_BOUND_MAX, "%s", last ? last : wanted);
    free (last);
    log_info ("router: PUB channel on %s%s", self->channels[index], secure ? " (CURVE)" : "");
    return PROKIT_OK;
}

//  The limits CONFIG sets (0: the defaults) and their tables.
static int
s_limits_init (router_state_t *self, const router_config_t *config)
{
    self->max_payload = config->max_payload ? config->max_payload : PROTO_DEFAULT_MAX_PAYLOAD;
    self->max_windows = config->max_windows ? config->max_windows : ROUTER_DEFAULT_MAX_WINDOWS;
    self->max_requests_per_window = config->max_requests_per_window
                                        ? config->max_requests_per_window
                                        : ROUTER_DEFAULT_MAX_REQUESTS;
    self->max_messages_per_second = config->max_messages_per_second;
    self->max_pending_per_address = config->max_pending_per_address
                                        ? config->max_pending_per_address
                                        : ROUTER_DEFAULT_MAX_PENDING;
    self->max_windows_per_key = config->max_windows_per_key;
    if (!(self->pending = zhashx_new ()) || !(self->per_key = zhashx_new ()))
        return PROKIT_ENOMEM;
    zhashx_set_destructor (self->pending, s_free_item); //  one free()
    zhashx_set_destructor (self->per_key, s_free_item);
    return PROKIT_OK;
}

//  The registry's tables, the instance id and main's inbox descriptor.
static int
s_tables_init (router_state_t *self)
{
    self->by_name = zhashx_new ();
    self->by_id = zhashx_new ();
    self->by_topic = zhashx_new ();
    self->lost = zhashx_new ();
    self->took_notes = zlistx_new ();
    if (self->took_notes)
        zlistx_set_destructor (self->took_notes, s_took_note_destroy);
    self->probes = zlistx_new ();
    if (self->probes)
        zlistx_set_destructor (self->probes, s_free_item);
    self->pools = pools_new ();
    self->main_cancelled = zhashx_new ();
    self->sending_via = "";
    if (!s_topic_new (self, self->instance))
        return PROKIT_ENOMEM;
    self->inbox_fd = eventfd (0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (self->inbox_fd < 0)
        return sock_error (PROKIT_ENOMEM);
    if (!self->by_name || !self->by_id || !self->by_topic || !self->lost || !self->took_notes ||
        !self->pools || !self->main_cancelled)
        return PROKIT_ENOMEM;
    zhashx_set_destructor (self->lost, s_lost_destroy);
    zhashx_set_destructor (self->by_name, s_peer_destroy);
    return PROKIT_OK;
}

//  The PUB channel's and the ROUTER's options, heartbeats included.
static void
s_sockets_configure (router_state_t *self, const router_config_t *config)
{
    self->pub = zsock_resolve (self->pub_sock);
    //  Never drop (a full subscriber refuses the send), apply only the
    //  subscriptions the router approves, no heartbeats: a window that
    //  stops reading fills this queue, and only this one; its liveness is
    //  its DEALER's business.
    zsock_set_xpub_nodrop (self->pub_sock, 1);
    zsock_set_xpub_manual (self->pub_sock, 1);
    zsock_set_sndhwm (self->pub_sock, ROUTER_HWM);
    zsock_set_linger (self->pub_sock, 0);
    //  Nothing arrives on the channel but subscriptions (and the handshake's
    //  commands): a frame that says it is larger ends its connection at
    //  once, before libzmq allocates what a stranger declared.
    zsock_set_maxmsgsize (self->pub_sock, ROUTER_CHANNEL_MAXMSGSIZE);
    self->router = zsock_resolve (self->router_sock);
    zsock_set_router_mandatory (self->router_sock, 1);
    zsock_set_sndhwm (self->router_sock, ROUTER_HWM);
    zsock_set_rcvhwm (self->router_sock, ROUTER_HWM);
    zsock_set_linger (self->router_sock, 0);
    int64_t maxmsgsize = ROUTER_MAXMSGSIZE (self->max_payload);
    zmq_setsockopt (self->router, ZMQ_MAXMSGSIZE, &maxmsgsize, sizeof (maxmsgsize));
    //  ZMTP heartbeats: libzmq pings each connection and drops one that
    //  stays silent, which the monitor then reports. Peers' libzmq answer
    //  the pings by themselves, however busy their application is.
    int heartbeat_ivl =
        config->heartbeat_ivl_ms > 0 ? config->heartbeat_ivl_ms : ROUTER_HEARTBEAT_IVL_MS;
    int heartbeat_timeout = config->heartbeat_timeout_ms > 0 ? config->heartbeat_timeout_ms
                                                             : ROUTER_HEARTBEAT_TIMEOUT_MS;
    self->heartbeat_ms = heartbeat_ivl;
    self->lost_grace_ms = heartbeat_timeout * LOST_GRACE_TIMEOUTS;
    zmq_setsockopt (self->router, ZMQ_HEARTBEAT_IVL, &heartbeat_ivl, sizeof (heartbeat_ivl));
    zmq_setsockopt (self->router, ZMQ_HEARTBEAT_TIMEOUT, &heartbeat_timeout,
                    sizeof (heartbeat_timeout));
    //  Each ping also tells the client to drop the connection if nothing
    //  follows within the same timeout (clients ping on their own too).
    //  libzmq carries it in deciseconds, at most 6553.5 s.
    int ttl = heartbeat_timeout < 6553500 ? heartbeat_timeout : 6553500;
    zmq_setsockopt (self->router, ZMQ_HEARTBEAT_TTL, &ttl, sizeof (ttl));
}

//  The ROUTER's monitor: connections accepted, ended, refused by CURVE.
static int
s_monitor_start (router_state_t *self)
{
    char monitor_endpoint[64];
    snprintf (monitor_endpoint, sizeof (monitor_endpoint), "inproc://prokit-router-monitor-%llu",
              (unsigned long long) serial_next ());
    self->monitor = sock_zsock_new (ZMQ_PAIR);
    if (!self->monitor)
        return sock_error (PROKIT_ENOMEM);
    if (zmq_socket_monitor (self->router, monitor_endpoint,
                            ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED |
                                CURVE_HANDSHAKE_FAILURES) != 0 ||
        zsock_connect (self->monitor, "%s", monitor_endpoint) != 0)
        return PROKIT_ENOMEM;
    return PROKIT_OK;
}

//  CURVE's ZAP handler, admitting the keys in CONFIG's curve_allow.
static int
s_zap_start (router_state_t *self, const router_config_t *config)
{
    if (!s_zap_endpoint_free ()) {
        log_error ("router: another ZAP handler runs in this process (%s is bound): one "
                   "CURVE broker per process",
                   ZAP_ENDPOINT);
        return PROKIT_EEXIST;
    }
    //  CZMQ's ZAP handler ends its thread when a signal interrupts its
    //  poll, and libzmq then lets any CURVE key in: its thread takes
    //  no signals (it inherits this mask), they go to the others.
    sigset_t all, mask;
    sigfillset (&all);
    pthread_sigmask (SIG_BLOCK, &all, &mask);
    self->auth = zactor_new (zauth, NULL);
    pthread_sigmask (SIG_SETMASK, &mask, NULL);
    if (!self->auth)
        return PROKIT_ENOMEM;
    bool any = config->curve_allow && streq (config->curve_allow, "*");
    zstr_sendx (self->auth, "CURVE", any ? CURVE_ALLOW_ANY : config->curve_allow, NULL);
    zsock_wait (self->auth);
    //  ZAP's store rereads the directory as it changes, for new
    //  connections; ours is for those already in (router_core_reload).
    if (config->curve_allow && !any && !(self->allowed = zcertstore_new (config->curve_allow)))
        return PROKIT_ENOMEM;
    return PROKIT_OK;
}

//  Bind every endpoint of CONFIG and its PUB channel, noting how each was
//  bound in BOUND.
static int
s_bind_all (router_state_t *self, const router_config_t *config, char bound[][ROUTER_BOUND_MAX])
{
    for (size_t i = 0; i < config->endpoint_count; i++) {
        const char *endpoint = config->endpoints[i];
        //  Security options are read when an endpoint is bound, so each
        //  endpoint gets the mechanism set just before it.
        bool secure = config->curve_cert && strncmp (endpoint, "tcp://", 6) == 0;
        if (secure)
            zcert_apply (config->curve_cert, self->router_sock);
        zsock_set_curve_server (self->router_sock, secure ? 1 : 0);
        if (zsock_bind (self->router_sock, "%s", endpoint) < 0) {
            log_error ("router: cannot bind %s: %s", endpoint, zmq_strerror (zmq_errno ()));
            return PROKIT_ETRANSPORT;
        }
        char *last = zsock_last_endpoint (self->router_sock);
        snprintf (bound[i], ROUTER_BOUND_MAX, "%s", last ? last : endpoint);
        free (last);
        snprintf (self->bound[i], ROUTER_BOUND_MAX, "%s", bound[i]);
        log_info ("router: listening on %s%s", bound[i], secure ? " (CURVE)" : "");
        int rc = s_bind_channel (self, config, i, secure);
        if (rc != PROKIT_OK)
            return rc;
    }
    self->endpoint_count = config->endpoint_count;
    zsock_set_curve_server (self->router_sock, 0);
    zsock_set_curve_server (self->pub_sock, 0);
    return PROKIT_OK;
}

//  Create the socket, its monitor and ZAP, and bind every endpoint, noting
//  how each was bound in BOUND. Returns PROKIT_OK or why not.
int
router_core_init (router_state_t *self, const router_config_t *config,
                  char bound[][ROUTER_BOUND_MAX])
{
    self->inbox_fd = -1;
    int rc = s_limits_init (self, config);
    if (rc != PROKIT_OK)
        return rc;
    //  Before the first socket, when libzmq starts the context's I/O
    //  threads: connections are spread over them, and libzmq 4.3 cancels
    //  a connection's heartbeat timer by walking every timer of its
    //  thread, so a thread serving N windows walks N² a second.
    if (config->io_threads > 0 && !sock_set_io_threads (config->io_threads))
        log_warn ("router: io_threads %d ignored: this process's ZeroMQ context has started "
                  "already, with %d",
                  config->io_threads, zmq_ctx_get (zsys_init (), ZMQ_IO_THREADS));
    self->router_sock = sock_zsock_new (ZMQ_ROUTER);
    self->pub_sock = self->router_sock ? sock_zsock_new (ZMQ_XPUB) : NULL;
    if (!self->router_sock || !self->pub_sock)
        return sock_error (PROKIT_ENOMEM);
    if ((rc = s_tables_init (self)) != PROKIT_OK)
        return rc;
    s_sockets_configure (self, config);
    if ((rc = s_monitor_start (self)) != PROKIT_OK)
        return rc;
    if (config->curve_cert && (rc = s_zap_start (self, config)) != PROKIT_OK)
        return rc;
    if ((rc = s_bind_all (self, config, bound)) != PROKIT_OK)
        return rc;
    return config->embedded_main ? s_add_local_main (self) : PROKIT_OK;
}

//  Is KEY (Z85, "" without CURVE) still allowed, and allowed NAME?
static bool
s_still_allowed (router_state_t *self, const char *key, const char *name)
{
    if (*key && self->allowed && !zcertstore_lookup (self->allowed, key))
        return false;
    return !self->acl || acl_allows (self->acl, key, name);
}

size_t
router_core_reload (router_state_t *self, acl_t *acl)
{
    acl_destroy (&self->acl);
    self->acl = acl;
    //  Collect first: dropping a peer changes the registry.
    zlistx_t *revoked = zlistx_new ();
    for (peer_t *peer = (peer_t *) zhashx_first (self->by_name); peer && revoked;
         peer = (peer_t *) zhashx_next (self->by_name))
        if (!peer->local && !s_still_allowed (self, peer->client_key, peer->name))
            zlistx_add_end (revoked, peer);
    size_t count = revoked ? zlistx_size (revoked) : 0;
    for (peer_t *peer = revoked ? (peer_t *) zlistx_first (revoked) : NULL; peer;
         peer = (peer_t *) zlistx_next (revoked)) {
        log_warn ("router: '%s' dropped: its key %s is no longer allowed%s", peer->name,
                  *peer->client_key ? peer->client_key : "(none)",
                  self->acl ? " (allowed keys, access list)" : " (allowed keys)");
        //  Past its flow-control window and its backlog (which go with
        //  it): the last it hears of this session.
        peer_t last;
        memset (&last, 0, sizeof (last));
        last.version = peer->version;
        last.routing_id_size = peer->routing_id_size;
        memcpy (last.routing_id, peer->routing_id, peer->routing_id_size);
        uint8_t body[PROTO_ERROR_BODY_MAX];
        size_t size = proto_error_encode (
            body, PROKIT_EACCES,
            "this key is no longer allowed: the router ended this connection's session", 0);
        self->stats.errors_sent++;
        s_send (self, &last, PROTO_ERROR, 0, "", body, size);
        s_send (self, &last, PROTO_BYE, 0, "", NULL, 0);
        s_remove_peer (self, peer, "key no longer allowed");
    }
    zlistx_destroy (&revoked);
    return count;
}

int64_t
router_core_last_seen (router_state_t *self, const char *name)
{
    peer_t *peer = s_find (self, name);
    return peer ? peer->last_seen : 0;
}
