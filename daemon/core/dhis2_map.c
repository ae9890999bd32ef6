/* The DHIS2 identifier map of a programme (dhis2_map.h): two sorted tables, data element and
 * combination to indicator code, organisation unit to site code, looked up by binary search
 * for each row of a batch. */
#include "scaleupd/core/dhis2_map.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/alloc.h"
#include "scaleupd/core/utf8.h"

struct map_entry {
    char *uid;
    char *combo; /* "" for the default combination and for organisation units */
    char *code;
};

struct map_table {
    struct map_entry *entries;
    size_t n, cap;
    bool sorted;
};

struct dhis2_map {
    struct map_table data_elements;
    struct map_table org_units;
};

struct dhis2_map *dhis2_map_new(void)
{
    return xcalloc(1, sizeof(struct dhis2_map));
}

static void table_free(struct map_table *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->entries[i].uid);
        free(t->entries[i].combo);
        free(t->entries[i].code);
    }
    free(t->entries);
}

void dhis2_map_free(struct dhis2_map **map)
{
    if (map == NULL || *map == NULL)
        return;
    table_free(&(*map)->data_elements);
    table_free(&(*map)->org_units);
    free(*map);
    *map = NULL;
}

bool dhis2_is_default_combo(const char *text)
{
    return text[0] == '\0' || strcmp(text, DHIS2_DEFAULT_COMBO_UID) == 0 ||
           strcmp(text, "default") == 0;
}

static void table_add(struct map_table *t, const char *uid, const char *combo, const char *code)
{
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 16;
        t->entries = xrealloc(t->entries, t->cap * sizeof(*t->entries));
    }
    t->entries[t->n++] = (struct map_entry){xstrdup(uid), xstrdup(combo), xstrdup(code)};
    t->sorted = false;
}

void dhis2_map_add_data_element(struct dhis2_map *map, const char *uid, const char *combo,
                                const char *indicator)
{
    table_add(&map->data_elements, uid, dhis2_is_default_combo(combo) ? "" : combo, indicator);
}

void dhis2_map_add_org_unit(struct dhis2_map *map, const char *uid, const char *site)
{
    table_add(&map->org_units, uid, "", site);
}

static int compare_entry(const void *a, const void *b)
{
    const struct map_entry *x = a, *y = b;
    int c = strcmp(x->uid, y->uid);
    return c != 0 ? c : strcmp(x->combo, y->combo);
}

static void table_sort(struct map_table *t)
{
    if (!t->sorted && t->n > 1)
        qsort(t->entries, t->n, sizeof(*t->entries), compare_entry);
    t->sorted = true;
}

/* The entry of (uid, combo), or NULL. */
static const struct map_entry *table_find(const struct map_table *t, const char *uid,
                                          const char *combo)
{
    struct map_entry key = {(char *)uid, (char *)combo, NULL};
    return t->n == 0 ? NULL : bsearch(&key, t->entries, t->n, sizeof(*t->entries), compare_entry);
}

/* Whether uid is mapped with any combination. */
static bool table_has_uid(const struct map_table *t, const char *uid)
{
    size_t lo = 0, hi = t->n;
    while (lo < hi) { /* the first entry whose uid is not below uid */
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(t->entries[mid].uid, uid) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < t->n && strcmp(t->entries[lo].uid, uid) == 0;
}

/* Rejects row for field with code and a message quoting its value. */
static void reject(struct obs_batch *b, struct obs_row *row, const char *field, const char *code,
                   const char *what, const char *value)
{
    char shown[48], message[200];
    text_printable(value, shown, sizeof(shown));
    snprintf(message, sizeof(message), "%s \"%s\" %s", field, shown, what);
    obs_batch_reject(b, row->row - 1, field, code, message);
}

/* The data element of row under scheme: rewritten to its indicator code, left, or rejected. */
static void map_data_element(struct obs_batch *b, struct obs_row *row, const struct map_table *t,
                             enum dhis2_id_scheme scheme)
{
    const char *combo = row->category_option_combo;
    bool default_combo = dhis2_is_default_combo(combo);
    if (scheme == DHIS2_SCHEME_CODE) {
        if (!default_combo)
            reject(b, row, "categoryOptionCombo", "not_mapped",
                   "is not mapped: with dataElementIdScheme=CODE only the default combination",
                   combo);
        return;
    }
    const struct map_entry *e = table_find(t, row->indicator, default_combo ? "" : combo);
    if (e != NULL) {
        snprintf(row->indicator, sizeof(row->indicator), "%s", e->code);
        return;
    }
    if (table_has_uid(t, row->indicator)) {
        if (default_combo)
            reject(b, row, "categoryOptionCombo", "missing_field",
                   "is required: the data element is mapped by combination only", combo);
        else
            reject(b, row, "categoryOptionCombo", "not_mapped",
                   "is not mapped with this data element to an indicator of the programme", combo);
    } else if (scheme == DHIS2_SCHEME_UID) {
        reject(b, row, "dataElement", "not_mapped",
               "is not mapped to an indicator of the programme (dhis2.dataElement)",
               row->indicator);
    } else if (!default_combo) {
        reject(b, row, "categoryOptionCombo", "not_mapped",
               "is not mapped: the data element is no mapped UID", combo);
    }
}

static void map_org_unit(struct obs_batch *b, struct obs_row *row, const struct map_table *t,
                         enum dhis2_id_scheme scheme)
{
    if (scheme == DHIS2_SCHEME_CODE)
        return;
    const struct map_entry *e = table_find(t, row->site, "");
    if (e != NULL)
        snprintf(row->site, sizeof(row->site), "%s", e->code);
    else if (scheme == DHIS2_SCHEME_UID)
        reject(b, row, "orgUnit", "not_mapped",
               "is not mapped to a site of the programme (dhis2.orgUnit)", row->site);
}

void dhis2_map_apply(struct obs_batch *batch, struct dhis2_map *map,
                     enum dhis2_id_scheme data_element_scheme, enum dhis2_id_scheme org_unit_scheme)
{
    table_sort(&map->data_elements);
    table_sort(&map->org_units);
    for (size_t i = 0; i < batch->n_rows; i++) {
        struct obs_row *row = &batch->rows[i];
        if (!row->rejected)
            map_data_element(batch, row, &map->data_elements, data_element_scheme);
        if (!row->rejected)
            map_org_unit(batch, row, &map->org_units, org_unit_scheme);
    }
}
