// SPDX-License-Identifier: Apache-2.0
#include "wire.h"

#include "err.h"

#include <pthread.h>
#include <stdlib.h>

typedef void *(*wire_unpack_fn)(ProtobufCAllocator *, size_t, const uint8_t *);

static int wire_decode_in(ProtobufCAllocator *a, const uint8_t *buf,
			  size_t len, size_t max, wire_unpack_fn unpack,
			  void **out)
{
	if (!buf && len)
		return IM_EINVAL;
	if (len > max)
		return IM_ETOOBIG;
	void *m = unpack(a, len, buf);
	if (!m)
		return IM_EPROTO;
	*out = m;
	return IM_OK;
}

static int wire_decode(const uint8_t *buf, size_t len, size_t max,
		       wire_unpack_fn unpack, void **out)
{
	return wire_decode_in(NULL, buf, len, max, unpack, out);
}

int im_wire_decode_control(const uint8_t *buf, size_t len, size_t max,
			   Impala__Control **out)
{
	return wire_decode(buf, len, max,
			   (wire_unpack_fn)impala__control__unpack,
			   (void **)out);
}

int im_wire_decode_params(const uint8_t *buf, size_t len, size_t max,
			  Impala__Params **out)
{
	return wire_decode(buf, len, max,
			   (wire_unpack_fn)impala__params__unpack,
			   (void **)out);
}

int im_wire_decode_trajectory(const uint8_t *buf, size_t len, size_t max,
			      Impala__Trajectory **out)
{
	return wire_decode(buf, len, max,
			   (wire_unpack_fn)impala__trajectory__unpack,
			   (void **)out);
}

int im_wire_decode_trajectory_in(ProtobufCAllocator *a, const uint8_t *buf,
				 size_t len, size_t max,
				 Impala__Trajectory **out)
{
	return wire_decode_in(a, buf, len, max,
			      (wire_unpack_fn)impala__trajectory__unpack,
			      (void **)out);
}

int im_wire_encode(const ProtobufCMessage *msg, uint8_t **buf, size_t *len)
{
	size_t n = protobuf_c_message_get_packed_size(msg);
	uint8_t *b = malloc(n ? n : 1);
	if (!b)
		return IM_ENOMEM;
	size_t w = protobuf_c_message_pack(msg, b);
	if (w != n) {
		free(b);
		return IM_EPROTO;
	}
	*buf = b;
	*len = n;
	return IM_OK;
}

int im_wire_pack_into(const ProtobufCMessage *msg, uint8_t **buf, size_t *cap,
		      size_t *len)
{
	size_t n = protobuf_c_message_get_packed_size(msg);
	if (n > *cap) {
		uint8_t *b = realloc(*buf, n);
		if (!b)
			return IM_ENOMEM;
		*buf = b;
		*cap = n;
	}
	*len = protobuf_c_message_pack(msg, *buf);
	return IM_OK;
}

static uint32_t crc_table[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

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
}

uint32_t im_wire_crc32c(const void *data, size_t len)
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
