/*  fuzz_settings.c: prokit-broker's settings (broker/settings.c), the
    reusable part of how the daemon reads its configuration.

    The first byte picks the source:

        even  the rest is a config file ("key = value" lines), read
              through settings_load (argv: --config FILE)
        odd   the rest, cut at NUL bytes, is the command line after the
              program's name (at most 32 arguments); an argument with a
              '/' drops the input unless it has "://" and does not start
              with '/' (an endpoint), so that --config or -c never names a
              device (/dev/zero would be read forever): such a path is
              relative, under a directory such as "tcp:" that the working
              directory tools/fuzz.sh runs in (empty) does not have

    The environment stays empty: every variable settings_load() reads goes
    through the same key = value path as the config file. Checked: a
    refusal says why, and what loads is within its documented bounds.
*/
#define _GNU_SOURCE //  memfd_create
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "settings.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf (stderr, "fuzz_settings: %s:%d: check failed: %s\n", __FILE__, __LINE__,       \
                     #cond);                                                                       \
            abort ();                                                                              \
        }                                                                                          \
    } while (0)

#define ARGS_MAX 32

static int s_config_fd = -1;
static char s_config_path[64];

static const char *const s_variables[] = {
    "PROKIT_BROKER_BIND",
    "PROKIT_BROKER_CURVE_CERT",
    "PROKIT_BROKER_CURVE_ALLOW",
    "PROKIT_BROKER_ACL",
    "PROKIT_BROKER_INSECURE",
    "PROKIT_BROKER_MAX_PAYLOAD",
    "PROKIT_BROKER_HEARTBEAT_IVL",
    "PROKIT_BROKER_HEARTBEAT_TIMEOUT",
    "PROKIT_LOG",
    "PROKIT_BROKER_CONFIG",
    "PROKIT_CURVE_CERT",
    "PROKIT_CURVE_SERVER_KEY",
};

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
    (void) argc;
    (void) argv;
    for (size_t i = 0; i < sizeof (s_variables) / sizeof (s_variables[0]); i++)
        unsetenv (s_variables[i]);
    //  The config file lives in memory, rewritten for each input.
    s_config_fd = memfd_create ("fuzz-settings", 0);
    CHECK (s_config_fd >= 0);
    snprintf (s_config_path, sizeof (s_config_path), "/proc/self/fd/%d", s_config_fd);
    return 0;
}

//  What a successful load promises prokit-broker's main().
static void
s_check_loaded (const settings_t *settings)
{
    CHECK (settings->bind_count >= 1 && settings->bind_count <= PROKIT_BROKER_ENDPOINTS_MAX);
    for (size_t i = 0; i < settings->bind_count; i++)
        CHECK (settings->bind[i] && strstr (settings->bind[i], "://"));
    CHECK (settings->max_payload <= PROKIT_MAX_PAYLOAD_LIMIT);
    CHECK (settings->heartbeat_ivl_ms >= 0 && settings->heartbeat_timeout_ms >= 0);
    CHECK (settings->timeout_ms >= 0);
    CHECK (settings->log_level >= PROKIT_LOG_ERROR && settings->log_level <= PROKIT_LOG_DEBUG);
}

static void
s_load (int argc, char **argv)
{
    //  A fresh process's getopt: settings_load() sets optind to 1, which
    //  leaves glibc's scanning state (a cluster of short options an
    //  earlier parse stopped in) as it was; optind 0 resets it whole.
    optind = 0;
    char *reset[] = { (char *) "reset", NULL };
    opterr = 0;
    (void) getopt (1, reset, "");
    settings_t settings;
    char why[512];
    settings_result_t result = settings_load (&settings, argc, argv, why, sizeof (why));
    CHECK (result == SETTINGS_OK || result == SETTINGS_HELP || result == SETTINGS_VERSION ||
           result == SETTINGS_ERROR);
    if (result == SETTINGS_ERROR)
        CHECK (why[0]);
    if (result == SETTINGS_OK) {
        s_check_loaded (&settings);
        settings_free (&settings);
    }
}

static void
s_config_file (const uint8_t *data, size_t size)
{
    CHECK (ftruncate (s_config_fd, 0) == 0);
    CHECK (pwrite (s_config_fd, data, size, 0) == (ssize_t) size);
    char *argv[] = { (char *) "prokit-broker", (char *) "--config", s_config_path, NULL };
    s_load (3, argv);
}

static void
s_command_line (const uint8_t *data, size_t size)
{
    char *copy = (char *) malloc (size + 1);
    CHECK (copy);
    memcpy (copy, data, size);
    copy[size] = 0;
    char *argv[ARGS_MAX + 2] = { (char *) "prokit-broker" };
    int argc = 1;
    for (size_t at = 0; at <= size && argc <= ARGS_MAX; at += strlen (copy + at) + 1) {
        const char *arg = copy + at;
        if (strchr (arg, '/') && (arg[0] == '/' || !strstr (arg, "://"))) {
            free (copy);
            return;
        }
        argv[argc++] = copy + at;
    }
    argv[argc] = NULL;
    s_load (argc, argv);
    free (copy);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] % 2 == 0)
        s_config_file (data + 1, size - 1);
    else
        s_command_line (data + 1, size - 1);
    return 0;
}
