# toolchain-x86_64.cmake: cross-compiling for x86_64 on an arm64 Debian 12 machine with Debian's
# cross toolchain (gcc-x86-64-linux-gnu, libc6-dev-amd64-cross; `cmake/deps.sh install-tools
# amd64`): what docker/Dockerfile uses for `--platform linux/amd64` on an arm64 builder. The twin
# of cmake/toolchain-arm64.cmake; the rest is cmake/toolchain-cross.cmake.
set(CMAKE_SYSTEM_PROCESSOR x86_64)
include(${CMAKE_CURRENT_LIST_DIR}/toolchain-cross.cmake)
