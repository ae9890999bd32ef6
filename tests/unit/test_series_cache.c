/*
 * The ingest path's series hint: what is noted is found again, the latest day only moves
 * forward, forgetting one series leaves every other findable (backward-shift deletion over
 * colliding probe chains), the table grows and starts over at its bound, and a key with an
 * id past 32 bits is not remembered (nor mistaken for the key its low bits would make).
 */
#include <criterion/criterion.h>

#include "scaleupd/storage/series_cache.h"

static struct series_key key(int64_t p, int64_t i, int64_t s)
{
    return (struct series_key){p, i, s};
}

static void fresh(void)
{
    series_cache_clear();
}

TestSuite(series_cache, .init = fresh, .fini = fresh);

Test(series_cache, noted_series_are_found_and_days_only_move_forward)
{
    struct series_key k = key(1, 2, 3);
    int64_t id = -1;
    int32_t day = -1;
    cr_expect_not(series_cache_get(&k, &id, &day));
    series_cache_note(&k, 42, 20000);
    cr_assert(series_cache_get(&k, &id, &day));
    cr_expect_eq(id, 42);
    cr_expect_eq(day, 20000);
    series_cache_note(&k, 42, 19000); /* an older period revised: the latest stays */
    cr_assert(series_cache_get(&k, &id, &day));
    cr_expect_eq(day, 20000);
    series_cache_note(&k, 42, 20031);
    cr_assert(series_cache_get(&k, &id, &day));
    cr_expect_eq(day, 20031);
    struct series_key other = key(2, 2, 3); /* the same codes in another programme */
    cr_expect_not(series_cache_get(&other, &id, &day));
    series_cache_note(&k, 0, 1); /* not a series id: ignored */
    cr_expect_eq(series_cache_size(), 1);
}

Test(series_cache, forgetting_one_keeps_the_others)
{
    /* 5,000 series fill several probe chains of a 16,384-slot table */
    for (int64_t s = 1; s <= 5000; s++) {
        struct series_key k = key(1, s % 7, s);
        series_cache_note(&k, s, (int32_t)s);
    }
    cr_assert_eq(series_cache_size(), 5000);
    for (int64_t s = 1; s <= 5000; s += 3) {
        struct series_key k = key(1, s % 7, s);
        series_cache_forget(&k);
    }
    for (int64_t s = 1; s <= 5000; s++) {
        struct series_key k = key(1, s % 7, s);
        int64_t id = 0;
        int32_t day = 0;
        bool found = series_cache_get(&k, &id, &day);
        if ((s - 1) % 3 == 0) {
            cr_assert_not(found, "series %lld was forgotten", (long long)s);
        } else {
            cr_assert(found, "series %lld is still known", (long long)s);
            cr_assert_eq(id, s);
            cr_assert_eq(day, (int32_t)s);
        }
    }
    cr_expect_eq(series_cache_size(), 5000 - 1667);
}

Test(series_cache, starts_over_at_its_bound)
{
    for (int64_t s = 1; s <= SERIES_CACHE_MAX; s++) {
        struct series_key k = key(1, 1, s);
        series_cache_note(&k, s, 1);
    }
    cr_expect_eq(series_cache_size(), SERIES_CACHE_MAX);
    struct series_key k = key(1, 1, SERIES_CACHE_MAX + 1);
    series_cache_note(&k, SERIES_CACHE_MAX + 1, 1);
    cr_expect_eq(series_cache_size(), 1, "a full cache starts over");
    int64_t id;
    int32_t day;
    cr_expect(series_cache_get(&k, &id, &day));
}

Test(series_cache, ids_past_32_bits_are_not_remembered)
{
    struct series_key big = key(1, 2, ((int64_t)1 << 32) + 3), small = key(1, 2, 3);
    int64_t id = 0;
    int32_t day = 0;
    series_cache_note(&big, 7, 100);
    cr_expect_not(series_cache_get(&big, &id, &day));
    cr_expect_eq(series_cache_size(), 0);
    series_cache_note(&small, 8, 100);
    cr_assert(series_cache_get(&small, &id, &day));
    cr_expect_eq(id, 8);
    cr_expect_not(series_cache_get(&big, &id, &day));
}
