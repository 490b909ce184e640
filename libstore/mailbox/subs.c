/* Subscriptions: table "subs", key "USER\0MAILBOX", empty value. */
#include "store_impl.h"
#include "model/names.h"

#include <stdlib.h>
#include <string.h>

static int may_touch(const ls_session *s, const char *user)
{
    if (s->admin && !s->identity)
        return LS_OK;
    if (s->identity && !strcmp(s->identity, user))
        return LS_OK;
    if (s->admin)
        return LS_OK;
    return ls__err(LS_EPERM, "only %s (or an administrator) may see or change %s's subscriptions", user, user);
}

static int subs_key(const char *user, const char *mailbox, char **key, size_t *len)
{
    size_t ul = strlen(user), ml = strlen(mailbox);
    char *k = malloc(ul + 1 + ml);
    if (!k)
        return ls__err(LS_ENOMEM, "out of memory");
    memcpy(k, user, ul + 1);
    memcpy(k + ul + 1, mailbox, ml);
    *key = k;
    *len = ul + 1 + ml;
    return LS_OK;
}

struct subs_args { const char *user, *mailbox; int add; };
static int subs_txn(ls_txn *t, void *arg)
{
    struct subs_args *a = arg;
    char *k = NULL;
    size_t kl = 0;
    int rc = subs_key(a->user, a->mailbox, &k, &kl);
    if (rc)
        return rc;
    rc = a->add ? ls__db_put(t, LS_DB_SUBS, k, kl, "", 0, 0) : ls__db_del(t, LS_DB_SUBS, k, kl, NULL, 0);
    free(k);
    return rc;
}

static int change(ls_session *s, const char *user, const char *mailbox, int add)
{
    char sep = s->st->cfg->sep;
    int rc = ls__user_validate(user, sep);
    if (!rc)
        rc = ls_name_validate(mailbox, sep);
    if (!rc)
        rc = may_touch(s, user);
    if (rc)
        return rc;
    struct subs_args a = { user, mailbox, add };
    return ls__env_write(s->st->env, LS_SYNC_FLAGS, subs_txn, &a);
}

int ls_subs_add(ls_session *s, const char *user, const char *mailbox) { return change(s, user, mailbox, 1); }
int ls_subs_remove(ls_session *s, const char *user, const char *mailbox) { return change(s, user, mailbox, 0); }

int ls_subs_list(ls_session *s, const char *user, const char *pattern, ls_mailbox_list_cb cb, void *arg)
{
    char sep = s->st->cfg->sep;
    int rc = ls__user_validate(user, sep);
    if (!rc)
        rc = may_touch(s, user);
    if (rc)
        return rc;
    ls_txn t;
    if ((rc = ls__txn_read(s->st->env, &t)))
        return rc;
    MDB_cursor *c;
    if ((rc = ls__db_cursor(&t, LS_DB_SUBS, &c))) {
        ls__txn_end(&t);
        return rc;
    }
    size_t ul = strlen(user) + 1;
    MDB_val k = { ul, (void *)user }, v;
    /* collect, then call back outside the snapshot */
    char **names = NULL;
    size_t n = 0, cap = 0;
    for (int mrc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); mrc == 0 && !rc; mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size < ul || memcmp(k.mv_data, user, ul))
            break;
        char *name = strndup((const char *)k.mv_data + ul, k.mv_size - ul);
        if (!name) {
            rc = ls__err(LS_ENOMEM, "out of memory");
            break;
        }
        if (pattern && !ls__pattern_match(pattern, name, sep)) {
            free(name);
            continue;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn) {
                free(name);
                rc = ls__err(LS_ENOMEM, "out of memory");
                break;
            }
            names = nn;
        }
        names[n++] = name;
    }
    ls__db_cursor_close(c);
    ls__txn_end(&t);
    for (size_t i = 0; i < n; i++) {
        if (!rc)
            rc = cb(names[i], 0, arg);
        free(names[i]);
    }
    free(names);
    return rc;
}

/* The owner's subscriptions to oldp (and below) follow a rename to newp. */
int ls__subs_follow(ls_txn *t, const char *user, const char *oldp, const char *newp, char sep)
{
    size_t ul = strlen(user) + 1, ol = strlen(oldp);
    char *prefix = NULL;
    size_t plen = 0;
    int rc = subs_key(user, oldp, &prefix, &plen);
    if (rc)
        return rc;
    for (;;) {
        MDB_cursor *c;
        if ((rc = ls__db_cursor(t, LS_DB_SUBS, &c)))
            break;
        MDB_val k = { plen, prefix }, v;
        int mrc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
        char *found = NULL;
        size_t flen = 0;
        while (mrc == 0 && k.mv_size >= plen && !memcmp(k.mv_data, prefix, plen)) {
            const char *name = (const char *)k.mv_data + ul;
            size_t nl = k.mv_size - ul;
            if (nl == ol || name[ol] == sep) {
                found = malloc(k.mv_size);
                if (found) {
                    memcpy(found, k.mv_data, k.mv_size);
                    flen = k.mv_size;
                }
                break;
            }
            mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
        }
        ls__db_cursor_close(c);
        if (!found)
            break;
        size_t nl = strlen(newp), rest = flen - ul - ol;
        char *nk = malloc(ul + nl + rest);
        if (!nk) {
            free(found);
            rc = ls__err(LS_ENOMEM, "out of memory");
            break;
        }
        memcpy(nk, user, ul);
        memcpy(nk + ul, newp, nl);
        memcpy(nk + ul + nl, found + ul + ol, rest);
        rc = ls__db_del(t, LS_DB_SUBS, found, flen, NULL, 0);
        if (!rc)
            rc = ls__db_put(t, LS_DB_SUBS, nk, ul + nl + rest, "", 0, 0);
        free(found);
        free(nk);
        if (rc)
            break;
    }
    free(prefix);
    return rc;
}
