#include "rds.h"
#include "rds_testing.h"

#include "aws_query.h"
#include "buf.h"
#include "mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define API_VERSION "2014-10-31"
#define MEMBERS_MAX 64

/* Keeps the first value of a field. Returns 0, or -1 when out of memory. */
static int keep(char **dst, const char *text) {
    if (*dst != NULL) {
        return 0;
    }
    *dst = sm_strdup(text);
    return *dst != NULL ? 0 : -1;
}

static int port_of(const char *text) {
    char *end = NULL;
    long v = strtol(text, &end, 10);
    return end != text && *end == '\0' && v > 0 && v <= 65535 ? (int)v : 0;
}

static int instance_field(void *ctx, const char *path, const char *text) {
    struct rds_instance *i = ctx;
    if (strcmp(path, "DBInstanceIdentifier") == 0) {
        return keep(&i->identifier, text);
    }
    if (strcmp(path, "Engine") == 0) {
        return keep(&i->engine, text);
    }
    if (strcmp(path, "Endpoint/Address") == 0) {
        return keep(&i->address, text);
    }
    if (strcmp(path, "Endpoint/Port") == 0 && i->port == 0) {
        i->port = port_of(text);
    } else if (strcmp(path, "DBClusterIdentifier") == 0) {
        return keep(&i->cluster_identifier, text);
    } else if (strcmp(path, "ReadReplicaSourceDBInstanceIdentifier") == 0) {
        return keep(&i->replica_source, text);
    }
    return 0;
}

#define MEMBER_PATH "DBClusterMembers/DBClusterMember"

static int cluster_enter(void *ctx, const char *path) {
    struct rds_cluster *c = ctx;
    if (strcmp(path, MEMBER_PATH) != 0 || c->n_members >= MEMBERS_MAX) {
        return 0;
    }
    struct rds_cluster_member *m = sm_realloc(c->members, (c->n_members + 1) * sizeof(*m));
    if (m == NULL) {
        return -1;
    }
    c->members = m;
    memset(&c->members[c->n_members++], 0, sizeof(*m));
    return 0;
}

static int cluster_field(void *ctx, const char *path, const char *text) {
    struct rds_cluster *c = ctx;
    if (strcmp(path, "DBClusterIdentifier") == 0) {
        return keep(&c->identifier, text);
    }
    if (strcmp(path, "Engine") == 0) {
        return keep(&c->engine, text);
    }
    if (strcmp(path, "Endpoint") == 0) {
        return keep(&c->endpoint, text);
    }
    if (strcmp(path, "ReaderEndpoint") == 0) {
        return keep(&c->reader_endpoint, text);
    }
    if (strcmp(path, "Port") == 0 && c->port == 0) {
        c->port = port_of(text);
        return 0;
    }
    if (c->n_members == 0) {
        return 0;
    }
    struct rds_cluster_member *m = &c->members[c->n_members - 1];
    if (strcmp(path, MEMBER_PATH "/DBInstanceIdentifier") == 0) {
        return keep(&m->instance_identifier, text);
    }
    if (strcmp(path, MEMBER_PATH "/IsClusterWriter") == 0) {
        m->is_writer = strcmp(text, "true") == 0;
    }
    return 0;
}

int rds_read_instances(const char *xml, size_t len, struct rds_instance *out, struct sm_err *err) {
    memset(out, 0, sizeof(*out));
    return aws_query_read_xml(xml, len, "DBInstance", "the DescribeDBInstances response", NULL,
                              instance_field, out, err);
}

int rds_read_clusters(const char *xml, size_t len, struct rds_cluster *out, struct sm_err *err) {
    memset(out, 0, sizeof(*out));
    return aws_query_read_xml(xml, len, "DBCluster", "the DescribeDBClusters response",
                              cluster_enter, cluster_field, out, err);
}

void rds_instance_clean_up(struct rds_instance *i) {
    if (i == NULL) {
        return;
    }
    sm_free(i->identifier);
    sm_free(i->engine);
    sm_free(i->address);
    sm_free(i->cluster_identifier);
    sm_free(i->replica_source);
    memset(i, 0, sizeof(*i));
}

void rds_cluster_clean_up(struct rds_cluster *c) {
    if (c == NULL) {
        return;
    }
    sm_free(c->identifier);
    sm_free(c->engine);
    sm_free(c->endpoint);
    sm_free(c->reader_endpoint);
    for (size_t i = 0; i < c->n_members; i++) {
        sm_free(c->members[i].instance_identifier);
    }
    sm_free(c->members);
    memset(c, 0, sizeof(*c));
}

/* ---- the client ------------------------------------------------------------------------------ */

const struct aws_service rds_service = {
    .name = "RDS",
    .signing_name = "rds",
    .content_type = "application/x-www-form-urlencoded; charset=utf-8",
    .target_prefix = NULL,
    .read_error = aws_query_read_error,
};

int rds_endpoint_from_env(const struct aws_config *cfg, char **out, struct sm_err *err) {
    static const char *const vars[] = {"AWS_ENDPOINT_URL_RDS", "AWS_ENDPOINT_URL", NULL};
    return aws_endpoint_from_env(vars, "rds", cfg->region, out, err);
}

int rds_client_init(struct aws_client *c, const struct aws_config *cfg, const char *endpoint,
                    struct http_client *http, struct sm_err *err) {
    return aws_client_init(c, &rds_service, cfg, endpoint, http, err);
}

/* One Describe call for one identifier: the answer's body in resp. */
static int describe(struct aws_client *c, const char *action, const char *param,
                    const char *identifier, const char *kind, const char *permission,
                    int64_t deadline_ms, struct http_response *resp, struct sm_err *err) {
    struct sm_buf body;
    sm_buf_init(&body, 4096);
    char resource[320];
    snprintf(resource, sizeof(resource), "%s %.256s", kind, identifier);
    int result = -1;
    if (sm_buf_appendf(&body, err, "Action=%s&Version=" API_VERSION, action) != 0 ||
        aws_query_append_param(&body, param, identifier, err) != 0 ||
        sm_buf_ensure(&body, err) != 0) {
        sm_err_prefix(err, "%s on %s", action, resource);
        goto out;
    }
    struct aws_request req = {
        .operation = action, .resource = resource, .body = body.data, .len = body.len};
    if (aws_send(c, &req, deadline_ms, resp, err) != 0) {
        if (sm_err_is_aws(err, "AccessDenied") || sm_err_is_aws(err, "AccessDeniedException")) {
            size_t n = strlen(err->msg);
            snprintf(err->msg + n, sizeof(err->msg) - n,
                     " (the function's role needs %s; see README, IAM)", permission);
        }
        goto out;
    }
    result = 0;
out:
    sm_buf_clean_up(&body);
    return result;
}

int rds_describe_db_instance(struct aws_client *c, const char *identifier, int64_t deadline_ms,
                             struct rds_instance *out, struct sm_err *err) {
    struct http_response resp;
    http_response_init(&resp, AWS_LIMIT_RESPONSE);
    memset(out, 0, sizeof(*out));
    int rc = describe(c, "DescribeDBInstances", "DBInstanceIdentifier", identifier, "DB instance",
                      "rds:DescribeDBInstances", deadline_ms, &resp, err);
    if (rc == 0) {
        rc = rds_read_instances(resp.body.data, resp.body.len, out, err);
        if (rc == 0 && out->identifier == NULL) {
            rc = sm_err_set(err, SM_ERR_PROTOCOL,
                            "DescribeDBInstances on DB instance %.256s: the answer names no "
                            "instance",
                            identifier);
        }
    }
    http_response_clean_up(&resp);
    return rc;
}

int rds_describe_db_cluster(struct aws_client *c, const char *identifier, int64_t deadline_ms,
                            struct rds_cluster *out, struct sm_err *err) {
    struct http_response resp;
    http_response_init(&resp, AWS_LIMIT_RESPONSE);
    memset(out, 0, sizeof(*out));
    int rc = describe(c, "DescribeDBClusters", "DBClusterIdentifier", identifier, "DB cluster",
                      "rds:DescribeDBClusters", deadline_ms, &resp, err);
    if (rc == 0) {
        rc = rds_read_clusters(resp.body.data, resp.body.len, out, err);
        if (rc == 0 && out->identifier == NULL) {
            rc = sm_err_set(err, SM_ERR_PROTOCOL,
                            "DescribeDBClusters on DB cluster %.256s: the answer names no cluster",
                            identifier);
        }
    }
    http_response_clean_up(&resp);
    return rc;
}

static int ops_describe_instance(void *impl, const char *identifier, int64_t deadline_ms,
                                 struct rds_instance *out, struct sm_err *err) {
    return rds_describe_db_instance(impl, identifier, deadline_ms, out, err);
}

static int ops_describe_cluster(void *impl, const char *identifier, int64_t deadline_ms,
                                struct rds_cluster *out, struct sm_err *err) {
    return rds_describe_db_cluster(impl, identifier, deadline_ms, out, err);
}

const struct rds_ops rds_client_ops = {
    .describe_instance = ops_describe_instance,
    .describe_cluster = ops_describe_cluster,
};
