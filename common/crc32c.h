// SPDX-License-Identifier: Apache-2.0
/* CRC-32C (Castagnoli, reflected polynomial 0x82f63b78, initial value and
 * final XOR 0xffffffff), as Params.checksum and TFRecord files carry it.
 *
 * Two implementations with the same result: slicing-by-8 tables, portable,
 * the reference; and the SSE4.2 crc32 instruction, 8 bytes a step, used
 * when the CPU has it (checked once, at the first call).  An actor checks
 * every Params it receives (the whole parameter arena, 0.5 MB for the
 * MinAtar network, hundreds of times a second) and the learner sums each
 * one it publishes, so the tables' cost showed in profiles (3-6% of a
 * MinAtar run's samples; tests/bench/README.md).
 *
 * data is borrowed for the call; any alignment and length. */
#ifndef IM_CRC32C_H
#define IM_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* The fastest implementation this CPU runs. */
uint32_t im_crc32c(const void *data, size_t len);

/* The table version, on every CPU. */
uint32_t im_crc32c_table(const void *data, size_t len);

/* 1 when this build and CPU have the instruction (then
 * im_crc32c_hw may be called), else 0. */
int im_crc32c_hw_available(void);

/* The SSE4.2 version; only when im_crc32c_hw_available(). */
uint32_t im_crc32c_hw(const void *data, size_t len);

#endif
