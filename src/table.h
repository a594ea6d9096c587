/*  table.h: fixed-size items kept by name, in a hash made on first use
    (private).

    The shape of most of prokit's bookkeeping (a sender's receipts, main's
    account per window, counts per sender): look an item up by name, make
    it zeroed if missing, and free everything with the table.

    Thread-safety: none; the table's owner's.
*/
#ifndef PROKIT_TABLE_H_INCLUDED
#define PROKIT_TABLE_H_INCLUDED

#include <czmq.h>
#include <stddef.h>

//  The item under KEY in *TABLE_P, made (SIZE bytes, zeroed) when missing,
//  and *TABLE_P with it (its items freed with it, by zhashx_destroy());
//  NULL when memory runs out.
void *table_item (zhashx_t **table_p, const char *key, size_t size);

//  The item under KEY, or NULL (also when TABLE is NULL).
void *table_find (zhashx_t *table, const char *key);

#endif
