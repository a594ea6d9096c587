/*  test_progress_cancel.c: progress updates before a reply, and
    cancellation, between a window in this process and a worker window in
    another (prokit-test-peer), and with main's own handler: updates arrive
    in order before the outcome; a cancelled request ends at once with
    PROKIT_ECANCELED, its handler learns it, and its late answer is
    dropped by the router and counted, never delivered. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "testutil.h"

typedef struct call {
    int calls;
    int status;
    char text[128];
    char progress[16][16]; //  the updates, in the order they came
    int progress_count;
    bool progress_after_outcome;
} call_t;

static void
s_on_outcome (prokit_reply_t *reply, void *arg)
{
    call_t *call = (call_t *) arg;
    call->calls++;
    call->status = prokit_reply_status (reply);
    const char *text =
        call->status == PROKIT_OK ? prokit_reply_str (reply) : prokit_reply_error (reply);
    snprintf (call->text, sizeof (call->text), "%s", text ? text : "?");
}

static void
s_on_progress (const prokit_payload_t *progress, void *arg)
{
    call_t *call = (call_t *) arg;
    if (call->calls > 0)
        call->progress_after_outcome = true;
    const char *text = prokit_payload_str (progress);
    if (call->progress_count < 16)
        snprintf (call->progress[call->progress_count++], 16, "%s", text ? text : "?");
}

static bool
s_called (void *arg)
{
    return ((call_t *) arg)->calls > 0;
}

//  What main hears: reports on its default channel, and its own "hold"
//  channel's requests, kept.
typedef struct main_side {
    int cancelled_reports;
    char last[128];
    prokit_request_t *held;
} main_side_t;

static prokit_payload_t *
s_main_default (prokit_request_t *request, void *arg)
{
    main_side_t *side = (main_side_t *) arg;
    const char *text = prokit_payload_str (prokit_request_payload (request));
    if (text && strncmp (text, "cancelled|", 10) == 0) {
        side->cancelled_reports++;
        snprintf (side->last, sizeof (side->last), "%s", text);
    }
    return prokit_payload_new_string ("noted");
}

static prokit_payload_t *
s_main_hold (prokit_request_t *request, void *arg)
{
    ((main_side_t *) arg)->held = prokit_request_defer (request);
    return NULL;
}

static bool
s_main_holds (void *arg)
{
    return ((main_side_t *) arg)->held != NULL;
}

static bool
s_main_held_is_cancelled (void *arg)
{
    main_side_t *side = (main_side_t *) arg;
    return side->held && prokit_request_is_cancelled (side->held);
}

static bool
s_worker_reported_cancel (void *arg)
{
    return ((main_side_t *) arg)->cancelled_reports > 0;
}

typedef struct late_wait {
    prokit_main_t *main;
    unsigned long long late;
} late_wait_t;

static bool
s_late_reached (void *arg)
{
    late_wait_t *wait = (late_wait_t *) arg;
    prokit_stats_t stats;
    return prokit_main_stats (wait->main, &stats, sizeof (stats)) == PROKIT_OK &&
           stats.late >= wait->late;
}

static void
test_progress_then_reply_and_cancellation_across_processes (void **state)
{
    (void) state;
    prokit_main_t *main_handle = tu_main_new ("ipc", NULL);
    assert_non_null (main_handle);
    main_side_t side;
    memset (&side, 0, sizeof (side));
    prokit_main_on_request (main_handle, s_main_default, &side);
    prokit_main_handle (main_handle, "hold", s_main_hold, &side);
    const char *endpoint = prokit_main_endpoint (main_handle);
    tu_child_t worker;
    assert_true (tu_peer_window (&worker, "worker", endpoint));
    char line[64];
    prokit_window_t *client = tu_window_new (endpoint, "client");
    assert_non_null (client);
    tu_handle_t handles[] = { { main_handle, NULL }, { NULL, client } };

    //  Progress: "1" to "5" in order, then the reply.
    prokit_request_opts_t opts;
    prokit_request_opts_init (&opts);
    opts.channel = "steps";
    opts.progress = s_on_progress;
    call_t call;
    memset (&call, 0, sizeof (call));
    opts.progress_arg = &call;
    prokit_payload_t *payload = prokit_payload_new_string ("5");
    uint64_t id = 0;
    assert_int_equal (
        prokit_window_request_with (client, "worker", &payload, &opts, s_on_outcome, &call, &id),
        PROKIT_OK);
    assert_true (id != 0);
    assert_true (tu_pump (handles, 2, s_called, &call, 10000));
    assert_int_equal (call.status, PROKIT_OK);
    assert_string_equal (call.text, "done:5");
    assert_int_equal (call.progress_count, 5);
    for (int i = 0; i < 5; i++) {
        char expected[4];
        snprintf (expected, sizeof (expected), "%d", i + 1);
        assert_string_equal (call.progress[i], expected);
    }
    assert_false (call.progress_after_outcome);
    //  Done: nothing left to cancel.
    assert_int_equal (prokit_window_cancel (client, id), PROKIT_ENOTFOUND);
    assert_int_equal (prokit_window_cancel (client, 987654), PROKIT_ENOTFOUND);
    //  A blocking request ignores progress: only the outcome.
    payload = prokit_payload_new_string ("3");
    prokit_reply_t *reply = NULL;
    pthread_t main_thread;
    pthread_create (&main_thread, NULL, tu_run_main, main_handle);
    assert_int_equal (
        prokit_window_request_wait_on (client, "worker", "steps", &payload, 10000, &reply),
        PROKIT_OK);
    assert_string_equal (prokit_reply_str (reply), "done:3");
    prokit_reply_destroy (&reply);
    prokit_main_stop (main_handle);
    pthread_join (main_thread, NULL);

    //  Cancellation, of a request a worker process holds.
    memset (&call, 0, sizeof (call));
    opts.channel = "hold";
    payload = prokit_payload_new_string ("long job");
    assert_int_equal (
        prokit_window_request_with (client, "worker", &payload, &opts, s_on_outcome, &call, &id),
        PROKIT_OK);
    bool held = false;
    for (int64_t until = tu_now_ms () + 10000; !held && tu_now_ms () < until;) {
        prokit_window_dispatch (client);
        prokit_main_dispatch (main_handle);
        held = tu_read_line (&worker, line, sizeof (line), 20) && strcmp (line, "HELD") == 0;
    }
    assert_true (held);
    assert_int_equal (prokit_window_cancel (client, id), PROKIT_OK);
    //  The outcome, at once, once.
    assert_int_equal (call.calls, 1);
    assert_int_equal (call.status, PROKIT_ECANCELED);
    assert_int_equal (prokit_window_cancel (client, id), PROKIT_ENOTFOUND);
    //  The worker learns it (and says so), then answers: the router drops
    //  that answer and counts it.
    assert_true (tu_pump (handles, 2, s_worker_reported_cancel, &side, 10000));
    assert_string_equal (side.last, "cancelled|client");
    late_wait_t late = { main_handle, 1 };
    assert_true (tu_pump (handles, 2, s_late_reached, &late, 10000));
    prokit_stats_t stats;
    assert_int_equal (prokit_main_stats (main_handle, &stats, sizeof (stats)), PROKIT_OK);
    assert_int_equal (stats.cancelled, 1);

    //  Cancellation of a request main's own handler keeps.
    call_t main_call;
    memset (&main_call, 0, sizeof (main_call));
    payload = prokit_payload_new_string ("main job");
    assert_int_equal (prokit_window_request_with (client, PROKIT_MAIN, &payload, &opts,
                                                  s_on_outcome, &main_call, &id),
                      PROKIT_OK);
    assert_true (tu_pump (handles, 2, s_main_holds, &side, 10000));
    assert_false (prokit_request_is_cancelled (side.held));
    assert_int_equal (prokit_window_cancel (client, id), PROKIT_OK);
    assert_int_equal (main_call.status, PROKIT_ECANCELED);
    assert_true (tu_pump (handles, 2, s_main_held_is_cancelled, &side, 10000));
    //  Progress on a cancelled request: refused, the payload still ours.
    prokit_payload_t *update = prokit_payload_new_string ("50%");
    assert_int_equal (prokit_request_progress (side.held, &update), PROKIT_ECANCELED);
    assert_non_null (update);
    prokit_payload_destroy (&update);
    prokit_payload_t *answer = prokit_payload_new_string ("too late");
    assert_int_equal (prokit_request_reply (&side.held, &answer), PROKIT_OK);
    late.late = 2;
    assert_true (tu_pump (handles, 2, s_late_reached, &late, 10000));
    assert_int_equal (prokit_main_stats (main_handle, &stats, sizeof (stats)), PROKIT_OK);
    assert_int_equal (stats.cancelled, 2);
    //  Neither request had a second outcome.
    assert_int_equal (call.calls, 1);
    assert_int_equal (main_call.calls, 1);

    prokit_window_destroy (&client);
    kill (worker.pid, SIGTERM);
    int status = tu_reap (&worker, 10000);
    assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
    prokit_main_destroy (&main_handle);
}

static int s_main_counted;

typedef struct received_wait {
    prokit_main_t *main;
    unsigned long long received;
} received_wait_t;

//  The monotonic time *ARG (tu_now_ms()) has passed.
static bool
s_past (void *arg)
{
    return tu_now_ms () > *(int64_t *) arg;
}

//  The router has read at least so many messages.
static bool
s_received_reached (void *arg)
{
    received_wait_t *wait = (received_wait_t *) arg;
    prokit_stats_t stats;
    return prokit_main_stats (wait->main, &stats, sizeof (stats)) == PROKIT_OK &&
           stats.received >= wait->received;
}

static prokit_payload_t *
s_main_timeleft (prokit_request_t *request, void *arg)
{
    (void) arg;
    return prokit_payload_new_printf ("%lld", prokit_request_time_left (request));
}

static prokit_payload_t *
s_main_count (prokit_request_t *request, void *arg)
{
    (void) request;
    (void) arg;
    return prokit_payload_new_printf ("count:%d", ++s_main_counted);
}

//  Ask TARGET on CHANNEL with TIMEOUT_MS, pumping HANDLES (COUNT of them)
//  until the outcome.
static void
s_ask (tu_handle_t *handles, size_t count, prokit_window_t *client, const char *target,
       const char *channel, int timeout_ms, call_t *call)
{
    memset (call, 0, sizeof (*call));
    prokit_request_opts_t opts;
    prokit_request_opts_init (&opts);
    opts.channel = channel;
    opts.timeout_ms = timeout_ms;
    prokit_payload_t *payload = prokit_payload_new_string ("x");
    assert_int_equal (
        prokit_window_request_with (client, target, &payload, &opts, s_on_outcome, call, NULL),
        PROKIT_OK);
    assert_true (tu_pump (handles, count, s_called, call, 15000));
    assert_int_equal (call->calls, 1);
}

//  A request's deadline travels with it: its handler (in a worker process)
//  reads the time left, and a request whose deadline passes while it waits
//  (in a frozen worker's queue, in main's inbox) is never handed to the
//  handler.
static void
test_deadlines_travel_and_expired_requests_are_never_handled (void **state)
{
    (void) state;
    prokit_main_t *main_handle = tu_main_new ("ipc", NULL);
    assert_non_null (main_handle);
    s_main_counted = 0;
    prokit_main_handle (main_handle, "count", s_main_count, NULL);
    prokit_main_handle (main_handle, "timeleft", s_main_timeleft, NULL);
    const char *endpoint = prokit_main_endpoint (main_handle);
    tu_child_t worker;
    assert_true (tu_peer_window (&worker, "worker", endpoint));
    prokit_window_t *client = tu_window_new (endpoint, "client");
    assert_non_null (client);
    tu_handle_t both[] = { { main_handle, NULL }, { NULL, client } };
    tu_handle_t client_only[] = { { NULL, client } };

    //  The time left, as the handler sees it: at most the timeout in main
    //  (one clock); in another process, within the error of the clocks'
    //  difference (measured at its join: at most that WELCOME's delay).
    call_t call;
    s_ask (both, 2, client, PROKIT_MAIN, "timeleft", 5000, &call);
    assert_int_equal (call.status, PROKIT_OK);
    long long left = atoll (call.text);
    assert_true (left > 0 && left <= 5000);
    s_ask (both, 2, client, "worker", "timeleft", 5000, &call);
    assert_int_equal (call.status, PROKIT_OK);
    left = atoll (call.text);
    assert_true (left > 0 && left < 10000);
    //  The same with the window's own timeout (30 s): its HELLO made that
    //  the default, which its requests leave out and the router applies.
    s_ask (both, 2, client, PROKIT_MAIN, "timeleft", 0, &call);
    assert_int_equal (call.status, PROKIT_OK);
    left = atoll (call.text);
    assert_true (left > 25000 && left <= 30000);
    s_ask (both, 2, client, "worker", "timeleft", 0, &call);
    assert_int_equal (call.status, PROKIT_OK);
    left = atoll (call.text);
    assert_true (left > 25000 && left < 35000);

    //  A worker that cannot get to it in time (frozen, its queue unread):
    //  the requester times out; thawed, the worker never handles it (the
    //  deadline came on the router's clock, not from when it was read).
    kill (worker.pid, SIGSTOP);
    s_ask (both, 2, client, "worker", "count", 300, &call);
    assert_int_equal (call.status, PROKIT_ETIMEDOUT);
    //  Frozen a second longer: more than the error of its clock difference.
    int64_t thaw_at = tu_now_ms () + 1000;
    assert_true (tu_pump (both, 2, s_past, &thaw_at, 5000));
    kill (worker.pid, SIGCONT);
    s_ask (both, 2, client, "worker", "count", 10000, &call);
    assert_int_equal (call.status, PROKIT_OK);
    assert_string_equal (call.text, "count:1");

    //  A request that waits in main's inbox past its deadline (main does
    //  not dispatch until it has timed out at its requester) is never
    //  handed to main's handler.
    //  Its clock starts when the router reads it (the router's count of
    //  messages read goes up then): main dispatches only once the requester
    //  has timed out and the time left has run out from that moment too.
    prokit_stats_t before;
    assert_int_equal (prokit_main_stats (main_handle, &before, sizeof (before)), PROKIT_OK);
    memset (&call, 0, sizeof (call));
    prokit_request_opts_t opts;
    prokit_request_opts_init (&opts);
    opts.channel = "count";
    opts.timeout_ms = 300;
    prokit_payload_t *payload = prokit_payload_new_string ("x");
    assert_int_equal (prokit_window_request_with (client, PROKIT_MAIN, &payload, &opts,
                                                  s_on_outcome, &call, NULL),
                      PROKIT_OK);
    received_wait_t read = { main_handle, before.received + 1 };
    assert_true (tu_pump (client_only, 1, s_received_reached, &read, 10000));
    int64_t expired_at = tu_now_ms () + opts.timeout_ms;
    assert_true (tu_pump (client_only, 1, s_called, &call, 10000));
    assert_int_equal (call.status, PROKIT_ETIMEDOUT);
    assert_true (tu_pump (client_only, 1, s_past, &expired_at, 10000));
    s_ask (both, 2, client, PROKIT_MAIN, "count", 10000, &call);
    assert_int_equal (call.status, PROKIT_OK);
    assert_string_equal (call.text, "count:1");
    assert_int_equal (s_main_counted, 1);

    prokit_window_destroy (&client);
    kill (worker.pid, SIGTERM);
    int status = tu_reap (&worker, 10000);
    assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
    prokit_main_destroy (&main_handle);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_progress_then_reply_and_cancellation_across_processes),
        cmocka_unit_test (test_deadlines_travel_and_expired_requests_are_never_handled),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
