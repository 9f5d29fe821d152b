# Checks of the deployable Lambda zip (docker/package.sh, the lambda-zip target of
# cmake/package.cmake): tests/package/check_package.py (the script, the probe package, the
# Dockerfile) and tests/package/check_lambda_zip.py (the real package). Needs binutils (readelf,
# objdump, strip), zip, openssl (a test CA) and the -dev packages the build already uses.
#
# Fixtures: `lambda_zip` builds the lambda-zip target (the real package of bootstrap);
# `probe_zip` packages package_probe_bootstrap, which links and calls every library bootstrap
# links, so bundling is checked in full whatever bootstrap uses today.
# check_zip_rotation.py: the unzipped package's bootstrap completes rotations against the
# PostgreSQL and MariaDB fixtures.
set(SM_PACKAGE_STATE ${SM_STATE_DIR}/package)

add_executable(package_probe_bootstrap ${CMAKE_CURRENT_SOURCE_DIR}/package/probe_bootstrap.c)
target_link_libraries(package_probe_bootstrap PRIVATE CURL::libcurl OpenSSL::Crypto
                      PkgConfig::CJSON PkgConfig::LIBPQ PkgConfig::MARIADB)
set_target_properties(package_probe_bootstrap PROPERTIES BUILD_RPATH "\$ORIGIN/lib")
target_link_options(package_probe_bootstrap PRIVATE "-Wl,--disable-new-dtags")
# Sanitizer runtimes (libasan -> libstdc++) need glibc > 2.34, so a sanitized binary cannot be
# packaged for Amazon Linux 2023: the probes are built without -fsanitize in every tree.
function(sm_package_unsanitized target)
  foreach(prop COMPILE_OPTIONS LINK_OPTIONS)
    get_target_property(opts ${target} ${prop})
    if(opts)
      list(FILTER opts EXCLUDE REGEX "sanitize")
      set_target_properties(${target} PROPERTIES ${prop} "${opts}")
    endif()
  endforeach()
endfunction()
sm_package_unsanitized(package_probe_bootstrap)

include(CheckSymbolExists)
set(CMAKE_REQUIRED_DEFINITIONS -D_GNU_SOURCE)
check_symbol_exists(arc4random "stdlib.h" SM_HAVE_ARC4RANDOM)
unset(CMAKE_REQUIRED_DEFINITIONS)
if(SM_HAVE_ARC4RANDOM)
  add_executable(package_glibc_newer_probe ${CMAKE_CURRENT_SOURCE_DIR}/package/glibc_newer_probe.c)
  set_target_properties(package_glibc_newer_probe PROPERTIES BUILD_RPATH "\$ORIGIN/lib")
  target_link_options(package_glibc_newer_probe PRIVATE "-Wl,--disable-new-dtags")
  sm_package_unsanitized(package_glibc_newer_probe)
  set(SM_GLIBC_NEWER_PROBE $<TARGET_FILE:package_glibc_newer_probe>)
else()
  set(SM_GLIBC_NEWER_PROBE "")  # glibc < 2.36 here: that one check fails, saying so
endif()

add_test(NAME package_probe_zip_builds
         COMMAND bash ${PROJECT_SOURCE_DIR}/docker/package.sh
                 --bootstrap $<TARGET_FILE:package_probe_bootstrap>
                 --output ${SM_PACKAGE_STATE}/probe.zip)
set_tests_properties(package_probe_zip_builds PROPERTIES FIXTURES_SETUP probe_zip
                     LABELS package TIMEOUT 120)
set(SM_PACKAGE_ENV SMR_LAMBDA_ZIP=${SM_LAMBDA_ZIP}
                   SMR_PROBE_ZIP=${SM_PACKAGE_STATE}/probe.zip
                   SMR_PROBE_BOOTSTRAP=$<TARGET_FILE:package_probe_bootstrap>
                   SMR_GLIBC_NEWER_PROBE=${SM_GLIBC_NEWER_PROBE}
                   SMR_PACKAGE_SH=${PROJECT_SOURCE_DIR}/docker/package.sh)
sm_py_tests(${CMAKE_CURRENT_SOURCE_DIR}/package/check_package.py LABELS package TIMEOUT 120
            FIXTURES probe_zip ENVIRONMENT ${SM_PACKAGE_ENV})

# The real package: only in unsanitized trees (a sanitized bootstrap cannot be packaged, see
# above; package.sh refuses it).
if(NOT SM_SANITIZE)
  add_test(NAME package_lambda_zip_target_builds
           COMMAND ${CMAKE_COMMAND} --build ${CMAKE_BINARY_DIR} --target lambda-zip)
  set_tests_properties(package_lambda_zip_target_builds PROPERTIES FIXTURES_SETUP lambda_zip
                       LABELS package TIMEOUT 600 RESOURCE_LOCK cmake_build)
  sm_py_tests(${CMAKE_CURRENT_SOURCE_DIR}/package/check_lambda_zip.py LABELS package TIMEOUT 120
              FIXTURES lambda_zip ENVIRONMENT ${SM_PACKAGE_ENV})
  sm_py_tests(${CMAKE_CURRENT_SOURCE_DIR}/package/check_zip_rotation.py LABELS package TIMEOUT 120
              FIXTURES lambda_zip postgres mariadb hygiene ENVIRONMENT ${SM_PACKAGE_ENV})
endif()
