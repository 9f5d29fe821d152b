# Static dependencies (SM_STATIC_DEPS=ON): the build of the deployable, self-contained bootstrap.
#
#   cmake -S . -B build-package -DSM_STATIC_DEPS=ON      (after tests/setup.sh, or deps.sh prepare)
#   ... -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-arm64.cmake   cross-built for arm64
#
# At configure time cmake/deps.sh builds OpenSSL, libcurl, libpq, MariaDB Connector/C, expat and
# cJSON from the Debian 13 source packages cmake/deps.lock pins, for the compiler's target
# (x86_64-linux-gnu or aarch64-linux-gnu), into a cache outside the clone (cmake/deps.sh
# cache-dir: /var/cache/smrotate/deps as root) keyed by the lock, the recipe and the target: only
# the first configure on a machine pays. This file then defines the imported targets the rest of
# the build links, under the names the shared-library build gets from find_package / pkg-config:
#   OpenSSL::Crypto OpenSSL::SSL CURL::libcurl PkgConfig::CJSON PkgConfig::LIBPQ
#   PkgConfig::MARIADB EXPAT::EXPAT
# Every one is a static archive: bootstrap then needs only glibc (and libgcc). The development
# build (SM_STATIC_DEPS=OFF, the default) links Debian's shared libraries instead.
# -DSM_DEPS_DIR=DIR keeps the cache elsewhere (docker/Dockerfile builds it in a layer of its own);
# -DSM_DEPS_PREFIX=DIR uses a complete prefix cmake/deps.sh built before.
# -DSM_DEPS_ALLOW_UNLOCKED=ON (a developer's opt-in, never CI's) lets deps.sh fall back to another
# version when a locked one cannot be fetched; the package is then marked NOT FOR RELEASE.
# For cmake/package.cmake: SM_DEPS_VERSIONS (the VERSIONS file), SM_DEPS_NOT_FOR_RELEASE,
# SM_DEPS_LICENSES.
#
# Included by CMakeLists.txt before its targets; include_guard keeps the cmake/*.cmake glob from
# including it a second time.
include_guard(GLOBAL)
if(NOT SM_STATIC_DEPS)
  return()
endif()

set(SM_DEPS_DIR "" CACHE PATH
    "Where cmake/deps.sh builds and keeps the static dependencies (empty: cmake/deps.sh cache-dir)")
set(SM_DEPS_PREFIX "" CACHE PATH
    "A prefix cmake/deps.sh built elsewhere (empty: run cmake/deps.sh build SM_DEPS_DIR)")
option(SM_DEPS_ALLOW_UNLOCKED
       "Developer builds only: fall back when a locked dependency cannot be fetched (NOT FOR RELEASE)"
       OFF)
execute_process(COMMAND ${CMAKE_C_COMPILER} -dumpmachine OUTPUT_VARIABLE sm_deps_target
                OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT sm_deps_target MATCHES "^(x86_64|aarch64)-linux-gnu$")
  message(FATAL_ERROR "SM_STATIC_DEPS: ${CMAKE_C_COMPILER} targets ${sm_deps_target}; the package "
                      "is built for x86_64-linux-gnu or aarch64-linux-gnu")
endif()
if(SM_DEPS_PREFIX)
  set(sm_deps_prefix ${SM_DEPS_PREFIX})
else()
  message(STATUS "Static dependencies for ${sm_deps_target}: cmake/deps.sh build "
                 "(the first time on this machine: minutes)")
  set(sm_deps_env "")
  if(SM_DEPS_ALLOW_UNLOCKED)
    set(sm_deps_env DEPS_ALLOW_UNLOCKED=1)
  endif()
  execute_process(COMMAND ${CMAKE_COMMAND} -E env ${sm_deps_env}
                          bash ${PROJECT_SOURCE_DIR}/cmake/deps.sh build "${SM_DEPS_DIR}"
                          ${sm_deps_target}
                  OUTPUT_VARIABLE sm_deps_out RESULT_VARIABLE sm_deps_rc)
  if(NOT sm_deps_rc EQUAL 0)
    message(FATAL_ERROR "cmake/deps.sh failed (${sm_deps_rc}); run `cmake/deps.sh prepare` as "
                        "root first (tests/setup.sh does) to enable deb-src and install the tools")
  endif()
  string(STRIP "${sm_deps_out}" sm_deps_out)
  string(REGEX REPLACE ".*\n" "" sm_deps_prefix "${sm_deps_out}")
endif()
if(NOT EXISTS ${sm_deps_prefix}/.complete)
  message(FATAL_ERROR "${sm_deps_prefix} is not a complete build of cmake/deps.sh")
endif()
set(SM_DEPS_VERSIONS ${sm_deps_prefix}/VERSIONS)
file(STRINGS ${SM_DEPS_VERSIONS} sm_deps_versions REGEX "^[a-z]")
list(TRANSFORM sm_deps_versions REPLACE "^([^ ]+ [^ ]+) .*" "\\1")
list(JOIN sm_deps_versions ", " sm_deps_versions)
message(STATUS "Static dependencies in ${sm_deps_prefix}: ${sm_deps_versions}")
set(SM_DEPS_NOT_FOR_RELEASE OFF)
if(EXISTS ${sm_deps_prefix}/NOT-FOR-RELEASE)
  set(SM_DEPS_NOT_FOR_RELEASE ON)
  file(READ ${sm_deps_prefix}/NOT-FOR-RELEASE sm_unlocked)
  message(WARNING "NOT FOR RELEASE: dependencies cmake/deps.lock does not pin:\n${sm_unlocked}")
endif()
set_property(DIRECTORY ${PROJECT_SOURCE_DIR} APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
             ${PROJECT_SOURCE_DIR}/cmake/deps.sh ${PROJECT_SOURCE_DIR}/cmake/deps-recipe.sh
             ${PROJECT_SOURCE_DIR}/cmake/deps.lock)

function(sm_static_lib name archive)
  cmake_parse_arguments(L "" "" "INCLUDES;LINK;DEFINES" ${ARGN})
  set(path ${sm_deps_prefix}/lib/${archive})
  if(NOT EXISTS ${path})
    message(FATAL_ERROR "${path} missing: delete ${sm_deps_prefix} and configure again")
  endif()
  add_library(${name} STATIC IMPORTED GLOBAL)
  set_target_properties(${name} PROPERTIES IMPORTED_LOCATION ${path}
                        INTERFACE_INCLUDE_DIRECTORIES "${L_INCLUDES}"
                        INTERFACE_LINK_LIBRARIES "${L_LINK}"
                        INTERFACE_COMPILE_DEFINITIONS "${L_DEFINES}")
endfunction()

set(inc ${sm_deps_prefix}/include)
sm_static_lib(OpenSSL::Crypto libcrypto.a INCLUDES ${inc} LINK Threads::Threads)
sm_static_lib(OpenSSL::SSL libssl.a INCLUDES ${inc} LINK OpenSSL::Crypto)
sm_static_lib(CURL::libcurl libcurl.a INCLUDES ${inc} LINK OpenSSL::SSL Threads::Threads
              DEFINES CURL_STATICLIB)
# No -lm: nothing bootstrap keeps calls libm, but libpq 17's pg_prng refers to it, and --as-needed
# would load libm.so.6 at every start for those references the linker then drops.
sm_static_lib(PkgConfig::CJSON libcjson.a INCLUDES ${inc})
sm_static_lib(sm_pgcommon libpgcommon_shlib.a LINK OpenSSL::Crypto)
sm_static_lib(sm_pgport libpgport_shlib.a)
sm_static_lib(PkgConfig::LIBPQ libpq.a INCLUDES ${inc}
              LINK sm_pgcommon sm_pgport OpenSSL::SSL Threads::Threads)
sm_static_lib(PkgConfig::MARIADB libmariadbclient.a INCLUDES ${inc}/mariadb
              LINK OpenSSL::SSL Threads::Threads ${CMAKE_DL_LIBS})
sm_static_lib(EXPAT::EXPAT libexpat.a INCLUDES ${inc} DEFINES XML_STATIC)

# Licence texts of everything linked in (docker/package.sh puts them in the zip).
set(SM_DEPS_LICENSES ${sm_deps_prefix}/share/licenses)
# Sections the linker can drop: the dependencies are compiled with -ffunction-sections, and so is
# our own code here.
add_compile_options(-ffunction-sections -fdata-sections)
add_link_options(-Wl,--gc-sections -Wl,--as-needed)
# The functions a rotation runs, packed together in the order of cmake/hot-functions.txt
# (tests/bench/hot_functions.py writes it and says why): the kernel maps the pages around each
# fault, so code that runs spread over the whole text kept nearly all of it resident. lld takes the list as it is; GNU ld 2.40 has no such option.
find_program(SM_LLD ld.lld)
if(NOT SM_LLD)
  message(FATAL_ERROR "SM_STATIC_DEPS links with lld: apt-get install lld (tests/setup.sh does)")
endif()
# A cross gcc looks for ld.lld only in its own directories (or as TARGET-ld.lld on PATH): -B names
# one that holds it, for the native compiler as well.
file(MAKE_DIRECTORY ${CMAKE_BINARY_DIR}/lld)
file(CREATE_LINK ${SM_LLD} ${CMAKE_BINARY_DIR}/lld/ld.lld SYMBOLIC)
set(SM_HOT_FUNCTIONS ${PROJECT_SOURCE_DIR}/cmake/hot-functions.txt)
add_link_options(-B${CMAKE_BINARY_DIR}/lld -fuse-ld=lld
                 -Wl,--symbol-ordering-file=${SM_HOT_FUNCTIONS} -Wl,--no-warn-symbol-ordering)
