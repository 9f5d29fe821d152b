# MySQL/MariaDB: the dialect unit tests (no server), the throwaway MariaDB fixture
# (tests/scripts/mariadb.sh: a TLS instance and a plain one), the engine conformance suite against
# it and the MySQL engine's own integration tests. A missing server binary fails
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
sm_c_tests(test_engine_mysql
           SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_engine_mysql.c
           LIBS smdbtest
           LABELS integration
           FIXTURES mariadb
           ENVIRONMENT ${SM_DB_ENV_mariadb})
# Changes the server's global sql_mode for a moment (every new session inherits it): must not
# overlap any other test. Its valgrind twin, which holds the setting for seconds, gets RUN_SERIAL
# too (cmake/valgrind.cmake copies it). tests/lib/db.py's admin sessions set their own sql_mode.
set_tests_properties(mysql_set_own_password_under_no_backslash_escapes PROPERTIES RUN_SERIAL TRUE)
