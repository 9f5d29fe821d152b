# toolchain-arm64.cmake: cross-compiling for arm64 (AWS Graviton) on an x86_64 Debian 12 machine
# with Debian's cross toolchain (gcc-aarch64-linux-gnu, libc6-dev-arm64-cross; tests/setup.sh or
# `cmake/deps.sh install-tools arm64` installs them):
#
#   cmake -S . -B build-package-arm64 -DSM_STATIC_DEPS=ON -DSM_TESTS=OFF \
#         -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-arm64.cmake
#   cmake --build build-package-arm64 --target lambda-zip   -> smrotate-lambda-arm64.zip
#
# cmake/static_deps.cmake builds the six dependencies for aarch64-linux-gnu too. The rest is
# cmake/toolchain-cross.cmake. Not included by CMakeLists.txt's cmake/*.cmake glob.
set(CMAKE_SYSTEM_PROCESSOR aarch64)
include(${CMAKE_CURRENT_LIST_DIR}/toolchain-cross.cmake)
