// SPDX-License-Identifier: Apache-2.0
#include "err.h"

#include <stdarg.h>
#include <stdio.h>

static const char *const im_err_msgs[IM_ERR_INDEX_COUNT_] = {
	[IM_ERR_INDEX_NONE_] = "success",
#define IM_XX_(name, msg) [IM_ERR_INDEX_##name] = msg,
	IM_ERRNO_MAP(IM_XX_)
#undef IM_XX_
};

static const char *const im_err_names[IM_ERR_INDEX_COUNT_] = {
	[IM_ERR_INDEX_NONE_] = "IM_OK",
#define IM_XX_(name, msg) [IM_ERR_INDEX_##name] = "IM_E" #name,
	IM_ERRNO_MAP(IM_XX_)
#undef IM_XX_
};

const char *im_strerror(int rc)
{
	if (rc > 0 || -rc >= IM_ERR_INDEX_COUNT_)
		return "unknown error";
	return im_err_msgs[-rc];
}

const char *im_err_name(int rc)
{
	if (rc > 0 || -rc >= IM_ERR_INDEX_COUNT_)
		return "IM_E?";
	return im_err_names[-rc];
}

int im_errf(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}
