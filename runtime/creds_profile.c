/* The profile sources of the credential chain (creds_sources.h: creds_from_profile), in the order
 * and with the checks of botocore's credentials.py: AssumeRoleProvider (role_arn with a
 * source_profile or credential_source), then ProfileProviderBuilder.providers (web identity, SSO,
 * login, the credentials file, credential_process, the config file). */
#include "creds_sources.h"

#include "mem.h"
#include "sts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The longest role chain (profile -> source_profile -> ...) we follow; botocore has no limit but
 * its loop check. */
#define ROLE_CHAIN_MAX 8

struct visited {
    const char *profiles[ROLE_CHAIN_MAX + 1];
    size_t n;
};

static const char *get(const struct creds_chain *ch, const char *profile, const char *key) {
    return creds_profile_get(&ch->files, profile, key, NULL);
}

static bool profile_exists(const struct creds_chain *ch, const char *profile) {
    return creds_ini_has_profile(&ch->files.config, profile) ||
           creds_ini_has_profile(&ch->files.credentials, profile);
}

/* AssumeRoleProvider._has_static_credentials. */
static bool has_static(const struct creds_chain *ch, const char *profile) {
    return get(ch, profile, "aws_access_key_id") != NULL ||
           get(ch, profile, "aws_secret_access_key") != NULL;
}

/* AssumeRoleProvider._has_assume_role_config_vars: a profile with web_identity_token_file belongs
 * to the web identity provider even when it has role_arn. */
static bool has_role(const struct creds_chain *ch, const char *profile) {
    return get(ch, profile, "role_arn") != NULL &&
           get(ch, profile, "web_identity_token_file") == NULL;
}

/* SharedCredentialProvider / ConfigProvider: aws_access_key_id in that file's section decides; a
 * missing secret key is PartialCredentialsError; the token from aws_security_token, else
 * aws_session_token. */
static int from_file_keys(struct creds_chain *ch, const struct creds_ini *ini, const char *profile,
                          struct creds *out, struct sm_err *err) {
    const char *akid = creds_ini_get(ini, profile, "aws_access_key_id");
    if (akid == NULL) {
        return 0;
    }
    const char *secret = creds_ini_get(ini, profile, "aws_secret_access_key");
    if (secret == NULL) {
        return sm_err_set(err, SM_ERR_CONFIG,
                          "profile %.100s in %.300s: aws_access_key_id without "
                          "aws_secret_access_key",
                          profile, ini->path);
    }
    const char *token = creds_ini_get(ini, profile, "aws_security_token");
    if (token == NULL) {
        token = creds_ini_get(ini, profile, "aws_session_token");
    }
    if (creds_set(out, akid, secret, token, err) != 0) {
        return -1;
    }
    creds_describe(ch, "profile %.100s: static keys in %.300s", profile, ini->path);
    return 1;
}

/* SSOProvider (sso_role_name or sso_account_id) and LoginProvider (login_session) need a browser
 * sign-in and token caches of their own: refused with a way out. */
static int unsupported_kind(const struct creds_chain *ch, const char *profile, struct sm_err *err) {
    const char *kind = NULL;
    if (get(ch, profile, "sso_role_name") != NULL || get(ch, profile, "sso_account_id") != NULL) {
        kind = "an IAM Identity Center (SSO) profile";
    } else if (get(ch, profile, "login_session") != NULL) {
        kind = "a console login profile (login_session)";
    }
    if (kind == NULL) {
        return 0;
    }
    return sm_err_set(err, SM_ERR_CONFIG,
                      "profile %.100s is %s, which bootstrap check does not support: sign in with "
                      "the AWS CLI and add a profile with credential_process = aws configure "
                      "export-credentials --profile %.100s --format process",
                      profile, kind, profile);
}

/* ProfileProviderBuilder.providers: web identity (the variables only when use_env), SSO and
 * login, the credentials file, credential_process, the config file. */
static int profile_providers(struct creds_chain *ch, const char *profile, bool use_env,
                             struct creds *out, struct sm_err *err) {
    int found = creds_from_web_identity(ch, profile, use_env, out, err);
    if (found == 0 && unsupported_kind(ch, profile, err) != 0) {
        return -1;
    }
    if (found == 0) {
        found = from_file_keys(ch, &ch->files.credentials, profile, out, err);
    }
    const char *process = get(ch, profile, "credential_process");
    if (found == 0 && process != NULL) {
        found = creds_from_process(ch, profile, process, out, err);
    }
    if (found == 0) {
        found = from_file_keys(ch, &ch->files.config, profile, out, err);
    }
    if (found == 0) {
        creds_note(ch, "profile %.100s: %s", profile,
                   profile_exists(ch, profile)
                       ? "no keys, role_arn, credential_process or web identity in it"
                       : "in neither file");
    }
    return found;
}

/* CanonicalNameCredentialSourcer: the environment, instance metadata or the container endpoint
 * (names compared without case). */
static int from_credential_source(struct creds_chain *ch, const char *profile, const char *name,
                                  struct creds *out, struct sm_err *err) {
    int found;
    if (strcasecmp(name, "Environment") == 0) {
        found = creds_from_env(ch, out, err);
    } else if (strcasecmp(name, "Ec2InstanceMetadata") == 0) {
        found = creds_from_imds(ch, out, err);
    } else if (strcasecmp(name, "EcsContainer") == 0) {
        found = creds_from_container(ch, out, err);
    } else {
        return sm_err_set(err, SM_ERR_CONFIG,
                          "the credential_source %.100s in profile %.100s is not valid "
                          "(Environment, Ec2InstanceMetadata or EcsContainer)",
                          name, profile);
    }
    if (found == 0) {
        return sm_err_set(err, SM_ERR_CONFIG,
                          "no credentials found in credential_source %.100s referenced in profile "
                          "%.100s",
                          name, profile);
    }
    return found;
}

static bool was_visited(const struct visited *v, const char *profile) {
    for (size_t i = 0; i < v->n; i++) {
        if (strcmp(v->profiles[i], profile) == 0) {
            return true;
        }
    }
    return false;
}

static int assume_role(struct creds_chain *ch, const char *profile, struct visited *v,
                       struct creds *out, struct sm_err *err);

/* AssumeRoleProvider._validate_source_profile and _resolve_credentials_from_profile. */
static int from_source_profile(struct creds_chain *ch, const char *profile, const char *source,
                               struct visited *v, struct creds *out, struct sm_err *err) {
    if (!profile_exists(ch, source)) {
        return sm_err_set(err, SM_ERR_CONFIG,
                          "the source_profile %.100s referenced in profile %.100s does not exist",
                          source, profile);
    }
    bool self = strcmp(source, profile) == 0;
    if (was_visited(v, source) && (!self || !has_static(ch, source))) {
        return sm_err_set(err, SM_ERR_CONFIG,
                          "profile %.100s: source_profile %.100s makes a loop of profiles", profile,
                          source);
    }
    if (v->n >= ROLE_CHAIN_MAX) {
        return sm_err_set(err, SM_ERR_CONFIG,
                          "profile %.100s: a role chain longer than %d profiles", profile,
                          ROLE_CHAIN_MAX);
    }
    v->profiles[v->n++] = source;
    if (has_static(ch, source) || !has_role(ch, source)) {
        int found = profile_providers(ch, source, false, out, err);
        if (found == 0) {
            return sm_err_set(err, SM_ERR_CONFIG, "the source profile %.100s must have credentials",
                              source);
        }
        return found;
    }
    return assume_role(ch, source, v, out, err);
}

/* STS AssumeRole for profile's role_arn with the source credentials src. */
static int call_assume_role(struct creds_chain *ch, const char *profile, const struct creds *src,
                            struct creds *out, struct sm_err *err) {
    const char *duration = get(ch, profile, "duration_seconds");
    char *end = NULL;
    long seconds = duration != NULL ? strtol(duration, &end, 10) : 0;
    char session[64];
    snprintf(session, sizeof(session), "smrotate-session-%lld",
             (long long)(ch->sys->ops->now_ms(ch->sys->impl) / 1000));
    struct sts_assume_role p = {
        .role_arn = get(ch, profile, "role_arn"),
        .session_name = get(ch, profile, "role_session_name"),
        .external_id = get(ch, profile, "external_id"),
        /* botocore: a duration_seconds that is no integer is ignored */
        .duration_seconds = end != NULL && end != duration && *end == '\0' ? seconds : 0,
    };
    if (p.session_name == NULL) {
        p.session_name = session; /* botocore: botocore-session-<epoch seconds> */
    }
    struct creds_sts s;
    struct sts_credentials got = {0};
    int rc = -1;
    if (creds_sts_open(ch, src, &s, err) != 0) {
        return -1;
    }
    if (sts_assume_role(&s.client, &p, ch->deadline_ms, &got, err) == 0 &&
        creds_take_sts(&got, out, err) == 0) {
        rc = 1;
    }
    sts_credentials_clean_up(&got);
    creds_sts_close(&s);
    return rc;
}

/* AssumeRoleProvider._load_creds_via_assume_role for profile. */
static int assume_role(struct creds_chain *ch, const char *profile, struct visited *v,
                       struct creds *out, struct sm_err *err) {
    const char *role = get(ch, profile, "role_arn");
    const char *source = get(ch, profile, "source_profile");
    const char *named = get(ch, profile, "credential_source");
    if (source != NULL && named != NULL) {
        return sm_err_set(err, SM_ERR_CONFIG,
                          "profile %.100s has both source_profile and credential_source", profile);
    }
    if (source == NULL && named == NULL) {
        return sm_err_set(err, SM_ERR_CONFIG,
                          "profile %.100s has role_arn but neither source_profile nor "
                          "credential_source",
                          profile);
    }
    if (get(ch, profile, "mfa_serial") != NULL) {
        return sm_err_set(err, SM_ERR_CONFIG,
                          "profile %.100s needs an MFA code (mfa_serial), which bootstrap check "
                          "cannot prompt for: use credentials from a session you started",
                          profile);
    }
    struct creds src = {0};
    int found = named != NULL ? from_credential_source(ch, profile, named, &src, err)
                              : from_source_profile(ch, profile, source, v, &src, err);
    char inner[CREDS_SOURCE_MAX];
    snprintf(inner, sizeof(inner), "%s", ch->source);
    if (found > 0) {
        /* expired source credentials: STS would only answer ExpiredToken */
        found = creds_check_expiration(ch, &src, false, err) == 0
                    ? call_assume_role(ch, profile, &src, out, err)
                    : -1;
        if (found < 0) {
            sm_err_prefix(err, "profile %.100s (assume role %.300s with credentials from %.300s)",
                          profile, role, inner);
        }
    }
    creds_clean_up(&src);
    if (found > 0) {
        creds_describe(ch, "profile %.100s: assume role %.300s with credentials from %s", profile,
                       role, inner);
    }
    return found;
}

int creds_from_profile(struct creds_chain *ch, struct creds *out, struct sm_err *err) {
    if (has_role(ch, ch->profile)) {
        struct visited v = {.profiles = {ch->profile}, .n = 1};
        return assume_role(ch, ch->profile, &v, out, err);
    }
    return profile_providers(ch, ch->profile, true, out, err);
}
