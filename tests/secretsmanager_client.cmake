# The Secrets Manager client (runtime/secretsmanager.c): configuration and error-parser unit tests,
# wire-format tests against a canned responder, and behaviour tests against the local emulator
# tests/fakes/fake_secretsmanager.py (one emulator process per test, random port).
sm_c_tests(test_secretsmanager
           SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/client/test_secretsmanager.c
                   ${CMAKE_CURRENT_SOURCE_DIR}/fakes/fake_sm_process.c
           LABELS client)
# The SM_TEST names are read when configuring: configure again when the test file changes, so a
# new case is registered as its own ctest without a manual re-run of cmake.
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
             ${CMAKE_CURRENT_SOURCE_DIR}/client/test_secretsmanager.c)
