/*  prokit-broker: the prokit router as a daemon, for windows (and a main)
    on other hosts. A thin program around prokit_broker_new(): settings
    from flags, the environment and a config file, one log line per event
    on stderr, and a clean exit on SIGTERM.

    Run prokit-broker --help for the options; docs/SECURITY.md and
    docs/DEPLOY.md for setting it up.
*/
#include <prokit.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "settings.h"

#define EXIT_USAGE 2

static void
s_usage (FILE *out)
{
    fprintf (
        out,
        "Usage: prokit-broker [OPTION]...\n"
        "       prokit-broker --keygen PATH\n"
        "       prokit-broker --ping ENDPOINT [--timeout MS] [--client-cert FILE "
        "--server-key KEY]\n"
        "\n"
        "Route prokit messages between a main process and its windows, on other hosts\n"
        "too. Main attaches with PROKIT_BROKER=ENDPOINT, windows connect with\n"
        "PROKIT_ENDPOINT=ENDPOINT.\n"
        "\n"
        "Options (environment variable; config file key):\n"
        "  -b, --bind ENDPOINT      endpoint to listen on; repeat for several\n"
        "                           (PROKIT_BROKER_BIND, space-separated; bind)\n"
        "                           default: " SETTINGS_DEFAULT_BIND "\n"
        "  -c, --config FILE        read settings from FILE, lines of key = value\n"
        "                           (PROKIT_BROKER_CONFIG)\n"
        "      --curve-cert FILE    the broker's certificate with its secret key: every\n"
        "                           tcp:// endpoint then requires CURVE\n"
        "                           (PROKIT_BROKER_CURVE_CERT; curve_cert)\n"
        "      --curve-allow DIR    directory of client certificates allowed to connect,\n"
        "                           or * for any key (PROKIT_BROKER_CURVE_ALLOW; curve_allow)\n"
        "      --acl FILE           which key may claim which window names and the main\n"
        "                           role (PROKIT_BROKER_ACL; acl)\n"
        "      --insecure           allow plaintext TCP on non-loopback addresses\n"
        "                           (PROKIT_BROKER_INSECURE=1; insecure = true)\n"
        "      --max-payload BYTES  largest payload accepted, default 16 MiB\n"
        "                           (PROKIT_BROKER_MAX_PAYLOAD; max_payload)\n"
        "      --heartbeat-ivl MS   ping every connection this often, default 1000\n"
        "                           (PROKIT_BROKER_HEARTBEAT_IVL; heartbeat_ivl)\n"
        "      --heartbeat-timeout MS  drop a connection silent this long, default 3000\n"
        "                           (PROKIT_BROKER_HEARTBEAT_TIMEOUT; heartbeat_timeout)\n"
        "      --max-windows N      windows joined at once, default 100000; the next is\n"
        "                           refused PROKIT_ELIMIT (PROKIT_BROKER_MAX_WINDOWS; "
        "max_windows)\n"
        "      --max-requests-per-window N  requests one window has in flight, default\n"
        "                           10000 (PROKIT_BROKER_MAX_REQUESTS_PER_WINDOW;\n"
        "                           max_requests_per_window)\n"
        "      --max-messages-per-second N  sends and requests per second from one window,\n"
        "                           default: no limit (PROKIT_BROKER_MAX_MESSAGES_PER_SECOND;\n"
        "                           max_messages_per_second)\n"
        "      --max-pending-per-address N  connections from one address that have not\n"
        "                           joined, default 1000; those past it are closed\n"
        "                           (PROKIT_BROKER_MAX_PENDING_PER_ADDRESS; "
        "max_pending_per_address)\n"
        "      --max-windows-per-key N  windows joined with one CURVE key, default: no limit\n"
        "                           (PROKIT_BROKER_MAX_WINDOWS_PER_KEY; max_windows_per_key)\n");
    //  In two pieces: C99 promises string literals of 4095 bytes, no more.
    fprintf (out,
             "      --io-threads N       libzmq I/O threads, default 1; about one per thousand\n"
             "                           windows (PROKIT_BROKER_IO_THREADS; io_threads)\n"
             "  -l, --log-level LEVEL    error, warn, info (default) or debug\n"
             "                           (PROKIT_LOG; log_level)\n"
             "      --keygen PATH        write a new CURVE key pair to PATH and PATH_secret,\n"
             "                           print the public key, and exit\n"
             "      --ping ENDPOINT      health probe: exit 0 if a broker answers at ENDPOINT,\n"
             "                           1 if not\n"
             "      --timeout MS         how long --ping waits, default 2000\n"
             "      --client-cert FILE   --ping's certificate, for a CURVE endpoint\n"
             "                           (PROKIT_CURVE_CERT)\n"
             "      --server-key KEY     the broker's public key (Z85 or certificate file) for\n"
             "                           --ping (PROKIT_CURVE_SERVER_KEY)\n"
             "  -h, --help               show this help and exit\n"
             "  -V, --version            show the version and exit\n"
             "\n"
             "Precedence: command line, then environment, then config file, then defaults.\n"
             "SIGTERM or SIGINT: peers are told the broker is going, and it exits 0.\n"
             "SIGHUP: the allowed keys and the access list are read again; peers whose key\n"
             "is no longer allowed are dropped (PROKIT_EACCES), the others stay.\n"
             "Exit status: 0 ok, 1 runtime failure, 2 usage or configuration error.\n");
}

//  --- logging ------------------------------------------------------------------

//  Lines go to stderr as "TIME LEVEL text", the library's and our own.
static prokit_log_level_t s_log_level = PROKIT_LOG_INFO; //  set once, before any thread

static void
s_log (prokit_log_level_t level, const char *line, void *arg)
{
    (void) arg;
    if (level > s_log_level)
        return;
    struct timeval now;
    gettimeofday (&now, NULL);
    struct tm utc;
    gmtime_r (&now.tv_sec, &utc);
    char stamp[32];
    strftime (stamp, sizeof (stamp), "%Y-%m-%dT%H:%M:%S", &utc);
    //  One fprintf per line: stdio locks the stream, so lines from the
    //  router's thread never interleave with ours.
    fprintf (stderr, "%s.%03ldZ %-5s %s\n", stamp, (long) now.tv_usec / 1000,
             prokit_log_level_name (level), line);
}

static void s_say (prokit_log_level_t level, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

static void
s_say (prokit_log_level_t level, const char *format, ...)
{
    char line[1024];
    va_list args;
    va_start (args, format);
    vsnprintf (line, sizeof (line), format, args);
    va_end (args);
    s_log (level, line, NULL);
}

//  --- modes -------------------------------------------------------------------

static int
s_keygen (const char *path)
{
    char key[PROKIT_CURVE_KEY_LEN + 1];
    int rc = prokit_curve_keygen (path, key);
    if (rc != PROKIT_OK) {
        fprintf (stderr, "prokit-broker: cannot write keys to %s: %s\n", path,
                 rc == PROKIT_EEXIST ? "the file exists (keys are never overwritten)"
                                     : prokit_strerror (rc));
        return 1;
    }
    printf ("%s\n", key);
    fflush (stdout); //  the key first, for scripts reading both streams
    fprintf (stderr, "prokit-broker: wrote %s (public) and %s_secret (secret, mode 0600)\n", path,
             path);
    return 0;
}

static int
s_ping (const settings_t *settings)
{
    double rtt = 0;
    int rc = prokit_ping (settings->ping, settings->client_cert, settings->server_key,
                          settings->timeout_ms, &rtt);
    if (rc != PROKIT_OK) {
        fprintf (stderr, "prokit-broker: no answer from %s: %s\n", settings->ping,
                 prokit_strerror (rc));
        return 1;
    }
    printf ("%s answered in %.3f ms\n", settings->ping, rtt);
    return 0;
}

static int
s_serve (const settings_t *settings)
{
    //  Block the stop signals before any thread starts, so all of them
    //  inherit the mask and only sigwait() below ever sees the signals.
    sigset_t stop;
    sigemptyset (&stop);
    sigaddset (&stop, SIGTERM);
    sigaddset (&stop, SIGINT);
    sigaddset (&stop, SIGHUP);
    pthread_sigmask (SIG_BLOCK, &stop, NULL);

    prokit_broker_opts_t opts;
    prokit_broker_opts_init (&opts);
    for (size_t i = 0; i < settings->bind_count; i++)
        opts.endpoints[i] = settings->bind[i];
    opts.curve_cert = settings->curve_cert;
    opts.curve_allow = settings->curve_allow;
    opts.acl = settings->acl;
    opts.insecure = settings->insecure;
    opts.max_payload = settings->max_payload;
    opts.max_windows = settings->max_windows;
    opts.max_requests_per_window = settings->max_requests_per_window;
    opts.max_messages_per_second = settings->max_messages_per_second;
    opts.max_pending_per_address = settings->max_pending_per_address;
    opts.max_windows_per_key = settings->max_windows_per_key;
    opts.heartbeat_ivl_ms = settings->heartbeat_ivl_ms;
    opts.heartbeat_timeout_ms = settings->heartbeat_timeout_ms;
    opts.io_threads = settings->io_threads;
    int error = 0;
    prokit_broker_t *broker = prokit_broker_new (&opts, &error);
    if (!broker) {
        fprintf (stderr, "prokit-broker: cannot start: %s\n", prokit_strerror (error));
        return error == PROKIT_EINVAL || error == PROKIT_EACCES ? EXIT_USAGE : 1;
    }
    const char *key = prokit_broker_public_key (broker);
    s_say (PROKIT_LOG_INFO, "prokit-broker %s ready%s%s", PROKIT_VERSION_STRING,
           key ? "; CURVE public key " : " (no CURVE)", key ? key : "");
    int signum = 0;
    while (sigwait (&stop, &signum) != 0 || signum == SIGHUP) {
        if (signum != SIGHUP)
            continue;
        //  Key rotation: the allowed keys and the access list again.
        size_t dropped = 0;
        if (prokit_broker_reload (broker, &dropped) == PROKIT_OK)
            s_say (PROKIT_LOG_INFO, "SIGHUP: keys and access list reloaded, %zu peer(s) dropped",
                   dropped);
        else
            s_say (PROKIT_LOG_WARN, "SIGHUP: access list not reloaded (see above): unchanged");
        signum = 0;
    }
    s_say (PROKIT_LOG_INFO, "%s: telling peers the broker is going, then exiting",
           signum == SIGTERM ? "SIGTERM" : "SIGINT");
    prokit_stats_t stats;
    if (prokit_broker_stats (broker, &stats, sizeof (stats)) == PROKIT_OK)
        s_say (PROKIT_LOG_INFO,
               "counters: received %llu, routed %llu, errors %llu, garbage %llu, malformed %llu, "
               "too big %llu, back pressure %llu, windows %llu",
               stats.received, stats.routed, stats.errors_sent, stats.garbage, stats.malformed,
               stats.too_big, stats.back_pressure, stats.windows);
    prokit_broker_destroy (&broker);
    s_say (PROKIT_LOG_INFO, "stopped");
    return 0;
}

int
main (int argc, char *argv[])
{
    settings_t settings;
    char why[512];
    int rc = settings_load (&settings, argc, argv, why, sizeof (why));
    if (rc != SETTINGS_OK) {
        if (rc == SETTINGS_HELP) {
            s_usage (stdout);
            return 0;
        }
        if (rc == SETTINGS_VERSION) {
            printf ("prokit-broker %s\n", PROKIT_VERSION_STRING);
            return 0;
        }
        fprintf (stderr, "prokit-broker: %s\nTry 'prokit-broker --help'.\n", why);
        return EXIT_USAGE;
    }
    s_log_level = settings.log_level;
    prokit_set_log (s_log, NULL);
    if (settings.keygen)
        rc = s_keygen (settings.keygen);
    else if (settings.ping)
        rc = s_ping (&settings);
    else
        rc = s_serve (&settings);
    settings_free (&settings);
    return rc;
}
