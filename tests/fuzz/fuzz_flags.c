// SPDX-License-Identifier: Apache-2.0
/* The learner's configuration from the command line and from IMPALA_*
 * environment variables (what systemd's EnvironmentFile= sets from
 * deploy/env/learner.env): the input's lines are either "IMPALA_NAME=value"
 * (set in the environment, as systemd would) or one argument each.  Then
 * im_learner_config_parse() runs over the flag table of impala-learner,
 * with every cross-field check, and the variables are removed again.
 * "--help" and "-h" are left out: they only print the usage text. */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fuzz.h"

#define MAX_ARGS 32
#define MAX_VARS 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	char *argv[MAX_ARGS + 1] = {"impala-learner"};
	int argc = 1;
	char *vars[MAX_VARS];
	int nvars = 0;
	for (char *line = text, *next; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		char *eq = strchr(line, '=');
		if (strncmp(line, "IMPALA_", 7) == 0 && eq && nvars < MAX_VARS) {
			*eq = '\0';
			if (setenv(line, eq + 1, 1) == 0)
				vars[nvars++] = line;
		} else if (strcmp(line, "--help") && strcmp(line, "-h") &&
			   argc < MAX_ARGS) {
			argv[argc++] = line;
		}
	}
	argv[argc] = NULL;
	im_learner_config c;
	im_learner_config_defaults(&c);
	char err[512];
	(void)im_learner_config_parse(&c, argc, argv, err, sizeof err);
	for (int i = 0; i < nvars; i++)
		unsetenv(vars[i]);
	free(text);
	return 0;
}
