/*
 * Periods and dates: the textual forms feeds send, ISO week edge cases, and the arithmetic
 * (start, end, containing, add) across year ends and leap years.
 *
 * Reference days since 1970-01-01, worked out by hand:
 *   2020-01-01 = 50*365 + 12 leap days (1972..2016)   = 18262
 *   2021-01-01 = 18262 + 366                          = 18628
 *   2024-01-01 = 54*365 + 13 leap days (1972..2020)   = 19723
 *   2025-01-01 = 55*365 + 14 leap days (1972..2024)   = 20089
 *   2000-01-01 = 30*365 + 7 leap days (1972..1996)    = 10957
 * 1970-01-01 was a Thursday, 2025-01-01 a Wednesday ((20089 + 3) % 7 = 2 -> ISO day 3).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "scaleupd/core/period.h"

#define D_2020_01_01 18262
#define D_2021_01_01 18628
#define D_2024_01_01 19723
#define D_2025_01_01 20089
#define D_2000_01_01 10957

struct parse_case {
    const char *text;
    size_t len; /* 0: strlen(text) */
    enum period_parse_status status;
    enum period_type type;
    int year;
    int index;
};

static void check_parse(const struct parse_case *c, bool dhis2)
{
    struct period p = {PERIOD_YEARLY, -1, -1};
    size_t len = c->len ? c->len : strlen(c->text);
    enum period_parse_status status =
        dhis2 ? period_parse_dhis2(c->text, len, &p) : period_parse(c->text, len, &p);
    cr_expect_eq(status, c->status, "\"%s\": status %d, expected %d", c->text, status, c->status);
    if (c->status == PERIOD_PARSE_OK) {
        cr_expect_eq(p.type, c->type, "\"%s\": type", c->text);
        cr_expect_eq(p.year, c->year, "\"%s\": year", c->text);
        cr_expect_eq(p.index, c->index, "\"%s\": index", c->text);
    } else {
        cr_expect_eq(p.year, -1, "\"%s\": out touched on failure", c->text);
    }
}

Test(period, parse_accepts_every_canonical_form)
{
    static const struct parse_case cases[] = {
        {"2025-03", 0, PERIOD_PARSE_OK, PERIOD_MONTHLY, 2025, 3},
        {"202503", 0, PERIOD_PARSE_OK, PERIOD_MONTHLY, 2025, 3},
        {"2025-12", 0, PERIOD_PARSE_OK, PERIOD_MONTHLY, 2025, 12},
        {"2025-01", 0, PERIOD_PARSE_OK, PERIOD_MONTHLY, 2025, 1},
        {"2025Q1", 0, PERIOD_PARSE_OK, PERIOD_QUARTERLY, 2025, 1},
        {"2025Q4", 0, PERIOD_PARSE_OK, PERIOD_QUARTERLY, 2025, 4},
        {"2025W05", 0, PERIOD_PARSE_OK, PERIOD_WEEKLY, 2025, 5},
        {"2025W01", 0, PERIOD_PARSE_OK, PERIOD_WEEKLY, 2025, 1},
        {"2025W52", 0, PERIOD_PARSE_OK, PERIOD_WEEKLY, 2025, 52},
        /* 2020 starts on a Wednesday and is a leap year: 53 ISO weeks */
        {"2020W53", 0, PERIOD_PARSE_OK, PERIOD_WEEKLY, 2020, 53},
        /* 2026 and 2015 start on a Thursday: 53 ISO weeks */
        {"2026W53", 0, PERIOD_PARSE_OK, PERIOD_WEEKLY, 2026, 53},
        {"2015W53", 0, PERIOD_PARSE_OK, PERIOD_WEEKLY, 2015, 53},
        {"2025", 0, PERIOD_PARSE_OK, PERIOD_YEARLY, 2025, 1},
        {"0001", 0, PERIOD_PARSE_OK, PERIOD_YEARLY, 1, 1},
        {"9999-12", 0, PERIOD_PARSE_OK, PERIOD_MONTHLY, 9999, 12},
        /* only len bytes count: what follows is not read */
        {"2025-03-01", 7, PERIOD_PARSE_OK, PERIOD_MONTHLY, 2025, 3},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_parse(&cases[i], false);
}

Test(period, parse_rejects_impossible_and_malformed_periods)
{
    static const struct parse_case cases[] = {
        {"2025-13", 0, PERIOD_PARSE_MONTH_RANGE, 0, 0, 0},
        {"2025-00", 0, PERIOD_PARSE_MONTH_RANGE, 0, 0, 0},
        {"202513", 0, PERIOD_PARSE_MONTH_RANGE, 0, 0, 0},
        {"202500", 0, PERIOD_PARSE_MONTH_RANGE, 0, 0, 0},
        {"2025W54", 0, PERIOD_PARSE_WEEK_RANGE, 0, 0, 0},
        {"2025W00", 0, PERIOD_PARSE_WEEK_RANGE, 0, 0, 0},
        /* 2021 starts on a Friday and 2025 on a Wednesday, neither leap: 52 weeks */
        {"2021W53", 0, PERIOD_PARSE_WEEK_RANGE, 0, 0, 0},
        {"2025W53", 0, PERIOD_PARSE_WEEK_RANGE, 0, 0, 0},
        {"2025Q5", 0, PERIOD_PARSE_QUARTER_RANGE, 0, 0, 0},
        {"2025Q0", 0, PERIOD_PARSE_QUARTER_RANGE, 0, 0, 0},
        {"0000", 0, PERIOD_PARSE_YEAR_RANGE, 0, 0, 0},
        {"0000-01", 0, PERIOD_PARSE_YEAR_RANGE, 0, 0, 0},
        {"", 0, PERIOD_PARSE_SYNTAX, 0, 0, 0},
        {"abc", 0, PERIOD_PARSE_SYNTAX, 0, 0, 0},
        {"abcd", 0, PERIOD_PARSE_SYNTAX, 0, 0, 0},
        {"25-03", 0, PERIOD_PARSE_SYNTAX, 0, 0, 0},
        {"2025-3", 0, PERIOD_PARSE_SYNTAX, 0, 0, 0},
        {"2025-003", 0, PERIOD_PARSE_SYNTAX, 0, 0, 0},
        {"2025q1", 0, PERIOD_PARSE_SYNTAX, 0, 0, 0},
        {"2025w05", 0, PERIOD_PARSE_SYNTAX, 0, 0, 0},
        {"2025W5", 0, PERIOD_PARSE_SYNTAX, 0, 0, 0}, /* one-digit weeks are DHIS2 only */
        {"2025W005", 0, PERIOD_PARSE_SYNTAX, 0, 0, 0},
        {"2025Q", 0, PERIOD_PARSE_SYNTAX, 0, 0, 0},
        {"2025Q12", 0, PERIOD_PARSE_SYNTAX, 0, 0, 0},
        {" 2025", 0, PERIOD_PARSE_SYNTAX, 0, 0, 0},
        {"2025 ", 0, PERIOD_PARSE_SYNTAX, 0, 0, 0},
        {"2025-03x", 0, PERIOD_PARSE_SYNTAX, 0, 0, 0},
        {"2025-03-01", 0, PERIOD_PARSE_SYNTAX, 0, 0, 0},
        {"2025-03\0", 8, PERIOD_PARSE_SYNTAX, 0, 0, 0}, /* a NUL is a trailing byte too */
        {"+2025", 0, PERIOD_PARSE_SYNTAX, 0, 0, 0},
        {"2025/03", 0, PERIOD_PARSE_SYNTAX, 0, 0, 0},
        {"2025-+3", 0, PERIOD_PARSE_SYNTAX, 0, 0, 0},
        {"20250105", 0, PERIOD_PARSE_SYNTAX, 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_parse(&cases[i], false);
}

Test(period, dhis2_forms)
{
    static const struct parse_case cases[] = {
        {"202505", 0, PERIOD_PARSE_OK, PERIOD_MONTHLY, 2025, 5},
        {"2025Q1", 0, PERIOD_PARSE_OK, PERIOD_QUARTERLY, 2025, 1},
        {"2025W5", 0, PERIOD_PARSE_OK, PERIOD_WEEKLY, 2025, 5},
        {"2025W05", 0, PERIOD_PARSE_OK, PERIOD_WEEKLY, 2025, 5},
        {"2025", 0, PERIOD_PARSE_OK, PERIOD_YEARLY, 2025, 1},
        {"2025W0", 0, PERIOD_PARSE_WEEK_RANGE, 0, 0, 0},
        {"2025W54", 0, PERIOD_PARSE_WEEK_RANGE, 0, 0, 0},
        {"20250105", 0, PERIOD_PARSE_SYNTAX, 0, 0, 0},  /* daily */
        {"2025S1", 0, PERIOD_PARSE_SYNTAX, 0, 0, 0},    /* six-monthly */
        {"202501B", 0, PERIOD_PARSE_SYNTAX, 0, 0, 0},   /* bi-monthly */
        {"2025April", 0, PERIOD_PARSE_SYNTAX, 0, 0, 0}, /* financial year */
        {"2025WedW5", 0, PERIOD_PARSE_SYNTAX, 0, 0, 0}, /* weeks starting Wednesday */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_parse(&cases[i], true);
}

Test(period, type_names_round_trip)
{
    static const char *const names[] = {"weekly", "monthly", "quarterly", "yearly"};
    for (int i = 0; i < 4; i++) {
        enum period_type type = PERIOD_YEARLY;
        cr_assert(period_type_from_name(names[i], &type), "%s", names[i]);
        cr_expect_eq((int)type, i);
        cr_expect_str_eq(period_type_name(type), names[i]);
    }
    enum period_type untouched = PERIOD_WEEKLY;
    cr_expect_not(period_type_from_name("Monthly", &untouched));
    cr_expect_not(period_type_from_name("month", &untouched));
    cr_expect_not(period_type_from_name("", &untouched));
    cr_expect_eq(untouched, PERIOD_WEEKLY);
}

struct span_case {
    struct period p;
    int32_t start;
    int32_t end;
    const char *text;
};

Test(period, start_end_and_format)
{
    static const struct span_case cases[] = {
        /* 2025-03: Jan 31 + Feb 28 days after 2025-01-01; ends the day before April 1 (+31) */
        {{PERIOD_MONTHLY, 2025, 3}, D_2025_01_01 + 59, D_2025_01_01 + 59 + 30, "2025-03"},
        /* leap February 2024: 29 days */
        {{PERIOD_MONTHLY, 2024, 2}, D_2024_01_01 + 31, D_2024_01_01 + 31 + 28, "2024-02"},
        {{PERIOD_MONTHLY, 2025, 2}, D_2025_01_01 + 31, D_2025_01_01 + 31 + 27, "2025-02"},
        {{PERIOD_MONTHLY, 2025, 12}, D_2025_01_01 + 334, D_2025_01_01 + 364, "2025-12"},
        /* Q1 2025: 31 + 28 + 31 = 90 days */
        {{PERIOD_QUARTERLY, 2025, 1}, D_2025_01_01, D_2025_01_01 + 89, "2025Q1"},
        /* Q4 2024 (leap): from Oct 1 = day 274 to Dec 31 = day 365 */
        {{PERIOD_QUARTERLY, 2024, 4}, D_2024_01_01 + 274, D_2024_01_01 + 365, "2024Q4"},
        {{PERIOD_YEARLY, 2024, 1}, D_2024_01_01, D_2025_01_01 - 1, "2024"},
        /* 2025W01 starts Monday 2024-12-30, two days before Wednesday 2025-01-01 */
        {{PERIOD_WEEKLY, 2025, 1}, D_2025_01_01 - 2, D_2025_01_01 + 4, "2025W01"},
        {{PERIOD_WEEKLY, 2025, 5}, D_2025_01_01 - 2 + 28, D_2025_01_01 + 4 + 28, "2025W05"},
        /* 2020W53 is Monday 2020-12-28 .. Sunday 2021-01-03 */
        {{PERIOD_WEEKLY, 2020, 53}, D_2021_01_01 - 4, D_2021_01_01 + 2, "2020W53"},
        /* 2021W01 starts Monday 2021-01-04 */
        {{PERIOD_WEEKLY, 2021, 1}, D_2021_01_01 + 3, D_2021_01_01 + 9, "2021W01"},
        /* 2020W01 starts Monday 2019-12-30: 2020-01-01 was a Wednesday */
        {{PERIOD_WEEKLY, 2020, 1}, D_2020_01_01 - 2, D_2020_01_01 + 4, "2020W01"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct span_case *c = &cases[i];
        char buf[PERIOD_FORMAT_MAX];
        cr_expect_eq(period_start(c->p), c->start, "%s start %d, expected %d", c->text,
                     period_start(c->p), c->start);
        cr_expect_eq(period_end(c->p), c->end, "%s end %d, expected %d", c->text, period_end(c->p),
                     c->end);
        cr_assert(period_format(c->p, buf, sizeof buf), "%s", c->text);
        cr_expect_str_eq(buf, c->text);
        struct period back;
        cr_assert_eq(period_parse(buf, strlen(buf), &back), PERIOD_PARSE_OK, "%s", buf);
        cr_expect_eq(period_compare(back, c->p), 0, "%s round trip", c->text);
    }
}

Test(period, format_refuses_small_buffers_and_invalid_periods)
{
    char buf[8] = "xxxxxxx";
    struct period month = {PERIOD_MONTHLY, 2025, 3};
    cr_expect_not(period_format(month, buf, 7)); /* "2025-03" needs 8 bytes with the NUL */
    cr_expect_str_eq(buf, "");
    cr_expect(period_format(month, buf, 8));
    cr_expect_str_eq(buf, "2025-03");
    struct period bad_week = {PERIOD_WEEKLY, 2021, 53};
    cr_expect_not(period_format(bad_week, buf, sizeof buf));
    struct period bad_month = {PERIOD_MONTHLY, 2025, 13};
    cr_expect_not(period_format(bad_month, buf, sizeof buf));
    cr_expect_str_eq(buf, "");
}

struct containing_case {
    enum period_type type;
    int32_t day;
    int year;
    int index;
};

Test(period, containing_across_year_ends)
{
    static const struct containing_case cases[] = {
        /* Tuesday 2024-12-31 and Monday 2024-12-30 belong to ISO week 2025W01 */
        {PERIOD_WEEKLY, D_2025_01_01 - 1, 2025, 1},
        {PERIOD_WEEKLY, D_2025_01_01 - 2, 2025, 1},
        /* Sunday 2024-12-29 is the last day of 2024W52 */
        {PERIOD_WEEKLY, D_2025_01_01 - 3, 2024, 52},
        /* Friday 2021-01-01 .. Sunday 2021-01-03 are still in 2020W53 */
        {PERIOD_WEEKLY, D_2021_01_01, 2020, 53},
        {PERIOD_WEEKLY, D_2021_01_01 + 2, 2020, 53},
        {PERIOD_WEEKLY, D_2021_01_01 + 3, 2021, 1},
        /* 2025-06-15 is a Sunday: 2025-06-09 + 6; 2025-06-09 is 161 days after 2024-12-30,
         * 161 / 7 = 23 whole weeks after week 1 -> week 24 */
        {PERIOD_WEEKLY, D_2025_01_01 + 165, 2025, 24},
        {PERIOD_MONTHLY, D_2025_01_01 - 1, 2024, 12},
        {PERIOD_MONTHLY, D_2025_01_01, 2025, 1},
        {PERIOD_MONTHLY, D_2024_01_01 + 59, 2024, 2}, /* 2024-02-29 */
        {PERIOD_MONTHLY, D_2024_01_01 + 60, 2024, 3}, /* 2024-03-01 */
        {PERIOD_QUARTERLY, D_2025_01_01 - 1, 2024, 4},
        {PERIOD_QUARTERLY, D_2025_01_01 + 89, 2025, 1}, /* 2025-03-31 */
        {PERIOD_QUARTERLY, D_2025_01_01 + 90, 2025, 2}, /* 2025-04-01 */
        {PERIOD_YEARLY, D_2025_01_01 - 1, 2024, 1},
        {PERIOD_YEARLY, -1, 1969, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct containing_case *c = &cases[i];
        struct period p = period_containing(c->type, c->day);
        cr_expect_eq(p.type, c->type);
        cr_expect(p.year == c->year && p.index == c->index,
                  "case %zu (day %d): got %d/%d, expected %d/%d", i, c->day, p.year, p.index,
                  c->year, c->index);
    }
}

Test(period, every_day_lies_in_its_containing_period)
{
    /* 2019-01-01 .. 2027-12-31 covers 53-week years 2020 and 2026 and leap year 2024 */
    int32_t from = date_from_ymd(2019, 1, 1), to = date_from_ymd(2027, 12, 31);
    for (int type = PERIOD_WEEKLY; type <= PERIOD_YEARLY; type++) {
        for (int32_t day = from; day <= to; day++) {
            struct period p = period_containing((enum period_type)type, day);
            int32_t start = period_start(p), end = period_end(p);
            cr_assert(start <= day && day <= end, "type %d day %d: [%d, %d]", type, day, start,
                      end);
            cr_assert_eq(period_start(period_add(p, 1)), end + 1, "type %d day %d", type, day);
            cr_assert_eq(period_end(period_add(p, -1)), start - 1, "type %d day %d", type, day);
        }
    }
}

struct add_case {
    struct period p;
    int n;
    int year;
    int index;
};

Test(period, add_across_year_ends)
{
    static const struct add_case cases[] = {
        {{PERIOD_MONTHLY, 2025, 1}, -1, 2024, 12},
        {{PERIOD_MONTHLY, 2024, 11}, 14, 2026, 1},  /* 11 + 14 = 25 = 2 years + 1 */
        {{PERIOD_MONTHLY, 2025, 3}, -27, 2022, 12}, /* 3 - 27 = -24 -> 2 years back, Dec */
        {{PERIOD_MONTHLY, 2025, 3}, 0, 2025, 3},
        {{PERIOD_QUARTERLY, 2025, 1}, -5, 2023, 4},
        {{PERIOD_QUARTERLY, 2025, 4}, 1, 2026, 1},
        {{PERIOD_WEEKLY, 2020, 53}, 1, 2021, 1},
        {{PERIOD_WEEKLY, 2021, 1}, -1, 2020, 53},
        {{PERIOD_WEEKLY, 2025, 1}, -1, 2024, 52},
        /* one week to 2025W01, then 52 more through 2025's 52 weeks -> 2026W01 */
        {{PERIOD_WEEKLY, 2024, 52}, 53, 2026, 1},
        {{PERIOD_YEARLY, 2025, 1}, -3, 2022, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct add_case *c = &cases[i];
        struct period p = period_add(c->p, c->n);
        cr_expect(p.year == c->year && p.index == c->index, "case %zu: got %d/%d, expected %d/%d",
                  i, p.year, p.index, c->year, c->index);
        cr_expect_eq(p.type, c->p.type);
    }
}

Test(period, iso_weeks_in_year)
{
    /* 53 weeks when the year starts on Thursday, or is leap and starts on Wednesday */
    static const struct {
        int year;
        int weeks;
    } cases[] = {{2015, 53}, {2019, 52}, {2020, 53}, {2021, 52}, {2024, 52},
                 {2025, 52}, {2026, 53}, {2032, 53}, {2004, 53}, {2009, 53}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        cr_expect_eq(period_iso_weeks_in_year(cases[i].year), cases[i].weeks, "%d", cases[i].year);
}

struct date_case {
    const char *text;
    bool ok;
    int32_t days;
};

Test(date, parse_strict_dates_with_leap_years)
{
    static const struct date_case cases[] = {
        {"1970-01-01", true, 0},
        {"1969-12-31", true, -1},
        {"2025-01-01", true, D_2025_01_01},
        {"2025-12-31", true, D_2025_01_01 + 364},
        {"2024-02-29", true, D_2024_01_01 + 31 + 28}, /* leap: divisible by 4 */
        {"2000-02-29", true, D_2000_01_01 + 31 + 28}, /* leap: divisible by 400 */
        {"2025-02-29", false, 0},
        {"1900-02-29", false, 0}, /* century not divisible by 400 */
        {"2100-02-29", false, 0},
        {"2025-04-31", false, 0},
        {"2025-13-01", false, 0},
        {"2025-00-10", false, 0},
        {"2025-01-00", false, 0},
        {"2025-01-32", false, 0},
        {"0000-01-01", false, 0},
        {"2025-1-01", false, 0},
        {"2025/01/01", false, 0},
        {"2025-01-01T00:00", false, 0},
        {"2025-01-0a", false, 0},
        {"", false, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int32_t days = 12345;
        bool ok = date_parse(cases[i].text, strlen(cases[i].text), &days);
        cr_expect_eq(ok, cases[i].ok, "\"%s\"", cases[i].text);
        cr_expect_eq(days, cases[i].ok ? cases[i].days : 12345, "\"%s\": %d", cases[i].text, days);
    }
}

Test(date, ymd_round_trip_and_weekdays)
{
    /* walk 1600-01-01 .. 2400-12-31 a day at a time: each day follows the previous one */
    int32_t day = date_from_ymd(1600, 1, 1);
    int year = 1600, month = 1, mday = 1;
    while (year <= 2400) {
        int y, m, d;
        date_to_ymd(day, &y, &m, &d);
        cr_assert(y == year && m == month && d == mday, "%d: %d-%d-%d, expected %d-%d-%d", day, y,
                  m, d, year, month, mday);
        cr_assert_eq(date_from_ymd(year, month, mday), day);
        day++;
        if (++mday > date_days_in_month(year, month)) {
            mday = 1;
            if (++month > 12) {
                month = 1;
                year++;
            }
        }
    }
    cr_expect_eq(date_iso_weekday(0), 4);            /* Thursday 1970-01-01 */
    cr_expect_eq(date_iso_weekday(-3), 1);           /* Monday 1969-12-29 */
    cr_expect_eq(date_iso_weekday(D_2025_01_01), 3); /* Wednesday */
    cr_expect_eq(date_iso_weekday(D_2021_01_01), 5); /* Friday */
    cr_expect_eq(date_from_ymd(2025, 1, 1), D_2025_01_01);
}

Test(date, format)
{
    char buf[DATE_FORMAT_MAX];
    cr_assert(date_format(D_2024_01_01 + 59, buf, sizeof buf));
    cr_expect_str_eq(buf, "2024-02-29");
    cr_assert(date_format(-1, buf, sizeof buf));
    cr_expect_str_eq(buf, "1969-12-31");
    cr_expect_not(date_format(0, buf, 10)); /* 10 characters need 11 bytes */
    cr_expect_str_eq(buf, "");
}
