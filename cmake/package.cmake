# lambda-zip: the deployable Lambda package of this build.
#
#   cmake --build <build> --target lambda-zip   ->   <build>/smrotate-lambda-<arch>.zip
#
# docker/package.sh puts bootstrap (the ELF, 0755) at the root, the shared libraries Amazon Linux
# 2023 lacks in lib/ (found through bootstrap's DT_RPATH $ORIGIN/lib), the MariaDB auth plugins in
# lib/mariadb/plugin/ and, when SM_RDS_CA_BUNDLE names the file, the Amazon RDS CA bundle as
# certs/rds-global-bundle.pem. Not part of `all`. The container build is docker/Dockerfile.
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

set(sm_package_args --bootstrap $<TARGET_FILE:bootstrap> --output ${SM_LAMBDA_ZIP})
set(sm_package_deps bootstrap ${PROJECT_SOURCE_DIR}/docker/package.sh)
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
