#include "str.h"

#include <string.h>

bool sm_is_unreserved(unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

int sm_hex_digit(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

void sm_str_printable(const char *in, char *out, size_t cap) {
    size_t j = 0;
    size_t n = in != NULL ? strlen(in) : 0;
    for (size_t i = 0; i < n && j + 4 < cap; i++) {
        unsigned char c = (unsigned char)in[i];
        out[j++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    if (j < n) {
        memcpy(out + j, "...", 3);
        j += 3;
    }
    out[j] = '\0';
}

void sm_str_one_line(const char *in, char *out, size_t cap) {
    size_t j = 0;
    for (const char *p = in; p != NULL && *p != '\0' && j + 1 < cap; p++) {
        unsigned char c = (unsigned char)*p;
        out[j++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
    }
    out[j] = '\0';
}
