// SPDX-License-Identifier: Apache-2.0
/* The encoder table and the small helpers the model files share: the layout
 * builder and the describe text sink. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "names.h"
#include "nn/internal.h"

/* One row per encoder kind, indexed by im_nn_encoder_kind. */
static const im_nni_encoder_ops *const encoders[IM_NN_ENCODER_COUNT_] = {
	[IM_NN_ENCODER_MLP] = &im_nni_encoder_mlp,
	[IM_NN_ENCODER_MINATAR] = &im_nni_encoder_conv,
	[IM_NN_ENCODER_NATURE] = &im_nni_encoder_conv,
	[IM_NN_ENCODER_IMPALA] = &im_nni_encoder_conv,
};

static const char *const encoder_names[] = {
	[IM_NN_ENCODER_MLP] = "mlp",
	[IM_NN_ENCODER_MINATAR] = "minatar",
	[IM_NN_ENCODER_NATURE] = "nature",
	[IM_NN_ENCODER_IMPALA] = "impala",
	[IM_NN_ENCODER_AUTO] = "auto",
};
enum { NENCODER_NAMES = sizeof encoder_names / sizeof encoder_names[0] };

const char *im_nn_encoder_name(im_nn_encoder_kind k)
{
	return (unsigned)k < NENCODER_NAMES ? encoder_names[k] : NULL;
}

int im_nn_encoder_parse(const char *s, im_nn_encoder_kind *out, char *err,
			size_t errlen)
{
	int i;
	int rc = im_names_find(encoder_names, NENCODER_NAMES, s, &i, err,
			       errlen);
	if (rc == IM_OK)
		*out = (im_nn_encoder_kind)i;
	return rc;
}

/* nature's three convs need 36 pixels a side: (36 - 8) / 4 + 1 = 8, then
 * (8 - 4) / 2 + 1 = 3, then 3 - 3 + 1 = 1. */
#define NATURE_MIN_SIDE 36

int im_nn_encoder_auto(const im_obs_space *obs, im_nn_encoder_kind *out)
{
	if (obs->ndim == 1) {
		*out = IM_NN_ENCODER_MLP;
		return IM_OK;
	}
	if (obs->ndim != 3)
		return IM_EINVAL;
	int small = obs->shape[0] < NATURE_MIN_SIDE ||
		    obs->shape[1] < NATURE_MIN_SIDE;
	*out = small ? IM_NN_ENCODER_MINATAR : IM_NN_ENCODER_NATURE;
	return IM_OK;
}

const im_nni_encoder_ops *im_nni_encoder_get(im_nn_encoder_kind kind)
{
	if ((int)kind < 0 || kind >= IM_NN_ENCODER_COUNT_)
		return NULL;
	return encoders[kind];
}

int im_nni_layout_add_nd(im_nni_layout *l, const char *name, int ndim,
			 const int64_t *shape)
{
	if (l->n >= l->cap || strlen(name) >= IM_TENSOR_NAME_MAX || ndim < 1 ||
	    ndim > IM_TENSOR_MAX_DIMS)
		return IM_ERANGE;
	im_tensor_desc *t = &l->t[l->n];
	memset(t, 0, sizeof(*t));
	strcpy(t->name, name);
	t->ndim = ndim;
	t->numel = 1;
	for (int i = 0; i < ndim; i++) {
		t->shape[i] = shape[i];
		t->numel *= (size_t)shape[i];
	}
	t->offset = l->off;
	l->off += t->numel;
	return l->n++;
}

int im_nni_layout_add(im_nni_layout *l, const char *name, int64_t d0,
		      int64_t d1)
{
	int64_t shape[2] = {d0, d1};
	return im_nni_layout_add_nd(l, name, d1 ? 2 : 1, shape);
}

void im_nni_printf(im_nni_writer *w, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (w->f) {
		if (vfprintf(w->f, fmt, ap) < 0)
			w->err = 1;
	} else {
		size_t room = w->pos < w->len ? w->len - w->pos : 0;
		int k = vsnprintf(room ? w->buf + w->pos : NULL, room, fmt, ap);
		if (k < 0)
			w->err = 1;
		else
			w->pos += (size_t)k;
	}
	va_end(ap);
}
