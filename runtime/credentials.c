/* The credential chain (credentials.h): its order, the environment and web identity sources, and
 * what the sources share (values, times, notes, STS clients). The profile sources are in
 * creds_profile.c, the files in creds_ini.c, credential_process in creds_process.c, the container
 * endpoint and instance metadata in creds_http.c. */
#include "credentials.h"
#include "creds_sources.h"

#include "mem.h"
#include "str.h"
#include "sts.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A web identity token: a JWT, a few KB (EKS and GitHub tokens are 1-2 KB). */
#define LIMIT_WEB_IDENTITY_TOKEN (64u * 1024u)

/* ---- values ---------------------------------------------------------------------------------- */

void creds_clean_up(struct creds *c) {
    if (c == NULL) {
        return;
    }
    sm_free(c->access_key_id);
    sm_free(c->secret_access_key); /* sm_free wipes */
    sm_free(c->session_token);
    memset(c, 0, sizeof(*c));
}

int creds_set(struct creds *c, const char *access_key_id, const char *secret_access_key,
              const char *token, struct sm_err *err) {
    creds_clean_up(c);
    c->access_key_id = sm_strdup(access_key_id);
    c->secret_access_key = sm_strdup(secret_access_key);
    if (token != NULL && token[0] != '\0') {
        c->session_token = sm_strdup(token);
    }
    if (c->access_key_id == NULL || c->secret_access_key == NULL ||
        (token != NULL && token[0] != '\0' && c->session_token == NULL)) {
        creds_clean_up(c);
        return sm_err_set(err, SM_ERR_NOMEM, "out of memory copying credentials");
    }
    return 0;
}

/* n decimal digits at *p (advanced), or -1. */
static int digits(const char **p, int n) {
    int v = 0;
    for (int i = 0; i < n; i++, (*p)++) {
        if (**p < '0' || **p > '9') {
            return -1;
        }
        v = v * 10 + (**p - '0');
    }
    return v;
}

/* The offset after a time of day: Z, +HH:MM, +HHMM (or -); -1 when malformed. */
static int offset_seconds(const char *p, long *out) {
    if ((p[0] == 'Z' || p[0] == 'z') && p[1] == '\0') {
        *out = 0;
        return 0;
    }
    if (p[0] != '+' && p[0] != '-') {
        return -1;
    }
    int sign = p[0] == '-' ? -1 : 1;
    p++;
    int h = digits(&p, 2);
    if (*p == ':') {
        p++;
    }
    int m = digits(&p, 2);
    if (h < 0 || h > 23 || m < 0 || m > 59 || *p != '\0') {
        return -1;
    }
    *out = sign * (h * 3600L + m * 60L);
    return 0;
}

int creds_parse_time(const char *text, int64_t *out_ms) {
    const char *p = text;
    struct tm tm = {0};
    int y = digits(&p, 4), mo = (*p == '-' ? p++, digits(&p, 2) : -1);
    int d = (*p == '-' ? p++, digits(&p, 2) : -1);
    int h = (*p == 'T' || *p == 't' ? p++, digits(&p, 2) : -1);
    int mi = (*p == ':' ? p++, digits(&p, 2) : -1);
    int s = (*p == ':' ? p++, digits(&p, 2) : -1);
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 ||
        s < 0 || s > 60) {
        return -1;
    }
    int ms = 0, scale = 100;
    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10) {
            ms += (*p - '0') * scale;
        }
    }
    long offset = 0;
    if (offset_seconds(p, &offset) != 0) {
        return -1;
    }
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    time_t t = timegm(&tm);
    if (t == (time_t)-1 || tm.tm_mday != d) { /* 2024-02-31 normalises to March */
        return -1;
    }
    *out_ms = ((int64_t)t - offset) * 1000 + ms;
    return 0;
}

/* ---- notes ----------------------------------------------------------------------------------- */

static void append_v(char *buf, size_t cap, const char *sep, const char *fmt, va_list ap)
    SM_PRINTF(4, 0);

static void append_v(char *buf, size_t cap, const char *sep, const char *fmt, va_list ap) {
    size_t n = strlen(buf);
    if (n > 0 && n + 1 < cap) {
        n += (size_t)snprintf(buf + n, cap - n, "%s", sep);
    }
    if (n + 1 < cap) {
        vsnprintf(buf + n, cap - n, fmt, ap);
    }
}

void creds_note(struct creds_chain *ch, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    append_v(ch->trail, sizeof(ch->trail), "; ", fmt, ap);
    va_end(ap);
}

void creds_describe(struct creds_chain *ch, const char *fmt, ...) {
    char text[CREDS_SOURCE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap); /* fmt may print the old ch->source */
    va_end(ap);
    snprintf(ch->source, sizeof(ch->source), "%s", text);
}

/* Whether a variable is set (an empty value counts as set where botocore tests `in os.environ`). */
static bool env_present(const char *name) {
    return getenv(name) != NULL;
}

/* ---- the environment ------------------------------------------------------------------------- */

/* botocore's EnvProvider: AWS_ACCESS_KEY_ID decides (empty counts as unset); a missing secret key
 * is PartialCredentialsError; the token from AWS_SECURITY_TOKEN, else AWS_SESSION_TOKEN;
 * AWS_CREDENTIAL_EXPIRATION when set is honoured. */
int creds_from_env(struct creds_chain *ch, struct creds *out, struct sm_err *err) {
    const char *akid = sm_env_nonempty("AWS_ACCESS_KEY_ID");
    if (akid == NULL) {
        creds_note(ch, "environment: AWS_ACCESS_KEY_ID is not set");
        return 0;
    }
    const char *secret = sm_env_nonempty("AWS_SECRET_ACCESS_KEY");
    if (secret == NULL) {
        return sm_err_set(err, SM_ERR_CONFIG,
                          "environment: AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");
    }
    const char *token = sm_env_nonempty("AWS_SECURITY_TOKEN");
    if (token == NULL) {
        token = sm_env_nonempty("AWS_SESSION_TOKEN");
    }
    const char *expiry = sm_env_nonempty("AWS_CREDENTIAL_EXPIRATION");
    int64_t expiration_ms = 0;
    if (expiry != NULL && creds_parse_time(expiry, &expiration_ms) != 0) {
        return sm_err_set(err, SM_ERR_CONFIG,
                          "environment: AWS_CREDENTIAL_EXPIRATION is not an ISO 8601 time");
    }
    if (creds_set(out, akid, secret, token, err) != 0) {
        return -1;
    }
    out->expiration_ms = expiration_ms;
    creds_describe(ch, "environment variables (AWS_ACCESS_KEY_ID%s)",
                   token != NULL ? " with a session token" : "");
    return 1;
}

/* ---- STS ------------------------------------------------------------------------------------- */

int creds_sts_open(struct creds_chain *ch, const struct creds *src, struct creds_sts *out,
                   struct sm_err *err) {
    memset(out, 0, sizeof(*out));
    out->cfg = *ch->cfg; /* settings borrowed; never cleaned up as a config */
    out->cfg.access_key_id = src != NULL ? src->access_key_id : NULL;
    out->cfg.secret_access_key = src != NULL ? src->secret_access_key : NULL;
    out->cfg.session_token = src != NULL ? src->session_token : NULL;
    if (sts_endpoint_from_env(&out->cfg, &out->endpoint, err) != 0 ||
        sts_client_init(&out->client, &out->cfg, out->endpoint, ch->sys, err) != 0) {
        creds_sts_close(out);
        return -1;
    }
    return 0;
}

void creds_sts_close(struct creds_sts *s) {
    sm_free(s->endpoint);
    memset(s, 0, sizeof(*s));
}

int creds_take_sts(struct sts_credentials *sts, struct creds *out, struct sm_err *err) {
    int64_t expiration_ms = 0;
    if (creds_parse_time(sts->expiration, &expiration_ms) != 0) {
        return sm_err_set(err, SM_ERR_PROTOCOL, "STS answered an Expiration that is no time");
    }
    creds_clean_up(out);
    out->access_key_id = sts->access_key_id;
    out->secret_access_key = sts->secret_access_key;
    out->session_token = sts->session_token;
    out->expiration_ms = expiration_ms;
    sts->access_key_id = sts->secret_access_key = sts->session_token = NULL;
    return 0;
}

/* ---- web identity ---------------------------------------------------------------------------- */

/* botocore's AssumeRoleWithWebIdentityProvider._get_config: the variable when present (even
 * empty), else the profile's key. *from names where it came from. */
static const char *web_setting(struct creds_chain *ch, const char *profile, bool use_env,
                               const char *key, const char *var, const char **from) {
    if (use_env && env_present(var)) {
        *from = var;
        return getenv(var);
    }
    *from = key;
    return creds_profile_get(&ch->files, profile, key, NULL);
}

static int web_identity_call(struct creds_chain *ch, const char *role_arn, const char *session,
                             const char *token, struct creds *out, struct sm_err *err) {
    struct creds_sts s;
    struct sts_credentials got = {0};
    int rc = -1;
    if (creds_sts_open(ch, NULL, &s, err) != 0) {
        return -1;
    }
    if (sts_assume_role_with_web_identity(&s.client, role_arn, session, token, ch->deadline_ms,
                                          &got, err) == 0 &&
        creds_take_sts(&got, out, err) == 0) {
        rc = 0;
    }
    sts_credentials_clean_up(&got);
    creds_sts_close(&s);
    return rc;
}

int creds_from_web_identity(struct creds_chain *ch, const char *profile, bool use_env,
                            struct creds *out, struct sm_err *err) {
    assert(profile != NULL);
    static const char profile_key[] = "web_identity_token_file";
    const char *file_from, *other_from;
    const char *file =
        web_setting(ch, profile, use_env, profile_key, "AWS_WEB_IDENTITY_TOKEN_FILE", &file_from);
    if (file == NULL || file[0] == '\0') {
        creds_note(ch, "web identity: %s",
                   use_env ? "AWS_WEB_IDENTITY_TOKEN_FILE is not set"
                           : "no web_identity_token_file");
        return 0;
    }
    const char *role = web_setting(ch, profile, use_env, "role_arn", "AWS_ROLE_ARN", &other_from);
    const char *session = web_setting(ch, profile, use_env, "role_session_name",
                                      "AWS_ROLE_SESSION_NAME", &other_from);
    char where[160];
    if (file_from == profile_key) {
        snprintf(where, sizeof(where), "profile %.100s's %s", profile, profile_key);
    } else {
        snprintf(where, sizeof(where), "%s", file_from);
    }
    if (role == NULL || role[0] == '\0') {
        return sm_err_set(err, SM_ERR_CONFIG,
                          "web identity: %s is set but no role: set AWS_ROLE_ARN or role_arn in "
                          "profile %.100s",
                          where, profile);
    }
    char default_session[64];
    snprintf(default_session, sizeof(default_session), "smrotate-session-%lld",
             (long long)(ch->sys->ops->now_ms(ch->sys->impl) / 1000));
    struct sm_buf token;
    sm_buf_init(&token, LIMIT_WEB_IDENTITY_TOKEN);
    int rc = -1;
    /* botocore sends the file as it is; trailing white space (an `echo` into the file) is dropped
     * here, as a JWT holds none. */
    if (creds_read_small_file(file, &token, "web identity token file", err) != 0) {
        sm_err_prefix(err, "web identity (%s)", where);
        goto out;
    }
    while (token.len > 0 && strchr(" \t\r\n", token.data[token.len - 1]) != NULL) {
        token.data[--token.len] = '\0';
    }
    if (web_identity_call(ch, role,
                          session != NULL && session[0] != '\0' ? session : default_session,
                          token.data, out, err) != 0) {
        sm_err_prefix(err, "web identity (role %.300s)", role);
        goto out;
    }
    if (file_from == profile_key) {
        creds_describe(ch, "profile %.100s: web identity: AssumeRoleWithWebIdentity %.300s",
                       profile, role);
    } else {
        creds_describe(ch, "web identity: AssumeRoleWithWebIdentity %.300s (token file from %s)",
                       role, where);
    }
    rc = 1;
out:
    sm_buf_clean_up(&token);
    return rc;
}

/* ---- the chain ------------------------------------------------------------------------------- */

void creds_format_time(int64_t ms, char *out, size_t cap) {
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL || strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        snprintf(out, cap, "%lld ms", (long long)ms);
    }
}

int creds_check_expiration(const struct creds_chain *ch, const struct creds *c, bool whole_check,
                           struct sm_err *err) {
    int64_t now = ch->sys->ops->now_ms(ch->sys->impl);
    int64_t need = whole_check && ch->deadline_ms > now ? ch->deadline_ms : now;
    if (c->expiration_ms == 0 || c->expiration_ms > need) {
        return 0;
    }
    char when[40];
    creds_format_time(c->expiration_ms, when, sizeof(when));
    if (c->expiration_ms <= now) {
        return sm_err_set(err, SM_ERR_CONFIG, "the credentials expired at %s", when);
    }
    return sm_err_set(err, SM_ERR_CONFIG,
                      "the credentials expire at %s, before the check could finish", when);
}

/* botocore's session variable `profile`: AWS_DEFAULT_PROFILE, else AWS_PROFILE (the first one
 * set wins), else "default". */
static void choose_profile(struct creds_chain *ch) {
    ch->profile = sm_env_nonempty("AWS_DEFAULT_PROFILE");
    if (ch->profile == NULL) {
        ch->profile = sm_env_nonempty("AWS_PROFILE");
    }
    ch->profile_named = ch->profile != NULL;
    if (ch->profile == NULL) {
        ch->profile = "default";
    }
}

/* The two files (botocore's config_file and credentials_file variables). A profile named
 * explicitly must exist in one of them (botocore's ProfileNotFound, even for "default"). */
static int load_files(struct creds_chain *ch, struct sm_err *err) {
    const char *config = sm_env_nonempty("AWS_CONFIG_FILE");
    const char *credentials = sm_env_nonempty("AWS_SHARED_CREDENTIALS_FILE");
    if (creds_ini_load(config != NULL ? config : "~/.aws/config", true, &ch->files.config, err) !=
            0 ||
        creds_ini_load(credentials != NULL ? credentials : "~/.aws/credentials", false,
                       &ch->files.credentials, err) != 0) {
        return -1;
    }
    if (ch->profile_named && !creds_ini_has_profile(&ch->files.config, ch->profile) &&
        !creds_ini_has_profile(&ch->files.credentials, ch->profile)) {
        return sm_err_set(err, SM_ERR_CONFIG,
                          "the config profile (%.100s) could not be found in %.300s or %.300s",
                          ch->profile, ch->files.config.path, ch->files.credentials.path);
    }
    return 0;
}

/* The region: the caller's (--region, AWS_REGION, AWS_DEFAULT_REGION), else the profile's (as
 * botocore's `region` variable: AWS_DEFAULT_REGION, then the profile). Required: STS and every
 * later call need one. */
static int resolve_region(struct creds_chain *ch, struct aws_config *cfg, struct sm_err *err) {
    if (cfg->region != NULL) {
        return 0;
    }
    const char *where = NULL;
    const char *region = creds_profile_get(&ch->files, ch->profile, "region", &where);
    if (region == NULL || region[0] == '\0') {
        return sm_err_set(err, SM_ERR_CONFIG,
                          "no region: pass --region, set AWS_REGION or AWS_DEFAULT_REGION, or set "
                          "region in profile %.100s",
                          ch->profile);
    }
    char origin[500];
    snprintf(origin, sizeof(origin), "region in profile %.100s (%.300s)", ch->profile, where);
    return aws_config_set_region(cfg, region, origin, err);
}

/* Runs the sources in order until one is configured: 1 found, 0 none, -1 failed. */
static int run_chain(struct creds_chain *ch, struct creds *got, struct sm_err *err) {
    int found = creds_from_env(ch, got, err);
    if (found == 0) {
        found = creds_from_profile(ch, got, err);
    }
    if (found == 0) {
        found = creds_from_container(ch, got, err);
    }
    if (found == 0) {
        found = creds_from_imds(ch, got, err);
    }
    return found;
}

/* Appends what the chain found unconfigured before the failing source, room permitting. */
static void add_trail(struct sm_err *err, const struct creds_chain *ch) {
    size_t n = strlen(err->msg);
    if (ch->trail[0] != '\0' && n + 40 < sizeof(err->msg)) {
        snprintf(err->msg + n, sizeof(err->msg) - n, " [not configured before it: %s]", ch->trail);
    }
}

int creds_resolve(struct aws_config *cfg, const struct aws_system *sys, int64_t deadline_ms,
                  char *source, size_t cap, struct sm_err *err) {
    assert(cfg->access_key_id == NULL && cfg->secret_access_key == NULL);
    struct creds_chain ch;
    memset(&ch, 0, sizeof(ch));
    ch.cfg = cfg;
    ch.sys = sys;
    ch.deadline_ms = deadline_ms;
    struct creds got = {0};
    int rc = -1;
    if (cap > 0) {
        source[0] = '\0';
    }
    choose_profile(&ch);
    if (load_files(&ch, err) != 0 || resolve_region(&ch, cfg, err) != 0) {
        goto out;
    }
    int found = run_chain(&ch, &got, err);
    if (found < 0) {
        add_trail(err, &ch);
        goto out;
    }
    if (found == 0) {
        sm_err_set(err, SM_ERR_CONFIG, "no AWS credentials found: %s", ch.trail);
        goto out;
    }
    if (creds_check_expiration(&ch, &got, true, err) != 0) {
        sm_err_prefix(err, "%s", ch.source);
        goto out;
    }
    cfg->access_key_id = got.access_key_id;
    cfg->secret_access_key = got.secret_access_key;
    cfg->session_token = got.session_token;
    memset(&got, 0, sizeof(got));
    if (cap > 0) {
        snprintf(source, cap, "%s", ch.source);
    }
    rc = 0;
out:
    creds_clean_up(&got);
    creds_ini_clean_up(&ch.files.config);
    creds_ini_clean_up(&ch.files.credentials);
    return rc;
}
