// SPDX-License-Identifier: Apache-2.0
/* Starting and stopping the learner's worker threads: the receiver
 * (intake.c), the handshake server (handshake.c), the parameter port's
 * fan-out without CURVE (fanout.h), the publisher (publisher.c) and
 * num_learners learner threads (learn.c). */
#include "internal.h"

#include "err.h"
#include "fanout.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Names a thread for top -H, perf's comm and profile_run.sh (15 bytes at
 * most); a failure only leaves the process's name. */
static void name_thread(pthread_t t, const char *name)
{
	pthread_setname_np(t, name);
}

int im_learner_start_threads(im_learner *l, char *err, size_t errlen)
{
	l->nlearn = l->cfg->num_learners;
	l->learn_thr = calloc((size_t)l->nlearn, sizeof *l->learn_thr);
	if (!l->learn_thr)
		return IM_ENOMEM;
	/* pthread_create returns its error; it does not set errno. */
	int e = 0;
	if (im_learner_start_receiver(l) != IM_OK)
		e = errno ? errno : ENOMEM;
	if (!e && !(e = pthread_create(&l->hs_thr, NULL, im_learner_handshake_main, l))) {
		l->hs_started = 1;
		name_thread(l->hs_thr, "im-handshake");
	}
	if (!e && im_learner_start_fanout(l) != IM_OK)
		e = errno ? errno : ENOMEM;
	if (!e && !(e = pthread_create(&l->pub_thr, NULL, im_learner_publisher_main, l))) {
		l->pub_started = 1;
		name_thread(l->pub_thr, "im-publish");
	}
	while (!e && l->nlearn_started < l->nlearn &&
	       !(e = pthread_create(&l->learn_thr[l->nlearn_started], NULL,
				    im_learner_learn_main, l))) {
		char name[16];
		snprintf(name, sizeof name, "im-learn%d", l->nlearn_started);
		name_thread(l->learn_thr[l->nlearn_started], name);
		l->nlearn_started++;
	}
	l->threads_started = 1;
	if (e) {
		snprintf(err, errlen, "cannot start threads: %s", strerror(e));
		/* Those that did start use the sockets and the store: they
		 * must end before im_learner_free() closes and frees them. */
		im_learner_stop_threads(l);
		return IM_ESYS;
	}
	return IM_OK;
}

void im_learner_stop_threads(im_learner *l)
{
	if (!l->threads_started)
		return;
	atomic_store(&l->stopping, 1);
	im_store_close(l->store);
	pthread_mutex_lock(&l->mu);
	pthread_cond_broadcast(&l->updated);
	pthread_mutex_unlock(&l->mu);
	if (l->receiver)
		im_receiver_get_stats(l->receiver, &l->last_rs);
	im_receiver_stop(l->receiver);
	l->receiver = NULL;
	if (l->hs_started)
		pthread_join(l->hs_thr, NULL);
	if (l->pub_started)
		pthread_join(l->pub_thr, NULL);
	im_fanout_stop(l->fanout); /* after the publisher: it feeds it */
	for (int i = 0; i < l->nlearn_started; i++)
		pthread_join(l->learn_thr[i], NULL);
	l->threads_started = l->hs_started = l->pub_started = 0;
	l->nlearn_started = 0;
}
