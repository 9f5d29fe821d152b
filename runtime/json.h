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

/* Parses len bytes of JSON leniently (anything may follow the value), for bodies whose shape is
 * checked by the caller. Returns the tree (caller frees with cJSON_Delete) or NULL; *nomem tells
 * an allocation failure (seen through the sm_mem hooks) from malformed input. */
cJSON *sm_json_parse_lenient(const char *data, size_t len, bool *nomem);

/* Whether any string in the JSON text (len bytes, already known to parse) holds an escaped
 * U+0000, which a C string would silently cut short ("arn\u0000x" reads as "arn"). */
bool sm_json_has_nul_escape(const char *data, size_t len);

/* The string value of obj[key], or NULL when absent or not a string. Borrowed from obj. */
const char *sm_json_string(const cJSON *obj, const char *key);

/* Serialises item without whitespace into out (replacing its content). Returns 0 or -1 with err
 * set (SM_ERR_NOMEM, SM_ERR_TOO_LARGE past out's ceiling). The intermediate copy is wiped. */
int sm_json_print(const cJSON *item, struct sm_buf *out, struct sm_err *err);

/* --- spans: one scanner for what cJSON does not keep ---------------------------------------- */

/* One member of the top-level object: byte offsets into the text. */
struct sm_json_member {
    size_t key_start, key_end; /* the raw key token, quotes included */
    size_t val_start, val_end; /* the raw value */
};

/* Returns 0 to go on; any other value stops the scan and is returned by sm_json_scan_members. */
typedef int sm_json_member_fn(const char *text, const struct sm_json_member *m, void *ctx);
#define SM_JSON_SCAN_NOMEM (-2)

/* Calls fn for each member of the top-level object of text (len bytes), in order. It splits the
 * text exactly where cJSON does (whitespace is every byte up to 0x20, a UTF-8 byte order mark is
 * skipped), so what cJSON validates and what a caller splices are the same bytes. Returns 0,
 * fn's non-zero value, or -1 for input that is not an object. */
int sm_json_scan_members(const char *text, size_t len, sm_json_member_fn *fn, void *ctx);

/* 1 when m's key decodes to name, 0 when it does not, -1 when it could not be decoded for want
 * of memory. Escaped keys are decoded by cJSON itself, so the scanner and
 * the parsed tree agree on what a key is (cJSON turns an invalid \u escape into U+0000, which
 * ends its C string: "pass\u0077ord\uZZZZ" is "password" to it). */
int sm_json_key_is(const char *text, const struct sm_json_member *m, const char *name);

/* The most keys sm_json_check_keys checks. */
#define SM_JSON_CHECK_MAX 16

struct sm_json_check {
    const char *duplicate; /* the first of the known keys that appears twice, or NULL */
    const char *nul;       /* the first known key whose value holds an escaped U+0000, or NULL */
};

/* Checks the known keys (n names, borrowed) of the top-level object: duplicates, which cJSON
 * silently resolves to the first, and U+0000 inside their values. Returns 0 (then see *out), -1
 * for input that is not an object, or SM_JSON_SCAN_NOMEM. */
int sm_json_check_keys(const char *text, size_t len, const char *const *known, size_t n,
                       struct sm_json_check *out);

#endif
