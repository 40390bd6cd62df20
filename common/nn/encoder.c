/* The encoder table and the small helpers the model files share: the layout
 * builder and the describe text sink. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "nn/internal.h"

/* One row per encoder kind, indexed by im_nn_encoder_kind. */
static const im_nni_encoder_ops *const encoders[IM_NN_ENCODER_COUNT_] = {
	[IM_NN_ENCODER_MLP] = &im_nni_encoder_mlp,
};

const im_nni_encoder_ops *im_nni_encoder_get(im_nn_encoder_kind kind)
{
	if ((int)kind < 0 || kind >= IM_NN_ENCODER_COUNT_)
		return NULL;
	return encoders[kind];
}

int im_nni_layout_add(im_nni_layout *l, const char *name, int64_t d0,
	int64_t d1)
{
	if (l->n >= l->cap || strlen(name) >= IM_TENSOR_NAME_MAX)
		return IM_ERANGE;
	im_tensor_desc *t = &l->t[l->n];
	memset(t, 0, sizeof(*t));
	strcpy(t->name, name);
	t->ndim = d1 ? 2 : 1;
	t->shape[0] = d0;
	t->shape[1] = d1;
	t->numel = (size_t)d0 * (size_t)(d1 ? d1 : 1);
	t->offset = l->off;
	l->off += t->numel;
	return l->n++;
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
