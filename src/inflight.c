/*  inflight.c: requests in flight. */
#include "inflight.h"

#include <stdlib.h>
#include <string.h>

#define BUCKETS_MIN 64
#define SPARE_MAX 256

struct inflight {
    inflight_entry_t **buckets;
    size_t mask; //  bucket count - 1, a power of two
    size_t count;
    bool by_peer;
    inflight_entry_t *first, *last; //  entries with a deadline, earliest first
    inflight_entry_t *spare;        //  removed entries, for the next ones
    size_t spare_count;
    size_t scan; //  where inflight_any() last found an entry
};

static size_t
s_bucket (const inflight_t *self, uint64_t id, const char *peer)
{
    uint64_t hash = id;
    if (self->by_peer) {
        hash = 14695981039346656037ull; //  FNV-1a over the peer, then the id
        for (const char *c = peer; *c; c++)
            hash = (hash ^ (uint8_t) *c) * 1099511628211ull;
        hash ^= id;
    }
    return (size_t) ((hash * 0x9E3779B97F4A7C15ull) >> 32) & self->mask;
}

inflight_t *
inflight_new (bool by_peer)
{
    inflight_t *self = (inflight_t *) calloc (1, sizeof (*self));
    if (!self)
        return NULL;
    self->buckets = (inflight_entry_t **) calloc (BUCKETS_MIN, sizeof (inflight_entry_t *));
    if (!self->buckets) {
        free (self);
        return NULL;
    }
    self->mask = BUCKETS_MIN - 1;
    self->by_peer = by_peer;
    return self;
}

void
inflight_destroy (inflight_t **self_p)
{
    if (self_p && *self_p) {
        inflight_t *self = *self_p;
        for (size_t i = 0; i <= self->mask; i++)
            while (self->buckets[i]) {
                inflight_entry_t *entry = self->buckets[i];
                self->buckets[i] = entry->chain;
                free (entry);
            }
        while (self->spare) {
            inflight_entry_t *entry = self->spare;
            self->spare = entry->chain;
            free (entry);
        }
        free (self->buckets);
        free (self);
        *self_p = NULL;
    }
}

//  Double the buckets when they are as many as the entries; on failure the
//  chains just grow longer.
static void
s_grow (inflight_t *self)
{
    size_t size = 2 * (self->mask + 1);
    inflight_entry_t **buckets = (inflight_entry_t **) calloc (size, sizeof (inflight_entry_t *));
    if (!buckets)
        return;
    inflight_entry_t **old = self->buckets;
    size_t old_size = self->mask + 1;
    self->buckets = buckets;
    self->mask = size - 1;
    for (size_t i = 0; i < old_size; i++)
        while (old[i]) {
            inflight_entry_t *moved = old[i];
            old[i] = moved->chain;
            size_t bucket = s_bucket (self, moved->id, moved->peer);
            moved->chain = buckets[bucket];
            buckets[bucket] = moved;
        }
    free (old);
    self->scan = 0;
}

//  Deadlines mostly arrive in order: search from the end.
static void
s_link (inflight_t *self, inflight_entry_t *entry)
{
    inflight_entry_t *after = self->last;
    while (after && after->deadline > entry->deadline)
        after = after->prev;
    entry->prev = after;
    entry->next = after ? after->next : self->first;
    if (entry->next)
        entry->next->prev = entry;
    else
        self->last = entry;
    if (after)
        after->next = entry;
    else
        self->first = entry;
}

static void
s_unlink (inflight_t *self, inflight_entry_t *entry)
{
    if (entry->prev)
        entry->prev->next = entry->next;
    else
        self->first = entry->next;
    if (entry->next)
        entry->next->prev = entry->prev;
    else
        self->last = entry->prev;
}

inflight_entry_t *
inflight_add (inflight_t *self, uint64_t id, const char *peer, int64_t deadline)
{
    inflight_entry_t *entry = self->spare;
    if (entry) {
        self->spare = entry->chain;
        self->spare_count--;
        memset (entry, 0, sizeof (*entry));
    }
    else if (!(entry = (inflight_entry_t *) calloc (1, sizeof (*entry))))
        return NULL;
    entry->id = id;
    size_t len = peer ? strnlen (peer, PROTO_NAME_MAX) : 0;
    memcpy (entry->peer, peer ? peer : "", len);
    entry->peer[len] = 0;
    entry->deadline = deadline;
    if (self->count > self->mask)
        s_grow (self);
    size_t bucket = s_bucket (self, id, entry->peer);
    entry->chain = self->buckets[bucket];
    self->buckets[bucket] = entry;
    self->count++;
    if (deadline > 0)
        s_link (self, entry);
    return entry;
}

inflight_entry_t *
inflight_find (const inflight_t *self, uint64_t id, const char *peer)
{
    if (self->by_peer && !peer) {
        //  Any peer: the id alone does not say which bucket.
        for (size_t i = 0; i <= self->mask; i++)
            for (inflight_entry_t *entry = self->buckets[i]; entry; entry = entry->chain)
                if (entry->id == id)
                    return entry;
        return NULL;
    }
    inflight_entry_t *entry = self->buckets[s_bucket (self, id, peer)];
    while (entry && !(entry->id == id && (!self->by_peer || strcmp (entry->peer, peer) == 0)))
        entry = entry->chain;
    return entry;
}

void
inflight_remove (inflight_t *self, inflight_entry_t *entry)
{
    inflight_entry_t **link = &self->buckets[s_bucket (self, entry->id, entry->peer)];
    while (*link && *link != entry)
        link = &(*link)->chain;
    if (!*link)
        return; //  not ours
    *link = entry->chain;
    self->count--;
    if (entry->deadline > 0)
        s_unlink (self, entry);
    if (self->spare_count >= SPARE_MAX)
        free (entry);
    else {
        entry->chain = self->spare;
        self->spare = entry;
        self->spare_count++;
    }
}

inflight_entry_t *
inflight_earliest (const inflight_t *self)
{
    return self ? self->first : NULL;
}

inflight_entry_t *
inflight_any (inflight_t *self)
{
    if (self->count == 0)
        return NULL;
    //  Resume where the last search ended: emptying a table one entry at
    //  a time costs one pass over the buckets, not one per entry.
    for (size_t n = 0; n <= self->mask; n++) {
        size_t i = (self->scan + n) & self->mask;
        if (self->buckets[i]) {
            self->scan = i;
            return self->buckets[i];
        }
    }
    return NULL;
}

size_t
inflight_size (const inflight_t *self)
{
    return self ? self->count : 0;
}
