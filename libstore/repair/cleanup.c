/*
 * cleanup: finish what expunge and delete left for later.
 *  1. For every mailbox with expunged files waiting, rewrite store.header
 *     first, so its UIDNEXT/HIGHESTMODSEQ high-water marks cover the UIDs
 *     about to vanish from disk (a rebuild from files never reuses them).
 *  2. Remove the files the pending table lists, once no reader predates them.
 *  3. Remove stale staged files.
 *  4. Drop tombstones expunged more than tombstone_age seconds ago, raising
 *     the mailbox's deletedmodseq (QRESYNC can then no longer list them).
 */
#include "store_impl.h"
#include "model/pending.h"
#include "model/records.h"
#include "repair/header.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STAGED_MAX_AGE 3600   /* a staged file older than this has no writer */

static uint32_t header_uidnext(ls_store *st, const ls_mbox *m);

/* Rewrite store.header of every mailbox with expunged files waiting. On a
 * full partition a header may not fit: then only that mailbox's removals of
 * UIDs the old header does not cover yet must wait (they are skipped by
 * pending_run through `hold`), the others free room, and a second pass
 * completes the work. */
static int refresh_headers(ls_store *st, int *held, uint64_t *seen_txnid)
{
    *held = 0;
    ls_txn t;
    int rc = ls__txn_read(st->env, &t);
    if (rc)
        return rc;
    /* removals queued later than this snapshot were not covered: skip them */
    *seen_txnid = (uint64_t)mdb_txn_id(t.txn);
    MDB_cursor *c;
    MDB_val k, v;
    uint8_t last[LS_UUID_LEN] = { 0 };
    rc = ls__db_cursor(&t, LS_DB_PENDING, &c);
    for (int mrc = rc ? MDB_NOTFOUND : mdb_cursor_get(c, &k, &v, MDB_FIRST); !rc && mrc == 0;
         mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        const uint8_t *p = v.mv_data;
        if (v.mv_size < 32 || p[0] != LS_PENDING_EXPUNGED || !memcmp(last, p + 16, LS_UUID_LEN))
            continue;
        memcpy(last, p + 16, LS_UUID_LEN);
        ls_mbox m;
        if (ls__mbox_load_uuid(&t, last, &m) == LS_OK) {
            rc = ls__header_write(st, &m);
            if (rc == LS_EUNAVAILABLE) {
                /* not mounted: its removals wait (ls__pending_run keeps them) */
                ls__mbox_clear(&m);
                rc = LS_OK;
                continue;
            }
            if (rc == LS_ENOSPC && st->layout->ops->reserve_release(st->layout, m.entry.partition))
                rc = ls__header_write(st, &m); /* the partition reserve exists for this */
            if (rc == LS_ENOSPC) {
                ls__pending_hold(st, last, header_uidnext(st, &m));
                *held = 1;
                rc = LS_OK;
            }
            ls__mbox_clear(&m);
        }
    }
    ls__db_cursor_close(c);
    ls__txn_end(&t);
    return rc;
}

struct tomb_args {
    int64_t age;
    uint64_t removed;
};

/* Collect first, then delete by key: never write through a cursor we are
 * still walking. */
static int drop_tombstones_txn(ls_txn *t, void *arg)
{
    struct tomb_args *a = arg;
    a->removed = 0;
    time_t now = time(NULL);
    MDB_cursor *c;
    int rc = ls__db_cursor(t, LS_DB_RECORDS, &c);
    if (rc)
        return rc;
    MDB_val k, v;
    typedef struct { uint8_t key[LS_RECKEY_LEN]; uint64_t modseq; } victim;
    victim *vs = NULL;
    size_t n = 0, cap = 0;
    for (int mrc = mdb_cursor_get(c, &k, &v, MDB_FIRST); mrc == 0; mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        ls_irec r;
        if (k.mv_size != LS_RECKEY_LEN || ls__irec_decode(v.mv_data, v.mv_size, &r) != LS_OK ||
            !(r.sysflags & LS_REC_EXPUNGED) || now - (time_t)r.expunged_at < a->age)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            victim *nv = realloc(vs, cap * sizeof *nv);
            if (!nv) {
                rc = ls__err(LS_ENOMEM, "out of memory");
                break;
            }
            vs = nv;
        }
        memcpy(vs[n].key, k.mv_data, LS_RECKEY_LEN);
        vs[n++].modseq = r.modseq;
    }
    ls__db_cursor_close(c);
    ls_error_clear();
    for (size_t i = 0; !rc && i < n; i++) {
        ls_mbstate s;
        if ((rc = ls__db_del(t, LS_DB_RECORDS, vs[i].key, LS_RECKEY_LEN, NULL, 0)))
            break;
        if (ls__mbstate_get(t, vs[i].key, &s) != LS_OK) {
            ls_error_clear();
            continue;
        }
        if (vs[i].modseq > s.deletedmodseq)
            s.deletedmodseq = vs[i].modseq;
        if (s.tombstones)
            s.tombstones--;
        rc = ls__mbstate_put(t, vs[i].key, &s);
        a->removed++;
    }
    free(vs);
    return rc;
}

/* The UIDNEXT the mailbox's current store.header records (0 if unreadable). */
static uint32_t header_uidnext(ls_store *st, const ls_mbox *m)
{
    char *text;
    size_t len;
    uint32_t next = 0;
    if (st->layout->ops->header_read(st->layout, &m->ref, &text, &len) == LS_OK) {
        ls_hdrinfo h;
        if (ls__hdr_parse(text, len, &h) == LS_OK) {
            next = h.uidnext;
            ls__hdr_free(&h);
        }
        free(text);
    }
    ls_error_clear();
    return next;
}

int ls_store_cleanup(ls_store *st, int64_t tombstone_age, uint64_t *removed)
{
    uint64_t n = 0, n2 = 0, files = 0;
    int held = 0;
    uint64_t covered = 0;
    int rc = refresh_headers(st, &held, &covered);
    if (!rc)
        rc = ls__pending_run(st, 0, 0, covered ? covered : 1, &n);
    ls__pending_hold_clear(st);
    if (!rc && held) {
        /* room was made: the headers fit now, then the rest can go */
        if (!(rc = refresh_headers(st, &held, &covered)))
            rc = ls__pending_run(st, 0, 0, covered ? covered : 1, &n2);
        ls__pending_hold_clear(st);
        n += n2;
    }
    if (!rc)
        rc = st->layout->ops->cleanup_tmp(st->layout, STAGED_MAX_AGE, &files);
    if (!rc && tombstone_age >= 0) {
        struct tomb_args a = { tombstone_age, 0 };
        rc = ls__env_write(st->env, LS_SYNC_RESERVE, drop_tombstones_txn, &a);
    }
    if (removed)
        *removed = n + files;
    ls__env_refill_reserve(st->env);
    for (size_t i = 0; i < st->cfg->npartitions; i++)
        st->layout->ops->reserve_refill(st->layout, st->cfg->partitions[i].name);
    /* nothing was removed from a partition that is not there (the layout
     * refuses): say so, the admin must mount it and run cleanup again */
    for (size_t i = 0; !rc && i < st->cfg->npartitions; i++)
        rc = st->layout->ops->partition_check(st->layout, st->cfg->partitions[i].name);
    return rc;
}
