# The credential chain for a shell (runtime/credentials.h, creds_*.c, sts.c): the files, the
# environment and credential_process in process, and the network sources against a scripted
# world (tests/fakes/fake_creds.c) (unit); each source against the local fakes of STS, instance
# metadata and the container endpoint, then a signed call to the local Secrets Manager with what
# it resolved (client).
sm_c_tests(test_creds
           SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_creds_files.c
                   ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_creds_http.c
                   ${CMAKE_CURRENT_SOURCE_DIR}/fakes/fake_creds.c
           LABELS unit)
# The fakes the client tests run against: STS (tests/fakes/fake_sts.py), instance metadata
# (fake_imds.py) and the container endpoint (fake_container_creds.py), on the shared server.
sm_py_tests(${CMAKE_CURRENT_SOURCE_DIR}/fakes/test_fake_credentials.py LABELS fakes TIMEOUT 60)
sm_c_tests(test_credentials
           SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/client/test_credentials.c
                   ${CMAKE_CURRENT_SOURCE_DIR}/fakes/fake_aws_process.c
                   ${CMAKE_CURRENT_SOURCE_DIR}/fakes/fake_creds.c
           LABELS client)
