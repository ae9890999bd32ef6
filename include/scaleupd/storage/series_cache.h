/*
 * What the ingest path remembers between batches about each series it has stored to: the
 * series' id and the latest period known to be stored in it. A batch's rows for a known
 * series skip the lookup of their series, and rows after its latest period skip the lookup
 * of a stored value: they go in with a plain INSERT.
 *
 * It is a hint, never the truth: another daemon on the same database, or a rolled-back
 * transaction, can make it wrong, and the storage layer is built so that a wrong hint costs
 * time, never data (a "new" row that exists fails the plain INSERT, and the batch is then
 * upserted). Series ids are stable (series rows are never deleted while their indicator and
 * site exist), so an id, once learnt from a committed transaction, stays right: the storage
 * layer tells the hint only after its transaction commits (a series created by a rolled-back
 * dry run never existed), and starts it over on a new database session (a restore).
 *
 * Bounded: when it holds SERIES_CACHE_MAX series it starts over. A key whose programme,
 * indicator or site id exceeds 32 bits is not remembered (get says unknown). Safe to call
 * from any thread (one mutex; a batch takes it once per row, tens of nanoseconds each).
 */
#ifndef SCALEUPD_SERIES_CACHE_H
#define SCALEUPD_SERIES_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#define SERIES_CACHE_MAX 196608 /* series: a table of 6 MB at most (262,144 slots of 24 B) */

struct series_key {
    int64_t programme_id, indicator_id, site_id;
};

/* Finds a series: true with its id and the latest period (days since 1970) known to be
 * stored in it, false when the cache does not know it. */
bool series_cache_get(const struct series_key *key, int64_t *series_id, int32_t *last_day);

/* Remembers that series_id holds data up to last_day (the later of this and what the cache
 * knew: a stored row is never un-stored by a hint). */
void series_cache_note(const struct series_key *key, int64_t series_id, int32_t last_day);

/* Raises the latest day of a series the cache knows to day (when later); nothing otherwise. */
void series_cache_raise(const struct series_key *key, int32_t day);

/* Forgets a series, so that its next batch learns it again from the database (after a hint
 * proved wrong). */
void series_cache_forget(const struct series_key *key);

/* Forgets everything (tests; and a programme whose catalog changed may call it). */
void series_cache_clear(void);

/* How many series it holds. */
long series_cache_size(void);

#endif
