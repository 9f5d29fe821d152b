/*
 * sts_testing: the STS client's answer reader, for tests and the fuzz target. Only sts.c, which
 * defines it, and tests include it.
 */
#ifndef SM_STS_TESTING_H
#define SM_STS_TESTING_H

#include "sts.h"

#include <stddef.h>

/* Reads the credentials of an AssumeRole or AssumeRoleWithWebIdentity answer (len bytes): the
 * fields of struct sts_credentials inside its first element named result ("AssumeRoleResult").
 * Returns 0 (a field the answer lacks stays NULL); SM_ERR_PROTOCOL when the body is not
 * well-formed XML, holds a document type declaration or holds no result; SM_ERR_NOMEM. out is
 * always safe to clean up. */
int sts_read_credentials(const char *xml, size_t len, const char *result,
                         struct sts_credentials *out, struct sm_err *err);

#endif
