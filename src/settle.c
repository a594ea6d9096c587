/*  settle.c: what a client waits to hear after its router went. See
    settle.h.

    Main may lose routers one after another, each account waiting on its
    own deadline: they are kept in a list. A window's tallies are of one
    router at a time: one that went before the last can no longer be heard
    of (its windows' TOOKs come from the router that followed it), so a
    new wait ends the old one.
*/
#include "settle.h"

#include <czmq.h>

struct settle {
    settle_report_fn *fn;
    void *arg;
    zlistx_t *accounts; //  account_t, made with the first
    tallies_t *tallies;
};

settle_t *
settle_new (settle_report_fn *fn, void *arg)
{
    settle_t *self = (settle_t *) calloc (1, sizeof (settle_t));
    if (self) {
        self->fn = fn;
        self->arg = arg;
    }
    return self;
}

void
settle_destroy (settle_t **self_p)
{
    settle_t *self = self_p ? *self_p : NULL;
    if (self) {
        zlistx_destroy (&self->accounts);
        tallies_destroy (&self->tallies);
        free (self);
        *self_p = NULL;
    }
}

void
settle_account (settle_t *self, account_t *account, int64_t deadline)
{
    if (!self || !account) {
        account_destroy (&account);
        return;
    }
    if (!self->accounts && (self->accounts = zlistx_new ()) != NULL)
        zlistx_set_destructor (self->accounts, (zlistx_destructor_fn *) account_destroy);
    if (self->accounts && account_await (account, deadline) &&
        zlistx_add_end (self->accounts, account))
        return;
    //  No window to wait for (or no memory to wait with): settled now.
    account_settle (account, self->fn, self->arg);
    account_destroy (&account);
}

void
settle_tallies (settle_t *self, tallies_t *tallies, int64_t deadline)
{
    if (!self || !tallies) {
        tallies_destroy (&tallies);
        return;
    }
    tallies_settle (self->tallies, self->fn, self->arg);
    tallies_destroy (&self->tallies);
    if (tallies_await (tallies, deadline, self->fn, self->arg))
        self->tallies = tallies;
    else
        tallies_destroy (&tallies);
}

void
settle_window_back (settle_t *self, const char *window, const char *token, uint64_t count)
{
    if (!self || !self->accounts)
        return;
    //  An account whose windows are all back is settled now.
    account_t *account = (account_t *) zlistx_first (self->accounts);
    while (account) {
        if (account_window_back (account, window, token, count)) {
            account_settle (account, self->fn, self->arg);
            zlistx_delete (self->accounts, zlistx_cursor (self->accounts));
            account = (account_t *) zlistx_first (self->accounts);
        }
        else
            account = (account_t *) zlistx_next (self->accounts);
    }
}

void
settle_took (settle_t *self, const char *window, const char *token, uint64_t count, uint64_t first)
{
    if (self && self->tallies &&
        tallies_took (self->tallies, window, token, count, first, self->fn, self->arg))
        tallies_destroy (&self->tallies);
}

void
settle_receipt (settle_t *self, const char *window)
{
    if (self && self->tallies && tallies_back (self->tallies, window, self->fn, self->arg))
        tallies_destroy (&self->tallies);
}

bool
settle_accounts_waiting (const settle_t *self)
{
    return self && self->accounts && zlistx_size (self->accounts) > 0;
}

int64_t
settle_deadline (const settle_t *self)
{
    if (!self)
        return 0;
    int64_t earliest = tallies_deadline (self->tallies);
    for (account_t *account = self->accounts ? (account_t *) zlistx_first (self->accounts) : NULL;
         account; account = (account_t *) zlistx_next (self->accounts))
        if (!earliest || account_deadline (account) < earliest)
            earliest = account_deadline (account);
    return earliest;
}

bool
settle_due (settle_t *self, int64_t now)
{
    if (!self)
        return false;
    bool settled = false;
    if (self->tallies && tallies_deadline (self->tallies) <= now) {
        tallies_settle (self->tallies, self->fn, self->arg);
        tallies_destroy (&self->tallies);
        settled = true;
    }
    account_t *account = self->accounts ? (account_t *) zlistx_first (self->accounts) : NULL;
    while (account) {
        if (account_deadline (account) <= now) {
            account_settle (account, self->fn, self->arg);
            zlistx_delete (self->accounts, zlistx_cursor (self->accounts));
            settled = true;
            account = (account_t *) zlistx_first (self->accounts);
        }
        else
            account = (account_t *) zlistx_next (self->accounts);
    }
    return settled;
}
