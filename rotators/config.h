/*
 * config: the rotation function's settings, read once from the environment at init.
 *
 * Password policy (the names and parsing of AWS's templates): EXCLUDE_CHARACTERS (default: the
 * engine's set), PASSWORD_LENGTH (32), EXCLUDE_NUMBERS, EXCLUDE_PUNCTUATION, EXCLUDE_UPPERCASE,
 * EXCLUDE_LOWERCASE (false), REQUIRE_EACH_INCLUDED_TYPE (true); a boolean is true when its
 * lower-cased value is one of true, 1, y, yes.
 * Database TLS: SMROTATE_DB_CA_FILE and SMROTATE_DB_TLS_VERIFY, resolved by db_tls.h.
 * SMROTATE_DB_CONNECT_TIMEOUT_MS (5000). The engines' settings (engine.h): PASSWORD_ENCRYPTION,
 * PG_OWNER_ROLE, USERNAME_CHARACTER_LIMIT, SMROTATE_MYSQL_PLUGIN_DIR (else lib/mariadb/plugin
 * next to bootstrap when it exists), SMROTATE_MYSQL_SERVER_PUBLIC_KEY.
 * SMROTATE_PASSWORD_LIFETIME_DAYS (none) and SMROTATE_MYSQL_DUAL_PASSWORD (false): defaults of
 * the per-secret settings of the same names (settings.h).
 * Strategy: from the Handler setting (_HANDLER), see strategy.h.
 */
#ifndef ROT_CONFIG_H
#define ROT_CONFIG_H

#include "db_tls.h"
#include "errors.h"
#include "secretsmanager.h"
#include "strategy.h"

#include <stdbool.h>

struct rot_config {
    const struct rot_strategy *strategy;
    /* exclude_characters is NULL here when EXCLUDE_CHARACTERS is unset: the engine's default
     * applies. The strings are owned by the config. */
    struct secrets_password_policy policy;
    char *exclude_characters;
    struct rot_db_trust db_tls; /* database TLS trust and verification */
    long db_connect_timeout_ms;
    long password_lifetime_days; /* 0: passwords do not expire */
    bool mysql_dual_password;
    struct rot_engine_settings engine_settings; /* its strings are the three below */
    char *pg_owner_role, *mysql_plugin_dir, *mysql_server_public_key;
};

/* The longest password lifetime, in days (ten years). */
#define ROT_MAX_LIFETIME_DAYS 3650

/* Reads the settings. handler is the _HANDLER value (may be NULL). Returns 0, or -1 with err
 * (SM_ERR_CONFIG naming the variable and the accepted values). Caller releases cfg with
 * rot_config_clean_up, also after a failure. */
int rot_config_from_env(const char *handler, struct rot_config *cfg, struct sm_err *err);

void rot_config_clean_up(struct rot_config *cfg);

/* true for true/1/y/yes (any case); the templates' parsing. */
bool rot_config_parse_bool(const char *value);

#endif
