/*  test_broker_daemon.c: the prokit-broker program itself: its options and
    their precedence, its log lines, key generation, the health probe
    against it, and a clean exit on SIGTERM. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <sys/stat.h>

#include "testutil.h"

//  Start prokit-broker with ARGS (NULL-terminated), its stderr merged into
//  the stdout the test reads.
static void
s_start (tu_child_t *child, const char *const *args)
{
    char *argv[32] = { "/bin/sh", "-c", "exec \"$@\" 2>&1", "sh", PROKIT_BROKER };
    size_t n = 5;
    for (size_t i = 0; args && args[i] && n < 31; i++)
        argv[n++] = (char *) args[i];
    argv[n] = NULL;
    assert_true (tu_spawn (child, argv));
}

//  Read lines until one contains NEEDLE; copy it into LINE. False on
//  timeout or end of output.
static bool
s_wait_for (tu_child_t *child, const char *needle, char *line, size_t size, int timeout_ms)
{
    int64_t deadline = tu_now_ms () + timeout_ms;
    while (tu_now_ms () < deadline) {
        if (!tu_read_line (child, line, size, (int) (deadline - tu_now_ms ())))
            return false;
        if (strstr (line, needle))
            return true;
    }
    return false;
}

//  Run to completion; return the exit status and the whole output in OUT.
static int
s_run (const char *const *args, char *out, size_t size)
{
    tu_child_t child;
    s_start (&child, args);
    size_t used = 0;
    char line[1024];
    out[0] = 0;
    while (tu_read_line (&child, line, sizeof (line), 10000))
        used += (size_t) snprintf (out + used, used < size ? size - used : 0, "%s\n", line);
    int status = tu_reap (&child, 10000);
    return WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

static void
test_help_lists_every_option (void **state)
{
    (void) state;
    static char out[16384];
    const char *args[] = { "--help", NULL };
    assert_int_equal (s_run (args, out, sizeof (out)), 0);
    const char *options[] = { "--bind",
                              "--config",
                              "--curve-cert",
                              "--curve-allow",
                              "--acl",
                              "--insecure",
                              "--max-payload",
                              "--heartbeat-ivl",
                              "--heartbeat-timeout",
                              "--max-windows",
                              "--max-requests-per-window",
                              "--max-messages-per-second",
                              "--max-pending-per-address",
                              "--max-windows-per-key",
                              "--io-threads",
                              "--log-level",
                              "--keygen",
                              "--ping",
                              "--timeout",
                              "--client-cert",
                              "--server-key",
                              "--help",
                              "--version",
                              "PROKIT_BROKER_BIND",
                              "PROKIT_BROKER_CONFIG",
                              "PROKIT_BROKER_CURVE_CERT",
                              "PROKIT_BROKER_CURVE_ALLOW",
                              "PROKIT_BROKER_ACL",
                              "PROKIT_BROKER_INSECURE",
                              "PROKIT_BROKER_MAX_WINDOWS",
                              "PROKIT_BROKER_MAX_REQUESTS_PER_WINDOW",
                              "PROKIT_BROKER_MAX_MESSAGES_PER_SECOND",
                              "PROKIT_BROKER_MAX_PENDING_PER_ADDRESS",
                              "PROKIT_BROKER_MAX_WINDOWS_PER_KEY",
                              "PROKIT_BROKER_IO_THREADS",
                              "PROKIT_LOG",
                              "SIGHUP",
                              "Precedence" };
    for (size_t i = 0; i < sizeof (options) / sizeof (options[0]); i++)
        if (!strstr (out, options[i]))
            fail_msg ("--help does not mention %s", options[i]);

    const char *version[] = { "--version", NULL };
    assert_int_equal (s_run (version, out, sizeof (out)), 0);
    assert_non_null (strstr (out, "prokit-broker 0."));
}

static void
test_usage_errors_exit_2 (void **state)
{
    (void) state;
    static char out[8192];
    const char *unknown[] = { "--frobnicate", NULL };
    assert_int_equal (s_run (unknown, out, sizeof (out)), 2);
    assert_non_null (strstr (out, "--frobnicate"));
    const char *extra[] = { "stray", NULL };
    assert_int_equal (s_run (extra, out, sizeof (out)), 2);
    const char *bad_number[] = { "--max-payload", "lots", NULL };
    assert_int_equal (s_run (bad_number, out, sizeof (out)), 2);
    assert_non_null (strstr (out, "--max-payload"));
    const char *bad_limit[] = { "--max-windows", "-1", NULL };
    assert_int_equal (s_run (bad_limit, out, sizeof (out)), 2);
    assert_non_null (strstr (out, "--max-windows"));
    const char *bad_threads[] = { "--io-threads", "-2", NULL };
    assert_int_equal (s_run (bad_threads, out, sizeof (out)), 2);
    assert_non_null (strstr (out, "--io-threads"));
    const char *bad_level[] = { "--log-level", "loud", NULL };
    assert_int_equal (s_run (bad_level, out, sizeof (out)), 2);
    const char *not_endpoint[] = { "--bind", "localhost", NULL };
    assert_int_equal (s_run (not_endpoint, out, sizeof (out)), 2);
    //  Plaintext TCP on every interface is refused without --insecure.
    const char *plaintext[] = { "--bind", "tcp://0.0.0.0:*", NULL };
    assert_int_equal (s_run (plaintext, out, sizeof (out)), 2);
    assert_non_null (strstr (out, "refusing plaintext TCP"));
    //  A config file's mistakes are named by line.
    char path[] = "/tmp/prokit-broker-conf-XXXXXX";
    int fd = mkstemp (path);
    const char *text = "# settings\nlog_level = info\ncolour = blue\n";
    assert_int_equal (write (fd, text, strlen (text)), (ssize_t) strlen (text));
    close (fd);
    const char *config[] = { "--config", path, NULL };
    assert_int_equal (s_run (config, out, sizeof (out)), 2);
    char where[128];
    snprintf (where, sizeof (where), "%s:3: unknown setting 'colour'", path);
    assert_non_null (strstr (out, where));
    const char *missing[] = { "--config", "/nonexistent.conf", NULL };
    assert_int_equal (s_run (missing, out, sizeof (out)), 2);
    unlink (path);
}

static void
test_keygen (void **state)
{
    (void) state;
    static char out[4096];
    char dir[] = "/tmp/prokit-broker-keys-XXXXXX";
    assert_non_null (mkdtemp (dir));
    char path[128];
    snprintf (path, sizeof (path), "%s/broker", dir);
    const char *args[] = { "--keygen", path, NULL };
    assert_int_equal (s_run (args, out, sizeof (out)), 0);
    assert_int_equal (strcspn (out, "\n"), PROKIT_CURVE_KEY_LEN); //  the key, first
    struct stat info;
    char secret[160];
    snprintf (secret, sizeof (secret), "%s_secret", path);
    assert_int_equal (stat (secret, &info), 0);
    assert_int_equal (info.st_mode & 0777, 0600);
    assert_int_equal (s_run (args, out, sizeof (out)), 1); //  never overwrites
    assert_non_null (strstr (out, "exists"));
    unlink (secret);
    unlink (path);
    rmdir (dir);
}

//  --max-windows 1: the second window is refused with PROKIT_ELIMIT, and
//  the broker says so.
static void
test_limits_from_the_command_line (void **state)
{
    (void) state;
    char endpoint[256];
    tu_endpoint ("ipc", endpoint, sizeof (endpoint));
    const char *args[] = { "--bind", endpoint, "--max-windows", "1", NULL };
    tu_child_t broker;
    s_start (&broker, args);
    char line[1024];
    assert_true (s_wait_for (&broker, "ready", line, sizeof (line), 5000));
    prokit_window_t *first = tu_window_new (endpoint, "first");
    assert_non_null (first);
    prokit_window_opts_t opts;
    prokit_window_opts_init (&opts);
    opts.endpoint = endpoint;
    int error = PROKIT_OK;
    assert_null (prokit_window_new ("second", &opts, &error));
    assert_int_equal (error, PROKIT_ELIMIT);
    assert_true (s_wait_for (&broker, "the limit is 1", line, sizeof (line), 5000));
    prokit_window_destroy (&first);
    kill (broker.pid, SIGTERM);
    int status = tu_reap (&broker, 5000);
    assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
}

//  Serve; a window joins and is logged; the probe answers; SIGTERM ends
//  it with status 0, and the window hears the broker went.
static void
test_serve_log_ping_and_sigterm (void **state)
{
    (void) state;
    char endpoint[256];
    tu_endpoint ("ipc", endpoint, sizeof (endpoint));
    const char *args[] = { "--bind", endpoint, "--heartbeat-ivl", "200", NULL };
    tu_child_t broker;
    s_start (&broker, args);
    char line[1024];
    assert_true (s_wait_for (&broker, "ready", line, sizeof (line), 5000));
    assert_non_null (strstr (line, " info "));

    static char out[4096];
    const char *ping[] = { "--ping", endpoint, NULL };
    assert_int_equal (s_run (ping, out, sizeof (out)), 0);
    assert_non_null (strstr (out, "answered"));

    prokit_window_opts_t opts;
    prokit_window_opts_init (&opts);
    opts.endpoint = endpoint;
    prokit_window_t *window = prokit_window_new ("watcher", &opts, NULL);
    assert_non_null (window);
    assert_true (s_wait_for (&broker, "'watcher' joined", line, sizeof (line), 5000));

    int64_t start = tu_now_ms ();
    kill (broker.pid, SIGTERM);
    assert_true (s_wait_for (&broker, "stopped", line, sizeof (line), 5000));
    int status = tu_reap (&broker, 5000);
    print_message ("prokit-broker exited %lld ms after SIGTERM\n",
                   (long long) (tu_now_ms () - start));
    assert_true (WIFEXITED (status));
    assert_int_equal (WEXITSTATUS (status), 0);
    //  The window was told: it is no longer connected.
    int64_t deadline = tu_now_ms () + 5000;
    while (prokit_window_is_connected (window) && tu_now_ms () < deadline)
        prokit_window_run (window, 50);
    assert_false (prokit_window_is_connected (window));
    prokit_window_destroy (&window);

    //  Nothing answers any more.
    const char *late[] = { "--ping", endpoint, "--timeout", "300", NULL };
    assert_int_equal (s_run (late, out, sizeof (out)), 1);
}

//  Is a broker listening at ENDPOINT?
static bool
s_answers (const char *endpoint)
{
    return prokit_ping (endpoint, NULL, NULL, 300, NULL) == PROKIT_OK;
}

//  Command line over environment over config file.
static void
test_precedence (void **state)
{
    (void) state;
    char from_file[256], from_env[256], from_flag[256];
    tu_endpoint ("ipc", from_file, sizeof (from_file));
    tu_endpoint ("ipc", from_env, sizeof (from_env));
    tu_endpoint ("ipc", from_flag, sizeof (from_flag));
    char path[] = "/tmp/prokit-broker-conf-XXXXXX";
    int fd = mkstemp (path);
    char text[512];
    snprintf (text, sizeof (text), "bind = %s\nheartbeat_ivl = 500\n", from_file);
    assert_int_equal (write (fd, text, strlen (text)), (ssize_t) strlen (text));
    close (fd);
    setenv ("PROKIT_BROKER_CONFIG", path, 1);

    for (int round = 0; round < 3; round++) {
        if (round >= 1)
            setenv ("PROKIT_BROKER_BIND", from_env, 1);
        const char *args[] = { round == 2 ? "--bind" : NULL, from_flag, NULL };
        tu_child_t broker;
        s_start (&broker, args);
        char line[1024];
        assert_true (s_wait_for (&broker, "ready", line, sizeof (line), 5000));
        assert_int_equal (s_answers (from_file), round == 0);
        assert_int_equal (s_answers (from_env), round == 1);
        assert_int_equal (s_answers (from_flag), round == 2);
        kill (broker.pid, SIGTERM);
        int status = tu_reap (&broker, 5000);
        assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
    }
    unsetenv ("PROKIT_BROKER_BIND");
    unsetenv ("PROKIT_BROKER_CONFIG");
    unlink (path);
}

//  CURVE from the command line: the probe needs a key the broker allows.
static void
test_curve_daemon (void **state)
{
    (void) state;
    char dir[] = "/tmp/prokit-broker-curve-XXXXXX";
    assert_non_null (mkdtemp (dir));
    char allow[160], broker_cert[160], client_cert[160], acl[160], copy[512];
    snprintf (allow, sizeof (allow), "%s/allow", dir);
    snprintf (broker_cert, sizeof (broker_cert), "%s/broker", dir);
    snprintf (client_cert, sizeof (client_cert), "%s/client", dir);
    snprintf (acl, sizeof (acl), "%s/acl", dir);
    assert_int_equal (mkdir (allow, 0700), 0);
    char broker_key[41], client_key[41];
    assert_int_equal (prokit_curve_keygen (broker_cert, broker_key), PROKIT_OK);
    assert_int_equal (prokit_curve_keygen (client_cert, client_key), PROKIT_OK);
    snprintf (copy, sizeof (copy), "cp '%s' '%s/'", client_cert, allow);
    assert_int_equal (system (copy), 0);
    FILE *file = fopen (acl, "w");
    fprintf (file, "%s worker-*\n", client_key);
    fclose (file);

    const char *args[] = { "--bind",
                           "tcp://127.0.0.1:*",
                           "--curve-cert",
                           broker_cert,
                           "--curve-allow",
                           allow,
                           "--acl",
                           acl,
                           NULL };
    tu_child_t broker;
    s_start (&broker, args);
    char line[1024];
    assert_true (s_wait_for (&broker, "listening on", line, sizeof (line), 5000));
    assert_non_null (strstr (line, "(CURVE)"));
    char endpoint[128];
    assert_int_equal (sscanf (strstr (line, "tcp://"), "%127s", endpoint), 1);
    assert_true (s_wait_for (&broker, "ready", line, sizeof (line), 5000));
    assert_non_null (strstr (line, broker_key));

    static char out[4096];
    const char *plain[] = { "--ping", endpoint, NULL };
    assert_int_equal (s_run (plain, out, sizeof (out)), 1);
    assert_non_null (strstr (out, "permission denied"));
    const char *keyed[] = { "--ping",   endpoint, "--client-cert", client_cert, "--server-key",
                            broker_key, NULL };
    assert_int_equal (s_run (keyed, out, sizeof (out)), 0);

    //  A refused claim is logged with the key.
    prokit_window_opts_t opts;
    prokit_window_opts_init (&opts);
    opts.endpoint = endpoint;
    opts.curve_cert = client_cert;
    opts.curve_server_key = broker_cert;
    int error = 0;
    assert_null (prokit_window_new ("boss", &opts, &error));
    assert_int_equal (error, PROKIT_EACCES);
    assert_true (s_wait_for (&broker, "refused boss", line, sizeof (line), 5000));
    assert_non_null (strstr (line, client_key));
    prokit_window_t *worker = prokit_window_new ("worker-1", &opts, &error);
    assert_non_null (worker);

    //  SIGHUP: key rotation. The access list now gives the key other
    //  names: the joined worker-1 is dropped with PROKIT_EACCES.
    file = fopen (acl, "w");
    fprintf (file, "%s helper-*\n", client_key);
    fclose (file);
    tu_connection_log_t log = { 0, 0, 0, 0 };
    prokit_window_on_connection (worker, tu_log_connection, &log);
    kill (broker.pid, SIGHUP);
    assert_true (s_wait_for (&broker, "SIGHUP: keys and access list reloaded, 1 peer(s) dropped",
                             line, sizeof (line), 5000));
    int64_t deadline = tu_now_ms () + 5000;
    while (log.lost == 0 && tu_now_ms () < deadline)
        prokit_window_run (worker, 50);
    assert_int_equal (log.lost, 1);
    assert_int_equal (log.last_code, PROKIT_EACCES);
    prokit_window_destroy (&worker);
    //  A broken access list is refused; the broker serves on.
    file = fopen (acl, "w");
    fprintf (file, "nonsense\n");
    fclose (file);
    kill (broker.pid, SIGHUP);
    assert_true (s_wait_for (&broker, "access list not reloaded", line, sizeof (line), 5000));
    worker = prokit_window_new ("helper-1", &opts, &error);
    assert_non_null (worker);
    prokit_window_destroy (&worker);

    kill (broker.pid, SIGINT);
    int status = tu_reap (&broker, 5000);
    assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
    snprintf (copy, sizeof (copy), "rm -rf '%s'", dir);
    assert_int_equal (system (copy), 0);
}

//  A broker that freezes (SIGSTOP: its connections stay open) is noticed
//  by main attached to it and by its windows through their own heartbeats,
//  within about 4 s; when it thaws they join again, and main's messages
//  reach the window on the channel once more.
typedef struct frozen_check {
    tu_connection_log_t *main_log;
    tu_connection_log_t *window_log;
    int received;
    int want_lost, want_rejoined, want_received;
} frozen_check_t;

static void
s_count_main_message (const prokit_message_t *message, void *arg)
{
    (void) message;
    ((frozen_check_t *) arg)->received++;
}

static bool
s_frozen_state (void *arg)
{
    frozen_check_t *c = (frozen_check_t *) arg;
    return c->main_log->lost >= c->want_lost && c->window_log->lost >= c->want_lost &&
           c->main_log->rejoined >= c->want_rejoined &&
           c->window_log->rejoined >= c->want_rejoined && c->received >= c->want_received;
}

static bool
s_window_joined (void *arg)
{
    return prokit_main_has_window ((prokit_main_t *) arg, "watcher");
}

static void
test_main_and_windows_notice_a_frozen_broker_and_rejoin (void **state)
{
    (void) state;
    char endpoint[256];
    tu_endpoint ("ipc", endpoint, sizeof (endpoint));
    const char *args[] = { "--bind", endpoint, NULL };
    tu_child_t broker;
    s_start (&broker, args);
    char line[1024];
    assert_true (s_wait_for (&broker, "ready", line, sizeof (line), 5000));

    prokit_main_opts_t main_opts;
    prokit_main_opts_init (&main_opts);
    main_opts.broker = endpoint;
    prokit_main_t *main_handle = prokit_main_new (&main_opts, NULL);
    assert_non_null (main_handle);
    prokit_window_opts_t opts;
    prokit_window_opts_init (&opts);
    opts.endpoint = endpoint;
    prokit_window_t *window = prokit_window_new ("watcher", &opts, NULL);
    assert_non_null (window);
    tu_connection_log_t main_log = { 0, 0, 0, 0 }, window_log = { 0, 0, 0, 0 };
    prokit_main_on_connection (main_handle, tu_log_connection, &main_log);
    prokit_window_on_connection (window, tu_log_connection, &window_log);
    frozen_check_t check = { &main_log, &window_log, 0, 0, 0, 1 };
    prokit_window_on_main_message (window, s_count_main_message, &check);
    tu_handle_t handles[] = { { main_handle, NULL }, { NULL, window } };
    assert_true (tu_pump (handles, 1, s_window_joined, main_handle, 5000));
    prokit_payload_t *payload = prokit_payload_new_string ("before");
    assert_int_equal (prokit_main_send (main_handle, "watcher", &payload), PROKIT_OK);
    assert_true (tu_pump (handles, 2, s_frozen_state, &check, 5000));

    kill (broker.pid, SIGSTOP);
    int64_t frozen_at = tu_now_ms ();
    check.want_lost = 1;
    assert_true (tu_pump (handles, 2, s_frozen_state, &check, 10000));
    int64_t noticed_ms = tu_now_ms () - frozen_at;
    print_message ("main and its window noticed the frozen broker after %lld ms\n",
                   (long long) noticed_ms);
    assert_true (noticed_ms < 6000);

    kill (broker.pid, SIGCONT);
    check.want_rejoined = 1;
    assert_true (tu_pump (handles, 2, s_frozen_state, &check, 15000));
    assert_true (tu_pump (handles, 1, s_window_joined, main_handle, 5000));
    payload = prokit_payload_new_string ("after");
    assert_int_equal (prokit_main_send (main_handle, "watcher", &payload), PROKIT_OK);
    check.want_received = 2;
    assert_true (tu_pump (handles, 2, s_frozen_state, &check, 5000));

    prokit_window_destroy (&window);
    prokit_main_destroy (&main_handle);
    kill (broker.pid, SIGTERM);
    int status = tu_reap (&broker, 5000);
    assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_help_lists_every_option),
        cmocka_unit_test (test_usage_errors_exit_2),
        cmocka_unit_test (test_keygen),
        cmocka_unit_test (test_limits_from_the_command_line),
        cmocka_unit_test (test_serve_log_ping_and_sigterm),
        cmocka_unit_test (test_precedence),
        cmocka_unit_test (test_curve_daemon),
        cmocka_unit_test (test_main_and_windows_notice_a_frozen_broker_and_rejoin),
    };
    return tu_run_tests (tests);
}
