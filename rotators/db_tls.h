/*
 * db_tls: the trust behind every database TLS connection, decided once at init, and the advice a
 * TLS failure gives the operator. The one place that knows where CA bundles come from; the
 * engines only ever get a file (db_connect.h passes it on).
 *
 * SMROTATE_DB_CA_FILE is the only trust when set. Unset, the default is the packaged RDS bundle
 * AND the system store (RDS Proxy presents ACM certificates that chain to Amazon's public roots),
 * with neither none at all: a server that offers TLS is then refused, naming SMROTATE_DB_CA_FILE.
 * libpq 15 and Connector/C each take one CA file, so two bundles are written once per process
 * into one combined file (mkstemp, mode 0600, under $TMPDIR or /tmp), removed by
 * rot_db_trust_clean_up; CA certificates are public. SMROTATE_DB_TLS_VERIFY: full (the chain and
 * the host name) or ca (the chain only); neither ever gives TLS up for plaintext.
 */
#ifndef ROT_DB_TLS_H
#define ROT_DB_TLS_H

#include "engine.h"
#include "errors.h"

#include <stddef.h>

/* The resolved trust. Strings owned; release with rot_db_trust_clean_up. */
struct rot_db_trust {
    char *ca_file;   /* the bundle the engines verify against, or NULL: none found */
    char *origin;    /* where its certificates come from, for messages */
    char *temp_file; /* the combined bundle this process wrote, removed by clean-up; or NULL */
    enum rot_tls_verify verify;
};

/* What rot_db_trust_resolve works from (all borrowed; NULL or "" means absent). */
struct rot_db_trust_sources {
    const char *ca_file_setting; /* SMROTATE_DB_CA_FILE */
    const char *verify_setting;  /* SMROTATE_DB_TLS_VERIFY */
    const char *packaged;        /* the packaged RDS bundle, if that file exists */
    const char *system;          /* the system store's bundle, if any */
    const char *tmp_dir;         /* where a combined bundle goes (default /tmp) */
};

/* Resolves the trust from src (see the settings above). Returns 0, or -1 with err:
 * SM_ERR_CONFIG naming the setting (unreadable SMROTATE_DB_CA_FILE, unknown
 * SMROTATE_DB_TLS_VERIFY, a combined bundle that cannot be written), SM_ERR_NOMEM. The caller
 * releases out with rot_db_trust_clean_up, also after a failure. */
int rot_db_trust_resolve(const struct rot_db_trust_sources *src, struct rot_db_trust *out,
                         struct sm_err *err);

/* rot_db_trust_resolve with the sources of this process: the environment, the packaged bundle
 * next to the executable, the system store, $TMPDIR. */
int rot_db_trust_from_env(struct rot_db_trust *out, struct sm_err *err);

/* Removes the combined bundle this process wrote and frees the strings. Accepts a zeroed struct
 * and NULL. */
void rot_db_trust_clean_up(struct rot_db_trust *trust);

/* What a failed TLS connection was, as far as an engine can tell. */
enum rot_tls_failure {
    ROT_TLS_FAILURE_OTHER,     /* unknown or a handshake failure: either setting may apply */
    ROT_TLS_FAILURE_UNTRUSTED, /* the chain does not lead to a CA of the bundle */
    ROT_TLS_FAILURE_HOST,      /* the certificate does not name the host */
    ROT_TLS_FAILURE_NO_CA,     /* there is no bundle to verify with */
};

/* Writes the operator's next step for a TLS failure of kind when connecting to host (may be
 * NULL) with the bundle from origin (NULL: "no CA bundle") under verify: which of
 * SMROTATE_DB_CA_FILE and SMROTATE_DB_TLS_VERIFY would apply, naming the origin. Truncates to
 * cap. */
void rot_db_tls_advice(enum rot_tls_failure kind, const char *origin, enum rot_tls_verify verify,
                       const char *host, char *out, size_t cap);

#endif
