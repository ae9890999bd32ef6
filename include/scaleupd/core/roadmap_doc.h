/*
 * Roadmap documents: parsing and validation of a programme's scale-up plan (themes, and for
 * each dimension a baseline, dated milestones with targets, and tolerances) into a struct
 * that the progress computation reads, and the versions of a programme's roadmap. Pure: no
 * I/O.
 */
#ifndef SCALEUPD_CORE_ROADMAP_DOC_H
#define SCALEUPD_CORE_ROADMAP_DOC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scaleupd/core/period.h"

/* Scale-up dimension an indicator feeds (programme indicator definitions). */
enum roadmap_dimension {
    ROADMAP_DIMENSION_NONE,
    ROADMAP_DIMENSION_COVERAGE,
    ROADMAP_DIMENSION_EXPANSION,
    ROADMAP_DIMENSION_INSTITUTIONALISATION,
};

/* "coverage", "expansion", "institutionalisation" (as the API and snapshots name them), or
 * "none"; a static string. */
const char *roadmap_dimension_name(enum roadmap_dimension dimension);

enum roadmap_value_type {
    ROADMAP_VALUE_COUNT,
    ROADMAP_VALUE_PERCENTAGE,
    ROADMAP_VALUE_RATIO,
    ROADMAP_VALUE_SCORE,
};

/* What the roadmap needs to know about one of the programme's indicators. */
struct roadmap_indicator_info {
    enum roadmap_dimension dimension;
    enum roadmap_value_type value_type;
    enum period_type period_type;
};

/* How the parser finds the programme's indicators. find() fills *out and returns true when
 * the code exists, returns false otherwise; it must not keep `code` or `out`. */
struct roadmap_indicator_lookup {
    void *ctx;
    bool (*find)(void *ctx, const char *code, struct roadmap_indicator_info *out);
};

/* Dates are days since 1970-01-01 (UTC calendar days). */
struct roadmap_milestone {
    int32_t date;
    double target;
};

/* A planned trajectory: the value at the roadmap's baseline_date, then milestones in strictly
 * increasing date order, all after baseline_date (the parser guarantees it; n_milestones >= 1
 * in a parsed roadmap). */
struct roadmap_plan {
    double baseline;
    size_t n_milestones;
    struct roadmap_milestone *milestones;
};

/* How far below the plan a dimension may fall: more than `behind` is behind, more than
 * `at_risk` is at risk (0 <= behind <= at_risk). Fractions for coverage and
 * institutionalisation, fractions of the planned count for expansion. */
struct roadmap_tolerance {
    double behind;
    double at_risk;
};

/* Tolerances used when a dimension sets none. */
#define ROADMAP_DEFAULT_FRACTION_BEHIND 0.02
#define ROADMAP_DEFAULT_FRACTION_AT_RISK 0.05
#define ROADMAP_DEFAULT_EXPANSION_BEHIND 0.10
#define ROADMAP_DEFAULT_EXPANSION_AT_RISK 0.25
/* Expansion's activity window when "active_within_periods" is absent. */
#define ROADMAP_DEFAULT_ACTIVE_WITHIN_PERIODS 3

struct roadmap_theme {
    char *key;
    char *name; /* NULL when absent */
};

struct roadmap_coverage {
    bool present;
    char *numerator;          /* indicator code */
    char *denominator;        /* indicator code, or NULL when target_population is used */
    double target_population; /* > 0 when denominator is NULL, else 0 */
    struct roadmap_plan plan; /* fractions 0..1 */
    struct roadmap_tolerance tolerance;
};

struct roadmap_expansion {
    bool present;
    int active_within_periods;   /* >= 1 */
    struct roadmap_plan sites;   /* counts of active sites */
    struct roadmap_plan regions; /* counts of regions with at least one active site */
    struct roadmap_tolerance tolerance;
};

struct roadmap_item {
    char *key;
    char *theme; /* a key of roadmap.themes, or NULL when absent */
    char *indicator;
    char *name; /* NULL when absent */
    int target; /* 1..4 on the ordinal score scale */
    bool has_due;
    int32_t due;
};

struct roadmap_institutionalisation {
    bool present;
    size_t n_items; /* >= 1 */
    struct roadmap_item *items;
    struct roadmap_plan plan; /* fractions 0..1 */
    struct roadmap_tolerance tolerance;
};

struct roadmap {
    char *programme; /* NULL when the document does not name it */
    char *label;     /* NULL when absent */
    int32_t baseline_date;
    size_t n_themes;
    struct roadmap_theme *themes;
    struct roadmap_coverage coverage;
    struct roadmap_expansion expansion;
    struct roadmap_institutionalisation institutionalisation;
};

/* Stable machine codes of validation problems (roadmap_error_code_name() spells them). */
enum roadmap_error_code {
    ROADMAP_ERR_SYNTAX,            /* not JSON, or a duplicate member */
    ROADMAP_ERR_MISSING,           /* a required member is absent */
    ROADMAP_ERR_TYPE,              /* a member has the wrong JSON type */
    ROADMAP_ERR_DATE,              /* not a valid YYYY-MM-DD date */
    ROADMAP_ERR_RANGE,             /* a number or count outside its allowed range */
    ROADMAP_ERR_NOT_INTEGER,       /* a count or score with a fractional part */
    ROADMAP_ERR_ORDER,             /* milestones not in strictly increasing date order */
    ROADMAP_ERR_BEFORE_BASELINE,   /* a milestone on or before baseline_date */
    ROADMAP_ERR_TOLERANCE,         /* at_risk smaller than behind */
    ROADMAP_ERR_UNKNOWN_INDICATOR, /* not an indicator of the programme */
    ROADMAP_ERR_DIMENSION,         /* indicator of the wrong scale-up dimension */
    ROADMAP_ERR_VALUE_TYPE,        /* indicator of the wrong value type */
    ROADMAP_ERR_PERIOD_TYPE,       /* coverage numerator and denominator periods differ */
    ROADMAP_ERR_DUPLICATE,         /* a theme or item key used twice */
    ROADMAP_ERR_UNKNOWN_THEME,     /* an item names a theme the roadmap does not define */
    ROADMAP_ERR_CONFLICT,          /* members that exclude each other are both present */
};

#define ROADMAP_ERROR_PATH_MAX 96
#define ROADMAP_ERROR_MESSAGE_MAX 160
#define ROADMAP_MAX_ERRORS 64

struct roadmap_error {
    enum roadmap_error_code code;
    char path[ROADMAP_ERROR_PATH_MAX]; /* JSONPath, e.g. "$.coverage.milestones[1].date" */
    char message[ROADMAP_ERROR_MESSAGE_MAX];
};

/* All problems found in one document, in document-walk order, capped at ROADMAP_MAX_ERRORS
 * (`dropped` counts the ones past the cap). For a syntax error there is one entry (code
 * ROADMAP_ERR_SYNTAX, path "$") and line/column (1-based) and position (byte offset) say
 * where the parser stopped, just after the offending token; they are 0 otherwise. */
struct roadmap_errors {
    size_t count;
    size_t dropped;
    int line;
    int column;
    size_t position;
    struct roadmap_error items[ROADMAP_MAX_ERRORS];
};

enum roadmap_status {
    ROADMAP_OK,
    ROADMAP_SYNTAX,  /* not JSON: errs has one entry and the location */
    ROADMAP_INVALID, /* JSON but semantically invalid: errs lists every problem */
};

/*
 * Parse and validate the roadmap document json[0..len) (need not be NUL-terminated).
 * Resets *errs, then collects every problem found (not only the first). Coverage numerator
 * and denominator must be programme indicators of dimension coverage with the same period
 * type; institutionalisation item indicators must be of dimension institutionalisation and
 * value type score. With lookup == NULL the indicator checks are skipped (a client-side lint).
 * Members the parser does not know are ignored. At least one dimension must be present;
 * "tolerance" and "active_within_periods" are optional (defaults above), but a tolerance
 * object must set both behind and at_risk.
 * On ROADMAP_OK *out is a new roadmap the caller owns (release with roadmap_free); on any
 * other status *out is NULL.
 */
__attribute__((warn_unused_result)) enum roadmap_status
roadmap_parse(const char *json, size_t len, const struct roadmap_indicator_lookup *lookup,
              struct roadmap **out, struct roadmap_errors *errs);

/* Release a roadmap and set *roadmap to NULL; NULL or *roadmap == NULL is fine. */
void roadmap_free(struct roadmap **roadmap);

/* Stable snake_case name of an error code ("missing_member", ...); a static string. */
const char *roadmap_error_code_name(enum roadmap_error_code code);

/* Appends each problem of errs to *problems with problems_add (path, the code's name,
 * message), in order; *problems stays NULL when errs has none. */
void roadmap_errors_to_problems(const struct roadmap_errors *errs, json_t **problems);

/* The final (last milestone's) target of a plan, or its baseline when it has no milestone. */
double roadmap_plan_final_target(const struct roadmap_plan *plan);

/* ---- versions ------------------------------------------------------------------------ */

/* One stored version of a programme's roadmap, parsed. */
struct roadmap_version {
    int version;          /* 1, 2, … per programme */
    char *label;          /* NULL when the document has none */
    int32_t created_day;  /* UTC day it was stored */
    struct roadmap *plan; /* parsed without indicator checks (they held when it was stored) */
};

/* Every version of a programme in upload order. */
struct roadmap_versions {
    size_t n;
    struct roadmap_version *versions;
    int32_t *created_days; /* versions[i].created_day, for progress_version_in_force */
};

/* Frees what a set holds (labels and plans too) and zeroes it. */
void roadmap_versions_release(struct roadmap_versions *set);

/* The version in force at `date` (progress_version_in_force), NULL when the set is empty.
 * The pointer belongs to the set. */
const struct roadmap_version *roadmap_versions_in_force(const struct roadmap_versions *set,
                                                        int32_t date);

#endif /* SCALEUPD_CORE_ROADMAP_DOC_H */
