/*
 * XmR chart computation (spc.c) against expected values worked out independently of the C
 * code: by hand (arithmetic in the comments) and with a short Python re-statement of
 * NHSRplotthedots' R code (ptd_spc_standard, ptd_calculate_point_type,
 * ptd_calculate_assurance_type), written window by window as the R code is, not run by run
 * as spc.c is.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <math.h>
#include <string.h>

#include "scaleupd/core/spc.h"

/* Tolerance for limits: the expected values below are rounded to 1e-6. */
#define EPS 1e-6

#define COUNT(...) (sizeof((double[]){__VA_ARGS__}) / sizeof(double))
#define VALUES(...) .values = {__VA_ARGS__}, .n = COUNT(__VA_ARGS__)

/*
 * The baseline of most flag cases, fixed after its 12 points (fix_after_n = 12):
 * 10.5, 9.5 alternating. mean = (6 x 10.5 + 6 x 9.5) / 12 = 120 / 12 = 10 exactly;
 * 11 moving ranges of 1, mean mR = 1, nothing screened (1 < 3.267);
 * limits 10 -+ 2.66 = 7.34 .. 12.66; near limits 10 -+ 2 x 2.66 / 3 = 10 -+ 1.773333
 * = 8.226667 .. 11.773333. Alternating sides, it holds no shift, trend or two in three, and it
 * ends with 9.5, below the mean.
 */
#define BASELINE 10.5, 9.5, 10.5, 9.5, 10.5, 9.5, 10.5, 9.5, 10.5, 9.5, 10.5, 9.5
#define BL "- - - - - - - - - - - - " /* its signals */
#define BT ". . . . . . . . . . . . " /* its point types */

/* Signals: one space-separated token per point, "-" for none, else letters O (outside),
   S (shift), T (trend), 2 (two in three). Types: "." common, I/C/N (improvement, concern,
   neutral) followed by + (high) or - (low). */
struct flag_case {
    char name[64];
    double values[32];
    size_t n;
    size_t fix_after_n;
    enum spc_direction direction;
    char signals[128];
    char types[128];
};

static unsigned signal_token(const char *token, size_t len)
{
    unsigned mask = 0;
    for (size_t i = 0; i < len; i++) {
        switch (token[i]) {
        case 'O':
            mask |= SPC_SIGNAL_OUTSIDE;
            break;
        case 'S':
            mask |= SPC_SIGNAL_SHIFT;
            break;
        case 'T':
            mask |= SPC_SIGNAL_TREND;
            break;
        case '2':
            mask |= SPC_SIGNAL_TWO_IN_THREE;
            break;
        case '-':
            break;
        default:
            cr_assert_fail("bad signal token %.*s", (int)len, token);
        }
    }
    return mask;
}

static enum spc_point_type type_token(const char *token, size_t len)
{
    static const struct {
        const char *token;
        enum spc_point_type type;
    } types[] = {
        {".", SPC_POINT_COMMON},           {"I+", SPC_POINT_IMPROVEMENT_HIGH},
        {"I-", SPC_POINT_IMPROVEMENT_LOW}, {"C+", SPC_POINT_CONCERN_HIGH},
        {"C-", SPC_POINT_CONCERN_LOW},     {"N+", SPC_POINT_NEUTRAL_HIGH},
        {"N-", SPC_POINT_NEUTRAL_LOW},
    };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        if (strlen(types[i].token) == len && memcmp(types[i].token, token, len) == 0) {
            return types[i].type;
        }
    }
    cr_assert_fail("bad type token %.*s", (int)len, token);
    return SPC_POINT_COMMON;
}

/* Splits a token string; returns the number of tokens, at most max. */
static size_t split_tokens(const char *s, const char **starts, size_t *lens, size_t max)
{
    size_t count = 0;
    while (*s != '\0') {
        while (*s == ' ') {
            s++;
        }
        if (*s == '\0') {
            break;
        }
        cr_assert_lt(count, max, "more tokens than points");
        starts[count] = s;
        while (*s != ' ' && *s != '\0') {
            s++;
        }
        lens[count] = (size_t)(s - starts[count]);
        count++;
    }
    return count;
}

static void check_flags(const char *name, const char *signals, const char *types,
                        const struct spc_result *result)
{
    size_t n = result->n_points;
    const char *sig[32], *typ[32];
    size_t sig_len[32], typ_len[32];
    size_t n_sig = split_tokens(signals, sig, sig_len, 32);
    size_t n_typ = split_tokens(types, typ, typ_len, 32);
    cr_assert_eq(n_sig, n, "%s: %zu signal tokens for %zu points", name, n_sig, n);
    cr_assert_eq(n_typ, n, "%s: %zu type tokens for %zu points", name, n_typ, n);
    for (size_t i = 0; i < n; i++) {
        const struct spc_point *p = &result->points[i];
        cr_expect_eq(p->signals, signal_token(sig[i], sig_len[i]),
                     "%s: point %zu (%g): signals %#x, expected %.*s", name, i, p->value,
                     p->signals, (int)sig_len[i], sig[i]);
        cr_expect_eq(p->type, type_token(typ[i], typ_len[i]),
                     "%s: point %zu (%g): type %s/%s, expected %.*s", name, i, p->value,
                     spc_point_type_name(p->type), spc_point_type_side(p->type), (int)typ_len[i],
                     typ[i]);
    }
    cr_expect_eq(result->last_point_type, result->points[n - 1].type, "%s", name);
}

/* Every case here has the fixed 12-point BASELINE, hence the limits 7.34 .. 12.66 and near
   limits 8.226667 .. 11.773333 around the mean 10; the added points do not move them. */
static const struct flag_case flag_cases[] = {
    /* outside: 13 > 12.66, 7 < 7.34; the side and the direction make the type */
    {"outside high, up", VALUES(BASELINE, 13), 12, SPC_DIRECTION_UP, BL "O", BT "I+"},
    {"outside low, up", VALUES(BASELINE, 7), 12, SPC_DIRECTION_UP, BL "O", BT "C-"},
    {"outside high, down", VALUES(BASELINE, 13), 12, SPC_DIRECTION_DOWN, BL "O", BT "C+"},
    {"outside low, down", VALUES(BASELINE, 7), 12, SPC_DIRECTION_DOWN, BL "O", BT "I-"},
    {"outside low, none", VALUES(BASELINE, 7), 12, SPC_DIRECTION_NONE, BL "O", BT "N-"},
    {"outside high, none", VALUES(BASELINE, 13), 12, SPC_DIRECTION_NONE, BL "O", BT "N+"},
    /* shift: 10.4 > 10, equal values so no trend, 10.4 < 11.77 so not close */
    {"shift of 7 above", VALUES(BASELINE, 10.4, 10.4, 10.4, 10.4, 10.4, 10.4, 10.4), 12,
     SPC_DIRECTION_UP, BL "S S S S S S S", BT "I+ I+ I+ I+ I+ I+ I+"},
    {"shift of 6 above is not a shift", VALUES(BASELINE, 10.4, 10.4, 10.4, 10.4, 10.4, 10.4), 12,
     SPC_DIRECTION_UP, BL "- - - - - -", BT ". . . . . ."},
    /* the baseline's last point (9.5) is below the mean: with six 9.6 after it the run is 7,
       and it starts inside the fixed baseline */
    {"shift of 7 below starting in the baseline", VALUES(BASELINE, 9.6, 9.6, 9.6, 9.6, 9.6, 9.6),
     12, SPC_DIRECTION_DOWN, "- - - - - - - - - - - S S S S S S S",
     ". . . . . . . . . . . I- I- I- I- I- I- I-"},
    /* a 10.4 first, so that the run of 9.6 stands alone */
    {"shift of 6 below is not a shift", VALUES(BASELINE, 10.4, 9.6, 9.6, 9.6, 9.6, 9.6, 9.6), 12,
     SPC_DIRECTION_DOWN, BL "- - - - - - -", BT ". . . . . . ."},
    {"shift of 7 below", VALUES(BASELINE, 10.4, 9.6, 9.6, 9.6, 9.6, 9.6, 9.6, 9.6), 12,
     SPC_DIRECTION_DOWN, BL "- S S S S S S S", BT ". I- I- I- I- I- I- I-"},
    /* 10.0 is exactly the mean: runs of 3 and 4, no shift ... */
    {"a point on the mean breaks a shift",
     VALUES(BASELINE, 10.4, 10.4, 10.4, 10.0, 10.4, 10.4, 10.4, 10.4), 12, SPC_DIRECTION_UP,
     BL "- - - - - - - -", BT ". . . . . . . ."},
    /* ... while 10.1 is above it: one run of 7 */
    {"a point just above the mean continues a shift",
     VALUES(BASELINE, 10.4, 10.4, 10.4, 10.1, 10.4, 10.4, 10.4), 12, SPC_DIRECTION_UP,
     BL "S S S S S S S", BT "I+ I+ I+ I+ I+ I+ I+"},
    /* trend: strictly rising (9.5 -> 8.5 falls, so the trend starts at 8.5), crossing the
       mean (no shift), inside 8.23 .. 11.77 (no two in three) */
    {"trend of 7 up", VALUES(BASELINE, 8.5, 9, 9.5, 10.2, 10.6, 11, 11.5), 12, SPC_DIRECTION_UP,
     BL "T T T T T T T", BT "I+ I+ I+ I+ I+ I+ I+"},
    {"trend of 6 up is not a trend", VALUES(BASELINE, 9, 9.5, 10.2, 10.6, 11, 11.5), 12,
     SPC_DIRECTION_UP, BL "- - - - - -", BT ". . . . . ."},
    {"trend of 7 down, up is better", VALUES(BASELINE, 11.5, 11, 10.6, 10.2, 9.5, 9, 8.5), 12,
     SPC_DIRECTION_UP, BL "T T T T T T T", BT "C- C- C- C- C- C- C-"},
    {"trend of 7 down, down is better", VALUES(BASELINE, 11.5, 11, 10.6, 10.2, 9.5, 9, 8.5), 12,
     SPC_DIRECTION_DOWN, BL "T T T T T T T", BT "I- I- I- I- I- I- I-"},
    {"trend of 6 down is not a trend", VALUES(BASELINE, 11.5, 11, 10.6, 10.2, 9.5, 9), 12,
     SPC_DIRECTION_UP, BL "- - - - - -", BT ". . . . . ."},
    /* 9.5, 9.5: rising runs of 3 and 5 */
    {"equal consecutive points break a trend",
     VALUES(BASELINE, 8.5, 9, 9.5, 9.5, 10, 10.5, 11, 11.5), 12, SPC_DIRECTION_UP,
     BL "- - - - - - - -", BT ". . . . . . . ."},
    /* two in three: 12 and 12.2 are close (11.77 < x <= 12.66), 10.5 is above the mean but
       not close: the two close points are marked, 10.5 is not */
    {"two in three high", VALUES(BASELINE, 12, 10.5, 12.2), 12, SPC_DIRECTION_UP, BL "2 - 2",
     BT "I+ . I+"},
    /* 8 and 7.9 are close low (7.34 <= x < 8.23); with the 9.5 before them all three are below */
    {"two in three low, down is better", VALUES(BASELINE, 8, 7.9), 12, SPC_DIRECTION_DOWN, BL "2 2",
     BT "I- I-"},
    /* 13 is outside and signals alone; 12 and 12.1 are the two close ones */
    {"two in three around a point outside", VALUES(BASELINE, 12, 13, 12.1), 12, SPC_DIRECTION_UP,
     BL "2 O 2", BT "I+ I+ I+"},
    /* one close (12) and one outside (13): an outside point does not count as close */
    {"one close and one outside are not two in three", VALUES(BASELINE, 12, 13, 10.5), 12,
     SPC_DIRECTION_UP, BL "- O -", BT ". I+ ."},
    {"close points on opposite sides do not count", VALUES(BASELINE, 12, 8, 12), 12,
     SPC_DIRECTION_UP, BL "- - -", BT ". . ."},
    /* 9.9 is below the mean: no three consecutive points on one side */
    {"close points split by the other side do not count", VALUES(BASELINE, 12, 9.9, 12), 12,
     SPC_DIRECTION_UP, BL "- - -", BT ". . ."},
    /* 12 and 12.1 are close and adjacent, but the 9.5 before and the 8 after are below the
       mean: no three consecutive points on one side */
    {"two close points without a third on their side", VALUES(BASELINE, 12, 12.1, 8), 12,
     SPC_DIRECTION_UP, BL "- - -", BT ". . ."},
    /* precedence: 7 points above the mean (shift, improvement when up is better) that fall
       each time (trend down, concern): the trend decides */
    {"a falling trend above the mean is a concern",
     VALUES(BASELINE, 11.7, 11.5, 11.3, 11.1, 10.9, 10.7, 10.5), 12, SPC_DIRECTION_UP,
     BL "ST ST ST ST ST ST ST", BT "C- C- C- C- C- C- C-"},
    /* precedence: 12.5, 12.3, 11.9 are close above (two in three, improvement) in a falling
       trend of 7 (concern), all above the mean (shift): the trend decides */
    {"trend takes precedence over two in three",
     VALUES(BASELINE, 12.5, 12.3, 11.9, 11.5, 11, 10.5, 10.2), 12, SPC_DIRECTION_UP,
     BL "ST2 ST2 ST2 ST ST ST ST", BT "C- C- C- C- C- C- C-"},
    /* precedence: 13 is outside high (improvement) and starts a falling trend (concern):
       outside decides for 13, the trend for the rest */
    {"outside takes precedence over trend", VALUES(BASELINE, 13, 11.5, 11, 10.5, 10.2, 9.9, 9.6),
     12, SPC_DIRECTION_UP, BL "OT T T T T T T", BT "I+ C- C- C- C- C- C-"},
    /* a rising trend of 7 (8.5 .. 11.5) and a falling one of 7 (11.5 .. 9.7) share the peak
       11.5, which takes the way of the trend it starts (plotthedots: "use right side");
       10.2 .. 10.1 are 8 points above the mean, a shift that the trends override */
    {"trends meeting at a peak",
     VALUES(BASELINE, 8.5, 9, 9.5, 10.2, 10.6, 11, 11.5, 11.2, 10.8, 10.4, 10.1, 9.9, 9.7), 12,
     SPC_DIRECTION_NONE, BL "T T T ST ST ST ST ST ST ST ST T T",
     BT "N+ N+ N+ N+ N+ N+ N- N- N- N- N- N- N-"},
};

ParameterizedTestParameters(spc, flags)
{
    return cr_make_param_array(struct flag_case, flag_cases,
                               sizeof flag_cases / sizeof flag_cases[0]);
}

ParameterizedTest(const struct flag_case *c, spc, flags)
{
    struct spc_options options;
    spc_options_init(&options);
    options.fix_after_n = c->fix_after_n;
    options.direction = c->direction;
    struct spc_result *result = NULL;
    cr_assert_eq(spc_compute(c->values, c->n, &options, &result), SPC_OK, "%s", c->name);
    cr_assert_eq(result->n_points, c->n);
    cr_assert_eq(result->n_segments, 1);
    /* the baseline limits, whatever was added after it */
    cr_expect_float_eq(result->segments[0].mean, 10.0, EPS, "%s", c->name);
    cr_expect_float_eq(result->segments[0].mean_moving_range, 1.0, EPS, "%s", c->name);
    cr_expect_eq(result->segments[0].n_baseline, 12, "%s", c->name);
    check_flags(c->name, c->signals, c->types, result);
    spc_result_free(&result);
}

/* Limits: segment by segment. */
struct expected_segment {
    size_t first, n_points, n_baseline, n_moving_ranges, n_screened;
    bool has_limits, short_baseline;
    double mean, mean_moving_range, lower_limit, upper_limit, lower_near, upper_near;
};

struct limits_case {
    char name[64];
    double values[32];
    size_t n;
    size_t fix_after_n;
    bool no_screening;
    size_t rebase_at[8];
    size_t n_rebase;
    size_t n_segments;
    struct expected_segment segments[3];
    char signals[128]; /* direction up */
    char types[128];
};

static const struct limits_case limits_cases[] = {
    /* sum 137, mean 137 / 12 = 11.416667; moving ranges 2,1,2,1,2,1,1,1,2,1,2: 16 / 11
       = 1.454545, none >= 3.267 x 1.454545 = 4.75; 2.66 x 1.454545 = 3.869091 -> 7.547576 ..
       15.285758; 1.773333 x 1.454545 = 2.579394 -> 8.837273 .. 13.996061 */
    {"twelve points",
     VALUES(10, 12, 11, 13, 12, 10, 11, 12, 13, 11, 12, 10),
     0,
     false,
     {0},
     0,
     1,
     {{0, 12, 12, 11, 0, true, false, 11.416667, 1.454545, 7.547576, 15.285758, 8.837273,
       13.996061}},
     "- - - - - - - - - - - -",
     ". . . . . . . . . . . ."},
    /* sum 5 x 10 + 6 x 11 + 30 = 146, mean 12.166667; moving ranges nine 1s and two 19s:
       47 / 11 = 4.272727; 19 >= 3.267 x 4.272727 = 13.96 is screened out: mean mR 9 / 9 = 1;
       limits 12.166667 -+ 2.66 = 9.506667 .. 14.826667, near -+ 1.773333 = 10.393333 .. 13.94.
       The 10s are close below (< 10.39) and with the 11s all below the mean: two in three. */
    {"outlier screened out",
     VALUES(10, 11, 10, 11, 10, 11, 30, 11, 10, 11, 10, 11),
     0,
     false,
     {0},
     0,
     1,
     {{0, 12, 12, 9, 2, true, false, 12.166667, 1.0, 9.506667, 14.826667, 10.393333, 13.94}},
     "2 - 2 - 2 - O - 2 - 2 -",
     "C- . C- . C- . I+ . C- . C- ."},
    /* same, not screened: mean mR 4.272727; 2.66 x 4.272727 = 11.365455 -> 0.801212 ..
       23.532121; 1.773333 x 4.272727 = 7.576970 -> 4.589697 .. 19.743636; only 30 signals */
    {"outlier kept without screening",
     VALUES(10, 11, 10, 11, 10, 11, 30, 11, 10, 11, 10, 11),
     0,
     true,
     {0},
     0,
     1,
     {{0, 12, 12, 11, 0, true, false, 12.166667, 4.272727, 0.801212, 23.532121, 4.589697,
       19.743636}},
     "- - - - - - O - - - - -",
     ". . . . . . I+ . . . . ."},
    /* fixed after 12: the baseline as in the flag cases (mean 10, mR 1); 13, 14, 15 are not
       in it (with them the mean would be 165 / 15 = 11). 13 is outside; 14 and 15 too, and
       the three rise from 9.5 but that is only 4 points of trend */
    {"fixed baseline",
     VALUES(BASELINE, 13, 14, 15),
     12,
     false,
     {0},
     0,
     1,
     {{0, 15, 12, 11, 0, true, false, 10.0, 1.0, 7.34, 12.66, 8.226667, 11.773333}},
     BL "O O O",
     BT "I+ I+ I+"},
    {"fixed after more points than there are",
     VALUES(BASELINE),
     100,
     false,
     {0},
     0,
     1,
     {{0, 12, 12, 11, 0, true, false, 10.0, 1.0, 7.34, 12.66, 8.226667, 11.773333}},
     BL,
     BT},
    /* segments 10,11,10,11,10,11 (mean 10.5, five mR of 1) and 20,22,20,22,20,22 (mean 21,
       five mR of 2): 10.5 -+ 2.66 = 7.84 .. 13.16, near 8.726667 .. 12.273333; 21 -+ 5.32 =
       15.68 .. 26.32, near 21 -+ 3.546667 = 17.453333 .. 24.546667. Not screening, a
       moving range across the re-baseline (|20 - 11| = 9) would show: the second segment's
       mean mR would be (9 + 5 x 2) / 6 = 3.166667. Without the re-baseline the chart is one
       segment of mean 15.75 and every point signals (see the Python notes). */
    {"re-baseline, moving range across it excluded",
     VALUES(10, 11, 10, 11, 10, 11, 20, 22, 20, 22, 20, 22),
     0,
     true,
     {6},
     1,
     2,
     {{0, 6, 6, 5, 0, true, true, 10.5, 1.0, 7.84, 13.16, 8.726667, 12.273333},
      {6, 6, 6, 5, 0, true, true, 21.0, 2.0, 15.68, 26.32, 17.453333, 24.546667}},
     "- - - - - - - - - - - -",
     ". . . . . . . . . . . ."},
    /* re-baseline at 8, 4, 4 again, 0 and 99 (beyond the data): segments from 0, 4, 8.
       10,12,11,13: mean 46 / 4 = 11.5, mR 2,1,2 = 5 / 3 = 1.666667, 2.66 x = 4.433333 ->
       7.066667 .. 15.933333, 1.773333 x = 2.955556 -> 8.544444 .. 14.455556;
       30,31,33,30: mean 124 / 4 = 31, mR 1,2,3 = 2 -> 25.68 .. 36.32, 27.453333 .. 34.546667;
       5,6,5,7: mean 23 / 4 = 5.75, mR 1,1,2 = 4 / 3 = 1.333333, 2.66 x = 3.546667 ->
       2.203333 .. 9.296667, 1.773333 x = 2.364444 -> 3.385556 .. 8.114444 */
    {"several re-baselines, in any order",
     VALUES(10, 12, 11, 13, 30, 31, 33, 30, 5, 6, 5, 7),
     0,
     false,
     {8, 4, 4, 0, 99},
     5,
     3,
     {{0, 4, 4, 3, 0, true, true, 11.5, 1.666667, 7.066667, 15.933333, 8.544444, 14.455556},
      {4, 4, 4, 3, 0, true, true, 31.0, 2.0, 25.68, 36.32, 27.453333, 34.546667},
      {8, 4, 4, 3, 0, true, true, 5.75, 1.333333, 2.203333, 9.296667, 3.385556, 8.114444}},
     "- - - - - - - - - - - -",
     ". . . . . . . . . . . ."},
    /* fixed after 2 in each segment: 10,12 (mean 11, mR 2: 5.68 .. 16.32, 7.453333 ..
       14.546667); 30,31 (30.5, 1: 27.84 .. 33.16, 28.726667 .. 32.273333); 5,6 (5.5, 1: 2.84
       .. 8.16, 3.726667 .. 7.273333) */
    {"re-baselines with a fixed baseline in each segment",
     VALUES(10, 12, 11, 13, 30, 31, 33, 30, 5, 6, 5, 7),
     2,
     false,
     {4, 8},
     2,
     3,
     {{0, 4, 2, 1, 0, true, true, 11.0, 2.0, 5.68, 16.32, 7.453333, 14.546667},
      {4, 4, 2, 1, 0, true, true, 30.5, 1.0, 27.84, 33.16, 28.726667, 32.273333},
      {8, 4, 2, 1, 0, true, true, 5.5, 1.0, 2.84, 8.16, 3.726667, 7.273333}},
     "- - - - - - - - - - - -",
     ". . . . . . . . . . . ."},
    /* a shift cut by a re-baseline: 4 + 3 points of 10.4 above their segments' means (10,
       and (3 x 10.4 + 9.5 + 10.5 + 9.5) / 6 = 10.116667 with fix 6) are two runs, not one of
       7 (without the re-baseline the Python model flags all seven). Second segment: mR
       0, 0, 0.9, 1, 1 = 2.9 / 5 = 0.58, 2.66 x = 1.5428 -> 8.573867 .. 11.659467, 1.773333 x
       = 1.028533 -> 9.088133 .. 11.1452 */
    {"a re-baseline cuts a shift",
     VALUES(10.5, 9.5, 10.5, 9.5, 10.5, 9.5, 10.4, 10.4, 10.4, 10.4, 10.4, 10.4, 10.4, 9.5, 10.5,
            9.5),
     6,
     false,
     {10},
     1,
     2,
     {{0, 10, 6, 5, 0, true, true, 10.0, 1.0, 7.34, 12.66, 8.226667, 11.773333},
      {10, 6, 6, 5, 0, true, true, 10.116667, 0.58, 8.573867, 11.659467, 9.088133, 11.1452}},
     "- - - - - - - - - - - - - - - -",
     ". . . . . . . . . . . . . . . ."},
    /* a trend cut by a re-baseline: 9.5 .. 10.8 rise for 8 points, 5 before the re-baseline
       and 3 after. Second segment (fix 6): mean 61.3 / 6 = 10.216667, mR 0.2, 0.2, 1.3, 1, 1
       = 3.7 / 5 = 0.74, 2.66 x = 1.9684 -> 8.248267 .. 12.185067, 1.773333 x = 1.312267 ->
       8.9044 .. 11.528933 */
    {"a re-baseline cuts a trend",
     VALUES(10.5, 9.5, 10.5, 9.5, 10.5, 9.5, 9.6, 9.8, 10.0, 10.2, 10.4, 10.6, 10.8, 9.5, 10.5,
            9.5),
     6,
     false,
     {10},
     1,
     2,
     {{0, 10, 6, 5, 0, true, true, 10.0, 1.0, 7.34, 12.66, 8.226667, 11.773333},
      {10, 6, 6, 5, 0, true, true, 10.216667, 0.74, 8.248267, 12.185067, 8.9044, 11.528933}},
     "- - - - - - - - - - - - - - - -",
     ". . . . . . . . . . . . . . . ."},
    /* two points: mean 4, one mR of 2: 4 -+ 5.32 = -1.32 .. 9.32, near 4 -+ 3.546667 =
       0.453333 .. 7.546667 (plotthedots computes these too); a provisional baseline */
    {"two points",
     VALUES(3, 5),
     0,
     false,
     {0},
     0,
     1,
     {{0, 2, 2, 1, 0, true, true, 4.0, 2.0, -1.32, 9.32, 0.453333, 7.546667}},
     "- -",
     ". ."},
    /* one point: a centre line, no limits (they equal the mean), nothing to signal */
    {"one point",
     VALUES(7),
     0,
     false,
     {0},
     0,
     1,
     {{0, 1, 1, 0, 0, false, true, 7.0, 0.0, 7.0, 7.0, 7.0, 7.0}},
     "-",
     "."},
    /* a baseline of one point: a centre line (10) but no limits, so nothing can be outside or
       close, while seven 11s above it are still a shift (plotthedots: NaN limits, the shift
       flagged; it refuses fix_after_n_points < 12, so only a 1-point segment meets this) */
    {"one-point baseline still shows a shift",
     VALUES(10, 11, 11, 11, 11, 11, 11, 11),
     1,
     false,
     {0},
     0,
     1,
     {{0, 8, 1, 0, 0, false, true, 10.0, 0.0, 10.0, 10.0, 10.0, 10.0}},
     "- S S S S S S S",
     ". I+ I+ I+ I+ I+ I+ I+"},
    /* all equal: mean mR 0, limits collapse onto the mean, nothing screened (plotthedots
       would screen every 0 >= 3.267 x 0 and end with NaN), nothing outside, and every point
       on the mean so no shift */
    {"all equal",
     VALUES(5, 5, 5, 5, 5, 5, 5, 5),
     0,
     false,
     {0},
     0,
     1,
     {{0, 8, 8, 7, 0, true, true, 5.0, 0.0, 5.0, 5.0, 5.0, 5.0}},
     "- - - - - - - -",
     ". . . . . . . ."},
    /* a flat fixed baseline, then a change: 6 > upper limit 5 is outside (plotthedots: NaN
       limits, no signal) */
    {"flat baseline, then a change",
     VALUES(5, 5, 5, 5, 5, 6),
     5,
     false,
     {0},
     0,
     1,
     {{0, 6, 5, 4, 0, true, true, 5.0, 0.0, 5.0, 5.0, 5.0, 5.0}},
     "- - - - - O",
     ". . . . . I+"},
};

ParameterizedTestParameters(spc, limits)
{
    return cr_make_param_array(struct limits_case, limits_cases,
                               sizeof limits_cases / sizeof limits_cases[0]);
}

static void check_segment(const char *name, size_t s, const struct spc_segment *got,
                          const struct expected_segment *want)
{
    cr_expect_eq(got->first, want->first, "%s: segment %zu first", name, s);
    cr_expect_eq(got->n_points, want->n_points, "%s: segment %zu n_points", name, s);
    cr_expect_eq(got->n_baseline, want->n_baseline, "%s: segment %zu n_baseline", name, s);
    cr_expect_eq(got->n_moving_ranges, want->n_moving_ranges, "%s: segment %zu ranges", name, s);
    cr_expect_eq(got->n_screened, want->n_screened, "%s: segment %zu screened", name, s);
    cr_expect_eq(got->has_limits, want->has_limits, "%s: segment %zu has_limits", name, s);
    cr_expect_eq(got->short_baseline, want->short_baseline, "%s: segment %zu short", name, s);
    cr_expect_float_eq(got->mean, want->mean, EPS, "%s: segment %zu mean %.9g", name, s, got->mean);
    cr_expect_float_eq(got->mean_moving_range, want->mean_moving_range, EPS,
                       "%s: segment %zu mean mR %.9g", name, s, got->mean_moving_range);
    cr_expect_float_eq(got->lower_limit, want->lower_limit, EPS, "%s: segment %zu lower %.9g", name,
                       s, got->lower_limit);
    cr_expect_float_eq(got->upper_limit, want->upper_limit, EPS, "%s: segment %zu upper %.9g", name,
                       s, got->upper_limit);
    cr_expect_float_eq(got->lower_near, want->lower_near, EPS, "%s: segment %zu lower near", name,
                       s);
    cr_expect_float_eq(got->upper_near, want->upper_near, EPS, "%s: segment %zu upper near", name,
                       s);
}

ParameterizedTest(const struct limits_case *c, spc, limits)
{
    struct spc_options options;
    spc_options_init(&options);
    options.fix_after_n = c->fix_after_n;
    options.screen_outliers = !c->no_screening;
    options.rebase_at = c->rebase_at;
    options.n_rebase = c->n_rebase;
    options.direction = SPC_DIRECTION_UP;
    struct spc_result *result = NULL;
    cr_assert_eq(spc_compute(c->values, c->n, &options, &result), SPC_OK, "%s", c->name);
    cr_assert_eq(result->n_segments, c->n_segments, "%s: %zu segments", c->name,
                 result->n_segments);
    for (size_t s = 0; s < c->n_segments; s++) {
        check_segment(c->name, s, &result->segments[s], &c->segments[s]);
    }
    /* every point carries its segment's line and limits */
    for (size_t i = 0; i < c->n; i++) {
        const struct spc_point *p = &result->points[i];
        const struct spc_segment *seg = &result->segments[p->segment];
        cr_expect(i >= seg->first && i < seg->first + seg->n_points, "%s: point %zu", c->name, i);
        cr_expect_eq(p->value, c->values[i]);
        cr_expect_eq(p->has_limits, seg->has_limits);
        cr_expect_eq(p->mean, seg->mean);
        cr_expect_eq(p->lower_limit, seg->lower_limit);
        cr_expect_eq(p->upper_limit, seg->upper_limit);
        cr_expect_eq(p->lower_near, seg->lower_near);
        cr_expect_eq(p->upper_near, seg->upper_near);
    }
    cr_expect_eq(result->last_has_limits, result->segments[c->n_segments - 1].has_limits);
    check_flags(c->name, c->signals, c->types, result);
    spc_result_free(&result);
}

/* Assurance: the BASELINE fixed after 12 (limits 7.34 .. 12.66), then 10.2. */
struct assurance_case {
    enum spc_direction direction;
    bool has_target;
    double target;
    enum spc_assurance expected;
};

static const struct assurance_case assurance_cases[] = {
    /* up is better: a target above the upper limit is never met, below the lower always */
    {SPC_DIRECTION_UP, true, 13, SPC_ASSURANCE_FAIL},
    {SPC_DIRECTION_UP, true, 7, SPC_ASSURANCE_PASS},
    {SPC_DIRECTION_UP, true, 10, SPC_ASSURANCE_HIT_AND_MISS},
    {SPC_DIRECTION_UP, true, 12.6, SPC_ASSURANCE_HIT_AND_MISS},
    {SPC_DIRECTION_UP, true, 12.7, SPC_ASSURANCE_FAIL},
    {SPC_DIRECTION_UP, false, 13, SPC_ASSURANCE_NONE},
    /* down is better: the other way round */
    {SPC_DIRECTION_DOWN, true, 13, SPC_ASSURANCE_PASS},
    {SPC_DIRECTION_DOWN, true, 7, SPC_ASSURANCE_FAIL},
    {SPC_DIRECTION_DOWN, true, 10, SPC_ASSURANCE_HIT_AND_MISS},
    {SPC_DIRECTION_DOWN, true, 7.4, SPC_ASSURANCE_HIT_AND_MISS},
    {SPC_DIRECTION_DOWN, true, 7.3, SPC_ASSURANCE_FAIL},
    {SPC_DIRECTION_DOWN, false, 7, SPC_ASSURANCE_NONE},
    /* no direction: no assurance, whatever the target */
    {SPC_DIRECTION_NONE, true, 13, SPC_ASSURANCE_NONE},
    {SPC_DIRECTION_NONE, true, 7, SPC_ASSURANCE_NONE},
};

ParameterizedTestParameters(spc, assurance)
{
    return cr_make_param_array(struct assurance_case, assurance_cases,
                               sizeof assurance_cases / sizeof assurance_cases[0]);
}

ParameterizedTest(const struct assurance_case *c, spc, assurance)
{
    static const double values[] = {BASELINE, 10.2};
    struct spc_options options;
    spc_options_init(&options);
    options.fix_after_n = 12;
    options.direction = c->direction;
    options.has_target = c->has_target;
    options.target = c->target;
    struct spc_result *result = NULL;
    cr_assert_eq(spc_compute(values, sizeof values / sizeof values[0], &options, &result), SPC_OK);
    cr_expect_eq(result->assurance, c->expected, "direction %s, target %g: %s, expected %s",
                 spc_direction_name(c->direction), c->target, spc_assurance_name(result->assurance),
                 spc_assurance_name(c->expected));
    spc_result_free(&result);
}

/* Assurance follows the last segment: target 4 with up is better. The first segment (lower
   limit 7.07) would say pass; the last (2.20 .. 9.30, see "several re-baselines") says hit
   and miss. */
Test(spc, assurance_uses_the_last_segment)
{
    static const double values[] = {10, 12, 11, 13, 30, 31, 33, 30, 5, 6, 5, 7};
    static const size_t rebase[] = {4, 8};
    struct spc_options options;
    spc_options_init(&options);
    options.direction = SPC_DIRECTION_UP;
    options.has_target = true;
    options.target = 4;
    struct spc_result *result = NULL;
    cr_assert_eq(spc_compute(values, 4, &options, &result), SPC_OK);
    cr_expect_eq(result->assurance, SPC_ASSURANCE_PASS);
    spc_result_free(&result);
    options.rebase_at = rebase;
    options.n_rebase = 2;
    cr_assert_eq(spc_compute(values, 12, &options, &result), SPC_OK);
    cr_expect_eq(result->assurance, SPC_ASSURANCE_HIT_AND_MISS);
    spc_result_free(&result);
}

/*
 * A realistic series: the monthly share (%) of people with type 2 diabetes whose HbA1c was
 * checked, higher is better, target 75 %, steady near 78 % for 16 months, then a drop.
 */
static const double health[] = {78.2, 77.5, 79.1, 78.8, 77.9, 78.6, 79.4, 78.1,
                                77.6, 78.9, 79.2, 78.4, 78.7, 77.8, 78.3, 76.9,
                                74.8, 73.5, 74.1, 73.2, 72.6, 73.8, 72.9, 71.4};
#define HEALTH_N (sizeof health / sizeof health[0])

/*
 * All 24 points in the baseline: sum 1839.7, mean 76.654167; moving ranges
 * .7 1.6 .3 .9 .7 .8 1.3 .5 1.3 .3 .8 .3 .9 .5 1.4 2.1 1.3 .6 .9 .6 1.2 .9 1.5 = 21.4 / 23 =
 * 0.930435 (largest 2.1 < 3.267 x 0.930435 = 3.04: none screened); 2.66 x = 2.474957 ->
 * 74.179210 .. 79.129123; 1.773333 x = 1.649971 -> 75.004196 .. 78.304138.
 * The drop pulls the mean down: the first 16 points are all above it (shift, improvement),
 * the last 8 all below (shift, concern), 79.4 and 79.2 are beyond the upper limit and the last
 * 7 beyond the lower one (74.8 is just inside it); 79.1, 78.8, 78.6, 78.9, 78.4, 78.7 are close
 * above with a neighbour. Target 75 lies between the limits: hit and miss.
 */
Test(spc, health_series_all_points)
{
    struct spc_options options;
    spc_options_init(&options);
    options.direction = SPC_DIRECTION_UP;
    options.has_target = true;
    options.target = 75;
    struct spc_result *result = NULL;
    cr_assert_eq(spc_compute(health, HEALTH_N, &options, &result), SPC_OK);
    static const struct expected_segment want = {
        0,         24,       24,        23,        0,         true,     false,
        76.654167, 0.930435, 74.179210, 79.129123, 75.004196, 78.304138};
    check_segment("health", 0, &result->segments[0], &want);
    check_flags("health", "S S S2 S2 S S2 OS S S S2 OS S2 S2 S S S S OS OS OS OS OS OS OS",
                "I+ I+ I+ I+ I+ I+ I+ I+ I+ I+ I+ I+ I+ I+ I+ I+ C- C- C- C- C- C- C- C-", result);
    cr_expect_eq(result->last_point_type, SPC_POINT_CONCERN_LOW);
    cr_expect(spc_point_type_is_concern(result->last_point_type));
    cr_expect_eq(result->assurance, SPC_ASSURANCE_HIT_AND_MISS);
    spc_result_free(&result);
}

/*
 * The same series with the baseline fixed on its first year (12 points): sum 941.7, mean
 * 78.475; moving ranges .7 1.6 .3 .9 .7 .8 1.3 .5 1.3 .3 .8 = 9.2 / 11 = 0.836364; 2.66 x =
 * 2.224727 -> 76.250273 .. 80.699727; 1.773333 x = 1.483152 -> 76.991848 .. 79.958152.
 * From 77.8 (month 14) every point is below 78.475: an 11-point shift, concern; from 74.8 on
 * each point is below the lower limit. 76.9 is close, but its neighbours are not close (74.8
 * is outside): no two in three. The stale limits put the target 75 below the lower limit:
 * "pass", which is why a person re-baselines after a deliberate change (next test).
 */
Test(spc, health_series_fixed_baseline)
{
    struct spc_options options;
    spc_options_init(&options);
    options.fix_after_n = 12;
    options.direction = SPC_DIRECTION_UP;
    options.has_target = true;
    options.target = 75;
    struct spc_result *result = NULL;
    cr_assert_eq(spc_compute(health, HEALTH_N, &options, &result), SPC_OK);
    static const struct expected_segment want = {
        0,      24,       12,        11,        0,         true,     false,
        78.475, 0.836364, 76.250273, 80.699727, 76.991848, 79.958152};
    check_segment("health fixed", 0, &result->segments[0], &want);
    check_flags("health fixed", "- - - - - - - - - - - - - S S S OS OS OS OS OS OS OS OS",
                ". . . . . . . . . . . . . C- C- C- C- C- C- C- C- C- C- C-", result);
    cr_expect_eq(result->assurance, SPC_ASSURANCE_PASS);
    spc_result_free(&result);
}

/*
 * Re-baselined at the drop (index 16): first 16 points sum 1253.4, mean 78.3375, moving
 * ranges sum 12.3 / 15 = 0.82 -> 76.1563 .. 80.5187, near 76.883367 .. 79.791633; last 8
 * sum 586.3, mean 73.2875, ranges 1.3 .6 .9 .6 1.2 .9 1.5 = 7 / 7 = 1 -> 70.6275 .. 75.9475,
 * near 71.514167 .. 75.060833. No signals; target 75 within the new limits: hit and miss.
 */
Test(spc, health_series_rebased)
{
    static const size_t rebase[] = {16};
    struct spc_options options;
    spc_options_init(&options);
    options.rebase_at = rebase;
    options.n_rebase = 1;
    options.direction = SPC_DIRECTION_UP;
    options.has_target = true;
    options.target = 75;
    struct spc_result *result = NULL;
    cr_assert_eq(spc_compute(health, HEALTH_N, &options, &result), SPC_OK);
    cr_assert_eq(result->n_segments, 2);
    static const struct expected_segment want[2] = {
        {0, 16, 16, 15, 0, true, false, 78.3375, 0.82, 76.1563, 80.5187, 76.883367, 79.791633},
        {16, 8, 8, 7, 0, true, true, 73.2875, 1.0, 70.6275, 75.9475, 71.514167, 75.060833},
    };
    check_segment("health rebased", 0, &result->segments[0], &want[0]);
    check_segment("health rebased", 1, &result->segments[1], &want[1]);
    for (size_t i = 0; i < HEALTH_N; i++) {
        cr_expect_eq(result->points[i].signals, 0, "point %zu", i);
        cr_expect_eq(result->points[i].type, SPC_POINT_COMMON, "point %zu", i);
    }
    cr_expect_eq(result->last_point_type, SPC_POINT_COMMON);
    cr_expect_eq(result->assurance, SPC_ASSURANCE_HIT_AND_MISS);
    spc_result_free(&result);
}

Test(spc, no_points)
{
    struct spc_options options;
    spc_options_init(&options);
    options.direction = SPC_DIRECTION_UP;
    options.has_target = true;
    options.target = 1;
    struct spc_result *result = NULL;
    cr_assert_eq(spc_compute(NULL, 0, &options, &result), SPC_OK);
    cr_assert_not_null(result);
    cr_expect_eq(result->n_points, 0);
    cr_expect_eq(result->n_segments, 0);
    cr_expect_eq(result->last_point_type, SPC_POINT_COMMON);
    cr_expect_not(result->last_has_limits);
    cr_expect_eq(result->assurance, SPC_ASSURANCE_NONE);
    spc_result_free(&result);
    cr_expect_null(result);
}

/* One point with a target far away: no limits, so no assurance either. */
Test(spc, one_point_has_no_assurance)
{
    static const double value = 7;
    struct spc_options options;
    spc_options_init(&options);
    options.direction = SPC_DIRECTION_UP;
    options.has_target = true;
    options.target = 100;
    struct spc_result *result = NULL;
    cr_assert_eq(spc_compute(&value, 1, &options, &result), SPC_OK);
    cr_expect_not(result->last_has_limits);
    cr_expect_eq(result->assurance, SPC_ASSURANCE_NONE);
    spc_result_free(&result);
}

/* NULL options mean the defaults: all points, screening on, no direction (neutral types). */
Test(spc, null_options_are_the_defaults)
{
    static const double values[] = {BASELINE, 13};
    struct spc_result *result = NULL;
    cr_assert_eq(spc_compute(values, 13, NULL, &result), SPC_OK);
    /* mean (120 + 13) / 13 = 10.230769; ranges eleven 1s and 3.5: 14.5 / 12 = 1.208333;
       3.5 < 3.267 x 1.208333 = 3.95 stays; upper limit 10.230769 + 3.214167 = 13.444936:
       13 is inside, but close (> 10.230769 + 2.142778 = 12.373547) alone: common cause */
    cr_expect_float_eq(result->segments[0].mean, 10.230769, EPS);
    cr_expect_float_eq(result->segments[0].mean_moving_range, 1.208333, EPS);
    cr_expect_float_eq(result->segments[0].upper_limit, 13.444936, EPS);
    cr_expect_eq(result->points[12].type, SPC_POINT_COMMON);
    spc_result_free(&result);

    /* fixed after 12 with no direction, 13 is outside: neutral high */
    struct spc_options options;
    spc_options_init(&options);
    cr_expect(options.screen_outliers);
    cr_expect_eq(options.direction, SPC_DIRECTION_NONE);
    cr_expect_not(options.has_target);
    options.fix_after_n = 12;
    cr_assert_eq(spc_compute(values, 13, &options, &result), SPC_OK);
    cr_expect_eq(result->last_point_type, SPC_POINT_NEUTRAL_HIGH);
    cr_expect_eq(result->assurance, SPC_ASSURANCE_NONE);
    spc_result_free(&result);
}

struct error_case {
    char name[32];
    double values[4];
    size_t n;
    size_t fix_after_n;
    bool null_values;
    int direction;
    bool has_target;
    double target;
    bool null_rebase;
    enum spc_status expected;
};

static const struct error_case error_cases[] = {
    {.name = "NaN value", .values = {1, NAN, 3}, .n = 3, .expected = SPC_ERR_NOT_FINITE},
    {.name = "infinite value", .values = {1, 2, INFINITY}, .n = 3, .expected = SPC_ERR_NOT_FINITE},
    /* after the fixed baseline, so the limits alone would not show it */
    {.name = "NaN after the baseline",
     .values = {1, 2, 3, NAN},
     .n = 4,
     .fix_after_n = 3,
     .expected = SPC_ERR_NOT_FINITE},
    {.name = "NaN target",
     .values = {1, 2, 3},
     .n = 3,
     .has_target = true,
     .target = NAN,
     .expected = SPC_ERR_NOT_FINITE},
    /* finite values whose moving range overflows: |-1e308 - 1e308| = inf */
    {.name = "limits overflow",
     .values = {1e308, -1e308, 1e308},
     .n = 3,
     .expected = SPC_ERR_NOT_FINITE},
    {.name = "NULL values", .n = 3, .null_values = true, .expected = SPC_ERR_ARGUMENT},
    {.name = "unknown direction",
     .values = {1, 2, 3},
     .n = 3,
     .direction = 7,
     .expected = SPC_ERR_ARGUMENT},
    {.name = "NULL re-baselines",
     .values = {1, 2, 3},
     .n = 3,
     .null_rebase = true,
     .expected = SPC_ERR_ARGUMENT},
};

ParameterizedTestParameters(spc, errors)
{
    return cr_make_param_array(struct error_case, error_cases,
                               sizeof error_cases / sizeof error_cases[0]);
}

ParameterizedTest(const struct error_case *c, spc, errors)
{
    struct spc_options options;
    spc_options_init(&options);
    options.fix_after_n = c->fix_after_n;
    options.direction = (enum spc_direction)c->direction;
    options.has_target = c->has_target;
    options.target = c->target;
    options.n_rebase = c->null_rebase ? 1 : 0;
    static struct spc_result stale;
    struct spc_result *result = &stale; /* spc_compute must set it to NULL */
    enum spc_status status =
        spc_compute(c->null_values ? NULL : c->values, c->n, &options, &result);
    cr_expect_eq(status, c->expected, "%s: %s", c->name, spc_status_message(status));
    cr_expect_null(result, "%s", c->name);
}

Test(spc, null_out_is_an_argument_error)
{
    static const double values[] = {1, 2, 3};
    cr_expect_eq(spc_compute(values, 3, NULL, NULL), SPC_ERR_ARGUMENT);
}

Test(spc, free_is_null_safe)
{
    struct spc_result *result = NULL;
    spc_result_free(&result);
    spc_result_free(NULL);
    cr_expect_null(result);
}

/* The JSON names are an interface: the dashboard and alert templates match on them. */
Test(spc, names)
{
    static const struct {
        enum spc_point_type type;
        const char *name, *side;
    } types[] = {
        {SPC_POINT_COMMON, "common_cause", NULL},
        {SPC_POINT_IMPROVEMENT_HIGH, "special_cause_improvement", "high"},
        {SPC_POINT_IMPROVEMENT_LOW, "special_cause_improvement", "low"},
        {SPC_POINT_CONCERN_HIGH, "special_cause_concern", "high"},
        {SPC_POINT_CONCERN_LOW, "special_cause_concern", "low"},
        {SPC_POINT_NEUTRAL_HIGH, "special_cause_neutral", "high"},
        {SPC_POINT_NEUTRAL_LOW, "special_cause_neutral", "low"},
    };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        cr_expect_str_eq(spc_point_type_name(types[i].type), types[i].name);
        if (types[i].side == NULL) {
            cr_expect_null(spc_point_type_side(types[i].type));
        } else {
            cr_expect_str_eq(spc_point_type_side(types[i].type), types[i].side);
        }
        cr_expect_eq(spc_point_type_is_concern(types[i].type),
                     strcmp(types[i].name, "special_cause_concern") == 0);
    }
    cr_expect_str_eq(spc_point_type_name((enum spc_point_type)99), "unknown");
    cr_expect_null(spc_point_type_side((enum spc_point_type)99));

    static const char *const signals[SPC_SIGNAL_KINDS] = {"outside", "shift", "trend",
                                                          "two_in_three"};
    for (unsigned i = 0; i < SPC_SIGNAL_KINDS; i++) {
        cr_expect_str_eq(spc_signal_name(1u << i), signals[i]);
    }
    cr_expect_str_eq(spc_signal_name(0), "unknown");
    cr_expect_str_eq(spc_signal_name(SPC_SIGNAL_SHIFT | SPC_SIGNAL_TREND), "unknown");
    cr_expect_str_eq(spc_signal_name(1u << SPC_SIGNAL_KINDS), "unknown");

    cr_expect_str_eq(spc_assurance_name(SPC_ASSURANCE_NONE), "none");
    cr_expect_str_eq(spc_assurance_name(SPC_ASSURANCE_PASS), "pass");
    cr_expect_str_eq(spc_assurance_name(SPC_ASSURANCE_FAIL), "fail");
    cr_expect_str_eq(spc_assurance_name(SPC_ASSURANCE_HIT_AND_MISS), "hit_and_miss");
    cr_expect_str_eq(spc_direction_name(SPC_DIRECTION_NONE), "none");
    cr_expect_str_eq(spc_direction_name(SPC_DIRECTION_UP), "up");
    cr_expect_str_eq(spc_direction_name(SPC_DIRECTION_DOWN), "down");
}

/* The cause names the signal that decided the type, by plotthedots' precedence. */
Test(spc, cause_follows_precedence)
{
    /* as "outside takes precedence over trend": 13 is outside and in the trend, the rest in
       the trend only */
    static const double values[] = {BASELINE, 13, 11.5, 11, 10.5, 10.2, 9.9, 9.6};
    struct spc_options options;
    spc_options_init(&options);
    options.fix_after_n = 12;
    options.direction = SPC_DIRECTION_UP;
    struct spc_result *result = NULL;
    cr_assert_eq(spc_compute(values, sizeof values / sizeof values[0], &options, &result), SPC_OK);
    cr_expect_eq(result->points[11].cause, SPC_SIGNAL_NONE);
    cr_expect_eq(result->points[12].cause, SPC_SIGNAL_OUTSIDE);
    cr_expect_eq(result->points[13].cause, SPC_SIGNAL_TREND);
    spc_result_free(&result);

    static const double two[] = {BASELINE, 11.7, 11.9, 11.8, 11.8, 11.8, 11.8, 11.8};
    /* 11.7 is not close (< 11.773333), the six after it are: two in three from 11.9 on; with
       11.7 seven points above the mean, a shift; where both hold, two in three decides */
    cr_assert_eq(spc_compute(two, sizeof two / sizeof two[0], &options, &result), SPC_OK);
    cr_expect_eq(result->points[12].signals, SPC_SIGNAL_SHIFT);
    cr_expect_eq(result->points[12].cause, SPC_SIGNAL_SHIFT);
    cr_expect_eq(result->points[13].signals, SPC_SIGNAL_SHIFT | SPC_SIGNAL_TWO_IN_THREE);
    cr_expect_eq(result->points[13].cause, SPC_SIGNAL_TWO_IN_THREE);
    cr_expect_eq(result->points[13].type, SPC_POINT_IMPROVEMENT_HIGH);
    spc_result_free(&result);
}
