// SPDX-License-Identifier: Apache-2.0
/* The entry point every fuzz target defines (libFuzzer's), and what the
 * replay driver (replay.c) calls for each corpus file.  A target must not
 * keep a pointer to data, leak, or print; it returns 0 for every input. */
#ifndef IM_TEST_FUZZ_H
#define IM_TEST_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
