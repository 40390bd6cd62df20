// SPDX-License-Identifier: Apache-2.0
/* The learner's ZAP handler (learner/zap.h) against real CURVE sockets:
 * only keys in the directory get in, the directory is reread while the
 * handler runs (a key added lets its client in, a key removed keeps it
 * out), files not named *.pub are ignored, and a bad key file is an error
 * at start and skipped (without locking the others out) afterwards. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "curve.h"
#include "err.h"
#include "log.h"
#include "transport.h"
#include "zap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#define RESCAN_MS 200

typedef struct fixture {
	char dir[64];
	void *ctx;
	void *server; /* ROUTER, CURVE server */
	char endpoint[64];
	char server_pub[41], server_sec[41];
	im_zap *zap;
} fixture;

static void keypair(char *pub, char *sec)
{
	assert_int_equal(zmq_curve_keypair(pub, sec), 0);
}

static void put_key(fixture *f, const char *name, const char *z85)
{
	char path[128];
	snprintf(path, sizeof path, "%s/%s", f->dir, name);
	unlink(path);
	assert_int_equal(im_curve_write_key(path, z85, NULL, 0644), IM_OK);
}

static void put_text(fixture *f, const char *name, const char *text)
{
	char path[128];
	snprintf(path, sizeof path, "%s/%s", f->dir, name);
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static void remove_key(fixture *f, const char *name)
{
	char path[128];
	snprintf(path, sizeof path, "%s/%s", f->dir, name);
	assert_int_equal(unlink(path), 0);
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	snprintf(f->dir, sizeof f->dir, "/tmp/impala-zap-XXXXXX");
	if (!f || !mkdtemp(f->dir))
		return -1;
	f->ctx = zmq_ctx_new();
	keypair(f->server_pub, f->server_sec);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	if (f->server)
		zmq_close(f->server);
	im_zap_stop(f->zap);
	zmq_ctx_term(f->ctx);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
	int rc = system(cmd);
	free(f);
	return rc == 0 ? 0 : -1;
}

/* Starts the handler, then a CURVE ROUTER on a loopback port. */
static int start(fixture *f, char *err, size_t errlen)
{
	im_zap_opts zo = {.zctx = f->ctx, .keys_dir = f->dir, .rescan_ms = RESCAN_MS};
	int rc = im_zap_start(&f->zap, &zo, err, errlen);
	if (rc)
		return rc;
	im_sock_opts o;
	im_transport_defaults(&o, ZMQ_ROUTER);
	im_transport_curve_server(&o, f->server_sec);
	assert_int_equal(im_transport_open_bound(&f->server, f->ctx, ZMQ_ROUTER, &o,
						 "tcp://127.0.0.1:*"),
			 IM_OK);
	assert_int_equal(im_transport_last_endpoint(f->server, f->endpoint,
						    sizeof f->endpoint),
			 IM_OK);
	return IM_OK;
}

/* 1 when a client with this key pair gets a message through to the
 * server within a second, else 0. */
static int gets_in(fixture *f, const char *pub, const char *sec)
{
	im_sock_opts o;
	im_transport_defaults(&o, ZMQ_DEALER);
	o.linger_ms = 0;
	o.immediate = 0;
	if (pub)
		im_transport_curve_client(&o, pub, sec, f->server_pub);
	void *c = NULL;
	assert_int_equal(im_transport_open_connected(&c, f->ctx, ZMQ_DEALER, &o,
						     f->endpoint),
			 IM_OK);
	assert_int_equal(im_transport_send(c, "hi", 2, ZMQ_DONTWAIT), IM_OK);
	int got = 0;
	uint64_t end = im_now_ms() + 1000;
	while (!got && im_now_ms() < end) {
		zmq_pollitem_t it = {f->server, 0, ZMQ_POLLIN, 0};
		if (zmq_poll(&it, 1, 50) > 0) {
			zmq_msg_t m;
			zmq_msg_init(&m);
			while (zmq_msg_recv(&m, f->server, ZMQ_DONTWAIT) >= 0)
				got = got || (zmq_msg_size(&m) == 2 &&
					      memcmp(zmq_msg_data(&m), "hi", 2) == 0);
			zmq_msg_close(&m);
		}
	}
	zmq_close(c);
	return got;
}

static void test_only_authorised_keys(void **state)
{
	fixture *f = *state;
	char a_pub[41], a_sec[41], b_pub[41], b_sec[41], err[256];
	keypair(a_pub, a_sec);
	keypair(b_pub, b_sec);
	put_key(f, "a.pub", a_pub);
	/* b's key, but not in a file named *.pub: ignored. */
	put_key(f, "b.pub.disabled", b_pub);
	put_text(f, "README", "not a key, and not read\n");
	assert_int_equal(start(f, err, sizeof err), IM_OK);
	assert_int_equal(im_zap_num_keys(f->zap), 1);
	assert_true(gets_in(f, a_pub, a_sec));
	assert_false(gets_in(f, b_pub, b_sec));
	assert_false(gets_in(f, NULL, NULL)); /* plaintext */
	assert_true(im_zap_refused(f->zap) >= 1);
	assert_true(im_zap_accepted(f->zap) >= 1);
}

/* Pokes the handler with a connection attempt until it has reread the
 * directory twice since it had made `since` reads (a reread needs a
 * request at least RESCAN_MS after the last one; the second one surely
 * began after the caller's change): event-driven, so a loaded machine
 * only makes it slower.  Fails after about 30 s. */
static void wait_reread(fixture *f, uint64_t since, const char *pub,
			const char *sec)
{
	for (int i = 0; i < 300 && im_zap_scans(f->zap) < since + 2; i++) {
		usleep(RESCAN_MS * 1000 / 2);
		gets_in(f, pub, sec);
	}
	assert_true(im_zap_scans(f->zap) >= since + 2);
}

static void test_reread_while_running(void **state)
{
	fixture *f = *state;
	char a_pub[41], a_sec[41], b_pub[41], b_sec[41], err[256];
	keypair(a_pub, a_sec);
	keypair(b_pub, b_sec);
	put_key(f, "a.pub", a_pub);
	assert_int_equal(start(f, err, sizeof err), IM_OK);
	assert_false(gets_in(f, b_pub, b_sec));
	/* Added: in after the next reread, no restart. */
	uint64_t s = im_zap_scans(f->zap);
	put_key(f, "b.pub", b_pub);
	wait_reread(f, s, a_pub, a_sec);
	assert_true(gets_in(f, b_pub, b_sec));
	assert_int_equal(im_zap_num_keys(f->zap), 2);
	/* A bad file added later is skipped; the good keys still work. */
	s = im_zap_scans(f->zap);
	put_text(f, "c.pub", "not a key\n");
	wait_reread(f, s, a_pub, a_sec);
	assert_true(gets_in(f, a_pub, a_sec));
	assert_int_equal(im_zap_num_keys(f->zap), 2);
	/* Removed: new connections are refused. */
	s = im_zap_scans(f->zap);
	remove_key(f, "b.pub");
	wait_reread(f, s, a_pub, a_sec);
	assert_false(gets_in(f, b_pub, b_sec));
	assert_true(gets_in(f, a_pub, a_sec));
	assert_int_equal(im_zap_num_keys(f->zap), 1);
}

static void test_bad_directory_at_start(void **state)
{
	fixture *f = *state;
	char err[256] = "";
	put_text(f, "x.pub", "0123456789\n");
	im_zap_opts zo = {.zctx = f->ctx, .keys_dir = f->dir};
	assert_int_equal(im_zap_start(&f->zap, &zo, err, sizeof err), IM_EINVAL);
	assert_null(f->zap);
	assert_non_null(strstr(err, "x.pub"));
	zo.keys_dir = "/nonexistent/impala-keys";
	assert_int_equal(im_zap_start(&f->zap, &zo, err, sizeof err), IM_ESYS);
	assert_non_null(strstr(err, "/nonexistent/impala-keys"));
}

int main(void)
{
	if (!zmq_has("curve")) {
		fprintf(stderr, "libzmq without CURVE: skipped\n");
		return 77;
	}
	im_log_init("test_zap", IM_LOG_ERROR);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_only_authorised_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reread_while_running, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_directory_at_start, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
