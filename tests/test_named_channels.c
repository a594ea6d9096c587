/*  test_named_channels.c: named channels (Electron's handle(channel) and
    on(channel)) between main and windows that are real, separate
    processes (prokit-test-peer), embedded and through a broker: requests
    both ways on a channel, a channel nobody handles, messages by name,
    broadcast and window to window, and the default channel untouched by
    any of it. Older peers are in test_router.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "testutil.h"

#define REPORTS_MAX 32
#define LINE_MAX_ 256

//  What main heard: reports from the windows on the default channel
//  ("got|...", "on|...", "asked|..."), and what its channel handlers saw.
typedef struct heard {
    char lines[REPORTS_MAX][LINE_MAX_];
    int count;
    int resize_calls;  //  main's handler for "resize"
    int default_calls; //  main's default handler, other than reports
} heard_t;

static void
s_note (heard_t *heard, const char *fmt, const char *a, const char *b)
{
    if (heard->count < REPORTS_MAX)
        snprintf (heard->lines[heard->count++], LINE_MAX_, fmt, a, b);
}

//  The default channel: windows' reports, and plain requests.
static prokit_payload_t *
s_on_default (prokit_request_t *request, void *arg)
{
    heard_t *heard = (heard_t *) arg;
    const char *text = prokit_payload_str (prokit_request_payload (request));
    assert_string_equal (prokit_request_channel (request), "");
    if (text && (strncmp (text, "got|", 4) == 0 || strncmp (text, "on|", 3) == 0 ||
                 strncmp (text, "asked|", 6) == 0)) {
        s_note (heard, "%s:%s", prokit_request_sender (request), text);
        return prokit_payload_new_string ("noted");
    }
    heard->default_calls++;
    return prokit_payload_new_printf ("default:%s", text ? text : "?");
}

static prokit_payload_t *
s_on_resize (prokit_request_t *request, void *arg)
{
    heard_t *heard = (heard_t *) arg;
    heard->resize_calls++;
    const char *text = prokit_payload_str (prokit_request_payload (request));
    return prokit_payload_new_printf ("%s resized %s", prokit_request_channel (request),
                                      text ? text : "?");
}

typedef struct wait_for {
    heard_t *heard;
    int count;
} wait_for_t;

static bool
s_heard_enough (void *arg)
{
    wait_for_t *wait = (wait_for_t *) arg;
    return wait->heard->count >= wait->count;
}

static bool
s_heard_line (heard_t *heard, const char *line)
{
    for (int i = 0; i < heard->count; i++)
        if (strcmp (heard->lines[i], line) == 0)
            return true;
    return false;
}

//  Send TEXT to WINDOW on the default channel and wait until main has
//  heard COUNT lines in all.
static void
s_tell (prokit_main_t *main_handle, heard_t *heard, const char *window, const char *text, int count)
{
    prokit_payload_t *payload = prokit_payload_new_string (text);
    assert_int_equal (prokit_main_send (main_handle, window, &payload), PROKIT_OK);
    tu_handle_t handles[] = { { main_handle, NULL } };
    wait_for_t wait = { heard, count };
    if (!tu_pump (handles, 1, s_heard_enough, &wait, 10000)) {
        for (int i = 0; i < heard->count; i++)
            fprintf (stderr, "heard: %s\n", heard->lines[i]);
        fail_msg ("after '%s' to '%s': %d lines heard, %d expected", text, window, heard->count,
                  count);
    }
}

typedef struct undelivered {
    int count;
    int code;
    char text[256];
} undelivered_t;

static void
s_on_undelivered (const char *target, int code, const char *text, void *arg)
{
    (void) target;
    undelivered_t *u = (undelivered_t *) arg;
    u->count++;
    u->code = code;
    snprintf (u->text, sizeof (u->text), "%s", text);
}

//  Everything on named channels between main and two window processes,
//  with main embedded (BROKER NULL) or attached to a broker in a process
//  of its own.
static void
s_named_channels_between_processes (bool through_broker)
{
    char endpoint[256];
    tu_endpoint ("ipc", endpoint, sizeof (endpoint));
    tu_child_t broker;
    prokit_main_t *main_handle = tu_main_at (endpoint, through_broker, &broker);
    assert_non_null (main_handle);
    heard_t heard;
    memset (&heard, 0, sizeof (heard));
    undelivered_t undelivered = { 0, 0, "" };
    prokit_main_on_undelivered (main_handle, s_on_undelivered, &undelivered);
    assert_int_equal (prokit_main_on_request (main_handle, s_on_default, &heard), PROKIT_OK);
    assert_int_equal (prokit_main_handle (main_handle, "resize", s_on_resize, &heard), PROKIT_OK);
    //  Bad channel names are refused at once.
    assert_int_equal (prokit_main_handle (main_handle, "a b", s_on_resize, &heard), PROKIT_EINVAL);
    assert_int_equal (prokit_main_handle (main_handle, "a#b", s_on_resize, &heard), PROKIT_EINVAL);
    tu_handle_t handles[] = { { main_handle, NULL } };

    tu_child_t one, two;
    assert_true (tu_peer_window (&one, "one", endpoint));
    assert_true (tu_peer_window (&two, "two", endpoint));
    tu_window_count_t both = { main_handle, 2 };
    assert_true (tu_pump (handles, 1, tu_window_count_is, &both, 10000));
    int n = 0;

    //  window -> main: the channel's handler answers, not the default one.
    s_tell (main_handle, &heard, "one", "ask:@main:resize:640x480", ++n);
    assert_true (s_heard_line (&heard, "one:asked|PROKIT_OK|resize resized 640x480"));
    assert_int_equal (heard.resize_calls, 1);
    assert_int_equal (heard.default_calls, 0);
    //  The default channel still reaches the default handler.
    s_tell (main_handle, &heard, "one", "ask:@main:-:plain", ++n);
    assert_true (s_heard_line (&heard, "one:asked|PROKIT_OK|default:plain"));
    assert_int_equal (heard.default_calls, 1);
    //  A channel nobody handles: PROKIT_ENOHANDLER, naming it.
    s_tell (main_handle, &heard, "one", "ask:@main:rotate:90", ++n);
    assert_true (s_heard_line (&heard, "one:asked|PROKIT_ENOHANDLER|'@main' has no handler for "
                                       "channel 'rotate'"));
    //  Removing a handler: its channel is unhandled again.
    assert_int_equal (prokit_main_handle (main_handle, "resize", NULL, NULL), PROKIT_OK);
    s_tell (main_handle, &heard, "one", "ask:@main:resize:1x1", ++n);
    assert_true (s_heard_line (&heard, "one:asked|PROKIT_ENOHANDLER|'@main' has no handler for "
                                       "channel 'resize'"));
    assert_int_equal (heard.resize_calls, 1);

    //  window -> window: "two" answers on "echo", and on no other channel.
    s_tell (main_handle, &heard, "one", "ask:two:echo:hi", ++n);
    assert_true (s_heard_line (&heard, "one:asked|PROKIT_OK|echo:hi"));
    s_tell (main_handle, &heard, "one", "ask:two:nope:hi", ++n);
    assert_true (s_heard_line (
        &heard, "one:asked|PROKIT_ENOHANDLER|'two' has no handler for channel 'nope'"));
    //  Its default channel is its default handler's (the peer echoes).
    s_tell (main_handle, &heard, "one", "ask:two:-:hi", ++n);
    assert_true (s_heard_line (&heard, "one:asked|PROKIT_OK|hi"));

    //  main -> window on a channel: the channel's listener, not the
    //  default one ("got|...").
    prokit_payload_t *payload = prokit_payload_new_string ("headline");
    assert_int_equal (prokit_main_send_on (main_handle, "two", "news", &payload), PROKIT_OK);
    wait_for_t wait = { &heard, ++n };
    assert_true (tu_pump (handles, 1, s_heard_enough, &wait, 10000));
    assert_true (s_heard_line (&heard, "two:on|news|@main|headline|0"));
    //  A broadcast on a channel reaches every window's listener of it.
    payload = prokit_payload_new_string ("extra");
    assert_int_equal (prokit_main_broadcast_on (main_handle, "news", &payload), PROKIT_OK);
    n += 2;
    wait.count = n;
    assert_true (tu_pump (handles, 1, s_heard_enough, &wait, 10000));
    assert_true (s_heard_line (&heard, "one:on|news|@main|extra|1"));
    assert_true (s_heard_line (&heard, "two:on|news|@main|extra|1"));
    //  window -> window on a channel.
    s_tell (main_handle, &heard, "one", "sendon:two:news:psst", ++n);
    assert_true (s_heard_line (&heard, "two:on|news|one|psst|0"));
    //  A channel without a listener: delivered, and dropped there; the
    //  next message on the default channel shows nothing came before it.
    payload = prokit_payload_new_string ("unheard");
    assert_int_equal (prokit_main_send_on (main_handle, "two", "weather", &payload), PROKIT_OK);
    s_tell (main_handle, &heard, "two", "plain", ++n);
    assert_string_equal (heard.lines[n - 1], "two:got|@main|plain|0");
    //  Bad channel names never leave: the payload stays the caller's.
    payload = prokit_payload_new_string ("x");
    assert_int_equal (prokit_main_send_on (main_handle, "two", "", &payload), PROKIT_OK);
    assert_null (payload);
    payload = prokit_payload_new_string ("x");
    assert_int_equal (prokit_main_send_on (main_handle, "two", "has space", &payload),
                      PROKIT_EINVAL);
    assert_non_null (payload);
    char long_name[PROKIT_CHANNEL_MAX + 2];
    memset (long_name, 'c', sizeof (long_name) - 1);
    long_name[sizeof (long_name) - 1] = 0;
    assert_int_equal (prokit_main_broadcast_on (main_handle, long_name, &payload), PROKIT_EINVAL);
    assert_non_null (payload);
    prokit_payload_destroy (&payload);
    //  The empty channel's message above went to the default listener.
    wait.count = ++n;
    assert_true (tu_pump (handles, 1, s_heard_enough, &wait, 10000));
    assert_true (s_heard_line (&heard, "two:got|@main|x|0"));
    assert_int_equal (undelivered.count, 0);

    //  Every report was counted: nothing else came.
    assert_int_equal (heard.count, n);
    for (int i = 0; i < 2; i++) {
        payload = prokit_payload_new_string ("exit");
        assert_int_equal (prokit_main_send (main_handle, i == 0 ? "one" : "two", &payload),
                          PROKIT_OK);
    }
    tu_window_count_t none = { main_handle, 0 };
    assert_true (tu_pump (handles, 1, tu_window_count_is, &none, 10000));
    int status = tu_reap (&one, 10000);
    assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
    status = tu_reap (&two, 10000);
    assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
    prokit_main_destroy (&main_handle);
    if (through_broker) {
        kill (broker.pid, SIGTERM);
        status = tu_reap (&broker, 10000);
        assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
    }
    tu_endpoint_remove (endpoint);
}

static void
test_named_channels_between_processes_with_main_embedded (void **state)
{
    (void) state;
    s_named_channels_between_processes (false);
}

static void
test_named_channels_between_processes_through_a_broker (void **state)
{
    (void) state;
    s_named_channels_between_processes (true);
}

//  Listeners per channel, in this process: added, called in order, removed.
typedef struct calls {
    int a, b;
    char last_channel[PROKIT_CHANNEL_MAX + 1];
} calls_t;

static void
s_listener_a (const prokit_message_t *message, void *arg)
{
    calls_t *calls = (calls_t *) arg;
    calls->a++;
    snprintf (calls->last_channel, sizeof (calls->last_channel), "%s",
              prokit_message_channel (message));
}

static void
s_listener_b (const prokit_message_t *message, void *arg)
{
    (void) message;
    ((calls_t *) arg)->b++;
}

typedef struct calls_wait {
    calls_t *calls;
    int a;
} calls_wait_t;

static bool
s_calls_reached (void *arg)
{
    calls_wait_t *wait = (calls_wait_t *) arg;
    return wait->calls->a >= wait->a;
}

typedef struct outcome {
    int calls;
    int status;
    char text[256];
} outcome_t;

static void
s_on_outcome (prokit_reply_t *reply, void *arg)
{
    outcome_t *outcome = (outcome_t *) arg;
    outcome->calls++;
    outcome->status = prokit_reply_status (reply);
    snprintf (outcome->text, sizeof (outcome->text), "%s", prokit_reply_error (reply));
}

static bool
s_has_outcome (void *arg)
{
    return ((outcome_t *) arg)->calls > 0;
}

static void
test_channel_listeners_are_added_and_removed_per_channel (void **state)
{
    (void) state;
    prokit_main_t *main_handle = tu_main_new ("ipc", NULL);
    assert_non_null (main_handle);
    prokit_window_t *window = tu_window_new (prokit_main_endpoint (main_handle), "w");
    assert_non_null (window);
    calls_t calls;
    memset (&calls, 0, sizeof (calls));
    assert_int_equal (prokit_window_on (window, "news", s_listener_a, &calls), PROKIT_OK);
    assert_int_equal (prokit_window_on (window, "news", s_listener_b, &calls), PROKIT_OK);
    assert_int_equal (prokit_window_on (window, NULL, s_listener_a, &calls), PROKIT_EINVAL);
    assert_int_equal (prokit_window_on (window, "", s_listener_a, &calls), PROKIT_EINVAL);
    assert_int_equal (prokit_window_on (window, "news", NULL, &calls), PROKIT_EINVAL);
    assert_int_equal (prokit_window_off (window, "other", s_listener_a, &calls), PROKIT_ENOTFOUND);
    tu_handle_t handles[] = { { main_handle, NULL }, { NULL, window } };
    prokit_payload_t *payload = prokit_payload_new_string ("1");
    assert_int_equal (prokit_main_send_on (main_handle, "w", "news", &payload), PROKIT_OK);
    calls_wait_t wait = { &calls, 1 };
    assert_true (tu_pump (handles, 2, s_calls_reached, &wait, 10000));
    assert_int_equal (calls.b, 1);
    assert_string_equal (calls.last_channel, "news");
    assert_int_equal (prokit_window_off (window, "news", s_listener_b, &calls), PROKIT_OK);
    assert_int_equal (prokit_window_off (window, "news", s_listener_b, &calls), PROKIT_ENOTFOUND);
    payload = prokit_payload_new_string ("2");
    assert_int_equal (prokit_main_send_on (main_handle, "w", "news", &payload), PROKIT_OK);
    wait.a = 2;
    assert_true (tu_pump (handles, 2, s_calls_reached, &wait, 10000));
    assert_int_equal (calls.b, 1);
    //  A window's request on a channel main does not handle, in this
    //  process: one outcome, naming the channel.
    outcome_t outcome = { 0, 0, "" };
    prokit_payload_t *ask = prokit_payload_new_string ("q");
    assert_int_equal (
        prokit_window_request_on (window, PROKIT_MAIN, "none", &ask, 5000, s_on_outcome, &outcome),
        PROKIT_OK);
    assert_true (tu_pump (handles, 2, s_has_outcome, &outcome, 10000));
    assert_int_equal (outcome.calls, 1);
    assert_int_equal (outcome.status, PROKIT_ENOHANDLER);
    assert_non_null (strstr (outcome.text, "'none'"));
    prokit_window_destroy (&window);
    prokit_main_destroy (&main_handle);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_named_channels_between_processes_with_main_embedded),
        cmocka_unit_test (test_named_channels_between_processes_through_a_broker),
        cmocka_unit_test (test_channel_listeners_are_added_and_removed_per_channel),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
