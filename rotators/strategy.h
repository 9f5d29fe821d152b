/*
 * strategy: how the pending credentials are chosen, as data.
 *
 * single-user: the same user gets a new password; it changes its own password.
 * single-user-via-master: the same user gets a new password, set by the superuser of the secret's
 * `masterarn`, for servers where users may not change their own password.
 * alternating users (multi-user): the username flips between X and X_clone each rotation and a
 * superuser (the secret's `masterarn`) creates or updates the alternate user, so the credentials
 * applications hold keep working until the rotation after next.
 *
 * The strategy is chosen by the function's Handler setting (_HANDLER). `auto` decides per secret:
 * alternating users when the secret names a master (masterarn), single user otherwise, so one
 * function can serve every secret of an estate; a secret's smrotate:strategy tag overrides that
 * choice (settings.h).
 */
#ifndef ROT_STRATEGY_H
#define ROT_STRATEGY_H

#include <stdbool.h>
#include <stddef.h>

struct rot_strategy {
    const char *name;                 /* canonical: "single-user", "multi-user" */
    const char *const *handler_names; /* _HANDLER values selecting it, NULL-terminated */
    bool alternates_users;
    bool set_by_master; /* the master's login sets the password (alternating users too) */
    bool per_secret;    /* auto: decided by rot_strategy_for_secret */
};

extern const struct rot_strategy rot_strategy_single_user;
extern const struct rot_strategy rot_strategy_alternating_users;
extern const struct rot_strategy rot_strategy_single_user_via_master;
extern const struct rot_strategy rot_strategy_auto;

/* The strategy that rotates a secret: s itself, or for auto the one has_master calls for. */
const struct rot_strategy *rot_strategy_for_secret(const struct rot_strategy *s, bool has_master);

/* The strategy a _HANDLER value selects (NULL or "" selects single-user), or NULL. */
const struct rot_strategy *rot_strategy_find(const char *handler);

/* The accepted Handler values, and the values a secret's smrotate:strategy tag accepts, for
 * messages. */
const char *rot_strategy_accepted(void);
const char *rot_strategy_per_secret_accepted(void);

#endif
