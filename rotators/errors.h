/*
 * errors: the rotators' error classes (runtime/err.h explains codes and catalogues).
 *
 * The secret's value, the rotation's preconditions and the database: what the rotation steps and
 * the engines report. The names are the Lambda errorType an operator sees and filters on.
 */
#ifndef ROT_ERRORS_H
#define ROT_ERRORS_H

#include "err.h"

/* X(prefix, code, name, transient, sentence) */
#define ROT_ERRORS(X)                                                                              \
    X(ROT_ERR_, SECRET_INVALID, "SecretInvalid", false, "the secret's value is not valid")         \
    X(ROT_ERR_, ROTATION, "RotationError", false, "rotation precondition failed")                  \
    X(ROT_ERR_, DB_UNREACHABLE, "DatabaseUnreachable", true, "database cannot be reached")         \
    X(ROT_ERR_, DB_LOGIN, "DatabaseLoginFailed", false, "database login failed")                   \
    X(ROT_ERR_, DB_TLS, "DatabaseTlsFailed", false,                                                \
      "database TLS negotiation or verification failed")                                           \
    X(ROT_ERR_, DB_QUERY, "DatabaseQueryFailed", false, "database statement failed")               \
    X(ROT_ERR_, UNSUPPORTED, "Unsupported", false, "not supported")

ROT_ERRORS(SM_CODE_DECLARE)

#endif
