// SPDX-License-Identifier: Apache-2.0
/* A Params broadcast as an actor takes it from its SUB socket: decoded
 * under the wire's bound, then validated for the actor's run and model
 * size, and for the count the message itself claims (so the CRC-32C and
 * finiteness checks are reached by inputs whose length agrees). */
#include "fuzz.h"
#include "validate.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Impala__Params *p = NULL;
	if (im_wire_decode_params(data, size, IM_WIRE_MAX_PARAMS, &p) != 0)
		return 0;
	char msg[160];
	(void)im_validate_params(p, 0x1234, 4, msg, sizeof msg);
	if (p->param_count <= (1u << 20))
		(void)im_validate_params(p, p->run_id, p->param_count, msg,
					 sizeof msg);
	impala__params__free_unpacked(p, NULL);
	return 0;
}
