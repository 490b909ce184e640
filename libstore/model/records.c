/* Index records of one mailbox; keyword names. */
#include "model/records.h"

#include <stdlib.h>
#include <string.h>

int ls__rec_get(ls_txn *t, const uint8_t uuid[LS_UUID_LEN], uint32_t uid, ls_irec *r)
{
    uint8_t k[LS_RECKEY_LEN];
    ls__reckey(k, uuid, uid);
    MDB_val v;
    int rc = ls__db_get(t, LS_DB_RECORDS, k, sizeof k, &v);
    if (rc == LS_ENOTFOUND)
        return ls__err(LS_ENOTFOUND, "no message with UID %u", uid);
    return rc ? rc : ls__irec_decode(v.mv_data, v.mv_size, r);
}

int ls__rec_put(ls_txn *t, const uint8_t uuid[LS_UUID_LEN], const ls_irec *r)
{
    uint8_t k[LS_RECKEY_LEN], v[LS_RECORD_SIZE];
    ls__reckey(k, uuid, r->uid);
    ls__irec_encode(r, v);
    return ls__db_put(t, LS_DB_RECORDS, k, sizeof k, v, sizeof v, 0);
}

int ls__rec_foreach(ls_txn *t, const uint8_t uuid[LS_UUID_LEN], uint32_t from, ls_rec_cb cb, void *arg)
{
    MDB_cursor *c;
    int rc = ls__db_cursor(t, LS_DB_RECORDS, &c);
    if (rc)
        return rc;
    uint8_t k0[LS_RECKEY_LEN];
    ls__reckey(k0, uuid, from);
    MDB_val k = { sizeof k0, k0 }, v;
    int mrc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    while (mrc == 0) {
        if (k.mv_size != LS_RECKEY_LEN || memcmp(k.mv_data, uuid, LS_UUID_LEN) != 0)
            break;
        uint32_t uid = ls__rd_be32((const uint8_t *)k.mv_data + LS_UUID_LEN);
        ls_irec r;
        int ok = ls__irec_decode(v.mv_data, v.mv_size, &r) == LS_OK && r.uid == uid;
        rc = cb(uid, ok ? &r : NULL, &v, arg);
        if (rc)
            break;
        mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }
    if (mrc && mrc != MDB_NOTFOUND)
        rc = ls__txn_fail(t, mrc, "reading records");
    ls__db_cursor_close(c);
    return rc;
}

void ls__state_add(ls_mbstate *s, const ls_irec *r, int sign)
{
    if (r->sysflags & LS_REC_EXPUNGED)
        return;
    uint32_t d = sign > 0 ? 1u : (uint32_t)-1;
    s->exists += d;
    s->size += sign > 0 ? r->size : -r->size;
    if (!(r->sysflags & LS_FLAG_SEEN))
        s->unseen += d;
    if (r->sysflags & LS_FLAG_DELETED)
        s->deleted += d;
    if (r->sysflags & LS_FLAG_FLAGGED)
        s->flagged += d;
    if (r->sysflags & LS_FLAG_ANSWERED)
        s->answered += d;
    if (r->uid > s->recentuid)
        s->recent += d;
}

int ls__keywords_load(ls_txn *t, const uint8_t uuid[LS_UUID_LEN], char ***names, size_t *n)
{
    *names = NULL;
    *n = 0;
    MDB_val v;
    int rc = ls__db_get(t, LS_DB_KEYWORDS, uuid, LS_UUID_LEN, &v);
    if (rc == LS_ENOTFOUND)
        return LS_OK;
    if (rc)
        return rc;
    const char *p = v.mv_data, *end = p + v.mv_size;
    size_t cnt = 0;
    for (const char *q = p; q < end; q++)
        cnt += *q == 0;
    if (cnt > LS_MAILBOX_MAX_KEYWORDS || (v.mv_size && end[-1] != 0))
        return ls__err(LS_ECORRUPT, "keyword table malformed");
    char **a = calloc(cnt ? cnt : 1, sizeof *a);
    if (!a)
        return ls__err(LS_ENOMEM, "out of memory");
    for (size_t i = 0; i < cnt; i++) {
        a[i] = strdup(p);
        if (!a[i]) {
            ls__keywords_free(a, i);
            return ls__err(LS_ENOMEM, "out of memory");
        }
        p += strlen(p) + 1;
    }
    *names = a;
    *n = cnt;
    return LS_OK;
}

void ls__keywords_free(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

int ls__keywords_bits(ls_txn *t, const uint8_t uuid[LS_UUID_LEN], const char *const *kw, size_t n,
                     int add, uint64_t bits[2])
{
    bits[0] = bits[1] = 0;
    if (n == 0)
        return LS_OK;
    char **names;
    size_t cnt;
    int rc = ls__keywords_load(t, uuid, &names, &cnt);
    if (rc)
        return rc;
    int added = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        size_t j;
        /* keywords compare case-insensitively (RFC 3501 flags are atoms; Cyrus
         * and Dovecot treat them case-insensitively); the first spelling wins */
        for (j = 0; j < cnt; j++)
            if (!strcasecmp(names[j], kw[i]))
                break;
        if (j == cnt) {
            if (!add)
                continue;
            if (cnt >= LS_MAILBOX_MAX_KEYWORDS) {
                rc = ls__err(LS_ELIMIT, "mailbox already has %d keywords; cannot add '%s'", LS_MAILBOX_MAX_KEYWORDS, kw[i]);
                break;
            }
            char **nn = realloc(names, (cnt + 1) * sizeof *nn);
            if (!nn || !(nn[cnt] = strdup(kw[i]))) {
                if (nn)
                    names = nn;
                rc = ls__err(LS_ENOMEM, "out of memory");
                break;
            }
            names = nn;
            cnt++;
            added = 1;
        }
        bits[j / 64] |= 1ull << (j % 64);
    }
    if (!rc && added) {
        size_t total = 0;
        for (size_t j = 0; j < cnt; j++)
            total += strlen(names[j]) + 1;
        char *buf = malloc(total), *p = buf;
        if (!buf) {
            rc = ls__err(LS_ENOMEM, "out of memory");
        } else {
            for (size_t j = 0; j < cnt; j++) {
                size_t l = strlen(names[j]) + 1;
                memcpy(p, names[j], l);
                p += l;
            }
            rc = ls__db_put(t, LS_DB_KEYWORDS, uuid, LS_UUID_LEN, buf, total, 0);
            free(buf);
        }
    }
    ls__keywords_free(names, cnt);
    return rc;
}

int ls__rec_update(ls_txn *t, const uint8_t uuid[LS_UUID_LEN], const ls_set *uids, ls_rec_update_cb cb, void *arg)
{
    MDB_cursor *c;
    int rc = ls__db_cursor(t, LS_DB_RECORDS, &c);
    if (rc)
        return rc;
    uint32_t from = uids && uids->n ? uids->r[0].lo : 1;
    uint32_t last = uids && uids->n ? uids->r[uids->n - 1].hi : UINT32_MAX;
    uint8_t k0[LS_RECKEY_LEN];
    ls__reckey(k0, uuid, from ? from : 1);
    MDB_val k = { sizeof k0, k0 }, v;
    int mrc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    while (mrc == 0 && !rc) {
        if (k.mv_size != LS_RECKEY_LEN || memcmp(k.mv_data, uuid, LS_UUID_LEN) != 0)
            break;
        uint32_t uid = ls__rd_be32((const uint8_t *)k.mv_data + LS_UUID_LEN);
        if (uid > last)
            break;
        ls_irec r;
        if ((!uids || ls_set_contains(uids, uid)) && ls__irec_decode(v.mv_data, v.mv_size, &r) == LS_OK &&
            !(r.sysflags & LS_REC_EXPUNGED)) {
            int ch = cb(&r, arg);
            if (ch < 0) {
                rc = ch;
                break;
            }
            if (ch > 0) {
                uint8_t buf[LS_RECORD_SIZE];
                ls__irec_encode(&r, buf);
                MDB_val nv = { sizeof buf, buf };
                /* same size, same key: an in-place overwrite */
                if ((mrc = mdb_cursor_put(c, &k, &nv, MDB_CURRENT))) {
                    rc = ls__txn_fail(t, mrc, "updating a record");
                    break;
                }
            }
        }
        mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }
    if (!rc && mrc && mrc != MDB_NOTFOUND)
        rc = ls__txn_fail(t, mrc, "reading records");
    ls__db_cursor_close(c);
    return rc;
}
