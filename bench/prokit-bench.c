/*  prokit-bench: prokit measured against a raw libzmq program doing the same
    work, in the same run, so that every figure can be given as a ratio to
    raw libzmq on the same (noisy) machine. docs/PERFORMANCE.md explains the
    scenarios and the results.

    prokit-bench              the full benchmark (a few minutes at most)
    prokit-bench --smoke      every scenario with tiny counts; exits non-zero
                              only when a message is lost or mismatched
    prokit-bench --json       print the results as JSON instead of a table
    prokit-bench --only NAME  run one scenario: rtt, w2w, pipe, send, bcast,
                              bcast100, slow, many, channel (a named
                              channel against the default one), pool (4
                              workers against 1), many10k (10,000
                              windows joined to a main and to a broker,
                              a few minutes: not in the full run)
    prokit-bench --only many10k --scale N
                              many10k with N windows instead
    prokit-bench --profile NAME raw|prokit N
                              one side of one scenario (rtt: 16 B ipc round
                              trips one at a time, $PROKIT_PROFILE_SIZE
                              bytes when set; pipe: one window; send;
                              bcast: 4 windows; bcast100: 100 windows on 4
                              threads), N messages and nothing else, so
                              that a profiler sees only that side;
                              bench/profile.sh runs it under callgrind and
                              perf

    Internal modes, started by the benchmark itself with posix_spawn, told
    on standard input when to go and when to quit:
    prokit-bench --windows N ENDPOINT FIRST   join N idle prokit windows,
                                              idleFIRST on
    prokit-bench --raw-windows N ENDPOINT FIRST CHANNEL
                                              connect N idle raw DEALERs to
                                              ENDPOINT and as many SUBs to
                                              CHANNEL (topics FIRST on)
    prokit-bench --server raw|main|broker IO  the router's process of
                                              many10k: a raw ROUTER and
                                              XPUB, a prokit main, a broker,
                                              with IO libzmq I/O threads
*/
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <prokit.h>
#include <zmq.h>

extern char **environ;

//  Every wait has a deadline; these are the generous ones.
#define REQUEST_TIMEOUT_MS 5000
#define RUN_DEADLINE_MS 180000
#define RAW_POLL_MS 50
#define SETTLE_DEADLINE_MS 20000
#define MAX_PAYLOAD ((size_t) 1 << 20)
#define CHILD_LIFE_MS 540000 //  a child process waits this long for "quit"

//  --- settings ----------------------------------------------------------------

typedef struct counts {
    int rtt_small;   //  RTT samples per side, 16 B and 1 KiB
    int rtt_64k;     //  RTT samples per side, 64 KiB
    int rtt_1m;      //  RTT samples per side, 1 MiB
    int rtt_rounds;  //  raw and prokit alternate in this many blocks
    int warmup;      //  RTT warm-up requests per side (fewer for 1 MiB)
    int pipe_n;      //  pipelined requests per window per round
    int pipe_depth;  //  requests each window keeps in flight
    int msgs;        //  main -> window messages per round
    int bcast;       //  broadcasts per round, to 4 windows
    int bcast100;    //  broadcasts per round, to 100 windows
    int rounds;      //  throughput rounds per side (median reported)
    int many;        //  windows joined in the scalability scenario
    int many_rtt;    //  RTT samples with them joined (as many with 1)
    int many_cycles; //  join/leave cycles, alternating the two states
    int slow_msgs;   //  sends to the window that reads nothing for a while
    int slow_pause_ms;
    int scale;           //  windows joined at once in the many10k scenario
    int scale_per_child; //  at most this many in one child process
    int scale_idle_ms;   //  the router's process's CPU measured over this long
    int pool_n;          //  requests per round to a pool (64 in flight)
} counts_t;

static const counts_t s_full = { .rtt_small = 4000,
                                 .rtt_64k = 2000,
                                 .rtt_1m = 300,
                                 .rtt_rounds = 4,
                                 .warmup = 200,
                                 .pipe_n = 100000,
                                 .pipe_depth = 100,
                                 .msgs = 200000,
                                 .bcast = 50000,
                                 .bcast100 = 6000,
                                 .rounds = 3,
                                 .many = 1000,
                                 .many_rtt = 3000,
                                 .many_cycles = 3,
                                 .slow_msgs = 1000000,
                                 .slow_pause_ms = 2000,
                                 .scale = 10000,
                                 .scale_per_child = 1000,
                                 .scale_idle_ms = 2000,
                                 .pool_n = 2000 };
static const counts_t s_smoke = { .rtt_small = 40,
                                  .rtt_64k = 20,
                                  .rtt_1m = 6,
                                  .rtt_rounds = 2,
                                  .warmup = 5,
                                  .pipe_n = 2000,
                                  .pipe_depth = 100,
                                  .msgs = 3000,
                                  .bcast = 1000,
                                  .bcast100 = 200,
                                  .rounds = 1,
                                  .many = 50,
                                  .many_rtt = 40,
                                  .many_cycles = 1,
                                  .slow_msgs = 20000,
                                  .slow_pause_ms = 200,
                                  .scale = 60,
                                  .scale_per_child = 30,
                                  .scale_idle_ms = 200,
                                  .pool_n = 100 };

static counts_t C;
static char s_notes[1024]; //  said after the table: what the run could not do
static bool s_smoke_mode;
static const char *s_only;
static atomic_int s_bad; //  lost or mismatched messages, failed requests
static char s_self_exe[4096];
static void *s_ctx; //  libzmq context of the raw programs

//  many10k: libzmq I/O threads of the router's process (prokit's
//  io_threads, the raw context's alike; 0: libzmq's one), and liveness on
//  the raw side as prokit has it: ZMTP heartbeats on the ROUTER (1000 ms,
//  3000 ms timeout and TTL) and on each DEALER (1000 ms, 3000 ms).
static int s_io_threads;
static bool s_raw_heartbeats;
#define SCALE_WINDOWS_PER_IO_THREAD 1000      //  the router's process
#define SCALE_CHILD_WINDOWS_PER_IO_THREAD 250 //  a window process

//  I/O threads for a window process of N windows: an odd number. libzmq
//  gives each new connection to the thread with the fewest, and a window
//  opens two at a time (its DEALER, its SUB): with an even number of
//  threads the DEALERs, the only connections with heartbeat timers, all
//  land on half of them.
static int
scale_child_io_threads (int n)
{
    return ((n + SCALE_CHILD_WINDOWS_PER_IO_THREAD - 1) / SCALE_CHILD_WINDOWS_PER_IO_THREAD) | 1;
}

//  --- utilities -----------------------------------------------------------------

static int64_t
now_ns (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void
sleep_ms (int ms)
{
    struct timespec ts = { ms / 1000, (long) (ms % 1000) * 1000000 };
    nanosleep (&ts, NULL);
}

static void
bad (const char *format, ...)
{
    atomic_fetch_add (&s_bad, 1);
    va_list args;
    va_start (args, format);
    fprintf (stderr, "prokit-bench: ERROR: ");
    vfprintf (stderr, format, args);
    fprintf (stderr, "\n");
    va_end (args);
}

static void
note (const char *format, ...)
{
    va_list args;
    va_start (args, format);
    fprintf (stderr, "prokit-bench: ");
    vfprintf (stderr, format, args);
    fprintf (stderr, "\n");
    va_end (args);
}

static bool
want (const char *name)
{
    return !s_only || strcmp (s_only, name) == 0;
}

//  A scenario too long for the full run: only when asked for by name (and
//  in the smoke run, which runs every scenario).
static bool
want_by_name (const char *name)
{
    return s_only ? strcmp (s_only, name) == 0 : s_smoke_mode;
}

//  A note that goes to standard error now and after the table.
static void
note_after (const char *format, ...)
{
    char text[512];
    va_list args;
    va_start (args, format);
    vsnprintf (text, sizeof (text), format, args);
    va_end (args);
    note ("%s", text);
    size_t used = strlen (s_notes);
    snprintf (s_notes + used, sizeof (s_notes) - used, "%s\n", text);
}

static void
on_watchdog (int sig)
{
    (void) sig;
    static const char text[] = "prokit-bench: watchdog expired: giving up\n";
    ssize_t rc = write (2, text, sizeof (text) - 1);
    (void) rc;
    _exit (3);
}

static void
raise_fd_limit (void)
{
    struct rlimit limit;
    if (getrlimit (RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit (RLIMIT_NOFILE, &limit);
    }
}

static long
fd_limit (void)
{
    struct rlimit limit;
    return getrlimit (RLIMIT_NOFILE, &limit) == 0 ? (long) limit.rlim_cur : -1;
}

//  Raise the descriptor limit to NEED: the soft limit to the hard one, and
//  both to NEED when the hard one is lower and this process may raise it
//  (root, CAP_SYS_RESOURCE; children started later inherit it). Returns
//  the soft limit now, which may still be below NEED.
static long
raise_fd_limit_to (long need)
{
    struct rlimit limit;
    if (getrlimit (RLIMIT_NOFILE, &limit) != 0)
        return -1;
    if (limit.rlim_max != RLIM_INFINITY && (rlim_t) need > limit.rlim_max) {
        struct rlimit more = { (rlim_t) need, (rlim_t) need };
        if (setrlimit (RLIMIT_NOFILE, &more) == 0)
            return fd_limit ();
    }
    raise_fd_limit ();
    return fd_limit ();
}

//  Resident memory of this process, in KiB.
static long
rss_kib (void)
{
    FILE *file = fopen ("/proc/self/status", "r");
    if (!file)
        return -1;
    char line[256];
    long kib = -1;
    while (fgets (line, sizeof (line), file))
        if (sscanf (line, "VmRSS: %ld kB", &kib) == 1)
            break;
    fclose (file);
    return kib;
}

//  The 1-minute load average: other work on the machine skews timings.
static double
load_average (void)
{
    double load = NAN;
    FILE *file = fopen ("/proc/loadavg", "r");
    if (file) {
        if (fscanf (file, "%lf", &load) != 1)
            load = NAN;
        fclose (file);
    }
    return load;
}

static int
compare_double (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}

//  Nearest-rank percentile of N sorted values.
static double
percentile (const double *sorted, int n, double p)
{
    if (n <= 0)
        return NAN;
    int rank = (int) ceil (p * n);
    if (rank < 1)
        rank = 1;
    return sorted[rank - 1];
}

static double
median (double *values, int n)
{
    qsort (values, (size_t) n, sizeof (double), compare_double);
    return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

static void
make_endpoint (char *out, size_t size, const char *transport)
{
    static int serial;
    if (strcmp (transport, "ipc") == 0)
        snprintf (out, size, "ipc:///tmp/prokit-bench-%d-%d.sock", (int) getpid (), ++serial);
    else
        snprintf (out, size, "tcp://127.0.0.1:*");
}

//  --- payloads and their checks ---------------------------------------------

static uint8_t *s_pattern; //  MAX_PAYLOAD bytes of a fixed pattern

//  Fill BUF (SIZE bytes) for request SEQ: the pattern, SEQ in front.
static void
fill (uint8_t *buf, size_t size, uint64_t seq)
{
    memcpy (buf, s_pattern, size);
    memcpy (buf, &seq, size < sizeof (seq) ? size : sizeof (seq));
}

//  True if DATA (SIZE bytes) is what fill() made of EXPECT bytes for SEQ.
static bool
check (const void *data, size_t size, size_t expect, uint64_t seq)
{
    if (!data || size != expect)
        return false;
    size_t head = expect < sizeof (seq) ? expect : sizeof (seq);
    if (memcmp (data, &seq, head) != 0)
        return false;
    if (expect <= 65536 || s_smoke_mode)
        return memcmp ((const uint8_t *) data + head, s_pattern + head, expect - head) == 0;
    //  Large: the tail is enough to catch a truncated or stale buffer.
    return memcmp ((const uint8_t *) data + expect - 64, s_pattern + expect - 64, 64) == 0;
}

//  --- the result table ------------------------------------------------------------

typedef struct row {
    char figure[160];
    char raw[96], prokit[96], ratio[32], target[48];
    int met; //  1 yes, 0 no, -1 no target
    double raw_value, prokit_value, ratio_value;
    char unit[16];
} row_t;

static row_t s_rows[128];
static int s_row_count;

static void
format_value (char *out, size_t size, double value, const char *unit)
{
    if (isnan (value))
        snprintf (out, size, "n/a");
    else if (strcmp (unit, "us") == 0)
        snprintf (out, size, "%.1f µs", value);
    else if (strcmp (unit, "ms") == 0)
        snprintf (out, size, "%.1f ms", value);
    else if (strcmp (unit, "/s") == 0)
        snprintf (out, size, "%.1f k/s", value / 1000);
    else if (strcmp (unit, "KiB") == 0)
        snprintf (out, size, "%.1f KiB", value);
    else if (strcmp (unit, "%") == 0)
        snprintf (out, size, "%.1f %%", value);
    else if (strcmp (unit, "×") == 0)
        snprintf (out, size, "%.2f×", value);
    else
        snprintf (out, size, "%.3g %s", value, unit);
}

static row_t *
add_row (const char *figure)
{
    if (s_row_count >= (int) (sizeof (s_rows) / sizeof (s_rows[0])))
        return &s_rows[s_row_count - 1];
    row_t *row = &s_rows[s_row_count++];
    memset (row, 0, sizeof (*row));
    snprintf (row->figure, sizeof (row->figure), "%s", figure);
    row->met = -1;
    row->raw_value = row->prokit_value = row->ratio_value = NAN;
    snprintf (row->ratio, sizeof (row->ratio), "—");
    snprintf (row->target, sizeof (row->target), "—");
    return row;
}

//  A measured figure with its ratio prokit / raw. LIMIT > 0 sets a target:
//  ratio <= LIMIT when LOWER is true (latency), ratio >= LIMIT otherwise.
static row_t *
add_figure (const char *figure, double raw, double prokit, const char *unit, bool lower,
            double limit)
{
    row_t *row = add_row (figure);
    row->raw_value = raw;
    row->prokit_value = prokit;
    snprintf (row->unit, sizeof (row->unit), "%s", unit);
    format_value (row->raw, sizeof (row->raw), raw, unit);
    format_value (row->prokit, sizeof (row->prokit), prokit, unit);
    row->ratio_value = prokit / raw;
    if (isnan (row->ratio_value) || isinf (row->ratio_value))
        snprintf (row->ratio, sizeof (row->ratio), "n/a");
    else
        snprintf (row->ratio, sizeof (row->ratio), "%.2f×", row->ratio_value);
    if (limit > 0) {
        snprintf (row->target, sizeof (row->target), "%s %.2f× raw", lower ? "≤" : "≥", limit);
        row->met = lower ? row->ratio_value <= limit : row->ratio_value >= limit;
    }
    return row;
}

//  A figure that is each side's own ratio (with N windows ÷ with 1): the
//  ratio column is prokit's, and the target LIMIT applies to it.
static row_t *
add_growth (const char *figure, double raw, double prokit, int n, double limit)
{
    row_t *row = add_row (figure);
    row->raw_value = raw;
    row->prokit_value = prokit;
    row->ratio_value = prokit;
    snprintf (row->unit, sizeof (row->unit), "x");
    format_value (row->raw, sizeof (row->raw), raw, "×");
    format_value (row->prokit, sizeof (row->prokit), prokit, "×");
    format_value (row->ratio, sizeof (row->ratio), prokit, "×");
    snprintf (row->target, sizeof (row->target), "≤ %.2f× (%d vs 1)", limit, n);
    row->met = !isnan (prokit) && prokit <= limit;
    return row;
}

//  A figure of prokit against prokit (no raw counterpart): VALUE against
//  BASE in the same run, both in the prokit column, their ratio, and the
//  target LIMIT on it (if > 0): "≤" (LOWER) or "≥" LIMIT× WHAT (the base).
static row_t *
add_versus (const char *figure, double value, double base, const char *unit, bool lower,
            double limit, const char *what)
{
    row_t *row = add_row (figure);
    row->prokit_value = value;
    snprintf (row->raw, sizeof (row->raw), "—");
    snprintf (row->unit, sizeof (row->unit), "%s", unit);
    char value_text[40], base_text[40];
    format_value (value_text, sizeof (value_text), value, unit);
    format_value (base_text, sizeof (base_text), base, unit);
    snprintf (row->prokit, sizeof (row->prokit), "%s vs %s", value_text, base_text);
    row->ratio_value = value / base;
    if (isnan (row->ratio_value) || isinf (row->ratio_value))
        snprintf (row->ratio, sizeof (row->ratio), "n/a");
    else
        snprintf (row->ratio, sizeof (row->ratio), "%.2f×", row->ratio_value);
    if (limit > 0) {
        snprintf (row->target, sizeof (row->target), "%s %.2f× %s", lower ? "≤" : "≥", limit, what);
        row->met = lower ? row->ratio_value <= limit : row->ratio_value >= limit;
    }
    return row;
}

static void
print_table (FILE *out)
{
    fprintf (out, "| figure | raw | prokit | ratio | target | met? |\n");
    fprintf (out, "|---|---:|---:|---:|---|---|\n");
    for (int i = 0; i < s_row_count; i++) {
        const row_t *row = &s_rows[i];
        fprintf (out, "| %s | %s | %s | %s | %s | %s |\n", row->figure, row->raw, row->prokit,
                 row->ratio, row->target,
                 row->met < 0 ? "—"
                 : row->met   ? "yes"
                              : "**no**");
    }
}

static void
json_string (FILE *out, const char *text)
{
    fputc ('"', out);
    for (const char *p = text; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf (out, "\\%c", *p);
        else if ((unsigned char) *p < 0x20)
            fprintf (out, "\\u%04x", *p);
        else
            fputc (*p, out);
    }
    fputc ('"', out);
}

static void
json_number (FILE *out, double value)
{
    if (isnan (value) || isinf (value))
        fprintf (out, "null");
    else
        fprintf (out, "%.6g", value);
}

static void
print_json (FILE *out)
{
    fprintf (out, "{\"smoke\": %s, \"failures\": %d, \"rows\": [\n",
             s_smoke_mode ? "true" : "false", atomic_load (&s_bad));
    for (int i = 0; i < s_row_count; i++) {
        const row_t *row = &s_rows[i];
        fprintf (out, "  {\"figure\": ");
        json_string (out, row->figure);
        fprintf (out, ", \"unit\": ");
        json_string (out, row->unit);
        fprintf (out, ", \"raw\": ");
        json_number (out, row->raw_value);
        fprintf (out, ", \"prokit\": ");
        json_number (out, row->prokit_value);
        fprintf (out, ", \"ratio\": ");
        json_number (out, row->ratio_value);
        fprintf (out, ", \"raw_text\": ");
        json_string (out, row->raw);
        fprintf (out, ", \"prokit_text\": ");
        json_string (out, row->prokit);
        fprintf (out, ", \"target\": ");
        json_string (out, row->target);
        fprintf (out, ", \"met\": %s}%s\n",
                 row->met < 0 ? "null"
                 : row->met   ? "true"
                              : "false",
                 i + 1 < s_row_count ? "," : "");
    }
    fprintf (out, "], \"notes\": ");
    json_string (out, s_notes);
    fprintf (out, "}\n");
}

//  --- raw libzmq: a ROUTER on its own thread --------------------------------------

//  The raw counterpart of prokit's router + main: one ROUTER, owned by its
//  own thread. A two-frame message [id, payload] is echoed to its sender; a
//  three-frame one [id, destination, payload] is forwarded to the
//  destination as [destination, id, payload] (the routing ids swapped).
typedef struct raw_server {
    void *socket;
    pthread_t thread;
    bool running;
    atomic_bool stop;
    char endpoint[256];
} raw_server_t;

static void *
raw_server_thread (void *arg)
{
    raw_server_t *self = (raw_server_t *) arg;
    while (!atomic_load (&self->stop)) {
        zmq_msg_t frames[3];
        int count = 0;
        bool more = true;
        while (more) {
            zmq_msg_t frame;
            zmq_msg_init (&frame);
            if (zmq_msg_recv (&frame, self->socket, 0) < 0) {
                zmq_msg_close (&frame);
                if (count == 0)
                    break; //  RCVTIMEO: look at the stop flag
                continue;
            }
            more = zmq_msg_more (&frame);
            if (count < 3)
                frames[count++] = frame;
            else
                zmq_msg_close (&frame);
        }
        if (count == 2) {
            zmq_msg_send (&frames[0], self->socket, ZMQ_SNDMORE);
            zmq_msg_send (&frames[1], self->socket, 0);
        }
        else if (count == 3) {
            zmq_msg_send (&frames[1], self->socket, ZMQ_SNDMORE);
            zmq_msg_send (&frames[0], self->socket, ZMQ_SNDMORE);
            zmq_msg_send (&frames[2], self->socket, 0);
        }
        for (int i = 0; i < count; i++)
            zmq_msg_close (&frames[i]);
    }
    return NULL;
}

static void
raw_set_int (void *socket, int option, int value)
{
    zmq_setsockopt (socket, option, &value, sizeof (value));
}

static int
raw_server_start (raw_server_t *self, const char *transport)
{
    memset (self, 0, sizeof (*self));
    char endpoint[256];
    make_endpoint (endpoint, sizeof (endpoint), transport);
    self->socket = zmq_socket (s_ctx, ZMQ_ROUTER);
    raw_set_int (self->socket, ZMQ_LINGER, 0);
    raw_set_int (self->socket, ZMQ_SNDHWM, 10000); //  as prokit's router
    raw_set_int (self->socket, ZMQ_RCVHWM, 10000);
    raw_set_int (self->socket, ZMQ_RCVTIMEO, RAW_POLL_MS);
    if (s_raw_heartbeats) {
        raw_set_int (self->socket, ZMQ_HEARTBEAT_IVL, 1000);
        raw_set_int (self->socket, ZMQ_HEARTBEAT_TIMEOUT, 3000);
        raw_set_int (self->socket, ZMQ_HEARTBEAT_TTL, 3000);
    }
    if (zmq_bind (self->socket, endpoint) != 0) {
        bad ("raw: cannot bind %s: %s", endpoint, zmq_strerror (errno));
        zmq_close (self->socket);
        return -1;
    }
    size_t size = sizeof (self->endpoint);
    zmq_getsockopt (self->socket, ZMQ_LAST_ENDPOINT, self->endpoint, &size);
    if (pthread_create (&self->thread, NULL, raw_server_thread, self) != 0) {
        zmq_close (self->socket);
        return -1;
    }
    self->running = true;
    return 0;
}

static void
raw_server_stop (raw_server_t *self)
{
    if (!self->running)
        return;
    atomic_store (&self->stop, true);
    pthread_join (self->thread, NULL);
    zmq_close (self->socket);
    if (strncmp (self->endpoint, "ipc://", 6) == 0)
        unlink (self->endpoint + 6);
    self->running = false;
}

static void *
raw_dealer (void *ctx, const char *endpoint, const char *identity)
{
    void *socket = zmq_socket (ctx, ZMQ_DEALER);
    if (!socket)
        return NULL;
    raw_set_int (socket, ZMQ_LINGER, 0);
    raw_set_int (socket, ZMQ_SNDHWM, 10000); //  as prokit's windows
    raw_set_int (socket, ZMQ_RCVHWM, 10000);
    raw_set_int (socket, ZMQ_RCVTIMEO, REQUEST_TIMEOUT_MS);
    raw_set_int (socket, ZMQ_SNDTIMEO, REQUEST_TIMEOUT_MS);
    if (s_raw_heartbeats) {
        raw_set_int (socket, ZMQ_HEARTBEAT_IVL, 1000);
        raw_set_int (socket, ZMQ_HEARTBEAT_TIMEOUT, 3000);
    }
    if (identity)
        zmq_setsockopt (socket, ZMQ_ROUTING_ID, identity, strlen (identity));
    if (zmq_connect (socket, endpoint) != 0) {
        zmq_close (socket);
        return NULL;
    }
    return socket;
}

//  Receive one whole message into at most MAX frames (extra ones closed).
//  Returns the number of frames kept, or -1 (timeout or error).
static int
raw_recv (void *socket, zmq_msg_t *frames, int max, int flags)
{
    int count = 0;
    bool more = true;
    while (more) {
        zmq_msg_t frame;
        zmq_msg_init (&frame);
        if (zmq_msg_recv (&frame, socket, count == 0 ? flags : 0) < 0) {
            zmq_msg_close (&frame);
            if (count == 0)
                return -1;
            break;
        }
        more = zmq_msg_more (&frame);
        if (count < max)
            frames[count++] = frame;
        else
            zmq_msg_close (&frame);
    }
    return count;
}

static void
raw_close_frames (zmq_msg_t *frames, int count)
{
    for (int i = 0; i < count; i++)
        zmq_msg_close (&frames[i]);
}

//  One raw round trip: send SIZE bytes (after a TO frame when it is given)
//  and wait for them to come back. Returns the RTT in µs, or -1.
static double
raw_round_trip (void *dealer, const char *to, uint8_t *buf, size_t size, uint64_t seq)
{
    fill (buf, size, seq);
    int64_t start = now_ns ();
    if (to && zmq_send (dealer, to, strlen (to), ZMQ_SNDMORE) < 0)
        return -1;
    if (zmq_send (dealer, buf, size, 0) < 0)
        return -1;
    zmq_msg_t frames[2];
    int count = raw_recv (dealer, frames, 2, 0);
    double rtt = (double) (now_ns () - start) / 1000.0;
    if (count < 0)
        return -1;
    zmq_msg_t *body = &frames[count - 1];
    bool ok = count == (to ? 2 : 1) && check (zmq_msg_data (body), zmq_msg_size (body), size, seq);
    raw_close_frames (frames, count);
    return ok ? rtt : -1;
}

//  --- prokit: main on its own thread, windows -----------------------------------

static prokit_payload_t *
echo_handler (prokit_request_t *request, void *arg)
{
    (void) arg;
    //  As the raw echo sends back the frame it received: no copy.
    return prokit_request_take_payload (request);
}

static void
count_presence (const prokit_presence_t *event, void *arg)
{
    if (event->kind == PROKIT_PRESENCE_JOINED)
        atomic_fetch_add ((atomic_int *) arg, 1);
    else if (event->kind == PROKIT_PRESENCE_LEFT)
        atomic_fetch_add ((atomic_int *) arg, -1);
}

static void
count_undelivered (const char *target, int code, const char *text, void *arg)
{
    (void) target;
    (void) code;
    (void) text;
    atomic_fetch_add ((atomic_llong *) arg, 1);
}

typedef struct pk_server {
    prokit_main_t *main;
    pthread_t thread;
    bool running;
    int run_rc;
    atomic_int windows;       //  joined, as main's presence events say
    atomic_llong undelivered; //  undelivered callbacks
    char endpoint[256];
} pk_server_t;

static void *
pk_main_thread (void *arg)
{
    pk_server_t *self = (pk_server_t *) arg;
    self->run_rc = prokit_main_run (self->main, RUN_DEADLINE_MS);
    return NULL;
}

//  Start a main with an echo handler, bound to a new endpoint of
//  TRANSPORT, or attached to the broker at BROKER when it is not NULL;
//  with THREADED, prokit_main_run() runs on a thread of its own, else the
//  caller dispatches. SELF->endpoint is where windows connect.
static int
pk_server_open (pk_server_t *self, const char *transport, const char *broker, bool threaded)
{
    memset (self, 0, sizeof (*self));
    char endpoint[256];
    make_endpoint (endpoint, sizeof (endpoint), transport);
    prokit_main_opts_t opts;
    prokit_main_opts_init (&opts);
    if (broker)
        opts.broker = broker;
    else
        opts.endpoint = endpoint;
    opts.io_threads = s_io_threads;
    int error = 0;
    self->main = prokit_main_new (&opts, &error);
    if (!self->main) {
        bad ("prokit_main_new (%s): %s", broker ? broker : endpoint, prokit_strerror (error));
        return -1;
    }
    snprintf (self->endpoint, sizeof (self->endpoint), "%s",
              broker ? broker : prokit_main_endpoint (self->main));
    prokit_main_on_request (self->main, echo_handler, NULL);
    //  The same echo on a named channel (scenario channel).
    prokit_main_handle (self->main, "echo", echo_handler, NULL);
    prokit_main_on_presence (self->main, count_presence, &self->windows);
    prokit_main_on_undelivered (self->main, count_undelivered, &self->undelivered);
    if (threaded) {
        if (pthread_create (&self->thread, NULL, pk_main_thread, self) != 0) {
            prokit_main_destroy (&self->main);
            return -1;
        }
        self->running = true;
    }
    return 0;
}

static int
pk_server_start (pk_server_t *self, const char *transport, bool threaded)
{
    return pk_server_open (self, transport, NULL, threaded);
}

static void
pk_server_stop (pk_server_t *self)
{
    if (!self->main)
        return;
    if (self->running) {
        prokit_main_stop (self->main);
        pthread_join (self->thread, NULL);
        self->running = false;
    }
    prokit_main_destroy (&self->main);
}

//  Dispatch MAIN (not threaded) and, when given, WINDOW until PREDICATE
//  holds or MS have passed.
static bool
pk_dispatch_until (prokit_main_t *main, prokit_window_t *window, bool (*predicate) (void *),
                   void *arg, int ms)
{
    int64_t deadline = now_ns () + (int64_t) ms * 1000000;
    while (!predicate (arg)) {
        if (now_ns () >= deadline)
            return false;
        struct pollfd items[2] = { { prokit_main_fd (main), POLLIN, 0 },
                                   { window ? prokit_window_fd (window) : -1, POLLIN, 0 } };
        poll (items, 2, 10);
        prokit_main_dispatch (main);
        if (window)
            prokit_window_dispatch (window);
    }
    return true;
}

//  The same for MAIN alone.
static bool
pk_main_dispatch_until (prokit_main_t *main, bool (*predicate) (void *), void *arg, int ms)
{
    return pk_dispatch_until (main, NULL, predicate, arg, ms);
}

//  A window NAME joined to ENDPOINT, serving the pool SERVICE (NULL: none).
static prokit_window_t *
pk_window_serving (const char *name, const char *endpoint, const char *service)
{
    prokit_window_opts_t opts;
    prokit_window_opts_init (&opts);
    opts.endpoint = endpoint;
    opts.service = service;
    opts.join_timeout_ms = 10000;
    opts.request_timeout_ms = REQUEST_TIMEOUT_MS;
    int error = 0;
    prokit_window_t *window = prokit_window_new (name, &opts, &error);
    if (!window)
        bad ("prokit_window_new ('%s', %s): %s", name, endpoint, prokit_strerror (error));
    return window;
}

static prokit_window_t *
pk_window (const char *name, const char *endpoint)
{
    return pk_window_serving (name, endpoint, NULL);
}

//  One prokit round trip: a request of SIZE payload bytes to TARGET on
//  CHANNEL (NULL: the default one), which echoes it. Returns the RTT in
//  µs, or -1.
static double
pk_round_trip_on (prokit_window_t *window, const char *target, const char *channel, uint8_t *buf,
                  size_t size, uint64_t seq)
{
    fill (buf, size, seq);
    int64_t start = now_ns ();
    prokit_payload_t *payload = prokit_payload_new_bytes (buf, size);
    prokit_reply_t *reply = NULL;
    int rc = prokit_window_request_wait_on (window, target, channel, &payload, REQUEST_TIMEOUT_MS,
                                            &reply);
    double rtt = (double) (now_ns () - start) / 1000.0;
    prokit_payload_destroy (&payload); //  not sent: still ours (NULL-safe)
    bool ok = rc == PROKIT_OK;
    if (ok) {
        size_t got = 0;
        const void *data = prokit_payload_bytes (prokit_reply_payload (reply), &got);
        ok = check (data, got, size, seq);
    }
    else
        note ("request to '%s' failed: %s (%s)", target, prokit_error_name (rc),
              reply ? prokit_reply_error (reply) : "");
    prokit_reply_destroy (&reply);
    return ok ? rtt : -1;
}

static double
pk_round_trip (prokit_window_t *window, const char *target, uint8_t *buf, size_t size, uint64_t seq)
{
    return pk_round_trip_on (window, target, NULL, buf, size, seq);
}

//  A window running prokit_window_run() on a thread of its own.
typedef struct pk_runner {
    prokit_window_t *window;
    pthread_t thread;
    bool running;
    int run_rc;
} pk_runner_t;

static void *
pk_window_thread (void *arg)
{
    pk_runner_t *self = (pk_runner_t *) arg;
    self->run_rc = prokit_window_run (self->window, RUN_DEADLINE_MS);
    return NULL;
}

static int
pk_runner_start (pk_runner_t *self)
{
    if (pthread_create (&self->thread, NULL, pk_window_thread, self) != 0)
        return -1;
    self->running = true;
    return 0;
}

static void
pk_runner_stop (pk_runner_t *self)
{
    if (self->running) {
        prokit_window_stop (self->window);
        pthread_join (self->thread, NULL);
        self->running = false;
    }
    prokit_window_destroy (&self->window);
}

//  --- round-trip sampling ------------------------------------------------------

typedef struct samples {
    double *values;
    int count;
    int failed;
} samples_t;

static void
samples_init (samples_t *self, int capacity)
{
    self->values = (double *) calloc ((size_t) (capacity > 0 ? capacity : 1), sizeof (double));
    self->count = 0;
    self->failed = 0;
}

static void
samples_add (samples_t *self, double rtt)
{
    if (rtt < 0)
        self->failed++;
    else
        self->values[self->count++] = rtt;
}

static void
samples_sort (samples_t *self)
{
    qsort (self->values, (size_t) self->count, sizeof (double), compare_double);
}

static void
samples_free (samples_t *self)
{
    free (self->values);
    self->values = NULL;
}

typedef struct rtt_target {
    void *raw_dealer;        //  raw: this DEALER
    const char *raw_to;      //  raw: destination frame, or NULL (echo)
    prokit_window_t *window; //  prokit: this window
    const char *pk_to;       //  prokit: request target
} rtt_target_t;

//  Take N samples from each side, alternating ROUNDS blocks so that noise
//  from other work on the machine hits both alike.
static void
sample_both (const rtt_target_t *target, uint8_t *buf, size_t size, int n, int rounds, int warmup,
             samples_t *raw, samples_t *pk)
{
    static uint64_t seq;
    for (int i = 0; i < warmup; i++) {
        if (raw_round_trip (target->raw_dealer, target->raw_to, buf, size, ++seq) < 0)
            raw->failed++;
        if (pk_round_trip (target->window, target->pk_to, buf, size, ++seq) < 0)
            pk->failed++;
    }
    if (rounds < 1)
        rounds = 1;
    for (int round = 0; round < rounds; round++) {
        int block = n / rounds + (round < n % rounds ? 1 : 0);
        for (int side = 0; side < 2; side++) {
            bool raw_side = (side == 0) == (round % 2 == 0);
            for (int i = 0; i < block; i++) {
                if (raw_side)
                    samples_add (
                        raw, raw_round_trip (target->raw_dealer, target->raw_to, buf, size, ++seq));
                else
                    samples_add (pk,
                                 pk_round_trip (target->window, target->pk_to, buf, size, ++seq));
            }
        }
    }
    if (raw->failed)
        bad ("raw: %d of %d round trips of %zu B failed or mismatched", raw->failed, n + warmup,
             size);
    if (pk->failed)
        bad ("prokit: %d of %d round trips of %zu B failed or mismatched", pk->failed, n + warmup,
             size);
    samples_sort (raw);
    samples_sort (pk);
}

static const char *
size_name (size_t size)
{
    switch (size) {
    case 16: return "16 B";
    case 1024: return "1 KiB";
    case 65536: return "64 KiB";
    case 1048576: return "1 MiB";
    default: return "?";
    }
}

//  --- scenario: window -> main round trip ---------------------------------------

static void
bench_rtt (uint8_t *buf)
{
    static const char *transports[] = { "ipc", "tcp" };
    static const size_t sizes[] = { 16, 1024, 65536, 1048576 };
    for (size_t t = 0; t < 2; t++)
        for (size_t s = 0; s < 4; s++) {
            const char *transport = transports[t];
            size_t size = sizes[s];
            int n = size <= 1024 ? C.rtt_small : size <= 65536 ? C.rtt_64k : C.rtt_1m;
            int warmup = size > 65536 ? (C.warmup + 9) / 10 : C.warmup;
            raw_server_t raw_server;
            pk_server_t pk_server;
            if (raw_server_start (&raw_server, transport) != 0)
                return;
            if (pk_server_start (&pk_server, transport, true) != 0) {
                raw_server_stop (&raw_server);
                return;
            }
            void *dealer = raw_dealer (s_ctx, raw_server.endpoint, NULL);
            prokit_window_t *window = pk_window ("bench", pk_server.endpoint);
            if (dealer && window) {
                rtt_target_t target = { dealer, NULL, window, PROKIT_MAIN };
                samples_t raw, pk;
                samples_init (&raw, n);
                samples_init (&pk, n);
                sample_both (&target, buf, size, n, C.rtt_rounds, warmup, &raw, &pk);
                char figure[96];
                bool gated = size >= 65536;
                double limit_p50 = gated ? 1.1 : (size == 16 && t == 0) ? 1.15 : 0;
                snprintf (figure, sizeof (figure), "window→main RTT p50, %s, %s", size_name (size),
                          transport);
                add_figure (figure, percentile (raw.values, raw.count, 0.5),
                            percentile (pk.values, pk.count, 0.5), "us", true, limit_p50);
                snprintf (figure, sizeof (figure), "window→main RTT p99, %s, %s", size_name (size),
                          transport);
                add_figure (figure, percentile (raw.values, raw.count, 0.99),
                            percentile (pk.values, pk.count, 0.99), "us", true, 0);
                note ("rtt %s %s: raw p50 %.1f µs, prokit p50 %.1f µs (%d samples each)",
                      size_name (size), transport, percentile (raw.values, raw.count, 0.5),
                      percentile (pk.values, pk.count, 0.5), n);
                samples_free (&raw);
                samples_free (&pk);
            }
            else
                bad ("rtt %s %s: could not connect", size_name (size), transport);
            if (dealer)
                zmq_close (dealer);
            prokit_window_destroy (&window);
            pk_server_stop (&pk_server);
            raw_server_stop (&raw_server);
        }
}

//  --- scenario: window -> window round trip through the router -----------------

//  The raw window B: echoes what reaches it back to its sender.
typedef struct raw_echo_peer {
    void *socket;
    pthread_t thread;
    atomic_bool stop;
} raw_echo_peer_t;

static void *
raw_echo_peer_thread (void *arg)
{
    raw_echo_peer_t *self = (raw_echo_peer_t *) arg;
    raw_set_int (self->socket, ZMQ_RCVTIMEO, RAW_POLL_MS);
    while (!atomic_load (&self->stop)) {
        zmq_msg_t frames[2];
        int count = raw_recv (self->socket, frames, 2, 0);
        if (count < 0)
            continue;
        if (count == 2) { //  [sender, payload] -> [sender, payload]
            zmq_msg_send (&frames[0], self->socket, ZMQ_SNDMORE);
            zmq_msg_send (&frames[1], self->socket, 0);
        }
        raw_close_frames (frames, count);
    }
    return NULL;
}

static void
bench_w2w (uint8_t *buf)
{
    static const size_t sizes[] = { 16, 1024 };
    for (size_t s = 0; s < 2; s++) {
        size_t size = sizes[s];
        raw_server_t raw_server;
        pk_server_t pk_server;
        if (raw_server_start (&raw_server, "ipc") != 0)
            return;
        if (pk_server_start (&pk_server, "ipc", true) != 0) {
            raw_server_stop (&raw_server);
            return;
        }
        void *a = raw_dealer (s_ctx, raw_server.endpoint, "A");
        raw_echo_peer_t b = { raw_dealer (s_ctx, raw_server.endpoint, "B"), 0, false };
        //  B greets itself through the forwarder: once that comes back, the
        //  forwarder knows B and nothing sent to it is dropped.
        bool raw_ok = a && b.socket;
        if (raw_ok) {
            zmq_send (b.socket, "B", 1, ZMQ_SNDMORE);
            zmq_send (b.socket, "hi", 2, 0);
            zmq_msg_t frames[2];
            int count = raw_recv (b.socket, frames, 2, 0);
            raw_ok = count == 2;
            if (count > 0)
                raw_close_frames (frames, count);
        }
        raw_ok = raw_ok && pthread_create (&b.thread, NULL, raw_echo_peer_thread, &b) == 0;
        pk_runner_t pk_b = { pk_window ("b", pk_server.endpoint), 0, false, 0 };
        prokit_window_t *pk_a = pk_window ("a", pk_server.endpoint);
        bool pk_ok = pk_a && pk_b.window &&
                     prokit_window_on_request (pk_b.window, echo_handler, NULL) == PROKIT_OK &&
                     pk_runner_start (&pk_b) == 0;
        if (raw_ok && pk_ok) {
            rtt_target_t target = { a, "B", pk_a, "b" };
            samples_t raw, pk;
            samples_init (&raw, C.rtt_small);
            samples_init (&pk, C.rtt_small);
            sample_both (&target, buf, size, C.rtt_small, C.rtt_rounds, C.warmup, &raw, &pk);
            char figure[96];
            snprintf (figure, sizeof (figure), "window→window RTT p50, %s, ipc", size_name (size));
            add_figure (figure, percentile (raw.values, raw.count, 0.5),
                        percentile (pk.values, pk.count, 0.5), "us", true, size == 16 ? 1.15 : 1.3);
            snprintf (figure, sizeof (figure), "window→window RTT p99, %s, ipc", size_name (size));
            add_figure (figure, percentile (raw.values, raw.count, 0.99),
                        percentile (pk.values, pk.count, 0.99), "us", true, 0);
            note ("w2w %s: raw p50 %.1f µs, prokit p50 %.1f µs", size_name (size),
                  percentile (raw.values, raw.count, 0.5), percentile (pk.values, pk.count, 0.5));
            samples_free (&raw);
            samples_free (&pk);
        }
        else
            bad ("w2w %s: setup failed", size_name (size));
        if (raw_ok) {
            atomic_store (&b.stop, true);
            pthread_join (b.thread, NULL);
        }
        if (b.socket)
            zmq_close (b.socket);
        if (a)
            zmq_close (a);
        prokit_window_destroy (&pk_a);
        pk_runner_stop (&pk_b);
        pk_server_stop (&pk_server);
        raw_server_stop (&raw_server);
    }
}

//  --- scenario: pipelined requests -------------------------------------------------

typedef struct pipe_worker {
    atomic_int *go; //  0: wait, 1: start, -1: give up
    const char *endpoint;
    void *dealer;            //  raw
    prokit_window_t *window; //  prokit
    const char *target;      //  prokit: whom to ask (NULL: main)
    const char *channel;     //  prokit: on which channel (NULL: the default one)
    int n, depth;
    long long done, failed;
    int64_t start_ns, end_ns;
} pipe_worker_t;

static const uint8_t s_pipe_body[16] = "pipelined-req-16";

//  Wait for the starting signal (all workers set up). False: give up.
static bool
pipe_wait_go (atomic_int *go)
{
    int64_t deadline = now_ns () + (int64_t) SETTLE_DEADLINE_MS * 1000000;
    while (atomic_load (go) == 0 && now_ns () < deadline)
        sched_yield ();
    return atomic_load (go) == 1;
}

static void *
raw_pipe_thread (void *arg)
{
    pipe_worker_t *self = (pipe_worker_t *) arg;
    if (!pipe_wait_go (self->go))
        return NULL;
    self->start_ns = now_ns ();
    long long sent = 0;
    while (self->done + self->failed < self->n) {
        while (sent - self->done - self->failed < self->depth && sent < self->n) {
            if (zmq_send (self->dealer, s_pipe_body, sizeof (s_pipe_body), ZMQ_DONTWAIT) < 0)
                break;
            sent++;
        }
        zmq_msg_t frame;
        zmq_msg_init (&frame);
        int flags = 0; //  first one blocking (RCVTIMEO), then drain
        while (self->done + self->failed < sent) {
            if (zmq_msg_recv (&frame, self->dealer, flags) < 0)
                break;
            if (zmq_msg_size (&frame) == sizeof (s_pipe_body))
                self->done++;
            else
                self->failed++;
            flags = ZMQ_DONTWAIT;
        }
        zmq_msg_close (&frame);
        if (flags == 0) { //  nothing came within RCVTIMEO
            self->failed += sent - self->done - self->failed;
            break;
        }
    }
    self->end_ns = now_ns ();
    return NULL;
}

static void
pk_pipe_reply (prokit_reply_t *reply, void *arg)
{
    pipe_worker_t *self = (pipe_worker_t *) arg;
    size_t size = 0;
    const void *data = prokit_reply_status (reply) == PROKIT_OK
                           ? prokit_payload_bytes (prokit_reply_payload (reply), &size)
                           : NULL;
    if (data && size == sizeof (s_pipe_body))
        self->done++;
    else
        self->failed++;
}

static void *
pk_pipe_thread (void *arg)
{
    pipe_worker_t *self = (pipe_worker_t *) arg;
    if (!pipe_wait_go (self->go))
        return NULL;
    self->start_ns = now_ns ();
    int64_t deadline = self->start_ns + (int64_t) RUN_DEADLINE_MS * 1000000;
    long long sent = 0;
    prokit_payload_t *payload = NULL; //  refused (EAGAIN): kept, sent again
    while (self->done + self->failed < self->n && now_ns () < deadline) {
        while (sent - self->done - self->failed < self->depth && sent < self->n) {
            if (!payload)
                payload = prokit_payload_new_bytes (s_pipe_body, sizeof (s_pipe_body));
            int rc = prokit_window_request_on (
                self->window, self->target ? self->target : PROKIT_MAIN, self->channel, &payload,
                REQUEST_TIMEOUT_MS, pk_pipe_reply, self);
            if (rc == PROKIT_EAGAIN)
                break;
            if (rc != PROKIT_OK) {
                self->failed++;
                note ("pipelined request refused: %s", prokit_error_name (rc));
                prokit_payload_destroy (&payload);
            }
            sent++;
        }
        struct pollfd item = { prokit_window_fd (self->window), POLLIN, 0 };
        poll (&item, 1, 100);
        prokit_window_dispatch (self->window);
    }
    prokit_payload_destroy (&payload);
    self->failed += sent - self->done - self->failed;
    self->end_ns = now_ns ();
    return NULL;
}

//  Run one round with WORKERS windows (threads). Returns requests/s.
static double
pipe_round (bool raw, const char *endpoint, int workers)
{
    atomic_int go = 0;
    pipe_worker_t worker[8];
    pthread_t thread[8];
    int started = 0;
    memset (worker, 0, sizeof (worker));
    for (int i = 0; i < workers; i++) {
        worker[i].go = &go;
        worker[i].n = C.pipe_n;
        worker[i].depth = C.pipe_depth;
        if (raw)
            worker[i].dealer = raw_dealer (s_ctx, endpoint, NULL);
        else {
            char name[16];
            snprintf (name, sizeof (name), "pipe%d", i);
            worker[i].window = pk_window (name, endpoint);
        }
    }
    bool ok = true;
    for (int i = 0; i < workers; i++)
        ok = ok && (raw ? worker[i].dealer != NULL : worker[i].window != NULL);
    if (ok) {
        //  The raw DEALERs connect asynchronously: one round trip each
        //  first, as prokit's join does.
        for (int i = 0; raw && i < workers; i++) {
            uint8_t probe[16];
            if (raw_round_trip (worker[i].dealer, NULL, probe, sizeof (probe), 1) < 0)
                ok = false;
        }
    }
    for (int i = 0; ok && i < workers; i++) {
        if (pthread_create (&thread[i], NULL, raw ? raw_pipe_thread : pk_pipe_thread, &worker[i]) !=
            0)
            break;
        started++;
    }
    double rate = NAN;
    if (started == workers && ok) {
        atomic_store (&go, 1);
        for (int i = 0; i < started; i++)
            pthread_join (thread[i], NULL);
        int64_t start = INT64_MAX, end = 0;
        long long done = 0, failed = 0;
        for (int i = 0; i < workers; i++) {
            start = worker[i].start_ns < start ? worker[i].start_ns : start;
            end = worker[i].end_ns > end ? worker[i].end_ns : end;
            done += worker[i].done;
            failed += worker[i].failed;
        }
        if (failed)
            bad ("%s pipelined: %lld of %lld requests failed or mismatched", raw ? "raw" : "prokit",
                 failed, done + failed);
        rate = (double) done / ((double) (end - start) / 1e9);
    }
    else {
        bad ("%s pipelined: setup failed", raw ? "raw" : "prokit");
        atomic_store (&go, -1);
        for (int i = 0; i < started; i++)
            pthread_join (thread[i], NULL);
    }
    for (int i = 0; i < workers; i++) {
        if (worker[i].dealer)
            zmq_close (worker[i].dealer);
        prokit_window_destroy (&worker[i].window);
    }
    return rate;
}

static void
bench_pipe (void)
{
    static const int worker_counts[] = { 1, 4 };
    for (size_t k = 0; k < 2; k++) {
        int workers = worker_counts[k];
        raw_server_t raw_server;
        pk_server_t pk_server;
        if (raw_server_start (&raw_server, "ipc") != 0)
            return;
        if (pk_server_start (&pk_server, "ipc", true) != 0) {
            raw_server_stop (&raw_server);
            return;
        }
        double raw_rates[16], pk_rates[16];
        int rounds = C.rounds;
        for (int r = 0; r < rounds; r++) {
            bool raw_first = r % 2 == 0;
            double first = pipe_round (
                raw_first, raw_first ? raw_server.endpoint : pk_server.endpoint, workers);
            double second = pipe_round (
                !raw_first, raw_first ? pk_server.endpoint : raw_server.endpoint, workers);
            raw_rates[r] = raw_first ? first : second;
            pk_rates[r] = raw_first ? second : first;
        }
        double raw_rate = median (raw_rates, rounds), pk_rate = median (pk_rates, rounds);
        char figure[96];
        snprintf (figure, sizeof (figure),
                  "pipelined requests/s, %d window%s × %d in flight, 16 B, ipc", workers,
                  workers > 1 ? "s" : "", C.pipe_depth);
        add_figure (figure, raw_rate, pk_rate, "/s", false, 0.8);
        note ("pipelined %d: raw %.0f/s, prokit %.0f/s", workers, raw_rate, pk_rate);
        pk_server_stop (&pk_server);
        raw_server_stop (&raw_server);
    }
}

//  --- scenario: a named channel against the default one --------------------------

//  16 B round trips window -> main, on channel "echo" and on the default
//  channel, alternating blocks against the same main: what naming a
//  channel costs.
static void
bench_channel (uint8_t *buf)
{
    pk_server_t pk_server;
    if (pk_server_start (&pk_server, "ipc", true) != 0)
        return;
    prokit_window_t *window = pk_window ("bench", pk_server.endpoint);
    if (window) {
        static const char *channels[2] = { NULL, "echo" };
        int n = C.rtt_small, rounds = C.rtt_rounds < 1 ? 1 : C.rtt_rounds;
        samples_t samples[2];
        uint64_t seq = 0;
        for (int c = 0; c < 2; c++) {
            samples_init (&samples[c], n);
            for (int i = 0; i < C.warmup; i++)
                if (pk_round_trip_on (window, PROKIT_MAIN, channels[c], buf, 16, ++seq) < 0)
                    samples[c].failed++;
        }
        for (int round = 0; round < rounds; round++) {
            int block = n / rounds + (round < n % rounds ? 1 : 0);
            for (int side = 0; side < 2; side++) {
                int c = round % 2 == 0 ? side : 1 - side;
                for (int i = 0; i < block; i++)
                    samples_add (&samples[c], pk_round_trip_on (window, PROKIT_MAIN, channels[c],
                                                                buf, 16, ++seq));
            }
        }
        for (int c = 0; c < 2; c++) {
            if (samples[c].failed)
                bad ("channel: %d of %d round trips on the %s channel failed or mismatched",
                     samples[c].failed, n + C.warmup, c ? "named" : "default");
            samples_sort (&samples[c]);
        }
        double plain = percentile (samples[0].values, samples[0].count, 0.5);
        double named = percentile (samples[1].values, samples[1].count, 0.5);
        add_versus ("window→main RTT p50, 16 B, ipc: named channel vs default channel", named,
                    plain, "us", true, 1.05, "default");
        add_versus ("window→main RTT p99, 16 B, ipc: named channel vs default channel",
                    percentile (samples[1].values, samples[1].count, 0.99),
                    percentile (samples[0].values, samples[0].count, 0.99), "us", true, 0, "");
        note ("channel: p50 named %.1f µs, default %.1f µs (%d samples each)", named, plain, n);
        for (int c = 0; c < 2; c++)
            samples_free (&samples[c]);
    }
    else
        bad ("channel: could not connect");
    prokit_window_destroy (&window);
    pk_server_stop (&pk_server);
}

//  --- scenario: a pool of workers that wait -------------------------------------

#define POOL_DEPTH 64     //  requests in flight from the one client
#define POOL_WORKERS 4    //  in the big pool; the small one has 1
#define POOL_WAIT_US 1000 //  each request's wait in its worker's handler

//  A worker's handler: waits 1 ms (a disk, a GPU, another service: not
//  this CPU), then echoes.
static prokit_payload_t *
pool_handler (prokit_request_t *request, void *arg)
{
    (void) arg;
    struct timespec wait = { 0, POOL_WAIT_US * 1000L };
    nanosleep (&wait, NULL);
    return prokit_request_take_payload (request);
}

//  Requests/s from one window keeping POOL_DEPTH in flight to POOL on the
//  channel "job".
static double
pool_round (const char *endpoint, const char *pool)
{
    atomic_int go = 1;
    pipe_worker_t client = { .go = &go,
                             .window = pk_window ("client", endpoint),
                             .target = pool,
                             .channel = "job",
                             .n = C.pool_n,
                             .depth = POOL_DEPTH };
    if (!client.window)
        return NAN;
    pk_pipe_thread (&client);
    prokit_window_destroy (&client.window);
    if (client.failed)
        bad ("pool '%s': %lld of %lld requests failed or mismatched", pool, client.failed,
             client.done + client.failed);
    return (double) client.done / ((double) (client.end_ns - client.start_ns) / 1e9);
}

//  Throughput of a pool of POOL_WORKERS workers against a pool of one,
//  every worker a window on a thread of its own, both pools joined to the
//  same main for the whole scenario; rounds alternate between them.
static void
bench_pool (void)
{
    pk_server_t pk_server;
    if (pk_server_start (&pk_server, "ipc", true) != 0)
        return;
    pk_runner_t workers[POOL_WORKERS + 1];
    memset (workers, 0, sizeof (workers));
    bool ok = true;
    for (int i = 0; i < POOL_WORKERS + 1 && ok; i++) {
        char name[16];
        snprintf (name, sizeof (name), "worker%d", i);
        workers[i].window =
            pk_window_serving (name, pk_server.endpoint, i < POOL_WORKERS ? "four" : "one");
        ok = workers[i].window &&
             prokit_window_handle (workers[i].window, "job", pool_handler, NULL) == PROKIT_OK &&
             pk_runner_start (&workers[i]) == 0;
    }
    if (ok) {
        double one[16], four[16];
        int rounds = C.rounds;
        for (int r = 0; r < rounds; r++) {
            bool one_first = r % 2 == 0;
            double first = pool_round (pk_server.endpoint, one_first ? "one" : "four");
            double second = pool_round (pk_server.endpoint, one_first ? "four" : "one");
            one[r] = one_first ? first : second;
            four[r] = one_first ? second : first;
        }
        double one_rate = median (one, rounds), four_rate = median (four, rounds);
        char figure[160];
        snprintf (figure, sizeof (figure),
                  "pool requests/s, %d in flight, handler waits 1 ms: %d workers vs 1 worker",
                  POOL_DEPTH, POOL_WORKERS);
        add_versus (figure, four_rate, one_rate, "/s", false, 3.5, "1 worker");
        note ("pool: %d workers %.0f/s, 1 worker %.0f/s", POOL_WORKERS, four_rate, one_rate);
    }
    else
        bad ("pool: the workers could not join");
    for (int i = 0; i < POOL_WORKERS + 1; i++)
        pk_runner_stop (&workers[i]);
    pk_server_stop (&pk_server);
}

//  --- scenario: main -> window messages and broadcast --------------------------------

//  The raw counterpart of prokit's PUB channel does the same work: an XPUB
//  that never drops (ZMQ_XPUB_NODROP: a full subscriber makes the send
//  fail with EAGAIN, and the sender waits and tries again), with prokit's
//  high-water marks, applying only the subscriptions it approves
//  (ZMQ_XPUB_MANUAL); each SUB subscribes to a 16-byte topic of its own,
//  or all to one broadcast topic, and a message is one frame: the topic,
//  then the 16-byte body.
#define RAW_TOPIC_SIZE 16
#define RAW_CHANNEL_HWM 10000 //  prokit's ROUTER_HWM and CLIENT_HWM
#define RAW_BROADCAST -1      //  raw_topic() of the broadcast topic

//  Windows read on a few threads in the 100-window broadcast: a thread
//  each would leave two vCPUs switching between a hundred of them.
#define GROUP_THREADS 4
#define GROUP_MAX 64 //  windows one thread reads at most

typedef struct counter {
    atomic_llong received;
    atomic_llong mismatched;
    atomic_llong last_ns;
    long long expect; //  raw subscribers stop after this many
    void *socket;     //  raw SUB
    atomic_bool stop;
    pthread_t thread;
} counter_t;

static const uint8_t s_msg_body[16] = "main-to-window16";

//  The topic of window INDEX, or of the broadcasts (RAW_BROADCAST): 16
//  hex digits scattered as prokit's random ones are (splitmix64 of the
//  index), so that the XPUB's subscription trie has the same shape.
static void
raw_topic (char topic[RAW_TOPIC_SIZE + 1], long index)
{
    uint64_t x = (uint64_t) index + 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    x ^= x >> 31;
    snprintf (topic, RAW_TOPIC_SIZE + 1, "%016llx", (unsigned long long) x);
}

//  Bind a new raw channel on a fresh ipc endpoint (written to ENDPOINT).
static void *
raw_channel_new (char *endpoint, size_t size)
{
    make_endpoint (endpoint, size, "ipc");
    void *pub = zmq_socket (s_ctx, ZMQ_XPUB);
    if (!pub)
        return NULL;
    raw_set_int (pub, ZMQ_LINGER, 0);
    raw_set_int (pub, ZMQ_SNDHWM, RAW_CHANNEL_HWM);
    raw_set_int (pub, ZMQ_XPUB_NODROP, 1);
    raw_set_int (pub, ZMQ_XPUB_MANUAL, 1);
    raw_set_int (pub, ZMQ_RCVTIMEO, REQUEST_TIMEOUT_MS);
    if (zmq_bind (pub, endpoint) != 0) {
        bad ("raw pub: cannot bind %s: %s", endpoint, zmq_strerror (errno));
        zmq_close (pub);
        return NULL;
    }
    return pub;
}

static void
raw_channel_destroy (void **pub_p, const char *endpoint)
{
    if (*pub_p) {
        zmq_close (*pub_p);
        unlink (endpoint + 6);
        *pub_p = NULL;
    }
}

typedef struct raw_seen {
    int subscribed; //  subscriptions approved
    int left;       //  unsubscriptions: a SUB that went away
} raw_seen_t;

//  The channel's side of joining and leaving, one message: approve a
//  subscription (ZMQ_XPUB_MANUAL), as prokit's router approves a joining
//  window's topics, or count the unsubscription of a SUB that went away.
//  FLAGS as zmq_msg_recv()'s. False when nothing came.
static bool
raw_channel_take (void *pub, raw_seen_t *seen, int flags)
{
    zmq_msg_t msg;
    zmq_msg_init (&msg);
    bool got = zmq_msg_recv (&msg, pub, flags) >= 0;
    if (got) {
        const uint8_t *data = (const uint8_t *) zmq_msg_data (&msg);
        size_t size = zmq_msg_size (&msg);
        //  With ZMQ_XPUB_MANUAL this applies to the SUB it came from.
        if (size > 1 && data[0] == 1 &&
            zmq_setsockopt (pub, ZMQ_SUBSCRIBE, data + 1, size - 1) == 0)
            seen->subscribed++;
        else if (size > 1 && data[0] == 0)
            seen->left++;
    }
    zmq_msg_close (&msg);
    return got;
}

//  Serve the channel until SEEN has reached SUBSCRIBED and LEFT, or a
//  receive times out. Returns true when it has.
static bool
raw_channel_serve (void *pub, raw_seen_t *seen, int subscribed, int left)
{
    while ((seen->subscribed < subscribed || seen->left < left) && raw_channel_take (pub, seen, 0))
        ;
    return seen->subscribed >= subscribed && seen->left >= left;
}

//  A raw SUB subscribed to TOPIC (and to TOPIC2 unless NULL), as a prokit
//  window's, connected to ENDPOINT.
static void *
raw_sub (void *ctx, const char *endpoint, const char *topic, const char *topic2)
{
    void *socket = zmq_socket (ctx, ZMQ_SUB);
    if (!socket)
        return NULL;
    raw_set_int (socket, ZMQ_LINGER, 0);
    raw_set_int (socket, ZMQ_RCVHWM, RAW_CHANNEL_HWM);
    raw_set_int (socket, ZMQ_RCVTIMEO, RAW_POLL_MS);
    zmq_setsockopt (socket, ZMQ_SUBSCRIBE, topic, RAW_TOPIC_SIZE);
    if (topic2)
        zmq_setsockopt (socket, ZMQ_SUBSCRIBE, topic2, RAW_TOPIC_SIZE);
    if (zmq_connect (socket, endpoint) != 0) {
        zmq_close (socket);
        return NULL;
    }
    return socket;
}

static void
count_message (const prokit_message_t *message, void *arg)
{
    counter_t *self = (counter_t *) arg;
    size_t size = 0;
    const void *data = prokit_payload_bytes (prokit_message_payload (message), &size);
    if (!data || size != sizeof (s_msg_body) || memcmp (data, s_msg_body, size) != 0)
        atomic_fetch_add (&self->mismatched, 1);
    atomic_fetch_add (&self->received, 1);
    atomic_store (&self->last_ns, now_ns ());
}

//  One raw message: the body after the topic, as prokit checks its body
//  after the topic and the header.
static void
raw_count_frame (counter_t *self, zmq_msg_t *frame)
{
    if (zmq_msg_size (frame) != RAW_TOPIC_SIZE + sizeof (s_msg_body) ||
        memcmp ((const uint8_t *) zmq_msg_data (frame) + RAW_TOPIC_SIZE, s_msg_body,
                sizeof (s_msg_body)) != 0)
        atomic_fetch_add (&self->mismatched, 1);
    atomic_fetch_add (&self->received, 1);
    atomic_store (&self->last_ns, now_ns ());
}

static void *
raw_sub_thread (void *arg)
{
    counter_t *self = (counter_t *) arg;
    int64_t deadline = now_ns () + (int64_t) RUN_DEADLINE_MS * 1000000;
    zmq_msg_t frame;
    zmq_msg_init (&frame);
    while (atomic_load (&self->received) < self->expect && !atomic_load (&self->stop) &&
           now_ns () < deadline) {
        if (zmq_msg_recv (&frame, self->socket, 0) < 0)
            continue; //  RCVTIMEO
        raw_count_frame (self, &frame);
    }
    zmq_msg_close (&frame);
    return NULL;
}

//  A thread reading several windows, raw SUBs or prokit windows, waiting
//  on all their descriptors in one poll(2) as an application's loop would.
typedef struct group {
    counter_t *counters;       //  its windows' counters (raw: with the SUBs)
    prokit_window_t **windows; //  prokit: its windows
    int count;
    atomic_bool stop;
    pthread_t thread;
} group_t;

static bool
group_done (group_t *self)
{
    for (int i = 0; i < self->count; i++)
        if (atomic_load (&self->counters[i].received) < self->counters[i].expect)
            return false;
    return true;
}

static void *
raw_group_thread (void *arg)
{
    group_t *self = (group_t *) arg;
    struct pollfd items[GROUP_MAX];
    for (int i = 0; i < self->count; i++) {
        size_t size = sizeof (items[i].fd);
        zmq_getsockopt (self->counters[i].socket, ZMQ_FD, &items[i].fd, &size);
        items[i].events = POLLIN;
    }
    int64_t deadline = now_ns () + (int64_t) RUN_DEADLINE_MS * 1000000;
    zmq_msg_t frame;
    zmq_msg_init (&frame);
    while (!group_done (self) && !atomic_load (&self->stop) && now_ns () < deadline) {
        int ready = poll (items, (nfds_t) self->count, RAW_POLL_MS);
        for (int i = 0; i < self->count; i++) {
            //  After a timeout, every SUB: a safety net, idle anyway.
            if (ready > 0 && !(items[i].revents & POLLIN))
                continue;
            //  libzmq's descriptor says only that something changed, until
            //  the socket is read to EAGAIN.
            while (zmq_msg_recv (&frame, self->counters[i].socket, ZMQ_DONTWAIT) >= 0)
                raw_count_frame (&self->counters[i], &frame);
        }
    }
    zmq_msg_close (&frame);
    return NULL;
}

static void *
pk_group_thread (void *arg)
{
    group_t *self = (group_t *) arg;
    struct pollfd items[GROUP_MAX];
    for (int i = 0; i < self->count; i++) {
        items[i].fd = prokit_window_fd (self->windows[i]);
        items[i].events = POLLIN;
    }
    int64_t deadline = now_ns () + (int64_t) RUN_DEADLINE_MS * 1000000;
    while (!atomic_load (&self->stop) && now_ns () < deadline) {
        int ready = poll (items, (nfds_t) self->count, RAW_POLL_MS);
        for (int i = 0; i < self->count; i++)
            if (ready <= 0 || (items[i].revents & POLLIN))
                prokit_window_dispatch (self->windows[i]);
    }
    return NULL;
}

//  Split WINDOWS windows into THREADS groups (at most GROUP_THREADS).
//  Returns the number of groups, 0 if a group would be too large.
static int
groups_plan (group_t *groups, int threads, int windows, counter_t *counters,
             prokit_window_t **pk_windows)
{
    int per = (windows + threads - 1) / threads;
    if (per > GROUP_MAX)
        return 0;
    int count = 0;
    for (int first = 0; first < windows && count < threads; first += per, count++) {
        group_t *g = &groups[count];
        memset (g, 0, sizeof (*g));
        g->counters = counters + first;
        g->windows = pk_windows ? pk_windows + first : NULL;
        g->count = windows - first < per ? windows - first : per;
    }
    return count;
}

typedef struct send_result {
    double rate;        //  messages (or broadcasts) per second
    long long sent;     //  accepted by the send call
    long long received; //  summed over the windows
    long long undelivered;
    long long eagain; //  send calls refused with EAGAIN, retried
    long long lost;
} send_result_t;

//  Raw: the channel above, WINDOWS SUBs read on a thread each (THREADS ==
//  WINDOWS) or in THREADS groups. One-to-one (not BROADCAST) sends to
//  window 0's topic: WINDOWS is then 1.
static send_result_t
raw_send_round (int windows, int threads, long long n, bool broadcast)
{
    send_result_t result = { NAN, 0, 0, 0, 0, 0 };
    char endpoint[256];
    void *pub = raw_channel_new (endpoint, sizeof (endpoint));
    if (!pub)
        return result;
    counter_t *counters = (counter_t *) calloc ((size_t) windows, sizeof (counter_t));
    bool grouped = threads < windows;
    group_t groups[GROUP_THREADS];
    int readers = 0; //  threads to start
    bool ok = counters != NULL && (!grouped || threads <= GROUP_THREADS);
    raw_seen_t seen = { 0, 0 };
    for (int i = 0; ok && i < windows; i++) {
        counter_t *c = &counters[i];
        c->expect = n;
        char topic[RAW_TOPIC_SIZE + 1];
        raw_topic (topic, broadcast ? RAW_BROADCAST : i);
        c->socket = raw_sub (s_ctx, endpoint, topic, NULL);
        //  Once its subscription is applied, nothing sent to it is lost.
        ok = c->socket && raw_channel_serve (pub, &seen, i + 1, 0);
    }
    if (ok) {
        readers = grouped ? groups_plan (groups, threads, windows, counters, NULL) : windows;
        ok = readers > 0;
    }
    int started = 0;
    for (int i = 0; ok && i < readers; i++) {
        int rc = grouped ? pthread_create (&groups[i].thread, NULL, raw_group_thread, &groups[i])
                         : pthread_create (&counters[i].thread, NULL, raw_sub_thread, &counters[i]);
        if (rc != 0)
            break;
        started++;
    }
    int64_t start = 0;
    if (ok && started == readers) {
        uint8_t frame[RAW_TOPIC_SIZE + sizeof (s_msg_body)];
        char topic[RAW_TOPIC_SIZE + 1];
        raw_topic (topic, broadcast ? RAW_BROADCAST : 0);
        memcpy (frame, topic, RAW_TOPIC_SIZE);
        memcpy (frame + RAW_TOPIC_SIZE, s_msg_body, sizeof (s_msg_body));
        struct pollfd item = { -1, POLLIN, 0 };
        size_t fd_size = sizeof (item.fd);
        zmq_getsockopt (pub, ZMQ_FD, &item.fd, &fd_size);
        start = now_ns ();
        int64_t deadline = start + (int64_t) RUN_DEADLINE_MS * 1000000;
        for (long long i = 0; i < n;) {
            if (zmq_send (pub, frame, sizeof (frame), ZMQ_DONTWAIT) == (int) sizeof (frame)) {
                result.sent++;
                i++;
            }
            else if (errno == EAGAIN && now_ns () < deadline) {
                //  A subscriber is full and nothing was queued. What it
                //  reads comes back to the XPUB as commands, which wake
                //  its descriptor; the next send takes them in.
                result.eagain++;
                poll (&item, 1, 1);
            }
            else {
                bad ("raw %s: %s", broadcast ? "broadcast" : "send", zmq_strerror (errno));
                break;
            }
        }
        int64_t settle = now_ns () + (int64_t) SETTLE_DEADLINE_MS * 1000000;
        for (int i = 0; i < windows; i++)
            while (atomic_load (&counters[i].received) < result.sent && now_ns () < settle)
                sleep_ms (1);
    }
    else
        bad ("raw pub/sub: setup failed");
    for (int i = 0; i < started; i++) {
        atomic_store (grouped ? &groups[i].stop : &counters[i].stop, true);
        pthread_join (grouped ? groups[i].thread : counters[i].thread, NULL);
    }
    if (start) {
        //  Anything still on its way when this is over counts as lost.
        int64_t end = 0;
        for (int i = 0; i < windows; i++) {
            result.received += atomic_load (&counters[i].received);
            if (atomic_load (&counters[i].mismatched))
                bad ("raw sub: %lld mismatched", (long long) atomic_load (&counters[i].mismatched));
            int64_t last = atomic_load (&counters[i].last_ns);
            end = last > end ? last : end;
        }
        result.lost = result.sent * windows - result.received;
        result.rate = (double) result.received / windows / ((double) (end - start) / 1e9);
    }
    for (int i = 0; counters && i < windows; i++)
        if (counters[i].socket)
            zmq_close (counters[i].socket);
    free (counters);
    raw_channel_destroy (&pub, endpoint);
    return result;
}

typedef struct pk_send_ctx {
    pk_server_t *server;
    int windows;
} pk_send_ctx_t;

static bool
pk_all_joined (void *arg)
{
    pk_send_ctx_t *ctx = (pk_send_ctx_t *) arg;
    return atomic_load (&ctx->server->windows) >= ctx->windows;
}

typedef struct pk_settle {
    counter_t *counters;
    int windows;
    long long expect; //  deliveries expected
    atomic_llong *undelivered;
} pk_settle_t;

static bool
pk_settled (void *arg)
{
    pk_settle_t *s = (pk_settle_t *) arg;
    long long got = atomic_load (s->undelivered);
    for (int i = 0; i < s->windows; i++)
        got += atomic_load (&s->counters[i].received);
    return got >= s->expect;
}

//  prokit: main sends (to window 0, prokit_main_send) or broadcasts from
//  this thread; the windows count on a thread each (THREADS == WINDOWS,
//  prokit_window_run()) or in THREADS groups.
static send_result_t
pk_send_round (int windows, int threads, long long n, bool broadcast)
{
    send_result_t result = { NAN, 0, 0, 0, 0, 0 };
    pk_server_t server;
    if (pk_server_start (&server, "ipc", false) != 0)
        return result;
    counter_t *counters = (counter_t *) calloc ((size_t) windows, sizeof (counter_t));
    pk_runner_t *runners = (pk_runner_t *) calloc ((size_t) windows, sizeof (pk_runner_t));
    prokit_window_t **handles =
        (prokit_window_t **) calloc ((size_t) windows, sizeof (prokit_window_t *));
    bool grouped = threads < windows;
    group_t groups[GROUP_THREADS];
    int readers = 0, started = 0;
    bool ok = counters && runners && handles && (!grouped || threads <= GROUP_THREADS);
    for (int i = 0; ok && i < windows; i++) {
        char name[16];
        snprintf (name, sizeof (name), "win%d", i);
        handles[i] = pk_window (name, server.endpoint);
        ok = handles[i] &&
             prokit_window_on_main_message (handles[i], count_message, &counters[i]) == PROKIT_OK;
    }
    if (ok) {
        readers = grouped ? groups_plan (groups, threads, windows, counters, handles) : windows;
        ok = readers > 0;
    }
    for (int i = 0; ok && i < readers; i++) {
        int rc;
        if (grouped)
            rc = pthread_create (&groups[i].thread, NULL, pk_group_thread, &groups[i]);
        else {
            runners[i].window = handles[i];
            rc = pk_runner_start (&runners[i]);
        }
        if (rc != 0) {
            ok = false;
            break;
        }
        started++;
    }
    pk_send_ctx_t ctx = { &server, windows };
    if (ok && !pk_main_dispatch_until (server.main, pk_all_joined, &ctx, SETTLE_DEADLINE_MS)) {
        bad ("prokit send: main did not see the windows join");
        ok = false;
    }
    int64_t start = 0;
    if (ok) {
        start = now_ns ();
        int64_t deadline = start + (int64_t) RUN_DEADLINE_MS * 1000000;
        //  The clock is read once per 1024 sends, not per send: the raw
        //  sender has no deadline to check but while it waits.
        prokit_payload_t *payload = NULL; //  refused (EAGAIN): kept, sent again
        for (long long i = 0; i < n && ((i & 1023) != 0 || now_ns () < deadline);) {
            if (!payload)
                payload = prokit_payload_new_bytes (s_msg_body, sizeof (s_msg_body));
            int rc = broadcast ? prokit_main_broadcast (server.main, &payload)
                               : prokit_main_send (server.main, "win0", &payload);
            if (rc == PROKIT_OK) {
                result.sent++;
                i++;
            }
            else if (rc == PROKIT_EAGAIN) {
                //  Nothing was sent: let main catch up, then try again.
                result.eagain++;
                struct pollfd item = { prokit_main_fd (server.main), POLLIN, 0 };
                poll (&item, 1, 1);
                prokit_main_dispatch (server.main);
            }
            else {
                bad ("prokit %s: %s", broadcast ? "broadcast" : "send", prokit_error_name (rc));
                break;
            }
        }
        prokit_payload_destroy (&payload);
        pk_settle_t settle = { counters, windows, result.sent * windows, &server.undelivered };
        pk_main_dispatch_until (server.main, pk_settled, &settle, SETTLE_DEADLINE_MS);
    }
    for (int i = 0; i < started; i++) {
        if (grouped) {
            atomic_store (&groups[i].stop, true);
            pthread_join (groups[i].thread, NULL);
        }
        else {
            pk_runner_stop (&runners[i]); //  destroys its window
            handles[i] = NULL;
        }
    }
    if (start) {
        //  Anything still on its way when this is over counts as lost.
        int64_t end = 0;
        for (int i = 0; i < windows; i++) {
            result.received += atomic_load (&counters[i].received);
            if (atomic_load (&counters[i].mismatched))
                bad ("prokit window: %lld mismatched",
                     (long long) atomic_load (&counters[i].mismatched));
            int64_t last = atomic_load (&counters[i].last_ns);
            end = last > end ? last : end;
        }
        result.undelivered = atomic_load (&server.undelivered);
        result.lost = result.sent * windows - result.received - result.undelivered;
        result.rate = (double) result.received / windows / ((double) (end - start) / 1e9);
    }
    for (int i = 0; handles && i < windows; i++)
        prokit_window_destroy (&handles[i]);
    free (handles);
    free (runners);
    free (counters);
    pk_server_stop (&server);
    return result;
}

//  WINDOWS windows read on THREADS threads; N messages (or broadcasts)
//  per round; the rate's target is LIMIT × raw's.
static void
bench_send (int windows, int threads, bool broadcast, long long n, double limit)
{
    send_result_t raw_total = { 0, 0, 0, 0, 0, 0 }, pk_total = { 0, 0, 0, 0, 0, 0 };
    double raw_rates[16], pk_rates[16];
    int rounds = C.rounds;
    for (int r = 0; r < rounds; r++) {
        send_result_t raw, pk;
        if (r % 2 == 0) {
            raw = raw_send_round (windows, threads, n, broadcast);
            pk = pk_send_round (windows, threads, n, broadcast);
        }
        else {
            pk = pk_send_round (windows, threads, n, broadcast);
            raw = raw_send_round (windows, threads, n, broadcast);
        }
        raw_rates[r] = raw.rate;
        pk_rates[r] = pk.rate;
        raw_total.sent += raw.sent;
        raw_total.received += raw.received;
        raw_total.eagain += raw.eagain;
        raw_total.lost += raw.lost;
        pk_total.sent += pk.sent;
        pk_total.received += pk.received;
        pk_total.undelivered += pk.undelivered;
        pk_total.eagain += pk.eagain;
        pk_total.lost += pk.lost;
    }
    double raw_rate = median (raw_rates, rounds), pk_rate = median (pk_rates, rounds);
    char what[64];
    if (!broadcast)
        snprintf (what, sizeof (what), "main→window");
    else if (threads < windows)
        snprintf (what, sizeof (what), "broadcast to %d windows (%d threads)", windows, threads);
    else
        snprintf (what, sizeof (what), "broadcast to %d windows", windows);
    char figure[128];
    snprintf (figure, sizeof (figure), "%s msgs/s, 16 B, ipc (raw: XPUB/SUB, %s)", what,
              broadcast ? "one topic" : "a topic each");
    row_t *row = add_figure (figure, raw_rate, pk_rate, "/s", false, limit);
    snprintf (row->target, sizeof (row->target), "≥ %.2f× raw, 0 lost", limit);
    if (row->met == 1 && pk_total.lost != 0)
        row->met = 0;
    snprintf (figure, sizeof (figure), "%s delivery (received / sent × windows)", what);
    row = add_row (figure);
    snprintf (row->raw, sizeof (row->raw), "%lld / %lld, %lld lost, %lld EAGAIN",
              raw_total.received, raw_total.sent * windows, raw_total.lost, raw_total.eagain);
    snprintf (row->prokit, sizeof (row->prokit),
              "%lld / %lld, %lld undelivered, %lld lost, %lld EAGAIN", pk_total.received,
              pk_total.sent * windows, pk_total.undelivered, pk_total.lost, pk_total.eagain);
    //  Every window reads all the time: with the channel refusing what a
    //  full window cannot take (EAGAIN, retried), nothing should be
    //  undelivered, and a broadcast must reach all or none.
    if (broadcast) {
        snprintf (row->target, sizeof (row->target), "0 lost, 0 undelivered");
        row->met = pk_total.lost == 0 && pk_total.undelivered == 0;
    }
    else {
        snprintf (row->target, sizeof (row->target), "0 lost");
        row->met = pk_total.lost == 0;
    }
    row->raw_value = (double) raw_total.lost;
    row->prokit_value = (double) pk_total.lost;
    snprintf (row->unit, sizeof (row->unit), "lost");
    if (raw_total.lost != 0)
        bad ("raw %s: %lld lost", what, raw_total.lost);
    if (pk_total.lost != 0)
        bad ("prokit %s: %lld lost", what, pk_total.lost);
    note ("%s: raw %.0f/s, %lld EAGAIN; prokit %.0f/s, %lld/%lld received, %lld undelivered, "
          "%lld EAGAIN",
          what, raw_rate, raw_total.eagain, pk_rate, pk_total.received, pk_total.sent * windows,
          pk_total.undelivered, pk_total.eagain);
}

//  --- scenario: a window that does not read -----------------------------------------

//  The window checks that what arrives is exactly what main's send
//  accepted, in order: message SEQ carries SEQ (fill ()).
typedef struct slow_reader {
    prokit_window_t *window;
    int pause_ms; //  after GO, before it reads anything
    atomic_int go;
    atomic_bool stop;
    atomic_llong received;
    atomic_llong disordered; //  not the next message main accepted
    uint64_t next;
    pthread_t thread;
} slow_reader_t;

static void
slow_message (const prokit_message_t *message, void *arg)
{
    slow_reader_t *self = (slow_reader_t *) arg;
    size_t size = 0;
    const void *data = prokit_payload_bytes (prokit_message_payload (message), &size);
    if (!check (data, size, sizeof (s_msg_body), self->next))
        atomic_fetch_add (&self->disordered, 1);
    self->next++;
    atomic_fetch_add (&self->received, 1);
}

static void *
slow_reader_thread (void *arg)
{
    slow_reader_t *self = (slow_reader_t *) arg;
    while (!atomic_load (&self->go) && !atomic_load (&self->stop))
        sleep_ms (1);
    //  Busy elsewhere: nothing is read, the queues towards it fill up.
    int64_t resume = now_ns () + (int64_t) self->pause_ms * 1000000;
    while (now_ns () < resume && !atomic_load (&self->stop))
        sleep_ms (10);
    struct pollfd item = { prokit_window_fd (self->window), POLLIN, 0 };
    while (!atomic_load (&self->stop)) {
        poll (&item, 1, RAW_POLL_MS);
        prokit_window_dispatch (self->window);
    }
    return NULL;
}

static bool
pk_never (void *arg)
{
    (void) arg;
    return false;
}

typedef struct slow_settle {
    slow_reader_t *reader;
    long long accepted;
    atomic_llong *undelivered;
} slow_settle_t;

static bool
slow_settled (void *arg)
{
    slow_settle_t *s = (slow_settle_t *) arg;
    return atomic_load (&s->reader->received) + atomic_load (s->undelivered) >= s->accepted;
}

//  Main (embedded, on this thread), or with FROM_WINDOW a window on this
//  thread, sends C.slow_msgs messages by name to a window that reads
//  nothing for C.slow_pause_ms, without retrying what is refused: every
//  message the send accepted must then either arrive or be reported
//  undelivered. The window dispatches every 1000 sends, as a program that
//  sends in a loop would: the router's refusals reach it, and with the
//  first its word to hold back (FLOW). No raw counterpart: raw libzmq has
//  nothing to report with.
static void
bench_slow (bool from_window)
{
    pk_server_t server;
    if (pk_server_start (&server, "ipc", false) != 0)
        return;
    slow_reader_t reader;
    memset (&reader, 0, sizeof (reader));
    reader.pause_ms = C.slow_pause_ms;
    reader.window = pk_window ("slow", server.endpoint);
    prokit_window_t *feeder = from_window ? pk_window ("feeder", server.endpoint) : NULL;
    atomic_llong feeder_undelivered = 0;
    atomic_llong *undelivered = from_window ? &feeder_undelivered : &server.undelivered;
    bool ok = reader.window && (!from_window || feeder) &&
              (from_window ? prokit_window_on_window_message (reader.window, slow_message, &reader)
                           : prokit_window_on_main_message (reader.window, slow_message,
                                                            &reader)) == PROKIT_OK;
    if (ok && feeder)
        ok = prokit_window_on_undelivered (feeder, count_undelivered, &feeder_undelivered) ==
             PROKIT_OK;
    pk_send_ctx_t ctx = { &server, from_window ? 2 : 1 };
    if (ok && !pk_main_dispatch_until (server.main, pk_all_joined, &ctx, SETTLE_DEADLINE_MS)) {
        bad ("slow: main did not see the windows join");
        ok = false;
    }
    bool started = ok && pthread_create (&reader.thread, NULL, slow_reader_thread, &reader) == 0;
    long long accepted = 0, refused = 0;
    if (started) {
        atomic_store (&reader.go, 1);
        int64_t start = now_ns ();
        uint8_t body[sizeof (s_msg_body)];
        for (long long i = 0; i < C.slow_msgs; i++) {
            fill (body, sizeof (body), (uint64_t) accepted);
            prokit_payload_t *payload = prokit_payload_new_bytes (body, sizeof (body));
            int rc = feeder ? prokit_window_send (feeder, "slow", &payload)
                            : prokit_main_send (server.main, "slow", &payload);
            prokit_payload_destroy (&payload); //  refused: not retried, so dropped
            if (rc == PROKIT_OK)
                accepted++;
            else if (rc == PROKIT_EAGAIN)
                refused++; //  nothing was sent; not retried, on purpose
            else {
                bad ("slow: send: %s", prokit_error_name (rc));
                break;
            }
            if (feeder && i % 1000 == 999) {
                prokit_main_dispatch (server.main);
                prokit_window_dispatch (feeder);
            }
        }
        double send_ms = (double) (now_ns () - start) / 1e6;
        slow_settle_t settle = { &reader, accepted, undelivered };
        pk_dispatch_until (server.main, feeder, slow_settled, &settle,
                           C.slow_pause_ms + SETTLE_DEADLINE_MS);
        //  Late extras would show as received > accepted: look a moment more.
        pk_dispatch_until (server.main, feeder, pk_never, NULL, 100);
        atomic_store (&reader.stop, true);
        pthread_join (reader.thread, NULL);
        note ("slow: %lld sends from %s in %.0f ms (window idle %d ms): %lld accepted, %lld "
              "refused",
              accepted + refused, from_window ? "a window" : "main", send_ms, C.slow_pause_ms,
              accepted, refused);
    }
    else
        bad ("slow: setup failed");
    long long received = atomic_load (&reader.received);
    long long reported = atomic_load (undelivered);
    long long disordered = atomic_load (&reader.disordered);
    char figure[192];
    snprintf (figure, sizeof (figure),
              "window reading nothing for %.1f s, %s sends %d by name, no retry: accepted / "
              "received / reported undelivered",
              C.slow_pause_ms / 1000.0,
              from_window ? "another window (dispatching every 1000)" : "main", C.slow_msgs);
    row_t *row = add_row (figure);
    snprintf (row->raw, sizeof (row->raw), "—");
    snprintf (row->prokit, sizeof (row->prokit), "%lld / %lld / %lld (%lld refused: EAGAIN)",
              accepted, received, reported, refused);
    snprintf (row->target, sizeof (row->target), "accepted = received + reported");
    row->met = started && accepted == received + reported && disordered == 0;
    row->prokit_value = (double) (accepted - received - reported);
    snprintf (row->unit, sizeof (row->unit), "lost");
    if (started && accepted != received + reported)
        bad ("slow: %lld accepted, %lld received, %lld reported undelivered", accepted, received,
             reported);
    if (disordered)
        bad ("slow: %lld messages out of order or not the ones accepted", disordered);
    if (feeder)
        prokit_window_destroy (&feeder);
    if (reader.window)
        prokit_window_destroy (&reader.window);
    pk_server_stop (&server);
}

//  --- scenario: many windows -----------------------------------------------------

typedef struct child {
    pid_t pid;
    int to_child, from_child;
} child_t;

//  Start this program with ARGV (after the program's name, up to NULL),
//  its standard input and output pipes to this process.
static int
child_spawn_argv (child_t *self, char *const *args)
{
    char *argv[8] = { s_self_exe };
    for (int i = 0; args[i] && i + 2 < (int) (sizeof (argv) / sizeof (argv[0])); i++)
        argv[i + 1] = args[i];
    int in[2], out[2];
    if (pipe2 (in, O_CLOEXEC) != 0)
        return -1;
    if (pipe2 (out, O_CLOEXEC) != 0) {
        close (in[0]);
        close (in[1]);
        return -1;
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init (&actions);
    posix_spawn_file_actions_adddup2 (&actions, in[0], 0);
    posix_spawn_file_actions_adddup2 (&actions, out[1], 1);
    int rc = posix_spawn (&self->pid, s_self_exe, &actions, NULL, argv, environ);
    posix_spawn_file_actions_destroy (&actions);
    close (in[0]);
    close (out[1]);
    if (rc != 0) {
        close (in[1]);
        close (out[0]);
        return -1;
    }
    self->to_child = in[1];
    self->from_child = out[0];
    return 0;
}

//  Start this program in MODE (--windows, --raw-windows) with N windows
//  named or numbered from FIRST on, ENDPOINT and, unless NULL, CHANNEL; it
//  joins them once told to go (child_go()).
static int
child_spawn (child_t *self, const char *mode, int n, int first, const char *endpoint,
             const char *channel)
{
    char count[16], from[16];
    snprintf (count, sizeof (count), "%d", n);
    snprintf (from, sizeof (from), "%d", first);
    char *args[] = { (char *) mode, count, (char *) endpoint, from, (char *) channel, NULL };
    return child_spawn_argv (self, args);
}

//  Tell a child started by child_spawn() to start joining.
static bool
child_go (child_t *self)
{
    return write (self->to_child, "go\n", 3) == 3;
}

//  Read one line from the child, within MS. Returns its length or -1.
static int
child_read_line (child_t *self, char *line, size_t size, int ms)
{
    int64_t deadline = now_ns () + (int64_t) ms * 1000000;
    size_t len = 0;
    while (len + 1 < size) {
        int left = (int) ((deadline - now_ns ()) / 1000000);
        if (left <= 0)
            return -1;
        struct pollfd item = { self->from_child, POLLIN, 0 };
        if (poll (&item, 1, left) <= 0)
            continue;
        char c;
        if (read (self->from_child, &c, 1) != 1)
            return -1;
        if (c == '\n')
            break;
        line[len++] = c;
    }
    line[len] = 0;
    return (int) len;
}

//  Tell the child to finish and reap it (killed if it takes over MS).
//  Returns its exit status, or -1.
static int
child_finish (child_t *self, int ms)
{
    ssize_t rc = write (self->to_child, "quit\n", 5);
    (void) rc;
    close (self->to_child);
    int64_t deadline = now_ns () + (int64_t) ms * 1000000;
    int status = 0;
    int result = -1;
    while (true) {
        pid_t pid = waitpid (self->pid, &status, WNOHANG);
        if (pid == self->pid) {
            result = WIFEXITED (status) ? WEXITSTATUS (status) : -1;
            break;
        }
        if (now_ns () >= deadline) {
            note ("child %d did not exit in time: killed", (int) self->pid);
            kill (self->pid, SIGKILL);
            waitpid (self->pid, &status, 0);
            break;
        }
        sleep_ms (5);
    }
    close (self->from_child);
    return result;
}

static bool
wait_windows (pk_server_t *server, int expect, bool at_least, int ms)
{
    int64_t deadline = now_ns () + (int64_t) ms * 1000000;
    while (now_ns () < deadline) {
        int count = atomic_load (&server->windows);
        if (at_least ? count >= expect : count <= expect)
            return true;
        sleep_ms (2);
    }
    return false;
}

typedef struct many_result {
    double rtt1, rttn; //  p50, µs, with 1 and with N joined
    double kib_per;    //  RSS delta per idle window, KiB
    double join_ms;    //  the child's time to join all N
    bool ok;
} many_result_t;

static void
sample_one_side (bool raw, void *dealer, prokit_window_t *window, uint8_t *buf, int n,
                 samples_t *out)
{
    static uint64_t seq = 1u << 30;
    for (int i = 0; i < n; i++)
        samples_add (out, raw ? raw_round_trip (dealer, NULL, buf, 16, ++seq)
                              : pk_round_trip (window, PROKIT_MAIN, buf, 16, ++seq));
}

//  The raw main process's side of the many windows: its ROUTER (in
//  raw_server_t) and the channel, which this thread serves.
typedef struct raw_main {
    void *pub;
    char channel[256];
} raw_main_t;

//  One cycle: spawn the child that joins C.many idle windows, measure,
//  make them leave. Returns false when the cycle failed (reported).
static bool
many_cycle (raw_main_t *raw_main, pk_server_t *pk_server, const char *endpoint, void *dealer,
            prokit_window_t *window, uint8_t *buf, int n_samples, samples_t *many, double *kib_per,
            double *join_ms)
{
    bool raw = raw_main != NULL;
    const char *side = raw ? "raw" : "prokit";
    raw_seen_t seen = { 0, 0 };
    malloc_trim (0);
    long before = rss_kib ();
    child_t child;
    int64_t spawned = now_ns ();
    if (child_spawn (&child, raw ? "--raw-windows" : "--windows", C.many, 0, endpoint,
                     raw ? raw_main->channel : NULL) != 0) {
        bad ("cannot spawn %s", s_self_exe);
        return false;
    }
    child_go (&child);
    bool ok = false;
    char line[128];
    int failures = -1;
    if (child_read_line (&child, line, sizeof (line), 120000) < 0 ||
        sscanf (line, "READY %d %lf", &failures, join_ms) != 2)
        bad ("%s: the child with %d windows did not report", side, C.many);
    else if (failures != 0)
        bad ("%s: %d of %d windows failed to join", side, failures, C.many);
    else if (!raw && !wait_windows (pk_server, C.many + 1, true, SETTLE_DEADLINE_MS))
        bad ("prokit: main saw %d of %d windows join", atomic_load (&pk_server->windows),
             C.many + 1);
    //  Each raw window's two subscriptions (its own topic, the broadcast
    //  one) approved, as a prokit window's join has both.
    else if (raw && !raw_channel_serve (raw_main->pub, &seen, 2 * C.many, 0))
        bad ("raw: %d of %d subscriptions reached the channel", seen.subscribed, 2 * C.many);
    else {
        sleep_ms (300); //  let connection set-up and the first heartbeats settle
        malloc_trim (0);
        long after = rss_kib ();
        *kib_per = (double) (after - before) / C.many;
        note ("%s: %d windows joined in %.1f ms (%.1f ms from spawn), %.1f KiB each", side, C.many,
              *join_ms, (double) (now_ns () - spawned) / 1e6, *kib_per);
        samples_t warmup;
        samples_init (&warmup, C.warmup);
        sample_one_side (raw, dealer, window, buf, C.warmup, &warmup);
        many->failed += warmup.failed;
        samples_free (&warmup);
        sample_one_side (raw, dealer, window, buf, n_samples, many);
        ok = true;
    }
    int status = child_finish (&child, 60000);
    if (status != 0)
        bad ("%s: the windows' process exited with %d", side, status);
    if (!raw && !wait_windows (pk_server, 1, false, SETTLE_DEADLINE_MS))
        bad ("prokit: main still counts %d windows", atomic_load (&pk_server->windows));
    //  As prokit's main sees every window leave before the next baseline,
    //  the raw channel sees every SUB go (its pipes torn down).
    if (raw && !raw_channel_serve (raw_main->pub, &seen, seen.subscribed, seen.subscribed))
        bad ("raw: the channel saw %d of %d subscriptions go", seen.left, seen.subscribed);
    return ok && status == 0;
}

//  RTT with 1 and with C.many joined, alternating over C.many_cycles
//  join/leave cycles so that noise from the machine hits both alike.
static many_result_t
many_side (bool raw, uint8_t *buf)
{
    many_result_t result = { NAN, NAN, NAN, NAN, false };
    raw_server_t raw_server;
    raw_main_t raw_main = { NULL, "" };
    pk_server_t pk_server;
    const char *endpoint;
    void *dealer = NULL;
    prokit_window_t *window = NULL;
    if (raw) {
        if (raw_server_start (&raw_server, "ipc") != 0)
            return result;
        raw_main.pub = raw_channel_new (raw_main.channel, sizeof (raw_main.channel));
        if (!raw_main.pub) {
            raw_server_stop (&raw_server);
            return result;
        }
        endpoint = raw_server.endpoint;
        dealer = raw_dealer (s_ctx, endpoint, NULL);
    }
    else {
        if (pk_server_start (&pk_server, "ipc", true) != 0)
            return result;
        endpoint = pk_server.endpoint;
        window = pk_window ("probe", endpoint);
    }
    int cycles = C.many_cycles;
    samples_t one, many;
    samples_init (&one, C.many_rtt + C.warmup);
    samples_init (&many, C.many_rtt + C.warmup);
    double kib[16], join[16];
    int done = 0;
    if (dealer || window) {
        sample_one_side (raw, dealer, window, buf, C.warmup, &one);
        one.count = 0;
        for (int c = 0; c < cycles; c++) {
            sample_one_side (raw, dealer, window, buf, C.many_rtt / (cycles + 1), &one);
            if (many_cycle (raw ? &raw_main : NULL, &pk_server, endpoint, dealer, window, buf,
                            C.many_rtt / cycles, &many, &kib[done], &join[done]))
                done++;
        }
        sample_one_side (raw, dealer, window, buf, C.many_rtt / (cycles + 1), &one);
        if (one.failed || many.failed)
            bad ("%s: %d round trips failed", raw ? "raw" : "prokit", one.failed + many.failed);
        samples_sort (&one);
        samples_sort (&many);
        result.rtt1 = percentile (one.values, one.count, 0.5);
        result.rttn = percentile (many.values, many.count, 0.5);
        if (done > 0) {
            result.kib_per = median (kib, done);
            result.join_ms = median (join, done);
            result.ok = done == cycles;
        }
    }
    else
        bad ("%s: probe could not connect", raw ? "raw" : "prokit");
    samples_free (&one);
    samples_free (&many);
    if (raw) {
        if (dealer)
            zmq_close (dealer);
        raw_channel_destroy (&raw_main.pub, raw_main.channel);
        raw_server_stop (&raw_server);
    }
    else {
        prokit_window_destroy (&window);
        pk_server_stop (&pk_server);
    }
    return result;
}

static void
bench_many (uint8_t *buf)
{
    raise_fd_limit ();
    //  Per window, the child needs ~10 descriptors (prokit) and the router
    //  two more for the connections.
    if (fd_limit () < 10L * C.many + 256)
        note ("warning: descriptor limit %ld may be too low for %d windows", fd_limit (), C.many);
    many_result_t raw = many_side (true, buf);
    many_result_t pk = many_side (false, buf);
    char figure[96];
    snprintf (figure, sizeof (figure), "RTT p50 16 B ipc, 1 window joined");
    add_figure (figure, raw.rtt1, pk.rtt1, "us", true, 0);
    snprintf (figure, sizeof (figure), "RTT p50 16 B ipc, %d idle windows joined", C.many);
    add_figure (figure, raw.rttn, pk.rttn, "us", true, 0);
    snprintf (figure, sizeof (figure), "RTT p50 with %d joined ÷ with 1 (ratio: prokit's)", C.many);
    add_growth (figure, raw.rttn / raw.rtt1, pk.rttn / pk.rtt1, C.many, 1.25);
    snprintf (figure, sizeof (figure),
              "main-process RSS per idle window (raw: a DEALER and a SUB connected)");
    add_figure (figure, raw.kib_per, pk.kib_per, "KiB", true, 1.1);
    snprintf (figure, sizeof (figure), "time to join %d windows, one after another", C.many);
    add_figure (figure, raw.join_ms, pk.join_ms, "ms", true, 0);
    note ("many: raw rtt %.1f/%.1f µs, %.1f KiB, %.0f ms; prokit rtt %.1f/%.1f µs, %.1f KiB, "
          "%.0f ms",
          raw.rtt1, raw.rttn, raw.kib_per, raw.join_ms, pk.rtt1, pk.rttn, pk.kib_per, pk.join_ms);
}

//  --- scenario: 10,000 windows ----------------------------------------------------

//  C.scale idle windows joined at once, from child processes of at most
//  C.scale_per_child windows each (a window handle holds about ten
//  descriptors), to one main (its router embedded) and to one broker
//  (main attached to it from this process). The router's process is a
//  child too (--server): measured from outside (RSS, CPU), and killed at
//  the end with the windows, since windows leaving cost libzmq's XPUB a
//  walk of its whole subscription trie each (docs/PERFORMANCE.md). Raw:
//  as many DEALER + SUB pairs from as many processes to a ROUTER + XPUB,
//  whose ROUTER echoes, or forwards to main's DEALER in this process.

typedef struct scale_result {
    double rtt1, rttn; //  p50, µs, with the probe alone and with all joined
    double kib_server; //  RSS delta per window of the router's process
    double kib_main;   //  with a broker: of this (main's) process; else NAN
    double cpu_idle;   //  the router's process with all joined and idle: % of one CPU
    double join_ms;    //  "go" to every child reporting its windows joined
    int joined;        //  windows the children reported joined
    bool ok;
} scale_result_t;

//  One side: the router's process, and the probe that measures through it.
typedef struct scale_side {
    bool raw, broker;
    const char *name;
    child_t server; //  --server raw|main|broker
    bool server_running;
    char endpoint[256], channel[256];
    raw_echo_peer_t raw_echo; //  raw via a broker: main's DEALER, echoing
    bool raw_echo_running;
    pk_server_t pk_main; //  prokit via a broker: main, attached
    bool pk_main_running;
    void *dealer;            //  raw probe
    const char *to;          //  its destination: NULL (the ROUTER echoes) or "main"
    prokit_window_t *window; //  prokit probe
    int io_threads;          //  libzmq I/O threads of the router's process
} scale_side_t;

//  CPU time PID has used, in seconds, or NAN.
static double
proc_cpu_seconds (pid_t pid)
{
    char path[64], text[1024];
    snprintf (path, sizeof (path), "/proc/%d/stat", (int) pid);
    FILE *file = fopen (path, "r");
    if (!file)
        return NAN;
    size_t len = fread (text, 1, sizeof (text) - 1, file);
    fclose (file);
    text[len] = 0;
    const char *fields = strrchr (text, ')'); //  the name may hold spaces
    unsigned long user, system;
    if (!fields || sscanf (fields + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
                           &user, &system) != 2)
        return NAN;
    return (double) (user + system) / (double) sysconf (_SC_CLK_TCK);
}

//  End a child at once, without its goodbyes.
static void
child_kill (child_t *self)
{
    kill (self->pid, SIGKILL);
    waitpid (self->pid, NULL, 0);
    close (self->to_child);
    close (self->from_child);
}

//  Ask the router's process its RSS (KiB, after malloc_trim) and how many
//  it counts: windows joined (prokit, the probe included) or subscriptions
//  approved (raw). False if it did not answer.
static bool
scale_server_state (scale_side_t *side, long *kib, long *count)
{
    char line[128];
    if (write (side->server.to_child, "state\n", 6) != 6 ||
        child_read_line (&side->server, line, sizeof (line), 10000) < 0 ||
        sscanf (line, "STATE %ld %ld", kib, count) != 2) {
        bad ("%s: the router's process did not answer", side->name);
        return false;
    }
    return true;
}

static void
scale_sample (scale_side_t *side, uint8_t *buf, int n, samples_t *out)
{
    static uint64_t seq = 1u << 31;
    for (int i = 0; i < n; i++)
        samples_add (out, side->raw ? raw_round_trip (side->dealer, side->to, buf, 16, ++seq)
                                    : pk_round_trip (side->window, PROKIT_MAIN, buf, 16, ++seq));
}

static bool
scale_open (scale_side_t *side)
{
    char io_threads[16];
    snprintf (io_threads, sizeof (io_threads), "%d", side->io_threads);
    char *args[] = { "--server",
                     side->raw      ? "raw"
                     : side->broker ? "broker"
                                    : "main",
                     io_threads, NULL };
    if (child_spawn_argv (&side->server, args) != 0) {
        bad ("cannot spawn %s", s_self_exe);
        return false;
    }
    side->server_running = true;
    char line[600];
    if (child_read_line (&side->server, line, sizeof (line), 20000) < 0 ||
        sscanf (line, "READY %255s %255s", side->endpoint, side->channel) < 1) {
        bad ("%s: the router's process did not start", side->name);
        return false;
    }
    if (side->raw && side->broker) {
        //  Main's DEALER greets itself through the forwarder: once that
        //  comes back, the forwarder knows "main" and drops nothing for it.
        side->raw_echo.socket = raw_dealer (s_ctx, side->endpoint, "main");
        if (!side->raw_echo.socket)
            return false;
        zmq_send (side->raw_echo.socket, "main", 4, ZMQ_SNDMORE);
        zmq_send (side->raw_echo.socket, "hi", 2, 0);
        zmq_msg_t frames[2];
        int count = raw_recv (side->raw_echo.socket, frames, 2, 0);
        if (count > 0)
            raw_close_frames (frames, count);
        if (count != 2 ||
            pthread_create (&side->raw_echo.thread, NULL, raw_echo_peer_thread, &side->raw_echo))
            return false;
        side->raw_echo_running = true;
    }
    if (side->raw) {
        side->dealer = raw_dealer (s_ctx, side->endpoint, NULL);
        side->to = side->broker ? "main" : NULL;
        return side->dealer != NULL;
    }
    if (side->broker) {
        if (pk_server_open (&side->pk_main, "ipc", side->endpoint, true) != 0)
            return false;
        side->pk_main_running = true;
    }
    side->window = pk_window ("probe", side->endpoint);
    return side->window != NULL;
}

//  Wait until the router has seen all N windows join (and main too, when
//  it is attached): their two subscriptions each approved, for raw (its
//  own topic and the broadcast one, as a prokit window's join has both).
static bool
scale_all_seen (scale_side_t *side, int n)
{
    long want = side->raw ? 2L * n : n + 1L, kib, count = 0;
    int64_t deadline = now_ns () + (int64_t) 60000 * 1000000;
    while (scale_server_state (side, &kib, &count) && count < want && now_ns () < deadline)
        sleep_ms (20);
    if (count < want) {
        bad ("%s: the router counts %ld of %ld %s", side->name, count, want,
             side->raw ? "subscriptions" : "windows");
        return false;
    }
    if (side->pk_main_running && !wait_windows (&side->pk_main, n + 1, true, 60000)) {
        bad ("%s: main saw %d of %d windows join", side->name, atomic_load (&side->pk_main.windows),
             n + 1);
        return false;
    }
    return true;
}

//  The router's process killed: its ipc files stay (a prokit router's
//  channel is the endpoint's path with ".pub").
static void
scale_kill_server (scale_side_t *side)
{
    if (!side->server_running)
        return;
    child_kill (&side->server);
    side->server_running = false;
    char path[300];
    if (strncmp (side->endpoint, "ipc://", 6) == 0) {
        unlink (side->endpoint + 6);
        snprintf (path, sizeof (path), "%s.pub", side->endpoint + 6);
        unlink (path);
    }
    if (strncmp (side->channel, "ipc://", 6) == 0)
        unlink (side->channel + 6);
}

static void
scale_close (scale_side_t *side)
{
    scale_kill_server (side);
    if (side->dealer)
        zmq_close (side->dealer);
    prokit_window_destroy (&side->window);
    if (side->raw_echo_running) {
        atomic_store (&side->raw_echo.stop, true);
        pthread_join (side->raw_echo.thread, NULL);
    }
    if (side->raw_echo.socket)
        zmq_close (side->raw_echo.socket);
    if (side->pk_main_running)
        pk_server_stop (&side->pk_main);
}

//  One side: RTT with the probe alone; N windows joined at once from
//  child processes of at most PER_CHILD each; the router's memory and
//  idle CPU, and RTT, with them; then every process killed.
static scale_result_t
scale_run (bool raw, bool broker, uint8_t *buf, int n, int per_child)
{
    scale_result_t result = { NAN, NAN, NAN, NAN, NAN, NAN, 0, false };
    scale_side_t side;
    memset (&side, 0, sizeof (side));
    side.raw = raw;
    side.broker = broker;
    side.io_threads = (n + SCALE_WINDOWS_PER_IO_THREAD - 1) / SCALE_WINDOWS_PER_IO_THREAD;
    side.name =
        raw ? (broker ? "raw via a broker" : "raw") : (broker ? "prokit via a broker" : "prokit");
    samples_t one, all, warmup;
    samples_init (&one, C.many_rtt);
    samples_init (&all, C.many_rtt);
    samples_init (&warmup, 2 * C.warmup);
    int processes = (n + per_child - 1) / per_child;
    child_t *children = (child_t *) calloc ((size_t) processes, sizeof (*children));
    int spawned = 0;
    long server_before = -1, server_after = -1, main_before = -1, count;
    bool ok = scale_open (&side);
    if (!ok)
        bad ("%s: set-up failed", side.name);
    else {
        scale_sample (&side, buf, C.warmup, &warmup);
        scale_sample (&side, buf, C.many_rtt, &one);
        ok = scale_server_state (&side, &server_before, &count);
        malloc_trim (0);
        main_before = rss_kib ();
    }
    for (int i = 0; ok && i < processes; i++) {
        int first = i * per_child;
        int windows = n - first < per_child ? n - first : per_child;
        if (child_spawn (&children[i], raw ? "--raw-windows" : "--windows", windows, first,
                         side.endpoint, raw ? side.channel : NULL) != 0) {
            bad ("cannot spawn %s", s_self_exe);
            ok = false;
        }
        else
            spawned++;
    }
    //  Every child has started (its libzmq context, its limits): now they
    //  all join at once.
    int64_t go = now_ns ();
    for (int i = 0; ok && i < spawned; i++)
        child_go (&children[i]);
    int failures = 0;
    for (int i = 0; ok && i < spawned; i++) {
        char line[128];
        int failed = -1, joined = 0;
        double ms;
        int left = 300000 - (int) ((now_ns () - go) / 1000000);
        if (child_read_line (&children[i], line, sizeof (line), left > 0 ? left : 1) < 0 ||
            sscanf (line, "READY %d %lf %d", &failed, &ms, &joined) != 3) {
            bad ("%s: window process %d of %d did not report within 300 s", side.name, i + 1,
                 spawned);
            ok = false;
        }
        else {
            failures += failed;
            result.joined += joined;
        }
    }
    if (ok) {
        result.join_ms = (double) (now_ns () - go) / 1e6;
        if (failures) {
            long kib = -1;
            count = -1;
            scale_server_state (&side, &kib, &count);
            bad ("%s: %d of %d windows joined in %.0f ms, then a join failed in %d of the %d "
                 "processes (each stops at its first); the router counts %ld",
                 side.name, result.joined, n, result.join_ms, failures, spawned, count);
            ok = false;
        }
    }
    if (ok && scale_all_seen (&side, n)) {
        note ("%s: %d windows from %d processes joined in %.1f ms, all seen in %.1f ms", side.name,
              n, spawned, result.join_ms, (double) (now_ns () - go) / 1e6);
        sleep_ms (300); //  let connection set-up and the first heartbeats settle
        ok = scale_server_state (&side, &server_after, &count);
        malloc_trim (0);
        long main_after = rss_kib ();
        result.kib_server = (double) (server_after - server_before) / n;
        if (broker)
            result.kib_main = (double) (main_after - main_before) / n;
        //  Nothing is asked of it meanwhile: what it does is its own.
        double cpu = proc_cpu_seconds (side.server.pid);
        int64_t start = now_ns ();
        sleep_ms (C.scale_idle_ms);
        result.cpu_idle =
            100 * (proc_cpu_seconds (side.server.pid) - cpu) / ((double) (now_ns () - start) / 1e9);
        scale_sample (&side, buf, C.warmup, &warmup);
        scale_sample (&side, buf, C.many_rtt, &all);
        note ("%s: %.1f KiB per window (the router's process), %.1f KiB (main's), the router's "
              "process idle at %.0f%% of a CPU",
              side.name, result.kib_server, result.kib_main, result.cpu_idle);
        //  None dropped for silence meanwhile (the router counts the
        //  windows joined, or the raw channel's subscriptions).
        long kib;
        if (ok && scale_server_state (&side, &kib, &count) && count < n)
            note_after ("many10k %s: %ld of %d windows joined at the end", side.name, count, n);
    }
    else
        ok = false;
    //  Every process killed, the router's first: windows leaving one by
    //  one would each cost it a walk of its whole subscription trie.
    scale_kill_server (&side);
    for (int i = 0; i < spawned; i++)
        child_kill (&children[i]);
    scale_close (&side);
    if (one.failed || all.failed || warmup.failed) {
        bad ("%s: %d round trips failed", side.name, one.failed + all.failed + warmup.failed);
        ok = false;
    }
    samples_sort (&one);
    samples_sort (&all);
    result.rtt1 = percentile (one.values, one.count, 0.5);
    result.rttn = percentile (all.values, all.count, 0.5);
    result.ok = ok;
    free (children);
    samples_free (&one);
    samples_free (&all);
    samples_free (&warmup);
    return result;
}

static void
bench_scale (uint8_t *buf)
{
    int n = C.scale, per_child = C.scale_per_child;
    //  The router's process holds two connections per window (main's
    //  router, or the raw ROUTER and XPUB); a window's process about ten
    //  descriptors per window. Children inherit the limit.
    long need = 2L * n + 512;
    long limit = raise_fd_limit_to (need);
    if (limit < need) {
        int fit = limit > 512 ? (int) ((limit - 512) / 2) : 0;
        note_after ("many10k: the descriptor limit is %ld and could not be raised to the %ld "
                    "that %d windows need in the router's process: %d windows instead",
                    limit, need, n, fit);
        n = fit;
    }
    if (limit < 12L * per_child + 256) {
        per_child = limit > 256 ? (int) ((limit - 256) / 12) : 0;
        note_after ("many10k: descriptor limit %ld: at most %d windows per process", limit,
                    per_child);
    }
    if (n <= 0 || per_child <= 0) {
        bad ("many10k: not enough descriptors (limit %ld)", limit);
        return;
    }
    int processes = (n + per_child - 1) / per_child;
    note ("many10k: %d windows from %d processes, descriptor limit %ld", n, processes, limit);
    s_raw_heartbeats = true; //  the raw probe's DEALER too
    note_after ("many10k: both sides ping every connection each second both ways (ZMTP "
                "heartbeats, 3 s timeouts, as prokit's router and windows); %d libzmq I/O threads "
                "in the router's process (prokit's io_threads), %d in each window process",
                (n + SCALE_WINDOWS_PER_IO_THREAD - 1) / SCALE_WINDOWS_PER_IO_THREAD,
                scale_child_io_threads (per_child));
    scale_result_t raw = scale_run (true, false, buf, n, per_child);
    scale_result_t pk = scale_run (false, false, buf, n, per_child);
    scale_result_t raw_b = scale_run (true, true, buf, n, per_child);
    scale_result_t pk_b = scale_run (false, true, buf, n, per_child);

    char figure[160];
    const scale_result_t *raws[] = { &raw, &raw_b }, *pks[] = { &pk, &pk_b };
    for (int b = 0; b < 2; b++) {
        const scale_result_t *r = raws[b], *p = pks[b];
        const char *via = b ? "via a broker: " : "";
        snprintf (figure, sizeof (figure), "%sRTT p50 16 B ipc, 1 window joined (%d-window run)",
                  via, n);
        add_figure (figure, r->rtt1, p->rtt1, "us", true, 0);
        snprintf (figure, sizeof (figure), "%sRTT p50 16 B ipc, %d idle windows joined", via, n);
        add_figure (figure, r->rttn, p->rttn, "us", true, 0);
        snprintf (figure, sizeof (figure), "%sRTT p50 with %d joined ÷ with 1 (ratio: prokit's)",
                  via, n);
        add_growth (figure, r->rttn / r->rtt1, p->rttn / p->rtt1, n, 1.25);
        snprintf (figure, sizeof (figure), "%s-process RSS per idle window, %d joined",
                  b ? "broker" : "main", n);
        add_figure (figure, r->kib_server, p->kib_server, "KiB", true, 1.1);
        if (b) {
            //  Main's own process, attached: the raw main's DEALER holds
            //  nothing per window, so there is no ratio to give.
            row_t *row = add_figure ("main-process RSS per idle window, attached to the broker",
                                     r->kib_main, p->kib_main, "KiB", true, 0);
            row->ratio_value = NAN;
            snprintf (row->ratio, sizeof (row->ratio), "—");
        }
        //  Both sides ping every connection each second, both ways.
        snprintf (figure, sizeof (figure),
                  "%s-process CPU with %d idle windows joined, %% of one CPU",
                  b ? "broker" : "main", n);
        row_t *row = add_figure (figure, r->cpu_idle, p->cpu_idle, "%", true, 0);
        row->ratio_value = NAN;
        snprintf (row->ratio, sizeof (row->ratio), "—");
        snprintf (figure, sizeof (figure), "time to join %d windows%s, %d processes at once", n,
                  b ? " to the broker" : "", processes);
        row = add_figure (figure, r->join_ms, p->join_ms, "ms", true, 0);
        //  A side whose joins failed: how far it got, and in how long.
        const scale_result_t *sides[] = { r, p };
        char *texts[] = { row->raw, row->prokit };
        for (int i = 0; i < 2; i++)
            if (sides[i]->joined < n && !isnan (sides[i]->join_ms)) {
                snprintf (texts[i], sizeof (row->raw), "%d joined, then a join failed (%.0f ms)",
                          sides[i]->joined, sides[i]->join_ms);
                row->ratio_value = NAN;
                snprintf (row->ratio, sizeof (row->ratio), "n/a");
            }
        note ("many10k %s: raw rtt %.1f/%.1f µs, %.1f KiB, %.0f%% CPU, join %.0f ms; prokit rtt "
              "%.1f/%.1f µs, %.1f KiB (main %.1f), %.0f%% CPU, join %.0f ms (%d joined)",
              b ? "broker" : "embedded", r->rtt1, r->rttn, r->kib_server, r->cpu_idle, r->join_ms,
              p->rtt1, p->rttn, p->kib_server, p->kib_main, p->cpu_idle, p->join_ms, p->joined);
    }
}

//  --- the child modes ---------------------------------------------------------------

//  Read one line of the parent's from standard input into LINE, within
//  MS, serving the raw channel PUB (unless NULL) into SEEN meanwhile.
//  False when the parent went away or said nothing in time.
static bool
child_read_command (char *line, size_t size, int ms, void *pub, raw_seen_t *seen)
{
    int64_t deadline = now_ns () + (int64_t) ms * 1000000;
    size_t len = 0;
    while (now_ns () < deadline) {
        zmq_pollitem_t items[] = { { NULL, 0, ZMQ_POLLIN, 0 }, { pub, 0, ZMQ_POLLIN, 0 } };
        if (zmq_poll (items, pub ? 2 : 1, 1000) <= 0)
            continue;
        if (items[1].revents & ZMQ_POLLIN)
            while (raw_channel_take (pub, seen, ZMQ_DONTWAIT))
                ;
        if (!(items[0].revents & ZMQ_POLLIN))
            continue;
        char c;
        if (read (0, &c, 1) != 1)
            return false;
        if (c == '\n') {
            line[len] = 0;
            return true;
        }
        if (len + 1 < size)
            line[len++] = c;
    }
    return false;
}

//  Wait for the parent's "go", at most MS. False if it said anything
//  else, or went away.
static bool
child_wait_go (int ms)
{
    char line[16];
    return child_read_command (line, sizeof (line), ms, NULL, NULL) && strcmp (line, "go") == 0;
}

//  The router's process of the many10k scenario (--server KIND): KIND raw
//  is a ROUTER that echoes and forwards (raw_server_t) and an XPUB channel
//  whose subscriptions it approves, and says "READY ROUTER CHANNEL"; main
//  is a prokit main with its router and an echo handler, broker a prokit
//  broker, each saying "READY ENDPOINT". Then each "state" is answered
//  with "STATE RSS_KIB COUNT", COUNT the windows joined (prokit) or the
//  subscriptions approved (raw), until "quit" or the end of the input.
static int
child_server (const char *kind)
{
    raise_fd_limit ();
    s_ctx = zmq_ctx_new ();
    if (s_io_threads > 0)
        zmq_ctx_set (s_ctx, ZMQ_IO_THREADS, s_io_threads);
    s_raw_heartbeats = true;
    raw_server_t raw;
    void *pub = NULL;
    raw_seen_t seen = { 0, 0 };
    pk_server_t main_server;
    prokit_broker_t *broker = NULL;
    char endpoint[256], channel[256] = "";
    bool ok = false;
    if (strcmp (kind, "raw") == 0) {
        ok = raw_server_start (&raw, "ipc") == 0;
        if (ok && !(pub = raw_channel_new (channel, sizeof (channel)))) {
            raw_server_stop (&raw);
            ok = false;
        }
        if (ok)
            snprintf (endpoint, sizeof (endpoint), "%s", raw.endpoint);
    }
    else if (strcmp (kind, "main") == 0) {
        ok = pk_server_start (&main_server, "ipc", true) == 0;
        if (ok)
            snprintf (endpoint, sizeof (endpoint), "%s", main_server.endpoint);
    }
    else if (strcmp (kind, "broker") == 0) {
        make_endpoint (endpoint, sizeof (endpoint), "ipc");
        prokit_broker_opts_t opts;
        prokit_broker_opts_init (&opts);
        opts.endpoints[0] = endpoint;
        opts.io_threads = s_io_threads;
        int error = 0;
        broker = prokit_broker_new (&opts, &error);
        if (!broker)
            fprintf (stderr, "prokit-bench broker: %s: %s\n", endpoint, prokit_strerror (error));
        ok = broker != NULL;
    }
    if (!ok) {
        zmq_ctx_term (s_ctx);
        return 1;
    }
    printf ("READY %s %s\n", endpoint, channel);
    fflush (stdout);
    char line[64];
    while (child_read_command (line, sizeof (line), CHILD_LIFE_MS, pub, &seen) &&
           strcmp (line, "quit") != 0) {
        long count = seen.subscribed;
        if (broker) {
            prokit_stats_t stats;
            memset (&stats, 0, sizeof (stats));
            prokit_broker_stats (broker, &stats, sizeof (stats));
            count = (long) stats.windows;
        }
        else if (!pub)
            count = atomic_load (&main_server.windows);
        malloc_trim (0);
        printf ("STATE %ld %ld\n", rss_kib (), count);
        fflush (stdout);
    }
    if (pub) {
        raw_channel_destroy (&pub, channel);
        raw_server_stop (&raw);
    }
    else if (broker)
        prokit_broker_destroy (&broker);
    else
        pk_server_stop (&main_server);
    zmq_ctx_term (s_ctx);
    return 0;
}

//  Wait for the parent to say "quit" (or to go away), at most MS.
static void
child_wait_parent (int ms)
{
    int64_t deadline = now_ns () + (int64_t) ms * 1000000;
    while (now_ns () < deadline) {
        struct pollfd item = { 0, POLLIN, 0 };
        if (poll (&item, 1, 1000) > 0) {
            char buf[64];
            ssize_t n = read (0, buf, sizeof (buf));
            if (n <= 0 || memchr (buf, 'q', (size_t) n))
                return;
        }
    }
}

static int
child_windows (int n, const char *endpoint, int first)
{
    raise_fd_limit ();
    //  Each window holds four libzmq sockets (its DEALER, a monitor, the
    //  monitor's peer and the channel's SUB); CZMQ allows 1024 by default.
    char max_sockets[32];
    snprintf (max_sockets, sizeof (max_sockets), "%d", 4 * n + 64);
    setenv ("ZSYS_MAX_SOCKETS", max_sockets, 1);
    //  A thousand windows in one process stand for a thousand processes:
    //  their heartbeat timers are spread over I/O threads as the raw
    //  windows' are (each thread walks all of its timers to cancel one).
    char io_threads[16];
    snprintf (io_threads, sizeof (io_threads), "%d", scale_child_io_threads (n));
    setenv ("ZSYS_IO_THREADS", io_threads, 1);
    prokit_window_t **windows = (prokit_window_t **) calloc ((size_t) n, sizeof (*windows));
    int failures = 0;
    if (!child_wait_go (120000))
        return 1;
    int64_t start = now_ns ();
    int joined = 0;
    for (int i = 0; i < n && !failures; i++) {
        char name[32];
        snprintf (name, sizeof (name), "idle%d", first + i);
        prokit_window_opts_t opts;
        prokit_window_opts_init (&opts);
        opts.endpoint = endpoint;
        opts.join_timeout_ms = 10000;
        int error = 0;
        windows[i] = prokit_window_new (name, &opts, &error);
        if (windows[i])
            joined++;
        else {
            //  The first failure ends the joining: each more would wait
            //  out its timeout.
            failures++;
            fprintf (stderr, "prokit-bench child: window %s, after %d joined: %s\n", name, joined,
                     prokit_strerror (error));
        }
    }
    double join_ms = (double) (now_ns () - start) / 1e6;
    printf ("READY %d %.3f %d\n", failures, join_ms, joined);
    fflush (stdout);
    //  Idle as a window's program is: in its loop, dispatching when its
    //  descriptor says so (a window dropped by the router rejoins there),
    //  until the parent says "quit" or goes away.
    struct pollfd *items = (struct pollfd *) calloc ((size_t) n + 1, sizeof (*items));
    items[0] = (struct pollfd){ 0, POLLIN, 0 };
    for (int i = 0; i < n; i++)
        items[i + 1] =
            (struct pollfd){ windows[i] ? prokit_window_fd (windows[i]) : -1, POLLIN, 0 };
    int64_t deadline = now_ns () + (int64_t) CHILD_LIFE_MS * 1000000;
    while (now_ns () < deadline && poll (items, (nfds_t) n + 1, 1000) >= 0) {
        if (items[0].revents) {
            char buf[64];
            ssize_t got = read (0, buf, sizeof (buf));
            if (got <= 0 || memchr (buf, 'q', (size_t) got))
                break;
        }
        for (int i = 0; i < n; i++)
            if (items[i + 1].revents)
                prokit_window_dispatch (windows[i]);
    }
    free (items);
    for (int i = 0; i < n; i++)
        prokit_window_destroy (&windows[i]);
    free (windows);
    return failures ? 1 : 0;
}

//  Raw windows: a DEALER to the ROUTER at ENDPOINT and a SUB to the
//  channel at CHANNEL, subscribed to a topic of its own and the broadcast
//  one, as a prokit window's two connections.
static int
child_raw_windows (int n, const char *endpoint, int first, const char *channel)
{
    raise_fd_limit ();
    void *ctx = zmq_ctx_new ();
    zmq_ctx_set (ctx, ZMQ_MAX_SOCKETS, 2 * n + 64);
    zmq_ctx_set (ctx, ZMQ_IO_THREADS, scale_child_io_threads (n));
    s_raw_heartbeats = true;
    void **dealers = (void **) calloc ((size_t) n, sizeof (*dealers));
    void **subs = (void **) calloc ((size_t) n, sizeof (*subs));
    char broadcast[RAW_TOPIC_SIZE + 1];
    raw_topic (broadcast, RAW_BROADCAST);
    int failures = 0;
    if (!child_wait_go (120000)) {
        zmq_ctx_term (ctx);
        return 1;
    }
    int64_t start = now_ns ();
    int joined = 0;
    for (int i = 0; i < n && !failures; i++) {
        //  Connect, then one round trip: the raw counterpart of a join.
        dealers[i] = raw_dealer (ctx, endpoint, NULL);
        char topic[RAW_TOPIC_SIZE + 1];
        raw_topic (topic, first + i);
        subs[i] = raw_sub (ctx, channel, topic, broadcast);
        uint8_t buf[16];
        if (!dealers[i] || !subs[i] ||
            raw_round_trip (dealers[i], NULL, buf, sizeof (buf), (uint64_t) i) < 0)
            failures++;
        else
            joined++;
    }
    double join_ms = (double) (now_ns () - start) / 1e6;
    printf ("READY %d %.3f %d\n", failures, join_ms, joined);
    fflush (stdout);
    child_wait_parent (CHILD_LIFE_MS);
    for (int i = 0; i < n; i++) {
        if (dealers[i])
            zmq_close (dealers[i]);
        if (subs[i])
            zmq_close (subs[i]);
    }
    free (dealers);
    free (subs);
    zmq_ctx_term (ctx);
    return failures ? 1 : 0;
}

//  --- main -----------------------------------------------------------------------------

static bool
scenario_known (const char *name)
{
    static const char *names[] = { "rtt",  "w2w",  "pipe",    "send", "bcast",  "bcast100",
                                   "slow", "many", "channel", "pool", "many10k" };
    for (size_t i = 0; i < sizeof (names) / sizeof (names[0]); i++)
        if (strcmp (name, names[i]) == 0)
            return true;
    return false;
}

static void
usage (void)
{
    fprintf (stderr, "usage: prokit-bench [--smoke] [--json] [--only "
                     "rtt|w2w|pipe|send|bcast|bcast100|slow|many|channel|pool|many10k] "
                     "[--scale N]\n"
                     "       prokit-bench --profile rtt|pipe|send|bcast|bcast100 raw|prokit N\n");
}

//  One side of one scenario, once, for a profiler. Prints what was
//  delivered, so that the profile can be divided by it; exits non-zero on
//  a loss or a failed request, as the benchmark does.
static int
profile_one (const char *scenario, const char *side, long long n)
{
    bool raw = strcmp (side, "raw") == 0;
    long long delivered = 0;
    double rate = NAN;
    if (strcmp (scenario, "rtt") == 0 || strcmp (scenario, "pipe") == 0) {
        //  Both against an echoing server: window -> main over ipc.
        raw_server_t raw_server;
        pk_server_t pk_server;
        if (raw ? raw_server_start (&raw_server, "ipc") : pk_server_start (&pk_server, "ipc", true))
            return 1;
        const char *endpoint = raw ? raw_server.endpoint : pk_server.endpoint;
        if (strcmp (scenario, "pipe") == 0) {
            C.pipe_n = (int) n;
            rate = pipe_round (raw, endpoint, 1);
            delivered = atomic_load (&s_bad) ? 0 : n;
        }
        else {
            //  Round trips of 16 bytes (or $PROKIT_PROFILE_SIZE), one at a time.
            void *dealer = raw ? raw_dealer (s_ctx, endpoint, NULL) : NULL;
            prokit_window_t *window = raw ? NULL : pk_window ("rtt", endpoint);
            const char *sized = getenv ("PROKIT_PROFILE_SIZE");
            size_t size = sized && atol (sized) > 0 ? (size_t) atol (sized) : 16;
            uint8_t *buf = (uint8_t *) malloc (size);
            double total_us = 0;
            for (long long i = 0; (dealer || window) && i < n; i++) {
                double rtt = raw ? raw_round_trip (dealer, NULL, buf, size, (uint64_t) i)
                                 : pk_round_trip (window, PROKIT_MAIN, buf, size, (uint64_t) i);
                if (rtt < 0) {
                    bad ("%s rtt: round trip %lld failed", side, i);
                    break;
                }
                total_us += rtt;
                delivered++;
            }
            rate = total_us > 0 ? (double) delivered / (total_us / 1e6) : NAN;
            free (buf);
            if (dealer)
                zmq_close (dealer);
            prokit_window_destroy (&window);
        }
        if (raw)
            raw_server_stop (&raw_server);
        else
            pk_server_stop (&pk_server);
    }
    else {
        bool broadcast = strcmp (scenario, "send") != 0;
        bool hundred = strcmp (scenario, "bcast100") == 0;
        int windows = hundred ? 100 : broadcast ? 4 : 1;
        int threads = hundred ? GROUP_THREADS : windows;
        send_result_t result = raw ? raw_send_round (windows, threads, n, broadcast)
                                   : pk_send_round (windows, threads, n, broadcast);
        if (result.lost != 0)
            bad ("%s %s: %lld lost", side, scenario, result.lost);
        delivered = result.received;
        rate = result.rate;
    }
    if (delivered == 0)
        bad ("%s %s: nothing delivered", side, scenario);
    printf ("profile %s %s: %lld messages delivered, %.0f/s\n", scenario, side, delivered, rate);
    return atomic_load (&s_bad) ? 1 : 0;
}

int
main (int argc, char *argv[])
{
    signal (SIGPIPE, SIG_IGN);
    s_pattern = (uint8_t *) malloc (MAX_PAYLOAD);
    for (size_t i = 0; i < MAX_PAYLOAD; i++)
        s_pattern[i] = (uint8_t) (i * 31 + 7);
    C = s_full;

    bool child_mode = (argc == 5 && strcmp (argv[1], "--windows") == 0) ||
                      (argc == 6 && strcmp (argv[1], "--raw-windows") == 0) ||
                      (argc == 4 && strcmp (argv[1], "--server") == 0);
    //  A child mode dies with the benchmark, whatever ends it.
    if (child_mode && prctl (PR_SET_PDEATHSIG, SIGKILL) == 0 && getppid () == 1)
        return 1;
    if ((argc == 5 && strcmp (argv[1], "--windows") == 0) ||
        (argc == 6 && strcmp (argv[1], "--raw-windows") == 0)) {
        signal (SIGALRM, on_watchdog);
        alarm (CHILD_LIFE_MS / 1000 + 60);
        int n = atoi (argv[2]), first = atoi (argv[4]);
        int rc = n > 0 && first >= 0 ? (argc == 5 ? child_windows (n, argv[3], first)
                                                  : child_raw_windows (n, argv[3], first, argv[5]))
                                     : 2;
        free (s_pattern);
        return rc;
    }
    if (argc == 4 && strcmp (argv[1], "--server") == 0) {
        signal (SIGALRM, on_watchdog);
        alarm (CHILD_LIFE_MS / 1000 + 60);
        s_io_threads = atoi (argv[3]);
        int rc = child_server (argv[2]);
        free (s_pattern);
        return rc;
    }
    if (argc == 5 && strcmp (argv[1], "--profile") == 0) {
        bool known = strcmp (argv[2], "rtt") == 0 || strcmp (argv[2], "pipe") == 0 ||
                     strcmp (argv[2], "send") == 0 || strcmp (argv[2], "bcast") == 0 ||
                     strcmp (argv[2], "bcast100") == 0;
        bool side = strcmp (argv[3], "raw") == 0 || strcmp (argv[3], "prokit") == 0;
        long long n = atoll (argv[4]);
        if (!known || !side || n <= 0 || n > 100000000) {
            usage ();
            free (s_pattern);
            return 2;
        }
        signal (SIGALRM, on_watchdog);
        alarm (1200); //  callgrind runs it 50 times slower
        s_ctx = zmq_ctx_new ();
        int rc = profile_one (argv[2], argv[3], n);
        zmq_ctx_term (s_ctx);
        free (s_pattern);
        return rc;
    }
    bool json = false;
    int scale = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp (argv[i], "--smoke") == 0) {
            s_smoke_mode = true;
            C = s_smoke;
        }
        else if (strcmp (argv[i], "--json") == 0)
            json = true;
        else if (strcmp (argv[i], "--only") == 0 && i + 1 < argc && scenario_known (argv[i + 1]))
            s_only = argv[++i];
        else if (strcmp (argv[i], "--scale") == 0 && i + 1 < argc && atoi (argv[i + 1]) > 0)
            scale = atoi (argv[++i]);
        else {
            usage ();
            free (s_pattern);
            return 2;
        }
    }
    if (scale)
        C.scale = scale;
    ssize_t len = readlink ("/proc/self/exe", s_self_exe, sizeof (s_self_exe) - 1);
    if (len <= 0) {
        fprintf (stderr, "prokit-bench: cannot find my own executable\n");
        free (s_pattern);
        return 2;
    }
    s_self_exe[len] = 0;
    //  No infinite hangs: every wait has its deadline, and this one is the
    //  last resort.
    signal (SIGALRM, on_watchdog);
    alarm (s_smoke_mode ? 110 : want_by_name ("many10k") ? 1800 : 600);

    s_ctx = zmq_ctx_new ();
    int major, minor, patch;
    zmq_version (&major, &minor, &patch);
    note ("libzmq %d.%d.%d, prokit %d.%d.%d, %s mode, %ld CPUs online", major, minor, patch,
          PROKIT_VERSION_MAJOR, PROKIT_VERSION_MINOR, PROKIT_VERSION_PATCH,
          s_smoke_mode ? "smoke" : "full", sysconf (_SC_NPROCESSORS_ONLN));
    uint8_t *buf = (uint8_t *) malloc (MAX_PAYLOAD);
    double load_before = load_average ();
    int64_t start = now_ns ();
    if (want ("rtt"))
        bench_rtt (buf);
    if (want ("w2w"))
        bench_w2w (buf);
    if (want ("pipe"))
        bench_pipe ();
    if (want ("send"))
        bench_send (1, 1, false, C.msgs, 0.9);
    if (want ("bcast"))
        bench_send (4, 4, true, C.bcast, 0.9);
    if (want ("bcast100")) {
        //  100 windows: ~10 descriptors each on the prokit side.
        raise_fd_limit ();
        bench_send (100, GROUP_THREADS, true, C.bcast100, 0.8);
    }
    if (want ("slow")) {
        bench_slow (false);
        bench_slow (true);
    }
    if (want ("many"))
        bench_many (buf);
    if (want ("channel"))
        bench_channel (buf);
    if (want ("pool"))
        bench_pool ();
    if (want_by_name ("many10k"))
        bench_scale (buf);
    double seconds = (double) (now_ns () - start) / 1e9;
    double load_after = load_average ();
    free (buf);
    zmq_ctx_term (s_ctx);

    if (json)
        print_json (stdout);
    else {
        printf ("\nprokit-bench (%s): prokit against raw libzmq in the same run, %.0f s, "
                "%ld CPUs, load average %.2f before, %.2f after\n\n",
                s_smoke_mode ? "smoke: tiny counts, timings meaningless" : "full", seconds,
                sysconf (_SC_NPROCESSORS_ONLN), load_before, load_after);
        print_table (stdout);
        printf ("\nraw: DEALER<->ROUTER echo with the ROUTER on its own thread; window->window "
                "raw: a ROUTER thread\nforwarding between two DEALERs; messages raw: an XPUB "
                "(NODROP, MANUAL, SNDHWM 10000) to SUBs\n(RCVHWM 10000) on 16-byte topics, one "
                "frame of topic + body, EAGAIN waited out on the XPUB's\ndescriptor and "
                "retried; 100 windows: 4 threads x 25 windows on both sides. RSS per window: "
                "the\nmain process's VmRSS delta (router, main's registry, libzmq connection "
                "state) with the windows in a\nchild process; raw: a ROUTER and an XPUB, a "
                "DEALER and a SUB per window.\nA row \"A vs B\" compares prokit with itself in the "
                "same run (a named channel with the\ndefault one, 4 workers with 1): the ratio "
                "is A / B.\n");
    }
    if (s_notes[0] && !json)
        printf ("\n%s", s_notes);
    int failures = atomic_load (&s_bad);
    if (failures) {
        fprintf (stderr, "prokit-bench: FAILED: %d lost, mismatched or failed message check(s)\n",
                 failures);
    }
    free (s_pattern);
    return failures ? 1 : 0;
}
