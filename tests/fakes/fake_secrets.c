#include "fake_secrets.h"

#include "aws_testing.h"
#include "harness.h"
#include "mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SECRETS 8
#define MAX_VERSIONS 16
#define MAX_STAGES 4
#define MAX_TAGS 4
#define MAX_FAULTS 8
#define MAX_CALLS 512

struct version {
    char id[72];
    char *value; /* libc malloc; NULL for RotateSecret's stub */
    char stages[MAX_STAGES][32];
};

struct secret {
    char arn[300];
    int rotation_enabled; /* -1: never configured (DescribeSecret omits it), 0, 1 */
    struct version versions[MAX_VERSIONS];
    size_t n_versions;
    char tag_keys[MAX_TAGS][128], tag_values[MAX_TAGS][300];
    size_t n_tags;
    char schedule[128]; /* RotationRules.ScheduleExpression; "" when none */
    char function[200]; /* RotationLambdaARN; "" when none */
};

struct fault {
    char operation[40];
    char code[64];
    int count;
    bool apply;
};

struct call {
    char operation[40];
    bool rotation_token;
};

static struct {
    struct secret secrets[MAX_SECRETS];
    size_t n_secrets;
    struct fault faults[MAX_FAULTS];
    size_t n_faults;
    struct call calls[MAX_CALLS];
    size_t n_calls;
    unsigned long long rng;
} s_fake;

/* ---- storage -------------------------------------------------------------------------------- */

static char *copy(const char *s) {
    char *c = strdup(s);
    SM_ASSERT(c != NULL);
    return c;
}

void fake_secrets_reset(void) {
    for (size_t i = 0; i < s_fake.n_secrets; i++) {
        for (size_t k = 0; k < s_fake.secrets[i].n_versions; k++) {
            free(s_fake.secrets[i].versions[k].value);
        }
    }
    memset(&s_fake, 0, sizeof(s_fake));
    s_fake.rng = 0x2545F4914F6CDD1DULL;
}

static struct secret *find(const char *id) {
    for (size_t i = 0; id != NULL && i < s_fake.n_secrets; i++) {
        const char *arn = s_fake.secrets[i].arn;
        const char *name = strrchr(arn, ':') + 1;
        size_t n = strlen(name) - 7; /* the name without the "-XXXXXX" suffix */
        if (strcmp(arn, id) == 0 || (strlen(id) == n && strncmp(name, id, n) == 0)) {
            return &s_fake.secrets[i];
        }
    }
    return NULL;
}

static struct version *version(struct secret *s, const char *id) {
    for (size_t i = 0; id != NULL && i < s->n_versions; i++) {
        if (strcmp(s->versions[i].id, id) == 0) {
            return &s->versions[i];
        }
    }
    return NULL;
}

static bool has(const struct version *v, const char *stage) {
    for (size_t i = 0; i < MAX_STAGES; i++) {
        if (strcmp(v->stages[i], stage) == 0) {
            return true;
        }
    }
    return false;
}

static struct version *holder(struct secret *s, const char *stage) {
    for (size_t i = 0; i < s->n_versions; i++) {
        if (has(&s->versions[i], stage)) {
            return &s->versions[i];
        }
    }
    return NULL;
}

static void detach(struct secret *s, const char *stage) {
    for (size_t i = 0; i < s->n_versions; i++) {
        for (size_t k = 0; k < MAX_STAGES; k++) {
            if (strcmp(s->versions[i].stages[k], stage) == 0) {
                s->versions[i].stages[k][0] = '\0';
            }
        }
    }
}

static void attach(struct secret *s, struct version *v, const char *stage) {
    detach(s, stage);
    for (size_t k = 0; k < MAX_STAGES; k++) {
        if (v->stages[k][0] == '\0') {
            snprintf(v->stages[k], sizeof(v->stages[k]), "%s", stage);
            return;
        }
    }
    SM_FAIL("fake_secrets: too many stages on version %s", v->id);
}

/* AWSCURRENT -> v; its old holder gets AWSPREVIOUS. */
static void move_current(struct secret *s, struct version *v) {
    struct version *old = holder(s, "AWSCURRENT");
    if (old == v) {
        return;
    }
    detach(s, "AWSCURRENT");
    if (old != NULL) {
        attach(s, old, "AWSPREVIOUS");
    }
    attach(s, v, "AWSCURRENT");
    if (old != NULL) {
        for (size_t k = 0; k < MAX_STAGES; k++) {
            if (strcmp(v->stages[k], "AWSPREVIOUS") == 0) {
                v->stages[k][0] = '\0';
            }
        }
    }
}

static struct version *new_version(struct secret *s, const char *id) {
    SM_ASSERT(s->n_versions < MAX_VERSIONS);
    struct version *v = &s->versions[s->n_versions++];
    memset(v, 0, sizeof(*v));
    snprintf(v->id, sizeof(v->id), "%s", id);
    return v;
}

const char *fake_secrets_create(const char *name, const char *value) {
    SM_ASSERT(s_fake.n_secrets < MAX_SECRETS);
    struct secret *s = &s_fake.secrets[s_fake.n_secrets++];
    memset(s, 0, sizeof(*s));
    s->rotation_enabled = -1;
    snprintf(s->arn, sizeof(s->arn),
             "arn:aws:secretsmanager:us-east-1:123456789012:secret:%s-%06zu", name,
             s_fake.n_secrets);
    struct version *v = new_version(s, FAKE_SECRETS_FIRST_VERSION);
    v->value = copy(value);
    attach(s, v, "AWSCURRENT");
    return s->arn;
}

void fake_secrets_put(const char *arn, const char *version_id, const char *stage,
                      const char *value) {
    struct secret *s = find(arn);
    SM_ASSERT(s != NULL);
    struct version *v = version(s, version_id);
    if (v == NULL) {
        v = new_version(s, version_id);
    }
    free(v->value);
    v->value = copy(value);
    if (stage == NULL || strcmp(stage, "AWSCURRENT") == 0) {
        move_current(s, v);
        detach(s, "AWSPENDING");
    } else {
        attach(s, v, stage);
    }
}

void fake_secrets_rotate(const char *arn, const char *token) {
    struct secret *s = find(arn);
    SM_ASSERT(s != NULL);
    s->rotation_enabled = 1;
    detach(s, "AWSPENDING");
    attach(s, new_version(s, token), "AWSPENDING");
}

void fake_secrets_enable_rotation(const char *arn, const char *function_arn) {
    struct secret *s = find(arn);
    SM_ASSERT(s != NULL);
    s->rotation_enabled = 1;
    snprintf(s->function, sizeof(s->function), "%s", function_arn);
}

void fake_secrets_cancel_rotation(const char *arn) {
    struct secret *s = find(arn);
    SM_ASSERT(s != NULL);
    s->rotation_enabled = 0;
}

void fake_secrets_tag(const char *arn, const char *key, const char *value) {
    struct secret *s = find(arn);
    SM_ASSERT(s != NULL && s->n_tags < MAX_TAGS);
    snprintf(s->tag_keys[s->n_tags], sizeof(s->tag_keys[0]), "%s", key);
    snprintf(s->tag_values[s->n_tags], sizeof(s->tag_values[0]), "%s", value);
    s->n_tags++;
}

void fake_secrets_schedule(const char *arn, const char *expression) {
    struct secret *s = find(arn);
    SM_ASSERT(s != NULL);
    snprintf(s->schedule, sizeof(s->schedule), "%s", expression);
}

void fake_secrets_fault(const char *operation, const char *code, int count, bool apply) {
    SM_ASSERT(s_fake.n_faults < MAX_FAULTS);
    struct fault *f = &s_fake.faults[s_fake.n_faults++];
    snprintf(f->operation, sizeof(f->operation), "%s", operation);
    snprintf(f->code, sizeof(f->code), "%s", code);
    f->count = count;
    f->apply = apply;
}

int fake_secrets_calls(const char *operation) {
    int n = 0;
    for (size_t i = 0; i < s_fake.n_calls; i++) {
        n += operation == NULL || strcmp(s_fake.calls[i].operation, operation) == 0;
    }
    return n;
}

int fake_secrets_calls_with_rotation_token(const char *operation) {
    int n = 0;
    for (size_t i = 0; i < s_fake.n_calls; i++) {
        n += s_fake.calls[i].rotation_token &&
             (operation == NULL || strcmp(s_fake.calls[i].operation, operation) == 0);
    }
    return n;
}

const char *fake_secrets_value(const char *arn, const char *version_id, const char *stage) {
    struct secret *s = find(arn);
    SM_ASSERT(s != NULL);
    struct version *v = version_id != NULL ? version(s, version_id) : holder(s, stage);
    return v != NULL ? v->value : NULL;
}

bool fake_secrets_has_stage(const char *arn, const char *version_id, const char *stage) {
    struct secret *s = find(arn);
    SM_ASSERT(s != NULL);
    struct version *v = version(s, version_id);
    return v != NULL && has(v, stage);
}

/* ---- the operations ------------------------------------------------------------------------- */

/* Records the call; returns the pending fault for it (count consumed), or NULL. */
static const struct fault *enter(const char *operation, bool rotation_token) {
    SM_ASSERT(s_fake.n_calls < MAX_CALLS);
    struct call *c = &s_fake.calls[s_fake.n_calls++];
    snprintf(c->operation, sizeof(c->operation), "%s", operation);
    c->rotation_token = rotation_token;
    for (size_t i = 0; i < s_fake.n_faults; i++) {
        struct fault *f = &s_fake.faults[i];
        if (f->count != 0 &&
            (strcmp(f->operation, "*") == 0 || strcmp(f->operation, operation) == 0)) {
            f->count--;
            return f;
        }
    }
    return NULL;
}

static long status_of(const char *code) {
    if (strcmp(code, "InternalServiceError") == 0) {
        return 500;
    }
    if (strcmp(code, "ServiceUnavailable") == 0) {
        return 503;
    }
    return 400;
}

static int fail(struct sm_err *err, const char *operation, const char *secret_id, const char *code,
                const char *message) {
    struct aws_error_fields fields;
    snprintf(fields.code, sizeof(fields.code), "%s", code);
    snprintf(fields.message, sizeof(fields.message), "%s", message);
    char resource[320];
    snprintf(resource, sizeof(resource), "secret %.256s", secret_id != NULL ? secret_id : "");
    return aws_error_set(err, operation, secret_id != NULL ? resource : NULL, status_of(code),
                         &fields);
}

static int injected(struct sm_err *err, const char *operation, const char *secret_id,
                    const struct fault *f) {
    return fail(err, operation, secret_id, f->code, "injected by the test");
}

static int nomem(struct sm_err *err) {
    return sm_err_set(err, SM_ERR_NOMEM, "out of memory");
}

static int op_describe(void *impl, const char *secret_id, int64_t deadline_ms,
                       struct secrets_description *out, struct sm_err *err) {
    (void)impl;
    (void)deadline_ms;
    memset(out, 0, sizeof(*out));
    out->rotation_enabled = -1;
    const struct fault *f = enter("DescribeSecret", false);
    if (f != NULL && !f->apply) {
        return injected(err, "DescribeSecret", secret_id, f);
    }
    struct secret *s = find(secret_id);
    if (s == NULL) {
        return fail(err, "DescribeSecret", secret_id, "ResourceNotFoundException",
                    "Secrets Manager can't find the specified secret.");
    }
    /* The copies come from our allocator, as the real client's do: the caller frees them. */
    out->arn = sm_strdup(s->arn);
    out->rotation_enabled = s->rotation_enabled;
    out->versions = sm_calloc(s->n_versions + 1, sizeof(*out->versions));
    out->tags = sm_calloc(s->n_tags + 1, sizeof(*out->tags));
    if (out->arn == NULL || out->versions == NULL || out->tags == NULL ||
        (s->schedule[0] != '\0' && (out->rotation_schedule = sm_strdup(s->schedule)) == NULL) ||
        (s->function[0] != '\0' && (out->rotation_lambda_arn = sm_strdup(s->function)) == NULL)) {
        return nomem(err);
    }
    for (size_t i = 0; i < s->n_versions; i++) {
        const struct version *v = &s->versions[i];
        size_t n = 0;
        for (size_t k = 0; k < MAX_STAGES; k++) {
            n += v->stages[k][0] != '\0';
        }
        if (n == 0) {
            continue; /* VersionIdsToStages lists labelled versions only */
        }
        struct secrets_version *o = &out->versions[out->n_versions++];
        o->version_id = sm_strdup(v->id);
        o->stages = sm_calloc(n, sizeof(*o->stages));
        if (o->version_id == NULL || o->stages == NULL) {
            return nomem(err);
        }
        for (size_t k = 0; k < MAX_STAGES; k++) {
            if (v->stages[k][0] != '\0') {
                if ((o->stages[o->n_stages] = sm_strdup(v->stages[k])) == NULL) {
                    return nomem(err);
                }
                o->n_stages++;
            }
        }
    }
    for (size_t i = 0; i < s->n_tags; i++) {
        struct secrets_tag *t = &out->tags[out->n_tags++];
        if ((t->key = sm_strdup(s->tag_keys[i])) == NULL ||
            (t->value = sm_strdup(s->tag_values[i])) == NULL) {
            return nomem(err);
        }
    }
    return f != NULL ? injected(err, "DescribeSecret", secret_id, f) : 0;
}

static int op_get_value(void *impl, const char *secret_id, const char *version_id,
                        const char *version_stage, int64_t deadline_ms, struct secrets_value *out,
                        struct sm_err *err) {
    (void)impl;
    (void)deadline_ms;
    memset(out, 0, sizeof(*out));
    const struct fault *f = enter("GetSecretValue", false);
    if (f != NULL) {
        return injected(err, "GetSecretValue", secret_id, f);
    }
    struct secret *s = find(secret_id);
    if (s == NULL) {
        return fail(err, "GetSecretValue", secret_id, "ResourceNotFoundException",
                    "Secrets Manager can't find the specified secret.");
    }
    char message[200];
    struct version *v;
    if (version_id != NULL) {
        v = version(s, version_id);
        if (v != NULL && version_stage != NULL && !has(v, version_stage)) {
            return fail(err, "GetSecretValue", secret_id, "InvalidRequestException",
                        "You provided a VersionStage that is not associated to the provided "
                        "VersionId.");
        }
        snprintf(message, sizeof(message),
                 "Secrets Manager can't find the specified secret value for VersionId: %s",
                 version_id);
    } else {
        const char *stage = version_stage != NULL ? version_stage : "AWSCURRENT";
        v = holder(s, stage);
        snprintf(message, sizeof(message),
                 "Secrets Manager can't find the specified secret value for staging label: %s",
                 stage);
    }
    if (v == NULL || v->value == NULL) {
        return fail(err, "GetSecretValue", secret_id, "ResourceNotFoundException", message);
    }
    out->secret_string = sm_strdup(v->value);
    if (out->secret_string == NULL) {
        return nomem(err);
    }
    out->secret_string_len = strlen(out->secret_string);
    return 0;
}

static int op_put_value(void *impl, const char *secret_id, const char *client_request_token,
                        const char *secret_string, size_t len, const char *const *stages,
                        size_t n_stages, const char *rotation_token, int64_t deadline_ms,
                        struct sm_err *err) {
    (void)impl;
    (void)deadline_ms;
    const struct fault *f =
        enter("PutSecretValue", rotation_token != NULL && rotation_token[0] != '\0');
    if (f != NULL && !f->apply) {
        return injected(err, "PutSecretValue", secret_id, f);
    }
    struct secret *s = find(secret_id);
    if (s == NULL) {
        return fail(err, "PutSecretValue", secret_id, "ResourceNotFoundException",
                    "Secrets Manager can't find the specified secret.");
    }
    SM_ASSERT(strlen(secret_string) == len);
    struct version *v = version(s, client_request_token);
    if (v != NULL && v->value != NULL) {
        if (strcmp(v->value, secret_string) != 0) {
            char message[400];
            snprintf(message, sizeof(message),
                     "You can't use ClientRequestToken %s because that value is already in use "
                     "for a version of secret %s.",
                     client_request_token, s->arn);
            return fail(err, "PutSecretValue", secret_id, "ResourceExistsException", message);
        }
        return f != NULL ? injected(err, "PutSecretValue", secret_id, f) : 0; /* idempotent */
    }
    if (v == NULL) {
        v = new_version(s, client_request_token);
    }
    memset(v->stages, 0, sizeof(v->stages));
    v->value = copy(secret_string);
    bool current = n_stages == 0;
    for (size_t i = 0; i < n_stages; i++) {
        if (strcmp(stages[i], "AWSCURRENT") == 0) {
            current = true;
        } else {
            attach(s, v, stages[i]);
        }
    }
    if (current) {
        move_current(s, v);
    }
    return f != NULL ? injected(err, "PutSecretValue", secret_id, f) : 0;
}

/* A fixed-seed generator (xorshift64*): repeatable passwords. */
static unsigned next_random(void) {
    s_fake.rng ^= s_fake.rng >> 12;
    s_fake.rng ^= s_fake.rng << 25;
    s_fake.rng ^= s_fake.rng >> 27;
    return (unsigned)((s_fake.rng * 0x2545F4914F6CDD1DULL) >> 33);
}

static int op_random_password(void *impl, const struct secrets_password_policy *p,
                              int64_t deadline_ms, struct sm_buf *out, struct sm_err *err) {
    (void)impl;
    (void)deadline_ms;
    sm_buf_reset(out);
    const struct fault *f = enter("GetRandomPassword", false);
    if (f != NULL) {
        return injected(err, "GetRandomPassword", NULL, f);
    }
    static const char lower[] = "abcdefghijklmnopqrstuvwxyz",
                      upper[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ", digits[] = "0123456789",
                      punct[] = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
    const char *sets[] = {p->exclude_lowercase != SECRETS_TRUE ? lower : "",
                          p->exclude_uppercase != SECRETS_TRUE ? upper : "",
                          p->exclude_numbers != SECRETS_TRUE ? digits : "",
                          p->exclude_punctuation != SECRETS_TRUE ? punct : "",
                          p->include_space == SECRETS_TRUE ? " " : ""};
    char allowed[128];
    size_t n = 0;
    for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
        for (const char *c = sets[i]; *c != '\0'; c++) {
            if (p->exclude_characters == NULL || strchr(p->exclude_characters, *c) == NULL) {
                allowed[n++] = *c;
            }
        }
    }
    long length = p->length > 0 ? p->length : 32;
    if (n == 0) {
        return fail(err, "GetRandomPassword", NULL, "InvalidParameterException",
                    "Password length is too short based on the required types.");
    }
    for (long i = 0; i < length; i++) {
        char c = allowed[next_random() % n];
        if (sm_buf_append(out, &c, 1, err) != 0) {
            return -1;
        }
    }
    return sm_buf_ensure(out, err);
}

static int op_move_stage(void *impl, const char *secret_id, const char *stage,
                         const char *move_to_version_id, const char *remove_from_version_id,
                         int64_t deadline_ms, struct sm_err *err) {
    (void)impl;
    (void)deadline_ms;
    const struct fault *f = enter("UpdateSecretVersionStage", false);
    if (f != NULL && !f->apply) {
        return injected(err, "UpdateSecretVersionStage", secret_id, f);
    }
    struct secret *s = find(secret_id);
    if (s == NULL) {
        return fail(err, "UpdateSecretVersionStage", secret_id, "ResourceNotFoundException",
                    "Secrets Manager can't find the specified secret.");
    }
    struct version *to = version(s, move_to_version_id);
    struct version *held = holder(s, stage);
    if ((move_to_version_id != NULL && to == NULL) ||
        (remove_from_version_id != NULL &&
         (held == NULL || strcmp(held->id, remove_from_version_id) != 0)) ||
        (to != NULL && held != NULL && held != to && remove_from_version_id == NULL)) {
        char message[300];
        snprintf(message, sizeof(message),
                 "The staging label %s is not attached to version %s, so you can't remove it "
                 "from that version.",
                 stage, remove_from_version_id != NULL ? remove_from_version_id : "(none)");
        return fail(err, "UpdateSecretVersionStage", secret_id, "InvalidParameterException",
                    message);
    }
    if (to == NULL) {
        detach(s, stage);
    } else if (strcmp(stage, "AWSCURRENT") == 0) {
        move_current(s, to);
    } else {
        attach(s, to, stage);
    }
    return f != NULL ? injected(err, "UpdateSecretVersionStage", secret_id, f) : 0;
}

const struct secrets_ops fake_secrets_ops = {
    .describe = op_describe,
    .get_value = op_get_value,
    .put_value = op_put_value,
    .random_password = op_random_password,
    .move_stage = op_move_stage,
};
