/*
 * CSV observations (RFC 4180, libcsv): the header names the columns, then each field is
 * read as it comes by the reader of its column. libcsv's field buffer is capped
 * (OBS_CSV_FIELD_MAX); a field over it fails the document.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <csv.h>

#include "scaleupd/core/alloc.h"

#include "parse_scalar.h"

#define CSV_CHUNK 65536
#define CSV_FIELD_SLACK 256 /* bytes of libcsv's field buffer beyond OBS_CSV_FIELD_MAX */

struct csv_state {
    struct obs_batch *b;
    struct obs_parse_error *err;
    enum obs_parse_status status;
    bool in_header;
    size_t n_columns;
    enum obs_field columns[FIELD_COUNT]; /* field of each column */
    unsigned seen;                       /* bit per field named in the header */
    size_t unnamed_column;               /* 1-based index of a header column with no name */
    size_t field_index;                  /* fields seen in the current record */
    bool any_content;                    /* a field of the current record is not empty */
    unsigned empty; /* bit per column of a required field left empty in the current record */
    struct obs_row *row;
    enum obs_field pending_field; /* FIELD_COUNT when the record has no problem yet */
    struct obs_reject pending;
    struct obs_reject scratch; /* a field's problem, before it is compared with pending */
};

/* Kept out of csv_on_field so that the per-field callback stays small. */
__attribute__((noinline)) static void csv_header_field(struct csv_state *st, size_t index,
                                                       const char *s, size_t n)
{
    char text[SHOWN_MAX];
    int f = -1;
    for (int i = 0; i < FIELD_COUNT && f < 0; i++) {
        if (obs_field_keys[i].len == n && strncasecmp(obs_field_keys[i].text, s, n) == 0)
            f = i;
    }
    if (n == 0) {
        if (st->unnamed_column == 0)
            st->unnamed_column = index + 1;
    } else if (f < 0 && (memchr(s, ';', n) != NULL || memchr(s, '\t', n) != NULL)) {
        /* a spreadsheet saved with the separator of its locale (semicolons in much of Europe) */
        st->status = parse_doc_error(
            st->err, OBS_PARSE_INVALID_SHAPE, "unknown_column", NULL, 0,
            "unknown column \"%s\" in the header: columns must be separated by commas, not by %s"
            " (in a spreadsheet, save as CSV with commas)",
            parse_shown(text, s, n), memchr(s, ';', n) != NULL ? "semicolons" : "tabs");
    } else if (f < 0) {
        st->status =
            parse_doc_error(st->err, OBS_PARSE_INVALID_SHAPE, "unknown_column", NULL, 0,
                            "unknown column \"%s\" in the header; expected indicator, site, "
                            "period, value, numerator, denominator, comment",
                            parse_shown(text, s, n));
    } else if (st->seen & (1u << f)) {
        st->status =
            parse_doc_error(st->err, OBS_PARSE_INVALID_SHAPE, "duplicate_column", NULL, 0,
                            "column \"%s\" appears twice in the header", obs_field_keys[f].text);
    } else if (index < FIELD_COUNT) {
        st->seen |= 1u << f;
        st->columns[index] = (enum obs_field)f;
    }
    /* a new field past column FIELD_COUNT means an earlier column had no name: the header
     * fails at its end, so columns[] never needs more than FIELD_COUNT entries */
}

static void csv_header_end(struct csv_state *st)
{
    if (st->unnamed_column != 0) {
        st->status = parse_doc_error(st->err, OBS_PARSE_INVALID_SHAPE, "unknown_column", NULL, 0,
                                     "column %zu of the header has no name", st->unnamed_column);
        return;
    }
    for (int f = FIELD_INDICATOR; f <= FIELD_VALUE; f++) {
        if (!(st->seen & (1u << f))) {
            st->status =
                parse_doc_error(st->err, OBS_PARSE_INVALID_SHAPE, "missing_column", NULL, 0,
                                "the header has no \"%s\" column", obs_field_keys[f].text);
            return;
        }
    }
    st->n_columns = st->field_index;
    st->in_header = false;
}

static bool csv_code(const struct obs_batch *b, struct obs_row *row, enum obs_field f,
                     const char *s, size_t n, char *dst, struct obs_reject *pr)
{
    if (n > 0 && n <= OBS_CODE_MAX && scalar_plain_copy(dst, s, n, false)) {
        dst[n] = '\0';
        return true;
    }
    enum text_status status = n > OBS_CODE_MAX ? TEXT_TOO_LONG : scalar_text_check(s, n, true);
    if (!scalar_code_status(b, row, f, status, n, pr))
        return false;
    memcpy(dst, s, n);
    dst[n] = '\0';
    return true;
}

static bool csv_comment(struct obs_batch *b, struct obs_row *row, const char *s, size_t n,
                        struct obs_reject *pr)
{
    enum text_status status = n > OBS_COMMENT_MAX ? TEXT_TOO_LONG : scalar_text_check(s, n, false);
    if (!scalar_code_status(b, row, FIELD_COMMENT, status, n, pr))
        return false;
    char *text = parse_arena_alloc(b, n + 1);
    memcpy(text, s, n);
    text[n] = '\0';
    row->comment = text;
    return true;
}

/*
 * Readers of one CSV field each, indexed by enum obs_field: false when the field has a
 * problem, which is then described in st->scratch. An empty optional field is absent.
 */
static bool csv_read_indicator(struct csv_state *st, const char *s, size_t n)
{
    return csv_code(st->b, st->row, FIELD_INDICATOR, s, n, st->row->indicator, &st->scratch);
}

static bool csv_read_site(struct csv_state *st, const char *s, size_t n)
{
    return csv_code(st->b, st->row, FIELD_SITE, s, n, st->row->site, &st->scratch);
}

static bool csv_read_period(struct csv_state *st, const char *s, size_t n)
{
    if (n == 0)
        return scalar_code_status(st->b, st->row, FIELD_PERIOD, TEXT_OK, 0, &st->scratch);
    return scalar_put_period(st->b, st->row, s, n, &st->scratch);
}

static bool csv_read_value(struct csv_state *st, const char *s, size_t n)
{
    if (n == 0)
        return scalar_code_status(st->b, st->row, FIELD_VALUE, TEXT_OK, 0, &st->scratch);
    return scalar_put_number(st->b, st->row, FIELD_VALUE, s, n, true, &st->row->value,
                             &st->scratch);
}

static bool csv_read_numerator(struct csv_state *st, const char *s, size_t n)
{
    struct obs_row *row = st->row;
    if (n == 0)
        return true;
    row->has_numerator =
        scalar_put_number(st->b, row, FIELD_NUMERATOR, s, n, true, &row->numerator, &st->scratch);
    return row->has_numerator;
}

static bool csv_read_denominator(struct csv_state *st, const char *s, size_t n)
{
    struct obs_row *row = st->row;
    if (n == 0)
        return true;
    row->has_denominator = scalar_put_number(st->b, row, FIELD_DENOMINATOR, s, n, true,
                                             &row->denominator, &st->scratch);
    return row->has_denominator;
}

static bool csv_read_comment(struct csv_state *st, const char *s, size_t n)
{
    return n == 0 || csv_comment(st->b, st->row, s, n, &st->scratch);
}

static bool (*const csv_readers[FIELD_COUNT])(struct csv_state *, const char *, size_t) = {
    csv_read_indicator, csv_read_site,        csv_read_period,  csv_read_value,
    csv_read_numerator, csv_read_denominator, csv_read_comment,
};

/* Keeps the problem in st->scratch if it is the record's first by field order. */
__attribute__((noinline, cold)) static void csv_keep_problem(struct csv_state *st, enum obs_field f)
{
    st->b->work++; /* a message was built: the costly part of a bad field */
    if (f < st->pending_field) {
        st->pending = st->scratch;
        st->pending_field = f;
    }
}

/* A data record starts: its row slot. */
static void csv_row_begin(struct csv_state *st)
{
    st->row = parse_row_slot(st->b);
    st->pending_field = FIELD_COUNT;
}

/* A field (of the header, or of data record `row`) longer than OBS_CSV_FIELD_MAX. */
__attribute__((noinline, cold)) static void csv_field_too_long(struct csv_state *st, size_t index)
{
    if (st->in_header)
        st->status = parse_doc_error(st->err, OBS_PARSE_TOO_LARGE, "too_large", NULL, 0,
                                     "column %zu of the header is longer than %d bytes", index + 1,
                                     OBS_CSV_FIELD_MAX);
    else
        st->status = parse_doc_error(st->err, OBS_PARSE_TOO_LARGE, "too_large", NULL, 0,
                                     "field %zu of row %zu is longer than %d bytes", index + 1,
                                     st->b->n_rows + 1, OBS_CSV_FIELD_MAX);
}

/* libcsv's field callback: kept small, since it runs for every field. */
static void csv_on_field(void *field, size_t n, void *data)
{
    struct csv_state *st = data;
    size_t index = st->field_index++;
    const char *s = field != NULL ? field : "";
    if (st->status != OBS_PARSE_OK)
        return;
    if (n > OBS_CSV_FIELD_MAX) {
        csv_field_too_long(st, index);
        return;
    }
    st->any_content |= n > 0;
    if (st->in_header) {
        csv_header_field(st, index, s, n);
        return;
    }
    if (index == 0)
        csv_row_begin(st);
    if (index >= st->n_columns)
        return;
    if (n == 0) { /* absent if optional; if required, missing unless the record is blank */
        if (st->columns[index] <= FIELD_VALUE)
            st->empty |= 1u << index;
    } else if (!csv_readers[st->columns[index]](st, s, n))
        csv_keep_problem(st, st->columns[index]);
}

/*
 * The empty required fields of a record that is not blank, read now: a blank record costs
 * no reader and no message, so that blank records, which count against no row cap, stay
 * as cheap as blank lines. Problems are kept by field order, so reading these last
 * changes nothing.
 */
__attribute__((noinline)) static void csv_read_empty(struct csv_state *st)
{
    for (size_t index = 0; index < st->n_columns; index++) {
        if ((st->empty & (1u << index)) && !csv_readers[st->columns[index]](st, "", 0))
            csv_keep_problem(st, st->columns[index]);
    }
}

static void csv_on_record(int terminator, void *data)
{
    struct csv_state *st = data;
    struct obs_batch *b = st->b;
    (void)terminator;
    if (st->status != OBS_PARSE_OK || st->field_index == 0)
        return;
    b->work++;
    if (!st->any_content) {
        /* a blank record: skipped, not counted */
    } else if (st->in_header) {
        csv_header_end(st);
    } else if (b->n_rows == OBS_MAX_ROWS) {
        st->status = parse_doc_error(st->err, OBS_PARSE_TOO_MANY_ROWS, "too_many_rows", NULL, 0,
                                     "more than the %d rows allowed in one batch", OBS_MAX_ROWS);
    } else {
        b->n_rows++;
        if (st->empty != 0)
            csv_read_empty(st);
        if (st->field_index != st->n_columns)
            parse_reject(b, st->row, "", "column_count",
                         "expected %zu fields as in the header, found %zu", st->n_columns,
                         st->field_index);
        else if (st->pending_field != FIELD_COUNT)
            parse_reject_push(b, st->row, &st->pending);
    }
    st->field_index = 0;
    st->any_content = false;
    st->empty = 0;
    st->unnamed_column = 0;
}

/* Offset of the opening quote of a quoted field still open at the end of s, or len. */
static size_t csv_open_quote(const char *s, size_t len)
{
    size_t open = len;
    bool quoted = false, field_start = true;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (quoted) {
            if (c == '"' && i + 1 < len && s[i + 1] == '"')
                i++;
            else if (c == '"')
                quoted = false;
        } else if (c == '"' && field_start) {
            quoted = true;
            field_start = false;
            open = i;
        } else if (c == ',' || c == '\n' || c == '\r') {
            field_start = true;
        } else if (c != ' ' && c != '\t') {
            field_start = false;
        }
    }
    return quoted ? open : len;
}

/* A libcsv parse error at offset (len: at the end) of body, whose CSV starts at start. */
static enum obs_parse_status csv_syntax_error(const char *body, size_t start, size_t len,
                                              size_t offset, struct obs_parse_error *err)
{
    if (offset >= len) {
        struct obs_parse_error where;
        size_t open = start + csv_open_quote(body + start, len - start);
        parse_set_position(&where, body, open);
        return parse_doc_error(err, OBS_PARSE_MALFORMED, "unterminated_quote", body, open,
                               "the quoted field opened on line %u is never closed", where.line);
    }
    return parse_doc_error(err, OBS_PARSE_MALFORMED, "malformed_csv", body, offset,
                           body[offset] == '"'
                               ? "a quote inside an unquoted field (quote the whole "
                                 "field and double the quote)"
                               : "only a comma or a line end may follow a closing quote");
}

static bool csv_blank(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (!parse_is_space(s[i]))
            return false;
    }
    return true;
}

/*
 * libcsv grows its field buffer through this. Past the cap it refuses, which libcsv
 * reports as CSV_ENOMEM: the field is too long (csv_failure). Below it, running out of
 * memory is fatal (alloc.h). Besides the field, the buffer holds for a while a quoted
 * field's closing quote and the spaces after an unquoted one (trimmed at its end), and
 * libcsv keeps a byte free for the next character and one for the NUL: CSV_FIELD_SLACK
 * leaves room for those, and csv_on_field checks the field itself.
 */
static void *csv_field_realloc(void *buffer, size_t size)
{
    return size > (size_t)OBS_CSV_FIELD_MAX + CSV_FIELD_SLACK ? NULL : xrealloc(buffer, size);
}

/* Why libcsv stopped at offset of body: bad syntax, or a field over the cap. */
static enum obs_parse_status csv_failure(struct csv_parser *parser, const char *body, size_t start,
                                         size_t len, size_t offset, struct obs_parse_error *err)
{
    if (csv_error(parser) == CSV_EPARSE)
        return csv_syntax_error(body, start, len, offset, err);
    return parse_doc_error(err, OBS_PARSE_TOO_LARGE, "too_large", body, offset,
                           "a field is longer than %d bytes", OBS_CSV_FIELD_MAX);
}

/* Feeds the body to libcsv in chunks, stopping early at a document error. */
static enum obs_parse_status csv_run(struct csv_state *st, struct csv_parser *parser,
                                     const char *body, size_t start, size_t len)
{
    for (size_t off = start; off < len && st->status == OBS_PARSE_OK; off += CSV_CHUNK) {
        size_t n = len - off < CSV_CHUNK ? len - off : CSV_CHUNK;
        size_t done = csv_parse(parser, body + off, n, csv_on_field, csv_on_record, st);
        if (done != n)
            return csv_failure(parser, body, start, len, off + done, st->err);
    }
    if (st->status == OBS_PARSE_OK && csv_fini(parser, csv_on_field, csv_on_record, st) != 0)
        return csv_failure(parser, body, start, len, len, st->err);
    return st->status;
}

static enum obs_parse_status csv_observations(struct obs_batch *b, const char *body, size_t len,
                                              struct obs_parse_error *err)
{
    struct csv_parser parser;
    struct csv_state st = {.b = b, .err = err, .in_header = true, .pending_field = FIELD_COUNT};
    size_t start = len >= 3 && memcmp(body, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
    if (len > OBS_MAX_BODY)
        return parse_doc_error(err, OBS_PARSE_TOO_LARGE, "too_large", NULL, 0,
                               "the body is larger than %u bytes", OBS_MAX_BODY);
    if (csv_blank(body + start, len - start))
        return parse_doc_error(err, OBS_PARSE_EMPTY, "empty_body", NULL, 0,
                               "the body is empty: a header row is required");
    /* csv_init allocates nothing (the field buffer comes with the first field) and fails
     * only for a NULL parser */
    (void)csv_init(&parser, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL);
    csv_set_realloc_func(&parser, csv_field_realloc);
    enum obs_parse_status status = csv_run(&st, &parser, body, start, len);
    csv_free(&parser);
    if (status == OBS_PARSE_OK && st.in_header)
        return parse_doc_error(err, OBS_PARSE_EMPTY, "empty_body", NULL, 0,
                               "the body is empty: a header row is required");
    if (status == OBS_PARSE_OK && b->n_rows == 0)
        return parse_doc_error(err, OBS_PARSE_EMPTY, "empty_batch", NULL, 0,
                               "the CSV has a header but no rows");
    return status;
}

enum obs_parse_status obs_parse_csv(const char *body, size_t len, struct obs_batch *batch,
                                    struct obs_parse_error *err)
{
    parse_begin(batch, err, OBS_FORMAT_CSV);
    return parse_end(batch, csv_observations(batch, body, len, err));
}
