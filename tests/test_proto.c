/*  test_proto.c: the wire codec refuses every class of malformed input and
    round-trips what it encodes. Each malformed class has its own test so a
    failure says which rule broke. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <string.h>

#include "prokit/error.h"
#include "proto.h"

//  --- helpers -----------------------------------------------------------------

static void
s_header (uint8_t out[PROTO_HEADER_SIZE], int command, uint64_t id)
{
    proto_header_encode (out, (proto_command_t) command, id);
}

//  Decode HEADER + PEER + BODY travelling in DIRECTION.
static int
s_decode3 (int command, const char *peer, const void *body, size_t body_size,
           proto_direction_t direction, proto_msg_t *msg)
{
    uint8_t header[PROTO_HEADER_SIZE];
    s_header (header, command, 77);
    proto_frame_t frames[3] = { { header, sizeof (header) },
                                { peer, strlen (peer) },
                                { body, body_size } };
    return proto_decode (frames, 3, direction, 1024, msg);
}

static const uint8_t s_nil[] = { 0xc0 };
static const uint8_t s_map[] = { 0x80 };

//  --- headers -----------------------------------------------------------------

static void
test_header_round_trips_every_id (void **state)
{
    (void) state;
    uint64_t ids[] = { 0, 1, (uint64_t) 1 << 63, UINT64_MAX };
    for (size_t i = 0; i < 4; i++) {
        uint8_t header[PROTO_HEADER_SIZE];
        proto_header_encode (header, PROTO_REQUEST, ids[i]);
        assert_int_equal (header[0], 'P');
        assert_int_equal (header[1], 'K');
        assert_int_equal (header[2], PROTO_VERSION);
        assert_int_equal (header[3], PROTO_REQUEST);
        uint8_t command;
        uint64_t id;
        assert_int_equal (proto_header_decode (header, sizeof (header), &command, &id), PROKIT_OK);
        assert_int_equal (command, PROTO_REQUEST);
        assert_true (id == ids[i]);
    }
    //  Big-endian on the wire.
    uint8_t header[PROTO_HEADER_SIZE];
    proto_header_encode (header, PROTO_SEND, 0x0102030405060708ull);
    const uint8_t expected[] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    assert_memory_equal (header + 4, expected, 8);
}

static void
test_header_of_wrong_size_is_eproto (void **state)
{
    (void) state;
    uint8_t header[PROTO_HEADER_SIZE + 1];
    proto_header_encode (header, PROTO_PING, 1);
    header[PROTO_HEADER_SIZE] = 0;
    uint8_t command;
    uint64_t id;
    assert_int_equal (proto_header_decode (header, 11, &command, &id), PROKIT_EPROTO);
    assert_int_equal (proto_header_decode (header, 13, &command, &id), PROKIT_EPROTO);
    assert_int_equal (proto_header_decode (header, 0, &command, &id), PROKIT_EPROTO);
    assert_int_equal (proto_header_decode (NULL, 12, &command, &id), PROKIT_EPROTO);
}

static void
test_header_with_wrong_signature_is_eproto (void **state)
{
    (void) state;
    uint8_t header[PROTO_HEADER_SIZE];
    proto_header_encode (header, PROTO_PING, 1);
    header[1] = 'X';
    uint8_t command;
    uint64_t id;
    assert_int_equal (proto_header_decode (header, sizeof (header), &command, &id), PROKIT_EPROTO);
    assert_int_equal (command, 0);
}

static void
test_header_with_other_version_is_eversion (void **state)
{
    (void) state;
    uint8_t header[PROTO_HEADER_SIZE];
    proto_header_encode (header, PROTO_HELLO, 1);
    header[2] = PROTO_VERSION + 1;
    uint8_t command;
    uint64_t id;
    assert_int_equal (proto_header_decode (header, sizeof (header), &command, &id),
                      PROKIT_EVERSION);
    //  Even when a future version's header is shorter or longer.
    assert_int_equal (proto_header_decode (header, 3, &command, &id), PROKIT_EVERSION);
    assert_int_equal (proto_header_decode (header, 2, &command, &id), PROKIT_EPROTO);
}

static void
test_unknown_commands_are_eproto (void **state)
{
    (void) state;
    int bad[] = { 0, PROTO_COMMAND_LAST + 1, 255 };
    for (size_t i = 0; i < 3; i++) {
        uint8_t header[PROTO_HEADER_SIZE];
        s_header (header, bad[i], 5);
        uint8_t command;
        uint64_t id;
        assert_int_equal (proto_header_decode (header, sizeof (header), &command, &id),
                          PROKIT_EPROTO);
        assert_int_equal (command, 0);
    }
    assert_string_equal (proto_command_name (PROTO_HELLO), "HELLO");
    assert_string_equal (proto_command_name (PROTO_LEFT), "LEFT");
    assert_string_equal (proto_command_name (0), "?");
    assert_string_equal (proto_command_name (PROTO_COMMAND_LAST + 1), "?");
}

//  --- frames --------------------------------------------------------------------

static void
test_wrong_frame_count_is_eproto (void **state)
{
    (void) state;
    uint8_t header[PROTO_HEADER_SIZE];
    s_header (header, PROTO_SEND, 9);
    proto_frame_t frames[4] = {
        { header, sizeof (header) }, { "work", 4 }, { s_nil, 1 }, { s_nil, 1 }
    };
    proto_msg_t msg;
    assert_int_equal (proto_decode (frames, 3, PROTO_TO_ROUTER, 1024, &msg), PROKIT_OK);
    assert_int_equal (proto_decode (frames, 4, PROTO_TO_ROUTER, 1024, &msg), PROKIT_EPROTO);
    assert_int_equal (proto_decode (frames, 2, PROTO_TO_ROUTER, 1024, &msg), PROKIT_EPROTO);
    assert_int_equal (proto_decode (frames, 1, PROTO_TO_ROUTER, 1024, &msg), PROKIT_EPROTO);
    assert_int_equal (proto_decode (frames, 0, PROTO_TO_ROUTER, 1024, &msg), PROKIT_EPROTO);
    //  The id is still reported for a well-formed header, to answer with.
    assert_int_equal (msg.id, 0);
    proto_decode (frames, 2, PROTO_TO_ROUTER, 1024, &msg);
    assert_int_equal (msg.id, 9);
}

static void
test_decoded_message_is_filled_completely (void **state)
{
    (void) state;
    proto_msg_t msg;
    const uint8_t body[] = { 0xa2, 'h', 'i' };
    assert_int_equal (s_decode3 (PROTO_REQUEST, "@main", body, 3, PROTO_TO_ROUTER, &msg),
                      PROKIT_OK);
    assert_int_equal (msg.command, PROTO_REQUEST);
    assert_int_equal (msg.id, 77);
    assert_string_equal (msg.peer, "@main");
    assert_int_equal (msg.body_size, 3);
    assert_memory_equal (msg.body, body, 3);
}

static void
test_peer_frame_follows_each_commands_rule (void **state)
{
    (void) state;
    proto_msg_t msg;
    //  SEND names a window; main is reached by request only.
    assert_int_equal (s_decode3 (PROTO_SEND, "work", s_nil, 1, PROTO_TO_ROUTER, &msg), PROKIT_OK);
    assert_int_equal (s_decode3 (PROTO_SEND, "@main", s_nil, 1, PROTO_TO_ROUTER, &msg),
                      PROKIT_EPROTO);
    assert_int_equal (s_decode3 (PROTO_SEND, "", s_nil, 1, PROTO_TO_ROUTER, &msg), PROKIT_EPROTO);
    //  From the router, a SEND names its source, which may be main.
    assert_int_equal (s_decode3 (PROTO_SEND, "@main", s_nil, 1, PROTO_TO_CLIENT, &msg), PROKIT_OK);
    assert_int_equal (s_decode3 (PROTO_REQUEST, "@main", s_nil, 1, PROTO_TO_ROUTER, &msg),
                      PROKIT_OK);
    assert_int_equal (s_decode3 (PROTO_BROADCAST, "", s_nil, 1, PROTO_TO_ROUTER, &msg), PROKIT_OK);
    assert_int_equal (s_decode3 (PROTO_BROADCAST, "work", s_nil, 1, PROTO_TO_ROUTER, &msg),
                      PROKIT_EPROTO);
    assert_int_equal (s_decode3 (PROTO_PING, "x", "", 0, PROTO_TO_ROUTER, &msg), PROKIT_EPROTO);
    assert_int_equal (s_decode3 (PROTO_HELLO, "@other", s_map, 1, PROTO_TO_ROUTER, &msg),
                      PROKIT_EPROTO);
    assert_int_equal (s_decode3 (PROTO_HELLO, "@main", s_map, 1, PROTO_TO_ROUTER, &msg), PROKIT_OK);
}

static void
test_router_only_commands_are_refused_from_clients (void **state)
{
    (void) state;
    proto_msg_t msg;
    assert_int_equal (s_decode3 (PROTO_WELCOME, "", s_map, 1, PROTO_TO_ROUTER, &msg),
                      PROKIT_EPROTO);
    assert_int_equal (s_decode3 (PROTO_JOINED, "", "", 0, PROTO_TO_ROUTER, &msg), PROKIT_EPROTO);
    assert_int_equal (s_decode3 (PROTO_LEFT, "", "", 0, PROTO_TO_ROUTER, &msg), PROKIT_EPROTO);
    assert_int_equal (s_decode3 (PROTO_HELLO, "work", s_map, 1, PROTO_TO_CLIENT, &msg),
                      PROKIT_EPROTO);
    assert_int_equal (s_decode3 (PROTO_JOINED, "work", "", 0, PROTO_TO_CLIENT, &msg), PROKIT_OK);
}

static void
test_error_to_a_client_may_have_an_empty_peer (void **state)
{
    (void) state;
    uint8_t body[PROTO_ERROR_BODY_MAX];
    size_t size = proto_error_encode (body, PROKIT_EEXIST, "taken", 0);
    proto_msg_t msg;
    assert_int_equal (s_decode3 (PROTO_ERROR, "", body, size, PROTO_TO_CLIENT, &msg), PROKIT_OK);
    assert_int_equal (s_decode3 (PROTO_ERROR, "", body, size, PROTO_TO_ROUTER, &msg),
                      PROKIT_EPROTO);
}

//  --- names ---------------------------------------------------------------------

static void
test_window_names_follow_the_rules (void **state)
{
    (void) state;
    const char *good[] = { "main", "work", "a", "A-1.b_c", "9lives" };
    for (size_t i = 0; i < 5; i++)
        assert_true (proto_window_name_valid (good[i], strlen (good[i])));
    const char *bad[] = { "", ".hidden", "-x", "_x", "has space", "tab\t", "slash/", "@main", "ü" };
    for (size_t i = 0; i < 9; i++)
        assert_false (proto_window_name_valid (bad[i], strlen (bad[i])));
    char name[PROTO_NAME_MAX + 1];
    memset (name, 'n', sizeof (name));
    assert_true (proto_window_name_valid (name, PROTO_NAME_MAX));
    assert_false (proto_window_name_valid (name, PROTO_NAME_MAX + 1));
    assert_false (proto_window_name_valid ("a\0b", 3)); //  embedded NUL
    assert_false (proto_window_name_valid (NULL, 0));
    assert_true (proto_peer_name_valid ("@main", 5));
    assert_false (proto_peer_name_valid ("@mainx", 6));
    assert_false (proto_peer_name_valid ("@other", 6));
    assert_true (proto_peer_name_valid ("main", 4));
}

static void
test_peer_frame_longer_than_the_limit_is_eproto (void **state)
{
    (void) state;
    char name[PROTO_NAME_MAX + 2];
    memset (name, 'n', PROTO_NAME_MAX + 1);
    name[PROTO_NAME_MAX + 1] = 0;
    proto_msg_t msg;
    assert_int_equal (s_decode3 (PROTO_SEND, name, s_nil, 1, PROTO_TO_ROUTER, &msg), PROKIT_EPROTO);
    name[PROTO_NAME_MAX] = 0;
    assert_int_equal (s_decode3 (PROTO_SEND, name, s_nil, 1, PROTO_TO_ROUTER, &msg), PROKIT_OK);
    assert_int_equal (strlen (msg.peer), PROTO_NAME_MAX);
}

//  --- bodies --------------------------------------------------------------------

static void
test_payload_bodies_must_be_one_valid_value (void **state)
{
    (void) state;
    proto_msg_t msg;
    assert_int_equal (s_decode3 (PROTO_SEND, "w", "", 0, PROTO_TO_ROUTER, &msg), PROKIT_EPROTO);
    const uint8_t bad[] = { 0xa5, 'x' };
    assert_int_equal (s_decode3 (PROTO_SEND, "w", bad, 2, PROTO_TO_ROUTER, &msg), PROKIT_EPROTO);
    const uint8_t two[] = { 0xc0, 0xc0 };
    assert_int_equal (s_decode3 (PROTO_REPLY, "w", two, 2, PROTO_TO_ROUTER, &msg), PROKIT_EPROTO);
}

static void
test_payload_over_the_limit_is_etoobig (void **state)
{
    (void) state;
    uint8_t body[1030];
    body[0] = 0xc5; //  bin16 of 1027 bytes: 1030 in all, over the 1024 used here
    body[1] = 0x04;
    body[2] = 0x03;
    memset (body + 3, 0, 1027);
    proto_msg_t msg;
    assert_int_equal (s_decode3 (PROTO_REQUEST, "w", body, sizeof (body), PROTO_TO_ROUTER, &msg),
                      PROKIT_ETOOBIG);
    //  Size is checked before content: a too-big garbage body is ETOOBIG too.
    memset (body, 0xc1, sizeof (body));
    assert_int_equal (s_decode3 (PROTO_REQUEST, "w", body, sizeof (body), PROTO_TO_ROUTER, &msg),
                      PROKIT_ETOOBIG);
}

static void
test_control_bodies_are_small_maps_or_empty (void **state)
{
    (void) state;
    proto_msg_t msg;
    assert_int_equal (s_decode3 (PROTO_HELLO, "w", "", 0, PROTO_TO_ROUTER, &msg), PROKIT_OK);
    assert_int_equal (s_decode3 (PROTO_HELLO, "w", s_map, 1, PROTO_TO_ROUTER, &msg), PROKIT_OK);
    const uint8_t array[] = { 0x90 };
    assert_int_equal (s_decode3 (PROTO_HELLO, "w", array, 1, PROTO_TO_ROUTER, &msg), PROKIT_EPROTO);
    uint8_t big[5000];
    big[0] = 0x81;
    big[1] = 0xa1;
    big[2] = 'k';
    big[3] = 0xda; //  str16 filling the rest
    big[4] = (uint8_t) ((sizeof (big) - 7) >> 8);
    big[5] = (uint8_t) (sizeof (big) - 7);
    memset (big + 6, 'v', sizeof (big) - 6);
    assert_int_equal (proto_msgpack_check (big, sizeof (big) - 1), PROKIT_OK);
    assert_int_equal (s_decode3 (PROTO_HELLO, "w", big, sizeof (big) - 1, PROTO_TO_ROUTER, &msg),
                      PROKIT_EPROTO);
    assert_int_equal (s_decode3 (PROTO_PING, "", s_nil, 1, PROTO_TO_ROUTER, &msg), PROKIT_EPROTO);
}

//  --- msgpack validation ---------------------------------------------------------

static void
test_every_msgpack_type_is_accepted (void **state)
{
    (void) state;
    const uint8_t values[][12] = {
        { 0x00 },
        { 0x7f },
        { 0xe0 },
        { 0xc0 },
        { 0xc2 },
        { 0xc3 },
        { 0xcc, 1 },
        { 0xcd, 1, 2 },
        { 0xce, 1, 2, 3, 4 },
        { 0xd0, 0xff },
        { 0xd1, 1, 2 },
        { 0xd2, 1, 2, 3, 4 },
        { 0xca, 0, 0, 0, 0 },
        { 0xa1, 'x' },
        { 0xd9, 1, 'x' },
        { 0xda, 0, 1, 'x' },
        { 0xc4, 1, 0 },
        { 0xc5, 0, 1, 0 },
        { 0xd4, 1, 0 },
        { 0xd5, 1, 0, 0 },
        { 0xc7, 1, 5, 0 },
        { 0x91, 0xc0 },
        { 0x81, 0xa1, 'k', 0xc0 },
        { 0xdc, 0, 1, 0xc0 },
        { 0xde, 0, 1, 0xc0, 0xc0 },
    };
    const size_t sizes[] = { 1, 1, 1, 1, 1, 1, 2, 3, 5, 2, 3, 5, 5,
                             2, 3, 4, 3, 4, 3, 4, 4, 2, 4, 4, 5 };
    for (size_t i = 0; i < sizeof (sizes) / sizeof (sizes[0]); i++)
        assert_int_equal (proto_msgpack_check (values[i], sizes[i]), PROKIT_OK);
    const uint8_t wide[] = { 0xcf, 1, 2, 3, 4, 5, 6, 7, 8 };
    assert_int_equal (proto_msgpack_check (wide, sizeof (wide)), PROKIT_OK);
    const uint8_t fixext16[18] = { 0xd8, 1 };
    assert_int_equal (proto_msgpack_check (fixext16, sizeof (fixext16)), PROKIT_OK);
}

static void
test_truncated_and_lying_msgpack_is_refused (void **state)
{
    (void) state;
    const uint8_t short_uint[] = { 0xce, 1, 2 };
    const uint8_t short_str[] = { 0xd9, 5, 'a' };
    const uint8_t lying_array[] = { 0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0 };
    const uint8_t lying_str32[] = { 0xdb, 0x7f, 0xff, 0xff, 0xff, 'a' };
    const uint8_t lying_map[] = { 0x82, 0xc0, 0xc0, 0xc0 };
    const uint8_t short_ext[] = { 0xc7, 3, 1, 0 };
    const uint8_t reserved[] = { 0x91, 0xc1 };
    const uint8_t trailing[] = { 0x91, 0xc0, 0xc0 };
    assert_int_equal (proto_msgpack_check (short_uint, 3), PROKIT_EPROTO);
    assert_int_equal (proto_msgpack_check (short_str, 3), PROKIT_EPROTO);
    assert_int_equal (proto_msgpack_check (lying_array, 6), PROKIT_EPROTO);
    assert_int_equal (proto_msgpack_check (lying_str32, 6), PROKIT_EPROTO);
    assert_int_equal (proto_msgpack_check (lying_map, 4), PROKIT_EPROTO);
    assert_int_equal (proto_msgpack_check (short_ext, 4), PROKIT_EPROTO);
    assert_int_equal (proto_msgpack_check (reserved, 2), PROKIT_EPROTO);
    assert_int_equal (proto_msgpack_check (trailing, 3), PROKIT_EPROTO);
    assert_int_equal (proto_msgpack_check (NULL, 0), PROKIT_EPROTO);
    assert_int_equal (proto_msgpack_check (trailing, 0), PROKIT_EPROTO);
}

static void
test_nesting_deeper_than_the_limit_is_refused (void **state)
{
    (void) state;
    uint8_t deep[PROTO_MSGPACK_DEPTH_MAX + 2];
    memset (deep, 0x91, sizeof (deep)); //  one-element arrays
    deep[PROTO_MSGPACK_DEPTH_MAX] = 0x01;
    assert_int_equal (proto_msgpack_check (deep, PROTO_MSGPACK_DEPTH_MAX + 1), PROKIT_OK);
    deep[PROTO_MSGPACK_DEPTH_MAX] = 0x91;
    deep[PROTO_MSGPACK_DEPTH_MAX + 1] = 0x01;
    assert_int_equal (proto_msgpack_check (deep, PROTO_MSGPACK_DEPTH_MAX + 2), PROKIT_EPROTO);
}

//  --- ERROR and WELCOME bodies ------------------------------------------------------

static void
test_error_body_round_trips (void **state)
{
    (void) state;
    uint8_t body[PROTO_ERROR_BODY_MAX];
    int app_codes[] = { 0, 42, -42, 2147483647, -2147483647 - 1 };
    for (size_t i = 0; i < 5; i++) {
        size_t size = proto_error_encode (body, PROKIT_EHANDLER, "disk full", app_codes[i]);
        proto_error_t error;
        assert_int_equal (proto_error_decode (body, size, &error), PROKIT_OK);
        assert_int_equal (error.code, PROKIT_EHANDLER);
        assert_int_equal (error.app_code, app_codes[i]);
        assert_string_equal (error.text, "disk full");
    }
    size_t size = proto_error_encode (body, PROKIT_ENOTFOUND, NULL, 0);
    proto_error_t error;
    assert_int_equal (proto_error_decode (body, size, &error), PROKIT_OK);
    assert_string_equal (error.text, "");
}

static void
test_long_error_text_is_cut_to_the_limit (void **state)
{
    (void) state;
    char text[PROTO_ERROR_TEXT_MAX + 100];
    memset (text, 'e', sizeof (text) - 1);
    text[sizeof (text) - 1] = 0;
    uint8_t body[PROTO_ERROR_BODY_MAX];
    size_t size = proto_error_encode (body, PROKIT_EPROTO, text, 0);
    assert_true (size <= PROTO_ERROR_BODY_MAX);
    proto_error_t error;
    assert_int_equal (proto_error_decode (body, size, &error), PROKIT_OK);
    assert_int_equal (strlen (error.text), PROTO_ERROR_TEXT_MAX);
}

static void
test_malformed_error_bodies_are_refused (void **state)
{
    (void) state;
    proto_error_t error;
    const uint8_t positive_code[] = { 0x93, 0x05, 0xa0, 0x00 };
    const uint8_t two_items[] = { 0x92, 0xfd, 0xa0 };
    const uint8_t string_code[] = { 0x93, 0xa1, 'x', 0xa0, 0x00 };
    const uint8_t bin_text[] = { 0x93, 0xfd, 0xc4, 0x00, 0x00 };
    const uint8_t huge_app[] = { 0x93, 0xfd, 0xa0, 0xcf, 0, 0, 0, 1, 0, 0, 0, 0 };
    const uint8_t map[] = { 0x80 };
    assert_int_equal (proto_error_decode (positive_code, 4, &error), PROKIT_EPROTO);
    assert_int_equal (proto_error_decode (two_items, 3, &error), PROKIT_EPROTO);
    assert_int_equal (proto_error_decode (string_code, 5, &error), PROKIT_EPROTO);
    assert_int_equal (proto_error_decode (bin_text, 5, &error), PROKIT_EPROTO);
    assert_int_equal (proto_error_decode (huge_app, sizeof (huge_app), &error), PROKIT_EPROTO);
    assert_int_equal (proto_error_decode (map, 1, &error), PROKIT_EPROTO);
    const uint8_t with_nul[] = { 0x93, 0xfd, 0xa3, 'a', 0, 'b', 0x00 };
    assert_int_equal (proto_error_decode (with_nul, sizeof (with_nul), &error), PROKIT_OK);
    assert_string_equal (error.text, "a");
}

static void
test_welcome_body_round_trips_and_skips_unknown_keys (void **state)
{
    (void) state;
    uint8_t body[PROTO_WELCOME_BODY_MAX];
    proto_welcome_t out = { 123456789, 1000 };
    size_t size = proto_welcome_encode (body, &out);
    proto_welcome_t in = { 0, 0 };
    assert_int_equal (proto_welcome_decode (body, size, &in), PROKIT_OK);
    assert_true (in.max_payload == 123456789 && in.heartbeat_ms == 1000);
    //  {1: 2, "other": [nil], "max_payload": 16}
    const uint8_t extra[] = { 0x83, 0x01, 0x02, 0xa5, 'o', 't', 'h', 'e', 'r', 0x91, 0xc0, 0xab,
                              'm',  'a',  'x',  '_',  'p', 'a', 'y', 'l', 'o', 'a',  'd',  0x10 };
    proto_welcome_t kept = { 1, 2 };
    assert_int_equal (proto_welcome_decode (extra, sizeof (extra), &kept), PROKIT_OK);
    assert_int_equal (kept.max_payload, 16);
    assert_int_equal (kept.heartbeat_ms, 2); //  missing keys keep their value
    const uint8_t not_map[] = { 0x90 };
    assert_int_equal (proto_welcome_decode (not_map, 1, &kept), PROKIT_EPROTO);
    const uint8_t negative[] = { 0x81, 0xab, 'm', 'a', 'x', '_', 'p',
                                 'a',  'y',  'l', 'o', 'a', 'd', 0xff };
    assert_int_equal (proto_welcome_decode (negative, sizeof (negative), &kept), PROKIT_EPROTO);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_header_round_trips_every_id),
        cmocka_unit_test (test_header_of_wrong_size_is_eproto),
        cmocka_unit_test (test_header_with_wrong_signature_is_eproto),
        cmocka_unit_test (test_header_with_other_version_is_eversion),
        cmocka_unit_test (test_unknown_commands_are_eproto),
        cmocka_unit_test (test_wrong_frame_count_is_eproto),
        cmocka_unit_test (test_decoded_message_is_filled_completely),
        cmocka_unit_test (test_peer_frame_follows_each_commands_rule),
        cmocka_unit_test (test_router_only_commands_are_refused_from_clients),
        cmocka_unit_test (test_error_to_a_client_may_have_an_empty_peer),
        cmocka_unit_test (test_window_names_follow_the_rules),
        cmocka_unit_test (test_peer_frame_longer_than_the_limit_is_eproto),
        cmocka_unit_test (test_payload_bodies_must_be_one_valid_value),
        cmocka_unit_test (test_payload_over_the_limit_is_etoobig),
        cmocka_unit_test (test_control_bodies_are_small_maps_or_empty),
        cmocka_unit_test (test_every_msgpack_type_is_accepted),
        cmocka_unit_test (test_truncated_and_lying_msgpack_is_refused),
        cmocka_unit_test (test_nesting_deeper_than_the_limit_is_refused),
        cmocka_unit_test (test_error_body_round_trips),
        cmocka_unit_test (test_long_error_text_is_cut_to_the_limit),
        cmocka_unit_test (test_malformed_error_bodies_are_refused),
        cmocka_unit_test (test_welcome_body_round_trips_and_skips_unknown_keys),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
