/*
 * Private to the ingest parser (obs_parse.h): the fields of a row and their names per
 * format, the messages of rejects and document errors (parse_errors.c), and the batch's
 * memory and the frame around every parse (parse_batch.c). Included only by
 * daemon/core/parse_*.c; nothing here is part of the public API.
 */
#ifndef SCALEUPD_CORE_PARSE_INTERNAL_H
#define SCALEUPD_CORE_PARSE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "scaleupd/core/obs_parse.h"

/* The fields of a row, in the order their problems are reported. */
enum obs_field {
    FIELD_INDICATOR,
    FIELD_SITE,
    FIELD_PERIOD,
    FIELD_VALUE,
    FIELD_NUMERATOR,
    FIELD_DENOMINATOR,
    FIELD_COMMENT,
    FIELD_COUNT,
    FIELD_ROW = FIELD_COUNT, /* the row as a whole */
};

/* A key or column name with its length, for lookups without strlen. */
struct field_key {
    const char *text;
    size_t len; /* 0 for a field the format does not have */
};
#define FIELD_KEY(text)                                                                            \
    {                                                                                              \
        text, sizeof text - 1                                                                      \
    }

/* Field names of our JSON and CSV; DHIS2 names indicator and site differently and has no
 * numerator or denominator ({NULL, 0}). Both indexed by enum obs_field. */
extern const struct field_key obs_field_keys[FIELD_COUNT];
extern const struct field_key dhis2_field_keys[FIELD_COUNT];

#define SHOWN_MAX OBS_REJECT_GIVEN_MAX /* buffer for untrusted text quoted in a message */

/* JSON whitespace (also what a blank CSV body holds). */
static inline bool parse_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* ---------------------------------------------------------------------------------------
 * Messages (parse_errors.c)
 */

/* The name of field f in the batch's format (a static string); "" for FIELD_ROW. */
const char *parse_field_name(const struct obs_batch *b, enum obs_field f);

/* Untrusted text for a message: printable ASCII kept, other bytes shown as '?', cut at 40
 * bytes (then "..." follows). Returns dst. */
const char *parse_shown(char dst[SHOWN_MAX], const char *s, size_t n);

/* Fills *pr with a problem of row (field, code, formatted message, cut at a UTF-8
 * boundary). Always returns false, so callers can `return parse_problem(...)`. */
bool parse_problem(struct obs_reject *pr, const struct obs_row *row, const char *field,
                   const char *code, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Keeps shown (parse_shown's text of the value *pr's problem is about) in pr->given, after
 * parse_problem. Always returns false. */
bool parse_given(struct obs_reject *pr, const char *shown);

/* Rejects row with one reject built as parse_problem builds it. */
void parse_reject(struct obs_batch *b, struct obs_row *row, const char *field, const char *code,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Fills *err with a document error (code, formatted message) and returns status. When
 * body is not NULL, offset (bytes into body) also gives the line and column; otherwise
 * err->line is 0. */
enum obs_parse_status parse_doc_error(struct obs_parse_error *err, enum obs_parse_status status,
                                      const char *code, const char *body, size_t offset,
                                      const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Sets err->offset, line and column (1-based, bytes) for offset in body. */
void parse_set_position(struct obs_parse_error *err, const char *body, size_t offset);

/* ---------------------------------------------------------------------------------------
 * Batch memory and the frame of a parse (parse_batch.c). Allocation failure is fatal
 * (alloc.h); every growth here is bounded by the input: rows and rejects by OBS_MAX_ROWS,
 * the arena by the body.
 */

/* Marks the row rejected and appends *r to the batch's rejects. */
void parse_reject_push(struct obs_batch *b, struct obs_row *row, const struct obs_reject *r);

/* n bytes in the batch's arena, which lives until the next parse into the batch. */
char *parse_arena_alloc(struct obs_batch *b, size_t n) __attribute__((returns_nonnull));

/* Room for want rows in b->rows. */
void parse_rows_reserve(struct obs_batch *b, size_t want);

/* The next row slot, zeroed and numbered, not yet counted in n_rows. */
struct obs_row *parse_row_slot(struct obs_batch *b) __attribute__((returns_nonnull));

/* DHIS2: a new group at the end of b->groups, zeroed (the batch owns it). */
struct obs_dhis2_group *parse_group_add(struct obs_batch *b) __attribute__((returns_nonnull));

/* Copies len bytes of text into dst (size bytes) NUL-terminated; false ("" in dst) when it
 * does not fit. */
bool parse_group_text(char *dst, size_t size, const char *text, size_t len);

/* Every parse starts here: empties the batch, sets its format, clears *err. */
void parse_begin(struct obs_batch *b, struct obs_parse_error *err, enum obs_format format);

/* And ends here: on a status other than OBS_PARSE_OK the batch is emptied. Returns status. */
enum obs_parse_status parse_end(struct obs_batch *b, enum obs_parse_status status);

#endif /* SCALEUPD_CORE_PARSE_INTERNAL_H */
