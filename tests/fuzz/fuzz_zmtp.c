// SPDX-License-Identifier: Apache-2.0
/* The learner's ZMTP server side (common/zmtp.c) as learner/stream.c
 * drives it: bytes from a peer fed in the chunks the network delivers.
 * The first input byte picks the chunk size (0: the whole input at once),
 * the rest is the peer's byte stream.  The same bytes are also fed whole,
 * and both runs must agree on every frame, the final code and the READY
 * state (a difference aborts: the state machine must not depend on where
 * the network cuts).  A 4 KiB frame limit keeps oversize reachable. */
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "fuzz.h"
#include "zmtp.h"

#define MAX_FRAME 4096

typedef struct seen {
	size_t frames;
	uint64_t bytes;
	uint32_t hash; /* of the frames' lengths, flags and bytes */
} seen;

static void mix(seen *s, uint32_t v)
{
	s->hash = (s->hash ^ v) * 16777619u;
}

static int on_frame(void *ctx, const uint8_t *data, size_t len, int more)
{
	seen *s = ctx;
	if (len > MAX_FRAME)
		abort();
	s->frames++;
	s->bytes += len;
	mix(s, (uint32_t)len);
	mix(s, (uint32_t)more);
	for (size_t i = 0; i < len; i++)
		mix(s, data[i]);
	return 0;
}

static int run(const uint8_t *p, size_t n, size_t chunk, seen *s, int *ready)
{
	im_zmtp *z = NULL;
	im_zmtp_opts o = {.socket_type = "PULL", .peer_type = "PUSH", .max_frame = MAX_FRAME};
	if (im_zmtp_new(&z, &o) != IM_OK)
		abort();
	int rc = IM_OK;
	for (size_t pos = 0; pos < n && rc == IM_OK;) {
		size_t k = chunk && chunk < n - pos ? chunk : n - pos;
		rc = im_zmtp_feed(z, p + pos, k, on_frame, s);
		pos += k;
		size_t out;
		im_zmtp_output(z, &out);
		im_zmtp_output_sent(z);
	}
	if (im_zmtp_partial(z) > MAX_FRAME || (rc != IM_OK) != (im_zmtp_error(z)[0] != 0))
		abort();
	*ready = im_zmtp_ready(z);
	im_zmtp_free(z);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	seen a = {0, 0, 2166136261u}, b = a;
	int ra, rb;
	int rca = run(data + 1, size - 1, data[0], &a, &ra);
	int rcb = run(data + 1, size - 1, 0, &b, &rb);
	if (rca != rcb || ra != rb || a.frames != b.frames || a.bytes != b.bytes ||
	    a.hash != b.hash)
		abort();
	return 0;
}
