/*
 * COPY and MOVE. The target gets new UIDs; the content is shared on disk
 * (a hard link on the same partition, a copy across partitions); flags,
 * keywords and internal date are kept. MOVE expunges the originals in the
 * same transaction that adds the copies.
 */
#include "message/message_impl.h"
#include "model/cache.h"
#include "model/seen.h"
#include "model/quota.h"

#include <stdlib.h>
#include <string.h>

typedef struct src_msg {
    ls_irec rec;
    ls_prepared msg;          /* no bytes: cache record and content fields only */
    char **kwnames;           /* keyword names of the source record */
    size_t nkw;
    ls_staged *staged;        /* cross-partition copies */
} src_msg;

struct copy_state {
    ls_mailbox *mb;
    const ls_set *uids;
    const char *target;
    int move;
    ls_mbox tgt;              /* target, loaded at the start */
    src_msg *msgs;
    size_t n;
    ls_placement *pl;
    uidlist expunged;
};

static void free_state(struct copy_state *c)
{
    for (size_t i = 0; i < c->n; i++) {
        ls__prepared_free(&c->msgs[i].msg);
        for (size_t k = 0; k < c->msgs[i].nkw; k++)
            free(c->msgs[i].kwnames[k]);
        free(c->msgs[i].kwnames);
    }
    free(c->msgs);
    free(c->pl);
    free(c->expunged.v);
    ls__mbox_clear(&c->tgt);
}

struct collect_ctx {
    struct copy_state *c;
    ls_txn *t;
    const ls_seen *seen;     /* the copier's private seen state in the source */
    char **srcnames;
    size_t nsrcnames;
    size_t cap;
};

static int collect_one(uint32_t uid, const ls_irec *r, MDB_val *raw, void *arg)
{
    struct collect_ctx *x = arg;
    struct copy_state *c = x->c;
    if (c->uids && !ls_set_contains(c->uids, uid))
        return c->uids->n && uid > c->uids->r[c->uids->n - 1].hi ? 1 : 0;
    if (!r || (r->sysflags & LS_REC_EXPUNGED))
        return 0;
    if (c->n == x->cap) {
        x->cap = x->cap ? x->cap * 2 : 64;
        src_msg *nm = realloc(c->msgs, x->cap * sizeof *nm);
        if (!nm)
            return ls__err(LS_ENOMEM, "out of memory");
        c->msgs = nm;
    }
    src_msg *s = &c->msgs[c->n];
    memset(s, 0, sizeof *s);
    s->rec = *r;
    /* COPY keeps the flags as the copier sees them */
    if (x->seen)
        s->rec.sysflags = (uint8_t)((s->rec.sysflags & ~LS_FLAG_SEEN) | (ls__seen_has(x->seen, uid) ? LS_FLAG_SEEN : 0));
    uint8_t key[LS_RECKEY_LEN];
    ls__reckey(key, c->mb->ref.uuid, uid);
    MDB_val v, vx;
    int rc = ls__db_get(x->t, LS_DB_CACHE, key, sizeof key, &v);
    if (!rc)
        rc = ls__db_get(x->t, LS_DB_CACHEX, key, sizeof key, &vx);
    if (rc == LS_ENOTFOUND)
        return ls__err(LS_ECORRUPT, "message UID %u has no cache record (run reconstruct)", uid);
    if (rc)
        return rc;
    s->msg.cache = malloc(v.mv_size ? v.mv_size : 1);
    s->msg.cachex = malloc(vx.mv_size ? vx.mv_size : 1);
    if (!s->msg.cache || !s->msg.cachex)
        return ls__err(LS_ENOMEM, "out of memory");
    memcpy(s->msg.cache, v.mv_data, v.mv_size);
    s->msg.cachelen = v.mv_size;
    memcpy(s->msg.cachex, vx.mv_data, vx.mv_size);
    s->msg.cachexlen = vx.mv_size;
    s->msg.len = r->size;
    memcpy(s->msg.guid, r->guid, LS_GUID_LEN);
    s->msg.date.t = r->internaldate;
    s->msg.date.tz = r->internal_tz;
    s->msg.header_size = r->header_size;
    s->msg.body_lines = r->body_lines;
    s->msg.sentdate = r->sentdate;
    s->msg.sent_tz = r->sent_tz;
    for (unsigned b = 0; b < LS_MAILBOX_MAX_KEYWORDS; b++) {
        if (!(r->keywords[b / 64] >> (b % 64) & 1) || b >= x->nsrcnames)
            continue;
        char **nk = realloc(s->kwnames, (s->nkw + 1) * sizeof *nk);
        if (!nk || !(nk[s->nkw] = strdup(x->srcnames[b]))) {
            if (nk)
                s->kwnames = nk;
            c->n++;
            return ls__err(LS_ENOMEM, "out of memory");
        }
        s->kwnames = nk;
        s->nkw++;
    }
    c->n++;
    return 0;
}

/* Phase 1 (read snapshot): rights, target, source records. */
static int collect(struct copy_state *c)
{
    ls_session *s = c->mb->s;
    ls_txn t;
    int rc = ls__txn_read(s->st->env, &t);
    if (rc)
        return rc;
    ls_mbox m;
    unsigned need = LS_RIGHT_R | (c->move ? LS_RIGHT_T | LS_RIGHT_E : 0);
    if ((rc = ls__mailbox_reload(c->mb, &t, &m, need, c->move ? "move" : "copy")) == LS_OK) {
        ls__mbox_clear(&m);
        if ((rc = ls__mbox_load(&t, c->target, &c->tgt)) == LS_OK)
            rc = ls__require(s, &c->tgt, LS_RIGHT_I, c->move ? "move" : "copy");
        if (!rc && !memcmp(c->tgt.entry.uuid, c->mb->ref.uuid, LS_UUID_LEN) && c->move)
            rc = ls__err(LS_EINVAL, "cannot move messages into the mailbox they are in");
        struct collect_ctx x = { .c = c, .t = &t };
        const char *user = ls__seen_user(s, c->mb->name);
        ls_seen seen = { 0 };
        if (!rc && user && (rc = ls__seen_load(&t, c->mb->ref.uuid, user, &seen)) == LS_OK)
            x.seen = &seen;
        if (!rc)
            rc = ls__keywords_load(&t, c->mb->ref.uuid, &x.srcnames, &x.nsrcnames);
        if (!rc) {
            uint32_t from = c->uids && c->uids->n ? c->uids->r[0].lo : 1;
            rc = ls__rec_foreach(&t, c->mb->ref.uuid, from ? from : 1, collect_one, &x);
            if (rc == 1)
                rc = LS_OK;
        }
        ls__keywords_free(x.srcnames, x.nsrcnames);
        ls__seen_free(&seen);
    }
    ls__txn_end(&t);
    return rc;
}

/* The copier's \Seen in a target where its seen state is private. */
struct mark_args { const uint8_t *uuid; const char *user; const uint32_t *uids; size_t n; };
static int mark_seen_txn(ls_txn *t, void *arg)
{
    struct mark_args *a = arg;
    ls_seen sn;
    int rc = ls__seen_load(t, a->uuid, a->user, &sn);
    for (size_t i = 0; !rc && i < a->n; i++) {
        int ch = ls__seen_put(&sn, a->uids[i], 1);
        if (ch < 0)
            rc = ch;
        else if (ch)
            sn.count++;
    }
    if (!rc)
        rc = ls__seen_save(t, a->uuid, a->user, &sn);
    ls__seen_free(&sn);
    return rc;
}

/* The flags a copy keeps: those the target's rights allow setting. */
static unsigned kept_flags(const ls_session *s, const ls_mbox *tgt, unsigned flags, size_t *nkw)
{
    unsigned have = ls__rights(s, tgt->name, tgt->entry.acl);
    if (!(have & LS_RIGHT_S))
        flags &= ~(unsigned)LS_FLAG_SEEN;
    if (!(have & LS_RIGHT_T))
        flags &= ~(unsigned)LS_FLAG_DELETED;
    if (!(have & LS_RIGHT_W)) {
        flags &= LS_FLAG_SEEN | LS_FLAG_DELETED;
        *nkw = 0;
    }
    return flags;
}

struct move_args {
    struct copy_state *c;
};

/* MOVE expunges the originals before it adds the copies, in the same
 * transaction: within one quota root the usage never rises, so MOVE there
 * never fails for quota (RFC 9208). */
static int copy_txn(ls_txn *t, void *arg)
{
    struct copy_state *c = ((struct move_args *)arg)->c;
    ls_store *st = c->mb->s->st;
    int rc = LS_OK;
    if (c->move) {
        free(c->expunged.v);
        memset(&c->expunged, 0, sizeof c->expunged);
        ls_mbox m;
        if ((rc = ls__mailbox_reload(c->mb, t, &m, LS_RIGHT_R | LS_RIGHT_T | LS_RIGHT_E, "move")))
            return rc;
        ls_set moved;
        uint32_t *v = malloc((c->n ? c->n : 1) * sizeof *v);
        if (!v) {
            ls__mbox_clear(&m);
            return ls__err(LS_ENOMEM, "out of memory");
        }
        for (size_t i = 0; i < c->n; i++)
            v[i] = c->msgs[i].rec.uid;
        rc = ls__set_from_uids(v, c->n, &moved);
        free(v);
        if (!rc) {
            rc = ls__expunge_in_txn(t, st, &m, &moved, 0, &c->expunged);
            ls_set_dispose(&moved);
        }
        if (!rc && c->expunged.n != c->n)
            rc = ls__err(LS_EBUSY, "some messages were expunged by another session during the move; try again");
        if (!rc)
            ls__expunge_files(st, &m.ref, &c->expunged, 0);
        /* within one quota root a MOVE never fails for quota (RFC 9208) */
        char r1[LS_NAME_BUF], r2[LS_NAME_BUF];
        ls_qrec q1, q2;
        int f1 = ls__quota_find(t, m.name, st->cfg->sep, r1, &q1), f2 = ls__quota_find(t, c->tgt.name, st->cfg->sep, r2, &q2);
        int same = (f1 == LS_ENOTFOUND && f2 == LS_ENOTFOUND) || (f1 == LS_OK && f2 == LS_OK && !strcmp(r1, r2));
        for (size_t i = 0; i < c->n; i++)
            c->pl[i].no_quota_check = same;
        ls_error_clear();
        ls__mbox_clear(&m);
        if (rc)
            return rc;
    }
    for (size_t i = 0; i < c->n && !rc; i++)
        rc = ls__place_one(t, st, &c->pl[i]);
    return rc;
}

static int copy_or_move(ls_mailbox *mb, const ls_set *uids, const char *target, ls_uidmap *map, int move)
{
    ls_store *st = mb->s->st;
    const ls_layout_ops *ops = st->layout->ops;
    if (map)
        memset(map, 0, sizeof *map);
    struct copy_state c = { .mb = mb, .uids = uids, .target = target, .move = move };
    int rc = collect(&c);
    if (!rc && c.n == 0) {
        if (map)
            map->uidvalidity = c.tgt.state.uidvalidity;
        free_state(&c);
        return LS_OK;
    }
    if (!rc && !(c.pl = calloc(c.n, sizeof *c.pl)))
        rc = ls__err(LS_ENOMEM, "out of memory");
    /* link on the same partition with single-instance storage on; else copy */
    int same_part = !rc && st->cfg->singleinstancestore && !strcmp(c.tgt.entry.partition, mb->ref.partition);
    /* across partitions the bytes are copied: stage them before the lock */
    for (size_t i = 0; !rc && !same_part && i < c.n; i++) {
        ls_blob b;
        if ((rc = ops->read(st->layout, &mb->ref, c.msgs[i].rec.uid, &b)))
            break;
        rc = ops->stage(st->layout, c.tgt.entry.partition, b.data, b.len, c.msgs[i].rec.internaldate, 0,
                        &c.msgs[i].staged);
        ops->blob_free(st->layout, &b);
    }
    if (!rc && !same_part)
        rc = ops->sync_partition(st->layout, c.tgt.entry.partition);
    int lockfd = -1;
    uint32_t uid = 0;
    const char *tgt_user = rc ? NULL : ls__seen_user(mb->s, c.tgt.name);
    if (!rc)
        rc = ls__mbox_lock(st, c.tgt.ref.uuidstr, &lockfd);
    if (!rc)
        rc = ls__adopt_leftovers(st, &c.tgt.ref, &uid);
    /* COPY/MOVE of several messages: all or none across a crash, as a batch
     * append (batch_intent.c) */
    int intent = c.n > 1;
    if (!rc && intent && (rc = ls__batch_intent_begin(st, &c.tgt.ref, uid, c.n)))
        intent = 0;
    for (size_t i = 0; !rc && i < c.n; i++) {
        ls_placement *p = &c.pl[i];
        src_msg *s = &c.msgs[i];
        p->ref = c.tgt.ref;
        p->name = c.tgt.name;
        p->uid = uid + (uint32_t)i;
        p->msg = &s->msg;
        size_t nkw = s->nkw;
        p->flags = kept_flags(mb->s, &c.tgt, s->rec.sysflags & LS_FLAG_ALL, &nkw);
        if (tgt_user)
            p->flags &= ~(unsigned)LS_FLAG_SEEN; /* the copier's, not the owner's: set below */
        p->keywords = (const char *const *)s->kwnames;
        p->nkeywords = nkw;
        rc = same_part ? ops->share(st->layout, &mb->ref, s->rec.uid, &c.tgt.ref, p->uid)
                       : ops->place(st->layout, s->staged, &c.tgt.ref, p->uid);
        if (!rc)
            p->placed = 1;
    }
    if (!rc)
        rc = ops->sync_mailbox(st->layout, &c.tgt.ref);
    if (!rc) {
        struct move_args a = { &c };
        rc = ls__env_write(st->env, LS_SYNC_ALWAYS, copy_txn, &a);
        if (rc && move)
            ls__expunge_files(st, &mb->ref, &c.expunged, 1);
    }
    if (rc)
        for (size_t i = 0; c.pl && i < c.n; i++)
            if (c.pl[i].placed)
                ops->unplace(st->layout, &c.tgt.ref, c.pl[i].uid);
    if (intent)
        ls__batch_intent_end(st, &c.tgt.ref);
    if (lockfd >= 0) {
        ls__mbox_unlock(lockfd);
        if (!rc) {
            ls__mbox_notify(st, c.tgt.ref.uuidstr);
            if (move)
                ls__mbox_notify(st, mb->ref.uuidstr);
        }
    }
    if (!rc && map) {
        map->uidvalidity = c.tgt.state.uidvalidity;
        map->src = malloc(c.n * sizeof *map->src);
        map->dst = malloc(c.n * sizeof *map->dst);
        if (!map->src || !map->dst) {
            ls_uidmap_dispose(map);
            rc = ls__err(LS_ENOMEM, "out of memory");
        } else {
            for (size_t i = 0; i < c.n; i++) {
                map->src[i] = c.msgs[i].rec.uid;
                map->dst[i] = c.pl[i].uid;
            }
            map->n = c.n;
        }
    }
    if (!rc && tgt_user) {
        /* after the commit (it needs the UIDs); losing it to a crash loses a
         * \Seen, never a message */
        uint32_t *seen_uids = malloc(c.n * sizeof *seen_uids);
        size_t ns = 0;
        for (size_t i = 0; seen_uids && i < c.n; i++)
            if ((c.msgs[i].rec.sysflags & LS_FLAG_SEEN) && (ls__rights(mb->s, c.tgt.name, c.tgt.entry.acl) & LS_RIGHT_S))
                seen_uids[ns++] = c.pl[i].uid;
        if (ns) {
            struct mark_args ma = { c.tgt.entry.uuid, tgt_user, seen_uids, ns };
            if (ls__env_write(st->env, LS_SYNC_FLAGS, mark_seen_txn, &ma) != LS_OK)
                ls_error_clear();
        }
        free(seen_uids);
    }
    for (size_t i = 0; i < c.n; i++)
        ops->unstage(st->layout, c.msgs[i].staged);
    free_state(&c);
    return rc;
}

int ls_message_copy(ls_mailbox *mb, const ls_set *uids, const char *target, ls_uidmap *map)
{
    return copy_or_move(mb, uids, target, map, 0);
}

int ls_message_move(ls_mailbox *mb, const ls_set *uids, const char *target, ls_uidmap *map)
{
    return copy_or_move(mb, uids, target, map, 1);
}

void ls_uidmap_dispose(ls_uidmap *m)
{
    if (!m)
        return;
    free(m->src);
    free(m->dst);
    memset(m, 0, sizeof *m);
}
