/*
 * mem: the project's allocator.
 *
 * Every allocation made through sm_malloc and friends remembers its size, and sm_free wipes the
 * whole block (OPENSSL_cleanse) before returning it: wiping belongs to the allocator, so any buffer
 * that ever held a password or SecretString is cleared without the call site having to remember.
 * cJSON and libcurl are given these functions as their allocation hooks (sm_mem_install_hooks).
 *
 * Torture mode (SM_TORTURE builds: the Nth allocation and every later one fail) and wipe checking
 * (a quarantine of freed blocks that tests search for passwords) are in mem_testing.h.
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

/* Allocations that returned NULL since start (out of memory, torture, or a size overflow): a
 * caller whose library reports every failure alike (cJSON) compares it before and after. */
int64_t sm_mem_failure_count(void);

#endif
