/* The "dhis2" members of a programme document's indicators and sites (programme_dhis2.h):
 * checked here, apart from the rest of the document (core/programme_doc.c calls in), so that
 * other mappings of the document stay in their own files. */
#include "scaleupd/core/programme_dhis2.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/problems.h"

bool dhis2_uid_valid(const char *text)
{
    if (text == NULL || strlen(text) != 11)
        return false;
    for (int i = 0; i < 11; i++) {
        char c = text[i];
        bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        if (!letter && (i == 0 || c < '0' || c > '9'))
            return false;
    }
    return true;
}

bool dhis2_category_text_valid(const char *text)
{
    size_t n = strlen(text);
    if (n == 0 || n > 63)
        return false;
    for (size_t i = 0; i < n; i++)
        if (text[i] < 0x20 || text[i] > 0x7e || strchr(",={}", text[i]) != NULL)
            return false;
    return true;
}

static int compare_text(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

bool dhis2_categories_key(const json_t *options, char *key, size_t size)
{
    const char *names[8];
    size_t n = 0, used = 0;
    const char *name;
    const json_t *v;
    json_object_foreach((json_t *)options, name, v)
    {
        const char *option = json_string_value(v);
        if (n == 8 || option == NULL || !dhis2_category_text_valid(name) ||
            !dhis2_category_text_valid(option))
            return false;
        names[n++] = name;
    }
    if (n == 0)
        return false;
    qsort(names, n, sizeof(names[0]), compare_text);
    for (size_t i = 0; i < n; i++) {
        int w = snprintf(key + used, size - used, "%c%s=%s", i ? ',' : '{', names[i],
                         json_string_value(json_object_get(options, names[i])));
        if (w < 0 || (size_t)w >= size - used)
            return false;
        used += (size_t)w;
    }
    return used + 1 < size && snprintf(key + used, size - used, "}") == 1;
}

/* Checks that the members of dhis2 (at path) are among names. */
static void only_members(json_t **problems, const json_t *dhis2, const char *path,
                         const char *const *names)
{
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)dhis2, key, v)
    {
        bool known = false;
        for (size_t i = 0; names[i] != NULL; i++)
            known = known || strcmp(key, names[i]) == 0;
        if (!known)
            problems_add(problems, path, "unknown_member",
                         "dhis2 has no member \"%.60s\" (members: %s%s%s)", key, names[0],
                         names[1] ? ", " : "", names[1] ? names[1] : "");
    }
}

/* The UID member name of dhis2 (at path), or NULL with a problem when it is not one;
 * required or not. */
static const char *uid_member(json_t **problems, const json_t *dhis2, const char *path,
                              const char *name, bool required)
{
    const json_t *v = json_object_get(dhis2, name);
    char at[128];
    snprintf(at, sizeof(at), "%s.%s", path, name);
    if (v == NULL) {
        if (required)
            problems_add(problems, at, "missing_field", "%s is required", name);
        return NULL;
    }
    const char *text = json_string_value(v);
    if (!dhis2_uid_valid(text)) {
        problems_add(problems, at, "invalid_value",
                     "%s must be a DHIS2 UID (11 letters and digits, the first a letter)", name);
        return NULL;
    }
    return text;
}

/* The "dhis2" of element i of list (the document's "indicators" or "sites"), or NULL. */
static const json_t *dhis2_of(json_t **problems, const json_t *list, size_t i, const char *what,
                              char *path, size_t size)
{
    const json_t *item = json_array_get(list, i);
    const json_t *dhis2 = json_is_object(item) ? json_object_get(item, "dhis2") : NULL;
    snprintf(path, size, "$.%s[%zu].dhis2", what, i);
    if (dhis2 != NULL && !json_is_object(dhis2)) {
        problems_add(problems, path, "invalid_type", "dhis2 must be an object");
        return NULL;
    }
    return dhis2;
}

/* Records key in seen, or a duplicate_code problem when it is there already. */
static void once(json_t **problems, json_t *seen, const char *key, const char *path,
                 const char *what)
{
    if (json_object_get(seen, key) != NULL)
        problems_add(problems, path, "duplicate_code", "%s \"%s\" is mapped twice", what, key);
    else
        json_object_set_new(seen, key, json_true());
}

/* An indicator's "categoryOptions" (ADX's categories of its combination), if any. */
static void validate_categories(json_t **problems, const json_t *dhis2, const char *path,
                                const char *de, json_t *seen)
{
    const json_t *options = json_object_get(dhis2, "categoryOptions");
    char at[112], combo[64], key[96];
    if (options == NULL)
        return;
    snprintf(at, sizeof(at), "%s.categoryOptions", path);
    if (!json_is_object(options) || !dhis2_categories_key(options, combo, sizeof(combo))) {
        problems_add(problems, at, "invalid_value",
                     "categoryOptions must map 1 to 8 category codes to option codes (text "
                     "without , = { }), at most 63 bytes as {CATEGORY=OPTION,...}");
        return;
    }
    snprintf(key, sizeof(key), "%s.%s", de, combo);
    once(problems, seen, key, at, "data element and categories");
}

static void validate_indicators(json_t **problems, const json_t *indicators)
{
    static const char *const names[] = {"dataElement", "categoryOptionCombo", "categoryOptions",
                                        NULL};
    json_t *seen = json_object();
    for (size_t i = 0; i < json_array_size(indicators); i++) {
        char path[96], key[40];
        const json_t *dhis2 = dhis2_of(problems, indicators, i, "indicators", path, sizeof(path));
        if (dhis2 == NULL)
            continue;
        only_members(problems, dhis2, path, names);
        const char *de = uid_member(problems, dhis2, path, "dataElement", true);
        const json_t *combo = json_object_get(dhis2, "categoryOptionCombo");
        const char *coc = "";
        if (combo != NULL &&
            !(json_is_string(combo) && strcmp(json_string_value(combo), "default") == 0))
            coc = uid_member(problems, dhis2, path, "categoryOptionCombo", false);
        if (de == NULL || coc == NULL)
            continue;
        if (strcmp(coc, "HllvX50cXC0") == 0)
            coc = "";
        snprintf(key, sizeof(key), "%s%s%s", de, coc[0] ? "." : "", coc);
        once(problems, seen, key, path, "data element and combination");
        validate_categories(problems, dhis2, path, de, seen);
    }
    json_decref(seen);
}

static void validate_sites(json_t **problems, const json_t *sites)
{
    static const char *const names[] = {"orgUnit", NULL};
    json_t *seen = json_object();
    for (size_t i = 0; i < json_array_size(sites); i++) {
        char path[96];
        const json_t *dhis2 = dhis2_of(problems, sites, i, "sites", path, sizeof(path));
        if (dhis2 == NULL)
            continue;
        only_members(problems, dhis2, path, names);
        const char *ou = uid_member(problems, dhis2, path, "orgUnit", true);
        if (ou != NULL)
            once(problems, seen, ou, path, "organisation unit");
    }
    json_decref(seen);
}

/* One data set of the programme's "dhis2": {"dataSets": [...]}. */
static void validate_data_set(json_t **problems, const json_t *set, size_t i, json_t *seen)
{
    static const char *const names[] = {"id", "code", NULL};
    char path[96], at[112];
    snprintf(path, sizeof(path), "$.dhis2.dataSets[%zu]", i);
    if (!json_is_object(set)) {
        problems_add(problems, path, "invalid_type", "a data set must be an object");
        return;
    }
    only_members(problems, set, path, names);
    const char *uid = uid_member(problems, set, path, "id", true);
    if (uid != NULL)
        once(problems, seen, uid, path, "data set");
    const json_t *code = json_object_get(set, "code");
    snprintf(at, sizeof(at), "%s.code", path);
    if (code == NULL)
        return;
    const char *text = json_string_value(code);
    if (text == NULL || text[0] == '\0' || strlen(text) > 63) {
        problems_add(problems, at, "invalid_value", "code must be a string of 1 to 63 bytes");
        return;
    }
    char key[80];
    snprintf(key, sizeof(key), "code:%s", text);
    once(problems, seen, key, at, "data set code");
}

/* The programme's own "dhis2": {"dataSets": [{"id": UID, "code"?}]}. */
static void validate_programme(json_t **problems, const json_t *dhis2)
{
    static const char *const names[] = {"dataSets", NULL};
    if (!json_is_object(dhis2)) {
        problems_add(problems, "$.dhis2", "invalid_type", "dhis2 must be an object");
        return;
    }
    only_members(problems, dhis2, "$.dhis2", names);
    const json_t *sets = json_object_get(dhis2, "dataSets");
    if (sets != NULL && !json_is_array(sets)) {
        problems_add(problems, "$.dhis2.dataSets", "invalid_type", "dataSets must be an array");
        return;
    }
    json_t *seen = json_object();
    for (size_t i = 0; i < json_array_size(sets); i++)
        validate_data_set(problems, json_array_get(sets, i), i, seen);
    json_decref(seen);
}

void programme_dhis2_validate(json_t **problems, const json_t *doc)
{
    const json_t *dhis2 = json_object_get(doc, "dhis2");
    if (dhis2 != NULL)
        validate_programme(problems, dhis2);
    const json_t *indicators = json_object_get(doc, "indicators");
    const json_t *sites = json_object_get(doc, "sites");
    if (json_is_array(indicators))
        validate_indicators(problems, indicators);
    if (json_is_array(sites))
        validate_sites(problems, sites);
}
