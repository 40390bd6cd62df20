// SPDX-License-Identifier: Apache-2.0
/* The status server on a free loopback port, driven by a raw socket client:
 * each endpoint's status and content, JSON that parses, metrics that parse
 * as Prometheus text exposition, 404/400/405 for unknown paths, malformed
 * and non-GET requests, oversized heads refused, a stalled client that
 * neither blocks a concurrent /healthz nor outlives its deadline, the
 * connection limit (the oldest connection makes room), the snapshot
 * served before the first publish, and a clean shutdown with no handle left open. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "heap.h"
#include "status.h"

/* ---- a raw client ---- */

static int dial(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	struct timeval tv = {5, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
	return fd;
}

static void send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		assert_true(w > 0);
		p += w;
		n -= (size_t)w;
	}
}

/* Reads until EOF (the server closes after each response); NUL-terminated. */
static size_t read_all(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	for (;;) {
		ssize_t r = recv(fd, buf + n, cap - 1 - n, 0);
		if (r <= 0)
			break;
		n += (size_t)r;
		if (n == cap - 1)
			break;
	}
	buf[n] = '\0';
	return n;
}

/* One request of n bytes; returns the status code, the response in resp. */
static int request_n(int port, const char *req, size_t n, char *resp,
		     size_t cap)
{
	int fd = dial(port);
	send_all(fd, req, n);
	size_t got = read_all(fd, resp, cap);
	close(fd);
	int code = 0;
	if (got < 12 || sscanf(resp, "HTTP/1.1 %d ", &code) != 1)
		return -1;
	return code;
}

static int request(int port, const char *req, char *resp, size_t cap)
{
	return request_n(port, req, strlen(req), resp, cap);
}

static const char *body_of(const char *resp)
{
	const char *p = strstr(resp, "\r\n\r\n");
	assert_non_null(p);
	return p + 4;
}

/* ---- a minimal JSON checker (RFC 8259 grammar, no semantics) ---- */

static const char *js_value(const char *p);

static const char *js_ws(const char *p)
{
	while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
		p++;
	return p;
}

static const char *js_string(const char *p)
{
	if (*p++ != '"')
		return NULL;
	for (; *p != '"'; p++) {
		if ((unsigned char)*p < 0x20)
			return NULL;
		if (*p != '\\')
			continue;
		p++;
		if (*p == 'u') {
			for (int i = 1; i <= 4; i++)
				if (!isxdigit((unsigned char)p[i]))
					return NULL;
			p += 4;
		} else if (!strchr("\"\\/bfnrt", *p) || !*p) {
			return NULL;
		}
	}
	return p + 1;
}

static const char *js_number(const char *p)
{
	const char *s = p;
	if (*p == '-')
		p++;
	if (!isdigit((unsigned char)*p))
		return NULL;
	while (isdigit((unsigned char)*p) || strchr(".eE+-", *p))
		p++;
	char *end;
	strtod(s, &end);
	return end == p ? p : NULL;
}

static const char *js_seq(const char *p, char close, int keyed)
{
	p = js_ws(p + 1);
	if (*p == close)
		return p + 1;
	for (;;) {
		if (keyed) {
			p = js_string(js_ws(p));
			if (!p || *(p = js_ws(p)) != ':')
				return NULL;
			p++;
		}
		p = js_value(p);
		if (!p)
			return NULL;
		p = js_ws(p);
		if (*p == close)
			return p + 1;
		if (*p++ != ',')
			return NULL;
	}
}

static const char *js_value(const char *p)
{
	p = js_ws(p);
	if (*p == '{')
		return js_seq(p, '}', 1);
	if (*p == '[')
		return js_seq(p, ']', 0);
	if (*p == '"')
		return js_string(p);
	if (!strncmp(p, "true", 4) || !strncmp(p, "null", 4))
		return p + 4;
	if (!strncmp(p, "false", 5))
		return p + 5;
	return js_number(p);
}

static int json_valid(const char *p)
{
	p = js_value(p);
	return p && *js_ws(p) == '\0';
}

/* ---- a Prometheus text exposition (0.0.4) checker ---- */

#define MAX_FAMILIES 64

typedef struct families {
	char name[MAX_FAMILIES][96];
	char type[MAX_FAMILIES][16];
	int n;
} families;

static const char *prom_name(const char *p, char *out, size_t cap)
{
	size_t n = 0;
	if (!(isalpha((unsigned char)*p) || *p == '_' || *p == ':'))
		return NULL;
	while (isalnum((unsigned char)p[n]) || p[n] == '_' || p[n] == ':')
		n++;
	if (n >= cap)
		return NULL;
	memcpy(out, p, n);
	out[n] = '\0';
	return p + n;
}

static const char *prom_labels(const char *p)
{
	char name[96];
	if (*p != '{')
		return p;
	p++;
	while (*p != '}') {
		if (!(p = prom_name(p, name, sizeof name)) || *p++ != '=' ||
		    *p++ != '"')
			return NULL;
		for (; *p != '"'; p++) {
			if (!*p || *p == '\n')
				return NULL;
			if (*p == '\\' && !strchr("\\\"n", *++p))
				return NULL;
		}
		p++;
		if (*p == ',')
			p++;
		else if (*p != '}')
			return NULL;
	}
	return p + 1;
}

static int prom_value_ok(const char *v)
{
	if (!strcmp(v, "NaN") || !strcmp(v, "+Inf") || !strcmp(v, "-Inf"))
		return 1;
	char *end;
	strtod(v, &end);
	return end != v && *end == '\0';
}

static int family_index(const families *f, const char *name)
{
	for (int i = 0; i < f->n; i++)
		if (!strcmp(f->name[i], name))
			return i;
	return -1;
}

static void prom_comment(families *f, const char *line)
{
	char name[96], type[32];
	if (!strncmp(line, "# TYPE ", 7)) {
		assert_int_equal(sscanf(line + 7, "%95s %31s", name, type), 2);
		assert_true(prom_name(name, name, sizeof name) != NULL);
		assert_true(!strcmp(type, "counter") || !strcmp(type, "gauge"));
		/* A family is typed once, and counters end in _total. */
		assert_int_equal(family_index(f, name), -1);
		size_t n = strlen(name);
		if (!strcmp(type, "counter"))
			assert_true(n > 6 && !strcmp(name + n - 6, "_total"));
		assert_true(f->n < MAX_FAMILIES);
		strcpy(f->name[f->n], name);
		strcpy(f->type[f->n++], type);
	} else if (!strncmp(line, "# HELP ", 7)) {
		assert_int_equal(sscanf(line + 7, "%95s", name), 1);
	}
}

static void prom_sample(const families *f, const char *line)
{
	char name[96];
	const char *p = prom_name(line, name, sizeof name);
	if (!p)
		fail_msg("bad metric name in: %s", line);
	/* Every sample belongs to a family typed before it. */
	if (family_index(f, name) < 0)
		fail_msg("sample before its # TYPE: %s", line);
	p = prom_labels(p);
	if (!p || *p++ != ' ')
		fail_msg("bad labels in: %s", line);
	if (!prom_value_ok(p))
		fail_msg("bad value in: %s", line);
}

static int check_exposition(char *text)
{
	families *f = calloc(1, sizeof *f);
	assert_non_null(f);
	size_t len = strlen(text);
	assert_true(len > 0 && text[len - 1] == '\n');
	int samples = 0;
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		if (line[0] == '#') {
			prom_comment(f, line);
		} else {
			prom_sample(f, line);
			samples++;
		}
	}
	free(f);
	return samples;
}

/* The value of the sample whose name-and-labels is key, or NAN. */
static double sample_value(const char *text, const char *key)
{
	size_t n = strlen(key);
	for (const char *p = text; (p = strstr(p, key)); p += n)
		if ((p == text || p[-1] == '\n') && p[n] == ' ')
			return strtod(p + n + 1, NULL);
	return NAN;
}

/* ---- fixtures ---- */

static im_status *start(int timeout_ms, int max_conns)
{
	im_status_opts o = {.addr = "127.0.0.1:0",
			    .read_timeout_ms = timeout_ms,
			    .max_conns = max_conns};
	im_status *s = NULL;
	assert_int_equal(im_status_new(&s, &o), IM_OK);
	assert_true(im_status_port(s) > 0);
	return s;
}

static void fill_snapshot(im_status_snapshot *s)
{
	memset(s, 0, sizeof *s);
	s->run_id = 0xabc;
	strcpy(s->env, "CartPole-v1");
	strcpy(s->tag, "test");
	s->frames = 12345;
	s->updates = 77;
	s->frames_per_s = 2500.5;
	s->mean_return = NAN;
	s->mean_length = NAN;
	s->total_loss = 1.5;
	s->store_depth = 3;
	s->store_capacity = 60;
	s->dropped[IM_REJECT_NON_FINITE] = 7;
	s->dropped[IM_REJECT_BAD_ACTION] = 2;
	s->unroll_seq_gaps = 4;
	s->unroll_seq_repeats = 1;
	s->n_actors = 2;
	s->actors[0] = (im_status_actor){.id = 5, .host = "node-1", .frames = 1000, .unrolls = 10, .last_seen_s = 0.25, .lag = 3};
	s->actors[1] = (im_status_actor){.id = 6, .host = "evil\"host\n\\", .frames = 2000, .unrolls = 20, .last_seen_s = 1.5, .lag = 1};
}

#define RESP_CAP (1 << 18)

static void test_endpoints(void **state)
{
	(void)state;
	im_status *s = start(2000, 16);
	int port = im_status_port(s);
	im_status_snapshot *snap = malloc(sizeof *snap);
	fill_snapshot(snap);
	im_status_publish(s, snap);
	char *r = malloc(RESP_CAP);
	assert_int_equal(request(port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", r, RESP_CAP), 200);
	assert_string_equal(body_of(r), "ok\n");

	assert_int_equal(request(port, "GET /status HTTP/1.1\r\n\r\n", r, RESP_CAP), 200);
	assert_non_null(strstr(r, "Content-Type: application/json"));
	const char *js = body_of(r);
	if (!json_valid(js))
		fail_msg("invalid JSON: %s", js);
	assert_non_null(strstr(js, "\"run_id\":\"0000000000000abc\""));
	assert_non_null(strstr(js, "\"mean_return\":null"));
	assert_non_null(strstr(js, "\"non_finite\":7"));
	assert_non_null(strstr(js, "\"host\":\"evil\\\"host\\u000a\\\\\""));
	assert_non_null(strstr(js, "\"frames\":12345"));
	assert_non_null(strstr(js, "\"unroll_seq_gaps\":4,"));
	assert_non_null(strstr(js, "\"unroll_seq_repeats\":1,"));

	assert_int_equal(request(port, "GET /metrics HTTP/1.1\r\n\r\n", r, RESP_CAP), 200);
	assert_non_null(strstr(r, "Content-Type: text/plain; version=0.0.4"));
	char *m = strdup(body_of(r));
	assert_true(sample_value(m, "impala_env_frames_total") == 12345.0);
	assert_true(sample_value(m, "impala_dropped_messages_total{reason=\"non_finite\"}") == 7.0);
	assert_true(sample_value(m, "impala_dropped_messages_total{reason=\"bad_action\"}") == 2.0);
	assert_true(isnan(sample_value(m, "impala_episode_return_mean")));
	assert_non_null(strstr(m, "impala_episode_return_mean NaN\n"));
	assert_true(sample_value(m, "impala_actor_frames_total{actor=\"6\",host=\"evil\\\"host\\n\\\\\"}") == 2000.0);
	assert_true(sample_value(m, "impala_store_depth") == 3.0);
	assert_true(sample_value(m, "impala_unroll_seq_gaps_total") == 4.0);
	assert_true(sample_value(m, "impala_unroll_seq_repeats_total") == 1.0);
	assert_true(sample_value(m, "impala_actors") == 2.0);
	assert_true(check_exposition(m) > 30);
	free(m);

	/* A new snapshot shows on the next request. */
	snap->frames = 99;
	im_status_publish(s, snap);
	assert_int_equal(request(port, "GET /metrics HTTP/1.0\r\n\r\n", r, RESP_CAP), 200);
	assert_true(sample_value(body_of(r), "impala_env_frames_total") == 99.0);
	free(r);
	free(snap);
	assert_int_equal(im_status_close(s), IM_OK);
}

/* Beyond IM_STATUS_MAX_ACTORS rows the snapshot lists the first rows and
 * says how many it left out; the gauge counts every actor once. */
static void test_actor_gauge_over_row_limit(void **state)
{
	(void)state;
	im_status_snapshot *snap = malloc(sizeof *snap);
	fill_snapshot(snap);
	snap->n_actors = IM_STATUS_MAX_ACTORS + 44;
	snap->n_actors_omitted = 44;
	char *m = NULL;
	size_t len = 0;
	assert_int_equal(im_status_render_metrics(snap, &m, &len), IM_OK);
	assert_true(sample_value(m, "impala_actors") ==
		    (double)(IM_STATUS_MAX_ACTORS + 44));
	free(m);
	free(snap);
}

typedef struct rcase {
	const char *name;
	const char *req;
	size_t len; /* 0: strlen */
	int want;
} rcase;

static const rcase rcases[] = {
	{"unknown path", "GET /nope HTTP/1.1\r\n\r\n", 0, 404},
	{"root", "GET / HTTP/1.1\r\n\r\n", 0, 404},
	{"query ignored", "GET /healthz?x=1 HTTP/1.0\r\n\r\n", 0, 200},
	{"bare LF", "GET /healthz HTTP/1.1\nHost: a\n\n", 0, 200},
	{"garbage", "garbage\r\n\r\n", 0, 400},
	{"no version", "GET /healthz\r\n\r\n", 0, 400},
	{"extra token", "GET /healthz HTTP/1.1 x\r\n\r\n", 0, 400},
	{"double space", "GET  /healthz HTTP/1.1\r\n\r\n", 0, 400},
	{"relative target", "GET healthz HTTP/1.1\r\n\r\n", 0, 400},
	{"HTTP/2.0", "GET /healthz HTTP/2.0\r\n\r\n", 0, 400},
	{"header without colon", "GET /healthz HTTP/1.1\r\nNoColon\r\n\r\n", 0, 400},
	{"header name with space", "GET /healthz HTTP/1.1\r\nBad Name: x\r\n\r\n", 0, 400},
	{"control in method", "G\x01T /healthz HTTP/1.1\r\n\r\n", 0, 400},
	{"NUL byte", "GET /he\0lthz HTTP/1.1\r\n\r\n",
	 sizeof "GET /he\0lthz HTTP/1.1\r\n\r\n" - 1, 400},
	{"POST", "POST /healthz HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 0, 405},
	{"DELETE", "DELETE /status HTTP/1.1\r\n\r\n", 0, 405},
};

static void test_bad_requests(void **state)
{
	(void)state;
	im_status *s = start(2000, 16);
	int port = im_status_port(s);
	char *r = malloc(RESP_CAP);
	for (size_t i = 0; i < sizeof rcases / sizeof rcases[0]; i++) {
		const rcase *c = &rcases[i];
		size_t n = c->len ? c->len : strlen(c->req);
		int code = request_n(port, c->req, n, r, RESP_CAP);
		if (code != c->want)
			fail_msg("%s: got %d, want %d", c->name, code, c->want);
		assert_non_null(strstr(r, "Connection: close\r\n"));
		if (code == 405)
			assert_non_null(strstr(r, "Allow: GET\r\n"));
	}
	/* A head over 8 KiB. */
	size_t big = 9000;
	char *req = malloc(big + 64);
	int n = sprintf(req, "GET /healthz HTTP/1.1\r\nX-Big: ");
	memset(req + n, 'a', big);
	strcpy(req + n + big, "\r\n\r\n");
	assert_int_equal(request(port, req, r, RESP_CAP), 400);
	free(req);
	free(r);
	assert_int_equal(im_status_close(s), IM_OK);
}

static uint64_t ms_since(uint64_t t0)
{
	return im_now_ms() - t0;
}

static void test_slow_client(void **state)
{
	(void)state;
	im_status *s = start(3000, 16);
	int port = im_status_port(s);
	char *r = malloc(RESP_CAP);
	int slow = dial(port);
	send_all(slow, "GET /hea", 8);
	uint64_t t0 = im_now_ms();
	assert_int_equal(request(port, "GET /healthz HTTP/1.1\r\n\r\n", r, RESP_CAP), 200);
	/* Served while the slow client still holds its connection (the
	 * bound leaves room for a loaded machine, well under the deadline). */
	assert_true(ms_since(t0) < 2000);
	char c;
	assert_int_equal(recv(slow, &c, 1, MSG_DONTWAIT), -1);
	assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
	/* Its deadline closes it without a response. */
	assert_int_equal(recv(slow, &c, 1, 0), 0);
	assert_true(ms_since(t0) >= 2000 && ms_since(t0) < 8000);
	close(slow);
	/* A client that hangs up mid-request gets nothing and costs nothing. */
	int half = dial(port);
	send_all(half, "GET /sta", 8);
	shutdown(half, SHUT_WR);
	assert_int_equal(recv(half, &c, 1, 0), 0);
	close(half);
	/* Closing with a stalled client still connected leaks nothing. */
	int stalled = dial(port);
	send_all(stalled, "GET", 3);
	assert_int_equal(request(port, "GET /healthz HTTP/1.1\r\n\r\n", r, RESP_CAP), 200);
	assert_int_equal(im_status_close(s), IM_OK);
	close(stalled);
	free(r);
}

/* Issue 14, defect 4: idle connections filling every slot must not lock a
 * monitor out.  With all max_conns slots held by clients that send
 * nothing, a /healthz request is answered, and the oldest idle connection
 * is the one closed to make room (at once, not at its deadline). */
static void test_idle_connections_evicted(void **state)
{
	(void)state;
	im_status *s = start(3000, 3);
	int port = im_status_port(s);
	int idle[3];
	struct timespec ts = {0, 100 * 1000000L};
	for (int i = 0; i < 3; i++) {
		idle[i] = dial(port);
		/* Accepted in this order, so idle[0] is the oldest. */
		nanosleep(&ts, NULL);
	}
	char *r = malloc(RESP_CAP);
	uint64_t t0 = im_now_ms();
	assert_int_equal(request(port, "GET /healthz HTTP/1.1\r\n\r\n", r, RESP_CAP), 200);
	char c;
	assert_int_equal(recv(idle[0], &c, 1, 0), 0);
	assert_true(ms_since(t0) < 2000); /* evicted, not timed out */
	/* The newer idle ones still hold their slots. */
	assert_int_equal(recv(idle[2], &c, 1, MSG_DONTWAIT), -1);
	assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
	/* A client that reopens connections as they close keeps at most
	 * max_conns of them, and a monitor still gets through each time. */
	for (int round = 0; round < 5; round++) {
		for (int i = 0; i < 3; i++) {
			close(idle[i]);
			idle[i] = dial(port);
		}
		nanosleep(&ts, NULL);
		assert_int_equal(request(port, "GET /healthz HTTP/1.1\r\n\r\n",
					 r, RESP_CAP),
				 200);
	}
	for (int i = 0; i < 3; i++)
		close(idle[i]);
	free(r);
	assert_int_equal(im_status_close(s), IM_OK);
}

/* The snapshot given at start is served before any publish. */
static void test_initial_snapshot(void **state)
{
	(void)state;
	im_status_snapshot *snap = malloc(sizeof *snap);
	fill_snapshot(snap);
	im_status_opts o = {.addr = "127.0.0.1:0", .initial = snap};
	im_status *s = NULL;
	assert_int_equal(im_status_new(&s, &o), IM_OK);
	free(snap);
	char *r = malloc(RESP_CAP);
	assert_int_equal(request(im_status_port(s), "GET /status HTTP/1.1\r\n\r\n",
				 r, RESP_CAP),
			 200);
	assert_non_null(strstr(r, "\"run_id\":\"0000000000000abc\""));
	assert_non_null(strstr(r, "\"env\":\"CartPole-v1\""));
	free(r);
	assert_int_equal(im_status_close(s), IM_OK);
}

/* The process gauges come from /proc at each request and the connection
 * gauge from the server: two idle clients and the request itself make 3,
 * and 1 once the idle ones have gone.  The renderers print the fields as
 * given, in both documents. */
static void test_process_metrics(void **state)
{
	(void)state;
	im_status *s = start(3000, 16);
	int port = im_status_port(s);
	char *r = malloc(RESP_CAP);
	int idle[2] = {dial(port), dial(port)};
	/* The server accepts and notices closes on its own thread: a fixed
	 * 200 ms before looking was not always enough on a loaded machine,
	 * so each count is polled for (bounded). */
	uint64_t t0 = im_now_ms();
	const char *m;
	do {
		assert_int_equal(request(port, "GET /metrics HTTP/1.1\r\n\r\n", r, RESP_CAP), 200);
		m = body_of(r);
	} while (sample_value(m, "impala_status_connections") != 3.0 &&
		 ms_since(t0) < 10000);
	assert_true(sample_value(m, "impala_status_connections") == 3.0);
	double rss = sample_value(m, "process_resident_memory_bytes");
	double fds = sample_value(m, "process_open_fds");
	double socks = sample_value(m, "impala_open_sockets");
	/* This process holds both ends: the listener, 2 x 3 connections. */
	assert_true(socks >= 7.0 && fds >= socks);
	assert_true(rss > 1e6 && rss < 1e10);
	assert_true(sample_value(m, "process_max_fds") >= fds);
	/* The heap figures are glibc's (the suite runs on glibc), read at
	 * once: the server's buffers are in use, and what the arenas took
	 * from the system is exactly what is in use plus what is free. */
	double in_use = sample_value(m, "impala_heap_in_use_bytes");
	assert_true(IM_HEAP_GLIBC ? in_use > 0 && in_use < rss : in_use == 0);
	assert_true(sample_value(m, "impala_heap_system_bytes") ==
		    in_use + sample_value(m, "impala_heap_free_bytes"));
	assert_true(check_exposition(r + (m - r)) > 30);
	for (int i = 0; i < 2; i++)
		close(idle[i]);
	t0 = im_now_ms();
	do
		assert_int_equal(request(port, "GET /status HTTP/1.1\r\n\r\n", r, RESP_CAP), 200);
	while (!strstr(body_of(r), "\"status_connections\":1,") && ms_since(t0) < 10000);
	assert_non_null(strstr(body_of(r), "\"status_connections\":1,"));
	assert_true(json_valid(body_of(r)));
	assert_int_equal(im_status_close(s), IM_OK);

	im_status_snapshot *snap = calloc(1, sizeof *snap);
	fill_snapshot(snap);
	snap->rss_bytes = 123456789;
	snap->open_fds = 42;
	snap->open_sockets = 17;
	snap->max_fds = 1024;
	snap->status_conns = 5;
	snap->heap_system_bytes = 9000000;
	snap->heap_in_use_bytes = 7000000;
	snap->heap_free_bytes = 2000000;
	snap->heap_trims = 12;
	snap->heap_trim_s = 0.25;
	char *doc = NULL;
	size_t len = 0;
	assert_int_equal(im_status_render_metrics(snap, &doc, &len), IM_OK);
	assert_true(sample_value(doc, "process_resident_memory_bytes") == 123456789.0);
	assert_true(sample_value(doc, "process_open_fds") == 42.0);
	assert_true(sample_value(doc, "impala_open_sockets") == 17.0);
	assert_true(sample_value(doc, "process_max_fds") == 1024.0);
	assert_true(sample_value(doc, "impala_status_connections") == 5.0);
	assert_true(sample_value(doc, "impala_heap_system_bytes") == 9e6);
	assert_true(sample_value(doc, "impala_heap_in_use_bytes") == 7e6);
	assert_true(sample_value(doc, "impala_heap_free_bytes") == 2e6);
	assert_true(sample_value(doc, "impala_heap_trims_total") == 12.0);
	assert_true(sample_value(doc, "impala_heap_trim_seconds_total") == 0.25);
	free(doc);
	assert_int_equal(im_status_render_json(snap, &doc, &len), IM_OK);
	assert_non_null(strstr(doc, "\"process\":{\"rss_bytes\":123456789,"
				    "\"open_fds\":42,\"open_sockets\":17,"
				    "\"max_fds\":1024,\"status_connections\":5,"
				    "\"heap\":{\"system_bytes\":9000000,"
				    "\"in_use_bytes\":7000000,"
				    "\"free_bytes\":2000000,\"trims\":12,"
				    "\"trim_seconds\":0.25}}"));
	assert_true(json_valid(doc));
	free(doc);
	free(snap);
	free(r);
}

static void test_bind_errors(void **state)
{
	(void)state;
	im_status *s = start(1000, 4);
	char addr[64];
	snprintf(addr, sizeof addr, "127.0.0.1:%d", im_status_port(s));
	im_status_opts o = {.addr = addr};
	im_status *t = NULL;
	assert_int_equal(im_status_new(&t, &o), IM_ESYS);
	assert_int_equal(errno, EADDRINUSE);
	assert_null(t);
	o.addr = "no-port-here";
	assert_int_equal(im_status_new(&t, &o), IM_EINVAL);
	o.addr = "127.0.0.1:notaport";
	assert_int_equal(im_status_new(&t, &o), IM_EINVAL);
	/* Issue 14, defect 7: not wrapped to 34463 and bound. */
	const char *bad_ports[] = {"127.0.0.1:99999", "127.0.0.1:65536",
				   "127.0.0.1:-1", "127.0.0.1:+80",
				   "127.0.0.1:0x50", "127.0.0.1:123456"};
	for (size_t i = 0; i < sizeof bad_ports / sizeof bad_ports[0]; i++) {
		o.addr = bad_ports[i];
		assert_int_equal(im_status_new(&t, &o), IM_EINVAL);
	}
	assert_null(t);
	assert_int_equal(im_status_close(s), IM_OK);
	im_status_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_endpoints),
		cmocka_unit_test(test_actor_gauge_over_row_limit),
		cmocka_unit_test(test_bad_requests),
		cmocka_unit_test(test_slow_client),
		cmocka_unit_test(test_idle_connections_evicted),
		cmocka_unit_test(test_initial_snapshot),
		cmocka_unit_test(test_process_metrics),
		cmocka_unit_test(test_bind_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
