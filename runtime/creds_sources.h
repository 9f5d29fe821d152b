/*
 * creds_sources: the pieces of the credential chain (credentials.h) that its files share: the
 * resolved value, the chain's state, the shared config and credentials files, and one function per
 * source. Only runtime/credentials.c, runtime/creds_*.c and tests include it.
 *
 * A source function returns 1 when it produced credentials (out filled), 0 when it is not
 * configured (a note for the final message appended to the chain's trail), or -1 when it is
 * configured and failed (err set): as in botocore, that ends the chain, the later sources are not
 * tried.
 */
#ifndef SM_CREDS_SOURCES_H
#define SM_CREDS_SOURCES_H

#include "aws.h"
#include "buf.h"
#include "err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- values ---------------------------------------------------------------------------------- */

struct creds {
    char *access_key_id;
    char *secret_access_key; /* wiped */
    char *session_token;     /* wiped; NULL: none */
    int64_t expiration_ms;   /* Unix ms; 0: does not expire */
};

/* Copies the strings into c (replacing what it held). token may be NULL or "" (none). Returns 0
 * or -1 (SM_ERR_NOMEM; c is then cleaned up). */
int creds_set(struct creds *c, const char *access_key_id, const char *secret_access_key,
              const char *token, struct sm_err *err);

/* Wipes and frees. Accepts a zeroed struct. */
void creds_clean_up(struct creds *c);

/* Parses an ISO 8601 UTC time as the AWS credential sources write it ("2024-05-01T12:00:00Z",
 * fractions of a second and a numeric offset allowed) into Unix milliseconds. Returns 0, or -1
 * when text is not such a time. */
int creds_parse_time(const char *text, int64_t *out_ms);

/* Writes ms as an ISO 8601 UTC time ("2024-05-01T12:00:00Z") into out (cap bytes). */
void creds_format_time(int64_t ms, char *out, size_t cap);

/* Reads the file at path into out, up to out's ceiling (past it: SM_ERR_CONFIG); out wipes on
 * clean-up: tokens. what names the file in messages. Returns 0, or -1 with err (SM_ERR_CONFIG
 * naming the path and errno's text, SM_ERR_NOMEM). */
int creds_read_small_file(const char *path, struct sm_buf *out, const char *what,
                          struct sm_err *err);

/* ---- the shared config and credentials files ------------------------------------------------- */

struct creds_ini_section {
    char *name;    /* as written between the brackets */
    char *profile; /* the profile it holds (see creds_ini_parse), or NULL */
};

struct creds_ini_entry {
    size_t section; /* index into sections */
    char *key;      /* lower-cased, as configparser does */
    char *value;    /* wiped: may be a secret key */
};

struct creds_ini {
    char *path; /* as expanded (~ to $HOME) */
    struct creds_ini_section *sections;
    size_t n_sections;
    struct creds_ini_entry *entries;
    size_t n_entries;
};

/* Parses text (len bytes) of a file at path the way botocore's configloader does (Python's
 * RawConfigParser): [section] headers, `key = value` or `key: value` lines (keys lower-cased,
 * values stripped, no inline comments), full-line # and ; comments, indented continuation lines
 * appended with "\n". config_file: sections map to profiles as in the config file ([default],
 * [profile NAME], NAME shell-quoted); else as in the credentials file ([NAME]). Returns 0, or -1
 * with err: SM_ERR_CONFIG naming the file and line (a key before any section, a line that is no
 * key, an empty section name, a section or key given twice, as RawConfigParser's strict mode
 * refuses), SM_ERR_NOMEM. out is always safe to clean up. */
int creds_ini_parse(const char *path, const char *text, size_t len, bool config_file,
                    struct creds_ini *out, struct sm_err *err);

/* Reads and parses the file at path (~ expanded). A file that does not exist (or cannot be
 * opened) leaves out empty (no sections) and is no error, as botocore ignores it. */
int creds_ini_load(const char *path, bool config_file, struct creds_ini *out, struct sm_err *err);

void creds_ini_clean_up(struct creds_ini *ini);

/* Whether a section of ini holds profile. */
bool creds_ini_has_profile(const struct creds_ini *ini, const char *profile);

/* The value of key in the last section of ini that holds profile (botocore keeps the last one:
 * a config file's [default] and [profile default] are two sections for one profile), or NULL. */
const char *creds_ini_get(const struct creds_ini *ini, const char *profile, const char *key);

struct creds_files {
    struct creds_ini config;      /* AWS_CONFIG_FILE, default ~/.aws/config */
    struct creds_ini credentials; /* AWS_SHARED_CREDENTIALS_FILE, default ~/.aws/credentials */
};

/* A profile's setting as botocore's merged view has it: the credentials file's value, else the
 * config file's. *where (may be NULL) gets the file's path. NULL when neither has it. */
const char *creds_profile_get(const struct creds_files *f, const char *profile, const char *key,
                              const char **where);

/* Splits a command line as Python's shlex.split does in POSIX mode (botocore's
 * compat_shell_split): words separated by blanks, '...' literal, "..." with \ escaping \ " $ `
 * and newline, \ escaping the next character outside quotes. On success *argv is a
 * NULL-terminated array (one sm_ block: free with sm_free) of at least one word. Returns 0, or -1
 * with err (SM_ERR_CONFIG: an unterminated quote or escape, no word; SM_ERR_NOMEM). */
int creds_split_command(const char *line, char ***argv, struct sm_err *err);

/* ---- the chain ------------------------------------------------------------------------------- */

#define CREDS_TRAIL_MAX 900
#define CREDS_SOURCE_MAX 600

struct creds_chain {
    const struct aws_config *cfg; /* settings (region, CA bundle, proxies, timeouts); borrowed */
    const struct aws_system *sys; /* borrowed */
    int64_t deadline_ms;
    const char *profile; /* AWS_PROFILE's value, else "default" */
    bool profile_named;  /* set explicitly: it must exist */
    struct creds_files files;
    char trail[CREDS_TRAIL_MAX];   /* what was not configured, for the final message */
    char source[CREDS_SOURCE_MAX]; /* what produced the credentials */
};

/* Appends "; <note>" (the first note without "; ") to ch->trail, cut to fit. */
void creds_note(struct creds_chain *ch, const char *fmt, ...) SM_PRINTF(2, 3);

/* Sets ch->source (cut to fit). */
void creds_describe(struct creds_chain *ch, const char *fmt, ...) SM_PRINTF(2, 3);

/* Refuses credentials that will not last long enough: expired now (whole_check false: what an
 * STS call made now with them needs), or by the chain's deadline (whole_check true: the check
 * must be able to use them until it ends). No expiration: they last. Returns 0, or -1 with err
 * (SM_ERR_CONFIG: "the credentials expired at X" or "... expire at X, before the check could
 * finish"). */
int creds_check_expiration(const struct creds_chain *ch, const struct creds *c, bool whole_check,
                           struct sm_err *err);

/* ---- the sources ----------------------------------------------------------------------------- */

/* AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN (or the legacy AWS_SECURITY_TOKEN),
 * as botocore's EnvProvider: an access key without a secret key fails. */
int creds_from_env(struct creds_chain *ch, struct creds *out, struct sm_err *err);

/* The profile-based sources of ch->profile, in botocore's order: AssumeRoleProvider (role_arn
 * without web_identity_token_file: STS AssumeRole with the source profile's or credential_source's
 * credentials), then ProfileProviderBuilder's providers: web identity (the variables, then the
 * profile), SSO and login (not supported: an error that says so), the credentials file's keys,
 * credential_process, the config file's keys. */
int creds_from_profile(struct creds_chain *ch, struct creds *out, struct sm_err *err);

/* STS AssumeRoleWithWebIdentity with AWS_WEB_IDENTITY_TOKEN_FILE / AWS_ROLE_ARN /
 * AWS_ROLE_SESSION_NAME (when use_env) or profile's web_identity_token_file / role_arn /
 * role_session_name, each variable before its profile key, as in botocore. */
int creds_from_web_identity(struct creds_chain *ch, const char *profile, bool use_env,
                            struct creds *out, struct sm_err *err);

/* Runs a profile's credential_process (see creds_process.c). */
int creds_from_process(struct creds_chain *ch, const char *profile, const char *command,
                       struct creds *out, struct sm_err *err);

/* The container credentials endpoint (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / _FULL_URI). */
int creds_from_container(struct creds_chain *ch, struct creds *out, struct sm_err *err);

/* EC2 instance metadata with an IMDSv2 token. Never -1 for an unreachable or failing service
 * (botocore treats that as "no credentials"): only for a bad endpoint setting or memory. */
int creds_from_imds(struct creds_chain *ch, struct creds *out, struct sm_err *err);

/* Turns STS credentials (moved out of sts: its strings are taken) into out. */
struct sts_credentials;
int creds_take_sts(struct sts_credentials *sts, struct creds *out, struct sm_err *err);

/* Makes an STS client call with source credentials src (NULL: anonymous calls only): a settings
 * copy of ch->cfg with src's keys. */
struct creds_sts {
    struct aws_config cfg; /* a shallow copy: borrows every string */
    char *endpoint;
    struct aws_client client;
};
int creds_sts_open(struct creds_chain *ch, const struct creds *src, struct creds_sts *out,
                   struct sm_err *err);
void creds_sts_close(struct creds_sts *s);

#endif
