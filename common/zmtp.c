// SPDX-License-Identifier: Apache-2.0
#include "zmtp.h"

#include "err.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TYPE_MAX 32
#define FLAG_MORE 0x01
#define FLAG_LONG 0x02
#define FLAG_COMMAND 0x04
#define FLAGS_RESERVED 0xf8
#define MECH_OFF 12 /* greeting: mechanism, 20 bytes, NUL-padded */
#define MECH_LEN 20

enum state {
	ST_GREETING, /* the peer's 64-byte greeting */
	ST_HEADER,   /* a frame's flags and size */
	ST_COMMAND,  /* a handshake command's body, into cmd */
	ST_SKIP,     /* an ignored command's body */
	ST_BODY,     /* a message frame's body */
	ST_DEAD,     /* after an error */
};

struct im_zmtp {
	char socket_type[TYPE_MAX + 1];
	char peer_type[TYPE_MAX + 1];
	uint64_t max_frame;
	enum state state;
	int ready;
	int err;         /* the final error, once ST_DEAD */
	const char *why; /* its description */
	uint8_t greet[IM_ZMTP_GREETING_LEN];
	size_t greet_have;
	uint8_t hdr[9]; /* flags, then 1 or 8 size bytes */
	size_t hdr_have;
	uint64_t size, have; /* the current frame's size, bytes received */
	uint8_t *buf;        /* message reassembly, cap bytes */
	size_t cap;
	uint8_t cmd[IM_ZMTP_MAX_COMMAND];
	uint8_t out[IM_ZMTP_GREETING_LEN + 2 + 22 + TYPE_MAX];
	size_t out_len;
};

static int fail(im_zmtp *z, int rc, const char *why)
{
	z->state = ST_DEAD;
	z->err = rc;
	z->why = why;
	return rc;
}

static void put_greeting(im_zmtp *z)
{
	uint8_t *g = z->out;
	memset(g, 0, IM_ZMTP_GREETING_LEN);
	g[0] = 0xff;
	g[9] = 0x7f;
	g[10] = 3; /* version 3.1 */
	g[11] = 1;
	memcpy(g + MECH_OFF, "NULL", 4);
	z->out_len = IM_ZMTP_GREETING_LEN;
}

/* READY with one property: Socket-Type = ours (short command frame). */
static void put_ready(im_zmtp *z)
{
	size_t vl = strlen(z->socket_type);
	uint8_t *p = z->out + z->out_len;
	p[0] = FLAG_COMMAND;
	p[1] = (uint8_t)(1 + 5 + 1 + 11 + 4 + vl);
	p[2] = 5;
	memcpy(p + 3, "READY", 5);
	p[8] = 11;
	memcpy(p + 9, "Socket-Type", 11);
	p[20] = p[21] = p[22] = 0;
	p[23] = (uint8_t)vl;
	memcpy(p + 24, z->socket_type, vl);
	z->out_len += 24 + vl;
}

int im_zmtp_new(im_zmtp **out, const im_zmtp_opts *o)
{
	if (!out || !o || !o->socket_type || !o->peer_type || o->max_frame == 0 ||
	    strlen(o->socket_type) > TYPE_MAX || strlen(o->peer_type) > TYPE_MAX)
		return IM_EINVAL;
	im_zmtp *z = calloc(1, sizeof *z);
	if (!z)
		return IM_ENOMEM;
	strcpy(z->socket_type, o->socket_type);
	strcpy(z->peer_type, o->peer_type);
	z->max_frame = o->max_frame;
	z->why = "";
	put_greeting(z);
	*out = z;
	return IM_OK;
}

void im_zmtp_free(im_zmtp *z)
{
	if (!z)
		return;
	free(z->buf);
	free(z);
}

/* Checks the greeting as far as it has arrived, so that garbage fails at
 * its first wrong byte. */
static int check_greeting(im_zmtp *z)
{
	static const uint8_t null_mech[MECH_LEN] = {'N', 'U', 'L', 'L'};
	const uint8_t *g = z->greet;
	size_t n = z->greet_have;
	if (n >= 1 && g[0] != 0xff)
		return fail(z, IM_EPROTO, "not a ZMTP greeting (first byte)");
	if (n >= 10 && !(g[9] & 1))
		return fail(z, IM_EPROTO, "not a ZMTP greeting (signature)");
	if (n >= 11 && g[10] < 3)
		return fail(z, IM_EVERSION, "ZMTP below 3.0");
	if (n >= MECH_OFF + MECH_LEN &&
	    memcmp(g + MECH_OFF, null_mech, MECH_LEN) != 0)
		return fail(z, IM_EPROTO, "security mechanism is not NULL");
	return IM_OK;
}

static size_t feed_greeting(im_zmtp *z, const uint8_t *p, size_t n)
{
	size_t take = IM_ZMTP_GREETING_LEN - z->greet_have;
	if (take > n)
		take = n;
	memcpy(z->greet + z->greet_have, p, take);
	z->greet_have += take;
	if (check_greeting(z) == IM_OK &&
	    z->greet_have == IM_ZMTP_GREETING_LEN) {
		put_ready(z);
		z->state = ST_HEADER;
	}
	return take;
}

/* Does the READY body in cmd (z->size bytes) name the peer type? */
static int check_ready(im_zmtp *z)
{
	const uint8_t *c = z->cmd;
	size_t n = (size_t)z->size, p = 1 + (size_t)c[0];
	if (n == 0 || p > n)
		return fail(z, IM_EPROTO, "malformed command");
	if (c[0] != 5 || memcmp(c + 1, "READY", 5) != 0)
		return fail(z, IM_EPROTO, c[0] == 5 && !memcmp(c + 1, "ERROR", 5) ? "peer sent ERROR" : "first command is not READY");
	int found = 0;
	while (p < n) {
		size_t nl = c[p++];
		if (nl == 0 || nl > n - p || 4 > n - p - nl)
			return fail(z, IM_EPROTO, "malformed READY property");
		const uint8_t *name = c + p;
		p += nl;
		uint32_t vl = (uint32_t)c[p] << 24 | (uint32_t)c[p + 1] << 16 |
			      (uint32_t)c[p + 2] << 8 | c[p + 3];
		p += 4;
		if (vl > n - p)
			return fail(z, IM_EPROTO, "malformed READY property");
		if (nl == 11 && strncasecmp((const char *)name, "Socket-Type", 11) == 0) {
			if (vl != strlen(z->peer_type) || memcmp(c + p, z->peer_type, vl))
				return fail(z, IM_EPROTO, "peer socket type not accepted");
			found = 1;
		}
		p += vl;
	}
	if (!found)
		return fail(z, IM_EPROTO, "READY without Socket-Type");
	z->ready = 1;
	return IM_OK;
}

/* The header is complete: decides what the body is. */
static int start_frame(im_zmtp *z)
{
	uint8_t f = z->hdr[0];
	uint64_t size = 0;
	for (size_t i = 1; i < z->hdr_have; i++)
		size = size << 8 | z->hdr[i];
	z->size = size;
	z->have = 0;
	if (f & FLAG_COMMAND) {
		if (f & FLAG_MORE)
			return fail(z, IM_EPROTO, "command frame with MORE set");
		if (!z->ready && size > IM_ZMTP_MAX_COMMAND)
			return fail(z, IM_ETOOBIG, "handshake command too large");
		z->state = z->ready ? ST_SKIP : ST_COMMAND;
		if (size == 0)
			return z->ready ? (z->state = ST_HEADER, IM_OK) : check_ready(z);
		return IM_OK;
	}
	if (!z->ready)
		return fail(z, IM_EPROTO, "message before READY");
	if (size > z->max_frame)
		return fail(z, IM_ETOOBIG, "message frame above the size limit");
	z->state = ST_BODY;
	return IM_OK;
}

static size_t feed_header(im_zmtp *z, const uint8_t *p, size_t n)
{
	size_t used = 0;
	if (z->hdr_have == 0) {
		z->hdr[0] = p[0];
		z->hdr_have = 1;
		used = 1;
		if (p[0] & FLAGS_RESERVED) {
			fail(z, IM_EPROTO, "reserved frame flag bits set");
			return used;
		}
	}
	size_t need = (z->hdr[0] & FLAG_LONG) ? 9 : 2;
	size_t take = need - z->hdr_have;
	if (take > n - used)
		take = n - used;
	memcpy(z->hdr + z->hdr_have, p + used, take);
	z->hdr_have += take;
	used += take;
	if (z->hdr_have == need) {
		start_frame(z);
		z->hdr_have = 0;
	}
	return used;
}

static size_t feed_command(im_zmtp *z, const uint8_t *p, size_t n)
{
	uint64_t take = z->size - z->have;
	if (take > n)
		take = n;
	memcpy(z->cmd + z->have, p, (size_t)take);
	z->have += take;
	if (z->have == z->size && check_ready(z) == IM_OK)
		z->state = ST_HEADER;
	return (size_t)take;
}

static size_t feed_skip(im_zmtp *z, size_t n)
{
	uint64_t take = z->size - z->have;
	if (take > n)
		take = n;
	z->have += take;
	if (z->have == z->size)
		z->state = ST_HEADER;
	return (size_t)take;
}

/* Makes room for need bytes of the current frame: doubling, at least
 * 4 KiB, never beyond the frame's size. */
static int reserve(im_zmtp *z, uint64_t need)
{
	if (need <= z->cap)
		return IM_OK;
	uint64_t cap = z->cap * 2 > need ? z->cap * 2 : need;
	if (cap < 4096)
		cap = 4096;
	if (cap > z->size)
		cap = z->size;
	if (cap > SIZE_MAX)
		return IM_ENOMEM;
	uint8_t *b = realloc(z->buf, (size_t)cap);
	if (!b)
		return IM_ENOMEM;
	z->buf = b;
	z->cap = (size_t)cap;
	return IM_OK;
}

/* Passes a complete frame to fn (from p when it came whole, else from
 * the buffer); *rc is fn's return. */
static size_t feed_body(im_zmtp *z, const uint8_t *p, size_t n,
			im_zmtp_frame_fn fn, void *ctx, int *rc)
{
	int more = z->hdr[0] & FLAG_MORE;
	if (z->have == 0 && n >= z->size) {
		z->state = ST_HEADER;
		*rc = fn(ctx, p, (size_t)z->size, more);
		return (size_t)z->size;
	}
	uint64_t take = z->size - z->have;
	if (take > n)
		take = n;
	if (reserve(z, z->have + take) != IM_OK) {
		*rc = fail(z, IM_ENOMEM, "out of memory for a message frame");
		return 0;
	}
	memcpy(z->buf + z->have, p, (size_t)take);
	z->have += take;
	if (z->have == z->size) {
		z->state = ST_HEADER;
		z->have = 0;
		*rc = fn(ctx, z->buf, (size_t)z->size, more);
	}
	return (size_t)take;
}

int im_zmtp_feed(im_zmtp *z, const uint8_t *buf, size_t len,
		 im_zmtp_frame_fn fn, void *ctx)
{
	size_t pos = 0;
	int rc = IM_OK;
	while (rc == IM_OK && z->state != ST_DEAD &&
	       (pos < len || (z->state == ST_BODY && z->size == 0))) {
		const uint8_t *p = buf + pos;
		size_t n = len - pos;
		switch (z->state) {
		case ST_GREETING:
			pos += feed_greeting(z, p, n);
			break;
		case ST_HEADER:
			pos += feed_header(z, p, n);
			break;
		case ST_COMMAND:
			pos += feed_command(z, p, n);
			break;
		case ST_SKIP:
			pos += feed_skip(z, n);
			break;
		case ST_BODY:
			pos += feed_body(z, p, n, fn, ctx, &rc);
			break;
		case ST_DEAD:
			break;
		}
	}
	return z->state == ST_DEAD ? z->err : rc;
}

const uint8_t *im_zmtp_output(const im_zmtp *z, size_t *len)
{
	*len = z->out_len;
	return z->out;
}

void im_zmtp_output_sent(im_zmtp *z)
{
	z->out_len = 0;
}

size_t im_zmtp_frame_header(uint8_t out[IM_ZMTP_HEADER_MAX], uint64_t len,
			    int more)
{
	uint8_t flags = more ? FLAG_MORE : 0;
	if (len <= 255) {
		out[0] = flags;
		out[1] = (uint8_t)len;
		return 2;
	}
	out[0] = flags | FLAG_LONG;
	for (int i = 0; i < 8; i++)
		out[1 + i] = (uint8_t)(len >> (8 * (7 - i)));
	return IM_ZMTP_HEADER_MAX;
}

int im_zmtp_ready(const im_zmtp *z)
{
	return z->ready;
}

uint64_t im_zmtp_partial(const im_zmtp *z)
{
	return z->state == ST_BODY ? z->have : 0;
}

const char *im_zmtp_error(const im_zmtp *z)
{
	return z->why;
}
