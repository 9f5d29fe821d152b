#include "paths.h"

#include <openssl/x509.h>

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int sm_exe_relative_path(const char *rel, char *out, size_t cap) {
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0) {
        return -1;
    }
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash == NULL) {
        return -1;
    }
    *slash = '\0';
    int len = snprintf(out, cap, "%s/%s", exe, rel);
    return len < 0 || (size_t)len >= cap ? -1 : 0;
}

const char *sm_system_ca_bundle(void) {
    const char *candidates[] = {
        "/etc/pki/tls/certs/ca-bundle.crt",   /* Amazon Linux */
        "/etc/ssl/certs/ca-certificates.crt", /* Debian */
        X509_get_default_cert_file(),         /* wherever this OpenSSL was built to look */
    };
    for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++) {
        if (candidates[i] != NULL && access(candidates[i], R_OK) == 0) {
            return candidates[i];
        }
    }
    return NULL;
}
