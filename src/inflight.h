/*  inflight.h: requests in flight (private).

    One table serves both ends of a request. A client keeps its own
    requests until they are answered, by id, with their deadlines in order
    (the earliest is the next to expire) and the callback to call. The
    router keeps, for each peer, the requests that peer owes, by requester
    and id, to answer for them if the peer goes.

    A chained hash through the entries: adding one costs no allocation but
    the entry, and answered entries are kept for reuse.

    Thread-safety: none; one owner.
*/
#ifndef PROKIT_INFLIGHT_H_INCLUDED
#define PROKIT_INFLIGHT_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "prokit/message.h"
#include "proto.h"

typedef struct inflight inflight_t;

typedef struct inflight_entry {
    uint64_t id;
    char peer[PROTO_NAME_MAX + 1]; //  the client's target; the router's requester
    char via[PROTO_NAME_MAX + 1];  //  the router's: the pool the request was addressed to, or ""
    bool cancelled;                //  the router's: its requester cancelled it
    prokit_progress_fn
        *progress; //  the client's: the requester's progress callback, and its argument
    void *progress_arg;
    int64_t deadline;    //  monotonic ms; 0: none (not in the deadline order)
    prokit_reply_fn *fn; //  the client's callback, and its argument
    void *arg;
    //  The table's own links.
    struct inflight_entry *prev, *next; //  by deadline
    struct inflight_entry *chain;       //  the next in its bucket, or spare
} inflight_entry_t;

//  A table keyed by id alone (a client's own ids are unique), or, when
//  BY_PEER, by id and peer (each requester counts its ids from 1). NULL
//  when memory runs out.
inflight_t *inflight_new (bool by_peer);

//  Free the table and its entries. NULL-safe.
void inflight_destroy (inflight_t **self_p);

//  A new entry for ID from PEER (copied, truncated to a name's length),
//  with DEADLINE (0: none), in the table. Its fn and arg are NULL. NULL
//  when memory runs out.
inflight_entry_t *inflight_add (inflight_t *self, uint64_t id, const char *peer, int64_t deadline);

//  The entry for ID; a table keyed by peer also matches PEER (NULL there:
//  any peer). NULL when there is none.
inflight_entry_t *inflight_find (const inflight_t *self, uint64_t id, const char *peer);

//  Take ENTRY out of the table; it is invalid afterwards.
void inflight_remove (inflight_t *self, inflight_entry_t *entry);

//  The entry with the earliest deadline, or NULL when none has one (or
//  SELF is NULL).
inflight_entry_t *inflight_earliest (const inflight_t *self);

//  Any entry, or NULL when the table is empty: for emptying it.
inflight_entry_t *inflight_any (inflight_t *self);

//  How many entries the table holds (0 for NULL).
size_t inflight_size (const inflight_t *self);

#endif
