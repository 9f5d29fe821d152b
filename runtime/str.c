#include "str.h"

#include <stdlib.h>
#include <string.h>

bool sm_is_unreserved(unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

size_t sm_utf8_seq(const unsigned char *s, size_t len, size_t *bad) {
    unsigned char c = s[0];
    size_t need, ignored;
    unsigned char lo = 0x80, hi = 0xbf;
    if (bad == NULL) {
        bad = &ignored;
    }
    if (c < 0x80) {
        return 1;
    } else if (c >= 0xc2 && c <= 0xdf) {
        need = 1;
    } else if (c == 0xe0) {
        need = 2;
        lo = 0xa0; /* no overlong forms */
    } else if ((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef) {
        need = 2;
    } else if (c == 0xed) {
        need = 2;
        hi = 0x9f; /* no surrogates */
    } else if (c == 0xf0) {
        need = 3;
        lo = 0x90;
    } else if (c >= 0xf1 && c <= 0xf3) {
        need = 3;
    } else if (c == 0xf4) {
        need = 3;
        hi = 0x8f; /* nothing past U+10FFFF */
    } else {
        *bad = 1;
        return 0;
    }
    for (size_t k = 1; k <= need; k++) {
        unsigned char lo_k = k == 1 ? lo : 0x80;
        unsigned char hi_k = k == 1 ? hi : 0xbf;
        if (k >= len || s[k] < lo_k || s[k] > hi_k) {
            *bad = k;
            return 0;
        }
    }
    return need + 1;
}

bool sm_utf8_valid(const char *s, size_t *chars) {
    const unsigned char *p = (const unsigned char *)s;
    size_t len = strlen(s), i = 0, n = 0;
    while (i < len) {
        size_t step = sm_utf8_seq(p + i, len - i, NULL);
        if (step == 0) {
            return false;
        }
        i += step;
        n++;
    }
    if (chars != NULL) {
        *chars = n;
    }
    return true;
}

/* n, moved back to the start of a UTF-8 sequence that s[0..n) would cut. */
static size_t utf8_cut(const char *s, size_t n) {
    size_t k = n;
    while (k > 0 && ((unsigned char)s[k - 1] & 0xc0) == 0x80) {
        k--;
    }
    /* s[k - 1] leads a sequence whose continuation bytes run up to n: keep it only if whole. */
    if (k > 0 && (unsigned char)s[k - 1] >= 0xc0) {
        unsigned char lead = (unsigned char)s[k - 1];
        size_t want = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
        if (n - (k - 1) < want) {
            return k - 1;
        }
    }
    return n;
}

void sm_str_one_line(const char *src, char *dst, size_t cap) {
    size_t n = 0;
    bool space = true; /* drops leading spaces */
    if (cap == 0) {
        return;
    }
    for (const unsigned char *p = (const unsigned char *)(src != NULL ? src : "");
         *p != '\0' && n + 1 < cap; p++) {
        if (*p < 0x20 || *p == 0x7f || *p == ' ') {
            if (!space) {
                dst[n++] = ' ';
                space = true;
            }
            continue;
        }
        dst[n++] = (char)*p;
        space = false;
    }
    n = utf8_cut(dst, n);
    while (n > 0 && dst[n - 1] == ' ') {
        n--;
    }
    dst[n] = '\0';
}

void sm_str_printable(const char *src, char *dst, size_t cap) {
    const unsigned char *s = (const unsigned char *)(src != NULL ? src : "");
    size_t len = strlen((const char *)s), i = 0, n = 0;
    if (cap == 0) {
        return;
    }
    size_t room = len >= cap ? (cap > 4 ? cap - 4 : 0) : len;
    while (i < len) {
        size_t bad = 1, step = sm_utf8_seq(s + i, len - i, &bad);
        size_t out = step > 0 ? step : 1;
        if (n + out > room) {
            break;
        }
        if (step == 0 || s[i] < 0x20 || s[i] == 0x7f) {
            dst[n++] = '?'; /* a control character, or bytes that are not UTF-8 */
            i += step > 0 ? step : bad;
        } else {
            memcpy(dst + n, s + i, step);
            n += step;
            i += step;
        }
    }
    if (i < len) {
        size_t dots = cap - 1 - n < 3 ? cap - 1 - n : 3;
        memcpy(dst + n, "...", dots);
        n += dots;
    }
    dst[n] = '\0';
}

const char *sm_env_nonempty(const char *name) {
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' ? v : NULL;
}
