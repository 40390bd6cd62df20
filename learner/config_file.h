// SPDX-License-Identifier: Apache-2.0
/* --config FILE: a file of IMPALA_*=value lines, the format of a systemd
 * EnvironmentFile (deploy/), e.g. the task presets in presets/.
 *
 * Each line is blank, a comment (# or ;), or NAME=value where NAME is the
 * IMPALA_* variable of one of the program's flags; the value may be in
 * matching single or double quotes.  Refused, with the file and line: a
 * line over 4095 bytes, a NUL byte, a variable set twice (a systemd
 * EnvironmentFile would keep the last, the environment-first export the
 * first: neither is what the author of both lines meant), more than 128
 * variables.  A last line without a newline is read like any other.  The variables are exported into the
 * process's environment WITHOUT overwriting a variable already set, so the
 * precedence is: built-in default < config file < environment < command
 * line.  (Spawned actors inherit them, as they would under systemd.) */
#ifndef IM_LEARNER_CONFIG_FILE_H
#define IM_LEARNER_CONFIG_FILE_H

#include <stddef.h>

#include "flags.h"

/* The FILE given by "--config FILE" or "--config=FILE" in argv[1..argc)
 * (before any "--"), else $IMPALA_CONFIG, else NULL.  Borrowed. */
const char *im_config_file_find(int argc, char *const *argv);

/* Reads path and exports its variables.  Every variable must name one of
 * the n flags (IMPALA_NUM_STEPS for "num-steps").  On IM_EINVAL (a
 * malformed line, an unknown variable) or IM_EIO (unreadable file), err
 * names the file and line, and nothing has been exported. */
int im_config_file_load(const char *path, const im_flag *flags, size_t n,
			char *err, size_t errlen);

#endif
