/*  test_pools.c: worker pools. Three windows serve "work", each a real
    process (prokit-test-peer with PROKIT_WINDOW_SERVICE=work); requests to
    "work" go to the least loaded, then in turn; a worker killed in the
    middle of a request fails that request only, and the next go to the
    survivors; a message to "work" reaches one worker; pools and windows
    never share a name. With main embedded and through a broker. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "testutil.h"

#define WORKERS 3

typedef struct outcome {
    int calls;
    int status;
    char text[128];  //  the reply's string, or the error's text
    char target[64]; //  prokit_reply_target()
} outcome_t;

static void
s_on_outcome (prokit_reply_t *reply, void *arg)
{
    outcome_t *outcome = (outcome_t *) arg;
    outcome->calls++;
    outcome->status = prokit_reply_status (reply);
    const char *text =
        outcome->status == PROKIT_OK ? prokit_reply_str (reply) : prokit_reply_error (reply);
    snprintf (outcome->text, sizeof (outcome->text), "%s", text ? text : "?");
    snprintf (outcome->target, sizeof (outcome->target), "%s", prokit_reply_target (reply));
}

static bool
s_has_outcome (void *arg)
{
    return ((outcome_t *) arg)->calls > 0;
}

//  Reports the workers send main ("got|...") for the messages they get.
typedef struct reports {
    int count;
    char last[128];
    int joined_with_service;
    int joined;
    int left;
} reports_t;

static prokit_payload_t *
s_collect (prokit_request_t *request, void *arg)
{
    reports_t *reports = (reports_t *) arg;
    const char *text = prokit_payload_str (prokit_request_payload (request));
    if (text && strncmp (text, "got|", 4) == 0) {
        reports->count++;
        snprintf (reports->last, sizeof (reports->last), "%s:%s", prokit_request_sender (request),
                  text);
    }
    return prokit_payload_new_string ("noted");
}

static void
s_on_presence (const prokit_presence_t *event, void *arg)
{
    reports_t *reports = (reports_t *) arg;
    if (event->kind == PROKIT_PRESENCE_JOINED && strcmp (event->service, "work") == 0)
        reports->joined_with_service++;
    if (event->kind == PROKIT_PRESENCE_JOINED)
        reports->joined++;
    if (event->kind == PROKIT_PRESENCE_LEFT)
        reports->left++;
}

typedef struct count_wait {
    int *counter;
    int at_least;
} count_wait_t;

static bool
s_count_reached (void *arg)
{
    count_wait_t *wait = (count_wait_t *) arg;
    return *wait->counter >= wait->at_least;
}

static void
s_spawn_worker (tu_child_t *child, const char *name, const char *endpoint)
{
    setenv ("PROKIT_WINDOW_SERVICE", "work", 1);
    bool ready = tu_peer_window (child, name, endpoint);
    unsetenv ("PROKIT_WINDOW_SERVICE");
    assert_true (ready);
}

//  Ask "work" on CHANNEL for TEXT from CLIENT and wait for the outcome.
static void
s_ask (tu_handle_t *handles, prokit_window_t *client, const char *channel, const char *text,
       outcome_t *outcome)
{
    memset (outcome, 0, sizeof (*outcome));
    prokit_payload_t *payload = prokit_payload_new_string (text);
    assert_int_equal (
        prokit_window_request_on (client, "work", channel, &payload, 10000, s_on_outcome, outcome),
        PROKIT_OK);
    assert_true (tu_pump (handles, 2, s_has_outcome, outcome, 15000));
    assert_int_equal (outcome->calls, 1);
}

static int
s_worker_index (const char *name)
{
    for (int i = 0; i < WORKERS; i++) {
        char expected[16];
        snprintf (expected, sizeof (expected), "work-%d", i + 1);
        if (strcmp (name, expected) == 0)
            return i;
    }
    fail_msg ("'%s' is no worker", name);
    return -1;
}

static void
s_pool (bool through_broker)
{
    char endpoint[256];
    tu_endpoint ("ipc", endpoint, sizeof (endpoint));
    tu_child_t broker;
    prokit_main_t *main_handle = tu_main_at (endpoint, through_broker, &broker);
    assert_non_null (main_handle);
    reports_t reports;
    memset (&reports, 0, sizeof (reports));
    prokit_main_on_request (main_handle, s_collect, &reports);
    prokit_main_on_presence (main_handle, s_on_presence, &reports);
    tu_child_t workers[WORKERS];
    for (int i = 0; i < WORKERS; i++) {
        char name[16];
        snprintf (name, sizeof (name), "work-%d", i + 1);
        s_spawn_worker (&workers[i], name, endpoint);
    }
    prokit_window_t *client = tu_window_new (endpoint, "client");
    assert_non_null (client);
    tu_handle_t handles[] = { { main_handle, NULL }, { NULL, client } };
    count_wait_t all_joined = { &reports.joined, WORKERS + 1 };
    assert_true (tu_pump (handles, 2, s_count_reached, &all_joined, 10000));
    assert_int_equal (reports.joined_with_service, WORKERS);
    //  The registry says whom each serves.
    prokit_window_info_t info;
    assert_int_equal (prokit_main_get_window (main_handle, "work-2", &info, sizeof (info)),
                      PROKIT_OK);
    assert_string_equal (info.service, "work");
    assert_int_equal (prokit_main_get_window (main_handle, "client", &info, sizeof (info)),
                      PROKIT_OK);
    assert_string_equal (info.service, "");
    //  So does the list a window gets.
    prokit_window_info_t listed[WORKERS + 1];
    size_t listed_count = 0;
    assert_int_equal (prokit_window_list_windows (client, listed, WORKERS + 1, sizeof (listed[0]),
                                                  &listed_count, 5000),
                      PROKIT_OK);
    assert_int_equal (listed_count, WORKERS + 1);
    for (size_t i = 0; i < listed_count; i++)
        assert_string_equal (listed[i].service, strcmp (listed[i].name, "client") ? "work" : "");

    //  Idle workers take turns: three requests in a row, three workers.
    outcome_t outcome;
    bool seen[WORKERS] = { false };
    for (int i = 0; i < WORKERS; i++) {
        s_ask (handles, client, "whoami", "", &outcome);
        assert_int_equal (outcome.status, PROKIT_OK);
        assert_string_equal (outcome.target, "work");
        int index = s_worker_index (outcome.text);
        assert_false (seen[index]);
        seen[index] = true;
    }
    //  The least loaded first: two requests kept unanswered (deferred) by
    //  two workers; the next request goes to the third.
    outcome_t kept[2];
    memset (kept, 0, sizeof (kept));
    int holders[2];
    for (int k = 0; k < 2; k++) {
        prokit_payload_t *payload = prokit_payload_new_string ("defer");
        assert_int_equal (
            prokit_window_request (client, "work", &payload, 20000, s_on_outcome, &kept[k]),
            PROKIT_OK);
        //  Whoever took it says so on its output.
        holders[k] = -1;
        int64_t until = tu_now_ms () + 10000;
        while (holders[k] < 0 && tu_now_ms () < until) {
            prokit_window_dispatch (client);
            prokit_main_dispatch (main_handle);
            for (int i = 0; i < WORKERS && holders[k] < 0; i++) {
                char line[64];
                if (tu_read_line (&workers[i], line, sizeof (line), 10) &&
                    strcmp (line, "DEFERRED") == 0)
                    holders[k] = i;
            }
        }
        assert_true (holders[k] >= 0);
    }
    assert_int_not_equal (holders[0], holders[1]);
    int idle = 3 - holders[0] - holders[1];
    s_ask (handles, client, "whoami", "", &outcome);
    assert_int_equal (s_worker_index (outcome.text), idle);

    //  A worker killed in the middle of a request: that request ends
    //  PROKIT_ECLOSED (no resend), the other worker's is still kept.
    kill (workers[holders[0]].pid, SIGKILL);
    assert_true (tu_pump (handles, 2, s_has_outcome, &kept[0], 15000));
    assert_int_equal (kept[0].status, PROKIT_ECLOSED);
    assert_string_equal (kept[0].target, "work");
    count_wait_t one_left = { &reports.left, 1 };
    assert_true (tu_pump (handles, 2, s_count_reached, &one_left, 15000));
    assert_int_equal (kept[1].calls, 0);
    //  Then nothing goes to it: every answer comes from the survivors.
    for (int i = 0; i < 4; i++) {
        s_ask (handles, client, "whoami", "", &outcome);
        assert_int_equal (outcome.status, PROKIT_OK);
        assert_int_not_equal (s_worker_index (outcome.text), holders[0]);
    }

    //  A message to the pool reaches one worker.
    prokit_payload_t *payload = prokit_payload_new_string ("to one");
    assert_int_equal (prokit_main_send (main_handle, "work", &payload), PROKIT_OK);
    count_wait_t one_report = { &reports.count, 1 };
    assert_true (tu_pump (handles, 2, s_count_reached, &one_report, 10000));
    assert_non_null (strstr (reports.last, ":got|@main|to one|0"));
    //  ... and to no other: each survivor, asked by name, reports next.
    for (int i = 0; i < WORKERS; i++) {
        if (i == holders[0])
            continue;
        char name[16];
        snprintf (name, sizeof (name), "work-%d", i + 1);
        payload = prokit_payload_new_string ("by name");
        assert_int_equal (prokit_main_send (main_handle, name, &payload), PROKIT_OK);
    }
    count_wait_t three_reports = { &reports.count, 3 };
    assert_true (tu_pump (handles, 2, s_count_reached, &three_reports, 10000));
    assert_false (tu_pump (handles, 2, s_count_reached, &(count_wait_t){ &reports.count, 4 }, 300));
    //  And a window's message to the pool, with the undelivered count
    //  kept under the pool's name: nothing reported.
    payload = prokit_payload_new_string ("from client");
    assert_int_equal (prokit_window_send (client, "work", &payload), PROKIT_OK);
    count_wait_t four_reports = { &reports.count, 4 };
    assert_true (tu_pump (handles, 2, s_count_reached, &four_reports, 10000));
    assert_non_null (strstr (reports.last, ":got|client|from client|0"));

    //  Names: no window may take the pool's, no pool a window's.
    prokit_window_opts_t wopts;
    prokit_window_opts_init (&wopts);
    wopts.endpoint = endpoint;
    int error = PROKIT_OK;
    assert_null (prokit_window_new ("work", &wopts, &error));
    assert_int_equal (error, PROKIT_EEXIST);
    wopts.service = "client";
    assert_null (prokit_window_new ("other", &wopts, &error));
    assert_int_equal (error, PROKIT_EEXIST);
    wopts.service = "bad name";
    assert_null (prokit_window_new ("other", &wopts, &error));
    assert_int_equal (error, PROKIT_EINVAL);

    //  The deferred request still held ends when its worker goes.
    for (int i = 0; i < WORKERS; i++)
        if (i != holders[0])
            kill (workers[i].pid, SIGTERM);
    assert_true (tu_pump (handles, 2, s_has_outcome, &kept[1], 15000));
    assert_int_equal (kept[1].status, PROKIT_ECLOSED);
    for (int i = 0; i < WORKERS; i++)
        tu_reap (&workers[i], 10000);
    //  No member left: the pool is gone.
    count_wait_t all_left = { &reports.left, WORKERS };
    assert_true (tu_pump (handles, 2, s_count_reached, &all_left, 15000));
    s_ask (handles, client, NULL, "anyone?", &outcome);
    assert_int_equal (outcome.status, PROKIT_ENOTFOUND);
    prokit_window_destroy (&client);
    prokit_main_destroy (&main_handle);
    if (through_broker) {
        kill (broker.pid, SIGTERM);
        tu_reap (&broker, 10000);
    }
    tu_endpoint_remove (endpoint);
}

static void
test_a_pool_of_three_worker_processes_with_main_embedded (void **state)
{
    (void) state;
    s_pool (false);
}

static void
test_a_pool_of_three_worker_processes_through_a_broker (void **state)
{
    (void) state;
    s_pool (true);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_a_pool_of_three_worker_processes_with_main_embedded),
        cmocka_unit_test (test_a_pool_of_three_worker_processes_through_a_broker),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
