/*
 * db_tls: the trust behind every database TLS connection, decided once at init, and the advice a
 * TLS failure gives the operator. The one place that knows where CA bundles come from; the
 * engines only ever get a file (struct rot_connect_opts).
 *
 * Settings:
 *   SMROTATE_DB_CA_FILE    a readable PEM bundle: the only trust. Unset or empty: the default,
 *                          the packaged RDS bundle (certs/rds-global-bundle.pem next to
 *                          bootstrap) AND the system store (sm_system_ca_bundle), because RDS Proxy
 *                          presents ACM certificates that chain to Amazon's public roots and a
 *                          self-managed server may use any public CA. With both present they are
 *                          written once per process into one combined bundle (below); with one,
 *                          that one; with neither, none (TLS then fails, naming this setting).
 *   SMROTATE_DB_TLS_VERIFY full (default): the chain and the host name; ca: the chain only, for a
 *                          host the certificate cannot name (a Route 53 CNAME, an IP address).
 *                          Either way TLS is never given up for plaintext.
 *
 * Why one combined file: libpq 15 takes a single sslrootcert file (the "system" keyword came with
 * libpq 16) and MariaDB Connector/C a single CA file (its capath has no counterpart in libpq), so
 * the union of two bundles has to be one file. It is written with mkstemp (mode 0600) under
 * $TMPDIR (else /tmp) at init, which costs one copy of about 400 KB per cold start, and removed by
 * rot_db_trust_clean_up; a process killed before that leaves it behind in a sandbox that goes
 * with it. CA certificates are public: nothing in it is secret.
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
 * NULL) with opts: which of SMROTATE_DB_CA_FILE and SMROTATE_DB_TLS_VERIFY would apply, naming
 * the bundle's origin. Truncates to cap. */
void rot_db_tls_advice(enum rot_tls_failure kind, const struct rot_connect_opts *opts,
                       const char *host, char *out, size_t cap);

#endif
