/*
 * The commit of new messages: one write transaction that adds index
 * records, cache records, GUID references, counters and MODSEQ for a list
 * of placements whose files are already durable under their final names.
 *
 * Invariant: a placement's UID equals its mailbox's UIDNEXT at the moment
 * it is committed. The caller holds every mailbox's append lock from the
 * choice of UIDNEXT to the commit, so no one else can take that UID.
 */
#include "message/message_impl.h"
#include "model/sis.h"
#include "model/quota.h"
#include "model/cache.h"

#include <stdio.h>
#include <string.h>

struct commit_args {
    ls_store *st;
    ls_placement *pl;
    size_t n;
    int each;
};

int ls__place_one(ls_txn *t, ls_store *st, ls_placement *p)
{
    ls_mbstate s;
    MDB_val v;
    int rc = ls__db_get(t, LS_DB_BYUUID, p->ref.uuid, LS_UUID_LEN, &v);
    if (rc == LS_ENOTFOUND)
        return ls__err(LS_ENOTFOUND, "mailbox '%s' no longer exists", p->name ? p->name : p->ref.uuidstr);
    if (rc || (rc = ls__mbstate_get(t, p->ref.uuid, &s)))
        return rc;
    if (p->uid != s.uidnext)
        return ls__err(LS_EBUSY, "mailbox '%s': UID %u was taken concurrently (UIDNEXT %u)",
                      p->name ? p->name : p->ref.uuidstr, p->uid, s.uidnext);
    /* quota, against the mailbox's current name (it may have been renamed);
     * adopted crash leftovers are charged but never refused (docs/contract.md §2.3) */
    char name[LS_NAME_BUF];
    if (v.mv_size >= sizeof name)
        return ls__err(LS_ECORRUPT, "mailbox name too long in the uuid table");
    memcpy(name, v.mv_data, v.mv_size);
    name[v.mv_size] = 0;
    if ((rc = ls__quota_charge(t, name, st->cfg->sep, (int64_t)p->msg->len, 1, 0, !p->adopted && !p->no_quota_check)))
        return rc;
    ls_irec r = { 0 };
    if ((rc = ls__keywords_bits(t, p->ref.uuid, p->keywords, p->nkeywords, 1, r.keywords)))
        return rc;
    const ls_prepared *m = p->msg;
    r.uid = p->uid;
    r.sysflags = (uint8_t)(p->flags & LS_FLAG_ALL);
    r.internaldate = m->date.t;
    r.internal_tz = m->date.tz;
    r.sentdate = m->sentdate;
    r.sent_tz = m->sent_tz;
    r.header_size = m->header_size;
    r.body_lines = m->body_lines;
    r.size = m->len;
    r.modseq = ls__modseq_next(&s);
    memcpy(r.guid, m->guid, LS_GUID_LEN);
    uint8_t key[LS_RECKEY_LEN];
    ls__reckey(key, p->ref.uuid, p->uid);
    if ((rc = ls__rec_put(t, p->ref.uuid, &r)) ||
        (rc = ls__cache_put(t, key, m->cache, m->cachelen, m->cachex, m->cachexlen)))
        return rc;
    if (st->cfg->singleinstancestore &&
        (rc = ls__sis_add(t, p->ref.partition, m->guid, m->date.t, p->ref.uuid, p->uid)))
        return rc;
    ls__state_add(&s, &r, +1);
    s.uidnext = p->uid + 1;
    return ls__mbstate_put(t, p->ref.uuid, &s);
}

static int commit_txn(ls_txn *t, void *arg)
{
    struct commit_args *a = arg;
    for (size_t i = 0; i < a->n; i++) {
        ls_placement *p = &a->pl[i];
        if (a->each && p->code && !p->placed && !p->adopted)
            continue; /* failed before the transaction (no file) */
        p->code = LS_OK;
        p->error[0] = 0;
        int rc = ls__place_one(t, a->st, p);
        if (!rc)
            continue;
        if (!a->each || t->map_full || t->disk_full || rc == LS_EDB || rc == LS_ENOMEM)
            return rc;
        p->code = rc;
        snprintf(p->error, sizeof p->error, "%s", ls_error_last());
    }
    return LS_OK;
}

int ls__commit_placements(ls_store *st, ls_placement *pl, size_t n, int each, const ls_session *s)
{
    (void)s;
    struct commit_args a = { st, pl, n, each };
    int rc = ls__env_write(st->env, LS_SYNC_ALWAYS, commit_txn, &a);
    if (rc) {
        for (size_t i = 0; i < n; i++) {
            if (!pl[i].code) {
                pl[i].code = rc;
                snprintf(pl[i].error, sizeof pl[i].error, "%s", ls_error_last());
            }
        }
    }
    /* Files of placements that did not commit are removed: nothing half. */
    for (size_t i = 0; i < n; i++)
        if (pl[i].code && pl[i].placed)
            st->layout->ops->unplace(st->layout, &pl[i].ref, pl[i].uid);
    return rc;
}

int ls__live_record(ls_txn *t, const uint8_t uuid[LS_UUID_LEN], uint32_t uid, ls_irec *r)
{
    int rc = ls__rec_get(t, uuid, uid, r);
    if (!rc && (r->sysflags & LS_REC_EXPUNGED))
        rc = ls__err(LS_ENOTFOUND, "message with UID %u has been expunged", uid);
    return rc;
}

int ls__adopt_leftovers(ls_store *st, const ls_mbref *ref, uint32_t *uid)
{
    ls_txn t;
    ls_mbstate s;
    int rc = ls__txn_read(st->env, &t);
    if (rc)
        return rc;
    rc = ls__mbstate_get(&t, ref->uuid, &s);
    ls__txn_end(&t);
    if (rc)
        return rc;
    uint32_t next = s.uidnext;
    /* files of a batch whose writer died are not leftovers to adopt */
    if ((rc = ls__batch_intent_resolve(st, ref, next, 0, NULL)))
        return rc;
    for (;;) {
        ls_file_info fi;
        int src = st->layout->ops->stat(st->layout, ref, next, &fi);
        if (src == LS_ENOTFOUND || (src == LS_OK && fi.expunged)) {
            ls_error_clear();
            break;
        }
        if (src)
            return src;
        /* A complete file at UIDNEXT with no record: a crash between the
         * rename and the commit. Adopt it under its UID (docs/contract.md §2.3). */
        ls_blob b;
        if ((rc = st->layout->ops->read(st->layout, ref, next, &b)))
            return rc;
        ls_prepared pr;
        rc = ls__prepare_stored(b.data, b.len, fi.mtime, &pr);
        if (!rc) {
            ls_placement p = { .ref = *ref, .uid = next, .msg = &pr, .adopted = 1 };
            snprintf(p.partition, sizeof p.partition, "%s", ref->partition);
            p.ref.partition = p.partition;
            rc = ls__commit_placements(st, &p, 1, 0, NULL);
            ls__prepared_free(&pr);
        }
        st->layout->ops->blob_free(st->layout, &b);
        if (rc)
            return rc;
        next++;
    }
    *uid = next;
    return LS_OK;
}
