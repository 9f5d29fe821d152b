/*
 * Fuzz target: the per-secret settings (rotators/settings.c): smrotate: tags and the rotation
 * schedule a DescribeSecret answer carries.
 *
 * Input: lines; the first is RotationRules.ScheduleExpression (empty: none), each further line a
 * tag "key=value" (at most 8). Invariants: the interval is never negative and is 0 for a schedule
 * that is not rate(...) or cron(...); resolving succeeds with a concrete strategy (never auto)
 * whose alternating-users pair, when set, is two different non-empty names without spaces, or
 * fails with ROT_ERR_SECRET_INVALID and a message that is valid UTF-8. No crash, no leak.
 */
#include "fuzz_common.h"
#include "settings.h"
#include "str.h"

FUZZ_INIT_HOOKS()

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    int64_t live = sm_mem_live_count();
    char *text = fuzz_copy(data, size, 1);
    struct secrets_tag tags[8];
    struct secrets_description d = {.tags = tags};
    char *line = text, *next = strchr(line, '\n');
    if (next != NULL) {
        *next++ = '\0';
    }
    d.rotation_schedule = line[0] != '\0' ? line : NULL;
    for (line = next; line != NULL && d.n_tags < 8; line = next) {
        next = strchr(line, '\n');
        if (next != NULL) {
            *next++ = '\0';
        }
        char *eq = strchr(line, '=');
        if (eq != NULL) {
            *eq = '\0';
        }
        tags[d.n_tags++] = (struct secrets_tag){line, eq != NULL ? eq + 1 : NULL};
    }
    long interval = rot_rotation_interval_days(&d);
    FUZZ_CHECK(interval >= 0);
    if (d.rotation_schedule != NULL && strncmp(d.rotation_schedule, "rate(", 5) != 0 &&
        strncmp(d.rotation_schedule, "cron(", 5) != 0) {
        FUZZ_CHECK(interval == 0);
    }
    struct rot_config cfg = {.strategy = size % 2 ? &rot_strategy_auto : &rot_strategy_single_user};
    struct rot_settings s;
    struct sm_err err;
    if (rot_settings_resolve(&cfg, &d, size % 3 == 0, &s, &err) == 0) {
        FUZZ_CHECK(s.strategy != NULL && !s.strategy->per_secret);
        if (s.pair[0] != NULL) {
            FUZZ_CHECK(s.pair[0][0] != '\0' && s.pair[1][0] != '\0');
            FUZZ_CHECK(strchr(s.pair[0], ' ') == NULL && strchr(s.pair[1], ' ') == NULL);
            FUZZ_CHECK(strcmp(s.pair[0], s.pair[1]) != 0);
        }
    } else {
        FUZZ_CHECK(err.code == ROT_ERR_SECRET_INVALID || err.code == SM_ERR_NOMEM);
        FUZZ_CHECK(sm_utf8_valid(err.msg, NULL));
    }
    rot_settings_clean_up(&s);
    free(text);
    FUZZ_CHECK(sm_mem_live_count() == live);
    return 0;
}
