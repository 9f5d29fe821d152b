#include "config.h"

#include "mem.h"
#include "paths.h"
#include "str.h"

#include <ctype.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* PostgreSQL's NAMEDATALEN - 1: the longest role name, in bytes. */
#define PG_MAX_NAME 63
/* Connector/C builds plugin and key paths in FN_REFLEN (512) bytes. */
#define MYSQL_PATH_MAX 400
#define MYSQL_MAX_USERNAME_LIMIT 255

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

/* The value of name, or NULL when unset or empty. */
static const char *env_given(const char *name) {
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' ? v : NULL;
}

static int copy_setting(const char *name, const char *value, char **out, struct sm_err *err) {
    *out = sm_strdup(value);
    return *out != NULL ? 0 : sm_err_set(err, SM_ERR_NOMEM, "out of memory reading %s", name);
}

static int bad_setting(const char *name, const char *value, const char *expected,
                       struct sm_err *err) {
    char shown[120];
    sm_str_printable(value, shown, sizeof(shown));
    return sm_err_set(err, SM_ERR_CONFIG, "%s must be %s, not \"%s\"", name, expected, shown);
}

static int pg_settings(struct rot_config *cfg, struct sm_err *err) {
    const char *pe = env_given("PASSWORD_ENCRYPTION");
    const char *owner = env_given("PG_OWNER_ROLE");
    enum rot_pg_password_encryption *enc = &cfg->engine_settings.pg_password_encryption;
    if (pe == NULL) {
        *enc = ROT_PG_PASSWORD_AS_SERVER;
    } else if (strcasecmp(pe, "scram-sha-256") == 0) {
        *enc = ROT_PG_PASSWORD_SCRAM;
    } else if (strcasecmp(pe, "md5") == 0) {
        *enc = ROT_PG_PASSWORD_MD5;
    } else if (strcasecmp(pe, "server") == 0) {
        *enc = ROT_PG_PASSWORD_PLAIN;
    } else {
        return bad_setting("PASSWORD_ENCRYPTION", pe, "\"scram-sha-256\", \"md5\" or \"server\"",
                           err);
    }
    if (owner != NULL && strlen(owner) > PG_MAX_NAME) {
        return sm_err_set(err, SM_ERR_CONFIG, "PG_OWNER_ROLE is longer than %d bytes", PG_MAX_NAME);
    }
    return owner != NULL ? copy_setting("PG_OWNER_ROLE", owner, &cfg->pg_owner_role, err) : 0;
}

static bool is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int mysql_settings(struct rot_config *cfg, struct sm_err *err) {
    const char *limit = env_given("USERNAME_CHARACTER_LIMIT");
    const char *dir = env_given("SMROTATE_MYSQL_PLUGIN_DIR");
    const char *key = env_given("SMROTATE_MYSQL_SERVER_PUBLIC_KEY");
    char packaged[PATH_MAX];
    if (limit != NULL) {
        char *end = NULL;
        long n = strtol(limit, &end, 10);
        if (!isdigit((unsigned char)limit[0]) || *end != '\0' || n < 1 ||
            n > MYSQL_MAX_USERNAME_LIMIT) {
            return bad_setting("USERNAME_CHARACTER_LIMIT", limit, "a whole number from 1 to 255",
                               err);
        }
        cfg->engine_settings.mysql_username_limit = (size_t)n;
    }
    if (dir != NULL && (strlen(dir) >= MYSQL_PATH_MAX || !is_dir(dir))) {
        return bad_setting("SMROTATE_MYSQL_PLUGIN_DIR", dir, "a directory (of at most 399 bytes)",
                           err);
    }
    if (dir == NULL &&
        sm_exe_relative_path("lib/mariadb/plugin", packaged, sizeof(packaged)) == 0 &&
        strlen(packaged) < MYSQL_PATH_MAX && is_dir(packaged)) {
        dir = packaged; /* the Lambda package ships the plugins there */
    }
    if (key != NULL && (strlen(key) >= MYSQL_PATH_MAX || access(key, R_OK) != 0)) {
        return bad_setting("SMROTATE_MYSQL_SERVER_PUBLIC_KEY", key, "a readable file", err);
    }
    if ((dir != NULL &&
         copy_setting("SMROTATE_MYSQL_PLUGIN_DIR", dir, &cfg->mysql_plugin_dir, err) != 0) ||
        (key != NULL && copy_setting("SMROTATE_MYSQL_SERVER_PUBLIC_KEY", key,
                                     &cfg->mysql_server_public_key, err) != 0)) {
        return -1;
    }
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
    if (rot_db_trust_from_env(&cfg->db_tls, err) != 0 || pg_settings(cfg, err) != 0 ||
        mysql_settings(cfg, err) != 0) {
        goto out;
    }
    cfg->engine_settings.pg_owner_role = cfg->pg_owner_role;
    cfg->engine_settings.mysql_plugin_dir = cfg->mysql_plugin_dir;
    cfg->engine_settings.mysql_server_public_key = cfg->mysql_server_public_key;
    result = 0;
out:
    return result;
}

void rot_config_clean_up(struct rot_config *cfg) {
    if (cfg == NULL) {
        return;
    }
    sm_free(cfg->exclude_characters);
    sm_free(cfg->pg_owner_role);
    sm_free(cfg->mysql_plugin_dir);
    sm_free(cfg->mysql_server_public_key);
    rot_db_trust_clean_up(&cfg->db_tls);
    memset(cfg, 0, sizeof(*cfg));
}
