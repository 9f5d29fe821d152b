/* The AWS Query protocol's shared pieces (aws_query.h): the XML reader, the error reader and
 * form encoding, for rds.c and sts.c. */
#include "aws_query.h"

#include "mem.h"
#include "str.h"

#include <expat.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define PATH_CAP 256

/* The reader's state: see aws_query_read_xml. */
struct reader {
    XML_Parser parser;
    const char *record;
    int (*enter)(void *ctx, const char *path);
    int (*field)(void *ctx, const char *path, const char *text);
    void *ctx;
    int depth;
    int record_depth; /* 0: not reached yet; -1: done */
    char path[PATH_CAP];
    size_t path_len[AWS_QUERY_DEPTH_MAX + 1];
    struct sm_buf text;
    bool found, nomem, refused;
};

static const char *local_name(const XML_Char *name) {
    const char *bar = strrchr(name, '|');
    return bar != NULL ? bar + 1 : name;
}

static void stop(struct reader *r, bool nomem) {
    r->nomem |= nomem;
    r->refused |= !nomem;
    XML_StopParser(r->parser, XML_FALSE);
}

static void XMLCALL on_start(void *data, const XML_Char *name, const XML_Char **attrs) {
    struct reader *r = data;
    (void)attrs;
    r->depth++;
    sm_buf_reset(&r->text);
    const char *local = local_name(name);
    if (r->record_depth == 0 && strcmp(local, r->record) == 0) {
        r->record_depth = r->depth;
        r->found = true;
        r->path[0] = '\0';
        r->path_len[0] = 0;
        return;
    }
    if (r->record_depth <= 0 || r->depth <= r->record_depth) {
        return;
    }
    int level = r->depth - r->record_depth;
    size_t len = r->path_len[level - 1];
    int n = snprintf(r->path + len, sizeof(r->path) - len, "%s%s", len > 0 ? "/" : "", local);
    if (level > AWS_QUERY_DEPTH_MAX || n < 0 || (size_t)n >= sizeof(r->path) - len) {
        stop(r, false); /* deeper or longer than any response we read */
        return;
    }
    r->path_len[level] = len + (size_t)n;
    if (r->enter != NULL && r->enter(r->ctx, r->path) != 0) {
        stop(r, true);
    }
}

static void XMLCALL on_end(void *data, const XML_Char *name) {
    struct reader *r = data;
    (void)name;
    if (r->record_depth > 0 && r->depth > r->record_depth) {
        struct sm_err ignored;
        if (sm_buf_ensure(&r->text, &ignored) != 0 ||
            r->field(r->ctx, r->path, r->text.data) != 0) {
            stop(r, true);
            return;
        }
        int level = r->depth - r->record_depth;
        r->path[r->path_len[level - 1]] = '\0';
    } else if (r->record_depth > 0 && r->depth == r->record_depth) {
        r->record_depth = -1; /* the first record is read; the rest is skipped */
    }
    sm_buf_reset(&r->text);
    r->depth--;
}

static void XMLCALL on_text(void *data, const XML_Char *s, int len) {
    struct reader *r = data;
    struct sm_err err;
    if (r->record_depth > 0 && sm_buf_append(&r->text, s, (size_t)len, &err) != 0) {
        stop(r, err.code == SM_ERR_NOMEM);
    }
}

/* No document type declaration, hence no entity of any kind: AWS never sends one. */
static void XMLCALL on_doctype(void *data, const XML_Char *name, const XML_Char *sysid,
                               const XML_Char *pubid, int has_internal_subset) {
    (void)name;
    (void)sysid;
    (void)pubid;
    (void)has_internal_subset;
    stop(data, false);
}

int aws_query_read_xml(const char *xml, size_t len, const char *record, const char *what,
                       int (*enter)(void *ctx, const char *path),
                       int (*field)(void *ctx, const char *path, const char *text), void *ctx,
                       struct sm_err *err) {
    static const XML_Memory_Handling_Suite mm = {sm_malloc, sm_realloc, sm_free};
    struct reader r = {.record = record, .enter = enter, .field = field, .ctx = ctx};
    sm_buf_init(&r.text, AWS_QUERY_TEXT_MAX);
    int result = -1;
    r.parser = XML_ParserCreate_MM(NULL, &mm, "|");
    if (r.parser == NULL) {
        return sm_err_set(err, SM_ERR_NOMEM, "out of memory reading %s", what);
    }
    XML_SetUserData(r.parser, &r);
    XML_SetElementHandler(r.parser, on_start, on_end);
    XML_SetCharacterDataHandler(r.parser, on_text);
    XML_SetStartDoctypeDeclHandler(r.parser, on_doctype);
    if (len > INT32_MAX) {
        sm_err_set(err, SM_ERR_PROTOCOL, "%s is too large", what);
        goto out;
    }
    enum XML_Status st = XML_Parse(r.parser, xml != NULL ? xml : "", (int)len, XML_TRUE);
    if (r.nomem || XML_GetErrorCode(r.parser) == XML_ERROR_NO_MEMORY) {
        sm_err_set(err, SM_ERR_NOMEM, "out of memory reading %s", what);
        goto out;
    }
    if (r.refused) {
        sm_err_set(err, SM_ERR_PROTOCOL,
                   "%s holds a document type declaration, nesting deeper than %d or an element "
                   "text longer than %u bytes",
                   what, AWS_QUERY_DEPTH_MAX, AWS_QUERY_TEXT_MAX);
        goto out;
    }
    if (st != XML_STATUS_OK) {
        sm_err_set(err, SM_ERR_PROTOCOL, "%s is not well-formed XML (%s at line %lu)", what,
                   XML_ErrorString(XML_GetErrorCode(r.parser)),
                   (unsigned long)XML_GetCurrentLineNumber(r.parser));
        goto out;
    }
    if (!r.found) {
        sm_err_set(err, SM_ERR_PROTOCOL, "%s holds no %s", what, record);
        goto out;
    }
    result = 0;
out:
    XML_ParserFree(r.parser);
    sm_buf_clean_up(&r.text);
    return result;
}

struct error_ctx {
    struct aws_error_fields *out;
    bool code, message;
};

static int error_field(void *ctx, const char *path, const char *text) {
    struct error_ctx *e = ctx;
    if (strcmp(path, "Code") == 0 && !e->code) {
        aws_error_code_copy(text, e->out->code, sizeof(e->out->code));
        e->code = true;
    } else if (strcmp(path, "Message") == 0 && !e->message) {
        sm_str_one_line(text, e->out->message, sizeof(e->out->message));
        e->message = true;
    }
    return 0;
}

int aws_query_read_error(const char *body, size_t len, struct aws_error_fields *out) {
    struct error_ctx e = {.out = out};
    struct sm_err err;
    if (body == NULL || len == 0) {
        return 0;
    }
    /* A body that is not an XML error (a proxy's HTML page) leaves the fields empty: the status
     * then classifies it. */
    if (aws_query_read_xml(body, len, "Error", "the error response", NULL, error_field, &e, &err) !=
            0 &&
        err.code == SM_ERR_NOMEM) {
        return -1;
    }
    return 0;
}

/* Appends s form-encoded (RFC 3986 unreserved kept, everything else %XX). */
static int append_encoded(struct sm_buf *b, const char *s, struct sm_err *err) {
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        char enc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
        if (sm_is_unreserved(*p) ? sm_buf_append(b, p, 1, err) != 0
                                 : sm_buf_append(b, enc, 3, err) != 0) {
            return -1;
        }
    }
    return 0;
}

int aws_query_append_param(struct sm_buf *b, const char *name, const char *value,
                           struct sm_err *err) {
    if (sm_buf_append_str(b, "&", err) != 0 || sm_buf_append_str(b, name, err) != 0 ||
        sm_buf_append_str(b, "=", err) != 0) {
        return -1;
    }
    return append_encoded(b, value, err);
}
