// SPDX-License-Identifier: Apache-2.0
#include "names.h"

#include "err.h"

#include <stdio.h>
#include <string.h>

int im_names_find(const char *const *names, int n, const char *s, int *idx,
		  char *err, size_t errlen)
{
	for (int i = 0; s && i < n; i++) {
		if (!strcmp(s, names[i])) {
			*idx = i;
			return IM_OK;
		}
	}
	char known[256] = "";
	size_t len = 0;
	for (int i = 0; i < n && len < sizeof known; i++)
		len += (size_t)snprintf(known + len, sizeof known - len, "%s%s",
					i ? ", " : "", names[i]);
	return im_errf(err, errlen, IM_EINVAL, "'%s' is not one of: %s",
		       s ? s : "(null)", known);
}
