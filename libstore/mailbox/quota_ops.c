/* SETQUOTA, GETQUOTA, GETQUOTAROOT, and removing roots (RFC 9208). */
#include "store_impl.h"
#include "model/names.h"
#include "model/quota.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Move every mailbox at or below `root` whose usage belongs to a root above
 * `root` (or to none) into `root`'s usage: what a new root takes over. */
static int adopt_usage(ls_txn *t, const char *root, char sep, ls_qrec *q)
{
    size_t rlen = strlen(root);
    MDB_cursor *c;
    int rc = ls__db_cursor(t, LS_DB_MAILBOXES, &c);
    if (rc)
        return rc;
    MDB_val k = { rlen, (void *)root }, v;
    /* collect first: charging writes to the quota table, not this one, but
     * keep the cursor walk free of writes anyway */
    char **names = NULL;
    size_t n = 0, cap = 0;
    for (int mrc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); mrc == 0; mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size < rlen || memcmp(k.mv_data, root, rlen) != 0)
            break;
        if (k.mv_size > rlen && ((const char *)k.mv_data)[rlen] != sep)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn) {
                rc = ls__err(LS_ENOMEM, "out of memory");
                break;
            }
            names = nn;
        }
        if (!(names[n] = strndup(k.mv_data, k.mv_size))) {
            rc = ls__err(LS_ENOMEM, "out of memory");
            break;
        }
        n++;
    }
    ls__db_cursor_close(c);
    for (size_t i = 0; !rc && i < n; i++) {
        char cur[LS_NAME_BUF];
        ls_qrec cq;
        int frc = ls__quota_find(t, names[i], sep, cur, &cq);
        if (frc && frc != LS_ENOTFOUND) {
            rc = frc;
            break;
        }
        /* governed by a root inside the subtree: it stays there */
        if (frc == LS_OK && strlen(cur) >= rlen)
            continue;
        ls_mbox m;
        if ((rc = ls__mbox_load(t, names[i], &m)))
            break;
        int64_t d[3];
        ls__quota_usage_of(&m.state, d);
        ls__mbox_clear(&m);
        for (int r = 0; r < LS_QUOTA_NRESOURCES; r++)
            q->usage[r] += (uint64_t)d[r];
        if (frc == LS_OK)
            rc = ls__quota_charge(t, cur, sep, -d[0], -d[1], -d[2], 0);
    }
    ls_error_clear();
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

/* Create or update the root `root` with limits (LS_QUOTA_UNCHANGED keeps). */
int ls__quota_define(ls_txn *t, const char *root, char sep, const int64_t limits[LS_QUOTA_NRESOURCES])
{
    MDB_val v;
    ls_qrec q;
    int rc = ls__db_get(t, LS_DB_QUOTA, root, strlen(root), &v);
    if (rc == LS_OK) {
        if ((rc = ls__qrec_decode(v.mv_data, v.mv_size, &q)))
            return rc;
    } else if (rc == LS_ENOTFOUND) {
        memset(&q, 0, sizeof q);
        for (int i = 0; i < LS_QUOTA_NRESOURCES; i++)
            q.limit[i] = LS_QUOTA_UNLIMITED;
        if ((rc = adopt_usage(t, root, sep, &q)))
            return rc;
    } else {
        return rc;
    }
    for (int i = 0; i < LS_QUOTA_NRESOURCES; i++)
        if (limits[i] != LS_QUOTA_UNCHANGED)
            q.limit[i] = limits[i] < 0 ? LS_QUOTA_UNLIMITED : limits[i];
    return ls__quota_put(t, root, &q);
}

/* Remove root `root`: its mailboxes fall back to the next root above. */
int ls__quota_undefine(ls_txn *t, const char *root, char sep)
{
    MDB_val v;
    ls_qrec q;
    int rc = ls__db_get(t, LS_DB_QUOTA, root, strlen(root), &v);
    if (rc == LS_ENOTFOUND)
        return ls__err(LS_ENOTFOUND, "'%s' is not a quota root", root);
    if (rc || (rc = ls__qrec_decode(v.mv_data, v.mv_size, &q)))
        return rc;
    if ((rc = ls__db_del(t, LS_DB_QUOTA, root, strlen(root), NULL, 0)))
        return rc;
    char parent[LS_NAME_BUF];
    snprintf(parent, sizeof parent, "%s", root);
    char *cut = strrchr(parent, sep);
    if (!cut)
        return LS_OK;
    *cut = 0;
    return ls__quota_charge(t, parent, sep, (int64_t)q.usage[0], (int64_t)q.usage[1], (int64_t)q.usage[2], 0);
}

struct setq_args {
    ls_session *s;
    const char *root;
    const int64_t *limits;
    int remove;
};

static int setq_txn(ls_txn *t, void *arg)
{
    struct setq_args *a = arg;
    char sep = a->s->st->cfg->sep;
    ls_mbox m;
    int rc = ls__mbox_load(t, a->root, &m);
    if (rc == LS_ENOTFOUND && a->remove) {
        /* a root whose mailbox is gone may still be removed */
        ls_error_clear();
        return ls__quota_undefine(t, a->root, sep);
    }
    if (rc)
        return rc;
    ls__mbox_clear(&m);
    return a->remove ? ls__quota_undefine(t, a->root, sep) : ls__quota_define(t, a->root, sep, a->limits);
}

/* store.header carries the root's limits: refresh it (a root whose mailbox
 * is gone has no header to refresh). */
static int rewrite_header(ls_session *s, const char *root)
{
    ls_txn t;
    int rc = ls__txn_read(s->st->env, &t);
    if (rc)
        return rc;
    ls_mbox m;
    if ((rc = ls__mbox_load(&t, root, &m)) == LS_OK) {
        rc = ls__header_write(s->st, &m);
        ls__mbox_clear(&m);
    } else if (rc == LS_ENOTFOUND) {
        ls_error_clear();
        rc = LS_OK;
    }
    ls__txn_end(&t);
    return rc;
}

int ls_quota_set(ls_session *s, const char *root, const int64_t limits[LS_QUOTA_NRESOURCES])
{
    if (!s->admin)
        return ls__err(LS_EPERM, "setquota: only administrators set quota limits");
    int rc = ls_name_validate(root, s->st->cfg->sep);
    if (rc)
        return rc;
    for (int i = 0; i < LS_QUOTA_NRESOURCES; i++)
        if (limits[i] < LS_QUOTA_UNCHANGED)
            return ls__err(LS_EINVAL, "invalid limit %lld for %s", (long long)limits[i], ls_quota_resource_name(i));
    struct setq_args a = { s, root, limits, 0 };
    rc = ls__env_write(s->st->env, LS_SYNC_ALWAYS, setq_txn, &a);
    return rc ? rc : rewrite_header(s, root);
}

int ls_quota_remove(ls_session *s, const char *root)
{
    if (!s->admin)
        return ls__err(LS_EPERM, "setquota: only administrators remove quota roots");
    struct setq_args a = { s, root, NULL, 1 };
    int rc = ls__env_write(s->st->env, LS_SYNC_ALWAYS, setq_txn, &a);
    return rc ? rc : rewrite_header(s, root);
}

static void fill(ls_quota *out, const char *root, const ls_qrec *q)
{
    snprintf(out->root, sizeof out->root, "%s", root);
    for (int i = 0; i < LS_QUOTA_NRESOURCES; i++) {
        out->limit[i] = q->limit[i];
        out->usage[i] = q->usage[i];
    }
}

/* A non-admin may see a root it can see the mailbox of. */
static int may_see(ls_session *s, ls_txn *t, const char *name)
{
    if (s->admin)
        return LS_OK;
    ls_mbox m;
    int rc = ls__mbox_load(t, name, &m);
    if (rc)
        return rc;
    unsigned have = ls__rights(s, m.name, m.entry.acl);
    ls__mbox_clear(&m);
    return have & (LS_RIGHT_L | LS_RIGHT_R) ? LS_OK : ls__err(LS_ENOTFOUND, "mailbox '%s' does not exist", name);
}

int ls_quota_get(ls_session *s, const char *root, ls_quota *out)
{
    ls_txn t;
    int rc = ls__txn_read(s->st->env, &t);
    if (rc)
        return rc;
    MDB_val v;
    ls_qrec q;
    /* visibility first: a hidden mailbox, root or not, "does not exist" */
    ls_mbox m;
    if ((rc = ls__mbox_load(&t, root, &m)) == LS_OK) {
        ls__mbox_clear(&m);
        rc = may_see(s, &t, root);
    }
    if (!rc && (rc = ls__db_get(&t, LS_DB_QUOTA, root, strlen(root), &v)) == LS_ENOTFOUND)
        rc = ls__err(LS_ENOTFOUND, "'%s' is not a quota root", root);
    if (!rc && !(rc = ls__qrec_decode(v.mv_data, v.mv_size, &q)))
        fill(out, root, &q);
    ls__txn_end(&t);
    return rc;
}

int ls_quota_root_of(ls_session *s, const char *mailbox, char **root)
{
    ls_txn t;
    int rc = ls__txn_read(s->st->env, &t);
    if (rc)
        return rc;
    ls_mbox m;
    if ((rc = ls__mbox_load(&t, mailbox, &m)) == LS_OK) {
        rc = ls__require(s, &m, LS_RIGHT_R, "getquotaroot");
        ls__mbox_clear(&m);
    }
    char buf[LS_NAME_BUF];
    ls_qrec q;
    if (!rc) {
        rc = ls__quota_find(&t, mailbox, s->st->cfg->sep, buf, &q);
        if (rc == LS_ENOTFOUND)
            rc = ls__err(LS_ENOTFOUND, "no quota root governs '%s'", mailbox);
    }
    if (!rc && !(*root = strdup(buf)))
        rc = ls__err(LS_ENOMEM, "out of memory");
    ls__txn_end(&t);
    return rc;
}

int ls_quota_foreach(ls_session *s, const char *prefix, ls_quota_cb cb, void *arg)
{
    ls_txn t;
    int rc = ls__txn_read(s->st->env, &t);
    if (rc)
        return rc;
    MDB_cursor *c;
    if ((rc = ls__db_cursor(&t, LS_DB_QUOTA, &c))) {
        ls__txn_end(&t);
        return rc;
    }
    size_t plen = prefix ? strlen(prefix) : 0;
    MDB_val k = { plen, (void *)prefix }, v;
    for (int mrc = mdb_cursor_get(c, &k, &v, plen ? MDB_SET_RANGE : MDB_FIRST); mrc == 0 && !rc;
         mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (plen && (k.mv_size < plen || memcmp(k.mv_data, prefix, plen)))
            break;
        char name[LS_NAME_BUF];
        if (k.mv_size >= sizeof name)
            continue;
        memcpy(name, k.mv_data, k.mv_size);
        name[k.mv_size] = 0;
        ls_qrec q;
        if (ls__qrec_decode(v.mv_data, v.mv_size, &q) != LS_OK || (!s->admin && may_see(s, &t, name) != LS_OK)) {
            ls_error_clear();
            continue;
        }
        ls_quota out;
        fill(&out, name, &q);
        rc = cb(&out, arg);
    }
    ls__db_cursor_close(c);
    ls__txn_end(&t);
    return rc;
}
