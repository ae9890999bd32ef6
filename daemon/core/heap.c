/* malloc's thresholds and figures (heap.h): glibc's mallopt and mallinfo2, nothing under
 * AddressSanitizer. */
#include "scaleupd/core/heap.h"

#include <malloc.h>

/* Built with AddressSanitizer, whose allocator replaces glibc's (gcc and clang say so
 * differently). */
#if defined(__SANITIZE_ADDRESS__)
#define HEAP_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HEAP_SANITIZED 1
#endif
#endif
#ifndef HEAP_SANITIZED
#define HEAP_SANITIZED 0
#endif

void heap_tune(void)
{
#if !HEAP_SANITIZED
    /* setting either turns off glibc's sliding of both */
    mallopt(M_MMAP_THRESHOLD, (int)HEAP_MMAP_THRESHOLD);
    mallopt(M_TRIM_THRESHOLD, (int)HEAP_TRIM_THRESHOLD);
#endif
}

bool heap_figures(struct heap_figures *out)
{
#if HEAP_SANITIZED
    (void)out;
    return false;
#else
    struct mallinfo2 mi = mallinfo2();
    *out = (struct heap_figures){mi.arena, mi.uordblks, mi.fordblks, mi.hblkhd};
    return true;
#endif
}
