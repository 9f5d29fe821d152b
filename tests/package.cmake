# Checks of the deployable Lambda package (docker/package.sh, the lambda-zip target of
# cmake/package.cmake), label `package`.
#
# Every tree: tests/package/check_dockerfile.py (docker/Dockerfile runs the recipe CI runs and
# cross-builds natively, pinned images, the zip names, template.yaml's CodeUri per architecture)
# and check_deps.py (how cmake/deps.sh derives deb-src, reads cmake/deps.lock and refuses).
#
# Trees configured with -DSM_STATIC_DEPS=ON (tests/run.sh's build-package/ and, cross-built with
# cmake/toolchain-arm64.cmake, build-package-arm64/) also get:
#   fixture glibc_root   package_glibc_root_is_ready: tests/package/glibc_root.sh unpacks Debian's
#                        libc6 and libgcc-s1 of the package's architecture into
#                        ${CMAKE_BINARY_DIR}/glibc-root (cached by version); for arm64 on x86_64
#                        with qemu-aarch64-static, which runs every program of the package there
#   fixture lambda_zip   package_lambda_zip_target_builds: the real package
#   fixture probe_zip    package_probe_zip_builds: package_probe_bootstrap, which links and calls
#                        every static dependency (expat too, before bootstrap uses it)
#   check_package.py     the script's refusals and layout, the probe package in the glibc root
#                        (expat's protections compiled in)
#   check_lambda_zip.py  the real package: only glibc and libgcc needed (readelf), its entries,
#                        licences and SBOM, `env -i bootstrap --version` in the glibc root naming
#                        the six libraries, the functions a rotation runs placed together
#   check_zip_rotation.py  full rotations by the packaged bootstrap chrooted into the glibc root:
#                        PostgreSQL and MariaDB, single and alternating users, TLS
#   check_hot_functions.py  (native tree) cmake/hot-functions.txt is current: hot_functions.py,
#                        run again, finds few functions it lacks
#   check_zip_proxy.py   the egress proxy cases (tests/e2e/test_egress_proxy.py) with the packaged
#                        bootstrap in the glibc root
# The glibc-root tests need root (chroot, mount namespaces); CI runs as root.
set(SM_PACKAGE_STATE ${SM_STATE_DIR}/package)

sm_py_tests(${CMAKE_CURRENT_SOURCE_DIR}/package/check_dockerfile.py LABELS package TIMEOUT 60)
sm_py_tests(${CMAKE_CURRENT_SOURCE_DIR}/package/check_deps.py LABELS package TIMEOUT 60)

if(NOT SM_STATIC_DEPS)
  return()
endif()
if(SM_SANITIZE OR SM_FUZZ)
  message(FATAL_ERROR "SM_STATIC_DEPS builds the package: leave SM_SANITIZE and SM_FUZZ off "
                      "(a sanitizer runtime needs more than glibc)")
endif()

add_executable(package_probe_bootstrap ${CMAKE_CURRENT_SOURCE_DIR}/package/probe_bootstrap.c)
target_link_libraries(package_probe_bootstrap PRIVATE CURL::libcurl OpenSSL::Crypto
                      PkgConfig::CJSON PkgConfig::LIBPQ PkgConfig::MARIADB EXPAT::EXPAT)
# The same probe with an RPATH, which package.sh must refuse.
add_executable(package_rpath_probe ${CMAKE_CURRENT_SOURCE_DIR}/package/probe_bootstrap.c)
target_link_libraries(package_rpath_probe PRIVATE CURL::libcurl OpenSSL::Crypto
                      PkgConfig::CJSON PkgConfig::LIBPQ PkgConfig::MARIADB EXPAT::EXPAT)
target_link_options(package_rpath_probe PRIVATE "-Wl,-rpath,/opt/lib" "-Wl,--disable-new-dtags")

include(CheckSymbolExists)
set(CMAKE_REQUIRED_DEFINITIONS -D_GNU_SOURCE)
check_symbol_exists(arc4random "stdlib.h" SM_HAVE_ARC4RANDOM)
unset(CMAKE_REQUIRED_DEFINITIONS)
if(SM_HAVE_ARC4RANDOM)
  add_executable(package_glibc_newer_probe ${CMAKE_CURRENT_SOURCE_DIR}/package/glibc_newer_probe.c)
  set(SM_GLIBC_NEWER_PROBE $<TARGET_FILE:package_glibc_newer_probe>)
else()
  set(SM_GLIBC_NEWER_PROBE "")  # glibc < 2.36 here: that one check fails, saying so
endif()

# What the package tests run (tests/run.sh builds only this and lambda-zip in build-package/).
add_custom_target(package-tests DEPENDS bootstrap package_probe_bootstrap package_rpath_probe)
if(SM_HAVE_ARC4RANDOM)
  add_dependencies(package-tests package_glibc_newer_probe)
endif()

if(SM_LAMBDA_ARCH STREQUAL "arm64")
  set(sm_root_arch arm64)
else()
  set(sm_root_arch amd64)
endif()
set(sm_root_emulator "")
if(CMAKE_CROSSCOMPILING)
  set(sm_root_emulator /usr/bin/qemu-${CMAKE_SYSTEM_PROCESSOR}-static)
endif()
add_test(NAME package_glibc_root_is_ready
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/package/glibc_root.sh
                 ${CMAKE_BINARY_DIR}/glibc-root ${sm_root_arch})
set_tests_properties(package_glibc_root_is_ready PROPERTIES FIXTURES_SETUP glibc_root
                     LABELS package TIMEOUT 300)
add_test(NAME package_probe_zip_builds
         COMMAND bash ${PROJECT_SOURCE_DIR}/docker/package.sh
                 --bootstrap $<TARGET_FILE:package_probe_bootstrap> --arch ${SM_LAMBDA_ARCH}
                 --strip ${CMAKE_STRIP} --output ${SM_PACKAGE_STATE}/probe.zip
                 --licenses ${SM_DEPS_LICENSES})
set_tests_properties(package_probe_zip_builds PROPERTIES FIXTURES_SETUP probe_zip
                     LABELS package TIMEOUT 120)
add_test(NAME package_lambda_zip_target_builds
         COMMAND ${CMAKE_COMMAND} --build ${CMAKE_BINARY_DIR} --target lambda-zip)
set_tests_properties(package_lambda_zip_target_builds PROPERTIES FIXTURES_SETUP lambda_zip
                     LABELS package TIMEOUT 600 RESOURCE_LOCK cmake_build)

set(SM_PACKAGE_ENV SMR_LAMBDA_ZIP=${SM_LAMBDA_ZIP}
                   SMR_PROBE_ZIP=${SM_PACKAGE_STATE}/probe.zip
                   SMR_PROBE_BOOTSTRAP=$<TARGET_FILE:package_probe_bootstrap>
                   SMR_RPATH_PROBE=$<TARGET_FILE:package_rpath_probe>
                   SMR_GLIBC_NEWER_PROBE=${SM_GLIBC_NEWER_PROBE}
                   SMR_GLIBC_ROOT=${CMAKE_BINARY_DIR}/glibc-root/current
                   SMR_IN_ROOT=${CMAKE_CURRENT_SOURCE_DIR}/package/in_root.sh
                   SMR_ROOT_EMULATOR=${sm_root_emulator}
                   SMR_DEPS_LICENSES=${SM_DEPS_LICENSES}
                   SMR_DEPS_VERSIONS=${SM_DEPS_VERSIONS}
                   SMR_LAMBDA_ARCH=${SM_LAMBDA_ARCH}
                   SMR_BOOTSTRAP_UNSTRIPPED=$<TARGET_FILE:bootstrap>
                   SMR_HOT_FUNCTIONS=${SM_HOT_FUNCTIONS}
                   SMR_STRIP=${CMAKE_STRIP}
                   SMR_PACKAGE_SH=${PROJECT_SOURCE_DIR}/docker/package.sh)
sm_py_tests(${CMAKE_CURRENT_SOURCE_DIR}/package/check_package.py LABELS package TIMEOUT 120
            FIXTURES probe_zip glibc_root ENVIRONMENT ${SM_PACKAGE_ENV})
sm_py_tests(${CMAKE_CURRENT_SOURCE_DIR}/package/check_lambda_zip.py LABELS package TIMEOUT 120
            FIXTURES lambda_zip glibc_root ENVIRONMENT ${SM_PACKAGE_ENV})
sm_py_tests(${CMAKE_CURRENT_SOURCE_DIR}/package/check_zip_rotation.py LABELS package TIMEOUT 300
            FIXTURES lambda_zip glibc_root postgres mariadb hygiene ENVIRONMENT ${SM_PACKAGE_ENV})
if(NOT CMAKE_CROSSCOMPILING)
  sm_py_tests(${CMAKE_CURRENT_SOURCE_DIR}/package/check_hot_functions.py LABELS package
              TIMEOUT 600 FIXTURES postgres mariadb
              ENVIRONMENT ${SM_PACKAGE_ENV}
                          SMR_HOT_FUNCTIONS_PY=${CMAKE_CURRENT_SOURCE_DIR}/bench/hot_functions.py)
endif()
sm_py_tests(${CMAKE_CURRENT_SOURCE_DIR}/package/check_zip_proxy.py LABELS package TIMEOUT 300
            FIXTURES lambda_zip glibc_root postgres hygiene ENVIRONMENT ${SM_PACKAGE_ENV})
