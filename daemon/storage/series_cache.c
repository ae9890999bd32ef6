/*
 * The series hint of the ingest path: an open-addressing hash table (linear probing, at most
 * three quarters full, backward-shift deletion) of (programme, indicator, site) -> (series,
 * last day) in slots of 24 bytes, behind one mutex.
 */
#include "scaleupd/storage/series_cache.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/alloc.h"

/* 24 bytes: ids of up to 32 bits (a key with a larger id is not remembered: its batches
 * look it up, which costs time, never data). */
struct slot {
    uint32_t programme_id, indicator_id, site_id;
    int32_t last_day;
    int64_t series_id; /* 0: an empty slot (series ids start at 1) */
};

/* A key as a slot holds it. */
struct small_key {
    uint32_t programme_id, indicator_id, site_id;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct slot *slots;
static size_t n_slots; /* a power of two, or 0 */
static size_t count;

/* The key in 32 bits a field, or false when an id does not fit. */
static bool small_key_of(const struct series_key *k, struct small_key *out)
{
    if (k->programme_id < 0 || k->programme_id > UINT32_MAX || k->indicator_id < 0 ||
        k->indicator_id > UINT32_MAX || k->site_id < 0 || k->site_id > UINT32_MAX)
        return false;
    *out = (struct small_key){(uint32_t)k->programme_id, (uint32_t)k->indicator_id,
                              (uint32_t)k->site_id};
    return true;
}

static uint64_t key_hash(const struct small_key *k)
{
    uint64_t h = (uint64_t)k->programme_id * 0x9E3779B97F4A7C15ull;
    h ^= (uint64_t)k->indicator_id + 0x632BE59BD9B4E019ull + (h << 6) + (h >> 2);
    h ^= (uint64_t)k->site_id * 0xC2B2AE3D27D4EB4Full + (h << 6) + (h >> 2);
    return h ^ (h >> 29);
}

static uint64_t slot_hash(const struct slot *s)
{
    struct small_key k = {s->programme_id, s->indicator_id, s->site_id};
    return key_hash(&k);
}

static bool key_equal(const struct slot *s, const struct small_key *k)
{
    return s->programme_id == k->programme_id && s->indicator_id == k->indicator_id &&
           s->site_id == k->site_id;
}

/* The slot of key, or the empty slot where it would go; NULL before the first insert. */
static struct slot *find(const struct small_key *key)
{
    if (n_slots == 0)
        return NULL;
    size_t mask = n_slots - 1;
    for (size_t i = (size_t)key_hash(key) & mask;; i = (i + 1) & mask)
        if (slots[i].series_id == 0 || key_equal(&slots[i], key))
            return &slots[i];
}

static void reset(void)
{
    free(slots);
    slots = NULL;
    n_slots = count = 0;
}

/* Doubles the table (or starts over when it is as large as it may grow). Out of memory is
 * fatal (alloc.h). */
static void grow(void)
{
    if (count >= SERIES_CACHE_MAX)
        reset();
    size_t new_n = n_slots ? n_slots * 2 : 1024;
    struct slot *old = slots;
    size_t old_n = n_slots;
    slots = xcalloc(new_n, sizeof(*slots));
    n_slots = new_n;
    for (size_t i = 0; i < old_n; i++)
        if (old[i].series_id != 0) {
            struct small_key k = {old[i].programme_id, old[i].indicator_id, old[i].site_id};
            *find(&k) = old[i];
        }
    free(old);
}

bool series_cache_get(const struct series_key *key, int64_t *series_id, int32_t *last_day)
{
    struct small_key k;
    if (!small_key_of(key, &k))
        return false;
    pthread_mutex_lock(&lock);
    const struct slot *s = find(&k);
    bool found = s != NULL && s->series_id != 0;
    if (found)
        *series_id = s->series_id, *last_day = s->last_day;
    pthread_mutex_unlock(&lock);
    return found;
}

void series_cache_note(const struct series_key *key, int64_t series_id, int32_t last_day)
{
    struct small_key k;
    if (series_id <= 0 || !small_key_of(key, &k))
        return;
    pthread_mutex_lock(&lock);
    struct slot *s = find(&k);
    /* at most three quarters full: linear probing stays short, and the table holds
     * SERIES_CACHE_MAX series before it starts over */
    if (s == NULL || (s->series_id == 0 && (count + 1) * 4 > n_slots * 3)) {
        grow();
        s = find(&k);
    }
    if (s != NULL) {
        if (s->series_id == 0) {
            *s = (struct slot){k.programme_id, k.indicator_id, k.site_id, last_day, 0};
            count++;
        }
        if (s->series_id != series_id || last_day > s->last_day)
            s->last_day = last_day;
        s->series_id = series_id;
    }
    pthread_mutex_unlock(&lock);
}

void series_cache_raise(const struct series_key *key, int32_t day)
{
    struct small_key k;
    if (!small_key_of(key, &k))
        return;
    pthread_mutex_lock(&lock);
    struct slot *s = find(&k);
    if (s != NULL && s->series_id != 0 && day > s->last_day)
        s->last_day = day;
    pthread_mutex_unlock(&lock);
}

void series_cache_forget(const struct series_key *key)
{
    struct small_key k;
    if (!small_key_of(key, &k))
        return;
    pthread_mutex_lock(&lock);
    struct slot *s = find(&k);
    if (s != NULL && s->series_id != 0) {
        /* backward-shift deletion keeps every probe chain unbroken */
        size_t mask = n_slots - 1, i = (size_t)(s - slots);
        for (size_t j = (i + 1) & mask; slots[j].series_id != 0; j = (j + 1) & mask) {
            size_t home = (size_t)slot_hash(&slots[j]) & mask;
            /* slots[j] may move to i when its home is not in (i, j] (cyclically) */
            bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
            if (!stays) {
                slots[i] = slots[j];
                i = j;
            }
        }
        memset(&slots[i], 0, sizeof(slots[i]));
        count--;
    }
    pthread_mutex_unlock(&lock);
}

void series_cache_clear(void)
{
    pthread_mutex_lock(&lock);
    reset();
    pthread_mutex_unlock(&lock);
}

long series_cache_size(void)
{
    pthread_mutex_lock(&lock);
    long n = (long)count;
    pthread_mutex_unlock(&lock);
    return n;
}
