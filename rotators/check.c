#include "check_run.h"

#include "json.h"
#include "log.h"
#include "master.h"
#include "mem.h"
#include "str.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---- the report ---------------------------------------------------------------------------- */

int rot_check_report_init(struct rot_check_report *r, const char *secret_id, struct sm_err *err) {
    memset(r, 0, sizeof(*r));
    r->ok = true;
    r->secret_id = sm_strdup(secret_id);
    if (r->secret_id == NULL) {
        return sm_err_set(err, SM_ERR_NOMEM, "out of memory starting the check report");
    }
    return 0;
}

/* Appends a result; takes over detail (sm_malloc'd). */
static int add_item(struct rot_check_report *r, const char *name, bool ok, char *detail,
                    struct sm_err *err) {
    if (r->n >= ROT_CHECK_MAX) {
        sm_free(detail);
        return sm_err_set(err, SM_ERR_TOO_LARGE, "the check report holds at most %d checks",
                          ROT_CHECK_MAX);
    }
    r->items[r->n++] = (struct rot_check_item){.name = name, .ok = ok, .detail = detail};
    r->ok = r->ok && ok;
    return 0;
}

int rot_check_report_add(struct rot_check_report *r, const char *name, bool ok, const char *detail,
                         struct sm_err *err) {
    char *copy = sm_strdup(detail);
    if (copy == NULL) {
        return sm_err_set(err, SM_ERR_NOMEM, "out of memory making the check report");
    }
    return add_item(r, name, ok, copy, err);
}

void rot_check_result(struct check *c, const char *name, bool ok, const char *fmt, ...) {
    struct sm_err ignored;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *detail = n >= 0 ? sm_malloc((size_t)n + 1) : NULL;
    if (detail == NULL) {
        c->nomem = true;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(detail, (size_t)n + 1, fmt, ap);
    va_end(ap);
    if (!ok) {
        SM_INFO("check %s failed: %s", name, detail);
    }
    if (add_item(c->r, name, ok, detail, &ignored) != 0) {
        c->nomem = true;
    }
}

/* For a check that failed from a shell because the database was out of reach: what that means
 * and how to run the check in Lambda, or "" (in Lambda, or another failure). */
static const char *vpc_note(const struct check *c, const struct sm_err *e, char *buf, size_t cap) {
    if (!c->opts->from_shell || e->code != ROT_ERR_DB_UNREACHABLE) {
        return "";
    }
    snprintf(buf, cap,
             "; this check ran from a shell, outside the function's VPC: a private database is "
             "reachable only from the function's network, so run the check in Lambda too: aws "
             "lambda invoke --function-name %s --cli-binary-format raw-in-base64-out --payload "
             "'{\"Action\": \"check\", \"SecretId\": \"%s\"}' report.json",
             c->run.desc.rotation_lambda_arn != NULL ? c->run.desc.rotation_lambda_arn
                                                     : "<rotation function>",
             c->ev.secret_id);
    return buf;
}

void rot_check_failed(struct check *c, const char *name, const struct sm_err *e,
                      const char *advice) {
    char note[700];
    if (e->code == SM_ERR_NOMEM) {
        c->nomem = true;
    }
    rot_check_result(c, name, false, "%s%s%s%s", e->msg, advice[0] != '\0' ? "; " : "", advice,
                     vpc_note(c, e, note, sizeof(note)));
}

/* Adds a string member, or null for NULL. */
static bool json_string(cJSON *o, const char *key, const char *value) {
    return (value != NULL ? cJSON_AddStringToObject(o, key, value)
                          : cJSON_AddNullToObject(o, key)) != NULL;
}

int rot_check_report_json(const struct rot_check_report *r, struct sm_buf *out,
                          struct sm_err *err) {
    int result = -1;
    cJSON *root = cJSON_CreateObject(), *checks = NULL;
    bool built = root != NULL && json_string(root, "secretId", r->secret_id) &&
                 cJSON_AddBoolToObject(root, "ok", r->ok) != NULL &&
                 json_string(root, "strategy", r->strategy) &&
                 json_string(root, "engine", r->engine) &&
                 (checks = cJSON_AddArrayToObject(root, "checks")) != NULL;
    for (size_t i = 0; built && i < r->n; i++) {
        cJSON *item = cJSON_CreateObject();
        if (item == NULL || !cJSON_AddItemToArray(checks, item)) {
            cJSON_Delete(item);
            built = false;
            break;
        }
        built = json_string(item, "check", r->items[i].name) &&
                cJSON_AddBoolToObject(item, "ok", r->items[i].ok) != NULL &&
                json_string(item, "detail", r->items[i].detail);
    }
    if (!built) {
        sm_err_set(err, SM_ERR_NOMEM, "out of memory writing the check report");
        goto out;
    }
    result = sm_json_print(root, out, err);
out:
    cJSON_Delete(root);
    return result;
}

void rot_check_report_clean_up(struct rot_check_report *r) {
    if (r == NULL) {
        return;
    }
    for (size_t i = 0; i < r->n; i++) {
        sm_free(r->items[i].detail);
    }
    sm_free(r->secret_id);
    sm_free(r->engine);
    memset(r, 0, sizeof(*r));
}

/* ---- Secrets Manager: the secret and its rotation ------------------------------------------ */

/* What to do about a failed Secrets Manager call, in README's words. */
static const char *aws_advice(const struct check *c, const struct sm_err *e) {
    if (sm_err_is_aws(e, "ResourceNotFoundException")) {
        return "check the secret id and the region";
    }
    if (sm_err_is_aws(e, "AccessDeniedException") || sm_err_is_aws(e, "DecryptionFailure")) {
        return c->opts->from_shell
                   ? "your credentials need secretsmanager:DescribeSecret and GetSecretValue on "
                     "it, and kms:Decrypt for a customer-managed key"
                   : "the function's role may not read it: the secret names another rotation "
                     "function, or a tag or name pattern does not match the role's policy, or "
                     "kms:Decrypt is missing for its key (README: IAM)";
    }
    if (e->code == SM_ERR_TRANSPORT || e->code == SM_ERR_DEADLINE) {
        return c->opts->from_shell
                   ? "check the network path to Secrets Manager"
                   : "no route to Secrets Manager: a VPC interface endpoint with private DNS (its "
                     "security group allowing 443 from the function) or a NAT gateway (README: "
                     "Network)";
    }
    return "";
}

/* The length of a Lambda function ARN without its version or alias qualifier
 * (arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]). */
static size_t unqualified_len(const char *arn) {
    size_t colons = 0;
    for (size_t i = 0; arn[i] != '\0'; i++) {
        if (arn[i] == ':' && ++colons == 7) {
            return i;
        }
    }
    return strlen(arn);
}

static bool same_function(const char *a, const char *b) {
    size_t la = unqualified_len(a), lb = unqualified_len(b);
    return la == lb && strncmp(a, b, la) == 0;
}

static void schedule_words(const struct secrets_description *d, char *out, size_t cap) {
    if (d->rotation_schedule != NULL) {
        snprintf(out, cap, "schedule %s", d->rotation_schedule);
    } else if (d->rotation_after_days > 0) {
        snprintf(out, cap, "every %ld days", d->rotation_after_days);
    } else {
        snprintf(out, cap, "no schedule");
    }
}

/* rotation-enabled: in Lambda with this function; from a shell, with the function it names. */
static void check_rotation(struct check *c) {
    const struct secrets_description *d = &c->run.desc;
    const char *id = c->ev.secret_id, *named = d->rotation_lambda_arn;
    const char *self = c->opts->function_arn;
    int self_len = self != NULL ? (int)unqualified_len(self) : 0;
    char when[200];
    schedule_words(d, when, sizeof(when));
    if (d->rotation_enabled != 1) {
        rot_check_result(c, "rotation-enabled", false,
                         "Secret %s is not enabled for rotation%s%s%s: enable it with aws "
                         "secretsmanager rotate-secret --secret-id %s --rotation-lambda-arn %.*s "
                         "--rotation-rules '{\"ScheduleExpression\": \"rate(30 days)\"}' (this "
                         "rotates at once; add --no-rotate-immediately to run only testSecret)",
                         id, named != NULL ? " (it names the rotation function " : "",
                         named != NULL ? named : "", named != NULL ? ")" : "", id,
                         self != NULL ? self_len : (int)strlen("<function-arn>"),
                         self != NULL ? self : "<function-arn>");
    } else if (self == NULL) {
        rot_check_result(c, "rotation-enabled", true,
                         "rotation is enabled with the function %s (%s)%s",
                         named != NULL ? named : "(none named)", when,
                         c->opts->from_shell ? "; this check ran from a shell: run it in that "
                                               "function too, which sees its VPC and role"
                                             : "");
    } else if (named == NULL || !same_function(named, self)) {
        rot_check_result(
            c, "rotation-enabled", false,
            "rotation of %s is enabled with another function, %s, not this one (%.*s): "
            "point it here with aws secretsmanager rotate-secret --secret-id %s "
            "--rotation-lambda-arn %.*s, or run the check in that function",
            id, named != NULL ? named : "(none)", self_len, self, id, self_len, self);
    } else {
        rot_check_result(c, "rotation-enabled", true, "rotation is enabled with this function (%s)",
                         when);
    }
}

/* no-incomplete-rotation: AWSPENDING on a version other than AWSCURRENT stops every rotation. */
static void check_pending(struct check *c) {
    const struct secrets_version *p = secrets_description_holder(&c->run.desc, STAGE_PENDING);
    if (p == NULL || secrets_version_has_stage(p, STAGE_CURRENT)) {
        rot_check_result(c, "no-incomplete-rotation", true,
                         "no version other than AWSCURRENT holds AWSPENDING");
        return;
    }
    rot_check_result(c, "no-incomplete-rotation", false,
                     "A previous rotation isn't complete: version %s holds AWSPENDING (a rotation "
                     "is running, or one failed); let it finish, or clear it: aws secretsmanager "
                     "update-secret-version-stage --secret-id %s --version-stage AWSPENDING "
                     "--remove-from-version-id %s",
                     p->version_id, c->ev.secret_id, p->version_id);
}

static const char *tls_words(enum rot_tls tls) {
    return tls == ROT_TLS_REQUIRED ? "TLS required (\"ssl\": true)"
           : tls == ROT_TLS_OFF    ? "no TLS (\"ssl\": false)"
                                   : "TLS when the server offers it (no \"ssl\" key)";
}

/* secret-valid: AWSCURRENT's JSON, as createSecret validates it. invalid: why it is not. */
static void check_value(struct check *c, const struct sm_err *invalid) {
    const struct rot_secret *s = &c->current;
    char host[256], user[128], db[128];
    if (invalid != NULL) {
        rot_check_failed(c, "secret-valid", invalid, "fix the secret's value");
        return;
    }
    if ((c->r->engine = sm_strdup(s->engine_value)) == NULL) {
        c->nomem = true;
    }
    sm_str_printable(s->host, host, sizeof(host));
    sm_str_printable(s->username, user, sizeof(user));
    sm_str_printable(s->dbname, db, sizeof(db));
    rot_check_result(c, "secret-valid", true, "a %s secret: host %s, port %d, user %s%s%s; %s%s%s",
                     s->engine->display_name, host, s->port, user,
                     s->dbname != NULL ? ", database " : "", s->dbname != NULL ? db : "",
                     tls_words(s->tls), s->masterarn != NULL ? "; master secret " : "",
                     s->masterarn != NULL ? s->masterarn : "");
}

/* secret-readable (DescribeSecret and GetSecretValue of AWSCURRENT), then rotation-enabled,
 * no-incomplete-rotation and secret-valid. Returns whether AWSCURRENT is valid. */
static bool check_secret(struct check *c) {
    struct sm_err e;
    const struct rot_context *ctx = c->run.ctx;
    if (secrets_api_describe(&ctx->secrets, c->ev.secret_id, c->run.deadline_ms, &c->run.desc,
                             &e) != 0) {
        rot_check_failed(c, "secret-readable", &e, aws_advice(c, &e));
        return false;
    }
    int rc = rot_step_read(&c->run, NULL, STAGE_CURRENT, &c->current, &e);
    bool readable = rc == 0 || e.code == ROT_ERR_SECRET_INVALID;
    if (readable) {
        rot_check_result(c, "secret-readable", true,
                         "DescribeSecret and GetSecretValue (AWSCURRENT) of %s",
                         c->run.desc.arn != NULL ? c->run.desc.arn : c->ev.secret_id);
    } else {
        rot_check_failed(c, "secret-readable", &e, aws_advice(c, &e));
    }
    check_rotation(c);
    check_pending(c);
    if (readable) {
        check_value(c, rc == 0 ? NULL : &e);
    }
    return rc == 0;
}

/* ---- how it rotates ------------------------------------------------------------------------ */

/* Why the settings chose their strategy. */
static const char *strategy_origin(const struct check *c) {
    const struct rot_settings *s = &c->run.settings;
    if (strstr(s->from_tags, "strategy") != NULL) {
        return "the secret's tag " ROT_TAG_PREFIX "strategy";
    }
    if (!c->run.ctx->config->strategy->per_secret) {
        return c->opts->from_shell ? "--strategy" : "the function's Handler";
    }
    if (s->pair[0] != NULL) {
        return "auto: the secret's tag " ROT_TAG_PREFIX "alternating-users";
    }
    return c->current.masterarn != NULL ? "auto: the secret names a master (masterarn)"
                                        : "auto: the secret names no master";
}

/* settings: the smrotate: tags over the function's configuration, as every step resolves them. */
static void check_settings(struct check *c) {
    struct sm_err e;
    if (rot_step_settings(&c->run, &c->current, &e) != 0 ||
        rot_step_check_settings(&c->run, &c->current, &e) != 0) {
        rot_check_failed(c, "settings", &e,
                         "fix the tag, or the function's environment variable, the message names");
        return;
    }
    const struct rot_settings *s = &c->run.settings;
    c->settings_ok = true;
    c->r->strategy = s->strategy->name;
    rot_check_result(c, "settings", true, "strategy %s (%s)%s%s%s", s->strategy->name,
                     strategy_origin(c),
                     s->from_tags[0] != '\0' ? "; from the secret's tags: " : "", s->from_tags,
                     !s->strategy->set_by_master && c->current.masterarn != NULL
                         ? "; the secret names a master secret (masterarn), which this strategy "
                           "ignores: use Handler multi-user or auto to rotate alternating users"
                         : "");
}

/* alternate-user: the user an alternating-users rotation sets next, and that its name fits. */
static void check_alternate(struct check *c) {
    struct sm_err e;
    const struct rot_settings *s = &c->run.settings;
    const struct rot_engine *engine = c->current.engine;
    char user[128];
    if (rot_step_alternate(&c->run, &c->current, c->alt, sizeof(c->alt), &e) != 0) {
        rot_check_failed(c, "alternate-user", &e,
                         s->pair[0] != NULL
                             ? "tag the secret with its two users, the secret's own among them"
                             : "use a shorter user name, or two pre-created users (tag "
                               "smrotate:alternating-users)");
        return;
    }
    c->alternate_ok = true;
    sm_str_printable(c->alt, user, sizeof(user));
    if (s->pair[0] != NULL) {
        rot_check_result(c, "alternate-user", true,
                         "the pre-created users of the tag " ROT_TAG_PREFIX
                         "alternating-users take turns; the next rotation sets %s",
                         user);
        return;
    }
    rot_check_result(
        c, "alternate-user", true, "the next rotation sets %s (%s allows %zu %s)", user,
        engine->display_name,
        engine->max_username_length(c->current.engine_value, &c->run.ctx->config->engine_settings),
        engine->username_limit_counts_characters ? "characters" : "bytes");
}

static const char *tristate_word(enum secrets_tristate t, const char *word) {
    return t == SECRETS_TRUE ? word : "";
}

/* password-policy: GetRandomPassword with the policy createSecret would send; the password it
 * returns is wiped unseen. */
static void check_policy(struct check *c) {
    struct secrets_password_policy p = rot_step_password_policy(&c->run, &c->current);
    struct sm_buf password;
    struct sm_err e;
    char excluded[160];
    sm_buf_init(&password, 4096);
    int rc =
        secrets_api_random_password(&c->run.ctx->secrets, &p, c->run.deadline_ms, &password, &e);
    sm_buf_clean_up(&password);
    if (rc != 0) {
        rot_check_failed(c, "password-policy", &e,
                         sm_err_is_aws(&e, "AccessDeniedException")
                             ? "the function's role needs secretsmanager:GetRandomPassword on * "
                               "(README: IAM)"
                             : "check PASSWORD_LENGTH, EXCLUDE_CHARACTERS, EXCLUDE_* and the "
                               "secret's smrotate: tags");
        return;
    }
    sm_str_printable(p.exclude_characters, excluded, sizeof(excluded));
    rot_check_result(
        c, "password-policy", true,
        "GetRandomPassword answered (the password was discarded unseen): length %ld, "
        "excluding the characters %s%s%s%s%s%s",
        p.length, excluded, tristate_word(p.exclude_numbers, ", no digits"),
        tristate_word(p.exclude_punctuation, ", no punctuation"),
        tristate_word(p.exclude_uppercase, ", no upper case"),
        tristate_word(p.exclude_lowercase, ", no lower case"),
        p.require_each_included_type == SECRETS_FALSE ? "" : ", each included type required");
}

/* ---- the master ---------------------------------------------------------------------------- */

/* master-secret: the secret masterarn names is readable and usable as it stands. */
static bool check_master_secret(struct check *c) {
    const char *arn = c->current.masterarn;
    struct secrets_value v = {0};
    struct rot_secret m = {0};
    struct sm_err e;
    bool ok = false;
    if (arn == NULL) {
        rot_check_result(c, "master-secret", false,
                         "masterarn key is missing from secret JSON (the %s strategy needs the ARN "
                         "of a superuser secret): add it, or rotate the secret single user",
                         c->run.settings.strategy->name);
        return false;
    }
    if (secrets_api_get_value(&c->run.ctx->secrets, arn, NULL, STAGE_CURRENT, c->run.deadline_ms,
                              &v, &e) != 0) {
        sm_err_prefix(&e, "cannot read the master secret %s", arn);
        rot_check_failed(c, "master-secret", &e,
                         c->opts->from_shell ? "your credentials need GetSecretValue on it"
                                             : "the function's role needs GetSecretValue on it "
                                               "(DescribeSecret too for an RDS-managed one) and "
                                               "kms:Decrypt for its key (README: IAM)");
    } else if (v.secret_string == NULL) {
        rot_check_result(c, "master-secret", false, "the master secret %s has no SecretString",
                         arn);
    } else if (rot_secret_is_bare_credentials(v.secret_string, v.secret_string_len) == 1) {
        ok = true;
        rot_check_result(
            c, "master-secret", true,
            "%s: RDS-managed (username and password only); its database is the one "
            "its tag aws:rds:primaryDBInstanceArn or aws:rds:primaryDBClusterArn names",
            arn);
    } else if (rot_secret_parse(v.secret_string, v.secret_string_len, c->run.ctx->engines, &m,
                                &e) != 0) {
        sm_err_prefix(&e, "the master secret %s", arn);
        rot_check_failed(c, "master-secret", &e, "fix the master secret's value");
    } else {
        char user[128];
        sm_str_printable(m.username, user, sizeof(user));
        ok = true;
        rot_check_result(c, "master-secret", true, "%s: a %s superuser secret, user %s", arn,
                         m.engine->display_name, user);
    }
    rot_secret_clean_up(&m);
    secrets_value_clean_up(&v);
    return ok;
}

/* master-host: where the master sets the password, as setSecret resolves it (RDS for an
 * RDS-managed master and for a user on a replica or reader). */
static void check_master_host(struct check *c) {
    struct sm_err e;
    char host[256], at[256];
    if (rot_master_resolve(c->run.ctx, &c->current, c->run.deadline_ms, &c->master, &e) != 0) {
        rot_check_failed(c, "master-host", &e, "");
        return;
    }
    c->master_ok = true;
    sm_str_printable(c->master.host, at, sizeof(at));
    sm_str_printable(c->current.host, host, sizeof(host));
    if (strcasecmp(c->master.host, c->current.host) == 0) {
        rot_check_result(c, "master-host", true,
                         "the master sets the password on the user's own host %s:%d", at,
                         c->master.port);
    } else {
        rot_check_result(c, "master-host", true,
                         "the user's host %s is a read replica or Aurora reader of the master's "
                         "%s:%d (as RDS says): the password is set there, and testSecret logs in "
                         "at %s",
                         host, at, c->master.port, host);
    }
}

/* ---- the run ------------------------------------------------------------------------------- */

/* The checks of how the secret rotates, after secret-valid. */
static void check_rotation_settings(struct check *c) {
    check_settings(c);
    if (!c->settings_ok) {
        return;
    }
    const struct rot_strategy *s = c->run.settings.strategy;
    if (s->alternates_users) {
        check_alternate(c);
    }
    check_policy(c);
    if (s->set_by_master && check_master_secret(c)) {
        check_master_host(c);
    }
}

int rot_check_run(struct rot_context *ctx, const struct rot_check_opts *opts, int64_t deadline_ms,
                  struct rot_check_report *r, struct sm_err *err) {
    struct check c;
    memset(&c, 0, sizeof(c));
    c.ev = (struct rot_event){.action = ROT_ACTION_CHECK, .secret_id = r->secret_id};
    c.run = (struct run){.ctx = ctx, .ev = &c.ev, .deadline_ms = deadline_ms};
    c.opts = opts;
    c.r = r;
    ctx->stats.engine = ctx->stats.strategy = NULL;
    ctx->stats.rotation_completed = false;
    SM_INFO("check: starting for secret %s", r->secret_id);
    if (check_secret(&c)) {
        check_rotation_settings(&c);
        rot_check_database(&c);
    }
    ctx->stats.strategy = r->strategy;
    SM_INFO("check: secret %s: %s (%zu checks ran)", r->secret_id,
            r->ok ? "every check passed" : "a check failed", r->n);
    secrets_description_clean_up(&c.run.desc);
    rot_settings_clean_up(&c.run.settings);
    rot_secret_clean_up(&c.current);
    rot_secret_clean_up(&c.master);
    if (c.nomem) {
        return sm_err_set(err, SM_ERR_NOMEM, "out of memory making the check report");
    }
    return 0;
}
