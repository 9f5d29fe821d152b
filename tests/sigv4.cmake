# SigV4 (runtime/sigv4.c): one ctest per vector case of tests/data/sigv4 (AWS's suite: the 25
# cases without a query string) and tests/data/sigv4-secretsmanager (3 cases), plus the
# signing-key derivation.
sm_c_tests(test_sigv4 SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_sigv4.c LABELS unit sigv4)
