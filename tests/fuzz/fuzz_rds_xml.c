/*
 * Fuzz target: the RDS client's XML readers (runtime/rds.c over runtime/aws_query.c):
 * DescribeDBInstances and DescribeDBClusters answers and error bodies, as an RDS endpoint (or
 * something pretending to be one) could send them. The first input byte picks the reader.
 *
 * Invariants: no crash or sanitizer report; a reader either fails with SM_ERR_PROTOCOL or
 * SM_ERR_NOMEM, or returns fields that are NUL-terminated strings and a port in 0..65535;
 * cluster members are at most what the reader allows; the error reader's code holds only token
 * characters and its message no control character; nothing is left allocated.
 */
#include "aws_query.h"
#include "fuzz_common.h"
#include "rds_testing.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) {
        return 0;
    }
    int64_t live = sm_mem_live_count();
    char *xml = fuzz_copy(data + 1, size - 1, 0);
    struct sm_err err;
    switch (data[0] % 3) {
    case 0: {
        struct rds_instance i;
        if (rds_read_instances(xml, size - 1, &i, &err) != 0) {
            FUZZ_CHECK(err.code == SM_ERR_PROTOCOL || err.code == SM_ERR_NOMEM);
        }
        FUZZ_CHECK(i.port >= 0 && i.port <= 65535);
        FUZZ_CHECK(i.identifier == NULL || strlen(i.identifier) < AWS_QUERY_TEXT_MAX);
        rds_instance_clean_up(&i);
        break;
    }
    case 1: {
        struct rds_cluster c;
        if (rds_read_clusters(xml, size - 1, &c, &err) != 0) {
            FUZZ_CHECK(err.code == SM_ERR_PROTOCOL || err.code == SM_ERR_NOMEM);
        }
        FUZZ_CHECK(c.n_members <= 64);
        for (size_t k = 0; k < c.n_members; k++) {
            FUZZ_CHECK(c.members[k].instance_identifier == NULL ||
                       strlen(c.members[k].instance_identifier) < AWS_QUERY_TEXT_MAX);
        }
        rds_cluster_clean_up(&c);
        break;
    }
    default: {
        struct aws_error_fields f = {"", ""};
        if (aws_query_read_error(xml, size - 1, &f) == 0) {
            for (const char *p = f.code; *p != '\0'; p++) {
                FUZZ_CHECK((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                           (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-');
            }
            for (const char *p = f.message; *p != '\0'; p++) {
                FUZZ_CHECK((unsigned char)*p >= 0x20 && *p != 0x7f);
            }
        }
        break;
    }
    }
    free(xml);
    FUZZ_CHECK(sm_mem_live_count() == live);
    return 0;
}
