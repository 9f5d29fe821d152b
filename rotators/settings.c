#include "settings.h"

#include "mem.h"
#include "str.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* One tag being applied. */
struct tag {
    const char *name;  /* the key after the prefix */
    const char *value; /* never NULL */
    char key[140];     /* the whole key, fit for a message */
};

static int bad_value(const struct tag *t, const char *accepted, struct sm_err *err) {
    char shown[80];
    sm_str_printable(t->value, shown, sizeof(shown));
    return sm_err_set(err, ROT_ERR_SECRET_INVALID,
                      "the secret's tag %s has the value \"%s\"; accepted: %s", t->key, shown,
                      accepted);
}

static int parse_bool(const struct tag *t, enum secrets_tristate *out, struct sm_err *err) {
    if (strcasecmp(t->value, "true") == 0) {
        *out = SECRETS_TRUE;
    } else if (strcasecmp(t->value, "false") == 0) {
        *out = SECRETS_FALSE;
    } else {
        return bad_value(t, "true or false", err);
    }
    return 0;
}

static int parse_long(const struct tag *t, long min, long max, long *out, struct sm_err *err) {
    char *end = NULL;
    long n = strtol(t->value, &end, 10);
    if (t->value[0] < '0' || t->value[0] > '9' || *end != '\0' || n < min || n > max) {
        char accepted[64];
        snprintf(accepted, sizeof(accepted), "a whole number from %ld to %ld", min, max);
        return bad_value(t, accepted, err);
    }
    *out = n;
    return 0;
}

/* "a b": two distinct user names separated by one space. */
static int parse_pair(const struct tag *t, struct rot_settings *s, struct sm_err *err) {
    const char *space = strchr(t->value, ' ');
    size_t first = space != NULL ? (size_t)(space - t->value) : 0;
    bool two = first > 0 && space[1] != '\0' && strchr(space + 1, ' ') == NULL;
    if (!two || (strlen(space + 1) == first && strncmp(t->value, space + 1, first) == 0)) {
        return bad_value(t, "two different user names separated by one space", err);
    }
    sm_free(s->pair_text);
    s->pair_text = sm_strdup(t->value);
    if (s->pair_text == NULL) {
        return sm_err_set(err, SM_ERR_NOMEM, "out of memory reading the tag %s", t->key);
    }
    char *sep = s->pair_text + (space - t->value);
    *sep = '\0';
    s->pair[0] = s->pair_text;
    s->pair[1] = sep + 1;
    return 0;
}

static int parse_strategy(const struct tag *t, const struct rot_strategy **out,
                          struct sm_err *err) {
    const struct rot_strategy *s = rot_strategy_find(t->value);
    if (t->value[0] == '\0' || s == NULL || s->per_secret) {
        return bad_value(t, rot_strategy_per_secret_accepted(), err);
    }
    *out = s;
    return 0;
}

/* Applies one smrotate: tag; strategy_tag receives a strategy the tag names. */
static int apply(const struct tag *t, struct rot_settings *s,
                 const struct rot_strategy **strategy_tag, struct sm_err *err) {
    struct secrets_password_policy *p = &s->policy;
    const char *n = t->name;
    enum secrets_tristate dual = SECRETS_UNSET;
    int rc;
    if (strcmp(n, "strategy") == 0) {
        rc = parse_strategy(t, strategy_tag, err);
    } else if (strcmp(n, "password-length") == 0) {
        rc = parse_long(t, 1, 4096, &p->length, err);
    } else if (strcmp(n, "exclude-numbers") == 0) {
        rc = parse_bool(t, &p->exclude_numbers, err);
    } else if (strcmp(n, "exclude-punctuation") == 0) {
        rc = parse_bool(t, &p->exclude_punctuation, err);
    } else if (strcmp(n, "exclude-uppercase") == 0) {
        rc = parse_bool(t, &p->exclude_uppercase, err);
    } else if (strcmp(n, "exclude-lowercase") == 0) {
        rc = parse_bool(t, &p->exclude_lowercase, err);
    } else if (strcmp(n, "require-each-included-type") == 0) {
        rc = parse_bool(t, &p->require_each_included_type, err);
    } else if (strcmp(n, "alternating-users") == 0) {
        rc = parse_pair(t, s, err);
    } else if (strcmp(n, "password-lifetime-days") == 0) {
        rc = parse_long(t, 1, ROT_MAX_LIFETIME_DAYS, &s->password_lifetime_days, err);
    } else if (strcmp(n, "mysql-dual-password") == 0) {
        rc = parse_bool(t, &dual, err);
        s->mysql_dual_password = dual == SECRETS_TRUE;
    } else {
        return sm_err_set(err, ROT_ERR_SECRET_INVALID,
                          "the secret's tag %s names no smrotate setting; known: strategy, "
                          "password-length, exclude-numbers, exclude-punctuation, "
                          "exclude-uppercase, exclude-lowercase, require-each-included-type, "
                          "alternating-users, password-lifetime-days, mysql-dual-password",
                          t->key);
    }
    if (rc == 0) {
        size_t used = strlen(s->from_tags);
        snprintf(s->from_tags + used, sizeof(s->from_tags) - used, "%s%s", used ? ", " : "", n);
    }
    return rc;
}

/* The strategy of the secret: a fixed Handler's (a tag may only repeat it), or under auto the
 * tag's, else two pre-created users or a master call for alternating users. */
static int choose_strategy(const struct rot_config *cfg, const struct rot_strategy *tagged,
                           bool has_master, struct rot_settings *s, struct sm_err *err) {
    const struct rot_strategy *handler = cfg->strategy;
    if (!handler->per_secret) {
        if (tagged != NULL && tagged != handler) {
            return sm_err_set(err, ROT_ERR_SECRET_INVALID,
                              "the secret's tag " ROT_TAG_PREFIX "strategy asks for %s, but this "
                              "function's Handler is %s; use Handler auto to choose per secret",
                              tagged->name, handler->name);
        }
        s->strategy = handler;
    } else if (tagged != NULL) {
        s->strategy = tagged;
    } else {
        s->strategy = rot_strategy_for_secret(handler, has_master || s->pair[0] != NULL);
    }
    if (s->pair[0] != NULL && !s->strategy->alternates_users) {
        return sm_err_set(err, ROT_ERR_SECRET_INVALID,
                          "the secret's tag " ROT_TAG_PREFIX "alternating-users needs the "
                          "alternating-users strategy, but the secret is rotated %s",
                          s->strategy->name);
    }
    return 0;
}

/* The months a cron month field lists (1-12, JAN-DEC, ranges, steps, lists) as a bit set; 0
 * when the field cannot be read. */
static unsigned cron_months(const char *field, size_t len) {
    static const char names[] = "JANFEBMARAPRMAYJUNJULAUGSEPOCTNOVDEC";
    unsigned set = 0;
    char buf[64];
    snprintf(buf, sizeof(buf), "%.*s", (int)len, field);
    for (char *item = buf, *next; item != NULL; item = next) {
        next = strchr(item, ',');
        if (next != NULL) {
            *next++ = '\0';
        }
        long lo = 1, hi = 12, step = 1;
        char *slash = strchr(item, '/');
        if (slash != NULL) {
            *slash = '\0';
            step = strtol(slash + 1, NULL, 10);
        }
        if (strcmp(item, "*") != 0) {
            char *dash = strchr(item, '-');
            if (dash != NULL) {
                *dash = '\0';
            }
            for (int part = 0; part < (dash != NULL ? 2 : 1); part++) {
                const char *v = part == 0 ? item : dash + 1;
                const char *name = strlen(v) == 3 ? strstr(names, v) : NULL;
                long m = name != NULL ? (name - names) / 3 + 1 : strtol(v, NULL, 10);
                *(part == 0 ? &lo : &hi) = m;
            }
            if (dash == NULL && slash == NULL) {
                hi = lo;
            }
        }
        if (lo < 1 || hi > 12 || lo > hi || step < 1 || step > 12) {
            return 0;
        }
        for (long m = lo; m <= hi; m += step) {
            set |= 1u << (m - 1);
        }
    }
    return set;
}

/* The longest gap between two rotations a schedule allows, in days (an upper bound); 0 when no
 * schedule is known. rate(N days|hours), AutomaticallyAfterDays, and cron(min hour dom month dow
 * year): every day when both day fields are wildcards, 7 days for days of the week, 35 for
 * "nth weekday" or "last weekday" forms, 31 for days of the month, times the longest gap between
 * the months listed. */
long rot_rotation_interval_days(const struct secrets_description *d) {
    const char *e = d->rotation_schedule;
    long n = 0;
    char unit[8] = "";
    if (e == NULL) {
        return d->rotation_after_days;
    }
    /* Secrets Manager takes rate(1 day) to rate(1000 days); beyond any valid schedule: none. */
    if (sscanf(e, "rate(%ld %7[a-z])", &n, unit) == 2 && n > 0 && n <= 24000) {
        return strncmp(unit, "hour", 4) == 0 ? (n + 23) / 24 : n;
    }
    const char *f[6];
    size_t flen[6], nf = 0;
    if (strncmp(e, "cron(", 5) != 0) {
        return 0;
    }
    for (const char *p = e + 5; nf < 6 && *p != '\0' && *p != ')';) {
        p += strspn(p, " ");
        f[nf] = p;
        flen[nf] = strcspn(p, " )");
        p += flen[nf++];
    }
    if (nf != 6) {
        return 0;
    }
    bool any_dom = flen[2] == 1 && strchr("*?", f[2][0]) != NULL;
    bool any_dow = flen[4] == 1 && strchr("*?", f[4][0]) != NULL;
    long per_month = 31; /* days of the month */
    if (any_dom && any_dow) {
        per_month = 1;
    } else if (!any_dow) {
        bool nth = memchr(f[4], '#', flen[4]) != NULL || memchr(f[4], 'L', flen[4]) != NULL;
        per_month = nth ? 35 : 7;
    }
    unsigned months = cron_months(f[3], flen[3]);
    if (months == 0) {
        return 0;
    }
    int gap = 0;
    for (int m = 0; m < 12; m++) {
        int g = 1;
        while (g <= 12 && !(months & (1u << ((m + g) % 12)))) {
            g++;
        }
        if ((months & (1u << m)) && g > gap) {
            gap = g;
        }
    }
    return gap <= 1 ? per_month : 31L * gap;
}

/* A password lifetime must outlast two rotation periods, or a password can expire before the
 * next rotation replaces it (one late or failed rotation away from a broken login). */
static int check_lifetime(const struct rot_settings *s, const struct secrets_description *d,
                          struct sm_err *err) {
    long interval = rot_rotation_interval_days(d);
    if (s->password_lifetime_days == 0 || interval == 0 ||
        s->password_lifetime_days >= 2 * interval) {
        return 0;
    }
    return sm_err_set(err, ROT_ERR_SECRET_INVALID,
                      "the password lifetime (%ld days, from %s) is shorter than twice the "
                      "secret's rotation interval (%ld days): a password could expire before the "
                      "next rotation replaces it; set it to %ld days or more",
                      s->password_lifetime_days,
                      strstr(s->from_tags, "password-lifetime-days") != NULL
                          ? "the tag " ROT_TAG_PREFIX "password-lifetime-days"
                          : "SMROTATE_PASSWORD_LIFETIME_DAYS",
                      interval, 2 * interval);
}

int rot_settings_resolve(const struct rot_config *cfg, const struct secrets_description *desc,
                         bool has_master, struct rot_settings *out, struct sm_err *err) {
    memset(out, 0, sizeof(*out));
    out->policy = cfg->policy;
    out->password_lifetime_days = cfg->password_lifetime_days;
    out->mysql_dual_password = cfg->mysql_dual_password;
    const struct rot_strategy *tagged = NULL;
    const size_t prefix = strlen(ROT_TAG_PREFIX);
    for (size_t i = 0; i < desc->n_tags; i++) {
        const struct secrets_tag *tag = &desc->tags[i];
        if (tag->key == NULL || strncasecmp(tag->key, ROT_TAG_PREFIX, prefix) != 0) {
            continue;
        }
        struct tag t = {.name = tag->key + prefix, .value = tag->value != NULL ? tag->value : ""};
        sm_str_printable(tag->key, t.key, sizeof(t.key));
        if (apply(&t, out, &tagged, err) != 0) {
            return -1;
        }
    }
    if (choose_strategy(cfg, tagged, has_master, out, err) != 0) {
        return -1;
    }
    return check_lifetime(out, desc, err);
}

void rot_settings_clean_up(struct rot_settings *s) {
    if (s == NULL) {
        return;
    }
    sm_free(s->pair_text);
    memset(s, 0, sizeof(*s));
}
