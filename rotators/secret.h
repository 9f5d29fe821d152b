/*
 * secret: a database secret's JSON, validated, and re-rendered with new credentials.
 *
 * Fields (as AWS's rotation templates define them): `engine`, `host`, `username`, `password`
 * required; `port` (number or numeric string, engine default), `dbname`, `ssl`, `masterarn`
 * optional; every other key is carried through untouched. Rendering a new version splices the
 * new `password` (and `username`) into the original text, so all other bytes - key order, number
 * formatting, unicode escapes, nested objects - stay exactly as they were.
 *
 * Validation is strict: types, port range, a known engine, no duplicate top-level keys, no NUL
 * inside a field. A secret holds a password: everything is wiped on clean-up, and no message
 * quotes a field's value (except the engine name and the port's type).
 */
#ifndef ROT_SECRET_H
#define ROT_SECRET_H

#include "buf.h"
#include "engine.h"
#include "errors.h"

#include <cjson/cJSON.h>
#include <stddef.h>

struct rot_secret {
    char *text; /* the SecretString as stored, owned, NUL-terminated */
    size_t text_len;
    cJSON *json; /* parsed text, owned */
    const struct rot_engine *engine;
    /* Views into json; NULL when absent. */
    const char *engine_value;
    const char *host;
    const char *username;
    const char *password;
    const char *dbname;
    const char *masterarn;
    int port; /* engine default when absent */
    enum rot_tls tls;
};

/* Parses and validates len bytes of SecretString against the engines in registry. Returns 0, or
 * -1 with err (ROT_ERR_SECRET_INVALID with the template's wording where one exists, e.g.
 * "username key is missing from secret JSON"; SM_ERR_NOMEM). out is always safe to clean up.
 * rot_secret_parse copies text; rot_secret_take takes it over (text must come from sm_malloc,
 * with a NUL at text[len]; out owns it even when parsing fails). */
int rot_secret_parse(const char *text, size_t len, const struct rot_engine *const *registry,
                     struct rot_secret *out, struct sm_err *err);
int rot_secret_take(char *text, size_t len, const struct rot_engine *const *registry,
                    struct rot_secret *out, struct sm_err *err);

/* Parses only {username, password} plus whatever else is there, without requiring engine/host:
 * used to recognise an RDS-managed master secret. Returns 1 when the object has exactly the keys
 * username and password (both strings), 0 otherwise, -1 when it is not a JSON object. */
int rot_secret_is_bare_credentials(const char *text, size_t len);

/* Writes base's text with `password` replaced by password and, when username is non-NULL,
 * `username` replaced by username, into out (replacing its content). Returns 0 or -1 with err. */
int rot_secret_render(const struct rot_secret *base, const char *username, const char *password,
                      struct sm_buf *out, struct sm_err *err);

/* Connection parameters of s (views into s). */
struct rot_login rot_secret_login(const struct rot_secret *s);

/* Wipes and frees. Accepts a zeroed struct. */
void rot_secret_clean_up(struct rot_secret *s);

#endif
