/* Fuzz the store.conf parser on raw bytes: any input must give LS_OK with a
 * consistent config or LS_ECONFIG/LS_ENOMEM with a message, never a crash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "libstore/common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ls_config *cfg = NULL;
    int rc = ls__config_parse((const char *)data, size, "fuzz.conf", &cfg);
    if (rc == LS_OK) {
        /* Invariants the rest of the library relies on. */
        if (!cfg->configdirectory || cfg->configdirectory[0] != '/') abort();
        if (cfg->npartitions == 0) abort();
        if (!ls__config_partition_path(cfg, cfg->defaultpartition)) abort();
        if (cfg->sep != '.' && cfg->sep != '/') abort();
        for (size_t i = 0; i < cfg->npartitions; i++) {
            const char *p = cfg->partitions[i].path;
            size_t n = strlen(p);
            if (p[0] != '/' || (n > 1 && p[n - 1] == '/')) abort();
        }
        for (size_t i = 0; i < cfg->nadmins; i++)
            if (!ls__config_is_admin(cfg, cfg->admins[i])) abort();
        ls__config_free(cfg);
    } else {
        if (cfg) abort();
        if (rc != LS_ECONFIG && rc != LS_ENOMEM) abort();
        if (!ls_error_last()[0]) abort();
    }
    return 0;
}
