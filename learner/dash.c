// SPDX-License-Identifier: Apache-2.0
/* The dashboard's routes: embedded files, the history, the configuration. */
#include "dash.h"

#include "err.h"

#include <stdlib.h>
#include <string.h>

struct im_dash {
	im_history *history;
	char *config_json;
	size_t config_len;
};

int im_dash_new(im_dash **out, const im_dash_opts *o)
{
	if (!out || !o || !o->history)
		return IM_EINVAL;
	im_dash *d = calloc(1, sizeof *d);
	const char *cfg = o->config_json ? o->config_json : "{}";
	if (!d || !(d->config_json = strdup(cfg))) {
		free(d);
		return IM_ENOMEM;
	}
	d->history = o->history;
	d->config_len = strlen(cfg);
	*out = d;
	return IM_OK;
}

void im_dash_free(im_dash *d)
{
	if (!d)
		return;
	free(d->config_json);
	free(d);
}

static void reply_text(im_dash_reply *r, int code, const char *text)
{
	*r = (im_dash_reply){.code = code,
			     .content_type = "text/plain; charset=utf-8",
			     .body = text,
			     .len = strlen(text)};
}

static const im_dash_asset *find_asset(const char *path, size_t n)
{
	for (size_t i = 0; i < im_dash_num_assets; i++) {
		const im_dash_asset *a = &im_dash_assets[i];
		if (strlen(a->path) == n && memcmp(a->path, path, n) == 0)
			return a;
	}
	return NULL;
}

static void reply_history(const im_dash *d, const char *query, im_dash_reply *r)
{
	uint64_t since;
	if (im_history_parse_query(query, &since) != IM_OK) {
		reply_text(r, 400,
			   "bad query: /history takes nothing or "
			   "since=<decimal integer>\n");
		return;
	}
	char *doc;
	size_t len;
	if (im_history_render_json(d->history, since, &doc, &len) != IM_OK) {
		reply_text(r, 500, "out of memory\n");
		return;
	}
	*r = (im_dash_reply){.code = 200,
			     .content_type = "application/json",
			     .body = doc,
			     .len = len,
			     .owned = doc};
}

int im_dash_route(const im_dash *d, const char *target, im_dash_reply *r)
{
	size_t n = strcspn(target, "?");
	const char *query = target[n] == '?' ? target + n + 1 : NULL;
	if (n == 8 && memcmp(target, "/history", 8) == 0) {
		reply_history(d, query, r);
		return 1;
	}
	if (n == 7 && memcmp(target, "/config", 7) == 0) {
		*r = (im_dash_reply){.code = 200,
				     .content_type = "application/json",
				     .body = d->config_json,
				     .len = d->config_len};
		return 1;
	}
	const im_dash_asset *a = find_asset(target, n);
	if (!a)
		return 0;
	*r = (im_dash_reply){.code = 200,
			     .content_type = a->content_type,
			     .body = (const char *)a->data,
			     .len = a->len};
	return 1;
}
