/*
 * fake_aws_process: runs tests/fakes/fake_secretsmanager.py (the local Secrets Manager emulator),
 * fake_rds.py (the local RDS) or a credential fake (STS, instance metadata, container endpoint)
 * as a child process of a C test, and points a client at it without backoff delays.
 *
 * The emulator listens on a random free port of 127.0.0.1 (--port 0; the port arrives through
 * --port-file), its output goes to a log file in a private directory under $SMR_STATE_DIR (else
 * /tmp), and it dies with the test: fake_aws_stop, an atexit handler (a failed SM_ASSERT exits),
 * and PR_SET_PDEATHSIG (the test was killed) all end it. Control requests go through an HTTP
 * client of their own, so they never share a connection with the client under test.
 *
 * Test code: failures abort the test with SM_FAIL.
 */
#ifndef SM_FAKE_AWS_PROCESS_H
#define SM_FAKE_AWS_PROCESS_H

#include "aws.h"
#include "http.h"

#include <cjson/cJSON.h>
#include <sys/types.h>

struct fake_aws {
    pid_t pid;
    int port;
    char endpoint[64]; /* http://127.0.0.1:<port> */
    char dir[512];     /* private directory: port file, log */
    struct http_client control;
};

/* Starts the emulator accepting access_key/secret_key (region us-east-1). extra_args: further
 * command-line arguments, NULL-terminated, or NULL. Calls http_global_init once per process. */
void fake_aws_start_secretsmanager(struct fake_aws *f, const char *access_key,
                                   const char *secret_key, const char *const *extra_args);

/* The same for the local RDS (tests/fakes/fake_rds.py), whose control API is the same. */
void fake_aws_start_rds(struct fake_aws *f, const char *access_key, const char *secret_key,
                        const char *const *extra_args);

/* The same for the credential fakes: STS (fake_sts.py; the keys are the caller's it accepts), the
 * instance metadata service (fake_imds.py) and the container credentials endpoint
 * (fake_container_creds.py) (for both, the keys, with --session-token in extra_args, are the
 * credentials they hand out). */
void fake_aws_start_sts(struct fake_aws *f, const char *access_key, const char *secret_key,
                        const char *const *extra_args);
void fake_aws_start_imds(struct fake_aws *f, const char *access_key, const char *secret_key,
                         const char *const *extra_args);
void fake_aws_start_container_creds(struct fake_aws *f, const char *access_key,
                                    const char *secret_key, const char *const *extra_args);

/* Sends an unsigned control request (method "GET"/"POST", path "/_fake/...", json body or NULL)
 * and returns the parsed JSON answer (caller frees with cJSON_Delete). Fails the test unless the
 * emulator answers 200 with JSON. */
cJSON *fake_aws_control(struct fake_aws *f, const char *method, const char *path, const char *json);

/* Shorthand: injects a fault, e.g. fake_aws_fault(f, "GetSecretValue", "ThrottlingException", 2).
 */
void fake_aws_fault(struct fake_aws *f, const char *operation, const char *error, int count);

/* The emulator's API calls recorded so far for operation (NULL: all). The emulator records a
 * call just after answering it, so the newest one may still be missing: see fake_aws_wait_calls. */
int fake_aws_count_calls(struct fake_aws *f, const char *operation);

/* fake_aws_count_calls once it reaches want (polling for up to 3 s), then once more after a short
 * pause so that a surplus call shows too. Returns the count. */
int fake_aws_wait_calls(struct fake_aws *f, const char *operation, int want);

/* Keeps c's real transport and clock but draws every backoff delay as 0, so a retried attempt
 * costs no sleep. */
void fake_aws_no_jitter(struct aws_client *c);

/* Stops the emulator and removes its directory. Accepts a stopped or zeroed struct. */
void fake_aws_stop(struct fake_aws *f);

#endif
