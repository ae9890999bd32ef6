/* The daemon's one out-of-memory policy: running out of memory is fatal. Every allocation
 * goes through these wrappers (and jansson's, through alloc_install), which log and abort
 * when the allocator fails; systemd restarts the daemon, and nothing acknowledged is lost
 * because a 2xx is only sent after COMMIT. Input never makes us run out: every buffer fed
 * from outside has a cap (dynbuf's toobig, the body and header limits), and going over a cap
 * is an ordinary error the caller reports. */
#ifndef SCALEUPD_CORE_ALLOC_H
#define SCALEUPD_CORE_ALLOC_H

#include <stddef.h>

/* malloc, calloc, realloc, strdup and strndup that never return NULL (size 0 allocates a
 * minimal block). The caller frees the result with free(). */
void *xmalloc(size_t size) __attribute__((malloc, returns_nonnull));
void *xcalloc(size_t n, size_t size) __attribute__((malloc, returns_nonnull));
void *xrealloc(void *ptr, size_t size) __attribute__((returns_nonnull));
char *xstrdup(const char *s) __attribute__((malloc, returns_nonnull));
char *xstrndup(const char *s, size_t n) __attribute__((malloc, returns_nonnull));

/* Makes jansson allocate through the same policy, so a json_* constructor returns NULL only
 * for invalid arguments, never for lack of memory, and limits malloc's arenas to two. Call
 * once at start-up (main, tests). */
void alloc_install(void);

/* Gives the memory freed since back to the system (glibc's malloc_trim): after a job that
 * may have used much (a background task), so that the daemon's size follows what it uses
 * rather than the largest job it ever ran. */
void alloc_release(void);

#endif
