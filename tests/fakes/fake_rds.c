#include "fake_rds.h"

#include "aws_testing.h"
#include "harness.h"
#include "mem.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define MAX_ITEMS 8

struct item {
    char id[64], engine[32], address[128], cluster[64], replica_source[64], reader[128];
    char writer[64];
    int port;
};

static struct {
    struct item instances[MAX_ITEMS], clusters[MAX_ITEMS];
    size_t n_instances, n_clusters;
    char fault_op[40], fault_code[64];
    int fault_count;
    char calls[128][40];
    int n_calls;
} s_rds;

void fake_rds_reset(void) {
    memset(&s_rds, 0, sizeof(s_rds));
}

void fake_rds_instance(const char *id, const char *engine, const char *address, int port,
                       const char *cluster, const char *replica_source) {
    SM_ASSERT(s_rds.n_instances < MAX_ITEMS);
    struct item *i = &s_rds.instances[s_rds.n_instances++];
    snprintf(i->id, sizeof(i->id), "%s", id);
    snprintf(i->engine, sizeof(i->engine), "%s", engine);
    snprintf(i->address, sizeof(i->address), "%s", address);
    snprintf(i->cluster, sizeof(i->cluster), "%s", cluster != NULL ? cluster : "");
    snprintf(i->replica_source, sizeof(i->replica_source), "%s",
             replica_source != NULL ? replica_source : "");
    i->port = port;
}

void fake_rds_cluster(const char *id, const char *engine, const char *endpoint,
                      const char *reader_endpoint, int port, const char *writer) {
    SM_ASSERT(s_rds.n_clusters < MAX_ITEMS);
    struct item *c = &s_rds.clusters[s_rds.n_clusters++];
    snprintf(c->id, sizeof(c->id), "%s", id);
    snprintf(c->engine, sizeof(c->engine), "%s", engine);
    snprintf(c->address, sizeof(c->address), "%s", endpoint);
    snprintf(c->reader, sizeof(c->reader), "%s", reader_endpoint);
    snprintf(c->writer, sizeof(c->writer), "%s", writer);
    c->port = port;
}

void fake_rds_fault(const char *operation, const char *code, int count) {
    snprintf(s_rds.fault_op, sizeof(s_rds.fault_op), "%s", operation);
    snprintf(s_rds.fault_code, sizeof(s_rds.fault_code), "%s", code);
    s_rds.fault_count = count;
}

int fake_rds_calls(const char *operation) {
    int n = 0;
    for (int i = 0; i < s_rds.n_calls; i++) {
        n += operation == NULL || strcmp(s_rds.calls[i], operation) == 0;
    }
    return n;
}

/* Records the call; -1 with err set when a fault is due. */
static int enter(const char *operation, const char *kind, const char *identifier,
                 struct sm_err *err) {
    SM_ASSERT(s_rds.n_calls < 128);
    snprintf(s_rds.calls[s_rds.n_calls++], sizeof(s_rds.calls[0]), "%s", operation);
    if (s_rds.fault_count != 0 &&
        (strcmp(s_rds.fault_op, "*") == 0 || strcmp(s_rds.fault_op, operation) == 0)) {
        s_rds.fault_count--;
        struct aws_error_fields f;
        snprintf(f.code, sizeof(f.code), "%s", s_rds.fault_code);
        snprintf(f.message, sizeof(f.message), "injected by the test");
        char resource[200];
        snprintf(resource, sizeof(resource), "%s %s", kind, identifier);
        return aws_error_set(err, operation, resource,
                             strcmp(s_rds.fault_code, "AccessDenied") == 0 ? 403 : 400, &f);
    }
    return 0;
}

static const struct item *find(const struct item *items, size_t n, const char *identifier) {
    const char *colon = strrchr(identifier, ':');
    const char *id = colon != NULL ? colon + 1 : identifier;
    for (size_t i = 0; i < n; i++) {
        if (strcasecmp(items[i].id, id) == 0) {
            return &items[i];
        }
    }
    return NULL;
}

/* A copy in our allocator (the caller frees it, as with the real client), or NULL for "".
 * Sets *nomem when the copy fails. */
static char *dup_or_null(const char *s, bool *nomem) {
    char *c = s[0] != '\0' ? sm_strdup(s) : NULL;
    *nomem |= s[0] != '\0' && c == NULL;
    return c;
}

static int describe_instance(void *impl, const char *identifier, int64_t deadline_ms,
                             struct rds_instance *out, struct sm_err *err) {
    (void)impl;
    (void)deadline_ms;
    memset(out, 0, sizeof(*out));
    if (enter("DescribeDBInstances", "DB instance", identifier, err) != 0) {
        return -1;
    }
    const struct item *i = find(s_rds.instances, s_rds.n_instances, identifier);
    if (i == NULL) {
        struct aws_error_fields f = {"DBInstanceNotFound", ""};
        snprintf(f.message, sizeof(f.message), "DBInstance %s not found.", identifier);
        char resource[200];
        snprintf(resource, sizeof(resource), "DB instance %s", identifier);
        return aws_error_set(err, "DescribeDBInstances", resource, 404, &f);
    }
    bool nomem = false;
    out->identifier = dup_or_null(i->id, &nomem);
    out->engine = dup_or_null(i->engine, &nomem);
    out->address = dup_or_null(i->address, &nomem);
    out->cluster_identifier = dup_or_null(i->cluster, &nomem);
    out->replica_source = dup_or_null(i->replica_source, &nomem);
    out->port = i->port;
    return nomem ? sm_err_set(err, SM_ERR_NOMEM, "out of memory") : 0;
}

static int describe_cluster(void *impl, const char *identifier, int64_t deadline_ms,
                            struct rds_cluster *out, struct sm_err *err) {
    (void)impl;
    (void)deadline_ms;
    memset(out, 0, sizeof(*out));
    if (enter("DescribeDBClusters", "DB cluster", identifier, err) != 0) {
        return -1;
    }
    const struct item *c = find(s_rds.clusters, s_rds.n_clusters, identifier);
    if (c == NULL) {
        struct aws_error_fields f = {"DBClusterNotFoundFault", ""};
        snprintf(f.message, sizeof(f.message), "DBCluster %s not found.", identifier);
        char resource[200];
        snprintf(resource, sizeof(resource), "DB cluster %s", identifier);
        return aws_error_set(err, "DescribeDBClusters", resource, 404, &f);
    }
    bool nomem = false;
    out->identifier = dup_or_null(c->id, &nomem);
    out->engine = dup_or_null(c->engine, &nomem);
    out->endpoint = dup_or_null(c->address, &nomem);
    out->reader_endpoint = dup_or_null(c->reader, &nomem);
    out->port = c->port;
    out->members = sm_calloc(MAX_ITEMS, sizeof(*out->members));
    nomem |= out->members == NULL;
    for (size_t i = 0; out->members != NULL && i < s_rds.n_instances; i++) {
        if (strcasecmp(s_rds.instances[i].cluster, c->id) == 0) {
            struct rds_cluster_member *m = &out->members[out->n_members++];
            m->instance_identifier = dup_or_null(s_rds.instances[i].id, &nomem);
            m->is_writer = strcasecmp(s_rds.instances[i].id, c->writer) == 0;
        }
    }
    return nomem ? sm_err_set(err, SM_ERR_NOMEM, "out of memory") : 0;
}

const struct rds_ops fake_rds_ops = {
    .describe_instance = describe_instance,
    .describe_cluster = describe_cluster,
};
