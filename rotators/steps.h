/*
 * steps: what the four rotation steps share, private to rotation.c (the prologue, createSecret,
 * testSecret, finishSecret), set_secret.c (setSecret's flows) and check.c (the preflight check,
 * which reads and logs in as the steps do): one step's working state, the
 * staging labels, reading a secret version, logging in, the secret's settings, and who the
 * pending user of an alternating-users rotation is.
 */
#ifndef ROT_STEPS_H
#define ROT_STEPS_H

#include "db_connect.h"
#include "rotation.h"
#include "secret.h"
#include "settings.h"

#define STAGE_CURRENT "AWSCURRENT"
#define STAGE_PENDING "AWSPENDING"
#define STAGE_PREVIOUS "AWSPREVIOUS"

/* One step's working state. */
struct run {
    struct rot_context *ctx;
    const struct rot_event *ev;
    int64_t deadline_ms;
    struct secrets_description desc; /* from the prologue's DescribeSecret */
    struct rot_settings settings;    /* resolved with the current secret (rot_step_settings) */
};

/* Reads one version of a secret and validates it. A missing version leaves err->aws_type as
 * ResourceNotFoundException so the caller can tell. out is the caller's to clean up. */
int rot_step_read(struct run *run, const char *version_id, const char *stage,
                  struct rot_secret *out, struct sm_err *err);

/* Logs in to s's database with l (s's login, or another user's at s's server). */
int rot_step_login(struct run *run, const struct rot_secret *s, const struct rot_login *l,
                   struct rot_conn **conn, struct sm_err *err);

/* Logs in with s's own credentials. */
int rot_step_login_secret(struct run *run, const struct rot_secret *s, struct rot_conn **conn,
                          struct sm_err *err);

/* Resolves how this secret rotates, once per invocation (settings.h), from the current secret
 * (testSecret: the pending one, of the same shape). */
int rot_step_settings(struct run *run, const struct rot_secret *current, struct sm_err *err);

/* Refuses settings that cannot work for this secret (mysql-dual-password where the engine has no
 * secondary passwords or with a master), ROT_ERR_SECRET_INVALID; after rot_step_settings. */
int rot_step_check_settings(struct run *run, const struct rot_secret *current, struct sm_err *err);

/* The user an alternating-users rotation sets next into out (cap bytes): the other of the two
 * pre-created users of the smrotate:alternating-users tag, else X <-> X_clone checked against
 * the engine's name limit. Returns 0, or -1 with err (ROT_ERR_ROTATION). */
int rot_step_alternate(struct run *run, const struct rot_secret *current, char *out, size_t cap,
                       struct sm_err *err);

/* How the pending password is set, from the settings. */
struct rot_password_opts rot_step_password_opts(const struct run *run);

/* The GetRandomPassword policy createSecret sends for current's engine: the settings', with the
 * engine's excluded characters when none are configured. */
struct secrets_password_policy rot_step_password_policy(const struct run *run,
                                                        const struct rot_secret *current);

/* setSecret (set_secret.c). */
int rot_step_set(struct run *run, struct sm_err *err);

#endif
