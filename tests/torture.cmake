# Allocation-failure walks (tests/torture/test_torture.c): only in SM_TORTURE builds, where
# sm_mem_fail_at makes the Nth allocation fail. Label `torture`.
#
#   cmake -S . -B build-torture -DSM_TORTURE=ON && cmake --build build-torture -j2
#   ctest --test-dir build-torture -L torture -j2
if(SM_TORTURE)
  sm_c_tests(test_torture
             SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/torture/test_torture.c
                     ${CMAKE_CURRENT_SOURCE_DIR}/fakes/fake_aws_process.c
                     ${CMAKE_CURRENT_SOURCE_DIR}/fakes/fake_creds.c
             LIBS smfakes LABELS torture)
  foreach(t torture_rotation_single_user_all_steps torture_rotation_alternating_users_all_steps
            torture_secretsmanager_read_operations torture_secretsmanager_write_operations)
    set_tests_properties(${t} PROPERTIES TIMEOUT 900)
  endforeach()
endif()

# Wiping proof (tests/torture/test_wipe.c): the checking allocator (quarantine of wiped freed blocks)
# exists in SM_TORTURE builds only. Labels `torture` and `wipe`; the PostgreSQL case needs the
# `postgres` fixture (tests/postgres.cmake), which ctest starts on demand.
if(SM_TORTURE)
  sm_c_tests(test_wipe
             SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/torture/test_wipe.c
                     ${CMAKE_CURRENT_SOURCE_DIR}/fakes/fake_aws_process.c
             LIBS smfakes LABELS torture wipe ENVIRONMENT LD_BIND_NOW=1)
  # No lazy symbol resolution: it saves the vector registers on the stack, where the whole-process
  # scan would find whatever bytes they last held (see the comment at the top of test_wipe.c).
  target_link_options(test_wipe PRIVATE -Wl,-z,now)
  set_tests_properties(wipe_postgres_login_and_password_change_leave_no_password_behind
                       PROPERTIES FIXTURES_REQUIRED postgres LABELS "torture;wipe;integration")
endif()
