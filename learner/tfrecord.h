// SPDX-License-Identifier: Apache-2.0
/* TFRecord framing, the container of TensorBoard's event files:
 *
 *   uint64 length (little-endian)
 *   uint32 masked CRC-32C of the 8 length bytes
 *   length bytes of data
 *   uint32 masked CRC-32C of the data
 *
 * where mask(c) = ((c >> 15) | (c << 17)) + 0xa282ead8 (TensorFlow's
 * record_writer).  The CRC is common/wire.h's im_wire_crc32c. */
#ifndef IM_LEARNER_TFRECORD_H
#define IM_LEARNER_TFRECORD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define IM_TFRECORD_OVERHEAD 16u
/* Records longer than this are not ours: a scan stops there. */
#define IM_TFRECORD_MAX_LEN (64u << 20)

uint32_t im_tfrecord_mask(uint32_t crc);

/* Frames n bytes of data into out, which has room for
 * n + IM_TFRECORD_OVERHEAD bytes; returns the bytes written. */
size_t im_tfrecord_frame(uint8_t *out, const void *data, size_t n);

/* Writes one framed record to f (not flushed).  IM_EIO on a short write
 * (errno set), IM_ETOOBIG above IM_TFRECORD_MAX_LEN. */
int im_tfrecord_write(FILE *f, const void *data, size_t n);

/* What a scan of a file found. */
typedef struct im_tfrecord_scan {
	uint64_t records;   /* complete records whose two CRCs hold */
	uint64_t valid_len; /* bytes they take from the start */
	uint64_t file_len;
	/* What follows the valid records, when valid_len < file_len: 1 for a
	 * torn tail (the file ends inside a record whose framing so far is
	 * intact: a writer killed mid-record), 0 for damage (a CRC that
	 * fails, or a length beyond IM_TFRECORD_MAX_LEN). */
	int torn;
} im_tfrecord_scan;

/* Reads f from its start to its end, checking every record; a length
 * longer than the rest of the file is a torn tail, found without
 * allocating for it, so a crafted file costs no more memory than its
 * largest whole record.  IM_EIO on a
 * read error (errno set), IM_ENOMEM; else IM_OK whatever the contents. */
int im_tfrecord_scan_file(FILE *f, im_tfrecord_scan *out);

#endif
