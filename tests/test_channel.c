/*  test_channel.c: the PUB channel that carries main's messages to windows
    (docs/PROTOCOL.md, section 12). Each guarantee the channel must keep is
    one test: nobody but the window a message is for receives it (a raw
    SUB subscribing to everything, to a window's name and to the broadcast
    topic gets nothing; "work" never sees "worker"'s), nothing main sends
    once the window has joined is lost, main's messages, broadcasts and
    replies reach a window in the order main sent them, and a window that
    stops reading is slowed down, not dropped: main meets EAGAIN, and every
    message it accepted arrives, in order. A client cannot forge the
    router's report of an undelivered message. */
#define _GNU_SOURCE //  memmem
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <zmq.h>

#include "testutil.h"

typedef struct fixture {
    prokit_main_t *main;
    char endpoint[256];
    char channel[300]; //  the PUB channel beside the endpoint
} fixture_t;

static int
s_setup (void **state)
{
    fixture_t *f = (fixture_t *) calloc (1, sizeof (*f));
    char endpoint[256];
    tu_endpoint ("ipc", endpoint, sizeof (endpoint));
    prokit_main_opts_t opts;
    prokit_main_opts_init (&opts);
    opts.endpoint = endpoint;
    //  Short heartbeats: a window that is not read for many of them must
    //  still be there.
    opts.heartbeat_ivl_ms = 100;
    opts.heartbeat_timeout_ms = 300;
    f->main = prokit_main_new (&opts, NULL);
    if (!f->main)
        return -1;
    snprintf (f->endpoint, sizeof (f->endpoint), "%s", prokit_main_endpoint (f->main));
    snprintf (f->channel, sizeof (f->channel), "%s.pub", f->endpoint);
    *state = f;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    prokit_main_destroy (&f->main);
    free (f);
    return 0;
}

static prokit_window_t *
s_window (fixture_t *f, const char *name)
{
    return tu_window_new (f->endpoint, name);
}

//  --- counting what a window receives ------------------------------------------

//  Every message from main a window received, as text, in order.
#define INBOX_MAX 64
typedef struct inbox {
    int count;
    int broadcasts;
    char texts[INBOX_MAX][32];
} inbox_t;

static void
s_collect (const prokit_message_t *message, void *arg)
{
    inbox_t *inbox = (inbox_t *) arg;
    const char *text = prokit_payload_str (prokit_message_payload (message));
    if (inbox->count < INBOX_MAX)
        snprintf (inbox->texts[inbox->count], sizeof (inbox->texts[0]), "%s", text ? text : "?");
    inbox->count++;
    if (prokit_message_is_broadcast (message))
        inbox->broadcasts++;
}

typedef struct awaited {
    inbox_t *inbox;
    int count;
} awaited_t;

static bool
s_has (void *arg)
{
    awaited_t *a = (awaited_t *) arg;
    return a->inbox->count >= a->count;
}

static void
s_send_text (prokit_main_t *main, const char *window, const char *text)
{
    prokit_payload_t *payload = prokit_payload_new_string (text);
    if (window)
        assert_int_equal (prokit_main_send (main, window, &payload), PROKIT_OK);
    else
        assert_int_equal (prokit_main_broadcast (main, &payload), PROKIT_OK);
}

//  --- nobody else receives a window's messages ------------------------------

typedef struct departures {
    int left;
} departures_t;

static void
s_count_departures (const prokit_presence_t *event, void *arg)
{
    if (event->kind == PROKIT_PRESENCE_LEFT)
        ((departures_t *) arg)->left++;
}

static bool
s_someone_left (void *arg)
{
    return ((departures_t *) arg)->left > 0;
}

static bool
s_main_knows_spy (void *arg)
{
    return prokit_main_has_window ((prokit_main_t *) arg, "spy");
}

static bool
s_garbage_at_least (void *arg)
{
    void **args = (void **) arg;
    prokit_stats_t stats;
    prokit_main_stats ((prokit_main_t *) args[0], &stats, sizeof (stats));
    return stats.garbage >= *(uint64_t *) args[1];
}

//  A raw DEALER joins by hand asking for the channel and learns, as any
//  window does, its secret topic from its WELCOME (16 hex digits), and
//  TOPIC is the 8 bytes they stand for, as messages carry it. With CREDIT,
//  it asks for flow control too (a window of 4000), as windows do.
static void
s_learn_topic (void *dealer, unsigned char topic[8], bool credit)
{
    //  HELLO (version 1 header) {"version": 2, "channel": true}, and
    //  "credit": 4000
    unsigned char header[12] = { 'P', 'K', 1, 1, 0, 0, 0, 0, 0, 0, 0, 9 };
    unsigned char body[] = { 0x83, 0xa7, 'v', 'e', 'r', 's', 'i',  'o',  'n',  0x02,
                             0xa7, 'c',  'h', 'a', 'n', 'n', 'e',  'l',  0xc3, 0xa6,
                             'c',  'r',  'e', 'd', 'i', 't', 0xcd, 0x0f, 0xa0 };
    if (!credit)
        body[0] = 0x82; //  the first two only
    size_t body_size = credit ? sizeof (body) : 19;
    assert_true (zmq_send (dealer, header, sizeof (header), ZMQ_SNDMORE) >= 0);
    assert_true (zmq_send (dealer, "spy", 3, ZMQ_SNDMORE) >= 0);
    assert_true (zmq_send (dealer, body, body_size, 0) >= 0);
    unsigned char welcome[1024];
    int size = zmq_recv (dealer, welcome, sizeof (welcome), 0);
    assert_true (size > 4);
    assert_int_equal (welcome[3], 2); //  WELCOME
    const unsigned char *at =
        (const unsigned char *) memmem (welcome, (size_t) size, "\xa5topic\xb0", 7);
    assert_non_null (at);
    for (int i = 0; i < 8; i++) {
        unsigned int byte = 0;
        assert_int_equal (sscanf ((const char *) at + 7 + 2 * i, "%2x", &byte), 1);
        topic[i] = (unsigned char) byte;
    }
}

//  "spy", a window joined by hand over raw sockets: its DEALER, and a SUB
//  of its own on its secret TOPIC, which has had the channel's WELCOME.
typedef struct raw_window {
    void *context;
    void *dealer;
    void *own;
    unsigned char topic[8];
} raw_window_t;

static void
s_raw_window_join_with (raw_window_t *self, fixture_t *f, bool credit)
{
    self->context = zmq_ctx_new ();
    self->dealer = zmq_socket (self->context, ZMQ_DEALER);
    self->own = zmq_socket (self->context, ZMQ_SUB);
    int linger = 0, timeout = 5000;
    zmq_setsockopt (self->dealer, ZMQ_LINGER, &linger, sizeof (linger));
    zmq_setsockopt (self->dealer, ZMQ_RCVTIMEO, &timeout, sizeof (timeout));
    zmq_setsockopt (self->own, ZMQ_LINGER, &linger, sizeof (linger));
    zmq_setsockopt (self->own, ZMQ_RCVTIMEO, &timeout, sizeof (timeout));
    assert_int_equal (zmq_connect (self->dealer, f->endpoint), 0);
    //  Main is not in its loop: the router's own thread answers.
    s_learn_topic (self->dealer, self->topic, credit);
    zmq_setsockopt (self->own, ZMQ_SUBSCRIBE, self->topic, 8);
    assert_int_equal (zmq_connect (self->own, f->channel), 0);
    char welcome[256];
    assert_true (zmq_recv (self->own, welcome, sizeof (welcome), 0) > 8); //  joined
    assert_memory_equal (welcome, self->topic, 8);
}

//  A raw DEALER in CONTEXT that joins F's main as NAME with HELLO BODY
//  (version 1 header, id 1), its WELCOME and whatever followed it read.
static void *
s_raw_join (void *context, fixture_t *f, const char *name, const char *body, size_t body_size)
{
    void *dealer = zmq_socket (context, ZMQ_DEALER);
    int linger = 0, timeout = 5000;
    zmq_setsockopt (dealer, ZMQ_LINGER, &linger, sizeof (linger));
    zmq_setsockopt (dealer, ZMQ_RCVTIMEO, &timeout, sizeof (timeout));
    assert_int_equal (zmq_connect (dealer, f->endpoint), 0);
    unsigned char header[12] = { 'P', 'K', 1, 1, 0, 0, 0, 0, 0, 0, 0, 1 };
    zmq_send (dealer, header, 12, ZMQ_SNDMORE);
    zmq_send (dealer, name, strlen (name), ZMQ_SNDMORE);
    zmq_send (dealer, body, body_size, 0);
    unsigned char answer[2048];
    assert_true (zmq_recv (dealer, answer, sizeof (answer), 0) == 12);
    assert_int_equal (answer[3], 2); //  WELCOME
    while (zmq_recv (dealer, answer, sizeof (answer), ZMQ_DONTWAIT) >= 0) {
    }
    return dealer;
}

static void
s_raw_window_join (raw_window_t *self, fixture_t *f)
{
    s_raw_window_join_with (self, f, false);
}

static void
s_raw_window_close (raw_window_t *self)
{
    if (self->own)
        zmq_close (self->own);
    zmq_close (self->dealer);
    zmq_ctx_term (self->context);
}

//  Messages waiting on a raw SUB, read without waiting.
static int
s_drain_count (void *sub)
{
    int count = 0;
    char buffer[256];
    while (zmq_recv (sub, buffer, sizeof (buffer), ZMQ_DONTWAIT) >= 0)
        count++;
    return count;
}

static void
test_raw_sub_eavesdropping_gets_nothing (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    prokit_window_t *work = s_window (f, "work");
    assert_non_null (work);
    inbox_t inbox = { 0, 0, { { 0 } } };
    prokit_window_on_main_message (work, s_collect, &inbox);

    //  "spy" joins by hand, with a SUB of its own on its secret topic.
    raw_window_t spy;
    s_raw_window_join (&spy, f);
    void *own = spy.own;
    const unsigned char *topic = spy.topic;
    void *eavesdropper = zmq_socket (spy.context, ZMQ_SUB);
    int linger = 0;
    zmq_setsockopt (eavesdropper, ZMQ_LINGER, &linger, sizeof (linger));
    char welcome[256];

    //  Another SUB subscribes to everything first; once the router has seen
    //  (and ignored) that, to the name "work" and to spy's topic a second
    //  time, which reach it in that order on the same connection.
    tu_handle_t main_only[] = { { f->main, NULL } };
    prokit_stats_t stats;
    prokit_main_stats (f->main, &stats, sizeof (stats));
    uint64_t garbage = stats.garbage + 1;
    void *args[] = { f->main, &garbage };
    assert_int_equal (zmq_connect (eavesdropper, f->channel), 0);
    zmq_setsockopt (eavesdropper, ZMQ_SUBSCRIBE, "", 0);
    assert_true (tu_pump (main_only, 1, s_garbage_at_least, args, 5000));
    zmq_setsockopt (eavesdropper, ZMQ_SUBSCRIBE, "work", 4);
    zmq_setsockopt (eavesdropper, ZMQ_SUBSCRIBE, topic, 8);
    garbage += 2;
    assert_true (tu_pump (main_only, 1, s_garbage_at_least, args, 5000));

    for (int i = 0; i < 10; i++) {
        s_send_text (f->main, "work", "for work");
        s_send_text (f->main, "spy", "for spy");
        s_send_text (f->main, NULL, "for all");
    }
    tu_handle_t both[] = { { f->main, NULL }, { NULL, work } };
    awaited_t all = { &inbox, 20 };
    assert_true (tu_pump (both, 2, s_has, &all, 5000));
    assert_int_equal (inbox.broadcasts, 10);
    int spied = 0;
    while (spied < 20 && zmq_recv (own, welcome, sizeof (welcome), 0) > 0)
        spied++;
    assert_int_equal (spied, 20);
    //  Everything has reached both windows, over the same channel: nothing
    //  is on its way to the eavesdropper either.
    zmq_pollitem_t item = { eavesdropper, 0, ZMQ_POLLIN, 0 };
    assert_int_equal (zmq_poll (&item, 1, 300), 0);
    assert_int_equal (s_drain_count (eavesdropper), 0);
    assert_int_equal (s_drain_count (own), 0);

    zmq_close (eavesdropper);
    s_raw_window_close (&spy);
    prokit_window_destroy (&work);
}

//  A window's channel connection that ends while its DEALER lives on ends
//  its session: it is told (BYE) and main hears it left.
static void
test_a_window_whose_channel_connection_ends_is_told_and_leaves (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    raw_window_t spy;
    s_raw_window_join (&spy, f);
    char buffer[256];
    tu_handle_t main_only[] = { { f->main, NULL } };
    assert_true (tu_pump (main_only, 1, s_main_knows_spy, f->main, 5000));
    departures_t departures = { 0 };
    prokit_main_on_presence (f->main, s_count_departures, &departures);

    zmq_close (spy.own);
    spy.own = NULL;
    //  Its DEALER hears BYE (a version 2 one-frame message, command 3)
    //  saying it may join again at once.
    int size = zmq_recv (spy.dealer, buffer, sizeof (buffer), 0);
    assert_true (size >= 4);
    assert_int_equal (buffer[3], 3);
    assert_non_null (memmem (buffer, (size_t) size, "\xa6rejoin\xc3", 8));
    assert_true (tu_pump (main_only, 1, s_someone_left, &departures, 5000));
    assert_false (prokit_main_has_window (f->main, "spy"));
    prokit_main_on_presence (f->main, NULL, NULL);
    s_raw_window_close (&spy);
}

static void
test_work_and_worker_never_see_each_others_messages (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    prokit_window_t *work = s_window (f, "work");
    prokit_window_t *worker = s_window (f, "worker");
    assert_non_null (work);
    assert_non_null (worker);
    inbox_t to_work = { 0, 0, { { 0 } } }, to_worker = { 0, 0, { { 0 } } };
    prokit_window_on_main_message (work, s_collect, &to_work);
    prokit_window_on_main_message (worker, s_collect, &to_worker);
    for (int i = 0; i < 5; i++)
        s_send_text (f->main, "work", "work");
    for (int i = 0; i < 7; i++)
        s_send_text (f->main, "worker", "worker");
    for (int i = 0; i < 3; i++)
        s_send_text (f->main, NULL, "all");
    //  A last message to each: anything leaked would have come before it.
    s_send_text (f->main, "work", "end");
    s_send_text (f->main, "worker", "end");
    tu_handle_t handles[] = { { f->main, NULL }, { NULL, work }, { NULL, worker } };
    awaited_t a = { &to_work, 9 }, b = { &to_worker, 11 };
    assert_true (tu_pump (handles, 3, s_has, &a, 5000));
    assert_true (tu_pump (handles, 3, s_has, &b, 5000));
    assert_int_equal (to_work.count, 9);
    assert_int_equal (to_worker.count, 11);
    int work_seen = 0, worker_seen = 0;
    for (int i = 0; i < to_work.count; i++) {
        assert_string_not_equal (to_work.texts[i], "worker");
        work_seen += strcmp (to_work.texts[i], "work") == 0;
    }
    for (int i = 0; i < to_worker.count; i++) {
        assert_string_not_equal (to_worker.texts[i], "work");
        worker_seen += strcmp (to_worker.texts[i], "worker") == 0;
    }
    assert_int_equal (work_seen, 5);
    assert_int_equal (worker_seen, 7);
    assert_int_equal (to_work.broadcasts, 3);
    assert_int_equal (to_worker.broadcasts, 3);
    assert_string_equal (to_work.texts[8], "end");
    assert_string_equal (to_worker.texts[10], "end");
    prokit_window_destroy (&work);
    prokit_window_destroy (&worker);
}

//  --- a join is complete: nothing main sends after it is lost ------------------

typedef struct greeter {
    prokit_main_t *main;
    int greeted;
} greeter_t;

//  Main greets each window the moment it hears it joined, and broadcasts.
static void
s_greet (const prokit_presence_t *event, void *arg)
{
    greeter_t *greeter = (greeter_t *) arg;
    if (event->kind != PROKIT_PRESENCE_JOINED)
        return;
    s_send_text (greeter->main, event->window, "hello");
    s_send_text (greeter->main, NULL, "everyone");
    greeter->greeted++;
}

static void
test_a_window_gets_what_main_sends_the_moment_it_joined (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    greeter_t greeter = { f->main, 0 };
    prokit_main_on_presence (f->main, s_greet, &greeter);
    for (int round = 0; round < 20; round++) {
        prokit_window_t *window = s_window (f, "late");
        assert_non_null (window);
        inbox_t inbox = { 0, 0, { { 0 } } };
        prokit_window_on_main_message (window, s_collect, &inbox);
        tu_handle_t handles[] = { { f->main, NULL }, { NULL, window } };
        awaited_t both = { &inbox, 2 };
        assert_true (tu_pump (handles, 2, s_has, &both, 5000));
        assert_string_equal (inbox.texts[0], "hello");
        assert_string_equal (inbox.texts[1], "everyone");
        prokit_window_destroy (&window);
    }
    assert_int_equal (greeter.greeted, 20);
    prokit_main_on_presence (f->main, NULL, NULL);
}

//  --- one order for everything main sends a window -----------------------------

#define ROUNDS 50

//  For request N, main sends "m N", broadcasts "b N", then replies "r N".
static prokit_payload_t *
s_answer_in_three (prokit_request_t *request, void *arg)
{
    prokit_main_t *main = (prokit_main_t *) arg;
    const char *text = prokit_payload_str (prokit_request_payload (request));
    int n = text ? atoi (text) : -1;
    char buffer[32];
    snprintf (buffer, sizeof (buffer), "m %d", n);
    s_send_text (main, prokit_request_sender (request), buffer);
    snprintf (buffer, sizeof (buffer), "b %d", n);
    s_send_text (main, NULL, buffer);
    return prokit_payload_new_printf ("r %d", n);
}

typedef struct sequence {
    char seen[3 * ROUNDS][16];
    int count;
} sequence_t;

static void
s_note_message (const prokit_message_t *message, void *arg)
{
    sequence_t *seq = (sequence_t *) arg;
    const char *text = prokit_payload_str (prokit_message_payload (message));
    if (seq->count < 3 * ROUNDS)
        snprintf (seq->seen[seq->count++], sizeof (seq->seen[0]), "%s", text ? text : "?");
}

static void
s_note_reply (prokit_reply_t *reply, void *arg)
{
    sequence_t *seq = (sequence_t *) arg;
    const char *text = prokit_reply_status (reply) == PROKIT_OK ? prokit_reply_str (reply) : NULL;
    if (seq->count < 3 * ROUNDS)
        snprintf (seq->seen[seq->count++], sizeof (seq->seen[0]), "%s", text ? text : "failed");
}

static bool
s_sequence_done (void *arg)
{
    return ((sequence_t *) arg)->count >= 3 * ROUNDS;
}

static void
test_messages_broadcasts_and_replies_from_main_keep_their_order (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    prokit_main_on_request (f->main, s_answer_in_three, f->main);
    prokit_window_t *window = s_window (f, "orderly");
    assert_non_null (window);
    sequence_t seq;
    memset (&seq, 0, sizeof (seq));
    prokit_window_on_main_message (window, s_note_message, &seq);
    //  All the requests at once: main answers them as they come.
    for (int n = 0; n < ROUNDS; n++) {
        prokit_payload_t *payload = prokit_payload_new_printf ("%d", n);
        assert_int_equal (prokit_window_request (window, NULL, &payload, 5000, s_note_reply, &seq),
                          PROKIT_OK);
    }
    tu_handle_t handles[] = { { f->main, NULL }, { NULL, window } };
    assert_true (tu_pump (handles, 2, s_sequence_done, &seq, 10000));
    for (int n = 0; n < ROUNDS; n++) {
        char expected[16];
        snprintf (expected, sizeof (expected), "m %d", n);
        assert_string_equal (seq.seen[3 * n], expected);
        snprintf (expected, sizeof (expected), "b %d", n);
        assert_string_equal (seq.seen[3 * n + 1], expected);
        snprintf (expected, sizeof (expected), "r %d", n);
        assert_string_equal (seq.seen[3 * n + 2], expected);
    }
    prokit_window_destroy (&window);
    prokit_main_on_request (f->main, NULL, NULL);
}

//  --- slow is not dead -------------------------------------------------------------

typedef struct flood {
    long received;
    long next; //  the sequence number expected next
    bool out_of_order;
    bool broadcasts_seen;
} flood_t;

static void
s_count_in_order (const prokit_message_t *message, void *arg)
{
    flood_t *flood = (flood_t *) arg;
    const char *text = prokit_payload_str (prokit_message_payload (message));
    long n = text ? atol (text) : -1;
    if (n != flood->next)
        flood->out_of_order = true;
    flood->next = n + 1;
    flood->received++;
    if (prokit_message_is_broadcast (message))
        flood->broadcasts_seen = true;
}

typedef struct flood_check {
    flood_t *flood;
    long expected;
} flood_check_t;

static bool
s_flood_done (void *arg)
{
    flood_check_t *check = (flood_check_t *) arg;
    return check->flood->received >= check->expected;
}

static bool
s_never (void *arg)
{
    (void) arg;
    return false;
}

//  Main, or window FROM, sends number N to WINDOW until it is accepted
//  (EAGAIN: its window of unconfirmed messages is still full, or FROM was
//  told to hold back). A refused payload is still the sender's: it sends
//  the same one again.
typedef struct resend {
    prokit_main_t *main;
    const char *window;
    long n;
    bool accepted;
    prokit_payload_t *payload; //  the one refused, if any
    prokit_window_t *from;     //  NULL: main sends
} resend_t;

static bool
s_resend_until_accepted (void *arg)
{
    resend_t *resend = (resend_t *) arg;
    if (!resend->accepted) {
        if (!resend->payload)
            resend->payload = prokit_payload_new_printf ("%ld", resend->n);
        int rc = resend->from ? prokit_window_send (resend->from, resend->window, &resend->payload)
                              : prokit_main_send (resend->main, resend->window, &resend->payload);
        assert_true (rc == PROKIT_OK || rc == PROKIT_EAGAIN);
        resend->accepted = rc == PROKIT_OK;
    }
    return resend->accepted;
}

static void
test_a_window_that_stops_reading_is_slowed_not_dropped (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    departures_t departures = { 0 };
    prokit_main_on_presence (f->main, s_count_departures, &departures);
    prokit_window_t *window = s_window (f, "slow");
    assert_non_null (window);
    flood_t flood = { 0, 0, false, false };
    prokit_window_on_main_message (window, s_count_in_order, &flood);
    tu_connection_log_t log = { 0, 0, 0, 0 };
    prokit_window_on_connection (window, tu_log_connection, &log);

    //  The window reads nothing while main sends to it by name and to
    //  everyone, numbered in one sequence, until its queues are full and
    //  main has been refused a hundred times.
    long accepted = 0, refused = 0;
    prokit_payload_t *payload = NULL; //  refused: still main's, sent again
    for (long i = 0; i < 1000000 && refused < 100; i++) {
        if (!payload)
            payload = prokit_payload_new_printf ("%ld", accepted);
        int rc = i % 2 ? prokit_main_broadcast (f->main, &payload)
                       : prokit_main_send (f->main, "slow", &payload);
        if (rc == PROKIT_OK)
            accepted++;
        else {
            assert_int_equal (rc, PROKIT_EAGAIN);
            refused++;
        }
    }
    prokit_payload_destroy (&payload);
    assert_true (refused == 100);
    assert_true (accepted > 1000);
    //  Thirty heartbeat timeouts pass with main's loop running and the
    //  window still reading nothing: it stays joined.
    tu_handle_t main_only[] = { { f->main, NULL } };
    assert_false (tu_pump (main_only, 1, s_never, NULL, 9000));
    assert_int_equal (departures.left, 0);
    prokit_window_info_t info;
    assert_int_equal (prokit_main_get_window (f->main, "slow", &info, sizeof (info)), PROKIT_OK);
    assert_true (info.joined);

    //  It reads again: every message main accepted arrives, in order, and
    //  nothing more (counted: accepted = received, none undelivered).
    flood_check_t check = { &flood, accepted };
    tu_handle_t handles[] = { { f->main, NULL }, { NULL, window } };
    assert_true (tu_pump (handles, 2, s_flood_done, &check, 30000));
    assert_int_equal (flood.received, accepted);
    assert_false (flood.out_of_order);
    assert_true (flood.broadcasts_seen);
    assert_int_equal (log.lost, 0);
    assert_int_equal (departures.left, 0);
    //  And main reaches it as before, once the router has heard that it
    //  took everything in (until then, its window is full: EAGAIN).
    resend_t resend = { f->main, "slow", accepted, false, NULL, NULL };
    assert_true (tu_pump (handles, 2, s_resend_until_accepted, &resend, 5000));
    assert_null (resend.payload);
    check.expected = accepted + 1;
    assert_true (tu_pump (handles, 2, s_flood_done, &check, 5000));
    assert_false (flood.out_of_order);
    prokit_window_destroy (&window);
    prokit_main_on_presence (f->main, NULL, NULL);
}

//  Main's small messages to a window that is behind travel several to a
//  BATCH (PROTO_BATCH), its large ones alone: everything still arrives
//  once, in the order main sent it, whichever way it went. A lone message
//  to a window that is not behind goes out alone, at once.
static void
test_a_window_behind_gets_small_messages_batched_large_ones_alone_in_order (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    prokit_window_t *window = s_window (f, "behind");
    assert_non_null (window);
    flood_t flood = { 0, 0, false, false };
    prokit_window_on_main_message (window, s_count_in_order, &flood);
    unsigned long long batches_before = tu_main_stats (f->main).batches;

    //  The window reads nothing while main sends it 3000 numbered
    //  messages, by name and to everyone; every 100th is 2000 bytes long,
    //  too large for a BATCH. Main does not dispatch: whatever waits in a
    //  BATCH goes out by the router's thread, or when full.
    long accepted = 0;
    prokit_payload_t *payload = NULL;
    while (accepted < 3000) {
        if (!payload)
            payload = accepted % 100 == 99
                          ? prokit_payload_new_printf ("%ld%*s", accepted, 2000, "")
                          : prokit_payload_new_printf ("%ld", accepted);
        int rc = accepted % 3 == 1 ? prokit_main_broadcast (f->main, &payload)
                                   : prokit_main_send (f->main, "behind", &payload);
        if (rc == PROKIT_EAGAIN) {
            //  Its window of unconfirmed messages is full: let it read.
            tu_handle_t handles[] = { { f->main, NULL }, { NULL, window } };
            flood_check_t some = { &flood, flood.received + 1 };
            assert_true (tu_pump (handles, 2, s_flood_done, &some, 5000));
            continue;
        }
        assert_int_equal (rc, PROKIT_OK);
        accepted++;
    }
    flood_check_t check = { &flood, accepted };
    tu_handle_t handles[] = { { f->main, NULL }, { NULL, window } };
    assert_true (tu_pump (handles, 2, s_flood_done, &check, 10000));
    assert_int_equal (flood.received, accepted);
    assert_false (flood.out_of_order);
    assert_true (flood.broadcasts_seen);
    //  At 16 bytes apiece, 3000 messages would have taken 3000 publishes;
    //  most went in BATCHes of many.
    unsigned long long batches = tu_main_stats (f->main).batches - batches_before;
    assert_true (batches > 0);
    assert_true (batches < 1000);

    //  A window nothing was sent to: one message goes out alone.
    prokit_window_t *fresh = s_window (f, "fresh");
    assert_non_null (fresh);
    flood_t one = { 0, 0, false, false };
    prokit_window_on_main_message (fresh, s_count_in_order, &one);
    batches_before = tu_main_stats (f->main).batches;
    s_send_text (f->main, "fresh", "0");
    flood_check_t got_one = { &one, 1 };
    tu_handle_t both[] = { { f->main, NULL }, { NULL, fresh } };
    assert_true (tu_pump (both, 2, s_flood_done, &got_one, 5000));
    assert_int_equal (tu_main_stats (f->main).batches, batches_before);
    prokit_window_destroy (&fresh);
    prokit_window_destroy (&window);
}

//  A window that reads on a thread of its own.
typedef struct reader {
    prokit_window_t *window;
    pthread_t thread;
} reader_t;

static void *
s_reader_thread (void *arg)
{
    reader_t *reader = (reader_t *) arg;
    prokit_window_run (reader->window, -1);
    return NULL;
}

//  Main sends flat out to a window that reads; refused (EAGAIN), it waits
//  on its descriptor, which turns readable once the window has taken
//  enough in to make room: every wait ends well before its deadline, and
//  every message gets through, in order. The window starts reading only
//  once main has been refused, so that main waits at least once. A
//  refused payload is still main's: it sends the same one again.
static void
test_after_eagain_main_s_descriptor_says_when_to_try_again (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    reader_t reader = { s_window (f, "reader"), 0 };
    assert_non_null (reader.window);
    flood_t flood = { 0, 0, false, false };
    prokit_window_on_main_message (reader.window, s_count_in_order, &flood);

    const long total = 100000;
    long refused = 0;
    bool reading = false;
    prokit_payload_t *payload = NULL;
    for (long n = 0; n < total;) {
        if (!payload)
            payload = prokit_payload_new_printf ("%ld", n);
        int rc = prokit_main_send (f->main, "reader", &payload);
        if (rc == PROKIT_OK) {
            assert_null (payload);
            n++;
            continue;
        }
        assert_int_equal (rc, PROKIT_EAGAIN);
        assert_non_null (payload); //  still ours, unchanged
        refused++;
        if (!reading) {
            assert_int_equal (pthread_create (&reader.thread, NULL, s_reader_thread, &reader), 0);
            reading = true;
        }
        struct pollfd item = { prokit_main_fd (f->main), POLLIN, 0 };
        assert_int_equal (poll (&item, 1, 10000), 1); //  not the deadline
        prokit_main_dispatch (f->main);
    }
    assert_true (refused > 0); //  main outran the window, and caught up each time
    prokit_window_stop (reader.window);
    pthread_join (reader.thread, NULL);
    //  What the thread had not handled yet is still on its way.
    flood_check_t check = { &flood, total };
    tu_handle_t handles[] = { { f->main, NULL }, { NULL, reader.window } };
    assert_true (tu_pump (handles, 2, s_flood_done, &check, 30000));
    assert_int_equal (flood.received, total);
    assert_false (flood.out_of_order);
    prokit_window_destroy (&reader.window);
}

//  Another window floods the slow one: the router holds back (the slow
//  window's credit is used up, its queue never fills, its heartbeats go
//  on), reports to the sender what it refused, and tells it to hold its
//  messages to the slow one (FLOW): from then on the sender's sends fail
//  at once with PROKIT_EAGAIN, nothing sent, until the slow one has room.
static bool
s_some_not_found (void *arg)
{
    return ((tu_undelivered_t *) arg)->notfound > 0;
}

typedef struct w2w_check {
    flood_t *flood;
    tu_undelivered_t *log;
    long accepted;
} w2w_check_t;

static bool
s_w2w_settled (void *arg)
{
    w2w_check_t *check = (w2w_check_t *) arg;
    return check->flood->received + check->log->undelivered >= check->accepted;
}

static void
s_count_window_message (const prokit_message_t *message, void *arg)
{
    flood_t *flood = (flood_t *) arg;
    const char *text = prokit_payload_str (prokit_message_payload (message));
    long n = text ? atol (text) : -1;
    //  Numbers may be skipped (undelivered, and reported), never reordered.
    if (n < flood->next)
        flood->out_of_order = true;
    flood->next = n + 1;
    flood->received++;
}

static void
test_a_window_flooded_by_another_is_slowed_not_dropped (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    departures_t departures = { 0 };
    prokit_main_on_presence (f->main, s_count_departures, &departures);
    prokit_window_t *slow = s_window (f, "slow");
    prokit_window_t *fast = s_window (f, "fast");
    assert_non_null (slow);
    assert_non_null (fast);
    flood_t flood = { 0, 0, false, false };
    prokit_window_on_window_message (slow, s_count_window_message, &flood);
    tu_connection_log_t log = { 0, 0, 0, 0 };
    prokit_window_on_connection (slow, tu_log_connection, &log);
    tu_undelivered_t sent = { 0, 0, 0 };
    prokit_window_on_undelivered (fast, tu_log_undelivered, &sent);

    //  "fast" sends 200000 numbered messages while "slow" reads nothing;
    //  "fast" keeps dispatching (its reports), main routes.
    tu_handle_t senders[] = { { f->main, NULL }, { NULL, fast } };
    long accepted = 0, refused_here = 0;
    for (long i = 0; i < 200000; i++) {
        prokit_payload_t *payload = prokit_payload_new_printf ("%ld", i);
        int rc = prokit_window_send (fast, "slow", &payload);
        if (rc == PROKIT_OK)
            accepted++;
        else {
            assert_int_equal (rc, PROKIT_EAGAIN); //  its own queue to the router
            refused_here++;
            prokit_payload_destroy (&payload); //  still ours: this number is skipped
        }
        if (i % 1000 == 999) {
            prokit_main_dispatch (f->main);
            prokit_window_dispatch (fast);
        }
    }
    //  Thirty heartbeat timeouts with the flood over and "slow" asleep.
    assert_false (tu_pump (senders, 2, s_never, NULL, 9000));
    assert_int_equal (departures.left, 0);
    prokit_window_info_t info;
    assert_int_equal (prokit_main_get_window (f->main, "slow", &info, sizeof (info)), PROKIT_OK);
    assert_true (info.joined);
    assert_true (sent.eagain > 0);

    //  It reads again. Counted: every message "fast" had accepted either
    //  arrived, in order, or was reported to "fast" as undelivered.
    w2w_check_t check = { &flood, &sent, accepted };
    tu_handle_t all[] = { { f->main, NULL }, { NULL, fast }, { NULL, slow } };
    assert_true (tu_pump (all, 3, s_w2w_settled, &check, 30000));
    print_message ("window -> slow window: %ld accepted = %ld received + %ld reported "
                   "undelivered (%ld refused at the send)\n",
                   accepted, flood.received, sent.undelivered, refused_here);
    assert_int_equal (flood.received + sent.undelivered, accepted);
    assert_int_equal (sent.undelivered, sent.eagain);
    assert_false (flood.out_of_order);
    //  Held back at the send: what was refused and reported is only what
    //  "fast" sent before it read the hold (it dispatches every 1000
    //  sends, and had up to its queue's 10000 on their way). Without the
    //  hold, all 196000 past the slow one's credit were refused and reported.
    assert_true (refused_here > 150000);
    assert_true (sent.undelivered < 20000);

    //  It has room again: the hold is lifted, and the next ones arrive.
    long before = flood.received;
    for (long n = 200000; n < 200100; n++) {
        resend_t resend = { NULL, "slow", n, false, NULL, fast };
        assert_true (tu_pump (all, 3, s_resend_until_accepted, &resend, 10000));
        accepted++;
    }
    check.accepted = accepted;
    assert_true (tu_pump (all, 3, s_w2w_settled, &check, 10000));
    assert_int_equal (flood.received, before + 100);
    assert_int_equal (flood.received + sent.undelivered, accepted);
    assert_false (flood.out_of_order);
    assert_int_equal (log.lost, 0);
    assert_int_equal (departures.left, 0);
    prokit_window_destroy (&fast);
    prokit_window_destroy (&slow);
    prokit_main_on_presence (f->main, NULL, NULL);
}

//  A sender held back from a window (FLOW) is let go when that window
//  leaves: its next send is accepted, and reported as to a window that
//  is not there. Meanwhile it is held back from that window alone.
static void
test_a_sender_held_back_is_let_go_when_the_window_leaves (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    prokit_window_t *slow = s_window (f, "slow");
    prokit_window_t *fast = s_window (f, "fast");
    prokit_window_t *other = s_window (f, "other");
    assert_non_null (slow);
    assert_non_null (fast);
    assert_non_null (other);
    tu_undelivered_t sent = { 0, 0, 0 };
    prokit_window_on_undelivered (fast, tu_log_undelivered, &sent);
    tu_handle_t senders[] = { { f->main, NULL }, { NULL, fast }, { NULL, other } };
    //  Past the slow one's credit (4000): refused, reported, held. Waited
    //  for until every one accepted is in the slow one's queue or reported
    //  (all but its credit), so that none is still on its way when it leaves.
    long accepted = 0;
    for (long i = 0; i < 5000; i++) {
        prokit_payload_t *payload = prokit_payload_new_printf ("%ld", i);
        if (prokit_window_send (fast, "slow", &payload) == PROKIT_OK)
            accepted++;
        else
            prokit_payload_destroy (&payload);
        if (i % 500 == 499)
            tu_pump (senders, 3, s_never, NULL, 0);
    }
    flood_t none = { 0, 0, false, false };
    w2w_check_t all_in = { &none, &sent, accepted - 4000 };
    assert_true (tu_pump (senders, 3, s_w2w_settled, &all_in, 10000));
    assert_true (sent.eagain > 0);
    prokit_payload_t *payload = prokit_payload_new_string ("held");
    assert_int_equal (prokit_window_send (fast, "slow", &payload), PROKIT_EAGAIN);
    assert_non_null (payload); //  nothing sent: still ours
    prokit_payload_destroy (&payload);
    prokit_reply_t *reply = NULL;
    payload = prokit_payload_new_string ("held too");
    assert_int_equal (prokit_window_request_wait (fast, "slow", &payload, 1000, &reply),
                      PROKIT_EAGAIN);
    prokit_reply_destroy (&reply);
    prokit_payload_destroy (&payload);
    payload = prokit_payload_new_string ("not held");
    assert_int_equal (prokit_window_send (fast, "other", &payload), PROKIT_OK);
    assert_int_equal (sent.notfound, 0);

    //  It leaves: the hold is lifted, and the next send goes to the router,
    //  which has no "slow" any more.
    prokit_window_destroy (&slow);
    resend_t resend = { NULL, "slow", 1, false, NULL, fast };
    assert_true (tu_pump (senders, 3, s_resend_until_accepted, &resend, 10000));
    assert_true (tu_pump (senders, 3, s_some_not_found, &sent, 10000));
    assert_int_equal (sent.notfound, 1);
    prokit_window_destroy (&other);
    prokit_window_destroy (&fast);
}

//  A window that leaves, or that main closes, with messages from main not
//  yet taken in: main is told exactly how many (its BYE says what it took).
typedef struct leave_check {
    flood_t *flood;
    tu_undelivered_t *reports;
    long accepted;
} leave_check_t;

static bool
s_leave_settled (void *arg)
{
    leave_check_t *check = (leave_check_t *) arg;
    return check->flood->received + check->reports->undelivered >= check->accepted;
}

static bool
s_main_knows_leaving (void *arg)
{
    return prokit_main_has_window ((prokit_main_t *) arg, "leaving");
}

static void
s_leave_with_messages_unread (fixture_t *f, bool closed_by_main)
{
    tu_undelivered_t reports = { 0, 0, 0 };
    prokit_main_on_undelivered (f->main, tu_log_undelivered, &reports);
    prokit_window_t *window = s_window (f, "leaving");
    assert_non_null (window);
    flood_t flood = { 0, 0, false, false };
    prokit_window_on_main_message (window, s_count_in_order, &flood);
    long accepted = 0;
    //  By name and to everyone, in one numbered sequence.
    for (long i = 0; i < 3000; i++) {
        prokit_payload_t *payload = prokit_payload_new_printf ("%ld", i);
        assert_int_equal (i % 3 ? prokit_main_send (f->main, "leaving", &payload)
                                : prokit_main_broadcast (f->main, &payload),
                          PROKIT_OK);
        accepted++;
    }
    if (closed_by_main) {
        tu_handle_t main_only[] = { { f->main, NULL } };
        assert_true (tu_pump (main_only, 1, s_main_knows_leaving, f->main, 5000));
        assert_int_equal (prokit_main_destroy_window (f->main, "leaving", 1000), PROKIT_OK);
    }
    //  It takes in some of it, then goes.
    flood_check_t some = { &flood, 1000 };
    tu_handle_t both[] = { { f->main, NULL }, { NULL, window } };
    assert_true (tu_pump (both, 2, s_flood_done, &some, 5000));
    prokit_window_destroy (&window);
    leave_check_t check = { &flood, &reports, accepted };
    tu_handle_t main_only[] = { { f->main, NULL } };
    assert_true (tu_pump (main_only, 1, s_leave_settled, &check, 5000));
    print_message ("main -> window %s: %ld accepted = %ld received + %ld reported\n",
                   closed_by_main ? "closed by main" : "that left", accepted, flood.received,
                   reports.undelivered);
    assert_int_equal (flood.received + reports.undelivered, accepted);
    assert_true (reports.undelivered > 0);
    assert_false (flood.out_of_order);
    prokit_main_on_undelivered (f->main, NULL, NULL);
}

static void
test_a_window_leaving_with_messages_unread_they_are_reported (void **state)
{
    s_leave_with_messages_unread ((fixture_t *) *state, false);
}

static void
test_a_window_closed_with_messages_unread_they_are_reported (void **state)
{
    s_leave_with_messages_unread ((fixture_t *) *state, true);
}

//  --- only the router reports undelivered messages ---------------------------------

typedef struct reports {
    int undelivered;
} reports_t;

static void
s_count_undelivered (const char *target, int code, const char *text, void *arg)
{
    (void) target;
    (void) code;
    (void) text;
    ((reports_t *) arg)->undelivered++;
}

static void
test_a_forged_undelivered_report_is_refused (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    prokit_window_t *victim = s_window (f, "victim");
    assert_non_null (victim);
    reports_t reports = { 0 };
    prokit_window_on_undelivered (victim, s_count_undelivered, &reports);
    inbox_t inbox = { 0, 0, { { 0 } } };
    prokit_window_on_window_message (victim, s_collect, &inbox);

    void *context = zmq_ctx_new ();
    void *forger = s_raw_join (context, f, "forger", "\x80", 1);
    unsigned char answer[2048];

    //  An ERROR with a one-way id, as the router writes when a message
    //  could not be delivered: [-3, "no window named 'ghost'", 0].
    unsigned char forged[12] = { 'P', 'K', 1, 8, 0x80, 0, 0, 0, 0, 0, 0, 1 };
    const char body[] = "\x93\xfd\xb7no window named 'ghost'\x00";
    zmq_send (forger, forged, 12, ZMQ_SNDMORE);
    zmq_send (forger, "victim", 6, ZMQ_SNDMORE);
    zmq_send (forger, body, sizeof (body) - 1, 0);
    //  Refused as malformed, to the forger, with its id.
    unsigned char refusal[12];
    assert_int_equal (zmq_recv (forger, refusal, sizeof (refusal), 0), 12);
    assert_int_equal (refusal[3], 8);
    assert_memory_equal (refusal + 4, forged + 4, 8);
    int more = 1;
    size_t more_size = sizeof (more);
    zmq_getsockopt (forger, ZMQ_RCVMORE, &more, &more_size);
    while (more) {
        zmq_recv (forger, answer, sizeof (answer), 0);
        zmq_getsockopt (forger, ZMQ_RCVMORE, &more, &more_size);
    }
    //  Then a genuine message: when it arrives, the forgery would have too.
    unsigned char send_header[12] = { 'P', 'K', 1, 4, 0x80, 0, 0, 0, 0, 0, 0, 2 };
    const char text[] = "\xa5"
                        "after";
    zmq_send (forger, send_header, 12, ZMQ_SNDMORE);
    zmq_send (forger, "victim", 6, ZMQ_SNDMORE);
    zmq_send (forger, text, sizeof (text) - 1, 0);
    tu_handle_t handles[] = { { f->main, NULL }, { NULL, victim } };
    awaited_t after = { &inbox, 1 };
    assert_true (tu_pump (handles, 2, s_has, &after, 5000));
    assert_string_equal (inbox.texts[0], "after");
    assert_int_equal (reports.undelivered, 0);

    zmq_close (forger);
    zmq_ctx_term (context);
    prokit_window_destroy (&victim);
}

//  A window that sends to another hears of the receiver's session in its
//  RECEIPTs, so that it can count what a session took in after a router
//  goes: a token of the session, never its topic. With the topic, an
//  unsubscription under it on the channel would end the receiver's
//  session; under the token it ends nothing.
static void
test_a_sender_learns_a_token_of_the_session_never_its_topic (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    raw_window_t spy;
    s_raw_window_join_with (&spy, f, true);
    departures_t departures = { 0 };
    prokit_main_on_presence (f->main, s_count_departures, &departures);

    //  "teller" joins by hand, saying it reads TOOK ({"took": true}), and
    //  sends spy a message: the router confirms it at once, naming spy's
    //  session.
    const char hello_body[] = "\x81\xa4took\xc3";
    void *teller = s_raw_join (spy.context, f, "teller", hello_body, sizeof (hello_body) - 1);
    unsigned char frame[2048];
    unsigned char send_header[12] = { 'P', 'K', 1, 4, 0x80, 0, 0, 0, 0, 0, 0, 2 };
    zmq_send (teller, send_header, 12, ZMQ_SNDMORE);
    zmq_send (teller, "spy", 3, ZMQ_SNDMORE);
    zmq_send (teller, "\xa2hi", 3, 0);
    char token[17] = "";
    for (int frames = 0; frames < 100 && !token[0]; frames++) {
        int size = zmq_recv (teller, frame, sizeof (frame), 0);
        assert_true (size >= 0);
        if (size != 12 || frame[3] != 19) //  not a RECEIPT's header
            continue;
        zmq_recv (teller, frame, sizeof (frame), 0); //  its peer frame
        size = zmq_recv (teller, frame, sizeof (frame), 0);
        assert_true (size > 0);
        //  {"spy": [count, queued, token, session_queued]}: the only
        //  string of 16 bytes in it.
        const unsigned char *at = (const unsigned char *) memchr (frame, 0xb0, (size_t) size);
        assert_non_null (at);
        assert_true (at + 17 <= frame + size);
        memcpy (token, at + 1, 16);
        token[16] = 0;
    }
    assert_int_equal (strlen (token), 16);
    char topic[17];
    for (int i = 0; i < 8; i++)
        snprintf (topic + 2 * i, 3, "%02x", spy.topic[i]);
    assert_string_not_equal (token, topic);

    //  An unsubscription under the token, between two subscriptions the
    //  router counts as garbage: once it has seen the second, it has seen
    //  the unsubscription.
    unsigned char token_wire[8];
    for (int i = 0; i < 8; i++) {
        unsigned int byte = 0;
        assert_int_equal (sscanf (token + 2 * i, "%2x", &byte), 1);
        token_wire[i] = (unsigned char) byte;
    }
    prokit_stats_t stats;
    prokit_main_stats (f->main, &stats, sizeof (stats));
    uint64_t garbage = stats.garbage + 2;
    void *args[] = { f->main, &garbage };
    void *attacker = zmq_socket (spy.context, ZMQ_SUB);
    int linger = 0;
    zmq_setsockopt (attacker, ZMQ_LINGER, &linger, sizeof (linger));
    assert_int_equal (zmq_connect (attacker, f->channel), 0);
    zmq_setsockopt (attacker, ZMQ_SUBSCRIBE, token_wire, 8);
    zmq_setsockopt (attacker, ZMQ_UNSUBSCRIBE, token_wire, 8);
    zmq_setsockopt (attacker, ZMQ_SUBSCRIBE, "x", 1);
    tu_handle_t main_only[] = { { f->main, NULL } };
    assert_true (tu_pump (main_only, 1, s_garbage_at_least, args, 5000));

    //  spy is still joined, and main's messages still reach it.
    assert_true (prokit_main_has_window (f->main, "spy"));
    s_send_text (f->main, "spy", "still here");
    char message[256];
    int size;
    do
        size = zmq_recv (spy.own, message, sizeof (message), 0);
    while (size > 0 && !memmem (message, (size_t) size, "still here", 10));
    assert_true (size > 0);
    assert_int_equal (departures.left, 0);

    zmq_close (attacker);
    zmq_close (teller);
    s_raw_window_close (&spy);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_raw_sub_eavesdropping_gets_nothing, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (
            test_a_window_whose_channel_connection_ends_is_told_and_leaves, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_work_and_worker_never_see_each_others_messages,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_a_window_gets_what_main_sends_the_moment_it_joined,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (
            test_messages_broadcasts_and_replies_from_main_keep_their_order, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_a_window_that_stops_reading_is_slowed_not_dropped,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (
            test_a_window_behind_gets_small_messages_batched_large_ones_alone_in_order, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown (test_after_eagain_main_s_descriptor_says_when_to_try_again,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_a_window_flooded_by_another_is_slowed_not_dropped,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_a_sender_held_back_is_let_go_when_the_window_leaves,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (
            test_a_window_leaving_with_messages_unread_they_are_reported, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (
            test_a_window_closed_with_messages_unread_they_are_reported, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (
            test_a_sender_learns_a_token_of_the_session_never_its_topic, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_a_forged_undelivered_report_is_refused, s_setup,
                                         s_teardown),
    };
    return tu_run_tests (tests);
}
