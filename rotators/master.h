/*
 * master: the superuser secret of alternating users, and where it may set a user's password.
 *
 * Owns reading the master secret a user's `masterarn` names - self-described (engine, host, ...)
 * or RDS-managed (only username and password; its database named by the aws:rds:primaryDB*Arn
 * tag and described by RDS) - and accepting it for a user: one engine family, and the user's
 * host is the master's, a read replica of the master's instance, or a reader of the master's
 * Aurora cluster. Whether Aurora is in play is decided from everything known (either secret's
 * engine, the RDS-managed master's cluster, the endpoints' form, what RDS says of the user's
 * host), never from the user's engine value alone. Nothing is logged into and nothing written.
 */
#ifndef ROT_MASTER_H
#define ROT_MASTER_H

#include "rotation.h"
#include "secret.h"

#include <stdbool.h>
#include <stdint.h>

/* Reads the master of user (named by user->masterarn, read afresh: RDS rotates a managed one on
 * its own schedule) into master, and checks it can set the password of user's alternate on the
 * master's host. Returns 0, or -1 with err: ROT_ERR_SECRET_INVALID (no masterarn, an unusable
 * master secret), ROT_ERR_ROTATION (another engine; "Current database host ... is not the same
 * host as/rds replica of master ..." followed by which check failed), or the Secrets Manager or
 * RDS error. master is the caller's to clean up (rot_secret_clean_up) in every case. */
int rot_master_resolve(const struct rot_context *ctx, const struct rot_secret *user,
                       int64_t deadline_ms, struct rot_secret *master, struct sm_err *err);

/* What RDS said about the master's database when it described it (an RDS-managed master). */
struct rot_master_place {
    char instance[128]; /* DB instance identifier; "" when unknown */
    char cluster[128];  /* DB cluster identifier; "" when unknown */
};

/* Whether the user's host must be an Aurora reader of the master's cluster, decided before RDS is
 * asked about the user's host: either secret's engine value is an Aurora one, the master's
 * database is a cluster (place), or either host is a cluster endpoint (<id>.cluster-...). When
 * this is false, RDS's answer about the user's host decides. */
bool rot_master_aurora_known(const struct rot_secret *user, const struct rot_secret *master,
                             const struct rot_master_place *place);

#endif
