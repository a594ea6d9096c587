/*  test_account.c: what main (src/account.c) and a window (src/tally.c)
    sent through a router that went: what is reported undelivered once the
    windows have said what they took in, message by message; and the
    waiting for it (src/settle.c). */
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
#include "settle.h"
#include "tally.h"

#define TOKEN "0123456789abcdef"
#define OTHER "fedcba9876543210"

//  What account_settle() reported, per target.
typedef struct reports {
    uint64_t to_w;
    uint64_t to_v;
    uint64_t broadcast;
    int calls;
    uint64_t unconfirmed; //  of them, PROKIT_EUNCONFIRMED: nobody could say
} reports_t;

static void
s_report (const char *target, uint64_t count, int code, const char *why, void *arg)
{
    reports_t *reports = (reports_t *) arg;
    assert_true (count > 0);
    assert_non_null (strstr (why, "router went away"));
    assert_true (code == PROKIT_ECLOSED || code == PROKIT_EUNCONFIRMED);
    if (code == PROKIT_EUNCONFIRMED)
        reports->unconfirmed += count;
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
//  with its session (TOKEN NULL: none), and V's when V_PUBLISHED.
static void
s_update (account_t *account, uint64_t handled, uint64_t published, uint64_t settled,
          const char *token, uint64_t session_published)
{
    proto_account_window_t windows[1] = {
        { "w", published, settled, token, session_published },
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
    s_update (account, 10, 10, 4, TOKEN, 10);
    assert_true (account_await (account, 5000));
    assert_int_equal (account_deadline (account), 5000);
    assert_true (account_window_back (account, "w", TOKEN, 12));
    assert_true (account_deadline (account) < 5000); //  due now
    reports_t reports = { 0, 0, 0, 0, 0 };
    account_settle (account, s_report, &reports);
    assert_int_equal (reports.to_w, 8);
    assert_int_equal (reports.unconfirmed, 0); //  it said: PROKIT_ECLOSED
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
    s_update (account, 10, 10, 4, TOKEN, 10);
    assert_true (account_await (account, 5000));
    assert_true (account_window_back (account, "w", OTHER, 12));
    reports_t reports = { 0, 0, 0, 0, 0 };
    account_settle (account, s_report, &reports);
    assert_int_equal (reports.to_w, 16);
    assert_int_equal (reports.unconfirmed, 16); //  nobody could say: PROKIT_EUNCONFIRMED

    //  Never back: the same at the deadline.
    for (uint64_t n = 21; n <= 40; n++)
        account_sent (account, "w", s_id (n));
    s_update (account, 10, 10, 4, TOKEN, 10);
    assert_true (account_await (account, 5000));
    assert_false (account_window_back (account, "v", TOKEN, 12)); //  not one it waits for
    memset (&reports, 0, sizeof (reports));
    account_settle (account, s_report, &reports);
    assert_int_equal (reports.to_w, 16);
    assert_int_equal (reports.unconfirmed, 16);
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
    s_update (account, 5, 5, 1, TOKEN, 105);
    assert_true (account_await (account, 5000));
    assert_true (account_window_back (account, "w", TOKEN, 103));
    reports_t reports = { 0, 0, 0, 0, 0 };
    account_settle (account, s_report, &reports);
    assert_int_equal (reports.to_w, 2);
    account_destroy (&account);
}

//  An ERROR about message 12: it was handled; the ACCOUNT after it says 11
//  was too. 13..19 are what was not, and no window was there; 20 was
//  refused by the next router, ahead of the HELLO.
static void
test_an_error_accounts_for_its_message_alone (void **state)
{
    (void) state;
    account_t *account = account_new ();
    for (uint64_t n = 1; n <= 20; n++)
        account_sent (account, "w", s_id (n));
    s_update (account, 10, 0, 0, NULL, 0);
    account_refused (account, s_id (12));
    s_update (account, 12, 0, 0, NULL, 0); //  says what the ERROR said: nothing forgotten twice
    account_refused (account, s_id (20));  //  refused by the next router, ahead of the HELLO
    assert_false (account_await (account, 5000)); //  no window on the channel to wait for
    reports_t reports = { 0, 0, 0, 0, 0 };
    account_settle (account, s_report, &reports);
    assert_int_equal (reports.to_w, 7);
    account_destroy (&account);
}

//  Main sent W 1..20; an ACCOUNT said 10 handled, all published to its
//  session, 4 confirmed.
static account_t *
s_account_of_twenty (void)
{
    account_t *account = account_new ();
    assert_non_null (account);
    for (uint64_t n = 1; n <= 20; n++)
        account_sent (account, "w", s_id (n));
    s_update (account, 10, 10, 4, TOKEN, 10);
    return account;
}

//  Main sent W 1..20; an ACCOUNT said 10 handled, all published to W's
//  session (4 confirmed). Then the router published 11 and 12 and refused
//  13 (its ERROR, reported on its own), and died before another ACCOUNT.
//  Those before an ERROR were published: W, back, says it took in 12, and
//  11 and 12 are among them; 14..20 are reported, 7.
static void
test_those_before_an_error_were_published (void **state)
{
    (void) state;
    account_t *account = s_account_of_twenty ();
    account_refused (account, s_id (13));
    account_refused (account, s_id (13)); //  twice: nothing more
    account_refused (account, s_id (3));  //  counted by the ACCOUNT: nothing
    assert_true (account_await (account, 5000));
    assert_true (account_window_back (account, "w", TOKEN, 12));
    reports_t reports = { 0, 0, 0, 0, 0 };
    account_settle (account, s_report, &reports);
    assert_int_equal (reports.to_w, 7);
    account_destroy (&account);

    //  The same, but W took in 11 only: 12 and 14..20 are reported. The
    //  next ACCOUNT, had it come, counts 11..13 handled, nothing twice.
    account = s_account_of_twenty ();
    account_refused (account, s_id (13));
    assert_true (account_await (account, 5000));
    assert_true (account_window_back (account, "w", TOKEN, 11));
    memset (&reports, 0, sizeof (reports));
    account_settle (account, s_report, &reports);
    assert_int_equal (reports.to_w, 8);
    account_destroy (&account);
    account = account_new ();
    for (uint64_t n = 1; n <= 20; n++)
        account_sent (account, "w", s_id (n));
    account_refused (account, s_id (13));
    s_update (account, 13, 12, 12, TOKEN, 12);
    assert_true (account_await (account, 5000));
    assert_true (account_window_back (account, "w", TOKEN, 12));
    memset (&reports, 0, sizeof (reports));
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
    s_update (account, 4, 4, 1, TOKEN, 4);
    account_reported (account, "w", 1);
    assert_true (account_await (account, 5000));
    assert_true (account_window_back (account, "w", TOKEN, 6));
    reports_t reports = { 0, 0, 0, 0, 0 };
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
    account_refused (NULL, s_id (1));
    account_reported (NULL, "w", 1);
    assert_int_equal (account_update (NULL, NULL, 0), PROKIT_OK);
    assert_false (account_await (NULL, 1));
    assert_false (account_window_back (NULL, "w", TOKEN, 1));
    assert_int_equal (account_deadline (NULL), 0);
    reports_t reports = { 0, 0, 0, 0, 0 };
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

//  A window's tally: sent 20 to W, 5 confirmed, 2 reported; the last
//  RECEIPT said 18 were queued to W, all to its session. W says (TOOK) it
//  took in 10: 5 more than confirmed; 8 are reported. One sent to V, off
//  the channel (its RECEIPTs name no session).
static tallies_t *
s_tallies (uint64_t session_queued)
{
    tallies_t *tallies = tallies_new ();
    assert_non_null (tallies);
    for (uint64_t id = 1; id <= 20; id++)
        tallies_sent (tallies, "w", id);
    tallies_sent (tallies, "v", 21);
    tallies_confirmed (tallies, "v", 0);
    tallies_confirmed (tallies, "w", 5);
    tallies_session (tallies, "w", 18, TOKEN, session_queued);
    tallies_reported (tallies, "w", 2, 0);
    return tallies;
}

static void
test_a_window_s_tally_subtracts_what_it_says_it_took_in (void **state)
{
    (void) state;
    tallies_t *tallies = s_tallies (18);
    reports_t reports = { 0, 0, 0, 0, 0 };
    //  V's RECEIPTs named no session: reported now, W waits.
    assert_true (tallies_await (tallies, 5000, s_report, &reports));
    assert_int_equal (reports.to_v, 1);
    assert_int_equal (tallies_deadline (tallies), 5000);
    assert_false (tallies_took (tallies, "v", TOKEN, 1, 0, s_report, &reports)); //  not waiting
    assert_true (tallies_took (tallies, "w", TOKEN, 10, 0, s_report, &reports));
    assert_int_equal (reports.to_w, 8);
    assert_int_equal (reports.unconfirmed, 1); //  V's: it cannot say; W said
    assert_int_equal (tallies_deadline (tallies), 0);
    tallies_destroy (&tallies);
    assert_null (tallies);

    //  W's session also held 12 of an earlier session of ours: its 25
    //  are our 13.
    tallies = s_tallies (30);
    memset (&reports, 0, sizeof (reports));
    assert_true (tallies_await (tallies, 5000, s_report, &reports));
    assert_true (tallies_took (tallies, "w", TOKEN, 25, 0, s_report, &reports));
    assert_int_equal (reports.to_w, 5);
    tallies_destroy (&tallies);
}

static void
test_a_window_s_tally_reports_everything_when_the_window_cannot_say (void **state)
{
    (void) state;
    //  Back with another session.
    tallies_t *tallies = s_tallies (18);
    reports_t reports = { 0, 0, 0, 0, 0 };
    assert_true (tallies_await (tallies, 5000, s_report, &reports));
    assert_true (tallies_took (tallies, "w", OTHER, 10, 1, s_report, &reports));
    assert_int_equal (reports.to_w, 13);
    tallies_destroy (&tallies);
    //  Never back: settled at the deadline.
    tallies = s_tallies (18);
    memset (&reports, 0, sizeof (reports));
    assert_true (tallies_await (tallies, 5000, s_report, &reports));
    tallies_settle (tallies, s_report, &reports);
    assert_int_equal (reports.to_w, 13);
    assert_int_equal (reports.to_v, 1);
    assert_int_equal (reports.unconfirmed, 14);
    assert_int_equal (tallies_deadline (tallies), 0);
    tallies_destroy (&tallies);
    //  Nothing named, but RECEIPTs came: nothing waits.
    tallies = tallies_new ();
    tallies_sent (tallies, "v", 1);
    tallies_confirmed (tallies, "v", 0);
    memset (&reports, 0, sizeof (reports));
    assert_false (tallies_await (tallies, 5000, s_report, &reports));
    assert_int_equal (reports.to_v, 1);
    tallies_destroy (&tallies);
    //  No tallies: every call is a no-op.
    tallies_sent (NULL, "w", 1);
    tallies_confirmed (NULL, "w", 1);
    tallies_session (NULL, "w", 1, TOKEN, 1);
    tallies_reported (NULL, "w", 1, 1);
    assert_false (tallies_await (NULL, 1, s_report, &reports));
    assert_true (tallies_took (NULL, "w", TOKEN, 1, 1, s_report, &reports));
    assert_true (tallies_back (NULL, "w", s_report, &reports));
    tallies_settle (NULL, s_report, &reports);
    tallies_destroy (NULL);
}

//  The router went before any RECEIPT about W reached us: 20 sent to W
//  (ids 101 to 120), nothing confirmed. W's word is taken if the first it
//  took in of ours is our first to it.
static tallies_t *
s_unheard (void)
{
    tallies_t *tallies = tallies_new ();
    assert_non_null (tallies);
    for (uint64_t id = 101; id <= 120; id++)
        tallies_sent (tallies, "w", id);
    return tallies;
}

//  What S_UNHEARD reports to W once W says (TOOK) it took in 7 of ours,
//  the first of them FIRST; with REFUSED, an ERROR was about our first.
static uint64_t
s_unheard_took (uint64_t first, bool refused)
{
    reports_t reports = { 0, 0, 0, 0, 0 };
    tallies_t *tallies = s_unheard ();
    if (refused)
        tallies_reported (tallies, "w", 1, 101);
    assert_true (tallies_await (tallies, 5000, s_report, &reports));
    assert_int_equal (reports.to_w, 0); //  it waits for W
    assert_true (tallies_took (tallies, "w", TOKEN, 7, first, s_report, &reports));
    tallies_destroy (&tallies);
    return reports.to_w;
}

static void
test_a_window_s_tally_takes_the_word_of_a_window_that_took_our_first (void **state)
{
    (void) state;
    //  W took in ours from our first: 7 of 20 taken, 13 reported.
    assert_int_equal (s_unheard_took (101, false), 13);
    //  W's first of ours was another: which of ours it took is not known.
    assert_int_equal (s_unheard_took (102, false), 20);
    //  Our first was refused: W cannot have taken it; its word is about
    //  another process's SENDs under our name. All 19 not reported are.
    assert_int_equal (s_unheard_took (101, true), 19);

    reports_t reports = { 0, 0, 0, 0, 0 };
    tallies_t *tallies = s_unheard ();
    //  W joined the router we are in and said nothing of ours: it took
    //  none we can learn of.
    assert_true (tallies_await (tallies, 5000, s_report, &reports));
    assert_false (tallies_back (tallies, "v", s_report, &reports)); //  not waited for
    assert_true (tallies_back (tallies, "w", s_report, &reports));
    assert_int_equal (reports.to_w, 20);
    assert_int_equal (tallies_deadline (tallies), 0);
    tallies_destroy (&tallies);

    //  A RECEIPT came that named no session (W off the channel, or a
    //  pool): W cannot say, reported at once.
    tallies = s_unheard ();
    memset (&reports, 0, sizeof (reports));
    tallies_confirmed (tallies, "w", 0);
    assert_false (tallies_await (tallies, 5000, s_report, &reports));
    assert_int_equal (reports.to_w, 20);
    tallies_destroy (&tallies);
}

//  Settling: main's accounts of two routers that went, one after the
//  other, and a window's tallies, each waiting on its own deadline; what
//  the windows say reaches each, and what is due is reported once.

static void
test_settling_waits_for_the_windows_then_reports_once (void **state)
{
    (void) state;
    reports_t reports = { 0, 0, 0, 0, 0 };
    settle_t *settle = settle_new (s_report, &reports);
    assert_non_null (settle);
    assert_int_equal (settle_deadline (settle), 0);
    assert_false (settle_accounts_waiting (settle));

    //  Two accounts wait (deadlines 5000 and 7000), and tallies (6000).
    settle_account (settle, s_account_of_twenty (), 5000);
    settle_account (settle, s_account_of_twenty (), 7000);
    assert_true (settle_accounts_waiting (settle));
    settle_tallies (settle, s_tallies (18), 6000);
    assert_int_equal (reports.to_v, 1); //  V cannot say: at once
    assert_int_equal (settle_deadline (settle), 5000);
    assert_false (settle_due (settle, 4999));

    //  W back: both accounts settle with what it says (8 each).
    settle_window_back (settle, "w", TOKEN, 12);
    assert_int_equal (reports.to_w, 16);
    assert_false (settle_accounts_waiting (settle));
    assert_int_equal (settle_deadline (settle), 6000);

    //  Its TOOK settles the tallies (8 more); nothing waits.
    settle_took (settle, "w", TOKEN, 10, 0);
    assert_int_equal (reports.to_w, 24);
    assert_int_equal (settle_deadline (settle), 0);
    assert_false (settle_due (settle, 100000));
    settle_took (settle, "w", TOKEN, 10, 0); //  once only
    assert_int_equal (reports.to_w, 24);

    //  New tallies end the wait of older ones: those windows cannot say.
    settle_tallies (settle, s_unheard (), 8000);
    settle_tallies (settle, s_unheard (), 9000);
    assert_int_equal (reports.to_w, 44);
    //  A RECEIPT about W from the router we are in settles the rest.
    settle_receipt (settle, "w");
    assert_int_equal (reports.to_w, 64);
    assert_int_equal (settle_deadline (settle), 0);

    //  Nobody back: settled at the deadline, by settle_due().
    settle_account (settle, s_account_of_twenty (), 5000);
    assert_true (settle_due (settle, 5000));
    assert_int_equal (reports.to_w, 64 + 16);
    settle_destroy (&settle);
    assert_null (settle);

    //  What still waits when settling ends is dropped; no settling is a
    //  no-op that frees what it is given.
    settle = settle_new (s_report, &reports);
    settle_account (settle, s_account_of_twenty (), 5000);
    settle_tallies (settle, s_unheard (), 5000);
    settle_destroy (&settle);
    settle_account (NULL, s_account_of_twenty (), 5000);
    settle_tallies (NULL, s_unheard (), 5000);
    settle_window_back (NULL, "w", TOKEN, 1);
    settle_took (NULL, "w", TOKEN, 1, 1);
    settle_receipt (NULL, "w");
    assert_false (settle_due (NULL, 1));
    assert_int_equal (settle_deadline (NULL), 0);
    settle_destroy (NULL);
    assert_int_equal (reports.to_w, 64 + 16);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_what_the_window_says_it_took_in_is_not_reported),
        cmocka_unit_test (test_a_window_back_with_another_session_has_everything_reported),
        cmocka_unit_test (test_a_session_older_than_main_is_numbered_from_main_s_first),
        cmocka_unit_test (test_an_error_accounts_for_its_message_alone),
        cmocka_unit_test (test_those_before_an_error_were_published),
        cmocka_unit_test (test_broadcasts_are_received_when_every_window_took_them),
        cmocka_unit_test (test_no_account_is_nothing_to_report),
        cmocka_unit_test (test_a_window_s_tally_subtracts_what_it_says_it_took_in),
        cmocka_unit_test (test_a_window_s_tally_reports_everything_when_the_window_cannot_say),
        cmocka_unit_test (test_a_window_s_tally_takes_the_word_of_a_window_that_took_our_first),
        cmocka_unit_test (test_settling_waits_for_the_windows_then_reports_once),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
