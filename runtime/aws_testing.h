/*
 * aws_testing: what tests and the in-process fakes use of the AWS client layer beyond aws.h. Only
 * aws.c, which defines it, and tests include it.
 */
#ifndef SM_AWS_TESTING_H
#define SM_AWS_TESTING_H

#include "aws.h"

/* Fills err for an answered error as aws_send does: the code from fields (else the HTTP status),
 * classified by one table (throttling codes, including LimitExceededException as in the SDKs:
 * SM_ERR_AWS_THROTTLED; 5xx and internal-failure codes: SM_ERR_AWS_SERVER; signature and
 * credential codes: SM_ERR_AWS_AUTH; anything else, AccessDenied included: SM_ERR_AWS_CLIENT),
 * err->aws_type and err->http_status set, and the message "<operation> on <resource> failed:
 * <code>: <message>". Always returns -1. The in-process fakes classify their errors with it. */
int aws_error_set(struct sm_err *err, const char *operation, const char *resource, long status,
                  const struct aws_error_fields *fields);

#endif
