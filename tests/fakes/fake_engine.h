/*
 * fake_engine: an in-memory database engine for testing the rotation steps without a server.
 *
 * Serves the secret engine values "fake" and "aurora-fake" (for the Aurora paths). Users and
 * passwords live in fake_db; connect succeeds when the user exists and the password matches, and
 * records the host it was asked for. Faults: fake_db.unreachable makes every connect fail with
 * ROT_ERR_DB_UNREACHABLE; fake_db.fail_set makes password changes fail; fake_db.refuse_logins
 * refuses the next logins (a replica the new password has not reached). Changing one's own
 * password needs the current one (as MySQL's password_require_current does); with
 * retain_current the old password stays valid as the secondary one (MySQL's dual passwords),
 * without it a secondary one is discarded. Syncing the alternate user records who rotation.c said
 * was who in fake_db.last_sync; set_password refuses an unknown user, as the engines do. Each
 * password set records its lifetime in the user's lifetime_days. The preflight check's
 * inspection: check_rights allows whatever is asked unless fake_db.master_lacks_rights (users that
 * must exist must exist either way); plan_alternate_user lists the clone's creation (or nothing
 * when it exists) and the password it sets, or refuses when fake_db.plan_cycle; fake_db.tls_fails
 * fails every TLS attempt as a certificate that does not name the host.
 */
#ifndef FAKE_ENGINE_H
#define FAKE_ENGINE_H

#include "engine.h"

#include <stdbool.h>

#define FAKE_MAX_USERS 16
#define FAKE_MAX_CONNECTS 64
/* The password of a clone created without one: no login matches it. */
#define FAKE_NO_PASSWORD "\x01(no password)"

struct fake_user {
    char name[128];
    char password[512];
    char secondary[512]; /* a retained older password ("": none) */
    char member_of[128]; /* the user whose privileges it mirrors (alternating users) */
    long lifetime_days;  /* of the last password set (0: none) */
    bool used;
};

struct fake_db {
    struct fake_user users[FAKE_MAX_USERS];
    bool unreachable;
    bool fail_set;
    bool tls_fails;           /* TLS attempts fail: the certificate does not name the host */
    bool master_lacks_rights; /* check_rights says no */
    bool plan_cycle;          /* plan_alternate_user refuses (the original is the clone's member) */
    int refuse_logins; /* the next N logins are refused whatever the password (replication lag) */
    int connects;      /* connect attempts */
    char hosts[FAKE_MAX_CONNECTS][128]; /* the host of each connect attempt, in order */
    int password_sets;                  /* successful password changes */
    int admin_sets;                     /* of which set_password, by a superuser */
    int open_conns;                     /* connections not yet closed */
    struct {
        char original[128], clone[128], target[128];
    } last_sync; /* the users of the last sync_alternate_user call */
};

extern struct fake_db fake_db;
extern const struct rot_engine fake_engine;
/* A registry holding only the fake engine. */
extern const struct rot_engine *const fake_registry[];

/* Resets the database to empty. */
void fake_db_reset(void);
/* Creates or updates a user. */
void fake_db_set_user(const char *name, const char *password);
/* The user's password or NULL. */
const char *fake_db_password(const char *name);
/* The user's record or NULL. */
const struct fake_user *fake_db_user(const char *name);

#endif
