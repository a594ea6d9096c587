/*  fuzz_router.c: the routing core (src/router.c) fed whole messages by
    its peers, in-process.

    Three routers are made once and reused across inputs, each bound to an
    inproc:// endpoint with two raw DEALERs (and a SUB on its PUB channel)
    connected: one with an embedded main (served here, as main's thread
    would: its inbox emptied, its requests answered), one without (a
    DEALER may then claim "@main"), and one without and with an access
    list (RIG_ACL). The harness drives the core itself
    (router_core_process(), and the receipts its thread flushes on a
    timer), on this one thread, as the embedded main does.

    The input: its first byte picks the router (modulo 3); the rest is records
    as fuzz_input.h says, grouped into messages (FUZZ_MORE), each sent from
    the DEALER its first record names (FUZZ_SECOND), the router driven
    after each. Then every DEALER that spoke says BYE (leaving whatever it
    joined as, so that the next input starts from a clean registry) and
    PING, and the router is driven until both PONGs are back: a router that
    stops answering aborts.

    Checked on the way: everything the router sends, on a DEALER or on the
    channel, decodes (the router never passes on a malformed message), and
    a forwarded SEND, REQUEST, REPLY or BROADCAST names as its source a
    name a DEALER was welcomed under in this input, or @main (the router
    never takes a sender's word for who it is).
*/
#define _GNU_SOURCE
#include <czmq.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_input.h"
#include "prokit/error.h"
#include "prokit/log.h"
#include "proto.h"
#include "router_private.h"
#include "wire.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf (stderr, "fuzz_router: %s:%d: check failed: %s (errno: %s)\n", __FILE__,       \
                     __LINE__, #cond, strerror (errno));                                           \
            abort ();                                                                              \
        }                                                                                          \
    } while (0)

#define DEALERS 2
#define MESSAGES_MAX 64
#define FRAMES_MAX 8 //  more than any message has: the router must cope
#define MAX_PAYLOAD 1024
#define NAMES_MAX 32
#define PUMPS_MAX 1000  //  rounds of driving the router before it counts as stuck
#define INBOX_MAX 10000 //  items main takes in one round before that counts as a loop
#define TOPICS_MAX 16

typedef struct rig {
    router_state_t state;
    bool embedded;
    char endpoint[64];
    void *dealers[DEALERS];
    void *sub;
    //  This input's: the names DEALERs were welcomed under, the topics
    //  the SUB subscribed to, which DEALERs spoke, the sync PINGs.
    char names[NAMES_MAX][PROTO_NAME_MAX + 1];
    size_t name_count;
    bool subscribed;
    uint8_t topics[TOPICS_MAX][PROTO_TOPIC_WIRE];
    size_t topic_count; //  more than TOPICS_MAX: the SUB is made anew
    bool used[DEALERS];
    uint64_t sync_id;
    bool synced[DEALERS];
} rig_t;

#define RIGS 3
static rig_t s_rigs[RIGS];
static uint64_t s_syncs;

//  libFuzzer's timer (-timeout) sends SIGALRM every few seconds, and
//  libzmq fails a call that a signal interrupts with EINTR, having done
//  nothing: the harness makes it again, as the library does (wire.c,
//  whose wire_msg_recv() it reads with).
static int
s_zsend (void *socket, const void *data, size_t size, int flags)
{
    int rc;
    do
        rc = zmq_send (socket, data, size, flags);
    while (rc < 0 && errno == EINTR);
    return rc;
}

static int
s_zmsg_send (zmq_msg_t *frame, void *socket, int flags)
{
    int rc;
    do
        rc = zmq_msg_send (frame, socket, flags);
    while (rc < 0 && errno == EINTR);
    return rc;
}

static void
s_log_sink (prokit_log_level_t level, const char *line, void *arg)
{
    //  Every line is formatted (the hook takes them all), then dropped.
    (void) level;
    (void) line;
    (void) arg;
}

static void
s_dump (const char *what, zmq_msg_t *frames, size_t count)
{
    fprintf (stderr, "fuzz_router: %s, %zu frame(s):\n", what, count);
    for (size_t i = 0; i < count; i++) {
        const uint8_t *data = (const uint8_t *) zmq_msg_data (&frames[i]);
        size_t size = zmq_msg_size (&frames[i]);
        fprintf (stderr, "  frame %zu (%zu):", i, size);
        for (size_t j = 0; j < size && j < 64; j++)
            fprintf (stderr, " %02x", data[j]);
        fprintf (stderr, "%s\n", size > 64 ? " ..." : "");
    }
}

static bool
s_known_name (const rig_t *rig, const char *name)
{
    if (strcmp (name, PROTO_MAIN_NAME) == 0)
        return true;
    for (size_t i = 0; i < rig->name_count; i++)
        if (strcmp (rig->names[i], name) == 0)
            return true;
    return false;
}

//  A forwarded message names its real source.
static void
s_check_source (const rig_t *rig, uint8_t command, const char *peer)
{
    if (command != PROTO_SEND && command != PROTO_REQUEST && command != PROTO_REPLY &&
        command != PROTO_BROADCAST)
        return;
    if (!s_known_name (rig, peer)) {
        fprintf (stderr, "fuzz_router: %s from '%s', a name no DEALER was welcomed under\n",
                 proto_command_name (command), peer);
        abort ();
    }
}

//  --- what the router sends ------------------------------------------------------

//  Read one message from SOCKET without waiting; false when none.
static bool
s_recv (void *socket, zmq_msg_t *frames, size_t *count)
{
    *count = 0;
    int more = 1;
    while (more) {
        zmq_msg_t extra;
        zmq_msg_t *frame = *count < FRAMES_MAX ? &frames[*count] : &extra;
        zmq_msg_init (frame);
        if (wire_msg_recv (frame, socket, *count == 0 ? ZMQ_DONTWAIT : 0) < 0) {
            zmq_msg_close (frame);
            CHECK (*count == 0);
            return false;
        }
        more = zmq_msg_more (frame);
        if (frame == &extra)
            zmq_msg_close (&extra);
        else
            (*count)++;
    }
    return true;
}

static void
s_on_dealer (rig_t *rig, size_t index, zmq_msg_t *frames, size_t count)
{
    proto_frame_t wire[FRAMES_MAX];
    for (size_t i = 0; i < count; i++)
        wire[i] = (proto_frame_t){ zmq_msg_data (&frames[i]), zmq_msg_size (&frames[i]) };
    proto_msg_t msg;
    if (proto_decode (wire, count, PROTO_TO_CLIENT, MAX_PAYLOAD, &msg) != PROKIT_OK) {
        s_dump ("the router sent a DEALER a message it cannot decode", frames, count);
        abort ();
    }
    s_check_source (rig, msg.command, msg.peer);
    if (msg.command == PROTO_WELCOME) {
        if (rig->name_count < NAMES_MAX)
            snprintf (rig->names[rig->name_count++], PROTO_NAME_MAX + 1, "%s", msg.peer);
        proto_welcome_t welcome;
        memset (&welcome, 0, sizeof (welcome));
        CHECK (proto_welcome_decode (msg.body, msg.body_size, &welcome) == PROKIT_OK);
        uint8_t topic[PROTO_TOPIC_WIRE];
        if (welcome.topic[0] && proto_topic_to_wire (welcome.topic, topic)) {
            //  Join the channel as a window would: subscribe to the topic.
            CHECK (zmq_setsockopt (rig->sub, ZMQ_SUBSCRIBE, topic, sizeof (topic)) == 0);
            rig->subscribed = true;
            if (rig->topic_count < TOPICS_MAX)
                memcpy (rig->topics[rig->topic_count], topic, sizeof (topic));
            rig->topic_count++;
        }
    }
    if (msg.command == PROTO_PONG && rig->sync_id && msg.id == rig->sync_id)
        rig->synced[index] = true;
}

static void
s_on_channel (rig_t *rig, zmq_msg_t *frames, size_t count)
{
    size_t first_size = zmq_msg_size (&frames[0]);
    if (first_size < PROTO_TOPIC_WIRE) {
        s_dump ("the router published a frame shorter than a topic", frames, count);
        abort ();
    }
    proto_frame_t wire[FRAMES_MAX];
    wire[0] = (proto_frame_t){ (const uint8_t *) zmq_msg_data (&frames[0]) + PROTO_TOPIC_WIRE,
                               first_size - PROTO_TOPIC_WIRE };
    for (size_t i = 1; i < count; i++)
        wire[i] = (proto_frame_t){ zmq_msg_data (&frames[i]), zmq_msg_size (&frames[i]) };
    proto_msg_t msg;
    if (proto_decode (wire, count, PROTO_ON_CHANNEL, MAX_PAYLOAD, &msg) != PROKIT_OK) {
        s_dump ("the router published a message it cannot decode", frames, count);
        abort ();
    }
    (void) rig;
}

//  Read and check everything waiting on the DEALERs and the SUB.
static void
s_drain_clients (rig_t *rig)
{
    zmq_msg_t frames[FRAMES_MAX];
    size_t count;
    //  Each look costs libzmq a poll and a getpid: only where something
    //  can be waiting (a DEALER that spoke, the SUB once it subscribed).
    for (size_t i = 0; i < DEALERS; i++)
        while (rig->used[i] && s_recv (rig->dealers[i], frames, &count)) {
            s_on_dealer (rig, i, frames, count);
            for (size_t f = 0; f < count; f++)
                zmq_msg_close (&frames[f]);
        }
    while (rig->subscribed && s_recv (rig->sub, frames, &count)) {
        s_on_channel (rig, frames, count);
        for (size_t f = 0; f < count; f++)
            zmq_msg_close (&frames[f]);
    }
}

//  --- the embedded main -------------------------------------------------------------

//  Take main's inbox as main's thread would, answering each REQUEST with
//  its own payload (a REPLY through router_core_handle(), as
//  router_local_send() hands it in).
static void
s_serve_main (rig_t *rig)
{
    router_state_t *state = &rig->state;
    size_t served = 0;
    while (state->inbox_head) {
        CHECK (served++ < INBOX_MAX);
        inbound_t *item = state->inbox_head;
        state->inbox_head = item->next;
        if (!state->inbox_head)
            state->inbox_tail = NULL;
        state->inbox_size--;
        CHECK (item->command >= PROTO_HELLO && item->command <= PROTO_COMMAND_LAST);
        s_check_source (rig, item->command, item->peer);
        if (item->command == PROTO_REQUEST) {
            proto_msg_t msg;
            msg.version = PROTO_VERSION_MAX;
            msg.body_frame = 0;
            msg.body_inline = false;
            msg.command = PROTO_REPLY;
            msg.id = item->id;
            snprintf (msg.peer, sizeof (msg.peer), "%s", item->peer);
            msg.channel_name[0] = 0; //  routing reads it for every command
            msg.deadline_ms = 0;
            zmq_msg_t body;
            zmq_msg_init (&body);
            CHECK (zmq_msg_copy (&body, &item->body) == 0);
            msg.body = (const uint8_t *) zmq_msg_data (&body);
            msg.body_size = zmq_msg_size (&body);
            state->stats.received++;
            state->local_result = PROKIT_OK;
            router_core_handle (state, state->main, &msg, &body);
        }
        zmq_msg_close (&item->body);
        free (item);
    }
    CHECK (state->inbox_size == 0);
}

//  One round: the router reads and routes what waits, main and the
//  clients take what it sent them.
static void
s_pump (rig_t *rig)
{
    //  inproc has no connection events for the monitor to report; the
    //  channel's subscriptions are read anyway while a window joins.
    router_core_process (&rig->state, false, false);
    //  What the router's thread does on its timer: confirmations short of
    //  a batch (RECEIPT, ACCOUNT) go out.
    router_core_flush_receipts (&rig->state);
    if (rig->embedded)
        s_serve_main (rig);
    s_drain_clients (rig);
}

//  --- set-up ---------------------------------------------------------------------------

static void *
s_client (int type, const char *endpoint)
{
    //  In CZMQ's context (inproc needs the router's), and known to CZMQ,
    //  which closes it at exit before terminating the context.
    void *socket = zsys_socket (type, __FILE__, __LINE__);
    CHECK (socket);
    int linger = 0;
    zmq_setsockopt (socket, ZMQ_LINGER, &linger, sizeof (linger));
    CHECK (zmq_connect (socket, endpoint) == 0);
    return socket;
}

//  The third router's access list: connections without a key (inproc's)
//  may be main and claim a few names.
#define RIG_ACL                                                                                    \
    ACL_LOCAL " @main work render-* a?\n"                                                          \
              "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7 *\n"

static void
s_rig_init (rig_t *rig, int index, bool embedded, bool acl)
{
    memset (rig, 0, sizeof (*rig));
    rig->embedded = embedded;
    snprintf (rig->endpoint, sizeof (rig->endpoint), "inproc://prokit-fuzz-router-%d-%d",
              (int) getpid (), index);
    router_config_t config;
    memset (&config, 0, sizeof (config));
    config.endpoints[0] = rig->endpoint;
    config.endpoint_count = 1;
    config.embedded_main = embedded;
    config.max_payload = MAX_PAYLOAD;
    //  A lost session's grace is ten heartbeat timeouts: keep it at 1 s.
    config.heartbeat_ivl_ms = 100;
    config.heartbeat_timeout_ms = 100;
    if (acl) {
        //  The router takes it as router_new() hands it over.
        char error[256];
        rig->state.acl = acl_parse (RIG_ACL, error, sizeof (error));
        CHECK (rig->state.acl);
    }
    char bound[ROUTER_ENDPOINTS_MAX][ROUTER_BOUND_MAX];
    CHECK (router_core_init (&rig->state, &config, bound) == PROKIT_OK);
    //  Main's thread drives the core: the inbox needs no eventfd.
    rig->state.main_holds_lock = true;
    for (size_t i = 0; i < DEALERS; i++)
        rig->dealers[i] = s_client (ZMQ_DEALER, rig->endpoint);
    CHECK (rig->state.channels[0][0]);
    rig->sub = s_client (ZMQ_SUB, rig->state.channels[0]);
}

static void
s_rig_free (rig_t *rig)
{
    for (size_t i = 0; i < DEALERS; i++)
        zsys_close (rig->dealers[i], __FILE__, __LINE__);
    zsys_close (rig->sub, __FILE__, __LINE__);
    router_core_free (&rig->state);
}

static void
s_at_exit (void)
{
    for (size_t i = 0; i < RIGS; i++)
        s_rig_free (&s_rigs[i]);
}

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
    (void) argc;
    (void) argv;
    prokit_set_log (s_log_sink, NULL);
    zsys_handler_set (NULL); //  libFuzzer's signal handlers, not CZMQ's
    CHECK (zsys_init ());
    s_rig_init (&s_rigs[0], 0, true, false);
    s_rig_init (&s_rigs[1], 1, false, false);
    s_rig_init (&s_rigs[2], 2, false, true);
    //  After zsys_init()'s own: runs before CZMQ terminates the context.
    atexit (s_at_exit);
    return 0;
}

//  --- one input ---------------------------------------------------------------------------

static void
s_send (void *socket, zmq_msg_t *frames, size_t count)
{
    for (size_t i = 0; i < count; i++)
        CHECK (s_zmsg_send (&frames[i], socket, ZMQ_DONTWAIT | (i + 1 < count ? ZMQ_SNDMORE : 0)) >=
               0);
}

static void
s_send_bytes (void *socket, const void *first, size_t first_size)
{
    //  Version 1: the header, an empty peer, an empty body.
    CHECK (s_zsend (socket, first, first_size, ZMQ_DONTWAIT | ZMQ_SNDMORE) >= 0);
    CHECK (s_zsend (socket, "", 0, ZMQ_DONTWAIT | ZMQ_SNDMORE) >= 0);
    CHECK (s_zsend (socket, "", 0, ZMQ_DONTWAIT) >= 0);
}

//  Leave the registry as the input found it, and make sure the router
//  still answers: each DEALER that spoke says BYE, then PING. The BYE says
//  the window took in everything it was sent, so that its session is
//  settled at once rather than kept for a second as a lost one.
static void
s_settle (rig_t *rig)
{
    rig->sync_id = ((uint64_t) 0x5f << 56) | ++s_syncs;
    uint8_t bye[PROTO_HEADER_SIZE], ping[PROTO_HEADER_SIZE];
    proto_header_encode (bye, PROTO_BYE, 0);
    proto_header_encode (ping, PROTO_PING, rig->sync_id);
    proto_bye_t said = { .counted = true, .dealer_counted = true };
    said.last.count = said.last.dealer = (uint64_t) 1 << 62;
    uint8_t bye_body[PROTO_BYE_BODY_MAX];
    size_t bye_body_size = proto_bye_encode (bye_body, &said);
    for (size_t i = 0; i < DEALERS; i++) {
        rig->synced[i] = !rig->used[i];
        if (rig->used[i]) {
            CHECK (s_zsend (rig->dealers[i], bye, sizeof (bye), ZMQ_DONTWAIT | ZMQ_SNDMORE) >= 0);
            CHECK (s_zsend (rig->dealers[i], "", 0, ZMQ_DONTWAIT | ZMQ_SNDMORE) >= 0);
            CHECK (s_zsend (rig->dealers[i], bye_body, bye_body_size, ZMQ_DONTWAIT) >= 0);
            s_send_bytes (rig->dealers[i], ping, sizeof (ping));
        }
    }
    for (int round = 0; round < PUMPS_MAX; round++) {
        s_pump (rig);
        bool all = true;
        for (size_t i = 0; i < DEALERS; i++)
            all = all && rig->synced[i];
        if (all) {
            rig->sync_id = 0;
            return;
        }
        if (round > 10)
            usleep (1000);
    }
    fprintf (stderr, "fuzz_router: the router did not answer PING within %d rounds\n", PUMPS_MAX);
    abort ();
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    rig_t *rig = &s_rigs[data[0] % RIGS];
    rig->name_count = 0;
    rig->subscribed = false;
    rig->topic_count = 0;
    //  The first DEALER always speaks: the router answers its PING.
    rig->used[0] = true;
    rig->used[1] = false;
    fuzz_reader_t reader = { data + 1, data + size };
    fuzz_record_t record;
    size_t messages = 0;
    zmq_msg_t frames[FRAMES_MAX];
    size_t count = 0;
    size_t dealer = 0;
    bool more = fuzz_next (&reader, &record);
    while (more && messages < MESSAGES_MAX) {
        if (count == 0)
            dealer = record.flags & FUZZ_SECOND ? 1 : 0;
        CHECK (zmq_msg_init_size (&frames[count], record.size) == 0);
        if (record.size)
            memcpy (zmq_msg_data (&frames[count]), record.data, record.size);
        count++;
        bool last = !(record.flags & FUZZ_MORE) || count == FRAMES_MAX;
        more = fuzz_next (&reader, &record);
        if (last || !more) {
            rig->used[dealer] = true;
            s_send (rig->dealers[dealer], frames, count);
            for (size_t i = 0; i < count; i++)
                zmq_msg_close (&frames[i]);
            count = 0;
            messages++;
            s_pump (rig);
        }
    }
    for (size_t i = 0; i < count; i++)
        zmq_msg_close (&frames[i]);
    s_settle (rig);
    if (rig->topic_count > TOPICS_MAX) {
        //  A fresh SUB: the old one's subscriptions (topics of sessions
        //  that ended) go with its connection.
        zsys_close (rig->sub, __FILE__, __LINE__);
        rig->sub = s_client (ZMQ_SUB, rig->state.channels[0]);
    }
    else if (rig->topic_count > 0) {
        //  The topics of sessions that ended, off the SUB, and off the
        //  channel's XPUB, which (ZMQ_XPUB_MANUAL) drops a subscription
        //  only when told, for the connection it last read from: the SUB's,
        //  the only one. Both free their entries now, not in a later input.
        for (size_t i = 0; i < rig->topic_count; i++)
            CHECK (zmq_setsockopt (rig->sub, ZMQ_UNSUBSCRIBE, rig->topics[i], PROTO_TOPIC_WIRE) ==
                   0);
        router_core_drain_pub (&rig->state);
        for (size_t i = 0; i < rig->topic_count; i++)
            zmq_setsockopt (rig->state.pub, ZMQ_UNSUBSCRIBE, rig->topics[i], PROTO_TOPIC_WIRE);
    }
    return 0;
}
