/* glibc_newer_probe: needs arc4random (GLIBC_2.36), newer than Amazon Linux 2023's glibc 2.34;
 * docker/package.sh must refuse to package it. */
#include <stdio.h>
#include <stdlib.h>

int main(void) {
    printf("%u\n", arc4random());
    return 0;
}
