/*
 * mailstore init --upgrade: give a store made before identity markers
 * existed (or a partition added to the configuration later) its markers.
 *
 * A marker says "this directory is this store's", so one is written only
 * where the partition looks like this store's: it holds at least one of the
 * mailbox directories the environment lists on it, or (a new partition) the
 * environment lists none there and it holds none. Anything else (an empty
 * mount point where mailboxes should be, directories the store does not
 * know, another store's marker) is refused, and nothing at all is written,
 * unless LS_UPGRADE_FORCE (never over another store's marker). The
 * configdirectory's marker is written last.
 */
#include "store_impl.h"
#include "core/fsutil.h"
#include "core/identity.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct part_state {
    size_t known, present; /* mailboxes the environment lists on it; their directories found */
    int marker;            /* 1: ours already, 0: none, -1: refused */
} part_state;

static void say(ls_store_check_cb cb, void *arg, int sev, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void say(ls_store_check_cb cb, void *arg, int sev, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (cb)
        cb(sev, buf, arg);
}

/* 1 if PATH/uuid holds any entry (mailbox directories of some store). */
static int holds_mailboxes(const char *path)
{
    char *u = ls__strprintf("%s/uuid", path);
    DIR *d = u ? opendir(u) : NULL;
    free(u);
    if (!d)
        return 0;
    int any = 0;
    struct dirent *e;
    while (!any && (e = readdir(d)))
        any = e->d_name[0] != '.';
    closedir(d);
    return any;
}

/* Count, per partition, the mailboxes listed there and those found on disk. */
static int count_mailboxes(ls_env *env, ls_layout *ly, const ls_config *cfg, part_state *ps)
{
    ls_txn t;
    MDB_cursor *cur;
    MDB_val k, v;
    int rc = ls__txn_read(env, &t);
    if (rc)
        return rc;
    if ((rc = ls__db_cursor(&t, LS_DB_MAILBOXES, &cur))) {
        ls__txn_end(&t);
        return rc;
    }
    for (int mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0; mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        ls_mbentry e;
        if (ls__mbentry_decode(v.mv_data, v.mv_size, &e) != LS_OK)
            continue;
        for (size_t i = 0; i < cfg->npartitions; i++) {
            if (strcmp(cfg->partitions[i].name, e.partition))
                continue;
            ps[i].known++;
            ls_mbref ref;
            ls__mbref_set(&ref, e.uuid, e.partition);
            char *path;
            struct stat sb;
            if (ly->ops->mailbox_path(ly, &ref, &path) == LS_OK) {
                ps[i].present += stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
                free(path);
            }
        }
        ls__mbentry_clear(&e);
    }
    ls__db_cursor_close(cur);
    ls__txn_end(&t);
    ls_error_clear();
    return LS_OK;
}

/* Decide for every partition; 0 refusals: LS_OK. */
static int judge(const ls_config *cfg, const uint8_t id[LS_ID_LEN], part_state *ps, unsigned flags,
                 ls_store_check_cb cb, void *arg, int *refused)
{
    for (size_t i = 0; i < cfg->npartitions; i++) {
        const ls_partition_conf *pc = &cfg->partitions[i];
        uint8_t pid[LS_ID_LEN];
        int rc = ls__id_read(pc->path, pid);
        ls_error_clear();
        if (rc == LS_OK && !memcmp(pid, id, LS_ID_LEN)) {
            ps[i].marker = 1;
            continue;
        }
        const char *why = NULL;
        int forceable = 1;
        if (rc == LS_OK) {
            why = "its identity marker names another store (remove it by hand only if you are sure the disk is this "
                  "store's)";
            forceable = 0;
        } else if (rc != LS_ENOTFOUND) {
            why = "its identity marker cannot be read";
            forceable = 0;
        } else if (ps[i].known && !ps[i].present) {
            why = "it holds none of the mailbox directories the store lists on it: not mounted?";
        } else if (!ps[i].known && holds_mailboxes(pc->path)) {
            why = "it holds mailbox directories the store does not list: another store's disk?";
        }
        if (!why)
            continue;
        if (forceable && (flags & LS_UPGRADE_FORCE)) {
            say(cb, arg, LS_STORE_CHECK_NOTICE, "partition '%s' (%s): %s; labelled anyway (--force)", pc->name, pc->path,
                why);
            continue;
        }
        ps[i].marker = -1;
        (*refused)++;
        say(cb, arg, LS_STORE_CHECK_ERROR, "partition '%s' (%s): %s", pc->name, pc->path, why);
    }
    return LS_OK;
}

int ls_store_upgrade(const char *config_path, unsigned flags, ls_store_check_cb cb, void *arg)
{
    config_path = ls__config_default_path(config_path);
    ls_config *cfg;
    int rc = ls__config_load(config_path, &cfg);
    if (rc)
        return rc;
    const char *cd = cfg->configdirectory;
    char *data = ls__strprintf("%s/data.mdb", cd);
    struct stat sb;
    int have_env = data && stat(data, &sb) == 0;
    free(data);
    ls_env *env = NULL;
    ls_layout *ly = NULL;
    part_state *ps = calloc(cfg->npartitions ? cfg->npartitions : 1, sizeof *ps);
    uint8_t cid[LS_ID_LEN], eid[LS_ID_LEN], id[LS_ID_LEN];
    int have_cid = 0, have_eid = 0;
    if (!ps) {
        rc = ls__err(LS_ENOMEM, "out of memory");
        goto out;
    }
    if (!have_env) {
        rc = ls__err(LS_ENOTFOUND,
                    "no environment in %s: nothing to upgrade ('mailstore init' creates a new store; when %s/%s "
                    "exists, 'reconstruct -m' rebuilds a lost environment)",
                    cd, cd, LS_ID_FILE);
        goto out;
    }
    rc = ls__id_read(cd, cid);
    if (rc != LS_OK && rc != LS_ENOTFOUND)
        goto out;
    have_cid = rc == LS_OK;
    if ((rc = ls__env_open(cd, 0, 0, 0, &env)))
        goto out;
    ls_txn t;
    if ((rc = ls__txn_read(env, &t)))
        goto out;
    rc = ls__id_meta_get(&t, eid);
    ls__txn_end(&t);
    if (rc != LS_OK && rc != LS_ENOTFOUND)
        goto out;
    have_eid = rc == LS_OK;
    ls_error_clear();
    if (have_cid && have_eid && memcmp(cid, eid, LS_ID_LEN)) {
        rc = ls__err(LS_ECORRUPT, "%s/data.mdb belongs to another store than %s/%s names: not upgraded", cd, cd,
                    LS_ID_FILE);
        goto out;
    }
    if (have_cid)
        memcpy(id, cid, LS_ID_LEN);
    else if (have_eid)
        memcpy(id, eid, LS_ID_LEN);
    else
        ls__id_generate(id);
    if ((rc = ls__layout_open(NULL, cfg, id, &ly)) || (rc = count_mailboxes(env, ly, cfg, ps)))
        goto out;
    int refused = 0;
    judge(cfg, id, ps, flags, cb, arg, &refused);
    if (refused) {
        rc = ls__err(LS_EUNAVAILABLE,
                    "%d partition%s not labelled: mount the right disk (or, for a partition that is really "
                    "this store's, add --force); nothing was written",
                    refused, refused == 1 ? "" : "s");
        goto out;
    }
    char text[37];
    ls__id_format(id, text);
    if (!have_eid && (rc = ls__id_meta_store(env, id)))
        goto out;
    for (size_t i = 0; i < cfg->npartitions; i++) {
        const ls_partition_conf *pc = &cfg->partitions[i];
        if (ps[i].marker == 1)
            continue;
        if ((rc = ls__mkdirs(pc->path)) || (rc = ls__id_write(pc->path, id)))
            goto out;
        say(cb, arg, LS_STORE_CHECK_NOTICE, "partition '%s' (%s): identity marker written (store %s)", pc->name, pc->path,
            text);
    }
    if (!have_cid) {
        if ((rc = ls__id_write(cd, id)))
            goto out;
        say(cb, arg, LS_STORE_CHECK_NOTICE, "%s: identity marker written (store %s)", cd, text);
    }
out:
    ls__layout_close(ly);
    ls__env_close(env);
    ls__config_free(cfg);
    free(ps);
    return rc;
}
