/* The AWS client layer's configuration (aws.h): settings and endpoints from the environment, as
 * the SDKs read them, and endpoint URLs split for signing. */
#include "aws.h"

#include "mem.h"
#include "paths.h"
#include "str.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* ------------------------------------------------------------------------------------------ */
/* Configuration                                                                                */

static bool valid_region(const char *r) {
    if (r[0] == '\0' || strlen(r) > 64) {
        return false;
    }
    for (const char *p = r; *p != '\0'; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-')) {
            return false;
        }
    }
    return true;
}

/* DNS suffix of the partition a region belongs to. */
static const char *dns_suffix(const char *region) {
    if (strncmp(region, "cn-", 3) == 0) {
        return "amazonaws.com.cn";
    }
    if (strncmp(region, "us-isob-", 8) == 0) {
        return "sc2s.sgov.gov";
    }
    if (strncmp(region, "us-iso-", 7) == 0) {
        return "c2s.ic.gov";
    }
    return "amazonaws.com";
}

static int dup_env(char **dst, const char *value, const char *name, struct sm_err *err) {
    *dst = sm_strdup(value);
    if (*dst == NULL) {
        return sm_err_set(err, SM_ERR_NOMEM, "out of memory reading %s", name);
    }
    return 0;
}

/* The first of two proxy variables that is set (the upper-case one first). */
static int dup_proxy(char **dst, const char *upper, const char *lower, struct sm_err *err) {
    const char *name = upper;
    const char *v = sm_env_nonempty(upper);
    if (v == NULL) {
        name = lower;
        v = sm_env_nonempty(lower);
    }
    *dst = NULL;
    return v != NULL ? dup_env(dst, v, name, err) : 0;
}

int aws_config_set_region(struct aws_config *cfg, const char *region, const char *origin,
                          struct sm_err *err) {
    if (!valid_region(region)) {
        return sm_err_set(err, SM_ERR_CONFIG, "%s is not a valid region name", origin);
    }
    char *copy = NULL;
    if (dup_env(&copy, region, origin, err) != 0) {
        return -1;
    }
    sm_free(cfg->region);
    cfg->region = copy;
    return 0;
}

int aws_config_settings_from_env(struct aws_config *cfg, struct sm_err *err) {
    int result = -1;
    memset(cfg, 0, sizeof(*cfg));
    cfg->connect_timeout_ms = AWS_DEFAULT_CONNECT_TIMEOUT_MS;
    cfg->attempt_timeout_ms = AWS_DEFAULT_ATTEMPT_TIMEOUT_MS;
    cfg->max_attempts = AWS_DEFAULT_MAX_ATTEMPTS;

    const char *region_var = "AWS_REGION";
    const char *region = sm_env_nonempty(region_var);
    if (region == NULL) {
        region_var = "AWS_DEFAULT_REGION";
        region = sm_env_nonempty(region_var);
    }
    if ((region != NULL && aws_config_set_region(cfg, region, region_var, err) != 0) ||
        dup_proxy(&cfg->https_proxy, "HTTPS_PROXY", "https_proxy", err) != 0 ||
        dup_proxy(&cfg->http_proxy, "HTTP_PROXY", "http_proxy", err) != 0 ||
        dup_proxy(&cfg->no_proxy, "NO_PROXY", "no_proxy", err) != 0) {
        goto out;
    }
    const char *ca = sm_env_nonempty("SMROTATE_CA_FILE");
    if (ca != NULL) {
        if (access(ca, R_OK) != 0) {
            sm_err_set(err, SM_ERR_CONFIG, "SMROTATE_CA_FILE (%s) cannot be read", ca);
            goto out;
        }
    } else {
        ca = sm_system_ca_bundle();
    }
    if (ca != NULL && dup_env(&cfg->ca_file, ca, "SMROTATE_CA_FILE", err) != 0) {
        goto out;
    }
    result = 0;
out:
    if (result != 0) {
        aws_config_clean_up(cfg);
    }
    return result;
}

int aws_config_from_env(struct aws_config *cfg, struct sm_err *err) {
    if (aws_config_settings_from_env(cfg, err) != 0) {
        return -1;
    }
    int result = -1;
    const char *akid = sm_env_nonempty("AWS_ACCESS_KEY_ID");
    const char *secret = sm_env_nonempty("AWS_SECRET_ACCESS_KEY");
    const char *token = sm_env_nonempty("AWS_SESSION_TOKEN");
    if (cfg->region == NULL) {
        sm_err_set(err, SM_ERR_CONFIG, "AWS_REGION is not set (nor AWS_DEFAULT_REGION)");
    } else if (akid == NULL) {
        sm_err_set(err, SM_ERR_CONFIG, "AWS_ACCESS_KEY_ID is not set");
    } else if (secret == NULL) {
        sm_err_set(err, SM_ERR_CONFIG, "AWS_SECRET_ACCESS_KEY is not set");
    } else if (dup_env(&cfg->access_key_id, akid, "AWS_ACCESS_KEY_ID", err) == 0 &&
               dup_env(&cfg->secret_access_key, secret, "AWS_SECRET_ACCESS_KEY", err) == 0 &&
               (token == NULL ||
                dup_env(&cfg->session_token, token, "AWS_SESSION_TOKEN", err) == 0)) {
        result = 0;
    }
    if (result != 0) {
        aws_config_clean_up(cfg);
    }
    return result;
}

void aws_config_clean_up(struct aws_config *cfg) {
    if (cfg == NULL) {
        return;
    }
    sm_free(cfg->region);
    sm_free(cfg->access_key_id);
    sm_free(cfg->secret_access_key); /* sm_free wipes */
    sm_free(cfg->session_token);
    sm_free(cfg->ca_file);
    sm_free(cfg->https_proxy); /* a proxy URL may carry credentials */
    sm_free(cfg->http_proxy);
    sm_free(cfg->no_proxy);
    memset(cfg, 0, sizeof(*cfg));
}

int aws_endpoint_from_env(const char *const *vars, const char *prefix, const char *region,
                          char **out, struct sm_err *err) {
    *out = NULL;
    for (size_t i = 0; vars[i] != NULL; i++) {
        const char *v = sm_env_nonempty(vars[i]);
        if (v == NULL) {
            continue;
        }
        struct aws_endpoint ep;
        if (aws_endpoint_parse(v, &ep, err) != 0) {
            return sm_err_set(err, SM_ERR_CONFIG, "%s is not a usable http(s) endpoint URL",
                              vars[i]);
        }
        return dup_env(out, v, vars[i], err);
    }
    const char *fips = getenv("AWS_USE_FIPS_ENDPOINT");
    bool use_fips = fips != NULL && strcasecmp(fips, "true") == 0;
    char url[AWS_URL_MAX];
    snprintf(url, sizeof(url), "https://%s%s.%s.%s", prefix, use_fips ? "-fips" : "", region,
             dns_suffix(region));
    return dup_env(out, url, "the endpoint", err);
}

/* ------------------------------------------------------------------------------------------ */
/* Endpoint                                                                                     */

int aws_endpoint_parse(const char *endpoint, struct aws_endpoint *out, struct sm_err *err) {
    assert(endpoint != NULL);
    memset(out, 0, sizeof(*out));
    const char *default_port;
    size_t scheme_len;
    if (strncasecmp(endpoint, "https://", 8) == 0) {
        default_port = "443";
        scheme_len = 8;
        out->https = true;
    } else if (strncasecmp(endpoint, "http://", 7) == 0) {
        default_port = "80";
        scheme_len = 7;
    } else {
        return sm_err_set(err, SM_ERR_CONFIG, "endpoint URL must start with http:// or https://");
    }
    const char *auth = endpoint + scheme_len;
    size_t auth_len = strcspn(auth, "/?#");
    const char *rest = auth + auth_len;
    if (auth_len == 0 || memchr(auth, '@', auth_len) != NULL || strpbrk(rest, "?#") != NULL ||
        strpbrk(endpoint, " \t\r\n") != NULL) {
        return sm_err_set(err, SM_ERR_CONFIG,
                          "endpoint URL needs a host and no user info, query or fragment");
    }
    /* host[:port], where an IPv6 host is bracketed. */
    const char *host_end = auth + auth_len;
    if (auth[0] == '[') {
        const char *close = memchr(auth, ']', auth_len);
        if (close == NULL) {
            return sm_err_set(err, SM_ERR_CONFIG, "endpoint URL has an unterminated IPv6 host");
        }
        host_end = close + 1;
    } else {
        const char *colon = memchr(auth, ':', auth_len);
        if (colon != NULL) {
            host_end = colon;
        }
    }
    size_t host_len = (size_t)(host_end - auth);
    const char *port = NULL;
    size_t port_len = 0;
    if (host_end < auth + auth_len) {
        if (*host_end != ':') {
            return sm_err_set(err, SM_ERR_CONFIG, "endpoint URL has a malformed host");
        }
        port = host_end + 1;
        port_len = (size_t)(auth + auth_len - port);
        if (port_len == 0 || port_len > 5 || strspn(port, "0123456789") < port_len) {
            return sm_err_set(err, SM_ERR_CONFIG, "endpoint URL has a malformed port");
        }
    }
    if (host_len == 0 || host_len + 1 + port_len >= sizeof(out->host)) {
        return sm_err_set(err, SM_ERR_CONFIG, "endpoint URL has an empty or overlong host");
    }
    bool default_p = port != NULL && strlen(default_port) == port_len &&
                     memcmp(port, default_port, port_len) == 0;
    if (port != NULL && !default_p) {
        snprintf(out->host, sizeof(out->host), "%.*s", (int)(host_len + 1 + port_len), auth);
    } else {
        snprintf(out->host, sizeof(out->host), "%.*s", (int)host_len, auth);
    }
    const char *path = rest[0] == '\0' ? "/" : rest;
    if (strlen(endpoint) + 2 > sizeof(out->url) || strlen(path) + 1 > sizeof(out->path)) {
        return sm_err_set(err, SM_ERR_CONFIG, "endpoint URL is too long");
    }
    snprintf(out->path, sizeof(out->path), "%s", path);
    snprintf(out->url, sizeof(out->url), "%.*s%s", (int)(rest - endpoint), endpoint, path);
    return 0;
}
