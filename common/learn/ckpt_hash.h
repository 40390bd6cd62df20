// SPDX-License-Identifier: Apache-2.0
/* The checkpoint's content hash, shared by the writer and the reader.
 *
 * Bytes are taken 8 at a time (little-endian words); each word w updates
 * the state as h = (rotl(h, 5) ^ w) * K with K odd.  For a fixed w that is
 * a bijection of h, and for a fixed h a bijection of w, so changing any one
 * word of the stream (any single flipped bit, in particular) always changes
 * the final value.  The tail is zero-padded and the total length mixed in.
 * Not cryptographic: it finds accidents, not attacks. */
#ifndef IM_CKPT_HASH_H
#define IM_CKPT_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "learn/ckpt.h"
#include "rng.h"

typedef struct ckpt_hash {
	uint64_t h;
	uint64_t total;
	unsigned char buf[8];
	int nbuf;
} ckpt_hash;

static inline void ckpt_hash_word(ckpt_hash *s, uint64_t w)
{
	s->h = ((s->h << 5) | (s->h >> 59)) ^ w;
	s->h *= 0x9e3779b97f4a7c15ULL;
}

static inline uint64_t ckpt_load64(const unsigned char *p)
{
	uint64_t w = 0;
	for (int i = 7; i >= 0; i--)
		w = w << 8 | p[i];
	return w;
}

static inline void ckpt_hash_init(ckpt_hash *s)
{
	memset(s, 0, sizeof(*s));
	s->h = 0x6a09e667f3bcc908ULL;
}

static inline void ckpt_hash_bytes(ckpt_hash *s, const void *data, size_t n)
{
	const unsigned char *p = data;
	s->total += n;
	while (n && s->nbuf) {
		s->buf[s->nbuf++] = *p++;
		n--;
		if (s->nbuf == 8) {
			ckpt_hash_word(s, ckpt_load64(s->buf));
			s->nbuf = 0;
		}
	}
	for (; n >= 8; p += 8, n -= 8)
		ckpt_hash_word(s, ckpt_load64(p));
	while (n--)
		s->buf[s->nbuf++] = *p++;
}

static inline void ckpt_hash_u64(ckpt_hash *s, uint64_t v)
{
	unsigned char b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	ckpt_hash_bytes(s, b, 8);
}

static inline uint64_t ckpt_hash_final(ckpt_hash *s)
{
	uint64_t total = s->total;
	if (s->nbuf) {
		memset(s->buf + s->nbuf, 0, (size_t)(8 - s->nbuf));
		ckpt_hash_word(s, ckpt_load64(s->buf));
		s->nbuf = 0;
	}
	ckpt_hash_word(s, total);
	return im_rng_mix64(s->h);
}

/* The stored form of the hash: exactly 16 lowercase hex digits. */
#define CKPT_HASH_FMT "%016llx"
#define CKPT_HASH_DIGITS 16

/* What the hash covers: the 8-byte length, the header text exactly as
 * stored except that the 16 digits of the hash itself read as '0', and the
 * data section.  The writer emits the hash member in exactly this form,
 * so the reader can find its digits in the raw header. */
#define CKPT_HASH_MEMBER "\"" IM_CKPT_HASH_KEY "\":\""

#endif
