// SPDX-License-Identifier: Apache-2.0
/* zmq_peer: a raw ZeroMQ peer for the end-to-end tests, so the Python tests
 * (standard library only) can put exact bytes on a learner's sockets.
 *
 *   zmq_peer push ENDPOINT FILE...
 *       connects a PUSH socket and sends each file's bytes as one message,
 *       then waits (up to 5 s) until ZeroMQ has handed them to the peer.
 *   zmq_peer dealer ENDPOINT FILE OUT TIMEOUT_MS [THEN]
 *       connects a DEALER socket, sends FILE's bytes as one message and
 *       writes the first reply's bytes to OUT.  Exit 3 when no reply came
 *       within TIMEOUT_MS.  With THEN, sends THEN's bytes afterwards over
 *       the same connection (a Goodbye after its Hello), expecting no
 *       reply.
 *   zmq_peer dealer2 ENDPOINT FILE
 *       sends FILE's bytes twice as one two-frame message (a framing the
 *       learner's handshake socket does not speak) and expects no reply.
 *
 * Exit codes: 0 done, 1 usage or I/O error, 2 ZeroMQ error, 3 no reply.
 * Messages are built by the tests; this program never looks inside them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define LINGER_MS 5000
#define SEND_TIMEOUT_MS 10000 /* a PUSH waits for a peer; not forever */

/* Reads a whole file into a malloc'd buffer (the caller frees *buf). */
static int read_file(const char *path, char **buf, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	size_t cap = 1 << 16, n = 0;
	char *b = malloc(cap);
	while (b) {
		n += fread(b + n, 1, cap - n, f);
		if (n < cap)
			break;
		char *nb = realloc(b, cap * 2);
		if (!nb) {
			free(b);
			b = NULL;
			break;
		}
		b = nb;
		cap *= 2;
	}
	int bad = ferror(f) || !b;
	fclose(f);
	if (bad) {
		free(b);
		return -1;
	}
	*buf = b;
	*len = n;
	return 0;
}

static int write_file(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	size_t n = fwrite(buf, 1, len, f);
	return (fclose(f) == 0 && n == len) ? 0 : -1;
}

static void *open_sock(void *ctx, int type, const char *endpoint)
{
	void *s = zmq_socket(ctx, type);
	int linger = LINGER_MS, sndtimeo = SEND_TIMEOUT_MS;
	int64_t unlimited = -1;
	if (s && zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger) == 0 &&
	    zmq_setsockopt(s, ZMQ_SNDTIMEO, &sndtimeo, sizeof sndtimeo) == 0 &&
	    zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &unlimited, sizeof unlimited) == 0 &&
	    zmq_connect(s, endpoint) == 0)
		return s;
	fprintf(stderr, "zmq_peer: %s: %s\n", endpoint, zmq_strerror(zmq_errno()));
	if (s)
		zmq_close(s);
	return NULL;
}

/* Sends one file as one message (flags: ZMQ_SNDMORE or 0). */
static int send_file(void *s, const char *path, int flags)
{
	char *buf;
	size_t len;
	if (read_file(path, &buf, &len)) {
		fprintf(stderr, "zmq_peer: cannot read %s: %s\n", path, strerror(errno));
		return 1;
	}
	int rc = zmq_send(s, buf, len, flags) < 0 ? 2 : 0;
	if (rc)
		fprintf(stderr, "zmq_peer: send: %s\n", zmq_strerror(zmq_errno()));
	free(buf);
	return rc;
}

static int do_push(void *ctx, const char *endpoint, char **files, int n)
{
	void *s = open_sock(ctx, ZMQ_PUSH, endpoint);
	if (!s)
		return 2;
	int rc = 0;
	for (int i = 0; i < n && rc == 0; i++)
		rc = send_file(s, files[i], 0);
	zmq_close(s);
	return rc;
}

/* Waits up to timeout_ms for one message; writes it to out when given. */
static int recv_reply(void *s, const char *out, int timeout_ms)
{
	zmq_pollitem_t it = {s, 0, ZMQ_POLLIN, 0};
	if (zmq_poll(&it, 1, timeout_ms) <= 0)
		return 3;
	zmq_msg_t m;
	zmq_msg_init(&m);
	int rc = 2;
	if (zmq_msg_recv(&m, s, 0) >= 0)
		rc = out && write_file(out, zmq_msg_data(&m), zmq_msg_size(&m)) ? 1 : 0;
	zmq_msg_close(&m);
	return rc;
}

static int do_dealer(void *ctx, const char *endpoint, const char *file,
		     const char *out, int timeout_ms, int two_frames,
		     const char *then)
{
	void *s = open_sock(ctx, ZMQ_DEALER, endpoint);
	if (!s)
		return 2;
	int rc = send_file(s, file, two_frames ? ZMQ_SNDMORE : 0);
	if (rc == 0 && two_frames)
		rc = send_file(s, file, 0);
	if (rc == 0)
		rc = recv_reply(s, out, timeout_ms);
	if (rc == 0 && then)
		rc = send_file(s, then, 0);
	if (two_frames)
		rc = rc == 3 ? 0 : (rc == 0 ? 4 : rc);
	zmq_close(s);
	return rc;
}

static int usage(void)
{
	fprintf(stderr, "usage: zmq_peer push ENDPOINT FILE...\n"
			"       zmq_peer dealer ENDPOINT FILE OUT TIMEOUT_MS [THEN]\n"
			"       zmq_peer dealer2 ENDPOINT FILE\n");
	return 1;
}

int main(int argc, char **argv)
{
	if (argc < 4)
		return usage();
	void *ctx = zmq_ctx_new();
	if (!ctx)
		return 2;
	int rc;
	if (strcmp(argv[1], "push") == 0)
		rc = do_push(ctx, argv[2], argv + 3, argc - 3);
	else if (strcmp(argv[1], "dealer") == 0 && (argc == 6 || argc == 7))
		rc = do_dealer(ctx, argv[2], argv[3], argv[4], atoi(argv[5]), 0,
			       argc == 7 ? argv[6] : NULL);
	else if (strcmp(argv[1], "dealer2") == 0 && argc == 4)
		rc = do_dealer(ctx, argv[2], argv[3], NULL, 1000, 1, NULL);
	else
		rc = usage();
	zmq_ctx_term(ctx);
	return rc;
}
