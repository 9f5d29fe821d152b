/*
 * mem_testing: the allocator's counters, the torture failure point and the wipe checks, for
 * tests, torture walks and fuzz targets. Only mem.c, which defines them, and tests include it.
 */
#ifndef SM_MEM_TESTING_H
#define SM_MEM_TESTING_H

#include "mem.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Number of live allocations (allocated and not yet freed); used by leak tests. */
int64_t sm_mem_live_count(void);

/* Total allocations attempted since start; used by torture tests to size their loop. */
int64_t sm_mem_attempt_count(void);

/* Sets the torture failure point: 0 disables, N fails the Nth attempt and later. Only effective
 * in SM_TORTURE builds; reads SM_TORTURE_FAIL_AT at first allocation otherwise. */
void sm_mem_fail_at(int64_t n);

/* Wipe checking; effective only in SM_TORTURE builds. sm_mem_check_begin empties the quarantine
 * and starts quarantining freed blocks; it returns false (and does nothing) in other builds. */
bool sm_mem_check_begin(void);

/* Stops quarantining and returns every quarantined block to libc. Accepts a call without begin. */
void sm_mem_check_end(void);

struct sm_mem_check {
    size_t live_blocks, live_bytes;   /* blocks allocated and not freed */
    size_t freed_blocks, freed_bytes; /* blocks in the quarantine */
    size_t found_live, found_freed;   /* occurrences of the needle in each */
    size_t freed_not_zero;            /* quarantined blocks with a non-zero byte */
};

/* Counts the occurrences of needle (n bytes) in every live block and every quarantined block,
 * and the quarantined blocks that are not all zeros. All zeros in other builds. */
void sm_mem_check_scan(const void *needle, size_t n, struct sm_mem_check *out);

#endif
