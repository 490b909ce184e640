/* Renaming a mailbox with its children; INBOX; whole accounts. */
#include "store_impl.h"
#include "model/names.h"
#include "model/quota.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>

struct rename_args {
    ls_session *s;
    const char *oldname, *newname;
    uint8_t fresh_uuid[LS_UUID_LEN];   /* for a new INBOX after an INBOX rename */
    char fresh_partition[64];
    int inbox_rename;                  /* out: RFC 3501 INBOX rename happened */
    char **renamed;                    /* out: new names, for store.header */
    size_t nrenamed;
    ls_namelist aclchanged;            /* out: mailboxes whose ACL named the renamed user */
};

/* Move one entry from `from` to `to` (same uuid, state, files). */
static int move_entry(ls_txn *t, const char *from, const char *to, struct rename_args *a)
{
    ls_mbox m;
    int rc = ls_name_validate(to, a->s->st->cfg->sep);
    if (rc)
        return rc;
    if ((rc = ls__mbox_load(t, from, &m)))
        return rc;
    MDB_val v;
    if (ls__db_get(t, LS_DB_MAILBOXES, to, strlen(to), &v) == LS_OK)
        rc = ls__err(LS_EEXIST, "mailbox '%s' already exists", to);
    if (!rc)
        rc = ls__db_del(t, LS_DB_MAILBOXES, from, strlen(from), NULL, 0);
    if (!rc) {
        free(m.name);
        m.name = strdup(to);
        rc = m.name ? ls__mbox_put_entry(t, &m) : ls__err(LS_ENOMEM, "out of memory");
    }
    if (!rc)
        rc = ls__db_put(t, LS_DB_BYUUID, m.entry.uuid, LS_UUID_LEN, to, strlen(to), 0);
    ls__mbox_clear(&m);
    if (!rc) {
        char **nl = realloc(a->renamed, (a->nrenamed + 1) * sizeof *nl);
        if (!nl || !(nl[a->nrenamed] = strdup(to))) {
            if (nl)
                a->renamed = nl;
            return ls__err(LS_ENOMEM, "out of memory");
        }
        a->renamed = nl;
        a->nrenamed++;
    }
    return rc;
}

/* "old.x" with prefix old -> "new.x"; malloc'd. */
static char *replace_prefix(const char *name, const char *oldp, const char *newp)
{
    size_t olen = strlen(oldp);
    char *to = malloc(strlen(newp) + strlen(name) - olen + 1);
    if (to) {
        strcpy(to, newp);
        strcat(to, name + olen);
    }
    return to;
}

/* Move the quota roots at or below `oldp` to the new prefix (a root follows
 * its mailbox). */
static int move_roots(ls_txn *t, const char *oldp, const char *newp, char sep)
{
    size_t olen = strlen(oldp);
    for (;;) {
        MDB_cursor *c;
        int rc = ls__db_cursor(t, LS_DB_QUOTA, &c);
        if (rc)
            return rc;
        MDB_val k = { olen, (void *)oldp }, v;
        int mrc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
        char *from = NULL;
        uint8_t val[LS_QREC_SIZE];
        while (mrc == 0 && k.mv_size >= olen && !memcmp(k.mv_data, oldp, olen)) {
            if ((k.mv_size == olen || ((const char *)k.mv_data)[olen] == sep) && v.mv_size == LS_QREC_SIZE) {
                from = strndup(k.mv_data, k.mv_size);
                memcpy(val, v.mv_data, LS_QREC_SIZE);
                break;
            }
            mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
        }
        ls__db_cursor_close(c);
        if (!from)
            return LS_OK;
        char *to = replace_prefix(from, oldp, newp);
        rc = to ? ls__db_del(t, LS_DB_QUOTA, from, strlen(from), NULL, 0) : ls__err(LS_ENOMEM, "out of memory");
        if (!rc)
            rc = ls__db_put(t, LS_DB_QUOTA, to, strlen(to), val, LS_QREC_SIZE, 0);
        free(from);
        free(to);
        if (rc)
            return rc;
    }
}

/* Rename `oldname` and every child, replacing the prefix; quota roots follow
 * their mailboxes, and a mailbox that changes root moves its usage (the new
 * root may refuse it: LS_EOVERQUOTA). */
static int move_tree(ls_txn *t, struct rename_args *a)
{
    char sep = a->s->st->cfg->sep;
    char **kids;
    size_t nk;
    int rc = ls__mbox_children(t, a->oldname, sep, &kids, &nk);
    if (rc)
        return rc;
    size_t n = nk + 1;
    char **olds = calloc(n, sizeof *olds), **roots = calloc(n, sizeof *roots);
    if (!olds || !roots) {
        free(olds);
        free(roots);
        ls__names_free(kids, nk);
        return ls__err(LS_ENOMEM, "out of memory");
    }
    olds[0] = (char *)a->oldname;
    for (size_t i = 0; i < nk; i++)
        olds[i + 1] = kids[i];
    /* each mailbox's root before the move, translated into the new names
     * when the root itself moves along */
    for (size_t i = 0; !rc && i < n; i++) {
        char root[LS_NAME_BUF];
        ls_qrec q;
        int frc = ls__quota_find(t, olds[i], sep, root, &q);
        if (frc == LS_OK)
            roots[i] = !strcmp(root, a->oldname) || ls__name_is_ancestor(a->oldname, root, sep)
                           ? replace_prefix(root, a->oldname, a->newname) : strdup(root);
        else if (frc != LS_ENOTFOUND)
            rc = frc;
    }
    ls_error_clear();
    if (!rc)
        rc = move_roots(t, a->oldname, a->newname, sep);
    for (size_t i = 0; !rc && i < n; i++) {
        char *to = replace_prefix(olds[i], a->oldname, a->newname);
        if (!to) {
            rc = ls__err(LS_ENOMEM, "out of memory");
            break;
        }
        rc = move_entry(t, olds[i], to, a);
        if (!rc) {
            char root[LS_NAME_BUF];
            ls_qrec q;
            int frc = ls__quota_find(t, to, sep, root, &q);
            const char *now = frc == LS_OK ? root : NULL;
            if (frc && frc != LS_ENOTFOUND)
                rc = frc;
            else if ((now == NULL) != (roots[i] == NULL) || (now && strcmp(now, roots[i]))) {
                ls_mbox m;
                if ((rc = ls__mbox_load(t, to, &m)) == LS_OK) {
                    int64_t d[3];
                    ls__quota_usage_of(&m.state, d);
                    ls__mbox_clear(&m);
                    if (roots[i])
                        rc = ls__quota_charge(t, roots[i], sep, -d[0], -d[1], -d[2], 0);
                    if (!rc && now)
                        rc = ls__quota_charge(t, now, sep, d[0], d[1], d[2], 1);
                }
            }
            if (!rc)
                ls_error_clear();
        }
        free(to);
    }
    for (size_t i = 0; i < n; i++)
        free(roots[i]);
    free(roots);
    free(olds);
    ls__names_free(kids, nk);
    return rc;
}

/* Rewrite ACL entries naming `from` to name `to` (an account rename). */
static int acl_rename_user(ls_txn *t, const char *from, const char *to, ls_namelist *changed)
{
    MDB_cursor *c;
    int rc = ls__db_cursor(t, LS_DB_MAILBOXES, &c);
    if (rc)
        return rc;
    size_t flen = strlen(from);
    MDB_val k, v;
    /* collect first: we must not write while iterating with this cursor */
    char **names = NULL, **acls = NULL;
    size_t n = 0;
    for (int mrc = mdb_cursor_get(c, &k, &v, MDB_FIRST); !rc && mrc == 0; mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        ls_mbentry e;
        if (ls__mbentry_decode(v.mv_data, v.mv_size, &e) != LS_OK)
            continue;
        /* a new ACL string with `from` replaced */
        size_t cap = strlen(e.acl) * 2 + strlen(to) * 8 + 1;
        char *out = malloc(cap), *o = out;
        int entry_changed = 0;
        const char *p = e.acl;
        while (out && *p) {
            const char *tab = strchr(p, '\t');
            const char *end = tab ? strchr(tab + 1, '\t') : NULL;
            if (!end)
                break;
            const char *id = *p == '-' ? p + 1 : p;
            if ((size_t)(tab - id) == flen && !memcmp(id, from, flen) && (size_t)(o - out) + strlen(to) + (size_t)(end - tab) + 2 < cap) {
                if (*p == '-')
                    *o++ = '-';
                strcpy(o, to);
                o += strlen(to);
                memcpy(o, tab, (size_t)(end + 1 - tab));
                o += end + 1 - tab;
                entry_changed = 1;
            } else {
                memcpy(o, p, (size_t)(end + 1 - p));
                o += end + 1 - p;
            }
            p = end + 1;
        }
        if (out)
            *o = 0;
        if (entry_changed) {
            char **nn = realloc(names, (n + 1) * sizeof *nn), **na = nn ? realloc(acls, (n + 1) * sizeof *na) : NULL;
            if (nn)
                names = nn;
            if (na)
                acls = na;
            if (!nn || !na) {
                rc = ls__err(LS_ENOMEM, "out of memory");
                free(out);
            } else {
                names[n] = strndup(k.mv_data, k.mv_size);
                acls[n++] = out;
            }
        } else {
            free(out);
        }
        ls__mbentry_clear(&e);
    }
    ls__db_cursor_close(c);
    for (size_t i = 0; !rc && i < n; i++) {
        ls_mbox m;
        if ((rc = ls__mbox_load(t, names[i], &m)))
            break;
        free(m.entry.acl);
        m.entry.acl = acls[i];
        acls[i] = NULL;
        rc = ls__mbox_put_entry(t, &m);
        if (!rc)
            rc = ls__namelist_add(changed, m.name);
        ls__mbox_clear(&m);
    }
    for (size_t i = 0; i < n; i++) {
        free(names[i]);
        free(acls[i]);
    }
    free(names);
    free(acls);
    return rc;
}

/* Move per-user rows (subscriptions, seen state) keyed "user\0..." to `to`. */
static int move_user_rows(ls_txn *t, int db, const char *from, const char *to)
{
    size_t flen = strlen(from) + 1, tlen = strlen(to) + 1;
    for (;;) {
        MDB_cursor *c;
        int rc = ls__db_cursor(t, db, &c);
        if (rc)
            return rc;
        MDB_val k = { flen, (void *)from }, v;
        int mrc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
        if (mrc || k.mv_size < flen || memcmp(k.mv_data, from, flen) != 0) {
            ls__db_cursor_close(c);
            return LS_OK;
        }
        size_t rest = k.mv_size - flen;
        uint8_t *nk = malloc(tlen + rest), *val = malloc(v.mv_size + 1);
        if (!nk || !val) {
            free(nk);
            free(val);
            ls__db_cursor_close(c);
            return ls__err(LS_ENOMEM, "out of memory");
        }
        memcpy(nk, to, tlen);
        memcpy(nk + tlen, (uint8_t *)k.mv_data + flen, rest);
        memcpy(val, v.mv_data, v.mv_size);
        size_t vlen = v.mv_size;
        mrc = mdb_cursor_del(c, 0);
        ls__db_cursor_close(c);
        rc = mrc ? ls__txn_fail(t, mrc, "moving user data") : ls__db_put(t, db, nk, tlen + rest, val, vlen, 0);
        free(nk);
        free(val);
        if (rc)
            return rc;
    }
}

static int rename_txn(ls_txn *t, void *arg)
{
    struct rename_args *a = arg;
    ls_session *s = a->s;
    char sep = s->st->cfg->sep;
    ls__names_free(a->renamed, a->nrenamed);
    a->renamed = NULL;
    a->nrenamed = 0;
    a->inbox_rename = 0;

    ls_mbox old;
    int rc = ls__mbox_load(t, a->oldname, &old);
    if (rc)
        return rc;
    char *oowner = NULL, *nowner = NULL;
    int old_inbox = ls__name_owner(a->oldname, sep, &oowner) && strlen(a->oldname) == 5 + strlen(oowner);
    int new_inbox = ls__name_owner(a->newname, sep, &nowner) && strlen(a->newname) == 5 + strlen(nowner);
    /* Order matters for privacy: a hidden source, or a target the session
     * could not create, fails exactly as if it did not exist. */
    if ((rc = ls__require(s, &old, LS_RIGHT_X, "rename")))
        goto out;
    if (ls__name_is_ancestor(a->oldname, a->newname, sep) && !(old_inbox && !new_inbox)) {
        /* INBOX may become its own child (RFC 3501: RENAME INBOX INBOX.old) */
        rc = ls__err(LS_EINVAL, "cannot rename '%s' into itself ('%s')", a->oldname, a->newname);
        goto out;
    }
    if (old_inbox && new_inbox) {
        /* user.A -> user.B: the whole account (admins only). */
        MDB_val v;
        if (!s->admin) {
            rc = ls__err(LS_EPERM, "only administrators rename a user's INBOX to another user");
            goto out;
        }
        if (ls__db_get(t, LS_DB_MAILBOXES, a->newname, strlen(a->newname), &v) == LS_OK) {
            rc = ls__err(LS_EEXIST, "mailbox '%s' already exists", a->newname);
            goto out;
        }
        if ((rc = move_tree(t, a)) || (rc = move_user_rows(t, LS_DB_SUBS, oowner, nowner)) ||
            (rc = ls__seen_rename_user(t, oowner, nowner)) ||
            (rc = ls__subs_follow(t, nowner, a->oldname, a->newname, sep)))
            goto out;
        ls__namelist_free(&a->aclchanged);
        rc = acl_rename_user(t, oowner, nowner, &a->aclchanged);
        goto out;
    }
    if ((rc = ls__require(s, &old, LS_RIGHT_X, "rename")))
        goto out;
    if (!s->admin) {
        ls_mbox anc;
        int arc = ls__mbox_nearest_ancestor(t, a->newname, sep, &anc);
        int may = arc == LS_OK ? (ls__rights(s, anc.name, anc.entry.acl) & LS_RIGHT_K) != 0
                               : (ls__rights(s, a->newname, "") & LS_RIGHT_K) != 0;
        if (arc == LS_OK)
            ls__mbox_clear(&anc);
        else if (arc != LS_ENOTFOUND) {
            rc = arc;
            goto out;
        }
        if (!may) {
            rc = ls__err(LS_EPERM, "rename: permission denied for '%s'", a->newname);
            goto out;
        }
    }
    {
        MDB_val v;
        if (ls__db_get(t, LS_DB_MAILBOXES, a->newname, strlen(a->newname), &v) == LS_OK) {
            rc = ls__err(LS_EEXIST, "mailbox '%s' already exists", a->newname);
            goto out;
        }
    }
    if (old_inbox) {
        /* RFC 3501: INBOX's messages move to the new name; INBOX stays,
         * empty, with its children. The new mailbox takes INBOX's identity
         * (unique id, UIDs, UIDVALIDITY); INBOX gets a fresh one. */
        if ((rc = move_entry(t, a->oldname, a->newname, a)))
            goto out;
        ls_mbox fresh;
        rc = ls__mbox_insert(t, a->oldname, a->fresh_uuid, old.entry.partition, old.entry.acl, &fresh);
        if (rc)
            goto out;
        /* both names stay under INBOX's root: one more mailbox, same messages */
        rc = ls__quota_charge(t, a->oldname, sep, 0, 0, 1, 1);
        if (rc) {
            ls__mbox_clear(&fresh);
            goto out;
        }
        if (strcmp(a->fresh_partition, old.entry.partition) != 0)
            rc = ls__err(LS_EBUSY, "INBOX changed partition during the rename; try again");
        if (!rc)
            a->inbox_rename = 1;
        ls__mbox_clear(&fresh);
        goto out;
    }
    rc = move_tree(t, a);
    /* the owner's subscriptions follow a rename of their own mailbox;
     * everybody else's keep the old name (as in Cyrus) */
    if (!rc && oowner)
        rc = ls__subs_follow(t, oowner, a->oldname, a->newname, sep);
out:
    free(oowner);
    free(nowner);
    ls__mbox_clear(&old);
    return rc;
}

int ls_mailbox_rename(ls_session *s, const char *oldname, const char *newname)
{
    ls_store *st = s->st;
    int rc = ls_name_validate(oldname, st->cfg->sep);
    if (!rc)
        rc = ls_name_validate(newname, st->cfg->sep);
    if (rc)
        return rc;
    if (!strcmp(oldname, newname))
        return ls__err(LS_EEXIST, "mailbox '%s' already exists", newname);
    struct rename_args a = { .s = s, .oldname = oldname, .newname = newname };
    uuid_generate(a.fresh_uuid);
    /* An INBOX rename gives INBOX a fresh directory: make it before the
     * commit (on INBOX's partition), so a crash never leaves INBOX without one. */
    ls_mbref fresh = { 0 };
    char *owner = NULL, *nowner = NULL;
    int maybe_inbox = ls__name_owner(oldname, st->cfg->sep, &owner) && strlen(oldname) == 5 + strlen(owner) &&
                      !(ls__name_owner(newname, st->cfg->sep, &nowner) && strlen(newname) == 5 + strlen(nowner));
    free(owner);
    free(nowner);
    if (maybe_inbox) {
        ls_txn t0;
        ls_mbox m0;
        if ((rc = ls__txn_read(st->env, &t0)))
            return rc;
        rc = ls__mbox_load(&t0, oldname, &m0);
        if (!rc) {
            snprintf(a.fresh_partition, sizeof a.fresh_partition, "%s", m0.entry.partition);
            ls__mbox_clear(&m0);
        }
        ls__txn_end(&t0);
        if (rc)
            return rc;
        ls__mbref_set(&fresh, a.fresh_uuid, a.fresh_partition);
        if ((rc = st->layout->ops->mailbox_init(st->layout, &fresh)))
            return rc;
    }
    rc = ls__env_write(st->env, LS_SYNC_ALWAYS, rename_txn, &a);
    if (maybe_inbox && (rc || !a.inbox_rename))
        st->layout->ops->mailbox_destroy(st->layout, &fresh);
    /* Refresh store.header of every renamed mailbox (and a fresh INBOX). */
    ls_txn t;
    if (!rc && (rc = ls__txn_read(st->env, &t)) == LS_OK) {
        for (size_t i = 0; i <= a.nrenamed && !rc; i++) {
            const char *n = i < a.nrenamed ? a.renamed[i] : a.inbox_rename ? oldname : NULL;
            ls_mbox m;
            if (n && (rc = ls__mbox_load(&t, n, &m)) == LS_OK) {
                rc = ls__header_write(st, &m);
                /* sessions waiting on it (IDLE) learn of the new name */
                ls__mbox_notify(st, m.ref.uuidstr);
                ls__mbox_clear(&m);
            }
        }
        for (size_t i = 0; !rc && i < a.aclchanged.n; i++) {
            ls_mbox m;
            if (ls__mbox_load(&t, a.aclchanged.v[i], &m) == LS_OK) {
                rc = ls__header_write(st, &m);
                ls__mbox_clear(&m);
            }
        }
        ls__txn_end(&t);
    }
    ls__names_free(a.renamed, a.nrenamed);
    ls__namelist_free(&a.aclchanged);
    return rc;
}
