/*
 * json: small cJSON helpers shared by the runtime and the rotators.
 *
 * Parsing is bounded by length (the input need not be NUL-terminated) and reports failures as
 * sm_err values without quoting the input, which may be a SecretString.
 */
#ifndef SM_JSON_H
#define SM_JSON_H

#include "buf.h"
#include "err.h"

#include <cjson/cJSON.h>
#include <stdbool.h>

/* Parses len bytes of JSON. what names the document in the error ("the event", "the secret").
 * Trailing garbage is an error. Returns the tree (caller frees with cJSON_Delete) or NULL with err
 * set: SM_ERR_NOMEM when an allocation failed during the parse (seen through the sm_mem hooks, so
 * sm_mem_install_hooks must have run), else code (SM_ERR_PROTOCOL by default, or e.g.
 * the caller's own class) for malformed input. */
cJSON *sm_json_parse(const char *data, size_t len, const struct sm_code *code, const char *what,
                     struct sm_err *err);

/* Whether any string in the JSON text (len bytes, already known to parse) holds an escaped
 * U+0000, which a C string would silently cut short ("arn\u0000x" reads as "arn"). */
bool sm_json_has_nul_escape(const char *data, size_t len);

/* The string value of obj[key], or NULL when absent or not a string. Borrowed from obj. */
const char *sm_json_string(const cJSON *obj, const char *key);

/* Serialises item without whitespace into out (replacing its content). Returns 0 or -1 with err
 * set (SM_ERR_NOMEM, SM_ERR_TOO_LARGE past out's ceiling). The intermediate copy is wiped. */
int sm_json_print(const cJSON *item, struct sm_buf *out, struct sm_err *err);

#endif
