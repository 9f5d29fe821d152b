# The Secrets Manager client (runtime/secretsmanager.c): configuration and error-parser unit tests,
# wire-format tests against a canned responder, and behaviour tests against the local emulator
# tests/fakes/fake_secretsmanager.py (one emulator process per test, random port).
sm_c_tests(test_secretsmanager
           SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_secretsmanager.c
                   ${CMAKE_CURRENT_SOURCE_DIR}/fakes/fake_sm_process.c
           LABELS unit secretsmanager)
