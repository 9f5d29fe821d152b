/*
 * buf: a bounded, growable byte buffer (curl's dynbuf idea).
 *
 * Every buffer has a ceiling set at init from a documented limit (SM_LIMIT_*); an append past it
 * fails with SM_ERR_TOO_LARGE instead of growing without bound. The data is always NUL-terminated
 * so it can be handed to C APIs. Memory comes from sm_malloc, so clean-up wipes it: a buffer may
 * hold a SecretString or a password.
 */
#ifndef SM_BUF_H
#define SM_BUF_H

#include "err.h"

#include <stddef.h>

/* Documented ceilings. */
#define SM_LIMIT_EVENT (6u * 1024u * 1024u)    /* Lambda's synchronous payload limit */
#define SM_LIMIT_RESPONSE (6u * 1024u * 1024u) /* what we may post back */
#define SM_LIMIT_AWS_RESPONSE (512u * 1024u)   /* one Secrets Manager response body */
#define SM_LIMIT_SECRET_STRING (64u * 1024u)   /* Secrets Manager's SecretString maximum */
#define SM_LIMIT_HEADERS (64u * 1024u)         /* response headers we keep */

struct sm_buf {
    char *data; /* NUL-terminated when non-NULL; owned */
    size_t len;
    size_t cap;
    size_t max; /* ceiling on len */
};

/* Prepares an empty buffer that may grow to max bytes. Allocates nothing. */
void sm_buf_init(struct sm_buf *b, size_t max);

/* Wipes and frees the data; the buffer is then empty with the same ceiling. Accepts a zeroed
 * struct or NULL. */
void sm_buf_clean_up(struct sm_buf *b);

/* Empties the buffer (wiping what it held) but keeps the allocation. */
void sm_buf_reset(struct sm_buf *b);

/* Appends n bytes. Returns 0, or -1 with err set (SM_ERR_TOO_LARGE past the ceiling, SM_ERR_NOMEM);
 * on failure the buffer keeps its previous content. */
int sm_buf_append(struct sm_buf *b, const void *p, size_t n, struct sm_err *err);

/* Appends a NUL-terminated string. Same contract as sm_buf_append. */
int sm_buf_append_str(struct sm_buf *b, const char *s, struct sm_err *err);

/* Appends printf-formatted text. Same contract as sm_buf_append. */
int sm_buf_appendf(struct sm_buf *b, struct sm_err *err, const char *fmt, ...) SM_PRINTF(3, 4);

/* Makes sure data is non-NULL (an empty string) even when nothing was appended. 0 or -1. */
int sm_buf_ensure(struct sm_buf *b, struct sm_err *err);

/* Hands the data over to the caller (who frees it with sm_free) and leaves b empty. May return
 * NULL for a buffer that never allocated. */
char *sm_buf_take(struct sm_buf *b);

#endif
