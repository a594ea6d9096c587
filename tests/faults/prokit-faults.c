/*  prokit-faults: the fault suite. Runs prokit's failure cases with real
    processes (this program again, in child roles) and checks the counting
    rule: every request ends in exactly one outcome, before its deadline,
    and for every one-way path accepted = received + reported undelivered;
    plus no hang, no zombie, and (long mode) no growth of a churning
    main's memory.

    prokit-faults --short               every case once, scaled down (< 1 min)
    prokit-faults --minutes N           the cases in rotation for N minutes,
                                        at full scale, then the totals
    prokit-faults --case NAME[,NAME]    only these (repeatable); --list names them
    prokit-faults --seed N              the random choices of a run, again
    prokit-faults --stall S             slow-window's window reads nothing for S s
    prokit-faults --verbose             the library's warnings, all of them

    Prints one line of figures per case run; exits 1 when a promise failed
    (each failure said on a line "  FAIL: ..."), 2 on a usage error.
    docs/RELIABILITY.md has the promises and this machine's figures.
*/
#include "faults.h"

static void
s_usage (FILE *out)
{
    fprintf (out,
             "Usage: prokit-faults [--short | --minutes N] [--case NAME[,NAME]]... [--seed N]\n"
             "                     [--stall S] [--verbose] [--list]\n"
             "Run prokit's fault cases and check its promises (docs/RELIABILITY.md).\n"
             "  --short        every case once, scaled down: under a minute (the default)\n"
             "  --minutes N    the cases in rotation for N minutes at full scale, then totals\n"
             "  --case NAME    only this case (repeat, or separate names with commas)\n"
             "  --seed N       the seed of the random choices (printed at the start)\n"
             "  --stall S      slow-window: the window reads nothing for S seconds\n"
             "                 (default 5, 20 with --minutes)\n"
             "  --verbose      show every warning the library logs\n"
             "  --list         the cases and what each checks\n"
             "Exit status: 0 every promise held, 1 one failed, 2 usage error.\n");
}

static fx_case_t *
s_find (const char *name)
{
    for (size_t i = 0; i < fx_case_count; i++)
        if (strcmp (fx_cases[i].name, name) == 0)
            return &fx_cases[i];
    return NULL;
}

static void
s_config (fx_config_t *cfg, bool long_mode)
{
    cfg->long_mode = long_mode;
    cfg->kill_requests = 1000;
    cfg->stop_requests = 100;
    cfg->race_claimants = 50;
    cfg->churn_parallel = 4;
    cfg->churn_requests = 100;
    cfg->churn_ms = long_mode ? 60000 : 10000;
    cfg->broker_restarts = long_mode ? 5 : 2;
    cfg->garbage_ms = long_mode ? 20000 : 3000;
    cfg->slow_stall_ms = long_mode ? 20000 : 5000;
    cfg->churn_rss_max_kb = 2048;
}

int
main (int argc, char *argv[])
{
    if (argc >= 3 && strcmp (argv[1], "--role") == 0)
        return fx_role (argv[2], argc - 3, argv + 3);

    bool chosen[32] = { false };
    bool any_chosen = false, verbose = false, have_seed = false;
    double minutes = 0, stall_s = 0;
    unsigned seed = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        bool has_value = i + 1 < argc;
        if (strcmp (arg, "--short") == 0)
            minutes = 0;
        else if (strcmp (arg, "--minutes") == 0 && has_value) {
            minutes = strtod (argv[++i], NULL);
            if (minutes <= 0) {
                fprintf (stderr, "prokit-faults: --minutes wants a positive number\n");
                return 2;
            }
        }
        else if (strcmp (arg, "--case") == 0 && has_value) {
            char names[256];
            snprintf (names, sizeof (names), "%s", argv[++i]);
            for (char *save = NULL, *name = strtok_r (names, ",", &save); name;
                 name = strtok_r (NULL, ",", &save)) {
                fx_case_t *found = s_find (name);
                if (!found) {
                    fprintf (stderr, "prokit-faults: no case '%s' (--list names them)\n", name);
                    return 2;
                }
                chosen[found - fx_cases] = any_chosen = true;
            }
        }
        else if (strcmp (arg, "--seed") == 0 && has_value) {
            seed = (unsigned) strtoul (argv[++i], NULL, 10);
            have_seed = true;
        }
        else if (strcmp (arg, "--stall") == 0 && has_value) {
            stall_s = strtod (argv[++i], NULL);
            if (stall_s <= 0 || stall_s > 3600) {
                fprintf (stderr,
                         "prokit-faults: --stall wants seconds, more than 0, at most 3600\n");
                return 2;
            }
        }
        else if (strcmp (arg, "--verbose") == 0)
            verbose = true;
        else if (strcmp (arg, "--list") == 0) {
            for (size_t c = 0; c < fx_case_count; c++)
                printf ("%-15s %s\n", fx_cases[c].name, fx_cases[c].promise);
            return 0;
        }
        else if (strcmp (arg, "--help") == 0 || strcmp (arg, "-h") == 0) {
            s_usage (stdout);
            return 0;
        }
        else {
            fprintf (stderr, "prokit-faults: unknown or incomplete option '%s'\n", arg);
            s_usage (stderr);
            return 2;
        }
    }
    if (!fx_self ()) {
        fprintf (stderr, "prokit-faults: cannot find my own program (/proc/self/exe)\n");
        return 1;
    }
    signal (SIGPIPE, SIG_IGN);
    fx_config_t cfg;
    memset (&cfg, 0, sizeof (cfg));
    s_config (&cfg, minutes > 0);
    if (stall_s > 0)
        cfg.slow_stall_ms = (int) (stall_s * 1000);
    cfg.verbose = verbose;
    cfg.seed = have_seed ? seed : (unsigned) time (NULL) ^ (unsigned) getpid ();
    fx_log_install (verbose, NULL);
    if (verbose)
        setenv ("PROKIT_FAULTS_VERBOSE", "1", 1); //  for the children
    size_t selected = 0;
    for (size_t c = 0; c < fx_case_count; c++)
        selected += !any_chosen || chosen[c];
    if (cfg.long_mode)
        printf ("prokit-faults: long mode, %g minutes, %zu cases in rotation, seed %u\n", minutes,
                selected, cfg.seed);
    else
        printf ("prokit-faults: short mode, %zu cases, seed %u\n", selected, cfg.seed);
    fflush (stdout);

    int64_t started = fx_now_ms ();
    int64_t end = started + (int64_t) (minutes * 60000);
    int runs = 0, failed = 0, round = 0;
    long rss_after_first = -1;
    do {
        round++;
        for (size_t c = 0; c < fx_case_count; c++) {
            fx_case_t *fc = &fx_cases[c];
            if (any_chosen && !chosen[c])
                continue;
            if (cfg.long_mode && fx_now_ms () >= end)
                break;
            fx_failures_reset ();
            fx_log_reset ();
            char line[1024] = "";
            int64_t case_started = fx_now_ms ();
            fc->run (&cfg, line, sizeof (line));
            //  Every process a case started is gone (the churning main stays).
            int zombies = 0;
            int left = fx_children (&zombies) - (fx_churn_running () ? 1 : 0);
            if (left > 0)
                fx_fail ("%d processes left behind (%d zombies)", left, zombies);
            bool ok = fx_failures () == 0;
            fc->runs++;
            fc->failed += !ok;
            runs++;
            failed += !ok;
            int64_t elapsed = fx_now_ms () - case_started;
            if (cfg.long_mode) {
                int64_t at = (case_started - started) / 1000;
                printf ("[round %d, %d:%02d] ", round, (int) (at / 60), (int) (at % 60));
            }
            printf ("%s: %s%s (%.1f s", fc->name,
                    ok ? "" : "FAILED: ", line[0] ? line : "(no figures)", elapsed / 1000.0);
            if (fx_log_warnings ())
                printf ("; %d library warnings", fx_log_warnings ());
            printf (")\n");
            fflush (stdout);
        }
        if (round == 1)
            rss_after_first = fx_rss_kb (getpid ());
    } while (cfg.long_mode && fx_now_ms () < end);

    fx_failures_reset ();
    if (!fx_churn_finish (&cfg)) {
        s_find ("churn")->failed++;
        failed++;
    }
    double took = (fx_now_ms () - started) / 1000.0;
    if (cfg.long_mode) {
        printf ("summary: %d rounds in %.1f minutes\n", round, took / 60);
        for (size_t c = 0; c < fx_case_count; c++) {
            fx_case_t *fc = &fx_cases[c];
            if (!fc->runs)
                continue;
            char line[1024];
            fc->summary (line, sizeof (line));
            printf ("  %s (%d runs, %d failed): %s\n", fc->name, fc->runs, fc->failed, line);
        }
        printf ("  this process (main of the other cases): RSS %.1f MB after the first round, "
                "%.1f MB at the end\n",
                rss_after_first / 1024.0, fx_rss_kb (getpid ()) / 1024.0);
    }
    printf ("prokit-faults: %d runs, %d failed, in %.1f s\n", runs, failed, took);
    return failed ? 1 : 0;
}
