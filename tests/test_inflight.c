/*  test_inflight.c: the table of requests in flight (src/inflight.c), as
    a client uses it (by id, in deadline order) and as the router does (by
    requester and id). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inflight.h"

static void
test_entries_are_found_by_id_however_many (void **state)
{
    (void) state;
    inflight_t *table = inflight_new (false);
    assert_non_null (table);
    const uint64_t count = 5000; //  the buckets grow from 64 on the way
    for (uint64_t id = 1; id <= count; id++) {
        inflight_entry_t *entry = inflight_add (table, id, "main", (int64_t) (1000 + id));
        assert_non_null (entry);
        assert_null (entry->fn);
    }
    assert_int_equal (inflight_size (table), count);
    for (uint64_t id = 1; id <= count; id++) {
        inflight_entry_t *entry = inflight_find (table, id, NULL);
        assert_non_null (entry);
        assert_true (entry->id == id);
        assert_string_equal (entry->peer, "main");
    }
    assert_null (inflight_find (table, count + 1, NULL));
    //  Every other one answered: the rest are still there.
    for (uint64_t id = 2; id <= count; id += 2)
        inflight_remove (table, inflight_find (table, id, NULL));
    assert_int_equal (inflight_size (table), count / 2);
    for (uint64_t id = 1; id <= count; id++)
        assert_true ((inflight_find (table, id, NULL) != NULL) == (id % 2 == 1));
    inflight_destroy (&table);
    assert_null (table);
    inflight_destroy (&table); //  NULL-safe
}

static void
test_the_earliest_deadline_comes_first_whatever_the_order_of_adding (void **state)
{
    (void) state;
    inflight_t *table = inflight_new (false);
    const int64_t deadlines[] = { 500, 100, 900, 100, 300, 700, 200, 800, 400, 600 };
    const size_t n = sizeof (deadlines) / sizeof (deadlines[0]);
    for (size_t i = 0; i < n; i++)
        assert_non_null (inflight_add (table, i + 1, "w", deadlines[i]));
    //  An entry without a deadline is in the table, not in the order.
    assert_non_null (inflight_add (table, 99, "w", 0));
    int64_t last = 0;
    for (size_t i = 0; i < n; i++) {
        inflight_entry_t *first = inflight_earliest (table);
        assert_non_null (first);
        assert_true (first->deadline >= last);
        last = first->deadline;
        inflight_remove (table, first);
    }
    assert_null (inflight_earliest (table));
    assert_int_equal (inflight_size (table), 1);
    assert_non_null (inflight_find (table, 99, NULL));
    //  Removing from the middle keeps the order of the rest.
    inflight_entry_t *a = inflight_add (table, 1, "w", 10);
    inflight_entry_t *b = inflight_add (table, 2, "w", 20);
    inflight_entry_t *c = inflight_add (table, 3, "w", 30);
    inflight_remove (table, b);
    assert_true (inflight_earliest (table) == a);
    inflight_remove (table, a);
    assert_true (inflight_earliest (table) == c);
    inflight_destroy (&table);
}

static void
test_keyed_by_peer_the_same_id_from_two_requesters_is_two_entries (void **state)
{
    (void) state;
    inflight_t *table = inflight_new (true);
    inflight_entry_t *from_a = inflight_add (table, 7, "alpha", 0);
    inflight_entry_t *from_b = inflight_add (table, 7, "beta", 0);
    assert_true (from_a != from_b);
    assert_true (inflight_find (table, 7, "alpha") == from_a);
    assert_true (inflight_find (table, 7, "beta") == from_b);
    assert_null (inflight_find (table, 7, "gamma"));
    assert_null (inflight_find (table, 8, "alpha"));
    inflight_entry_t *any = inflight_find (table, 7, NULL);
    assert_true (any == from_a || any == from_b);
    inflight_remove (table, from_a);
    assert_null (inflight_find (table, 7, "alpha"));
    assert_true (inflight_find (table, 7, "beta") == from_b);
    //  A name longer than a name may be is cut, not overrun.
    char long_name[200];
    memset (long_name, 'x', sizeof (long_name) - 1);
    long_name[sizeof (long_name) - 1] = 0;
    inflight_entry_t *cut = inflight_add (table, 9, long_name, 0);
    assert_int_equal (strlen (cut->peer), PROTO_NAME_MAX);
    inflight_destroy (&table);
}

//  Emptying a table one entry at a time, as the router does when a peer
//  that owed answers leaves: every entry comes out exactly once.
static void
test_a_table_empties_entry_by_entry (void **state)
{
    (void) state;
    inflight_t *table = inflight_new (true);
    const int count = 1000;
    char name[16];
    for (int i = 0; i < count; i++) {
        snprintf (name, sizeof (name), "w%d", i % 10);
        assert_non_null (inflight_add (table, (uint64_t) (i / 10), name, 0));
    }
    bool *seen = (bool *) calloc ((size_t) count, sizeof (bool));
    inflight_entry_t *entry;
    int taken = 0;
    while ((entry = inflight_any (table)) != NULL) {
        int index = (int) entry->id * 10 + atoi (entry->peer + 1);
        assert_false (seen[index]);
        seen[index] = true;
        inflight_remove (table, entry);
        taken++;
    }
    assert_int_equal (taken, count);
    assert_int_equal (inflight_size (table), 0);
    //  Removed entries are reused, cleared.
    entry = inflight_add (table, 1, "again", 0);
    assert_null (entry->fn);
    assert_null (entry->arg);
    free (seen);
    inflight_destroy (&table);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_entries_are_found_by_id_however_many),
        cmocka_unit_test (test_the_earliest_deadline_comes_first_whatever_the_order_of_adding),
        cmocka_unit_test (test_keyed_by_peer_the_same_id_from_two_requesters_is_two_entries),
        cmocka_unit_test (test_a_table_empties_entry_by_entry),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
