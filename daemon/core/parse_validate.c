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

/* Why v does not fit the value type, or NULL. */
static const char *value_type_problem(enum value_type type, double v)
{
    switch (type) {
    case VALUE_COUNT:
        return v < 0 || v != floor(v) ? "a count must be a whole number of 0 or more" : NULL;
    case VALUE_PERCENTAGE:
        return v < 0 || v > 100 ? "a percentage must be between 0 and 100" : NULL;
    case VALUE_RATIO:
        return v < 0 ? "a ratio must be 0 or more" : NULL;
    case VALUE_SCORE:
        return v < 0 || v > 4 || v != floor(v) ? "a score must be a whole number from 0 to 4"
                                               : NULL;
    }
    return NULL;
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
    } else if (row->has_numerator && row->numerator < 0) {
        parse_reject(b, row, "numerator", "out_of_range", "numerator must be 0 or more, not %.15g",
                     row->numerator);
    } else if (row->has_denominator && row->denominator < 0) {
        parse_reject(b, row, "denominator", "out_of_range",
                     "denominator must be 0 or more, not %.15g", row->denominator);
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

static uint64_t key_hash(const struct obs_row *row)
{
    uint64_t h = (uint64_t)row->indicator_id * 0x9E3779B97F4A7C15u;
    h ^= (uint64_t)row->site_id * 0xC2B2AE3D27D4EB4Fu;
    h ^= (uint64_t)(uint32_t)row->period_start * 0x165667B19E3779F9u;
    return h ^ (h >> 29);
}

static bool same_key(const struct obs_row *a, const struct obs_row *b)
{
    return a->indicator_id == b->indicator_id && a->site_id == b->site_id &&
           a->period_start == b->period_start;
}

/* other[i]: the row number of another row with row i's key, 0 when it has none. */
static void find_duplicates(const struct obs_batch *b, uint32_t *slots, size_t mask,
                            uint32_t *other)
{
    for (size_t i = 0; i < b->n_rows; i++) {
        const struct obs_row *row = &b->rows[i];
        if (row->rejected)
            continue;
        size_t j = key_hash(row) & mask;
        while (slots[j] != 0 && !same_key(&b->rows[slots[j] - 1], row))
            j = (j + 1) & mask;
        if (slots[j] == 0) {
            slots[j] = (uint32_t)i + 1;
            continue;
        }
        size_t first = slots[j] - 1;
        if (other[first] == 0)
            other[first] = row->row;
        other[i] = b->rows[first].row;
    }
}

/* Rejects every row that shares its key with another (the table is bounded by the rows). */
static void reject_duplicates(struct obs_batch *b)
{
    size_t n_slots = 16;
    while (n_slots < 2 * b->n_rows)
        n_slots *= 2;
    uint32_t *slots = xcalloc(n_slots, sizeof *slots);
    uint32_t *other = xcalloc(b->n_rows + 1, sizeof *other);
    find_duplicates(b, slots, n_slots - 1, other);
    for (size_t i = 0; i < b->n_rows; i++) {
        struct obs_row *row = &b->rows[i];
        char period[PERIOD_FORMAT_MAX];
        if (other[i] != 0)
            parse_reject(b, row, "", "duplicate_key",
                         "row %u has the same indicator, site and period (%s, %s, %s)", other[i],
                         row->indicator, row->site, period_text(row, period));
    }
    free(slots);
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
