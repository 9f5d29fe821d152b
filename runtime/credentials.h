/*
 * credentials: the AWS credential chain for a shell (`bootstrap check` run by an operator), found
 * the way the AWS CLI (botocore's credentials.py) finds them, in its order:
 *
 *   1. environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN
 *   2. the profile (AWS_PROFILE, else "default") in the shared config and credentials files
 *      (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE; ~/.aws/config, ~/.aws/credentials):
 *      role_arn + source_profile or credential_source through STS AssumeRole; then web identity
 *      (AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN, or the profile's web_identity_token_file +
 *      role_arn) through STS AssumeRoleWithWebIdentity; then the credentials file's keys,
 *      credential_process, the config file's keys
 *   3. the container credentials endpoint (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or _FULL_URI)
 *   4. EC2 instance metadata (IMDSv2)
 *
 * The first source that is configured decides: when it fails, the chain stops with its error, as
 * botocore does (only instance metadata that does not answer counts as "not there"). Each rule's
 * origin in the SDKs is written next to it in runtime/credentials.c and runtime/creds_*.c;
 * README ("Credentials for `bootstrap check` from a shell") lists what is not supported (SSO and
 * login profiles, MFA prompts).
 *
 * Inside Lambda none of this runs: the function's credentials come from the environment alone
 * (aws_config_from_env). Secret material (secret keys, session tokens, web identity tokens,
 * credential_process's stdout, which carries the keys, file contents) lives in sm_ memory, wiped
 * when freed, and never reaches a message. credential_process's stderr, the program's own
 * diagnostics, is quoted in the error when it fails (one line, cut at 400 bytes), as botocore
 * includes it: a program that writes a secret there exposes it.
 */
#ifndef SM_CREDENTIALS_H
#define SM_CREDENTIALS_H

#include "aws.h"
#include "err.h"

#include <stddef.h>
#include <stdint.h>

/* Resolves the credentials into cfg, which aws_config_settings_from_env filled (the caller may
 * have set cfg->region from a --region option since; its credentials are NULL). The region, when
 * cfg has none, comes from the profile's `region`. HTTP (STS, the container endpoint, instance
 * metadata) goes through sys (aws_system_real over an HTTP client, or a test's), bounded by
 * deadline_ms (Unix ms on sys's clock; 0: none); credential_process runs within it too.
 *
 * On success cfg holds access_key_id, secret_access_key, session_token (NULL when the source gives
 * none) and a region, and source (cap bytes, may be 0) says where they came from, for the
 * operator's report: "profile dev: assume role arn:aws:iam::…:role/x with credentials from profile
 * base: static keys in /home/u/.aws/credentials". Never a secret.
 *
 * Returns 0, or -1 with err: SM_ERR_CONFIG when no source is configured (the message lists what
 * each source lacked), a configured source is unusable (a file that does not parse, a missing
 * profile, an unsupported setting, a credential_process that fails or answers badly,
 * credentials that expire before deadline_ms, source credentials expired before AssumeRole) or no
 * region is known; the STS error (SM_ERR_AWS_*, SM_ERR_TRANSPORT, ...) when
 * AssumeRole or AssumeRoleWithWebIdentity fails; SM_ERR_TRANSPORT or SM_ERR_PROTOCOL when the
 * container endpoint fails; SM_ERR_DEADLINE; SM_ERR_NOMEM. The message starts with the source
 * ("profile dev (credential_process): ..."). cfg's credentials are then NULL; the caller still
 * cleans cfg up with aws_config_clean_up either way. */
int creds_resolve(struct aws_config *cfg, const struct aws_system *sys, int64_t deadline_ms,
                  char *source, size_t cap, struct sm_err *err);

#endif
