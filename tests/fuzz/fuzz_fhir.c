/*
 * libFuzzer target: obs_parse_fhir (both routes' expectations) through the mapping of the test
 * programme (tests/fixtures/fhir/programme-fhir-test.json, copied below), then obs_validate,
 * obs_fhir_reject_partial_entries and fhir_outcome, as services/ingest.c runs them. Checked:
 * a document error leaves no rows and names a code; a parsed batch has one origin per row
 * within its entries, one reject per rejected row, valid C strings; a report is stored whole
 * or not at all; every answer renders, with one error issue per reject.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "scaleupd/core/catalog.h"
#include "scaleupd/core/fhir_map.h"
#include "scaleupd/core/fhir_outcome.h"
#include "scaleupd/core/parse_fhir.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TODAY 20254 /* 2025-06-15 */

static const char programme[] =
    "{\"slug\":\"fhir-test\",\"name\":\"t\",\"sites\":["
    "{\"code\":\"ROOT\",\"name\":\"r\",\"level\":\"country\"},"
    "{\"code\":\"ZW01\",\"name\":\"z\",\"level\":\"practice\",\"parent\":\"ROOT\"},"
    "{\"code\":\"GHH\",\"name\":\"g\",\"level\":\"practice\",\"parent\":\"ROOT\"},"
    "{\"code\":\"ANC-ORG\",\"name\":\"a\",\"level\":\"practice\",\"parent\":\"ROOT\"}],"
    "\"indicators\":["
    "{\"code\":\"art_new\",\"name\":\"a\",\"value_type\":\"count\",\"period_type\":\"monthly\"},"
    "{\"code\":\"strep_tested_pct\",\"name\":\"s\",\"value_type\":\"percentage\","
    "\"period_type\":\"quarterly\"},"
    "{\"code\":\"anc_contact1\",\"name\":\"c\",\"value_type\":\"count\","
    "\"period_type\":\"monthly\"}],"
    "\"fhir\":{\"measures\":["
    "{\"url\":\"http://ohie.org/Measure/hiv-indicators\","
    "\"groups\":[{\"code\":\"QRPH_ADX_ART1_N\",\"indicator\":\"art_new\"}]},"
    "{\"url\":\"Measure/CMS146\",\"groups\":[{\"id\":\"CMS146-group-1\","
    "\"indicator\":\"strep_tested_pct\",\"value\":\"proportion\",\"scale\":100}]},"
    "{\"url\":\"http://fhir.org/guides/who/anc-cds/Measure/anc-ind-01\","
    "\"groups\":[{\"id\":\"group-1\",\"indicator\":\"anc_contact1\",\"value\":\"numerator\"}]}],"
    "\"organizations\":["
    "{\"site\":\"ZW01\",\"reference\":\"Organization/ZW01\"},"
    "{\"site\":\"GHH\",\"reference\":\"#reporter\"},"
    "{\"site\":\"ANC-ORG\",\"reference\":\"Organization/anc-organization-example\"},"
    "{\"site\":\"ANC-ORG\",\"identifier\":{\"system\":\"s\",\"value\":\"v\"}}]}}";

static struct fhir_map *map;
static struct catalog *cat;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    json_t *doc = json_loads(programme, 0, NULL), *problems = NULL;
    FUZZ_CHECK(doc != NULL);
    map = fhir_map_from_doc(doc, &problems);
    FUZZ_CHECK(map != NULL && problems == NULL);
    json_decref(doc);
    cat = catalog_new();
    FUZZ_CHECK(
        catalog_add_indicator(cat, "art_new", 1, VALUE_COUNT, PERIOD_MONTHLY) &&
        catalog_add_indicator(cat, "strep_tested_pct", 2, VALUE_PERCENTAGE, PERIOD_QUARTERLY) &&
        catalog_add_indicator(cat, "anc_contact1", 3, VALUE_COUNT, PERIOD_MONTHLY) &&
        catalog_add_site(cat, "ZW01", 11, true) && catalog_add_site(cat, "GHH", 12, true) &&
        catalog_add_site(cat, "ANC-ORG", 13, true));
    return 0;
}

static void check_batch(const struct obs_batch *b)
{
    const struct obs_fhir *f = b->fhir;
    FUZZ_CHECK(b->n_rows >= 1 && f->n_origins == b->n_rows && f->n_entries >= 1);
    size_t rejected = 0;
    for (size_t i = 0; i < b->n_rows; i++) {
        const struct obs_row *r = &b->rows[i];
        const struct obs_fhir_origin *o = &f->origins[i];
        FUZZ_CHECK(r->row == i + 1);
        FUZZ_CHECK(o->entry < (int32_t)f->n_entries && o->entry >= -1 && o->group >= -1);
        FUZZ_CHECK(f->kind != FHIR_KIND_MEASURE_REPORT || o->entry == -1);
        FUZZ_CHECK(i == 0 || o->entry >= f->origins[i - 1].entry);
        FUZZ_CHECK(o->group >= 0 || r->rejected); /* a report refused whole has no values */
        rejected += r->rejected;
        if (!r->rejected)
            FUZZ_CHECK(r->indicator[0] != '\0' && r->site[0] != '\0');
    }
    FUZZ_CHECK(b->n_rejects == rejected);
    for (size_t i = 0; i < b->n_rejects; i++) {
        const struct obs_reject *r = &b->rejects[i];
        FUZZ_CHECK(r->row >= 1 && r->row <= b->n_rows && b->rows[r->row - 1].rejected);
        FUZZ_CHECK(fuzz_terminated(r->code, sizeof r->code) && r->code[0] != '\0');
        FUZZ_CHECK(fuzz_terminated(r->message, sizeof r->message));
        FUZZ_CHECK(fuzz_utf8_valid(r->message));
    }
}

/* After the whole-report rule: an entry is all accepted or all rejected. */
static void check_whole_reports(const struct obs_batch *b)
{
    for (size_t i = 1; i < b->n_rows; i++)
        if (b->fhir->origins[i].entry == b->fhir->origins[i - 1].entry)
            FUZZ_CHECK(b->rows[i].rejected == b->rows[i - 1].rejected);
    for (size_t i = 1; i < b->n_rejects; i++)
        FUZZ_CHECK(b->rejects[i - 1].row < b->rejects[i].row);
}

/* The answer renders and carries one error issue per reject (in the outcome or the entries). */
static void check_answer(const struct obs_batch *b)
{
    struct fhir_counts counts = {(long long)obs_batch_accepted(b), 0, 0};
    int status = 0;
    bool *existed = calloc(b->n_rows + 1, sizeof(*existed)); /* every row new */
    FUZZ_CHECK(existed != NULL);
    json_t *answer = fhir_outcome(b, &counts, existed, true, false, &status);
    free(existed);
    FUZZ_CHECK(answer != NULL &&
               (status == 200 || status == 201 || status == 400 || status == 422));
    size_t errors = 0, i;
    const json_t *entry, *issue;
    json_array_foreach(json_object_get(answer, "entry"), i, entry)
    {
        const json_t *outcome = json_object_get(json_object_get(entry, "response"), "outcome");
        errors += json_array_size(json_object_get(outcome, "issue"));
    }
    json_array_foreach(json_object_get(answer, "issue"), i, issue)
    {
        errors += strcmp(json_string_value(json_object_get(issue, "severity")), "error") == 0;
    }
    FUZZ_CHECK(errors == b->n_rejects);
    char *text = json_dumps(answer, JSON_COMPACT);
    FUZZ_CHECK(text != NULL);
    free(text);
    json_decref(answer);
}

static void one_input(const char *body, size_t size, enum fhir_expect expect)
{
    struct obs_batch *b = obs_batch_new();
    struct obs_parse_error err;
    enum obs_parse_status st = obs_parse_fhir(body, size, expect, map, b, &err);
    FUZZ_CHECK(obs_parse_fhir(body, size, expect, map, b, &err) == st); /* reuse of a batch */
    if (st != OBS_PARSE_OK) {
        FUZZ_CHECK(b->n_rows == 0 && b->n_rejects == 0);
        FUZZ_CHECK(fuzz_terminated(err.code, sizeof err.code) && err.code[0] != '\0');
        FUZZ_CHECK(fuzz_terminated(err.message, sizeof err.message));
        FUZZ_CHECK(fuzz_utf8_valid(err.message));
    } else {
        check_batch(b);
        FUZZ_CHECK(obs_validate(b, cat, TODAY));
        obs_fhir_reject_partial_entries(b);
        check_batch(b);
        check_whole_reports(b);
        check_answer(b);
    }
    obs_batch_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *body = malloc(size ? size : 1);
    FUZZ_CHECK(body != NULL);
    memcpy(body, data, size);
    one_input(body, size, FHIR_EXPECT_MEASURE_REPORT);
    one_input(body, size, FHIR_EXPECT_BUNDLE);
    free(body);
    return 0;
}
