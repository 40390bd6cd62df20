// SPDX-License-Identifier: Apache-2.0
/* Named views into a flat float32 arena: the one layout shared by the
 * parameters, the gradients, the optimiser moments, the Params message and
 * the checkpoint file. */
#ifndef IM_TENSOR_H
#define IM_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#define IM_TENSOR_MAX_DIMS 4
#define IM_TENSOR_NAME_MAX 64

typedef struct im_tensor_desc {
	char name[IM_TENSOR_NAME_MAX]; /* PyTorch-style: "encoder.0.weight" */
	int ndim;
	int64_t shape[IM_TENSOR_MAX_DIMS]; /* PyTorch order: (out, in) */
	size_t offset;                     /* in floats, into the arena */
	size_t numel;
} im_tensor_desc;

#endif
