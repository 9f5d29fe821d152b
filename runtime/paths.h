/*
 * paths: files the program finds by convention rather than by configuration.
 *
 * The Lambda package puts what bootstrap needs next to it (lib/, certs/), so a path relative to
 * the executable's directory is a default that needs no setting; and a TLS client needs the
 * system's CA bundle, which Amazon Linux and Debian keep in different places.
 */
#ifndef SM_PATHS_H
#define SM_PATHS_H

#include <stddef.h>

/* Writes "<directory of the running executable>/<rel>" into out (cap bytes). Returns 0, or -1
 * when the executable's path is unknown or the result does not fit. Does not check that the path
 * exists. */
int sm_exe_relative_path(const char *rel, char *out, size_t cap);

/* The system's CA bundle (PEM), the first readable of /etc/pki/tls/certs/ca-bundle.crt (Amazon
 * Linux), /etc/ssl/certs/ca-certificates.crt (Debian) and OpenSSL's default certificate file; NULL
 * when there is none. A static string. */
const char *sm_system_ca_bundle(void);

#endif
