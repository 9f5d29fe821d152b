# MySQL/MariaDB: the dialect unit tests (no server), the throwaway MariaDB fixture
# (tests/scripts/mariadb.sh: a TLS instance and a plain one) and the engine conformance suite
# against it. A missing server binary fails
# mariadb_server_start: the integration tests are never skipped silently.
sm_c_tests(test_mysql_sql
           SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_mysql_sql.c
           LABELS unit)
# The dialect is the MySQL engine's private modules (rotators/engines/mysql_*.h).
target_include_directories(test_mysql_sql PRIVATE ${PROJECT_SOURCE_DIR}/rotators/engines)

add_test(NAME mariadb_server_start
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/scripts/mariadb.sh start ${SM_STATE_DIR}/mariadb)
set_tests_properties(mariadb_server_start PROPERTIES FIXTURES_SETUP mariadb LABELS integration
                     TIMEOUT 120)
add_test(NAME mariadb_server_stop
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/scripts/mariadb.sh stop ${SM_STATE_DIR}/mariadb)
set_tests_properties(mariadb_server_stop PROPERTIES FIXTURES_CLEANUP mariadb LABELS integration
                     TIMEOUT 60)

sm_db_server(mariadb ENGINE mariadb PREFIX MARIADB_)
# The MySQL engine's own integration tests run against MariaDB and MySQL: tests/mysql.cmake.
