/*
 * settings: how one secret is rotated - the function's configuration (config.h, from the
 * environment) overridden for this secret by its `smrotate:<setting>` tags.
 *
 * The tags arrive with the prologue's DescribeSecret, so they cost no call. A tag whose key starts
 * with `smrotate:` (any case) must name a known setting with a valid value: anything else is an
 * error that names the tag, so a typo never silently falls back to the defaults. README's
 * "Per-secret settings" lists the settings; whoever may tag a secret may change how it rotates.
 */
#ifndef ROT_SETTINGS_H
#define ROT_SETTINGS_H

#include "config.h"
#include "secretsmanager.h"
#include "strategy.h"

#include <stdbool.h>

#define ROT_TAG_PREFIX "smrotate:"

struct rot_settings {
    const struct rot_strategy *strategy; /* for this secret; never auto */
    struct secrets_password_policy policy;
    /* smrotate:alternating-users: the two pre-created users that take turns, or NULLs. Views into
     * pair_text. */
    const char *pair[2];
    char *pair_text;             /* owned */
    long password_lifetime_days; /* 0: none */
    bool mysql_dual_password;    /* MySQL: keep the old password as the secondary one */
    char from_tags[160];         /* the settings that came from tags, for a DEBUG line */
};

/* Resolves the settings of the secret desc describes: cfg's, overridden by desc's smrotate: tags.
 * has_master: the secret names a master (masterarn), which Handler auto reads. Returns 0, or -1
 * with err (ROT_ERR_SECRET_INVALID naming the tag: an unknown setting, a bad value, a strategy
 * other than a fixed Handler's, settings that contradict each other, a password lifetime shorter
 * than twice the rotation interval; SM_ERR_NOMEM). out is the
 * caller's to clean up in every case. */
int rot_settings_resolve(const struct rot_config *cfg, const struct secrets_description *desc,
                         bool has_master, struct rot_settings *out, struct sm_err *err);

void rot_settings_clean_up(struct rot_settings *s);

/* The longest gap between two rotations d's RotationRules allow, in days (an upper bound for a
 * cron expression; README, "Per-secret settings"); 0 when the secret has no schedule. */
long rot_rotation_interval_days(const struct secrets_description *d);

#endif
