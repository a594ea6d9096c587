/*  test_abi: a program built against an older header runs against this
    library, and one built against a newer header is refused clearly.

    This file does not include prokit.h: it declares the structures as an
    older prokit.h had them (shorter: fields are only ever added at the
    end) and the functions it calls, as a program compiled then would have
    them. Each structure sits in a box with guard bytes after it, which the
    library must never touch: it reads and writes only the size the
    program was compiled with. */
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

//  --- an older header ---------------------------------------------------------

typedef struct old_main_opts {
    size_t size;
    const char *app_name;
    const char *endpoint;
} old_main_opts_t;

typedef struct old_window_opts {
    size_t size;
    const char *app_name;
    const char *endpoint;
    int join_timeout_ms;
} old_window_opts_t;

typedef struct old_window_info {
    char name[64 + 1];
    bool joined;
    long long joined_at_ms;
} old_window_info_t;

typedef struct old_stats {
    unsigned long long received;
    unsigned long long routed;
} old_stats_t;

typedef struct old_spec {
    size_t size;
    const char *path;
} old_spec_t;

typedef struct old_main old_main_t;
typedef struct old_window old_window_t;

old_main_t *prokit_main_new (const old_main_opts_t *opts, int *error);
void prokit_main_destroy (old_main_t **self_p);
const char *prokit_main_endpoint (const old_main_t *self);
int prokit_main_fd (const old_main_t *self);
int prokit_main_dispatch (old_main_t *self);
bool prokit_main_has_window (const old_main_t *self, const char *name);
int prokit_main_get_window (old_main_t *self, const char *name, old_window_info_t *info,
                            size_t info_size);
int prokit_main_get_all_windows (old_main_t *self, old_window_info_t *infos, size_t capacity,
                                 size_t info_size, size_t *count);
int prokit_main_stats (old_main_t *self, old_stats_t *stats, size_t stats_size);
int prokit_main_create_window (old_main_t *self, const char *name, const old_spec_t *spec,
                               void *result, size_t result_size);
old_window_t *prokit_window_new (const char *name, const old_window_opts_t *opts, int *error);
void prokit_window_destroy (old_window_t **self_p);
int prokit_window_list_windows (old_window_t *self, old_window_info_t *infos, size_t capacity,
                                size_t info_size, size_t *count, int timeout_ms);

//  The values of prokit/error.h the test needs (they never change).
enum { OLD_OK = 0, OLD_EINVAL = -1 };

//  --- helpers (testutil.h includes prokit.h, which this file must not) ----------

static void
s_endpoint (char *out, size_t size)
{
    static int counter;
    snprintf (out, size, "ipc:///tmp/prokit-abi-%d-%d.sock", (int) getpid (), ++counter);
}

static int64_t
s_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

//  --- guards --------------------------------------------------------------------

#define GUARD_SIZE 64
#define GUARD_BYTE 0xA5

static void
s_guard_set (uint8_t *guard)
{
    memset (guard, GUARD_BYTE, GUARD_SIZE);
}

static bool
s_guard_intact (const uint8_t *guard)
{
    for (size_t i = 0; i < GUARD_SIZE; i++)
        if (guard[i] != GUARD_BYTE)
            return false;
    return true;
}

static bool
s_has_window (void *arg)
{
    void **args = (void **) arg;
    prokit_main_dispatch ((old_main_t *) args[0]);
    return prokit_main_has_window ((old_main_t *) args[0], (const char *) args[1]);
}

//  Dispatch main until it knows window NAME, at most TIMEOUT_MS.
static bool
s_await_window (old_main_t *main, const char *name, int timeout_ms)
{
    void *args[] = { main, (void *) name };
    int64_t deadline = s_now_ms () + timeout_ms;
    while (!s_has_window (args)) {
        int64_t left = deadline - s_now_ms ();
        if (left <= 0)
            return false;
        struct pollfd item = { prokit_main_fd (main), POLLIN, 0 };
        poll (&item, 1, (int) (left < 100 ? left : 100));
    }
    return true;
}

//  --- the tests -----------------------------------------------------------------

static void
test_an_older_program_runs_against_this_library (void **state)
{
    (void) state;
    char endpoint[256];
    s_endpoint (endpoint, sizeof (endpoint));

    //  Options as an older header had them: the library reads no further.
    struct {
        old_main_opts_t opts;
        uint8_t guard[GUARD_SIZE];
    } main_box;
    memset (&main_box.opts, 0, sizeof (main_box.opts));
    main_box.opts.size = sizeof (main_box.opts);
    main_box.opts.endpoint = endpoint;
    s_guard_set (main_box.guard);
    int error = -100;
    old_main_t *main = prokit_main_new (&main_box.opts, &error);
    assert_non_null (main);
    assert_int_equal (error, OLD_OK);
    assert_string_equal (prokit_main_endpoint (main), endpoint);

    struct {
        old_window_opts_t opts;
        uint8_t guard[GUARD_SIZE];
    } window_box;
    memset (&window_box.opts, 0, sizeof (window_box.opts));
    window_box.opts.size = sizeof (window_box.opts);
    window_box.opts.endpoint = endpoint;
    window_box.opts.join_timeout_ms = 5000;
    s_guard_set (window_box.guard);
    old_window_t *window = prokit_window_new ("elder", &window_box.opts, &error);
    assert_non_null (window);
    assert_true (s_await_window (main, "elder", 5000));

    //  What the library fills: only the older, shorter structure.
    struct {
        old_window_info_t info;
        uint8_t guard[GUARD_SIZE];
    } info_box;
    s_guard_set (info_box.guard);
    assert_int_equal (
        prokit_main_get_window (main, "elder", &info_box.info, sizeof (info_box.info)), OLD_OK);
    assert_string_equal (info_box.info.name, "elder");
    assert_true (info_box.info.joined);
    assert_true (info_box.info.joined_at_ms > 0);
    assert_true (s_guard_intact (info_box.guard));

    //  Arrays are walked at the program's stride, not the library's.
    struct {
        old_window_info_t infos[3];
        uint8_t guard[GUARD_SIZE];
    } list_box;
    memset (list_box.infos, 0, sizeof (list_box.infos));
    s_guard_set (list_box.guard);
    size_t count = 0;
    assert_int_equal (
        prokit_main_get_all_windows (main, list_box.infos, 3, sizeof (list_box.infos[0]), &count),
        OLD_OK);
    assert_int_equal (count, 1);
    assert_string_equal (list_box.infos[0].name, "elder");
    assert_string_equal (list_box.infos[1].name, ""); //  not written: past the count
    assert_true (s_guard_intact (list_box.guard));

    memset (list_box.infos, 0, sizeof (list_box.infos));
    assert_int_equal (prokit_window_list_windows (window, list_box.infos, 3,
                                                  sizeof (list_box.infos[0]), &count, 5000),
                      OLD_OK);
    assert_int_equal (count, 1);
    assert_string_equal (list_box.infos[0].name, "elder");
    assert_true (list_box.infos[0].joined);
    assert_true (s_guard_intact (list_box.guard));

    struct {
        old_stats_t stats;
        uint8_t guard[GUARD_SIZE];
    } stats_box;
    s_guard_set (stats_box.guard);
    assert_int_equal (prokit_main_stats (main, &stats_box.stats, sizeof (stats_box.stats)), OLD_OK);
    assert_true (stats_box.stats.received > 0);
    assert_true (s_guard_intact (stats_box.guard));

    //  Nothing the library read or wrote touched the options' guards.
    assert_true (s_guard_intact (main_box.guard));
    assert_true (s_guard_intact (window_box.guard));
    prokit_window_destroy (&window);
    prokit_main_destroy (&main);
}

//  A program built against a newer header sets an option this library does
//  not have: refused (EINVAL), never silently ignored. Left zero, it is
//  accepted. Options nobody initialised (a size of garbage) are refused
//  without being read.
static void
test_options_from_a_newer_header_or_never_initialised_are_refused (void **state)
{
    (void) state;
    char endpoint[256];
    s_endpoint (endpoint, sizeof (endpoint));
    struct {
        old_main_opts_t opts;
        uint8_t unknown[256]; //  fields a later version added
    } newer;
    memset (&newer, 0, sizeof (newer));
    newer.opts.size = sizeof (newer);
    newer.opts.endpoint = endpoint;
    newer.unknown[200] = 1;
    int error = 0;
    assert_null (prokit_main_new (&newer.opts, &error));
    assert_int_equal (error, OLD_EINVAL);

    newer.unknown[200] = 0; //  a newer field left at its default
    old_main_t *main = prokit_main_new (&newer.opts, &error);
    assert_non_null (main);

    old_main_opts_t garbage;
    memset (&garbage, 0xee, sizeof (garbage));
    garbage.endpoint = endpoint;
    assert_null (prokit_main_new (&garbage, &error));
    assert_int_equal (error, OLD_EINVAL);
    garbage.size = 0;
    assert_null (prokit_main_new (&garbage, &error));
    assert_int_equal (error, OLD_EINVAL);

    old_spec_t spec = { 0, "/bin/true" }; //  size never set
    assert_int_equal (prokit_main_create_window (main, "unset", &spec, NULL, 0), OLD_EINVAL);
    assert_false (prokit_main_has_window (main, "unset"));

    //  An output of size 0 is refused, not written.
    old_window_info_t info;
    assert_int_equal (prokit_main_get_window (main, "unset", &info, 0), OLD_EINVAL);
    prokit_main_destroy (&main);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_an_older_program_runs_against_this_library),
        cmocka_unit_test (test_options_from_a_newer_header_or_never_initialised_are_refused),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
