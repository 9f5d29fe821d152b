#include "strategy.h"

#include <string.h>

static const char *const s_single_names[] = {"single-user", NULL};
static const char *const s_alternating_names[] = {"multi-user", "alternating-users", NULL};

const struct rot_strategy rot_strategy_single_user = {
    .name = "single-user",
    .handler_names = s_single_names,
    .alternates_users = false,
};

const struct rot_strategy rot_strategy_alternating_users = {
    .name = "multi-user",
    .handler_names = s_alternating_names,
    .alternates_users = true,
    .set_by_master = true,
};

static const char *const s_via_master_names[] = {"single-user-via-master", NULL};

const struct rot_strategy rot_strategy_single_user_via_master = {
    .name = "single-user-via-master",
    .handler_names = s_via_master_names,
    .set_by_master = true,
};

static const char *const s_auto_names[] = {"auto", NULL};

const struct rot_strategy rot_strategy_auto = {
    .name = "auto",
    .handler_names = s_auto_names,
    .alternates_users = false,
    .per_secret = true,
};

static const struct rot_strategy *const s_strategies[] = {
    &rot_strategy_single_user,
    &rot_strategy_alternating_users,
    &rot_strategy_single_user_via_master,
    &rot_strategy_auto,
    NULL,
};

const struct rot_strategy *rot_strategy_for_secret(const struct rot_strategy *s, bool has_master) {
    if (!s->per_secret) {
        return s;
    }
    return has_master ? &rot_strategy_alternating_users : &rot_strategy_single_user;
}

const struct rot_strategy *rot_strategy_find(const char *handler) {
    if (handler == NULL || handler[0] == '\0') {
        return &rot_strategy_single_user;
    }
    for (size_t i = 0; s_strategies[i] != NULL; i++) {
        for (const char *const *n = s_strategies[i]->handler_names; *n != NULL; n++) {
            if (strcmp(*n, handler) == 0) {
                return s_strategies[i];
            }
        }
    }
    return NULL;
}

const char *rot_strategy_accepted(void) {
    return "'single-user' (the default when empty), 'multi-user', 'alternating-users', "
           "'single-user-via-master' or 'auto' (per secret: its smrotate:strategy tag, else "
           "alternating users for secrets with masterarn, single user for the others)";
}

const char *rot_strategy_per_secret_accepted(void) {
    return "single-user, multi-user, alternating-users or single-user-via-master";
}
