/*
 * Shared by the libFuzzer targets of tests/fuzz: FUZZ_CHECK turns a broken contract of the
 * code under test into a crash that libFuzzer reports and saves, and the text checks that
 * several contracts need (valid UTF-8, a NUL inside a fixed-size field, the problem list of a
 * 422 answer).
 */
#ifndef SCALEUPD_FUZZ_CHECK_H
#define SCALEUPD_FUZZ_CHECK_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

/* Aborts with the file, line and condition when cond is false. */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: contract broken: %s\n", __FILE__, __LINE__, #cond);            \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* True when the first size bytes of s hold a NUL, so s is a C string within its field. */
bool fuzz_terminated(const char *s, size_t size);

/* True when the NUL-terminated s is valid UTF-8 (shortest forms, no surrogates, <= U+10FFFF). */
bool fuzz_utf8_valid(const char *s);

/* problems is a non-empty array of {"path": "$…", "code": "…", "message": "…"} (problems.h),
 * or NULL when may_be_null; aborts otherwise. Returns how many problems have code `code`. */
size_t fuzz_check_problems(const json_t *problems, bool may_be_null, const char *code);

/* A NUL-terminated copy of data[0..size) (malloc'd, the caller frees it). */
char *fuzz_strndup(const unsigned char *data, size_t size);

#endif /* SCALEUPD_FUZZ_CHECK_H */
