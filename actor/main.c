// SPDX-License-Identifier: Apache-2.0
/* impala-actor: runs environments with a local copy of the policy and
 * streams unrolls to a learner.  See actor/session.h for the protocol and
 * actor/rollout.h for the acting. */
#include "blas.h"
#include "curve.h"
#include "err.h"
#include "flags.h"
#include "log.h"
#include "signals.h"
#include "rng.h"
#include "rollout.h"
#include "session.h"
#include "validate.h"
#include "wire.h"

#include <cblas.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct actor_cfg {
	const char *learner;
	int num_envs;
	int64_t actor_id;
	const char *env;
	double handshake_timeout;
	double learner_timeout;
	int64_t max_unrolls;
	int send_hwm;
	const char *log_level;
	const char *curve_secret_key; /* files */
	const char *curve_public_key;
	const char *learner_public_key;
	/* The keys read from them (Z85), when CURVE is on. */
	char secret[IM_CURVE_Z85_LEN + 1], public[IM_CURVE_Z85_LEN + 1];
	char learner_key[IM_CURVE_Z85_LEN + 1];
} actor_cfg;

static volatile sig_atomic_t *stop_flag;

static const char *unset_if_empty(const char *s)
{
	return s && s[0] ? s : NULL;
}

/* Reads the CURVE key files, when configured.  A missing or malformed file
 * is a start-up error: an actor that cannot authenticate would otherwise
 * wait for a Welcome for ever. */
static int load_keys(actor_cfg *c, char *err, size_t errlen)
{
	c->curve_secret_key = unset_if_empty(c->curve_secret_key);
	c->curve_public_key = unset_if_empty(c->curve_public_key);
	c->learner_public_key = unset_if_empty(c->learner_public_key);
	if (!c->curve_secret_key) {
		if (!c->curve_public_key && !c->learner_public_key)
			return IM_OK;
		snprintf(err, errlen, "CURVE keys given without --curve-secret-key");
		return IM_EINVAL;
	}
	if (!c->learner_public_key) {
		snprintf(err, errlen, "--curve-secret-key needs --learner-public-key");
		return IM_EINVAL;
	}
	char why[300], pub[IM_CURVE_Z85_LEN + 1];
	const char *which = "--curve-secret-key";
	int rc = im_curve_read_key(c->curve_secret_key, c->secret, why, sizeof why);
	if (rc == IM_OK && im_curve_public_of(c->secret, c->public) != IM_OK) {
		snprintf(why, sizeof why, "%s: not a CURVE secret key", c->curve_secret_key);
		rc = IM_EINVAL;
	}
	if (rc == IM_OK && c->curve_public_key) {
		which = "--curve-public-key";
		rc = im_curve_read_key(c->curve_public_key, pub, why, sizeof why);
		if (rc == IM_OK && strcmp(pub, c->public) != 0) {
			snprintf(why, sizeof why, "%s is not the public key of %s",
				 c->curve_public_key, c->curve_secret_key);
			rc = IM_EINVAL;
		}
	}
	if (rc == IM_OK) {
		which = "--learner-public-key";
		rc = im_curve_read_key(c->learner_public_key, c->learner_key, why,
				       sizeof why);
	}
	if (rc)
		snprintf(err, errlen, "%s: %s", which, why);
	return rc;
}

static int parse(actor_cfg *c, int argc, char **argv)
{
	*c = (actor_cfg){.learner = "tcp://127.0.0.1:5555", .num_envs = 8, .env = "", .handshake_timeout = 2.0, .learner_timeout = 10.0, .send_hwm = 0, .log_level = "info"};
	const im_flag f[] = {
		{"learner", IM_FLAG_STR, &c->learner, "learner base address tcp://host:port (handshake port; +1 trajectories, +2 parameters)", 1, 0, NULL},
		{"num-envs", IM_FLAG_INT, &c->num_envs, "environments stepped together", 1, 65536, NULL},
		{"actor-id", IM_FLAG_I64, &c->actor_id, "actor id (0: random)", 0, 9.2e18, NULL},
		{"env", IM_FLAG_STR, &c->env, "environment this actor expects (empty: whatever the learner trains)", 1, 0, NULL},
		{"handshake-timeout", IM_FLAG_DOUBLE, &c->handshake_timeout, "seconds to wait for a Welcome", 0.05, 3600, NULL},
		{"learner-timeout", IM_FLAG_DOUBLE, &c->learner_timeout, "seconds without parameters before handshaking again", 0.1, 86400, NULL},
		{"max-unrolls", IM_FLAG_I64, &c->max_unrolls, "stop after sending this many unrolls (0: never)", 0, 9.2e18, NULL},
		{"send-hwm", IM_FLAG_INT, &c->send_hwm, "unrolls queued for the learner (0: 2 x num-envs)", 0, 1000000, NULL},
		{"log-level", IM_FLAG_STR, &c->log_level, "debug, info, warn or error", 1, 0, NULL},
		{"curve-secret-key", IM_FLAG_STR, &c->curve_secret_key, "file with this actor's CURVE secret key (Z85); turns CURVE on", 1, 0, NULL},
		{"curve-public-key", IM_FLAG_STR, &c->curve_public_key, "file with this actor's CURVE public key (optional: derived from the secret key, checked against it when given)", 1, 0, NULL},
		{"learner-public-key", IM_FLAG_STR, &c->learner_public_key, "file with the learner's CURVE public key", 1, 0, NULL},
	};
	char err[512];
	size_t n = sizeof f / sizeof f[0];
	int rc = im_flags_parse(f, n, argc, argv, NULL, err, sizeof err);
	if (rc == IM_EHELP) {
		im_flags_usage(stdout, "impala-actor [flags]", f, n);
		exit(0);
	}
	im_log_level lvl;
	if (rc == IM_OK && im_log_parse_level(c->log_level, &lvl) != IM_OK) {
		snprintf(err, sizeof err,
			 "--log-level: '%s' is not one of debug, info, warn, error",
			 c->log_level);
		rc = IM_EINVAL;
	}
	if (rc == IM_OK)
		rc = load_keys(c, err, sizeof err);
	if (rc) {
		fprintf(stderr, "impala-actor: %s\n", err);
		return rc;
	}
	im_log_set_level(lvl);
	if (c->actor_id == 0)
		c->actor_id = (int64_t)(im_rng_entropy() >> 1);
	if (c->send_hwm == 0)
		c->send_hwm = 2 * c->num_envs;
	return IM_OK;
}

typedef struct actor {
	actor_cfg cfg;
	im_session *session;
	im_rollout *roll;
	uint64_t run_id;
	uint64_t version;
	uint64_t unroll_seq; /* per run */
	uint64_t sent;       /* unrolls sent, all runs */
	uint8_t *buf;
	size_t cap;
} actor;

/* Adopts a Welcome: same run keeps the rollout; a new run rebuilds it. */
static int adopt(actor *a, Impala__Welcome *w)
{
	char err[256] = "";
	if (!a->roll || w->spec->run_id != a->run_id) {
		im_rollout_free(a->roll);
		a->roll = NULL;
		int rc = im_rollout_new(&a->roll, w->spec, a->cfg.num_envs,
					(uint64_t)a->cfg.actor_id, err, sizeof err);
		if (rc) {
			im_error("cannot act for run %016" PRIx64 ": %s (%s)",
				 w->spec->run_id, err, im_strerror(rc));
			return rc;
		}
		if (a->run_id)
			im_info("new run %016" PRIx64 ": environments and counters reset",
				w->spec->run_id);
		a->run_id = w->spec->run_id;
		a->unroll_seq = 0;
	}
	a->version = 0;
	size_t n = im_rollout_num_params(a->roll);
	char why[160];
	if (im_validate_params(w->params, a->run_id, n, why, sizeof why) != IM_REJECT_OK) {
		im_error("Welcome carried bad parameters: %s", why);
		return IM_EPROTO;
	}
	memcpy(im_rollout_params(a->roll), w->params->data.data, n * sizeof(float));
	a->version = w->params->version;
	return IM_OK;
}

/* Sends the last unroll of every environment.  IM_OK, or why the run must
 * be re-joined (IM_ETIMEDOUT, IM_ERUNID, IM_ESESSION) or left
 * (IM_ECANCELED). */
static int send_unrolls(actor *a)
{
	float *params = im_rollout_params(a->roll);
	size_t np = im_rollout_num_params(a->roll);
	for (int i = 0; i < im_rollout_num_envs(a->roll); i++) {
		Impala__Trajectory *t;
		size_t len;
		im_rollout_trajectory(a->roll, i, a->run_id, (uint64_t)a->cfg.actor_id,
				      a->unroll_seq, &t);
		int rc = im_wire_pack_into(&t->base, &a->buf, &a->cap, &len);
		if (rc == IM_OK)
			rc = im_session_send(a->session, a->buf, len,
					     a->unroll_seq, a->run_id, params,
					     np, &a->version);
		if (rc)
			return rc;
		a->unroll_seq++;
		a->sent++;
		if (a->cfg.max_unrolls && a->sent >= (uint64_t)a->cfg.max_unrolls)
			return IM_ECANCELED;
	}
	return IM_OK;
}

/* Acts and sends until the run must be re-joined or the actor stops. */
static int act_loop(actor *a)
{
	float *params = im_rollout_params(a->roll);
	size_t np = im_rollout_num_params(a->roll);
	while (!*stop_flag) {
		int rc = im_session_poll_params(a->session, a->run_id, params, np,
						&a->version);
		if (rc < 0)
			return rc;
		/* Flow control: act only when the learner has room. */
		rc = im_session_hold(a->session, a->run_id, params, np,
				     &a->version);
		if (rc < 0)
			return rc;
		rc = im_rollout_run(a->roll, a->version);
		/* A failed environment (a Python exception, a broken
		 * contract) cannot be trusted again: stop, so that a
		 * supervisor restarts the process afresh. */
		if (rc == IM_EENVFAIL)
			return rc;
		if (rc) {
			im_warn("acting failed: %s; unroll discarded",
				im_strerror(rc));
			continue;
		}
		rc = send_unrolls(a);
		if (rc)
			return rc;
	}
	return IM_ECANCELED;
}

/* 2 means "fix the configuration" (systemd does not restart on it); a
 * failed environment (IM_EENVFAIL: the user's code raised or broke its
 * contract) gives 1, so that systemd restarts the actor. */
static int exit_status(int rc)
{
	return rc == IM_EENVFAIL ? 1 : 2;
}

static int run(actor *a)
{
	while (!*stop_flag) {
		Impala__Control *c = NULL;
		char err[256] = "";
		int rc = im_session_handshake(a->session, &c, err, sizeof err);
		if (rc == IM_ECANCELED)
			return 0;
		if (rc) {
			im_error("%s", err[0] ? err : im_strerror(rc));
			return 2;
		}
		rc = adopt(a, c->welcome);
		impala__control__free_unpacked(c, NULL);
		if (rc)
			return exit_status(rc);
		im_info("joined run %016" PRIx64 " at parameter version %" PRIu64
			" with %d environments",
			a->run_id, a->version, a->cfg.num_envs);
		rc = act_loop(a);
		if (rc == IM_ECANCELED)
			return 0;
		if (rc == IM_EENVFAIL) {
			im_error("the environment failed (see above); stopping");
			return exit_status(rc);
		}
		if (rc == IM_ETIMEDOUT)
			im_warn("learner silent for %.1f s; handshaking again",
				a->cfg.learner_timeout);
		else if (rc == IM_ERUNID)
			im_warn("learner started another run; handshaking again");
		else if (rc == IM_ESESSION)
			im_warn("learner restarted; handshaking again");
		else
			im_warn("lost the learner (%s); handshaking again", im_strerror(rc));
	}
	return 0;
}

int main(int argc, char **argv)
{
	/* Acting multiplies tiny matrices: one BLAS thread. */
	openblas_set_num_threads(1);
	im_log_init(argv[0], IM_LOG_INFO);
	actor a;
	memset(&a, 0, sizeof a);
	if (parse(&a.cfg, argc, argv))
		return 2;
	/* May start this program again with OPENBLAS_CORETYPE set: before
	 * any thread or socket exists. */
	char why[400], err[512];
	int warn = 0;
	if (im_blas_setup(argv, why, sizeof why, &warn, err, sizeof err)) {
		fprintf(stderr, "impala-actor: %s\n", err);
		return 2;
	}
	im_log(warn ? IM_LOG_WARN : IM_LOG_INFO, "OpenBLAS core %s", why);
	stop_flag = im_signals_install();
	im_session_opts so = {
		.learner = a.cfg.learner,
		.actor_id = (uint64_t)a.cfg.actor_id,
		.env = a.cfg.env,
		.num_envs = (uint32_t)a.cfg.num_envs,
		.handshake_timeout_ms = (int)(a.cfg.handshake_timeout * 1000),
		.learner_timeout_ms = (int)(a.cfg.learner_timeout * 1000),
		.send_hwm = a.cfg.send_hwm,
		.stop = stop_flag,
		.curve_public = a.cfg.curve_secret_key ? a.cfg.public : NULL,
		.curve_secret = a.cfg.curve_secret_key ? a.cfg.secret : NULL,
		.curve_server = a.cfg.curve_secret_key ? a.cfg.learner_key : NULL,
	};
	int rc = im_session_new(&a.session, &so);
	if (rc) {
		im_error("--learner %s: %s", a.cfg.learner, im_strerror(rc));
		return 2;
	}
	im_info("actor %" PRIu64 " connecting to %s%s%s", (uint64_t)a.cfg.actor_id,
		a.cfg.learner, a.cfg.curve_secret_key ? " with CURVE, public key " : "",
		a.cfg.curve_secret_key ? a.cfg.public : "");
	int code = run(&a);
	uint64_t frames = a.roll ? im_rollout_frames(a.roll) : 0;
	im_info("stopping: %" PRIu64 " unrolls sent, %" PRIu64
		" frames acted, %" PRIu64 " rounds waited for room (flow control)",
		a.sent, frames, a.session ? im_session_holds(a.session) : 0);
	im_session_free(a.session, *stop_flag ? "signal" : "done", a.sent);
	im_rollout_free(a.roll);
	free(a.buf);
	return code;
}
