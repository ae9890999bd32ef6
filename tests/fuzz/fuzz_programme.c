/*
 * libFuzzer target: a programme document as POST /api/v1/programmes and scaleupctl read it
 * (json_loadb with duplicates refused, then programme_doc_validate of core/programme_doc.c).
 * Checks that the problems are a non-empty list of {path, code, message} and that a
 * document found valid has the slug, codes and parents programme_doc.h promises.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_check.h"
#include "scaleupd/core/programme_doc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ^[a-z0-9][a-z0-9-]{0,62}$ */
static bool slug_ok(const char *slug)
{
    size_t len = strlen(slug);
    return len >= 1 && len <= 63 && slug[0] != '-' &&
           strspn(slug, "abcdefghijklmnopqrstuvwxyz0123456789-") == len;
}

/* 1-63 printable ASCII bytes, no space, comma or double quote */
static bool code_ok(const char *code)
{
    size_t len = strlen(code);
    if (len == 0 || len > 63)
        return false;
    for (size_t i = 0; i < len; i++)
        if (code[i] <= ' ' || code[i] == ',' || code[i] == '"' || code[i] >= 0x7f)
            return false;
    return true;
}

/* A valid document: its slug, its site codes (unique), and parents among them. */
static void check_valid(const json_t *doc)
{
    FUZZ_CHECK(json_is_object(doc));
    FUZZ_CHECK(slug_ok(json_string_value(json_object_get(doc, "slug"))));
    const json_t *sites = json_object_get(doc, "sites");
    json_t *codes = json_object();
    size_t i;
    const json_t *site;
    json_array_foreach(sites, i, site)
    {
        const char *code = json_string_value(json_object_get(site, "code"));
        FUZZ_CHECK(code != NULL && code_ok(code) && json_object_get(codes, code) == NULL);
        json_object_set_new(codes, code, json_true());
    }
    json_array_foreach(sites, i, site)
    {
        const json_t *parent = json_object_get(site, "parent");
        FUZZ_CHECK(parent == NULL || json_object_get(codes, json_string_value(parent)) != NULL);
        FUZZ_CHECK(parent == NULL || !json_equal(parent, json_object_get(site, "code")));
    }
    json_decref(codes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (doc == NULL)
        return 0; /* the route answers 400 before the validator */
    json_t *problems = programme_doc_validate(doc);
    fuzz_check_problems(problems, true, "");
    if (problems == NULL)
        check_valid(doc);
    json_decref(problems);
    json_decref(doc);
    return 0;
}
