/* The pending-removal queue (see pending.h). */
#include "model/pending.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct hold { uint8_t uuid[LS_UUID_LEN]; uint32_t from; } hold;
static __thread hold *holds;
static __thread size_t nholds;

void ls__pending_hold(ls_store *st, const uint8_t uuid[LS_UUID_LEN], uint32_t from_uid)
{
    (void)st;
    hold *nh = realloc(holds, (nholds + 1) * sizeof *nh);
    if (!nh)
        return;
    holds = nh;
    memcpy(holds[nholds].uuid, uuid, LS_UUID_LEN);
    holds[nholds++].from = from_uid;
}

void ls__pending_hold_clear(ls_store *st)
{
    (void)st;
    free(holds);
    holds = NULL;
    nholds = 0;
}

static int held_back(const uint8_t *uuid, uint32_t uid)
{
    for (size_t i = 0; i < nholds; i++)
        if (!memcmp(holds[i].uuid, uuid, LS_UUID_LEN) && uid >= holds[i].from)
            return 1;
    return 0;
}

/* Value: type u8 | 3 reserved | uid u32 BE | txnid u64 BE | uuid 16 | partition bytes */
#define PV_FIXED 32

int ls__pending_add(ls_txn *t, int type, const ls_mbref *ref, uint32_t uid)
{
    uint8_t key[8], val[PV_FIXED + 64];
    MDB_cursor *c;
    MDB_val k, v;
    uint64_t seq = 1;
    int rc = ls__db_cursor(t, LS_DB_PENDING, &c);
    if (rc)
        return rc;
    if (mdb_cursor_get(c, &k, &v, MDB_LAST) == 0 && k.mv_size == 8)
        seq = ls__rd_be64(k.mv_data) + 1;
    ls__db_cursor_close(c);
    ls__be64(key, seq);
    size_t plen = strlen(ref->partition);
    if (plen > 63)
        return ls__err(LS_EINVAL, "partition name too long");
    memset(val, 0, PV_FIXED);
    val[0] = (uint8_t)type;
    ls__be32(val + 4, uid);
    ls__be64(val + 8, (uint64_t)mdb_txn_id(t->txn));
    memcpy(val + 16, ref->uuid, LS_UUID_LEN);
    memcpy(val + PV_FIXED, ref->partition, plen);
    return ls__db_put(t, LS_DB_PENDING, key, 8, val, PV_FIXED + plen, 0);
}

/* The oldest transaction a live reader of any process still sees, or
 * UINT64_MAX when there are none. Parsed from mdb_reader_list, which is the
 * only public way LMDB offers to see other processes' readers. */
struct oldest { uint64_t txnid; };
static int reader_line(const char *msg, void *ctx)
{
    struct oldest *o = ctx;
    unsigned long pid, tid;
    char txn[32];
    if (sscanf(msg, "%lu %lx %31s", &pid, &tid, txn) == 3 && strcmp(txn, "-") != 0) {
        uint64_t id = strtoull(txn, NULL, 10);
        if (id && id < o->txnid)
            o->txnid = id;
    }
    return 0;
}

static uint64_t oldest_reader(ls_env *e)
{
    int dead;
    mdb_reader_check(e->env, &dead);
    struct oldest o = { UINT64_MAX };
    mdb_reader_list(e->env, reader_line, &o);
    return o.txnid;
}

typedef struct pend {
    uint8_t key[8];
    int type;
    uint32_t uid;
    uint64_t txnid;
    ls_mbref ref;
    char partition[64];
} pend;

struct del_args { pend *p; size_t n; };
static int delete_entries(ls_txn *t, void *arg)
{
    struct del_args *a = arg;
    for (size_t i = 0; i < a->n; i++) {
        int rc = ls__db_del(t, LS_DB_PENDING, a->p[i].key, 8, NULL, 0);
        if (rc)
            return rc;
    }
    return LS_OK;
}

int ls__pending_run(ls_store *st, int force, int only, uint64_t max_txnid, uint64_t *done)
{
    ls_txn t;
    int rc = ls__txn_read(st->env, &t);
    if (rc)
        return rc;
    uint64_t limit = force ? UINT64_MAX : oldest_reader(st->env);
    pend *list = NULL;
    size_t n = 0, cap = 0;
    MDB_cursor *c;
    MDB_val k, v;
    rc = ls__db_cursor(&t, LS_DB_PENDING, &c);
    for (int op = MDB_FIRST; !rc && mdb_cursor_get(c, &k, &v, op) == 0; op = MDB_NEXT) {
        const uint8_t *p = v.mv_data;
        if (k.mv_size != 8 || v.mv_size < PV_FIXED || v.mv_size > PV_FIXED + 63)
            continue;
        uint64_t txnid = ls__rd_be64(p + 8);
        /* A reader whose snapshot predates the transaction that queued the
         * removal (its txnid is below that one) may still read the files.
         * Our own scan's snapshot is newer, so it never holds anything up. */
        if (!force && txnid > limit)
            continue;
        if ((only && p[0] != only) || (max_txnid && txnid > max_txnid))
            continue;
        if (p[0] == LS_PENDING_EXPUNGED && held_back(p + 16, ls__rd_be32(p + 4)))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            pend *nl = realloc(list, cap * sizeof *nl);
            if (!nl) {
                rc = ls__err(LS_ENOMEM, "out of memory");
                break;
            }
            list = nl;
        }
        pend *e = &list[n++];
        memcpy(e->key, k.mv_data, 8);
        e->type = p[0];
        e->uid = ls__rd_be32(p + 4);
        e->txnid = txnid;
        memcpy(e->partition, p + PV_FIXED, v.mv_size - PV_FIXED);
        e->partition[v.mv_size - PV_FIXED] = 0;
        ls__mbref_set(&e->ref, p + 16, e->partition);
    }
    ls__db_cursor_close(c);
    ls__txn_end(&t);
    /* Removals are idempotent: a crash here repeats them next time. One on
     * an unavailable partition (not mounted) stays queued for when it is
     * back, and does not hold up the others; it is the result. */
    size_t kept = 0;
    int unavailable = LS_OK;
    char why[1024] = "";
    for (size_t i = 0; !rc && i < n; i++) {
        pend *e = &list[i];
        e->ref.partition = e->partition;
        if (e->type == LS_PENDING_EXPUNGED)
            rc = st->layout->ops->remove_expunged(st->layout, &e->ref, e->uid);
        else if (e->type == LS_PENDING_DESTROY)
            rc = st->layout->ops->mailbox_destroy(st->layout, &e->ref);
        if (rc == LS_EUNAVAILABLE) {
            if (!unavailable)
                snprintf(why, sizeof why, "%s", ls_error_last());
            unavailable = rc;
            rc = LS_OK;
            continue;
        }
        list[kept++] = *e;
    }
    n = kept;
    if (!rc && n) {
        struct del_args a = { list, n };
        rc = ls__env_write(st->env, LS_SYNC_RESERVE, delete_entries, &a);
    }
    if (done)
        *done = rc ? 0 : n;
    free(list);
    if (!rc && unavailable)
        rc = ls__err(unavailable, "%s; its file removals stay queued", why);
    return rc;
}

int ls__pending_count(ls_store *st, uint64_t *n)
{
    ls_txn t;
    int rc = ls__txn_read(st->env, &t);
    if (rc)
        return rc;
    MDB_stat s;
    rc = mdb_stat(t.txn, st->env->dbi[LS_DB_PENDING], &s);
    *n = rc ? 0 : s.ms_entries;
    ls__txn_end(&t);
    return rc ? ls__err_mdb(rc, "stat") : LS_OK;
}
