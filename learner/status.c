// SPDX-License-Identifier: Apache-2.0
/* The status server: one libuv loop on its own thread. */
#include "status.h"

#include "dash.h"
#include "err.h"
#include "http.h"
#include "heap.h"
#include "procstat.h"

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

/* How long a connection may stay after its response, for the client to
 * read it and close. */
#define LINGER_MS 1000u

struct im_status {
	uv_loop_t loop;
	uv_tcp_t server;
	uv_async_t stop;
	uv_thread_t thread;
	pthread_mutex_t mu;         /* guards shared */
	im_status_snapshot *shared; /* last published */
	im_status_snapshot *local;  /* the loop thread's copy for rendering */
	int port;
	int timeout_ms;
	int max_conns;
	int n_conns; /* loop thread only */
	/* Open connections not yet closing, oldest first (loop thread
	 * only): when all max_conns are taken, a new client evicts the
	 * head, so idle connections cannot lock monitoring out. */
	struct conn *oldest, *newest;
	int n_live;
	const im_dash *dash; /* extra routes, or NULL */
};

/* One client connection.  Two handles (tcp, timer); freed when both have
 * closed. */
typedef struct conn {
	uv_tcp_t tcp;
	uv_timer_t timer;
	uv_write_t wr;
	uv_shutdown_t sd;
	im_status *srv;
	struct conn *prev, *next; /* in srv's list while live */
	int handles;              /* open handles left to close */
	int closing;
	int responded;
	size_t len;
	char *resp; /* response being written; owned */
	char head[IM_STATUS_MAX_HEAD + 1];
} conn;

/* ---- connection lifetime ---- */

static void on_handle_closed(uv_handle_t *h)
{
	conn *c = h->data;
	if (--c->handles > 0)
		return;
	c->srv->n_conns--;
	free(c->resp);
	free(c);
}

static void list_add(im_status *s, conn *c)
{
	c->prev = s->newest;
	c->next = NULL;
	if (s->newest)
		s->newest->next = c;
	else
		s->oldest = c;
	s->newest = c;
	s->n_live++;
}

static void list_remove(im_status *s, conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		s->oldest = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		s->newest = c->prev;
	c->prev = c->next = NULL;
	s->n_live--;
}

static void conn_close(conn *c)
{
	if (c->closing)
		return;
	c->closing = 1;
	list_remove(c->srv, c);
	uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
	if (c->handles == 2)
		uv_close((uv_handle_t *)&c->timer, on_handle_closed);
}

static void on_deadline(uv_timer_t *t)
{
	conn_close(t->data);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
	if (status < 0)
		conn_close(req->data);
}

/* After the response: half-close, then keep reading (and discarding) until
 * the client closes or the linger deadline passes.  Closing at once with
 * unread input would send a reset that can destroy the response before
 * the client reads it. */
static void on_written(uv_write_t *req, int status)
{
	conn *c = req->data;
	if (status < 0 || c->closing ||
	    uv_shutdown(&c->sd, (uv_stream_t *)&c->tcp, on_shutdown) != 0)
		conn_close(c);
}

/* ---- responses ---- */

static const char *reason_phrase(int code)
{
	switch (code) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	default:
		return "Internal Server Error";
	}
}

/* Sends a complete response; body stays the caller's. */
static void respond(conn *c, int code, const char *ctype, const char *body,
		    size_t blen)
{
	char hdr[256];
	int n = snprintf(hdr, sizeof hdr,
			 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
			 "Content-Length: %zu\r\nConnection: close\r\n%s\r\n",
			 code, reason_phrase(code), ctype, blen,
			 code == 405 ? "Allow: GET\r\n" : "");
	c->responded = 1;
	c->len = 0;
	uint64_t left = uv_timer_get_due_in(&c->timer);
	uv_timer_start(&c->timer, on_deadline, left < LINGER_MS ? left : LINGER_MS,
		       0);
	c->resp = malloc((size_t)n + blen);
	if (!c->resp) {
		conn_close(c);
		return;
	}
	memcpy(c->resp, hdr, (size_t)n);
	memcpy(c->resp + n, body, blen);
	uv_buf_t buf = uv_buf_init(c->resp, (unsigned)((size_t)n + blen));
	c->wr.data = c;
	c->sd.data = c;
	if (uv_write(&c->wr, (uv_stream_t *)&c->tcp, &buf, 1, on_written) != 0)
		conn_close(c);
}

static void respond_text(conn *c, int code, const char *text)
{
	respond(c, code, "text/plain; charset=utf-8", text, strlen(text));
}

/* The figures only this thread knows: the process's resources, read now,
 * and the status port's open connections. */
static void add_process_stats(im_status_snapshot *snap, const im_status *s)
{
	im_procstat ps;
	(void)im_procstat_read(&ps); /* zeros when /proc is unreadable */
	snap->rss_bytes = ps.rss_bytes;
	im_heap_stats hs;
	im_heap_stats_read(&hs);
	snap->heap_system_bytes = hs.system_bytes;
	snap->heap_in_use_bytes = hs.in_use_bytes;
	snap->heap_free_bytes = hs.free_bytes;
	snap->open_fds = ps.open_fds;
	snap->open_sockets = ps.open_sockets;
	snap->max_fds = ps.max_fds;
	snap->status_conns = s->n_conns > 0 ? (uint32_t)s->n_conns : 0;
}

/* Renders the latest snapshot with fn and sends it. */
static void respond_rendered(conn *c, const char *ctype,
			     int (*fn)(const im_status_snapshot *, char **,
				       size_t *))
{
	im_status *s = c->srv;
	pthread_mutex_lock(&s->mu);
	memcpy(s->local, s->shared, sizeof *s->local);
	pthread_mutex_unlock(&s->mu);
	add_process_stats(s->local, s);
	char *doc = NULL;
	size_t len = 0;
	if (fn(s->local, &doc, &len) != IM_OK) {
		respond_text(c, 500, "out of memory\n");
		return;
	}
	respond(c, 200, ctype, doc, len);
	free(doc);
}

/* The dashboard's answer for target; 0 when the path is not its. */
static int respond_dash(conn *c, const char *target)
{
	im_dash_reply r;
	if (!c->srv->dash || !im_dash_route(c->srv->dash, target, &r))
		return 0;
	respond(c, r.code, r.content_type, r.body, r.len);
	free(r.owned);
	return 1;
}

static void route(conn *c, const char *target)
{
	size_t n = strcspn(target, "?#");
	if (n == 8 && memcmp(target, "/healthz", 8) == 0)
		respond_text(c, 200, "ok\n");
	else if (n == 7 && memcmp(target, "/status", 7) == 0)
		respond_rendered(c, "application/json", im_status_render_json);
	else if (n == 8 && memcmp(target, "/metrics", 8) == 0)
		respond_rendered(c, "text/plain; version=0.0.4; charset=utf-8",
				 im_status_render_metrics);
	else if (!respond_dash(c, target))
		respond_text(c, 404, "not found\n");
}

/* c->head holds a complete head (NUL-terminated). */
static void handle_request(conn *c)
{
	char *method, *target;
	if (!im_http_parse_request(c->head, &method, &target)) {
		respond_text(c, 400, "bad request\n");
		return;
	}
	if (strcmp(method, "GET") != 0) {
		respond_text(c, 405, "method not allowed\n");
		return;
	}
	route(c, target);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	conn *c = h->data;
	/* After the response, input is read into the head and discarded. */
	size_t room = c->responded ? IM_STATUS_MAX_HEAD : IM_STATUS_MAX_HEAD - c->len;
	*buf = uv_buf_init(c->head + c->len, (unsigned)room);
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
	conn *c = st->data;
	if (nread < 0) {
		conn_close(c);
		return;
	}
	if (nread == 0 || c->responded)
		return;
	c->len += (size_t)nread;
	c->head[c->len] = '\0';
	/* A NUL byte can only come from a broken or hostile client. */
	if (memchr(c->head, '\0', c->len)) {
		respond_text(c, 400, "bad request\n");
		return;
	}
	size_t end = im_http_head_end(c->head, c->len);
	if (end) {
		c->head[end] = '\0';
		handle_request(c);
	} else if (c->len >= IM_STATUS_MAX_HEAD) {
		respond_text(c, 400, "request head too large\n");
	}
}

/* ---- the listening socket ---- */

static void on_connection(uv_stream_t *server, int status)
{
	im_status *s = server->data;
	if (status < 0)
		return;
	conn *c = calloc(1, sizeof *c);
	if (!c)
		return;
	c->srv = s;
	uv_tcp_init(&s->loop, &c->tcp);
	c->tcp.data = c;
	c->handles = 1;
	s->n_conns++;
	/* All slots taken: the oldest connection makes room.  A client that
	 * opens connections and sends nothing (or reopens them as they
	 * close) can then only ever hold slots until newer clients come,
	 * and a monitoring request, answered within milliseconds of its
	 * connect, is evicted only if max_conns newer connections arrive in
	 * that time. */
	if (s->n_live >= s->max_conns && s->oldest)
		conn_close(s->oldest);
	list_add(s, c);
	if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
		conn_close(c);
		return;
	}
	uv_timer_init(&s->loop, &c->timer);
	c->timer.data = c;
	c->handles = 2;
	uv_timer_start(&c->timer, on_deadline, (uint64_t)s->timeout_ms, 0);
	if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0)
		conn_close(c);
}

static void close_walk(uv_handle_t *h, void *arg)
{
	im_status *s = arg;
	if (uv_is_closing(h))
		return;
	if (h == (uv_handle_t *)&s->server || h == (uv_handle_t *)&s->stop)
		uv_close(h, NULL);
	else
		conn_close(h->data);
}

static void on_stop(uv_async_t *a)
{
	im_status *s = a->data;
	uv_walk(&s->loop, close_walk, s);
}

static void loop_main(void *arg)
{
	im_status *s = arg;
	uv_run(&s->loop, UV_RUN_DEFAULT);
}

int im_status_port_ok(const char *port)
{
	/* getaddrinfo() takes any number and keeps its low 16 bits (99999
	 * would become 34463): only decimal 0-65535 is a port. */
	size_t n = strlen(port);
	if (n == 0 || n > 5 || strspn(port, "0123456789") != n)
		return 0;
	return atol(port) <= 65535;
}

/* Splits "host:port" / "[v6]:port" into host and port strings. */
static int split_addr(const char *addr, char *host, size_t hlen, char *port,
		      size_t plen)
{
	const char *colon = strrchr(addr, ':');
	if (!colon || !colon[1] || strlen(colon + 1) >= plen)
		return IM_EINVAL;
	const char *h = addr;
	size_t n = (size_t)(colon - addr);
	if (n >= 2 && addr[0] == '[' && colon[-1] == ']') {
		h++;
		n -= 2;
	}
	if (n == 0 || n >= hlen)
		return IM_EINVAL;
	memcpy(host, h, n);
	host[n] = '\0';
	strcpy(port, colon + 1);
	return im_status_port_ok(port) ? IM_OK : IM_EINVAL;
}

static int bind_listen(im_status *s, const char *addr)
{
	char host[256], port[16];
	if (split_addr(addr, host, sizeof host, port, sizeof port))
		return IM_EINVAL;
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_NUMERICSERV};
	struct addrinfo *ai = NULL;
	if (getaddrinfo(host, port, &hints, &ai) != 0 || !ai)
		return IM_EINVAL;
	int rc = uv_tcp_bind(&s->server, ai->ai_addr, 0);
	freeaddrinfo(ai);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&s->server, 64, on_connection);
	if (rc != 0) {
		errno = -rc;
		return IM_ESYS;
	}
	struct sockaddr_storage ss;
	int len = sizeof ss;
	uv_tcp_getsockname(&s->server, (struct sockaddr *)&ss, &len);
	s->port = ss.ss_family == AF_INET6
			  ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
			  : ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return IM_OK;
}

/* Starts the loop thread with the process's asynchronous signals blocked,
 * so they go to the program's own threads and a write to a vanished client
 * yields EPIPE instead of killing the learner with SIGPIPE. */
static int start_thread(im_status *s)
{
	sigset_t block, old;
	sigemptyset(&block);
	int sigs[] = {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD,
		      SIGUSR1, SIGUSR2, SIGALRM};
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		sigaddset(&block, sigs[i]);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	int rc = uv_thread_create(&s->thread, loop_main, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		errno = -rc;
		return IM_ESYS;
	}
	return IM_OK;
}

static void free_unstarted(im_status *s)
{
	/* Close whatever was initialised and let the loop finish it. */
	uv_walk(&s->loop, close_walk, s);
	uv_run(&s->loop, UV_RUN_DEFAULT);
	uv_loop_close(&s->loop);
	pthread_mutex_destroy(&s->mu);
	free(s->shared);
	free(s->local);
	free(s);
}

int im_status_new(im_status **out, const im_status_opts *o)
{
	if (!out || !o)
		return IM_EINVAL;
	im_status *s = calloc(1, sizeof *s);
	if (!s)
		return IM_ENOMEM;
	s->timeout_ms = o->read_timeout_ms > 0 ? o->read_timeout_ms : 5000;
	s->max_conns = o->max_conns > 0 ? o->max_conns : 64;
	s->dash = o->dash;
	s->shared = calloc(1, sizeof *s->shared);
	s->local = calloc(1, sizeof *s->local);
	if (!s->shared || !s->local || uv_loop_init(&s->loop) != 0) {
		free(s->shared);
		free(s->local);
		free(s);
		return IM_ENOMEM;
	}
	if (o->initial)
		memcpy(s->shared, o->initial, sizeof *s->shared);
	pthread_mutex_init(&s->mu, NULL);
	uv_tcp_init(&s->loop, &s->server);
	s->server.data = s;
	int rc = uv_async_init(&s->loop, &s->stop, on_stop);
	s->stop.data = s;
	rc = rc ? IM_ENOMEM
		: bind_listen(s, o->addr ? o->addr : IM_STATUS_DEFAULT_ADDR);
	if (rc == IM_OK)
		rc = start_thread(s);
	if (rc != IM_OK)
		goto fail;
	*out = s;
	return IM_OK;
fail:;
	int e = errno;
	free_unstarted(s);
	errno = e;
	return rc;
}

int im_status_port(const im_status *s)
{
	return s->port;
}

void im_status_publish(im_status *s, const im_status_snapshot *snap)
{
	pthread_mutex_lock(&s->mu);
	memcpy(s->shared, snap, sizeof *snap);
	pthread_mutex_unlock(&s->mu);
}

int im_status_close(im_status *s)
{
	if (!s)
		return IM_OK;
	uv_async_send(&s->stop);
	uv_thread_join(&s->thread);
	int rc = uv_loop_close(&s->loop) == 0 ? IM_OK : IM_ESTATE;
	pthread_mutex_destroy(&s->mu);
	free(s->shared);
	free(s->local);
	free(s);
	return rc;
}

void im_status_free(im_status *s)
{
	(void)im_status_close(s);
}
