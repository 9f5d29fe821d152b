/*
 * fuzz_common: shared pieces of the libFuzzer targets in tests/fuzz (built by cmake/fuzz.cmake
 * when SM_FUZZ=ON).
 *
 * Every target installs the wiping cJSON hooks once, copies the input into an exact-size heap
 * block (so AddressSanitizer sees any read past the end; libFuzzer's own buffer is not
 * NUL-terminated either), and checks after its clean-up that the project allocator holds no more
 * blocks than before (sm_mem_live_count): a leak in our own accounting fails the target even when
 * LeakSanitizer would not see it. A broken invariant calls FUZZ_CHECK, which prints the failed
 * condition (never the input: it may look like a secret) and aborts, so libFuzzer records a crash
 * artifact.
 */
#ifndef SM_FUZZ_COMMON_H
#define SM_FUZZ_COMMON_H

#include "mem_testing.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* A malloc'd copy of data with exactly size bytes (nul_terminate adds one NUL byte after them).
 * Never NULL (aborts when out of memory). Free with free. */
static inline char *fuzz_copy(const uint8_t *data, size_t size, int nul_terminate) {
    char *p = malloc(size + (nul_terminate ? 1 : 0) + (size == 0 && !nul_terminate ? 1 : 0));
    FUZZ_CHECK(p != NULL);
    if (size > 0) {
        memcpy(p, data, size);
    }
    if (nul_terminate) {
        p[size] = '\0';
    }
    return p;
}

/* Splits the input at the first occurrence of the two-byte separator "\n\x01" (chosen so seed
 * files can be written by hand): *head gets the part before it, the rest after it. Without a
 * separator the whole input is the head and the rest is empty. */
static inline void fuzz_split(const uint8_t *data, size_t size, const uint8_t **rest,
                              size_t *head_len, size_t *rest_len) {
    for (size_t i = 0; i + 1 < size; i++) {
        if (data[i] == '\n' && data[i + 1] == 0x01) {
            *head_len = i;
            *rest = data + i + 2;
            *rest_len = size - i - 2;
            return;
        }
    }
    *head_len = size;
    *rest = data + size;
    *rest_len = 0;
}

#define FUZZ_INIT_HOOKS()                                                                          \
    int LLVMFuzzerInitialize(int *argc, char ***argv);                                             \
    int LLVMFuzzerInitialize(int *argc, char ***argv) {                                            \
        (void)argc;                                                                                \
        (void)argv;                                                                                \
        sm_mem_install_hooks();                                                                    \
        return 0;                                                                                  \
    }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
