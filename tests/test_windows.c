/*  test_windows.c: windows as processes main starts (createWindow), the
    registry of live windows, closing with escalation, show/hide, presence
    events with reasons, restarts by policy, and no zombies. The window
    processes are prokit-test-peer in its "spawned" mode. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <errno.h>

#include "testutil.h"

#define MAX_EVENTS 256

typedef struct event {
    prokit_presence_kind_t kind;
    char window[PROKIT_NAME_MAX + 1];
    char reason[96];
    int pid;
    int wait_status;
    bool will_restart;
} event_t;

typedef struct fixture {
    prokit_main_t *main;
    char endpoint[256];
    event_t events[MAX_EVENTS];
    int event_count;
    char reports[MAX_EVENTS][128];
    int report_count;
} fixture_t;

static void
s_on_presence (const prokit_presence_t *presence, void *arg)
{
    fixture_t *f = (fixture_t *) arg;
    if (f->event_count == MAX_EVENTS)
        return;
    event_t *event = &f->events[f->event_count++];
    event->kind = presence->kind;
    snprintf (event->window, sizeof (event->window), "%s", presence->window);
    snprintf (event->reason, sizeof (event->reason), "%s", presence->reason);
    event->pid = presence->pid;
    event->wait_status = presence->wait_status;
    event->will_restart = presence->will_restart;
}

//  Spawned windows report what they see as requests to main.
static prokit_payload_t *
s_collect (prokit_request_t *request, void *arg)
{
    fixture_t *f = (fixture_t *) arg;
    const char *text = prokit_payload_str (prokit_request_payload (request));
    if (text && f->report_count < MAX_EVENTS)
        snprintf (f->reports[f->report_count++], 128, "%s:%s", prokit_request_sender (request),
                  text);
    return prokit_payload_new_string ("noted");
}

static int
s_setup (void **state)
{
    fixture_t *f = (fixture_t *) calloc (1, sizeof (*f));
    tu_endpoint ("ipc", f->endpoint, sizeof (f->endpoint));
    prokit_main_opts_t opts;
    prokit_main_opts_init (&opts);
    opts.endpoint = f->endpoint;
    f->main = prokit_main_new (&opts, NULL);
    if (!f->main)
        return -1;
    prokit_main_on_presence (f->main, s_on_presence, f);
    prokit_main_on_request (f->main, s_collect, f);
    *state = f;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    prokit_main_destroy (&f->main);
    //  Every process main started has been reaped: no child is left at all.
    errno = 0;
    assert_int_equal (waitpid (-1, NULL, WNOHANG), -1);
    assert_int_equal (errno, ECHILD);
    free (f);
    return 0;
}

//  Count events of KIND for WINDOW (NULL: any window).
static int
s_count (fixture_t *f, prokit_presence_kind_t kind, const char *window)
{
    int n = 0;
    for (int i = 0; i < f->event_count; i++)
        if (f->events[i].kind == kind && (!window || strcmp (f->events[i].window, window) == 0))
            n++;
    return n;
}

static const event_t *
s_last (fixture_t *f, prokit_presence_kind_t kind, const char *window)
{
    for (int i = f->event_count - 1; i >= 0; i--)
        if (f->events[i].kind == kind && strcmp (f->events[i].window, window) == 0)
            return &f->events[i];
    return NULL;
}

typedef struct expect {
    fixture_t *f;
    prokit_presence_kind_t kind;
    const char *window;
    int count;
} expect_t;

static bool
s_expected (void *arg)
{
    expect_t *e = (expect_t *) arg;
    return s_count (e->f, e->kind, e->window) >= e->count;
}

//  Pump main until COUNT events of KIND for WINDOW have arrived.
static bool
s_await (fixture_t *f, prokit_presence_kind_t kind, const char *window, int count, int timeout_ms)
{
    expect_t e = { f, kind, window, count };
    tu_handle_t handles[] = { { f->main, NULL } };
    return tu_pump (handles, 1, s_expected, &e, timeout_ms);
}

static int
s_create (fixture_t *f, const char *name, const char *flag, bool show, int join_timeout_ms,
          prokit_spawned_t *result)
{
    char *argv[] = { (char *) PROKIT_TEST_PEER, (char *) "spawned", (char *) flag, NULL };
    prokit_window_spec_t spec;
    prokit_window_spec_init (&spec);
    spec.path = PROKIT_TEST_PEER;
    spec.argv = argv;
    spec.show = show;
    spec.join_timeout_ms = join_timeout_ms;
    return prokit_main_create_window (f->main, name, &spec, result, sizeof (*result));
}

//  --- createWindow ----------------------------------------------------------

//  How many windows main's registry holds.
static size_t
s_window_total (prokit_main_t *main)
{
    size_t count = 0;
    assert_int_equal (prokit_main_get_all_windows (main, NULL, 0, 0, &count), PROKIT_OK);
    return count;
}

static void
test_created_window_joins_with_name_and_endpoint_from_main (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    prokit_spawned_t result;
    assert_int_equal (s_create (f, "work", NULL, false, 10000, &result), PROKIT_OK);
    assert_true (result.pid > 0);
    assert_true (prokit_main_has_window (f->main, "work"));
    prokit_window_info_t info;
    assert_int_equal (prokit_main_get_window (f->main, "work", &info, sizeof (info)), PROKIT_OK);
    assert_string_equal (info.name, "work");
    assert_true (info.joined);
    assert_true (info.spawned);
    assert_int_equal (info.pid, result.pid);
    assert_false (info.shown); //  show:false, the seed's hidden worker
    assert_true (info.joined_at_ms > 0);
    assert_true (info.last_seen_ms >= info.joined_at_ms);
    assert_int_equal (s_count (f, PROKIT_PRESENCE_JOINED, "work"), 1);

    //  A second window of the same name is refused while this one lives.
    assert_int_equal (s_create (f, "work", NULL, false, 0, NULL), PROKIT_EEXIST);
}

static void
test_created_window_without_waiting_appears_once_joined (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    assert_int_equal (s_create (f, "later", NULL, true, 0, NULL), PROKIT_OK);
    prokit_window_info_t info;
    assert_int_equal (prokit_main_get_window (f->main, "later", &info, sizeof (info)), PROKIT_OK);
    assert_true (info.spawned);
    assert_true (s_await (f, PROKIT_PRESENCE_JOINED, "later", 1, 10000));
    assert_int_equal (prokit_main_get_window (f->main, "later", &info, sizeof (info)), PROKIT_OK);
    assert_true (info.joined);
    assert_true (info.shown);
}

static void
test_child_that_exits_at_once_fails_with_its_status (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    char *argv[] = { (char *) "/bin/sh", (char *) "-c", (char *) "exit 7", NULL };
    prokit_window_spec_t spec;
    prokit_window_spec_init (&spec);
    spec.path = "/bin/sh";
    spec.argv = argv;
    spec.join_timeout_ms = 10000;
    prokit_spawned_t result;
    assert_int_equal (
        prokit_main_create_window (f->main, "shortlived", &spec, &result, sizeof (result)),
        PROKIT_EEXITED);
    assert_true (WIFEXITED (result.wait_status));
    assert_int_equal (WEXITSTATUS (result.wait_status), 7);
    assert_string_equal (result.reason, "exited with status 7");
    assert_false (prokit_main_has_window (f->main, "shortlived"));
    const event_t *exited = s_last (f, PROKIT_PRESENCE_EXITED, "shortlived");
    assert_non_null (exited);
    assert_false (exited->will_restart);
    //  Its name is free again.
    prokit_window_info_t info;
    assert_int_equal (prokit_main_get_window (f->main, "shortlived", &info, sizeof (info)),
                      PROKIT_ENOTFOUND);
}

static void
test_program_that_cannot_start_fails_with_espawn (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    prokit_window_spec_t spec;
    prokit_window_spec_init (&spec);
    spec.path = "/nonexistent/prokit-window";
    prokit_spawned_t result;
    assert_int_equal (prokit_main_create_window (f->main, "ghost", &spec, &result, sizeof (result)),
                      PROKIT_ESPAWN);
    assert_non_null (strstr (result.reason, "No such file"));
    assert_int_equal (s_window_total (f->main), 0);
    spec.path = NULL;
    assert_int_equal (prokit_main_create_window (f->main, "ghost", &spec, NULL, 0), PROKIT_EINVAL);
    spec.path = PROKIT_TEST_PEER;
    assert_int_equal (prokit_main_create_window (f->main, "bad name", &spec, NULL, 0),
                      PROKIT_EINVAL);
}

//  --- watching without pidfds ---------------------------------------------------
//
//  Where pidfd_open fails (an old kernel, seccomp, valgrind), main watches
//  each child through a pipe whose write end only the child holds;
//  PROKIT_NO_PIDFD=1 forces that (ctest's test_windows_no_pidfd). These
//  cases hold either way.

//  Run SHELL -c SCRIPT as window NAME and wait for it to end before
//  joining: its wait status, and in *ELAPSED_MS how long createWindow took.
static int
s_run_script (fixture_t *f, const char *name, const char *shell, const char *script,
              int64_t *elapsed_ms)
{
    char *argv[] = { (char *) shell, (char *) "-c", (char *) script, NULL };
    prokit_window_spec_t spec;
    prokit_window_spec_init (&spec);
    spec.path = shell;
    spec.argv = argv;
    spec.join_timeout_ms = 10000;
    prokit_spawned_t result;
    int64_t started = tu_now_ms ();
    assert_int_equal (prokit_main_create_window (f->main, name, &spec, &result, sizeof (result)),
                      PROKIT_EEXITED);
    if (elapsed_ms)
        *elapsed_ms = tu_now_ms () - started;
    assert_true (WIFEXITED (result.wait_status));
    return WEXITSTATUS (result.wait_status);
}

static bool
s_pidfd_forced_off (void)
{
    const char *forced = getenv ("PROKIT_NO_PIDFD");
    return forced && *forced && strcmp (forced, "0") != 0;
}

static void
test_watch_descriptor_is_given_only_without_pidfd (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    //  One this process inherited names nothing of its children's.
    setenv ("PROKIT_WATCH_FD", "99:1", 1);
    //  10: no PROKIT_WATCH_FD; 11: not from its parent; 12: no pipe there.
    const char *script = "w=${PROKIT_WATCH_FD:-}; [ -n \"$w\" ] || exit 10; "
                         "[ \"${w#*:}\" = \"$PPID\" ] || exit 11; "
                         "[ -p /proc/$$/fd/${w%%:*} ] || exit 12; exit 0";
    int status = s_run_script (f, "probe", "/bin/sh", script, NULL);
    unsetenv ("PROKIT_WATCH_FD");
    if (s_pidfd_forced_off ())
        assert_int_equal (status, 0);
    else
        assert_true (status == 10 || status == 0); //  0: pidfd_open fails here
}

static void
test_window_whose_own_child_outlives_it_is_reaped_without_waiting_for_it (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    //  The background sleep inherits whatever the shell had, the pipe
    //  included: main polls a child it watches through a pipe every
    //  second, so it need not wait for the sleep to end.
    int64_t elapsed;
    assert_int_equal (s_run_script (f, "parent", "/bin/sh",
                                    "sleep 5 </dev/null >/dev/null 2>&1 & exit 7", &elapsed),
                      7);
    print_message ("window ended, its child running: reaped after %lld ms\n", (long long) elapsed);
    assert_true (elapsed < 4000);
}

static void
test_window_that_closes_the_watch_descriptor_is_reaped_without_spinning (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    //  The pipe is at its end while the window still runs for a second:
    //  main must not poll it in a loop meanwhile, and still reap the window.
    //  (bash: dash redirects descriptors 0 to 9 only.)
    const char *script = "w=${PROKIT_WATCH_FD:-}; [ -z \"$w\" ] || eval \"exec ${w%%:*}>&-\"; "
                         "sleep 1; exit 3";
    struct timespec cpu_before, cpu_after;
    clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &cpu_before);
    int64_t elapsed;
    assert_int_equal (s_run_script (f, "closer", "/bin/bash", script, &elapsed), 3);
    clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &cpu_after);
    int64_t cpu_ms = (cpu_after.tv_sec - cpu_before.tv_sec) * 1000 +
                     (cpu_after.tv_nsec - cpu_before.tv_nsec) / 1000000;
    print_message ("window closed its pipe: reaped after %lld ms, %lld ms of CPU\n",
                   (long long) elapsed, (long long) cpu_ms);
    assert_true (elapsed < 5000);
    //  A loop on the spent pipe would burn most of that second.
    assert_true (cpu_ms < 300);
}

//  --- the registry -----------------------------------------------------------

static void
s_count_close (void *arg)
{
    (*(int *) arg)++;
}

static bool
s_close_requested (void *arg)
{
    return prokit_window_close_requested ((prokit_window_t *) arg);
}

static void
test_registry_lists_spawned_and_external_windows (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    assert_int_equal (s_create (f, "work", NULL, false, 10000, NULL), PROKIT_OK);
    prokit_window_opts_t opts;
    prokit_window_opts_init (&opts);
    opts.endpoint = f->endpoint;
    prokit_window_t *external = prokit_window_new ("outsider", &opts, NULL);
    assert_non_null (external);
    int closes = 0;
    prokit_window_on_close (external, s_count_close, &closes);
    assert_true (prokit_window_is_shown (external)); //  not started by main: visible
    assert_true (s_await (f, PROKIT_PRESENCE_JOINED, "outsider", 1, 5000));

    prokit_window_info_t infos[4];
    size_t count = 0;
    assert_int_equal (prokit_main_get_all_windows (f->main, infos, 4, sizeof (infos[0]), &count),
                      PROKIT_OK);
    assert_int_equal (count, 2);
    assert_int_equal (prokit_main_get_all_windows (f->main, infos, 1, sizeof (infos[0]), &count),
                      PROKIT_OK);
    assert_int_equal (count, 2); //  total, not copied
    assert_int_equal (prokit_main_get_all_windows (f->main, NULL, 1, sizeof (infos[0]), &count),
                      PROKIT_EINVAL);
    assert_int_equal (prokit_main_get_all_windows (f->main, infos, 4, sizeof (infos[0]), NULL),
                      PROKIT_EINVAL);
    prokit_window_info_t outsider;
    assert_int_equal (prokit_main_get_window (f->main, "outsider", &outsider, sizeof (outsider)),
                      PROKIT_OK);
    assert_false (outsider.spawned);
    assert_int_equal (outsider.pid, (int) getpid ()); //  it said so in HELLO
    assert_true (outsider.shown);
    assert_true (prokit_main_has_window (f->main, "outsider"));
    assert_int_equal (prokit_main_window_count (f->main), 2);

    //  destroyWindow on an external window: told to close, dropped at once.
    assert_int_equal (prokit_main_destroy_window (f->main, "outsider", 500), PROKIT_OK);
    assert_false (prokit_main_has_window (f->main, "outsider"));
    tu_handle_t handles[] = { { f->main, NULL }, { NULL, external } };
    assert_true (tu_pump (handles, 2, s_close_requested, external, 5000));
    assert_int_equal (prokit_window_run (external, 0), PROKIT_ECLOSED);
    assert_int_equal (closes, 1);
    assert_true (s_await (f, PROKIT_PRESENCE_LEFT, "outsider", 1, 5000));
    assert_string_equal (s_last (f, PROKIT_PRESENCE_LEFT, "outsider")->reason, "closed by main");
    prokit_window_destroy (&external);
    assert_int_equal (prokit_main_destroy_window (f->main, "outsider", 0), PROKIT_ENOTFOUND);
}

//  --- destroyWindow / clearWindows ---------------------------------------------

static void
test_destroy_closes_a_cooperative_window_politely (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    assert_int_equal (s_create (f, "work", NULL, false, 10000, NULL), PROKIT_OK);
    assert_int_equal (prokit_main_destroy_window (f->main, "work", 5000), PROKIT_OK);
    assert_false (prokit_main_has_window (f->main, "work"));
    assert_true (s_await (f, PROKIT_PRESENCE_EXITED, "work", 1, 10000));
    const event_t *exited = s_last (f, PROKIT_PRESENCE_EXITED, "work");
    assert_string_equal (exited->reason, "exited with status 0");
    assert_false (exited->will_restart);
    assert_true (s_await (f, PROKIT_PRESENCE_LEFT, "work", 1, 5000));
    //  The name can be used again right away.
    assert_int_equal (s_create (f, "work", NULL, false, 10000, NULL), PROKIT_OK);
}

static void
test_destroy_escalates_to_sigkill_for_a_window_that_ignores_everything (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    assert_int_equal (s_create (f, "stubborn", "--ignore-term", false, 10000, NULL), PROKIT_OK);
    prokit_main_destroy_window (f->main, "stubborn", 200);
    assert_true (s_await (f, PROKIT_PRESENCE_EXITED, "stubborn", 1, 10000));
    const event_t *exited = s_last (f, PROKIT_PRESENCE_EXITED, "stubborn");
    assert_true (WIFSIGNALED (exited->wait_status));
    assert_int_equal (WTERMSIG (exited->wait_status), SIGKILL);
    assert_string_equal (exited->reason, "killed by signal 9 (SIGKILL)");
}

static void
test_destroy_sends_sigterm_to_a_window_that_ignores_close (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    assert_int_equal (s_create (f, "deaf", "--ignore-close", false, 10000, NULL), PROKIT_OK);
    prokit_main_destroy_window (f->main, "deaf", 200);
    assert_true (s_await (f, PROKIT_PRESENCE_EXITED, "deaf", 1, 10000));
    //  It ends on SIGTERM, cleanly, before any SIGKILL.
    assert_string_equal (s_last (f, PROKIT_PRESENCE_EXITED, "deaf")->reason,
                         "exited with status 0");
}

static void
test_clear_closes_fifty_windows_in_one_grace_period (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    enum { N = 50 };
    //  Under AddressSanitizer each window runs a leak check as it exits:
    //  fifty at once on two cores took more than the second grace period
    //  once (SIGKILL). These windows are checked for leaks elsewhere; here
    //  only the grace period counts.
    const char *asan = getenv ("ASAN_OPTIONS");
    char *saved = asan ? strdup (asan) : NULL;
    char quiet[512];
    snprintf (quiet, sizeof (quiet), "%s%sdetect_leaks=0", asan ? asan : "", asan ? ":" : "");
    setenv ("ASAN_OPTIONS", quiet, 1);
    for (int i = 0; i < N; i++) {
        char name[16];
        snprintf (name, sizeof (name), "w%02d", i);
        //  Each ignores the polite close: only the SIGTERM after the grace
        //  period ends it, so a clear that waited window by window would
        //  take 50 grace periods.
        assert_int_equal (s_create (f, name, "--ignore-close", false, 0, NULL), PROKIT_OK);
    }
    if (saved)
        setenv ("ASAN_OPTIONS", saved, 1);
    else
        unsetenv ("ASAN_OPTIONS");
    free (saved);
    assert_true (s_await (f, PROKIT_PRESENCE_JOINED, NULL, N, 30000));
    int64_t started = tu_now_ms ();
    assert_int_equal (prokit_main_clear_windows (f->main, 5000), PROKIT_OK);
    assert_int_equal (s_window_total (f->main), 0);
    assert_true (s_await (f, PROKIT_PRESENCE_EXITED, NULL, N, 30000));
    print_message ("clear of %d windows took %lld ms (grace 5000 ms)\n", N,
                   (long long) (tu_now_ms () - started));
    for (int i = 0; i < f->event_count; i++)
        if (f->events[i].kind == PROKIT_PRESENCE_EXITED)
            assert_string_equal (f->events[i].reason, "exited with status 0");
}

//  --- death, presence, restart ---------------------------------------------------

static void
test_killed_window_leaves_and_is_reaped_with_its_status (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    prokit_spawned_t result;
    assert_int_equal (s_create (f, "victim", NULL, false, 10000, &result), PROKIT_OK);
    int64_t killed_at = tu_now_ms ();
    kill (result.pid, SIGKILL);
    assert_true (s_await (f, PROKIT_PRESENCE_LEFT, "victim", 1, 10000));
    print_message ("kill -9 to LEFT: %lld ms\n", (long long) (tu_now_ms () - killed_at));
    assert_string_equal (s_last (f, PROKIT_PRESENCE_LEFT, "victim")->reason, "connection lost");
    assert_true (s_await (f, PROKIT_PRESENCE_EXITED, "victim", 1, 10000));
    const event_t *exited = s_last (f, PROKIT_PRESENCE_EXITED, "victim");
    assert_int_equal (exited->pid, result.pid);
    assert_true (WIFSIGNALED (exited->wait_status) && WTERMSIG (exited->wait_status) == SIGKILL);
    assert_false (prokit_main_has_window (f->main, "victim"));
    assert_int_equal (s_create (f, "victim", NULL, false, 10000, NULL), PROKIT_OK);
}

static void
test_failing_window_is_restarted_until_the_limit (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    char *argv[] = { (char *) PROKIT_TEST_PEER, (char *) "spawned", NULL };
    prokit_window_spec_t spec;
    prokit_window_spec_init (&spec);
    spec.path = PROKIT_TEST_PEER;
    spec.argv = argv;
    spec.join_timeout_ms = 10000;
    spec.restart = PROKIT_RESTART_ON_FAILURE;
    spec.restart_max = 1;
    spec.restart_backoff_ms = 50;
    assert_int_equal (prokit_main_create_window (f->main, "phoenix", &spec, NULL, 0), PROKIT_OK);

    prokit_payload_t *crash = prokit_payload_new_string ("crash:3");
    assert_int_equal (prokit_main_send (f->main, "phoenix", &crash), PROKIT_OK);
    assert_true (s_await (f, PROKIT_PRESENCE_EXITED, "phoenix", 1, 10000));
    assert_true (s_last (f, PROKIT_PRESENCE_EXITED, "phoenix")->will_restart);
    assert_true (s_await (f, PROKIT_PRESENCE_JOINED, "phoenix", 2, 10000));
    prokit_window_info_t info;
    assert_int_equal (prokit_main_get_window (f->main, "phoenix", &info, sizeof (info)), PROKIT_OK);
    assert_int_equal (info.restarts, 1);

    //  The limit is reached: the next failure is final.
    crash = prokit_payload_new_string ("crash:3");
    assert_int_equal (prokit_main_send (f->main, "phoenix", &crash), PROKIT_OK);
    assert_true (s_await (f, PROKIT_PRESENCE_EXITED, "phoenix", 2, 10000));
    assert_false (s_last (f, PROKIT_PRESENCE_EXITED, "phoenix")->will_restart);
    assert_true (s_await (f, PROKIT_PRESENCE_LEFT, "phoenix", 2, 10000));
    assert_int_equal (prokit_main_get_window (f->main, "phoenix", &info, sizeof (info)),
                      PROKIT_ENOTFOUND);
}

static void
test_window_that_ends_cleanly_is_not_restarted (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    char *argv[] = { (char *) PROKIT_TEST_PEER, (char *) "spawned", NULL };
    prokit_window_spec_t spec;
    prokit_window_spec_init (&spec);
    spec.path = PROKIT_TEST_PEER;
    spec.argv = argv;
    spec.join_timeout_ms = 10000;
    spec.restart = PROKIT_RESTART_ON_FAILURE;
    assert_int_equal (prokit_main_create_window (f->main, "done", &spec, NULL, 0), PROKIT_OK);
    prokit_payload_t *finish = prokit_payload_new_string ("exit");
    prokit_main_send (f->main, "done", &finish);
    prokit_payload_destroy (&finish); //  not sent: still ours (NULL-safe)
    assert_true (s_await (f, PROKIT_PRESENCE_EXITED, "done", 1, 10000));
    assert_false (s_last (f, PROKIT_PRESENCE_EXITED, "done")->will_restart);
    assert_string_equal (s_last (f, PROKIT_PRESENCE_EXITED, "done")->reason,
                         "exited with status 0");
}

typedef struct report_wait {
    fixture_t *f;
    const char *line;
} report_wait_t;

static bool
s_reported (void *arg)
{
    report_wait_t *w = (report_wait_t *) arg;
    for (int i = 0; i < w->f->report_count; i++)
        if (strcmp (w->f->reports[i], w->line) == 0)
            return true;
    return false;
}

static void
test_show_and_hide_reach_the_window_and_the_registry (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    assert_int_equal (s_create (f, "work", NULL, false, 10000, NULL), PROKIT_OK);
    tu_handle_t handles[] = { { f->main, NULL } };
    assert_int_equal (prokit_main_show_window (f->main, "work"), PROKIT_OK);
    report_wait_t shown = { f, "work:visibility|1" };
    assert_true (tu_pump (handles, 1, s_reported, &shown, 10000));
    prokit_window_info_t info;
    prokit_main_get_window (f->main, "work", &info, sizeof (info));
    assert_true (info.shown);
    assert_int_equal (prokit_main_hide_window (f->main, "work"), PROKIT_OK);
    report_wait_t hidden = { f, "work:visibility|0" };
    assert_true (tu_pump (handles, 1, s_reported, &hidden, 10000));
    prokit_main_get_window (f->main, "work", &info, sizeof (info));
    assert_false (info.shown);
    assert_int_equal (prokit_main_show_window (f->main, "nobody"), PROKIT_ENOTFOUND);
}

static void
test_windows_can_follow_presence_when_they_ask (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    prokit_window_opts_t opts;
    prokit_window_opts_init (&opts);
    opts.endpoint = f->endpoint;
    opts.presence = true;
    prokit_window_t *watcher = prokit_window_new ("watcher", &opts, NULL);
    assert_non_null (watcher);
    fixture_t seen; //  reuse the recorder for the window's events
    memset (&seen, 0, sizeof (seen));
    prokit_window_on_presence (watcher, s_on_presence, &seen);
    opts.presence = false;
    prokit_window_t *quiet = prokit_window_new ("quiet", &opts, NULL);
    assert_non_null (quiet);
    fixture_t unseen;
    memset (&unseen, 0, sizeof (unseen));
    prokit_window_on_presence (quiet, s_on_presence, &unseen);

    assert_int_equal (s_create (f, "work", NULL, false, 10000, NULL), PROKIT_OK);
    prokit_main_destroy_window (f->main, "work", 2000);
    tu_handle_t handles[] = { { f->main, NULL }, { NULL, watcher }, { NULL, quiet } };
    expect_t left = { &seen, PROKIT_PRESENCE_LEFT, "work", 1 };
    assert_true (tu_pump (handles, 3, s_expected, &left, 10000));
    assert_int_equal (s_count (&seen, PROKIT_PRESENCE_JOINED, "work"), 1);
    assert_int_equal (s_count (&seen, PROKIT_PRESENCE_JOINED, "quiet"), 1);
    assert_int_equal (unseen.event_count, 0); //  did not ask, hears nothing
    assert_true (s_await (f, PROKIT_PRESENCE_EXITED, "work", 1, 10000));
    prokit_window_destroy (&watcher);
    prokit_window_destroy (&quiet);
}

static void
test_a_window_can_ask_the_router_who_is_there (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    prokit_spawned_t result;
    assert_int_equal (s_create (f, "work", NULL, false, 10000, &result), PROKIT_OK);
    prokit_window_opts_t opts;
    prokit_window_opts_init (&opts);
    opts.endpoint = f->endpoint;
    prokit_window_t *cli = prokit_window_new ("observer", &opts, NULL);
    assert_non_null (cli);

    prokit_window_info_t infos[8];
    size_t count = 0;
    assert_int_equal (
        prokit_window_list_windows (cli, infos, 8, sizeof (prokit_window_info_t), &count, 5000),
        PROKIT_OK);
    assert_int_equal (count, 2);
    const prokit_window_info_t *work = strcmp (infos[0].name, "work") == 0 ? &infos[0] : &infos[1];
    assert_string_equal (work->name, "work");
    assert_int_equal (work->pid, result.pid);
    assert_false (work->shown);
    assert_true (work->joined);
    assert_true (work->joined_at_ms > 0 && work->last_seen_ms >= work->joined_at_ms);
    //  Fewer slots than windows: the count still says how many there are.
    assert_int_equal (
        prokit_window_list_windows (cli, infos, 1, sizeof (prokit_window_info_t), &count, 5000),
        PROKIT_OK);
    assert_int_equal (count, 2);
    assert_int_equal (
        prokit_window_list_windows (cli, NULL, 0, sizeof (prokit_window_info_t), &count, 5000),
        PROKIT_OK);
    assert_int_equal (count, 2);
    assert_int_equal (
        prokit_window_list_windows (cli, NULL, 1, sizeof (prokit_window_info_t), &count, 5000),
        PROKIT_EINVAL);

    prokit_stats_t stats;
    assert_int_equal (prokit_window_router_stats (cli, &stats, sizeof (stats), 5000), PROKIT_OK);
    assert_int_equal (stats.windows, 2);
    assert_true (stats.received > 0);
    prokit_stats_t from_main;
    assert_int_equal (prokit_main_stats (f->main, &from_main, sizeof (from_main)), PROKIT_OK);
    assert_int_equal (from_main.windows, stats.windows);
    assert_int_equal (prokit_window_router_stats (cli, NULL, sizeof (prokit_stats_t), 5000),
                      PROKIT_EINVAL);
    prokit_window_destroy (&cli);
}

int
main (void)
{
    signal (SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_created_window_joins_with_name_and_endpoint_from_main,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_created_window_without_waiting_appears_once_joined,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_child_that_exits_at_once_fails_with_its_status,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_program_that_cannot_start_fails_with_espawn, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_watch_descriptor_is_given_only_without_pidfd, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (
            test_window_whose_own_child_outlives_it_is_reaped_without_waiting_for_it, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown (
            test_window_that_closes_the_watch_descriptor_is_reaped_without_spinning, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown (test_registry_lists_spawned_and_external_windows, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_destroy_closes_a_cooperative_window_politely, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (
            test_destroy_escalates_to_sigkill_for_a_window_that_ignores_everything, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown (test_destroy_sends_sigterm_to_a_window_that_ignores_close,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_clear_closes_fifty_windows_in_one_grace_period,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_killed_window_leaves_and_is_reaped_with_its_status,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_failing_window_is_restarted_until_the_limit, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_window_that_ends_cleanly_is_not_restarted, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_show_and_hide_reach_the_window_and_the_registry,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_windows_can_follow_presence_when_they_ask, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_a_window_can_ask_the_router_who_is_there, s_setup,
                                         s_teardown),
    };
    return tu_run_tests (tests);
}
