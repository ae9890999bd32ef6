/*
 * Ingest parsing: a request body (JSON, CSV or DHIS2 dataValueSets JSON) becomes a batch
 * of observation rows plus per-row rejections, and obs_validate checks the rows against a
 * programme's catalog. Pure code: no I/O, no locale (the daemon runs in the "C" locale,
 * which strtod relies on for the decimal point). Running out of memory is fatal (alloc.h);
 * what the input can grow is capped, and going over a cap is a document error.
 *
 * Implemented in daemon/core/parse_*.c: parse_json.c, parse_dhis2.c and parse_csv.c (the
 * three formats), parse_json_doc.c (JSON bodies, tokenized by our copy of jsmn in
 * parse_jsmn.h), parse_scalar.c (codes, periods, numbers, UTF-8), parse_validate.c
 * (obs_validate), parse_batch.c and parse_errors.c.
 *
 * Two levels of failure:
 * - the document as a whole cannot be read (malformed JSON or CSV, wrong shape, no rows,
 *   too many rows): the parse function returns a status other than OBS_PARSE_OK and fills
 *   struct obs_parse_error; the HTTP layer answers 400 (413 for too many rows) with it;
 * - a row is wrong: the parse function (or obs_validate) marks the row rejected and appends
 *   one struct obs_reject; the other rows carry on.
 *
 * Every input row gets a struct obs_row, rejected or not, so rows[i].row == i + 1 and the
 * rows to store are those with rejected == false.
 *
 * A row produces at most one reject: the first problem found, in this order: the shape of
 * the row (an unknown or repeated JSON field, in input order; a CSV column count), then the
 * fields in the order indicator, site, period, value, numerator, denominator, comment
 * (missing, wrong type, too long, invalid UTF-8, impossible period, not a number, not
 * finite), then, in obs_validate, indicator, site, period type, future period, value
 * range, numerator and denominator, and last duplicate keys.
 *
 * Reject codes (struct obs_reject.code):
 *   missing_field       a required field is absent or empty ("")
 *   unknown_field       a JSON observation has a field we do not know (field = its name)
 *   duplicate_field     a JSON object names the same field twice
 *   invalid_type        a JSON field has the wrong type (value as string or null, code as
 *                       number, ...), or a rows array element is not an object
 *   invalid_utf8        a string is not valid UTF-8 (or a \u escape is an unpaired surrogate)
 *   invalid_value       a code or comment holds a control character (or NUL)
 *   too_long            a code is longer than OBS_CODE_MAX bytes, or a comment than
 *                       OBS_COMMENT_MAX
 *   invalid_period      a period string that is not a period (2025-13, 2025W54, 2025Q5, abc)
 *   invalid_number      a CSV or DHIS2 value that is not a number
 *   not_finite          NaN, Infinity, or a number too large for a double (1e400)
 *   column_count        a CSV row with more or fewer fields than the header
 *   unknown_indicator   (obs_validate) the indicator code is not in the catalog
 *   unknown_site        (obs_validate) the site code is not in the catalog
 *   site_not_in_programme (obs_validate) a known site that is not a member of the programme
 *   period_type_mismatch (obs_validate) e.g. a quarter for a monthly indicator
 *   future_period       (obs_validate) the period starts after the period containing today
 *   out_of_range        (obs_validate) the value does not fit the indicator's value type
 *                       (bounds included: OBS_COUNT_MAX, OBS_RATIO_MAX), or a numerator or
 *                       denominator is negative or above OBS_COUNT_MAX, or numerator >
 *                       denominator (except for ratios); the message names the bound
 *   duplicate_key       (obs_validate) rows with the same indicator, site and period: ALL
 *                       of them are rejected; the first names the second's row number,
 *                       the others name the first's
 *
 * DHIS2 data values also read (parse_dhis2.c) categoryOptionCombo (a string of at most
 * OBS_CODE_MAX bytes), attributeOptionCombo (only the default combination, HllvX50cXC0 or
 * "default": another is rejected as not_mapped, never merged with the default's value) and
 * deleted (a boolean), storedBy (a string of at most OBS_STORED_BY_MAX bytes) and followup (a
 * boolean; in CSV "true" or anything else). not_mapped          (DHIS2) an attribute option
 * combination other than the default, or (dhis2_map_apply) a data element, category option
 * combination or organisation unit that no indicator or site of the programme maps
 *
 * Field names (struct obs_reject.field) are the names of the input format: "indicator",
 * "site", "period", "value", "numerator", "denominator", "comment" for JSON and CSV, and
 * "dataElement", "orgUnit", "period", "value", "comment" for DHIS2; "" means the row as a
 * whole (e.g. a JSON array element that is not an object, a CSV column count).
 */
#ifndef SCALEUPD_OBS_PARSE_H
#define SCALEUPD_OBS_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scaleupd/core/catalog.h"
#include "scaleupd/core/period.h"

#define OBS_MAX_ROWS 100000   /* rows per batch; more is OBS_PARSE_TOO_MANY_ROWS */
#define OBS_CODE_MAX 63       /* bytes in an indicator or site code */
#define OBS_COMMENT_MAX 4000  /* bytes in a comment */
#define OBS_STORED_BY_MAX 255 /* bytes in a DHIS2 storedBy */

/* Bytes in one CSV field; a longer field fails the document as too_large (a comment longer
 * than OBS_COMMENT_MAX but within this only rejects its row as too_long). */
#define OBS_CSV_FIELD_MAX 65536

/* Bodies larger than this are OBS_PARSE_TOO_LARGE (jsmn counts positions in an int). */
#define OBS_MAX_BODY (256u * 1024 * 1024)

/*
 * Upper bounds of values (obs_validate; percentages are 0..100 and scores 0..4 anyway).
 * A count, numerator or denominator of a site for one period is at most 1e10, more than
 * the people on Earth: no real count is refused, and a sum over a programme's whole cube,
 * 7,000 practices x 72 months of such values, is at most 5.04e15, below 2^53 (9.0e15), so
 * every sum of whole counts that the server computes in double precision stays exact (and
 * nowhere near an overflow; 1e12 would allow sums of 5e17, past exact integers). A ratio
 * (nurses per GP) beyond a billion is a unit error.
 */
#define OBS_COUNT_MAX 1e10 /* counts, and every numerator and denominator */
#define OBS_RATIO_MAX 1e9

/* Objects and arrays nested deeper than this fail a JSON or DHIS2 body as too_deep, found
 * as the tokenizer meets the bracket. Our format and DHIS2's need 3 levels (the body, its
 * rows array, a row) and 4-5 with a nested DHIS2 extra; 32 leaves slack for fields we
 * ignore, and bounds the tokenizer's work per closing bracket, so that parse work stays
 * linear in the body (tests/unit/test_parse_work.c). */
#define OBS_JSON_DEPTH_MAX 32

enum obs_format {
    OBS_FORMAT_JSON,
    OBS_FORMAT_CSV,
    OBS_FORMAT_DHIS2,
    OBS_FORMAT_FHIR, /* FHIR R4 MeasureReports: core/parse_fhir.h */
};

struct obs_row {
    uint32_t row; /* 1-based: JSON array index + 1; CSV data record (header and blank lines
                     not counted) */
    char indicator[OBS_CODE_MAX + 1];
    char site[OBS_CODE_MAX + 1];
    struct period period;
    double value;
    bool has_numerator;
    double numerator;
    bool has_denominator;
    double denominator;
    const char *comment; /* NUL-terminated UTF-8 in the batch's arena, or NULL; never "" */
    /* DHIS2: the data value's categoryOptionCombo as given ("" when absent or null), which
       with the data element names the indicator (core/dhis2_map.h), and whether the value is
       one to delete ("deleted": true, or importStrategy DELETE) */
    char category_option_combo[OBS_CODE_MAX + 1];
    bool deleted;
    /* DHIS2: storedBy (NUL-terminated UTF-8 in the batch's arena, at most OBS_STORED_BY_MAX
       bytes, or NULL; never "") and followup (has_followup: given) of the data value */
    const char *stored_by;
    bool has_followup, followup;
    /* DHIS2: the data value gave no value (absent, null or empty): the parser does not reject
       the row for it, since DHIS2 deletes by key without a value; obs_dhis2_require_values
       rejects it (missing_field) unless the row is a delete */
    bool value_missing;
    /* filled by obs_validate: */
    int64_t indicator_id;
    int64_t site_id;
    int32_t period_start;
    bool rejected; /* set by the parser or obs_validate; its reject is in batch->rejects */
};

/* Bytes of a value a reject keeps as given (sanitised as its message quotes it: printable
 * ASCII, other bytes '?', cut at 40 bytes and "..."), with its NUL. */
#define OBS_REJECT_GIVEN_MAX 48

struct obs_reject {
    uint32_t row;
    char field[32];
    char code[32];
    char message[200]; /* human, valid UTF-8, user data quoted and sanitised */
    /* duplicate_key: the row number (1-based) of the other row the message names; else 0 */
    uint32_t other_row;
    /* invalid_period: the period as given, sanitised (DHIS2 names it as the conflict's
       object, the row having no period to show); else "" */
    char given[OBS_REJECT_GIVEN_MAX];
};

/* The JSON type of a data value set's member (struct obs_set_option). */
enum obs_json_type {
    OBS_JSON_STRING,
    OBS_JSON_BOOLEAN,
    OBS_JSON_NUMBER,
    OBS_JSON_ARRAY,
    OBS_JSON_OBJECT,
};

/* Option members a DHIS2 data value set can carry (dhis2_options_set_members; a unit test
 * checks that they fit), and the bytes of a member's value kept (then cut, see below). */
#define OBS_SET_OPTIONS_MAX 16
#define OBS_SET_OPTION_VALUE_MAX 64

/*
 * A member of a DHIS2 data value set that DHIS2 reads as an import option or a set-level
 * property (dryRun, strategy, idScheme, dataSet, ...: dhis2_options_set_members), as
 * obs_parse_dhis2 found it; dhis2_options_read_set decides whether it is honoured. A member
 * whose value is null is not collected (DHIS2 reads null as not given).
 */
struct obs_set_option {
    const char *name;        /* DHIS2's name of the member (a static string) */
    enum obs_json_type type; /* of its value */
    /* a string's decoded text; "true" or "false"; a number as written; "" for an array or an
       object. Text that is not valid UTF-8, holds a control character or is longer than
       OBS_SET_OPTION_VALUE_MAX is kept as a message would quote it (printable ASCII, '?' for
       other bytes, "..." after a cut), so it never equals a value that is honoured */
    char value[OBS_SET_OPTION_VALUE_MAX + 1];
};

/*
 * DHIS2: a group of data values that share a set-level period and organisation unit, as a data
 * set's completeness is registered for (the data value set itself; each ADX <group>), with
 * what it says of its data set: the texts as given ("" when absent), unjudged; the ingest
 * service resolves them (storage/dhis2_registration.h).
 */
struct obs_dhis2_group {
    char org_unit[OBS_CODE_MAX + 1];
    char period[OBS_SET_OPTION_VALUE_MAX + 1];   /* a DHIS2 period identifier (ADX's converted) */
    char data_set[OBS_SET_OPTION_VALUE_MAX + 1]; /* ADX only: the set's is an option */
    char complete_date[OBS_SET_OPTION_VALUE_MAX + 1]; /* ADX only: the set's is an option */
    bool too_long; /* a text did not fit: the group cannot be completed */
};

struct obs_arena_block;
struct obs_fhir; /* core/parse_fhir.h */

/*
 * A parsed batch. rows and rejects are owned by the batch; so are the comments the rows
 * point at. Everything is replaced by the next parse into the same batch.
 */
struct obs_batch {
    struct obs_row *rows;
    size_t n_rows;
    struct obs_reject *rejects;
    size_t n_rejects;
    enum obs_format format; /* of the last parse; decides the field names of rejects */
    /* DHIS2: the set's option members, in the order of dhis2_options_set_members (at most one
       each: a member given twice fails the document) */
    struct obs_set_option set_options[OBS_SET_OPTIONS_MAX];
    size_t n_set_options;
    /* DHIS2: the groups of the body (one for a JSON data value set, one per ADX group, none
       for CSV), in order */
    struct obs_dhis2_group *groups;
    size_t n_groups;
    /* FHIR: where each row came from (core/parse_fhir.h); NULL for the other formats */
    struct obs_fhir *fhir;
    /* private: */
    size_t rows_cap;
    size_t rejects_cap;
    size_t groups_cap;
    struct obs_arena_block *arena;
    void *tokens; /* JSON token array, kept for reuse */
    size_t tokens_cap;
    size_t work; /* see obs_batch_parse_work */
};

enum obs_parse_status {
    OBS_PARSE_OK,
    OBS_PARSE_MALFORMED,     /* not JSON / not CSV: offset, line and column say where */
    OBS_PARSE_INVALID_SHAPE, /* well-formed but not our shape: wrong root, missing array,
                                missing/unknown/duplicate CSV column */
    OBS_PARSE_EMPTY,         /* no body (empty_body) or no rows (empty_batch) */
    OBS_PARSE_TOO_MANY_ROWS, /* more than OBS_MAX_ROWS rows */
    OBS_PARSE_TOO_LARGE,     /* body larger than OBS_MAX_BODY, more JSON values than we
                                keep tokens for, or a CSV field over OBS_CSV_FIELD_MAX */
    OBS_PARSE_NO_MEMORY,     /* never returned any more: out of memory is fatal (alloc.h) */
};

/*
 * A document-level failure. code is one of: malformed_json, malformed_csv,
 * unterminated_quote, too_deep (OBS_PARSE_INVALID_SHAPE: JSON nested deeper than
 * OBS_JSON_DEPTH_MAX; the position is the bracket that opens one level too many),
 * too_many_attributes (OBS_PARSE_INVALID_SHAPE: an ADX element with more than 64),
 * invalid_document (root not an object, rows not an array, a top-level
 * key twice), missing_field (no "observations"/"dataValues"),
 * missing_column, unknown_column, duplicate_column, empty_body, empty_batch, too_many_rows,
 * too_large. offset (bytes from the start of the body), line and column
 * (1-based, column in bytes) say where; line == 0 when no position applies.
 */
struct obs_parse_error {
    char code[32];
    char message[200];
    size_t offset;
    unsigned line;
    unsigned column;
};

/* A new empty batch owned by the caller (free with obs_batch_free); never NULL. */
struct obs_batch *obs_batch_new(void);

/* Frees the batch, its rows, rejects and comments, and sets *batch to NULL. NULL is ok. */
void obs_batch_free(struct obs_batch **batch);

/* Empties the batch (rows, rejects, comments) but keeps its memory for the next parse. */
void obs_batch_reset(struct obs_batch *batch);

/* A static lower-case name for a status ("malformed"), for logs. */
const char *obs_parse_status_name(enum obs_parse_status status);

/*
 * Parses len bytes of body as {"observations":[{"indicator":"..","site":"..",
 * "period":"..","value":<number>,"numerator":<number>?,"denominator":<number>?,
 * "comment":".."?}, ...]} into batch (reset first). Other top-level keys are ignored; an
 * unknown key inside an observation rejects the row. null for numerator, denominator or
 * comment means absent. NaN, Infinity and -Infinity, which some encoders write, are read
 * as numbers and rejected per row as not_finite. Strings may use every JSON escape
 * (\uXXXX with surrogate pairs included). Strings are checked (UTF-8, no raw control
 * character, which JSON forbids) where they are read, so such a problem rejects one row;
 * strings we ignore (DHIS2's other fields) are not looked into. Anything else that is not
 * JSON fails the document as malformed_json. body need not be NUL-terminated.
 * On a status other than OBS_PARSE_OK *err says why and the batch holds no rows.
 */
__attribute__((warn_unused_result)) enum obs_parse_status
obs_parse_json(const char *body, size_t len, struct obs_batch *batch, struct obs_parse_error *err);

/*
 * Parses len bytes of body as CSV (RFC 4180: comma, double quotes) into batch (reset
 * first). The header row names the columns, in any order, case-insensitively: indicator,
 * site, period and value are required; numerator, denominator and comment optional. A
 * UTF-8 byte order mark is skipped, CRLF and LF both end lines, and blank records (a line
 * with nothing, or only empty fields) are skipped and not counted. Spaces around unquoted
 * fields are trimmed. An empty numerator, denominator or comment is absent; an empty
 * indicator, site, period or value is missing_field. Numbers are JSON numbers, optionally
 * with a leading '+'; "NaN", "inf", "Infinity" (any case, signed) are not_finite. A field
 * longer than OBS_CSV_FIELD_MAX bytes fails the document as too_large.
 */
__attribute__((warn_unused_result)) enum obs_parse_status
obs_parse_csv(const char *body, size_t len, struct obs_batch *batch, struct obs_parse_error *err);

/*
 * Parses len bytes of body as a DHIS2 dataValueSet: {"dataSet"?, "period"?, "orgUnit"?,
 * "completeDate"?, ..., "dataValues":[{"dataElement", "period"?, "orgUnit"?, "value",
 * "comment"?, ...}]} into batch (reset first). dataElement becomes the indicator code and
 * orgUnit the site code; a top-level period or orgUnit is the default for values without
 * one. value is a number or a string holding a number ("151"). Periods are DHIS2's:
 * 202505, 2025-05, 2025Q1, 2025W5, 2025W05, 2025. The set's members that DHIS2 reads as
 * import options or set-level properties (dhis2_options_set_members: dryRun, strategy, the id
 * schemes, dataSet, completeDate, attributeOptionCombo, ...) are collected, unjudged, into
 * batch->set_options for dhis2_options_read_set; other members of the set, which DHIS2 ignores
 * too, are ignored. In a data value, categoryOptionCombo, attributeOptionCombo and deleted
 * storedBy and followup are read (see the top of this file); fields we do not use (created,
 * lastUpdated, ...) are ignored. The set's own period and orgUnit are also its one group
 * (batch->groups), for completing its data set. A data value without a value is not rejected
 * here (value_missing; obs_dhis2_require_values).
 */
__attribute__((warn_unused_result)) enum obs_parse_status
obs_parse_dhis2(const char *body, size_t len, struct obs_batch *batch, struct obs_parse_error *err);

/*
 * Parses len bytes of body as DHIS2's CSV of data values (application/csv): columns by
 * position, as dhis2-core reads them — dataelement, period, orgunit, categoryoptioncombo,
 * attributeoptioncombo, value, storedby, lastupdated, comment, followup, deleted (columns
 * past these are ignored; those a shorter record lacks are empty, as DHIS2 reads them). When
 * first_row_is_header (DHIS2's firstRowIsHeader, true by default) the first record is the
 * header and skipped, unless its value column holds a number or its period column a DHIS2
 * period: a body without a header loses no row. The batch is OBS_FORMAT_DHIS2 (DHIS2's field names
 * and periods); lastupdated is not read.
 */
__attribute__((warn_unused_result)) enum obs_parse_status
obs_parse_dhis2_csv(const char *body, size_t len, bool first_row_is_header, struct obs_batch *batch,
                    struct obs_parse_error *err);

/*
 * Parses len bytes of body as ADX (application/adx+xml): <adx><group orgUnit period dataSet
 * completeDate?><dataValue dataElement value><annotation>comment</annotation></dataValue>
 * </group></adx>, one row per dataValue, its site and period the group's. An ADX period is a
 * start and a duration (2025-04-01/P1M, 2025-04-01/P3M, 2025-01-01/P1Y, a Monday/P7D); a DHIS2
 * period identifier is read too. A dataValue's categoryOptionCombo attribute is its
 * combination; comment, storedBy, followup and deleted are read as DHIS2 reads them (an
 * annotation's text is the comment too, and wins), created and lastUpdated ignored; its other
 * attributes are categories (SEX="F"), kept as the
 * combination key "{CATEGORY=OPTION,...}" in category_option_combo (by category, strcmp
 * order; too many, too long, or an option holding , = { }: not_mapped), which
 * dhis2_map_apply maps like a UID. A group's attributeOptionCombo may be the default;
 * another, or any other attribute of a group (a category of the attribute option
 * combination), rejects its rows (not_mapped). Each group's orgUnit, period (as a DHIS2
 * identifier), dataSet and completeDate are kept in batch->groups. A DTD, nesting deeper than 8
 * elements, a root that is not adx or XML that is not well-formed fail the document
 * (invalid_document, too_deep, malformed_xml); nothing is loaded from the network or a file, no
 * entity is substituted.
 */
__attribute__((warn_unused_result)) enum obs_parse_status
obs_parse_dhis2_adx(const char *body, size_t len, struct obs_batch *batch,
                    struct obs_parse_error *err);

/*
 * Checks each row not yet rejected against cat and today (days since 1970-01-01, the
 * programme's current date): indicator and site known, site a member, period of the
 * indicator's type and not starting after the period that contains today, value fitting the
 * value type (count: whole number 0..OBS_COUNT_MAX; percentage: 0..100; ratio:
 * 0..OBS_RATIO_MAX; score: whole number 0..4), numerator and denominator 0..OBS_COUNT_MAX
 * and, except for ratios, numerator <= denominator. Fills indicator_id, site_id and period_start of
 * the rows that pass. Then rows that share (indicator, site, period) are all rejected as
 * duplicate_key, since storing either would depend on order. Finally sorts batch->rejects by row.
 * Call it once per parse. Returns true: running out of memory is fatal (alloc.h), so no
 * row is ever left unchecked (the result is kept for the callers that test it).
 */
__attribute__((warn_unused_result)) bool obs_validate(struct obs_batch *batch,
                                                      const struct catalog *cat, int32_t today);

/* Rejects row rows[index] (not rejected yet) with one reject of field, code and message (cut
 * to fit), as a parser does: for a check made between parsing and obs_validate
 * (dhis2_map_apply). */
void obs_batch_reject(struct obs_batch *batch, size_t index, const char *field, const char *code,
                      const char *message);

/* DHIS2: rejects each row not rejected yet that gave no value (value_missing) as missing_field
 * on "value" ("value is required"), unless it is a delete: all_deleted (importStrategy
 * DELETE) or the row's own deleted. Call it once the import strategy is known, before
 * obs_validate. */
void obs_dhis2_require_values(struct obs_batch *batch, bool all_deleted);

/* Number of rows not rejected. */
size_t obs_batch_accepted(const struct obs_batch *batch);

/*
 * The work of the last parse into batch, in steps beyond the bytes read once. JSON and
 * DHIS2: tokens made, parent links the tokenizer followed at closing brackets, and tokens
 * the structure check and the row readers walked over. CSV: records, and problems built
 * for a field (a message each; libcsv's own work is one pass over the bytes). For tests,
 * which show it linear in the body: a bound on the work per byte that no input can grow.
 */
size_t obs_batch_parse_work(const struct obs_batch *batch);

#endif /* SCALEUPD_OBS_PARSE_H */
