/*
 * harness: the C test harness. One binary per area, one ctest per case.
 *
 *   SM_TEST(runtime_buf_append_past_ceiling_fails) { ... SM_ASSERT_INT_EQ(rc, -1); ... }
 *
 * `bin <name>` runs one case, `bin --list` lists them. tests/CMakeLists.txt finds the SM_TEST
 * names in the sources and registers each as its own ctest, so `ctest -R <name>` runs one case.
 * Asserts print expected and actual values; SM_ASSERT_SECRET_EQ prints lengths only and
 * SM_ASSERT_STR_NOT_CONTAINS (the leak guard) prints the needle's length and where it was found,
 * never the needle or the haystack.
 * Exit codes: 0 pass, 1 fail.
 */
#ifndef SM_HARNESS_H
#define SM_HARNESS_H

#include "err.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void sm_test_fn(void);

void sm_test_register(const char *name, sm_test_fn *fn);
int sm_test_main(int argc, char **argv);
/* Path of a file under tests/ (the source tree), e.g. sm_test_path("data/sigv4"). Static buffer. */
const char *sm_test_path(const char *rel);
/* Reads a whole file into a malloc'd NUL-terminated buffer (free with free). Aborts the test on
 * failure. */
char *sm_test_read_file(const char *path, size_t *len);

#define SM_TEST(name)                                                                              \
    static void name(void);                                                                        \
    __attribute__((constructor)) static void sm_register_##name(void) {                            \
        sm_test_register(#name, name);                                                             \
    }                                                                                              \
    static void name(void)

#define SM_FAIL(...)                                                                               \
    do {                                                                                           \
        fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                                            \
        fprintf(stderr, __VA_ARGS__);                                                              \
        fprintf(stderr, "\n");                                                                     \
        exit(1);                                                                                   \
    } while (0)

#define SM_ASSERT(cond)                                                                            \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            SM_FAIL("assertion failed: %s", #cond);                                                \
        }                                                                                          \
    } while (0)

#define SM_ASSERT_INT_EQ(actual, expected)                                                         \
    do {                                                                                           \
        intmax_t a_ = (intmax_t)(actual), e_ = (intmax_t)(expected);                               \
        if (a_ != e_) {                                                                            \
            SM_FAIL("%s == %s: expected %jd, got %jd", #actual, #expected, e_, a_);                \
        }                                                                                          \
    } while (0)

#define SM_ASSERT_STR_EQ(actual, expected)                                                         \
    do {                                                                                           \
        const char *a_ = (actual), *e_ = (expected);                                               \
        if (a_ == NULL || e_ == NULL || strcmp(a_, e_) != 0) {                                     \
            SM_FAIL("%s: expected \"%s\", got \"%s\"", #actual, e_ ? e_ : "(null)",                \
                    a_ ? a_ : "(null)");                                                           \
        }                                                                                          \
    } while (0)

#define SM_ASSERT_STR_CONTAINS(haystack, needle)                                                   \
    do {                                                                                           \
        const char *h_ = (haystack), *n_ = (needle);                                               \
        if (h_ == NULL || strstr(h_, n_) == NULL) {                                                \
            SM_FAIL("%s: expected to contain \"%s\", got \"%s\"", #haystack, n_,                   \
                    h_ ? h_ : "(null)");                                                           \
        }                                                                                          \
    } while (0)

#define SM_ASSERT_STR_NOT_CONTAINS(haystack, needle)                                               \
    do {                                                                                           \
        const char *h_ = (haystack), *n_ = (needle);                                               \
        const char *at_ = h_ != NULL ? strstr(h_, n_) : NULL;                                      \
        if (at_ != NULL) {                                                                         \
            SM_FAIL("%s: must not contain the %zu-byte needle (found at offset %td)", #haystack,   \
                    strlen(n_), at_ - h_);                                                         \
        }                                                                                          \
    } while (0)

/* Compares error codes, printing their names. */
#define SM_ASSERT_CODE_EQ(actual, expected)                                                        \
    do {                                                                                           \
        const struct sm_code *a_ = (actual), *e_ = (expected);                                     \
        if (a_ != e_) {                                                                            \
            SM_FAIL("%s: expected %s, got %s", #actual, sm_code_name(e_), sm_code_name(a_));       \
        }                                                                                          \
    } while (0)

/* Compares secrets without printing them. */
#define SM_ASSERT_SECRET_EQ(actual, expected)                                                      \
    do {                                                                                           \
        const char *a_ = (actual), *e_ = (expected);                                               \
        if (a_ == NULL || e_ == NULL || strcmp(a_, e_) != 0) {                                     \
            SM_FAIL("%s: secret differs (expected %zu bytes, got %zu bytes)", #actual,             \
                    e_ ? strlen(e_) : 0, a_ ? strlen(a_) : 0);                                     \
        }                                                                                          \
    } while (0)

/* rc must be 0; otherwise print the error struct. */
#define SM_ASSERT_OK(rc, err)                                                                      \
    do {                                                                                           \
        if ((rc) != 0) {                                                                           \
            SM_FAIL("%s failed: [%s] %s", #rc, sm_err_type(&(err)), (err).msg);                    \
        }                                                                                          \
    } while (0)

/* Header blocks (a request's "Name: value" lines, each ended by '\n') carry signatures and
 * tokens, so these asserts print header names and lengths only, never a value.
 *   SM_ASSERT_HEADER_EQ(head, name, value): a line "name: value".
 *   SM_ASSERT_HEADER_PREFIX(head, name, part): a line "name: " whose value starts with part.
 *   SM_ASSERT_HEADER_CONTAINS(head, name, part): a line "name: " whose value contains part.
 *   SM_ASSERT_HEADERS_EQ(head, expected): the whole block is expected. */
enum sm_header_match { SM_HEADER_EQ, SM_HEADER_PREFIX, SM_HEADER_CONTAINS };
void sm_assert_header_(const char *file, int line, const char *what, const char *head,
                       const char *name, const char *want, enum sm_header_match match);
void sm_assert_headers_eq_(const char *file, int line, const char *what, const char *head,
                           const char *expected);
#define SM_ASSERT_HEADER_EQ(head, name, value)                                                     \
    sm_assert_header_(__FILE__, __LINE__, #head, (head), (name), (value), SM_HEADER_EQ)
#define SM_ASSERT_HEADER_PREFIX(head, name, part)                                                  \
    sm_assert_header_(__FILE__, __LINE__, #head, (head), (name), (part), SM_HEADER_PREFIX)
#define SM_ASSERT_HEADER_CONTAINS(head, name, part)                                                \
    sm_assert_header_(__FILE__, __LINE__, #head, (head), (name), (part), SM_HEADER_CONTAINS)
#define SM_ASSERT_HEADERS_EQ(head, expected)                                                       \
    sm_assert_headers_eq_(__FILE__, __LINE__, #head, (head), (expected))

#endif
