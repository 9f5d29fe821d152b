# Benchmarks (tests/bench/): run by hand, see README's Performance section. Only proven to run here.
#
# bench_baseline: the bare costs the rotation benchmark compares against (one verified-TLS login
# through the client library, one Secrets Manager round trip through our client).
add_executable(bench_baseline ${CMAKE_CURRENT_SOURCE_DIR}/bench/bench_baseline.c)
target_link_libraries(bench_baseline PRIVATE smrotators)
# bench_cold_floor: the cold-start floor, a glibc-only program making the Runtime API round trips
# bootstrap makes before its first /next.
add_executable(bench_cold_floor ${CMAKE_CURRENT_SOURCE_DIR}/bench/cold_floor.c)

# The rotation benchmark with tiny N against the ctest database fixtures: asserts that it runs and
# prints its tables, never a timing. Its bootstrap runs at DEBUG, so its output also goes through
# the suite-wide secret hygiene check (fixture `hygiene`).
add_test(NAME bench_rotation_runs
         COMMAND ${SM_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/bench/bench.py --runs 2 --baseline-runs 3
                 --loop-invocations 20 --no-zip-build --build ${CMAKE_BINARY_DIR} --static-build none
                 --state-dir ${SM_STATE_DIR})
set_tests_properties(bench_rotation_runs PROPERTIES LABELS bench TIMEOUT 300
                     FIXTURES_REQUIRED "postgres;mariadb;hygiene"
                     ENVIRONMENT "${SM_TEST_ENV};SMR_BENCH_BASELINE=$<TARGET_FILE:bench_baseline>;SMR_BENCH_COLD_FLOOR=$<TARGET_FILE:bench_cold_floor>;SMR_RT_ECHO=$<TARGET_FILE:rt_echo_bootstrap>")
