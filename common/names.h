// SPDX-License-Identifier: Apache-2.0
/* Enumerations named by strings: one lookup, one error text.
 *
 * A module that gives its enum values names (activations, encoders, init
 * methods, optimisers) keeps them in one array indexed by the enum and
 * parses with im_names_find, so every bad name is refused the same way,
 * listing what is accepted. */
#ifndef IM_NAMES_H
#define IM_NAMES_H

#include <stddef.h>

/* Finds s among names[0..n): IM_OK with its index in *idx, or IM_EINVAL
 * with "'s' is not one of: a, b, c" in err (err may be NULL; s may be NULL,
 * which matches nothing).  Case-sensitive.  *idx is set only on success. */
int im_names_find(const char *const *names, int n, const char *s, int *idx,
		  char *err, size_t errlen);

#endif
