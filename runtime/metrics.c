#include "metrics.h"

#include "clock.h"

#include <assert.h>
#include <cjson/cJSON.h>
#include <stdbool.h>

/* Adds a new string to array; false when out of memory. */
static bool add_string(cJSON *array, const char *s) {
    cJSON *item = cJSON_CreateString(s);
    if (item != NULL && cJSON_AddItemToArray(array, item)) {
        return true;
    }
    cJSON_Delete(item);
    return false;
}

/* {"Namespace", "Dimensions": [[first], [all]], "Metrics": [{"Name", "Unit"}...]} into list;
 * one dimension set when there is one dimension. */
static bool add_directive(cJSON *list, const char *ns, const struct sm_log_field *dims,
                          size_t n_dims, const struct sm_metric *metrics, size_t n_metrics) {
    cJSON *d = cJSON_CreateObject();
    if (d == NULL || !cJSON_AddItemToArray(list, d)) {
        cJSON_Delete(d);
        return false;
    }
    cJSON *sets = cJSON_AddArrayToObject(d, "Dimensions");
    cJSON *first = cJSON_AddArrayToObject(d, "first"), *all = cJSON_AddArrayToObject(d, "all");
    cJSON *names = cJSON_AddArrayToObject(d, "Metrics");
    if (cJSON_AddStringToObject(d, "Namespace", ns) == NULL || sets == NULL || first == NULL ||
        all == NULL || names == NULL || !add_string(first, dims[0].name)) {
        return false;
    }
    for (size_t i = 0; i < n_dims; i++) {
        if (!add_string(all, dims[i].name)) {
            return false;
        }
    }
    /* Built in place (a failed add leaves nothing dangling), then moved into the sets. */
    cJSON_AddItemToArray(sets, cJSON_DetachItemFromObjectCaseSensitive(d, "first"));
    if (n_dims > 1) {
        cJSON_AddItemToArray(sets, cJSON_DetachItemFromObjectCaseSensitive(d, "all"));
    } else {
        cJSON_DeleteItemFromObjectCaseSensitive(d, "all");
    }
    for (size_t i = 0; i < n_metrics; i++) {
        cJSON *m = cJSON_CreateObject();
        if (m == NULL || !cJSON_AddItemToArray(names, m)) {
            cJSON_Delete(m);
            return false;
        }
        if (cJSON_AddStringToObject(m, "Name", metrics[i].name) == NULL ||
            cJSON_AddStringToObject(m, "Unit", metrics[i].unit) == NULL) {
            return false;
        }
    }
    return true;
}

int sm_metrics_emit(const char *ns, const struct sm_log_field *dims, size_t n_dims,
                    const struct sm_metric *metrics, size_t n_metrics,
                    const struct sm_log_field *props, size_t n_props, struct sm_err *err) {
    assert(n_dims >= 1 && n_dims <= SM_METRICS_DIMENSIONS_MAX && n_metrics >= 1);
    cJSON *o = cJSON_CreateObject();
    cJSON *aws = cJSON_AddObjectToObject(o, "_aws");
    cJSON *list = cJSON_AddArrayToObject(aws, "CloudWatchMetrics");
    bool ok = list != NULL &&
              cJSON_AddNumberToObject(aws, "Timestamp", (double)sm_now_ms()) != NULL &&
              add_directive(list, ns, dims, n_dims, metrics, n_metrics);
    for (size_t i = 0; ok && i < n_dims; i++) {
        assert(dims[i].value != NULL && dims[i].value[0] != '\0');
        ok = cJSON_AddStringToObject(o, dims[i].name, dims[i].value) != NULL;
    }
    for (size_t i = 0; ok && i < n_metrics; i++) {
        ok = cJSON_AddNumberToObject(o, metrics[i].name, metrics[i].value) != NULL;
    }
    for (size_t i = 0; ok && i < n_props; i++) {
        if (props[i].value != NULL && props[i].value[0] != '\0') {
            ok = cJSON_AddStringToObject(o, props[i].name, props[i].value) != NULL;
        }
    }
    int result = ok ? sm_log_object(SM_LOG_INFO, o, err) : -1;
    if (!ok) {
        sm_err_set(err, SM_ERR_NOMEM, "out of memory writing the invocation's metrics");
    }
    cJSON_Delete(o);
    return result;
}
