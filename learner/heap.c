// SPDX-License-Identifier: Apache-2.0
/* The heap figures and the trim, over glibc's mallinfo2 and malloc_trim. */
#include "heap.h"

#include <string.h>

#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
#include <malloc.h>
#define HAVE_GLIBC_HEAP 1
#endif

void im_heap_stats_read(im_heap_stats *out)
{
	memset(out, 0, sizeof *out);
#ifdef HAVE_GLIBC_HEAP
	struct mallinfo2 mi = mallinfo2();
	out->system_bytes = (uint64_t)mi.arena + (uint64_t)mi.hblkhd;
	out->in_use_bytes = (uint64_t)mi.uordblks + (uint64_t)mi.hblkhd;
	out->free_bytes = (uint64_t)mi.fordblks;
#endif
}

int im_heap_trim(void)
{
#ifdef HAVE_GLIBC_HEAP
	return malloc_trim(0);
#else
	return 0;
#endif
}
