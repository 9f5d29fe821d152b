/*
 * event: the Secrets Manager rotation event, parsed and checked.
 *
 * {"Step": "createSecret"|"setSecret"|"testSecret"|"finishSecret", "SecretId": "<arn>",
 *  "ClientRequestToken": "<version id>", "RotationToken": "<opaque>"?}
 *
 * or the operator's preflight check, invoked directly (check.h):
 * {"Action": "check", "SecretId": "<id>"}
 * An event with an Action is a check event and has no other field; one without is a rotation
 * event, read exactly as Secrets Manager sends it.
 *
 * The payload is untrusted: every field is type- and length-checked, and error messages never
 * quote the payload (only a bounded, sanitised Step name, which is no secret). RotationToken is
 * sensitive (Secrets Manager keeps it out of CloudTrail): it is held in wiped memory and never
 * logged.
 */
#ifndef ROT_EVENT_H
#define ROT_EVENT_H

#include "errors.h"

#include <stddef.h>

enum rot_step {
    ROT_STEP_CREATE,
    ROT_STEP_SET,
    ROT_STEP_TEST,
    ROT_STEP_FINISH,
};

enum rot_action {
    ROT_ACTION_ROTATE, /* a rotation event: run step */
    ROT_ACTION_CHECK,  /* a check event: the read-only preflight check of secret_id */
};

struct rot_event {
    enum rot_action action;
    enum rot_step step;   /* a rotation event's */
    char *secret_id;      /* 1-2048 printable ASCII bytes */
    char *token;          /* ClientRequestToken, 32-64 bytes; NULL in a check event */
    char *rotation_token; /* NULL when absent or empty, and in a check event */
};

/* Parses len bytes of event JSON into ev. Returns 0, or -1 with err (SM_ERR_EVENT for a malformed
 * event, a missing field, an unknown Action or a check event with rotation fields,
 * ROT_ERR_ROTATION "Invalid step parameter ..." for an unknown Step, SM_ERR_NOMEM). ev is always
 * safe to clean up afterwards. Caller releases ev with rot_event_clean_up. */
int rot_event_parse(const char *payload, size_t len, struct rot_event *ev, struct sm_err *err);

/* Frees ev's strings (wiping them). Accepts a zeroed struct. */
void rot_event_clean_up(struct rot_event *ev);

/* "createSecret", ... */
const char *rot_step_name(enum rot_step step);

#endif
