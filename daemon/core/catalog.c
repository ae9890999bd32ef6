/*
 * A programme's indicators and sites by code, for the ingest validator. Each kind lives in
 * a dense array of entries indexed by an open-addressing hash table (linear probing, kept
 * at most half full), so lookups stay O(1) with thousands of sites. Out of memory is fatal
 * (alloc.h); a catalog grows only with what the database holds for one programme.
 */
#include "scaleupd/core/catalog.h"

#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/alloc.h"

struct slot {
    uint32_t hash;
    uint32_t entry; /* index into entries plus one; 0 = empty slot */
};

/* Entries of one kind; each entry begins with its NUL-terminated code. */
struct code_table {
    char *entries;
    size_t entry_size;
    size_t count;
    size_t capacity;
    struct slot *slots;
    size_t n_slots; /* power of two, or 0 before the first insert */
};

struct catalog {
    struct code_table indicators;
    struct code_table sites;
};

/* FNV-1a, 32 bits: short codes, few collisions, cheap. */
static uint32_t code_hash(const char *code, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)code[i];
        h *= 16777619u;
    }
    return h;
}

static char *table_entry(const struct code_table *t, size_t index)
{
    return t->entries + index * t->entry_size;
}

/* Index of the entry with that code, or SIZE_MAX. */
static size_t table_find(const struct code_table *t, const char *code, size_t len, uint32_t hash)
{
    if (t->n_slots == 0 || len > CATALOG_CODE_MAX)
        return SIZE_MAX;
    size_t mask = t->n_slots - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
        const struct slot *s = &t->slots[i];
        if (s->entry == 0)
            return SIZE_MAX;
        if (s->hash != hash)
            continue;
        const char *entry_code = table_entry(t, s->entry - 1);
        if (memcmp(entry_code, code, len) == 0 && entry_code[len] == '\0')
            return s->entry - 1;
    }
}

static void table_place(struct slot *slots, size_t n_slots, uint32_t hash, uint32_t entry)
{
    size_t mask = n_slots - 1;
    size_t i = hash & mask;
    while (slots[i].entry != 0)
        i = (i + 1) & mask;
    slots[i].hash = hash;
    slots[i].entry = entry;
}

/* Makes room for one more entry: grows the entry array and, past half full, the slots. */
static void table_reserve(struct code_table *t)
{
    if (t->count == t->capacity) {
        t->capacity = t->capacity ? t->capacity * 2 : 16;
        t->entries = xrealloc(t->entries, t->capacity * t->entry_size);
    }
    if ((t->count + 1) * 2 <= t->n_slots)
        return;
    size_t n_slots = t->n_slots ? t->n_slots * 2 : 32;
    struct slot *slots = xcalloc(n_slots, sizeof *slots);
    for (size_t i = 0; i < t->n_slots; i++) {
        if (t->slots[i].entry != 0)
            table_place(slots, n_slots, t->slots[i].hash, t->slots[i].entry);
    }
    free(t->slots);
    t->slots = slots;
    t->n_slots = n_slots;
}

/* The entry for code, new (zeroed but for its code) or existing; NULL for an empty or too
 * long code. */
static char *table_upsert(struct code_table *t, const char *code)
{
    size_t len = strlen(code);
    if (len == 0 || len > CATALOG_CODE_MAX)
        return NULL;
    uint32_t hash = code_hash(code, len);
    size_t found = table_find(t, code, len, hash);
    if (found != SIZE_MAX)
        return table_entry(t, found);
    table_reserve(t);
    char *entry = table_entry(t, t->count);
    memset(entry, 0, t->entry_size);
    memcpy(entry, code, len + 1);
    t->count++;
    table_place(t->slots, t->n_slots, hash, (uint32_t)t->count);
    return entry;
}

static const char *table_lookup(const struct code_table *t, const char *code, size_t len)
{
    if (len > CATALOG_CODE_MAX)
        return NULL;
    size_t found = table_find(t, code, len, code_hash(code, len));
    return found == SIZE_MAX ? NULL : table_entry(t, found);
}

static void table_free(struct code_table *t)
{
    free(t->entries);
    free(t->slots);
}

bool value_type_from_name(const char *name, enum value_type *out)
{
    static const enum value_type types[] = {VALUE_COUNT, VALUE_PERCENTAGE, VALUE_RATIO,
                                            VALUE_SCORE};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        if (strcmp(name, value_type_name(types[i])) == 0) {
            *out = types[i];
            return true;
        }
    }
    return false;
}

const char *value_type_name(enum value_type type)
{
    switch (type) {
    case VALUE_COUNT:
        return "count";
    case VALUE_PERCENTAGE:
        return "percentage";
    case VALUE_RATIO:
        return "ratio";
    case VALUE_SCORE:
        return "score";
    }
    return "unknown";
}

struct catalog *catalog_new(void)
{
    struct catalog *cat = xcalloc(1, sizeof *cat);
    cat->indicators.entry_size = sizeof(struct catalog_indicator);
    cat->sites.entry_size = sizeof(struct catalog_site);
    return cat;
}

void catalog_free(struct catalog **cat)
{
    if (cat == NULL || *cat == NULL)
        return;
    table_free(&(*cat)->indicators);
    table_free(&(*cat)->sites);
    free(*cat);
    *cat = NULL;
}

bool catalog_add_indicator(struct catalog *cat, const char *code, int64_t id,
                           enum value_type value_type, enum period_type period_type)
{
    struct catalog_indicator *entry =
        (struct catalog_indicator *)table_upsert(&cat->indicators, code);
    if (entry == NULL)
        return false;
    entry->id = id;
    entry->value_type = value_type;
    entry->period_type = period_type;
    return true;
}

bool catalog_add_site(struct catalog *cat, const char *code, int64_t id, bool member)
{
    struct catalog_site *entry = (struct catalog_site *)table_upsert(&cat->sites, code);
    if (entry == NULL)
        return false;
    entry->id = id;
    entry->member = member;
    return true;
}

const struct catalog_indicator *catalog_find_indicator(const struct catalog *cat, const char *code,
                                                       size_t len)
{
    return (const struct catalog_indicator *)table_lookup(&cat->indicators, code, len);
}

const struct catalog_site *catalog_find_site(const struct catalog *cat, const char *code,
                                             size_t len)
{
    return (const struct catalog_site *)table_lookup(&cat->sites, code, len);
}

size_t catalog_indicator_count(const struct catalog *cat)
{
    return cat->indicators.count;
}

size_t catalog_site_count(const struct catalog *cat)
{
    return cat->sites.count;
}
