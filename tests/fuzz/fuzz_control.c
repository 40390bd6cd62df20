// SPDX-License-Identifier: Apache-2.0
/* A Control message from either side of the handshake: a Hello or Goodbye
 * as the learner's ROUTER takes it (1 MiB bound), a Welcome as the actor
 * takes it: the run spec checked and turned into a model spec, and its
 * parameters validated for the size that model has. */
#include <string.h>

#include "fuzz.h"
#include "runspec.h"
#include "validate.h"
#include "wire.h"

static void welcome(const Impala__Welcome *w)
{
	if (!w->spec)
		return;
	im_run_dims d;
	volatile int sink = im_validate_dims(&d, w->spec);
	im_model_spec m;
	char err[256];
	sink += im_runspec_model(&m, w->spec, err, sizeof err);
	if (w->params && w->params->param_count <= (1u << 20))
		sink += (int)im_validate_params(w->params, w->spec->run_id,
						w->params->param_count, err,
						sizeof err);
	(void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Impala__Control *c = NULL;
	if (im_wire_decode_control(data, size, 1u << 20, &c) != 0)
		return 0;
	char reason[256];
	switch (c->body_case) {
	case IMPALA__CONTROL__BODY_HELLO:
		(void)im_validate_hello(c->hello, "CartPole-v1", reason,
					sizeof reason);
		break;
	case IMPALA__CONTROL__BODY_WELCOME:
		welcome(c->welcome);
		break;
	case IMPALA__CONTROL__BODY_GOODBYE: {
		volatile size_t sink = strlen(c->goodbye->reason);
		(void)sink;
		break;
	}
	default:
		break;
	}
	impala__control__free_unpacked(c, NULL);
	return 0;
}
