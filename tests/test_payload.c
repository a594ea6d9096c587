/*  test_payload.c: payloads are exactly one msgpack value, built by the
    helpers or by msgpack-c, read back without msgpack code, and never
    malformed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <msgpack.h>
#include <prokit.h>
#include <stdlib.h>
#include <string.h>

static void
s_assert_bytes (const prokit_payload_t *payload, const unsigned char *expected, size_t size)
{
    assert_non_null (payload);
    assert_int_equal (prokit_payload_size (payload), size);
    assert_memory_equal (prokit_payload_data (payload), expected, size);
}

static void
test_string_is_encoded_as_msgpack_str (void **state)
{
    (void) state;
    prokit_payload_t *payload = prokit_payload_new_string ("hi");
    const unsigned char fixstr[] = { 0xa2, 'h', 'i' };
    s_assert_bytes (payload, fixstr, sizeof (fixstr));
    assert_int_equal (prokit_payload_type (payload), PROKIT_PAYLOAD_STR);
    assert_string_equal (prokit_payload_str (payload), "hi");
    prokit_payload_destroy (&payload);
    assert_null (payload);

    char text[301];
    memset (text, 'x', 300);
    text[300] = 0;
    text[40] = 0; //  40 bytes: str8
    payload = prokit_payload_new_string (text);
    assert_int_equal (((const unsigned char *) prokit_payload_data (payload))[0], 0xd9);
    assert_int_equal (((const unsigned char *) prokit_payload_data (payload))[1], 40);
    assert_int_equal (prokit_payload_size (payload), 42);
    prokit_payload_destroy (&payload);
    text[40] = 'x'; //  300 bytes: str16
    payload = prokit_payload_new_string (text);
    const unsigned char str16[] = { 0xda, 0x01, 0x2c };
    assert_memory_equal (prokit_payload_data (payload), str16, 3);
    assert_int_equal (prokit_payload_size (payload), 303);
    assert_string_equal (prokit_payload_str (payload), text);
    prokit_payload_destroy (&payload);
}

static void
test_printf_formats_a_string (void **state)
{
    (void) state;
    prokit_payload_t *payload = prokit_payload_new_printf ("Main has received data: %s %d", "x", 7);
    assert_string_equal (prokit_payload_str (payload), "Main has received data: x 7");
    prokit_payload_destroy (&payload);
    assert_null (prokit_payload_new_printf (NULL));
    assert_null (prokit_payload_new_string (NULL));
}

static void
test_bytes_are_encoded_as_msgpack_bin (void **state)
{
    (void) state;
    const unsigned char raw[] = { 0, 1, 2, 0xff };
    prokit_payload_t *payload = prokit_payload_new_bytes (raw, sizeof (raw));
    const unsigned char bin8[] = { 0xc4, 4, 0, 1, 2, 0xff };
    s_assert_bytes (payload, bin8, sizeof (bin8));
    assert_int_equal (prokit_payload_type (payload), PROKIT_PAYLOAD_BIN);
    assert_null (prokit_payload_str (payload)); //  bytes are not text
    size_t size = 0;
    const void *bytes = prokit_payload_bytes (payload, &size);
    assert_int_equal (size, 4);
    assert_memory_equal (bytes, raw, 4);
    prokit_payload_destroy (&payload);

    payload = prokit_payload_new_bytes (NULL, 0);
    const unsigned char empty[] = { 0xc4, 0 };
    s_assert_bytes (payload, empty, sizeof (empty));
    prokit_payload_destroy (&payload);
    assert_null (prokit_payload_new_bytes (NULL, 1));

    size_t big = 70000;
    unsigned char *blob = (unsigned char *) calloc (1, big);
    payload = prokit_payload_new_bytes (blob, big);
    const unsigned char bin32[] = { 0xc6, 0x00, 0x01, 0x11, 0x70 };
    assert_memory_equal (prokit_payload_data (payload), bin32, 5);
    assert_int_equal (prokit_payload_size (payload), big + 5);
    prokit_payload_destroy (&payload);
    free (blob);
}

static void
test_nil_is_one_byte (void **state)
{
    (void) state;
    prokit_payload_t *payload = prokit_payload_new_nil ();
    const unsigned char nil[] = { 0xc0 };
    s_assert_bytes (payload, nil, 1);
    assert_int_equal (prokit_payload_type (payload), PROKIT_PAYLOAD_NIL);
    assert_null (prokit_payload_bytes (payload, NULL));
    prokit_payload_destroy (&payload);
}

//  Pack a value with msgpack-c, wrap it, and check its type and bytes.
typedef void (pack_fn) (msgpack_packer *packer);

static prokit_payload_t *
s_from_msgpack_c (pack_fn *pack)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer packer;
    msgpack_packer_init (&packer, &buffer, msgpack_sbuffer_write);
    pack (&packer);
    prokit_payload_t *payload = prokit_payload_new_msgpack (buffer.data, buffer.size);
    assert_non_null (payload);
    assert_int_equal (prokit_payload_size (payload), buffer.size);
    assert_memory_equal (prokit_payload_data (payload), buffer.data, buffer.size);
    msgpack_sbuffer_destroy (&buffer);
    return payload;
}

static void
s_pack_true (msgpack_packer *p)
{
    msgpack_pack_true (p);
}
static void
s_pack_int (msgpack_packer *p)
{
    msgpack_pack_int64 (p, -123456789);
}
static void
s_pack_uint (msgpack_packer *p)
{
    msgpack_pack_uint64 (p, UINT64_MAX);
}
static void
s_pack_double (msgpack_packer *p)
{
    msgpack_pack_double (p, 3.25);
}
static void
s_pack_float (msgpack_packer *p)
{
    msgpack_pack_float (p, 1.5f);
}
static void
s_pack_array (msgpack_packer *p)
{
    msgpack_pack_array (p, 3);
    msgpack_pack_int (p, 1);
    msgpack_pack_str_with_body (p, "two", 3);
    msgpack_pack_nil (p);
}
static void
s_pack_map (msgpack_packer *p)
{
    msgpack_pack_map (p, 1);
    msgpack_pack_str_with_body (p, "window", 6);
    msgpack_pack_str_with_body (p, "work", 4);
}
static void
s_pack_ext (msgpack_packer *p)
{
    msgpack_pack_ext_with_body (p, "abcd", 4, 7);
}

static void
test_any_msgpack_value_passes_through_untouched (void **state)
{
    (void) state;
    struct {
        pack_fn *pack;
        prokit_payload_type_t type;
    } cases[] = {
        { s_pack_true, PROKIT_PAYLOAD_BOOL },   { s_pack_int, PROKIT_PAYLOAD_INT },
        { s_pack_uint, PROKIT_PAYLOAD_INT },    { s_pack_double, PROKIT_PAYLOAD_FLOAT },
        { s_pack_float, PROKIT_PAYLOAD_FLOAT }, { s_pack_array, PROKIT_PAYLOAD_ARRAY },
        { s_pack_map, PROKIT_PAYLOAD_MAP },     { s_pack_ext, PROKIT_PAYLOAD_EXT },
    };
    for (size_t i = 0; i < sizeof (cases) / sizeof (cases[0]); i++) {
        prokit_payload_t *payload = s_from_msgpack_c (cases[i].pack);
        assert_int_equal (prokit_payload_type (payload), cases[i].type);
        assert_null (prokit_payload_str (payload));
        //  msgpack-c reads back the same value.
        msgpack_unpacked unpacked;
        msgpack_unpacked_init (&unpacked);
        size_t offset = 0;
        assert_int_equal (msgpack_unpack_next (&unpacked, prokit_payload_data (payload),
                                               prokit_payload_size (payload), &offset),
                          MSGPACK_UNPACK_SUCCESS);
        assert_int_equal (offset, prokit_payload_size (payload));
        msgpack_unpacked_destroy (&unpacked);
        prokit_payload_destroy (&payload);
    }
}

static void
test_malformed_msgpack_is_refused (void **state)
{
    (void) state;
    const unsigned char truncated_str[] = { 0xa5, 'h', 'i' };
    const unsigned char trailing[] = { 0xc0, 0xc0 };
    const unsigned char reserved[] = { 0xc1 };
    const unsigned char short_int[] = { 0xcd, 0x01 };
    const unsigned char lying_array[] = { 0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0 };
    assert_null (prokit_payload_new_msgpack (truncated_str, sizeof (truncated_str)));
    assert_null (prokit_payload_new_msgpack (trailing, sizeof (trailing)));
    assert_null (prokit_payload_new_msgpack (reserved, sizeof (reserved)));
    assert_null (prokit_payload_new_msgpack (short_int, sizeof (short_int)));
    assert_null (prokit_payload_new_msgpack (lying_array, sizeof (lying_array)));
    assert_null (prokit_payload_new_msgpack (reserved, 0));
    assert_null (prokit_payload_new_msgpack (NULL, 1));
}

static void
test_str_stops_at_an_embedded_nul_but_bytes_do_not (void **state)
{
    (void) state;
    const unsigned char value[] = { 0xa3, 'a', 0, 'b' };
    prokit_payload_t *payload = prokit_payload_new_msgpack (value, sizeof (value));
    assert_string_equal (prokit_payload_str (payload), "a");
    size_t size = 0;
    const char *bytes = (const char *) prokit_payload_bytes (payload, &size);
    assert_int_equal (size, 3);
    assert_memory_equal (bytes, "a\0b", 3);
    prokit_payload_destroy (&payload);
}

static void
test_dup_copies_the_value_and_destroy_is_null_safe (void **state)
{
    (void) state;
    prokit_payload_t *original = prokit_payload_new_string ("same");
    prokit_payload_t *copy = prokit_payload_dup (original);
    assert_non_null (copy);
    assert_true (copy != original);
    prokit_payload_destroy (&original);
    assert_string_equal (prokit_payload_str (copy), "same"); //  independent of the original
    prokit_payload_destroy (&copy);
    prokit_payload_destroy (&copy);
    prokit_payload_destroy (NULL);
    assert_null (prokit_payload_dup (NULL));
    assert_int_equal (prokit_payload_size (NULL), 0);
    assert_null (prokit_payload_data (NULL));
}

static void
test_one_mebibyte_round_trips (void **state)
{
    (void) state;
    size_t size = 1024 * 1024;
    unsigned char *blob = (unsigned char *) malloc (size);
    for (size_t i = 0; i < size; i++)
        blob[i] = (unsigned char) (i * 7);
    prokit_payload_t *payload = prokit_payload_new_bytes (blob, size);
    prokit_payload_t *copy = prokit_payload_dup (payload);
    prokit_payload_t *rewrapped =
        prokit_payload_new_msgpack (prokit_payload_data (copy), prokit_payload_size (copy));
    size_t got = 0;
    const void *bytes = prokit_payload_bytes (rewrapped, &got);
    assert_int_equal (got, size);
    assert_memory_equal (bytes, blob, size);
    prokit_payload_destroy (&payload);
    prokit_payload_destroy (&copy);
    prokit_payload_destroy (&rewrapped);
    free (blob);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_string_is_encoded_as_msgpack_str),
        cmocka_unit_test (test_printf_formats_a_string),
        cmocka_unit_test (test_bytes_are_encoded_as_msgpack_bin),
        cmocka_unit_test (test_nil_is_one_byte),
        cmocka_unit_test (test_any_msgpack_value_passes_through_untouched),
        cmocka_unit_test (test_malformed_msgpack_is_refused),
        cmocka_unit_test (test_str_stops_at_an_embedded_nul_but_bytes_do_not),
        cmocka_unit_test (test_dup_copies_the_value_and_destroy_is_null_safe),
        cmocka_unit_test (test_one_mebibyte_round_trips),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
