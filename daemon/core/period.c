/*
 * Calendar arithmetic for reporting periods: days since 1970-01-01 in the proleptic
 * Gregorian calendar, ISO 8601 weeks, months, quarters and years, and the strict parsers
 * and formatters for their textual forms. Pure functions, no state.
 */
#include "scaleupd/core/period.h"

#include <stdio.h>
#include <string.h>

/* Integer division rounding towards minus infinity (C rounds towards zero). */
static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

static int64_t floor_mod(int64_t a, int64_t b)
{
    return a - floor_div(a, b) * b;
}

bool date_is_leap_year(int year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int date_days_in_month(int year, int month)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month < 1 || month > 12)
        return 0;
    if (month == 2 && date_is_leap_year(year))
        return 29;
    return days[month - 1];
}

bool date_ymd_valid(int year, int month, int day)
{
    return month >= 1 && month <= 12 && day >= 1 && day <= date_days_in_month(year, month);
}

/* Howard Hinnant's days_from_civil: eras of 400 years (146097 days) starting on March 1. */
int32_t date_from_ymd(int year, int month, int day)
{
    int64_t y = (int64_t)year - (month <= 2);
    int64_t era = floor_div(y, 400);
    int64_t year_of_era = y - era * 400;
    int64_t day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return (int32_t)(era * 146097 + day_of_era - 719468);
}

/* Hinnant's civil_from_days, the inverse of date_from_ymd. */
void date_to_ymd(int32_t days, int *year, int *month, int *day)
{
    int64_t z = (int64_t)days + 719468;
    int64_t era = floor_div(z, 146097);
    int64_t day_of_era = z - era * 146097;
    int64_t year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
    int64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    int64_t mp = (5 * day_of_year + 2) / 153;
    int m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *day = (int)(day_of_year - (153 * mp + 2) / 5 + 1);
    *month = m;
    *year = (int)(year_of_era + era * 400 + (m <= 2));
}

/* 1970-01-01 was a Thursday (ISO day 4). */
int date_iso_weekday(int32_t days)
{
    return (int)floor_mod((int64_t)days + 3, 7) + 1;
}

/* Monday of ISO week 1 of `year`: the Monday of the week that holds January 4. */
static int32_t iso_week1_monday(int year)
{
    int32_t jan4 = date_from_ymd(year, 1, 4);
    return jan4 - (date_iso_weekday(jan4) - 1);
}

int period_iso_weeks_in_year(int year)
{
    return (int)((iso_week1_monday(year + 1) - iso_week1_monday(year)) / 7);
}

bool period_type_from_name(const char *name, enum period_type *out)
{
    static const enum period_type types[] = {PERIOD_WEEKLY, PERIOD_MONTHLY, PERIOD_QUARTERLY,
                                             PERIOD_YEARLY};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        if (strcmp(name, period_type_name(types[i])) == 0) {
            *out = types[i];
            return true;
        }
    }
    return false;
}

const char *period_type_name(enum period_type type)
{
    switch (type) {
    case PERIOD_WEEKLY:
        return "weekly";
    case PERIOD_MONTHLY:
        return "monthly";
    case PERIOD_QUARTERLY:
        return "quarterly";
    case PERIOD_YEARLY:
        return "yearly";
    }
    return "unknown";
}

const char *period_parse_status_message(enum period_parse_status status)
{
    switch (status) {
    case PERIOD_PARSE_OK:
        return "valid";
    case PERIOD_PARSE_SYNTAX:
        return "expected YYYY-MM, YYYYMM, YYYYQn, YYYYWnn or YYYY";
    case PERIOD_PARSE_YEAR_RANGE:
        return "the year must be between 0001 and 9999";
    case PERIOD_PARSE_MONTH_RANGE:
        return "the month must be between 01 and 12";
    case PERIOD_PARSE_QUARTER_RANGE:
        return "the quarter must be between 1 and 4";
    case PERIOD_PARSE_WEEK_RANGE:
        return "that ISO week does not exist in that year";
    }
    return "unknown status";
}

/* Value of n ASCII digits at s, or -1 if any byte is not a digit. */
static int parse_digits(const char *s, size_t n)
{
    int value = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        value = value * 10 + (s[i] - '0');
    }
    return value;
}

static enum period_parse_status make_period(enum period_type type, int year, int index,
                                            struct period *out)
{
    if (year < PERIOD_YEAR_MIN || year > PERIOD_YEAR_MAX)
        return PERIOD_PARSE_YEAR_RANGE;
    if (type == PERIOD_MONTHLY && (index < 1 || index > 12))
        return PERIOD_PARSE_MONTH_RANGE;
    if (type == PERIOD_QUARTERLY && (index < 1 || index > 4))
        return PERIOD_PARSE_QUARTER_RANGE;
    if (type == PERIOD_WEEKLY && (index < 1 || index > period_iso_weeks_in_year(year)))
        return PERIOD_PARSE_WEEK_RANGE;
    out->type = type;
    out->year = year;
    out->index = index;
    return PERIOD_PARSE_OK;
}

/* The part after the four-digit year: "-MM", "MM", "Qn", "Wnn" (or "Wn" for DHIS2). */
static enum period_parse_status parse_suffix(int year, const char *s, size_t len, bool dhis2,
                                             struct period *out)
{
    int index;
    if (len == 0)
        return make_period(PERIOD_YEARLY, year, 1, out);
    if (len == 3 && s[0] == '-') {
        index = parse_digits(s + 1, 2);
        return index < 0 ? PERIOD_PARSE_SYNTAX : make_period(PERIOD_MONTHLY, year, index, out);
    }
    if (len == 2 && s[0] == 'Q') {
        index = parse_digits(s + 1, 1);
        return index < 0 ? PERIOD_PARSE_SYNTAX : make_period(PERIOD_QUARTERLY, year, index, out);
    }
    if (s[0] == 'W' && (len == 3 || (dhis2 && len == 2))) {
        index = parse_digits(s + 1, len - 1);
        return index < 0 ? PERIOD_PARSE_SYNTAX : make_period(PERIOD_WEEKLY, year, index, out);
    }
    if (len == 2) {
        index = parse_digits(s, 2);
        return index < 0 ? PERIOD_PARSE_SYNTAX : make_period(PERIOD_MONTHLY, year, index, out);
    }
    return PERIOD_PARSE_SYNTAX;
}

static enum period_parse_status parse_any(const char *s, size_t len, bool dhis2, struct period *out)
{
    if (len < 4)
        return PERIOD_PARSE_SYNTAX;
    int year = parse_digits(s, 4);
    if (year < 0)
        return PERIOD_PARSE_SYNTAX;
    return parse_suffix(year, s + 4, len - 4, dhis2, out);
}

enum period_parse_status period_parse(const char *s, size_t len, struct period *out)
{
    /* the form feeds send most, "2025-03", straight through */
    if (len == 7 && s[4] == '-') {
        int year = parse_digits(s, 4), month = parse_digits(s + 5, 2);
        if (year >= PERIOD_YEAR_MIN && month >= 1 && month <= 12) {
            out->type = PERIOD_MONTHLY;
            out->year = year;
            out->index = month;
            return PERIOD_PARSE_OK;
        }
    }
    return parse_any(s, len, false, out);
}

enum period_parse_status period_parse_dhis2(const char *s, size_t len, struct period *out)
{
    return parse_any(s, len, true, out);
}

int32_t period_start(struct period p)
{
    switch (p.type) {
    case PERIOD_WEEKLY:
        return iso_week1_monday(p.year) + 7 * (p.index - 1);
    case PERIOD_MONTHLY:
        return date_from_ymd(p.year, p.index, 1);
    case PERIOD_QUARTERLY:
        return date_from_ymd(p.year, 3 * (p.index - 1) + 1, 1);
    case PERIOD_YEARLY:
        return date_from_ymd(p.year, 1, 1);
    }
    return 0;
}

int32_t period_end(struct period p)
{
    return period_start(period_add(p, 1)) - 1;
}

struct period period_containing(enum period_type type, int32_t day)
{
    struct period p = {.type = type, .index = 1};
    int month, mday;
    if (type == PERIOD_WEEKLY) {
        /* The ISO year of a week is the calendar year of its Thursday. */
        int32_t thursday = day - (date_iso_weekday(day) - 1) + 3;
        date_to_ymd(thursday, &p.year, &month, &mday);
        p.index = (int)((thursday - iso_week1_monday(p.year)) / 7) + 1;
        return p;
    }
    date_to_ymd(day, &p.year, &month, &mday);
    if (type == PERIOD_MONTHLY)
        p.index = month;
    else if (type == PERIOD_QUARTERLY)
        p.index = (month - 1) / 3 + 1;
    return p;
}

/* Moves a (year, index) pair by n steps of a calendar with `per_year` periods a year. */
static struct period add_linear(struct period p, int n, int per_year)
{
    int64_t linear = (int64_t)p.year * per_year + (p.index - 1) + n;
    p.year = (int)floor_div(linear, per_year);
    p.index = (int)floor_mod(linear, per_year) + 1;
    return p;
}

struct period period_add(struct period p, int n)
{
    switch (p.type) {
    case PERIOD_WEEKLY:
        return period_containing(PERIOD_WEEKLY, period_start(p) + 7 * n);
    case PERIOD_MONTHLY:
        return add_linear(p, n, 12);
    case PERIOD_QUARTERLY:
        return add_linear(p, n, 4);
    case PERIOD_YEARLY:
        p.year += n;
        return p;
    }
    return p;
}

int period_compare(struct period a, struct period b)
{
    if (a.year != b.year)
        return a.year < b.year ? -1 : 1;
    if (a.index != b.index)
        return a.index < b.index ? -1 : 1;
    return 0;
}

static bool period_valid(struct period p)
{
    struct period copy;
    return make_period(p.type, p.year, p.index, &copy) == PERIOD_PARSE_OK;
}

bool period_format(struct period p, char *buf, size_t size)
{
    int n = -1;
    if (size > 0)
        buf[0] = '\0';
    if (!period_valid(p))
        return false;
    switch (p.type) {
    case PERIOD_WEEKLY:
        n = snprintf(buf, size, "%04dW%02d", p.year, p.index);
        break;
    case PERIOD_MONTHLY:
        n = snprintf(buf, size, "%04d-%02d", p.year, p.index);
        break;
    case PERIOD_QUARTERLY:
        n = snprintf(buf, size, "%04dQ%d", p.year, p.index);
        break;
    case PERIOD_YEARLY:
        n = snprintf(buf, size, "%04d", p.year);
        break;
    }
    if (n < 0 || (size_t)n >= size) {
        if (size > 0)
            buf[0] = '\0';
        return false;
    }
    return true;
}

bool date_parse(const char *s, size_t len, int32_t *days)
{
    if (len != 10 || s[4] != '-' || s[7] != '-')
        return false;
    int year = parse_digits(s, 4);
    int month = parse_digits(s + 5, 2);
    int day = parse_digits(s + 8, 2);
    if (year < PERIOD_YEAR_MIN || month < 0 || day < 0 || !date_ymd_valid(year, month, day))
        return false;
    *days = date_from_ymd(year, month, day);
    return true;
}

bool date_format(int32_t days, char *buf, size_t size)
{
    int year, month, day;
    if (size > 0)
        buf[0] = '\0';
    date_to_ymd(days, &year, &month, &day);
    if (year < 0 || year > 9999)
        return false;
    int n = snprintf(buf, size, "%04d-%02d-%02d", year, month, day);
    if (n < 0 || (size_t)n >= size) {
        if (size > 0)
            buf[0] = '\0';
        return false;
    }
    return true;
}
