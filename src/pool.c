/*  pool.c: worker pools, by service name. See pool.h. */
#include "pool.h"

#include <czmq.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

typedef struct pool {
    void **members; //  in the order they joined
    size_t count;
    size_t capacity;
    size_t turn; //  where the next equal choice starts
} pool_t;

struct pools {
    zhashx_t *by_service; //  service name -> pool_t
};

static void
s_pool_destroy (void **item)
{
    pool_t *pool = (pool_t *) *item;
    if (pool) {
        free (pool->members);
        free (pool);
    }
    *item = NULL;
}

pools_t *
pools_new (void)
{
    pools_t *self = (pools_t *) calloc (1, sizeof (*self));
    if (!self)
        return NULL;
    if (!(self->by_service = zhashx_new ())) {
        free (self);
        return NULL;
    }
    zhashx_set_destructor (self->by_service, s_pool_destroy);
    return self;
}

void
pools_destroy (pools_t **self_p)
{
    if (self_p && *self_p) {
        zhashx_destroy (&(*self_p)->by_service);
        free (*self_p);
        *self_p = NULL;
    }
}

int
pools_join (pools_t *self, const char *service, void *member)
{
    pool_t *pool = (pool_t *) zhashx_lookup (self->by_service, service);
    if (!pool) {
        if (!(pool = (pool_t *) calloc (1, sizeof (*pool))))
            return ENOMEM;
        if (zhashx_insert (self->by_service, service, pool) != 0) {
            free (pool);
            return ENOMEM;
        }
    }
    for (size_t i = 0; i < pool->count; i++)
        if (pool->members[i] == member)
            return 0;
    if (pool->count == pool->capacity) {
        size_t capacity = pool->capacity ? 2 * pool->capacity : 4;
        void **members = (void **) realloc (pool->members, capacity * sizeof (*members));
        if (!members) {
            if (pool->count == 0)
                zhashx_delete (self->by_service, service);
            return ENOMEM;
        }
        pool->members = members;
        pool->capacity = capacity;
    }
    pool->members[pool->count++] = member;
    return 0;
}

void
pools_leave (pools_t *self, const char *service, void *member)
{
    pool_t *pool = (pool_t *) zhashx_lookup (self->by_service, service);
    if (!pool)
        return;
    for (size_t i = 0; i < pool->count; i++)
        if (pool->members[i] == member) {
            memmove (pool->members + i, pool->members + i + 1,
                     (pool->count - i - 1) * sizeof (*pool->members));
            pool->count--;
            if (pool->turn > i)
                pool->turn--;
            break;
        }
    if (pool->count == 0)
        zhashx_delete (self->by_service, service);
}

size_t
pools_size (const pools_t *self, const char *service)
{
    const pool_t *pool = (const pool_t *) zhashx_lookup (self->by_service, service);
    return pool ? pool->count : 0;
}

void *
pools_pick (pools_t *self, const char *service, pools_load_fn *load, void *arg)
{
    pool_t *pool = (pool_t *) zhashx_lookup (self->by_service, service);
    if (!pool || pool->count == 0)
        return NULL;
    //  From the member whose turn it is, the first of the least loaded.
    size_t best = SIZE_MAX, best_load = SIZE_MAX;
    for (size_t k = 0; k < pool->count; k++) {
        size_t i = (pool->turn + k) % pool->count;
        size_t load_i = load (pool->members[i], arg);
        if (load_i < best_load) {
            best_load = load_i;
            best = i;
        }
    }
    if (best == SIZE_MAX)
        return NULL;
    pool->turn = (best + 1) % pool->count;
    return pool->members[best];
}
