/*
 * fake_sm_process: runs tests/fakes/fake_secretsmanager.py (the local Secrets Manager emulator)
 * or tests/fakes/fake_rds.py (the local RDS) as a child process of a C test.
 *
 * The emulator listens on a random free port of 127.0.0.1 (--port 0; the port arrives through
 * --port-file), its output goes to a log file in a private directory under $SMR_STATE_DIR (else
 * /tmp), and it dies with the test: fake_sm_stop, an atexit handler (a failed SM_ASSERT exits),
 * and PR_SET_PDEATHSIG (the test was killed) all end it. Control requests go through an HTTP
 * client of their own, so they never share a connection with the client under test.
 *
 * Test code: failures abort the test with SM_FAIL.
 */
#ifndef SM_FAKE_SM_PROCESS_H
#define SM_FAKE_SM_PROCESS_H

#include "http.h"

#include <cjson/cJSON.h>
#include <sys/types.h>

struct fake_sm {
    pid_t pid;
    int port;
    char endpoint[64]; /* http://127.0.0.1:<port> */
    char dir[512];     /* private directory: port file, log */
    struct http_client control;
};

/* Starts the emulator accepting access_key/secret_key (region us-east-1). extra_args: further
 * command-line arguments, NULL-terminated, or NULL. Calls http_global_init once per process. */
void fake_sm_start(struct fake_sm *f, const char *access_key, const char *secret_key,
                   const char *const *extra_args);

/* The same for the local RDS (tests/fakes/fake_rds.py), whose control API has the same shape. */
void fake_rds_start(struct fake_sm *f, const char *access_key, const char *secret_key,
                    const char *const *extra_args);

/* Sends an unsigned control request (method "GET"/"POST", path "/_fake/...", json body or NULL)
 * and returns the parsed JSON answer (caller frees with cJSON_Delete). Fails the test unless the
 * emulator answers 200 with JSON. */
cJSON *fake_sm_control(struct fake_sm *f, const char *method, const char *path, const char *json);

/* Shorthand: injects a fault, e.g. fake_sm_fault(f, "GetSecretValue", "ThrottlingException", 2). */
void fake_sm_fault(struct fake_sm *f, const char *operation, const char *error, int count);

/* The emulator's API calls recorded so far for operation (NULL: all). The emulator records a
 * call just after answering it, so the newest one may still be missing: see fake_sm_wait_calls. */
int fake_sm_count_calls(struct fake_sm *f, const char *operation);

/* fake_sm_count_calls once it reaches want (polling for up to 3 s), then once more after a short
 * pause so that a surplus call shows too. Returns the count. */
int fake_sm_wait_calls(struct fake_sm *f, const char *operation, int want);

/* Stops the emulator and removes its directory. Accepts a stopped or zeroed struct. */
void fake_sm_stop(struct fake_sm *f);

#endif
