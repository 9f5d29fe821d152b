#include "harness.h"

#include "mem.h"

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
