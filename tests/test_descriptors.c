/*  test_descriptors.c: running out of file descriptors is an error the
    caller gets (PROKIT_ENOFILE), never an abort, in main and in windows;
    and once descriptors are free again, everything works as before.

    The process lowers its own descriptor limit, so that the limit is met
    after a few dozen windows rather than thousands. Main listens on tcp:
    libzmq's ipc listener asserts when accept() finds no descriptor (a
    libzmq limit, docs/GUIDE.md "Running out of descriptors"), its tcp
    listener tries again later. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/resource.h>

#include <cmocka.h>

#include "testutil.h"

#define FD_LIMIT 256
#define WINDOWS_MAX 200

//  Descriptors open in this process now.
static int
s_open_fds (void)
{
    DIR *dir = opendir ("/proc/self/fd");
    if (!dir)
        return -1;
    int count = 0;
    while (readdir (dir))
        count++;
    closedir (dir);
    return count - 3; //  ".", ".." and the directory's own
}

static prokit_payload_t *
s_echo (prokit_request_t *request, void *arg)
{
    (void) arg;
    return prokit_payload_dup (prokit_request_payload (request));
}

typedef struct asked {
    prokit_main_t *main;
    prokit_window_t *window;
    int status;
    bool done;
} asked_t;

static void
s_on_reply (prokit_reply_t *reply, void *arg)
{
    asked_t *asked = (asked_t *) arg;
    asked->status = prokit_reply_status (reply);
    asked->done = true;
}

static bool
s_answered (void *arg)
{
    return ((asked_t *) arg)->done;
}

//  WINDOW asks main for an echo: PROKIT_OK once it is answered.
static int
s_ask (prokit_main_t *main, prokit_window_t *window)
{
    asked_t asked = { main, window, PROKIT_ETIMEDOUT, false };
    prokit_payload_t *payload = prokit_payload_new_string ("ping");
    int rc = prokit_window_request (window, NULL, &payload, 5000, s_on_reply, &asked);
    prokit_payload_destroy (&payload); //  NULL once sent
    if (rc != PROKIT_OK)
        return rc;
    tu_handle_t handles[] = { { main, NULL }, { NULL, window } };
    tu_pump (handles, 2, s_answered, &asked, 10000);
    return asked.status;
}

static prokit_window_t *
s_window_new (const char *endpoint, int index, int *error)
{
    char name[32];
    snprintf (name, sizeof (name), "w%d", index);
    prokit_window_opts_t opts;
    prokit_window_opts_init (&opts);
    opts.endpoint = endpoint;
    opts.join_timeout_ms = 2000;
    return prokit_window_new (name, &opts, error);
}

static void
test_out_of_descriptors_is_an_error_and_recovers (void **state)
{
    (void) state;
    struct rlimit limit = { FD_LIMIT, FD_LIMIT };
    assert_int_equal (setrlimit (RLIMIT_NOFILE, &limit), 0);

    int before_main = s_open_fds ();
    prokit_main_t *main = tu_main_new ("tcp", NULL);
    assert_non_null (main);
    prokit_main_on_request (main, s_echo, NULL);
    const char *endpoint = prokit_main_endpoint (main);
    int after_main = s_open_fds ();

    //  Windows until the descriptors run out: the last one fails with an
    //  error, the process goes on.
    prokit_window_t *windows[WINDOWS_MAX] = { NULL };
    int count = 0, error = PROKIT_OK;
    int after_first = 0;
    while (count < WINDOWS_MAX) {
        prokit_window_t *window = s_window_new (endpoint, count, &error);
        if (!window)
            break;
        windows[count++] = window;
        if (count == 1)
            after_first = s_open_fds ();
    }
    assert_true (count > 1 && count < WINDOWS_MAX);
    //  Out of descriptors in the window, or in main, which then could
    //  not accept its connection (the join times out).
    assert_true (error == PROKIT_ENOFILE || error == PROKIT_ETIMEDOUT);
    print_message ("main: %d descriptors; the first window with its connections: %d; %d windows "
                   "joined within a limit of %d (%.1f each); the next: %s\n",
                   after_main - before_main, after_first - after_main, count, FD_LIMIT,
                   (double) (FD_LIMIT - after_main) / count, prokit_error_name (error));

    //  At the limit, every attempt fails the same way, a main too.
    for (int i = 0; i < 20; i++) {
        prokit_window_t *window = s_window_new (endpoint, WINDOWS_MAX + i, &error);
        if (window) //  a descriptor came free meanwhile
            windows[count++ % WINDOWS_MAX] = window;
        else
            assert_true (error == PROKIT_ENOFILE || error == PROKIT_ETIMEDOUT);
    }
    int filler[FD_LIMIT];
    int fillers = 0;
    //  Take every descriptor left, so that a new main certainly meets the
    //  limit: it must say so.
    while (fillers < FD_LIMIT && (filler[fillers] = dup (0)) >= 0)
        fillers++;
    int main_error = PROKIT_OK;
    prokit_main_opts_t opts;
    prokit_main_opts_init (&opts);
    char other[256];
    tu_endpoint ("tcp", other, sizeof (other));
    opts.endpoint = other;
    prokit_main_t *second = prokit_main_new (&opts, &main_error);
    assert_null (second);
    assert_int_equal (main_error, PROKIT_ENOFILE);
    for (int i = 0; i < fillers; i++)
        close (filler[i]);

    //  Descriptors free again: windows join, and a surviving window's
    //  request is answered.
    for (int i = count / 2; i < count && i < WINDOWS_MAX; i++)
        prokit_window_destroy (&windows[i]);
    prokit_window_t *late = s_window_new (endpoint, 999, &error);
    assert_non_null (late);
    assert_int_equal (s_ask (main, late), PROKIT_OK);
    assert_int_equal (s_ask (main, windows[0]), PROKIT_OK);
    prokit_window_destroy (&late);
    for (int i = 0; i < count && i < WINDOWS_MAX; i++)
        prokit_window_destroy (&windows[i]);
    prokit_main_destroy (&main);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_out_of_descriptors_is_an_error_and_recovers),
    };
    return tu_run_tests (tests);
}
