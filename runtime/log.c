#include "log.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define ID_MAX 128
#define FIELD_MAX 2048

static bool s_json;
static enum sm_log_level s_threshold = SM_LOG_INFO;
static FILE *s_stream;
static char s_request_id[ID_MAX];
static struct {
    const char *name; /* borrowed: a string literal of the caller's allowlist */
    char value[FIELD_MAX];
} s_context[SM_LOG_CONTEXT_MAX];
static size_t s_n_context;

static const char *const s_names[] = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"};

bool sm_log_parse_level(const char *name, enum sm_log_level *out) {
    for (size_t i = 0; i < sizeof(s_names) / sizeof(s_names[0]); i++) {
        if (strcasecmp(name, s_names[i]) == 0) {
            *out = (enum sm_log_level)i;
            return true;
        }
    }
    if (strcasecmp(name, "WARNING") == 0) {
        *out = SM_LOG_WARN;
        return true;
    }
    return false;
}

void sm_log_init_from_env(void) {
    const char *format = getenv("AWS_LAMBDA_LOG_FORMAT");
    s_json = format != NULL && strcasecmp(format, "JSON") == 0;
    s_threshold = SM_LOG_INFO;
    const char *level = getenv("AWS_LAMBDA_LOG_LEVEL");
    if (level != NULL && level[0] != '\0' && !sm_log_parse_level(level, &s_threshold)) {
        s_threshold = SM_LOG_INFO;
        sm_log(SM_LOG_WARN, "AWS_LAMBDA_LOG_LEVEL=%.32s is not a known level; using INFO", level);
    }
}

void sm_log_configure(bool json, enum sm_log_level threshold) {
    s_json = json;
    s_threshold = threshold;
}

void sm_log_set_stream(FILE *stream) {
    s_stream = stream;
}

static void copy_field(char *dst, size_t cap, const char *src) {
    if (src == NULL) {
        dst[0] = '\0';
        return;
    }
    snprintf(dst, cap, "%s", src);
}

void sm_log_set_request_id(const char *request_id) {
    copy_field(s_request_id, sizeof(s_request_id), request_id);
}

void sm_log_set_context(const struct sm_log_field *fields, size_t n) {
    s_n_context = 0;
    for (size_t i = 0; i < n && s_n_context < SM_LOG_CONTEXT_MAX; i++) {
        if (fields[i].value != NULL && fields[i].value[0] != '\0') {
            s_context[s_n_context].name = fields[i].name;
            copy_field(s_context[s_n_context].value, FIELD_MAX, fields[i].value);
            s_n_context++;
        }
    }
}

bool sm_log_enabled(enum sm_log_level level) {
    return level >= s_threshold;
}

static void timestamp(char *out, size_t cap) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, cap - n, ".%03dZ", (int)(ts.tv_nsec / 1000000) % 1000);
}

/* One record is one line: in text mode control characters would split it in CloudWatch. */
static void flatten(char *s) {
    for (; *s != '\0'; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f) {
            *s = ' ';
        }
    }
}

/* Adds the context fields to o; deletes o and returns NULL when out of memory. */
static cJSON *add_context(cJSON *o) {
    for (size_t i = 0; o != NULL && i < s_n_context; i++) {
        if (cJSON_AddStringToObject(o, s_context[i].name, s_context[i].value) == NULL) {
            cJSON_Delete(o);
            o = NULL;
        }
    }
    return o;
}

static void write_json(FILE *out, const char *ts, enum sm_log_level level, const char *msg) {
    cJSON *o = cJSON_CreateObject();
    if (o == NULL || cJSON_AddStringToObject(o, "timestamp", ts) == NULL ||
        cJSON_AddStringToObject(o, "level", s_names[level]) == NULL ||
        cJSON_AddStringToObject(o, "message", msg) == NULL ||
        (s_request_id[0] != '\0' &&
         cJSON_AddStringToObject(o, "requestId", s_request_id) == NULL)) {
        cJSON_Delete(o);
        o = NULL;
    }
    o = add_context(o);
    if (o == NULL) {
        /* Out of memory: still say something, without the message (it may be long). */
        fprintf(out, "{\"level\":\"%s\",\"message\":\"log line dropped: out of memory\"}\n",
                s_names[level]);
        return;
    }
    char *line = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (line == NULL) {
        fprintf(out, "{\"level\":\"%s\",\"message\":\"log line dropped: out of memory\"}\n",
                s_names[level]);
        return;
    }
    fprintf(out, "%s\n", line);
    cJSON_free(line);
}

int sm_log_object(enum sm_log_level level, cJSON *obj, struct sm_err *err) {
    if (!sm_log_enabled(level)) {
        return 0;
    }
    char ts[40];
    timestamp(ts, sizeof(ts));
    char *line = NULL;
    if (cJSON_AddStringToObject(obj, "timestamp", ts) != NULL &&
        cJSON_AddStringToObject(obj, "level", s_names[level]) != NULL &&
        (s_request_id[0] == '\0' ||
         cJSON_AddStringToObject(obj, "requestId", s_request_id) != NULL)) {
        line = cJSON_PrintUnformatted(obj);
    }
    if (line == NULL) {
        return sm_err_set(err, SM_ERR_NOMEM, "out of memory writing a log object");
    }
    FILE *out = s_stream != NULL ? s_stream : stderr;
    fprintf(out, "%s\n", line);
    fflush(out);
    cJSON_free(line);
    return 0;
}

void sm_log(enum sm_log_level level, const char *fmt, ...) {
    if (!sm_log_enabled(level)) {
        return;
    }
    int saved_errno = errno;
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    char ts[40];
    timestamp(ts, sizeof(ts));
    FILE *out = s_stream != NULL ? s_stream : stderr;
    if (s_json) {
        write_json(out, ts, level, msg);
    } else {
        flatten(msg);
        fprintf(out, "%s\t%s\t%s\t", ts, s_names[level],
                s_request_id[0] != '\0' ? s_request_id : "-");
        fprintf(out, "%s\n", msg);
    }
    fflush(out);
    errno = saved_errno;
}
