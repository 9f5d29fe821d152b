# End-to-end rotation tests: real bootstrap, fake Lambda, local Secrets Manager, real databases.
# Every one of them also feeds the suite-wide secret hygiene check (fixture `hygiene`):
# hygiene_collection_starts_empty runs first, hygiene_no_secret_in_any_output after them all.

# Scripts parameterised by server (tests/lib/smtest.py, tests/lib/db.py SERVERS): every
# `def test_<a>_SERVER_<b>(` becomes ctest <a>_<server>_<b> for each server, with that server's
# fixture; `def test_<a>_every_server_<b>(` is one ctest with every server's fixture; any other
# `def test_<name>(` names its server as a word of <name> (rotation_mysql_...) and gets that
# fixture.
set(SM_SERVERS pg=postgres mariadb=mariadb mysql=mysql)
function(sm_py_server_tests script)
  cmake_parse_arguments(T "" "TIMEOUT" "LABELS;FIXTURES" ${ARGN})
  file(READ ${script} text)
  string(REGEX MATCHALL "\ndef test_([A-Za-z0-9_]+)\\(" found "${text}")
  foreach(m IN LISTS found)
    string(REGEX REPLACE "\ndef test_([A-Za-z0-9_]+)\\(" "\\1" fn "${m}")
    set(names "")
    set(fixtures "")
    if(fn MATCHES "_every_server_")
      set(all "")
      foreach(pair IN LISTS SM_SERVERS)
        string(REGEX REPLACE ".*=" "" fixture "${pair}")
        list(APPEND all "${fixture}")
      endforeach()
      add_test(NAME ${fn} COMMAND ${SM_PYTHON} ${script} ${fn})
      set_tests_properties(${fn} PROPERTIES LABELS "${T_LABELS}" TIMEOUT ${T_TIMEOUT}
                           ENVIRONMENT "${SM_TEST_ENV}" FIXTURES_REQUIRED "${all};${T_FIXTURES}")
      continue()
    endif()
    foreach(pair IN LISTS SM_SERVERS)
      string(REPLACE "=" ";" kv "${pair}")
      list(GET kv 0 key)
      list(GET kv 1 fixture)
      if(fn MATCHES "SERVER")
        string(REPLACE "SERVER" "${key}" name "${fn}")
      elseif("_${fn}_" MATCHES "_${key}_" AND NOT names)
        set(name "${fn}")
      else()
        continue()
      endif()
      list(APPEND names "${name}")
      list(APPEND fixtures "${fixture}")
    endforeach()
    if(NOT names)
      message(FATAL_ERROR "${script}: test_${fn} names no server of ${SM_SERVERS}")
    endif()
    foreach(name fixture IN ZIP_LISTS names fixtures)
      add_test(NAME ${name} COMMAND ${SM_PYTHON} ${script} ${name})
      set_tests_properties(${name} PROPERTIES LABELS "${T_LABELS}" TIMEOUT ${T_TIMEOUT}
                           ENVIRONMENT "${SM_TEST_ENV}"
                           FIXTURES_REQUIRED "${fixture};${T_FIXTURES}")
    endforeach()
  endforeach()
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${script})
endfunction()

sm_py_server_tests(${CMAKE_CURRENT_SOURCE_DIR}/e2e/test_rotation.py
                   LABELS e2e FIXTURES hygiene TIMEOUT 120)
sm_py_server_tests(${CMAKE_CURRENT_SOURCE_DIR}/e2e/test_fault_matrix.py
                   LABELS e2e faults FIXTURES hygiene TIMEOUT 900)
# RDS-managed masters, read replicas, Aurora readers and Handler auto: host names of their own
# in /etc/hosts (tests/e2e/hosts.py, root needed), the fake RDS beside the Secrets Manager one.
sm_py_server_tests(${CMAKE_CURRENT_SOURCE_DIR}/e2e/test_rds_masters.py
                   LABELS e2e FIXTURES hygiene TIMEOUT 120)
# The read-only preflight check, in Lambda and from a shell (bootstrap check): healthy and broken
# setups, and the proof from the fakes' and the server's logs that it writes nothing.
sm_py_server_tests(${CMAKE_CURRENT_SOURCE_DIR}/e2e/test_check.py
                   LABELS e2e FIXTURES hygiene TIMEOUT 180)
# AWS calls through HTTP(S)_PROXY, never the Runtime API; NO_PROXY (tests/lib/egress_proxy.py).
sm_py_tests(${CMAKE_CURRENT_SOURCE_DIR}/e2e/test_egress_proxy.py
            LABELS e2e FIXTURES postgres hygiene TIMEOUT 120)
sm_py_tests(${CMAKE_CURRENT_SOURCE_DIR}/e2e/check_hygiene.py LABELS e2e hygiene)
sm_py_tests(${CMAKE_CURRENT_SOURCE_DIR}/e2e/test_bad_input.py
            LABELS e2e FIXTURES postgres hygiene TIMEOUT 300)

# Valgrind twins of end-to-end cases (SM_VALGRIND=ON): the real bootstrap runs under memcheck
# through whole rotations of every server and both strategies (MySQL's RSA key exchange without
# TLS among them) and through bad input; any memcheck error or definite leak fails the case
# (tests/lib/stack.py).
if(SM_VALGRIND)
  set(SM_E2E_VALGRIND_CASES
      "test_rotation.py:rotation_pg_single_user_driven_by_the_service:postgres"
      "test_rotation.py:rotation_pg_multi_user_alternates_and_keeps_previous_working:postgres"
      "test_rotation.py:rotation_mariadb_single_user_driven_by_the_service:mariadb"
      "test_rotation.py:rotation_mariadb_multi_user_alternates_and_keeps_previous_working:mariadb"
      "test_rotation.py:rotation_mariadb_require_ssl_user_rotates_over_tls:mariadb"
      "test_rotation.py:rotation_mysql_single_user_driven_by_the_service:mysql"
      "test_rotation.py:rotation_mysql_without_tls_both_strategies:mysql"
      "test_bad_input.py:bad_input_malformed_events_get_clear_errors:postgres"
      "test_bad_input.py:bad_input_broken_secrets_fail_create_secret_clearly:postgres")
  foreach(entry IN LISTS SM_E2E_VALGRIND_CASES)
    string(REPLACE ":" ";" parts "${entry}")
    list(GET parts 0 script)
    list(GET parts 1 name)
    list(GET parts 2 fixture)
    add_test(NAME valgrind_${name} COMMAND ${SM_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/e2e/${script} ${name})
    set_tests_properties(valgrind_${name} PROPERTIES LABELS "valgrind;e2e" TIMEOUT 600 PROCESSORS 2
                         FIXTURES_REQUIRED "${fixture};hygiene"
                         ENVIRONMENT "${SM_TEST_ENV};SMR_BOOTSTRAP_VALGRIND=1")
  endforeach()
endif()
set_tests_properties(hygiene_collection_starts_empty PROPERTIES FIXTURES_SETUP hygiene
                     FIXTURES_REQUIRED "")
set_tests_properties(hygiene_no_secret_in_any_output hygiene_every_metrics_object_follows_emf
                     PROPERTIES FIXTURES_CLEANUP hygiene FIXTURES_REQUIRED "")
# Per-secret settings and the strategies they choose (tests/e2e/test_strategies.py); the replica
# case edits /etc/hosts as the RDS cases do.
sm_py_server_tests(${CMAKE_CURRENT_SOURCE_DIR}/e2e/test_strategies.py
                   LABELS e2e FIXTURES hygiene TIMEOUT 180)
