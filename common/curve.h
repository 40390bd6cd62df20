// SPDX-License-Identifier: Apache-2.0
/* CURVE key files: reading, checking and writing the keys ZeroMQ's CURVE
 * mechanism uses (RFC 26 / CurveZMQ).
 *
 * A key file holds one key in Z85, the 40-character text form that
 * zmq_curve_keypair() produces, followed by an optional newline.  Lines that
 * start with '#' and blank lines are ignored, so a file may carry a comment
 * naming its owner; any other text (a second key, a key of the wrong length,
 * a character outside the Z85 alphabet) makes the file invalid, so a
 * truncated or mangled copy is caught when the program starts rather than as
 * a handshake that silently never succeeds.
 *
 * Nothing here logs; failures return IM_E* codes with a one-line reason that
 * names the file. */
#ifndef IM_CURVE_H
#define IM_CURVE_H

#include <stddef.h>
#include <stdint.h>

#define IM_CURVE_Z85_LEN 40 /* characters of a Z85 key, without the NUL */
#define IM_CURVE_KEY_BYTES 32

/* Checks that text is one Z85 key of 40 characters (IM_EINVAL otherwise,
 * with the reason in err). */
int im_curve_check_z85(const char *text, char *err, size_t errlen);

/* Reads the key file at path into z85 (41 bytes, NUL-terminated).  Errors:
 * IM_ENOENT (missing), IM_ESYS (unreadable; errno kept), IM_EINVAL (not
 * exactly one Z85 key), each with a reason naming path in err.  z85 is
 * written only on success. */
int im_curve_read_key(const char *path, char z85[IM_CURVE_Z85_LEN + 1],
		      char *err, size_t errlen);

/* The public key of a Z85 secret key (zmq_curve_public), in Z85.
 * IM_EINVAL when secret is not a key. */
int im_curve_public_of(const char *secret_z85, char pub_z85[IM_CURVE_Z85_LEN + 1]);

/* Decodes a checked Z85 key into its 32 bytes (IM_EINVAL if not a key). */
int im_curve_decode(const char *z85, uint8_t key[IM_CURVE_KEY_BYTES]);

/* Writes z85 and a newline to path, created exclusively (an existing file
 * is never overwritten: IM_ESYS with errno EEXIST) with the given mode,
 * then fsyncs it.  A comment line goes first when comment is not NULL. */
int im_curve_write_key(const char *path, const char *z85, const char *comment,
		       unsigned mode);

#endif
