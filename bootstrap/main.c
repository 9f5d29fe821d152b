/* Placeholder entry point; the runtime loop lands with the foundation issue. */
#include <stdio.h>

int main(void) {
    puts("smrotate bootstrap");
    return 0;
}
