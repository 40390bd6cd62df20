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
/* Records an accepted unroll: frames acted, its policy lag.  An actor seen
 * first here (one that joined before a learner restart) gets a row with
 * host "?". */
void im_actors_unroll(im_actors *t, uint64_t id, uint64_t frames,
		      int64_t lag, uint64_t now_ms);
/* Removes the actor at once (Goodbye).  Returns 1 if it was there. */
int im_actors_goodbye(im_actors *t, uint64_t id);
/* Removes actors silent for longer than the timeout; returns how many. */
int im_actors_prune(im_actors *t, uint64_t now_ms);
uint32_t im_actors_count(im_actors *t);
/* Writes the rows (at most IM_STATUS_MAX_ACTORS) and counts into s. */
void im_actors_fill(im_actors *t, im_status_snapshot *s, uint64_t now_ms);

#endif
