/*
 * libFuzzer target: a silence document as POST …/silences reads it (json_loadb with
 * duplicates refused, then silence_doc_parse of core/silence_doc.c), and the whole input as
 * one RFC 3339 time for silence_doc_time. Checks that the problems are a non-empty list of
 * {path, code, message} and that a valid silence is what silence_doc.h promises.
 */
#include <jansson.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "scaleupd/core/silence_doc.h"
#include "scaleupd/core/silence_match.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW 1750000000.0 /* 2025-06-15T15:06:40Z */

/* Years 1..9999 with zones of at most ±15:59, the range of the four-digit form */
#define EPOCH_MIN (-62135596800.0 - 86400.0)
#define EPOCH_MAX (253402300800.0 + 86400.0)

static void check_valid(const json_t *doc, const struct silence_doc *s)
{
    FUZZ_CHECK(json_is_array(s->matchers) && json_array_size(s->matchers) > 0);
    /* the stored form compiles, as a read will compile it */
    struct silence_matchers compiled;
    char why[160];
    FUZZ_CHECK(silence_matchers_compile(s->matchers, &compiled, why, sizeof(why)));
    FUZZ_CHECK(compiled.n == json_array_size(s->matchers));
    silence_matchers_free(&compiled);
    FUZZ_CHECK(isfinite(s->starts_at) && isfinite(s->ends_at) && s->ends_at > s->starts_at);
    FUZZ_CHECK(s->author != NULL && s->author[0] != '\0');
    FUZZ_CHECK(s->reason != NULL);
    FUZZ_CHECK(json_object_get(doc, "starts_at") != NULL || s->starts_at == NOW);
}

/* The input as a time: when it is one, a finite instant within the four-digit years. */
static void check_time(const uint8_t *data, size_t size)
{
    char *text = fuzz_strndup(data, size);
    double epoch = NAN;
    if (silence_doc_time(text, &epoch) == SILENCE_TIME_OK)
        FUZZ_CHECK(isfinite(epoch) && epoch >= EPOCH_MIN && epoch <= EPOCH_MAX);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_time(data, size);
    json_t *doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (doc == NULL)
        return 0; /* the route answers 400 before the validator */
    struct silence_doc silence;
    json_t *problems = silence_doc_parse(doc, NOW, &silence);
    fuzz_check_problems(problems, true, "");
    if (problems == NULL)
        check_valid(doc, &silence);
    silence_doc_clear(&silence);
    json_decref(problems);
    json_decref(doc);
    return 0;
}
