/* The out-of-memory policy (alloc.h): log and abort when the allocator fails. */
#include "scaleupd/core/alloc.h"

#include <jansson.h>
#include <stdio.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

__attribute__((noreturn, cold)) static void out_of_memory(size_t size)
{
    /* no allocation here: stdio may need memory; write(2) does not */
    char line[96];
    int n = snprintf(line, sizeof(line), "FATAL: out of memory (allocating %zu bytes)\n", size);
    if (n > 0)
        (void)!write(STDERR_FILENO, line, (size_t)n);
    abort();
}

void *xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (p == NULL)
        out_of_memory(size);
    return p;
}

void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (p == NULL)
        out_of_memory(n * size);
    return p;
}

void *xrealloc(void *ptr, size_t size)
{
    void *p = realloc(ptr, size ? size : 1);
    if (p == NULL)
        out_of_memory(size);
    return p;
}

char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *p = xmalloc(len + 1);
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

static void *json_xmalloc(size_t size)
{
    return xmalloc(size);
}

/* Built with AddressSanitizer, whose allocator replaces glibc's (gcc and clang say so
 * differently). */
#if defined(__SANITIZE_ADDRESS__)
#define ALLOC_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ALLOC_SANITIZED 1
#endif
#endif
#ifndef ALLOC_SANITIZED
#define ALLOC_SANITIZED 0
#endif

void alloc_install(void)
{
    json_set_alloc_funcs(json_xmalloc, free);
    /* glibc gives each thread that allocates an arena of its own and keeps what a thread
     * once used: with four workers the daemon's size was the sum of each worker's largest
     * job (about 100 MB at 10 M observations). Two arenas, trimmed after background jobs
     * (alloc_release), keep it near what is in use. */
#if !ALLOC_SANITIZED
    mallopt(M_ARENA_MAX, 2);
#endif
}

void alloc_release(void)
{
#if !ALLOC_SANITIZED
    malloc_trim(0); /* glibc's: under AddressSanitizer its arenas are not the heap (SEGV) */
#endif
}
