/* STORE: flags and keywords, with MODSEQ and UNCHANGEDSINCE (RFC 7162). */
#include "message/message_impl.h"
#include "model/seen.h"

#include <stdlib.h>
#include <string.h>



int ls__uidlist_add(uidlist *l, uint32_t uid)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        uint32_t *nv = realloc(l->v, l->cap * sizeof *nv);
        if (!nv)
            return ls__err(LS_ENOMEM, "out of memory");
        l->v = nv;
    }
    l->v[l->n++] = uid;
    return LS_OK;
}

/* UIDs (ascending) -> an ls_set of merged ranges. */
int ls__set_from_uids(const uint32_t *v, size_t n, ls_set *out)
{
    out->r = NULL;
    out->n = 0;
    if (!n)
        return LS_OK;
    out->r = malloc(n * sizeof *out->r);
    if (!out->r)
        return ls__err(LS_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        if (out->n && out->r[out->n - 1].hi + 1 == v[i])
            out->r[out->n - 1].hi = v[i];
        else
            out->r[out->n++] = (ls_range){ v[i], v[i] };
    }
    return LS_OK;
}

struct store_args {
    ls_mailbox *mb;
    const ls_set *uids;
    int op;
    unsigned flags;
    const char *const *keywords;
    size_t nkeywords;
    uint64_t unchangedsince;
    uint64_t kw[2];
    ls_mbstate state;
    uidlist modified;
    size_t changed;
    ls_seen *seen;           /* private seen state of the session, or NULL */
    int seen_changed;
    ls_txn *t;
    const char *user;        /* whose private seen state */
    const uint8_t *uuid;
    int state_dirty;         /* privmodseq moved */
};

static int store_one(ls_irec *r, void *arg)
{
    struct store_args *a = arg;
    uint64_t seen_as = a->seen ? ls__seen_modseq(a->t, a->uuid, a->user, a->seen, r->uid, r->modseq) : r->modseq;
    if (a->unchangedsince && seen_as > a->unchangedsince) {
        int rc = ls__uidlist_add(&a->modified, r->uid);
        return rc ? rc : 0;
    }
    uint8_t f = r->sysflags;
    uint64_t k0 = r->keywords[0], k1 = r->keywords[1];
    unsigned flags = a->flags;
    if (a->seen) {
        /* \Seen is this user's own: it changes the private set, never the
         * record, and no other user sees a change */
        int want = -1;
        if (a->op == LS_MESSAGE_STORE_ADD && (flags & LS_FLAG_SEEN))
            want = 1;
        else if (a->op == LS_MESSAGE_STORE_REMOVE && (flags & LS_FLAG_SEEN))
            want = 0;
        else if (a->op == LS_MESSAGE_STORE_REPLACE)
            want = (flags & LS_FLAG_SEEN) != 0;
        if (want >= 0) {
            int ch = ls__seen_put(a->seen, r->uid, want);
            if (ch < 0)
                return ch;
            if (ch) {
                a->seen->count += want ? 1 : (uint32_t)-1;
                a->seen_changed = 1;
                /* a MODSEQ only this user sees (docs/contract.md §1.6) */
                uint64_t m = ls__modseq_next_private(&a->state);
                a->seen->modseq = m;
                int prc = ls__seen_modseq_put(a->t, a->uuid, a->user, r->uid, m);
                if (prc)
                    return prc;
                a->state_dirty = 1;
            }
        }
        flags &= ~(unsigned)LS_FLAG_SEEN;
        if (a->op == LS_MESSAGE_STORE_REPLACE)
            flags |= r->sysflags & LS_FLAG_SEEN; /* the owner's flag stays */
    }
    switch (a->op) {
    case LS_MESSAGE_STORE_ADD:
        f |= (uint8_t)flags;
        k0 |= a->kw[0];
        k1 |= a->kw[1];
        break;
    case LS_MESSAGE_STORE_REMOVE:
        f &= (uint8_t)~flags;
        k0 &= ~a->kw[0];
        k1 &= ~a->kw[1];
        break;
    default:
        f = (uint8_t)((f & ~LS_FLAG_ALL) | flags);
        k0 = a->kw[0];
        k1 = a->kw[1];
        break;
    }
    if (f == r->sysflags && k0 == r->keywords[0] && k1 == r->keywords[1])
        return 0; /* no change, no new MODSEQ */
    ls__state_add(&a->state, r, -1);
    r->sysflags = f;
    r->keywords[0] = k0;
    r->keywords[1] = k1;
    r->modseq = ls__modseq_next(&a->state);
    ls__state_add(&a->state, r, +1);
    a->changed++;
    return 1;
}

static int store_txn(ls_txn *t, void *arg)
{
    struct store_args *a = arg;
    a->modified.n = 0;
    a->changed = 0;
    unsigned need = ls__flag_rights(a->flags, a->nkeywords);
    if (a->op == LS_MESSAGE_STORE_REPLACE)
        need |= LS_RIGHT_S | LS_RIGHT_T | LS_RIGHT_W;
    if (!need)
        need = LS_RIGHT_W;
    ls_mbox m;
    int rc = ls__mailbox_reload(a->mb, t, &m, need, "store");
    if (rc)
        return rc;
    a->state = m.state;
    const char *user = ls__seen_user(a->mb->s, m.name);
    ls_seen seen = { 0 };
    a->seen = NULL;
    a->seen_changed = 0;
    a->state_dirty = 0;
    a->t = t;
    a->user = user;
    a->uuid = m.entry.uuid;
    if (user && (rc = ls__seen_load(t, m.entry.uuid, user, &seen)) == LS_OK)
        a->seen = &seen;
    if (!rc)
        rc = ls__keywords_bits(t, m.entry.uuid, a->keywords, a->nkeywords, a->op != LS_MESSAGE_STORE_REMOVE, a->kw);
    if (!rc)
        rc = ls__rec_update(t, m.entry.uuid, a->uids, store_one, a);
    if (!rc && (a->changed || a->state_dirty))
        rc = ls__mbstate_put(t, m.entry.uuid, &a->state);
    if (!rc && a->seen_changed)
        rc = ls__seen_save(t, m.entry.uuid, user, &seen);
    ls__seen_free(&seen);
    a->seen = NULL;
    ls__mbox_clear(&m);
    return rc;
}

int ls_message_store(ls_mailbox *mb, const ls_set *uids, const ls_message_store_opts *opts, ls_set *modified)
{
    if (modified) {
        modified->r = NULL;
        modified->n = 0;
    }
    int rc = ls__store_opts_check(opts);
    if (rc)
        return rc;
    enum ls_message_store_op op = opts->op;
    unsigned flags = opts->flags;
    const char *const *keywords = opts->keywords;
    size_t nkeywords = opts->nkeywords;
    uint64_t unchangedsince = opts->unchangedsince;
    if (op != LS_MESSAGE_STORE_ADD && op != LS_MESSAGE_STORE_REMOVE && op != LS_MESSAGE_STORE_REPLACE)
        return ls__err(LS_EINVAL, "unknown store operation %d", (int)op);
    if (flags & ~LS_FLAG_ALL)
        return ls__err(LS_EINVAL, "unknown flag bits 0x%x", flags);
    rc = ls__check_keywords(keywords, nkeywords);
    if (rc)
        return rc;
    struct store_args a = { .mb = mb, .uids = uids, .op = op, .flags = flags, .keywords = keywords,
                            .nkeywords = nkeywords, .unchangedsince = unchangedsince };
    rc = ls__env_write(mb->s->st->env, LS_SYNC_FLAGS, store_txn, &a);
    if (!rc && (a.changed || a.seen_changed))
        ls__mbox_notify(mb->s->st, mb->ref.uuidstr);
    if (!rc && a.modified.n) {
        if (modified)
            rc = ls__set_from_uids(a.modified.v, a.modified.n, modified);
        if (!rc)
            rc = ls__err(LS_EMODIFIED, "%zu message(s) changed since MODSEQ %llu", a.modified.n,
                        (unsigned long long)unchangedsince);
    }
    free(a.modified.v);
    return rc;
}
