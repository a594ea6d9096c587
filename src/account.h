/*  account.h: main's account of what it sent through a router (private).

    A main attached to a broker sends its SENDs and BROADCASTs through a
    router that may die with them. The router keeps main informed
    (ACCOUNT: how many it handled, and per window what it published and
    what is settled); the account keeps what main must hear of if the
    router goes:

      * its SENDs and BROADCASTs the router has not said it handled, in
        order, as runs of one target's consecutive ids;
      * per window, the last ACCOUNT's counts, the window's session on the
        channel they were taken in (its token, and how many that session
        had been published then), and what was reported since.

    When the router that welcomes main again is another one, what the lost
    one never settled is reported undelivered. A window that comes back
    says in its HELLO how many of main's messages its lost session took in
    (PROTOCOL.md section 10); the new router passes that on in JOINED, and
    the account subtracts it: nothing is reported that was received. The
    account waits for each window it knew until account_settle_due().

    Lifecycle: account_new() when a WELCOME says the router keeps one;
    account_destroy(&a) once settled. Reports go through a callback given
    to account_settle().

    Thread-safety: none; one owner (the client).
*/
#ifndef PROKIT_ACCOUNT_H_INCLUDED
#define PROKIT_ACCOUNT_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct account account_t;

//  An empty account; NULL when out of memory (then there is none: at worst
//  a report too many later).
account_t *account_new (void);
void account_destroy (account_t **self_p);

//  One more SEND to TARGET (a BROADCAST: "") with one-way id ID.
void account_sent (account_t *self, const char *target, uint64_t id);

//  A router refused main's one-way message ID (an ERROR). It handles
//  main's messages in order and refuses each with an ERROR of its own, so
//  those main sent before it were published: they stay until an ACCOUNT
//  counts them, or, if the router goes first, a window says it took them.
//  After a loss, the ERRORs read from the connection as it ended are the
//  lost router's; then come the next router's refusals of what main sent
//  into the dead connection (ahead of its HELLO): each about its own id.
void account_refused (account_t *self, uint64_t id);

//  COUNT of main's messages to WINDOW were reported as not taken in (an
//  ERROR with the one-way bit alone).
void account_reported (account_t *self, const char *window, uint64_t count);

//  An ACCOUNT's body. Returns 0 or PROKIT_EPROTO (then nothing changed
//  but what came before the fault).
int account_update (account_t *self, const void *data, size_t size);

//  The router was lost and another welcomed us: wait for the windows'
//  word until DEADLINE (monotonic ms). Returns false when there is no
//  window to wait for (settle now).
bool account_await (account_t *self, int64_t deadline);

//  While waiting: WINDOW joined the new router, and its HELLO said its
//  lost session (TOKEN: "" for none) took in COUNT of main's messages.
//  Returns true when no window is left to wait for: the deadline is then
//  past.
bool account_window_back (account_t *self, const char *window, const char *token, uint64_t count);

//  The deadline account_await() was given.
int64_t account_deadline (const account_t *self);

//  Report, through FN, what the lost router never settled and the windows
//  did not say they took in: COUNT messages to TARGET ("" for broadcasts),
//  and why.
//  CODE: PROKIT_ECLOSED when the receiver said it did not take them in,
//  PROKIT_EUNCONFIRMED when nobody could say (it may have).
typedef void (account_report_fn) (const char *target, uint64_t count, int code, const char *why,
                                  void *arg);
void account_settle (account_t *self, account_report_fn *fn, void *arg);

#endif
