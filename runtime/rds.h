/*
 * rds: the Amazon RDS client, for the two read operations a rotation needs: where a database is
 * (host, port, engine) and how instances relate (read replicas, Aurora cluster members).
 *
 * RDS speaks the Query protocol: a form-encoded POST (Action, Version=2014-10-31, parameters)
 * signed for service `rds` over the AWS layer (aws.h: signing, retries, deadlines, error
 * classes), answered in XML, errors included (<ErrorResponse><Error><Code>, <Message>), read by
 * aws_query.h's reader: namespaces by local name, no document type declaration, and only the
 * elements named below at their exact paths, so nesting a response adds (tags, security groups,
 * status infos) cannot be mistaken for a field.
 *
 * An AccessDenied answer gets the missing permission named in the message ("the function's role
 * needs rds:DescribeDBInstances"). Like secretsmanager.h, a const table (struct rds_ops) is the
 * seam the rotation steps use, implemented by the HTTP client here and by an in-process fake in
 * the tests.
 */
#ifndef SM_RDS_H
#define SM_RDS_H

#include "aws.h"
#include "err.h"

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One DB instance, as DescribeDBInstances says. Strings are owned (sm_free); NULL when absent. */
struct rds_instance {
    char *identifier;         /* DBInstanceIdentifier */
    char *engine;             /* Engine: postgres, mysql, mariadb, aurora-postgresql, ... */
    char *address;            /* Endpoint/Address */
    int port;                 /* Endpoint/Port; 0 when absent */
    char *cluster_identifier; /* DBClusterIdentifier (Aurora members) */
    char *replica_source;     /* ReadReplicaSourceDBInstanceIdentifier (read replicas) */
};

struct rds_cluster_member {
    char *instance_identifier; /* DBInstanceIdentifier */
    bool is_writer;            /* IsClusterWriter */
};

/* One DB cluster, as DescribeDBClusters says. */
struct rds_cluster {
    char *identifier;      /* DBClusterIdentifier */
    char *engine;          /* Engine */
    char *endpoint;        /* Endpoint: the writer's host name */
    char *reader_endpoint; /* ReaderEndpoint */
    int port;              /* Port; 0 when absent */
    struct rds_cluster_member *members;
    size_t n_members;
};

void rds_instance_clean_up(struct rds_instance *i);
void rds_cluster_clean_up(struct rds_cluster *c);

/* The operations a rotation uses. identifier is an instance or cluster identifier, or its ARN.
 * An unknown one is err->aws_type DBInstanceNotFound / DBClusterNotFoundFault. Each returns 0,
 * or -1 with err set; out is always safe to clean up. */
struct rds_ops {
    int (*describe_instance)(void *impl, const char *identifier, int64_t deadline_ms,
                             struct rds_instance *out, struct sm_err *err);
    int (*describe_cluster)(void *impl, const char *identifier, int64_t deadline_ms,
                            struct rds_cluster *out, struct sm_err *err);
};

/* The real client's table; impl is a struct aws_client bound with rds_client_init. */
extern const struct rds_ops rds_client_ops;

/* RDS as its callers hold it: a table and its state, one object, both borrowed. The zero value
 * means no RDS is configured (rds_api_available). */
struct rds_api {
    const struct rds_ops *ops;
    void *impl;
};

static inline bool rds_api_available(const struct rds_api *api) {
    return api->ops != NULL;
}

static inline int rds_api_describe_instance(const struct rds_api *api, const char *identifier,
                                            int64_t deadline_ms, struct rds_instance *out,
                                            struct sm_err *err) {
    assert(api->ops != NULL);
    return api->ops->describe_instance(api->impl, identifier, deadline_ms, out, err);
}

static inline int rds_api_describe_cluster(const struct rds_api *api, const char *identifier,
                                           int64_t deadline_ms, struct rds_cluster *out,
                                           struct sm_err *err) {
    assert(api->ops != NULL);
    return api->ops->describe_cluster(api->impl, identifier, deadline_ms, out, err);
}

/* The endpoint URL as the SDKs choose it: AWS_ENDPOINT_URL_RDS, else AWS_ENDPOINT_URL, else
 * https://rds[-fips].<region>.amazonaws.com. *out is the caller's (sm_free). */
int rds_endpoint_from_env(const struct aws_config *cfg, char **out, struct sm_err *err);

/* Binds c to RDS at endpoint (aws_client_init). */
int rds_client_init(struct aws_client *c, const struct aws_config *cfg, const char *endpoint,
                    struct http_client *http, struct sm_err *err);

#endif
