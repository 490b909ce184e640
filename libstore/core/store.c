/* Opening a store; sessions; per-mailbox locks and change signals. */
#include "store_impl.h"
#include "core/fsutil.h"
#include "model/names.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

int ls_store_open(const char *config_path, unsigned flags, ls_store **out)
{
    *out = NULL;
    if (!config_path)
        config_path = getenv("LIBSTORE_CONFIG");
    if (!config_path || !*config_path)
        config_path = "./store.conf";
    ls_store *st = calloc(1, sizeof *st);
    if (!st)
        return ls_err(LS_ENOMEM, "out of memory");
    st->rdonly = (flags & LS_OPEN_RDONLY) != 0;
    pthread_mutex_init(&st->groups_mu, NULL);
    int rc = ls_config_load(config_path, &st->cfg);
    if (rc)
        goto fail;
    st->envdir = strdup(st->cfg->configdirectory);
    st->lockdir = ls_strprintf("%s/lock", st->cfg->configdirectory);
    if (!st->envdir || !st->lockdir) {
        rc = ls_err(LS_ENOMEM, "out of memory");
        goto fail;
    }
    if ((rc = ls_watch_new(st->lockdir, &st->watch)))
        goto fail;
    int create = !(flags & LS_OPEN_NOCREATE) && !st->rdonly;
    if (create) {
        if ((rc = ls_mkdirs(st->cfg->configdirectory)) || (rc = ls_mkdirs(st->lockdir)))
            goto fail;
        for (size_t i = 0; i < st->cfg->npartitions; i++)
            if ((rc = ls_mkdirs(st->cfg->partitions[i].path)))
                goto fail;
    }
    rc = ls_env_open(st->envdir, create, st->rdonly, st->cfg->fsync_mode == LS_FSYNC_MESSAGES, &st->env);
    if (rc)
        goto fail;
    rc = ls_layout_open(NULL, st->cfg, &st->layout);
    if (rc)
        goto fail;
    st->env->owner = st; /* store.header's HIGHESTMODSEQ marks (model/mbox.c) */
    st->env->before_commit = ls_mbox_raise_marks;
    *out = st;
    return LS_OK;
fail:
    ls_store_close(st);
    return rc;
}

void ls_store_close(ls_store *st)
{
    if (!st)
        return;
    ls_watch_free(st->watch);
    ls_layout_close(st->layout);
    ls_env_close(st->env);
    ls_config_free(st->cfg);
    free(st->envdir);
    free(st->lockdir);
    free(st->groups);
    pthread_mutex_destroy(&st->groups_mu);
    free(st);
}

const char *ls_store_config_path(const ls_store *st) { return st->cfg->path; }
char ls_store_separator(const ls_store *st) { return st->cfg->sep; }
const char *ls_store_configdirectory(const ls_store *st) { return st->cfg->configdirectory; }
int ls_store_is_admin(const ls_store *st, const char *id) { return id && ls_config_is_admin(st->cfg, id); }

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
        return ls_config_partition_path(c, key + 10);
    return NULL;
}

int ls_session_new(ls_store *st, const char *identity, ls_session **out)
{
    *out = NULL;
    if (identity) {
        int rc = ls_user_validate(identity, st->cfg->sep);
        if (rc)
            return rc;
    }
    ls_session *s = calloc(1, sizeof *s);
    if (!s || (identity && !(s->identity = strdup(identity)))) {
        free(s);
        return ls_err(LS_ENOMEM, "out of memory");
    }
    s->st = st;
    s->admin = !identity || ls_config_is_admin(st->cfg, identity);
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

int ls_mbox_lock(ls_store *st, const char *uuidstr, int *fd)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", st->lockdir, uuidstr);
    int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (f < 0 && errno == ENOENT) {
        ls_mkdirs(st->lockdir);
        f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    }
    if (f < 0)
        return ls_err_errno(errno, "open lock file", path);
    while (flock(f, LOCK_EX) != 0) {
        if (errno != EINTR) {
            int rc = ls_err_errno(errno, "lock", path);
            close(f);
            return rc;
        }
    }
    *fd = f;
    return LS_OK;
}

void ls_mbox_unlock(int fd)
{
    if (fd >= 0)
        close(fd); /* releases the flock */
}

void ls_mbox_notify(ls_store *st, const char *uuidstr)
{
    /* Touching the lock file raises IN_ATTRIB for ls_mailbox_wait's inotify
     * watch: one syscall per commit, and no polling by waiters. */
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", st->lockdir, uuidstr);
    utimensat(AT_FDCWD, path, NULL, 0);
}
