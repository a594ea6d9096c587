/*  test_payload.c: payloads are exactly one msgpack value, built by the
    helpers (with exact, minimal encodings) or by msgpack-c, read back
    without msgpack code, and never malformed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <msgpack.h>
#include <prokit.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

//  --- helpers -----------------------------------------------------------------

static void
s_assert_bytes (const prokit_payload_t *payload, const void *expected, size_t size)
{
    assert_non_null (payload);
    assert_int_equal (prokit_payload_size (payload), size);
    assert_memory_equal (prokit_payload_data (payload), expected, size);
}

//  Assert that PAYLOAD starts with the SIZE bytes of HEAD and holds TOTAL bytes.
static void
s_assert_head (const prokit_payload_t *payload, const void *head, size_t size, size_t total)
{
    assert_non_null (payload);
    assert_int_equal (prokit_payload_size (payload), total);
    assert_memory_equal (prokit_payload_data (payload), head, size);
}

//  A NUL-terminated string of LEN copies of CH (free it).
static char *
s_text (size_t len, char ch)
{
    char *text = (char *) malloc (len + 1);
    assert_non_null (text);
    memset (text, ch, len);
    text[len] = 0;
    return text;
}

//  --- new_string ----------------------------------------------------------------

static void
test_string_hi_is_fixstr_a2_68_69 (void **state)
{
    (void) state;
    prokit_payload_t *payload = prokit_payload_new_string ("hi");
    const unsigned char expected[] = { 0xa2, 0x68, 0x69 };
    s_assert_bytes (payload, expected, sizeof (expected));
    assert_int_equal (prokit_payload_type (payload), PROKIT_PAYLOAD_STR);
    assert_string_equal (prokit_payload_str (payload), "hi");
    prokit_payload_destroy (&payload);
}

static void
test_empty_string_is_fixstr_a0 (void **state)
{
    (void) state;
    prokit_payload_t *payload = prokit_payload_new_string ("");
    const unsigned char expected[] = { 0xa0 };
    s_assert_bytes (payload, expected, 1);
    assert_int_equal (prokit_payload_type (payload), PROKIT_PAYLOAD_STR);
    assert_string_equal (prokit_payload_str (payload), "");
    size_t size = 99;
    assert_non_null (prokit_payload_bytes (payload, &size));
    assert_int_equal (size, 0);
    prokit_payload_destroy (&payload);
}

static void
test_31_char_string_is_the_longest_fixstr (void **state)
{
    (void) state;
    char *text = s_text (31, 'f');
    prokit_payload_t *payload = prokit_payload_new_string (text);
    const unsigned char head31[] = { 0xbf, 'f' };
    s_assert_head (payload, head31, 2, 32);
    prokit_payload_destroy (&payload);
    free (text);

    text = s_text (32, 'f');
    payload = prokit_payload_new_string (text);
    const unsigned char head32[] = { 0xd9, 0x20, 'f' };
    s_assert_head (payload, head32, 3, 34);
    assert_string_equal (prokit_payload_str (payload), text);
    prokit_payload_destroy (&payload);
    free (text);
}

static void
test_40_char_string_uses_str8_d9_28 (void **state)
{
    (void) state;
    char *text = s_text (40, 'x');
    prokit_payload_t *payload = prokit_payload_new_string (text);
    const unsigned char head[] = { 0xd9, 0x28, 'x' };
    s_assert_head (payload, head, 3, 42);
    assert_memory_equal ((const char *) prokit_payload_data (payload) + 2, text, 40);
    assert_string_equal (prokit_payload_str (payload), text);
    prokit_payload_destroy (&payload);
    free (text);
}

static void
test_255_and_256_char_strings_straddle_str8_and_str16 (void **state)
{
    (void) state;
    char *text = s_text (255, 's');
    prokit_payload_t *payload = prokit_payload_new_string (text);
    const unsigned char head255[] = { 0xd9, 0xff, 's' };
    s_assert_head (payload, head255, 3, 257);
    prokit_payload_destroy (&payload);
    free (text);

    text = s_text (256, 's');
    payload = prokit_payload_new_string (text);
    const unsigned char head256[] = { 0xda, 0x01, 0x00, 's' };
    s_assert_head (payload, head256, 4, 259);
    prokit_payload_destroy (&payload);
    free (text);
}

static void
test_65535_and_65536_char_strings_straddle_str16_and_str32 (void **state)
{
    (void) state;
    char *text = s_text (65535, 'u');
    prokit_payload_t *payload = prokit_payload_new_string (text);
    const unsigned char head16[] = { 0xda, 0xff, 0xff, 'u' };
    s_assert_head (payload, head16, 4, 65538);
    prokit_payload_destroy (&payload);
    free (text);

    text = s_text (65536, 'u');
    payload = prokit_payload_new_string (text);
    const unsigned char head32[] = { 0xdb, 0x00, 0x01, 0x00, 0x00, 'u' };
    s_assert_head (payload, head32, 6, 65541);
    prokit_payload_destroy (&payload);
    free (text);
}

static void
test_300_byte_string_uses_str16_da_01_2c (void **state)
{
    (void) state;
    char *text = s_text (300, 'y');
    prokit_payload_t *payload = prokit_payload_new_string (text);
    const unsigned char head[] = { 0xda, 0x01, 0x2c, 'y' };
    s_assert_head (payload, head, 4, 303);
    assert_string_equal (prokit_payload_str (payload), text);
    prokit_payload_destroy (&payload);
    free (text);
}

static void
test_70000_byte_string_uses_str32_db_00_01_11_70 (void **state)
{
    (void) state;
    char *text = s_text (70000, 'z');
    prokit_payload_t *payload = prokit_payload_new_string (text);
    const unsigned char head[] = { 0xdb, 0x00, 0x01, 0x11, 0x70, 'z' };
    s_assert_head (payload, head, 6, 70005);
    assert_int_equal (prokit_payload_type (payload), PROKIT_PAYLOAD_STR);
    assert_string_equal (prokit_payload_str (payload), text);
    prokit_payload_destroy (&payload);
    free (text);
}

static void
test_string_copies_its_text (void **state)
{
    (void) state;
    char text[] = "mutable";
    prokit_payload_t *payload = prokit_payload_new_string (text);
    text[0] = 'X';
    assert_string_equal (prokit_payload_str (payload), "mutable");
    prokit_payload_destroy (&payload);
}

static void
test_null_string_is_refused (void **state)
{
    (void) state;
    assert_null (prokit_payload_new_string (NULL));
}

//  --- new_printf ----------------------------------------------------------------

static void
test_printf_formats_into_a_msgpack_string (void **state)
{
    (void) state;
    prokit_payload_t *payload = prokit_payload_new_printf ("Main has received data: %s %d", "x", 7);
    assert_int_equal (prokit_payload_type (payload), PROKIT_PAYLOAD_STR);
    assert_string_equal (prokit_payload_str (payload), "Main has received data: x 7");
    const unsigned char head[] = { 0xa0 | 27, 'M' };
    s_assert_head (payload, head, 2, 28);
    prokit_payload_destroy (&payload);

    payload = prokit_payload_new_printf ("100%%");
    const unsigned char percent[] = { 0xa4, '1', '0', '0', '%' };
    s_assert_bytes (payload, percent, sizeof (percent));
    prokit_payload_destroy (&payload);
}

static void
test_printf_of_an_empty_result_is_fixstr_a0 (void **state)
{
    (void) state;
    prokit_payload_t *payload = prokit_payload_new_printf ("%s", "");
    const unsigned char expected[] = { 0xa0 };
    s_assert_bytes (payload, expected, 1);
    prokit_payload_destroy (&payload);
}

static void
test_printf_of_a_long_result_uses_str16 (void **state)
{
    (void) state;
    char *text = s_text (300, 'p');
    prokit_payload_t *payload = prokit_payload_new_printf ("%s", text);
    const unsigned char head[] = { 0xda, 0x01, 0x2c, 'p' };
    s_assert_head (payload, head, 4, 303);
    assert_string_equal (prokit_payload_str (payload), text);
    prokit_payload_destroy (&payload);
    free (text);
}

static void
test_printf_with_null_format_is_refused (void **state)
{
    (void) state;
    //  Through a variable: a literal NULL format is a compile-time warning.
    const char *format = NULL;
    assert_null (prokit_payload_new_printf (format));
}

//  --- new_bytes -----------------------------------------------------------------

static void
test_bytes_are_encoded_as_bin8 (void **state)
{
    (void) state;
    const unsigned char raw[] = { 0, 1, 2, 0xff };
    prokit_payload_t *payload = prokit_payload_new_bytes (raw, sizeof (raw));
    const unsigned char expected[] = { 0xc4, 4, 0, 1, 2, 0xff };
    s_assert_bytes (payload, expected, sizeof (expected));
    assert_int_equal (prokit_payload_type (payload), PROKIT_PAYLOAD_BIN);
    assert_null (prokit_payload_str (payload)); //  bytes are not text
    size_t size = 0;
    const void *bytes = prokit_payload_bytes (payload, &size);
    assert_int_equal (size, 4);
    assert_memory_equal (bytes, raw, 4);
    prokit_payload_destroy (&payload);
}

static void
test_empty_bytes_are_c4_00_from_null_or_a_pointer (void **state)
{
    (void) state;
    const unsigned char expected[] = { 0xc4, 0x00 };
    prokit_payload_t *payload = prokit_payload_new_bytes (NULL, 0);
    s_assert_bytes (payload, expected, 2);
    assert_int_equal (prokit_payload_type (payload), PROKIT_PAYLOAD_BIN);
    size_t size = 99;
    assert_non_null (prokit_payload_bytes (payload, &size));
    assert_int_equal (size, 0);
    prokit_payload_destroy (&payload);

    const char data[] = "ignored";
    payload = prokit_payload_new_bytes (data, 0);
    s_assert_bytes (payload, expected, 2);
    prokit_payload_destroy (&payload);
}

static void
test_null_bytes_with_a_size_are_refused (void **state)
{
    (void) state;
    assert_null (prokit_payload_new_bytes (NULL, 1));
    assert_null (prokit_payload_new_bytes (NULL, 70000));
}

static void
test_255_and_256_bytes_straddle_bin8_and_bin16 (void **state)
{
    (void) state;
    unsigned char raw[256];
    memset (raw, 0xab, sizeof (raw));
    prokit_payload_t *payload = prokit_payload_new_bytes (raw, 255);
    const unsigned char head255[] = { 0xc4, 0xff, 0xab };
    s_assert_head (payload, head255, 3, 257);
    prokit_payload_destroy (&payload);
    payload = prokit_payload_new_bytes (raw, 256);
    const unsigned char head256[] = { 0xc5, 0x01, 0x00, 0xab };
    s_assert_head (payload, head256, 4, 259);
    prokit_payload_destroy (&payload);
}

static void
test_65535_and_65536_bytes_straddle_bin16_and_bin32 (void **state)
{
    (void) state;
    unsigned char *raw = (unsigned char *) calloc (1, 65536);
    assert_non_null (raw);
    prokit_payload_t *payload = prokit_payload_new_bytes (raw, 65535);
    const unsigned char head16[] = { 0xc5, 0xff, 0xff, 0x00 };
    s_assert_head (payload, head16, 4, 65538);
    prokit_payload_destroy (&payload);
    payload = prokit_payload_new_bytes (raw, 65536);
    const unsigned char head32[] = { 0xc6, 0x00, 0x01, 0x00, 0x00, 0x00 };
    s_assert_head (payload, head32, 6, 65541);
    prokit_payload_destroy (&payload);
    free (raw);
}

static void
test_70000_bytes_use_bin32_c6_00_01_11_70 (void **state)
{
    (void) state;
    size_t big = 70000;
    unsigned char *blob = (unsigned char *) malloc (big);
    assert_non_null (blob);
    for (size_t i = 0; i < big; i++)
        blob[i] = (unsigned char) (i % 251);
    prokit_payload_t *payload = prokit_payload_new_bytes (blob, big);
    const unsigned char head[] = { 0xc6, 0x00, 0x01, 0x11, 0x70 };
    s_assert_head (payload, head, 5, big + 5);
    assert_memory_equal ((const unsigned char *) prokit_payload_data (payload) + 5, blob, big);
    size_t size = 0;
    assert_memory_equal (prokit_payload_bytes (payload, &size), blob, big);
    assert_int_equal (size, big);
    prokit_payload_destroy (&payload);
    free (blob);
}

static void
test_bytes_are_copied (void **state)
{
    (void) state;
    unsigned char raw[] = { 1, 2, 3 };
    prokit_payload_t *payload = prokit_payload_new_bytes (raw, sizeof (raw));
    raw[0] = 9;
    const unsigned char expected[] = { 0xc4, 3, 1, 2, 3 };
    s_assert_bytes (payload, expected, sizeof (expected));
    prokit_payload_destroy (&payload);
}

//  --- new_nil -------------------------------------------------------------------

static void
test_nil_is_the_single_byte_c0 (void **state)
{
    (void) state;
    prokit_payload_t *payload = prokit_payload_new_nil ();
    const unsigned char expected[] = { 0xc0 };
    s_assert_bytes (payload, expected, 1);
    assert_int_equal (prokit_payload_type (payload), PROKIT_PAYLOAD_NIL);
    assert_null (prokit_payload_str (payload));
    size_t size = 12345;
    assert_null (prokit_payload_bytes (payload, &size));
    assert_int_equal (size, 12345);
    prokit_payload_destroy (&payload);
}

//  --- new_msgpack ---------------------------------------------------------------

static void
test_msgpack_wraps_a_copy_of_a_valid_value (void **state)
{
    (void) state;
    unsigned char value[] = { 0x92, 0x01, 0xa1, 'x' };
    prokit_payload_t *payload = prokit_payload_new_msgpack (value, sizeof (value));
    const unsigned char expected[] = { 0x92, 0x01, 0xa1, 'x' };
    s_assert_bytes (payload, expected, sizeof (expected));
    assert_ptr_not_equal (prokit_payload_data (payload), value);
    value[1] = 0x02; //  the payload does not see later changes
    s_assert_bytes (payload, expected, sizeof (expected));
    assert_int_equal (prokit_payload_type (payload), PROKIT_PAYLOAD_ARRAY);
    prokit_payload_destroy (&payload);
}

static void
test_msgpack_with_trailing_bytes_is_refused (void **state)
{
    (void) state;
    const unsigned char two_nils[] = { 0xc0, 0xc0 };
    const unsigned char string_then_int[] = { 0xa1, 'x', 0x01 };
    const unsigned char array_then_nil[] = { 0x91, 0xc0, 0xc0 };
    assert_null (prokit_payload_new_msgpack (two_nils, sizeof (two_nils)));
    assert_null (prokit_payload_new_msgpack (string_then_int, sizeof (string_then_int)));
    assert_null (prokit_payload_new_msgpack (array_then_nil, sizeof (array_then_nil)));
    //  The same bytes without the extra one are fine.
    prokit_payload_t *payload = prokit_payload_new_msgpack (array_then_nil, 2);
    assert_non_null (payload);
    prokit_payload_destroy (&payload);
}

static void
test_truncated_msgpack_is_refused (void **state)
{
    (void) state;
    const unsigned char short_str[] = { 0xa5, 'h', 'i' };
    const unsigned char short_uint16[] = { 0xcd, 0x01 };
    const unsigned char short_double[] = { 0xcb, 0, 0, 0 };
    const unsigned char short_array[] = { 0x93, 0x01, 0x02 };
    const unsigned char short_map[] = { 0x81, 0xa1, 'k' };
    const unsigned char short_bin[] = { 0xc4, 0x05, 1, 2 };
    const unsigned char short_ext[] = { 0xd6, 0x01, 0, 0 };
    const unsigned char lying_array32[] = { 0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0 };
    assert_null (prokit_payload_new_msgpack (short_str, sizeof (short_str)));
    assert_null (prokit_payload_new_msgpack (short_uint16, sizeof (short_uint16)));
    assert_null (prokit_payload_new_msgpack (short_double, sizeof (short_double)));
    assert_null (prokit_payload_new_msgpack (short_array, sizeof (short_array)));
    assert_null (prokit_payload_new_msgpack (short_map, sizeof (short_map)));
    assert_null (prokit_payload_new_msgpack (short_bin, sizeof (short_bin)));
    assert_null (prokit_payload_new_msgpack (short_ext, sizeof (short_ext)));
    assert_null (prokit_payload_new_msgpack (lying_array32, sizeof (lying_array32)));
}

static void
test_msgpack_with_reserved_byte_c1_is_refused (void **state)
{
    (void) state;
    const unsigned char alone[] = { 0xc1 };
    const unsigned char in_array[] = { 0x92, 0x01, 0xc1 };
    const unsigned char as_key[] = { 0x81, 0xc1, 0xc0 };
    assert_null (prokit_payload_new_msgpack (alone, sizeof (alone)));
    assert_null (prokit_payload_new_msgpack (in_array, sizeof (in_array)));
    assert_null (prokit_payload_new_msgpack (as_key, sizeof (as_key)));
}

static void
test_empty_or_null_msgpack_is_refused (void **state)
{
    (void) state;
    const unsigned char nil[] = { 0xc0 };
    assert_null (prokit_payload_new_msgpack (nil, 0));
    assert_null (prokit_payload_new_msgpack (NULL, 0));
    assert_null (prokit_payload_new_msgpack (NULL, 1));
}

//  --- values built with msgpack-c ------------------------------------------------

typedef enum {
    K_NIL,
    K_TRUE,
    K_FALSE,
    K_POSITIVE_FIXINT,
    K_NEGATIVE_FIXINT,
    K_UINT8,
    K_UINT16,
    K_UINT32,
    K_UINT64,
    K_INT8,
    K_INT16,
    K_INT32,
    K_INT64,
    K_FLOAT32,
    K_FLOAT64,
    K_FIXSTR,
    K_STR8,
    K_STR16,
    K_STR32,
    K_BIN8,
    K_BIN16,
    K_BIN32,
    K_FIXARRAY,
    K_ARRAY16,
    K_ARRAY32,
    K_FIXMAP,
    K_MAP16,
    K_MAP32,
    K_FIXEXT1,
    K_FIXEXT2,
    K_FIXEXT4,
    K_FIXEXT8,
    K_FIXEXT16,
    K_EXT8,
    K_EXT16,
    K_EXT32,
} kind_t;

static void
s_pack (msgpack_packer *p, kind_t kind)
{
    static char filler[70000];
    memset (filler, 'm', sizeof (filler));
    switch (kind) {
    case K_NIL: msgpack_pack_nil (p); break;
    case K_TRUE: msgpack_pack_true (p); break;
    case K_FALSE: msgpack_pack_false (p); break;
    case K_POSITIVE_FIXINT: msgpack_pack_int (p, 5); break;
    case K_NEGATIVE_FIXINT: msgpack_pack_int (p, -5); break;
    case K_UINT8: msgpack_pack_uint8 (p, 200); break;
    case K_UINT16: msgpack_pack_uint16 (p, 300); break;
    case K_UINT32: msgpack_pack_uint32 (p, 70000); break;
    case K_UINT64: msgpack_pack_uint64 (p, UINT64_MAX); break;
    case K_INT8: msgpack_pack_int8 (p, -100); break;
    case K_INT16: msgpack_pack_int16 (p, -1000); break;
    case K_INT32: msgpack_pack_int32 (p, -100000); break;
    case K_INT64: msgpack_pack_int64 (p, INT64_MIN); break;
    case K_FLOAT32: msgpack_pack_float (p, 1.5f); break;
    case K_FLOAT64: msgpack_pack_double (p, 3.25); break;
    case K_FIXSTR: msgpack_pack_str_with_body (p, "two", 3); break;
    case K_STR8: msgpack_pack_str_with_body (p, filler, 200); break;
    case K_STR16: msgpack_pack_str_with_body (p, filler, 300); break;
    case K_STR32: msgpack_pack_str_with_body (p, filler, 70000); break;
    case K_BIN8: msgpack_pack_bin_with_body (p, filler, 3); break;
    case K_BIN16: msgpack_pack_bin_with_body (p, filler, 300); break;
    case K_BIN32: msgpack_pack_bin_with_body (p, filler, 70000); break;
    case K_FIXARRAY:
    case K_ARRAY16:
    case K_ARRAY32: {
        size_t n = kind == K_FIXARRAY ? 3 : kind == K_ARRAY16 ? 16 : 65536;
        msgpack_pack_array (p, n);
        for (size_t i = 0; i < n; i++)
            msgpack_pack_nil (p);
        break;
    }
    case K_FIXMAP:
    case K_MAP16:
    case K_MAP32: {
        size_t n = kind == K_FIXMAP ? 1 : kind == K_MAP16 ? 16 : 65536;
        msgpack_pack_map (p, n);
        for (size_t i = 0; i < n; i++) {
            msgpack_pack_uint64 (p, i);
            msgpack_pack_str_with_body (p, "v", 1);
        }
        break;
    }
    case K_FIXEXT1: msgpack_pack_ext_with_body (p, filler, 1, 7); break;
    case K_FIXEXT2: msgpack_pack_ext_with_body (p, filler, 2, 7); break;
    case K_FIXEXT4: msgpack_pack_ext_with_body (p, filler, 4, -1); break;
    case K_FIXEXT8: msgpack_pack_ext_with_body (p, filler, 8, 7); break;
    case K_FIXEXT16: msgpack_pack_ext_with_body (p, filler, 16, 7); break;
    case K_EXT8: msgpack_pack_ext_with_body (p, filler, 3, 7); break;
    case K_EXT16: msgpack_pack_ext_with_body (p, filler, 300, 7); break;
    case K_EXT32: msgpack_pack_ext_with_body (p, filler, 70000, 7); break;
    }
}

static const struct {
    kind_t kind;
    unsigned char first; //  the encoding msgpack-c must have chosen
    prokit_payload_type_t type;
} s_kinds[] = {
    { K_NIL, 0xc0, PROKIT_PAYLOAD_NIL },
    { K_TRUE, 0xc3, PROKIT_PAYLOAD_BOOL },
    { K_FALSE, 0xc2, PROKIT_PAYLOAD_BOOL },
    { K_POSITIVE_FIXINT, 0x05, PROKIT_PAYLOAD_INT },
    { K_NEGATIVE_FIXINT, 0xfb, PROKIT_PAYLOAD_INT },
    { K_UINT8, 0xcc, PROKIT_PAYLOAD_INT },
    { K_UINT16, 0xcd, PROKIT_PAYLOAD_INT },
    { K_UINT32, 0xce, PROKIT_PAYLOAD_INT },
    { K_UINT64, 0xcf, PROKIT_PAYLOAD_INT },
    { K_INT8, 0xd0, PROKIT_PAYLOAD_INT },
    { K_INT16, 0xd1, PROKIT_PAYLOAD_INT },
    { K_INT32, 0xd2, PROKIT_PAYLOAD_INT },
    { K_INT64, 0xd3, PROKIT_PAYLOAD_INT },
    { K_FLOAT32, 0xca, PROKIT_PAYLOAD_FLOAT },
    { K_FLOAT64, 0xcb, PROKIT_PAYLOAD_FLOAT },
    { K_FIXSTR, 0xa3, PROKIT_PAYLOAD_STR },
    { K_STR8, 0xd9, PROKIT_PAYLOAD_STR },
    { K_STR16, 0xda, PROKIT_PAYLOAD_STR },
    { K_STR32, 0xdb, PROKIT_PAYLOAD_STR },
    { K_BIN8, 0xc4, PROKIT_PAYLOAD_BIN },
    { K_BIN16, 0xc5, PROKIT_PAYLOAD_BIN },
    { K_BIN32, 0xc6, PROKIT_PAYLOAD_BIN },
    { K_FIXARRAY, 0x93, PROKIT_PAYLOAD_ARRAY },
    { K_ARRAY16, 0xdc, PROKIT_PAYLOAD_ARRAY },
    { K_ARRAY32, 0xdd, PROKIT_PAYLOAD_ARRAY },
    { K_FIXMAP, 0x81, PROKIT_PAYLOAD_MAP },
    { K_MAP16, 0xde, PROKIT_PAYLOAD_MAP },
    { K_MAP32, 0xdf, PROKIT_PAYLOAD_MAP },
    { K_FIXEXT1, 0xd4, PROKIT_PAYLOAD_EXT },
    { K_FIXEXT2, 0xd5, PROKIT_PAYLOAD_EXT },
    { K_FIXEXT4, 0xd6, PROKIT_PAYLOAD_EXT },
    { K_FIXEXT8, 0xd7, PROKIT_PAYLOAD_EXT },
    { K_FIXEXT16, 0xd8, PROKIT_PAYLOAD_EXT },
    { K_EXT8, 0xc7, PROKIT_PAYLOAD_EXT },
    { K_EXT16, 0xc8, PROKIT_PAYLOAD_EXT },
    { K_EXT32, 0xc9, PROKIT_PAYLOAD_EXT },
};
#define KIND_COUNT (sizeof (s_kinds) / sizeof (s_kinds[0]))

//  Pack one value of KIND with msgpack-c into BUFFER (initialised here).
static void
s_pack_into (msgpack_sbuffer *buffer, kind_t kind)
{
    msgpack_sbuffer_init (buffer);
    msgpack_packer packer;
    msgpack_packer_init (&packer, buffer, msgpack_sbuffer_write);
    s_pack (&packer, kind);
}

static void
test_every_msgpack_type_is_accepted_and_typed (void **state)
{
    (void) state;
    for (size_t i = 0; i < KIND_COUNT; i++) {
        msgpack_sbuffer buffer;
        s_pack_into (&buffer, s_kinds[i].kind);
        assert_int_equal ((unsigned char) buffer.data[0], s_kinds[i].first);
        prokit_payload_t *payload = prokit_payload_new_msgpack (buffer.data, buffer.size);
        s_assert_bytes (payload, buffer.data, buffer.size);
        assert_int_equal (prokit_payload_type (payload), s_kinds[i].type);
        msgpack_sbuffer_destroy (&buffer);
        prokit_payload_destroy (&payload);
    }
}

static void
test_every_msgpack_type_reads_back_with_msgpack_c (void **state)
{
    (void) state;
    for (size_t i = 0; i < KIND_COUNT; i++) {
        msgpack_sbuffer buffer;
        s_pack_into (&buffer, s_kinds[i].kind);
        prokit_payload_t *payload = prokit_payload_new_msgpack (buffer.data, buffer.size);
        assert_non_null (payload);
        msgpack_unpacked unpacked;
        msgpack_unpacked_init (&unpacked);
        size_t offset = 0;
        assert_int_equal (msgpack_unpack_next (&unpacked, prokit_payload_data (payload),
                                               prokit_payload_size (payload), &offset),
                          MSGPACK_UNPACK_SUCCESS);
        assert_int_equal (offset, buffer.size);
        msgpack_unpacked_destroy (&unpacked);
        msgpack_sbuffer_destroy (&buffer);
        prokit_payload_destroy (&payload);
    }
}

static void
test_extreme_numbers_pass_through_unchanged (void **state)
{
    (void) state;
    const kind_t kinds[] = { K_UINT64, K_INT64, K_FLOAT64 };
    for (size_t i = 0; i < 3; i++) {
        msgpack_sbuffer buffer;
        s_pack_into (&buffer, kinds[i]);
        prokit_payload_t *payload = prokit_payload_new_msgpack (buffer.data, buffer.size);
        msgpack_sbuffer_destroy (&buffer);
        prokit_payload_t *copy = prokit_payload_dup (payload);
        msgpack_unpacked unpacked;
        msgpack_unpacked_init (&unpacked);
        assert_int_equal (msgpack_unpack_next (&unpacked, prokit_payload_data (copy),
                                               prokit_payload_size (copy), NULL),
                          MSGPACK_UNPACK_SUCCESS);
        const msgpack_object *object = &unpacked.data;
        if (kinds[i] == K_UINT64) {
            assert_int_equal (object->type, MSGPACK_OBJECT_POSITIVE_INTEGER);
            assert_true (object->via.u64 == UINT64_MAX);
        }
        else if (kinds[i] == K_INT64) {
            assert_int_equal (object->type, MSGPACK_OBJECT_NEGATIVE_INTEGER);
            assert_true (object->via.i64 == INT64_MIN);
        }
        else {
            assert_int_equal (object->type, MSGPACK_OBJECT_FLOAT64);
            assert_true (object->via.f64 == 3.25);
        }
        msgpack_unpacked_destroy (&unpacked);
        prokit_payload_destroy (&payload);
        prokit_payload_destroy (&copy);
    }
}

//  --- str and bytes ---------------------------------------------------------------

static void
test_str_is_null_for_every_non_string_type (void **state)
{
    (void) state;
    for (size_t i = 0; i < KIND_COUNT; i++) {
        msgpack_sbuffer buffer;
        s_pack_into (&buffer, s_kinds[i].kind);
        prokit_payload_t *payload = prokit_payload_new_msgpack (buffer.data, buffer.size);
        msgpack_sbuffer_destroy (&buffer);
        assert_non_null (payload);
        if (s_kinds[i].type == PROKIT_PAYLOAD_STR)
            assert_non_null (prokit_payload_str (payload));
        else
            assert_null (prokit_payload_str (payload));
        prokit_payload_destroy (&payload);
    }
}

static void
test_bytes_is_null_except_for_str_and_bin_and_leaves_size_alone (void **state)
{
    (void) state;
    for (size_t i = 0; i < KIND_COUNT; i++) {
        msgpack_sbuffer buffer;
        s_pack_into (&buffer, s_kinds[i].kind);
        prokit_payload_t *payload = prokit_payload_new_msgpack (buffer.data, buffer.size);
        msgpack_sbuffer_destroy (&buffer);
        assert_non_null (payload);
        size_t size = 12345;
        const void *bytes = prokit_payload_bytes (payload, &size);
        if (s_kinds[i].type == PROKIT_PAYLOAD_STR || s_kinds[i].type == PROKIT_PAYLOAD_BIN) {
            assert_non_null (bytes);
            assert_int_not_equal (size, 12345);
        }
        else {
            assert_null (bytes);
            assert_int_equal (size, 12345);
        }
        prokit_payload_destroy (&payload);
    }
}

static void
test_bytes_point_past_the_head_of_every_str_and_bin_form (void **state)
{
    (void) state;
    const struct {
        kind_t kind;
        size_t head;
        size_t len;
    } cases[] = {
        { K_FIXSTR, 1, 3 }, { K_STR8, 2, 200 },  { K_STR16, 3, 300 },   { K_STR32, 5, 70000 },
        { K_BIN8, 2, 3 },   { K_BIN16, 3, 300 }, { K_BIN32, 5, 70000 },
    };
    for (size_t i = 0; i < sizeof (cases) / sizeof (cases[0]); i++) {
        msgpack_sbuffer buffer;
        s_pack_into (&buffer, cases[i].kind);
        prokit_payload_t *payload = prokit_payload_new_msgpack (buffer.data, buffer.size);
        msgpack_sbuffer_destroy (&buffer);
        size_t size = 0;
        const char *bytes = (const char *) prokit_payload_bytes (payload, &size);
        assert_int_equal (size, cases[i].len);
        assert_ptr_equal (bytes, (const char *) prokit_payload_data (payload) + cases[i].head);
        prokit_payload_destroy (&payload);
    }
}

static void
test_bytes_accepts_a_null_size_pointer (void **state)
{
    (void) state;
    prokit_payload_t *payload = prokit_payload_new_string ("abc");
    const char *bytes = (const char *) prokit_payload_bytes (payload, NULL);
    assert_non_null (bytes);
    assert_memory_equal (bytes, "abc", 3);
    prokit_payload_destroy (&payload);
}

static void
test_str_is_nul_terminated_and_stable (void **state)
{
    (void) state;
    //  A fixstr whose bytes are not followed by a NUL in the encoding.
    const unsigned char value[] = { 0xa3, 'a', 'b', 'c' };
    prokit_payload_t *payload = prokit_payload_new_msgpack (value, sizeof (value));
    const char *text = prokit_payload_str (payload);
    assert_non_null (text);
    assert_int_equal (strlen (text), 3);
    assert_string_equal (text, "abc");
    assert_ptr_equal (prokit_payload_str (payload), text);
    prokit_payload_destroy (&payload);
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

//  --- dup and destroy ---------------------------------------------------------------

static void
test_dup_has_the_same_bytes_and_outlives_the_original (void **state)
{
    (void) state;
    prokit_payload_t *original = prokit_payload_new_string ("same");
    prokit_payload_t *copy = prokit_payload_dup (original);
    assert_non_null (copy);
    assert_ptr_not_equal (copy, original);
    const unsigned char expected[] = { 0xa4, 's', 'a', 'm', 'e' };
    s_assert_bytes (copy, expected, sizeof (expected));
    assert_string_equal (prokit_payload_str (original), "same");
    prokit_payload_destroy (&original);
    assert_string_equal (prokit_payload_str (copy), "same");
    assert_int_equal (prokit_payload_type (copy), PROKIT_PAYLOAD_STR);
    prokit_payload_destroy (&copy);
}

static void
test_dup_of_a_large_payload_outlives_the_original (void **state)
{
    (void) state;
    //  Large frames may be shared by reference count: the copy must keep
    //  the bytes alive when the original goes.
    size_t big = 100000;
    unsigned char *blob = (unsigned char *) malloc (big);
    assert_non_null (blob);
    for (size_t i = 0; i < big; i++)
        blob[i] = (unsigned char) (i * 13);
    prokit_payload_t *original = prokit_payload_new_bytes (blob, big);
    prokit_payload_t *copy = prokit_payload_dup (original);
    prokit_payload_destroy (&original);
    size_t size = 0;
    const void *bytes = prokit_payload_bytes (copy, &size);
    assert_int_equal (size, big);
    assert_memory_equal (bytes, blob, big);
    prokit_payload_destroy (&copy);
    free (blob);
}

static void
test_dup_of_null_is_null (void **state)
{
    (void) state;
    assert_null (prokit_payload_dup (NULL));
}

static void
test_destroy_nulls_the_pointer_and_is_null_safe (void **state)
{
    (void) state;
    prokit_payload_t *payload = prokit_payload_new_nil ();
    assert_non_null (payload);
    prokit_payload_destroy (&payload);
    assert_null (payload);
    prokit_payload_destroy (&payload); //  *self_p NULL
    assert_null (payload);
    prokit_payload_destroy (NULL);
}

static void
test_accessors_on_null_return_empty_results (void **state)
{
    (void) state;
    assert_int_equal (prokit_payload_size (NULL), 0);
    assert_null (prokit_payload_data (NULL));
    assert_int_equal (prokit_payload_type (NULL), PROKIT_PAYLOAD_NIL);
    assert_null (prokit_payload_str (NULL));
    size_t size = 7;
    assert_null (prokit_payload_bytes (NULL, &size));
    assert_int_equal (size, 7);
}

//  --- large payloads ------------------------------------------------------------------

static void
test_one_mebibyte_payload_round_trips (void **state)
{
    (void) state;
    size_t size = 1024 * 1024;
    unsigned char *blob = (unsigned char *) malloc (size);
    assert_non_null (blob);
    for (size_t i = 0; i < size; i++)
        blob[i] = (unsigned char) (i * 7 + (i >> 11));
    prokit_payload_t *payload = prokit_payload_new_bytes (blob, size);
    const unsigned char head[] = { 0xc6, 0x00, 0x10, 0x00, 0x00 };
    s_assert_head (payload, head, 5, size + 5);
    prokit_payload_t *copy = prokit_payload_dup (payload);
    prokit_payload_destroy (&payload);
    prokit_payload_t *rewrapped =
        prokit_payload_new_msgpack (prokit_payload_data (copy), prokit_payload_size (copy));
    assert_non_null (rewrapped);
    assert_int_equal (prokit_payload_type (rewrapped), PROKIT_PAYLOAD_BIN);
    size_t got = 0;
    const void *bytes = prokit_payload_bytes (rewrapped, &got);
    assert_int_equal (got, size);
    assert_memory_equal (bytes, blob, size);
    prokit_payload_destroy (&copy);
    prokit_payload_destroy (&rewrapped);
    free (blob);
}

static void
test_one_mebibyte_string_round_trips (void **state)
{
    (void) state;
    size_t size = 1024 * 1024;
    char *text = s_text (size, 'q');
    for (size_t i = 0; i < size; i++)
        text[i] = (char) ('a' + i % 26);
    prokit_payload_t *payload = prokit_payload_new_string (text);
    const unsigned char head[] = { 0xdb, 0x00, 0x10, 0x00, 0x00 };
    s_assert_head (payload, head, 5, size + 5);
    prokit_payload_t *rewrapped =
        prokit_payload_new_msgpack (prokit_payload_data (payload), prokit_payload_size (payload));
    assert_string_equal (prokit_payload_str (rewrapped), text);
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    assert_int_equal (msgpack_unpack_next (&unpacked, prokit_payload_data (rewrapped),
                                           prokit_payload_size (rewrapped), NULL),
                      MSGPACK_UNPACK_SUCCESS);
    assert_int_equal (unpacked.data.type, MSGPACK_OBJECT_STR);
    assert_int_equal (unpacked.data.via.str.size, size);
    assert_memory_equal (unpacked.data.via.str.ptr, text, size);
    msgpack_unpacked_destroy (&unpacked);
    prokit_payload_destroy (&payload);
    prokit_payload_destroy (&rewrapped);
    free (text);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_string_hi_is_fixstr_a2_68_69),
        cmocka_unit_test (test_empty_string_is_fixstr_a0),
        cmocka_unit_test (test_31_char_string_is_the_longest_fixstr),
        cmocka_unit_test (test_40_char_string_uses_str8_d9_28),
        cmocka_unit_test (test_255_and_256_char_strings_straddle_str8_and_str16),
        cmocka_unit_test (test_65535_and_65536_char_strings_straddle_str16_and_str32),
        cmocka_unit_test (test_300_byte_string_uses_str16_da_01_2c),
        cmocka_unit_test (test_70000_byte_string_uses_str32_db_00_01_11_70),
        cmocka_unit_test (test_string_copies_its_text),
        cmocka_unit_test (test_null_string_is_refused),
        cmocka_unit_test (test_printf_formats_into_a_msgpack_string),
        cmocka_unit_test (test_printf_of_an_empty_result_is_fixstr_a0),
        cmocka_unit_test (test_printf_of_a_long_result_uses_str16),
        cmocka_unit_test (test_printf_with_null_format_is_refused),
        cmocka_unit_test (test_bytes_are_encoded_as_bin8),
        cmocka_unit_test (test_empty_bytes_are_c4_00_from_null_or_a_pointer),
        cmocka_unit_test (test_null_bytes_with_a_size_are_refused),
        cmocka_unit_test (test_255_and_256_bytes_straddle_bin8_and_bin16),
        cmocka_unit_test (test_65535_and_65536_bytes_straddle_bin16_and_bin32),
        cmocka_unit_test (test_70000_bytes_use_bin32_c6_00_01_11_70),
        cmocka_unit_test (test_bytes_are_copied),
        cmocka_unit_test (test_nil_is_the_single_byte_c0),
        cmocka_unit_test (test_msgpack_wraps_a_copy_of_a_valid_value),
        cmocka_unit_test (test_msgpack_with_trailing_bytes_is_refused),
        cmocka_unit_test (test_truncated_msgpack_is_refused),
        cmocka_unit_test (test_msgpack_with_reserved_byte_c1_is_refused),
        cmocka_unit_test (test_empty_or_null_msgpack_is_refused),
        cmocka_unit_test (test_every_msgpack_type_is_accepted_and_typed),
        cmocka_unit_test (test_every_msgpack_type_reads_back_with_msgpack_c),
        cmocka_unit_test (test_extreme_numbers_pass_through_unchanged),
        cmocka_unit_test (test_str_is_null_for_every_non_string_type),
        cmocka_unit_test (test_bytes_is_null_except_for_str_and_bin_and_leaves_size_alone),
        cmocka_unit_test (test_bytes_point_past_the_head_of_every_str_and_bin_form),
        cmocka_unit_test (test_bytes_accepts_a_null_size_pointer),
        cmocka_unit_test (test_str_is_nul_terminated_and_stable),
        cmocka_unit_test (test_str_stops_at_an_embedded_nul_but_bytes_do_not),
        cmocka_unit_test (test_dup_has_the_same_bytes_and_outlives_the_original),
        cmocka_unit_test (test_dup_of_a_large_payload_outlives_the_original),
        cmocka_unit_test (test_dup_of_null_is_null),
        cmocka_unit_test (test_destroy_nulls_the_pointer_and_is_null_safe),
        cmocka_unit_test (test_accessors_on_null_return_empty_results),
        cmocka_unit_test (test_one_mebibyte_payload_round_trips),
        cmocka_unit_test (test_one_mebibyte_string_round_trips),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
