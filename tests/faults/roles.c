/*  roles.c: the processes the fault cases start: this program again, run
    as "prokit-faults --role ROLE ARGS...".

    sink NAME ENDPOINT N      a window that keeps every request it is sent
                              unanswered; "HELD N" once it holds N
    echo NAME ENDPOINT        a window that answers every request with its
                              own payload, and says its connection events
                              ("CONNECTION lost|rejoined|refused ...")
    claim NAME ENDPOINT       "WAITING", then waits for EOF on descriptor 3
                              (the start line), claims NAME and says
                              "JOINED" or "REFUSED <error>"; the winner
                              stays until its stdin closes
    slow NAME ENDPOINT FILE   a window that counts the messages it takes in
                              (main's, the windows', and those out of
                              order: three 64-bit counters in the shared
                              file FILE; each stream "m", "b", "w" is
                              numbered) and echoes
                              requests; told "stall" on stdin it reads
                              nothing at all until told "resume"
    main ENDPOINT NAME        a main that echoes requests and sends window
                              NAME messages while it is there, until told
                              "stop"; told "count", says "COUNT" and its
                              figures (accepted, reported, windows, ...)
    broker ENDPOINT           prokit_broker_t on ENDPOINT; "READY"; ends
                              cleanly on SIGTERM
    churn-main ENDPOINT       a main whose windows come and go; each "churn
                              MS PARALLEL REQUESTS SEED" on stdin runs a
                              churn and answers one line of figures
    churn-window REQUESTS     a window started by churn-main (name and
                              endpoint from the environment): REQUESTS
                              requests to main, ten at a time, then leaves;
                              its exit status says how they ended
    garbage ...               garbage.c

    A role started by the suite dies with it (PR_SET_PDEATHSIG) and takes
    EOF on its stdin as "leave now".
*/
#include "faults.h"

#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>

//  --- stdin, line by line --------------------------------------------------------------

static char s_input[1024];
static size_t s_input_used;
static bool s_input_eof;

//  One line of stdin if one is there; -1 at EOF, 0 if none (yet).
static int
s_input_line (char *line, size_t size)
{
    while (true) {
        char *newline = (char *) memchr (s_input, '\n', s_input_used);
        if (newline) {
            size_t len = (size_t) (newline - s_input);
            size_t copy = len < size - 1 ? len : size - 1;
            memcpy (line, s_input, copy);
            line[copy] = 0;
            memmove (s_input, newline + 1, s_input_used - len - 1);
            s_input_used -= len + 1;
            return 1;
        }
        if (s_input_eof)
            return -1;
        struct pollfd item = { STDIN_FILENO, POLLIN, 0 };
        if (poll (&item, 1, 0) <= 0)
            return 0;
        ssize_t n = read (STDIN_FILENO, s_input + s_input_used, sizeof (s_input) - s_input_used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || s_input_used + (size_t) n == sizeof (s_input))
            s_input_eof = true; //  EOF (or a line too long to be ours)
        else
            s_input_used += (size_t) n;
    }
}

static void s_say (const char *format, ...) __attribute__ ((format (printf, 1, 2)));

static void
s_say (const char *format, ...)
{
    va_list args;
    va_start (args, format);
    vprintf (format, args);
    va_end (args);
    printf ("\n");
    fflush (stdout);
}

//  Wait for the window's descriptor or stdin, at most TIMEOUT_MS.
static void
s_wait (prokit_window_t *window, prokit_main_t *main_handle, int timeout_ms)
{
    struct pollfd items[2] = { { STDIN_FILENO, POLLIN, 0 }, { -1, POLLIN, 0 } };
    if (window)
        items[1].fd = prokit_window_fd (window);
    if (main_handle)
        items[1].fd = prokit_main_fd (main_handle);
    poll (items, items[1].fd >= 0 ? 2 : 1, timeout_ms);
}

static prokit_window_t *
s_join (const char *name, const char *endpoint, int join_timeout_ms, int *error)
{
    prokit_window_opts_t opts;
    prokit_window_opts_init (&opts);
    opts.endpoint = endpoint;
    opts.join_timeout_ms = join_timeout_ms;
    return prokit_window_new (name, &opts, error);
}

//  --- sink: holds every request --------------------------------------------------------------

typedef struct sink {
    prokit_request_t **held;
    size_t count, capacity;
    size_t announce; //  say "HELD N" when this many are held
} sink_t;

static prokit_payload_t *
s_hold (prokit_request_t *request, void *arg)
{
    sink_t *sink = (sink_t *) arg;
    if (sink->count == sink->capacity) {
        size_t capacity = sink->capacity ? sink->capacity * 2 : 1024;
        prokit_request_t **held =
            (prokit_request_t **) realloc (sink->held, capacity * sizeof (*held));
        if (!held) {
            prokit_request_fail (&request, 0, "out of memory");
            return NULL;
        }
        sink->held = held;
        sink->capacity = capacity;
    }
    sink->held[sink->count++] = prokit_request_defer (request);
    if (sink->count == sink->announce)
        s_say ("HELD %zu", sink->count);
    return NULL;
}

static int
s_sink (int argc, char **argv)
{
    if (argc < 3)
        return 2;
    int error = PROKIT_OK;
    prokit_window_t *window = s_join (argv[0], argv[1], 10000, &error);
    if (!window) {
        s_say ("REFUSED %s", prokit_error_name (error));
        return 3;
    }
    sink_t sink = { NULL, 0, 0, (size_t) strtoul (argv[2], NULL, 10) };
    prokit_window_on_request (window, s_hold, &sink);
    s_say ("READY");
    char line[64];
    while (s_input_line (line, sizeof (line)) >= 0) {
        prokit_window_dispatch (window);
        s_wait (window, NULL, 1000);
    }
    prokit_window_destroy (&window);
    for (size_t i = 0; i < sink.count; i++)
        prokit_request_fail (&sink.held[i], 0, "gone");
    free (sink.held);
    return 0;
}

//  --- echo -------------------------------------------------------------------------------------

//  Said on stdout, for a case that wants to know why a rejoin is late.
static void
s_say_connection (prokit_connection_event_t event, int code, const char *text, void *arg)
{
    (void) arg;
    s_say ("CONNECTION %s %s %s",
           event == PROKIT_CONNECTION_LOST       ? "lost"
           : event == PROKIT_CONNECTION_REJOINED ? "rejoined"
                                                 : "refused",
           prokit_error_name (code), text);
}

static int
s_echo (int argc, char **argv)
{
    if (argc < 2)
        return 2;
    int error = PROKIT_OK;
    prokit_window_t *window = s_join (argv[0], argv[1], 10000, &error);
    if (!window) {
        s_say ("REFUSED %s", prokit_error_name (error));
        return 3;
    }
    prokit_window_on_request (window, fx_echo, NULL);
    prokit_window_on_connection (window, s_say_connection, NULL);
    s_say ("READY");
    char line[64];
    while (s_input_line (line, sizeof (line)) >= 0) {
        prokit_window_dispatch (window);
        s_wait (window, NULL, 1000);
    }
    prokit_window_destroy (&window);
    return 0;
}

//  --- claim: one name, many claimants ----------------------------------------------------------------

static int
s_claim (int argc, char **argv)
{
    if (argc < 2)
        return 2;
    s_say ("WAITING");
    char byte;
    ssize_t n;
    do //  the start line: EOF when the suite closes its end
        n = read (3, &byte, 1);
    while (n < 0 && errno == EINTR);
    close (3);
    int error = PROKIT_OK;
    //  Fifty processes start on two cores: a generous join deadline, so
    //  that the outcome is the router's word, not a timeout.
    prokit_window_t *window = s_join (argv[0], argv[1], 30000, &error);
    if (!window) {
        s_say ("REFUSED %s", prokit_error_name (error));
        return 3;
    }
    s_say ("JOINED");
    char line[64];
    while (s_input_line (line, sizeof (line)) >= 0) {
        prokit_window_dispatch (window);
        s_wait (window, NULL, 1000);
    }
    prokit_window_destroy (&window);
    return 0;
}

//  --- slow: stops reading when told -------------------------------------------------------------

//  What the slow window counts, in the shared file: [0] main's messages
//  and broadcasts, [1] the windows', [2] those out of order; and the last
//  number of each stream ("m", "b", "w" and a number: none may go back).
typedef struct slow_counts {
    atomic_uint_fast64_t *counts;
    long last[3];
} slow_counts_t;

static void
s_count_stream (slow_counts_t *slow, const prokit_message_t *message, int counter)
{
    atomic_fetch_add (&slow->counts[counter], 1);
    const char *text = prokit_payload_str (prokit_message_payload (message));
    const char *streams = "mbw";
    const char *stream = text && text[0] ? strchr (streams, text[0]) : NULL;
    long n = stream ? atol (text + 1) : -1;
    if (!stream || n <= slow->last[stream - streams])
        atomic_fetch_add (&slow->counts[2], 1);
    else
        slow->last[stream - streams] = n;
}

static void
s_count_main (const prokit_message_t *message, void *arg)
{
    s_count_stream ((slow_counts_t *) arg, message, 0);
}

static void
s_count_window (const prokit_message_t *message, void *arg)
{
    s_count_stream ((slow_counts_t *) arg, message, 1);
}

static int
s_slow (int argc, char **argv)
{
    if (argc < 3)
        return 2;
    int fd = open (argv[2], O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || ftruncate (fd, 3 * sizeof (atomic_uint_fast64_t)) != 0)
        return 2;
    atomic_uint_fast64_t *counts = (atomic_uint_fast64_t *) mmap (
        NULL, 3 * sizeof (atomic_uint_fast64_t), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close (fd);
    if (counts == MAP_FAILED)
        return 2;
    slow_counts_t slow = { counts, { -1, -1, -1 } };
    int error = PROKIT_OK;
    prokit_window_t *window = s_join (argv[0], argv[1], 10000, &error);
    if (!window) {
        s_say ("REFUSED %s", prokit_error_name (error));
        return 3;
    }
    prokit_window_on_main_message (window, s_count_main, &slow);
    prokit_window_on_window_message (window, s_count_window, &slow);
    prokit_window_on_request (window, fx_echo, NULL);
    s_say ("READY");
    char line[64];
    int got;
    while ((got = s_input_line (line, sizeof (line))) >= 0) {
        if (got && strcmp (line, "stall") == 0) {
            s_say ("STALLED");
            //  Not a single dispatch until told: only stdin is watched.
            while ((got = s_input_line (line, sizeof (line))) >= 0 &&
                   !(got && strcmp (line, "resume") == 0))
                if (!got)
                    s_wait (NULL, NULL, 1000);
            s_say ("RESUMED");
            continue;
        }
        prokit_window_dispatch (window);
        s_wait (window, NULL, 1000);
    }
    prokit_window_destroy (&window);
    munmap ((void *) counts, 3 * sizeof (atomic_uint_fast64_t));
    return 0;
}

//  --- main: serves, floods one window, says how it went --------------------------------------------

typedef struct flood {
    const char *target;
    long accepted, refused, reported, reported_other;
} flood_t;

static void
s_flood_undelivered (const char *target, int code, const char *text, void *arg)
{
    (void) code;
    (void) text;
    flood_t *flood = (flood_t *) arg;
    if (strcmp (target, flood->target) == 0)
        flood->reported++;
    else
        flood->reported_other++;
}

static int
s_main (int argc, char **argv)
{
    if (argc < 2)
        return 2;
    prokit_main_opts_t opts;
    prokit_main_opts_init (&opts);
    opts.endpoint = argv[0];
    int error = PROKIT_OK;
    prokit_main_t *main_handle = prokit_main_new (&opts, &error);
    if (!main_handle) {
        s_say ("REFUSED %s", prokit_error_name (error));
        return 3;
    }
    flood_t flood = { argv[1], 0, 0, 0, 0 };
    prokit_main_on_request (main_handle, fx_echo, NULL);
    prokit_main_on_undelivered (main_handle, s_flood_undelivered, &flood);
    s_say ("READY");
    bool flooding = true;
    char line[64];
    int got;
    while ((got = s_input_line (line, sizeof (line))) >= 0) {
        if (got && strcmp (line, "stop") == 0) {
            flooding = false;
            s_say ("STOPPED");
        }
        else if (got && strcmp (line, "count") == 0) {
            prokit_stats_t stats;
            memset (&stats, 0, sizeof (stats));
            prokit_main_stats (main_handle, &stats, sizeof (stats));
            s_say ("COUNT accepted=%ld refused=%ld reported=%ld other=%ld windows=%zu "
                   "foreign=%llu malformed=%llu",
                   flood.accepted, flood.refused, flood.reported, flood.reported_other,
                   prokit_main_window_count (main_handle), stats.garbage, stats.malformed);
        }
        prokit_main_dispatch (main_handle);
        //  A few messages at a time to the window, while it is there.
        for (int i = 0; flooding && i < 16 && prokit_main_has_window (main_handle, flood.target);
             i++) {
            prokit_payload_t *payload = prokit_payload_new_printf ("m%ld", flood.accepted);
            int rc = prokit_main_send (main_handle, flood.target, &payload);
            prokit_payload_destroy (&payload); //  not sent: ours (NULL-safe)
            if (rc == PROKIT_OK)
                flood.accepted++;
            else {
                flood.refused++;
                break;
            }
        }
        struct pollfd items[2] = { { STDIN_FILENO, POLLIN, 0 },
                                   { prokit_main_fd (main_handle), POLLIN, 0 } };
        poll (items, 2, flooding ? 1 : 1000);
    }
    prokit_main_destroy (&main_handle);
    return 0;
}

//  --- broker ---------------------------------------------------------------------------------------

static int
s_broker (int argc, char **argv)
{
    if (argc < 1)
        return 2;
    sigset_t term;
    sigemptyset (&term);
    sigaddset (&term, SIGTERM);
    pthread_sigmask (SIG_BLOCK, &term, NULL); //  before the broker's threads start
    int signals = signalfd (-1, &term, SFD_CLOEXEC);
    prokit_broker_opts_t opts;
    prokit_broker_opts_init (&opts);
    opts.endpoints[0] = argv[0];
    int error = PROKIT_OK;
    prokit_broker_t *broker = prokit_broker_new (&opts, &error);
    if (!broker) {
        s_say ("REFUSED %s", prokit_error_name (error));
        return 3;
    }
    s_say ("READY");
    char line[64];
    while (s_input_line (line, sizeof (line)) >= 0) {
        struct pollfd items[2] = { { STDIN_FILENO, POLLIN, 0 }, { signals, POLLIN, 0 } };
        poll (items, 2, 1000);
        if (items[1].revents & POLLIN)
            break; //  SIGTERM: tell the peers, and go
    }
    prokit_broker_destroy (&broker);
    close (signals);
    return 0;
}

//  --- churn-main and churn-window ----------------------------------------------------------------

#define SLOTS_MAX 16
#define CHURN_DEADLINE_MS 30000 //  a window still running after this is hung

typedef struct slot {
    char name[16];
    bool busy;
    pid_t pid;
    int kill_at; //  main kills it (-9) at its request number KILL_AT; 0: it leaves
    int requests;
    bool joined, left, exited, killed, hung;
    int64_t started;
} slot_t;

typedef struct churn {
    prokit_main_t *main;
    slot_t slots[SLOTS_MAX];
    int parallel;
    int windows, killed, failed, hung;
    long requests;
} churn_t;

static slot_t *
s_slot_named (churn_t *churn, const char *name)
{
    for (int i = 0; i < churn->parallel; i++)
        if (churn->slots[i].busy && strcmp (churn->slots[i].name, name) == 0)
            return &churn->slots[i];
    return NULL;
}

static prokit_payload_t *
s_churn_serve (prokit_request_t *request, void *arg)
{
    churn_t *churn = (churn_t *) arg;
    churn->requests++;
    slot_t *slot = s_slot_named (churn, prokit_request_sender (request));
    if (slot && ++slot->requests == slot->kill_at && !slot->killed) {
        kill (slot->pid, SIGKILL); //  with its other requests in flight
        slot->killed = true;
    }
    return prokit_request_take_payload (request);
}

static void
s_churn_presence (const prokit_presence_t *event, void *arg)
{
    churn_t *churn = (churn_t *) arg;
    slot_t *slot = s_slot_named (churn, event->window);
    if (!slot)
        return;
    if (event->kind == PROKIT_PRESENCE_JOINED)
        slot->joined = true;
    else if (event->kind == PROKIT_PRESENCE_LEFT)
        slot->left = true;
    else if (event->kind == PROKIT_PRESENCE_EXITED) {
        slot->exited = true;
        int status = event->wait_status;
        bool expected = slot->killed ? WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL
                                     : WIFEXITED (status) && WEXITSTATUS (status) == 0;
        if (!expected && !slot->hung) {
            churn->failed++;
            fprintf (stderr, "churn: window %s (pid %d, %s) ended: %s\n", slot->name, slot->pid,
                     slot->killed ? "killed by main" : "leaving by itself", event->reason);
        }
    }
}

static bool
s_churn_start (churn_t *churn, slot_t *slot, int requests, unsigned *seed)
{
    char count[16];
    snprintf (count, sizeof (count), "%d", requests);
    char *argv[] = { (char *) fx_self (), (char *) "--role", (char *) "churn-window", count, NULL };
    prokit_window_spec_t spec;
    prokit_window_spec_init (&spec);
    spec.path = fx_self ();
    spec.argv = argv;
    prokit_spawned_t result;
    memset (&result, 0, sizeof (result));
    bool kill_it = churn->windows % 2 == 1; //  half of them
    slot->busy = true;                      //  before the events can name it
    int rc = prokit_main_create_window (churn->main, slot->name, &spec, &result, sizeof (result));
    if (rc != PROKIT_OK) {
        slot->busy = false;
        churn->failed++;
        fprintf (stderr, "churn: create_window %s: %s %s\n", slot->name, prokit_error_name (rc),
                 result.reason);
        return false;
    }
    slot->pid = result.pid;
    slot->kill_at = kill_it ? 1 + (int) (rand_r (seed) % (unsigned) requests) : 0;
    slot->requests = 0;
    slot->joined = slot->left = slot->exited = slot->killed = slot->hung = false;
    slot->started = fx_now_ms ();
    churn->windows++;
    churn->killed += kill_it;
    return true;
}

//  A slot is free again once its process was reaped and, if it joined,
//  its LEFT came. Past the deadline its process is killed and counted hung.
static void
s_churn_check (churn_t *churn, slot_t *slot)
{
    if (!slot->busy)
        return;
    if (slot->exited && (slot->left || !slot->joined)) {
        slot->busy = false;
        return;
    }
    if (fx_now_ms () - slot->started < CHURN_DEADLINE_MS || slot->hung)
        return;
    slot->hung = true;
    churn->hung++;
    fprintf (stderr, "churn: window %s (pid %d) hung: joined %d, left %d, exited %d, %d requests\n",
             slot->name, slot->pid, slot->joined, slot->left, slot->exited, slot->requests);
    if (!slot->exited)
        kill (slot->pid, SIGKILL);
    else
        slot->busy = false; //  exited but never left: counted, and the slot taken back
}

static bool
s_churn_idle (churn_t *churn)
{
    for (int i = 0; i < churn->parallel; i++)
        if (churn->slots[i].busy)
            return false;
    return true;
}

static void
s_churn_run (churn_t *churn, int ms, int requests, unsigned seed)
{
    long rss_start = fx_rss_kb (getpid ());
    churn->windows = churn->killed = churn->failed = churn->hung = 0;
    churn->requests = 0;
    int64_t end = fx_now_ms () + ms;
    while (fx_now_ms () < end) {
        for (int i = 0; i < churn->parallel; i++) {
            s_churn_check (churn, &churn->slots[i]);
            if (!churn->slots[i].busy && fx_now_ms () < end)
                s_churn_start (churn, &churn->slots[i], requests, &seed);
        }
        prokit_main_dispatch (churn->main);
        s_wait (NULL, churn->main, 100);
    }
    int64_t deadline = fx_now_ms () + CHURN_DEADLINE_MS + 5000;
    while (!s_churn_idle (churn) && fx_now_ms () < deadline) {
        for (int i = 0; i < churn->parallel; i++)
            s_churn_check (churn, &churn->slots[i]);
        prokit_main_dispatch (churn->main);
        s_wait (NULL, churn->main, 100);
    }
    int busy = 0;
    for (int i = 0; i < churn->parallel; i++)
        busy += churn->slots[i].busy;
    int zombies = 0;
    int children = fx_children (&zombies);
    s_say ("CHURN windows=%d killed=%d requests=%ld failed=%d hung=%d busy=%d children=%d "
           "zombies=%d rss_start=%ld rss_end=%ld",
           churn->windows, churn->killed, churn->requests, churn->failed, churn->hung, busy,
           children, zombies, rss_start, fx_rss_kb (getpid ()));
}

static int
s_churn_main (int argc, char **argv)
{
    if (argc < 1)
        return 2;
    static churn_t churn;
    prokit_main_opts_t opts;
    prokit_main_opts_init (&opts);
    opts.endpoint = argv[0];
    int error = PROKIT_OK;
    churn.main = prokit_main_new (&opts, &error);
    if (!churn.main) {
        s_say ("REFUSED %s", prokit_error_name (error));
        return 3;
    }
    for (int i = 0; i < SLOTS_MAX; i++)
        snprintf (churn.slots[i].name, sizeof (churn.slots[i].name), "churn-%d", i);
    prokit_main_on_request (churn.main, s_churn_serve, &churn);
    prokit_main_on_presence (churn.main, s_churn_presence, &churn);
    s_say ("READY %ld", fx_rss_kb (getpid ()));
    char line[128];
    int got;
    while ((got = s_input_line (line, sizeof (line))) >= 0) {
        int ms, parallel, requests;
        unsigned seed;
        if (got && sscanf (line, "churn %d %d %d %u", &ms, &parallel, &requests, &seed) == 4) {
            churn.parallel = parallel < SLOTS_MAX ? parallel : SLOTS_MAX;
            s_churn_run (&churn, ms, requests, seed);
            continue;
        }
        prokit_main_dispatch (churn.main);
        s_wait (NULL, churn.main, 1000);
    }
    prokit_main_destroy (&churn.main);
    return 0;
}

//  Exit statuses of churn-window, for churn-main's log.
#define CHURN_JOIN_FAILED 10
#define CHURN_NOT_OK 11
#define CHURN_TWICE 12
#define CHURN_HUNG 13
#define CHURN_IN_FLIGHT 10 //  requests at a time

static int
s_churn_window (int argc, char **argv)
{
    int requests = argc >= 1 ? atoi (argv[0]) : 100;
    prokit_window_opts_t opts;
    prokit_window_opts_init (&opts);
    opts.join_timeout_ms = 20000;
    int error = PROKIT_OK;
    prokit_window_t *window = prokit_window_new (NULL, &opts, &error);
    if (!window) {
        fprintf (stderr, "churn-window: join: %s\n", prokit_error_name (error));
        return CHURN_JOIN_FAILED;
    }
    fx_reqs_t set;
    fx_reqs_init (&set, "churn-", true);
    int64_t deadline = fx_now_ms () + 25000;
    while ((set.count < (size_t) requests || fx_reqs_pending (&set) > 0) &&
           fx_now_ms () < deadline) {
        bool refused = false;
        while (!refused && set.count < (size_t) requests &&
               fx_reqs_pending (&set) < CHURN_IN_FLIGHT)
            refused = fx_request (window, PROKIT_MAIN, &set, 15000) != PROKIT_OK;
        prokit_window_dispatch (window);
        //  All answered in that dispatch (a BATCH brings them together):
        //  make the next ones at once, nothing is on its way to wait for.
        if (!refused && fx_reqs_pending (&set) == 0)
            continue;
        struct pollfd item = { prokit_window_fd (window), POLLIN, 0 };
        poll (&item, 1, 100);
    }
    int status = 0;
    if (fx_reqs_pending (&set) > 0 || set.count < (size_t) requests)
        status = CHURN_HUNG;
    else if (set.twice || set.wrong)
        status = CHURN_TWICE;
    else if (fx_reqs_with (&set, PROKIT_OK) != requests)
        status = CHURN_NOT_OK;
    if (status)
        fprintf (stderr,
                 "churn-window %s: %zu requests made, %zu ended (%ld OK, %ld twice, %ld wrong), "
                 "%ld refused at the send\n",
                 prokit_window_name (window), set.count, set.done, fx_reqs_with (&set, PROKIT_OK),
                 set.twice, set.wrong, set.refused);
    fx_reqs_seal (&set);
    prokit_window_destroy (&window);
    fx_reqs_free (&set);
    return status;
}

//  --- dispatch ----------------------------------------------------------------------------------

int
fx_role (const char *role, int argc, char **argv)
{
    signal (SIGPIPE, SIG_IGN);
    fx_log_install (getenv ("PROKIT_FAULTS_VERBOSE") != NULL, role);
    if (strcmp (role, "churn-window") != 0) {
        //  Started by the suite (from its main thread): gone with it. Not
        //  churn-window: churn-main's library starts those, maybe from a
        //  thread that ends first, which would take them along.
        pid_t parent = getppid ();
        prctl (PR_SET_PDEATHSIG, SIGKILL);
        if (getppid () != parent)
            return 1;
    }
    if (strcmp (role, "sink") == 0)
        return s_sink (argc, argv);
    if (strcmp (role, "echo") == 0)
        return s_echo (argc, argv);
    if (strcmp (role, "claim") == 0)
        return s_claim (argc, argv);
    if (strcmp (role, "slow") == 0)
        return s_slow (argc, argv);
    if (strcmp (role, "broker") == 0)
        return s_broker (argc, argv);
    if (strcmp (role, "main") == 0)
        return s_main (argc, argv);
    if (strcmp (role, "churn-main") == 0)
        return s_churn_main (argc, argv);
    if (strcmp (role, "churn-window") == 0)
        return s_churn_window (argc, argv);
    if (strcmp (role, "garbage") == 0)
        return fx_garbage (argc, argv);
    fprintf (stderr, "prokit-faults: unknown role '%s'\n", role);
    return 2;
}
