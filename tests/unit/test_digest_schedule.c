/* Digest schedules: the receivers' notify/digest fields, and next due times in time zones
 * with and without daylight saving time, across month ends and leap years. The zones are
 * the rules of Europe/Brussels, America/New_York and Asia/Kolkata written out here. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/digest_schedule.h"
#include "scaleupd/core/period.h"

static double utc(int y, int mo, int d, int h, int mi)
{
    return (double)date_from_ymd(y, mo, d) * 86400.0 + h * 3600.0 + mi * 60.0;
}

/* The n-th Sunday of a month (n = -1: the last) at hour UTC. */
static double sunday(int y, int mo, int n, int hour)
{
    int32_t day;
    if (n < 0) {
        day = date_from_ymd(y, mo, date_days_in_month(y, mo));
        while (date_iso_weekday(day) != 7)
            day--;
    } else {
        day = date_from_ymd(y, mo, 1);
        while (date_iso_weekday(day) != 7)
            day++;
        day += 7 * (n - 1);
    }
    return (double)day * 86400.0 + hour * 3600.0;
}

static int year_of(double t)
{
    int y, m, d;
    date_to_ymd((int32_t)(t / 86400.0 - (t < 0)), &y, &m, &d);
    return y;
}

/* EU rules: CET, CEST from the last Sunday of March 01:00 UTC to the last of October. */
static bool brussels(void *ctx, double t, int *s)
{
    (void)ctx;
    int y = year_of(t);
    *s = t >= sunday(y, 3, -1, 1) && t < sunday(y, 10, -1, 1) ? 7200 : 3600;
    return true;
}

/* US rules: EST, EDT from the second Sunday of March 07:00 UTC to the first of November
 * 06:00 UTC. */
static bool new_york(void *ctx, double t, int *s)
{
    (void)ctx;
    int y = year_of(t);
    *s = t >= sunday(y, 3, 2, 7) && t < sunday(y, 11, 1, 6) ? -14400 : -18000;
    return true;
}

static bool kolkata(void *ctx, double t, int *s)
{
    (void)ctx, (void)t;
    *s = 19800;
    return true;
}

static bool utc_zone(void *ctx, double t, int *s)
{
    (void)ctx, (void)t;
    *s = 0;
    return true;
}

static const struct digest_zone BRU = {brussels, NULL}, NYC = {new_york, NULL},
                                KOL = {kolkata, NULL}, UTC = {utc_zone, NULL};

#define WEEKLY(day, h)                                                                             \
    {                                                                                              \
        .every = DIGEST_WEEKLY, .weekday = (day), .hour = (h)                                      \
    }
#define MONTHLY(grace, after, h)                                                                   \
    {                                                                                              \
        .every = DIGEST_MONTHLY, .grace_days = (grace), .days_after_due = (after), .hour = (h)     \
    }

struct due_case {
    const char *what;
    struct digest_schedule schedule;
    const struct digest_zone *zone;
    double after, due;
};

Test(digest_schedule, next_due_table)
{
    struct due_case cases[] = {
        {"Monday 08:00 Brussels, from a Wednesday", WEEKLY(1, 8), &BRU, utc(2026, 12, 2, 12, 0),
         utc(2026, 12, 7, 7, 0)},
        {"strictly after: at the due time, the next week", WEEKLY(1, 8), &BRU,
         utc(2026, 12, 7, 7, 0), utc(2026, 12, 14, 7, 0)},
        {"a second before the due time", WEEKLY(1, 8), &BRU, utc(2026, 12, 7, 7, 0) - 1,
         utc(2026, 12, 7, 7, 0)},
        {"Monday 08:00 across spring forward: 7 days less an hour", WEEKLY(1, 8), &BRU,
         utc(2026, 3, 23, 7, 0), utc(2026, 3, 30, 6, 0)},
        {"Monday 08:00 across fall back: 7 days and an hour", WEEKLY(1, 8), &BRU,
         utc(2026, 10, 19, 6, 0), utc(2026, 10, 26, 7, 0)},
        {"Sunday 02:00 that does not exist: 03:00 CEST", WEEKLY(7, 2), &BRU, utc(2026, 3, 25, 0, 0),
         utc(2026, 3, 29, 1, 0)},
        {"Sunday 02:00 that occurs twice: the first, CEST", WEEKLY(7, 2), &BRU,
         utc(2026, 10, 21, 0, 0), utc(2026, 10, 25, 0, 0)},
        {"Friday 17:00 New York after its fall back", WEEKLY(5, 17), &NYC, utc(2026, 11, 2, 0, 0),
         utc(2026, 11, 6, 22, 0)},
        {"Monday 20:00 New York is Tuesday in UTC", WEEKLY(1, 20), &NYC, utc(2026, 12, 7, 23, 0),
         utc(2026, 12, 8, 1, 0)},
        {"Monday 06:00 Kolkata is Monday 00:30 UTC, from Sunday UTC", WEEKLY(1, 6), &KOL,
         utc(2026, 12, 6, 23, 0), utc(2026, 12, 7, 0, 30)},
        {"Monday 06:00 Kolkata, just past", WEEKLY(1, 6), &KOL, utc(2026, 12, 7, 1, 0),
         utc(2026, 12, 14, 0, 30)},
        {"monthly, due the 15th, a day after, 08:00 Brussels", MONTHLY(15, 1, 8), &BRU,
         utc(2026, 12, 2, 0, 0), utc(2026, 12, 16, 7, 0)},
        {"monthly, at the due time: the next month's", MONTHLY(15, 1, 8), &BRU,
         utc(2026, 12, 16, 7, 0), utc(2027, 1, 16, 7, 0)},
        {"monthly in CET then CEST", MONTHLY(15, 1, 8), &BRU, utc(2026, 3, 16, 7, 0),
         utc(2026, 4, 16, 6, 0)},
        {"month end: February of a common year", MONTHLY(0, 0, 23), &UTC, utc(2027, 2, 1, 0, 0),
         utc(2027, 2, 28, 23, 0)},
        {"month end: after February, March 31", MONTHLY(0, 0, 23), &UTC, utc(2027, 2, 28, 23, 0),
         utc(2027, 3, 31, 23, 0)},
        {"month end: February of a leap year", MONTHLY(0, 0, 23), &UTC, utc(2028, 2, 1, 0, 0),
         utc(2028, 2, 29, 23, 0)},
        {"month end: from April 30 past its time, May 31", MONTHLY(0, 0, 23), &UTC,
         utc(2026, 4, 30, 23, 30), utc(2026, 5, 31, 23, 0)},
        {"grace 30: January's data is due March 2 (common year)", MONTHLY(30, 0, 9), &UTC,
         utc(2027, 2, 1, 0, 0), utc(2027, 3, 2, 9, 0)},
        {"grace 30 in a leap year: March 1", MONTHLY(30, 0, 9), &UTC, utc(2028, 2, 1, 0, 0),
         utc(2028, 3, 1, 9, 0)},
        {"monthly across New Year", MONTHLY(15, 3, 0), &NYC, utc(2026, 12, 25, 0, 0),
         utc(2027, 1, 18, 5, 0)},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        double due = -1;
        cr_assert(digest_next_due(&cases[i].schedule, cases[i].zone, cases[i].after, &due), "%s",
                  cases[i].what);
        cr_expect_eq(due, cases[i].due, "%s: %.0f, expected %.0f (%+.0f h)", cases[i].what, due,
                     cases[i].due, (due - cases[i].due) / 3600.0);
    }
}

Test(digest_schedule, local_times_in_gaps_and_folds)
{
    double u;
    cr_assert(digest_local_to_utc(&BRU, utc(2026, 3, 29, 2, 30), &u));
    cr_expect_eq(u, utc(2026, 3, 29, 1, 30), "02:30 in the gap is 03:30 CEST");
    cr_assert(digest_local_to_utc(&BRU, utc(2026, 3, 29, 1, 30), &u));
    cr_expect_eq(u, utc(2026, 3, 29, 0, 30), "01:30 CET before the gap");
    cr_assert(digest_local_to_utc(&BRU, utc(2026, 10, 25, 2, 30), &u));
    cr_expect_eq(u, utc(2026, 10, 25, 0, 30), "02:30 twice: the first, CEST");
    cr_assert(digest_local_to_utc(&BRU, utc(2026, 10, 25, 3, 30), &u));
    cr_expect_eq(u, utc(2026, 10, 25, 2, 30), "03:30 CET after the fold");
    cr_assert(digest_local_to_utc(&NYC, utc(2026, 7, 1, 12, 0), &u));
    cr_expect_eq(u, utc(2026, 7, 1, 16, 0), "noon EDT");
}

static bool unknown_zone(void *ctx, double t, int *s)
{
    (void)ctx, (void)t, (void)s;
    return false;
}

Test(digest_schedule, a_zone_that_cannot_tell_fails)
{
    struct digest_zone z = {unknown_zone, NULL};
    struct digest_schedule s = WEEKLY(1, 8);
    double due;
    cr_expect_not(digest_next_due(&s, &z, 0, &due));
}

/* The problems of one receiver {"name":"r", …fields} as "code@path,code@path". */
static void problems_of(const char *fields, char *out, size_t size)
{
    char text[512];
    snprintf(text, sizeof(text), "[{\"name\":\"r\",\"email\":[\"r@example.org\"]%s%s}]",
             fields[0] ? "," : "", fields);
    json_t *list = json_loads(text, 0, NULL);
    cr_assert_not_null(list, "%s", text);
    json_t *problems = NULL;
    digest_doc_check(list, &problems);
    out[0] = '\0';
    size_t i;
    json_t *p;
    json_array_foreach(problems, i, p)
    {
        size_t len = strlen(out);
        snprintf(out + len, size - len, "%s%s@%s", i ? "," : "",
                 json_string_value(json_object_get(p, "code")),
                 json_string_value(json_object_get(p, "path")));
    }
    json_decref(problems);
    json_decref(list);
}

Test(digest_schedule, receiver_fields_checked_whole)
{
    static const char *const cases[][2] = {
        {"", ""},
        {"\"notify\":\"immediate\"", ""},
        {"\"notify\":\"immediate\",\"digest\":null", ""},
        {"\"notify\":\"both\",\"digest\":null", "missing_digest@$.receivers[0].notify"},
        {"\"notify\":\"digest\",\"digest\":{\"every\":\"week\",\"day\":\"monday\",\"hour\":8}", ""},
        {"\"notify\":\"both\",\"digest\":{\"every\":\"month\"}", ""},
        {"\"notify\":\"both\",\"digest\":{\"every\":\"month\",\"days_after_due\":2,"
         "\"grace_days\":10,\"hour\":0}",
         ""},
        {"\"email\":[],\"notify\":\"digest\",\"digest\":{\"every\":\"month\"}",
         "no_email@$.receivers[0].notify"},
        {"\"notify\":\"sometimes\"", "invalid_notify@$.receivers[0].notify"},
        {"\"notify\":7", "invalid_notify@$.receivers[0].notify"},
        {"\"notify\":\"digest\"", "missing_digest@$.receivers[0].notify"},
        {"\"digest\":{\"every\":\"week\",\"day\":\"monday\"}",
         "unused_digest@$.receivers[0].digest"},
        {"\"notify\":\"digest\",\"digest\":\"weekly\"", "invalid_digest@$.receivers[0].digest"},
        {"\"notify\":\"digest\",\"digest\":{\"every\":\"day\"}",
         "invalid_digest@$.receivers[0].digest.every"},
        {"\"notify\":\"digest\",\"digest\":{\"every\":\"week\"}",
         "invalid_digest@$.receivers[0].digest.day"},
        {"\"notify\":\"digest\",\"digest\":{\"every\":\"week\",\"day\":\"Monday\"}",
         "invalid_digest@$.receivers[0].digest.day"},
        {"\"notify\":\"digest\",\"digest\":{\"every\":\"week\",\"day\":\"monday\",\"hour\":24}",
         "invalid_digest@$.receivers[0].digest.hour"},
        {"\"notify\":\"digest\",\"digest\":{\"every\":\"week\",\"day\":\"monday\",\"hour\":8.5}",
         "invalid_digest@$.receivers[0].digest.hour"},
        {"\"notify\":\"digest\",\"digest\":{\"every\":\"month\",\"days_after_due\":29}",
         "invalid_digest@$.receivers[0].digest.days_after_due"},
        {"\"notify\":\"digest\",\"digest\":{\"every\":\"month\",\"grace_days\":-1}",
         "invalid_digest@$.receivers[0].digest.grace_days"},
        {"\"notify\":\"digest\",\"digest\":{\"every\":\"week\",\"day\":\"monday\","
         "\"days_after_due\":1}",
         "invalid_digest@$.receivers[0].digest.days_after_due"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char got[512];
        problems_of(cases[i][0], got, sizeof(got));
        cr_expect_str_eq(got, cases[i][1], "%s", cases[i][0]);
    }
}

Test(digest_schedule, canonical_form_round_trips)
{
    json_t *doc = json_loads("{\"every\":\"month\",\"hour\":7}", 0, NULL);
    struct digest_schedule s;
    cr_assert(digest_schedule_from_json(doc, &s));
    cr_expect_eq(s.grace_days, DIGEST_DEFAULT_GRACE_DAYS);
    cr_expect_eq(s.days_after_due, 1);
    json_t *canonical = digest_schedule_json(&s);
    char *text = json_dumps(canonical, JSON_COMPACT | JSON_SORT_KEYS);
    cr_expect_str_eq(text,
                     "{\"days_after_due\":1,\"every\":\"month\",\"grace_days\":15,\"hour\":7}");
    free(text);
    json_decref(canonical);
    json_decref(doc);
}
