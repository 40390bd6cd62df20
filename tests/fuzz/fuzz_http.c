// SPDX-License-Identifier: Apache-2.0
/* The status port's request parsing (learner/http.c) as the server drives
 * it: bytes arrive into an 8 KiB head buffer; a NUL byte or a head without
 * its blank line within the limit is refused; a complete head is parsed in
 * place, and the target is routed on the part before '?' or '#'. */
#include <string.h>

#include "fuzz.h"
#include "http.h"
#include "status.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char head[IM_STATUS_MAX_HEAD + 1];
	size_t n = size < IM_STATUS_MAX_HEAD ? size : IM_STATUS_MAX_HEAD;
	memcpy(head, data, n);
	head[n] = '\0';
	if (memchr(head, '\0', n))
		return 0;
	size_t end = im_http_head_end(head, n);
	if (!end)
		return 0;
	head[end] = '\0';
	char *method, *target;
	if (im_http_parse_request(head, &method, &target)) {
		/* What route() reads: both strings must be terminated. */
		size_t path = strcspn(target, "?#");
		volatile size_t sink = strlen(method) + path;
		(void)sink;
	}
	return 0;
}
