// SPDX-License-Identifier: Apache-2.0
/* The heap figures, the trim and the mmap threshold, over glibc's
 * mallinfo2, malloc_trim and mallopt. */
#include "heap.h"

#include "err.h"

#include <string.h>

#if IM_HEAP_GLIBC
#include <malloc.h>
#endif

int im_heap_pin_mmap_threshold(size_t bytes)
{
#if IM_HEAP_GLIBC
	if (bytes == 0)
		return IM_OK;
	if (bytes < IM_HEAP_MMAP_THRESHOLD_MIN ||
	    bytes > IM_HEAP_MMAP_THRESHOLD_MAX ||
	    mallopt(M_MMAP_THRESHOLD, (int)bytes) != 1)
		return IM_EINVAL;
#else
	(void)bytes;
#endif
	return IM_OK;
}

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
