// SPDX-License-Identifier: Apache-2.0
/* Turns: the order in which overlapping learner threads apply their
 * gradients (learn.c).  A thread takes a ticket when it copies the
 * parameters, computes outside the lock, then waits for its ticket's turn
 * before it applies, and passes the turn on whether it applied or not.
 * Applies thus happen in the order of the copies, so with N threads each
 * holding at most one ticket, a gradient is at most N - 1 updates stale
 * when applied (bounded asynchrony), and no thread can lap another.
 *
 * Every function is called with the caller's mutex held (the same one for
 * all calls on one im_turns); the struct is the caller's, set up with
 * im_turns_init and torn down with im_turns_destroy. */
#ifndef IM_LEARNER_TURNS_H
#define IM_LEARNER_TURNS_H

#include <pthread.h>
#include <stdint.h>

typedef struct im_turns {
	uint64_t next_ticket; /* the ticket the next take hands out */
	uint64_t serving;     /* the ticket whose turn it is */
	pthread_cond_t cv;    /* broadcast when serving moves */
} im_turns;

/* IM_OK, or IM_ENOMEM when the condition variable cannot be made. */
int im_turns_init(im_turns *t);
void im_turns_destroy(im_turns *t);

/* A new ticket: its turn comes after every ticket taken before. */
uint64_t im_turns_take(im_turns *t);
/* Blocks (releasing mu) until it is ticket's turn.  Every ticket taken
 * before must be passed, or this waits forever. */
void im_turns_wait(im_turns *t, pthread_mutex_t *mu, uint64_t ticket);
/* Ends the current turn (the caller's, after im_turns_wait). */
void im_turns_pass(im_turns *t);

#endif
