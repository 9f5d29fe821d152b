#include "clock.h"

#include <errno.h>
#include <time.h>

int64_t sm_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t sm_monotonic_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t sm_remaining_ms(int64_t deadline_ms) {
    if (deadline_ms == 0) {
        return INT64_MAX;
    }
    int64_t left = deadline_ms - sm_now_ms();
    return left > 0 ? left : 0;
}

void sm_sleep_ms(int64_t ms) {
    if (ms <= 0) {
        return;
    }
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}
