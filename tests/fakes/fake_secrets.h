/*
 * fake_secrets: an in-process Secrets Manager behind struct secrets_ops (runtime/secretsmanager.h),
 * for the unit tests of the rotation steps: no Python, no network, no SigV4.
 *
 * It keeps the staging semantics the steps rely on, as the service documents them and the
 * emulator (fake_secretsmanager.py) implements them: one holder per label; moving AWSCURRENT gives
 * its old holder AWSPREVIOUS; RotateSecret's value-less AWSPENDING stub, filled by PutSecretValue;
 * PutSecretValue is idempotent for the same token and value and refuses another value
 * (ResourceExistsException); GetSecretValue of a missing or value-less version is
 * ResourceNotFoundException; UpdateSecretVersionStage needs RemoveFromVersionId to name the
 * label's holder. Errors have the service's codes and messages and are classified by the AWS
 * layer's own table (aws_error_set), so the steps see what the real client would return.
 * GetRandomPassword honours the policy from a fixed-seed generator: runs are repeatable.
 *
 * One fake per process (static state); fake_secrets_reset starts afresh. Its storage uses libc's
 * malloc, not our allocator: it plays the service, whose memory is not ours, so allocation-failure
 * walks fail only our allocations and wipe checks do not count it.
 */
#ifndef SM_FAKE_SECRETS_H
#define SM_FAKE_SECRETS_H

#include "secretsmanager.h"

#include <stdbool.h>

/* The version CreateSecret gives a new secret. */
#define FAKE_SECRETS_FIRST_VERSION "00000000-0000-4000-8000-000000000001"

extern const struct secrets_ops fake_secrets_ops; /* impl: ignored (pass NULL) */

/* Forgets every secret, fault and call. */
void fake_secrets_reset(void);

/* CreateSecret: a secret called name whose first version (FAKE_SECRETS_FIRST_VERSION, AWSCURRENT)
 * holds value. Returns its ARN (static storage, valid until the next reset). */
const char *fake_secrets_create(const char *name, const char *value);

/* PutSecretValue as a caller outside the rotation would: value as version_id with one stage
 * (NULL: AWSCURRENT, which also removes AWSPENDING from the secret, as the service does). */
void fake_secrets_put(const char *arn, const char *version_id, const char *stage,
                      const char *value);

/* RotateSecret: rotation enabled, and a value-less version token with AWSPENDING. */
void fake_secrets_rotate(const char *arn, const char *token);

/* RotateSecret with RotateImmediately=false, its test over: rotation enabled with function_arn
 * (RotationLambdaARN), and no pending version. */
void fake_secrets_enable_rotation(const char *arn, const char *function_arn);

/* CancelRotateSecret: rotation disabled (the pending label stays). */
void fake_secrets_cancel_rotation(const char *arn);

/* Tags the secret (DescribeSecret returns them). */
void fake_secrets_tag(const char *arn, const char *key, const char *value);

/* Sets the secret's RotationRules.ScheduleExpression ("rate(30 days)"). */
void fake_secrets_schedule(const char *arn, const char *expression);

/* The next count calls of operation ("GetSecretValue", ...; "*" for any) fail with the AWS error
 * code (ThrottlingException, InternalServiceError (500), AccessDeniedException, ...). apply: the
 * call takes effect first, then its answer is lost (the error is returned anyway). */
void fake_secrets_fault(const char *operation, const char *code, int count, bool apply);

/* Calls of operation so far (NULL: all). */
int fake_secrets_calls(const char *operation);

/* Calls of operation that carried a RotationToken. */
int fake_secrets_calls_with_rotation_token(const char *operation);

/* The value of the version with version_id (or, when NULL, the holder of stage), or NULL when it
 * has none. Borrowed until the next call into the fake. */
const char *fake_secrets_value(const char *arn, const char *version_id, const char *stage);

/* Whether version_id carries stage. */
bool fake_secrets_has_stage(const char *arn, const char *version_id, const char *stage);

#endif
