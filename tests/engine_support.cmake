# What the database engines share (runtime/str.h, runtime/paths.h, rotators/db_tls.h): pure unit
# tests, no server.
sm_c_tests(test_engine_support SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_engine_support.c
           LABELS unit)
