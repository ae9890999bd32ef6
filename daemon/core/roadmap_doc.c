/*
 * Roadmap documents: walks a jansson tree of one roadmap version, reports every validation
 * problem with its JSONPath, and builds the struct roadmap that progress.c reads; and the
 * set of a programme's versions. Pure: the programme's indicators are reached through the
 * caller's lookup callback.
 */
#include "scaleupd/core/roadmap_doc.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/alloc.h"
#include "scaleupd/core/period.h"
#include "scaleupd/core/utf8.h"
#include "scaleupd/core/problems.h"
#include "scaleupd/core/progress.h"

/* Upper bound of "active_within_periods": a window longer than this is a typing mistake. */
#define ROADMAP_MAX_ACTIVE_WITHIN_PERIODS 1000

struct parse_ctx {
    struct roadmap_errors *errs;
    const struct roadmap_indicator_lookup *lookup;
    struct roadmap *roadmap;
    bool has_baseline_date;
    /* the theme and item keys seen so far → their index: duplicates are found in constant
     * time, so a document of many themes or items costs time linear in its size */
    json_t *theme_keys, *item_keys;
};

/* Records key at index in keys; false (and *first set) when an earlier index has it. */
static bool key_first_use(json_t *keys, const char *key, size_t index, size_t *first)
{
    const json_t *seen = json_object_get(keys, key);
    if (seen != NULL) {
        *first = (size_t)json_integer_value(seen);
        return false;
    }
    json_object_set_new(keys, key, json_integer((json_int_t)index));
    return true;
}

enum need { OPTIONAL, REQUIRED };

/* What a plan's values count: fractions 0..1, or whole numbers of sites/regions. */
enum plan_unit { PLAN_FRACTION, PLAN_COUNT };

struct path {
    char text[ROADMAP_ERROR_PATH_MAX];
};

static struct path path_member(const char *parent, const char *key)
{
    struct path p;
    if (snprintf(p.text, sizeof p.text, "%s.%s", parent, key) < 0)
        p.text[0] = '\0';
    return p;
}

static struct path path_index(const char *parent, size_t index)
{
    struct path p;
    if (snprintf(p.text, sizeof p.text, "%s[%zu]", parent, index) < 0)
        p.text[0] = '\0';
    return p;
}

/* Collects one problem. The list stays typed (an enum code, tested as such) and capped at
 * ROADMAP_MAX_ERRORS; roadmap_errors_to_problems turns it into the 422's problems. */
__attribute__((format(printf, 4, 5))) static void
report(struct parse_ctx *ctx, enum roadmap_error_code code, const char *path, const char *fmt, ...)
{
    struct roadmap_errors *errs = ctx->errs;
    if (errs->count >= ROADMAP_MAX_ERRORS) {
        errs->dropped++;
        return;
    }
    struct roadmap_error *err = &errs->items[errs->count++];
    err->code = code;
    snprintf(err->path, sizeof err->path, "%s", path);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    utf8_make_valid(err->path); /* input quoted and cut: never a string JSON refuses */
    utf8_make_valid(err->message);
}

/* The member `key` of obj, or NULL when absent (reported when required). */
static json_t *member(struct parse_ctx *ctx, json_t *obj, const char *path, const char *key,
                      enum need need)
{
    json_t *value = json_object_get(obj, key);
    if (!value && need == REQUIRED)
        report(ctx, ROADMAP_ERR_MISSING, path_member(path, key).text, "%s is required", key);
    return value;
}

static json_t *read_typed(struct parse_ctx *ctx, json_t *obj, const char *path, const char *key,
                          enum need need, json_type type, const char *what)
{
    json_t *value = member(ctx, obj, path, key, need);
    if (!value)
        return NULL;
    if (json_typeof(value) != type) {
        report(ctx, ROADMAP_ERR_TYPE, path_member(path, key).text, "%s must be %s", key, what);
        return NULL;
    }
    return value;
}

static json_t *read_object(struct parse_ctx *ctx, json_t *obj, const char *path, const char *key,
                           enum need need)
{
    return read_typed(ctx, obj, path, key, need, JSON_OBJECT, "an object");
}

static json_t *read_array(struct parse_ctx *ctx, json_t *obj, const char *path, const char *key,
                          enum need need)
{
    return read_typed(ctx, obj, path, key, need, JSON_ARRAY, "an array");
}

/* A non-empty string member, copied into *out (caller's roadmap owns it). */
static bool read_string(struct parse_ctx *ctx, json_t *obj, const char *path, const char *key,
                        enum need need, char **out)
{
    json_t *value = member(ctx, obj, path, key, need);
    if (!value)
        return false;
    if (!json_is_string(value) || json_string_length(value) == 0) {
        report(ctx, ROADMAP_ERR_TYPE, path_member(path, key).text, "%s must be a non-empty string",
               key);
        return false;
    }
    *out = xstrdup(json_string_value(value));
    return true;
}

static bool read_number(struct parse_ctx *ctx, json_t *obj, const char *path, const char *key,
                        enum need need, double *out)
{
    json_t *value = member(ctx, obj, path, key, need);
    if (!value)
        return false;
    if (!json_is_number(value)) {
        report(ctx, ROADMAP_ERR_TYPE, path_member(path, key).text, "%s must be a number", key);
        return false;
    }
    *out = json_number_value(value);
    return true;
}

static bool read_date(struct parse_ctx *ctx, json_t *obj, const char *path, const char *key,
                      enum need need, int32_t *out)
{
    json_t *value = member(ctx, obj, path, key, need);
    if (!value)
        return false;
    if (!json_is_string(value) ||
        !date_parse(json_string_value(value), json_string_length(value), out)) {
        report(ctx, ROADMAP_ERR_DATE, path_member(path, key).text,
               "%s must be a date written YYYY-MM-DD", key);
        return false;
    }
    return true;
}

static bool is_whole(double value)
{
    return value == floor(value);
}

/* A baseline or target: a fraction 0..1, or a whole non-negative count. */
static void check_plan_value(struct parse_ctx *ctx, const char *path, enum plan_unit unit,
                             double value)
{
    if (unit == PLAN_FRACTION && (value < 0.0 || value > 1.0))
        report(ctx, ROADMAP_ERR_RANGE, path,
               "%g is not a fraction between 0 and 1 (write 15 %% as 0.15)", value);
    else if (unit == PLAN_COUNT && value < 0.0)
        report(ctx, ROADMAP_ERR_RANGE, path, "a count cannot be negative (%g)", value);
    else if (unit == PLAN_COUNT && !is_whole(value))
        report(ctx, ROADMAP_ERR_NOT_INTEGER, path, "a count must be a whole number (%g)", value);
}

/* Reads one milestone; returns whether its date is valid (for the order checks). */
static bool parse_milestone(struct parse_ctx *ctx, json_t *item, const char *path,
                            enum plan_unit unit, struct roadmap_milestone *milestone)
{
    if (!json_is_object(item)) {
        report(ctx, ROADMAP_ERR_TYPE, path, "a milestone must be an object with date and target");
        return false;
    }
    if (read_number(ctx, item, path, "target", REQUIRED, &milestone->target))
        check_plan_value(ctx, path_member(path, "target").text, unit, milestone->target);
    return read_date(ctx, item, path, "date", REQUIRED, &milestone->date);
}

static void check_milestone_date(struct parse_ctx *ctx, const char *path, int32_t date,
                                 bool has_previous, int32_t previous)
{
    struct path date_path = path_member(path, "date");
    if (ctx->has_baseline_date && date <= ctx->roadmap->baseline_date)
        report(ctx, ROADMAP_ERR_BEFORE_BASELINE, date_path.text,
               "a milestone must come after baseline_date");
    else if (has_previous && date <= previous)
        report(ctx, ROADMAP_ERR_ORDER, date_path.text,
               "milestones must be in strictly increasing date order");
}

static void parse_plan(struct parse_ctx *ctx, json_t *obj, const char *path, enum plan_unit unit,
                       struct roadmap_plan *plan)
{
    if (read_number(ctx, obj, path, "baseline", REQUIRED, &plan->baseline))
        check_plan_value(ctx, path_member(path, "baseline").text, unit, plan->baseline);
    json_t *milestones = read_array(ctx, obj, path, "milestones", REQUIRED);
    if (!milestones)
        return;
    struct path list_path = path_member(path, "milestones");
    size_t count = json_array_size(milestones);
    if (count == 0) {
        report(ctx, ROADMAP_ERR_RANGE, list_path.text, "at least one milestone is required");
        return;
    }
    plan->milestones = xcalloc(count, sizeof *plan->milestones);
    plan->n_milestones = count;
    bool has_previous = false;
    int32_t previous = 0;
    for (size_t i = 0; i < count; i++) {
        struct path item_path = path_index(list_path.text, i);
        struct roadmap_milestone *milestone = &plan->milestones[i];
        if (!parse_milestone(ctx, json_array_get(milestones, i), item_path.text, unit, milestone))
            continue;
        check_milestone_date(ctx, item_path.text, milestone->date, has_previous, previous);
        has_previous = true;
        previous = milestone->date;
    }
}

static bool read_tolerance_value(struct parse_ctx *ctx, json_t *obj, const char *path,
                                 const char *key, double *out)
{
    if (!read_number(ctx, obj, path, key, REQUIRED, out))
        return false;
    if (*out < 0.0) {
        report(ctx, ROADMAP_ERR_RANGE, path_member(path, key).text,
               "a tolerance cannot be negative (%g)", *out);
        return false;
    }
    return true;
}

static void parse_tolerance(struct parse_ctx *ctx, json_t *dimension, const char *path,
                            double default_behind, double default_at_risk,
                            struct roadmap_tolerance *tolerance)
{
    tolerance->behind = default_behind;
    tolerance->at_risk = default_at_risk;
    json_t *obj = read_object(ctx, dimension, path, "tolerance", OPTIONAL);
    if (!obj)
        return;
    struct path tolerance_path = path_member(path, "tolerance");
    double behind = 0.0, at_risk = 0.0;
    bool has_behind = read_tolerance_value(ctx, obj, tolerance_path.text, "behind", &behind);
    bool has_at_risk = read_tolerance_value(ctx, obj, tolerance_path.text, "at_risk", &at_risk);
    if (has_behind && has_at_risk && at_risk < behind)
        report(ctx, ROADMAP_ERR_TOLERANCE, path_member(tolerance_path.text, "at_risk").text,
               "at_risk (%g) must not be smaller than behind (%g)", at_risk, behind);
    tolerance->behind = behind;
    tolerance->at_risk = at_risk;
}

const char *roadmap_dimension_name(enum roadmap_dimension dimension)
{
    switch (dimension) {
    case ROADMAP_DIMENSION_COVERAGE:
        return "coverage";
    case ROADMAP_DIMENSION_EXPANSION:
        return "expansion";
    case ROADMAP_DIMENSION_INSTITUTIONALISATION:
        return "institutionalisation";
    case ROADMAP_DIMENSION_NONE:
        break;
    }
    return "none";
}

/* Looks `code` up; reports unknown codes and wrong dimension or value type. Returns whether
 * the indicator exists (then *info is filled). */
static bool check_indicator(struct parse_ctx *ctx, const char *path, const char *code,
                            enum roadmap_dimension dimension, bool need_score,
                            struct roadmap_indicator_info *info)
{
    if (!ctx->lookup || !ctx->lookup->find)
        return false;
    memset(info, 0, sizeof *info);
    if (!ctx->lookup->find(ctx->lookup->ctx, code, info)) {
        report(ctx, ROADMAP_ERR_UNKNOWN_INDICATOR, path,
               "indicator \"%.64s\" is not defined in the programme", code);
        return false;
    }
    if (info->dimension != dimension)
        report(ctx, ROADMAP_ERR_DIMENSION, path, "indicator \"%.64s\" feeds %s, not %s", code,
               info->dimension == ROADMAP_DIMENSION_NONE ? "no scale-up dimension"
                                                         : roadmap_dimension_name(info->dimension),
               roadmap_dimension_name(dimension));
    if (need_score && info->value_type != ROADMAP_VALUE_SCORE)
        report(ctx, ROADMAP_ERR_VALUE_TYPE, path,
               "indicator \"%.64s\" must have value type score (0-4)", code);
    return true;
}

static void parse_coverage_denominator(struct parse_ctx *ctx, json_t *obj, const char *path,
                                       const struct roadmap_indicator_info *numerator_info)
{
    struct roadmap_coverage *coverage = &ctx->roadmap->coverage;
    bool has_denominator = json_object_get(obj, "denominator") != NULL;
    bool has_population = json_object_get(obj, "target_population") != NULL;
    struct path denominator_path = path_member(path, "denominator");
    if (has_denominator && has_population) {
        report(ctx, ROADMAP_ERR_CONFLICT, path_member(path, "target_population").text,
               "give either denominator or target_population, not both");
    } else if (!has_denominator && !has_population) {
        report(ctx, ROADMAP_ERR_MISSING, denominator_path.text,
               "denominator (an indicator) or target_population (a number) is required");
    } else if (has_population) {
        if (read_number(ctx, obj, path, "target_population", REQUIRED,
                        &coverage->target_population) &&
            !(coverage->target_population > 0.0))
            report(ctx, ROADMAP_ERR_RANGE, path_member(path, "target_population").text,
                   "target_population must be greater than 0");
    } else if (read_string(ctx, obj, path, "denominator", REQUIRED, &coverage->denominator)) {
        struct roadmap_indicator_info info;
        if (check_indicator(ctx, denominator_path.text, coverage->denominator,
                            ROADMAP_DIMENSION_COVERAGE, false, &info) &&
            numerator_info && info.period_type != numerator_info->period_type)
            report(ctx, ROADMAP_ERR_PERIOD_TYPE, denominator_path.text,
                   "denominator is %s but numerator is %s: they must share a period type",
                   period_type_name(info.period_type),
                   period_type_name(numerator_info->period_type));
    }
}

static void parse_coverage(struct parse_ctx *ctx, json_t *root)
{
    const char *path = "$.coverage";
    struct roadmap_coverage *coverage = &ctx->roadmap->coverage;
    json_t *obj = read_object(ctx, root, "$", "coverage", OPTIONAL);
    if (!obj)
        return;
    coverage->present = true;
    struct roadmap_indicator_info numerator_info;
    bool has_numerator_info = false;
    if (read_string(ctx, obj, path, "numerator", REQUIRED, &coverage->numerator))
        has_numerator_info =
            check_indicator(ctx, path_member(path, "numerator").text, coverage->numerator,
                            ROADMAP_DIMENSION_COVERAGE, false, &numerator_info);
    parse_coverage_denominator(ctx, obj, path, has_numerator_info ? &numerator_info : NULL);
    parse_plan(ctx, obj, path, PLAN_FRACTION, &coverage->plan);
    parse_tolerance(ctx, obj, path, ROADMAP_DEFAULT_FRACTION_BEHIND,
                    ROADMAP_DEFAULT_FRACTION_AT_RISK, &coverage->tolerance);
}

static void parse_active_within(struct parse_ctx *ctx, json_t *obj, const char *path)
{
    struct roadmap_expansion *expansion = &ctx->roadmap->expansion;
    double periods;
    expansion->active_within_periods = ROADMAP_DEFAULT_ACTIVE_WITHIN_PERIODS;
    if (!read_number(ctx, obj, path, "active_within_periods", OPTIONAL, &periods))
        return;
    struct path periods_path = path_member(path, "active_within_periods");
    if (!is_whole(periods))
        report(ctx, ROADMAP_ERR_NOT_INTEGER, periods_path.text,
               "active_within_periods must be a whole number of periods (%g)", periods);
    else if (periods < 1.0 || periods > ROADMAP_MAX_ACTIVE_WITHIN_PERIODS)
        report(ctx, ROADMAP_ERR_RANGE, periods_path.text,
               "active_within_periods must be between 1 and %d (%g)",
               ROADMAP_MAX_ACTIVE_WITHIN_PERIODS, periods);
    else
        expansion->active_within_periods = (int)periods;
}

static void parse_expansion(struct parse_ctx *ctx, json_t *root)
{
    const char *path = "$.expansion";
    struct roadmap_expansion *expansion = &ctx->roadmap->expansion;
    json_t *obj = read_object(ctx, root, "$", "expansion", OPTIONAL);
    if (!obj)
        return;
    expansion->present = true;
    parse_active_within(ctx, obj, path);
    json_t *sites = read_object(ctx, obj, path, "sites", REQUIRED);
    if (sites)
        parse_plan(ctx, sites, path_member(path, "sites").text, PLAN_COUNT, &expansion->sites);
    json_t *regions = read_object(ctx, obj, path, "regions", REQUIRED);
    if (regions)
        parse_plan(ctx, regions, path_member(path, "regions").text, PLAN_COUNT,
                   &expansion->regions);
    parse_tolerance(ctx, obj, path, ROADMAP_DEFAULT_EXPANSION_BEHIND,
                    ROADMAP_DEFAULT_EXPANSION_AT_RISK, &expansion->tolerance);
}

static void parse_item_key(struct parse_ctx *ctx, json_t *obj, const char *path, size_t index)
{
    struct roadmap_item *items = ctx->roadmap->institutionalisation.items;
    if (!read_string(ctx, obj, path, "key", REQUIRED, &items[index].key))
        return;
    size_t first;
    if (!key_first_use(ctx->item_keys, items[index].key, index, &first))
        report(ctx, ROADMAP_ERR_DUPLICATE, path_member(path, "key").text,
               "item key \"%.64s\" is already used by item %zu", items[index].key, first);
}

static void parse_item_target(struct parse_ctx *ctx, json_t *obj, const char *path,
                              struct roadmap_item *item)
{
    double target;
    if (!read_number(ctx, obj, path, "target", REQUIRED, &target))
        return;
    struct path target_path = path_member(path, "target");
    if (!is_whole(target))
        report(ctx, ROADMAP_ERR_NOT_INTEGER, target_path.text,
               "an item target is a whole score from 1 to 4 (%g)", target);
    else if (target < 1.0 || target > 4.0)
        report(ctx, ROADMAP_ERR_RANGE, target_path.text,
               "an item target is a score from 1 to 4 (%g)", target);
    else
        item->target = (int)target;
}

static void parse_item(struct parse_ctx *ctx, json_t *obj, const char *path, size_t index)
{
    struct roadmap_item *item = &ctx->roadmap->institutionalisation.items[index];
    if (!json_is_object(obj)) {
        report(ctx, ROADMAP_ERR_TYPE, path, "an item must be an object");
        return;
    }
    parse_item_key(ctx, obj, path, index);
    if (read_string(ctx, obj, path, "theme", OPTIONAL, &item->theme) &&
        json_object_get(ctx->theme_keys, item->theme) == NULL)
        report(ctx, ROADMAP_ERR_UNKNOWN_THEME, path_member(path, "theme").text,
               "theme \"%.64s\" is not one of the roadmap's themes", item->theme);
    if (read_string(ctx, obj, path, "indicator", REQUIRED, &item->indicator)) {
        struct roadmap_indicator_info info;
        check_indicator(ctx, path_member(path, "indicator").text, item->indicator,
                        ROADMAP_DIMENSION_INSTITUTIONALISATION, true, &info);
    }
    parse_item_target(ctx, obj, path, item);
    item->has_due = read_date(ctx, obj, path, "due", OPTIONAL, &item->due);
    (void)read_string(ctx, obj, path, "name", OPTIONAL, &item->name);
}

static void parse_items(struct parse_ctx *ctx, json_t *obj, const char *path)
{
    struct roadmap_institutionalisation *inst = &ctx->roadmap->institutionalisation;
    json_t *items = read_array(ctx, obj, path, "items", REQUIRED);
    if (!items)
        return;
    struct path items_path = path_member(path, "items");
    size_t count = json_array_size(items);
    if (count == 0) {
        report(ctx, ROADMAP_ERR_RANGE, items_path.text, "at least one item is required");
        return;
    }
    inst->items = xcalloc(count, sizeof *inst->items);
    inst->n_items = count;
    for (size_t i = 0; i < count; i++)
        parse_item(ctx, json_array_get(items, i), path_index(items_path.text, i).text, i);
}

static void parse_institutionalisation(struct parse_ctx *ctx, json_t *root)
{
    const char *path = "$.institutionalisation";
    struct roadmap_institutionalisation *inst = &ctx->roadmap->institutionalisation;
    json_t *obj = read_object(ctx, root, "$", "institutionalisation", OPTIONAL);
    if (!obj)
        return;
    inst->present = true;
    parse_items(ctx, obj, path);
    parse_plan(ctx, obj, path, PLAN_FRACTION, &inst->plan);
    parse_tolerance(ctx, obj, path, ROADMAP_DEFAULT_FRACTION_BEHIND,
                    ROADMAP_DEFAULT_FRACTION_AT_RISK, &inst->tolerance);
}

static void parse_theme(struct parse_ctx *ctx, json_t *obj, const char *path, size_t index)
{
    struct roadmap_theme *themes = ctx->roadmap->themes;
    if (!json_is_object(obj)) {
        report(ctx, ROADMAP_ERR_TYPE, path, "a theme must be an object with key and name");
        return;
    }
    (void)read_string(ctx, obj, path, "name", OPTIONAL, &themes[index].name);
    if (!read_string(ctx, obj, path, "key", REQUIRED, &themes[index].key))
        return;
    size_t first;
    if (!key_first_use(ctx->theme_keys, themes[index].key, index, &first))
        report(ctx, ROADMAP_ERR_DUPLICATE, path_member(path, "key").text,
               "theme key \"%.64s\" is already used by theme %zu", themes[index].key, first);
}

static void parse_themes(struct parse_ctx *ctx, json_t *root)
{
    struct roadmap *roadmap = ctx->roadmap;
    json_t *themes = read_array(ctx, root, "$", "themes", OPTIONAL);
    size_t count = themes ? json_array_size(themes) : 0;
    if (count == 0)
        return;
    roadmap->themes = xcalloc(count, sizeof *roadmap->themes);
    roadmap->n_themes = count;
    for (size_t i = 0; i < count; i++)
        parse_theme(ctx, json_array_get(themes, i), path_index("$.themes", i).text, i);
}

static void parse_root(struct parse_ctx *ctx, json_t *root)
{
    struct roadmap *roadmap = ctx->roadmap;
    if (!json_is_object(root)) {
        report(ctx, ROADMAP_ERR_TYPE, "$", "a roadmap must be a JSON object");
        return;
    }
    (void)read_string(ctx, root, "$", "programme", OPTIONAL, &roadmap->programme);
    (void)read_string(ctx, root, "$", "label", OPTIONAL, &roadmap->label);
    ctx->has_baseline_date =
        read_date(ctx, root, "$", "baseline_date", REQUIRED, &roadmap->baseline_date);
    parse_themes(ctx, root);
    parse_coverage(ctx, root);
    parse_expansion(ctx, root);
    parse_institutionalisation(ctx, root);
    if (!json_object_get(root, "coverage") && !json_object_get(root, "expansion") &&
        !json_object_get(root, "institutionalisation"))
        report(ctx, ROADMAP_ERR_MISSING, "$",
               "a roadmap must set at least one of coverage, expansion, institutionalisation");
}

static void report_syntax(struct roadmap_errors *errs, const json_error_t *error)
{
    errs->count = 1;
    errs->line = error->line;
    errs->column = error->column;
    errs->position = (size_t)error->position;
    errs->items[0].code = ROADMAP_ERR_SYNTAX;
    snprintf(errs->items[0].path, sizeof errs->items[0].path, "$");
    snprintf(errs->items[0].message, sizeof errs->items[0].message, "%s", error->text);
    utf8_make_valid(errs->items[0].message); /* jansson quotes the bytes it choked on */
}

enum roadmap_status roadmap_parse(const char *json, size_t len,
                                  const struct roadmap_indicator_lookup *lookup,
                                  struct roadmap **out, struct roadmap_errors *errs)
{
    struct roadmap_errors local_errs;
    struct parse_ctx ctx = {.errs = errs ? errs : &local_errs, .lookup = lookup};
    json_error_t error;

    *out = NULL;
    memset(ctx.errs, 0, sizeof *ctx.errs);
    /* jansson allocates through alloc.h: a NULL root is a syntax error, never lack of memory */
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &error);
    if (!root) {
        report_syntax(ctx.errs, &error);
        return ROADMAP_SYNTAX;
    }
    ctx.roadmap = xcalloc(1, sizeof *ctx.roadmap);
    ctx.theme_keys = json_object();
    ctx.item_keys = json_object();
    parse_root(&ctx, root);
    json_decref(ctx.theme_keys);
    json_decref(ctx.item_keys);
    json_decref(root);
    if (ctx.errs->count > 0 || ctx.errs->dropped > 0) {
        roadmap_free(&ctx.roadmap);
        return ROADMAP_INVALID;
    }
    *out = ctx.roadmap;
    return ROADMAP_OK;
}

static void plan_free(struct roadmap_plan *plan)
{
    free(plan->milestones);
    plan->milestones = NULL;
    plan->n_milestones = 0;
}

void roadmap_free(struct roadmap **roadmap)
{
    if (!roadmap || !*roadmap)
        return;
    struct roadmap *r = *roadmap;
    for (size_t i = 0; i < r->n_themes; i++) {
        free(r->themes[i].key);
        free(r->themes[i].name);
    }
    free(r->themes);
    for (size_t i = 0; i < r->institutionalisation.n_items; i++) {
        struct roadmap_item *item = &r->institutionalisation.items[i];
        free(item->key);
        free(item->theme);
        free(item->indicator);
        free(item->name);
    }
    free(r->institutionalisation.items);
    plan_free(&r->institutionalisation.plan);
    plan_free(&r->expansion.sites);
    plan_free(&r->expansion.regions);
    plan_free(&r->coverage.plan);
    free(r->coverage.numerator);
    free(r->coverage.denominator);
    free(r->programme);
    free(r->label);
    free(r);
    *roadmap = NULL;
}

const char *roadmap_error_code_name(enum roadmap_error_code code)
{
    static const char *const names[] = {
        [ROADMAP_ERR_SYNTAX] = "syntax_error",
        [ROADMAP_ERR_MISSING] = "missing_member",
        [ROADMAP_ERR_TYPE] = "wrong_type",
        [ROADMAP_ERR_DATE] = "invalid_date",
        [ROADMAP_ERR_RANGE] = "out_of_range",
        [ROADMAP_ERR_NOT_INTEGER] = "not_integer",
        [ROADMAP_ERR_ORDER] = "milestone_order",
        [ROADMAP_ERR_BEFORE_BASELINE] = "milestone_before_baseline",
        [ROADMAP_ERR_TOLERANCE] = "tolerance_order",
        [ROADMAP_ERR_UNKNOWN_INDICATOR] = "unknown_indicator",
        [ROADMAP_ERR_DIMENSION] = "wrong_dimension",
        [ROADMAP_ERR_VALUE_TYPE] = "wrong_value_type",
        [ROADMAP_ERR_PERIOD_TYPE] = "period_type_mismatch",
        [ROADMAP_ERR_DUPLICATE] = "duplicate_key",
        [ROADMAP_ERR_UNKNOWN_THEME] = "unknown_theme",
        [ROADMAP_ERR_CONFLICT] = "conflicting_members",
    };
    if ((size_t)code < sizeof names / sizeof names[0] && names[code])
        return names[code];
    return "unknown_error";
}

double roadmap_plan_final_target(const struct roadmap_plan *plan)
{
    if (plan->n_milestones == 0)
        return plan->baseline;
    return plan->milestones[plan->n_milestones - 1].target;
}

void roadmap_errors_to_problems(const struct roadmap_errors *errs, json_t **problems)
{
    for (size_t i = 0; i < errs->count; i++)
        problems_add(problems, errs->items[i].path, roadmap_error_code_name(errs->items[i].code),
                     "%s", errs->items[i].message);
}

void roadmap_versions_release(struct roadmap_versions *set)
{
    for (size_t i = 0; i < set->n; i++) {
        free(set->versions[i].label);
        roadmap_free(&set->versions[i].plan);
    }
    free(set->versions);
    free(set->created_days);
    memset(set, 0, sizeof(*set));
}

const struct roadmap_version *roadmap_versions_in_force(const struct roadmap_versions *set,
                                                        int32_t date)
{
    size_t index;
    if (!progress_version_in_force(set->created_days, set->n, date, &index))
        return NULL;
    return &set->versions[index];
}
