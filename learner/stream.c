// SPDX-License-Identifier: Apache-2.0
#include "stream.h"

#include "err.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define ID_MAX 255 /* ZeroMQ routing ids are 1..255 bytes */

typedef struct conn {
	uint8_t id[ID_MAX];
	size_t idlen; /* 0: a free entry */
	im_zmtp *z;
	int more;    /* the MORE flag of its last message frame */
	int closing; /* z freed; libzmq has yet to take our hangup */
} conn;

struct im_stream {
	im_stream_opts o;
	conn *conns; /* max_conns entries */
	size_t last; /* the entry found last: chunks come in runs */
	im_stream_stats st;
	/* During a feed: the connection, the caller's callback, and whether
	 * the frame being passed starts a message. */
	conn *cur;
	im_zmtp_frame_fn fn;
	void *fn_ctx;
	int first;
};

/* Release: a reader that acquires a connection count also sees the
 * receiver's counts of the messages that came before it. */
static void count(uint64_t *c, int64_t n)
{
	__atomic_add_fetch(c, (uint64_t)n, __ATOMIC_RELEASE);
}

int im_stream_new(im_stream **out, const im_stream_opts *o)
{
	int type = 0;
	size_t tl = sizeof type;
	if (!out || !o || !o->sock ||
	    zmq_getsockopt(o->sock, ZMQ_TYPE, &type, &tl) != 0 ||
	    type != ZMQ_STREAM)
		return IM_EINVAL;
	im_stream *s = calloc(1, sizeof *s);
	if (!s)
		return IM_ENOMEM;
	s->o = *o;
	if (s->o.max_conns == 0)
		s->o.max_conns = IM_STREAM_MAX_CONNS;
	if (s->o.max_frame == 0) {
		int64_t m = -1;
		size_t ml = sizeof m;
		zmq_getsockopt(o->sock, ZMQ_MAXMSGSIZE, &m, &ml);
		s->o.max_frame = m > 0 ? (uint64_t)m : (uint64_t)64 << 20;
	}
	s->conns = calloc(s->o.max_conns, sizeof *s->conns);
	if (!s->conns) {
		free(s);
		return IM_ENOMEM;
	}
	*out = s;
	return IM_OK;
}

void im_stream_free(im_stream *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->o.max_conns; i++)
		im_zmtp_free(s->conns[i].z);
	free(s->conns);
	free(s);
}

static conn *find(im_stream *s, const void *id, size_t len)
{
	conn *c = &s->conns[s->last];
	if (c->idlen == len && memcmp(c->id, id, len) == 0)
		return c;
	for (size_t i = 0; i < s->o.max_conns; i++) {
		c = &s->conns[i];
		if (c->idlen == len && memcmp(c->id, id, len) == 0) {
			s->last = i;
			return c;
		}
	}
	return NULL;
}

/* Sends the routing id of a message: a full queue refuses it (EAGAIN)
 * before anything is queued.  libzmq learns of the peer side's reads by
 * commands it processes only now and then, so a queue can look full when
 * it is not: ZMQ_EVENTS processes them, and one retry tells. */
static int send_id(im_stream *s, const void *id, size_t idlen)
{
	int flags = ZMQ_SNDMORE | ZMQ_DONTWAIT;
	if (zmq_send(s->o.sock, id, idlen, flags) >= 0)
		return 0;
	if (zmq_errno() != EAGAIN)
		return -1;
	int events;
	size_t el = sizeof events;
	zmq_getsockopt(s->o.sock, ZMQ_EVENTS, &events, &el);
	return zmq_send(s->o.sock, id, idlen, flags) < 0 ? -1 : 0;
}

/* Sends [id, data] without waiting; 0 or -1. */
static int send_to(im_stream *s, const void *id, size_t idlen,
		   const void *data, size_t len)
{
	if (send_id(s, id, idlen) != 0)
		return -1;
	return zmq_send(s->o.sock, data, len, ZMQ_DONTWAIT) < 0 ? -1 : 0;
}

/* Frees c's entry: libzmq's connection is gone or closing. */
static void forget(im_stream *s, conn *c)
{
	c->idlen = 0;
	c->closing = 0;
	count(&s->st.open, -1);
}

/* Forgets c; with hangup, also tells libzmq to close the connection (an
 * empty frame).  A half-received message frame is counted as lost.  A
 * hangup the connection's full queue refuses (a port that answers, to a
 * peer that does not read) leaves the entry closing: it keeps its slot,
 * so that such connections stay within max_conns, until a retry
 * succeeds or the peer goes (closing_chunk). */
static void drop(im_stream *s, conn *c, int hangup)
{
	int refused = hangup && send_to(s, c->id, c->idlen, "", 0) != 0;
	if (s->o.on_conn && im_zmtp_ready(c->z))
		s->o.on_conn(s->o.ctx, c->id, c->idlen, 0, -1);
	if (im_zmtp_partial(c->z) > 0)
		count(&s->st.partial, 1);
	im_zmtp_free(c->z);
	c->z = NULL;
	if (refused)
		c->closing = 1;
	else
		forget(s, c);
}

/* A chunk of a closing connection: its bytes are ignored; its close
 * notification (empty), or a hangup the queue now takes, frees it. */
static void closing_chunk(im_stream *s, conn *c, size_t len)
{
	if (len == 0 || send_to(s, c->id, c->idlen, "", 0) == 0)
		forget(s, c);
}

static void protocol_error(im_stream *s, conn *c, int rc, const char *why)
{
	count(&s->st.errors, 1);
	if (s->o.on_error)
		s->o.on_error(s->o.ctx, rc, why);
	drop(s, c, 1);
}

/* Sends what the state machine has for the peer; closes c on failure. */
static int flush(im_stream *s, conn *c)
{
	size_t len;
	const uint8_t *out = im_zmtp_output(c->z, &len);
	if (len == 0)
		return IM_OK;
	if (send_to(s, c->id, c->idlen, out, len) != 0) {
		protocol_error(s, c, IM_EAGAIN, "cannot send to the peer");
		return IM_EAGAIN;
	}
	im_zmtp_output_sent(c->z);
	return IM_OK;
}

/* A connect notification: a new entry and our greeting, or a refusal. */
static void open_conn(im_stream *s, const void *id, size_t idlen)
{
	conn *c = NULL;
	for (size_t i = 0; i < s->o.max_conns && !c; i++)
		if (s->conns[i].idlen == 0)
			c = &s->conns[i];
	im_zmtp_opts zo = {.socket_type = s->o.socket_type ? s->o.socket_type : "PULL",
			   .peer_type = s->o.peer_type ? s->o.peer_type : "PUSH",
			   .max_frame = s->o.max_frame};
	if (!c || idlen == 0 || idlen > ID_MAX || im_zmtp_new(&c->z, &zo) != IM_OK) {
		count(&s->st.refused, 1);
		send_to(s, id, idlen, "", 0);
		return;
	}
	memcpy(c->id, id, idlen);
	c->idlen = idlen;
	c->more = 0;
	count(&s->st.opened, 1);
	count(&s->st.open, 1);
	flush(s, c);
}

static void announce_ready(im_stream *s, conn *c, zmq_msg_t *data)
{
	if (s->o.on_conn)
		s->o.on_conn(s->o.ctx, c->id, c->idlen, 1,
			     zmq_msg_get(data, ZMQ_SRCFD));
}

int im_stream_hangup(im_stream *s, const uint8_t *id, size_t idlen)
{
	conn *c = find(s, id, idlen);
	if (!c)
		return IM_ENOENT;
	if (c->closing)
		closing_chunk(s, c, 1); /* retries the hangup */
	else
		drop(s, c, 1);
	return IM_OK;
}

/* Between the state machine and the caller's callback: first sends what
 * the state machine has for the peer (our READY, when its READY came in
 * the same chunk as this frame), so that a reply sent from the callback
 * follows it; a failure stops the feed (on_chunk closes the connection;
 * it must not be freed while its state machine runs). */
static int relay(void *ctx, const uint8_t *data, size_t len, int more)
{
	im_stream *s = ctx;
	conn *c = s->cur;
	size_t n;
	const uint8_t *out = im_zmtp_output(c->z, &n);
	if (n > 0) {
		if (send_to(s, c->id, c->idlen, out, n) != 0)
			return IM_EAGAIN;
		im_zmtp_output_sent(c->z);
	}
	s->first = !c->more;
	c->more = more;
	return s->fn(s->fn_ctx, data, len, more);
}

/* Feeds a chunk of c through relay. */
static int feed(im_stream *s, conn *c, const uint8_t *data, size_t len,
		im_zmtp_frame_fn fn, void *ctx)
{
	s->cur = c;
	s->fn = fn;
	s->fn_ctx = ctx;
	int rc = im_zmtp_feed(c->z, data, len, relay, s);
	s->cur = NULL;
	return rc;
}

/* One [id, data] pair from the socket. */
static int on_chunk(im_stream *s, zmq_msg_t *id, zmq_msg_t *data,
		    im_zmtp_frame_fn fn, void *ctx)
{
	size_t idlen = zmq_msg_size(id), len = zmq_msg_size(data);
	conn *c = find(s, zmq_msg_data(id), idlen);
	if (c && c->closing) {
		closing_chunk(s, c, len);
		return IM_OK;
	}
	if (len == 0) {
		/* Empty: a connection opened, or closed by the peer. */
		if (c)
			drop(s, c, 0);
		else
			open_conn(s, zmq_msg_data(id), idlen);
		return IM_OK;
	}
	if (!c)
		return IM_OK; /* bytes of a connection already closed */
	int was_ready = im_zmtp_ready(c->z);
	int rc = feed(s, c, zmq_msg_data(data), len, fn, ctx);
	if (rc == IM_OK) {
		/* A failure closes c: that peer's loss only. */
		if (flush(s, c) == IM_OK && !was_ready && im_zmtp_ready(c->z))
			announce_ready(s, c, data);
		return IM_OK;
	}
	if (im_zmtp_error(c->z)[0]) {
		protocol_error(s, c, rc, im_zmtp_error(c->z));
		return IM_OK;
	}
	drop(s, c, 1); /* fn stopped the feed */
	return rc;
}

/* Receives one part; IM_OK, IM_EAGAIN (none) or IM_ECANCELED. */
static int recv_part(im_stream *s, zmq_msg_t *m)
{
	if (zmq_msg_recv(m, s->o.sock, ZMQ_DONTWAIT) >= 0)
		return IM_OK;
	return zmq_errno() == ETERM ? IM_ECANCELED : IM_EAGAIN;
}

int im_stream_pump(im_stream *s, int budget, im_zmtp_frame_fn fn, void *ctx)
{
	int rc = IM_OK;
	for (int i = 0; i < budget && rc == IM_OK; i++) {
		zmq_msg_t id, data;
		zmq_msg_init(&id);
		zmq_msg_init(&data);
		rc = recv_part(s, &id);
		/* The data part always follows its id: a STREAM socket
		 * delivers the two at once. */
		if (rc == IM_OK)
			rc = recv_part(s, &data);
		if (rc == IM_OK)
			rc = on_chunk(s, &id, &data, fn, ctx);
		zmq_msg_close(&id);
		zmq_msg_close(&data);
	}
	return rc == IM_EAGAIN ? IM_OK : rc;
}

void im_stream_get_stats(im_stream *s, im_stream_stats *out)
{
	out->opened = __atomic_load_n(&s->st.opened, __ATOMIC_ACQUIRE);
	out->refused = __atomic_load_n(&s->st.refused, __ATOMIC_ACQUIRE);
	out->errors = __atomic_load_n(&s->st.errors, __ATOMIC_ACQUIRE);
	out->partial = __atomic_load_n(&s->st.partial, __ATOMIC_ACQUIRE);
	out->open = __atomic_load_n(&s->st.open, __ATOMIC_ACQUIRE);
}

const uint8_t *im_stream_peer(const im_stream *s, size_t *len)
{
	*len = s->cur ? s->cur->idlen : 0;
	return s->cur ? s->cur->id : NULL;
}

int im_stream_first_part(const im_stream *s)
{
	return s->cur ? s->first : 0;
}
