/* backup: a consistent copy of the metadata while the store is in use. */
#include "store_impl.h"
#include "core/fsutil.h"
#include "model/record.h"
#include "core/identity.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* In the copy, every mailbox's HIGHESTMODSEQ mark says exactly what the
 * mailbox had given out at the copy. store.header's mark on the live store
 * is at or above that, and moves above it as soon as the live mailbox
 * passes it: if this copy is ever put back in place of data.mdb, check and
 * reconstruct find every header's mark above the restored environment's and
 * raise HIGHESTMODSEQ to it, never below what clients saw. */
static int backup_lower_marks(const char *dir)
{
    MDB_env *env;
    MDB_txn *txn = NULL;
    MDB_dbi dbi;
    int mrc = mdb_env_create(&env);
    if (mrc)
        return ls__err_mdb(mrc, "opening the backup");
    mdb_env_set_maxdbs(env, 32);
    if (!(mrc = mdb_env_open(env, dir, MDB_NOLOCK, 0640)) && !(mrc = mdb_txn_begin(env, NULL, 0, &txn)) &&
        !(mrc = mdb_dbi_open(txn, "mbstate", 0, &dbi))) {
        MDB_cursor *c;
        if (!(mrc = mdb_cursor_open(txn, dbi, &c))) {
            MDB_val k, v;
            for (int r = mdb_cursor_get(c, &k, &v, MDB_FIRST); !mrc && r == 0; r = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
                ls_mbstate s;
                if (ls__mbstate_decode(v.mv_data, v.mv_size, &s) != LS_OK) {
                    ls_error_clear();
                    continue;
                }
                s.modseqmark = s.highestmodseq > s.privmodseq ? s.highestmodseq : s.privmodseq;
                uint8_t buf[LS_MBSTATE_SIZE];
                ls__mbstate_encode(&s, buf);
                MDB_val nv = { sizeof buf, buf };
                mrc = mdb_cursor_put(c, &k, &nv, MDB_CURRENT);
            }
            mdb_cursor_close(c);
        }
    }
    if (txn)
        mrc = mrc ? (mdb_txn_abort(txn), mrc) : mdb_txn_commit(txn);
    mdb_env_close(env);
    return mrc ? ls__err_mdb(mrc, "marking the backup") : LS_OK;
}

int ls_store_backup(ls_store *st, const char *dir)
{
    int rc = ls__mkdirs(dir);
    if (rc)
        return rc;
    char *data = ls__strprintf("%s/data.mdb", dir);
    if (!data)
        return ls__err(LS_ENOMEM, "out of memory");
    struct stat sb;
    if (stat(data, &sb) == 0) {
        rc = ls__err(LS_EEXIST, "%s already holds a backup", dir);
        free(data);
        return rc;
    }
    /* mdb_env_copy2 runs in one read transaction: a consistent snapshot,
     * without blocking writers. Compaction drops free pages. */
    int mrc = mdb_env_copy2(st->env->env, dir, MDB_CP_COMPACT);
    if (mrc) {
        rc = mrc == ENOSPC ? ls__err_errno(mrc, "backup", dir) : ls__err_mdb(mrc, "backup");
        unlink(data);
        free(data);
        return rc;
    }
    free(data);
    if ((rc = backup_lower_marks(dir)))
        return rc;
    char *info = ls__strprintf("libstore-backup 1\nconfig: %s\ncreated: %lld\n", st->cfg->path, (long long)time(NULL));
    char *ipath = ls__strprintf("%s/backup.info", dir);
    rc = info && ipath ? ls__write_file_atomic(ipath, info, strlen(info)) : ls__err(LS_ENOMEM, "out of memory");
    free(info);
    free(ipath);
    /* the store's identity marker too: the copy is a whole configdirectory,
     * which a store.conf can name as it is (docs/admin.md, restoring) */
    if (!rc)
        rc = ls__id_write(dir, st->id);
    return rc;
}
