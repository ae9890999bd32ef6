/*
 * DHIS2's CSV data values (application/csv, libcsv): columns by position as dhis2-core's
 * CsvDataValueSetReader reads them — data element, period, organisation unit, category
 * option combination, attribute option combination, value, stored by, last updated,
 * comment, follow-up, deleted — with or without a header row. Each record is kept (its
 * fields cut to what a row can hold) and read into a row at its end; the columns a short
 * record lacks are empty, as DHIS2's CsvReader.get reads them (a delete by key needs none
 * after the organisation unit).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <csv.h>

#include "scaleupd/core/alloc.h"
#include "scaleupd/core/period.h"

#include "parse_scalar.h"

#define DCSV_COLUMNS 11           /* CsvDataValueSetReader's; more are ignored, as DHIS2 does */
#define DCSV_KEEP OBS_COMMENT_MAX /* bytes kept of a field; its full length is kept too */
#define DCSV_CHUNK 65536

enum dcsv_column {
    COL_DATA_ELEMENT,
    COL_PERIOD,
    COL_ORG_UNIT,
    COL_COC,
    COL_AOC,
    COL_VALUE,
    COL_STORED_BY,
    COL_LAST_UPDATED,
    COL_COMMENT,
    COL_FOLLOWUP,
    COL_DELETED,
};

struct dcsv_state {
    struct obs_batch *b;
    struct obs_parse_error *err;
    enum obs_parse_status status;
    bool header_pending; /* the first record may be a header (firstRowIsHeader) */
    size_t n_fields;     /* of the current record */
    bool any_content;
    size_t len[DCSV_COLUMNS];
    char field[DCSV_COLUMNS][DCSV_KEEP + 1];
};

static void dcsv_on_field(void *field, size_t n, void *data)
{
    struct dcsv_state *st = data;
    size_t index = st->n_fields++;
    if (st->status != OBS_PARSE_OK || index >= DCSV_COLUMNS)
        return;
    size_t keep = n < DCSV_KEEP ? n : DCSV_KEEP;
    if (keep > 0)
        memcpy(st->field[index], field, keep);
    st->field[index][keep] = '\0';
    st->len[index] = n;
    st->any_content |= n > 0;
}

/* A code column (data element, organisation unit) into dst, or a problem. */
static bool dcsv_code(const struct dcsv_state *st, struct obs_row *row, enum obs_field f,
                      enum dcsv_column c, char *dst, struct obs_reject *pr)
{
    size_t n = st->len[c];
    enum text_status status =
        n > OBS_CODE_MAX ? TEXT_TOO_LONG : scalar_text_check(st->field[c], n, true);
    if (!scalar_code_status(st->b, row, f, status, n, pr))
        return false;
    memcpy(dst, st->field[c], n + 1);
    return true;
}

/* The record's storedby, in the batch's arena. */
static bool dcsv_stored_by(struct dcsv_state *st, struct obs_row *row, struct obs_reject *pr)
{
    size_t n = st->len[COL_STORED_BY];
    row->stored_by = NULL;
    if (n == 0)
        return true;
    if (n > OBS_STORED_BY_MAX)
        return parse_problem(pr, row, "storedBy", "too_long", "storedBy is longer than %d bytes",
                             OBS_STORED_BY_MAX);
    if (scalar_text_check(st->field[COL_STORED_BY], n, false) != TEXT_OK)
        return parse_problem(pr, row, "storedBy", "invalid_value",
                             "storedBy is not UTF-8 text without control characters");
    char *text = parse_arena_alloc(st->b, n + 1);
    memcpy(text, st->field[COL_STORED_BY], n + 1);
    row->stored_by = text;
    return true;
}

/* The option combinations, the comment, deleted, followup and storedBy of the record. */
static bool dcsv_extras(struct dcsv_state *st, struct obs_row *row, struct obs_reject *pr)
{
    char shown[SHOWN_MAX];
    if (st->len[COL_COC] > OBS_CODE_MAX)
        return parse_problem(pr, row, "categoryOptionCombo", "too_long",
                             "categoryOptionCombo is longer than %d bytes", OBS_CODE_MAX);
    memcpy(row->category_option_combo, st->field[COL_COC], st->len[COL_COC] + 1);
    const char *aoc = st->field[COL_AOC];
    if (st->len[COL_AOC] > 0 && strcmp(aoc, "HllvX50cXC0") != 0 && strcmp(aoc, "default") != 0)
        return parse_problem(pr, row, "attributeOptionCombo", "not_mapped",
                             "attributeOptionCombo \"%s\" is not mapped: scaleupd takes the "
                             "default attribute option combination only",
                             parse_shown(shown, aoc, st->len[COL_AOC]));
    size_t n = st->len[COL_COMMENT];
    if (n > 0) {
        enum text_status status = n > OBS_COMMENT_MAX
                                      ? TEXT_TOO_LONG
                                      : scalar_text_check(st->field[COL_COMMENT], n, false);
        if (!scalar_code_status(st->b, row, FIELD_COMMENT, status, n, pr))
            return false;
        char *text = parse_arena_alloc(st->b, n + 1);
        memcpy(text, st->field[COL_COMMENT], n + 1);
        row->comment = text;
    }
    row->deleted = strcasecmp(st->field[COL_DELETED], "true") == 0; /* Boolean.valueOf */
    row->has_followup = st->len[COL_FOLLOWUP] > 0;
    row->followup = strcasecmp(st->field[COL_FOLLOWUP], "true") == 0; /* Boolean.parseBoolean */
    return dcsv_stored_by(st, row, pr);
}

/* The record just ended, as a row. */
static void dcsv_row(struct dcsv_state *st)
{
    struct obs_batch *b = st->b;
    struct obs_row *row = parse_row_slot(b);
    struct obs_reject pr;
    b->n_rows++;
    row->value_missing = st->len[COL_VALUE] == 0; /* a delete by key, or rejected later */
    bool ok = dcsv_code(st, row, FIELD_INDICATOR, COL_DATA_ELEMENT, row->indicator, &pr) &&
              dcsv_code(st, row, FIELD_SITE, COL_ORG_UNIT, row->site, &pr) &&
              (st->len[COL_PERIOD] > 0
                   ? scalar_put_period(b, row, st->field[COL_PERIOD], st->len[COL_PERIOD], &pr)
                   : scalar_code_status(b, row, FIELD_PERIOD, TEXT_OK, 0, &pr)) &&
              (row->value_missing ||
               (st->len[COL_VALUE] <= DCSV_KEEP
                    ? scalar_put_number(b, row, FIELD_VALUE, st->field[COL_VALUE],
                                        st->len[COL_VALUE], true, &row->value, &pr)
                    : scalar_code_status(b, row, FIELD_VALUE, TEXT_TOO_LONG, 0, &pr))) &&
              dcsv_extras(st, row, &pr);
    if (!ok)
        parse_reject_push(b, row, &pr);
}

/* Whether the record is a header: neither its value column is a number ("value") nor its
 * period column a period ("period"), so that a first delete by key without a value is kept. */
static bool dcsv_is_header(const struct dcsv_state *st)
{
    double v;
    struct number_text t;
    struct period p;
    const char *value = st->field[COL_VALUE], *period = st->field[COL_PERIOD];
    return !scalar_number_fast(value, st->len[COL_VALUE], &v) &&
           scalar_number_scan(value, st->len[COL_VALUE], true, &t) != NUM_OK &&
           period_parse_dhis2(period, st->len[COL_PERIOD], &p) != PERIOD_PARSE_OK;
}

static void dcsv_on_record(int terminator, void *data)
{
    struct dcsv_state *st = data;
    (void)terminator;
    if (st->status == OBS_PARSE_OK && st->n_fields > 0 && st->any_content) {
        st->b->work++;
        bool header = st->header_pending && dcsv_is_header(st);
        st->header_pending = false;
        if (header) {
            /* the header row: skipped, as DHIS2 skips it */
        } else if (st->b->n_rows == OBS_MAX_ROWS) {
            st->status =
                parse_doc_error(st->err, OBS_PARSE_TOO_MANY_ROWS, "too_many_rows", NULL, 0,
                                "more than the %d rows allowed in one batch", OBS_MAX_ROWS);
        } else {
            dcsv_row(st);
        }
    }
    st->n_fields = 0;
    st->any_content = false;
    memset(st->len, 0, sizeof(st->len));
    for (size_t i = 0; i < DCSV_COLUMNS; i++)
        st->field[i][0] = '\0';
}

/* libcsv's field buffer, capped as the other CSV parser caps it (a longer field fails). */
static void *dcsv_field_realloc(void *buffer, size_t size)
{
    return size > (size_t)OBS_CSV_FIELD_MAX + 256 ? NULL : xrealloc(buffer, size);
}

static enum obs_parse_status dcsv_run(struct dcsv_state *st, const char *body, size_t start,
                                      size_t len)
{
    struct csv_parser parser;
    (void)csv_init(&parser, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL);
    csv_set_realloc_func(&parser, dcsv_field_realloc);
    size_t failed_at = len + 1;
    for (size_t off = start; off < len && st->status == OBS_PARSE_OK; off += DCSV_CHUNK) {
        size_t n = len - off < DCSV_CHUNK ? len - off : DCSV_CHUNK;
        size_t done = csv_parse(&parser, body + off, n, dcsv_on_field, dcsv_on_record, st);
        if (done != n) {
            failed_at = off + done;
            break;
        }
    }
    if (failed_at > len && st->status == OBS_PARSE_OK &&
        csv_fini(&parser, dcsv_on_field, dcsv_on_record, st) != 0)
        failed_at = len;
    int error = csv_error(&parser);
    csv_free(&parser);
    if (failed_at <= len)
        return error == CSV_EPARSE
                   ? parse_doc_error(st->err, OBS_PARSE_MALFORMED, "malformed_csv", body,
                                     failed_at < len ? failed_at : len - 1,
                                     "not CSV: a quote inside an unquoted field or a quoted "
                                     "field never closed")
                   : parse_doc_error(st->err, OBS_PARSE_TOO_LARGE, "too_large", body, failed_at,
                                     "a field is longer than %d bytes", OBS_CSV_FIELD_MAX);
    return st->status;
}

enum obs_parse_status obs_parse_dhis2_csv(const char *body, size_t len, bool first_row_is_header,
                                          struct obs_batch *batch, struct obs_parse_error *err)
{
    parse_begin(batch, err, OBS_FORMAT_DHIS2);
    if (len > OBS_MAX_BODY)
        return parse_end(batch, parse_doc_error(err, OBS_PARSE_TOO_LARGE, "too_large", NULL, 0,
                                                "the body is larger than %u bytes", OBS_MAX_BODY));
    struct dcsv_state *st = xcalloc(1, sizeof(*st));
    st->b = batch, st->err = err, st->header_pending = first_row_is_header;
    size_t start = len >= 3 && memcmp(body, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
    enum obs_parse_status status = dcsv_run(st, body, start, len);
    free(st);
    if (status == OBS_PARSE_OK && batch->n_rows == 0)
        status = parse_doc_error(err, OBS_PARSE_EMPTY, "empty_batch", NULL, 0,
                                 "the CSV holds no data values");
    return parse_end(batch, status);
}
