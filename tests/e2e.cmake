# End-to-end rotation tests: real bootstrap, fake Lambda, local Secrets Manager, real databases.
sm_py_tests(${CMAKE_CURRENT_SOURCE_DIR}/e2e/test_postgres_rotation.py
            LABELS e2e FIXTURES postgres TIMEOUT 120)
sm_py_tests(${CMAKE_CURRENT_SOURCE_DIR}/e2e/test_mariadb_rotation.py
            LABELS e2e FIXTURES mariadb TIMEOUT 120)
sm_py_tests(${CMAKE_CURRENT_SOURCE_DIR}/e2e/test_fault_matrix.py
            LABELS e2e faults FIXTURES postgres mariadb TIMEOUT 900)
