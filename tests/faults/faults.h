/*  faults.h: what the fault suite's files share.

    prokit-faults.c   the driver: options, the rotation, the summary
    cases.c           the cases, each one line of figures
    roles.c           the processes the cases start (this program again,
                      run with --role): windows, a churning main, a broker
    garbage.c         the role that throws garbage at an endpoint
    proc.c            children (posix_spawn, pidfds, lines on a pipe),
                      waiting on events with deadlines, requests counted

    Every wait is on a descriptor with a deadline: a child's output, a
    pidfd, a handle's descriptor. Nothing sleeps to let something happen.
*/
#ifndef PROKIT_FAULTS_H_INCLUDED
#define PROKIT_FAULTS_H_INCLUDED

//  First in every file of the suite: pipe2(), signalfd() and the like.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <prokit.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "testutil.h"

//  --- the run's settings ----------------------------------------------------

typedef struct fx_config {
    bool long_mode;
    bool verbose;
    unsigned seed;
    int kill_requests;    //  kill9-inflight: requests in flight at the kill
    int stop_requests;    //  sigstop: requests sent to the frozen window
    int race_claimants;   //  name-race: processes claiming one name
    int churn_ms;         //  churn: how long windows come and go
    int churn_parallel;   //  churn: windows at a time
    int churn_requests;   //  churn: requests each window makes
    int broker_restarts;  //  broker-restart: restarts per run
    int garbage_ms;       //  garbage: how long it is thrown
    int slow_stall_ms;    //  slow-window: how long the window reads nothing
    int churn_rss_max_kb; //  long mode: most main's RSS may grow over the run
} fx_config_t;

//  --- failures ---------------------------------------------------------------

//  Say why the case running now fails ("  FAIL: ..."); the case is then
//  counted failed and the program exits non-zero.
void fx_fail (const char *format, ...) __attribute__ ((format (printf, 1, 2)));
//  Failures said since the last fx_failures_reset().
int fx_failures (void);
void fx_failures_reset (void);

//  Diagnostics of the library in this process: errors said on stderr,
//  warnings counted (and said too when VERBOSE), each line prefixed with
//  WHO (a role's name; NULL: none). Children learn VERBOSE from
//  $PROKIT_FAULTS_VERBOSE.
void fx_log_install (bool verbose, const char *who);
int fx_log_warnings (void);
void fx_log_reset (void);

//  --- time and endpoints ---------------------------------------------------------

static inline int64_t
fx_now_ms (void)
{
    return tu_now_ms ();
}

//  A fresh ipc endpoint of this process; the socket files are removed by
//  whoever binds it, or by fx_endpoint_remove() after a kill.
void fx_endpoint (char *out, size_t size);
void fx_endpoint_remove (const char *endpoint);

//  --- children -----------------------------------------------------------------

typedef struct fx_child {
    pid_t pid;
    int pidfd; //  readable once it ended; -1 once reaped
    int in;    //  write end of its stdin (-1 once closed): EOF tells it to go
    int out;   //  read end of its stdout
    char buffer[4096];
    size_t used;
    bool eof;
    int status; //  wait status, once reaped
} fx_child_t;

//  This program's own path, for starting it again in a role.
const char *fx_self (void);

//  Start this program as "--role ROLE ARGS..." (ARGS NULL-terminated).
//  BARRIER >= 0 becomes the child's descriptor 3. False if it could not
//  be started (said on stderr).
bool fx_spawn_role (fx_child_t *child, const char *role, const char *const *args, int barrier);

//  Take one whole line of the child's output if there is one (no wait).
bool fx_try_line (fx_child_t *child, char *line, size_t size);

//  Wait for one line of output, dispatching HANDLES meanwhile. False on
//  timeout or end of output.
bool fx_read_line (fx_child_t *child, char *line, size_t size, int timeout_ms, tu_handle_t *handles,
                   size_t count);

//  Write LINE and a newline to the child's stdin.
bool fx_send_line (fx_child_t *child, const char *line);

//  Close the child's stdin: the roles take that as "leave now".
void fx_close_input (fx_child_t *child);

//  Wait for the child to end, at most TIMEOUT_MS (on its pidfd), and reap
//  it. Past the deadline it is killed (-9) and reaped, and false returned.
bool fx_reap (fx_child_t *child, int timeout_ms);

//  True when the child has ended (reaped or not), with its wait status in
//  *STATUS; it is left to fx_reap().
bool fx_ended (fx_child_t *child, int *status);

//  Kill and reap, for cleaning up after a failure. Safe on a reaped child.
void fx_discard (fx_child_t *child);

//  Processes whose parent is this one, and how many of them are zombies.
int fx_children (int *zombies);

//  Resident set size of a process, in kB (-1 if unknown).
long fx_rss_kb (pid_t pid);

//  --- waiting -------------------------------------------------------------------

typedef bool (fx_done_fn) (void *arg);

//  Dispatch HANDLES until DONE(arg) or TIMEOUT_MS, waking on their
//  descriptors and on FDS (children's output, for instance). Returns DONE's
//  last value.
bool fx_pump (tu_handle_t *handles, size_t count, const int *fds, size_t fd_count, fx_done_fn *done,
              void *arg, int timeout_ms);

//  Dispatch HANDLES for TIMEOUT_MS whatever happens: a window in which an
//  outcome that should not come (a second one) would show.
void fx_linger (tu_handle_t *handles, size_t count, int timeout_ms);

//  --- requests, counted ----------------------------------------------------------

//  One request made: its outcomes, counted. A request has exactly one.
typedef struct fx_req {
    struct fx_reqs *set;
    uint32_t index;
    uint16_t outcomes;
    int16_t status;  //  its first outcome's
    bool marked;     //  still waiting at a moment that matters (fx_reqs_mark())
    char target[14]; //  whom it asked (cut short), for the failure lines
    int64_t sent_ms; //  when it was sent
    int64_t at_ms;   //  when its first outcome came
} fx_req_t;

#define FX_CHUNK 4096
#define FX_STATUSES 32

//  A set of requests whose outcomes are counted. Each request's payload is
//  "PREFIX<index>"; with CHECK_ECHO, a reply must be that payload and come
//  from the target asked (an echo), else it counts as wrong.
typedef struct fx_reqs {
    fx_req_t **chunks;
    size_t chunk_count;
    size_t count;                //  requests made (the send returned PROKIT_OK)
    size_t done;                 //  with an outcome
    long by_status[FX_STATUSES]; //  first outcomes, by -status
    long twice;                  //  outcomes beyond the first
    long wrong;                  //  replies that were not the echo asked for
    long late;                   //  outcomes after fx_reqs_seal()
    long refused;                //  sends that returned an error (not requests)
    bool sealed;
    bool check_echo;
    char prefix[32];
    int64_t last_at; //  when the last first outcome came
} fx_reqs_t;

void fx_reqs_init (fx_reqs_t *set, const char *prefix, bool check_echo);
void fx_reqs_free (fx_reqs_t *set);

//  Send one request of the set from WINDOW to TARGET with TIMEOUT_MS.
//  Returns the send's status; only PROKIT_OK makes a request.
int fx_request (prokit_window_t *window, const char *target, fx_reqs_t *set, int timeout_ms);

//  Requests still waiting for their outcome.
static inline size_t
fx_reqs_pending (const fx_reqs_t *set)
{
    return set->count - set->done;
}

static inline long
fx_reqs_with (const fx_reqs_t *set, int status)
{
    return -status >= 0 && -status < FX_STATUSES ? set->by_status[-status] : 0;
}

//  Request INDEX (below set->count).
static inline fx_req_t *
fx_reqs_at (const fx_reqs_t *set, size_t index)
{
    return &set->chunks[index / FX_CHUNK][index % FX_CHUNK];
}

//  Mark the requests still waiting for their outcome; returns how many.
size_t fx_reqs_mark (fx_reqs_t *set);

//  From now on outcomes are late (counted, and a failure): call it when
//  the deadline for them has passed, before destroying the window.
static inline void
fx_reqs_seal (fx_reqs_t *set)
{
    set->sealed = true;
}

//  First outcomes other than the statuses given (a list ending with 1).
long fx_reqs_other (const fx_reqs_t *set, const int *allowed);

//  Check the counting rule on the set and say what breaks it: no outcome,
//  two, a wrong reply, a late one. Returns true when it holds.
bool fx_reqs_check (const fx_reqs_t *set, const char *what);

//  A request handler that answers with the request's own payload.
prokit_payload_t *fx_echo (prokit_request_t *request, void *arg);

//  --- the cases -----------------------------------------------------------------

//  Each runs once and writes its line of figures into LINE; the figures
//  also go into the case's totals, for the long mode's summary. Returns
//  true if every promise held.
typedef struct fx_case {
    const char *name;
    const char *promise;
    bool (*run) (const fx_config_t *cfg, char *line, size_t size);
    void (*summary) (char *line, size_t size); //  totals over the runs so far
    int runs;
    int failed;
} fx_case_t;

extern fx_case_t fx_cases[];
extern const size_t fx_case_count;

//  The churning main lives across the rotation (its RSS is watched over
//  the whole run): started at the first churn, ended by fx_churn_finish(),
//  which checks its RSS growth in long mode and that it ends cleanly.
bool fx_churn_running (void);
bool fx_churn_finish (const fx_config_t *cfg);

//  --- roles ----------------------------------------------------------------------

//  Run this program as ROLE (argv after "--role ROLE"); returns the exit status.
int fx_role (const char *role, int argc, char **argv);
int fx_garbage (int argc, char **argv);

#endif
