# PostgreSQL SCRAM-SHA-256 verifiers (rotators/pg_scram.c): RFC 7677's exchange and libpq's own
# verifiers as references. No server.
sm_c_tests(test_pg_scram SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_pg_scram.c LABELS unit)
