/*  test_log.c: diagnostics go to the application's hook, or to stderr
    filtered by PROKIT_LOG; the library never prints otherwise. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <fcntl.h>

#include "testutil.h"

typedef struct captured {
    int count;
    prokit_log_level_t level;
    char line[1024];
} captured_t;

static void
s_capture (prokit_log_level_t level, const char *line, void *arg)
{
    captured_t *captured = (captured_t *) arg;
    //  Keep the warning this test provokes; ignore info/debug chatter.
    if (level <= PROKIT_LOG_WARN && strstr (line, "ghost")) {
        captured->count++;
        captured->level = level;
        snprintf (captured->line, sizeof (captured->line), "%s", line);
    }
}

static bool
s_captured (void *arg)
{
    return ((captured_t *) arg)->count > 0;
}

//  A window sends to a window that does not exist, with no undelivered
//  callback: the failure is logged at warn level, never silent.
static void
s_provoke_warning (tu_handle_t *handles, prokit_window_t *window, tu_predicate_fn *done, void *arg,
                   int timeout_ms)
{
    prokit_payload_t *payload = prokit_payload_new_string ("hello?");
    assert_int_equal (prokit_window_send (window, "ghost", &payload), PROKIT_OK);
    tu_pump (handles, 2, done, arg, timeout_ms);
}

static void
test_level_names (void **state)
{
    (void) state;
    assert_string_equal (prokit_log_level_name (PROKIT_LOG_ERROR), "error");
    assert_string_equal (prokit_log_level_name (PROKIT_LOG_WARN), "warn");
    assert_string_equal (prokit_log_level_name (PROKIT_LOG_INFO), "info");
    assert_string_equal (prokit_log_level_name (PROKIT_LOG_DEBUG), "debug");
    assert_string_equal (prokit_log_level_name ((prokit_log_level_t) 42), "?");
}

typedef struct file_check {
    const char *path;
} file_check_t;

static bool
s_file_has_ghost (void *arg)
{
    FILE *file = fopen (((file_check_t *) arg)->path, "r");
    char text[4096] = "";
    if (file) {
        size_t n = fread (text, 1, sizeof (text) - 1, file);
        text[n] = 0;
        fclose (file);
    }
    return strstr (text, "prokit: warn:") && strstr (text, "ghost");
}

static void
test_hook_receives_lines_and_stderr_is_the_filtered_default (void **state)
{
    (void) state;
    char endpoint[256];
    tu_endpoint ("ipc", endpoint, sizeof (endpoint));
    prokit_main_opts_t opts;
    prokit_main_opts_init (&opts);
    opts.endpoint = endpoint;
    prokit_main_t *main_handle = prokit_main_new (&opts, NULL);
    prokit_window_opts_t window_opts;
    prokit_window_opts_init (&window_opts);
    window_opts.endpoint = endpoint;
    prokit_window_t *window = prokit_window_new ("logger", &window_opts, NULL);
    assert_non_null (window);
    tu_handle_t handles[] = { { main_handle, NULL }, { NULL, window } };

    //  With a hook: the line reaches it.
    captured_t captured = { 0, PROKIT_LOG_DEBUG, "" };
    prokit_set_log (s_capture, &captured);
    s_provoke_warning (handles, window, s_captured, &captured, 5000);
    assert_int_equal (captured.count, 1);
    assert_int_equal (captured.level, PROKIT_LOG_WARN);
    assert_non_null (strstr (captured.line, "not delivered"));

    //  Without: stderr, filtered by PROKIT_LOG.
    prokit_set_log (NULL, NULL);
    char path[] = "/tmp/prokit-test-log-XXXXXX";
    int fd = mkstemp (path);
    int saved = dup (STDERR_FILENO);
    dup2 (fd, STDERR_FILENO);
    setenv ("PROKIT_LOG", "error", 1); //  a warning is below the threshold
    file_check_t check = { path };
    //  Nothing is to appear: give it a second, far more than a local error needs.
    s_provoke_warning (handles, window, s_file_has_ghost, &check, 1000);
    bool filtered_out = !s_file_has_ghost (&check);
    setenv ("PROKIT_LOG", "warn", 1);
    s_provoke_warning (handles, window, s_file_has_ghost, &check, 5000);
    bool printed = s_file_has_ghost (&check);
    unsetenv ("PROKIT_LOG");
    dup2 (saved, STDERR_FILENO);
    close (saved);
    close (fd);
    unlink (path);
    assert_true (filtered_out);
    assert_true (printed);
    prokit_window_destroy (&window);
    prokit_main_destroy (&main_handle);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_level_names),
        cmocka_unit_test (test_hook_receives_lines_and_stderr_is_the_filtered_default),
    };
    return tu_run_tests (tests);
}
