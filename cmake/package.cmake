# lambda-zip: the deployable Lambda package, from a tree configured with -DSM_STATIC_DEPS=ON.
#
#   cmake -S . -B build-package -DSM_STATIC_DEPS=ON [-DSM_RDS_CA_BUNDLE=/path/global-bundle.pem]
#   cmake --build build-package --target lambda-zip   ->  build-package/smrotate-lambda-<arch>.zip
#
# docker/package.sh checks that bootstrap is an ELF for the zip's architecture that needs nothing
# but glibc (no symbol newer than GLIBC_2.34) and libgcc, then zips it (stripped, 0755, at the
# root) with LICENSE, THIRD_PARTY_NOTICES.md, the licence texts and notices of the static
# dependencies in licenses/, the CycloneDX SBOM smrotate.cdx.json (cmake/sbom.cmake) and, when
# SM_RDS_CA_BUNDLE names the file, the Amazon RDS CA bundle as certs/rds-global-bundle.pem.
# bootstrap --version names the Debian source package of each library (from VERSIONS).
# Not part of `all`. In a tree linked against Debian's shared libraries (the default) the target
# only explains this. The container build is docker/Dockerfile.
if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(aarch64|arm64|ARM64)$")
  set(SM_LAMBDA_ARCH arm64)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$")
  set(SM_LAMBDA_ARCH x86_64)
else()
  set(SM_LAMBDA_ARCH ${CMAKE_SYSTEM_PROCESSOR})
endif()
set(SM_RDS_CA_BUNDLE "" CACHE FILEPATH
    "Amazon RDS CA bundle (global-bundle.pem) to ship as certs/rds-global-bundle.pem")
set(SM_LAMBDA_ZIP ${CMAKE_BINARY_DIR}/smrotate-lambda-${SM_LAMBDA_ARCH}.zip)

if(NOT SM_STATIC_DEPS)
  add_custom_target(lambda-zip
    COMMAND ${CMAKE_COMMAND} -E echo
            "lambda-zip: this tree links Debian's shared libraries; the package is built in a tree configured with -DSM_STATIC_DEPS=ON, e.g. cmake -S ${PROJECT_SOURCE_DIR} -B build-package -DSM_STATIC_DEPS=ON"
    COMMAND ${CMAKE_COMMAND} -E false
    VERBATIM)
  return()
endif()

set_property(TARGET bootstrap APPEND PROPERTY LINK_DEPENDS ${SM_HOT_FUNCTIONS})

# The Debian source package of each library ("name version", cmake/deps.lock) for --version.
file(STRINGS ${SM_DEPS_VERSIONS} sm_deps_lines REGEX "^[a-z]")
set(sm_deps_macros openssl=SM_DEPS_OPENSSL curl=SM_DEPS_CURL postgresql-17=SM_DEPS_POSTGRESQL
    mariadb=SM_DEPS_MARIADB expat=SM_DEPS_EXPAT cjson=SM_DEPS_CJSON)
set(sm_version_defs "")
foreach(line IN LISTS sm_deps_lines)
  string(REGEX MATCH "^([^ ]+) ([^ ]+)" _ "${line}")
  foreach(pair IN LISTS sm_deps_macros)
    string(REPLACE "=" ";" pair "${pair}")
    list(GET pair 0 pkg)
    list(GET pair 1 macro)
    if(pkg STREQUAL CMAKE_MATCH_1)
      list(APPEND sm_version_defs "${macro}=\"${CMAKE_MATCH_1} ${CMAKE_MATCH_2}\"")
    endif()
  endforeach()
endforeach()
if(SM_DEPS_NOT_FOR_RELEASE)
  list(APPEND sm_version_defs SM_DEPS_NOT_FOR_RELEASE)
endif()
set_property(SOURCE ${PROJECT_SOURCE_DIR}/bootstrap/main.c APPEND PROPERTY COMPILE_DEFINITIONS
             ${sm_version_defs})

# The inventory shipped in the zip: a CycloneDX SBOM of smrotate and the six source packages.
set(SM_SBOM ${CMAKE_BINARY_DIR}/smrotate.cdx.json)
include(${PROJECT_SOURCE_DIR}/cmake/sbom.cmake)
sm_write_sbom(${SM_SBOM} ${SM_DEPS_VERSIONS} ${SM_LAMBDA_ARCH} ${SM_DEPS_NOT_FOR_RELEASE})

set(SM_PACKAGE_NOTICES ${PROJECT_SOURCE_DIR}/LICENSE ${PROJECT_SOURCE_DIR}/THIRD_PARTY_NOTICES.md)
set(sm_package_args --bootstrap $<TARGET_FILE:bootstrap> --output ${SM_LAMBDA_ZIP}
    --arch ${SM_LAMBDA_ARCH} --licenses ${SM_DEPS_LICENSES} --sbom ${SM_SBOM})
if(CMAKE_STRIP)
  list(APPEND sm_package_args --strip ${CMAKE_STRIP})
endif()
set(sm_package_deps bootstrap ${PROJECT_SOURCE_DIR}/docker/package.sh ${SM_PACKAGE_NOTICES}
    ${SM_SBOM})
foreach(n IN LISTS SM_PACKAGE_NOTICES)
  list(APPEND sm_package_args --notice ${n})
endforeach()
if(SM_RDS_CA_BUNDLE)
  list(APPEND sm_package_args --rds-ca-bundle ${SM_RDS_CA_BUNDLE})
  list(APPEND sm_package_deps ${SM_RDS_CA_BUNDLE})
endif()
add_custom_command(
  OUTPUT ${SM_LAMBDA_ZIP}
  COMMAND bash ${PROJECT_SOURCE_DIR}/docker/package.sh ${sm_package_args}
  DEPENDS ${sm_package_deps}
  COMMENT "Packaging smrotate-lambda-${SM_LAMBDA_ARCH}.zip"
  VERBATIM)
add_custom_target(lambda-zip DEPENDS ${SM_LAMBDA_ZIP})
