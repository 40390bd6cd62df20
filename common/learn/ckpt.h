// SPDX-License-Identifier: Apache-2.0
/* Checkpoints as safetensors files, which PyTorch and NumPy read directly.
 *
 * File layout (https://github.com/huggingface/safetensors):
 *   u64 little-endian N | N bytes of JSON header | data section
 * The header maps each tensor name to {"dtype":"F32","shape":[...],
 * "data_offsets":[begin,end]} (byte offsets into the data section) and
 * "__metadata__" to an object of string values.  Data are raw little-endian
 * float32, row-major.  We write the header padded with spaces to a multiple
 * of 8 bytes, tensors in the order given, packed without gaps.
 *
 * What goes in: groups of (prefix, descriptor table, arena, suffix).  Tensor
 * i of a group is named prefix + desc[i].name + suffix and holds
 * arena[desc[i].offset, + desc[i].numel).  The learner writes the model as
 * ("", model table, params, "") and the optimiser state as ("optim.", model
 * table, moment arena, ".square_avg") and so on.  Metadata are string pairs;
 * by convention "frames", "updates", "param_version", "optim.step" (decimal),
 * "optimizer" ("rmsprop" / "adam") and "run_spec" (a JSON text).
 *
 * Integrity.  Every write adds the metadata key "impala.content_hash": a
 * 64-bit hash (16 lowercase hex digits) of the header length, the exact
 * header text (with the hash's own digits read as '0') and the data
 * section.  A reader refuses a file whose hash does not match, so a flipped
 * bit anywhere, even one that leaves the JSON equivalent (an escape's hex
 * case), is found, not loaded.  Files without the key (written by PyTorch)
 * are checked structurally only.
 *
 * Errors: IM_ECORRUPT for anything malformed, truncated or failing its
 * hash; IM_EARCH when a well-formed file holds other tensors than the run
 * expects; IM_EIO / IM_ESYS for the file system; IM_EINVAL for bad
 * arguments.  Functions taking err (may be NULL) write a one-line message
 * there on failure that names the problem (and the first mismatching
 * tensor). */
#ifndef IM_CKPT_H
#define IM_CKPT_H

#include <stddef.h>
#include <stdint.h>

#include "tensor.h"

#define IM_CKPT_MAX_DIMS 8
#define IM_CKPT_MAX_HEADER (100u << 20) /* as the safetensors library */
#define IM_CKPT_HASH_KEY "impala.content_hash"

typedef struct im_ckpt_group {
	const char *prefix;         /* NULL or "" for none */
	const im_tensor_desc *desc; /* ndesc entries; the caller's */
	size_t ndesc;
	float *arena;       /* write: only read; load: written */
	const char *suffix; /* NULL or "" for none */
} im_ckpt_group;

typedef struct im_ckpt_kv {
	const char *key;
	const char *value; /* any UTF-8 text; escaped as needed */
} im_ckpt_kv;

/* Writes path atomically: a temporary file in the same directory, fsync,
 * rename over path, fsync of the directory.  On failure path is untouched
 * and the temporary file removed.  Every buffer stays the caller's.
 * IM_EINVAL for duplicate names, a desc whose numel is not the product of
 * its shape, or a metadata key equal to IM_CKPT_HASH_KEY. */
int im_ckpt_write(const char *path, const im_ckpt_group *groups,
		  size_t ngroups, const im_ckpt_kv *meta, size_t nmeta,
		  char *err, size_t errlen);

/* Removes the temporary files im_ckpt_write(path) leaves when the process
 * dies mid-write (path + ".tmp." + six characters of mkostemp), in path's
 * directory; never path itself nor any other name.  *removed (may be
 * NULL) gets how many went.  IM_OK also when the directory has none;
 * IM_ESYS (errno set) when it cannot be read or a file not removed. */
int im_ckpt_remove_stale_temps(const char *path, int *removed);

/* An opened, fully validated file held in memory. */
typedef struct im_ckpt im_ckpt;

typedef struct im_ckpt_tensor {
	const char *name; /* owned by the im_ckpt */
	int ndim;
	int64_t shape[IM_CKPT_MAX_DIMS];
	size_t numel;
	size_t begin, end; /* byte offsets into the data section */
} im_ckpt_tensor;

/* Reads and validates path (or a copy of buf[0, len)): lengths, offsets
 * (in range, contiguous, non-overlapping, covering the data section), JSON,
 * dtype F32, shapes against sizes, metadata strings, the content hash.  On
 * success *out is the caller's, closed with im_ckpt_close; on failure *out
 * is untouched. */
int im_ckpt_open(im_ckpt **out, const char *path, char *err, size_t errlen);
int im_ckpt_open_mem(im_ckpt **out, const void *buf, size_t len, char *err,
		     size_t errlen);
void im_ckpt_close(im_ckpt *f);

/* 1 when the file carried a content hash and it matched, 0 when it had
 * none (a file from another writer, or one whose hash key was destroyed
 * beyond recognition).  The learner resuming from its own checkpoint
 * should insist on 1. */
int im_ckpt_verified(const im_ckpt *f);

/* Tensors in header order; pointers live as long as f. */
size_t im_ckpt_count(const im_ckpt *f);
const im_ckpt_tensor *im_ckpt_at(const im_ckpt *f, size_t i);
const im_ckpt_tensor *im_ckpt_find(const im_ckpt *f, const char *name);
/* Copies t's numel floats to dst (the caller's). */
void im_ckpt_copy(const im_ckpt *f, const im_ckpt_tensor *t, float *dst);

/* A metadata value, or NULL when absent; lives as long as f. */
const char *im_ckpt_meta(const im_ckpt *f, const char *key);
/* A metadata value parsed as a decimal uint64: IM_ENOENT when absent,
 * IM_ECORRUPT when not a number. */
int im_ckpt_meta_u64(const im_ckpt *f, const char *key, uint64_t *out);

/* Refuse tensors in the file that no group names (default), or ignore them
 * (to take only the model from a file that also holds optimiser state). */
#define IM_CKPT_IGNORE_EXTRA 1u

/* Checks that f holds exactly the tensors the groups describe, with the
 * same shapes, and only then copies them into the groups' arenas (so a
 * refused file leaves every arena untouched).  IM_EARCH names the first
 * mismatch: expected tensors in group order first (missing, shape
 * differs), then the first extra tensor in header order. */
int im_ckpt_load(const im_ckpt *f, const im_ckpt_group *groups,
		 size_t ngroups, unsigned flags, char *err, size_t errlen);

#endif
