/*  prokit: the command-line tool. It joins a main's router (or a broker)
    as a window and lists windows, pings, sends requests and messages,
    listens, and prints the router's counters. Payloads are JSON on the
    command line or stdin, carried as MessagePack, and printed as JSON.
    docs/CLI.md is its manual; `prokit --help` and `prokit COMMAND --help`
    the short form.
*/
#include <getopt.h>
#include <limits.h>
#include <prokit.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
    EXIT_CONNECTION = 6
};

#define STDIN_MAX (64u * 1024 * 1024)
#define WINDOWS_MAX 4096

typedef struct {
    const char *endpoint;
    const char *app;
    const char *name;
    int timeout_ms;
    bool raw;
    char default_name[PROKIT_NAME_MAX + 1];
} cli_t;

static prokit_window_t *s_listening; //  for the signal handler

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

//  --- help ---------------------------------------------------------------------------------

static const struct {
    const char *name;
    const char *usage;
    const char *text;
} s_commands[] = {
    { "windows", "windows",
      "List the windows the router knows, as a JSON array of objects (name, joined_at_ms,\n"
      "last_seen_ms, pid, shown, address). The tool's own connection is left out.\n" },
    { "ping", "ping",
      "Ask the router for a PONG without joining (no name is claimed) and print\n"
      "{\"endpoint\": ..., \"rtt_ms\": ...}. CURVE keys come from PROKIT_CURVE_CERT and\n"
      "PROKIT_CURVE_SERVER_KEY.\n" },
    { "request", "request TARGET [PAYLOAD|-]",
      "Send a request to TARGET and print the reply as JSON. TARGET is @main for the main\n"
      "process, or a window name: 'main' is the WINDOW called main, not the main process.\n"
      "PAYLOAD is JSON; without it (or with -) it is read from stdin. An error answer is\n"
      "printed on stderr as JSON {\"error\", \"code\", \"app_code\", \"text\"}.\n" },
    { "send", "send TARGET [PAYLOAD|-]",
      "Send a one-way message to the window TARGET. The router's verdict is awaited, so an\n"
      "unknown window exits 3 rather than passing in silence.\n" },
    { "broadcast", "broadcast [PAYLOAD|-]",
      "Only main broadcasts to every window; this tool joins as a window, so the command is\n"
      "refused (exit 5). Kept so that the answer is an explanation, not 'unknown command'.\n" },
    { "listen", "listen NAME [--count N] [--reply JSON] [--presence]",
      "Join as window NAME and print what it receives, one JSON object a line:\n"
      "{\"kind\": \"message\"|\"broadcast\"|\"request\", \"from\": SENDER, \"payload\": ...}.\n"
      "Requests are answered with --reply's value (default null). --presence also prints\n"
      "{\"kind\": \"joined\"|\"left\", \"window\": NAME}. Ends after --count messages, on\n"
      "SIGINT/SIGTERM, or when main closes the window (exit 0).\n" },
    { "stats", "stats",
      "Print the router's counters as a JSON object (received, routed, errors_sent, garbage,\n"
      "malformed, too_big, unroutable, back_pressure, control_lost, windows).\n" },
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
             "\nCURVE (a broker on TCP): PROKIT_CURVE_CERT and PROKIT_CURVE_SERVER_KEY.\n"
             "\nExit status: 0 ok, 1 other error, 2 usage (bad option, bad JSON), 3 not found,\n"
             "4 timeout (also: nobody answers at the endpoint), 5 refused (name taken, access\n"
             "denied, not allowed, an error answer), 6 connection lost or transport error.\n");
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
    prokit_payload_t *payload = NULL;
    if (cli->raw)
        payload = prokit_payload_new_string (arg);
    else {
        char error[256];
        size_t size = 0;
        char *msgpack = cli_json_to_msgpack (arg, &size, error, sizeof (error));
        if (!msgpack) {
            fprintf (stderr, "prokit: %s: %s\n", command, error);
            free (from_stdin);
            *exit_code = EXIT_USAGE;
            return NULL;
        }
        payload = prokit_payload_new_msgpack (msgpack, size);
        free (msgpack);
    }
    free (from_stdin);
    if (!payload) {
        fprintf (stderr, "prokit: %s: the payload is not valid\n", command);
        *exit_code = EXIT_USAGE;
    }
    return payload;
}

//  PAYLOAD as JSON (or, with --raw, a string as it is); malloc'ed.
static char *
s_render (const cli_t *cli, const prokit_payload_t *payload)
{
    const char *text = prokit_payload_str (payload);
    if (cli->raw && text)
        return strdup (text);
    char error[128];
    char *json = cli_msgpack_to_json (prokit_payload_data (payload), prokit_payload_size (payload),
                                      error, sizeof (error));
    return json ? json : strdup ("null");
}

//  --- connecting -----------------------------------------------------------------------------

static prokit_window_t *
s_join (const cli_t *cli, const char *name, bool presence, int *exit_code)
{
    prokit_window_opts_t opts;
    prokit_window_opts_init (&opts);
    opts.endpoint = cli->endpoint;
    opts.app_name = cli->app;
    opts.join_timeout_ms = cli->timeout_ms;
    opts.request_timeout_ms = cli->timeout_ms;
    opts.presence = presence;
    int error = 0;
    prokit_window_t *window = prokit_window_new (name, &opts, &error);
    if (!window) {
        char what[160];
        snprintf (what, sizeof (what), "cannot join as '%s'", name);
        *exit_code = s_fail (error, what);
        if (error == PROKIT_ETIMEDOUT)
            fprintf (stderr, "prokit: no main or broker answered at %s\n",
                     cli->endpoint ? cli->endpoint : "the default endpoint");
    }
    return window;
}

//  --- commands -------------------------------------------------------------------------------------

static int
s_windows (const cli_t *cli)
{
    int exit_code = EXIT_OK;
    prokit_window_t *window = s_join (cli, cli->name, false, &exit_code);
    if (!window)
        return exit_code;
    prokit_window_info_t *infos =
        (prokit_window_info_t *) calloc (WINDOWS_MAX, sizeof (prokit_window_info_t));
    size_t count = 0;
    int rc = infos
                 ? prokit_window_list_windows (window, infos, WINDOWS_MAX, &count, cli->timeout_ms)
                 : PROKIT_ENOMEM;
    if (rc == PROKIT_OK) {
        printf ("[");
        bool first = true;
        for (size_t i = 0; i < count && i < WINDOWS_MAX; i++) {
            const prokit_window_info_t *info = &infos[i];
            if (strcmp (info->name, cli->name) == 0)
                continue;
            //  Names and addresses are printable ASCII (the protocol's rule),
            //  so they need no escaping beyond what %s gives.
            printf ("%s\n  {\"name\": \"%s\", \"joined\": %s, \"joined_at_ms\": %lld, "
                    "\"last_seen_ms\": %lld, \"pid\": %d, \"shown\": %s, \"address\": \"%s\"}",
                    first ? "" : ",", info->name, info->joined ? "true" : "false",
                    info->joined_at_ms, info->last_seen_ms, info->pid,
                    info->shown ? "true" : "false", info->address);
            first = false;
        }
        printf ("%s]\n", first ? "" : "\n");
    }
    else
        exit_code = s_fail (rc, "windows");
    free (infos);
    prokit_window_destroy (&window);
    return exit_code;
}

static int
s_stats (const cli_t *cli)
{
    int exit_code = EXIT_OK;
    prokit_window_t *window = s_join (cli, cli->name, false, &exit_code);
    if (!window)
        return exit_code;
    prokit_stats_t stats;
    int rc = prokit_window_router_stats (window, &stats, cli->timeout_ms);
    if (rc == PROKIT_OK)
        printf ("{\"received\": %llu, \"routed\": %llu, \"errors_sent\": %llu, "
                "\"garbage\": %llu, \"malformed\": %llu, \"too_big\": %llu, "
                "\"unroutable\": %llu, \"back_pressure\": %llu, \"control_lost\": %llu, "
                "\"windows\": %llu}\n",
                stats.received, stats.routed, stats.errors_sent, stats.garbage, stats.malformed,
                stats.too_big, stats.unroutable, stats.back_pressure, stats.control_lost,
                stats.windows);
    else
        exit_code = s_fail (rc, "stats");
    prokit_window_destroy (&window);
    return exit_code;
}

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
    printf ("{\"endpoint\": \"%s\", \"rtt_ms\": %.3f}\n", endpoint, rtt);
    return EXIT_OK;
}

static int
s_request (const cli_t *cli, const char *target, const char *arg)
{
    int exit_code = EXIT_OK;
    prokit_payload_t *payload = s_payload (cli, "request", arg, &exit_code);
    if (!payload)
        return exit_code;
    prokit_window_t *window = s_join (cli, cli->name, false, &exit_code);
    if (!window) {
        prokit_payload_destroy (&payload);
        return exit_code;
    }
    prokit_reply_t *reply = NULL;
    int rc = prokit_window_request_wait (window, target, &payload, cli->timeout_ms, &reply);
    if (rc == PROKIT_OK) {
        char *text = s_render (cli, prokit_reply_payload (reply));
        printf ("%s\n", text ? text : "null");
        free (text);
    }
    else {
        const char *error = reply ? prokit_reply_error (reply) : NULL;
        char *text = cli_json_quote (error ? error : prokit_strerror (rc));
        fprintf (stderr, "{\"error\": \"%s\", \"code\": %d, \"app_code\": %d, \"text\": %s}\n",
                 prokit_error_name (rc), rc, reply ? prokit_reply_app_code (reply) : 0,
                 text ? text : "null");
        free (text);
        exit_code = s_exit_code (rc);
    }
    prokit_reply_destroy (&reply);
    prokit_window_destroy (&window);
    return exit_code;
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

static int
s_send (const cli_t *cli, const char *target, const char *arg)
{
    int exit_code = EXIT_OK;
    prokit_payload_t *payload = s_payload (cli, "send", arg, &exit_code);
    if (!payload)
        return exit_code;
    prokit_window_t *window = s_join (cli, cli->name, false, &exit_code);
    if (!window) {
        prokit_payload_destroy (&payload);
        return exit_code;
    }
    undelivered_t undelivered = { PROKIT_OK, "" };
    prokit_window_on_undelivered (window, s_on_undelivered, &undelivered);
    int rc = prokit_window_send (window, target, &payload);
    if (rc == PROKIT_OK) {
        //  The router handles a connection's messages in order: once it
        //  has answered a later query, its verdict on the send (an ERROR
        //  for an unknown window) is already here, waiting for dispatch.
        prokit_stats_t stats;
        rc = prokit_window_router_stats (window, &stats, cli->timeout_ms);
        prokit_window_dispatch (window);
        if (rc == PROKIT_OK && undelivered.code != PROKIT_OK) {
            fprintf (stderr, "prokit: send to '%s': %s\n", target, undelivered.text);
            rc = undelivered.code;
        }
    }
    if (rc != PROKIT_OK && undelivered.code == PROKIT_OK)
        s_fail (rc, "send");
    exit_code = s_exit_code (rc);
    prokit_window_destroy (&window);
    return exit_code;
}

//  --- listen -----------------------------------------------------------------------------------------

typedef struct {
    const cli_t *cli;
    prokit_window_t *window;
    long count; //  stop after this many (0: never)
    long received;
    const char *reply_json; //  the answer to requests
} listener_t;

static void
s_print_event (listener_t *listener, const char *kind, const char *from,
               const prokit_payload_t *payload)
{
    //  Lines are JSON even with --raw: the payload is always rendered as
    //  JSON here (a string payload becomes a JSON string).
    char error[128];
    char *text = cli_msgpack_to_json (prokit_payload_data (payload), prokit_payload_size (payload),
                                      error, sizeof (error));
    printf ("{\"kind\": \"%s\", \"from\": \"%s\", \"payload\": %s}\n", kind, from,
            text ? text : "null");
    fflush (stdout); //  read through pipes: one line as soon as it is known
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
                   prokit_message_sender (message), prokit_message_payload (message));
}

static prokit_payload_t *
s_on_request (prokit_request_t *request, void *arg)
{
    listener_t *listener = (listener_t *) arg;
    s_print_event (listener, "request", prokit_request_sender (request),
                   prokit_request_payload (request));
    if (!listener->reply_json)
        return prokit_payload_new_nil ();
    char error[256];
    size_t size = 0;
    char *msgpack = cli_json_to_msgpack (listener->reply_json, &size, error, sizeof (error));
    prokit_payload_t *reply = msgpack ? prokit_payload_new_msgpack (msgpack, size) : NULL;
    free (msgpack);
    return reply ? reply : prokit_payload_new_nil ();
}

static void
s_on_presence (const prokit_presence_t *event, void *arg)
{
    (void) arg;
    printf ("{\"kind\": \"%s\", \"window\": \"%s\"}\n",
            event->kind == PROKIT_PRESENCE_JOINED ? "joined" : "left", event->window);
    fflush (stdout);
}

static void
s_on_stop_signal (int signum)
{
    (void) signum;
    prokit_window_stop (s_listening); //  safe in a signal handler
}

static int
s_listen (const cli_t *cli, int argc, char *argv[])
{
    static const struct option options[] = { { "count", required_argument, NULL, 'c' },
                                             { "reply", required_argument, NULL, 'r' },
                                             { "presence", no_argument, NULL, 'p' },
                                             { "help", no_argument, NULL, 'h' },
                                             { NULL, 0, NULL, 0 } };
    listener_t listener = { cli, NULL, 0, 0, NULL };
    bool presence = false;
    int option;
    optind = 0; //  0, not 1: glibc's getopt starts afresh on a new vector
    while ((option = getopt_long (argc, argv, "c:r:ph", options, NULL)) != -1) {
        char *end = NULL;
        switch (option) {
        case 'c':
            listener.count = strtol (optarg, &end, 10);
            if (!end || *end || listener.count <= 0)
                return s_usage_error ("listen", "--count needs a positive number");
            break;
        case 'r': listener.reply_json = optarg; break;
        case 'p': presence = true; break;
        case 'h': return s_command_help ("listen");
        default: return s_usage_error ("listen", "unknown option");
        }
    }
    if (optind != argc - 1)
        return s_usage_error ("listen", "listen takes one window name");
    if (listener.reply_json) {
        char error[256];
        size_t size;
        char *check = cli_json_to_msgpack (listener.reply_json, &size, error, sizeof (error));
        if (!check)
            return s_usage_error ("listen", error);
        free (check);
    }
    int exit_code = EXIT_OK;
    prokit_window_t *window = s_join (cli, argv[optind], presence, &exit_code);
    if (!window)
        return exit_code;
    listener.window = s_listening = window;
    prokit_window_on_main_message (window, s_on_message, &listener);
    prokit_window_on_window_message (window, s_on_message, &listener);
    prokit_window_on_request (window, s_on_request, &listener);
    if (presence)
        prokit_window_on_presence (window, s_on_presence, NULL);
    struct sigaction action = { .sa_handler = s_on_stop_signal };
    sigaction (SIGINT, &action, NULL);
    sigaction (SIGTERM, &action, NULL);
    int rc = prokit_window_run (window, -1);
    signal (SIGINT, SIG_DFL);
    signal (SIGTERM, SIG_DFL);
    s_listening = NULL;
    prokit_window_destroy (&window);
    //  Stopped (a signal, --count) or closed by main: both are the end.
    return rc == PROKIT_OK || rc == PROKIT_ECLOSED ? EXIT_OK : s_fail (rc, "listen");
}

//  --- main -------------------------------------------------------------------------------------

int
main (int argc, char *argv[])
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
    while ((option = getopt_long (argc, argv, "+e:a:n:t:hV", options, NULL)) != -1) {
        char *end = NULL;
        long value;
        switch (option) {
        case 'e': cli.endpoint = optarg; break;
        case 'a': cli.app = optarg; break;
        case 'n': cli.name = optarg; break;
        case 't':
            value = strtol (optarg, &end, 10);
            if (!end || *end || value <= 0 || value > INT_MAX)
                return s_usage_error (NULL, "--timeout needs a positive number of ms");
            cli.timeout_ms = (int) value;
            break;
        case 'r': cli.raw = true; break;
        case 'h': s_help (stdout); return EXIT_OK;
        case 'V': printf ("prokit %s\n", PROKIT_VERSION_STRING); return EXIT_OK;
        default: return s_usage_error (NULL, "unknown option or missing value");
        }
    }
    if (optind >= argc)
        return s_usage_error (NULL, "no command given");
    const char *command = argv[optind];
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
    if (strcmp (command, "request") == 0 && (rest == 2 || rest == 3))
        return s_request (&cli, args[1], rest == 3 ? args[2] : NULL);
    if (strcmp (command, "send") == 0 && (rest == 2 || rest == 3))
        return s_send (&cli, args[1], rest == 3 ? args[2] : NULL);
    if (strcmp (command, "broadcast") == 0 && rest <= 2) {
        fprintf (stderr, "prokit: broadcast: only main broadcasts to every window, and this "
                         "tool joins as a window; send to each window instead\n");
        return EXIT_REFUSED;
    }
    if (strcmp (command, "listen") == 0)
        return s_listen (&cli, rest, args);
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        if (strcmp (s_commands[i].name, command) == 0)
            return s_usage_error (command, "wrong number of arguments");
    char what[128];
    snprintf (what, sizeof (what), "unknown command '%.64s'", command);
    return s_usage_error (NULL, what);
}
