// SPDX-License-Identifier: Apache-2.0
/* The Python-environment bridge in a build without Python (meson found no
 * python3-embed, or -Dpython=disabled): py: and gym: are refused with the
 * way to get them. */
#include <string.h>

#include "env/pyenv.h"
#include "err.h"

int im_pyenv_is_spec(const char *spec)
{
	return strncmp(spec, IM_PYENV_PREFIX, strlen(IM_PYENV_PREFIX)) == 0 ||
	       strncmp(spec, IM_GYMENV_PREFIX, strlen(IM_GYMENV_PREFIX)) == 0;
}

int im_env_pyenv_open(const im_env_class **out, const char *spec, char *err,
		      size_t errlen)
{
	(void)out;
	return im_errf(err, errlen, IM_EPLUGIN, "environment '%s': this impala "
						"was built without Python support (the build found no "
						"python3-embed); install libpython3-dev (scripts/"
						"install-deps.sh does) and rebuild",
		       spec);
}

void im_env_pyenv_close(const im_env_class *c)
{
	(void)c;
}

const char *im_pyenv_last_error(const im_env_class *c)
{
	(void)c;
	return "";
}
