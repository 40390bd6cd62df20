// SPDX-License-Identifier: Apache-2.0
/* Observation and action spaces, shared by environments, the model and the
 * wire validation.  Plain data; no allocation.
 *
 * Image layout, decided once for the whole project: a rank-3 observation
 * is [H, W, C] (height, width, channels; row-major, channels fastest), as
 * Gymnasium's image spaces and MinAtar give it.  Environments, the actor's
 * buffers, the wire, the store and the batch all keep that layout; the
 * first layer of an image encoder reads it directly (its lowering gathers
 * HWC patches), so no transpose to CHW exists anywhere else.
 *
 * uint8 observations stay bytes until that first layer, which converts
 * each value v to the float v * scale inside its own loop.  The space says
 * what scale means for its data: 1 for grids of 0/1 (MinAtar), 1/255 for
 * camera-like frames of 0..255. */
#ifndef IM_SPACE_H
#define IM_SPACE_H

#include <float.h>
#include <stddef.h>

#define IM_SPACE_MAX_DIMS 4
#define IM_SPACE_MAX_ACTION_DIM 64

typedef enum im_dtype {
	IM_DTYPE_F32 = 0,
	IM_DTYPE_U8 = 1,
} im_dtype;

typedef struct im_obs_space {
	int ndim; /* 1 for vectors, 3 for images (H,W,C) */
	int shape[IM_SPACE_MAX_DIMS];
	im_dtype dtype;
	/* uint8 only: the first layer uses v * scale for a byte v (1 for 0/1
	 * grids, 1/255 for 0..255 frames).  0 in a space means 1. */
	float scale;
	/* Elementwise bounds, each of im_obs_numel() floats, or NULL when
	 * unbounded.  Borrowed: they point into the environment's static
	 * data and live as long as the program. */
	const float *low;
	const float *high;
} im_obs_space;

typedef enum im_act_kind {
	IM_ACT_DISCRETE = 0,
	IM_ACT_BOX = 1,
} im_act_kind;

typedef struct im_act_space {
	im_act_kind kind;
	int n;                               /* Discrete(n): number of actions; Box: dim */
	float low[IM_SPACE_MAX_ACTION_DIM];  /* Box only */
	float high[IM_SPACE_MAX_ACTION_DIM]; /* Box only */
} im_act_space;

static inline size_t im_obs_numel(const im_obs_space *s)
{
	size_t n = 1;
	for (int i = 0; i < s->ndim; i++)
		n *= (size_t)s->shape[i];
	return n;
}

/* Bytes of one element of the space's dtype: 4 (float32) or 1 (uint8). */
static inline size_t im_obs_elem_size(const im_obs_space *s)
{
	return s->dtype == IM_DTYPE_U8 ? 1 : sizeof(float);
}

/* Bytes of one observation in the space's dtype. */
static inline size_t im_obs_bytes(const im_obs_space *s)
{
	return im_obs_numel(s) * im_obs_elem_size(s);
}

/* The factor the first layer applies to a uint8 value: the space's scale,
 * with 0 (unset) meaning 1.  Float spaces are used as they are: 1. */
static inline float im_obs_scale(const im_obs_space *s)
{
	return s->dtype == IM_DTYPE_U8 && s->scale != 0.0f ? s->scale : 1.0f;
}

/* The one rule for a space's scale, applied by the plugin loader, the run
 * spec and the model: finite and > 0, or 0 meaning 1; a float32 space has
 * none (0 or 1), as its values are used as they are.  NULL when scale may
 * go with dtype, else the end of a sentence that begins with the scale
 * ("obs_scale -1 is not ..."). */
static inline const char *im_obs_scale_problem(im_dtype dtype, float scale)
{
	/* Written so that NaN fails too. */
	if (!(scale >= 0.0f && scale <= FLT_MAX))
		return "is not finite and > 0 (nor 0, meaning 1)";
	if (dtype != IM_DTYPE_U8 && scale != 0.0f && scale != 1.0f)
		return "is only meaningful for uint8 observations (leave it 0)";
	return NULL;
}

#endif
