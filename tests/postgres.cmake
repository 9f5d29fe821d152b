# PostgreSQL: the sync plan's unit tests (no server), the throwaway server fixture
# (tests/scripts/postgres.sh), the engine conformance suite against it and the PostgreSQL engine's
# own integration tests. A missing server binary fails postgres_server_start: the integration
# tests are never skipped silently.
sm_c_tests(test_postgres_sql
           SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_postgres_sql.c
           LABELS unit)
# The sync's plan is the PostgreSQL engine's private module (rotators/engines/postgres_sql.h).
target_include_directories(test_postgres_sql PRIVATE ${PROJECT_SOURCE_DIR}/rotators/engines)

add_test(NAME postgres_server_start
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/scripts/postgres.sh start ${SM_STATE_DIR}/postgres)
set_tests_properties(postgres_server_start PROPERTIES FIXTURES_SETUP postgres LABELS integration
                     TIMEOUT 120)
add_test(NAME postgres_server_stop
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/scripts/postgres.sh stop ${SM_STATE_DIR}/postgres)
set_tests_properties(postgres_server_stop PROPERTIES FIXTURES_CLEANUP postgres LABELS integration
                     TIMEOUT 60)

sm_db_server(postgres ENGINE postgres PREFIX PG_)
sm_c_tests(test_engine_postgres
           SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_engine_postgres.c
           LIBS smdbtest
           LABELS integration
           FIXTURES postgres
           ENVIRONMENT ${SM_DB_ENV_postgres})
