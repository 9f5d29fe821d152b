#include "mem.h"
#include "mem_testing.h"

#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* The header keeps the block size so sm_free can wipe all of it; max_align_t keeps the user
 * pointer aligned for any type. Checking builds (SM_TORTURE) also chain every block into the live
 * list or, once freed, the quarantine (see sm_mem_check_begin). */
union header {
#ifdef SM_TORTURE
    struct {
        size_t size;
        union header *prev, *next;
    };
#else
    size_t size;
#endif
    max_align_t align;
};

/* Atomic: libcurl's threaded resolver allocates through our hooks from its own thread. */
static _Atomic int64_t s_live;
static _Atomic int64_t s_attempts;
static _Atomic int64_t s_fail_at;
static _Atomic int64_t s_failures;

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
/* Wipe checking: every block is in exactly one list, live or (while s_quarantining) freed.
 * A mutex guards both: libcurl's threaded resolver allocates through our hooks from its own
 * thread (the only thread the process ever has besides the main one). */
static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static union header s_live_list = {.prev = &s_live_list, .next = &s_live_list};
static union header s_freed_list = {.prev = &s_freed_list, .next = &s_freed_list};
static bool s_quarantining;

static void list_insert(union header *list, union header *h) {
    h->next = list->next;
    h->prev = list;
    list->next->prev = h;
    list->next = h;
}

static void list_remove(union header *h) {
    h->prev->next = h->next;
    h->next->prev = h->prev;
}

static void check_link(union header *h) {
    pthread_mutex_lock(&s_lock);
    list_insert(&s_live_list, h);
    pthread_mutex_unlock(&s_lock);
}

/* Takes h off the live list; returns true when it goes to the quarantine instead of libc. */
static bool check_unlink(union header *h) {
    pthread_mutex_lock(&s_lock);
    list_remove(h);
    bool keep = s_quarantining;
    if (keep) {
        list_insert(&s_freed_list, h);
    }
    pthread_mutex_unlock(&s_lock);
    return keep;
}

static void release_quarantine(void) {
    while (s_freed_list.next != &s_freed_list) {
        union header *h = s_freed_list.next;
        list_remove(h);
        OPENSSL_cleanse(h, sizeof(*h));
        free(h);
    }
}

bool sm_mem_check_begin(void) {
    pthread_mutex_lock(&s_lock);
    release_quarantine();
    s_quarantining = true;
    pthread_mutex_unlock(&s_lock);
    return true;
}

void sm_mem_check_end(void) {
    pthread_mutex_lock(&s_lock);
    s_quarantining = false;
    release_quarantine();
    pthread_mutex_unlock(&s_lock);
}

static size_t count_in(const unsigned char *p, size_t len, const void *needle, size_t n) {
    size_t found = 0;
    for (size_t i = 0; n > 0 && i + n <= len; i++) {
        if (p[i] == *(const unsigned char *)needle && memcmp(p + i, needle, n) == 0) {
            found++;
        }
    }
    return found;
}

void sm_mem_check_scan(const void *needle, size_t n, struct sm_mem_check *out) {
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&s_lock);
    for (union header *h = s_live_list.next; h != &s_live_list; h = h->next) {
        out->live_blocks++;
        out->live_bytes += h->size;
        out->found_live += count_in((const unsigned char *)(h + 1), h->size, needle, n);
    }
    for (union header *h = s_freed_list.next; h != &s_freed_list; h = h->next) {
        const unsigned char *p = (const unsigned char *)(h + 1);
        out->freed_blocks++;
        out->freed_bytes += h->size;
        out->found_freed += count_in(p, h->size, needle, n);
        for (size_t i = 0; i < h->size; i++) {
            if (p[i] != 0) {
                out->freed_not_zero++;
                break;
            }
        }
    }
    pthread_mutex_unlock(&s_lock);
}
#else
static bool should_fail(void) {
    return false;
}

static void check_link(union header *h) {
    (void)h;
}

static bool check_unlink(union header *h) {
    (void)h;
    return false;
}

bool sm_mem_check_begin(void) {
    return false;
}

void sm_mem_check_end(void) {}

void sm_mem_check_scan(const void *needle, size_t n, struct sm_mem_check *out) {
    (void)needle;
    (void)n;
    memset(out, 0, sizeof(*out));
}
#endif

void *sm_malloc(size_t size) {
    atomic_fetch_add(&s_attempts, 1);
    union header *h = NULL;
    if (!should_fail() && size <= SIZE_MAX - sizeof(union header)) {
        h = malloc(sizeof(*h) + (size == 0 ? 1 : size));
    }
    if (h == NULL) {
        atomic_fetch_add(&s_failures, 1);
        return NULL;
    }
    h->size = size;
    s_live++;
    check_link(h);
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
    size_t size = h->size;
    bool keep = check_unlink(h);
    OPENSSL_cleanse(h + 1, size);
    s_live--;
    if (keep) {
        return; /* quarantined: wiped, still in the list, never reused */
    }
    OPENSSL_cleanse(h, sizeof(*h));
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

int64_t sm_mem_failure_count(void) {
    return s_failures;
}

void sm_mem_fail_at(int64_t n) {
    s_fail_at = n;
#ifdef SM_TORTURE
    s_fail_read = true;
#endif
}
