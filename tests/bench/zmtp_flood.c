// SPDX-License-Identifier: Apache-2.0
/* zmtp_flood: a hostile raw-ZMTP peer against one of a learner's ports
 * (issue 14; tests/bench/README.md, "The libzmq abort").  Each round it
 * connects over plain TCP, speaks ZMTP 3.1 with the NULL mechanism
 * (greeting, reads the learner's greeting and READY, sends READY with the
 * given Socket-Type), sends NMSG messages of SIZE bytes each followed by
 * a PING command, and resets the connection (SO_LINGER 0).  A learner
 * that libzmq aborted refuses the next connection, which ends the run.
 *
 *   zmtp_flood PORT TYPE [NMSG 2000] [SIZE 300] [ROUNDS 30]
 *   TYPE: PUSH (trajectories), DEALER (handshake), SUB (parameters; the
 *   messages are then subscriptions to everything)
 *
 * Prints one JSON object on its last line: rounds completed, the round
 * whose connection was refused (-1: none), messages sent. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int io_all(int fd, void *buf, size_t n, int out)
{
	uint8_t *p = buf;
	while (n > 0) {
		struct pollfd q = {fd, out ? POLLOUT : POLLIN, 0};
		if (poll(&q, 1, 2000) != 1)
			return -1;
		ssize_t k = out ? send(fd, p, n, MSG_NOSIGNAL) : recv(fd, p, n, 0);
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static int connect_port(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0)
		return fd;
	if (fd >= 0)
		close(fd);
	return -1;
}

/* Greetings both ways, the learner's READY read, ours sent. */
static int handshake(int fd, const char *type)
{
	uint8_t g[64] = {0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 3, 1, 'N', 'U', 'L', 'L'};
	uint8_t in[64 + 2 + 255];
	size_t tl = strlen(type);
	uint8_t r[24 + 32] = {0x04, (uint8_t)(22 + tl), 5, 'R', 'E', 'A', 'D', 'Y', 11};
	memcpy(r + 9, "Socket-Type", 11);
	r[23] = (uint8_t)tl;
	memcpy(r + 24, type, tl);
	if (io_all(fd, g, sizeof g, 1) || io_all(fd, in, 64 + 2, 0) ||
	    io_all(fd, in + 66, in[65], 0))
		return -1;
	return io_all(fd, r, 24 + tl, 1);
}

/* One message frame (a subscription to everything for SUB). */
static uint8_t *message(const char *type, size_t size, size_t *len)
{
	uint8_t *m = malloc(size + 9);
	size_t hl = 2;
	if (!m)
		return NULL;
	if (size < 256) {
		m[0] = 0;
		m[1] = (uint8_t)size;
	} else {
		m[0] = 0x02;
		for (int i = 0; i < 8; i++)
			m[1 + i] = (uint8_t)((uint64_t)size >> (56 - 8 * i));
		hl = 9;
	}
	memset(m + hl, 'x', size);
	if (!strcmp(type, "SUB") && size > 0)
		m[hl] = 1;
	*len = hl + size;
	return m;
}

int main(int argc, char **argv)
{
	if (argc < 3 || strlen(argv[2]) > 32) {
		fprintf(stderr, "usage: zmtp_flood PORT TYPE [NMSG] [SIZE] [ROUNDS]\n");
		return 2;
	}
	int port = atoi(argv[1]), nmsg = argc > 3 ? atoi(argv[3]) : 2000;
	size_t size = argc > 4 ? (size_t)atol(argv[4]) : 300;
	int rounds = argc > 5 ? atoi(argv[5]) : 30, refused = -1, done = 0;
	const char *type = argv[2];
	static const uint8_t ping[] = {0x04, 10, 4, 'P', 'I', 'N', 'G', 0, 10, 'c', 't', 'x'};
	size_t mlen;
	uint8_t *m = message(type, size, &mlen);
	long sent = 0;
	for (int r = 0; m && r < rounds; r++) {
		int fd = connect_port(port);
		if (fd < 0) {
			refused = r;
			break;
		}
		if (handshake(fd, type) == 0)
			for (int i = 0; i < nmsg; i++, sent++)
				if (io_all(fd, m, mlen, 1) ||
				    io_all(fd, (void *)ping, sizeof ping, 1))
					break;
		struct linger l = {1, 0};
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
		close(fd);
		done++;
		struct timespec ts = {0, 50 * 1000000L};
		nanosleep(&ts, NULL);
	}
	free(m);
	printf("{\"type\": \"%s\", \"rounds\": %d, \"refused_at_round\": %d, "
	       "\"messages_sent\": %ld}\n",
	       type, done, refused, sent);
	return 0;
}
