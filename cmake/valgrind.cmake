# Valgrind twins of the C tests (SM_VALGRIND=ON; use a tree without SM_SANITIZE / SM_FUZZ).
#
#   cmake -S . -B build-valgrind -DSM_VALGRIND=ON && cmake --build build-valgrind -j2
#   ctest --test-dir build-valgrind -L valgrind -j2
#
# For every case that tests/CMakeLists.txt's sm_c_tests registers with a label listed in
# SM_VALGRIND_LABELS, a twin ctest `valgrind_<name>` (label `valgrind`, same environment and
# fixtures) runs the same binary and case under
#   valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=99
#            --track-origins=no
# so any invalid read/write, use of uninitialised memory in a branch or system call, bad free, or
# definite/indirect leak fails that twin in the ordinary ctest summary. Child processes (the
# Python emulator, servers) are not traced. A twin shares its original's RUN_SERIAL and
# RESOURCE_LOCK (copied once the directory's tests are all defined), so a test that must run alone
# does so under valgrind too, where it lasts many times longer.
#
# Third-party libraries (libpq, OpenSSL, libcurl, Connector/C, cJSON, libexpat): tests/valgrind.supp
# states the policy. In short, memory errors fail wherever valgrind sees them (a library faults on
# what we hand it), and so do definite/indirect leaks, because every such leak reachable from a
# test has a root we allocated or asked a library to allocate for us; a library's own caches are
# "still reachable" and not counted. A suppression needs a report proven to be the library's alone.
option(SM_VALGRIND "Register valgrind_<test> twins of the C tests (label valgrind)" OFF)
set(SM_VALGRIND_LABELS "unit;client;integration" CACHE STRING
    "Labels whose C test cases get a valgrind_<name> twin")

if(SM_VALGRIND)
  if(SM_SANITIZE OR SM_FUZZ)
    message(FATAL_ERROR "SM_VALGRIND needs a build without sanitizers (SM_SANITIZE, SM_FUZZ)")
  endif()
  find_program(SM_VALGRIND_PROGRAM valgrind REQUIRED)
  set(SM_VALGRIND_COMMAND
      ${SM_VALGRIND_PROGRAM} --leak-check=full --errors-for-leak-kinds=definite,indirect
      --show-leak-kinds=definite,indirect --error-exitcode=99 --track-origins=no
      --num-callers=30 --suppressions=${PROJECT_SOURCE_DIR}/tests/valgrind.supp)
endif()

# Called by sm_c_tests for every case: registers valgrind_<name> when SM_VALGRIND is on and the
# case carries one of SM_VALGRIND_LABELS. An optional sixth argument names the case the binary
# runs when it differs from the ctest name (a case registered twice, against two servers).
function(sm_valgrind_twin name binary labels fixtures environment)
  set(case ${name})
  if(ARGC GREATER 5)
    set(case ${ARGV5})
  endif()
  if(NOT SM_VALGRIND)
    return()
  endif()
  set(wanted FALSE)
  foreach(l IN LISTS labels)
    if(l IN_LIST SM_VALGRIND_LABELS)
      set(wanted TRUE)
    endif()
  endforeach()
  if(NOT wanted)
    return()
  endif()
  add_test(NAME valgrind_${name} COMMAND ${SM_VALGRIND_COMMAND} $<TARGET_FILE:${binary}> ${case})
  # Two of tests/run.sh's slots (it runs build/ with twice as many jobs as cores, for the fault
  # matrix's mostly idle cases): a twin keeps a core busy.
  set_tests_properties(valgrind_${name} PROPERTIES LABELS valgrind TIMEOUT 900 PROCESSORS 2
                       ENVIRONMENT "${environment}")
  if(fixtures)
    set_tests_properties(valgrind_${name} PROPERTIES FIXTURES_REQUIRED "${fixtures}")
  endif()
  # The area file sets RUN_SERIAL / RESOURCE_LOCK on the original after sm_c_tests returns: copy
  # them at the end of this directory, when every test and property is known.
  set_property(DIRECTORY APPEND PROPERTY SM_VALGRIND_TWINS ${name})
  get_property(deferred DIRECTORY PROPERTY SM_VALGRIND_COPY_DEFERRED)
  if(NOT deferred)
    set_property(DIRECTORY PROPERTY SM_VALGRIND_COPY_DEFERRED TRUE)
    cmake_language(DEFER CALL sm_valgrind_copy_scheduling)
  endif()
endfunction()

# Deferred to the end of the directory that registered twins: each twin gets its original's
# RUN_SERIAL and RESOURCE_LOCK.
function(sm_valgrind_copy_scheduling)
  get_property(twins DIRECTORY PROPERTY SM_VALGRIND_TWINS)
  foreach(name IN LISTS twins)
    foreach(prop IN ITEMS RUN_SERIAL RESOURCE_LOCK)
      get_test_property(${name} ${prop} value)
      if(value)
        set_tests_properties(valgrind_${name} PROPERTIES ${prop} "${value}")
      endif()
    endforeach()
  endforeach()
endfunction()
