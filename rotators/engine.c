#include "engine.h"

#include <stdio.h>
#include <string.h>

const struct rot_engine *const rot_engines[] = {
    &rot_engine_postgres,
    &rot_engine_mysql,
    NULL,
};

const struct rot_engine *rot_engine_find(const struct rot_engine *const *registry,
                                         const char *engine_value) {
    if (engine_value == NULL) {
        return NULL;
    }
    for (size_t i = 0; registry[i] != NULL; i++) {
        for (const char *const *v = registry[i]->engine_values; *v != NULL; v++) {
            if (strcmp(*v, engine_value) == 0) {
                return registry[i];
            }
        }
    }
    return NULL;
}

void rot_engine_list_values(const struct rot_engine *const *registry, char *out, size_t cap) {
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; registry[i] != NULL; i++) {
        for (const char *const *v = registry[i]->engine_values; *v != NULL; v++) {
            int n = snprintf(out + used, cap - used, "%s'%s'", used == 0 ? "" : ", ", *v);
            if (n < 0 || (size_t)n >= cap - used) {
                return;
            }
            used += (size_t)n;
        }
    }
}
