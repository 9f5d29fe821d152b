# lambda-zip: the deployable Lambda package, from a tree configured with -DSM_STATIC_DEPS=ON.
#
#   cmake -S . -B build-package -DSM_STATIC_DEPS=ON [-DSM_RDS_CA_BUNDLE=/path/global-bundle.pem]
#   cmake --build build-package --target lambda-zip   ->  build-package/smrotate-lambda-<arch>.zip
#
# docker/package.sh checks that bootstrap needs nothing but glibc (no symbol newer than
# GLIBC_2.34) and libgcc, then zips it (stripped, 0755, at the root) with LICENSE,
# THIRD_PARTY_NOTICES.md, the licence texts of the static dependencies in licenses/ and, when
# SM_RDS_CA_BUNDLE names the file, the Amazon RDS CA bundle as certs/rds-global-bundle.pem.
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

set(SM_PACKAGE_NOTICES ${PROJECT_SOURCE_DIR}/LICENSE ${PROJECT_SOURCE_DIR}/THIRD_PARTY_NOTICES.md)
set(sm_package_args --bootstrap $<TARGET_FILE:bootstrap> --output ${SM_LAMBDA_ZIP}
    --licenses ${SM_DEPS_LICENSES})
set(sm_package_deps bootstrap ${PROJECT_SOURCE_DIR}/docker/package.sh ${SM_PACKAGE_NOTICES})
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
