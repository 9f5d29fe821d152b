/*
 * The RDS client (runtime/rds.c) against the local RDS, tests/fakes/fake_rds.py, which verifies
 * SigV4 with its own implementation and answers in AWS's XML shapes (the XML readers alone:
 * tests/unit/test_rds_xml.c).
 */
#include "aws.h"
#include "fakes/fake_aws_process.h"
#include "harness.h"
#include "http.h"
#include "mem.h"
#include "rds_testing.h"

#include <stdlib.h>

#define AKID "AKIDRDSTEST000000001"
#define SECRET_KEY "rdsSecretKey/For+Tests0123456789abcdefgh"

/* ---- the client against the local RDS ---------------------------------------------------- */

struct env {
    struct fake_aws rds;
    struct aws_config cfg;
    char *endpoint;
    struct http_client http;
    struct aws_client c;
};

static void env_start(struct env *e) {
    struct sm_err err;
    memset(e, 0, sizeof(*e));
    fake_aws_start_rds(&e->rds, AKID, SECRET_KEY, NULL);
    setenv("AWS_REGION", "us-east-1", 1);
    setenv("AWS_ACCESS_KEY_ID", AKID, 1);
    setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY, 1);
    unsetenv("AWS_SESSION_TOKEN");
    unsetenv("AWS_ENDPOINT_URL");
    setenv("AWS_ENDPOINT_URL_RDS", e->rds.endpoint, 1);
    SM_ASSERT_OK(aws_config_from_env(&e->cfg, &err), err);
    SM_ASSERT_OK(rds_endpoint_from_env(&e->cfg, &e->endpoint, &err), err);
    SM_ASSERT_STR_EQ(e->endpoint, e->rds.endpoint);
    SM_ASSERT_OK(http_client_init(&e->http, &err), err);
    SM_ASSERT_OK(rds_client_init(&e->c, &e->cfg, e->endpoint, &e->http, &err), err);
    fake_aws_no_jitter(&e->c);
    cJSON_Delete(fake_aws_control(
        &e->rds, "POST", "/_fake/state",
        "{\"instances\":[{\"identifier\":\"pg-main\",\"engine\":\"postgres\",\"address\":"
        "\"pg-main.test\",\"port\":5432},{\"identifier\":\"pg-replica\",\"engine\":\"postgres\","
        "\"address\":\"pg-replica.test\",\"port\":5432,\"replica_source\":\"pg-main\"},"
        "{\"identifier\":\"aur-1\",\"cluster\":\"aur\",\"is_writer\":true},{\"identifier\":"
        "\"aur-2\",\"cluster\":\"aur\",\"is_writer\":false}],\"clusters\":[{\"identifier\":"
        "\"aur\",\"engine\":\"aurora-postgresql\",\"endpoint\":\"aur.cluster-x.test\","
        "\"reader_endpoint\":\"aur.cluster-ro-x.test\",\"port\":5432}]}"));
}

static void env_stop(struct env *e) {
    http_client_clean_up(&e->http);
    aws_config_clean_up(&e->cfg);
    sm_free(e->endpoint);
    fake_aws_stop(&e->rds);
}

SM_TEST(rds_client_describes_an_instance_by_id_and_by_arn) {
    struct env e;
    env_start(&e);
    const char *ids[] = {"pg-replica", "PG-Replica",
                         "arn:aws:rds:us-east-1:123456789012:db:pg-replica"};
    for (size_t k = 0; k < 3; k++) {
        struct rds_instance i;
        struct sm_err err;
        SM_ASSERT_OK(rds_describe_db_instance(&e.c, ids[k], 0, &i, &err), err);
        SM_ASSERT_STR_EQ(i.identifier, "pg-replica");
        SM_ASSERT_STR_EQ(i.address, "pg-replica.test");
        SM_ASSERT_STR_EQ(i.engine, "postgres");
        SM_ASSERT_INT_EQ(i.port, 5432);
        SM_ASSERT_STR_EQ(i.replica_source, "pg-main");
        rds_instance_clean_up(&i);
    }
    env_stop(&e);
}

SM_TEST(rds_client_describes_a_cluster_with_its_members) {
    struct env e;
    env_start(&e);
    struct rds_cluster c;
    struct sm_err err;
    SM_ASSERT_OK(rds_describe_db_cluster(&e.c, "arn:aws:rds:us-east-1:123456789012:cluster:aur", 0,
                                         &c, &err),
                 err);
    SM_ASSERT_STR_EQ(c.endpoint, "aur.cluster-x.test");
    SM_ASSERT_STR_EQ(c.reader_endpoint, "aur.cluster-ro-x.test");
    SM_ASSERT_STR_EQ(c.engine, "aurora-postgresql");
    SM_ASSERT_INT_EQ(c.n_members, 2);
    for (size_t k = 0; k < c.n_members; k++) {
        SM_ASSERT(c.members[k].is_writer ==
                  (strcmp(c.members[k].instance_identifier, "aur-1") == 0));
    }
    rds_cluster_clean_up(&c);
    env_stop(&e);
}

SM_TEST(rds_client_unknown_identifiers_are_aws_not_found_errors) {
    struct env e;
    env_start(&e);
    struct rds_instance i;
    struct rds_cluster c;
    struct sm_err err;
    SM_ASSERT_INT_EQ(rds_describe_db_instance(&e.c, "gone", 0, &i, &err), -1);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_AWS_CLIENT);
    SM_ASSERT_STR_EQ(sm_err_type(&err), "DBInstanceNotFound");
    SM_ASSERT_INT_EQ(err.http_status, 404);
    SM_ASSERT_STR_CONTAINS(err.msg, "DescribeDBInstances on DB instance gone failed");
    SM_ASSERT_INT_EQ(rds_describe_db_cluster(&e.c, "gone", 0, &c, &err), -1);
    SM_ASSERT_STR_EQ(sm_err_type(&err), "DBClusterNotFoundFault");
    rds_instance_clean_up(&i);
    rds_cluster_clean_up(&c);
    env_stop(&e);
}

SM_TEST(rds_client_retries_throttling_and_5xx) {
    struct env e;
    env_start(&e);
    cJSON_Delete(
        fake_aws_control(&e.rds, "POST", "/_fake/faults",
                         "[{\"operation\":\"DescribeDBInstances\",\"error\":\"Throttling\"},"
                         "{\"operation\":\"DescribeDBInstances\",\"error\":"
                         "\"InternalFailure\"}]"));
    struct rds_instance i;
    struct sm_err err;
    SM_ASSERT_OK(rds_describe_db_instance(&e.c, "pg-main", 0, &i, &err), err);
    SM_ASSERT_INT_EQ(e.c.calls, 3);
    SM_ASSERT_INT_EQ(fake_aws_wait_calls(&e.rds, "DescribeDBInstances", 3), 3);
    rds_instance_clean_up(&i);
    cJSON_Delete(fake_aws_control(&e.rds, "POST", "/_fake/faults",
                                  "{\"operation\":\"*\",\"error\":\"Throttling\",\"count\":-1}"));
    SM_ASSERT_INT_EQ(rds_describe_db_instance(&e.c, "pg-main", 0, &i, &err), -1);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_AWS_THROTTLED);
    SM_ASSERT_STR_CONTAINS(err.msg, "(after 3 attempts)");
    rds_instance_clean_up(&i);
    env_stop(&e);
}

SM_TEST(rds_client_access_denied_names_the_missing_permission) {
    struct env e;
    env_start(&e);
    cJSON_Delete(fake_aws_control(&e.rds, "POST", "/_fake/deny",
                                  "{\"actions\":[\"rds:DescribeDBInstances\","
                                  "\"rds:DescribeDBClusters\"]}"));
    struct rds_instance i;
    struct rds_cluster c;
    struct sm_err err;
    SM_ASSERT_INT_EQ(rds_describe_db_instance(&e.c, "pg-main", 0, &i, &err), -1);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_AWS_CLIENT);
    SM_ASSERT_STR_EQ(sm_err_type(&err), "AccessDenied");
    SM_ASSERT_STR_CONTAINS(err.msg, "the function's role needs rds:DescribeDBInstances");
    SM_ASSERT_INT_EQ(rds_describe_db_cluster(&e.c, "aur", 0, &c, &err), -1);
    SM_ASSERT_STR_CONTAINS(err.msg, "the function's role needs rds:DescribeDBClusters");
    SM_ASSERT_INT_EQ(e.c.calls, 2); /* not retried */
    rds_instance_clean_up(&i);
    rds_cluster_clean_up(&c);
    env_stop(&e);
}

SM_TEST(rds_client_bad_signature_is_an_auth_error) {
    struct env e;
    env_start(&e);
    sm_free(e.cfg.secret_access_key);
    e.cfg.secret_access_key = sm_strdup("not-the-key");
    struct rds_instance i;
    struct sm_err err;
    SM_ASSERT_INT_EQ(rds_describe_db_instance(&e.c, "pg-main", 0, &i, &err), -1);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_AWS_AUTH);
    SM_ASSERT_STR_NOT_CONTAINS(err.msg, "not-the-key");
    rds_instance_clean_up(&i);
    env_stop(&e);
}
