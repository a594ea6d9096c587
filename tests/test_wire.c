/*  test_wire.c: wire.c puts prokit messages into frames and takes them out
    again, over real libzmq sockets (inproc): where the body travels (inline
    or alone), both wire versions, a refused send that leaves nothing
    behind, a message prepared once and sent twice, the PUB channel's topic,
    and a receive that keeps only as many frames as it was given room for. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "prokit/error.h"
#include "proto.h"
#include "wire.h"

typedef struct fixture {
    void *context;
    void *router;
    void *dealer;
} fixture_t;

static int
s_setup (void **state)
{
    static int counter;
    fixture_t *f = (fixture_t *) calloc (1, sizeof (*f));
    char endpoint[64];
    snprintf (endpoint, sizeof (endpoint), "inproc://test-wire-%d", ++counter);
    f->context = zmq_ctx_new ();
    f->router = zmq_socket (f->context, ZMQ_ROUTER);
    f->dealer = zmq_socket (f->context, ZMQ_DEALER);
    int on = 1;
    zmq_setsockopt (f->router, ZMQ_ROUTER_MANDATORY, &on, sizeof (on));
    zmq_setsockopt (f->dealer, ZMQ_ROUTING_ID, "D", 1);
    if (zmq_bind (f->router, endpoint) != 0 || zmq_connect (f->dealer, endpoint) != 0)
        return -1;
    *state = f;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    zmq_close (f->dealer);
    zmq_close (f->router);
    zmq_ctx_term (f->context);
    free (f);
    return 0;
}

//  A body holding the msgpack bin of SIZE bytes of PATTERN.
static void
s_body (zmq_msg_t *body, size_t size, uint8_t pattern)
{
    assert_int_equal (zmq_msg_init_size (body, size + 5), 0);
    uint8_t *p = (uint8_t *) zmq_msg_data (body);
    p[0] = 0xc6; //  bin 32
    p[1] = (uint8_t) (size >> 24);
    p[2] = (uint8_t) (size >> 16);
    p[3] = (uint8_t) (size >> 8);
    p[4] = (uint8_t) size;
    memset (p + 5, pattern, size);
}

//  Wait for the next message on SOCKET: wire_recv() never blocks.
static bool
s_recv (void *socket, zmq_msg_t *frames, size_t capacity, size_t *count)
{
    zmq_pollitem_t item = { socket, 0, ZMQ_POLLIN, 0 };
    if (zmq_poll (&item, 1, 5000) != 1)
        return false;
    return wire_recv (socket, frames, capacity, count);
}

static void
s_close_all (zmq_msg_t *frames, size_t count)
{
    for (size_t i = 0; i < count; i++)
        zmq_msg_close (&frames[i]);
}

//  Send a body of SIZE bytes from the DEALER in VERSION; the ROUTER gets
//  it with the DEALER's routing id first, in EXPECT_FRAMES frames after
//  that, and decodes the same command, id, peer and bytes.
static void
s_round_trip (fixture_t *f, int version, size_t size, size_t expect_frames, bool expect_inline)
{
    zmq_msg_t body;
    s_body (&body, size, 0x5a);
    assert_int_equal (wire_send (f->dealer, version, NULL, 0, PROTO_SEND, PROTO_ID_ONE_WAY_BIT | 42,
                                 "target", &body),
                      0);
    zmq_msg_t frames[PROTO_FRAMES_MAX + 2];
    size_t count = 0;
    assert_true (s_recv (f->router, frames, PROTO_FRAMES_MAX + 2, &count));
    assert_int_equal (count, 1 + expect_frames);
    assert_int_equal (zmq_msg_size (&frames[0]), 1); //  the routing id
    assert_memory_equal (zmq_msg_data (&frames[0]), "D", 1);
    proto_frame_t wire[PROTO_FRAMES_MAX];
    wire_view (frames + 1, count - 1, wire);
    proto_msg_t msg;
    assert_int_equal (proto_decode (wire, count - 1, PROTO_TO_ROUTER, SIZE_MAX, &msg), PROKIT_OK);
    assert_int_equal (msg.version, version);
    assert_int_equal (msg.command, PROTO_SEND);
    assert_true (msg.id == (PROTO_ID_ONE_WAY_BIT | 42));
    assert_string_equal (msg.peer, "target");
    assert_int_equal (msg.body_inline, expect_inline);
    assert_int_equal (msg.body_size, size + 5);
    //  Taking the body: a frame of its own, the same bytes.
    const void *alone_data = expect_inline ? NULL : zmq_msg_data (&frames[count - 1]);
    zmq_msg_t taken;
    assert_int_equal (wire_body_take (frames + 1, &msg, &taken), 0);
    assert_int_equal (zmq_msg_size (&taken), size + 5);
    assert_true (msg.body == zmq_msg_data (&taken));
    for (size_t i = 0; i < size; i++)
        if (((const uint8_t *) zmq_msg_data (&taken))[5 + i] != 0x5a)
            fail_msg ("byte %zu differs", i);
    if (size > PROTO_INLINE_MAX) //  moved, not copied (a small frame's bytes move with it)
        assert_true (zmq_msg_data (&taken) == alone_data);
    zmq_msg_close (&taken);
    s_close_all (frames, count);
}

static void
test_a_small_body_travels_inline_in_one_frame (void **state)
{
    s_round_trip ((fixture_t *) *state, PROTO_VERSION_2, 16, 1, true);
}

static void
test_a_body_over_the_inline_limit_travels_alone_and_is_not_copied (void **state)
{
    s_round_trip ((fixture_t *) *state, PROTO_VERSION_2, PROTO_INLINE_MAX + 1, 2, false);
}

static void
test_version_1_sends_header_peer_and_body_as_three_frames (void **state)
{
    s_round_trip ((fixture_t *) *state, PROTO_VERSION_1, 16, 3, false);
}

//  To a routing id nobody has: refused at once, nothing queued (the body
//  is closed all the same: ASan would see a leak).
static void
test_a_refused_send_queues_nothing (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    zmq_msg_t body;
    s_body (&body, 16, 1);
    assert_int_equal (
        wire_send (f->router, PROTO_VERSION_2, "nobody", 6, PROTO_SEND, 1, "x", &body),
        EHOSTUNREACH);
    //  The next message to the dealer arrives whole and first: nothing of
    //  the refused one was left half-sent.
    s_body (&body, 16, 2);
    assert_int_equal (wire_send (f->dealer, PROTO_VERSION_2, NULL, 0, PROTO_PING, 7, "", &body), 0);
    zmq_msg_t frames[4];
    size_t count = 0;
    assert_true (s_recv (f->router, frames, 4, &count));
    zmq_msg_t routing;
    zmq_msg_init (&routing);
    zmq_msg_copy (&routing, &frames[0]);
    s_close_all (frames, count);
    zmq_msg_t reply;
    zmq_msg_init (&reply);
    assert_int_equal (wire_send (f->router, PROTO_VERSION_2, zmq_msg_data (&routing),
                                 zmq_msg_size (&routing), PROTO_PONG, 7, "", &reply),
                      0);
    zmq_msg_close (&routing);
    assert_true (s_recv (f->dealer, frames, 4, &count));
    assert_int_equal (count, 1);
    proto_frame_t wire[PROTO_FRAMES_MAX];
    wire_view (frames, count, wire);
    proto_msg_t msg;
    assert_int_equal (proto_decode (wire, count, PROTO_TO_CLIENT, SIZE_MAX, &msg), PROKIT_OK);
    assert_int_equal (msg.command, PROTO_PONG);
    assert_int_equal (msg.id, 7);
    s_close_all (frames, count);
}

//  Encoded once, sent twice: both copies arrive whole, and the prepared
//  message is unchanged after each send.
static void
test_a_prepared_message_is_sent_twice_alike (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    for (int round = 0; round < 2; round++) {
        size_t size = round == 0 ? 16 : PROTO_INLINE_MAX * 2;
        zmq_msg_t body;
        s_body (&body, size, 3);
        wire_prepared_t prepared;
        assert_int_equal (
            wire_prepare (&prepared, PROTO_VERSION_2, PROTO_BROADCAST, 9, "@main", &body), 0);
        for (int copy = 0; copy < 2; copy++) {
            assert_int_equal (wire_send_prepared (f->dealer, NULL, 0, &prepared), 0);
            zmq_msg_t frames[PROTO_FRAMES_MAX + 2];
            size_t count = 0;
            assert_true (s_recv (f->router, frames, PROTO_FRAMES_MAX + 2, &count));
            proto_frame_t wire[PROTO_FRAMES_MAX];
            wire_view (frames + 1, count - 1, wire);
            proto_msg_t msg;
            assert_int_equal (proto_decode (wire, count - 1, PROTO_TO_CLIENT, SIZE_MAX, &msg),
                              PROKIT_OK);
            assert_int_equal (msg.command, PROTO_BROADCAST);
            assert_string_equal (msg.peer, "@main");
            assert_int_equal (msg.body_size, size + 5);
            s_close_all (frames, count);
        }
        wire_prepared_close (&prepared);
    }
}

//  The channel: the topic prefixes the first frame; a SUB subscribed to
//  it gets the message, one subscribed to another topic does not.
static void
test_a_published_message_carries_its_topic_and_reaches_only_its_subscriber (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    void *pub = zmq_socket (f->context, ZMQ_XPUB);
    void *mine = zmq_socket (f->context, ZMQ_SUB);
    void *other = zmq_socket (f->context, ZMQ_SUB);
    assert_int_equal (zmq_bind (pub, "inproc://test-wire-pub"), 0);
    const uint8_t topic[PROTO_TOPIC_WIRE] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    const uint8_t elsewhere[PROTO_TOPIC_WIRE] = { 1, 2, 3, 4, 5, 6, 7, 9 };
    zmq_setsockopt (mine, ZMQ_SUBSCRIBE, topic, sizeof (topic));
    zmq_setsockopt (other, ZMQ_SUBSCRIBE, elsewhere, sizeof (elsewhere));
    assert_int_equal (zmq_connect (mine, "inproc://test-wire-pub"), 0);
    assert_int_equal (zmq_connect (other, "inproc://test-wire-pub"), 0);
    //  Both subscriptions have arrived once the XPUB has read them.
    for (int seen = 0; seen < 2;) {
        zmq_msg_t note;
        zmq_msg_init (&note);
        zmq_pollitem_t item = { pub, 0, ZMQ_POLLIN, 0 };
        assert_int_equal (zmq_poll (&item, 1, 5000), 1);
        assert_true (zmq_msg_recv (&note, pub, 0) >= 0);
        zmq_msg_close (&note);
        seen++;
    }
    zmq_msg_t body;
    s_body (&body, 16, 4);
    assert_int_equal (wire_publish (pub, topic, PROTO_SEND, 0, NULL, &body), 0);
    zmq_msg_t frames[PROTO_FRAMES_MAX + 1];
    size_t count = 0;
    assert_true (s_recv (mine, frames, PROTO_FRAMES_MAX + 1, &count));
    assert_int_equal (count, 1);
    assert_memory_equal (zmq_msg_data (&frames[0]), topic, PROTO_TOPIC_WIRE);
    proto_frame_t wire[PROTO_FRAMES_MAX];
    wire_view (frames, count, wire);
    wire[0].data = (const uint8_t *) wire[0].data + PROTO_TOPIC_WIRE;
    wire[0].size -= PROTO_TOPIC_WIRE;
    proto_msg_t msg;
    assert_int_equal (proto_decode (wire, count, PROTO_ON_CHANNEL, SIZE_MAX, &msg), PROKIT_OK);
    assert_int_equal (msg.command, PROTO_SEND);
    assert_string_equal (msg.peer, "");
    s_close_all (frames, count);
    assert_false (wire_recv (other, frames, PROTO_FRAMES_MAX + 1, &count));
    zmq_close (other);
    zmq_close (mine);
    zmq_close (pub);
}

//  Room for two frames, four arrive: two kept, the rest read and closed;
//  the next message is read whole. An empty socket says so.
static void
test_a_receive_keeps_only_what_it_has_room_for (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    zmq_msg_t frames[2];
    size_t count = 99;
    assert_false (wire_recv (f->router, frames, 2, &count));
    assert_int_equal (count, 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal (zmq_send (f->dealer, "abcd", 4, i < 3 ? ZMQ_SNDMORE : 0), 4);
    assert_int_equal (zmq_send (f->dealer, "next", 4, 0), 4);
    assert_true (s_recv (f->router, frames, 2, &count));
    assert_int_equal (count, 2); //  the routing id and the first frame
    s_close_all (frames, count);
    assert_true (s_recv (f->router, frames, 2, &count));
    assert_int_equal (count, 2);
    assert_memory_equal (zmq_msg_data (&frames[1]), "next", 4);
    s_close_all (frames, count);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_a_small_body_travels_inline_in_one_frame, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (
            test_a_body_over_the_inline_limit_travels_alone_and_is_not_copied, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_version_1_sends_header_peer_and_body_as_three_frames,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_a_refused_send_queues_nothing, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_a_prepared_message_is_sent_twice_alike, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (
            test_a_published_message_carries_its_topic_and_reaches_only_its_subscriber, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown (test_a_receive_keeps_only_what_it_has_room_for, s_setup,
                                         s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
