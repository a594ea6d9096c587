/*  test_limits.c: the limits of main and the router. Windows joined at
    once, requests one window has in flight, requests waiting for main's
    answer, and messages per second from one window: each, once exceeded,
    gets the offender PROKIT_ELIMIT, is counted in the stats, and frees
    again as the load goes down; nothing is lost without a report. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <zmq.h>

#include "testutil.h"

//  --- the parties -----------------------------------------------------------------

#define KEPT_MAX 64

//  Main's handler keeps (defers) every request, to answer later.
typedef struct keeper {
    prokit_request_t *kept[KEPT_MAX];
    int count;
} keeper_t;

static prokit_payload_t *
s_keep (prokit_request_t *request, void *arg)
{
    keeper_t *keeper = (keeper_t *) arg;
    if (keeper->count < KEPT_MAX)
        keeper->kept[keeper->count++] = prokit_request_defer (request);
    return NULL;
}

static void
s_answer_all (keeper_t *keeper)
{
    for (int i = 0; i < keeper->count; i++) {
        prokit_payload_t *reply = prokit_payload_new_string ("done");
        assert_int_equal (prokit_request_reply (&keeper->kept[i], &reply), PROKIT_OK);
    }
    keeper->count = 0;
}

//  The outcomes of a window's requests, by status.
typedef struct outcomes {
    int ok, limited, other, total;
} outcomes_t;

static void
s_on_reply (prokit_reply_t *reply, void *arg)
{
    outcomes_t *outcomes = (outcomes_t *) arg;
    int status = prokit_reply_status (reply);
    if (status == PROKIT_OK)
        outcomes->ok++;
    else if (status == PROKIT_ELIMIT)
        outcomes->limited++;
    else
        outcomes->other++;
    outcomes->total++;
}

typedef struct wait_count {
    int *value;
    int at_least;
} wait_count_t;

static bool
s_reached (void *arg)
{
    wait_count_t *wait = (wait_count_t *) arg;
    return *wait->value >= wait->at_least;
}

static prokit_main_t *
s_main (size_t max_windows, size_t max_requests, size_t max_rate, size_t max_at_main,
        char *endpoint, size_t size)
{
    prokit_main_opts_t opts;
    prokit_main_opts_init (&opts);
    opts.max_windows = max_windows;
    opts.max_requests_per_window = max_requests;
    opts.max_messages_per_second = max_rate;
    opts.max_requests_at_main = max_at_main;
    prokit_main_t *main = tu_main_new ("ipc", &opts);
    assert_non_null (main);
    snprintf (endpoint, size, "%s", prokit_main_endpoint (main));
    return main;
}

//  --- tests --------------------------------------------------------------------------

//  max_windows 2: the third window is refused with PROKIT_ELIMIT; once
//  one leaves, a window may join again; main itself does not count.
static void
test_windows_beyond_the_limit_are_refused (void **state)
{
    (void) state;
    char endpoint[256];
    prokit_main_t *main = s_main (2, 0, 0, 0, endpoint, sizeof (endpoint));
    prokit_window_t *a = tu_window_new (endpoint, "a");
    prokit_window_t *b = tu_window_new (endpoint, "b");
    assert_non_null (a);
    assert_non_null (b);
    prokit_window_opts_t opts;
    prokit_window_opts_init (&opts);
    opts.endpoint = endpoint;
    int error = PROKIT_OK;
    assert_null (prokit_window_new ("c", &opts, &error));
    assert_int_equal (error, PROKIT_ELIMIT);
    assert_int_equal (tu_main_stats (main).limited, 1);
    //  A name in use is still "taken", not "limited".
    assert_null (prokit_window_new ("a", &opts, &error));
    assert_int_equal (error, PROKIT_EEXIST);
    prokit_window_destroy (&b);
    prokit_window_t *c = tu_window_new (endpoint, "c");
    assert_non_null (c);
    prokit_window_destroy (&a);
    prokit_window_destroy (&c);
    prokit_main_destroy (&main);
}

//  max_requests_per_window 3: a window's fourth request in flight is
//  refused; once main answers, it may ask again. Every request ends in
//  exactly one outcome.
static void
test_requests_in_flight_beyond_the_limit_are_refused (void **state)
{
    (void) state;
    char endpoint[256];
    prokit_main_t *main = s_main (0, 3, 0, 0, endpoint, sizeof (endpoint));
    keeper_t keeper = { { NULL }, 0 };
    prokit_main_on_request (main, s_keep, &keeper);
    prokit_window_t *window = tu_window_new (endpoint, "asker");
    assert_non_null (window);
    outcomes_t outcomes = { 0, 0, 0, 0 };
    for (int i = 0; i < 5; i++) {
        prokit_payload_t *payload = prokit_payload_new_printf ("%d", i);
        assert_int_equal (
            prokit_window_request (window, NULL, &payload, 5000, s_on_reply, &outcomes), PROKIT_OK);
    }
    tu_handle_t handles[] = { { main, NULL }, { NULL, window } };
    wait_count_t refused = { &outcomes.limited, 2 };
    assert_true (tu_pump (handles, 2, s_reached, &refused, 5000));
    wait_count_t kept = { &keeper.count, 3 };
    assert_true (tu_pump (handles, 2, s_reached, &kept, 5000));
    assert_int_equal (keeper.count, 3);
    assert_int_equal (tu_main_stats (main).limited, 2);
    s_answer_all (&keeper);
    wait_count_t answered = { &outcomes.ok, 3 };
    assert_true (tu_pump (handles, 2, s_reached, &answered, 5000));
    //  Within the limit again: the next request reaches main.
    prokit_payload_t *payload = prokit_payload_new_string ("again");
    assert_int_equal (prokit_window_request (window, NULL, &payload, 5000, s_on_reply, &outcomes),
                      PROKIT_OK);
    wait_count_t again = { &keeper.count, 1 };
    assert_true (tu_pump (handles, 2, s_reached, &again, 5000));
    s_answer_all (&keeper);
    wait_count_t all = { &outcomes.total, 6 };
    assert_true (tu_pump (handles, 2, s_reached, &all, 5000));
    assert_int_equal (outcomes.ok, 4);
    assert_int_equal (outcomes.limited, 2);
    assert_int_equal (outcomes.other, 0);
    prokit_window_destroy (&window);
    prokit_main_destroy (&main);
}

//  max_requests_at_main 2: with two requests deferred by main's handler,
//  the third (from any window) is answered PROKIT_ELIMIT without reaching
//  the handler.
static void
test_requests_waiting_at_main_beyond_the_limit_are_refused (void **state)
{
    (void) state;
    char endpoint[256];
    prokit_main_t *main = s_main (0, 0, 0, 2, endpoint, sizeof (endpoint));
    keeper_t keeper = { { NULL }, 0 };
    prokit_main_on_request (main, s_keep, &keeper);
    prokit_window_t *a = tu_window_new (endpoint, "a");
    prokit_window_t *b = tu_window_new (endpoint, "b");
    assert_non_null (a);
    assert_non_null (b);
    outcomes_t outcomes = { 0, 0, 0, 0 };
    prokit_payload_t *payload = prokit_payload_new_string ("1");
    assert_int_equal (prokit_window_request (a, NULL, &payload, 5000, s_on_reply, &outcomes),
                      PROKIT_OK);
    payload = prokit_payload_new_string ("2");
    assert_int_equal (prokit_window_request (b, NULL, &payload, 5000, s_on_reply, &outcomes),
                      PROKIT_OK);
    tu_handle_t handles[] = { { main, NULL }, { NULL, a }, { NULL, b } };
    wait_count_t kept = { &keeper.count, 2 };
    assert_true (tu_pump (handles, 3, s_reached, &kept, 5000));
    payload = prokit_payload_new_string ("3");
    assert_int_equal (prokit_window_request (a, NULL, &payload, 5000, s_on_reply, &outcomes),
                      PROKIT_OK);
    wait_count_t refused = { &outcomes.limited, 1 };
    assert_true (tu_pump (handles, 3, s_reached, &refused, 5000));
    assert_int_equal (keeper.count, 2);
    s_answer_all (&keeper);
    wait_count_t all = { &outcomes.total, 3 };
    assert_true (tu_pump (handles, 3, s_reached, &all, 5000));
    assert_int_equal (outcomes.ok, 2);
    assert_int_equal (outcomes.limited, 1);
    prokit_window_destroy (&a);
    prokit_window_destroy (&b);
    prokit_main_destroy (&main);
}

//  max_messages_per_second 100: a window that sends 1000 messages at once
//  gets about a second's worth through and the rest refused; every
//  message its send accepted is received or reported (PROKIT_ELIMIT).
typedef struct flood {
    int received;
    int limited;
    int reported;
} flood_t;

static void
s_count_message (const prokit_message_t *message, void *arg)
{
    (void) message;
    ((flood_t *) arg)->received++;
}

static void
s_count_undelivered (const char *target, int code, const char *text, void *arg)
{
    (void) target;
    (void) text;
    flood_t *flood = (flood_t *) arg;
    flood->reported++;
    if (code == PROKIT_ELIMIT)
        flood->limited++;
}

static bool
s_flood_accounted (void *arg)
{
    flood_t *flood = (flood_t *) arg;
    return flood->received + flood->reported >= 1000;
}

static void
test_messages_beyond_the_rate_are_refused_and_reported (void **state)
{
    (void) state;
    char endpoint[256];
    prokit_main_t *main = s_main (0, 0, 100, 0, endpoint, sizeof (endpoint));
    prokit_window_t *sender = tu_window_new (endpoint, "sender");
    prokit_window_t *receiver = tu_window_new (endpoint, "receiver");
    assert_non_null (sender);
    assert_non_null (receiver);
    flood_t flood = { 0, 0, 0 };
    prokit_window_on_window_message (receiver, s_count_message, &flood);
    prokit_window_on_undelivered (sender, s_count_undelivered, &flood);
    int accepted = 0;
    while (accepted < 1000) {
        prokit_payload_t *payload = prokit_payload_new_printf ("%d", accepted);
        assert_int_equal (prokit_window_send (sender, "receiver", &payload), PROKIT_OK);
        accepted++;
    }
    tu_handle_t handles[] = { { main, NULL }, { NULL, sender }, { NULL, receiver } };
    assert_true (tu_pump (handles, 3, s_flood_accounted, &flood, 10000));
    print_message ("1000 sent at once, at most 100 a second: %d received + %d reported (%d of "
                   "them PROKIT_ELIMIT)\n",
                   flood.received, flood.reported, flood.limited);
    assert_int_equal (flood.received + flood.reported, 1000);
    assert_int_equal (flood.limited, flood.reported);
    //  A second's worth (100), and what refilled while the burst was read.
    assert_true (flood.received >= 100);
    assert_true (flood.received < 500);
    assert_int_equal (tu_main_stats (main).limited, (unsigned long long) flood.limited);
    prokit_window_destroy (&sender);
    prokit_window_destroy (&receiver);
    prokit_main_destroy (&main);
}

//  max_pending_per_address 5: 20 connections from this process that never
//  join hold at most 5 places; the router closes the rest at once (and
//  again when libzmq reconnects them). Once they are gone, a window from
//  the same process joins.
static bool
s_limited_at_least (void *arg)
{
    void **pair = (void **) arg;
    return tu_main_stats ((prokit_main_t *) pair[0]).limited >= *(unsigned long long *) pair[1];
}

static void
test_connections_that_never_join_are_bounded_per_address (void **state)
{
    (void) state;
    char endpoint[256];
    prokit_main_opts_t opts;
    prokit_main_opts_init (&opts);
    opts.max_pending_per_address = 5;
    prokit_main_t *main = tu_main_new ("ipc", &opts);
    assert_non_null (main);
    snprintf (endpoint, sizeof (endpoint), "%s", prokit_main_endpoint (main));
    void *context = zmq_ctx_new ();
    void *idle[20];
    for (int i = 0; i < 20; i++) {
        idle[i] = zmq_socket (context, ZMQ_DEALER);
        int linger = 0;
        zmq_setsockopt (idle[i], ZMQ_LINGER, &linger, sizeof (linger));
        assert_int_equal (zmq_connect (idle[i], endpoint), 0);
    }
    tu_handle_t handles[] = { { main, NULL } };
    unsigned long long at_least = 15;
    void *pair[] = { main, &at_least };
    assert_true (tu_pump (handles, 1, s_limited_at_least, pair, 10000));
    for (int i = 0; i < 20; i++)
        zmq_close (idle[i]);
    zmq_ctx_term (context);
    //  Their places free as the router hears they are gone.
    prokit_window_t *window = NULL;
    int64_t deadline = tu_now_ms () + 10000;
    while (!window && tu_now_ms () < deadline) {
        prokit_main_run (main, 50);
        prokit_window_opts_t wopts;
        prokit_window_opts_init (&wopts);
        wopts.endpoint = endpoint;
        wopts.join_timeout_ms = 500;
        window = prokit_window_new ("after", &wopts, NULL);
    }
    assert_non_null (window);
    prokit_window_destroy (&window);
    prokit_main_destroy (&main);
}

//  100 connections each send HELLO and close at once, in one burst (as
//  windows killed right after starting would): none may stay joined, its
//  name held by nobody. Main's count of windows comes back to 0, once the
//  router has taken all 100 HELLOs (before it has, the count is 0 too).
static bool
s_no_windows (void *arg)
{
    prokit_main_t *main = (prokit_main_t *) arg;
    prokit_stats_t stats;
    prokit_main_stats (main, &stats, sizeof (stats));
    return stats.received >= 100 && prokit_main_window_count (main) == 0;
}

static void
test_connections_that_close_after_hello_leave_no_ghost (void **state)
{
    (void) state;
    prokit_main_t *main = tu_main_new ("ipc", NULL);
    assert_non_null (main);
    char endpoint[256];
    snprintf (endpoint, sizeof (endpoint), "%s", prokit_main_endpoint (main));
    void *context = zmq_ctx_new ();
    void *dealers[100];
    for (int i = 0; i < 100; i++) {
        dealers[i] = zmq_socket (context, ZMQ_DEALER);
        int linger = 1000;
        zmq_setsockopt (dealers[i], ZMQ_LINGER, &linger, sizeof (linger));
        assert_int_equal (zmq_connect (dealers[i], endpoint), 0);
        char name[32];
        snprintf (name, sizeof (name), "ghost-%d", i);
        //  HELLO, version 1: "PK", version 1, command 1, id 1; the name; no body.
        unsigned char header[12] = { 'P', 'K', 1, 1, 0, 0, 0, 0, 0, 0, 0, 1 };
        zmq_send (dealers[i], header, sizeof (header), ZMQ_SNDMORE);
        zmq_send (dealers[i], name, strlen (name), ZMQ_SNDMORE);
        zmq_send (dealers[i], "", 0, 0);
    }
    for (int i = 0; i < 100; i++)
        zmq_close (dealers[i]); //  sent (linger), then the connection closes
    zmq_ctx_term (context);
    tu_handle_t handles[] = { { main, NULL } };
    assert_true (tu_pump (handles, 1, s_no_windows, main, 10000));
    prokit_window_t *window = tu_window_new (endpoint, "ghost-0");
    assert_non_null (window);
    prokit_window_destroy (&window);
    prokit_main_destroy (&main);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_windows_beyond_the_limit_are_refused),
        cmocka_unit_test (test_requests_in_flight_beyond_the_limit_are_refused),
        cmocka_unit_test (test_requests_waiting_at_main_beyond_the_limit_are_refused),
        cmocka_unit_test (test_messages_beyond_the_rate_are_refused_and_reported),
        cmocka_unit_test (test_connections_that_never_join_are_bounded_per_address),
        cmocka_unit_test (test_connections_that_close_after_hello_leave_no_ghost),
    };
    return tu_run_tests (tests);
}
