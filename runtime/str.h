/*
 * str: character classes shared by the parsers (RFC 3986 unreserved characters, hex digits), and
 * the renderings of untrusted text for messages and log lines.
 */
#ifndef SM_STR_H
#define SM_STR_H

#include <stdbool.h>
#include <stddef.h>

/* Whether c is an RFC 3986 unreserved character: A-Z a-z 0-9 - . _ ~ */
bool sm_is_unreserved(unsigned char c);

/* The value of hex digit c (either case), or -1. */
int sm_hex_digit(char c);

/* Writes a printable, bounded rendering of untrusted text into out (cap > 4): bytes outside
 * 0x20-0x7e become '?', and a text that does not fit ends in "...". For names and values shown
 * in messages (a step name, an engine value, a user name). NULL reads as "". */
void sm_str_printable(const char *in, char *out, size_t cap);

/* Writes text on one line into out (at most cap-1 bytes): control characters (below 0x20 and
 * 0x7f) become spaces, everything else (UTF-8 included) is kept. For a service's or a library's
 * message quoted in ours. NULL reads as "". */
void sm_str_one_line(const char *in, char *out, size_t cap);

#endif
