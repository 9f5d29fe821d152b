#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

SM_ERRORS(SM_CODE_DEFINE)

void sm_err_clear(struct sm_err *err) {
    if (err == NULL) {
        return;
    }
    err->code = SM_ERR_OK;
    err->aws_type[0] = '\0';
    err->http_status = 0;
    err->msg[0] = '\0';
}

int sm_err_set(struct sm_err *err, const struct sm_code *code, const char *fmt, ...) {
    if (err == NULL) {
        return -1;
    }
    err->code = code;
    err->aws_type[0] = '\0';
    err->http_status = 0;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    if (n < 0) {
        snprintf(err->msg, sizeof(err->msg), "%s", code != NULL ? code->sentence : "error");
    }
    return -1;
}

int sm_err_prefix(struct sm_err *err, const char *fmt, ...) {
    if (err == NULL) {
        return -1;
    }
    char prefix[SM_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    if (n < 0) {
        return -1;
    }
    /* Compose in a buffer wide enough for both, then truncate into the message. */
    char joined[2 * SM_ERR_MSG_MAX + 2];
    if (err->msg[0] == '\0') {
        snprintf(joined, sizeof(joined), "%s", prefix);
    } else {
        snprintf(joined, sizeof(joined), "%s: %s", prefix, err->msg);
    }
    snprintf(err->msg, sizeof(err->msg), "%.*s", (int)(sizeof(err->msg) - 1), joined);
    return -1;
}

const char *sm_code_name(const struct sm_code *code) {
    return code != NULL ? code->name : SM_ERR_OK->name;
}

bool sm_code_is_transient(const struct sm_code *code) {
    return code != NULL && code->transient;
}

const char *sm_err_type(const struct sm_err *err) {
    if (err->aws_type[0] != '\0') {
        return err->aws_type;
    }
    return sm_code_name(err->code);
}

bool sm_err_is_aws(const struct sm_err *err, const char *aws_type) {
    return err->aws_type[0] != '\0' && strcmp(err->aws_type, aws_type) == 0;
}
