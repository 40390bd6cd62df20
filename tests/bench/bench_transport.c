// SPDX-License-Identifier: Apache-2.0
/* Raw transport: Trajectory-sized messages PUSHed by one process and PULLed
 * by another over TCP loopback, with the sockets' production options
 * (im_transport_defaults: PUSH hwm 8 and immediate, PULL hwm 64), the
 * path every unroll takes from impala-actor to impala-learner.  No
 * protobuf work: the payload is opaque bytes.
 *
 * The child sends for about S seconds and then a one-byte end marker; the
 * parent times from the first message to the marker.  Reported: messages/s,
 * MB/s and frames/s (messages * T).  The last line of stdout is one JSON
 * object.
 *
 * Usage: bench_transport [--seconds S] [--bytes N] [--T T]
 *   defaults: S = 1, N = 2513 (a CartPole-v1 unroll of T = 80 as bench_act
 *   measures it), T = 80. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <zmq.h>

#include "bench_util.h"
#include "transport.h"

static int child_push(const char *endpoint, size_t bytes, double seconds)
{
	void *ctx = zmq_ctx_new(), *s = NULL;
	uint8_t *buf = calloc(bytes, 1);
	if (!ctx || !buf ||
	    im_transport_open_connected(&s, ctx, ZMQ_PUSH, NULL, endpoint))
		return 1;
	for (size_t i = 0; i < bytes; i++)
		buf[i] = (uint8_t)(i * 31u);
	double end = bench_now() + seconds;
	long n = 0;
	/* the clock is read every 64 messages only: it is not free */
	while ((n & 63) || bench_now() < end) {
		if (im_transport_send(s, buf, bytes, 0))
			return 1;
		n++;
	}
	int rc = im_transport_send(s, "", 1, 0);
	zmq_close(s);
	zmq_ctx_term(ctx);
	free(buf);
	return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
	double seconds = 1.0;
	long bytes = 2513, T = 80;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--seconds"))
			seconds = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "--bytes"))
			bytes = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--T"))
			T = atol(argv[i + 1]);
	}
	if (!(seconds > 0) || bytes < 2 || T < 1) {
		fprintf(stderr, "usage: bench_transport [--seconds S] "
				"[--bytes N>1] [--T T]\n");
		return 2;
	}
	/* The listener is bound before the fork so the child can connect at
	 * once; the child builds its own context and never touches this one. */
	void *ctx = zmq_ctx_new(), *pull = NULL;
	char ep[IM_TRANSPORT_ENDPOINT_MAX];
	if (!ctx ||
	    im_transport_open_bound(&pull, ctx, ZMQ_PULL, NULL,
				    "tcp://127.0.0.1:*") ||
	    im_transport_last_endpoint(pull, ep, sizeof ep)) {
		fprintf(stderr, "cannot bind a loopback PULL socket\n");
		return 1;
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0)
		_exit(child_push(ep, (size_t)bytes, seconds));
	int rcvtimeo = 10000; /* a dead child must not hang the benchmark */
	zmq_setsockopt(pull, ZMQ_RCVTIMEO, &rcvtimeo, sizeof rcvtimeo);
	zmq_msg_t m;
	long n = 0;
	double t0 = 0, t1 = 0;
	int ok = 0;
	for (;;) {
		zmq_msg_init(&m);
		int len = im_transport_recv(pull, &m, 0);
		zmq_msg_close(&m);
		if (len < 0)
			break;
		if (n == 0)
			t0 = bench_now();
		if (len == 1) {
			t1 = bench_now();
			ok = 1;
			break;
		}
		n++;
	}
	int status = 0;
	if (!ok)
		kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	zmq_close(pull);
	zmq_ctx_term(ctx);
	if (!ok || !WIFEXITED(status) || WEXITSTATUS(status) || n < 2) {
		fprintf(stderr, "transfer failed (%ld messages)\n", n);
		return 1;
	}
	/* n messages arrived between the first and the marker: n - 1 gaps
	 * plus the marker's. */
	double dt = t1 - t0, mps = (double)n / dt;
	printf("PUSH/PULL tcp loopback, %ld-byte messages: %.0f msg/s, "
	       "%.1f MB/s, %.0f frames/s (T = %ld)\n",
	       bytes, mps,
	       mps * (double)bytes / 1e6, mps * (double)T, T);
	printf("{\"bytes\": %ld, \"T\": %ld, \"messages\": %ld, \"msgs_per_s\": "
	       "%.0f, \"mb_per_s\": %.1f, \"frames_per_s\": %.0f}\n",
	       bytes, T, n,
	       mps, mps * (double)bytes / 1e6, mps * (double)T);
	return 0;
}
