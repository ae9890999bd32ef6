/*
 * Validation of a parsed batch against a programme's catalog: each row's indicator, site,
 * period type, period (not in the future) and values (fitting the indicator's value type),
 * then the rows that share a key; rejects end up sorted by row.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/alloc.h"

#include "parse_internal.h"

/* The bounds of the value types, in words, for messages (the constants of obs_parse.h). */
#define COUNT_MAX_TEXT "10000000000"
#define RATIO_MAX_TEXT "1000000000"
/* (a floating constant may stand in an integer constant expression only as a cast's operand:
 * clang refuses the plain comparison) */
_Static_assert((long long)OBS_COUNT_MAX == 10000000000LL, "COUNT_MAX_TEXT says OBS_COUNT_MAX");
_Static_assert((long long)OBS_RATIO_MAX == 1000000000LL, "RATIO_MAX_TEXT says OBS_RATIO_MAX");

/* Why v does not fit the value type, or NULL. */
static const char *value_type_problem(enum value_type type, double v)
{
    switch (type) {
    case VALUE_COUNT:
        return v < 0 || v > OBS_COUNT_MAX || v != floor(v)
                   ? "a count must be a whole number from 0 to " COUNT_MAX_TEXT
                   : NULL;
    case VALUE_PERCENTAGE:
        return v < 0 || v > 100 ? "a percentage must be between 0 and 100" : NULL;
    case VALUE_RATIO:
        return v < 0 || v > OBS_RATIO_MAX ? "a ratio must be from 0 to " RATIO_MAX_TEXT : NULL;
    case VALUE_SCORE:
        return v < 0 || v > 4 || v != floor(v) ? "a score must be a whole number from 0 to 4"
                                               : NULL;
    }
    return NULL;
}

/* A numerator or denominator outside 0..OBS_COUNT_MAX. */
static bool part_out_of_range(bool has, double v)
{
    return has && (v < 0 || v > OBS_COUNT_MAX);
}

/* Value, numerator and denominator in range; rejects the row and returns false if not. */
static bool validate_values(struct obs_batch *b, struct obs_row *row,
                            const struct catalog_indicator *ind)
{
    const char *why = value_type_problem(ind->value_type, row->value);
    if (why != NULL) {
        parse_reject(b, row, "value", "out_of_range",
                     "value %.15g is out of range for %s \"%s\": %s", row->value,
                     parse_field_name(b, FIELD_INDICATOR), ind->code, why);
    } else if (part_out_of_range(row->has_numerator, row->numerator)) {
        parse_reject(b, row, "numerator", "out_of_range",
                     "numerator must be from 0 to " COUNT_MAX_TEXT ", not %.15g", row->numerator);
    } else if (part_out_of_range(row->has_denominator, row->denominator)) {
        parse_reject(b, row, "denominator", "out_of_range",
                     "denominator must be from 0 to " COUNT_MAX_TEXT ", not %.15g",
                     row->denominator);
    } else if (row->has_numerator && row->has_denominator && ind->value_type != VALUE_RATIO &&
               row->numerator > row->denominator) {
        parse_reject(b, row, "numerator", "out_of_range",
                     "numerator %.15g is larger than denominator %.15g", row->numerator,
                     row->denominator);
    }
    return !row->rejected;
}

/* The row's period as text, for a message. */
static const char *period_text(const struct obs_row *row, char buf[PERIOD_FORMAT_MAX])
{
    return period_format(row->period, buf, PERIOD_FORMAT_MAX) ? buf : "?";
}

static void validate_row(struct obs_batch *b, const struct catalog *cat, struct obs_row *row,
                         const int32_t current_start[4])
{
    const char *ind_name = parse_field_name(b, FIELD_INDICATOR),
               *site_name = parse_field_name(b, FIELD_SITE);
    const struct catalog_indicator *ind =
        catalog_find_indicator(cat, row->indicator, strlen(row->indicator));
    const struct catalog_site *site = catalog_find_site(cat, row->site, strlen(row->site));
    int32_t start = period_start(row->period);
    char period[PERIOD_FORMAT_MAX];
    if (ind == NULL)
        parse_reject(b, row, ind_name, "unknown_indicator",
                     "%s \"%s\" is not defined in this programme", ind_name, row->indicator);
    else if (site == NULL)
        parse_reject(b, row, site_name, "unknown_site", "%s \"%s\" is not a site of this programme",
                     site_name, row->site);
    else if (!site->member)
        parse_reject(b, row, site_name, "site_not_in_programme",
                     "%s \"%s\" does not take part in this programme", site_name, row->site);
    else if (row->period.type != ind->period_type)
        parse_reject(b, row, "period", "period_type_mismatch",
                     "period %s is %s but %s \"%s\" is reported %s", period_text(row, period),
                     period_type_name(row->period.type), ind_name, ind->code,
                     period_type_name(ind->period_type));
    else if (start > current_start[ind->period_type])
        parse_reject(b, row, "period", "future_period", "period %s has not begun yet",
                     period_text(row, period));
    if (row->rejected || !validate_values(b, row, ind))
        return;
    row->indicator_id = ind->id;
    row->site_id = site->id;
    row->period_start = start;
}

/* A row's key and its index, sorted to find the rows that share a key. */
struct row_key {
    int64_t indicator_id;
    int64_t site_id;
    int32_t period_start;
    uint32_t index;
};

static int row_key_order(const void *pa, const void *pb)
{
    const struct row_key *a = pa, *b = pb;
    if (a->indicator_id != b->indicator_id)
        return a->indicator_id < b->indicator_id ? -1 : 1;
    if (a->site_id != b->site_id)
        return a->site_id < b->site_id ? -1 : 1;
    if (a->period_start != b->period_start)
        return a->period_start < b->period_start ? -1 : 1;
    return (a->index > b->index) - (a->index < b->index);
}

static bool same_key(const struct row_key *a, const struct row_key *b)
{
    return a->indicator_id == b->indicator_id && a->site_id == b->site_id &&
           a->period_start == b->period_start;
}

/*
 * other[i]: the row number of another row with row i's key, 0 when it has none: the first
 * of a run names the second, the others the first. Sorting, not hashing: O(n log n)
 * whatever keys a client picks (ids are guessable, and a hash table that keys can crowd
 * into one cluster is quadratic).
 */
static void find_duplicates(const struct obs_batch *b, uint32_t *other)
{
    struct row_key *keys = xmalloc((b->n_rows + 1) * sizeof *keys);
    size_t n = 0;
    for (size_t i = 0; i < b->n_rows; i++) {
        const struct obs_row *row = &b->rows[i];
        if (!row->rejected)
            keys[n++] =
                (struct row_key){row->indicator_id, row->site_id, row->period_start, (uint32_t)i};
    }
    qsort(keys, n, sizeof *keys, row_key_order);
    for (size_t run = 0, end; run < n; run = end) {
        for (end = run + 1; end < n && same_key(&keys[run], &keys[end]); end++)
            other[keys[end].index] = b->rows[keys[run].index].row;
        if (end > run + 1)
            other[keys[run].index] = b->rows[keys[run + 1].index].row;
    }
    free(keys);
}

/* Rejects every row that shares its key with another. */
static void reject_duplicates(struct obs_batch *b)
{
    uint32_t *other = xcalloc(b->n_rows + 1, sizeof *other);
    find_duplicates(b, other);
    for (size_t i = 0; i < b->n_rows; i++) {
        struct obs_row *row = &b->rows[i];
        char period[PERIOD_FORMAT_MAX];
        if (other[i] == 0)
            continue;
        parse_reject(b, row, "", "duplicate_key",
                     "row %u has the same indicator, site and period (%s, %s, %s)", other[i],
                     row->indicator, row->site, period_text(row, period));
        b->rejects[b->n_rejects - 1].other_row = other[i];
    }
    free(other);
}

static int reject_order(const void *a, const void *b)
{
    uint32_t ra = ((const struct obs_reject *)a)->row, rb = ((const struct obs_reject *)b)->row;
    return (ra > rb) - (ra < rb);
}

bool obs_validate(struct obs_batch *batch, const struct catalog *cat, int32_t today)
{
    int32_t current_start[4];
    for (int type = PERIOD_WEEKLY; type <= PERIOD_YEARLY; type++)
        current_start[type] = period_start(period_containing((enum period_type)type, today));
    for (size_t i = 0; i < batch->n_rows; i++) {
        if (!batch->rows[i].rejected)
            validate_row(batch, cat, &batch->rows[i], current_start);
    }
    reject_duplicates(batch);
    if (batch->n_rejects > 1)
        qsort(batch->rejects, batch->n_rejects, sizeof *batch->rejects, reject_order);
    return true;
}
