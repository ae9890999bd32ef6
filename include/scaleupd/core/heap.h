/* The shape of malloc's heap (glibc): fixed thresholds, so that a large block is mapped and
 * unmapped on its own and the daemon's size follows what it holds (docs/ARCHITECTURE.md,
 * "Bounded memory"), and its figures for the log. Beside alloc.h, which limits the arenas. */
#ifndef SCALEUPD_HEAP_H
#define SCALEUPD_HEAP_H

#include <stdbool.h>
#include <stddef.h>

#define HEAP_MMAP_THRESHOLD (256u << 10) /* a block this large is mapped on its own */
#define HEAP_TRIM_THRESHOLD (1u << 20)   /* free memory at the heap's top given back past this */

/* Fixes malloc's mmap and trim thresholds (glibc raises the mmap threshold to the largest
 * mapped block freed, up to 32 MB, after which such blocks stay in the arenas, and what was
 * freed around them stays resident until a trim). Call once at start-up, after alloc_install;
 * nothing under AddressSanitizer, whose allocator is not glibc's. */
void heap_tune(void);

/* What malloc holds, in bytes: from the system in its arenas, of that in use and free, and
 * mapped blocks apart from the arenas. */
struct heap_figures {
    size_t arena, in_use, free, mapped;
};

/* The figures now (mallinfo2: it walks the arenas, under their locks). False when the
 * allocator cannot say (AddressSanitizer). */
bool heap_figures(struct heap_figures *out);

#endif
