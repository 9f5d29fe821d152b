# The AWS client layer (runtime/aws.c) and the Secrets Manager client (runtime/secretsmanager.c):
# in process against a scripted transport and clock (unit), and over HTTP against the local
# emulator tests/fakes/fake_secretsmanager.py (client; one emulator process per test, random
# port).
sm_c_tests(test_aws SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_aws.c
                            ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_aws_config.c LABELS unit)
sm_c_tests(test_secretsmanager
           SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/client/test_secretsmanager.c
                   ${CMAKE_CURRENT_SOURCE_DIR}/fakes/fake_aws_process.c
           LABELS client)
