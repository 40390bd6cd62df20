// SPDX-License-Identifier: Apache-2.0
/* TFRecord framing: writing records and checking a file's records. */
#include "tfrecord.h"

#include "err.h"
#include "wire.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

uint32_t im_tfrecord_mask(uint32_t crc)
{
	return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

static void put_le(uint8_t *p, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int bytes)
{
	uint64_t v = 0;
	for (int i = 0; i < bytes; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

size_t im_tfrecord_frame(uint8_t *out, const void *data, size_t n)
{
	put_le(out, n, 8);
	put_le(out + 8, im_tfrecord_mask(im_wire_crc32c(out, 8)), 4);
	memcpy(out + 12, data, n);
	put_le(out + 12 + n, im_tfrecord_mask(im_wire_crc32c(data, n)), 4);
	return n + IM_TFRECORD_OVERHEAD;
}

int im_tfrecord_write(FILE *f, const void *data, size_t n)
{
	if (n > IM_TFRECORD_MAX_LEN)
		return IM_ETOOBIG;
	uint8_t *buf = malloc(n + IM_TFRECORD_OVERHEAD);
	if (!buf)
		return IM_ENOMEM;
	size_t len = im_tfrecord_frame(buf, data, n);
	size_t w = fwrite(buf, 1, len, f);
	free(buf);
	if (w != len) {
		if (!errno)
			errno = EIO;
		return IM_EIO;
	}
	return IM_OK;
}

/* Reads exactly n bytes; the count read (less at the end of the file). */
static size_t read_n(FILE *f, uint8_t *p, size_t n)
{
	return fread(p, 1, n, f);
}

/* One record at the current position, `left` bytes before the end of the
 * file: 1 valid (*len its size), 0 the end of the file, -1 torn, -2
 * damaged, -3 a read error or no memory. */
static int next_record(FILE *f, uint64_t left, uint8_t **buf, size_t *cap,
		       uint64_t *len)
{
	uint8_t head[12];
	size_t got = read_n(f, head, sizeof head);
	if (got == 0)
		return ferror(f) ? -3 : 0;
	if (got < 12)
		return ferror(f) ? -3 : -1;
	if (im_tfrecord_mask(im_wire_crc32c(head, 8)) != get_le(head + 8, 4))
		return -2;
	uint64_t n = get_le(head, 8);
	if (n > IM_TFRECORD_MAX_LEN)
		return -2;
	/* A length the file cannot hold is a torn tail: found without
	 * allocating what a crafted length asks for. */
	if (n + 4 > left - 12)
		return -1;
	if (n + 4 > *cap) {
		uint8_t *nb = realloc(*buf, n + 4);
		if (!nb)
			return -3;
		*buf = nb;
		*cap = n + 4;
	}
	got = read_n(f, *buf, n + 4);
	if (got < n + 4)
		return ferror(f) ? -3 : -1;
	if (im_tfrecord_mask(im_wire_crc32c(*buf, n)) != get_le(*buf + n, 4))
		return -2;
	*len = n + IM_TFRECORD_OVERHEAD;
	return 1;
}

int im_tfrecord_scan_file(FILE *f, im_tfrecord_scan *out)
{
	memset(out, 0, sizeof *out);
	if (fseek(f, 0, SEEK_END) != 0)
		return IM_EIO;
	long end = ftell(f);
	if (end < 0 || fseek(f, 0, SEEK_SET) != 0)
		return IM_EIO;
	out->file_len = (uint64_t)end;
	uint8_t *buf = NULL;
	size_t cap = 0;
	uint64_t len = 0;
	int r;
	while ((r = next_record(f, out->file_len - out->valid_len, &buf, &cap,
				&len)) == 1) {
		out->records++;
		out->valid_len += len;
	}
	free(buf);
	if (r == -3)
		return errno == ENOMEM ? IM_ENOMEM : IM_EIO;
	out->torn = r == -1;
	return IM_OK;
}
