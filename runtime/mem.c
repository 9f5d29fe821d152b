#include "mem.h"

#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* The header keeps the block size so sm_free can wipe all of it; max_align_t keeps the user
 * pointer aligned for any type. */
union header {
    size_t size;
    max_align_t align;
};

/* Atomic: the SIGTERM helper thread allocates too (through libcurl). */
static _Atomic int64_t s_live;
static _Atomic int64_t s_attempts;
static _Atomic int64_t s_fail_at;

#ifdef SM_TORTURE
static bool s_fail_read;

static bool should_fail(void) {
    if (!s_fail_read) {
        s_fail_read = true;
        const char *v = getenv("SM_TORTURE_FAIL_AT");
        if (v != NULL && s_fail_at == 0) {
            s_fail_at = strtoll(v, NULL, 10);
        }
    }
    return s_fail_at > 0 && s_attempts >= s_fail_at;
}
#else
static bool should_fail(void) {
    return false;
}
#endif

void *sm_malloc(size_t size) {
    atomic_fetch_add(&s_attempts, 1);
    if (should_fail() || size > SIZE_MAX - sizeof(union header)) {
        return NULL;
    }
    union header *h = malloc(sizeof(*h) + (size == 0 ? 1 : size));
    if (h == NULL) {
        return NULL;
    }
    h->size = size;
    s_live++;
    return h + 1;
}

void *sm_calloc(size_t count, size_t size) {
    if (size != 0 && count > SIZE_MAX / size) {
        return NULL;
    }
    void *p = sm_malloc(count * size);
    if (p != NULL) {
        memset(p, 0, count * size);
    }
    return p;
}

void *sm_realloc(void *ptr, size_t size) {
    if (ptr == NULL) {
        return sm_malloc(size);
    }
    union header *old = (union header *)ptr - 1;
    void *p = sm_malloc(size);
    if (p == NULL) {
        return NULL;
    }
    memcpy(p, ptr, old->size < size ? old->size : size);
    sm_free(ptr);
    return p;
}

char *sm_strndup(const char *s, size_t n) {
    size_t len = strnlen(s, n);
    char *p = sm_malloc(len + 1);
    if (p == NULL) {
        return NULL;
    }
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *sm_strdup(const char *s) {
    return sm_strndup(s, SIZE_MAX);
}

void sm_free(void *ptr) {
    if (ptr == NULL) {
        return;
    }
    union header *h = (union header *)ptr - 1;
    OPENSSL_cleanse(h, sizeof(*h) + h->size);
    s_live--;
    free(h);
}

void sm_wipe(void *p, size_t n) {
    if (p != NULL && n > 0) {
        OPENSSL_cleanse(p, n);
    }
}

void sm_wipe_str(char *s) {
    if (s != NULL) {
        sm_wipe(s, strlen(s));
    }
}

void sm_mem_install_hooks(void) {
    cJSON_Hooks hooks = {.malloc_fn = sm_malloc, .free_fn = sm_free};
    cJSON_InitHooks(&hooks);
}

int64_t sm_mem_live_count(void) {
    return s_live;
}

int64_t sm_mem_attempt_count(void) {
    return s_attempts;
}

void sm_mem_fail_at(int64_t n) {
    s_fail_at = n;
#ifdef SM_TORTURE
    s_fail_read = true;
#endif
}
