#include "db_tls.h"

#include "mem.h"
#include "paths.h"
#include "str.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define PACKAGED_CA_BUNDLE "certs/rds-global-bundle.pem"
#define ORIGIN_MAX (2 * PATH_MAX + 128)

static bool given(const char *s) {
    return s != NULL && s[0] != '\0';
}

/* Appends the file at path to fd; *last gets its last byte ('\n' for an empty file). */
static int append_file(int fd, const char *path, char *last) {
    char chunk[16384];
    int in = open(path, O_RDONLY | O_CLOEXEC);
    int rc = -1;
    if (in < 0) {
        return -1;
    }
    *last = '\n';
    for (;;) {
        ssize_t n = read(in, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            goto out;
        }
        if (n == 0) {
            break;
        }
        *last = chunk[n - 1];
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(fd, chunk + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR) {
                continue;
            }
            if (w <= 0) {
                goto out;
            }
            off += w;
        }
    }
    rc = 0;
out:
    close(in);
    return rc;
}

/* Writes a and b into a new file under dir (mode 0600); *path_out (sm_malloc'd) names it. */
static int write_combined(const char *dir, const char *a, const char *b, char **path_out,
                          struct sm_err *err) {
    char path[PATH_MAX], last = '\n';
    int n = snprintf(path, sizeof(path), "%s/smrotate-db-ca-XXXXXX", dir);
    if (n < 0 || (size_t)n >= sizeof(path)) {
        return sm_err_set(err, SM_ERR_CONFIG, "TMPDIR is too long for the database CA bundle");
    }
    int fd = mkostemp(path, O_CLOEXEC);
    if (fd < 0) {
        return sm_err_set(err, SM_ERR_CONFIG,
                          "cannot create the combined database CA bundle in %s (%s); set TMPDIR "
                          "to a writable directory or SMROTATE_DB_CA_FILE",
                          dir, strerror(errno));
    }
    bool ok = fchmod(fd, S_IRUSR | S_IWUSR) == 0 && append_file(fd, a, &last) == 0 &&
              (last == '\n' || write(fd, "\n", 1) == 1) && append_file(fd, b, &last) == 0;
    int saved = errno;
    ok = close(fd) == 0 && ok;
    if (!ok) {
        unlink(path);
        return sm_err_set(err, SM_ERR_CONFIG,
                          "cannot write the combined database CA bundle %s from %s and %s (%s); "
                          "set SMROTATE_DB_CA_FILE",
                          path, a, b, strerror(saved != 0 ? saved : EIO));
    }
    *path_out = sm_strdup(path);
    if (*path_out == NULL) {
        unlink(path);
        return sm_err_set(err, SM_ERR_NOMEM, "out of memory naming the database CA bundle");
    }
    return 0;
}

int rot_db_trust_resolve(const struct rot_db_trust_sources *src, struct rot_db_trust *out,
                         struct sm_err *err) {
    int result = -1;
    char origin[ORIGIN_MAX];
    const char *ca = NULL;
    memset(out, 0, sizeof(*out));

    const char *verify = src->verify_setting;
    if (!given(verify) || strcasecmp(verify, "full") == 0) {
        out->verify = ROT_TLS_VERIFY_FULL;
    } else if (strcasecmp(verify, "ca") == 0) {
        out->verify = ROT_TLS_VERIFY_CA;
    } else {
        char shown[40];
        sm_str_printable(verify, shown, sizeof(shown));
        sm_err_set(err, SM_ERR_CONFIG,
                   "SMROTATE_DB_TLS_VERIFY must be \"full\" (certificate chain and host name) or "
                   "\"ca\" (certificate chain only), not \"%s\"",
                   shown);
        goto out;
    }

    if (given(src->ca_file_setting)) {
        if (access(src->ca_file_setting, R_OK) != 0) {
            sm_err_set(err, SM_ERR_CONFIG, "SMROTATE_DB_CA_FILE=%s cannot be read",
                       src->ca_file_setting);
            goto out;
        }
        ca = src->ca_file_setting;
        snprintf(origin, sizeof(origin), "SMROTATE_DB_CA_FILE (%s)", ca);
    } else if (given(src->packaged) && given(src->system)) {
        if (write_combined(given(src->tmp_dir) ? src->tmp_dir : "/tmp", src->packaged, src->system,
                           &out->temp_file, err) != 0) {
            goto out;
        }
        ca = out->temp_file;
        snprintf(origin, sizeof(origin), "the packaged RDS bundle (%s) and the system store (%s)",
                 src->packaged, src->system);
    } else if (given(src->packaged)) {
        ca = src->packaged;
        snprintf(origin, sizeof(origin), "the packaged RDS bundle (%s)", ca);
    } else if (given(src->system)) {
        ca = src->system;
        snprintf(origin, sizeof(origin), "the system store (%s)", ca);
    } else {
        snprintf(origin, sizeof(origin),
                 "no CA bundle (none packaged next to bootstrap, no system store)");
    }
    /* Out of memory must fail: no CA file would fail every TLS connection later, confusingly. */
    if ((ca != NULL && (out->ca_file = sm_strdup(ca)) == NULL) ||
        (out->origin = sm_strdup(origin)) == NULL) {
        sm_err_set(err, SM_ERR_NOMEM, "out of memory reading the database CA setting");
        goto out;
    }
    result = 0;
out:
    return result;
}

int rot_db_trust_from_env(struct rot_db_trust *out, struct sm_err *err) {
    char packaged[PATH_MAX];
    bool have_packaged =
        !given(getenv("SMROTATE_DB_CA_FILE")) &&
        sm_exe_relative_path(PACKAGED_CA_BUNDLE, packaged, sizeof(packaged)) == 0 &&
        access(packaged, R_OK) == 0;
    const char *tmp = getenv("TMPDIR");
    struct rot_db_trust_sources src = {
        .ca_file_setting = getenv("SMROTATE_DB_CA_FILE"),
        .verify_setting = getenv("SMROTATE_DB_TLS_VERIFY"),
        .packaged = have_packaged ? packaged : NULL,
        .system = sm_system_ca_bundle(),
        .tmp_dir = tmp != NULL && tmp[0] == '/' ? tmp : "/tmp",
    };
    return rot_db_trust_resolve(&src, out, err);
}

void rot_db_trust_clean_up(struct rot_db_trust *trust) {
    if (trust == NULL) {
        return;
    }
    if (trust->temp_file != NULL) {
        unlink(trust->temp_file);
    }
    sm_free(trust->ca_file);
    sm_free(trust->origin);
    sm_free(trust->temp_file);
    memset(trust, 0, sizeof(*trust));
}

void rot_db_tls_advice(enum rot_tls_failure kind, const char *origin, enum rot_tls_verify verify,
                       const char *host, char *out, size_t cap) {
    char name[128];
    bool full = verify == ROT_TLS_VERIFY_FULL;
    if (origin == NULL) {
        origin = "no CA bundle";
    }
    sm_str_printable(host, name, sizeof(name));
    if (cap == 0) {
        return;
    }
    switch (kind) {
    case ROT_TLS_FAILURE_NO_CA:
        snprintf(out, cap,
                 "there is no CA bundle to verify the server's certificate with (none packaged "
                 "next to bootstrap, no system store): set SMROTATE_DB_CA_FILE");
        return;
    case ROT_TLS_FAILURE_UNTRUSTED:
        snprintf(out, cap,
                 "the server's certificate is not trusted by %s: set SMROTATE_DB_CA_FILE to a "
                 "bundle holding its CA",
                 origin);
        return;
    case ROT_TLS_FAILURE_HOST:
        if (full) {
            snprintf(out, cap,
                     "host name %s does not match the server's certificate: use the endpoint "
                     "name in the secret or set SMROTATE_DB_TLS_VERIFY=ca",
                     name);
            return;
        }
        break;
    case ROT_TLS_FAILURE_OTHER:
        break;
    }
    if (full) {
        snprintf(out, cap,
                 "if the server's certificate is not trusted by %s, set SMROTATE_DB_CA_FILE; if "
                 "it does not name %s, use the endpoint name in the secret or set "
                 "SMROTATE_DB_TLS_VERIFY=ca",
                 origin, name);
    } else {
        snprintf(out, cap,
                 "if the server's certificate is not trusted by %s, set SMROTATE_DB_CA_FILE "
                 "(SMROTATE_DB_TLS_VERIFY=ca: host name not checked)",
                 origin);
    }
}
