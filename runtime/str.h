/*
 * str: character classes shared by the parsers (RFC 3986 unreserved characters, hex digits).
 */
#ifndef SM_STR_H
#define SM_STR_H

#include <stdbool.h>

/* Whether c is an RFC 3986 unreserved character: A-Z a-z 0-9 - . _ ~ */
bool sm_is_unreserved(unsigned char c);

/* The value of hex digit c (either case), or -1. */
int sm_hex_digit(char c);

#endif
