/*
 * str: character classes and string helpers shared by the parsers and the error messages
 * (RFC 3986 unreserved characters, UTF-8 well-formedness, names and texts made fit for
 * one line of a message), and the environment's non-empty settings.
 */
#ifndef SM_STR_H
#define SM_STR_H

#include <stdbool.h>
#include <stddef.h>

/* Whether c is an RFC 3986 unreserved character: A-Z a-z 0-9 - . _ ~ */
bool sm_is_unreserved(unsigned char c);

/* Length of the well-formed UTF-8 sequence at s[0..len) (1-4), or 0 when it is not well formed
 * (overlong forms, surrogates and code points past U+10FFFF are not); then *bad (may be NULL) is
 * the length of its maximal invalid prefix (>= 1), Unicode's "maximal subpart". len >= 1. */
size_t sm_utf8_seq(const unsigned char *s, size_t len, size_t *bad);

/* Whether the NUL-terminated s is well-formed UTF-8; *chars (may be NULL) gets its number of
 * characters (code points). */
bool sm_utf8_valid(const char *s, size_t *chars);

/* Copies src (NULL reads as "") into dst (cap bytes) as one line of a message: control
 * characters become spaces, runs of spaces collapse to one, leading and trailing spaces go. A
 * longer text is cut at cap - 1 bytes, never inside a UTF-8 sequence. Accepts cap 0. */
void sm_str_one_line(const char *src, char *dst, size_t cap);

/* Copies a name (NULL reads as "") into dst (cap bytes) for a message: control characters and
 * bytes that are not well-formed UTF-8 become '?', so the copy is valid UTF-8 whatever the input;
 * a name that does not fit is cut, never inside a UTF-8 sequence, and ends with "...". Accepts
 * cap 0. */
void sm_str_printable(const char *src, char *dst, size_t cap);

/* The value of the environment variable name, or NULL when it is unset or empty (the AWS SDKs
 * treat an empty setting as none). */
const char *sm_env_nonempty(const char *name);

#endif
