/*
 * creds_testing: the credential chain's readers of untrusted input, for tests and the fuzz target
 * (tests/fuzz/fuzz_creds.c). Only creds_http.c and creds_process.c, which define them, and tests
 * include it. The other readers the fuzz target runs are creds_sources.h's: creds_ini_parse,
 * creds_split_command, creds_parse_time.
 */
#ifndef SM_CREDS_TESTING_H
#define SM_CREDS_TESTING_H

#include "creds_sources.h"

#include <stddef.h>

/* The credential fields of a JSON answer of the container endpoint or instance metadata (len
 * bytes; AccessKeyId, SecretAccessKey, Token, Expiration, all required as botocore reads them)
 * into out. Returns 1; 0 when the body is JSON without them, or no JSON (code, when not NULL, gets
 * an IMDS error answer's Code and Message, cap bytes); -1 with err (SM_ERR_PROTOCOL for an
 * Expiration that is no time, SM_ERR_NOMEM). */
int creds_http_read_answer(const char *body, size_t len, struct creds *out, char *code, size_t cap,
                           struct sm_err *err);

/* credential_process's JSON Version 1 answer (len bytes; botocore's
 * _retrieve_credentials_using): Version 1, AccessKeyId and SecretAccessKey required, SessionToken
 * and Expiration optional, into out. Returns 0, or -1 with err (SM_ERR_CONFIG: no JSON, another
 * Version, a missing key, an Expiration that is no time; SM_ERR_NOMEM). */
int creds_process_read_answer(const char *json, size_t len, struct creds *out, struct sm_err *err);

#endif
