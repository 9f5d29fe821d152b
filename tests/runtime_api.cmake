# Lambda Runtime API client and loop (runtime/lambda_api.*, bootstrap/main.c).
#
# C unit tests of the protocol helpers, and Python end-to-end tests that run the real bootstrap
# (SMR_BOOTSTRAP) and a scriptable test runtime (SMR_RT_ECHO, tests/runtime/echo_bootstrap.c)
# against tests/fakes/fake_lambda.py, a stdlib-only fake of the Runtime and Extensions APIs.
sm_c_tests(test_lambda_api SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_lambda_api.c
           LABELS unit runtime)

add_executable(rt_echo_bootstrap ${CMAKE_CURRENT_SOURCE_DIR}/runtime/echo_bootstrap.c)
target_link_libraries(rt_echo_bootstrap PRIVATE smruntime)

set(SM_RT_ENV SMR_RT_ECHO=$<TARGET_FILE:rt_echo_bootstrap>
              SMR_FAKE_LAMBDA=${CMAKE_CURRENT_SOURCE_DIR}/fakes/fake_lambda.py)
sm_py_tests(${CMAKE_CURRENT_SOURCE_DIR}/runtime/test_runtime_api.py LABELS runtime TIMEOUT 60
            ENVIRONMENT ${SM_RT_ENV})

# The benchmark, run with tiny N: proves it works, asserts no timing.
add_test(NAME bench_runtime_runs
         COMMAND ${SM_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/bench/bench_runtime.py --runs 3
                 --invocations 50)
set_tests_properties(bench_runtime_runs PROPERTIES LABELS "bench;runtime" TIMEOUT 120
                     ENVIRONMENT "${SM_TEST_ENV};${SM_RT_ENV}")
