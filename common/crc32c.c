// SPDX-License-Identifier: Apache-2.0
#include "crc32c.h"

#include <pthread.h>
#include <string.h>

static uint32_t crc_table[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;
/* im_crc32c_hw or im_crc32c_table, chosen with the tables. */
static uint32_t (*crc_best)(const void *, size_t);

#if defined(__x86_64__) && defined(__GNUC__)
#define HAVE_HW 1

/* One step of the crc32 instruction for each size (SSE4.2's crc32q,
 * crc32b), compiled for that target alone so that the rest of the build
 * still runs on any x86-64. */
__attribute__((target("sse4.2"))) static uint64_t hw_u64(uint64_t c,
							 uint64_t v)
{
	return __builtin_ia32_crc32di(c, v);
}

__attribute__((target("sse4.2"))) static uint32_t hw_u8(uint32_t c, uint8_t v)
{
	return __builtin_ia32_crc32qi(c, v);
}

int im_crc32c_hw_available(void)
{
	return __builtin_cpu_supports("sse4.2");
}

uint32_t im_crc32c_hw(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t c = 0xffffffffu;
	for (; len >= 8; p += 8, len -= 8) {
		uint64_t v;
		memcpy(&v, p, 8); /* any alignment; x86 is little-endian */
		c = hw_u64(c, v);
	}
	uint32_t c32 = (uint32_t)c;
	while (len--)
		c32 = hw_u8(c32, *p++);
	return c32 ^ 0xffffffffu;
}
#else
#define HAVE_HW 0

int im_crc32c_hw_available(void)
{
	return 0;
}

uint32_t im_crc32c_hw(const void *data, size_t len)
{
	return im_crc32c_table(data, len);
}
#endif

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0x82f63b78u & (0u - (c & 1u)));
		crc_table[0][i] = c;
	}
	for (int t = 1; t < 8; t++)
		for (int i = 0; i < 256; i++)
			crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^
					  crc_table[0][crc_table[t - 1][i] & 0xff];
	crc_best = HAVE_HW && im_crc32c_hw_available() ? im_crc32c_hw
						       : im_crc32c_table;
}

uint32_t im_crc32c_table(const void *data, size_t len)
{
	pthread_once(&crc_once, crc_init);
	const uint8_t *p = data;
	uint32_t c = 0xffffffffu;
	/* Slicing-by-8: eight table lookups per 8 input bytes. */
	while (len >= 8) {
		uint32_t lo = c ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 |
				   (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
		c = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^
		    crc_table[5][(lo >> 16) & 0xff] ^ crc_table[4][lo >> 24] ^
		    crc_table[3][p[4]] ^ crc_table[2][p[5]] ^
		    crc_table[1][p[6]] ^ crc_table[0][p[7]];
		p += 8;
		len -= 8;
	}
	while (len--)
		c = (c >> 8) ^ crc_table[0][(c ^ *p++) & 0xff];
	return c ^ 0xffffffffu;
}

uint32_t im_crc32c(const void *data, size_t len)
{
	pthread_once(&crc_once, crc_init);
	return crc_best(data, len);
}
