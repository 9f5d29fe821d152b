# Unit tests of the shared base (err, buf, mem, log, json).
sm_c_tests(test_base SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_base.c LABELS unit)
