/* Private seen state (see seen.h). */
#include "model/seen.h"
#include "model/names.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static void put32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static uint32_t get32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

const char *ls__seen_user(const ls_session *s, const char *name)
{
    if (!s->identity)
        return NULL; /* no identity: the owner's state */
    char *owner = NULL;
    int owned = ls__name_owner(name, s->st->cfg->sep, &owner);
    int mine = owned && !strcmp(owner, s->identity);
    free(owner);
    return mine ? NULL : s->identity;
}

static size_t make_key(uint8_t *k, const uint8_t uuid[LS_UUID_LEN], const char *user)
{
    size_t ul = strlen(user);
    memcpy(k, uuid, LS_UUID_LEN);
    memcpy(k + LS_UUID_LEN, user, ul);
    return LS_UUID_LEN + ul;
}

static int decode(const uint8_t *p, size_t len, ls_seen *out)
{
    memset(out, 0, sizeof *out);
    if (len < 28 || p[0] != 1)
        return ls__err(LS_ECORRUPT, "seen state: bad size or version");
    uint32_t n = get32(p + 12);
    if ((uint64_t)24 + (uint64_t)n * 8 + 4 != len || get32(p + len - 4) != (uint32_t)crc32(0L, p, (uInt)(len - 4)))
        return ls__err(LS_ECORRUPT, "seen state: damaged");
    out->recentuid = get32(p + 4);
    out->count = get32(p + 8);
    out->modseq = (uint64_t)get32(p + 16) | (uint64_t)get32(p + 20) << 32;
    out->r = malloc((n ? n : 1) * sizeof *out->r);
    if (!out->r)
        return ls__err(LS_ENOMEM, "out of memory");
    out->cap = n ? n : 1;
    for (uint32_t i = 0; i < n; i++) {
        out->r[i].lo = get32(p + 24 + 8 * i);
        out->r[i].hi = get32(p + 28 + 8 * i);
    }
    out->n = n;
    return LS_OK;
}

int ls__seen_load(ls_txn *t, const uint8_t uuid[LS_UUID_LEN], const char *user, ls_seen *out)
{
    memset(out, 0, sizeof *out);
    uint8_t k[LS_UUID_LEN + LS_NAME_BUF];
    if (strlen(user) >= LS_NAME_BUF)
        return ls__err(LS_EBADNAME, "user name too long");
    size_t kl = make_key(k, uuid, user);
    MDB_val v;
    int rc = ls__db_get(t, LS_DB_SEEN, k, kl, &v);
    if (rc == LS_ENOTFOUND)
        return LS_OK;
    if (rc)
        return rc;
    if ((rc = decode(v.mv_data, v.mv_size, out)) == LS_ECORRUPT) {
        /* damaged private seen state: start afresh rather than fail every read */
        ls_error_clear();
        memset(out, 0, sizeof *out);
        return LS_OK;
    }
    return rc;
}

int ls__seen_save(ls_txn *t, const uint8_t uuid[LS_UUID_LEN], const char *user, const ls_seen *sn)
{
    uint8_t k[LS_UUID_LEN + LS_NAME_BUF];
    size_t kl = make_key(k, uuid, user);
    size_t len = 24 + sn->n * 8 + 4;
    uint8_t *b = malloc(len);
    if (!b)
        return ls__err(LS_ENOMEM, "out of memory");
    memset(b, 0, 24);
    b[0] = 1;
    put32(b + 4, sn->recentuid);
    put32(b + 8, sn->count);
    put32(b + 12, (uint32_t)sn->n);
    put32(b + 16, (uint32_t)sn->modseq);
    put32(b + 20, (uint32_t)(sn->modseq >> 32));
    for (size_t i = 0; i < sn->n; i++) {
        put32(b + 24 + 8 * i, sn->r[i].lo);
        put32(b + 28 + 8 * i, sn->r[i].hi);
    }
    put32(b + len - 4, (uint32_t)crc32(0L, b, (uInt)(len - 4)));
    int rc = ls__db_put(t, LS_DB_SEEN, k, kl, b, len, 0);
    free(b);
    return rc;
}

void ls__seen_free(ls_seen *sn)
{
    free(sn->r);
    memset(sn, 0, sizeof *sn);
}

/* Index of the first range with hi >= uid. */
static size_t find(const ls_seen *sn, uint32_t uid)
{
    size_t lo = 0, hi = sn->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (sn->r[mid].hi < uid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int ls__seen_has(const ls_seen *sn, uint32_t uid)
{
    size_t i = find(sn, uid);
    return i < sn->n && sn->r[i].lo <= uid;
}

static int reserve(ls_seen *sn, size_t need)
{
    if (need <= sn->cap)
        return 0;
    size_t cap = sn->cap ? sn->cap * 2 : 8;
    while (cap < need)
        cap *= 2;
    ls_range *nr = realloc(sn->r, cap * sizeof *nr);
    if (!nr)
        return ls__err(LS_ENOMEM, "out of memory");
    sn->r = nr;
    sn->cap = cap;
    return 0;
}

int ls__seen_put(ls_seen *sn, uint32_t uid, int on)
{
    size_t i = find(sn, uid);
    int has = i < sn->n && sn->r[i].lo <= uid;
    if (has == !!on)
        return 0;
    if (on) {
        int join_prev = i > 0 && sn->r[i - 1].hi + 1 == uid;
        int join_next = i < sn->n && sn->r[i].lo == uid + 1;
        if (join_prev && join_next) {
            sn->r[i - 1].hi = sn->r[i].hi;
            memmove(&sn->r[i], &sn->r[i + 1], (sn->n - i - 1) * sizeof *sn->r);
            sn->n--;
        } else if (join_prev) {
            sn->r[i - 1].hi = uid;
        } else if (join_next) {
            sn->r[i].lo = uid;
        } else {
            if (reserve(sn, sn->n + 1))
                return LS_ENOMEM;
            memmove(&sn->r[i + 1], &sn->r[i], (sn->n - i) * sizeof *sn->r);
            sn->r[i] = (ls_range){ uid, uid };
            sn->n++;
        }
        return 1;
    }
    ls_range *r = &sn->r[i];
    if (r->lo == uid && r->hi == uid) {
        memmove(&sn->r[i], &sn->r[i + 1], (sn->n - i - 1) * sizeof *sn->r);
        sn->n--;
    } else if (r->lo == uid) {
        r->lo++;
    } else if (r->hi == uid) {
        r->hi--;
    } else {
        if (reserve(sn, sn->n + 1))
            return LS_ENOMEM;
        r = &sn->r[i];
        memmove(&sn->r[i + 1], &sn->r[i], (sn->n - i) * sizeof *sn->r);
        sn->r[i].hi = uid - 1;
        sn->r[i + 1].lo = uid + 1;
        sn->n++;
    }
    return 1;
}

/* Collect the keys of table "seen" matching a predicate, for rewriting. */
typedef struct keylist { MDB_val *k; size_t n, cap; } keylist;
static int keys_add(keylist *l, const MDB_val *k)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        MDB_val *nk = realloc(l->k, l->cap * sizeof *nk);
        if (!nk)
            return ls__err(LS_ENOMEM, "out of memory");
        l->k = nk;
    }
    void *d = malloc(k->mv_size);
    if (!d)
        return ls__err(LS_ENOMEM, "out of memory");
    memcpy(d, k->mv_data, k->mv_size);
    l->k[l->n].mv_data = d;
    l->k[l->n++].mv_size = k->mv_size;
    return LS_OK;
}
static void keys_free(keylist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->k[i].mv_data);
    free(l->k);
}

/* Call fn on every user's row of mailbox uuid (keys collected first: no
 * writes under the walking cursor); a row fn changed (returns 1) is saved. */
typedef int (*row_fn)(ls_seen *sn, void *arg);
static int foreach_row(ls_txn *t, const uint8_t uuid[LS_UUID_LEN], row_fn fn, void *arg)
{
    MDB_cursor *c;
    int rc = ls__db_cursor(t, LS_DB_SEEN, &c);
    if (rc)
        return rc;
    keylist l = { 0 };
    MDB_val k = { LS_UUID_LEN, (void *)uuid }, v;
    for (int mrc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); !rc && mrc == 0; mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size < LS_UUID_LEN || memcmp(k.mv_data, uuid, LS_UUID_LEN))
            break;
        rc = keys_add(&l, &k);
    }
    ls__db_cursor_close(c);
    for (size_t i = 0; !rc && i < l.n; i++) {
        char user[LS_NAME_BUF];
        size_t ul = l.k[i].mv_size - LS_UUID_LEN;
        if (ul >= sizeof user)
            continue;
        memcpy(user, (char *)l.k[i].mv_data + LS_UUID_LEN, ul);
        user[ul] = 0;
        ls_seen sn;
        if ((rc = ls__seen_load(t, uuid, user, &sn)))
            break;
        int ch = fn(&sn, arg);
        if (ch < 0)
            rc = ch;
        else if (ch)
            rc = ls__seen_save(t, uuid, user, &sn);
        ls__seen_free(&sn);
    }
    keys_free(&l);
    return rc;
}

struct uids_arg { const uint32_t *uids; size_t n; };
static int forget_in_row(ls_seen *sn, void *arg)
{
    struct uids_arg *a = arg;
    int changed = 0;
    for (size_t j = 0; j < a->n; j++) {
        int ch = ls__seen_put(sn, a->uids[j], 0);
        if (ch < 0)
            return ch;
        if (ch) {
            changed = 1;
            if (sn->count)
                sn->count--;
        }
    }
    return changed;
}

int ls__seen_forget_uids(ls_txn *t, const uint8_t uuid[LS_UUID_LEN], const uint32_t *uids, size_t n)
{
    struct uids_arg a = { uids, n };
    return n ? foreach_row(t, uuid, forget_in_row, &a) : LS_OK;
}

static int rewrite_user(ls_txn *t, const char *from, const char *to)
{
    size_t fl = strlen(from);
    MDB_cursor *c;
    int rc = ls__db_cursor(t, LS_DB_SEEN, &c);
    if (rc)
        return rc;
    keylist l = { 0 };
    MDB_val k, v;
    for (int mrc = mdb_cursor_get(c, &k, &v, MDB_FIRST); !rc && mrc == 0; mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
        if (k.mv_size == LS_UUID_LEN + fl && !memcmp((char *)k.mv_data + LS_UUID_LEN, from, fl))
            rc = keys_add(&l, &k);
    ls__db_cursor_close(c);
    for (size_t i = 0; !rc && i < l.n; i++) {
        if (to) {
            MDB_val val;
            if ((rc = ls__db_get(t, LS_DB_SEEN, l.k[i].mv_data, l.k[i].mv_size, &val)))
                break;
            void *copy = malloc(val.mv_size ? val.mv_size : 1);
            if (!copy) {
                rc = ls__err(LS_ENOMEM, "out of memory");
                break;
            }
            memcpy(copy, val.mv_data, val.mv_size);
            uint8_t nk[LS_UUID_LEN + LS_NAME_BUF];
            size_t nkl = make_key(nk, l.k[i].mv_data, to);
            rc = ls__db_put(t, LS_DB_SEEN, nk, nkl, copy, val.mv_size, 0);
            free(copy);
        }
        if (!rc)
            rc = ls__db_del(t, LS_DB_SEEN, l.k[i].mv_data, l.k[i].mv_size, NULL, 0);
    }
    keys_free(&l);
    return rc;
}

/* Drop the per-message private MODSEQs of `user` everywhere (a full scan;
 * rare). Losing them only lowers what that user sees to the records' own. */
static int drop_modseqs(ls_txn *t, const char *user)
{
    size_t ul = strlen(user);
    MDB_cursor *c;
    int rc = ls__db_cursor(t, LS_DB_SEENMOD, &c);
    if (rc)
        return rc;
    keylist l = { 0 };
    MDB_val k, v;
    for (int mrc = mdb_cursor_get(c, &k, &v, MDB_FIRST); !rc && mrc == 0; mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
        if (k.mv_size == LS_UUID_LEN + ul + 5 && !memcmp((char *)k.mv_data + LS_UUID_LEN, user, ul) &&
            ((char *)k.mv_data)[LS_UUID_LEN + ul] == 0)
            rc = keys_add(&l, &k);
    ls__db_cursor_close(c);
    for (size_t i = 0; !rc && i < l.n; i++)
        rc = ls__db_del(t, LS_DB_SEENMOD, l.k[i].mv_data, l.k[i].mv_size, NULL, 0);
    keys_free(&l);
    return rc;
}

int ls__seen_forget_user(ls_txn *t, const char *user)
{
    int rc = rewrite_user(t, user, NULL);
    return rc ? rc : drop_modseqs(t, user);
}

int ls__seen_rename_user(ls_txn *t, const char *from, const char *to)
{
    int rc = rewrite_user(t, from, to);
    return rc ? rc : drop_modseqs(t, from);
}

static size_t modkey(uint8_t *k, const uint8_t uuid[LS_UUID_LEN], const char *user, uint32_t uid)
{
    size_t ul = strlen(user);
    memcpy(k, uuid, LS_UUID_LEN);
    memcpy(k + LS_UUID_LEN, user, ul);
    k[LS_UUID_LEN + ul] = 0;
    ls__be32(k + LS_UUID_LEN + ul + 1, uid);
    return LS_UUID_LEN + ul + 5;
}

uint64_t ls__seen_modseq(ls_txn *t, const uint8_t uuid[LS_UUID_LEN], const char *user, const ls_seen *sn,
                        uint32_t uid, uint64_t record_modseq)
{
    /* only a user whose private changes are newer than the record can see
     * another MODSEQ: most records need no lookup at all */
    if (!sn || sn->modseq <= record_modseq || strlen(user) >= LS_NAME_BUF)
        return record_modseq;
    uint8_t k[LS_UUID_LEN + LS_NAME_BUF + 5];
    size_t kl = modkey(k, uuid, user, uid);
    MDB_val v;
    if (ls__db_get(t, LS_DB_SEENMOD, k, kl, &v) != LS_OK || v.mv_size != 8)
        return record_modseq;
    uint64_t m = 0;
    for (int i = 7; i >= 0; i--)
        m = m << 8 | ((const uint8_t *)v.mv_data)[i];
    return m > record_modseq ? m : record_modseq;
}

int ls__seen_modseq_put(ls_txn *t, const uint8_t uuid[LS_UUID_LEN], const char *user, uint32_t uid, uint64_t modseq)
{
    uint8_t k[LS_UUID_LEN + LS_NAME_BUF + 5], v[8];
    if (strlen(user) >= LS_NAME_BUF)
        return ls__err(LS_EBADNAME, "user name too long");
    size_t kl = modkey(k, uuid, user, uid);
    for (int i = 0; i < 8; i++)
        v[i] = (uint8_t)(modseq >> (8 * i));
    return ls__db_put(t, LS_DB_SEENMOD, k, kl, v, 8, 0);
}

struct renumber_arg { uint32_t from, to; };
static int renumber_in_row(ls_seen *sn, void *arg)
{
    struct renumber_arg *a = arg;
    if (!ls__seen_has(sn, a->from))
        return 0;
    /* the message is the same: membership moves, the count stays */
    if (ls__seen_put(sn, a->from, 0) < 0 || ls__seen_put(sn, a->to, 1) < 0)
        return ls__err(LS_ENOMEM, "out of memory");
    return 1;
}

int ls__seen_renumber(ls_txn *t, const uint8_t uuid[LS_UUID_LEN], uint32_t from, uint32_t to)
{
    struct renumber_arg a = { from, to };
    return foreach_row(t, uuid, renumber_in_row, &a);
}
