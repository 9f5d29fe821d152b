# Fuzzing (SM_FUZZ=ON, clang only): libFuzzer targets for every parser of untrusted input.
#
#   CC=clang cmake -S . -B build-fuzz -DSM_FUZZ=ON [-DSM_FUZZ_SECONDS=20] [-DSM_TESTS=OFF]
#   cmake --build build-fuzz -j2 && ctest --test-dir build-fuzz -L fuzz
#
# The whole tree is compiled with -fsanitize=fuzzer-no-link,address,undefined (coverage for the
# fuzzer, no sanitizer recovery); each target in tests/fuzz/fuzz_<name>.c is linked with
# -fsanitize=fuzzer. Per target two ctests (label `fuzz`):
#   fuzz_<name>_replays_corpus  runs every seed of tests/fuzz/corpus/<name>/ once (seconds)
#   fuzz_<name>_bounded         fuzzes a fixed number of inputs from those seeds with random seed
#                               1 (tests/fuzz/run_fuzz.sh); new inputs and any crash artifact stay
#                               in <build>/fuzz/<name>/, never in the repo
# Both fail on any crash, sanitizer report, leak, broken invariant or 10 s timeout. A crash input
# worth keeping becomes a regression seed: copy it into the target's corpus directory.
#
# The gate is deterministic: the same SM_FUZZ_SECONDS explores the same inputs on every machine
# and every run, so it passes or fails by the code, not by the machine's speed or the clock.
# SM_FUZZ_SECONDS counts seconds of the reference machine (2 shared cores, one fuzzer per core, as
# tests/run.sh runs them): each target runs SM_FUZZ_SECONDS times its rate below, measured there
# as the inputs it got through in 20 s with the gate's flags. A faster machine finishes sooner, a
# slower one later (the ctest timeout leaves ten times the budget); neither fuzzes differently.
# New target: measure it the same way (run_fuzz.sh's flags with -max_total_time=20 instead of
# -runs, read stat::number_of_executed_units, divide by 20) and add its rate.
if(NOT SM_FUZZ)
  return()
endif()
if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "SM_FUZZ needs clang (configure with CC=clang or -DCMAKE_C_COMPILER=clang)")
endif()
if(SM_SANITIZE)
  message(FATAL_ERROR "SM_FUZZ already builds with address,undefined: leave SM_SANITIZE empty")
endif()
set(SM_FUZZ_SECONDS 20 CACHE STRING
    "Budget of each fuzz_<target>_bounded test in reference-machine seconds (a fixed run count)")

set(sm_fuzz_cflags -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all)
set(sm_fuzz_lflags -fsanitize=address,undefined)
# Targets defined before this file (the libraries and bootstrap) get the flags directly; the
# directory options cover every target defined after it (tests, packaging).
get_property(sm_fuzz_existing DIRECTORY ${PROJECT_SOURCE_DIR} PROPERTY BUILDSYSTEM_TARGETS)
foreach(t IN LISTS sm_fuzz_existing)
  get_target_property(type ${t} TYPE)
  if(type MATCHES "^(STATIC_LIBRARY|SHARED_LIBRARY|OBJECT_LIBRARY|MODULE_LIBRARY|EXECUTABLE)$")
    target_compile_options(${t} PRIVATE ${sm_fuzz_cflags})
  endif()
  if(type MATCHES "^(SHARED_LIBRARY|MODULE_LIBRARY|EXECUTABLE)$")
    target_link_options(${t} PRIVATE ${sm_fuzz_lflags})
  endif()
endforeach()
add_compile_options(${sm_fuzz_cflags})
add_link_options(${sm_fuzz_lflags})

set(SM_FUZZ_DIR ${PROJECT_SOURCE_DIR}/tests/fuzz)
set(SM_FUZZ_TARGETS event secret aws_error rds_xml sigv4 lambda_next mysql_version mysql_grants
                    settings sts_xml creds)
# Inputs per reference second (measured: executed units in 20 s, rounded down to two digits).
set(sm_fuzz_rate_event 60000)
set(sm_fuzz_rate_secret 27000)
set(sm_fuzz_rate_aws_error 24000)
set(sm_fuzz_rate_rds_xml 29000)
set(sm_fuzz_rate_sigv4 5000)
set(sm_fuzz_rate_lambda_next 26000)
set(sm_fuzz_rate_mysql_version 150000)
set(sm_fuzz_rate_mysql_grants 19000)
set(sm_fuzz_rate_settings 100000)
set(sm_fuzz_rate_sts_xml 22000)
set(sm_fuzz_rate_creds 41000)
enable_testing()
foreach(name IN LISTS SM_FUZZ_TARGETS)
  set(bin fuzz_${name})
  add_executable(${bin} ${SM_FUZZ_DIR}/fuzz_${name}.c)
  target_include_directories(${bin} PRIVATE ${SM_FUZZ_DIR} ${PROJECT_SOURCE_DIR}/rotators/engines)
  target_link_libraries(${bin} PRIVATE smrotators)
  target_link_options(${bin} PRIVATE -fsanitize=fuzzer)
  if(NOT DEFINED sm_fuzz_rate_${name})
    message(FATAL_ERROR "cmake/fuzz.cmake: no measured rate for fuzz target ${name}")
  endif()
  math(EXPR runs "${sm_fuzz_rate_${name}} * ${SM_FUZZ_SECONDS}")
  set(seeds ${SM_FUZZ_DIR}/corpus/${name})
  set(dict "")
  if(name MATCHES "^(event|secret|aws_error|creds)$")
    set(dict ${SM_FUZZ_DIR}/json.dict)
  elseif(name STREQUAL "rds_xml")
    set(dict ${SM_FUZZ_DIR}/xml.dict)
  elseif(name STREQUAL "sts_xml")
    set(dict ${SM_FUZZ_DIR}/sts.dict)
  endif()
  add_test(NAME fuzz_${name}_replays_corpus
           COMMAND ${SM_FUZZ_DIR}/run_fuzz.sh replay $<TARGET_FILE:${bin}> ${seeds})
  add_test(NAME fuzz_${name}_bounded
           COMMAND ${SM_FUZZ_DIR}/run_fuzz.sh bounded $<TARGET_FILE:${bin}> ${seeds}
                   ${CMAKE_BINARY_DIR}/fuzz/${name} ${runs} ${dict})
  # Only a guard against a hang: the run count, not the clock, ends the run.
  math(EXPR timeout "${SM_FUZZ_SECONDS} * 10 + 120")
  set_tests_properties(fuzz_${name}_replays_corpus PROPERTIES LABELS fuzz TIMEOUT 120
                       ENVIRONMENT "UBSAN_OPTIONS=print_stacktrace=1")
  set_tests_properties(fuzz_${name}_bounded PROPERTIES LABELS fuzz TIMEOUT ${timeout}
                       ENVIRONMENT "UBSAN_OPTIONS=print_stacktrace=1"
                       DEPENDS fuzz_${name}_replays_corpus)
endforeach()
