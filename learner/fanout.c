// SPDX-License-Identifier: Apache-2.0
#include "fanout.h"

#include "err.h"
#include "log.h"
#include "zmtp.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <stddef.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zmq.h>

#define ID_MAX 255

/* One broadcast buffer: the frame header and the packed Params. */
typedef struct fbuf {
	uint8_t *data;
	size_t cap;
	size_t len;   /* atomic: the bytes of its broadcast */
	uint64_t seq; /* the fan-out thread's number of its broadcast */
	/* Atomic: one for the mailbox or the newest slot, one per message
	 * libzmq holds.  0: free for the publisher. */
	int refs;
} fbuf;

/* One ready connection, or one closed whose message libzmq still holds
 * (retired: reused once held is 0). */
typedef struct entry {
	struct im_fanout *f;
	uint8_t id[ID_MAX];
	size_t idlen;
	int active;       /* ready and open; the thread's */
	int held;         /* atomic: messages libzmq holds for it, 0 or 1 */
	fbuf *holding;    /* the buffer of that message */
	uint64_t sent;    /* seq of the last broadcast it was sent */
	uint64_t sent_ms; /* when */
	/* Its reading: the bytes the peer had acknowledged (TCP_INFO) when
	 * last looked at, and when they last grew (fd_progress()). */
	uint64_t acked, moved_ms;
	/* Its TCP socket, as libzmq reported it when it became ready, and
	 * both ends' addresses then (fd -1: unknown; fd_kill()). */
	int fd;
	struct sockaddr_storage peer, local;
	socklen_t peerlen, locallen;
} entry;

struct im_fanout {
	im_fanout_opts o;
	im_stream *stream;
	fbuf *pool;
	entry *entries; /* twice max_conns: room for retired ones */
	size_t nent;
	pthread_mutex_t mu;
	fbuf *mailbox; /* guarded by mu */
	fbuf *newest;  /* the thread's */
	uint64_t seq;
	int efd;
	pthread_t thread;
	int running, stop; /* stop: atomic */
	uint64_t refused;  /* atomic; the stream counts its own */
	im_fanout_stats st;
};

static void count(uint64_t *c, uint64_t n)
{
	__atomic_add_fetch(c, n, __ATOMIC_RELEASE);
}

static void unref(fbuf *b)
{
	__atomic_sub_fetch(&b->refs, 1, __ATOMIC_ACQ_REL);
}

/* libzmq's free callback, on whichever thread released the message. */
static void msg_freed(void *data, void *hint)
{
	(void)data;
	entry *e = hint;
	unref(__atomic_load_n(&e->holding, __ATOMIC_ACQUIRE));
	__atomic_sub_fetch(&e->held, 1, __ATOMIC_RELEASE);
}

static int held(entry *e)
{
	return __atomic_load_n(&e->held, __ATOMIC_ACQUIRE);
}

/* ---- the connections (the fan-out thread) ---------------------------- */

static entry *find_active(im_fanout *f, const uint8_t *id, size_t idlen)
{
	for (size_t i = 0; i < f->nent; i++) {
		entry *e = &f->entries[i];
		if (e->active && e->idlen == idlen && !memcmp(e->id, id, idlen))
			return e;
	}
	return NULL;
}

/* Records e's descriptor and both its addresses, to recognise it later. */
static void fd_note(entry *e, int fd)
{
	e->peerlen = sizeof e->peer;
	e->locallen = sizeof e->local;
	e->fd = fd;
	if (fd < 0 || getpeername(fd, (struct sockaddr *)&e->peer, &e->peerlen) ||
	    getsockname(fd, (struct sockaddr *)&e->local, &e->locallen))
		e->fd = -1;
}

/* 1 when fd's two addresses are those noted for e. */
static int fd_matches(const entry *e, int fd)
{
	struct sockaddr_storage peer, local;
	socklen_t pl = sizeof peer, ll = sizeof local;
	return !getpeername(fd, (struct sockaddr *)&peer, &pl) &&
	       !getsockname(fd, (struct sockaddr *)&local, &ll) &&
	       pl == e->peerlen && ll == e->locallen &&
	       !memcmp(&peer, &e->peer, pl) && !memcmp(&local, &e->local, ll);
}

/* Shuts e's TCP socket for reading, if it is still the one noted: libzmq
 * reads the end of input, fails the connection and lets go of the
 * broadcast its engine holds, which the empty frame alone does not do
 * while the peer does not read (the engine waits to finish writing it).
 * The addresses are compared first, so that a descriptor libzmq already
 * closed and the kernel gave to something else is never touched.
 *
 * Both on a duplicate of the descriptor, taken first (the last review's
 * finding 3): on libzmq's own descriptor, libzmq's I/O thread could
 * close it between the comparison and shutdown(), and the kernel give
 * the number to a new socket, which shutdown() would then hit.  The
 * duplicate is ours: whatever libzmq does meanwhile, it names the
 * socket the comparison saw until we close it.  What remains: a number
 * already reused before the duplicate is taken, by a socket with the
 * same two addresses (the same peer's address and port on the same
 * port of ours, while the old connection's TIME_WAIT holds that pair):
 * not in practice; and, with no descriptor to spare for the duplicate,
 * the old window on libzmq's.  The duplicate lives for three system
 * calls, and libzmq removes a descriptor from its epoll set before it
 * closes it, so a duplicate open at that moment leaves no stale
 * registration.  (Sending libzmq the close after shutdown() instead
 * was tried: libzmq then at times sees the end of input first, refuses the
 * close for a routing id it already dropped, and the stream keeps the
 * slot until the close notification: learner_fanout's
 * test_held_too_long_is_closed saw the connection still open in 3 of 90
 * runs under load.) */
static void fd_kill(entry *e)
{
	if (e->fd < 0)
		return;
	int fd = fcntl(e->fd, F_DUPFD_CLOEXEC, 0);
	/* No descriptor to spare (EMFILE): on libzmq's, with the window,
	 * rather than leave the broadcast held. */
	int use = fd >= 0 ? fd : e->fd;
	if (fd_matches(e, use))
		shutdown(use, SHUT_RD);
	if (fd >= 0)
		close(fd);
	e->fd = -1;
}

/* The bytes e's peer has acknowledged (tcp_info's tcpi_bytes_acked,
 * Linux 4.1), or 0 when unknown: no descriptor, not the one noted, or an
 * older kernel.  Reading it on a reused descriptor would only misjudge. */
static uint64_t fd_acked(const entry *e)
{
	struct tcp_info ti;
	socklen_t len = sizeof ti;
	memset(&ti, 0, sizeof ti);
	if (e->fd < 0 || getsockopt(e->fd, IPPROTO_TCP, TCP_INFO, &ti, &len) ||
	    len < offsetof(struct tcp_info, tcpi_bytes_acked) + sizeof ti.tcpi_bytes_acked)
		return 0;
	return ti.tcpi_bytes_acked;
}

/* Notes whether e's peer acknowledged bytes since the last look. */
static void fd_progress(entry *e, uint64_t now)
{
	uint64_t acked = fd_acked(e);
	if (acked != e->acked)
		e->moved_ms = now;
	e->acked = acked;
}

static void on_conn(void *ctx, const uint8_t *id, size_t idlen, int ready, int fd)
{
	im_fanout *f = ctx;
	entry *e = find_active(f, id, idlen);
	if (!ready) {
		if (e)
			e->active = 0; /* retired until libzmq lets go */
		return;
	}
	for (size_t i = 0; i < f->nent && !e; i++)
		if (!f->entries[i].active && held(&f->entries[i]) == 0)
			e = &f->entries[i];
	if (!e || idlen > ID_MAX) {
		count(&f->refused, 1);
		im_stream_hangup(f->stream, id, idlen);
		return;
	}
	memcpy(e->id, id, idlen);
	e->idlen = idlen;
	e->active = 1;
	e->sent = 0;
	fd_note(e, fd);
}

static void hang_up(im_fanout *f, entry *e)
{
	count(&f->st.closed_slow, 1);
	im_stream_hangup(f->stream, e->id, e->idlen); /* retires e */
	e->active = 0;
	fd_kill(e);
}

/* Sends the newest broadcast to e, which holds none: [id, message]. */
static void send_newest(im_fanout *f, entry *e, uint64_t now)
{
	fbuf *b = f->newest;
	size_t len = __atomic_load_n(&b->len, __ATOMIC_ACQUIRE);
	zmq_msg_t m;
	/* Atomic: libzmq's thread reads it in the callback, through
	 * synchronisation a thread sanitizer does not see (libzmq's). */
	__atomic_store_n(&e->holding, b, __ATOMIC_RELEASE);
	__atomic_add_fetch(&b->refs, 1, __ATOMIC_ACQ_REL);
	__atomic_store_n(&e->held, 1, __ATOMIC_RELEASE);
	if (zmq_msg_init_data(&m, b->data, len, msg_freed, e) != 0) {
		msg_freed(b->data, e);
		return;
	}
	e->sent = b->seq; /* also on failure: it waits for the next one */
	e->sent_ms = e->moved_ms = now;
	e->acked = fd_acked(e);
	/* The routing id is refused (EAGAIN) only on a full pipe, which
	 * one message at a time never makes; the message is then closed
	 * here, and the callback runs. */
	if (zmq_send(f->o.sock, e->id, e->idlen, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
	    zmq_msg_send(&m, f->o.sock, ZMQ_DONTWAIT) < 0) {
		zmq_msg_close(&m);
		return;
	}
	count(&f->st.sent, 1);
}

/* Sends the newest broadcast to each free connection that lacks it, and
 * closes those that held one longer than slow_ms. */
static void sweep(im_fanout *f)
{
	uint64_t now = im_now_ms();
	for (size_t i = 0; i < f->nent; i++) {
		entry *e = &f->entries[i];
		if (!e->active)
			continue;
		if (held(e) == 0) {
			if (f->newest && e->sent < f->newest->seq)
				send_newest(f, e, now);
		} else if (now - e->sent_ms >= (uint64_t)f->o.slow_ms) {
			hang_up(f, e);
		}
	}
}

/* 1 when a free connection still lacks the newest: sweep again soon. */
static int behind(im_fanout *f)
{
	for (size_t i = 0; f->newest && i < f->nent; i++) {
		entry *e = &f->entries[i];
		if (e->active && e->sent < f->newest->seq)
			return 1;
	}
	return 0;
}

/* ---- the pool's budget (the fan-out thread) --------------------------- */

static int buffers_in_use(im_fanout *f)
{
	int n = 0;
	for (int i = 0; i < f->o.buffers; i++)
		n += __atomic_load_n(&f->pool[i].refs, __ATOMIC_ACQUIRE) > 0;
	return n;
}

/* When at most one buffer is free, closes the connections that hold the
 * oldest broadcast still held (the slowest readers) and have read none
 * of it for stall_ms, or held it for pressure_ms; those that still read
 * it are honest readers on slow links (fanout.h). */
static void enforce_budget(im_fanout *f)
{
	if (buffers_in_use(f) < f->o.buffers - 1)
		return;
	fbuf *oldest = NULL;
	for (size_t i = 0; i < f->nent; i++) {
		entry *e = &f->entries[i];
		if (e->active && held(e) && e->holding != f->newest &&
		    (!oldest || e->holding->seq < oldest->seq))
			oldest = e->holding;
	}
	uint64_t now = im_now_ms();
	for (size_t i = 0; oldest && i < f->nent; i++) {
		entry *e = &f->entries[i];
		if (!e->active || !held(e) || e->holding != oldest)
			continue;
		fd_progress(e, now);
		if (now - e->moved_ms >= (uint64_t)f->o.stall_ms ||
		    now - e->sent_ms >= (uint64_t)f->o.pressure_ms)
			hang_up(f, e);
	}
}

/* Takes the mailbox's broadcast as the newest. */
static void take_mailbox(im_fanout *f)
{
	uint64_t one;
	if (read(f->efd, &one, sizeof one) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&f->mu);
	fbuf *b = f->mailbox;
	f->mailbox = NULL;
	pthread_mutex_unlock(&f->mu);
	if (!b)
		return;
	if (f->newest)
		unref(f->newest);
	f->newest = b;
	b->seq = ++f->seq;
	count(&f->st.broadcasts, 1);
	for (size_t i = 0; i < f->nent; i++)
		if (f->entries[i].active && held(&f->entries[i]))
			count(&f->st.skipped, 1);
	enforce_budget(f);
}

/* Subscriptions and anything else a SUB sends: read and ignored. */
static int ignore_frame(void *ctx, const uint8_t *data, size_t len, int more)
{
	(void)ctx, (void)data, (void)len, (void)more;
	return 0;
}

static void *fanout_main(void *arg)
{
	im_fanout *f = arg;
	while (!__atomic_load_n(&f->stop, __ATOMIC_ACQUIRE)) {
		zmq_pollitem_t it[2] = {{.socket = f->o.sock, .events = ZMQ_POLLIN},
					{.fd = f->efd, .events = ZMQ_POLLIN}};
		int n = zmq_poll(it, 2, behind(f) ? 5 : f->o.poll_ms);
		if (n < 0 && zmq_errno() == ETERM)
			break;
		if (n > 0 && (it[1].revents & ZMQ_POLLIN))
			take_mailbox(f);
		if (n > 0 && (it[0].revents & ZMQ_POLLIN) &&
		    im_stream_pump(f->stream, 64, ignore_frame, f) == IM_ECANCELED)
			break;
		sweep(f);
		/* The pool short: the oldest holders' time may have come
		 * since the last broadcast (and with every buffer in use, no
		 * broadcast comes to trigger it). */
		enforce_budget(f);
	}
	return NULL;
}

/* ---- the publisher's side --------------------------------------------- */

/* A free buffer, now the caller's (refs 1), or NULL. */
static fbuf *acquire(im_fanout *f)
{
	for (int i = 0; i < f->o.buffers; i++) {
		int zero = 0;
		if (__atomic_compare_exchange_n(&f->pool[i].refs, &zero, 1, 0,
						__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			return &f->pool[i];
	}
	return NULL;
}

int im_fanout_broadcast(im_fanout *f, size_t len,
			void (*fill)(void *ctx, uint8_t *body), void *ctx)
{
	fbuf *b = acquire(f);
	if (!b) {
		count(&f->st.pool_empty, 1);
		return IM_EAGAIN;
	}
	uint8_t hdr[IM_ZMTP_HEADER_MAX];
	size_t hl = im_zmtp_frame_header(hdr, len, 0);
	if (b->cap < hl + len) {
		uint8_t *d = realloc(b->data, hl + len);
		if (!d) {
			unref(b);
			return IM_ENOMEM;
		}
		b->data = d;
		b->cap = hl + len;
	}
	memcpy(b->data, hdr, hl);
	fill(ctx, b->data + hl);
	__atomic_store_n(&b->len, hl + len, __ATOMIC_RELEASE);
	pthread_mutex_lock(&f->mu);
	fbuf *old = f->mailbox;
	f->mailbox = b;
	pthread_mutex_unlock(&f->mu);
	if (old)
		unref(old); /* never taken: only the newest counts */
	uint64_t one = 1;
	if (write(f->efd, &one, sizeof one) < 0)
		return IM_OK; /* the counter is full: a wake-up is pending */
	return IM_OK;
}

/* ---- lifetime ---------------------------------------------------------- */

static int check_opts(im_fanout_opts *o)
{
	int type = 0;
	size_t tl = sizeof type;
	if (!o->sock || zmq_getsockopt(o->sock, ZMQ_TYPE, &type, &tl) != 0 ||
	    type != ZMQ_STREAM)
		return IM_EINVAL;
	if (o->max_conns == 0)
		o->max_conns = IM_STREAM_MAX_CONNS;
	if (o->buffers == 0)
		o->buffers = IM_FANOUT_BUFFERS;
	if (o->slow_ms <= 0)
		o->slow_ms = IM_FANOUT_SLOW_MS;
	if (o->pressure_ms <= 0)
		o->pressure_ms = IM_FANOUT_PRESSURE_MS;
	if (o->stall_ms <= 0)
		o->stall_ms = IM_FANOUT_STALL_MS;
	if (o->poll_ms <= 0)
		o->poll_ms = 100;
	return o->buffers < 3 ? IM_EINVAL : IM_OK;
}

static void on_error(void *ctx, int rc, const char *why)
{
	im_fanout *f = ctx;
	if (f->o.on_error)
		f->o.on_error(f->o.ctx, rc, why);
}

static int make_stream(im_fanout *f)
{
	im_stream_opts so = {.sock = f->o.sock,
			     .max_conns = f->o.max_conns,
			     .max_frame = IM_FANOUT_MAX_SUB,
			     .on_error = on_error,
			     .ctx = f,
			     .socket_type = "PUB",
			     .peer_type = "SUB",
			     .on_conn = on_conn};
	return im_stream_new(&f->stream, &so);
}

int im_fanout_new(im_fanout **out, const im_fanout_opts *o)
{
	if (!out || !o)
		return IM_EINVAL;
	im_fanout_opts oo = *o;
	int rc = check_opts(&oo);
	if (rc)
		return rc;
	im_fanout *f = calloc(1, sizeof *f);
	if (!f)
		return IM_ENOMEM;
	f->o = oo;
	f->efd = -1;
	pthread_mutex_init(&f->mu, NULL);
	f->nent = 2 * (size_t)oo.max_conns;
	f->pool = calloc((size_t)oo.buffers, sizeof *f->pool);
	f->entries = calloc(f->nent, sizeof *f->entries);
	rc = IM_ENOMEM;
	if (!f->pool || !f->entries || (rc = make_stream(f)))
		goto fail;
	for (size_t i = 0; i < f->nent; i++)
		f->entries[i].f = f;
	rc = IM_ESYS;
	if ((f->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
		goto fail;
	int e = pthread_create(&f->thread, NULL, fanout_main, f);
	if (e) {
		errno = e;
		goto fail;
	}
	pthread_setname_np(f->thread, "im-fanout"); /* for top -H, perf */
	f->running = 1;
	*out = f;
	return IM_OK;
fail:
	im_fanout_free(f);
	return rc;
}

void im_fanout_stop(im_fanout *f)
{
	if (!f || !f->running)
		return;
	__atomic_store_n(&f->stop, 1, __ATOMIC_RELEASE);
	uint64_t one = 1;
	if (write(f->efd, &one, sizeof one) < 0)
		im_debug("fan-out: wake-up not written");
	pthread_join(f->thread, NULL);
	f->running = 0;
}

void im_fanout_free(im_fanout *f)
{
	if (!f)
		return;
	im_fanout_stop(f);
	im_stream_free(f->stream);
	if (f->efd >= 0)
		close(f->efd);
	for (int i = 0; f->pool && i < f->o.buffers; i++)
		free(f->pool[i].data);
	free(f->pool);
	free(f->entries);
	pthread_mutex_destroy(&f->mu);
	free(f);
}

void im_fanout_get_stats(im_fanout *f, im_fanout_stats *out)
{
	im_stream_get_stats(f->stream, &out->conns);
	out->conns.refused += __atomic_load_n(&f->refused, __ATOMIC_ACQUIRE);
	out->broadcasts = __atomic_load_n(&f->st.broadcasts, __ATOMIC_ACQUIRE);
	out->sent = __atomic_load_n(&f->st.sent, __ATOMIC_ACQUIRE);
	out->skipped = __atomic_load_n(&f->st.skipped, __ATOMIC_ACQUIRE);
	out->closed_slow = __atomic_load_n(&f->st.closed_slow, __ATOMIC_ACQUIRE);
	out->pool_empty = __atomic_load_n(&f->st.pool_empty, __ATOMIC_ACQUIRE);
	uint64_t bytes = 0;
	for (int i = 0; i < f->o.buffers; i++)
		if (__atomic_load_n(&f->pool[i].refs, __ATOMIC_ACQUIRE) > 0)
			bytes += __atomic_load_n(&f->pool[i].len, __ATOMIC_ACQUIRE);
	out->held_bytes = bytes;
}
