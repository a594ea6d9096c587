/*  test_error.c: error codes keep their numbers (they are on the wire) and
    each has a name and a text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <prokit.h>
#include <string.h>

static void
test_codes_keep_their_wire_values (void **state)
{
    (void) state;
    assert_int_equal (PROKIT_OK, 0);
    assert_int_equal (PROKIT_EINVAL, -1);
    assert_int_equal (PROKIT_ENOMEM, -2);
    assert_int_equal (PROKIT_ENOTFOUND, -3);
    assert_int_equal (PROKIT_EEXIST, -4);
    assert_int_equal (PROKIT_ETIMEDOUT, -5);
    assert_int_equal (PROKIT_ENOHANDLER, -6);
    assert_int_equal (PROKIT_EHANDLER, -7);
    assert_int_equal (PROKIT_ECLOSED, -8);
    assert_int_equal (PROKIT_ETOOBIG, -9);
    assert_int_equal (PROKIT_EPROTO, -10);
    assert_int_equal (PROKIT_EVERSION, -11);
    assert_int_equal (PROKIT_EAGAIN, -12);
    assert_int_equal (PROKIT_EACCES, -13);
    assert_int_equal (PROKIT_ETRANSPORT, -14);
    assert_int_equal (PROKIT_ESPAWN, -15);
    assert_int_equal (PROKIT_EEXITED, -16);
}

static void
test_every_code_has_its_own_name_and_text (void **state)
{
    (void) state;
    static const char *names[] = {
        "PROKIT_OK",      "PROKIT_EINVAL",    "PROKIT_ENOMEM",     "PROKIT_ENOTFOUND",
        "PROKIT_EEXIST",  "PROKIT_ETIMEDOUT", "PROKIT_ENOHANDLER", "PROKIT_EHANDLER",
        "PROKIT_ECLOSED", "PROKIT_ETOOBIG",   "PROKIT_EPROTO",     "PROKIT_EVERSION",
        "PROKIT_EAGAIN",  "PROKIT_EACCES",    "PROKIT_ETRANSPORT", "PROKIT_ESPAWN",
        "PROKIT_EEXITED",
    };
    for (int code = 0; code >= -16; code--) {
        assert_string_equal (prokit_error_name (code), names[-code]);
        const char *text = prokit_strerror (code);
        assert_non_null (text);
        assert_string_not_equal (text, "unknown error");
        for (int other = code + 1; other <= 0; other++)
            assert_string_not_equal (text, prokit_strerror (other));
    }
    assert_string_equal (prokit_strerror (PROKIT_ENOTFOUND), "no such window");
    assert_string_equal (prokit_strerror (PROKIT_EEXIST), "name already taken");
}

static void
test_unknown_codes_are_named_as_such (void **state)
{
    (void) state;
    int unknown[] = { 1, 42, -17, -1000, 0x7fffffff, -0x7fffffff - 1 };
    for (size_t i = 0; i < sizeof (unknown) / sizeof (unknown[0]); i++) {
        assert_string_equal (prokit_strerror (unknown[i]), "unknown error");
        assert_string_equal (prokit_error_name (unknown[i]), "PROKIT_E?");
    }
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_codes_keep_their_wire_values),
        cmocka_unit_test (test_every_code_has_its_own_name_and_text),
        cmocka_unit_test (test_unknown_codes_are_named_as_such),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
