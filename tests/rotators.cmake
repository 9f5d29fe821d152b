# Rotation layer unit tests (parsers, strategy, config) and the in-process fakes the step tests
# run against: an engine (fake_engine.c) and Secrets Manager (fake_secrets.c).
add_library(smfakes STATIC ${CMAKE_CURRENT_SOURCE_DIR}/fakes/fake_engine.c
                           ${CMAKE_CURRENT_SOURCE_DIR}/fakes/fake_secrets.c
                           ${CMAKE_CURRENT_SOURCE_DIR}/fakes/fake_rds.c)
target_include_directories(smfakes PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/fakes)
target_link_libraries(smfakes PUBLIC smharness smrotators)

sm_c_tests(test_rotators SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_rotators.c
           LIBS smfakes LABELS unit)

# The steps in process, against the fake Secrets Manager and the fake engine.
sm_c_tests(test_rotation_steps SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_rotation_steps.c
           LIBS smfakes LABELS unit)

# The connection policy (rotators/db_connect.h) against a scripted engine, and the engines'
# settings and static properties.
sm_c_tests(test_db_connect SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_db_connect.c LABELS unit)

# The preflight check in process: every healthy setup and every broken one, against the fakes.
sm_c_tests(test_check SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_check.c LIBS smfakes
           LABELS unit)
