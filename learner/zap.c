// SPDX-License-Identifier: Apache-2.0
/* The ZAP handler thread: see zap.h. */
#include "zap.h"

#include "curve.h"
#include "err.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zmq.h>

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define POLL_MS 100
#define NAME_MAX_LEN 64

typedef struct key_entry {
	uint8_t key[IM_CURVE_KEY_BYTES];
	char name[NAME_MAX_LEN]; /* file name without ".pub" */
} key_entry;

typedef struct key_set {
	key_entry *v;
	uint32_t n, cap;
	uint32_t skipped;    /* .pub files that are not valid keys */
	uint64_t sig;        /* changes when the set or the skips change */
	char first_bad[320]; /* why the first skipped file was skipped */
} key_set;

struct im_zap {
	void *sock;
	const char *dir;
	uint32_t rescan_ms;
	uint64_t last_scan_ms;
	key_set keys; /* the ZAP thread's alone once it runs */
	pthread_t thr;
	int started;
	atomic_int stop;
	atomic_uint_fast64_t accepted, refused, scans;
	atomic_uint_fast32_t nkeys;
	im_log_ratelimit refuse_rl;
};

/* ---- the key directory ---------------------------------------------- */

static int ends_with_pub(const char *name)
{
	size_t n = strlen(name);
	return n > 4 && strcmp(name + n - 4, ".pub") == 0 && name[0] != '.';
}

static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ull;
	return h;
}

static int add_key(key_set *s, const uint8_t *key, const char *file)
{
	if (s->n == s->cap) {
		uint32_t cap = s->cap ? 2 * s->cap : 16;
		key_entry *v = realloc(s->v, cap * sizeof *v);
		if (!v)
			return IM_ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	key_entry *e = &s->v[s->n++];
	memcpy(e->key, key, IM_CURVE_KEY_BYTES);
	snprintf(e->name, sizeof e->name, "%.*s", (int)(strlen(file) - 4), file);
	/* Order-independent: readdir's order is not part of the set. */
	s->sig ^= fnv1a(fnv1a(1469598103934665603ull, file, strlen(file)), key,
			IM_CURVE_KEY_BYTES);
	return IM_OK;
}

/* Reads one ".pub" file into s; a bad file fails when strict, else it is
 * counted as skipped. */
static int scan_file(key_set *s, const char *dir, const char *file, int strict,
		     char *err, size_t errlen)
{
	char path[PATH_MAX], z85[IM_CURVE_Z85_LEN + 1], why[300];
	uint8_t key[IM_CURVE_KEY_BYTES];
	snprintf(path, sizeof path, "%s/%s", dir, file);
	struct stat st;
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return IM_OK; /* gone since readdir, or a directory named x.pub */
	int rc = im_curve_read_key(path, z85, why, sizeof why);
	if (rc == IM_OK)
		rc = im_curve_decode(z85, key);
	if (rc == IM_OK)
		return add_key(s, key, file);
	if (strict) {
		snprintf(err, errlen, "--authorized-keys: %s", why);
		return rc;
	}
	if (!s->skipped++)
		snprintf(s->first_bad, sizeof s->first_bad, "%s", why);
	s->sig ^= fnv1a(7809847782465536322ull, file, strlen(file));
	return IM_OK;
}

/* Reads every key of dir into a fresh set *out (which the caller frees). */
static int scan_dir(key_set *out, const char *dir, int strict, char *err,
		    size_t errlen)
{
	memset(out, 0, sizeof *out);
	DIR *d = opendir(dir);
	if (!d) {
		snprintf(err, errlen, "--authorized-keys %s: %s", dir, strerror(errno));
		return IM_ESYS;
	}
	int rc = IM_OK;
	struct dirent *e;
	while (rc == IM_OK && (e = readdir(d)) != NULL)
		if (ends_with_pub(e->d_name))
			rc = scan_file(out, dir, e->d_name, strict, err, errlen);
	closedir(d);
	out->sig = fnv1a(out->sig, &out->n, sizeof out->n);
	if (rc)
		free(out->v);
	return rc;
}

/* Rereads the directory when the last read is old enough. */
static void maybe_rescan(im_zap *z)
{
	uint64_t now = im_now_ms();
	if (now - z->last_scan_ms < z->rescan_ms)
		return;
	z->last_scan_ms = now;
	key_set fresh;
	char err[400];
	int rc = scan_dir(&fresh, z->dir, 0, err, sizeof err);
	if (rc) {
		/* Fail closed: nobody new gets in while the keys are unknown. */
		memset(&fresh, 0, sizeof fresh);
		fresh.sig = 0xdead;
		if (z->keys.sig != fresh.sig)
			im_warn("cannot read the authorised keys (%s): refusing every "
				"new CURVE client",
				err);
	} else if (fresh.sig != z->keys.sig) {
		im_info("authorised keys in %s: %" PRIu32 " key(s)%s%s", z->dir,
			fresh.n, fresh.skipped ? "; skipped invalid: " : "",
			fresh.skipped ? fresh.first_bad : "");
	}
	free(z->keys.v);
	z->keys = fresh;
	atomic_store(&z->nkeys, fresh.n);
	atomic_fetch_add(&z->scans, 1);
}

static const key_entry *find_key(const key_set *s, const uint8_t *key)
{
	for (uint32_t i = 0; i < s->n; i++)
		if (memcmp(s->v[i].key, key, IM_CURVE_KEY_BYTES) == 0)
			return &s->v[i];
	return NULL;
}

/* ---- requests ------------------------------------------------------- */

/* ZAP request frames (RFC 27): version, request id, domain, address,
 * routing id, mechanism, then the mechanism's credentials (for CURVE one
 * frame: the client's 32-byte public key). */
enum { F_VERSION,
       F_REQUEST_ID,
       F_DOMAIN,
       F_ADDRESS,
       F_ROUTING_ID,
       F_MECHANISM,
       F_CREDENTIALS,
       F_COUNT };

static int frame_is(zmq_msg_t *m, const char *text)
{
	size_t n = strlen(text);
	return zmq_msg_size(m) == n && memcmp(zmq_msg_data(m), text, n) == 0;
}

static void send_str(void *sock, const char *s, int more)
{
	zmq_send(sock, s, strlen(s), more ? ZMQ_SNDMORE : 0);
}

static void reply(im_zap *z, zmq_msg_t *request_id, const char *code,
		  const char *text, const char *user)
{
	send_str(z->sock, "1.0", 1);
	zmq_send(z->sock, zmq_msg_data(request_id), zmq_msg_size(request_id),
		 ZMQ_SNDMORE);
	send_str(z->sock, code, 1);
	send_str(z->sock, text, 1);
	send_str(z->sock, user, 1);
	send_str(z->sock, "", 0);
}

static void log_refusal(im_zap *z, zmq_msg_t *address, const uint8_t *key)
{
	char z85[IM_CURVE_Z85_LEN + 1] = "?";
	if (key)
		zmq_z85_encode(z85, key, IM_CURVE_KEY_BYTES);
	uint64_t n = atomic_fetch_add(&z->refused, 1) + 1, suppressed = 0;
	if (im_log_ratelimit_ok(&z->refuse_rl, &suppressed))
		im_warn("refused a CURVE client from %.*s: public key %s is not in "
			"%s (%" PRIu64 " refused so far)%s",
			(int)(zmq_msg_size(address) < 64 ? zmq_msg_size(address) : 64),
			(const char *)zmq_msg_data(address), z85, z->dir, n,
			suppressed ? "; similar warnings suppressed" : "");
}

/* Answers one request whose frames are in f[0..n). */
static void decide(im_zap *z, zmq_msg_t *f, int n)
{
	if (n != F_COUNT || !frame_is(&f[F_VERSION], "1.0")) {
		reply(z, &f[F_REQUEST_ID], "500", "malformed ZAP request", "");
		return;
	}
	if (!frame_is(&f[F_MECHANISM], "CURVE") ||
	    zmq_msg_size(&f[F_CREDENTIALS]) != IM_CURVE_KEY_BYTES) {
		log_refusal(z, &f[F_ADDRESS], NULL);
		reply(z, &f[F_REQUEST_ID], "400", "CURVE required", "");
		return;
	}
	maybe_rescan(z);
	const uint8_t *key = zmq_msg_data(&f[F_CREDENTIALS]);
	const key_entry *e = find_key(&z->keys, key);
	if (!e) {
		log_refusal(z, &f[F_ADDRESS], key);
		reply(z, &f[F_REQUEST_ID], "400", "key not authorised", "");
		return;
	}
	atomic_fetch_add(&z->accepted, 1);
	reply(z, &f[F_REQUEST_ID], "200", "OK", e->name);
}

/* Receives all frames of one request (at most F_COUNT are kept; the rest
 * are drained) and answers it. */
static void handle_request(im_zap *z)
{
	zmq_msg_t f[F_COUNT + 1];
	int n = 0, total = 0, more = 1;
	while (more) {
		zmq_msg_t *m = &f[n < F_COUNT ? n : F_COUNT];
		zmq_msg_init(m);
		if (zmq_msg_recv(m, z->sock, 0) < 0) {
			zmq_msg_close(m);
			break;
		}
		more = zmq_msg_more(m);
		total++;
		if (n < F_COUNT)
			n++;
		else
			zmq_msg_close(m);
	}
	/* A REP socket must answer before it can read the next request; a
	 * request too short to carry an id cannot be answered usefully. */
	if (n >= 2)
		decide(z, f, total);
	else if (n == 1)
		reply(z, &f[0], "500", "malformed ZAP request", "");
	for (int i = 0; i < n; i++)
		zmq_msg_close(&f[i]);
}

static void *zap_main(void *arg)
{
	im_zap *z = arg;
	while (!atomic_load(&z->stop)) {
		zmq_pollitem_t it = {z->sock, 0, ZMQ_POLLIN, 0};
		if (zmq_poll(&it, 1, POLL_MS) > 0)
			handle_request(z);
	}
	return NULL;
}

/* ---- lifetime ------------------------------------------------------- */

int im_zap_start(im_zap **out, const im_zap_opts *o, char *err, size_t errlen)
{
	im_zap *z = calloc(1, sizeof *z);
	if (!z)
		return IM_ENOMEM;
	z->dir = o->keys_dir;
	z->rescan_ms = o->rescan_ms ? o->rescan_ms : 1000;
	z->refuse_rl = (im_log_ratelimit){.interval_ms = 10000, .burst = 5};
	int rc = scan_dir(&z->keys, z->dir, 1, err, errlen);
	if (rc) {
		free(z);
		return rc;
	}
	z->last_scan_ms = im_now_ms();
	atomic_store(&z->nkeys, z->keys.n);
	rc = IM_ESYS;
	z->sock = zmq_socket(o->zctx, ZMQ_REP);
	int linger = 0;
	if (!z->sock || zmq_setsockopt(z->sock, ZMQ_LINGER, &linger, sizeof linger) ||
	    zmq_bind(z->sock, ZAP_ENDPOINT)) {
		snprintf(err, errlen, "cannot start the ZAP handler: %s",
			 zmq_strerror(zmq_errno()));
		goto fail;
	}
	if (pthread_create(&z->thr, NULL, zap_main, z)) {
		snprintf(err, errlen, "cannot start the ZAP handler thread");
		goto fail;
	}
	z->started = 1;
	*out = z;
	return IM_OK;
fail:
	im_zap_stop(z);
	return rc;
}

void im_zap_stop(im_zap *z)
{
	if (!z)
		return;
	atomic_store(&z->stop, 1);
	if (z->started)
		pthread_join(z->thr, NULL);
	if (z->sock)
		zmq_close(z->sock);
	free(z->keys.v);
	free(z);
}

uint64_t im_zap_accepted(const im_zap *z)
{
	return z ? atomic_load(&z->accepted) : 0;
}

uint64_t im_zap_refused(const im_zap *z)
{
	return z ? atomic_load(&z->refused) : 0;
}

uint32_t im_zap_num_keys(const im_zap *z)
{
	return z ? (uint32_t)atomic_load(&z->nkeys) : 0;
}

uint64_t im_zap_scans(const im_zap *z)
{
	return z ? atomic_load(&z->scans) : 0;
}
