/*
 * metrics: CloudWatch Embedded Metric Format (EMF) objects, one log line each, so CloudWatch
 * extracts metrics from the function's log without metric filters or an API call.
 *
 * One object per call: the `_aws` envelope (Timestamp, one CloudWatchMetrics directive with the
 * namespace, the dimension sets and each metric's name and unit), then the dimension values, the
 * metric values and the properties at the top level, as AWS's EMF specification asks. The line
 * is written through the log (sm_log_object), so it carries `level` INFO and the request id and is
 * dropped when INFO lines are.
 */
#ifndef SM_METRICS_H
#define SM_METRICS_H

#include "err.h"
#include "log.h"

#include <stddef.h>

struct sm_metric {
    const char *name;
    const char *unit; /* an EMF unit: "Milliseconds", "Count", ... */
    double value;
};

/* At most this many dimensions in one object (EMF allows 30 per dimension set). */
#define SM_METRICS_DIMENSIONS_MAX 8

/* Writes one EMF object in namespace ns: dims are the dimension names and values (every value
 * non-empty; the dimension sets are the first dimension alone and, when there are more, all of
 * them together), metrics
 * the values, props extra string properties (a NULL or empty value is left out). The names are
 * the caller's literals. Returns 0, or -1 with err (SM_ERR_NOMEM; nothing written). */
int sm_metrics_emit(const char *ns, const struct sm_log_field *dims, size_t n_dims,
                    const struct sm_metric *metrics, size_t n_metrics,
                    const struct sm_log_field *props, size_t n_props, struct sm_err *err);

#endif
