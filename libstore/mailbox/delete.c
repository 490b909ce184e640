/* Deleting a mailbox, or a whole account. */
#include "store_impl.h"
#include "model/names.h"
#include "model/pending.h"
#include "model/records.h"
#include "model/sis.h"
#include "model/quota.h"

#include <stdlib.h>
#include <string.h>

/* Delete every key of table db that starts with prefix. */
int ls__db_del_prefix(ls_txn *t, int db, const void *prefix, size_t plen)
{
    MDB_cursor *c;
    int rc = ls__db_cursor(t, db, &c);
    if (rc)
        return rc;
    MDB_val k, v;
    int mrc;
    /* Seek afresh after each delete: simple, and O(log n) each. */
    for (;;) {
        k.mv_size = plen;
        k.mv_data = (void *)prefix;
        mrc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
        if (mrc || k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0)
            break;
        if ((mrc = mdb_cursor_del(c, 0)))
            break;
    }
    ls__db_cursor_close(c);
    return mrc && mrc != MDB_NOTFOUND ? ls__txn_fail(t, mrc, "deleting") : LS_OK;
}

static int unlink_sis(uint32_t uid, const ls_irec *r, MDB_val *raw, void *arg)
{
    ls_txn *t = ((void **)arg)[0];
    const ls_mbox *m = ((void **)arg)[1];
    if (!r || (r->sysflags & LS_REC_EXPUNGED))
        return LS_OK;
    return ls__sis_del(t, m->entry.partition, r->guid, r->internaldate, m->entry.uuid, uid);
}

/* Remove all metadata of mailbox m and queue the removal of its files. */
int ls__mbox_purge(ls_txn *t, const ls_mbox *m, char sep)
{
    void *args[2] = { t, (void *)m };
    /* quota: a root goes with its mailbox; otherwise the usage leaves its root */
    int64_t d[3];
    ls__quota_usage_of(&m->state, d);
    MDB_val qv;
    int is_root = ls__db_get(t, LS_DB_QUOTA, m->name, strlen(m->name), &qv) == LS_OK;
    /* its own usage leaves its root (itself, or one above) ... */
    int rc = ls__quota_charge(t, m->name, sep, -d[0], -d[1], -d[2], 0);
    /* ... and a root goes with its mailbox: what it still governs (children
     * that survive this delete) falls to the next root above */
    if (!rc && is_root)
        rc = ls__quota_undefine(t, m->name, sep);
    if (!rc)
        rc = ls__rec_foreach(t, m->entry.uuid, 1, unlink_sis, args);
    if (!rc) rc = ls__db_del_prefix(t, LS_DB_RECORDS, m->entry.uuid, LS_UUID_LEN);
    if (!rc) rc = ls__db_del_prefix(t, LS_DB_CACHE, m->entry.uuid, LS_UUID_LEN);
    if (!rc) rc = ls__db_del_prefix(t, LS_DB_CACHEX, m->entry.uuid, LS_UUID_LEN);
    if (!rc) rc = ls__db_del_prefix(t, LS_DB_ANNOT, m->entry.uuid, LS_UUID_LEN);
    if (!rc) rc = ls__db_del_prefix(t, LS_DB_SEEN, m->entry.uuid, LS_UUID_LEN);
    if (!rc) rc = ls__db_del_prefix(t, LS_DB_SEENMOD, m->entry.uuid, LS_UUID_LEN);
    if (!rc) rc = ls__db_del(t, LS_DB_KEYWORDS, m->entry.uuid, LS_UUID_LEN, NULL, 0);
    if (!rc) rc = ls__db_del(t, LS_DB_MBSTATE, m->entry.uuid, LS_UUID_LEN, NULL, 0);
    if (!rc) rc = ls__db_del(t, LS_DB_BYUUID, m->entry.uuid, LS_UUID_LEN, NULL, 0);
    if (!rc) rc = ls__db_del(t, LS_DB_MAILBOXES, m->name, strlen(m->name), NULL, 0);
    if (!rc) rc = ls__pending_add(t, LS_PENDING_DESTROY, &m->ref, 0);
    return rc;
}

/* Collect the names of name's children (prefix "name<sep>"), sorted. */
int ls__mbox_children(ls_txn *t, const char *name, char sep, char ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    char prefix[LS_NAME_BUF + 1];
    size_t plen = strlen(name);
    if (plen + 1 >= sizeof prefix)
        return LS_OK;
    memcpy(prefix, name, plen);
    prefix[plen++] = sep;
    MDB_cursor *c;
    int rc = ls__db_cursor(t, LS_DB_MAILBOXES, &c);
    if (rc)
        return rc;
    MDB_val k = { plen, prefix }, v;
    size_t cap = 0;
    for (int mrc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); mrc == 0; mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0)
            break;
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            char **nl = realloc(*out, cap * sizeof *nl);
            if (!nl) {
                rc = ls__err(LS_ENOMEM, "out of memory");
                break;
            }
            *out = nl;
        }
        (*out)[*n] = strndup(k.mv_data, k.mv_size);
        if (!(*out)[*n]) {
            rc = ls__err(LS_ENOMEM, "out of memory");
            break;
        }
        (*n)++;
    }
    ls__db_cursor_close(c);
    return rc;
}

void ls__names_free(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* Remove the ACL entries naming `user` (and "-user") from every mailbox;
 * the names of the mailboxes changed are added to *changed (may be NULL). */
int ls__acl_forget_user(ls_txn *t, const char *user, ls_namelist *changed)
{
    MDB_cursor *c;
    int rc = ls__db_cursor(t, LS_DB_MAILBOXES, &c);
    if (rc)
        return rc;
    size_t ulen = strlen(user);
    MDB_val k, v;
    for (int mrc = mdb_cursor_get(c, &k, &v, MDB_FIRST); !rc && mrc == 0; mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        ls_mbox m = { 0 };
        if (ls__mbentry_decode(v.mv_data, v.mv_size, &m.entry) != LS_OK)
            continue;
        /* rebuild the ACL without the user's entries */
        char *src = m.entry.acl, *dst = m.entry.acl;
        int changed_here = 0;
        while (*src) {
            char *tab = strchr(src, '\t');
            char *end = tab ? strchr(tab + 1, '\t') : NULL;
            if (!end)
                break;
            const char *id = *src == '-' ? src + 1 : src;
            size_t idlen = (size_t)(tab - id), elen = (size_t)(end + 1 - src);
            if (idlen == ulen && !memcmp(id, user, ulen)) {
                changed_here = 1;
            } else {
                memmove(dst, src, elen);
                dst += elen;
            }
            src = end + 1;
        }
        *dst = 0;
        if (changed_here) {
            m.name = strndup(k.mv_data, k.mv_size);
            rc = m.name ? ls__mbox_put_entry(t, &m) : ls__err(LS_ENOMEM, "out of memory");
            if (!rc && changed)
                rc = ls__namelist_add(changed, m.name);
            free(m.name);
            m.name = NULL;
        }
        ls__mbentry_clear(&m.entry);
    }
    ls__db_cursor_close(c);
    return rc;
}

int ls__mbox_put_entry(ls_txn *t, const ls_mbox *m)
{
    uint8_t *buf;
    size_t len;
    int rc = ls__mbentry_encode(&m->entry, &buf, &len);
    if (rc)
        return rc;
    rc = ls__db_put(t, LS_DB_MAILBOXES, m->name, strlen(m->name), buf, len, 0);
    free(buf);
    return rc;
}

/* Private annotations of `user` (key uuid16 + ENTRY NUL USER) everywhere. */
static int forget_private_annotations(ls_txn *t, const char *user)
{
    size_t ul = strlen(user);
    MDB_cursor *c;
    int rc = ls__db_cursor(t, LS_DB_ANNOT, &c);
    if (rc)
        return rc;
    MDB_val k, v;
    ls_namelist keys = { 0 };
    for (int mrc = mdb_cursor_get(c, &k, &v, MDB_FIRST); !rc && mrc == 0; mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size <= LS_UUID_LEN)
            continue;
        const char *e = (const char *)k.mv_data + LS_UUID_LEN;
        size_t rest = k.mv_size - LS_UUID_LEN, el = strnlen(e, rest);
        if (el < rest && rest - el - 1 == ul && !memcmp(e + el + 1, user, ul)) {
            /* keys hold NULs: keep them as length-prefixed copies */
            char *copy = malloc(k.mv_size + sizeof(size_t));
            if (!copy) {
                rc = ls__err(LS_ENOMEM, "out of memory");
                break;
            }
            memcpy(copy, &k.mv_size, sizeof(size_t));
            memcpy(copy + sizeof(size_t), k.mv_data, k.mv_size);
            if (ls__namelist_take(&keys, copy)) {
                rc = ls__err(LS_ENOMEM, "out of memory");
                break;
            }
        }
    }
    ls__db_cursor_close(c);
    for (size_t i = 0; !rc && i < keys.n; i++) {
        size_t kl;
        memcpy(&kl, keys.v[i], sizeof kl);
        rc = ls__db_del(t, LS_DB_ANNOT, keys.v[i] + sizeof kl, kl, NULL, 0);
    }
    ls__namelist_free(&keys);
    return rc;
}

/* Forget everything stored for a user: subscriptions, private seen state,
 * private annotations, and ACL entries naming the user (those mailboxes go
 * into *changed, for their store.header). */
int ls__user_forget(ls_txn *t, const char *user, ls_namelist *changed)
{
    size_t n = strlen(user) + 1;
    int rc = ls__db_del_prefix(t, LS_DB_SUBS, user, n);
    if (!rc)
        rc = ls__seen_forget_user(t, user);
    if (!rc)
        rc = forget_private_annotations(t, user);
    if (!rc)
        rc = ls__acl_forget_user(t, user, changed);
    return rc;
}

int ls__namelist_take(ls_namelist *l, char *s)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        char **nv = realloc(l->v, cap * sizeof *nv);
        if (!nv) {
            free(s);
            return LS_ENOMEM;
        }
        l->v = nv;
        l->cap = cap;
    }
    l->v[l->n++] = s;
    return LS_OK;
}

int ls__namelist_add(ls_namelist *l, const char *s)
{
    char *d = strdup(s);
    return d ? ls__namelist_take(l, d) : ls__err(LS_ENOMEM, "out of memory");
}

void ls__namelist_free(ls_namelist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

struct delete_args {
    ls_session *s;
    const char *name;
    ls_namelist changed;     /* mailboxes whose ACL lost the deleted user */
    ls_namelist gone;        /* unique ids of the mailboxes deleted, to wake their waiters */
};

static int delete_txn(ls_txn *t, void *arg)
{
    struct delete_args *a = arg;
    ls_session *s = a->s;
    char sep = s->st->cfg->sep;
    ls_mbox m;
    ls__namelist_free(&a->gone); /* the transaction may be run again */
    int rc = ls__mbox_load(t, a->name, &m);
    if (rc)
        return rc;
    char *owner = NULL;
    int is_inbox = ls__name_owner(a->name, sep, &owner) && strlen(a->name) == 5 + strlen(owner);
    /* the operation's own right first: without it, a mailbox the session
     * may not see fails exactly as a missing one (ls__require); RFC 4314
     * asks x, not l, for DELETE */
    rc = ls__require(s, &m, LS_RIGHT_X, "delete");
    if (!rc && is_inbox && !s->admin)
        rc = ls__err(LS_EPERM, "only administrators delete a user's INBOX ('%s')", a->name);
    if (!rc && is_inbox) {
        /* the whole account; children first, so their usage leaves the
         * account's quota root before the root itself goes */
        char **kids;
        size_t nk;
        rc = ls__mbox_children(t, a->name, sep, &kids, &nk);
        for (size_t i = 0; !rc && i < nk; i++) {
            ls_mbox k;
            if ((rc = ls__mbox_load(t, kids[i], &k)) == LS_OK) {
                rc = ls__mbox_purge(t, &k, sep);
                if (!rc)
                    rc = ls__namelist_add(&a->gone, k.ref.uuidstr);
                ls__mbox_clear(&k);
            }
        }
        ls__names_free(kids, nk);
        ls__namelist_free(&a->changed);
        if (!rc)
            rc = ls__user_forget(t, owner, &a->changed);
    }
    if (!rc)
        rc = ls__mbox_purge(t, &m, sep);
    if (!rc)
        rc = ls__namelist_add(&a->gone, m.ref.uuidstr);
    ls__mbox_clear(&m);
    free(owner);
    return rc;
}

int ls_mailbox_delete(ls_session *s, const char *name)
{
    int rc = ls_name_validate(name, s->st->cfg->sep);
    if (rc)
        return rc;
    struct delete_args a = { s, name, { 0 }, { 0 } };
    rc = ls__env_write(s->st->env, LS_SYNC_RESERVE, delete_txn, &a);
    if (rc) {
        ls__namelist_free(&a.changed);
        ls__namelist_free(&a.gone);
        return rc;
    }
    /* sessions waiting on a deleted mailbox (IDLE) wake and see it gone */
    for (size_t i = 0; i < a.gone.n; i++)
        ls__mbox_notify(s->st, a.gone.v[i]);
    ls__namelist_free(&a.gone);
    /* mirror the ACLs that lost the deleted user into their store.header */
    ls_txn t;
    if (a.changed.n && ls__txn_read(s->st->env, &t) == LS_OK) {
        for (size_t i = 0; i < a.changed.n; i++) {
            ls_mbox m;
            if (ls__mbox_load(&t, a.changed.v[i], &m) == LS_OK) {
                ls__header_write(s->st, &m);
                ls__mbox_clear(&m);
            }
        }
        ls__txn_end(&t);
    }
    ls__namelist_free(&a.changed);
    /* Roll the file removals forward now; any left (a reader still looks, a
     * crash) are finished by the next cleanup. */
    /* only directories: other mailboxes' expunged files wait for cleanup,
     * which first refreshes their store.header high-water marks */
    ls__pending_run(s->st, 0, LS_PENDING_DESTROY, 0, NULL);
    ls_error_clear();
    ls__env_refill_reserve(s->st->env);
    return LS_OK;
}
