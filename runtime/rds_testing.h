/*
 * rds_testing: the RDS client's pieces behind rds_client_ops, for tests and the fuzz target. Only
 * rds.c, which defines them, and tests include it.
 */
#ifndef SM_RDS_TESTING_H
#define SM_RDS_TESTING_H

#include "rds.h"

extern const struct aws_service rds_service;

/* DescribeDBInstances / DescribeDBClusters for one identifier (what rds_client_ops calls). */
int rds_describe_db_instance(struct aws_client *c, const char *identifier, int64_t deadline_ms,
                             struct rds_instance *out, struct sm_err *err);
int rds_describe_db_cluster(struct aws_client *c, const char *identifier, int64_t deadline_ms,
                            struct rds_cluster *out, struct sm_err *err);

/* The XML readers. Each reads the first record
 * of a response body (len bytes) into out. Returns 0; SM_ERR_PROTOCOL when the body is not
 * well-formed XML, holds a document type declaration or holds no record; SM_ERR_NOMEM. */
int rds_read_instances(const char *xml, size_t len, struct rds_instance *out, struct sm_err *err);
int rds_read_clusters(const char *xml, size_t len, struct rds_cluster *out, struct sm_err *err);

#endif
