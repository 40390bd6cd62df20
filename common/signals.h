// SPDX-License-Identifier: Apache-2.0
/* The programs' orderly stop: SIGTERM and SIGINT set a flag that their
 * loops poll (so a stop always goes through the normal shutdown: Goodbye,
 * final checkpoint), and SIGPIPE is ignored (a vanished peer is an error
 * code, not a death). */
#ifndef IM_SIGNALS_H
#define IM_SIGNALS_H

#include <signal.h>

/* Installs the handlers; returns the flag they set (static storage). */
volatile sig_atomic_t *im_signals_install(void);

#endif
