/*
 * The batch of the ingest parser: its lifetime (new, reset, free), the memory behind it
 * (rows, rejects, the comment arena; the JSON token array is parse_json_doc.c's) and the
 * frame every parse runs in. Out of memory is fatal (alloc.h); what input can grow is
 * bounded: rows and rejects by OBS_MAX_ROWS, the arena by the size of the body.
 */
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/alloc.h"
#include "scaleupd/core/parse_fhir.h"

#include "parse_internal.h"

#define ARENA_BLOCK_SIZE 65536

struct obs_arena_block {
    struct obs_arena_block *next;
    size_t used;
    size_t cap;
    char data[];
};

void parse_reject_push(struct obs_batch *b, struct obs_row *row, const struct obs_reject *r)
{
    row->rejected = true;
    if (b->n_rejects == b->rejects_cap) {
        /* at most one reject per row, so at most OBS_MAX_ROWS */
        b->rejects_cap = b->rejects_cap ? b->rejects_cap * 2 : 16;
        b->rejects = xrealloc(b->rejects, b->rejects_cap * sizeof *b->rejects);
    }
    b->rejects[b->n_rejects++] = *r;
}

void obs_batch_reject(struct obs_batch *b, size_t index, const char *field, const char *code,
                      const char *message)
{
    struct obs_row *row = &b->rows[index];
    struct obs_reject r;
    parse_problem(&r, row, field, code, "%s", message);
    parse_reject_push(b, row, &r);
}

void obs_dhis2_require_values(struct obs_batch *b, bool all_deleted)
{
    for (size_t i = 0; i < b->n_rows; i++) {
        const struct obs_row *row = &b->rows[i];
        if (!row->rejected && row->value_missing && !all_deleted && !row->deleted)
            obs_batch_reject(b, i, "value", "missing_field", "value is required");
    }
}

char *parse_arena_alloc(struct obs_batch *b, size_t n)
{
    struct obs_arena_block *block = b->arena;
    if (block == NULL || block->cap - block->used < n) {
        size_t cap = n > ARENA_BLOCK_SIZE ? n : ARENA_BLOCK_SIZE;
        block = xmalloc(sizeof *block + cap);
        block->next = b->arena;
        block->used = 0;
        block->cap = cap;
        b->arena = block;
    }
    char *p = block->data + block->used;
    block->used += n;
    return p;
}

void parse_rows_reserve(struct obs_batch *b, size_t want)
{
    if (want <= b->rows_cap)
        return;
    size_t cap = b->rows_cap ? b->rows_cap : 256;
    while (cap < want)
        cap *= 2;
    b->rows = xrealloc(b->rows, cap * sizeof *b->rows);
    b->rows_cap = cap;
}

struct obs_dhis2_group *parse_group_add(struct obs_batch *b)
{
    if (b->n_groups == b->groups_cap) {
        b->groups_cap = b->groups_cap ? b->groups_cap * 2 : 4;
        b->groups = xrealloc(b->groups, b->groups_cap * sizeof(*b->groups));
    }
    struct obs_dhis2_group *g = &b->groups[b->n_groups++];
    memset(g, 0, sizeof(*g));
    return g;
}

bool parse_group_text(char *dst, size_t size, const char *text, size_t len)
{
    if (len >= size) {
        dst[0] = '\0';
        return false;
    }
    memcpy(dst, text, len);
    dst[len] = '\0';
    return true;
}

struct obs_row *parse_row_slot(struct obs_batch *b)
{
    parse_rows_reserve(b, b->n_rows + 1);
    struct obs_row *row = &b->rows[b->n_rows];
    *row = (struct obs_row){.row = (uint32_t)b->n_rows + 1};
    return row;
}

struct obs_batch *obs_batch_new(void)
{
    return xcalloc(1, sizeof(struct obs_batch));
}

void obs_batch_reset(struct obs_batch *b)
{
    while (b->arena != NULL) {
        struct obs_arena_block *next = b->arena->next;
        free(b->arena);
        b->arena = next;
    }
    b->n_rows = 0;
    b->n_set_options = 0;
    b->n_groups = 0;
    obs_fhir_reset(b->fhir);
    b->n_rejects = 0;
}

void obs_batch_free(struct obs_batch **batch)
{
    if (batch == NULL || *batch == NULL)
        return;
    obs_batch_reset(*batch);
    free((*batch)->rows);
    free((*batch)->rejects);
    free((*batch)->groups);
    free((*batch)->tokens);
    obs_fhir_free(&(*batch)->fhir);
    free(*batch);
    *batch = NULL;
}

size_t obs_batch_accepted(const struct obs_batch *b)
{
    size_t accepted = 0;
    for (size_t i = 0; i < b->n_rows; i++)
        accepted += !b->rows[i].rejected;
    return accepted;
}

size_t obs_batch_parse_work(const struct obs_batch *b)
{
    return b->work;
}

void parse_begin(struct obs_batch *b, struct obs_parse_error *err, enum obs_format format)
{
    obs_batch_reset(b);
    b->format = format;
    b->work = 0;
    memset(err, 0, sizeof *err);
}

enum obs_parse_status parse_end(struct obs_batch *b, enum obs_parse_status status)
{
    if (status != OBS_PARSE_OK)
        obs_batch_reset(b);
    return status;
}
