/*  test_acl.c: the broker's access list: its syntax, and which key may
    claim which name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "acl.h"

#define KEY_A "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
#define KEY_B "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"
//  A key that starts with '#', which Z85 allows.
#define KEY_HASH "#ne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"

static acl_t *
s_parse (const char *text)
{
    char error[256];
    acl_t *acl = acl_parse (text, error, sizeof (error));
    if (!acl)
        print_message ("refused: %s\n", error);
    return acl;
}

static void
test_rules (void **state)
{
    (void) state;
    acl_t *acl = s_parse ("# the access list\n"
                          "\n" KEY_A " @main   work\n" KEY_B "\trender-* main\n" KEY_A
                          " extra-?\n" KEY_HASH " hashed\n"
                          "local  local-*\n");
    assert_non_null (acl);
    assert_int_equal (acl_size (acl), 4);
    assert_true (acl_allows (acl, KEY_A, "@main"));
    assert_true (acl_allows (acl, KEY_A, "work"));
    assert_true (acl_allows (acl, KEY_A, "extra-1")); //  lines for one key add up
    assert_false (acl_allows (acl, KEY_A, "extra-12"));
    assert_false (acl_allows (acl, KEY_A, "render-1"));
    assert_true (acl_allows (acl, KEY_B, "render-1"));
    assert_true (acl_allows (acl, KEY_B, "main")); //  the window called "main"
    assert_false (acl_allows (acl, KEY_B, "@main"));
    assert_true (acl_allows (acl, KEY_HASH, "hashed"));
    assert_true (acl_allows (acl, NULL, "local-1"));
    assert_true (acl_allows (acl, "", "local-2"));
    assert_false (acl_allows (acl, NULL, "work"));
    assert_false (acl_allows (acl, "unknown-key", "work"));
    assert_false (acl_allows (NULL, KEY_A, "work"));
    assert_false (acl_allows (acl, KEY_A, NULL));
    acl_destroy (&acl);
    assert_null (acl);
    acl_destroy (&acl);
}

static void
test_star_never_grants_main (void **state)
{
    (void) state;
    acl_t *acl = s_parse (KEY_A " *\n");
    assert_non_null (acl);
    assert_true (acl_allows (acl, KEY_A, "anything"));
    assert_false (acl_allows (acl, KEY_A, "@main"));
    acl_destroy (&acl);
}

static void
test_syntax_errors (void **state)
{
    (void) state;
    char error[256];
    const char *bad[] = {
        "short-key work\n",
        KEY_A "\n",           //  no names
        KEY_A " @admin\n",    //  '@' is for the main role only
        KEY_A " work\nzzz\n", //  a bad second line
        KEY_A " 01234567890123456789012345678901234567890123456789012345678901234\n",
    };
    for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++) {
        error[0] = 0;
        assert_null (acl_parse (bad[i], error, sizeof (error)));
        assert_non_null (strstr (error, "line "));
    }
    assert_null (acl_parse (KEY_A " work\nzzz\n", error, sizeof (error)));
    assert_non_null (strstr (error, "line 2"));
    //  Empty is valid: nobody may claim anything.
    acl_t *acl = s_parse ("# nobody\n");
    assert_non_null (acl);
    assert_int_equal (acl_size (acl), 0);
    assert_false (acl_allows (acl, KEY_A, "work"));
    acl_destroy (&acl);
    assert_null (acl_load ("/nonexistent/acl", error, sizeof (error)));
    assert_non_null (strstr (error, "/nonexistent/acl"));
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_rules),
        cmocka_unit_test (test_star_never_grants_main),
        cmocka_unit_test (test_syntax_errors),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
