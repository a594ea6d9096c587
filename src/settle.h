/*  settle.h: what a client waits to hear after its router went (private).

    When the router a client lost is not the one that welcomes it again,
    what the lost one never settled of the client's messages is reported
    undelivered, less what the windows say they took in: main's account
    (account.h) waits for JOINEDs, a window's tallies (tally.h) for TOOKs.
    Settling holds what waits, each with its deadline, feeds it what the
    windows say, and reports through one callback what comes due.

    Lifecycle: settle_new() with the client; settle_destroy(&s) with it
    (whatever still waits is dropped unreported: nobody is left to hear).

    Thread-safety: none; one owner (the client).
*/
#ifndef PROKIT_SETTLE_H_INCLUDED
#define PROKIT_SETTLE_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

#include "account.h"
#include "tally.h"

typedef struct settle settle_t;

//  What is settled is reported: COUNT messages to TARGET ("" for
//  broadcasts), and why.
//  CODE: PROKIT_ECLOSED when the receiver said it did not take them in,
//  PROKIT_EUNCONFIRMED when nobody could say (it may have).
typedef void (settle_report_fn) (const char *target, uint64_t count, int code, const char *why,
                                 void *arg);

//  NULL when out of memory.
settle_t *settle_new (settle_report_fn *fn, void *arg);
void settle_destroy (settle_t **self_p);

//  Main's account of a router that went (taken): it waits for its windows
//  until DEADLINE (monotonic ms), or, with none to wait for, is settled now.
void settle_account (settle_t *self, account_t *account, int64_t deadline);

//  A window's tallies of a router that went (taken): what no window can say
//  more of is settled now, the rest waits for TOOK until DEADLINE. A wait
//  not over from an earlier router ends: those windows cannot say now.
void settle_tallies (settle_t *self, tallies_t *tallies, int64_t deadline);

//  JOINED: WINDOW joined the router we are in, and its lost session (by
//  TOKEN; "" for none) took in COUNT of main's messages.
void settle_window_back (settle_t *self, const char *window, const char *token, uint64_t count);

//  TOOK: WINDOW's lost session (TOKEN) took in COUNT of our SENDs, the
//  first with id FIRST (0: not said).
void settle_took (settle_t *self, const char *window, const char *token, uint64_t count,
                  uint64_t first);

//  The router we are in confirmed SENDs to WINDOW (tallies_back()).
void settle_receipt (settle_t *self, const char *window);

//  Does an account wait for JOINEDs?
bool settle_accounts_waiting (const settle_t *self);

//  The earliest deadline of what waits; 0: nothing does.
int64_t settle_deadline (const settle_t *self);

//  Settle what is due at NOW (monotonic ms). True if anything was.
bool settle_due (settle_t *self, int64_t now);

#endif
