// SPDX-License-Identifier: Apache-2.0
/* Ticket order for the learner threads' applies (turns.h). */
#include "turns.h"

#include "err.h"

int im_turns_init(im_turns *t)
{
	t->next_ticket = 0;
	t->serving = 0;
	return pthread_cond_init(&t->cv, NULL) ? IM_ENOMEM : IM_OK;
}

void im_turns_destroy(im_turns *t)
{
	pthread_cond_destroy(&t->cv);
}

uint64_t im_turns_take(im_turns *t)
{
	return t->next_ticket++;
}

void im_turns_wait(im_turns *t, pthread_mutex_t *mu, uint64_t ticket)
{
	while (t->serving != ticket)
		pthread_cond_wait(&t->cv, mu);
}

void im_turns_pass(im_turns *t)
{
	t->serving++;
	pthread_cond_broadcast(&t->cv);
}
