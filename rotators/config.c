#include "config.h"

#include "mem.h"

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

bool rot_config_parse_bool(const char *value) {
    return strcasecmp(value, "true") == 0 || strcmp(value, "1") == 0 ||
           strcasecmp(value, "y") == 0 || strcasecmp(value, "yes") == 0;
}

static enum secrets_tristate env_bool(const char *name, bool default_value) {
    const char *v = getenv(name);
    if (v == NULL) {
        return default_value ? SECRETS_TRUE : SECRETS_FALSE;
    }
    return rot_config_parse_bool(v) ? SECRETS_TRUE : SECRETS_FALSE;
}

static int env_long(const char *name, long min, long max, long default_value, long *out,
                    struct sm_err *err) {
    const char *v = getenv(name);
    *out = default_value;
    if (v == NULL || v[0] == '\0') {
        return 0;
    }
    char *end = NULL;
    long n = strtol(v, &end, 10);
    if (end == v || *end != '\0' || n < min || n > max) {
        return sm_err_set(err, SM_ERR_CONFIG, "%s must be a whole number from %ld to %ld", name,
                          min, max);
    }
    *out = n;
    return 0;
}

/* Writes certs/rds-global-bundle.pem next to the executable (the Lambda package's layout) into
 * out and returns true when that file is readable. */
static bool packaged_ca_file(char *out, size_t cap) {
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0) {
        return false;
    }
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash == NULL) {
        return false;
    }
    *slash = '\0';
    int len = snprintf(out, cap, "%s/certs/rds-global-bundle.pem", exe);
    return len >= 0 && (size_t)len < cap && access(out, R_OK) == 0;
}

static const char *system_ca_file(void) {
    static const char *const candidates[] = {
        "/etc/pki/tls/certs/ca-bundle.crt",   /* Amazon Linux */
        "/etc/ssl/certs/ca-certificates.crt", /* Debian */
    };
    for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++) {
        if (access(candidates[i], R_OK) == 0) {
            return candidates[i];
        }
    }
    return NULL;
}

int rot_config_from_env(const char *handler, struct rot_config *cfg, struct sm_err *err) {
    int result = -1;
    memset(cfg, 0, sizeof(*cfg));

    cfg->strategy = rot_strategy_find(handler);
    if (cfg->strategy == NULL) {
        sm_err_set(err, SM_ERR_CONFIG,
                   "the Handler setting (_HANDLER=\"%.64s\") is not a rotation strategy; accepted "
                   "values: %s",
                   handler, rot_strategy_accepted());
        goto out;
    }
    long length = 0;
    if (env_long("PASSWORD_LENGTH", 1, 4096, 32, &length, err) != 0 ||
        env_long("SMROTATE_DB_CONNECT_TIMEOUT_MS", 100, 60000, 5000, &cfg->db_connect_timeout_ms,
                 err) != 0) {
        goto out;
    }
    const char *exclude = getenv("EXCLUDE_CHARACTERS");
    if (exclude != NULL) {
        cfg->exclude_characters = sm_strdup(exclude);
        if (cfg->exclude_characters == NULL) {
            sm_err_set(err, SM_ERR_NOMEM, "out of memory reading EXCLUDE_CHARACTERS");
            goto out;
        }
    }
    cfg->policy = (struct secrets_password_policy){
        .length = length,
        .exclude_characters = cfg->exclude_characters,
        .exclude_numbers = env_bool("EXCLUDE_NUMBERS", false),
        .exclude_punctuation = env_bool("EXCLUDE_PUNCTUATION", false),
        .exclude_uppercase = env_bool("EXCLUDE_UPPERCASE", false),
        .exclude_lowercase = env_bool("EXCLUDE_LOWERCASE", false),
        .include_space = SECRETS_UNSET,
        .require_each_included_type = env_bool("REQUIRE_EACH_INCLUDED_TYPE", true),
    };
    const char *ca = getenv("SMROTATE_DB_CA_FILE");
    char packaged[PATH_MAX + 64];
    if (ca != NULL && ca[0] != '\0') {
        if (access(ca, R_OK) != 0) {
            sm_err_set(err, SM_ERR_CONFIG, "SMROTATE_DB_CA_FILE=%s cannot be read", ca);
            goto out;
        }
    } else if (packaged_ca_file(packaged, sizeof(packaged))) {
        ca = packaged;
    } else {
        ca = system_ca_file();
    }
    /* Out of memory must fail: falling back to the library's default CA would be silent. */
    if (ca != NULL && (cfg->db_ca_file = sm_strdup(ca)) == NULL) {
        sm_err_set(err, SM_ERR_NOMEM, "out of memory reading the database CA setting");
        goto out;
    }
    result = 0;
out:
    return result;
}

void rot_config_clean_up(struct rot_config *cfg) {
    if (cfg == NULL) {
        return;
    }
    sm_free(cfg->exclude_characters);
    sm_free(cfg->db_ca_file);
    memset(cfg, 0, sizeof(*cfg));
}
