/*
 * clock: wall-clock and monotonic milliseconds, and invocation deadlines.
 *
 * A deadline is an absolute Unix time in milliseconds (what Lambda's Lambda-Runtime-Deadline-Ms
 * carries); 0 means "no deadline".
 */
#ifndef SM_CLOCK_H
#define SM_CLOCK_H

#include <stdint.h>

/* Milliseconds since the Unix epoch (CLOCK_REALTIME). */
int64_t sm_now_ms(void);

/* Milliseconds from an arbitrary origin that never jumps (CLOCK_MONOTONIC). */
int64_t sm_monotonic_ms(void);

/* Milliseconds left before deadline_ms: INT64_MAX when deadline_ms is 0, never negative. */
int64_t sm_remaining_ms(int64_t deadline_ms);

/* Sleeps for ms milliseconds (restarting after signals). */
void sm_sleep_ms(int64_t ms);

#endif
