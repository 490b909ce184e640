/* Creating a mailbox. */
#include "store_impl.h"
#include "core/fsutil.h"
#include "model/names.h"
#include "model/quota.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uuid/uuid.h>

/* The nearest existing ancestor of name (a proper prefix ending at a
 * separator), loaded into *anc. LS_ENOTFOUND if none. */
int ls__mbox_nearest_ancestor(ls_txn *t, const char *name, char sep, ls_mbox *anc)
{
    char buf[LS_NAME_BUF];
    size_t n = strlen(name);
    if (n >= sizeof buf)
        return LS_ENOTFOUND;
    memcpy(buf, name, n + 1);
    for (char *p = buf + n; p > buf; p--) {
        if (*p != sep)
            continue;
        *p = 0;
        int rc = ls__mbox_load(t, buf, anc);
        if (rc != LS_ENOTFOUND)
            return rc;
    }
    ls_error_clear();
    return LS_ENOTFOUND;
}

/* A UIDVALIDITY never used before in this store: the time, or one more than
 * the last one handed out if that is later (two creations in one second). */
static int next_uidvalidity(ls_txn *t, uint32_t *out)
{
    static const char key[] = "uidvalidity";
    MDB_val v;
    uint32_t last = 0, now = (uint32_t)time(NULL);
    int rc = ls__db_get(t, LS_DB_META, key, sizeof key - 1, &v);
    if (rc == LS_OK && v.mv_size == 4)
        last = ls__rd_be32(v.mv_data);
    else if (rc && rc != LS_ENOTFOUND)
        return rc;
    *out = now > last ? now : last + 1;
    uint8_t b[4];
    ls__be32(b, *out);
    return ls__db_put(t, LS_DB_META, key, sizeof key - 1, b, 4, 0);
}

struct create_args {
    ls_session *s;
    const char *name;
    const char *partition;   /* requested, or NULL */
    uint8_t uuid[LS_UUID_LEN];
    ls_mbox made;            /* out: the new mailbox */
};

/* Insert a mailbox entry and its empty state. Used by create and by the
 * INBOX rename (which gives INBOX a fresh identity). */
int ls__mbox_insert(ls_txn *t, const char *name, const uint8_t uuid[LS_UUID_LEN], const char *partition,
                   const char *acl, ls_mbox *out)
{
    memset(out, 0, sizeof *out);
    uint32_t uidvalidity;
    int rc = next_uidvalidity(t, &uidvalidity);
    if (rc)
        return rc;
    out->name = strdup(name);
    out->entry.acl = strdup(acl ? acl : "");
    if (!out->name || !out->entry.acl) {
        ls__mbox_clear(out);
        return ls__err(LS_ENOMEM, "out of memory");
    }
    memcpy(out->entry.uuid, uuid, LS_UUID_LEN);
    out->entry.uidvalidity = uidvalidity;
    snprintf(out->entry.partition, sizeof out->entry.partition, "%s", partition);
    ls__mbref_set(&out->ref, uuid, out->entry.partition);
    out->state = (ls_mbstate){ .uidvalidity = uidvalidity, .uidnext = 1, .highestmodseq = 1 };
    uint8_t *buf;
    size_t len;
    if ((rc = ls__mbentry_encode(&out->entry, &buf, &len)) == LS_OK) {
        rc = ls__db_put(t, LS_DB_MAILBOXES, name, strlen(name), buf, len, MDB_NOOVERWRITE);
        free(buf);
    }
    if (rc == LS_EEXIST)
        rc = ls__err(LS_EEXIST, "mailbox '%s' already exists", name);
    if (!rc)
        rc = ls__db_put(t, LS_DB_BYUUID, uuid, LS_UUID_LEN, name, strlen(name), 0);
    if (!rc)
        rc = ls__mbstate_put(t, uuid, &out->state);
    if (rc)
        ls__mbox_clear(out);
    return rc;
}

static int create_txn(ls_txn *t, void *arg)
{
    struct create_args *a = arg;
    ls_session *s = a->s;
    char sep = s->st->cfg->sep;
    ls__mbox_clear(&a->made);
    ls_mbox anc;
    int rc = ls__mbox_nearest_ancestor(t, a->name, sep, &anc);
    if (rc && rc != LS_ENOTFOUND)
        return rc;
    int has_anc = rc == LS_OK;
    rc = LS_OK;
    char *owner = NULL;
    int is_user = ls__name_owner(a->name, sep, &owner);
    int is_inbox = is_user && strlen(a->name) == 5 + strlen(owner);
    const char *acl = has_anc ? anc.entry.acl : "";
    char *own_acl = NULL;
    /* Rights: admins create anything; others need `k` on the nearest
     * ancestor (the owner has it implicitly below user.NAME). */
    if (!s->admin) {
        if (is_inbox)
            rc = ls__err(LS_EPERM, "only administrators create a user's INBOX ('%s')", a->name);
        else if (has_anc && (ls__rights(s, anc.name, anc.entry.acl) & LS_RIGHT_K))
            rc = LS_OK;
        else if (has_anc || !(ls__rights(s, a->name, "") & LS_RIGHT_K))
            /* one message whether the parent is hidden, missing or not ours */
            rc = ls__err(LS_EPERM, "create: permission denied for '%s'", a->name);
    }
    if (!rc && (is_inbox || (is_user && !has_anc))) {
        own_acl = ls__strprintf("%s\tlrswipkxtean\t", owner);
        if (!own_acl)
            rc = ls__err(LS_ENOMEM, "out of memory");
        acl = own_acl;
    }
    const char *part = a->partition ? a->partition : has_anc ? anc.entry.partition : s->st->cfg->defaultpartition;
    if (!rc && !ls__config_partition_path(s->st->cfg, part))
        rc = ls__err(LS_ENOTFOUND, "partition '%s' is not configured", part);
    if (!rc)
        rc = ls__mbox_insert(t, a->name, a->uuid, part, acl, &a->made);
    if (!rc) {
        /* quota: a new user's INBOX gets quota_default_storage as its own
         * root; any other mailbox counts against the root above it */
        MDB_val qv;
        int64_t qds = s->st->cfg->quota_default_storage;
        if (is_inbox && qds >= 0 && ls__db_get(t, LS_DB_QUOTA, a->name, strlen(a->name), &qv) == LS_ENOTFOUND) {
            int64_t limits[LS_QUOTA_NRESOURCES] = { qds, LS_QUOTA_UNLIMITED, LS_QUOTA_UNLIMITED };
            rc = ls__quota_define(t, a->name, sep, limits);
        } else {
            rc = ls__quota_charge(t, a->name, sep, 0, 0, 1, 1);
        }
    }
    free(own_acl);
    free(owner);
    if (has_anc)
        ls__mbox_clear(&anc);
    return rc;
}

int ls_mailbox_create(ls_session *s, const char *name, const char *partition)
{
    ls_store *st = s->st;
    int rc = ls_name_validate(name, st->cfg->sep);
    if (rc)
        return rc;
    if (partition && !ls__config_partition_path(st->cfg, partition))
        return ls__err(LS_ENOTFOUND, "partition '%s' is not configured", partition);
    struct create_args a = { .s = s, .name = name, .partition = partition };
    uuid_generate(a.uuid);
    /* Make the directory before the commit: an empty directory left by a
     * failed commit is harmless (cleanup and reconstruct -f ignore it). */
    ls_mbref ref;
    const char *part = partition ? partition : st->cfg->defaultpartition;
    ls_txn t;
    if ((rc = ls__txn_read(st->env, &t)))
        return rc;
    ls_mbox anc;
    char ancpart[64];
    if (!partition && ls__mbox_nearest_ancestor(&t, name, st->cfg->sep, &anc) == LS_OK) {
        snprintf(ancpart, sizeof ancpart, "%s", anc.entry.partition);
        part = ancpart;
        ls__mbox_clear(&anc);
    }
    ls__txn_end(&t);
    ls__mbref_set(&ref, a.uuid, part);
    a.partition = part; /* the transaction uses the partition the directory is on */
    if ((rc = st->layout->ops->mailbox_init(st->layout, &ref)))
        return rc;
    rc = ls__env_write(st->env, LS_SYNC_ALWAYS, create_txn, &a);
    if (rc) {
        st->layout->ops->mailbox_destroy(st->layout, &ref);
        ls__mbox_clear(&a.made);
        return rc;
    }
    rc = ls__header_write(st, &a.made);
    ls__mbox_clear(&a.made);
    return rc;
}
