/* Opening a store; sessions; per-mailbox locks and change signals. */
#include "store_impl.h"
#include "core/fsutil.h"
#include "core/identity.h"
#include "model/names.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* 1 if DIR/name exists (as anything). */
static int exists_in(const char *dir, const char *name)
{
    char path[4096];
    struct stat sb;
    return snprintf(path, sizeof path, "%s/%s", dir, name) < (int)sizeof path && lstat(path, &sb) == 0;
}

/* Make a new empty environment in the configdirectory carrying identity id. */
static int create_env(ls_store *st, const uint8_t id[LS_UUID_LEN])
{
    int rc;
    if ((rc = ls__mkdirs(st->cfg->configdirectory)) || (rc = ls__mkdirs(st->lockdir)))
        return rc;
    rc = ls__env_open(st->envdir, 1, 0, st->cfg->fsync_mode == LS_FSYNC_MESSAGES, &st->env);
    if (rc)
        return rc;
    if ((rc = ls__id_meta_store(st->env, id)))
        return rc;
    memcpy(st->id, id, LS_UUID_LEN);
    return LS_OK;
}

/* LS_STORE_OPEN_CREATE on a configdirectory with neither marker nor environment:
 * a new store. Partitions that already hold a store's data are refused (a
 * lost configdirectory is rebuilt by reconstruct -m, never replaced by an
 * empty store). The configdirectory's marker is written last: until it is,
 * the store does not exist. */
static int create_store(ls_store *st)
{
    const ls_config *cfg = st->cfg;
    for (size_t i = 0; i < cfg->npartitions; i++) {
        const ls_partition_conf *pc = &cfg->partitions[i];
        if (exists_in(pc->path, LS_ID_FILE) || exists_in(pc->path, "uuid"))
            return ls__err(LS_EEXIST,
                          "partition '%s' (%s) already holds a store's messages: a new store needs empty "
                          "partitions (if this store's metadata was lost, 'reconstruct -m' rebuilds it; a store "
                          "made before identity markers existed is labelled by 'mailstore init --upgrade')",
                          pc->name, pc->path);
    }
    uint8_t id[LS_UUID_LEN];
    ls__id_generate(id);
    int rc = create_env(st, id);
    for (size_t i = 0; !rc && i < cfg->npartitions; i++) {
        const char *path = cfg->partitions[i].path;
        if (!(rc = ls__mkdirs(path)))
            rc = ls__id_write(path, id);
    }
    if (!rc)
        rc = ls__id_write(cfg->configdirectory, id);
    return rc;
}

/* Open the environment of an existing store and check that it is the one
 * the configdirectory's marker names. */
static int open_existing(ls_store *st, const uint8_t cid[LS_UUID_LEN])
{
    int rc = ls__env_open(st->envdir, 0, st->rdonly, st->cfg->fsync_mode == LS_FSYNC_MESSAGES, &st->env);
    if (rc)
        return rc;
    ls_txn t;
    uint8_t eid[LS_UUID_LEN];
    if ((rc = ls__txn_read(st->env, &t)))
        return rc;
    rc = ls__id_meta_get(&t, eid);
    ls__txn_end(&t);
    memcpy(st->id, cid, LS_UUID_LEN);
    if (rc == LS_ENOTFOUND) {
        /* an environment from before identities (restored from an old
         * backup): the configdirectory's marker says whose it is */
        ls_error_clear();
        return st->rdonly ? LS_OK : ls__id_meta_store(st->env, cid);
    }
    if (rc)
        return rc;
    if (memcmp(eid, cid, LS_UUID_LEN)) {
        char e[37], c[37];
        ls__id_format(eid, e);
        ls__id_format(cid, c);
        return ls__err(LS_ECORRUPT,
                      "%s/data.mdb belongs to store %s, but %s/%s names store %s: the environment was copied "
                      "from another store (restore this store's own, or run 'reconstruct -m')",
                      st->envdir, e, st->envdir, LS_ID_FILE, c);
    }
    return LS_OK;
}

/* Decide from the configdirectory's marker and environment what opening
 * means (docs/admin.md, "Store identity"); leaves st->env open and st->id set. */
static int open_identity(ls_store *st, unsigned flags)
{
    const char *cd = st->cfg->configdirectory;
    uint8_t cid[LS_UUID_LEN];
    int mrc = ls__id_read(cd, cid);
    if (mrc != LS_OK && mrc != LS_ENOTFOUND)
        return mrc;
    ls_error_clear();
    int have_env = exists_in(cd, "data.mdb");
    if (mrc == LS_OK && have_env)
        return open_existing(st, cid);
    if (mrc == LS_OK)
        return ls__err(LS_ECORRUPT,
                      "%s/data.mdb is missing, but %s/%s says a store lives here: its metadata environment was "
                      "lost; run 'reconstruct -m' to rebuild it from the partitions (-B DIR to take flags and "
                      "quotas from a metadata backup)",
                      cd, cd, LS_ID_FILE);
    if (have_env)
        return ls__err(LS_ENOTSUP,
                      "%s holds a store made before identity markers existed (no %s): run 'mailstore init "
                      "--upgrade' once to label it and its partitions",
                      cd, LS_ID_FILE);
    if (!(flags & LS_STORE_OPEN_CREATE) || st->rdonly)
        return ls__err(LS_ENOTFOUND, "no store in %s: create one with 'mailstore init' (LS_STORE_OPEN_CREATE)", cd);
    return create_store(st);
}

static int store_begin(const char *config_path, unsigned flags, ls_store **out)
{
    *out = NULL;
    config_path = ls__config_default_path(config_path);
    ls_store *st = calloc(1, sizeof *st);
    if (!st)
        return ls__err(LS_ENOMEM, "out of memory");
    *out = st;
    st->rdonly = (flags & LS_STORE_OPEN_RDONLY) != 0;
    pthread_mutex_init(&st->groups_mu, NULL);
    int rc = ls__config_load(config_path, &st->cfg);
    if (rc)
        return rc;
    st->envdir = strdup(st->cfg->configdirectory);
    st->lockdir = ls__strprintf("%s/lock", st->cfg->configdirectory);
    if (!st->envdir || !st->lockdir)
        return ls__err(LS_ENOMEM, "out of memory");
    return LS_OK;
}

/* The end of every open: the layout, then *out; on any error rc, nothing. */
static int store_finish(ls_store *st, int rc, ls_store **out)
{
    if (!rc)
        rc = ls__layout_open(NULL, st->cfg, st->id, &st->layout);
    if (!rc)
        rc = ls__watch_new(st->lockdir, &st->watch);
    if (!rc) {
        st->env->owner = st; /* store.header's HIGHESTMODSEQ marks (model/mbox.c) */
        st->env->before_commit = ls__mbox_raise_marks;
    }
    if (rc) {
        ls_store_close(st);
        *out = NULL;
        return rc;
    }
    *out = st;
    return LS_OK;
}

int ls_store_open(const char *config_path, unsigned flags, ls_store **out)
{
    ls_store *st;
    int rc = store_begin(config_path, flags, &st);
    if (!rc)
        rc = open_identity(st, flags);
    return store_finish(st, rc, out);
}

int ls__store_open_rebuilt(const char *config_path, const uint8_t id[LS_UUID_LEN], ls_store **out)
{
    ls_store *st;
    int rc = store_begin(config_path, 0, &st);
    if (!rc && exists_in(st->cfg->configdirectory, "data.mdb"))
        rc = ls__err(LS_EEXIST, "%s/data.mdb exists: it must be moved aside before a rebuild",
                    st->cfg->configdirectory);
    if (!rc)
        rc = create_env(st, id);
    if (!rc && !exists_in(st->cfg->configdirectory, LS_ID_FILE))
        rc = ls__id_write(st->cfg->configdirectory, id);
    return store_finish(st, rc, out);
}

void ls_store_close(ls_store *st)
{
    if (!st)
        return;
    ls__watch_free(st->watch);
    ls__layout_close(st->layout);
    ls__env_close(st->env);
    ls__config_free(st->cfg);
    free(st->envdir);
    free(st->lockdir);
    free(st->groups);
    pthread_mutex_destroy(&st->groups_mu);
    free(st);
}

const char *ls_store_config_path(const ls_store *st) { return st->cfg->path; }
char ls_store_separator(const ls_store *st) { return st->cfg->sep; }
const char *ls_store_configdirectory(const ls_store *st) { return st->cfg->configdirectory; }
int ls_store_is_admin(const ls_store *st, const char *id) { return id && ls__config_is_admin(st->cfg, id); }

const char *ls_store_config_get(const ls_store *st, const char *key)
{
    const ls_config *c = st->cfg;
    /* values kept as numbers or lists are formatted on demand into a
     * per-thread buffer (valid until the next call on this thread) */
    static __thread char buf[4096];
    if (!strcmp(key, "singleinstancestore"))
        return c->singleinstancestore ? "yes" : "no";
    if (!strcmp(key, "fsync"))
        return c->fsync_mode == LS_FSYNC_MESSAGES ? "messages" : "all";
    if (!strcmp(key, "maxmessagesize") || !strcmp(key, "quota_default_storage") ||
        !strcmp(key, "annotation_size_limit")) {
        int64_t v = !strcmp(key, "maxmessagesize") ? c->maxmessagesize
                    : !strcmp(key, "quota_default_storage") ? c->quota_default_storage : c->annotation_size_limit;
        if (v < 0)
            return NULL;
        snprintf(buf, sizeof buf, "%lld", (long long)v);
        return buf;
    }
    if (!strcmp(key, "admins")) {
        size_t n = 0;
        buf[0] = 0;
        for (size_t i = 0; i < c->nadmins && n + strlen(c->admins[i]) + 2 < sizeof buf; i++)
            n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s", i ? " " : "", c->admins[i]);
        return c->nadmins ? buf : NULL;
    }
    if (!strcmp(key, "configdirectory"))
        return c->configdirectory;
    if (!strcmp(key, "defaultpartition"))
        return c->defaultpartition;
    if (!strcmp(key, "groupsfile"))
        return c->groupsfile;
    if (!strcmp(key, "hierarchy_separator"))
        return c->sep == '/' ? "/" : ".";
    if (!strncmp(key, "partition-", 10))
        return ls__config_partition_path(c, key + 10);
    return NULL;
}

int ls_session_new(ls_store *st, const char *identity, ls_session **out)
{
    *out = NULL;
    if (identity) {
        int rc = ls__user_validate(identity, st->cfg->sep);
        if (rc)
            return rc;
    }
    ls_session *s = calloc(1, sizeof *s);
    if (!s || (identity && !(s->identity = strdup(identity)))) {
        free(s);
        return ls__err(LS_ENOMEM, "out of memory");
    }
    s->st = st;
    s->admin = !identity || ls__config_is_admin(st->cfg, identity);
    *out = s;
    return LS_OK;
}

void ls_session_free(ls_session *s)
{
    if (!s)
        return;
    free(s->identity);
    free(s);
}

const char *ls_session_identity(const ls_session *s) { return s->identity; }
ls_store *ls_session_store(const ls_session *s) { return s->st; }

int ls__mbox_lock(ls_store *st, const char *uuidstr, int *fd)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", st->lockdir, uuidstr);
    int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (f < 0 && errno == ENOENT) {
        ls__mkdirs(st->lockdir);
        f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    }
    if (f < 0)
        return ls__err_errno(errno, "open lock file", path);
    while (flock(f, LOCK_EX) != 0) {
        if (errno != EINTR) {
            int rc = ls__err_errno(errno, "lock", path);
            close(f);
            return rc;
        }
    }
    *fd = f;
    return LS_OK;
}

void ls__mbox_unlock(int fd)
{
    if (fd >= 0)
        close(fd); /* releases the flock */
}

void ls__mbox_notify(ls_store *st, const char *uuidstr)
{
    /* Touching the lock file raises IN_ATTRIB for ls_mailbox_wait's inotify
     * watch: one syscall per commit, and no polling by waiters. */
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", st->lockdir, uuidstr);
    utimensat(AT_FDCWD, path, NULL, 0);
}
