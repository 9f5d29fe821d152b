# The Amazon RDS emulator (tests/fakes/fake_rds.py: DescribeDBInstances / DescribeDBClusters over the
# Query protocol, on the shared server tests/fakes/aws_fake.py): tests of the fake itself, so the
# end-to-end tests that resolve RDS-managed master secrets and replicas run against a checked
# implementation.
sm_py_tests(${CMAKE_CURRENT_SOURCE_DIR}/fakes/test_fake_rds.py LABELS fakes TIMEOUT 60)
