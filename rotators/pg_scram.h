/*
 * pg_scram: PostgreSQL SCRAM-SHA-256 password verifiers, computed with OpenSSL.
 *
 * Owns the one hash a PostgreSQL password change computes client-side: the verifier
 * "SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>" (RFC 5802 / RFC 7677, base64 as
 * PostgreSQL stores it in pg_authid), byte for byte what libpq's PQencryptPasswordConn builds for
 * the same salt, in about a third of its time: libpq 15 sets up a new HMAC (an EVP fetch) for
 * each of the 4096 PBKDF2 iterations, OpenSSL's PKCS5_PBKDF2_HMAC does not (measured with
 * tests/bench/bench.py: ~3.8 ms -> ~1.2 ms per verifier on the benchmark machine).
 *
 * Only for passwords SASLprep leaves unchanged, which is every printable-ASCII password (what
 * GetRandomPassword returns); for anything else the caller uses libpq, which applies SASLprep.
 */
#ifndef ROT_PG_SCRAM_H
#define ROT_PG_SCRAM_H

#include <stdbool.h>
#include <stddef.h>

/* libpq's defaults: 4096 iterations (PostgreSQL 16+ servers may report more), 16-byte salt. */
#define ROT_PG_SCRAM_ITERATIONS 4096
#define ROT_PG_SCRAM_SALT_LEN 16
#define ROT_PG_SCRAM_VERIFIER_MAX 256

/* Whether SASLprep leaves password unchanged: non-empty and every byte printable ASCII
 * (0x20-0x7E). */
bool rot_pg_scram_plain(const char *password);

/* Writes the SCRAM-SHA-256 verifier of password (rot_pg_scram_plain must hold) for this salt
 * (1..64 bytes) and iteration count (>= 1) into out, NUL-terminated; ROT_PG_SCRAM_VERIFIER_MAX
 * bytes always suffice. Intermediate keys are wiped. Returns 0, or -1 (out too small, bad
 * arguments or an OpenSSL failure) with out emptied. */
int rot_pg_scram_verifier(const char *password, const unsigned char *salt, size_t salt_len,
                          int iterations, char *out, size_t cap);

#endif
