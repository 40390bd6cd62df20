// SPDX-License-Identifier: Apache-2.0
#include "wire.h"

#include "crc32c.h"
#include "err.h"

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

size_t im_wire_params_max(size_t param_count)
{
	/* Each mark array: a tag, a length (<= 5 bytes), 10 bytes a value. */
	size_t marks = 2 * (1 + 5 + 10 * (size_t)IM_WIRE_MAX_FLOW_MARKS);
	size_t rest = marks + 128;
	if (param_count > (IM_WIRE_MAX_PARAMS - rest) / 4)
		return IM_WIRE_MAX_PARAMS;
	return 4 * param_count + rest;
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

uint32_t im_wire_crc32c(const void *data, size_t len)
{
	return im_crc32c(data, len);
}
