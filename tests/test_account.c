/*  test_account.c: main's account of what it sent through a router that
    went (src/account.c): what is reported undelivered once the windows
    have said what they took in, message by message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "prokit/error.h"
#include "proto.h"

#define TOPIC "0123456789abcdef"
#define OTHER "fedcba9876543210"

//  What account_settle() reported, per target.
typedef struct reports {
    uint64_t to_w;
    uint64_t to_v;
    uint64_t broadcast;
    int calls;
} reports_t;

static void
s_report (const char *target, uint64_t count, const char *why, void *arg)
{
    reports_t *reports = (reports_t *) arg;
    assert_true (count > 0);
    assert_non_null (strstr (why, "router went away"));
    uint64_t *counter = strcmp (target, "w") == 0   ? &reports->to_w
                        : strcmp (target, "v") == 0 ? &reports->to_v
                                                    : &reports->broadcast;
    assert_true (strcmp (target, "w") == 0 || strcmp (target, "v") == 0 || !target[0]);
    *counter += count;
    reports->calls++;
}

static uint64_t
s_id (uint64_t n)
{
    return PROTO_ID_ONE_WAY_BIT | n;
}

//  An ACCOUNT as the router writes it: HANDLED, and window W's counts
//  with its session (TOPIC NULL: none), and V's when V_PUBLISHED.
static void
s_update (account_t *account, uint64_t handled, uint64_t published, uint64_t settled,
          const char *topic, uint64_t session_published)
{
    proto_account_window_t windows[1] = {
        { "w", published, settled, topic, session_published },
    };
    uint8_t body[PROTO_ACCOUNT_BODY_MAX];
    size_t size = proto_account_encode (body, handled, windows, 1);
    assert_int_equal (account_update (account, body, size), PROKIT_OK);
}

//  Main sent W messages 1..20; the router handled 10 (published them all
//  to W, which confirmed 4) and died. W says its session took in 12: the
//  10 published, and 2 of those handled after the last ACCOUNT. 8 are
//  reported, the oldest 12 not.
static void
test_what_the_window_says_it_took_in_is_not_reported (void **state)
{
    (void) state;
    account_t *account = account_new ();
    assert_non_null (account);
    for (uint64_t n = 1; n <= 20; n++)
        account_sent (account, "w", s_id (n));
    s_update (account, 10, 10, 4, TOPIC, 10);
    assert_true (account_await (account, 5000));
    assert_int_equal (account_deadline (account), 5000);
    assert_true (account_window_back (account, "w", TOPIC, 12));
    assert_true (account_deadline (account) < 5000); //  due now
    reports_t reports = { 0, 0, 0, 0 };
    account_settle (account, s_report, &reports);
    assert_int_equal (reports.to_w, 8);
    account_destroy (&account);
    assert_null (account);
}

//  The same, but W comes back with another session (or never): it cannot
//  say, and everything not settled is reported: 6 published, 10 unhandled.
static void
test_a_window_back_with_another_session_has_everything_reported (void **state)
{
    (void) state;
    account_t *account = account_new ();
    for (uint64_t n = 1; n <= 20; n++)
        account_sent (account, "w", s_id (n));
    s_update (account, 10, 10, 4, TOPIC, 10);
    assert_true (account_await (account, 5000));
    assert_true (account_window_back (account, "w", OTHER, 12));
    reports_t reports = { 0, 0, 0, 0 };
    account_settle (account, s_report, &reports);
    assert_int_equal (reports.to_w, 16);

    //  Never back: the same at the deadline.
    for (uint64_t n = 21; n <= 40; n++)
        account_sent (account, "w", s_id (n));
    s_update (account, 10, 10, 4, TOPIC, 10);
    assert_true (account_await (account, 5000));
    assert_false (account_window_back (account, "v", TOPIC, 12)); //  not one it waits for
    memset (&reports, 0, sizeof (reports));
    account_settle (account, s_report, &reports);
    assert_int_equal (reports.to_w, 16);
    account_destroy (&account);
}

//  W's session began before main's: it had been published 100 messages of
//  an earlier main. Its count 103 is main's third.
static void
test_a_session_older_than_main_is_numbered_from_main_s_first (void **state)
{
    (void) state;
    account_t *account = account_new ();
    for (uint64_t n = 1; n <= 5; n++)
        account_sent (account, "w", s_id (n));
    s_update (account, 5, 5, 1, TOPIC, 105);
    assert_true (account_await (account, 5000));
    assert_true (account_window_back (account, "w", TOPIC, 103));
    reports_t reports = { 0, 0, 0, 0 };
    account_settle (account, s_report, &reports);
    assert_int_equal (reports.to_w, 2);
    account_destroy (&account);
}

//  An ERROR about message 12 says it and all before it were handled: with
//  no ACCOUNT since, 13..20 are what was not, and no window was there.
//  Refused ahead of the HELLO: taken off the newest end.
static void
test_an_error_marks_everything_before_it_handled (void **state)
{
    (void) state;
    account_t *account = account_new ();
    for (uint64_t n = 1; n <= 20; n++)
        account_sent (account, "w", s_id (n));
    s_update (account, 10, 0, 0, NULL, 0);
    account_handled_through (account, s_id (12));
    s_update (account, 12, 0, 0, NULL, 0); //  says what the ERROR said: nothing forgotten twice
    account_refused_ahead (account);
    assert_false (account_await (account, 5000)); //  no window on the channel to wait for
    reports_t reports = { 0, 0, 0, 0 };
    account_settle (account, s_report, &reports);
    assert_int_equal (reports.to_w, 7);
    account_destroy (&account);
}

//  Broadcasts not handled: received if every window on the channel took
//  them in; W took both, V (off the channel: no session) is not asked. A
//  reported count from the router lowers what is still unsettled.
static void
test_broadcasts_are_received_when_every_window_took_them (void **state)
{
    (void) state;
    account_t *account = account_new ();
    for (uint64_t n = 1; n <= 6; n++)
        account_sent (account, "", s_id (n));
    account_sent (account, "v", s_id (7));
    account_sent (account, "", s_id (8));
    s_update (account, 4, 4, 1, TOPIC, 4);
    account_reported (account, "w", 1);
    assert_true (account_await (account, 5000));
    assert_true (account_window_back (account, "w", TOPIC, 6));
    reports_t reports = { 0, 0, 0, 0 };
    account_settle (account, s_report, &reports);
    //  Published 4, settled 1, reported 1: 2 unsettled, both taken in.
    //  Unhandled: broadcasts 5 and 6 (taken in), 7 to v, broadcast 8.
    assert_int_equal (reports.to_w, 0);
    assert_int_equal (reports.to_v, 1);
    assert_int_equal (reports.broadcast, 1);
    account_destroy (&account);
}

//  No account: every call is a no-op.
static void
test_no_account_is_nothing_to_report (void **state)
{
    (void) state;
    account_sent (NULL, "w", s_id (1));
    account_handled_through (NULL, s_id (1));
    account_refused_ahead (NULL);
    account_reported (NULL, "w", 1);
    assert_int_equal (account_update (NULL, NULL, 0), PROKIT_OK);
    assert_false (account_await (NULL, 1));
    assert_false (account_window_back (NULL, "w", TOPIC, 1));
    assert_int_equal (account_deadline (NULL), 0);
    reports_t reports = { 0, 0, 0, 0 };
    account_settle (NULL, s_report, &reports);
    assert_int_equal (reports.calls, 0);
    account_t *account = NULL;
    account_destroy (&account);
    account_destroy (NULL);
    //  A malformed ACCOUNT is refused.
    account = account_new ();
    const uint8_t bad[] = { 0x81, 0xa7, 'h', 'a', 'n', 'd', 'l', 'e', 'd', 0xff };
    assert_int_equal (account_update (account, bad, sizeof (bad)), PROKIT_EPROTO);
    account_destroy (&account);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_what_the_window_says_it_took_in_is_not_reported),
        cmocka_unit_test (test_a_window_back_with_another_session_has_everything_reported),
        cmocka_unit_test (test_a_session_older_than_main_is_numbered_from_main_s_first),
        cmocka_unit_test (test_an_error_marks_everything_before_it_handled),
        cmocka_unit_test (test_broadcasts_are_received_when_every_window_took_them),
        cmocka_unit_test (test_no_account_is_nothing_to_report),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
