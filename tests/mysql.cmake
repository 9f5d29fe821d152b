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

# Every case of test_engine_mysql.c (built by tests/mariadb.cmake) that talks to a server also runs
# against MySQL, as mysql9_<rest of its name>, with SMR_MYSQL_SERVER=mysql. Not twinned: the cases
# that need no server, and the MariaDB-only ones (ed25519, MariaDB's grammar and SHOW GRANTS
# shapes), whose MySQL counterparts are in test_engine_mysql9.c.
set(SM_MYSQL_NOT_TWINNED
    mysql_engine_serves_mysql_aurora_and_mariadb_values
    mysql_username_limit_defaults_and_reads_env
    mysql_init_rejects_bad_username_character_limit
    mysql_init_rejects_missing_plugin_dir
    mysql_connect_closed_port_is_db_unreachable
    mysql_connect_silent_listener_fails_within_the_timeout
    mysql_connect_timeout_is_capped_by_the_deadline
    mysql_mariadb_has_no_replace_clause_so_none_is_sent
    mysql_ed25519_user_rotates_and_keeps_its_plugin
    mysql_plugin_dir_env_is_used_for_auth_plugins
    mysql_sync_keeps_ed25519_plugin_for_the_clone
    mysql_sync_clones_non_percent_host_with_grant_option_tls_and_roles)
set(SM_MYSQL_ENV "${SM_TEST_ENV};SMR_MYSQL_SERVER=mysql")
file(READ ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_engine_mysql.c text)
string(REGEX MATCHALL "SM_TEST\\((mysql_[a-z0-9_]+)\\)" found "${text}")
foreach(m IN LISTS found)
  string(REGEX REPLACE "SM_TEST\\((mysql_[a-z0-9_]+)\\)" "\\1" case "${m}")
  if(case IN_LIST SM_MYSQL_NOT_TWINNED)
    continue()
  endif()
  string(REGEX REPLACE "^mysql_" "mysql9_" name "${case}")
  add_test(NAME ${name} COMMAND test_engine_mysql ${case})
  set_tests_properties(${name} PROPERTIES LABELS integration TIMEOUT 120 FIXTURES_REQUIRED mysql
                       ENVIRONMENT "${SM_MYSQL_ENV}")
  sm_valgrind_twin(${name} test_engine_mysql integration mysql "${SM_MYSQL_ENV}" ${case})
endforeach()
# Sets the server's global sql_mode for a moment (see tests/mariadb.cmake).
set_tests_properties(mysql9_set_own_password_under_no_backslash_escapes PROPERTIES RUN_SERIAL TRUE)

# What only MySQL has: caching_sha2_password and sha256_password with and without TLS,
# password_require_current, roles, dynamic privileges, partial revokes.
sm_c_tests(test_engine_mysql9
           SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_engine_mysql9.c
           LABELS integration
           FIXTURES mysql)
# Turns the global partial_revokes on for a moment.
set_tests_properties(mysql9_partial_revokes_are_copied_and_resynchronised PROPERTIES
                     RUN_SERIAL TRUE)
