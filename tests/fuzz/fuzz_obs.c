/*
 * One fuzz input through an ingest parser and obs_validate, as services/ingest.c runs them,
 * with the contracts of include/scaleupd/core/obs_parse.h checked on the result. The body is
 * copied to a buffer of exactly its size, so ASan sees any read past its end.
 */
#include "fuzz_obs.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "scaleupd/core/catalog.h"

/* "Today" of tests/unit/test_obs_parse.c: Sunday 2025-06-15. */
#define TODAY (20089 + 165)

/* The catalog of tests/unit/test_obs_parse.c: the example programme's indicators and sites,
 * a ratio, a weekly indicator, and a known site of another programme. */
static struct catalog *example_catalog(void)
{
    struct catalog *cat = catalog_new();
    FUZZ_CHECK(cat != NULL);
    bool ok =
        catalog_add_indicator(cat, "patients_enrolled", 1, VALUE_COUNT, PERIOD_MONTHLY) &&
        catalog_add_indicator(cat, "eligible_population", 2, VALUE_COUNT, PERIOD_MONTHLY) &&
        catalog_add_indicator(cat, "hba1c_tested_pct", 3, VALUE_PERCENTAGE, PERIOD_MONTHLY) &&
        catalog_add_indicator(cat, "bp_controlled_pct", 4, VALUE_PERCENTAGE, PERIOD_MONTHLY) &&
        catalog_add_indicator(cat, "inst_fee_code", 5, VALUE_SCORE, PERIOD_QUARTERLY) &&
        catalog_add_indicator(cat, "nurses_per_gp", 6, VALUE_RATIO, PERIOD_YEARLY) &&
        catalog_add_indicator(cat, "flu_visits", 7, VALUE_COUNT, PERIOD_WEEKLY) &&
        catalog_add_site(cat, "BE", 100, true) && catalog_add_site(cat, "BE-VLG", 101, true) &&
        catalog_add_site(cat, "BE-VLG-GP001", 110, true) &&
        catalog_add_site(cat, "BE-VLG-GP002", 111, true) &&
        catalog_add_site(cat, "NL-GP001", 900, false);
    FUZZ_CHECK(ok);
    return cat;
}

static enum obs_parse_status parse(enum obs_format format, const char *body, size_t len,
                                   struct obs_batch *batch, struct obs_parse_error *err)
{
    if (format == FUZZ_FORMAT_DHIS2_CSV)
        return obs_parse_dhis2_csv(body, len, true, batch, err);
    if (format == FUZZ_FORMAT_DHIS2_ADX)
        return obs_parse_dhis2_adx(body, len, batch, err);
    switch (format) {
    case OBS_FORMAT_CSV:
        return obs_parse_csv(body, len, batch, err);
    case OBS_FORMAT_DHIS2:
        return obs_parse_dhis2(body, len, batch, err);
    case OBS_FORMAT_JSON:
    case OBS_FORMAT_FHIR: /* fuzz_fhir, with its mapping */
        break;
    }
    return obs_parse_json(body, len, batch, err);
}

/* A document-level failure: a code and a message that are C strings, a batch with no rows. */
static void check_failure(const struct obs_batch *batch, const struct obs_parse_error *err)
{
    FUZZ_CHECK(fuzz_terminated(err->code, sizeof err->code) && err->code[0] != '\0');
    FUZZ_CHECK(fuzz_terminated(err->message, sizeof err->message));
    FUZZ_CHECK(fuzz_utf8_valid(err->message));
    FUZZ_CHECK(batch->n_rows == 0 && batch->n_rejects == 0);
}

static void check_row(const struct obs_row *row, size_t index)
{
    FUZZ_CHECK(row->row == index + 1);
    if (row->rejected)
        return;
    FUZZ_CHECK(fuzz_terminated(row->indicator, sizeof row->indicator));
    FUZZ_CHECK(fuzz_terminated(row->site, sizeof row->site));
    FUZZ_CHECK(row->indicator[0] != '\0' && row->site[0] != '\0');
    FUZZ_CHECK(fuzz_utf8_valid(row->indicator) && fuzz_utf8_valid(row->site));
    if (row->comment != NULL) {
        size_t n = strlen(row->comment);
        FUZZ_CHECK(n > 0 && n <= OBS_COMMENT_MAX && fuzz_utf8_valid(row->comment));
    }
}

static void check_reject(const struct obs_batch *batch, const struct obs_reject *r)
{
    FUZZ_CHECK(r->row >= 1 && r->row <= batch->n_rows);
    FUZZ_CHECK(batch->rows[r->row - 1].rejected);
    FUZZ_CHECK(fuzz_terminated(r->field, sizeof r->field));
    FUZZ_CHECK(fuzz_terminated(r->code, sizeof r->code) && r->code[0] != '\0');
    FUZZ_CHECK(fuzz_terminated(r->message, sizeof r->message));
    FUZZ_CHECK(fuzz_utf8_valid(r->message));
    FUZZ_CHECK(fuzz_terminated(r->given, sizeof r->given) && fuzz_utf8_valid(r->given));
    FUZZ_CHECK(r->other_row <= batch->n_rows && r->other_row != r->row);
}

/* A parsed batch: one row per input row numbered in order, one reject per rejected row. */
static void check_batch(const struct obs_batch *batch, bool validated)
{
    FUZZ_CHECK(batch->n_rows >= 1 && batch->n_rows <= OBS_MAX_ROWS);
    size_t rejected = 0;
    for (size_t i = 0; i < batch->n_rows; i++) {
        check_row(&batch->rows[i], i);
        rejected += batch->rows[i].rejected;
    }
    FUZZ_CHECK(batch->n_rejects == rejected);
    FUZZ_CHECK(obs_batch_accepted(batch) == batch->n_rows - rejected);
    for (size_t i = 0; i < batch->n_rejects; i++) {
        check_reject(batch, &batch->rejects[i]);
        if (validated && i > 0)
            FUZZ_CHECK(batch->rejects[i - 1].row <= batch->rejects[i].row);
    }
}

/* A fresh batch reads the body as the used one did: the same rows and the same rejects. */
static void check_reparse(const struct obs_batch *batch, enum obs_parse_status first,
                          enum obs_format format, const char *body, size_t len)
{
    struct obs_batch *again = obs_batch_new();
    FUZZ_CHECK(again != NULL);
    struct obs_parse_error err;
    FUZZ_CHECK(parse(format, body, len, again, &err) == first);
    FUZZ_CHECK(again->n_rows == batch->n_rows && again->n_rejects == batch->n_rejects);
    for (size_t i = 0; i < batch->n_rows; i++) {
        const struct obs_row *a = &batch->rows[i], *b = &again->rows[i];
        FUZZ_CHECK(a->rejected == b->rejected);
        FUZZ_CHECK(a->rejected ||
                   (strcmp(a->indicator, b->indicator) == 0 && strcmp(a->site, b->site) == 0 &&
                    period_compare(a->period, b->period) == 0));
    }
    for (size_t i = 0; i < batch->n_rejects; i++)
        FUZZ_CHECK(strcmp(batch->rejects[i].code, again->rejects[i].code) == 0);
    obs_batch_free(&again);
}

void fuzz_obs_input(const uint8_t *data, size_t size, enum obs_format format)
{
    char *body = malloc(size ? size : 1);
    FUZZ_CHECK(body != NULL);
    memcpy(body, data, size);
    struct obs_batch *batch = obs_batch_new();
    FUZZ_CHECK(batch != NULL);
    struct obs_parse_error err;
    /* twice into the same batch: the second parse must replace everything of the first */
    enum obs_parse_status st = parse(format, body, size, batch, &err);
    FUZZ_CHECK(parse(format, body, size, batch, &err) == st);
    if (st != OBS_PARSE_OK) {
        check_failure(batch, &err);
    } else {
        check_batch(batch, false);
        check_reparse(batch, st, format, body, size);
        struct catalog *cat = example_catalog();
        FUZZ_CHECK(obs_validate(batch, cat, TODAY));
        check_batch(batch, true);
        catalog_free(&cat);
    }
    obs_batch_free(&batch);
    FUZZ_CHECK(batch == NULL);
    free(body);
}
