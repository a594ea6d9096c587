/*  test_router.c: the router against a raw ZeroMQ peer that speaks the
    wire protocol by hand (as a foreign implementation would, from
    docs/PROTOCOL.md) or speaks nonsense. Whatever arrives, the router must
    answer with the right error or count and drop it, and keep serving
    well-behaved windows. */
#define _GNU_SOURCE //  memmem
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>

#include <cmocka.h>
#include <zmq.h>

#include "testutil.h"

typedef struct fixture {
    prokit_main_t *main;
    char endpoint[256];
    void *context;
    void *raw; //  a raw DEALER connected to the router
} fixture_t;

#define LIMIT (64 * 1024)

static prokit_payload_t *
s_echo (prokit_request_t *request, void *arg)
{
    (void) arg;
    return prokit_payload_dup (prokit_request_payload (request));
}

static int
s_setup (void **state)
{
    fixture_t *f = (fixture_t *) calloc (1, sizeof (*f));
    char endpoint[256];
    tu_endpoint ("ipc", endpoint, sizeof (endpoint));
    prokit_main_opts_t opts;
    prokit_main_opts_init (&opts);
    opts.endpoint = endpoint;
    opts.max_payload = LIMIT;
    f->main = prokit_main_new (&opts, NULL);
    if (!f->main)
        return -1;
    prokit_main_on_request (f->main, s_echo, NULL);
    snprintf (f->endpoint, sizeof (f->endpoint), "%s", prokit_main_endpoint (f->main));
    f->context = zmq_ctx_new ();
    f->raw = zmq_socket (f->context, ZMQ_DEALER);
    int linger = 0, timeout = 5000;
    zmq_setsockopt (f->raw, ZMQ_LINGER, &linger, sizeof (linger));
    zmq_setsockopt (f->raw, ZMQ_RCVTIMEO, &timeout, sizeof (timeout));
    zmq_connect (f->raw, f->endpoint);
    *state = f;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    zmq_close (f->raw);
    zmq_ctx_term (f->context);
    prokit_main_destroy (&f->main);
    free (f);
    return 0;
}

//  --- speaking the protocol by hand --------------------------------------

static void
s_header (unsigned char out[12], int version, int command, uint64_t id)
{
    out[0] = 'P';
    out[1] = 'K';
    out[2] = (unsigned char) version;
    out[3] = (unsigned char) command;
    for (int i = 0; i < 8; i++)
        out[4 + i] = (unsigned char) (id >> (8 * (7 - i)));
}

static void
s_send_frames (void *socket, int count, const void **data, const size_t *sizes)
{
    for (int i = 0; i < count; i++)
        assert_true (zmq_send (socket, data[i], sizes[i], i + 1 < count ? ZMQ_SNDMORE : 0) >= 0);
}

static void
s_send_message (void *socket, int version, int command, uint64_t id, const char *peer,
                const void *body, size_t body_size)
{
    unsigned char header[12];
    s_header (header, version, command, id);
    const void *data[] = { header, peer, body };
    size_t sizes[] = { 12, strlen (peer), body_size };
    s_send_frames (socket, 3, data, sizes);
}

//  A version 2 header, as docs/PROTOCOL.md lays it out: signature,
//  version, command, the id head (bit 7: id bit 63; low bits: how many id
//  bytes follow) and the id's significant bytes. Returns its size.
static size_t
s_header_v2 (unsigned char out[13], int command, uint64_t id)
{
    out[0] = 'P';
    out[1] = 'K';
    out[2] = 2;
    out[3] = (unsigned char) command;
    uint64_t rest = id & ~((uint64_t) 1 << 63);
    size_t bytes = 0;
    while (bytes < 8 && (rest >> (8 * bytes)) != 0)
        bytes++;
    out[4] = (unsigned char) ((id >> 63 ? 0x80 : 0) | bytes);
    for (size_t i = 0; i < bytes; i++)
        out[5 + i] = (unsigned char) (rest >> (8 * (bytes - 1 - i)));
    return 5 + bytes;
}

//  Send a version 2 message: header, peer length, peer and (unless
//  BODY_ALONE) body in one frame; with BODY_ALONE the body follows as a
//  second frame.
static void
s_send_message_v2 (void *socket, int command, uint64_t id, const char *peer, const void *body,
                   size_t body_size, bool body_alone)
{
    size_t peer_len = strlen (peer);
    unsigned char header[13];
    size_t header_size = s_header_v2 (header, command, id);
    size_t first_size = header_size + 1 + peer_len + (body_alone ? 0 : body_size);
    unsigned char *first = (unsigned char *) malloc (first_size);
    memcpy (first, header, header_size);
    first[header_size] = (unsigned char) peer_len;
    memcpy (first + header_size + 1, peer, peer_len);
    if (!body_alone && body_size > 0)
        memcpy (first + header_size + 1 + peer_len, body, body_size);
    const void *data[] = { first, body };
    size_t sizes[] = { first_size, body_size };
    s_send_frames (socket, body_alone ? 2 : 1, data, sizes);
    free (first);
}

//  A message received, in either version, taken apart.
typedef struct received {
    int frames;
    int version;
    unsigned char header[12];
    size_t header_size; //  version 1: the first frame's size
    uint64_t id;
    char peer[128];
    unsigned char body[16384];
    size_t body_size;
    bool body_alone; //  version 2: the body came as a second frame
} received_t;

static void
s_keep (unsigned char *out, size_t capacity, size_t *out_size, const void *data, size_t size)
{
    *out_size = size < capacity ? size : capacity;
    memcpy (out, data, *out_size);
}

//  Receive one message; false on timeout.
static bool
s_receive (void *socket, received_t *out, int timeout_ms)
{
    memset (out, 0, sizeof (*out));
    zmq_setsockopt (socket, ZMQ_RCVTIMEO, &timeout_ms, sizeof (timeout_ms));
    int more = 1;
    while (more) {
        zmq_msg_t frame;
        zmq_msg_init (&frame);
        if (zmq_msg_recv (&frame, socket, 0) < 0) {
            zmq_msg_close (&frame);
            return false;
        }
        const unsigned char *data = (const unsigned char *) zmq_msg_data (&frame);
        size_t size = zmq_msg_size (&frame);
        if (out->frames == 0) {
            s_keep (out->header, sizeof (out->header), &out->header_size, data, size);
            out->version = size > 2 ? data[2] : 0;
            if (out->version == 1 && size == 12)
                for (int i = 0; i < 8; i++)
                    out->id = (out->id << 8) | data[4 + i];
            size_t id_bytes = size > 4 ? (data[4] & 0x0f) : 0;
            size_t at = 5 + id_bytes; //  version 2: the peer length
            if (out->version == 2 && size > at && size >= at + 1 + data[at]) {
                for (size_t i = 0; i < id_bytes; i++)
                    out->id = (out->id << 8) | data[5 + i];
                if (data[4] & 0x80)
                    out->id |= (uint64_t) 1 << 63;
                memcpy (out->peer, data + at + 1, data[at] < 127 ? data[at] : 127);
                s_keep (out->body, sizeof (out->body), &out->body_size, data + at + 1 + data[at],
                        size - at - 1 - data[at]);
            }
        }
        else if (out->version == 2 && out->frames == 1) {
            out->body_alone = true;
            s_keep (out->body, sizeof (out->body), &out->body_size, data, size);
        }
        else if (out->frames == 1 && size < sizeof (out->peer))
            memcpy (out->peer, data, size);
        else if (out->frames == 2)
            s_keep (out->body, sizeof (out->body), &out->body_size, data, size);
        out->frames++;
        more = zmq_msg_more (&frame);
        zmq_msg_close (&frame);
    }
    return true;
}

static uint64_t
s_id (const received_t *r)
{
    return r->id;
}

//  The error code in an ERROR body [code, text, app_code]: codes are
//  small negatives (negative fixint) or int64 (0xd3) in this encoder.
static int
s_error_code (const received_t *r)
{
    assert_int_equal (r->body[0], 0x93);
    if (r->body[1] >= 0xe0)
        return (int8_t) r->body[1];
    assert_int_equal (r->body[1], 0xd3);
    int64_t code = 0;
    for (int i = 0; i < 8; i++)
        code = (code << 8) | r->body[2 + i];
    return (int) code;
}

static void
s_expect_error (void *socket, int code, uint64_t id)
{
    received_t r;
    assert_true (s_receive (socket, &r, 5000));
    if (r.version == 2)
        assert_int_equal (r.frames, 1); //  an ERROR body is small: inline
    else {
        assert_int_equal (r.version, 1);
        assert_int_equal (r.frames, 3);
        assert_int_equal (r.header_size, 12);
    }
    assert_int_equal (r.header[0], 'P');
    assert_int_equal (r.header[1], 'K');
    assert_int_equal (r.header[3], 8); //  ERROR
    assert_int_equal (s_id (&r), id);
    assert_int_equal (s_error_code (&r), code);
}

static void
s_join (void *socket, const char *name)
{
    unsigned char empty_map = 0x80;
    s_send_message (socket, 1, 1, 7, name, &empty_map, 1);
    received_t r;
    assert_true (s_receive (socket, &r, 5000));
    assert_int_equal (r.header[3], 2); //  WELCOME
    assert_int_equal (s_id (&r), 7);
    assert_string_equal (r.peer, name);
}

//  Join as a version 2 peer: HELLO (always in version 1, which every
//  router reads) says {"version": 2}; WELCOME comes in version 2 and says
//  the same.
static const unsigned char s_hello_v2[] = { 0x81, 0xa7, 'v', 'e', 'r', 's', 'i', 'o', 'n', 0x02 };

static void
s_join_v2 (void *socket, const char *name)
{
    s_send_message (socket, 1, 1, 7, name, s_hello_v2, sizeof (s_hello_v2));
    received_t r;
    assert_true (s_receive (socket, &r, 5000));
    assert_int_equal (r.version, 2);
    assert_int_equal (r.frames, 1);
    assert_int_equal (r.header[3], 2); //  WELCOME
    assert_int_equal (s_id (&r), 7);
    assert_string_equal (r.peer, name);
    assert_non_null (memmem (r.body, r.body_size, "\xa7version\x02", 9));
}

//  A bin value of SIZE (at least 5) bytes in all, msgpack head included, filled with a
//  pattern; the caller frees it.
static unsigned char *
s_bin_body (size_t size)
{
    unsigned char *body = (unsigned char *) malloc (size);
    size_t len = size - 5;
    body[0] = 0xc6;
    for (int i = 0; i < 4; i++)
        body[1 + i] = (unsigned char) (len >> (8 * (3 - i)));
    for (size_t i = 5; i < size; i++)
        body[i] = (unsigned char) (i * 31 + 7);
    return body;
}

//  The router still admits a proper window and answers its request.
static void
s_router_still_serves (fixture_t *f)
{
    pthread_t thread;
    pthread_create (&thread, NULL, tu_run_main, f->main);
    prokit_window_opts_t opts;
    prokit_window_opts_init (&opts);
    opts.endpoint = f->endpoint;
    int error = PROKIT_OK;
    prokit_window_t *window = prokit_window_new ("healthy", &opts, &error);
    assert_non_null (window);
    prokit_payload_t *payload = prokit_payload_new_string ("still there?");
    prokit_reply_t *reply = NULL;
    assert_int_equal (prokit_window_request_wait (window, NULL, &payload, 5000, &reply), PROKIT_OK);
    assert_string_equal (prokit_reply_str (reply), "still there?");
    prokit_reply_destroy (&reply);
    prokit_window_destroy (&window);
    prokit_main_stop (f->main);
    pthread_join (thread, NULL);
}

//  --- tests -------------------------------------------------------------------

static void
test_foreign_garbage_is_counted_and_dropped_silently (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    const char *hello = "GET / HTTP/1.1";
    const void *one[] = { hello };
    size_t one_size[] = { strlen (hello) };
    s_send_frames (f->raw, 1, one, one_size);
    unsigned char noise[300];
    for (size_t i = 0; i < sizeof (noise); i++)
        noise[i] = (unsigned char) (i * 97 + 13);
    const void *many[] = { noise, noise, noise, noise, noise, noise, noise };
    size_t many_size[] = { 300, 1, 0, 299, 12, 3, 64 };
    s_send_frames (f->raw, 7, many, many_size);
    const void *empty[] = { "" };
    size_t empty_size[] = { 0 };
    s_send_frames (f->raw, 1, empty, empty_size);

    received_t r;
    assert_false (s_receive (f->raw, &r, 300)); //  no answer to a foreign peer
    s_router_still_serves (f);
    prokit_stats_t stats;
    assert_int_equal (prokit_main_stats (f->main, &stats, sizeof (stats)), PROKIT_OK);
    assert_int_equal (stats.garbage, 3);
}

static void
test_wrong_protocol_version_gets_eversion (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    unsigned char empty_map = 0x80;
    s_send_message (f->raw, 3, 1, 99, "future", &empty_map, 1);
    s_expect_error (f->raw, PROKIT_EVERSION, 0); //  the id of a foreign version is not trusted
    s_router_still_serves (f);
}

//  A CREDIT that confirms more than the router sent is ignored (a count
//  the router cannot trust must not open the window), and said once in the
//  log: a window whose window can no longer open is otherwise silent.
static atomic_int s_credit_warnings;

static void
s_catch_credit_warning (prokit_log_level_t level, const char *line, void *arg)
{
    (void) arg;
    if (level == PROKIT_LOG_WARN && strstr (line, "CREDIT ignored"))
        atomic_fetch_add (&s_credit_warnings, 1);
}

static void
test_credit_past_what_was_sent_is_ignored_and_said_once (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    //  HELLO {"version": 2, "credit": 4000}
    static const unsigned char hello[] = { 0x82, 0xa7, 'v', 'e', 'r', 's', 'i', 'o',  'n',  0x02,
                                           0xa6, 'c',  'r', 'e', 'd', 'i', 't', 0xcd, 0x0f, 0xa0 };
    s_send_message (f->raw, 1, 1, 7, "overeager", hello, sizeof (hello));
    received_t r;
    assert_true (s_receive (f->raw, &r, 5000));
    assert_int_equal (r.header[3], 2); //  WELCOME, the one message it was sent
    atomic_store (&s_credit_warnings, 0);
    prokit_set_log (s_catch_credit_warning, NULL);
    //  CREDIT {"consumed": 1000}, twice
    static const unsigned char credit[] = { 0x81, 0xa8, 'c', 'o',  'n',  's', 'u',
                                            'm',  'e',  'd', 0xcd, 0x03, 0xe8 };
    s_send_message_v2 (f->raw, 18, 0, "", credit, sizeof (credit), false);
    s_send_message_v2 (f->raw, 18, 0, "", credit, sizeof (credit), false);
    //  A PING behind them: its PONG says both were handled.
    s_send_message_v2 (f->raw, 9, 3, "", "", 0, false);
    bool ponged = false;
    int64_t deadline = tu_now_ms () + 5000;
    while (!ponged && tu_now_ms () < deadline) {
        prokit_main_run (f->main, 10);
        if (s_receive (f->raw, &r, 0))
            ponged = r.header[3] == 10 && s_id (&r) == 3;
    }
    prokit_set_log (NULL, NULL);
    assert_true (ponged);
    assert_int_equal (atomic_load (&s_credit_warnings), 1);
    s_router_still_serves (f);
}

//  Refused, and the refusal names the destination: a client whose lost
//  connection still carried messages can tell whose they were.
static void
test_request_before_hello_gets_eproto (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    unsigned char hi[] = { 0xa2, 'h', 'i' };
    s_send_message (f->raw, 1, 6, 5, "@main", hi, sizeof (hi));
    received_t r;
    assert_true (s_receive (f->raw, &r, 5000));
    assert_int_equal (r.header[3], 8); //  ERROR
    assert_int_equal (s_id (&r), 5);
    assert_int_equal (s_error_code (&r), PROKIT_EPROTO);
    assert_string_equal (r.peer, "@main");
    s_send_message (f->raw, 1, 4, 0x8000000000000009ULL, "someone", hi, sizeof (hi)); //  a SEND
    assert_true (s_receive (f->raw, &r, 5000));
    assert_int_equal (s_error_code (&r), PROKIT_EPROTO);
    assert_int_equal (s_id (&r), 0x8000000000000009ULL);
    assert_string_equal (r.peer, "someone");
}

static void
test_hello_with_invalid_name_gets_eproto (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    unsigned char empty_map = 0x80;
    s_send_message (f->raw, 1, 1, 3, "bad name", &empty_map, 1);
    s_expect_error (f->raw, PROKIT_EPROTO, 3);
    s_send_message (f->raw, 1, 1, 4, "@admin", &empty_map, 1);
    s_expect_error (f->raw, PROKIT_EPROTO, 4);
}

static void
test_second_main_gets_eexist (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    unsigned char empty_map = 0x80;
    s_send_message (f->raw, 1, 1, 11, "@main", &empty_map, 1);
    //  Main embeds this router: the role is never a connection's.
    received_t r;
    assert_true (s_receive (f->raw, &r, 5000));
    assert_int_equal (r.header[3], 8); //  ERROR
    assert_int_equal (s_id (&r), 11);
    assert_int_equal (s_error_code (&r), PROKIT_EEXIST);
    assert_non_null (memmem (r.body, r.body_size, "embedded", 8));
}

static void
test_hello_twice_gets_eproto (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    s_join (f->raw, "raw");
    unsigned char empty_map = 0x80;
    s_send_message (f->raw, 1, 1, 8, "other", &empty_map, 1);
    s_expect_error (f->raw, PROKIT_EPROTO, 8);
}

static void
test_raw_window_request_to_main_is_answered (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    s_join (f->raw, "raw");
    pthread_t thread;
    pthread_create (&thread, NULL, tu_run_main, f->main);
    unsigned char hi[] = { 0xa2, 'h', 'i' };
    s_send_message (f->raw, 1, 6, 1234, "@main", hi, sizeof (hi));
    received_t r;
    assert_true (s_receive (f->raw, &r, 5000));
    prokit_main_stop (f->main);
    pthread_join (thread, NULL);
    assert_int_equal (r.header[3], 7); //  REPLY
    assert_int_equal (s_id (&r), 1234);
    assert_string_equal (r.peer, "@main");
    assert_int_equal (r.body_size, 3);
    assert_memory_equal (r.body, hi, 3);
}

static void
test_bad_msgpack_body_gets_eproto (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    s_join (f->raw, "raw");
    unsigned char truncated[] = { 0xa5, 'h', 'i' };
    s_send_message (f->raw, 1, 6, 21, "@main", truncated, sizeof (truncated));
    s_expect_error (f->raw, PROKIT_EPROTO, 21);
    unsigned char never_used[] = { 0xc1 };
    s_send_message (f->raw, 1, 4, 22, "raw", never_used, 1);
    s_expect_error (f->raw, PROKIT_EPROTO, 22);
    unsigned char trailing[] = { 0xc0, 0xc0 };
    s_send_message (f->raw, 1, 4, 23, "raw", trailing, 2);
    s_expect_error (f->raw, PROKIT_EPROTO, 23);
    s_send_message (f->raw, 1, 4, 24, "raw", NULL, 0);
    s_expect_error (f->raw, PROKIT_EPROTO, 24);
    s_router_still_serves (f);
}

static void
test_oversized_body_gets_etoobig (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    s_join (f->raw, "raw");
    size_t size = LIMIT + 1024;
    unsigned char *body = (unsigned char *) calloc (1, size);
    //  A valid bin 32 value, just too large.
    size_t len = size - 5;
    body[0] = 0xc6;
    body[1] = (unsigned char) (len >> 24);
    body[2] = (unsigned char) (len >> 16);
    body[3] = (unsigned char) (len >> 8);
    body[4] = (unsigned char) len;
    s_send_message (f->raw, 1, 6, 31, "@main", body, size);
    s_expect_error (f->raw, PROKIT_ETOOBIG, 31);
    free (body);
    s_router_still_serves (f);
    prokit_stats_t stats;
    prokit_main_stats (f->main, &stats, sizeof (stats));
    assert_int_equal (stats.too_big, 1);
}

static void
test_unknown_command_and_wrong_frame_count_get_eproto (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    s_join (f->raw, "raw");
    s_send_message (f->raw, 1, 99, 41, "", "", 0);
    s_expect_error (f->raw, PROKIT_EPROTO, 41);
    unsigned char header[12];
    s_header (header, 1, 4, 42);
    unsigned char nil = 0xc0;
    const void *four[] = { header, "raw", &nil, &nil };
    size_t four_size[] = { 12, 3, 1, 1 };
    s_send_frames (f->raw, 4, four, four_size);
    s_expect_error (f->raw, PROKIT_EPROTO, 42);
    const void *two[] = { header, "raw" };
    size_t two_size[] = { 12, 3 };
    s_send_frames (f->raw, 2, two, two_size);
    s_expect_error (f->raw, PROKIT_EPROTO, 42);
    //  A header one byte short.
    const void *short_header[] = { header, "raw", &nil };
    size_t short_size[] = { 11, 3, 1 };
    s_send_frames (f->raw, 3, short_header, short_size);
    s_expect_error (f->raw, PROKIT_EPROTO, 0);
    s_router_still_serves (f);
}

static void
test_commands_reserved_for_the_router_get_eproto (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    s_join (f->raw, "raw");
    s_send_message (f->raw, 1, 2, 51, "", "", 0); //  WELCOME
    s_expect_error (f->raw, PROKIT_EPROTO, 51);
    s_send_message (f->raw, 1, 11, 52, "raw", "", 0); //  JOINED
    s_expect_error (f->raw, PROKIT_EPROTO, 52);
}

static void
test_broadcast_from_a_window_gets_eacces (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    s_join (f->raw, "raw");
    unsigned char nil = 0xc0;
    s_send_message (f->raw, 1, 5, 61, "", &nil, 1);
    s_expect_error (f->raw, PROKIT_EACCES, 61);
}

//  CLOSE, SHOW and HIDE are main's orders: a window's are refused, and
//  their bodies freed like any other. The router once kept each refused
//  body, and with it the reference every received frame holds on its
//  connection's metadata (its map of properties) and, for a body over 33
//  bytes, on libzmq's receive buffer: LeakSanitizer (the AddressSanitizer
//  build) reports anything this test leaves behind.
static void
test_close_show_hide_from_a_window_get_eacces (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    s_join (f->raw, "raw");
    unsigned char empty_map = 0x80;
    s_send_message (f->raw, 1, 13, 71, "raw", &empty_map, 1); //  CLOSE
    s_expect_error (f->raw, PROKIT_EACCES, 71);
    //  A body too large to live inside the frame itself.
    unsigned char reason[64] = { 0x81, 0xa6, 'r', 'e', 'a', 's', 'o', 'n', 0xd9, 54 };
    memset (reason + 10, 'x', sizeof (reason) - 10);
    s_send_message (f->raw, 1, 13, 72, "raw", reason, sizeof (reason));
    s_expect_error (f->raw, PROKIT_EACCES, 72);
    s_send_message (f->raw, 1, 14, 73, "raw", "", 0); //  SHOW
    s_expect_error (f->raw, PROKIT_EACCES, 73);
    s_send_message (f->raw, 1, 15, 74, "raw", "", 0); //  HIDE
    s_expect_error (f->raw, PROKIT_EACCES, 74);
    //  Refused, not obeyed: the window is still joined.
    s_send_message (f->raw, 1, 1, 75, "raw", &empty_map, 1); //  HELLO again
    s_expect_error (f->raw, PROKIT_EPROTO, 75);
}

static void
test_send_to_unknown_window_gets_enotfound_naming_it (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    s_join (f->raw, "raw");
    unsigned char nil = 0xc0;
    s_send_message (f->raw, 1, 4, 71, "ghost", &nil, 1);
    received_t r;
    assert_true (s_receive (f->raw, &r, 5000));
    assert_int_equal (r.header[3], 8);
    assert_int_equal (s_id (&r), 71);
    assert_string_equal (r.peer, "ghost");
    assert_int_equal (s_error_code (&r), PROKIT_ENOTFOUND);
}

static void
test_ping_gets_pong_and_bye_frees_the_name (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    s_join (f->raw, "raw");
    s_send_message (f->raw, 1, 9, 81, "", "", 0);
    received_t r;
    assert_true (s_receive (f->raw, &r, 5000));
    assert_int_equal (r.header[3], 10); //  PONG
    assert_int_equal (s_id (&r), 81);
    s_send_message (f->raw, 1, 3, 82, "", "", 0);
    assert_true (s_receive (f->raw, &r, 5000));
    assert_int_equal (r.header[3], 3); //  BYE acknowledged
    //  The same connection may join again under the freed name.
    s_join (f->raw, "raw");
}

typedef struct outcome {
    bool done;
    int status;
    char text[64];
} outcome_t;

static void
s_on_reply (prokit_reply_t *reply, void *arg)
{
    outcome_t *outcome = (outcome_t *) arg;
    outcome->done = true;
    outcome->status = prokit_reply_status (reply);
    const char *text = prokit_reply_str (reply);
    snprintf (outcome->text, sizeof (outcome->text), "%s", text ? text : "");
}

static bool
s_outcome_done (void *arg)
{
    return ((outcome_t *) arg)->done;
}

static void
test_reply_forged_by_another_peer_is_ignored (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    prokit_window_opts_t opts;
    prokit_window_opts_init (&opts);
    opts.endpoint = f->endpoint;
    prokit_window_t *asker = prokit_window_new ("asker", &opts, NULL);
    prokit_window_t *slowpoke = prokit_window_new ("slowpoke", &opts, NULL);
    assert_non_null (asker);
    assert_non_null (slowpoke);
    prokit_window_on_request (slowpoke, s_echo, NULL);
    outcome_t outcome = { false, 0, "" };
    prokit_payload_t *payload = prokit_payload_new_string ("genuine");
    assert_int_equal (
        prokit_window_request (asker, "slowpoke", &payload, 10000, s_on_reply, &outcome),
        PROKIT_OK);
    //  "evil" answers in slowpoke's place, guessing the id (the first one).
    s_join (f->raw, "evil");
    unsigned char forged[] = { 0xa6, 'f', 'o', 'r', 'g', 'e', 'd' };
    s_send_message (f->raw, 1, 7, 1, "asker", forged, sizeof (forged));
    tu_handle_t asker_only[] = { { NULL, asker } };
    assert_false (tu_pump (asker_only, 1, s_outcome_done, &outcome, 300));
    //  The real answer still completes the request.
    tu_handle_t both[] = { { NULL, asker }, { NULL, slowpoke } };
    assert_true (tu_pump (both, 2, s_outcome_done, &outcome, 5000));
    assert_int_equal (outcome.status, PROKIT_OK);
    assert_string_equal (outcome.text, "genuine");
    prokit_window_destroy (&asker);
    prokit_window_destroy (&slowpoke);
}

static void
test_max_payload_over_the_limit_is_refused (void **state)
{
    (void) state;
    prokit_main_opts_t opts;
    prokit_main_opts_init (&opts);
    char endpoint[256];
    tu_endpoint ("ipc", endpoint, sizeof (endpoint));
    opts.endpoint = endpoint;
    opts.max_payload = PROKIT_MAX_PAYLOAD_LIMIT + 1;
    int error = PROKIT_OK;
    assert_null (prokit_main_new (&opts, &error));
    assert_int_equal (error, PROKIT_EINVAL);
}

static void
test_query_is_answered_with_info_or_einval (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    //  {"what": "stats"} before joining: not allowed.
    const unsigned char stats[] = { 0x81, 0xa4, 'w', 'h', 'a', 't', 0xa5, 's', 't', 'a', 't', 's' };
    s_send_message (f->raw, 1, 16, 90, "", stats, sizeof (stats));
    s_expect_error (f->raw, PROKIT_EPROTO, 90);
    s_join (f->raw, "raw");
    s_send_message (f->raw, 1, 16, 91, "", stats, sizeof (stats));
    received_t r;
    assert_true (s_receive (f->raw, &r, 5000));
    assert_int_equal (r.header[3], 17); //  INFO
    assert_int_equal (s_id (&r), 91);
    assert_string_equal (r.peer, "");
    assert_true ((r.body[0] & 0xf0) == 0x80); //  a map of counters
    const unsigned char unknown[] = { 0x81, 0xa4, 'w', 'h', 'a', 't', 0xa4, 'n', 'o', 'p', 'e' };
    s_send_message (f->raw, 1, 16, 92, "", unknown, sizeof (unknown));
    s_expect_error (f->raw, PROKIT_EINVAL, 92);
    //  INFO goes only from the router to clients.
    s_send_message (f->raw, 1, 17, 93, "", stats, sizeof (stats));
    s_expect_error (f->raw, PROKIT_EPROTO, 93);
}

static void
test_version_2_peer_hears_version_2_with_small_bodies_inline_and_large_alone (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    pthread_t thread;
    pthread_create (&thread, NULL, tu_run_main, f->main);
    s_join_v2 (f->raw, "raw");
    //  A small request, inline: the echo comes back in one frame.
    unsigned char hi[] = { 0xa2, 'h', 'i' };
    s_send_message_v2 (f->raw, 6, 70, "@main", hi, sizeof (hi), false);
    received_t r;
    assert_true (s_receive (f->raw, &r, 5000));
    assert_int_equal (r.version, 2);
    assert_int_equal (r.frames, 1);
    assert_int_equal (r.header[3], 7); //  REPLY
    assert_int_equal (s_id (&r), 70);
    assert_string_equal (r.peer, "@main");
    assert_int_equal (r.body_size, sizeof (hi));
    assert_memory_equal (r.body, hi, sizeof (hi));
    //  A small body may also come alone, and a large one inline: the
    //  receiver takes either. Answers above 4096 bytes travel alone.
    const size_t sizes[] = { 6, 5000, 12000 };
    const bool alone[] = { true, false, true };
    for (size_t i = 0; i < 3; i++) {
        unsigned char *body = s_bin_body (sizes[i]);
        s_send_message_v2 (f->raw, 6, 71 + i, "@main", body, sizes[i], alone[i]);
        assert_true (s_receive (f->raw, &r, 5000));
        assert_int_equal (r.header[3], 7);
        assert_int_equal (s_id (&r), 71 + i);
        assert_int_equal (r.frames, sizes[i] > 4096 ? 2 : 1);
        assert_int_equal (r.body_size, sizes[i]);
        assert_memory_equal (r.body, body, sizes[i]);
        free (body);
    }
    prokit_main_stop (f->main);
    pthread_join (thread, NULL);
}

static void
test_malformed_version_2_messages_get_eproto_or_etoobig (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    s_join_v2 (f->raw, "raw");
    unsigned char nil = 0xc0;
    //  A peer length running past the end of the frame.
    unsigned char first[13 + 1 + 65 + 1];
    size_t h = s_header_v2 (first, 4, 81); //  6 bytes: the id fits in one
    first[h] = 200;
    memcpy (first + h + 1, "raw", 3);
    const void *one[] = { first, &nil };
    size_t one_size[] = { h + 4, 1 };
    s_send_frames (f->raw, 1, one, one_size);
    s_expect_error (f->raw, PROKIT_EPROTO, 81);
    //  A peer of 65 bytes (all valid name characters).
    s_header_v2 (first, 4, 82);
    first[h] = 65;
    memset (first + h + 1, 'a', 65);
    one_size[0] = h + 1 + 65;
    s_send_frames (f->raw, 1, one, one_size);
    s_expect_error (f->raw, PROKIT_EPROTO, 82);
    //  A body inline and a second frame as well.
    s_header_v2 (first, 4, 83);
    first[h] = 3;
    memcpy (first + h + 1, "raw", 3);
    first[h + 4] = 0xc0;
    const void *two[] = { first, &nil };
    size_t two_size[] = { h + 5, 1 };
    s_send_frames (f->raw, 2, two, two_size);
    s_expect_error (f->raw, PROKIT_EPROTO, 83);
    //  Three frames.
    s_header_v2 (first, 4, 84);
    const void *three[] = { first, &nil, &nil };
    size_t three_size[] = { h + 4, 1, 1 };
    s_send_frames (f->raw, 3, three, three_size);
    s_expect_error (f->raw, PROKIT_EPROTO, 84);
    //  A header with no peer length byte: not even the id is trusted.
    s_header_v2 (first, 4, 85);
    one_size[0] = h;
    s_send_frames (f->raw, 1, one, one_size);
    s_expect_error (f->raw, PROKIT_EPROTO, 0);
    //  Too large, inline and alone.
    unsigned char *body = s_bin_body (LIMIT + 1024);
    s_send_message_v2 (f->raw, 6, 86, "@main", body, LIMIT + 1024, false);
    s_expect_error (f->raw, PROKIT_ETOOBIG, 86);
    s_send_message_v2 (f->raw, 6, 87, "@main", body, LIMIT + 1024, true);
    s_expect_error (f->raw, PROKIT_ETOOBIG, 87);
    free (body);
    s_router_still_serves (f);
    prokit_stats_t stats;
    prokit_main_stats (f->main, &stats, sizeof (stats));
    assert_int_equal (stats.malformed, 5);
    assert_int_equal (stats.too_big, 2);
}

static void
test_version_1_and_version_2_peers_exchange_and_hear_broadcasts_each_in_its_own (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    s_join (f->raw, "old");
    void *new_peer = zmq_socket (f->context, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt (new_peer, ZMQ_LINGER, &linger, sizeof (linger));
    assert_int_equal (zmq_connect (new_peer, f->endpoint), 0);
    s_join_v2 (new_peer, "new");
    //  Main hears of the joins; the windows did not ask to.
    unsigned char hi[] = { 0xa2, 'h', 'i' };
    s_send_message_v2 (new_peer, 4, 90, "old", hi, sizeof (hi), false);
    received_t r;
    assert_true (s_receive (f->raw, &r, 5000));
    assert_int_equal (r.version, 1);
    assert_int_equal (r.frames, 3);
    assert_int_equal (r.header[3], 4); //  SEND
    assert_string_equal (r.peer, "new");
    assert_int_equal (r.body_size, sizeof (hi));
    assert_memory_equal (r.body, hi, sizeof (hi));
    unsigned char yo[] = { 0xa2, 'y', 'o' };
    s_send_message (f->raw, 1, 4, 91, "new", yo, sizeof (yo));
    assert_true (s_receive (new_peer, &r, 5000));
    assert_int_equal (r.version, 2);
    assert_int_equal (r.frames, 1);
    assert_int_equal (r.header[3], 4);
    assert_int_equal (s_id (&r), 91);
    assert_string_equal (r.peer, "old");
    assert_int_equal (r.body_size, sizeof (yo));
    assert_memory_equal (r.body, yo, sizeof (yo));
    //  A broadcast is encoded once per version, and each hears its own.
    prokit_payload_t *payload = prokit_payload_new_string ("all");
    assert_int_equal (prokit_main_broadcast (f->main, &payload), PROKIT_OK);
    const unsigned char all[] = { 0xa3, 'a', 'l', 'l' };
    void *peers[] = { f->raw, new_peer };
    for (int i = 0; i < 2; i++) {
        assert_true (s_receive (peers[i], &r, 5000));
        assert_int_equal (r.version, i == 0 ? 1 : 2);
        assert_int_equal (r.frames, i == 0 ? 3 : 1);
        assert_int_equal (r.header[3], 5); //  BROADCAST
        assert_string_equal (r.peer, "@main");
        assert_int_equal (r.body_size, sizeof (all));
        assert_memory_equal (r.body, all, sizeof (all));
    }
    zmq_close (new_peer);
}

//  --- a version 2 client and an older router ----------------------------------

typedef struct joiner {
    const char *endpoint;
    prokit_window_t *window;
    int error;
} joiner_t;

static void *
s_join_window (void *arg)
{
    joiner_t *joiner = (joiner_t *) arg;
    prokit_window_opts_t opts;
    prokit_window_opts_init (&opts);
    opts.endpoint = joiner->endpoint;
    joiner->window = prokit_window_new ("young", &opts, &joiner->error);
    return NULL;
}

//  A router played by a raw ROUTER, and the window "young" joining it from
//  a thread of its own. Every message "young" sends it (version 1) is four
//  frames: routing id, header, peer, body.
typedef struct standin {
    char endpoint[256];
    void *context;
    void *router;
    joiner_t joiner;
    pthread_t thread;
} standin_t;

//  Read the next message from "young" into FRAMES.
static void
s_standin_next (standin_t *self, zmq_msg_t frames[4])
{
    int count = 0;
    for (int more = 1; more && count < 4; count++) {
        zmq_msg_init (&frames[count]);
        assert_true (zmq_msg_recv (&frames[count], self->router, 0) >= 0);
        more = zmq_msg_more (&frames[count]);
    }
    assert_int_equal (count, 4);
    assert_int_equal (zmq_msg_size (&frames[1]), 12);
}

static void
s_standin_close (zmq_msg_t frames[4])
{
    for (int i = 0; i < 4; i++)
        zmq_msg_close (&frames[i]);
}

//  Bind, have "young" join, and read its HELLO into FRAMES.
static void
s_standin_start (standin_t *self, zmq_msg_t frames[4])
{
    tu_endpoint ("ipc", self->endpoint, sizeof (self->endpoint));
    self->context = zmq_ctx_new ();
    self->router = zmq_socket (self->context, ZMQ_ROUTER);
    int linger = 0, timeout = 5000;
    zmq_setsockopt (self->router, ZMQ_LINGER, &linger, sizeof (linger));
    zmq_setsockopt (self->router, ZMQ_RCVTIMEO, &timeout, sizeof (timeout));
    assert_int_equal (zmq_bind (self->router, self->endpoint), 0);
    self->joiner = (joiner_t){ self->endpoint, NULL, 0 };
    pthread_create (&self->thread, NULL, s_join_window, &self->joiner);
    s_standin_next (self, frames);
    assert_int_equal (((const unsigned char *) zmq_msg_data (&frames[1]))[3], 1); //  HELLO
}

//  Answer the HELLO in FRAMES (then closed) with a version 1 WELCOME of
//  BODY: "young" has joined.
static void
s_standin_welcome (standin_t *self, zmq_msg_t frames[4], const unsigned char *body, size_t size)
{
    unsigned char reply[12];
    memcpy (reply, zmq_msg_data (&frames[1]), 12);
    reply[2] = 1;
    reply[3] = 2; //  WELCOME, the HELLO's id
    zmq_msg_send (&frames[0], self->router, ZMQ_SNDMORE);
    zmq_send (self->router, reply, 12, ZMQ_SNDMORE);
    zmq_send (self->router, "young", 5, ZMQ_SNDMORE);
    zmq_send (self->router, body, size, 0);
    for (int i = 1; i < 4; i++)
        zmq_msg_close (&frames[i]);
    pthread_join (self->thread, NULL);
    assert_non_null (self->joiner.window);
}

static void
s_standin_stop (standin_t *self)
{
    prokit_window_destroy (&self->joiner.window);
    zmq_close (self->router);
    zmq_ctx_term (self->context);
    tu_endpoint_remove (self->endpoint);
}

//  A router that knows only version 1 (played here by a raw ROUTER): the
//  client's HELLO is version 1 and offers version 2; a WELCOME that does
//  not take it up leaves the client on version 1 for everything after.
static void
test_version_2_client_speaks_version_1_to_an_older_router (void **state)
{
    (void) state;
    //  HELLO: version 1 frames, offering version 2.
    standin_t standin;
    zmq_msg_t frames[4];
    s_standin_start (&standin, frames);
    const unsigned char *header = (const unsigned char *) zmq_msg_data (&frames[1]);
    assert_int_equal (header[2], 1);
    assert_non_null (
        memmem (zmq_msg_data (&frames[3]), zmq_msg_size (&frames[3]), "\xa7version\x02", 9));
    //  An older router's WELCOME: its two settings, no version.
    const unsigned char welcome[] = { 0x82, 0xab, 'm', 'a',  'x',  '_',  'p',  'a', 'y', 'l',
                                      'o',  'a',  'd', 0xcd, 0x10, 0x00, 0xac, 'h', 'e', 'a',
                                      'r',  't',  'b', 'e',  'a',  't',  '_',  'm', 's', 0x00 };
    s_standin_welcome (&standin, frames, welcome, sizeof (welcome));

    //  What it sends next is version 1 too.
    prokit_payload_t *payload = prokit_payload_new_string ("hi");
    assert_int_equal (prokit_window_send (standin.joiner.window, "other", &payload), PROKIT_OK);
    s_standin_next (&standin, frames);
    header = (const unsigned char *) zmq_msg_data (&frames[1]);
    assert_int_equal (header[2], 1);
    assert_int_equal (header[3], 4); //  SEND
    assert_int_equal (zmq_msg_size (&frames[2]), 5);
    assert_memory_equal (zmq_msg_data (&frames[2]), "other", 5);
    s_standin_close (frames);
    s_standin_stop (&standin);
}

//  --- confirming what was taken in, once idle --------------------------------------

//  A window that has taken in fewer messages than a CREDIT batch (500) and
//  has nothing more to read says so all the same, within a millisecond or
//  so: if it died now, none of them would be reported as perhaps taken in.
static void
test_a_window_with_nothing_more_to_read_confirms_what_it_took_in (void **state)
{
    (void) state;
    standin_t standin;
    zmq_msg_t frames[4];
    s_standin_start (&standin, frames);
    unsigned char routing_id[256];
    size_t routing_id_size = zmq_msg_size (&frames[0]);
    assert_true (routing_id_size <= sizeof (routing_id));
    memcpy (routing_id, zmq_msg_data (&frames[0]), routing_id_size);
    unsigned char header[12];
    memcpy (header, zmq_msg_data (&frames[1]), 12);
    const unsigned char welcome[] = { 0x80 };
    s_standin_welcome (&standin, frames, welcome, sizeof (welcome));

    //  100 SENDs from "other": the WELCOME and these are 101 taken in.
    for (int n = 1; n <= 100; n++) {
        header[2] = 1;
        header[3] = 4; //  SEND
        uint64_t id = (1ULL << 63) | (uint64_t) n;
        for (int i = 0; i < 8; i++)
            header[4 + i] = (unsigned char) (id >> (56 - 8 * i));
        unsigned char body[] = { 0xa1, 'x' };
        zmq_send (standin.router, routing_id, routing_id_size, ZMQ_SNDMORE);
        zmq_send (standin.router, header, 12, ZMQ_SNDMORE);
        zmq_send (standin.router, "other", 5, ZMQ_SNDMORE);
        zmq_send (standin.router, body, sizeof (body), 0);
    }
    //  The window dispatches; the stand-in waits for a CREDIT that says
    //  all 101 (earlier ones, for fewer, may come first).
    const unsigned char all[] = { 0x81, 0xa8, 'c', 'o', 'n', 's', 'u', 'm', 'e', 'd', 101 };
    bool confirmed = false;
    int64_t deadline = tu_now_ms () + 5000;
    while (!confirmed && tu_now_ms () < deadline) {
        prokit_window_dispatch (standin.joiner.window);
        zmq_pollitem_t item = { standin.router, 0, ZMQ_POLLIN, 0 };
        struct pollfd window_fd = { prokit_window_fd (standin.joiner.window), POLLIN, 0 };
        if (zmq_poll (&item, 1, 1) > 0) {
            s_standin_next (&standin, frames);
            const unsigned char *got = (const unsigned char *) zmq_msg_data (&frames[1]);
            if (got[3] == 18 && zmq_msg_size (&frames[3]) == sizeof (all) &&
                memcmp (zmq_msg_data (&frames[3]), all, sizeof (all)) == 0)
                confirmed = true;
            s_standin_close (frames);
        }
        else
            poll (&window_fd, 1, 1);
    }
    assert_true (confirmed);
    s_standin_stop (&standin);
}

//  --- a default deadline ---------------------------------------------------------

//  What main's handler reads of a request's time left, as text.
static prokit_payload_t *
s_time_left (prokit_request_t *request, void *arg)
{
    (void) arg;
    return prokit_payload_new_printf ("%lld", prokit_request_time_left (request));
}

//  A new raw connection in *RAW joins as NAME with HELLO; returns whether
//  its WELCOME said "default_deadline".
static bool
s_join_saying (void *context, void **raw, const char *endpoint, const char *name,
               const unsigned char *hello, size_t size)
{
    *raw = zmq_socket (context, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt (*raw, ZMQ_LINGER, &linger, sizeof (linger));
    assert_int_equal (zmq_connect (*raw, endpoint), 0);
    s_send_message (*raw, 1, 1, 7, name, hello, size);
    received_t r;
    assert_true (s_receive (*raw, &r, 5000));
    assert_int_equal (r.header[3], 2); //  WELCOME
    return memmem (r.body, r.body_size,
                   "\xb0"
                   "default_deadline",
                   17) != NULL;
}

//  The time left main's handler read of a REQUEST from RAW with PEER.
static long long
s_time_left_of (void *raw, const char *peer, uint64_t id)
{
    unsigned char x[] = { 0xa1, 'x' };
    s_send_message_v2 (raw, 6, id, peer, x, sizeof (x), false);
    received_t r;
    assert_true (s_receive (raw, &r, 5000));
    assert_int_equal (r.header[3], 7); //  REPLY
    assert_int_equal (s_id (&r), id);
    //  A str up to 31 bytes: fixstr.
    assert_true (r.body_size > 1 && (r.body[0] & 0xe0) == 0xa0);
    char text[32];
    size_t len = r.body[0] & 0x1f;
    memcpy (text, r.body + 1, len);
    text[len] = 0;
    return atoll (text);
}

//  HELLO {"version": 2, "channels": true, "default_deadline": N}.
#define S_DEFAULT_HELLO(b7, b8)                                                                    \
    {                                                                                              \
        0x83, 0xa7, 'v', 'e', 'r', 's', 'i', 'o', 'n', 0x02, 0xa8, 'c', 'h', 'a', 'n', 'n', 'e',   \
            'l', 's', 0xc3, 0xb0, 'd', 'e', 'f', 'a', 'u', 'l', 't', '_', 'd', 'e', 'a', 'd', 'l', \
            'i', 'n', 'e', 0xcf, 0, 0, 0, 0, 0, 0, b7, b8                                          \
    }

//  A client whose HELLO says a default deadline (its WELCOME says the
//  router applies it) leaves it out of the requests that have it: the
//  handler reads the same time left as from one that says it. A request
//  that says its own has that; a peer that said no default (an older
//  library, the Python client) sends requests with no deadline, and the
//  router gives them none, as before; nor does it apply a default no
//  request could say.
static void
test_a_default_deadline_stands_for_the_one_a_request_leaves_out (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    prokit_main_on_request (f->main, s_time_left, NULL);
    prokit_main_handle (f->main, "ask", s_time_left, NULL);
    const unsigned char said[] = S_DEFAULT_HELLO (0x0f, 0xa0); //  4000 ms
    const unsigned char unsaid[] = { 0x82, 0xa7, 'v', 'e', 'r', 's', 'i', 'o', 'n', 0x02,
                                     0xa8, 'c',  'h', 'a', 'n', 'n', 'e', 'l', 's', 0xc3 };
    unsigned char too_large[] = S_DEFAULT_HELLO (0, 0);
    too_large[sizeof (too_large) - 8] = 0x80; //  2^63: more than any deadline
    void *with = NULL, *without = NULL, *over = NULL;
    assert_true (s_join_saying (f->context, &with, f->endpoint, "with", said, sizeof (said)));
    assert_false (
        s_join_saying (f->context, &without, f->endpoint, "without", unsaid, sizeof (unsaid)));
    assert_false (
        s_join_saying (f->context, &over, f->endpoint, "over", too_large, sizeof (too_large)));
    pthread_t thread;
    pthread_create (&thread, NULL, tu_run_main, f->main);

    long long left = s_time_left_of (with, "@main", 1);
    assert_true (left > 3000 && left <= 4000);
    left = s_time_left_of (with, "@main!4000", 2);
    assert_true (left > 3000 && left <= 4000);
    left = s_time_left_of (with, "@main#ask", 3);
    assert_true (left > 3000 && left <= 4000);
    left = s_time_left_of (with, "@main!1500#ask", 4);
    assert_true (left > 500 && left <= 1500);
    left = s_time_left_of (with, "@main!60000", 5);
    assert_true (left > 59000 && left <= 60000);
    assert_int_equal (s_time_left_of (without, "@main", 6), -1);
    left = s_time_left_of (without, "@main!4000", 7);
    assert_true (left > 3000 && left <= 4000);
    assert_int_equal (s_time_left_of (over, "@main#ask", 8), -1);

    prokit_main_stop (f->main);
    pthread_join (thread, NULL);
    zmq_close (with);
    zmq_close (without);
    zmq_close (over);
}

//  The window's side, against a router played by a raw ROUTER: it says its
//  request timeout as its default in the HELLO, and leaves it out of a
//  request only when the WELCOME said that very default back. A router
//  that does not say it (an older one), or says another, gets every
//  deadline said.
static void
s_window_request_peer (const unsigned char *welcome, size_t welcome_size, const char *expected)
{
    //  HELLO: it says its request timeout (the default, 30 s) as its
    //  default deadline.
    standin_t standin;
    zmq_msg_t frames[4];
    s_standin_start (&standin, frames);
    assert_non_null (memmem (zmq_msg_data (&frames[3]), zmq_msg_size (&frames[3]),
                             "\xb0"
                             "default_deadline\xcf\0\0\0\0\0\0\x75\x30",
                             26));
    s_standin_welcome (&standin, frames, welcome, welcome_size);

    //  A request with the handle's timeout, then one with its own.
    outcome_t outcome = { false, 0, "" };
    for (int i = 0; i < 2; i++) {
        prokit_payload_t *payload = prokit_payload_new_string ("hi");
        assert_int_equal (prokit_window_request (standin.joiner.window, NULL, &payload,
                                                 i == 0 ? 0 : 1500, s_on_reply, &outcome),
                          PROKIT_OK);
        s_standin_next (&standin, frames);
        assert_int_equal (((const unsigned char *) zmq_msg_data (&frames[1]))[3], 6); //  REQUEST
        char peer[128] = "";
        size_t size = zmq_msg_size (&frames[2]);
        assert_true (size < sizeof (peer));
        memcpy (peer, zmq_msg_data (&frames[2]), size);
        assert_string_equal (peer, i == 0 ? expected : "@main!1500");
        s_standin_close (frames);
    }
    s_standin_stop (&standin);
}

//  WELCOME {"max_payload": 4096, "heartbeat_ms": 0, "deadlines": true},
//  then "default_deadline" as given.
#define S_WELCOME_DEADLINES                                                                        \
    0xab, 'm', 'a', 'x', '_', 'p', 'a', 'y', 'l', 'o', 'a', 'd', 0xcd, 0x10, 0x00, 0xac, 'h', 'e', \
        'a', 'r', 't', 'b', 'e', 'a', 't', '_', 'm', 's', 0x00, 0xa9, 'd', 'e', 'a', 'd', 'l',     \
        'i', 'n', 'e', 's', 0xc3
#define S_WELCOME_DEFAULT(b7, b8)                                                                  \
    0xb0, 'd', 'e', 'f', 'a', 'u', 'l', 't', '_', 'd', 'e', 'a', 'd', 'l', 'i', 'n', 'e', 0xcd,    \
        b7, b8

static void
test_window_says_every_deadline_unless_the_router_applies_its_default (void **state)
{
    (void) state;
    const unsigned char older[] = { 0x83, S_WELCOME_DEADLINES };
    s_window_request_peer (older, sizeof (older), "@main!30000");
    const unsigned char other[] = { 0x84, S_WELCOME_DEADLINES, S_WELCOME_DEFAULT (0x13, 0x88) };
    s_window_request_peer (other, sizeof (other), "@main!30000");
    const unsigned char applied[] = { 0x84, S_WELCOME_DEADLINES, S_WELCOME_DEFAULT (0x75, 0x30) };
    s_window_request_peer (applied, sizeof (applied), "@main");
}

//  --- peers that predate named channels ------------------------------------

typedef struct undelivered_log {
    int count;
    int code;
    char target[PROKIT_NAME_MAX + 1];
    char text[256];
} undelivered_log_t;

static void
s_log_undelivered (const char *target, int code, const char *text, void *arg)
{
    undelivered_log_t *log = (undelivered_log_t *) arg;
    log->count++;
    log->code = code;
    snprintf (log->target, sizeof (log->target), "%s", target);
    snprintf (log->text, sizeof (log->text), "%s", text);
}

static bool
s_undelivered_said (void *arg)
{
    return ((undelivered_log_t *) arg)->count > 0;
}

//  HELLO {"channels": true}: a client that reads named channels.
static const unsigned char s_hello_channels[] = { 0x81, 0xa8, 'c', 'h', 'a', 'n',
                                                  'n',  'e',  'l', 's', 0xc3 };

//  A window that says nothing of channels (an older library) keeps
//  everything on the default channel; what names a channel never reaches
//  it, and its sender hears why, with PROKIT_ENOHANDLER.
static void
test_peer_that_predates_channels_gets_none_and_senders_are_told (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    s_join (f->raw, "old");
    //  Main, embedded: refused at once on a channel, delivered without.
    prokit_payload_t *payload = prokit_payload_new_string ("x");
    assert_int_equal (prokit_main_send_on (f->main, "old", "news", &payload), PROKIT_ENOHANDLER);
    assert_non_null (payload);
    assert_int_equal (prokit_main_send (f->main, "old", &payload), PROKIT_OK);
    received_t r;
    assert_true (s_receive (f->raw, &r, 5000));
    assert_int_equal (r.header[3], 4); //  SEND
    assert_string_equal (r.peer, "@main");
    //  A broadcast on a channel leaves it out and says so, once.
    undelivered_log_t log;
    memset (&log, 0, sizeof (log));
    prokit_main_on_undelivered (f->main, s_log_undelivered, &log);
    payload = prokit_payload_new_string ("all");
    assert_int_equal (prokit_main_broadcast_on (f->main, "news", &payload), PROKIT_OK);
    tu_handle_t handles[] = { { f->main, NULL } };
    assert_true (tu_pump (handles, 1, s_undelivered_said, &log, 5000));
    assert_int_equal (log.count, 1);
    assert_int_equal (log.code, PROKIT_ENOHANDLER);
    assert_string_equal (log.target, "old");
    assert_non_null (strstr (log.text, "'news'"));
    //  A window that reads channels asks it on one: an ERROR, not a
    //  delivery; on the default channel, the old window gets it.
    void *fresh = zmq_socket (f->context, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt (fresh, ZMQ_LINGER, &linger, sizeof (linger));
    assert_int_equal (zmq_connect (fresh, f->endpoint), 0);
    s_send_message (fresh, 1, 1, 7, "fresh", s_hello_channels, sizeof (s_hello_channels));
    assert_true (s_receive (fresh, &r, 5000));
    assert_int_equal (r.header[3], 2); //  WELCOME, saying the router routes channels
    assert_non_null (memmem (r.body, r.body_size,
                             "\xa8"
                             "channels\xc3",
                             10));
    unsigned char nil = 0xc0;
    s_send_message (fresh, 1, 6, 11, "old#echo", &nil, 1);
    s_expect_error (fresh, PROKIT_ENOHANDLER, 11);
    s_send_message (fresh, 1, 6, 12, "old", &nil, 1);
    assert_true (s_receive (f->raw, &r, 5000));
    assert_int_equal (r.header[3], 6); //  REQUEST
    assert_string_equal (r.peer, "fresh");
    //  To a peer that reads them, the channel travels with the sender's name.
    s_send_message (f->raw, 1, 4, ((uint64_t) 1 << 63) | 1, "fresh", &nil, 1);
    assert_true (s_receive (fresh, &r, 5000));
    assert_string_equal (r.peer, "old");
    s_send_message (fresh, 1, 6, 13, "@main#none", &nil, 1);
    //  Main answers as it dispatches.
    bool answered = false;
    for (int64_t until = tu_now_ms () + 5000; !answered && tu_now_ms () < until;) {
        prokit_main_dispatch (f->main);
        answered = s_receive (fresh, &r, 20);
    }
    assert_true (answered);
    assert_int_equal (r.header[3], 8); //  ERROR from main: nobody handles "none"
    assert_int_equal (s_error_code (&r), PROKIT_ENOHANDLER);
    assert_non_null (memmem (r.body, r.body_size, "'none'", 6));
    zmq_close (fresh);
}

//  A router that predates named channels says nothing of them in its
//  WELCOME: a window then refuses to name one (PROKIT_EVERSION) and still
//  sends on the default channel.
typedef struct old_router {
    void *socket;
    int sends_seen;
} old_router_t;

static void *
s_old_router (void *arg)
{
    old_router_t *old = (old_router_t *) arg;
    int timeout = 5000;
    zmq_setsockopt (old->socket, ZMQ_RCVTIMEO, &timeout, sizeof (timeout));
    //  HELLO: routing id, header, peer, body (version 1).
    while (true) {
        zmq_msg_t frames[4];
        int count = 0;
        int more = 1;
        while (more && count < 4) {
            zmq_msg_init (&frames[count]);
            if (zmq_msg_recv (&frames[count], old->socket, 0) < 0)
                return NULL;
            more = zmq_msg_more (&frames[count]);
            count++;
        }
        const unsigned char *header = (const unsigned char *) zmq_msg_data (&frames[1]);
        int command = count >= 2 && zmq_msg_size (&frames[1]) >= 4 ? header[3] : 0;
        if (command == 1) {
            unsigned char welcome[12];
            s_header (welcome, 1, 2, 7);
            for (int i = 0; i < 8; i++)
                welcome[4 + i] = header[4 + i]; //  the HELLO's id
            //  {"max_payload": 1024, "heartbeat_ms": 1000}, as before channels
            const unsigned char body[] = { 0x82, 0xab, 'm', 'a', 'x', '_',  'p',  'a',
                                           'y',  'l',  'o', 'a', 'd', 0xcd, 0x04, 0x00,
                                           0xac, 'h',  'e', 'a', 'r', 't',  'b',  'e',
                                           'a',  't',  '_', 'm', 's', 0xcd, 0x03, 0xe8 };
            zmq_send (old->socket, zmq_msg_data (&frames[0]), zmq_msg_size (&frames[0]),
                      ZMQ_SNDMORE);
            zmq_send (old->socket, welcome, sizeof (welcome), ZMQ_SNDMORE);
            zmq_send (old->socket, zmq_msg_data (&frames[2]), zmq_msg_size (&frames[2]),
                      ZMQ_SNDMORE);
            zmq_send (old->socket, body, sizeof (body), 0);
        }
        else if (command == 4)
            old->sends_seen++;
        for (int i = 0; i < count; i++)
            zmq_msg_close (&frames[i]);
        if (old->sends_seen > 0)
            return NULL;
    }
}

static void
test_window_refuses_named_channels_towards_a_router_that_predates_them (void **state)
{
    (void) state;
    char endpoint[256];
    tu_endpoint ("ipc", endpoint, sizeof (endpoint));
    void *context = zmq_ctx_new ();
    old_router_t old = { zmq_socket (context, ZMQ_ROUTER), 0 };
    assert_int_equal (zmq_bind (old.socket, endpoint), 0);
    pthread_t thread;
    assert_int_equal (pthread_create (&thread, NULL, s_old_router, &old), 0);
    prokit_window_t *window = tu_window_new (endpoint, "w");
    assert_non_null (window);
    prokit_payload_t *payload = prokit_payload_new_string ("x");
    assert_int_equal (prokit_window_send_on (window, "other", "news", &payload), PROKIT_EVERSION);
    assert_non_null (payload);
    assert_int_equal (
        prokit_window_request_on (window, PROKIT_MAIN, "ask", &payload, 1000, NULL, NULL),
        PROKIT_EINVAL); //  no callback: refused before anything else
    assert_int_equal (prokit_window_send (window, "other", &payload), PROKIT_OK);
    pthread_join (thread, NULL);
    assert_int_equal (old.sends_seen, 1);
    prokit_window_destroy (&window);
    zmq_close (old.socket);
    zmq_ctx_term (context);
    tu_endpoint_remove (endpoint);
}

//  --- a window off the PUB channel is counted too ------------------------------

//  HELLO {"version": 2, "credit": 100}: a window under flow control that
//  does not read the PUB channel; main's messages come on its DEALER.
#define S_OFF_HELLO                                                                                \
    0xa7, 'v', 'e', 'r', 's', 'i', 'o', 'n', 0x02, 0xa6, 'c', 'r', 'e', 'd', 'i', 't', 0x64
//  "last_dealer": 51, what it took in of its last session: the WELCOME
//  (counted too) and 50 SENDs.
#define S_TOOK_51 0xab, 'l', 'a', 's', 't', '_', 'd', 'e', 'a', 'l', 'e', 'r', 0x33
static const unsigned char s_off_hello[] = { 0x82, S_OFF_HELLO };
static const unsigned char s_off_hello_back[] = { 0x83, S_OFF_HELLO, S_TOOK_51 };
static const unsigned char s_off_bye[] = { 0x81, S_TOOK_51 };

typedef enum { OFF_BYE, OFF_LOST, OFF_CLOSED } off_ending_t;

typedef struct off_channel {
    long to_main;   //  undelivered reports main heard
    long to_sender; //  and the window "sender"
} off_channel_t;

//  One report about "offchan": ARG is the count it adds to (to_main or
//  to_sender).
static void
s_off_reported (const char *target, int code, const char *text, void *arg)
{
    (void) code;
    (void) text;
    assert_string_equal (target, "offchan");
    (*(long *) arg)++;
}

static bool
s_off_refused (void *arg)
{
    return ((off_channel_t *) arg)->to_sender >= 20;
}

static bool
s_off_settled (void *arg)
{
    off_channel_t *off = (off_channel_t *) arg;
    return off->to_main >= 10 && off->to_sender >= 60;
}

static bool
s_offchan_gone (void *arg)
{
    return !prokit_main_has_window ((prokit_main_t *) arg, "offchan");
}

//  A new connection in F->raw (which the teardown closes, however the
//  test ends) joins as "offchan" with HELLO.
static void *
s_off_join (fixture_t *f, const unsigned char *hello, size_t size)
{
    zmq_close (f->raw);
    void *raw = f->raw = zmq_socket (f->context, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt (raw, ZMQ_LINGER, &linger, sizeof (linger));
    assert_int_equal (zmq_connect (raw, f->endpoint), 0);
    s_send_message (raw, 1, 1, 7, "offchan", hello, size);
    received_t r;
    assert_true (s_receive (raw, &r, 5000));
    assert_int_equal (r.header[3], 2); //  WELCOME, with no channel to read
    assert_null (memmem (r.body, r.body_size, "\xa5topic", 6));
    return raw;
}

//  Main sends the window 60 messages and another window 60 more: its
//  credit (100) takes 40 of those, the other 20 are refused (reported).
//  It takes in 50, all main's, then its session ends as ENDING says; what
//  it did not take in is reported to each sender, exactly.
static void
s_off_channel_counted (fixture_t *f, off_ending_t ending)
{
    off_channel_t off = { 0, 0 };
    prokit_main_on_undelivered (f->main, s_off_reported, &off.to_main);
    void *raw = s_off_join (f, s_off_hello, sizeof (s_off_hello));
    prokit_window_t *sender = tu_window_new (f->endpoint, "sender");
    assert_non_null (sender);
    prokit_window_on_undelivered (sender, s_off_reported, &off.to_sender);
    for (int i = 0; i < 60; i++) {
        prokit_payload_t *payload = prokit_payload_new_printf ("main %d", i);
        assert_int_equal (prokit_main_send (f->main, "offchan", &payload), PROKIT_OK);
    }
    for (int i = 0; i < 60; i++) {
        prokit_payload_t *payload = prokit_payload_new_printf ("sender %d", i);
        assert_int_equal (prokit_window_send (sender, "offchan", &payload), PROKIT_OK);
    }
    tu_handle_t both[] = { { f->main, NULL }, { NULL, sender } };
    assert_true (tu_pump (both, 2, s_off_refused, &off, 5000));
    received_t r;
    for (int i = 0; i < 50; i++) {
        assert_true (s_receive (raw, &r, 5000));
        assert_int_equal (r.header[3], 4); //  SEND
        assert_string_equal (r.peer, "@main");
    }
    if (ending == OFF_BYE) {
        s_send_message_v2 (raw, 3, 0, "", s_off_bye, sizeof (s_off_bye), false);
        //  Its answer comes behind what is still queued (unread, as if gone).
        do
            assert_true (s_receive (raw, &r, 5000));
        while (r.header[3] != 3);
    }
    else if (ending == OFF_LOST) {
        zmq_close (raw);
        f->raw = zmq_socket (f->context, ZMQ_DEALER); //  so that the teardown has one
        tu_handle_t main_only[] = { { f->main, NULL } };
        assert_true (tu_pump (main_only, 1, s_offchan_gone, f->main, 10000));
        assert_int_equal (off.to_main, 0); //  kept until it says what it took in
        raw = s_off_join (f, s_off_hello_back, sizeof (s_off_hello_back));
    }
    else {
        assert_int_equal (prokit_main_destroy_window (f->main, "offchan", 1000), PROKIT_OK);
        assert_int_equal (off.to_main, 0); //  kept until its BYE says what it took in
        s_send_message_v2 (raw, 3, 0, "", s_off_bye, sizeof (s_off_bye), false);
        do
            assert_true (s_receive (raw, &r, 5000));
        while (r.header[3] != 3);
    }
    assert_true (tu_pump (both, 2, s_off_settled, &off, 5000));
    print_message ("off the channel, %s: main 60 accepted = 50 received + %ld reported; "
                   "sender 60 accepted = 0 received + %ld reported\n",
                   ending == OFF_BYE    ? "BYE"
                   : ending == OFF_LOST ? "lost"
                                        : "closed by main",
                   off.to_main, off.to_sender);
    assert_int_equal (off.to_main, 10);
    assert_int_equal (off.to_sender, 60);
    prokit_window_destroy (&sender);
    prokit_main_on_undelivered (f->main, NULL, NULL);
}

static void
test_window_off_the_channel_leaving_has_what_it_missed_reported (void **state)
{
    s_off_channel_counted ((fixture_t *) *state, OFF_BYE);
}

static void
test_window_off_the_channel_lost_has_what_it_missed_reported (void **state)
{
    s_off_channel_counted ((fixture_t *) *state, OFF_LOST);
}

static void
test_window_off_the_channel_closed_has_what_it_missed_reported (void **state)
{
    s_off_channel_counted ((fixture_t *) *state, OFF_CLOSED);
}

//  --- BATCH from a client ----------------------------------------------------

//  One entry of a BATCH at OUT: a 2-byte length and a version 2 message
//  (COMMAND, ID, PEER, BODY inline). Returns its size.
static size_t
s_entry (unsigned char *out, int command, uint64_t id, const char *peer, const void *body,
         size_t body_size)
{
    size_t peer_len = strlen (peer);
    size_t n = s_header_v2 (out + 2, command, id);
    out[2 + n++] = (unsigned char) peer_len;
    memcpy (out + 2 + n, peer, peer_len);
    n += peer_len;
    memcpy (out + 2 + n, body, body_size);
    n += body_size;
    out[0] = (unsigned char) (n >> 8);
    out[1] = (unsigned char) n;
    return 2 + n;
}

//  A router says in its WELCOME that it reads BATCH; it handles each
//  entry as if it had come alone, in order, refuses an entry that may not
//  travel in one (HELLO, BROADCAST) as a malformed message of its own, and
//  a BATCH whose rest is no entry there, and serves on.
static void
test_a_client_batch_is_handled_entry_by_entry_its_faults_refused (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    s_send_message (f->raw, 1, 1, 7, "raw", s_hello_v2, sizeof (s_hello_v2));
    received_t r;
    assert_true (s_receive (f->raw, &r, 5000));
    assert_int_equal (r.header[3], 2); //  WELCOME
    assert_non_null (memmem (r.body, r.body_size,
                             "\xa5"
                             "batch\xc3",
                             7));
    unsigned char nil = 0xc0;
    unsigned char first[512];
    size_t h = s_header_v2 (first, 25, 0); //  BATCH, id 0
    first[h] = 0;                          //  no peer
    size_t n = h + 1;
    n += s_entry (first + n, 4, 71, "ghost", &nil, 1);   //  SEND to nobody
    n += s_entry (first + n, 1, 72, "", "\x80", 1);      //  HELLO: not in a BATCH
    n += s_entry (first + n, 4, 73, "ghost-2", &nil, 1); //  SEND to nobody
    n += s_entry (first + n, 5, 74, "", &nil, 1);        //  BROADCAST: not in a BATCH
    memcpy (first + n, "\x00\x09\x01", 3);               //  a length past the end
    n += 3;
    const void *one[] = { first };
    size_t one_size[] = { n };
    s_send_frames (f->raw, 1, one, one_size);
    uint64_t ids[] = { 71, 72, 73, 74, 0 };
    int codes[] = { PROKIT_ENOTFOUND, PROKIT_EPROTO, PROKIT_ENOTFOUND, PROKIT_EPROTO,
                    PROKIT_EPROTO };
    for (size_t i = 0; i < 5; i++)
        s_expect_error (f->raw, codes[i], ids[i]);
    s_router_still_serves (f);
    prokit_stats_t stats;
    prokit_main_stats (f->main, &stats, sizeof (stats));
    assert_int_equal (stats.batches_received, 1);
    assert_int_equal (stats.malformed, 3);
    //  On a client's DEALER a BATCH is never valid: only the router sends
    //  one, and on the channel.
}

typedef struct pipeline {
    int answered, wrong;
} pipeline_t;

static void
s_count_echo (prokit_reply_t *reply, void *arg)
{
    pipeline_t *pipeline = (pipeline_t *) arg;
    pipeline->answered++;
    if (prokit_reply_status (reply) != PROKIT_OK || !prokit_reply_str (reply))
        pipeline->wrong++;
}

static bool
s_all_answered (void *arg)
{
    return ((pipeline_t *) arg)->answered >= 500;
}

//  A window with many requests in flight gathers the next ones into
//  BATCHes, sent at its next dispatch: every request still ends in
//  exactly one answer, and the router took BATCHes in.
static void
test_requests_made_with_many_in_flight_go_in_batches_each_answered (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    pthread_t thread;
    pthread_create (&thread, NULL, tu_run_main, f->main);
    prokit_window_t *window = tu_window_new (f->endpoint, "pipeliner");
    assert_non_null (window);
    pipeline_t pipeline = { 0, 0 };
    for (int i = 0; i < 500; i++) {
        prokit_payload_t *payload = prokit_payload_new_printf ("%d", i);
        assert_int_equal (
            prokit_window_request (window, NULL, &payload, 10000, s_count_echo, &pipeline),
            PROKIT_OK);
    }
    tu_handle_t handles[] = { { NULL, window } };
    bool done = tu_pump (handles, 1, s_all_answered, &pipeline, 10000);
    prokit_stats_t stats;
    prokit_main_stats (f->main, &stats, sizeof (stats));
    prokit_main_stop (f->main);
    pthread_join (thread, NULL);
    assert_true (done);
    assert_int_equal (pipeline.answered, 500);
    assert_int_equal (pipeline.wrong, 0);
    assert_true (stats.batches_received > 0);
    prokit_window_destroy (&window);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_foreign_garbage_is_counted_and_dropped_silently,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_wrong_protocol_version_gets_eversion, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_credit_past_what_was_sent_is_ignored_and_said_once,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_request_before_hello_gets_eproto, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_hello_with_invalid_name_gets_eproto, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_second_main_gets_eexist, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (
            test_version_2_peer_hears_version_2_with_small_bodies_inline_and_large_alone, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown (
            test_a_client_batch_is_handled_entry_by_entry_its_faults_refused, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (
            test_requests_made_with_many_in_flight_go_in_batches_each_answered, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown (test_malformed_version_2_messages_get_eproto_or_etoobig,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (
            test_version_1_and_version_2_peers_exchange_and_hear_broadcasts_each_in_its_own,
            s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_hello_twice_gets_eproto, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_raw_window_request_to_main_is_answered, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_bad_msgpack_body_gets_eproto, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_oversized_body_gets_etoobig, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_unknown_command_and_wrong_frame_count_get_eproto,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_commands_reserved_for_the_router_get_eproto, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_broadcast_from_a_window_gets_eacces, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_close_show_hide_from_a_window_get_eacces, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_send_to_unknown_window_gets_enotfound_naming_it,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_ping_gets_pong_and_bye_frees_the_name, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_reply_forged_by_another_peer_is_ignored, s_setup,
                                         s_teardown),
        cmocka_unit_test (test_max_payload_over_the_limit_is_refused),
        cmocka_unit_test_setup_teardown (
            test_peer_that_predates_channels_gets_none_and_senders_are_told, s_setup, s_teardown),
        cmocka_unit_test (test_window_refuses_named_channels_towards_a_router_that_predates_them),
        cmocka_unit_test_setup_teardown (test_query_is_answered_with_info_or_einval, s_setup,
                                         s_teardown),
        cmocka_unit_test (test_version_2_client_speaks_version_1_to_an_older_router),
        cmocka_unit_test (test_a_window_with_nothing_more_to_read_confirms_what_it_took_in),
        cmocka_unit_test_setup_teardown (
            test_a_default_deadline_stands_for_the_one_a_request_leaves_out, s_setup, s_teardown),
        cmocka_unit_test (test_window_says_every_deadline_unless_the_router_applies_its_default),
        cmocka_unit_test_setup_teardown (
            test_window_off_the_channel_leaving_has_what_it_missed_reported, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (
            test_window_off_the_channel_lost_has_what_it_missed_reported, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (
            test_window_off_the_channel_closed_has_what_it_missed_reported, s_setup, s_teardown),
    };
    return tu_run_tests (tests);
}
