/*  test_pool.c: the pool registry's choice (src/pool.c): the least loaded
    member, then each in turn; members that may not be chosen are skipped;
    a pool goes with its last member. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdint.h>

#include "pool.h"

static size_t
s_load (void *member, void *arg)
{
    (void) arg;
    return *(size_t *) member;
}

static void
test_the_least_loaded_member_then_each_in_turn (void **state)
{
    (void) state;
    pools_t *pools = pools_new ();
    assert_non_null (pools);
    size_t load[3] = { 0, 0, 0 };
    for (int i = 0; i < 3; i++)
        assert_int_equal (pools_join (pools, "work", &load[i]), 0);
    assert_int_equal (pools_join (pools, "work", &load[1]), 0); //  once only
    assert_int_equal (pools_size (pools, "work"), 3);
    assert_int_equal (pools_size (pools, "other"), 0);
    assert_null (pools_pick (pools, "other", s_load, NULL));
    //  Equal loads: in turn, twice round.
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < 3; i++)
            assert_ptr_equal (pools_pick (pools, "work", s_load, NULL), &load[i]);
    //  The least loaded wins whatever the turn.
    load[0] = 2;
    load[1] = 1;
    load[2] = 3;
    for (int i = 0; i < 3; i++)
        assert_ptr_equal (pools_pick (pools, "work", s_load, NULL), &load[1]);
    //  SIZE_MAX: never chosen; none left: NULL.
    load[1] = SIZE_MAX;
    assert_ptr_equal (pools_pick (pools, "work", s_load, NULL), &load[0]);
    load[0] = load[2] = SIZE_MAX;
    assert_null (pools_pick (pools, "work", s_load, NULL));
    pools_destroy (&pools);
    assert_null (pools);
}

static void
test_a_member_that_leaves_is_never_chosen_and_the_last_ends_the_pool (void **state)
{
    (void) state;
    pools_t *pools = pools_new ();
    size_t load[3] = { 0, 0, 0 };
    for (int i = 0; i < 3; i++)
        pools_join (pools, "work", &load[i]);
    assert_ptr_equal (pools_pick (pools, "work", s_load, NULL), &load[0]);
    assert_ptr_equal (pools_pick (pools, "work", s_load, NULL), &load[1]);
    //  The one whose turn is next leaves: the turn passes to the next.
    pools_leave (pools, "work", &load[2]);
    pools_leave (pools, "work", &load[2]); //  twice: nothing more
    assert_int_equal (pools_size (pools, "work"), 2);
    for (int i = 0; i < 4; i++)
        assert_ptr_equal (pools_pick (pools, "work", s_load, NULL), &load[i % 2]);
    pools_leave (pools, "work", &load[0]);
    for (int i = 0; i < 3; i++)
        assert_ptr_equal (pools_pick (pools, "work", s_load, NULL), &load[1]);
    pools_leave (pools, "work", &load[1]);
    assert_int_equal (pools_size (pools, "work"), 0);
    assert_null (pools_pick (pools, "work", s_load, NULL));
    pools_leave (pools, "nothing", &load[1]);
    pools_destroy (&pools);
    pools_destroy (&pools); //  NULL-safe
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_the_least_loaded_member_then_each_in_turn),
        cmocka_unit_test (test_a_member_that_leaves_is_never_chosen_and_the_last_ends_the_pool),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
