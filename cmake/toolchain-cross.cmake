# toolchain-cross.cmake: what cmake/toolchain-arm64.cmake and cmake/toolchain-x86_64.cmake share,
# after each sets CMAKE_SYSTEM_PROCESSOR: Debian's cross compiler for that CPU
# (gcc-<cpu>-linux-gnu, libc6-dev-<arch>-cross; `cmake/deps.sh install-tools <arch>` installs
# them), its sysroot for libraries and headers, and qemu-user for programs that must run at build
# or test time, when installed. Not included by CMakeLists.txt's cmake/*.cmake glob.
set(CMAKE_SYSTEM_NAME Linux)
set(sm_cross_triplet ${CMAKE_SYSTEM_PROCESSOR}-linux-gnu)
set(CMAKE_C_COMPILER ${sm_cross_triplet}-gcc)
set(CMAKE_FIND_ROOT_PATH /usr/${sm_cross_triplet})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
if(EXISTS /usr/bin/qemu-${CMAKE_SYSTEM_PROCESSOR}-static)
  set(CMAKE_CROSSCOMPILING_EMULATOR /usr/bin/qemu-${CMAKE_SYSTEM_PROCESSOR}-static
      -L /usr/${sm_cross_triplet})
endif()
