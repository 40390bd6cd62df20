// SPDX-License-Identifier: Apache-2.0
/* Parsing of the HTTP/1.x request heads the status port accepts: the one
 * place where bytes from any client on the network are interpreted, kept
 * apart from the server's I/O so it can be tested and fuzzed on its own
 * (tests/fuzz/fuzz_http.c).
 *
 * Accepted: "TOKEN SP /target SP HTTP/1.0|1.1" CRLF (or LF), then header
 * lines "token: value" up to an empty line.  Nothing here allocates or
 * keeps a pointer to its arguments. */
#ifndef IM_LEARNER_HTTP_H
#define IM_LEARNER_HTTP_H

#include <stddef.h>

/* Offset just past the empty line that ends a head in p[0, len), or 0 when
 * the head is not complete yet. */
size_t im_http_head_end(const char *p, size_t len);

/* Parses a complete, NUL-terminated head in place (it is cut into
 * strings).  Returns 1 and points *method and *target into head when the
 * request line and every header line are well formed; 0 otherwise, with
 * *method and *target untouched. */
int im_http_parse_request(char *head, char **method, char **target);

#endif
