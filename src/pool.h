/*  pool.h: worker pools, by service name (private).

    Several windows may serve one service name ("work", served by work-1
    to work-8): a request or message to the service goes to one of them.
    This module keeps who serves what and chooses: the member with the
    least load (the router's measure: requests in flight), then the next
    in turn among those equally loaded, so that equal workers take turns.

    Members are the caller's pointers; a pool exists while it has one.

    Lifecycle: pools_new / pools_destroy (the members are not freed).
    Thread-safety: none; one owner (the router, under its lock).
*/
#ifndef PROKIT_POOL_H_INCLUDED
#define PROKIT_POOL_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

typedef struct pools pools_t;

//  How loaded MEMBER is: the pick prefers the least. SIZE_MAX: never pick it now.
typedef size_t (pools_load_fn) (void *member, void *arg);

//  NULL when memory runs out.
pools_t *pools_new (void);
void pools_destroy (pools_t **self_p);

//  MEMBER now serves SERVICE (a member is added once). Returns 0 or ENOMEM.
int pools_join (pools_t *self, const char *service, void *member);

//  MEMBER no longer serves SERVICE; the pool goes with its last member.
void pools_leave (pools_t *self, const char *service, void *member);

//  How many members serve SERVICE (0: there is no such pool).
size_t pools_size (const pools_t *self, const char *service);

//  The member of SERVICE to give the next request or message to: the
//  least loaded (LOAD), then the next in turn. NULL when SERVICE has no
//  member that may be given one.
void *pools_pick (pools_t *self, const char *service, pools_load_fn *load, void *arg);

#endif
