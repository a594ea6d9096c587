/*  test_proto.c: the wire codec refuses every class of malformed input and
    round-trips what it encodes. Each malformed class has its own test so a
    failure says which rule broke. docs/PROTOCOL.md is the reference for the
    expected results. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pack.h"
#include "prokit/error.h"
#include "proto.h"

//  Codec structures are written here as positional lists of the fields a
//  test is about; the fields added after them are zero, as wanted.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

//  --- helpers -----------------------------------------------------------------

#define COUNT_OF(a) (sizeof (a) / sizeof ((a)[0]))
#define MAX_PAYLOAD 1024 //  the limit the helpers decode with

static void
s_header (uint8_t out[PROTO_HEADER_SIZE], int command, uint64_t id)
{
    proto_header_encode (out, (proto_command_t) command, id);
}

//  Decode the same message in version 2, with the body inline (ALONE
//  false) or in a second frame, built by hand (PEER_LEN may exceed what
//  the encoder writes).
static int
s_decode_v2 (int command, const void *peer, size_t peer_len, const void *body, size_t body_size,
             bool alone, proto_direction_t direction, size_t max_payload, proto_msg_t *msg)
{
    uint8_t header[PROTO_PREFIX_MAX];
    size_t header_size = proto_prefix_encode (header, (proto_command_t) command, 77, "") - 1;
    size_t first_size = header_size + 1 + peer_len + (alone ? 0 : body_size);
    uint8_t *first = (uint8_t *) malloc (first_size);
    memcpy (first, header, header_size);
    first[header_size] = (uint8_t) peer_len;
    if (peer_len > 0)
        memcpy (first + header_size + 1, peer, peer_len);
    if (!alone && body_size > 0)
        memcpy (first + header_size + 1 + peer_len, body, body_size);
    proto_frame_t frames[2] = { { first, first_size }, { body, body_size } };
    int rc = proto_decode (frames, alone ? 2 : 1, direction, max_payload, msg);
    if (rc == PROKIT_OK) {
        assert_int_equal (msg->version, PROTO_VERSION_2);
        assert_int_equal (msg->body_inline, !alone);
        assert_int_equal (msg->body_frame, alone ? 1 : 0);
        if (alone)
            assert_ptr_equal (msg->body, body);
        else
            assert_ptr_equal (msg->body, first + header_size + 1 + peer_len);
    }
    free (first);
    return rc;
}

//  Decode HEADER (command, id 77) + PEER (PEER_LEN bytes) + BODY, in
//  version 1. Every message is decoded in version 2 as well, both ways,
//  and must be judged the same: each rule below holds in both versions.
static int
s_decode_raw (int command, const void *peer, size_t peer_len, const void *body, size_t body_size,
              proto_direction_t direction, size_t max_payload, proto_msg_t *msg)
{
    uint8_t header[PROTO_HEADER_SIZE];
    s_header (header, command, 77);
    proto_frame_t frames[3] = { { header, sizeof (header) },
                                { peer, peer_len },
                                { body, body_size } };
    int rc = proto_decode (frames, 3, direction, max_payload, msg);
    if (rc == PROKIT_OK) {
        assert_int_equal (msg->version, PROTO_VERSION_1);
        assert_int_equal (msg->body_frame, 2);
        assert_false (msg->body_inline);
    }
    //  (A BATCH exists in version 2 only, its body inline: its own test.)
    if (peer_len <= 255 && command != PROTO_BATCH) {
        for (int alone = 0; alone < 2; alone++) {
            proto_msg_t v2;
            assert_int_equal (s_decode_v2 (command, peer, peer_len, body, body_size, alone,
                                           direction, max_payload, &v2),
                              rc);
            assert_int_equal (v2.command, msg->command);
            assert_true (v2.id == msg->id);
            assert_string_equal (v2.peer, msg->peer);
            assert_string_equal (v2.channel_name, msg->channel_name);
            if (rc == PROKIT_OK || rc == PROKIT_ETOOBIG)
                assert_int_equal (v2.body_size, msg->body_size);
        }
    }
    return rc;
}

//  Decode HEADER + PEER (a C string) + BODY travelling in DIRECTION.
static int
s_decode3 (int command, const char *peer, const void *body, size_t body_size,
           proto_direction_t direction, proto_msg_t *msg)
{
    return s_decode_raw (command, peer, strlen (peer), body, body_size, direction, MAX_PAYLOAD,
                         msg);
}

static const uint8_t s_nil[] = { 0xc0 };
static const uint8_t s_map[] = { 0x80 };

//  An ERROR body, encoded once.
static size_t
s_error_body (uint8_t out[PROTO_ERROR_BODY_MAX])
{
    return proto_error_encode (out, PROKIT_ENOTFOUND, "no such window", 0);
}

static int
s_check (const void *data, size_t size)
{
    return pack_check (data, size);
}

//  LEVELS one-element arrays around the single byte INNER; returns the size.
static size_t
s_nested_arrays (uint8_t *out, size_t levels, uint8_t inner)
{
    memset (out, 0x91, levels);
    out[levels] = inner;
    return levels + 1;
}

//  LEVELS one-pair maps {"k": ...} around the integer 1; returns the size.
static size_t
s_nested_maps (uint8_t *out, size_t levels)
{
    for (size_t i = 0; i < levels; i++) {
        out[3 * i] = 0x81;
        out[3 * i + 1] = 0xa1;
        out[3 * i + 2] = 'k';
    }
    out[3 * levels] = 0x01;
    return 3 * levels + 1;
}

//  --- headers -----------------------------------------------------------------

static void
test_header_is_signature_version_command_and_big_endian_id (void **state)
{
    (void) state;
    uint8_t header[PROTO_HEADER_SIZE];
    proto_header_encode (header, PROTO_SEND, 0x0102030405060708ull);
    const uint8_t expected[PROTO_HEADER_SIZE] = { 'P', 'K', 1, 4, 1, 2, 3, 4, 5, 6, 7, 8 };
    assert_memory_equal (header, expected, PROTO_HEADER_SIZE);
    assert_int_equal (PROTO_HEADER_SIZE, 12);
}

static void
test_header_round_trips_ids_0_1_2pow63_and_uint64_max (void **state)
{
    (void) state;
    const uint64_t ids[] = { 0, 1, (uint64_t) 1 << 63, UINT64_MAX };
    const uint8_t wire[][8] = {
        { 0, 0, 0, 0, 0, 0, 0, 0 },
        { 0, 0, 0, 0, 0, 0, 0, 1 },
        { 0x80, 0, 0, 0, 0, 0, 0, 0 },
        { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
    };
    for (size_t i = 0; i < COUNT_OF (ids); i++) {
        uint8_t header[PROTO_HEADER_SIZE];
        proto_header_encode (header, PROTO_REQUEST, ids[i]);
        assert_memory_equal (header + 4, wire[i], 8);
        uint8_t command = 0;
        uint64_t id = 12345;
        assert_int_equal (proto_header_decode (header, sizeof (header), &command, &id), PROKIT_OK);
        assert_int_equal (command, PROTO_REQUEST);
        assert_true (id == ids[i]);
    }
}

static void
test_every_known_command_decodes (void **state)
{
    (void) state;
    for (int cmd = PROTO_HELLO; cmd <= PROTO_COMMAND_LAST; cmd++) {
        uint8_t header[PROTO_HEADER_SIZE];
        s_header (header, cmd, 3);
        uint8_t command = 0;
        uint64_t id = 0;
        assert_int_equal (proto_header_decode (header, sizeof (header), &command, &id), PROKIT_OK);
        assert_int_equal (command, cmd);
        assert_int_equal (id, 3);
    }
}

static void
test_header_shorter_than_12_bytes_is_eproto (void **state)
{
    (void) state;
    uint8_t header[PROTO_HEADER_SIZE];
    proto_header_encode (header, PROTO_PING, 1);
    for (size_t size = 0; size < PROTO_HEADER_SIZE; size++) {
        uint8_t command = 0xff;
        uint64_t id = 0xff;
        assert_int_equal (proto_header_decode (header, size, &command, &id), PROKIT_EPROTO);
        assert_int_equal (command, 0);
        assert_int_equal (id, 0);
    }
}

static void
test_header_longer_than_12_bytes_is_eproto (void **state)
{
    (void) state;
    uint8_t header[100] = { 0 };
    proto_header_encode (header, PROTO_PING, 1);
    const size_t sizes[] = { 13, 16, 100 };
    for (size_t i = 0; i < COUNT_OF (sizes); i++) {
        uint8_t command = 0xff;
        uint64_t id = 0xff;
        assert_int_equal (proto_header_decode (header, sizes[i], &command, &id), PROKIT_EPROTO);
        assert_int_equal (command, 0);
        assert_int_equal (id, 0);
    }
}

static void
test_null_header_is_eproto (void **state)
{
    (void) state;
    uint8_t command;
    uint64_t id;
    assert_int_equal (proto_header_decode (NULL, PROTO_HEADER_SIZE, &command, &id), PROKIT_EPROTO);
    assert_int_equal (proto_header_decode (NULL, 0, &command, &id), PROKIT_EPROTO);
}

static void
test_header_with_a_wrong_signature_is_eproto (void **state)
{
    (void) state;
    const uint8_t bad[][2] = { { 'X', 'K' }, { 'P', 'X' }, { 'K', 'P' }, { 0, 0 }, { 'p', 'k' } };
    for (size_t i = 0; i < COUNT_OF (bad); i++) {
        uint8_t header[PROTO_HEADER_SIZE];
        proto_header_encode (header, PROTO_PING, 1);
        header[0] = bad[i][0];
        header[1] = bad[i][1];
        uint8_t command = 0xff;
        uint64_t id = 0xff;
        assert_int_equal (proto_header_decode (header, sizeof (header), &command, &id),
                          PROKIT_EPROTO);
        assert_int_equal (command, 0);
        assert_int_equal (id, 0);
        //  The signature is checked before the version.
        header[2] = PROTO_VERSION_MAX + 1;
        assert_int_equal (proto_header_decode (header, sizeof (header), &command, &id),
                          PROKIT_EPROTO);
    }
}

static void
test_header_with_other_version_is_eversion (void **state)
{
    (void) state;
    const uint8_t versions[] = { 0, PROTO_VERSION_MAX + 1, 255 };
    for (size_t i = 0; i < COUNT_OF (versions); i++) {
        uint8_t header[PROTO_HEADER_SIZE];
        proto_header_encode (header, PROTO_HELLO, 5);
        header[2] = versions[i];
        uint8_t command = 0xff;
        uint64_t id = 0xff;
        assert_int_equal (proto_header_decode (header, sizeof (header), &command, &id),
                          PROKIT_EVERSION);
        assert_int_equal (command, 0);
        assert_int_equal (id, 0);
    }
}

static void
test_short_or_long_header_with_other_version_is_eversion (void **state)
{
    (void) state;
    uint8_t header[64] = { 0 };
    proto_header_encode (header, PROTO_HELLO, 5);
    header[2] = PROTO_VERSION_MAX + 1;
    const size_t sizes[] = { 3, 4, 11, 13, 64 };
    for (size_t i = 0; i < COUNT_OF (sizes); i++) {
        uint8_t command;
        uint64_t id;
        assert_int_equal (proto_header_decode (header, sizes[i], &command, &id), PROKIT_EVERSION);
    }
}

static void
test_two_byte_header_is_eproto_even_with_a_signature (void **state)
{
    (void) state;
    const uint8_t header[] = { 'P', 'K', PROTO_VERSION_MAX + 1 };
    uint8_t command;
    uint64_t id;
    assert_int_equal (proto_header_decode (header, 2, &command, &id), PROKIT_EPROTO);
    assert_int_equal (proto_header_decode (header, 1, &command, &id), PROKIT_EPROTO);
}

static void
test_command_0_is_eproto (void **state)
{
    (void) state;
    uint8_t header[PROTO_HEADER_SIZE];
    s_header (header, 0, 5);
    uint8_t command = 0xff;
    uint64_t id = 0;
    assert_int_equal (proto_header_decode (header, sizeof (header), &command, &id), PROKIT_EPROTO);
    assert_int_equal (command, 0);
    //  The header could be read: its id is reported, to answer with.
    assert_int_equal (id, 5);
}

static void
test_commands_past_the_last_are_eproto (void **state)
{
    (void) state;
    //  BATCH (25) is the last: the first unknown one is 26.
    assert_int_equal (PROTO_COMMAND_LAST, 25);
    for (int cmd = PROTO_COMMAND_LAST + 1; cmd <= 255; cmd++) {
        uint8_t header[PROTO_HEADER_SIZE];
        s_header (header, cmd, 6);
        uint8_t command = 0xff;
        uint64_t id = 0;
        assert_int_equal (proto_header_decode (header, sizeof (header), &command, &id),
                          PROKIT_EPROTO);
        assert_int_equal (command, 0);
        assert_int_equal (id, 6);
    }
}

static void
test_every_command_has_its_name (void **state)
{
    (void) state;
    const char *names[] = { "HELLO",    "WELCOME", "BYE",    "SEND",    "BROADCAST",
                            "REQUEST",  "REPLY",   "ERROR",  "PING",    "PONG",
                            "JOINED",   "LEFT",    "CLOSE",  "SHOW",    "HIDE",
                            "QUERY",    "INFO",    "CREDIT", "RECEIPT", "ACCOUNT",
                            "PROGRESS", "CANCEL",  "TOOK",   "FLOW",    "BATCH" };
    assert_int_equal (COUNT_OF (names), PROTO_COMMAND_LAST);
    for (int cmd = PROTO_HELLO; cmd <= PROTO_COMMAND_LAST; cmd++)
        assert_string_equal (proto_command_name (cmd), names[cmd - 1]);
}

static void
test_unknown_command_name_is_a_question_mark (void **state)
{
    (void) state;
    const int unknown[] = { 0, -1, PROTO_COMMAND_LAST + 1, 255, 256, INT_MAX, INT_MIN };
    for (size_t i = 0; i < COUNT_OF (unknown); i++)
        assert_string_equal (proto_command_name (unknown[i]), "?");
}

//  --- frames --------------------------------------------------------------------

static void
test_one_two_or_four_frames_are_eproto (void **state)
{
    (void) state;
    uint8_t header[PROTO_HEADER_SIZE];
    s_header (header, PROTO_SEND, 9);
    proto_frame_t frames[4] = {
        { header, sizeof (header) }, { "work", 4 }, { s_nil, 1 }, { s_nil, 1 }
    };
    proto_msg_t msg;
    assert_int_equal (proto_decode (frames, 3, PROTO_TO_ROUTER, MAX_PAYLOAD, &msg), PROKIT_OK);
    const size_t counts[] = { 1, 2, 4 };
    for (size_t i = 0; i < COUNT_OF (counts); i++) {
        memset (&msg, 0xee, sizeof (msg));
        assert_int_equal (proto_decode (frames, counts[i], PROTO_TO_ROUTER, MAX_PAYLOAD, &msg),
                          PROKIT_EPROTO);
        //  The header was good: command and id are reported, to answer with.
        assert_int_equal (msg.command, PROTO_SEND);
        assert_int_equal (msg.id, 9);
    }
}

static void
test_zero_frames_are_eproto (void **state)
{
    (void) state;
    proto_msg_t msg;
    memset (&msg, 0xee, sizeof (msg));
    proto_frame_t frame = { NULL, 0 };
    assert_int_equal (proto_decode (&frame, 0, PROTO_TO_ROUTER, MAX_PAYLOAD, &msg), PROKIT_EPROTO);
    assert_int_equal (msg.command, 0);
    assert_int_equal (msg.id, 0);
}

static void
test_bad_header_leaves_command_and_id_zero (void **state)
{
    (void) state;
    uint8_t header[PROTO_HEADER_SIZE];
    s_header (header, PROTO_SEND, 9);
    header[0] = 'X';
    proto_frame_t frames[3] = { { header, sizeof (header) }, { "work", 4 }, { s_nil, 1 } };
    proto_msg_t msg;
    memset (&msg, 0xee, sizeof (msg));
    assert_int_equal (proto_decode (frames, 3, PROTO_TO_ROUTER, MAX_PAYLOAD, &msg), PROKIT_EPROTO);
    assert_int_equal (msg.command, 0);
    assert_int_equal (msg.id, 0);
    assert_null (msg.body);
    assert_string_equal (msg.peer, "");
}

static void
test_decode_reports_eversion_from_the_header (void **state)
{
    (void) state;
    uint8_t header[PROTO_HEADER_SIZE];
    s_header (header, PROTO_HELLO, 9);
    header[2] = PROTO_VERSION_MAX + 1;
    proto_frame_t frames[3] = { { header, sizeof (header) }, { "work", 4 }, { s_map, 1 } };
    proto_msg_t msg;
    assert_int_equal (proto_decode (frames, 3, PROTO_TO_ROUTER, MAX_PAYLOAD, &msg),
                      PROKIT_EVERSION);
    //  ... also when the frame count is wrong too: the version comes first.
    assert_int_equal (proto_decode (frames, 1, PROTO_TO_ROUTER, MAX_PAYLOAD, &msg),
                      PROKIT_EVERSION);
    assert_int_equal (proto_decode (frames, 3, PROTO_TO_CLIENT, MAX_PAYLOAD, &msg),
                      PROKIT_EVERSION);
}

static void
test_decoded_message_is_filled_completely (void **state)
{
    (void) state;
    proto_msg_t msg;
    memset (&msg, 0xee, sizeof (msg));
    const uint8_t body[] = { 0xa2, 'h', 'i' };
    assert_int_equal (s_decode3 (PROTO_REQUEST, "@main", body, 3, PROTO_TO_ROUTER, &msg),
                      PROKIT_OK);
    assert_int_equal (msg.command, PROTO_REQUEST);
    assert_int_equal (msg.id, 77);
    assert_string_equal (msg.peer, "@main");
    assert_ptr_equal (msg.body, body); //  points into the frame, not copied
    assert_int_equal (msg.body_size, 3);
    //  Short names are copied too.
    assert_int_equal (s_decode3 (PROTO_SEND, "x", body, 3, PROTO_TO_CLIENT, &msg), PROKIT_OK);
    assert_string_equal (msg.peer, "x");
}

static void
test_decoded_empty_peer_is_an_empty_string (void **state)
{
    (void) state;
    proto_msg_t msg;
    memset (&msg, 0xee, sizeof (msg));
    assert_int_equal (
        s_decode_raw (PROTO_PING, NULL, 0, NULL, 0, PROTO_TO_ROUTER, MAX_PAYLOAD, &msg), PROKIT_OK);
    assert_int_equal (msg.command, PROTO_PING);
    assert_string_equal (msg.peer, "");
    assert_int_equal (msg.body_size, 0);
}

//  --- peer frame rules per command and direction ------------------------------------

//  The command table of docs/PROTOCOL.md section 3, written out again here.
typedef enum {
    PEER_NEVER, //  the command may not travel this way
    PEER_MUST_BE_EMPTY,
    PEER_IS_WINDOW,
    PEER_IS_NAME, //  a window or @main
    PEER_IS_NAME_OR_EMPTY
} peer_expect_t;

typedef enum { BODY_IS_EMPTY, BODY_IS_VALUE, BODY_IS_MAP, BODY_IS_ERROR } body_expect_t;

static const struct {
    int command;
    peer_expect_t to_router;
    peer_expect_t to_client;
    body_expect_t body;
} s_table[] = {
    { PROTO_HELLO, PEER_IS_NAME, PEER_NEVER, BODY_IS_MAP },
    { PROTO_WELCOME, PEER_NEVER, PEER_IS_NAME, BODY_IS_MAP },
    { PROTO_BYE, PEER_MUST_BE_EMPTY, PEER_MUST_BE_EMPTY, BODY_IS_MAP },
    { PROTO_SEND, PEER_IS_WINDOW, PEER_IS_NAME, BODY_IS_VALUE },
    { PROTO_BROADCAST, PEER_MUST_BE_EMPTY, PEER_IS_NAME, BODY_IS_VALUE },
    { PROTO_REQUEST, PEER_IS_NAME, PEER_IS_NAME, BODY_IS_VALUE },
    { PROTO_REPLY, PEER_IS_NAME, PEER_IS_NAME, BODY_IS_VALUE },
    { PROTO_ERROR, PEER_IS_NAME, PEER_IS_NAME_OR_EMPTY, BODY_IS_ERROR },
    { PROTO_PING, PEER_MUST_BE_EMPTY, PEER_MUST_BE_EMPTY, BODY_IS_EMPTY },
    { PROTO_PONG, PEER_MUST_BE_EMPTY, PEER_MUST_BE_EMPTY, BODY_IS_EMPTY },
    { PROTO_JOINED, PEER_NEVER, PEER_IS_WINDOW, BODY_IS_MAP },
    { PROTO_LEFT, PEER_NEVER, PEER_IS_WINDOW, BODY_IS_MAP },
    { PROTO_CLOSE, PEER_IS_WINDOW, PEER_IS_NAME, BODY_IS_MAP },
    { PROTO_SHOW, PEER_IS_WINDOW, PEER_IS_NAME, BODY_IS_EMPTY },
    { PROTO_HIDE, PEER_IS_WINDOW, PEER_IS_NAME, BODY_IS_EMPTY },
    { PROTO_QUERY, PEER_MUST_BE_EMPTY, PEER_NEVER, BODY_IS_MAP },
    { PROTO_INFO, PEER_NEVER, PEER_MUST_BE_EMPTY, BODY_IS_VALUE },
    { PROTO_CREDIT, PEER_MUST_BE_EMPTY, PEER_NEVER, BODY_IS_MAP },
    { PROTO_RECEIPT, PEER_NEVER, PEER_MUST_BE_EMPTY, BODY_IS_MAP },
    { PROTO_ACCOUNT, PEER_NEVER, PEER_MUST_BE_EMPTY, BODY_IS_MAP },
    { PROTO_PROGRESS, PEER_IS_NAME, PEER_IS_NAME, BODY_IS_VALUE },
    { PROTO_CANCEL, PEER_IS_NAME, PEER_IS_NAME, BODY_IS_EMPTY },
    { PROTO_TOOK, PEER_NEVER, PEER_IS_WINDOW, BODY_IS_MAP },
    { PROTO_FLOW, PEER_NEVER, PEER_IS_WINDOW, BODY_IS_MAP },
    //  Version 2 only (test_batch_holds_channel_messages_in_order).
    { PROTO_BATCH, PEER_NEVER, PEER_NEVER, BODY_IS_EMPTY },
};

//  A body that satisfies EXPECT; returns its size.
static size_t
s_good_body (body_expect_t expect, uint8_t out[PROTO_ERROR_BODY_MAX])
{
    switch (expect) {
    case BODY_IS_EMPTY: return 0;
    case BODY_IS_VALUE: out[0] = 0xc0; return 1;
    case BODY_IS_MAP: out[0] = 0x80; return 1;
    case BODY_IS_ERROR: return s_error_body (out);
    }
    return 0;
}

static bool
s_peer_allowed (peer_expect_t expect, const char *peer)
{
    bool empty = strcmp (peer, "") == 0;
    bool window = strcmp (peer, "work") == 0;
    bool main_name = strcmp (peer, PROTO_MAIN_NAME) == 0;
    switch (expect) {
    case PEER_NEVER: return false;
    case PEER_MUST_BE_EMPTY: return empty;
    case PEER_IS_WINDOW: return window;
    case PEER_IS_NAME: return window || main_name;
    case PEER_IS_NAME_OR_EMPTY: return empty || window || main_name;
    }
    return false;
}

static void
test_table_covers_every_command (void **state)
{
    (void) state;
    assert_int_equal (COUNT_OF (s_table), PROTO_COMMAND_LAST);
    for (size_t i = 0; i < COUNT_OF (s_table); i++)
        assert_int_equal (s_table[i].command, (int) i + 1);
}

static void
test_peer_frame_follows_each_commands_rule_in_each_direction (void **state)
{
    (void) state;
    const char *peers[] = { "", "work", "@main", "@other", "-bad", "two words" };
    for (size_t i = 0; i < COUNT_OF (s_table); i++) {
        uint8_t body[PROTO_ERROR_BODY_MAX];
        size_t body_size = s_good_body (s_table[i].body, body);
        for (int d = 0; d < 2; d++) {
            proto_direction_t direction = d == 0 ? PROTO_TO_ROUTER : PROTO_TO_CLIENT;
            peer_expect_t expect = d == 0 ? s_table[i].to_router : s_table[i].to_client;
            for (size_t p = 0; p < COUNT_OF (peers); p++) {
                proto_msg_t msg;
                int rc = s_decode3 (s_table[i].command, peers[p], body, body_size, direction, &msg);
                int want = s_peer_allowed (expect, peers[p]) ? PROKIT_OK : PROKIT_EPROTO;
                if (rc != want)
                    fail_msg ("%s %s peer \"%s\": got %d, want %d",
                              proto_command_name (s_table[i].command),
                              d == 0 ? "to router" : "to client", peers[p], rc, want);
                if (rc == PROKIT_OK) {
                    assert_string_equal (msg.peer, peers[p]);
                    assert_int_equal (msg.command, s_table[i].command);
                }
            }
        }
    }
}

static void
test_body_follows_each_commands_rule (void **state)
{
    (void) state;
    //  For each command, in a direction it may travel, with a peer it may
    //  carry: each kind of body is accepted exactly when it is the right one.
    uint8_t error_body[PROTO_ERROR_BODY_MAX];
    size_t error_size = s_error_body (error_body);
    const struct {
        const uint8_t *data;
        size_t size;
        body_expect_t fits; //  the strictest rule it satisfies
    } bodies[] = {
        { NULL, 0, BODY_IS_EMPTY },
        { s_nil, 1, BODY_IS_VALUE },
        { s_map, 1, BODY_IS_MAP },
        { error_body, error_size, BODY_IS_ERROR },
    };
    for (size_t i = 0; i < COUNT_OF (s_table); i++) {
        if (s_table[i].command == PROTO_BATCH)
            continue; //  on the channel only: a test of its own
        bool to_router = s_table[i].to_router != PEER_NEVER;
        peer_expect_t expect = to_router ? s_table[i].to_router : s_table[i].to_client;
        const char *peer = s_peer_allowed (expect, "") ? "" : "work";
        for (size_t b = 0; b < COUNT_OF (bodies); b++) {
            body_expect_t rule = s_table[i].body;
            bool ok = bodies[b].fits == rule ||
                      //  An empty body is an empty map; a map and an
                      //  error array are values too.
                      (rule == BODY_IS_MAP && bodies[b].fits == BODY_IS_EMPTY) ||
                      (rule == BODY_IS_VALUE &&
                       (bodies[b].fits == BODY_IS_MAP || bodies[b].fits == BODY_IS_ERROR));
            proto_msg_t msg;
            int rc = s_decode3 (s_table[i].command, peer, bodies[b].data, bodies[b].size,
                                to_router ? PROTO_TO_ROUTER : PROTO_TO_CLIENT, &msg);
            int want = ok ? PROKIT_OK : PROKIT_EPROTO;
            if (rc != want)
                fail_msg ("%s body #%zu: got %d, want %d", proto_command_name (s_table[i].command),
                          b, rc, want);
        }
    }
}

static void
test_send_to_the_router_needs_a_window_name (void **state)
{
    (void) state;
    proto_msg_t msg;
    assert_int_equal (s_decode3 (PROTO_SEND, "work", s_nil, 1, PROTO_TO_ROUTER, &msg), PROKIT_OK);
    assert_int_equal (s_decode3 (PROTO_SEND, "", s_nil, 1, PROTO_TO_ROUTER, &msg), PROKIT_EPROTO);
}

static void
test_send_to_the_router_may_not_target_main (void **state)
{
    (void) state;
    proto_msg_t msg;
    assert_int_equal (s_decode3 (PROTO_SEND, "@main", s_nil, 1, PROTO_TO_ROUTER, &msg),
                      PROKIT_EPROTO);
    //  From the router, a SEND names its source, which may be main.
    assert_int_equal (s_decode3 (PROTO_SEND, "@main", s_nil, 1, PROTO_TO_CLIENT, &msg), PROKIT_OK);
}

static void
test_request_and_reply_may_target_main (void **state)
{
    (void) state;
    proto_msg_t msg;
    assert_int_equal (s_decode3 (PROTO_REQUEST, "@main", s_nil, 1, PROTO_TO_ROUTER, &msg),
                      PROKIT_OK);
    assert_int_equal (s_decode3 (PROTO_REPLY, "@main", s_nil, 1, PROTO_TO_ROUTER, &msg), PROKIT_OK);
    assert_int_equal (s_decode3 (PROTO_REQUEST, "@other", s_nil, 1, PROTO_TO_ROUTER, &msg),
                      PROKIT_EPROTO);
    assert_int_equal (s_decode3 (PROTO_REQUEST, "", s_nil, 1, PROTO_TO_ROUTER, &msg),
                      PROKIT_EPROTO);
}

static void
test_broadcast_to_the_router_has_an_empty_peer (void **state)
{
    (void) state;
    proto_msg_t msg;
    assert_int_equal (s_decode3 (PROTO_BROADCAST, "", s_nil, 1, PROTO_TO_ROUTER, &msg), PROKIT_OK);
    assert_int_equal (s_decode3 (PROTO_BROADCAST, "work", s_nil, 1, PROTO_TO_ROUTER, &msg),
                      PROKIT_EPROTO);
    assert_int_equal (s_decode3 (PROTO_BROADCAST, "@main", s_nil, 1, PROTO_TO_CLIENT, &msg),
                      PROKIT_OK);
}

static void
test_ping_and_pong_must_have_an_empty_peer_and_body (void **state)
{
    (void) state;
    const int commands[] = { PROTO_PING, PROTO_PONG };
    for (size_t i = 0; i < 2; i++) {
        for (int d = 0; d < 2; d++) {
            proto_direction_t direction = d == 0 ? PROTO_TO_ROUTER : PROTO_TO_CLIENT;
            proto_msg_t msg;
            assert_int_equal (s_decode3 (commands[i], "", NULL, 0, direction, &msg), PROKIT_OK);
            assert_int_equal (s_decode3 (commands[i], "x", NULL, 0, direction, &msg),
                              PROKIT_EPROTO);
            assert_int_equal (s_decode3 (commands[i], "", s_nil, 1, direction, &msg),
                              PROKIT_EPROTO);
            assert_int_equal (s_decode3 (commands[i], "", s_map, 1, direction, &msg),
                              PROKIT_EPROTO);
        }
    }
}

static void
test_joined_and_left_never_go_to_the_router (void **state)
{
    (void) state;
    proto_msg_t msg;
    const int commands[] = { PROTO_JOINED, PROTO_LEFT };
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal (s_decode3 (commands[i], "work", s_map, 1, PROTO_TO_ROUTER, &msg),
                          PROKIT_EPROTO);
        assert_int_equal (s_decode3 (commands[i], "", s_map, 1, PROTO_TO_ROUTER, &msg),
                          PROKIT_EPROTO);
        assert_int_equal (s_decode3 (commands[i], "work", s_map, 1, PROTO_TO_CLIENT, &msg),
                          PROKIT_OK);
        //  They are about windows, never about main.
        assert_int_equal (s_decode3 (commands[i], "@main", s_map, 1, PROTO_TO_CLIENT, &msg),
                          PROKIT_EPROTO);
    }
}

static void
test_welcome_never_goes_to_the_router_and_hello_never_to_a_client (void **state)
{
    (void) state;
    proto_msg_t msg;
    assert_int_equal (s_decode3 (PROTO_WELCOME, "work", s_map, 1, PROTO_TO_ROUTER, &msg),
                      PROKIT_EPROTO);
    assert_int_equal (s_decode3 (PROTO_WELCOME, "work", s_map, 1, PROTO_TO_CLIENT, &msg),
                      PROKIT_OK);
    assert_int_equal (s_decode3 (PROTO_HELLO, "work", s_map, 1, PROTO_TO_CLIENT, &msg),
                      PROKIT_EPROTO);
    assert_int_equal (s_decode3 (PROTO_HELLO, "work", s_map, 1, PROTO_TO_ROUTER, &msg), PROKIT_OK);
    assert_int_equal (s_decode3 (PROTO_HELLO, "@main", s_map, 1, PROTO_TO_ROUTER, &msg), PROKIT_OK);
}

static void
test_error_to_a_client_may_have_an_empty_peer (void **state)
{
    (void) state;
    uint8_t body[PROTO_ERROR_BODY_MAX];
    size_t size = s_error_body (body);
    proto_msg_t msg;
    assert_int_equal (s_decode3 (PROTO_ERROR, "", body, size, PROTO_TO_CLIENT, &msg), PROKIT_OK);
    assert_int_equal (s_decode3 (PROTO_ERROR, "work", body, size, PROTO_TO_CLIENT, &msg),
                      PROKIT_OK);
    //  Towards the router, an ERROR answers a request: it names the requester.
    assert_int_equal (s_decode3 (PROTO_ERROR, "", body, size, PROTO_TO_ROUTER, &msg),
                      PROKIT_EPROTO);
    assert_int_equal (s_decode3 (PROTO_ERROR, "@main", body, size, PROTO_TO_ROUTER, &msg),
                      PROKIT_OK);
}

//  --- names ---------------------------------------------------------------------

static void
test_window_name_of_64_chars_is_valid_and_65_is_too_long (void **state)
{
    (void) state;
    char name[PROTO_NAME_MAX + 2];
    memset (name, 'n', sizeof (name));
    assert_int_equal (PROTO_NAME_MAX, 64);
    assert_true (proto_window_name_valid (name, 1));
    assert_true (proto_window_name_valid (name, PROTO_NAME_MAX));
    assert_false (proto_window_name_valid (name, PROTO_NAME_MAX + 1));
    assert_false (proto_window_name_valid (name, PROTO_NAME_MAX + 2));
    assert_true (proto_peer_name_valid (name, PROTO_NAME_MAX));
    assert_false (proto_peer_name_valid (name, PROTO_NAME_MAX + 1));
}

static void
test_empty_or_null_name_is_invalid (void **state)
{
    (void) state;
    assert_false (proto_window_name_valid ("", 0));
    assert_false (proto_window_name_valid (NULL, 0));
    assert_false (proto_window_name_valid (NULL, 4));
    assert_false (proto_peer_name_valid ("", 0));
    assert_false (proto_peer_name_valid (NULL, 0));
    assert_false (proto_peer_name_valid (NULL, 5));
}

static void
test_window_name_may_not_start_with_dot_dash_or_underscore (void **state)
{
    (void) state;
    const char *bad[] = { ".hidden", "-x", "_x", ".", "-", "_" };
    for (size_t i = 0; i < COUNT_OF (bad); i++)
        assert_false (proto_window_name_valid (bad[i], strlen (bad[i])));
    const char *good[] = { "a", "Z", "0", "9lives", "x.y", "x-y", "x_y", "A-1.b_c", "end." };
    for (size_t i = 0; i < COUNT_OF (good); i++)
        assert_true (proto_window_name_valid (good[i], strlen (good[i])));
}

static void
test_window_name_chars_are_letters_digits_dot_dash_underscore (void **state)
{
    (void) state;
    for (int ch = 0; ch < 256; ch++) {
        bool alnum =
            (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
        bool inner = alnum || ch == '.' || ch == '-' || ch == '_';
        char first[2] = { (char) ch, 'a' };
        char middle[3] = { 'a', (char) ch, 'a' };
        if (proto_window_name_valid (first, 2) != alnum)
            fail_msg ("byte 0x%02x first", ch);
        if (proto_window_name_valid (middle, 3) != inner)
            fail_msg ("byte 0x%02x inside", ch);
    }
}

static void
test_name_with_an_embedded_nul_is_invalid (void **state)
{
    (void) state;
    assert_false (proto_window_name_valid ("a\0b", 3));
    assert_false (proto_window_name_valid ("ab\0", 3));
    assert_false (proto_peer_name_valid ("@main\0", 6));
    assert_false (proto_peer_name_valid ("a\0b", 3));
}

static void
test_main_is_a_peer_name_but_not_a_window_name (void **state)
{
    (void) state;
    assert_true (proto_peer_name_valid ("@main", 5));
    assert_false (proto_window_name_valid ("@main", 5));
    const char *bad[] = { "@other", "@mainx", "@mai", "@MAIN", "@", "main@" };
    for (size_t i = 0; i < COUNT_OF (bad); i++)
        assert_false (proto_peer_name_valid (bad[i], strlen (bad[i])));
    //  Only the first LEN bytes count.
    assert_false (proto_peer_name_valid ("@main", 4));
    assert_true (proto_peer_name_valid ("main", 4));
}

static void
test_peer_frame_of_65_bytes_is_eproto_and_64_is_copied_whole (void **state)
{
    (void) state;
    char name[PROTO_NAME_MAX + 2];
    memset (name, 'n', PROTO_NAME_MAX + 1);
    name[PROTO_NAME_MAX + 1] = 0;
    proto_msg_t msg;
    assert_int_equal (s_decode3 (PROTO_SEND, name, s_nil, 1, PROTO_TO_ROUTER, &msg), PROKIT_EPROTO);
    assert_int_equal (s_decode3 (PROTO_ERROR, name, NULL, 0, PROTO_TO_CLIENT, &msg), PROKIT_EPROTO);
    name[PROTO_NAME_MAX] = 0;
    memset (&msg, 0xee, sizeof (msg));
    assert_int_equal (s_decode3 (PROTO_SEND, name, s_nil, 1, PROTO_TO_ROUTER, &msg), PROKIT_OK);
    assert_int_equal (strlen (msg.peer), PROTO_NAME_MAX);
    assert_string_equal (msg.peer, name);
}

static void
test_peer_frame_with_an_embedded_nul_is_eproto (void **state)
{
    (void) state;
    proto_msg_t msg;
    assert_int_equal (
        s_decode_raw (PROTO_SEND, "wo\0rk", 5, s_nil, 1, PROTO_TO_ROUTER, MAX_PAYLOAD, &msg),
        PROKIT_EPROTO);
    assert_int_equal (
        s_decode_raw (PROTO_REQUEST, "@main\0", 6, s_nil, 1, PROTO_TO_ROUTER, MAX_PAYLOAD, &msg),
        PROKIT_EPROTO);
}

static void
test_peer_frame_with_a_bad_name_is_eproto (void **state)
{
    (void) state;
    const char *bad[] = { ".hidden", "-x", "_x", "has space", "slash/", "@other", "caf\xc3\xa9" };
    for (size_t i = 0; i < COUNT_OF (bad); i++) {
        proto_msg_t msg;
        assert_int_equal (s_decode3 (PROTO_REQUEST, bad[i], s_nil, 1, PROTO_TO_ROUTER, &msg),
                          PROKIT_EPROTO);
        assert_int_equal (s_decode3 (PROTO_REQUEST, bad[i], s_nil, 1, PROTO_TO_CLIENT, &msg),
                          PROKIT_EPROTO);
    }
}

//  --- bodies --------------------------------------------------------------------

static void
test_payload_commands_refuse_an_empty_body (void **state)
{
    (void) state;
    proto_msg_t msg;
    assert_int_equal (s_decode3 (PROTO_SEND, "w", NULL, 0, PROTO_TO_ROUTER, &msg), PROKIT_EPROTO);
    assert_int_equal (s_decode3 (PROTO_BROADCAST, "", NULL, 0, PROTO_TO_ROUTER, &msg),
                      PROKIT_EPROTO);
    assert_int_equal (s_decode3 (PROTO_REQUEST, "w", NULL, 0, PROTO_TO_ROUTER, &msg),
                      PROKIT_EPROTO);
    assert_int_equal (s_decode3 (PROTO_REPLY, "w", NULL, 0, PROTO_TO_CLIENT, &msg), PROKIT_EPROTO);
}

static void
test_payload_body_of_invalid_msgpack_is_eproto (void **state)
{
    (void) state;
    proto_msg_t msg;
    const uint8_t truncated[] = { 0xa5, 'x' };
    const uint8_t two_values[] = { 0xc0, 0xc0 };
    const uint8_t reserved[] = { 0xc1 };
    assert_int_equal (s_decode3 (PROTO_SEND, "w", truncated, 2, PROTO_TO_ROUTER, &msg),
                      PROKIT_EPROTO);
    assert_int_equal (s_decode3 (PROTO_REPLY, "w", two_values, 2, PROTO_TO_ROUTER, &msg),
                      PROKIT_EPROTO);
    assert_int_equal (s_decode3 (PROTO_REQUEST, "w", reserved, 1, PROTO_TO_CLIENT, &msg),
                      PROKIT_EPROTO);
}

static void
test_payload_body_over_max_payload_is_etoobig (void **state)
{
    (void) state;
    uint8_t body[MAX_PAYLOAD + 1];
    //  bin16 of MAX_PAYLOAD - 2 bytes: MAX_PAYLOAD + 1 bytes in all.
    body[0] = 0xc5;
    body[1] = (uint8_t) ((MAX_PAYLOAD - 2) >> 8);
    body[2] = (uint8_t) (MAX_PAYLOAD - 2);
    memset (body + 3, 0, MAX_PAYLOAD - 2);
    assert_int_equal (pack_check (body, sizeof (body)), PROKIT_OK);
    proto_msg_t msg;
    assert_int_equal (s_decode3 (PROTO_REQUEST, "w", body, sizeof (body), PROTO_TO_ROUTER, &msg),
                      PROKIT_ETOOBIG);
    assert_int_equal (s_decode3 (PROTO_SEND, "w", body, sizeof (body), PROTO_TO_CLIENT, &msg),
                      PROKIT_ETOOBIG);
    //  Exactly at the limit is fine.
    body[2] = (uint8_t) (MAX_PAYLOAD - 3);
    assert_int_equal (s_decode3 (PROTO_REQUEST, "w", body, MAX_PAYLOAD, PROTO_TO_ROUTER, &msg),
                      PROKIT_OK);
    assert_int_equal (msg.body_size, MAX_PAYLOAD);
}

static void
test_payload_size_is_checked_before_its_content (void **state)
{
    (void) state;
    uint8_t body[MAX_PAYLOAD + 1];
    memset (body, 0xc1, sizeof (body));
    proto_msg_t msg;
    assert_int_equal (s_decode3 (PROTO_REPLY, "w", body, sizeof (body), PROTO_TO_ROUTER, &msg),
                      PROKIT_ETOOBIG);
    assert_int_equal (s_decode3 (PROTO_REPLY, "w", body, MAX_PAYLOAD, PROTO_TO_ROUTER, &msg),
                      PROKIT_EPROTO);
}

static void
test_max_payload_does_not_bound_map_or_error_bodies (void **state)
{
    (void) state;
    uint8_t body[PROTO_ERROR_BODY_MAX];
    size_t size = s_error_body (body);
    proto_msg_t msg;
    assert_int_equal (s_decode_raw (PROTO_ERROR, "w", 1, body, size, PROTO_TO_CLIENT, 1, &msg),
                      PROKIT_OK);
    const uint8_t map[] = { 0x81, 0xa1, 'k', 0xc0 };
    assert_int_equal (
        s_decode_raw (PROTO_HELLO, "w", 1, map, sizeof (map), PROTO_TO_ROUTER, 1, &msg), PROKIT_OK);
    //  ... while a payload of the same size is too big.
    const uint8_t value[] = { 0x91, 0xc0 };
    assert_int_equal (s_decode_raw (PROTO_SEND, "w", 1, value, 2, PROTO_TO_ROUTER, 1, &msg),
                      PROKIT_ETOOBIG);
}

static void
test_map_bodies_may_be_empty_or_any_map_encoding (void **state)
{
    (void) state;
    const uint8_t map16[] = { 0xde, 0x00, 0x01, 0xa1, 'k', 0x01 };
    const uint8_t map32[] = { 0xdf, 0x00, 0x00, 0x00, 0x00 };
    const uint8_t fixmap[] = { 0x82, 0xa1, 'a', 0x01, 0x02, 0x92, 0x01, 0x02 };
    const struct {
        const uint8_t *data;
        size_t size;
    } bodies[] = { { NULL, 0 }, { s_map, 1 }, { map16, 6 }, { map32, 5 }, { fixmap, 8 } };
    const int commands[] = { PROTO_HELLO, PROTO_BYE, PROTO_CLOSE };
    for (size_t c = 0; c < COUNT_OF (commands); c++)
        for (size_t b = 0; b < COUNT_OF (bodies); b++) {
            proto_msg_t msg;
            assert_int_equal (s_decode3 (commands[c], commands[c] == PROTO_BYE ? "" : "w",
                                         bodies[b].data, bodies[b].size, PROTO_TO_ROUTER, &msg),
                              PROKIT_OK);
            assert_int_equal (msg.body_size, bodies[b].size);
        }
}

static void
test_map_body_that_is_not_a_map_is_eproto (void **state)
{
    (void) state;
    const uint8_t bodies[][3] = {
        { 0x90 },       { 0x91, 0x80 },      { 0xc0 }, { 0x01 }, { 0xa1, 'k' },
        { 0xc4, 0x00 }, { 0xdc, 0x00, 0x00 }
    };
    const size_t sizes[] = { 1, 2, 1, 1, 2, 2, 3 };
    for (size_t i = 0; i < COUNT_OF (sizes); i++) {
        proto_msg_t msg;
        assert_int_equal (s_decode3 (PROTO_HELLO, "w", bodies[i], sizes[i], PROTO_TO_ROUTER, &msg),
                          PROKIT_EPROTO);
        assert_int_equal (
            s_decode3 (PROTO_WELCOME, "w", bodies[i], sizes[i], PROTO_TO_CLIENT, &msg),
            PROKIT_EPROTO);
    }
}

static void
test_map_body_of_invalid_msgpack_is_eproto (void **state)
{
    (void) state;
    const uint8_t truncated[] = { 0x81, 0xa1, 'k' };
    const uint8_t trailing[] = { 0x80, 0x00 };
    const uint8_t reserved[] = { 0x81, 0xc1, 0xc0 };
    const uint8_t lying[] = { 0xdf, 0xff, 0xff, 0xff, 0xff, 0xc0, 0xc0 };
    proto_msg_t msg;
    assert_int_equal (s_decode3 (PROTO_HELLO, "w", truncated, 3, PROTO_TO_ROUTER, &msg),
                      PROKIT_EPROTO);
    assert_int_equal (s_decode3 (PROTO_HELLO, "w", trailing, 2, PROTO_TO_ROUTER, &msg),
                      PROKIT_EPROTO);
    assert_int_equal (s_decode3 (PROTO_HELLO, "w", reserved, 3, PROTO_TO_ROUTER, &msg),
                      PROKIT_EPROTO);
    assert_int_equal (s_decode3 (PROTO_HELLO, "w", lying, 7, PROTO_TO_ROUTER, &msg), PROKIT_EPROTO);
}

//  A map {"k": "vvv..."} of exactly SIZE bytes (SIZE >= 6, < 65536 + 6).
static void
s_map_of_size (uint8_t *out, size_t size)
{
    out[0] = 0x81;
    out[1] = 0xa1;
    out[2] = 'k';
    out[3] = 0xda; //  str16 filling the rest
    out[4] = (uint8_t) ((size - 6) >> 8);
    out[5] = (uint8_t) (size - 6);
    memset (out + 6, 'v', size - 6);
}

static void
test_map_body_of_4096_bytes_is_accepted_and_4097_is_eproto (void **state)
{
    (void) state;
    uint8_t body[4097];
    proto_msg_t msg;
    s_map_of_size (body, 4096);
    assert_int_equal (s_decode3 (PROTO_HELLO, "w", body, 4096, PROTO_TO_ROUTER, &msg), PROKIT_OK);
    s_map_of_size (body, 4097);
    assert_int_equal (pack_check (body, 4097), PROKIT_OK);
    assert_int_equal (s_decode3 (PROTO_HELLO, "w", body, 4097, PROTO_TO_ROUTER, &msg),
                      PROKIT_EPROTO);
    //  Even with a large max_payload: map bodies have their own limit.
    assert_int_equal (
        s_decode_raw (PROTO_JOINED, "w", 1, body, 4097, PROTO_TO_CLIENT, 1 << 20, &msg),
        PROKIT_EPROTO);
}

static void
test_empty_body_commands_refuse_any_body (void **state)
{
    (void) state;
    const int commands[] = { PROTO_PING, PROTO_PONG, PROTO_SHOW, PROTO_HIDE };
    for (size_t i = 0; i < COUNT_OF (commands); i++) {
        const char *peer = (commands[i] == PROTO_PING || commands[i] == PROTO_PONG) ? "" : "w";
        proto_msg_t msg;
        assert_int_equal (s_decode3 (commands[i], peer, NULL, 0, PROTO_TO_ROUTER, &msg), PROKIT_OK);
        assert_int_equal (s_decode3 (commands[i], peer, s_nil, 1, PROTO_TO_ROUTER, &msg),
                          PROKIT_EPROTO);
        assert_int_equal (s_decode3 (commands[i], peer, s_map, 1, PROTO_TO_ROUTER, &msg),
                          PROKIT_EPROTO);
    }
}

static void
test_error_message_needs_a_valid_error_body (void **state)
{
    (void) state;
    const uint8_t zero_code[] = { 0x93, 0x00, 0xa0, 0x00 };
    proto_msg_t msg;
    assert_int_equal (s_decode3 (PROTO_ERROR, "w", NULL, 0, PROTO_TO_CLIENT, &msg), PROKIT_EPROTO);
    assert_int_equal (s_decode3 (PROTO_ERROR, "w", s_nil, 1, PROTO_TO_CLIENT, &msg), PROKIT_EPROTO);
    assert_int_equal (s_decode3 (PROTO_ERROR, "w", zero_code, 4, PROTO_TO_ROUTER, &msg),
                      PROKIT_EPROTO);
    const uint8_t good[] = { 0x93, 0xfd, 0xa0, 0x00 };
    assert_int_equal (s_decode3 (PROTO_ERROR, "w", good, 4, PROTO_TO_ROUTER, &msg), PROKIT_OK);
}

//  --- msgpack validation ---------------------------------------------------------

static void
test_every_single_byte_is_a_complete_value_or_refused (void **state)
{
    (void) state;
    for (int b = 0; b < 256; b++) {
        uint8_t byte = (uint8_t) b;
        bool complete = b <= 0x7f || b >= 0xe0 || b == 0x80 || b == 0x90 || b == 0xa0 ||
                        b == 0xc0 || b == 0xc2 || b == 0xc3;
        int rc = s_check (&byte, 1);
        if (rc != (complete ? PROKIT_OK : PROKIT_EPROTO))
            fail_msg ("byte 0x%02x: got %d", b, rc);
    }
}

static void
test_every_msgpack_form_is_accepted (void **state)
{
    (void) state;
    static const struct {
        const char *name;
        uint8_t bytes[24];
        size_t size;
    } values[] = {
        { "positive fixint", { 0x00 }, 1 },
        { "positive fixint max", { 0x7f }, 1 },
        { "negative fixint", { 0xe0 }, 1 },
        { "negative fixint -1", { 0xff }, 1 },
        { "nil", { 0xc0 }, 1 },
        { "false", { 0xc2 }, 1 },
        { "true", { 0xc3 }, 1 },
        { "uint8", { 0xcc, 1 }, 2 },
        { "uint16", { 0xcd, 1, 2 }, 3 },
        { "uint32", { 0xce, 1, 2, 3, 4 }, 5 },
        { "uint64", { 0xcf, 1, 2, 3, 4, 5, 6, 7, 8 }, 9 },
        { "int8", { 0xd0, 0xff }, 2 },
        { "int16", { 0xd1, 1, 2 }, 3 },
        { "int32", { 0xd2, 1, 2, 3, 4 }, 5 },
        { "int64", { 0xd3, 1, 2, 3, 4, 5, 6, 7, 8 }, 9 },
        { "float32", { 0xca, 0x3f, 0xc0, 0, 0 }, 5 },
        { "float64", { 0xcb, 0x40, 0x0a, 0, 0, 0, 0, 0, 0 }, 9 },
        { "fixstr", { 0xa1, 'x' }, 2 },
        { "str8", { 0xd9, 1, 'x' }, 3 },
        { "str16", { 0xda, 0, 1, 'x' }, 4 },
        { "str32", { 0xdb, 0, 0, 0, 1, 'x' }, 6 },
        { "empty str8", { 0xd9, 0 }, 2 },
        { "bin8", { 0xc4, 1, 0 }, 3 },
        { "bin16", { 0xc5, 0, 1, 0 }, 4 },
        { "bin32", { 0xc6, 0, 0, 0, 1, 0 }, 6 },
        { "empty bin8", { 0xc4, 0 }, 2 },
        { "fixext1", { 0xd4, 1, 0 }, 3 },
        { "fixext2", { 0xd5, 1, 0, 0 }, 4 },
        { "fixext4", { 0xd6, 1, 0, 0, 0, 0 }, 6 },
        { "fixext8", { 0xd7, 1, 0, 0, 0, 0, 0, 0, 0, 0 }, 10 },
        { "fixext16", { 0xd8, 0xff }, 18 },
        { "ext8", { 0xc7, 1, 5, 0 }, 4 },
        { "ext8 empty", { 0xc7, 0, 5 }, 3 },
        { "ext16", { 0xc8, 0, 2, 5, 0, 0 }, 6 },
        { "ext32", { 0xc9, 0, 0, 0, 3, 5, 0, 0, 0 }, 9 },
        { "fixarray", { 0x92, 0x01, 0x02 }, 3 },
        { "array16", { 0xdc, 0, 1, 0xc0 }, 4 },
        { "array32", { 0xdd, 0, 0, 0, 1, 0xc0 }, 6 },
        { "empty array16", { 0xdc, 0, 0 }, 3 },
        { "empty array32", { 0xdd, 0, 0, 0, 0 }, 5 },
        { "fixmap", { 0x81, 0xa1, 'k', 0xc0 }, 4 },
        { "map16", { 0xde, 0, 1, 0xc0, 0xc0 }, 5 },
        { "map32", { 0xdf, 0, 0, 0, 1, 0x01, 0x02 }, 7 },
        { "empty map16", { 0xde, 0, 0 }, 3 },
        { "empty map32", { 0xdf, 0, 0, 0, 0 }, 5 },
    };
    for (size_t i = 0; i < COUNT_OF (values); i++)
        if (s_check (values[i].bytes, values[i].size) != PROKIT_OK)
            fail_msg ("%s refused", values[i].name);
}

static void
test_nested_arrays_and_maps_are_accepted (void **state)
{
    (void) state;
    //  [1, {"a": [2, {}], 3: [[]]}, "s", {nil: {"b": true}}]
    const uint8_t value[] = { 0x94, 0x01, 0x82, 0xa1, 'a',  0x92, 0x02, 0x80, 0x03, 0x91,
                              0x90, 0xa1, 's',  0x81, 0xc0, 0x81, 0xa1, 'b',  0xc3 };
    assert_int_equal (s_check (value, sizeof (value)), PROKIT_OK);
    //  Maps as keys, arrays as keys.
    const uint8_t keys[] = { 0x82, 0x81, 0x01, 0x02, 0x03, 0x92, 0x01, 0x02, 0xc0 };
    assert_int_equal (s_check (keys, sizeof (keys)), PROKIT_OK);
}

static void
test_64_levels_of_arrays_are_accepted_and_65_refused (void **state)
{
    (void) state;
    uint8_t deep[PACK_DEPTH_MAX + 2];
    assert_int_equal (PACK_DEPTH_MAX, 64);
    size_t size = s_nested_arrays (deep, 64, 0x01);
    assert_int_equal (s_check (deep, size), PROKIT_OK);
    size = s_nested_arrays (deep, 65, 0x01);
    assert_int_equal (s_check (deep, size), PROKIT_EPROTO);
}

static void
test_64_levels_of_maps_are_accepted_and_65_refused (void **state)
{
    (void) state;
    uint8_t deep[3 * 65 + 1];
    size_t size = s_nested_maps (deep, 64);
    assert_int_equal (s_check (deep, size), PROKIT_OK);
    size = s_nested_maps (deep, 65);
    assert_int_equal (s_check (deep, size), PROKIT_EPROTO);
}

static void
test_empty_container_may_sit_inside_64_levels (void **state)
{
    (void) state;
    uint8_t deep[PACK_DEPTH_MAX + 2];
    size_t size = s_nested_arrays (deep, 64, 0x90);
    assert_int_equal (s_check (deep, size), PROKIT_OK);
    size = s_nested_arrays (deep, 64, 0x80);
    assert_int_equal (s_check (deep, size), PROKIT_OK);
    size = s_nested_arrays (deep, 65, 0x90);
    assert_int_equal (s_check (deep, size), PROKIT_EPROTO);
}

static void
test_depth_is_counted_again_after_a_deep_sibling (void **state)
{
    (void) state;
    //  [A, B]: the outer array is level 1, A and B may each add 63 more.
    uint8_t value[2 + 2 * 65];
    value[0] = 0x92;
    size_t size = 1;
    size += s_nested_arrays (value + size, 63, 0x01);
    size += s_nested_arrays (value + size, 63, 0x01);
    assert_int_equal (s_check (value, size), PROKIT_OK);
    //  B one level deeper: 65 in all.
    size = 1;
    size += s_nested_arrays (value + size, 63, 0x01);
    size += s_nested_arrays (value + size, 64, 0x01);
    assert_int_equal (s_check (value, size), PROKIT_EPROTO);
}

static void
test_lying_container_counts_are_refused (void **state)
{
    (void) state;
    const uint8_t array32[] = { 0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0, 0xc0 };
    const uint8_t map32[] = { 0xdf, 0xff, 0xff, 0xff, 0xff, 0xc0, 0xc0 };
    const uint8_t array16[] = { 0xdc, 0xff, 0xff, 0xc0, 0xc0, 0xc0 };
    const uint8_t map16[] = { 0xde, 0x00, 0x02, 0xc0, 0xc0, 0xc0 };
    const uint8_t fixarray[] = { 0x93, 0xc0, 0xc0 };
    const uint8_t fixmap[] = { 0x82, 0xc0, 0xc0, 0xc0 };
    const uint8_t inner[] = { 0x92, 0x01, 0xdd, 0x7f, 0xff, 0xff, 0xff, 0x01 };
    assert_int_equal (s_check (array32, sizeof (array32)), PROKIT_EPROTO);
    assert_int_equal (s_check (map32, sizeof (map32)), PROKIT_EPROTO);
    assert_int_equal (s_check (array16, sizeof (array16)), PROKIT_EPROTO);
    assert_int_equal (s_check (map16, sizeof (map16)), PROKIT_EPROTO);
    assert_int_equal (s_check (fixarray, sizeof (fixarray)), PROKIT_EPROTO);
    assert_int_equal (s_check (fixmap, sizeof (fixmap)), PROKIT_EPROTO);
    assert_int_equal (s_check (inner, sizeof (inner)), PROKIT_EPROTO);
}

static void
test_lying_byte_lengths_are_refused (void **state)
{
    (void) state;
    const uint8_t str32[] = { 0xdb, 0x00, 0x00, 0x00, 0x05, 'a', 'b', 'c', 'd' };
    const uint8_t str32_max[] = { 0xdb, 0xff, 0xff, 0xff, 0xff, 'a' };
    const uint8_t str16[] = { 0xda, 0x01, 0x00, 'a' };
    const uint8_t str8[] = { 0xd9, 0x05, 'a' };
    const uint8_t fixstr[] = { 0xa5, 'a', 'b' };
    const uint8_t bin32[] = { 0xc6, 0xff, 0xff, 0xff, 0xff, 0x00 };
    const uint8_t bin8[] = { 0xc4, 0x02, 0x00 };
    const uint8_t ext32[] = { 0xc9, 0xff, 0xff, 0xff, 0xff, 0x01, 0x00 };
    const uint8_t ext8[] = { 0xc7, 0x03, 0x01, 0x00, 0x00 };
    const uint8_t ext8_no_type[] = { 0xc7, 0x00 };
    const uint8_t in_array[] = { 0x92, 0xd9, 0x10, 'a', 0xc0 };
    const struct {
        const uint8_t *data;
        size_t size;
    } cases[] = {
        { str32, sizeof (str32) },       { str32_max, sizeof (str32_max) },
        { str16, sizeof (str16) },       { str8, sizeof (str8) },
        { fixstr, sizeof (fixstr) },     { bin32, sizeof (bin32) },
        { bin8, sizeof (bin8) },         { ext32, sizeof (ext32) },
        { ext8, sizeof (ext8) },         { ext8_no_type, sizeof (ext8_no_type) },
        { in_array, sizeof (in_array) },
    };
    for (size_t i = 0; i < COUNT_OF (cases); i++)
        if (s_check (cases[i].data, cases[i].size) != PROKIT_EPROTO)
            fail_msg ("case %zu accepted", i);
}

static void
test_trailing_bytes_are_refused (void **state)
{
    (void) state;
    const uint8_t two_nils[] = { 0xc0, 0xc0 };
    const uint8_t array_then_byte[] = { 0x91, 0xc0, 0xc0 };
    const uint8_t str_then_byte[] = { 0xa1, 'x', 'y' };
    const uint8_t int_then_zero[] = { 0xcd, 0x01, 0x02, 0x00 };
    assert_int_equal (s_check (two_nils, 2), PROKIT_EPROTO);
    assert_int_equal (s_check (array_then_byte, 3), PROKIT_EPROTO);
    assert_int_equal (s_check (str_then_byte, 3), PROKIT_EPROTO);
    assert_int_equal (s_check (int_then_zero, 4), PROKIT_EPROTO);
    //  Without the extra byte each is fine.
    assert_int_equal (s_check (two_nils, 1), PROKIT_OK);
    assert_int_equal (s_check (array_then_byte, 2), PROKIT_OK);
    assert_int_equal (s_check (str_then_byte, 2), PROKIT_OK);
    assert_int_equal (s_check (int_then_zero, 3), PROKIT_OK);
}

static void
test_reserved_byte_c1_is_refused_anywhere (void **state)
{
    (void) state;
    const uint8_t alone[] = { 0xc1 };
    const uint8_t in_array[] = { 0x92, 0x01, 0xc1 };
    const uint8_t as_key[] = { 0x81, 0xc1, 0x01 };
    const uint8_t as_value[] = { 0x81, 0x01, 0xc1 };
    const uint8_t deep[] = { 0x91, 0x91, 0x91, 0xc1 };
    assert_int_equal (s_check (alone, 1), PROKIT_EPROTO);
    assert_int_equal (s_check (in_array, 3), PROKIT_EPROTO);
    assert_int_equal (s_check (as_key, 3), PROKIT_EPROTO);
    assert_int_equal (s_check (as_value, 3), PROKIT_EPROTO);
    assert_int_equal (s_check (deep, 4), PROKIT_EPROTO);
    //  ... but 0xc1 inside a str or bin is just data.
    const uint8_t in_str[] = { 0xa1, 0xc1 };
    const uint8_t in_bin[] = { 0xc4, 0x01, 0xc1 };
    assert_int_equal (s_check (in_str, 2), PROKIT_OK);
    assert_int_equal (s_check (in_bin, 3), PROKIT_OK);
}

static void
test_truncated_numbers_are_refused (void **state)
{
    (void) state;
    //  Each fixed-size form, one byte short (and also with no argument).
    const struct {
        uint8_t head;
        size_t argument;
    } forms[] = {
        { 0xcc, 1 },  { 0xcd, 2 }, { 0xce, 4 }, { 0xcf, 8 }, { 0xd0, 1 }, { 0xd1, 2 }, { 0xd2, 4 },
        { 0xd3, 8 },  { 0xca, 4 }, { 0xcb, 8 }, { 0xd4, 2 }, { 0xd5, 3 }, { 0xd6, 5 }, { 0xd7, 9 },
        { 0xd8, 17 }, { 0xd9, 1 }, { 0xda, 2 }, { 0xdb, 4 }, { 0xc4, 1 }, { 0xc5, 2 }, { 0xc6, 4 },
        { 0xc7, 2 },  { 0xc8, 3 }, { 0xc9, 5 }, { 0xdc, 2 }, { 0xdd, 4 }, { 0xde, 2 }, { 0xdf, 4 },
    };
    for (size_t i = 0; i < COUNT_OF (forms); i++) {
        uint8_t value[1 + 17] = { 0 };
        value[0] = forms[i].head;
        //  Zeros make every length 0: the full form is complete.
        assert_int_equal (s_check (value, 1 + forms[i].argument), PROKIT_OK);
        for (size_t size = 1; size < 1 + forms[i].argument; size++)
            if (s_check (value, size) != PROKIT_EPROTO)
                fail_msg ("0x%02x with %zu bytes accepted", forms[i].head, size);
    }
}

static void
test_every_proper_prefix_of_a_value_is_refused (void **state)
{
    (void) state;
    //  [uint64, str8 "abc", ext8, {"k": [float64, true]}, bin16, array16 [fixext16]]
    uint8_t value[128];
    size_t n = 0;
    value[n++] = 0x96;
    value[n++] = 0xcf;
    for (int i = 0; i < 8; i++)
        value[n++] = (uint8_t) i;
    const uint8_t str8[] = { 0xd9, 3, 'a', 'b', 'c' };
    memcpy (value + n, str8, sizeof (str8));
    n += sizeof (str8);
    const uint8_t ext8[] = { 0xc7, 2, 5, 'x', 'y' };
    memcpy (value + n, ext8, sizeof (ext8));
    n += sizeof (ext8);
    const uint8_t map[] = { 0x81, 0xa1, 'k',  0x92, 0xcb, 0x40, 0x09,
                            0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18, 0xc3 };
    memcpy (value + n, map, sizeof (map));
    n += sizeof (map);
    const uint8_t bin16[] = { 0xc5, 0, 2, 0xc1, 0xc1 };
    memcpy (value + n, bin16, sizeof (bin16));
    n += sizeof (bin16);
    value[n++] = 0xdc;
    value[n++] = 0;
    value[n++] = 1;
    value[n++] = 0xd8;
    value[n++] = 1;
    memset (value + n, 0xee, 16);
    n += 16;
    assert_int_equal (s_check (value, n), PROKIT_OK);
    for (size_t size = 0; size < n; size++)
        if (s_check (value, size) != PROKIT_EPROTO)
            fail_msg ("prefix of %zu bytes accepted", size);
}

static void
test_empty_or_null_input_is_refused (void **state)
{
    (void) state;
    assert_int_equal (s_check (NULL, 0), PROKIT_EPROTO);
    assert_int_equal (s_check (NULL, 1), PROKIT_EPROTO);
    assert_int_equal (s_check (s_nil, 0), PROKIT_EPROTO);
}

//  --- ERROR bodies -----------------------------------------------------------------

static void
test_error_body_is_a_three_element_array (void **state)
{
    (void) state;
    uint8_t body[PROTO_ERROR_BODY_MAX];
    size_t size = proto_error_encode (body, PROKIT_EEXIST, "taken", 0);
    const uint8_t expected[] = { 0x93, 0xfc, 0xa5, 't', 'a', 'k', 'e', 'n', 0x00 };
    assert_int_equal (size, sizeof (expected));
    assert_memory_equal (body, expected, sizeof (expected));
    //  Codes outside -32..127 are int64.
    size = proto_error_encode (body, PROKIT_EHANDLER, "", 1000);
    const uint8_t wide[] = { 0x93, 0xf9, 0xa0, 0xd3, 0, 0, 0, 0, 0, 0, 0x03, 0xe8 };
    assert_int_equal (size, sizeof (wide));
    assert_memory_equal (body, wide, sizeof (wide));
}

static void
test_error_body_round_trips_codes_and_app_codes (void **state)
{
    (void) state;
    const int codes[] = { PROKIT_EINVAL, PROKIT_EHANDLER, PROKIT_EEXITED, -33, -1000, INT_MIN };
    const int app_codes[] = { 0, 1, -1, 42, -42, 127, 128, -32, -33, INT_MAX, INT_MIN };
    for (size_t c = 0; c < COUNT_OF (codes); c++)
        for (size_t a = 0; a < COUNT_OF (app_codes); a++) {
            uint8_t body[PROTO_ERROR_BODY_MAX];
            size_t size = proto_error_encode (body, codes[c], "disk full", app_codes[a]);
            assert_true (size <= PROTO_ERROR_BODY_MAX);
            assert_int_equal (pack_check (body, size), PROKIT_OK);
            proto_error_t error;
            memset (&error, 0xee, sizeof (error));
            assert_int_equal (proto_error_decode (body, size, &error), PROKIT_OK);
            assert_int_equal (error.code, codes[c]);
            assert_int_equal (error.app_code, app_codes[a]);
            assert_string_equal (error.text, "disk full");
        }
}

static void
test_error_with_null_text_has_an_empty_text (void **state)
{
    (void) state;
    uint8_t body[PROTO_ERROR_BODY_MAX];
    size_t size = proto_error_encode (body, PROKIT_ENOTFOUND, NULL, 0);
    const uint8_t expected[] = { 0x93, 0xfd, 0xa0, 0x00 };
    assert_int_equal (size, sizeof (expected));
    assert_memory_equal (body, expected, size);
    proto_error_t error;
    assert_int_equal (proto_error_decode (body, size, &error), PROKIT_OK);
    assert_string_equal (error.text, "");
}

static void
test_long_error_text_is_cut_at_1024_when_encoding (void **state)
{
    (void) state;
    assert_int_equal (PROTO_ERROR_TEXT_MAX, 1024);
    const size_t lengths[] = { 1023, 1024, 1025, 5000 };
    for (size_t i = 0; i < COUNT_OF (lengths); i++) {
        char *text = (char *) malloc (lengths[i] + 1);
        assert_non_null (text);
        for (size_t j = 0; j < lengths[i]; j++)
            text[j] = (char) ('a' + j % 26);
        text[lengths[i]] = 0;
        uint8_t body[PROTO_ERROR_BODY_MAX];
        size_t size = proto_error_encode (body, PROKIT_EPROTO, text, INT_MIN);
        assert_true (size <= PROTO_ERROR_BODY_MAX);
        proto_error_t error;
        assert_int_equal (proto_error_decode (body, size, &error), PROKIT_OK);
        size_t want = lengths[i] < 1024 ? lengths[i] : 1024;
        assert_int_equal (strlen (error.text), want);
        assert_memory_equal (error.text, text, want);
        assert_int_equal (error.app_code, INT_MIN);
        free (text);
    }
}

static void
test_long_error_text_on_the_wire_is_cut_at_1024_when_decoding (void **state)
{
    (void) state;
    //  [-10, str16 of 2000 'w', 7]
    uint8_t body[2 + 3 + 2000 + 1];
    body[0] = 0x93;
    body[1] = 0xf6;
    body[2] = 0xda;
    body[3] = 0x07;
    body[4] = 0xd0;
    memset (body + 5, 'w', 2000);
    body[5 + 2000] = 0x07;
    proto_error_t error;
    assert_int_equal (proto_error_decode (body, sizeof (body), &error), PROKIT_OK);
    assert_int_equal (error.code, PROKIT_EPROTO);
    assert_int_equal (error.app_code, 7);
    assert_int_equal (strlen (error.text), 1024);
    assert_int_equal (error.text[1023], 'w');
}

static void
test_error_text_stops_at_an_embedded_nul (void **state)
{
    (void) state;
    const uint8_t with_nul[] = { 0x93, 0xfd, 0xa3, 'a', 0, 'b', 0x00 };
    proto_error_t error;
    assert_int_equal (proto_error_decode (with_nul, sizeof (with_nul), &error), PROKIT_OK);
    assert_string_equal (error.text, "a");
}

static void
test_error_code_zero_or_positive_is_refused (void **state)
{
    (void) state;
    const uint8_t zero[] = { 0x93, 0x00, 0xa0, 0x00 };
    const uint8_t five[] = { 0x93, 0x05, 0xa0, 0x00 };
    const uint8_t big[] = { 0x93, 0xce, 0x7f, 0xff, 0xff, 0xff, 0xa0, 0x00 };
    const uint8_t negative[] = { 0x93, 0xff, 0xa0, 0x00 };
    proto_error_t error;
    assert_int_equal (proto_error_decode (zero, sizeof (zero), &error), PROKIT_EPROTO);
    assert_int_equal (proto_error_decode (five, sizeof (five), &error), PROKIT_EPROTO);
    assert_int_equal (proto_error_decode (big, sizeof (big), &error), PROKIT_EPROTO);
    assert_int_equal (proto_error_decode (negative, sizeof (negative), &error), PROKIT_OK);
    assert_int_equal (error.code, -1);
}

static void
test_error_codes_outside_int32_are_refused (void **state)
{
    (void) state;
    //  code = INT32_MIN - 1
    const uint8_t low_code[] = { 0x93, 0xd3, 0xff, 0xff, 0xff, 0xff,
                                 0x7f, 0xff, 0xff, 0xff, 0xa0, 0x00 };
    //  app_code = INT32_MAX + 1, then INT32_MIN - 1, then a uint64 above INT64_MAX
    const uint8_t high_app[] = { 0x93, 0xff, 0xa0, 0xce, 0x80, 0x00, 0x00, 0x00 };
    const uint8_t low_app[] = { 0x93, 0xff, 0xa0, 0xd3, 0xff, 0xff,
                                0xff, 0xff, 0x7f, 0xff, 0xff, 0xff };
    const uint8_t huge_app[] = { 0x93, 0xff, 0xa0, 0xcf, 0xff, 0, 0, 0, 0, 0, 0, 0 };
    proto_error_t error;
    assert_int_equal (proto_error_decode (low_code, sizeof (low_code), &error), PROKIT_EPROTO);
    assert_int_equal (proto_error_decode (high_app, sizeof (high_app), &error), PROKIT_EPROTO);
    assert_int_equal (proto_error_decode (low_app, sizeof (low_app), &error), PROKIT_EPROTO);
    assert_int_equal (proto_error_decode (huge_app, sizeof (huge_app), &error), PROKIT_EPROTO);
    //  The bounds themselves are fine.
    const uint8_t min_code[] = { 0x93, 0xd2, 0x80, 0x00, 0x00, 0x00,
                                 0xa0, 0xce, 0x7f, 0xff, 0xff, 0xff };
    assert_int_equal (proto_error_decode (min_code, sizeof (min_code), &error), PROKIT_OK);
    assert_int_equal (error.code, INT_MIN);
    assert_int_equal (error.app_code, INT_MAX);
}

static void
test_error_body_of_wrong_arity_is_refused (void **state)
{
    (void) state;
    const uint8_t none[] = { 0x90 };
    const uint8_t one[] = { 0x91, 0xff };
    const uint8_t two[] = { 0x92, 0xff, 0xa0 };
    const uint8_t four[] = { 0x94, 0xff, 0xa0, 0x00, 0x00 };
    const uint8_t four16[] = { 0xdc, 0x00, 0x04, 0xff, 0xa0, 0x00, 0x00 };
    proto_error_t error;
    assert_int_equal (proto_error_decode (none, sizeof (none), &error), PROKIT_EPROTO);
    assert_int_equal (proto_error_decode (one, sizeof (one), &error), PROKIT_EPROTO);
    assert_int_equal (proto_error_decode (two, sizeof (two), &error), PROKIT_EPROTO);
    assert_int_equal (proto_error_decode (four, sizeof (four), &error), PROKIT_EPROTO);
    assert_int_equal (proto_error_decode (four16, sizeof (four16), &error), PROKIT_EPROTO);
}

static void
test_error_code_that_is_not_an_integer_is_refused (void **state)
{
    (void) state;
    const uint8_t bodies[][8] = {
        { 0x93, 0xa1, 'x', 0xa0, 0x00 },        //  str
        { 0x93, 0xc0, 0xa0, 0x00 },             //  nil
        { 0x93, 0xc2, 0xa0, 0x00 },             //  false
        { 0x93, 0xca, 0xc0, 0, 0, 0, 0xa0, 0 }, //  float32 -2.0
        { 0x93, 0x90, 0xa0, 0x00 },             //  array
    };
    const size_t sizes[] = { 5, 4, 4, 8, 4 };
    for (size_t i = 0; i < COUNT_OF (sizes); i++) {
        proto_error_t error;
        assert_int_equal (proto_error_decode (bodies[i], sizes[i], &error), PROKIT_EPROTO);
    }
    //  ... and so is an app code that is not one.
    const uint8_t str_app[] = { 0x93, 0xff, 0xa0, 0xa1, '1' };
    const uint8_t nil_app[] = { 0x93, 0xff, 0xa0, 0xc0 };
    proto_error_t error;
    assert_int_equal (proto_error_decode (str_app, sizeof (str_app), &error), PROKIT_EPROTO);
    assert_int_equal (proto_error_decode (nil_app, sizeof (nil_app), &error), PROKIT_EPROTO);
}

static void
test_error_text_that_is_not_a_str_is_refused (void **state)
{
    (void) state;
    const uint8_t bin_text[] = { 0x93, 0xfd, 0xc4, 0x00, 0x00 };
    const uint8_t nil_text[] = { 0x93, 0xfd, 0xc0, 0x00 };
    const uint8_t int_text[] = { 0x93, 0xfd, 0x01, 0x00 };
    proto_error_t error;
    assert_int_equal (proto_error_decode (bin_text, sizeof (bin_text), &error), PROKIT_EPROTO);
    assert_int_equal (proto_error_decode (nil_text, sizeof (nil_text), &error), PROKIT_EPROTO);
    assert_int_equal (proto_error_decode (int_text, sizeof (int_text), &error), PROKIT_EPROTO);
}

static void
test_error_body_that_is_not_one_array_is_refused (void **state)
{
    (void) state;
    const uint8_t map[] = { 0x80 };
    const uint8_t truncated[] = { 0x93, 0xfd, 0xa5, 'x' };
    const uint8_t trailing[] = { 0x93, 0xfd, 0xa0, 0x00, 0x00 };
    const uint8_t reserved[] = { 0x93, 0xfd, 0xa0, 0xc1 };
    proto_error_t error;
    assert_int_equal (proto_error_decode (map, sizeof (map), &error), PROKIT_EPROTO);
    assert_int_equal (proto_error_decode (truncated, sizeof (truncated), &error), PROKIT_EPROTO);
    assert_int_equal (proto_error_decode (trailing, sizeof (trailing), &error), PROKIT_EPROTO);
    assert_int_equal (proto_error_decode (reserved, sizeof (reserved), &error), PROKIT_EPROTO);
    assert_int_equal (proto_error_decode (NULL, 0, &error), PROKIT_EPROTO);
    assert_int_equal (proto_error_decode (map, 0, &error), PROKIT_EPROTO);
}

static void
test_error_body_in_other_encodings_is_accepted (void **state)
{
    (void) state;
    //  array16, int32 code, str8 text, uint8 app code.
    const uint8_t wide[] = { 0xdc, 0x00, 0x03, 0xd2, 0xff, 0xff, 0xff,
                             0xf9, 0xd9, 0x02, 'o',  'k',  0xcc, 0xc8 };
    proto_error_t error;
    assert_int_equal (proto_error_decode (wide, sizeof (wide), &error), PROKIT_OK);
    assert_int_equal (error.code, PROKIT_EHANDLER);
    assert_string_equal (error.text, "ok");
    assert_int_equal (error.app_code, 200);
    //  array32, int8 code, str32 text, int16 app code.
    const uint8_t wider[] = {
        0xdd, 0, 0, 0, 3, 0xd0, 0xf6, 0xdb, 0, 0, 0, 1, 'x', 0xd1, 0xff, 0x38
    };
    assert_int_equal (proto_error_decode (wider, sizeof (wider), &error), PROKIT_OK);
    assert_int_equal (error.code, PROKIT_EPROTO);
    assert_string_equal (error.text, "x");
    assert_int_equal (error.app_code, -200);
}

//  --- WELCOME bodies ---------------------------------------------------------------

static void
test_welcome_body_writes_both_keys_in_order (void **state)
{
    (void) state;
    uint8_t body[PROTO_WELCOME_BODY_MAX];
    proto_welcome_t welcome = { PROTO_DEFAULT_MAX_PAYLOAD, 0, 0, "", "", "", false, false, false };
    size_t size = proto_welcome_encode (body, &welcome);
    const uint8_t expected[] = { 0x82, 0xab, 'm', 'a', 'x', '_', 'p',  'a', 'y', 'l', 'o',  'a',
                                 'd',  0xcf, 0,   0,   0,   0,   0x01, 0,   0,   0,   0xac, 'h',
                                 'e',  'a',  'r', 't', 'b', 'e', 'a',  't', '_', 'm', 's',  0x00 };
    assert_int_equal (size, sizeof (expected));
    assert_memory_equal (body, expected, sizeof (expected));
}

static void
test_welcome_body_round_trips (void **state)
{
    (void) state;
    const uint64_t values[] = { 0, 1, 127, 128, 1u << 30, (uint64_t) INT64_MAX };
    for (size_t i = 0; i < COUNT_OF (values); i++) {
        uint8_t body[PROTO_WELCOME_BODY_MAX];
        proto_welcome_t out = { values[i], values[COUNT_OF (values) - 1 - i], 0, "", "", "", false,
                                false };
        size_t size = proto_welcome_encode (body, &out);
        assert_true (size <= PROTO_WELCOME_BODY_MAX);
        proto_welcome_t in = { 12345, 12345, 0, "", "", "", false, false, false };
        assert_int_equal (proto_welcome_decode (body, size, &in), PROKIT_OK);
        assert_true (in.max_payload == out.max_payload);
        assert_true (in.heartbeat_ms == out.heartbeat_ms);
    }
}

static void
test_welcome_values_above_int64_max_round_trip (void **state)
{
    (void) state;
    //  Values are uint: the 0xcf the encoder writes must decode for any value.
    uint8_t body[PROTO_WELCOME_BODY_MAX];
    proto_welcome_t out = { UINT64_MAX, (uint64_t) 1 << 63, 0, "", "", "", false, false, false };
    size_t size = proto_welcome_encode (body, &out);
    proto_welcome_t in = { 0, 0, 0, "", "", "", false, false, false };
    assert_int_equal (proto_welcome_decode (body, size, &in), PROKIT_OK);
    assert_true (in.max_payload == UINT64_MAX);
    assert_true (in.heartbeat_ms == (uint64_t) 1 << 63);
}

static void
test_welcome_skips_unknown_keys (void **state)
{
    (void) state;
    //  {1: 2, "other": [nil, {"x": 1}], "max_payload": 16, nil: "s",
    //   [1]: {}, "MAX_PAYLOAD": 5, "heartbeat": 9}
    const uint8_t extra[] = { 0x87, 0x01, 0x02, 0xa5, 'o',  't',  'h', 'e',  'r',  0x92, 0xc0, 0x81,
                              0xa1, 'x',  0x01, 0xab, 'm',  'a',  'x', '_',  'p',  'a',  'y',  'l',
                              'o',  'a',  'd',  0x10, 0xc0, 0xa1, 's', 0x91, 0x01, 0x80, 0xab, 'M',
                              'A',  'X',  '_',  'P',  'A',  'Y',  'L', 'O',  'A',  'D',  0x05, 0xa9,
                              'h',  'e',  'a',  'r',  't',  'b',  'e', 'a',  't',  0x09 };
    assert_int_equal (pack_check (extra, sizeof (extra)), PROKIT_OK);
    proto_welcome_t kept = { 1, 2, 0, "", "", "", false, false, false };
    assert_int_equal (proto_welcome_decode (extra, sizeof (extra), &kept), PROKIT_OK);
    assert_int_equal (kept.max_payload, 16);
    assert_int_equal (kept.heartbeat_ms, 2);
}

static void
test_welcome_skips_a_non_string_key_with_its_value (void **state)
{
    (void) state;
    //  {1: "heartbeat_ms", 2: 3}: the values are not keys.
    const uint8_t body[] = { 0x82, 0x01, 0xac, 'h', 'e', 'a', 'r',  't', 'b',
                             'e',  'a',  't',  '_', 'm', 's', 0x02, 0x03 };
    proto_welcome_t kept = { 7, 8, 0, "", "", "", false, false, false };
    assert_int_equal (proto_welcome_decode (body, sizeof (body), &kept), PROKIT_OK);
    assert_int_equal (kept.max_payload, 7);
    assert_int_equal (kept.heartbeat_ms, 8);
}

static void
test_welcome_missing_keys_keep_their_values (void **state)
{
    (void) state;
    proto_welcome_t kept = { 7, 8, 0, "", "", "", false, false, false };
    assert_int_equal (proto_welcome_decode (NULL, 0, &kept), PROKIT_OK);
    assert_int_equal (proto_welcome_decode (s_map, 1, &kept), PROKIT_OK);
    assert_int_equal (kept.max_payload, 7);
    assert_int_equal (kept.heartbeat_ms, 8);
    const uint8_t only_heartbeat[] = { 0x81, 0xac, 'h', 'e', 'a', 'r', 't', 'b',
                                       'e',  'a',  't', '_', 'm', 's', 0x63 };
    assert_int_equal (proto_welcome_decode (only_heartbeat, sizeof (only_heartbeat), &kept),
                      PROKIT_OK);
    assert_int_equal (kept.max_payload, 7);
    assert_int_equal (kept.heartbeat_ms, 99);
}

static void
test_welcome_accepts_any_integer_encoding (void **state)
{
    (void) state;
    const uint8_t encodings[][9] = {
        { 0x05 },
        { 0xcc, 0x05 },
        { 0xcd, 0x00, 0x05 },
        { 0xce, 0x00, 0x00, 0x00, 0x05 },
        { 0xcf, 0, 0, 0, 0, 0, 0, 0, 0x05 },
        { 0xd0, 0x05 },
        { 0xd1, 0x00, 0x05 },
        { 0xd2, 0x00, 0x00, 0x00, 0x05 },
        { 0xd3, 0, 0, 0, 0, 0, 0, 0, 0x05 },
    };
    const size_t sizes[] = { 1, 2, 3, 5, 9, 2, 3, 5, 9 };
    for (size_t i = 0; i < COUNT_OF (sizes); i++) {
        uint8_t body[32] = { 0x81, 0xab, 'm', 'a', 'x', '_', 'p', 'a', 'y', 'l', 'o', 'a', 'd' };
        memcpy (body + 13, encodings[i], sizes[i]);
        proto_welcome_t welcome = { 0, 0, 0, "", "", "", false, false, false };
        assert_int_equal (proto_welcome_decode (body, 13 + sizes[i], &welcome), PROKIT_OK);
        assert_int_equal (welcome.max_payload, 5);
    }
}

static void
test_welcome_that_is_not_a_map_is_refused (void **state)
{
    (void) state;
    const uint8_t bodies[][3] = { { 0x90 }, { 0xc0 }, { 0x01 }, { 0xa1, 'x' }, { 0x91, 0x80 } };
    const size_t sizes[] = { 1, 1, 1, 2, 2 };
    for (size_t i = 0; i < COUNT_OF (sizes); i++) {
        proto_welcome_t welcome = { 0, 0, 0, "", "", "", false, false, false };
        assert_int_equal (proto_welcome_decode (bodies[i], sizes[i], &welcome), PROKIT_EPROTO);
    }
}

static void
test_welcome_with_a_negative_value_is_refused (void **state)
{
    (void) state;
    const uint8_t fixint[] = { 0x81, 0xab, 'm', 'a', 'x', '_', 'p',
                               'a',  'y',  'l', 'o', 'a', 'd', 0xff };
    const uint8_t int64[] = { 0x81, 0xac, 'h',  'e',  'a', 'r', 't', 'b', 'e', 'a', 't', '_',
                              'm',  's',  0xd3, 0x80, 0,   0,   0,   0,   0,   0,   0 };
    proto_welcome_t welcome = { 0, 0, 0, "", "", "", false, false, false };
    assert_int_equal (proto_welcome_decode (fixint, sizeof (fixint), &welcome), PROKIT_EPROTO);
    assert_int_equal (proto_welcome_decode (int64, sizeof (int64), &welcome), PROKIT_EPROTO);
}

static void
test_welcome_value_that_is_not_an_integer_is_refused (void **state)
{
    (void) state;
    const uint8_t values[][5] = { { 0xa1, '5' }, { 0xc0 }, { 0xca, 0x40, 0xa0, 0, 0 }, { 0xc3 } };
    const size_t sizes[] = { 2, 1, 5, 1 };
    for (size_t i = 0; i < COUNT_OF (sizes); i++) {
        uint8_t body[32] = { 0x81, 0xab, 'm', 'a', 'x', '_', 'p', 'a', 'y', 'l', 'o', 'a', 'd' };
        memcpy (body + 13, values[i], sizes[i]);
        proto_welcome_t welcome = { 0, 0, 0, "", "", "", false, false, false };
        assert_int_equal (proto_welcome_decode (body, 13 + sizes[i], &welcome), PROKIT_EPROTO);
    }
}

static void
test_welcome_of_invalid_msgpack_is_refused (void **state)
{
    (void) state;
    const uint8_t truncated[] = { 0x82, 0xa1, 'x', 0x01 };
    const uint8_t trailing[] = { 0x80, 0x80 };
    proto_welcome_t welcome = { 0, 0, 0, "", "", "", false, false, false };
    assert_int_equal (proto_welcome_decode (truncated, sizeof (truncated), &welcome),
                      PROKIT_EPROTO);
    assert_int_equal (proto_welcome_decode (trailing, sizeof (trailing), &welcome), PROKIT_EPROTO);
}

//  --- HELLO and presence bodies ---------------------------------------------------------

static void
test_hello_body_round_trips_and_leaves_out_defaults (void **state)
{
    (void) state;
    uint8_t body[PROTO_HELLO_BODY_MAX];
    proto_hello_t none = { 0,     false, false, 0,     false, 0, { "", 0, 0 },
                           false, false, "",    false, false };
    size_t size = proto_hello_encode (body, &none);
    assert_int_equal (size, 1);
    assert_int_equal (body[0], 0x80);

    proto_hello_t out = { 4000000000u,  true,  true,  0,  false, 0,
                          { "", 0, 0 }, false, false, "", false, false };
    size = proto_hello_encode (body, &out);
    assert_true (size <= PROTO_HELLO_BODY_MAX);
    assert_int_equal (pack_check (body, size), PROKIT_OK);
    proto_hello_t in = {
        0, false, false, 0, false, 0, { "", 0, 0 }, false, false, "", false, false
    };
    assert_int_equal (proto_hello_decode (body, size, &in), PROKIT_OK);
    assert_true (in.pid == out.pid);
    assert_true (in.presence);
    assert_true (in.shown);
    proto_msg_t msg;
    assert_int_equal (s_decode3 (PROTO_HELLO, "w", body, size, PROTO_TO_ROUTER, &msg), PROKIT_OK);
}

typedef struct receipt_seen {
    int pairs;
    uint64_t sum;
    int sessions;
    uint64_t session_queued;
} receipt_seen_t;

static void
s_receipt_seen (const char *name, uint64_t count, void *arg)
{
    receipt_seen_t *seen = (receipt_seen_t *) arg;
    assert_true (name[0] == 'w');
    seen->pairs++;
    seen->sum += count;
}

static void
s_receipt_session_seen (const char *name, uint64_t queued, const char *token,
                        uint64_t session_queued, void *arg)
{
    receipt_seen_t *seen = (receipt_seen_t *) arg;
    (void) queued;
    assert_true (name[0] == 'w' && strlen (token) == PROTO_TOPIC_SIZE);
    seen->sessions++;
    seen->session_queued += session_queued;
}

//  A HELLO's "last_from" sender.
static void
s_from_seen (const char *name, uint64_t count, uint64_t first, void *arg)
{
    receipt_seen_t *seen = (receipt_seen_t *) arg;
    assert_true (strlen (name) == PROTO_NAME_MAX && count == UINT64_MAX);
    assert_true (first == 0 || first == UINT64_MAX - 1);
    seen->pairs++;
    seen->sessions += first != 0;
}

//  A SEND, BROADCAST or REQUEST names a channel after its peer's name
//  and a '#'; nothing else may, and the channel's name follows its rules.
static void
test_named_channels_travel_in_the_peer_field (void **state)
{
    (void) state;
    proto_msg_t msg;
    assert_int_equal (s_decode3 (PROTO_REQUEST, "work-1#resize", s_nil, 1, PROTO_TO_ROUTER, &msg),
                      PROKIT_OK);
    assert_string_equal (msg.peer, "work-1");
    assert_string_equal (msg.channel_name, "resize");
    assert_int_equal (
        s_decode3 (PROTO_REQUEST, "@main#app:open/file", s_nil, 1, PROTO_TO_ROUTER, &msg),
        PROKIT_OK);
    assert_string_equal (msg.peer, "@main");
    assert_string_equal (msg.channel_name, "app:open/file");
    assert_int_equal (s_decode3 (PROTO_SEND, "w#c", s_nil, 1, PROTO_TO_CLIENT, &msg), PROKIT_OK);
    assert_string_equal (msg.peer, "w");
    assert_string_equal (msg.channel_name, "c");
    //  Without a channel: the default one.
    assert_int_equal (s_decode3 (PROTO_SEND, "w", s_nil, 1, PROTO_TO_ROUTER, &msg), PROKIT_OK);
    assert_string_equal (msg.channel_name, "");
    //  A broadcast to the router, and everything on the PUB channel, have
    //  no name before the '#'.
    assert_int_equal (s_decode3 (PROTO_BROADCAST, "#news", s_nil, 1, PROTO_TO_ROUTER, &msg),
                      PROKIT_OK);
    assert_string_equal (msg.peer, "");
    assert_string_equal (msg.channel_name, "news");
    assert_int_equal (s_decode3 (PROTO_SEND, "#news", s_nil, 1, PROTO_ON_CHANNEL, &msg), PROKIT_OK);
    assert_string_equal (msg.channel_name, "news");
    assert_int_equal (s_decode3 (PROTO_REQUEST, "#ask", s_nil, 1, PROTO_ON_CHANNEL, &msg),
                      PROKIT_OK);
    assert_int_equal (s_decode3 (PROTO_SEND, "@main#news", s_nil, 1, PROTO_ON_CHANNEL, &msg),
                      PROKIT_EPROTO);
    assert_int_equal (s_decode3 (PROTO_SEND, "#news", s_nil, 1, PROTO_TO_ROUTER, &msg),
                      PROKIT_EPROTO);
    //  Answers, orders and control messages never name one.
    uint8_t error[PROTO_ERROR_BODY_MAX];
    size_t error_size = s_error_body (error);
    assert_int_equal (s_decode3 (PROTO_REPLY, "w#c", s_nil, 1, PROTO_TO_ROUTER, &msg),
                      PROKIT_EPROTO);
    assert_int_equal (s_decode3 (PROTO_ERROR, "w#c", error, error_size, PROTO_TO_CLIENT, &msg),
                      PROKIT_EPROTO);
    assert_int_equal (s_decode3 (PROTO_CLOSE, "w#c", s_map, 1, PROTO_TO_ROUTER, &msg),
                      PROKIT_EPROTO);
    assert_int_equal (s_decode3 (PROTO_HELLO, "w#c", s_map, 1, PROTO_TO_ROUTER, &msg),
                      PROKIT_EPROTO);
    //  Channel names: 1 to 64 bytes of printable ASCII but '#'.
    const char *bad[] = { "w#", "w#a#b", "w#a b", "w#tab\there", "w#\x7f", "w#caf\xc3\xa9" };
    for (size_t i = 0; i < COUNT_OF (bad); i++)
        assert_int_equal (s_decode3 (PROTO_SEND, bad[i], s_nil, 1, PROTO_TO_ROUTER, &msg),
                          PROKIT_EPROTO);
    //  The longest peer field: a name, the longest deadline, a channel.
    char longest[PROTO_ADDRESS_MAX + 2];
    char name64[PROTO_NAME_MAX + 1], channel64[PROTO_CHANNEL_NAME_MAX + 1];
    memset (name64, 'a', PROTO_NAME_MAX);
    name64[PROTO_NAME_MAX] = 0;
    memset (channel64, '~', PROTO_CHANNEL_NAME_MAX);
    channel64[PROTO_CHANNEL_NAME_MAX] = 0;
    //  Nineteen digits here (INT64_MAX); a peer may write up to twenty.
    assert_int_equal (proto_address_deadline (longest, name64, (uint64_t) INT64_MAX, channel64),
                      PROTO_ADDRESS_MAX - 1);
    assert_int_equal (s_decode3 (PROTO_REQUEST, longest, s_nil, 1, PROTO_TO_CLIENT, &msg),
                      PROKIT_OK);
    assert_int_equal ((int) strlen (msg.channel_name), PROTO_CHANNEL_NAME_MAX);
    assert_true (msg.deadline_ms == (uint64_t) INT64_MAX);
    assert_int_equal (
        s_decode3 (PROTO_REQUEST, "w!000000000000000000001", s_nil, 1, PROTO_TO_CLIENT, &msg),
        PROKIT_EPROTO); //  21 digits, however small
    assert_int_equal (
        s_decode3 (PROTO_REQUEST, "w!00000000000000000001", s_nil, 1, PROTO_TO_CLIENT, &msg),
        PROKIT_OK); //  20 digits
    assert_int_equal (msg.deadline_ms, 1);
    longest[PROTO_ADDRESS_MAX - 1] = '~'; //  a 65-byte channel
    longest[PROTO_ADDRESS_MAX] = 0;
    assert_int_equal (s_decode3 (PROTO_REQUEST, longest, s_nil, 1, PROTO_TO_CLIENT, &msg),
                      PROKIT_EPROTO);
    //  Deadlines: a REQUEST's time left, between the name and a channel.
    assert_int_equal (s_decode3 (PROTO_REQUEST, "w!1500", s_nil, 1, PROTO_TO_ROUTER, &msg),
                      PROKIT_OK);
    assert_string_equal (msg.peer, "w");
    assert_int_equal (msg.deadline_ms, 1500);
    assert_string_equal (msg.channel_name, "");
    assert_int_equal (s_decode3 (PROTO_REQUEST, "@main!7#a!b", s_nil, 1, PROTO_TO_ROUTER, &msg),
                      PROKIT_OK);
    assert_string_equal (msg.peer, "@main");
    assert_int_equal (msg.deadline_ms, 7);
    assert_string_equal (msg.channel_name, "a!b");
    assert_int_equal (s_decode3 (PROTO_REQUEST, "w", s_nil, 1, PROTO_TO_ROUTER, &msg), PROKIT_OK);
    assert_int_equal (msg.deadline_ms, 0);
    const char *bad_ttl[] = {
        "w!", "w!0", "w!123456789012345678901", "w!9223372036854775808", "w!1x", "w!-1", "!5"
    };
    for (size_t i = 0; i < COUNT_OF (bad_ttl); i++)
        assert_int_equal (s_decode3 (PROTO_REQUEST, bad_ttl[i], s_nil, 1, PROTO_TO_ROUTER, &msg),
                          PROKIT_EPROTO);
    assert_int_equal (s_decode3 (PROTO_SEND, "w!5", s_nil, 1, PROTO_TO_ROUTER, &msg),
                      PROKIT_EPROTO); //  only requests have deadlines
    char with_ttl[PROTO_ADDRESS_MAX + 1];
    assert_int_equal (proto_address_deadline (with_ttl, "w", 30000, "c"), 9);
    assert_string_equal (with_ttl, "w!30000#c");
    assert_int_equal (s_decode3 (PROTO_REQUEST, with_ttl, s_nil, 1, PROTO_TO_ROUTER, &msg),
                      PROKIT_OK);
    assert_string_equal (msg.peer, "w");
    assert_string_equal (msg.channel_name, "c");
    assert_int_equal (msg.deadline_ms, 30000);
    assert_true (proto_channel_name_valid ("resize", 6));
    assert_false (proto_channel_name_valid ("", 0));
    assert_false (proto_channel_name_valid (NULL, 3));

    //  The encoder's side: an address, and back.
    char address[PROTO_ADDRESS_MAX + 1];
    assert_int_equal (proto_address (address, "work-1", "resize"), 13);
    assert_string_equal (address, "work-1#resize");
    assert_int_equal (proto_address (address, "work-1", ""), 6);
    assert_string_equal (address, "work-1");
    assert_int_equal (proto_address (address, "", "news"), 5);
    assert_string_equal (address, "#news");
    //  A peer field's parts, copied as they are (in memory): no channel
    //  is "", and each part is cut to its limit.
    char name[PROTO_NAME_MAX + 1], channel[PROTO_CHANNEL_NAME_MAX + 1];
    proto_peer_t parts = { "work-1", 1500, "resize" };
    proto_peer_copy (&parts, name, channel);
    assert_string_equal (name, "work-1");
    assert_string_equal (channel, "resize");
    parts = (proto_peer_t){ "@main", 0, NULL };
    proto_peer_copy (&parts, name, channel);
    assert_string_equal (name, "@main");
    assert_string_equal (channel, "");
    char name65[PROTO_NAME_MAX + 2], channel65[PROTO_CHANNEL_NAME_MAX + 2];
    memset (name65, 'a', PROTO_NAME_MAX + 1);
    name65[PROTO_NAME_MAX + 1] = 0;
    memset (channel65, '~', PROTO_CHANNEL_NAME_MAX + 1);
    channel65[PROTO_CHANNEL_NAME_MAX + 1] = 0;
    parts = (proto_peer_t){ name65, 0, channel65 };
    proto_peer_copy (&parts, name, channel);
    assert_string_equal (name, name64);
    assert_string_equal (channel, channel64);
    //  The longest address fits a version 2 prefix.
    uint8_t prefix[PROTO_PREFIX_MAX];
    proto_address_deadline (longest, name64, (uint64_t) INT64_MAX, channel64);
    size_t n = proto_prefix_encode (prefix, PROTO_REQUEST, UINT64_MAX >> 1, longest);
    assert_int_equal (n, PROTO_PREFIX_MAX - 1); //  a nineteen-digit deadline
    proto_frame_t frame = { prefix, n };
    uint8_t framed[PROTO_PREFIX_MAX + 1];
    memcpy (framed, prefix, n);
    framed[n] = 0xc0;
    frame.data = framed;
    frame.size = n + 1;
    assert_int_equal (proto_decode (&frame, 1, PROTO_TO_CLIENT, MAX_PAYLOAD, &msg), PROKIT_OK);
    assert_int_equal ((int) strlen (msg.peer), PROTO_NAME_MAX);

    //  Who reads channels says so: HELLO and WELCOME.
    uint8_t body[PROTO_WELCOME_BODY_MAX];
    proto_hello_t hello = { 0, false };
    hello.channels = true;
    proto_hello_t heard = { 0, false };
    assert_int_equal (proto_hello_decode (body, proto_hello_encode (body, &hello), &heard),
                      PROKIT_OK);
    assert_true (heard.channels);
    proto_welcome_t welcome = { 0 };
    welcome.channels = true;
    proto_welcome_t got = { 0 };
    assert_int_equal (proto_welcome_decode (body, proto_welcome_encode (body, &welcome), &got),
                      PROKIT_OK);
    assert_true (got.channels);
    welcome.channels = false;
    got.channels = true;
    assert_int_equal (proto_welcome_decode (body, proto_welcome_encode (body, &welcome), &got),
                      PROKIT_OK);
    assert_false (got.channels);
}

static void
test_channel_credit_and_their_welcome_round_trip (void **state)
{
    (void) state;
    //  The largest HELLO fits its buffer.
    uint8_t body[PROTO_WELCOME_BODY_MAX];
    proto_hello_t out = {
        UINT64_MAX, true, true, UINT64_MAX, true, UINT64_MAX, { "", UINT64_MAX, UINT64_MAX },
        true,       true, "",   true,       true
    };
    memset (out.last.topic, 'f', PROTO_TOPIC_SIZE);
    memset (out.service, 's', PROTO_NAME_MAX);
    out.default_deadline = UINT64_MAX;
    size_t size = proto_hello_encode (body, &out);
    assert_true (size <= PROTO_HELLO_BODY_MAX);
    proto_hello_t in = {
        0, false, false, 0, false, 0, { "", 0, 0 }, false, false, "", false, false
    };
    assert_int_equal (proto_hello_decode (body, size, &in), PROKIT_OK);
    assert_true (in.channel);
    assert_true (in.credit == UINT64_MAX);
    assert_string_equal (in.last.topic, out.last.topic);
    assert_true (in.last.count == UINT64_MAX);

    //  BYE says the count of the session it ends, or of an earlier one.
    proto_bye_t bye = { { "", 0, 5 }, true, true, false };
    size = proto_bye_encode (body, &bye);
    assert_true (size <= PROTO_BYE_BODY_MAX);
    proto_bye_t heard;
    assert_int_equal (proto_bye_decode (body, size, &heard), PROKIT_OK);
    assert_true (heard.counted && heard.last.count == 0 && heard.last.topic[0] == 0);
    assert_true (heard.dealer_counted && heard.last.dealer == 5);
    proto_bye_t earlier = { { "0123456789abcdef", 77, 0 }, true, false, true };
    size = proto_bye_encode (body, &earlier);
    assert_int_equal (proto_bye_decode (body, size, &heard), PROKIT_OK);
    assert_true (heard.counted && heard.last.count == 77 && !heard.dealer_counted);
    assert_true (heard.rejoin);
    assert_string_equal (heard.last.topic, "0123456789abcdef");
    assert_int_equal (proto_bye_decode ("", 0, &heard), PROKIT_OK);
    assert_false (heard.counted);

    //  WELCOME names the channel and the topic; a topic of another
    //  length is refused (it would not be an exact match).
    proto_welcome_t welcome = { UINT64_MAX,         UINT64_MAX,         2,    "",
                                "0123456789abcdef", "fedcba9876543210", true, true };
    memset (welcome.channel, 'x', sizeof (welcome.channel) - 1);
    welcome.channel[sizeof (welcome.channel) - 1] = 0;
    welcome.deadlines = true;
    welcome.clock_ms = welcome.default_deadline = UINT64_MAX;
    size = proto_welcome_encode (body, &welcome);
    assert_true (size <= PROTO_WELCOME_BODY_MAX);
    proto_welcome_t got = { 0, 0, 0, "", "", "", false, false, false };
    assert_int_equal (proto_welcome_decode (body, size, &got), PROKIT_OK);
    assert_string_equal (got.channel, welcome.channel);
    assert_string_equal (got.topic, "0123456789abcdef");
    const uint8_t short_topic[] = { 0x81, 0xa5, 't', 'o', 'p', 'i', 'c', 0xa3, 'a', 'b', 'c' };
    assert_int_equal (proto_welcome_decode (short_topic, sizeof (short_topic), &got),
                      PROKIT_EPROTO);

    //  On the wire a topic is the 8 bytes of its 16 hex digits.
    uint8_t wire[PROTO_TOPIC_WIRE];
    assert_true (proto_topic_to_wire ("00ff7a10deadbeef", wire));
    assert_int_equal (wire[1], 0xff);
    assert_int_equal (wire[7], 0xef);
    char text[PROTO_TOPIC_SIZE + 1];
    proto_topic_to_text (wire, text);
    assert_string_equal (text, "00ff7a10deadbeef");
    assert_false (proto_topic_to_wire ("00ff7a10deadbeeg", wire));
    assert_false (proto_topic_to_wire ("00ff7a10deadbee", wire));
    assert_false (proto_topic_to_wire ("00FF7A10DEADBEEF", wire));
    //  There every message is from main and names nobody: the peer is empty.
    proto_msg_t on_channel;
    assert_int_equal (s_decode3 (PROTO_SEND, "", s_nil, 1, PROTO_ON_CHANNEL, &on_channel),
                      PROKIT_OK);
    assert_int_equal (s_decode3 (PROTO_SEND, "@main", s_nil, 1, PROTO_ON_CHANNEL, &on_channel),
                      PROKIT_EPROTO);
    assert_int_equal (s_decode3 (PROTO_HELLO, "", s_map, 1, PROTO_ON_CHANNEL, &on_channel),
                      PROKIT_EPROTO);

    //  CREDIT counts both ways in, and leaves zeros out.
    proto_credit_t credit = { 123456789, 42 };
    size = proto_credit_encode (body, &credit);
    assert_true (size <= PROTO_CREDIT_BODY_MAX);
    proto_credit_t back = { 0, 0 };
    assert_int_equal (proto_credit_decode (body, size, &back), PROKIT_OK);
    assert_true (back.consumed == 123456789 && back.channel == 42);
    proto_msg_t msg;
    assert_int_equal (s_decode3 (PROTO_CREDIT, "", body, size, PROTO_TO_ROUTER, &msg), PROKIT_OK);
    assert_int_equal (s_decode3 (PROTO_CREDIT, "", body, size, PROTO_TO_CLIENT, &msg),
                      PROKIT_EPROTO);
    //  RECEIPT: window name -> count, 16 pairs and more in a map16; with
    //  a session for every third: [count, queued, token, session_queued].
    proto_receipt_entry_t entries[20];
    char labels[20][8];
    for (int i = 0; i < 20; i++) {
        snprintf (labels[i], sizeof (labels[i]), "w%d", i);
        entries[i] = (proto_receipt_entry_t){ labels[i], (uint64_t) i * 1000003u,
                                              i % 3 ? NULL : "0123456789abcdef",
                                              (uint64_t) i * 1000003u + 5, 4 };
    }
    uint8_t receipt[PROTO_RECEIPT_BODY_MAX];
    size = proto_receipt_encode (receipt, entries, 20);
    assert_int_equal (pack_check (receipt, size), PROKIT_OK);
    receipt_seen_t seen = { 0, 0, 0, 0 };
    assert_int_equal (
        proto_receipt_decode (receipt, size, s_receipt_seen, s_receipt_session_seen, &seen),
        PROKIT_OK);
    assert_int_equal (seen.pairs, 20);
    assert_true (seen.sum == 190 * 1000003u);
    assert_int_equal (seen.sessions, 7);
    assert_true (seen.session_queued == 7 * 4);
    //  The longest: every entry with a session, the longest names.
    char longest[PROTO_RECEIPT_PAIRS][PROTO_NAME_MAX + 1];
    proto_receipt_entry_t full[PROTO_RECEIPT_PAIRS];
    for (int i = 0; i < PROTO_RECEIPT_PAIRS; i++) {
        memset (longest[i], 'a' + i % 26, PROTO_NAME_MAX);
        longest[i][PROTO_NAME_MAX] = 0;
        full[i] = (proto_receipt_entry_t){ longest[i], UINT64_MAX - 1, "0123456789abcdef",
                                           UINT64_MAX, UINT64_MAX };
    }
    size = proto_receipt_encode (receipt, full, PROTO_RECEIPT_PAIRS + 3);
    assert_true (size <= PROTO_RECEIPT_BODY_MAX && size <= 4096);
    //  Not a count; a session whose count passes what was queued; a short
    //  token.
    const uint8_t bad_receipt[] = { 0x81, 0xa1, 'w', 0xff };
    assert_int_equal (proto_receipt_decode (bad_receipt, sizeof (bad_receipt), s_receipt_seen,
                                            s_receipt_session_seen, &seen),
                      PROKIT_EPROTO);
    const uint8_t past[] = { 0x81, 0xa1, 'w', 0x94, 0x05, 0x04, 0xb0, '0', '1', '2', '3', '4',
                             '5',  '6',  '7', '8',  '9',  'a',  'b',  'c', 'd', 'e', 'f', 0x01 };
    assert_int_equal (
        proto_receipt_decode (past, sizeof (past), s_receipt_seen, s_receipt_session_seen, &seen),
        PROKIT_EPROTO);
    const uint8_t token_nul[] = {
        0x81, 0xa1, 'w', 0x94, 0x01, 0x04, 0xb0, '0', '1', '2', '3', '4',
        '5',  '6',  '7', '8',  '9',  'a',  'b',  0,   'd', 'e', 'f', 0x01
    };
    assert_int_equal (proto_receipt_decode (token_nul, sizeof (token_nul), s_receipt_seen,
                                            s_receipt_session_seen, &seen),
                      PROKIT_EPROTO); //  found by fuzz_proto: a NUL inside the token
    const uint8_t token_cut[] = { 0x81, 0xa1, 'w', 0x94, 0x01, 0x04, 0xa1, '0', 0x01 };
    assert_int_equal (proto_receipt_decode (token_cut, sizeof (token_cut), s_receipt_seen,
                                            s_receipt_session_seen, &seen),
                      PROKIT_EPROTO);

    //  TOOK: a token and a count; HELLO's "last_from" and "took".
    proto_took_t took = { "0123456789abcdef", 12345, UINT64_MAX }, took_back;
    uint8_t took_body[PROTO_TOOK_BODY_MAX];
    size = proto_took_encode (took_body, &took);
    assert_true (size <= PROTO_TOOK_BODY_MAX);
    assert_int_equal (proto_took_decode (took_body, size, &took_back), PROKIT_OK);
    assert_string_equal (took_back.token, took.token);
    assert_true (took_back.count == 12345 && took_back.first == UINT64_MAX);
    assert_int_equal (s_decode3 (PROTO_TOOK, "w", took_body, size, PROTO_TO_CLIENT, &msg),
                      PROKIT_OK);
    assert_int_equal (s_decode3 (PROTO_TOOK, "w", took_body, size, PROTO_TO_ROUTER, &msg),
                      PROKIT_EPROTO);
    assert_string_equal (proto_command_name (PROTO_TOOK), "TOOK");

    //  FLOW: hold, or not; to a client only, about a window.
    uint8_t flow_body[PROTO_FLOW_BODY_MAX];
    bool hold = false;
    size = proto_flow_encode (flow_body, true);
    assert_true (size <= PROTO_FLOW_BODY_MAX);
    assert_int_equal (proto_flow_decode (flow_body, size, &hold), PROKIT_OK);
    assert_true (hold);
    const struct {
        const char *peer;
        proto_direction_t direction;
        int rc;
    } flows[] = { { "w", PROTO_TO_CLIENT, PROKIT_OK },
                  { "w", PROTO_TO_ROUTER, PROKIT_EPROTO },
                  { "@main", PROTO_TO_CLIENT, PROKIT_EPROTO } };
    for (size_t i = 0; i < COUNT_OF (flows); i++)
        assert_int_equal (
            s_decode3 (PROTO_FLOW, flows[i].peer, flow_body, size, flows[i].direction, &msg),
            flows[i].rc);
    size = proto_flow_encode (flow_body, false);
    assert_int_equal (proto_flow_decode (flow_body, size, &hold), PROKIT_OK);
    assert_false (hold);
    assert_string_equal (proto_command_name (PROTO_FLOW), "FLOW");
    proto_from_t from[PROTO_FROM_MAX + 2];
    char senders[PROTO_FROM_MAX + 2][PROTO_NAME_MAX + 1];
    for (int i = 0; i < PROTO_FROM_MAX + 2; i++) {
        memset (senders[i], 'a' + i % 26, PROTO_NAME_MAX);
        senders[i][PROTO_NAME_MAX] = 0;
        senders[i][0] = (char) ('A' + i % 26);
        //  A count and the first's id, or (the older form) a count alone.
        from[i] = (proto_from_t){ senders[i], UINT64_MAX, i % 2 ? 0 : UINT64_MAX - 1 };
    }
    proto_hello_t hello;
    memset (&hello, 0, sizeof (hello));
    //  Every field at its longest: the body stays within its bound.
    hello.pid = hello.version = hello.credit = hello.default_deadline = UINT64_MAX;
    hello.last.count = hello.last.dealer = UINT64_MAX;
    hello.presence = hello.shown = hello.channel = hello.account = hello.channels = true;
    hello.progress = hello.cancel = hello.deadlines = true;
    hello.took = hello.flow = hello.batch = true;
    snprintf (hello.last.topic, sizeof (hello.last.topic), "0123456789abcdef");
    snprintf (hello.service, sizeof (hello.service), "%s", senders[0]);
    hello.from = from;
    hello.from_count = PROTO_FROM_MAX + 2; //  the first PROTO_FROM_MAX are said
    uint8_t hello_body[PROTO_HELLO_BODY_MAX];
    size = proto_hello_encode (hello_body, &hello);
    assert_true (size <= PROTO_HELLO_BODY_MAX && size <= 4096);
    assert_int_equal (pack_check (hello_body, size), PROKIT_OK);
    proto_hello_t hello_back;
    memset (&hello_back, 0, sizeof (hello_back));
    assert_int_equal (proto_hello_decode (hello_body, size, &hello_back), PROKIT_OK);
    assert_true (hello_back.took && hello_back.flow && hello_back.batch &&
                 hello_back.from == NULL && hello_back.from_count == 0);
    receipt_seen_t from_seen = { 0, 0, 0, 0 };
    assert_int_equal (proto_hello_from_decode (hello_body, size, s_from_seen, &from_seen),
                      PROKIT_OK);
    assert_int_equal (from_seen.pairs, PROTO_FROM_MAX);
    assert_int_equal (from_seen.sessions, PROTO_FROM_MAX / 2);
    hello.from_count = 0; //  none: no key at all
    size = proto_hello_encode (hello_body, &hello);
    memset (&from_seen, 0, sizeof (from_seen));
    assert_int_equal (proto_hello_from_decode (hello_body, size, s_from_seen, &from_seen),
                      PROKIT_OK);
    assert_int_equal (from_seen.pairs, 0);
    const uint8_t bad_from[] = { 0x81, 0xa9, 'l', 'a',  's',  't', '_', 'f',
                                 'r',  'o',  'm', 0x81, 0xa1, 'w', 0xff };
    assert_int_equal (
        proto_hello_from_decode (bad_from, sizeof (bad_from), s_from_seen, &from_seen),
        PROKIT_EPROTO);
    const uint8_t short_from[] = { 0x81, 0xa9, 'l', 'a',  's',  't', '_',  'f',
                                   'r',  'o',  'm', 0x81, 0xa1, 'w', 0x91, 0x01 };
    assert_int_equal (
        proto_hello_from_decode (short_from, sizeof (short_from), s_from_seen, &from_seen),
        PROKIT_EPROTO); //  [count] without the first's id
    const uint8_t negative[] = { 0x81, 0xa8, 'c', 'o', 'n', 's', 'u', 'm', 'e', 'd', 0xff };
    assert_int_equal (proto_credit_decode (negative, sizeof (negative), &back), PROKIT_EPROTO);
}

typedef struct account_seen {
    int windows;
    uint64_t published, settled;
    char first[PROTO_NAME_MAX + 1];
    int sessions;
    uint64_t session_published;
    char topic[PROTO_TOPIC_SIZE + 1];
} account_seen_t;

static void
s_account_session_seen (const char *name, const char *topic, uint64_t published, void *arg)
{
    (void) name;
    account_seen_t *seen = (account_seen_t *) arg;
    seen->sessions++;
    seen->session_published += published;
    snprintf (seen->topic, sizeof (seen->topic), "%s", topic);
}

static void
s_account_seen (const char *name, uint64_t published, uint64_t settled, void *arg)
{
    account_seen_t *seen = (account_seen_t *) arg;
    if (seen->windows++ == 0)
        snprintf (seen->first, sizeof (seen->first), "%s", name);
    seen->published += published;
    seen->settled += settled;
}

//  ACCOUNT: main's messages handled, and per window published / settled;
//  router -> client only, asked for in HELLO and granted in WELCOME.
static void
test_account_round_trips_and_is_checked (void **state)
{
    (void) state;
    proto_account_window_t windows[PROTO_ACCOUNT_WINDOWS];
    char names[PROTO_ACCOUNT_WINDOWS][PROTO_NAME_MAX + 1];
    for (int i = 0; i < PROTO_ACCOUNT_WINDOWS; i++) {
        //  The longest names and counts: the body still fits a map's limit.
        memset (names[i], 'a' + i % 26, PROTO_NAME_MAX);
        names[i][PROTO_NAME_MAX] = 0;
        names[i][0] = (char) ('A' + i % 26);
        names[i][1] = (char) ('a' + i / 26);
        //  Every window with its session on the channel: the largest body.
        windows[i] = (proto_account_window_t){ names[i], UINT64_MAX, UINT64_MAX - 1,
                                               "0123456789abcdef", UINT64_MAX };
    }
    uint8_t body[PROTO_ACCOUNT_BODY_MAX];
    size_t size = proto_account_encode (body, UINT64_MAX, windows, PROTO_ACCOUNT_WINDOWS + 5);
    assert_true (size <= PROTO_ACCOUNT_BODY_MAX);
    assert_true (size <= 4096);
    assert_int_equal (pack_check (body, size), PROKIT_OK);
    proto_msg_t msg;
    assert_int_equal (s_decode3 (PROTO_ACCOUNT, "", body, size, PROTO_TO_CLIENT, &msg), PROKIT_OK);
    assert_int_equal (s_decode3 (PROTO_ACCOUNT, "", body, size, PROTO_TO_ROUTER, &msg),
                      PROKIT_EPROTO);
    uint64_t handled = 0;
    account_seen_t seen = { 0, 0, 0, "", 0, 0, "" };
    assert_int_equal (
        proto_account_decode (body, size, &handled, s_account_seen, s_account_session_seen, &seen),
        PROKIT_OK);
    assert_true (handled == UINT64_MAX);
    assert_int_equal (seen.windows, PROTO_ACCOUNT_WINDOWS);
    assert_string_equal (seen.first, names[0]);
    assert_int_equal (seen.sessions, PROTO_ACCOUNT_WINDOWS);
    assert_string_equal (seen.topic, "0123456789abcdef");
    //  Windows off the channel: no "sessions" key at all.
    for (int i = 0; i < PROTO_ACCOUNT_WINDOWS; i++)
        windows[i].token = NULL;
    size = proto_account_encode (body, 3, windows, 2);
    memset (&seen, 0, sizeof (seen));
    assert_int_equal (
        proto_account_decode (body, size, &handled, s_account_seen, s_account_session_seen, &seen),
        PROKIT_OK);
    assert_true (handled == 3 && seen.windows == 2 && seen.sessions == 0);
    //  A session whose topic is not PROTO_TOPIC_SIZE digits is refused.
    const uint8_t short_topic[] = { 0x81, 0xa8, 's', 'e',  's',  's', 'i', 'o', 'n', 's',
                                    0x81, 0xa1, 'w', 0x92, 0xa3, 'a', 'b', 'c', 0x01 };
    assert_int_equal (proto_account_decode (short_topic, sizeof (short_topic), &handled,
                                            s_account_seen, s_account_session_seen, &seen),
                      PROKIT_EPROTO);
    //  No windows: handled alone. Empty body: nothing.
    size = proto_account_encode (body, 7, windows, 0);
    memset (&seen, 0, sizeof (seen));
    assert_int_equal (
        proto_account_decode (body, size, &handled, s_account_seen, s_account_session_seen, &seen),
        PROKIT_OK);
    assert_true (handled == 7 && seen.windows == 0);
    assert_int_equal (
        proto_account_decode (NULL, 0, &handled, s_account_seen, s_account_session_seen, &seen),
        PROKIT_OK);
    assert_true (handled == 0);
    //  Settled past published, a pair of the wrong length, a count that
    //  is not a uint, and an unknown key (skipped).
    const uint8_t over[] = { 0x81, 0xa7, 'w',  'i', 'n',  'd',  'o', 'w',
                             's',  0x81, 0xa1, 'w', 0x92, 0x01, 0x02 };
    const uint8_t triple[] = { 0x81, 0xa7, 'w',  'i', 'n',  'd',  'o',  'w',
                               's',  0x81, 0xa1, 'w', 0x93, 0x01, 0x01, 0x01 };
    const uint8_t negative[] = { 0x81, 0xa7, 'h', 'a', 'n', 'd', 'l', 'e', 'd', 0xff };
    const uint8_t unknown[] = { 0x82, 0xa3, 'n', 'e', 'w', 0xc0, 0xa7, 'h',
                                'a',  'n',  'd', 'l', 'e', 'd',  0x05 };
    assert_int_equal (proto_account_decode (over, sizeof (over), &handled, s_account_seen,
                                            s_account_session_seen, &seen),
                      PROKIT_EPROTO);
    assert_int_equal (proto_account_decode (triple, sizeof (triple), &handled, s_account_seen,
                                            s_account_session_seen, &seen),
                      PROKIT_EPROTO);
    assert_int_equal (proto_account_decode (negative, sizeof (negative), &handled, s_account_seen,
                                            s_account_session_seen, &seen),
                      PROKIT_EPROTO);
    assert_int_equal (proto_account_decode (unknown, sizeof (unknown), &handled, s_account_seen,
                                            s_account_session_seen, &seen),
                      PROKIT_OK);
    assert_true (handled == 5);
    assert_string_equal (proto_command_name (PROTO_ACCOUNT), "ACCOUNT");

    //  Asked for in HELLO, granted in WELCOME; neither says it otherwise.
    proto_hello_t hello = { 0,    false, false, 0,     false, 0, { "", 0, 0 },
                            true, false, "",    false, false };
    uint8_t hello_body[PROTO_HELLO_BODY_MAX];
    size = proto_hello_encode (hello_body, &hello);
    proto_hello_t heard = { 0,     false, false, 0,     false, 0, { "", 0, 0 },
                            false, false, "",    false, false };
    assert_int_equal (proto_hello_decode (hello_body, size, &heard), PROKIT_OK);
    assert_true (heard.account);
    hello.account = false;
    assert_int_equal (proto_hello_encode (hello_body, &hello), 1); //  an empty map
    proto_welcome_t welcome = { 1, 2, 2, "", "", "", true, false, false };
    uint8_t welcome_body[PROTO_WELCOME_BODY_MAX];
    size = proto_welcome_encode (welcome_body, &welcome);
    proto_welcome_t got = { 0, 0, 0, "", "", "", false, false, false };
    assert_int_equal (proto_welcome_decode (welcome_body, size, &got), PROKIT_OK);
    assert_true (got.account);
    welcome.account = false;
    size = proto_welcome_encode (welcome_body, &welcome);
    got.account = true;
    assert_int_equal (proto_welcome_decode (welcome_body, size, &got), PROKIT_OK);
    assert_false (got.account);
}

static void
test_hello_flag_that_is_not_a_bool_is_refused (void **state)
{
    (void) state;
    const uint8_t body[] = { 0x81, 0xa5, 's', 'h', 'o', 'w', 'n', 0x01 };
    proto_hello_t hello = { 0,     false, false, 0,     false, 0, { "", 0, 0 },
                            false, false, "",    false, false };
    assert_int_equal (proto_hello_decode (body, sizeof (body), &hello), PROKIT_EPROTO);
}

static void
test_presence_body_round_trips_and_cuts_long_strings (void **state)
{
    (void) state;
    proto_presence_t out;
    memset (&out, 0, sizeof (out));
    out.pid = 42;
    memset (out.address, 'a', sizeof (out.address) - 1);
    strcpy (out.reason, "closed");
    out.shown = true;
    uint8_t body[PROTO_PRESENCE_BODY_MAX];
    size_t size = proto_presence_encode (body, &out);
    assert_true (size <= PROTO_PRESENCE_BODY_MAX);
    proto_presence_t in;
    memset (&in, 0, sizeof (in));
    assert_int_equal (proto_presence_decode (body, size, &in), PROKIT_OK);
    assert_int_equal (in.pid, 42);
    assert_string_equal (in.address, out.address);
    assert_string_equal (in.reason, "closed");
    assert_true (in.shown);

    //  {"reason": 100 x 'r'}: cut to fit the 64-byte field.
    uint8_t wire[3 + 7 + 100];
    wire[0] = 0x81;
    wire[1] = 0xa6;
    memcpy (wire + 2, "reason", 6);
    wire[8] = 0xd9;
    wire[9] = 100;
    memset (wire + 10, 'r', 100);
    assert_int_equal (proto_presence_decode (wire, 110, &in), PROKIT_OK);
    assert_int_equal (strlen (in.reason), sizeof (in.reason) - 1);
    //  Exactly the field's size (no room for the NUL): cut by one.
    wire[9] = (uint8_t) sizeof (in.reason);
    in.shown = true;
    assert_int_equal (proto_presence_decode (wire, 10 + sizeof (in.reason), &in), PROKIT_OK);
    assert_int_equal (strlen (in.reason), sizeof (in.reason) - 1);
    assert_true (in.shown); //  the field after it is untouched
}

//  --- version 2 -----------------------------------------------------------------

static void
test_prefix_is_version_2_header_peer_length_and_peer (void **state)
{
    (void) state;
    uint8_t prefix[PROTO_PREFIX_MAX];
    size_t size = proto_prefix_encode (prefix, PROTO_SEND, 0x0102030405060708ull, "work");
    const uint8_t expected[] = { 'P', 'K', 2, 4, 8, 1, 2, 3, 4, 5, 6, 7, 8, 4, 'w', 'o', 'r', 'k' };
    assert_int_equal (size, sizeof (expected));
    assert_memory_equal (prefix, expected, sizeof (expected));
    //  An empty peer is a zero length; a peer field (a name and a channel)
    //  is never longer than PROTO_ADDRESS_MAX.
    assert_int_equal (proto_prefix_encode (prefix, PROTO_PING, 1, ""), PROTO_V2_HEADER_MIN + 2);
    assert_int_equal (prefix[PROTO_V2_HEADER_MIN + 1], 0);
    char longest[PROTO_ADDRESS_MAX + 2];
    memset (longest, 'n', PROTO_ADDRESS_MAX + 1);
    longest[PROTO_ADDRESS_MAX + 1] = 0;
    assert_int_equal (proto_prefix_encode (prefix, PROTO_SEND, UINT64_MAX, longest),
                      PROTO_PREFIX_MAX);
}

//  The id takes as few bytes as it needs; bit 63 (one-way) is a flag in the
//  head, so small one-way ids are short too.
static void
test_version_2_id_is_a_head_and_its_significant_bytes (void **state)
{
    (void) state;
    const struct {
        uint64_t id;
        uint8_t bytes[9];
        size_t size;
    } cases[] = {
        { 0, { 0x00 }, 1 },
        { 1, { 0x01, 0x01 }, 2 },
        { 0x1234, { 0x02, 0x12, 0x34 }, 3 },
        { PROTO_ID_ONE_WAY_BIT, { 0x80 }, 1 },
        { PROTO_ID_ONE_WAY_BIT | 5, { 0x81, 0x05 }, 2 },
        { INT64_MAX, { 0x08, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, 9 },
        { UINT64_MAX, { 0x88, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, 9 },
    };
    for (size_t i = 0; i < COUNT_OF (cases); i++) {
        uint8_t prefix[PROTO_PREFIX_MAX];
        size_t size = proto_prefix_encode (prefix, PROTO_SEND, cases[i].id, "");
        assert_int_equal (size, 4 + cases[i].size + 1);
        assert_memory_equal (prefix + 4, cases[i].bytes, cases[i].size);
        uint8_t command;
        uint64_t id;
        assert_int_equal (proto_header_decode (prefix, size, &command, &id), PROKIT_OK);
        assert_true (id == cases[i].id);
        assert_int_equal (command, PROTO_SEND);
    }
}

static void
test_version_2_bad_id_heads_are_eproto (void **state)
{
    (void) state;
    uint8_t frame[PROTO_PREFIX_MAX];
    size_t size = proto_prefix_encode (frame, PROTO_SEND, UINT64_MAX, "");
    //  Reserved bits, more than 8 bytes, bit 63 inside the bytes, and a
    //  head promising more bytes than the frame has.
    const uint8_t heads[] = { 0x18, 0x28, 0x48, 0x09, 0x0f, 0x8f };
    for (size_t i = 0; i < COUNT_OF (heads); i++) {
        frame[4] = heads[i];
        uint8_t command;
        uint64_t id;
        assert_int_equal (proto_header_decode (frame, size, &command, &id), PROKIT_EPROTO);
        assert_int_equal (id, 0);
    }
    frame[4] = 0x08;
    frame[5] = 0x80;
    uint8_t command;
    uint64_t id;
    assert_int_equal (proto_header_decode (frame, size, &command, &id), PROKIT_EPROTO);
    frame[5] = 0x7f;
    assert_int_equal (proto_header_decode (frame, size, &command, &id), PROKIT_OK);
    assert_int_equal (proto_header_decode (frame, size - 1, &command, &id), PROKIT_EPROTO);
}

static void
test_version_2_decodes_what_the_prefix_encodes (void **state)
{
    (void) state;
    uint8_t frame[PROTO_PREFIX_MAX + 3];
    size_t size = proto_prefix_encode (frame, PROTO_REQUEST, 42, "@main");
    const uint8_t body[] = { 0xa2, 'h', 'i' };
    memcpy (frame + size, body, sizeof (body));
    proto_frame_t one = { frame, size + sizeof (body) };
    proto_msg_t msg;
    assert_int_equal (proto_decode (&one, 1, PROTO_TO_ROUTER, MAX_PAYLOAD, &msg), PROKIT_OK);
    assert_int_equal (msg.version, PROTO_VERSION_2);
    assert_int_equal (msg.command, PROTO_REQUEST);
    assert_int_equal (msg.id, 42);
    assert_string_equal (msg.peer, "@main");
    assert_true (msg.body_inline);
    assert_int_equal (msg.body_size, sizeof (body));
    assert_memory_equal (msg.body, body, sizeof (body));
}

static void
test_version_2_frame_without_its_peer_length_is_eproto (void **state)
{
    (void) state;
    uint8_t frame[PROTO_PREFIX_MAX];
    size_t size = proto_prefix_encode (frame, PROTO_PING, 9, "");
    proto_frame_t one = { frame, size - 1 };
    proto_msg_t msg;
    assert_int_equal (proto_decode (&one, 1, PROTO_TO_ROUTER, MAX_PAYLOAD, &msg), PROKIT_EPROTO);
    //  Too short for its version: the id is not trusted either.
    assert_int_equal (msg.id, 0);
    one.size = size;
    assert_int_equal (proto_decode (&one, 1, PROTO_TO_ROUTER, MAX_PAYLOAD, &msg), PROKIT_OK);
}

static void
test_version_2_peer_length_past_the_frame_is_eproto (void **state)
{
    (void) state;
    uint8_t frame[PROTO_PREFIX_MAX];
    size_t size = proto_prefix_encode (frame, PROTO_SEND, 9, "work");
    const uint8_t lengths[] = { 5, 64, 65, 255 };
    for (size_t i = 0; i < COUNT_OF (lengths); i++) {
        frame[size - 5] = lengths[i]; //  the peer length, before "work"
        proto_frame_t one = { frame, size };
        proto_msg_t msg;
        assert_int_equal (proto_decode (&one, 1, PROTO_TO_ROUTER, MAX_PAYLOAD, &msg),
                          PROKIT_EPROTO);
        assert_int_equal (msg.command, PROTO_SEND);
        assert_int_equal (msg.id, 9);
    }
}

static void
test_version_2_body_is_inline_or_alone_never_both (void **state)
{
    (void) state;
    uint8_t frame[PROTO_PREFIX_MAX + 1];
    size_t size = proto_prefix_encode (frame, PROTO_SEND, 9, "work");
    frame[size] = 0xc0;
    proto_frame_t frames[3] = { { frame, size + 1 }, { s_nil, 1 }, { s_nil, 1 } };
    proto_msg_t msg;
    assert_int_equal (proto_decode (frames, 1, PROTO_TO_ROUTER, MAX_PAYLOAD, &msg), PROKIT_OK);
    assert_int_equal (proto_decode (frames, 2, PROTO_TO_ROUTER, MAX_PAYLOAD, &msg), PROKIT_EPROTO);
    frames[0].size = size;
    assert_int_equal (proto_decode (frames, 2, PROTO_TO_ROUTER, MAX_PAYLOAD, &msg), PROKIT_OK);
    assert_false (msg.body_inline);
    assert_int_equal (msg.body_frame, 1);
    assert_ptr_equal (msg.body, s_nil);
    //  Three frames are version 1's shape, not version 2's.
    assert_int_equal (proto_decode (frames, 3, PROTO_TO_ROUTER, MAX_PAYLOAD, &msg), PROKIT_EPROTO);
}

//  A default deadline: the HELLO says it, the WELCOME says the router
//  applies it; either leaves it out when there is none (an older peer's
//  body is what it was), and a WELCOME without it says none.
static void
test_hello_and_welcome_say_a_default_deadline_or_nothing (void **state)
{
    (void) state;
    uint8_t body[PROTO_WELCOME_BODY_MAX];
    proto_hello_t hello;
    memset (&hello, 0, sizeof (hello));
    hello.deadlines = true;
    hello.default_deadline = 5000;
    size_t size = proto_hello_encode (body, &hello);
    const uint8_t said[] = { 0xb0, 'd', 'e', 'f', 'a',  'u', 'l', 't', '_', 'd', 'e', 'a',  'd',
                             'l',  'i', 'n', 'e', 0xcf, 0,   0,   0,   0,   0,   0,   0x13, 0x88 };
    assert_int_equal (body[0], 0x82);
    assert_int_equal (size, 1 + 11 + sizeof (said));
    assert_memory_equal (body + 1 + 11, said, sizeof (said));
    proto_hello_t heard;
    memset (&heard, 0, sizeof (heard));
    assert_int_equal (proto_hello_decode (body, size, &heard), PROKIT_OK);
    assert_true (heard.deadlines);
    assert_true (heard.default_deadline == 5000);
    hello.default_deadline = 0;
    size = proto_hello_encode (body, &hello);
    assert_int_equal (size, 1 + 11); //  "deadlines" alone
    assert_int_equal (body[0], 0x81);
    heard.default_deadline = 0;
    assert_int_equal (proto_hello_decode (body, size, &heard), PROKIT_OK);
    assert_true (heard.default_deadline == 0);

    proto_welcome_t welcome;
    memset (&welcome, 0, sizeof (welcome));
    welcome.deadlines = true;
    welcome.default_deadline = 5000;
    size = proto_welcome_encode (body, &welcome);
    proto_welcome_t got;
    memset (&got, 0, sizeof (got));
    assert_int_equal (proto_welcome_decode (body, size, &got), PROKIT_OK);
    assert_true (got.deadlines);
    assert_true (got.default_deadline == 5000);
    //  A WELCOME that does not say it (an older router): none, whatever
    //  the last one said.
    welcome.default_deadline = 0;
    size = proto_welcome_encode (body, &welcome);
    assert_int_equal (body[0], 0x83); //  the two settings and "deadlines"
    assert_int_equal (proto_welcome_decode (body, size, &got), PROKIT_OK);
    assert_true (got.deadlines);
    assert_true (got.default_deadline == 0);
}

static void
test_hello_and_welcome_say_the_version_and_default_to_1 (void **state)
{
    (void) state;
    uint8_t body[PROTO_WELCOME_BODY_MAX];
    proto_hello_t hello = { 0,     false, false, PROTO_VERSION_2, false, 0, { "", 0, 0 },
                            false, false, "",    false,           false };
    size_t size = proto_hello_encode (body, &hello);
    proto_hello_t heard = { 0,     false, false, 99,    false, 0, { "", 0, 0 },
                            false, false, "",    false, false };
    assert_int_equal (proto_hello_decode (body, size, &heard), PROKIT_OK);
    assert_int_equal (heard.version, PROTO_VERSION_2);
    //  A peer that does not say reads version 1 only.
    assert_int_equal (proto_hello_decode (s_map, 1, &heard), PROKIT_OK);
    assert_int_equal (heard.version, PROTO_VERSION_1);

    proto_welcome_t welcome = { 1024, 1000, PROTO_VERSION_2, "", "", "", false, false, false };
    size = proto_welcome_encode (body, &welcome);
    assert_true (size <= PROTO_WELCOME_BODY_MAX);
    proto_welcome_t got = { 0, 0, 99, "", "", "", false, false, false };
    assert_int_equal (proto_welcome_decode (body, size, &got), PROKIT_OK);
    assert_int_equal (got.version, PROTO_VERSION_2);
    assert_int_equal (got.max_payload, 1024);
    //  A version 1 WELCOME is the two-key map it always was.
    welcome.version = PROTO_VERSION_1;
    size = proto_welcome_encode (body, &welcome);
    assert_int_equal (body[0], 0x82);
    assert_int_equal (proto_welcome_decode (body, size, &got), PROKIT_OK);
    assert_int_equal (got.version, PROTO_VERSION_1);
}

//  --- random input ----------------------------------------------------------------

//  A small deterministic generator (xorshift64*), so a failure repeats.
static uint64_t
s_random (uint64_t *state)
{
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return *state * 2685821657736338717ull;
}

//  Random frames in random counts and sizes, and valid messages of either
//  version with bytes changed or cut off: every one is either accepted with
//  its peer and body inside what was given, or refused with one of the
//  decoder's errors. Never anything else, never a read outside the frames
//  (the sanitizer builds run this too).
static void
test_random_frames_are_decoded_or_refused_never_misread (void **state)
{
    (void) state;
    uint64_t seed = 0x9E3779B97F4A7C15ull;
    uint8_t buffers[3][200];
    int accepted = 0;
    for (int round = 0; round < 200000; round++) {
        proto_frame_t frames[3];
        size_t count = 1 + s_random (&seed) % 3;
        for (size_t i = 0; i < count; i++) {
            size_t size = s_random (&seed) % sizeof (buffers[i]);
            for (size_t b = 0; b < size; b++)
                buffers[i][b] = (uint8_t) s_random (&seed);
            frames[i].data = buffers[i];
            frames[i].size = size;
        }
        if (round % 2 == 0) {
            //  A valid message (a REQUEST to @main, in either version) with
            //  up to two bytes changed and maybe cut short.
            static const uint8_t body[] = { 0x92, 0xa2, 'h', 'i', 0xcd, 0x01, 0x02 };
            bool v2 = s_random (&seed) % 2;
            size_t size = proto_prefix_encode (buffers[0], PROTO_REQUEST, round, "@main");
            if (v2) {
                memcpy (buffers[0] + size, body, sizeof (body));
                frames[0].size = size + sizeof (body);
                count = 1;
            }
            else {
                proto_header_encode (buffers[0], PROTO_REQUEST, round);
                memcpy (buffers[1], "@main", 5);
                memcpy (buffers[2], body, sizeof (body));
                frames[0].size = PROTO_HEADER_SIZE;
                frames[1] = (proto_frame_t){ buffers[1], 5 };
                frames[2] = (proto_frame_t){ buffers[2], sizeof (body) };
                count = 3;
            }
            for (int flips = (int) (s_random (&seed) % 3); flips > 0; flips--) {
                size_t which = s_random (&seed) % count;
                if (frames[which].size > 0)
                    buffers[which][s_random (&seed) % frames[which].size] =
                        (uint8_t) s_random (&seed);
            }
            if (s_random (&seed) % 4 == 0) {
                size_t which = s_random (&seed) % count;
                frames[which].size = s_random (&seed) % (frames[which].size + 1);
            }
        }
        else if (frames[0].size >= 4 && s_random (&seed) % 8 != 0) {
            //  Random bytes behind a good start, so the checks past the
            //  header run on them.
            buffers[0][0] = 'P';
            buffers[0][1] = 'K';
            buffers[0][2] = (uint8_t) (1 + s_random (&seed) % 2);
            buffers[0][3] = (uint8_t) (1 + s_random (&seed) % PROTO_COMMAND_LAST);
            if (buffers[0][2] == PROTO_VERSION_2) {
                //  A plausible id head, and a peer length after its bytes.
                uint8_t bytes = (uint8_t) (s_random (&seed) % 9);
                buffers[0][4] = (uint8_t) (bytes | (s_random (&seed) % 2 ? 0x80 : 0));
                if (frames[0].size > 5u + bytes)
                    buffers[0][5 + bytes] = (uint8_t) (s_random (&seed) % 80);
            }
            if (buffers[0][2] == PROTO_VERSION_1 && s_random (&seed) % 2)
                frames[0].size = PROTO_HEADER_SIZE;
        }
        proto_direction_t direction = round % 2 ? PROTO_TO_ROUTER : PROTO_TO_CLIENT;
        proto_msg_t msg;
        int rc = proto_decode (frames, count, direction, 100, &msg);
        assert_true (rc == PROKIT_OK || rc == PROKIT_EPROTO || rc == PROKIT_EVERSION ||
                     rc == PROKIT_ETOOBIG);
        if (rc != PROKIT_OK)
            continue;
        accepted++;
        assert_true (msg.body_frame < count);
        const uint8_t *start = (const uint8_t *) frames[msg.body_frame].data;
        assert_true (msg.body >= start);
        assert_true (msg.body + msg.body_size <= start + frames[msg.body_frame].size);
        assert_true (strlen (msg.peer) <= PROTO_NAME_MAX);
    }
    //  The unchanged ones, at least, were accepted.
    assert_true (accepted > 10000);
}

static void
test_common_version_is_the_newer_both_read (void **state)
{
    (void) state;
    assert_int_equal (proto_version_common (0), PROTO_VERSION_1);
    assert_int_equal (proto_version_common (1), PROTO_VERSION_1);
    assert_int_equal (proto_version_common (2), PROTO_VERSION_2);
    assert_int_equal (proto_version_common (3), PROTO_VERSION_MAX);
    assert_int_equal (proto_version_common (UINT64_MAX), PROTO_VERSION_MAX);
}

//  A channel frame without its topic: COMMAND, ID, PEER, BODY inline.
static size_t
s_channel_frame (uint8_t *out, int command, uint64_t id, const char *peer, const void *body,
                 size_t body_size)
{
    size_t n = proto_prefix_encode (out, (proto_command_t) command, id, peer);
    memcpy (out + n, body, body_size);
    return n + body_size;
}

static void
test_batch_holds_channel_messages_in_order (void **state)
{
    (void) state;
    //  Three entries: a SEND on the default channel, a broadcast on a named
    //  one, a REPLY with a large id; each decodes as a channel message.
    uint8_t body[PROTO_BATCH_MAX];
    size_t size = 0;
    const uint8_t value[] = { 0xa3, 'o', 'n', 'e' };
    size += proto_batch_entry_encode (body + size, PROTO_SEND, 0, "", value, sizeof (value));
    size += proto_batch_entry_encode (body + size, PROTO_BROADCAST, 0, "#news", s_nil, 1);
    size += proto_batch_entry_encode (body + size, PROTO_REPLY, UINT64_MAX >> 1, "", value,
                                      sizeof (value));
    const struct {
        int command;
        uint64_t id;
        const char *channel;
        size_t body_size;
    } expect[] = { { PROTO_SEND, 0, "", 4 },
                   { PROTO_BROADCAST, 0, "news", 1 },
                   { PROTO_REPLY, UINT64_MAX >> 1, "", 4 } };
    size_t offset = 0;
    proto_frame_t entry;
    for (size_t i = 0; i < COUNT_OF (expect); i++) {
        assert_int_equal (proto_batch_next (body, size, &offset, &entry), 1);
        proto_msg_t msg;
        assert_int_equal (proto_decode (&entry, 1, PROTO_ON_CHANNEL, SIZE_MAX, &msg), PROKIT_OK);
        assert_int_equal (msg.command, expect[i].command);
        assert_true (msg.id == expect[i].id);
        assert_string_equal (msg.peer, "");
        assert_string_equal (msg.channel_name, expect[i].channel);
        assert_int_equal (msg.body_size, expect[i].body_size);
        assert_memory_equal (msg.body, i == 1 ? s_nil : value, expect[i].body_size);
    }
    assert_int_equal (proto_batch_next (body, size, &offset, &entry), 0);
    assert_int_equal (offset, size);

    //  The BATCH itself: on the channel only, its body inline.
    uint8_t frame[PROTO_PREFIX_MAX + PROTO_BATCH_MAX + 1];
    size_t frame_size = s_channel_frame (frame, PROTO_BATCH, 0, "", body, size);
    proto_frame_t whole = { frame, frame_size };
    proto_msg_t msg;
    assert_int_equal (proto_decode (&whole, 1, PROTO_ON_CHANNEL, SIZE_MAX, &msg), PROKIT_OK);
    assert_int_equal (msg.command, PROTO_BATCH);
    assert_int_equal (msg.body_size, size);
    assert_int_equal (proto_decode (&whole, 1, PROTO_TO_CLIENT, SIZE_MAX, &msg), PROKIT_EPROTO);
    //  A client's BATCH to the router: the same layout.
    assert_int_equal (proto_decode (&whole, 1, PROTO_TO_ROUTER, SIZE_MAX, &msg), PROKIT_OK);
    assert_int_equal (msg.command, PROTO_BATCH);
    assert_true (proto_batch_allows (PROTO_SEND) && proto_batch_allows (PROTO_REQUEST) &&
                 proto_batch_allows (PROTO_REPLY) && proto_batch_allows (PROTO_ERROR) &&
                 proto_batch_allows (PROTO_PROGRESS) && proto_batch_allows (PROTO_CANCEL));
    assert_false (proto_batch_allows (PROTO_HELLO) || proto_batch_allows (PROTO_BYE) ||
                  proto_batch_allows (PROTO_CREDIT) || proto_batch_allows (PROTO_BATCH) ||
                  proto_batch_allows (PROTO_PING) || proto_batch_allows (PROTO_QUERY));
    //  Its body in a frame of its own, or beyond PROTO_BATCH_MAX: refused.
    size_t prefix = proto_prefix_encode (frame, PROTO_BATCH, 0, "");
    proto_frame_t split[2] = { { frame, prefix }, { body, size } };
    assert_int_equal (proto_decode (split, 2, PROTO_ON_CHANNEL, SIZE_MAX, &msg), PROKIT_EPROTO);
    uint8_t *big = (uint8_t *) calloc (1, PROTO_PREFIX_MAX + PROTO_BATCH_MAX + 1);
    assert_non_null (big);
    prefix = proto_prefix_encode (big, PROTO_BATCH, 0, "");
    proto_frame_t too_big = { big, prefix + PROTO_BATCH_MAX + 1 };
    assert_int_equal (proto_decode (&too_big, 1, PROTO_ON_CHANNEL, SIZE_MAX, &msg), PROKIT_EPROTO);
    free (big);

    //  Malformed runs: a length past the end, a head cut short, an empty
    //  entry, a BATCH inside a BATCH. Each is refused where it starts,
    //  after the good entries before it.
    uint8_t bad[64];
    size_t good = proto_batch_entry_encode (bad, PROTO_SEND, 0, "", value, 1);
    const uint8_t tails[][3] = { { 0x00, 0x09, 0x00 }, { 0x00, 0x00, 0x00 } };
    for (size_t t = 0; t < COUNT_OF (tails); t++) {
        memcpy (bad + good, tails[t], 3);
        offset = 0;
        assert_int_equal (proto_batch_next (bad, good + 3, &offset, &entry), 1);
        assert_int_equal (proto_batch_next (bad, good + 3, &offset, &entry), PROKIT_EPROTO);
        assert_int_equal (offset, good);
    }
    offset = 0;
    assert_int_equal (proto_batch_next (bad, good + 1, &offset, &entry), 1);
    assert_int_equal (proto_batch_next (bad, good + 1, &offset, &entry), PROKIT_EPROTO);
    size_t nested = proto_batch_entry_encode (bad, PROTO_BATCH, 0, "", NULL, 0);
    offset = 0;
    assert_int_equal (proto_batch_next (bad, nested, &offset, &entry), PROKIT_EPROTO);
    //  An entry that is no channel message is refused by the decoder: a
    //  SEND naming a sender, a HELLO.
    size_t named = proto_batch_entry_encode (bad, PROTO_SEND, 0, "work", value, 1);
    offset = 0;
    assert_int_equal (proto_batch_next (bad, named, &offset, &entry), 1);
    assert_int_equal (proto_decode (&entry, 1, PROTO_ON_CHANNEL, SIZE_MAX, &msg), PROKIT_EPROTO);
    size_t hello = proto_batch_entry_encode (bad, PROTO_HELLO, 0, "", "\x80", 1);
    offset = 0;
    assert_int_equal (proto_batch_next (bad, hello, &offset, &entry), 1);
    assert_int_equal (proto_decode (&entry, 1, PROTO_ON_CHANNEL, SIZE_MAX, &msg), PROKIT_EPROTO);
    assert_string_equal (proto_command_name (PROTO_BATCH), "BATCH");
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_header_is_signature_version_command_and_big_endian_id),
        cmocka_unit_test (test_header_round_trips_ids_0_1_2pow63_and_uint64_max),
        cmocka_unit_test (test_every_known_command_decodes),
        cmocka_unit_test (test_header_shorter_than_12_bytes_is_eproto),
        cmocka_unit_test (test_header_longer_than_12_bytes_is_eproto),
        cmocka_unit_test (test_null_header_is_eproto),
        cmocka_unit_test (test_header_with_a_wrong_signature_is_eproto),
        cmocka_unit_test (test_header_with_other_version_is_eversion),
        cmocka_unit_test (test_short_or_long_header_with_other_version_is_eversion),
        cmocka_unit_test (test_two_byte_header_is_eproto_even_with_a_signature),
        cmocka_unit_test (test_command_0_is_eproto),
        cmocka_unit_test (test_commands_past_the_last_are_eproto),
        cmocka_unit_test (test_every_command_has_its_name),
        cmocka_unit_test (test_unknown_command_name_is_a_question_mark),
        cmocka_unit_test (test_one_two_or_four_frames_are_eproto),
        cmocka_unit_test (test_zero_frames_are_eproto),
        cmocka_unit_test (test_bad_header_leaves_command_and_id_zero),
        cmocka_unit_test (test_decode_reports_eversion_from_the_header),
        cmocka_unit_test (test_decoded_message_is_filled_completely),
        cmocka_unit_test (test_decoded_empty_peer_is_an_empty_string),
        cmocka_unit_test (test_table_covers_every_command),
        cmocka_unit_test (test_peer_frame_follows_each_commands_rule_in_each_direction),
        cmocka_unit_test (test_body_follows_each_commands_rule),
        cmocka_unit_test (test_send_to_the_router_needs_a_window_name),
        cmocka_unit_test (test_send_to_the_router_may_not_target_main),
        cmocka_unit_test (test_request_and_reply_may_target_main),
        cmocka_unit_test (test_broadcast_to_the_router_has_an_empty_peer),
        cmocka_unit_test (test_ping_and_pong_must_have_an_empty_peer_and_body),
        cmocka_unit_test (test_joined_and_left_never_go_to_the_router),
        cmocka_unit_test (test_welcome_never_goes_to_the_router_and_hello_never_to_a_client),
        cmocka_unit_test (test_error_to_a_client_may_have_an_empty_peer),
        cmocka_unit_test (test_window_name_of_64_chars_is_valid_and_65_is_too_long),
        cmocka_unit_test (test_empty_or_null_name_is_invalid),
        cmocka_unit_test (test_window_name_may_not_start_with_dot_dash_or_underscore),
        cmocka_unit_test (test_window_name_chars_are_letters_digits_dot_dash_underscore),
        cmocka_unit_test (test_name_with_an_embedded_nul_is_invalid),
        cmocka_unit_test (test_main_is_a_peer_name_but_not_a_window_name),
        cmocka_unit_test (test_peer_frame_of_65_bytes_is_eproto_and_64_is_copied_whole),
        cmocka_unit_test (test_peer_frame_with_an_embedded_nul_is_eproto),
        cmocka_unit_test (test_peer_frame_with_a_bad_name_is_eproto),
        cmocka_unit_test (test_payload_commands_refuse_an_empty_body),
        cmocka_unit_test (test_payload_body_of_invalid_msgpack_is_eproto),
        cmocka_unit_test (test_payload_body_over_max_payload_is_etoobig),
        cmocka_unit_test (test_payload_size_is_checked_before_its_content),
        cmocka_unit_test (test_max_payload_does_not_bound_map_or_error_bodies),
        cmocka_unit_test (test_map_bodies_may_be_empty_or_any_map_encoding),
        cmocka_unit_test (test_map_body_that_is_not_a_map_is_eproto),
        cmocka_unit_test (test_map_body_of_invalid_msgpack_is_eproto),
        cmocka_unit_test (test_map_body_of_4096_bytes_is_accepted_and_4097_is_eproto),
        cmocka_unit_test (test_empty_body_commands_refuse_any_body),
        cmocka_unit_test (test_error_message_needs_a_valid_error_body),
        cmocka_unit_test (test_every_single_byte_is_a_complete_value_or_refused),
        cmocka_unit_test (test_every_msgpack_form_is_accepted),
        cmocka_unit_test (test_nested_arrays_and_maps_are_accepted),
        cmocka_unit_test (test_64_levels_of_arrays_are_accepted_and_65_refused),
        cmocka_unit_test (test_64_levels_of_maps_are_accepted_and_65_refused),
        cmocka_unit_test (test_empty_container_may_sit_inside_64_levels),
        cmocka_unit_test (test_depth_is_counted_again_after_a_deep_sibling),
        cmocka_unit_test (test_lying_container_counts_are_refused),
        cmocka_unit_test (test_lying_byte_lengths_are_refused),
        cmocka_unit_test (test_trailing_bytes_are_refused),
        cmocka_unit_test (test_reserved_byte_c1_is_refused_anywhere),
        cmocka_unit_test (test_truncated_numbers_are_refused),
        cmocka_unit_test (test_every_proper_prefix_of_a_value_is_refused),
        cmocka_unit_test (test_empty_or_null_input_is_refused),
        cmocka_unit_test (test_error_body_is_a_three_element_array),
        cmocka_unit_test (test_error_body_round_trips_codes_and_app_codes),
        cmocka_unit_test (test_error_with_null_text_has_an_empty_text),
        cmocka_unit_test (test_long_error_text_is_cut_at_1024_when_encoding),
        cmocka_unit_test (test_long_error_text_on_the_wire_is_cut_at_1024_when_decoding),
        cmocka_unit_test (test_error_text_stops_at_an_embedded_nul),
        cmocka_unit_test (test_error_code_zero_or_positive_is_refused),
        cmocka_unit_test (test_error_codes_outside_int32_are_refused),
        cmocka_unit_test (test_error_body_of_wrong_arity_is_refused),
        cmocka_unit_test (test_error_code_that_is_not_an_integer_is_refused),
        cmocka_unit_test (test_error_text_that_is_not_a_str_is_refused),
        cmocka_unit_test (test_error_body_that_is_not_one_array_is_refused),
        cmocka_unit_test (test_error_body_in_other_encodings_is_accepted),
        cmocka_unit_test (test_welcome_body_writes_both_keys_in_order),
        cmocka_unit_test (test_welcome_body_round_trips),
        cmocka_unit_test (test_welcome_values_above_int64_max_round_trip),
        cmocka_unit_test (test_welcome_skips_unknown_keys),
        cmocka_unit_test (test_welcome_skips_a_non_string_key_with_its_value),
        cmocka_unit_test (test_welcome_missing_keys_keep_their_values),
        cmocka_unit_test (test_welcome_accepts_any_integer_encoding),
        cmocka_unit_test (test_welcome_that_is_not_a_map_is_refused),
        cmocka_unit_test (test_welcome_with_a_negative_value_is_refused),
        cmocka_unit_test (test_welcome_value_that_is_not_an_integer_is_refused),
        cmocka_unit_test (test_welcome_of_invalid_msgpack_is_refused),
        cmocka_unit_test (test_hello_body_round_trips_and_leaves_out_defaults),
        cmocka_unit_test (test_account_round_trips_and_is_checked),
        cmocka_unit_test (test_hello_flag_that_is_not_a_bool_is_refused),
        cmocka_unit_test (test_channel_credit_and_their_welcome_round_trip),
        cmocka_unit_test (test_named_channels_travel_in_the_peer_field),
        cmocka_unit_test (test_presence_body_round_trips_and_cuts_long_strings),
        cmocka_unit_test (test_prefix_is_version_2_header_peer_length_and_peer),
        cmocka_unit_test (test_version_2_id_is_a_head_and_its_significant_bytes),
        cmocka_unit_test (test_version_2_bad_id_heads_are_eproto),
        cmocka_unit_test (test_version_2_decodes_what_the_prefix_encodes),
        cmocka_unit_test (test_version_2_frame_without_its_peer_length_is_eproto),
        cmocka_unit_test (test_version_2_peer_length_past_the_frame_is_eproto),
        cmocka_unit_test (test_version_2_body_is_inline_or_alone_never_both),
        cmocka_unit_test (test_hello_and_welcome_say_the_version_and_default_to_1),
        cmocka_unit_test (test_hello_and_welcome_say_a_default_deadline_or_nothing),
        cmocka_unit_test (test_random_frames_are_decoded_or_refused_never_misread),
        cmocka_unit_test (test_common_version_is_the_newer_both_read),
        cmocka_unit_test (test_batch_holds_channel_messages_in_order),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
