# End-to-end rotation tests: real bootstrap, fake Lambda, local Secrets Manager, real databases.
# Every one of them also feeds the suite-wide secret hygiene check (fixture `hygiene`):
# hygiene_collection_starts_empty runs first, hygiene_no_secret_in_any_output after them all.
sm_py_tests(${CMAKE_CURRENT_SOURCE_DIR}/e2e/test_postgres_rotation.py
            LABELS e2e FIXTURES postgres hygiene TIMEOUT 120)
sm_py_tests(${CMAKE_CURRENT_SOURCE_DIR}/e2e/test_mariadb_rotation.py
            LABELS e2e FIXTURES mariadb hygiene TIMEOUT 120)
sm_py_tests(${CMAKE_CURRENT_SOURCE_DIR}/e2e/test_fault_matrix.py
            LABELS e2e faults FIXTURES postgres mariadb hygiene TIMEOUT 900)
sm_py_tests(${CMAKE_CURRENT_SOURCE_DIR}/e2e/check_hygiene.py LABELS e2e hygiene)
sm_py_tests(${CMAKE_CURRENT_SOURCE_DIR}/e2e/test_bad_input.py
            LABELS e2e FIXTURES postgres hygiene TIMEOUT 300)
set_tests_properties(hygiene_collection_starts_empty PROPERTIES FIXTURES_SETUP hygiene
                     FIXTURES_REQUIRED "")
set_tests_properties(hygiene_no_secret_in_any_output PROPERTIES FIXTURES_CLEANUP hygiene
                     FIXTURES_REQUIRED "")
