// SPDX-License-Identifier: Apache-2.0
/* Shared state of the learner's threads (learner.c, loop.c and the
 * thread bodies: intake.c, handshake.c, publisher.c, learn.c). */
#ifndef IM_LEARNER_INTERNAL_H
#define IM_LEARNER_INTERNAL_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "actors.h"
#include "config.h"
#include "learner.h"
#include "learn/loss.h"
#include "learn/optim.h"
#include "log.h"
#include "nn/model.h"
#include "progress.h"
#include "receiver.h"
#include "runspec.h"
#include "status.h"
#include "store.h"
#include "turns.h"
#include "validate.h"

/* Bytes of encoded Welcomes that may wait in the queues of peers that do
 * not read them (at least four parameter arenas; handshake.c). */
#define IM_LEARNER_WELCOME_BUDGET (64u << 20)
/* Largest message taken on the handshake socket: Hello and Goodbye are a
 * few hundred bytes. */
#define IM_LEARNER_MAX_CONTROL_IN (64u << 10)

struct im_learner {
	const im_learner_config *cfg;
	char env[IM_RUNSPEC_NAME_MAX];
	/* The model, its optimiser and the counters: guarded by mu. */
	pthread_mutex_t mu;
	pthread_cond_t updated; /* signalled after every update */
	im_model *model;
	float *params; /* the model's arena */
	im_optim *opt;
	uint64_t frames, updates, version;
	/* The order of the overlapping learner threads' applies (learn.c). */
	im_turns turns;
	uint64_t start_frames;  /* at start (resume), for frames/s */
	uint64_t start_version; /* at start: bounds the versions a Hello may
				 * skip (handshake.c) */
	im_loss_opts loss;
	/* The run. */
	uint64_t run_id;
	/* Random, drawn at start, in every Params: actors that see another
	 * one know the learner restarted and handshake again. */
	uint64_t session;
	uint32_t max_episode_steps; /* the environment's time limit, 0: none */
	/* The run whose weights --init-model-path loaded without --resume (a
	 * new run started from it), or 0: its unrolls count as stale. */
	uint64_t prev_run_id;
	im_runspec_store spec;
	im_run_dims dims;
	char *spec_json; /* run spec JSON (config_ckpt.h), owned */
	size_t max_msg;  /* largest valid Trajectory, bytes */
	/* Pieces. */
	im_store *store;
	im_actors *actors;
	im_status *status;
	void *zctx, *pull, *pub, *router;
	struct im_zap *zap; /* CURVE clients' authorisation, or NULL */
	/* Without CURVE, pub is a ZMQ_STREAM socket served by this
	 * (learner/fanout.h; started and stopped with the threads, freed
	 * after the context ends); NULL with CURVE's PUB. */
	struct im_fanout *fanout;
	char actor_addr[300]; /* what local actors connect to */
	pid_t *pids;
	int npids;
	/* Threads. */
	atomic_int stopping;
	atomic_int done;   /* num_train_steps reached by a learner */
	atomic_int failed; /* a learner thread stopped on an error */
	im_receiver *receiver;
	im_receiver_stats last_rs;   /* kept after the receiver stops */
	im_log_ratelimit reject_rl;  /* receiver thread only */
	im_log_ratelimit hs_rl;      /* handshake thread only */
	im_log_ratelimit hello_rl;   /* handshake thread only */
	im_log_ratelimit pub_rl;     /* the fan-out's thread only */
	atomic_size_t welcome_bytes; /* encoded Welcomes not yet freed */
	/* Without CURVE the handshake socket (router) is a ZMQ_STREAM read
	 * through this (handshake.c; made by sockets.c, used by the
	 * handshake thread only, freed once the context has ended); NULL
	 * with CURVE's ROUTER.  Replies it could not queue: */
	struct im_stream *hs_stream;
	atomic_uint_fast64_t hs_replies_dropped;
	pthread_t hs_thr, pub_thr;
	pthread_t *learn_thr;
	int nlearn, threads_started;
	int hs_started, pub_started, nlearn_started; /* what stop must join */
	/* Episodes, losses, policy lag: their own lock (progress.h). */
	im_progress *progress;
	/* Handshake-socket rejections; the receiver counts its own. */
	atomic_uint_fast64_t dropped[IM_REJECT_COUNT];
	/* Files. */
	char dir[PATH_MAX];
	char ckpt_path[PATH_MAX + 32];
	FILE *csv;
	uint64_t t0_ms;
	/* What watches the run (observe.c): the dashboard's history and
	 * routes, the TensorBoard file (NULL with --no-tensorboard or after
	 * a write failed), and the last evaluation's return (NaN when
	 * none since the last logged row; main thread only). */
	struct im_history *history;
	struct im_dash *dash;
	struct im_tfevents *tb;
	double eval_return;
};

/* observe.c: the history and dashboard (before the status server
 * starts), the TensorBoard file (once the run directory exists), one
 * logged row to both, and their teardown. */
int im_learner_observe_start(im_learner *l, char *err, size_t errlen);
int im_learner_observe_files(im_learner *l, char *err, size_t errlen);
void im_learner_observe_row(im_learner *l, const im_status_snapshot *s);
void im_learner_observe_free(im_learner *l);

/* threads.c: starts the receiver and the threads below; on failure
 * stops those that started.  Stop is idempotent. */
int im_learner_start_threads(im_learner *l, char *err, size_t errlen);
void im_learner_stop_threads(im_learner *l);

/* intake.c: starts the receiver with the learner's callbacks. */
int im_learner_start_receiver(im_learner *l);

/* publisher.c, learn.c: thread bodies (arg: the learner). */
void *im_learner_publisher_main(void *arg);
void *im_learner_learn_main(void *arg);

/* sockets.c: binds the three data sockets (and starts CURVE's handler
 * when configured); IM_E* with a reason in err.  Close (linger 0) runs
 * once the threads that use them have stopped, before the actors are told
 * to stop: unsent Params and Welcomes are worthless then, and unread
 * unrolls lost.  Close is idempotent. */
int im_learner_open_sockets(im_learner *l, char *err, size_t errlen);
void im_learner_close_sockets(im_learner *l);
/* sockets.c: starts the parameter port's fan-out and its thread when the
 * port is a STREAM (without CURVE; learner/fanout.h), else nothing; with
 * the other threads (threads.c), stopped with them. */
int im_learner_start_fanout(im_learner *l);
/* Warns, rate-limited by rl, that a connection of the named port was
 * closed for a protocol error (rc, why): the three ports' one message. */
void im_learner_warn_conn_closed(im_log_ratelimit *rl, const char *port,
				 int rc, const char *why);

/* handshake.c: the handshake thread's body (arg: the learner). */
void *im_learner_handshake_main(void *arg);

/* snapshot.c: snapshot of the statistics for the status port and the
 * logs. */
void im_learner_snapshot(im_learner *l, im_status_snapshot *s);
/* Copies params (and the optimiser state into shadow, when not NULL) and
 * the counters under the lock. */
void im_learner_copy_state(im_learner *l, float *params, im_optim *shadow,
			   uint64_t *frames, uint64_t *updates,
			   uint64_t *version);

#endif
