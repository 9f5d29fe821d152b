#include "harness.h"

#include "mem.h"

#include <stdbool.h>

#define MAX_TESTS 1024

struct entry {
    const char *name;
    sm_test_fn *fn;
};

static struct entry s_tests[MAX_TESTS];
static size_t s_count;

void sm_test_register(const char *name, sm_test_fn *fn) {
    if (s_count == MAX_TESTS) {
        fprintf(stderr, "too many tests\n");
        exit(2);
    }
    s_tests[s_count].name = name;
    s_tests[s_count].fn = fn;
    s_count++;
}

const char *sm_test_path(const char *rel) {
    static char path[4096];
    snprintf(path, sizeof(path), "%s/%s", SM_TEST_SOURCE_DIR, rel);
    return path;
}

char *sm_test_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        SM_FAIL("cannot open %s", path);
    }
    size_t cap = 4096, n = 0;
    char *data = malloc(cap);
    size_t got;
    while (data != NULL && (got = fread(data + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (cap - n - 1 == 0) {
            cap *= 2;
            data = realloc(data, cap);
        }
    }
    fclose(f);
    if (data == NULL) {
        SM_FAIL("out of memory reading %s", path);
    }
    data[n] = '\0';
    if (len != NULL) {
        *len = n;
    }
    return data;
}

/* The names of the lines of a header block, comma-separated, into out (never a value). */
static void header_names(const char *head, char *out, size_t cap) {
    size_t off = 0;
    out[0] = '\0';
    for (const char *p = head; p != NULL && *p != '\0';) {
        const char *end = strchr(p, '\n');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        const char *colon = memchr(p, ':', len);
        int n = colon != NULL ? (int)(colon - p) : (int)strlen("(a line without a colon)");
        const char *name = colon != NULL ? p : "(a line without a colon)";
        if (off < cap) {
            off += (size_t)snprintf(out + off, cap - off, "%s%.*s", off > 0 ? ", " : "", n, name);
        }
        p = end != NULL ? end + 1 : p + len;
    }
}

void sm_assert_header_(const char *file, int line, const char *what, const char *head,
                       const char *name, const char *want, enum sm_header_match match) {
    size_t name_len = strlen(name), want_len = strlen(want);
    bool seen = false;
    for (const char *p = head; p != NULL && *p != '\0';) {
        const char *end = strchr(p, '\n');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        if (len >= name_len + 2 && strncmp(p, name, name_len) == 0 && p[name_len] == ':' &&
            p[name_len + 1] == ' ') {
            seen = true;
            const char *v = p + name_len + 2;
            size_t v_len = len - name_len - 2;
            bool ok = false;
            switch (match) {
            case SM_HEADER_EQ:
                ok = v_len == want_len && memcmp(v, want, want_len) == 0;
                break;
            case SM_HEADER_PREFIX:
                ok = v_len >= want_len && memcmp(v, want, want_len) == 0;
                break;
            case SM_HEADER_CONTAINS:
                for (size_t i = 0; !ok && i + want_len <= v_len; i++) {
                    ok = memcmp(v + i, want, want_len) == 0;
                }
                break;
            }
            if (ok) {
                return;
            }
        }
        p = end != NULL ? end + 1 : p + len;
    }
    static const char *const verbs[] = {"equal to", "starting with", "containing"};
    fprintf(stderr, "%s:%d: %s: no header %s %s the expected %zu bytes (%s)\n", file, line, what,
            name, verbs[match], want_len,
            seen ? "it is there with another value" : "it is missing");
    exit(1);
}

void sm_assert_headers_eq_(const char *file, int line, const char *what, const char *head,
                           const char *expected) {
    if (head != NULL && strcmp(head, expected) == 0) {
        return;
    }
    char want[1024], got[1024];
    header_names(expected, want, sizeof(want));
    header_names(head, got, sizeof(got));
    size_t at = 0;
    while (head != NULL && head[at] != '\0' && head[at] == expected[at]) {
        at++;
    }
    fprintf(stderr,
            "%s:%d: %s: header block differs (expected %zu bytes with headers [%s], got %zu "
            "bytes with headers [%s], first difference at offset %zu)\n",
            file, line, what, strlen(expected), want, head != NULL ? strlen(head) : 0, got, at);
    exit(1);
}

int sm_test_main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < s_count; i++) {
            printf("%s\n", s_tests[i].name);
        }
        return 0;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: %s <test-name> | --list\n", argv[0]);
        return 2;
    }
    for (size_t i = 0; i < s_count; i++) {
        if (strcmp(argv[1], s_tests[i].name) == 0) {
            sm_mem_install_hooks();
            s_tests[i].fn();
            printf("PASS %s\n", s_tests[i].name);
            return 0;
        }
    }
    fprintf(stderr, "no test named %s\n", argv[1]);
    return 2;
}

int main(int argc, char **argv) {
    return sm_test_main(argc, argv);
}
