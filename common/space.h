/* Observation and action spaces, shared by environments, the model and the
 * wire validation.  Plain data; no allocation. */
#ifndef IM_SPACE_H
#define IM_SPACE_H

#include <stddef.h>

#define IM_SPACE_MAX_DIMS 4
#define IM_SPACE_MAX_ACTION_DIM 64

typedef enum im_dtype {
	IM_DTYPE_F32 = 0,
	IM_DTYPE_U8 = 1,
} im_dtype;

typedef struct im_obs_space {
	int ndim;                     /* 1 for vectors, 3 for images (C,H,W) */
	int shape[IM_SPACE_MAX_DIMS];
	im_dtype dtype;
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
	int n;   /* Discrete(n): number of actions; Box: dim */
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

#endif
