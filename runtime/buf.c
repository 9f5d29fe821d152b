#include "buf.h"

#include "mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void sm_buf_init(struct sm_buf *b, size_t max) {
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void sm_buf_clean_up(struct sm_buf *b) {
    if (b == NULL) {
        return;
    }
    sm_free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void sm_buf_reset(struct sm_buf *b) {
    if (b->data != NULL) {
        sm_wipe(b->data, b->len);
        b->data[0] = '\0';
    }
    b->len = 0;
}

static int grow(struct sm_buf *b, size_t need, struct sm_err *err) {
    if (need > b->max) {
        return sm_err_set(err, SM_ERR_TOO_LARGE, "data exceeds the %zu-byte limit", b->max);
    }
    if (need + 1 <= b->cap) {
        return 0;
    }
    size_t cap = b->cap == 0 ? 256 : b->cap;
    while (cap < need + 1) {
        cap *= 2;
    }
    if (cap > b->max + 1) {
        cap = b->max + 1;
    }
    char *p = sm_realloc(b->data, cap);
    if (p == NULL) {
        return sm_err_set(err, SM_ERR_NOMEM, "out of memory growing a buffer to %zu bytes", cap);
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

int sm_buf_append(struct sm_buf *b, const void *p, size_t n, struct sm_err *err) {
    if (n > b->max || b->len > b->max - n) {
        return sm_err_set(err, SM_ERR_TOO_LARGE, "data exceeds the %zu-byte limit", b->max);
    }
    if (grow(b, b->len + n, err) != 0) {
        return -1;
    }
    if (n > 0) {
        memcpy(b->data + b->len, p, n);
    }
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int sm_buf_append_str(struct sm_buf *b, const char *s, struct sm_err *err) {
    return sm_buf_append(b, s, strlen(s), err);
}

int sm_buf_appendf(struct sm_buf *b, struct sm_err *err, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return sm_err_set(err, SM_ERR_INTERNAL, "formatting failed");
    }
    if ((size_t)n > b->max || b->len > b->max - (size_t)n) {
        return sm_err_set(err, SM_ERR_TOO_LARGE, "data exceeds the %zu-byte limit", b->max);
    }
    if (grow(b, b->len + (size_t)n, err) != 0) {
        return -1;
    }
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

int sm_buf_ensure(struct sm_buf *b, struct sm_err *err) {
    if (b->data != NULL) {
        return 0;
    }
    if (grow(b, 0, err) != 0) {
        return -1;
    }
    b->data[0] = '\0'; /* a fresh block is uninitialised */
    return 0;
}

char *sm_buf_take(struct sm_buf *b) {
    char *p = b->data;
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}
