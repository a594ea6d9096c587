/*  prokit: the command-line tool. It joins a main's router (or a broker)
    as a window and lists windows, pings, sends requests and messages,
    listens, serves requests (as a member of a worker pool, if asked), and
    prints the router's counters. Requests, messages, listening and serving
    go on the default channel, or on named ones with --channel; a request
    may print its handler's progress updates (--progress), and Ctrl-C
    cancels it.
    Payloads are JSON on the command line or stdin, carried as MessagePack,
    and printed as JSON.
    docs/CLI.md is its manual; `prokit --help` and `prokit COMMAND --help`
    the short form.
*/
#include <getopt.h>
#include <limits.h>
#include <prokit.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli_json.h"

//  Exit codes (docs/CLI.md).
enum {
    EXIT_OK = 0,
    EXIT_ERROR = 1,
    EXIT_USAGE = 2,
    EXIT_NOT_FOUND = 3,
    EXIT_TIMEOUT = 4,
    EXIT_REFUSED = 5,
    EXIT_CONNECTION = 6,
    //  A request cancelled by SIGINT or SIGTERM: 128 + the signal's number,
    //  as a shell reports a command the signal ended (130 for Ctrl-C).
    EXIT_SIGNAL_BASE = 128
};

#define STDIN_MAX (64u * 1024 * 1024)

typedef struct {
    const char *endpoint;
    const char *app;
    const char *name;
    int timeout_ms;
    bool raw;
    char default_name[PROKIT_NAME_MAX + 1];
} cli_t;

//  The window a signal stops (listen, serve, request), and the signal that
//  came (0: none): the only globals.
static prokit_window_t *s_stoppable; //  under s_stoppable_lock
static pthread_mutex_t s_stoppable_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int s_signalled;
static atomic_bool s_catching; //  SIGINT and SIGTERM stop s_stoppable, rather than end us

//  SIGINT and SIGTERM are taken by a thread of their own with sigwait(),
//  never by an asynchronous handler (ThreadSanitizer defers those, and was
//  seen to hold one until a 20 s wait had passed). They are blocked before
//  any other thread starts, so every thread inherits the mask. While the
//  tool is not catching them, they end it as they would by default.
static sigset_t s_stop_signals;
static pthread_t s_signal_thread;
static bool s_signal_thread_started;
static atomic_bool s_signal_thread_ends;

static void *
s_take_signals (void *arg)
{
    (void) arg;
    while (true) {
        int signum = 0;
        if (sigwait (&s_stop_signals, &signum) != 0)
            continue;
        if (atomic_load (&s_signal_thread_ends))
            return NULL;
        if (!atomic_load (&s_catching)) {
            signal (signum, SIG_DFL);
            pthread_sigmask (SIG_UNBLOCK, &s_stop_signals, NULL);
            kill (getpid (), signum); //  delivered to this thread: the default, ending us
            return NULL;
        }
        atomic_store (&s_signalled, signum);
        pthread_mutex_lock (&s_stoppable_lock);
        prokit_window_stop (s_stoppable); //  any thread may
        pthread_mutex_unlock (&s_stoppable_lock);
    }
}

//  Block SIGINT and SIGTERM and start the thread that takes them. Called
//  first thing, before any other thread exists.
static void
s_take_stop_signals (void)
{
    sigemptyset (&s_stop_signals);
    sigaddset (&s_stop_signals, SIGINT);
    sigaddset (&s_stop_signals, SIGTERM);
    pthread_sigmask (SIG_BLOCK, &s_stop_signals, NULL);
    s_signal_thread_started = pthread_create (&s_signal_thread, NULL, s_take_signals, NULL) == 0;
    if (!s_signal_thread_started)
        pthread_sigmask (SIG_UNBLOCK, &s_stop_signals, NULL); //  the defaults, then
}

//  End the signal thread before the tool ends (a thread left running
//  delays exit under ThreadSanitizer); the signals have their defaults
//  again.
static void
s_release_stop_signals (void)
{
    if (!s_signal_thread_started)
        return;
    atomic_store (&s_signal_thread_ends, true);
    pthread_kill (s_signal_thread, SIGTERM);
    pthread_join (s_signal_thread, NULL);
    s_signal_thread_started = false;
    pthread_sigmask (SIG_UNBLOCK, &s_stop_signals, NULL);
}

//  The window a signal stops from now on (NULL: none; set it so before
//  destroying it).
static void
s_set_stoppable (prokit_window_t *window)
{
    pthread_mutex_lock (&s_stoppable_lock);
    s_stoppable = window;
    pthread_mutex_unlock (&s_stoppable_lock);
}

//  SIGINT and SIGTERM stop s_stoppable (CATCH true), or end the tool as by
//  default (false).
static void
s_catch_stop_signals (bool catch)
{
    atomic_store (&s_catching, catch);
}

static int
s_exit_code (int error)
{
    switch (error) {
    case PROKIT_OK: return EXIT_OK;
    case PROKIT_EINVAL: return EXIT_USAGE;
    case PROKIT_ENOTFOUND: return EXIT_NOT_FOUND;
    case PROKIT_ETIMEDOUT: return EXIT_TIMEOUT;
    case PROKIT_EEXIST:
    case PROKIT_EACCES:
    case PROKIT_EHANDLER:
    case PROKIT_ENOHANDLER: return EXIT_REFUSED;
    case PROKIT_ETRANSPORT:
    case PROKIT_ECLOSED: return EXIT_CONNECTION;
    default: return EXIT_ERROR;
    }
}

static int
s_fail (int error, const char *what)
{
    fprintf (stderr, "prokit: %s: %s (%s)\n", what, prokit_strerror (error),
             prokit_error_name (error));
    return s_exit_code (error);
}

static int
s_usage_error (const char *command, const char *what)
{
    fprintf (stderr, "prokit: %s\nTry 'prokit %s%s--help'.\n", what, command ? command : "",
             command ? " " : "");
    return EXIT_USAGE;
}

//  getopt_long() returned '?' or ':' (OPTION) for ARGV: say which option,
//  in our words (opterr is 0).
static int
s_option_error (const char *command, char *argv[], int option)
{
    char what[160];
    if (option == ':')
        snprintf (what, sizeof (what), "option '%.64s' needs a value", argv[optind - 1]);
    else if (optopt)
        snprintf (what, sizeof (what), "unknown option '-%c'", optopt);
    else
        snprintf (what, sizeof (what), "unknown option '%.64s'", argv[optind - 1]);
    return s_usage_error (command, what);
}

//  Whether TEXT is a whole number in 1..MAX, stored in *VALUE.
static bool
s_positive (const char *text, long max, long *value)
{
    char *end = NULL;
    *value = strtol (text, &end, 10);
    return end && end != text && !*end && *value > 0 && *value <= max;
}

//  Whether NAME is a channel name (prokit/message.h, "Channels"): 1 to
//  PROKIT_CHANNEL_MAX bytes of printable ASCII (0x21 to 0x7e) other than
//  '#'. Checked here so that a bad one is a usage error before joining.
static bool
s_channel_valid (const char *name)
{
    size_t length = strlen (name);
    if (length == 0 || length > PROKIT_CHANNEL_MAX)
        return false;
    for (size_t i = 0; i < length; i++)
        if ((unsigned char) name[i] < 0x21 || (unsigned char) name[i] > 0x7e || name[i] == '#')
            return false;
    return true;
}

//  A usage error for the bad channel NAME given to COMMAND's --channel.
static int
s_bad_channel (const char *command, const char *name)
{
    char *quoted = cli_json_quote (name); //  shows spaces and control characters
    char what[256];
    snprintf (what, sizeof (what),
              "%s: bad channel name %.100s%s: 1 to %d bytes of printable ASCII, no spaces, "
              "no '#'",
              command, quoted ? quoted : "", quoted && strlen (quoted) > 100 ? "..." : "",
              PROKIT_CHANNEL_MAX);
    free (quoted);
    return s_usage_error (command, what);
}

//  --- help ---------------------------------------------------------------------------------

static const struct {
    const char *name;
    const char *usage;
    const char *text;
} s_commands[] = {
    { "windows", "windows",
      "List the windows the router knows, as a JSON array of objects (name, joined,\n"
      "joined_at_ms, last_seen_ms, spawned, pid, shown, address, restarts, service). The\n"
      "tool's own connection is left out. service is the worker pool the window serves\n"
      "(see serve), \"\" for none.\n" },
    { "ping", "ping",
      "Ask the router for a PONG without joining (no name is claimed, nobody sees a\n"
      "window come and go) and print {\"endpoint\": ..., \"rtt_ms\": ...}. CURVE keys come\n"
      "from PROKIT_CURVE_CERT and PROKIT_CURVE_SERVER_KEY.\n" },
    { "request", "request [--channel C] [--progress] TARGET [PAYLOAD|-]",
      "Send a request to TARGET and print the reply as JSON.\n\n"
      "  TARGET @main  the main process\n"
      "  TARGET main   the WINDOW called \"main\" (the seed's first window), not the main\n"
      "                process\n\n"
      "PAYLOAD is JSON ({\"$bin\": \"<base64>\"} for bytes); without it, or with -, it is\n"
      "read from stdin. With --raw it is sent as a plain string, and a string reply is\n"
      "printed as it is (bytes: written raw). When the receiver's handler fails\n"
      "(prokit_request_fail), its code and text follow on stderr as JSON:\n"
      "{\"error\": \"PROKIT_EHANDLER\", \"code\": -7, \"app_code\": N, \"text\": ...} (exit "
      "5).\n\n"
      "  --channel C   make the request on channel C (the default channel without it);\n"
      "                a target with no handler for C answers PROKIT_ENOHANDLER (exit 5)\n"
      "  --progress    print the handler's progress updates as they come, before the\n"
      "                reply, one JSON line each (even with --raw), flushed at once:\n"
      "                  {\"kind\": \"progress\", \"payload\": ...}\n"
      "                the reply follows, printed as without --progress\n\n"
      "SIGINT (Ctrl-C) or SIGTERM while waiting cancels the request (the handler is\n"
      "told) and exits 128 + the signal's number: 130 for Ctrl-C, 143 for SIGTERM.\n" },
    { "send", "send [--channel C] TARGET [PAYLOAD|-]",
      "Send a one-way message to the window TARGET (a window name; main takes requests\n"
      "only: use request @main). The router's verdict is awaited, so an unknown window\n"
      "exits 3 rather than passing in silence. PAYLOAD as for request.\n\n"
      "  --channel C   send on channel C (the default channel without it); the window's\n"
      "                listeners for C get it, and without one it is dropped there\n" },
    { "broadcast", "broadcast [--channel C] [PAYLOAD|-]",
      "Only main broadcasts to every window; this tool joins as a window, so the command is\n"
      "refused (exit 5). Kept so that the answer is an explanation, not 'unknown command'.\n" },
    { "listen",
      "listen NAME [--count N] [--timeout MS] [--reply PAYLOAD] [--presence] [--channel C]...",
      "Join as window NAME (instead of -n) and print what it receives, one JSON object a\n"
      "line, flushed at once:\n"
      "  {\"kind\": \"message\"|\"broadcast\"|\"request\", \"from\": SENDER, \"payload\": ...}\n"
      "SENDER is @main or a window name. Requests are answered with --reply's value\n"
      "(JSON, or a plain string with --raw; default null). It listens on the default\n"
      "channel, and on each --channel too; what came on a named channel says which:\n"
      "  {\"kind\": \"message\", \"from\": SENDER, \"channel\": C, \"payload\": ...}\n\n"
      "  -c, --count N       end after N messages, broadcasts and requests (exit 0)\n"
      "  -t, --timeout MS    end after MS ms: exit 4 if fewer than N (without --count:\n"
      "                      none) arrived, else 0\n"
      "  -r, --reply PAYLOAD the answer to requests\n"
      "  -p, --presence      also print {\"kind\": \"joined\"|\"left\", \"window\": NAME,\n"
      "                      \"reason\": ...} as other windows come and go (a joined\n"
      "                      window that serves a pool: \"service\": POOL after \"window\")\n"
      "      --channel C     also take messages on channel C and answer requests on it\n"
      "                      (with --reply's value); may be given several times\n\n"
      "Also ends on SIGINT or SIGTERM, or when main closes the window (exit 0). A lost\n"
      "connection is noted on stderr; the window rejoins when main is back.\n" },
    { "serve",
      "serve [--service POOL] [--channel C]... [--count N] [--timeout MS] [--reply PAYLOAD] "
      "[--progress-steps N] NAME",
      "Join as window NAME (instead of -n), serving the worker pool POOL if given, and\n"
      "answer requests until stopped. A request to POOL goes to one of its windows (the\n"
      "one with the fewest requests in flight, then each in turn), and its answer comes\n"
      "back under POOL's name. Each request served is printed as one JSON line, flushed\n"
      "at once, as listen prints it:\n"
      "  {\"kind\": \"request\", \"from\": SENDER, \"payload\": ...}\n"
      "  {\"kind\": \"request\", \"from\": SENDER, \"channel\": C, \"payload\": ...}\n"
      "The answer is the request's own payload (an echo), or --reply's value. Messages\n"
      "are not shown (listen shows them).\n\n"
      "  -s, --service POOL  serve the pool POOL (a window name, not NAME) beside NAME;\n"
      "                      without it, $PROKIT_WINDOW_SERVICE if set, else no pool. A\n"
      "                      pool whose name a window has is refused (exit 5)\n"
      "      --channel C     also answer requests on channel C; may be given several\n"
      "                      times (the default channel is always served)\n"
      "  -c, --count N       end after N requests served (exit 0)\n"
      "  -t, --timeout MS    end after MS ms: exit 4 if fewer than N (without --count:\n"
      "                      none) were served, else 0\n"
      "  -r, --reply PAYLOAD the answer to every request (JSON, or a plain string with\n"
      "                      --raw) instead of an echo\n"
      "      --progress-steps N  send N progress updates, the strings \"1/N\" to \"N/N\",\n"
      "                      before each answer (request --progress prints them)\n\n"
      "Also ends on SIGINT or SIGTERM, or when main closes the window (exit 0). A lost\n"
      "connection is noted on stderr; the window rejoins (and serves POOL again) when\n"
      "main is back. The other commands never join a pool, whatever the environment.\n" },
    { "stats", "stats",
      "Print the router's counters as a JSON object (received, routed, errors_sent, garbage,\n"
      "malformed, too_big, unroutable, back_pressure, control_lost, windows, limited,\n"
      "cancelled, late, batches, batches_received).\n" },
};

#define COMMAND_COUNT (sizeof (s_commands) / sizeof (s_commands[0]))

static void
s_help (FILE *out)
{
    fprintf (out, "Usage: prokit [OPTION]... COMMAND [ARG]...\n\n"
                  "Talk to a prokit main (or broker) from the command line, as a window.\n\n"
                  "Commands:\n");
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        fprintf (out, "  %s\n", s_commands[i].usage);
    fprintf (out,
             "\nTARGET: @main is the main process; any other name is a window. 'main' is the\n"
             "WINDOW called main, not the main process: request @main asks main.\n"
             "\nOptions:\n"
             "  -e, --endpoint ENDPOINT  where main or the broker listens (default:\n"
             "                           $PROKIT_ENDPOINT, else the app's ipc endpoint)\n"
             "  -a, --app NAME           the app whose default endpoint to use\n"
             "                           (default: $PROKIT_APP, else prokit)\n"
             "  -n, --name NAME          the window name to join as (default prokit-cli-PID)\n"
             "  -t, --timeout MS         join and request deadline (default 5000)\n"
             "      --raw                payloads are plain strings, not JSON\n"
             "  -h, --help               this help; COMMAND --help for a command's\n"
             "  -V, --version            the version\n"
             "\nPayloads are JSON, carried as MessagePack; bytes are {\"$bin\": \"<base64>\"}.\n"
             "CURVE (a broker on TCP): PROKIT_CURVE_CERT and PROKIT_CURVE_SERVER_KEY.\n"
             "\nExit status:\n"
             "  0  ok\n"
             "  1  any other error\n"
             "  2  usage: bad option or argument, bad JSON (with where)\n"
             "  3  not found: no window of that name\n"
             "  4  timeout: no answer in time, including nobody at the endpoint\n"
             "  5  refused: name taken (a window's or a pool's), access denied, not allowed\n"
             "     (broadcast), or the receiver's handler failed or is missing\n"
             "  6  connection lost, or the endpoint cannot be used\n"
             "  130, 143  a request cancelled by SIGINT (Ctrl-C) or SIGTERM (128 + signal)\n"
             "docs/CLI.md has the details.\n");
}

static int
s_command_help (const char *name)
{
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        if (strcmp (s_commands[i].name, name) == 0) {
            printf ("Usage: prokit [OPTION]... %s\n\n%s", s_commands[i].usage, s_commands[i].text);
            return EXIT_OK;
        }
    return EXIT_USAGE;
}

//  --- payloads -----------------------------------------------------------------------------

//  Read all of stdin into a malloc'ed string.
static char *
s_read_stdin (void)
{
    size_t capacity = 4096, used = 0;
    char *text = (char *) malloc (capacity);
    while (text) {
        size_t n = fread (text + used, 1, capacity - used - 1, stdin);
        used += n;
        if (n == 0)
            break;
        if (capacity - used - 1 == 0) {
            if (capacity >= STDIN_MAX) {
                free (text);
                return NULL;
            }
            char *bigger = (char *) realloc (text, capacity * 2);
            if (!bigger)
                free (text);
            text = bigger;
            capacity *= 2;
        }
    }
    if (text)
        text[used] = 0;
    return text;
}

//  TEXT as a payload: JSON, or with --raw a plain string. NULL with the
//  reason on stderr, WHAT saying whose payload it is.
static prokit_payload_t *
s_payload_from (const cli_t *cli, const char *what, const char *text)
{
    prokit_payload_t *payload = NULL;
    char error[256] = "";
    if (cli->raw)
        payload = prokit_payload_new_string (text);
    else {
        size_t size = 0;
        char *msgpack = cli_json_to_msgpack (text, &size, error, sizeof (error));
        payload = msgpack ? prokit_payload_new_msgpack (msgpack, size) : NULL;
        free (msgpack);
    }
    if (!payload)
        fprintf (stderr, "prokit: %s: %s\n", what, *error ? error : "the payload is not valid");
    return payload;
}

//  The payload from ARG (NULL or "-": stdin). NULL with *exit_code set.
static prokit_payload_t *
s_payload (const cli_t *cli, const char *command, const char *arg, int *exit_code)
{
    char *from_stdin = NULL;
    if (!arg || strcmp (arg, "-") == 0) {
        from_stdin = s_read_stdin ();
        if (!from_stdin) {
            fprintf (stderr, "prokit: %s: cannot read the payload from stdin\n", command);
            *exit_code = EXIT_USAGE;
            return NULL;
        }
        arg = from_stdin;
        if (cli->raw) { //  a trailing newline is not part of a raw string
            size_t length = strlen (from_stdin);
            if (length && from_stdin[length - 1] == '\n')
                from_stdin[length - 1] = 0;
        }
    }
    prokit_payload_t *payload = s_payload_from (cli, command, arg);
    free (from_stdin);
    if (!payload)
        *exit_code = EXIT_USAGE;
    return payload;
}

//  PAYLOAD as JSON text (malloc'ed); NULL, said on stderr, if it cannot
//  be shown (nested deeper than msgpack-c reads).
static char *
s_json (const char *what, const prokit_payload_t *payload)
{
    char error[160];
    char *json = cli_msgpack_to_json (prokit_payload_data (payload), prokit_payload_size (payload),
                                      error, sizeof (error));
    if (!json)
        fprintf (stderr, "prokit: %s: %s\n", what, error);
    return json;
}

//  Print a reply on stdout: JSON and a newline, or with --raw a string as
//  it is (with a newline) and bytes exactly as they are. Returns an exit
//  code.
static int
s_print_reply (const cli_t *cli, const char *what, const prokit_payload_t *payload)
{
    prokit_payload_type_t type = prokit_payload_type (payload);
    if (cli->raw && (type == PROKIT_PAYLOAD_STR || type == PROKIT_PAYLOAD_BIN)) {
        size_t size = 0;
        const void *bytes = prokit_payload_bytes (payload, &size);
        fwrite (bytes, 1, size, stdout);
        if (type == PROKIT_PAYLOAD_STR)
            putchar ('\n');
        return EXIT_OK;
    }
    char *json = s_json (what, payload);
    if (!json)
        return EXIT_ERROR;
    printf ("%s\n", json);
    free (json);
    return EXIT_OK;
}

//  --- connecting -----------------------------------------------------------------------------

//  SERVICE: the pool to serve, NULL for none (the commands other than
//  serve unset $PROKIT_WINDOW_SERVICE first: see main()).
static prokit_window_t *
s_join (const cli_t *cli, const char *name, const char *service, bool presence, int *exit_code)
{
    prokit_window_opts_t opts;
    prokit_window_opts_init (&opts);
    opts.endpoint = cli->endpoint;
    opts.app_name = cli->app;
    opts.join_timeout_ms = cli->timeout_ms;
    opts.request_timeout_ms = cli->timeout_ms;
    opts.presence = presence;
    opts.service = service;
    int error = 0;
    prokit_window_t *window = prokit_window_new (name, &opts, &error);
    if (!window) {
        char what[256];
        if (service)
            snprintf (what, sizeof (what), "cannot join as '%s' serving '%s'", name, service);
        else
            snprintf (what, sizeof (what), "cannot join as '%s'", name);
        *exit_code = s_fail (error, what);
        char endpoint[512];
        if (error == PROKIT_ETIMEDOUT && prokit_endpoint_resolve (cli->endpoint, cli->app, endpoint,
                                                                  sizeof (endpoint)) == PROKIT_OK)
            fprintf (stderr, "prokit: no main or broker answered at %s\n", endpoint);
    }
    return window;
}

//  --- commands -------------------------------------------------------------------------------------

//  Ask the router for every window: the list grows until it holds them
//  all (windows may join between two asks). NULL with *rc set on failure.
static prokit_window_info_t *
s_list_windows (const cli_t *cli, prokit_window_t *window, size_t *count, int *rc)
{
    size_t capacity = 64;
    for (int attempt = 0; attempt < 8; attempt++) {
        prokit_window_info_t *infos =
            (prokit_window_info_t *) calloc (capacity, sizeof (prokit_window_info_t));
        if (!infos) {
            *rc = PROKIT_ENOMEM;
            return NULL;
        }
        *rc = prokit_window_list_windows (window, infos, capacity, sizeof (prokit_window_info_t),
                                          count, cli->timeout_ms);
        if (*rc == PROKIT_OK && *count <= capacity)
            return infos;
        free (infos);
        if (*rc != PROKIT_OK)
            return NULL;
        capacity = *count + 64;
    }
    *rc = PROKIT_EAGAIN;
    return NULL;
}

//  One window as a JSON object, every field of prokit_window_info_t.
static void
s_print_window (const prokit_window_info_t *info, bool first)
{
    char *name = cli_json_quote (info->name);
    char *address = cli_json_quote (info->address);
    char *service = cli_json_quote (info->service);
    printf ("%s\n  {\"name\": %s, \"joined\": %s, \"joined_at_ms\": %lld, "
            "\"last_seen_ms\": %lld, \"spawned\": %s, \"pid\": %d, \"shown\": %s, "
            "\"address\": %s, \"restarts\": %d, \"service\": %s}",
            first ? "" : ",", name ? name : "\"\"", info->joined ? "true" : "false",
            info->joined_at_ms, info->last_seen_ms, info->spawned ? "true" : "false", info->pid,
            info->shown ? "true" : "false", address ? address : "\"\"", info->restarts,
            service ? service : "\"\"");
    free (name);
    free (address);
    free (service);
}

static int
s_windows (const cli_t *cli)
{
    int exit_code = EXIT_OK;
    prokit_window_t *window = s_join (cli, cli->name, NULL, false, &exit_code);
    if (!window)
        return exit_code;
    size_t count = 0;
    int rc = PROKIT_OK;
    prokit_window_info_t *infos = s_list_windows (cli, window, &count, &rc);
    if (infos) {
        printf ("[");
        bool first = true;
        for (size_t i = 0; i < count; i++)
            if (strcmp (infos[i].name, cli->name) != 0) { //  not the tool itself
                s_print_window (&infos[i], first);
                first = false;
            }
        printf ("%s]\n", first ? "" : "\n");
        free (infos);
    }
    else
        exit_code = s_fail (rc, "windows");
    prokit_window_destroy (&window);
    return exit_code;
}

static int
s_stats (const cli_t *cli)
{
    int exit_code = EXIT_OK;
    prokit_window_t *window = s_join (cli, cli->name, NULL, false, &exit_code);
    if (!window)
        return exit_code;
    prokit_stats_t stats;
    int rc = prokit_window_router_stats (window, &stats, sizeof (stats), cli->timeout_ms);
    if (rc == PROKIT_OK)
        printf ("{\"received\": %llu, \"routed\": %llu, \"errors_sent\": %llu, "
                "\"garbage\": %llu, \"malformed\": %llu, \"too_big\": %llu, "
                "\"unroutable\": %llu, \"back_pressure\": %llu, \"control_lost\": %llu, "
                "\"windows\": %llu, \"limited\": %llu, \"cancelled\": %llu, \"late\": %llu, "
                "\"batches\": %llu, \"batches_received\": %llu}\n",
                stats.received, stats.routed, stats.errors_sent, stats.garbage, stats.malformed,
                stats.too_big, stats.unroutable, stats.back_pressure, stats.control_lost,
                stats.windows, stats.limited, stats.cancelled, stats.late, stats.batches,
                stats.batches_received);
    else
        exit_code = s_fail (rc, "stats");
    prokit_window_destroy (&window);
    return exit_code;
}

//  A PONG from the router, without joining: a health probe should not
//  claim a name, nor make every presence listener see a window come and go.
static int
s_ping (const cli_t *cli)
{
    char endpoint[512];
    int rc = prokit_endpoint_resolve (cli->endpoint, cli->app, endpoint, sizeof (endpoint));
    if (rc != PROKIT_OK)
        return s_fail (rc, "ping");
    const char *cert = getenv ("PROKIT_CURVE_CERT");
    const char *server_key = getenv ("PROKIT_CURVE_SERVER_KEY");
    double rtt = 0;
    rc = prokit_ping (endpoint, cert && *cert ? cert : NULL,
                      server_key && *server_key ? server_key : NULL, cli->timeout_ms, &rtt);
    if (rc != PROKIT_OK) {
        char what[600];
        snprintf (what, sizeof (what), "ping %s", endpoint);
        return s_fail (rc, what);
    }
    char *quoted = cli_json_quote (endpoint);
    printf ("{\"endpoint\": %s, \"rtt_ms\": %.3f}\n", quoted ? quoted : "null", rtt);
    free (quoted);
    return EXIT_OK;
}

//  A TARGET starting with '-' is a misplaced option (names cannot).
static int
s_check_target (const char *command, const char *target)
{
    if (*target != '-')
        return EXIT_OK;
    char what[128];
    snprintf (what, sizeof (what), "%s: unknown option '%.64s' (options go before %s)", command,
              target, command);
    return s_usage_error (command, what);
}

//  A failed request on stderr: the usual line, then for a handler's
//  failure its code and text as JSON, for scripts.
static int
s_request_failed (const char *target, const char *channel, int rc, const prokit_reply_t *reply)
{
    const char *text = reply ? prokit_reply_error (reply) : "";
    fprintf (stderr, "prokit: request to '%s'%s%s%s: %s (%s)%s%s\n", target,
             channel ? " on channel '" : "", channel ? channel : "", channel ? "'" : "",
             prokit_strerror (rc), prokit_error_name (rc), *text ? ": " : "", text);
    if (rc == PROKIT_EHANDLER) {
        char *quoted = cli_json_quote (text);
        fprintf (stderr, "{\"error\": \"%s\", \"code\": %d, \"app_code\": %d, \"text\": %s}\n",
                 prokit_error_name (rc), rc, reply ? prokit_reply_app_code (reply) : 0,
                 quoted ? quoted : "null");
        free (quoted);
    }
    return s_exit_code (rc);
}

//  A request in flight: what its callbacks need, and how it ended.
typedef struct {
    const cli_t *cli;
    prokit_window_t *window; //  stopped once the outcome is in (NULL: not)
    const char *target;
    const char *channel; //  NULL: the default one
    bool done;           //  the outcome is in, and said
    int exit_code;       //  the outcome's
    int signum;          //  the signal that cancelled it (0: none)
    bool expired;        //  cancelled for want of an outcome after its deadline
    bool quiet;          //  failed by the window's destruction: said by the caller
} asking_t;

//  --progress: a handler's progress update, as one JSON line (JSON even
//  with --raw, as listen's lines are), flushed at once.
static void
s_on_progress (const prokit_payload_t *progress, void *arg)
{
    (void) arg;
    char *text = s_json ("request: progress", progress);
    printf ("{\"kind\": \"progress\", \"payload\": %s}\n", text ? text : "null");
    fflush (stdout);
    free (text);
}

//  The outcome: the reply on stdout, or the failure on stderr.
static void
s_on_reply (prokit_reply_t *reply, void *arg)
{
    asking_t *asking = (asking_t *) arg;
    int rc = prokit_reply_status (reply);
    asking->done = true;
    if (asking->quiet)
        return;
    if (rc == PROKIT_OK)
        asking->exit_code = s_print_reply (asking->cli, "request", prokit_reply_payload (reply));
    else if (rc == PROKIT_ECANCELED && asking->expired) //  its timeout, as without cancelling
        asking->exit_code =
            s_request_failed (asking->target, asking->channel, PROKIT_ETIMEDOUT, NULL);
    else if (rc == PROKIT_ECANCELED && asking->signum) {
        s_request_failed (asking->target, asking->channel, rc, reply);
        asking->exit_code = EXIT_SIGNAL_BASE + asking->signum;
    }
    else
        asking->exit_code = s_request_failed (asking->target, asking->channel, rc, reply);
    if (asking->window)
        prokit_window_stop (asking->window);
}

static long long
s_now_ms (void)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return (long long) now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

//  How long past the request's timeout the loop waits for the library's own
//  PROKIT_ETIMEDOUT (which comes at the timeout: this is a safety net).
#define REQUEST_GRACE_MS 1000

//  Dispatch until the outcome of request ID: its callback ends the run. A
//  SIGINT or SIGTERM cancels it (the callback says so, now).
static void
s_await (asking_t *asking, uint64_t id, int timeout_ms)
{
    long long deadline = s_now_ms () + timeout_ms + REQUEST_GRACE_MS;
    while (!asking->done) {
        if (atomic_load (&s_signalled)) {
            asking->signum = atomic_load (&s_signalled);
            prokit_window_cancel (asking->window, id); //  the callback runs before it returns
            break;
        }
        long long left = deadline - s_now_ms ();
        if (left <= 0) {
            asking->expired = true;
            prokit_window_cancel (asking->window, id);
            break;
        }
        int rc = prokit_window_run (asking->window, (int) left);
        if (rc != PROKIT_OK && rc != PROKIT_ETIMEDOUT && !asking->done) {
            //  Main closed the window (or the run failed): the request ends
            //  with the window, said here rather than as its destruction.
            asking->quiet = true;
            asking->exit_code = s_request_failed (asking->target, asking->channel, rc, NULL);
            break;
        }
    }
}

//  CHANNEL: NULL for the default one. PROGRESS: print the handler's
//  progress updates before the reply.
static int
s_request (const cli_t *cli, const char *target, const char *channel, bool progress,
           const char *arg)
{
    int exit_code = s_check_target ("request", target);
    if (exit_code != EXIT_OK)
        return exit_code;
    prokit_payload_t *payload = s_payload (cli, "request", arg, &exit_code);
    if (!payload)
        return exit_code;
    prokit_window_t *window = s_join (cli, cli->name, NULL, false, &exit_code);
    if (!window) {
        prokit_payload_destroy (&payload);
        return exit_code;
    }
    asking_t asking = { cli, window, target, channel, false, EXIT_OK, 0, false, false };
    prokit_request_opts_t opts;
    prokit_request_opts_init (&opts);
    opts.channel = channel;
    opts.timeout_ms = cli->timeout_ms;
    opts.progress = progress ? s_on_progress : NULL;
    s_set_stoppable (window);
    s_catch_stop_signals (true); //  from here on, Ctrl-C cancels the request
    uint64_t id = 0;
    int rc = prokit_window_request_with (window, target, &payload, &opts, s_on_reply, &asking, &id);
    prokit_payload_destroy (&payload); //  not sent: still ours (NULL-safe)
    if (rc == PROKIT_OK)
        s_await (&asking, id, cli->timeout_ms);
    else
        asking.exit_code = s_request_failed (target, channel, rc, NULL);
    asking.window = NULL;
    asking.quiet = true; //  an outcome still to come is the window's destruction
    s_catch_stop_signals (false);
    s_set_stoppable (NULL);
    prokit_window_destroy (&window);
    return asking.exit_code;
}

typedef struct {
    int code;
    char text[256];
} undelivered_t;

static void
s_on_undelivered (const char *target, int code, const char *text, void *arg)
{
    (void) target;
    undelivered_t *undelivered = (undelivered_t *) arg;
    undelivered->code = code;
    snprintf (undelivered->text, sizeof (undelivered->text), "%s", text);
}

//  Send, then learn the router's verdict. The router handles one
//  connection's messages in order, so once it has answered a later query
//  its ERROR for the send (an unknown window) has arrived too, queued for
//  dispatch: no guessing how long to wait.
static int
s_send_confirmed (const cli_t *cli, prokit_window_t *window, const char *target,
                  const char *channel, prokit_payload_t **payload_p)
{
    undelivered_t undelivered = { PROKIT_OK, "" };
    prokit_window_on_undelivered (window, s_on_undelivered, &undelivered);
    int rc = prokit_window_send_on (window, target, channel, payload_p);
    if (rc != PROKIT_OK)
        return s_fail (rc, "send");
    prokit_stats_t stats;
    rc = prokit_window_router_stats (window, &stats, sizeof (stats), cli->timeout_ms);
    prokit_window_dispatch (window);
    if (undelivered.code != PROKIT_OK) {
        fprintf (stderr, "prokit: send to '%s'%s%s%s: %s (%s): %s\n", target,
                 channel ? " on channel '" : "", channel ? channel : "", channel ? "'" : "",
                 prokit_strerror (undelivered.code), prokit_error_name (undelivered.code),
                 undelivered.text);
        return s_exit_code (undelivered.code);
    }
    return rc == PROKIT_OK ? EXIT_OK : s_fail (rc, "send: waiting for the router's verdict");
}

//  CHANNEL: NULL for the default one.
static int
s_send (const cli_t *cli, const char *target, const char *channel, const char *arg)
{
    int exit_code = s_check_target ("send", target);
    if (exit_code != EXIT_OK)
        return exit_code;
    if (strcmp (target, PROKIT_MAIN) == 0) {
        fprintf (stderr, "prokit: send: windows send messages to windows only; main takes "
                         "requests: prokit request @main PAYLOAD\n");
        return EXIT_USAGE;
    }
    prokit_payload_t *payload = s_payload (cli, "send", arg, &exit_code);
    if (!payload)
        return exit_code;
    prokit_window_t *window = s_join (cli, cli->name, NULL, false, &exit_code);
    if (!window) {
        prokit_payload_destroy (&payload);
        return exit_code;
    }
    exit_code = s_send_confirmed (cli, window, target, channel, &payload);
    prokit_payload_destroy (&payload); //  not sent: still ours (NULL-safe)
    prokit_window_destroy (&window);
    return exit_code;
}

//  --- listen and serve -------------------------------------------------------------------------

//  Whether NAME is a window name (prokit/message.h): 1 to PROKIT_NAME_MAX
//  bytes of [A-Za-z0-9._-], starting with a letter or a digit. Checked
//  here for --service, so that a bad pool name is a usage error that says
//  so, before joining.
static bool
s_name_valid (const char *name)
{
    size_t length = strlen (name);
    if (length == 0 || length > PROKIT_NAME_MAX)
        return false;
    for (size_t i = 0; i < length; i++) {
        char c = name[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
            return false;
    }
    return true;
}

typedef struct {
    const char *command; //  "listen" or "serve"
    prokit_window_t *window;
    long count; //  stop after this many (0: never)
    long received;
    prokit_payload_t *reply; //  the answer to requests (NULL: listen nil, serve an echo)
    bool echo;               //  serve: answer with the request's payload
    long progress_steps;     //  serve --progress-steps: updates before each answer
} listener_t;

//  CHANNEL "" (the default one) adds no field: those lines are as they
//  were before named channels.
static void
s_print_event (listener_t *listener, const char *kind, const char *from, const char *channel,
               const prokit_payload_t *payload)
{
    //  Lines are JSON even with --raw: a string payload is a JSON string.
    char *text = s_json (listener->command, payload);
    char *sender = cli_json_quote (from);
    char *named = *channel ? cli_json_quote (channel) : NULL; //  may hold '"' or '\\'
    printf ("{\"kind\": \"%s\", \"from\": %s, %s%s%s\"payload\": %s}\n", kind,
            sender ? sender : "null", named ? "\"channel\": " : "", named ? named : "",
            named ? ", " : "", text ? text : "null");
    fflush (stdout); //  read through pipes: one line as soon as it is known
    free (named);
    free (sender);
    free (text);
    listener->received++;
    if (listener->count > 0 && listener->received >= listener->count)
        prokit_window_stop (listener->window);
}

static void
s_on_message (const prokit_message_t *message, void *arg)
{
    s_print_event ((listener_t *) arg,
                   prokit_message_is_broadcast (message) ? "broadcast" : "message",
                   prokit_message_sender (message), prokit_message_channel (message),
                   prokit_message_payload (message));
}

//  serve --progress-steps N: the updates "1/N" to "N/N" before the answer.
//  The first that cannot be sent ends them (a requester that cancelled, a
//  full queue: said on stderr); the answer goes all the same.
static void
s_send_progress (const listener_t *listener, prokit_request_t *request)
{
    long steps = listener->progress_steps;
    for (long i = 1; i <= steps; i++) {
        prokit_payload_t *step = prokit_payload_new_printf ("%ld/%ld", i, steps);
        int rc = step ? prokit_request_progress (request, &step) : PROKIT_ENOMEM;
        prokit_payload_destroy (&step); //  not sent: still ours (NULL-safe)
        if (rc != PROKIT_OK) {
            if (rc != PROKIT_ECANCELED)
                fprintf (stderr, "prokit: %s: progress %ld/%ld not sent: %s (%s)\n",
                         listener->command, i, steps, prokit_strerror (rc), prokit_error_name (rc));
            return;
        }
    }
}

static prokit_payload_t *
s_on_request (prokit_request_t *request, void *arg)
{
    listener_t *listener = (listener_t *) arg;
    s_print_event (listener, "request", prokit_request_sender (request),
                   prokit_request_channel (request), prokit_request_payload (request));
    s_send_progress (listener, request);
    if (listener->reply)
        return prokit_payload_dup (listener->reply);
    if (listener->echo) {
        //  The request's own payload, without a copy; nil if that fails
        //  (out of memory), as a handler that returns nothing.
        prokit_payload_t *echo = prokit_request_take_payload (request);
        return echo ? echo : prokit_payload_new_nil ();
    }
    return prokit_payload_new_nil ();
}

static void
s_on_presence (const prokit_presence_t *event, void *arg)
{
    (void) arg;
    char *window = cli_json_quote (event->window);
    char *reason = cli_json_quote (event->reason);
    //  A pool, as a channel in the other lines: only when there is one.
    bool pool = event->kind == PROKIT_PRESENCE_JOINED && event->service && *event->service;
    char *service = pool ? cli_json_quote (event->service) : NULL;
    printf ("{\"kind\": \"%s\", \"window\": %s, %s%s%s\"reason\": %s}\n",
            event->kind == PROKIT_PRESENCE_JOINED ? "joined" : "left", window ? window : "null",
            service ? "\"service\": " : "", service ? service : "", service ? ", " : "",
            reason ? reason : "null");
    fflush (stdout);
    free (window);
    free (reason);
    free (service);
}

//  The connection comes and goes under a long listen or serve: say so on
//  stderr (stdout stays one JSON object a line).
static void
s_on_connection (prokit_connection_event_t event, int code, const char *text, void *arg)
{
    const listener_t *listener = (const listener_t *) arg;
    const char *command = listener->command;
    const char *name = prokit_window_name (listener->window);
    if (event == PROKIT_CONNECTION_LOST)
        fprintf (stderr, "prokit: %s: connection lost; '%s' rejoins when main is back\n", command,
                 name);
    else if (event == PROKIT_CONNECTION_REJOINED)
        fprintf (stderr, "prokit: %s: rejoined as '%s'\n", command, name);
    else
        fprintf (stderr, "prokit: %s: rejoining as '%s' refused: %s (%s): %s\n", command, name,
                 prokit_strerror (code), prokit_error_name (code), text);
}

typedef struct {
    const char *command; //  "listen" or "serve"
    long count;
    int timeout_ms; //  -1: none
    bool presence;
    const char *reply;
    const char *service; //  serve --service (NULL: none)
    const char *name;
    const char **channels; //  --channel's, each once (malloc'ed; the names are argv's)
    size_t channel_count;
    long progress_steps; //  serve --progress-steps (0: none)
} listen_args_t;

//  The options of listen or serve (ARGV[0]), after the command: the same
//  but for --presence (listen only), --service and --progress-steps (serve
//  only).
static int
s_listen_args (int argc, char *argv[], listen_args_t *args)
{
    static const struct option listen_options[] = { { "count", required_argument, NULL, 'c' },
                                                    { "timeout", required_argument, NULL, 't' },
                                                    { "reply", required_argument, NULL, 'r' },
                                                    { "presence", no_argument, NULL, 'p' },
                                                    { "channel", required_argument, NULL, 'C' },
                                                    { "help", no_argument, NULL, 'h' },
                                                    { NULL, 0, NULL, 0 } };
    static const struct option serve_options[] = {
        { "count", required_argument, NULL, 'c' },
        { "timeout", required_argument, NULL, 't' },
        { "reply", required_argument, NULL, 'r' },
        { "service", required_argument, NULL, 's' },
        { "channel", required_argument, NULL, 'C' },
        { "progress-steps", required_argument, NULL, 'P' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    const char *command = argv[0];
    bool serve = strcmp (command, "serve") == 0;
    *args = (listen_args_t){ command, 0, -1, false, NULL, NULL, NULL, NULL, 0, 0 };
    //  No more channels than arguments.
    args->channels = (const char **) calloc ((size_t) argc, sizeof (const char *));
    if (!args->channels)
        return s_fail (PROKIT_ENOMEM, command);
    int option;
    long value;
    optind = 0; //  0, not 1: glibc's getopt starts afresh on a new vector
    opterr = 0;
    while ((option = getopt_long (argc, argv, serve ? ":c:t:r:s:h" : ":c:t:r:ph",
                                  serve ? serve_options : listen_options, NULL)) != -1) {
        switch (option) {
        case 'c':
            if (!s_positive (optarg, LONG_MAX, &args->count))
                return s_usage_error (command, "--count needs a positive number");
            break;
        case 't':
            if (!s_positive (optarg, INT_MAX, &value))
                return s_usage_error (command, "--timeout needs a positive number of ms");
            args->timeout_ms = (int) value;
            break;
        case 'r': args->reply = optarg; break;
        case 'p': args->presence = true; break;
        case 'P':
            if (!s_positive (optarg, LONG_MAX, &args->progress_steps))
                return s_usage_error (command, "--progress-steps needs a positive number");
            break;
        case 's': {
            if (!s_name_valid (optarg)) {
                char *quoted = cli_json_quote (optarg);
                char what[256];
                snprintf (what, sizeof (what),
                          "serve: bad pool name %.100s%s: a window name, 1 to %d bytes of "
                          "[A-Za-z0-9._-] starting with a letter or a digit",
                          quoted ? quoted : "", quoted && strlen (quoted) > 100 ? "..." : "",
                          PROKIT_NAME_MAX);
                free (quoted);
                return s_usage_error (command, what);
            }
            args->service = optarg;
            break;
        }
        case 'C': {
            if (!s_channel_valid (optarg))
                return s_bad_channel (command, optarg);
            bool known = false;
            for (size_t i = 0; i < args->channel_count; i++)
                known |= strcmp (args->channels[i], optarg) == 0;
            if (!known) //  twice is once: one line per message
                args->channels[args->channel_count++] = optarg;
            break;
        }
        case 'h': return s_command_help (command);
        default: return s_option_error (command, argv, option);
        }
    }
    if (optind != argc - 1) {
        char what[64];
        snprintf (what, sizeof (what), "%s takes one window name", command);
        return s_usage_error (command, what);
    }
    args->name = argv[optind];
    if (args->service && strcmp (args->service, args->name) == 0)
        return s_usage_error (command, "serve: a window cannot serve a pool of its own name");
    return EXIT_OK;
}

//  How a listen or serve that ran its course ends: RC from
//  prokit_window_run().
static int
s_listen_end (const listen_args_t *args, const listener_t *listener, int rc)
{
    if (rc == PROKIT_ETIMEDOUT) {
        long wanted = args->count ? args->count : 1;
        if (listener->received >= wanted)
            return EXIT_OK;
        fprintf (stderr, "prokit: %s: %ld of %ld in %d ms: %s (%s)\n", args->command,
                 listener->received, wanted, args->timeout_ms, prokit_strerror (rc),
                 prokit_error_name (rc));
        return EXIT_TIMEOUT;
    }
    //  Stopped (a signal, --count) or closed by main: both are the end.
    return rc == PROKIT_OK || rc == PROKIT_ECLOSED ? EXIT_OK : s_fail (rc, args->command);
}

//  Register what listen (messages and requests) or serve (requests only)
//  takes, on the default channel and on each --channel.
static int
s_listen_register (const listen_args_t *args, listener_t *listener)
{
    prokit_window_t *window = listener->window;
    bool serve = listener->echo;
    if (!serve) {
        prokit_window_on_main_message (window, s_on_message, listener);
        prokit_window_on_window_message (window, s_on_message, listener);
    }
    prokit_window_on_request (window, s_on_request, listener);
    //  listen: a named channel is listened to and served alike: a request
    //  on it would otherwise end PROKIT_ENOHANDLER while its messages are
    //  shown.
    for (size_t i = 0; i < args->channel_count; i++) {
        int rc = serve ? PROKIT_OK
                       : prokit_window_on (window, args->channels[i], s_on_message, listener);
        if (rc == PROKIT_OK)
            rc = prokit_window_handle (window, args->channels[i], s_on_request, listener);
        if (rc != PROKIT_OK) {
            char what[64];
            snprintf (what, sizeof (what), "%s: --channel", args->command);
            return s_fail (rc, what);
        }
    }
    return EXIT_OK;
}

//  listen or serve (ARGV[0]), with its ARGC - 1 arguments.
static int
s_listen (const cli_t *cli, int argc, char *argv[])
{
    listen_args_t args;
    int exit_code = s_listen_args (argc, argv, &args);
    if (exit_code != EXIT_OK || !args.name) {
        free (args.channels);
        return exit_code;
    }
    bool serve = strcmp (args.command, "serve") == 0;
    listener_t listener = { args.command, NULL, args.count, 0, NULL, serve, args.progress_steps };
    if (args.reply) {
        char what[64];
        snprintf (what, sizeof (what), "%s: --reply", args.command);
        listener.reply = s_payload_from (cli, what, args.reply);
        if (!listener.reply) {
            free (args.channels);
            return EXIT_USAGE;
        }
    }
    //  serve without --service: $PROKIT_WINDOW_SERVICE (or none), as for
    //  any window; main() unset it for every other command.
    prokit_window_t *window = s_join (cli, args.name, args.service, args.presence, &exit_code);
    if (!window) {
        prokit_payload_destroy (&listener.reply);
        free (args.channels);
        return exit_code;
    }
    listener.window = window;
    s_set_stoppable (window);
    exit_code = s_listen_register (&args, &listener);
    free (args.channels);
    if (exit_code != EXIT_OK) {
        s_set_stoppable (NULL);
        prokit_window_destroy (&window);
        prokit_payload_destroy (&listener.reply);
        return exit_code;
    }
    prokit_window_on_connection (window, s_on_connection, &listener);
    if (args.presence)
        prokit_window_on_presence (window, s_on_presence, NULL);
    s_catch_stop_signals (true);
    int rc = prokit_window_run (window, args.timeout_ms);
    s_catch_stop_signals (false);
    s_set_stoppable (NULL);
    prokit_window_destroy (&window);
    prokit_payload_destroy (&listener.reply);
    return s_listen_end (&args, &listener, rc);
}

//  Whether an argument after the command looks like a global option.
static bool
s_misplaced_option (int rest, char *args[])
{
    for (int i = 1; i < rest; i++)
        if (strncmp (args[i], "--", 2) == 0 && args[i][2])
            return true;
    return false;
}

//  The options of request, send and broadcast (ARGV[0] is the command):
//  --channel, and request's --progress, before the arguments. '+': they
//  end at the first argument, so that a payload such as -1 is never read
//  as an option. Stores the channel (NULL: the default one), whether
//  --progress was given, and the index of the first argument.
static int
s_channel_args (int argc, char *argv[], const char **channel, bool *progress, int *first)
{
    static const struct option options[] = { { "channel", required_argument, NULL, 'C' },
                                             { "progress", no_argument, NULL, 'P' },
                                             { NULL, 0, NULL, 0 } };
    const char *command = argv[0];
    bool request = strcmp (command, "request") == 0;
    *channel = NULL;
    *progress = false;
    int option;
    optind = 0; //  0, not 1: glibc's getopt starts afresh on a new vector
    opterr = 0;
    while ((option = getopt_long (argc, argv, "+:", options, NULL)) != -1) {
        char what[192];
        if (option == 'C') {
            if (!s_channel_valid (optarg))
                return s_bad_channel (command, optarg);
            if (*channel) {
                snprintf (what, sizeof (what), "%s: --channel given twice (one channel a %s)",
                          command, command);
                return s_usage_error (command, what);
            }
            *channel = optarg;
        }
        else if (option == 'P' && request)
            *progress = true;
        else if (option == 'P') {
            snprintf (what, sizeof (what), "%s: --progress is request's only (a %s has no reply)",
                      command, command);
            return s_usage_error (command, what);
        }
        else if (option == ':')
            return s_option_error (command, argv, option);
        else { //  most likely a global option after the command
            const char *own = request ? "--channel and --progress" : "--channel";
            if (optopt)
                snprintf (what, sizeof (what),
                          "%s: unknown option '-%c' (options other than %s go before %s)", command,
                          optopt, own, command);
            else
                snprintf (what, sizeof (what),
                          "%s: unknown option '%.64s' (options other than %s go before %s)",
                          command, argv[optind - 1], own, command);
            return s_usage_error (command, what);
        }
    }
    *first = optind;
    return EXIT_OK;
}

//  Run request, send or broadcast (ARGS[0]) with their REST - 1 arguments.
static int
s_channel_command (const cli_t *cli, int rest, char *args[])
{
    const char *command = args[0];
    const char *channel = NULL;
    bool progress = false;
    int first = 1;
    int exit_code = s_channel_args (rest, args, &channel, &progress, &first);
    if (exit_code != EXIT_OK)
        return exit_code;
    int count = rest - first; //  the arguments after the options
    char **operands = args + first;
    if (strcmp (command, "broadcast") == 0 && count <= 1) {
        fprintf (stderr, "prokit: broadcast: not allowed: only main broadcasts to every window, "
                         "and this tool joins as a window (send to each window instead)\n");
        return EXIT_REFUSED;
    }
    if (strcmp (command, "request") == 0 && (count == 1 || count == 2))
        return s_request (cli, operands[0], channel, progress, count == 2 ? operands[1] : NULL);
    if (strcmp (command, "send") == 0 && (count == 1 || count == 2))
        return s_send (cli, operands[0], channel, count == 2 ? operands[1] : NULL);
    if (!s_misplaced_option (count + 1, operands - 1))
        return s_usage_error (command, "wrong number of arguments");
    char what[160];
    snprintf (what, sizeof (what),
              "wrong number of arguments (options go before the arguments: prokit --raw %s "
              "--channel C ...)",
              command);
    return s_usage_error (command, what);
}

//  --- main -------------------------------------------------------------------------------------

static int
s_main (int argc, char *argv[])
{
    static const struct option options[] = { { "endpoint", required_argument, NULL, 'e' },
                                             { "app", required_argument, NULL, 'a' },
                                             { "name", required_argument, NULL, 'n' },
                                             { "timeout", required_argument, NULL, 't' },
                                             { "raw", no_argument, NULL, 'r' },
                                             { "help", no_argument, NULL, 'h' },
                                             { "version", no_argument, NULL, 'V' },
                                             { NULL, 0, NULL, 0 } };
    cli_t cli = { NULL, NULL, NULL, 5000, false, "" };
    snprintf (cli.default_name, sizeof (cli.default_name), "prokit-cli-%d", (int) getpid ());
    cli.name = cli.default_name;
    int option;
    //  '+': options end at the command; what follows is the command's.
    //  ':': a missing value is told apart from an unknown option.
    opterr = 0;
    while ((option = getopt_long (argc, argv, "+:e:a:n:t:hV", options, NULL)) != -1) {
        long value;
        switch (option) {
        case 'e': cli.endpoint = optarg; break;
        case 'a': cli.app = optarg; break;
        case 'n': cli.name = optarg; break;
        case 't':
            if (!s_positive (optarg, INT_MAX, &value))
                return s_usage_error (NULL, "--timeout needs a positive number of ms");
            cli.timeout_ms = (int) value;
            break;
        case 'r': cli.raw = true; break;
        case 'h': s_help (stdout); return EXIT_OK;
        case 'V': printf ("prokit %s\n", PROKIT_VERSION_STRING); return EXIT_OK;
        default: return s_option_error (NULL, argv, option);
        }
    }
    if (optind >= argc)
        return s_usage_error (NULL, "no command given");
    const char *command = argv[optind];
    //  Only serve joins a pool: a request or a listen from a worker's shell
    //  (where main's createWindow set it) must not make the tool a member.
    if (strcmp (command, "serve") != 0)
        unsetenv ("PROKIT_WINDOW_SERVICE");
    int rest = argc - optind; //  the command and its arguments
    char **args = argv + optind;
    for (int i = 1; i < rest; i++)
        if (strcmp (args[i], "--help") == 0 || strcmp (args[i], "-h") == 0) {
            if (s_command_help (command) == EXIT_OK)
                return EXIT_OK;
            break;
        }
    if (strcmp (command, "windows") == 0 && rest == 1)
        return s_windows (&cli);
    if (strcmp (command, "stats") == 0 && rest == 1)
        return s_stats (&cli);
    if (strcmp (command, "ping") == 0 && rest == 1)
        return s_ping (&cli);
    if (strcmp (command, "request") == 0 || strcmp (command, "send") == 0 ||
        strcmp (command, "broadcast") == 0)
        return s_channel_command (&cli, rest, args);
    if (strcmp (command, "listen") == 0 || strcmp (command, "serve") == 0)
        return s_listen (&cli, rest, args);
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        if (strcmp (s_commands[i].name, command) == 0)
            return s_usage_error (command, s_misplaced_option (rest, args)
                                               ? "wrong number of arguments (options such as "
                                                 "--raw go before the command)"
                                               : "wrong number of arguments");
    char what[128];
    snprintf (what, sizeof (what), "unknown command '%.64s'", command);
    return s_usage_error (NULL, what);
}

int
main (int argc, char *argv[])
{
    s_take_stop_signals ();
    int exit_code = s_main (argc, argv);
    s_release_stop_signals ();
    return exit_code;
}
