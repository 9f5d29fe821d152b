/*
 * mem: the project's allocator.
 *
 * Every allocation made through sm_malloc and friends remembers its size, and sm_free wipes the
 * whole block (OPENSSL_cleanse) before returning it: wiping belongs to the allocator, so any buffer
 * that ever held a password or SecretString is cleared without the call site having to remember.
 * cJSON and libcurl are given these functions as their allocation hooks (sm_mem_install_hooks).
 *
 * Torture mode (built with SM_TORTURE): when the environment variable SM_TORTURE_FAIL_AT=N is set,
 * the Nth allocation (1-based) and every later one fail, so tests can walk every cleanup path.
 *
 * Wipe checking (also SM_TORTURE builds): every block is kept on a live list, and between
 * sm_mem_check_begin and sm_mem_check_end sm_free wipes a block and keeps it in a quarantine
 * instead of returning it to libc, so a test can search all live and freed blocks for a password
 * and check that every freed block is zero (tests/torture/test_wipe.c).
 */
#ifndef SM_MEM_H
#define SM_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* malloc/calloc/realloc/strdup equivalents. NULL on failure (or size overflow); the caller
 * releases the result with sm_free. sm_realloc never leaves an unwiped copy behind: it allocates a
 * new block, copies, and wipes and frees the old one. */
void *sm_malloc(size_t size);
void *sm_calloc(size_t count, size_t size);
void *sm_realloc(void *ptr, size_t size);
char *sm_strdup(const char *s);
/* Copies at most n bytes of s and NUL-terminates the copy. */
char *sm_strndup(const char *s, size_t n);

/* Wipes and frees a block from the functions above. Accepts NULL. */
void sm_free(void *ptr);

/* Overwrites n bytes at p with zeros in a way the compiler cannot elide. Accepts NULL/0. */
void sm_wipe(void *p, size_t n);

/* Wipes a NUL-terminated string allocated elsewhere (e.g. by libpq) up to its terminator. */
void sm_wipe_str(char *s);

/* Installs sm_malloc/sm_free as cJSON's hooks. Idempotent. Call once, before any cJSON use. */
void sm_mem_install_hooks(void);

/* Number of live allocations (allocated and not yet freed); used by leak tests. */
int64_t sm_mem_live_count(void);

/* Total allocations attempted since start; used by torture tests to size their loop. */
int64_t sm_mem_attempt_count(void);

/* Allocations that returned NULL since start (out of memory, torture, or a size overflow): a
 * caller whose library reports every failure alike (cJSON) compares it before and after. */
int64_t sm_mem_failure_count(void);

/* Sets the torture failure point: 0 disables, N fails the Nth attempt and later. Only effective
 * in SM_TORTURE builds; reads SM_TORTURE_FAIL_AT at first allocation otherwise. */
void sm_mem_fail_at(int64_t n);

/* Wipe checking; effective only in SM_TORTURE builds. sm_mem_check_begin empties the quarantine
 * and starts quarantining freed blocks; it returns false (and does nothing) in other builds. */
bool sm_mem_check_begin(void);

/* Stops quarantining and returns every quarantined block to libc. Accepts a call without begin. */
void sm_mem_check_end(void);

struct sm_mem_check {
    size_t live_blocks, live_bytes;   /* blocks allocated and not freed */
    size_t freed_blocks, freed_bytes; /* blocks in the quarantine */
    size_t found_live, found_freed;   /* occurrences of the needle in each */
    size_t freed_not_zero;            /* quarantined blocks with a non-zero byte */
};

/* Counts the occurrences of needle (n bytes) in every live block and every quarantined block,
 * and the quarantined blocks that are not all zeros. All zeros in other builds. */
void sm_mem_check_scan(const void *needle, size_t n, struct sm_mem_check *out);

#endif
