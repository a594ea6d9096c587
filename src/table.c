/*  table.c: fixed-size items kept by name. See table.h. */
#include "table.h"

#include <stdlib.h>

static void
s_free_item (void **item)
{
    free (*item);
    *item = NULL;
}

void *
table_item (zhashx_t **table_p, const char *key, size_t size)
{
    if (!*table_p) {
        if (!(*table_p = zhashx_new ()))
            return NULL;
        zhashx_set_destructor (*table_p, s_free_item);
    }
    void *item = zhashx_lookup (*table_p, key);
    if (!item && (item = calloc (1, size)) != NULL && zhashx_insert (*table_p, key, item) != 0) {
        free (item);
        item = NULL;
    }
    return item;
}

void *
table_find (zhashx_t *table, const char *key)
{
    return table ? zhashx_lookup (table, key) : NULL;
}
