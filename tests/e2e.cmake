# End-to-end rotation tests: real bootstrap, fake Lambda, local Secrets Manager, real databases.
# Every one of them also feeds the suite-wide secret hygiene check (fixture `hygiene`):
# hygiene_collection_starts_empty runs first, hygiene_no_secret_in_any_output after them all.
sm_py_tests(${CMAKE_CURRENT_SOURCE_DIR}/e2e/test_postgres_rotation.py
            LABELS e2e FIXTURES postgres hygiene TIMEOUT 120)
sm_py_tests(${CMAKE_CURRENT_SOURCE_DIR}/e2e/test_mariadb_rotation.py
            LABELS e2e FIXTURES mariadb hygiene TIMEOUT 120)
sm_py_tests(${CMAKE_CURRENT_SOURCE_DIR}/e2e/test_fault_matrix.py
            LABELS e2e faults FIXTURES postgres mariadb hygiene TIMEOUT 900)
# RDS-managed masters, read replicas, Aurora readers and Handler auto: host names of their own
# in /etc/hosts (tests/e2e/hosts.py, root needed), the fake RDS beside the Secrets Manager one.
sm_py_tests(${CMAKE_CURRENT_SOURCE_DIR}/e2e/test_rds_masters.py
            LABELS e2e FIXTURES postgres mariadb hygiene TIMEOUT 120)
# AWS calls through HTTP(S)_PROXY, never the Runtime API; NO_PROXY (tests/lib/egress_proxy.py).
sm_py_tests(${CMAKE_CURRENT_SOURCE_DIR}/e2e/test_egress_proxy.py
            LABELS e2e FIXTURES postgres hygiene TIMEOUT 120)
sm_py_tests(${CMAKE_CURRENT_SOURCE_DIR}/e2e/check_hygiene.py LABELS e2e hygiene)
sm_py_tests(${CMAKE_CURRENT_SOURCE_DIR}/e2e/test_bad_input.py
            LABELS e2e FIXTURES postgres hygiene TIMEOUT 300)

# Valgrind twins of end-to-end cases (SM_VALGRIND=ON): the real bootstrap runs under memcheck
# through whole rotations of both engines and strategies and through bad input; any memcheck
# error or definite leak fails the case (tests/lib/stack.py).
if(SM_VALGRIND)
  set(SM_E2E_VALGRIND_CASES
      "test_postgres_rotation.py:rotation_pg_full_rotation_moves_labels_and_password:postgres"
      "test_postgres_rotation.py:rotation_pg_multi_user_alternates_and_keeps_previous_working:postgres"
      "test_postgres_rotation.py:rotation_pg_no_working_credentials_fails_clearly:postgres"
      "test_mariadb_rotation.py:rotation_mysql_full_rotation_moves_labels_and_password:mariadb"
      "test_mariadb_rotation.py:rotation_mysql_multi_user_alternates_and_keeps_previous_working:mariadb"
      "test_mariadb_rotation.py:rotation_mysql_require_ssl_user_rotates_over_tls:mariadb"
      "test_bad_input.py:bad_input_malformed_events_get_clear_errors:postgres"
      "test_bad_input.py:bad_input_broken_secrets_fail_create_secret_clearly:postgres")
  foreach(entry IN LISTS SM_E2E_VALGRIND_CASES)
    string(REPLACE ":" ";" parts "${entry}")
    list(GET parts 0 script)
    list(GET parts 1 name)
    list(GET parts 2 fixture)
    add_test(NAME valgrind_${name} COMMAND ${SM_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/e2e/${script} ${name})
    set_tests_properties(valgrind_${name} PROPERTIES LABELS "valgrind;e2e" TIMEOUT 600
                         FIXTURES_REQUIRED "${fixture};hygiene"
                         ENVIRONMENT "${SM_TEST_ENV};SMR_BOOTSTRAP_VALGRIND=1")
  endforeach()
endif()
set_tests_properties(hygiene_collection_starts_empty PROPERTIES FIXTURES_SETUP hygiene
                     FIXTURES_REQUIRED "")
set_tests_properties(hygiene_no_secret_in_any_output hygiene_every_metrics_object_follows_emf
                     PROPERTIES FIXTURES_CLEANUP hygiene FIXTURES_REQUIRED "")
