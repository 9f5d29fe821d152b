/* The RDS client's XML readers (runtime/rds.c), in process: fields only at their exact paths,
 * namespaces by local name, no document type declarations. */
#include "aws.h"
#include "aws_query.h"
#include "harness.h"
#include "rds_testing.h"

/* ---- the XML readers ------------------------------------------------------------------------ */

#define NS "xmlns=\"http://rds.amazonaws.com/doc/2014-10-31/\""

SM_TEST(rds_read_instance_takes_fields_at_their_paths_only) {
    /* Nested elements with the same local names (a tag called Engine, a nested Endpoint, a
     * second DBInstance) must not be mistaken for the fields. */
    const char *xml =
        "<DescribeDBInstancesResponse " NS "><DescribeDBInstancesResult><DBInstances>"
        "<DBInstance><TagList><Tag><Key>Engine</Key><Value>evil</Value></Tag></TagList>"
        "<DBSubnetGroup><Subnets><Subnet><SubnetAvailabilityZone><Name>az</Name>"
        "</SubnetAvailabilityZone></Subnet></Subnets></DBSubnetGroup>"
        "<DBInstanceIdentifier>pg-replica</DBInstanceIdentifier><Engine>postgres</Engine>"
        "<Endpoint><Address>pg-replica.abc.rds.amazonaws.com</Address><Port>5433</Port>"
        "<HostedZoneId>Z2R2ITUGPM61AM</HostedZoneId></Endpoint>"
        "<ReadReplicaSourceDBInstanceIdentifier>pg-main</ReadReplicaSourceDBInstanceIdentifier>"
        "<ReadReplicaDBInstanceIdentifiers/></DBInstance>"
        "<DBInstance><DBInstanceIdentifier>second</DBInstanceIdentifier></DBInstance>"
        "</DBInstances></DescribeDBInstancesResult></DescribeDBInstancesResponse>";
    struct rds_instance i;
    struct sm_err err;
    SM_ASSERT_OK(rds_read_instances(xml, strlen(xml), &i, &err), err);
    SM_ASSERT_STR_EQ(i.identifier, "pg-replica");
    SM_ASSERT_STR_EQ(i.engine, "postgres");
    SM_ASSERT_STR_EQ(i.address, "pg-replica.abc.rds.amazonaws.com");
    SM_ASSERT_INT_EQ(i.port, 5433);
    SM_ASSERT_STR_EQ(i.replica_source, "pg-main");
    SM_ASSERT(i.cluster_identifier == NULL);
    rds_instance_clean_up(&i);
}

SM_TEST(rds_read_cluster_members_and_plain_string_endpoint) {
    const char *xml =
        "<DescribeDBClustersResponse " NS "><DescribeDBClustersResult><DBClusters><DBCluster>"
        "<StatusInfos><Status>active</Status></StatusInfos><Status>available</Status>"
        "<DBClusterIdentifier>aur</DBClusterIdentifier><Engine>aurora-postgresql</Engine>"
        "<Endpoint>aur.cluster-abc.rds.amazonaws.com</Endpoint>"
        "<ReaderEndpoint>aur.cluster-ro-abc.rds.amazonaws.com</ReaderEndpoint><Port>5432</Port>"
        "<DBClusterMembers><DBClusterMember><DBInstanceIdentifier>aur-1</DBInstanceIdentifier>"
        "<IsClusterWriter>true</IsClusterWriter></DBClusterMember><DBClusterMember>"
        "<DBInstanceIdentifier>aur-2</DBInstanceIdentifier><IsClusterWriter>false"
        "</IsClusterWriter></DBClusterMember></DBClusterMembers></DBCluster></DBClusters>"
        "</DescribeDBClustersResult></DescribeDBClustersResponse>";
    struct rds_cluster c;
    struct sm_err err;
    SM_ASSERT_OK(rds_read_clusters(xml, strlen(xml), &c, &err), err);
    SM_ASSERT_STR_EQ(c.identifier, "aur");
    SM_ASSERT_STR_EQ(c.endpoint, "aur.cluster-abc.rds.amazonaws.com");
    SM_ASSERT_STR_EQ(c.reader_endpoint, "aur.cluster-ro-abc.rds.amazonaws.com");
    SM_ASSERT_INT_EQ(c.port, 5432);
    SM_ASSERT_INT_EQ(c.n_members, 2);
    SM_ASSERT_STR_EQ(c.members[0].instance_identifier, "aur-1");
    SM_ASSERT(c.members[0].is_writer);
    SM_ASSERT_STR_EQ(c.members[1].instance_identifier, "aur-2");
    SM_ASSERT(!c.members[1].is_writer);
    rds_cluster_clean_up(&c);
}

SM_TEST(rds_read_refuses_doctype_malformed_and_empty_answers) {
    const char *bad[] = {
        "<!DOCTYPE x [<!ENTITY e \"boom\">]><DBInstance><Engine>&e;</Engine></DBInstance>",
        "<DBInstance><Engine>postgres</Engine>",
        "<DescribeDBInstancesResponse><DescribeDBInstancesResult><DBInstances/>"
        "</DescribeDBInstancesResult></DescribeDBInstancesResponse>",
        "",
    };
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        struct rds_instance i;
        struct sm_err err;
        SM_ASSERT_INT_EQ(rds_read_instances(bad[k], strlen(bad[k]), &i, &err), -1);
        SM_ASSERT_CODE_EQ(err.code, SM_ERR_PROTOCOL);
        rds_instance_clean_up(&i);
    }
}

SM_TEST(rds_read_error_code_and_message) {
    const char *xml = "<ErrorResponse " NS "><Error><Type>Sender</Type><Code>DBInstanceNotFound"
                      "</Code><Message>DBInstance gone\nnot found.</Message></Error>"
                      "<RequestId>r</RequestId></ErrorResponse>";
    struct aws_error_fields f = {"", ""};
    SM_ASSERT_INT_EQ(aws_query_read_error(xml, strlen(xml), &f), 0);
    SM_ASSERT_STR_EQ(f.code, "DBInstanceNotFound");
    SM_ASSERT_STR_EQ(f.message, "DBInstance gone not found.");
    struct aws_error_fields html = {"", ""};
    SM_ASSERT_INT_EQ(aws_query_read_error("<html>proxy</html>", 18, &html), 0);
    SM_ASSERT_STR_EQ(html.code, "");
}
