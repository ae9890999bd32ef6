/*
 * The words of the ingest parser's answers: the names of a row's fields per format, and
 * the messages of row rejects and document errors (where in the body, what is wrong),
 * always valid UTF-8 with untrusted text quoted safely.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "parse_internal.h"

const struct field_key obs_field_keys[FIELD_COUNT] = {
    FIELD_KEY("indicator"), FIELD_KEY("site"),        FIELD_KEY("period"),  FIELD_KEY("value"),
    FIELD_KEY("numerator"), FIELD_KEY("denominator"), FIELD_KEY("comment"),
};
const struct field_key dhis2_field_keys[FIELD_COUNT] = {
    FIELD_KEY("dataElement"),
    FIELD_KEY("orgUnit"),
    FIELD_KEY("period"),
    FIELD_KEY("value"),
    {NULL, 0},
    {NULL, 0},
    FIELD_KEY("comment"),
};

const char *parse_field_name(const struct obs_batch *b, enum obs_field f)
{
    if (f == FIELD_ROW)
        return "";
    if (b->format == OBS_FORMAT_DHIS2 && dhis2_field_keys[f].text != NULL)
        return dhis2_field_keys[f].text;
    return obs_field_keys[f].text;
}

/* vsnprintf that, when it truncates, does not leave half a UTF-8 sequence at the end. */
static void format_text(char *dst, size_t size, const char *fmt, va_list ap)
{
    int n = vsnprintf(dst, size, fmt, ap);
    if (n < 0) {
        dst[0] = '\0';
        return;
    }
    if ((size_t)n < size)
        return;
    size_t end = size - 1, lead = end;
    while (lead > 0 && ((unsigned char)dst[lead - 1] & 0xC0) == 0x80)
        lead--;
    if (lead == 0)
        return;
    unsigned char c = (unsigned char)dst[lead - 1];
    size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    if (lead - 1 + need > end)
        dst[lead - 1] = '\0';
}

const char *parse_shown(char dst[SHOWN_MAX], const char *s, size_t n)
{
    size_t keep = n > 40 ? 40 : n;
    for (size_t i = 0; i < keep; i++)
        dst[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    if (n > keep)
        memcpy(dst + keep, "...", 4);
    else
        dst[keep] = '\0';
    return dst;
}

bool parse_problem(struct obs_reject *pr, const struct obs_row *row, const char *field,
                   const char *code, const char *fmt, ...)
{
    va_list ap;
    pr->row = row->row;
    snprintf(pr->field, sizeof pr->field, "%s", field);
    snprintf(pr->code, sizeof pr->code, "%s", code);
    va_start(ap, fmt);
    format_text(pr->message, sizeof pr->message, fmt, ap);
    va_end(ap);
    pr->other_row = 0;
    pr->given[0] = '\0';
    return false;
}

bool parse_given(struct obs_reject *pr, const char *shown)
{
    snprintf(pr->given, sizeof pr->given, "%s", shown);
    return false;
}

void parse_reject(struct obs_batch *b, struct obs_row *row, const char *field, const char *code,
                  const char *fmt, ...)
{
    struct obs_reject r;
    va_list ap;
    r.row = row->row;
    snprintf(r.field, sizeof r.field, "%s", field);
    snprintf(r.code, sizeof r.code, "%s", code);
    va_start(ap, fmt);
    format_text(r.message, sizeof r.message, fmt, ap);
    va_end(ap);
    r.other_row = 0;
    r.given[0] = '\0';
    parse_reject_push(b, row, &r);
}

const char *obs_parse_status_name(enum obs_parse_status status)
{
    switch (status) {
    case OBS_PARSE_OK:
        return "ok";
    case OBS_PARSE_MALFORMED:
        return "malformed";
    case OBS_PARSE_INVALID_SHAPE:
        return "invalid_shape";
    case OBS_PARSE_EMPTY:
        return "empty";
    case OBS_PARSE_TOO_MANY_ROWS:
        return "too_many_rows";
    case OBS_PARSE_TOO_LARGE:
        return "too_large";
    case OBS_PARSE_NO_MEMORY:
        return "no_memory";
    }
    return "unknown";
}

void parse_set_position(struct obs_parse_error *err, const char *body, size_t offset)
{
    unsigned line = 1;
    size_t line_start = 0;
    const char *p = memchr(body, '\n', offset);
    while (p != NULL) {
        line++;
        line_start = (size_t)(p - body) + 1;
        p = memchr(p + 1, '\n', offset - line_start);
    }
    err->offset = offset;
    err->line = line;
    err->column = (unsigned)(offset - line_start + 1);
}

enum obs_parse_status parse_doc_error(struct obs_parse_error *err, enum obs_parse_status status,
                                      const char *code, const char *body, size_t offset,
                                      const char *fmt, ...)
{
    va_list ap;
    snprintf(err->code, sizeof err->code, "%s", code);
    va_start(ap, fmt);
    format_text(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    err->offset = 0;
    err->line = 0;
    err->column = 0;
    if (body != NULL)
        parse_set_position(err, body, offset);
    return status;
}
