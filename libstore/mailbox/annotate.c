/*
 * Mailbox annotations (RFC 5464, mailbox level) and special-use (RFC 6154).
 * Table "annotations": key uuid16 + ENTRY + NUL + USER ("" for /shared),
 * value: the bytes of the value.
 */
#include "store_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const special_uses[] = { "\\All", "\\Archive", "\\Drafts", "\\Flagged", "\\Junk", "\\Sent",
                                            "\\Trash", NULL };

/* "/shared/comment", "/private/vendor/x/y": printable ASCII components,
 * no wildcards, no empty component. Returns 1 for shared, 2 for private. */
static int entry_kind(const char *e)
{
    const char *rest;
    int kind;
    if (!strncmp(e, "/shared/", 8)) {
        rest = e + 8;
        kind = 1;
    } else if (!strncmp(e, "/private/", 9)) {
        rest = e + 9;
        kind = 2;
    } else {
        return 0;
    }
    if (!*rest || strlen(e) > 255)
        return 0;
    char prev = '/';
    for (const char *p = rest; *p; p++) {
        if (*p <= ' ' || *p >= 0x7f || *p == '*' || *p == '%' || (*p == '/' && prev == '/'))
            return 0;
        prev = *p;
    }
    return prev == '/' ? 0 : kind;
}

static int specialuse_valid(const char *v)
{
    const char *p = v;
    while (*p) {
        while (*p == ' ')
            p++;
        const char *w = p;
        while (*p && *p != ' ')
            p++;
        if (p == w)
            break;
        int ok = 0;
        for (int i = 0; special_uses[i]; i++)
            if ((size_t)(p - w) == strlen(special_uses[i]) && !strncasecmp(w, special_uses[i], (size_t)(p - w)))
                ok = 1;
        if (!ok)
            return 0;
    }
    return 1;
}

static size_t make_key(uint8_t *k, const uint8_t uuid[LS_UUID_LEN], const char *entry, const char *user)
{
    size_t el = strlen(entry), ul = strlen(user);
    memcpy(k, uuid, LS_UUID_LEN);
    memcpy(k + LS_UUID_LEN, entry, el + 1);
    memcpy(k + LS_UUID_LEN + el + 1, user, ul);
    return LS_UUID_LEN + el + 1 + ul;
}

/* Bytes used by a mailbox's annotations (entries and values). */
static int used_bytes(ls_txn *t, const uint8_t uuid[LS_UUID_LEN], uint64_t *used)
{
    MDB_cursor *c;
    int rc = ls__db_cursor(t, LS_DB_ANNOT, &c);
    if (rc)
        return rc;
    *used = 0;
    MDB_val k = { LS_UUID_LEN, (void *)uuid }, v;
    for (int mrc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); mrc == 0; mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size < LS_UUID_LEN || memcmp(k.mv_data, uuid, LS_UUID_LEN))
            break;
        *used += k.mv_size - LS_UUID_LEN + v.mv_size;
    }
    ls__db_cursor_close(c);
    return LS_OK;
}

struct annot_args {
    ls_session *s;
    const char *mailbox, *entry, *value;
    int kind;
};

static int annot_txn(ls_txn *t, void *arg)
{
    struct annot_args *a = arg;
    ls_mbox m;
    int rc = ls__mbox_load(t, a->mailbox, &m);
    if (rc)
        return rc;
    rc = ls__require(a->s, &m, a->kind == 1 ? LS_RIGHT_L | LS_RIGHT_N : LS_RIGHT_L, "setannotation");
    const char *user = a->kind == 1 ? "" : a->s->identity ? a->s->identity : "";
    uint8_t k[LS_UUID_LEN + 256 + 1 + LS_NAME_BUF];
    size_t kl = make_key(k, m.entry.uuid, a->entry, user);
    if (!rc && a->value) {
        uint64_t used;
        MDB_val old;
        size_t oldlen = ls__db_get(t, LS_DB_ANNOT, k, kl, &old) == LS_OK ? kl - LS_UUID_LEN + old.mv_size : 0;
        ls_error_clear();
        if ((rc = used_bytes(t, m.entry.uuid, &used)) == LS_OK) {
            uint64_t after = used - oldlen + (kl - LS_UUID_LEN) + strlen(a->value);
            int64_t limit = a->s->st->cfg->annotation_size_limit;
            if (limit >= 0 && after > (uint64_t)limit)
                rc = ls__err(LS_ELIMIT, "annotations of '%s' would take %llu bytes, over annotation_size_limit %lld",
                            a->mailbox, (unsigned long long)after, (long long)limit);
        }
        if (!rc)
            rc = ls__db_put(t, LS_DB_ANNOT, k, kl, a->value, strlen(a->value), 0);
    } else if (!rc) {
        rc = ls__db_del(t, LS_DB_ANNOT, k, kl, NULL, 0);
    }
    ls__mbox_clear(&m);
    return rc;
}

int ls_annotation_set(ls_session *s, const char *mailbox, const char *entry, const char *value)
{
    int kind = entry ? entry_kind(entry) : 0;
    if (!kind)
        return ls__err(LS_EINVAL, "invalid annotation entry '%s' (want /shared/NAME or /private/NAME)",
                      entry ? entry : "(null)");
    const char *leaf = strchr(entry + 1, '/') + 1;
    if (value && !strcasecmp(leaf, "specialuse") && !specialuse_valid(value))
        return ls__err(LS_EINVAL, "invalid special-use '%s' (\\All \\Archive \\Drafts \\Flagged \\Junk \\Sent \\Trash)",
                      value);
    if (value && memchr(value, 0, strlen(value)))
        return ls__err(LS_EINVAL, "annotation value contains NUL");
    struct annot_args a = { s, mailbox, entry, value, kind };
    int rc = ls__env_write(s->st->env, LS_SYNC_FLAGS, annot_txn, &a);
    if (rc)
        return rc;
    /* mirror into store.header */
    ls_txn t;
    if ((rc = ls__txn_read(s->st->env, &t)))
        return rc;
    ls_mbox m;
    if ((rc = ls__mbox_load(&t, mailbox, &m)) == LS_OK) {
        rc = ls__header_write(s->st, &m);
        ls__mbox_clear(&m);
    }
    ls__txn_end(&t);
    return rc;
}

int ls_annotation_get(ls_session *s, const char *mailbox, const char *entry, ls_annotation_cb cb, void *arg)
{
    if (entry && !entry_kind(entry))
        return ls__err(LS_EINVAL, "invalid annotation entry '%s'", entry);
    ls_txn t;
    int rc = ls__txn_read(s->st->env, &t);
    if (rc)
        return rc;
    ls_mbox m;
    if ((rc = ls__mbox_load(&t, mailbox, &m))) {
        ls__txn_end(&t);
        return rc;
    }
    rc = ls__require(s, &m, LS_RIGHT_L, "getannotation");
    const char *me = s->identity ? s->identity : "";
    /* collect (entry, value) pairs visible to the session, then call back */
    char **pairs = NULL;
    size_t n = 0, cap = 0;
    MDB_cursor *c;
    if (!rc && !(rc = ls__db_cursor(&t, LS_DB_ANNOT, &c))) {
        MDB_val k = { LS_UUID_LEN, m.entry.uuid }, v;
        for (int mrc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); mrc == 0 && !rc; mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
            if (k.mv_size < LS_UUID_LEN || memcmp(k.mv_data, m.entry.uuid, LS_UUID_LEN))
                break;
            const char *e = (const char *)k.mv_data + LS_UUID_LEN;
            size_t rest = k.mv_size - LS_UUID_LEN;
            size_t el = strnlen(e, rest);
            if (el == rest)
                continue;
            const char *u = e + el + 1;
            size_t ul = rest - el - 1;
            int shared = !strncmp(e, "/shared/", 8);
            if (!shared && (ul != strlen(me) || memcmp(u, me, ul)))
                continue;
            if (entry && (el != strlen(entry) || memcmp(e, entry, el)))
                continue;
            if (n + 2 > cap) {
                cap = cap ? cap * 2 : 16;
                char **np = realloc(pairs, cap * sizeof *np);
                if (!np) {
                    rc = ls__err(LS_ENOMEM, "out of memory");
                    break;
                }
                pairs = np;
            }
            pairs[n] = strndup(e, el);
            pairs[n + 1] = strndup(v.mv_data, v.mv_size);
            n += 2;
        }
        ls__db_cursor_close(c);
    }
    ls__mbox_clear(&m);
    ls__txn_end(&t);
    for (size_t i = 0; i < n; i += 2) {
        if (!rc && pairs[i] && pairs[i + 1])
            rc = cb(pairs[i], pairs[i + 1], arg);
        free(pairs[i]);
        free(pairs[i + 1]);
    }
    free(pairs);
    return rc;
}
