/* The LMDB environment: open, transactions, map growth, durability modes. */
#include "core/env.h"
#include "core/error.h"
#include "core/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#define LS_MAP_INITIAL (256ull << 20)   /* sparse: costs address space, not disk */
#define LS_MAP_MAX (1ull << 40)
#define LS_MAX_READERS 4096
#define LS_RESERVE_BYTES (2u << 20) /* copy-on-write room for a delete or an expunge */

static const struct { const char *name; unsigned flags; } db_defs[LS_DBI_COUNT] = {
    [LS_DB_META] = { "meta", 0 },
    [LS_DB_MAILBOXES] = { "mailboxes", 0 },
    [LS_DB_MBSTATE] = { "mbstate", 0 },
    [LS_DB_RECORDS] = { "records", 0 },
    [LS_DB_CACHE] = { "cache", 0 },
    [LS_DB_CACHEX] = { "cachex", 0 },
    [LS_DB_KEYWORDS] = { "keywords", 0 },
    [LS_DB_GUIDS] = { "guids", MDB_DUPSORT },
    [LS_DB_PENDING] = { "pending", 0 },
    [LS_DB_QUOTA] = { "quota", 0 },
    [LS_DB_SEEN] = { "seen", 0 },
    [LS_DB_SUBS] = { "subs", 0 },
    [LS_DB_ANNOT] = { "annotations", 0 },
    [LS_DB_BYUUID] = { "byuuid", 0 },
    [LS_DB_SEENMOD] = { "seenmodseq", 0 },
};

static void *flusher_main(void *arg)
{
    ls_env *e = arg;
    pthread_mutex_lock(&e->flush_mu);
    while (!e->stopping) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&e->flush_cv, &e->flush_mu, &ts);
        if (e->dirty) {
            e->dirty = 0;
            pthread_mutex_unlock(&e->flush_mu);
            mdb_env_sync(e->env, 1);
            pthread_mutex_lock(&e->flush_mu);
        }
    }
    pthread_mutex_unlock(&e->flush_mu);
    return NULL;
}

/* Grow the map to at least twice its size. Takes the resize lock for writing,
 * so no transaction of this process is live. */
static int grow_map(ls_env *e)
{
    pthread_rwlock_wrlock(&e->resize);
    MDB_envinfo info;
    mdb_env_info(e->env, &info);
    size_t size = info.me_mapsize * 2;
    if (size > LS_MAP_MAX)
        size = LS_MAP_MAX;
    int rc = size > info.me_mapsize ? mdb_env_set_mapsize(e->env, size) : MDB_MAP_FULL;
    pthread_rwlock_unlock(&e->resize);
    return rc ? ls__err_mdb(rc, "growing the LMDB map") : LS_OK;
}

/* Another process grew the map: adopt its size. */
static void adopt_map(ls_env *e)
{
    pthread_rwlock_wrlock(&e->resize);
    mdb_env_set_mapsize(e->env, 0);
    pthread_rwlock_unlock(&e->resize);
}

static int begin(ls_env *e, unsigned flags, MDB_txn **txn)
{
    for (int tries = 0;; tries++) {
        pthread_rwlock_rdlock(&e->resize);
        int rc = mdb_txn_begin(e->env, NULL, flags, txn);
        if (rc == 0)
            return LS_OK;
        pthread_rwlock_unlock(&e->resize);
        if (rc == MDB_MAP_RESIZED && tries < 8) {
            adopt_map(e);
            continue;
        }
        if (rc == MDB_READERS_FULL && tries < 8) {
            int dead = 0;
            mdb_reader_check(e->env, &dead);
            if (dead > 0)
                continue;
        }
        return ls__err_mdb(rc, "beginning a transaction");
    }
}

int ls__txn_read(ls_env *e, ls_txn *t)
{
    memset(t, 0, sizeof *t);
    t->env = e;
    return begin(e, MDB_RDONLY, &t->txn);
}

void ls__txn_end(ls_txn *t)
{
    if (!t || !t->txn)
        return;
    mdb_txn_abort(t->txn);
    t->txn = NULL;
    pthread_rwlock_unlock(&t->env->resize);
}

/* A write that failed with EIO on a file system with no room left failed
 * for lack of room (some file systems report a failed extension of a sparse
 * file that way). */
static int disk_is_full(const ls_env *e)
{
    struct statvfs sv;
    return statvfs(e->dir, &sv) == 0 && (uint64_t)sv.f_bavail * sv.f_frsize < (1u << 20);
}

int ls__txn_fail(ls_txn *t, int rc, const char *what)
{
    if (rc == MDB_MAP_FULL)
        t->map_full = 1;
    if (rc == EIO && disk_is_full(t->env))
        rc = ENOSPC;
    if (rc == ENOSPC) {
        t->disk_full = 1;
        return ls__err(LS_ENOSPC, "%s: the metadata disk (%s) is full", what, t->env->dir);
    }
    return ls__err_mdb(rc, what);
}

static int release_reserve(ls_env *e)
{
    return e->reserve && unlink(e->reserve) == 0;
}

/* Bytes of free pages inside the data file: LMDB reuses them before it
 * grows the file, so they are room as good as the reserve. Counted as the
 * mdb_stat tool does (-f): the free-page table (dbi 0) maps transaction
 * ids to lists whose first word is their length. */
static uint64_t free_page_bytes(ls_env *e)
{
    MDB_txn *txn;
    MDB_cursor *c;
    uint64_t pages = 0;
    if (mdb_txn_begin(e->env, NULL, MDB_RDONLY, &txn))
        return 0;
    if (mdb_cursor_open(txn, 0, &c) == 0) {
        MDB_val k, v;
        for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
            if (v.mv_size >= sizeof(size_t))
                pages += *(const size_t *)v.mv_data;
        mdb_cursor_close(c);
    }
    mdb_txn_abort(txn);
    MDB_stat st;
    return mdb_env_stat(e->env, &st) == 0 ? pages * st.ms_psize : 0;
}

int ls__env_refill_reserve(ls_env *e)
{
    if (!e->reserve || e->rdonly || access(e->reserve, F_OK) == 0)
        return 1;
    int fd = open(e->reserve, O_WRONLY | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0)
        return 0;
    if (posix_fallocate(fd, 0, LS_RESERVE_BYTES) != 0) {
        close(fd);
        unlink(e->reserve); /* not enough room yet: try again later */
        /* free pages inside the data file serve as well */
        pthread_rwlock_rdlock(&e->resize);
        uint64_t inside = free_page_bytes(e);
        pthread_rwlock_unlock(&e->resize);
        return inside >= LS_RESERVE_BYTES;
    }
    close(fd);
    return 1;
}

int ls__env_write(ls_env *e, int durability, ls_write_fn fn, void *arg)
{
    if (e->rdonly)
        return ls__err(LS_EPERM, "the store is open read-only");
    int used_reserve = 0;
    for (int attempt = 0; attempt < 40; attempt++) {
        ls_txn t = { .env = e, .write = 1 };
        int rc = begin(e, 0, &t.txn);
        if (rc)
            return rc;
        rc = fn(&t, arg);
        if (rc == LS_OK && t.nmarks && e->before_commit)
            e->before_commit(&t);
        free(t.marks);
        t.marks = NULL;
        t.nmarks = t.capmarks = 0;
        if (rc == LS_OK) {
            int mrc = mdb_txn_commit(t.txn);
            t.txn = NULL;
            pthread_rwlock_unlock(&e->resize);
            if (mrc == 0) {
                if (e->nosync && durability == LS_SYNC_FLAGS) {
                    /* fsync: messages: flags within a second (flusher) */
                    pthread_mutex_lock(&e->flush_mu);
                    e->dirty = 1;
                    pthread_mutex_unlock(&e->flush_mu);
                    return LS_OK;
                }
                /* the commit's meta page becomes durable here, after the
                 * writer lock is released (MDB_NOMETASYNC) */
                mrc = mdb_env_sync(e->env, 1);
                if (mrc)
                    return ls__err_mdb(mrc == EIO && disk_is_full(e) ? ENOSPC : mrc, "syncing the LMDB environment");
                return LS_OK;
            }
            rc = ls__txn_fail(&t, mrc, "committing");
        } else {
            ls__txn_end(&t);
        }
        if (t.map_full) {
            int g = grow_map(e);
            if (g)
                return g;
            continue;
        }
        /* Operations that free room (expunge, delete, cleanup) and the flag
         * changes that lead to them may spend the reserve: a full disk must
         * never stop an administrator from making room. */
        if ((t.disk_full || rc == LS_ENOSPC) && (durability == LS_SYNC_RESERVE || durability == LS_SYNC_FLAGS) &&
            !used_reserve) {
            used_reserve = 1;
            if (release_reserve(e))
                continue;
        }
        return rc;
    }
    return ls__err(LS_EDB, "transaction retried too often");
}

int ls__db_get(ls_txn *t, int db, const void *k, size_t klen, MDB_val *v)
{
    MDB_val key = { klen, (void *)k };
    int rc = mdb_get(t->txn, t->env->dbi[db], &key, v);
    if (rc == MDB_NOTFOUND)
        return LS_ENOTFOUND; /* no message: callers phrase their own */
    return rc ? ls__txn_fail(t, rc, "reading") : LS_OK;
}

int ls__db_put(ls_txn *t, int db, const void *k, size_t klen, const void *v, size_t vlen, unsigned flags)
{
    MDB_val key = { klen, (void *)k }, val = { vlen, (void *)v };
    int rc = mdb_put(t->txn, t->env->dbi[db], &key, &val, flags);
    if (rc == MDB_KEYEXIST)
        return LS_EEXIST;
    return rc ? ls__txn_fail(t, rc, "writing") : LS_OK;
}

int ls__db_del(ls_txn *t, int db, const void *k, size_t klen, const void *v, size_t vlen)
{
    MDB_val key = { klen, (void *)k }, val = { vlen, (void *)v };
    int rc = mdb_del(t->txn, t->env->dbi[db], &key, v ? &val : NULL);
    if (rc == MDB_NOTFOUND)
        return LS_OK;
    return rc ? ls__txn_fail(t, rc, "deleting") : LS_OK;
}

int ls__db_cursor(ls_txn *t, int db, MDB_cursor **c)
{
    int rc = mdb_cursor_open(t->txn, t->env->dbi[db], c);
    return rc ? ls__txn_fail(t, rc, "opening a cursor") : LS_OK;
}

void ls__db_cursor_close(MDB_cursor *c)
{
    if (c)
        mdb_cursor_close(c);
}

static int open_dbis(ls_env *e, int create)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(e->env, NULL, e->rdonly ? MDB_RDONLY : 0, &txn);
    if (rc)
        return ls__err_mdb(rc, "opening the tables");
    for (int i = 0; i < LS_DBI_COUNT; i++) {
        unsigned flags = db_defs[i].flags | (create && !e->rdonly ? MDB_CREATE : 0);
        rc = mdb_dbi_open(txn, db_defs[i].name, flags, &e->dbi[i]);
        if (rc) {
            mdb_txn_abort(txn);
            if (rc == MDB_NOTFOUND)
                return ls__err(LS_ECORRUPT, "%s: table '%s' is missing (run reconstruct -m)", e->dir, db_defs[i].name);
            return ls__err_mdb(rc, "opening a table");
        }
    }
    /* the format version of the tables (docs/format.md); written once */
    static const char vkey[] = "version";
    MDB_val k = { sizeof vkey - 1, (void *)vkey }, v;
    if (!e->rdonly && mdb_get(txn, e->dbi[LS_DB_META], &k, &v) == MDB_NOTFOUND) {
        uint8_t ver[4];
        ls__be32(ver, 1);
        v.mv_size = 4;
        v.mv_data = ver;
        rc = mdb_put(txn, e->dbi[LS_DB_META], &k, &v, 0);
        if (rc) {
            mdb_txn_abort(txn);
            return ls__err_mdb(rc, "writing the format version");
        }
    } else if (mdb_get(txn, e->dbi[LS_DB_META], &k, &v) == 0 && (v.mv_size != 4 || ls__rd_be32(v.mv_data) != 1)) {
        mdb_txn_abort(txn);
        return ls__err(LS_ECORRUPT, "%s: unsupported format version (this libstore reads version 1)", e->dir);
    }
    /* commit even a read-only txn: handles opened in an aborted txn are
     * closed with it (lmdb.h, mdb_dbi_open) */
    rc = mdb_txn_commit(txn);
    return rc ? ls__err_mdb(rc, "opening the tables") : LS_OK;
}

/* LMDB maps data.mdb and reads pages straight from the map: a data file
 * shorter than the last page its meta page names (truncated by damage, or by
 * a copy that ran out of room) would kill the process with SIGBUS at the
 * first read of a missing page. Refuse it here, with the repair named, while
 * only the meta pages (read with pread) have been looked at. The file never
 * shrinks while in use (LMDB writes pages before the meta page that names
 * them), so the check cannot trip on a healthy store another process is
 * writing. */
static int check_data_size(ls_env *e)
{
    MDB_envinfo info;
    MDB_stat ms;
    struct stat st;
    if (mdb_env_info(e->env, &info) != 0 || mdb_env_stat(e->env, &ms) != 0)
        return LS_OK;
    char *path = ls__strprintf("%s/data.mdb", e->dir);
    if (!path)
        return ls__err(LS_ENOMEM, "out of memory");
    int rc = LS_OK;
    uint64_t need = ((uint64_t)info.me_last_pgno + 1) * ms.ms_psize;
    if (stat(path, &st) == 0 && (uint64_t)st.st_size < need)
        rc = ls__err(LS_ECORRUPT,
                    "%s is truncated: %lld bytes, but its last page ends at byte %llu (run reconstruct -m)",
                    path, (long long)st.st_size, (unsigned long long)need);
    free(path);
    return rc;
}

int ls__env_open(const char *dir, int create, int rdonly, int nosync, ls_env **out)
{
    struct stat st;
    if (stat(dir, &st) != 0) {
        if (!create || rdonly)
            return ls__err(LS_ENOTFOUND, "%s: no LMDB environment", dir);
        int rc = ls__mkdirs(dir);
        if (rc)
            return rc;
    }
    ls_env *e = calloc(1, sizeof *e);
    if (!e)
        return ls__err(LS_ENOMEM, "out of memory");
    e->dir = strdup(dir);
    e->reserve = ls__strprintf("%s/reserve", dir);
    e->nosync = nosync;
    e->rdonly = rdonly;
    pthread_rwlock_init(&e->resize, NULL);
    pthread_mutex_init(&e->flush_mu, NULL);
    pthread_cond_init(&e->flush_cv, NULL);
    int rc = mdb_env_create(&e->env);
    if (rc) {
        ls__env_close(e);
        return ls__err_mdb(rc, "creating the LMDB environment");
    }
    mdb_env_set_maxdbs(e->env, LS_DBI_COUNT + 4);
    mdb_env_set_maxreaders(e->env, LS_MAX_READERS);
    /* The map is at least twice the data file, so that a fresh process does
     * not start by growing it. */
    size_t mapsize = LS_MAP_INITIAL;
    /* Test hook: a small initial map makes map growth cheap to exercise. */
    const char *forced = getenv("LIBSTORE_MAPSIZE");
    if (forced && strtoull(forced, NULL, 10) >= (1u << 20))
        mapsize = (size_t)strtoull(forced, NULL, 10);
    char *datafile = ls__strprintf("%s/data.mdb", dir);
    if (datafile && stat(datafile, &st) == 0 && (size_t)st.st_size * 2 > mapsize)
        mapsize = (size_t)st.st_size * 2;
    free(datafile);
    mdb_env_set_mapsize(e->env, mapsize);
    /* fsync: all uses MDB_NOMETASYNC and syncs after the commit, outside
     * the writer lock (ls__env_write): the same durability (we return only
     * after the sync) and integrity (LMDB flushes data pages before it
     * writes the meta page), but concurrent writers share their flushes. */
    unsigned flags = MDB_NOTLS | (nosync ? MDB_NOSYNC : MDB_NOMETASYNC) | (rdonly ? MDB_RDONLY : 0);
    rc = mdb_env_open(e->env, dir, flags, 0640);
    if (rc) {
        int code = rc == ENOENT ? ls__err(LS_ENOTFOUND, "%s: no LMDB environment", dir)
                   : rc == EACCES ? ls__err_errno(rc, "opening the LMDB environment", dir)
                   : ls__err(rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH || rc == MDB_CORRUPTED ? LS_ECORRUPT : LS_EDB,
                            "%s: cannot open the LMDB environment: %s (run reconstruct -m)", dir, mdb_strerror(rc));
        ls__env_close(e);
        return code;
    }
    if ((rc = check_data_size(e))) {
        ls__env_close(e);
        return rc;
    }
    int dead = 0;
    mdb_reader_check(e->env, &dead);
    rc = open_dbis(e, create);
    if (rc) {
        ls__env_close(e);
        return rc;
    }
    if (nosync && !rdonly && pthread_create(&e->flusher, NULL, flusher_main, e) == 0)
        e->flusher_running = 1;
    ls__env_refill_reserve(e);
    *out = e;
    return LS_OK;
}

void ls__env_close(ls_env *e)
{
    if (!e)
        return;
    if (e->flusher_running) {
        pthread_mutex_lock(&e->flush_mu);
        e->stopping = 1;
        pthread_cond_signal(&e->flush_cv);
        pthread_mutex_unlock(&e->flush_mu);
        pthread_join(e->flusher, NULL);
    }
    if (e->env) {
        if (e->nosync && !e->rdonly)
            mdb_env_sync(e->env, 1);
        mdb_env_close(e->env);
    }
    pthread_rwlock_destroy(&e->resize);
    pthread_mutex_destroy(&e->flush_mu);
    pthread_cond_destroy(&e->flush_cv);
    free(e->dir);
    free(e->reserve);
    free(e);
}
