/*
 * ADX (application/adx+xml, IHE QRPH ADX as DHIS2 reads it) through libxml2's streaming
 * reader: <adx><group orgUnit period dataSet …><dataValue dataElement value comment storedBy
 * followup deleted><annotation>comment</annotation></dataValue></group></adx>. The reader never
 * touches the network, substitutes no entity, loads no DTD and a document with one is refused;
 * depth and size are bounded; libxml2's own limits stay on (no XML_PARSE_HUGE).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parserInternals.h>
#include <libxml/xmlreader.h>

#include "scaleupd/core/alloc.h"
#include "scaleupd/core/dhis2_map.h"
#include "scaleupd/core/programme_dhis2.h"
#include "scaleupd/core/utf8.h"

#include "parse_scalar.h"

#define ADX_DEPTH_MAX 8       /* adx > group > dataValue > annotation > text, with slack */
#define ADX_ATTRIBUTES_MAX 64 /* a group's own (orgUnit, period, dataSet …) and categories */
#define ADX_OPTIONS (XML_PARSE_NONET | XML_PARSE_NOCDATA | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)

struct adx_state {
    struct obs_batch *b;
    struct obs_parse_error *err;
    xmlTextReaderPtr reader;
    bool in_group;
    bool group_ok; /* its orgUnit and period were read */
    char org_unit[OBS_CODE_MAX + 1];
    char period_text[64];
    char group_problem[200]; /* why the group's values are rejected, or "" */
    char group_field[32];
    char group_code[32];
    struct obs_row *row; /* the dataValue being read, while its annotation may follow */
};

static bool attr_is(const xmlChar *name, const char *want)
{
    return strcmp((const char *)name, want) == 0;
}

/* An ADX period, start/duration ("2025-04-01/P1M", P3M, P1Y, P7D), as a DHIS2 period
 * identifier into out ("202504", "2025Q2", "2025", "2025W14"); a DHIS2 identifier is kept as
 * it is. False when it is neither. */
static bool adx_period(const char *text, char *out, size_t size)
{
    int y = 0, m = 0, d = 0;
    char *end;
    const char *slash = strchr(text, '/');
    if (slash == NULL) {
        size_t n = strlen(text);
        if (n >= size)
            return false;
        memcpy(out, text, n + 1);
        return true;
    }
    if (slash - text != 10 || text[4] != '-' || text[7] != '-')
        return false;
    y = (int)strtol(text, &end, 10), m = (int)strtol(text + 5, &end, 10);
    d = (int)strtol(text + 8, &end, 10);
    const char *dur = slash + 1;
    if (strcmp(dur, "P1M") == 0 && d == 1)
        return snprintf(out, size, "%04d%02d", y, m) > 0;
    if (strcmp(dur, "P3M") == 0 && d == 1 && (m - 1) % 3 == 0)
        return snprintf(out, size, "%04dQ%d", y, (m - 1) / 3 + 1) > 0;
    if (strcmp(dur, "P1Y") == 0 && d == 1 && m == 1)
        return snprintf(out, size, "%04d", y) > 0;
    if (strcmp(dur, "P7D") == 0 && date_ymd_valid(y, m, d)) {
        int32_t day = date_from_ymd(y, m, d);
        if (date_iso_weekday(day) != 1)
            return false;
        struct period w = period_containing(PERIOD_WEEKLY, day);
        return snprintf(out, size, "%04dW%d", w.year, w.index) > 0;
    }
    return false;
}

/* The group element: its orgUnit and period for the values inside it; an attribute that is
 * none of ADX's own is a category of the attribute option combination, which scaleupd does
 * not map: the group's values are then rejected. */
static void adx_group(struct adx_state *st)
{
    xmlTextReaderPtr r = st->reader;
    st->in_group = true, st->group_ok = false;
    st->org_unit[0] = st->period_text[0] = st->group_problem[0] = '\0';
    struct obs_dhis2_group *g = parse_group_add(st->b);
    bool fits = true;
    while (xmlTextReaderMoveToNextAttribute(r) == 1) {
        const xmlChar *name = xmlTextReaderConstLocalName(r);
        const char *value = (const char *)xmlTextReaderConstValue(r);
        if (attr_is(name, "orgUnit"))
            snprintf(st->org_unit, sizeof(st->org_unit), "%s", value);
        else if (attr_is(name, "period"))
            snprintf(st->period_text, sizeof(st->period_text), "%s", value);
        else if (attr_is(name, "dataSet"))
            fits = parse_group_text(g->data_set, sizeof(g->data_set), value, strlen(value)) && fits;
        else if (attr_is(name, "attributeOptionCombo") && dhis2_is_default_combo(value))
            continue; /* the default combination, named */
        else if (attr_is(name, "completeDate"))
            fits = parse_group_text(g->complete_date, sizeof(g->complete_date), value,
                                    strlen(value)) &&
                   fits;
        else if (!attr_is(name, "xmlns") && xmlTextReaderIsNamespaceDecl(r) != 1) {
            char shown[SHOWN_MAX];
            bool aoc = attr_is(name, "attributeOptionCombo");
            snprintf(st->group_field, sizeof(st->group_field), "attributeOptionCombo");
            snprintf(st->group_code, sizeof(st->group_code), "not_mapped");
            snprintf(st->group_problem, sizeof(st->group_problem),
                     "the group's %s \"%s\" is not mapped: scaleupd takes the default "
                     "attribute option combination only",
                     aoc ? "attributeOptionCombo" : "category",
                     parse_shown(shown, aoc ? value : (const char *)name,
                                 strlen(aoc ? value : (const char *)name)));
        }
    }
    xmlTextReaderMoveToElement(r);
    fits = parse_group_text(g->org_unit, sizeof(g->org_unit), st->org_unit, strlen(st->org_unit)) &&
           fits;
    if (!adx_period(st->period_text, g->period, sizeof(g->period)))
        g->period[0] = '\0';
    g->too_long = !fits;
}

/* The category attributes of a dataValue (category code = option code), as DHIS2 maps them
 * through the data element's category combination: here through the combination key that
 * the programme declares ("categoryOptions" of an indicator's dhis2; core/dhis2_map.h). */
#define ADX_CATEGORIES_MAX 8
struct adx_categories {
    struct {
        char name[OBS_CODE_MAX + 1], option[OBS_CODE_MAX + 1];
    } pair[ADX_CATEGORIES_MAX];
    size_t n;
};

static bool adx_category_add(struct adx_categories *cats, const char *name, const char *option,
                             const struct obs_row *row, struct obs_reject *pr)
{
    char shown[SHOWN_MAX];
    if (cats->n == ADX_CATEGORIES_MAX || strlen(name) > OBS_CODE_MAX ||
        strlen(option) > OBS_CODE_MAX || !dhis2_category_text_valid(option))
        return parse_problem(pr, row, "categoryOptionCombo", "not_mapped",
                             "the category \"%s\" is not mapped: at most %d categories of "
                             "codes without , = { } are",
                             parse_shown(shown, name, strlen(name)), ADX_CATEGORIES_MAX);
    snprintf(cats->pair[cats->n].name, sizeof(cats->pair[0].name), "%s", name);
    snprintf(cats->pair[cats->n].option, sizeof(cats->pair[0].option), "%s", option);
    cats->n++;
    return true;
}

static int compare_category(const void *a, const void *b)
{
    return strcmp(a, b); /* the name is the pair's first member */
}

/* The combination key of the categories ("{AGE=0-4,SEX=F}", by category) into row. */
static bool adx_categories_key(struct adx_categories *cats, struct obs_row *row,
                               struct obs_reject *pr)
{
    qsort(cats->pair, cats->n, sizeof(cats->pair[0]), compare_category);
    char key[256];
    size_t used = 0;
    for (size_t i = 0; i < cats->n; i++) {
        int w = snprintf(key + used, sizeof(key) - used, "%c%s=%s", i ? ',' : '{',
                         cats->pair[i].name, cats->pair[i].option);
        used += w > 0 ? (size_t)w : 0;
        if (used >= sizeof(key))
            break;
    }
    if (used + 1 >= sizeof(key) || used + 1 > OBS_CODE_MAX)
        return parse_problem(pr, row, "categoryOptionCombo", "not_mapped",
                             "the categories are not mapped: their combination key is longer "
                             "than %d bytes",
                             OBS_CODE_MAX);
    memcpy(row->category_option_combo, key, used);
    row->category_option_combo[used] = '}';
    row->category_option_combo[used + 1] = '\0';
    return true;
}

/* A comment (a dataValue's comment attribute or its annotation) into row, in the batch's
 * arena; "" is none. */
static bool adx_comment(struct obs_batch *b, struct obs_row *row, const char *text, size_t n,
                        struct obs_reject *pr)
{
    enum text_status s = n > OBS_COMMENT_MAX ? TEXT_TOO_LONG : scalar_text_check(text, n, false);
    if (!scalar_code_status(b, row, FIELD_COMMENT, s, n, pr))
        return false;
    if (n > 0) {
        char *comment = parse_arena_alloc(b, n + 1);
        memcpy(comment, text, n + 1);
        row->comment = comment;
    }
    return true;
}

/* A dataValue's storedBy attribute into row, in the batch's arena; "" is none. */
static bool adx_stored_by(struct obs_batch *b, struct obs_row *row, const char *text, size_t n,
                          struct obs_reject *pr)
{
    if (n > OBS_STORED_BY_MAX)
        return parse_problem(pr, row, "storedBy", "too_long", "storedBy is longer than %d bytes",
                             OBS_STORED_BY_MAX);
    if (scalar_text_check(text, n, false) != TEXT_OK)
        return parse_problem(pr, row, "storedBy", "invalid_value",
                             "storedBy is not UTF-8 text without control characters");
    if (n > 0) {
        char *copy = parse_arena_alloc(b, n + 1);
        memcpy(copy, text, n + 1);
        row->stored_by = copy;
    }
    return true;
}

/* The attributes DHIS2's AdxDataValueSetReader reads of a dataValue besides its key and
 * value: comment, storedBy, followup and deleted (booleans as Boolean.parseBoolean reads
 * them); created and lastUpdated are read and not used, as in JSON. False when name is none
 * of them (a category); *ok false with *pr at a problem. */
static bool adx_value_property(struct obs_batch *b, struct obs_row *row, const xmlChar *name,
                               const char *text, size_t n, bool *ok, struct obs_reject *pr)
{
    if (attr_is(name, "deleted"))
        row->deleted = strcasecmp(text, "true") == 0;
    else if (attr_is(name, "followup"))
        row->has_followup = true, row->followup = strcasecmp(text, "true") == 0;
    else if (attr_is(name, "comment"))
        *ok = adx_comment(b, row, text, n, pr);
    else if (attr_is(name, "storedBy"))
        *ok = adx_stored_by(b, row, text, n, pr);
    else if (!attr_is(name, "created") && !attr_is(name, "lastUpdated"))
        return false;
    return true;
}

/* The attributes of a dataValue into row; false with *pr at the first problem. */
static bool adx_value_attributes(struct adx_state *st, struct obs_row *row, struct obs_reject *pr)
{
    xmlTextReaderPtr r = st->reader;
    const char *value = NULL;
    bool ok = true, combo_given = false;
    struct adx_categories cats = {.n = 0};
    while (ok && xmlTextReaderMoveToNextAttribute(r) == 1) {
        const xmlChar *name = xmlTextReaderConstLocalName(r);
        const char *text = (const char *)xmlTextReaderConstValue(r);
        size_t n = strlen(text);
        if (attr_is(name, "dataElement")) {
            enum text_status s =
                n > OBS_CODE_MAX ? TEXT_TOO_LONG : scalar_text_check(text, n, true);
            ok = scalar_code_status(st->b, row, FIELD_INDICATOR, s, n, pr);
            if (ok)
                memcpy(row->indicator, text, n + 1);
        } else if (attr_is(name, "value")) {
            value = text;
            ok = n == 0 ||
                 scalar_put_number(st->b, row, FIELD_VALUE, text, n, true, &row->value, pr);
        } else if (adx_value_property(st->b, row, name, text, n, &ok, pr)) {
            /* read */
        } else if (attr_is(name, "categoryOptionCombo")) {
            combo_given = true;
            ok = n <= OBS_CODE_MAX ||
                 parse_problem(pr, row, "categoryOptionCombo", "too_long",
                               "categoryOptionCombo is longer than %d bytes", OBS_CODE_MAX);
            if (ok)
                memcpy(row->category_option_combo, text, n + 1);
        } else if (xmlTextReaderIsNamespaceDecl(r) != 1) {
            ok = adx_category_add(&cats, (const char *)name, text, row, pr);
        }
    }
    xmlTextReaderMoveToElement(r);
    /* as DHIS2: a categoryOptionCombo given wins; else the categories name the combination */
    if (ok && !combo_given && cats.n > 0)
        ok = adx_categories_key(&cats, row, pr);
    if (ok && row->indicator[0] == '\0')
        ok = scalar_code_status(st->b, row, FIELD_INDICATOR, TEXT_OK, 0, pr);
    /* no value (or ""): a delete by key, or rejected later (obs_dhis2_require_values) */
    row->value_missing = value == NULL || value[0] == '\0';
    return ok;
}

/* A dataValue element of the current group: one row. */
static void adx_data_value(struct adx_state *st)
{
    struct obs_batch *b = st->b;
    struct obs_row *row = parse_row_slot(b);
    struct obs_reject pr;
    char period[16];
    b->n_rows++;
    st->row = row;
    snprintf(row->site, sizeof(row->site), "%s", st->org_unit);
    bool ok = adx_value_attributes(st, row, &pr);
    if (ok && st->group_problem[0] != '\0')
        ok = parse_problem(&pr, row, st->group_field, st->group_code, "%s", st->group_problem);
    if (ok && st->org_unit[0] == '\0')
        ok = scalar_code_status(b, row, FIELD_SITE, TEXT_OK, 0, &pr);
    if (ok && st->period_text[0] == '\0') {
        ok = parse_problem(&pr, row, "period", "missing_field", "the group has no period");
    } else if (ok && !adx_period(st->period_text, period, sizeof(period))) {
        char shown[SHOWN_MAX];
        parse_problem(&pr, row, "period", "invalid_period",
                      "the group's period \"%s\" is not an ADX period: a first day and"
                      " P1M, P3M, P1Y or P7D (2025-04-01/P1M), or a DHIS2 period (202504)",
                      parse_shown(shown, st->period_text, strlen(st->period_text)));
        ok = parse_given(&pr, shown);
    }
    if (ok)
        ok = scalar_put_period(b, row, period, strlen(period), &pr);
    if (!ok) {
        parse_reject_push(b, row, &pr);
        st->row = NULL;
    }
}

/* An annotation's text: the comment of the dataValue it is in (over its comment attribute). */
static void adx_annotation(struct adx_state *st)
{
    if (st->row == NULL || st->row->rejected)
        return;
    xmlChar *text = xmlTextReaderReadString(st->reader);
    size_t n = text ? strlen((const char *)text) : 0;
    struct obs_reject pr;
    if (!adx_comment(st->b, st->row, text ? (const char *)text : "", n, &pr))
        parse_reject_push(st->b, st->row, &pr);
    xmlFree(text);
}

/* One node of the document; a status other than OK stops the read. */
static enum obs_parse_status adx_node(struct adx_state *st)
{
    xmlTextReaderPtr r = st->reader;
    int type = xmlTextReaderNodeType(r), depth = xmlTextReaderDepth(r);
    if (type == XML_READER_TYPE_DOCUMENT_TYPE)
        return parse_doc_error(st->err, OBS_PARSE_INVALID_SHAPE, "invalid_document", NULL, 0,
                               "an ADX document may not have a DTD (<!DOCTYPE>)");
    if (depth > ADX_DEPTH_MAX)
        return parse_doc_error(st->err, OBS_PARSE_INVALID_SHAPE, "too_deep", NULL, 0,
                               "the document nests deeper than %d elements", ADX_DEPTH_MAX);
    if (type == XML_READER_TYPE_END_ELEMENT && depth == 1)
        st->in_group = false;
    if (type != XML_READER_TYPE_ELEMENT)
        return OBS_PARSE_OK;
    const xmlChar *name = xmlTextReaderConstLocalName(r);
    if (depth == 0 && !attr_is(name, "adx"))
        return parse_doc_error(st->err, OBS_PARSE_INVALID_SHAPE, "invalid_document", NULL, 0,
                               "the root element must be adx");
    if (depth == 1 && attr_is(name, "group"))
        adx_group(st);
    else if (depth == 2 && st->in_group && attr_is(name, "dataValue")) {
        if (st->b->n_rows == OBS_MAX_ROWS)
            return parse_doc_error(st->err, OBS_PARSE_TOO_MANY_ROWS, "too_many_rows", NULL, 0,
                                   "more than the %d rows allowed in one batch", OBS_MAX_ROWS);
        adx_data_value(st);
    } else if (depth == 3 && attr_is(name, "annotation"))
        adx_annotation(st);
    return OBS_PARSE_OK;
}

static enum obs_parse_status adx_read(struct adx_state *st)
{
    enum obs_parse_status status = OBS_PARSE_OK;
    int more;
    while (status == OBS_PARSE_OK && (more = xmlTextReaderRead(st->reader)) == 1) {
        st->b->work++;
        status = adx_node(st);
    }
    if (status == OBS_PARSE_OK && more != 0) {
        const xmlError *e = xmlGetLastError();
        char why[128] = ""; /* libxml2 quotes the input: printable ASCII only */
        if (e != NULL && e->message != NULL)
            text_printable(e->message, why, sizeof(why));
        size_t n = strlen(why);
        while (n > 0 && (why[n - 1] == '?' || why[n - 1] == ' ')) /* its trailing newline */
            why[--n] = '\0';
        return parse_doc_error(st->err, OBS_PARSE_MALFORMED, "malformed_xml", NULL, 0,
                               "not well-formed XML%s%s", why[0] ? ": " : "", why);
    }
    return status;
}

/* libxml2's loader of external entities and DTDs, replaced by one that loads nothing, so
 * that no option or document can make the parser open a file or a URL. */
static xmlParserInputPtr adx_no_loader(const char *url, const char *id, xmlParserCtxtPtr ctxt)
{
    (void)url, (void)id, (void)ctxt;
    return NULL;
}

/* The most attributes of one start tag (each '=' outside a quoted value counts), in one pass
 * over the bytes before libxml2 reads them: libxml2 (2.9, Debian 12) adds an element's
 * attributes in time quadratic in their number, so a 3.5 MB tag of 300,000 attributes held a
 * worker for nine minutes. Comments, processing instructions and declarations are skipped to
 * their '>' (a '>' inside a comment ends the skip early: what follows is counted as text, never
 * as more attributes). */
static size_t adx_attributes_max(const char *body, size_t len)
{
    size_t most = 0, here = 0;
    char quote = 0;
    enum { TEXT, TAG, SKIP } state = TEXT;
    for (size_t i = 0; i < len; i++) {
        char c = body[i];
        if (state == TEXT) {
            if (c == '<') {
                char next = i + 1 < len ? body[i + 1] : '\0';
                state = next == '!' || next == '?' || next == '/' ? SKIP : TAG;
                here = 0;
            }
        } else if (state == SKIP) {
            if (c == '>')
                state = TEXT;
        } else if (quote != 0) {
            if (c == quote)
                quote = 0;
        } else if (c == '"' || c == '\'') {
            quote = c;
        } else if (c == '=') {
            if (++here > most)
                most = here;
        } else if (c == '>') {
            state = TEXT;
        }
    }
    return most;
}

static pthread_once_t adx_once = PTHREAD_ONCE_INIT;

/* libxml2 is initialised once, before any thread parses (its own init is not thread-safe). */
static void adx_init(void)
{
    xmlInitParser();
    xmlSetExternalEntityLoader(adx_no_loader);
}

enum obs_parse_status obs_parse_dhis2_adx(const char *body, size_t len, struct obs_batch *batch,
                                          struct obs_parse_error *err)
{
    pthread_once(&adx_once, adx_init);
    parse_begin(batch, err, OBS_FORMAT_DHIS2);
    if (len > OBS_MAX_BODY || len > (size_t)INT32_MAX)
        return parse_end(batch, parse_doc_error(err, OBS_PARSE_TOO_LARGE, "too_large", NULL, 0,
                                                "the body is larger than %u bytes", OBS_MAX_BODY));
    if (adx_attributes_max(body, len) > ADX_ATTRIBUTES_MAX)
        return parse_end(batch, parse_doc_error(err, OBS_PARSE_INVALID_SHAPE, "too_many_attributes",
                                                NULL, 0, "an element has more than %d attributes",
                                                ADX_ATTRIBUTES_MAX));
    struct adx_state st = {.b = batch, .err = err};
    st.reader = xmlReaderForMemory(body, (int)len, NULL, NULL, ADX_OPTIONS);
    if (st.reader == NULL)
        return parse_end(batch, parse_doc_error(err, OBS_PARSE_MALFORMED, "malformed_xml", NULL, 0,
                                                "the body is not XML"));
    enum obs_parse_status status = adx_read(&st);
    xmlFreeTextReader(st.reader);
    if (status == OBS_PARSE_OK && batch->n_rows == 0)
        status = parse_doc_error(err, OBS_PARSE_EMPTY, "empty_batch", NULL, 0,
                                 "the ADX document holds no dataValue");
    return parse_end(batch, status);
}
