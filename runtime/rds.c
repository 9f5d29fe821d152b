#include "rds.h"
#include "rds_testing.h"

#include "buf.h"
#include "mem.h"
#include "str.h"

#include <expat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define API_VERSION "2014-10-31"
/* Longest text of one element we keep (host names are at most 253 bytes, messages a few
 * hundred). */
#define TEXT_MAX 4096u
#define PATH_MAX_DEPTH 16
#define PATH_CAP 256
#define MEMBERS_MAX 64

/* ---- the XML reader -------------------------------------------------------------------------- */

/* Reads the first element named `record` (at any depth) of a document: for every element inside
 * it, enter() on its start and field() on its end get the element's path relative to the record
 * ("Endpoint/Address") and, for field(), its text. Both return 0, or -1 when out of memory. */
struct reader {
    XML_Parser parser;
    const char *record;
    int (*enter)(void *ctx, const char *path);
    int (*field)(void *ctx, const char *path, const char *text);
    void *ctx;
    int depth;
    int record_depth; /* 0: not reached yet; -1: done */
    char path[PATH_CAP];
    size_t path_len[PATH_MAX_DEPTH + 1];
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
    if (level > PATH_MAX_DEPTH || n < 0 || (size_t)n >= sizeof(r->path) - len) {
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

static int read_xml(const char *xml, size_t len, const char *record, const char *what,
                    int (*enter)(void *, const char *),
                    int (*field)(void *, const char *, const char *), void *ctx,
                    struct sm_err *err) {
    static const XML_Memory_Handling_Suite mm = {sm_malloc, sm_realloc, sm_free};
    struct reader r = {.record = record, .enter = enter, .field = field, .ctx = ctx};
    sm_buf_init(&r.text, TEXT_MAX);
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
                   what, PATH_MAX_DEPTH, TEXT_MAX);
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

/* Keeps the first value of a field. Returns 0, or -1 when out of memory. */
static int keep(char **dst, const char *text) {
    if (*dst != NULL) {
        return 0;
    }
    *dst = sm_strdup(text);
    return *dst != NULL ? 0 : -1;
}

static int port_of(const char *text) {
    char *end = NULL;
    long v = strtol(text, &end, 10);
    return end != text && *end == '\0' && v > 0 && v <= 65535 ? (int)v : 0;
}

static int instance_field(void *ctx, const char *path, const char *text) {
    struct rds_instance *i = ctx;
    if (strcmp(path, "DBInstanceIdentifier") == 0) {
        return keep(&i->identifier, text);
    }
    if (strcmp(path, "Engine") == 0) {
        return keep(&i->engine, text);
    }
    if (strcmp(path, "Endpoint/Address") == 0) {
        return keep(&i->address, text);
    }
    if (strcmp(path, "Endpoint/Port") == 0 && i->port == 0) {
        i->port = port_of(text);
    } else if (strcmp(path, "DBClusterIdentifier") == 0) {
        return keep(&i->cluster_identifier, text);
    } else if (strcmp(path, "ReadReplicaSourceDBInstanceIdentifier") == 0) {
        return keep(&i->replica_source, text);
    }
    return 0;
}

#define MEMBER_PATH "DBClusterMembers/DBClusterMember"

static int cluster_enter(void *ctx, const char *path) {
    struct rds_cluster *c = ctx;
    if (strcmp(path, MEMBER_PATH) != 0 || c->n_members >= MEMBERS_MAX) {
        return 0;
    }
    struct rds_cluster_member *m = sm_realloc(c->members, (c->n_members + 1) * sizeof(*m));
    if (m == NULL) {
        return -1;
    }
    c->members = m;
    memset(&c->members[c->n_members++], 0, sizeof(*m));
    return 0;
}

static int cluster_field(void *ctx, const char *path, const char *text) {
    struct rds_cluster *c = ctx;
    if (strcmp(path, "DBClusterIdentifier") == 0) {
        return keep(&c->identifier, text);
    }
    if (strcmp(path, "Engine") == 0) {
        return keep(&c->engine, text);
    }
    if (strcmp(path, "Endpoint") == 0) {
        return keep(&c->endpoint, text);
    }
    if (strcmp(path, "ReaderEndpoint") == 0) {
        return keep(&c->reader_endpoint, text);
    }
    if (strcmp(path, "Port") == 0 && c->port == 0) {
        c->port = port_of(text);
        return 0;
    }
    if (c->n_members == 0) {
        return 0;
    }
    struct rds_cluster_member *m = &c->members[c->n_members - 1];
    if (strcmp(path, MEMBER_PATH "/DBInstanceIdentifier") == 0) {
        return keep(&m->instance_identifier, text);
    }
    if (strcmp(path, MEMBER_PATH "/IsClusterWriter") == 0) {
        m->is_writer = strcmp(text, "true") == 0;
    }
    return 0;
}

int rds_read_instances(const char *xml, size_t len, struct rds_instance *out, struct sm_err *err) {
    memset(out, 0, sizeof(*out));
    return read_xml(xml, len, "DBInstance", "the DescribeDBInstances response", NULL,
                    instance_field, out, err);
}

int rds_read_clusters(const char *xml, size_t len, struct rds_cluster *out, struct sm_err *err) {
    memset(out, 0, sizeof(*out));
    return read_xml(xml, len, "DBCluster", "the DescribeDBClusters response", cluster_enter,
                    cluster_field, out, err);
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

int rds_read_error(const char *body, size_t len, struct aws_error_fields *out) {
    struct error_ctx e = {.out = out};
    struct sm_err err;
    if (body == NULL || len == 0) {
        return 0;
    }
    /* A body that is not an XML error (a proxy's HTML page) leaves the fields empty: the status
     * then classifies it. */
    if (read_xml(body, len, "Error", "the error response", NULL, error_field, &e, &err) != 0 &&
        err.code == SM_ERR_NOMEM) {
        return -1;
    }
    return 0;
}

void rds_instance_clean_up(struct rds_instance *i) {
    if (i == NULL) {
        return;
    }
    sm_free(i->identifier);
    sm_free(i->engine);
    sm_free(i->address);
    sm_free(i->cluster_identifier);
    sm_free(i->replica_source);
    memset(i, 0, sizeof(*i));
}

void rds_cluster_clean_up(struct rds_cluster *c) {
    if (c == NULL) {
        return;
    }
    sm_free(c->identifier);
    sm_free(c->engine);
    sm_free(c->endpoint);
    sm_free(c->reader_endpoint);
    for (size_t i = 0; i < c->n_members; i++) {
        sm_free(c->members[i].instance_identifier);
    }
    sm_free(c->members);
    memset(c, 0, sizeof(*c));
}

/* ---- the client ------------------------------------------------------------------------------ */

const struct aws_service rds_service = {
    .name = "RDS",
    .signing_name = "rds",
    .content_type = "application/x-www-form-urlencoded; charset=utf-8",
    .target_prefix = NULL,
    .read_error = rds_read_error,
};

int rds_endpoint_from_env(const struct aws_config *cfg, char **out, struct sm_err *err) {
    static const char *const vars[] = {"AWS_ENDPOINT_URL_RDS", "AWS_ENDPOINT_URL", NULL};
    return aws_endpoint_from_env(vars, "rds", cfg->region, out, err);
}

int rds_client_init(struct aws_client *c, const struct aws_config *cfg, const char *endpoint,
                    struct http_client *http, struct sm_err *err) {
    return aws_client_init(c, &rds_service, cfg, endpoint, http, err);
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

/* One Describe call for one identifier: the answer's body in resp. */
static int describe(struct aws_client *c, const char *action, const char *param,
                    const char *identifier, const char *kind, const char *permission,
                    int64_t deadline_ms, struct http_response *resp, struct sm_err *err) {
    struct sm_buf body;
    sm_buf_init(&body, 4096);
    char resource[320];
    snprintf(resource, sizeof(resource), "%s %.256s", kind, identifier);
    int result = -1;
    if (sm_buf_appendf(&body, err, "Action=%s&Version=" API_VERSION "&%s=", action, param) != 0 ||
        append_encoded(&body, identifier, err) != 0 || sm_buf_ensure(&body, err) != 0) {
        sm_err_prefix(err, "%s on %s", action, resource);
        goto out;
    }
    struct aws_request req = {
        .operation = action, .resource = resource, .body = body.data, .len = body.len};
    if (aws_send(c, &req, deadline_ms, resp, err) != 0) {
        if (sm_err_is_aws(err, "AccessDenied") || sm_err_is_aws(err, "AccessDeniedException")) {
            size_t n = strlen(err->msg);
            snprintf(err->msg + n, sizeof(err->msg) - n,
                     " (the function's role needs %s; see README, IAM)", permission);
        }
        goto out;
    }
    result = 0;
out:
    sm_buf_clean_up(&body);
    return result;
}

int rds_describe_db_instance(struct aws_client *c, const char *identifier, int64_t deadline_ms,
                             struct rds_instance *out, struct sm_err *err) {
    struct http_response resp;
    http_response_init(&resp, AWS_LIMIT_RESPONSE);
    memset(out, 0, sizeof(*out));
    int rc = describe(c, "DescribeDBInstances", "DBInstanceIdentifier", identifier, "DB instance",
                      "rds:DescribeDBInstances", deadline_ms, &resp, err);
    if (rc == 0) {
        rc = rds_read_instances(resp.body.data, resp.body.len, out, err);
        if (rc == 0 && out->identifier == NULL) {
            rc = sm_err_set(err, SM_ERR_PROTOCOL,
                            "DescribeDBInstances on DB instance %.256s: the answer names no "
                            "instance",
                            identifier);
        }
    }
    http_response_clean_up(&resp);
    return rc;
}

int rds_describe_db_cluster(struct aws_client *c, const char *identifier, int64_t deadline_ms,
                            struct rds_cluster *out, struct sm_err *err) {
    struct http_response resp;
    http_response_init(&resp, AWS_LIMIT_RESPONSE);
    memset(out, 0, sizeof(*out));
    int rc = describe(c, "DescribeDBClusters", "DBClusterIdentifier", identifier, "DB cluster",
                      "rds:DescribeDBClusters", deadline_ms, &resp, err);
    if (rc == 0) {
        rc = rds_read_clusters(resp.body.data, resp.body.len, out, err);
        if (rc == 0 && out->identifier == NULL) {
            rc = sm_err_set(err, SM_ERR_PROTOCOL,
                            "DescribeDBClusters on DB cluster %.256s: the answer names no cluster",
                            identifier);
        }
    }
    http_response_clean_up(&resp);
    return rc;
}

static int ops_describe_instance(void *impl, const char *identifier, int64_t deadline_ms,
                                 struct rds_instance *out, struct sm_err *err) {
    return rds_describe_db_instance(impl, identifier, deadline_ms, out, err);
}

static int ops_describe_cluster(void *impl, const char *identifier, int64_t deadline_ms,
                                struct rds_cluster *out, struct sm_err *err) {
    return rds_describe_db_cluster(impl, identifier, deadline_ms, out, err);
}

const struct rds_ops rds_client_ops = {
    .describe_instance = ops_describe_instance,
    .describe_cluster = ops_describe_cluster,
};
