// SPDX-License-Identifier: Apache-2.0
/* Loading a user's environment from a shared library (dlopen) through
 * impala_env_plugin.h, and wrapping it as an environment class.  Every
 * field of the plugin's table is checked before use, so a broken library
 * is refused with IM_EPLUGIN and a reason instead of crashing later. */
#include <dlfcn.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "env/env_class.h"
#include "env/impala_env_plugin.h"
#include "err.h"

typedef uint32_t (*version_fn)(void);
typedef const impala_env_plugin *(*entry_fn)(void);

/* Per-instance state kept in the vecenv's state array. */
typedef struct plugin_state {
	void *inst; /* the plugin's create() result */
} plugin_state;

static const impala_env_plugin *table(const im_env_class *c)
{
	return c->plugin;
}

static int pl_init(const im_env_class *c, void *st)
{
	plugin_state *s = st;
	s->inst = table(c)->create(c->args);
	return s->inst ? 0 : IM_EPLUGIN;
}

static void pl_fini(const im_env_class *c, void *st)
{
	plugin_state *s = st;
	table(c)->destroy(s->inst);
	s->inst = NULL;
}

/* Observations go straight into the caller's buffer in the plugin's own
 * dtype: a uint8 frame is never widened (env.h). */
static void pl_reset(const im_env_class *c, void *st, im_rng *rng, void *obs)
{
	plugin_state *s = st;
	table(c)->reset(s->inst, im_rng_u64(rng), obs);
}

static int pl_step(const im_env_class *c, void *st, const void *action,
		   void *obs, float *reward, uint8_t *terminated)
{
	plugin_state *s = st;
	int32_t term = 0;
	float r = 0;
	if (table(c)->step(s->inst, action, obs, &r, &term))
		return IM_EPLUGIN;
	*reward = r;
	*terminated = term != 0;
	return 0;
}

/* The table's obs_scale (version 2; 0 for version 1, whose table ends
 * before it), checked against the dtype; 0 or IM_EPLUGIN. */
static int check_scale(im_env_class *c, const impala_env_plugin *p,
		       const char *path, char *err, size_t errlen)
{
	float k = p->abi_version >= 2 ? p->obs_scale : 0.0f;
	const char *why = im_obs_scale_problem(c->obs.dtype, k);
	if (why) {
		im_errf(err, errlen, 0, "plugin '%s': obs_scale %g %s", path,
			(double)k, why);
		return IM_EPLUGIN;
	}
	c->obs.scale = c->obs.dtype == IM_DTYPE_U8 ? k : 0.0f;
	return 0;
}

/* Checks the table and copies its spaces into c; 0 or IM_EPLUGIN. */
static int check_spaces(im_env_class *c, const impala_env_plugin *p,
			const char *path, char *err, size_t errlen)
{
	if (p->obs_ndim < 1 || p->obs_ndim > IMPALA_ENV_MAX_OBS_DIMS ||
	    p->obs_ndim > IM_SPACE_MAX_DIMS) {
		im_errf(err, errlen, 0, "plugin '%s': obs_ndim %d is not in 1..%d",
			path, (int)p->obs_ndim, IMPALA_ENV_MAX_OBS_DIMS);
		return IM_EPLUGIN;
	}
	uint64_t numel = 1;
	c->obs.ndim = p->obs_ndim;
	for (int i = 0; i < p->obs_ndim; i++) {
		if (p->obs_shape[i] < 1 ||
		    (numel *= (uint64_t)p->obs_shape[i]) > IM_ENV_MAX_OBS_NUMEL) {
			im_errf(err, errlen, 0, "plugin '%s': bad observation shape",
				path);
			return IM_EPLUGIN;
		}
		c->obs.shape[i] = p->obs_shape[i];
	}
	if (p->obs_dtype != IMPALA_ENV_OBS_F32 &&
	    p->obs_dtype != IMPALA_ENV_OBS_U8) {
		im_errf(err, errlen, 0, "plugin '%s': obs_dtype %d is neither "
					"float32 (0) nor uint8 (1)",
			path, (int)p->obs_dtype);
		return IM_EPLUGIN;
	}
	c->obs.dtype = p->obs_dtype == IMPALA_ENV_OBS_U8 ? IM_DTYPE_U8
							 : IM_DTYPE_F32;
	if (check_scale(c, p, path, err, errlen))
		return IM_EPLUGIN;
	c->obs.low = p->obs_low;
	c->obs.high = p->obs_high;
	c->act.n = p->act_n;
	/* Bounded as the wire bounds it: the model's layout multiplies it. */
	if (p->act_kind == IMPALA_ENV_ACT_DISCRETE && p->act_n >= 1 &&
	    p->act_n <= IMPALA_ENV_MAX_ACTIONS) {
		c->act.kind = IM_ACT_DISCRETE;
		return 0;
	}
	if (p->act_kind != IMPALA_ENV_ACT_BOX || p->act_n < 1 ||
	    p->act_n > IMPALA_ENV_MAX_ACTION_DIM ||
	    p->act_n > IM_SPACE_MAX_ACTION_DIM || !p->act_low ||
	    !p->act_high) {
		im_errf(err, errlen, 0, "plugin '%s': bad action space (kind %d, "
					"n %d)",
			path, (int)p->act_kind, (int)p->act_n);
		return IM_EPLUGIN;
	}
	c->act.kind = IM_ACT_BOX;
	for (int j = 0; j < p->act_n; j++) {
		if (!(p->act_low[j] <= p->act_high[j])) {
			im_errf(err, errlen, 0, "plugin '%s': action bounds of "
						"dimension %d are empty or NaN",
				path, j);
			return IM_EPLUGIN;
		}
		c->act.low[j] = p->act_low[j];
		c->act.high[j] = p->act_high[j];
	}
	return 0;
}

/* The size of the table of ABI version v (1 or 2). */
static size_t table_size(uint32_t v)
{
	return v == 1 ? IMPALA_ENV_PLUGIN_V1_SIZE : sizeof(impala_env_plugin);
}

/* v is what the library's version function said. */
static int check_table(im_env_class *c, const impala_env_plugin *p,
		       uint32_t v, const char *path, char *err, size_t errlen)
{
	if (!p) {
		im_errf(err, errlen, 0, "plugin '%s': %s() returned NULL", path,
			IMPALA_ENV_ENTRY_SYMBOL);
		return IM_EPLUGIN;
	}
	if (p->abi_version != v || p->struct_size != table_size(v)) {
		im_errf(err, errlen, 0, "plugin '%s': table says ABI version %u and "
					"size %u; expected %u and %zu",
			path, p->abi_version,
			p->struct_size, v, table_size(v));
		return IM_EPLUGIN;
	}
	if (!p->create || !p->destroy || !p->reset || !p->step) {
		im_errf(err, errlen, 0, "plugin '%s': table lacks a function "
					"(create, destroy, reset and step are all required)",
			path);
		return IM_EPLUGIN;
	}
	if (p->max_episode_steps < 0) {
		im_errf(err, errlen, 0, "plugin '%s': negative max_episode_steps",
			path);
		return IM_EPLUGIN;
	}
	c->max_episode_steps = p->max_episode_steps;
	snprintf(c->name_buf, sizeof(c->name_buf), "%s",
		 p->name ? p->name : "plugin");
	c->name = c->name_buf;
	return check_spaces(c, p, path, err, errlen);
}

/* Looks a symbol up; dlsym gives an object pointer, and ISO C has no
 * conversion to a function pointer, hence the copy. */
static int find_fn(void *dl, const char *sym, void *fn_out, size_t fn_size,
		   const char *path, char *err, size_t errlen)
{
	dlerror();
	void *p = dlsym(dl, sym);
	if (!p) {
		im_errf(err, errlen, 0, "plugin '%s': missing symbol '%s' (is it an "
					"impala environment plugin built with "
					"impala_env_plugin.h?)",
			path, sym);
		return IM_EPLUGIN;
	}
	memcpy(fn_out, &p, fn_size);
	return 0;
}

int im_env_plugin_open(const im_env_class **out, const char *path,
		       const char *args, char *err, size_t errlen)
{
	version_fn version;
	entry_fn entry;
	int rc = IM_ENOMEM;
	im_env_class *c = calloc(1, sizeof(*c));
	if (!c)
		return IM_ENOMEM;
	c->args = strdup(args ? args : "");
	if (!c->args)
		goto fail;
	c->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!c->dl) {
		const char *why = dlerror();
		im_errf(err, errlen, 0, "plugin '%s': cannot load: %s", path,
			why ? why : "unknown reason");
		rc = IM_EPLUGIN;
		goto fail;
	}
	if ((rc = find_fn(c->dl, IMPALA_ENV_ABI_VERSION_SYMBOL, &version,
			  sizeof(version), path, err, errlen)) ||
	    (rc = find_fn(c->dl, IMPALA_ENV_ENTRY_SYMBOL, &entry,
			  sizeof(entry), path, err, errlen)))
		goto fail;
	uint32_t v = version();
	if (v < 1 || v > IMPALA_ENV_ABI_VERSION) {
		im_errf(err, errlen, 0, "plugin '%s': ABI version %u, but this "
					"program speaks versions 1 to %u; rebuild the plugin "
					"against this impala's impala_env_plugin.h",
			path, v,
			IMPALA_ENV_ABI_VERSION);
		rc = IM_EPLUGIN;
		goto fail;
	}
	const impala_env_plugin *p = entry();
	if ((rc = check_table(c, p, v, path, err, errlen)))
		goto fail;
	c->plugin = p;
	c->state_size = sizeof(plugin_state);
	c->init = pl_init;
	c->fini = pl_fini;
	c->reset = pl_reset;
	c->step = pl_step;
	c->step_batch = NULL; /* one call per instance */
	*out = c;
	return 0;
fail:
	if (c->dl)
		dlclose(c->dl);
	free(c->args);
	free(c);
	return rc;
}

void im_env_plugin_close(const im_env_class *c)
{
	im_env_class *m = (im_env_class *)c;
	if (!m)
		return;
	dlclose(m->dl);
	free(m->args);
	free(m);
}
