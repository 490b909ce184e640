/* backup: a consistent copy of the metadata while the store is in use. */
#include "store_impl.h"
#include "core/fsutil.h"
#include "core/identity.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int ls_store_backup(ls_store *st, const char *dir)
{
    int rc = ls_mkdirs(dir);
    if (rc)
        return rc;
    char *data = ls_strprintf("%s/data.mdb", dir);
    if (!data)
        return ls_err(LS_ENOMEM, "out of memory");
    struct stat sb;
    if (stat(data, &sb) == 0) {
        rc = ls_err(LS_EEXIST, "%s already holds a backup", dir);
        free(data);
        return rc;
    }
    /* mdb_env_copy2 runs in one read transaction: a consistent snapshot,
     * without blocking writers. Compaction drops free pages. */
    int mrc = mdb_env_copy2(st->env->env, dir, MDB_CP_COMPACT);
    if (mrc) {
        rc = mrc == ENOSPC ? ls_err_errno(mrc, "backup", dir) : ls_err_mdb(mrc, "backup");
        unlink(data);
        free(data);
        return rc;
    }
    free(data);
    char *info = ls_strprintf("libstore-backup 1\nconfig: %s\ncreated: %lld\n", st->cfg->path, (long long)time(NULL));
    char *ipath = ls_strprintf("%s/backup.info", dir);
    rc = info && ipath ? ls_write_file_atomic(ipath, info, strlen(info)) : ls_err(LS_ENOMEM, "out of memory");
    free(info);
    free(ipath);
    /* the store's identity marker too: the copy is a whole configdirectory,
     * which a store.conf can name as it is (docs/admin.md, restoring) */
    if (!rc)
        rc = ls_id_write(dir, st->id);
    return rc;
}
