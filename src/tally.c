/*  tally.c: a window's tallies of what it sent each window. See tally.h.

    The arithmetic of tallies_took(), for window W: the last RECEIPT said
    the router queued Q of our SENDs to W and that W's session had been
    queued QS of them, counted together; both grow together while W stays
    in the session, so its Nth SEND from us is our N + Q - QS. W says the
    session took in C: ours up to C + Q - QS were received, of which the
    router confirmed CONFIRMED. What was sent and neither confirmed nor
    reported, less those, is what W never took in.

    With no RECEIPT about W at all, and W's first SEND from us in its
    session our first to W (FIRST_ID): every SEND of ours the router
    queued to W went to that session, so Q = QS and ours up to C were
    received. Were the first refused (an ERROR about it), W's first could
    not be it: such a TOOK speaks of another sender's SENDs under our name
    (an earlier process), and is not taken.
*/
#include "tally.h"

#include <czmq.h>
#include <string.h>

#include "log.h"
#include "prokit/error.h"
#include "proto.h"
#include "table.h"

typedef struct tally {
    uint64_t sent;
    uint64_t confirmed; //  taken in, said the router (RECEIPT)
    uint64_t reported;  //  not delivered, said the router (ERROR)
    uint64_t first_id;  //  our first SEND to the window
    bool first_refused; //  an ERROR was about it
    bool heard;         //  a RECEIPT was about the window
    bool session;       //  the last RECEIPT named the window's session:
    char token[PROTO_TOPIC_SIZE + 1];
    uint64_t queued;
    uint64_t session_queued;
} tally_t;

struct tallies {
    zhashx_t *windows; //  name -> tally_t
    int64_t deadline;  //  waiting for TOOK until then; 0: not
};

static void
s_free_name (void **item)
{
    free (*item);
    *item = NULL;
}

tallies_t *
tallies_new (void)
{
    //  Its table is made with the first tally (table.h).
    return (tallies_t *) calloc (1, sizeof (tallies_t));
}

void
tallies_destroy (tallies_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zhashx_destroy (&(*self_p)->windows);
    free (*self_p);
    *self_p = NULL;
}

static tally_t *
s_tally (tallies_t *self, const char *window, bool make)
{
    if (!self)
        return NULL;
    return (tally_t *) (make ? table_item (&self->windows, window, sizeof (tally_t))
                             : table_find (self->windows, window));
}

void
tallies_sent (tallies_t *self, const char *window, uint64_t id)
{
    tally_t *tally = s_tally (self, window, true);
    if (tally && tally->sent++ == 0)
        tally->first_id = id;
}

void
tallies_reported (tallies_t *self, const char *window, uint64_t count, uint64_t id)
{
    tally_t *tally = s_tally (self, window, false);
    if (tally) {
        tally->reported += count;
        tally->first_refused |= id != 0 && id == tally->first_id;
    }
}

void
tallies_confirmed (tallies_t *self, const char *window, uint64_t count)
{
    tally_t *tally = s_tally (self, window, false);
    if (tally && count > tally->confirmed)
        tally->confirmed = count;
    if (tally) {
        tally->heard = true;
        tally->session = false; //  said again after, if the RECEIPT names it
    }
}

void
tallies_session (tallies_t *self, const char *window, uint64_t queued, const char *token,
                 uint64_t session_queued)
{
    tally_t *tally = s_tally (self, window, false);
    if (tally) {
        tally->session = true;
        snprintf (tally->token, sizeof (tally->token), "%s", token);
        tally->queued = queued;
        tally->session_queued = session_queued;
    }
}

//  Can the window say what it took in of TALLY's SENDs? If the last RECEIPT
//  named its session, or none came at all.
static bool
s_can_say (const tally_t *tally)
{
    return tally->session || !tally->heard;
}

//  What TALLY has neither seen confirmed nor reported.
static uint64_t
s_missing (const tally_t *tally)
{
    uint64_t settled = tally->confirmed + tally->reported;
    return tally->sent > settled ? tally->sent - settled : 0;
}

//  Report COUNT to WINDOW: PROKIT_ECLOSED when WINDOW said it did not take
//  them in (SAID), else PROKIT_EUNCONFIRMED.
static void
s_report (const char *window, uint64_t count, bool said, tallies_report_fn *fn, void *arg)
{
    if (count > 0)
        fn (window, count, said ? PROKIT_ECLOSED : PROKIT_EUNCONFIRMED,
            said ? "not taken in before the router went away"
                 : "not confirmed before the router went away",
            arg);
}

bool
tallies_await (tallies_t *self, int64_t deadline, tallies_report_fn *fn, void *arg)
{
    if (!self || !self->windows)
        return false;
    //  Reported first, then taken out (not while iterating the table).
    zlistx_t *done = zlistx_new ();
    if (done)
        zlistx_set_destructor (done, s_free_name);
    for (tally_t *tally = (tally_t *) zhashx_first (self->windows); tally;
         tally = (tally_t *) zhashx_next (self->windows)) {
        const char *window = (const char *) zhashx_cursor (self->windows);
        if (s_can_say (tally) && s_missing (tally) > 0 && done) {
            log_info ("tally: waiting for '%s' to say what it took in of the %llu messages the "
                      "router that went had not settled",
                      window, (unsigned long long) s_missing (tally));
            continue;
        }
        if (s_missing (tally) > 0)
            log_info ("tally: '%s' cannot say what it took in (off the channel, or a pool): the "
                      "%llu messages the router that went had not settled are reported",
                      window, (unsigned long long) s_missing (tally));
        s_report (window, s_missing (tally), false, fn, arg);
        tally->sent = tally->confirmed = tally->reported = 0; //  reported once only
        if (done)
            zlistx_add_end (done, strdup (window));
    }
    for (char *window = done ? (char *) zlistx_first (done) : NULL; window;
         window = (char *) zlistx_next (done))
        zhashx_delete (self->windows, window);
    zlistx_destroy (&done);
    self->deadline = zhashx_size (self->windows) > 0 ? deadline : 0;
    return self->deadline != 0;
}

//  After a TOOK or tallies_back(): nothing waits any more?
static bool
s_waits_no_more (tallies_t *self)
{
    if (self && self->deadline && (!self->windows || zhashx_size (self->windows) == 0))
        self->deadline = 0;
    return !self || self->deadline == 0;
}

bool
tallies_took (tallies_t *self, const char *window, const char *token, uint64_t count,
              uint64_t first, tallies_report_fn *fn, void *arg)
{
    tally_t *tally = self && self->deadline ? s_tally (self, window, false) : NULL;
    if (tally) {
        uint64_t missing = s_missing (tally);
        bool named = tally->session && strcmp (tally->token, token) == 0;
        bool from_our_first = !tally->session && !tally->heard && first != 0 &&
                              first == tally->first_id && !tally->first_refused;
        bool said = (named || from_our_first) && count < INT64_MAX;
        if (said) {
            int64_t upto = (int64_t) count;
            if (named)
                upto += (int64_t) tally->queued - (int64_t) tally->session_queued;
            uint64_t taken =
                upto > (int64_t) tally->confirmed ? (uint64_t) upto - tally->confirmed : 0;
            log_info ("tally: '%s' says it took in %llu of the %llu messages the router that went "
                      "had not settled",
                      window, (unsigned long long) (taken < missing ? taken : missing),
                      (unsigned long long) missing);
            missing = taken < missing ? missing - taken : 0;
        }
        else
            log_info ("tally: '%s' spoke of a session not known to hold ours: the %llu messages "
                      "the router that went had not settled are reported",
                      window, (unsigned long long) missing);
        s_report (window, missing, said, fn, arg);
        zhashx_delete (self->windows, window);
    }
    return s_waits_no_more (self);
}

bool
tallies_back (tallies_t *self, const char *window, tallies_report_fn *fn, void *arg)
{
    tally_t *tally = self && self->deadline ? s_tally (self, window, false) : NULL;
    if (tally) {
        if (s_missing (tally) > 0)
            log_info ("tally: '%s' is back and said nothing of ours: the %llu messages the "
                      "router that went had not settled are reported",
                      window, (unsigned long long) s_missing (tally));
        s_report (window, s_missing (tally), false, fn, arg);
        zhashx_delete (self->windows, window);
    }
    return s_waits_no_more (self);
}

int64_t
tallies_deadline (const tallies_t *self)
{
    return self ? self->deadline : 0;
}

void
tallies_settle (tallies_t *self, tallies_report_fn *fn, void *arg)
{
    if (!self || !self->windows)
        return;
    for (tally_t *tally = (tally_t *) zhashx_first (self->windows); tally;
         tally = (tally_t *) zhashx_next (self->windows)) {
        if (s_missing (tally) > 0)
            log_info ("tally: '%s' did not say in time what it took in: the %llu messages the "
                      "router that went had not settled are reported",
                      (const char *) zhashx_cursor (self->windows),
                      (unsigned long long) s_missing (tally));
        s_report ((const char *) zhashx_cursor (self->windows), s_missing (tally), false, fn, arg);
    }
    zhashx_purge (self->windows);
    self->deadline = 0;
}
