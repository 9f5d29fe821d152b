/*
 * fake_rds: an in-process RDS behind struct rds_ops (runtime/rds.h), for the unit tests of the
 * rotation steps' RDS paths (RDS-managed master secrets, read replicas, Aurora readers). The
 * network fake with AWS's XML shapes is fake_rds.py; this one only answers the two questions the
 * steps ask, from a table the test fills. Identifiers match case-insensitively, by identifier or
 * by ARN; an unknown one is DBInstanceNotFound / DBClusterNotFoundFault. One per process.
 */
#ifndef SM_FAKE_RDS_H
#define SM_FAKE_RDS_H

#include "rds.h"

#include <stdbool.h>

extern const struct rds_ops fake_rds_ops; /* impl: ignored (pass NULL) */

void fake_rds_reset(void);

/* An instance; cluster and replica_source may be NULL. */
void fake_rds_instance(const char *id, const char *engine, const char *address, int port,
                       const char *cluster, const char *replica_source);

/* A cluster; its members are the instances naming it (is_writer: writer, the others readers). */
void fake_rds_cluster(const char *id, const char *engine, const char *endpoint,
                      const char *reader_endpoint, int port, const char *writer);

/* The next count calls of operation ("DescribeDBInstances", "DescribeDBClusters", "*") fail with
 * code (Throttling, AccessDenied, ...). */
void fake_rds_fault(const char *operation, const char *code, int count);

/* Calls of operation so far (NULL: all). */
int fake_rds_calls(const char *operation);

#endif
