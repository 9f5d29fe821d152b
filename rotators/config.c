#include "config.h"

#include "mem.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
                 err) != 0 ||
        env_long("SMROTATE_PASSWORD_LIFETIME_DAYS", 1, ROT_MAX_LIFETIME_DAYS, 0,
                 &cfg->password_lifetime_days, err) != 0) {
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
    cfg->mysql_dual_password = env_bool("SMROTATE_MYSQL_DUAL_PASSWORD", false) == SECRETS_TRUE;
    if (rot_db_trust_from_env(&cfg->db_tls, err) != 0) {
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
    rot_db_trust_clean_up(&cfg->db_tls);
    memset(cfg, 0, sizeof(*cfg));
}
