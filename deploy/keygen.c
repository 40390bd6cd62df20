// SPDX-License-Identifier: Apache-2.0
/* impala-keygen: creates a CURVE key pair for a learner or an actor host.
 *
 *   impala-keygen DIR NAME
 *
 * writes DIR/NAME.key (the secret key, mode 0600) and DIR/NAME.pub (the
 * public key, mode 0644), each one Z85 key under a comment line: the format
 * impala-learner and impala-actor read (common/curve.h).  Existing files
 * are never overwritten.  Exit status: 0 done, 1 failed, 2 bad usage. */
#include "curve.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: impala-keygen DIR NAME\n\n"
		"Creates a CURVE key pair: DIR/NAME.key (secret, mode 0600) and\n"
		"DIR/NAME.pub (public, mode 0644).  NAME is letters, digits, '.',\n"
		"'_' and '-'.  Copy NAME.pub into the learner's --authorized-keys\n"
		"directory to let the holder of NAME.key in.\n");
}

/* A name that makes one file in DIR and reads well in logs. */
static int name_ok(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > 60 || name[0] == '.' || name[0] == '-')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "0123456789._-",
			    name[i]))
			return 0;
	return 1;
}

static int write_pair(const char *dir, const char *name)
{
	char pub[IM_CURVE_Z85_LEN + 1], sec[IM_CURVE_Z85_LEN + 1];
	if (zmq_curve_keypair(pub, sec) != 0) {
		fprintf(stderr, "impala-keygen: this libzmq has no CURVE support: %s\n",
			zmq_strerror(zmq_errno()));
		return 1;
	}
	char kpath[PATH_MAX], ppath[PATH_MAX], comment[128];
	snprintf(kpath, sizeof kpath, "%s/%s.key", dir, name);
	snprintf(ppath, sizeof ppath, "%s/%s.pub", dir, name);
	snprintf(comment, sizeof comment, "impala CURVE secret key '%s': keep private",
		 name);
	if (im_curve_write_key(kpath, sec, comment, 0600) != 0) {
		fprintf(stderr, "impala-keygen: %s: %s\n", kpath, strerror(errno));
		return 1;
	}
	snprintf(comment, sizeof comment, "impala CURVE public key '%s'", name);
	if (im_curve_write_key(ppath, pub, comment, 0644) != 0) {
		fprintf(stderr, "impala-keygen: %s: %s\n", ppath, strerror(errno));
		unlink(kpath); /* half a pair is worse than none */
		return 1;
	}
	printf("%s\n", pub);
	fprintf(stderr, "impala-keygen: wrote %s and %s\n", kpath, ppath);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return 0;
	}
	if (argc != 3) {
		usage(stderr);
		return 2;
	}
	if (!name_ok(argv[2])) {
		fprintf(stderr, "impala-keygen: '%s' is not a usable name (letters, "
				"digits, '.', '_', '-'; not starting with '.' or '-')\n",
			argv[2]);
		return 2;
	}
	return write_pair(argv[1], argv[2]);
}
