/*
 * EXPUNGE: records become tombstones (kept with their MODSEQ for QRESYNC),
 * files are renamed UID.expunged before the commit (so no rebuild from files
 * takes them for live mail) and removed by cleanup once no reader can still
 * see them.
 */
#include "message/message_impl.h"
#include "model/pending.h"
#include "model/sis.h"
#include "model/quota.h"
#include "model/cache.h"
#include "model/seen.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

struct exp_ctx {
    ls_mbox *m;
    const ls_set *only;      /* expunge only these (NULL: all \Deleted) */
    int require_deleted;
    uidlist uids;
    ls_irec *recs;           /* the expunged records, for the GUID table */
    size_t nrecs, cap;
};

static int expunge_one(ls_irec *r, void *arg)
{
    struct exp_ctx *c = arg;
    if (c->require_deleted && !(r->sysflags & LS_FLAG_DELETED))
        return 0;
    if (c->nrecs == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 64;
        ls_irec *nr = realloc(c->recs, c->cap * sizeof *nr);
        if (!nr)
            return ls__err(LS_ENOMEM, "out of memory");
        c->recs = nr;
    }
    int rc = ls__uidlist_add(&c->uids, r->uid);
    if (rc)
        return rc;
    ls__state_add(&c->m->state, r, -1);
    r->sysflags |= LS_REC_EXPUNGED;
    r->expunged_at = (uint32_t)time(NULL);
    r->modseq = ls__modseq_next(&c->m->state);
    c->m->state.tombstones++;
    c->recs[c->nrecs++] = *r;
    return 1;
}

/* Turn the matching records of m into tombstones inside t; the caller has
 * already renamed their files (or will undo). Fills *out with their UIDs. */
int ls__expunge_in_txn(ls_txn *t, ls_store *st, ls_mbox *m, const ls_set *uids, int require_deleted, uidlist *out)
{
    struct exp_ctx c = { .m = m, .only = uids, .require_deleted = require_deleted };
    int rc = ls__rec_update(t, m->entry.uuid, uids, expunge_one, &c);
    for (size_t i = 0; !rc && i < c.nrecs; i++) {
        const ls_irec *r = &c.recs[i];
        uint8_t key[LS_RECKEY_LEN];
        ls__reckey(key, m->entry.uuid, r->uid);
        if ((rc = ls__cache_del(t, key)))
            break;
        if ((rc = ls__sis_del(t, m->entry.partition, r->guid, r->internaldate, m->entry.uuid, r->uid)))
            break;
        rc = ls__pending_add(t, LS_PENDING_EXPUNGED, &m->ref, r->uid);
    }
    if (!rc && c.nrecs)
        rc = ls__mbstate_put(t, m->entry.uuid, &m->state);
    if (!rc && c.nrecs) {
        int64_t bytes = 0;
        for (size_t i = 0; i < c.nrecs; i++)
            bytes += (int64_t)c.recs[i].size;
        rc = ls__quota_charge(t, m->name, st->cfg->sep, -bytes, -(int64_t)c.nrecs, 0, 0);
    }
    if (!rc && c.nrecs)
        rc = ls__seen_forget_uids(t, m->entry.uuid, c.uids.v, c.uids.n);
    free(c.recs);
    if (rc) {
        free(c.uids.v);
        return rc;
    }
    *out = c.uids;
    return LS_OK;
}

/* Rename files to UID.expunged (before the commit) or back (after a failure). */
void ls__expunge_files(ls_store *st, const ls_mbref *ref, const uidlist *l, int undo)
{
    const ls_layout_ops *ops = st->layout->ops;
    for (size_t i = 0; i < l->n; i++) {
        if (undo)
            ops->unmark_expunged(st->layout, ref, l->v[i]);
        else
            ops->mark_expunged(st->layout, ref, l->v[i]);
    }
    if (l->n)
        ops->sync_mailbox(st->layout, ref);
}

struct expunge_args {
    ls_mailbox *mb;
    const ls_set *uids;
    uidlist done;
};

static int expunge_txn(ls_txn *t, void *arg)
{
    struct expunge_args *a = arg;
    ls_store *st = a->mb->s->st;
    free(a->done.v);
    memset(&a->done, 0, sizeof a->done);
    ls_mbox m;
    int rc = ls__mailbox_reload(a->mb, t, &m, LS_RIGHT_E, "expunge");
    if (rc)
        return rc;
    rc = ls__expunge_in_txn(t, st, &m, a->uids, 1, &a->done);
    if (!rc)
        ls__expunge_files(st, &m.ref, &a->done, 0);
    ls__mbox_clear(&m);
    return rc;
}

int ls_message_expunge(ls_mailbox *mb, const ls_set *uids, ls_set *expunged)
{
    if (expunged) {
        expunged->r = NULL;
        expunged->n = 0;
    }
    /* files on a partition that is not there cannot be renamed: an expunge
     * committed anyway would leave live-named files of expunged messages */
    ls_layout *ly = mb->s->st->layout;
    int rc = ly->ops->partition_check(ly, mb->ref.partition);
    if (rc)
        return rc;
    struct expunge_args a = { .mb = mb, .uids = uids };
    rc = ls__env_write(mb->s->st->env, LS_SYNC_RESERVE, expunge_txn, &a);
    if (rc) {
        ls__expunge_files(mb->s->st, &mb->ref, &a.done, 1);
    } else {
        if (a.done.n)
            ls__mbox_notify(mb->s->st, mb->ref.uuidstr);
        if (expunged)
            rc = ls__set_from_uids(a.done.v, a.done.n, expunged);
    }
    free(a.done.v);
    return rc;
}
