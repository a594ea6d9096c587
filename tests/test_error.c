/*  test_error.c: error codes keep their numbers (they are on the wire and in
    the ABI), and each code has its own symbolic name and its own text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <limits.h>
#include <prokit.h>
#include <string.h>

//  Every code in include/prokit/error.h, with the spelling of its name.
#define CODE(c)                                                                                    \
    {                                                                                              \
        c, #c                                                                                      \
    }
static const struct {
    int code;
    const char *name;
} s_codes[] = {
    CODE (PROKIT_OK),         CODE (PROKIT_EINVAL),    CODE (PROKIT_ENOMEM),
    CODE (PROKIT_ENOTFOUND),  CODE (PROKIT_EEXIST),    CODE (PROKIT_ETIMEDOUT),
    CODE (PROKIT_ENOHANDLER), CODE (PROKIT_EHANDLER),  CODE (PROKIT_ECLOSED),
    CODE (PROKIT_ETOOBIG),    CODE (PROKIT_EPROTO),    CODE (PROKIT_EVERSION),
    CODE (PROKIT_EAGAIN),     CODE (PROKIT_EACCES),    CODE (PROKIT_ETRANSPORT),
    CODE (PROKIT_ESPAWN),     CODE (PROKIT_EEXITED),   CODE (PROKIT_ENOFILE),
    CODE (PROKIT_ELIMIT),     CODE (PROKIT_ECANCELED), CODE (PROKIT_EUNCONFIRMED),
};
#undef CODE
#define CODE_COUNT (sizeof (s_codes) / sizeof (s_codes[0]))

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
    assert_int_equal (PROKIT_ENOFILE, -17);
    assert_int_equal (PROKIT_ELIMIT, -18);
    assert_int_equal (PROKIT_ECANCELED, -19);
    assert_int_equal (PROKIT_EUNCONFIRMED, -20);
}

static void
test_codes_are_consecutive_from_zero_down (void **state)
{
    (void) state;
    for (size_t i = 0; i < CODE_COUNT; i++)
        assert_int_equal (s_codes[i].code, -(int) i);
}

static void
test_every_code_is_named_after_its_constant (void **state)
{
    (void) state;
    for (size_t i = 0; i < CODE_COUNT; i++)
        assert_string_equal (prokit_error_name (s_codes[i].code), s_codes[i].name);
}

static void
test_every_code_has_a_text_of_its_own (void **state)
{
    (void) state;
    for (size_t i = 0; i < CODE_COUNT; i++) {
        const char *text = prokit_strerror (s_codes[i].code);
        assert_non_null (text);
        assert_true (strlen (text) > 0);
        assert_string_not_equal (text, "unknown error");
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal (text, prokit_strerror (s_codes[j].code));
    }
}

static void
test_texts_match_the_protocol_table (void **state)
{
    (void) state;
    //  docs/PROTOCOL.md section 7 lists these texts.
    assert_string_equal (prokit_strerror (PROKIT_OK), "success");
    assert_string_equal (prokit_strerror (PROKIT_EINVAL), "invalid argument");
    assert_string_equal (prokit_strerror (PROKIT_ENOMEM), "out of memory");
    assert_string_equal (prokit_strerror (PROKIT_ENOTFOUND), "no such window");
    assert_string_equal (prokit_strerror (PROKIT_EEXIST), "name already taken");
    assert_string_equal (prokit_strerror (PROKIT_ETIMEDOUT), "timed out");
    assert_string_equal (prokit_strerror (PROKIT_ENOHANDLER), "no request handler");
    assert_string_equal (prokit_strerror (PROKIT_EHANDLER), "request handler failed");
    assert_string_equal (prokit_strerror (PROKIT_ECLOSED), "connection closed");
    assert_string_equal (prokit_strerror (PROKIT_ETOOBIG), "payload too large");
    assert_string_equal (prokit_strerror (PROKIT_EPROTO), "protocol error");
    assert_string_equal (prokit_strerror (PROKIT_EVERSION), "unsupported protocol version");
    assert_string_equal (prokit_strerror (PROKIT_EAGAIN), "queue full, try again");
    assert_string_equal (prokit_strerror (PROKIT_EACCES), "permission denied");
    assert_string_equal (prokit_strerror (PROKIT_ETRANSPORT), "transport error");
    assert_string_equal (prokit_strerror (PROKIT_ESPAWN), "window process could not be started");
    assert_string_equal (prokit_strerror (PROKIT_EEXITED), "window process exited before joining");
}

static void
test_names_and_texts_are_static_strings (void **state)
{
    (void) state;
    for (size_t i = 0; i < CODE_COUNT; i++) {
        assert_ptr_equal (prokit_strerror (s_codes[i].code), prokit_strerror (s_codes[i].code));
        assert_ptr_equal (prokit_error_name (s_codes[i].code), prokit_error_name (s_codes[i].code));
    }
}

static void
test_unknown_codes_give_unknown_error_and_a_question_mark_name (void **state)
{
    (void) state;
    //  -(CODE_COUNT) is the first code past the last one this test knows: a
    //  new code added to error.h without a test here fails this.
    int unknown[] = { -(int) CODE_COUNT, -100, -1000, 1, 2, 42, INT_MAX, INT_MIN };
    for (size_t i = 0; i < sizeof (unknown) / sizeof (unknown[0]); i++) {
        assert_non_null (prokit_strerror (unknown[i]));
        assert_string_equal (prokit_strerror (unknown[i]), "unknown error");
        assert_string_equal (prokit_error_name (unknown[i]), "PROKIT_E?");
    }
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_codes_keep_their_wire_values),
        cmocka_unit_test (test_codes_are_consecutive_from_zero_down),
        cmocka_unit_test (test_every_code_is_named_after_its_constant),
        cmocka_unit_test (test_every_code_has_a_text_of_its_own),
        cmocka_unit_test (test_texts_match_the_protocol_table),
        cmocka_unit_test (test_names_and_texts_are_static_strings),
        cmocka_unit_test (test_unknown_codes_give_unknown_error_and_a_question_mark_name),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
