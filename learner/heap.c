// SPDX-License-Identifier: Apache-2.0
/* The heap figures and the trim, over glibc's mallinfo2 and malloc_trim. */
#include "heap.h"

#include <string.h>

#if IM_HEAP_GLIBC
#include <malloc.h>
#endif

void im_heap_stats_read(im_heap_stats *out)
{
	memset(out, 0, sizeof *out);
#if IM_HEAP_GLIBC
	struct mallinfo2 mi = mallinfo2();
	out->system_bytes = (uint64_t)mi.arena + (uint64_t)mi.hblkhd;
	out->in_use_bytes = (uint64_t)mi.uordblks + (uint64_t)mi.hblkhd;
	out->free_bytes = (uint64_t)mi.fordblks;
#endif
}

int im_heap_trim(void)
{
#if IM_HEAP_GLIBC
	return malloc_trim(0);
#else
	return 0;
#endif
}
