/* Silence matchers (silence_match.h): reading the three forms a request may give, checking
 * values and regular expressions, compiling them with regcomp and matching an alert's
 * labels; and the set of silences in force that a read matches its alerts against. */
#include "scaleupd/core/silence_match.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/alloc.h"
#include "scaleupd/core/problems.h"

static const char *const label_names[SILENCE_LABEL_COUNT] = {
    "programme", "indicator", "site", "region", "rule", "kind",
};

const char *silence_label_name(enum silence_label label)
{
    return label < SILENCE_LABEL_COUNT ? label_names[label] : "?";
}

bool silence_label_from_name(const char *name, enum silence_label *label)
{
    for (int i = 0; i < SILENCE_LABEL_COUNT; i++) {
        if (strcmp(name, label_names[i]) == 0) {
            *label = (enum silence_label)i;
            return true;
        }
    }
    return false;
}

static bool op_is_regex(enum silence_op op)
{
    return op == SILENCE_OP_REGEX || op == SILENCE_OP_NOT_REGEX;
}

static bool op_is_negative(enum silence_op op)
{
    return op == SILENCE_OP_NOT_EQUAL || op == SILENCE_OP_NOT_REGEX;
}

/* Skips a bracket expression starting at p[0] == '['; returns the index past its ']' (or the
 * end), setting *backslash when it holds one (a literal in POSIX, an escape in RE2). */
static size_t skip_bracket(const char *p, size_t i, bool *backslash)
{
    i++;
    if (p[i] == '^')
        i++;
    if (p[i] == ']')
        i++; /* a first ']' is a member */
    while (p[i] != '\0' && p[i] != ']') {
        if (p[i] == '[' && (p[i + 1] == ':' || p[i + 1] == '.' || p[i + 1] == '=')) {
            const char *close = strstr(p + i + 2, p[i + 1] == ':'   ? ":]"
                                                  : p[i + 1] == '.' ? ".]"
                                                                    : "=]");
            i = close ? (size_t)(close - p) + 2 : strlen(p);
            continue;
        }
        if (p[i] == '\\')
            *backslash = true;
        i++;
    }
    return p[i] == ']' ? i + 1 : i;
}

/* An estimate from above of the nodes glibc's regcomp builds of a pattern: it copies the
 * operand of + once and that of {n,m} m times, so nested repetitions multiply, and a short
 * pattern ("((a+)+)+...", "(a{99}){99}") could take all memory. And whether a repetition
 * (*, + or {n,m}) applies to an operand that can match the empty string ("(.?)+",
 * "(a|b*)*", "(.?){1,9}"): glibc's matcher is exponential in time on those and its compiler
 * quadratic in memory (measured: "((.?)+)" 28 times matched a 38-byte code for more than 5
 * minutes; "(.?){1,9}" 28 times took 131 MB to compile, 784 by this estimate), where RE2 is not. */
#define REGEX_COST_MAX 2000.0
struct regex_cost {
    const char *p;
    size_t i;
    bool stacked;         /* a quantifier follows another (a++, a*{2}): RE2 refuses those */
    bool nullable_repeat; /* *, + or {n,m} of something that matches the empty string */
};

static double cost_alternatives(struct regex_cost *c, int depth, bool *nullable);

/* One atom; *nullable: it can match the empty string (a group whose alternatives can). */
static double cost_atom(struct regex_cost *c, int depth, bool *nullable)
{
    const char *p = c->p;
    bool backslash = false;
    *nullable = false;
    if (p[c->i] == '(') {
        c->i++;
        double inner = depth < 64 ? cost_alternatives(c, depth + 1, nullable) : REGEX_COST_MAX * 2;
        if (p[c->i] == ')')
            c->i++;
        return inner + 1;
    }
    if (p[c->i] == '[')
        c->i = skip_bracket(p, c->i, &backslash);
    else
        c->i += p[c->i] == '\\' && p[c->i + 1] != '\0' ? 2 : 1;
    return 1;
}

/* Reads {n}, {n,} or {n,m} at c->p[c->i] == '{'; the copies of its operand it makes, and
 * *at_least the n. */
static double brace_copies(struct regex_cost *c, double *at_least)
{
    const char *p = c->p;
    size_t i = c->i + 1;
    double n = 0, m = 0;
    for (; p[i] >= '0' && p[i] <= '9'; i++)
        n = n < 1e6 ? n * 10 + (p[i] - '0') : n;
    m = n;
    if (p[i] == ',') {
        m = n + 1;
        if (p[i + 1] >= '0' && p[i + 1] <= '9')
            m = 0;
        for (i++; p[i] >= '0' && p[i] <= '9'; i++)
            m = m < 1e6 ? m * 10 + (p[i] - '0') : m;
    }
    if (p[i] == '}')
        i++;
    c->i = i;
    *at_least = n;
    return m > 1 ? m : 1;
}

static double cost_repeat(struct regex_cost *c, int depth, bool *nullable)
{
    double cost = cost_atom(c, depth, nullable);
    for (int quantifiers = 0;; quantifiers++) {
        char q = c->p[c->i];
        if (q != '*' && q != '+' && q != '?' && q != '{')
            break;
        if (q != '?' && *nullable)
            c->nullable_repeat = true;
        double at_least = 1;
        if (q == '*' || q == '?')
            cost += 1, c->i++, *nullable = true;
        else if (q == '+')
            cost = 2 * cost + 1, c->i++;
        else
            cost = cost * brace_copies(c, &at_least) + 1, *nullable = *nullable || at_least == 0;
        if (quantifiers > 0)
            c->stacked = true;
    }
    return cost;
}

/* Alternatives up to ')' or the end; *nullable: one of them can match the empty string. */
static double cost_alternatives(struct regex_cost *c, int depth, bool *nullable)
{
    double total = 0;
    bool branch_nullable = true; /* an empty branch matches the empty string */
    *nullable = false;
    while (c->p[c->i] != '\0' && c->p[c->i] != ')' && total <= REGEX_COST_MAX) {
        if (c->p[c->i] == '|') {
            c->i++, total += 1;
            *nullable = *nullable || branch_nullable;
            branch_nullable = true;
        } else {
            bool n = false;
            total += cost_repeat(c, depth, &n);
            branch_nullable = branch_nullable && n;
        }
    }
    *nullable = *nullable || branch_nullable;
    return total;
}

/* The estimate of p, with c->stacked and c->nullable_repeat set as they apply. */
static double regex_cost(const char *p, struct regex_cost *c)
{
    *c = (struct regex_cost){.p = p};
    double total = 0;
    while (p[c->i] != '\0' && total <= REGEX_COST_MAX) {
        bool nullable = false;
        total += cost_alternatives(c, 0, &nullable);
        if (p[c->i] == ')')
            c->i++; /* unbalanced: regcomp says so */
    }
    return total;
}

/* Why value, valid POSIX, would not mean what it means to Alertmanager's RE2; NULL when it
 * means the same. */
static const char *regex_unsupported(const char *p)
{
    for (size_t i = 0; p[i] != '\0';) {
        bool backslash = false;
        if (p[i] == '[') {
            i = skip_bracket(p, i, &backslash);
            if (backslash)
                return "a backslash inside [...] is a literal in POSIX (RE2 reads an escape)";
            continue;
        }
        if (p[i] == '\\') {
            if (p[i + 1] != '\0' && strchr("dDpPzAQECx123456789", p[i + 1]) != NULL)
                return "\\d, \\p, \\x, \\A, \\z, \\Q and back-references are RE2's or "
                       "unsupported: write [0-9], [[:alpha:]] and so on";
            i += p[i + 1] != '\0' ? 2 : 1;
            continue;
        }
        if (p[i] == '(' && p[i + 1] == '?')
            return "(?...) groups and flags are RE2's, not POSIX";
        if (strchr("*+?}", p[i]) != NULL && p[i + 1] == '?')
            return "lazy quantifiers (*?, +?, ?\?) are RE2's, not POSIX";
        i++;
    }
    struct regex_cost c;
    if (regex_cost(p, &c) > REGEX_COST_MAX)
        return "the repetitions would expand past what a matcher may cost: repeat less, or "
               "nest fewer repetitions";
    if (c.nullable_repeat)
        return "a repetition (*, + or {n,m}) of something that can match nothing, such as "
               "(a?)+ or (a|b*)*, is refused: it costs a POSIX matcher exponential time";
    if (c.stacked)
        return "a quantifier after a quantifier (a++, a*{2}) is refused, as RE2 refuses it";
    return NULL;
}

/* Compiles value anchored at both ends; false with why set on a syntax error. */
static bool compile_regex(regex_t *regex, const char *value, char *why, size_t why_size)
{
    struct regex_cost c;
    if (regex_cost(value, &c) > REGEX_COST_MAX || c.nullable_repeat) {
        snprintf(why, why_size, "the regular expression would cost too much to compile");
        return false;
    }
    size_t len = strlen(value);
    char *anchored = xmalloc(len + 5);
    if (len == 0)
        snprintf(anchored, len + 5, "^$");
    else
        snprintf(anchored, len + 5, "^(%s)$", value);
    int rc = regcomp(regex, anchored, REG_EXTENDED | REG_NOSUB);
    free(anchored);
    if (rc != 0) {
        regerror(rc, regex, why, why_size);
        regfree(regex);
        return false;
    }
    return true;
}

/* Fills m from label, op and value (copied), compiling a regex; false with why set. */
static bool matcher_init(struct silence_matcher *m, enum silence_label label, enum silence_op op,
                         const char *value, char *why, size_t why_size)
{
    *m = (struct silence_matcher){.label = label, .op = op};
    if (op_is_regex(op) && !compile_regex(&m->regex, value, why, why_size))
        return false;
    m->value = xstrdup(value);
    return true;
}

static void matcher_free(struct silence_matcher *m)
{
    if (op_is_regex(m->op))
        regfree(&m->regex);
    free(m->value);
    m->value = NULL;
}

/* Whether m's test (without its negation) holds for value. */
static bool matcher_test(const struct silence_matcher *m, const char *value)
{
    if (op_is_regex(m->op))
        return regexec(&m->regex, value, 0, NULL, 0) == 0;
    return strcmp(m->value, value) == 0;
}

static bool matcher_holds(const struct silence_matcher *m, const struct silence_labels *l)
{
    bool any = false;
    if (m->label == SILENCE_LABEL_REGION) {
        for (size_t i = 0; i < l->n_regions && !any; i++)
            any = matcher_test(m, l->regions[i] ? l->regions[i] : "");
        if (l->n_regions == 0)
            any = matcher_test(m, "");
    } else {
        const char *values[] = {l->programme, l->indicator, l->site, NULL, l->rule, l->kind};
        const char *v = values[m->label];
        any = matcher_test(m, v ? v : "");
    }
    return op_is_negative(m->op) ? !any : any;
}

bool silence_matchers_match(const struct silence_matchers *m, const struct silence_labels *labels)
{
    for (size_t i = 0; i < m->n; i++)
        if (!matcher_holds(&m->items[i], labels))
            return false;
    return true;
}

void silence_matchers_free(struct silence_matchers *m)
{
    for (size_t i = 0; i < m->n; i++)
        matcher_free(&m->items[i]);
    free(m->items);
    *m = (struct silence_matchers){0};
}

/* The operator of a stored matcher's two flags. */
static enum silence_op op_of(bool is_regex, bool is_equal)
{
    if (is_regex)
        return is_equal ? SILENCE_OP_REGEX : SILENCE_OP_NOT_REGEX;
    return is_equal ? SILENCE_OP_EQUAL : SILENCE_OP_NOT_EQUAL;
}

bool silence_matchers_compile(const json_t *stored, struct silence_matchers *out, char *why,
                              size_t why_size)
{
    *out = (struct silence_matchers){0};
    if (!json_is_array(stored) || json_array_size(stored) > SILENCE_MATCHERS_MAX) {
        snprintf(why, why_size, "matchers are not a list of at most %d", SILENCE_MATCHERS_MAX);
        return false;
    }
    out->items = xcalloc(json_array_size(stored) + 1, sizeof(*out->items));
    size_t i;
    const json_t *m;
    json_array_foreach(stored, i, m)
    {
        const char *name = json_string_value(json_object_get(m, "name"));
        const char *value = json_string_value(json_object_get(m, "value"));
        enum silence_label label;
        if (name == NULL || value == NULL || !silence_label_from_name(name, &label)) {
            snprintf(why, why_size, "matcher %zu has no known name and a value", i);
            goto fail;
        }
        enum silence_op op = op_of(json_is_true(json_object_get(m, "isRegex")),
                                   !json_is_false(json_object_get(m, "isEqual")));
        if (!matcher_init(&out->items[out->n], label, op, value, why, why_size))
            goto fail;
        out->n++;
    }
    return true;
fail:
    silence_matchers_free(out);
    return false;
}

const char *silence_regex_problem(const char *value, char *why, size_t why_size)
{
    const char *unsupported = regex_unsupported(value);
    if (unsupported != NULL)
        return unsupported;
    regex_t regex;
    if (!compile_regex(&regex, value, why, why_size))
        return why;
    regfree(&regex);
    return NULL;
}

bool silence_matcher_matches_empty(enum silence_label label, enum silence_op op, const char *value)
{
    struct silence_matcher m;
    char why[128];
    if (!matcher_init(&m, label, op, value, why, sizeof(why)))
        return false;
    bool holds = matcher_holds(&m, &(struct silence_labels){0});
    matcher_free(&m);
    return holds;
}

bool silence_set_add(struct silence_set *set, long long id, const char *programme,
                     const json_t *stored, char *why, size_t why_size)
{
    struct silence_matchers matchers;
    if (!silence_matchers_compile(stored, &matchers, why, why_size))
        return false;
    set->items = xrealloc(set->items, (set->n + 1) * sizeof(*set->items));
    set->items[set->n++] = (struct silence_active){
        .id = id, .programme = programme ? xstrdup(programme) : NULL, .matchers = matchers};
    return true;
}

/* Whether silence s mutes an alert with labels: its programme, then its matchers. */
static bool active_mutes(const struct silence_active *s, const struct silence_labels *labels)
{
    if (s->programme != NULL &&
        (labels->programme == NULL || strcmp(s->programme, labels->programme) != 0))
        return false;
    return silence_matchers_match(&s->matchers, labels);
}

json_t *silence_set_muting(const struct silence_set *set, const struct silence_labels *labels)
{
    json_t *ids = json_array();
    for (size_t i = 0; i < set->n; i++)
        if (active_mutes(&set->items[i], labels))
            json_array_append_new(ids, json_integer(set->items[i].id));
    return ids;
}

bool silence_set_mutes(const struct silence_set *set, const struct silence_labels *labels)
{
    for (size_t i = 0; i < set->n; i++)
        if (active_mutes(&set->items[i], labels))
            return true;
    return false;
}

void silence_set_free(struct silence_set *set)
{
    for (size_t i = 0; i < set->n; i++) {
        free(set->items[i].programme);
        silence_matchers_free(&set->items[i].matchers);
    }
    free(set->items);
    *set = (struct silence_set){0};
}

void silence_alert_regions(struct silence_alert *a, const char *codes_json)
{
    a->held = codes_json && codes_json[0] ? json_loads(codes_json, 0, NULL) : NULL;
    a->labels.regions = a->regions;
    a->labels.n_regions = 0;
    size_t i;
    const json_t *code;
    json_array_foreach(a->held, i, code)
    {
        if (json_is_string(code) && a->labels.n_regions < SILENCE_REGIONS_MAX)
            a->regions[a->labels.n_regions++] = json_string_value(code);
    }
}

void silence_alert_clear(struct silence_alert *a)
{
    json_decref(a->held);
    a->held = NULL;
    a->labels.regions = NULL;
    a->labels.n_regions = 0;
}
