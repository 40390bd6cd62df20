// SPDX-License-Identifier: Apache-2.0
/* The checkpoint reader (common/learn/ckpt.c) on a file's bytes: open and
 * validate; then everything the learner does with an opened file: list
 * the tensors, read metadata as strings and numbers, and load into a small
 * model's arena (ignoring extra tensors, and strictly), copying data only
 * when the tensors match. */
#include <string.h>

#include "learn/ckpt.h"
#include "fuzz.h"

/* A model of two tensors, named like the test checkpoints' encoder. */
static const im_tensor_desc desc[] = {
	{.name = "encoder.0.weight", .ndim = 2, .shape = {2, 3}, .offset = 0, .numel = 6},
	{.name = "encoder.0.bias", .ndim = 1, .shape = {2}, .offset = 6, .numel = 2},
};

static void use_opened(const im_ckpt *f)
{
	volatile size_t sink = (size_t)im_ckpt_verified(f);
	float buf[64];
	for (size_t i = 0; i < im_ckpt_count(f); i++) {
		const im_ckpt_tensor *t = im_ckpt_at(f, i);
		sink += strlen(t->name) + (size_t)t->ndim;
		if (t->numel <= 64 && im_ckpt_find(f, t->name) == t)
			im_ckpt_copy(f, t, buf);
	}
	static const char *const keys[] = {"frames", "updates",
					   "param_version", "optim.step",
					   "run_id", "optimizer", "run_spec"};
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		uint64_t v;
		const char *s = im_ckpt_meta(f, keys[i]);
		sink += s ? strlen(s) : 0;
		sink += im_ckpt_meta_u64(f, keys[i], &v) == 0 ? (size_t)v : 0;
	}
	float arena[8];
	im_ckpt_group g = {.desc = desc, .ndesc = 2, .arena = arena};
	char err[256];
	sink += (size_t)im_ckpt_load(f, &g, 1, IM_CKPT_IGNORE_EXTRA, err, sizeof err);
	sink += (size_t)im_ckpt_load(f, &g, 1, 0, err, sizeof err);
	(void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	im_ckpt *f = NULL;
	char err[256];
	if (im_ckpt_open_mem(&f, data, size, err, sizeof err) != 0)
		return 0;
	use_opened(f);
	im_ckpt_close(f);
	return 0;
}
