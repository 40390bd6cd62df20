// SPDX-License-Identifier: Apache-2.0
#include "curve.h"

#include "err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

/* The Z85 alphabet (ZeroMQ RFC 32). */
static const char z85_chars[] =
	"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	".-:+=^!/*?&<>()[]{}@%$#";

/* Key files are tiny; anything larger is not a key file. */
#define KEY_FILE_MAX 4096

int im_curve_check_z85(const char *text, char *err, size_t errlen)
{
	size_t n = strlen(text);
	if (n != IM_CURVE_Z85_LEN) {
		snprintf(err, errlen, "a CURVE key is %d Z85 characters, found %zu",
			 IM_CURVE_Z85_LEN, n);
		return IM_EINVAL;
	}
	for (size_t i = 0; i < n; i++)
		if (!text[i] || !strchr(z85_chars, text[i])) {
			snprintf(err, errlen,
				 "character %zu (0x%02x) is not in the Z85 alphabet",
				 i + 1, (unsigned char)text[i]);
			return IM_EINVAL;
		}
	/* Five characters encode a 32-bit word; some spellings overflow it. */
	uint8_t raw[IM_CURVE_KEY_BYTES];
	if (!zmq_z85_decode(raw, text)) {
		snprintf(err, errlen, "not a valid Z85 encoding");
		return IM_EINVAL;
	}
	return IM_OK;
}

/* Reads at most KEY_FILE_MAX bytes of path into buf (NUL-terminated). */
static int slurp(const char *path, char *buf, size_t cap, size_t *len,
		 char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		errno = e;
		return e == ENOENT ? IM_ENOENT : IM_ESYS;
	}
	size_t n = 0;
	ssize_t r;
	while (n < cap - 1 && (r = read(fd, buf + n, cap - 1 - n)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			close(fd);
			snprintf(err, errlen, "%s: %s", path, strerror(e));
			errno = e;
			return IM_ESYS;
		}
		n += (size_t)r;
	}
	close(fd);
	if (n == cap - 1) {
		snprintf(err, errlen, "%s: too large for a key file", path);
		return IM_EINVAL;
	}
	buf[n] = '\0';
	*len = n;
	return IM_OK;
}

/* Trims spaces, tabs and a carriage return from both ends of s. */
static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t' || *s == '\r')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

/* The one key line of text, or NULL with the reason in err. */
static char *key_line(char *text, const char *path, char *err, size_t errlen)
{
	char *key = NULL, *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		line = trim(line);
		if (!line[0] || line[0] == '#')
			continue;
		if (key) {
			snprintf(err, errlen, "%s: more than one key line", path);
			return NULL;
		}
		key = line;
	}
	if (!key)
		snprintf(err, errlen, "%s: no key in the file", path);
	return key;
}

int im_curve_read_key(const char *path, char z85[IM_CURVE_Z85_LEN + 1],
		      char *err, size_t errlen)
{
	char buf[KEY_FILE_MAX];
	size_t len = 0;
	int rc = slurp(path, buf, sizeof buf, &len, err, errlen);
	if (rc)
		return rc;
	if (strlen(buf) != len) {
		snprintf(err, errlen, "%s: binary data, not a Z85 key", path);
		return IM_EINVAL;
	}
	char *key = key_line(buf, path, err, errlen);
	if (!key)
		return IM_EINVAL;
	char why[128];
	if (im_curve_check_z85(key, why, sizeof why)) {
		snprintf(err, errlen, "%s: not a CURVE key: %s", path, why);
		return IM_EINVAL;
	}
	memcpy(z85, key, IM_CURVE_Z85_LEN + 1);
	return IM_OK;
}

int im_curve_decode(const char *z85, uint8_t key[IM_CURVE_KEY_BYTES])
{
	char why[128];
	if (im_curve_check_z85(z85, why, sizeof why))
		return IM_EINVAL;
	return zmq_z85_decode(key, z85) ? IM_OK : IM_EINVAL;
}

int im_curve_public_of(const char *secret_z85,
		       char pub_z85[IM_CURVE_Z85_LEN + 1])
{
	char why[128];
	if (im_curve_check_z85(secret_z85, why, sizeof why))
		return IM_EINVAL;
	char out[IM_CURVE_Z85_LEN + 1];
	if (zmq_curve_public(out, secret_z85) != 0)
		return IM_EINVAL;
	memcpy(pub_z85, out, sizeof out);
	return IM_OK;
}

int im_curve_write_key(const char *path, const char *z85, const char *comment,
		       unsigned mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, (mode_t)mode);
	if (fd < 0)
		return IM_ESYS;
	char buf[512];
	int n = comment ? snprintf(buf, sizeof buf, "# %.400s\n%s\n", comment, z85)
			: snprintf(buf, sizeof buf, "%s\n", z85);
	/* The umask may have narrowed the mode; a secret key must not be
	 * wider than asked, and a public key should be as readable as asked. */
	int ok = n > 0 && (size_t)n < sizeof buf &&
		 write(fd, buf, (size_t)n) == (ssize_t)n && fchmod(fd, (mode_t)mode) == 0 &&
		 fsync(fd) == 0;
	int e = errno;
	close(fd);
	if (!ok) {
		unlink(path);
		errno = e;
		return IM_ESYS;
	}
	return IM_OK;
}
