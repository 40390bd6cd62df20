// SPDX-License-Identifier: Apache-2.0
/* The learner's table of actors: who said Hello (only they may send
 * unrolls), over which connection, what each sent, when it was last heard
 * from.  An actor leaves the list when it says Goodbye or stays silent for
 * the timeout (elastic membership: the learner needs no actor count).
 * Memory is bounded (IM_ACTORS_MAX rows).  Thread-safe. */
#ifndef IM_LEARNER_ACTORS_H
#define IM_LEARNER_ACTORS_H

#include <stdint.h>

#include "status.h"
#include "validate.h"

typedef struct im_actors im_actors;

/* Rows remembered at most.  A Hello beyond it forgets, to make room, the
 * row heard from longest ago among those that said Goodbye or have been
 * silent for the timeout, and is refused (IM_EAGAIN) when there is none:
 * a row that may still be training is never forgotten, since its actor
 * would not know it and every later unroll of it would be dropped as
 * unknown_actor.  A flood of Hellos under made-up ids thus fills the free
 * rows and then gets refusals; the actors already welcomed, even one
 * whose first unroll has not arrived yet, keep training. */
#define IM_ACTORS_MAX 16384u
/* Bytes of a connection's routing id kept to recognise it (ZeroMQ's own
 * ids have 5, the actor's random ones 16). */
#define IM_ACTORS_PEER_MAX 32u

/* timeout_ms: silence after which an actor is no longer listed. */
int im_actors_new(im_actors **out, uint64_t timeout_ms);
void im_actors_free(im_actors *t);

/* A Welcome given: who, from which connection, and what it was told. */
typedef struct im_actors_hello_info {
	uint64_t id;
	const char *host;         /* untrusted text: copied, made printable */
	uint32_t num_envs;        /* env_index must stay below it */
	uint64_t welcome_version; /* parameter version of the Welcome */
	const void *peer;         /* routing id of the connection; copied */
	size_t peer_len;
	uint64_t instance; /* Hello.instance: the actor's process */
} im_actors_hello_info;

/* Records a handshake: the actor is listed, and its unrolls are accepted
 * from now on (im_actors_lookup).  A new session: its unroll_seq numbers
 * may not follow the old ones.  IM_EAGAIN when a new id finds the table
 * full (IM_ACTORS_MAX) and IM_ENOMEM change nothing: the Hello must then
 * be refused, not welcomed.
 *
 * Identity without CURVE: an id is held by the instance (the actor
 * process) of its latest Hello.  A Hello of the same instance re-binds the
 * id to its new connection (an actor handshakes again over a new one); a
 * Hello of another instance gets IM_EAUTH and changes nothing while the
 * holder may still be training, and takes the id over once the holder said
 * Goodbye or has been silent for the timeout (a restarted process with the
 * same id waits that long).  With CURVE the ZAP handler decides who may
 * connect at all; this rule still keeps two processes off one id. */
int im_actors_hello(im_actors *t, const im_actors_hello_info *h,
		    uint64_t now_ms);
/* 1 with *out filled when id was welcomed by this learner and is still
 * remembered, else 0 (the receiver's im_validate_state.actor_lookup). */
int im_actors_lookup(im_actors *t, uint64_t id, im_validate_actor *out);
/* Records an accepted unroll: frames acted, its policy lag, and its
 * unroll_seq, checked against the actor's previous one so that lost and
 * duplicated unrolls show (im_actors_seq_stats).  An id without a row
 * (never welcomed, or forgotten) is ignored: validation refused its
 * unrolls.  An actor no longer listed for its silence is listed again. */
void im_actors_unroll(im_actors *t, uint64_t id, uint64_t seq,
		      uint64_t frames, int64_t lag, uint64_t now_ms);
/* The actor leaves the list and the count at once (Goodbye), when the
 * Goodbye came over the connection that said its latest Hello (peer) and
 * names that Hello's instance;
 * unrolls of it still in flight are accounted without listing it again,
 * until it has been silent for the timeout or says Hello.  Returns 1 if
 * it was listed, 0 if not, IM_EAUTH (and changes nothing) for a Goodbye
 * from another connection: anyone could otherwise remove a live actor. */
int im_actors_goodbye(im_actors *t, uint64_t id, uint64_t instance,
		      const void *peer, size_t peer_len);
/* Stops listing actors silent for longer than the timeout (they stay
 * welcomed: a slow learner must not lock out an actor whose unrolls wait
 * in its queues) and forgets those that said Goodbye; returns how many
 * listed actors went. */
int im_actors_prune(im_actors *t, uint64_t now_ms);
uint32_t im_actors_count(im_actors *t);
/* The environments (Hello.num_envs) of the actors im_actors_count counts:
 * the denominator of the flow-control advice in Params (actor/flow.h). */
uint32_t im_actors_envs(im_actors *t);
/* Flow control's view of the unrolls received (actor/flow.h, Params
 * flow_actor_ids and flow_next_seqs): a mark (id, the unroll_seq after
 * the highest accepted since its Hello; 2^64 - 1 after 2^64 - 1,
 * saturated) for each listed actor with an unroll accepted in the last
 * IM_ACTORS_MARK_MS, at most max of them (the publisher passes
 * IM_WIRE_MAX_FLOW_MARKS), into ids and next_seqs (the caller's).
 * Returns how many; *envs gets im_actors_envs() of the same moment.
 *
 * The bound (a Params goes to every actor, and without CURVE anyone can
 * say Hello): an actor that only registered, or has been silent for
 * IM_ACTORS_MARK_MS, adds no mark, and never more than max go out.  An
 * actor without a mark counts every unroll it sent since its Welcome
 * and within its horizon (1-2 s, actor/flow.h) as in flight, which is
 * exact for one that sent nothing (what a mark of 0 said before) and
 * for one whose last unroll arrived that long ago (all it sent before
 * is past its horizon), and errs on the safe side (a smaller credit)
 * otherwise.  Above max marks, each call starts where the last one
 * stopped, so every actor gets one every few Params.  When actors are
 * listed but none has a mark, the one mark (0, 0) is written: id 0 is
 * no actor's (a Hello with it is refused), and a list that is not empty
 * tells the actors to count their unrolls in flight (an empty one means
 * "no count", the rule of a learner before marks).  3 s: twice the
 * actor's IM_FLOW_HORIZON_MS, and a second for the way. */
#define IM_ACTORS_MARK_MS 3000u
uint32_t im_actors_flow_marks(im_actors *t, uint64_t *ids,
			      uint64_t *next_seqs, uint32_t max,
			      uint64_t now_ms, uint32_t *envs);
/* Faults in the actors' unroll_seq streams, over the learner's life (they
 * survive the rows).  An actor numbers its unrolls 0, 1, 2, ... per run;
 * the learner expects each accepted one to follow the previous accepted
 * one of the same actor.  The first unroll after a Hello, or of a new row,
 * only sets the start: an actor may rejoin mid-stream (a cut link, a
 * restarted process with the same id), and then nothing is known about
 * the numbers before.
 *   gaps:    numbers skipped (seq above the next expected), summed: unrolls
 *            lost on the way or rejected by validation (those are also
 *            counted under their reason);
 *   repeats: accepted unrolls numbered at or below one already accepted:
 *            a duplicate, or one overtaken by a later one.
 * A jump of more than IM_ACTORS_SEQ_JUMP_MAX numbers either way cannot be
 * unrolls lost on the way (an actor that lost that many would have
 * handshaken again): it counts as one fault (one gap forward, one repeat
 * backward) and the stream continues from the new number, so that one
 * message numbered 2^64 - 1 cannot add 2^64 gaps nor make every later
 * unroll a repeat. */
#define IM_ACTORS_SEQ_JUMP_MAX (1u << 20)
typedef struct im_actors_seq_stats {
	uint64_t gaps;
	uint64_t repeats;
} im_actors_seq_stats;
void im_actors_seq(im_actors *t, im_actors_seq_stats *out);
/* Writes the rows (at most IM_STATUS_MAX_ACTORS), counts and the
 * unroll_seq faults into s. */
void im_actors_fill(im_actors *t, im_status_snapshot *s, uint64_t now_ms);

#endif
