#include "rotation.h"

#include "log.h"
#include "mem.h"
#include "secret.h"
#include "str.h"
#include "strategy.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define STAGE_CURRENT "AWSCURRENT"
#define STAGE_PENDING "AWSPENDING"
#define STAGE_PREVIOUS "AWSPREVIOUS"
#define CLONE_SUFFIX "_clone"

/* One step's working state. */
struct run {
    struct rot_context *ctx;
    const struct rot_event *ev;
    int64_t deadline_ms;
    struct secrets_description desc; /* from the prologue's DescribeSecret */
    bool warned_master;
};

int rot_alternate_username(const char *username, char *out, size_t cap) {
    size_t len = strlen(username);
    size_t suffix = strlen(CLONE_SUFFIX);
    int n;
    if (len > suffix && strcmp(username + len - suffix, CLONE_SUFFIX) == 0) {
        n = snprintf(out, cap, "%.*s", (int)(len - suffix), username);
    } else {
        n = snprintf(out, cap, "%s%s", username, CLONE_SUFFIX);
    }
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* Reads one version of a secret and validates it. A missing version leaves err->aws_type as
 * ResourceNotFoundException so the caller can tell. */
static int read_secret(struct run *run, const char *secret_id, const char *version_id,
                       const char *stage, struct rot_secret *out, struct sm_err *err) {
    int result = -1;
    struct secrets_value value = {0};
    if (run->ctx->sm->get_value(run->ctx->sm_impl, secret_id, version_id, stage, run->deadline_ms,
                                &value, err) != 0) {
        goto out;
    }
    if (value.secret_string == NULL) {
        sm_err_set(err, ROT_ERR_SECRET_INVALID,
                   "the %s version of secret %s has no SecretString; this function rotates JSON "
                   "secrets only",
                   stage, secret_id);
        goto out;
    }
    int rc =
        rot_secret_take(value.secret_string, value.secret_string_len, run->ctx->engines, out, err);
    value.secret_string = NULL; /* the secret owns it now */
    if (rc != 0) {
        sm_err_prefix(err, "the %s version of secret %s", stage, secret_id);
        goto out;
    }
    result = 0;
out:
    secrets_value_clean_up(&value);
    return result;
}

static int login(struct run *run, const struct rot_secret *s, const struct rot_login *l,
                 struct rot_conn **conn, struct sm_err *err) {
    struct rot_connect_opts opts = {
        .ca_file = run->ctx->config->db_tls.ca_file,
        .ca_origin = run->ctx->config->db_tls.origin,
        .tls_verify = run->ctx->config->db_tls.verify,
        .connect_timeout_ms = run->ctx->config->db_connect_timeout_ms,
        .deadline_ms = run->deadline_ms,
    };
    run->ctx->stats.db_logins++;
    return s->engine->connect(l, &opts, conn, err);
}

static int login_secret(struct run *run, const struct rot_secret *s, struct rot_conn **conn,
                        struct sm_err *err) {
    struct rot_login l = rot_secret_login(s);
    return login(run, s, &l, conn, err);
}

/* --- prologue --- */

/* Returns 1 when the token is already AWSCURRENT (nothing to do), 0 to go on, -1 on error. */
static int prologue(struct run *run, struct sm_err *err) {
    const char *arn = run->ev->secret_id;
    const char *token = run->ev->token;
    if (run->ctx->sm->describe(run->ctx->sm_impl, arn, run->deadline_ms, &run->desc, err) != 0) {
        return -1;
    }
    if (run->desc.rotation_enabled == 0) {
        return sm_err_set(err, ROT_ERR_ROTATION, "Secret %s is not enabled for rotation", arn);
    }
    const struct secrets_version *v = secrets_description_find(&run->desc, token);
    if (v == NULL) {
        return sm_err_set(err, ROT_ERR_ROTATION,
                          "Secret version %s has no stage for rotation of secret %s.", token, arn);
    }
    if (secrets_version_has_stage(v, STAGE_CURRENT)) {
        SM_INFO("Secret version %s already set as AWSCURRENT for secret %s.", token, arn);
        return 1;
    }
    if (!secrets_version_has_stage(v, STAGE_PENDING)) {
        return sm_err_set(err, ROT_ERR_ROTATION,
                          "Secret version %s not set as AWSPENDING for rotation of secret %s.",
                          token, arn);
    }
    return 0;
}

/* --- the master secret (alternating users) --- */

/* What the RDS API said about the master's database, for the replica check. */
struct master_place {
    char instance[128]; /* DB instance identifier, when known */
    char cluster[128];  /* DB cluster identifier, when known */
};

/* The first DNS label of host into out (the RDS identifier of an RDS host name). */
static void first_label(const char *host, char *out, size_t cap) {
    snprintf(out, cap, "%.*s", (int)strcspn(host, "."), host);
}

/* The identifier an ARN or identifier names (its last ':' part), for comparisons. */
static const char *identifier_of(const char *arn_or_id) {
    const char *colon = strrchr(arn_or_id, ':');
    return colon != NULL ? colon + 1 : arn_or_id;
}

/* The engine value a secret uses for an RDS engine name ("aurora" is Aurora MySQL 1). */
static const char *engine_value_of(const char *rds_engine) {
    return strcmp(rds_engine, "aurora") == 0 ? "aurora-mysql" : rds_engine;
}

static bool needs_rds(struct run *run, struct sm_err *err, const char *why) {
    if (run->ctx->rds != NULL) {
        return true;
    }
    sm_err_set(err, ROT_ERR_ROTATION, "%s needs the RDS API, which is not configured here", why);
    return false;
}

/* An RDS-managed master secret (only username and password): its host, port and engine come
 * from the database its aws:rds:primaryDBInstanceArn or aws:rds:primaryDBClusterArn tag names.
 * Builds master from them; takes over credentials (sm_ memory). */
static int resolve_managed_master(struct run *run, const char *master_arn, char *credentials,
                                  size_t len, struct rot_secret *master, struct master_place *place,
                                  struct sm_err *err) {
    int result = -1;
    struct secrets_description desc = {0};
    struct rds_instance inst = {0};
    struct rds_cluster cluster = {0};
    cJSON *json = NULL;
    char *text = NULL;
    json = cJSON_ParseWithLength(credentials, len);
    sm_free(credentials);
    if (json == NULL) {
        sm_err_set(err, SM_ERR_NOMEM, "out of memory reading the master secret %s", master_arn);
        goto out;
    }
    if (run->ctx->sm->describe(run->ctx->sm_impl, master_arn, run->deadline_ms, &desc, err) != 0) {
        sm_err_prefix(err, "reading the tags of the RDS-managed master secret %s", master_arn);
        goto out;
    }
    const char *instance_arn = secrets_description_tag(&desc, "aws:rds:primaryDBInstanceArn");
    const char *cluster_arn = secrets_description_tag(&desc, "aws:rds:primaryDBClusterArn");
    const char *tag_arn = instance_arn != NULL ? instance_arn : cluster_arn;
    if (tag_arn == NULL) {
        sm_err_set(err, ROT_ERR_SECRET_INVALID,
                   "the master secret %s holds only username and password, as an RDS-managed "
                   "secret does, but has neither the tag aws:rds:primaryDBInstanceArn nor "
                   "aws:rds:primaryDBClusterArn that names its database; give it host, port and "
                   "engine instead",
                   master_arn);
        goto out;
    }
    if (strlen(tag_arn) > 256) {
        sm_err_set(err, ROT_ERR_SECRET_INVALID,
                   "the master secret %s: the ARN in its tag %s exceeds 256 characters", master_arn,
                   instance_arn != NULL ? "aws:rds:primaryDBInstanceArn"
                                        : "aws:rds:primaryDBClusterArn");
        goto out;
    }
    if (!needs_rds(run, err, "an RDS-managed master secret")) {
        goto out;
    }
    const char *engine, *host;
    int port;
    if (instance_arn != NULL) {
        if (run->ctx->rds->describe_instance(run->ctx->rds_impl, instance_arn, run->deadline_ms,
                                             &inst, err) != 0) {
            sm_err_prefix(err, "finding the database of the RDS-managed master secret %s",
                          master_arn);
            goto out;
        }
        engine = inst.engine, host = inst.address, port = inst.port;
        snprintf(place->instance, sizeof(place->instance), "%s", inst.identifier);
        if (inst.cluster_identifier != NULL) {
            snprintf(place->cluster, sizeof(place->cluster), "%s", inst.cluster_identifier);
        }
    } else {
        if (run->ctx->rds->describe_cluster(run->ctx->rds_impl, cluster_arn, run->deadline_ms,
                                            &cluster, err) != 0) {
            sm_err_prefix(err, "finding the database of the RDS-managed master secret %s",
                          master_arn);
            goto out;
        }
        engine = cluster.engine, host = cluster.endpoint, port = cluster.port;
        snprintf(place->cluster, sizeof(place->cluster), "%s", cluster.identifier);
    }
    if (engine == NULL || host == NULL || port == 0) {
        sm_err_set(err, SM_ERR_PROTOCOL,
                   "the RDS database of the master secret %s has no engine, endpoint or port yet "
                   "(is it still being created?)",
                   master_arn);
        goto out;
    }
    /* The master as a secret of its own: the same validation as any other. */
    if (cJSON_AddStringToObject(json, "engine", engine_value_of(engine)) == NULL ||
        cJSON_AddStringToObject(json, "host", host) == NULL ||
        cJSON_AddNumberToObject(json, "port", port) == NULL ||
        (text = cJSON_PrintUnformatted(json)) == NULL) {
        sm_err_set(err, SM_ERR_NOMEM, "out of memory reading the master secret %s", master_arn);
        goto out;
    }
    int rc = rot_secret_take(text, strlen(text), run->ctx->engines, master, err);
    text = NULL;
    if (rc != 0) {
        sm_err_prefix(err, "the RDS-managed master secret %s (engine %s from RDS)", master_arn,
                      engine);
        goto out;
    }
    result = 0;
out:
    cJSON_Delete(json);
    sm_free(text);
    secrets_description_clean_up(&desc);
    rds_instance_clean_up(&inst);
    rds_cluster_clean_up(&cluster);
    return result;
}

/* Reads the superuser secret named by masterarn, read afresh on every step (RDS rotates a
 * managed one on its own schedule). */
static int read_master(struct run *run, const char *master_arn, struct rot_secret *master,
                       struct master_place *place, struct sm_err *err) {
    int result = -1;
    struct secrets_value value = {0};
    memset(place, 0, sizeof(*place));
    if (run->ctx->sm->get_value(run->ctx->sm_impl, master_arn, NULL, STAGE_CURRENT,
                                run->deadline_ms, &value, err) != 0) {
        sm_err_prefix(err, "cannot read the master secret %s", master_arn);
        goto out;
    }
    if (value.secret_string == NULL) {
        sm_err_set(err, ROT_ERR_SECRET_INVALID, "the master secret %s has no SecretString",
                   master_arn);
        goto out;
    }
    int rc;
    if (rot_secret_is_bare_credentials(value.secret_string, value.secret_string_len) == 1) {
        rc = resolve_managed_master(run, master_arn, value.secret_string, value.secret_string_len,
                                    master, place, err);
    } else {
        rc = rot_secret_take(value.secret_string, value.secret_string_len, run->ctx->engines,
                             master, err);
        if (rc != 0) {
            sm_err_prefix(err, "the master secret %s", master_arn);
        }
    }
    value.secret_string = NULL; /* taken over either way */
    if (rc != 0) {
        goto out;
    }
    result = 0;
out:
    secrets_value_clean_up(&value);
    return result;
}

static int not_replica(const struct rot_secret *current, const struct rot_secret *master,
                       struct sm_err *err, const char *why) {
    return sm_err_set(err, ROT_ERR_ROTATION,
                      "Current database host %s is not the same host as/rds replica of master %s "
                      "(%s)",
                      current->host, master->host, why);
}

/* The user's host differs from the master's: accepted only when RDS says it is a read replica
 * of the master's instance or a reader of the master's Aurora cluster (the templates' check). */
static int check_replica(struct run *run, const struct rot_secret *current,
                         const struct rot_secret *master, const struct master_place *place,
                         struct sm_err *err) {
    int result = -1;
    struct rds_instance inst = {0};
    struct rds_cluster cluster = {0};
    char user_id[128], master_id[128], why[400];
    first_label(current->host, user_id, sizeof(user_id));
    snprintf(master_id, sizeof(master_id), "%s", place->instance);
    if (master_id[0] == '\0') {
        first_label(master->host, master_id, sizeof(master_id));
    }
    unsigned char addr[sizeof(struct in6_addr)];
    if (inet_pton(AF_INET, current->host, addr) == 1 ||
        inet_pton(AF_INET6, current->host, addr) == 1) {
        return not_replica(current, master, err, "an IP address names no RDS instance");
    }
    if (!needs_rds(run, err, "a user on another host than its master")) {
        return -1;
    }
    const struct rds_ops *rds = run->ctx->rds;
    if (strncmp(current->engine_value, "aurora", 6) != 0) {
        if (rds->describe_instance(run->ctx->rds_impl, user_id, run->deadline_ms, &inst, err) !=
            0) {
            if (sm_err_is_aws(err, "DBInstanceNotFound")) {
                snprintf(why, sizeof(why), "RDS has no DB instance %s", user_id);
                not_replica(current, master, err, why);
            }
            goto out;
        }
        if (inst.replica_source == NULL ||
            strcasecmp(identifier_of(inst.replica_source), master_id) != 0) {
            snprintf(why, sizeof(why), "DB instance %s is not a read replica of %s", user_id,
                     master_id);
            not_replica(current, master, err, why);
            goto out;
        }
        SM_INFO("setSecret: %s is a read replica of %s; the password is set on the master",
                current->host, master->host);
        result = 0;
        goto out;
    }
    /* Aurora: the master's cluster, from its writer endpoint's name or from RDS. */
    char cluster_id[128];
    snprintf(cluster_id, sizeof(cluster_id), "%s", place->cluster);
    const char *dot = strchr(master->host, '.');
    char second[128] = "";
    if (dot != NULL) {
        first_label(dot + 1, second, sizeof(second));
    }
    if (cluster_id[0] == '\0' && strstr(second, "cluster") != NULL) {
        first_label(master->host, cluster_id, sizeof(cluster_id)); /* a cluster endpoint */
    }
    if (cluster_id[0] == '\0') {
        if (rds->describe_instance(run->ctx->rds_impl, master_id, run->deadline_ms, &inst, err) !=
            0) {
            sm_err_prefix(err, "finding the Aurora cluster of master %s", master->host);
            goto out;
        }
        if (inst.cluster_identifier == NULL) {
            snprintf(why, sizeof(why), "DB instance %s of the master is in no Aurora cluster",
                     master_id);
            not_replica(current, master, err, why);
            goto out;
        }
        snprintf(cluster_id, sizeof(cluster_id), "%s", inst.cluster_identifier);
    }
    if (rds->describe_cluster(run->ctx->rds_impl, cluster_id, run->deadline_ms, &cluster, err) !=
        0) {
        sm_err_prefix(err, "reading the Aurora cluster %s of master %s", cluster_id, master->host);
        goto out;
    }
    bool reader =
        cluster.reader_endpoint != NULL && strcasecmp(cluster.reader_endpoint, current->host) == 0;
    for (size_t i = 0; !reader && i < cluster.n_members; i++) {
        const struct rds_cluster_member *m = &cluster.members[i];
        reader = m->instance_identifier != NULL && !m->is_writer &&
                 strcasecmp(m->instance_identifier, user_id) == 0;
    }
    if (!reader) {
        snprintf(why, sizeof(why),
                 "it is neither the reader endpoint of Aurora cluster %s nor one of its reader "
                 "instances",
                 cluster_id);
        not_replica(current, master, err, why);
        goto out;
    }
    SM_INFO("setSecret: %s is a reader of Aurora cluster %s; the password is set on the writer",
            current->host, cluster_id);
    result = 0;
out:
    rds_instance_clean_up(&inst);
    rds_cluster_clean_up(&cluster);
    return result;
}

/* Reads the master of current and checks it can set the alternate user's password: a master
 * secret is named, it is for the same kind of database, and it is on the user's host or the
 * user's host is a replica or reader of it. Nothing is logged into. createSecret runs it before
 * anything is staged, setSecret before it changes anything. */
static int resolve_master(struct run *run, const struct rot_secret *current,
                          struct rot_secret *master, struct sm_err *err) {
    struct master_place place;
    if (current->masterarn == NULL) {
        return sm_err_set(err, ROT_ERR_SECRET_INVALID,
                          "masterarn key is missing from secret JSON (the alternating-users "
                          "strategy needs the ARN of a superuser secret)");
    }
    if (read_master(run, current->masterarn, master, &place, err) != 0) {
        return -1;
    }
    if (master->engine != current->engine) {
        return sm_err_set(err, ROT_ERR_ROTATION,
                          "the master secret %s is for a %s database, not %s", current->masterarn,
                          master->engine->display_name, current->engine->display_name);
    }
    if (strcasecmp(master->host, current->host) == 0) {
        return 0;
    }
    return check_replica(run, current, master, &place, err);
}

/* --- the strategy of a secret --- */

/* The configured strategy, or for Handler auto the one the secret calls for: alternating users
 * when it names a master, single user otherwise. Under single user, a master it names is
 * ignored: said once per invocation, since that is rarely what was meant. */
static const struct rot_strategy *strategy_of(struct run *run, const struct rot_secret *current) {
    const struct rot_strategy *s =
        rot_strategy_for_secret(run->ctx->config->strategy, current->masterarn != NULL);
    if (!s->alternates_users && current->masterarn != NULL && !run->warned_master) {
        SM_WARN("%s: the secret names a master secret (masterarn), which the single-user "
                "strategy ignores; use Handler multi-user or auto to rotate alternating users",
                rot_step_name(run->ev->step));
        run->warned_master = true;
    }
    return s;
}

/* --- createSecret --- */

/* A name's length as the engine measures it: bytes, or UTF-8 characters. */
static size_t username_length(const struct rot_engine *engine, const char *name) {
    size_t chars = 0;
    if (!engine->username_limit_counts_characters || !sm_utf8_valid(name, &chars)) {
        return strlen(name);
    }
    return chars;
}

static int create_secret(struct run *run, struct sm_err *err) {
    int result = -1;
    const char *arn = run->ev->secret_id;
    const struct rot_config *cfg = run->ctx->config;
    struct rot_secret current = {0}, pending = {0}, master = {0};
    struct sm_buf password, rendered;
    sm_buf_init(&password, 4096);
    sm_buf_init(&rendered, SM_LIMIT_SECRET_STRING);
    char alt[512];

    /* Validated before anything is staged: a broken current secret stops here. */
    if (read_secret(run, arn, NULL, STAGE_CURRENT, &current, err) != 0) {
        goto out;
    }
    if (read_secret(run, arn, run->ev->token, STAGE_PENDING, &pending, err) == 0) {
        SM_INFO("createSecret: Successfully retrieved secret for %s.", arn);
        result = 0;
        goto out;
    }
    if (!sm_err_is_aws(err, "ResourceNotFoundException")) {
        if (err->code == ROT_ERR_SECRET_INVALID) {
            sm_err_prefix(err,
                          "createSecret: the pending version %s already holds a value that "
                          "is not valid; remove its AWSPENDING label to restart rotation",
                          run->ev->token);
        }
        goto out;
    }

    const char *username = NULL;
    if (strategy_of(run, &current)->alternates_users) {
        if (rot_alternate_username(current.username, alt, sizeof(alt)) != 0) {
            sm_err_set(err, ROT_ERR_ROTATION, "Unable to clone user, username is too long");
            goto out;
        }
        size_t limit = current.engine->max_username_length(current.engine_value);
        if (username_length(current.engine, alt) > limit) {
            /* The template's words, with the unit the engine really counts in. */
            sm_err_set(err, ROT_ERR_ROTATION,
                       "Unable to clone user, username length with _clone appended would exceed "
                       "%zu %s",
                       limit,
                       current.engine->username_limit_counts_characters ? "characters" : "bytes");
            goto out;
        }
        /* The master must be usable before anything is staged: a pending version that setSecret
         * can never complete would block every later rotation. */
        if (resolve_master(run, &current, &master, err) != 0) {
            sm_err_prefix(err, "createSecret (nothing was staged)");
            goto out;
        }
        username = alt;
    }

    struct secrets_password_policy policy = cfg->policy;
    if (policy.exclude_characters == NULL) {
        policy.exclude_characters = current.engine->default_exclude_characters;
    }
    if (run->ctx->sm->random_password(run->ctx->sm_impl, &policy, run->deadline_ms, &password,
                                      err) != 0 ||
        rot_secret_render(&current, username, password.data, &rendered, err) != 0) {
        goto out;
    }
    const char *stages[] = {STAGE_PENDING};
    if (run->ctx->sm->put_value(run->ctx->sm_impl, arn, run->ev->token, rendered.data, rendered.len,
                                stages, 1, run->ev->rotation_token, run->deadline_ms, err) != 0) {
        goto out;
    }
    SM_INFO("createSecret: Successfully put secret for ARN %s and version %s.", arn,
            run->ev->token);
    result = 0;
out:
    rot_secret_clean_up(&current);
    rot_secret_clean_up(&pending);
    rot_secret_clean_up(&master);
    sm_buf_clean_up(&password);
    sm_buf_clean_up(&rendered);
    return result;
}

/* --- setSecret --- */

/* Collects why each login failed, for the final message; past its ceiling it just stops. */
static void note_attempt(struct sm_buf *notes, const char *what, const struct sm_err *e) {
    struct sm_err ignored;
    sm_buf_appendf(notes, &ignored, "%s%s: %s", notes->len == 0 ? "" : "; ", what, e->msg);
}

/* Reads current and pending and checks the pending secret targets the same database. */
static int read_current_and_pending(struct run *run, struct rot_secret *current,
                                    struct rot_secret *pending, struct sm_err *err) {
    const char *arn = run->ev->secret_id;
    if (read_secret(run, arn, NULL, STAGE_CURRENT, current, err) != 0 ||
        read_secret(run, arn, run->ev->token, STAGE_PENDING, pending, err) != 0) {
        return -1;
    }
    if (current->engine != pending->engine) {
        return sm_err_set(err, ROT_ERR_ROTATION,
                          "Attempting to modify a %s database from a %s secret",
                          pending->engine->display_name, current->engine->display_name);
    }
    if (strcmp(current->host, pending->host) != 0) {
        return sm_err_set(err, ROT_ERR_ROTATION,
                          "Attempting to modify user for host %s other than current host %s",
                          pending->host, current->host);
    }
    if (current->port != pending->port) {
        return sm_err_set(err, ROT_ERR_ROTATION,
                          "Attempting to modify user on port %d other than current port %d",
                          pending->port, current->port);
    }
    return 0;
}

/* conn logged in with the secret `as`; its password is the current one for the server. */
static int set_password(struct run *run, struct rot_conn *conn, const struct rot_secret *as,
                        const struct rot_secret *pending, struct sm_err *err) {
    if (pending->engine->set_own_password(conn, pending->username, as->password, pending->password,
                                          err) != 0) {
        return sm_err_prefix(err, "setSecret: could not set the new password for user %s",
                             pending->username);
    }
    SM_INFO("setSecret: Successfully set password for user %s in %s DB for secret arn %s.",
            pending->username, pending->engine->display_name, run->ev->secret_id);
    return 0;
}

/* Single user: exactly one password works at a time, so try current (the common case), then
 * pending (a rerun after the password changed), then previous (current was edited by hand). */
static int set_single_user(struct run *run, const struct rot_secret *cur,
                           const struct rot_secret *pend, struct sm_err *err) {
    int result = -1;
    const char *arn = run->ev->secret_id;
    const struct rot_secret current = *cur, pending = *pend; /* views, not copies of the text */
    struct rot_secret previous = {0};
    struct rot_conn *conn = NULL;
    struct sm_err attempt;
    struct sm_buf notes;
    sm_buf_init(&notes, SM_ERR_MSG_MAX);

    if (strcmp(current.username, pending.username) != 0) {
        sm_err_set(err, ROT_ERR_ROTATION, "Attempting to modify user %s other than current user %s",
                   pending.username, current.username);
        goto out;
    }

    if (login_secret(run, &current, &conn, &attempt) == 0) {
        result = set_password(run, conn, &current, &pending, err);
        goto out;
    }
    if (attempt.code != ROT_ERR_DB_LOGIN) {
        *err = attempt;
        sm_err_prefix(err, "setSecret: cannot log in with the AWSCURRENT secret of %s", arn);
        goto out;
    }
    SM_WARN("setSecret: the AWSCURRENT secret cannot log in: %s", attempt.msg);
    note_attempt(&notes, STAGE_CURRENT, &attempt);

    if (login_secret(run, &pending, &conn, &attempt) == 0) {
        SM_INFO("setSecret: AWSPENDING secret is already set as password in %s DB for secret arn "
                "%s.",
                pending.engine->display_name, arn);
        result = 0;
        goto out;
    }
    if (attempt.code != ROT_ERR_DB_LOGIN) {
        *err = attempt;
        sm_err_prefix(err, "setSecret: cannot log in with the AWSPENDING secret of %s", arn);
        goto out;
    }
    note_attempt(&notes, STAGE_PENDING, &attempt);

    if (read_secret(run, arn, NULL, STAGE_PREVIOUS, &previous, &attempt) != 0) {
        /* No previous version (first rotation) or an old one without the fields: not a
         * candidate, as in the template. Anything else (throttling, access) is an error. */
        if (!sm_err_is_aws(&attempt, "ResourceNotFoundException") &&
            attempt.code != ROT_ERR_SECRET_INVALID) {
            *err = attempt;
            goto out;
        }
        note_attempt(&notes, STAGE_PREVIOUS, &attempt);
    } else if (previous.engine != current.engine ||
               strcmp(previous.username, pending.username) != 0 ||
               strcmp(previous.host, pending.host) != 0 || previous.port != pending.port) {
        sm_err_set(&attempt, ROT_ERR_ROTATION, "it is for user %s at %s, not user %s at %s",
                   previous.username, previous.host, pending.username, pending.host);
        note_attempt(&notes, STAGE_PREVIOUS, &attempt);
    } else {
        /* The previous secret borrows the current one's TLS setting, as in the template. */
        previous.tls = current.tls;
        if (login_secret(run, &previous, &conn, &attempt) == 0) {
            SM_INFO("setSecret: logged in with the AWSPREVIOUS secret of %s", arn);
            result = set_password(run, conn, &previous, &pending, err);
            goto out;
        }
        if (attempt.code != ROT_ERR_DB_LOGIN) {
            *err = attempt;
            sm_err_prefix(err, "setSecret: cannot log in with the AWSPREVIOUS secret of %s", arn);
            goto out;
        }
        note_attempt(&notes, STAGE_PREVIOUS, &attempt);
    }
    sm_err_set(err, ROT_ERR_DB_LOGIN,
               "Unable to log into database with previous, current, or pending secret of secret "
               "arn %s (%s)",
               arn, notes.data != NULL ? notes.data : "");
out:
    if (conn != NULL) {
        current.engine->disconnect(conn);
    }
    rot_secret_clean_up(&previous);
    sm_buf_clean_up(&notes);
    return result;
}

/* Alternating users: the current login must work (confused-deputy guard), else the pending one
 * (a rerun after the alternate user already got its password: done), then the superuser sets
 * up the alternate user. Setting its password again is idempotent. */
static int set_alternating_users(struct run *run, const struct rot_secret *current,
                                 const struct rot_secret *pending, struct sm_err *err) {
    int result = -1;
    const char *arn = run->ev->secret_id;
    struct rot_secret master = {0};
    struct rot_conn *conn = NULL, *admin = NULL;
    struct sm_err attempt;
    char alt[512];

    if (rot_alternate_username(current->username, alt, sizeof(alt)) != 0 ||
        strcmp(alt, pending->username) != 0) {
        sm_err_set(err, ROT_ERR_ROTATION,
                   "Attempting to modify user %s other than current user or clone %s",
                   pending->username, current->username);
        goto out;
    }
    if (login_secret(run, current, &conn, &attempt) != 0) {
        if (attempt.code != ROT_ERR_DB_LOGIN) {
            *err = attempt;
            sm_err_prefix(err, "setSecret: cannot log in with the AWSCURRENT secret of %s", arn);
            goto out;
        }
        SM_WARN("setSecret: the AWSCURRENT secret cannot log in: %s", attempt.msg);
        if (login_secret(run, pending, &conn, err) == 0) {
            SM_INFO("setSecret: AWSPENDING secret is already set as password in %s DB for secret "
                    "arn %s.",
                    pending->engine->display_name, arn);
            result = 0;
            goto out;
        }
        *err = attempt;
        sm_err_prefix(err, "Unable to log into database using current credentials for secret %s",
                      arn);
        goto out;
    }
    current->engine->disconnect(conn);
    conn = NULL;

    if (resolve_master(run, current, &master, err) != 0) {
        sm_err_prefix(err, "setSecret");
        goto out;
    }
    /* The superuser works in the user's database, on the master's host, as in the template. */
    struct rot_login admin_login = rot_secret_login(&master);
    admin_login.dbname = current->dbname;
    if (login(run, &master, &admin_login, &admin, err) != 0) {
        if (err->code == ROT_ERR_DB_LOGIN) {
            sm_err_prefix(err, "Unable to log into database using credentials in master secret %s",
                          current->masterarn);
        } else {
            sm_err_prefix(err, "setSecret: cannot log in with the master secret %s",
                          current->masterarn);
        }
        goto out;
    }
    /* The naming rule (rot_alternate_username) gives the clone the _clone suffix: of the two
     * names, the shorter is the original. */
    bool pending_is_clone = strlen(pending->username) > strlen(current->username);
    struct rot_user_pair users = {
        .original = pending_is_clone ? current->username : pending->username,
        .clone = pending_is_clone ? pending->username : current->username,
        .target = pending->username,
    };
    if (current->engine->sync_alternate_user(admin, &users, pending->password, err) != 0) {
        sm_err_prefix(err, "setSecret: could not set up user %s", pending->username);
        goto out;
    }
    SM_INFO("setSecret: Successfully set password for %s in %s DB for secret arn %s.",
            pending->username, current->engine->display_name, arn);
    result = 0;
out:
    if (conn != NULL) {
        current->engine->disconnect(conn);
    }
    if (admin != NULL) {
        current->engine->disconnect(admin);
    }
    rot_secret_clean_up(&master);
    return result;
}

static int set_secret(struct run *run, struct sm_err *err) {
    struct rot_secret current = {0}, pending = {0};
    int result = -1;
    if (read_current_and_pending(run, &current, &pending, err) == 0) {
        result = strategy_of(run, &current)->alternates_users
                     ? set_alternating_users(run, &current, &pending, err)
                     : set_single_user(run, &current, &pending, err);
    }
    rot_secret_clean_up(&current);
    rot_secret_clean_up(&pending);
    return result;
}

/* --- testSecret --- */

/* Works also when only testSecret runs (RotateImmediately=false): the pending version then holds
 * the current value. */
static int test_secret(struct run *run, struct sm_err *err) {
    int result = -1;
    const char *arn = run->ev->secret_id;
    struct rot_secret pending = {0};
    struct rot_conn *conn = NULL;

    if (read_secret(run, arn, run->ev->token, STAGE_PENDING, &pending, err) != 0) {
        goto out;
    }
    if (login_secret(run, &pending, &conn, err) != 0) {
        if (err->code == ROT_ERR_DB_LOGIN) {
            sm_err_prefix(err, "Unable to log into database with pending secret of secret ARN %s",
                          arn);
        } else {
            sm_err_prefix(err, "testSecret: cannot log in with the AWSPENDING secret of %s", arn);
        }
        goto out;
    }
    if (pending.engine->check(conn, err) != 0) {
        sm_err_prefix(err,
                      "testSecret: logged in with the AWSPENDING secret of %s, but a query "
                      "failed",
                      arn);
        goto out;
    }
    SM_INFO("testSecret: Successfully signed into %s DB with AWSPENDING secret in %s.",
            pending.engine->display_name, arn);
    result = 0;
out:
    if (conn != NULL) {
        pending.engine->disconnect(conn);
    }
    rot_secret_clean_up(&pending);
    return result;
}

/* --- finishSecret --- */

static int finish_secret(struct run *run, struct sm_err *err) {
    const char *arn = run->ev->secret_id;
    const char *token = run->ev->token;
    const struct secrets_version *holder = secrets_description_holder(&run->desc, STAGE_CURRENT);
    if (run->ctx->sm->move_stage(run->ctx->sm_impl, arn, STAGE_CURRENT, token,
                                 holder != NULL ? holder->version_id : NULL, run->deadline_ms,
                                 err) != 0) {
        /* A retried call whose first attempt had landed fails because the label already moved:
         * look again before reporting failure. */
        struct secrets_description again = {0};
        struct sm_err look;
        bool moved = false;
        if (run->ctx->sm->describe(run->ctx->sm_impl, arn, run->deadline_ms, &again, &look) == 0) {
            const struct secrets_version *v = secrets_description_find(&again, token);
            moved = v != NULL && secrets_version_has_stage(v, STAGE_CURRENT);
        }
        secrets_description_clean_up(&again);
        if (!moved) {
            return -1;
        }
    }
    SM_INFO("finishSecret: Successfully set AWSCURRENT stage to version %s for secret %s.", token,
            arn);
    return 0;
}

void rot_log_context(enum rot_step step, const char *secret_id) {
    const struct sm_log_field fields[] = {{"step", rot_step_name(step)}, {"secretId", secret_id}};
    sm_log_set_context(fields, secret_id != NULL ? 2 : 0);
}

int rot_run_step(struct rot_context *ctx, const struct rot_event *ev, int64_t deadline_ms,
                 struct sm_err *err) {
    int result = -1;
    struct run run = {.ctx = ctx, .ev = ev, .deadline_ms = deadline_ms};
    memset(&run.desc, 0, sizeof(run.desc));
    rot_log_context(ev->step, ev->secret_id);

    int pro = prologue(&run, err);
    if (pro != 0) {
        result = pro == 1 ? 0 : -1;
        goto out;
    }
    switch (ev->step) {
    case ROT_STEP_CREATE:
        result = create_secret(&run, err);
        break;
    case ROT_STEP_SET:
        result = set_secret(&run, err);
        break;
    case ROT_STEP_TEST:
        result = test_secret(&run, err);
        break;
    case ROT_STEP_FINISH:
        result = finish_secret(&run, err);
        break;
    }
out:
    /* The step and secret stay on later lines (the loop's post of this result) until the next
     * invocation sets or clears them. */
    secrets_description_clean_up(&run.desc);
    return result;
}
