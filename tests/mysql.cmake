# MySQL 9.7: the throwaway server fixture (tests/scripts/mysql.sh: MySQL from Debian's unstable
# suite in a root of its own, built once outside the clone; a TLS instance and a plain one), every
# server case of the engine's integration tests against it as well as against MariaDB, and the
# MySQL-only cases. A root that cannot be built, or a server that does not start, fails
# mysql_server_start: the tests are never skipped silently.
add_test(NAME mysql_server_start
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/scripts/mysql.sh start ${SM_STATE_DIR}/mysql)
# The first run builds the root (debootstrap and two packages from the archive: about a minute).
set_tests_properties(mysql_server_start PROPERTIES FIXTURES_SETUP mysql LABELS integration
                     TIMEOUT 900)
add_test(NAME mysql_server_stop
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/scripts/mysql.sh stop ${SM_STATE_DIR}/mysql)
set_tests_properties(mysql_server_stop PROPERTIES FIXTURES_CLEANUP mysql LABELS integration
                     TIMEOUT 60)

# The engine conformance suite against MySQL (mysql_engine_*; tests/CMakeLists.txt sm_db_server).
sm_db_server(mysql ENGINE mysql PREFIX MYSQL_)

# The MySQL engine's own integration tests: test_engine_mysql.c against both servers (its
# SERVER_<case> as mariadb_<case> and mysql_<case>), test_engine_mysql9.c (what only MySQL has)
# against MySQL.
sm_c_tests(test_engine_mysql
           SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_engine_mysql.c
                   ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_engine_mysql9.c
           LIBS smdbtest
           LABELS integration
           SERVERS mariadb mysql)
# These change a server's global settings for a moment (sql_mode, which every new session
# inherits; partial_revokes): they must not overlap any other test on that server. Valgrind twins, which hold the setting for seconds, get RUN_SERIAL too
# (cmake/valgrind.cmake copies it). tests/lib/db.py's admin sessions set their own sql_mode.
set_tests_properties(mariadb_set_own_password_under_no_backslash_escapes
                     mysql_set_own_password_under_no_backslash_escapes
                     mysql_partial_revokes_are_copied_and_resynchronised
                     PROPERTIES RUN_SERIAL TRUE)
