/*
 * What the ingest validator needs to know about one programme: its indicators (id, value
 * type, period type) and the sites it may receive data for, looked up by code.
 *
 * The storage layer fills a catalog from the database; obs_validate reads it. A catalog is
 * not synchronised: fill it from one thread, then any number of threads may read it as long
 * as nobody adds to it.
 */
#ifndef SCALEUPD_CATALOG_H
#define SCALEUPD_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scaleupd/core/period.h"

/* Codes (indicator and site) are at most this many bytes; a longer code is never found. */
#define CATALOG_CODE_MAX 63

enum value_type {
    VALUE_COUNT,      /* whole number >= 0 */
    VALUE_PERCENTAGE, /* 0..100 */
    VALUE_RATIO,      /* >= 0 */
    VALUE_SCORE,      /* ordinal 0..4, whole number */
};

struct catalog_indicator {
    char code[CATALOG_CODE_MAX + 1];
    int64_t id;
    enum value_type value_type;
    enum period_type period_type;
};

struct catalog_site {
    char code[CATALOG_CODE_MAX + 1];
    int64_t id;
    bool member; /* the site takes part in the programme (not merely a known site) */
};

struct catalog;

/*
 * Parses "count", "percentage", "ratio" or "score" (exact, NUL-terminated) into *out.
 * Returns false, leaving *out alone, for anything else.
 */
__attribute__((warn_unused_result)) bool value_type_from_name(const char *name,
                                                              enum value_type *out);

/* The lower-case name of a value type ("percentage"); a static string, "unknown" if invalid. */
const char *value_type_name(enum value_type type);

/* A new, empty catalog owned by the caller (free with catalog_free); never NULL. */
struct catalog *catalog_new(void);

/* Frees the catalog and everything in it and sets *cat to NULL. NULL and *cat == NULL are ok. */
void catalog_free(struct catalog **cat);

/*
 * Adds an indicator, or replaces the one with the same code. code is NUL-terminated, 1 to
 * CATALOG_CODE_MAX bytes. Returns false when the code is empty or too long; the catalog is
 * then unchanged. (Out of memory is fatal, alloc.h.)
 */
__attribute__((warn_unused_result)) bool catalog_add_indicator(struct catalog *cat,
                                                               const char *code, int64_t id,
                                                               enum value_type value_type,
                                                               enum period_type period_type);

/*
 * Adds a site, or replaces the one with the same code. member says whether the site takes
 * part in this programme: data for a known site that is not a member is rejected as
 * site_not_in_programme, not as unknown_site. Same code rules and result as
 * catalog_add_indicator.
 */
__attribute__((warn_unused_result)) bool catalog_add_site(struct catalog *cat, const char *code,
                                                          int64_t id, bool member);

/*
 * The entry whose code is exactly the len bytes at code (no NUL needed), or NULL. The
 * pointer belongs to the catalog and stays valid until the next add or catalog_free.
 */
const struct catalog_indicator *catalog_find_indicator(const struct catalog *cat, const char *code,
                                                       size_t len);
const struct catalog_site *catalog_find_site(const struct catalog *cat, const char *code,
                                             size_t len);

/* Number of indicators / sites in the catalog. */
size_t catalog_indicator_count(const struct catalog *cat);
size_t catalog_site_count(const struct catalog *cat);

#endif /* SCALEUPD_CATALOG_H */
