/* The registry of storage layouts. */
#include "layout/layout.h"
#include "core/error.h"

#include <stdlib.h>
#include <string.h>

static const ls_layout_ops *const layouts[] = { &ls__layout_files };

int ls__layout_open(const char *name, const ls_config *cfg, const uint8_t store_id[LS_UUID_LEN], ls_layout **out)
{
    if (!name)
        name = "files";
    for (size_t i = 0; i < sizeof layouts / sizeof layouts[0]; i++) {
        if (strcmp(layouts[i]->name, name) != 0)
            continue;
        ls_layout *ly = calloc(1, sizeof *ly);
        if (!ly)
            return ls__err(LS_ENOMEM, "out of memory");
        ly->ops = layouts[i];
        ly->cfg = cfg;
        memcpy(ly->store_id, store_id, LS_UUID_LEN);
        int rc = ly->ops->open(ly);
        if (rc) {
            free(ly);
            return rc;
        }
        *out = ly;
        return LS_OK;
    }
    return ls__err(LS_ECONFIG, "unknown storage layout '%s'", name);
}

void ls__layout_close(ls_layout *ly)
{
    if (!ly)
        return;
    ly->ops->close(ly);
    free(ly);
}
