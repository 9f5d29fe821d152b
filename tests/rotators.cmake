# Rotation layer unit tests (parsers, strategy, config) and the fake engine shared by step tests.
add_library(smfakeengine STATIC ${CMAKE_CURRENT_SOURCE_DIR}/fakes/fake_engine.c)
target_include_directories(smfakeengine PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/fakes)
target_link_libraries(smfakeengine PUBLIC smrotators)

sm_c_tests(test_rotators SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_rotators.c
           LIBS smfakeengine LABELS unit)

# The steps against the local Secrets Manager emulator with the in-memory engine.
sm_c_tests(test_rotation_steps
           SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_rotation_steps.c
                   ${CMAKE_CURRENT_SOURCE_DIR}/fakes/fake_sm_process.c
           LIBS smfakeengine LABELS unit)
