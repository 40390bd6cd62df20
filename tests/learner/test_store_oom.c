// SPDX-License-Identifier: Apache-2.0
/* The store when memory runs out while it is being built (issue 14,
 * defect 3: "--num-storages 1000000" under a memory limit ended in a double
 * free).  malloc is wrapped (-Wl,--wrap=malloc reaches the calls in the
 * learner's static library) so that the n-th allocation of an armed
 * im_store_new fails; for every n up to the last allocation the call must
 * return IM_ENOMEM, set nothing and free each block once (glibc aborts on
 * the double free the defect made: "free(): double free detected").  The
 * first n that succeeds shows every allocation was tried. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "store.h"

void *__real_malloc(size_t n);
void *__wrap_malloc(size_t n);

static int armed; /* count calls and fail the fail_at-th */
static int calls, fail_at;

void *__wrap_malloc(size_t n)
{
	if (armed && ++calls == fail_at)
		return NULL;
	return __real_malloc(n);
}

static im_store_opts small_opts(int lstm)
{
	im_store_opts o;
	memset(&o, 0, sizeof o);
	o.dims.T = 5;
	o.dims.obs_ndim = 1;
	o.dims.obs_shape[0] = 4;
	o.dims.obs_numel = 4;
	o.dims.obs_dtype = IMPALA__DTYPE__DTYPE_FLOAT32;
	o.dims.obs_elem = 4;
	o.dims.action_kind = IMPALA__ACTION_KIND__ACTION_DISCRETE;
	o.dims.num_actions = 2;
	o.dims.action_dim = 1;
	o.dims.lstm_hidden = lstm ? 8 : 0;
	o.capacity = 4;
	o.batch_size = 2;
	return o;
}

/* Fails each allocation in turn, from the first to past the last. */
static void fail_each(int lstm)
{
	im_store_opts o = small_opts(lstm);
	int total = 0;
	for (int n = 1;; n++) {
		im_store *s = NULL;
		calls = 0;
		fail_at = n;
		armed = 1;
		int rc = im_store_new(&s, &o);
		armed = 0;
		if (rc == IM_OK) {
			/* n is past the last allocation: every earlier n failed. */
			assert_non_null(s);
			im_store_free(s);
			total = n - 1;
			break;
		}
		assert_int_equal(rc, IM_ENOMEM);
		assert_null(s);
	}
	/* Every slot (capacity + 1: one for the receiver while the queue is
	 * full) allocates its one block (slot_carve), so each slot's
	 * allocation was failed in turn. */
	assert_int_equal(total, (int)o.capacity + 1);
}

static void test_oom_mlp(void **state)
{
	(void)state;
	fail_each(0);
}

static void test_oom_lstm(void **state)
{
	(void)state;
	fail_each(1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_oom_mlp),
		cmocka_unit_test(test_oom_lstm),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
