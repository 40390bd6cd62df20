// SPDX-License-Identifier: Apache-2.0
/* Encoding and decoding of the wire messages (proto/impala.proto).
 *
 * Decoding always checks the buffer's size against a bound before handing it
 * to protobuf-c, so an oversized message is refused before any allocation;
 * a truncated or otherwise invalid buffer is IM_EPROTO.  Checks of shapes
 * and values against a run spec live with the learner's validation. */
#ifndef IM_WIRE_H
#define IM_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "impala.pb-c.h"

/* Upper bounds on one message of each kind, in bytes. */
#define IM_WIRE_MAX_CONTROL (256u << 20)
#define IM_WIRE_MAX_PARAMS (256u << 20)
#define IM_WIRE_MAX_TRAJECTORY (64u << 20)

/* Flow-control marks in one Params (flow_actor_ids and flow_next_seqs,
 * actor/flow.h): a learner sends at most this many (learner/actors.h
 * says which actors get one), an actor refuses a Params with more.  A
 * mark packs to at most 20 bytes (two varints), so the marks add at most
 * about 20 KiB to a broadcast, whatever the number of actors registered.
 * Raising it makes older actors refuse the Params: bump the protocol. */
#define IM_WIRE_MAX_FLOW_MARKS 1024u

/* The largest Params a learner sends for a model of param_count floats:
 * the data, the marks at their largest and 128 bytes for every other
 * field (the bound an actor decodes a Params under: a packed uint64
 * field decodes to up to 8 times its bytes).  At most
 * IM_WIRE_MAX_PARAMS. */
size_t im_wire_params_max(size_t param_count);

/* Each decoder: on success *out is a message owned by the caller, freed with
 * the matching impala__*__free_unpacked(*out, NULL); on failure *out is
 * untouched and the code is IM_ETOOBIG (len > max), IM_EPROTO (not a valid
 * encoding) or IM_EINVAL (NULL buffer).  The input buffer stays the
 * caller's. */
int im_wire_decode_control(const uint8_t *buf, size_t len, size_t max,
			   Impala__Control **out);
int im_wire_decode_params(const uint8_t *buf, size_t len, size_t max,
			  Impala__Params **out);
int im_wire_decode_trajectory(const uint8_t *buf, size_t len, size_t max,
			      Impala__Trajectory **out);
/* The same with protobuf-c's allocator a (NULL: malloc), as the learner's
 * store uses to decode straight into one of its slots; *out is then freed
 * through a, and IM_EPROTO also means that a ran out. */
int im_wire_decode_trajectory_in(ProtobufCAllocator *a, const uint8_t *buf,
				 size_t len, size_t max,
				 Impala__Trajectory **out);

/* Packs msg into a new malloc'd buffer; on success *buf is the caller's to
 * free() and *len its size; on failure (IM_ENOMEM) nothing is allocated. */
int im_wire_encode(const ProtobufCMessage *msg, uint8_t **buf, size_t *len);

/* Packs msg into *buf, first growing it with realloc to the packed size
 * when *cap is smaller (a sender's buffer reused from message to message).
 * *buf stays the caller's either way; on success *len is the packed size;
 * IM_ENOMEM leaves *buf and *cap as they were. */
int im_wire_pack_into(const ProtobufCMessage *msg, uint8_t **buf, size_t *cap,
		      size_t *len);

/* CRC-32C (Castagnoli) of data, as carried in Params.checksum: im_crc32c
 * (crc32c.h), the SSE4.2 instruction where the CPU has it. */
uint32_t im_wire_crc32c(const void *data, size_t len);

#endif
