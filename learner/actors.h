/* The learner's table of connected actors: who said hello, what each sent,
 * when it was last heard from.  An actor leaves the table when it says
 * Goodbye or stays silent for the timeout (elastic membership: the learner
 * needs no actor count).  Thread-safe. */
#ifndef IM_LEARNER_ACTORS_H
#define IM_LEARNER_ACTORS_H

#include <stdint.h>

#include "status.h"

typedef struct im_actors im_actors;

/* timeout_ms: silence after which an actor is dropped by im_actors_prune. */
int im_actors_new(im_actors **out, uint64_t timeout_ms);
void im_actors_free(im_actors *t);

/* Records a handshake (host is copied, truncated; untrusted text). */
void im_actors_hello(im_actors *t, uint64_t id, const char *host,
		     uint64_t now_ms);
/* Records an accepted unroll: frames acted, its policy lag, and its
 * unroll_seq, checked against the actor's previous one so that lost and
 * duplicated unrolls show (im_actors_seq_stats).  An actor seen first here
 * (one that joined before a learner restart) gets a row with host "?". */
void im_actors_unroll(im_actors *t, uint64_t id, uint64_t seq,
		      uint64_t frames, int64_t lag, uint64_t now_ms);
/* The actor leaves the list and the count at once (Goodbye); unrolls of
 * it still in flight are accounted without listing it again, until it
 * has been silent for the timeout or says Hello.  Returns 1 if it was
 * listed. */
int im_actors_goodbye(im_actors *t, uint64_t id);
/* Removes actors silent for longer than the timeout; returns how many. */
int im_actors_prune(im_actors *t, uint64_t now_ms);
uint32_t im_actors_count(im_actors *t);
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
