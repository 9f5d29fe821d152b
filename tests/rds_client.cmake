# The RDS client (runtime/rds.c): its XML readers in process (unit), and the client against the
# local RDS tests/fakes/fake_rds.py (client; one fake process per test, random port).
sm_c_tests(test_rds_xml SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_rds_xml.c LABELS unit)
sm_c_tests(test_rds
           SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/client/test_rds.c
                   ${CMAKE_CURRENT_SOURCE_DIR}/fakes/fake_aws_process.c
           LABELS client)
