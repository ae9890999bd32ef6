/* Silence matchers (core/silence_match.c): which alerts a list of matchers mutes, for each
 * operator and label, a region covering the sites under it, a missing label read as "",
 * anchored POSIX regular expressions, and the set of silences a read matches against.
 * Table-driven: matchers in amtool's form, parsed by silence_doc_matchers. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "scaleupd/core/silence_doc.h"
#include "scaleupd/core/silence_match.h"

static const char *const gp_wal[] = {"BE-WAL-GP001", "BE-WAL", "BE"};
static const char *const wal[] = {"BE-WAL", "BE"};
static const char *const gp_vlg[] = {"BE-VLG-GP001", "BE-VLG", "BE"};

/* A: a Walloon practice's SPC alert; B: Wallonia's aggregate; C: a Flemish practice's late
 * feed; D: a receiver's self alert (no indicator, no site); E: another programme's. */
static const struct silence_labels alerts[] = {
    {"icp-be", "bp_controlled_pct", "BE-WAL-GP001", "spc-bp_controlled_pct", "spc", gp_wal, 3},
    {"icp-be", "bp_controlled_pct", "BE-WAL", "spc-bp_controlled_pct", "spc", wal, 2},
    {"icp-be", "hba1c_tested_pct", "BE-VLG-GP001", "late-feed-hba1c", "late_feed", gp_vlg, 3},
    {"icp-be", NULL, NULL, "self", "self", NULL, 0},
    {"other", "bp_controlled_pct", "BE-WAL-GP001", "spc-bp_controlled_pct", "spc", gp_wal, 3},
};
#define N_ALERTS (sizeof(alerts) / sizeof(alerts[0]))

static const struct {
    const char *matchers; /* a JSON list */
    const char *muted;    /* letters of the alerts muted */
} cases[] = {
    {"[\"site=BE-WAL-GP001\"]", "AE"},
    {"[\"site=BE-WAL\"]", "B"},     /* site is the alert's own */
    {"[\"region=BE-WAL\"]", "ABE"}, /* a region covers its practices */
    {"[\"region=BE\"]", "ABCE"},
    {"[\"region!=BE-WAL\"]", "CD"}, /* outside Wallonia, and without a site */
    {"[\"region=~BE-(WAL|VLG)\"]", "ABCE"},
    {"[\"region!~BE-.*\",\"kind=self\"]", "D"},
    {"[\"programme=icp-be\",\"region=BE-WAL\"]", "AB"},
    {"[\"programme!=icp-be\"]", "E"},
    {"[\"indicator=bp_controlled_pct\"]", "ABE"},
    {"[\"indicator!=bp_controlled_pct\"]", "CD"}, /* D has no indicator: "" differs */
    {"[\"indicator=~bp_.*\"]", "ABE"},
    {"[\"indicator=~bp\"]", ""}, /* anchored: the whole value */
    {"[\"indicator=~.*pct\"]", "ABCE"},
    {"[\"indicator!~.*pct\",\"rule=self\"]", "D"},
    {"[\"indicator=\",\"kind=self\"]", "D"}, /* a missing label equals "" */
    {"[\"kind=late_feed\"]", "C"},
    {"[\"kind=~spc|threshold\"]", "ABE"},
    {"[\"rule=~late-feed-.*\",\"region=BE-VLG\"]", "C"},
    {"[\"rule=~late-feed-.*\",\"region=BE-WAL\"]", ""}, /* every matcher must hold */
    {"[\"site=~BE-WAL-GP[[:digit:]]+\"]", "AE"},
    {"[\"site=~be-wal.*\"]", ""},                                            /* case matters */
    {"{\"indicator\":\"hba1c_tested_pct\",\"site\":\"BE-VLG-GP001\"}", "C"}, /* the older form */
    {"[{\"name\":\"region\",\"value\":\"BE-VLG\",\"isEqual\":false},"
     "{\"name\":\"kind\",\"value\":\"spc\"}]",
     "ABE"},
};

static void muted_by(const json_t *stored, char *out)
{
    struct silence_matchers m;
    char why[160];
    cr_assert(silence_matchers_compile(stored, &m, why, sizeof(why)), "%s", why);
    size_t k = 0;
    for (size_t a = 0; a < N_ALERTS; a++)
        if (silence_matchers_match(&m, &alerts[a]))
            out[k++] = (char)('A' + a);
    out[k] = '\0';
    silence_matchers_free(&m);
}

Test(silence_match, each_operator_and_label)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *given = json_loads(cases[i].matchers, 0, NULL);
        cr_assert_not_null(given, "case %zu parses", i);
        json_t *problems = NULL;
        json_t *stored = silence_doc_matchers(given, "$.matchers", true, &problems);
        cr_assert_null(problems, "case %zu: %s", i, cases[i].matchers);
        char got[N_ALERTS + 1];
        muted_by(stored, got);
        cr_expect_str_eq(got, cases[i].muted, "case %zu: %s", i, cases[i].matchers);
        json_decref(stored);
        json_decref(given);
    }
}

/* What a read does: the silences in force, one for a programme and one for all, and the ids
 * of those that mute each alert. */
Test(silence_match, a_set_names_the_silences_that_mute_an_alert)
{
    struct silence_set set = {0};
    char why[160];
    json_t *wal_m = json_loads("[{\"name\":\"region\",\"value\":\"BE-WAL\",\"isRegex\":false,"
                               "\"isEqual\":true}]",
                               0, NULL);
    json_t *spc_m = json_loads("[{\"name\":\"kind\",\"value\":\"spc\",\"isRegex\":false,"
                               "\"isEqual\":true}]",
                               0, NULL);
    json_t *bad = json_loads("[{\"name\":\"site\",\"value\":\"(\",\"isRegex\":true}]", 0, NULL);
    cr_assert(silence_set_add(&set, 7, "icp-be", wal_m, why, sizeof(why)));
    cr_assert(silence_set_add(&set, 9, NULL, spc_m, why, sizeof(why)));
    cr_expect_not(silence_set_add(&set, 11, NULL, bad, why, sizeof(why)), "does not compile");
    cr_expect_neq(why[0], '\0', "and says why");
    cr_expect_eq(set.n, 2);
    const char *want[N_ALERTS] = {"[7,9]", "[7,9]", "[]", "[]", "[9]"};
    for (size_t a = 0; a < N_ALERTS; a++) {
        json_t *ids = silence_set_muting(&set, &alerts[a]);
        char *text = json_dumps(ids, JSON_COMPACT);
        cr_expect_str_eq(text, want[a], "alert %c", (char)('A' + a));
        cr_expect_eq(silence_set_mutes(&set, &alerts[a]), strcmp(want[a], "[]") != 0);
        free(text);
        json_decref(ids);
    }
    silence_set_free(&set);
    cr_expect_eq(set.n, 0);
    json_decref(wal_m), json_decref(spc_m), json_decref(bad);
}

/* The region label as a read gives it: a JSON list of codes, the site's own first. */
Test(silence_match, regions_from_a_row)
{
    struct silence_alert a = {.labels = {.programme = "icp-be", .site = "BE-WAL-GP001"}};
    silence_alert_regions(&a, "[\"BE-WAL-GP001\",\"BE-WAL\",\"BE\"]");
    cr_assert_eq(a.labels.n_regions, 3);
    cr_expect_str_eq(a.labels.regions[1], "BE-WAL");
    silence_alert_clear(&a);
    silence_alert_regions(&a, NULL);
    cr_expect_eq(a.labels.n_regions, 0);
    silence_alert_clear(&a);
    silence_alert_regions(&a, "not json");
    cr_expect_eq(a.labels.n_regions, 0);
    silence_alert_clear(&a);
}

/* What differs from RE2 is refused with a reason; what POSIX and RE2 read alike passes. */
Test(silence_match, regex_problems)
{
    static const struct {
        const char *value;
        bool ok;
    } regexes[] = {
        {"GP[0-9]+", true},
        {"a|b", true},
        {"(a|b)c?", true},
        {"[[:alpha:]]{2}", true},
        {"a\\.b", true},
        {"", true},
        {"[]a]", true},
        {"\\d+", false},
        {"(?i)gp", false},
        {"(?:a)", false},
        {"a+?", false},
        {"a{2}?", false},
        {"[\\w]", false},
        {"(a)\\1", false},
        {"\\pL", false},
        {"(", false},
        {"a{1", false},
        {"[a", false},
        /* what would expand past the cost cap (glibc copies repeated operands), and stacked
           quantifiers, which RE2 refuses */
        {"[0-9]{3}-[A-Z]{2,4}", true},
        {"(a|b){1,100}", true},
        {"((a+)+)+", true},
        {"(((((((((((a+)+)+)+)+)+)+)+)+)+)+)+", false},
        {"(a{99}){99}", false},
        {"x{1000000}", false},
        {"a++", false},
        {"a*{2}", false},
        {"(a|b)\\++J", true},
        {"(a|b)\\++J+++", false},
        /* a repetition of what can match nothing: exponential in glibc's matcher, quadratic
           in its compiler (a silence of "((.?)+)" 28 times held a read for minutes, one of
           "(.?){1,9}" 28 times took 131 MB); a ? of it, or repetitions of what cannot, pass */
        {"(.?)+", false},
        {"(a|b*)*", false},
        {"(a|){1,9}", false},
        {"(.?){1,9}", false},
        {"(a{0,2})+", false},
        {"((a|b)?)*", false},
        {"(.?)?", true},
        {"(ab?)+", true},
        {"(a|b)+(c|d)*", true},
        {"(-[0-9]+)?", true},
        {"BE-(VLG|WAL)-.*", true},
    };
    for (size_t i = 0; i < sizeof(regexes) / sizeof(regexes[0]); i++) {
        char why[160] = "";
        const char *problem = silence_regex_problem(regexes[i].value, why, sizeof(why));
        cr_expect_eq(problem == NULL, regexes[i].ok, "\"%s\": %s", regexes[i].value,
                     problem ? problem : "accepted");
    }
}
