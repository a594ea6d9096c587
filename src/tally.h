/*  tally.h: a window's tallies of what it sent each window (private).

    Per window it sent SENDs to in this session: how many went out, how
    many the router said were taken in (RECEIPT) and how many it said were
    not (ERROR); and, from the RECEIPTs of a router that names sessions,
    the window's session (its token) with the two counts that number it:
    how many of our SENDs the router queued to the window, and how many
    SENDs from our name its session was queued, at the same moment.

    When the router that welcomes us again is not the one we lost, what it
    never settled is reported undelivered. A window back from the same lost
    router says what its session took in of ours (TOOK); the tally
    subtracts what it took in without its confirmation reaching us. Only a
    window that does not say, in time, has everything unconfirmed
    reported: too many, never too few.

    A router can go before its first RECEIPT about a window reaches us,
    while the window has taken in our SENDs (the two connections are
    written apart). No session was named then; the window's TOOK is taken
    all the same if the first SEND it took in from us is our first to it in
    this session (its id): then the session took in ours from the first
    on, and nothing went to another.

    Lifecycle: tallies_new() at the first SEND of a session; kept as the
    lost session's until settled; tallies_destroy(&t).

    Thread-safety: none; one owner (the client).
*/
#ifndef PROKIT_TALLY_H_INCLUDED
#define PROKIT_TALLY_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

typedef struct tallies tallies_t;

//  What a tally settles is reported: COUNT messages to TARGET, and why.
//  CODE: PROKIT_ECLOSED when the receiver said it did not take them in,
//  PROKIT_EUNCONFIRMED when nobody could say (it may have).
typedef void (tallies_report_fn) (const char *target, uint64_t count, int code, const char *why,
                                  void *arg);

//  NULL when out of memory (then no tallies: at worst a report missed).
tallies_t *tallies_new (void);
void tallies_destroy (tallies_t **self_p);

//  One more SEND to WINDOW accepted, with id ID.
void tallies_sent (tallies_t *self, const char *window, uint64_t id);
//  COUNT of our SENDs to WINDOW were reported undelivered: the one with id
//  ID (0: several, or unknown).
void tallies_reported (tallies_t *self, const char *window, uint64_t count, uint64_t id);
//  A RECEIPT: COUNT of our SENDs to WINDOW were taken in (cumulative).
void tallies_confirmed (tallies_t *self, const char *window, uint64_t count);
//  The same RECEIPT named WINDOW's session (TOKEN): QUEUED of our SENDs
//  were queued to it, SESSION_QUEUED from our name to that session.
void tallies_session (tallies_t *self, const char *window, uint64_t queued, const char *token,
                      uint64_t session_queued);

//  The router was lost and another welcomed us: what no window can say
//  more of is reported now; the rest waits for TOOK until DEADLINE
//  (monotonic ms). Returns false when nothing waits.
bool tallies_await (tallies_t *self, int64_t deadline, tallies_report_fn *fn, void *arg);

//  TOOK: WINDOW's session TOKEN took in COUNT of our SENDs, the first of
//  them FIRST (its id; 0: not said). Its tally is settled. Returns true
//  when nothing waits any more.
bool tallies_took (tallies_t *self, const char *window, const char *token, uint64_t count,
                   uint64_t first, tallies_report_fn *fn, void *arg);

//  The router we are in now confirmed SENDs to WINDOW: it joined here, so
//  whatever it had to say of ours came before (TOOK). Still waiting, its
//  tally is settled: it took in none that we can learn of. Returns true
//  when nothing waits any more.
bool tallies_back (tallies_t *self, const char *window, tallies_report_fn *fn, void *arg);

//  The deadline tallies_await() was given; 0 when nothing waits.
int64_t tallies_deadline (const tallies_t *self);

//  Report everything not settled (the wait is over, or was never begun).
void tallies_settle (tallies_t *self, tallies_report_fn *fn, void *arg);

#endif
