/* LIST: the mailboxes a session may see, with \Noselect levels between. */
#include "store_impl.h"
#include "model/names.h"

#include <stdlib.h>
#include <string.h>

typedef struct lname {
    char *name;
    int exists;
} lname;

typedef struct lset {
    lname *v;
    size_t n, cap;
} lset;

static int lset_add(lset *s, const char *name, size_t len, int exists)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        lname *nv = realloc(s->v, s->cap * sizeof *nv);
        if (!nv)
            return ls__err(LS_ENOMEM, "out of memory");
        s->v = nv;
    }
    s->v[s->n].name = strndup(name, len);
    if (!s->v[s->n].name)
        return ls__err(LS_ENOMEM, "out of memory");
    s->v[s->n++].exists = exists;
    return LS_OK;
}

static int cmp_lname(const void *a, const void *b)
{
    const lname *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    /* equal names: the existing one first, so the duplicate is dropped */
    return c ? c : y->exists - x->exists;
}

/* 1 if some name in the sorted set has `name<sep>` as prefix. */
static int has_children(const lset *s, const char *name, char sep)
{
    size_t len = strlen(name);
    /* binary search for the first name >= "name<sep>" */
    char key[LS_NAME_BUF + 2];
    if (len + 1 >= sizeof key)
        return 0;
    memcpy(key, name, len);
    key[len] = sep;
    key[len + 1] = 0;
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (strcmp(s->v[mid].name, key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < s->n && !strncmp(s->v[lo].name, key, len + 1);
}

int ls_mailbox_list(ls_session *s, const char *pattern, ls_mailbox_list_cb cb, void *arg)
{
    char sep = s->st->cfg->sep;
    if (!pattern)
        pattern = "*";
    ls_txn t;
    int rc = ls__txn_read(s->st->env, &t);
    if (rc)
        return rc;
    lset set = { 0 };
    MDB_cursor *c;
    MDB_val k, v;
    rc = ls__db_cursor(&t, LS_DB_MAILBOXES, &c);
    for (int mrc = rc ? MDB_NOTFOUND : mdb_cursor_get(c, &k, &v, MDB_FIRST); mrc == 0 && !rc;
         mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        char name[LS_NAME_BUF];
        if (k.mv_size >= sizeof name)
            continue;
        memcpy(name, k.mv_data, k.mv_size);
        name[k.mv_size] = 0;
        if (!s->admin) {
            ls_mbentry e;
            if (ls__mbentry_decode(v.mv_data, v.mv_size, &e) != LS_OK)
                continue;
            unsigned r = ls__rights(s, name, e.acl);
            ls__mbentry_clear(&e);
            if (!(r & LS_RIGHT_L))
                continue;
        }
        rc = lset_add(&set, name, k.mv_size, 1);
        /* every level above it, as a possible \Noselect name */
        for (size_t i = 1; !rc && i < k.mv_size; i++)
            if (name[i] == sep)
                rc = lset_add(&set, name, i, 0);
    }
    ls__db_cursor_close(c);
    ls__txn_end(&t);
    if (!rc && set.n) {
        qsort(set.v, set.n, sizeof *set.v, cmp_lname);
        size_t w = 0;
        for (size_t i = 0; i < set.n; i++) {
            if (w && !strcmp(set.v[w - 1].name, set.v[i].name)) {
                free(set.v[i].name);
                continue;
            }
            set.v[w++] = set.v[i];
        }
        set.n = w;
    }
    for (size_t i = 0; !rc && i < set.n; i++) {
        if (!ls__pattern_match(pattern, set.v[i].name, sep))
            continue;
        unsigned attrs = set.v[i].exists ? 0 : LS_MAILBOX_LIST_NOSELECT;
        attrs |= has_children(&set, set.v[i].name, sep) ? LS_MAILBOX_LIST_HASCHILDREN : LS_MAILBOX_LIST_HASNOCHILDREN;
        int r = cb(set.v[i].name, attrs, arg);
        if (r)
            rc = r;
    }
    for (size_t i = 0; i < set.n; i++)
        free(set.v[i].name);
    free(set.v);
    return rc;
}
