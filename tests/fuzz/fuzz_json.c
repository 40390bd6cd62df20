// SPDX-License-Identifier: Apache-2.0
/* The JSON reader behind the checkpoint header (common/learn/json.c):
 * parse, then walk the whole tree reading every node as the checkpoint
 * reader would, and look a few keys up. */
#include "fuzz.h"
#include "learn/json.h"

static size_t walk(const im_json *v, int depth)
{
	size_t n = 1;
	if (v->type == IM_JSON_STRING)
		n += v->len + (v->str[v->len] == '\0');
	if (v->type == IM_JSON_ARRAY || v->type == IM_JSON_OBJECT)
		for (size_t i = 0; i < v->len; i++) {
			n += walk(v->items[i], depth + 1);
			if (v->type == IM_JSON_OBJECT)
				n += v->keys[i][0] != '\0';
		}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	im_json *root = NULL;
	char err[128];
	if (im_json_parse(&root, (const char *)data, size, err, sizeof err) != 0)
		return 0;
	volatile size_t sink = walk(root, 0);
	sink += im_json_get(root, "__metadata__") != NULL;
	sink += im_json_get(root, "") != NULL;
	(void)sink;
	im_json_free(root);
	return 0;
}
