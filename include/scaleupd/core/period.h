/*
 * Calendar dates and reporting periods.
 *
 * A date is an int32_t counting days since 1970-01-01 in the proleptic Gregorian calendar
 * (negative before 1970). A period is one reporting interval of a given type: an ISO 8601
 * week, a calendar month, a calendar quarter or a calendar year. Everything here is pure
 * arithmetic: no time zones, no I/O, no allocation.
 */
#ifndef SCALEUPD_PERIOD_H
#define SCALEUPD_PERIOD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Years that period_parse, period_parse_dhis2 and date_parse accept. */
#define PERIOD_YEAR_MIN 1
#define PERIOD_YEAR_MAX 9999

/* Buffer sizes, terminating NUL included, that always suffice for the formatters. */
#define PERIOD_FORMAT_MAX 16 /* "2025W05", "2025-03", ... */
#define DATE_FORMAT_MAX 11   /* "2025-03-31" */

enum period_type {
    PERIOD_WEEKLY,
    PERIOD_MONTHLY,
    PERIOD_QUARTERLY,
    PERIOD_YEARLY,
};

/*
 * One period. index is the ISO week (1..52 or 1..53; year is then the ISO week-numbering
 * year, which differs from the calendar year for a few days around New Year), the month
 * (1..12), the quarter (1..4), or 1 for a year.
 */
struct period {
    enum period_type type;
    int year;
    int index;
};

/* Why period_parse rejected a string; PERIOD_PARSE_OK when it did not. */
enum period_parse_status {
    PERIOD_PARSE_OK,
    PERIOD_PARSE_SYNTAX,        /* none of the accepted forms (garbage, trailing bytes, ...) */
    PERIOD_PARSE_YEAR_RANGE,    /* year outside PERIOD_YEAR_MIN..PERIOD_YEAR_MAX */
    PERIOD_PARSE_MONTH_RANGE,   /* month 00 or above 12 */
    PERIOD_PARSE_QUARTER_RANGE, /* quarter 0 or above 4 */
    PERIOD_PARSE_WEEK_RANGE,    /* week 00, above 53, or 53 in a year that has 52 ISO weeks */
};

/*
 * Parses "weekly", "monthly", "quarterly" or "yearly" (exact, lower case, NUL-terminated)
 * into *out. Returns false, leaving *out alone, for anything else.
 */
__attribute__((warn_unused_result)) bool period_type_from_name(const char *name,
                                                               enum period_type *out);

/* The lower-case name of a period type ("monthly"); a static string, "unknown" if invalid. */
const char *period_type_name(enum period_type type);

/*
 * Parses exactly len bytes of s (no NUL needed) as one of the canonical period forms:
 *   "2025-03" or "202503"  month
 *   "2025Q1"               quarter
 *   "2025W05"              ISO week, always two digits; W53 only in years that have one
 *   "2025"                 year
 * Nothing else is accepted: no spaces, no lower-case q/w, no trailing bytes. On
 * PERIOD_PARSE_OK *out holds the period; otherwise *out is left alone.
 */
__attribute__((warn_unused_result)) enum period_parse_status period_parse(const char *s, size_t len,
                                                                          struct period *out);

/*
 * As period_parse, but for DHIS2 period identifiers, which also write ISO weeks with one
 * digit ("2025W5"). DHIS2's other period types (daily, bi-monthly, six-monthly, financial
 * years, weeks starting on other days) are PERIOD_PARSE_SYNTAX.
 */
__attribute__((warn_unused_result)) enum period_parse_status
period_parse_dhis2(const char *s, size_t len, struct period *out);

/*
 * A human explanation of a parse status, for messages such as
 * `period "2025-13" is not valid: the month must be between 01 and 12`. Static string.
 */
const char *period_parse_status_message(enum period_parse_status status);

/* Number of ISO 8601 weeks (52 or 53) in ISO week-numbering year `year`. */
int period_iso_weeks_in_year(int year);

/* First day of the period. */
int32_t period_start(struct period p);

/* Last day of the period (inclusive): period_end of 2025-03 is 2025-03-31. */
int32_t period_end(struct period p);

/* The period of the given type that contains `day`. */
struct period period_containing(enum period_type type, int32_t day);

/*
 * The period n periods after p (before it when n < 0), of the same type:
 * period_add(2025-01, -1) is 2024-12, period_add(2020W53, 1) is 2021W01. The result's year
 * may leave PERIOD_YEAR_MIN..PERIOD_YEAR_MAX when n is large; the caller keeps it sane.
 */
struct period period_add(struct period p, int n);

/* Orders two periods of the same type by time: negative, zero or positive like strcmp. */
int period_compare(struct period a, struct period b);

/*
 * Writes the canonical form ("2025-03", "2025Q1", "2025W05", "2025") of p, NUL-terminated,
 * into buf. Returns false (buf then holds "" if size > 0) when size is too small
 * (PERIOD_FORMAT_MAX always suffices) or p is not a valid period.
 */
__attribute__((warn_unused_result)) bool period_format(struct period p, char *buf, size_t size);

/* True when (year, month, day) names a real day, leap years included. */
bool date_ymd_valid(int year, int month, int day);

/* Days in the month (28..31); month must be 1..12. */
int date_days_in_month(int year, int month);

/* True for Gregorian leap years (divisible by 4, except centuries not divisible by 400). */
bool date_is_leap_year(int year);

/*
 * Days since 1970-01-01 of a date. The caller passes a valid date (see date_ymd_valid);
 * a day beyond the end of the month simply counts on into the next month.
 */
int32_t date_from_ymd(int year, int month, int day);

/* Splits days since 1970-01-01 into year, month (1..12) and day (1..31). */
void date_to_ymd(int32_t days, int *year, int *month, int *day);

/* ISO day of the week of a date: 1 = Monday ... 7 = Sunday. */
int date_iso_weekday(int32_t days);

/*
 * Parses exactly len bytes of s as a strict "YYYY-MM-DD" (four-digit year within
 * PERIOD_YEAR_MIN..PERIOD_YEAR_MAX, two-digit month and day, a real day of that month).
 * Returns false, leaving *days alone, for anything else.
 */
__attribute__((warn_unused_result)) bool date_parse(const char *s, size_t len, int32_t *days);

/*
 * Writes "YYYY-MM-DD", NUL-terminated, into buf. Returns false (buf then holds "" if
 * size > 0) when size is too small (DATE_FORMAT_MAX always suffices for years 1..9999)
 * or the year is outside 0..9999.
 */
__attribute__((warn_unused_result)) bool date_format(int32_t days, char *buf, size_t size);

#endif /* SCALEUPD_PERIOD_H */
