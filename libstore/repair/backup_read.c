/* Reading a `mailstore backup` (an LMDB environment copy) for reconstruct -B. */
#include "repair/repair_impl.h"
#include "model/quota.h"
#include "model/records.h"
#include "repair/header.h"

#include <stdlib.h>
#include <string.h>

struct ls_backup {
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi records, keywords, seen, subs;
    /* the mailbox list, for what a damaged store.header lost (absent from
     * no backup `mailstore backup` made; optional all the same) */
    MDB_dbi mailboxes, mbstate, annot, quota, byuuid;
    int has_list;
};

int ls__backup_open(const char *dir, ls_backup **out)
{
    ls_backup *b = calloc(1, sizeof *b);
    if (!b)
        return ls__err(LS_ENOMEM, "out of memory");
    int rc = mdb_env_create(&b->env);
    if (!rc) {
        mdb_env_set_maxdbs(b->env, 32);
        rc = mdb_env_open(b->env, dir, MDB_RDONLY | MDB_NOLOCK | MDB_NOTLS, 0640);
    }
    if (!rc)
        rc = mdb_txn_begin(b->env, NULL, MDB_RDONLY, &b->txn);
    if (!rc)
        rc = mdb_dbi_open(b->txn, "records", 0, &b->records);
    if (!rc)
        rc = mdb_dbi_open(b->txn, "keywords", 0, &b->keywords);
    if (!rc)
        rc = mdb_dbi_open(b->txn, "seen", 0, &b->seen);
    if (!rc)
        rc = mdb_dbi_open(b->txn, "subs", 0, &b->subs);
    if (!rc)
        b->has_list = !mdb_dbi_open(b->txn, "mailboxes", 0, &b->mailboxes) &&
                      !mdb_dbi_open(b->txn, "mbstate", 0, &b->mbstate) &&
                      !mdb_dbi_open(b->txn, "annotations", 0, &b->annot) &&
                      !mdb_dbi_open(b->txn, "quota", 0, &b->quota) && !mdb_dbi_open(b->txn, "byuuid", 0, &b->byuuid);
    if (rc) {
        int code = ls__err(LS_ECORRUPT, "backup %s: %s", dir, mdb_strerror(rc));
        ls__backup_close(b);
        return code;
    }
    *out = b;
    return LS_OK;
}

void ls__backup_close(ls_backup *b)
{
    if (!b)
        return;
    if (b->txn)
        mdb_txn_abort(b->txn);
    if (b->env)
        mdb_env_close(b->env);
    free(b);
}

int ls__backup_record(ls_backup *b, const uint8_t uuid[LS_UUID_LEN], uint32_t uid, const uint8_t guid[LS_GUID_LEN],
                     ls_irec *out, char ***kwnames, size_t *nkw)
{
    *kwnames = NULL;
    *nkw = 0;
    uint8_t key[LS_RECKEY_LEN];
    ls__reckey(key, uuid, uid);
    MDB_val k = { sizeof key, key }, v;
    if (mdb_get(b->txn, b->records, &k, &v) != 0)
        return LS_ENOTFOUND;
    if (ls__irec_decode(v.mv_data, v.mv_size, out) != LS_OK || (out->sysflags & LS_REC_EXPUNGED) ||
        memcmp(out->guid, guid, LS_GUID_LEN))
        return LS_ENOTFOUND;
    /* keyword names of the bits set */
    MDB_val kk = { LS_UUID_LEN, (void *)uuid }, kv;
    if (mdb_get(b->txn, b->keywords, &kk, &kv) != 0)
        return LS_OK;
    const char *p = kv.mv_data, *end = p + kv.mv_size;
    char **names = calloc(LS_MAILBOX_MAX_KEYWORDS, sizeof *names);
    if (!names)
        return ls__err(LS_ENOMEM, "out of memory");
    size_t n = 0;
    for (unsigned bit = 0; p < end && bit < LS_MAILBOX_MAX_KEYWORDS; bit++) {
        size_t l = strnlen(p, (size_t)(end - p));
        if (out->keywords[bit / 64] >> (bit % 64) & 1)
            names[n++] = strndup(p, l);
        p += l + 1;
    }
    *kwnames = names;
    *nkw = n;
    return LS_OK;
}

int ls__backup_restore_user_state(ls_backup *b, ls_txn *t, const uint8_t uuid[LS_UUID_LEN], ls_rctx *rx,
                                 const char *name)
{
    MDB_cursor *c;
    if (mdb_cursor_open(b->txn, b->seen, &c))
        return LS_OK;
    MDB_val k = { LS_UUID_LEN, (void *)uuid }, v;
    int rc = LS_OK;
    for (int mrc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); !rc && mrc == 0; mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size < LS_UUID_LEN || memcmp(k.mv_data, uuid, LS_UUID_LEN))
            break;
        MDB_val cur;
        if (ls__db_get(t, LS_DB_SEEN, k.mv_data, k.mv_size, &cur) == LS_ENOTFOUND) {
            rc = ls__db_put(t, LS_DB_SEEN, k.mv_data, k.mv_size, v.mv_data, v.mv_size, 0);
            ls__say(rx, "%s: seen state of %.*s restored from the backup", name, (int)(k.mv_size - LS_UUID_LEN),
                   (const char *)k.mv_data + LS_UUID_LEN);
        }
    }
    mdb_cursor_close(c);
    ls_error_clear();
    return rc;
}

int ls__backup_restore_subs(ls_backup *b, ls_txn *t, ls_rctx *rc_ctx)
{
    MDB_cursor *c;
    if (mdb_cursor_open(b->txn, b->subs, &c))
        return LS_OK;
    MDB_val k, v;
    int rc = LS_OK;
    for (int mrc = mdb_cursor_get(c, &k, &v, MDB_FIRST); !rc && mrc == 0; mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        MDB_val cur;
        if (ls__db_get(t, LS_DB_SUBS, k.mv_data, k.mv_size, &cur) == LS_OK)
            continue;
        rc = ls__db_put(t, LS_DB_SUBS, k.mv_data, k.mv_size, "", 0, 0);
        size_t ul = strnlen(k.mv_data, k.mv_size);
        if (ul < k.mv_size)
            ls__say(rc_ctx, "subscription of %.*s to %.*s restored from the backup", (int)ul, (const char *)k.mv_data,
                   (int)(k.mv_size - ul - 1), (const char *)k.mv_data + ul + 1);
    }
    mdb_cursor_close(c);
    ls_error_clear();
    return rc;
}

int ls__backup_mailbox(ls_backup *b, const uint8_t uuid[LS_UUID_LEN], ls_hdrinfo *out)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < LS_QUOTA_NRESOURCES; i++)
        out->quota[i] = LS_QUOTA_UNLIMITED;
    if (!b->has_list)
        return LS_ENOTFOUND;
    MDB_val k = { LS_UUID_LEN, (void *)uuid }, v;
    if (mdb_get(b->txn, b->byuuid, &k, &v) != 0)
        return LS_ENOTFOUND;
    MDB_val nk = v, ev;
    ls_mbentry e;
    if (mdb_get(b->txn, b->mailboxes, &nk, &ev) != 0 || ls__mbentry_decode(ev.mv_data, ev.mv_size, &e) != LS_OK ||
        memcmp(e.uuid, uuid, LS_UUID_LEN)) {
        ls_error_clear();
        return LS_ENOTFOUND;
    }
    int rc = LS_OK;
    char us[37];
    ls__uuid_format(uuid, us);
    out->name = strndup(nk.mv_data, nk.mv_size);
    out->uniqueid = strdup(us);
    out->partition = strdup(e.partition);
    out->acl = strdup(e.acl ? e.acl : "");
    out->uidvalidity = e.uidvalidity;
    ls__mbentry_clear(&e);
    if (!out->name || !out->uniqueid || !out->partition || !out->acl)
        rc = ls__err(LS_ENOMEM, "out of memory");
    ls_mbstate s;
    if (!rc && mdb_get(b->txn, b->mbstate, &k, &v) == 0 && ls__mbstate_decode(v.mv_data, v.mv_size, &s) == LS_OK) {
        out->uidnext = s.uidnext;
        out->highestmodseq = s.highestmodseq > s.privmodseq ? s.highestmodseq : s.privmodseq;
        if (s.modseqmark > out->highestmodseq)
            out->highestmodseq = s.modseqmark;
    }
    ls_qrec q;
    if (!rc && mdb_get(b->txn, b->quota, &nk, &v) == 0 && ls__qrec_decode(v.mv_data, v.mv_size, &q) == LS_OK) {
        out->has_quota = 1;
        memcpy(out->quota, q.limit, sizeof out->quota);
    }
    MDB_cursor *c;
    if (!rc && mdb_cursor_open(b->txn, b->annot, &c) == 0) {
        MDB_val ak = { LS_UUID_LEN, (void *)uuid };
        for (int mrc = mdb_cursor_get(c, &ak, &v, MDB_SET_RANGE); !rc && mrc == 0;
             mrc = mdb_cursor_get(c, &ak, &v, MDB_NEXT)) {
            if (ak.mv_size < LS_UUID_LEN || memcmp(ak.mv_data, uuid, LS_UUID_LEN))
                break;
            const char *en = (const char *)ak.mv_data + LS_UUID_LEN;
            size_t rest = ak.mv_size - LS_UUID_LEN, el = strnlen(en, rest);
            if (el == rest)
                continue;
            ls_hdr_annot *na = realloc(out->annots, (out->nannots + 1) * sizeof *na);
            if (!na) {
                rc = ls__err(LS_ENOMEM, "out of memory");
                break;
            }
            out->annots = na;
            na[out->nannots].entry = strndup(en, el);
            na[out->nannots].user = strndup(en + el + 1, rest - el - 1);
            na[out->nannots].value = strndup(v.mv_data, v.mv_size);
            out->nannots++;
        }
        mdb_cursor_close(c);
    }
    ls_error_clear();
    if (rc)
        ls__hdr_free(out);
    return rc;
}
