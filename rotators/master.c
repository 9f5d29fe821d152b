#include "master.h"

#include "log.h"
#include "mem.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define INSTANCE_TAG "aws:rds:primaryDBInstanceArn"
#define CLUSTER_TAG "aws:rds:primaryDBClusterArn"

/* One resolution's inputs, borrowed. */
struct lookup {
    const struct rot_context *ctx;
    int64_t deadline_ms;
    const struct rot_secret *user;
    const struct rot_secret *master;
    const struct rot_master_place *place;
    char user_id[128];   /* the first DNS label of the user's host: its RDS identifier */
    char master_id[128]; /* the master's instance identifier, from RDS or its host */
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

static bool is_aurora_engine(const char *engine_value) {
    return engine_value != NULL && strncmp(engine_value, "aurora", 6) == 0;
}

/* RDS names a cluster's endpoints <cluster>.cluster-<id>..., <cluster>.cluster-ro-<id>... and
 * <name>.cluster-custom-<id>...; an instance's is <instance>.<id>.... */
static bool is_cluster_endpoint(const char *host) {
    const char *dot = strchr(host, '.');
    return dot != NULL && strncasecmp(dot + 1, "cluster-", 8) == 0;
}

bool rot_master_aurora_known(const struct rot_secret *user, const struct rot_secret *master,
                             const struct rot_master_place *place) {
    return is_aurora_engine(user->engine_value) || is_aurora_engine(master->engine_value) ||
           place->cluster[0] != '\0' || is_cluster_endpoint(master->host) ||
           is_cluster_endpoint(user->host);
}

static bool needs_rds(const struct rot_context *ctx, struct sm_err *err, const char *why) {
    if (rds_api_available(&ctx->rds)) {
        return true;
    }
    sm_err_set(err, ROT_ERR_ROTATION, "%s needs the RDS API, which is not configured here", why);
    return false;
}

/* --- the master secret ------------------------------------------------------------------------ */

/* Where the database an RDS-managed master's tag names is: engine, host and port from RDS, into
 * the master's credentials object json; place says what RDS called it. */
static int describe_managed(const struct rot_context *ctx, int64_t deadline_ms,
                            const char *master_arn, const struct secrets_description *desc,
                            cJSON *json, struct rot_master_place *place, struct sm_err *err) {
    int result = -1;
    struct rds_instance inst = {0};
    struct rds_cluster cluster = {0};
    const char *instance_arn = secrets_description_tag(desc, INSTANCE_TAG);
    const char *cluster_arn = secrets_description_tag(desc, CLUSTER_TAG);
    const char *engine, *host;
    int port;
    if (instance_arn != NULL) {
        if (rds_api_describe_instance(&ctx->rds, instance_arn, deadline_ms, &inst, err) != 0) {
            goto out;
        }
        engine = inst.engine, host = inst.address, port = inst.port;
        snprintf(place->instance, sizeof(place->instance), "%s", inst.identifier);
        if (inst.cluster_identifier != NULL) {
            snprintf(place->cluster, sizeof(place->cluster), "%s", inst.cluster_identifier);
        }
    } else {
        if (rds_api_describe_cluster(&ctx->rds, cluster_arn, deadline_ms, &cluster, err) != 0) {
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
    if (cJSON_AddStringToObject(json, "engine", engine_value_of(engine)) == NULL ||
        cJSON_AddStringToObject(json, "host", host) == NULL ||
        cJSON_AddNumberToObject(json, "port", port) == NULL) {
        sm_err_set(err, SM_ERR_NOMEM, "out of memory reading the master secret %s", master_arn);
        goto out;
    }
    result = 0;
out:
    rds_instance_clean_up(&inst);
    rds_cluster_clean_up(&cluster);
    return result;
}

/* An RDS-managed master secret (only username and password) made a secret of its own from the
 * database its tag names, validated like any other. Takes over credentials (sm_ memory). */
static int resolve_managed(const struct rot_context *ctx, int64_t deadline_ms,
                           const char *master_arn, char *credentials, size_t len,
                           struct rot_secret *master, struct rot_master_place *place,
                           struct sm_err *err) {
    int result = -1;
    struct secrets_description desc = {0};
    char *text = NULL;
    cJSON *json = cJSON_ParseWithLength(credentials, len);
    sm_free(credentials);
    if (json == NULL) {
        sm_err_set(err, SM_ERR_NOMEM, "out of memory reading the master secret %s", master_arn);
        goto out;
    }
    if (secrets_api_describe(&ctx->secrets, master_arn, deadline_ms, &desc, err) != 0) {
        sm_err_prefix(err, "reading the tags of the RDS-managed master secret %s", master_arn);
        goto out;
    }
    const char *instance_arn = secrets_description_tag(&desc, INSTANCE_TAG);
    const char *tag_arn =
        instance_arn != NULL ? instance_arn : secrets_description_tag(&desc, CLUSTER_TAG);
    if (tag_arn == NULL) {
        sm_err_set(err, ROT_ERR_SECRET_INVALID,
                   "the master secret %s holds only username and password, as an RDS-managed "
                   "secret does, but has neither the tag " INSTANCE_TAG " nor " CLUSTER_TAG
                   " that names its database; give it host, port and engine instead",
                   master_arn);
        goto out;
    }
    if (strlen(tag_arn) > 256) {
        sm_err_set(err, ROT_ERR_SECRET_INVALID,
                   "the master secret %s: the ARN in its tag %s exceeds 256 characters", master_arn,
                   instance_arn != NULL ? INSTANCE_TAG : CLUSTER_TAG);
        goto out;
    }
    if (!needs_rds(ctx, err, "an RDS-managed master secret")) {
        goto out;
    }
    if (describe_managed(ctx, deadline_ms, master_arn, &desc, json, place, err) != 0) {
        sm_err_prefix(err, "finding the database of the RDS-managed master secret %s", master_arn);
        goto out;
    }
    if ((text = cJSON_PrintUnformatted(json)) == NULL) {
        sm_err_set(err, SM_ERR_NOMEM, "out of memory reading the master secret %s", master_arn);
        goto out;
    }
    int rc = rot_secret_take(text, strlen(text), ctx->engines, master, err);
    text = NULL;
    if (rc != 0) {
        sm_err_prefix(err, "the RDS-managed master secret %s (engine from RDS)", master_arn);
        goto out;
    }
    result = 0;
out:
    cJSON_Delete(json);
    sm_free(text);
    secrets_description_clean_up(&desc);
    return result;
}

static int read_master(const struct rot_context *ctx, int64_t deadline_ms, const char *master_arn,
                       struct rot_secret *master, struct rot_master_place *place,
                       struct sm_err *err) {
    int result = -1;
    struct secrets_value value = {0};
    if (secrets_api_get_value(&ctx->secrets, master_arn, NULL, "AWSCURRENT", deadline_ms, &value,
                              err) != 0) {
        sm_err_prefix(err, "cannot read the master secret %s", master_arn);
        goto out;
    }
    if (value.secret_string == NULL) {
        sm_err_set(err, ROT_ERR_SECRET_INVALID, "the master secret %s has no SecretString",
                   master_arn);
        goto out;
    }
    char *text = value.secret_string;
    value.secret_string = NULL; /* taken over either way */
    if (rot_secret_is_bare_credentials(text, value.secret_string_len) == 1) {
        result = resolve_managed(ctx, deadline_ms, master_arn, text, value.secret_string_len,
                                 master, place, err);
    } else {
        result = rot_secret_take(text, value.secret_string_len, ctx->engines, master, err);
        if (result != 0) {
            sm_err_prefix(err, "the master secret %s", master_arn);
        }
    }
out:
    secrets_value_clean_up(&value);
    return result;
}

/* --- where the user is ------------------------------------------------------------------------ */

static int not_replica(const struct lookup *l, struct sm_err *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int not_replica(const struct lookup *l, struct sm_err *err, const char *fmt, ...) {
    char why[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    return sm_err_set(err, ROT_ERR_ROTATION,
                      "Current database host %s is not the same host as/rds replica of master %s "
                      "(%s)",
                      l->user->host, l->master->host, why);
}

/* The master's Aurora cluster into out: from RDS's description of the managed master, its
 * cluster endpoint's name, or its instance's DBClusterIdentifier. Returns 1, 0 when RDS says the
 * master's instance is in no cluster, or -1 with err. */
static int master_cluster(const struct lookup *l, char *out, size_t cap, struct sm_err *err) {
    int result = -1;
    struct rds_instance inst = {0};
    if (l->place->cluster[0] != '\0') {
        snprintf(out, cap, "%s", l->place->cluster);
    } else if (is_cluster_endpoint(l->master->host)) {
        first_label(l->master->host, out, cap);
    } else {
        if (rds_api_describe_instance(&l->ctx->rds, l->master_id, l->deadline_ms, &inst, err) !=
            0) {
            sm_err_prefix(err, "finding the Aurora cluster of master %s", l->master->host);
            goto out;
        }
        if (inst.cluster_identifier == NULL) {
            result = 0;
            goto out;
        }
        snprintf(out, cap, "%s", inst.cluster_identifier);
    }
    result = 1;
out:
    rds_instance_clean_up(&inst);
    return result;
}

/* Accepts the user's host when it is the reader endpoint of Aurora cluster id (the master's) or
 * one of its members that is not the writer. known: a cluster the caller already read, or NULL. */
static int check_aurora_reader(const struct lookup *l, const char *id,
                               const struct rds_cluster *known, struct sm_err *err) {
    int result = -1;
    struct rds_cluster read = {0};
    const struct rds_cluster *cluster = known;
    if (cluster == NULL || strcasecmp(identifier_of(cluster->identifier), id) != 0) {
        if (rds_api_describe_cluster(&l->ctx->rds, id, l->deadline_ms, &read, err) != 0) {
            sm_err_prefix(err, "reading the Aurora cluster %s of master %s", id, l->master->host);
            goto out;
        }
        cluster = &read;
    }
    bool reader = cluster->reader_endpoint != NULL &&
                  strcasecmp(cluster->reader_endpoint, l->user->host) == 0;
    for (size_t i = 0; !reader && i < cluster->n_members; i++) {
        const struct rds_cluster_member *m = &cluster->members[i];
        reader = m->instance_identifier != NULL && !m->is_writer &&
                 strcasecmp(m->instance_identifier, l->user_id) == 0;
    }
    if (!reader) {
        not_replica(l, err,
                    "it is neither the reader endpoint of Aurora cluster %s nor one of its reader "
                    "instances",
                    id);
        goto out;
    }
    SM_INFO("%s is a reader of Aurora cluster %s; the password is set on the writer", l->user->host,
            id);
    result = 0;
out:
    rds_cluster_clean_up(&read);
    return result;
}

/* RDS says the user's host is in an Aurora cluster (known: that cluster when already read): it
 * must be a reader of the master's. */
static int check_in_cluster(const struct lookup *l, const struct rds_cluster *known,
                            struct sm_err *err) {
    char id[128];
    int found = master_cluster(l, id, sizeof(id), err);
    if (found == 0) {
        return not_replica(l, err,
                           "it is in an Aurora cluster and the master's DB instance %s is not",
                           l->master_id);
    }
    return found < 0 ? -1 : check_aurora_reader(l, id, known, err);
}

/* RDS's answer about the user's host decides. A plain instance must be a read replica of the
 * master's; a cluster member, or an identifier that names a cluster rather than an instance, must
 * be a reader of the master's Aurora cluster. */
static int check_by_rds(const struct lookup *l, struct sm_err *err) {
    int result = -1;
    struct rds_instance inst = {0};
    struct rds_cluster cluster = {0};
    const struct rds_api *rds = &l->ctx->rds;
    if (rds_api_describe_instance(rds, l->user_id, l->deadline_ms, &inst, err) != 0) {
        if (!sm_err_is_aws(err, "DBInstanceNotFound")) {
            goto out;
        }
        if (rds_api_describe_cluster(rds, l->user_id, l->deadline_ms, &cluster, err) != 0) {
            if (sm_err_is_aws(err, "DBClusterNotFoundFault")) {
                not_replica(l, err, "RDS has no DB instance %s and no DB cluster of that name",
                            l->user_id);
            }
            goto out;
        }
        result = check_in_cluster(l, &cluster, err);
        goto out;
    }
    if (inst.cluster_identifier != NULL) {
        result = check_in_cluster(l, NULL, err);
        goto out;
    }
    if (inst.replica_source == NULL ||
        strcasecmp(identifier_of(inst.replica_source), l->master_id) != 0) {
        not_replica(l, err, "DB instance %s is not a read replica of %s", l->user_id, l->master_id);
        goto out;
    }
    SM_INFO("%s is a read replica of %s; the password is set on the master", l->user->host,
            l->master->host);
    result = 0;
out:
    rds_instance_clean_up(&inst);
    rds_cluster_clean_up(&cluster);
    return result;
}

/* The user's host differs from the master's: accepted only when RDS says it is a read replica of
 * the master's instance or a reader of the master's Aurora cluster (the templates' check). When
 * what is known says Aurora, the master's cluster is looked up first (no call about the user's
 * host); a master in no cluster leaves the decision to RDS's answer about the user's host. */
static int check_replica(struct lookup *l, struct sm_err *err) {
    unsigned char addr[sizeof(struct in6_addr)];
    if (inet_pton(AF_INET, l->user->host, addr) == 1 ||
        inet_pton(AF_INET6, l->user->host, addr) == 1) {
        return not_replica(l, err, "an IP address names no RDS instance");
    }
    if (!needs_rds(l->ctx, err, "a user on another host than its master")) {
        return -1;
    }
    first_label(l->user->host, l->user_id, sizeof(l->user_id));
    snprintf(l->master_id, sizeof(l->master_id), "%s", l->place->instance);
    if (l->master_id[0] == '\0') {
        first_label(l->master->host, l->master_id, sizeof(l->master_id));
    }
    if (rot_master_aurora_known(l->user, l->master, l->place)) {
        char id[128];
        int found = master_cluster(l, id, sizeof(id), err);
        if (found != 0) {
            return found < 0 ? -1 : check_aurora_reader(l, id, NULL, err);
        }
    }
    return check_by_rds(l, err);
}

int rot_master_resolve(const struct rot_context *ctx, const struct rot_secret *user,
                       int64_t deadline_ms, struct rot_secret *master, struct sm_err *err) {
    struct rot_master_place place = {{0}, {0}};
    if (user->masterarn == NULL) {
        return sm_err_set(err, ROT_ERR_SECRET_INVALID,
                          "masterarn key is missing from secret JSON (the strategies that set "
                          "the password through a master need the ARN of a superuser secret)");
    }
    if (read_master(ctx, deadline_ms, user->masterarn, master, &place, err) != 0) {
        return -1;
    }
    /* One engine plugin serves one family: postgres and aurora-postgresql are one, as are mysql,
     * aurora-mysql and mariadb; the values themselves may differ. */
    if (master->engine != user->engine) {
        return sm_err_set(err, ROT_ERR_ROTATION,
                          "the master secret %s is for a %s database, not %s", user->masterarn,
                          master->engine->display_name, user->engine->display_name);
    }
    if (strcasecmp(master->host, user->host) == 0) {
        return 0;
    }
    struct lookup l = {
        .ctx = ctx, .deadline_ms = deadline_ms, .user = user, .master = master, .place = &place};
    return check_replica(&l, err);
}
