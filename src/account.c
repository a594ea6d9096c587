/*  account.c: main's account of what it sent through a router.

    See account.h. The arithmetic of account_settle(), per window W:

      * the last ACCOUNT said P of main's messages were published to W
        (numbered 1..P in main's session) and S of them are settled; R were
        reported since. The U = P - S - R unsettled ones are the newest:
        what W took in is a prefix of what its session was published, and
        what it confirmed is settled;
      * the same ACCOUNT said W's session on the channel (its token) had
        been published Q then. Both counts grow together while W stays in
        that session, so the session's Nth message is main's N + P - Q;
      * W, back, says that session took in C: main's messages up to
        number C + P - Q were received. Of the U, those up to it are not
        reported; beyond P, the oldest unhandled messages to W and
        broadcasts are W's next ones, and those it took in are not
        reported either.

    A broadcast still unhandled is reported (to "") unless every window
    with a session took it in. A window that does not come back, or comes
    back with another session, has everything reported, as before it could
    say anything.
*/
#include "account.h"

#include <czmq.h>
#include <string.h>

#include "log.h"
#include "prokit/error.h"
#include "proto.h"
#include "table.h"

//  Main's SENDs to TARGET (a broadcast: ""), ids FIRST to FIRST + COUNT - 1.
typedef struct run {
    char target[PROTO_NAME_MAX + 1];
    uint64_t first;
    uint64_t count;
} run_t;

//  What the router said of main's messages to one window, and what the
//  window said when it came back.
typedef struct entry {
    uint64_t published;
    uint64_t settled;
    uint64_t reported;
    bool session; //  the last ACCOUNT named its session on the channel:
    char token[PROTO_TOPIC_SIZE + 1];
    uint64_t session_published;
    enum { WAITING, BACK, GONE } state; //  while awaiting its word
    int64_t taken;                      //  BACK: main's messages up to this number were received
} entry_t;

struct account {
    zlistx_t *unhandled; //  run_t, oldest first
    uint64_t forgotten;  //  how many were taken off the front (handled)
    zhashx_t *windows;   //  name -> entry_t
    int64_t deadline;    //  awaiting the windows' word until then; 0: not
};

static void
s_free_item (void **item)
{
    free (*item);
    *item = NULL;
}

//  Runs are kept in the order of their ids.
static int
s_compare_runs (const void *a, const void *b)
{
    uint64_t first_a = ((const run_t *) a)->first, first_b = ((const run_t *) b)->first;
    return first_a < first_b ? -1 : first_a > first_b;
}

account_t *
account_new (void)
{
    account_t *self = (account_t *) calloc (1, sizeof (*self));
    if (!self)
        return NULL;
    self->unhandled = zlistx_new ();
    self->windows = zhashx_new ();
    if (!self->unhandled || !self->windows) {
        account_destroy (&self);
        return NULL;
    }
    zlistx_set_destructor (self->unhandled, s_free_item);
    zlistx_set_comparator (self->unhandled, s_compare_runs); //  in id order, for inserts
    zhashx_set_destructor (self->windows, s_free_item);
    return self;
}

void
account_destroy (account_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    account_t *self = *self_p;
    zlistx_destroy (&self->unhandled);
    zhashx_destroy (&self->windows);
    free (self);
    *self_p = NULL;
}

void
account_sent (account_t *self, const char *target, uint64_t id)
{
    if (!self)
        return;
    run_t *last = (run_t *) zlistx_last (self->unhandled);
    if (last && last->first + last->count == id && strcmp (last->target, target) == 0) {
        last->count++;
        return;
    }
    run_t *run = (run_t *) malloc (sizeof (*run));
    if (!run)
        return; //  a run short: at worst a report missed
    snprintf (run->target, sizeof (run->target), "%s", target);
    run->first = id;
    run->count = 1;
    zlistx_add_end (self->unhandled, run);
}

//  The COUNT oldest unhandled messages are accounted for now (handled).
static void
s_forget (account_t *self, uint64_t count)
{
    while (count > 0) {
        run_t *run = (run_t *) zlistx_first (self->unhandled);
        if (!run)
            return;
        uint64_t taken = run->count < count ? run->count : count;
        run->count -= taken;
        run->first += taken;
        self->forgotten += taken;
        count -= taken;
        if (run->count == 0)
            zlistx_delete (self->unhandled, zlistx_cursor (self->unhandled));
    }
}

void
account_refused (account_t *self, uint64_t id)
{
    if (!self)
        return;
    //  It alone is accounted for: it was handled (the next ACCOUNT's
    //  "handled" counts it) and reported.
    for (run_t *run = (run_t *) zlistx_first (self->unhandled); run;
         run = (run_t *) zlistx_next (self->unhandled)) {
        if (id < run->first)
            return; //  not here: an ACCOUNT counted it already
        uint64_t last = run->first + run->count - 1;
        if (id > last)
            continue;
        if (id == run->first) {
            run->first++;
            if (--run->count == 0)
                zlistx_delete (self->unhandled, zlistx_cursor (self->unhandled));
        }
        else if (id == last)
            run->count--;
        else {
            //  What follows it in the run becomes a run of its own. Out of
            //  memory, it stays unhandled: at worst reported twice.
            run_t *rest = (run_t *) malloc (sizeof (*rest));
            if (!rest)
                return;
            *rest = *run;
            rest->first = id + 1;
            rest->count = last - id;
            if (!zlistx_insert (self->unhandled, rest, false)) {
                free (rest);
                return;
            }
            run->count = id - run->first;
        }
        self->forgotten++;
        return;
    }
}

static entry_t *
s_entry (account_t *self, const char *name)
{
    return (entry_t *) table_item (&self->windows, name, sizeof (entry_t));
}

void
account_reported (account_t *self, const char *window, uint64_t count)
{
    entry_t *entry = self ? s_entry (self, window) : NULL;
    if (entry)
        entry->reported += count;
}

static void
s_on_window (const char *name, uint64_t published, uint64_t settled, void *arg)
{
    entry_t *entry = s_entry ((account_t *) arg, name);
    if (entry) {
        //  Reports before this ACCOUNT are in its figures; its session is
        //  said after (or it has none now).
        entry->published = published;
        entry->settled = settled;
        entry->reported = 0;
        entry->session = false;
    }
}

static void
s_on_session (const char *name, const char *token, uint64_t published, void *arg)
{
    entry_t *entry = (entry_t *) table_find (((account_t *) arg)->windows, name);
    if (entry) {
        entry->session = true;
        snprintf (entry->token, sizeof (entry->token), "%s", token);
        entry->session_published = published;
    }
}

int
account_update (account_t *self, const void *data, size_t size)
{
    if (!self)
        return PROKIT_OK;
    uint64_t handled;
    int rc = proto_account_decode (data, size, &handled, s_on_window, s_on_session, self);
    if (rc == PROKIT_OK && handled > self->forgotten)
        s_forget (self, handled - self->forgotten);
    return rc;
}

bool
account_await (account_t *self, int64_t deadline)
{
    bool waiting = false;
    for (entry_t *entry = self ? (entry_t *) zhashx_first (self->windows) : NULL; entry;
         entry = (entry_t *) zhashx_next (self->windows)) {
        entry->state = entry->session ? WAITING : GONE;
        waiting |= entry->session;
    }
    if (waiting)
        self->deadline = deadline;
    return waiting;
}

bool
account_window_back (account_t *self, const char *window, const char *token, uint64_t count)
{
    if (!self || !self->deadline)
        return false;
    entry_t *entry = (entry_t *) table_find (self->windows, window);
    if (entry && entry->state == WAITING) {
        if (strcmp (entry->token, token) == 0 && count < INT64_MAX) {
            entry->state = BACK;
            entry->taken =
                (int64_t) count + (int64_t) entry->published - (int64_t) entry->session_published;
        }
        else
            entry->state = GONE; //  another session: it cannot say
    }
    for (entry = (entry_t *) zhashx_first (self->windows); entry;
         entry = (entry_t *) zhashx_next (self->windows))
        if (entry->state == WAITING)
            return false;
    self->deadline = 1; //  nobody left to wait for: due now
    return true;
}

int64_t
account_deadline (const account_t *self)
{
    return self ? self->deadline : 0;
}

//  How many of the unsettled published messages ENTRY took in; *BEYOND:
//  how many it took in after those (handled after the last ACCOUNT).
static uint64_t
s_taken_published (const entry_t *entry, uint64_t unsettled, uint64_t *beyond)
{
    *beyond = 0;
    if (entry->state != BACK)
        return 0;
    int64_t published = (int64_t) entry->published;
    if (entry->taken > published)
        *beyond = (uint64_t) (entry->taken - published);
    int64_t from = published - (int64_t) unsettled; //  the first unsettled is from + 1
    int64_t upto = entry->taken < published ? entry->taken : published;
    return upto > from ? (uint64_t) (upto - from) : 0;
}

//  Up to COUNT of what ENTRY took in beyond the published, used up.
static uint64_t
s_take (entry_t *entry, uint64_t count)
{
    uint64_t took = (uint64_t) entry->taken < count ? (uint64_t) entry->taken : count;
    entry->taken -= (int64_t) took;
    return took;
}

void
account_settle (account_t *self, account_report_fn *fn, void *arg)
{
    if (!self)
        return;
    //  Per window: its unsettled published messages. What it took in
    //  beyond them stays in its TAKEN for the walk below.
    bool any_session = false, every_back = true;
    for (entry_t *entry = (entry_t *) zhashx_first (self->windows); entry;
         entry = (entry_t *) zhashx_next (self->windows)) {
        uint64_t settled = entry->settled + entry->reported;
        uint64_t unsettled = entry->published > settled ? entry->published - settled : 0;
        uint64_t beyond = 0;
        uint64_t taken = s_taken_published (entry, unsettled, &beyond);
        if (entry->state == BACK)
            log_info ("main: '%s' says it took in %llu of the %llu messages the router that went "
                      "had not settled, and %llu it handled after its last account",
                      (const char *) zhashx_cursor (self->windows), (unsigned long long) taken,
                      (unsigned long long) unsettled, (unsigned long long) beyond);
        else if (entry->session)
            log_info ("main: '%s' did not say what it took in of the %llu messages the router "
                      "that went had not settled: all are reported",
                      (const char *) zhashx_cursor (self->windows), (unsigned long long) unsettled);
        if (unsettled > taken)
            fn ((const char *) zhashx_cursor (self->windows), unsettled - taken,
                entry->state == BACK ? PROKIT_ECLOSED : PROKIT_EUNCONFIRMED,
                entry->state == BACK ? "not taken in before the router went away"
                                     : "not confirmed before the router went away",
                arg);
        any_session |= entry->session;
        if (entry->session && entry->state != BACK)
            every_back = false;
        entry->taken = (int64_t) beyond;
    }
    //  The unhandled, in order: a window's next messages after the
    //  published are these, to it or to all.
    for (run_t *run = (run_t *) zlistx_first (self->unhandled); run;
         run = (run_t *) zlistx_next (self->unhandled)) {
        uint64_t received;
        //  Certain only when the windows said what they took in: the
        //  router may have handled some after its last ACCOUNT.
        bool said;
        if (run->target[0]) {
            entry_t *entry = (entry_t *) table_find (self->windows, run->target);
            received = entry ? s_take (entry, run->count) : 0;
            said = entry && entry->state == BACK;
        }
        else {
            //  A broadcast is received when every window took it in.
            said = any_session && every_back;
            received = said ? run->count : 0;
            for (entry_t *entry = (entry_t *) zhashx_first (self->windows); entry;
                 entry = (entry_t *) zhashx_next (self->windows)) {
                if (!entry->session)
                    continue; //  not on the channel: broadcasts do not reach it
                uint64_t took = s_take (entry, run->count);
                if (took < received)
                    received = took;
            }
        }
        if (run->count > received)
            fn (run->target, run->count - received, said ? PROKIT_ECLOSED : PROKIT_EUNCONFIRMED,
                run->target[0] ? "not handled before the router went away"
                               : "broadcast not handled before the router went away",
                arg);
    }
    zlistx_purge (self->unhandled);
    zhashx_purge (self->windows);
    self->forgotten = 0;
    self->deadline = 0;
}
