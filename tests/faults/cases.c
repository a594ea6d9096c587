/*  cases.c: the fault cases. Each sets up a main (here, or in a child), its
    windows and the fault, counts every outcome, checks the promises and
    writes one line of figures; its totals feed the long mode's summary.

    The counting rule: every request made (its send returned PROKIT_OK)
    ends in exactly one outcome, before its deadline; and for every
    one-way path, accepted = received + reported undelivered.
*/
#include "faults.h"

#include <sys/mman.h>

//  --- shared pieces -------------------------------------------------------------------------------

//  A main here, on a fresh ipc endpoint, with its heartbeat settings (0:
//  the defaults: a ping every second, dropped after three silent).
static prokit_main_t *
s_main_new (char *endpoint, size_t size, int heartbeat_ivl, int heartbeat_timeout)
{
    fx_endpoint (endpoint, size);
    prokit_main_opts_t opts;
    prokit_main_opts_init (&opts);
    opts.endpoint = endpoint;
    opts.heartbeat_ivl_ms = heartbeat_ivl;
    opts.heartbeat_timeout_ms = heartbeat_timeout;
    int error = PROKIT_OK;
    prokit_main_t *main_handle = prokit_main_new (&opts, &error);
    if (!main_handle)
        fx_fail ("prokit_main_new (%s): %s", endpoint, prokit_error_name (error));
    return main_handle;
}

static prokit_window_t *
s_window_new (const char *name, const char *endpoint)
{
    prokit_window_opts_t opts;
    prokit_window_opts_init (&opts);
    opts.endpoint = endpoint;
    opts.join_timeout_ms = 10000;
    int error = PROKIT_OK;
    prokit_window_t *window = prokit_window_new (name, &opts, &error);
    if (!window)
        fx_fail ("prokit_window_new (%s): %s", name, prokit_error_name (error));
    return window;
}

//  What main hears of one window (or of all, NAME NULL).
typedef struct presence {
    const char *name;
    int joined, left;
    int64_t joined_at, left_at;
    char reason[96];
} presence_t;

static void
s_presence (const prokit_presence_t *event, void *arg)
{
    presence_t *presence = (presence_t *) arg;
    if (presence->name && strcmp (event->window, presence->name) != 0)
        return;
    if (event->kind == PROKIT_PRESENCE_JOINED) {
        presence->joined++;
        presence->joined_at = fx_now_ms ();
    }
    else if (event->kind == PROKIT_PRESENCE_LEFT) {
        presence->left++;
        presence->left_at = fx_now_ms ();
        snprintf (presence->reason, sizeof (presence->reason), "%s", event->reason);
    }
}

typedef struct count_wait {
    const int *value;
    int at_least;
} count_wait_t;

static bool
s_count_reached (void *arg)
{
    count_wait_t *wait = (count_wait_t *) arg;
    return *wait->value >= wait->at_least;
}

static bool
s_wait_count (tu_handle_t *handles, size_t count, const int *value, int at_least, int timeout_ms)
{
    count_wait_t wait = { value, at_least };
    return fx_pump (handles, count, NULL, 0, s_count_reached, &wait, timeout_ms);
}

static bool
s_settled (void *arg)
{
    return fx_reqs_pending ((fx_reqs_t *) arg) == 0;
}

//  Wait until every request of SET has its outcome.
static bool
s_wait_settled (tu_handle_t *handles, size_t count, fx_reqs_t *set, int timeout_ms)
{
    return fx_pump (handles, count, NULL, 0, s_settled, set, timeout_ms);
}

//  Read the child's next line and check it starts with EXPECTED.
static bool
s_expect_line (fx_child_t *child, const char *what, const char *expected, char *line, size_t size,
               int timeout_ms, tu_handle_t *handles, size_t count)
{
    if (!fx_read_line (child, line, size, timeout_ms, handles, count)) {
        fx_fail ("%s: no \"%s\" within %d ms", what, expected, timeout_ms);
        return false;
    }
    if (strncmp (line, expected, strlen (expected)) != 0) {
        fx_fail ("%s: said \"%s\", expected \"%s\"", what, line, expected);
        return false;
    }
    return true;
}

//  Let a child leave (EOF on its stdin) and reap it; it must exit 0.
static void
s_finish_child (fx_child_t *child, const char *what)
{
    fx_close_input (child);
    if (!fx_reap (child, 10000))
        fx_fail ("%s: still running 10 s after being told to leave (killed)", what);
    else if (!WIFEXITED (child->status) || WEXITSTATUS (child->status) != 0)
        fx_fail ("%s: ended with wait status 0x%x", what, child->status);
}

static void
s_describe_status (int status, char *out, size_t size)
{
    if (WIFEXITED (status))
        snprintf (out, size, "exit %d", WEXITSTATUS (status));
    else if (WIFSIGNALED (status))
        snprintf (out, size, "signal %d", WTERMSIG (status));
    else
        snprintf (out, size, "status 0x%x", status);
}

//  A range of figures over the runs (long mode).
typedef struct range {
    double min, max;
    int count;
} range_t;

static void
s_range_add (range_t *range, double value)
{
    if (range->count == 0 || value < range->min)
        range->min = value;
    if (range->count == 0 || value > range->max)
        range->max = value;
    range->count++;
}

//  --- kill9-inflight: a window killed with requests in flight to it ---------------------------

static struct {
    long requests, eclosed, other, missing;
    range_t last_ms;
} s_kill9_totals;

static bool
s_kill9 (const fx_config_t *cfg, char *line, size_t size)
{
    char endpoint[256], count[16];
    prokit_main_t *main_handle = s_main_new (endpoint, sizeof (endpoint), 0, 0);
    if (!main_handle)
        return false;
    presence_t presence = { .name = "sink" };
    prokit_main_on_presence (main_handle, s_presence, &presence);
    prokit_window_t *asker = s_window_new ("asker", endpoint);
    fx_child_t sink = { 0 };
    fx_reqs_t set;
    fx_reqs_init (&set, "k-", false);
    tu_handle_t handles[] = { { main_handle, NULL }, { NULL, asker } };
    char text[256];
    snprintf (count, sizeof (count), "%d", cfg->kill_requests);
    const char *args[] = { "sink", endpoint, count, NULL };
    long long last_ms = -1;
    if (!asker || !fx_spawn_role (&sink, "sink", args, -1) ||
        !s_expect_line (&sink, "sink", "READY", text, sizeof (text), 10000, handles, 2))
        goto done;
    for (int i = 0; i < cfg->kill_requests; i++) {
        //  A long deadline: the outcome must come from the kill, not the clock.
        int rc = fx_request (asker, "sink", &set, 60000);
        if (rc != PROKIT_OK) {
            fx_fail ("request %d to the sink: %s", i, prokit_error_name (rc));
            goto done;
        }
    }
    snprintf (text, sizeof (text), "HELD %d", cfg->kill_requests);
    char said[256];
    if (!s_expect_line (&sink, "sink", text, said, sizeof (said), 20000, handles, 2))
        goto done;
    if (set.done > 0)
        fx_fail ("%zu requests ended before the kill", set.done);
    kill (sink.pid, SIGKILL);
    int64_t killed_at = fx_now_ms ();
    bool settled = s_wait_settled (handles, 2, &set, 10000);
    long long first_ms = -1;
    if (settled) {
        last_ms = set.last_at - killed_at;
        first_ms = last_ms;
        for (size_t i = 0; i < set.count; i++)
            if (fx_reqs_at (&set, i)->at_ms - killed_at < first_ms)
                first_ms = fx_reqs_at (&set, i)->at_ms - killed_at;
    }
    fx_linger (handles, 2, 300); //  a second outcome would come now
    fx_reqs_check (&set, "kill9-inflight");
    long eclosed = fx_reqs_with (&set, PROKIT_ECLOSED);
    if (eclosed != (long) set.done)
        fx_fail ("%ld requests ended otherwise than PROKIT_ECLOSED", (long) set.done - eclosed);
    if (!s_wait_count (handles, 2, &presence.left, 1, 5000))
        fx_fail ("main did not see the killed window leave");
    fx_reap (&sink, 5000);
    if (!WIFSIGNALED (sink.status) || WTERMSIG (sink.status) != SIGKILL)
        fx_fail ("the sink ended with wait status 0x%x, not by SIGKILL", sink.status);
    s_kill9_totals.requests += (long) set.count;
    s_kill9_totals.eclosed += eclosed;
    s_kill9_totals.other += (long) set.done - eclosed;
    s_kill9_totals.missing += (long) fx_reqs_pending (&set);
    if (last_ms >= 0)
        s_range_add (&s_kill9_totals.last_ms, (double) last_ms);
    snprintf (line, size,
              "%zu requests in flight to a window killed -9: %ld PROKIT_ECLOSED, %ld other, %zu "
              "without outcome, %ld twice; the first %lld ms, the last %lld ms after the kill",
              set.count, eclosed, (long) set.done - eclosed, fx_reqs_pending (&set), set.twice,
              first_ms, last_ms);
done:
    fx_discard (&sink);
    fx_reqs_seal (&set);
    prokit_window_destroy (&asker);
    prokit_main_destroy (&main_handle);
    fx_reqs_free (&set);
    return fx_failures () == 0;
}

static void
s_kill9_summary (char *line, size_t size)
{
    snprintf (line, size,
              "%ld requests in flight at the kills: %ld PROKIT_ECLOSED, %ld other, %ld without "
              "outcome; the last %.0f-%.0f ms after the kill",
              s_kill9_totals.requests, s_kill9_totals.eclosed, s_kill9_totals.other,
              s_kill9_totals.missing, s_kill9_totals.last_ms.min, s_kill9_totals.last_ms.max);
}

//  --- sigstop: a frozen window is dropped, and rejoins once thawed ---------------------------------

static struct {
    range_t left_ms, rejoin_ms;
    long frozen_requests, frozen_eclosed, after_requests, after_ok;
} s_stop_totals;

//  Why a thawed window is late: what it said of its connection, and
//  whether it rejoins within another minute.
static void
s_late_rejoin (fx_child_t *child, tu_handle_t *handles, presence_t *presence, int64_t thawed_at)
{
    bool back = s_wait_count (handles, 2, &presence->joined, 2, 60000);
    char said[256];
    while (fx_try_line (child, said, sizeof (said)))
        fx_fail ("the window said \"%s\"", said);
    int status = 0;
    char how[48] = "still running";
    if (fx_ended (child, &status)) {
        char what[32];
        s_describe_status (status, what, sizeof (what));
        snprintf (how, sizeof (how), "ended: %s", what);
    }
    if (back)
        fx_fail ("... it rejoined %lld ms after SIGCONT",
                 (long long) (presence->joined_at - thawed_at));
    else
        fx_fail ("... it had not rejoined %lld ms after SIGCONT (its process %s)",
                 (long long) (fx_now_ms () - thawed_at), how);
}

static bool
s_sigstop (const fx_config_t *cfg, char *line, size_t size)
{
    char endpoint[256], text[256];
    prokit_main_t *main_handle = s_main_new (endpoint, sizeof (endpoint), 0, 0);
    if (!main_handle)
        return false;
    presence_t presence = { .name = "frozen" };
    prokit_main_on_presence (main_handle, s_presence, &presence);
    prokit_window_t *asker = s_window_new ("asker", endpoint);
    fx_child_t frozen = { 0 };
    fx_reqs_t before, during, after;
    fx_reqs_init (&before, "b-", true);
    fx_reqs_init (&during, "d-", true);
    fx_reqs_init (&after, "a-", true);
    tu_handle_t handles[] = { { main_handle, NULL }, { NULL, asker } };
    const char *args[] = { "frozen", endpoint, NULL };
    bool stopped = false;
    long long left_ms = -1, rejoin_ms = -1;
    if (!asker || !fx_spawn_role (&frozen, "echo", args, -1) ||
        !s_expect_line (&frozen, "frozen", "READY", text, sizeof (text), 10000, handles, 2))
        goto done;
    if (!s_wait_count (handles, 2, &presence.joined, 1, 5000)) {
        fx_fail ("main did not see the window join");
        goto done;
    }
    for (int i = 0; i < 10; i++)
        fx_request (asker, "frozen", &before, 10000);
    if (!s_wait_settled (handles, 2, &before, 10000) || fx_reqs_with (&before, PROKIT_OK) != 10)
        fx_fail ("the window did not answer before it was frozen");

    kill (frozen.pid, SIGSTOP);
    stopped = true;
    int64_t stopped_at = fx_now_ms ();
    for (int i = 0; i < cfg->stop_requests; i++)
        fx_request (asker, "frozen", &during, 60000);
    if (!s_wait_count (handles, 2, &presence.left, 1, 15000)) {
        fx_fail ("the frozen window was not dropped within 15 s");
        goto done;
    }
    left_ms = presence.left_at - stopped_at;
    //  Heartbeats: a ping every 1 s, dropped after 3 s of silence.
    if (left_ms > 6000)
        fx_fail ("the frozen window left %lld ms after SIGSTOP (promised: about 4 s)", left_ms);
    if (!s_wait_settled (handles, 2, &during, 5000))
        fx_fail ("requests to the frozen window did not end when it left");
    kill (frozen.pid, SIGCONT);
    stopped = false;
    int64_t thawed_at = fx_now_ms ();
    if (!s_wait_count (handles, 2, &presence.joined, 2, 10000)) {
        fx_fail ("the thawed window did not rejoin within 10 s");
        s_late_rejoin (&frozen, handles, &presence, thawed_at);
        goto done;
    }
    rejoin_ms = presence.joined_at - thawed_at;
    fx_linger (handles, 2, 500); //  old requests it might still answer: a second outcome
    for (int i = 0; i < cfg->stop_requests; i++)
        fx_request (asker, "frozen", &after, 10000);
    s_wait_settled (handles, 2, &after, 10000);
    fx_reqs_check (&before, "sigstop (before)");
    fx_reqs_check (&during, "sigstop (frozen)");
    fx_reqs_check (&after, "sigstop (after)");
    if (fx_reqs_with (&during, PROKIT_ECLOSED) != (long) during.count)
        fx_fail ("%ld of the frozen window's requests ended otherwise than PROKIT_ECLOSED",
                 (long) during.count - fx_reqs_with (&during, PROKIT_ECLOSED));
    if (fx_reqs_with (&after, PROKIT_OK) != (long) after.count)
        fx_fail ("%ld requests after the rejoin were not answered",
                 (long) after.count - fx_reqs_with (&after, PROKIT_OK));
    if (rejoin_ms > 5000)
        fx_fail ("rejoined %lld ms after SIGCONT", rejoin_ms);
    s_finish_child (&frozen, "the thawed window");
    s_range_add (&s_stop_totals.left_ms, (double) left_ms);
    s_range_add (&s_stop_totals.rejoin_ms, (double) rejoin_ms);
    s_stop_totals.frozen_requests += (long) during.count;
    s_stop_totals.frozen_eclosed += fx_reqs_with (&during, PROKIT_ECLOSED);
    s_stop_totals.after_requests += (long) after.count;
    s_stop_totals.after_ok += fx_reqs_with (&after, PROKIT_OK);
    snprintf (line, size,
              "left %.2f s after SIGSTOP (%s); its %zu requests: %ld PROKIT_ECLOSED; rejoined "
              "%lld ms after SIGCONT; then %zu requests: %ld answered",
              left_ms / 1000.0, presence.reason, during.count,
              fx_reqs_with (&during, PROKIT_ECLOSED), rejoin_ms, after.count,
              fx_reqs_with (&after, PROKIT_OK));
done:
    if (stopped)
        kill (frozen.pid, SIGCONT);
    fx_discard (&frozen);
    fx_reqs_seal (&before);
    fx_reqs_seal (&during);
    fx_reqs_seal (&after);
    prokit_window_destroy (&asker);
    prokit_main_destroy (&main_handle);
    fx_reqs_free (&before);
    fx_reqs_free (&during);
    fx_reqs_free (&after);
    return fx_failures () == 0;
}

static void
s_sigstop_summary (char *line, size_t size)
{
    snprintf (line, size,
              "left %.2f-%.2f s after SIGSTOP; %ld requests to it: %ld PROKIT_ECLOSED; rejoined "
              "%.0f-%.0f ms after SIGCONT; %ld requests after: %ld answered",
              s_stop_totals.left_ms.min / 1000, s_stop_totals.left_ms.max / 1000,
              s_stop_totals.frozen_requests, s_stop_totals.frozen_eclosed,
              s_stop_totals.rejoin_ms.min, s_stop_totals.rejoin_ms.max,
              s_stop_totals.after_requests, s_stop_totals.after_ok);
}

//  --- name-race: many processes claim one name at once ------------------------------------------------

#define CLAIMANTS_MAX 64

static struct {
    long claimants, joined, eexist, other;
    range_t answered_ms;
} s_race_totals;

typedef struct race {
    fx_child_t *children;
    int count;
    char (*said)[64]; //  each one's line
    int answered;
} race_t;

static bool
s_race_answered (void *arg)
{
    race_t *race = (race_t *) arg;
    for (int i = 0; i < race->count; i++)
        if (!race->said[i][0] && fx_try_line (&race->children[i], race->said[i], 64))
            race->answered++;
    return race->answered == race->count;
}

static bool
s_name_race (const fx_config_t *cfg, char *line, size_t size)
{
    static fx_child_t children[CLAIMANTS_MAX];
    static char said[CLAIMANTS_MAX][64];
    int count = cfg->race_claimants < CLAIMANTS_MAX ? cfg->race_claimants : CLAIMANTS_MAX;
    char endpoint[256];
    prokit_main_t *main_handle = s_main_new (endpoint, sizeof (endpoint), 0, 0);
    if (!main_handle)
        return false;
    presence_t presence = { .name = "contested" };
    prokit_main_on_presence (main_handle, s_presence, &presence);
    tu_handle_t handles[] = { { main_handle, NULL } };
    int started = 0, fds[CLAIMANTS_MAX];
    int barrier[2] = { -1, -1 };
    race_t race = { children, 0, said, 0 };
    if (pipe2 (barrier, O_CLOEXEC) != 0) {
        fx_fail ("pipe: %s", strerror (errno));
        goto done;
    }
    const char *args[] = { "contested", endpoint, NULL };
    for (; started < count; started++) {
        if (!fx_spawn_role (&children[started], "claim", args, barrier[0])) {
            fx_fail ("could not start claimant %d", started);
            goto done;
        }
        fds[started] = children[started].out;
    }
    close (barrier[0]);
    barrier[0] = -1;
    //  Every claimant waits at the start line before it is opened.
    memset (said, 0, sizeof (said));
    race.count = count;
    if (!fx_pump (handles, 1, fds, (size_t) count, s_race_answered, &race, 30000)) {
        fx_fail ("%d of %d claimants reached the start line", race.answered, count);
        goto done;
    }
    for (int i = 0; i < count; i++)
        if (strcmp (said[i], "WAITING") != 0) {
            fx_fail ("claimant %d said \"%s\"", i, said[i]);
            goto done;
        }
    memset (said, 0, sizeof (said));
    race.answered = 0;
    close (barrier[1]); //  go
    barrier[1] = -1;
    int64_t started_at = fx_now_ms ();
    bool all = fx_pump (handles, 1, fds, (size_t) count, s_race_answered, &race, 40000);
    long long answered_ms = fx_now_ms () - started_at;
    if (!all)
        fx_fail ("%d of %d claimants answered within 40 s", race.answered, count);
    int joined = 0, eexist = 0, other = 0;
    for (int i = 0; i < count; i++) {
        if (strcmp (said[i], "JOINED") == 0)
            joined++;
        else if (strcmp (said[i], "REFUSED PROKIT_EEXIST") == 0)
            eexist++;
        else {
            other++;
            fx_fail ("claimant %d: \"%s\"", i, said[i]);
        }
    }
    if (joined != 1)
        fx_fail ("%d claimants got the name", joined);
    //  Main's view: one JOINED, one window.
    s_wait_count (handles, 1, &presence.joined, joined, 5000);
    fx_linger (handles, 1, 200);
    if (presence.joined != 1 || prokit_main_window_count (main_handle) != 1)
        fx_fail ("main heard %d JOINED and counts %zu windows", presence.joined,
                 prokit_main_window_count (main_handle));
    for (int i = 0; i < count; i++) {
        fx_close_input (&children[i]);
        if (!fx_reap (&children[i], 10000))
            fx_fail ("claimant %d did not end (killed)", i);
        else if (!WIFEXITED (children[i].status) ||
                 WEXITSTATUS (children[i].status) != (strcmp (said[i], "JOINED") == 0 ? 0 : 3)) {
            char how[32];
            s_describe_status (children[i].status, how, sizeof (how));
            fx_fail ("claimant %d (\"%s\") ended: %s", i, said[i], how);
        }
    }
    s_race_totals.claimants += count;
    s_race_totals.joined += joined;
    s_race_totals.eexist += eexist;
    s_race_totals.other += other;
    s_range_add (&s_race_totals.answered_ms, (double) answered_ms);
    snprintf (line, size,
              "%d processes claimed one name at once: %d joined, %d PROKIT_EEXIST, %d other; all "
              "answered %lld ms after the start",
              count, joined, eexist, other, answered_ms);
done:
    for (int i = 0; i < started; i++)
        fx_discard (&children[i]);
    for (int i = 0; i < 2; i++)
        if (barrier[i] >= 0)
            close (barrier[i]);
    prokit_main_destroy (&main_handle);
    return fx_failures () == 0;
}

static void
s_name_race_summary (char *line, size_t size)
{
    snprintf (line, size,
              "%ld claims: %ld joined, %ld PROKIT_EEXIST, %ld other; all answered %.0f-%.0f ms "
              "after the start",
              s_race_totals.claimants, s_race_totals.joined, s_race_totals.eexist,
              s_race_totals.other, s_race_totals.answered_ms.min, s_race_totals.answered_ms.max);
}

//  --- churn: windows come and go, half of them killed ---------------------------------------------

//  The churning main (roles.c, churn-main) is one process for the whole
//  run, so that its RSS is watched across every churn of the rotation.
static fx_child_t s_churner;
static bool s_churner_up;
static char s_churner_endpoint[256];

static struct {
    long windows, killed, requests, failed, hung, zombies, left_behind;
    double seconds;
    long rss_ready, rss_first, rss_last; //  at READY, after the first churn, after the last
} s_churn_totals;

static bool
s_churn (const fx_config_t *cfg, char *line, size_t size)
{
    char text[512];
    if (!s_churner_up) {
        fx_endpoint (s_churner_endpoint, sizeof (s_churner_endpoint));
        const char *args[] = { s_churner_endpoint, NULL };
        if (!fx_spawn_role (&s_churner, "churn-main", args, -1)) {
            fx_fail ("could not start the churning main");
            return false;
        }
        s_churner_up = true;
        if (!s_expect_line (&s_churner, "churn-main", "READY", text, sizeof (text), 10000, NULL, 0))
            return false;
        s_churn_totals.rss_ready = strtol (text + 6, NULL, 10);
    }
    snprintf (text, sizeof (text), "churn %d %d %d %u", cfg->churn_ms, cfg->churn_parallel,
              cfg->churn_requests, cfg->seed + (unsigned) s_churn_totals.windows);
    if (!fx_send_line (&s_churner, text)) {
        fx_fail ("the churning main is gone");
        return false;
    }
    if (!s_expect_line (&s_churner, "churn-main", "CHURN", text, sizeof (text),
                        cfg->churn_ms + 60000, NULL, 0))
        return false;
    int windows, killed, failed, hung, busy, children, zombies;
    long requests, rss_start, rss_end;
    if (sscanf (text,
                "CHURN windows=%d killed=%d requests=%ld failed=%d hung=%d busy=%d children=%d "
                "zombies=%d rss_start=%ld rss_end=%ld",
                &windows, &killed, &requests, &failed, &hung, &busy, &children, &zombies,
                &rss_start, &rss_end) != 10) {
        fx_fail ("churn-main said \"%s\"", text);
        return false;
    }
    if (failed)
        fx_fail ("%d windows failed (churn-main's stderr says how)", failed);
    if (hung)
        fx_fail ("%d windows hung past %d s", hung, 30);
    if (busy || children)
        fx_fail ("%d windows unfinished, %d processes left under main (%d zombies)", busy, children,
                 zombies);
    if (windows < cfg->churn_parallel)
        fx_fail ("only %d windows churned", windows);
    s_churn_totals.windows += windows;
    s_churn_totals.killed += killed;
    s_churn_totals.requests += requests;
    s_churn_totals.failed += failed;
    s_churn_totals.hung += hung;
    s_churn_totals.zombies += zombies;
    s_churn_totals.left_behind += children;
    s_churn_totals.seconds += cfg->churn_ms / 1000.0;
    if (!s_churn_totals.rss_first)
        s_churn_totals.rss_first = rss_end;
    s_churn_totals.rss_last = rss_end;
    snprintf (line, size,
              "%.0f s, %d at a time: %d windows (%d killed -9 mid-traffic), %ld requests "
              "answered, %d failed, %d hung, %d zombies; main's RSS %.1f -> %.1f MB",
              cfg->churn_ms / 1000.0, cfg->churn_parallel, windows, killed, requests, failed, hung,
              zombies, rss_start / 1024.0, rss_end / 1024.0);
    return fx_failures () == 0;
}

static void
s_churn_summary (char *line, size_t size)
{
    snprintf (line, size,
              "%.0f s of churn: %ld windows (%ld killed -9), %ld requests answered, %ld failed, "
              "%ld hung, %ld zombies; main's RSS %.1f MB at start, %.1f after the first churn, "
              "%.1f after the last",
              s_churn_totals.seconds, s_churn_totals.windows, s_churn_totals.killed,
              s_churn_totals.requests, s_churn_totals.failed, s_churn_totals.hung,
              s_churn_totals.zombies, s_churn_totals.rss_ready / 1024.0,
              s_churn_totals.rss_first / 1024.0, s_churn_totals.rss_last / 1024.0);
}

bool
fx_churn_running (void)
{
    return s_churner_up;
}

bool
fx_churn_finish (const fx_config_t *cfg)
{
    if (!s_churner_up)
        return true;
    bool held = true;
    long growth = s_churn_totals.rss_last - s_churn_totals.rss_first;
    if (cfg->long_mode && growth > cfg->churn_rss_max_kb) {
        printf ("churn: main's RSS grew %.1f MB between the first churn and the last (bound "
                "%.1f MB)\n",
                growth / 1024.0, cfg->churn_rss_max_kb / 1024.0);
        held = false;
    }
    fx_close_input (&s_churner);
    if (!fx_reap (&s_churner, 10000)) {
        printf ("churn: the churning main did not end within 10 s of being told (killed)\n");
        held = false;
    }
    else if (!WIFEXITED (s_churner.status) || WEXITSTATUS (s_churner.status) != 0) {
        printf ("churn: the churning main ended with wait status 0x%x\n", s_churner.status);
        held = false;
    }
    s_churner_up = false;
    fx_endpoint_remove (s_churner_endpoint);
    return held;
}

//  --- broker-restart: the broker restarted under traffic -----------------------------------------

#define BROKER_WINDOWS 4
#define BROKER_IN_FLIGHT 4 //  requests each window keeps waiting

typedef struct party {
    int lost, rejoined;
    int64_t rejoined_at;
} party_t;

static void
s_party_connection (prokit_connection_event_t event, int code, const char *text, void *arg)
{
    (void) code;
    (void) text;
    party_t *party = (party_t *) arg;
    if (event == PROKIT_CONNECTION_LOST)
        party->lost++;
    else if (event == PROKIT_CONNECTION_REJOINED) {
        party->rejoined++;
        party->rejoined_at = fx_now_ms ();
    }
    else
        fprintf (stderr, "broker-restart: rejoining refused: %s\n", text);
}

//  Main answers most requests at once, and keeps every third for 50 ms,
//  so that some are always waiting at main when the broker goes.
#define HELD_MAX 256
typedef struct broker_main {
    prokit_request_t *held[HELD_MAX];
    int64_t due[HELD_MAX];
    int count;
    long seen;
} broker_main_t;

static prokit_payload_t *
s_broker_serve (prokit_request_t *request, void *arg)
{
    broker_main_t *bm = (broker_main_t *) arg;
    if (++bm->seen % 3 == 0 && bm->count < HELD_MAX) {
        bm->due[bm->count] = fx_now_ms () + 50;
        bm->held[bm->count++] = prokit_request_defer (request);
        return NULL;
    }
    return prokit_request_take_payload (request);
}

static void
s_broker_answer_due (broker_main_t *bm, bool all)
{
    int64_t now = fx_now_ms ();
    int kept = 0;
    for (int i = 0; i < bm->count; i++) {
        if (!all && bm->due[i] > now) {
            bm->due[kept] = bm->due[i];
            bm->held[kept++] = bm->held[i];
            continue;
        }
        prokit_payload_t *payload = prokit_request_take_payload (bm->held[i]);
        int rc = prokit_request_reply (&bm->held[i], &payload);
        prokit_payload_destroy (&payload); //  not sent (main lost the broker): ours
        if (rc == PROKIT_EAGAIN) {
            prokit_request_fail (&bm->held[i], 0, "queue full");
        }
    }
    bm->count = kept;
}

typedef struct traffic {
    prokit_main_t *main;
    broker_main_t *bm;
    prokit_window_t *windows[BROKER_WINDOWS];
    fx_reqs_t *sets[BROKER_WINDOWS];
    party_t *parties; //  [0] main, then the windows
    bool asking;
    int want_lost, want_rejoined; //  for the waits
} traffic_t;

//  Keep every connected window's requests topped up, answer what main holds.
static void
s_traffic_step (traffic_t *traffic)
{
    s_broker_answer_due (traffic->bm, false);
    if (!traffic->asking)
        return;
    for (int i = 0; i < BROKER_WINDOWS; i++) {
        prokit_window_t *window = traffic->windows[i];
        fx_reqs_t *set = traffic->sets[i];
        if (!prokit_window_is_connected (window))
            continue;
        while (fx_reqs_pending (set) < BROKER_IN_FLIGHT) {
            char target[16];
            if (set->count % 2 == 0)
                snprintf (target, sizeof (target), "%s", PROKIT_MAIN);
            else
                snprintf (target, sizeof (target), "bw-%d", (i + 1) % BROKER_WINDOWS);
            if (fx_request (window, target, set, 20000) != PROKIT_OK)
                break;
        }
    }
}

static bool
s_traffic_until_time (void *arg)
{
    s_traffic_step ((traffic_t *) arg);
    return false;
}

static bool
s_traffic_all_lost (void *arg)
{
    traffic_t *traffic = (traffic_t *) arg;
    s_traffic_step (traffic);
    for (int i = 0; i <= BROKER_WINDOWS; i++)
        if (traffic->parties[i].lost < traffic->want_lost)
            return false;
    return true;
}

static bool
s_traffic_all_back (void *arg)
{
    traffic_t *traffic = (traffic_t *) arg;
    s_traffic_step (traffic);
    for (int i = 0; i <= BROKER_WINDOWS; i++)
        if (traffic->parties[i].rejoined < traffic->want_rejoined)
            return false;
    return prokit_main_window_count (traffic->main) == BROKER_WINDOWS;
}

static bool
s_traffic_settled (void *arg)
{
    traffic_t *traffic = (traffic_t *) arg;
    s_traffic_step (traffic);
    for (int i = 0; i < BROKER_WINDOWS; i++)
        if (fx_reqs_pending (traffic->sets[i]) > 0)
            return false;
    return true;
}

static bool
s_start_broker (fx_child_t *broker, const char *endpoint, tu_handle_t *handles, size_t count)
{
    char text[128];
    const char *args[] = { endpoint, NULL };
    if (!fx_spawn_role (broker, "broker", args, -1)) {
        fx_fail ("could not start the broker");
        return false;
    }
    return s_expect_line (broker, "broker", "READY", text, sizeof (text), 10000, handles, count);
}

static struct {
    int restarts, killed, terminated;
    range_t rejoin_ms;
    long requests, ok, eclosed, enotfound, timedout, other;
    long in_flight, in_flight_eclosed, in_flight_ok;
} s_broker_totals;

static bool
s_broker_restart (const fx_config_t *cfg, char *line, size_t size)
{
    char endpoint[256];
    fx_endpoint (endpoint, sizeof (endpoint));
    fx_child_t broker = { 0 };
    static broker_main_t bm;
    memset (&bm, 0, sizeof (bm));
    party_t parties[1 + BROKER_WINDOWS];
    memset (parties, 0, sizeof (parties));
    fx_reqs_t sets[BROKER_WINDOWS];
    traffic_t traffic = { 0 };
    traffic.bm = &bm;
    traffic.parties = parties;
    tu_handle_t handles[1 + BROKER_WINDOWS];
    memset (handles, 0, sizeof (handles));
    prokit_main_t *main_handle = NULL;
    int restarts = 0, killed = 0;
    range_t rejoin = { 0 };
    long in_flight = 0;
    for (int i = 0; i < BROKER_WINDOWS; i++) {
        char prefix[16];
        snprintf (prefix, sizeof (prefix), "bw%d-", i);
        fx_reqs_init (&sets[i], prefix, true);
        traffic.sets[i] = &sets[i];
    }
    if (!s_start_broker (&broker, endpoint, NULL, 0))
        goto done;
    prokit_main_opts_t opts;
    prokit_main_opts_init (&opts);
    opts.broker = endpoint;
    int error = PROKIT_OK;
    main_handle = prokit_main_new (&opts, &error);
    if (!main_handle) {
        fx_fail ("main could not attach to the broker: %s", prokit_error_name (error));
        goto done;
    }
    traffic.main = main_handle;
    prokit_main_on_request (main_handle, s_broker_serve, &bm);
    prokit_main_on_connection (main_handle, s_party_connection, &parties[0]);
    handles[0].main = main_handle;
    for (int i = 0; i < BROKER_WINDOWS; i++) {
        char name[16];
        snprintf (name, sizeof (name), "bw-%d", i);
        traffic.windows[i] = s_window_new (name, endpoint);
        if (!traffic.windows[i])
            goto done;
        prokit_window_on_request (traffic.windows[i], fx_echo, NULL);
        prokit_window_on_connection (traffic.windows[i], s_party_connection, &parties[1 + i]);
        handles[1 + i].window = traffic.windows[i];
    }
    size_t handle_count = 1 + BROKER_WINDOWS;
    if (!fx_pump (handles, handle_count, NULL, 0, s_traffic_all_back, &traffic, 5000)) {
        fx_fail ("main did not see the %d windows join", BROKER_WINDOWS);
        goto done;
    }
    int traffic_ms = cfg->long_mode ? 2000 : 700;
    int64_t ready_at = fx_now_ms ();
    traffic.asking = true;
    for (restarts = 0; restarts < cfg->broker_restarts; restarts++) {
        fx_pump (handles, handle_count, NULL, 0, s_traffic_until_time, &traffic, traffic_ms);
        //  What waits now must end with PROKIT_ECLOSED, never by the clock.
        for (int i = 0; i < BROKER_WINDOWS; i++)
            in_flight += (long) fx_reqs_mark (&sets[i]);
        bool by_kill = restarts % 2 == 0;
        kill (broker.pid, by_kill ? SIGKILL : SIGTERM);
        killed += by_kill;
        fx_reap (&broker, 5000);
        if (!by_kill && (!WIFEXITED (broker.status) || WEXITSTATUS (broker.status) != 0))
            fx_fail ("the broker ended with wait status 0x%x on SIGTERM", broker.status);
        traffic.want_lost = restarts + 1;
        if (!fx_pump (handles, handle_count, NULL, 0, s_traffic_all_lost, &traffic, 10000)) {
            fx_fail ("restart %d: not everyone noticed the broker go", restarts + 1);
            goto done;
        }
        if (!s_start_broker (&broker, endpoint, handles, handle_count))
            goto done;
        ready_at = fx_now_ms ();

        traffic.want_rejoined = restarts + 1;
        if (!fx_pump (handles, handle_count, NULL, 0, s_traffic_all_back, &traffic, 15000)) {
            fx_fail ("restart %d: main and the windows did not all rejoin within 15 s",
                     restarts + 1);
            goto done;
        }
        int64_t last = 0;
        for (int i = 0; i <= BROKER_WINDOWS; i++)
            if (parties[i].rejoined_at > last)
                last = parties[i].rejoined_at;

        s_range_add (&rejoin, (double) (last - ready_at));
    }
    fx_pump (handles, handle_count, NULL, 0, s_traffic_until_time, &traffic, traffic_ms);
    traffic.asking = false;
    //  Request deadlines are 20 s: an outcome by the clock would come after.
    if (!fx_pump (handles, handle_count, NULL, 0, s_traffic_settled, &traffic, 25000))
        fx_fail ("requests still waiting 25 s after the traffic stopped");
    fx_linger (handles, handle_count, 300);
    s_broker_answer_due (&bm, true);
    long requests = 0, ok = 0, eclosed = 0, enotfound = 0, timedout = 0, other = 0;
    long marked_eclosed = 0, marked_ok = 0, marked_other = 0;
    static const int allowed[] = { PROKIT_OK, PROKIT_ECLOSED, PROKIT_ENOTFOUND, 1 };
    for (int i = 0; i < BROKER_WINDOWS; i++) {
        fx_reqs_check (&sets[i], "broker-restart");
        requests += (long) sets[i].count;
        ok += fx_reqs_with (&sets[i], PROKIT_OK);
        eclosed += fx_reqs_with (&sets[i], PROKIT_ECLOSED);
        enotfound += fx_reqs_with (&sets[i], PROKIT_ENOTFOUND);
        timedout += fx_reqs_with (&sets[i], PROKIT_ETIMEDOUT);
        other += fx_reqs_other (&sets[i], allowed);
        for (size_t r = 0; r < sets[i].count; r++) {
            fx_req_t *req = fx_reqs_at (&sets[i], r);
            if (req->marked && req->outcomes) {
                if (req->status == PROKIT_ECLOSED)
                    marked_eclosed++;
                else if (req->status == PROKIT_OK)
                    marked_ok++; //  its answer was on its way already
                else
                    marked_other++;
            }
        }
    }
    if (other) {
        fx_fail ("%ld requests ended with an unexpected status (%ld timed out)", other, timedout);
        for (int i = 0; i < BROKER_WINDOWS; i++)
            for (size_t r = 0; r < sets[i].count; r++) {
                fx_req_t *req = fx_reqs_at (&sets[i], r);
                bool fine = false;
                for (const int *a = allowed; *a != 1; a++)
                    fine |= req->status == *a;
                if (!fine && req->outcomes)
                    fx_fail ("bw-%d's request %s%zu to %s, sent %lld ms after the last broker "
                             "started: %s after %lld ms",
                             i, sets[i].prefix, r, req->target,
                             (long long) (req->sent_ms - ready_at), prokit_error_name (req->status),
                             (long long) (req->at_ms - req->sent_ms));
            }
    }
    if (marked_other)
        fx_fail ("%ld requests in flight at a restart ended otherwise than PROKIT_ECLOSED (or "
                 "answered)",
                 marked_other);
    s_broker_totals.restarts += restarts;
    s_broker_totals.killed += killed;
    s_broker_totals.terminated += restarts - killed;
    if (rejoin.count) {
        s_range_add (&s_broker_totals.rejoin_ms, rejoin.min);
        s_range_add (&s_broker_totals.rejoin_ms, rejoin.max);
    }
    s_broker_totals.requests += requests;
    s_broker_totals.ok += ok;
    s_broker_totals.eclosed += eclosed;
    s_broker_totals.enotfound += enotfound;
    s_broker_totals.timedout += timedout;
    s_broker_totals.other += other;
    s_broker_totals.in_flight += in_flight;
    s_broker_totals.in_flight_eclosed += marked_eclosed;
    s_broker_totals.in_flight_ok += marked_ok;
    snprintf (line, size,
              "%d restarts (%d kill -9, %d SIGTERM): main and %d windows rejoined every time, in "
              "%.0f-%.0f ms; %ld requests: %ld answered, %ld PROKIT_ECLOSED, %ld "
              "PROKIT_ENOTFOUND (target not back yet), %ld timed out, %ld other; of the %ld in "
              "flight at the restarts, %ld ended PROKIT_ECLOSED, %ld answered (already on their "
              "way)",
              restarts, killed, restarts - killed, BROKER_WINDOWS, rejoin.min, rejoin.max, requests,
              ok, eclosed, enotfound, timedout, other, in_flight, marked_eclosed, marked_ok);
done:
    fx_discard (&broker);
    for (int i = 0; i < BROKER_WINDOWS; i++)
        fx_reqs_seal (&sets[i]);
    s_broker_answer_due (&bm, true);
    for (int i = 0; i < BROKER_WINDOWS; i++)
        prokit_window_destroy (&traffic.windows[i]);
    prokit_main_destroy (&main_handle);
    for (int i = 0; i < BROKER_WINDOWS; i++)
        fx_reqs_free (&sets[i]);
    fx_endpoint_remove (endpoint);
    return fx_failures () == 0;
}

static void
s_broker_summary (char *line, size_t size)
{
    snprintf (line, size,
              "%d restarts (%d kill -9, %d SIGTERM), everyone rejoined every time in %.0f-%.0f "
              "ms; %ld requests: %ld answered, %ld PROKIT_ECLOSED, %ld PROKIT_ENOTFOUND, %ld "
              "timed out, %ld other; of the %ld in flight at the restarts, %ld ended "
              "PROKIT_ECLOSED, %ld answered",
              s_broker_totals.restarts, s_broker_totals.killed, s_broker_totals.terminated,
              s_broker_totals.rejoin_ms.min, s_broker_totals.rejoin_ms.max,
              s_broker_totals.requests, s_broker_totals.ok, s_broker_totals.eclosed,
              s_broker_totals.enotfound, s_broker_totals.timedout, s_broker_totals.other,
              s_broker_totals.in_flight, s_broker_totals.in_flight_eclosed,
              s_broker_totals.in_flight_ok);
}

//  --- garbage: strangers throw garbage at main's endpoint ------------------------------------------

typedef struct one_way {
    long accepted;       //  sends that returned PROKIT_OK
    long refused;        //  sends that returned PROKIT_EAGAIN (nothing sent)
    long reported;       //  undelivered reports about the target
    long reported_other; //  reports about anyone else: there should be none
    const char *target;
} one_way_t;

static void
s_undelivered (const char *target, int code, const char *text, void *arg)
{
    (void) code;
    (void) text;
    one_way_t *path = (one_way_t *) arg;
    if (strcmp (target, path->target) == 0)
        path->reported++;
    else
        path->reported_other++;
}

static void
s_counted (const prokit_message_t *message, void *arg)
{
    (void) message;
    (*(long *) arg)++;
}

//  Main runs in a child here: garbage that brought it down would be this
//  case's failure, not the end of the suite.
typedef struct main_count {
    long accepted, refused, reported, other;
    size_t windows;
    unsigned long long foreign, malformed;
} main_count_t;

static bool
s_main_count (fx_child_t *main_child, tu_handle_t *handles, size_t count, main_count_t *out)
{
    char text[256];
    if (!fx_send_line (main_child, "count") ||
        !fx_read_line (main_child, text, sizeof (text), 5000, handles, count))
        return false;
    return sscanf (text,
                   "COUNT accepted=%ld refused=%ld reported=%ld other=%ld windows=%zu "
                   "foreign=%llu malformed=%llu",
                   &out->accepted, &out->refused, &out->reported, &out->other, &out->windows,
                   &out->foreign, &out->malformed) == 7;
}

//  Say which windows the router still lists besides the legitimate one,
//  and whether they leave within another minute.
static void
s_name_leftovers (prokit_window_t *window, fx_child_t *main_child, tu_handle_t *handles)
{
    prokit_window_info_t infos[16];
    size_t count = 0;
    if (prokit_window_list_windows (window, infos, 16, sizeof (infos[0]), &count, 5000) !=
        PROKIT_OK)
        return;
    struct timespec now;
    clock_gettime (CLOCK_REALTIME, &now);
    long long now_ms = (long long) now.tv_sec * 1000 + now.tv_nsec / 1000000;
    for (size_t i = 0; i < count && i < 16; i++)
        if (strcmp (infos[i].name, "legit") != 0)
            fx_fail ("still listed: '%s', joined %lld ms ago, last heard from %lld ms ago (%s)",
                     infos[i].name, now_ms - infos[i].joined_at_ms, now_ms - infos[i].last_seen_ms,
                     infos[i].address);
    main_count_t counted;
    int64_t since = fx_now_ms ();
    while (fx_now_ms () - since < 60000) {
        if (!s_main_count (main_child, handles, 1, &counted))
            return;
        if (counted.windows == 1) {
            fx_fail ("... gone %lld ms later", (long long) (fx_now_ms () - since));
            return;
        }
        fx_linger (handles, 1, 500);
    }
    fx_fail ("... still there a minute later");
}

typedef struct legit {
    prokit_window_t *window;
    fx_reqs_t *set;
    fx_child_t *garbage;
    char *said;
    bool asking;
} legit_t;

static void
s_legit_step (legit_t *legit)
{
    while (legit->asking && fx_reqs_pending (legit->set) < 8)
        if (fx_request (legit->window, PROKIT_MAIN, legit->set, 10000) != PROKIT_OK)
            break;
}

static bool
s_legit_until_garbage_done (void *arg)
{
    legit_t *legit = (legit_t *) arg;
    s_legit_step (legit);
    return fx_try_line (legit->garbage, legit->said, 512) || legit->garbage->eof;
}

static bool
s_legit_until_time (void *arg)
{
    s_legit_step ((legit_t *) arg);
    return false;
}

static bool
s_legit_settled (void *arg)
{
    return fx_reqs_pending (((legit_t *) arg)->set) == 0;
}

static struct {
    double seconds;
    long connections, messages, requests, answered, wrong, failed, accepted, received, reported;
    unsigned long long foreign, malformed;
} s_garbage_totals;

static bool
s_garbage (const fx_config_t *cfg, char *line, size_t size)
{
    char endpoint[256];
    fx_endpoint (endpoint, sizeof (endpoint));
    fx_child_t main_child = { 0 }, garbage = { 0 };
    prokit_window_t *window = NULL;
    long received = 0, from_strangers = 0;
    fx_reqs_t set;
    fx_reqs_init (&set, "legit-", true);
    static char said[512];
    said[0] = 0;
    tu_handle_t handles[] = { { NULL, NULL } };
    main_count_t counted;
    memset (&counted, 0, sizeof (counted));
    char ms[16], seed[16], text[128];
    snprintf (ms, sizeof (ms), "%d", cfg->garbage_ms);
    snprintf (seed, sizeof (seed), "%u", cfg->seed + (unsigned) s_garbage_totals.connections);
    const char *main_args[] = { endpoint, "legit", NULL };
    const char *garbage_args[] = { endpoint, ms, seed, NULL };
    if (!fx_spawn_role (&main_child, "main", main_args, -1) ||
        !s_expect_line (&main_child, "main", "READY", text, sizeof (text), 10000, NULL, 0))
        goto done;
    window = s_window_new ("legit", endpoint);
    if (!window)
        goto done;
    handles[0].window = window;
    prokit_window_on_main_message (window, s_counted, &received);
    prokit_window_on_window_message (window, s_counted, &from_strangers);
    legit_t legit = { window, &set, &garbage, said, true };
    if (!fx_spawn_role (&garbage, "garbage", garbage_args, -1)) {
        fx_fail ("could not start the garbage thrower");
        goto done;
    }
    int fds[] = { garbage.out, main_child.pidfd };
    bool thrown =
        fx_pump (handles, 1, fds, 2, s_legit_until_garbage_done, &legit, cfg->garbage_ms + 30000);
    struct pollfd gone = { main_child.pidfd, POLLIN, 0 };
    if (poll (&gone, 1, 0) > 0) {
        fx_reap (&main_child, 1000);
        char how[32];
        s_describe_status (main_child.status, how, sizeof (how));
        fx_fail ("main's process died under the garbage (%s): its stderr says how", how);
        goto done;
    }
    if (!thrown || strncmp (said, "GARBAGE ", 8) != 0) {
        fx_fail ("the garbage thrower did not finish (said \"%s\")", said);
        goto done;
    }
    //  Then a little more, to see that main is still itself.
    fx_pump (handles, 1, NULL, 0, s_legit_until_time, &legit, 1000);
    legit.asking = false;
    if (!fx_pump (handles, 1, NULL, 0, s_legit_settled, &legit, 15000))
        fx_fail ("the legitimate window's requests did not settle within 15 s");
    if (!fx_send_line (&main_child, "stop") ||
        !s_expect_line (&main_child, "main", "STOPPED", text, sizeof (text), 5000, handles, 1))
        goto done;
    //  Every message main's sends accepted is received or reported, and
    //  the strangers that joined left with their connections.
    int64_t deadline = fx_now_ms () + 15000;
    bool counted_ok = false;
    while (fx_now_ms () < deadline) {
        if (!s_main_count (&main_child, handles, 1, &counted)) {
            fx_fail ("main did not say its figures");
            goto done;
        }
        counted_ok = received + counted.reported >= counted.accepted && counted.windows == 1;
        if (counted_ok)
            break;
        fx_linger (handles, 1, 50);
    }
    fx_linger (handles, 1, 300); //  a message or a report too many would come now
    s_main_count (&main_child, handles, 1, &counted);
    fx_reqs_check (&set, "garbage");
    long answered = fx_reqs_with (&set, PROKIT_OK);
    if (answered != (long) set.done)
        fx_fail ("%ld of the legitimate window's requests failed", (long) set.done - answered);
    if (received + counted.reported != counted.accepted || counted.other)
        fx_fail ("main -> the legitimate window: %ld accepted, %ld received + %ld reported (%ld "
                 "reports about others)",
                 counted.accepted, received, counted.reported, counted.other);
    if (counted.windows != 1) {
        fx_fail ("main still counts %zu windows 15 s after the garbage ended", counted.windows);
        s_name_leftovers (window, &main_child, handles);
    }
    fx_reap (&garbage, 10000);
    if (!WIFEXITED (garbage.status) || WEXITSTATUS (garbage.status) != 0)
        fx_fail ("the garbage thrower ended with wait status 0x%x", garbage.status);
    long dealer, router, push, raw, zmtp, stranger, pub, flooder, idle, messages;
    if (sscanf (said,
                "GARBAGE dealer=%ld router=%ld push=%ld raw=%ld zmtp=%ld stranger=%ld pub=%ld "
                "flooder=%ld idle=%ld messages=%ld",
                &dealer, &router, &push, &raw, &zmtp, &stranger, &pub, &flooder, &idle,
                &messages) != 10) {
        fx_fail ("the garbage thrower said \"%s\"", said);
        goto done;
    }
    prokit_window_destroy (&window);
    s_finish_child (&main_child, "main");
    long connections = dealer + router + push + raw + zmtp + stranger + pub + idle + 1;
    s_garbage_totals.seconds += cfg->garbage_ms / 1000.0;
    s_garbage_totals.connections += connections;
    s_garbage_totals.messages += messages;
    s_garbage_totals.requests += (long) set.count;
    s_garbage_totals.answered += answered;
    s_garbage_totals.wrong += set.wrong;
    s_garbage_totals.failed += (long) set.done - answered;
    s_garbage_totals.accepted += counted.accepted;
    s_garbage_totals.received += received;
    s_garbage_totals.reported += counted.reported;
    s_garbage_totals.foreign += counted.foreign;
    s_garbage_totals.malformed += counted.malformed;
    snprintf (line, size,
              "%.0f s: %ld connections (%ld DEALER, %ld ROUTER, %ld PUSH, %ld raw, %ld ZMTP, %ld "
              "joined strangers, %ld to the PUB channel, %ld idle, 1 never reading) sent %ld "
              "messages; router: %llu foreign, %llu malformed; the legitimate window: %zu "
              "requests, %ld answered, %ld wrong, %ld failed; main -> it: %ld accepted = %ld "
              "received + %ld reported",
              cfg->garbage_ms / 1000.0, connections, dealer, router, push, raw, zmtp, stranger, pub,
              idle, messages, counted.foreign, counted.malformed, set.count, answered, set.wrong,
              (long) set.done - answered, counted.accepted, received, counted.reported);
done:
    fx_discard (&garbage);
    fx_reqs_seal (&set);
    prokit_window_destroy (&window);
    fx_discard (&main_child);
    fx_reqs_free (&set);
    fx_endpoint_remove (endpoint);
    return fx_failures () == 0;
}

static void
s_garbage_summary (char *line, size_t size)
{
    snprintf (line, size,
              "%.0f s of garbage: %ld connections, %ld messages; router: %llu foreign, %llu "
              "malformed; the legitimate window: %ld requests, %ld answered, %ld wrong, %ld "
              "failed; main -> it: %ld accepted = %ld received + %ld reported",
              s_garbage_totals.seconds, s_garbage_totals.connections, s_garbage_totals.messages,
              s_garbage_totals.foreign, s_garbage_totals.malformed, s_garbage_totals.requests,
              s_garbage_totals.answered, s_garbage_totals.wrong, s_garbage_totals.failed,
              s_garbage_totals.accepted, s_garbage_totals.received, s_garbage_totals.reported);
}

//  --- slow-window: a window that reads nothing for a while --------------------------------------

#define SLOW_PHASE_MAX 40000 //  sends each sender makes at most per phase

//  One stream of the flood: payloads numbered TAG and the count accepted so
//  far ("m", "b" or "w": the slow window checks each one's order). A
//  refused payload is still ours: it is sent again.
typedef struct slow_stream {
    char tag;
    long *accepted;
    long *refused; //  PROKIT_EAGAIN at the send
    long phase;    //  accepted in this phase
    prokit_payload_t *payload;
    const char *what;
} slow_stream_t;

typedef struct slow {
    prokit_main_t *main;
    prokit_window_t *feeder;
    one_way_t *from_main, *from_window;
    //  The window's counters: [0] main's messages and broadcasts, [1] the
    //  windows', [2] messages out of order (prokit-faults-role slow).
    volatile uint64_t *counts;
    long bcast_accepted, bcast_refused; //  main's broadcasts
    slow_stream_t by_name, bcast, window;
} slow_t;

//  STREAM's next payload, or NULL when its phase is full.
static prokit_payload_t **
s_slow_next (slow_stream_t *stream)
{
    if (stream->phase >= SLOW_PHASE_MAX)
        return NULL;
    if (!stream->payload)
        stream->payload = prokit_payload_new_printf ("%c%ld", stream->tag, *stream->accepted);
    return &stream->payload;
}

//  What STREAM's send returned (RC); true when it was accepted.
static bool
s_slow_sent (slow_stream_t *stream, int rc)
{
    if (rc == PROKIT_OK) {
        (*stream->accepted)++;
        stream->phase++;
        return true;
    }
    if (rc == PROKIT_EAGAIN)
        (*stream->refused)++;
    else
        fx_fail ("%s: %s", stream->what, prokit_error_name (rc));
    return false;
}

//  Send from all three as fast as they accept; wait on the descriptors
//  when none does.
static bool
s_slow_flow (void *arg)
{
    slow_t *slow = (slow_t *) arg;
    for (int burst = 0; burst < 256; burst++) {
        bool sent = false;
        prokit_payload_t **payload;
        if ((payload = s_slow_next (&slow->by_name)))
            sent |= s_slow_sent (&slow->by_name, prokit_main_send (slow->main, "slow", payload));
        if ((payload = s_slow_next (&slow->bcast)))
            sent |= s_slow_sent (&slow->bcast, prokit_main_broadcast (slow->main, payload));
        if ((payload = s_slow_next (&slow->window)))
            sent |= s_slow_sent (&slow->window, prokit_window_send (slow->feeder, "slow", payload));
        if (!sent)
            break;
    }
    return false;
}

static void
s_slow_phase (slow_t *slow, tu_handle_t *handles, int ms)
{
    slow->by_name.phase = slow->bcast.phase = slow->window.phase = 0;
    fx_pump (handles, 2, NULL, 0, s_slow_flow, slow, ms);
}

static bool
s_slow_accounted (void *arg)
{
    slow_t *slow = (slow_t *) arg;
    return (long) slow->counts[0] + slow->from_main->reported >=
               slow->from_main->accepted + slow->bcast_accepted &&
           (long) slow->counts[1] + slow->from_window->reported >= slow->from_window->accepted;
}

static struct {
    double stalled_s;
    int left;
    long main_accepted, main_received, main_reported, main_refused, window_refused;
    long bcast_accepted, bcast_refused;
    long window_accepted, window_received, window_reported;
} s_slow_totals;

static bool
s_slow_window (const fx_config_t *cfg, char *line, size_t size)
{
    char endpoint[256], path[128], text[128];
    snprintf (path, sizeof (path), "/tmp/prokit-faults-%d-slow.count", (int) getpid ());
    prokit_main_t *main_handle = s_main_new (endpoint, sizeof (endpoint), 0, 0);
    if (!main_handle)
        return false;
    presence_t presence = { .name = "slow" };
    prokit_main_on_presence (main_handle, s_presence, &presence);
    one_way_t from_main = { 0, 0, 0, 0, "slow" }, from_window = { 0, 0, 0, 0, "slow" };
    prokit_main_on_undelivered (main_handle, s_undelivered, &from_main);
    prokit_window_t *feeder = s_window_new ("feeder", endpoint);
    fx_child_t child = { 0 };
    volatile uint64_t *counts = NULL;
    fx_reqs_t sync;
    fx_reqs_init (&sync, "sync-", true);
    slow_t slow = {
        .main = main_handle,
        .feeder = feeder,
        .from_main = &from_main,
        .from_window = &from_window,
    };
    slow.by_name = (slow_stream_t){ .tag = 'm',
                                    .accepted = &from_main.accepted,
                                    .refused = &from_main.refused,
                                    .what = "main -> the slow window" };
    slow.bcast = (slow_stream_t){ .tag = 'b',
                                  .accepted = &slow.bcast_accepted,
                                  .refused = &slow.bcast_refused,
                                  .what = "main's broadcast" };
    slow.window = (slow_stream_t){ .tag = 'w',
                                   .accepted = &from_window.accepted,
                                   .refused = &from_window.refused,
                                   .what = "window -> the slow window" };
    tu_handle_t handles[] = { { main_handle, NULL }, { NULL, feeder } };
    const char *args[] = { "slow", endpoint, path, NULL };
    double stalled_s = 0;
    if (!feeder)
        goto done;
    prokit_window_on_undelivered (feeder, s_undelivered, &from_window);
    if (!fx_spawn_role (&child, "slow", args, -1) ||
        !s_expect_line (&child, "slow", "READY", text, sizeof (text), 10000, handles, 2))
        goto done;
    int fd = open (path, O_RDONLY);
    if (fd >= 0) {
        counts = (volatile uint64_t *) mmap (NULL, 24, PROT_READ, MAP_SHARED, fd, 0);
        close (fd);
    }
    if (!counts || counts == MAP_FAILED) {
        counts = NULL;
        fx_fail ("cannot map the slow window's counters");
        goto done;
    }
    slow.counts = counts;
    if (!s_wait_count (handles, 2, &presence.joined, 1, 5000)) {
        fx_fail ("main did not see the slow window join");
        goto done;
    }
    s_slow_phase (&slow, handles, 1000);
    fx_send_line (&child, "stall");
    if (!s_expect_line (&child, "slow", "STALLED", text, sizeof (text), 10000, handles, 2))
        goto done;
    int64_t stalled_at = fx_now_ms ();
    s_slow_phase (&slow, handles, cfg->slow_stall_ms);
    bool joined_through = presence.left == 0 && prokit_main_has_window (main_handle, "slow");
    fx_send_line (&child, "resume");
    if (!s_expect_line (&child, "slow", "RESUMED", text, sizeof (text), 10000, handles, 2))
        goto done;
    stalled_s = (fx_now_ms () - stalled_at) / 1000.0;
    if (!joined_through)
        fx_fail ("the slow window was dropped while it read nothing (%s)", presence.reason);
    s_slow_phase (&slow, handles, 1000);
    //  Settle: a request after the flood comes after every message of
    //  the feeder's, and so do the router's reports about them.
    fx_request (feeder, "slow", &sync, 30000);
    if (!s_wait_settled (handles, 2, &sync, 30000) || fx_reqs_with (&sync, PROKIT_OK) != 1)
        fx_fail ("the slow window did not answer after it resumed");
    if (!fx_pump (handles, 2, NULL, 0, s_slow_accounted, &slow, 30000))
        fx_fail ("accepted messages neither received nor reported 30 s after the flood");
    fx_linger (handles, 2, 500); //  a report or a message too many would come now
    fx_reqs_check (&sync, "slow-window (sync)");
    long main_received = (long) counts[0], window_received = (long) counts[1];
    long main_accepted = from_main.accepted + slow.bcast_accepted;
    if (main_received + from_main.reported != main_accepted)
        fx_fail ("main -> the slow window (messages and broadcasts): %ld accepted != %ld "
                 "received + %ld reported",
                 main_accepted, main_received, from_main.reported);
    if (counts[2])
        fx_fail ("the slow window received %llu messages out of order",
                 (unsigned long long) counts[2]);
    if (window_received + from_window.reported != from_window.accepted)
        fx_fail ("window -> the slow window: %ld accepted != %ld received + %ld reported",
                 from_window.accepted, window_received, from_window.reported);
    if (from_main.reported_other || from_window.reported_other)
        fx_fail ("reports about other windows: %ld, %ld", from_main.reported_other,
                 from_window.reported_other);
    if (presence.left)
        fx_fail ("the slow window left %d times", presence.left);
    s_finish_child (&child, "the slow window");
    s_slow_totals.stalled_s += stalled_s;
    s_slow_totals.left += presence.left;
    s_slow_totals.main_accepted += main_accepted;
    s_slow_totals.main_received += main_received;
    s_slow_totals.main_reported += from_main.reported;
    s_slow_totals.main_refused += from_main.refused;
    s_slow_totals.bcast_accepted += slow.bcast_accepted;
    s_slow_totals.bcast_refused += slow.bcast_refused;
    s_slow_totals.window_refused += from_window.refused;
    s_slow_totals.window_accepted += from_window.accepted;
    s_slow_totals.window_received += window_received;
    s_slow_totals.window_reported += from_window.reported;
    snprintf (line, size,
              "read nothing for %.1f s (heartbeat timeout 3 s): stayed joined (%d left), in order; "
              "main -> it: %ld accepted (%ld of them broadcasts) = %ld received + %ld reported "
              "(%ld PROKIT_EAGAIN at the send); window -> it: %ld accepted = %ld received + %ld "
              "reported undelivered (%ld PROKIT_EAGAIN at the send)",
              stalled_s, presence.left, main_accepted, slow.bcast_accepted, main_received,
              from_main.reported, from_main.refused + slow.bcast_refused, from_window.accepted,
              window_received, from_window.reported, from_window.refused);
done:
    fx_discard (&child);
    prokit_payload_destroy (&slow.by_name.payload);
    prokit_payload_destroy (&slow.bcast.payload);
    prokit_payload_destroy (&slow.window.payload);
    fx_reqs_seal (&sync);
    prokit_window_destroy (&feeder);
    prokit_main_destroy (&main_handle);
    fx_reqs_free (&sync);
    if (counts)
        munmap ((void *) counts, 24);
    unlink (path);
    return fx_failures () == 0;
}

static void
s_slow_summary (char *line, size_t size)
{
    snprintf (line, size,
              "read nothing for %.0f s in all, left %d times; main -> it: %ld accepted (%ld of "
              "them broadcasts) = %ld received + %ld reported (%ld PROKIT_EAGAIN at the send); "
              "window -> it: %ld accepted = %ld received + %ld reported (%ld PROKIT_EAGAIN at the "
              "send)",
              s_slow_totals.stalled_s, s_slow_totals.left, s_slow_totals.main_accepted,
              s_slow_totals.bcast_accepted, s_slow_totals.main_received,
              s_slow_totals.main_reported, s_slow_totals.main_refused + s_slow_totals.bcast_refused,
              s_slow_totals.window_accepted, s_slow_totals.window_received,
              s_slow_totals.window_reported, s_slow_totals.window_refused);
}

//  --- the list ------------------------------------------------------------------------------------

fx_case_t fx_cases[] = {
    { "kill9-inflight", "every request ends in exactly one outcome: a killed target's with ECLOSED",
      s_kill9, s_kill9_summary, 0, 0 },
    { "sigstop", "a frozen window leaves within about 4 s, and rejoins by itself once thawed",
      s_sigstop, s_sigstop_summary, 0, 0 },
    { "name-race", "names are unique: of simultaneous claims, one wins, the rest get EEXIST",
      s_name_race, s_name_race_summary, 0, 0 },
    { "churn", "windows come and go (half killed): no failure, no hang, no zombie, no growth",
      s_churn, s_churn_summary, 0, 0 },
    { "broker-restart", "a restarted broker: everyone rejoins, requests in flight end ECLOSED",
      s_broker_restart, s_broker_summary, 0, 0 },
    { "garbage", "garbage at the endpoint: a legitimate window is served, and served right",
      s_garbage, s_garbage_summary, 0, 0 },
    { "slow-window", "a window that reads nothing stays joined; accepted = received + reported",
      s_slow_window, s_slow_summary, 0, 0 },
};

const size_t fx_case_count = sizeof (fx_cases) / sizeof (fx_cases[0]);
