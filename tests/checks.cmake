# Source checks: banned functions (STYLE.md) and clang-format.
add_test(NAME source_has_no_banned_functions
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/checks/banned_functions.sh ${PROJECT_SOURCE_DIR})
find_program(SM_CLANG_FORMAT clang-format)
if(SM_CLANG_FORMAT)
  add_test(NAME source_is_clang_formatted
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/checks/clang_format.sh ${PROJECT_SOURCE_DIR})
else()
  add_test(NAME source_is_clang_formatted COMMAND sh -c "echo clang-format is not installed; exit 1")
endif()
set_tests_properties(source_has_no_banned_functions source_is_clang_formatted PROPERTIES LABELS source)
